// Sorts distinct latin1 strings (memtable keys) with their values, for the
// bulk load after WAL replay: a most-significant-digit radix sort whose digit
// is 5 bytes, each pass a native sort of 64-bit codes (5 key bytes, then the
// key's index in the range), with comparison sorts for short runs.
//
// Why: a comparison sort of a million strings reads a random string for
// every comparison (two cache misses each, some 20 M comparisons); a pass
// here reads each string once, in the order the strings were allocated, and
// sorts plain numbers. Long shared prefixes (every key of a keyspace starts
// alike) cost a cheap pass per 5 bytes, with no sort.
//
// Order: byte order, which is JS string order for latin1 strings (one UTF-16
// code unit per byte). A key that ends inside a digit is padded with zeros;
// so it sorts before every longer key with its prefix; the pad can only tie
// keys that differ in trailing zero bytes ("ab", "ab\0"), and ties are sorted
// by comparison once every key of the run has ended.

/** Ranges this short are sorted by comparison. */
const comparisonSortMax = 48;
/** Bytes per digit: 4 in the high word of a code, 1 beside the 24-bit index in the low word. */
const digitBytes = 5;
const indexBits = 24;
const indexMask = (1 << indexBits) - 1;
/** Deepest digit position (bytes) before a range is left to a comparison sort (bounds recursion). */
const radixDepthMax = 4096;

/**
 * Sorts `keys` (distinct latin1 strings) ascending in place, moving
 * `values[i]` with `keys[i]`.
 * @param sharedPrefixLength a length of prefix every key shares, if known (saves a pass per 5 bytes)
 */
export function sortLatin1(keys: string[], values: number[], sharedPrefixLength = 0): void {
  sortRange(keys, values, 0, keys.length, Math.min(sharedPrefixLength, radixDepthMax));
}

function sortRange(keys: string[], values: number[], start: number, end: number, depth: number): void {
  const count = end - start;
  if (count <= comparisonSortMax || count > indexMask + 1 || depth > radixDepthMax) return comparisonSort(keys, values, start, end);

  const codes = new BigUint64Array(count);
  const words = new Uint32Array(codes.buffer); // little-endian: words[2i] low, words[2i + 1] high
  // Skip digits every key shares (a common prefix) without sorting.
  for (;;) {
    let allEqual = true;
    for (let index = 0; index < count; index++) {
      const key = keys[start + index]!;
      const high = ((byteAt(key, depth) << 24) | (byteAt(key, depth + 1) << 16) | (byteAt(key, depth + 2) << 8) | byteAt(key, depth + 3)) >>> 0;
      const low = ((byteAt(key, depth + 4) << indexBits) | index) >>> 0;
      words[2 * index] = low;
      words[2 * index + 1] = high;
      if (high !== words[1] || low >>> indexBits !== words[0]! >>> indexBits) allEqual = false;
    }
    if (!allEqual) break;
    // Every key ends within this digit: they differ only in trailing zero bytes (a handful at most).
    if (longestLength(keys, start, end) <= depth + digitBytes) return comparisonSort(keys, values, start, end);
    depth += digitBytes;
    if (depth > radixDepthMax) return comparisonSort(keys, values, start, end);
  }

  codes.sort();
  const keysBefore = keys.slice(start, end);
  const valuesBefore = values.slice(start, end);
  for (let index = 0; index < count; index++) {
    const from = words[2 * index]! & indexMask;
    keys[start + index] = keysBefore[from]!;
    values[start + index] = valuesBefore[from]!;
  }
  // Runs of equal digits: sort each by the next digit (or by comparison).
  for (let runStart = 0; runStart < count; ) {
    const high = words[2 * runStart + 1];
    const digit = words[2 * runStart]! >>> indexBits;
    let runEnd = runStart + 1;
    while (runEnd < count && words[2 * runEnd + 1] === high && words[2 * runEnd]! >>> indexBits === digit) runEnd++;
    if (runEnd - runStart > 1) {
      if (longestLength(keys, start + runStart, start + runEnd) <= depth + digitBytes) comparisonSort(keys, values, start + runStart, start + runEnd);
      else sortRange(keys, values, start + runStart, start + runEnd, depth + digitBytes);
    }
    runStart = runEnd;
  }
}

function byteAt(key: string, position: number): number {
  return position < key.length ? key.charCodeAt(position) : 0;
}

function longestLength(keys: readonly string[], start: number, end: number): number {
  let longest = 0;
  for (let index = start; index < end; index++) if (keys[index]!.length > longest) longest = keys[index]!.length;
  return longest;
}

/** Insertion sort for short ranges, Array#sort on an index for long ones. */
function comparisonSort(keys: string[], values: number[], start: number, end: number): void {
  if (end - start <= comparisonSortMax) {
    for (let index = start + 1; index < end; index++) {
      const key = keys[index]!;
      const value = values[index]!;
      let at = index;
      for (; at > start && keys[at - 1]! > key; at--) {
        keys[at] = keys[at - 1]!;
        values[at] = values[at - 1]!;
      }
      keys[at] = key;
      values[at] = value;
    }
    return;
  }
  const order = Array.from({ length: end - start }, (_, index) => start + index);
  order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
  const sortedKeys = order.map((index) => keys[index]!);
  const sortedValues = order.map((index) => values[index]!);
  for (let index = 0; index < order.length; index++) {
    keys[start + index] = sortedKeys[index]!;
    values[start + index] = sortedValues[index]!;
  }
}
