// Key ranges known to hold nothing visible: where a forward walk started and
// passed only deleted keys (tombstones, older versions) before its first live
// entry. A deleted key's tombstone stays until compaction drops it (in the
// memtable, until a flush and then a compaction), so a queue popped from its
// front (ZPOPMIN, a sliding window's ZREMRANGEBYSCORE -inf ..., an expiry
// index, SCAN 0 after a mass delete) made every walk from the front pass all
// the tombstones of what was removed before: quadratic. RocksDB leaves this
// to applications ("the queue anti-pattern"); here the engine remembers the
// dead stretch and later walks that start inside it seek past it.
//
// A range [low, high) recorded at sequence S says: at S, no user key in it
// has a visible version. It stays true at later sequences until a write
// lands in it, which drops it (LsmEngine calls written() for every key it
// applies; a range lives only in memory). A reader at a sequence below S may
// see versions deleted since, so it does not use the range. Taking writes
// back (a failed WAL write) can bring versions back: clear() then.
//
// Ranges do not overlap or touch (a new one is merged with those it meets);
// at most deadRangesMax are kept, the least recently used dropped first. written() is a binary search: O(log deadRangesMax)
// comparisons per key written, nothing when no range is kept.

import { compareBytes } from '../format/compare-bytes.js';
import { deadRangesMax } from '../limits.js';

interface DeadRange {
  low: Buffer;
  /** Exclusive. */
  high: Buffer;
  sequence: number;
  used: number;
}

export class DeadRanges {
  /** Sorted by low, not overlapping. */
  readonly #ranges: DeadRange[] = [];
  #clock = 0;

  get size(): number {
    return this.#ranges.length;
  }

  /**
   * Where a forward walk from `target` at `sequence` may start instead: past
   * every range it lands in, in turn. @returns the new start, or undefined
   * when no range applies
   */
  skip(target: Buffer, sequence: number): Buffer | undefined {
    let moved: Buffer | undefined;
    for (let hops = 0; hops < this.#ranges.length; hops++) {
      const range = this.#holding(moved ?? target);
      if (range === undefined || range.sequence > sequence) break;
      range.used = ++this.#clock;
      moved = range.high;
    }
    return moved;
  }

  /**
   * Remembers that nothing in [low, high) is visible at `sequence`, the
   * newest, merged with the ranges it overlaps or touches: each of those is
   * still dead at the newest sequence (a write into it would have dropped
   * it), so their union is too. (Replacing them instead let a walk with a
   * nearer upper bound, or one starting inside a range, shrink it.)
   */
  record(low: Uint8Array, high: Uint8Array, sequence: number): void {
    if (compareBytes(low, high) >= 0) return;
    const ranges = this.#ranges;
    let at = 0;
    while (at < ranges.length && compareBytes(ranges[at]!.high, low) < 0) at++;
    let end = at;
    while (end < ranges.length && compareBytes(ranges[end]!.low, high) <= 0) end++;
    if (end > at) {
      if (compareBytes(ranges[at]!.low, low) < 0) low = ranges[at]!.low;
      if (compareBytes(ranges[end - 1]!.high, high) > 0) high = ranges[end - 1]!.high;
    }
    ranges.splice(at, end - at, { low: Buffer.from(low), high: Buffer.from(high), sequence, used: ++this.#clock });
    if (ranges.length > deadRangesMax) {
      let oldest = 0;
      for (let index = 1; index < ranges.length; index++) if (ranges[index]!.used < ranges[oldest]!.used) oldest = index;
      ranges.splice(oldest, 1);
    }
  }

  /** A write of `key`: the range holding it is no longer dead. */
  written(key: Uint8Array): void {
    const range = this.#indexHolding(key);
    if (range >= 0) this.#ranges.splice(range, 1);
  }

  clear(): void {
    this.#ranges.length = 0;
  }

  #holding(key: Uint8Array): DeadRange | undefined {
    const index = this.#indexHolding(key);
    return index < 0 ? undefined : this.#ranges[index];
  }

  /** The index of the range holding `key`, or -1. */
  #indexHolding(key: Uint8Array): number {
    const ranges = this.#ranges;
    // The last range whose low is <= key.
    let lo = 0;
    let hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(ranges[mid]!.low, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return -1;
    const range = ranges[lo - 1]!;
    return compareBytes(key, range.high) < 0 ? lo - 1 : -1;
  }
}
