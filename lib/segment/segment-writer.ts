// Writes one segment (SSTable) file from internal keys in increasing order
// (docs/format.md, "Segment files"). Flush and compaction use it, usually in a
// worker thread; it never reads the file back.
//
// Layout written: data blocks (each LZ4-compressed unless that saves less than
// 12.5%), the Bloom filter block, the properties block, the index block (one
// entry per data block: a separator key >= the block's last key and < the
// next block's first key, pointing at the block's handle), then the footer.
// finish() syncs the file (fdatasync) and closes it; making its directory
// entry durable is the caller's job (the manifest edit that installs it).
//
// Invariants: keys strictly increase by compareInternalKeys (asserted on every
// add); a finished segment holds at least one entry; bytes are appended in
// order through a small write buffer, so the file is one sequential write.

import { assert } from '../assert.js';
import { InvalidArgumentError } from '../errors.js';
import { lz4Compress } from '../format/lz4.js';
import {
  isValidInternalKey,
  makeInternalKey,
  sequenceMax,
  sequenceOf,
  trailerBytes,
  typeOf,
  ValueType,
} from '../format/internal-key.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { blockBytesTarget, blockRestartInterval, bloomBitsPerKey, keyBytesMax, valueBytesMax } from '../limits.js';
import { BlockBuilder } from './block-builder.js';
import { compareInternalKeyAt } from './block-reader.js';
import { copyBytes } from '../format/compare-bytes.js';
import { encodeBlockHandle, encodeBlockTrailer } from './block-io.js';
import { BloomFilterBuilder } from './bloom-filter.js';
import {
  blockBytesOptionMax,
  type BlockHandle,
  bloomBitsPerKeyMax,
  compressionSavingsDivisor,
  CompressionType,
  footerBytes,
  indexRestartInterval,
  segmentFormatVersion,
} from './segment-format.js';
import { encodeFooter } from './segment-footer.js';
import { encodeProperties, type SegmentProperties, type StoredProperties } from './segment-properties.js';

export type { SegmentProperties } from './segment-properties.js';

/** Bytes buffered before one append to the file. */
const writeBufferBytes = 64 * 1024;

/** How to lay out a segment; every field has a default from lib/limits.ts. */
export interface SegmentWriterOptions {
  /** Uncompressed data block target, bytes (default blockBytesTarget, 4 KiB). */
  blockBytes?: number;
  /** Entries between restart points in data blocks (default 16). */
  restartInterval?: number;
  /** Bloom filter bits per distinct user key (default 10; 0 writes no filter). */
  bloomBitsPerKey?: number;
  /** Data and index block compression (default 'lz4'). */
  compression?: 'lz4' | 'none';
  /**
   * Keep a copy of the data blocks as written, uncompressed, up to this many
   * bytes from the first block on (default 0, none): takeKeptBlocks() hands
   * them over, for a block cache to take without reading the file back.
   */
  keepBlocksBytes?: number;
  /**
   * Where to keep them: a buffer the caller owns and reuses (shared memory a
   * flush worker writes and the engine's thread reads), whose pages are
   * already in memory. At most its length is kept. Default: a new buffer.
   */
  keepInto?: Uint8Array | undefined;
}

/**
 * Data blocks of a segment as its writer made them (the bytes a read returns
 * after decompression), the first ones of the file in order: block i here is
 * data block i of the segment.
 */
export interface KeptBlocks {
  /** The blocks back to back. */
  bytes: Uint8Array;
  /** Per block, 3 numbers: its offset in the file, where it starts in `bytes`, its length. */
  entries: Float64Array;
}

/** The first size of a kept-blocks buffer, at most: past it, it doubles up to keepBlocksBytes. */
const keptBufferBytesFirst = 64 * 1024 * 1024;

type WriterState = 'open' | 'finished' | 'abandoned';

/**
 * Writes a new segment file.
 *
 * Example:
 *   const writer = new SegmentWriter(fs, 'data/seg/000042.sst');
 *   writer.add(makeInternalKey(Buffer.from('k'), 7, ValueType.put), Buffer.from('v'));
 *   const properties = writer.finish();
 */
export class SegmentWriter {
  readonly #fs: FileSystem;
  readonly #path: string;
  readonly #file: FileHandle;
  readonly #blockBytes: number;
  readonly #compress: boolean;
  readonly #bloomBitsPerKey: number;
  readonly #dataBlock: BlockBuilder;
  readonly #indexBlock = new BlockBuilder(indexRestartInterval);
  readonly #filter: BloomFilterBuilder;
  #state: WriterState = 'open';
  #fileOpen = true;
  #writeBuffer = Buffer.allocUnsafe(writeBufferBytes);
  #writeBufferLength = 0;
  /** Bytes written so far, buffered ones included: the offset of the next block. */
  #offset = 0;
  #lastKey = Buffer.allocUnsafe(64);
  #lastKeyLength = 0;
  /** Handle of the last flushed data block, whose index entry waits for the next key. */
  #pendingHandle: BlockHandle | undefined;
  #entryCount = 0;
  #tombstoneCount = 0;
  #rawKeyBytes = 0;
  #rawValueBytes = 0;
  #dataBlockCount = 0;
  #smallestKey: Buffer | undefined;
  #smallestSequence = sequenceMax;
  #largestSequence = 0;
  #keepBlocksBytes: number;
  /** Kept data blocks (keepBlocksBytes): the bytes, and 3 numbers a block (see KeptBlocks). */
  #kept: Uint8Array | undefined;
  #keptBytes = 0;
  #keptEntries: number[] = [];
  /** A block did not fit: later ones are not kept either (the kept blocks are a prefix). */
  #keptFull = false;

  /**
   * Creates the file (it must not exist).
   * @throws InvalidArgumentError for options out of range; the file system's error when the file cannot be created
   */
  constructor(fs: FileSystem, path: string, options: SegmentWriterOptions = {}) {
    this.#blockBytes = checkedOption('blockBytes', options.blockBytes ?? blockBytesTarget, 64, blockBytesOptionMax);
    const restartInterval = checkedOption('restartInterval', options.restartInterval ?? blockRestartInterval, 1, 1024);
    this.#bloomBitsPerKey = checkedOption('bloomBitsPerKey', options.bloomBitsPerKey ?? bloomBitsPerKey, 0, bloomBitsPerKeyMax);
    const compression = options.compression ?? 'lz4';
    if (compression !== 'lz4' && compression !== 'none') throw new InvalidArgumentError(`Cannot write segment: unknown compression "${String(compression)}"`);
    this.#compress = compression === 'lz4';
    this.#keepBlocksBytes = checkedOption('keepBlocksBytes', options.keepBlocksBytes ?? 0, 0, Number.MAX_SAFE_INTEGER);
    if (options.keepInto !== undefined) {
      this.#kept = options.keepInto;
      this.#keepBlocksBytes = Math.min(this.#keepBlocksBytes, options.keepInto.length);
    }
    this.#dataBlock = new BlockBuilder(restartInterval);
    this.#filter = new BloomFilterBuilder(this.#bloomBitsPerKey);
    this.#fs = fs;
    this.#path = path;
    this.#file = fs.open(path, 'create');
  }

  /** The file being written. */
  get path(): string {
    return this.#path;
  }

  /** Entries added so far. */
  get entryCount(): number {
    return this.#entryCount;
  }

  /** About how large the file would be if finished now, bytes (compaction cuts files on it). */
  estimatedBytes(): number {
    return this.#offset + this.#dataBlock.estimatedBytes() + this.#filter.estimatedBytes() + this.#indexBlock.estimatedBytes() + footerBytes;
  }

  /**
   * Appends one entry. Both buffers are copied; the caller may reuse them.
   * @param internalKey user key ‖ trailer; must sort strictly after the previous key
   * @param value the value (empty for a tombstone), or a buffer holding it at [valueStart, valueEnd)
   */
  add(internalKey: Buffer, value: Uint8Array, valueStart = 0, valueEnd = value.length): void {
    assert(this.#state === 'open', 'add() on an open segment writer');
    assert(isValidInternalKey(internalKey), 'segment keys are valid internal keys');
    assert(internalKey.length <= keyBytesMax + trailerBytes, 'segment keys are within keyBytesMax');
    assert(valueStart >= 0 && valueStart <= valueEnd && valueEnd <= value.length, 'the value range is within its buffer');
    assert(valueEnd - valueStart <= valueBytesMax, 'segment values are within valueBytesMax');
    const first = this.#entryCount === 0;
    // One walk over the bytes this key shares with the last one serves the order check, the
    // filter's one-hash-per-user-key and the data block's prefix compression.
    const shared = first ? 0 : this.#sharedWithLast(internalKey);
    const userLength = internalKey.length - trailerBytes;
    const sameUserKey = !first && userLength === this.#lastKeyLength - trailerBytes && shared >= userLength;
    if (!first) assert(this.#sortsAfterLast(internalKey, shared, sameUserKey), 'segment keys strictly increase');
    if (this.#pendingHandle !== undefined) this.#addIndexEntry(shortSeparator(this.#lastKeyView(), internalKey));
    if (!sameUserKey) this.#filter.addKey(internalKey, userLength);
    // The data block's last key is this writer's last key, unless the block is new.
    this.#dataBlock.add(internalKey, value, valueStart, valueEnd, shared);
    this.#count(internalKey, valueEnd - valueStart, first);
    this.#rememberLastKey(internalKey, shared);
    if (this.#dataBlock.estimatedBytes() >= this.#blockBytes) this.#flushDataBlock();
  }

  /**
   * Writes the remaining blocks and the footer, syncs and closes the file.
   * On an error the file is left as is: call abandon().
   * @param options.createdMs creation time recorded in the properties (default now)
   * @returns the segment's properties; keys are copies owned by the caller
   */
  finish(options: { createdMs?: number } = {}): SegmentProperties {
    assert(this.#state === 'open', 'finish() on an open segment writer');
    assert(this.#entryCount > 0, 'a segment holds at least one entry (abandon() an empty one)');
    if (!this.#dataBlock.isEmpty()) this.#flushDataBlock();
    const dataBytes = this.#offset;
    this.#addIndexEntry(shortSuccessor(this.#lastKeyView()));
    const filter = this.#writeBlock(this.#filter.finish(), false);
    const stored = this.#storedProperties(dataBytes, options.createdMs ?? Date.now());
    const properties = this.#writeBlock(encodeProperties(stored), false);
    const index = this.#writeBlock(this.#indexBlock.finish(), true);
    this.#write(encodeFooter({ index, filter, properties, formatVersion: segmentFormatVersion }));
    this.#flushWriteBuffer();
    this.#file.syncBlocking();
    this.#closeFile();
    this.#state = 'finished';
    return { ...stored, formatVersion: segmentFormatVersion, fileBytes: this.#offset };
  }

  /** Closes and deletes the partial file. Idempotent; not after a successful finish(). */
  abandon(): void {
    assert(this.#state !== 'finished', 'abandon() before finish()');
    if (this.#state === 'abandoned') return;
    this.#state = 'abandoned';
    this.#closeFile();
    if (this.#fs.exists(this.#path)) this.#fs.unlink(this.#path);
  }

  #count(internalKey: Buffer, valueBytes: number, first: boolean): void {
    const sequence = sequenceOf(internalKey);
    if (first) this.#smallestKey = Buffer.from(internalKey);
    if (sequence < this.#smallestSequence) this.#smallestSequence = sequence;
    if (sequence > this.#largestSequence) this.#largestSequence = sequence;
    if (typeOf(internalKey) === ValueType.delete) this.#tombstoneCount++;
    this.#rawKeyBytes += internalKey.length;
    this.#rawValueBytes += valueBytes;
    this.#entryCount++;
  }

  #storedProperties(dataBytes: number, createdMs: number): StoredProperties {
    return {
      entryCount: this.#entryCount,
      tombstoneCount: this.#tombstoneCount,
      rawKeyBytes: this.#rawKeyBytes,
      rawValueBytes: this.#rawValueBytes,
      dataBlockCount: this.#dataBlockCount,
      dataBytes,
      smallestKey: this.#smallestKey!,
      largestKey: Buffer.from(this.#lastKeyView()),
      smallestSequence: this.#smallestSequence,
      largestSequence: this.#largestSequence,
      createdMs,
      bloomBitsPerKey: this.#bloomBitsPerKey,
    };
  }

  /**
   * The data blocks kept (keepBlocksBytes) once finish() has run, or
   * undefined when none were; the writer lets go of them.
   */
  takeKeptBlocks(): KeptBlocks | undefined {
    assert(this.#state === 'finished', 'takeKeptBlocks() after finish()');
    const kept = this.#kept;
    if (kept === undefined || this.#keptEntries.length === 0) return undefined;
    const entries = Float64Array.from(this.#keptEntries);
    this.#kept = undefined;
    this.#keptEntries = [];
    return { bytes: kept.subarray(0, this.#keptBytes), entries };
  }

  #flushDataBlock(): void {
    const contents = this.#dataBlock.finish();
    if (this.#keepBlocksBytes > 0 && !this.#keptFull) this.#keep(contents);
    this.#pendingHandle = this.#writeBlock(contents, true);
    this.#dataBlock.reset();
    this.#dataBlockCount++;
  }

  /** Copies the data block about to be written at #offset into the kept blocks, if it fits. */
  #keep(contents: Buffer): void {
    const needed = this.#keptBytes + contents.length;
    if (needed > this.#keepBlocksBytes) {
      this.#keptFull = true;
      return;
    }
    let kept = this.#kept;
    if (kept === undefined || needed > kept.length) {
      // Uninitialized and, up to keptBufferBytesFirst, the whole budget at once: only the pages
      // written are touched, and nothing is copied as it fills (growing from 1 MiB by doubling
      // copied and faulted in about twice what a flush kept).
      let size = kept?.length ?? Math.min(keptBufferBytesFirst, this.#keepBlocksBytes);
      while (size < needed) size = Math.min(size * 2, this.#keepBlocksBytes);
      const grown = Buffer.allocUnsafeSlow(size);
      if (kept !== undefined) grown.set(kept.subarray(0, this.#keptBytes));
      this.#kept = kept = grown;
    }
    kept.set(contents, this.#keptBytes);
    this.#keptEntries.push(this.#offset, this.#keptBytes, contents.length);
    this.#keptBytes = needed;
  }

  #addIndexEntry(separator: Buffer): void {
    assert(this.#pendingHandle !== undefined, 'an index entry names a written data block');
    this.#indexBlock.add(separator, encodeBlockHandle(this.#pendingHandle));
    this.#pendingHandle = undefined;
  }

  /** Writes `contents` (compressed if allowed and worthwhile) and its trailer; returns its handle. */
  #writeBlock(contents: Buffer, compressible: boolean): BlockHandle {
    let stored = contents;
    let type: CompressionType = CompressionType.none;
    if (compressible && this.#compress) {
      const compressed = lz4Compress(contents);
      if (compressed.length < contents.length - Math.floor(contents.length / compressionSavingsDivisor)) {
        stored = compressed;
        type = CompressionType.lz4;
      }
    }
    const handle = { offset: this.#offset, size: stored.length };
    this.#write(stored);
    this.#write(encodeBlockTrailer(stored, type));
    return handle;
  }

  #write(bytes: Uint8Array): void {
    if (this.#writeBufferLength + bytes.length > this.#writeBuffer.length) this.#flushWriteBuffer();
    if (bytes.length >= this.#writeBuffer.length) this.#file.append(bytes);
    else {
      this.#writeBuffer.set(bytes, this.#writeBufferLength);
      this.#writeBufferLength += bytes.length;
    }
    this.#offset += bytes.length;
  }

  #flushWriteBuffer(): void {
    if (this.#writeBufferLength === 0) return;
    this.#file.append(this.#writeBuffer.subarray(0, this.#writeBufferLength));
    this.#writeBufferLength = 0;
  }

  #closeFile(): void {
    if (!this.#fileOpen) return;
    this.#fileOpen = false;
    this.#file.close();
  }

  #lastKeyView(): Buffer {
    return this.#lastKey.subarray(0, this.#lastKeyLength);
  }

  /** How many leading bytes `internalKey` shares with the last key added. */
  #sharedWithLast(internalKey: Buffer): number {
    const last = this.#lastKey;
    const limit = Math.min(internalKey.length, this.#lastKeyLength);
    let shared = 0;
    while (shared < limit && last[shared] === internalKey[shared]) shared++;
    return shared;
  }

  /** Whether `internalKey` sorts after the last key, given the bytes they share (compareInternalKeys' order). */
  #sortsAfterLast(internalKey: Buffer, shared: number, sameUserKey: boolean): boolean {
    if (sameUserKey) return compareInternalKeyAt(this.#lastKey, 0, this.#lastKeyLength, internalKey) < 0;
    const userLength = internalKey.length - trailerBytes;
    const lastUserLength = this.#lastKeyLength - trailerBytes;
    // The user keys differ: at byte `shared` if both go on past it, else the shorter one is a prefix.
    if (shared < userLength && shared < lastUserLength) return internalKey[shared]! > this.#lastKey[shared]!;
    return userLength > lastUserLength;
  }

  /** Keeps a copy of `internalKey`, whose first `shared` bytes the last key already holds. */
  #rememberLastKey(internalKey: Buffer, shared: number): void {
    if (internalKey.length > this.#lastKey.length) {
      const grown = Buffer.allocUnsafe(Math.max(internalKey.length, 2 * this.#lastKey.length));
      copyBytes(this.#lastKey, 0, shared, grown, 0);
      this.#lastKey = grown;
    }
    copyBytes(internalKey, shared, internalKey.length, this.#lastKey, shared);
    this.#lastKeyLength = internalKey.length;
  }
}

/**
 * A short internal key k with `last` <= k < `next`, for an index entry between two
 * blocks (LevelDB's FindShortestSeparator): the user key of `last` cut after its
 * first differing byte, that byte incremented, at the highest sequence. Falls
 * back to a copy of `last` when no shorter key fits.
 */
export function shortSeparator(last: Buffer, next: Buffer): Buffer {
  const lastUserLength = last.length - trailerBytes;
  const limit = Math.min(lastUserLength, next.length - trailerBytes);
  let diff = 0;
  while (diff < limit && last[diff] === next[diff]) diff++;
  if (diff < limit && diff + 1 < lastUserLength) {
    const byte = last[diff]!;
    if (byte < 0xff && byte + 1 < next[diff]!) return shortenedKey(last, diff, byte + 1);
  }
  return Buffer.from(last);
}

/**
 * A short internal key k >= `last`, for the index entry of the final block
 * (LevelDB's FindShortSuccessor): the user key cut after its first byte below
 * 0xff, that byte incremented. Falls back to a copy of `last`.
 */
export function shortSuccessor(last: Buffer): Buffer {
  const lastUserLength = last.length - trailerBytes;
  for (let index = 0; index + 1 < lastUserLength; index++) {
    const byte = last[index]!;
    if (byte < 0xff) return shortenedKey(last, index, byte + 1);
  }
  return Buffer.from(last);
}

/** `key`'s user key bytes [0, index), then `byte`, at the highest sequence (sorts first for that user key). */
function shortenedKey(key: Buffer, index: number, byte: number): Buffer {
  const user = Buffer.allocUnsafe(index + 1);
  key.copy(user, 0, 0, index);
  user[index] = byte;
  return makeInternalKey(user, sequenceMax, ValueType.put);
}

function checkedOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(`Cannot write segment: option ${name} is ${value}, expected an integer in ${min}..${max}`);
  }
  return value;
}
