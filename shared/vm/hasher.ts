/**
 * The region hasher this process uses, chosen once and silently: the native addon when it is
 * built and loads (./nativeHasher.ts), else WebAssembly (./wasmHasher.ts). OPML_NATIVE_HASH=0
 * forces WebAssembly, so tests and benchmarks can run both.
 */
import type { RegionHasher } from './merkleRegion';
import { loadNativeHasher } from './nativeHasher';
import { wasmHasher } from './wasmHasher';

export const NATIVE_HASH_SWITCH = 'OPML_NATIVE_HASH';

export const hasher: RegionHasher = (process.env[NATIVE_HASH_SWITCH] !== '0' && loadNativeHasher()) || wasmHasher;

