// A Version: the immutable set of live segments, level by level, that a read
// or a compaction sees. Each manifest edit makes a new Version from the last;
// readers holding an old one keep its files alive (the engine's business).
//
// Invariants (checked when an edit is applied, and all of them again by
// checkInvariants() for `silt verify`):
// - there are levelCount levels; every segment sits in the level its `level` says;
// - a file number appears at most once in the whole version;
// - level 0 is ordered newest first: largestSequence descending, then file
//   number descending; its segments may overlap;
// - levels 1 and up are ordered by smallest key and their user-key ranges do
//   not overlap: the largest user key of a segment is below the smallest user
//   key of the next. NB: so a compaction must never split one user key's
//   versions across two output segments of the same level.
//
// Applying one edit costs O(size of the levels it touches). Replaying a whole
// manifest goes through one VersionBuilder, which accumulates every edit and
// sorts each level once at the end, as LevelDB's VersionSet::Builder does.

import { assert } from '../assert.js';
import { compareInternalKeys, userKeyOf } from '../format/internal-key.js';
import { levelCount } from '../limits.js';
import { segmentMetaProblem, type SegmentMeta } from './segment-meta.js';
import type { VersionEdit } from './version-edit.js';

/** Outcome of applying edits without asserting. */
export type ApplyResult =
  | { kind: 'ok'; version: Version }
  /** The edit (or edits) would break an invariant; `level` names the level when one is to blame. */
  | { kind: 'problem'; problem: string; level: number | undefined };

/** The immutable set of live segments. */
export class Version {
  /** levelCount arrays of segments, in each level's order (see the module header). Never modified. */
  readonly levels: readonly (readonly SegmentMeta[])[];
  /** Per level, where its next compaction starts (an internal key), if recorded. */
  readonly compactPointers: readonly (Buffer | undefined)[];
  /** fileNumber -> segment, built on first use. */
  #byNumber: Map<number, SegmentMeta> | undefined;

  /**
   * @internal Use Version.empty(), apply() or VersionBuilder: they keep the
   * invariants; this constructor only checks the shape.
   */
  constructor(levels: readonly (readonly SegmentMeta[])[], compactPointers: readonly (Buffer | undefined)[]) {
    assert(levels.length === levelCount, 'a version has levelCount levels');
    assert(compactPointers.length === levelCount, 'a version has levelCount compact pointers');
    this.levels = levels;
    this.compactPointers = compactPointers;
  }

  /** A version with no segments. */
  static empty(): Version {
    return emptyVersion;
  }

  /**
   * The version after `edit`. Deletions apply before additions, so one edit
   * may move a segment to another level.
   * @throws AssertionError when the edit would break an invariant (a bug in the caller)
   */
  apply(edit: VersionEdit): Version {
    const result = this.tryApply(edit);
    assert(result.kind === 'ok', `version edit applies cleanly: ${result.kind === 'problem' ? result.problem : ''}`);
    return result.version;
  }

  /** As apply(), but reports a broken invariant instead of asserting (for edits read from disk). */
  tryApply(edit: VersionEdit): ApplyResult {
    const builder = new VersionBuilder(this);
    const problem = builder.apply(edit);
    if (problem !== undefined) return { kind: 'problem', problem: problem.problem, level: problem.level };
    return builder.finish();
  }

  /**
   * Segments of `level` whose user-key range meets [smallestUserKey, largestUserKey].
   * An undefined bound is open. Level 0 is scanned; other levels binary-searched.
   * @returns segments in the level's order (a new array)
   */
  overlapping(level: number, smallestUserKey: Buffer | undefined, largestUserKey: Buffer | undefined): SegmentMeta[] {
    const files = this.#level(level);
    if (smallestUserKey !== undefined && largestUserKey !== undefined) {
      assert(smallestUserKey.compare(largestUserKey) <= 0, 'overlapping() range is not reversed');
    }
    const below = (file: SegmentMeta): boolean => smallestUserKey !== undefined && userKeyOf(file.largestKey).compare(smallestUserKey) < 0;
    const above = (file: SegmentMeta): boolean => largestUserKey !== undefined && userKeyOf(file.smallestKey).compare(largestUserKey) > 0;
    if (level === 0) return files.filter((file) => !below(file) && !above(file));
    const result: SegmentMeta[] = [];
    const start = smallestUserKey === undefined ? 0 : firstLargestAtLeast(files, smallestUserKey);
    for (let index = start; index < files.length; index++) {
      const file = files[index]!;
      if (above(file)) break;
      result.push(file);
    }
    return result;
  }

  /**
   * The segment of `level` (1 or more) whose user-key range holds `userKey`.
   * @returns undefined when no segment of the level covers it
   */
  findFile(level: number, userKey: Buffer): SegmentMeta | undefined {
    assert(level >= 1, 'findFile() is for levels 1 and up; level 0 overlaps');
    const files = this.#level(level);
    const file = files[firstLargestAtLeast(files, userKey)];
    if (file === undefined || userKeyOf(file.smallestKey).compare(userKey) > 0) return undefined;
    return file;
  }

  /** Total file bytes of `level`. */
  levelBytes(level: number): number {
    let bytes = 0;
    for (const file of this.#level(level)) bytes += file.fileBytes;
    return bytes;
  }

  /** Number of segments in `level`. */
  fileCount(level: number): number {
    return this.#level(level).length;
  }

  /** Every segment, level 0 first, each level in its order (a new array). */
  allFiles(): SegmentMeta[] {
    return this.levels.flat();
  }

  /** Every live file number (a new set). */
  fileNumbers(): Set<number> {
    return new Set(this.#index().keys());
  }

  /** The live segment with this file number, if any. */
  getFile(fileNumber: number): SegmentMeta | undefined {
    return this.#index().get(fileNumber);
  }

  /**
   * A full-state edit: applied to an empty version it rebuilds this one.
   * It is the first edit of every new manifest.
   */
  toSnapshotEdit(logNumber: number, nextFileNumber: number, lastSequence: number): VersionEdit {
    for (const fileNumber of this.#index().keys()) {
      assert(fileNumber < nextFileNumber, 'every live file number is below nextFileNumber');
    }
    const edit: VersionEdit = { logNumber, nextFileNumber, lastSequence, added: this.allFiles(), deleted: [] };
    const compactPointers = this.compactPointers.flatMap((key, level) => (key === undefined ? [] : [{ level, key }]));
    if (compactPointers.length > 0) edit.compactPointers = compactPointers;
    return edit;
  }

  /**
   * Checks every invariant from scratch (for `silt verify` and tests).
   * @returns one sentence per problem found; empty when the version is sound
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    const seen = new Map<number, number>();
    this.levels.forEach((files, level) => {
      for (const file of files) {
        const problem = segmentMetaProblem(file);
        if (problem !== undefined) problems.push(`Level ${level}: ${problem}`);
        if (file.level !== level) problems.push(`Level ${level}: segment ${file.fileNumber} says it belongs to level ${file.level}`);
        const other = seen.get(file.fileNumber);
        if (other !== undefined) problems.push(`Level ${level}: segment ${file.fileNumber} is also in level ${other}`);
        seen.set(file.fileNumber, level);
      }
      for (let index = 1; index < files.length; index++) {
        const problem = orderProblem(level, files[index - 1]!, files[index]!);
        if (problem !== undefined) problems.push(problem);
      }
    });
    return problems;
  }

  #level(level: number): readonly SegmentMeta[] {
    const files = this.levels[level];
    assert(files !== undefined, `level ${level} is within 0..${levelCount - 1}`);
    return files;
  }

  #index(): Map<number, SegmentMeta> {
    if (this.#byNumber === undefined) {
      this.#byNumber = new Map();
      for (const files of this.levels) for (const file of files) this.#byNumber.set(file.fileNumber, file);
    }
    return this.#byNumber;
  }
}

const emptyVersion = new Version(
  Array.from({ length: levelCount }, () => []),
  Array.from({ length: levelCount }, () => undefined),
);

/**
 * Applies any number of edits to a base version and builds the result once.
 * Per-edit checks (deleted files exist, no duplicate file numbers, segments
 * well formed) happen in apply(); ordering and overlap checks in finish().
 */
export class VersionBuilder {
  readonly #base: Version;
  /** Base segments deleted so far. */
  readonly #deleted = new Set<number>();
  /** Segments added since the base and still live, by file number. */
  readonly #added = new Map<number, SegmentMeta>();
  readonly #touchedLevels = new Set<number>();
  readonly #compactPointers: (Buffer | undefined)[];

  constructor(base: Version) {
    this.#base = base;
    this.#compactPointers = [...base.compactPointers];
  }

  /**
   * Applies one edit: deletions, then additions, then compact pointers.
   * @returns the first problem found (the builder is then unusable), or undefined
   */
  apply(edit: VersionEdit): { problem: string; level: number | undefined } | undefined {
    for (const { level, fileNumber } of edit.deleted) {
      const problem = this.#delete(level, fileNumber);
      if (problem !== undefined) return { problem, level };
    }
    for (const meta of edit.added) {
      const problem = this.#add(meta);
      if (problem !== undefined) return { problem, level: meta.level };
    }
    for (const { level, key } of edit.compactPointers ?? []) {
      if (!isLevel(level)) return { problem: `compact pointer for level ${level}, outside 0..${levelCount - 1}`, level: undefined };
      this.#compactPointers[level] = key;
    }
    return undefined;
  }

  /** Builds the version; levels no edit touched are shared with the base. */
  finish(): ApplyResult {
    const addedByLevel: SegmentMeta[][] = Array.from({ length: levelCount }, () => []);
    for (const meta of this.#added.values()) addedByLevel[meta.level]!.push(meta);
    const levels: (readonly SegmentMeta[])[] = [];
    for (let level = 0; level < levelCount; level++) {
      const baseFiles = this.#base.levels[level]!;
      if (!this.#touchedLevels.has(level)) {
        levels.push(baseFiles);
        continue;
      }
      const compare = level === 0 ? compareLevel0 : compareSorted;
      const kept = baseFiles.filter((file) => !this.#deleted.has(file.fileNumber));
      const files = mergeSorted(kept, addedByLevel[level]!.sort(compare), compare);
      if (level > 0) {
        for (let index = 1; index < files.length; index++) {
          const problem = orderProblem(level, files[index - 1]!, files[index]!);
          if (problem !== undefined) return { kind: 'problem', problem, level };
        }
      }
      levels.push(files);
    }
    return { kind: 'ok', version: new Version(levels, [...this.#compactPointers]) };
  }

  #delete(level: number, fileNumber: number): string | undefined {
    const notThere = `deletes segment ${fileNumber} from level ${level}, which is not there`;
    if (!isLevel(level)) return notThere;
    const added = this.#added.get(fileNumber);
    if (added !== undefined) {
      if (added.level !== level) return notThere;
      this.#added.delete(fileNumber);
    } else {
      const file = this.#base.getFile(fileNumber);
      if (file === undefined || file.level !== level || this.#deleted.has(fileNumber)) return notThere;
      this.#deleted.add(fileNumber);
    }
    this.#touchedLevels.add(level);
    return undefined;
  }

  #add(meta: SegmentMeta): string | undefined {
    const problem = segmentMetaProblem(meta);
    if (problem !== undefined) return `adds a malformed segment: ${problem}`;
    const live = this.#added.get(meta.fileNumber) ?? (this.#deleted.has(meta.fileNumber) ? undefined : this.#base.getFile(meta.fileNumber));
    if (live !== undefined) return `adds segment ${meta.fileNumber} to level ${meta.level}, but it is already in level ${live.level}`;
    this.#added.set(meta.fileNumber, meta);
    this.#touchedLevels.add(meta.level);
    return undefined;
  }
}

/** Level 0 order: newest first (largest sequence, then file number, descending). */
export function compareLevel0(a: SegmentMeta, b: SegmentMeta): number {
  return b.largestSequence - a.largestSequence || b.fileNumber - a.fileNumber;
}

/** Order of levels 1 and up: smallest internal key ascending (file number breaks ties for a stable sort). */
export function compareSorted(a: SegmentMeta, b: SegmentMeta): number {
  return compareInternalKeys(a.smallestKey, b.smallestKey) || a.fileNumber - b.fileNumber;
}

/** A printable rendering of a key for messages: text when it is plain ASCII, else hex; long keys cut. */
export function describeKey(key: Buffer): string {
  const shown = key.subarray(0, 32);
  const text = /^[\x20-\x7e]*$/.test(shown.toString('latin1')) ? JSON.stringify(shown.toString('latin1')) : `0x${shown.toString('hex')}`;
  return key.length > shown.length ? `${text}... (${key.length} bytes)` : text;
}

/** What is wrong with `next` following `previous` in `level`, or undefined. */
function orderProblem(level: number, previous: SegmentMeta, next: SegmentMeta): string | undefined {
  if (level === 0) {
    if (compareLevel0(previous, next) < 0) return undefined;
    return `Level 0: segment ${previous.fileNumber} (largest sequence ${previous.largestSequence}) is ordered before newer segment ${next.fileNumber} (largest sequence ${next.largestSequence})`;
  }
  if (compareSorted(previous, next) > 0) {
    return `Level ${level}: segment ${previous.fileNumber} is ordered before segment ${next.fileNumber}, which has a smaller smallest key`;
  }
  const previousLargest = userKeyOf(previous.largestKey);
  const nextSmallest = userKeyOf(next.smallestKey);
  if (previousLargest.compare(nextSmallest) < 0) return undefined;
  return `Level ${level}: segment ${previous.fileNumber} (up to ${describeKey(previousLargest)}) overlaps segment ${next.fileNumber} (from ${describeKey(nextSmallest)})`;
}

/** Index of the first segment whose largest user key is >= userKey (files.length when none). */
function firstLargestAtLeast(files: readonly SegmentMeta[], userKey: Buffer): number {
  let low = 0;
  let high = files.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (userKeyOf(files[middle]!.largestKey).compare(userKey) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

function mergeSorted(a: readonly SegmentMeta[], b: readonly SegmentMeta[], compare: (x: SegmentMeta, y: SegmentMeta) => number): SegmentMeta[] {
  if (b.length === 0) return [...a];
  if (a.length === 0) return [...b];
  const merged: SegmentMeta[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (compare(a[i]!, b[j]!) <= 0) merged.push(a[i++]!);
    else merged.push(b[j++]!);
  }
  while (i < a.length) merged.push(a[i++]!);
  while (j < b.length) merged.push(b[j++]!);
  return merged;
}

function isLevel(level: number): boolean {
  return Number.isInteger(level) && level >= 0 && level < levelCount;
}
