// Reads a segment file written by segment-writer.ts (docs/format.md, "Segment
// files"). open() reads and validates the footer, index, filter and properties
// blocks eagerly; data blocks are read on demand, one positioned read each,
// through the shared block cache.
//
// Point lookups (get) take a path of their own, because a lookup in a cached
// block is bound by memory stalls more than by instructions: the index block
// is decoded once at open (decoded-index.ts), so finding the data block is a
// binary search over compact arrays with no entry parsing or handle decoding;
// the cache entry of each data block is kept in a slot by block number
// (block-cache.ts, "Slots"); the data block is searched by
// BlockIterator.seekForGet. The caller may pass the key's Bloom hash, computed
// once for all the segments one lookup visits.
//
// Reads are synchronous: the engine reads inside a command on the event loop
// (DESIGN.md, "Data flow"). Every data block read verifies the block CRC
// (unless verifyChecksums is false) and decompresses with a size bound; damage
// is a CorruptionError naming the file and the block's offset, never wrong data.
//
// Ownership: values returned by get() and by iterators are views into a
// decoded block. Blocks are immutable once decoded, so the views stay valid and
// unchanged for as long as the caller holds them, even after the block leaves
// the cache or the reader closes; holding one keeps its whole block (a few KiB)
// in memory, so long-lived holders may copy.

import { CorruptionError } from '../errors.js';
import { assert } from '../assert.js';
import type { VarintResult } from '../format/varint.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import type { FileHandle, FileSystem } from '../fs/file-system.js';
import { readExactly } from '../fs/file-system.js';
import { type BlockCache, BlockSlots } from './block-cache.js';
import { decodeBlockHandle, readBlock, readBlockScratch, type ReadBlockOptions } from './block-io.js';
import { Block, BlockIterator, blockCorruption, lookupTrailerHigh, lookupTrailerLow } from './block-reader.js';
import { DecodedIndex, type DecodedIndexParts } from './decoded-index.js';
import { bloomHash, BloomFilter } from './bloom-filter.js';
import { type BlockHandle, blockRawBytesMax, footerBytes, lz4ExpansionMax } from './segment-format.js';
import { decodeFooter, type SegmentFooter } from './segment-footer.js';
import { decodeProperties, type SegmentProperties } from './segment-properties.js';
import type { KeptBlocks } from './segment-writer.js';

/** A reader's fixed costs besides its blocks and arrays (objects, the properties, the file handle), estimated. */
const readerOverheadBytes = 2048;

/** How to open a segment. */
export interface SegmentReaderOptions {
  /** The segment's file number: its key in the block cache. */
  fileNumber: number;
  /** Shared cache of decoded data blocks; without one every read goes to the file. */
  cache?: BlockCache;
  /** Verify each data block's CRC when it is read from the file (default true). */
  verifyChecksums?: boolean;
}

/** One version found by get(). */
export interface SegmentEntry {
  /** ValueType: 1 put, 0 delete (a tombstone; the caller decides what it hides). */
  type: number;
  /** The value (empty for a tombstone): a view into an immutable decoded block. */
  value: Buffer;
  sequence: number;
}

/**
 * A segment's footer and metadata blocks (checked and decompressed), and its
 * decoded index when one was exported: what opening reads before any data
 * block. SegmentReader.exportParts() gives them; fromParts() takes them.
 */
export interface SegmentParts {
  fileBytes: number;
  footer: SegmentFooter;
  /** Contents of the index, filter and properties blocks. */
  index: Buffer;
  filter: Buffer;
  properties: Buffer;
  decodedIndex: DecodedIndexParts | undefined;
  /**
   * Why the filter block could not be read, when it could not: the reader
   * then goes without it (every lookup reads the index), as LevelDB's table
   * does. The filter only saves reads; it decides no answer.
   */
  filterDamage?: string;
}

/**
 * Opens a segment whose footer and metadata blocks were read before (by this
 * reader, or by the thread that exported its parts).
 * @throws CorruptionError when the file is no longer the `fileBytes` it was then
 */
function openAtSize(fs: FileSystem, path: string, fileBytes: number, verb: 'open' | 'reopen'): FileHandle {
  const file = fs.open(path, 'read');
  const size = file.size();
  if (size !== fileBytes) {
    file.close();
    throw new CorruptionError(path, size, `Cannot ${verb} segment "${path}": it is ${size} bytes, it was ${fileBytes} when its footer was read`);
  }
  return file;
}

/** Reads and checks a segment's footer and metadata blocks (always checksum-verified: they are read once per open). */
function readParts(file: FileHandle, path: string): SegmentParts {
  const fileBytes = file.size();
  const footerOffset = fileBytes - footerBytes;
  if (footerOffset < 0) {
    throw new CorruptionError(path, 0, `Cannot open segment "${path}": file is ${fileBytes} bytes, shorter than the ${footerBytes}-byte footer`);
  }
  const footer = decodeFooter(readExactly(file, footerOffset, footerBytes), path, footerOffset);
  const readMetaBlock = (handle: BlockHandle, blockName: string): Buffer =>
    readBlock(file, path, handle, fileBytes - footerBytes, { verifyChecksum: true, rawBytesMax: handle.size * lz4ExpansionMax + 64, blockName });
  const index = readMetaBlock(footer.index, 'index block');
  let filter: Buffer;
  let filterDamage: string | undefined;
  try {
    filter = readMetaBlock(footer.filter, 'filter block');
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    filter = Buffer.alloc(0);
    filterDamage = error.message;
  }
  const properties = readMetaBlock(footer.properties, 'properties block');
  return { fileBytes, footer, index, filter, properties, decodedIndex: undefined, ...(filterDamage === undefined ? {} : { filterDamage }) };
}

/** An open segment file. Not safe to use after close(). */
export class SegmentReader {
  /** Facts recorded by the writer, plus formatVersion and fileBytes. */
  readonly properties: SegmentProperties;
  /** The file's size, bytes. */
  readonly fileBytes: number;
  readonly path: string;
  readonly fileNumber: number;
  /** Why the filter block is not used (SegmentParts.filterDamage), or undefined: it is. */
  readonly filterDamage: string | undefined;
  #file: FileHandle;
  /** The file system the file came from, to reopen it after releaseFile(). */
  readonly #fs: FileSystem;
  /** False between releaseFile() and reopenFile(). */
  #fileOpen = true;
  readonly #cache: BlockCache | undefined;
  readonly #verifyChecksums: boolean;
  readonly #footer: SegmentFooter;
  readonly #index: Block;
  readonly #filter: BloomFilter;
  /** The index decoded for point lookups (decoded-index.ts). */
  readonly #decodedIndex: DecodedIndex;
  /** Cache entries of this segment's data blocks by number, kept by the cache (block-cache.ts, "Slots"). */
  readonly #slots: BlockSlots;
  /** Scratch state for get(), reused so a lookup allocates little. */
  readonly #lookupData = new BlockIterator();
  readonly #lookupHandle: BlockHandle = { offset: 0, size: 0 };
  /** get()'s iterator over blocks read into scratch memory (#getUncached()). */
  #scratchData: BlockIterator | undefined;
  readonly #varint: VarintResult = { value: 0, offset: 0 };
  readonly #readOptions: ReadBlockOptions;
  /** Open iterators (see retire()). */
  #pins = 0;
  #retired = false;
  #closed = false;
  /** What the open reader holds in memory (see memoryBytes). */
  readonly #memoryBytes: number;
  /** The footer and metadata blocks as read (see exportParts()). */
  readonly #parts: SegmentParts;

  private constructor(fs: FileSystem, path: string, file: FileHandle, parts: SegmentParts, options: SegmentReaderOptions) {
    this.path = path;
    this.#fs = fs;
    this.#file = file;
    this.fileNumber = options.fileNumber;
    this.#cache = options.cache;
    this.#verifyChecksums = options.verifyChecksums ?? true;
    this.#readOptions = { verifyChecksum: this.#verifyChecksums, rawBytesMax: blockRawBytesMax };
    this.fileBytes = parts.fileBytes;
    this.#footer = parts.footer;
    this.#parts = parts;
    this.#index = Block.parse(parts.index, path, this.#footer.index.offset);
    let filterDamage = parts.filterDamage;
    let filter: BloomFilter;
    try {
      filter = BloomFilter.parse(parts.filter, path, this.#footer.filter.offset);
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      filter = BloomFilter.parse(Buffer.alloc(0), path, this.#footer.filter.offset);
      filterDamage = error.message;
    }
    this.#filter = filter;
    this.filterDamage = filterDamage;
    const stored = decodeProperties(parts.properties, path, this.#footer.properties.offset);
    this.properties = { ...stored, formatVersion: this.#footer.formatVersion, fileBytes: this.fileBytes };
    this.#checkLayout();
    this.#decodedIndex =
      parts.decodedIndex === undefined
        ? DecodedIndex.decode(this.#index)
        : DecodedIndex.fromParts(this.#index, parts.decodedIndex, (why) => new CorruptionError(path, this.#footer.index.offset, `Cannot open segment "${path}": ${why}`));
    this.#slots = new BlockSlots(this.#decodedIndex.count);
    // The slots: a pointer and a byte per data block.
    const slots = 9 * this.#decodedIndex.count;
    this.#memoryBytes = this.#index.data.length + this.#filter.byteLength + this.#decodedIndex.memoryBytes(this.#index) + slots + readerOverheadBytes;
  }

  /**
   * Opens and validates a segment file.
   * @throws CorruptionError naming the file and the offset of the damaged part;
   *   UnsupportedVersionError for an unknown format version; the file system's error when it cannot be opened
   */
  static open(fs: FileSystem, path: string, options: SegmentReaderOptions): SegmentReader {
    const file = fs.open(path, 'read');
    try {
      return new SegmentReader(fs, path, file, readParts(file, path), options);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Opens a segment with the parts another reader of the same file exported
   * (exportParts(), e.g. in the worker thread that wrote it): one open(2) and
   * no block read or index decoding. The parts are taken, not copied.
   * @throws CorruptionError when the file's size is not the one the parts were read from, or the parts are malformed;
   *   the file system's error when it cannot be opened
   */
  static fromParts(fs: FileSystem, path: string, parts: SegmentParts, options: SegmentReaderOptions): SegmentReader {
    const file = openAtSize(fs, path, parts.fileBytes, 'open');
    try {
      return new SegmentReader(fs, path, file, parts, options);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * What this reader read and decoded from its file, for fromParts() in
   * another thread. The buffers are shared with this reader: close it (or
   * let the structured clone copy them) before anything changes them.
   */
  exportParts(): SegmentParts {
    return { ...this.#parts, decodedIndex: this.#decodedIndex.exportParts(this.#index) };
  }

  /** The footer's block handles (for tools). */
  get footer(): SegmentFooter {
    return this.#footer;
  }

  /** False only when the segment certainly holds no version of `userKey` (Bloom filter). */
  mayContain(userKey: Buffer): boolean {
    return this.#filter.mayContain(userKey);
  }

  /**
   * The newest version of `userKey` with sequence <= `sequence`, tombstones included.
   * @returns undefined when the segment holds no such version; `value` is a view into an immutable
   *   block, or a copy when the block was read but not cached (BlockCache.admit())
   * @throws CorruptionError when the block holding it is damaged
   */
  get(userKey: Buffer, sequence: number, keyHash?: number): SegmentEntry | undefined {
    assert(!this.#closed, 'get() on an open segment reader');
    const filter = this.#filter;
    if (!filter.isEmpty && !filter.mayContainHash(keyHash ?? bloomHash(userKey))) return undefined;
    const high = lookupTrailerHigh(sequence);
    const low = lookupTrailerLow(sequence);
    // The first separator >= the lookup key: only its block can hold the first entry >= it.
    const entry = this.#decodedIndex.find(userKey, high, low);
    if (entry === this.#decodedIndex.count) return undefined;
    const block = this.#lookupBlock(entry);
    if (block === undefined) return this.#getUncached(userKey, high, low);
    const data = this.#lookupData;
    data.reset(block);
    if (!data.seekForGet(userKey, high, low)) return undefined;
    return { type: data.type(), value: data.value(), sequence: data.sequence() };
  }

  /**
   * get() in the block at #lookupHandle, which #lookupBlock() left uncached:
   * read into this thread's scratch memory and the value copied out, so
   * that nothing is allocated for the block (a block too large for the
   * scratch memory is read into a buffer of its own, and not cached either).
   */
  #getUncached(userKey: Buffer, high: number, low: number): SegmentEntry | undefined {
    assert(this.#fileOpen, 'a block read through a reader holding its file');
    const handle = this.#lookupHandle;
    const raw = readBlockScratch(this.#file, this.path, handle, this.properties.dataBytes, this.#readOptions);
    // Its own iterator: #lookupData's block must stay one that lasts (#lookupBlock() may return it again).
    const data = (this.#scratchData ??= new BlockIterator());
    if (raw === undefined) {
      data.reset(Block.parse(readBlock(this.#file, this.path, handle, this.properties.dataBytes, this.#readOptions), this.path, handle.offset));
      return data.seekForGet(userKey, high, low) ? { type: data.type(), value: data.value(), sequence: data.sequence() } : undefined;
    }
    data.reset(Block.parse(raw, this.path, handle.offset));
    if (!data.seekForGet(userKey, high, low)) return undefined;
    const view = data.value();
    const value = Buffer.allocUnsafe(view.length);
    value.set(view);
    return { type: data.type(), value, sequence: data.sequence() };
  }

  /** A new iterator over every entry in internal-key order; close it when done. */
  iterator(): InternalIterator {
    assert(!this.#closed, 'iterator() on an open segment reader');
    return new SegmentIterator(this);
  }

  /**
   * Bytes the reader holds while open, cached data blocks aside: the index
   * block and its decoded form, the Bloom filter, the block slots: 10 bits a
   * key and about 60 bytes a data block (3.27 MB for a 27 MB segment of a
   * million 16-byte keys). The table cache bounds their sum (table-cache.ts).
   */
  get memoryBytes(): number {
    return this.#memoryBytes;
  }

  /** Closes the file. Values already returned stay valid; iterators must not move afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#fileOpen) this.#file.close();
    this.#fileOpen = false;
  }

  /** Whether the reader holds its file open (false after releaseFile(), until reopenFile()). */
  get fileOpen(): boolean {
    return this.#fileOpen;
  }

  /** Whether an open iterator walks this reader. */
  get pinned(): boolean {
    return this.#pins > 0;
  }

  /**
   * Closes the file but keeps what the reader holds in memory (index,
   * filter, properties), so that reopenFile() costs one open(2): the table
   * cache's bound on descriptors. Only a reader no iterator walks; nothing
   * may read through it until reopenFile().
   */
  releaseFile(): void {
    assert(!this.#closed && this.#fileOpen && this.#pins === 0, 'releaseFile() of an open reader no iterator walks');
    this.#fileOpen = false;
    this.#file.close();
  }

  /**
   * Opens the file again after releaseFile().
   * @throws the file system's error when it cannot be opened; CorruptionError when its size changed
   */
  reopenFile(): void {
    assert(!this.#closed && !this.#fileOpen, 'reopenFile() after releaseFile()');
    this.#file = openAtSize(this.#fs, this.path, this.fileBytes, 'reopen');
    this.#fileOpen = true;
  }

  /**
   * Closes the file once no iterator uses it: now, or when the last open
   * iterator closes. The table cache retires the readers it evicts, which
   * iterators over a pinned version may still be walking.
   */
  retire(): void {
    this.#retired = true;
    if (this.#pins === 0) this.close();
  }

  /** @internal An iterator opened on this reader. */
  pin(): void {
    this.#pins++;
  }

  /** @internal An iterator on this reader closed. */
  unpin(): void {
    assert(this.#pins > 0, 'a segment reader is unpinned once per pin');
    this.#pins--;
    if (this.#pins === 0 && this.#retired) this.close();
  }

  /** @internal A new iterator over the index block. */
  indexIterator(): BlockIterator {
    return new BlockIterator(this.#index);
  }

  /**
   * @internal The data block that the index entry under `index` points at: `current` when it is
   * that block, else from the cache or the file. `handle` receives the decoded handle.
   * @throws CorruptionError when the handle or the block is damaged
   */
  dataBlockAt(index: BlockIterator, handle: BlockHandle, current?: Block): Block {
    assert(!this.#closed, 'block read on an open segment reader');
    if (!decodeBlockHandle(this.#index.data, index.valueStart, index.valueEnd, handle, this.#varint)) {
      throw blockCorruption(this.path, this.#footer.index.offset, 'index entry holds a malformed block handle', 'index block');
    }
    if (handle.offset + handle.size > this.properties.dataBytes) {
      throw blockCorruption(this.path, this.#footer.index.offset, `index entry points at offset ${handle.offset}, past the data blocks`, 'index block');
    }
    if (current !== undefined && current.blockOffset === handle.offset) return current;
    return this.#loadBlock(handle);
  }

  /**
   * Puts data blocks `from` to `to` (exclusive) of `kept` into the block
   * cache through this reader's slots: blocks as this segment's writer made
   * them (KeptBlocks, the first blocks of the file), so that reads of data
   * just flushed need not read it back. Each is copied to a buffer of its
   * own: the cache charges a block its length, and a view would keep the
   * whole kept buffer alive. Blocks already cached are passed over.
   * @returns false (and caches no more) when a block is not where the index says, or there is no cache
   */
  cacheKeptBlocks(kept: KeptBlocks, from: number, to: number): boolean {
    const cache = this.#cache;
    if (cache === undefined || this.#closed) return false;
    const entries = kept.entries;
    const last = Math.min(to, entries.length / 3, this.#decodedIndex.count);
    for (let index = from; index < last; index++) {
      const offset = entries[3 * index]!;
      if (this.#decodedIndex.blockOffset(index) !== offset) return false;
      if (this.#slots.blocks[index] !== undefined) continue;
      const start = entries[3 * index + 1]!;
      const data = Buffer.allocUnsafe(entries[3 * index + 2]!);
      data.set(kept.bytes.subarray(start, start + data.length));
      cache.set(this.fileNumber, offset, Block.parse(data, this.path, offset), this.#slots, index);
    }
    return true;
  }

  /**
   * The data block named by decoded index entry `index`, for get(): cached
   * (or the last one get() used), else read and cached when the cache admits
   * it; undefined when it does not (#lookupHandle then names the block).
   */
  #lookupBlock(index: number): Block | undefined {
    const slots = this.#slots;
    const inSlot = slots.blocks[index];
    if (inSlot !== undefined) {
      slots.referenced[index] = 1;
      this.#cache!.countHit();
      return inSlot;
    }
    const handle = this.#lookupHandle;
    handle.offset = this.#decodedIndex.blockOffset(index);
    handle.size = this.#decodedIndex.blockSize(index);
    if (Number.isNaN(handle.offset)) {
      throw blockCorruption(this.path, this.#footer.index.offset, 'index entry holds a malformed block handle', 'index block');
    }
    if (handle.offset + handle.size > this.properties.dataBytes) {
      throw blockCorruption(this.path, this.#footer.index.offset, `index entry points at offset ${handle.offset}, past the data blocks`, 'index block');
    }
    const current = this.#lookupData.block;
    if (current !== undefined && current.blockOffset === handle.offset) return current;
    const cache = this.#cache;
    if (cache === undefined) return undefined;
    const cached = cache.get(this.fileNumber, handle.offset, slots, index);
    if (cached !== undefined) return cached;
    return cache.admit(this.fileNumber, index) ? this.#readBlock(handle, index) : undefined;
  }

  /** The data block at `handle` (already checked against the data bytes), for an iterator: from the cache, else read and cached. */
  #loadBlock(handle: BlockHandle): Block {
    const cache = this.#cache;
    if (cache !== undefined) {
      const cached = cache.get(this.fileNumber, handle.offset);
      if (cached !== undefined) return cached;
    }
    return this.#readBlock(handle, -1);
  }

  /** Reads and parses the data block at `handle` and caches it (through slot `index` when >= 0). */
  #readBlock(handle: BlockHandle, index: number): Block {
    assert(this.#fileOpen, 'a block read through a reader holding its file');
    const block = Block.parse(readBlock(this.#file, this.path, handle, this.properties.dataBytes, this.#readOptions), this.path, handle.offset);
    this.#cache?.set(this.fileNumber, handle.offset, block, index < 0 ? undefined : this.#slots, index);
    return block;
  }


  /** The data blocks must end where the first metadata block starts. */
  #checkLayout(): void {
    const metaStart = Math.min(this.#footer.index.offset, this.#footer.filter.offset, this.#footer.properties.offset);
    if (this.properties.dataBytes !== metaStart) {
      throw new CorruptionError(
        this.path,
        this.#footer.properties.offset,
        `Cannot open segment "${this.path}": properties say data blocks end at ${this.properties.dataBytes}, metadata starts at ${metaStart}`,
      );
    }
  }
}

/**
 * Two-level iterator: an index block iterator chooses the data block, a block
 * iterator walks it. Moves across block boundaries in both directions.
 * Keys and values follow InternalIterator's ownership rule; values are views
 * into immutable blocks.
 */
class SegmentIterator implements InternalIterator {
  readonly #reader: SegmentReader;
  readonly #index: BlockIterator;
  readonly #data = new BlockIterator();
  readonly #handle: BlockHandle = { offset: 0, size: 0 };
  #closed = false;

  constructor(reader: SegmentReader) {
    this.#reader = reader;
    this.#index = reader.indexIterator();
    reader.pin();
  }

  valid(): boolean {
    return this.#data.valid();
  }

  seekToFirst(): void {
    this.#index.seekToFirst();
    if (this.#loadBlock()) this.#data.seekToFirst();
    this.#skipForward();
  }

  seekToLast(): void {
    this.#index.seekToLast();
    if (this.#loadBlock()) this.#data.seekToLast();
    this.#skipBackward();
  }

  seek(target: Buffer): void {
    this.#index.seek(target);
    if (this.#loadBlock()) this.#data.seek(target);
    this.#skipForward();
  }

  seekForPrev(target: Buffer): void {
    this.#index.seek(target);
    if (!this.#index.valid()) this.#index.seekToLast();
    if (this.#loadBlock()) this.#data.seekForPrev(target);
    this.#skipBackward();
  }

  next(): void {
    assert(this.valid(), 'next() on a positioned segment iterator');
    this.#data.next();
    this.#skipForward();
  }

  prev(): void {
    assert(this.valid(), 'prev() on a positioned segment iterator');
    this.#data.prev();
    this.#skipBackward();
  }

  key(): Buffer {
    return this.#data.key();
  }

  value(): Buffer {
    return this.#data.value();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#index.close();
    this.#data.close();
    this.#reader.unpin();
  }

  /** Points #data at the block under the index iterator; false (and #data unpositioned) when there is none. */
  #loadBlock(): boolean {
    assert(!this.#closed, 'an open segment iterator');
    if (!this.#index.valid()) {
      this.#data.close();
      return false;
    }
    this.#data.reset(this.#reader.dataBlockAt(this.#index, this.#handle, this.#data.block));
    return true;
  }

  #skipForward(): void {
    while (!this.#data.valid() && this.#index.valid()) {
      this.#index.next();
      if (this.#loadBlock()) this.#data.seekToFirst();
    }
  }

  #skipBackward(): void {
    while (!this.#data.valid() && this.#index.valid()) {
      this.#index.prev();
      if (this.#loadBlock()) this.#data.seekToLast();
    }
  }
}
