// Builds one block (data or index) of a segment file, as LevelDB's
// BlockBuilder does (docs/format.md, "Segment files", "Block contents"):
//
//   entry    = shared varint | unshared varint | value length varint
//              | key bytes [shared, shared + unshared) | value bytes
//   restarts = u32 LE offset of each restart entry, then the restart count u32 LE
//
// Keys are prefix-compressed against the previous key; every
// `restartInterval`-th entry is a restart point that stores its key whole
// (shared = 0), so a reader can binary-search the restart array. Keys must be
// added in strictly increasing internal-key order (the caller asserts it).

import { assert } from '../assert.js';
import { varintBytesMax, writeVarint } from '../format/varint.js';
import { copyBytes } from '../format/compare-bytes.js';

const initialCapacityBytes = 1024;

/** A buffer grown past this for one huge entry is dropped on reset rather than kept. */
const retainedCapacityBytesMax = 1024 * 1024;

/** Accumulates entries of one block in memory. */
export class BlockBuilder {
  readonly #restartInterval: number;
  #buffer = Buffer.allocUnsafe(initialCapacityBytes);
  #length = 0;
  #restarts: number[] = [0];
  #sinceRestart = 0;
  #entryCount = 0;
  #lastKey = Buffer.allocUnsafe(64);
  #lastKeyLength = 0;

  /** @param restartInterval entries between restart points (1 stores every key whole) */
  constructor(restartInterval: number) {
    assert(Number.isSafeInteger(restartInterval) && restartInterval >= 1, 'restart interval is a positive integer');
    this.#restartInterval = restartInterval;
  }

  /** Entries added since the last reset. */
  get entryCount(): number {
    return this.#entryCount;
  }

  /** True when no entry was added since the last reset. */
  isEmpty(): boolean {
    return this.#entryCount === 0;
  }

  /** Size the finished block would have, bytes. */
  estimatedBytes(): number {
    return this.#length + 4 * this.#restarts.length + 4;
  }

  /**
   * Appends an entry: `key` and `value[valueStart, valueEnd)` (by default all
   * of it). The key must sort after the previous one; both are copied.
   * @param sharedWithPrevious how many leading bytes `key` shares with the previous key added, when the caller knows (saves comparing them again)
   */
  add(key: Uint8Array, value: Uint8Array, valueStart = 0, valueEnd = value.length, sharedWithPrevious = -1): void {
    const shared = this.#sharedPrefix(key, sharedWithPrevious);
    const unshared = key.length - shared;
    const valueBytes = valueEnd - valueStart;
    this.#reserve(3 * varintBytesMax + unshared + valueBytes);
    let offset = writeVarint(this.#buffer, this.#length, shared);
    offset = writeVarint(this.#buffer, offset, unshared);
    offset = writeVarint(this.#buffer, offset, valueBytes);
    copyBytes(key, shared, key.length, this.#buffer, offset);
    offset += unshared;
    copyBytes(value, valueStart, valueEnd, this.#buffer, offset);
    this.#length = offset + valueBytes;
    this.#rememberKey(key, shared);
    this.#sinceRestart++;
    this.#entryCount++;
  }

  /**
   * Appends the restart array and returns the block bytes.
   * @returns a view into the builder's buffer, valid until the next add() or reset()
   */
  finish(): Buffer {
    assert(this.#entryCount > 0, 'a block holds at least one entry');
    this.#reserve(4 * this.#restarts.length + 4);
    let offset = this.#length;
    for (const restart of this.#restarts) {
      this.#buffer.writeUInt32LE(restart, offset);
      offset += 4;
    }
    this.#buffer.writeUInt32LE(this.#restarts.length, offset);
    return this.#buffer.subarray(0, offset + 4);
  }

  /** Forgets every entry, keeping the allocated memory unless a huge entry grew it. */
  reset(): void {
    if (this.#buffer.length > retainedCapacityBytesMax) this.#buffer = Buffer.allocUnsafe(initialCapacityBytes);
    this.#length = 0;
    this.#restarts = [0];
    this.#sinceRestart = 0;
    this.#entryCount = 0;
    this.#lastKeyLength = 0;
  }

  /** Bytes shared with the previous key (`known` when not -1), or 0 at a restart point (which then starts). */
  #sharedPrefix(key: Uint8Array, known: number): number {
    if (this.#entryCount === 0) return 0;
    if (this.#sinceRestart >= this.#restartInterval) {
      this.#restarts.push(this.#length);
      this.#sinceRestart = 0;
      return 0;
    }
    if (known >= 0) return known;
    const limit = Math.min(key.length, this.#lastKeyLength);
    const last = this.#lastKey;
    let shared = 0;
    while (shared < limit && last[shared] === key[shared]) shared++;
    return shared;
  }

  #rememberKey(key: Uint8Array, shared: number): void {
    if (key.length > this.#lastKey.length) {
      const grown = Buffer.allocUnsafe(Math.max(key.length, 2 * this.#lastKey.length));
      this.#lastKey.copy(grown, 0, 0, shared);
      this.#lastKey = grown;
    }
    copyBytes(key, shared, key.length, this.#lastKey, shared);
    this.#lastKeyLength = key.length;
  }

  #reserve(extraBytes: number): void {
    const needed = this.#length + extraBytes;
    if (needed <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.#buffer.length));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}
