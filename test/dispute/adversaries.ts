/** Random adversarial strategies for property tests: lying at random rounds, switching claims, random segments, stalling. */
import { hexlify } from 'ethers';
import type { Move, Strategy } from '../../shared/dispute/player';

/** A small deterministic generator (xorshift32) so a failing case replays from its seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function randomHash(next: () => number): string {
  return hexlify(Uint8Array.from({ length: 32 }, () => Math.floor(next() * 256)));
}

export interface AdversaryMix {
  /** Chance, per turn, of staying silent. */
  stall: number;
  /** Chance of replacing bisection values with fresh random ones (a new lie each round: switching). */
  lie: number;
  /** Chance of naming a random sub-segment instead of the one its own view dictates. */
  wander: number;
}

export function randomAdversary(seed: number, mix: AdversaryMix): Strategy {
  const next = rng(seed);
  return {
    move(_turn, honest): Move | null {
      if (next() < mix.stall) return null;
      if (honest.kind === 'bisect' && next() < mix.lie) {
        return { kind: 'bisect', values: honest.values.map((v) => (next() < 0.5 ? randomHash(next) : v)) };
      }
      if (honest.kind === 'choose' && next() < mix.wander) {
        return { ...honest, segment: Math.floor(next() * (honest.values.length + 1)) };
      }
      return honest;
    },
  };
}
