// Buffers with free bytes before them, so that a header can be put in front
// of a large value without copying the value.
//
// The RESP decoder receives a large bulk (a 500 MB SET) into one new buffer:
// it allocates a few bytes more and hands out the view after them. The keyspace
// then writes its record header (27 bytes) into those bytes and stores the
// whole as the record, where it would otherwise copy the value once more.
// A buffer has headroom only when it is the exact view allocWithHeadroom()
// returned, and only once: takeHeadroom() forgets it, so two records can
// never share the bytes in front of one value.

/** Free bytes allocWithHeadroom() leaves in front of a value. */
export const headroomBytes = 32;

const roomy = new WeakSet<Buffer>();

/** A new uninitialized buffer of `length` bytes with headroomBytes free bytes in front. */
export function allocWithHeadroom(length: number): Buffer {
  const value = Buffer.allocUnsafe(headroomBytes + length).subarray(headroomBytes);
  roomy.add(value);
  return value;
}

/**
 * The `bytes` bytes in front of `value` and `value` itself, as one buffer
 * (the value's bytes are not copied), when `value` came from
 * allocWithHeadroom() and its headroom was not taken yet; else undefined.
 * The caller owns the bytes in front; the value's bytes are shared.
 */
export function takeHeadroom(value: Buffer, bytes: number): Buffer | undefined {
  if (bytes > headroomBytes || !roomy.delete(value)) return undefined;
  return Buffer.from(value.buffer, value.byteOffset - bytes, bytes + value.length);
}
