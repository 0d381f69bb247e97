/** Builds minimal ELF32 executables for tests: one PT_LOAD segment per entry in `segments`. */
export interface TestSegment {
  vaddr: number;
  data: Uint8Array;
  memsz?: number;
}

export function buildElf(entry: number, segments: TestSegment[], patch: Partial<Record<'class' | 'data' | 'type' | 'machine', number>> = {}): Uint8Array {
  const phoff = 52;
  const dataStart = phoff + 32 * segments.length;
  const size = dataStart + segments.reduce((n, s) => n + s.data.length, 0);
  const file = new Uint8Array(size);
  const v = new DataView(file.buffer);
  file.set([0x7f, 0x45, 0x4c, 0x46, patch.class ?? 1, patch.data ?? 1, 1]);
  v.setUint16(16, patch.type ?? 2, true);
  v.setUint16(18, patch.machine ?? 243, true);
  v.setUint32(20, 1, true);
  v.setUint32(24, entry, true);
  v.setUint32(28, phoff, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, segments.length, true);
  let offset = dataStart;
  segments.forEach((s, i) => {
    const h = phoff + 32 * i;
    v.setUint32(h, 1, true);
    v.setUint32(h + 4, offset, true);
    v.setUint32(h + 8, s.vaddr, true);
    v.setUint32(h + 12, s.vaddr, true);
    v.setUint32(h + 16, s.data.length, true);
    v.setUint32(h + 20, s.memsz ?? s.data.length, true);
    v.setUint32(h + 24, 5, true);
    v.setUint32(h + 28, 0x1000, true);
    file.set(s.data, offset);
    offset += s.data.length;
  });
  return file;
}

export const words = (ws: number[]): Uint8Array => new Uint8Array(Uint32Array.from(ws).buffer);
