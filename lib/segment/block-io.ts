// How a block sits in a segment file (docs/format.md, "Segment files",
// "Block trailer" and "Block handle"):
//
//   +-------------------------+---------------------+-------------------+
//   | stored bytes (size)     | compression type u8 | crc32 u32 LE      |
//   +-------------------------+---------------------+-------------------+
//     crc is CRC-32/IEEE over the stored bytes and the type byte
//
// A block handle is `offset varint | size varint` (size excludes the
// trailer). Reading a block checks that it lies inside the file, verifies
// its CRC, and decompresses it with a bound on the raw size; any failure is a
// CorruptionError naming the file and the block's offset.

import { crc32, crc32Continue } from '../format/crc32.js';
import { lz4Decompress } from '../format/lz4.js';
import { readVarint, varintLength, writeVarint, type VarintResult } from '../format/varint.js';
import { readExactly, type FileHandle } from '../fs/file-system.js';
import { blockCorruption } from './block-reader.js';
import { blockTrailerBytes, CompressionType, lz4ExpansionMax, type BlockHandle } from './segment-format.js';

/** Where to read a block and how much to trust it. */
export interface ReadBlockOptions {
  /** Verify the trailer CRC (data blocks may skip it; metadata blocks never do). */
  verifyChecksum: boolean;
  /** Largest raw (decompressed) size accepted, bytes. */
  rawBytesMax: number;
  /** What the block is, for error messages: "data block" (default), "index block", ... */
  blockName?: string;
}

/** Encodes a handle as `offset varint | size varint`. */
export function encodeBlockHandle(handle: BlockHandle): Buffer {
  const encoded = Buffer.allocUnsafe(varintLength(handle.offset) + varintLength(handle.size));
  writeVarint(encoded, writeVarint(encoded, 0, handle.offset), handle.size);
  return encoded;
}

/**
 * Decodes a handle from `source[start, end)` into `out`, without allocating.
 * @returns false when the bytes are not exactly two varints
 */
export function decodeBlockHandle(source: Buffer, start: number, end: number, out: BlockHandle, varint: VarintResult): boolean {
  if (!readVarint(source, start, end, varint)) return false;
  out.offset = varint.value;
  if (!readVarint(source, varint.offset, end, varint)) return false;
  out.size = varint.value;
  return varint.offset === end;
}

/** CRC-32/IEEE over a block's stored bytes followed by its type byte. */
export function blockChecksum(stored: Uint8Array, type: number): number {
  return crc32Continue(crc32(stored), Uint8Array.of(type));
}

/** The 5-byte trailer for `stored` bytes of `type`. */
export function encodeBlockTrailer(stored: Uint8Array, type: CompressionType): Buffer {
  const trailer = Buffer.allocUnsafe(blockTrailerBytes);
  trailer[0] = type;
  trailer.writeUInt32LE(blockChecksum(stored, type), 1);
  return trailer;
}

/**
 * Reads, verifies and decompresses the block at `handle`.
 * @param path the file's path, for error messages
 * @param limitOffset blocks must end (with trailer) at or before this offset
 * @returns the raw block bytes: a new buffer owned by the caller
 * @throws CorruptionError (path, handle.offset) on any damage
 */
export function readBlock(file: FileHandle, path: string, handle: BlockHandle, limitOffset: number, options: ReadBlockOptions): Buffer {
  const name = options.blockName ?? 'data block';
  const storedEnd = handle.offset + handle.size;
  if (storedEnd + blockTrailerBytes > limitOffset) {
    throw blockCorruption(path, handle.offset, `${handle.size} bytes plus trailer end past offset ${limitOffset}`, name);
  }
  const length = handle.size + blockTrailerBytes;
  const bytes = readIntoScratch(file, handle.offset, length);
  if (bytes.length !== length) {
    throw blockCorruption(path, handle.offset, `file ends after ${bytes.length} of ${length} bytes`, name);
  }
  if (options.verifyChecksum) verifyChecksum(bytes, handle.size, path, handle.offset, name);
  const block = decodeStored(bytes.subarray(0, handle.size), bytes[handle.size]!, path, handle.offset, options.rawBytesMax, name);
  // An uncompressed block is still the scratch buffer: the caller keeps (and caches) blocks, so copy it out.
  return block.buffer === scratch.buffer ? Buffer.from(block) : block;
}

/** Reads up to this many bytes into one reused buffer (a block read is synchronous, so nothing else uses it meanwhile). */
const scratchBytesMax = 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * Reads `length` bytes at `position` into the shared scratch buffer (or a fresh one past scratchBytesMax).
 * The result is valid until the next call; shorter than `length` when the file ends first.
 */
function readIntoScratch(file: FileHandle, position: number, length: number): Buffer {
  if (length > scratchBytesMax) return readExactly(file, position, length);
  if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(Math.min(scratchBytesMax, Math.max(length, scratch.length * 2)));
  let done = 0;
  while (done < length) {
    const count = file.read(scratch, done, length - done, position + done);
    if (count === 0) break;
    done += count;
  }
  return scratch.subarray(0, done);
}

/**
 * Turns a block's stored bytes into raw block bytes according to its type.
 * @returns `stored` itself when uncompressed, else a new buffer
 * @throws CorruptionError for an unknown type or LZ4 data that does not decompress within the bound
 */
export function decodeStored(stored: Buffer, type: number, path: string, blockOffset: number, rawBytesMax: number, blockName = 'data block'): Buffer {
  if (type === CompressionType.none) return stored;
  if (type !== CompressionType.lz4) throw blockCorruption(path, blockOffset, `unknown compression type ${type}`, blockName);
  const bound = Math.min(rawBytesMax, stored.length * lz4ExpansionMax + 64);
  const raw = lz4Decompress(stored, bound);
  if (raw === undefined) throw blockCorruption(path, blockOffset, `LZ4 data of ${stored.length} bytes does not decompress to at most ${bound} bytes`, blockName);
  return raw;
}

function verifyChecksum(bytes: Buffer, size: number, path: string, blockOffset: number, name: string): void {
  const stored = bytes.readUInt32LE(size + 1);
  const computed = crc32(bytes.subarray(0, size + 1));
  if (stored !== computed) {
    throw blockCorruption(path, blockOffset, `checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`, name);
  }
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
