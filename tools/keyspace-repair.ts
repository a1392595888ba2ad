// Rebuilds the keyspace's derived records after `silt recover` lost part of a
// directory: the per-database counters (`C`) and the expiry index (`E`) are
// both functions of the metadata records (`M`), so when a lost block or WAL
// record took some `M` records (or some `C`/`E` records) with it, they no
// longer agree, DBSIZE and INFO keyspace are wrong, and the logical pass of
// `silt verify` (tools/logical-verify.ts) reports `logical-counter` and
// `logical-expiry` damage. Nothing is guessed: what is rebuilt is derived
// from the `M` records present, by the same rules the keyspace keeps them by
// (lib/keyspace/keyspace.ts) and the logical pass checks them by:
//
//   C  per mapped physical db: keys = every `M` record, expires = the
//      readable records with an expiry (an absent `C` means 0, 0; the
//      keyspace writes 0, 0 as a record too, so a missing one is written
//      only when the counts are not zero);
//   E  one entry per readable record with an expiry, with its time; an entry
//      whose key does not exist or expires at another time is deleted.
//
// Before those, two repairs of what the lost parts took from collections:
//
//   1. A key whose newest metadata record was lost while an older record of
//      it survived in older data (a collection written, compacted down, then
//      deleted or overwritten and written again with a new version that was
//      flushed above it) shows that older record again. The `S`/`Z` entries
//      of the lost version survive wherever they lay outside the lost part:
//      they carry a version newer than the metadata, which no write makes
//      (logical-orphan), no read sees, and no metadata can describe (their
//      type, size and expiry went with the lost record). They are deleted,
//      and each such key is listed: it now shows its older version, with
//      that version's type and expiry. The rule is the logical pass's: an
//      `S` or `Z` entry is an orphan when its version is newer than its
//      key's metadata, or equal to it under a string (or, for `Z`, under a
//      key that is not a sorted set). Entries of keys with no metadata at
//      all are dead, not orphans: compaction reclaims them.
//   2. Collections that lost members (their `S`/`Z` entries lay in a lost
//      block, or an older version came back with some of its entries already
//      reclaimed) are made to hold what is left, as a salvage keeps the
//      readable entries of a segment: a hash or set takes its stored member
//      count as its size; a sorted set keeps the members whose `S` and `Z`
//      entries both survived (the unmatched halves are deleted); a list keeps
//      its surviving elements in order, renumbered from its head. A
//      collection with nothing left is deleted. Each is listed in the report.
//
// Data of physical dbs the table does not map (flushed dbs awaiting
// compaction) is left alone. A directory without keyspace data (raw engine
// data) is left alone too.
//
// The database table (`D`) itself, when it was lost while keyspace data
// survived, cannot be derived: which logical db each physical id served is
// recorded nowhere else. It is rebuilt as the server builds it on a fresh
// directory, which is also what the server would do on opening the result:
// db N -> physical N for the default 16 dbs. That is exact for a directory
// where FLUSHDB, FLUSHALL and SWAPDB never ran; the report says it is an
// assumption. So that no id holding data is ever handed out again (a later
// FLUSHDB would bring its old keys back), the next id is set past every id
// found in the data; ids holding keys that the table does not map are listed
// (their logical db is unknown; the server's compaction reclaims unmapped
// data). The version floor is the largest collection version found.
// One walk over `S` and one over `Z` (one metadata read per key), then one
// over `M` for the collections, then one over `M` and one over `E` at one
// snapshot; the changes are written in batches of at most repairBatchOps
// operations.

import type { Snapshot } from '../lib/engine/engine.js';
import type { LsmEngine } from '../lib/engine/lsm-engine.js';
import { WriteBatch } from '../lib/engine/write-batch.js';
import { KvError } from '../lib/errors.js';
import { decodeCounters, decodeTable, encodeCounters, encodeTable, type DbTable } from '../lib/keyspace/db-table.js';
import {
  KeyTag,
  buildMarkerKey,
  counterKey,
  dbTableKey,
  decodeExpiryKey,
  decodeMetadataKey,
  decodeOrderedDouble,
  decodeScoreKey,
  decodeSubkey,
  expiryKey,
  metadataKey,
  physicalDbMax,
  prefixEnd,
  readUint64BE,
  scoreKey,
  scorePrefix,
  subkey,
  subkeyPrefix,
  writeUint64BE,
} from '../lib/keyspace/key-encoding.js';
import { elementIndex, listPayloadBytes } from '../lib/keyspace/list.js';
import { decodedEntries } from './logical-verify.js';
import { databasesDefault } from '../lib/limits.js';
import { KeyType, checkRecord, keyTypeNames, metadataHeaderBytes, recordExpireMs, recordSize, recordType, recordVersion, withSize, type KeyType as KeyTypeValue } from '../lib/keyspace/metadata.js';

/** Most operations in one repair batch. */
const repairBatchOps = 10_000;

/** Collections listed one by one in the report; past this only counted. */
const collectionsListedMax = 100;

/** Bytes of a sorted-set member's `S` value: its score. */
const scoreValueBytes = 8;
/** The value of a sorted set's `Z` entries: everything is in the key. */
const emptyValue = Buffer.alloc(0);

/** Bytes of the version in an `S` or `Z` key, after the user key (big-endian). */
const versionBytes = 8;

/** What the repair changed. */
export interface KeyspaceRepair {
  /** Why nothing was looked at, or null when the walk ran. */
  skipped: string | null;
  /**
   * Set when the database table was lost and rebuilt: db N -> physical N (an assumption, see
   * above), the next id, and the physical ids holding keys that it leaves unmapped.
   */
  table: { databases: number; nextPhysId: number; versionFloor: number; unmapped: { physId: number; keys: number }[] } | null;
  /** Collections that lost members, made to hold what is left (the first collectionsListedMax); size 0 means deleted. */
  collections: { db: number; key: string; type: string; sizeBefore: number; sizeAfter: number }[];
  collectionCount: number;
  /**
   * Keys that show an older version again because their newest metadata was lost (the first
   * collectionsListedMax): the record that shows (type, version, expiry; 0 none) and the entries
   * of the lost newer version that were deleted (`lostVersion` the newest of them); `deleted` when
   * that older version had no member left either, so the key was deleted (it is in `collections` too).
   */
  olderVersions: { db: number; key: string; type: string; version: number; expireMs: number; entriesRemoved: number; lostVersion: number; deleted: boolean }[];
  olderVersionCount: number;
  /** Counter records rewritten: the logical db, its physical id, what they said and what they say now. */
  counters: { db: number; physId: number; before: [keys: number, expires: number] | null; after: [keys: number, expires: number] }[];
  /** Expiry-index entries added for keys with an expiry and none. */
  expiryAdded: number;
  /** Expiry-index entries deleted: their key is gone or expires at another time. */
  expiryRemoved: number;
}

/** A repair that changed nothing. */
export function emptyKeyspaceRepair(): KeyspaceRepair {
  return { skipped: null, table: null, olderVersions: [], olderVersionCount: 0, collections: [], collectionCount: 0, counters: [], expiryAdded: 0, expiryRemoved: 0 };
}

/** True when the repair changed anything. */
export function repairedAnything(repair: KeyspaceRepair): boolean {
  return repair.table !== null || repair.olderVersionCount > 0 || repair.collectionCount > 0 || repair.counters.length > 0 || repair.expiryAdded > 0 || repair.expiryRemoved > 0;
}

/**
 * Makes the counters and the expiry index of an open, writable engine agree
 * with its metadata records.
 */
export async function repairKeyspaceIndexes(engine: LsmEngine): Promise<KeyspaceRepair> {
  const repair: KeyspaceRepair = emptyKeyspaceRepair();
  const tableValue = engine.get(dbTableKey);
  let rebuilt: DbTable | undefined;
  let physIds: number[];
  if (tableValue === undefined) {
    rebuilt = rebuildTable(engine);
    if (rebuilt === undefined) {
      repair.skipped = 'no keyspace data (no database table, no keyspace records)';
      return repair;
    }
    physIds = rebuilt.physIds;
  } else {
    try {
      physIds = decodeTable(tableValue).physIds;
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      repair.skipped = `the database table cannot be read (${error.message})`;
      return repair;
    }
  }
  const mapped = new Map(physIds.map((physId, db) => [physId, db]));
  if (rebuilt !== undefined) await engine.write(new WriteBatch().put(dbTableKey, encodeTable(rebuilt)));
  const shown = await removeOrphanedEntries(engine, mapped, repair);
  await repairCollections(engine, mapped, repair, shown);
  const counts = new Map(physIds.map((physId) => [physId, { keys: 0, expires: 0 }]));
  const batches: WriteBatch[] = [];
  let batch = new WriteBatch();
  let ops = 0;
  const stage = (change: (into: WriteBatch) => void): void => {
    change(batch);
    if (++ops % repairBatchOps === 0) {
      batches.push(batch);
      batch = new WriteBatch();
    }
  };

  const snapshot = engine.snapshot();
  try {
    // M: count, and make sure each expiry has its index entry.
    // Keys the keyspace cannot read are skipped: verify names them.
    for (const [{ physDb, userKey }, key, record] of decodedEntries(engine, KeyTag.metadata, snapshot, decodeMetadataKey)) {
      const count = counts.get(physDb);
      if (count === undefined) {
        if (rebuilt !== undefined) countUnmapped(repair, physDb);
        continue; // an unmapped (flushed) db: reclaimed by compaction
      }
      count.keys++;
      if (!readable(record, key)) continue;
      const expireMs = recordExpireMs(record);
      if (expireMs === 0) continue;
      count.expires++;
      const indexKey = expiryKey(expireMs, physDb, userKey);
      if (engine.get(indexKey, { snapshot }) === undefined) {
        stage((into) => into.put(indexKey, Buffer.alloc(0)));
        repair.expiryAdded++;
      }
    }

    // E: drop entries that no record stands behind.
    for (const [decoded, key] of decodedEntries(engine, KeyTag.expiry, snapshot, decodeExpiryKey)) {
      if (!mapped.has(decoded.physDb)) continue;
      const metaKey = metadataKey(decoded.physDb, decoded.userKey);
      const record = engine.get(metaKey, { snapshot });
      if (record !== undefined && readable(record, metaKey) && recordExpireMs(record) === decoded.expireMs) continue;
      const stale = Buffer.from(key);
      stage((into) => into.del(stale));
      repair.expiryRemoved++;
    }

    // C: one record per mapped db, as counted.
    for (const [physId, count] of counts) {
      const stored = engine.get(counterKey(physId), { snapshot });
      let before: [number, number] | null = null;
      if (stored !== undefined) {
        try {
          before = decodeCounters(stored, physId);
        } catch (error) {
          if (!(error instanceof KvError)) throw error;
        }
      } else if (count.keys === 0) {
        continue; // absent means 0, 0
      }
      if (before !== null && before[0] === count.keys && before[1] === count.expires) continue;
      stage((into) => into.put(counterKey(physId), encodeCounters(count.keys, count.expires)));
      repair.counters.push({ db: mapped.get(physId)!, physId, before, after: [count.keys, count.expires] });
    }
  } finally {
    snapshot.release();
  }
  if (rebuilt !== undefined) repair.table = { databases: rebuilt.physIds.length, nextPhysId: rebuilt.nextPhysId, versionFloor: rebuilt.versionFloor, unmapped: repair.table?.unmapped ?? [] };
  if (ops % repairBatchOps !== 0) batches.push(batch);
  for (const each of batches) await engine.write(each);
  return repair;
}

/**
 * Deletes the `S` and `Z` entries of mapped dbs that their key's metadata does not own (see the head
 * of this file, repair 1) and lists their keys. The `S` walk deletes a key's `Z` orphans with its `S`
 * ones; the `Z` walk, at a snapshot taken after those deletions, finds the keys with `Z` orphans only,
 * so each key is listed once.
 */
async function removeOrphanedEntries(engine: LsmEngine, mapped: Map<number, number>, repair: KeyspaceRepair): Promise<Map<string, OlderVersionShown>> {
  /** The keys listed, by metadata key (latin1), for repairCollections to mark the ones it deletes. */
  const listed = new Map<string, OlderVersionShown>();
  const writer = new BatchWriter(engine);
  for (const tag of [KeyTag.subkey, KeyTag.score]) {
    const decode: (key: Buffer) => { physDb: number; userKey: Buffer; version: number } = tag === KeyTag.subkey ? decodeSubkey : decodeScoreKey;
    const snapshot = engine.snapshot();
    try {
      /** The key whose entries are being walked: its metadata record, and its listing once an orphan is found. */
      let owner: { physDb: number; userKey: Buffer; record: Buffer | undefined; shown: OlderVersionShown | undefined } | undefined;
      for (const [{ physDb, userKey, version }, key] of decodedEntries(engine, tag, snapshot, decode)) {
        const db = mapped.get(physDb);
        if (db === undefined) continue; // an unmapped (flushed) db: reclaimed by compaction
        if (owner === undefined || owner.physDb !== physDb || !owner.userKey.equals(userKey)) {
          const metaKey = metadataKey(physDb, userKey);
          const record = engine.get(metaKey, { snapshot });
          owner = { physDb, userKey: Buffer.from(userKey), record: record !== undefined && readable(record, metaKey) ? record : undefined, shown: undefined };
        }
        const record = owner.record;
        if (record === undefined || !orphaned(tag, version, record)) continue; // owned, or dead (no metadata): compaction reclaims it
        if (underBuild(engine, snapshot, physDb, userKey, version)) continue; // written ahead of its metadata (lib/keyspace/build.ts): not damage
        if (owner.shown === undefined) {
          owner.shown = { db, key: owner.userKey.toString('hex'), type: keyTypeNames[recordType(record) as KeyTypeValue] ?? `type ${recordType(record)}`, version: recordVersion(record), expireMs: recordExpireMs(record), entriesRemoved: 0, lostVersion: version, deleted: false };
          repair.olderVersionCount++;
          if (repair.olderVersions.length < collectionsListedMax) {
            repair.olderVersions.push(owner.shown);
            listed.set(metadataKey(physDb, owner.userKey).toString('latin1'), owner.shown);
          }
          if (tag === KeyTag.subkey) await removeScoreOrphans(engine, snapshot, writer, physDb, owner.userKey, record, owner.shown);
        }
        owner.shown.entriesRemoved++;
        if (version > owner.shown.lostVersion) owner.shown.lostVersion = version;
        await writer.del(key);
      }
    } finally {
      snapshot.release();
    }
    await writer.finish();
  }
  return listed;
}

/** Stages the deletion of the `Z` entries of `userKey` that `record` does not own (read at `snapshot`). */
async function removeScoreOrphans(engine: LsmEngine, snapshot: Snapshot, writer: BatchWriter, physDb: number, userKey: Buffer, record: Buffer, shown: OlderVersionShown): Promise<void> {
  const version = recordVersion(record);
  // Versions are big-endian after the key: every version from `from` on sorts after its prefix.
  const from = recordType(record) === KeyType.zset ? version + 1 : version;
  const keyPrefix = scorePrefix(physDb, userKey, 0).subarray(0, -versionBytes);
  const end = prefixEnd(keyPrefix);
  const iterator = engine.iteratorSync({ gte: scorePrefix(physDb, userKey, from), ...(end === undefined ? {} : { lt: end }), snapshot });
  try {
    for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) {
      const entryVersion = readUint64BE(entry[0], keyPrefix.length);
      if (underBuild(engine, snapshot, physDb, userKey, entryVersion)) continue;
      if (entryVersion > shown.lostVersion) shown.lostVersion = entryVersion;
      shown.entriesRemoved++;
      await writer.del(entry[0]);
    }
  } finally {
    iterator.close();
  }
}

/** Whether a build marker (in either state) names `version` of `userKey`: its entries are a build's, reclaimed by compaction. */
function underBuild(engine: LsmEngine, snapshot: Snapshot, physDb: number, userKey: Buffer, version: number): boolean {
  return engine.get(buildMarkerKey(physDb, userKey, version), { snapshot }) !== undefined;
}

/** Whether an `S` or `Z` entry of `version` is one that `record`, its key's metadata, cannot own (the logical pass's logical-orphan). */
function orphaned(tag: number, version: number, record: Buffer): boolean {
  const owned = recordVersion(record);
  if (version !== owned) return version > owned; // older: a replaced version, dead
  const type = recordType(record);
  return type === KeyType.string || (tag === KeyTag.score && type !== KeyType.zset);
}

type OlderVersionShown = KeyspaceRepair['olderVersions'][number];

/** Deletions written in batches of repairBatchOps, while walks read at their own snapshots. */
class BatchWriter {
  readonly #engine: LsmEngine;
  #batch = new WriteBatch();

  constructor(engine: LsmEngine) {
    this.#engine = engine;
  }

  /** Stages the deletion of `key` (copied). */
  async del(key: Buffer): Promise<void> {
    this.#batch.del(Buffer.from(key));
    if (this.#batch.length >= repairBatchOps) await this.finish();
  }

  /** Writes what is staged. */
  async finish(): Promise<void> {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = new WriteBatch();
    await this.#engine.write(batch);
  }
}

/** Makes every collection of a mapped db hold what is left of it (see the head of this file, repair 2). */
async function repairCollections(engine: LsmEngine, mapped: Map<number, number>, repair: KeyspaceRepair, shown: Map<string, OlderVersionShown>): Promise<void> {
  let batch = new WriteBatch();
  let ops = 0;
  const flushIfFull = async (): Promise<void> => {
    if (ops < repairBatchOps) return;
    await engine.write(batch);
    batch = new WriteBatch();
    ops = 0;
  };
  const snapshot = engine.snapshot();
  try {
    const scan = (prefix: Buffer, visit: (key: Buffer, value: Buffer) => void): void => {
      const end = prefixEnd(prefix);
      const iterator = engine.iteratorSync({ gte: prefix, ...(end === undefined ? {} : { lt: end }), snapshot });
      try {
        for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) visit(entry[0], entry[1]);
      } finally {
        iterator.close();
      }
    };
    for (const [{ physDb, userKey }, metaKey, record] of decodedEntries(engine, KeyTag.metadata, snapshot, decodeMetadataKey)) {
      const db = mapped.get(physDb);
      if (db === undefined || !readable(record, metaKey)) continue;
      const type = recordType(record) as KeyTypeValue;
      if (type === KeyType.string) continue;
      const version = recordVersion(record);
      const size = recordSize(record);
      const ops0 = batch.length;
      let newRecord: Buffer | undefined = record;
      if (type === KeyType.hash || type === KeyType.set) {
        let count = 0;
        scan(subkeyPrefix(physDb, userKey, version), () => void count++);
        if (count !== size) newRecord = count === 0 ? undefined : withSize(record, count);
      } else if (type === KeyType.zset) {
        newRecord = repairZset(batch, scan, physDb, userKey, version, record, size);
      } else if (type === KeyType.list) {
        newRecord = repairList(batch, scan, physDb, userKey, version, record);
      }
      if (newRecord === record) continue;
      const key = Buffer.from(metaKey);
      if (newRecord === undefined) {
        batch.del(key);
        const older = shown.get(key.toString('latin1'));
        if (older !== undefined) older.deleted = true;
      } else batch.put(key, newRecord);
      ops += batch.length - ops0;
      repair.collectionCount++;
      if (repair.collections.length < collectionsListedMax) {
        repair.collections.push({ db, key: userKey.toString('hex'), type: keyTypeNames[type], sizeBefore: size, sizeAfter: newRecord === undefined ? 0 : recordSize(newRecord) });
      }
      await flushIfFull();
    }
  } finally {
    snapshot.release();
  }
  if (batch.length > 0) await engine.write(batch);
}

type Scan = (prefix: Buffer, visit: (key: Buffer, value: Buffer) => void) => void;

/**
 * A sorted set keeps every member one of its two entries still names: a
 * member's `S` entry (member -> score) and its `Z` entry (score, member) are
 * written in the same batch, so when a lost block took one of them, the other
 * says what it held, and the missing one is written again from it (`dump`
 * reads the members from `Z`, so what recover keeps is what dump shows). A
 * member whose `S` entry holds a valid score keeps that score, and `Z` entries
 * naming it with another score (versions a lost block had replaced) are
 * deleted; a member without a valid `S` entry is kept when exactly one `Z`
 * entry names it, and dropped when several do (nothing tells which is newer).
 * @returns the record to keep (the same one when whole), undefined to delete
 */
function repairZset(batch: WriteBatch, scan: Scan, physDb: number, userKey: Buffer, version: number, record: Buffer, size: number): Buffer | undefined {
  const prefix = subkeyPrefix(physDb, userKey, version);
  const zPrefix = scorePrefix(physDb, userKey, version);
  /** Member (latin1) -> the score of its valid `S` entry. */
  const sScores = new Map<string, number>();
  /** Member (latin1) -> its `S` entry's key, when that entry holds no valid score. */
  const badS = new Map<string, Buffer>();
  scan(prefix, (key, value) => {
    const member = key.subarray(prefix.length).toString('latin1');
    const score = value.length === scoreValueBytes ? decodeOrderedDouble(value, 0) : Number.NaN;
    if (Number.isNaN(score)) badS.set(member, Buffer.from(key));
    else sScores.set(member, score);
  });
  /** Member (latin1) -> the `Z` keys naming it. */
  const zKeys = new Map<string, Buffer[]>();
  scan(zPrefix, (key) => {
    const member = key.subarray(zPrefix.length + 8).toString('latin1');
    const keys = zKeys.get(member);
    if (keys === undefined) zKeys.set(member, [Buffer.from(key)]);
    else keys.push(Buffer.from(key));
  });
  let kept = 0;
  let changed = false;
  for (const [member, score] of sScores) {
    const wanted = scoreKey(physDb, userKey, version, score, Buffer.from(member, 'latin1'));
    const named = zKeys.get(member) ?? [];
    zKeys.delete(member);
    kept++;
    let found = false;
    for (const key of named) {
      if (key.equals(wanted)) found = true;
      else {
        batch.del(key);
        changed = true;
      }
    }
    if (!found) {
      batch.put(wanted, emptyValue);
      changed = true;
    }
  }
  const scoreBytes = Buffer.alloc(scoreValueBytes);
  for (const [member, keys] of zKeys) {
    if (keys.length === 1) {
      // The `S` entry is lost (or holds no valid score): the `Z` entry gives it again.
      scoreBytes.set(keys[0]!.subarray(zPrefix.length, zPrefix.length + 8));
      const score = decodeOrderedDouble(scoreBytes, 0);
      if (!Number.isNaN(score)) {
        batch.put(subkey(physDb, userKey, version, Buffer.from(member, 'latin1')), Buffer.from(scoreBytes));
        badS.delete(member);
        kept++;
        changed = true;
        continue;
      }
    }
    for (const key of keys) batch.del(key);
    changed = true;
  }
  for (const key of badS.values()) {
    batch.del(key);
    changed = true;
  }
  if (!changed && kept === size) return record;
  return kept === 0 ? undefined : withSize(record, kept);
}

/** A list keeps its surviving elements of [head, tail) in order, renumbered from head. @returns as repairZset */
function repairList(batch: WriteBatch, scan: Scan, physDb: number, userKey: Buffer, version: number, record: Buffer): Buffer | undefined {
  if (record.length !== metadataHeaderBytes + listPayloadBytes) return record; // malformed: verify names it, nothing to go by
  const head = readUint64BE(record, metadataHeaderBytes);
  const tail = readUint64BE(record, metadataHeaderBytes + 8);
  if (tail < head) return record;
  const prefix = subkeyPrefix(physDb, userKey, version);
  const elements: [index: number, value: Buffer][] = [];
  let whole = tail - head === recordSize(record);
  scan(prefix, (key, value) => {
    const index = elementIndex(key.subarray(prefix.length));
    if (index === undefined || index < head || index >= tail) return; // dead, or not an index: left to compaction and verify
    if (index !== head + elements.length) whole = false;
    elements.push([index, Buffer.from(value)]);
  });
  if (whole && elements.length === tail - head) return record;
  const field = Buffer.alloc(8);
  elements.forEach(([index, value], position) => {
    if (index === head + position) return;
    batch.del(subkey(physDb, userKey, version, keyField(index)));
    writeUint64BE(field, 0, head + position);
    batch.put(subkey(physDb, userKey, version, field), value);
  });
  if (elements.length === 0) return undefined;
  const updated = withSize(record, elements.length);
  writeUint64BE(updated, metadataHeaderBytes + 8, head + elements.length);
  return updated;
}

function keyField(index: number): Buffer {
  const field = Buffer.alloc(8);
  writeUint64BE(field, 0, index);
  return field;
}

/** Counts a key of an id the rebuilt table leaves unmapped (kept on repair.table until the walk ends). */
function countUnmapped(repair: KeyspaceRepair, physId: number): void {
  repair.table ??= { databases: 0, nextPhysId: 0, versionFloor: 0, unmapped: [] };
  const unmapped = repair.table.unmapped;
  const last = unmapped[unmapped.length - 1];
  if (last?.physId === physId) last.keys++;
  else unmapped.push({ physId, keys: 1 });
}

/**
 * The table the server would create on this directory (db N -> physical N, the default number of
 * dbs), with the next id past every physical id in the data and the version floor at the largest
 * version of a metadata record; undefined when no keyspace record is stored.
 */
function rebuildTable(engine: LsmEngine): DbTable | undefined {
  let maxPhysId = -1;
  let versionFloor = 0;
  // C, M, S, Z keys carry the physical id right after the tag: one seek per id found.
  for (const tag of [KeyTag.counters, KeyTag.metadata, KeyTag.subkey, KeyTag.score]) {
    let from = Buffer.of(tag);
    for (;;) {
      const iterator = engine.iteratorSync({ gte: from, lt: Buffer.of(tag + 1), limit: 1 });
      let key: Buffer | undefined;
      try {
        key = iterator.next()?.[0];
      } finally {
        iterator.close();
      }
      if (key === undefined || key.length < 5) break;
      const physId = key.readUInt32BE(1);
      if (physId > maxPhysId) maxPhysId = physId;
      if (physId >= physicalDbMax) break;
      from = Buffer.alloc(5);
      from[0] = tag;
      from.writeUInt32BE(physId + 1, 1);
    }
  }
  // E keys carry it after the expiry time, and M values hold the versions: one walk each.
  for (const [tag, visit] of [
    [KeyTag.expiry, (key: Buffer): void => {
      try {
        maxPhysId = Math.max(maxPhysId, decodeExpiryKey(key).physDb);
      } catch (error) {
        if (!(error instanceof KvError)) throw error;
      }
    }],
    [KeyTag.metadata, (key: Buffer, value: Buffer): void => {
      if (readable(value, key)) versionFloor = Math.max(versionFloor, recordVersion(value));
    }],
  ] as const) {
    const iterator = engine.iteratorSync({ gte: Buffer.of(tag), lt: Buffer.of(tag + 1) });
    try {
      for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) visit(entry[0], entry[1]);
    } finally {
      iterator.close();
    }
  }
  if (maxPhysId < 0) return undefined;
  const physIds = Array.from({ length: databasesDefault }, (_, db) => db);
  return { physIds, nextPhysId: Math.max(databasesDefault, maxPhysId + 1), versionFloor };
}

/** Whether the keyspace can read a record (checkRecord passes), as the logical pass counts expiries. */
function readable(record: Buffer, engineKey: Buffer): boolean {
  try {
    checkRecord(record, engineKey);
    return true;
  } catch (error) {
    if (!(error instanceof KvError)) throw error;
    return false;
  }
}
