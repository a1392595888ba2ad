// Engine keys of the Redis data model (docs/format.md, "Keyspace encoding").
//
// One ordered engine key space holds every Redis database; a leading tag byte
// (an ASCII letter, so dumps stay readable) says what a key is:
//
//   D                                                   -> database table
//   C | physdb u32                                      -> per-db counters
//   E | expire ms u64 | physdb u32 | user key           -> (empty) expiry index
//   M | physdb u32 | user key                           -> metadata (+ string value)
//   S | physdb u32 | key length u32 | user key | version u64 | field    -> subkey value
//   Z | physdb u32 | key length u32 | user key | version u64 | score f64 | member -> (empty)
//   B | physdb u32 | key length u32 | user key | version u64          -> (empty) build marker
//
// Every integer in a keyspace key is big-endian, so that byte order is numeric
// order: all keys of one physical db are contiguous, the expiry index sorts by
// time, and a collection's subkeys sort after its (length-prefixed) key, never
// interleaved with a longer key's. Scores use the order-preserving double
// encoding below. Tags reach the disk: never renumber them.
//
// Invariants: encode and decode are exact inverses (test/unit/keyspace/
// key-encoding.test.ts checks round trips and ordering with fast-check).
// Returned Buffers are new allocations owned by the caller, except decoded
// parts (userKey, field, member), which are views into the given key.

import { CorruptionError } from '../errors.js';

/** Leading byte of every keyspace engine key. On disk: never renumber. */
export const KeyTag = {
  /**
   * `B`: a collection version being written ahead of its metadata (build.ts): its subkeys are kept by
   * the compaction filter although no metadata names them yet.
   */
  build: 0x42,
  /** `C`: exact per-physical-db key and expiry counters. */
  counters: 0x43,
  /** `D`: the database table (logical db -> physical db). */
  dbTable: 0x44,
  /** `E`: expiry index, ordered by expiry time. */
  expiry: 0x45,
  /** `M`: metadata of one Redis key (type, expiry, version, size, string value). */
  metadata: 0x4d,
  /** `S`: one subkey of a collection (hash field, set member, list element). */
  subkey: 0x53,
  /** `Z`: sorted-set score index entry. */
  score: 0x5a,
} as const;

/** Largest physical database id (u32). */
export const physicalDbMax = 0xffff_ffff;

const two32 = 0x1_0000_0000;

/** The one `D` key. Shared and never modified: do not write into it. */
export const dbTableKey: Buffer = Buffer.from([KeyTag.dbTable]);

// ---------------------------------------------------------------- integers

// NB: byte operations, not Buffer#writeUInt32BE/readUInt32BE: those shared
// helpers see every kind of buffer in the process (pooled, shared memory,
// plain Uint8Array) and their checks and polymorphic accesses made a
// measurable part of each command's key building.

/** Writes `value` (0 <= value < 2^32) as u32 big-endian at `offset`. */
function putU32BE(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value >>> 24;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/** The u32 big-endian at `offset`. @throws RangeError past the end, as readUInt32BE does */
function getU32BE(source: Uint8Array, offset: number): number {
  if (!(offset >= 0 && offset + 4 <= source.length)) throw new RangeError(`Cannot read 4 bytes at offset ${offset} of ${source.length}`);
  return source[offset]! * 0x100_0000 + ((source[offset + 1]! << 16) | (source[offset + 2]! << 8) | source[offset + 3]!);
}


/**
 * Writes a non-negative integer as u64 big-endian. Exact below 2^53; larger
 * values (far-future expiry times) are written as the nearest double allows.
 */
export function writeUint64BE(target: Buffer, offset: number, value: number): void {
  const high = Math.floor(value / two32);
  putU32BE(target, offset, high >>> 0);
  putU32BE(target, offset + 4, value - high * two32);
}

/** Reads a u64 big-endian as a number (exact below 2^53). */
export function readUint64BE(source: Buffer, offset: number): number {
  return getU32BE(source, offset) * two32 + getU32BE(source, offset + 4);
}

// ---------------------------------------------------------------- D and C

/** `C | physdb`: the counters key of a physical db. */
export function counterKey(physDb: number): Buffer {
  const key = Buffer.allocUnsafe(5);
  key[0] = KeyTag.counters;
  putU32BE(key, 1, physDb);
  return key;
}

/** The physical db of a `C` key. @throws CorruptionError when malformed */
export function decodeCounterKey(key: Buffer): number {
  if (key.length !== 5 || key[0] !== KeyTag.counters) throw malformed('counter', key);
  return getU32BE(key, 1);
}

// ---------------------------------------------------------------- M

/** Bytes before the user key in an `M` key. */
export const metadataKeyPrefixBytes = 5;

/** `M | physdb | user key`. */
export function metadataKey(physDb: number, userKey: Buffer): Buffer {
  const key = Buffer.allocUnsafe(metadataKeyPrefixBytes + userKey.length);
  key[0] = KeyTag.metadata;
  putU32BE(key, 1, physDb);
  userKey.copy(key, metadataKeyPrefixBytes);
  return key;
}

/** `M | physdb`: the prefix of every metadata key of a physical db. */
export function metadataPrefix(physDb: number): Buffer {
  const prefix = Buffer.allocUnsafe(metadataKeyPrefixBytes);
  prefix[0] = KeyTag.metadata;
  putU32BE(prefix, 1, physDb);
  return prefix;
}

export interface DecodedMetadataKey {
  physDb: number;
  /** View into the given key. */
  userKey: Buffer;
}

/** Splits an `M` key. @throws CorruptionError when malformed */
export function decodeMetadataKey(key: Buffer): DecodedMetadataKey {
  if (key.length < metadataKeyPrefixBytes || key[0] !== KeyTag.metadata) throw malformed('metadata', key);
  return { physDb: getU32BE(key, 1), userKey: key.subarray(metadataKeyPrefixBytes) };
}

// ---------------------------------------------------------------- S and Z

/** Bytes of `tag | physdb | key length` before the user key of an `S` or `Z` key. */
const collectionHeaderBytes = 9;

/**
 * `S | physdb | len | user key | version`: the prefix shared by every subkey of
 * one version of a collection (iterate [prefix, prefixEnd(prefix)) to list them).
 */
export function subkeyPrefix(physDb: number, userKey: Buffer, version: number): Buffer {
  return collectionPrefix(KeyTag.subkey, physDb, userKey, version, 0);
}

/** `S | physdb | len | user key | version | field`. */
export function subkey(physDb: number, userKey: Buffer, version: number, field: Buffer): Buffer {
  const key = collectionPrefix(KeyTag.subkey, physDb, userKey, version, field.length);
  field.copy(key, key.length - field.length);
  return key;
}

export interface DecodedSubkey {
  physDb: number;
  /** View into the given key. */
  userKey: Buffer;
  version: number;
  /** View into the given key. */
  field: Buffer;
}

/** Splits an `S` key. @throws CorruptionError when malformed */
export function decodeSubkey(key: Buffer): DecodedSubkey {
  if (key[0] !== KeyTag.subkey) throw malformed('subkey', key);
  const { physDb, userKey, version, rest } = decodeCollectionKey(key, 'subkey');
  return { physDb, userKey, version, field: rest };
}

/** `Z | physdb | len | user key | version`: the prefix of one sorted set's score index. */
export function scorePrefix(physDb: number, userKey: Buffer, version: number): Buffer {
  return collectionPrefix(KeyTag.score, physDb, userKey, version, 0);
}

/** `Z | physdb | len | user key | version | score | member`. */
export function scoreKey(physDb: number, userKey: Buffer, version: number, score: number, member: Buffer): Buffer {
  const key = collectionPrefix(KeyTag.score, physDb, userKey, version, 8 + member.length);
  const scoreOffset = key.length - member.length - 8;
  encodeOrderedDouble(score, key, scoreOffset);
  member.copy(key, scoreOffset + 8);
  return key;
}

export interface DecodedScoreKey {
  physDb: number;
  /** View into the given key. */
  userKey: Buffer;
  version: number;
  score: number;
  /** View into the given key. */
  member: Buffer;
}

/** Splits a `Z` key. @throws CorruptionError when malformed */
export function decodeScoreKey(key: Buffer): DecodedScoreKey {
  if (key[0] !== KeyTag.score) throw malformed('score', key);
  const { physDb, userKey, version, rest } = decodeCollectionKey(key, 'score');
  if (rest.length < 8) throw malformed('score', key);
  return { physDb, userKey, version, score: decodeOrderedDouble(rest, 0), member: rest.subarray(8) };
}

/**
 * `B | physdb | len | user key | version`: the build marker of one version of
 * a collection (build.ts): the key of that version's subkey prefix under tag `B`.
 */
export function buildMarkerKey(physDb: number, userKey: Buffer, version: number): Buffer {
  return collectionPrefix(KeyTag.build, physDb, userKey, version, 0);
}

/**
 * A build marker's value: empty while its build may still publish the
 * version (its entries are kept), this once the build is abandoned (its
 * entries are dead, and the marker goes once they are gone: build.ts).
 */
export const buildAbandoned: Buffer = Buffer.from([1]);

/**
 * The build marker of the version an `S` or `Z` key carries (buildMarkerKey),
 * for the compaction filter.
 * @throws CorruptionError when malformed
 */
export function buildMarkerOf(key: Buffer): Buffer {
  const { userKey } = decodeCollectionKey(key, key[0] === KeyTag.score ? 'score' : 'subkey');
  const marker = Buffer.from(key.subarray(0, collectionHeaderBytes + userKey.length + 8));
  marker[0] = KeyTag.build;
  return marker;
}

/**
 * Where the version ends in an `S`, `Z` or `B` key (the length of the prefix
 * its version's keys share), or undefined when the key is too short for its
 * key length: cheap, for the compaction filter's grouping.
 */
export function collectionVersionEnd(key: Buffer): number | undefined {
  if (key.length < collectionHeaderBytes + 8) return undefined;
  const end = collectionHeaderBytes + getU32BE(key, 5) + 8;
  return end <= key.length ? end : undefined;
}

/** Splits a `B` key. @throws CorruptionError when malformed */
export function decodeBuildMarker(key: Buffer): { physDb: number; userKey: Buffer; version: number } {
  if (key[0] !== KeyTag.build) throw malformed('build marker', key);
  const { physDb, userKey, version, rest } = decodeCollectionKey(key, 'build marker');
  if (rest.length !== 0) throw malformed('build marker', key);
  return { physDb, userKey, version };
}

/**
 * The metadata key an `S` or `Z` key belongs to (`M | physdb | user key`) and
 * the version it carries, for the compaction filter.
 * @throws CorruptionError when malformed
 */
export function ownerOfCollectionKey(key: Buffer): { metadataKey: Buffer; version: number } {
  const { physDb, userKey, version } = decodeCollectionKey(key, key[0] === KeyTag.score ? 'score' : 'subkey');
  return { metadataKey: metadataKey(physDb, userKey), version };
}

function collectionPrefix(tag: number, physDb: number, userKey: Buffer, version: number, extraBytes: number): Buffer {
  const key = Buffer.allocUnsafe(collectionHeaderBytes + userKey.length + 8 + extraBytes);
  key[0] = tag;
  putU32BE(key, 1, physDb);
  putU32BE(key, 5, userKey.length);
  userKey.copy(key, collectionHeaderBytes);
  writeUint64BE(key, collectionHeaderBytes + userKey.length, version);
  return key;
}

function decodeCollectionKey(key: Buffer, kind: string): { physDb: number; userKey: Buffer; version: number; rest: Buffer } {
  if (key.length < collectionHeaderBytes + 8) throw malformed(kind, key);
  const keyLength = getU32BE(key, 5);
  const versionOffset = collectionHeaderBytes + keyLength;
  if (versionOffset + 8 > key.length) throw malformed(kind, key);
  return {
    physDb: getU32BE(key, 1),
    userKey: key.subarray(collectionHeaderBytes, versionOffset),
    version: readUint64BE(key, versionOffset),
    rest: key.subarray(versionOffset + 8),
  };
}

// ---------------------------------------------------------------- E

/** Bytes before the user key in an `E` key. */
export const expiryKeyPrefixBytes = 13;

/** `E | expire ms | physdb | user key`. */
export function expiryKey(expireMs: number, physDb: number, userKey: Buffer): Buffer {
  const key = Buffer.allocUnsafe(expiryKeyPrefixBytes + userKey.length);
  key[0] = KeyTag.expiry;
  writeUint64BE(key, 1, expireMs);
  putU32BE(key, 9, physDb);
  userKey.copy(key, expiryKeyPrefixBytes);
  return key;
}

/** `E | expire ms`: every expiry entry due strictly before `expireMs` sorts below this key. */
export function expiryBound(expireMs: number): Buffer {
  const key = Buffer.allocUnsafe(9);
  key[0] = KeyTag.expiry;
  writeUint64BE(key, 1, expireMs);
  return key;
}

export interface DecodedExpiryKey {
  expireMs: number;
  physDb: number;
  /** View into the given key. */
  userKey: Buffer;
}

/** Splits an `E` key. @throws CorruptionError when malformed */
export function decodeExpiryKey(key: Buffer): DecodedExpiryKey {
  if (key.length < expiryKeyPrefixBytes || key[0] !== KeyTag.expiry) throw malformed('expiry', key);
  return { expireMs: readUint64BE(key, 1), physDb: getU32BE(key, 9), userKey: key.subarray(expiryKeyPrefixBytes) };
}

// ---------------------------------------------------------------- ranges

/** The one-byte prefix of every key with `tag`. */
export function tagPrefix(tag: number): Buffer {
  return Buffer.from([tag]);
}

/**
 * The smallest key greater than every key that starts with `prefix` (the
 * exclusive upper bound of a prefix scan), or undefined when there is none
 * (the prefix is all 0xff bytes).
 */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  for (let index = prefix.length - 1; index >= 0; index--) {
    if (prefix[index] !== 0xff) {
      const end = Buffer.from(prefix.subarray(0, index + 1));
      end[index]! += 1;
      return end;
    }
  }
  return undefined;
}

/** `[gte, lt)` bounds of a prefix scan, for Engine.iterator(). */
export function prefixRange(prefix: Buffer): { gte: Buffer; lt?: Buffer } {
  const end = prefixEnd(prefix);
  return end === undefined ? { gte: prefix } : { gte: prefix, lt: end };
}

// ---------------------------------------------------------------- scores

const doubleScratch = new DataView(new ArrayBuffer(8));

/**
 * Writes `value` as 8 bytes whose unsigned byte order is the numeric order:
 * the IEEE 754 bits big-endian, with the sign bit flipped for positives and
 * every bit flipped for negatives. -0 is written as +0 (Redis treats them as
 * equal). NaN is refused: Redis scores are never NaN.
 * @throws RangeError for NaN
 */
export function encodeOrderedDouble(value: number, target: Buffer, offset: number): void {
  if (Number.isNaN(value)) throw new RangeError('Cannot encode NaN as an ordered double');
  doubleScratch.setFloat64(0, value === 0 ? 0 : value);
  let high = doubleScratch.getUint32(0);
  let low = doubleScratch.getUint32(4);
  if (high >>> 31 === 0) {
    high = (high | 0x8000_0000) >>> 0;
  } else {
    high = ~high >>> 0;
    low = ~low >>> 0;
  }
  putU32BE(target, offset, high);
  putU32BE(target, offset + 4, low);
}

/** Inverse of encodeOrderedDouble(). */
export function decodeOrderedDouble(source: Buffer, offset: number): number {
  let high = getU32BE(source, offset);
  let low = getU32BE(source, offset + 4);
  if (high >>> 31 === 1) {
    high = (high & 0x7fff_ffff) >>> 0;
  } else {
    high = ~high >>> 0;
    low = ~low >>> 0;
  }
  doubleScratch.setUint32(0, high);
  doubleScratch.setUint32(4, low);
  return doubleScratch.getFloat64(0);
}

// ---------------------------------------------------------------- errors

function malformed(kind: string, key: Buffer): CorruptionError {
  return new CorruptionError('keyspace', -1, `Cannot decode ${kind} key ${key.subarray(0, 32).toString('hex')}: malformed`);
}
