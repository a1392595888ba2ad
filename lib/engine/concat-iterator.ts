// Iterates the segments of one level >= 1 as one ordered stream. The files do
// not overlap and are sorted by key range, so the iterator opens one file at
// a time, found by binary search on each file's largest key (LevelDB's
// LevelFileNumIterator + TwoLevelIterator).

import { compareInternalKeys } from '../format/internal-key.js';
import type { InternalIterator } from '../format/internal-iterator.js';

export interface ConcatFile {
  /** Internal keys bounding the file. */
  smallestKey: Buffer;
  largestKey: Buffer;
}

export class ConcatIterator implements InternalIterator {
  readonly #files: readonly ConcatFile[];
  readonly #open: (index: number) => InternalIterator;
  #index = -1;
  #child: InternalIterator | undefined;

  /** @param open opens file `index`'s iterator; the ConcatIterator closes it when it moves on */
  constructor(files: readonly ConcatFile[], open: (index: number) => InternalIterator) {
    this.#files = files;
    this.#open = open;
  }

  valid(): boolean {
    return this.#child !== undefined && this.#child.valid();
  }

  seekToFirst(): void {
    this.#openFile(0);
    this.#child?.seekToFirst();
    this.#skipForward();
  }

  seekToLast(): void {
    this.#openFile(this.#files.length - 1);
    this.#child?.seekToLast();
    this.#skipBackward();
  }

  seek(target: Buffer): void {
    this.#openFile(this.#firstFileWithLargestAtLeast(target));
    this.#child?.seek(target);
    this.#skipForward();
  }

  seekForPrev(target: Buffer): void {
    // The last file whose smallest key <= target holds the answer, or none does.
    let index = this.#firstFileWithLargestAtLeast(target);
    if (index >= this.#files.length || compareInternalKeys(this.#files[index]!.smallestKey, target) > 0) index--;
    this.#openFile(index);
    this.#child?.seekForPrev(target);
    this.#skipBackward();
  }

  next(): void {
    this.#child!.next();
    this.#skipForward();
  }

  prev(): void {
    this.#child!.prev();
    this.#skipBackward();
  }

  key(): Buffer {
    return this.#child!.key();
  }

  value(): Buffer {
    return this.#child!.value();
  }

  close(): void {
    this.#child?.close();
    this.#child = undefined;
    this.#index = -1;
  }

  #firstFileWithLargestAtLeast(target: Buffer): number {
    let low = 0;
    let high = this.#files.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareInternalKeys(this.#files[middle]!.largestKey, target) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  #openFile(index: number): void {
    if (index === this.#index && this.#child !== undefined) return;
    this.#child?.close();
    this.#child = undefined;
    this.#index = index;
    if (index >= 0 && index < this.#files.length) this.#child = this.#open(index);
  }

  #skipForward(): void {
    while (this.#child !== undefined && !this.#child.valid()) {
      if (this.#index + 1 >= this.#files.length) {
        this.#child.close();
        this.#child = undefined;
        return;
      }
      this.#openFile(this.#index + 1);
      this.#child!.seekToFirst();
    }
  }

  #skipBackward(): void {
    while (this.#child !== undefined && !this.#child.valid()) {
      if (this.#index <= 0) {
        this.#child.close();
        this.#child = undefined;
        return;
      }
      this.#openFile(this.#index - 1);
      this.#child!.seekToLast();
    }
  }
}
