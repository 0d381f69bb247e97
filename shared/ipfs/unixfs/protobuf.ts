/**
 * The two protobuf wire types UnixFS file DAGs use: varint (0) and length-delimited (2). Enough for
 * dag-pb PBNode/PBLink and the UnixFS Data message; any other wire type is a decode error.
 */
import { UnixfsDecodeError } from './errors';
import { pushVarint, readVarint } from './varint';

const VARINT = 0;
const LENGTH_DELIMITED = 2;

export type ProtoField =
  | { field: number; wireType: typeof VARINT; value: number; offset: number }
  | { field: number; wireType: typeof LENGTH_DELIMITED; value: Uint8Array; offset: number };

/** Writes fields in the order they are given (dag-pb's canonical order is the caller's to keep). */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private head: number[] = [];

  varint(field: number, value: number): this {
    pushVarint(this.head, (field << 3) | VARINT);
    pushVarint(this.head, value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    pushVarint(this.head, (field << 3) | LENGTH_DELIMITED);
    pushVarint(this.head, value.length);
    this.parts.push(Uint8Array.from(this.head), value);
    this.head = [];
    return this;
  }

  finish(): Uint8Array {
    this.parts.push(Uint8Array.from(this.head));
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const p of this.parts) {
      out.set(p, offset);
      offset += p.length;
    }
    return out;
  }
}

/** The fields of one message in order; a length-delimited value is a view into `bytes`. */
export function* readProtoFields(bytes: Uint8Array): Generator<ProtoField> {
  let offset = 0;
  while (offset < bytes.length) {
    const start = offset;
    const [key, afterKey] = readVarint(bytes, offset);
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) throw new UnixfsDecodeError('protobuf field number 0', start);
    if (wireType === VARINT) {
      const [value, next] = readVarint(bytes, afterKey);
      offset = next;
      yield { field, wireType, value, offset: start };
    } else if (wireType === LENGTH_DELIMITED) {
      const [length, afterLength] = readVarint(bytes, afterKey);
      if (afterLength + length > bytes.length) throw new UnixfsDecodeError(`field ${field} of ${length} bytes past the end`, start);
      offset = afterLength + length;
      yield { field, wireType, value: bytes.subarray(afterLength, offset), offset: start };
    } else {
      throw new UnixfsDecodeError(`protobuf wire type ${wireType} (field ${field}), which UnixFS files do not use`, start);
    }
  }
}
