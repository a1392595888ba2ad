// LevelEngine: the Engine interface on classic-level 3 (LevelDB), the anchor
// every silt feature can be compared against. docs/engines.md says what it
// can and cannot do next to LsmEngine; this header says how each Engine
// promise is kept on LevelDB.
//
// Reads at once. classic-level applies a batch on a libuv worker thread, so a
// write is not in LevelDB when write() returns. The Engine contract (and the
// keyspace's synchronous read-modify-write) needs writes visible to get() at
// once, so each batch is also put in an overlay: a map from key to the newest
// pending value or tombstone, consulted before LevelDB by get(), snapshots and
// iterators, and emptied as batches land. A snapshot or iterator copies the
// pending entries in the same synchronous step in which it takes its LevelDB
// snapshot, so the two always agree: a pending entry is newer than anything in
// LevelDB, whether or not its batch has landed yet.
//
// Order and group commit. Batches go to LevelDB one group at a time: every
// batch queued while a group is in flight (or in the same event-loop turn)
// joins the next group, concatenated in call order into one LevelDB batch, so
// a later write() always wins and one fsync covers the whole group. A group is
// atomic, which is stronger than per-batch atomicity.
//
// Sync policies (LevelDB's default is to never fsync):
// - `always`: every group is written with `sync: true` (fsync of LevelDB's log).
// - `everysec`: groups are written without sync; a timer every
//   `walSyncIntervalMs` makes the next group synced, or, when nothing is
//   queued, writes a synced no-op: the newest committed value of the last key
//   written, put back unchanged (or its delete, if absent). classic-level drops
//   an empty batch without writing it, so an empty synced batch cannot be used.
// - `no`: never synced by silt; LevelDB and the OS decide.
// NB: LevelDB closes its old log file without fsync when a full memtable
// switches to a new one; a later synced write syncs only the new log. Writes
// acknowledged without sync just before such a switch are durable only once
// LevelDB has written that memtable to a table (normally within a second).
// `always` has no such gap. sync() and close() use the same synced no-op.
//
// Read-only. classic-level has no read-only mode, and LevelDB modifies its
// directory on every open (new log file, LOG rotation, possibly a new
// MANIFEST and a compaction). So readOnly opens a private copy in the OS temp
// directory: tables (immutable in LevelDB) are hard-linked, falling back to a
// copy across file systems; CURRENT, MANIFEST and log files are copied; LOCK
// and LOG are left out. The original directory is never written and its LOCK
// is not taken (as DESIGN.md asks of tools). If a live process changes the
// directory during the copy, opening may fail: stop the writer or retry.
// Writes, flush and compactRange on a read-only engine throw NotSupportedError.
//
// What LevelEngine cannot do (capabilities): checkpoints, a WAL archive and
// compaction filters (the options are ignored with a warning), sequence
// numbers (reported as 0), and checksum verification:
// NB: classic-level does not expose LevelDB's `verify_checksums` (ReadOptions)
// or `paranoid_checks` (Options), both off by default. On-disk corruption in a
// LevelEngine directory may therefore surface as LevelDB's own error (mapped
// to CorruptionError naming the directory and offset -1) or go undetected.
// silt's checksum guarantees apply to LsmEngine only.
//
// Errors. LevelDB's codes are mapped in one place (mapLevelError): LEVEL_LOCKED
// -> LockedError, LEVEL_CORRUPTION -> CorruptionError(dir, -1), LEVEL_IO_ERROR
// -> IoError, invalid arguments -> InvalidArgumentError, a closed database,
// iterator or snapshot -> ClosedError; the original is kept as `cause`. After a
// failed write LevelDB refuses every later write until it is reopened (its
// background error is sticky), so LevelEngine does the same with
// WriteStoppedError.
//
// Example:
//   const engine = await LevelEngine.open('./data', { syncPolicy: 'always' });
//   await engine.write(new WriteBatch().put(Buffer.from('k'), Buffer.from('v')));
//   engine.get(Buffer.from('k')); // <Buffer 76>
//   await engine.close();

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ClassicLevel } from 'classic-level';
import type { AbstractSnapshot } from 'abstract-level';
import type { IteratorOptions as ClassicIteratorOptions, Iterator as ClassicIterator } from 'classic-level';
import { assert } from '../assert.js';
import {
  ClosedError,
  CorruptionError,
  InvalidArgumentError,
  IoError,
  KvError,
  LimitExceededError,
  LockedError,
  NotSupportedError,
  WriteStoppedError,
} from '../errors.js';
import { batchOpsMax, blockCacheBytesDefault, keyBytesMax, valueBytesMax, walSyncIntervalMs } from '../limits.js';
import type {
  AtomicWrite,
  BatchOp,
  CheckpointInfo,
  Engine,
  EngineCapabilities,
  EngineIterator,
  EngineLogger,
  EngineOptions,
  EngineStats,
  Entry,
  IteratorOptions,
  LevelStats,
  ReadOptions,
  RecoveryInfo,
  Snapshot,
  SyncPolicy,
  WriteResult,
} from './engine.js';
import type { WriteBatch } from './write-batch.js';

/** LevelDB's number of levels (config::kNumLevels). */
const levelDbLevelCount = 7;

/** classic-level's block cache default (8 MiB), used when blockCacheBytes is not given. */
const classicCacheBytesDefault = 8 * 1024 * 1024;

/** How often a read-only copy is retried when files vanish under a live writer. */
const readOnlyCopyAttemptsMax = 3;

/** A key greater than every key silt accepts: keys are at most keyBytesMax bytes. */
const keyAfterAll = Buffer.alloc(keyBytesMax + 1, 0xff);

const levelCapabilities: EngineCapabilities = Object.freeze({
  checkpoint: false,
  walArchive: false,
  compactionFilter: false,
  checksumVerification: false,
  snapshots: true,
});

const syncPolicies: readonly SyncPolicy[] = ['always', 'everysec', 'no'];

/** The newest pending write of one key: a value, or a tombstone (value undefined). */
interface OverlayEntry {
  readonly key: Buffer;
  readonly value: Buffer | undefined;
  /** The batch that wrote it; the entry leaves the overlay when that batch lands. */
  readonly writeId: number;
}

interface QueuedWrite {
  readonly ops: readonly BatchOp[];
  readonly writeId: number;
  resolve(): void;
  reject(error: unknown): void;
}

interface SyncWaiter {
  resolve(): void;
  reject(error: unknown): void;
}

type ClassicDb = ClassicLevel<Buffer, Buffer>;

/**
 * The Engine interface on classic-level (LevelDB). See the file header for how
 * each promise of the interface is kept and what LevelEngine cannot do.
 *
 * @example
 *   const engine = await LevelEngine.open('./data', { syncPolicy: 'always' });
 *   await engine.write(new WriteBatch().put(Buffer.from('k'), Buffer.from('v')));
 *   engine.get(Buffer.from('k')); // <Buffer 76>
 *   await engine.close();
 */
export class LevelEngine implements Engine {
  /** What every LevelEngine can do, known before opening one. */
  static readonly capabilities: EngineCapabilities = levelCapabilities;

  readonly kind = 'level' as const;
  readonly capabilities: EngineCapabilities = levelCapabilities;
  readonly dir: string;
  readonly readOnly: boolean;
  readonly recovery: RecoveryInfo;

  #db: ClassicDb;
  /** Where LevelDB runs: `dir`, or the private copy of a read-only open. */
  #openDir: string;
  #syncPolicy: SyncPolicy;
  #logger: EngineLogger | undefined;
  #cacheBytes: number;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #closing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** Pending writes by key (latin1 string of the key bytes: one char per byte). */
  readonly #overlay = new Map<string, OverlayEntry>();
  readonly #queue: QueuedWrite[] = [];
  readonly #syncWaiters: SyncWaiter[] = [];
  /** The write loop while it runs. */
  #writing: Promise<void> | undefined;
  #writeIdLast = 0;
  /** An atomic group is open (plain writes are refused until it commits). */
  #atomicOpen = false;
  /** True when a group landed without sync since the last synced one. */
  #unsynced = false;
  /** Last key written to LevelDB, for the synced no-op. */
  #lastWrittenKey: Buffer | undefined;
  /** Set by the first failed write; every later write is refused. */
  #writeError: KvError | undefined;

  readonly #snapshots = new Set<LevelSnapshot>();
  readonly #iterators = new Set<LevelIterator>();

  private constructor(init: {
    dir: string;
    openDir: string;
    db: ClassicDb;
    options: EngineOptions;
    cacheBytes: number;
    recovery: RecoveryInfo;
  }) {
    this.dir = init.dir;
    this.#openDir = init.openDir;
    this.#db = init.db;
    this.readOnly = init.options.readOnly === true;
    this.#syncPolicy = init.options.syncPolicy ?? 'everysec';
    this.#logger = init.options.logger;
    this.#cacheBytes = init.cacheBytes;
    this.recovery = init.recovery;
    if (!this.readOnly) {
      this.#timer = setInterval(() => this.#tick(), walSyncIntervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Opens (or creates) a LevelDB database in `dir`.
   * @param dir data directory
   * @param options engine options; `fs` must be a node file system, and
   *   `compactionFilter`, `walArchive` and the compaction tuning options are
   *   ignored (with a warning for the first two)
   * @returns the open engine
   * @throws LockedError when another process (or engine) holds the directory
   * @throws InvalidArgumentError when the directory does not exist and may not be created
   * @throws NotSupportedError for a MemFileSystem
   * @throws CorruptionError when LevelDB finds its files damaged
   */
  static async open(dir: string, options: EngineOptions = {}): Promise<LevelEngine> {
    const started = performance.now();
    if (typeof dir !== 'string' || dir.length === 0) {
      throw new InvalidArgumentError('Cannot open LevelEngine: the directory must be a non-empty string');
    }
    if (options.fs !== undefined && options.fs.kind !== 'node') {
      throw new NotSupportedError(
        `Cannot open LevelEngine on the "${options.fs.kind}" file system: LevelDB reads and writes real files only`,
      );
    }
    if (options.syncPolicy !== undefined) checkSyncPolicy(options.syncPolicy);
    warnIgnoredOptions(options);

    const readOnly = options.readOnly === true;
    const createIfMissing = !readOnly && options.createIfMissing !== false;
    if (!fs.existsSync(dir)) {
      if (!createIfMissing) {
        throw new InvalidArgumentError(`Cannot open "${dir}"${readOnly ? ' read-only' : ''}: the directory does not exist`);
      }
      fs.mkdirSync(dir, { recursive: true });
    }

    const openDir = readOnly ? copyForReadOnly(dir) : dir;
    const walFilesReplayed = listLogFiles(openDir).length;
    const cacheBytes = options.blockCacheBytes ?? Math.min(classicCacheBytesDefault, blockCacheBytesDefault);
    const db = new ClassicLevel<Buffer, Buffer>(openDir, {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      createIfMissing,
      errorIfExists: false,
      cacheSize: cacheBytes,
      ...(options.memtableBytes !== undefined ? { writeBufferSize: options.memtableBytes } : {}),
      // LevelDB's own max_open_files (default 1000); LevelDB has no byte bound on open tables, so tableCacheBytes is not passed.
      ...(options.maxOpenFiles !== undefined ? { maxOpenFiles: options.maxOpenFiles } : {}),
    });
    try {
      await db.open();
    } catch (error) {
      if (readOnly) fs.rmSync(openDir, { recursive: true, force: true });
      throw mapLevelError(unwrapOpenError(error), dir, 'open');
    }

    return new LevelEngine({
      dir,
      openDir,
      db,
      options,
      cacheBytes,
      recovery: {
        walFilesReplayed,
        // LevelDB does not report how many log records it replayed or dropped.
        walRecordsReplayed: 0,
        walBytesTruncated: 0,
        walTruncatedFile: undefined,
        durationMs: performance.now() - started,
      },
    });
  }

  /** The newest value of `key` (at the snapshot, if given), or undefined. The buffer is the caller's. */
  get(key: Buffer, options?: ReadOptions): Buffer | undefined {
    this.#assertReadable('read');
    checkKeyType(key);
    const snapshot = options?.snapshot;
    if (snapshot !== undefined) {
      const own = this.#ownSnapshot(snapshot, 'read');
      const pending = own.overlay.get(overlayKey(key));
      if (pending !== undefined) return copyValue(pending.value);
      return this.#getSync(key, own.classic);
    }
    const pending = this.#overlay.get(overlayKey(key));
    if (pending !== undefined) return copyValue(pending.value);
    return this.#getSync(key, undefined);
  }

  /**
   * Applies the batch atomically; visible to reads at once, resolved when as
   * durable as the sync policy asks. `sequence` is always 0 (LevelDB does not
   * report one).
   * @throws LimitExceededError for keys or values over their limits (nothing is written)
   * @throws NotSupportedError on a read-only engine
   * @throws WriteStoppedError after an earlier write failed
   * @throws ClosedError once close() was called
   */
  async write(batch: WriteBatch): Promise<WriteResult> {
    this.#assertWritable('write');
    assert(!this.#atomicOpen, 'no plain write while an atomic group is open');
    checkBatch(batch.ops);
    if (batch.ops.length === 0) return { sequence: 0 };

    // Keys and values stay referenced until the batch lands (WriteBatch's
    // contract); snapshots and iterators copy what they keep longer.
    const ops = batch.ops.slice();
    const writeId = ++this.#writeIdLast;
    for (const op of ops) {
      const value = op.type === 'put' ? op.value : undefined;
      this.#overlay.set(overlayKey(op.key), { key: op.key, value, writeId });
    }
    return new Promise<WriteResult>((resolve, reject) => {
      this.#queue.push({ ops, writeId, resolve: () => resolve({ sequence: 0 }), reject });
      this.#startWriting();
    });
  }

  /**
   * An atomic group (Engine#beginAtomic): each batch enters the pending overlay
   * at once (visible to reads), and all of them go to LevelDB as one batch at
   * commit(), which LevelDB applies atomically.
   */
  beginAtomic(): AtomicWrite {
    this.#assertWritable('write');
    assert(!this.#atomicOpen, 'one atomic group at a time');
    this.#atomicOpen = true;
    const ops: BatchOp[] = [];
    const writeId = ++this.#writeIdLast;
    let open = true;
    return {
      write: (batch: WriteBatch) => {
        assert(open, 'atomic group is still open');
        this.#assertWritable('write');
        checkBatch(batch.ops);
        for (const op of batch.ops) {
          ops.push(op);
          this.#overlay.set(overlayKey(op.key), { key: op.key, value: op.type === 'put' ? op.value : undefined, writeId });
        }
      },
      commit: () => {
        assert(open, 'atomic group commits once');
        open = false;
        this.#atomicOpen = false;
        if (ops.length === 0) return Promise.resolve({ sequence: 0 });
        return new Promise<WriteResult>((resolve, reject) => {
          this.#queue.push({ ops, writeId, resolve: () => resolve({ sequence: 0 }), reject });
          this.#startWriting();
        });
      },
    };
  }

  /**
   * An ordered iterator over a key range at a snapshot (the given one, or the
   * state at this call). Entries are the caller's buffers. Always close() it.
   * @throws InvalidArgumentError for malformed bounds or limit
   */
  iterator(options: IteratorOptions = {}): EngineIterator {
    this.#assertReadable('iterate');
    const range = checkRange(options);
    const reverse = options.reverse === true;
    const limit = checkLimit(options.limit);

    let classicSnapshot: AbstractSnapshot | undefined;
    let pending: Iterable<OverlayEntry>;
    let own: LevelSnapshot | undefined;
    if (options.snapshot !== undefined) {
      own = this.#ownSnapshot(options.snapshot, 'iterate');
      classicSnapshot = own.classic;
      pending = own.overlay.values();
    } else {
      pending = this.#overlay.values();
    }

    // Taken in one synchronous step with the LevelDB iterator (whose implicit
    // snapshot is taken at construction), so the two views agree.
    const overlay = captureOverlay(pending, range, reverse);
    const classicOptions: ClassicIteratorOptions<Buffer, Buffer> = {
      reverse,
      // With pending entries to merge, tombstones may hide LevelDB entries, so
      // the limit is applied after merging.
      limit: overlay.length === 0 && Number.isFinite(limit) ? limit : -1,
    };
    if (range.gt !== undefined) classicOptions.gt = range.gt;
    if (range.gte !== undefined) classicOptions.gte = range.gte;
    if (range.lt !== undefined) classicOptions.lt = range.lt;
    if (range.lte !== undefined) classicOptions.lte = range.lte;
    if (classicSnapshot !== undefined) classicOptions.snapshot = classicSnapshot;

    let source: ClassicIterator<ClassicDb, Buffer, Buffer>;
    try {
      source = this.#db.iterator(classicOptions);
    } catch (error) {
      throw mapLevelError(error, this.dir, 'iterate');
    }
    own?.addReader();
    const iterator = new LevelIterator({
      source,
      overlay,
      reverse,
      limit,
      dir: this.dir,
      onClose: () => {
        this.#iterators.delete(iterator);
        own?.removeReader();
      },
    });
    this.#iterators.add(iterator);
    return iterator;
  }

  /** A consistent view of every write issued so far, until released. `sequence` is 0. */
  snapshot(): Snapshot {
    this.#assertReadable('take a snapshot of');
    let classic: AbstractSnapshot;
    try {
      classic = this.#db.snapshot();
    } catch (error) {
      throw mapLevelError(error, this.dir, 'take a snapshot of');
    }
    const overlay = new Map<string, OverlayEntry>();
    for (const [name, entry] of this.#overlay) overlay.set(name, copyEntry(entry));
    const snapshot = new LevelSnapshot(classic, overlay, this.#logger, () => this.#snapshots.delete(snapshot));
    this.#snapshots.add(snapshot);
    return snapshot;
  }

  /**
   * Waits for queued writes, then has LevelDB write its memtable to a table
   * (a compaction of the empty key's range, which LevelDB begins with a
   * memtable flush).
   */
  async flush(): Promise<void> {
    this.#assertWritable('flush');
    await this.#drain();
    await this.#compact(Buffer.alloc(0), Buffer.alloc(0), 'flush');
  }

  /**
   * Waits for queued writes, then compacts [start, end] (the whole key space
   * when omitted) with LevelDB's manual compaction, memtable included.
   * @throws InvalidArgumentError when start > end
   */
  async compactRange(start?: Buffer, end?: Buffer): Promise<void> {
    this.#assertWritable('compact');
    if (start !== undefined) checkKeyType(start);
    if (end !== undefined) checkKeyType(end);
    if (start !== undefined && end !== undefined && Buffer.compare(start, end) > 0) {
      throw new InvalidArgumentError('Cannot compact range: start is after end');
    }
    await this.#drain();
    await this.#compact(start ?? Buffer.alloc(0), end ?? keyAfterAll, 'compact');
  }

  /** @throws NotSupportedError always: classic-level cannot make checkpoints */
  async checkpoint(dir: string): Promise<CheckpointInfo> {
    this.#assertReadable('checkpoint');
    throw new NotSupportedError(
      `Cannot make a checkpoint of "${this.dir}" in "${dir}": LevelEngine (classic-level) has no checkpoints`,
    );
  }

  /** Makes every acknowledged write durable now (see the NB in the file header on log switches). */
  async sync(): Promise<void> {
    this.#assertReadable('sync');
    await this.#requestSync();
  }

  /** Changes the sync policy live; it applies from the next group of writes. */
  setSyncPolicy(policy: SyncPolicy): void {
    checkSyncPolicy(policy);
    this.#syncPolicy = policy;
  }

  /** What LevelDB exposes: tables per level (exact), log files; zeros for the rest. */
  stats(): EngineStats {
    this.#assertReadable('read stats of');
    const logs = listLogFiles(this.#openDir);
    let walBytes = 0;
    for (const name of logs) walBytes += fileSize(path.join(this.#openDir, name));
    const levels = this.#levelStats();
    return {
      kind: 'level',
      sequence: 0,
      levels,
      // LevelDB reports memtables and block cache only as one sum.
      memtableBytes: 0,
      immutableMemtables: 0,
      walFiles: logs.length,
      walBytes,
      walPreallocatedBytes: 0,
      archiveFiles: 0,
      archiveBytes: 0,
      archiveRange: undefined,
      archiveBreaks: 0,
      archiveUnreadFiles: 0,
      pendingCompactionBytes: 0,
      flushes: 0,
      compactions: 0,
      compactionsRunning: 0,
      bytesFlushed: 0,
      bytesCompacted: 0,
      entriesDropped: undefined,
      blockCache: { bytes: 0, capacityBytes: this.#cacheBytes, hits: 0, misses: 0 },
      tableCache: undefined,
      writeStalls: 0,
      writeError: this.#writeError?.message,
      reserve: undefined,
      backgroundError: undefined,
      liveSnapshots: this.#snapshots.size,
    };
  }

  /**
   * Waits for queued writes, syncs them (under every policy), closes open
   * iterators and snapshots, and closes LevelDB (releasing its LOCK). A
   * read-only engine removes its private copy. Calling it again waits for the
   * first call.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    if (this.#timer !== undefined) clearInterval(this.#timer);
    let failure: unknown;
    try {
      await this.#drain();
      if (!this.readOnly && this.#unsynced && this.#writeError === undefined) await this.#requestSync();
    } catch (error) {
      failure = error;
    }
    await Promise.allSettled([...this.#iterators].map((iterator) => iterator.close()));
    for (const snapshot of [...this.#snapshots]) snapshot.release();
    try {
      await this.#db.close();
    } catch (error) {
      failure ??= mapLevelError(unwrapOpenError(error), this.dir, 'close');
    }
    this.#state = 'closed';
    if (this.readOnly) fs.rmSync(this.#openDir, { recursive: true, force: true });
    if (failure !== undefined) throw failure;
  }

  #getSync(key: Buffer, snapshot: AbstractSnapshot | undefined): Buffer | undefined {
    try {
      return snapshot === undefined ? this.#db.getSync(key) : this.#db.getSync(key, { snapshot });
    } catch (error) {
      throw mapLevelError(error, this.dir, 'read');
    }
  }

  async #compact(start: Buffer, end: Buffer, action: string): Promise<void> {
    try {
      await this.#db.compactRange(start, end);
    } catch (error) {
      throw mapLevelError(error, this.dir, action);
    }
  }

  #startWriting(): void {
    if (this.#writing !== undefined) return;
    this.#writing = this.#writeLoop().finally(() => {
      this.#writing = undefined;
    });
  }

  /** Sends queued batches to LevelDB one group at a time, in call order. Never rejects. */
  async #writeLoop(): Promise<void> {
    // Let every write issued in this event-loop turn join the first group.
    await undefined;
    while (this.#queue.length > 0 || this.#syncWaiters.length > 0) {
      const group = this.#queue.splice(0);
      const waiters = this.#syncWaiters.splice(0);
      if (this.#writeError !== undefined) {
        const stopped = this.#stoppedError('write');
        for (const write of group) write.reject(stopped);
        for (const waiter of waiters) waiter.reject(stopped);
        continue;
      }
      const sync = this.#syncPolicy === 'always' || waiters.length > 0;
      let ops: BatchOp[] = [];
      for (const write of group) for (const op of write.ops) ops.push(op);
      try {
        if (ops.length === 0) {
          if (!this.#unsynced) {
            for (const waiter of waiters) waiter.resolve();
            continue;
          }
          ops = [this.#syncNoOp()];
        }
        await this.#db.batch(ops, { sync });
      } catch (error) {
        this.#failWrites(mapLevelError(error, this.dir, 'write'), group, waiters);
        continue;
      }
      const lastOp = ops[ops.length - 1];
      assert(lastOp !== undefined, 'a landed group has operations');
      this.#lastWrittenKey = lastOp.key;
      this.#unsynced = !sync;
      for (const write of group) this.#landed(write);
      for (const write of group) write.resolve();
      for (const waiter of waiters) waiter.resolve();
    }
  }

  /** The synced no-op: the last key written, put back as it is now in LevelDB. */
  #syncNoOp(): BatchOp {
    const key = this.#lastWrittenKey;
    assert(key !== undefined, 'unsynced writes have a last key');
    // Nothing is in flight and the queue is empty, so LevelDB holds the newest value.
    const value = this.#getSync(key, undefined);
    return value === undefined ? { type: 'del', key } : { type: 'put', key, value };
  }

  /** Drops the overlay entries a landed batch wrote, unless a later batch rewrote them. */
  #landed(write: QueuedWrite): void {
    for (const op of write.ops) {
      const name = overlayKey(op.key);
      const entry = this.#overlay.get(name);
      if (entry !== undefined && entry.writeId <= write.writeId) this.#overlay.delete(name);
    }
  }

  #failWrites(error: KvError, group: QueuedWrite[], waiters: SyncWaiter[]): void {
    this.#writeError = error;
    this.#logger?.error({ dir: this.dir, err: error }, 'LevelDB write failed; writes are refused until reopened');
    // Every pending write is lost: this group failed and LevelDB refuses the rest.
    this.#overlay.clear();
    for (const write of group) write.reject(error);
    for (const waiter of waiters) waiter.reject(error);
    const stopped = this.#stoppedError('write');
    for (const write of this.#queue.splice(0)) write.reject(stopped);
  }

  #requestSync(): Promise<void> {
    if (this.readOnly) return Promise.resolve();
    if (this.#writeError !== undefined) return Promise.reject(this.#stoppedError('sync'));
    if (!this.#unsynced && this.#writing === undefined && this.#queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#syncWaiters.push({ resolve, reject });
      this.#startWriting();
    });
  }

  /** Waits until every queued write has landed (or failed). */
  async #drain(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
  }

  #tick(): void {
    if (this.#state !== 'open' || this.#syncPolicy !== 'everysec') return;
    if (!this.#unsynced && this.#queue.length === 0 && this.#writing === undefined) return;
    if (this.#writeError !== undefined) return;
    this.#requestSync().catch((error: unknown) => {
      this.#logger?.error({ dir: this.dir, err: error }, 'Periodic LevelDB sync failed');
    });
  }

  #levelStats(): LevelStats[] {
    const levels: LevelStats[] = [];
    for (let level = 0; level < levelDbLevelCount; level++) levels.push({ level, segments: 0, bytes: 0 });
    let text: string;
    try {
      text = this.#db.getProperty('leveldb.sstables');
    } catch (error) {
      throw mapLevelError(error, this.dir, 'read stats of');
    }
    // Version::DebugString: "--- level N ---" then one " number:size[smallest .. largest]" per table.
    let current: LevelStats | undefined;
    for (const line of text.split('\n')) {
      const header = /^--- level (\d+) ---$/.exec(line);
      if (header !== null) {
        current = levels[Number(header[1])];
        continue;
      }
      const file = /^\s*\d+:(\d+)\[/.exec(line);
      if (file !== null && current !== undefined) {
        current.segments += 1;
        current.bytes += Number(file[1]);
      }
    }
    return levels;
  }

  #ownSnapshot(snapshot: Snapshot, action: string): LevelSnapshot {
    if (!(snapshot instanceof LevelSnapshot) || !this.#snapshots.has(snapshot)) {
      if (snapshot instanceof LevelSnapshot && snapshot.released) {
        throw new ClosedError(`Cannot ${action} at snapshot of "${this.dir}": it was released`);
      }
      throw new InvalidArgumentError(`Cannot ${action} at snapshot: it does not belong to the engine of "${this.dir}"`);
    }
    return snapshot;
  }

  #assertReadable(action: string): void {
    if (this.#state === 'closed') throw new ClosedError(`Cannot ${action} "${this.dir}": the engine is closed`);
  }

  #assertWritable(action: string): void {
    if (this.#state !== 'open') throw new ClosedError(`Cannot ${action} "${this.dir}": the engine is closed`);
    if (this.readOnly) throw new NotSupportedError(`Cannot ${action} "${this.dir}": the engine was opened read-only`);
    if (this.#writeError !== undefined) throw this.#stoppedError(action);
  }

  #stoppedError(action: string): WriteStoppedError {
    return new WriteStoppedError(
      `Cannot ${action} "${this.dir}": an earlier write failed (${this.#writeError?.message ?? 'unknown'}); reopen the engine`,
      { cause: this.#writeError },
    );
  }
}

/**
 * A LevelDB snapshot plus a copy of the writes pending when it was taken.
 * Released LevelDB snapshots are closed once no iterator reads them.
 */
class LevelSnapshot implements Snapshot {
  readonly sequence = 0;
  readonly classic: AbstractSnapshot;
  /** Pending writes at snapshot time, copied (the snapshot owns these buffers). */
  readonly overlay: ReadonlyMap<string, OverlayEntry>;
  #released = false;
  #readers = 0;
  #logger: EngineLogger | undefined;
  #onRelease: () => void;

  constructor(
    classic: AbstractSnapshot,
    overlay: ReadonlyMap<string, OverlayEntry>,
    logger: EngineLogger | undefined,
    onRelease: () => void,
  ) {
    this.classic = classic;
    this.overlay = overlay;
    this.#logger = logger;
    this.#onRelease = onRelease;
  }

  get released(): boolean {
    return this.#released;
  }

  /** Releases the snapshot; iterators already reading it keep working. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease();
    if (this.#readers === 0) this.#closeClassic();
  }

  addReader(): void {
    assert(!this.#released, 'a released snapshot gets no new readers');
    this.#readers += 1;
  }

  removeReader(): void {
    assert(this.#readers > 0, 'reader count stays non-negative');
    this.#readers -= 1;
    if (this.#released && this.#readers === 0) this.#closeClassic();
  }

  #closeClassic(): void {
    this.classic.close().catch((error: unknown) => {
      // Closing only releases LevelDB's hold on old versions; nothing to undo.
      this.#logger?.warn({ err: error }, 'Closing a LevelDB snapshot failed');
    });
  }
}

/** Merges a LevelDB iterator with the pending writes captured with it. */
class LevelIterator implements EngineIterator {
  #source: ClassicIterator<ClassicDb, Buffer, Buffer>;
  /** Pending entries in range, in iteration order, owned by this iterator. */
  #overlay: OverlayEntry[];
  #overlayIndex = 0;
  #head: Entry | undefined;
  #headFetched = false;
  #sourceDone = false;
  #reverse: boolean;
  #limit: number;
  #count = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  #dir: string;
  #onClose: () => void;

  constructor(init: {
    source: ClassicIterator<ClassicDb, Buffer, Buffer>;
    overlay: OverlayEntry[];
    reverse: boolean;
    limit: number;
    dir: string;
    onClose: () => void;
  }) {
    this.#source = init.source;
    this.#overlay = init.overlay;
    this.#reverse = init.reverse;
    this.#limit = init.limit;
    this.#dir = init.dir;
    this.#onClose = init.onClose;
  }

  async next(): Promise<Entry | undefined> {
    this.#assertOpen();
    if (this.#count >= this.#limit) return undefined;
    const entry = this.#overlay.length === 0 ? await this.#sourceNext() : await this.#mergedNext();
    if (entry !== undefined) this.#count += 1;
    return entry;
  }

  async nextv(size: number): Promise<Entry[]> {
    this.#assertOpen();
    if (!Number.isInteger(size) || size < 1) {
      throw new InvalidArgumentError(`Cannot read from iterator: size must be a positive integer, got ${size}`);
    }
    const wanted = Math.min(size, this.#limit - this.#count);
    const entries: Entry[] = [];
    while (entries.length < wanted) {
      if (this.#overlay.length === 0) {
        // classic-level may return fewer than asked (a byte budget) before the end.
        const chunk = await this.#sourceNextv(wanted - entries.length);
        if (chunk.length === 0) break;
        for (const entry of chunk) entries.push(entry);
      } else {
        const entry = await this.#mergedNext();
        if (entry === undefined) break;
        entries.push(entry);
      }
    }
    this.#count += entries.length;
    return entries;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Entry> {
    try {
      for (let entry = await this.next(); entry !== undefined; entry = await this.next()) yield entry;
    } finally {
      await this.close();
    }
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#overlay = [];
    try {
      await this.#source.close();
    } catch (error) {
      throw mapLevelError(error, this.#dir, 'close iterator of');
    } finally {
      this.#onClose();
    }
  }

  async #mergedNext(): Promise<Entry | undefined> {
    while (true) {
      const head = await this.#peekSource();
      const pending = this.#overlay[this.#overlayIndex];
      if (pending === undefined) {
        this.#headFetched = false;
        return head;
      }
      const order = head === undefined ? 1 : this.#compare(head[0], pending.key);
      if (order < 0) {
        this.#headFetched = false;
        return head;
      }
      // The pending entry is newer than LevelDB's entry of the same key.
      if (order === 0) this.#headFetched = false;
      this.#overlayIndex += 1;
      if (pending.value !== undefined) return [pending.key, pending.value];
    }
  }

  async #peekSource(): Promise<Entry | undefined> {
    if (!this.#headFetched) {
      this.#head = this.#sourceDone ? undefined : await this.#sourceNext();
      if (this.#head === undefined) this.#sourceDone = true;
      this.#headFetched = true;
    }
    return this.#head;
  }

  async #sourceNext(): Promise<Entry | undefined> {
    try {
      const entry = await this.#source.next();
      return entry === undefined ? undefined : [entry[0], entry[1]];
    } catch (error) {
      throw mapLevelError(error, this.#dir, 'iterate');
    }
  }

  async #sourceNextv(size: number): Promise<Entry[]> {
    try {
      return (await this.#source.nextv(size)) as Entry[];
    } catch (error) {
      throw mapLevelError(error, this.#dir, 'iterate');
    }
  }

  #compare(a: Buffer, b: Buffer): number {
    const order = Buffer.compare(a, b);
    return this.#reverse ? -order : order;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`Cannot read from iterator of "${this.#dir}": it is closed`);
  }
}

interface Range {
  gt?: Buffer;
  gte?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
}

/**
 * Maps a classic-level / LevelDB error to silt's error classes, keeping the
 * original as `cause`. The one table of LevelDB codes (see the file header).
 */
function mapLevelError(error: unknown, dir: string, action: string): KvError {
  if (error instanceof KvError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'LEVEL_LOCKED':
      return withCause(new LockedError(`Cannot ${action} "${dir}": another process or engine holds its LOCK (${detail})`), error);
    case 'LEVEL_CORRUPTION':
      return new CorruptionError(dir, -1, `Cannot ${action} "${dir}": LevelDB reports corruption: ${detail}`, {
        cause: error,
      });
    case 'LEVEL_IO_ERROR':
      return new IoError(`Cannot ${action} "${dir}": ${detail}`, { cause: error });
    case 'LEVEL_DATABASE_NOT_OPEN':
    case 'LEVEL_ITERATOR_NOT_OPEN':
    case 'LEVEL_SNAPSHOT_NOT_OPEN':
      return withCause(new ClosedError(`Cannot ${action} "${dir}": ${detail}`), error);
    default:
      if (detail.startsWith('Invalid argument:')) {
        return new InvalidArgumentError(`Cannot ${action} "${dir}": ${detail}`, { cause: error });
      }
      if (detail.startsWith('Corruption:')) {
        return new CorruptionError(dir, -1, `Cannot ${action} "${dir}": LevelDB reports corruption: ${detail}`, {
          cause: error,
        });
      }
      return new IoError(`Cannot ${action} "${dir}": ${detail}`, { cause: error });
  }
}

/** classic-level wraps open and close failures in LEVEL_DATABASE_NOT_OPEN / NOT_CLOSED; the LevelDB error is the cause. */
function unwrapOpenError(error: unknown): unknown {
  const wrapped = error as { code?: unknown; cause?: unknown } | null;
  const code = wrapped?.code;
  if ((code === 'LEVEL_DATABASE_NOT_OPEN' || code === 'LEVEL_DATABASE_NOT_CLOSED') && wrapped?.cause !== undefined) {
    return wrapped.cause;
  }
  return error;
}

/** Sets `cause` on errors whose constructor does not take one (LockedError, ClosedError). */
function withCause<E extends Error>(error: E, cause: unknown): E {
  Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  return error;
}

function warnIgnoredOptions(options: EngineOptions): void {
  const logger = options.logger;
  if (options.compactionFilter !== undefined) {
    logger?.warn(
      { module: options.compactionFilter.module },
      'LevelEngine ignores compactionFilter: classic-level cannot run one; expired keys are reclaimed only by the sweep',
    );
  }
  if (options.walArchive !== undefined) {
    logger?.warn({}, 'LevelEngine ignores walArchive: LevelDB deletes its log files after a flush');
  }
  // backgroundExecutor, disableAutoCompaction, level0CompactionTrigger,
  // level1BytesTarget and segmentBytesTarget tune LsmEngine; LevelDB decides these itself.
}

/** Copies `dir` into a fresh temp directory for a read-only open (see the file header). */
function copyForReadOnly(dir: string): string {
  for (let attempt = 1; ; attempt++) {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-level-readonly-'));
    try {
      copyLevelFiles(dir, copy);
      return copy;
    } catch (error) {
      fs.rmSync(copy, { recursive: true, force: true });
      const vanished = (error as { code?: unknown }).code === 'ENOENT';
      if (!vanished || attempt >= readOnlyCopyAttemptsMax) {
        throw new IoError(`Cannot open "${dir}" read-only: copying it failed`, { cause: error });
      }
    }
  }
}

function copyLevelFiles(from: string, to: string): void {
  // CURRENT first and tables last, so that a live writer's compaction is more
  // likely to show as a missing table (retried) than as a torn manifest.
  const names = fs.readdirSync(from).filter((name) => name !== 'LOCK' && name !== 'LOG' && name !== 'LOG.old');
  const rank = (name: string): number => (name === 'CURRENT' ? 0 : isTableFile(name) ? 2 : 1);
  names.sort((a, b) => rank(a) - rank(b));
  for (const name of names) {
    const source = path.join(from, name);
    const target = path.join(to, name);
    if (!fs.statSync(source).isFile()) continue;
    if (isTableFile(name)) {
      try {
        // LevelDB never modifies a table file, so the copy may share it.
        fs.linkSync(source, target);
        continue;
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT') throw error;
        // EXDEV (another file system), EPERM: copy instead.
      }
    }
    fs.copyFileSync(source, target);
  }
}

function isTableFile(name: string): boolean {
  return /^\d+\.(ldb|sst)$/.test(name);
}

function listLogFiles(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((name) => /^\d+\.log$/.test(name));
  } catch {
    // A directory LevelDB has not created yet has no log files.
    return [];
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    // LevelDB may delete an old log file between listing and stat.
    return 0;
  }
}

function overlayKey(key: Buffer): string {
  return key.toString('latin1');
}

function copyValue(value: Buffer | undefined): Buffer | undefined {
  return value === undefined ? undefined : Buffer.from(value);
}

function copyEntry(entry: OverlayEntry): OverlayEntry {
  return { key: Buffer.from(entry.key), value: copyValue(entry.value), writeId: entry.writeId };
}

/** Pending entries within `range`, copied, in iteration order. */
function captureOverlay(entries: Iterable<OverlayEntry>, range: Range, reverse: boolean): OverlayEntry[] {
  const captured: OverlayEntry[] = [];
  for (const entry of entries) if (inRange(entry.key, range)) captured.push(copyEntry(entry));
  captured.sort((a, b) => (reverse ? Buffer.compare(b.key, a.key) : Buffer.compare(a.key, b.key)));
  return captured;
}

function inRange(key: Buffer, range: Range): boolean {
  if (range.gt !== undefined && Buffer.compare(key, range.gt) <= 0) return false;
  if (range.gte !== undefined && Buffer.compare(key, range.gte) < 0) return false;
  if (range.lt !== undefined && Buffer.compare(key, range.lt) >= 0) return false;
  if (range.lte !== undefined && Buffer.compare(key, range.lte) > 0) return false;
  return true;
}

/**
 * Checks the bounds and keeps at most one per side, with classic-level's
 * precedence (gte over gt, lte over lt), so that the overlay is filtered
 * exactly as LevelDB filters its entries.
 */
function checkRange(options: IteratorOptions): Range {
  for (const name of ['gt', 'gte', 'lt', 'lte'] as const) {
    const bound = options[name];
    if (bound !== undefined && !Buffer.isBuffer(bound)) {
      throw new InvalidArgumentError(`Cannot iterate: the "${name}" bound must be a Buffer`);
    }
  }
  const range: Range = {};
  if (options.gte !== undefined) range.gte = options.gte;
  else if (options.gt !== undefined) range.gt = options.gt;
  if (options.lte !== undefined) range.lte = options.lte;
  else if (options.lt !== undefined) range.lt = options.lt;
  return range;
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit)) throw new InvalidArgumentError(`Cannot iterate: limit must be an integer, got ${limit}`);
  return limit < 0 ? Infinity : limit;
}

function checkKeyType(key: Buffer): void {
  if (!Buffer.isBuffer(key)) throw new InvalidArgumentError('Cannot use key: keys must be Buffers');
}

/** The limits WriteBatch checks, checked again: `ops` is a public array. */
function checkBatch(ops: readonly BatchOp[]): void {
  if (ops.length > batchOpsMax) {
    throw new LimitExceededError(`Cannot write batch of ${ops.length} operations: the limit is ${batchOpsMax}`);
  }
  for (const op of ops) {
    if (op.key.length > keyBytesMax) {
      throw new LimitExceededError(`Cannot write key of ${op.key.length} bytes: the limit is ${keyBytesMax}`);
    }
    if (op.type === 'put' && op.value.length > valueBytesMax) {
      throw new LimitExceededError(`Cannot write value of ${op.value.length} bytes: the limit is ${valueBytesMax}`);
    }
  }
}

function checkSyncPolicy(policy: SyncPolicy): void {
  if (!syncPolicies.includes(policy)) {
    throw new InvalidArgumentError(`Cannot set sync policy "${String(policy)}": use one of ${syncPolicies.join(', ')}`);
  }
}
