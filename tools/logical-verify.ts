// The logical pass of `silt verify` (tools/verify.ts runs it after the
// physical passes): checks the Redis data the files encode, against the rules
// of docs/format.md, "Keyspace encoding", on a read-only open at one snapshot.
//
//   D  the database table decodes; every physical id a key carries was handed
//      out (below its next id);
//   C  each mapped db's counters equal its real number of keys and of keys
//      with an expiry (an absent C means 0, 0);
//   M  every record decodes (format, type, string size, list head/tail);
//      each collection's size equals its live members: the S subkeys under its
//      version (a list's in [head, tail), with no gap), and for a sorted set
//      the Z entries too, each S score matching its Z entry;
//   E  exactly one expiry entry per record with an expiry, with the same time,
//      and none for a record without one (or for no record): each record looks
//      up its entry, and a db's entries are matched one by one against their
//      records only when their count differs from the records that matched;
//   S, Z  no subkey carries a version newer than its key's metadata (nor sits
//      under a string): that is damage. Subkeys of older versions, of deleted
//      keys, of list indexes outside [head, tail), and any data of a physical
//      db the table no longer maps (FLUSHDB) are dead by design: the
//      compaction filter reclaims them, so they are reported as reclaimable
//      space (a note), not damage.
//
// Keys whose expiry has passed but which are still stored are the server's
// sweep's to delete: a note per db. Engine keys outside the encoding (an
// unknown tag) are a note. A directory with no `D` record holds no keyspace
// (raw engine data, the fixtures): the pass says so and checks nothing. It
// also stands aside when the physical passes found damage: reading damaged
// files would only repeat what they said.
//
// The walk is one iterator over the whole key space in key order (tags sort
// C < D < E < M < S < Z), plus point reads and per-collection scans at the
// same snapshot: O(entries + live subkeys) reads, O(1) memory besides the
// counters per physical db (and a sorted set's members while it is matched,
// up to zsetMatchInMemoryMax).
//
// Progress: the pass is a phase of verify's bar of its own, `verify DIR:
// checking keyspace` (recover's check of its result labels it its own way),
// in entries walked. Its total is an upper bound (every version stored in the
// live segments and WAL files; the walk meets the newest of each key), so the
// bar is closed at 100% when the checks end.

import type { Snapshot } from '../lib/engine/engine.js';
import { LsmEngine } from '../lib/engine/lsm-engine.js';
import { KvError } from '../lib/errors.js';
import { decodeCounters, decodeTable, type DbTable } from '../lib/keyspace/db-table.js';
import {
  KeyTag,
  counterKey,
  dbTableKey,
  buildMarkerOf,
  decodeBuildMarker,
  decodeCounterKey,
  decodeExpiryKey,
  decodeMetadataKey,
  decodeOrderedDouble,
  decodeScoreKey,
  decodeSubkey,
  expiryKey,
  metadataKey,
  prefixEnd,
  readUint64BE,
  scoreKey,
  scorePrefix,
  subkeyPrefix,
} from '../lib/keyspace/key-encoding.js';
import { KeyType, checkRecord, isExpired, metadataHeaderBytes, recordExpireMs, recordSize, recordType, recordVersion } from '../lib/keyspace/metadata.js';
import { formatBytes, keyRange, plural, renderKey } from './render.js';
import type { VerifyContext, VerifyPass, VerifyProblem } from './verify.js';

// ---------------------------------------------------------------- constants

/** Problems of one kind listed one by one; past this they are counted in one last problem. */
export const logicalProblemsListedMax = 100;

/** Keys named in a note (expired keys of a db). */
const examplesMax = 5;

/** Bytes of a list's metadata payload (lib/keyspace/list.ts: head u64, tail u64). */
const listPayloadBytes = 16;

/** Bytes of a sorted-set member's `S` value: the score (lib/keyspace/zset.ts). */
const scoreValueBytes = 8;

/**
 * Sorted sets up to this size are checked by matching their `S` entries to
 * one scan of their `Z` entries in memory, instead of a point read per member
 * (which cost most of the pass on sets of a few dozen members); larger ones
 * keep memory O(1) with a point read each.
 */
const zsetMatchInMemoryMax = 65_536;

/** Entries walked between two advances of the progress bar. */
const progressStep = 1024;

// ---------------------------------------------------------------- types

/** Problem kinds of this pass (docs/operations.md, "Problem kinds"). */
export type LogicalProblemKind =
  | 'logical-db-table'
  | 'logical-counter'
  | 'logical-metadata'
  | 'logical-size'
  | 'logical-orphan'
  | 'logical-expiry'
  | 'logical-key'
  | 'logical-expired'
  | 'logical-reclaimable'
  | 'logical-foreign';

/** Why dead data is dead (all reclaimed by the keyspace compaction filter). */
export type ReclaimReason = 'old-version' | 'deleted-key' | 'list-outside-range' | 'unmapped-db' | 'unfinished-build';

const reclaimReasonText: Record<ReclaimReason, string> = {
  'old-version': 'subkeys of replaced or deleted collection versions',
  'deleted-key': 'subkeys of keys that no longer exist',
  'list-outside-range': 'list elements outside [head, tail) (trimmed or popped)',
  'unmapped-db': 'data of flushed databases (physical ids the table no longer maps)',
  'unfinished-build': 'collection versions written ahead of their metadata (build markers): a STORE, COPY or RENAME still running, or one that never finished (reclaimed once abandoned: at once for a command that failed, after the next start for one a crash stopped)',
};

/** What the pass looked at (VerifyReport.logical). */
export interface LogicalSummary {
  /** Why nothing was checked, or null when the pass ran. */
  skipped: string | null;
  /** Logical dbs in the table. */
  databases: number;
  keys: number;
  collections: number;
  /** Live subkeys and score entries checked against their metadata. */
  members: number;
  expiryEntries: number;
  /** Keys stored but expired at the time of the check, awaiting the sweep. */
  expiredAwaitingSweep: number;
  reclaimable: { entries: number; bytes: number; byReason: Record<ReclaimReason, { entries: number; bytes: number }> };
  /** Engine keys outside the keyspace encoding. */
  foreignEntries: number;
}

export interface LogicalPassOptions {
  /** The moment expiry is judged at (default: when the pass runs). */
  nowMs?: number;
  /** Tests: the largest sorted set matched in memory (default zsetMatchInMemoryMax; 0 looks up every member). */
  zsetMatchInMemoryMax?: number;
}

/** The logical pass with default options. */
export const logicalPass: VerifyPass = createLogicalPass();

/** The logical pass; tests fix the clock. */
export function createLogicalPass(options: LogicalPassOptions = {}): VerifyPass {
  return {
    name: 'logical',
    async run(context) {
      const summary = emptySummary();
      context.report.logical = summary;
      if (context.report.damageCount > 0) {
        summary.skipped = 'the physical passes found damage';
        return;
      }
      // The engine pass's engine when it ran (verifyDirectory closes that one), else one of our own.
      const shared = context.engine;
      const engine = shared ?? (await LsmEngine.open(context.dir, { readOnly: true, fs: context.fs }));
      const snapshot = engine.snapshot();
      try {
        new LogicalCheck(context, engine, snapshot, summary, options.nowMs ?? Date.now(), options.zsetMatchInMemoryMax ?? zsetMatchInMemoryMax).run();
      } finally {
        snapshot.release();
        if (shared === undefined) await engine.close();
      }
    },
  };
}

function emptySummary(): LogicalSummary {
  const zero = (): { entries: number; bytes: number } => ({ entries: 0, bytes: 0 });
  return {
    skipped: null,
    databases: 0,
    keys: 0,
    collections: 0,
    members: 0,
    expiryEntries: 0,
    expiredAwaitingSweep: 0,
    reclaimable: { entries: 0, bytes: 0, byReason: { 'old-version': zero(), 'deleted-key': zero(), 'list-outside-range': zero(), 'unmapped-db': zero(), 'unfinished-build': zero() } },
    foreignEntries: 0,
  };
}

/** Counts kept per physical db while walking. */
interface PhysCounts {
  keys: number;
  expires: number;
  /** The stored `C` record, when there is one. */
  stored: [keys: number, expires: number] | undefined;
  /** Expired keys seen (count and the first few). */
  expired: number;
  expiredExamples: Buffer[];
  /** `E` entries of this db, and metadata records whose expiry found its `E` entry (see #checkExpiryEntries). */
  expiryEntries: number;
  expiryMatched: number;
}

/** The owner of the subkey group being walked. */
interface GroupOwner {
  /** `tag | physdb | len | key | version`, the group's prefix. */
  prefix: Buffer;
  physDb: number;
  userKey: Buffer;
  version: number;
  record: Buffer | undefined;
  /** Whether a build marker names the group's version (looked up when needed). */
  building?: boolean;
}

// ---------------------------------------------------------------- the check

class LogicalCheck {
  readonly #context: VerifyContext;
  readonly #engine: LsmEngine;
  readonly #snapshot: Snapshot;
  readonly #summary: LogicalSummary;
  readonly #nowMs: number;
  readonly #zsetMatchInMemoryMax: number;
  /** physical id -> logical db, for mapped ids. */
  #mapped = new Map<number, number>();
  #table: DbTable | undefined;
  readonly #counts = new Map<number, PhysCounts>();
  readonly #listed = new Map<LogicalProblemKind, number>();
  readonly #unlisted = new Map<LogicalProblemKind, number>();
  readonly #badPhysIds = new Set<number>();
  #group: GroupOwner | undefined;

  constructor(context: VerifyContext, engine: LsmEngine, snapshot: Snapshot, summary: LogicalSummary, nowMs: number, zsetInMemoryMax: number) {
    this.#context = context;
    this.#engine = engine;
    this.#snapshot = snapshot;
    this.#summary = summary;
    this.#nowMs = nowMs;
    this.#zsetMatchInMemoryMax = zsetInMemoryMax;
  }

  run(): void {
    const progress = this.#context.progress;
    const tableValue = this.#get(dbTableKey);
    if (tableValue === undefined) {
      this.#summary.skipped = 'no keyspace here (no database table): raw engine data is checked by the physical passes only';
      return;
    }
    try {
      this.#table = decodeTable(tableValue);
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      this.#add('damage', 'logical-db-table', `${error.message}: the server cannot map databases, so no logical check can run`, {});
      return;
    }
    this.#mapped = new Map(this.#table.physIds.map((physId, db) => [physId, db]));
    this.#summary.databases = this.#table.physIds.length;
    for (const physId of this.#table.physIds) this.#countsOf(physId);
    // The files are read: their bar ends at 100%, and this pass has its own, under its own label.
    progress.complete();
    progress.phase({ label: this.#context.keyspaceProgressLabel, total: this.#entriesAtMost(), unit: 'entries' });
    this.#walk();
    this.#checkExpiryEntries();
    this.#checkCounters();
    this.#noteExpired();
    this.#noteReclaimable();
    this.#noteForeign();
    // The total counted every version stored; the walk met only the newest of each key.
    progress.complete();
    // Counted when they happened (#add): listed here without counting them again.
    for (const [kind, count] of this.#unlisted) {
      this.#context.report.problems.push({ severity: severityOf(kind), kind, file: '.', offset: null, message: `... and ${plural(count, 'more problem')} of this kind, not listed one by one` });
    }
  }

  // ------------------------------------------------------------ the walk

  /**
   * Entries the walk meets at most, for its bar: every entry of the live segments and every op
   * of the live WAL files (the sequences above the segments'); the walk meets only the newest
   * version of each key. Undefined when the manifest was not read (no percentage then).
   */
  #entriesAtMost(): number | undefined {
    const manifest = this.#context.manifest;
    if (manifest === undefined) return undefined;
    const files = manifest.version.allFiles();
    const flushed = files.reduce((largest, meta) => Math.max(largest, meta.largestSequence), 0);
    return files.reduce((sum, meta) => sum + meta.entryCount, 0) + Math.max(0, this.#engine.stats().sequence - flushed);
  }

  #walk(): void {
    const progress = this.#context.progress;
    let walked = 0;
    const iterator = this.#engine.iteratorSync({ snapshot: this.#snapshot });
    try {
      for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) {
        // The bar in steps: reading the clock for every entry would cost more than the entry.
        if (++walked === progressStep) {
          progress.advance(walked);
          walked = 0;
        }
        const [key, value] = entry;
        try {
          this.#visit(key, value);
        } catch (error) {
          if (!(error instanceof KvError)) throw error;
          this.#add('damage', 'logical-key', `Engine key ${key.subarray(0, 48).toString('hex')} cannot be read as the keyspace encodes it: ${error.message}`, { engineKey: key });
        }
      }
      progress.advance(walked);
    } finally {
      iterator.close();
    }
  }

  #visit(key: Buffer, value: Buffer): void {
    switch (key[0]) {
      case KeyTag.counters:
        return this.#visitCounter(key, value);
      case KeyTag.dbTable:
        if (key.length !== 1) this.#foreign();
        return;
      case KeyTag.expiry:
        return this.#visitExpiry(key);
      case KeyTag.metadata:
        return this.#visitMetadata(key, value);
      case KeyTag.subkey:
      case KeyTag.score:
        return this.#visitSubkey(key, value);
      case KeyTag.build: {
        const { physDb } = decodeBuildMarker(key);
        if (this.#isMapped(physDb, key, value)) this.#reclaim('unfinished-build', key, value);
        return;
      }
      default:
        this.#foreign();
    }
  }

  #visitCounter(key: Buffer, value: Buffer): void {
    const physId = decodeCounterKey(key);
    if (!this.#isMapped(physId, key, value)) return;
    try {
      this.#countsOf(physId).stored = decodeCounters(value, physId);
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      this.#add('damage', 'logical-counter', `The counters of db ${this.#mapped.get(physId)} (physical ${physId}) cannot be read: ${error.message}`, { db: this.#mapped.get(physId), engineKey: key });
    }
  }

  /**
   * Counts an `E` entry; whether its key has that expiry is settled after the walk
   * (#checkExpiryEntries), which spares a random read of the metadata per entry.
   */
  #visitExpiry(key: Buffer): void {
    const { physDb } = decodeExpiryKey(key);
    if (!this.#isMapped(physDb, key, undefined)) return;
    this.#summary.expiryEntries++;
    this.#countsOf(physDb).expiryEntries++;
  }

  /**
   * Every `E` entry must name a key with exactly that expiry. The walk checked the
   * other direction: each record with an expiry looked up its own `E` entry (a read
   * in the small, cache-friendly `E` range). Those matches are distinct entries, so
   * when a db's matches equal its `E` entries, every entry matched and nothing is
   * left to check. Only a db where they differ has its entries checked one by one,
   * each against its key's metadata, to name the ones that match nothing.
   */
  #checkExpiryEntries(): void {
    const unmatched = new Set([...this.#counts].filter(([physId, counts]) => this.#mapped.has(physId) && counts.expiryEntries !== counts.expiryMatched).map(([physId]) => physId));
    if (unmatched.size === 0) return;
    // Keys that do not decode were reported by the walk (logical-key).
    for (const [decoded, key] of decodedEntries(this.#engine, KeyTag.expiry, this.#snapshot, decodeExpiryKey)) {
      if (unmatched.has(decoded.physDb)) this.#checkExpiryEntry(key, decoded);
    }
  }

  #checkExpiryEntry(key: Buffer, { expireMs, physDb, userKey }: ReturnType<typeof decodeExpiryKey>): void {
    const db = this.#mapped.get(physDb)!;
    const record = this.#get(metadataKey(physDb, userKey));
    const stored = record === undefined || !recordReadable(record) ? undefined : recordExpireMs(record);
    if (stored === expireMs) return;
    const found = record === undefined ? 'the key does not exist' : stored === undefined ? 'its metadata is unreadable' : stored === 0 ? 'the key has no expiry' : `the key expires at ${stored}`;
    this.#add('damage', 'logical-expiry', `${describeKey(userKey, db)}: the expiry index has an entry for ${expireMs} (${new Date(expireMs).toISOString()}), but ${found}; expected exactly one entry, with the key's own expiry time`, {
      db,
      userKey,
      engineKey: key,
    });
  }

  #visitMetadata(key: Buffer, record: Buffer): void {
    const { physDb, userKey } = decodeMetadataKey(key);
    if (!this.#isMapped(physDb, key, record)) return;
    const db = this.#mapped.get(physDb)!;
    const counts = this.#countsOf(physDb);
    counts.keys++;
    this.#summary.keys++;
    try {
      checkRecord(record, key);
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      this.#add('damage', 'logical-metadata', `${describeKey(userKey, db)}: ${error.message}`, { db, userKey, engineKey: key });
      return;
    }
    const expireMs = recordExpireMs(record);
    if (expireMs !== 0) {
      counts.expires++;
      if (expireMs > Number.MAX_SAFE_INTEGER) {
        this.#add('damage', 'logical-metadata', `${describeKey(userKey, db)}: expiry time ${expireMs} is beyond 2^53 ms, which silt never writes`, { db, userKey, engineKey: key });
      }
      if (this.#get(expiryKey(expireMs, physDb, userKey)) !== undefined) {
        counts.expiryMatched++;
      } else {
        this.#add('damage', 'logical-expiry', `${describeKey(userKey, db)} expires at ${expireMs} (${new Date(expireMs).toISOString()}) but the expiry index has no entry for it: the sweep would never delete it`, {
          db,
          userKey,
          engineKey: key,
        });
      }
      if (isExpired(record, this.#nowMs)) {
        counts.expired++;
        if (counts.expiredExamples.length < examplesMax) counts.expiredExamples.push(Buffer.from(userKey));
      }
    }
    const type = recordType(record);
    if (type === KeyType.string) return;
    this.#summary.collections++;
    if (recordSize(record) === 0) {
      this.#add('damage', 'logical-metadata', `${capitalized(typeLabel(type))} ${describeKey(userKey, db)}: stored with size 0, but an emptied collection is deleted, never stored`, { db, userKey, engineKey: key });
    }
    if (type === KeyType.list) this.#checkList(db, physDb, userKey, key, record);
    else if (type === KeyType.zset) this.#checkZset(db, physDb, userKey, key, record);
    else this.#checkFields(db, physDb, userKey, key, record, type === KeyType.hash ? 'hash' : 'set');
  }

  /** Hashes and sets: the size is the number of subkeys under the version. */
  #checkFields(db: number, physDb: number, userKey: Buffer, engineKey: Buffer, record: Buffer, kind: 'hash' | 'set'): void {
    let count = 0;
    this.#scan(subkeyPrefix(physDb, userKey, recordVersion(record)), () => {
      count++;
    });
    this.#summary.members += count;
    const size = recordSize(record);
    if (count !== size) {
      const unit = kind === 'hash' ? 'field' : 'member';
      this.#add('damage', 'logical-size', `${capitalized(kind)} ${describeKey(userKey, db)}: its metadata says ${plural(size, unit)}, ${plural(count, unit)} ${count === 1 ? 'is' : 'are'} stored under its version ${recordVersion(record)}`, {
        db,
        userKey,
        engineKey,
      });
    }
  }

  /** Lists: head and tail agree with the size, and every index in [head, tail) holds an element. */
  #checkList(db: number, physDb: number, userKey: Buffer, engineKey: Buffer, record: Buffer): void {
    const size = recordSize(record);
    const where = { db, userKey, engineKey };
    if (record.length !== metadataHeaderBytes + listPayloadBytes) {
      this.#add('damage', 'logical-metadata', `List ${describeKey(userKey, db)}: its record has ${record.length - metadataHeaderBytes} payload bytes, expected ${listPayloadBytes} (head, tail)`, where);
      return;
    }
    const head = readUint64BE(record, metadataHeaderBytes);
    const tail = readUint64BE(record, metadataHeaderBytes + 8);
    if (tail < head || tail - head !== size) {
      this.#add('damage', 'logical-metadata', `List ${describeKey(userKey, db)}: head ${head} and tail ${tail} do not span its size ${size}`, where);
      return;
    }
    const prefix = subkeyPrefix(physDb, userKey, recordVersion(record));
    let count = 0;
    let firstGap: number | undefined;
    let expected = head;
    let badIndex = false;
    this.#scan(prefix, (key) => {
      const field = key.subarray(prefix.length);
      if (field.length !== 8) {
        badIndex = true;
        return;
      }
      const index = readUint64BE(field, 0);
      if (index < head || index >= tail) return; // dead: counted by the subkey walk
      if (index !== expected && firstGap === undefined) firstGap = expected;
      expected = index + 1;
      count++;
    });
    this.#summary.members += count;
    if (badIndex) this.#add('damage', 'logical-key', `List ${describeKey(userKey, db)}: an element's field is not an 8-byte index`, where);
    if (count !== size || firstGap !== undefined) {
      const gap = firstGap === undefined ? '' : `; index ${firstGap} (position ${firstGap - head}) is missing`;
      this.#add('damage', 'logical-size', `List ${describeKey(userKey, db)}: its metadata says ${plural(size, 'element')} (indexes ${head} to ${tail - 1}), ${count} ${count === 1 ? 'is' : 'are'} stored${gap}`, where);
    }
  }

  /**
   * Sorted sets: one `S` (member -> score) and one `Z` (score, member) entry per member, agreeing, as many as the size.
   * Up to zsetMatchInMemoryMax members the `S` entries are matched against one scan of the `Z`
   * entries in memory; larger sets look up each member's `Z` entry (O(1) memory, a point read each).
   */
  #checkZset(db: number, physDb: number, userKey: Buffer, engineKey: Buffer, record: Buffer): void {
    const version = recordVersion(record);
    const size = recordSize(record);
    const where = { db, userKey, engineKey };
    const prefix = subkeyPrefix(physDb, userKey, version);
    const zPrefix = scorePrefix(physDb, userKey, version);
    // member (latin1) -> [the Z key suffix its S score calls for (score bytes + member, latin1), its position in S order, the score].
    const pending = size <= this.#zsetMatchInMemoryMax ? new Map<string, [wanted: string, position: number, score: number]>() : undefined;
    let members = 0;
    let unmatched = 0;
    let example: { position: number; text: string } | undefined;
    const miss = (position: number, text: string): void => {
      unmatched++;
      if (example === undefined || position < example.position) example = { position, text };
    };
    this.#scan(prefix, (key, value) => {
      const position = members++;
      const member = key.subarray(prefix.length);
      if (value.length !== scoreValueBytes) {
        miss(position, `member ${renderKey(member)} has a ${value.length}-byte score, expected ${scoreValueBytes}`);
        return;
      }
      const score = decodeOrderedDouble(value, 0);
      if (Number.isNaN(score)) {
        miss(position, `member ${renderKey(member)} (score ${score}) has no score index entry`);
        return;
      }
      // The exact engine key a lookup would find: the score re-encoded, then the member.
      const wanted = scoreKey(physDb, userKey, version, score, member);
      if (pending !== undefined) pending.set(member.toString('latin1'), [wanted.toString('latin1', zPrefix.length), position, score]);
      else if (this.#get(wanted) === undefined) miss(position, `member ${renderKey(member)} (score ${score}) has no score index entry`);
    });
    let indexed = 0;
    this.#scan(zPrefix, (key) => {
      indexed++;
      if (pending === undefined || key.length < zPrefix.length + scoreValueBytes) return;
      const member = key.toString('latin1', zPrefix.length + scoreValueBytes);
      const entry = pending.get(member);
      if (entry !== undefined && entry[0] === key.toString('latin1', zPrefix.length)) pending.delete(member);
    });
    for (const [member, [, position, score]] of pending ?? []) miss(position, `member ${renderKey(Buffer.from(member, 'latin1'))} (score ${score}) has no score index entry`);
    this.#summary.members += members + indexed;
    if (members !== size || indexed !== size || unmatched > 0) {
      const detail = unmatched > 0 ? `; ${plural(unmatched, 'member')} without a matching index entry, e.g. ${example!.text}` : '';
      this.#add('damage', 'logical-size', `Sorted set ${describeKey(userKey, db)}: its metadata says ${plural(size, 'member')}, ${members} member ${members === 1 ? 'entry is' : 'entries are'} and ${indexed} score index ${indexed === 1 ? 'entry is' : 'entries are'} stored under its version ${version}${detail}`, where);
    }
  }

  /** `S` and `Z` keys: live (checked with their metadata), dead (reclaimable), or newer than their metadata (damage). */
  #visitSubkey(key: Buffer, value: Buffer): void {
    const decoded = key[0] === KeyTag.score ? decodeScoreKey(key) : decodeSubkey(key);
    const { physDb, userKey, version } = decoded;
    if (!this.#isMapped(physDb, key, value)) return;
    const owner = this.#ownerOf(key, physDb, userKey, version);
    const record = owner.record;
    // A version written ahead of its metadata (lib/keyspace/build.ts): not the key's yet, nor damage.
    if ((record === undefined || (recordReadable(record) && recordVersion(record) < version)) && (owner.building ??= this.#get(buildMarkerOf(key)) !== undefined)) {
      return this.#reclaim('unfinished-build', key, value);
    }
    if (record === undefined) return this.#reclaim('deleted-key', key, value);
    if (!recordReadable(record)) return; // reported with the metadata
    const ownerVersion = recordVersion(record);
    if (ownerVersion > version) return this.#reclaim('old-version', key, value);
    const type = recordType(record);
    const db = this.#mapped.get(physDb)!;
    const tagName = key[0] === KeyTag.score ? 'score index entry' : 'subkey';
    if (ownerVersion < version) {
      this.#add('damage', 'logical-orphan', `${describeKey(userKey, db)}: a ${tagName} carries version ${version}, newer than its metadata's version ${ownerVersion}: no write makes that (a lost metadata update, or a foreign write)`, {
        db,
        userKey,
        engineKey: key,
      });
      return;
    }
    if (type === KeyType.string || (key[0] === KeyTag.score && type !== KeyType.zset)) {
      this.#add('damage', 'logical-orphan', `${describeKey(userKey, db)}: a ${tagName} carries the version of a ${typeLabel(type)}, which has none`, { db, userKey, engineKey: key });
      return;
    }
    if (type === KeyType.list && 'field' in decoded && outsideList(record, decoded.field)) this.#reclaim('list-outside-range', key, value);
  }

  /** The metadata of the collection a subkey belongs to; one point read per group of contiguous subkeys. */
  #ownerOf(key: Buffer, physDb: number, userKey: Buffer, version: number): GroupOwner {
    const prefixBytes = 9 + userKey.length + 8;
    const group = this.#group;
    if (group !== undefined && group.prefix.length === prefixBytes && key.subarray(1, prefixBytes).equals(group.prefix.subarray(1))) return group;
    const owner = { prefix: Buffer.from(key.subarray(0, prefixBytes)), physDb, userKey: Buffer.from(userKey), version, record: this.#get(metadataKey(physDb, userKey)) };
    this.#group = owner;
    return owner;
  }

  // ------------------------------------------------------------ after the walk

  #checkCounters(): void {
    for (const [physId, counts] of this.#counts) {
      const db = this.#mapped.get(physId);
      if (db === undefined) continue;
      const [keys, expires] = counts.stored ?? [0, 0];
      if (keys === counts.keys && expires === counts.expires) continue;
      const stored = counts.stored === undefined ? 'no counters record (0 keys, 0 with an expiry)' : `${plural(keys, 'key')}, ${expires} with an expiry`;
      this.#add(
        'damage',
        'logical-counter',
        `The counters of db ${db} (physical ${physId}) say ${stored}; expected ${plural(counts.keys, 'key')}, ${counts.expires} with an expiry (what is stored): DBSIZE and INFO keyspace would be wrong`,
        { db, engineKey: counterKey(physId) },
      );
    }
  }

  #noteExpired(): void {
    for (const [physId, counts] of this.#counts) {
      if (counts.expired === 0) continue;
      const db = this.#mapped.get(physId)!;
      this.#summary.expiredAwaitingSweep += counts.expired;
      const examples = counts.expiredExamples.map(renderKey).join(', ');
      this.#context.add({
        severity: 'note',
        kind: 'logical-expired',
        file: '.',
        offset: null,
        db,
        message: `db ${db}: ${plural(counts.expired, 'key')} expired but still stored (${examples}${counts.expired > counts.expiredExamples.length ? ', ...' : ''}): they read as absent, and the server's sweep deletes them`,
      });
    }
  }

  #noteReclaimable(): void {
    const reclaimable = this.#summary.reclaimable;
    if (reclaimable.entries === 0) return;
    const parts = (Object.entries(reclaimable.byReason) as [ReclaimReason, { entries: number; bytes: number }][])
      .filter(([, amount]) => amount.entries > 0)
      .map(([reason, amount]) => `${plural(amount.entries, 'entry', 'entries')}, ${formatBytes(amount.bytes)}: ${reclaimReasonText[reason]}`);
    this.#context.add({
      severity: 'note',
      kind: 'logical-reclaimable',
      file: '.',
      offset: null,
      message: `${plural(reclaimable.entries, 'dead entry', 'dead entries')} (${formatBytes(reclaimable.bytes)}) await compaction, which reclaims them: ${parts.join('; ')}`,
    });
  }

  #noteForeign(): void {
    const count = this.#summary.foreignEntries;
    if (count === 0) return;
    this.#context.add({
      severity: 'note',
      kind: 'logical-foreign',
      file: '.',
      offset: null,
      message: `${plural(count, 'engine key')} ${count === 1 ? 'lies' : 'lie'} outside the keyspace encoding (an unknown tag byte): the server neither reads nor deletes ${count === 1 ? 'it' : 'them'}`,
    });
  }

  // ------------------------------------------------------------ helpers

  /** Whether a keyspace key's physical id is mapped; dead data of unmapped ids is reclaimable, ids never handed out damage. */
  #isMapped(physId: number, key: Buffer, value: Buffer | undefined): boolean {
    if (this.#mapped.has(physId)) return true;
    if (this.#table !== undefined && physId >= this.#table.nextPhysId && !this.#badPhysIds.has(physId)) {
      this.#badPhysIds.add(physId);
      this.#add('damage', 'logical-db-table', `Engine key ${key.subarray(0, 48).toString('hex')} carries physical db ${physId}, which the database table never handed out (its next id is ${this.#table.nextPhysId})`, { engineKey: key });
    }
    this.#reclaim('unmapped-db', key, value);
    return false;
  }

  #reclaim(reason: ReclaimReason, key: Buffer, value: Buffer | undefined): void {
    const bytes = key.length + (value?.length ?? 0);
    const reclaimable = this.#summary.reclaimable;
    reclaimable.entries++;
    reclaimable.bytes += bytes;
    reclaimable.byReason[reason].entries++;
    reclaimable.byReason[reason].bytes += bytes;
  }

  #foreign(): void {
    this.#summary.foreignEntries++;
  }

  #countsOf(physId: number): PhysCounts {
    let counts = this.#counts.get(physId);
    if (counts === undefined) {
      counts = { keys: 0, expires: 0, stored: undefined, expired: 0, expiredExamples: [], expiryEntries: 0, expiryMatched: 0 };
      this.#counts.set(physId, counts);
    }
    return counts;
  }

  #get(key: Buffer): Buffer | undefined {
    return this.#engine.get(key, { snapshot: this.#snapshot });
  }

  #scan(prefix: Buffer, visit: (key: Buffer, value: Buffer) => void): void {
    const end = prefixEnd(prefix);
    const iterator = this.#engine.iteratorSync({ gte: prefix, ...(end === undefined ? {} : { lt: end }), snapshot: this.#snapshot });
    try {
      for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) visit(entry[0], entry[1]);
    } finally {
      iterator.close();
    }
  }

  /** Adds a problem, listing at most logicalProblemsListedMax of each kind. */
  #add(severity: 'damage' | 'note', kind: LogicalProblemKind, message: string, where: { db?: number | undefined; userKey?: Buffer; engineKey?: Buffer }): void {
    const listed = this.#listed.get(kind) ?? 0;
    if (listed >= logicalProblemsListedMax) {
      this.#unlisted.set(kind, (this.#unlisted.get(kind) ?? 0) + 1);
      const report = this.#context.report;
      if (severity === 'damage') report.damageCount++;
      else report.noteCount++;
      report.healthy = report.damageCount === 0;
      return;
    }
    this.#listed.set(kind, listed + 1);
    const problem: VerifyProblem = { severity, kind, file: '.', offset: null, message };
    if (where.db !== undefined) problem.db = where.db;
    if (where.userKey !== undefined) problem.key = where.userKey.toString('hex');
    if (where.engineKey !== undefined) problem.keyRange = keyRange(where.engineKey, where.engineKey);
    this.#context.add(problem);
  }
}

// ---------------------------------------------------------------- pure helpers

/**
 * The entries under the one-byte `tag` at `snapshot` whose keys `decode`
 * reads, decoded, with the key and value (views valid until the next step);
 * keys it cannot read (a KvError) are skipped: the logical walk names them.
 */
export function* decodedEntries<T>(engine: LsmEngine, tag: number, snapshot: Snapshot, decode: (key: Buffer) => T): Generator<[decoded: T, key: Buffer, value: Buffer]> {
  const iterator = engine.iteratorSync({ gte: Buffer.of(tag), lt: Buffer.of(tag + 1), snapshot });
  try {
    for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) {
      let decoded: T;
      try {
        decoded = decode(entry[0]);
      } catch (error) {
        if (!(error instanceof KvError)) throw error;
        continue;
      }
      yield [decoded, entry[0], entry[1]];
    }
  } finally {
    iterator.close();
  }
}

function severityOf(kind: LogicalProblemKind): 'damage' | 'note' {
  return kind === 'logical-expired' || kind === 'logical-reclaimable' || kind === 'logical-foreign' ? 'note' : 'damage';
}

/** Whether checkRecord passes (the metadata walk reports those that do not). */
function recordReadable(record: Buffer): boolean {
  try {
    checkRecord(record, Buffer.alloc(0));
    return true;
  } catch {
    return false; // reported once, by #visitMetadata
  }
}

/** Whether a list element's field (its index) lies outside the record's [head, tail). */
function outsideList(record: Buffer, field: Buffer): boolean {
  if (record.length < metadataHeaderBytes + listPayloadBytes || field.length !== 8) return false;
  const head = readUint64BE(record, metadataHeaderBytes);
  const tail = readUint64BE(record, metadataHeaderBytes + 8);
  const index = readUint64BE(field, 0);
  return index < head || index >= tail;
}

/** `key "user:1" in db 0` */
function describeKey(userKey: Buffer, db: number): string {
  return `key ${renderKey(userKey)} in db ${db}`;
}

function typeLabel(type: number): string {
  return ({ [KeyType.string]: 'string', [KeyType.hash]: 'hash', [KeyType.list]: 'list', [KeyType.set]: 'set', [KeyType.zset]: 'sorted set' } as Record<number, string>)[type] ?? `type ${type}`;
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
