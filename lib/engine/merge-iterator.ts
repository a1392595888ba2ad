// Merges several InternalIterators into one ordered stream, as LevelDB's
// MergingIterator: children are the memtable, the immutable memtables, each
// level-0 segment and one concatenating iterator per deeper level. With at
// most a dozen or so children, a linear scan beats a heap's bookkeeping
// (LevelDB makes the same choice), and the scan is rarely needed: the merge
// remembers the runner-up, the child with the smallest key after the
// current one's (going backwards: the largest before it), so a step that
// leaves the current child ahead costs one comparison, and one that passes
// the runner-up makes it current at once. Only the new runner-up is then
// looked for among the other children. (Ranges read from one source, a
// list in the memtable, step with one comparison instead of one per child.)
//
// Bounds (optional): a consumer that stops at the first key outside a range
// of user keys (UserIterator, SeekCursor) may give that range, or a wider
// one. A runner-up outside it is then no runner-up: the current child is
// followed with no comparison at all, since every other child already stands
// outside the range; nothing here notices when the current child leaves it
// too, and from there the merge follows that child to its end. Every key
// inside the bounds still comes in order, and before any key outside them;
// past the bounds the order is not kept. So only a consumer that checks the
// bound on every entry, those it would otherwise skip (versions newer than
// its snapshot) included, may give bounds.
//
// Direction: seek()/seekToFirst() position every child forwards and allow
// next(); seekForPrev()/seekToLast() position them backwards and allow prev().
// Switching direction needs a new seek (the user iterator never switches).

import { assert } from '../assert.js';
import { compareByteRanges } from '../format/compare-bytes.js';
import { compareInternalKeys, trailerBytes } from '../format/internal-key.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import type { IteratorOptions } from './engine.js';

/** User-key bounds of a merge (see the module header); each one optional. */
export interface MergeBounds {
  lower?: Buffer | undefined;
  /** Whether `lower` itself is outside (gt) rather than inside (gte). */
  lowerExclusive?: boolean;
  upper?: Buffer | undefined;
  /** Whether `upper` itself is outside (lt) rather than inside (lte). */
  upperExclusive?: boolean;
}

/**
 * The bounds of a user iterator's range, for its merge: the upper bound it
 * stops at (lt over lte, as UserIterator) and one lower bound it stops
 * before (gte over gt: with both given, the range is inside either).
 */
export function mergeBoundsOf(options: IteratorOptions): MergeBounds {
  return {
    lower: options.gte ?? options.gt,
    lowerExclusive: options.gte === undefined && options.gt !== undefined,
    upper: options.lt ?? options.lte,
    upperExclusive: options.lt !== undefined,
  };
}

export class MergeIterator implements InternalIterator {
  readonly #children: InternalIterator[];
  #current: InternalIterator | undefined;
  /** The child that comes after #current in the direction of travel, when it is inside the bounds. */
  #runnerUp: InternalIterator | undefined;
  #forward = true;
  readonly #lower: Buffer | undefined;
  readonly #lowerExclusive: boolean;
  readonly #upper: Buffer | undefined;
  readonly #upperExclusive: boolean;

  constructor(children: InternalIterator[], bounds: MergeBounds = {}) {
    this.#children = children;
    this.#lower = bounds.lower;
    this.#lowerExclusive = bounds.lowerExclusive === true;
    this.#upper = bounds.upper;
    this.#upperExclusive = bounds.upperExclusive === true;
  }

  valid(): boolean {
    return this.#current !== undefined;
  }

  seekToFirst(): void {
    for (const child of this.#children) child.seekToFirst();
    this.#forward = true;
    this.#findSmallest();
  }

  seekToLast(): void {
    for (const child of this.#children) child.seekToLast();
    this.#forward = false;
    this.#findLargest();
  }

  seek(target: Buffer): void {
    for (const child of this.#children) child.seek(target);
    this.#forward = true;
    this.#findSmallest();
  }

  seekForPrev(target: Buffer): void {
    for (const child of this.#children) child.seekForPrev(target);
    this.#forward = false;
    this.#findLargest();
  }

  next(): void {
    assert(this.#forward, 'next() follows a forward seek');
    const current = this.#current!;
    current.next();
    const runnerUp = this.#runnerUp;
    if (!current.valid()) return this.#findSmallest();
    if (runnerUp === undefined) return;
    const order = compareInternalKeys(current.key(), runnerUp.key());
    if (order < 0) return;
    // Equal keys (not made by the engine) go back to the scan, which prefers the earlier child.
    if (order === 0) return this.#findSmallest();
    // The runner-up was the smallest of the others, and is below the current child now.
    this.#current = runnerUp;
    this.#runnerUp = this.#nextAfter(runnerUp, -1);
  }

  prev(): void {
    assert(!this.#forward, 'prev() follows a backward seek');
    const current = this.#current!;
    current.prev();
    const runnerUp = this.#runnerUp;
    if (!current.valid()) return this.#findLargest();
    if (runnerUp === undefined) return;
    const order = compareInternalKeys(current.key(), runnerUp.key());
    if (order > 0) return;
    if (order === 0) return this.#findLargest();
    this.#current = runnerUp;
    this.#runnerUp = this.#nextAfter(runnerUp, 1);
  }

  key(): Buffer {
    return this.#current!.key();
  }

  value(): Buffer {
    return this.#current!.value();
  }

  close(): void {
    for (const child of this.#children) child.close();
    this.#current = undefined;
    this.#runnerUp = undefined;
  }

  #findSmallest(): void {
    let smallest: InternalIterator | undefined;
    for (const child of this.#children) {
      if (child.valid() && (smallest === undefined || compareInternalKeys(child.key(), smallest.key()) < 0)) smallest = child;
    }
    this.#current = smallest;
    this.#runnerUp = smallest === undefined ? undefined : this.#nextAfter(smallest, -1);
  }

  #findLargest(): void {
    let largest: InternalIterator | undefined;
    for (const child of this.#children) {
      if (child.valid() && (largest === undefined || compareInternalKeys(child.key(), largest.key()) > 0)) largest = child;
    }
    this.#current = largest;
    this.#runnerUp = largest === undefined ? undefined : this.#nextAfter(largest, 1);
  }

  /**
   * The child other than `current` whose key comes first in the direction of
   * travel (`sign` -1: the smallest, 1: the largest), or undefined when there
   * is none or it lies outside the bounds.
   */
  #nextAfter(current: InternalIterator, sign: number): InternalIterator | undefined {
    let best: InternalIterator | undefined;
    for (const child of this.#children) {
      if (child !== current && child.valid() && (best === undefined || compareInternalKeys(child.key(), best.key()) * sign > 0)) best = child;
    }
    if (best === undefined) return undefined;
    return this.#outside(best.key(), sign) ? undefined : best;
  }

  /** Whether the internal key `key` lies past the upper bound (`sign` -1, going forwards) or before the lower one. */
  #outside(key: Buffer, sign: number): boolean {
    const userLength = key.length - trailerBytes;
    if (sign < 0) {
      const upper = this.#upper;
      if (upper === undefined) return false;
      const order = compareByteRanges(key, 0, userLength, upper, 0, upper.length);
      return order > 0 || (order === 0 && this.#upperExclusive);
    }
    const lower = this.#lower;
    if (lower === undefined) return false;
    const order = compareByteRanges(key, 0, userLength, lower, 0, lower.length);
    return order < 0 || (order === 0 && this.#lowerExclusive);
  }
}
