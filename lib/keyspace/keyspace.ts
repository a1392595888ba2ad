// The Redis data model on an Engine (DESIGN.md, "Redis data model on the
// engine"; byte layouts in docs/format.md, "Keyspace encoding").
//
// A Keyspace owns:
// - the database table (`D`): logical db -> physical db id. Every data key
//   carries the physical id, so FLUSHDB points a logical db at a fresh id and
//   SWAPDB swaps two entries, both O(1); data of ids no longer in the table is
//   dropped by the compaction filter (compaction-filter.ts);
// - exact per-physical-db counters (`C`): keys present and keys with an
//   expiry, kept in memory and written in the same batch as every change that
//   moves them, so DBSIZE and INFO keyspace are exact and O(1);
// - the expiry index (`E`), kept in step with each record's expiry time, which
//   sweepExpired() walks to delete due keys without scanning;
// - collection versions (VersionClock): deleting or overwriting a collection
//   writes metadata with a new version, so its old subkeys are dead at once.
//
// Counting rule: a key counts from the write that creates its `M` record to
// the write that deletes it. An expired key reads as absent at once, but
// stays counted (as in Redis, whose DBSIZE counts keys not yet reclaimed)
// until a write replaces it, DEL removes it, or the sweep deletes it.
//
// Writes: handlers load a key (load()), build records, stage them into a
// batch (stagePut/stageDelete, which add the `E` changes and counter deltas),
// and commit(), which adds the `C` records, hands the batch to the command's
// write(), then applies the counters in memory and fires the WATCH hooks.
// Commands run one at a time and stage synchronously (across awaits only on
// engines without a synchronous iterator, while the dispatcher runs nothing
// else), so one staging area serves every command.
//
// If the engine later fails to make a batch durable it takes the batch back;
// the server then calls reload() so the table and counters match the engine.
//
// Statistics (INFO stats): lookup() and load() are the one path by which
// commands read a key's metadata, so they count keyspace_hits and
// keyspace_misses there, but only while the server says the running command
// reads the way Redis's lookupKeyRead does (countReads()); a commit counts
// expired_keys for every expired record it deletes or replaces (the sweep's
// deletions, and writes over or DEL of a key that had expired), as Redis
// counts both active and lazy expiry.

import type { CompactionFilterSpec, Engine, EngineLogger, Entry, IteratorOptions } from '../engine/engine.js';
import { WriteBatch } from '../engine/write-batch.js';
import { InvalidArgumentError, LimitExceededError } from '../errors.js';
import { javascriptUrl } from '../javascript-path.js';
import { assert } from '../assert.js';
import {
  KeyTag,
  counterKey,
  dbTableKey,
  expiryBound,
  expiryKey,
  decodeExpiryKey,
  metadataKey,
  metadataKeyPrefixBytes,
  metadataPrefix,
  prefixEnd,
  prefixRange,
  buildAbandoned,
  decodeBuildMarker,
  scorePrefix,
  subkeyPrefix,
  tagPrefix,
  physicalDbMax,
  decodeScoreKey,
  decodeSubkey,
  subkey as encodeSubkey,
  scoreKey as encodeScoreKey,
} from './key-encoding.js';
import {
  KeyType,
  VersionClock,
  checkRecord,
  isExpired,
  keyTypeNames,
  recordExpireMs,
  recordSize,
  recordType,
  recordVersion,
  stringBytesMaxDefault,
  versionsPerMs,
  withVersion,
} from './metadata.js';
import { literalPrefix, matchesEverything, stringMatch } from './glob.js';
import { ScanCursors } from './scan-cursors.js';
import { drive, visitRange, Walk, walkEntries, walkSlice, type Steps } from './walk.js';
import { VersionBuild } from './build.js';
import { forEachEntry } from './collection.js';
import { batchOpsMax, databasesDefault, databasesMax, randomKeyWalkMax, scanCountMax, scanHiddenPerCount, sweepHiddenPerKey } from '../limits.js';

export { databasesDefault, scanCountMax } from '../limits.js';
import { decodeCounters, decodeTable, encodeCounters, encodeTable, type DbTable } from './db-table.js';





const emptyValue = Buffer.alloc(0);
/** Staged keys whose array is kept between commands (see #clearStaging()). */
const stagedKeysKeptMax = 64;

export interface KeyspaceOptions {
  /** Logical databases, SELECT 0..databases-1 (default 16). The table keeps more if it already has them. */
  databases?: number;
  logger?: EngineLogger;
  /** WATCH hooks (settable later through `hooks`). */
  hooks?: Partial<KeyspaceHooks>;
  /** Largest string value, bytes (default: the engine value limit less the metadata header). */
  stringBytesMax?: number;
  /** SCAN cursor ring size (tests use small ones). */
  scanCursorSlots?: number;
}

/** What keyspace writes need from a command: its database, its clock and its write(). CommandContext fits. */
export interface KeyspaceContext {
  readonly db: number;
  /** ms since the epoch, fixed for the command. */
  readonly nowMs: number;
  /** Applies the batch (visible at once); the reply waits for its durability. */
  write(batch: WriteBatch): void;
  /**
   * For a command whose walk goes on while other commands run (a keyed walk,
   * service/resp/command.ts): resolves when nothing else runs, so that it may
   * write; undefined when it may at once. Absent: it always may.
   */
  turn?(): Promise<void> | undefined;
  /**
   * Whether writeAhead() may be called now: the command walks in the
   * background, before its turn, and no transaction's group is open (build.ts).
   * Absent: never.
   */
  canWriteAhead?(): boolean;
  /**
   * Writes a batch that no reader reaches until a later write in the
   * command's turn publishes it (a new collection version's entries behind
   * its build marker, build.ts), without waiting for that turn. Resolves when
   * it is durable; rejects when it failed (the engine took it back).
   */
  writeAhead?(batch: WriteBatch): Promise<void>;
}

/** A key as WATCH sees it: absent, present and live, or present but logically expired. */
export type KeyState = 'absent' | 'live' | 'expired';

/** A whole-db change (FLUSHDB, FLUSHALL, SWAPDB): a key's state before and after it, valid during the hook call only. */
export interface DbChange {
  before(key: Buffer): KeyState;
  after(key: Buffer): KeyState;
}

/**
 * Called synchronously after a write is handed to the engine. `key` is the
 * command's argument buffer (or a view into engine data): copy it to keep it.
 */
export interface KeyspaceHooks {
  /** A write changed `key` in logical db `db` (set, deleted, expired by the sweep, TTL changed). */
  onKeyModified(db: number, key: Buffer): void;
  /** Every key of logical db `db` may have changed (FLUSHDB, FLUSHALL, SWAPDB). */
  onDbModified(db: number, change: DbChange): void;
}

/** A key loaded for writing: where it lives and what is stored there. */
export interface StoredKey {
  /** Logical db. */
  readonly db: number;
  readonly key: Buffer;
  /** `M | physdb | key`. */
  readonly metadataKey: Buffer;
  /** The record present, expired or not (what counters and the expiry index know). */
  readonly stored: Buffer | undefined;
  /** `stored` when it has not expired at the load's time, else undefined. */
  readonly live: Buffer | undefined;
}

export interface ScanOptions {
  /** Metadata entries to examine (Redis's COUNT hint); clamped to [1, scanCountMax]. */
  count: number;
  /** Glob pattern (Redis MATCH). */
  match?: Buffer | undefined;
  /** Only keys of this type name ("string", "hash" ...; Redis TYPE). */
  type?: string | undefined;
}

export interface ScanResult {
  /** 0 when the iteration is complete. */
  cursor: number;
  keys: Buffer[];
}

export interface SweepResult {
  /** Keys deleted because their expiry time had passed. */
  expired: number;
  /** Expiry-index entries removed that no longer matched a key (or whose db is gone). */
  stale: number;
  /** The limit was reached: more may be due. */
  more: boolean;
}

/** Counters behind INFO stats (keyspace_hits, keyspace_misses, expired_keys); CONFIG RESETSTAT zeroes them. */
export interface KeyspaceStats {
  /** Counted lookups that found a live key. */
  hits: number;
  /** Counted lookups that found no key, or an expired one. */
  misses: number;
  /** Expired records deleted or replaced by committed writes (sweep included). */
  expiredKeys: number;
}

/** Per-db line of INFO keyspace. */
export interface DbInfo {
  db: number;
  keys: number;
  expires: number;
}

export type MaybePromise<T> = T | Promise<T>;

/** What copyForTransfer() hands the command for its turn: the target's record and the build of its entries. */
export interface Transfer {
  record: Buffer;
  build: VersionBuild;
}

interface DbState {
  readonly physId: number;
  /** `C | physId`. Shared by batches: never modified. */
  readonly counterKey: Buffer;
  keys: number;
  expires: number;
  /** Deltas staged by the current command. */
  stagedKeys: number;
  stagedExpires: number;
  staged: boolean;
}

const noHooks: KeyspaceHooks = { onKeyModified() {}, onDbModified() {} };
const silentLogger: EngineLogger = { info() {}, warn() {}, error() {} };

/**
 * The compaction filter that reclaims what the keyspace leaves behind (data
 * of flushed databases, subkeys of replaced collections). Pass it as the
 * engine's `compactionFilter` option.
 */
export function keyspaceCompactionFilter(): CompactionFilterSpec {
  return { module: javascriptUrl(import.meta.url, './compaction-filter.js').href, options: {} };
}

export class Keyspace {
  readonly engine: Engine;
  /** Logical databases clients may SELECT. */
  readonly databases: number;
  /** Largest string value, bytes; the server lowers it with proto-max-bulk-len (CONFIG SET). */
  stringBytesMax: number;
  /** WATCH hooks; the server sets them. */
  hooks: KeyspaceHooks;
  /** SCAN's cursor table. */
  readonly scanCursors: ScanCursors;
  /** INFO stats counters; the server zeroes them on CONFIG RESETSTAT. */
  readonly stats: KeyspaceStats = { hits: 0, misses: 0, expiredKeys: 0 };

  readonly #logger: EngineLogger;
  #dbs: DbState[] = [];
  #byPhys = new Map<number, number>();
  #nextPhysId = 0;
  #clock = new VersionClock(0);
  /** Keys with an expiry time, over every db (the sum of their `expires` counters). */
  #expiringKeys = 0;
  /**
   * Whether the expiry index may hold entries no counted key owns: those of
   * flushed dbs (FLUSHDB, FLUSHALL), and anything, as far as this process
   * knows, right after open. Cleared by a sweep that finds the index empty.
   */
  #expiryIndexMayHoldStale = true;
  /**
   * Where the next sweep starts (after it): every expiry-index entry up to
   * it is deleted, by the sweep or by the writes whose tombstones it passed.
   * Without it each sweep walked again over the tombstones of every key it
   * had removed (they stay until compaction drops them): under a steady
   * stream of SET ... EX, a sweep's cost grew with everything swept before.
   * Back to the start when an entry at or below it may appear: an expiry
   * time at or before its own is staged (a clock that went back), or the
   * keyspace reloads (writes taken back).
   */
  #sweptTo: Buffer | undefined;
  #sweptToMs = -1;

  // The staging arrays are filled by index up to #stagedCount and kept between
  // commands: `length = 0` would drop V8's backing store, and every SET would
  // allocate three new ones (about 450 bytes a command).
  readonly #stagedStates: DbState[] = [];
  #stagedStateCount = 0;
  readonly #stagedKeyDbs: number[] = [];
  readonly #stagedKeys: Buffer[] = [];
  #stagedCount = 0;
  /** Expired records the staged batch deletes or replaces. */
  #stagedExpired = 0;
  /** Whether lookup() and load() count hits and misses now (see countReads). */
  #countingReads = false;
  /** A key buffer (by identity) whose lookups are not counted while counting: a command's destination. */
  #uncountedKey: Buffer | undefined = undefined;

  private constructor(engine: Engine, options: KeyspaceOptions) {
    this.engine = engine;
    this.databases = options.databases ?? databasesDefault;
    this.stringBytesMax = options.stringBytesMax ?? stringBytesMaxDefault;
    this.hooks = { ...noHooks, ...options.hooks };
    this.scanCursors = new ScanCursors(options.scanCursorSlots);
    this.#logger = options.logger ?? silentLogger;
  }

  /**
   * Opens the keyspace on an open engine: reads the database table (creating
   * it on a fresh engine) and the counters.
   * @throws InvalidArgumentError for a databases count out of range
   * @throws CorruptionError when the table or a counter record is damaged
   *
   * @example
   *   const keyspace = await Keyspace.open(engine, { databases: 16 });
   *   keyspace.dbSize(0); // 0
   */
  static async open(engine: Engine, options: KeyspaceOptions = {}): Promise<Keyspace> {
    const databases = options.databases ?? databasesDefault;
    if (!Number.isInteger(databases) || databases < 1 || databases > databasesMax) {
      throw new InvalidArgumentError(`Cannot open keyspace with ${databases} databases: use 1 to 1000000`);
    }
    const keyspace = new Keyspace(engine, options);
    const table = keyspace.#loadTable();
    // No build outlives the process that ran it (build.ts): a marker left by a crash or a failed command
    // is marked abandoned, so that compaction reclaims its entries, and deleted at an open that finds
    // them gone. Versions continue above theirs, whatever the clock says.
    const markers: [key: Buffer, value: Buffer, version: number][] = [];
    for (const [key, value] of await entriesOf(engine, prefixRange(tagPrefix(KeyTag.build)))) {
      const version = buildMarkerVersion(key);
      if (version !== undefined) markers.push([key, value, version]);
    }
    const floor = markers.reduce((highest, [, , version]) => Math.max(highest, version + 1), table.versionFloor);
    keyspace.#clock = new VersionClock(Math.max(floor, Date.now() * versionsPerMs));
    const builds = { abandoned: 0, removed: 0, reclaiming: 0 };
    if (!engine.readOnly) {
      const batch = new WriteBatch().put(dbTableKey, keyspace.#encodeTable());
      for (const [key, value] of markers) {
        if (value.length === 0) {
          batch.put(key, buildAbandoned);
          builds.abandoned++;
        } else if (await versionEmpty(engine, key)) {
          batch.del(key);
          builds.removed++;
        } else {
          builds.reclaiming++;
        }
      }
      await engine.write(batch);
    }
    keyspace.#logger.info({ databases: keyspace.databases, physicalDbs: keyspace.#dbs.map((state) => state.physId), builds }, 'keyspace open');
    return keyspace;
  }

  /**
   * Re-reads the database table and the counters from the engine. The server
   * calls it after a write failed (the engine took the batch back, so the
   * in-memory table and counters ran ahead of it).
   */
  reload(): void {
    this.#loadTable();
  }

  // ---------------------------------------------------------------- reading

  /**
   * Makes lookup() and load() count keyspace hits and misses (on) or not
   * (off, the default). The server turns it on around a command that reads
   * keys as Redis's lookupKeyRead does, and off after it. `except` is an
   * argument buffer whose lookups stay uncounted, compared by identity: a
   * destination key that Redis looks up for writing (SINTERSTORE dst ...),
   * while the same name given again as a source (another buffer) counts.
   */
  countReads(on: boolean, except?: Buffer): void {
    this.#countingReads = on;
    this.#uncountedKey = on ? except : undefined;
  }

  /** `M | physdb | key` for a logical db. */
  metadataKey(db: number, key: Buffer): Buffer {
    return metadataKey(this.#state(db).physId, key);
  }

  /** The physical db id behind logical `db` (tools, tests). */
  physicalDb(db: number): number {
    return this.#state(db).physId;
  }

  /**
   * The live record of `key`: undefined when absent or expired at `nowMs`.
   * Read-only; valid as long as the caller keeps it. The hot path of GET.
   */
  lookup(db: number, key: Buffer, nowMs: number): Buffer | undefined {
    const engineKey = metadataKey(this.#state(db).physId, key);
    const record = this.engine.get(engineKey);
    if (record !== undefined) checkRecord(record, engineKey);
    const live = record !== undefined && !isExpired(record, nowMs) ? record : undefined;
    if (this.#countingReads && key !== this.#uncountedKey) this.#countRead(live !== undefined);
    return live;
  }

  /** Loads `key` for a write: its engine key and stored record. */
  load(db: number, key: Buffer, nowMs: number): StoredKey {
    const engineKey = metadataKey(this.#state(db).physId, key);
    const stored = this.engine.get(engineKey);
    if (stored !== undefined) checkRecord(stored, engineKey);
    const live = stored !== undefined && !isExpired(stored, nowMs) ? stored : undefined;
    if (this.#countingReads && key !== this.#uncountedKey) this.#countRead(live !== undefined);
    return { db, key, metadataKey: engineKey, stored, live };
  }

  #countRead(hit: boolean): void {
    if (hit) this.stats.hits++;
    else this.stats.misses++;
  }

  /** Whether `key` exists (and has not expired). */
  exists(db: number, key: Buffer, nowMs: number): boolean {
    return this.lookup(db, key, nowMs) !== undefined;
  }

  /** TYPE's answer: "string", "hash" ..., or "none". */
  typeName(db: number, key: Buffer, nowMs: number): string {
    const record = this.lookup(db, key, nowMs);
    return record === undefined ? 'none' : keyTypeNames[recordType(record) as KeyType];
  }

  /** The key's state for WATCH and EXEC's expiry check. */
  keyState(db: number, key: Buffer, nowMs: number): KeyState {
    return this.#stateOf(this.#state(db), key, nowMs);
  }

  /** DBSIZE: keys present in `db` (including expired ones not yet reclaimed). */
  dbSize(db: number): number {
    return this.#state(db).keys;
  }

  /** Keys of `db` with an expiry time. */
  expiresCount(db: number): number {
    return this.#state(db).expires;
  }

  /** INFO keyspace: every logical db that holds keys. */
  info(): DbInfo[] {
    const lines: DbInfo[] = [];
    for (let db = 0; db < this.databases; db++) {
      const state = this.#dbs[db]!;
      if (state.keys > 0) lines.push({ db, keys: state.keys, expires: state.expires });
    }
    return lines;
  }

  // ---------------------------------------------------------------- versions

  /**
   * A collection version never used before for any key, and above the
   * version of `previous` (the record it replaces), whatever the clock does.
   */
  newVersion(nowMs: number, previous?: Buffer): number {
    return this.#clock.next(nowMs, previous === undefined ? 0 : recordVersion(previous) + 1);
  }

  // ---------------------------------------------------------------- writing

  /**
   * A batch for one command's changes: a new one, or `batch` when the command
   * filled it with engine entries before its turn to write (VersionBuild.finish());
   * discards anything a failed command left staged.
   */
  begin(batch = new WriteBatch()): WriteBatch {
    this.#clearStaging();
    return batch;
  }

  /**
   * Stages `record` as the new value of `target` (creating or replacing it):
   * the metadata put, the expiry-index change and the counter deltas.
   * `target` must come from load() in this command; stage a key at most once
   * per batch.
   * @throws LimitExceededError when the key or record is over the engine's limits (nothing is staged then)
   */
  stagePut(batch: WriteBatch, target: StoredKey, record: Buffer): void {
    batch.put(target.metadataKey, record);
    const state = this.#state(target.db);
    const oldExpire = target.stored === undefined ? 0 : recordExpireMs(target.stored);
    const newExpire = recordExpireMs(record);
    if (oldExpire !== newExpire) {
      if (oldExpire !== 0) batch.del(expiryKey(oldExpire, state.physId, target.key));
      if (newExpire !== 0) batch.put(expiryKey(newExpire, state.physId, target.key), emptyValue);
      if (newExpire !== 0 && newExpire <= this.#sweptToMs) this.#sweepFromStart();
    }
    this.#stageCounts(state, target.stored === undefined ? 1 : 0, (newExpire !== 0 ? 1 : 0) - (oldExpire !== 0 ? 1 : 0));
    if (target.stored !== undefined && target.live === undefined) this.#stagedExpired++;
    this.#stageKey(target);
  }

  /**
   * Stages the deletion of `target`'s record (live or expired) and its
   * expiry-index entry. A collection's subkeys stay behind, dead because no
   * metadata names their version, until compaction drops them.
   * @returns whether a record was stored
   */
  stageDelete(batch: WriteBatch, target: StoredKey): boolean {
    const stored = target.stored;
    if (stored === undefined) return false;
    const state = this.#state(target.db);
    batch.del(target.metadataKey);
    const expireMs = recordExpireMs(stored);
    if (expireMs !== 0) batch.del(expiryKey(expireMs, state.physId, target.key));
    this.#stageCounts(state, -1, expireMs !== 0 ? -1 : 0);
    if (target.live === undefined) this.#stagedExpired++;
    this.#stageKey(target);
    return true;
  }

  /**
   * Adds the counter records, hands the batch to `ctx.write`, then applies the
   * counters in memory and fires onKeyModified for every staged key (unless
   * `quiet`: a rewrite no client can tell from the old record, as Redis's
   * dbOverwrite of an unshared string, signals no WATCH).
   */
  commit(ctx: Pick<KeyspaceContext, 'write'>, batch: WriteBatch, quiet = false): void {
    const states = this.#stagedStates;
    const stateCount = this.#stagedStateCount;
    for (let index = 0; index < stateCount; index++) {
      const state = states[index]!;
      if (state.stagedKeys !== 0 || state.stagedExpires !== 0) {
        batch.put(state.counterKey, encodeCounters(state.keys + state.stagedKeys, state.expires + state.stagedExpires));
      }
    }
    if (batch.length > 0) ctx.write(batch);
    for (let index = 0; index < stateCount; index++) {
      const state = states[index]!;
      state.keys += state.stagedKeys;
      state.expires += state.stagedExpires;
      this.#expiringKeys += state.stagedExpires;
      assert(state.keys >= 0 && state.expires >= 0 && state.expires <= state.keys, 'counters stay consistent');
    }
    this.stats.expiredKeys += this.#stagedExpired;
    const dbs = this.#stagedKeyDbs;
    const keys = this.#stagedKeys;
    const count = this.#stagedCount;
    try {
      if (!quiet) for (let index = 0; index < count; index++) this.hooks.onKeyModified(dbs[index]!, keys[index]!);
    } finally {
      this.#clearStaging();
    }
  }

  /** Writes `record` as `target`'s value in a batch of its own (`quiet`: see commit()). */
  put(ctx: KeyspaceContext, target: StoredKey, record: Buffer, quiet = false): void {
    const batch = this.begin();
    this.stagePut(batch, target, record);
    this.commit(ctx, batch, quiet);
  }

  /** Deletes `target` in a batch of its own. @returns whether a record was stored */
  remove(ctx: KeyspaceContext, target: StoredKey): boolean {
    const batch = this.begin();
    const removed = this.stageDelete(batch, target);
    if (removed) this.commit(ctx, batch);
    return removed;
  }

  // ---------------------------------------------------------------- collections

  /**
   * The first half of moving or copying `source` to `target` (which may be in
   * another db): strings keep their bytes; a collection gets a new version,
   * and copies of its subkeys and score entries go into the transfer's build,
   * read at one snapshot in slices (walk.ts) and written ahead between them
   * when the command can (build.ts): a Promise once it needs more than one
   * slice. O(N) in the collection's size. The caller stages `record` as
   * `target` (stagePut) in its turn to write, into `begin(build.finish())`.
   * Both keys must stay as loaded until then (the RESP dispatcher locks them).
   * @throws LimitExceededError at once for a collection one batch cannot hold (inside EXEC it must)
   */
  copyForTransfer(ctx: KeyspaceContext, source: StoredKey, target: StoredKey): MaybePromise<Transfer> {
    const record = source.live;
    assert(record !== undefined, 'the key to transfer is live');
    const version = this.newVersion(ctx.nowMs, target.stored);
    const build = new VersionBuild(this, target.db, target.key, version);
    const transfer: Transfer = { record: withVersion(record, version, recordExpireMs(record)), build };
    if (recordType(record) === KeyType.string) return transfer;
    // Refused at once, rather than after reading it all.
    checkBatchRoom('copy', source.key, recordSize(record), recordType(record) === KeyType.zset ? 2 : 1);
    return then(drive(this.#copyEntries(ctx, build, source, target)), () => transfer);
  }

  *#copyEntries(ctx: KeyspaceContext, build: VersionBuild, source: StoredKey, target: StoredKey): Steps<void> {
    const sourcePhys = this.#state(source.db).physId;
    const targetPhys = this.#state(target.db).physId;
    const sourceVersion = recordVersion(source.live!);
    const version = build.version;
    const walk = new Walk(this.engine);
    const between = (): Promise<void> | undefined => (build.writeAhead(ctx) ? build.backpressure() : undefined);
    // A batch's worth staged ends the slice (the walk's cursor looks at its budget every 64 entries).
    const charge = (): void => {
      if (build.full(ctx)) walk.spend(walkSlice.entriesMax);
    };
    try {
      yield* visitRange(
        walk,
        rangeOf(subkeyPrefix(sourcePhys, source.key, sourceVersion)),
        (key, value) => {
          build.put(encodeSubkey(targetPhys, target.key, version, decodeSubkey(key).field), value);
          charge();
        },
        between,
      );
      yield* visitRange(
        walk,
        rangeOf(scorePrefix(sourcePhys, source.key, sourceVersion)),
        (key) => {
          const { score, member } = decodeScoreKey(key);
          build.put(encodeScoreKey(targetPhys, target.key, version, score, member), emptyValue);
          charge();
        },
        between,
      );
      between();
    } catch (error) {
      build.abandon(ctx);
      throw error;
    } finally {
      yield* walk.close();
    }
  }

  // ---------------------------------------------------------------- iteration

  /**
   * SCAN over logical `db`: examines up to `count` keys in key order after
   * the cursor's position and returns the live ones that match.
   */
  scan(db: number, cursor: number, options: ScanOptions, nowMs: number): MaybePromise<ScanResult> {
    const state = this.#state(db);
    const scope = `db:${db}`;
    const resume = cursor === 0 ? undefined : this.scanCursors.resolve(scope, cursor);
    const count = Math.min(Math.max(1, Math.trunc(options.count)), scanCountMax);
    const pattern = options.match !== undefined && !matchesEverything(options.match) ? options.match : undefined;
    const type = options.type?.toLowerCase();
    const range = this.#keyRange(state.physId, pattern);
    if (resume !== undefined) {
      const after = metadataKey(state.physId, resume);
      if (range.gte === undefined || Buffer.compare(after, range.gte) >= 0) {
        delete range.gte;
        range.gt = after;
      }
    }
    range.limit = count + 1;
    // Deleted keys' tombstones count too, so that a call over a range of them stays as bounded as COUNT says:
    // it may return fewer keys, even none, with a cursor that goes on (Redis's SCAN may as well).
    range.hiddenMax = count * scanHiddenPerCount;
    const keys: Buffer[] = [];
    let examined = 0;
    let last: Buffer | undefined;
    let more = false;
    const stopped: { after?: Buffer | undefined } = {};
    const done = this.#forEach(
      range,
      (engineKey, record) => {
        if (examined === count) {
          more = true; // a (count + 1)-th entry exists: the iteration goes on after `last`
          return false;
        }
        examined++;
        const key = engineKey.subarray(metadataKeyPrefixBytes);
        last = key;
        if (this.#visible(engineKey, record, key, nowMs, pattern, type)) keys.push(key);
        return true;
      },
      stopped,
    );
    return then(done, () => {
      const after = stopped.after;
      if (after !== undefined && after.length >= metadataKeyPrefixBytes && after.subarray(0, metadataKeyPrefixBytes).equals(metadataPrefix(state.physId))) {
        // Ended early among hidden entries of this db: go on after the last one passed (past the db, it is done).
        return { cursor: this.scanCursors.register(scope, after.subarray(metadataKeyPrefixBytes)), keys };
      }
      return { cursor: more && last !== undefined ? this.scanCursors.register(scope, last) : 0, keys };
    });
  }

  /**
   * KEYS: every live key of `db` matching `pattern`, as they were when it
   * started. O(N) in the keys examined, deleted ones included, walked in
   * slices (walk.ts): a Promise when it takes more than one.
   */
  keys(db: number, pattern: Buffer, nowMs: number): MaybePromise<Buffer[]> {
    const state = this.#state(db);
    const glob = matchesEverything(pattern) ? undefined : pattern;
    const keys: Buffer[] = [];
    const done = walkEntries(this.engine, this.#keyRange(state.physId, glob), (engineKey, record) => {
      const key = engineKey.subarray(metadataKeyPrefixBytes);
      if (this.#visible(engineKey, record, key, nowMs, glob, undefined)) keys.push(key);
    });
    return then(done, () => keys);
  }

  /**
   * RANDOMKEY: a live key of `db`, or undefined. An ordered key space has no
   * random access by position. A db of at most randomKeyWalkMax keys is walked
   * to a uniformly chosen position; a larger one is entered at a random point
   * between its first and last keys, taking the next live key (wrapping
   * around), so keys after large gaps in key order are picked more often.
   * Cost: O(min(N, randomKeyWalkMax)) or O(log N), plus skipped expired keys
   * and the tombstones of deleted keys passed on the way, walked in slices
   * (walk.ts): a Promise when it takes more than one.
   */
  randomKey(db: number, nowMs: number): MaybePromise<Buffer | undefined> {
    const state = this.#state(db);
    if (state.keys === 0) return undefined;
    return drive(this.#randomKeySteps(metadataPrefix(state.physId), state.keys, nowMs));
  }

  *#randomKeySteps(prefix: Buffer, keys: number, nowMs: number): Steps<Buffer | undefined> {
    const end = prefixEnd(prefix)!;
    const walk = new Walk(this.engine);
    try {
      let seek = prefix;
      let skip = 0;
      if (keys <= randomKeyWalkMax) skip = Math.floor(Math.random() * keys);
      else {
        let first: Buffer | undefined;
        let last: Buffer | undefined;
        yield* visitRange(walk, { gte: prefix, lt: end, limit: 1 }, (key) => {
          first = key;
        });
        yield* visitRange(walk, { gte: prefix, lt: end, limit: 1, reverse: true }, (key) => {
          last = key;
        });
        if (first === undefined || last === undefined) return undefined;
        seek = randomBetween(first, last);
      }
      // The first live key at or after `seek`, skipping `skip` entries first, wrapping around to `prefix` once:
      // past expired keys not yet swept too, however many (Redis's RANDOMKEY deletes them and draws again).
      let found: Buffer | undefined;
      let seen = 0;
      const pick = (engineKey: Buffer, record: Buffer): boolean => {
        if (seen++ < skip) return true;
        if (isExpired(record, nowMs)) return true;
        found = engineKey.subarray(metadataKeyPrefixBytes);
        return false;
      };
      yield* visitRange(walk, { gte: seek, lt: end }, pick);
      if (found !== undefined) return found;
      // Wrap around: the keys before the starting point (all of them when the walk started at the first).
      yield* visitRange(walk, seek === prefix ? { gte: prefix, lt: end } : { gte: prefix, lt: seek }, pick);
      return found;
    } finally {
      yield* walk.close();
    }
  }

  // ---------------------------------------------------------------- whole databases

  /** FLUSHDB: points `db` at a fresh, empty physical db. O(1); compaction reclaims the old data. */
  flushDb(ctx: KeyspaceContext, db: number): void {
    const old = this.#state(db);
    const fresh = this.#newState();
    this.#dbs[db] = fresh;
    this.#byPhys.delete(old.physId);
    this.#byPhys.set(fresh.physId, db);
    this.#forgetExpiring(old);
    const batch = new WriteBatch().put(dbTableKey, this.#encodeTable()).del(old.counterKey);
    ctx.write(batch);
    this.hooks.onDbModified(db, this.#change(old, fresh, ctx.nowMs));
  }

  /** FLUSHALL: FLUSHDB of every logical db, in one batch. */
  flushAll(ctx: KeyspaceContext): void {
    const olds = this.#dbs.slice();
    const batch = new WriteBatch();
    for (let db = 0; db < this.#dbs.length; db++) {
      const fresh = this.#newState();
      this.#byPhys.delete(olds[db]!.physId);
      this.#byPhys.set(fresh.physId, db);
      this.#dbs[db] = fresh;
      this.#forgetExpiring(olds[db]!);
      batch.del(olds[db]!.counterKey);
    }
    batch.put(dbTableKey, this.#encodeTable());
    ctx.write(batch);
    for (let db = 0; db < this.databases; db++) this.hooks.onDbModified(db, this.#change(olds[db]!, this.#dbs[db]!, ctx.nowMs));
  }

  /** SWAPDB: exchanges the physical dbs behind two logical ones. O(1). */
  swapDb(ctx: KeyspaceContext, first: number, second: number): void {
    if (first === second) return;
    const a = this.#state(first);
    const b = this.#state(second);
    this.#dbs[first] = b;
    this.#dbs[second] = a;
    this.#byPhys.set(b.physId, first);
    this.#byPhys.set(a.physId, second);
    ctx.write(new WriteBatch().put(dbTableKey, this.#encodeTable()));
    this.hooks.onDbModified(first, this.#change(a, b, ctx.nowMs));
    this.hooks.onDbModified(second, this.#change(b, a, ctx.nowMs));
  }

  // ---------------------------------------------------------------- expiry

  /**
   * Deletes up to `limit` keys whose expiry time has passed (metadata,
   * expiry-index entry and counters, one batch), oldest first, and drops
   * expiry-index entries that no longer match a key. The server calls it on a
   * timer through its command queue. O(limit): it starts after the last entry
   * the previous sweep took or passed, and passes at most
   * limit * sweepHiddenPerKey tombstones (then `more`).
   */
  sweepExpired(ctx: Pick<KeyspaceContext, 'nowMs' | 'write'>, limit: number): MaybePromise<SweepResult> {
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidArgumentError(`Cannot sweep ${limit} keys: the limit must be a positive integer`);
    // Nothing can be due: skip the walk. Not only for speed: an engine iterator
    // orders the memtable's pending keys first, up to a few ms of stall.
    if (this.#expiringKeys === 0 && !this.#expiryIndexMayHoldStale) return { expired: 0, stale: 0, more: false };
    const due: Buffer[] = [];
    const range: IteratorOptions = { lt: expiryBound(ctx.nowMs), limit, hiddenMax: limit * sweepHiddenPerKey };
    if (this.#sweptTo === undefined) range.gte = tagPrefix(KeyTag.expiry);
    else range.gt = this.#sweptTo;
    const stopped: { after?: Buffer | undefined } = {};
    const collected = this.#forEach(
      range,
      (key) => {
        due.push(key);
      },
      stopped,
    );
    return then(collected, () => {
      // Everything up to the last entry taken (deleted below) or passed (tombstones) is gone.
      const passed = stopped.after ?? due[due.length - 1];
      if (passed !== undefined) this.#sweepAfter(passed);
      const batch = this.begin();
      let expired = 0;
      let stale = 0;
      for (const engineKey of due) {
        const { expireMs, physDb, userKey } = decodeExpiryKey(engineKey);
        const db = this.#byPhys.get(physDb);
        const target = db === undefined ? undefined : this.load(db, userKey, ctx.nowMs);
        if (target?.stored !== undefined && recordExpireMs(target.stored) === expireMs) {
          this.stageDelete(batch, target);
          expired++;
        } else {
          batch.del(engineKey);
          stale++;
        }
      }
      this.commit(ctx, batch);
      const more = due.length === limit || stopped.after !== undefined;
      if (!more && this.#expiringKeys === 0) return then(this.#expiryIndexEmpty(), (empty) => {
        if (empty) this.#expiryIndexMayHoldStale = false;
        return { expired, stale, more };
      });
      return { expired, stale, more };
    });
  }

  /** The next sweep starts after `key`, an expiry-index entry. */
  #sweepAfter(key: Buffer): void {
    this.#sweptTo = key;
    this.#sweptToMs = decodeExpiryKey(key).expireMs;
  }

  #sweepFromStart(): void {
    this.#sweptTo = undefined;
    this.#sweptToMs = -1;
  }

  /** Whether the expiry index holds no entry at all, due or not (its first key is looked for). */
  #expiryIndexEmpty(): MaybePromise<boolean> {
    let empty = true;
    // Up to #sweptTo every entry is deleted: the walk need not pass their tombstones again.
    const range: IteratorOptions = { lt: tagPrefix(KeyTag.expiry + 1), limit: 1 };
    if (this.#sweptTo === undefined) range.gte = tagPrefix(KeyTag.expiry);
    else range.gt = this.#sweptTo;
    const walked = this.#forEach(range, () => {
      empty = false;
    });
    return then(walked, () => empty);
  }

  /** A db's expiring keys leave the total (FLUSHDB, FLUSHALL); its index entries stay until swept or compacted. */
  #forgetExpiring(state: DbState): void {
    this.#expiringKeys -= state.expires;
    if (state.expires > 0) this.#expiryIndexMayHoldStale = true;
  }

  // ---------------------------------------------------------------- private

  #state(db: number): DbState {
    const state = this.#dbs[db];
    if (state === undefined || db >= this.databases) throw new InvalidArgumentError(`Cannot use database ${db}: there are ${this.databases}`);
    return state;
  }

  #stateOf(state: DbState, key: Buffer, nowMs: number): KeyState {
    const engineKey = metadataKey(state.physId, key);
    const record = this.engine.get(engineKey);
    if (record === undefined) return 'absent';
    checkRecord(record, engineKey);
    return isExpired(record, nowMs) ? 'expired' : 'live';
  }

  #change(before: DbState, after: DbState, nowMs: number): DbChange {
    return {
      before: (key) => this.#stateOf(before, key, nowMs),
      after: (key) => this.#stateOf(after, key, nowMs),
    };
  }

  #stageCounts(state: DbState, keys: number, expires: number): void {
    if (!state.staged) {
      state.staged = true;
      this.#stagedStates[this.#stagedStateCount++] = state;
    }
    state.stagedKeys += keys;
    state.stagedExpires += expires;
  }

  #clearStaging(): void {
    for (let index = 0; index < this.#stagedStateCount; index++) {
      const state = this.#stagedStates[index]!;
      state.staged = false;
      state.stagedKeys = 0;
      state.stagedExpires = 0;
    }
    this.#stagedStateCount = 0;
    this.#stagedCount = 0;
    // After a command that staged many keys (MSET, FLUSHDB), let their Buffers go.
    if (this.#stagedKeys.length > stagedKeysKeptMax) {
      this.#stagedKeys.length = 0;
      this.#stagedKeyDbs.length = 0;
    }
    this.#stagedExpired = 0;
  }

  #stageKey(target: StoredKey): void {
    this.#stagedKeyDbs[this.#stagedCount] = target.db;
    this.#stagedKeys[this.#stagedCount++] = target.key;
  }

  /** Whether an `M` entry met by a scan is a live key that passes the MATCH and TYPE (lower-case) filters. */
  #visible(engineKey: Buffer, record: Buffer, key: Buffer, nowMs: number, pattern: Buffer | undefined, type: string | undefined): boolean {
    checkRecord(record, engineKey);
    if (isExpired(record, nowMs)) return false;
    if (type !== undefined && keyTypeNames[recordType(record) as KeyType] !== type) return false;
    return pattern === undefined || stringMatch(pattern, key);
  }

  /** The `M` range of a physical db, narrowed to the pattern's literal prefix. */
  #keyRange(physId: number, pattern: Buffer | undefined): IteratorOptions {
    const prefix = metadataKey(physId, pattern === undefined ? emptyValue : literalPrefix(pattern));
    return rangeOf(prefix);
  }

  /**
   * Visits the live entries of `options`' range until `visit` returns false.
   * With options.hiddenMax (LsmEngine), `stopped.after` receives the engine
   * key after which the walk ended early, having passed that many hidden
   * entries (tombstones of deleted keys, older versions).
   */
  #forEach(options: IteratorOptions, visit: (key: Buffer, value: Buffer) => boolean | void, stopped?: { after?: Buffer | undefined }): MaybePromise<void> {
    return forEachEntry(this.engine, options, visit, undefined, 'owned', stopped);
  }

  #newState(): DbState {
    const physId = this.#nextPhysId++;
    if (physId > physicalDbMax) throw new InvalidArgumentError('Cannot create a database: physical database ids are exhausted');
    return makeState(physId, 0, 0);
  }

  /** Reads `D` and every mapped `C` into memory, creating or extending the table as needed. */
  #loadTable(): DbTable {
    const stored = this.engine.get(dbTableKey);
    const table = stored === undefined ? undefined : decodeTable(stored);
    const physIds = table?.physIds.slice() ?? [];
    let nextPhysId = table?.nextPhysId ?? 0;
    while (physIds.length < this.databases) physIds.push(nextPhysId++);
    this.#dbs = physIds.map((physId) => {
      const counters = this.engine.get(counterKey(physId));
      const [keys, expires] = counters === undefined ? [0, 0] : decodeCounters(counters, physId);
      return makeState(physId, keys, expires);
    });
    this.#byPhys = new Map(physIds.map((physId, db) => [physId, db]));
    this.#nextPhysId = nextPhysId;
    this.#expiringKeys = this.#dbs.reduce((sum, state) => sum + state.expires, 0);
    this.#expiryIndexMayHoldStale = true;
    this.#sweepFromStart();
    return { physIds, nextPhysId, versionFloor: table?.versionFloor ?? 0 };
  }

  #encodeTable(): Buffer {
    return encodeTable({ physIds: this.#dbs.map((state) => state.physId), nextPhysId: this.#nextPhysId, versionFloor: this.#clock.last });
  }
}

// ---------------------------------------------------------------- helpers

function makeState(physId: number, keys: number, expires: number): DbState {
  return { physId, counterKey: counterKey(physId), keys, expires, stagedKeys: 0, stagedExpires: 0, staged: false };
}

function rangeOf(prefix: Buffer): IteratorOptions {
  const end = prefixEnd(prefix);
  return end === undefined ? { gte: prefix } : { gte: prefix, lt: end };
}

/** `fn(value)`, after `value` settles when it is a promise. */
/** The version a build marker names; undefined for a key this code cannot read (kept as it is). */
function buildMarkerVersion(key: Buffer): number | undefined {
  try {
    return decodeBuildMarker(key).version;
  } catch {
    return undefined;
  }
}

/** Whether no `S` or `Z` entry of the version the build marker `key` names is left. */
async function versionEmpty(engine: Engine, key: Buffer): Promise<boolean> {
  const { physDb, userKey, version } = decodeBuildMarker(key);
  for (const prefix of [subkeyPrefix(physDb, userKey, version), scorePrefix(physDb, userKey, version)]) {
    if ((await entriesOf(engine, { ...prefixRange(prefix), limit: 1 })).length > 0) return false;
  }
  return true;
}

/** Every entry of `range`, through the engine's asynchronous iterator. */
async function entriesOf(engine: Engine, range: IteratorOptions): Promise<Entry[]> {
  const iterator = engine.iterator(range);
  try {
    const out: Entry[] = [];
    for (let entries = await iterator.nextv(1024); entries.length > 0; entries = await iterator.nextv(1024)) out.push(...entries);
    return out;
  } finally {
    await iterator.close();
  }
}

function then<T, U>(value: MaybePromise<T>, fn: (settled: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/**
 * Writes the last batch of a collection copy holds besides the copied
 * entries, at most: the target's metadata, expiry put and delete and
 * counter, the source's metadata and expiry deletes and counter (RENAME,
 * MOVE), and the delete of the build marker when entries were written ahead
 * (build.ts). A STORE's: the metadata, an expiry delete, the counter and the
 * marker's delete (its old allowance of 7 kept).
 */
const batchSlack = { copy: 8, store: 7 } as const;

/**
 * Refuses at once a write of `elements` elements of `key` (a COPY, a STORE
 * result) that one batch cannot hold, at `writesPerElement` engine writes
 * each, rather than after building it. Inside EXEC the whole command is one
 * WAL record and must fit; elsewhere its entries are written ahead in many
 * batches (build.ts), but the limit stays, so that a command answers the
 * same in a transaction and out of it.
 * @throws LimitExceededError
 */
export function checkBatchRoom(verb: 'copy' | 'store', key: Buffer, elements: number, writesPerElement: number): void {
  const writes = elements * writesPerElement;
  if (writes + batchSlack[verb] <= batchOpsMax) return;
  throw new LimitExceededError(`Cannot ${verb} "${key.toString('latin1').slice(0, 64)}": its ${elements} elements need ${writes} writes in one batch, which holds at most ${batchOpsMax}`);
}

/** A key between `low` and `high` (inclusive), roughly uniform in key order. */
function randomBetween(low: Buffer, high: Buffer): Buffer {
  let index = 0;
  while (index < low.length && index < high.length && low[index] === high[index]) index++;
  const lowByte = low[index] ?? 0;
  const highByte = high[index] ?? 0;
  const out = Buffer.allocUnsafe(index + 5);
  low.copy(out, 0, 0, index);
  out[index] = lowByte + Math.floor(Math.random() * (Math.max(highByte, lowByte) - lowByte + 1));
  for (let extra = 1; extra <= 4; extra++) out[index + extra] = Math.floor(Math.random() * 256);
  return Buffer.compare(out, low) < 0 ? low : Buffer.compare(out, high) > 0 ? high : out;
}
