// Constants shared by the segment writer, reader and checker: the layout of a
// segment (SSTable) file, byte by byte in docs/format.md, "Segment files".
//
//   [data block 0][trailer] ... [data block n-1][trailer]
//   [filter block][trailer] [properties block][trailer] [index block][trailer]
//   [footer, 52 bytes]
//
// Every block is followed by a 5-byte trailer: a compression type byte and a
// CRC-32/IEEE (u32 LE) over the stored block bytes and the type byte. A block
// handle (offset, size) names a block's stored bytes without the trailer.
// Everything written here reaches the disk: never renumber a constant.

import { keyBytesMax, valueBytesMax } from '../limits.js';
import { varintBytesMax } from '../format/varint.js';
import { assert } from '../assert.js';

/** The last 8 bytes of every segment file: ASCII "silt-sst". */
export const segmentMagic = Buffer.from('silt-sst', 'latin1');

/** Format version this build writes. */
export const segmentFormatVersion = 1;

/**
 * Every format version this build reads, with what each added. Readers accept
 * every listed version; an unlisted one is an UnsupportedVersionError.
 */
export const segmentFormatVersions = [
  /** 1: first format (prefix-compressed blocks, LZ4, full-file bloom filter, TLV properties). */
  1,
] as const;

/** How the stored bytes of a block are encoded: the trailer's type byte. Never renumber. */
export const CompressionType = {
  /** Stored as is. */
  none: 0,
  /** `[u32 LE raw length][LZ4 block]`, lz4-napi's compressSync layout. */
  lz4: 1,
} as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

/** Bytes after each block: compression type (1) + CRC-32 (4). */
export const blockTrailerBytes = 5;

/** Footer layout (version 1): byte offsets of each field from the footer start. */
export const FooterField = {
  indexOffset: 0, // u64 LE
  indexSize: 8, // u32 LE
  filterOffset: 12, // u64 LE
  filterSize: 20, // u32 LE
  propertiesOffset: 24, // u64 LE
  propertiesSize: 32, // u32 LE
  checksum: 36, // u32 LE, CRC-32/IEEE of footer bytes [0, 36)
  formatVersion: 40, // u32 LE
  magic: 44, // 8 bytes "silt-sst"
} as const;

/** Bytes of the fixed footer at the end of the file. */
export const footerBytes = 52;

/** Bytes of the footer that its checksum covers (the three block handles). */
export const footerChecksummedBytes = FooterField.checksum;

/** Index blocks store every key whole (a restart at every entry), so seeks binary-search them directly. */
export const indexRestartInterval = 1;

/** Largest data block target a writer accepts, bytes. Blocks are read whole into memory. */
export const blockBytesOptionMax = 4 * 1024 * 1024;

/**
 * Largest uncompressed block a reader accepts, bytes: a block is closed once it
 * reaches the target, so it holds at most the target plus one largest entry.
 * Bounds decompression so damaged length fields cannot make it allocate more.
 */
export const blockRawBytesMax = blockBytesOptionMax + keyBytesMax + 8 + valueBytesMax + 3 * varintBytesMax;

/** LZ4 cannot expand data more than 255:1; a declared raw length beyond this is damage. */
export const lz4ExpansionMax = 255;

/** Compressed bytes must save at least 1/8 (12.5%) of the raw block, or the block is stored raw. */
export const compressionSavingsDivisor = 8;

/** Most Bloom filter probes (k) a filter may declare. */
export const bloomProbesMax = 30;

/** Largest bits-per-key a writer accepts. 0 writes an empty filter (every key may match). */
export const bloomBitsPerKeyMax = 32;

/** Where a block's stored bytes (without trailer) live in the file. */
export interface BlockHandle {
  offset: number;
  size: number;
}

export { segmentFileName } from '../format/file-names.js';

assert(blockRawBytesMax < 2 ** 32, 'a raw block length fits the u32 LZ4 prefix');
assert(segmentMagic.length === footerBytes - FooterField.magic, 'the magic fills the footer tail');
assert(segmentFormatVersions.includes(segmentFormatVersion), 'the written version is readable');
