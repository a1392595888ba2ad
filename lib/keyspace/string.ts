// Strings in the keyspace: the value lives inline in the `M` record
// (metadata.ts), so GET is one point read and SET one put. This module holds
// what string commands share: reading a string with the type check, building
// string records, and OBJECT ENCODING's answer.

import { WrongTypeError } from '../errors.js';
import type { Keyspace, StoredKey } from './keyspace.js';
import { KeyType, MetadataFlag, recordFlags, recordType, stringRecord, stringValue } from './metadata.js';
import { parseInt64 } from './numbers.js';

/** Longest string Redis stores as an embedded string (OBJ_ENCODING_EMBSTR_SIZE_LIMIT). */
const embstrBytesMax = 44;

/** Longest integer text Redis stores int-encoded. */
const intTextBytesMax = 20;

/**
 * The value of a live string record, or undefined when there is none.
 * @throws WrongTypeError when the key holds another type
 */
export function stringOf(record: Buffer | undefined): Buffer | undefined {
  if (record === undefined) return undefined;
  if (recordType(record) !== KeyType.string) throw new WrongTypeError();
  return stringValue(record);
}

/**
 * The string value of `key` in `db` at `nowMs` (a read-only view), or undefined.
 * @throws WrongTypeError when the key holds another type
 */
export function readString(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): Buffer | undefined {
  return stringOf(keyspace.lookup(db, key, nowMs));
}

/**
 * A record holding `value` to replace `target` (a new version, above the old
 * record's).
 */
export function newStringRecord(keyspace: Keyspace, target: StoredKey, value: Buffer, expireMs: number, nowMs: number, flags = 0): Buffer {
  return stringRecord(value, expireMs, keyspace.newVersion(nowMs, target.stored), flags);
}

/**
 * OBJECT ENCODING of a string record, as Redis would have encoded it:
 * "int" for a short integer, "embstr" up to 44 bytes, else "raw"; strings
 * edited in place (APPEND, SETRANGE, SETBIT) are "raw", as in Redis.
 */
export function stringEncoding(record: Buffer): 'int' | 'embstr' | 'raw' {
  const flags = recordFlags(record);
  if ((flags & MetadataFlag.rawString) !== 0) return 'raw';
  const value = stringValue(record);
  if ((flags & MetadataFlag.notIntString) === 0 && value.length <= intTextBytesMax && parseInt64(value) !== undefined) return 'int';
  return value.length <= embstrBytesMax ? 'embstr' : 'raw';
}
