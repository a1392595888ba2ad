// String commands (redis/redis src/t_string.c and bitops.c): GET SET SETNX
// SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX APPEND STRLEN GETRANGE
// SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT SETBIT GETBIT BITCOUNT.
//
// A string is one `M` record with the value inline (lib/keyspace/metadata.ts),
// so every command here is one point read and at most one batch. Errors are
// worded as Redis words them, and checked in the order Redis checks them, so
// that a command with several problems reports the same one.
//
// GET and SET are the hot path: no string conversion of keys, no iterator,
// one engine key buffer, one record buffer and one batch per SET.
//
// Also exported for keys.ts: the small helpers both families use (guard,
// option matching, shared error replies).

import { LimitExceededError, WrongTypeError } from '../../../lib/errors.js';
import type { StoredKey } from '../../../lib/keyspace/keyspace.js';
import {
  KeyType,
  MetadataFlag,
  allocRecord,
  metadataHeaderBytes,
  recordExpireMs,
  recordFlags,
  recordType,
  stringRecord,
  stringValue,
  withExpire,
} from '../../../lib/keyspace/metadata.js';
import { int64Max, int64Min, int64Text, normalizeInt64, parseInt64, parseLong, parseLongDouble, type Int64, type LongDouble } from '../../../lib/keyspace/numbers.js';
import { addExtended, formatExtended, toExtended } from '../../../lib/keyspace/long-double.js';
import { newStringRecord, stringOf } from '../../../lib/keyspace/string.js';
import { stringExpireMs, type TimeUnit } from '../../../lib/keyspace/ttl.js';
import { markedLike, type CommandContext, type CommandFlag, type CommandHandler, type CommandSpec } from '../command.js';
import { ErrorReply, OK, errors, type Reply } from '../reply.js';

// ---------------------------------------------------------------- shared helpers

/** Error replies not in reply.ts, worded as Redis words them. */
export const stringErrors = {
  tooLong: new ErrorReply('ERR string exceeds maximum allowed size (proto-max-bulk-len)'),
  bitOffset: new ErrorReply('ERR bit offset is not an integer or out of range'),
  bitValue: new ErrorReply('ERR bit is not an integer or out of range'),
  offsetRange: new ErrorReply('ERR offset is out of range'),
  decrementOverflow: new ErrorReply('ERR decrement would overflow'),
  nanOrInfinity: new ErrorReply('ERR increment would produce NaN or Infinity'),
  invalidExpire: (command: string): ErrorReply => new ErrorReply(`ERR invalid expire time in '${command}' command`),
} as const;

/**
 * Wraps a handler so the keyspace's typed errors become Redis replies:
 * WrongTypeError -> WRONGTYPE, LimitExceededError (a key or value over the
 * engine's limits) -> ERR with its message. Anything else propagates to the
 * dispatcher.
 */
export function guard(handler: CommandHandler): CommandHandler {
  return (ctx, args) => {
    try {
      const reply = handler(ctx, args);
      if (!(reply instanceof Promise)) return reply;
      // A snapshot read or keyed walk stays marked (command.ts): the dispatcher looks for the mark on what the handler returns.
      return markedLike(reply, reply.catch(toReply));
    } catch (error) {
      return toReply(error);
    }
  };
}

function toReply(error: unknown): Reply {
  if (error instanceof WrongTypeError) return errors.wrongType;
  if (error instanceof LimitExceededError) return new ErrorReply(`ERR ${error.message}`);
  throw error;
}

/** True when `arg` is `word` (lower-case ASCII) in any case, as strcasecmp. */
export function isWord(arg: Buffer, word: string): boolean {
  if (arg.length !== word.length) return false;
  for (let index = 0; index < arg.length; index++) {
    const byte = arg[index]!;
    const lower = byte >= 0x41 && byte <= 0x5a ? byte + 32 : byte;
    if (lower !== word.charCodeAt(index)) return false;
  }
  return true;
}

/** A spec with the fields every command here shares. */
export function spec(
  name: string,
  arity: number,
  flags: readonly CommandFlag[],
  keys: [first: number, last: number, step: number],
  summary: string,
  syntax: string,
  complexity: string,
  handler: CommandHandler,
): CommandSpec {
  return { name, arity, flags, firstKey: keys[0], lastKey: keys[1], keyStep: keys[2], summary, syntax, complexity, handler: guard(handler) };
}

/** `command` with `keyedWalk` set: its handler may answer a keyedWalk() Promise (command.ts). */
export function keyed(command: CommandSpec): CommandSpec {
  return { ...command, keyedWalk: true };
}

/** The live string of a loaded key; undefined when absent. @throws WrongTypeError */
function liveString(target: StoredKey): Buffer | undefined {
  return stringOf(target.live);
}

/** Expiry to keep when a string is modified in place (INCR, APPEND ...): the live record's. */
function keptExpire(target: StoredKey): number {
  return target.live === undefined ? 0 : recordExpireMs(target.live);
}

// ---------------------------------------------------------------- SET family

/** SET/GETEX option bits, as t_string.c's OBJ_* flags. */
const Option = {
  nx: 1 << 0,
  xx: 1 << 1,
  ex: 1 << 2,
  px: 1 << 3,
  keepTtl: 1 << 4,
  get: 1 << 5,
  exAt: 1 << 6,
  pxAt: 1 << 7,
  persist: 1 << 8,
} as const;

const anyExpire = Option.ex | Option.px | Option.exAt | Option.pxAt;

interface StringOptions {
  flags: number;
  expire: Buffer | undefined;
}

/**
 * parseExtendedStringArgumentsOrReply: SET options (NX XX GET KEEPTTL EX PX
 * EXAT PXAT) or GETEX options (PERSIST EX PX EXAT PXAT) from args[start];
 * an option that conflicts with an earlier one is a syntax error, as in Redis.
 */
function parseStringOptions(args: Buffer[], start: number, forSet: boolean): StringOptions | ErrorReply {
  let flags = 0;
  let expire: Buffer | undefined;
  for (let index = start; index < args.length; index++) {
    const option = args[index]!;
    const next = args[index + 1];
    const hasNext = next !== undefined;
    if (forSet && isWord(option, 'nx') && !(flags & Option.xx)) {
      flags |= Option.nx;
    } else if (forSet && isWord(option, 'xx') && !(flags & Option.nx)) {
      flags |= Option.xx;
    } else if (forSet && isWord(option, 'get')) {
      flags |= Option.get;
    } else if (forSet && isWord(option, 'keepttl') && !(flags & (Option.persist | anyExpire))) {
      flags |= Option.keepTtl;
    } else if (!forSet && isWord(option, 'persist') && !(flags & (anyExpire | Option.keepTtl))) {
      flags |= Option.persist;
    } else if (isWord(option, 'ex') && !(flags & (Option.keepTtl | Option.persist | Option.exAt | Option.px | Option.pxAt)) && hasNext) {
      flags |= Option.ex;
      expire = next;
      index++;
    } else if (isWord(option, 'px') && !(flags & (Option.keepTtl | Option.persist | Option.ex | Option.exAt | Option.pxAt)) && hasNext) {
      flags |= Option.px;
      expire = next;
      index++;
    } else if (isWord(option, 'exat') && !(flags & (Option.keepTtl | Option.persist | Option.ex | Option.px | Option.pxAt)) && hasNext) {
      flags |= Option.exAt;
      expire = next;
      index++;
    } else if (isWord(option, 'pxat') && !(flags & (Option.keepTtl | Option.persist | Option.ex | Option.exAt | Option.px)) && hasNext) {
      flags |= Option.pxAt;
      expire = next;
      index++;
    } else {
      return errors.syntax;
    }
  }
  return { flags, expire };
}

/** The absolute expiry for the options' EX/PX/EXAT/PXAT argument, or the error reply. */
function expireFromOptions(options: StringOptions, command: string, nowMs: number): number | ErrorReply {
  if (options.expire === undefined) return 0;
  const unit: TimeUnit = options.flags & (Option.px | Option.pxAt) ? 'milliseconds' : 'seconds';
  const relative = (options.flags & (Option.ex | Option.px)) !== 0;
  const result = stringExpireMs(options.expire, unit, relative, nowMs);
  if (result === 'not-integer') return errors.notInteger;
  if (result === 'invalid') return stringErrors.invalidExpire(command);
  return result;
}

/**
 * setGenericCommand: SET with options, SETNX, SETEX, PSETEX, GETSET.
 * @param okReply reply when the value was set (+OK unless SETNX)
 * @param abortReply reply when NX/XX prevented it (nil unless SETNX)
 */
function setGeneric(ctx: CommandContext, command: string, key: Buffer, value: Buffer, options: StringOptions, okReply: Reply, abortReply: Reply): Reply {
  const keyspace = ctx.keyspace;
  const expireMs = expireFromOptions(options, command, ctx.nowMs);
  if (expireMs instanceof ErrorReply) return expireMs;
  if (value.length > keyspace.stringBytesMax) return stringErrors.tooLong;
  const target = keyspace.load(ctx.db, key, ctx.nowMs);
  const get = (options.flags & Option.get) !== 0;
  let previous: Reply = null;
  if (get) previous = liveString(target) ?? null;
  const found = target.live !== undefined;
  if ((options.flags & Option.nx && found) || (options.flags & Option.xx && !found)) return get ? previous : abortReply;
  const keep = options.expire === undefined && (options.flags & Option.keepTtl) !== 0;
  keyspace.put(ctx, target, newStringRecord(keyspace, target, value, keep ? keptExpire(target) : expireMs, ctx.nowMs));
  return get ? previous : okReply;
}

/** GET key — O(1). */
const get: CommandHandler = (ctx, args) => {
  const record = ctx.keyspace.lookup(ctx.db, args[1]!, ctx.nowMs);
  if (record === undefined) return null;
  if (recordType(record) !== KeyType.string) return errors.wrongType;
  return stringValue(record);
};

/** SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL] — O(1). */
const set: CommandHandler = (ctx, args) => {
  if (args.length === 3) {
    // The hot path: no options.
    const keyspace = ctx.keyspace;
    const value = args[2]!;
    if (value.length > keyspace.stringBytesMax) return stringErrors.tooLong;
    const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
    keyspace.put(ctx, target, stringRecord(value, 0, keyspace.newVersion(ctx.nowMs, target.stored)));
    return OK;
  }
  const options = parseStringOptions(args, 3, true);
  if (options instanceof ErrorReply) return options;
  return setGeneric(ctx, 'set', args[1]!, args[2]!, options, OK, null);
};

const setnx: CommandHandler = (ctx, args) => setGeneric(ctx, 'setnx', args[1]!, args[2]!, { flags: Option.nx, expire: undefined }, 1, 0);

const setex: CommandHandler = (ctx, args) => setGeneric(ctx, 'setex', args[1]!, args[3]!, { flags: Option.ex, expire: args[2]! }, OK, null);

const psetex: CommandHandler = (ctx, args) => setGeneric(ctx, 'psetex', args[1]!, args[3]!, { flags: Option.px, expire: args[2]! }, OK, null);

const getset: CommandHandler = (ctx, args) => setGeneric(ctx, 'getset', args[1]!, args[2]!, { flags: Option.get, expire: undefined }, OK, null);

/** GETDEL key — O(1). */
const getdel: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  const value = liveString(target);
  if (value === undefined) return null;
  keyspace.remove(ctx, target);
  return value;
};

/** GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST] — O(1). */
const getex: CommandHandler = (ctx, args) => {
  const options = parseStringOptions(args, 2, false);
  if (options instanceof ErrorReply) return options;
  const keyspace = ctx.keyspace;
  const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  const value = liveString(target);
  if (value === undefined) return null;
  const expireMs = expireFromOptions(options, 'getex', ctx.nowMs);
  if (expireMs instanceof ErrorReply) return expireMs;
  const live = target.live!;
  if (options.expire !== undefined && options.flags & (Option.exAt | Option.pxAt) && expireMs <= ctx.nowMs) {
    keyspace.remove(ctx, target); // an absolute time already past deletes the key (checkAlreadyExpired)
  } else if (options.expire !== undefined) {
    keyspace.put(ctx, target, withExpire(live, expireMs));
  } else if (options.flags & Option.persist && recordExpireMs(live) !== 0) {
    keyspace.put(ctx, target, withExpire(live, 0));
  }
  return value;
};

/** MGET key [key ...] — O(N). Keys that are not strings read as nil. */
const mget: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  const replies: Reply[] = new Array<Reply>(args.length - 1);
  for (let index = 1; index < args.length; index++) {
    const record = keyspace.lookup(ctx.db, args[index]!, ctx.nowMs);
    replies[index - 1] = record === undefined || recordType(record) !== KeyType.string ? null : stringValue(record);
  }
  return replies;
};

/** MSET/MSETNX: every pair in one batch; a key given twice takes its last value. */
function msetGeneric(ctx: CommandContext, args: Buffer[], nx: boolean): Reply {
  if (args.length % 2 === 0) return errors.arity(nx ? 'msetnx' : 'mset');
  const keyspace = ctx.keyspace;
  for (let index = 2; index < args.length; index += 2) if (args[index]!.length > keyspace.stringBytesMax) return stringErrors.tooLong;
  if (nx) {
    for (let index = 1; index < args.length; index += 2) if (keyspace.lookup(ctx.db, args[index]!, ctx.nowMs) !== undefined) return 0;
  }
  const batch = keyspace.begin();
  const seen = args.length > 3 ? new Set<string>() : undefined;
  for (let index = args.length - 2; index >= 1; index -= 2) {
    const key = args[index]!;
    if (seen !== undefined) {
      const name = key.toString('latin1');
      if (seen.has(name)) continue; // a later pair already set it, and the last value wins
      seen.add(name);
    }
    const target = keyspace.load(ctx.db, key, ctx.nowMs);
    keyspace.stagePut(batch, target, newStringRecord(keyspace, target, args[index + 1]!, 0, ctx.nowMs));
  }
  keyspace.commit(ctx, batch);
  return nx ? 1 : OK;
}

// ---------------------------------------------------------------- in-place edits

/** APPEND key value — O(1) reads, O(len) copy. */
const append: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  const addition = args[2]!;
  const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  const current = liveString(target);
  if (current === undefined) {
    if (addition.length > keyspace.stringBytesMax) return stringErrors.tooLong;
    keyspace.put(ctx, target, newStringRecord(keyspace, target, addition, 0, ctx.nowMs));
    return addition.length;
  }
  const total = current.length + addition.length;
  if (total > keyspace.stringBytesMax) return stringErrors.tooLong;
  const record = allocRecord(KeyType.string, recordFlags(target.live!) | MetadataFlag.rawString, keptExpire(target), keyspace.newVersion(ctx.nowMs, target.stored), total, total);
  current.copy(record, metadataHeaderBytes);
  addition.copy(record, metadataHeaderBytes + current.length);
  keyspace.put(ctx, target, record);
  return total;
};

/** STRLEN key — O(1). */
const strlen: CommandHandler = (ctx, args) => {
  const value = stringOf(ctx.keyspace.lookup(ctx.db, args[1]!, ctx.nowMs));
  return value === undefined ? 0 : value.length;
};

const emptyBulk = Buffer.alloc(0);

/**
 * GETRANGE's and BITCOUNT's start and end, and whether both are negative with
 * start > end (Redis then answers empty at once), compared on 64 bits: two
 * indexes below -2^53 can round to one double.
 */
function rangeIndexes(startText: Buffer, endText: Buffer): { start: number; end: number; reversedNegative: boolean } | undefined {
  const start = parseInt64(startText);
  const end = parseInt64(endText);
  if (start === undefined || end === undefined) return undefined;
  return { start: Number(start), end: Number(end), reversedNegative: start < 0 && end < 0 && start > end };
}

/** GETRANGE key start end — O(N) in the returned length. */
const getrange: CommandHandler = (ctx, args) => {
  const range = rangeIndexes(args[2]!, args[3]!);
  if (range === undefined) return errors.notInteger;
  let { start, end } = range;
  const value = stringOf(ctx.keyspace.lookup(ctx.db, args[1]!, ctx.nowMs));
  if (value === undefined) return emptyBulk;
  const length = value.length;
  if (range.reversedNegative) return emptyBulk;
  if (start < 0) start = length + start;
  if (end < 0) end = length + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= length) end = length - 1;
  if (start > end || length === 0) return emptyBulk;
  return value.subarray(start, end + 1);
};

/** SETRANGE key offset value — O(1) reads, O(len) copy. */
const setrange: CommandHandler = (ctx, args) => {
  const offset = parseLong(args[2]!);
  if (offset === undefined) return errors.notInteger;
  if (offset < 0) return stringErrors.offsetRange;
  const keyspace = ctx.keyspace;
  const piece = args[3]!;
  const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  const current = liveString(target);
  if (current === undefined && piece.length === 0) return 0;
  if (current !== undefined && piece.length === 0) return current.length;
  if (offset + piece.length > keyspace.stringBytesMax) return stringErrors.tooLong; // before allocating
  const oldLength = current?.length ?? 0;
  const length = Math.max(oldLength, offset + piece.length);
  const flags = (target.live === undefined ? 0 : recordFlags(target.live)) | MetadataFlag.rawString;
  const record = allocRecord(KeyType.string, flags, keptExpire(target), keyspace.newVersion(ctx.nowMs, target.stored), length, length);
  if (current !== undefined) current.copy(record, metadataHeaderBytes);
  if (offset > oldLength) record.fill(0, metadataHeaderBytes + oldLength, metadataHeaderBytes + offset);
  piece.copy(record, metadataHeaderBytes + offset);
  keyspace.put(ctx, target, record);
  return length;
};

// ---------------------------------------------------------------- counters

/** incrDecrCommand: adds `increment` to the integer at `key` (0 when absent); keeps the TTL. */
function incrDecr(ctx: CommandContext, key: Buffer, increment: Int64): Reply {
  const keyspace = ctx.keyspace;
  const target = keyspace.load(ctx.db, key, ctx.nowMs);
  const current = liveString(target);
  const value: Int64 | undefined = current === undefined ? 0 : parseInt64(current);
  if (value === undefined) return errors.notInteger;
  let result: Int64;
  if (typeof value === 'number' && typeof increment === 'number' && Number.isSafeInteger(value + increment)) {
    result = value + increment;
  } else {
    const sum = BigInt(value) + BigInt(increment);
    if (sum > int64Max || sum < int64Min) return errors.overflow;
    result = normalizeInt64(sum);
  }
  const text = Buffer.from(int64Text(result), 'latin1');
  keyspace.put(ctx, target, newStringRecord(keyspace, target, text, keptExpire(target), ctx.nowMs));
  return typeof result === 'number' || Number.isSafeInteger(Number(result)) ? Number(result) : result;
}

const incr: CommandHandler = (ctx, args) => incrDecr(ctx, args[1]!, 1);
const decr: CommandHandler = (ctx, args) => incrDecr(ctx, args[1]!, -1);

const incrby: CommandHandler = (ctx, args) => {
  const increment = parseInt64(args[2]!);
  if (increment === undefined) return errors.notInteger;
  return incrDecr(ctx, args[1]!, increment);
};

const decrby: CommandHandler = (ctx, args) => {
  const decrement = parseInt64(args[2]!);
  if (decrement === undefined) return errors.notInteger;
  if (decrement === int64Min) return stringErrors.decrementOverflow;
  return incrDecr(ctx, args[1]!, typeof decrement === 'number' ? -decrement : normalizeInt64(-decrement));
};

/**
 * INCRBYFLOAT key increment — O(1); keeps the TTL. Adds in x87 long double
 * precision and stores Redis's human-friendly text, as HINCRBYFLOAT does
 * (long-double.ts): 5.6 + 5000 is "5005.60000000000000009", as in Redis; a
 * value or increment past the long double range is not a valid float.
 */
const incrbyfloat: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  const current = liveString(target);
  const value = current === undefined ? parseLongDouble(zeroText) : parseLongDouble(current);
  const increment = parseLongDouble(args[2]!);
  if (value === undefined || increment === undefined) return errors.notFloat;
  // strtold reads "inf" as infinity, and the sum is then infinite.
  if (isInfinite(value) || isInfinite(increment)) return stringErrors.nanOrInfinity;
  const augend = toExtended(value);
  const addend = toExtended(increment);
  if (augend === undefined || addend === undefined) return errors.notFloat;
  const sum = addExtended(augend, addend);
  if (sum === undefined) return stringErrors.nanOrInfinity;
  const text = formatExtended(sum);
  const bytes = Buffer.from(text, 'latin1');
  keyspace.put(ctx, target, newStringRecord(keyspace, target, bytes, keptExpire(target), ctx.nowMs, MetadataFlag.notIntString));
  return bytes;
};

const zeroText = Buffer.from('0');

function isInfinite(value: LongDouble): boolean {
  return value.kind === 'double' && !Number.isFinite(value.value);
}

// ---------------------------------------------------------------- bits

/** getBitOffsetFromArgument: a bit offset whose byte fits the string limit, or undefined. */
function bitOffset(argument: Buffer, stringBytesMax: number): number | undefined {
  const offset = parseInt64(argument);
  if (typeof offset !== 'number' || offset < 0 || Math.floor(offset / 8) >= stringBytesMax) return undefined;
  return offset;
}

/** SETBIT key offset value — O(1) reads, O(len) copy when growing or editing. */
const setbit: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  const offset = bitOffset(args[2]!, keyspace.stringBytesMax);
  if (offset === undefined) return stringErrors.bitOffset;
  const on = parseLong(args[3]!);
  if (on === undefined || (on !== 0 && on !== 1)) return stringErrors.bitValue;
  const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  const current = liveString(target);
  const byteIndex = Math.floor(offset / 8);
  const oldLength = current?.length ?? 0;
  const length = Math.max(oldLength, byteIndex + 1);
  const mask = 1 << (7 - (offset % 8));
  const oldFlags = target.live === undefined ? 0 : recordFlags(target.live);
  // As Redis 7's setbitCommand: a bit that keeps its value changes nothing a WATCH sees, but the
  // string is unshared first, so an int or embstr one becomes raw (OBJECT ENCODING) quietly.
  const unchanged = current !== undefined && length === oldLength && ((current[byteIndex]! & mask) !== 0 ? 1 : 0) === on;
  if (unchanged && (oldFlags & MetadataFlag.rawString) !== 0) return on;
  const flags = oldFlags | MetadataFlag.rawString;
  const record = allocRecord(KeyType.string, flags, keptExpire(target), keyspace.newVersion(ctx.nowMs, target.stored), length, length);
  if (current !== undefined) current.copy(record, metadataHeaderBytes);
  if (length > oldLength) record.fill(0, metadataHeaderBytes + oldLength);
  const at = metadataHeaderBytes + byteIndex;
  const previous = (record[at]! & mask) !== 0 ? 1 : 0;
  record[at] = on === 1 ? record[at]! | mask : record[at]! & ~mask;
  keyspace.put(ctx, target, record, unchanged);
  return previous;
};

/** GETBIT key offset — O(1). */
const getbit: CommandHandler = (ctx, args) => {
  const offset = bitOffset(args[2]!, ctx.keyspace.stringBytesMax);
  if (offset === undefined) return stringErrors.bitOffset;
  const value = stringOf(ctx.keyspace.lookup(ctx.db, args[1]!, ctx.nowMs));
  if (value === undefined) return 0;
  const byteIndex = Math.floor(offset / 8);
  if (byteIndex >= value.length) return 0;
  return (value[byteIndex]! & (1 << (7 - (offset % 8)))) !== 0 ? 1 : 0;
};

/** Set bits per byte value. */
const popcounts = Uint8Array.from({ length: 256 }, (_, byte) => {
  let count = 0;
  for (let bits = byte; bits !== 0; bits &= bits - 1) count++;
  return count;
});

function popcount(bytes: Buffer, start: number, end: number): number {
  let count = 0;
  for (let index = start; index <= end; index++) count += popcounts[bytes[index]!]!;
  return count;
}

/**
 * BITCOUNT key [start end [BYTE|BIT]] — O(N) in the range. The key is looked
 * up before the arguments are read, as Redis 7.0 and 7.2 do: a missing key
 * answers 0 and another type WRONGTYPE whatever follows.
 */
const bitcount: CommandHandler = (ctx, args) => {
  const value = stringOf(ctx.keyspace.lookup(ctx.db, args[1]!, ctx.nowMs));
  if (value === undefined) return 0;
  if (args.length === 2) return popcount(value, 0, value.length - 1);
  if (args.length !== 4 && args.length !== 5) return errors.syntax;
  const range = rangeIndexes(args[2]!, args[3]!);
  if (range === undefined) return errors.notInteger;
  let { start, end } = range;
  if (range.reversedNegative) return 0; // before the unit, as bitcountCommand
  let isBit = false;
  if (args.length === 5) {
    if (isWord(args[4]!, 'bit')) isBit = true;
    else if (!isWord(args[4]!, 'byte')) return errors.syntax;
  }
  const total = isBit ? value.length * 8 : value.length;
  if (start < 0) start = total + start;
  if (end < 0) end = total + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  if (start > end) return 0;
  if (!isBit) return popcount(value, start, end);
  const firstMask = ~((1 << (8 - (start & 7))) - 1) & 0xff;
  const lastMask = (1 << (7 - (end & 7))) - 1;
  const firstByte = Math.floor(start / 8);
  const lastByte = Math.floor(end / 8);
  let count = popcount(value, firstByte, lastByte);
  count -= popcounts[value[firstByte]! & firstMask]!;
  count -= popcounts[value[lastByte]! & lastMask]!;
  return count;
};

// ---------------------------------------------------------------- table

const w: readonly CommandFlag[] = ['write'];
const wf: readonly CommandFlag[] = ['write', 'fast'];
const r: readonly CommandFlag[] = ['readonly'];
const rf: readonly CommandFlag[] = ['readonly', 'fast'];
const one: [number, number, number] = [1, 1, 1];

/** The string family, for the command table. */
export const stringCommands: readonly CommandSpec[] = [
  spec('get', 2, rf, one, 'Returns the string value of a key', 'key', 'O(1)', get),
  spec('set', -3, w, one, 'Sets the string value of a key, ignoring its type. The key is created if it does not exist', 'key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]', 'O(1)', set),
  spec('setnx', 3, wf, one, 'Set the string value of a key only when the key does not exist', 'key value', 'O(1)', setnx),
  spec('setex', 4, w, one, 'Sets the string value and expiration time of a key. Creates the key if it does not exist', 'key seconds value', 'O(1)', setex),
  spec('psetex', 4, w, one, 'Sets both string value and expiration time in milliseconds of a key. The key is created if it does not exist', 'key milliseconds value', 'O(1)', psetex),
  spec('getset', 3, wf, one, 'Returns the previous string value of a key after setting it to a new value', 'key value', 'O(1)', getset),
  spec('getdel', 2, wf, one, 'Returns the string value of a key after deleting the key', 'key', 'O(1)', getdel),
  spec('getex', -2, wf, one, 'Returns the string value of a key after setting its expiration time', 'key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]', 'O(1)', getex),
  spec('mget', -2, rf, [1, -1, 1], 'Atomically returns the string values of one or more keys', 'key [key ...]', 'O(N) where N is the number of keys to retrieve', mget),
  spec('mset', -3, w, [1, -1, 2], 'Atomically creates or modifies the string values of one or more keys', 'key value [key value ...]', 'O(N) where N is the number of keys to set', (ctx, args) => msetGeneric(ctx, args, false)),
  spec('msetnx', -3, w, [1, -1, 2], 'Atomically modifies the string values of one or more keys only when all keys don\'t exist', 'key value [key value ...]', 'O(N) where N is the number of keys to set', (ctx, args) => msetGeneric(ctx, args, true)),
  spec('append', 3, wf, one, 'Appends a string to the value of a key. Creates the key if it doesn\'t exist', 'key value', 'O(1) reads; O(N) copy of the new value, N its length', append),
  spec('strlen', 2, rf, one, 'Returns the length of a string value', 'key', 'O(1)', strlen),
  spec('getrange', 4, r, one, 'Returns a substring of the string stored at a key', 'key start end', 'O(N) where N is the length of the returned string', getrange),
  spec('substr', 4, r, one, 'Returns a substring from a string value (GETRANGE by its old name, deprecated in Redis 2.0 and still there in 7.0)', 'key start end', 'O(N) where N is the length of the returned string', getrange),
  spec('setrange', 4, w, one, 'Overwrites a part of a string value with another by an offset. Creates the key if it doesn\'t exist', 'key offset value', 'O(1) reads; O(N) copy of the new value, N its length', setrange),
  spec('incr', 2, wf, one, 'Increments the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist', 'key', 'O(1)', incr),
  spec('decr', 2, wf, one, 'Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist', 'key', 'O(1)', decr),
  spec('incrby', 3, wf, one, 'Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn\'t exist', 'key increment', 'O(1)', incrby),
  spec('decrby', 3, wf, one, 'Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn\'t exist', 'key decrement', 'O(1)', decrby),
  spec('incrbyfloat', 3, wf, one, 'Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn\'t exist', 'key increment', 'O(1)', incrbyfloat),
  spec('setbit', 4, w, one, 'Sets or clears the bit at offset of the string value. Creates the key if it doesn\'t exist', 'key offset value', 'O(1) reads; O(N) copy of the new value, N its length', setbit),
  spec('getbit', 3, rf, one, 'Returns a bit value by offset', 'key offset', 'O(1)', getbit),
  spec('bitcount', -2, r, one, 'Counts the number of set bits (population counting) in a string', 'key [start end [BYTE | BIT]]', 'O(N) where N is the number of bytes counted', bitcount),
];
