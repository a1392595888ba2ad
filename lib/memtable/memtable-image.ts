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
import { bytesAt, keyAt } from './value-arena.js';

/** See Memtable.image(). */
export interface MemtableImage {
  /** Version rows, rowWords int32 words each (layout: VersionStore in memtable.ts). */
  rows: Int32Array;
  /** The value arena's slabs; keys are stored in them too. */
  slabs: Uint8Array[];
}

/**
 * Calls `visit` for every version in the image in internal-key order.
 * `internalKey` is a scratch buffer reused by the next call; `value` is a
 * view into the image's slabs (empty for a tombstone). Both are valid only
 * during the call: copy what must outlive it.
 */
export function forEachImageEntry(image: MemtableImage, visit: (internalKey: Buffer, value: Buffer) => void): void {
  const rows = image.rows;
  const floats = new Float64Array(rows.buffer, rows.byteOffset, rows.length >> 1);
  const slabs = image.slabs.map((slab) => Buffer.from(slab.buffer, slab.byteOffset, slab.byteLength));
  const anchors = sortedAnchors(rows, floats, slabs);
  let scratch = Buffer.allocUnsafe(64);
  const empty = Buffer.alloc(0);
  for (const anchor of anchors) {
    const key = keyAt(slabs, floats[((anchor * rowWords) >> 1) + 1]!);
    const keyLength = key.length + trailerBytes;
    if (keyLength > scratch.length) scratch = Buffer.allocUnsafe(Math.max(keyLength, 2 * scratch.length));
    scratch.set(key, 0);
    const internalKey = scratch.subarray(0, keyLength);
    for (let version = rows[anchor * rowWords + 7]!; version !== noVersion; version = rows[version * rowWords + 5]!) {
      const base = version * rowWords;
      const length = rows[base + 4]!;
      const type = length === tombstoneLength ? ValueType.delete : ValueType.put;
      writeTrailer(internalKey, key.length, floats[base >> 1]!, type);
      visit(internalKey, length <= 0 ? empty : bytesAt(slabs, floats[(base >> 1) + 1]!, length));
    }
  }
}

/** The anchor rows of keys that have versions, in key order. */
function sortedAnchors(rows: Int32Array, floats: Float64Array, slabs: Buffer[]): number[] {
  const keys: string[] = [];
  const anchors: number[] = [];
  const rowCount = rows.length / rowWords;
  for (let row = 0; row < rowCount; row++) {
    if (rows[row * rowWords + 7] === noVersion) continue;
    const key = keyAt(slabs, floats[((row * rowWords) >> 1) + 1]!);
    keys.push(key.toString('latin1'));
    anchors.push(row);
  }
  sortLatin1(keys, anchors);
  return anchors;
}
