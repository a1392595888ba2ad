// Unsigned LEB128 varints, as LevelDB and protobuf encode them: seven bits a
// byte, low bits first, high bit set on every byte but the last. Values are
// JS numbers up to 2^53 - 1 (sequence numbers, lengths, file numbers), so a
// varint is at most 8 bytes here.

import { assert } from '../assert.js';

/** Most bytes a varint of a safe integer takes. */
export const varintBytesMax = 8;

/** Bytes `value` takes as a varint. */
export function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

/**
 * Writes `value` at `offset` in `target`.
 * @returns the offset just past the varint.
 */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  assert(Number.isSafeInteger(value) && value >= 0, 'varint value is a non-negative safe integer');
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}

/** Result slot for readVarint, reused to avoid allocating per call. */
export interface VarintResult {
  value: number;
  offset: number;
}

/**
 * Reads a varint at `offset`, never past `end`.
 * @returns false when the bytes end before the varint does or it exceeds a safe integer;
 *   otherwise true, with `out.value` and `out.offset` (just past the varint) set.
 */
export function readVarint(source: Uint8Array, offset: number, end: number, out: VarintResult): boolean {
  let value = 0;
  let scale = 1;
  for (let index = 0; index < varintBytesMax; index++) {
    if (offset >= end) return false;
    const byte = source[offset++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) return false;
      out.value = value;
      out.offset = offset;
      return true;
    }
    scale *= 128;
  }
  return false;
}
