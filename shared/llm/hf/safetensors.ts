/**
 * Safetensors files (https://huggingface.co/docs/safetensors), read and written by offset.
 *
 * A 7B checkpoint's shards are several GB each, more than one Node buffer holds, so nothing here
 * maps or loads a whole file: the header is parsed once and tensors are read row range by row range
 * with positioned reads, decoded to float32 on the way. No maintained npm package streams like
 * this, and the format is a length, a JSON header and packed little-endian data.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { SafetensorsError } from '../errors';
import { floatToBfloat16Bits, floatToHalfBits, halfToFloatTable } from './float16';

/** The reference implementation refuses headers over 100 MB; so do we, before allocating it. */
export const MAX_HEADER_BYTES = 100_000_000;
/** One positioned read stays under Node's 2 GiB limit per call. */
const READ_CHUNK_BYTES = 1 << 30;

export const SAFETENSORS_DTYPE_SIZE = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
} as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_SIZE;
/** What we decode to float32: the dtypes checkpoints are published in. */
export const FLOAT_DTYPES = ['F32', 'F16', 'BF16'] as const;
export type FloatDtype = (typeof FLOAT_DTYPES)[number];

const entrySchema = z
  .object({
    dtype: z.enum(Object.keys(SAFETENSORS_DTYPE_SIZE) as [SafetensorsDtype, ...SafetensorsDtype[]]),
    shape: z.array(z.number().int().min(0)),
    data_offsets: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
  })
  .strict();

export interface SafetensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** absolute byte offsets in the file */
  begin: number;
  end: number;
}

const product = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export class SafetensorsFile {
  readonly tensors = new Map<string, SafetensorInfo>();
  readonly metadata: Record<string, string> = {};
  private fd: number | undefined;

  private constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      this.parseHeader();
    } catch (e) {
      this.close();
      throw e;
    }
  }

  static open(path: string): SafetensorsFile {
    return new SafetensorsFile(path);
  }

  private fail(message: string, tensor?: string): never {
    throw new SafetensorsError(message, this.path, tensor);
  }

  private parseHeader(): void {
    const size = fstatSync(this.fd!).size;
    if (size < 8) this.fail(`${size} bytes is too short for a safetensors file (an 8-byte header length comes first)`);
    const lenBuf = Buffer.alloc(8);
    readSync(this.fd!, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER_BYTES) this.fail(`header length ${headerLen} is over the ${MAX_HEADER_BYTES}-byte limit: not a safetensors file, or a corrupt one`);
    if (8 + headerLen > size) this.fail(`header length ${headerLen} runs past the end of the file (${size} bytes): the download is truncated`);
    const headerBuf = Buffer.alloc(headerLen);
    readSync(this.fd!, headerBuf, 0, headerLen, 8);
    let header: unknown;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch (e) {
      this.fail(`header is not JSON (${(e as Error).message})`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) this.fail('header is not a JSON object');
    const dataStart = 8 + headerLen;
    const spans: SafetensorInfo[] = [];
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        const meta = z.record(z.string(), z.string()).safeParse(raw);
        if (!meta.success) this.fail('__metadata__ must map strings to strings');
        Object.assign(this.metadata, meta.data);
        continue;
      }
      const parsed = entrySchema.safeParse(raw);
      if (!parsed.success) this.fail(`bad header entry: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, name);
      const { dtype, shape, data_offsets: [b, e] } = parsed.data;
      if (e < b) this.fail(`data_offsets [${b}, ${e}] end before they begin`, name);
      const want = product(shape) * SAFETENSORS_DTYPE_SIZE[dtype];
      if (e - b !== want) this.fail(`${e - b} data bytes, but shape [${shape}] of ${dtype} needs ${want}`, name);
      spans.push({ name, dtype, shape, begin: dataStart + b, end: dataStart + e });
    }
    // Like the reference reader: the tensors tile the data section exactly, with no hole or overlap.
    spans.sort((x, y) => x.begin - y.begin || x.end - y.end);
    let at = dataStart;
    for (const s of spans) {
      if (s.begin !== at) this.fail(s.begin < at ? `data overlaps the tensor before it` : `a ${s.begin - at}-byte hole precedes this tensor's data`, s.name);
      at = s.end;
      this.tensors.set(s.name, s);
    }
    if (at !== size) this.fail(at > size ? `tensor data runs ${at - size} bytes past the end of the file: the download is truncated` : `${size - at} bytes follow the last tensor`);
  }

  info(name: string): SafetensorInfo {
    const t = this.tensors.get(name);
    if (!t) this.fail('no such tensor', name);
    return t;
  }

  /**
   * Rows [start, start + count) along the first dimension, as float32. A row is one element for a
   * 1-D tensor. Only the float dtypes decode; an integer tensor is refused by name.
   */
  readRows(name: string, start: number, count: number): Float32Array {
    const t = this.info(name);
    if (!(FLOAT_DTYPES as readonly string[]).includes(t.dtype)) this.fail(`dtype ${t.dtype} is not a float dtype (${FLOAT_DTYPES.join(', ')}) we import`, name);
    const rows = t.shape.length === 0 ? 1 : t.shape[0];
    if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > rows) {
      this.fail(`rows [${start}, ${start + count}) are outside its ${rows} rows`, name);
    }
    const rowElems = t.shape.length <= 1 ? 1 : product(t.shape.slice(1));
    const size = SAFETENSORS_DTYPE_SIZE[t.dtype];
    const n = count * rowElems;
    const out = new Float32Array(n);
    const bytes = this.readBytes(t.begin + start * rowElems * size, n * size);
    if (t.dtype === 'F32') {
      out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
    } else if (t.dtype === 'F16') {
      const table = halfToFloatTable();
      const h = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = table[h[i]];
    } else {
      const h = new Uint16Array(bytes.buffer, bytes.byteOffset, n);
      const o32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) o32[i] = h[i] << 16;
    }
    return out;
  }

  /** The whole tensor as float32. */
  read(name: string): Float32Array {
    const t = this.info(name);
    return this.readRows(name, 0, t.shape.length === 0 ? 1 : t.shape[0]);
  }

  /** Aligned (fresh buffer) bytes at an absolute offset. */
  private readBytes(position: number, length: number): Buffer {
    const buf = Buffer.allocUnsafeSlow(length);
    for (let done = 0; done < length; ) {
      const want = Math.min(READ_CHUNK_BYTES, length - done);
      const got = readSync(this.fd!, buf, done, want, position + done);
      if (got === 0) this.fail(`short read at byte ${position + done}: the file changed while open`);
      done += got;
    }
    return buf;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface SafetensorDraft {
  name: string;
  dtype: FloatDtype;
  shape: number[];
}

/**
 * Writes a safetensors file tensor by tensor, in the order given, each in as many row chunks as
 * the caller likes: a multi-GB shard never exists in memory. The header (padded with spaces to a
 * multiple of 8 bytes, as the reference writer does) is written first, since every shape is known.
 */
export class SafetensorsWriter {
  private fd: number | undefined;
  private index = 0;
  private writtenOfCurrent = 0;
  private position: number;

  constructor(
    readonly path: string,
    private readonly drafts: readonly SafetensorDraft[],
    metadata: Record<string, string> = { format: 'pt' },
  ) {
    const header: Record<string, unknown> = { __metadata__: metadata };
    let at = 0;
    for (const d of drafts) {
      const bytes = product(d.shape) * SAFETENSORS_DTYPE_SIZE[d.dtype];
      header[d.name] = { dtype: d.dtype, shape: d.shape, data_offsets: [at, at + bytes] };
      at += bytes;
    }
    let json = JSON.stringify(header);
    json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
    const head = Buffer.alloc(8 + Buffer.byteLength(json));
    head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
    head.write(json, 8, 'utf8');
    this.fd = openSync(path, 'w');
    writeSync(this.fd, head, 0, head.length, 0);
    this.position = head.length;
    this.skipEmpty();
  }

  /** Zero-element tensors take no write call of their own. */
  private skipEmpty(): void {
    while (this.drafts[this.index] && product(this.drafts[this.index].shape) === 0) this.index++;
  }

  /** The next values of the current tensor (the tensors in draft order, each row-major). */
  write(values: Float32Array): void {
    const d = this.drafts[this.index];
    if (!d) throw new SafetensorsError('every tensor is already written', this.path);
    const total = product(d.shape);
    if (this.writtenOfCurrent + values.length > total) {
      throw new SafetensorsError(`${this.writtenOfCurrent + values.length} values written, but its shape holds ${total}`, this.path, d.name);
    }
    const buf = encode(values, d.dtype);
    writeSync(this.fd!, buf, 0, buf.length, this.position);
    this.position += buf.length;
    this.writtenOfCurrent += values.length;
    if (this.writtenOfCurrent === total) {
      this.index++;
      this.writtenOfCurrent = 0;
      this.skipEmpty();
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    if (this.index < this.drafts.length) throw new SafetensorsError(`closed before all its data was written`, this.path, this.drafts[this.index].name);
  }
}

function encode(values: Float32Array, dtype: FloatDtype): Buffer {
  if (dtype === 'F32') return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = new Uint16Array(values.length);
  if (dtype === 'F16') for (let i = 0; i < values.length; i++) out[i] = floatToHalfBits(values[i]);
  else for (let i = 0; i < values.length; i++) out[i] = floatToBfloat16Bits(values[i]);
  return Buffer.from(out.buffer);
}
