// Hash commands (redis/redis src/t_hash.c, and db.c for HSCAN): HSET HSETNX
// HGET HMGET HMSET HDEL HEXISTS HLEN HSTRLEN HKEYS HVALS HGETALL HINCRBY
// HINCRBYFLOAT HRANDFIELD HSCAN.
//
// The data model is lib/keyspace/hash.ts (one subkey per field, the field
// count in the metadata); costs per command are in each spec's complexity
// and in docs/commands.md, "Hashes". Errors are worded, and checked in the
// order, as Redis 7 does; NOVALUES is HSCAN's as in Redis 7.4.
//
// Also exported for sets.ts (and the other collection families): the
// argument parsers the random-pick and SCAN commands share.

import { int64Max, parseInt64, parseLong, parseLongDouble, type Int64 } from '../../../lib/keyspace/numbers.js';
import { toExtended } from '../../../lib/keyspace/long-double.js';
import { hashDelete, hashEntries, hashGet, hashGetMany, hashIncrBy, hashIncrByFloat, hashLength, hashRandomFields, hashSet, loadHash } from '../../../lib/keyspace/hash.js';
import { parseScanCursor, randomPickCountMax, readFields, scanCollection, andThen, type CollectionEntry, type CollectionScanResult, type KnownFields } from '../../../lib/keyspace/collection.js';
import type { MaybePromise } from '../../../lib/keyspace/keyspace.js';
import { keyedReply, snapshotReply, type CommandContext, type CommandFlag, type CommandHandler, type CommandSpec } from '../command.js';
import { ErrorReply, MapReply, OK, errors, type Reply } from '../reply.js';
import { isWord, keyed, spec } from './strings.js';

/** Error replies of the collection families, worded as Redis words them. */
export const collectionErrors = {
  invalidCursor: new ErrorReply('ERR invalid cursor'),
  outOfRange: new ErrorReply('ERR value is out of range'),
  longRange: new ErrorReply(`ERR value is out of range, value must between ${-int64Max} and ${int64Max}`),
  mustBePositive: new ErrorReply('ERR value is out of range, must be positive'),
  hashNotInteger: new ErrorReply('ERR hash value is not an integer'),
  hashNotFloat: new ErrorReply('ERR hash value is not a float'),
  nanOrInfinity: new ErrorReply('ERR value is NaN or Infinity'),
  producesNanOrInfinity: new ErrorReply('ERR increment would produce NaN or Infinity'),
} as const;

/** `fn(value)` after `value` settles, if it is a promise. */
export function reply<T>(value: MaybePromise<T>, fn: (settled: T) => Reply): Reply | Promise<Reply> {
  return andThen(value, fn);
}

// ---------------------------------------------------------------- shared parsers

/**
 * A random-pick count (HRANDFIELD, SRANDMEMBER): getRangeLongFromObjectOrReply
 * over [-LONG_MAX, LONG_MAX] (values past 2^53 lose precision, harmlessly:
 * they only compare with collection sizes and randomPickCountMax).
 */
export function parseRandomCount(argument: Buffer): number | ErrorReply {
  const value = parseInt64(argument);
  if (value === undefined) return errors.notInteger;
  if (value < -int64Max) return collectionErrors.longRange;
  return Number(value);
}

/**
 * A negative count (picks with repetition) past -randomPickCountMax is
 * refused with Redis's "value is out of range": the reply is built in memory
 * (Redis has no such bound, and runs out of memory instead). Checked after the
 * key: an absent key still answers an empty array, and a key of another type
 * WRONGTYPE, as in Redis.
 */
export function repeatedPicksTooMany(count: number): boolean {
  return count < -randomPickCountMax;
}

/** A positive count (SPOP): getPositiveLongFromObjectOrReply, every failure worded the same. */
export function parsePositiveCount(argument: Buffer, error: ErrorReply = collectionErrors.mustBePositive): number | ErrorReply {
  const value = parseInt64(argument);
  if (value === undefined || value < 0) return error;
  return Number(value);
}

export interface ScanArguments {
  count: number;
  match: Buffer | undefined;
  noValues: boolean;
}

/**
 * The options of HSCAN/SSCAN/ZSCAN from args[3] (scanGenericCommand): COUNT
 * (an integer >= 1), MATCH, and NOVALUES for hashes only.
 */
export function parseScanArguments(args: Buffer[], allowNoValues: boolean): ScanArguments | ErrorReply {
  const options: ScanArguments = { count: 10, match: undefined, noValues: false };
  for (let index = 3; index < args.length; ) {
    const option = args[index]!;
    const hasValue = index + 1 < args.length;
    if (isWord(option, 'count') && hasValue) {
      const count = parseLong(args[index + 1]!);
      if (count === undefined) return errors.notInteger;
      if (count < 1) return errors.syntax;
      options.count = count;
      index += 2;
    } else if (isWord(option, 'match') && hasValue) {
      options.match = args[index + 1]!;
      index += 2;
    } else if (isWord(option, 'novalues')) {
      if (!allowNoValues) return errors.noValuesOnlyHscan;
      options.noValues = true;
      index += 1;
    } else {
      return errors.syntax;
    }
  }
  return options;
}

/** The reply of an empty or finished scan. */
export const emptyScan: Reply = ['0', []];

/** A scan step's reply: [cursor, items]. */
export function scanReply(result: CollectionScanResult, items: Reply[]): Reply {
  return [String(result.cursor), items];
}

/** Fields, or field, value pairs: flat in RESP2, [field, value] arrays in RESP3 (HRANDFIELD WITHVALUES). */
function pairsReply(ctx: CommandContext, entries: CollectionEntry[]): Reply {
  if (ctx.protocol === 3) return entries.map(([field, value]) => [field, value]);
  return entries.flatMap(([field, value]) => [field, value]);
}

// ---------------------------------------------------------------- setting

/** hsetCommand: HSET key field value [field value ...]; an odd argument count is an arity error. */
const hset: CommandHandler = (ctx, args) => {
  if (args.length % 2 === 1) return errors.arity('hset');
  const pairs = args.slice(2);
  return keyedReply(ctx, readHashFields(ctx, args[1]!, pairs, 2), (known) => hashSet(ctx.keyspace, ctx, args[1]!, pairs, false, known));
};

/** HMSET: as HSET, answering OK. */
const hmset: CommandHandler = (ctx, args) => {
  if (args.length % 2 === 1) return errors.arity('hmset');
  const pairs = args.slice(2);
  return keyedReply(ctx, readHashFields(ctx, args[1]!, pairs, 2), (known) => {
    hashSet(ctx.keyspace, ctx, args[1]!, pairs, false, known);
    return OK;
  });
};

const hsetnx: CommandHandler = (ctx, args) => hashSet(ctx.keyspace, ctx, args[1]!, [args[2]!, args[3]!], true);

const hdel: CommandHandler = (ctx, args) => {
  const fields = args.slice(2);
  return keyedReply(ctx, readHashFields(ctx, args[1]!, fields, 1), (known) => hashDelete(ctx.keyspace, ctx, args[1]!, fields, known));
};

/**
 * Thousands of fields are read before the edit, in slices while other
 * clients' commands run (readFields; the key is locked: a keyed walk).
 */
function readHashFields(ctx: CommandContext, key: Buffer, fields: readonly Buffer[], step: number): MaybePromise<KnownFields | undefined> {
  return readFields(ctx.keyspace, () => loadHash(ctx.keyspace, ctx.db, key, ctx.nowMs), fields, step);
}

/** hincrbyCommand: the increment is parsed before the key is looked up. */
const hincrby: CommandHandler = (ctx, args) => {
  const increment: Int64 | undefined = parseInt64(args[3]!);
  if (increment === undefined) return errors.notInteger;
  const result = hashIncrBy(ctx.keyspace, ctx, args[1]!, args[2]!, increment);
  if (result === 'not-integer') return collectionErrors.hashNotInteger;
  if (result === 'overflow') return errors.overflow;
  return result;
};

/**
 * hincrbyfloatCommand: increment parsed (and refused if infinite) before the
 * key is looked up. A text strtold reads as out of range (1.2e4932, 1e-4952)
 * is not a valid float, as in string2ld.
 */
const hincrbyfloat: CommandHandler = (ctx, args) => {
  const increment = parseLongDouble(args[3]!);
  if (increment === undefined) return errors.notFloat;
  if (increment.kind === 'double' && !Number.isFinite(increment.value)) return collectionErrors.nanOrInfinity;
  if (toExtended(increment) === undefined) return errors.notFloat;
  const result = hashIncrByFloat(ctx.keyspace, ctx, args[1]!, args[2]!, increment);
  if (result === 'not-float') return collectionErrors.hashNotFloat;
  if (result === 'nan-or-infinity') return collectionErrors.producesNanOrInfinity;
  return result.text;
};

// ---------------------------------------------------------------- reading

const hget: CommandHandler = (ctx, args) => hashGet(ctx.keyspace, ctx.db, args[1]!, args[2]!, ctx.nowMs) ?? null;

/** HMGET: many fields are read in slices at a snapshot (a snapshot read once they pause). */
const hmget: CommandHandler = (ctx, args) => snapshotReply(hashGetMany(ctx.keyspace, ctx.db, args[1]!, args.slice(2), ctx.nowMs), (values) => values.map((value) => value ?? null));

const hexists: CommandHandler = (ctx, args) => (hashGet(ctx.keyspace, ctx.db, args[1]!, args[2]!, ctx.nowMs) === undefined ? 0 : 1);

const hlen: CommandHandler = (ctx, args) => hashLength(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);

const hstrlen: CommandHandler = (ctx, args) => hashGet(ctx.keyspace, ctx.db, args[1]!, args[2]!, ctx.nowMs)?.length ?? 0;

const hkeys: CommandHandler = (ctx, args) => snapshotReply(hashEntries(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs), (entries) => entries.map(([field]) => field));

const hvals: CommandHandler = (ctx, args) => snapshotReply(hashEntries(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs), (entries) => entries.map(([, value]) => value));

const hgetall: CommandHandler = (ctx, args) => snapshotReply(hashEntries(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs), (entries) => new MapReply(entries));

/** LONG_MAX / 2: HRANDFIELD WITHVALUES refuses counts beyond it (the reply doubles them). */
const withValuesCountMax = int64Max / 2n;

/** hrandfieldCommand: HRANDFIELD key [count [WITHVALUES]]. */
const hrandfield: CommandHandler = (ctx, args) => {
  if (args.length === 2) return snapshotReply(hashRandomFields(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs, 1, true), (entries) => entries[0]?.[0] ?? null);
  const count = parseRandomCount(args[2]!);
  if (count instanceof ErrorReply) return count;
  if (args.length > 4 || (args.length === 4 && !isWord(args[3]!, 'withvalues'))) return errors.syntax;
  const withValues = args.length === 4;
  if (withValues) {
    const exact = parseInt64(args[2]!)!;
    if (exact < -withValuesCountMax || exact > withValuesCountMax) return collectionErrors.outOfRange;
  }
  // An absent key, or a count of 0, picks nothing (after the type check).
  if (repeatedPicksTooMany(count) && hashLength(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs) > 0) return collectionErrors.outOfRange;
  const picked = hashRandomFields(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs, Math.abs(count), count > 0);
  // Picks that pause between slices read at a snapshot: other clients run meanwhile.
  return snapshotReply(picked, (entries) => (withValues ? pairsReply(ctx, entries) : entries.map(([field]) => field)));
};

/** HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]: cursor, then key, then options, as Redis checks them. */
const hscan: CommandHandler = (ctx, args) => {
  const cursor = parseScanCursor(args[2]!);
  if (cursor === undefined) return collectionErrors.invalidCursor;
  const hash = loadHash(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (hash.record === undefined) return emptyScan;
  const options = parseScanArguments(args, true);
  if (options instanceof ErrorReply) return options;
  return reply(scanCollection(ctx.keyspace, hash, cursor, options), (result) =>
    scanReply(result, options.noValues ? result.entries.map(([field]) => field) : result.entries.flatMap(([field, value]) => [field, value])),
  );
};

// ---------------------------------------------------------------- table

const wf: readonly CommandFlag[] = ['write', 'fast'];
const r: readonly CommandFlag[] = ['readonly'];
const rf: readonly CommandFlag[] = ['readonly', 'fast'];
const one: [number, number, number] = [1, 1, 1];

/** The hash family, for the command table. Complexities are the ordered key space's (docs/commands.md, "Hashes"). */
export const hashCommands: readonly CommandSpec[] = [
  keyed(spec('hset', -4, wf, one, 'Creates or modifies the value of a field in a hash', 'key field value [field value ...]', 'O(K log N) for K pairs', hset)),
  spec('hsetnx', 4, wf, one, 'Sets the value of a field in a hash only when the field doesn\'t exist', 'key field value', 'O(log N)', hsetnx),
  keyed(spec('hmset', -4, wf, one, 'Sets the values of multiple fields', 'key field value [field value ...]', 'O(K log N) for K pairs', hmset)),
  spec('hget', 3, rf, one, 'Returns the value of a field in a hash', 'key field', 'O(log N)', hget),
  spec('hmget', -3, rf, one, 'Returns the values of all fields in a hash', 'key field [field ...]', 'O(K log N) for K fields', hmget),
  keyed(spec('hdel', -3, wf, one, 'Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain', 'key field [field ...]', 'O(K log N) for K fields', hdel)),
  spec('hexists', 3, rf, one, 'Determines whether a field exists in a hash', 'key field', 'O(log N)', hexists),
  spec('hlen', 2, rf, one, 'Returns the number of fields in a hash', 'key', 'O(1)', hlen),
  spec('hstrlen', 3, rf, one, 'Returns the length of the value of a field', 'key field', 'O(log N)', hstrlen),
  spec('hkeys', 2, r, one, 'Returns all fields in a hash', 'key', 'O(N)', hkeys),
  spec('hvals', 2, r, one, 'Returns all values in a hash', 'key', 'O(N)', hvals),
  spec('hgetall', 2, r, one, 'Returns all fields and values in a hash', 'key', 'O(N)', hgetall),
  spec('hincrby', 4, wf, one, 'Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn\'t exist', 'key field increment', 'O(log N)', hincrby),
  spec('hincrbyfloat', 4, wf, one, 'Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn\'t exist', 'key field increment', 'O(log N)', hincrbyfloat),
  spec('hrandfield', -2, r, one, 'Returns one or more random fields from a hash', 'key [count [WITHVALUES]]', 'O(N) for hashes of up to 1024 fields or counts near N; else O(C (log N + 64)) for C picks (sampled by seeking)', hrandfield),
  spec('hscan', -3, r, one, 'Iterates over fields and values of a hash', 'key cursor [MATCH pattern] [COUNT count] [NOVALUES]', 'O(COUNT) per call; O(N) for a complete iteration', hscan),
];
