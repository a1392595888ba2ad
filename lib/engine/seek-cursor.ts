// A re-seekable cursor over the live entries of a merged stream of internal
// entries at one snapshot (LsmEngine.cursorSync). UserIterator serves one
// range in one direction and is thrown away; callers that probe a key range
// many times (random picks: tens of seeks per pick) would pay for building
// and pinning the whole merge of memtables and segments at every probe. A
// cursor is built once and then seeks, forwards or backwards, as often as
// asked, each seek repositioning the same children.
//
// Semantics: what a user sees at the cursor's sequence (the newest version
// with sequence <= it, tombstones hidden) within [gte, lt) when given. Every
// operation reports in `skipped` the internal entries it stepped over without
// returning them (older versions, tombstones, versions above the snapshot),
// so a caller can tell a range thick with tombstones from a dense one.
//
// Ownership: returned keys are copies; returned values are shared, read-only
// views (memtable slabs, cached blocks), as with iteratorSync().

import { ClosedError } from '../errors.js';
import { compareByteRanges, copyBytes } from '../format/compare-bytes.js';
import { makeInternalKey, seekSequence, sequenceOf, trailerBytes, typeOf, ValueType } from '../format/internal-key.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import type { CursorOptions, Entry, SeekCursor as SeekCursorContract } from './engine.js';

export class SeekCursor implements SeekCursorContract {
  readonly #source: InternalIterator;
  readonly #sequence: number;
  readonly #lower: Buffer | undefined;
  readonly #upper: Buffer | undefined;
  readonly #onClose: () => void;
  /** The user key the last forward step handled (its other versions are skipped): a reused scratch buffer. */
  #handled = Buffer.alloc(64);
  #handledLength = -1;
  /** Whether the source was last positioned forwards (next() may follow). */
  #forward = false;
  /** The last key returned, for next() after a backward seek. */
  #current: Buffer | undefined;
  #skipped = 0;
  #closed = false;

  /** @param onClose called once, by close(), after the source is closed (unpins what the engine pinned) */
  constructor(source: InternalIterator, sequence: number, options: CursorOptions, onClose: () => void) {
    this.#source = source;
    this.#sequence = sequence;
    this.#lower = options.gte;
    this.#upper = options.lt;
    this.#onClose = onClose;
  }

  get skipped(): number {
    return this.#skipped;
  }

  seek(target: Buffer): Entry | undefined {
    this.#checkOpen();
    const from = this.#lower !== undefined && compareByteRanges(target, 0, target.length, this.#lower, 0, this.#lower.length) < 0 ? this.#lower : target;
    this.#skipped = 0;
    this.#handledLength = -1;
    this.#forward = true;
    this.#source.seek(makeInternalKey(from, seekSequence, ValueType.put));
    return this.#nextVisible();
  }

  next(): Entry | undefined {
    this.#checkOpen();
    this.#skipped = 0;
    if (this.#current === undefined) return undefined;
    if (!this.#forward) {
      // After a backward seek the source points before the current key: come back to it going forwards.
      this.#forward = true;
      this.#remember(this.#current, this.#current.length);
      this.#source.seek(makeInternalKey(this.#current, seekSequence, ValueType.put));
    } else if (this.#source.valid()) {
      this.#source.next();
    }
    return this.#nextVisible();
  }

  seekLast(before?: Buffer): Entry | undefined {
    this.#checkOpen();
    const upper = this.#upper;
    const bound = before === undefined || (upper !== undefined && compareByteRanges(before, 0, before.length, upper, 0, upper.length) > 0) ? upper : before;
    this.#skipped = 0;
    this.#forward = false;
    const source = this.#source;
    // (bound, newest possible) is the first internal key of `bound`: everything at or before it sorts below `bound`.
    if (bound === undefined) source.seekToLast();
    else source.seekForPrev(makeInternalKey(bound, seekSequence, ValueType.put));
    return this.#previousVisible();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#current = undefined;
    this.#source.close();
    this.#onClose();
  }

  #nextVisible(): Entry | undefined {
    const source = this.#source;
    const upper = this.#upper;
    for (; source.valid(); source.next()) {
      const key = source.key();
      const userKeyLength = key.length - trailerBytes;
      if (this.#isHandled(key, userKeyLength)) {
        this.#skipped++;
        continue;
      }
      // The bound comes before the snapshot: past the bound the merge may follow one source in no order
      // (merge-iterator.ts), so its entries newer than the snapshot are not stepped over and counted.
      if (upper !== undefined && compareByteRanges(key, 0, userKeyLength, upper, 0, upper.length) >= 0) break;
      if (sequenceOf(key) > this.#sequence) {
        this.#skipped++;
        continue;
      }
      this.#remember(key, userKeyLength);
      if (typeOf(key) === ValueType.delete) {
        this.#skipped++;
        continue;
      }
      const userKey = Buffer.allocUnsafe(userKeyLength);
      copyBytes(key, 0, userKeyLength, userKey, 0);
      this.#current = userKey;
      return [userKey, source.value()];
    }
    this.#current = undefined;
    return undefined;
  }

  #previousVisible(): Entry | undefined {
    const source = this.#source;
    const lower = this.#lower;
    while (source.valid()) {
      const first = source.key();
      const userKeyLength = first.length - trailerBytes;
      if (lower !== undefined && compareByteRanges(first, 0, userKeyLength, lower, 0, lower.length) < 0) break;
      this.#remember(first, userKeyLength);
      let newestType = -1;
      let newestValue: Buffer | undefined;
      let versions = 0;
      // Going backwards, versions of one user key arrive oldest first: the last visible one wins.
      for (; source.valid(); source.prev()) {
        const key = source.key();
        if (!this.#isHandled(key, key.length - trailerBytes)) break;
        versions++;
        if (sequenceOf(key) <= this.#sequence) {
          newestType = typeOf(key);
          newestValue = source.value();
        }
      }
      if (newestType === ValueType.put) {
        this.#skipped += versions - 1;
        const userKey = Buffer.from(this.#handled.subarray(0, this.#handledLength));
        this.#current = userKey;
        return [userKey, newestValue!];
      }
      this.#skipped += versions;
    }
    this.#current = undefined;
    return undefined;
  }

  /** Copies `key[0, length)` into the scratch buffer as the handled user key. */
  #remember(key: Uint8Array, length: number): void {
    if (this.#handled.length < length) this.#handled = Buffer.alloc(Math.max(length, this.#handled.length * 2));
    copyBytes(key, 0, length, this.#handled, 0);
    this.#handledLength = length;
  }

  #isHandled(key: Buffer, userKeyLength: number): boolean {
    if (this.#handledLength !== userKeyLength) return false;
    // The last bytes first: neighbours usually differ only there (see sameUserKey() in user-iterator.ts).
    if (userKeyLength > 0 && key[userKeyLength - 1] !== this.#handled[userKeyLength - 1]) return false;
    return compareByteRanges(key, 0, userKeyLength, this.#handled, 0, userKeyLength) === 0;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('Cannot read cursor: it is closed');
  }
}
