// Version: apply, overlapping, findFile and the invariants.
//
// Property strategy: random operations (add to L0, add to L1+, delete, move
// to another level) are turned into edits against a plain model (a map of
// file number to segment). An edit the model says is valid must apply and
// leave a version equal to the model, sorted as documented; an edit that
// would overlap in L1+ or name a missing file must be refused by tryApply and
// leave nothing changed. After each step overlapping() and findFile() agree
// with a linear scan of the model, checkInvariants() finds nothing, and one
// VersionBuilder fed every accepted edit builds the same version.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionError } from '../../../lib/assert.js';
import { userKeyOf } from '../../../lib/format/internal-key.js';
import { levelCount } from '../../../lib/limits.js';
import type { SegmentMeta } from '../../../lib/manifest/segment-meta.js';
import type { VersionEdit } from '../../../lib/manifest/version-edit.js';
import { compareLevel0, compareSorted, Version, VersionBuilder } from '../../../lib/manifest/version.js';
import { describeVersion, edit, numRuns, segment } from './helpers.js';

describe('Version.empty', () => {
  it('has levelCount empty levels', () => {
    const version = Version.empty();
    expect(version.levels.length).toBe(levelCount);
    expect(version.allFiles()).toEqual([]);
    expect(version.fileNumbers().size).toBe(0);
    expect(version.checkInvariants()).toEqual([]);
  });
});

describe('Version.apply', () => {
  it('orders level 0 newest first', () => {
    const version = Version.empty().apply(edit({
      added: [segment(5, 0, 'a', 'z', { largestSequence: 50 }), segment(7, 0, 'a', 'c', { largestSequence: 70 }), segment(6, 0, 'b', 'd', { largestSequence: 70 })],
    }));
    expect(version.levels[0]!.map((file) => file.fileNumber)).toEqual([7, 6, 5]);
  });

  it('orders level 1 by smallest key', () => {
    const version = Version.empty().apply(edit({ added: [segment(5, 1, 'm', 'p'), segment(6, 1, 'a', 'c'), segment(7, 1, 'x', 'z')] }));
    expect(version.levels[1]!.map((file) => file.fileNumber)).toEqual([6, 5, 7]);
  });

  it('returns a new version and leaves the old one unchanged', () => {
    const first = Version.empty().apply(edit({ added: [segment(5, 1, 'a', 'c')] }));
    const second = first.apply(edit({ deleted: [{ level: 1, fileNumber: 5 }], added: [segment(6, 2, 'a', 'c')] }));
    expect(first.fileNumbers()).toEqual(new Set([5]));
    expect(second.fileNumbers()).toEqual(new Set([6]));
    expect(second.levels[0]).toBe(first.levels[0]);
  });

  it('moves a file between levels in one edit (delete applies first)', () => {
    const first = Version.empty().apply(edit({ added: [segment(5, 1, 'a', 'c')] }));
    const moved = first.apply(edit({ deleted: [{ level: 1, fileNumber: 5 }], added: [{ ...segment(5, 2, 'a', 'c') }] }));
    expect(moved.levels[1]).toEqual([]);
    expect(moved.levels[2]!.map((file) => file.fileNumber)).toEqual([5]);
  });

  it('asserts when deleting a file that is not there', () => {
    expect(() => Version.empty().apply(edit({ deleted: [{ level: 1, fileNumber: 5 }] }))).toThrow(AssertionError);
    const version = Version.empty().apply(edit({ added: [segment(5, 1, 'a', 'c')] }));
    const result = version.tryApply(edit({ deleted: [{ level: 2, fileNumber: 5 }] }));
    expect(result).toMatchObject({ kind: 'problem', level: 2 });
  });

  it('asserts when deleting a file twice in one edit', () => {
    const version = Version.empty().apply(edit({ added: [segment(5, 1, 'a', 'c')] }));
    expect(() => version.apply(edit({ deleted: [{ level: 1, fileNumber: 5 }, { level: 1, fileNumber: 5 }] }))).toThrow(/not there/);
  });

  it('asserts on a duplicate file number, in one edit or across levels', () => {
    expect(() => Version.empty().apply(edit({ added: [segment(5, 0, 'a', 'c'), segment(5, 0, 'd', 'e')] }))).toThrow(/already in level 0/);
    const version = Version.empty().apply(edit({ added: [segment(5, 0, 'a', 'c')] }));
    expect(() => version.apply(edit({ added: [segment(5, 3, 'x', 'y')] }))).toThrow(AssertionError);
  });

  it('asserts when level 1+ files overlap, including on a shared boundary user key', () => {
    const version = Version.empty().apply(edit({ added: [segment(5, 1, 'c', 'f')] }));
    expect(version.tryApply(edit({ added: [segment(6, 1, 'a', 'c')] }))).toMatchObject({ kind: 'problem', level: 1 });
    expect(version.tryApply(edit({ added: [segment(6, 1, 'f', 'h')] }))).toMatchObject({ kind: 'problem', level: 1 });
    expect(version.tryApply(edit({ added: [segment(6, 1, 'd', 'e')] }))).toMatchObject({ kind: 'problem', level: 1 });
    expect(version.tryApply(edit({ added: [segment(6, 1, 'fa', 'h')] }))).toMatchObject({ kind: 'ok' });
    expect(() => version.apply(edit({ added: [segment(6, 1, 'a', 'z')] }))).toThrow(/overlaps segment/);
  });

  it('lets level 0 files overlap', () => {
    const version = Version.empty().apply(edit({ added: [segment(5, 0, 'a', 'z'), segment(6, 0, 'c', 'd')] }));
    expect(version.fileCount(0)).toBe(2);
  });

  it('refuses a malformed segment', () => {
    expect(Version.empty().tryApply(edit({ added: [segment(5, 1, 'z', 'a')] }))).toMatchObject({ kind: 'problem' });
    expect(Version.empty().tryApply(edit({ added: [segment(5, levelCount, 'a', 'b')] }))).toMatchObject({ kind: 'problem' });
  });

  it('records compact pointers and carries them into later versions', () => {
    const key = Buffer.from('pointer-key-8bytes');
    const version = Version.empty().apply(edit({ compactPointers: [{ level: 2, key }] })).apply(edit({ added: [segment(5, 1, 'a', 'b')] }));
    expect(version.compactPointers[2]).toEqual(key);
    expect(version.compactPointers[1]).toBeUndefined();
  });
});

describe('Version queries', () => {
  const version = Version.empty().apply(edit({
    added: [
      segment(10, 0, 'a', 'm', { largestSequence: 100 }),
      segment(11, 0, 'k', 'z', { largestSequence: 200 }),
      segment(20, 1, 'b', 'd'),
      segment(21, 1, 'f', 'h'),
      segment(22, 1, 'j', 'l'),
    ],
  }));
  const numbers = (files: SegmentMeta[]): number[] => files.map((file) => file.fileNumber);

  it('finds overlapping files in level 0 by scanning', () => {
    expect(numbers(version.overlapping(0, Buffer.from('n'), Buffer.from('p')))).toEqual([11]);
    expect(numbers(version.overlapping(0, Buffer.from('l'), Buffer.from('l')))).toEqual([11, 10]);
    expect(numbers(version.overlapping(0, undefined, undefined))).toEqual([11, 10]);
  });

  it('finds overlapping files in level 1 with inclusive bounds', () => {
    expect(numbers(version.overlapping(1, Buffer.from('d'), Buffer.from('f')))).toEqual([20, 21]);
    expect(numbers(version.overlapping(1, Buffer.from('e'), Buffer.from('e')))).toEqual([]);
    expect(numbers(version.overlapping(1, undefined, Buffer.from('c')))).toEqual([20]);
    expect(numbers(version.overlapping(1, Buffer.from('i'), undefined))).toEqual([22]);
    expect(numbers(version.overlapping(1, Buffer.from('m'), undefined))).toEqual([]);
  });

  it('asserts on a reversed range', () => {
    expect(() => version.overlapping(1, Buffer.from('z'), Buffer.from('a'))).toThrow(AssertionError);
  });

  it('finds the file holding a user key in level 1', () => {
    expect(version.findFile(1, Buffer.from('c'))?.fileNumber).toBe(20);
    expect(version.findFile(1, Buffer.from('h'))?.fileNumber).toBe(21);
    expect(version.findFile(1, Buffer.from('e'))).toBeUndefined();
    expect(version.findFile(1, Buffer.from('a'))).toBeUndefined();
    expect(version.findFile(1, Buffer.from('zz'))).toBeUndefined();
    expect(version.findFile(2, Buffer.from('c'))).toBeUndefined();
    expect(() => version.findFile(0, Buffer.from('c'))).toThrow(AssertionError);
  });

  it('sums level bytes and lists files', () => {
    expect(version.levelBytes(1)).toBe(1020 + 1021 + 1022);
    expect(version.levelBytes(3)).toBe(0);
    expect(numbers(version.allFiles())).toEqual([11, 10, 20, 21, 22]);
    expect(version.fileNumbers()).toEqual(new Set([10, 11, 20, 21, 22]));
    expect(version.getFile(21)?.level).toBe(1);
    expect(version.getFile(99)).toBeUndefined();
  });

  it('makes a snapshot edit that rebuilds the version', () => {
    const snapshot = version.toSnapshotEdit(7, 30, 500);
    expect(snapshot).toMatchObject({ logNumber: 7, nextFileNumber: 30, lastSequence: 500, deleted: [] });
    expect(describeVersion(Version.empty().apply(snapshot))).toEqual(describeVersion(version));
    expect(() => version.toSnapshotEdit(7, 22, 500)).toThrow(AssertionError);
  });
});

describe('Version.checkInvariants', () => {
  it('reports overlap, disorder, misplaced and duplicate files', () => {
    const bad = new Version(
      [
        [segment(1, 0, 'a', 'b', { largestSequence: 10 }), segment(2, 0, 'a', 'b', { largestSequence: 20 })],
        [segment(3, 1, 'a', 'd'), segment(4, 1, 'c', 'f')],
        [segment(6, 2, 'm', 'n'), segment(5, 2, 'a', 'b')],
        [segment(7, 2, 'a', 'b')],
        [segment(1, 4, 'x', 'y')],
        [],
        [],
      ],
      Array.from({ length: levelCount }, () => undefined),
    );
    const problems = bad.checkInvariants();
    expect(problems).toEqual([
      expect.stringMatching(/^Level 0: segment 1 .* before newer segment 2/),
      expect.stringMatching(/^Level 1: segment 3 \(up to "d"\) overlaps segment 4 \(from "c"\)/),
      expect.stringMatching(/^Level 2: segment 6 is ordered before segment 5/),
      'Level 3: segment 7 says it belongs to level 2',
      'Level 4: segment 1 is also in level 0',
    ]);
  });
});

// ---------------------------------------------------------------------------
// Property test against a model.

type Operation =
  | { kind: 'add'; level: number; a: string; b: string; sequence: number }
  | { kind: 'delete'; pick: number }
  | { kind: 'move'; pick: number; level: number }
  | { kind: 'deleteMissing'; fileNumber: number };

const keyArbitrary = fc.stringMatching(/^[a-h]{1,3}$/);
const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('add' as const), level: fc.integer({ min: 0, max: 3 }), a: keyArbitrary, b: keyArbitrary, sequence: fc.nat({ max: 50 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('move' as const), pick: fc.nat(), level: fc.integer({ min: 0, max: 3 }) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('deleteMissing' as const), fileNumber: fc.nat({ max: 5 }) }), weight: 1 },
);

function userRange(file: SegmentMeta): [Buffer, Buffer] {
  return [userKeyOf(file.smallestKey), userKeyOf(file.largestKey)];
}

function rangesMeet(file: SegmentMeta, low: Buffer | undefined, high: Buffer | undefined): boolean {
  const [smallest, largest] = userRange(file);
  return !(low !== undefined && largest.compare(low) < 0) && !(high !== undefined && smallest.compare(high) > 0);
}

function modelLevel(model: Map<number, SegmentMeta>, level: number): SegmentMeta[] {
  return [...model.values()].filter((file) => file.level === level).sort(level === 0 ? compareLevel0 : compareSorted);
}

function wouldOverlap(model: Map<number, SegmentMeta>, candidate: SegmentMeta, ignore?: number): boolean {
  if (candidate.level === 0) return false;
  const [low, high] = userRange(candidate);
  return modelLevel(model, candidate.level).some((file) => file.fileNumber !== ignore && rangesMeet(file, low, high));
}

describe('Version against a model', () => {
  it('agrees with a plain map under random edits', () => {
    fc.assert(
      fc.property(fc.array(operationArbitrary, { maxLength: 40 }), fc.array(fc.tuple(fc.option(keyArbitrary, { nil: undefined }), fc.option(keyArbitrary, { nil: undefined })), { minLength: 3, maxLength: 3 }), (operations, probes) => {
        const model = new Map<number, SegmentMeta>();
        let version = Version.empty();
        let nextFileNumber = 6;
        const accepted: VersionEdit[] = [];
        for (const operation of operations) {
          let change: VersionEdit;
          let valid: boolean;
          const live = [...model.values()];
          if (operation.kind === 'add') {
            const [a, b] = operation.a <= operation.b ? [operation.a, operation.b] : [operation.b, operation.a];
            const meta = segment(nextFileNumber++, operation.level, a, b, { smallestSequence: operation.sequence, largestSequence: operation.sequence + 5 });
            change = edit({ added: [meta] });
            valid = !wouldOverlap(model, meta);
          } else if (operation.kind === 'delete' || operation.kind === 'move') {
            if (live.length === 0) continue;
            const file = live[operation.pick % live.length]!;
            change = edit({ deleted: [{ level: file.level, fileNumber: file.fileNumber }] });
            valid = true;
            if (operation.kind === 'move') {
              const moved = { ...file, level: operation.level };
              change.added.push(moved);
              valid = !wouldOverlap(model, moved, file.fileNumber);
            }
          } else {
            change = edit({ deleted: [{ level: 1, fileNumber: operation.fileNumber }] });
            valid = false;
          }
          const result = version.tryApply(change);
          expect(result.kind).toBe(valid ? 'ok' : 'problem');
          if (result.kind !== 'ok') continue;
          version = result.version;
          accepted.push(change);
          for (const deleted of change.deleted) model.delete(deleted.fileNumber);
          for (const added of change.added) model.set(added.fileNumber, added);
        }

        for (let level = 0; level < levelCount; level++) {
          expect(version.levels[level]).toEqual(modelLevel(model, level));
          expect(version.levelBytes(level)).toBe(modelLevel(model, level).reduce((sum, file) => sum + file.fileBytes, 0));
          for (const [lowText, highText] of probes) {
            let low = lowText === undefined ? undefined : Buffer.from(lowText);
            let high = highText === undefined ? undefined : Buffer.from(highText);
            if (low !== undefined && high !== undefined && low.compare(high) > 0) [low, high] = [high, low];
            const expected = modelLevel(model, level).filter((file) => rangesMeet(file, low, high));
            expect(version.overlapping(level, low, high)).toEqual(expected);
            if (level > 0 && low !== undefined) {
              const holder = modelLevel(model, level).find((file) => rangesMeet(file, low, low));
              expect(version.findFile(level, low)).toBe(holder);
            }
          }
        }
        expect(version.fileNumbers()).toEqual(new Set(model.keys()));
        expect(version.checkInvariants()).toEqual([]);

        const builder = new VersionBuilder(Version.empty());
        for (const change of accepted) expect(builder.apply(change)).toBeUndefined();
        const built = builder.finish();
        expect(built.kind).toBe('ok');
        if (built.kind === 'ok') expect(describeVersion(built.version)).toEqual(describeVersion(version));
      }),
      { numRuns },
    );
  });
});
