// What the manifest knows about one segment file: enough to place it in a
// level, route reads to it (key range), pick compactions (size, tombstones,
// age) and bound the sequence numbers it holds, without opening the file.
// Its encoding inside a version edit is in version-edit.ts and
// docs/format.md, "Manifest".

import { compareInternalKeys, isValidInternalKey, trailerBytes } from '../format/internal-key.js';
import { keyBytesMax, levelCount } from '../limits.js';

/**
 * One live segment. Keys are internal keys (user key ‖ 8-byte trailer).
 * The buffers belong to the metadata and must not be modified; they stay
 * valid as long as the metadata is referenced.
 */
export interface SegmentMeta {
  /** Names the file: seg/NNNNNN.sst. */
  readonly fileNumber: number;
  /** 0 to levelCount - 1. */
  readonly level: number;
  /** Size of the file, bytes. */
  readonly fileBytes: number;
  /** Smallest internal key in the segment. */
  readonly smallestKey: Buffer;
  /** Largest internal key in the segment. */
  readonly largestKey: Buffer;
  readonly smallestSequence: number;
  readonly largestSequence: number;
  /** Entries (puts and tombstones). */
  readonly entryCount: number;
  /** Tombstones among the entries. */
  readonly tombstoneCount: number;
  /** Wall-clock time the segment was written, ms since the epoch. */
  readonly createdMs: number;
}

/** Longest internal key a segment boundary may have, bytes. */
export const segmentBoundaryKeyBytesMax = keyBytesMax + trailerBytes;

/**
 * What is wrong with `meta` on its own (not relative to other segments).
 * @returns a phrase naming the problem, or undefined when it is well formed
 */
export function segmentMetaProblem(meta: SegmentMeta): string | undefined {
  const name = `segment ${meta.fileNumber}`;
  if (!isCount(meta.fileNumber)) return `${name} has an invalid file number`;
  if (!Number.isInteger(meta.level) || meta.level < 0 || meta.level >= levelCount) {
    return `${name} has level ${meta.level}, outside 0..${levelCount - 1}`;
  }
  for (const field of ['fileBytes', 'smallestSequence', 'largestSequence', 'entryCount', 'tombstoneCount', 'createdMs'] as const) {
    if (!isCount(meta[field])) return `${name} has an invalid ${field} (${meta[field]})`;
  }
  if (!isValidInternalKey(meta.smallestKey)) return `${name} has a malformed smallest key`;
  if (!isValidInternalKey(meta.largestKey)) return `${name} has a malformed largest key`;
  if (meta.smallestKey.length > segmentBoundaryKeyBytesMax) return `${name} has a smallest key over ${segmentBoundaryKeyBytesMax} bytes`;
  if (meta.largestKey.length > segmentBoundaryKeyBytesMax) return `${name} has a largest key over ${segmentBoundaryKeyBytesMax} bytes`;
  if (compareInternalKeys(meta.smallestKey, meta.largestKey) > 0) return `${name} has its smallest key after its largest key`;
  if (meta.smallestSequence > meta.largestSequence) {
    return `${name} has smallest sequence ${meta.smallestSequence} above largest sequence ${meta.largestSequence}`;
  }
  if (meta.tombstoneCount > meta.entryCount) {
    return `${name} has ${meta.tombstoneCount} tombstones but only ${meta.entryCount} entries`;
  }
  return undefined;
}

function isCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}
