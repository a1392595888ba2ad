// Memtable: versions by key in a Map, distinct keys in a B+tree, values in slabs.
//
// Strategy: small examples for the API, then fast-check against a sorted array
// of internal keys (the model): whole walks, seeks, iterators that keep moving
// while entries are added and taken back, bulk load against incremental adds.
// Invariants: internal-key order (user key ascending, sequence descending);
// an iterator visits every entry present when it was placed and still present
// when reached exactly once, in order, in either direction; nothing the caller
// passed is retained; byte accounting grows with every add and stays close to
// the memory really used. Runs: SILT_PROPERTY_RUNS (default 200).

import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Memtable, memtableKeyOverheadBytes, memtableVersionOverheadBytes } from '../../../lib/memtable/memtable.js';
import { keyLengthBytes } from '../../../lib/memtable/value-arena.js';
import { compareInternalKeys, makeInternalKey, sequenceOf, typeOf, userKeyOf, ValueType } from '../../../lib/format/internal-key.js';

const key = (text: string): Buffer => Buffer.from(text);
const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 200);

/** An iterator that keeps moving while the test adds entries, and what it must see. */
interface OpenWalk {
  iterator: ReturnType<Memtable['iterator']>;
  /** User keys present in its range when it was made. */
  expected: string[];
  seen: string[];
  /** It stops past this user key (a ranged iterator is complete only up to it). */
  upper?: string;
}

/** Moves `walk` up to `steps` entries (Infinity: to its end), noting each user key once. */
function stepWalk(walk: OpenWalk, steps: number): void {
  for (let step = 0; step < steps && walk.iterator.valid(); step++) {
    const key = userKeyOf(walk.iterator.key()).toString('latin1');
    if (walk.upper !== undefined && key > walk.upper) return;
    if (walk.seen.at(-1) !== key) walk.seen.push(key);
    walk.iterator.next();
  }
}

/** Walks the rest of `walk`: every expected key, in order (later keys may appear too). */
function finishWalk(walk: OpenWalk): void {
  stepWalk(walk, Number.POSITIVE_INFINITY);
  expect([...walk.seen].sort()).toEqual(walk.seen);
  const seen = new Set(walk.seen);
  for (const key of walk.expected) expect(seen.has(key), `${key} seen (up to ${walk.upper ?? 'the end'})`).toBe(true);
}

/** The distinct user keys of a full walk, in order. */
function userKeys(table: Memtable): string[] {
  const all = table.iterator();
  const keys: string[] = [];
  for (all.seekToFirst(); all.valid(); all.next()) {
    const key = userKeyOf(all.key()).toString('latin1');
    if (keys.at(-1) !== key) keys.push(key);
  }
  return keys;
}

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
      { numRuns: runs },
    );
  });

  // MemtableIterator.key() builds each internal key from the key's string: every length, short keys by
  // a loop and long ones natively, keys beside their values in slabs of every size.
  it('iterates keys of every length from 0 to 300 bytes exactly', () => {
    const table = new Memtable();
    const keys: Buffer[] = [];
    let seed = 7;
    const byte = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let round = 0; round < 6; round++) {
      for (let length = 0; length <= 300; length++) {
        const key = Buffer.alloc(length + 2);
        key[0] = round;
        key[1] = length;
        for (let index = 2; index < key.length; index++) key[index] = byte();
        keys.push(key.subarray(0, length === 0 && round === 0 ? 0 : key.length));
      }
    }
    const distinct = [...new Map(keys.map((key) => [key.toString('hex'), key])).values()];
    distinct.forEach((key, index) => table.add(index + 1, ValueType.put, key, Buffer.alloc(index % 5)));
    const expected = [...distinct].sort(Buffer.compare).map((key) => key.toString('hex'));
    const iterator = table.iterator();
    const seen: string[] = [];
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) seen.push(userKeyOf(iterator.key()).toString('hex'));
    expect(seen).toEqual(expected);
  });

  it('keeps nothing the caller passed: mutating key and value buffers after add changes nothing', () => {
    const table = new Memtable();
    const userKey = Buffer.from('key');
    const small = Buffer.from('small value');
    const large = Buffer.alloc(200 * 1024, 7); // above the private-copy threshold
    table.add(1, ValueType.put, userKey, small);
    table.add(2, ValueType.put, Buffer.from('large'), large);
    userKey.fill(0);
    small.fill(0);
    large.fill(0);
    expect(table.get(key('key'), 10)?.value.toString()).toBe('small value');
    expect(table.get(key('large'), 10)?.value.equals(Buffer.alloc(200 * 1024, 7))).toBe(true);
    expect(table.get(userKey, 10)).toBeUndefined();
    const iterator = table.iterator();
    iterator.seekToFirst();
    expect(userKeyOf(iterator.key()).toString()).toBe('key');
    expect(iterator.value().toString()).toBe('small value');
  });

  it('returns views that stay valid while later values are added', () => {
    const table = new Memtable();
    table.add(1, ValueType.put, key('a'), key('first'));
    const first = table.get(key('a'), 10)!.value;
    for (let index = 0; index < 5000; index++) table.add(index + 2, ValueType.put, key(`k${index}`), Buffer.alloc(100, index));
    expect(first.toString()).toBe('first');
    expect(table.get(key('k4999'), Number.MAX_SAFE_INTEGER)?.value.equals(Buffer.alloc(100, 4999))).toBe(true);
  });

  it('takes back an older version, and a key whose versions are all gone disappears', () => {
    const table = new Memtable();
    table.add(1, ValueType.put, key('a'), key('one'));
    table.add(2, ValueType.delete, key('a'), Buffer.alloc(0));
    table.add(3, ValueType.put, key('a'), key('three'));
    table.add(4, ValueType.put, key('b'), key('four'));
    table.remove(2, key('a'));
    expect(table.tombstoneCount).toBe(0);
    expect(table.get(key('a'), 2)?.value.toString()).toBe('one');
    table.remove(4, key('b'));
    table.remove(4, key('b')); // absent: nothing happens
    table.remove(9, key('zz'));
    expect(table.get(key('b'), 10)).toBeUndefined();
    expect(table.entryCount).toBe(2);
    table.checkInvariants();
    const iterator = table.iterator();
    const seen: string[] = [];
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) seen.push(`${userKeyOf(iterator.key()).toString()}@${sequenceOf(iterator.key())}`);
    expect(seen).toEqual(['a@3', 'a@1']);
    for (iterator.seekToLast(); iterator.valid(); iterator.prev()) seen.push(`${userKeyOf(iterator.key()).toString()}@${sequenceOf(iterator.key())}`);
    expect(seen.slice(2)).toEqual(['a@1', 'a@3']);
    table.add(5, ValueType.put, key('b'), key('five')); // the emptied key comes back
    expect(table.get(key('b'), 10)?.value.toString()).toBe('five');
    table.checkInvariants();
  });

  it('keeps every iterator position while entries are added and taken back', () => {
    // An entry present when the iterator is placed, on the far side of the
    // start, and not taken back before the iterator reaches it, is visited
    // exactly once; visits are strictly ordered; nothing taken back is visited.
    // A removal picks any entry, or (`near`) the current one or the next few
    // ahead, which are the ones an iterator can trip over.
    type Change = { kind: 'add'; key: Uint8Array; sequence: number; isPut: boolean } | { kind: 'remove'; pick: number; near: boolean };
    // Few distinct keys (many versions each) and many (splitting tree leaves).
    const userKeyArb = fc.oneof(fc.uint8Array({ maxLength: 2, max: 2 }), fc.uint8Array({ maxLength: 3 }));
    const entryArb = fc.tuple(userKeyArb, fc.nat(300), fc.boolean());
    const changeArb: fc.Arbitrary<Change> = fc.oneof(
      { weight: 3, arbitrary: entryArb.map(([userKey, sequence, isPut]): Change => ({ kind: 'add', key: userKey, sequence, isPut })) },
      { weight: 2, arbitrary: fc.tuple(fc.nat(), fc.boolean()).map(([pick, near]): Change => ({ kind: 'remove', pick, near })) },
    );
    fc.assert(
      fc.property(
        fc.array(entryArb, { maxLength: 150 }),
        fc.array(fc.array(changeArb, { maxLength: 4 }), { maxLength: 200 }),
        fc.constantFrom('first', 'last', 'seek', 'seekForPrev'),
        fc.tuple(userKeyArb, fc.nat(300)),
        fc.integer({ min: 1, max: 40 }),
        (initial, changesPerStep, start, [probeKey, probeSequence], pendingKeysMax) => {
          // Small batches of pending keys: folds happen while the iterator walks.
          const table = new Memtable({ pendingKeysMax });
          const present = new Map<string, Buffer>(); // id -> internal key
          const idOf = (userKey: Uint8Array, sequence: number): string => `${Buffer.from(userKey).toString('hex')}@${sequence}`;
          const add = (userKey: Uint8Array, sequence: number, isPut: boolean): void => {
            const id = idOf(userKey, sequence);
            if (present.has(id) || removed.has(id)) return; // (key, sequence) is unique, even after a rollback
            const type = isPut ? ValueType.put : ValueType.delete;
            table.add(sequence, type, Buffer.from(userKey), Buffer.from(id));
            present.set(id, makeInternalKey(userKey, sequence, type));
          };
          const removed = new Set<string>();
          for (const [userKey, sequence, isPut] of initial) add(userKey, sequence, isPut);

          const forward = start === 'first' || start === 'seek';
          const probe = makeInternalKey(probeKey, probeSequence, ValueType.put);
          const iterator = table.iterator();
          if (start === 'first') iterator.seekToFirst();
          else if (start === 'last') iterator.seekToLast();
          else if (start === 'seek') iterator.seek(probe);
          else iterator.seekForPrev(probe);
          const isDue = (internalKey: Buffer): boolean =>
            start === 'seek' ? compareInternalKeys(internalKey, probe) >= 0 : start === 'seekForPrev' ? compareInternalKeys(internalKey, probe) <= 0 : true;
          const due = new Set([...present].filter(([, internalKey]) => isDue(internalKey)).map(([id]) => id));

          const visited: Buffer[] = [];
          for (let step = 0; iterator.valid(); step++) {
            const internalKey = Buffer.from(iterator.key());
            const id = idOf(userKeyOf(internalKey), sequenceOf(internalKey));
            expect(present.has(id), `visited ${id} is present`).toBe(true);
            expect(iterator.value().toString()).toBe(typeOf(internalKey) === ValueType.put ? id : ''); // tombstones keep no value
            visited.push(internalKey);
            for (const change of changesPerStep[step] ?? []) {
              if (change.kind === 'add') {
                add(change.key, change.sequence, change.isPut);
              } else if (present.size > 0) {
                let ids = [...present.keys()];
                if (change.near) {
                  const ordered = [...present].sort(([, a], [, b]) => (forward ? 1 : -1) * compareInternalKeys(a, b));
                  const here = ordered.findIndex(([, candidate]) => compareInternalKeys(candidate, internalKey) * (forward ? 1 : -1) >= 0);
                  ids = ordered.slice(Math.max(here, 0), Math.max(here, 0) + 3).map(([candidate]) => candidate);
                  if (ids.length === 0) continue;
                }
                const victim = ids[change.pick % ids.length]!;
                const victimKey = present.get(victim)!;
                table.remove(sequenceOf(victimKey), userKeyOf(victimKey));
                present.delete(victim);
                removed.add(victim);
                due.delete(victim);
              }
            }
            if (forward) iterator.next();
            else iterator.prev();
          }
          table.checkInvariants();
          for (let index = 1; index < visited.length; index++) {
            const order = compareInternalKeys(visited[index - 1]!, visited[index]!);
            expect(forward ? order < 0 : order > 0, 'strictly ordered').toBe(true);
          }
          const visitedIds = new Set(visited.map((internalKey) => idOf(userKeyOf(internalKey), sequenceOf(internalKey))));
          for (const id of due) expect(visitedIds.has(id), `${id} visited`).toBe(true);
          if (start === 'seek' || start === 'seekForPrev') {
            for (const internalKey of visited) expect(isDue(internalKey)).toBe(true);
          }
        },
      ),
      { numRuns: runs },
    );
  });

  it('iterates every key whether pending keys went in as sorted batches or one by one', () => {
    // Folds of a few keys into a big tree insert them one by one; larger ones
    // merge a sorted batch. Iterators made at random points fold whatever is
    // pending, so both kinds happen here, between and during walks.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 2 ** 31 }), fc.array(fc.nat(4999), { maxLength: 12 }), (pendingKeysMax, seed, iteratorAt) => {
        const table = new Memtable({ pendingKeysMax });
        const model = new Map<string, number>();
        let state = seed;
        const checkpoints = new Set(iteratorAt);
        const open: OpenWalk[] = [];
        for (let index = 0; index < 5000; index++) {
          state = (Math.imul(state, 1103515245) + 12345) >>> 0;
          const userKey = Buffer.from(`k${(state % 100_000).toString(36)}`, 'latin1');
          table.add(index + 1, ValueType.put, userKey, Buffer.from(String(index)));
          model.set(userKey.toString('latin1'), index);
          if (checkpoints.has(index)) {
            const iterator = table.iterator();
            iterator.seekToFirst();
            open.push({ iterator, expected: [...model.keys()].sort(), seen: [] });
          }
          // Step every open iterator a little (until it passes the keys it must see).
          for (const walk of open) stepWalk(walk, 2);
        }
        table.checkInvariants();
        for (const walk of open) finishWalk(walk);
        expect(userKeys(table)).toEqual([...model.keys()].sort());
      }),
      { numRuns: Math.max(5, Math.floor(runs / 10)) },
    );
  });

  it('a ranged iterator sees every key in its range, whatever is still pending or being merged', () => {
    // Only the range's pending keys (and those of a merge in progress) go into
    // the tree when a ranged iterator is made; keys outside it may be missing
    // from its walk, keys inside it never.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.tuple(fc.nat(2999), fc.nat(99_999), fc.nat(99_999)), { maxLength: 12 }),
        (pendingKeysMax, rangeFoldMin, seed, iteratorAt) => {
          const table = new Memtable({ pendingKeysMax, rangeFoldMin });
          const name = (n: number): string => `k${n.toString(36)}`;
          const model = new Set<string>();
          let state = seed;
          const checkpoints = new Map(iteratorAt.map(([at, a, b]) => [at, [name(Math.min(a, b)), name(Math.max(a, b))] as const]));
          const open: OpenWalk[] = [];
          for (let index = 0; index < 3000; index++) {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0;
            const userKey = name(state % 100_000);
            table.add(index + 1, ValueType.put, Buffer.from(userKey, 'latin1'), Buffer.from(String(index)));
            model.add(userKey);
            const bounds = checkpoints.get(index);
            if (bounds !== undefined) {
              const [lower, upper] = bounds;
              const iterator = table.iterator({ lower, upper });
              iterator.seek(makeInternalKey(Buffer.from(lower, 'latin1'), 2 ** 53 - 1, ValueType.put));
              open.push({ iterator, expected: [...model].filter((k) => k >= lower && k <= upper).sort(), seen: [], upper });
            }
            for (const walk of open) stepWalk(walk, 2);
          }
          table.checkInvariants();
          for (const walk of open) finishWalk(walk);
          expect(userKeys(table)).toEqual([...model].sort());
        },
      ),
      { numRuns: Math.max(5, Math.floor(runs / 10)) },
    );
  });

  it('builds the same memtable by bulk load as by adds', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 3 }), fc.boolean()), { maxLength: 400 }), (entries) => {
        const incremental = new Memtable();
        const bulk = new Memtable();
        bulk.beginBulkLoad();
        entries.forEach(([userKey, isPut], index) => {
          const type = isPut ? ValueType.put : ValueType.delete;
          incremental.add(index + 1, type, Buffer.from(userKey), Buffer.from(`v${index}`));
          bulk.add(index + 1, type, Buffer.from(userKey), Buffer.from(`v${index}`));
          const hit = bulk.get(Buffer.from(userKey), index + 1); // readable during the load
          expect([hit?.type, hit?.value.toString()]).toEqual(isPut ? [ValueType.put, `v${index}`] : [ValueType.delete, '']);
        });
        bulk.endBulkLoad();
        bulk.checkInvariants();
        const dump = (table: Memtable): string[] => {
          const out: string[] = [];
          const iterator = table.iterator();
          for (iterator.seekToFirst(); iterator.valid(); iterator.next()) out.push(`${iterator.key().toString('hex')}=${iterator.value().toString()}`);
          for (iterator.seekToLast(); iterator.valid(); iterator.prev()) out.push(`${iterator.key().toString('hex')}=${iterator.value().toString()}`);
          return out;
        };
        expect(dump(bulk)).toEqual(dump(incremental));
        expect(bulk.approximateBytes).toBe(incremental.approximateBytes);
        expect([bulk.entryCount, bulk.tombstoneCount, bulk.smallestSequence, bulk.largestSequence]).toEqual([
          incremental.entryCount,
          incremental.tombstoneCount,
          incremental.smallestSequence,
          incremental.largestSequence,
        ]);
        // After the load, adds go to the tree as usual.
        bulk.add(entries.length + 1, ValueType.put, key('after'), key('x'));
        bulk.checkInvariants();
      }),
      { numRuns: runs },
    );
  });

  it('counts bytes that grow with every add and stay close to the memory used', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const count = 100_000;
    const keys = Array.from({ length: count }, (_, index) => Buffer.from(String((index * 7919) % count).padStart(16, '0')));
    const value = Buffer.alloc(100, 1);
    gc();
    const before = process.memoryUsage();
    const table = new Memtable();
    let previous = table.approximateBytes;
    let shrinks = 0;
    for (let index = 0; index < count; index++) {
      table.add(index + 1, ValueType.put, keys[index]!, value);
      if (table.approximateBytes <= previous) shrinks++;
      previous = table.approximateBytes;
    }
    expect(shrinks).toBe(0);
    // A second version of some keys costs the version overhead and the value only.
    table.add(count + 1, ValueType.put, keys[0]!, value);
    expect(table.approximateBytes - previous).toBe(value.length + memtableVersionOverheadBytes);
    gc();
    const after = process.memoryUsage();
    const used = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
    // Per key: its string, the arena's copy with its length, the overhead.
    expect(table.approximateBytes).toBe(count * (2 * 16 + keyLengthBytes + memtableKeyOverheadBytes) + (count + 1) * (100 + memtableVersionOverheadBytes));
    // Loose bounds: other tests share the heap, and typed arrays grow by doubling.
    expect(table.approximateBytes / used).toBeGreaterThan(0.6);
    expect(table.approximateBytes / used).toBeLessThan(1.6);
    expect(table.get(keys[5]!, count)?.value.equals(value)).toBe(true); // keeps `table` alive through the measurement
  });
});
