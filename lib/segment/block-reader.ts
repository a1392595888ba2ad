// Reads blocks written by block-builder.ts (docs/format.md, "Segment files",
// "Block contents"). A Block is parsed and validated once (restart array
// bounds and order) and is then immutable, so the block cache can share it
// between iterators and hand out views into it. Restart offsets are read from
// the block's own bytes when needed rather than copied out at parse: a point
// lookup in a cached block is bound by memory stalls, and a separate array is
// one more object to fetch.
//
// BlockIterator walks one block as an InternalIterator. It avoids per-entry
// allocation: headers decode into fields, restart keys are compared in place,
// and a key is a view into the block when stored whole (shared = 0) or into
// a scratch buffer when prefix-compressed. Bytes an entry points at are
// checked against the block bounds, so damage that slipped past the CRC
// (verifyChecksums off) becomes a CorruptionError, never an out-of-range read.

import { CorruptionError } from '../errors.js';
import { assert } from '../assert.js';
import { readVarint, type VarintResult } from '../format/varint.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import { trailerBytes, ValueType } from '../format/internal-key.js';
import { compareByteRanges, copyBytes } from '../format/compare-bytes.js';


const twoPow24 = 0x100_0000;
const emptyBuffer = Buffer.alloc(0);

/** A decoded, validated block: entries, then the restart array. Immutable once built. */
export class Block {
  /** The raw block bytes (entries and restart array); never modified. */
  readonly data: Buffer;
  /** Where the entries end and the restart array begins. */
  readonly restartsOffset: number;
  /** Restart points (validated by parse(): the first is 0, they increase, they point before the restart array). */
  readonly restartCount: number;
  /** File and file offset, for error messages. */
  readonly file: string;
  readonly blockOffset: number;

  private constructor(data: Buffer, restartsOffset: number, restartCount: number, file: string, blockOffset: number) {
    this.data = data;
    this.restartsOffset = restartsOffset;
    this.restartCount = restartCount;
    this.file = file;
    this.blockOffset = blockOffset;
  }

  /**
   * Validates the restart array of `data` and wraps it. `data` must not be modified afterwards.
   * @throws CorruptionError (file, blockOffset) when the restart array is impossible
   */
  static parse(data: Buffer, file: string, blockOffset: number): Block {
    const fail = (reason: string): CorruptionError => blockCorruption(file, blockOffset, reason);
    if (data.length < 4) throw fail(`block of ${data.length} bytes has no room for a restart count`);
    const restartCount = data.readUInt32LE(data.length - 4);
    if (restartCount < 1) throw fail('restart count is 0');
    if (restartCount > (data.length - 4) / 4) throw fail(`restart count ${restartCount} does not fit a block of ${data.length} bytes`);
    const restartsOffset = data.length - 4 - 4 * restartCount;
    if (restartsOffset === 0) throw fail('block has no entries');
    let previous = -1;
    for (let index = 0; index < restartCount; index++) {
      const point = readU32(data, restartsOffset + 4 * index);
      if (index === 0 && point !== 0) throw fail(`first restart point is ${point}, expected 0`);
      if (point <= previous || point >= restartsOffset) throw fail(`restart point ${index} at ${point} is out of order or past the entries`);
      previous = point;
    }
    return new Block(data, restartsOffset, restartCount, file, blockOffset);
  }

  /** Bytes this block holds in memory (what the block cache charges). */
  get byteLength(): number {
    return this.data.length;
  }

  /** Offset of restart entry `index` (0 <= index < restartCount). */
  restartPoint(index: number): number {
    return readU32(this.data, this.restartsOffset + 4 * index);
  }
}

/**
 * Compares the internal key stored at `source[start, start + length)` with `target`,
 * as compareInternalKeys does, without allocating.
 */
export function compareInternalKeyAt(source: Buffer, start: number, length: number, target: Buffer): number {
  const userEnd = start + length - trailerBytes;
  const targetUserLength = target.length - trailerBytes;
  const byUser = compareByteRanges(source, start, userEnd, target, 0, targetUserLength);
  if (byUser !== 0) return byUser;
  const high = readU32(source, userEnd + 4);
  const targetHigh = readU32(target, targetUserLength + 4);
  if (high !== targetHigh) return high > targetHigh ? -1 : 1;
  const low = readU32(source, userEnd);
  const targetLow = readU32(target, targetUserLength);
  if (low !== targetLow) return low > targetLow ? -1 : 1;
  return 0;
}

/** High u32 of the lookup trailer for `sequence` (type put, which sorts first among equal sequences). */
export function lookupTrailerHigh(sequence: number): number {
  return Math.floor(sequence / twoPow24);
}

/** Low u32 of the lookup trailer for `sequence`. */
export function lookupTrailerLow(sequence: number): number {
  return ((sequence % twoPow24) * 256 + ValueType.put) >>> 0;
}

/**
 * Compares the internal key stored at `source[start, start + length)` with the lookup key
 * userKey ‖ trailer(high, low), as compareInternalKeyAt does, without the lookup key existing.
 */
export function compareLookupAt(source: Buffer, start: number, length: number, userKey: Buffer, trailerHigh: number, trailerLow: number): number {
  const userEnd = start + length - trailerBytes;
  const byUser = compareByteRanges(source, start, userEnd, userKey, 0, userKey.length);
  if (byUser !== 0) return byUser;
  const high = readU32(source, userEnd + 4);
  if (high !== trailerHigh) return high > trailerHigh ? -1 : 1;
  const low = readU32(source, userEnd);
  if (low !== trailerLow) return low > trailerLow ? -1 : 1;
  return 0;
}

/** u32 little-endian at `offset` (callers have checked the bounds). */
function readU32(source: Buffer, offset: number): number {
  return (source[offset]! | (source[offset + 1]! << 8) | (source[offset + 2]! << 16) | (source[offset + 3]! << 24)) >>> 0;
}

/** Iterates one block. Reusable: reset() points it at another block. */
export class BlockIterator implements InternalIterator {
  #block: Block | undefined;
  #data: Buffer = emptyBuffer;
  /** Where entries end; #current === #end means not positioned. */
  #end = 0;
  #current = 0;
  #next = 0;
  #restartIndex = 0;
  #keySource: Buffer = emptyBuffer;
  #keyStart = 0;
  #keyLength = 0;
  #valueStart = 0;
  #valueLength = 0;
  #scratch = Buffer.allocUnsafe(64);
  #keyView: Buffer | undefined;
  #valueView: Buffer | undefined;
  /** Entry header fields, decoded by #decodeHeader. */
  #shared = 0;
  #unshared = 0;
  #headerValueLength = 0;
  #headerEnd = 0;
  readonly #varint: VarintResult = { value: 0, offset: 0 };

  /** @param block the block to iterate; omit to attach one later with reset() */
  constructor(block?: Block) {
    if (block !== undefined) this.reset(block);
  }

  /** Points the iterator at `block`, unpositioned. */
  reset(block: Block): void {
    this.#block = block;
    this.#data = block.data;
    this.#end = block.restartsOffset;
    this.#invalidate();
  }

  /** The block iterated, if any. */
  get block(): Block | undefined {
    return this.#block;
  }

  valid(): boolean {
    return this.#current < this.#end;
  }

  seekToFirst(): void {
    if (this.#block === undefined) return;
    this.#seekToRestart(0);
    this.#parseNext();
  }

  seekToLast(): void {
    if (this.#block === undefined) return;
    this.#seekToRestart(this.#block.restartCount - 1);
    while (this.#parseNext() && this.#next < this.#end) {
      // walk to the last entry of the last restart interval
    }
  }

  seek(target: Buffer): void {
    const block = this.#block;
    if (block === undefined) return;
    let left = 0;
    let right = block.restartCount - 1;
    while (left < right) {
      const middle = (left + right + 1) >>> 1;
      if (this.#compareRestartKey(middle, target) < 0) left = middle;
      else right = middle - 1;
    }
    this.#seekToRestart(left);
    while (this.#parseNext()) {
      if (compareInternalKeyAt(this.#keySource, this.#keyStart, this.#keyLength, target) >= 0) return;
    }
  }

  /**
   * Positions at the first entry at or after (userKey, sequence) when that entry's user key is
   * `userKey`, as seek(lookup key) then userKeyEquals() would, without building a lookup key or
   * any iterator state for the entries passed over (the point-lookup path).
   * @param trailerHigh, trailerLow the lookup trailer's u32 halves (lookupTrailerHigh/Low)
   * @returns true when positioned on a version of `userKey`; false (and unpositioned) otherwise
   */
  seekForGet(userKey: Buffer, trailerHigh: number, trailerLow: number): boolean {
    const block = this.#block;
    if (block === undefined) return false;
    const data = this.#data;
    const restartsAt = block.restartsOffset;
    let left = 0;
    let right = block.restartCount - 1;
    while (left < right) {
      const middle = (left + right + 1) >>> 1;
      const offset = readU32(data, restartsAt + 4 * middle);
      this.#decodeHeader(offset);
      if (this.#shared !== 0) throw this.#corruption(offset, `is a restart point but shares ${this.#shared} bytes`);
      if (compareLookupAt(data, this.#headerEnd, this.#unshared, userKey, trailerHigh, trailerLow) < 0) left = middle;
      else right = middle - 1;
    }
    // Scan the restart interval with locals only; the key lives in the block (shared = 0) or in #scratch.
    // `matched` is how many leading bytes the previous entry's user key has in common with `userKey`
    // (every entry passed over sorts before the lookup key). An entry that shares more than that
    // with the previous one has the same first differing byte, below userKey's: it sorts before too,
    // with no comparison (a long common prefix, as in `M | db | key:0000…`, is compared once).
    const end = this.#end;
    const userLength = userKey.length;
    let offset = readU32(data, restartsAt + 4 * left);
    let keySource = data;
    let keyStart = 0;
    let keyLength = 0;
    let matched = -1;
    while (offset < end) {
      this.#decodeHeader(offset);
      const shared = this.#shared;
      const unshared = this.#unshared;
      const deltaStart = this.#headerEnd;
      if (shared === 0) {
        keySource = data;
        keyStart = deltaStart;
        keyLength = unshared;
      } else {
        if (shared > keyLength) throw this.#corruption(offset, `shares ${shared} bytes of a ${keyLength}-byte key`);
        const length = shared + unshared;
        if (length > this.#scratch.length || keySource !== this.#scratch) {
          const grown = length > this.#scratch.length ? Buffer.allocUnsafe(Math.max(length, 2 * this.#scratch.length)) : this.#scratch;
          copyBytes(keySource, keyStart, keyStart + shared, grown, 0);
          this.#scratch = grown;
          keySource = grown;
          keyStart = 0;
        }
        copyBytes(data, deltaStart, deltaStart + unshared, keySource, shared);
        keyLength = length;
      }
      const valueStart = deltaStart + unshared;
      if (shared > matched && matched >= 0) {
        // Shares the previous key's first differing byte (matched < both user keys' lengths, as it differs there).
        offset = valueStart + this.#headerValueLength;
        continue;
      }
      // Compare from the first byte this key may differ from userKey in.
      const from = matched < 0 ? 0 : shared;
      const keyUserLength = keyLength - trailerBytes;
      const limit = keyUserLength < userLength ? keyUserLength : userLength;
      let common = from;
      while (common < limit && keySource[keyStart + common] === userKey[common]) common++;
      let order: number;
      if (common < limit) order = keySource[keyStart + common]! - userKey[common]!;
      else if (keyUserLength !== userLength) order = keyUserLength - userLength;
      else order = compareLookupAt(keySource, keyStart, keyLength, userKey, trailerHigh, trailerLow);
      // A key that is a prefix of userKey, or equal to it, has no first differing byte to skip by.
      matched = common < limit ? common : -1;
      if (order >= 0) {
        if (keyLength - trailerBytes !== userKey.length || (order > 0 && compareByteRanges(keySource, keyStart, keyStart + userKey.length, userKey, 0, userKey.length) !== 0)) break;
        this.#current = offset;
        this.#next = valueStart + this.#headerValueLength;
        this.#keySource = keySource;
        this.#keyStart = keyStart;
        this.#keyLength = keyLength;
        this.#valueStart = valueStart;
        this.#valueLength = this.#headerValueLength;
        this.#keyView = undefined;
        this.#valueView = undefined;
        let restartIndex = left;
        while (restartIndex + 1 < block.restartCount && readU32(data, restartsAt + 4 * (restartIndex + 1)) <= offset) restartIndex++;
        this.#restartIndex = restartIndex;
        return true;
      }
      offset = valueStart + this.#headerValueLength;
    }
    this.#invalidate();
    return false;
  }

  seekForPrev(target: Buffer): void {
    if (this.#block === undefined) return;
    this.seek(target);
    if (!this.valid()) this.seekToLast();
    else if (compareInternalKeyAt(this.#keySource, this.#keyStart, this.#keyLength, target) > 0) this.prev();
  }

  next(): void {
    assert(this.valid(), 'next() on a positioned block iterator');
    this.#parseNext();
  }

  prev(): void {
    assert(this.valid(), 'prev() on a positioned block iterator');
    const block = this.#block!;
    const original = this.#current;
    while (block.restartPoint(this.#restartIndex) >= original) {
      if (this.#restartIndex === 0) {
        this.#invalidate();
        return;
      }
      this.#restartIndex--;
    }
    this.#seekToRestart(this.#restartIndex);
    while (this.#parseNext() && this.#next < original) {
      // walk forward to the entry just before the original one
    }
    if (this.#next !== original) throw this.#corruption(original, 'restart points do not fall on entry boundaries');
  }

  key(): Buffer {
    assert(this.valid(), 'key() on a positioned block iterator');
    this.#keyView ??= this.#keySource.subarray(this.#keyStart, this.#keyStart + this.#keyLength);
    return this.#keyView;
  }

  /** The value: a view into the block, valid as long as the block (blocks are immutable). */
  value(): Buffer {
    assert(this.valid(), 'value() on a positioned block iterator');
    this.#valueView ??= this.#data.subarray(this.#valueStart, this.#valueStart + this.#valueLength);
    return this.#valueView;
  }

  /** Where the current key starts in the block's data when it is stored whole (shared = 0); -1 when prefix-compressed. */
  get keyOffsetInBlock(): number {
    return this.#keySource === this.#data ? this.#keyStart : -1;
  }

  /** The current key's length, bytes (no allocation). */
  get keyLength(): number {
    return this.#keyLength;
  }

  /** Where the current value starts in the block's data (no allocation). */
  get valueStart(): number {
    return this.#valueStart;
  }

  /** Where the current value ends in the block's data. */
  get valueEnd(): number {
    return this.#valueStart + this.#valueLength;
  }

  /** True when the current entry's user key equals `userKey` (no allocation). */
  userKeyEquals(userKey: Buffer): boolean {
    const userLength = this.#keyLength - trailerBytes;
    if (userLength !== userKey.length) return false;
    return compareByteRanges(this.#keySource, this.#keyStart, this.#keyStart + userLength, userKey, 0, userLength) === 0;
  }

  /** The current entry's sequence number (no allocation). */
  sequence(): number {
    const trailer = this.#keyStart + this.#keyLength - trailerBytes;
    const low = readU32(this.#keySource, trailer);
    return readU32(this.#keySource, trailer + 4) * twoPow24 + Math.floor(low / 256);
  }

  /** The current entry's value type (no allocation). */
  type(): number {
    return this.#keySource[this.#keyStart + this.#keyLength - trailerBytes]!;
  }

  close(): void {
    this.#block = undefined;
    this.#data = emptyBuffer;
    this.#end = 0;
    this.#invalidate();
  }

  #invalidate(): void {
    this.#current = this.#end;
    this.#next = this.#end;
    this.#keyView = undefined;
    this.#valueView = undefined;
  }

  #seekToRestart(index: number): void {
    this.#restartIndex = index;
    this.#next = this.#block!.restartPoint(index);
    this.#keyLength = 0;
  }

  /** Decodes the entry at #next; false (and unpositioned) at the end of the entries. */
  #parseNext(): boolean {
    const offset = this.#next;
    this.#keyView = undefined;
    this.#valueView = undefined;
    if (offset >= this.#end) {
      this.#current = this.#end;
      return false;
    }
    this.#current = offset;
    this.#decodeHeader(offset);
    if (this.#shared > this.#keyLength) throw this.#corruption(offset, `shares ${this.#shared} bytes of a ${this.#keyLength}-byte key`);
    this.#takeKey(this.#headerEnd);
    this.#valueStart = this.#headerEnd + this.#unshared;
    this.#valueLength = this.#headerValueLength;
    this.#next = this.#valueStart + this.#valueLength;
    const block = this.#block!;
    while (this.#restartIndex + 1 < block.restartCount && block.restartPoint(this.#restartIndex + 1) <= offset) this.#restartIndex++;
    return true;
  }

  /** Builds the current key from the entry's key delta at `deltaStart`. */
  #takeKey(deltaStart: number): void {
    const shared = this.#shared;
    const length = shared + this.#unshared;
    if (shared === 0) {
      this.#keySource = this.#data;
      this.#keyStart = deltaStart;
    } else {
      if (length > this.#scratch.length) this.#growScratch(length);
      if (this.#keySource !== this.#scratch) copyBytes(this.#keySource, this.#keyStart, this.#keyStart + shared, this.#scratch, 0);
      copyBytes(this.#data, deltaStart, deltaStart + this.#unshared, this.#scratch, shared);
      this.#keySource = this.#scratch;
      this.#keyStart = 0;
    }
    this.#keyLength = length;
  }

  #growScratch(length: number): void {
    const grown = Buffer.allocUnsafe(Math.max(length, 2 * this.#scratch.length));
    if (this.#keySource === this.#scratch) this.#scratch.copy(grown, 0, 0, this.#keyStart + this.#keyLength);
    if (this.#keySource === this.#scratch) this.#keySource = grown;
    this.#scratch = grown;
  }

  /** Compares the (whole) key of restart entry `index` with `target`. */
  #compareRestartKey(index: number, target: Buffer): number {
    const offset = this.#block!.restartPoint(index);
    this.#decodeHeader(offset);
    if (this.#shared !== 0) throw this.#corruption(offset, `is a restart point but shares ${this.#shared} bytes`);
    return compareInternalKeyAt(this.#data, this.#headerEnd, this.#unshared, target);
  }

  /** Decodes the three varints at `offset` into #shared, #unshared, #headerValueLength, #headerEnd, and checks bounds. */
  #decodeHeader(offset: number): void {
    const data = this.#data;
    const end = this.#end;
    if (offset + 3 <= end && (data[offset]! | data[offset + 1]! | data[offset + 2]!) < 0x80) {
      this.#shared = data[offset]!;
      this.#unshared = data[offset + 1]!;
      this.#headerValueLength = data[offset + 2]!;
      this.#headerEnd = offset + 3;
    } else {
      this.#decodeHeaderSlow(offset);
    }
    const keyLength = this.#shared + this.#unshared;
    if (keyLength < trailerBytes) throw this.#corruption(offset, `has a ${keyLength}-byte key, shorter than its trailer`);
    if (this.#headerEnd + this.#unshared + this.#headerValueLength > end) throw this.#corruption(offset, 'runs past the end of the entries');
  }

  #decodeHeaderSlow(offset: number): void {
    const data = this.#data;
    const varint = this.#varint;
    if (!readVarint(data, offset, this.#end, varint)) throw this.#corruption(offset, 'has a malformed shared length');
    this.#shared = varint.value;
    if (!readVarint(data, varint.offset, this.#end, varint)) throw this.#corruption(offset, 'has a malformed key length');
    this.#unshared = varint.value;
    if (!readVarint(data, varint.offset, this.#end, varint)) throw this.#corruption(offset, 'has a malformed value length');
    this.#headerValueLength = varint.value;
    this.#headerEnd = varint.offset;
  }

  #corruption(entryOffset: number, reason: string): CorruptionError {
    const block = this.#block!;
    return blockCorruption(block.file, block.blockOffset, `entry at block offset ${entryOffset} ${reason}`);
  }
}

/** A CorruptionError for the block stored at `blockOffset` of `file`; `blockName` says which ("index block"). */
export function blockCorruption(file: string, blockOffset: number, reason: string, blockName = 'block'): CorruptionError {
  return new CorruptionError(file, blockOffset, `Cannot read segment ${blockName} in "${file}" at offset ${blockOffset}: ${reason}`);
}
