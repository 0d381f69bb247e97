const { existsSync } = require('node:fs');
const { join } = require('node:path');

// Folders are created as the areas that own them land; jest refuses a root that does not exist.
const roots = ['test', 'shared', 'functions', 'worker-image'].filter((d) => existsSync(join(__dirname, d)));

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: roots.map((d) => `<rootDir>/${d}`),
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
  // Tests start real servers (anvil, S3, SQS): give them room, and never run two suites' chains at once.
  testTimeout: 120000,
  maxWorkers: 1,
};
