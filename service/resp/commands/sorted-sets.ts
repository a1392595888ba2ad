// Sorted-set commands (redis/redis src/t_zset.c): ZADD ZINCRBY ZREM ZCARD
// ZSCORE ZMSCORE ZRANK ZREVRANK ZCOUNT ZLEXCOUNT ZRANGE ZREVRANGE
// ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZRANGESTORE
// ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP BZMPOP ZREMRANGEBYRANK
// ZREMRANGEBYSCORE ZREMRANGEBYLEX ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZUNION
// ZINTER ZDIFF ZINTERCARD ZRANDMEMBER ZSCAN.
//
// The storage and the cost of each read live in lib/keyspace/zset.ts; this
// file parses arguments and shapes replies as Redis 7.2 does, checking
// errors in Redis's order (options, then ranges, then the key's type), so a
// request with several problems reports the same one. Scores are replied as
// DoubleReply: a RESP3 double, or in RESP2 a bulk string in Redis 7.2's
// shortest round-trip form (formatDouble). WITHSCORES replies are flat in
// RESP2 and [member, score] pairs in RESP3, as in Redis.
//
// Commands that may wait on an engine iterator (LevelEngine) are generators
// run by drive(): synchronous on LsmEngine, a Promise otherwise.
//
// Long walks (ZRANK of a middle member, ZCOUNT over a wide range, a large
// LIMIT offset or start index, ZRANDMEMBER of the whole set) run on an engine snapshot in
// slices of about 2 ms (zset.ts, Walk), and answer a Promise once they need
// more than one. The read-only commands mark it with snapshotRead(), so the
// dispatcher serves other clients meanwhile; they read nothing after their
// walk but the walk's result and their own client's state, which the
// dispatcher keeps still (that client's later requests wait). Commands that
// write what they walked (ZREMRANGEBYRANK, ZRANGESTORE, ZUNIONSTORE ...) and
// the set operations, whose point reads of one source while walking another
// are not at the snapshot, mark it with keyedWalk(): other clients' commands
// run too, except those that would write one of their keys, which wait
// (service/resp/key-locks.ts); the writers take their turn
// (turnToWrite) before they write, so their batch applies to the state they
// read.
//
// Blocking: BZPOPMIN, BZPOPMAX and BZMPOP pop at once when they can, and
// otherwise return a BlockedReply (reply.ts) whose retry is the same pop on
// the same keys; the server parks the client (blocking.ts), retries it when
// one of its keys is modified, answers the null array on timeout, and at
// once inside MULTI, as Redis does. The timeout is read by lists.ts's
// timeoutArgument, so every blocking command words its errors alike.

import { LimitExceededError, WrongTypeError } from '../../../lib/errors.js';
import type { MaybePromise } from '../../../lib/keyspace/keyspace.js';
import { KeyType, recordType } from '../../../lib/keyspace/metadata.js';
import { parseInt64, parseLong, int64Min } from '../../../lib/keyspace/numbers.js';
import { parseScanCursor } from '../../../lib/keyspace/collection.js';
import {
  SortedSet,
  SortedSetWriter,
  zsetStore,
  compareScored,
  parseLexRange,
  parseScore,
  parseScoreRange,
  parseScoreSigned,
  randomMembersCountMax,
  readScoreSource,
  readScores,
  type KnownScores,
  type ScoreSource,
  type ScoredMember,
} from '../../../lib/keyspace/zset.js';
import { SliceBudget, chunkEntries, drive, pointReadsSliceMin, readInSlicesAtSnapshot, wait, type Steps } from '../../../lib/keyspace/walk.js';
import { keyedReply, keyedWalk, snapshotRead, snapshotReply, turnToWrite, type CommandContext, type CommandFlag, type CommandHandler, type CommandSpec } from '../command.js';
import { formatDouble } from '../encoder.js';
import { BlockedReply, DoubleReply, ErrorReply, NullArrayReply, errors, type Reply } from '../reply.js';
import { timeoutArgument } from './lists.js';
import { isWord, keyed, spec } from './strings.js';

/** Error replies of this family, worded as Redis 7.2 words them. */
export const zsetErrors = {
  nan: new ErrorReply('ERR resulting score is not a number (NaN)'),
  xxAndNx: new ErrorReply('ERR XX and NX options at the same time are not compatible'),
  gtLtNx: new ErrorReply('ERR GT, LT, and/or NX options at the same time are not compatible'),
  incrPair: new ErrorReply('ERR INCR option supports a single increment-element pair'),
  scoreRange: new ErrorReply('ERR min or max is not a float'),
  lexRange: new ErrorReply('ERR min or max not valid string range item'),
  limitWithRank: new ErrorReply('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX'),
  withscoresWithLex: new ErrorReply('ERR syntax error, WITHSCORES not supported in combination with BYLEX'),
  notPositive: new ErrorReply('ERR value is out of range, must be positive'),
  numkeys: new ErrorReply('ERR numkeys should be greater than 0'),
  count: new ErrorReply('ERR count should be greater than 0'),
  weight: new ErrorReply('ERR weight value is not a float'),
  limitNegative: new ErrorReply("ERR LIMIT can't be negative"),
  outOfRange: new ErrorReply('ERR value is out of range'),
  longRange: new ErrorReply('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807'),
  invalidCursor: new ErrorReply('ERR invalid cursor'),
  atLeastOneKey: (command: string): ErrorReply => new ErrorReply(`ERR at least 1 input key is needed for '${command}' command`),
} as const;

// ---------------------------------------------------------------- helpers

/** Members, with their scores when asked: flat in RESP2, [member, score] pairs in RESP3. */
function scoredReply(entries: readonly ScoredMember[], withScores: boolean, protocol: 2 | 3): Reply {
  if (!withScores) return entries.map((entry) => entry.member);
  if (protocol === 3) return entries.map((entry) => [entry.member, new DoubleReply(entry.score)]);
  const out: Reply[] = [];
  for (const entry of entries) out.push(entry.member, new DoubleReply(entry.score));
  return out;
}

/** A handler written as a generator (see drive() in lib/keyspace/zset.ts). */
function steps(body: (ctx: CommandContext, args: Buffer[]) => Steps<Reply>): CommandHandler {
  return (ctx, args) => drive(body(ctx, args));
}

/**
 * A read-only handler written as a generator whose reads after its first
 * pause are all at its Walk's snapshot: an answer that is not ready at once
 * is a snapshot read, so other clients' commands run while it walks.
 */
function readSteps(body: (ctx: CommandContext, args: Buffer[]) => Steps<Reply>): CommandHandler {
  return (ctx, args) => {
    const reply = drive(body(ctx, args));
    return reply instanceof Promise ? snapshotRead(reply) : reply;
  };
}

/**
 * A handler written as a generator that reads only its key arguments (locked
 * while it walks) and writes, if at all, after `yield* turnToWrite(ctx)`:
 * an answer that is not ready at once is a keyed walk (command.ts).
 */
function keyedSteps(body: (ctx: CommandContext, args: Buffer[]) => Steps<Reply>): CommandHandler {
  return (ctx, args) => {
    const reply = drive(body(ctx, args));
    return reply instanceof Promise ? keyedWalk(reply) : reply;
  };
}

/** The live sorted set at `key` for reading. @throws WrongTypeError */
function readZset(ctx: CommandContext, key: Buffer): SortedSet | undefined {
  return SortedSet.read(ctx.keyspace, ctx.db, key, ctx.nowMs);
}

/** Redis's rank sanitizing (ZRANGE, ZREMRANGEBYRANK): [first, last] within the set, or undefined when empty. */
function rankWindow(start: number, end: number, size: number): [first: number, last: number] | undefined {
  let first = start < 0 ? size + start : start;
  let last = end < 0 ? size + end : end;
  if (first < 0) first = 0;
  if (first > last || first >= size) return undefined;
  if (last >= size) last = size - 1;
  return [first, last];
}

// ---------------------------------------------------------------- ZADD, ZINCRBY, ZREM

const AddFlag = { nx: 1, xx: 2, ch: 4, incr: 8, gt: 16, lt: 32 } as const;

const addOptionWords: readonly [string, number][] = [
  ['nx', AddFlag.nx],
  ['xx', AddFlag.xx],
  ['ch', AddFlag.ch],
  ['incr', AddFlag.incr],
  ['gt', AddFlag.gt],
  ['lt', AddFlag.lt],
];

/**
 * zaddGenericCommand: ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...
 * and ZINCRBY key increment member (INCR set). O(log N) per member: one `S`
 * read, at most four keys written.
 */
function zaddGeneric(ctx: CommandContext, args: Buffer[], startFlags: number): Reply | Promise<Reply> {
  let flags = startFlags;
  let scoreIndex = 2;
  for (; scoreIndex < args.length; scoreIndex++) {
    const option = args[scoreIndex]!;
    const word = addOptionWords.find(([name]) => isWord(option, name));
    if (word === undefined) break;
    flags |= word[1];
  }
  const incr = (flags & AddFlag.incr) !== 0;
  const nx = (flags & AddFlag.nx) !== 0;
  const xx = (flags & AddFlag.xx) !== 0;
  const gt = (flags & AddFlag.gt) !== 0;
  const lt = (flags & AddFlag.lt) !== 0;
  const elements = args.length - scoreIndex;
  if (elements % 2 !== 0 || elements === 0) return errors.syntax;
  if (nx && xx) return zsetErrors.xxAndNx;
  if ((gt && nx) || (lt && nx) || (gt && lt)) return zsetErrors.gtLtNx;
  if (incr && elements > 2) return zsetErrors.incrPair;
  const scores: number[] = [];
  for (let index = scoreIndex; index < args.length; index += 2) {
    const score = parseScore(args[index]!);
    if (score === undefined) return errors.notFloat;
    scores.push(score);
  }
  // Thousands of members: their scores are read first, in slices, the key locked (a keyed walk).
  const known = readScores(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs, args, scoreIndex + 1, 2);
  return keyedReply(ctx, known, (scoresRead) => zaddWrite(ctx, args, scoreIndex, scores, flags, scoresRead));
}

/** ZADD's write, its arguments checked (`known`: readScores() of its members). */
function zaddWrite(ctx: CommandContext, args: Buffer[], scoreIndex: number, scores: readonly number[], flags: number, known: KnownScores | undefined): Reply {
  const nx = (flags & AddFlag.nx) !== 0;
  const xx = (flags & AddFlag.xx) !== 0;
  const gt = (flags & AddFlag.gt) !== 0;
  const lt = (flags & AddFlag.lt) !== 0;
  const incr = (flags & AddFlag.incr) !== 0;
  const writer = SortedSetWriter.load(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs, known);
  if (!writer.exists && xx) return incr ? null : 0;
  let added = 0;
  let updated = 0;
  let processed = 0;
  let last = 0;
  for (let pair = 0; pair < scores.length; pair++) {
    const member = args[scoreIndex + 2 * pair + 1]!;
    const current = writer.score(member);
    let score = scores[pair]!;
    if (current === undefined) {
      if (xx) continue;
    } else {
      if (nx) continue;
      if (incr) {
        score += current;
        if (Number.isNaN(score)) return zsetErrors.nan;
      }
      if ((lt && score >= current) || (gt && score <= current)) continue;
    }
    processed++;
    // A new member's INCR answers the increment as given, -0 included (silt stores every -0 as 0: docs/commands.md).
    last = incr && current === undefined ? parseScoreSigned(args[scoreIndex + 2 * pair]!)! : score;
    const outcome = writer.add(member, score);
    if (outcome === 'added') added++;
    else if (outcome === 'updated') updated++;
  }
  writer.commit(ctx);
  if (incr) return processed > 0 ? new DoubleReply(last) : null;
  return (flags & AddFlag.ch) !== 0 ? added + updated : added;
}

/** ZREM key member [member ...] — O(log N) per member. */
const zrem: CommandHandler = (ctx, args) => {
  // Thousands of members: their scores are read first, in slices, the key locked (a keyed walk).
  return keyedReply(ctx, readScores(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs, args, 2), (known) => {
    const writer = SortedSetWriter.load(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs, known);
    if (!writer.exists) return 0;
    let deleted = 0;
    for (let index = 2; index < args.length && writer.size > 0; index++) {
      if (writer.remove(args[index]!)) deleted++;
    }
    writer.commit(ctx);
    return deleted;
  });
};

// ---------------------------------------------------------------- point reads

/** ZCARD key — O(1): the metadata size. */
const zcard: CommandHandler = (ctx, args) => readZset(ctx, args[1]!)?.size ?? 0;

/** ZSCORE key member — O(1) point read. */
const zscore: CommandHandler = (ctx, args) => {
  const score = readZset(ctx, args[1]!)?.score(args[2]!);
  return score === undefined ? null : new DoubleReply(score);
};

/** ZMSCORE key member [member ...] — one point read per member; many in slices at a snapshot (a snapshot read once they pause). */
const zmscore: CommandHandler = (ctx, args) => {
  const zset = readZset(ctx, args[1]!);
  const out = new Array<Reply>(args.length - 2).fill(null);
  if (zset === undefined) return out;
  const done = readInSlicesAtSnapshot(ctx.keyspace.engine, out.length, (index, at) => {
    const score = zset.score(args[index + 2]!, at);
    if (score !== undefined) out[index] = new DoubleReply(score);
  });
  return snapshotReply(done, () => out);
};

/** zrankGenericCommand: ZRANK/ZREVRANK key member [WITHSCORE] — O(min(rank, N - rank)). */
function zrankGeneric(name: string, reverse: boolean): CommandHandler {
  return readSteps(function* (ctx, args) {
    if (args.length > 4) return errors.arity(name);
    let withScore = false;
    if (args.length === 4) {
      if (!isWord(args[3]!, 'withscore')) return errors.syntax;
      withScore = true;
    }
    const missing = withScore ? NullArrayReply.instance : null;
    const zset = readZset(ctx, args[1]!);
    if (zset === undefined) return missing;
    const found = yield* wait(zset.rank(args[2]!, reverse));
    if (found === undefined) return missing;
    return withScore ? [found.rank, new DoubleReply(found.score)] : found.rank;
  });
}

/** ZCOUNT key min max — O(log N + M), M the members counted. */
const zcount = readSteps(function* (ctx, args) {
  const range = parseScoreRange(args[2]!, args[3]!);
  if (range === undefined) return zsetErrors.scoreRange;
  const zset = readZset(ctx, args[1]!);
  if (zset === undefined) return 0;
  return yield* wait(zset.countByScore(range));
});

/** ZLEXCOUNT key min max — O(log N + M). */
const zlexcount = readSteps(function* (ctx, args) {
  const range = parseLexRange(args[2]!, args[3]!);
  if (range === undefined) return zsetErrors.lexRange;
  const zset = readZset(ctx, args[1]!);
  if (zset === undefined) return 0;
  return yield* wait(zset.countByLex(range));
});

// ---------------------------------------------------------------- ranges

type RangeType = 'auto' | 'rank' | 'score' | 'lex';
type Direction = 'auto' | 'forward' | 'reverse';

/**
 * zrangeGenericCommand: ZRANGE, ZREVRANGE, Z[REV]RANGEBYSCORE,
 * Z[REV]RANGEBYLEX and ZRANGESTORE (`store`: args[1] is the destination,
 * the source is args[2]).
 */
function zrangeGeneric(store: boolean, fixedType: RangeType, fixedDirection: Direction): CommandHandler {
  const sourceIndex = store ? 2 : 1;
  return (store ? keyedSteps : readSteps)(function* (ctx, args) {
    let rangeType = fixedType;
    let direction = fixedDirection;
    let withScores = false;
    let offset = 0;
    let limit = -1;
    for (let index = sourceIndex + 3; index < args.length; index++) {
      const option = args[index]!;
      const left = args.length - index - 1;
      if (!store && isWord(option, 'withscores')) {
        withScores = true;
      } else if (isWord(option, 'limit') && left >= 2) {
        const first = parseLong(args[index + 1]!);
        if (first === undefined) return errors.notInteger;
        const count = parseLong(args[index + 2]!);
        if (count === undefined) return errors.notInteger;
        offset = first;
        limit = count;
        index += 2;
      } else if (direction === 'auto' && isWord(option, 'rev')) {
        direction = 'reverse';
      } else if (rangeType === 'auto' && isWord(option, 'bylex')) {
        rangeType = 'lex';
      } else if (rangeType === 'auto' && isWord(option, 'byscore')) {
        rangeType = 'score';
      } else {
        return errors.syntax;
      }
    }
    if (rangeType === 'auto') rangeType = 'rank';
    const reverse = direction === 'reverse';
    if (limit !== -1 && rangeType === 'rank') return zsetErrors.limitWithRank;
    if (withScores && rangeType === 'lex') return zsetErrors.withscoresWithLex;
    // Z[REV]RANGEBYSCORE and BYLEX with REV take max before min.
    const swap = reverse && rangeType !== 'rank';
    const minArg = args[sourceIndex + (swap ? 2 : 1)]!;
    const maxArg = args[sourceIndex + (swap ? 1 : 2)]!;

    let read: (zset: SortedSet) => ReturnType<SortedSet['rangeByScore']>;
    if (rangeType === 'rank') {
      const start = parseLong(minArg);
      if (start === undefined) return errors.notInteger;
      const end = parseLong(maxArg);
      if (end === undefined) return errors.notInteger;
      read = (zset) => {
        const window = rankWindow(start, end, zset.size);
        if (window === undefined) return [];
        const [first, last] = window;
        if (!reverse) return zset.rangeByRank(first, last);
        const size = zset.size;
        const found = zset.rangeByRank(size - 1 - last, size - 1 - first);
        return found instanceof Promise ? found.then((entries) => entries.reverse()) : found.reverse();
      };
    } else if (rangeType === 'score') {
      const range = parseScoreRange(minArg, maxArg);
      if (range === undefined) return zsetErrors.scoreRange;
      read = (zset) => zset.rangeByScore(range, { reverse, offset, limit });
    } else {
      const range = parseLexRange(minArg, maxArg);
      if (range === undefined) return zsetErrors.lexRange;
      read = (zset) => zset.rangeByLex(range, { reverse, offset, limit });
    }

    const zset = readZset(ctx, args[sourceIndex]!);
    const entries = zset === undefined ? [] : yield* wait(read(zset));
    if (!store) return scoredReply(entries, withScores, ctx.protocol);
    return yield* zsetStore(ctx.keyspace, ctx, args[1]!, entries);
  });
}


// ---------------------------------------------------------------- removing ranges

/** zremrangeGenericCommand: ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX — O(log N + M) (by rank: the walk of ZRANGE). */
function zremrangeGeneric(rangeType: 'rank' | 'score' | 'lex'): CommandHandler {
  return keyedSteps(function* (ctx, args) {
    let read: (zset: SortedSet) => ReturnType<SortedSet['rangeByScore']>;
    if (rangeType === 'rank') {
      const start = parseLong(args[2]!);
      if (start === undefined) return errors.notInteger;
      const end = parseLong(args[3]!);
      if (end === undefined) return errors.notInteger;
      read = (zset) => {
        const window = rankWindow(start, end, zset.size);
        return window === undefined ? [] : zset.rangeByRank(window[0], window[1]);
      };
    } else if (rangeType === 'score') {
      const range = parseScoreRange(args[2]!, args[3]!);
      if (range === undefined) return zsetErrors.scoreRange;
      read = (zset) => zset.rangeByScore(range, { reverse: false, offset: 0, limit: -1 });
    } else {
      const range = parseLexRange(args[2]!, args[3]!);
      if (range === undefined) return zsetErrors.lexRange;
      read = (zset) => zset.rangeByLex(range, { reverse: false, offset: 0, limit: -1 });
    }
    const writer = SortedSetWriter.load(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
    if (!writer.exists) return 0;
    const entries = yield* wait(read(writer));
    if (entries.length === 0) return 0;
    // A large share of the set goes: the rest is rewritten ahead, under a new version (zset.ts).
    if (yield* writer.removeByRewrite(ctx, entries, rangeType === 'lex' ? 'member' : 'score')) return entries.length;
    yield* turnToWrite(ctx);
    writer.removeEntries(entries);
    writer.commit(ctx);
    return entries.length;
  });
}

// ---------------------------------------------------------------- pops

/** How genericZpopCommand shapes its reply. */
interface PopShape {
  /** Put the key first (BZPOP*, ZMPOP). */
  emitKey: boolean;
  /** [member, score] pairs (ZMPOP; ZPOP* with a count in RESP3). */
  nested: boolean;
}

/**
 * genericZpopCommand: pops up to `count` (-1: one, the single-pop form)
 * members from the first key that holds a sorted set. O(log N + M).
 * @param skipOtherTypes a blocked client's retry: keys of another type are passed over (Redis wakes
 *   a waiter only for a key of the type it waits for); the command itself answers WRONGTYPE
 * @returns the reply, or undefined when no key holds one (a blocking command would wait)
 */
function* popSteps(ctx: CommandContext, db: number, keys: readonly Buffer[], max: boolean, count: number, shape: PopShape, skipOtherTypes = false): Steps<Reply | undefined> {
  let writer: SortedSetWriter | undefined;
  for (const key of keys) {
    if (skipOtherTypes) {
      const record = ctx.keyspace.lookup(db, key, ctx.nowMs);
      if (record === undefined || recordType(record) !== KeyType.zset) continue;
    }
    const candidate = SortedSetWriter.load(ctx.keyspace, db, key, ctx.nowMs);
    if (candidate.exists) {
      writer = candidate;
      break;
    }
  }
  if (writer === undefined) return undefined;
  if (count === 0) return [];
  const entries = yield* wait(writer.ends(Math.min(count === -1 ? 1 : count, writer.size), max));
  writer.removeEntries(entries);
  writer.commit(ctx);
  return popReply(writer, entries, shape);
}

/** The reply of a pop of `entries` from `writer`'s key, in `shape`. */
function popReply(writer: SortedSetWriter, entries: readonly ScoredMember[], shape: PopShape): Reply {
  const pairs: Reply[] = [];
  for (const entry of entries) {
    if (shape.nested) pairs.push([entry.member, new DoubleReply(entry.score)]);
    else pairs.push(entry.member, new DoubleReply(entry.score));
  }
  if (!shape.emitKey) return pairs;
  return shape.nested ? [writer.key, pairs] : [writer.key, ...pairs];
}

/**
 * ZPOPMIN/ZPOPMAX key [count]. A count reads its members in slices (a keyed
 * walk: the key is locked meanwhile), then removes them in its turn.
 */
function zpopGeneric(max: boolean): CommandHandler {
  return keyedSteps(function* (ctx, args) {
    if (args.length > 3) return errors.syntax;
    let count = -1;
    if (args.length === 3) {
      const parsed = parseLong(args[2]!);
      if (parsed === undefined || parsed < 0) return zsetErrors.notPositive;
      count = parsed;
    }
    const shape = { emitKey: false, nested: ctx.protocol === 3 && count !== -1 };
    if (count === -1) return (yield* popSteps(ctx, ctx.db, [args[1]!], max, count, shape)) ?? [];
    const writer = SortedSetWriter.load(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
    if (!writer.exists || count === 0) return [];
    const entries = yield* wait(writer.ends(Math.min(count, writer.size), max, true));
    if (!(yield* writer.removeByRewrite(ctx, entries, 'score'))) {
      yield* turnToWrite(ctx);
      writer.removeEntries(entries);
      writer.commit(ctx);
    }
    return popReply(writer, entries, shape);
  });
}

/** ZMPOP/BZMPOP arguments after the timeout. */
interface MpopRequest {
  keys: Buffer[];
  max: boolean;
  count: number;
}

/** zmpopGenericCommand's parsing: numkeys key [key ...] MIN|MAX [COUNT count], numkeys at args[numkeysIndex]. */
function parseMpop(args: Buffer[], numkeysIndex: number): MpopRequest | ErrorReply {
  const numkeys = parseLong(args[numkeysIndex]!);
  if (numkeys === undefined || numkeys < 1) return zsetErrors.numkeys;
  const whereIndex = numkeysIndex + numkeys + 1;
  if (whereIndex >= args.length) return errors.syntax;
  const where = args[whereIndex]!;
  let max: boolean;
  if (isWord(where, 'min')) max = false;
  else if (isWord(where, 'max')) max = true;
  else return errors.syntax;
  let count = -1;
  for (let index = whereIndex + 1; index < args.length; index++) {
    const more = args.length - 1 - index;
    if (count === -1 && isWord(args[index]!, 'count') && more > 0) {
      const parsed = parseLong(args[++index]!);
      if (parsed === undefined || parsed < 1) return zsetErrors.count;
      count = parsed;
    } else {
      return errors.syntax;
    }
  }
  return { keys: args.slice(numkeysIndex + 1, whereIndex), max, count: count === -1 ? 1 : count };
}

const mpopShape: PopShape = { emitKey: true, nested: true };
const bzpopShape: PopShape = { emitKey: true, nested: false };

/** ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]. */
const zmpop = steps(function* (ctx, args) {
  const request = parseMpop(args, 1);
  if (request instanceof ErrorReply) return request;
  return (yield* popSteps(ctx, ctx.db, request.keys, request.max, request.count, mpopShape)) ?? NullArrayReply.instance;
});

/**
 * BZPOPMIN/BZPOPMAX's pop: [key, member, score] from the first of `keys`
 * (in `db`) holding a sorted set, or undefined when none does.
 */
function bzpopNow(ctx: CommandContext, db: number, keys: readonly Buffer[], max: boolean, skipOtherTypes = false): MaybePromise<Reply | undefined> {
  return drive(popSteps(ctx, db, keys, max, -1, bzpopShape, skipOtherTypes));
}

/**
 * A blocked client's retry: the pop again, with WRONGTYPE and limit errors
 * as replies (guard() does this for handlers; a retry is not one).
 */
function retryPop(attempt: () => MaybePromise<Reply | undefined>): MaybePromise<Reply | undefined> {
  const asReply = (error: unknown): Reply => {
    if (error instanceof WrongTypeError) return errors.wrongType;
    if (error instanceof LimitExceededError) return new ErrorReply(`ERR ${error.message}`);
    throw error;
  };
  try {
    const result = attempt();
    return result instanceof Promise ? result.catch(asReply) : result;
  } catch (error) {
    return asReply(error);
  }
}

/** BZPOPMIN/BZPOPMAX key [key ...] timeout. */
function bzpopGeneric(max: boolean): CommandHandler {
  return steps(function* (ctx, args) {
    const timeoutMs = timeoutArgument(args[args.length - 1]!);
    if (timeoutMs instanceof ErrorReply) return timeoutMs;
    const keys = args.slice(1, -1);
    const popped = yield* wait(bzpopNow(ctx, ctx.db, keys, max));
    if (popped !== undefined) return popped;
    const db = ctx.db;
    const waitKeys = keys.map((key) => Buffer.from(key));
    return new BlockedReply(db, waitKeys, timeoutMs, (retry) => retryPop(() => bzpopNow(retry, db, waitKeys, max, true)), NullArrayReply.instance, 'zset');
  });
}

/** BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP's checks come first, then the timeout. */
const bzmpop = steps(function* (ctx, args) {
  const request = parseMpop(args, 2);
  if (request instanceof ErrorReply) return request;
  const timeoutMs = timeoutArgument(args[1]!);
  if (timeoutMs instanceof ErrorReply) return timeoutMs;
  const { max, count } = request;
  const popped = yield* popSteps(ctx, ctx.db, request.keys, max, count, mpopShape);
  if (popped !== undefined) return popped;
  const db = ctx.db;
  const waitKeys = request.keys.map((key) => Buffer.from(key));
  return new BlockedReply(db, waitKeys, timeoutMs, (retry) => retryPop(() => drive(popSteps(retry, db, waitKeys, max, count, mpopShape, true))), NullArrayReply.instance, 'zset');
});

// ---------------------------------------------------------------- union, intersection, difference

type SetOperation = 'union' | 'inter' | 'diff';
type Aggregate = 'sum' | 'min' | 'max';

/** zunionInterAggregate: NaN sums (inf + -inf) become 0, as in Redis. */
function aggregate(target: number, value: number, how: Aggregate): number {
  if (how === 'sum') {
    const sum = target + value;
    return Number.isNaN(sum) ? 0 : sum;
  }
  if (how === 'min') return value < target ? value : target;
  return value > target ? value : target;
}

/**
 * zunionInterDiffGenericCommand: Z{UNION,INTER,DIFF}[STORE] and ZINTERCARD.
 * Sources may be sorted sets or sets (members score 1). Union reads every
 * source, O(sum of sizes); intersection and difference walk the first (for
 * intersection the smallest) source and look each member up in the others,
 * O(N * K) point reads.
 */
function setOperation(name: string, op: SetOperation, store: boolean, cardinalityOnly: boolean): CommandHandler {
  const numkeysIndex = store ? 2 : 1;
  return keyedSteps(function* (ctx, args) {
    const numkeys = parseLong(args[numkeysIndex]!);
    if (numkeys === undefined) return errors.notInteger;
    if (numkeys < 1) return zsetErrors.atLeastOneKey(name);
    if (numkeys > args.length - (numkeysIndex + 1)) return errors.syntax;
    const sources: (ScoreSource | undefined)[] = [];
    const weights: number[] = [];
    let index = numkeysIndex + 1;
    for (let source = 0; source < numkeys; source++, index++) {
      sources.push(readScoreSource(ctx.keyspace, ctx.db, args[index]!, ctx.nowMs));
      weights.push(1);
    }
    let how: Aggregate = 'sum';
    let withScores = false;
    let limit = 0;
    while (index < args.length) {
      const option = args[index]!;
      const remaining = args.length - index;
      if (op !== 'diff' && !cardinalityOnly && remaining >= numkeys + 1 && isWord(option, 'weights')) {
        index++;
        for (let source = 0; source < numkeys; source++, index++) {
          const weight = parseScoreSigned(args[index]!);
          if (weight === undefined) return zsetErrors.weight;
          weights[source] = weight;
        }
      } else if (op !== 'diff' && !cardinalityOnly && remaining >= 2 && isWord(option, 'aggregate')) {
        const word = args[index + 1]!;
        if (isWord(word, 'sum')) how = 'sum';
        else if (isWord(word, 'min')) how = 'min';
        else if (isWord(word, 'max')) how = 'max';
        else return errors.syntax;
        index += 2;
      } else if (!store && !cardinalityOnly && isWord(option, 'withscores')) {
        withScores = true;
        index++;
      } else if (cardinalityOnly && remaining >= 2 && isWord(option, 'limit')) {
        const parsed = parseLong(args[index + 1]!);
        if (parsed === undefined || parsed < 0) return zsetErrors.limitNegative;
        limit = parsed;
        index += 2;
      } else {
        return errors.syntax;
      }
    }

    let result: ScoredMember[];
    if (op === 'union') result = yield* unionSteps(sources, weights, how);
    else if (op === 'inter') result = yield* interSteps(sources, weights, how, cardinalityOnly ? limit : 0);
    else result = yield* diffSteps(sources);
    if (cardinalityOnly) return result.length;
    // A stored result needs no order (the key space orders it): sorting a million members held the event loop 0.7 s.
    if (store) return yield* zsetStore(ctx.keyspace, ctx, args[1]!, result);
    result.sort(compareScored);
    return scoredReply(result, withScores, ctx.protocol);
  });
}

function* unionSteps(sources: readonly (ScoreSource | undefined)[], weights: readonly number[], how: Aggregate): Steps<ScoredMember[]> {
  const accumulated = new Map<string, { member: Buffer; score: number }>();
  // Smallest input first, as Redis's zunionInterDiffGenericCommand sorts them: a SUM of three or
  // more scores rounds by the order it adds them in (1 + 0.1 + 0.1 is not 0.1 + 0.1 + 1).
  const order = sources.map((source, index) => ({ source, weight: weights[index]! }));
  order.sort((a, b) => (a.source?.size ?? 0) - (b.source?.size ?? 0));
  const slice = new SliceBudget();
  for (const { source, weight } of order) {
    if (source === undefined || source.size === 0) continue;
    const entries = yield* wait(source.entries());
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      let score = weight * entry.score;
      if (Number.isNaN(score)) score = 0;
      const name = entry.member.toString('latin1');
      const existing = accumulated.get(name);
      if (existing === undefined) accumulated.set(name, { member: entry.member, score });
      else existing.score = aggregate(existing.score, score, how);
      if (index % chunkEntries === chunkEntries - 1 && slice.spend(chunkEntries)) yield* slice.pause();
    }
  }
  return [...accumulated.values()];
}

function* interSteps(sources: readonly (ScoreSource | undefined)[], weights: readonly number[], how: Aggregate, limit: number): Steps<ScoredMember[]> {
  const order = sources.map((source, index) => ({ source, weight: weights[index]! }));
  order.sort((a, b) => (a.source?.size ?? 0) - (b.source?.size ?? 0));
  const first = order[0]!;
  if (first.source === undefined || first.source.size === 0) return [];
  const out: ScoredMember[] = [];
  const slice = new SliceBudget(pointReadsSliceMin);
  const entries = yield* wait(first.source.entries());
  for (let index = 0; index < entries.length; index++) {
    // A point read per other source and entry: a slice is about walkSlice.durationMsMax of them.
    if (index % chunkEntries === chunkEntries - 1 && slice.spend(chunkEntries)) yield* slice.pause();
    const entry = entries[index]!;
    let score = first.weight * entry.score;
    if (Number.isNaN(score)) score = 0;
    let everywhere = true;
    for (let other = 1; other < order.length; other++) {
      const { source, weight } = order[other]!;
      if (source!.key.equals(first.source.key)) {
        score = aggregate(score, entry.score * weight, how);
        continue;
      }
      const found = source!.score(entry.member);
      if (found === undefined) {
        everywhere = false;
        break;
      }
      score = aggregate(score, found * weight, how);
    }
    if (!everywhere) continue;
    out.push({ member: entry.member, score });
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

function* diffSteps(sources: readonly (ScoreSource | undefined)[]): Steps<ScoredMember[]> {
  const first = sources[0];
  if (first === undefined || first.size === 0) return [];
  const out: ScoredMember[] = [];
  const slice = new SliceBudget(pointReadsSliceMin);
  const entries = yield* wait(first.entries());
  for (let index = 0; index < entries.length; index++) {
    if (index % chunkEntries === chunkEntries - 1 && slice.spend(chunkEntries)) yield* slice.pause();
    const entry = entries[index]!;
    let elsewhere = false;
    for (let other = 1; other < sources.length && !elsewhere; other++) {
      const source = sources[other];
      if (source === undefined) continue;
      elsewhere = source.key.equals(first.key) || source.score(entry.member) !== undefined;
    }
    if (!elsewhere) out.push(entry);
  }
  return out;
}

// ---------------------------------------------------------------- random members, scan

const longMax = 9_223_372_036_854_775_807n;

/**
 * ZRANDMEMBER key [count [WITHSCORES]]: picks as HRANDFIELD does (zset.ts,
 * random()). A distinct count of at least the set's size walks it (at its
 * Walk's snapshot); other picks read at their probe's snapshot
 * (collection.ts, randomEntries): either way a snapshot read once it pauses.
 */
const zrandmember: CommandHandler = (ctx, args) => {
  const reply = drive(zrandmemberSteps(ctx, args));
  return reply instanceof Promise ? snapshotRead(reply) : reply;
};

function* zrandmemberSteps(ctx: CommandContext, args: Buffer[]): Steps<Reply> {
  if (args.length === 2) {
    const zset = readZset(ctx, args[1]!);
    if (zset === undefined) return null;
    const [picked] = yield* wait(zset.random(1, true));
    return picked === undefined ? null : picked.member;
  }
  const parsed = parseInt64(args[2]!);
  if (parsed === undefined) return errors.notInteger;
  if (parsed === int64Min) return zsetErrors.longRange;
  let withScores = false;
  if (args.length > 4 || (args.length === 4 && !isWord(args[3]!, 'withscores'))) return errors.syntax;
  if (args.length === 4) {
    withScores = true;
    if (BigInt(parsed) < -longMax / 2n || BigInt(parsed) > longMax / 2n) return zsetErrors.outOfRange;
  }
  const zset = readZset(ctx, args[1]!);
  if (zset === undefined) return [];
  const count = Number(parsed);
  if (count === 0) return [];
  // As SRANDMEMBER and HRANDFIELD (repeatedPicksTooMany): the reply is built in memory.
  if (count < 0 && -count > randomMembersCountMax) return zsetErrors.outOfRange;
  const picked = yield* wait(count > 0 ? zset.random(count, true) : zset.random(-count, false));
  return scoredReply(picked, withScores, ctx.protocol);
}

/**
 * ZSCAN key cursor [MATCH pattern] [COUNT count] — O(COUNT) per call, in
 * member order. Cursors stand for "after this member" in the keyspace's
 * cursor table; an unknown one restarts the scan.
 */
const zscan = steps(function* (ctx, args) {
  const cursor = parseScanCursor(args[2]!);
  if (cursor === undefined) return zsetErrors.invalidCursor;
  const zset = readZset(ctx, args[1]!);
  if (zset === undefined) return ['0', []];
  let count = 10;
  let match: Buffer | undefined;
  for (let index = 3; index < args.length; index += 2) {
    const option = args[index]!;
    const hasValue = index + 1 < args.length;
    if (isWord(option, 'count') && hasValue) {
      const value = parseLong(args[index + 1]!);
      if (value === undefined) return errors.notInteger;
      if (value < 1) return errors.syntax;
      count = value;
    } else if (isWord(option, 'novalues')) {
      return errors.noValuesOnlyHscan; // as Redis 7.4 (7.0: a syntax error); only HSCAN takes it
    } else if (isWord(option, 'match') && hasValue) {
      match = args[index + 1]!;
    } else {
      return errors.syntax;
    }
  }
  const cursors = ctx.keyspace.scanCursors;
  const scope = `zset:${ctx.db}:${zset.version}:${zset.key.toString('latin1')}`;
  const after = cursor === 0 ? undefined : cursors.resolve(scope, cursor);
  const { entries, next } = yield* wait(zset.scan(after, count, match));
  const flat: Reply[] = [];
  for (const entry of entries) flat.push(entry.member, formatDouble(entry.score));
  return [next === undefined ? '0' : String(cursors.register(scope, Buffer.from(next))), flat];
});

// ---------------------------------------------------------------- table

const w: readonly CommandFlag[] = ['write'];
const wf: readonly CommandFlag[] = ['write', 'fast'];
const r: readonly CommandFlag[] = ['readonly'];
const rf: readonly CommandFlag[] = ['readonly', 'fast'];
const wb: readonly CommandFlag[] = ['write', 'blocking'];
const one: [number, number, number] = [1, 1, 1];
/** Commands whose keys follow a numkeys argument: Redis marks them movablekeys; these are the legacy positions. */
const storeKeys: [number, number, number] = [1, 1, 1];
const numkeysKeys: [number, number, number] = [0, 0, 0];

const rangeSyntax = 'key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]';
const setOpSyntax = 'numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE <SUM | MIN | MAX>]';

/** The sorted-set family, for the command table. */
export const sortedSetCommands: readonly CommandSpec[] = [
  keyed(spec('zadd', -4, wf, one, 'Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn\'t exist', 'key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]', 'O(log N) per member: one point read, at most four keys written', (ctx, args) => zaddGeneric(ctx, args, 0))),
  spec('zincrby', 4, wf, one, 'Increments the score of a member in a sorted set', 'key increment member', 'O(log N)', (ctx, args) => zaddGeneric(ctx, args, AddFlag.incr)),
  keyed(spec('zrem', -3, wf, one, 'Removes one or more members from a sorted set. Deletes the sorted set if all members were removed', 'key member [member ...]', 'O(M log N) where M is the number of members to remove', zrem)),
  spec('zcard', 2, rf, one, 'Returns the number of members in a sorted set', 'key', 'O(1)', zcard),
  spec('zscore', 3, rf, one, 'Returns the score of a member in a sorted set', 'key member', 'O(1) point read', zscore),
  spec('zmscore', -3, rf, one, 'Returns the score of one or more members in a sorted set', 'key member [member ...]', 'O(M) point reads, M the members asked', zmscore),
  spec('zrank', -3, rf, one, 'Returns the index of a member in a sorted set ordered by ascending scores', 'key member [WITHSCORE]', 'O(min(rank, N - rank)): an ordered key space walks to the member from both ends', zrankGeneric('zrank', false)),
  spec('zrevrank', -3, rf, one, 'Returns the index of a member in a sorted set ordered by descending scores', 'key member [WITHSCORE]', 'O(min(rank, N - rank)): an ordered key space walks to the member from both ends', zrankGeneric('zrevrank', true)),
  spec('zcount', 4, rf, one, 'Returns the count of members in a sorted set that have scores within a range', 'key min max', 'O(log N + M) where M is the number of members counted', zcount),
  spec('zlexcount', 4, rf, one, 'Returns the number of members in a sorted set within a lexicographical range', 'key min max', 'O(log N + M) where M is the number of members counted', zlexcount),
  spec('zrange', -4, r, one, 'Returns members in a sorted set within a range of indexes', rangeSyntax, 'By rank O(min(start, N - stop) + M); by score or lex O(log N + offset + M)', zrangeGeneric(false, 'auto', 'auto')),
  spec('zrevrange', -4, r, one, 'Returns members in a sorted set within a range of indexes in reverse order', 'key start stop [WITHSCORES]', 'O(min(start, N - stop) + M)', zrangeGeneric(false, 'rank', 'reverse')),
  spec('zrangebyscore', -4, r, one, 'Returns members in a sorted set within a range of scores', 'key min max [WITHSCORES] [LIMIT offset count]', 'O(log N + offset + M)', zrangeGeneric(false, 'score', 'forward')),
  spec('zrevrangebyscore', -4, r, one, 'Returns members in a sorted set within a range of scores in reverse order', 'key max min [WITHSCORES] [LIMIT offset count]', 'O(log N + offset + M)', zrangeGeneric(false, 'score', 'reverse')),
  spec('zrangebylex', -4, r, one, 'Returns members in a sorted set within a lexicographical range', 'key min max [LIMIT offset count]', 'O(log N + offset + M)', zrangeGeneric(false, 'lex', 'forward')),
  spec('zrevrangebylex', -4, r, one, 'Returns members in a sorted set within a lexicographical range in reverse order', 'key max min [LIMIT offset count]', 'O(log N + offset + M)', zrangeGeneric(false, 'lex', 'reverse')),
  keyed(spec('zrangestore', -5, w, [1, 2, 1], 'Stores a range of members from sorted set in a key', 'dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]', 'The range read as ZRANGE, plus O(M log N) to write M members; O(1) to drop the old destination', zrangeGeneric(true, 'auto', 'auto'))),
  keyed(spec('zpopmin', -2, wf, one, 'Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped', 'key [count]', 'O(log N + M) where M is the number of members popped', zpopGeneric(false))),
  keyed(spec('zpopmax', -2, wf, one, 'Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped', 'key [count]', 'O(log N + M) where M is the number of members popped', zpopGeneric(true))),
  spec('bzpopmin', -3, [...wb, 'fast'], [1, -2, 1], 'Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise', 'key [key ...] timeout', 'O(log N) per pop', bzpopGeneric(false)),
  spec('bzpopmax', -3, [...wb, 'fast'], [1, -2, 1], 'Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise', 'key [key ...] timeout', 'O(log N) per pop', bzpopGeneric(true)),
  spec('zmpop', -4, w, numkeysKeys, 'Returns the highest- or lowest-scoring members from one or more sorted sets after removing them', 'numkeys key [key ...] <MIN | MAX> [COUNT count]', 'O(K + log N + M): K keys looked at, M members popped', zmpop),
  spec('bzmpop', -5, wb, numkeysKeys, 'Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise', 'timeout numkeys key [key ...] <MIN | MAX> [COUNT count]', 'O(K + log N + M): K keys looked at, M members popped', bzmpop),
  keyed(spec('zremrangebyrank', 4, w, one, 'Removes members in a sorted set within a range of indexes', 'key start stop', 'O(min(start, N - stop) + M) where M is the number of members removed; O(1) writes when every member goes', zremrangeGeneric('rank'))),
  keyed(spec('zremrangebyscore', 4, w, one, 'Removes members in a sorted set within a range of scores', 'key min max', 'O(log N + M) where M is the number of members removed; O(1) writes when every member goes', zremrangeGeneric('score'))),
  keyed(spec('zremrangebylex', 4, w, one, 'Removes members in a sorted set within a lexicographical range', 'key min max', 'O(log N + M) where M is the number of members removed; O(1) writes when every member goes', zremrangeGeneric('lex'))),
  keyed(spec('zunionstore', -4, w, storeKeys, 'Stores the union of multiple sorted sets in a key', `destination ${setOpSyntax}`, 'O(S + M log M): S the sum of the input sizes, M the result size', setOperation('zunionstore', 'union', true, false))),
  keyed(spec('zinterstore', -4, w, storeKeys, 'Stores the intersect of multiple sorted sets in a key', `destination ${setOpSyntax}`, 'O(N * K + M log M): N the smallest input, K the inputs, M the result size', setOperation('zinterstore', 'inter', true, false))),
  keyed(spec('zdiffstore', -4, w, storeKeys, 'Stores the difference of multiple sorted sets in a key', 'destination numkeys key [key ...]', 'O(N * K + M log M): N the first input, K the inputs, M the result size', setOperation('zdiffstore', 'diff', true, false))),
  keyed(spec('zunion', -3, r, numkeysKeys, 'Returns the union of multiple sorted sets', `${setOpSyntax} [WITHSCORES]`, 'O(S + M log M): S the sum of the input sizes, M the result size', setOperation('zunion', 'union', false, false))),
  keyed(spec('zinter', -3, r, numkeysKeys, 'Returns the intersect of multiple sorted sets', `${setOpSyntax} [WITHSCORES]`, 'O(N * K + M log M): N the smallest input, K the inputs, M the result size', setOperation('zinter', 'inter', false, false))),
  keyed(spec('zdiff', -3, r, numkeysKeys, 'Returns the difference between multiple sorted sets', 'numkeys key [key ...] [WITHSCORES]', 'O(N * K + M log M): N the first input, K the inputs, M the result size', setOperation('zdiff', 'diff', false, false))),
  keyed(spec('zintercard', -3, r, numkeysKeys, 'Returns the number of members of the intersect of multiple sorted sets', 'numkeys key [key ...] [LIMIT limit]', 'O(N * K): N the smallest input, K the inputs (less with LIMIT)', setOperation('zintercard', 'inter', false, true))),
  spec('zrandmember', -2, r, one, 'Returns one or more random members from a sorted set', 'key [count [WITHSCORES]]', 'O(N) for sets of up to 64 members, counts near N or of at least N; else O(C (log N + 64)) for C picks (sampled by seeking, as HRANDFIELD)', zrandmember),
  spec('zscan', -3, r, one, 'Iterates over members and scores of a sorted set', 'key cursor [MATCH pattern] [COUNT count]', 'O(COUNT) per call; O(N) for a complete iteration', zscan),
];
