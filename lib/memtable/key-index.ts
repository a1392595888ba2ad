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

import { randomInt } from 'node:crypto';
import { assert } from '../assert.js';

/** No anchor in this bucket. */
const emptyBucket = -1;
const initialBuckets = 64;
/** Buckets are at most this full (then the table doubles). */
const loadFactorMax = 0.5;
/** 2^29 buckets: an Int32Array of 2^30 entries (4 GiB), room for 2^28 keys. */
const bucketsMax = 2 ** 29;

export class KeyIndex {
  readonly #seed = randomInt(0, 2 ** 32 - 1);
  /** Pairs: [2i] hash, [2i + 1] anchor or emptyBucket. */
  #table = newTable(initialBuckets);
  #mask = initialBuckets - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The hash of `key[start, end)` for find() and insert(). */
  hash(key: Uint8Array, start: number, end: number): number {
    return hashBytes(key, start, end, this.#seed);
  }

  /**
   * The anchor of `key[start, end)` (whose hash is `hash`), or -1.
   * @param keys the stored key of each anchor, indexed by anchor
   */
  find(key: Uint8Array, start: number, end: number, hash: number, keys: readonly string[]): number {
    const table = this.#table;
    const mask = this.#mask;
    for (let bucket = hash & mask; ; bucket = (bucket + 1) & mask) {
      const anchor = table[2 * bucket + 1]!;
      if (anchor === emptyBucket) return -1;
      if (table[2 * bucket] === hash && bytesMatch(keys[anchor]!, key, start, end)) return anchor;
    }
  }

  /** Adds a key known to be absent, with its hash and anchor. */
  insert(hash: number, anchor: number): void {
    assert(anchor >= 0, 'anchors are row numbers');
    if (this.#size + 1 > (this.#mask + 1) * loadFactorMax) this.#grow();
    place(this.#table, this.#mask, hash, anchor);
    this.#size++;
  }

  /** Every anchor, in table order. */
  *anchors(): Generator<number> {
    const table = this.#table;
    for (let bucket = 0; bucket <= this.#mask; bucket++) {
      const anchor = table[2 * bucket + 1]!;
      if (anchor !== emptyBucket) yield anchor;
    }
  }

  #grow(): void {
    const buckets = (this.#mask + 1) * 2;
    assert(buckets <= bucketsMax, 'the key index fits an Int32Array');
    const old = this.#table;
    const table = newTable(buckets);
    const mask = buckets - 1;
    for (let bucket = 0; bucket < old.length / 2; bucket++) {
      const anchor = old[2 * bucket + 1]!;
      if (anchor !== emptyBucket) place(table, mask, old[2 * bucket]!, anchor);
    }
    this.#table = table;
    this.#mask = mask;
  }
}

function newTable(buckets: number): Int32Array {
  const table = new Int32Array(2 * buckets);
  for (let bucket = 0; bucket < buckets; bucket++) table[2 * bucket + 1] = emptyBucket;
  return table;
}

function place(table: Int32Array, mask: number, hash: number, anchor: number): void {
  let bucket = hash & mask;
  while (table[2 * bucket + 1] !== emptyBucket) bucket = (bucket + 1) & mask;
  table[2 * bucket] = hash;
  table[2 * bucket + 1] = anchor;
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
