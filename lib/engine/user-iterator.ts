// Turns the merged stream of internal entries into what a user sees at one
// snapshot: for each user key, the newest version with sequence <= the
// snapshot, tombstones hidden, within [gt|gte, lt|lte], forwards or
// backwards, up to a limit. As LevelDB's DBIter, but one direction per
// iterator, which is all the Engine interface offers.
//
// Ownership: returned keys are copies; returned values are shared, read-only
// views (memtable values and cached blocks are never modified), valid for as
// long as the caller keeps them.

import { makeInternalKey, seekSequence, sequenceOf, trailerBytes, typeOf, userKeyOf, ValueType } from '../format/internal-key.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import { bytesEqual, compareByteRanges, compareBytes, copyBytes } from '../format/compare-bytes.js';
import type { Entry, IteratorOptions } from './engine.js';

export class UserIterator {
  readonly #source: InternalIterator;
  readonly #sequence: number;
  readonly #options: IteratorOptions;
  readonly #reverse: boolean;
  #remaining: number;
  #started = false;
  #done = false;
  /** Last user key handled going forwards (all its other versions are skipped). */
  #lastKey: Buffer | undefined;

  constructor(source: InternalIterator, sequence: number, options: IteratorOptions) {
    this.#source = source;
    this.#sequence = sequence;
    this.#options = options;
    this.#reverse = options.reverse === true;
    this.#remaining = options.limit === undefined || options.limit < 0 ? Number.POSITIVE_INFINITY : options.limit;
  }

  /** The next entry, or undefined at the end. */
  next(): Entry | undefined {
    if (this.#done || this.#remaining <= 0) return this.#finish();
    if (!this.#started) this.#start();
    else if (!this.#reverse && this.#source.valid()) this.#source.next();
    const entry = this.#reverse ? this.#previousVisible() : this.#nextVisible();
    if (entry === undefined) return this.#finish();
    this.#remaining--;
    return entry;
  }

  close(): void {
    this.#done = true;
    this.#source.close();
  }

  #start(): void {
    this.#started = true;
    const { gt, gte, lt, lte } = this.#options;
    if (!this.#reverse) {
      const lower = gte ?? gt;
      if (lower === undefined) this.#source.seekToFirst();
      else this.#source.seek(makeInternalKey(lower, seekSequence, ValueType.put));
      if (gte === undefined && gt !== undefined) this.#lastKey = Buffer.from(gt);
    } else if (lte !== undefined) {
      this.#source.seekForPrev(makeInternalKey(lte, 0, ValueType.delete));
    } else if (lt !== undefined) {
      this.#source.seekForPrev(makeInternalKey(lt, seekSequence, ValueType.put));
    } else {
      this.#source.seekToLast();
    }
  }

  #nextVisible(): Entry | undefined {
    const source = this.#source;
    for (; source.valid(); source.next()) {
      const key = source.key();
      if (sequenceOf(key) > this.#sequence) continue;
      // The user key is compared in place and copied once, when it is new (no view of it).
      const userLength = key.length - trailerBytes;
      const last = this.#lastKey;
      if (last !== undefined && sameUserKey(key, userLength, last)) continue;
      if (this.#pastUpperBound(key, userLength)) return undefined;
      const userKey = Buffer.allocUnsafe(userLength);
      copyBytes(key, 0, userLength, userKey, 0);
      this.#lastKey = userKey;
      if (typeOf(key) === ValueType.delete) continue;
      return [userKey, source.value()];
    }
    return undefined;
  }

  #previousVisible(): Entry | undefined {
    const source = this.#source;
    while (source.valid()) {
      const userKey = Buffer.from(userKeyOf(source.key()));
      if (this.#pastLowerBound(userKey)) return undefined;
      let newestType = -1;
      let newestValue: Buffer | undefined;
      // Versions of one user key arrive oldest first going backwards; the last visible one wins.
      while (source.valid()) {
        const key = source.key();
        if (!bytesEqual(userKeyOf(key), userKey)) break;
        if (sequenceOf(key) <= this.#sequence) {
          newestType = typeOf(key);
          newestValue = source.value();
        }
        source.prev();
      }
      if (newestType === ValueType.put) return [userKey, newestValue!];
    }
    return undefined;
  }

  /** Whether the user key `key[0, userLength)` lies past the upper bound. */
  #pastUpperBound(key: Buffer, userLength: number): boolean {
    const { lt, lte } = this.#options;
    if (lt !== undefined && compareByteRanges(key, 0, userLength, lt, 0, lt.length) >= 0) return true;
    return lte !== undefined && compareByteRanges(key, 0, userLength, lte, 0, lte.length) > 0;
  }

  #pastLowerBound(userKey: Buffer): boolean {
    const { gt, gte } = this.#options;
    if (gt !== undefined && compareBytes(userKey, gt) <= 0) return true;
    return gte !== undefined && compareBytes(userKey, gte) < 0;
  }

  #finish(): undefined {
    if (!this.#done) this.close();
    return undefined;
  }
}

/**
 * Whether `key[0, userLength)` equals `last`. The last bytes are compared
 * first: neighbours in a range (list indexes, members with a shared prefix)
 * usually differ only there, and a repeated key is the rare case.
 */
function sameUserKey(key: Uint8Array, userLength: number, last: Uint8Array): boolean {
  if (last.length !== userLength) return false;
  if (userLength > 0 && key[userLength - 1] !== last[userLength - 1]) return false;
  return compareByteRanges(key, 0, userLength, last, 0, userLength) === 0;
}
