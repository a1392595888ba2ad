// The keyspace compaction filter's decisions (lib/keyspace/compaction-filter.ts),
// against a fake CompactionFilterContext standing for the segments: what it
// drops (unmapped physical dbs, subkeys of missing, string or other-version
// metadata) and what it must keep (live data, expired metadata and its E
// entry, subkeys of expired collections, keys it cannot read).

import { describe, expect, it } from 'vitest';
import { createCompactionFilter } from '../../../lib/keyspace/compaction-filter.js';
import { keyspaceCompactionFilter } from '../../../lib/keyspace/keyspace.js';
import { buildAbandoned, buildMarkerKey, counterKey, dbTableKey, expiryKey, metadataKey, scoreKey, subkey } from '../../../lib/keyspace/key-encoding.js';
import { encodeCounters, encodeTable } from '../../../lib/keyspace/db-table.js';
import { KeyType, collectionRecord, stringRecord } from '../../../lib/keyspace/metadata.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const now = 1_700_000_000_000;

function filterOver(entries: [Buffer, Buffer][]): { drop(key: Buffer): boolean; lookups: () => number } {
  const store = new Map(entries.map(([key, value]) => [key.toString('hex'), value]));
  let lookups = 0;
  const filter = createCompactionFilter(
    {},
    {
      nowMs: now,
      get: (key) => {
        lookups++;
        return store.get(key.toString('hex'));
      },
    },
  );
  return { drop: (key) => filter.drop(key, Buffer.alloc(0)), lookups: () => lookups };
}

describe('keyspace compaction filter', () => {
  const table: [Buffer, Buffer] = [dbTableKey, encodeTable({ physIds: [5, 1], nextPhysId: 6, versionFloor: 0 })];

  it('drops every kind of key of a physical db the table no longer maps', () => {
    const { drop } = filterOver([table]);
    expect(drop(metadataKey(0, b('k')))).toBe(true);
    expect(drop(counterKey(0))).toBe(true);
    expect(drop(expiryKey(now, 0, b('k')))).toBe(true);
    expect(drop(subkey(2, b('h'), 7, b('f')))).toBe(true);
    expect(drop(scoreKey(3, b('z'), 7, 1, b('m')))).toBe(true);
    expect(drop(metadataKey(5, b('k')))).toBe(false);
    expect(drop(counterKey(1))).toBe(false);
    expect(drop(dbTableKey)).toBe(false);
  });

  it('keeps expired metadata and its expiry entry: the sweep owns them and the counters', () => {
    const { drop } = filterOver([table, [metadataKey(5, b('k')), stringRecord(b('v'), now - 1000, 1)]]);
    expect(drop(metadataKey(5, b('k')))).toBe(false);
    expect(drop(expiryKey(now - 1000, 5, b('k')))).toBe(false);
  });

  it('drops subkeys whose collection is gone, replaced by another version, or now a string', () => {
    const { drop } = filterOver([
      table,
      [metadataKey(5, b('live')), collectionRecord(KeyType.hash, 0, 10, 1)],
      [metadataKey(5, b('replaced')), collectionRecord(KeyType.hash, 0, 20, 1)],
      [metadataKey(5, b('now-string')), stringRecord(b('v'), 0, 30)],
      [metadataKey(5, b('expired')), collectionRecord(KeyType.zset, now - 5, 40, 1)],
    ]);
    expect(drop(subkey(5, b('live'), 10, b('f')))).toBe(false);
    expect(drop(subkey(5, b('live'), 9, b('f')))).toBe(true);
    expect(drop(subkey(5, b('replaced'), 10, b('f')))).toBe(true);
    expect(drop(subkey(5, b('replaced'), 20, b('f')))).toBe(false);
    expect(drop(subkey(5, b('now-string'), 30, b('f')))).toBe(true);
    expect(drop(subkey(5, b('deleted'), 10, b('f')))).toBe(true);
    expect(drop(scoreKey(5, b('expired'), 40, 2.5, b('m')))).toBe(false); // a PERSIST in the memtable may have revived it
  });

  it('keeps the entries of a version under build, which no metadata names yet, not of an abandoned one, and drops markers of unmapped dbs', () => {
    const { drop } = filterOver([
      table,
      [metadataKey(5, b('dst')), collectionRecord(KeyType.zset, 0, 10, 1)],
      [buildMarkerKey(5, b('dst'), 11), Buffer.alloc(0)],
      [buildMarkerKey(5, b('new'), 12), Buffer.alloc(0)],
      [buildMarkerKey(5, b('gave-up'), 14), buildAbandoned],
    ]);
    expect(drop(subkey(5, b('dst'), 11, b('m')))).toBe(false); // metadata of another version, marker of this one
    expect(drop(scoreKey(5, b('dst'), 11, 1, b('m')))).toBe(false);
    expect(drop(subkey(5, b('new'), 12, b('m')))).toBe(false); // no metadata yet
    expect(drop(subkey(5, b('dst'), 9, b('m')))).toBe(true); // an old version: no marker
    expect(drop(subkey(5, b('new'), 13, b('m')))).toBe(true);
    expect(drop(subkey(5, b('gave-up'), 14, b('m')))).toBe(true); // its build was abandoned
    expect(drop(buildMarkerKey(5, b('dst'), 11))).toBe(false);
    expect(drop(buildMarkerKey(2, b('dst'), 11))).toBe(true);
  });

  it('looks up one collection’s metadata once for its consecutive subkeys', () => {
    const filter = filterOver([table, [metadataKey(1, b('h')), collectionRecord(KeyType.set, 0, 3, 3)]]);
    const baseline = filter.lookups();
    for (const field of ['a', 'b', 'c']) expect(filter.drop(subkey(1, b('h'), 3, b(field)))).toBe(false);
    expect(filter.lookups() - baseline).toBe(1);
  });

  it('keeps everything it cannot judge: no table in the segments, unknown tags, unreadable keys', () => {
    const noTable = filterOver([]);
    expect(noTable.drop(metadataKey(99, b('k')))).toBe(false);
    expect(noTable.drop(counterKey(99))).toBe(false);
    const { drop } = filterOver([table, [counterKey(5), encodeCounters(1, 0)]]);
    expect(drop(b('Xunknown'))).toBe(false);
    expect(drop(Buffer.from([0x53, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 1, 2]))).toBe(false);
    expect(drop(Buffer.from([0x4d, 0]))).toBe(false);
  });

  it('is named for the engine as the built JavaScript module, which exports createCompactionFilter', async () => {
    const spec = keyspaceCompactionFilter();
    expect(spec.module).toMatch(/dist\/lib\/keyspace\/compaction-filter\.js$/);
    const module = (await import(spec.module)) as { createCompactionFilter?: unknown };
    expect(typeof module.createCompactionFilter).toBe('function');
  });
});
