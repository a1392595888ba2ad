// Open segment readers by file number, shared by every read path, as
// LevelDB's TableCache, bounded as LevelDB bounds it with max_open_files and
// as Kvrocks bounds index and filter memory through its block cache:
//
// - at most `maxOpenFiles` readers hold their file open, so the engine's
//   file descriptors stay within what the process may open, whatever the
//   size of the data (a 32 MiB segment per descriptor). Past it, the file of
//   the least recently used reader no iterator walks is closed, and the
//   reader kept: its next use opens the file again, one open(2)
//   (SegmentReader.releaseFile()/reopenFile());
// - at most `bytesMax` bytes of what readers hold (index block, decoded
//   index, Bloom filter: about 3 MiB per million small keys), so memory
//   stays bounded by configured budgets as the data grows. Past it, the
//   least recently used reader is dropped whole (SegmentReader.retire()):
//   its file closes at once, or when the last iterator walking it closes,
//   so open iterators can hold more files for a while. Its cached data
//   blocks stay in the block cache for the file's next reader.
//
// Both pick by CLOCK (a hit sets a bit, the hand clears it once before it
// passes the entry by), as the block cache does: a hit costs two stores,
// not a reordering. The reader just opened or reopened is never the one
// evicted.
//
// The segments a flush or compaction writes are read back in its worker
// thread, and their readers adopted from the parts it exports (adopt()), so
// their first read does not open them on the event loop; so are those a
// writable engine finds at open, while they fit (LsmEngine #warmTables()).
//
// Reopening a dropped reader reads and checks the segment's footer, index,
// filter and properties blocks: milliseconds for a 32 MiB segment (a median
// of 10.7 ms on the 2-core machine, docs/engines.md), so a byte budget too
// small for the working set costs every read that misses it; the first
// such eviction logs a warning, and INFO's lsm section counts them.
//
// It counts no references for deletion: the engine keeps a file until no
// referenced version (current, pinned by an iterator, or the one a running
// compaction picked from) names it (LsmEngine #versionRefs and
// #deleteObsoleteFiles), and evicts its reader when it deletes it.

import { assert } from '../assert.js';
import type { FileSystem } from '../fs/file-system.js';
import { segmentPath } from '../format/file-names.js';
import { SegmentReader, type SegmentParts } from '../segment/segment-reader.js';
import type { BlockCache } from '../segment/block-cache.js';
import type { KeptBlocks } from '../segment/segment-writer.js';

/** The table cache's bounds. */
export interface TableCacheLimits {
  /** Most readers holding their file open (descriptors); at least 1. */
  maxOpenFiles: number;
  /** Most bytes of reader memory (SegmentReader.memoryBytes) kept; one reader is kept whatever its size. */
  bytesMax: number;
}

export interface TableCacheStats {
  /** Readers in the cache, with their file open or not. */
  readers: number;
  /** Of those, the ones holding their file open (descriptors). */
  openFiles: number;
  /** Their memory (SegmentReader.memoryBytes), summed. */
  bytes: number;
  maxOpenFiles: number;
  bytesMax: number;
  /** Lookups that found their reader, and those that opened one (reading index and filter). */
  hits: number;
  misses: number;
  /** Readers dropped to stay within bytesMax. */
  evictions: number;
  /** Files a kept reader opened again after the descriptor bound closed them. */
  fileReopens: number;
  /** Readers made from the parts the worker that wrote the segment exported (adopt()), not opened at a read. */
  adopted: number;
}

interface Entry {
  readonly reader: SegmentReader;
  readonly bytes: number;
  /** Set by a hit, cleared by the hand of the byte bound. */
  referenced: boolean;
  /** Set by a hit, cleared by the hand of the descriptor bound. */
  fileReferenced: boolean;
}

export class TableCache {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #cache: BlockCache;
  readonly #limits: TableCacheLimits;
  /** Called once, at the first eviction of a whole reader: the working set no longer fits the byte budget. */
  readonly #onFirstEviction: (() => void) | undefined;
  readonly #onFilterDamage: ((reader: SegmentReader) => void) | undefined;
  readonly #entries = new Map<number, Entry>();
  /** The same entries, in no order: both CLOCK hands walk it. */
  readonly #ring: Entry[] = [];
  #hand = 0;
  #fileHand = 0;
  #bytes = 0;
  #openFiles = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #fileReopens = 0;
  #adopted = 0;

  /**
   * @param onFirstEviction called once, when the byte bound first makes the cache drop a reader
   * @param onFilterDamage called for each reader opened without its damaged filter block (SegmentReader.filterDamage)
   */
  constructor(fs: FileSystem, dir: string, cache: BlockCache, limits: TableCacheLimits, onFirstEviction?: () => void, onFilterDamage?: (reader: SegmentReader) => void) {
    assert(Number.isSafeInteger(limits.maxOpenFiles) && limits.maxOpenFiles >= 1, 'the table cache keeps at least one file open');
    assert(limits.bytesMax >= 0, 'the table cache byte budget is not negative');
    this.#fs = fs;
    this.#dir = dir;
    this.#cache = cache;
    this.#limits = { ...limits };
    this.#onFirstEviction = onFirstEviction;
    this.#onFilterDamage = onFilterDamage;
  }

  /**
   * The reader of a live segment, holding its file open: opened on first
   * use, its file reopened if the descriptor bound closed it.
   * @throws CorruptionError when the file is damaged or missing; the file system's error when it cannot be opened
   */
  reader(fileNumber: number): SegmentReader {
    const entry = this.#entries.get(fileNumber);
    if (entry !== undefined) {
      entry.referenced = true;
      entry.fileReferenced = true;
      this.#hits++;
      if (!entry.reader.fileOpen) {
        entry.reader.reopenFile();
        this.#openFiles++;
        this.#fileReopens++;
      }
      // Also after iterators that held files past the bound have closed.
      if (this.#openFiles > this.#limits.maxOpenFiles) this.#closeFilesOverBound(entry);
      return entry.reader;
    }
    this.#misses++;
    const reader = SegmentReader.open(this.#fs, segmentPath(this.#dir, fileNumber), { fileNumber, cache: this.#cache });
    this.#insert(reader);
    return reader;
  }

  /** Adds a reader just opened, then keeps the bounds (never at its expense). */
  #insert(reader: SegmentReader): void {
    if (reader.filterDamage !== undefined) this.#onFilterDamage?.(reader);
    const opened: Entry = { reader, bytes: reader.memoryBytes, referenced: false, fileReferenced: false };
    this.#entries.set(reader.fileNumber, opened);
    this.#ring.push(opened);
    this.#bytes += opened.bytes;
    this.#openFiles++;
    const evictions = this.#evictions;
    this.#evictOverBytes(opened);
    if (evictions === 0 && this.#evictions > 0) this.#onFirstEviction?.();
    this.#closeFilesOverBound(opened);
  }

  /**
   * Takes a reader made from parts a worker exported (SegmentReader.fromParts()):
   * the segment a flush or compaction just wrote, open before its first read.
   * Does nothing when the segment's reader is already there.
   * @throws what fromParts() throws; the cache is then unchanged
   */
  adopt(fileNumber: number, parts: SegmentParts): void {
    if (this.#entries.has(fileNumber)) return;
    const reader = SegmentReader.fromParts(this.#fs, segmentPath(this.#dir, fileNumber), parts, { fileNumber, cache: this.#cache });
    this.#adopted++;
    this.#insert(reader);
  }

  /**
   * SegmentReader.cacheKeptBlocks() on the reader of `fileNumber`: opened
   * (as reader() opens it) when `open`, else only if it is here, so that a
   * reader that left, or a segment evicted for deletion, gets no more
   * blocks cached.
   * @returns false when the reader is not here or took no more
   * @throws as reader() when `open` and the segment cannot be opened
   */
  cacheKeptBlocks(fileNumber: number, kept: KeptBlocks, from: number, to: number, open: boolean): boolean {
    const reader = open ? this.reader(fileNumber) : this.#entries.get(fileNumber)?.reader;
    return reader !== undefined && reader.cacheKeptBlocks(kept, from, to);
  }

  /** Whether one more reader fits both bounds without closing or dropping any (warming at open stops short of them). */
  get hasRoom(): boolean {
    return this.#openFiles < this.#limits.maxOpenFiles && this.#bytes < this.#limits.bytesMax;
  }

  /** Closes a reader (now, or when its last iterator closes) and drops its cached blocks: the file is about to be deleted. */
  evict(fileNumber: number): void {
    const entry = this.#entries.get(fileNumber);
    if (entry !== undefined) this.#remove(entry, this.#ring.indexOf(entry));
    this.#cache.evictFile(fileNumber);
  }

  /** Closes every reader at once (the engine is closing or failed to open). */
  closeAll(): void {
    for (const [fileNumber, entry] of this.#entries) {
      entry.reader.close();
      this.#cache.evictFile(fileNumber);
    }
    this.#entries.clear();
    this.#ring.length = 0;
    this.#hand = 0;
    this.#fileHand = 0;
    this.#bytes = 0;
    this.#openFiles = 0;
  }

  stats(): TableCacheStats {
    const { maxOpenFiles, bytesMax } = this.#limits;
    return {
      readers: this.#entries.size,
      openFiles: this.#openFiles,
      bytes: this.#bytes,
      maxOpenFiles,
      bytesMax,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      fileReopens: this.#fileReopens,
      adopted: this.#adopted,
    };
  }

  /** Drops readers by CLOCK until their bytes fit, never `kept` (the reader just opened). */
  #evictOverBytes(kept: Entry): void {
    const ring = this.#ring;
    const bytesMax = this.#limits.bytesMax;
    while (this.#bytes > bytesMax && ring.length > 1) {
      if (this.#hand >= ring.length) this.#hand = 0;
      const entry = ring[this.#hand]!;
      if (entry === kept || entry.referenced) {
        entry.referenced = false;
        this.#hand++;
        continue;
      }
      this.#remove(entry, this.#hand);
      this.#cache.detachFile(entry.reader.fileNumber);
      this.#evictions++;
    }
  }

  /**
   * Closes files of readers by CLOCK until at most maxOpenFiles are open,
   * keeping the readers; never `kept`'s, nor one an iterator walks (when
   * iterators walk them all, the bound waits for them).
   */
  #closeFilesOverBound(kept: Entry): void {
    const ring = this.#ring;
    const maxOpenFiles = this.#limits.maxOpenFiles;
    // Two passes over the ring clear every bit once and then find any file there is to close.
    for (let steps = 2 * ring.length; this.#openFiles > maxOpenFiles && steps > 0; steps--) {
      if (this.#fileHand >= ring.length) this.#fileHand = 0;
      const entry = ring[this.#fileHand]!;
      this.#fileHand++;
      if (entry === kept || !entry.reader.fileOpen || entry.reader.pinned) continue;
      if (entry.fileReferenced) {
        entry.fileReferenced = false;
        continue;
      }
      entry.reader.releaseFile();
      this.#openFiles--;
    }
  }

  /** Takes `entry` (at `position` in the ring) out and retires its reader. */
  #remove(entry: Entry, position: number): void {
    const ring = this.#ring;
    assert(ring[position] === entry, 'a table cache entry is on the ring');
    // Swap-remove: the hand then looks at the entry moved into its place, which it has not passed.
    ring[position] = ring[ring.length - 1]!;
    ring.pop();
    this.#entries.delete(entry.reader.fileNumber);
    this.#bytes -= entry.bytes;
    if (entry.reader.fileOpen) this.#openFiles--;
    entry.reader.retire();
  }
}
