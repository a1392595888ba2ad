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
  // Byte stores rather than writeUInt32LE (its range checks cost more than the write, on every iterator step).
  target[offset] = low & 0xff;
  target[offset + 1] = (low >>> 8) & 0xff;
  target[offset + 2] = (low >>> 16) & 0xff;
  target[offset + 3] = low >>> 24;
  target[offset + 4] = high & 0xff;
  target[offset + 5] = (high >>> 8) & 0xff;
  target[offset + 6] = (high >>> 16) & 0xff;
  target[offset + 7] = high >>> 24;
}

/** The user key part: a view into `internalKey`. */
export function userKeyOf(internalKey: Buffer): Buffer {
  return internalKey.subarray(0, internalKey.length - trailerBytes);
}

/** The sequence number in the trailer. */
export function sequenceOf(internalKey: Buffer): number {
  const offset = internalKey.length - trailerBytes;
  // Bytes 1-3 of the low word are the sequence's low 24 bits (byte 0 is the type).
  const low24 = internalKey[offset + 1]! | (internalKey[offset + 2]! << 8) | (internalKey[offset + 3]! << 16);
  return u32le(internalKey, offset + 4) * twoPow24 + low24;
}

/** The little-endian u32 at `offset` (no range checks: callers index within the key; readUInt32LE's checks cost more than the read). */
function u32le(bytes: Buffer, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16)) + bytes[offset + 3]! * 0x100_0000;
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
  const aHigh = u32le(a, aUserLength + 4);
  const bHigh = u32le(b, bUserLength + 4);
  if (aHigh !== bHigh) return aHigh > bHigh ? -1 : 1;
  const aLow = u32le(a, aUserLength);
  const bLow = u32le(b, bUserLength);
  if (aLow !== bLow) return aLow > bLow ? -1 : 1;
  return 0;
}

/** True when `internalKey` is well formed (long enough to hold a trailer, known type). */
export function isValidInternalKey(internalKey: Buffer): boolean {
  if (internalKey.length < trailerBytes) return false;
  const type = typeOf(internalKey);
  return type === ValueType.delete || type === ValueType.put;
}
