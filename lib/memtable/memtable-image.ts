// A flush worker's view of an immutable memtable: its version rows and value
// slabs, shared memory (SharedArrayBuffers) handed over by Memtable.image(),
// read in place. The worker orders the entries itself, so a flush costs the
// event loop nothing: no walk of the memtable's tree and no copy of its
// entries (the walk in key order visits rows, values and key strings that
// were inserted in random order, and cost 20-26 % of the main thread in a
// fill).
//
// Order: user keys ascending (byte order), and each key's versions newest
// first, as the rows' lists already are: internal-key order.

import { trailerBytes, ValueType, writeTrailer } from '../format/internal-key.js';
import { packedKeyBytesMax, sortPackedKeys } from './packed-key-sort.js';
import { noVersion, rowWords, tombstoneLength } from './memtable.js';
import { copyBytes } from '../format/compare-bytes.js';
import { keyLengthAt, keyLengthBytes, offsetOf, slabOf } from './value-arena.js';

/** See Memtable.image(). */
export interface MemtableImage {
  /** Version rows, rowWords int32 words each (layout: VersionStore in memtable.ts). */
  rows: Int32Array;
  /** The value arena's slabs; keys are stored in them too. */
  slabs: Uint8Array[];
}

/**
 * Calls `visit` for every version in the image in internal-key order, with
 * the internal key and the value as `slab[valueStart, valueEnd)` (an empty
 * range for a tombstone): views, not copies, made without an allocation per
 * entry. `internalKey` is a scratch buffer that the next call overwrites and
 * `slab` is the image's memory: both are valid only during the call.
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
export function forEachImageEntry(
  image: MemtableImage,
  visit: (internalKey: Buffer, slab: Buffer, valueStart: number, valueEnd: number) => void,
  smallestSnapshot = Number.NEGATIVE_INFINITY,
): number {
  const rows = image.rows;
  const floats = new Float64Array(rows.buffer, rows.byteOffset, rows.length >> 1);
  const slabs = image.slabs.map((slab) => Buffer.from(slab.buffer, slab.byteOffset, slab.byteLength));
  const newest = newestVersions(rows, floats, slabs);
  const count = newest.anchors.length;
  const { anchors, sequences, locations, lengths, older } = newest;
  let scratch = Buffer.allocUnsafe(64);
  let internalKey = scratch.subarray(0, 0);
  const empty = Buffer.alloc(0);
  let skipped = 0;
  for (let position = 0; position < count; position++) {
    // The key's bytes sit before its anchor row's value (value-arena.ts keyLengthAt()).
    const keyLocation = anchors[position]!;
    const keySlab = slabs[slabOf(keyLocation)]!;
    const keyEnd = offsetOf(keyLocation) - keyLengthBytes;
    const keyLength = keyLengthAt(keySlab, keyLocation);
    if (keyLength + trailerBytes > scratch.length) scratch = Buffer.allocUnsafe(Math.max(keyLength + trailerBytes, 2 * scratch.length));
    // One view per key length, not per key (keys of a keyspace mostly share a length).
    if (internalKey.length !== keyLength + trailerBytes || internalKey.buffer !== scratch.buffer) internalKey = scratch.subarray(0, keyLength + trailerBytes);
    copyBytes(keySlab, keyEnd - keyLength, keyEnd, internalKey, 0);
    // The newest version, gathered; older ones (a key written more than once) from the rows.
    let sequence = sequences[position]!;
    let length = lengths[position]!;
    let location = locations[position]!;
    let version = older[position]!;
    let newerSequence = Number.POSITIVE_INFINITY;
    for (;;) {
      if (newerSequence <= smallestSnapshot) {
        skipped++;
      } else {
        writeTrailer(internalKey, keyLength, sequence, length === tombstoneLength ? ValueType.delete : ValueType.put);
        if (length <= 0) visit(internalKey, empty, 0, 0);
        else {
          const start = offsetOf(location);
          visit(internalKey, slabs[slabOf(location)]!, start, start + length);
        }
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
  return skipped;
}

/** Per key, in key order: where its bytes are, and its newest version (the rows' fields, gathered). */
interface NewestVersions {
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
 * The keys in key order, with what the visit reads of each gathered into
 * arrays in that order. Each gathering loop's loads are independent of one
 * another, so the CPU overlaps their cache misses; the visit then reads
 * these arrays in order instead of chasing rows one miss after another.
 */
function newestVersions(rows: Int32Array, floats: Float64Array, slabs: Buffer[]): NewestVersions {
  const { anchors: anchorRows, order } = sortedKeys(rows, floats, slabs);
  const count = order.length;
  const sortedRows = new Int32Array(count);
  for (let position = 0; position < count; position++) sortedRows[position] = anchorRows[order[position]!]!;
  const anchors = new Float64Array(count);
  const heads = new Int32Array(count);
  for (let position = 0; position < count; position++) {
    const base = sortedRows[position]! * rowWords;
    anchors[position] = floats[(base >> 1) + 1]!;
    heads[position] = rows[base + 7]!;
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
  return { anchors, sequences, locations, lengths, older };
}

/**
 * The keys that have versions, numbered in row order (`anchors[k]` is key k's
 * anchor row), and `order`: the key numbers in key order (sorted packed
 * copies of the keys, read in order by each pass, not the slabs).
 * @throws RangeError when the keys hold more than packedKeyBytesMax bytes
 */
function sortedKeys(rows: Int32Array, floats: Float64Array, slabs: Buffer[]): { anchors: Int32Array; order: Int32Array } {
  const rowCount = rows.length / rowWords;
  const anchorRows = new Int32Array(rowCount);
  let count = 0;
  let total = 0;
  for (let row = 0; row < rowCount; row++) {
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
  return { anchors: anchorRows.subarray(0, count), order };
}
