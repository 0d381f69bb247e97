const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

// Folders are created as the areas that own them land; jest refuses a root that does not exist.
const roots = ['test', 'shared', 'functions', 'worker-image'].filter((d) => existsSync(join(__dirname, d)));

// The IPFS stack (helia, multiformats, it-*, ...) ships ESM only. jest.resolver.js resolves those packages
// through their ESM exports when they have no CommonJS one, and swc compiles them to CommonJS like our
// sources; every package with a CommonJS entry keeps it and is left untransformed.
function esmOnlyPackages(dir = join(__dirname, 'node_modules'), prefix = '') {
  const found = [];
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (name.startsWith('.')) continue;
    if (name.startsWith('@')) {
      found.push(...esmOnlyPackages(join(dir, name), `${prefix}${name}/`));
      continue;
    }
    const pkgJson = join(dir, name, 'package.json');
    if (!existsSync(pkgJson)) continue;
    const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
    const exportsText = JSON.stringify(pkg.exports ?? {});
    if ((pkg.type === 'module' || exportsText.includes('module-sync')) && !exportsText.includes('"require"')) found.push(prefix + name);
    if (existsSync(join(dir, name, 'node_modules'))) found.push(...esmOnlyPackages(join(dir, name, 'node_modules'), ''));
  }
  return [...new Set(found)];
}
const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: roots.map((d) => `<rootDir>/${d}`),
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
    '/node_modules/.+\\.m?js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnlyPackages().map(escapeRegex).join('|')})/)`],
  resolver: '<rootDir>/jest.resolver.js',
  // Tests start real servers (anvil, S3, SQS): give them room, and never run two suites' chains at once.
  testTimeout: 120000,
  maxWorkers: 1,
};
