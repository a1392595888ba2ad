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
import { lz4Scratch, scratchInputBytes, scratchOutputBytes } from '../format/lz4-scratch.js';
import { readVarint, varintLength, writeVarint, type VarintResult } from '../format/varint.js';
import { readExactly, type FileHandle } from '../fs/file-system.js';
import type { CorruptionError } from '../errors.js';
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
  const read = readIntoScratch(file, handle.offset, length);
  if (read.length !== length) {
    throw blockCorruption(path, handle.offset, `file ends after ${read.length} of ${length} bytes`, name);
  }
  // One view of the stored bytes serves the checksum and the decoder (a cache miss is allocation-bound).
  const bytes = read.bytes;
  const stored = bytes.subarray(0, handle.size);
  const type = checkTrailer(bytes, handle, path, options, name);
  const block = decodeStored(stored, type, path, handle.offset, options.rawBytesMax, name);
  scratchRead.bytes = scratch; // let go of a one-off buffer read past scratchBytesMax
  // An uncompressed block is still the scratch buffer: the caller keeps (and caches) blocks, so copy it out.
  return block.buffer === scratch.buffer ? Buffer.from(block) : block;
}

/**
 * Reads, verifies and decodes the block at `handle` as readBlock() does, but
 * into this thread's scratch memory (lib/format/lz4-scratch.ts): no buffer
 * is allocated. For a reader that is done with the block before its next
 * block read (a point lookup that copies what it returns).
 * @returns a view of the raw block bytes, valid until the next readBlockScratch()
 *   on this thread; undefined when the block is too large for the scratch
 *   memory (read it with readBlock())
 * @throws CorruptionError (path, handle.offset) on any damage, as readBlock()
 */
export function readBlockScratch(file: FileHandle, path: string, handle: BlockHandle, limitOffset: number, options: ReadBlockOptions): Buffer | undefined {
  const name = options.blockName ?? 'data block';
  const length = handle.size + blockTrailerBytes;
  if (length > scratchInputBytes) return undefined;
  if (handle.offset + length > limitOffset) {
    throw blockCorruption(path, handle.offset, `${handle.size} bytes plus trailer end past offset ${limitOffset}`, name);
  }
  const scratchMemory = lz4Scratch();
  const bytes = scratchMemory.input;
  const done = readInto(file, bytes, handle.offset, length);
  if (done !== length) throw blockCorruption(path, handle.offset, `file ends after ${done} of ${length} bytes`, name);
  const type = checkTrailer(bytes, handle, path, options, name);
  if (type === CompressionType.none) return bytes.subarray(0, handle.size);
  if (type !== CompressionType.lz4) throw blockCorruption(path, handle.offset, `unknown compression type ${type}`, name);
  // The stored form is [u32 LE raw length][LZ4 block] (lib/format/lz4.ts).
  const bound = lz4RawBound(handle.size, options.rawBytesMax);
  const rawLength = handle.size < 4 ? -1 : readU32(bytes, 0);
  if (rawLength > scratchOutputBytes && rawLength <= bound) return undefined;
  const raw = rawLength < 0 || rawLength > bound ? undefined : scratchMemory.decode(4, handle.size, rawLength);
  if (raw === undefined) throw lz4Corruption(path, handle.offset, handle.size, bound, name);
  return raw;
}

/** Checks the trailer after `bytes[0, handle.size)` (the CRC when asked) and returns the compression type. */
function checkTrailer(bytes: Buffer, handle: BlockHandle, path: string, options: ReadBlockOptions, name: string): number {
  const type = bytes[handle.size]!;
  if (options.verifyChecksum) verifyChecksum(bytes.subarray(0, handle.size), type, readU32(bytes, handle.size + 1), path, handle.offset, name);
  return type;
}

/** Reads up to this many bytes into one reused buffer (a block read is synchronous, so nothing else uses it meanwhile). */
const scratchBytesMax = 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(64 * 1024);

/** What readIntoScratch() read: `length` bytes at the start of `bytes`. Reused between calls. */
interface ScratchRead {
  bytes: Buffer;
  length: number;
}
const scratchRead: ScratchRead = { bytes: scratch, length: 0 };

/**
 * Reads `length` bytes at `position` into the shared scratch buffer (or a fresh one past scratchBytesMax).
 * The result is valid until the next call; its length is shorter than `length` when the file ends first.
 */
function readIntoScratch(file: FileHandle, position: number, length: number): ScratchRead {
  if (length > scratchBytesMax) {
    const bytes = readExactly(file, position, length);
    scratchRead.bytes = bytes;
    scratchRead.length = bytes.length;
    return scratchRead;
  }
  if (scratch.length < length) scratch = Buffer.allocUnsafeSlow(Math.min(scratchBytesMax, Math.max(length, scratch.length * 2)));
  scratchRead.bytes = scratch;
  scratchRead.length = readInto(file, scratch, position, length);
  return scratchRead;
}

/** Reads `length` bytes at `position` into the start of `target`; returns how many, fewer when the file ends first. */
function readInto(file: FileHandle, target: Buffer, position: number, length: number): number {
  let done = 0;
  while (done < length) {
    const count = file.read(target, done, length - done, position + done);
    if (count === 0) break;
    done += count;
  }
  return done;
}

/**
 * Turns a block's stored bytes into raw block bytes according to its type.
 * @returns `stored` itself when uncompressed, else a new buffer
 * @throws CorruptionError for an unknown type or LZ4 data that does not decompress within the bound
 */
export function decodeStored(stored: Buffer, type: number, path: string, blockOffset: number, rawBytesMax: number, blockName = 'data block'): Buffer {
  if (type === CompressionType.none) return stored;
  if (type !== CompressionType.lz4) throw blockCorruption(path, blockOffset, `unknown compression type ${type}`, blockName);
  const bound = lz4RawBound(stored.length, rawBytesMax);
  const raw = lz4Decompress(stored, bound);
  if (raw === undefined) throw lz4Corruption(path, blockOffset, stored.length, bound, blockName);
  return raw;
}

/** The most raw bytes `storedBytes` of LZ4 may decode to (and the caller allows). */
function lz4RawBound(storedBytes: number, rawBytesMax: number): number {
  return Math.min(rawBytesMax, storedBytes * lz4ExpansionMax + 64);
}

function lz4Corruption(path: string, blockOffset: number, storedBytes: number, bound: number, blockName: string): CorruptionError {
  return blockCorruption(path, blockOffset, `LZ4 data of ${storedBytes} bytes does not decompress to at most ${bound} bytes`, blockName);
}

/** The type byte, for continuing a block's CRC past its stored bytes without a view. */
const typeByte = new Uint8Array(1);

function verifyChecksum(storedBytes: Buffer, type: number, stored: number, path: string, blockOffset: number, name: string): void {
  typeByte[0] = type;
  const computed = crc32Continue(crc32(storedBytes), typeByte);
  if (stored !== computed) {
    throw blockCorruption(path, blockOffset, `checksum mismatch (stored ${hex32(stored)}, computed ${hex32(computed)})`, name);
  }
}

/** u32 little-endian at `offset` (the caller has checked the bounds). */
function readU32(source: Buffer, offset: number): number {
  return (source[offset]! | (source[offset + 1]! << 8) | (source[offset + 2]! << 16) | (source[offset + 3]! << 24)) >>> 0;
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
