/**
 * The settings of `ipfs add --cid-version 1` on Kubo with its default configuration, which every
 * CID in this project follows: fixed 256 KiB chunks stored as raw blocks, a balanced dag-pb DAG of
 * at most 174 links per node above them. Kubo's newer "unixfs-v1-2025" profile (1 MiB chunks, 1024
 * links) gives other CIDs for files over 256 KiB.
 */
export const CHUNK_SIZE = 262_144;
export const MAX_LINKS_PER_NODE = 174;
