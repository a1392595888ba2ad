// Internal keys: how the engine orders versions of one user key
// (docs/format.md, "Internal keys"). As in LevelDB:
//
//   internal key = user key ‖ trailer (u64 little-endian)
//   trailer      = sequence << 8 | value type
//
// Ordering: user key ascending (bytewise), then sequence descending, then type
// descending; so the newest version of a key comes first. Sequence numbers are
// JS safe integers (< 2^53), far beyond any realistic write count, which keeps
// the hot path free of BigInt; the trailer still has LevelDB's 56-bit room.

import { assert } from '../assert.js';
import { compareByteRanges } from './compare-bytes.js';

/** Value types. Written to disk: never renumber. */
export const ValueType = {
  /** A tombstone: the key is deleted as of this sequence number. */
  delete: 0,
  /** A value. */
  put: 1,
} as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/** Bytes of the trailer after the user key. */
export const trailerBytes = 8;

/** Largest sequence number: 2^53 - 1 (fits the 56-bit trailer field). */
export const sequenceMax = Number.MAX_SAFE_INTEGER;

/** Sequence used for seeks: sorts before every real version of the same user key. */
export const seekSequence = sequenceMax;

const twoPow24 = 0x100_0000;

/** Builds `userKey ‖ trailer`. */
export function makeInternalKey(userKey: Uint8Array, sequence: number, type: number): Buffer {
  const key = Buffer.allocUnsafe(userKey.length + trailerBytes);
  key.set(userKey, 0);
  writeTrailer(key, userKey.length, sequence, type);
  return key;
}

/** Writes the 8-byte trailer at `offset`. */
export function writeTrailer(target: Buffer, offset: number, sequence: number, type: number): void {
  assert(sequence >= 0 && sequence <= sequenceMax, 'sequence within 0..2^53-1');
  const low = ((sequence % twoPow24) * 256 + type) >>> 0;
  const high = Math.floor(sequence / twoPow24);
  target.writeUInt32LE(low, offset);
  target.writeUInt32LE(high, offset + 4);
}

/** The user key part: a view into `internalKey`. */
export function userKeyOf(internalKey: Buffer): Buffer {
  return internalKey.subarray(0, internalKey.length - trailerBytes);
}

/** The sequence number in the trailer. */
export function sequenceOf(internalKey: Buffer): number {
  const offset = internalKey.length - trailerBytes;
  const low = internalKey.readUInt32LE(offset);
  const high = internalKey.readUInt32LE(offset + 4);
  return high * twoPow24 + Math.floor(low / 256);
}

/** The value type in the trailer. */
export function typeOf(internalKey: Buffer): number {
  return internalKey[internalKey.length - trailerBytes]!;
}

/** Compares internal keys: user key ascending, then trailer (sequence, type) descending. */
export function compareInternalKeys(a: Buffer, b: Buffer): number {
  const aUserLength = a.length - trailerBytes;
  const bUserLength = b.length - trailerBytes;
  const byUser = compareByteRanges(a, 0, aUserLength, b, 0, bUserLength);
  if (byUser !== 0) return byUser;
  const aHigh = a.readUInt32LE(aUserLength + 4);
  const bHigh = b.readUInt32LE(bUserLength + 4);
  if (aHigh !== bHigh) return aHigh > bHigh ? -1 : 1;
  const aLow = a.readUInt32LE(aUserLength);
  const bLow = b.readUInt32LE(bUserLength);
  if (aLow !== bLow) return aLow > bLow ? -1 : 1;
  return 0;
}

/** True when `internalKey` is well formed (long enough to hold a trailer, known type). */
export function isValidInternalKey(internalKey: Buffer): boolean {
  if (internalKey.length < trailerBytes) return false;
  const type = typeOf(internalKey);
  return type === ValueType.delete || type === ValueType.put;
}
