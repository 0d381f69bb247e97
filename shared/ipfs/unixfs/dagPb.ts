/**
 * dag-pb blocks (codec 0x70) as UnixFS file nodes use them:
 *
 *   PBNode { repeated PBLink Links = 2; optional bytes Data = 1 }   encoded Links first, then Data
 *   PBLink { bytes Hash = 1; string Name = 2; uint64 Tsize = 3 }      encoded in field order
 *
 * File links have an empty Name, which Kubo writes as a present, empty field: it is part of the
 * bytes, hence of the CID. The decoder keeps to the dag-pb spec's strict form (field order, no
 * unknown fields) and ignores link names, which mean nothing inside a file.
 */
import { Cid } from './cid';
import { UnixfsDecodeError } from './errors';
import { ProtoWriter, readProtoFields } from './protobuf';

export interface PbLink {
  cid: Cid;
  /** Bytes of every block under the link, that block included (dag-pb's Tsize). */
  tsize?: number;
}

export interface PbNode {
  links: PbLink[];
  data?: Uint8Array;
}

const NODE_DATA = 1;
const NODE_LINKS = 2;
const LINK_HASH = 1;
const LINK_NAME = 2;
const LINK_TSIZE = 3;
const EMPTY_NAME = new Uint8Array(0);

export function encodePbNode(node: PbNode): Uint8Array {
  const out = new ProtoWriter();
  for (const link of node.links) {
    const encoded = new ProtoWriter().bytes(LINK_HASH, link.cid.bytes).bytes(LINK_NAME, EMPTY_NAME);
    if (link.tsize !== undefined) encoded.varint(LINK_TSIZE, link.tsize);
    out.bytes(NODE_LINKS, encoded.finish());
  }
  if (node.data) out.bytes(NODE_DATA, node.data);
  return out.finish();
}

/** The node in `bytes`; UnixfsDecodeError for anything the strict dag-pb form does not allow. */
export function decodePbNode(bytes: Uint8Array): PbNode {
  const links: PbLink[] = [];
  let data: Uint8Array | undefined;
  for (const f of readProtoFields(bytes)) {
    if (data !== undefined) throw new UnixfsDecodeError(`field ${f.field} after Data, which must come last`, f.offset);
    if (f.field === NODE_LINKS && f.wireType === 2) {
      const linkStart = f.value.byteOffset - bytes.byteOffset;
      try {
        links.push(decodePbLink(f.value));
      } catch (e) {
        if (e instanceof UnixfsDecodeError) throw new UnixfsDecodeError(`link ${links.length}: ${e.reason}`, linkStart + e.offset);
        throw e;
      }
    } else if (f.field === NODE_DATA && f.wireType === 2) {
      data = f.value;
    } else {
      throw new UnixfsDecodeError(`dag-pb PBNode has no field ${f.field} of wire type ${f.wireType}`, f.offset);
    }
  }
  return data === undefined ? { links } : { links, data };
}

function decodePbLink(bytes: Uint8Array): PbLink {
  let cid: Cid | undefined;
  let tsize: number | undefined;
  let lastField = 0;
  for (const f of readProtoFields(bytes)) {
    if (f.field <= lastField) throw new UnixfsDecodeError(`PBLink field ${f.field} out of order`, f.offset);
    lastField = f.field;
    if (f.field === LINK_HASH && f.wireType === 2) cid = Cid.decode(f.value);
    else if (f.field === LINK_NAME && f.wireType === 2) continue;
    else if (f.field === LINK_TSIZE && f.wireType === 0) tsize = f.value;
    else throw new UnixfsDecodeError(`dag-pb PBLink has no field ${f.field} of wire type ${f.wireType}`, f.offset);
  }
  if (!cid) throw new UnixfsDecodeError('PBLink without Hash', 0);
  return tsize === undefined ? { cid } : { cid, tsize };
}
