// The Engine interface: everything above the storage layer (lib/keyspace, the
// RESP and HTTP fronts, the tools) talks to storage through it, so that every
// Redis command runs on either implementation:
//
// - LsmEngine (lsm-engine.ts): silt's own log-structured engine, the default.
// - LevelEngine (level-engine.ts): classic-level (LevelDB), the anchor.
//
// Keys and values are binary Buffers, ordered bytewise. Point reads are
// synchronous; writes resolve when the batch is as durable as the sync policy
// asks. An engine declares what it lacks in `capabilities`.
//
// Example:
//   const engine = await openEngine('lsm', './data', { syncPolicy: 'always' });
//   await engine.write(new WriteBatch().put(Buffer.from('k'), Buffer.from('v')));
//   engine.get(Buffer.from('k')); // <Buffer 76>
//   await engine.close();

import type { FileSystem } from '../fs/file-system.js';
import type { WriteBatch } from './write-batch.js';
import type { TableCacheStats } from './table-cache.js';

export type { BatchOp } from './write-batch.js';
export { WriteBatch } from './write-batch.js';

/** When a write is acknowledged (DESIGN.md, "Data flow"). */
export type SyncPolicy = 'always' | 'everysec' | 'no';

export interface EngineCapabilities {
  /** checkpoint(dir) works. */
  checkpoint: boolean;
  /** WAL files can be archived for point-in-time restore. */
  walArchive: boolean;
  /** Compaction runs a CompactionFilter. */
  compactionFilter: boolean;
  /** Checksums of stored blocks are verified on read and reported as CorruptionError. */
  checksumVerification: boolean;
  /** Engine-level snapshots with a sequence number. */
  snapshots: boolean;
}

/** Names a module the compaction worker imports to build a filter (functions cannot cross threads). */
export interface CompactionFilterSpec {
  /** Absolute file URL or path of an ES module exporting `createCompactionFilter`. */
  module: string;
  /** JSON-serialisable options passed to `createCompactionFilter`. */
  options?: unknown;
}

/** What a compaction filter module exports. */
export type CreateCompactionFilter = (options: unknown, context: CompactionFilterContext) => CompactionFilter;

export interface CompactionFilterContext {
  /** Wall-clock time the compaction started, ms since the epoch. */
  nowMs: number;
  /**
   * Reads the newest value of a user key in the segments this compaction sees
   * (inputs and every other level; not the memtable). Undefined when absent or deleted.
   */
  get(userKey: Buffer): Buffer | undefined;
}

export interface CompactionFilter {
  /**
   * Asked for the newest visible value of each user key that no snapshot pins.
   * Returning true drops the key (as if deleted at the bottom level).
   * `userKey` and `value` are views valid only during the call: copy what you keep.
   */
  drop(userKey: Buffer, value: Buffer): boolean;
}

export interface WalArchiveOptions {
  /** Archived WAL files older than this are removed; 0 keeps by age forever. */
  ageMs: number;
  /** The archive is trimmed to this many bytes, oldest first; 0 means no size cap. */
  bytesMax: number;
}

/** Receives the engine's own log lines (pino-compatible subset). */
export interface EngineLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface EngineOptions {
  /** File system; a NodeFileSystem by default. */
  fs?: FileSystem;
  /** Open without LOCK, truncation or any write (for tools). */
  readOnly?: boolean;
  /** Create the directory when missing (default true; ignored when readOnly). */
  createIfMissing?: boolean;
  /**
   * Open a directory that holds the UNFINISHED marker (file-names.ts, unfinishedFileName): only for
   * the tool building it. Otherwise such a directory is refused with INVALID_ARGUMENT.
   */
  openUnfinished?: boolean;
  syncPolicy?: SyncPolicy;
  /** Memtable byte budget. */
  memtableBytes?: number;
  /** Block cache byte budget. */
  blockCacheBytes?: number;
  /** Most segment files kept open (LevelDB's max_open_files; past it files are closed, their readers kept; table-cache.ts). */
  maxOpenFiles?: number;
  /** Byte budget of what open segment readers hold: index, decoded index, Bloom filter (table-cache.ts). */
  tableCacheBytes?: number;
  compactionFilter?: CompactionFilterSpec;
  /** Keep WAL files after flush in archive/; off when undefined. */
  walArchive?: WalArchiveOptions;
  /** Run flush and compaction in worker threads (default) or inline (MemFileSystem always runs inline). */
  backgroundExecutor?: 'worker' | 'inline';
  /**
   * Added to the nice value of the flush and compaction worker threads, 0 to
   * 19 (limits.backgroundNiceDefault, 10): on busy cores the event loop gets
   * the larger share (Linux; elsewhere ignored).
   */
  backgroundNice?: number;
  /** Disable automatic compactions (tests drive compactRange themselves). */
  disableAutoCompaction?: boolean;
  /** Tuning for tests: L0 segment count that triggers compaction. */
  level0CompactionTrigger?: number;
  /** Tuning for tests: target L1 bytes. */
  level1BytesTarget?: number;
  /** Tuning for tests: target bytes per compaction output segment. */
  segmentBytesTarget?: number;
  /**
   * Tuning for tests: largest batch, and atomic group, as a WAL record
   * payload in bytes (limits.walRecordBytesMax, also the most it may be). A
   * larger one is refused with LimitExceededError before anything is logged.
   */
  batchBytesMax?: number;
  /** Tuning for tests: deleted entries a forward walk passes at its start before LsmEngine remembers the stretch (limits.deadRangeHiddenMin). */
  deadRangeHiddenMin?: number;
  /**
   * Live WAL bytes from which recovery reads and checks the records in a
   * worker thread (limits.walReplayThreadBytesMin); 0 always, Infinity never.
   * Only with a NodeFileSystem.
   */
  walReplayThreadBytesMin?: number;
  /**
   * Under sync policy `always`, zero bytes the WAL writer keeps written ahead
   * of its records, so that each fdatasync flushes data only
   * (limits.walPreallocateBytesDefault, 1 MiB; 0 turns it off; at most
   * limits.walPreallocateBytesMax, 64 MiB).
   */
  walPreallocateBytes?: number;
  /**
   * Bytes of the space reserve (reserve.ts): a file the engine writes into
   * the directory while the disk has room, and deletes when an open fails
   * because the disk is full, which the open then tries again. 0 keeps
   * none, and deletes one left by an earlier open; undefined (the default:
   * tools, libraries) leaves whatever is there alone and never deletes it.
   * At most limits.reserveBytesMax. LsmEngine only; the server's --reserve-mb.
   */
  reserveBytes?: number;
  /**
   * A flush puts the data blocks it wrote into the block cache, up to half
   * the cache, as RocksDB's `prepopulate_block_cache = kFlushOnly`: reads of
   * what was just written then hit the cache rather than reading the new
   * segment back and decompressing it (default true).
   */
  prepopulateBlockCache?: boolean;
  logger?: EngineLogger;
}

/** A consistent view at one sequence number, until released. */
export interface Snapshot {
  readonly sequence: number;
  release(): void;
}

export interface ReadOptions {
  snapshot?: Snapshot;
}

export interface IteratorOptions {
  gt?: Buffer;
  gte?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
  reverse?: boolean;
  /** Stop after this many entries; -1 or undefined for no limit. */
  limit?: number;
  /**
   * LsmEngine's iteratorSync().next(): end early once it has passed this
   * many entries it does not return (deleted keys' tombstones, older
   * versions; versions newer than the snapshot are not counted), so that a
   * walk over a range of recently deleted keys stays bounded;
   * `stoppedAfter` then names the last key passed, to go on after it (gt),
   * or before it going backwards (lt). Going backwards it ends only after a
   * deleted key. Other engines, iterators and visit() ignore it.
   */
  hiddenMax?: number;
  snapshot?: Snapshot;
}

/** A user-visible entry: [key, value], buffers owned by the caller. */
export type Entry = [key: Buffer, value: Buffer];

/**
 * Ordered iteration over a key range at a snapshot. Async because classic-level's
 * iterators are; LsmEngine resolves at once. Always close().
 */
export interface EngineIterator extends AsyncIterable<Entry> {
  next(): Promise<Entry | undefined>;
  /** Up to `size` entries; fewer only at the end. */
  nextv(size: number): Promise<Entry[]>;
  close(): Promise<void>;
}

/** Bounds and snapshot of a SeekCursor: it sees [gte, lt) (everything when omitted). */
export interface CursorOptions {
  gte?: Buffer;
  lt?: Buffer;
  snapshot?: Snapshot;
}

/**
 * A synchronous cursor over the live entries in its bounds at one snapshot,
 * re-seekable in either direction without being rebuilt (engine.cursorSync).
 * Keys returned are copies; values are shared, read-only views. Always close().
 */
export interface SeekCursor {
  /** The first entry with key >= target, or undefined. */
  seek(target: Buffer): Entry | undefined;
  /** The entry after the last one returned (by any call), or undefined. */
  next(): Entry | undefined;
  /** The last entry with key < before (the last of all when omitted), or undefined. */
  seekLast(before?: Buffer): Entry | undefined;
  /** Internal entries (tombstones, older versions) the last call stepped over without returning them. */
  readonly skipped: number;
  close(): void;
}

export interface WriteResult {
  /** Sequence number of the batch's last operation (0 for LevelEngine, which has none to report). */
  sequence: number;
}

export interface AtomicWrite {
  /** Applies the batch now (visible to reads); logged with the others at commit(). */
  write(batch: WriteBatch): void;
  /**
   * Logs every batch as one record and closes the group; resolves when durable
   * per the sync policy. On failure every batch of the group is taken back.
   */
  commit(): Promise<WriteResult>;
}

export interface CheckpointInfo {
  dir: string;
  sequence: number;
  timeMs: number;
  /** Files hard-linked (or copied across file systems). */
  linkedFiles: number;
  copiedFiles: number;
}

export interface RecoveryInfo {
  walFilesReplayed: number;
  walRecordsReplayed: number;
  /** Bytes cut off the newest WAL file's torn tail (0 when clean). */
  walBytesTruncated: number;
  /** File whose tail was truncated, if any. */
  walTruncatedFile: string | undefined;
  durationMs: number;
}

export interface LevelStats {
  level: number;
  segments: number;
  bytes: number;
}

export interface EngineStats {
  kind: 'lsm' | 'level';
  /** Newest sequence number written. */
  sequence: number;
  levels: LevelStats[];
  memtableBytes: number;
  immutableMemtables: number;
  walFiles: number;
  /** Bytes of the live WAL files on disk, zeros preallocated after the records included. */
  walBytes: number;
  /** Of walBytes, the zeros the live WAL writer keeps written ahead of its records (under `always`). */
  walPreallocatedBytes: number;
  archiveFiles: number;
  archiveBytes: number;
  /**
   * The wall-clock span, ms, of the newest run of the WAL archive that
   * replays without a break (a missing file, damage), through its newest
   * record: what a point-in-time restore can reach from a checkpoint taken
   * before `fromMs`. Undefined when no archived file read so far holds a record.
   */
  archiveRange: { fromMs: number; toMs: number } | undefined;
  /** Breaks in the archive (gaps, damaged files) among the files read; archiveRange starts after the last. */
  archiveBreaks: number;
  /** Archived files not read yet (an engine reads them in the background after open); archiveRange covers only the files after the newest of them. */
  archiveUnreadFiles: number;
  /** Bytes awaiting compaction (estimate). */
  pendingCompactionBytes: number;
  flushes: number;
  compactions: number;
  compactionsRunning: number;
  /** Bytes written to segments by flush and compaction. */
  bytesFlushed: number;
  bytesCompacted: number;
  /**
   * Entries flush and compaction left out: versions shadowed by a newer one
   * every reader sees, tombstones with nothing left below them, entries the
   * compaction filter dropped (expired keys, subkeys of deleted collections).
   * Undefined when the engine does not report them (LevelDB).
   */
  entriesDropped: { shadowed: number; tombstones: number; filtered: number } | undefined;
  blockCache: { bytes: number; capacityBytes: number; hits: number; misses: number };
  /**
   * Open segment readers (table-cache.ts): how many and their memory, the
   * bounds, reader lookups that found one open or opened one, and readers
   * closed to stay within the bounds. Undefined when the engine does not
   * report them (LevelDB).
   */
  tableCache: TableCacheStats | undefined;
  /** Writes delayed or stalled because flush or compaction fell behind. */
  writeStalls: number;
  /** Why writes are refused, when they are; undefined when writes work. */
  writeError: string | undefined;
  /**
   * The space reserve (reserve.ts): its bytes on disk now, and those deleted
   * to open this engine on a full disk (0: none). Undefined when the engine
   * keeps none (LevelDB).
   */
  reserve: { bytes: number; releasedAtOpenBytes: number } | undefined;
  /** Last background (flush/compaction) failure, if it has not since succeeded. */
  backgroundError: string | undefined;
  liveSnapshots: number;
}

export interface Engine {
  readonly kind: 'lsm' | 'level';
  readonly capabilities: EngineCapabilities;
  readonly dir: string;
  readonly readOnly: boolean;
  /** What opening did. */
  readonly recovery: RecoveryInfo;

  /** The newest value of `key` (at the snapshot, if given), or undefined. Synchronous. */
  get(key: Buffer, options?: ReadOptions): Buffer | undefined;

  /**
   * Applies the batch atomically. The effects are visible to reads at once;
   * the promise resolves when the batch is as durable as the sync policy asks.
   * The batch's buffers must not change before the promise settles (as with
   * fs.write): LsmEngine writes values of 1 MiB or more to its WAL from the
   * caller's buffer at the end of the event-loop turn, without a copy.
   * @throws WriteStoppedError after an I/O failure, until the cause is gone
   * @throws LimitExceededError for keys or values over their limits
   */
  write(batch: WriteBatch): Promise<WriteResult>;

  /**
   * write() for a caller that only waits for durability (the RESP
   * dispatcher): the same, but the promise resolves to undefined and may be
   * the one every other writeShared() of the same event-loop turn got, so a
   * turn's writes cost one promise reaction rather than one each. Optional:
   * callers fall back to write().
   */
  writeShared?(batch: WriteBatch): Promise<void>;

  /**
   * While some write is not yet as durable as the policy asks: a promise
   * that settles when every write made so far has settled, rejecting when
   * the newest one failed (and was taken back). Undefined when none is
   * pending. Writes are visible to reads at once; a caller that must not
   * reveal a write that may still be taken back (a RESP read reply) waits on
   * it. Optional: engines without it are treated as having none pending.
   */
  unsettledWrites?(): Promise<void> | undefined;

  /**
   * Opens an atomic write group (for EXEC): each batch written through it is
   * visible at once, as with write(), but all of them reach the WAL as one
   * record at commit(), so after a crash they are all there or none is.
   * Only one group may be open, and plain write() calls are refused while it
   * is (commands run one at a time, so the caller never needs both).
   */
  beginAtomic(): AtomicWrite;

  iterator(options?: IteratorOptions): EngineIterator;

  /**
   * A re-seekable synchronous cursor (LsmEngine; optional: callers fall back
   * to iterator() without it). Pins what it reads until closed.
   */
  cursorSync?(options?: CursorOptions): SeekCursor;

  snapshot(): Snapshot;

  /** Writes the memtable to a segment and waits for it. */
  flush(): Promise<void>;

  /** Compacts every segment overlapping [start, end] (whole key space when omitted) down to the last level. */
  compactRange(start?: Buffer, end?: Buffer): Promise<void>;

  /** Makes a consistent copy of the data directory at `dir` (must not exist). */
  checkpoint(dir: string): Promise<CheckpointInfo>;

  /** Makes every acknowledged write durable now (fdatasync), whatever the policy. */
  sync(): Promise<void>;

  /** Changes the sync policy live. */
  setSyncPolicy(policy: SyncPolicy): void;

  stats(): EngineStats;

  /** Waits for in-flight writes, syncs the WAL, stops background work and releases LOCK. */
  close(): Promise<void>;
}
