// A flush worker's view of an immutable memtable: its version rows and value
// slabs, shared memory (SharedArrayBuffers) handed over by Memtable.image(),
// read in place, and the order of the keys the memtable's tree holds (a walk
// of the leaves' numbers on the engine's thread, about 5 ms for 400,000
// keys). The worker sorts the other keys (those not folded into the tree
// yet, a few thousand) and merges the two runs as it visits them; it never
// walks the tree's strings or copies entries on the engine's thread (that
// walk, in key order over rows, values and key strings inserted in random
// order, cost 20-26 % of the main thread in a fill). Sorting every key in
// the worker instead cost about 20 % more of the whole flush (npm run
// bench:flush).
//
// Order: user keys ascending (byte order), and each key's versions newest
// first, as the rows' lists already are: internal-key order.

import { trailerBytes, ValueType, writeTrailer } from '../format/internal-key.js';
import { packedKeyBytesMax, sortPackedKeys } from './packed-key-sort.js';
import { noVersion, rowWords, tombstoneLength } from './memtable.js';
import { compareByteRanges, copyBytes } from '../format/compare-bytes.js';
import { keyLengthAt, keyLengthBytes, offsetOf, slabOf } from './value-arena.js';
import { assert } from '../assert.js';

/** See Memtable.image(). */
export interface MemtableImage {
  /** Version rows, rowWords int32 words each (layout: VersionStore in memtable.ts). */
  rows: Int32Array;
  /** The value arena's slabs; keys are stored in them too. */
  slabs: Uint8Array[];
  /**
   * What the memtable knows of its keys' order (Memtable.image()): `sorted`,
   * the anchors of its tree's keys in key order, and `unsorted`, those of the
   * keys not in the tree yet, in no order. The worker then sorts only those
   * and merges the two; without it, it sorts every key. Keys without a
   * version (taken back by remove()) may be named: they are skipped.
   */
  order?: { sorted: Int32Array; unsorted: Int32Array };
  /**
   * How many versions the keys' lists hold in all (rows less those remove()
   * unlinked). Given, forEachImageEntry() stops walking a key's list at its
   * first shadowed version and counts the rest from this total: a key written
   * a million times (a collection's metadata record) would otherwise cost a
   * million row reads, each a cache miss, to skip.
   */
  versions?: number;
}

/**
 * Calls `visit` for every version in the image in internal-key order, with
 * the internal key and the value as `slab[valueStart, valueEnd)` (an empty
 * range for a tombstone): views, not copies, made without an allocation per
 * entry. `internalKey` is a scratch buffer that the next call overwrites and
 * `slab` is the image's memory: both are valid only during the call. When
 * `visit` returns a promise, the next entry waits for it (a flush lets its
 * thread's event loop run that way: lib/format/lz4.ts).
 *
 * `smallestSnapshot` (the oldest live snapshot's sequence, or the newest
 * sequence when there is none) drops versions no reader can see, as a
 * compaction does (compactor.ts, rule 1): a version is skipped when a newer
 * version of its key has a sequence <= it, since every snapshot then sees
 * that newer one. A key written a million times (a collection's metadata
 * record, a counter) leaves one entry in the segment, not a million.
 * Omitted, every version is visited.
 * @returns the versions skipped
 */
export async function forEachImageEntry(
  image: MemtableImage,
  visit: (internalKey: Buffer, slab: Buffer, valueStart: number, valueEnd: number) => Promise<void> | undefined | void,
  smallestSnapshot = Number.NEGATIVE_INFINITY,
): Promise<number> {
  const rows = image.rows;
  const floats = new Float64Array(rows.buffer, rows.byteOffset, rows.length >> 1);
  const slabs = image.slabs.map((slab) => Buffer.from(slab.buffer, slab.byteOffset, slab.byteLength));
  // Two runs in key order, merged as they are visited: the keys the memtable's tree had (their order
  // comes with the image) and the rest, sorted here; without the tree's order, one run of every key.
  const known = image.order;
  const first = gatherNewest(rows, floats, known === undefined ? sortedAnchorRows(rows, floats, slabs) : known.sorted);
  const second = gatherNewest(rows, floats, known === undefined ? new Int32Array(0) : sortedAnchorRows(rows, floats, slabs, known.unsorted));
  let scratch = Buffer.allocUnsafe(64);
  let internalKey = scratch.subarray(0, 0);
  const empty = Buffer.alloc(0);
  let skipped = 0;
  let visited = 0;
  const versions = image.versions;
  let inFirst = 0;
  let inSecond = 0;
  // The second run's next key, where it sits in its slab (hot: compared until it goes).
  let secondSlab: Buffer = empty;
  let secondStart = 0;
  let secondEnd = 0;
  const placeSecond = (): void => {
    if (inSecond === second.count) return;
    const location = second.anchors[inSecond]!;
    secondSlab = slabs[slabOf(location)]!;
    secondEnd = offsetOf(location) - keyLengthBytes;
    secondStart = secondEnd - keyLengthAt(secondSlab, location);
  };
  placeSecond();
  while (inFirst < first.count || inSecond < second.count) {
    // The key's bytes sit before its anchor row's value (value-arena.ts keyLengthAt()).
    let run = first;
    let position = inFirst;
    let keySlab = secondSlab;
    let keyStart = secondStart;
    let keyEnd = secondEnd;
    if (inFirst < first.count) {
      const location = first.anchors[inFirst]!;
      keySlab = slabs[slabOf(location)]!;
      keyEnd = offsetOf(location) - keyLengthBytes;
      keyStart = keyEnd - keyLengthAt(keySlab, location);
    }
    // Keys are distinct: the smaller of the two runs' next keys goes first.
    if (inFirst === first.count || (inSecond < second.count && compareByteRanges(secondSlab, secondStart, secondEnd, keySlab, keyStart, keyEnd) < 0)) {
      run = second;
      position = inSecond++;
      keySlab = secondSlab;
      keyStart = secondStart;
      keyEnd = secondEnd;
      placeSecond();
    } else {
      inFirst++;
    }
    const keyLength = keyEnd - keyStart;
    if (keyLength + trailerBytes > scratch.length) scratch = Buffer.allocUnsafe(Math.max(keyLength + trailerBytes, 2 * scratch.length));
    // One view per key length, not per key (keys of a keyspace mostly share a length).
    if (internalKey.length !== keyLength + trailerBytes || internalKey.buffer !== scratch.buffer) internalKey = scratch.subarray(0, keyLength + trailerBytes);
    copyBytes(keySlab, keyStart, keyEnd, internalKey, 0);
    // The newest version, gathered; older ones (a key written more than once) from the rows.
    let sequence = run.sequences[position]!;
    let length = run.lengths[position]!;
    let location = run.locations[position]!;
    let version = run.older[position]!;
    let newerSequence = Number.POSITIVE_INFINITY;
    for (;;) {
      if (newerSequence <= smallestSnapshot) {
        // Versions come newest first, so every older one is shadowed too: with the total known,
        // they are counted at the end instead of walked.
        if (versions !== undefined) break;
        skipped++;
      } else {
        visited++;
        writeTrailer(internalKey, keyLength, sequence, length === tombstoneLength ? ValueType.delete : ValueType.put);
        let paused: Promise<void> | undefined | void;
        if (length <= 0) paused = visit(internalKey, empty, 0, 0);
        else {
          const start = offsetOf(location);
          paused = visit(internalKey, slabs[slabOf(location)]!, start, start + length);
        }
        if (paused !== undefined) await paused;
      }
      if (version === noVersion) break;
      newerSequence = sequence;
      const base = version * rowWords;
      sequence = floats[base >> 1]!;
      length = rows[base + 4]!;
      location = floats[(base >> 1) + 1]!;
      version = rows[base + 5]!;
    }
  }
  if (versions === undefined) return skipped;
  assert(versions >= visited, 'the image counts every version it holds');
  return versions - visited;
}

/** Per key of a run, in key order: where its bytes are, and its newest version (the rows' fields, gathered). */
interface NewestVersions {
  count: number;
  /** The anchor row's value location: the key's bytes precede it. */
  anchors: Float64Array;
  sequences: Float64Array;
  /** Value locations (the anchor's when the newest version is the anchor row). */
  locations: Float64Array;
  /** Value lengths, or tombstoneLength. */
  lengths: Int32Array;
  /** The next older version's row, or noVersion. */
  older: Int32Array;
}

/**
 * What the visit reads of each key of `sortedRows` (anchor rows in key
 * order), gathered into arrays in that order; keys left with no version
 * (remove()) are left out. Each gathering loop's loads are independent of
 * one another, so the CPU overlaps their cache misses; the visit then reads
 * these arrays in order instead of chasing rows one miss after another.
 */
function gatherNewest(rows: Int32Array, floats: Float64Array, sortedRows: Int32Array): NewestVersions {
  const total = sortedRows.length;
  const anchors = new Float64Array(total);
  const heads = new Int32Array(total);
  let count = 0;
  for (let position = 0; position < total; position++) {
    const base = sortedRows[position]! * rowWords;
    const head = rows[base + 7]!;
    if (head === noVersion) continue;
    anchors[count] = floats[(base >> 1) + 1]!;
    heads[count++] = head;
  }
  const sequences = new Float64Array(count);
  const locations = new Float64Array(count);
  const lengths = new Int32Array(count);
  const older = new Int32Array(count);
  for (let position = 0; position < count; position++) {
    const base = heads[position]! * rowWords;
    sequences[position] = floats[base >> 1]!;
    locations[position] = floats[(base >> 1) + 1]!;
    lengths[position] = rows[base + 4]!;
    older[position] = rows[base + 5]!;
  }
  return { count, anchors, sequences, locations, lengths, older };
}

/**
 * The anchor rows of the keys that have versions, in key order: `candidates`
 * (every row when omitted), sorted by packed copies of their keys (read in
 * order by each pass of the sort, not from the slabs).
 * @throws RangeError when the keys hold more than packedKeyBytesMax bytes
 */
function sortedAnchorRows(rows: Int32Array, floats: Float64Array, slabs: Buffer[], candidates?: Int32Array): Int32Array {
  const rowCount = candidates === undefined ? rows.length / rowWords : candidates.length;
  const anchorRows = new Int32Array(rowCount);
  let count = 0;
  let total = 0;
  for (let index = 0; index < rowCount; index++) {
    const row = candidates === undefined ? index : candidates[index]!;
    if (rows[row * rowWords + 7] === noVersion) continue;
    const location = floats[((row * rowWords) >> 1) + 1]!;
    total += keyLengthAt(slabs[slabOf(location)]!, location);
    anchorRows[count++] = row;
  }
  if (total > packedKeyBytesMax) throw new RangeError(`Cannot flush a memtable whose keys hold ${total} bytes: at most ${packedKeyBytesMax}`);
  const bytes = new Uint8Array(total);
  const starts = new Uint32Array(count + 1);
  let at = 0;
  for (let key = 0; key < count; key++) {
    const location = floats[((anchorRows[key]! * rowWords) >> 1) + 1]!;
    const slab = slabs[slabOf(location)]!;
    const end = offsetOf(location) - keyLengthBytes;
    const length = keyLengthAt(slab, location);
    starts[key] = at;
    copyBytes(slab, end - length, end, bytes, at);
    at += length;
  }
  starts[count] = at;
  const order = new Int32Array(count);
  for (let key = 0; key < count; key++) order[key] = key;
  sortPackedKeys({ bytes, starts }, order);
  const sorted = new Int32Array(count);
  for (let position = 0; position < count; position++) sorted[position] = anchorRows[order[position]!]!;
  return sorted;
}
