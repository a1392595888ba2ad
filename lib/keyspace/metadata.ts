// The value of an `M` key (docs/format.md, "Keyspace encoding"): what one
// Redis key is, when it expires, which version of its subkeys is live, how
// many elements it has, and for strings the value itself.
//
//   +-----------+---------+----------+----------------+-------------+-------------+---------+
//   | format u8 | type u8 | flags u8 | expire ms u64  | version u64 | size u64    | payload |
//   +-----------+---------+----------+----------------+-------------+-------------+---------+
//     integers big-endian; expire 0 = no expiry; for strings payload = value, size = its length
//
// A record is never modified once written (engines and batches keep
// references): every change builds a new Buffer. Accessors read a record in
// place and allocate nothing.

import { takeHeadroom } from '../format/headroom.js';
import { CorruptionError } from '../errors.js';
import { protoMaxBulkBytes, valueBytesMax } from '../limits.js';
import { assert } from '../assert.js';
import { readUint64BE, writeUint64BE } from './key-encoding.js';

/** Metadata format version written today; readers accept every listed one. */
export const metadataFormatVersion = 1;

/** Redis type of a key. On disk: never renumber. */
export const KeyType = {
  string: 1,
  hash: 2,
  list: 3,
  set: 4,
  zset: 5,
} as const;
export type KeyType = (typeof KeyType)[keyof typeof KeyType];

/** TYPE's answer per type byte. */
export const keyTypeNames: Readonly<Record<KeyType, string>> = {
  [KeyType.string]: 'string',
  [KeyType.hash]: 'hash',
  [KeyType.list]: 'list',
  [KeyType.set]: 'set',
  [KeyType.zset]: 'zset',
};

/** Flag bits of the metadata record. On disk: never renumber. */
export const MetadataFlag = {
  /** The string was edited in place (APPEND, SETRANGE, SETBIT): OBJECT ENCODING says "raw", as Redis does. */
  rawString: 0x01,
  /** The string was made from a number that Redis keeps as text (INCRBYFLOAT): never "int". */
  notIntString: 0x02,
} as const;

/** Bytes before the payload. */
export const metadataHeaderBytes = 27;

/** Offsets of the header fields. */
const offset = { format: 0, type: 1, flags: 2, expire: 3, version: 11, size: 19 } as const;

/**
 * Largest string value: Redis's proto-max-bulk-len default (512 MiB). The
 * engine's value limit leaves room for the record header in front of it.
 */
export const stringBytesMaxDefault = protoMaxBulkBytes;

assert(stringBytesMaxDefault + metadataHeaderBytes <= valueBytesMax, 'a largest string value fits in a metadata record');

// ---------------------------------------------------------------- reading

export function recordType(record: Buffer): number {
  return record[offset.type]!;
}

export function recordFlags(record: Buffer): number {
  return record[offset.flags]!;
}

/** Expiry time, ms since the epoch; 0 = none. */
export function recordExpireMs(record: Buffer): number {
  return readUint64BE(record, offset.expire);
}

export function recordVersion(record: Buffer): number {
  return readUint64BE(record, offset.version);
}

/** Strings: the value length; collections: the element count. */
export function recordSize(record: Buffer): number {
  return readUint64BE(record, offset.size);
}

/** A string's value: a view into the record (read-only, valid as long as the record). */
export function stringValue(record: Buffer): Buffer {
  return record.subarray(metadataHeaderBytes);
}

/**
 * Whether the record has expired at `nowMs`. As Redis's keyIsExpired: a key is
 * expired once the clock is strictly past its expiry time.
 */
export function isExpired(record: Buffer, nowMs: number): boolean {
  const expireMs = recordExpireMs(record);
  return expireMs !== 0 && nowMs > expireMs;
}

/**
 * Checks what a reader relies on; a record failing it is damage, not input.
 * @throws CorruptionError naming the key
 */
export function checkRecord(record: Buffer, engineKey: Buffer): void {
  const problem = recordProblem(record);
  if (problem !== undefined) {
    throw new CorruptionError('keyspace', -1, `Cannot read metadata of key ${engineKey.subarray(0, 64).toString('hex')}: ${problem}`);
  }
}

function recordProblem(record: Buffer): string | undefined {
  if (record.length < metadataHeaderBytes) return `${record.length} bytes, shorter than the ${metadataHeaderBytes}-byte header`;
  if (record[offset.format] !== metadataFormatVersion) return `unknown format version ${record[offset.format]}`;
  const type = record[offset.type]!;
  if (type < KeyType.string || type > KeyType.zset) return `unknown type ${type}`;
  if (type === KeyType.string && recordSize(record) !== record.length - metadataHeaderBytes) return 'string size does not match its value';
  return undefined;
}

// ---------------------------------------------------------------- writing

/**
 * A new record with the header written and `payloadBytes` of payload left
 * for the caller to fill (at `metadataHeaderBytes`). For strings pass the
 * value length as `size`.
 */
export function allocRecord(type: KeyType, flags: number, expireMs: number, version: number, size: number, payloadBytes: number): Buffer {
  const record = Buffer.allocUnsafe(metadataHeaderBytes + payloadBytes);
  writeHeader(record, type, flags, expireMs, version, size);
  return record;
}

function writeHeader(record: Buffer, type: KeyType, flags: number, expireMs: number, version: number, size: number): void {
  record[offset.format] = metadataFormatVersion;
  record[offset.type] = type;
  record[offset.flags] = flags;
  writeUint64BE(record, offset.expire, expireMs);
  writeUint64BE(record, offset.version, version);
  writeUint64BE(record, offset.size, size);
}

/**
 * A string record holding `value`: a copy, or, for a large value the RESP
 * decoder allocated with headroom, the value itself with the header written
 * in front of it (lib/format/headroom.ts; the value's bytes are then shared).
 */
export function stringRecord(value: Buffer, expireMs: number, version: number, flags = 0): Buffer {
  const roomy = takeHeadroom(value, metadataHeaderBytes);
  if (roomy !== undefined) {
    writeHeader(roomy, KeyType.string, flags, expireMs, version, value.length);
    return roomy;
  }
  const record = allocRecord(KeyType.string, flags, expireMs, version, value.length, value.length);
  value.copy(record, metadataHeaderBytes);
  return record;
}

/** A collection record (no payload). */
export function collectionRecord(type: KeyType, expireMs: number, version: number, size: number, flags = 0): Buffer {
  assert(type !== KeyType.string, 'a collection record is not a string');
  return allocRecord(type, flags, expireMs, version, size, 0);
}

/** A copy of `record` with another expiry time (same version, value, size). */
export function withExpire(record: Buffer, expireMs: number): Buffer {
  const copy = Buffer.allocUnsafe(record.length);
  record.copy(copy);
  writeUint64BE(copy, offset.expire, expireMs);
  return copy;
}

/** A copy of `record` with another version and expiry (RENAME, COPY, MOVE of a collection). */
export function withVersion(record: Buffer, version: number, expireMs: number): Buffer {
  const copy = withExpire(record, expireMs);
  writeUint64BE(copy, offset.version, version);
  return copy;
}

/** A copy of a collection record with another size. */
export function withSize(record: Buffer, size: number): Buffer {
  const copy = Buffer.allocUnsafe(record.length);
  record.copy(copy);
  writeUint64BE(copy, offset.size, size);
  return copy;
}

// ---------------------------------------------------------------- versions

/**
 * Versions per millisecond of wall clock. A version is `ms * 2^10 + counter`:
 * JavaScript numbers are exact below 2^53, which leaves room until the year
 * 2248 (with 2^12, as Kvrocks uses with microseconds in C++, it would run out
 * in 2039). More than 1024 versions in one millisecond simply run ahead of the
 * clock: only "never repeats, only grows" matters.
 */
export const versionsPerMs = 1024;

/**
 * Hands out collection versions that never repeat for one key: a per-process
 * counter, seeded from the wall clock, that only goes up.
 *
 * NB: after a restart the counter starts again from the clock (and from the
 * floor recorded in the `D` record). If the clock was stepped back further
 * than the floor covers, a new version could equal an old one of a deleted
 * collection whose subkeys compaction has not reclaimed yet; overwriting an
 * existing key is safe regardless, as its new version is always above the old.
 */
export class VersionClock {
  #last: number;

  constructor(floor: number) {
    this.#last = floor;
  }

  /** A version above every version handed out so far and above `atLeast`. */
  next(nowMs: number, atLeast = 0): number {
    const fromClock = nowMs * versionsPerMs;
    let version = fromClock > this.#last ? fromClock : this.#last + 1;
    if (version < atLeast) version = atLeast;
    this.#last = version;
    return version;
  }

  /** The highest version handed out (to persist as a floor). */
  get last(): number {
    return this.#last;
  }
}
