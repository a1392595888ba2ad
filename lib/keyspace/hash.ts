// Hashes in the keyspace (docs/format.md, "Keyspace encoding", "Hash"): the
// `M` record holds type 2, expiry, version and the field count; each field is
// one subkey `S | physdb | len | key | version | field` whose value is the
// field's value. A point operation (HGET, HSET, HDEL, HINCRBY ...) is one
// metadata read plus one subkey read per field and one batch: O(log N) in the
// engine, never a rewrite of the hash. HGETALL, HKEYS and HVALS walk the
// subkeys in field order, O(N); deleting or overwriting a hash is O(1) (a new
// version; compaction reclaims the old subkeys). Random picks and HSCAN are
// collection.ts's (costs there).
//
// Functions here speak the data model, not RESP: they return values or a
// small string naming what went wrong, and throw WrongTypeError for a key of
// another type. Commands are service/resp/commands/hashes.ts.

import type { Keyspace, KeyspaceContext, MaybePromise } from './keyspace.js';
import { KeyType } from './metadata.js';
import { addExtended, formatExtended, toExtended } from './long-double.js';
import { int64Max, int64Min, int64Text, normalizeInt64, parseInt64, parseLongDouble, type Int64, type LongDouble } from './numbers.js';
import {
  CollectionEdit,
  type KnownFields,
  collectFields,
  getField,
  getFields,
  loadCollection,
  randomEntries,
  type Collection,
  type CollectionEntry,
} from './collection.js';

/**
 * `key` as a hash (empty when absent or expired).
 * @throws WrongTypeError when it holds another type
 */
export function loadHash(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): Collection {
  return loadCollection(keyspace, db, key, nowMs, KeyType.hash);
}

// ---------------------------------------------------------------- reading

/** HGET: the value of `field`, or undefined. O(log N). */
export function hashGet(keyspace: Keyspace, db: number, key: Buffer, field: Buffer, nowMs: number): Buffer | undefined {
  return getField(keyspace, loadHash(keyspace, db, key, nowMs), field);
}

/** HMGET: the value of each field (undefined when absent). O(K log N); many fields in slices at a snapshot (getFields). */
export function hashGetMany(keyspace: Keyspace, db: number, key: Buffer, fields: readonly Buffer[], nowMs: number): MaybePromise<(Buffer | undefined)[]> {
  return getFields(keyspace, loadHash(keyspace, db, key, nowMs), fields);
}

/** HLEN: the number of fields (from the metadata). O(1). */
export function hashLength(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): number {
  return loadHash(keyspace, db, key, nowMs).size;
}

/** HGETALL, HKEYS, HVALS: every field and value, in field order. O(N). */
export function hashEntries(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): MaybePromise<CollectionEntry[]> {
  return collectFields(keyspace, loadHash(keyspace, db, key, nowMs));
}

/**
 * HRANDFIELD: `count` fields picked at random, distinct or with repetition
 * (collection.ts, randomEntries: exact for small hashes, sampled by seeking
 * for large ones).
 */
export function hashRandomFields(keyspace: Keyspace, db: number, key: Buffer, nowMs: number, count: number, distinct: boolean): MaybePromise<CollectionEntry[]> {
  return randomEntries(keyspace, loadHash(keyspace, db, key, nowMs), count, distinct);
}


// ---------------------------------------------------------------- writing

/**
 * HSET/HMSET (and HSETNX with `onlyNew`): sets each field, value pair of
 * `pairs` (field, value, field, value ...) in one batch; a field named twice
 * takes its last value. With `onlyNew`, fields that exist keep their value.
 * @returns the number of fields added
 */
export function hashSet(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, pairs: readonly Buffer[], onlyNew = false, known?: KnownFields): number {
  const edit = new CollectionEdit(keyspace, loadHash(keyspace, ctx.db, key, ctx.nowMs), ctx.nowMs, known);
  let added = 0;
  for (let index = 0; index + 1 < pairs.length; index += 2) {
    const field = pairs[index]!;
    if (onlyNew && edit.get(field) !== undefined) continue;
    if (edit.put(field, pairs[index + 1]!)) added++;
  }
  commitEdit(keyspace, ctx, edit);
  return added;
}

/** HDEL: removes the fields; an emptied hash is deleted. @returns the number removed */
export function hashDelete(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, fields: readonly Buffer[], known?: KnownFields): number {
  const hash = loadHash(keyspace, ctx.db, key, ctx.nowMs);
  if (hash.record === undefined) return 0;
  const edit = new CollectionEdit(keyspace, hash, ctx.nowMs, known);
  let removed = 0;
  for (const field of fields) if (edit.delete(field)) removed++;
  commitEdit(keyspace, ctx, edit);
  return removed;
}

/** What HINCRBY answers: the new value, or why there is none. */
export type HashIncrResult = Int64 | 'not-integer' | 'overflow';

/**
 * HINCRBY: adds `increment` to the field's integer value (0 when absent),
 * within 64 bits, and stores it as text.
 * @returns the new value, 'not-integer' when the stored value is not an integer, 'overflow'
 */
export function hashIncrBy(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, field: Buffer, increment: Int64): HashIncrResult {
  const edit = new CollectionEdit(keyspace, loadHash(keyspace, ctx.db, key, ctx.nowMs), ctx.nowMs);
  const stored = edit.get(field);
  const current = stored === undefined ? 0 : parseInt64(stored);
  if (current === undefined) return 'not-integer';
  const sum = BigInt(current) + BigInt(increment);
  if (sum > int64Max || sum < int64Min) return 'overflow';
  const value = normalizeInt64(sum);
  edit.put(field, Buffer.from(int64Text(value), 'latin1'));
  commitEdit(keyspace, ctx, edit);
  return value;
}

/** What HINCRBYFLOAT answers: the new value's text, or why there is none. */
export type HashIncrFloatResult = { text: string } | 'not-float' | 'nan-or-infinity';

/**
 * HINCRBYFLOAT: adds `increment` to the field's float value (0 when absent)
 * in x87 long double precision, as Redis does (long-double.ts), and stores
 * the sum as Redis's human-friendly text ("%.17Lf", trailing zeros removed).
 * A stored value strtold reads as out of range (9e4932) is not a float; a
 * stored "inf" is one, and makes the sum infinite.
 * @returns the new text, 'not-float' when the stored value is not a float, 'nan-or-infinity' when the sum is not finite
 */
export function hashIncrByFloat(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, field: Buffer, increment: LongDouble): HashIncrFloatResult {
  const edit = new CollectionEdit(keyspace, loadHash(keyspace, ctx.db, key, ctx.nowMs), ctx.nowMs);
  const stored = edit.get(field);
  const current = stored === undefined ? zero : parseLongDouble(stored);
  if (current === undefined) return 'not-float';
  if (isInfinite(current) || isInfinite(increment)) return 'nan-or-infinity';
  const augend = toExtended(current);
  if (augend === undefined) return 'not-float';
  const addend = toExtended(increment);
  const sum = addend === undefined ? undefined : addExtended(augend, addend);
  if (sum === undefined) return 'nan-or-infinity';
  const text = formatExtended(sum);
  edit.put(field, Buffer.from(text, 'latin1'));
  commitEdit(keyspace, ctx, edit);
  return { text };
}

const zero: LongDouble = { kind: 'decimal', mantissa: 0n, scale: 0 };

function isInfinite(value: LongDouble): boolean {
  return value.kind === 'double' && !Number.isFinite(value.value);
}

/** Stages one edit and commits it (nothing is written when nothing changed). */
function commitEdit(keyspace: Keyspace, ctx: KeyspaceContext, edit: CollectionEdit): void {
  if (!edit.changed) return;
  const batch = keyspace.begin();
  edit.stage(batch);
  keyspace.commit(ctx, batch);
}
