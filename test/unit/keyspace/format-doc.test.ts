// The hex example of docs/format.md, "Keyspace encoding", re-encoded from the
// values it describes: the page and the code cannot drift apart silently.

import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { counterKey, dbTableKey, expiryKey, metadataKey, scoreKey, subkey, decodeExpiryKey, decodeScoreKey, decodeSubkey, decodeMetadataKey } from '../../../lib/keyspace/key-encoding.js';
import { decodeCounters, decodeTable, encodeCounters, encodeTable } from '../../../lib/keyspace/db-table.js';
import { KeyType, checkRecord, collectionRecord, recordExpireMs, recordSize, recordType, recordVersion, stringRecord, stringValue } from '../../../lib/keyspace/metadata.js';

const version = 1_700_000_000_000 * 1024;
const b = (text: string): Buffer => Buffer.from(text, 'latin1');

/** label -> [key, value?] from the marked block. */
function example(): Map<string, { key: Buffer; value?: Buffer }> {
  const doc = fs.readFileSync(new URL('../../../docs/format.md', import.meta.url), 'utf8');
  const block = /<!-- keyspace-hex-example:start -->\n```\n([\s\S]*?)```\n<!-- keyspace-hex-example:end -->/.exec(doc);
  expect(block, 'the marked example block exists').not.toBeNull();
  const entries = new Map<string, { key: Buffer; value?: Buffer }>();
  let label = '';
  for (const line of block![1]!.split('\n')) {
    const match = /^(.{0,10}?)\s*(key|val) ((?:[0-9a-f]{2} ?)+)$/.exec(line);
    if (match === null) continue;
    if (match[1]!.trim() !== '') label = match[1]!.trim();
    const bytes = Buffer.from(match[3]!.replace(/ /g, ''), 'hex');
    if (match[2] === 'key') entries.set(label, { key: bytes });
    else entries.get(label)!.value = bytes;
  }
  return entries;
}

describe('docs/format.md keyspace example', () => {
  const entries = example();
  const at = (label: string): { key: Buffer; value?: Buffer } => {
    const entry = entries.get(label);
    expect(entry, label).toBeDefined();
    return entry!;
  };

  it('lists every key kind', () => {
    expect([...entries.keys()]).toEqual(['D table', 'C db 0', 'M string', 'M expiry', 'E entry', 'M hash', 'S field', 'Z entry']);
  });

  it('matches the D table and C counters encoders', () => {
    expect(at('D table').key).toEqual(dbTableKey);
    expect(at('D table').value).toEqual(encodeTable({ physIds: [0, 1, 2, 3], nextPhysId: 4, versionFloor: version }));
    expect(decodeTable(at('D table').value!)).toEqual({ physIds: [0, 1, 2, 3], nextPhysId: 4, versionFloor: version });
    expect(at('C db 0').key).toEqual(counterKey(0));
    expect(at('C db 0').value).toEqual(encodeCounters(2, 1));
    expect(decodeCounters(at('C db 0').value!, 0)).toEqual([2, 1]);
  });

  it('matches the metadata and expiry index encoders', () => {
    expect(at('M string').key).toEqual(metadataKey(0, b('greeting')));
    expect(at('M string').value).toEqual(stringRecord(b('hello'), 0, version + 1));
    expect(at('M expiry').key).toEqual(metadataKey(0, b('session')));
    expect(at('M expiry').value).toEqual(stringRecord(b('x'), 1_700_000_060_000, version + 2));
    expect(at('E entry').key).toEqual(expiryKey(1_700_000_060_000, 0, b('session')));
    expect(decodeExpiryKey(at('E entry').key)).toEqual({ expireMs: 1_700_000_060_000, physDb: 0, userKey: b('session') });
    const record = at('M expiry').value!;
    checkRecord(record, at('M expiry').key);
    expect([recordType(record), recordExpireMs(record), recordVersion(record), recordSize(record), stringValue(record).toString()]).toEqual([
      KeyType.string,
      1_700_000_060_000,
      version + 2,
      1,
      'x',
    ]);
    expect(decodeMetadataKey(at('M expiry').key)).toEqual({ physDb: 0, userKey: b('session') });
  });

  it('matches the collection encoders', () => {
    expect(at('M hash').key).toEqual(metadataKey(1, b('user')));
    expect(at('M hash').value).toEqual(collectionRecord(KeyType.hash, 0, version + 3, 1));
    expect(at('S field').key).toEqual(subkey(1, b('user'), version + 3, b('name')));
    expect(at('S field').value).toEqual(b('ann'));
    expect(decodeSubkey(at('S field').key)).toEqual({ physDb: 1, userKey: b('user'), version: version + 3, field: b('name') });
    expect(at('Z entry').key).toEqual(scoreKey(1, b('board'), version + 4, 1.5, b('ann')));
    expect(decodeScoreKey(at('Z entry').key)).toEqual({ physDb: 1, userKey: b('board'), version: version + 4, score: 1.5, member: b('ann') });
  });
});
