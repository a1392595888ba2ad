import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Memtable } from '../../../lib/memtable/memtable.js';
import { compareInternalKeys, makeInternalKey, sequenceOf, userKeyOf, ValueType } from '../../../lib/format/internal-key.js';

const key = (text: string): Buffer => Buffer.from(text);

describe('Memtable', () => {
  it('returns the newest version at or below a sequence', () => {
    const table = new Memtable();
    table.add(1, ValueType.put, key('a'), key('one'));
    table.add(5, ValueType.put, key('a'), key('five'));
    table.add(7, ValueType.delete, key('a'), Buffer.alloc(0));
    expect(table.get(key('a'), 0)).toBeUndefined();
    expect(table.get(key('a'), 4)?.value.toString()).toBe('one');
    expect(table.get(key('a'), 6)?.value.toString()).toBe('five');
    expect(table.get(key('a'), 100)?.type).toBe(ValueType.delete);
    expect(table.get(key('b'), 100)).toBeUndefined();
    expect(table.tombstoneCount).toBe(1);
    expect(table.smallestSequence).toBe(1);
    expect(table.largestSequence).toBe(7);
  });

  it('does not confuse a key with its prefix', () => {
    const table = new Memtable();
    table.add(1, ValueType.put, key('ab'), key('x'));
    expect(table.get(key('a'), 10)).toBeUndefined();
    table.add(2, ValueType.put, key('a'), key('y'));
    expect(table.get(key('a'), 10)?.value.toString()).toBe('y');
  });

  it('removes a version and adjusts its byte count', () => {
    const table = new Memtable();
    table.add(1, ValueType.put, key('a'), key('one'));
    const bytes = table.approximateBytes;
    table.add(2, ValueType.put, key('a'), key('two'));
    table.remove(2, key('a'));
    expect(table.approximateBytes).toBe(bytes);
    expect(table.get(key('a'), 10)?.value.toString()).toBe('one');
    expect(table.entryCount).toBe(1);
  });

  it('iterates in internal-key order both ways and seeks like a sorted array', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 4 }), fc.nat(1000), fc.boolean()), { maxLength: 60 }),
        fc.uint8Array({ maxLength: 4 }),
        fc.nat(1000),
        (entries, probeKey, probeSequence) => {
          const table = new Memtable();
          const model: Buffer[] = [];
          const seen = new Set<string>();
          for (const [userKey, sequence, isPut] of entries) {
            const id = `${Buffer.from(userKey).toString('hex')}@${sequence}`;
            if (seen.has(id)) continue;
            seen.add(id);
            const type = isPut ? ValueType.put : ValueType.delete;
            table.add(sequence, type, Buffer.from(userKey), Buffer.from(id));
            model.push(makeInternalKey(userKey, sequence, type));
          }
          model.sort(compareInternalKeys);
          const iterator = table.iterator();
          const forward: Buffer[] = [];
          for (iterator.seekToFirst(); iterator.valid(); iterator.next()) forward.push(Buffer.from(iterator.key()));
          expect(forward).toEqual(model);
          const backward: Buffer[] = [];
          for (iterator.seekToLast(); iterator.valid(); iterator.prev()) backward.push(Buffer.from(iterator.key()));
          expect(backward).toEqual([...model].reverse());

          const probe = makeInternalKey(probeKey, probeSequence, ValueType.put);
          iterator.seek(probe);
          const atOrAfter = model.find((k) => compareInternalKeys(k, probe) >= 0);
          expect(iterator.valid() ? iterator.key() : undefined).toEqual(atOrAfter);
          iterator.seekForPrev(probe);
          const atOrBefore = [...model].reverse().find((k) => compareInternalKeys(k, probe) <= 0);
          expect(iterator.valid() ? iterator.key() : undefined).toEqual(atOrBefore);
          if (atOrBefore) {
            expect(userKeyOf(iterator.key())).toEqual(userKeyOf(atOrBefore));
            expect(sequenceOf(iterator.key())).toBe(sequenceOf(atOrBefore));
          }
        },
      ),
      { numRuns: Number(process.env.SILT_PROPERTY_RUNS ?? 200) },
    );
  });
});
