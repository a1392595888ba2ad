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
  /** The key buffer visit() reuses (never handed out by next()). */
  #scratch: Buffer | undefined;
  /** The upper bound (lt or lte) going forwards, and whether it is exclusive. */
  readonly #upper: Buffer | undefined;
  readonly #upperExclusive: boolean;
  /**
   * How many leading bytes #lastKey shares with #upper, having been found
   * below (or at, for lte) it; -1 when not compared. A later key that shares
   * more than this with #lastKey is below the bound without a comparison.
   */
  #upperShared = -1;
  /** Entries next() passed without returning them, against options.hiddenMax. */
  #hidden = 0;
  readonly #hiddenMax: number;
  #stoppedAfter: Buffer | undefined;
  /** Until the first entry is returned (or the walk ends): told how many hidden entries it passed first (LeadingHidden). */
  #onLeading: LeadingHidden | undefined;

  /**
   * @param onLeading called once, going forwards, with the hidden entries the
   * walk passed before its first entry and the key that ends that stretch
   */
  constructor(source: InternalIterator, sequence: number, options: IteratorOptions, onLeading?: LeadingHidden) {
    this.#source = source;
    this.#sequence = sequence;
    this.#options = options;
    this.#onLeading = options.reverse === true ? undefined : onLeading;
    this.#reverse = options.reverse === true;
    this.#remaining = options.limit === undefined || options.limit < 0 ? Number.POSITIVE_INFINITY : options.limit;
    this.#upper = options.lt ?? options.lte;
    this.#upperExclusive = options.lt !== undefined;
    this.#hiddenMax = options.hiddenMax ?? Number.POSITIVE_INFINITY;
  }

  /**
   * When next() ended early at options.hiddenMax: the user key of the last
   * entry it passed, to go on after it (gt), or before it going backwards (lt).
   */
  get stoppedAfter(): Buffer | undefined {
    return this.#stoppedAfter;
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

  /**
   * Visits the entries left, in order, until `visit` returns false (the
   * iterator then stays on that entry; next() goes on after it). Unlike
   * next(), nothing is allocated per entry but the value's view: the key
   * passed is a buffer this iterator reuses, valid only during the call
   * (copy what you keep). Values are as from next().
   */
  visit(visit: (key: Buffer, value: Buffer) => boolean | void): void {
    if (this.#reverse) {
      for (let entry = this.next(); entry !== undefined; entry = this.next()) if (visit(entry[0], entry[1]) === false) return;
      return;
    }
    if (this.#done || this.#remaining <= 0) return void this.#finish();
    const source = this.#source;
    if (!this.#started) this.#start();
    else if (source.valid()) source.next();
    for (; source.valid(); source.next()) {
      const key = source.key();
      if (sequenceOf(key) > this.#sequence) {
        // Past the bound the merge may follow one source in no order (merge-iterator.ts): stop there.
        if (this.#pastUpper(key)) break;
        continue;
      }
      const userLength = key.length - trailerBytes;
      const shared = this.#admit(key, userLength);
      if (shared === sameKey) {
        this.#hidden++;
        continue;
      }
      if (shared === pastBound) break;
      let userKey = this.#scratch;
      if (userKey === undefined || userKey.length !== userLength) userKey = this.#scratch = Buffer.allocUnsafe(userLength);
      // The scratch still holds the last key when it is the last key: only the bytes after the shared prefix change.
      const from = this.#lastKey === userKey ? shared : 0;
      copyBytes(key, from, userLength, userKey, from);
      this.#lastKey = userKey;
      if (typeOf(key) === ValueType.delete) {
        this.#hidden++;
        continue;
      }
      if (this.#onLeading !== undefined) this.#endLeading(userKey);
      this.#remaining--;
      if (visit(userKey, source.value()) === false || this.#remaining <= 0) return;
    }
    if (this.#onLeading !== undefined) this.#endLeading(this.#upperEnd());
    this.#finish();
  }

  close(): void {
    this.#done = true;
    this.#source.close();
  }

  #start(): void {
    this.#started = true;
    const { gt, gte, lt, lte } = this.#options;
    if (!this.#reverse) {
      if (gte !== undefined) this.#source.seek(makeInternalKey(gte, seekSequence, ValueType.put));
      // Past every version of gt (sequence 0 sorts after them all): none of them is passed, or counted against hiddenMax.
      else if (gt !== undefined) this.#source.seek(makeInternalKey(gt, 0, ValueType.delete));
      else this.#source.seekToFirst();
      if (gte === undefined && gt !== undefined) this.#lastKey = Buffer.from(gt);
    } else if (lte !== undefined) {
      this.#source.seekForPrev(makeInternalKey(lte, 0, ValueType.delete));
    } else if (lt !== undefined) {
      this.#source.seekForPrev(makeInternalKey(lt, seekSequence, ValueType.put));
    } else {
      this.#source.seekToLast();
    }
  }

  // NB: visit() repeats this loop rather than sharing it: with one helper for both (measured in
  // session 8), next() scanned 6-11 % fewer entries a second.
  #nextVisible(): Entry | undefined {
    const source = this.#source;
    for (; source.valid(); source.next()) {
      const key = source.key();
      // Not counted against hiddenMax: this user key's visible version may follow, and going on after
      // it would skip that (there are only as many as writes since the snapshot). Past the bound the
      // merge may follow one source in no order (merge-iterator.ts): stop there.
      if (sequenceOf(key) > this.#sequence) {
        if (this.#pastUpper(key)) break;
        continue;
      }
      // The user key is compared in place and copied once, when it is new (no view of it).
      const userLength = key.length - trailerBytes;
      const shared = this.#admit(key, userLength);
      if (shared === sameKey) {
        if (++this.#hidden > this.#hiddenMax) return this.#stop(key);
        continue;
      }
      if (shared === pastBound) break;
      const userKey = Buffer.allocUnsafe(userLength);
      copyBytes(key, 0, userLength, userKey, 0);
      this.#lastKey = userKey;
      if (typeOf(key) === ValueType.delete) {
        if (++this.#hidden > this.#hiddenMax) return this.#stop(key);
        continue;
      }
      if (this.#onLeading !== undefined) this.#endLeading(userKey);
      return [userKey, source.value()];
    }
    if (this.#onLeading !== undefined) this.#endLeading(this.#upperEnd());
    return undefined;
  }

  /** Ends next() early at hiddenMax, after the entry `key` (an internal key). */
  #stop(key: Buffer): undefined {
    const userKey = userKeyOf(key);
    this.#stoppedAfter = Buffer.from(userKey);
    // Everything up to and including this key was hidden: the stretch ends just after it.
    if (this.#onLeading !== undefined) this.#endLeading(Buffer.concat([userKey, zeroByte]));
    return undefined;
  }

  /** The first entry, or the end of the walk: reports the hidden entries passed before it, once. */
  #endLeading(end: Uint8Array | undefined): void {
    const report = this.#onLeading!;
    this.#onLeading = undefined;
    report(this.#hidden, end);
  }

  /** The exclusive upper bound of the walk, undefined when it has none. */
  #upperEnd(): Uint8Array | undefined {
    const upper = this.#upper;
    if (upper === undefined) return undefined;
    return this.#upperExclusive ? upper : Buffer.concat([upper, zeroByte]);
  }

  #previousVisible(): Entry | undefined {
    const source = this.#source;
    while (source.valid()) {
      const userKey = Buffer.from(userKeyOf(source.key()));
      if (this.#pastLowerBound(userKey)) return undefined;
      let newestType = -1;
      let newestValue: Buffer | undefined;
      let versions = 0;
      // Versions of one user key arrive oldest first going backwards; the last visible one wins.
      while (source.valid()) {
        const key = source.key();
        if (!bytesEqual(userKeyOf(key), userKey)) break;
        if (sequenceOf(key) <= this.#sequence) {
          newestType = typeOf(key);
          newestValue = source.value();
          versions++;
        }
        source.prev();
      }
      if (newestType === ValueType.put) {
        this.#hidden += versions - 1;
        return [userKey, newestValue!];
      }
      // Going backwards a key is passed whole before its newest version is known: stop only after a
      // hidden one, so that going on before it (lt) skips nothing visible.
      this.#hidden += versions;
      if (this.#hidden > this.#hiddenMax) {
        this.#stoppedAfter = userKey;
        return undefined;
      }
    }
    return undefined;
  }

  /**
   * Going forwards, the user key `key[0, userLength)` of the next visible
   * version: sameKey when it is #lastKey's (an older version), pastBound
   * when it lies past the upper bound, else how many leading bytes it shares
   * with #lastKey (0 when there is none). One forward pass finds both the
   * shared prefix and, as keys ascend, most bound checks: a key that shares
   * more with #lastKey than #lastKey shares with the bound is below it too
   * (neighbours in a range, such as list indexes, differ only near the end).
   */
  #admit(key: Buffer, userLength: number): number {
    const last = this.#lastKey;
    let shared = 0;
    if (last !== undefined) {
      const common = userLength < last.length ? userLength : last.length;
      while (shared < common && key[shared] === last[shared]) shared++;
      if (shared === userLength && shared === last.length) return sameKey;
    }
    const upper = this.#upper;
    if (upper === undefined) return shared;
    const settled = this.#upperShared;
    if (settled >= 0 && shared > settled) return shared;
    // Here key[0, shared) is last[0, shared), which is upper[0, shared) when the last key was compared.
    let at = settled >= 0 ? shared : 0;
    const end = userLength < upper.length ? userLength : upper.length;
    while (at < end && key[at] === upper[at]) at++;
    const order = at < end ? key[at]! - upper[at]! : userLength - upper.length;
    if (order > 0 || (order === 0 && this.#upperExclusive)) return pastBound;
    this.#upperShared = at;
    return shared;
  }

  /** Whether the user key of the internal key `key` lies past the upper bound (false without one). */
  #pastUpper(key: Buffer): boolean {
    const upper = this.#upper;
    if (upper === undefined) return false;
    const order = compareByteRanges(key, 0, key.length - trailerBytes, upper, 0, upper.length);
    return order > 0 || (order === 0 && this.#upperExclusive);
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
 * UserIterator's report of how a forward walk began: it passed `hidden`
 * entries it did not return (tombstones, older versions) before `end`, its
 * first entry's user key or, when it returned none, the exclusive end of
 * what it walked (undefined: the end of the key space).
 */
export type LeadingHidden = (hidden: number, end: Uint8Array | undefined) => void;

const zeroByte = Uint8Array.of(0);

/** #admit(): the key is the last one's (an older version of it). */
const sameKey = -1;
/** #admit(): the key lies past the upper bound. */
const pastBound = -2;
