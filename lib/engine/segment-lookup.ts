// Helpers for LsmEngine's point lookup in segments (#getFromSegments): which
// segments of a Version may hold a user key, decided with in-place byte
// comparisons. The Version's own findFile() and userKeyOf() make a Buffer view
// per key compared and cross into C++ for Buffer#compare; on a lookup that
// visits several levels those costs add up to more than the segment read
// itself when its block is cached.

import { compareByteRanges } from '../format/compare-bytes.js';
import { trailerBytes } from '../format/internal-key.js';
import type { SegmentMeta } from '../manifest/segment-meta.js';

/** Compares the user key of `internalKey` with `userKey`: negative, zero or positive. */
export function compareUserKeyOf(internalKey: Buffer, userKey: Buffer): number {
  return compareByteRanges(internalKey, 0, internalKey.length - trailerBytes, userKey, 0, userKey.length);
}

/** True when `userKey` lies within the segment's user-key range. */
export function userKeyInRange(file: SegmentMeta, userKey: Buffer): boolean {
  return compareUserKeyOf(file.smallestKey, userKey) <= 0 && compareUserKeyOf(file.largestKey, userKey) >= 0;
}

/**
 * The one segment of a sorted, non-overlapping level (1 and up) whose range holds `userKey`.
 * @returns undefined when the key falls between segments or outside the level
 */
export function segmentHolding(files: readonly SegmentMeta[], userKey: Buffer): SegmentMeta | undefined {
  let low = 0;
  let high = files.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareUserKeyOf(files[middle]!.largestKey, userKey) < 0) low = middle + 1;
    else high = middle;
  }
  const file = files[low];
  if (file === undefined || compareUserKeyOf(file.smallestKey, userKey) > 0) return undefined;
  return file;
}
