// Merges several InternalIterators into one ordered stream, as LevelDB's
// MergingIterator: children are the memtable, the immutable memtables, each
// level-0 segment and one concatenating iterator per deeper level. With at
// most a dozen or so children, finding the smallest by a linear scan beats a
// heap's bookkeeping (LevelDB makes the same choice).
//
// Direction: seek()/seekToFirst() position every child forwards and allow
// next(); seekForPrev()/seekToLast() position them backwards and allow prev().
// Switching direction needs a new seek (the user iterator never switches).

import { assert } from '../assert.js';
import { compareInternalKeys } from '../format/internal-key.js';
import type { InternalIterator } from '../format/internal-iterator.js';

export class MergeIterator implements InternalIterator {
  readonly #children: InternalIterator[];
  #current: InternalIterator | undefined;
  #forward = true;

  constructor(children: InternalIterator[]) {
    this.#children = children;
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
    this.#current!.next();
    this.#findSmallest();
  }

  prev(): void {
    assert(!this.#forward, 'prev() follows a backward seek');
    this.#current!.prev();
    this.#findLargest();
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
  }

  #findSmallest(): void {
    let smallest: InternalIterator | undefined;
    for (const child of this.#children) {
      if (child.valid() && (smallest === undefined || compareInternalKeys(child.key(), smallest.key()) < 0)) smallest = child;
    }
    this.#current = smallest;
  }

  #findLargest(): void {
    let largest: InternalIterator | undefined;
    for (const child of this.#children) {
      if (child.valid() && (largest === undefined || compareInternalKeys(child.key(), largest.key()) > 0)) largest = child;
    }
    this.#current = largest;
  }
}
