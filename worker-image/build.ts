/**
 * Bundles the worker (worker-image/src/main.ts) into one CommonJS file with esbuild: what the
 * images run with `node`. `npx tsx worker-image/build.ts [outFile]`.
 *
 * The bundle must sit three folders below the folder holding build/ (default
 * worker-image/dist/bundle/main.js): shared code finds build/wasm/dnn-kernels.wasm at
 * `__dirname/../../..`, and in a bundle __dirname is the bundle's folder.
 */
import { resolve } from 'node:path';
import { build } from 'esbuild';

export const DEFAULT_BUNDLE = resolve(__dirname, 'dist', 'bundle', 'main.js');

export async function buildWorkerBundle(outFile: string = DEFAULT_BUNDLE): Promise<string> {
  await build({
    entryPoints: [resolve(__dirname, 'src', 'main.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    // Every bundled module shares the bundle's `module`: without this, scripts' `require.main === module`
    // blocks (scripts/build-guest.ts runs a compiler there) would all run at start.
    define: { 'require.main': 'null' },
  });
  return outFile;
}

if (require.main === module) {
  buildWorkerBundle(process.argv[2] ? resolve(process.argv[2]) : undefined).then(
    (out) => console.log(JSON.stringify({ event: 'bundled', outFile: out })),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
