// The keyspace's compaction filter (lib/engine/engine.ts, CompactionFilter):
// the engine's compaction worker imports this module and asks, for the newest
// version of each key every snapshot sees, whether to drop it. It reclaims
// what the keyspace leaves behind on purpose, and nothing else:
//
// 1. Data of physical dbs the `D` table no longer maps (FLUSHDB, FLUSHALL):
//    `M`, `S`, `Z`, `E` and `C` keys carrying such an id. Ids are never
//    reused, so an unmapped id never comes back.
// 2. Subkeys (`S`) and score entries (`Z`) whose collection is gone: no
//    metadata for the key, metadata of a string, or metadata of another
//    version (the collection was deleted or replaced).
//    Unless a build marker (`B`, build.ts) of a build not abandoned names
//    the subkey's version: a command writes a new version's entries ahead of
//    the metadata that publishes it, and those are no one's yet, not dead.
//    The marker is put in the first batch of them and deleted in the batch
//    that writes the metadata (or marked abandoned), so what holds for
//    metadata below holds for it: a subkey in a segment has its marker there
//    too until a newer batch publishes or abandons its version.
// 3. List elements (`S` subkeys of a list of that version) outside the
//    list's [head, tail) index range: LTRIM and large pops only move the
//    indexes (list.ts). Safe with the segment view: an index enters the range
//    again only by a write to it, which is newer than the element dropped.
//
// What it never drops:
// - expired metadata and its `E` entry: the sweep deletes those and updates
//   the counters in the same batch, which keeps DBSIZE exact; a filter that
//   dropped them would leave the counters too high;
// - subkeys of expired collections: the filter reads metadata through
//   context.get, which sees segments only, never the memtable; an EXPIRE or
//   PERSIST still in the memtable may have made the collection live again, so
//   "expired" in the segments proves nothing. Once the sweep deletes the
//   metadata, rule 2 applies.
//
// Why the segment view is enough for the rest: a key's metadata (and the `D`
// record mapping its physical id) is written in the same batch as its
// subkeys or before them, and memtables reach segments in write order, so a
// subkey in a segment always has its metadata (or a newer record for that
// key) in the segments too. What the segments show as "gone" is gone.
//
// NB: a snapshot taken before a FLUSHDB or DEL may lose the data it would
// have read once compaction runs: the filter judges by the newest `D` and
// metadata, as RocksDB compaction filters do. The keyspace takes no
// long-lived snapshots.

import type { CompactionFilter, CompactionFilterContext } from '../engine/engine.js';
import { KeyTag, buildMarkerOf, collectionVersionEnd, dbTableKey, decodeSubkey, ownerOfCollectionKey } from './key-encoding.js';
import { KeyType, recordType, recordVersion } from './metadata.js';
import { decodeTable } from './db-table.js';
import { elementIndex, listBounds } from './list.js';

/** Builds the filter for one compaction (see the module header for what it drops). */
export function createCompactionFilter(_options: unknown, context: CompactionFilterContext): CompactionFilter {
  const table = context.get(dbTableKey);
  // No table in the segments: nothing here can belong to an unmapped db (the table precedes all data).
  const mapped = table === undefined ? undefined : new Set(decodeTable(table).physIds);
  let ownerKey: Buffer | undefined;
  let ownerRecord: Buffer | undefined;
  /**
   * The collection version judged last (`physdb | len | user key | version`,
   * the bytes after the tag: its `S` and `Z` keys share it) and the verdict:
   * the keys of one version are contiguous, and most of a compaction's are
   * judged by one comparison.
   */
  let group: Buffer | undefined;
  let verdict: 'drop' | 'keep' | 'list' = 'keep';

  const unmapped = (physDb: number): boolean => mapped !== undefined && !mapped.has(physDb);

  const collectionGone = (userKey: Buffer): boolean => {
    const end = collectionVersionEnd(userKey);
    if (end === undefined) return false; // a key this code cannot read is kept: dropping is irreversible
    if (group === undefined || group.length !== end - 1 || userKey.compare(group, 0, group.length, 1, end) !== 0) {
      group = Buffer.from(userKey.subarray(1, end));
      verdict = judge(userKey);
    }
    if (verdict === 'list') return userKey[0] === KeyTag.subkey && outsideList(ownerRecord!, userKey);
    return verdict === 'drop';
  };

  /** The verdict on the version of `userKey`: dead, live, or live with list elements to look at one by one. */
  const judge = (userKey: Buffer): 'drop' | 'keep' | 'list' => {
    let owner: { metadataKey: Buffer; version: number };
    try {
      owner = ownerOfCollectionKey(userKey);
    } catch {
      return 'keep';
    }
    if (ownerKey === undefined || !owner.metadataKey.equals(ownerKey)) {
      // One lookup serves every version of one key.
      ownerKey = owner.metadataKey;
      ownerRecord = context.get(ownerKey);
    }
    if (ownerRecord === undefined || recordType(ownerRecord) === KeyType.string || recordVersion(ownerRecord) !== owner.version) {
      // Unless the marker of a build still going names the version (empty: not buildAbandoned).
      return context.get(buildMarkerOf(userKey))?.length === 0 ? 'keep' : 'drop';
    }
    return recordType(ownerRecord) === KeyType.list ? 'list' : 'keep';
  };

  return {
    drop(userKey: Buffer): boolean {
      switch (userKey[0]) {
        case KeyTag.metadata:
        case KeyTag.counters:
          return userKey.length >= 5 && unmapped(userKey.readUInt32BE(1));
        case KeyTag.expiry:
          return userKey.length >= 13 && unmapped(userKey.readUInt32BE(9));
        case KeyTag.build:
          return userKey.length >= 5 && unmapped(userKey.readUInt32BE(1));
        case KeyTag.subkey:
        case KeyTag.score:
          if (userKey.length < 5) return false;
          return unmapped(userKey.readUInt32BE(1)) || collectionGone(userKey);
        default:
          return false; // the table itself, and anything this version does not know
      }
    },
  };
}

/** Rule 3: whether a subkey of a live list version lies outside [head, tail). Unreadable fields are kept. */
function outsideList(record: Buffer, userKey: Buffer): boolean {
  const bounds = listBounds(record);
  if (bounds === undefined) return false;
  let index: number | undefined;
  try {
    index = elementIndex(decodeSubkey(userKey).field);
  } catch {
    return false; // a key this code cannot read is kept: dropping is irreversible
  }
  return index !== undefined && (index < bounds.head || index >= bounds.tail);
}
