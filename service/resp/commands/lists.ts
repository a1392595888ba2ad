// List commands (redis/redis src/t_list.c): LPUSH RPUSH LPUSHX RPUSHX LPOP
// RPOP LLEN LINDEX LSET LRANGE LTRIM LREM LINSERT LPOS LMOVE RPOPLPUSH LMPOP,
// and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
//
// Storage and costs are lib/keyspace/list.ts's (head and tail indexes in the
// metadata, one subkey per element): pushes, pops, LINDEX and LSET touch O(1)
// engine keys; LRANGE is one seek and M reads; LREM and LINSERT rewrite the
// elements between the end they scan from and the last one they touch; LTRIM
// only moves the indexes. Every command writes at most one batch.
//
// Errors are worded as Redis words them and checked in Redis's order (for
// instance LINDEX looks the key up before it parses the index, LRANGE the
// other way round), so a command with several problems reports the same one.
//
// Blocking commands never wait in the handler: one that finds nothing returns
// a BlockedReply (reply.ts) whose retry is the same pop, and the server parks
// the client in the BlockingManager (../blocking.ts). A retry skips keys that
// now hold another type instead of answering WRONGTYPE (Redis serves a
// blocked client only from a key of the type it waits for), except BLMOVE's
// destination, which answers WRONGTYPE as the command itself would.

import { LimitExceededError, WrongTypeError } from '../../../lib/errors.js';
import type { MaybePromise } from '../../../lib/keyspace/keyspace.js';
import { andThen } from '../../../lib/keyspace/collection.js';
import { List, listKind, type ListEnd } from '../../../lib/keyspace/list.js';
import { int64Min, parseInt64, parseLong, parseLongDouble } from '../../../lib/keyspace/numbers.js';
import { keyedReply, keyedWalk, snapshotReply, type CommandContext, type CommandFlag, type CommandHandler, type CommandSpec } from '../command.js';
import { BlockedReply, ErrorReply, NullArrayReply, OK, errors, type Reply } from '../reply.js';
import { isWord, keyed, spec } from './strings.js';

/** Error replies of this family, worded as Redis words them. */
export const listErrors = {
  outOfRange: new ErrorReply('ERR index out of range'),
  notPositive: new ErrorReply('ERR value is out of range, must be positive'),
  notLongRange: new ErrorReply('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807'),
  rankZero: new ErrorReply("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
  countNegative: new ErrorReply("ERR COUNT can't be negative"),
  maxlenNegative: new ErrorReply("ERR MAXLEN can't be negative"),
  numkeys: new ErrorReply('ERR numkeys should be greater than 0'),
  count: new ErrorReply('ERR count should be greater than 0'),
  timeoutNotFloat: new ErrorReply('ERR timeout is not a float or out of range'),
  timeoutNegative: new ErrorReply('ERR timeout is negative'),
} as const;

/** 2^63: a timeout of this many ms or more overflows Redis's long long (and reads as negative). */
const timeoutMsOverflow = 2n ** 63n;

/** What list helpers need of a command context (a retry's ctx is the blocked client's). */
type ListContext = Pick<CommandContext, 'keyspace' | 'nowMs' | 'write'>;

// ---------------------------------------------------------------- argument parsing

/** getLongFromObjectOrReply: a 64-bit integer (as a number) or -ERR value is not an integer. */
function longArgument(argument: Buffer): number | ErrorReply {
  return parseLong(argument) ?? errors.notInteger;
}

/** getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX) without a message (LREM count, LPOS RANK). */
function symmetricLongArgument(argument: Buffer): number | ErrorReply {
  const value = parseInt64(argument);
  if (value === undefined) return errors.notInteger;
  if (value === int64Min) return listErrors.notLongRange;
  return Number(value);
}

/** getPositiveLongFromObjectOrReply: every failure answers `error`. */
function positiveArgument(argument: Buffer, error: ErrorReply): number | ErrorReply {
  const value = parseInt64(argument);
  if (value === undefined || value < 0) return error;
  return Number(value);
}

/** getRangeLongFromObjectOrReply(1, LONG_MAX, message): LMPOP's numkeys and COUNT. */
function atLeastOneArgument(argument: Buffer, error: ErrorReply): number | ErrorReply {
  const value = parseInt64(argument);
  if (value === undefined || value < 1) return error;
  return Number(value);
}

/** getListPositionFromObjectOrReply: LEFT or RIGHT in any case. */
function endArgument(argument: Buffer): ListEnd | ErrorReply {
  if (isWord(argument, 'left')) return 'left';
  if (isWord(argument, 'right')) return 'right';
  return errors.syntax;
}

/**
 * getTimeoutFromObjectOrReply(UNIT_SECONDS): seconds as a long double, to ms
 * rounded up (so 0.0001 waits 1 ms, not forever); 0 = forever. A value
 * whose ms overflow a long long (inf, 1e100) reads as negative on Redis's
 * platforms, so it answers "timeout is negative" as Redis does.
 */
export function timeoutArgument(argument: Buffer): number | ErrorReply {
  const parsed = parseLongDouble(argument);
  if (parsed === undefined) return listErrors.timeoutNotFloat;
  let ms: bigint;
  if (parsed.kind === 'decimal') {
    const numerator = parsed.mantissa * 1000n;
    const denominator = 10n ** BigInt(parsed.scale);
    ms = numerator / denominator; // towards zero: the ceiling for negatives
    if (numerator > 0n && numerator % denominator !== 0n) ms += 1n;
  } else {
    if (!Number.isFinite(parsed.value)) return listErrors.timeoutNegative;
    const scaled = Math.ceil(parsed.value * 1000);
    if (!Number.isFinite(scaled)) return listErrors.timeoutNegative;
    ms = BigInt(scaled);
  }
  if (ms >= timeoutMsOverflow || ms < -timeoutMsOverflow) return listErrors.timeoutNegative;
  if (ms < 0n) return listErrors.timeoutNegative;
  return Number(ms);
}

// ---------------------------------------------------------------- shared helpers

/** Stages the lists' changes into one batch and commits it. */
function commit(ctx: ListContext, ...lists: List[]): void {
  const batch = ctx.keyspace.begin();
  for (const list of lists) list.stage(batch);
  ctx.keyspace.commit(ctx, batch);
}

/** Redis's range normalisation (LRANGE, LTRIM): [first position, count]; count 0 when empty. */
function normalizeRange(start: number, stop: number, length: number): [first: number, count: number] {
  if (start < 0) start = length + start;
  if (stop < 0) stop = length + stop;
  if (start < 0) start = 0;
  if (start > stop || start >= length) return [0, 0];
  if (stop >= length) stop = length - 1;
  return [start, stop - start + 1];
}

/** A position from a possibly negative index, or undefined when out of range. */
function position(index: number, length: number): number | undefined {
  const at = index < 0 ? length + index : index;
  return at >= 0 && at < length ? at : undefined;
}

/** Pops `count` elements (at most the list's length) from `end`, in pop order. */
function popMany(list: List, end: ListEnd, count: number): Buffer[] {
  const taken = Math.min(count, list.length);
  const out = new Array<Buffer>(taken);
  for (let index = 0; index < taken; index++) out[index] = list.pop(end);
  return out;
}

/**
 * lmoveGenericCommand: pops from `source` at `from`, pushes at `to` of
 * `destination`, one batch. undefined when the source has no list.
 * @throws WrongTypeError when either key holds another type (the destination is checked only when the source has a list)
 */
function moveElement(ctx: ListContext, db: number, source: Buffer, destination: Buffer, from: ListEnd, to: ListEnd): Buffer | undefined {
  const keyspace = ctx.keyspace;
  const sourceList = List.edit(keyspace, db, source, ctx.nowMs);
  if (!sourceList.existed) return undefined;
  const same = source.equals(destination);
  const destinationList = same ? sourceList : List.edit(keyspace, db, destination, ctx.nowMs);
  const value = sourceList.pop(from);
  destinationList.push(value, to);
  if (same) commit(ctx, sourceList);
  else commit(ctx, sourceList, destinationList);
  return value;
}

/**
 * The first key (in order) holding a list, popped: [key, value] for BLPOP
 * (count undefined), [key, [values...]] for LMPOP/BLMPOP; undefined when
 * none holds a list.
 * @param skipOtherTypes retries skip keys of another type; the command itself answers WRONGTYPE
 * @throws WrongTypeError when a key before the first list holds another type (and !skipOtherTypes)
 */
function popFirst(ctx: ListContext, db: number, keys: readonly Buffer[], end: ListEnd, count: number | undefined, skipOtherTypes: boolean): Reply | undefined {
  for (const key of keys) {
    if (skipOtherTypes && listKind(ctx.keyspace.lookup(db, key, ctx.nowMs)) !== 'list') continue;
    const list = List.edit(ctx.keyspace, db, key, ctx.nowMs);
    if (!list.existed) continue;
    const reply: Reply = count === undefined ? [key, list.pop(end)] : [key, popMany(list, end, count)];
    commit(ctx, list);
    return reply;
  }
  return undefined;
}

/** A retry's keyspace errors as replies (the handler's guard does not wrap retries). */
function guarded(attempt: () => Reply | undefined): Reply | undefined {
  try {
    return attempt();
  } catch (error) {
    if (error instanceof WrongTypeError) return errors.wrongType;
    if (error instanceof LimitExceededError) return new ErrorReply(`ERR ${error.message}`);
    throw error;
  }
}

/** Copies of the keys a blocked client waits on (the arguments are views into its socket chunks). */
function copies(keys: readonly Buffer[]): Buffer[] {
  return keys.map((key) => Buffer.from(key));
}

// ---------------------------------------------------------------- push and pop

/** pushGenericCommand: LPUSH/RPUSH, and LPUSHX/RPUSHX when `onlyIfExists`. */
function pushGeneric(end: ListEnd, onlyIfExists: boolean): CommandHandler {
  return (ctx, args) => {
    const list = List.edit(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
    if (onlyIfExists && !list.existed) return 0;
    for (let index = 2; index < args.length; index++) list.push(args[index]!, end);
    commit(ctx, list);
    return list.length;
  };
}

/** popGenericCommand: LPOP/RPOP key [count]; a nil array for a missing key when COUNT is given. */
function popGeneric(end: ListEnd): CommandHandler {
  return (ctx, args) => {
    if (args.length > 3) return errors.arity(args[0]!.toString('latin1'));
    let count: number | undefined;
    if (args.length === 3) {
      const parsed = positiveArgument(args[2]!, listErrors.notPositive);
      if (parsed instanceof ErrorReply) return parsed;
      count = parsed;
    }
    const list = List.edit(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
    if (!list.existed) return count === undefined ? null : NullArrayReply.instance;
    if (count === 0) return [];
    if (count === undefined) {
      const value = list.pop(end);
      commit(ctx, list);
      return value;
    }
    // Many elements are read by one range walk, in slices with the key locked (a keyed walk), then dropped
    // from the end in the command's turn (more than listFreedDeletesMax are left to compaction: O(1) writes).
    const taken = Math.min(count, list.length);
    const values = list.range(end === 'left' ? 0 : list.length - 1, taken, end === 'right');
    return keyedReply(ctx, values, (popped) => {
      list.trim(end === 'left' ? taken : 0, end === 'right' ? taken : 0);
      commit(ctx, list);
      return popped;
    });
  };
}

/** LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count], and BLMPOP's arguments from `numkeysIndex`. */
function parseMultiPop(args: Buffer[], numkeysIndex: number): { keys: Buffer[]; end: ListEnd; count: number } | ErrorReply {
  const numkeys = atLeastOneArgument(args[numkeysIndex]!, listErrors.numkeys);
  if (numkeys instanceof ErrorReply) return numkeys;
  const whereIndex = numkeysIndex + numkeys + 1;
  if (whereIndex >= args.length) return errors.syntax;
  const end = endArgument(args[whereIndex]!);
  if (end instanceof ErrorReply) return end;
  let count = -1;
  for (let index = whereIndex + 1; index < args.length; index++) {
    if (count === -1 && isWord(args[index]!, 'count') && index + 1 < args.length) {
      const parsed = atLeastOneArgument(args[++index]!, listErrors.count);
      if (parsed instanceof ErrorReply) return parsed;
      count = parsed;
    } else {
      return errors.syntax;
    }
  }
  return { keys: args.slice(numkeysIndex + 1, whereIndex), end, count: count === -1 ? 1 : count };
}

const lmpop: CommandHandler = (ctx, args) => {
  const parsed = parseMultiPop(args, 1);
  if (parsed instanceof ErrorReply) return parsed;
  return popFirst(ctx, ctx.db, parsed.keys, parsed.end, parsed.count, false) ?? NullArrayReply.instance;
};

// ---------------------------------------------------------------- reads

const llen: CommandHandler = (ctx, args) => List.read(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs)?.length ?? 0;

/** LINDEX key index: the key is looked up before the index is parsed, as in Redis. */
const lindex: CommandHandler = (ctx, args) => {
  const list = List.read(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (list === undefined) return null;
  const index = longArgument(args[2]!);
  if (index instanceof ErrorReply) return index;
  const at = position(index, list.length);
  return at === undefined ? null : list.element(at);
};

const lrange: CommandHandler = (ctx, args) => {
  const start = longArgument(args[2]!);
  if (start instanceof ErrorReply) return start;
  const stop = longArgument(args[3]!);
  if (stop instanceof ErrorReply) return stop;
  const list = List.read(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (list === undefined) return [];
  const [first, count] = normalizeRange(start, stop, list.length);
  if (count === 0) return [];
  return snapshotReply(list.range(first, count), (values) => values);
};

/** LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]. */
const lpos: CommandHandler = (ctx, args) => {
  let rank = 1;
  let count = -1; // -1: no COUNT option
  let maxlen = 0;
  for (let index = 3; index < args.length; index++) {
    const option = args[index]!;
    const hasNext = index + 1 < args.length;
    if (isWord(option, 'rank') && hasNext) {
      const parsed = symmetricLongArgument(args[++index]!);
      if (parsed instanceof ErrorReply) return parsed;
      if (parsed === 0) return listErrors.rankZero;
      rank = parsed;
    } else if (isWord(option, 'count') && hasNext) {
      const parsed = positiveArgument(args[++index]!, listErrors.countNegative);
      if (parsed instanceof ErrorReply) return parsed;
      count = parsed;
    } else if (isWord(option, 'maxlen') && hasNext) {
      const parsed = positiveArgument(args[++index]!, listErrors.maxlenNegative);
      if (parsed instanceof ErrorReply) return parsed;
      maxlen = parsed;
    } else {
      return errors.syntax;
    }
  }
  const list = List.read(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (list === undefined) return count === -1 ? null : [];
  const reverse = rank < 0;
  const skip = Math.abs(rank) - 1; // matches to pass before the first reported
  const element = args[2]!;
  const found: number[] = [];
  let matches = 0;
  const done = list.scan(
    reverse ? list.length - 1 : 0,
    reverse,
    (at, value) => {
      if (!value.equals(element)) return true;
      if (matches++ < skip) return true;
      found.push(at);
      return count === -1 ? false : count === 0 || found.length < count;
    },
    true,
    maxlen === 0 ? Number.POSITIVE_INFINITY : maxlen,
  );
  // A long scan walks in slices at a snapshot: other clients run meanwhile.
  return snapshotReply(done, () => (count === -1 ? (found[0] ?? null) : found));
};

// ---------------------------------------------------------------- edits

/** LSET key index element: -ERR no such key for a missing key, checked before the index. */
const lset: CommandHandler = (ctx, args) => {
  const list = List.edit(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (!list.existed) return errors.noSuchKey;
  const index = longArgument(args[2]!);
  if (index instanceof ErrorReply) return index;
  const at = position(index, list.length);
  if (at === undefined) return listErrors.outOfRange;
  list.set(at, args[3]!);
  commit(ctx, list);
  return OK;
};

/** LTRIM key start stop: moves head and tail; deletes the list when nothing is left. */
const ltrim: CommandHandler = (ctx, args) => {
  const start = longArgument(args[2]!);
  if (start instanceof ErrorReply) return start;
  const stop = longArgument(args[3]!);
  if (stop instanceof ErrorReply) return stop;
  const list = List.edit(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (!list.existed) return OK;
  const length = list.length;
  const [first, count] = normalizeRange(start, stop, length);
  if (count === 0) list.trim(length, 0);
  else list.trim(first, length - first - count);
  commit(ctx, list);
  // Redis's ltrimCommand signals the key even when nothing was trimmed (no write then): a WATCH of it fails.
  if (count === length) ctx.keyspace.hooks.onKeyModified(ctx.db, args[1]!);
  return OK;
};

/**
 * LREM key count element: scans from the head (count >= 0) or the tail
 * (count < 0) and closes the gaps on the scanned side; count 0 scans the
 * whole list and rewrites the cheaper side.
 */
const lrem: CommandHandler = (ctx, args) => {
  const toRemove = symmetricLongArgument(args[2]!);
  if (toRemove instanceof ErrorReply) return toRemove;
  const list = List.edit(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (!list.existed) return 0;
  const element = args[3]!;
  const reverse = toRemove < 0;
  const limit = Math.abs(toRemove);
  const length = list.length;
  const values: Buffer[] = []; // scanned values, in scan order
  const matches: number[] = []; // positions, in scan order
  const done = list.scan(
    reverse ? length - 1 : 0,
    reverse,
    (at, value) => {
      values.push(value);
      if (value.equals(element)) {
        matches.push(at);
        if (limit !== 0 && matches.length === limit) return false;
      }
      return true;
    },
    true,
  );
  const reply = andThen(done, (): Reply | Promise<Reply> => {
    if (matches.length === 0) return 0;
    if (reverse) matches.reverse();
    const first = matches[0]!;
    const last = matches[matches.length - 1]!;
    // The survivors of [0, last] move for side 'left', those of [first, length) for 'right'. The scan read
    // [0, last] from the head or [first, length) from the tail (all of it for count 0); the other side costs
    // also the reads of what it did not scan.
    const scannedSide: ListEnd = reverse ? 'right' : 'left';
    const otherSide: ListEnd = reverse ? 'left' : 'right';
    const unread = toRemove === 0 ? 0 : reverse ? first : length - 1 - last;
    const moves = (side: ListEnd): number => (side === 'left' ? last + 1 : length - first);
    const side = moves(otherSide) * rewriteReads + unread < moves(scannedSide) * rewriteReads ? otherSide : scannedSide;
    const scannedAt = reverse ? (at: number): Buffer => values[length - 1 - at]! : (at: number): Buffer => values[at]!;
    const remove = (rest: Buffer[], restFrom: number): Reply | Promise<Reply> =>
      inTurn(ctx, () => {
        const valueAt = rest.length === 0 ? scannedAt : (at: number): Buffer => (at >= restFrom && at < restFrom + rest.length ? rest[at - restFrom]! : scannedAt(at));
        list.removePositions(matches, valueAt, side);
        commit(ctx, list);
        return matches.length;
      });
    if (unread === 0 || side === scannedSide) return remove([], 0);
    const restFrom = reverse ? 0 : last + 1;
    return andThen(readPositions(list, restFrom, restFrom + unread), (rest) => remove(rest, restFrom));
  });
  return reply instanceof Promise ? keyedWalk(reply) : reply;
};

/**
 * Runs `write` once the command may write: at once, or when a long scan went
 * on in the background (a keyed walk), in its turn (CommandContext.turn).
 */
function inTurn(ctx: CommandContext, write: () => Reply): Reply | Promise<Reply> {
  const turn = ctx.turn?.();
  return turn === undefined ? write() : turn.then(write);
}

/** About how many element reads rewriting one element costs (its batch entry, WAL bytes and memtable version). */
const rewriteReads = 3;

/** The elements at positions [from, to) of a list not yet changed. */
function readPositions(list: List, from: number, to: number): MaybePromise<Buffer[]> {
  const read: Buffer[] = [];
  if (from >= to) return read;
  return andThen(
    list.scan(
      from,
      false,
      (at, value) => {
        read.push(value);
        return at + 1 < to;
      },
      true,
      to - from,
    ),
    () => read,
  );
}

/** LINSERT key BEFORE|AFTER pivot element: -1 when the pivot is absent, 0 for a missing key. */
const linsert: CommandHandler = (ctx, args) => {
  let after: boolean;
  if (isWord(args[2]!, 'after')) after = true;
  else if (isWord(args[2]!, 'before')) after = false;
  else return errors.syntax;
  const list = List.edit(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (!list.existed) return 0;
  const pivot = args[3]!;
  const values: Buffer[] = [];
  let pivotAt = -1;
  const done = list.scan(
    0,
    false,
    (at, value) => {
      values.push(value);
      if (!value.equals(pivot)) return true;
      pivotAt = at;
      return false;
    },
    true,
  );
  const reply = andThen(done, (): Reply | Promise<Reply> => {
    if (pivotAt === -1) return -1;
    const position = after ? pivotAt + 1 : pivotAt;
    const length = list.length;
    // The elements before the position move towards the head (all scanned), or those from it on towards
    // the tail, which must be read past the pivot first: whichever costs less.
    const unread = length - 1 - pivotAt;
    if ((length - position) * rewriteReads + unread >= position * rewriteReads) {
      return inTurn(ctx, () => {
        list.insertAt(position, args[4]!, (at) => values[at]!, 'left');
        commit(ctx, list);
        return list.length;
      });
    }
    return andThen(readPositions(list, pivotAt + 1, length), (rest) =>
      inTurn(ctx, () => {
        list.insertAt(position, args[4]!, (at) => (at <= pivotAt ? values[at]! : rest[at - pivotAt - 1]!), 'right');
        commit(ctx, list);
        return list.length;
      }),
    );
  });
  return reply instanceof Promise ? keyedWalk(reply) : reply;
};

/** The wherefrom and whereto of LMOVE/BLMOVE (arguments 3 and 4), or the error for the first bad one. */
function moveEnds(args: readonly Buffer[]): [from: ListEnd, to: ListEnd] | ErrorReply {
  const from = endArgument(args[3]!);
  if (from instanceof ErrorReply) return from;
  const to = endArgument(args[4]!);
  if (to instanceof ErrorReply) return to;
  return [from, to];
}

/** LMOVE source destination LEFT|RIGHT LEFT|RIGHT, and RPOPLPUSH (RIGHT, LEFT). */
function lmoveGeneric(fixed: [from: ListEnd, to: ListEnd] | undefined): CommandHandler {
  return (ctx, args) => {
    const ends = fixed ?? moveEnds(args);
    if (ends instanceof ErrorReply) return ends;
    const [from, to] = ends;
    return moveElement(ctx, ctx.db, args[1]!, args[2]!, from, to) ?? null;
  };
}

// ---------------------------------------------------------------- blocking

/** BLPOP/BRPOP key [key ...] timeout. */
function blockingPop(end: ListEnd): CommandHandler {
  return (ctx, args) => {
    const timeoutMs = timeoutArgument(args[args.length - 1]!);
    if (timeoutMs instanceof ErrorReply) return timeoutMs;
    const keys = args.slice(1, -1);
    const reply = popFirst(ctx, ctx.db, keys, end, undefined, false);
    if (reply !== undefined) return reply;
    const db = ctx.db;
    const waitKeys = copies(keys);
    return new BlockedReply(db, waitKeys, timeoutMs, (retry) => guarded(() => popFirst(retry, db, waitKeys, end, undefined, true)), NullArrayReply.instance, 'list');
  };
}

/** BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: LMPOP's checks come first, then the timeout. */
const blmpop: CommandHandler = (ctx, args) => {
  const parsed = parseMultiPop(args, 2);
  if (parsed instanceof ErrorReply) return parsed;
  const timeoutMs = timeoutArgument(args[1]!);
  if (timeoutMs instanceof ErrorReply) return timeoutMs;
  const { keys, end, count } = parsed;
  const reply = popFirst(ctx, ctx.db, keys, end, count, false);
  if (reply !== undefined) return reply;
  const db = ctx.db;
  const waitKeys = copies(keys);
  return new BlockedReply(db, waitKeys, timeoutMs, (retry) => guarded(() => popFirst(retry, db, waitKeys, end, count, true)), NullArrayReply.instance, 'list');
};

/**
 * BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, and BRPOPLPUSH
 * source destination timeout: blocks on the source only.
 */
function blmoveGeneric(fixed: [from: ListEnd, to: ListEnd] | undefined): CommandHandler {
  return (ctx, args) => {
    const ends = fixed ?? moveEnds(args);
    if (ends instanceof ErrorReply) return ends;
    const [from, to] = ends;
    const timeoutMs = timeoutArgument(args[args.length - 1]!);
    if (timeoutMs instanceof ErrorReply) return timeoutMs;
    const value = moveElement(ctx, ctx.db, args[1]!, args[2]!, from, to);
    if (value !== undefined) return value;
    const db = ctx.db;
    const [source, destination] = copies([args[1]!, args[2]!]) as [Buffer, Buffer];
    const retry = (retryCtx: CommandContext): Reply | undefined =>
      guarded(() => {
        if (listKind(retryCtx.keyspace.lookup(db, source, retryCtx.nowMs)) !== 'list') return undefined;
        return moveElement(retryCtx, db, source, destination, from, to);
      });
    // As Redis: a null array on timeout (replyToBlockedClientTimedOut), a null bulk where it may not block.
    return new BlockedReply(db, [source], timeoutMs, retry, NullArrayReply.instance, 'list', null, [destination]);
  };
}

// ---------------------------------------------------------------- table

const w: readonly CommandFlag[] = ['write'];
const wf: readonly CommandFlag[] = ['write', 'fast'];
const r: readonly CommandFlag[] = ['readonly'];
const rf: readonly CommandFlag[] = ['readonly', 'fast'];
const wb: readonly CommandFlag[] = ['write', 'blocking'];
const one: [number, number, number] = [1, 1, 1];
const two: [number, number, number] = [1, 2, 1];
const movable: [number, number, number] = [0, 0, 0];

/** The list family, for the command table. */
export const listCommands: CommandSpec[] = [
  spec('lpush', -3, wf, one, 'Prepends one or more elements to a list. Creates the key if it doesn\'t exist.', 'key element [element ...]', 'O(1) for each element added', pushGeneric('left', false)),
  spec('rpush', -3, wf, one, 'Appends one or more elements to a list. Creates the key if it doesn\'t exist.', 'key element [element ...]', 'O(1) for each element added', pushGeneric('right', false)),
  spec('lpushx', -3, wf, one, 'Prepends one or more elements to a list only when the list exists.', 'key element [element ...]', 'O(1) for each element added', pushGeneric('left', true)),
  spec('rpushx', -3, wf, one, 'Appends an element to a list only when the list exists.', 'key element [element ...]', 'O(1) for each element added', pushGeneric('right', true)),
  keyed(spec('lpop', -2, wf, one, 'Returns the first elements in a list after removing it. Deletes the list if the last element was popped.', 'key [count]', 'O(N) where N is the number of elements returned', popGeneric('left'))),
  keyed(spec('rpop', -2, wf, one, 'Returns and removes the last elements of a list. Deletes the list if the last element was popped.', 'key [count]', 'O(N) where N is the number of elements returned', popGeneric('right'))),
  spec('llen', 2, rf, one, 'Returns the length of a list.', 'key', 'O(1)', llen),
  spec('lindex', 3, r, one, 'Returns an element from a list by its index.', 'key index', 'O(1): one point read', lindex),
  spec('lset', 4, w, one, 'Sets the value of an element in a list by its index.', 'key index element', 'O(1): one point read and one write', lset),
  spec('lrange', 4, r, one, 'Returns a range of elements from a list.', 'key start stop', 'O(log N + M) where M is the number of elements returned (one seek)', lrange),
  spec('ltrim', 4, w, one, 'Removes elements from both ends a list. Deletes the list if all elements were trimmed.', 'key start stop', 'O(1): moves the head and tail (removed elements are deleted when at most 1024, else reclaimed by compaction)', ltrim),
  keyed(spec('lrem', 4, w, one, 'Removes elements from a list. Deletes the list if the last element was removed.', 'key count element', 'O(P) where P is the position of the last removed element from the end scanned (O(N) when count is 0)', lrem)),
  keyed(spec('linsert', 5, w, one, 'Inserts an element before or after another element in a list.', 'key <BEFORE | AFTER> pivot element', 'O(P) where P is the position of the pivot (the elements before it are rewritten)', linsert)),
  spec('lpos', -3, r, one, 'Returns the index of matching elements in a list.', 'key element [RANK rank] [COUNT num-matches] [MAXLEN len]', 'O(N) where N is the number of elements scanned', lpos),
  spec('lmove', 5, w, two, 'Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.', 'source destination <LEFT | RIGHT> <LEFT | RIGHT>', 'O(1)', lmoveGeneric(undefined)),
  spec('rpoplpush', 3, w, two, 'Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.', 'source destination', 'O(1)', lmoveGeneric(['right', 'left'])),
  spec('lmpop', -4, w, movable, 'Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.', 'numkeys key [key ...] <LEFT | RIGHT> [COUNT count]', 'O(N + M) where N is the number of keys given and M the number of elements returned', lmpop),
  spec('blpop', -3, wb, [1, -2, 1], 'Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', 'key [key ...] timeout', 'O(N) where N is the number of keys given', blockingPop('left')),
  spec('brpop', -3, wb, [1, -2, 1], 'Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', 'key [key ...] timeout', 'O(N) where N is the number of keys given', blockingPop('right')),
  spec('blmove', 6, wb, two, 'Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.', 'source destination <LEFT | RIGHT> <LEFT | RIGHT> timeout', 'O(1)', blmoveGeneric(undefined)),
  spec('brpoplpush', 4, wb, two, 'Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.', 'source destination timeout', 'O(1)', blmoveGeneric(['right', 'left'])),
  spec('blmpop', -5, wb, movable, 'Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.', 'timeout numkeys key [key ...] <LEFT | RIGHT> [COUNT count]', 'O(N + M) where N is the number of keys given and M the number of elements returned', blmpop),
];
