/**
 * Content ids for pinned blobs (weights blob, spec file, VM image): CIDv1, raw codec (0x55),
 * sha2-256 multihash, base32 multibase ('b'), the form IPFS gives a single-block raw file.
 * Defined with the rest of the UnixFS encoding in shared/ipfs/unixfs, so there is one base32.
 */
export { rawCid } from '../ipfs/unixfs/cid';
