/**
 * Compiles every contract under contracts/ with the npm solc (wasm, offline: no compiler is ever
 * downloaded), resolving OpenZeppelin imports from node_modules, then generates typed ethers v6
 * bindings with typechain. Artifacts go to build/contracts, bindings to build/types.
 *
 * A cache key over the sources and settings skips the (slow, wasm) compile when nothing changed.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { glob, runTypeChain } from 'typechain';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const solc = require('solc');

const ROOT = resolve(__dirname, '..');
const CONTRACTS = join(ROOT, 'contracts');
const OUT = join(ROOT, 'build', 'contracts');
const TYPES = join(ROOT, 'build', 'types');
const CACHE_KEY_FILE = join(ROOT, 'build', 'contracts.key');

export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'] } },
} as const;

function listSources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listSources(p));
    else if (name.endsWith('.sol')) out.push(p);
  }
  return out.sort();
}

function findImport(path: string): { contents: string } | { error: string } {
  const candidates = [join(ROOT, 'node_modules', path), join(CONTRACTS, path), join(ROOT, path)];
  for (const c of candidates) if (existsSync(c)) return { contents: readFileSync(c, 'utf8') };
  return { error: `import not found: ${path} (looked in node_modules/ and contracts/)` };
}

function cacheKey(files: string[]): string {
  const h = createHash('sha256');
  h.update(solc.version());
  h.update(JSON.stringify(SOLC_SETTINGS));
  for (const f of files) h.update(relative(ROOT, f)).update(readFileSync(f));
  return h.digest('hex');
}

export async function compileContracts(opts: { force?: boolean } = {}): Promise<void> {
  const files = listSources(CONTRACTS);
  const key = cacheKey(files);
  if (!opts.force && existsSync(CACHE_KEY_FILE) && readFileSync(CACHE_KEY_FILE, 'utf8') === key && existsSync(TYPES)) {
    console.log(`contracts: up to date (${files.length} sources)`);
    return;
  }
  const started = Date.now();
  console.log(`contracts: compiling ${files.length} sources with solc ${solc.version()} ...`);
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(files.map((f) => [relative(ROOT, f), { content: readFileSync(f, 'utf8') }])),
    settings: SOLC_SETTINGS,
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
  for (const e of output.errors ?? []) if (e.severity !== 'error') console.warn(e.formattedMessage);
  if (errors.length > 0) {
    for (const e of errors) console.error(e.formattedMessage);
    throw new Error(`solc: ${errors.length} error(s); nothing was written`);
  }

  rmSync(OUT, { recursive: true, force: true });
  rmSync(TYPES, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const seen = new Map<string, string>();
  for (const [source, contracts] of Object.entries<Record<string, any>>(output.contracts)) {
    if (!source.startsWith('contracts/')) continue; // library sources get no artifacts of their own
    for (const [name, c] of Object.entries<any>(contracts)) {
      if (seen.has(name)) throw new Error(`contract name ${name} is defined twice (${seen.get(name)} and ${source}); names must be unique`);
      seen.set(name, source);
      const artifact = {
        contractName: name,
        sourceName: source,
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
        methodIdentifiers: c.evm.methodIdentifiers,
      };
      writeFileSync(join(OUT, `${name}.json`), JSON.stringify(artifact, null, 2));
    }
  }

  const allFiles = glob(ROOT, [`${relative(ROOT, OUT)}/*.json`]);
  await runTypeChain({ cwd: ROOT, filesToProcess: allFiles, allFiles, outDir: relative(ROOT, TYPES), target: 'ethers-v6' });
  mkdirSync(dirname(CACHE_KEY_FILE), { recursive: true });
  writeFileSync(CACHE_KEY_FILE, key);
  console.log(`contracts: ${seen.size} artifacts and typed bindings in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

if (require.main === module) {
  compileContracts({ force: process.argv.includes('--force') }).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
