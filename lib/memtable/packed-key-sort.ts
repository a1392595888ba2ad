// Sorts packed keys in byte order, for a flush worker (memtable-image.ts): the
// keys of a memtable image, copied from its slabs back to back into one buffer
// (PackedKeys), sorted by permuting key numbers. The algorithm is
// latin1-sort.ts's: a most-significant-digit radix sort whose digit is 5
// bytes, each pass a native sort of 64-bit codes (5 key bytes, then the key's
// position in the range), with comparison sorts for short runs.
//
// Why not latin1-sort.ts on strings: the worker has no strings and would make
// one per key (and collect them). Sorting a 400,000-key image took 200-230 ms
// through strings, 100-120 ms packed: the packed bytes sit in a few MB, read in
// order by each pass. Where strings already exist (the memtable's folds and
// bulk load) sorting them stays faster than packing them first (16,384 keys
// 2.2 against 3.1-3.4 ms, 1M keys 375-445 against 506-554 ms; docs/bench.md).
//
// Order: byte order. A key that ends inside a digit is padded with zeros, so it
// sorts before every longer key with its prefix; the pad can only tie keys
// that differ in trailing zero bytes ("ab", "ab\0"), and ties are sorted by
// comparison once every key of the run has ended.

/** Ranges this short are sorted by comparison. */
const comparisonSortMax = 48;
/** Bytes per digit: 4 in the high word of a code, 1 beside the 24-bit index in the low word. */
const digitBytes = 5;
const indexBits = 24;
const indexMask = (1 << indexBits) - 1;
/** Deepest digit position (bytes) before a range is left to a comparison sort (bounds recursion). */
const radixDepthMax = 4096;

/** Most key bytes PackedKeys holds: `starts` are u32 (and a Uint8Array is at most 4 GiB in Node 20). */
export const packedKeyBytesMax = 2 ** 32 - 1;

/**
 * Keys back to back: key `k` is `bytes[starts[k], starts[k + 1])`, so
 * `starts` has one entry more than there are keys.
 */
export interface PackedKeys {
  bytes: Uint8Array;
  starts: Uint32Array;
}

/**
 * Sorts `order` (numbers of distinct keys of `keys`, each once) so that the
 * keys it names ascend in byte order.
 * @param sharedPrefixLength a length of prefix every key named shares, if known (saves a pass per 5 bytes)
 */
export function sortPackedKeys(keys: PackedKeys, order: Int32Array, sharedPrefixLength = 0): void {
  sortRange(keys.bytes, keys.starts, order, 0, order.length, Math.min(sharedPrefixLength, radixDepthMax));
}

function sortRange(bytes: Uint8Array, starts: Uint32Array, order: Int32Array, start: number, end: number, depth: number): void {
  const count = end - start;
  if (count <= comparisonSortMax || count > indexMask + 1 || depth > radixDepthMax) return comparisonSort(bytes, starts, order, start, end);

  const codes = new BigUint64Array(count);
  const words = new Uint32Array(codes.buffer); // little-endian: words[2i] low, words[2i + 1] high
  // Skip digits every key shares (a common prefix) without sorting.
  for (;;) {
    let allEqual = true;
    for (let index = 0; index < count; index++) {
      const key = order[start + index]!;
      const at = starts[key]! + depth;
      let high: number;
      let low: number;
      if (at + digitBytes <= starts[key + 1]!) {
        high = ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
        low = ((bytes[at + 4]! << indexBits) | index) >>> 0;
      } else {
        // The key ends inside this digit: zeros past its end.
        const keyEnd = starts[key + 1]!;
        high = 0;
        for (let byte = 0; byte < 4; byte++) high = (high << 8) | (at + byte < keyEnd ? bytes[at + byte]! : 0);
        high >>>= 0;
        low = (((at + 4 < keyEnd ? bytes[at + 4]! : 0) << indexBits) | index) >>> 0;
      }
      words[2 * index] = low;
      words[2 * index + 1] = high;
      if (high !== words[1] || low >>> indexBits !== words[0]! >>> indexBits) allEqual = false;
    }
    if (!allEqual) break;
    // Every key ends within this digit: they differ only in trailing zero bytes (a handful at most).
    if (longestLength(starts, order, start, end) <= depth + digitBytes) return comparisonSort(bytes, starts, order, start, end);
    depth += digitBytes;
    if (depth > radixDepthMax) return comparisonSort(bytes, starts, order, start, end);
  }

  codes.sort();
  const before = order.slice(start, end);
  for (let index = 0; index < count; index++) order[start + index] = before[words[2 * index]! & indexMask]!;
  // Runs of equal digits: sort each by the next digit (or by comparison).
  for (let runStart = 0; runStart < count; ) {
    const high = words[2 * runStart + 1];
    const digit = words[2 * runStart]! >>> indexBits;
    let runEnd = runStart + 1;
    while (runEnd < count && words[2 * runEnd + 1] === high && words[2 * runEnd]! >>> indexBits === digit) runEnd++;
    if (runEnd - runStart > 1) {
      if (longestLength(starts, order, start + runStart, start + runEnd) <= depth + digitBytes) comparisonSort(bytes, starts, order, start + runStart, start + runEnd);
      else sortRange(bytes, starts, order, start + runStart, start + runEnd, depth + digitBytes);
    }
    runStart = runEnd;
  }
}

function longestLength(starts: Uint32Array, order: Int32Array, start: number, end: number): number {
  let longest = 0;
  for (let index = start; index < end; index++) {
    const key = order[index]!;
    const length = starts[key + 1]! - starts[key]!;
    if (length > longest) longest = length;
  }
  return longest;
}

/** Byte order of keys `a` and `b`. */
function compareKeys(bytes: Uint8Array, starts: Uint32Array, a: number, b: number): number {
  const aEnd = starts[a + 1]!;
  const bEnd = starts[b + 1]!;
  let i = starts[a]!;
  let j = starts[b]!;
  for (; i < aEnd && j < bEnd; i++, j++) {
    const difference = bytes[i]! - bytes[j]!;
    if (difference !== 0) return difference;
  }
  return aEnd - i - (bEnd - j);
}

/** Insertion sort for short ranges, Array#sort for long ones. */
function comparisonSort(bytes: Uint8Array, starts: Uint32Array, order: Int32Array, start: number, end: number): void {
  if (end - start <= comparisonSortMax) {
    for (let index = start + 1; index < end; index++) {
      const key = order[index]!;
      let at = index;
      for (; at > start && compareKeys(bytes, starts, order[at - 1]!, key) > 0; at--) order[at] = order[at - 1]!;
      order[at] = key;
    }
    return;
  }
  const range = Array.from(order.subarray(start, end));
  range.sort((a, b) => compareKeys(bytes, starts, a, b));
  order.set(range, start);
}
