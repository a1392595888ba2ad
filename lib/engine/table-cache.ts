// Open segment readers by file number, shared by every read path, as
// LevelDB's TableCache, bounded as LevelDB bounds it with max_open_files and
// as Kvrocks bounds index and filter memory through its block cache:
//
// - at most `maxOpenFiles` readers, so the engine's file descriptors stay
//   within what the process may open, whatever the size of the data (a
//   32 MiB segment per descriptor);
// - at most `bytesMax` bytes of what open readers hold (index block, decoded
//   index, Bloom filter: about 3 MiB per million small keys),
//   so memory stays bounded by configured budgets as the data grows.
//
// Past either bound, readers are evicted by CLOCK (a hit sets a bit, the
// hand clears it once before it evicts), as the block cache does: a hit
// costs one store, not a reordering. The reader just opened is never the
// one evicted. An evicted reader is retired (SegmentReader.retire()): its
// file closes at once, or when the last iterator walking it closes, so the
// bound can be passed by the readers open iterators still hold. Its cached
// data blocks stay in the block cache (they are keyed by file number and
// offset, and the next reader of the file finds them there).
//
// Reopening an evicted segment reads and checks its footer, index, filter
// and properties blocks: milliseconds for a 32 MiB segment (about 10 ms on
// the 2-core machine, docs/bench.md), so budgets too small for the working
// set cost every read that misses. INFO's lsm section counts the misses.
//
// It counts no references for deletion: the engine keeps a file until no
// referenced version (current, pinned by an iterator, or the one a running
// compaction picked from) names it (LsmEngine #versionRefs and
// #deleteObsoleteFiles), and evicts its reader when it deletes it.

import { assert } from '../assert.js';
import type { FileSystem } from '../fs/file-system.js';
import { segmentPath } from '../format/file-names.js';
import { SegmentReader } from '../segment/segment-reader.js';
import type { BlockCache } from '../segment/block-cache.js';

/** The table cache's bounds. */
export interface TableCacheLimits {
  /** Most readers (file descriptors) kept open; at least 1. */
  maxOpenFiles: number;
  /** Most bytes of reader memory (SegmentReader.memoryBytes) kept; at least one reader is kept whatever its size. */
  bytesMax: number;
}

export interface TableCacheStats {
  /** Readers open in the cache. */
  openFiles: number;
  /** Their memory (SegmentReader.memoryBytes), summed. */
  bytes: number;
  maxOpenFiles: number;
  bytesMax: number;
  /** Lookups that found their reader open, and those that opened it. */
  hits: number;
  misses: number;
  /** Readers closed to stay within the bounds. */
  evictions: number;
}

interface Entry {
  readonly reader: SegmentReader;
  readonly bytes: number;
  /** Set by a hit, cleared by the hand. */
  referenced: boolean;
}

export class TableCache {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #cache: BlockCache;
  readonly #limits: TableCacheLimits;
  readonly #entries = new Map<number, Entry>();
  /** The same entries, in no order: the CLOCK hand walks it. */
  readonly #ring: Entry[] = [];
  #hand = 0;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;

  /** Called once, at the first eviction: the working set no longer fits the bounds. */
  readonly #onFirstEviction: (() => void) | undefined;

  /** @param onFirstEviction called once, when the bounds first make the cache close a reader */
  constructor(fs: FileSystem, dir: string, cache: BlockCache, limits: TableCacheLimits, onFirstEviction?: () => void) {
    assert(Number.isSafeInteger(limits.maxOpenFiles) && limits.maxOpenFiles >= 1, 'the table cache keeps at least one reader');
    assert(limits.bytesMax >= 0, 'the table cache byte budget is not negative');
    this.#fs = fs;
    this.#dir = dir;
    this.#cache = cache;
    this.#limits = { ...limits };
    this.#onFirstEviction = onFirstEviction;
  }

  /** The reader of a live segment, opened on first use. @throws CorruptionError when the file is damaged or missing */
  reader(fileNumber: number): SegmentReader {
    const entry = this.#entries.get(fileNumber);
    if (entry !== undefined) {
      entry.referenced = true;
      this.#hits++;
      return entry.reader;
    }
    this.#misses++;
    const reader = SegmentReader.open(this.#fs, segmentPath(this.#dir, fileNumber), { fileNumber, cache: this.#cache });
    const opened: Entry = { reader, bytes: reader.memoryBytes, referenced: false };
    this.#entries.set(fileNumber, opened);
    this.#ring.push(opened);
    this.#bytes += opened.bytes;
    const evictions = this.#evictions;
    this.#evictOverBounds(opened);
    if (evictions === 0 && this.#evictions > 0) this.#onFirstEviction?.();
    return reader;
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
    this.#bytes = 0;
  }

  stats(): TableCacheStats {
    const { maxOpenFiles, bytesMax } = this.#limits;
    return { openFiles: this.#entries.size, bytes: this.#bytes, maxOpenFiles, bytesMax, hits: this.#hits, misses: this.#misses, evictions: this.#evictions };
  }

  /** Evicts by CLOCK until both bounds hold, never `kept` (the reader just opened). */
  #evictOverBounds(kept: Entry): void {
    const ring = this.#ring;
    const { maxOpenFiles, bytesMax } = this.#limits;
    while ((ring.length > maxOpenFiles || this.#bytes > bytesMax) && ring.length > 1) {
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

  /** Takes `entry` (at `position` in the ring) out and retires its reader. */
  #remove(entry: Entry, position: number): void {
    const ring = this.#ring;
    assert(ring[position] === entry, 'a table cache entry is on the ring');
    // Swap-remove: the hand then looks at the entry moved into its place, which it has not passed.
    ring[position] = ring[ring.length - 1]!;
    ring.pop();
    this.#entries.delete(entry.reader.fileNumber);
    this.#bytes -= entry.bytes;
    entry.reader.retire();
  }
}
