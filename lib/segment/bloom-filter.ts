// The segment's Bloom filter over user keys (docs/format.md, "Segment files",
// "Filter block"), LevelDB's built-in filter byte for byte:
//
//   filter = bit array (n bytes, bit i is byte i >> 3, mask 1 << (i & 7)) | k u8
//
// One filter covers the whole segment. It is built over USER keys (the
// internal key's trailer stripped, as LevelDB's InternalFilterPolicy does), so
// a lookup at any sequence number can ask it; consecutive versions of one user
// key are added once. Probes use double hashing (Kirsch and Mitzenmacher):
// h = hash(key), delta = h rotated right by 17 bits, probe j tests bit
// (h + j * delta) mod 2^32 mod bitCount. hash is LevelDB's Hash (a
// murmur-like 32-bit hash) with seed 0xbc9f1d34; it is deterministic and part
// of the format. An empty filter (bits per key 0) matches every key.

import { assert } from '../assert.js';
import { CorruptionError } from '../errors.js';
import { bloomProbesMax } from './segment-format.js';

/** Seed of the filter hash: LevelDB's BloomHash seed. Part of the format. */
export const bloomHashSeed = 0xbc9f1d34;

/** Fewest bits in a non-empty filter: small key counts would otherwise see high false-positive rates. */
const bloomBitsMin = 64;

const hashMultiplier = 0xc6a4a793;
const twoPow32 = 0x1_0000_0000;

/**
 * LevelDB's Hash (util/hash.cc) of `data[start, end)`: 32-bit words little-endian,
 * multiply by 0xc6a4a793, xor-shift. Bytes are unsigned.
 * @returns an unsigned 32-bit hash
 */
export function leveldbHash(data: Uint8Array, start: number, end: number, seed: number): number {
  let h = (seed ^ Math.imul(end - start, hashMultiplier)) | 0;
  let index = start;
  for (; index + 4 <= end; index += 4) {
    const word = data[index]! | (data[index + 1]! << 8) | (data[index + 2]! << 16) | (data[index + 3]! << 24);
    h = Math.imul((h + word) | 0, hashMultiplier);
    h ^= h >>> 16;
  }
  const rest = end - index;
  if (rest > 0) {
    if (rest === 3) h = (h + (data[index + 2]! << 16)) | 0;
    if (rest >= 2) h = (h + (data[index + 1]! << 8)) | 0;
    h = Math.imul((h + data[index]!) | 0, hashMultiplier);
    h ^= h >>> 24;
  }
  return h >>> 0;
}

/** The filter hash of a user key. */
export function bloomHash(userKey: Uint8Array): number {
  return leveldbHash(userKey, 0, userKey.length, bloomHashSeed);
}

/** Probes per key for `bitsPerKey`: bitsPerKey * ln 2 rounded down, within 1..30, as LevelDB. */
export function bloomProbeCount(bitsPerKey: number): number {
  return Math.min(bloomProbesMax, Math.max(1, Math.floor(bitsPerKey * 0.69)));
}

/** Collects key hashes while a segment is written, then lays out the filter. */
export class BloomFilterBuilder {
  readonly #bitsPerKey: number;
  /** The keys' hashes, #count of them (a typed array: a number[] boxes each hash past 2^31). */
  #hashes = new Uint32Array(1024);
  #count = 0;

  /** @param bitsPerKey filter bits per distinct user key; 0 builds an empty filter */
  constructor(bitsPerKey: number) {
    assert(Number.isSafeInteger(bitsPerKey) && bitsPerKey >= 0, 'bloom bits per key is a non-negative integer');
    this.#bitsPerKey = bitsPerKey;
  }

  /** Distinct user keys added. */
  get keyCount(): number {
    return this.#count;
  }

  /**
   * Adds one user key, `key[0, end)`; the caller adds each distinct user key once. The key is not kept.
   * @param end where the user key ends (an internal key's length minus its trailer); default the whole buffer
   */
  addKey(key: Uint8Array, end = key.length): void {
    if (this.#bitsPerKey === 0) return;
    if (this.#count === this.#hashes.length) {
      const grown = new Uint32Array(2 * this.#count);
      grown.set(this.#hashes);
      this.#hashes = grown;
    }
    this.#hashes[this.#count++] = leveldbHash(key, 0, end, bloomHashSeed);
  }

  /** Size of the finished filter, bytes. */
  estimatedBytes(): number {
    if (this.#bitsPerKey === 0) return 0;
    return Math.ceil(Math.max(bloomBitsMin, this.#count * this.#bitsPerKey) / 8) + 1;
  }

  /** @returns the filter bytes (a new buffer): bit array then k, or empty when bits per key is 0 */
  finish(): Buffer {
    if (this.#bitsPerKey === 0) return Buffer.alloc(0);
    const byteCount = this.estimatedBytes() - 1;
    const bitCount = byteCount * 8;
    assert(bitCount <= 0xffff_ffff, 'filter bit positions fit 32 bits');
    const probeCount = bloomProbeCount(this.#bitsPerKey);
    const filter = Buffer.alloc(byteCount + 1);
    filter[byteCount] = probeCount;
    const hashes = this.#hashes;
    const wrapShift = twoPow32 % bitCount;
    for (let index = 0; index < this.#count; index++) setProbes(filter, bitCount, wrapShift, probeCount, hashes[index]!);
    return filter;
  }
}

/** A parsed filter: answers "may this segment hold the user key?". Immutable. */
export class BloomFilter {
  readonly #bits: Buffer;
  readonly #bitCount: number;
  readonly #probeCount: number;
  /** 2^32 mod bitCount: what a probe hash wrapping past 2^32 takes off its bit position. */
  readonly #wrapShift: number;

  private constructor(bits: Buffer, probeCount: number) {
    this.#bits = bits;
    this.#bitCount = bits.length * 8;
    this.#probeCount = probeCount;
    this.#wrapShift = this.#bitCount === 0 ? 0 : twoPow32 % this.#bitCount;
  }

  /** Bytes of the bit array. */
  get byteLength(): number {
    return this.#bits.length;
  }

  /**
   * Parses filter block contents.
   * @param file, blockOffset where the filter block is, for error messages
   * @throws CorruptionError when the probe count is impossible
   */
  static parse(contents: Buffer, file: string, blockOffset: number): BloomFilter {
    if (contents.length === 0) return new BloomFilter(contents, 0);
    const probeCount = contents[contents.length - 1]!;
    const bits = contents.subarray(0, contents.length - 1);
    const problem = filterProblem(bits.length, probeCount);
    if (problem !== undefined) {
      throw new CorruptionError(file, blockOffset, `Cannot read segment filter block in "${file}" at offset ${blockOffset}: ${problem}`);
    }
    return new BloomFilter(bits, probeCount);
  }

  /** True for an empty filter (written with 0 bits per key): every key may match. */
  get isEmpty(): boolean {
    return this.#probeCount === 0;
  }

  /** Probes per key (k). */
  get probeCount(): number {
    return this.#probeCount;
  }

  /** False only when the segment certainly holds no version of `userKey`. */
  mayContain(userKey: Uint8Array): boolean {
    return this.#probeCount === 0 || this.mayContainHash(bloomHash(userKey));
  }

  /**
   * mayContain() for a key whose bloomHash() the caller computed: a point lookup hashes
   * its key once and probes the filter of every segment it visits with it.
   */
  mayContainHash(keyHash: number): boolean {
    if (this.#probeCount === 0) return true;
    const bits = this.#bits;
    const bitCount = this.#bitCount;
    const wrapShift = this.#wrapShift;
    // The probes of setProbes(), with the position carried along instead of recomputed: `%` on
    // values past 2^31 is a floating-point remainder in V8, several times slower than these adds.
    let hash = keyHash;
    const delta = ((hash >>> 17) | (hash << 15)) >>> 0;
    const step = delta % bitCount;
    let position = hash % bitCount;
    for (let probe = 0; probe < this.#probeCount; probe++) {
      if ((bits[position >>> 3]! & (1 << (position & 7))) === 0) return false;
      // hash + delta mod 2^32, and its position mod bitCount.
      hash += delta;
      position += step;
      if (hash >= twoPow32) {
        hash -= twoPow32;
        position -= wrapShift;
      }
      if (position < 0) position += bitCount;
      else if (position >= bitCount) position -= bitCount;
    }
    return true;
  }
}

/** Why a filter of `bitBytes` bytes with `probeCount` probes is impossible, or undefined. */
function filterProblem(bitBytes: number, probeCount: number): string | undefined {
  if (probeCount < 1 || probeCount > bloomProbesMax) return `probe count ${probeCount} is outside 1..${bloomProbesMax}`;
  if (bitBytes * 8 < bloomBitsMin) return `bit array of ${bitBytes} bytes is shorter than ${bloomBitsMin / 8}`;
  return undefined;
}

/** Sets the bits of one key's probes: mayContainHash()'s walk, with the same carried position. */
function setProbes(filter: Buffer, bitCount: number, wrapShift: number, probeCount: number, firstHash: number): void {
  let hash = firstHash;
  const delta = ((hash >>> 17) | (hash << 15)) >>> 0;
  const step = delta % bitCount;
  let position = hash % bitCount;
  for (let probe = 0; probe < probeCount; probe++) {
    filter[position >>> 3]! |= 1 << (position & 7);
    hash += delta;
    position += step;
    if (hash >= twoPow32) {
      hash -= twoPow32;
      position -= wrapShift;
    }
    if (position < 0) position += bitCount;
    else if (position >= bitCount) position -= bitCount;
  }
}
