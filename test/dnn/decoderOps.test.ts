/**
 * The LLaMA operators (RmsNorm, Rope, KvWrite, Attention) against the real-number functions they
 * quantise, with constants made the way the importer makes them (shared/llm/tables.ts): errors
 * within a few output steps, and the exact properties the dispute relies on (the causal mask
 * ignores every later cache row; a cache write touches only its rows).
 */
import { KERNELS } from '../../shared/dnn/kernels';
import { encodeMultiplier } from '../../shared/dnn/intmath';
import { seededRandom } from '../../shared/dnn/random';
import { allocTensor, type Tensor } from '../../shared/dnn/tensor';
import { attentionRq, exp2Table, ropeRq, ropeTable } from '../../shared/llm/tables';

const rand = seededRandom(2024);
const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
const i8 = (shape: number[], lo = -128, hi = 127): Tensor => {
  const t = allocTensor('int8', shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = int(lo, hi);
  return t;
};
const pos = (p: number): Tensor => {
  const t = allocTensor('int32', [1]);
  t.data[0] = p;
  return t;
};
const rqRow = (r: number): Tensor => {
  const m = encodeMultiplier(r);
  const t = allocTensor('int32', [1, 2]);
  t.data.set([m.m, m.s]);
  return t;
};

test('RmsNorm follows x / rms(x) × gamma within one output step (plus gamma rounding)', () => {
  for (let trial = 0; trial < 30; trial++) {
    const [rows, d] = [int(1, 3), int(2, 200)];
    const [sx, sg, so, zx, zo] = [0.01 + rand() * 0.1, 0.01, 0.02, int(-20, 20), int(-10, 10)];
    const eps = 1e-5;
    const x = i8([rows, d]);
    const gamma = i8([d], -127, 127);
    const out = KERNELS.RmsNorm({ inputs: [x, gamma, rqRow(sg / (2 ** 12 * so))], zeroPoints: [zx, 0, 0], outZp: zo, outShape: [rows, d], attrs: { epsTerm: Math.round((eps * d * d) / (sx * sx)) } });
    for (let r = 0; r < rows; r++) {
      let ms = 0;
      for (let i = 0; i < d; i++) ms += ((x.data[r * d + i] - zx) * sx) ** 2;
      const inv = 1 / Math.sqrt(ms / d + eps);
      for (let i = 0; i < d; i++) {
        const want = ((x.data[r * d + i] - zx) * sx * inv * gamma.data[i] * sg) / so + zo;
        if (want > 126 || want < -127) continue;
        expect(Math.abs(out.data[r * d + i] - want)).toBeLessThanOrEqual(1);
      }
    }
  }
});

test('Rope rotates each (i, i + headDim/2) pair by the position angle, like transformers', () => {
  const hd = 16;
  const inv = Float64Array.from({ length: hd / 2 }, (_, i) => 1 / 10000 ** ((2 * i) / hd));
  const table = ropeTable(inv, 64);
  for (let trial = 0; trial < 20; trial++) {
    const [rows, heads, p0, zx] = [int(1, 4), int(1, 3), int(0, 60), int(-5, 5)];
    const x = i8([rows, heads * hd], -100, 100);
    const out = KERNELS.Rope({ inputs: [x, table, pos(p0), ropeRq(0.05, 0.05)], zeroPoints: [zx, 0, 0, 0], outZp: zx, outShape: [rows, heads * hd], attrs: {} });
    for (let r = 0; r < rows; r++) {
      const p = Math.min(p0 + r, 63);
      for (let h = 0; h < heads; h++)
        for (let i = 0; i < hd / 2; i++) {
          const a = x.data[r * heads * hd + h * hd + i] - zx;
          const b = x.data[r * heads * hd + h * hd + i + hd / 2] - zx;
          const [c, s] = [Math.cos(p * inv[i]), Math.sin(p * inv[i])];
          for (const [got, want] of [[out.data[r * heads * hd + h * hd + i] - zx, a * c - b * s], [out.data[r * heads * hd + h * hd + i + hd / 2] - zx, b * c + a * s]]) {
            if (Math.abs(want) > 120) continue;
            expect(Math.abs(got - want)).toBeLessThanOrEqual(1);
          }
        }
    }
  }
  // Position 0 is the identity.
  const x = i8([1, hd]);
  expect(KERNELS.Rope({ inputs: [x, table, pos(0), ropeRq(0.05, 0.05)], zeroPoints: [0, 0, 0, 0], outZp: 0, outShape: [1, hd], attrs: {} }).data).toEqual(x.data);
});

test('KvWrite writes exactly its rows, drops rows outside the cache, and starts an absent cache at the zero point', () => {
  const cache = i8([6, 4]);
  const rows = i8([3, 4]);
  const out = KERNELS.KvWrite({ inputs: [rows, pos(4), cache], zeroPoints: [3, 0, 3], outZp: 3, outShape: [6, 4], attrs: {} });
  expect([...out.data.subarray(0, 16)]).toEqual([...cache.data.subarray(0, 16)]);
  expect([...out.data.subarray(16, 24)]).toEqual([...rows.data.subarray(0, 8)]);
  const fresh = KERNELS.KvWrite({ inputs: [rows, pos(-1)], zeroPoints: [3, 0], outZp: 3, outShape: [6, 4], attrs: {} });
  expect([...fresh.data.subarray(0, 8)]).toEqual([...rows.data.subarray(4, 12)]);
  expect([...fresh.data.subarray(8)]).toEqual(new Array(16).fill(3));
});

/** Float attention over the dequantised operands: softmax(q·k / sqrt(hd)) · v per head, causal. */
function floatAttention(q: Tensor, k: Tensor, v: Tensor, s: { q: number; k: number; v: number }, z: { q: number; k: number; v: number }, heads: number, kvHeads: number, p0: number): number[] {
  const wq = q.shape[1];
  const hd = wq / heads;
  const wk = k.shape[1];
  const out: number[] = [];
  for (let r = 0; r < q.shape[0]; r++) {
    const last = Math.min(p0 + r, k.shape[0] - 1);
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / (heads / kvHeads));
      const scores = [];
      for (let j = 0; j <= last; j++) {
        let dot = 0;
        for (let i = 0; i < hd; i++) dot += (q.data[r * wq + h * hd + i] - z.q) * s.q * (k.data[j * wk + g * hd + i] - z.k) * s.k;
        scores.push(dot / Math.sqrt(hd));
      }
      const max = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - max));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let i = 0; i < hd; i++) {
        let acc = 0;
        for (let j = 0; j <= last; j++) acc += (e[j] / sum) * (v.data[j * wk + g * hd + i] - z.v) * s.v;
        out.push(acc);
      }
    }
  }
  return out;
}

test('Attention follows float causal grouped-query attention within a few output steps', () => {
  for (let trial = 0; trial < 25; trial++) {
    const [kvHeads, group, hd, p, rows] = [int(1, 2), int(1, 4), int(4, 32), int(1, 40), int(1, 3)];
    const heads = kvHeads * group;
    const s = { q: 0.02 + rand() * 0.05, k: 0.02 + rand() * 0.05, v: 0.05 };
    const z = { q: int(-10, 10), k: int(-10, 10), v: int(-10, 10) };
    const so = 0.02;
    const [q, k, v] = [i8([rows, heads * hd]), i8([p, kvHeads * hd]), i8([p, kvHeads * hd])];
    const p0 = int(0, p - 1);
    const out = KERNELS.Attention({ inputs: [q, k, v, pos(p0), exp2Table(), attentionRq(s.q, s.k, s.v, so, hd)], zeroPoints: [z.q, z.k, z.v, 0, 0, 0], outZp: 0, outShape: [rows, heads * hd], attrs: { heads, kvHeads } });
    const want = floatAttention(q, k, v, s, z, heads, kvHeads, p0);
    let worst = 0;
    for (let i = 0; i < want.length; i++) if (Math.abs(want[i] / so) < 125) worst = Math.max(worst, Math.abs(out.data[i] - want[i] / so));
    // exp2 fractions carry 2^-20 and the gap 1/256 of an octave (0.27%): a few steps on a ±127 range.
    expect(worst).toBeLessThanOrEqual(3);
  }
});

test('Attention is exactly causal: cache rows after a query position never change its output', () => {
  for (let trial = 0; trial < 20; trial++) {
    const [heads, hd, p, rows] = [int(1, 4), int(2, 16), int(2, 30), int(1, 3)];
    const q = i8([rows, heads * hd]);
    const k = i8([p, heads * hd]);
    const v = i8([p, heads * hd]);
    const p0 = int(0, p - 2);
    const run = (kk: Tensor, vv: Tensor) => KERNELS.Attention({ inputs: [q, kk, vv, pos(p0), exp2Table(), attentionRq(0.05, 0.05, 0.05, 0.06, hd)], zeroPoints: [0, 0, 0, 0, 0, 0], outZp: 0, outShape: [rows, heads * hd], attrs: { heads, kvHeads: heads } });
    const before = run(k, v);
    const [k2, v2] = [{ ...k, data: k.data.slice() }, { ...v, data: v.data.slice() }];
    const firstFuture = (p0 + rows) * heads * hd;
    for (let i = firstFuture; i < k2.data.length; i++) {
      k2.data[i] = int(-128, 127);
      v2.data[i] = int(-128, 127);
    }
    expect(run(k2, v2).data).toEqual(before.data);
    // while the rows inside the window do count: the same keys with every value negated
    for (let i = 0; i < firstFuture; i++) v2.data[i] = v2.data[i] === -128 ? 127 : -v2.data[i];
    expect(run(k2, v2).data).not.toEqual(before.data);
  }
});

describe('Sample', () => {
  const V = 6;
  // Real logits 0, -0.5, -1, -2, -3, -8 at scale 2^-16 (what a DenseWide head writes).
  const realLogits = [0, -0.5, -1, -2, -3, -8];
  const scale = 2 ** -16;
  const logits = allocTensor('int32', [1, V]);
  logits.data.set(realLogits.map((v) => Math.round(v / scale)));
  const gapRq = (() => {
    const m = encodeMultiplier(scale * Math.LOG2E * 256);
    const t = allocTensor('int32', [1, 2]);
    t.data.set([m.m, m.s]);
    return t;
  })();
  const state = (words: Partial<Record<'position' | 'rng' | 'prompt' | 'total' | 'temperature' | 'topK' | 'topP', number>>, tokens: number[] = [4, 2]) => {
    const s = allocTensor('int32', [8 + 8]);
    s.data.set([words.position ?? 1, 0, words.rng ?? 1, words.prompt ?? 2, words.total ?? 8, words.temperature ?? 1000, words.topK ?? 0, words.topP ?? 0]);
    s.data.set(tokens, 8);
    return s;
  };
  const run = (s: Tensor) => KERNELS.Sample({ inputs: [logits, s, exp2Table(), gapRq], zeroPoints: [0, 0, 0, 0], outZp: 0, outShape: [16], attrs: {} });

  test('draws follow softmax(logits / temperature) over seeds', () => {
    for (const temperature of [1000, 500]) {
      const counts = new Array(V).fill(0);
      const n = 4000;
      for (let seed = 1; seed <= n; seed++) counts[run(state({ rng: seed * 2654435761, temperature })).data[1]]++;
      const w = realLogits.map((v) => Math.exp(v / (temperature / 1000)));
      const sum = w.reduce((a, b) => a + b, 0);
      for (let i = 0; i < V; i++) expect(Math.abs(counts[i] / n - w[i] / sum)).toBeLessThan(0.03);
    }
  });

  test('top-k and top-p keep only the head of the distribution; greedy takes the argmax', () => {
    const seen = (words: Parameters<typeof state>[0]) => new Set(Array.from({ length: 400 }, (_, i) => run(state({ ...words, rng: i + 1 })).data[1]));
    expect([...seen({ topK: 2 })].sort()).toEqual([0, 1]);
    // p = 0.5 of the mass: token 0 alone holds about 0.43, with token 1 about 0.69.
    expect([...seen({ topP: 32768 })].sort()).toEqual([0, 1]);
    expect([...seen({ temperature: 0 })]).toEqual([0]);
  });

  test('the prompt is forced, the state advances by one, and a finished state does not change', () => {
    const forced = run(state({ position: 0, prompt: 2 }, [4, 2]));
    expect(Array.from(forced.data.subarray(0, 2))).toEqual([1, 2]);
    const drawn = run(state({ position: 1, prompt: 2, rng: 99 }));
    expect(drawn.data[0]).toBe(2);
    expect(drawn.data[8 + 2]).toBe(drawn.data[1]);
    expect(drawn.data[2]).not.toBe(99);
    const done = state({ position: 7, total: 8 });
    expect(Array.from(run(done).data)).toEqual(Array.from(done.data));
  });
});
