// A segment's index block decoded once, at open, for point lookups
// (segment-reader.ts). The index block itself stays as it is on disk (the
// iterators walk it); this is a search structure beside it:
//
//   bounds        u32 pairs: where separator i starts and ends in `keys`
//                 (the index block's bytes when every key is stored whole, as
//                 the writer does with restart interval 1; else a copy)
//   blockOffsets  data block i's handle: offset (NaN when the entry's handle
//   blockSizes    is malformed: reported when a lookup needs that block)
//   fingerprints  bytes [P, P + 6) of separator i's user key as a big-endian
//                 48-bit integer (exact in a double), zero-padded past its
//                 end, where P is the length of the prefix every separator's
//                 user key shares
//
// Why fingerprints: a lookup in a cached block is bound by memory stalls, and
// a binary search over separator keys is a chain of dependent loads into an
// index block of hundreds of KiB. The fingerprints are 8 bytes per data block
// (64 KiB for a 32 MiB segment), so the search stays in one small array and
// reads key bytes only where fingerprints tie. A summary of every 64th
// fingerprint (1 KiB) narrows the search first: it stays in the CPU cache
// even while cold reads stream blocks through it, and leaves a window of 64
// fingerprints (8 cache lines) to search. Zero padding keeps
// the order: fingerprint(a) < fingerprint(b) implies a < b, so unequal
// fingerprints decide a comparison and equal ones defer to the keys.
//
// Memory: 32 bytes per data block besides the index block (about 1% of the
// data with 4 KiB blocks), plus 8 per level of tie runs (TieRun) the block's
// separator sits in, for as long as the segment is open.

import { compareByteRanges } from '../format/compare-bytes.js';
import { trailerBytes } from '../format/internal-key.js';
import type { VarintResult } from '../format/varint.js';
import { decodeBlockHandle } from './block-io.js';
import { type Block, BlockIterator, compareLookupAt } from './block-reader.js';
import type { BlockHandle } from './segment-format.js';

export class DecodedIndex {
  /** Data blocks (index entries). */
  readonly count: number;
  readonly #keys: Buffer;
  readonly #bounds: Uint32Array;
  readonly #blockOffsets: Float64Array;
  readonly #blockSizes: Float64Array;
  readonly #fingerprints: Float64Array;
  /** Fingerprint of every summaryStride-th entry: #summary[j] = #fingerprints[j * summaryStride]. */
  readonly #summary: Float64Array;
  /** The prefix every separator's user key starts with: #keys[#prefixStart, #prefixStart + #prefixLength). */
  readonly #prefixStart: number;
  readonly #prefixLength: number;
  /** Runs of at least tieRunMin entries with the same fingerprint, by first entry: fingerprints one level down (TieRun). */
  readonly #tieRuns: Map<number, TieRun>;

  /** @param derived what decode() computes past the entries, when it comes from exportParts() */
  private constructor(keys: Buffer, bounds: Uint32Array, blockOffsets: Float64Array, blockSizes: Float64Array, derived?: DerivedParts) {
    const count = blockOffsets.length;
    this.count = count;
    this.#keys = keys;
    this.#bounds = bounds;
    this.#blockOffsets = blockOffsets;
    this.#blockSizes = blockSizes;
    if (derived !== undefined) {
      this.#prefixStart = derived.prefixStart;
      this.#prefixLength = derived.prefixLength;
      this.#fingerprints = derived.fingerprints;
      this.#summary = derived.summary;
      this.#tieRuns = derived.tieRuns;
      return;
    }
    this.#prefixStart = count === 0 ? 0 : bounds[0]!;
    this.#prefixLength = count === 0 ? 0 : commonPrefixLength(keys, bounds, 0, count - 1);
    this.#fingerprints = new Float64Array(count);
    for (let entry = 0; entry < count; entry++) {
      const start = bounds[2 * entry]!;
      this.#fingerprints[entry] = fingerprint(keys, start + this.#prefixLength, bounds[2 * entry + 1]! - trailerBytes);
    }
    this.#summary = new Float64Array(Math.ceil(count / summaryStride));
    for (let slot = 0; slot < this.#summary.length; slot++) this.#summary[slot] = this.#fingerprints[slot * summaryStride]!;
    this.#tieRuns = tieRuns(keys, bounds, this.#fingerprints, this.#prefixLength, 0);
  }

  /**
   * Everything this holds, for a thread that will read the same segment
   * (SegmentReader.exportParts()); the separator keys are left out when they
   * are the index block's own bytes.
   */
  exportParts(index: Block): DecodedIndexParts {
    return {
      keys: this.#keys === index.data ? undefined : this.#keys,
      bounds: this.#bounds,
      blockOffsets: this.#blockOffsets,
      blockSizes: this.#blockSizes,
      prefixStart: this.#prefixStart,
      prefixLength: this.#prefixLength,
      fingerprints: this.#fingerprints,
      summary: this.#summary,
      tieRuns: this.#tieRuns,
    };
  }

  /**
   * The decoded index exportParts() gave, for the same index block, without
   * decoding it again. The parts are taken, not copied.
   * @throws CorruptionError (through `fail`) when the parts do not fit the block
   */
  static fromParts(index: Block, parts: DecodedIndexParts, fail: (why: string) => Error): DecodedIndex {
    const count = parts.blockOffsets.length;
    const keys = parts.keys ?? index.data;
    const fits =
      parts.bounds.length === 2 * count &&
      parts.blockSizes.length === count &&
      parts.fingerprints.length === count &&
      parts.summary.length === Math.ceil(count / summaryStride) &&
      (count === 0 || parts.bounds[2 * count - 1]! <= keys.length) &&
      parts.prefixStart + parts.prefixLength <= keys.length;
    if (!fits) throw fail('decoded index parts do not fit the index block');
    return new DecodedIndex(keys, parts.bounds, parts.blockOffsets, parts.blockSizes, parts);
  }

  /**
   * Decodes every entry of `index`. Never throws for a malformed handle: it is recorded
   * (blockOffset NaN) and reported by the lookup that needs it.
   */
  static decode(index: Block): DecodedIndex {
    const iterator = new BlockIterator(index);
    let count = 0;
    let whole = true;
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
      count++;
      if (iterator.keyOffsetInBlock < 0) whole = false;
    }
    const bounds = new Uint32Array(2 * count);
    const blockOffsets = new Float64Array(count);
    const blockSizes = new Float64Array(count);
    const handle: BlockHandle = { offset: 0, size: 0 };
    const varint: VarintResult = { value: 0, offset: 0 };
    const copies: Buffer[] = [];
    let copied = 0;
    let entry = 0;
    for (iterator.seekToFirst(); iterator.valid(); iterator.next(), entry++) {
      if (whole) {
        bounds[2 * entry] = iterator.keyOffsetInBlock;
        bounds[2 * entry + 1] = iterator.keyOffsetInBlock + iterator.keyLength;
      } else {
        const key = Buffer.from(iterator.key()); // a prefix-compressed key is a view of the iterator's scratch
        copies.push(key);
        bounds[2 * entry] = copied;
        copied += key.length;
        bounds[2 * entry + 1] = copied;
      }
      const decoded = decodeBlockHandle(index.data, iterator.valueStart, iterator.valueEnd, handle, varint);
      blockOffsets[entry] = decoded ? handle.offset : Number.NaN;
      blockSizes[entry] = decoded ? handle.size : 0;
    }
    return new DecodedIndex(whole ? index.data : Buffer.concat(copies, copied), bounds, blockOffsets, blockSizes);
  }

  /** Bytes this holds beside the index block: its arrays, and the separator keys when they are a copy. */
  memoryBytes(index: Block): number {
    const keys = this.#keys === index.data ? 0 : this.#keys.length;
    const arrays = this.#bounds.byteLength + this.#blockOffsets.byteLength + this.#blockSizes.byteLength + this.#fingerprints.byteLength + this.#summary.byteLength;
    return keys + arrays + tieRunBytes(this.#tieRuns);
  }

  /**
   * The first separator >= userKey ‖ trailer(high, low), as seeking the index block would find.
   * @returns its entry number, or count when every separator is smaller
   */
  find(userKey: Buffer, trailerHigh: number, trailerLow: number): number {
    const count = this.count;
    if (count === 0) return 0;
    const keys = this.#keys;
    const prefixLength = this.#prefixLength;
    const shared = userKey.length < prefixLength ? userKey.length : prefixLength;
    const byPrefix = compareByteRanges(userKey, 0, shared, keys, this.#prefixStart, this.#prefixStart + shared);
    // Outside the prefix every separator shares, the key sorts before or after all of them.
    if (byPrefix < 0 || (byPrefix === 0 && userKey.length < prefixLength)) return 0;
    if (byPrefix > 0) return count;
    const target = fingerprint(userKey, prefixLength, userKey.length);
    const fingerprints = this.#fingerprints;
    // Fingerprints never decrease along the index. First the first entry whose fingerprint is
    // >= the target's: through the summary, then within the window of entries it leaves.
    const low = firstAtLeast(this.#summary, target, 0, this.#summary.length);
    const left = firstAtLeast(fingerprints, target, low === 0 ? 0 : (low - 1) * summaryStride + 1, low * summaryStride < count ? low * summaryStride : count);
    if (left === count || fingerprints[left] !== target) return left;
    // `left` starts the run of entries whose fingerprint ties the target's (runs are maximal).
    const run = this.#tieRuns.get(left);
    if (run !== undefined) return this.#findInRun(run, left, userKey, trailerHigh, trailerLow);
    return this.#findAmongTies(fingerprints, target, left, userKey, trailerHigh, trailerLow);
  }

  /**
   * Within a long run of tied fingerprints (all sharing user-key bytes [0, run.prefixLength)):
   * the same search as find() one level down, on fingerprints past that prefix.
   */
  #findInRun(run: TieRun, first: number, userKey: Buffer, trailerHigh: number, trailerLow: number): number {
    const shared = run.prefixLength;
    const runStart = this.#bounds[2 * first]!;
    const length = userKey.length < shared ? userKey.length : shared;
    const byPrefix = compareByteRanges(userKey, 0, length, this.#keys, runStart, runStart + length);
    // A key that sorts before the run's shared prefix (or is a proper prefix of it) sorts before the whole run.
    if (byPrefix < 0 || (byPrefix === 0 && userKey.length < shared)) return first;
    if (byPrefix > 0) return first + run.fingerprints.length;
    const target = fingerprint(userKey, shared, userKey.length);
    const fingerprints = run.fingerprints;
    const left = firstAtLeast(fingerprints, target, 0, fingerprints.length);
    if (left === fingerprints.length || fingerprints[left] !== target) return first + left;
    const nested = run.runs.get(left);
    if (nested !== undefined) return this.#findInRun(nested, first + left, userKey, trailerHigh, trailerLow);
    return first + this.#findAmongTies(fingerprints, target, left, userKey, trailerHigh, trailerLow, first);
  }

  /**
   * The first of the entries from `left` on whose fingerprint (in `fingerprints`, of entry
   * offset + i) ties `target` that is >= the lookup key, or the end of the ties: keys compared,
   * over the run of ties only. Returns a position in `fingerprints`.
   */
  #findAmongTies(fingerprints: Float64Array, target: number, left: number, userKey: Buffer, trailerHigh: number, trailerLow: number, offset = 0): number {
    const count = fingerprints.length;
    let end = left + 1;
    let step = 1;
    while (end < count && fingerprints[end] === target) {
      end += step;
      step *= 2;
    }
    if (end > count) end = count;
    const keys = this.#keys;
    const bounds = this.#bounds;
    let right = end;
    while (left < right) {
      const middle = (left + right) >>> 1;
      const start = bounds[2 * (middle + offset)]!;
      const order = fingerprints[middle] !== target ? 1 : compareLookupAt(keys, start, bounds[2 * (middle + offset) + 1]! - start, userKey, trailerHigh, trailerLow);
      if (order < 0) left = middle + 1;
      else right = middle;
    }
    return left;
  }

  /** Data block `entry`'s offset; NaN when its index entry holds a malformed handle. */
  blockOffset(entry: number): number {
    return this.#blockOffsets[entry]!;
  }

  /** Data block `entry`'s stored size (without trailer). */
  blockSize(entry: number): number {
    return this.#blockSizes[entry]!;
  }

}

/** Entries per summary slot (see the header). */
const summaryStride = 64;

/**
 * A run of separators with the same fingerprint. In a segment that holds
 * both string keys and a collection's subkeys, every `M`-record of a string
 * key shares the record tag, the database and usually a key prefix
 * (`key:0000…`) past the segment-wide prefix, so a point lookup among them
 * compared whole keys over a run of thousands. A run of at least tieRunMin
 * entries gets fingerprints of the bytes past the prefix its entries share,
 * and runs that tie again nest.
 */
/** What the constructor computes past the entries (see exportParts()). */
interface DerivedParts {
  prefixStart: number;
  prefixLength: number;
  fingerprints: Float64Array;
  summary: Float64Array;
  tieRuns: Map<number, TieRun>;
}

/** A DecodedIndex taken apart (exportParts()), as structured cloning carries it between threads. */
export interface DecodedIndexParts extends DerivedParts {
  /** The separator keys when they are a copy; undefined when they are the index block's bytes. */
  keys: Buffer | undefined;
  bounds: Uint32Array;
  blockOffsets: Float64Array;
  blockSizes: Float64Array;
}

/** A tie run as exportParts() carries it (the same object, exported for the thread hand-over). */
export type TieRunParts = TieRun;

interface TieRun {
  /** User-key bytes every entry of the run shares (at least the fingerprint's end). */
  prefixLength: number;
  /** Entry first + i's fingerprint of user-key bytes [prefixLength, prefixLength + 6), zero-padded. */
  fingerprints: Float64Array;
  /** Long runs that tie again on these fingerprints, by index in them. */
  runs: Map<number, TieRun>;
}

/** Bytes of `runs`' fingerprints, at every level. */
function tieRunBytes(runs: Map<number, TieRun>): number {
  let bytes = 0;
  for (const run of runs.values()) bytes += run.fingerprints.byteLength + tieRunBytes(run.runs);
  return bytes;
}

/** Runs shorter than this keep the plain search over their keys. */
const tieRunMin = 16;

/**
 * The long runs of equal values in `fingerprints` (those of entries offset + i, taken past
 * user-key byte `prefixLength`), by index in it, each with fingerprints one level down.
 */
function tieRuns(keys: Buffer, bounds: Uint32Array, fingerprints: Float64Array, prefixLength: number, offset: number): Map<number, TieRun> {
  const runs = new Map<number, TieRun>();
  const count = fingerprints.length;
  let first = 0;
  while (first < count) {
    let end = first + 1;
    while (end < count && fingerprints[end] === fingerprints[first]) end++;
    if (end - first >= tieRunMin) {
      const shared = commonPrefixLength(keys, bounds, offset + first, offset + end - 1);
      // Equal fingerprints can come from zero padding past a short key: then the keys share less than the
      // fingerprint covers, and the run keeps the plain search.
      if (shared >= prefixLength + fingerprintBytes) {
        const next = new Float64Array(end - first);
        for (let index = first; index < end; index++) {
          const entry = offset + index;
          next[index - first] = fingerprint(keys, bounds[2 * entry]! + shared, bounds[2 * entry + 1]! - trailerBytes);
        }
        runs.set(first, { prefixLength: shared, fingerprints: next, runs: tieRuns(keys, bounds, next, shared, offset + first) });
      }
    }
    first = end;
  }
  return runs;
}

/** The first index in [left, right) whose value is >= target (`values` never decreases there), or right. */
function firstAtLeast(values: Float64Array, target: number, left: number, right: number): number {
  while (left < right) {
    const middle = (left + right) >>> 1;
    if (values[middle]! < target) left = middle + 1;
    else right = middle;
  }
  return left;
}

/** Bytes in a fingerprint: 48 bits, exact in a double. */
const fingerprintBytes = 6;

/** `source[start, start + fingerprintBytes)` as a big-endian integer, zero bytes past `end`. */
function fingerprint(source: Uint8Array, start: number, end: number): number {
  let value = 0;
  for (let index = start; index < start + fingerprintBytes; index++) value = value * 256 + (index < end ? source[index]! : 0);
  return value;
}

/** Length of the user-key prefix shared by separators `first` and `last` (so, being sorted, by all between). */
function commonPrefixLength(keys: Buffer, bounds: Uint32Array, first: number, last: number): number {
  const a = bounds[2 * first]!;
  const b = bounds[2 * last]!;
  const length = Math.min(bounds[2 * first + 1]! - a, bounds[2 * last + 1]! - b) - trailerBytes;
  let shared = 0;
  while (shared < length && keys[a + shared] === keys[b + shared]) shared++;
  return shared;
}
