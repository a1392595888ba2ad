// Bytewise comparison, the engine's only key order. Buffer#compare crosses
// into C++ on every call (about 50 ns); keys in a memtable or block usually
// differ within their first few bytes, where a JIT-compiled loop answers in
// a few nanoseconds. Long inputs still go to the native compare, which wins
// once there are many equal bytes to skip.

/** Lengths above which the native compare is used. */
const nativeCompareBytesMin = 64;

/** Negative, zero or positive as `a` sorts before, with or after `b` (bytewise, shorter prefix first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = a.length < b.length ? a.length : b.length;
  if (length >= nativeCompareBytesMin) return Buffer.compare(a, b);
  for (let index = 0; index < length; index++) {
    const difference = a[index]! - b[index]!;
    if (difference !== 0) return difference;
  }
  return a.length - b.length;
}

/** True when `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.length >= nativeCompareBytesMin) return Buffer.compare(a, b) === 0;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
}
