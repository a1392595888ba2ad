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
import { sortLatin1 } from './latin1-sort.js';
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
  const anchors = sortedAnchors(rows, floats, slabs);
  let scratch = Buffer.allocUnsafe(64);
  const empty = Buffer.alloc(0);
  let skipped = 0;
  for (const anchor of anchors) {
    const keyLocation = floats[((anchor * rowWords) >> 1) + 1]!;
    const keySlab = slabs[slabOf(keyLocation)]!;
    const keyLength = keyLengthAt(keySlab, keyLocation);
    const keyEnd = offsetOf(keyLocation) - keyLengthBytes;
    if (keyLength + trailerBytes > scratch.length) scratch = Buffer.allocUnsafe(Math.max(keyLength + trailerBytes, 2 * scratch.length));
    copyBytes(keySlab, keyEnd - keyLength, keyEnd, scratch, 0);
    const internalKey = scratch.subarray(0, keyLength + trailerBytes);
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

/** The anchor rows of keys that have versions, in key order. */
function sortedAnchors(rows: Int32Array, floats: Float64Array, slabs: Buffer[]): number[] {
  const keys: string[] = [];
  const anchors: number[] = [];
  const rowCount = rows.length / rowWords;
  for (let row = 0; row < rowCount; row++) {
    if (rows[row * rowWords + 7] === noVersion) continue;
    const location = floats[((row * rowWords) >> 1) + 1]!;
    const slab = slabs[slabOf(location)]!;
    const end = offsetOf(location) - keyLengthBytes;
    keys.push(slab.toString('latin1', end - keyLengthAt(slab, location), end));
    anchors.push(row);
  }
  sortLatin1(keys, anchors);
  return anchors;
}
