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
// Data of physical dbs the table does not map (flushed dbs awaiting
// compaction) is left alone, as is a directory without a database table
// (raw engine data, or a table that was lost: nothing to map ids with).
// One walk over `M` and one over `E`, at one snapshot; the changes are
// written in batches of at most repairBatchOps operations.

import type { LsmEngine } from '../lib/engine/lsm-engine.js';
import { WriteBatch } from '../lib/engine/write-batch.js';
import { KvError } from '../lib/errors.js';
import { decodeCounters, decodeTable, encodeCounters } from '../lib/keyspace/db-table.js';
import { KeyTag, counterKey, dbTableKey, decodeExpiryKey, decodeMetadataKey, expiryKey, metadataKey } from '../lib/keyspace/key-encoding.js';
import { checkRecord, recordExpireMs } from '../lib/keyspace/metadata.js';

/** Most operations in one repair batch. */
const repairBatchOps = 10_000;

/** What the repair changed. */
export interface KeyspaceRepair {
  /** Why nothing was looked at, or null when the walk ran. */
  skipped: string | null;
  /** Counter records rewritten: the logical db, its physical id, what they said and what they say now. */
  counters: { db: number; physId: number; before: [keys: number, expires: number] | null; after: [keys: number, expires: number] }[];
  /** Expiry-index entries added for keys with an expiry and none. */
  expiryAdded: number;
  /** Expiry-index entries deleted: their key is gone or expires at another time. */
  expiryRemoved: number;
}

/** True when the repair changed anything. */
export function repairedAnything(repair: KeyspaceRepair): boolean {
  return repair.counters.length > 0 || repair.expiryAdded > 0 || repair.expiryRemoved > 0;
}

/**
 * Makes the counters and the expiry index of an open, writable engine agree
 * with its metadata records.
 */
export async function repairKeyspaceIndexes(engine: LsmEngine): Promise<KeyspaceRepair> {
  const repair: KeyspaceRepair = { skipped: null, counters: [], expiryAdded: 0, expiryRemoved: 0 };
  const tableValue = engine.get(dbTableKey);
  if (tableValue === undefined) {
    repair.skipped = 'no database table';
    return repair;
  }
  let physIds: number[];
  try {
    physIds = decodeTable(tableValue).physIds;
  } catch (error) {
    if (!(error instanceof KvError)) throw error;
    repair.skipped = `the database table cannot be read (${error.message})`;
    return repair;
  }
  const mapped = new Map(physIds.map((physId, db) => [physId, db]));
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
    const metadata = engine.iteratorSync({ gte: Buffer.of(KeyTag.metadata), lt: Buffer.of(KeyTag.metadata + 1), snapshot });
    try {
      for (let entry = metadata.next(); entry !== undefined; entry = metadata.next()) {
        const [key, record] = entry;
        let physDb: number;
        let userKey: Buffer;
        try {
          ({ physDb, userKey } = decodeMetadataKey(key));
        } catch (error) {
          if (!(error instanceof KvError)) throw error;
          continue; // not a key the keyspace can read; verify names it
        }
        const count = counts.get(physDb);
        if (count === undefined) continue; // an unmapped (flushed) db: reclaimed by compaction
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
    } finally {
      metadata.close();
    }

    // E: drop entries that no record stands behind.
    const expiry = engine.iteratorSync({ gte: Buffer.of(KeyTag.expiry), lt: Buffer.of(KeyTag.expiry + 1), snapshot });
    try {
      for (let entry = expiry.next(); entry !== undefined; entry = expiry.next()) {
        const key = entry[0];
        let decoded: ReturnType<typeof decodeExpiryKey>;
        try {
          decoded = decodeExpiryKey(key);
        } catch (error) {
          if (!(error instanceof KvError)) throw error;
          continue;
        }
        if (!mapped.has(decoded.physDb)) continue;
        const metaKey = metadataKey(decoded.physDb, decoded.userKey);
        const record = engine.get(metaKey, { snapshot });
        if (record !== undefined && readable(record, metaKey) && recordExpireMs(record) === decoded.expireMs) continue;
        const stale = Buffer.from(key);
        stage((into) => into.del(stale));
        repair.expiryRemoved++;
      }
    } finally {
      expiry.close();
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
  if (ops % repairBatchOps !== 0) batches.push(batch);
  for (const each of batches) await engine.write(each);
  return repair;
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
