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
import { packedKeyBytesMax, sortPackedKeys, type PackedKeys } from './packed-key-sort.js';
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
  const { keys, anchors, order } = sortedKeys(rows, floats, slabs);
  const keyBytes = keys.bytes;
  const keyStarts = keys.starts;
  let scratch = Buffer.allocUnsafe(64);
  let internalKey = scratch.subarray(0, 0);
  const empty = Buffer.alloc(0);
  let skipped = 0;
  for (let position = 0; position < order.length; position++) {
    const key = order[position]!;
    const anchor = anchors[key]!;
    const keyStart = keyStarts[key]!;
    const keyLength = keyStarts[key + 1]! - keyStart;
    if (keyLength + trailerBytes > scratch.length) scratch = Buffer.allocUnsafe(Math.max(keyLength + trailerBytes, 2 * scratch.length));
    // One view per key length, not per key (keys of a keyspace mostly share a length).
    if (internalKey.length !== keyLength + trailerBytes || internalKey.buffer !== scratch.buffer) internalKey = scratch.subarray(0, keyLength + trailerBytes);
    copyBytes(keyBytes, keyStart, keyStart + keyLength, internalKey, 0);
    let newerSequence = Number.POSITIVE_INFINITY;
    for (let version = rows[anchor * rowWords + 7]!; version !== noVersion; version = rows[version * rowWords + 5]!) {
      const base = version * rowWords;
      const sequence = floats[base >> 1]!;
      const shadowed = newerSequence <= smallestSnapshot;
      newerSequence = sequence;
      if (shadowed) {
        skipped++;
        continue;
      }
      const length = rows[base + 4]!;
      writeTrailer(internalKey, keyLength, sequence, length === tombstoneLength ? ValueType.delete : ValueType.put);
      if (length <= 0) {
        visit(internalKey, empty, 0, 0);
      } else {
        const location = floats[(base >> 1) + 1]!;
        const start = offsetOf(location);
        visit(internalKey, slabs[slabOf(location)]!, start, start + length);
      }
    }
  }
  return skipped;
}

/**
 * The keys that have versions, packed in row order (`anchors[k]` is key k's
 * anchor row), and `order`: the key numbers in key order.
 * @throws RangeError when the keys hold more than packedKeyBytesMax bytes
 */
function sortedKeys(rows: Int32Array, floats: Float64Array, slabs: Buffer[]): { keys: PackedKeys; anchors: Int32Array; order: Int32Array } {
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
  const keys = { bytes, starts };
  sortPackedKeys(keys, order);
  return { keys, anchors: anchorRows.subarray(0, count), order };
}
