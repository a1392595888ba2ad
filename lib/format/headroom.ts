// Buffers with free bytes before them, so that a header can be put in front
// of a large value without copying the value.
//
// The RESP decoder receives a large bulk (a 500 MB SET) into one new buffer:
// it allocates a few bytes more and hands out the view after them. The keyspace
// then writes its record header (27 bytes) into those bytes and stores the
// whole as the record, where it would otherwise copy the value once more; the
// record keeps the rest of the room. A value of largeHeadroomValueBytes or
// more gets more room (largeHeadroomBytes) in shared memory, so that the
// memtable can take the record over whole (value-arena.ts): it writes the
// key in front and keeps the buffer as a slab of its own, which the flush
// worker reads in place, instead of copying the value in.
//
// A buffer has headroom only when it is the exact view allocWithHeadroom() or
// takeHeadroom() returned, and only once: takeHeadroom() forgets it, so two
// records can never share the bytes in front of one value. Whoever holds a
// buffer with headroom owns its bytes, and whoever it is given to may keep
// it: it must not change once handed on (the RESP decoder never writes to a
// bulk it returned).

/** Free bytes allocWithHeadroom() leaves in front of a value shorter than largeHeadroomValueBytes. */
export const headroomBytes = 32;

/** Values at least this long get largeHeadroomBytes of room, in shared memory. */
export const largeHeadroomValueBytes = 1024 * 1024;

/** Free bytes in front of a large value: a record header and a key of up to about 4 KiB. */
export const largeHeadroomBytes = 4096;

/** Free bytes in front of each buffer that has headroom. */
const room = new WeakMap<Buffer, number>();

/**
 * A new uninitialized buffer of `length` bytes with free bytes in front:
 * headroomBytes, or largeHeadroomBytes in a SharedArrayBuffer when `length`
 * is at least largeHeadroomValueBytes (untouched pages of it cost no memory).
 */
export function allocWithHeadroom(length: number): Buffer {
  if (length >= largeHeadroomValueBytes) {
    const value = Buffer.from(new SharedArrayBuffer(largeHeadroomBytes + length), largeHeadroomBytes, length);
    room.set(value, largeHeadroomBytes);
    return value;
  }
  const value = Buffer.allocUnsafe(headroomBytes + length).subarray(headroomBytes);
  room.set(value, headroomBytes);
  return value;
}

/**
 * The `bytes` bytes in front of `value` and `value` itself, as one buffer
 * (the value's bytes are not copied), when `value` came from
 * allocWithHeadroom() or takeHeadroom() and has that much room; else
 * undefined. `value` has no room afterwards; the buffer returned has what is
 * left. The caller owns the bytes in front; the value's bytes are shared.
 */
export function takeHeadroom(value: Buffer, bytes: number): Buffer | undefined {
  const free = room.get(value);
  if (free === undefined || bytes > free) return undefined;
  room.delete(value);
  const whole = Buffer.from(value.buffer, value.byteOffset - bytes, bytes + value.length);
  room.set(whole, free - bytes);
  return whole;
}
