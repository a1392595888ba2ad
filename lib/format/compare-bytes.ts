// Bytewise comparison and copying, the engine's only key order.
//
// NB: these are JS loops on purpose. Buffer#compare crosses into C++ on
// every call (about 50 ns, and 140-260 ns with range arguments, measured on
// Node 20), and subarray() allocates a view; keys in a memtable or block
// usually differ within their first few bytes, where a JIT-compiled loop
// answers in a few nanoseconds. Long inputs still go native, which wins once
// there are many equal bytes to skip.

/** Ranges at least this long are compared by Buffer#compare; shorter ones in a JS loop. */
const nativeCompareBytesMin = 128;

/** Copies longer than this use TypedArray#set; shorter ones a JS loop. */
const nativeCopyBytesMin = 64;

/** Bytewise comparison of `a[aStart, aEnd)` with `b[bStart, bEnd)`: negative, zero or positive. */
export function compareByteRanges(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const length = aLength < bLength ? aLength : bLength;
  if (length >= nativeCompareBytesMin) return Buffer.prototype.compare.call(a, b, bStart, bEnd, aStart, aEnd);
  for (let index = 0; index < length; index++) {
    const difference = a[aStart + index]! - b[bStart + index]!;
    if (difference !== 0) return difference;
  }
  return aLength - bLength;
}

/** Negative, zero or positive as `a` sorts before, with or after `b` (a prefix sorts first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareByteRanges(a, 0, a.length, b, 0, b.length);
}

/** True when `a` and `b` hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareByteRanges(a, 0, a.length, b, 0, b.length) === 0;
}

/** Copies `source[start, end)` to `target` at `targetStart` (ranges may not overlap). */
export function copyBytes(source: Uint8Array, start: number, end: number, target: Uint8Array, targetStart: number): void {
  if (end - start > nativeCopyBytesMin) {
    target.set(source.subarray(start, end), targetStart);
    return;
  }
  for (let index = start; index < end; index++) target[targetStart++] = source[index]!;
}
