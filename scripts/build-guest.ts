/**
 * `npm run build:guest`: builds the guest programs (shared/vm/guestToolchain.ts) and the DNN kernel
 * image into build/guest/.
 *
 *   npm run build:guest                          all of guest/programs/*.c into build/guest/
 *   npm run build:guest -- matmul -D MATMUL_N=64 --out /tmp/g
 */
import { basename, relative, resolve } from 'node:path';
import { buildGuest, guestToolchainVersion, type BuildGuestOptions } from '../shared/vm/guestToolchain';

export * from '../shared/vm/guestToolchain';

const ROOT = resolve(__dirname, '..');

function parseArgs(argv: string[]): BuildGuestOptions {
  const programs: string[] = [];
  const defines: Record<string, string> = {};
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') outDir = argv[++i];
    else if (arg === '-D') {
      const [key, ...value] = (argv[++i] ?? '').split('=');
      defines[key] = value.length ? value.join('=') : '1';
    } else programs.push(basename(arg, '.c'));
  }
  return { programs: programs.length ? programs : undefined, outDir, defines };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  console.log(`guest: ${guestToolchainVersion()}`);
  const artifacts = buildGuest(options);
  if (options.programs === undefined) {
    // The DNN kernel image too: functions and workers read it prebuilt (build/guest/dnn-kernels.elf), they have no compiler.
    const { KERNEL_IMAGE_NAME, KERNEL_SOURCES } = await import('../shared/dnn/guest/kernelImage');
    artifacts.push(...buildGuest({ ...options, programs: [{ name: KERNEL_IMAGE_NAME, sources: [...KERNEL_SOURCES] }] }));
  }
  for (const a of artifacts) {
    console.log(`${a.name.padEnd(12)} ${String(a.size).padStart(8)}  sha256:${a.sha256}  image root:${a.imageRoot}  ${relative(ROOT, a.path)}`);
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  });
}
