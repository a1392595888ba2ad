// The memtable's hash index: user key bytes -> the key's anchor (see
// memtable.ts). Open addressing with linear probing over one Int32Array of
// (hash, anchor) pairs, at most half full; the key itself is the latin1
// string the memtable keeps per anchor, compared only when hashes match.
//
// Why not a Map<string, number> (which the first version used): a Map
// lookup needs a string made from the bytes first, and one that misses
// (every new key) reads two or three stored key strings to compare them, each
// a cache miss at a million keys; here a miss touches one cache line of the
// table, and no lookup makes a string. Measured on Node 20, adding 1,000,000
// distinct 16-byte keys (WAL replay's bulk load) took 1.25 s of CPU with the
// Map and 0.75 s with this index; lookups cost about the same.
//
// Hash: Murmur3 (x86, 32-bit) seeded at random per index, so that plain
// collisions found in one process do not carry over to another. NB: like the
// seeded string hash behind a Map in Node 20, Murmur3 has seed-independent
// multicollisions (Aumasson and Bernstein, 2012), so a client determined to
// flood one bucket could slow lookups down to linear probing over its keys;
// SipHash-1-3 would close that at about twice the hashing cost.
//
// Growth is incremental, as Redis's dict rehashes: when the table is half
// full, a table twice its size takes new keys, and each insert after that
// copies the next migrateBucketsPerInsert buckets of the old table into it
// (their hashes are stored, so nothing is hashed again); lookups try the new
// table, then the old one, until the last bucket is copied and the old table
// is dropped. Copied entries stay in the old table (no key ever leaves the
// index), so its probe sequences stay whole. Before, the doubling copied every
// key in one stop: 8 ms at 262,144 keys, 33 ms at 1,048,576, 130 ms at
// 4,194,304 (a 1 GiB memtable), a wait for every client. A slot holds
// anchor + 1, so a new table needs no filling: 0 is empty, and the zeroed
// pages come from the system as they are first touched.

import { randomInt } from 'node:crypto';
import { assert } from '../assert.js';

/** No anchor in this bucket (slots hold anchor + 1). */
const emptyBucket = 0;
const initialBuckets = 64;
/** Buckets are at most this full (then the table doubles). */
const loadFactorMax = 0.5;
/** 2^29 buckets: an Int32Array of 2^30 entries (4 GiB), room for 2^28 keys. */
const bucketsMax = 2 ** 29;
/**
 * Old buckets copied per insert while the table grows. A table of B buckets
 * grows again after B / 2 more inserts, so anything over 2 finishes in time;
 * 8 ends the growth (and the lookups that try two tables) within B / 8
 * inserts, at a few nanoseconds a bucket.
 */
export const migrateBucketsPerInsert = 8;

/** The stored key of each anchor, in chunks of keyChunkRows rows: the key of row r is chunks[r >>> keyChunkBits][r & keyChunkMask]. */
export type KeyChunks = readonly (readonly string[])[];
export const keyChunkBits = 16;
export const keyChunkRows = 2 ** keyChunkBits;
export const keyChunkMask = keyChunkRows - 1;

export class KeyIndex {
  readonly #seed = randomInt(0, 2 ** 32 - 1);
  /** Pairs: [2i] hash, [2i + 1] anchor + 1, or emptyBucket. */
  #table = new Int32Array(2 * initialBuckets);
  #mask = initialBuckets - 1;
  #size = 0;
  /** While growing: the previous table, copied into #table bucket by bucket (#migrate()). */
  #old: Int32Array | undefined;
  #oldMask = 0;
  /** Buckets of #old copied so far. */
  #moved = 0;

  get size(): number {
    return this.#size;
  }

  /** Whether a growth is under way (an old table is still being copied). */
  get growing(): boolean {
    return this.#old !== undefined;
  }

  /** The hash of `key[start, end)` for find() and insert(). */
  hash(key: Uint8Array, start: number, end: number): number {
    return hashBytes(key, start, end, this.#seed);
  }

  /**
   * The anchor of `key[start, end)` (whose hash is `hash`), or -1.
   * @param keys the stored key of each anchor, by anchor (KeyChunks)
   */
  find(key: Uint8Array, start: number, end: number, hash: number, keys: KeyChunks): number {
    const found = probe(this.#table, this.#mask, key, start, end, hash, keys);
    if (found !== -1 || this.#old === undefined) return found;
    return probe(this.#old, this.#oldMask, key, start, end, hash, keys);
  }

  /** Adds a key known to be absent, with its hash and anchor. */
  insert(hash: number, anchor: number): void {
    assert(anchor >= 0, 'anchors are row numbers');
    if (this.#old !== undefined) this.#migrate(migrateBucketsPerInsert);
    if (this.#size + 1 > (this.#mask + 1) * loadFactorMax) this.#grow();
    place(this.#table, this.#mask, hash, anchor + 1);
    this.#size++;
  }

  /** Every anchor once: those of the table, then those of the old table's buckets not copied yet. */
  *anchors(): Generator<number> {
    const table = this.#table;
    for (let bucket = 0; bucket <= this.#mask; bucket++) {
      const slot = table[2 * bucket + 1]!;
      if (slot !== emptyBucket) yield slot - 1;
    }
    const old = this.#old;
    if (old === undefined) return;
    for (let bucket = this.#moved; bucket <= this.#oldMask; bucket++) {
      const slot = old[2 * bucket + 1]!;
      if (slot !== emptyBucket) yield slot - 1;
    }
  }

  #grow(): void {
    // Finishes a growth still under way (none is: see migrateBucketsPerInsert).
    if (this.#old !== undefined) this.#migrate(Number.POSITIVE_INFINITY);
    const buckets = (this.#mask + 1) * 2;
    assert(buckets <= bucketsMax, 'the key index fits an Int32Array');
    this.#old = this.#table;
    this.#oldMask = this.#mask;
    this.#moved = 0;
    this.#table = new Int32Array(2 * buckets);
    this.#mask = buckets - 1;
  }

  /** Copies up to `count` more buckets of the old table; drops it after its last. */
  #migrate(count: number): void {
    const old = this.#old!;
    const table = this.#table;
    const mask = this.#mask;
    const end = Math.min(this.#oldMask + 1, this.#moved + count);
    for (let bucket = this.#moved; bucket < end; bucket++) {
      const slot = old[2 * bucket + 1]!;
      if (slot !== emptyBucket) place(table, mask, old[2 * bucket]!, slot);
    }
    this.#moved = end;
    if (end > this.#oldMask) this.#old = undefined;
  }
}

/** The anchor of `key[start, end)` in one table, or -1. */
function probe(table: Int32Array, mask: number, key: Uint8Array, start: number, end: number, hash: number, keys: KeyChunks): number {
  for (let bucket = hash & mask; ; bucket = (bucket + 1) & mask) {
    const slot = table[2 * bucket + 1]!;
    if (slot === emptyBucket) return -1;
    const anchor = slot - 1;
    if (table[2 * bucket] === hash && bytesMatch(keys[anchor >>> keyChunkBits]![anchor & keyChunkMask]!, key, start, end)) return anchor;
  }
}

/** Puts (hash, slot) in the first empty bucket from the hash's. */
function place(table: Int32Array, mask: number, hash: number, slot: number): void {
  let bucket = hash & mask;
  while (table[2 * bucket + 1] !== emptyBucket) bucket = (bucket + 1) & mask;
  table[2 * bucket] = hash;
  table[2 * bucket + 1] = slot;
}

/** True when `text` (latin1) holds exactly the bytes `key[start, end)`. */
function bytesMatch(text: string, key: Uint8Array, start: number, end: number): boolean {
  if (text.length !== end - start) return false;
  for (let index = 0; index < text.length; index++) {
    if (text.charCodeAt(index) !== key[start + index]) return false;
  }
  return true;
}

/** Murmur3 (x86, 32-bit) over `key[start, end)`. */
function hashBytes(key: Uint8Array, start: number, end: number, seed: number): number {
  let hash = seed | 0;
  let index = start;
  for (; index + 4 <= end; index += 4) {
    const block = key[index]! | (key[index + 1]! << 8) | (key[index + 2]! << 16) | (key[index + 3]! << 24);
    hash ^= mixBlock(block);
    hash = (hash << 13) | (hash >>> 19);
    hash = (Math.imul(hash, 5) + 0xe6546b64) | 0;
  }
  const remaining = end - index;
  if (remaining > 0) {
    let tail = key[index]!;
    if (remaining > 1) tail |= key[index + 1]! << 8;
    if (remaining > 2) tail |= key[index + 2]! << 16;
    hash ^= mixBlock(tail);
  }
  hash ^= end - start;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash;
}

function mixBlock(block: number): number {
  block = Math.imul(block, 0xcc9e2d51);
  block = (block << 15) | (block >>> 17);
  return Math.imul(block, 0x1b873593);
}
