/**
 * `npm run build:native`: the native Merkle hasher (shared/native/*.c) as a Node addon,
 * build/native/opml-native.node, which shared/vm/nativeHasher.ts loads when present. Plain C
 * against Node-API's headers, compiled and linked by one `cc` call (no node-gyp); $CC overrides
 * the compiler. One binary serves every x86-64 CPU: the AVX2 kernel is chosen at run time.
 *
 * Reproducible like the other builds: sources named relative to the repo root (the compiler's
 * working directory), no debug info, no compiler ident, no build-id, sources in a fixed order.
 * The output is written beside its target and renamed over it, so a process that has the old
 * addon mapped keeps reading intact bytes.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { NATIVE_HASHER_PATH } from '../shared/vm/nativeHasher';

const ROOT = resolve(__dirname, '..');

const SOURCES = ['shared/native/keccak.c', 'shared/native/merkle.c', 'shared/native/pool.c', 'shared/native/addon.c'];

const CFLAGS = ['-O3', '-std=c11', '-fPIC', '-shared', '-fvisibility=hidden', '-pthread', '-g0', '-fno-ident', '-Wall', '-Wextra', '-Werror'];

/** Node resolves an addon's napi_* symbols when it loads it; macOS's linker must be told they come later. */
const PLATFORM_LDFLAGS: readonly string[] = process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : ['-Wl,--build-id=none'];

export class NativeBuildFailed extends Error {
  override name = 'NativeBuildFailed';
  constructor(
    readonly step: string,
    readonly detail: string,
  ) {
    super(`build:native: ${step}: ${detail}`);
  }
}

/**
 * Node-API's headers: beside this Node (<prefix>/include/node, as both Debian's nodejs package and
 * the nodejs.org tarballs install them), else under npm's nodedir.
 */
function nodeHeaders(): string {
  const besideNode = join(dirname(process.execPath), '..', 'include', 'node');
  if (existsSync(join(besideNode, 'node_api.h'))) return resolve(besideNode);
  const nodedir = process.env.npm_config_nodedir || spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).stdout?.trim();
  const underNodedir = nodedir && nodedir !== 'undefined' ? join(nodedir, 'include', 'node') : undefined;
  if (underNodedir !== undefined && existsSync(join(underNodedir, 'node_api.h'))) return resolve(underNodedir);
  throw new NativeBuildFailed(
    'Node-API headers not found',
    `no node_api.h in ${[besideNode, underNodedir ?? "npm's nodedir (unset)"].join(' or ')}: install Node with its headers ` +
      "(Debian's nodejs package and the nodejs.org tarballs have them) or point `npm config set nodedir` at a Node headers tree",
  );
}

/**
 * Builds the addon to `out`; `defines` (NAME or NAME=VALUE) are for tests, e.g.
 * OPML_PORTABLE_KECCAK for the kernel that CPUs without AVX2 run.
 */
export function buildNative(out: string = NATIVE_HASHER_PATH, defines: readonly string[] = []): { path: string; bytes: number; sha256: string } {
  const compiler = process.env.CC || 'cc';
  mkdirSync(dirname(out), { recursive: true });
  const partial = `${out}.partial`;
  const args = [...CFLAGS, ...defines.map((d) => `-D${d}`), `-I${nodeHeaders()}`, ...SOURCES, ...PLATFORM_LDFLAGS, '-o', partial];
  const r = spawnSync(compiler, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(partial, { force: true });
    const detail = r.error ? `${compiler} not found: run \`bash scripts/setup.sh\` (or \`sudo apt-get install -y gcc\`)` : r.stderr.trim();
    throw new NativeBuildFailed(`${compiler} exited with ${r.status}`, detail);
  }
  renameSync(partial, out);
  const bytes = readFileSync(out);
  return { path: out, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

if (require.main === module) console.log(JSON.stringify(buildNative()));
