// Leveled compaction policy, as LevelDB's VersionSet::PickCompaction:
//
// - Level 0 scores by file count (its files overlap, so every read checks
//   each one); level n >= 1 by bytes against a target that grows tenfold a
//   level. The highest score >= 1 is compacted.
// - A level-0 compaction takes every L0 file plus the L1 files they overlap.
// - A level-n compaction takes one file, round-robin by key (the level's
//   compact pointer), plus the files it overlaps in level n+1.
// - A single input file that overlaps nothing below is moved by a manifest
//   edit alone (a trivial move), without rewriting it.

import { userKeyOf } from '../format/internal-key.js';
import type { Version } from '../manifest/version.js';
import type { SegmentMeta } from '../manifest/segment-meta.js';
import { levelCount } from '../limits.js';

export interface CompactionPolicy {
  level0CompactionTrigger: number;
  level1BytesTarget: number;
  levelSizeMultiplier: number;
}

export interface CompactionPick {
  /** The level whose data moves down. */
  level: number;
  outputLevel: number;
  inputs: { level: number; files: SegmentMeta[] }[];
  /** One input file and nothing to merge with: move it, do not rewrite it. */
  trivialMove: boolean;
  /** The largest user key of the inputs at `level`, for the compact pointer. */
  largestUserKey: Buffer;
}

/** Target bytes of level n >= 1. */
export function levelBytesTarget(policy: CompactionPolicy, level: number): number {
  return policy.level1BytesTarget * policy.levelSizeMultiplier ** (level - 1);
}

/** Each level's score; >= 1 means it needs compaction. The last level never does. */
export function levelScores(version: Version, policy: CompactionPolicy): number[] {
  const scores: number[] = [];
  for (let level = 0; level < levelCount - 1; level++) {
    if (level === 0) scores.push(version.levels[0]!.length / policy.level0CompactionTrigger);
    else scores.push(version.levelBytes(level) / levelBytesTarget(policy, level));
  }
  return scores;
}

/** Bytes above their level targets: an estimate of the compaction debt. */
export function pendingCompactionBytes(version: Version, policy: CompactionPolicy): number {
  let pending = version.levels[0]!.length >= policy.level0CompactionTrigger ? version.levelBytes(0) : 0;
  for (let level = 1; level < levelCount - 1; level++) {
    pending += Math.max(0, version.levelBytes(level) - levelBytesTarget(policy, level));
  }
  return pending;
}

/** The compaction to run next, or undefined when every level is within its target. */
export function pickCompaction(version: Version, policy: CompactionPolicy, compactPointers: ReadonlyMap<number, Buffer>): CompactionPick | undefined {
  const scores = levelScores(version, policy);
  let best = -1;
  for (let level = 0; level < scores.length; level++) {
    if (scores[level]! >= 1 && (best === -1 || scores[level]! > scores[best]!)) best = level;
  }
  if (best === -1) return undefined;
  if (best === 0) return pickLevel(version, 0, version.levels[0]!.slice());
  const files = version.levels[best]!;
  const pointer = compactPointers.get(best);
  const next = files.find((file) => pointer === undefined || userKeyOf(file.largestKey).compare(pointer) > 0) ?? files[0]!;
  return pickLevel(version, best, [next]);
}

/** A compaction of `files` at `level` into level + 1 (used by manual compactRange too). */
export function pickLevel(version: Version, level: number, files: SegmentMeta[]): CompactionPick {
  const [smallest, largest] = userKeyRange(files);
  const below = version.overlapping(level + 1, smallest, largest);
  const inputs = [{ level, files }];
  if (below.length > 0) inputs.push({ level: level + 1, files: below });
  return { level, outputLevel: level + 1, inputs, trivialMove: files.length === 1 && below.length === 0, largestUserKey: largest };
}

/** Smallest and largest user keys over `files`. */
export function userKeyRange(files: readonly SegmentMeta[]): [smallest: Buffer, largest: Buffer] {
  let smallest = userKeyOf(files[0]!.smallestKey);
  let largest = userKeyOf(files[0]!.largestKey);
  for (const file of files) {
    const low = userKeyOf(file.smallestKey);
    const high = userKeyOf(file.largestKey);
    if (low.compare(smallest) < 0) smallest = low;
    if (high.compare(largest) > 0) largest = high;
  }
  return [smallest, largest];
}
