// KeyTree: the memtable's B+tree over distinct latin1 key strings.
//
// Strategy: random keys (short, over a small alphabet, so that they share
// prefixes and splits happen within a few hundred inserts), inserted one by
// one or built from a sorted array, compared with a sorted array model.
// Invariants: leaves ascending and linked both ways, every key found by
// descent; cursors seek like lower/upper bounds on the model and keep their
// place while keys are inserted around them, one by one or in sorted batches
// (insertSorted, the memtable's deferred inserts).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyTree, KeyTreeCursor } from '../../../lib/memtable/key-tree.js';

const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 100);
const keyArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '\u0000', '\u00ff'), maxLength: 6 });

function walk(tree: KeyTree, reverse = false): string[] {
  const cursor = new KeyTreeCursor(tree);
  const out: string[] = [];
  if (reverse) for (cursor.seekToLast(); cursor.valid; cursor.prev()) out.push(cursor.key);
  else for (cursor.seekToFirst(); cursor.valid; cursor.next()) out.push(cursor.key);
  return out;
}

describe('KeyTree', () => {
  it('orders inserted keys as bytes, forwards and backwards', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { maxLength: 600 }), (keys) => {
        const tree = new KeyTree();
        for (const key of keys) tree.insert(key, key.length);
        tree.checkInvariants();
        const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
        expect(walk(tree)).toEqual(sorted);
        expect(walk(tree, true)).toEqual([...sorted].reverse());
      }),
      { numRuns: runs },
    );
  });

  it('builds from a sorted array the same tree walk as inserting', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { maxLength: 600 }), (keys) => {
        const built = new KeyTree();
        const sortedKeys = [...keys].sort();
        built.buildFromSorted(sortedKeys, sortedKeys.map((key) => key.length));
        built.checkInvariants();
        const inserted = new KeyTree();
        for (const key of keys) inserted.insert(key, key.length);
        expect(walk(built)).toEqual(walk(inserted));
        // A built tree takes inserts like any other.
        built.insert('\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff', 7);
        built.checkInvariants();
      }),
      { numRuns: runs },
    );
  });

  it('keeps leaves full under ascending inserts', () => {
    const tree = new KeyTree();
    for (let index = 0; index < 10_000; index++) tree.insert(String(index).padStart(8, '0'), index);
    tree.checkInvariants();
    let leaves = 0;
    for (let leaf = tree.firstLeaf; leaf !== null; leaf = leaf.next) leaves++;
    expect(leaves).toBeLessThanOrEqual(Math.ceil(10_000 / 63));
  });

  it('seeks like lower and upper bounds', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { maxLength: 300 }), keyArb, (keys, probe) => {
        const tree = new KeyTree();
        for (const key of keys) tree.insert(key, key.length);
        const sorted = [...keys].sort();
        const cursor = new KeyTreeCursor(tree);
        cursor.seek(probe);
        expect(cursor.valid ? cursor.key : undefined).toBe(sorted.find((key) => key >= probe));
        cursor.seekForPrev(probe);
        expect(cursor.valid ? cursor.key : undefined).toBe([...sorted].reverse().find((key) => key <= probe));
      }),
      { numRuns: runs },
    );
  });

  it('keeps a cursor in place while keys are inserted around it', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { minLength: 1, maxLength: 800 }), fc.nat(), fc.boolean(), (keys, split, reverse) => {
        const initialCount = 1 + (split % keys.length);
        const tree = new KeyTree();
        const initial = keys.slice(0, initialCount);
        const later = keys.slice(initialCount);
        for (const key of initial) tree.insert(key, key.length);
        const cursor = new KeyTreeCursor(tree);
        const seen: string[] = [];
        if (reverse) cursor.seekToLast();
        else cursor.seekToFirst();
        for (; cursor.valid; reverse ? cursor.prev() : cursor.next()) {
          seen.push(cursor.key);
          expect(cursor.value).toBe(cursor.key.length);
          for (let count = 0; count < 3 && later.length > 0; count++) {
            const key = later.pop()!;
            tree.insert(key, key.length);
          }
        }
        tree.checkInvariants();
        const order = reverse ? (a: string, b: string) => (a > b ? -1 : 1) : (a: string, b: string) => (a < b ? -1 : 1);
        expect([...seen].sort(order)).toEqual(seen); // strictly ordered (keys are distinct)
        expect(new Set(seen).size).toBe(seen.length);
        for (const key of initial) expect(seen).toContain(key);
      }),
      { numRuns: runs },
    );
  });

  it('merges sorted batches like inserts, in leaves that stay in bounds', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { maxLength: 1500 }), fc.array(fc.nat({ max: 400 }), { maxLength: 12 }), (keys, cuts) => {
        const tree = new KeyTree();
        const model: string[] = [];
        let start = 0;
        // Batches of the given sizes (0 = one key by insert()), then the rest as one batch.
        for (const cut of [...cuts, keys.length]) {
          const batch = keys.slice(start, cut === 0 ? start + 1 : start + cut);
          start += batch.length;
          if (cut === 0 && batch.length === 1) tree.insert(batch[0]!, batch[0]!.length);
          else {
            batch.sort();
            tree.insertSorted(batch, batch.map((key) => key.length));
          }
          model.push(...batch);
          tree.checkInvariants();
        }
        model.sort();
        expect(walk(tree)).toEqual(model);
        expect(walk(tree, true)).toEqual([...model].reverse());
        const cursor = new KeyTreeCursor(tree);
        for (cursor.seekToFirst(); cursor.valid; cursor.next()) expect(cursor.value).toBe(cursor.key.length);
      }),
      { numRuns: runs },
    );
  });

  it('keeps a cursor in place while sorted batches are merged around it', () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { minLength: 1, maxLength: 1500 }), fc.nat(), (keys, split) => {
        const initialCount = 1 + (split % keys.length);
        const tree = new KeyTree();
        const initial = [...keys.slice(0, initialCount)].sort();
        const later = keys.slice(initialCount);
        tree.insertSorted(initial, initial.map((key) => key.length));
        const cursor = new KeyTreeCursor(tree);
        const seen: string[] = [];
        for (cursor.seekToFirst(); cursor.valid; cursor.next()) {
          seen.push(cursor.key);
          const batch = later.splice(0, 40).sort();
          tree.insertSorted(batch, batch.map((key) => key.length));
        }
        tree.checkInvariants();
        expect([...seen].sort()).toEqual(seen);
        expect(new Set(seen).size).toBe(seen.length);
        for (const key of initial) expect(seen).toContain(key);
      }),
      { numRuns: runs },
    );
  });

  it('answers seeks and keeps cursors in place at every step of a sorted merge (stale branches)', () => {
    fc.assert(
      fc.property(
        // Big enough for branches and cuts (fast-check's default size keeps arrays short).
        fc.uniqueArray(keyArb, { minLength: 2, maxLength: 1500, size: 'max' }),
        fc.nat(),
        fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 40 }).map((sizes) => sizes.map((size) => size * 8)),
        fc.array(keyArb, { minLength: 1, maxLength: 20 }),
        (keys, split, steps, probes) => {
          const initialCount = 1 + (split % (keys.length - 1));
          const initial = [...keys.slice(0, initialCount)].sort();
          const batch = keys.slice(initialCount).sort();
          const tree = new KeyTree();
          tree.insertSorted(initial, initial.map((key) => key.length));
          // A cursor walking forwards while the merge goes on under it.
          const walker = new KeyTreeCursor(tree);
          walker.seekToFirst();
          const seen: string[] = [];
          tree.beginSortedMerge(batch, batch.map((key) => key.length));
          let done = false;
          for (let step = 0; !done; step++) {
            done = tree.continueSortedMerge(steps[step % steps.length]!);
            expect(tree.merging).toBe(!done);
            if (step % 4 === 0 || done) tree.checkInvariants(); // every key in the tree found by descent, stale branches or not
            const present = walk(tree);
            expect(present.length).toBe(tree.size);
            for (const probe of probes) {
              const cursor = new KeyTreeCursor(tree);
              cursor.seek(probe);
              const lower = present.find((key) => key >= probe);
              expect(cursor.valid ? cursor.key : undefined).toBe(lower);
              cursor.seekForPrev(probe);
              const upper = present.findLast((key) => key <= probe);
              expect(cursor.valid ? cursor.key : undefined).toBe(upper);
            }
            if (walker.valid) {
              seen.push(walker.key);
              walker.next();
            }
          }
          expect(tree.size).toBe(keys.length);
          expect(walk(tree)).toEqual([...keys].sort());
          for (; walker.valid; walker.next()) seen.push(walker.key);
          expect([...seen].sort()).toEqual(seen);
          expect(new Set(seen).size).toBe(seen.length);
          for (const key of initial) expect(seen).toContain(key);
        },
      ),
      { numRuns: Math.min(runs, 40) },
    );
  });

  it('takes single inserts and out-of-turn range merges during a sorted merge', () => {
    type Step = { kind: 'continue'; count: number } | { kind: 'insert'; count: number } | { kind: 'range'; a: string; b: string | null };
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('continue' as const), count: fc.integer({ min: 0, max: 300 }) }),
      fc.record({ kind: fc.constant('insert' as const), count: fc.integer({ min: 1, max: 80 }) }),
      fc.record({ kind: fc.constant('range' as const), a: keyArb, b: fc.option(keyArb) }),
    );
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { minLength: 3, maxLength: 1500, size: 'max' }), fc.nat(), fc.nat(), fc.array(stepArb, { maxLength: 30 }), (keys, split1, split2, steps) => {
        // keys = initial tree | the merge's batch | keys inserted one by one later
        const first = 1 + (split1 % (keys.length - 2));
        const second = first + 1 + (split2 % (keys.length - first - 1));
        const initial = keys.slice(0, first).sort();
        const batch = keys.slice(first, second).sort();
        const later = keys.slice(second);
        const tree = new KeyTree();
        tree.insertSorted(initial, initial.map((key) => key.length));
        tree.beginSortedMerge(batch.slice(), batch.map((key) => key.length));
        const present = new Set(initial);
        for (const step of steps) {
          if (step.kind === 'continue') {
            tree.continueSortedMerge(step.count);
          } else if (step.kind === 'insert') {
            for (const key of later.splice(0, step.count)) {
              tree.insert(key, key.length);
              present.add(key);
            }
          } else {
            const [lower, upper] = step.b === null ? [step.a, undefined] : [step.a < step.b ? step.a : step.b, step.a < step.b ? step.b : step.a];
            tree.mergeRangeNow(lower, upper);
            for (const key of batch) if (key >= lower && (upper === undefined || key <= upper)) present.add(key);
          }
          tree.checkInvariants();
          // Whatever the steps merged, the tree holds the present keys and batch keys only.
          const walked = walk(tree);
          for (const key of present) expect(walked).toContain(key);
          expect(walked.length).toBe(tree.size);
        }
        tree.continueSortedMerge(Number.POSITIVE_INFINITY);
        for (const key of later) tree.insert(key, key.length);
        expect(tree.merging).toBe(false);
        tree.checkInvariants();
        expect(walk(tree)).toEqual([...keys].sort());
        const cursor = new KeyTreeCursor(tree);
        for (cursor.seekToFirst(); cursor.valid; cursor.next()) expect(cursor.value).toBe(cursor.key.length);
      }),
      { numRuns: Math.min(runs, 25) },
    );
  });
});
