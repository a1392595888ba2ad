// LsmEngine: silt's own log-structured engine (DESIGN.md, "Data flow").
//
// Write: a batch gets consecutive sequence numbers, one WAL record (group-
// committed by WalWriter) and memtable inserts; its effects are visible at
// once, and write() resolves when the record is as durable as the policy asks.
// The inserts themselves wait for the end of the turn, after WalWriter has
// written the turn's records and started their fdatasync (#deferInsert): under
// `always` the memtable work then overlaps the disk's instead of delaying it.
// Every read, and everything else that looks at a memtable, makes them first
// (#insertDeferred), so no caller can tell.
// If the WAL write fails the batch is taken back out of the memtable, it and
// every later write are refused (WriteStoppedError) while reads go on, and a
// timer retries on a fresh WAL file until the disk accepts writes again.
//
// Read: memtable -> immutable memtables (newest first) -> level-0 segments
// (newest first) -> one segment per deeper level; the first version found at
// or below the read's sequence decides.
//
// Flush: a full memtable turns immutable, a new WAL file starts, and a worker
// writes a level-0 segment. The manifest edit that adds it also advances the
// log number; only then do the WAL files it covers leave (deleted, or moved to
// archive/). Writes stall, without failing, while too many memtables wait;
// when the flush (or compaction) that would make room is itself failing, they
// are refused instead, until a retry succeeds.
//
// Compaction: leveled (compaction-picker.ts), one at a time, in a worker.
// Each Version in use is reference-counted; a segment is closed and deleted
// only when no live version names it.
//
// Invariants:
// - every write the caller saw resolve is in the WAL (synced under `always`)
//   or in a segment named by the manifest;
// - WAL files numbered >= logNumber hold everything not yet in segments;
// - version edits are appended one at a time, in the order they are applied.

import { hostname } from 'node:os';
import { assert } from '../assert.js';
import { ClosedError, CorruptionError, InvalidArgumentError, IoError, KvError, LimitExceededError, NotSupportedError, WriteStoppedError, messageOf } from '../errors.js';
import { ValueType } from '../format/internal-key.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import { joinPath, type FileSystem } from '../fs/file-system.js';
import { NodeFileSystem } from '../fs/node-file-system.js';
import * as limits from '../limits.js';
import { Memtable, memtableKeyOverheadBytes, memtableVersionOverheadBytes } from '../memtable/memtable.js';
import { keyLengthBytes } from '../memtable/value-arena.js';
import { archiveDir, archivedWalPath, checkpointFileName, checkpointsDir, parseFileName, reservePath, segmentDir, segmentPath, unfinishedFileName, walDir, walPath } from '../format/file-names.js';
import { describeUnfinished } from '../format/unfinished-marker.js';
import { ManifestWriter } from '../manifest/manifest-writer.js';
import { probeDataDirectory, readManifest } from '../manifest/manifest-reader.js';
import { Version } from '../manifest/version.js';
import type { SegmentMeta } from '../manifest/segment-meta.js';
import type { VersionEdit } from '../manifest/version-edit.js';
import { BlockCache } from '../segment/block-cache.js';
import { bloomHash } from '../segment/bloom-filter.js';
import { segmentHolding, userKeyInRange } from './segment-lookup.js';
import { WalWriter } from '../wal/wal-writer.js';
import { readWalFile, type WalReadOptions, type WalReadResult } from '../wal/wal-reader.js';
import { WalReplayThread } from '../wal/wal-replay-thread.js';
import { batchOpsBytes, batchPayloadBytesOf, forEachBatchOp } from '../wal/wal-format.js';
import { archivedFileNumbers, archiveSpan, archiveWalFile, pruneArchive, type ArchivedWalFile } from '../wal/wal-archive.js';
import { describeArchive } from '../wal/archive-read.js';
import { InlineExecutor, WorkerExecutor, type BackgroundExecutor } from '../compaction/executor.js';
import { pendingCompactionBytes, pickCompaction, pickLevel, userKeyRange, type CompactionPick, type CompactionPolicy } from '../compaction/compaction-picker.js';
import { acquireLock, readLock, type LockHandle } from './lock-file.js';
import { isOutOfSpace, releaseReserve, reserveBytesOn, writeReserve } from './reserve.js';
import { ConcatIterator } from './concat-iterator.js';
import { MergeIterator, mergeBoundsOf } from './merge-iterator.js';
import { TableCache, type TableCacheLimits } from './table-cache.js';
import type { SegmentParts } from '../segment/segment-reader.js';
import type { KeptBlocks } from '../segment/segment-writer.js';
import { SeekCursor } from './seek-cursor.js';
import { UserIterator, type LeadingHidden } from './user-iterator.js';
import { DeadRanges } from './dead-ranges.js';
import { niceMax } from '../thread-priority.js';
import type { WriteBatch } from './write-batch.js';
import type {
  AtomicWrite,
  BatchOp,
  CheckpointInfo,
  CursorOptions,
  Engine,
  EngineCapabilities,
  EngineIterator,
  EngineLogger,
  EngineOptions,
  EngineStats,
  Entry,
  IteratorOptions,
  ReadOptions,
  RecoveryInfo,
  Snapshot,
  SyncPolicy,
  WriteResult,
} from './engine.js';

/** A memtable and the WAL files that hold its entries. */
interface MemtableSlot {
  memtable: Memtable;
  walNumbers: number[];
  /** Resolves when the WAL files of an immutable memtable are closed (every append settled). */
  walClosed: Promise<void>;
}

const silentLogger: EngineLogger = { info() {}, warn() {}, error() {} };

/** Retry interval after a failed write, flush or compaction, ms. */
const retryIntervalMs = 1000;

/**
 * A checkpoint links the live WAL file under its name plus this suffix (it
 * holds the file's bytes even if the engine retires it meanwhile), copies
 * its bytes up to the checkpoint's instant into the real name, then removes
 * the link. Not a WAL file name: an interrupted checkpoint's leftover is
 * never read as one (and the directory, without CHECKPOINT, is no checkpoint).
 */
const liveWalSourceSuffix = '.source';
/** A background failure that repeats (same job, same error) is logged again at most this often, ms. */
const repeatedFailureLogIntervalMs = 60_000;

/** What WAL replay did (RecoveryInfo without the time). */
type WalReplayInfo = Omit<RecoveryInfo, 'durationMs'>;

/** writeShared() batches that share one WAL turn: what they wait on, and what to take back if it fails. */
interface SharedTurn {
  logged: Promise<void>;
  batches: { memtable: Memtable; first: number; ops: readonly BatchOp[] }[];
  acknowledged: Promise<void>;
  /** `logged` has settled: a batch logged under the same promise now (the WAL makes one a turn) needs a new turn. */
  settled: boolean;
}

/** Kinds of background failure whose repeats are counted rather than logged (#logBackgroundFailure). */
const failureKindsLoggedMax = 16;

export class LsmEngine implements Engine {
  readonly kind = 'lsm' as const;
  readonly capabilities: EngineCapabilities = {
    checkpoint: true,
    walArchive: true,
    compactionFilter: true,
    checksumVerification: true,
    snapshots: true,
  };
  readonly dir: string;
  readonly readOnly: boolean;
  recovery: RecoveryInfo = { walFilesReplayed: 0, walRecordsReplayed: 0, walBytesTruncated: 0, walTruncatedFile: undefined, durationMs: 0 };

  readonly #fs: FileSystem;
  readonly #options: EngineOptions;
  readonly #logger: EngineLogger;
  readonly #memtableBytes: number;
  /** Largest batch or atomic group, as a WAL record payload (options.batchBytesMax). */
  readonly #batchBytesMax: number;
  readonly #policy: CompactionPolicy;
  readonly #segmentBytesTarget: number;
  readonly #blockCache: BlockCache;
  /**
   * Where flushes keep their first data blocks for the block cache: shared
   * memory, reused flush after flush, so its pages are in memory once rather
   * than faulted in by every flush (about 90 ms of the flush worker's time
   * for 32 MiB on a VM). Lent to one flush at a time: from the job until its
   * blocks are copied into the cache (#cacheKeptBlocks) or the flush ends
   * without them; a flush that finds it lent keeps its blocks in a buffer of
   * its own.
   */
  #keptArena: Uint8Array | undefined;
  #keptArenaLent = false;
  readonly #tables: TableCache;
  #executor: BackgroundExecutor | undefined;
  #lock: LockHandle | undefined;
  #manifest: ManifestWriter | undefined;
  #syncPolicy: SyncPolicy;

  #version: Version = Version.empty();
  /** Versions in use and their reference counts; the current one holds a reference. */
  readonly #versionRefs = new Map<Version, number>();
  #nextFileNumber = 1;
  #lastSequence = 0;
  /**
   * The last sequence number whose batch the WAL holds: the newest
   * acknowledged one. #lastSequence runs ahead of it by the batches in
   * flight, and, after a failed write, by the ones refused: their numbers
   * are not used again, and the WAL file that resumes writing starts with a
   * marker at the number after this one (#retry).
   */
  #loggedSequence = 0;
  #logNumber = 0;
  /** File numbers being written by a flush or compaction: not obsolete though no version names them. */
  readonly #pendingOutputs = new Set<number>();
  /**
   * Segments named by an edit whose manifest write failed: the manifest file
   * may hold the edit (a crash would reopen on it), so they are not obsolete
   * until a new manifest, written from the version, is current.
   */
  readonly #failedEditOutputs = new Set<number>();
  /** The last manual compaction queued (compactRange), settled or not. */
  #manualCompactions: Promise<void> = Promise.resolve();

  #active!: MemtableSlot;
  /** Immutable memtables, newest first. */
  #immutables: MemtableSlot[] = [];
  #wal: WalWriter | undefined;
  /**
   * The close (final fdatasync) of the WAL files before #wal while it runs;
   * rejects when one of them failed (see #retireWal). A write logged in #wal
   * is acknowledged only after it too: an acknowledged record must not
   * outlive an older, unsynced record on a power loss, or recovery would see
   * a hole (the older file torn, a newer one intact) instead of a prefix of
   * the write order; nor outlive an older record that was refused.
   */
  #walPredecessor: Promise<void> | undefined;
  /** The writeShared() calls of the WAL's current turn: their promise and how to take each batch back. */
  #sharedTurn: SharedTurn | undefined;
  /**
   * The durability promise of the newest write, until it settles (see
   * unsettledWrites()). WAL promises settle in write order, and a failure
   * rejects every write made after the failed one that is not yet durable,
   * so when the newest settles, all have.
   */
  #newestLogged: Promise<void> | undefined;

  readonly #snapshots = new Map<number, number>();
  /** Stretches of keys known to hold only deleted ones, which forward walks seek past (dead-ranges.ts). */
  readonly #deadRanges = new DeadRanges();
  readonly #deadRangeHiddenMin: number;
  /** Every snapshot this engine handed out (#readSequence refuses others). */
  readonly #ownSnapshots = new WeakSet<Snapshot>();
  readonly #openIterators = new Set<{ close(): void }>();
  /** Obsolete-file deletions running in the thread pool. */
  readonly #removals = new Set<Promise<void>>();
  /**
   * Batches logged (sequence numbers taken, WAL record framed) whose memtable
   * inserts wait for #insertDeferred, in sequence order, all for #active (a
   * switch inserts them first): the first sequence and ops of each, and how
   * many. The arrays are reused (filled by index), not reallocated per turn.
   */
  readonly #deferredFirsts: number[] = [];
  readonly #deferredOps: (readonly BatchOp[])[] = [];
  #deferredCount = 0;
  /** About what the deferred inserts will add to #active's approximateBytes (see #deferInsert). */
  #deferredBytes = 0;
  #deferredImmediate: NodeJS.Immediate | undefined;
  /** The open atomic group, if any: its first sequence and the ops applied so far. */
  #atomic: { first: number; ops: BatchOp[]; memtable: Memtable } | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #writeError: Error | undefined;
  #backgroundError: Error | undefined;
  /**
   * Background failures logged, by kind (what failed, its code, its message without digits): a flush
   * and a compaction failing by turns (a full disk) are each logged whole once, then once a minute.
   */
  readonly #failureLogs = new Map<string, { loggedAtMs: number; repeats: number }>();
  /** When the current run of background failures began (undefined: none failing). */
  #failingSinceMs: number | undefined;
  /** Which background work failed and waits for the retry timer (a failed compaction does not hold up flushes). */
  #flushFailed = false;
  #compactionFailed = false;
  /** A flush (compaction) failed and none has succeeded since: set across retries, which may fail again. */
  #flushFailing = false;
  #compactionFailing = false;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Checkpoints in progress (they copy the live WAL file's bytes off the event loop); close() waits for them, settled. */
  readonly #checkpointsRunning = new Set<Promise<void>>();
  /**
   * Archived WAL files read so far, by file number (#readArchive): what
   * stats() and age pruning know of the archive. An archived file never
   * changes; entries of files gone from archive/ are dropped.
   */
  readonly #archived = new Map<number, ArchivedWalFile>();
  /** The archive read in the background, while one runs. */
  #archiveReading: Promise<void> | undefined;
  /** Prunes the archive by age between WAL retirements (an idle server retires none). */
  #archivePruneTimer: NodeJS.Timeout | undefined;
  #manifestQueue: Promise<void> = Promise.resolve();
  #flushRunning: Promise<void> | undefined;
  #compactionRunning: Promise<void> | undefined;
  #manualCompaction = false;
  readonly #compactPointers = new Map<number, Buffer>();
  /** Writers waiting for room (flush or compaction to catch up). */
  #roomWaiters: (() => void)[] = [];

  #stats = { flushes: 0, compactions: 0, bytesFlushed: 0, bytesCompacted: 0, writeStalls: 0 };
  /** The space reserve being written (#keepReserve), if one is. */
  #reserveWriting: Promise<void> | undefined;
  /** Bytes of the reserve deleted to open this engine on a full disk (0: none). */
  #reserveReleasedBytes = 0;
  /** Bytes of the reserve on disk, as #keepReserve last found or left it. */
  #reserveBytes = 0;
  /** Whether #keepReserve said once that the disk has no room for the reserve yet. */
  #reserveWaitLogged = false;
  readonly #entriesDropped = { shadowed: 0, tombstones: 0, filtered: 0 };

  private constructor(dir: string, options: EngineOptions) {
    this.dir = dir;
    this.readOnly = options.readOnly === true;
    this.#fs = options.fs ?? new NodeFileSystem();
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#memtableBytes = Math.max(options.memtableBytes ?? limits.memtableBytesDefault, limits.memtableBytesMin);
    this.#batchBytesMax = options.batchBytesMax ?? limits.walRecordBytesMax;
    this.#deadRangeHiddenMin = options.deadRangeHiddenMin ?? limits.deadRangeHiddenMin;
    this.#syncPolicy = options.syncPolicy ?? 'everysec';
    this.#policy = {
      level0CompactionTrigger: options.level0CompactionTrigger ?? limits.level0CompactionTrigger,
      level1BytesTarget: options.level1BytesTarget ?? limits.level1BytesTarget,
      levelSizeMultiplier: limits.levelSizeMultiplier,
    };
    this.#segmentBytesTarget = options.segmentBytesTarget ?? limits.segmentBytesTarget;
    this.#blockCache = new BlockCache(options.blockCacheBytes ?? limits.blockCacheBytesDefault);
    this.#tables = new TableCache(
      this.#fs,
      dir,
      this.#blockCache,
      tableCacheLimits(options),
      () =>
        this.#logger.warn(
          { dir, ...this.#tables.stats() },
          'table cache full: segment readers are being dropped and opened again (index and filter read again, milliseconds each); raise table-cache-mb if reads slow down (INFO lsm: lsm_table_cache_evictions)',
        ),
      (reader) =>
        this.#logger.warn(
          { dir, segment: reader.path, damage: reader.filterDamage },
          'segment read without its damaged Bloom filter (every lookup reads its index; the answers are the same); silt verify lists the damage, and a compaction of the segment writes a new filter',
        ),
    );
  }

  /**
   * Opens (or creates) the engine in `dir`: manifest replay, then WAL replay.
   * @throws LockedError when another process holds the directory
   * @throws CorruptionError naming file and offset when files are damaged
   */
  static async open(dir: string, options: EngineOptions = {}): Promise<LsmEngine> {
    tableCacheLimits(options); // bad bounds: an error before anything opens
    const batchBytesMax = options.batchBytesMax;
    if (batchBytesMax !== undefined && !(Number.isSafeInteger(batchBytesMax) && batchBytesMax >= 64 && batchBytesMax <= limits.walRecordBytesMax)) {
      throw new InvalidArgumentError(`Cannot open engine: batchBytesMax must be an integer from 64 to ${limits.walRecordBytesMax}, got ${String(batchBytesMax)}`);
    }
    const preallocate = options.walPreallocateBytes;
    if (preallocate !== undefined && !(Number.isSafeInteger(preallocate) && preallocate >= 0 && preallocate <= limits.walPreallocateBytesMax)) {
      throw new InvalidArgumentError(`Cannot open engine: walPreallocateBytes must be an integer from 0 to ${limits.walPreallocateBytesMax}, got ${String(preallocate)}`);
    }
    const nice = options.backgroundNice;
    if (nice !== undefined && !(Number.isSafeInteger(nice) && nice >= 0 && nice <= niceMax)) {
      throw new InvalidArgumentError(`Cannot open engine: backgroundNice must be an integer from 0 to ${niceMax}, got ${String(nice)}`);
    }
    const reserve = options.reserveBytes ?? 0;
    if (!(Number.isSafeInteger(reserve) && reserve >= 0 && reserve <= limits.reserveBytesMax)) {
      throw new InvalidArgumentError(`Cannot open engine: reserveBytes must be an integer from 0 to ${limits.reserveBytesMax}, got ${String(reserve)}`);
    }
    const engine = new LsmEngine(dir, options);
    try {
      await engine.#open();
    } catch (error) {
      await engine.#abortOpen();
      const released = engine.#releaseReserveFor(error);
      if (released === 0) throw error;
      // The open failed on a full disk; with the reserve's space it is tried once more (the reserve is gone now).
      const retried = await LsmEngine.open(dir, options);
      retried.#reserveReleasedBytes = released;
      return retried;
    }
    return engine;
  }

  /**
   * After an open failed: when the disk was full and this directory has a
   * reserve that no running process holds it for, deletes the reserve.
   * @returns the bytes freed (0: the open is not tried again)
   */
  #releaseReserveFor(error: unknown): number {
    if (this.readOnly || this.#options.reserveBytes === undefined || !isOutOfSpace(error) || !this.#fs.exists(reservePath(this.dir))) return 0;
    let bytes: number;
    try {
      // Another server that holds the directory keeps its reserve: this open would fail on its LOCK anyway.
      if (readLock(this.#fs, this.dir).state === 'held') return 0;
      bytes = releaseReserve(this.#fs, this.dir);
    } catch (releaseError) {
      this.#logger.error({ err: releaseError, dir: this.dir }, 'cannot delete the space reserve');
      return 0;
    }
    this.#logger.warn(
      { dir: this.dir, err: error, reserveBytes: bytes },
      'the disk is full: deleted the space reserve (RESERVE) to open; writes go on until the disk fills again, then stop until space is freed. The reserve is written again once the disk has room',
    );
    return bytes;
  }

  // ---------------------------------------------------------------- open

  async #open(): Promise<void> {
    const started = performance.now();
    const fs = this.#fs;
    if (!fs.exists(this.dir)) {
      if (this.readOnly || this.#options.createIfMissing === false) {
        throw new KvError('NOT_FOUND', `Cannot open data directory "${this.dir}": it does not exist`);
      }
      fs.mkdir(this.dir);
    }
    const unfinished = joinPath(this.dir, unfinishedFileName);
    if (this.#options.openUnfinished !== true && fs.exists(unfinished)) {
      throw new InvalidArgumentError(
        `Cannot open data directory "${this.dir}": it is the unfinished output of a silt tool (${describeUnfinished(fs, unfinished)}), which stopped before it was done (interrupted, or it failed); delete it and run the tool again`,
      );
    }
    if (!this.readOnly) {
      this.#lock = acquireLock(fs, this.dir);
      if (this.#lock.tookOverStaleLockFrom !== undefined) {
        this.#logger.warn({ dir: this.dir, staleLock: this.#lock.tookOverStaleLockFrom }, 'took over a stale LOCK');
      }
      fs.mkdir(walDir(this.dir));
      fs.mkdir(segmentDir(this.dir));
    }
    const probe = probeDataDirectory(fs, this.dir);
    if (probe.state === 'present' || probe.state === 'missing-current') {
      // readManifest names the damage when CURRENT is missing from a directory holding data. A torn
      // last edit is left in the file even by a writable open: the open replaces the manifest once the
      // WAL has replayed, and an open refused before then (a WAL file missing because the server had
      // acted on that edit) must leave the directory as it found it, for `silt recover`.
      const manifest = readManifest(fs, this.dir, { readOnly: true });
      this.#version = manifest.version;
      this.#logNumber = manifest.logNumber;
      this.#nextFileNumber = manifest.nextFileNumber;
      this.#lastSequence = manifest.lastSequence;
    } else if (this.readOnly) {
      throw new KvError('NOT_FOUND', `Cannot open data directory "${this.dir}" read-only: it holds no silt data`);
    } else {
      // A crash while creating the directory can leave a manifest that CURRENT never named.
      for (const name of probe.leftoverNames) fs.unlink(joinPath(this.dir, name));
    }
    this.#versionRefs.set(this.#version, 1);
    this.#bumpFileNumberPastExistingFiles();
    this.#checkSegmentsPresent();
    const replayed = await this.#replayWal();
    this.#active = { memtable: replayed.memtable, walNumbers: replayed.walNumbers, walClosed: Promise.resolve() };
    this.recovery = { ...replayed.info, durationMs: Math.round(performance.now() - started) };
    if (this.readOnly) return;

    this.#loggedSequence = this.#lastSequence;
    this.#executor = this.#options.backgroundExecutor === 'inline' || this.#fs.kind === 'mem' ? new InlineExecutor(this.#fs) : new WorkerExecutor({ nice: this.#options.backgroundNice ?? limits.backgroundNiceDefault });
    const manifestNumber = this.#nextFileNumber++;
    const walNumber = this.#nextFileNumber++;
    this.#wal = this.#createWal(walNumber);
    this.#active.walNumbers.push(walNumber);
    this.#manifest = ManifestWriter.create(fs, this.dir, manifestNumber, this.#snapshotEdit());
    this.#deleteObsoleteFiles();
    this.#logger.info({ dir: this.dir, ...this.recovery, sequence: this.#lastSequence }, 'engine opened');
    if (this.#active.memtable.approximateBytes >= this.#memtableBytes) this.#switchMemtable();
    this.#maybeScheduleCompaction();
    void this.#warmTables();
    this.#keepReserve();
    this.#readArchive(archivedFileNumbers(fs, this.dir));
    const ageMs = this.#options.walArchive?.ageMs ?? 0;
    if (ageMs > 0) {
      // A short age limit (tests) checks more often, but not in a busy loop: pruning lists and stats the archive.
      this.#archivePruneTimer = setInterval(() => this.#pruneArchive(), Math.max(250, Math.min(ageMs, limits.archivePruneIntervalMs)));
      this.#archivePruneTimer.unref();
    }
  }

  async #abortOpen(): Promise<void> {
    this.#closed = true;
    this.#wal?.close().catch(() => undefined); // best effort: the open failed and the error says why
    this.#manifest?.close();
    await this.#executor?.close();
    this.#tables.closeAll();
    this.#lock?.release();
  }

  /** A crash may leave files numbered past the manifest's counter (a new WAL, a half-written segment). */
  #bumpFileNumberPastExistingFiles(): void {
    for (const dir of [this.dir, walDir(this.dir), segmentDir(this.dir), archiveDir(this.dir)]) {
      if (!this.#fs.exists(dir)) continue;
      for (const name of this.#fs.list(dir)) {
        const parsed = parseFileName(name);
        if (parsed !== undefined && 'number' in parsed && parsed.number >= this.#nextFileNumber) this.#nextFileNumber = parsed.number + 1;
      }
    }
  }

  #checkSegmentsPresent(): void {
    for (const meta of this.#version.allFiles()) {
      const path = segmentPath(this.dir, meta.fileNumber);
      if (!this.#fs.exists(path)) {
        throw new CorruptionError(path, 0, `Cannot open segment "${path}": the manifest names it at level ${meta.level} but the file is missing`);
      }
      const size = this.#fs.stat(path).size;
      if (size !== meta.fileBytes) {
        throw new CorruptionError(path, size, `Cannot open segment "${path}": the manifest says ${meta.fileBytes} bytes but the file has ${size}`);
      }
    }
  }

  async #replayWal(): Promise<{ memtable: Memtable; walNumbers: number[]; info: WalReplayInfo }> {
    const fs = this.#fs;
    const memtable = new Memtable();
    const numbers: number[] = [];
    const dir = walDir(this.dir);
    if (fs.exists(dir)) {
      for (const name of fs.list(dir)) {
        const parsed = parseFileName(name);
        if (parsed?.kind === 'wal' && parsed.number >= this.#logNumber) numbers.push(parsed.number);
      }
    }
    numbers.sort((a, b) => a - b);
    if (this.#logNumber > 0 && !numbers.includes(this.#logNumber)) {
      // The manifest says WAL files from logNumber on hold writes not yet in segments; the first of them is gone.
      const path = walPath(this.dir, this.#logNumber);
      throw new CorruptionError(path, 0, `Cannot open WAL file "${path}": the manifest names it as the oldest holding unflushed writes, but it is missing; silt verify says why, and silt recover salvages what is left`);
    }
    const info: WalReplayInfo = { walFilesReplayed: 0, walRecordsReplayed: 0, walBytesTruncated: 0, walTruncatedFile: undefined };
    // Big WAL files are read and checked in a worker thread while this one applies (wal-replay-thread.ts).
    let walBytes = 0;
    for (const number of numbers) walBytes += fs.stat(walPath(this.dir, number)).size;
    let thread: WalReplayThread | undefined;
    if (fs instanceof NodeFileSystem && walBytes >= (this.#options.walReplayThreadBytesMin ?? limits.walReplayThreadBytesMin)) {
      try {
        thread = new WalReplayThread();
      } catch (error) {
        // An optimisation must not stop a recovery: read on this thread instead.
        this.#logger.warn({ err: error }, 'WAL replay thread could not start; replaying on the main thread');
      }
    }
    // Big WAL files let the event loop run between chunks (a server answers LOADING meanwhile).
    const read = (path: string, options: WalReadOptions): WalReadResult | Promise<WalReadResult> =>
      thread === undefined ? readWalFile(fs, path, options) : thread.readSliced(path, options, limits.walReplaySliceMs);
    // Bulk load: the memtable orders its keys once at the end instead of at every insert.
    memtable.beginBulkLoad();
    try {
      await this.#replayWalFiles(memtable, numbers, read, info);
    } finally {
      thread?.close();
    }
    memtable.endBulkLoad();
    return { memtable, walNumbers: numbers, info };
  }

  async #replayWalFiles(memtable: Memtable, numbers: number[], read: (path: string, options: WalReadOptions) => WalReadResult | Promise<WalReadResult>, info: WalReplayInfo): Promise<void> {
    const fs = this.#fs;
    for (let index = 0; index < numbers.length; index++) {
      const path = walPath(this.dir, numbers[index]!);
      const result = await read(path, {
        mode: this.readOnly ? 'readOnly' : 'recover',
        isNewest: index === numbers.length - 1,
        // Straight from each payload into the memtable: no Buffer or object per op.
        onPayload: (payload, batch) => {
          let sequence = batch.sequence;
          // NB: WalOpType's values are ValueType's.
          forEachBatchOp(payload, (type, keyStart, keyEnd, valueStart, valueEnd) => {
            memtable.addFrom(sequence++, type, payload, keyStart, keyEnd, payload, valueStart, valueEnd);
          });
          // A batch of no ops (a marker, #retry) takes its one number.
          const last = batch.count === 0 ? batch.sequence : sequence - 1;
          if (last > this.#lastSequence) this.#lastSequence = last;
        },
      });
      info.walFilesReplayed++;
      info.walRecordsReplayed += result.batches;
      if (result.truncatedBytes > 0) {
        info.walBytesTruncated += result.truncatedBytes;
        info.walTruncatedFile = path;
        this.#logger.warn({ file: path, offset: result.truncatedAtOffset, bytes: result.truncatedBytes }, 'WAL torn tail dropped');
      }
      if (result.header === undefined) {
        // A crash while the file was being created: not even its header survived. It holds no
        // writes; drop it so that it does not become a headless older file at the next open.
        if (!this.readOnly) fs.unlink(path);
        numbers.splice(index--, 1);
      } else if (!this.readOnly) {
        // What a killed process wrote may still sit in the page cache only. Its records are
        // served from now on and new writes are acknowledged after them: make them durable
        // first, or a power loss could drop them under acknowledged writes.
        syncFile(fs, path);
      }
    }
  }

  #createWal(fileNumber: number): WalWriter {
    return WalWriter.create(this.#fs, walPath(this.dir, fileNumber), fileNumber, {
      syncPolicy: this.#syncPolicy,
      syncIntervalMs: limits.walSyncIntervalMs,
      onSyncError: (error: Error) => this.#failWrites(error),
      onWriteError: (error: Error) => this.#failWrites(error),
      preallocateBytes: this.#options.walPreallocateBytes ?? limits.walPreallocateBytesDefault,
    });
  }

  #snapshotEdit(): VersionEdit {
    return this.#version.toSnapshotEdit(this.#smallestLiveWal(), this.#nextFileNumber, this.#lastSequence);
  }

  // ---------------------------------------------------------------- reads

  get(key: Buffer, options?: ReadOptions): Buffer | undefined {
    this.#checkOpen();
    if (this.#deferredCount !== 0) this.#insertDeferred();
    const sequence = this.#readSequence(options?.snapshot);
    let hit = this.#active.memtable.get(key, sequence);
    for (let index = 0; hit === undefined && index < this.#immutables.length; index++) {
      hit = this.#immutables[index]!.memtable.get(key, sequence);
    }
    if (hit !== undefined) return hit.type === ValueType.put ? hit.value : undefined;
    return this.#getFromSegments(this.#version, key, sequence);
  }

  #getFromSegments(version: Version, key: Buffer, sequence: number): Buffer | undefined {
    // Cheapest check first: key range (in place), then each segment's Bloom filter with one hash for all.
    let hash = -1;
    for (const file of version.levels[0]!) {
      if (!userKeyInRange(file, key)) continue;
      if (hash < 0) hash = bloomHash(key);
      const hit = this.#tables.reader(file.fileNumber).get(key, sequence, hash);
      if (hit !== undefined) return hit.type === ValueType.put ? hit.value : undefined;
    }
    for (let level = 1; level < version.levels.length; level++) {
      const file = segmentHolding(version.levels[level]!, key);
      if (file === undefined) continue;
      if (hash < 0) hash = bloomHash(key);
      const hit = this.#tables.reader(file.fileNumber).get(key, sequence, hash);
      if (hit !== undefined) return hit.type === ValueType.put ? hit.value : undefined;
    }
    return undefined;
  }

  /**
   * One internal iterator per source of `version` (memtables, level-0
   * segments, a concatenation per deeper level), for a merge; `version` is
   * already referenced by the caller, and unreferenced here if opening fails.
   */
  #sources(version: Version, lower: Buffer | undefined, upper: Buffer | undefined): InternalIterator[] {
    // Each memtable orders only the new keys within the bounds (Memtable.iterator), an immutable one
    // too: a ranged read just after a switch would otherwise wait for all its pending keys to fold.
    const range = { lower: lower?.toString('latin1'), upper: upper?.toString('latin1') };
    const children: InternalIterator[] = [this.#active.memtable.iterator(range)];
    try {
      for (const slot of this.#immutables) children.push(slot.memtable.iterator(range));
      for (const file of version.levels[0]!) children.push(this.#tables.reader(file.fileNumber).iterator());
      for (let level = 1; level < version.levels.length; level++) {
        const files = version.levels[level]!;
        if (files.length > 0) children.push(new ConcatIterator(files, (index) => this.#tables.reader(files[index]!.fileNumber).iterator()));
      }
    } catch (error) {
      for (const child of children) child.close();
      this.#unrefVersion(version);
      throw error;
    }
    return children;
  }

  /** Entries are the caller's: keys and values are copies (iteratorSync() shares instead). */
  iterator(options: IteratorOptions = {}): EngineIterator {
    return new LsmIterator(this.iteratorSync(options));
  }

  /** The synchronous iterator behind iterator(); LsmEngine-specific. Close it (it pins files). */
  iteratorSync(options: IteratorOptions = {}): SyncEntryIterator {
    this.#checkOpen();
    this.#insertDeferred();
    const sequence = this.#readSequence(options.snapshot);
    // A forward walk that starts in a stretch known to hold only deleted keys seeks past it, and one that
    // passes many deleted keys before its first entry remembers that stretch (dead-ranges.ts).
    let walked = options;
    let onLeading: LeadingHidden | undefined;
    if (options.reverse !== true) {
      const dead = this.#deadRanges;
      const skipped = dead.size === 0 ? undefined : dead.skip(walkStart(options), sequence);
      if (skipped !== undefined) {
        walked = { ...options, gte: skipped };
        delete walked.gt;
      }
      onLeading = (hidden, end) => {
        if (end === undefined || sequence !== this.#lastSequence || (hidden < this.#deadRangeHiddenMin && skipped === undefined)) return;
        dead.record(walkStart(options), end, sequence);
      };
    }
    const version = this.#version;
    this.#refVersion(version);
    const children = this.#sources(version, walked.gte ?? walked.gt, walked.lte ?? walked.lt);
    const user = new UserIterator(new MergeIterator(children, mergeBoundsOf(walked)), sequence, walked, onLeading);
    let closed = false;
    const iterator: SyncEntryIterator = {
      next: () => {
        if (closed) throw new ClosedError(this.#closed ? 'Cannot read iterator: the engine is closed' : 'Cannot read iterator: it is closed');
        return user.next();
      },
      visit: (visit) => {
        if (closed) throw new ClosedError(this.#closed ? 'Cannot read iterator: the engine is closed' : 'Cannot read iterator: it is closed');
        user.visit(visit);
      },
      get stoppedAfter() {
        return user.stoppedAfter;
      },
      close: () => {
        if (closed) return;
        closed = true;
        user.close();
        this.#openIterators.delete(iterator);
        this.#unrefVersion(version);
      },
    };
    this.#openIterators.add(iterator);
    return iterator;
  }

  /**
   * A re-seekable cursor (seek-cursor.ts) at one snapshot: the merge of
   * memtables and segments is built and pinned once, however often it seeks.
   * Close it (it pins files).
   */
  cursorSync(options: CursorOptions = {}): SeekCursor {
    this.#checkOpen();
    this.#insertDeferred();
    const sequence = this.#readSequence(options.snapshot);
    const version = this.#version;
    this.#refVersion(version);
    const children = this.#sources(version, options.gte, options.lt);
    const cursor: SeekCursor = new SeekCursor(new MergeIterator(children, { lower: options.gte, upper: options.lt, upperExclusive: true }), sequence, options, () => {
      this.#openIterators.delete(cursor);
      this.#unrefVersion(version);
    });
    this.#openIterators.add(cursor);
    return cursor;
  }

  snapshot(): Snapshot {
    this.#checkOpen();
    const sequence = this.#lastSequence;
    this.#snapshots.set(sequence, (this.#snapshots.get(sequence) ?? 0) + 1);
    const snapshot = new LsmSnapshot(sequence, () => {
      const count = this.#snapshots.get(sequence)! - 1;
      if (count === 0) this.#snapshots.delete(sequence);
      else this.#snapshots.set(sequence, count);
    });
    this.#ownSnapshots.add(snapshot);
    return snapshot;
  }

  #readSequence(snapshot: Snapshot | undefined): number {
    if (snapshot === undefined) return this.#lastSequence;
    // Only a registered snapshot keeps flush and compaction from dropping the versions it reads.
    if (!this.#ownSnapshots.has(snapshot)) throw new InvalidArgumentError(`Cannot read at snapshot: it does not belong to the engine of "${this.dir}"`);
    if ((snapshot as LsmSnapshot).released) throw new ClosedError('Cannot read at snapshot: it was released');
    return snapshot.sequence;
  }

  // ---------------------------------------------------------------- writes

  write(batch: WriteBatch): Promise<WriteResult> {
    const refused = this.#refuseWrite(batch);
    if (refused !== undefined) return refused;
    if (batch.ops.length === 0) return Promise.resolve({ sequence: this.#lastSequence });
    const first = this.#lastSequence + 1;
    const logged = this.#afterPredecessor(this.#wal!.appendBatch(first, Date.now(), batch.ops));
    const memtable = this.#active.memtable;
    this.#deferInsert(first, batch.ops);
    this.#noteLogged(logged);
    this.#switchWhenFull();
    return this.#acknowledge(logged, memtable, first, batch.ops);
  }

  writeShared(batch: WriteBatch): Promise<void> {
    const refused = this.#refuseWrite(batch);
    if (refused !== undefined) return refused;
    if (batch.ops.length === 0) return Promise.resolve();
    const first = this.#lastSequence + 1;
    const logged = this.#afterPredecessor(this.#wal!.appendBatch(first, Date.now(), batch.ops));
    const memtable = this.#active.memtable;
    this.#deferInsert(first, batch.ops);
    // The WAL hands every record of one turn the same promise: so do we, with every batch's way back on failure.
    let turn = this.#sharedTurn;
    if (turn === undefined || turn.logged !== logged || turn.settled) {
      const pending: SharedTurn = { logged, batches: [], acknowledged: undefined as unknown as Promise<void>, settled: false };
      pending.acknowledged = logged.then(
        () => {
          pending.settled = true;
          const batches = pending.batches.length;
          const newest = pending.batches[batches - 1];
          if (newest !== undefined) this.#noteAcknowledged(newest.first + newest.ops.length - 1);
          pending.batches = [];
          return this.#mustWaitForRoom() ? this.#waitForRoom(batches) : undefined;
        },
        (error: unknown) => {
          pending.settled = true;
          this.#insertDeferred();
          for (const { memtable: written, first: from, ops } of pending.batches) {
            let undo = from;
            for (const op of ops) written.remove(undo++, op.key);
          }
          // Versions their deletes hid are visible again.
          this.#deadRanges.clear();
          pending.batches = [];
          throw this.#writeFailure(error);
        },
      );
      this.#sharedTurn = turn = pending;
      this.#noteLogged(logged);
    }
    turn.batches.push({ memtable, first, ops: batch.ops });
    this.#switchWhenFull();
    return turn.acknowledged;
  }

  unsettledWrites(): Promise<void> | undefined {
    return this.#newestLogged;
  }

  /** `logged` is the newest write's durability promise (#newestLogged). */
  #noteLogged(logged: Promise<void>): void {
    // The WAL gives every record of a turn the same promise: watch it once.
    if (this.#newestLogged === logged) return;
    this.#newestLogged = logged;
    const settled = (): void => {
      if (this.#newestLogged === logged) this.#newestLogged = undefined;
    };
    logged.then(settled, settled);
  }

  /** Why a write cannot start (a rejected promise), or undefined. */
  #refuseWrite(batch: WriteBatch): Promise<never> | undefined {
    try {
      this.#checkWritable();
      assert(this.#atomic === undefined, 'no plain write while an atomic group is open');
    } catch (error) {
      return Promise.reject(error);
    }
    const invalid = batch.ops.length === 0 ? undefined : checkBatchLimits(batch, this.#batchBytesMax);
    return invalid === undefined ? undefined : Promise.reject(invalid);
  }

  beginAtomic(): AtomicWrite {
    this.#checkWritable();
    assert(this.#atomic === undefined, 'one atomic group at a time');
    // The group inserts as it goes: the batches before it go in first, in sequence order (Memtable.link()
    // would sort an older version in later, but with a walk down its key's list).
    this.#insertDeferred();
    const group = { first: this.#lastSequence + 1, ops: [] as BatchOp[], opsBytes: 0, memtable: this.#active.memtable };
    this.#atomic = group;
    let open = true;
    return {
      write: (batch: WriteBatch) => {
        assert(open, 'atomic group is still open');
        this.#checkWritable();
        const invalid = checkBatchLimits(batch, this.#batchBytesMax);
        if (invalid !== undefined) throw invalid;
        // The group is logged as one batch: it must be one the WAL takes and its replay reads back.
        const count = group.ops.length + batch.ops.length;
        if (count > limits.batchOpsMax) {
          throw new LimitExceededError(`Cannot add ${batch.ops.length} operations to this transaction: it would hold ${count}, and one transaction is one batch of at most ${limits.batchOpsMax} operations`);
        }
        const opsBytes = group.opsBytes + batchOpsBytes(batch.ops);
        const bytes = batchPayloadBytesOf(count, opsBytes);
        if (bytes > this.#batchBytesMax) {
          throw new LimitExceededError(`Cannot add ${batch.ops.length} operations to this transaction: it would take ${bytes} bytes, and one transaction is one WAL record of at most ${this.#batchBytesMax}`);
        }
        this.#apply(group.memtable, this.#lastSequence + 1, batch.ops);
        for (const op of batch.ops) group.ops.push(op);
        group.opsBytes = opsBytes;
      },
      commit: () => {
        assert(open, 'atomic group commits once');
        open = false;
        this.#atomic = undefined;
        if (group.ops.length === 0) return Promise.resolve({ sequence: this.#lastSequence });
        let logged: Promise<void>;
        try {
          this.#checkWritable();
          logged = this.#afterPredecessor(this.#wal!.appendBatch(group.first, Date.now(), group.ops));
        } catch (error) {
          logged = Promise.reject(error);
        }
        this.#noteLogged(logged);
        // The memtable did not switch while the group was open: all of it is in one memtable and, now, one WAL file.
        if (group.memtable.approximateBytes >= this.#memtableBytes) this.#switchMemtable();
        return this.#acknowledge(logged, group.memtable, group.first, group.ops);
      },
    };
  }

  /**
   * `logged`, held back until the previous WAL files' closes have synced them
   * (#walPredecessor, set by #retireWal): every record of #wal made before
   * those closes end waits for them, which #retireWal relies on when one fails.
   */
  #afterPredecessor(logged: Promise<void>): Promise<void> {
    const predecessor = this.#walPredecessor;
    if (predecessor === undefined) return logged;
    return Promise.all([logged, predecessor]).then(() => undefined);
  }

  /** Inserts ops at consecutive sequences from `first` and publishes them. */
  #apply(memtable: Memtable, first: number, ops: readonly BatchOp[]): void {
    this.#insert(memtable, first, ops);
    this.#lastSequence = first + ops.length - 1;
  }

  #insert(memtable: Memtable, first: number, ops: readonly BatchOp[]): void {
    let sequence = first;
    for (const op of ops) {
      if (op.type === 'put') memtable.add(sequence, ValueType.put, op.key, op.value);
      else memtable.add(sequence, ValueType.delete, op.key, emptyBuffer);
      sequence++;
    }
    const dead = this.#deadRanges;
    if (dead.size > 0) for (const op of ops) dead.written(op.key);
  }

  /**
   * Publishes ops at consecutive sequences from `first` and leaves their
   * memtable inserts to #insertDeferred: at the end of this turn (an
   * immediate queued after WalWriter's, which the batch's appendBatch has
   * just queued if it was the turn's first), or at the next read, whichever
   * comes first. Under `always` that is after the turn's fdatasync started,
   * and the inserts run while the disk works (fillrandom-durable, 32
   * writers: 90-97 -> 55-58 us of JavaScript between two fdatasyncs, 3-5 %
   * more writes a second; docs/bench.md).
   */
  #deferInsert(first: number, ops: readonly BatchOp[]): void {
    const index = this.#deferredCount++;
    this.#deferredFirsts[index] = first;
    this.#deferredOps[index] = ops;
    let bytes = 0;
    for (const op of ops) bytes += deferredBytesPerOp + 3 * op.key.length + (op.type === 'put' ? op.value.length : 0);
    this.#deferredBytes += bytes;
    this.#lastSequence = first + ops.length - 1;
    // One immediate a turn, left queued when a read makes the inserts first (a SET reads before it writes:
    // clearing and queueing it again at every command cost the RESP server about 6 % of its SETs a second).
    this.#deferredImmediate ??= setImmediate(this.#endOfTurn);
  }

  readonly #endOfTurn = (): void => {
    this.#deferredImmediate = undefined;
    this.#insertDeferred();
  };

  /** Makes the deferred memtable inserts (#deferInsert), in sequence order. */
  #insertDeferred(): void {
    const count = this.#deferredCount;
    if (count === 0) return;
    this.#deferredCount = 0;
    this.#deferredBytes = 0;
    const memtable = this.#active.memtable;
    const firsts = this.#deferredFirsts;
    const opsOf = this.#deferredOps;
    for (let index = 0; index < count; index++) {
      this.#insert(memtable, firsts[index]!, opsOf[index]!);
      opsOf[index] = noOps; // not kept alive until the slot is reused
    }
  }

  /** Switches memtables when the active one, deferred inserts included, has reached its budget. */
  #switchWhenFull(): void {
    if (this.#active.memtable.approximateBytes + this.#deferredBytes < this.#memtableBytes) return;
    this.#insertDeferred();
    if (this.#active.memtable.approximateBytes >= this.#memtableBytes) this.#switchMemtable();
  }

  /** Resolves once `logged` is durable (and there is room); on failure takes the ops back out of the memtable. */
  #acknowledge(logged: Promise<void>, memtable: Memtable, first: number, ops: readonly BatchOp[]): Promise<WriteResult> {
    const last = first + ops.length - 1;
    return logged.then(
      () => {
        this.#noteAcknowledged(last);
        return this.#mustWaitForRoom() ? this.#waitForRoom().then(() => ({ sequence: last })) : { sequence: last };
      },
      (error: unknown) => {
        // Take the batch back: it was never acknowledged and is not in the WAL.
        this.#insertDeferred();
        let undo = first;
        for (const op of ops) memtable.remove(undo++, op.key);
        this.#deadRanges.clear();
        throw this.#writeFailure(error);
      },
    );
  }

  #noteAcknowledged(last: number): void {
    if (last > this.#loggedSequence) this.#loggedSequence = last;
  }

  /** A batch that did not reach the WAL: stops writes, and says so as the error its writer gets. */
  #writeFailure(error: unknown): Error {
    this.#failWrites(error as Error);
    if (error instanceof WriteStoppedError || error instanceof ClosedError) return error;
    return new WriteStoppedError(`Cannot write batch: ${(error as Error).message}`, { cause: error });
  }

  async sync(): Promise<void> {
    this.#checkOpen();
    await this.#wal?.sync();
  }

  setSyncPolicy(policy: SyncPolicy): void {
    if (policy !== 'always' && policy !== 'everysec' && policy !== 'no') {
      throw new InvalidArgumentError(`Cannot set sync policy "${String(policy)}": expected always, everysec or no`);
    }
    this.#syncPolicy = policy;
    this.#wal?.setSyncPolicy(policy);
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('Cannot use engine: it is closed');
  }

  #checkWritable(): void {
    this.#checkOpen();
    // close() waits for the closes of older WAL files before it closes #wal: no write may land in #wal meanwhile.
    if (this.#closing !== undefined) throw new ClosedError('Cannot write: the engine is closing');
    if (this.readOnly) throw new NotSupportedError(`Cannot write: "${this.dir}" is open read-only`);
    if (this.#writeError !== undefined) {
      throw new WriteStoppedError(`Cannot write: writes are stopped after an I/O error (${this.#writeError.message})`, { cause: this.#writeError });
    }
    const blocked = this.#roomBlockedBy();
    if (blocked !== undefined) throw new WriteStoppedError(`Cannot write: ${blocked.reason}`, { cause: blocked.error });
  }

  /**
   * Why no room can be made, when the memtables or level 0 are full and the
   * flush or compaction that would free them is failing (a full disk, an I/O
   * error): writes are then refused, as RocksDB's background error stops them,
   * instead of each being held back for writeStallMsMax while memory grows.
   * The retry that succeeds makes room and so lifts this by itself.
   */
  #roomBlockedBy(): { reason: string; error: Error } | undefined {
    const error = this.#backgroundError;
    if (error === undefined) return undefined;
    if (this.#flushFailing && this.#immutables.length >= limits.immutableMemtablesMax) {
      return { reason: `the memtables are full and flushing them fails (${error.message})`, error };
    }
    if (this.#compactionFailing && this.#version.levels[0]!.length >= limits.level0StopTrigger) {
      return { reason: `level 0 is full and compacting it fails (${error.message})`, error };
    }
    return undefined;
  }

  /** Stops writes after a WAL failure and retries on a fresh WAL file until one works. */
  #failWrites(error: Error): void {
    if (this.#closed) return;
    if (this.#writeError === undefined) this.#logger.error({ err: error, dir: this.dir }, 'writes stopped after an I/O error');
    this.#writeError = error;
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer !== undefined || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#retry();
    }, retryIntervalMs);
    this.#retryTimer.unref();
  }

  #retry(): void {
    if (this.#closed || this.#closing !== undefined) return;
    // Refused batches left a jump in sequence numbers. Writing resumes after every batch in flight has
    // settled, so that #loggedSequence is the last number the WAL holds, which the marker below needs.
    const jumped = this.#lastSequence > this.#loggedSequence;
    if (this.#writeError !== undefined && jumped && this.#newestLogged !== undefined) {
      this.#scheduleRetry();
    } else if (this.#writeError !== undefined) {
      try {
        // The old file must first lose any rejected record it still holds, or it would replay it,
        // and get whatever it still has to write before its successor exists (see #switchMemtable).
        this.#wal!.writePending();
        this.#wal!.repairTail();
        const number = this.#nextFileNumber++;
        const wal = this.#createWal(number);
        const old = this.#wal!;
        this.#wal = wal;
        this.#active.walNumbers.push(number);
        void this.#retireWal(old, wal);
        if (jumped) this.#writeResumeMarker(wal);
        this.#logger.info({ dir: this.dir, wal: number }, 'writes resumed');
        this.#writeError = undefined;
      } catch (error) {
        this.#writeError = error as Error;
        this.#scheduleRetry();
      }
    }
    if (this.#manifest?.failure !== undefined) {
      // A manifest whose append failed cannot be trusted to continue: start a new one from the version.
      try {
        const old = this.#manifest;
        this.#manifest = ManifestWriter.create(this.#fs, this.dir, this.#nextFileNumber++, this.#snapshotEdit());
        old.close();
        this.#newManifestCurrent();
      } catch (error) {
        this.#backgroundError = error as Error;
        this.#flushFailed = this.#flushFailing = true;
        this.#compactionFailed = this.#compactionFailing = true;
        this.#scheduleRetry();
        return;
      }
    }
    if (this.#backgroundError !== undefined) {
      // backgroundError (and the refusal of writes it may cause) stays until a retried job succeeds.
      this.#flushFailed = false;
      this.#compactionFailed = false;
      this.#maybeScheduleFlush();
      this.#maybeScheduleCompaction();
      // A job with nothing left to do (no memtable to flush, no compaction picked) has no failure left either.
      if (this.#flushRunning === undefined) this.#flushFailing = false;
      if (this.#compactionRunning === undefined) this.#compactionFailing = false;
      this.#clearBackgroundErrorIfHealed();
    }
  }

  /**
   * The first record of the WAL file that resumes writing after refused
   * batches: a batch of no ops at the number after the last one the WAL
   * holds, which it takes (docs/format.md, "Batch record"). Point-in-time
   * restore and verify then read the WAL as going on from that number, and
   * the refused numbers as a jump inside this file, not as records of a lost
   * file between (an outage used to read as a gap to a checkpoint from
   * before it). Its failure stops writes, as any append's does.
   */
  #writeResumeMarker(wal: WalWriter): void {
    const marker = this.#loggedSequence + 1;
    const logged = this.#afterPredecessor(wal.appendBatch(marker, Date.now(), []));
    this.#noteLogged(logged);
    logged.then(
      () => this.#noteAcknowledged(marker),
      (error: unknown) => void this.#writeFailure(error),
    );
  }

  #clearBackgroundErrorIfHealed(): void {
    if (this.#flushFailing || this.#compactionFailing) return;
    this.#backgroundError = undefined;
    this.#logBackgroundHealed();
  }

  #needsRoom(): boolean {
    return this.#immutables.length >= limits.immutableMemtablesMax || this.#version.levels[0]!.length >= limits.level0StopTrigger;
  }

  /** Whether an acknowledgement waits for room: not when none can be made (the write is durable; later ones are refused). */
  #mustWaitForRoom(): boolean {
    return this.#needsRoom() && this.#roomBlockedBy() === undefined;
  }

  /** Holds back the acknowledgement of `writes` writes (stats count each) until flush or compaction makes room. */
  #waitForRoom(writes = 1): Promise<void> {
    this.#stats.writeStalls += writes;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(), limits.writeStallMsMax);
      this.#roomWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #wakeWriters(): void {
    // Held writes go when there is room, and when none can be made (#roomBlockedBy: later ones are refused).
    if (this.#needsRoom() && !this.#closed && this.#roomBlockedBy() === undefined) return;
    this.#releaseWriters();
  }

  #releaseWriters(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const wake of waiters) wake();
  }

  // ---------------------------------------------------------------- flush

  #switchMemtable(): void {
    if (this.#closing !== undefined) return; // close() closes #wal last, after the older files
    // Deferred inserts belong to the memtable of their WAL file, the active one.
    this.#insertDeferred();
    if (this.#immutables.length >= limits.immutableMemtablesMax) return; // stall: the active memtable grows until a flush ends
    if (this.#atomic !== undefined) return; // commit() switches: the group's entries must share one memtable and WAL file
    const oldWal = this.#wal!;
    // The old file gets its last records before its successor exists, so a
    // process killed in that write(2) tears the newest file, the only one
    // whose torn tail recovery may cut (a torn older file is damage).
    oldWal.writePending();
    // That write failed: its batches are refused (their promises reject
    // microtasks from now) and writes stopped at once (onWriteError), so no
    // later write of this synchronous run, which may have read them, lands
    // in a new file. The memtable stays active; the retry starts a new file.
    if (this.#writeError !== undefined) return;
    const number = this.#nextFileNumber++;
    try {
      this.#wal = this.#createWal(number);
    } catch (error) {
      this.#nextFileNumber--;
      // WalWriter.create's IoError names the file and the system error already.
      this.#failWrites(error instanceof IoError ? error : new IoError(`Cannot create WAL file "${walPath(this.dir, number)}": ${messageOf(error)}`, { cause: error }));
      return;
    }
    const slot = this.#active;
    slot.walClosed = this.#retireWal(oldWal, this.#wal);
    this.#immutables.unshift(slot);
    this.#active = { memtable: new Memtable(), walNumbers: [number], walClosed: Promise.resolve() };
    this.#maybeScheduleFlush();
  }

  /**
   * Closes `old` (its final fdatasync), which `next` has just replaced as
   * #wal. When `old` still holds unacknowledged records (under `always`, the
   * ones its last fdatasync is to cover), or the closes of files before it
   * still run, that close joins their chain (#walPredecessor) and holds back
   * the acknowledgement of `next`'s records: no acknowledged record may
   * outlive an older one on a power loss. When a close of the chain fails,
   * the records it refused may have been read by records made after them,
   * all in later files and none acknowledged yet: every later file of the
   * chain is taken back whole (WalWriter.takeBackAll; their batches leave
   * the memtable as their promises reject) before it closes in turn, and
   * the failure passes down the chain. A file with nothing unacknowledged
   * (everysec, no) refuses nothing when its close fails: `next` goes on.
   * @returns a promise that settles (never rejects) when `old` is closed, for the flush of its memtable
   */
  #retireWal(old: WalWriter, next: WalWriter): Promise<void> {
    const before = this.#walPredecessor;
    if (before === undefined && !old.hasUnacknowledged) {
      return old.close().catch((error: unknown) => {
        this.#logger.warn({ err: error, wal: old.fileNumber }, 'closing a WAL file failed; it held no unacknowledged write');
      });
    }
    const closed =
      before === undefined
        ? old.close()
        : before.then(
            () => old.close(),
            // `old` was taken back when `before` failed (the handler below, added when `old` was `next`).
            (failure: unknown) => old.close().then(() => Promise.reject(failure)),
          );
    this.#walPredecessor = closed;
    return closed.then(
      () => {
        if (this.#walPredecessor === closed) this.#walPredecessor = undefined;
      },
      (error: unknown) => {
        if (this.#walPredecessor === closed) this.#walPredecessor = undefined;
        // Writes stop first: the taken-back batches leave the memtable only as their promises
        // reject (microtasks later), and no write may read one of them and be acknowledged.
        this.#failWrites(error as Error);
        this.#logger.warn({ err: error, wal: next.fileNumber }, 'closing an older WAL file failed; its unsynced writes and every write logged after them were refused');
        next.takeBackAll(new IoError(`Records of WAL file "${next.path}" were taken back: an older WAL file failed (${(error as Error).message})`, { cause: error }));
      },
    );
  }

  #maybeScheduleFlush(): void {
    if (this.#flushRunning !== undefined || this.#immutables.length === 0 || this.#closed || this.#flushFailed) return;
    this.#flushRunning = this.#flushOldest()
      .then(() => {
        this.#flushFailing = false;
        this.#clearBackgroundErrorIfHealed();
      })
      .catch((error: unknown) => {
        this.#flushFailed = this.#flushFailing = true;
        this.#backgroundFailed('flush', error);
      })
      .finally(() => {
        this.#flushRunning = undefined;
        if (!this.#closed && this.#active.memtable.approximateBytes >= this.#memtableBytes) this.#switchMemtable();
        this.#wakeWriters();
        this.#maybeScheduleFlush();
        this.#maybeScheduleCompaction();
      });
  }

  async #flushOldest(): Promise<void> {
    // The kept-blocks arena is lent to this flush until its blocks are in the cache, or handed back
    // here when they never got there (`handedOn` is set the moment #cacheKeptBlocks() takes them).
    const loan = { arena: this.#lendKeptArena(), handedOn: false };
    try {
      await this.#flushOldestKeepingInto(loan);
    } finally {
      if (!loan.handedOn) this.#returnKeptArena(loan.arena);
    }
  }

  async #flushOldestKeepingInto(loan: { arena: Uint8Array | undefined; handedOn: boolean }): Promise<void> {
    const keepInto = loan.arena;
    const slot = this.#immutables[this.#immutables.length - 1]!;
    await slot.walClosed;
    let meta: SegmentMeta | undefined;
    let prepared: SegmentParts | undefined;
    let kept: KeptBlocks | undefined;
    if (!slot.memtable.isEmpty) {
      const fileNumber = this.#nextFileNumber++;
      this.#pendingOutputs.add(fileNumber);
      try {
        // The worker reads the memtable in place while it stays readable here. Nothing changes it
        // any more: it took its last add() before the switch, and a batch that failed in its WAL
        // file was taken back (remove()) before that file's close settled `walClosed`, awaited above.
        // (A file taken back after an older file failed: its batches leave as their promises reject,
        // a few microtasks after the failure; its close, which settles `walClosed`, needs I/O first.)
        // Snapshots taken from here on see at least every version in this memtable: the oldest live one decides.
        const flushed = await this.#executor!.flush({
          dir: this.dir,
          fileNumber,
          memtable: slot.memtable.image(),
          createdMs: Date.now(),
          smallestSnapshot: this.#smallestSnapshot(),
          keepBlocksBytes: this.#prepopulateBytes(),
          keepInto,
        });
        meta = flushed.meta;
        prepared = flushed.prepared;
        kept = flushed.blocks;
        this.#entriesDropped.shadowed += flushed.shadowed;
      } catch (error) {
        this.#pendingOutputs.delete(fileNumber);
        this.#removeQuietly(segmentPath(this.dir, fileNumber));
        throw error;
      }
    }
    if (this.#closed) return;
    try {
      // The memtable stays readable until the version naming its segment is
      // installed; both happen in one synchronous step, so no read misses it.
      await this.#applyEdit(
        () => ({
          added: meta === undefined ? [] : [meta],
          deleted: [],
          logNumber: this.#smallestLiveWal(1),
          nextFileNumber: this.#nextFileNumber,
          lastSequence: this.#lastSequence,
        }),
        () => {
          assert(this.#immutables[this.#immutables.length - 1] === slot, 'the flushed memtable is still the oldest');
          this.#immutables.pop();
        },
      );
    } catch (error) {
      if (meta !== undefined) this.#failedEditOutputs.add(meta.fileNumber);
      throw error;
    } finally {
      if (meta !== undefined) this.#pendingOutputs.delete(meta.fileNumber);
    }
    if (meta !== undefined) {
      this.#adoptReader(meta.fileNumber, prepared);
      if (kept !== undefined) {
        loan.handedOn = true;
        void this.#cacheKeptBlocks(meta.fileNumber, kept, keepInto);
      }
      this.#stats.flushes++;
      this.#stats.bytesFlushed += meta.fileBytes;
    }
    this.#retireWalFiles(slot.walNumbers);
    this.#keepReserve();
  }

  /**
   * Writes the space reserve (reserve.ts) when it is missing or of another
   * size and the disk has room for it and limits.reserveHeadroomBytes more;
   * deletes it when reserveBytes is 0; leaves it alone when reserveBytes is
   * not given. At open and after each flush; in the background, one write at
   * a time.
   */
  #keepReserve(): void {
    if (this.readOnly || this.#closed || this.#closing !== undefined || this.#reserveWriting !== undefined) return;
    const wanted = this.#options.reserveBytes;
    const fs = this.#fs;
    try {
      const present = (this.#reserveBytes = reserveBytesOn(fs, this.dir));
      // An opener that does not say (a tool, a library) leaves the reserve to the server that keeps it.
      if (wanted === undefined) return;
      if (present === wanted && (wanted > 0 || !fs.exists(reservePath(this.dir)))) return;
      if (wanted === 0) {
        releaseReserve(fs, this.dir);
        this.#reserveBytes = 0;
        this.#logger.info({ dir: this.dir }, 'deleted the space reserve (reserveBytes 0)');
        return;
      }
      const free = fs.freeBytes(this.dir);
      if (free !== undefined && free + present < wanted + limits.reserveHeadroomBytes) {
        if (!this.#reserveWaitLogged) {
          this.#reserveWaitLogged = true;
          this.#logger.info(
            { dir: this.dir, freeBytes: free, reserveBytes: wanted, headroomBytes: limits.reserveHeadroomBytes },
            'the space reserve (RESERVE) is written once the disk has room for it and the headroom beside it',
          );
        }
        return;
      }
    } catch (error) {
      this.#logger.warn({ err: error, dir: this.dir }, 'cannot check the space reserve');
      return;
    }
    this.#reserveWriting = writeReserve(fs, this.dir, wanted, () => this.#closed || this.#closing !== undefined).then(
      (written) => {
        if (!written) return;
        this.#reserveBytes = wanted;
        this.#logger.info({ dir: this.dir, reserveBytes: wanted }, 'wrote the space reserve (RESERVE)');
      },
      (error: unknown) => this.#logger.warn({ err: error, dir: this.dir, reserveBytes: wanted }, 'cannot write the space reserve; tried again after the next flush'),
    ).finally(() => {
      this.#reserveWriting = undefined;
    });
  }

  /** The kept-blocks arena (#keptArena), sized to the prepopulate budget, if no flush holds it; undefined otherwise. */
  #lendKeptArena(): Uint8Array | undefined {
    const bytes = this.#prepopulateBytes();
    if (bytes === 0 || this.#keptArenaLent) return undefined;
    if (this.#keptArena?.length !== bytes) this.#keptArena = new Uint8Array(new SharedArrayBuffer(bytes));
    this.#keptArenaLent = true;
    return this.#keptArena;
  }

  /** Ends the loan of `arena` (what #lendKeptArena() gave, or undefined). */
  #returnKeptArena(arena: Uint8Array | undefined): void {
    if (arena !== undefined && arena === this.#keptArena) this.#keptArenaLent = false;
  }

  /**
   * Smallest WAL file number still needed: the oldest unflushed memtable's
   * first file, not counting the `flushing` oldest immutables being written out.
   */
  #smallestLiveWal(flushing = 0): number {
    const remaining = this.#immutables.length - flushing;
    const oldest = remaining > 0 ? this.#immutables[remaining - 1]! : this.#active;
    return oldest.walNumbers[0] ?? this.#nextFileNumber;
  }

  #retireWalFiles(numbers: number[]): void {
    const archive = this.#options.walArchive;
    for (const number of numbers) {
      const path = walPath(this.dir, number);
      // Already retired: installing the flush's version ran #deleteObsoleteFiles, which retires
      // every WAL file below the new log number, this one included. Archive each file once.
      if (!this.#fs.exists(path)) continue;
      try {
        if (archive !== undefined) archiveWalFile(this.#fs, this.dir, number);
        else this.#removeQuietly(path);
      } catch (error) {
        this.#logger.warn({ err: error, file: path }, 'could not retire a flushed WAL file; it will be retried at the next open');
      }
    }
    if (archive !== undefined) {
      this.#pruneArchive();
      this.#readArchive(archivedFileNumbers(this.#fs, this.dir));
    }
  }

  /**
   * Trims the archive to its limits, oldest first. Age is judged by what
   * #readArchive read: a file not read yet is kept, and the ones after it.
   */
  #pruneArchive(): void {
    const archive = this.#options.walArchive;
    if (archive === undefined || this.#closed || this.readOnly) return;
    try {
      const newestTimeMs = (fileNumber: number): number | undefined => {
        const file = this.#archived.get(fileNumber);
        return file === undefined ? undefined : (file.lastTimeMs ?? file.mtimeMs);
      };
      const result = pruneArchive(this.#fs, this.dir, { ageMs: archive.ageMs, bytesMax: archive.bytesMax, nowMs: Date.now(), newestTimeMs });
      for (const fileNumber of result.removedFileNumbers) this.#archived.delete(fileNumber);
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not prune the WAL archive');
    }
  }

  /**
   * Reads the archived files among `fileNumbers` not read yet, in the
   * compaction worker, into #archived; one read at a time (the next call
   * after it asks for what is still missing). Without a worker (a read-only
   * open, for tools) the read is synchronous.
   */
  #readArchive(fileNumbers: number[]): void {
    if (this.#closed || this.#archiveReading !== undefined) return;
    const missing = fileNumbers.filter((fileNumber) => !this.#archived.has(fileNumber));
    if (missing.length === 0) return;
    const job = { dir: this.dir, fileNumbers: missing };
    const take = (files: (ArchivedWalFile | null)[]): void => {
      for (const file of files) if (file !== null) this.#archived.set(file.fileNumber, file);
    };
    if (this.#executor === undefined) return take(describeArchive(this.#fs, job));
    this.#archiveReading = this.#executor
      .describeArchive(job)
      .then(
        (files) => {
          if (this.#closed) return;
          take(files);
          this.#pruneArchive();
        },
        (error: unknown) => {
          if (!this.#closed) this.#logger.warn({ err: error }, 'could not read the WAL archive; INFO shows it as unread until the next try');
        },
      )
      .finally(() => {
        this.#archiveReading = undefined;
      });
  }

  async flush(): Promise<void> {
    this.#checkWritable();
    this.#insertDeferred();
    if (!this.#active.memtable.isEmpty) {
      // Force a switch even while immutables are queued: wait for room first.
      while (this.#immutables.length >= limits.immutableMemtablesMax) await this.#waitForFlush();
      this.#switchMemtable();
      // The switch did not happen when writing the old WAL file's last records failed: say so, not "flushed".
      this.#checkWritable();
    }
    while (this.#immutables.length > 0) {
      if (this.#flushFailed && this.#backgroundError !== undefined) throw this.#backgroundError;
      await this.#waitForFlush();
    }
    await this.#settleRemovals();
  }

  async #waitForFlush(): Promise<void> {
    this.#maybeScheduleFlush();
    if (this.#flushRunning !== undefined) await this.#flushRunning;
    else await yieldToEventLoop();
    this.#checkOpen();
  }

  // ---------------------------------------------------------------- compaction

  #maybeScheduleCompaction(): void {
    if (this.#compactionRunning !== undefined || this.#closed || this.#manualCompaction || this.#compactionFailed) return;
    if (this.#options.disableAutoCompaction === true || this.readOnly) return;
    const pick = pickCompaction(this.#version, this.#policy, this.#compactPointers);
    if (pick === undefined) return;
    this.#compactionRunning = this.#runCompaction(pick)
      .then(() => {
        this.#compactionFailing = false;
        this.#clearBackgroundErrorIfHealed();
      })
      .catch((error: unknown) => {
        this.#compactionFailed = this.#compactionFailing = true;
        this.#backgroundFailed('compaction', error);
      })
      .finally(() => {
        this.#compactionRunning = undefined;
        this.#wakeWriters();
        this.#maybeScheduleCompaction();
      });
  }

  async #runCompaction(pick: CompactionPick): Promise<void> {
    this.#compactPointers.set(pick.level, pick.largestUserKey);
    const inputFiles = pick.inputs.flatMap((input) => input.files);
    if (pick.trivialMove) {
      const file = inputFiles[0]!;
      await this.#applyEdit(() => ({ added: [{ ...file, level: pick.outputLevel }], deleted: [{ level: pick.level, fileNumber: file.fileNumber }] }));
      return;
    }
    const version = this.#version;
    this.#refVersion(version);
    const totalBytes = inputFiles.reduce((sum, file) => sum + file.fileBytes, 0);
    const outputFileNumbers: number[] = [];
    /** Set once the job is done and its edit goes to the manifest. */
    let manifestStage = false;
    const reserve = 2 * Math.ceil(totalBytes / this.#segmentBytesTarget) + 2;
    for (let index = 0; index < reserve; index++) {
      const number = this.#nextFileNumber++;
      outputFileNumbers.push(number);
      this.#pendingOutputs.add(number);
    }
    try {
      const result = await this.#executor!.compact({
        dir: this.dir,
        inputs: pick.inputs,
        outputLevel: pick.outputLevel,
        deeperFiles: version.levels.slice(pick.outputLevel + 1).map((files) => [...files]),
        versionFiles: version.levels.map((files) => [...files]),
        smallestSnapshot: this.#smallestSnapshot(),
        segmentBytesTarget: this.#segmentBytesTarget,
        outputFileNumbers,
        filter: this.#options.compactionFilter,
        nowMs: Date.now(),
      });
      if (this.#closed) return;
      manifestStage = true;
      await this.#applyEdit(() => ({
        added: result.outputs,
        deleted: pick.inputs.flatMap(({ level, files }) => files.map((file) => ({ level, fileNumber: file.fileNumber }))),
      }));
      if (result.prepared !== undefined) void this.#adoptInTurns(result.outputs.map((output) => output.fileNumber), result.prepared);
      this.#stats.compactions++;
      this.#stats.bytesCompacted += result.bytesWritten;
      this.#entriesDropped.shadowed += result.counts.shadowed;
      this.#entriesDropped.tombstones += result.counts.tombstones;
      this.#entriesDropped.filtered += result.counts.filtered;
      this.#logger.info({ lsmLevel: pick.level, inputs: inputFiles.length, outputs: result.outputs.length, ...result.counts }, 'compaction done');
    } catch (error) {
      // A failed manifest append or sync may still have left the edit in the file, naming the outputs:
      // they stay until a manifest that does not name them is current (the retry writes one; an open
      // deletes segments its manifest does not name). Outputs of a failed job are only debris.
      if (!manifestStage) for (const number of outputFileNumbers) this.#removeQuietly(segmentPath(this.dir, number));
      else for (const number of outputFileNumbers) this.#failedEditOutputs.add(number);
      throw error;
    } finally {
      for (const number of outputFileNumbers) this.#pendingOutputs.delete(number);
      this.#unrefVersion(version);
    }
  }

  /**
   * Opens the reader of a segment just installed from the parts its worker
   * exported (TableCache.adopt()). Best effort: when that fails the first
   * read opens the file itself and reports what is wrong with it.
   */
  #adoptReader(fileNumber: number, parts: SegmentParts | undefined): void {
    if (parts === undefined || this.#stopping) return;
    try {
      this.#tables.adopt(fileNumber, parts);
    } catch (error) {
      this.#logger.warn({ err: error, segment: fileNumber }, 'could not adopt the reader a background job prepared; the first read opens the segment');
    }
  }

  /** How many bytes of its data blocks a flush hands back for the block cache (prepopulateBlockCache): half the cache. */
  #prepopulateBytes(): number {
    if (this.#options.prepopulateBlockCache === false) return 0;
    return Math.floor(this.#blockCache.stats().capacityBytes / 2);
  }

  /**
   * Puts a flushed segment's kept data blocks into the block cache,
   * blocksCachedPerTurn an event-loop turn (each is copied and parsed: the
   * up to 8,000 blocks of half the default 64 MiB cache would stop the loop
   * for several milliseconds at once). Stops when the segment's reader leaves the table
   * cache (a compaction deletes the segment, the cache drops it, the engine
   * closes): its blocks would only take room. Best effort. Called as the
   * flush's version is installed, before any await. Ends the loan of
   * `arena` (#keptArena, when the flush kept its blocks there) when done.
   */
  async #cacheKeptBlocks(fileNumber: number, kept: KeptBlocks, arena: Uint8Array | undefined): Promise<void> {
    const count = kept.entries.length / 3;
    try {
      for (let from = 0; from < count; from += blocksCachedPerTurn) {
        if (from > 0) await new Promise((resolve) => setImmediate(resolve));
        // The first slice runs as the flush is installed: the segment is live, and its reader is opened
        // here if the worker made none (an inline flush). Later ones stop once the reader has left.
        if (this.#stopping || !this.#tables.cacheKeptBlocks(fileNumber, kept, from, from + blocksCachedPerTurn, from === 0)) return;
      }
    } catch (error) {
      if (!this.#stopping) this.#logger.warn({ err: error, segment: fileNumber }, 'could not put a flushed segment\'s blocks into the block cache');
    } finally {
      // Every block the cache took is a copy: the next flush may write over the arena (`kept` is in
      // it when the flush was lent it; a SharedArrayBuffer back from the worker is another object).
      this.#returnKeptArena(arena);
    }
  }

  /**
   * Readers for the segments found at open, made in the compaction worker
   * (BackgroundExecutor.prepare()) and adopted one an event-loop turn, level
   * 0 first, while the table cache has room: so the first reads after a
   * restart do not open the segments on the event loop. Batches of
   * tableWarmBatch files; stops at close. Best effort: a failure leaves the
   * segment to its first read.
   */
  async #warmTables(): Promise<void> {
    const files = this.#version.levels.flatMap((level) => level.map((file) => file.fileNumber));
    try {
      for (let start = 0; start < files.length && this.#tables.hasRoom && !this.#stopping; start += tableWarmBatch) {
        const batch = files.slice(start, start + tableWarmBatch);
        const prepared = await this.#executor!.prepare({ dir: this.dir, fileNumbers: batch });
        await this.#adoptInTurns(batch, prepared, () => this.#tables.hasRoom);
      }
    } catch (error) {
      if (!this.#stopping) this.#logger.warn({ err: error }, 'could not make segment readers in the background at open; first reads open them');
    }
  }

  /**
   * #adoptReader() for each segment, the first now and then one an event-loop
   * turn (about a millisecond each for 32 MiB segments; a compaction may
   * write dozens), skipping those no longer live (a later compaction
   * replaced them); stops at close, or once `more()` says so.
   */
  async #adoptInTurns(fileNumbers: readonly number[], prepared: readonly (SegmentParts | undefined)[], more: () => boolean = () => true): Promise<void> {
    for (let index = 0; index < fileNumbers.length; index++) {
      if (index > 0) await new Promise((resolve) => setImmediate(resolve));
      if (this.#stopping || !more()) return;
      const fileNumber = fileNumbers[index]!;
      if (this.#version.levels.some((level) => level.some((file) => file.fileNumber === fileNumber))) this.#adoptReader(fileNumber, prepared[index]);
    }
  }

  /** Closed, or closing. */
  get #stopping(): boolean {
    return this.#closed || this.#closing !== undefined;
  }

  #smallestSnapshot(): number {
    let smallest = this.#lastSequence;
    for (const sequence of this.#snapshots.keys()) if (sequence < smallest) smallest = sequence;
    return smallest;
  }

  /**
   * Manual compactions run one after another: two at once would pick the same
   * files, and the first to finish would end the hold on automatic ones.
   */
  async compactRange(start?: Buffer, end?: Buffer): Promise<void> {
    this.#checkWritable(); // a refusal rejects, as from any async method
    const run = this.#manualCompactions.then(() => this.#compactRangeNow(start, end));
    this.#manualCompactions = run.catch(() => undefined);
    return run;
  }

  async #compactRangeNow(start: Buffer | undefined, end: Buffer | undefined): Promise<void> {
    this.#checkWritable();
    await this.flush();
    this.#manualCompaction = true;
    try {
      while (this.#compactionRunning !== undefined) await this.#compactionRunning;
      let deepest = 0;
      for (let level = 0; level < this.#version.levels.length; level++) {
        if (this.#version.overlapping(level, start, end).length > 0) deepest = level;
      }
      // Each level above the deepest one holding data in the range is merged down into
      // it; then the deepest is rewritten in place (as RocksDB's forced bottommost
      // compaction), so every version is rewritten once: tombstones, shadowed versions
      // and filtered keys go even when the data already sat at its bottom.
      for (let level = 0; level < deepest; level++) {
        const files = this.#version.overlapping(level, start, end);
        if (files.length === 0) continue;
        const pick = pickLevel(this.#version, level, level === 0 ? this.#version.levels[0]!.slice() : files);
        await this.#runCompaction({ ...pick, trivialMove: false });
        this.#checkOpen();
      }
      const bottom = deepest === 0 ? this.#version.levels[0]!.slice() : this.#version.overlapping(deepest, start, end);
      if (bottom.length > 0) {
        const pick = deepest === 0 ? pickLevel(this.#version, 0, bottom) : inPlace(deepest, bottom);
        await this.#runCompaction({ ...pick, trivialMove: false });
      }
    } finally {
      this.#manualCompaction = false;
    }
    await this.#settleRemovals();
    this.#maybeScheduleCompaction();
  }

  #backgroundFailed(what: string, error: unknown): void {
    if (this.#closed) return;
    this.#backgroundError = error as Error;
    this.#logBackgroundFailure(what, error);
    this.#scheduleRetry();
    // Writes held back for room are durable already: no room is coming, so they are acknowledged now, and later ones refused.
    if (this.#roomBlockedBy() !== undefined) this.#releaseWriters();
  }

  /**
   * Logs a failed flush or compaction. The job is retried every second while
   * the cause lasts (a full disk can last hours): the first failure is logged
   * whole, the same failure again only once a minute with the count of
   * retries between, and the end of the episode once (#logBackgroundHealed).
   */
  #logBackgroundFailure(what: string, error: unknown): void {
    const now = Date.now();
    // The same failure names a new file number at each retry: digits do not tell failures apart.
    const key = `${what}\0${(error as { code?: string }).code ?? ''}\0${messageOf(error).replace(/\d+/g, '#')}`;
    const since = (this.#failingSinceMs ??= now);
    const last = this.#failureLogs.get(key);
    if (last !== undefined) {
      last.repeats++;
      if (now - last.loggedAtMs < repeatedFailureLogIntervalMs) return;
      this.#logger.error(
        { error: messageOf(error), code: (error as { code?: string }).code, dir: this.dir, failedRetries: last.repeats, failingForMs: now - since },
        `${what} still fails; retrying every ${retryIntervalMs} ms`,
      );
      last.loggedAtMs = now;
      return;
    }
    this.#logger.error({ err: error, dir: this.dir }, `${what} failed; retrying every ${retryIntervalMs} ms`);
    // Bounded: kinds are few (flush, compaction, by error code); an unexpected variety forgets the oldest.
    if (this.#failureLogs.size >= failureKindsLoggedMax) this.#failureLogs.delete(this.#failureLogs.keys().next().value!);
    this.#failureLogs.set(key, { loggedAtMs: now, repeats: 0 });
  }

  #logBackgroundHealed(): void {
    const since = this.#failingSinceMs;
    if (since === undefined) return;
    let repeats = 0;
    for (const logged of this.#failureLogs.values()) repeats += logged.repeats;
    this.#failureLogs.clear();
    this.#failingSinceMs = undefined;
    this.#logger.info({ dir: this.dir, failedRetries: repeats, failedForMs: Date.now() - since }, 'flush and compaction work again');
  }

  // ---------------------------------------------------------------- versions and files

  /** Appends an edit to the manifest and installs the new version, one edit at a time. */
  #applyEdit(makeEdit: () => Partial<VersionEdit>, onInstalled?: () => void): Promise<void> {
    const run = this.#manifestQueue.then(async () => {
      this.#checkOpen();
      const edit: VersionEdit = { added: [], deleted: [], ...makeEdit() };
      edit.nextFileNumber ??= this.#nextFileNumber;
      edit.lastSequence ??= this.#lastSequence;
      const next = this.#version.apply(edit);
      await this.#manifest!.append(edit);
      if (edit.logNumber !== undefined) this.#logNumber = edit.logNumber;
      const previous = this.#version;
      this.#version = next;
      this.#versionRefs.set(next, (this.#versionRefs.get(next) ?? 0) + 1);
      onInstalled?.();
      this.#unrefVersion(previous);
      await this.#maybeRollManifest();
    });
    // The caller sees the failure; the queue goes on. A manifest that failed takes no more edits: the
    // retry starts a new one from the version (also after a manual compaction's edit failed).
    this.#manifestQueue = run.catch(() => {
      if (this.#manifest?.failure !== undefined) this.#scheduleRetry();
    });
    return run;
  }

  async #maybeRollManifest(): Promise<void> {
    if (this.#manifest!.fileBytes < limits.manifestBytesMax) return;
    const old = this.#manifest!;
    this.#manifest = ManifestWriter.create(this.#fs, this.dir, this.#nextFileNumber++, this.#snapshotEdit());
    old.close();
    this.#newManifestCurrent();
  }

  /** A manifest written from the version is current: segments only a failed edit named are obsolete now. */
  #newManifestCurrent(): void {
    this.#failedEditOutputs.clear();
    this.#deleteObsoleteFiles();
  }

  #refVersion(version: Version): void {
    this.#versionRefs.set(version, (this.#versionRefs.get(version) ?? 0) + 1);
  }

  #unrefVersion(version: Version): void {
    const count = (this.#versionRefs.get(version) ?? 1) - 1;
    if (count > 0) {
      this.#versionRefs.set(version, count);
      return;
    }
    this.#versionRefs.delete(version);
    if (version !== this.#version) this.#deleteObsoleteFiles();
  }

  /** Deletes segments no live version names, WAL files below the log number, and stale manifests. */
  #deleteObsoleteFiles(): void {
    if (this.readOnly || this.#closed) return;
    const live = new Set<number>(this.#pendingOutputs);
    for (const number of this.#failedEditOutputs) live.add(number);
    for (const version of this.#versionRefs.keys()) for (const number of version.fileNumbers()) live.add(number);
    const fs = this.#fs;
    for (const name of fs.list(segmentDir(this.dir))) {
      const parsed = parseFileName(name);
      if (parsed?.kind !== 'segment' || live.has(parsed.number)) continue;
      this.#tables.evict(parsed.number);
      this.#removeQuietly(segmentPath(this.dir, parsed.number));
    }
    const liveWal = new Set([...this.#active.walNumbers, ...this.#immutables.flatMap((slot) => slot.walNumbers)]);
    for (const name of fs.list(walDir(this.dir))) {
      const parsed = parseFileName(name);
      if (parsed?.kind === 'wal' && parsed.number < this.#logNumber && !liveWal.has(parsed.number)) this.#retireWalFiles([parsed.number]);
    }
    const currentManifest = this.#manifest?.manifestNumber;
    for (const name of fs.list(this.dir)) {
      const parsed = parseFileName(name);
      if (parsed?.kind === 'manifest' && parsed.number !== currentManifest) this.#removeQuietly(joinPath(this.dir, name));
    }
  }

  /** Deletes an obsolete file in the background; a failure is logged and the next open retries. */
  #removeQuietly(path: string): void {
    if (!this.#fs.exists(path)) return;
    const removal = this.#fs
      .remove(path)
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === 'ENOENT') return;
        this.#logger.warn({ err: error, file: path }, 'could not delete an obsolete file; it will be retried at the next open');
      })
      .finally(() => this.#removals.delete(removal));
    this.#removals.add(removal);
  }

  /** Waits until the deletions started so far are done (flush, compactRange and close leave no file behind). */
  async #settleRemovals(): Promise<void> {
    while (this.#removals.size > 0) await Promise.allSettled([...this.#removals]);
  }

  // ---------------------------------------------------------------- checkpoint

  checkpoint(targetDir: string): Promise<CheckpointInfo> {
    const running = this.#checkpoint(targetDir);
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.#checkpointsRunning.add(settled);
    void settled.finally(() => this.#checkpointsRunning.delete(settled));
    return running;
  }

  async #checkpoint(targetDir: string): Promise<CheckpointInfo> {
    this.#checkWritable();
    const fs = this.#fs;
    if (fs.exists(targetDir)) throw new KvError('ALREADY_EXISTS', `Cannot create checkpoint "${targetDir}": it already exists`);
    // Nothing copied may be refused afterwards: wait out the closes of older WAL files (their
    // failure fails the checkpoint), then sync #wal; again if the memtable switched meanwhile.
    do {
      while (this.#walPredecessor !== undefined) await this.#walPredecessor;
      await this.#wal!.sync();
    } while (this.#walPredecessor !== undefined);
    // Writes that arrived during the sync are counted in the sequence: put them in the file too.
    const wal = this.#wal!;
    wal.writePending();
    // From here to the end of the links nothing else runs: the checkpoint is this instant. Every file
    // is linked (O(1) each, whatever the size): segments and closed WAL files never change again. The
    // live WAL file does: its bytes up to this instant are copied afterwards, off the event loop, from
    // a link that keeps them even if the file is retired meanwhile (copying them here stalled every
    // client: 48 ms for 55 MB of WAL, 736 ms for 224 MB, measured in session 30).
    const version = this.#version;
    this.#refVersion(version);
    let complete = false;
    let unfinished: Promise<void> | undefined;
    try {
      const timeMs = Date.now();
      const sequence = this.#lastSequence;
      const smallestLiveWal = this.#smallestLiveWal();
      fs.mkdir(segmentDir(targetDir));
      fs.mkdir(walDir(targetDir));
      let linkedFiles = 0;
      let copiedFiles = 0;
      /** Links `from` to `to`, or copies it where links cannot be made (another file system); true when linked. */
      const linkOrCopy = (from: string, to: string): boolean => {
        try {
          fs.link(from, to);
          return true;
        } catch (error) {
          if ((error as { code?: string }).code !== 'EXDEV' && (error as { code?: string }).code !== 'EPERM') throw error;
          fs.copyFile(from, to);
          return false;
        }
      };
      const count = (linked: boolean): void => void (linked ? linkedFiles++ : copiedFiles++);
      for (const meta of version.allFiles()) count(linkOrCopy(segmentPath(this.dir, meta.fileNumber), segmentPath(targetDir, meta.fileNumber)));
      const live = { number: wal.fileNumber, bytes: wal.writtenBytes, source: `${walPath(targetDir, wal.fileNumber)}${liveWalSourceSuffix}`, held: false };
      for (const number of [...this.#immutables.flatMap((slot) => slot.walNumbers), ...this.#active.walNumbers]) {
        const from = walPath(this.dir, number);
        if (!fs.exists(from)) continue;
        if (number !== live.number) count(linkOrCopy(from, walPath(targetDir, number)));
        else {
          linkOrCopy(from, live.source);
          live.held = true;
        }
      }
      if (live.held) {
        unfinished = fs.copyPrefix(live.source, walPath(targetDir, live.number), live.bytes);
        await unfinished;
        unfinished = undefined;
        fs.unlink(live.source);
        copiedFiles++;
      }
      fs.syncDir(segmentDir(targetDir));
      fs.syncDir(walDir(targetDir));
      const manifestNumber = this.#nextFileNumber++;
      const manifest = ManifestWriter.create(fs, targetDir, manifestNumber, version.toSnapshotEdit(smallestLiveWal, this.#nextFileNumber, sequence));
      manifest.close();
      fs.writeFileSync(joinPath(targetDir, checkpointFileName), Buffer.from(`${JSON.stringify({ sequence, timeMs, source: this.dir, host: hostname() })}\n`));
      fs.syncDir(targetDir);
      complete = true;
      return { dir: targetDir, sequence, timeMs, linkedFiles, copiedFiles };
    } finally {
      // The live WAL's copy, if a failure before it left it running: removing the directory under it would race it.
      await unfinished?.catch(() => undefined);
      this.#unrefVersion(version);
      // A half-made copy (a full disk, an I/O error) must not pass for a checkpoint: it has no
      // CHECKPOINT file, but anything that counts directories (pruning, restore) would see it.
      if (!complete) this.#removePartialCheckpoint(targetDir);
    }
  }

  #removePartialCheckpoint(targetDir: string): void {
    try {
      this.#fs.removeTree(targetDir);
    } catch (error) {
      this.#logger.warn({ err: error, checkpoint: targetDir }, 'could not remove a failed checkpoint; delete it by hand');
    }
  }

  /** Where BGSAVE-style named checkpoints live. */
  get checkpointsDir(): string {
    return checkpointsDir(this.dir);
  }

  // ---------------------------------------------------------------- stats and close

  stats(): EngineStats {
    this.#insertDeferred();
    const version = this.#version;
    const levels = version.levels.map((files, level) => ({ level, segments: files.length, bytes: version.levelBytes(level) }));
    let walBytes = 0;
    let walFiles = 0;
    const dir = walDir(this.dir);
    if (this.#fs.exists(dir)) {
      for (const name of this.#fs.list(dir)) {
        if (parseFileName(name)?.kind !== 'wal') continue;
        let size: number;
        try {
          size = this.#fs.stat(joinPath(dir, name)).size;
        } catch (error) {
          // A retired WAL file being deleted in the background (#removeQuietly) since the listing.
          if ((error as { code?: string }).code === 'ENOENT') continue;
          throw error;
        }
        walFiles++;
        walBytes += size;
      }
    }
    const archive = this.#archiveStats();
    const cache = this.#blockCache.stats();
    return {
      kind: 'lsm',
      sequence: this.#lastSequence,
      levels,
      memtableBytes: this.#active.memtable.approximateBytes + this.#immutables.reduce((sum, slot) => sum + slot.memtable.approximateBytes, 0),
      immutableMemtables: this.#immutables.length,
      walFiles,
      walBytes,
      walPreallocatedBytes: this.#wal?.stats.preallocatedBytes ?? 0,
      ...archive,
      pendingCompactionBytes: pendingCompactionBytes(version, this.#policy),
      flushes: this.#stats.flushes,
      compactions: this.#stats.compactions,
      compactionsRunning: this.#compactionRunning === undefined ? 0 : 1,
      bytesFlushed: this.#stats.bytesFlushed,
      bytesCompacted: this.#stats.bytesCompacted,
      entriesDropped: { ...this.#entriesDropped },
      blockCache: { bytes: cache.bytes, capacityBytes: cache.capacityBytes, hits: cache.hits, misses: cache.misses },
      tableCache: this.#tables.stats(),
      writeStalls: this.#stats.writeStalls,
      writeError: this.#writeError?.message ?? this.#roomBlockedBy()?.reason,
      reserve: { bytes: this.#reserveBytes, releasedAtOpenBytes: this.#reserveReleasedBytes },
      backgroundError: this.#backgroundError?.message,
      liveSnapshots: [...this.#snapshots.values()].reduce((sum, count) => sum + count, 0),
    };
  }

  /**
   * The archive as #archived knows it: no file is read here (the ones not
   * read yet are asked for). Continuity is judged over the files after the
   * newest unread one: nothing is claimed across a file not read.
   */
  #archiveStats(): Pick<EngineStats, 'archiveFiles' | 'archiveBytes' | 'archiveRange' | 'archiveBreaks' | 'archiveUnreadFiles'> {
    const numbers = archivedFileNumbers(this.#fs, this.dir);
    const listed = new Set(numbers);
    for (const fileNumber of this.#archived.keys()) if (!listed.has(fileNumber)) this.#archived.delete(fileNumber);
    this.#readArchive(numbers);
    let bytes = 0;
    let unread = 0;
    let read: ArchivedWalFile[] = [];
    for (const fileNumber of numbers) {
      const file = this.#archived.get(fileNumber);
      if (file !== undefined) {
        bytes += file.bytes;
        read.push(file);
        continue;
      }
      unread++;
      read = [];
      try {
        bytes += this.#fs.stat(archivedWalPath(this.dir, fileNumber)).size;
      } catch {
        // Removed since the listing (pruned): not counted.
      }
    }
    const span = archiveSpan(read);
    const range = span.range === undefined ? undefined : { fromMs: span.range.fromMs, toMs: span.range.toMs };
    return { archiveFiles: numbers.length, archiveBytes: bytes, archiveRange: range, archiveBreaks: span.breaks.length, archiveUnreadFiles: unread };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#insertDeferred();
    if (this.#deferredImmediate !== undefined) clearImmediate(this.#deferredImmediate);
    this.#deferredImmediate = undefined;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    clearInterval(this.#archivePruneTimer);
    let failure: unknown;
    try {
      // Older files first: when one fails, #wal's records are taken back before it closes (#retireWal).
      await this.#walPredecessor?.catch(() => undefined);
      await this.#wal?.close();
    } catch (error) {
      failure = error;
    }
    this.#closed = true;
    for (const iterator of [...this.#openIterators]) iterator.close();
    this.#wakeWriters();
    await this.#executor?.close();
    await Promise.allSettled([this.#flushRunning, this.#compactionRunning, this.#manifestQueue, this.#reserveWriting, ...this.#checkpointsRunning]);
    await this.#settleRemovals();
    this.#manifest?.close();
    this.#tables.closeAll();
    this.#lock?.release();
    if (failure !== undefined) throw new IoError(`Cannot close engine cleanly: ${(failure as Error).message}`, { cause: failure });
  }
}

/** Copies the value: the caller may keep or modify what iterator() returns (keys are already copies). */
function owned(entry: Entry | undefined): Entry | undefined {
  return entry === undefined ? undefined : [entry[0], Buffer.from(entry[1])];
}

class LsmSnapshot implements Snapshot {
  readonly sequence: number;
  released = false;
  readonly #onRelease: () => void;

  constructor(sequence: number, onRelease: () => void) {
    this.sequence = sequence;
    this.#onRelease = onRelease;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.#onRelease();
  }
}

/**
 * Synchronous user iterator (LsmEngine only). Keys are copies; values are
 * shared, read-only views (memtable buffers, cached blocks): do not modify them.
 */
export interface SyncEntryIterator {
  next(): Entry | undefined;
  /**
   * The entries left, until `visit` returns false, without a key copy per
   * entry: the key is valid only during the call (UserIterator.visit()).
   */
  visit(visit: (key: Buffer, value: Buffer) => boolean | void): void;
  /** When next() ended early at IteratorOptions.hiddenMax: the user key of the last entry it passed. */
  readonly stoppedAfter: Buffer | undefined;
  close(): void;
}

class LsmIterator implements EngineIterator {
  readonly #inner: SyncEntryIterator;

  constructor(inner: SyncEntryIterator) {
    this.#inner = inner;
  }

  next(): Promise<Entry | undefined> {
    try {
      return Promise.resolve(owned(this.#inner.next()));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  nextv(size: number): Promise<Entry[]> {
    try {
      const entries: Entry[] = [];
      for (let entry: Entry | undefined; entries.length < size && (entry = this.#inner.next()) !== undefined; ) entries.push(owned(entry)!);
      return Promise.resolve(entries);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): Promise<void> {
    this.#inner.close();
    return Promise.resolve();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Entry> {
    try {
      for (let entry = this.#inner.next(); entry !== undefined; entry = this.#inner.next()) yield owned(entry)!;
    } finally {
      this.#inner.close();
    }
  }
}

const emptyBuffer = Buffer.alloc(0);
const noOps: readonly BatchOp[] = [];
/**
 * What a deferred op adds to a memtable's approximateBytes beyond 3 bytes a
 * key byte and its value bytes, at most (a new key: Memtable.addFrom's
 * accounting), so that a turn of deferred writes cannot carry the memtable
 * far past its budget before #switchWhenFull looks.
 */
const deferredBytesPerOp = memtableKeyOverheadBytes + memtableVersionOverheadBytes + keyLengthBytes;

/**
 * WriteBatch checks as ops are added; ops pushed directly are checked here,
 * and the batch's size as one WAL record: a batch the WAL writer refused
 * would count as a failed write, which stops all writes (#writeFailure).
 */
function checkBatchLimits(batch: WriteBatch, bytesMax: number): LimitExceededError | undefined {
  if (batch.ops.length > limits.batchOpsMax) return new LimitExceededError(`Cannot write batch of ${batch.ops.length} operations: the limit is ${limits.batchOpsMax}`);
  for (const op of batch.ops) {
    if (op.key.length > limits.keyBytesMax) return new LimitExceededError(`Cannot write key of ${op.key.length} bytes: the limit is ${limits.keyBytesMax}`);
    if (op.type === 'put' && op.value.length > limits.valueBytesMax) {
      return new LimitExceededError(`Cannot write value of ${op.value.length} bytes: the limit is ${limits.valueBytesMax}`);
    }
  }
  const bytes = batchPayloadBytesOf(batch.ops.length, batchOpsBytes(batch.ops));
  if (bytes > bytesMax) return new LimitExceededError(`Cannot write batch of ${bytes} bytes: it is one WAL record, of at most ${bytesMax}`);
  return undefined;
}

/** A compaction that rewrites `files` within their own level (level >= 1: outputs cannot overlap the rest). */
function inPlace(level: number, files: SegmentMeta[]): CompactionPick {
  return { level, outputLevel: level, inputs: [{ level, files }], trivialMove: false, largestUserKey: userKeyRange(files)[1] };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

assert(limits.immutableMemtablesMax >= 1, 'at least one immutable memtable may wait for flush');

/** fdatasync of an existing file (blocking: recovery runs before the engine serves). */
function syncFile(fs: FileSystem, path: string): void {
  const file = fs.open(path, 'append');
  try {
    file.syncBlocking();
  } finally {
    file.close();
  }
}

const zeroByte = Uint8Array.of(0);

/** Where a forward walk over `options` starts, inclusive (the empty key: the start of the key space). */
function walkStart(options: IteratorOptions): Buffer {
  if (options.gte !== undefined) return options.gte;
  return options.gt !== undefined ? Buffer.concat([options.gt, zeroByte]) : emptyBuffer;
}

/** Segments a warm-up job (#warmTables()) asks the worker for at once. */
const tableWarmBatch = 16;
/**
 * Flushed data blocks put into the block cache an event-loop turn
 * (#cacheKeptBlocks): about 256 KiB. With 256 the event-loop delay p99 of
 * the engine benchmark's flush workload rose from 5.2-5.3 to 6.0 ms; with 64
 * it measured 5.1-5.6.
 */
const blocksCachedPerTurn = 64;

/**
 * The table cache's bounds from the options, or their defaults.
 * @throws InvalidArgumentError when maxOpenFiles is not a positive integer or tableCacheBytes is negative
 */
function tableCacheLimits(options: EngineOptions): TableCacheLimits {
  const maxOpenFiles = options.maxOpenFiles ?? limits.maxOpenFilesDefault;
  const bytesMax = options.tableCacheBytes ?? limits.tableCacheBytesDefault;
  if (!Number.isSafeInteger(maxOpenFiles) || maxOpenFiles < 1) {
    throw new InvalidArgumentError(`Cannot open engine: maxOpenFiles must be a positive integer, got ${String(maxOpenFiles)}`);
  }
  if (typeof bytesMax !== 'number' || !(bytesMax >= 0)) {
    throw new InvalidArgumentError(`Cannot open engine: tableCacheBytes must be a non-negative number, got ${String(bytesMax)}`);
  }
  return { maxOpenFiles, bytesMax };
}
