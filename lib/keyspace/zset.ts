// Sorted sets in the keyspace (docs/format.md, "Sorted sets"), laid out as
// Kvrocks lays them out:
//
//   M | physdb | key                                  -> metadata, type zset, size = members
//   S | physdb | len | key | version | member         -> score (8-byte ordered double)
//   Z | physdb | len | key | version | score | member -> (empty)
//
// The `S` subkeys answer "what is the score of m" with one point read and
// list members in byte order (BYLEX ranges, ZSCAN); the `Z` index lists
// members in Redis's order (score, then member bytes) for score ranges, ranks
// and pops. Every member has exactly one `S` and one `Z` entry with the same
// score, and the metadata size is their count: each write stages all three in
// one batch (SortedSetWriter), so a crash never separates them.
//
// Costs in an ordered key space (docs/commands.md, "Sorted sets"): a point
// operation (ZADD, ZREM, ZSCORE, ZINCRBY of one member) reads one `S` key and
// writes at most four keys; a range by score or lex seeks and reads its M
// entries, O(log N + M). An ordered key space has no rank index, so anything
// by rank walks: ZRANK walks from both ends at once, O(min(rank, N - rank));
// a rank range walks from the nearer end, O(min(start, N - end) + M);
// ZRANDMEMBER picks as HRANDFIELD does (collection.ts, randomEntries): a
// walk of small sets, sampled descents of the member keys of large ones.
//
// Scores are IEEE doubles: inf and -inf are allowed, NaN never stored. -0 is
// stored as 0 (NB: Redis keeps the sign and prints "-0"; both compare equal).
//
// Reads are synchronous on engines with a synchronous iterator (LsmEngine)
// and return a Promise otherwise (LevelEngine): the MaybePromise pattern of
// keyspace.ts. drive() and wait() (walk.ts) let a command written as a
// generator run either way. Members returned by reads are copies owned by
// the caller.
//
// Walks that may be long (rank, ZCOUNT/ZLEXCOUNT, ranges by rank or with an
// offset, random ranks) run as a Walk (walk.ts): on an engine snapshot taken
// when the walk starts, in slices of about 2 ms, so a 1M-member ZRANK does
// not stall the event loop for a second.

import { andThen, forEachEntry, notePickWrites, randomSubkeyEntries } from './collection.js';
import { drive, pointReadsSliceMin, readInSlices, visitRange, wait, Walk, walkEntries, walkSlice, type Steps } from './walk.js';
import type { Engine, IteratorOptions, ReadOptions } from '../engine/engine.js';
import type { WriteBatch } from '../engine/write-batch.js';
import { CorruptionError, WrongTypeError } from '../errors.js';
import { AssertionError, assert } from '../assert.js';
import { randomPickCountMax as randomMembersCountMax, scanCountMax } from '../limits.js';
import { checkBatchRoom, type Keyspace, type KeyspaceContext, type MaybePromise, type StoredKey } from './keyspace.js';
import { decodeOrderedDouble, encodeOrderedDouble, prefixEnd, scoreKey as encodeScoreKey, scorePrefix, subkey, subkeyPrefix } from './key-encoding.js';
import { VersionBuild, replaceCollection, turnToWrite } from './build.js';
import { KeyType, collectionRecord, recordExpireMs, recordSize, recordType, recordVersion, withSize, withVersion } from './metadata.js';
import { literalPrefix, matchesEverything, stringMatch } from './glob.js';
import { parseFloat64 } from './numbers.js';

/** Bytes of an `S` value: the score as an order-preserving double. */
export const scoreValueBytes = 8;

/** Most members ZRANDMEMBER with a negative count returns: the random-pick bound (lib/limits.ts). */
export { randomMembersCountMax };

const emptyValue = Buffer.alloc(0);

/**
 * When removeByRewrite() rewrites the rest of a set instead of deleting what
 * goes: at least `removedMin` members removed, and at most
 * `survivorsPerRemoved` members left for each (it writes more than the
 * deletes would, but none of it in the command's turn). Tests lower them.
 */
export const rewriteLimits = { removedMin: 16_384, survivorsPerRemoved: 4 };

// ---------------------------------------------------------------- types

/** A member and its score. `member` is owned by the caller. */
export interface ScoredMember {
  readonly member: Buffer;
  readonly score: number;
}

/** A score interval as zslParseRange builds it. */
export interface ScoreRange {
  readonly min: number;
  readonly max: number;
  readonly minExclusive: boolean;
  readonly maxExclusive: boolean;
}

/** One end of a lex interval: `-`, `+`, or `[value` / `(value`. */
export type LexBound =
  | { readonly kind: 'min' }
  | { readonly kind: 'max' }
  | { readonly kind: 'value'; readonly value: Buffer; readonly exclusive: boolean };

export interface LexRange {
  readonly min: LexBound;
  readonly max: LexBound;
}

/** Where a range read starts and how much it returns (Redis's LIMIT offset count). */
export interface RangeOptions {
  /** Highest first (the REV forms). */
  reverse: boolean;
  /** Entries in range to skip first; must be >= 0. */
  offset: number;
  /** Most entries to return; negative for all. */
  limit: number;
}

/** One ZSCAN step. */
export interface ZScanResult {
  entries: ScoredMember[];
  /** Resume after this member; undefined when the iteration is complete. */
  next: Buffer | undefined;
}

/** A ZUNION/ZINTER/ZDIFF input: a sorted set, or a set whose members all score 1. */
export interface ScoreSource {
  readonly key: Buffer;
  readonly size: number;
  /** The member's score, or undefined when it is not there. */
  score(member: Buffer): number | undefined;
  /** Every member with its score, in no particular order. */
  entries(): MaybePromise<ScoredMember[]>;
}

// ---------------------------------------------------------------- argument parsing

const decimalText = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const infinityText = /^[+-]?inf(?:inity)?$/i;
const hexText = /^[+-]?0[xX]/;
const nonZeroDigit = /[1-9]/;
const cWhitespace = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]);

/**
 * What C's strtod() reads from the whole of `text` (decimal, hexadecimal,
 * inf/infinity in any case; overflow gives ±inf, underflow 0), or undefined
 * when something other than a number remains or it is NaN.
 */
function strtodWhole(text: string): { value: number; inexact: boolean } | undefined {
  if (decimalText.test(text)) {
    const value = Number(text);
    const mantissa = text.split(/[eE]/)[0]!;
    const inexact = !Number.isFinite(value) || (value === 0 && nonZeroDigit.test(mantissa));
    return { value, inexact };
  }
  if (infinityText.test(text)) return { value: text.startsWith('-') ? -Infinity : Infinity, inexact: false };
  if (hexText.test(text)) {
    const value = parseFloat64(Buffer.from(text, 'latin1'));
    if (value === undefined) return undefined;
    return { value, inexact: !Number.isFinite(value) };
  }
  return undefined;
}

/**
 * A score argument as Redis's getDoubleFromObject (string2d) reads it: the
 * whole text is a float, no leading space, no NaN, and neither overflow to
 * infinity nor underflow to zero (an "inf" literal is fine).
 * @returns the value (-0 as 0), or undefined for "value is not a valid float"
 */
export function parseScore(argument: Buffer): number | undefined {
  const value = parseScoreSigned(argument);
  return value === 0 ? 0 : value;
}

/** parseScore, keeping the sign of a -0 (ZINCRBY and ZADD INCR answer "-0" for a new member, as Redis does). */
export function parseScoreSigned(argument: Buffer): number | undefined {
  if (argument.length === 0 || cWhitespace.has(argument[0]!) || argument.includes(0)) return undefined;
  const parsed = strtodWhole(argument.toString('latin1'));
  if (parsed === undefined || parsed.inexact) return undefined;
  return parsed.value;
}

/**
 * One end of a score range as zslParseRange reads it with strtod: an
 * optional `(` for an open end, leading white space allowed, the empty text
 * is 0, overflow is ±inf; a C string, so it ends at the first NUL byte.
 */
function parseScoreBound(argument: Buffer): { value: number; exclusive: boolean } | undefined {
  let text = argument.toString('latin1');
  const nul = text.indexOf('\0');
  if (nul !== -1) text = text.slice(0, nul);
  const exclusive = text.startsWith('(');
  if (exclusive) text = text.slice(1);
  if (text === '') return { value: 0, exclusive };
  const body = text.replace(/^[ \t\n\v\f\r]+/, '');
  if (body === '') return undefined; // strtod converted nothing: the end pointer is at the white space
  const parsed = strtodWhole(body);
  if (parsed === undefined) return undefined;
  return { value: parsed.value === 0 ? 0 : parsed.value, exclusive };
}

/**
 * ZRANGEBYSCORE's min and max (zslParseRange).
 * @returns the range, or undefined for "min or max is not a float"
 */
export function parseScoreRange(min: Buffer, max: Buffer): ScoreRange | undefined {
  const low = parseScoreBound(min);
  const high = parseScoreBound(max);
  if (low === undefined || high === undefined) return undefined;
  return { min: low.value, max: high.value, minExclusive: low.exclusive, maxExclusive: high.exclusive };
}

/** zslParseLexRangeItem: `-`, `+`, `[value`, `(value`; C string rules for the single-byte forms. */
function parseLexBound(argument: Buffer): LexBound | undefined {
  const first = argument[0];
  const second = argument.length > 1 ? argument[1] : 0;
  if (first === 0x2b) return second === 0 ? { kind: 'max' } : undefined; // +
  if (first === 0x2d) return second === 0 ? { kind: 'min' } : undefined; // -
  if (first === 0x28 || first === 0x5b) return { kind: 'value', value: argument.subarray(1), exclusive: first === 0x28 }; // ( [
  return undefined;
}

/**
 * ZRANGEBYLEX's min and max (zslParseLexRange).
 * @returns the range, or undefined for "min or max not valid string range item"
 */
export function parseLexRange(min: Buffer, max: Buffer): LexRange | undefined {
  const low = parseLexBound(min);
  const high = parseLexBound(max);
  if (low === undefined || high === undefined) return undefined;
  return { min: low, max: high };
}

/** zslIsInRange's "always empty" test. */
export function scoreRangeEmpty(range: ScoreRange): boolean {
  return range.min > range.max || (range.min === range.max && (range.minExclusive || range.maxExclusive));
}

/** sdscmplex: `-` below everything, `+` above everything, values bytewise. */
function compareLexBounds(a: LexBound, b: LexBound): number {
  if (a.kind === b.kind && a.kind !== 'value') return 0;
  if (a.kind === 'min' || b.kind === 'max') return -1;
  if (a.kind === 'max' || b.kind === 'min') return 1;
  assert(a.kind === 'value' && b.kind === 'value', 'both lex bounds are values');
  return Buffer.compare(a.value, b.value);
}

/** zslIsInLexRange's "always empty" test (`-` and `+` count as open ends, as in Redis). */
export function lexRangeEmpty(range: LexRange): boolean {
  const order = compareLexBounds(range.min, range.max);
  const open = (bound: LexBound): boolean => bound.kind !== 'value' || bound.exclusive;
  return order > 0 || (order === 0 && (open(range.min) || open(range.max)));
}

/** Redis's order of sorted-set members: by score, then by member bytes. */
export function compareScored(a: ScoredMember, b: ScoredMember): number {
  if (a.score !== b.score) return a.score < b.score ? -1 : 1;
  return Buffer.compare(a.member, b.member);
}

// ---------------------------------------------------------------- values

/** The `S` value for `score`. */
export function encodeScoreValue(score: number): Buffer {
  const value = Buffer.allocUnsafe(scoreValueBytes);
  encodeOrderedDouble(score, value, 0);
  return value;
}

/** The score in an `S` value. @throws CorruptionError when it is not 8 bytes */
export function decodeScoreValue(value: Buffer, engineKey: Buffer): number {
  if (value.length !== scoreValueBytes) {
    throw new CorruptionError('keyspace', -1, `Cannot read sorted-set score of ${engineKey.subarray(0, 64).toString('hex')}: ${value.length} bytes, expected ${scoreValueBytes}`);
  }
  return decodeOrderedDouble(value, 0);
}

/**
 * The live record of a key if it is a sorted set, undefined when absent.
 * @throws WrongTypeError when the key holds another type
 */
export function zsetOf(record: Buffer | undefined): Buffer | undefined {
  if (record === undefined) return undefined;
  if (recordType(record) !== KeyType.zset) throw new WrongTypeError();
  return record;
}

// ---------------------------------------------------------------- driving

/** `fn(value)` once `value` settles. */
function then<T, U>(value: MaybePromise<T>, fn: (settled: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

// ---------------------------------------------------------------- reading

/**
 * One live sorted set, as a command sees it: its size, version and the
 * reads the commands need. Made by SortedSet.read() (read-only commands) or
 * SortedSetWriter (writes).
 */
export class SortedSet {
  readonly keyspace: Keyspace;
  readonly key: Buffer;
  /** Members (the metadata size). */
  size: number;
  protected readonly engine: Engine;
  protected readonly physDb: number;
  #version: number | undefined;
  #memberPrefix: Buffer | undefined;
  #scorePrefix: Buffer | undefined;

  protected constructor(keyspace: Keyspace, db: number, key: Buffer, version: number | undefined, size: number) {
    this.keyspace = keyspace;
    this.engine = keyspace.engine;
    this.physDb = keyspace.physicalDb(db);
    this.key = key;
    this.#version = version;
    this.size = size;
  }

  /**
   * The live sorted set at `key`, or undefined when there is none.
   * @throws WrongTypeError when the key holds another type
   */
  static read(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): SortedSet | undefined {
    const record = zsetOf(keyspace.lookup(db, key, nowMs));
    if (record === undefined) return undefined;
    return new SortedSet(keyspace, db, key, recordVersion(record), recordSize(record));
  }

  /** The version its subkeys carry. */
  get version(): number {
    if (this.#version === undefined) this.#version = this.newVersion();
    return this.#version;
  }

  /** Writers with no version yet pick one here. */
  protected newVersion(): number {
    throw new AssertionError('a sorted set read from the keyspace has a version');
  }

  /** `S | physdb | len | key | version`. */
  protected get memberPrefix(): Buffer {
    if (this.#memberPrefix === undefined) this.#memberPrefix = subkeyPrefix(this.physDb, this.key, this.version);
    return this.#memberPrefix;
  }

  /** `Z | physdb | len | key | version`. */
  protected get scorePrefix(): Buffer {
    if (this.#scorePrefix === undefined) this.#scorePrefix = scorePrefix(this.physDb, this.key, this.version);
    return this.#scorePrefix;
  }

  /** The `S` key of `member`. */
  protected memberKey(member: Buffer): Buffer {
    return Buffer.concat([this.memberPrefix, member]);
  }

  /** The `Z` key of (`score`, `member`). */
  protected scoreKey(score: number, member: Buffer): Buffer {
    const prefix = this.scorePrefix;
    const key = Buffer.allocUnsafe(prefix.length + 8 + member.length);
    prefix.copy(key, 0);
    encodeOrderedDouble(score, key, prefix.length);
    member.copy(key, prefix.length + 8);
    return key;
  }

  /** `Z` prefix followed by `score`: every entry with that score starts with it. */
  #scoreBound(score: number): Buffer {
    return this.scoreKey(score, emptyValue);
  }

  #decodeScoreEntry(key: Buffer): ScoredMember {
    const offset = this.scorePrefix.length;
    return { score: decodeOrderedDouble(key, offset), member: key.subarray(offset + 8) };
  }

  #decodeMemberEntry(key: Buffer, value: Buffer): ScoredMember {
    return { member: key.subarray(this.memberPrefix.length), score: decodeScoreValue(value, key) };
  }

  // ---------------------------------------------------------------- point reads

  /** ZSCORE: the member's score, or undefined. One point read. */
  score(member: Buffer, at?: ReadOptions): number | undefined {
    const engineKey = this.memberKey(member);
    const value = this.engine.get(engineKey, at);
    return value === undefined ? undefined : decodeScoreValue(value, engineKey);
  }

  /**
   * ZRANK/ZREVRANK: the member's 0-based position (highest first when
   * `reverse`) and score, or undefined when it is not there. Walks the score
   * index from both ends at once, in slices (Walk), and stops when either
   * reaches the member: O(min(rank, N - rank)).
   */
  rank(member: Buffer, reverse: boolean): MaybePromise<{ rank: number; score: number } | undefined> {
    const score = this.score(member);
    if (score === undefined) return undefined;
    return drive(this.#rankSteps(member, score, reverse));
  }

  *#rankSteps(member: Buffer, score: number, reverse: boolean): Steps<{ rank: number; score: number }> {
    const position = this.scoreKey(score, member);
    const walk = new Walk(this.engine);
    let below = 0;
    let above = 0;
    try {
      const before = walk.open({ gte: this.scorePrefix, lt: position });
      const after = walk.open({ gt: position, lt: prefixEnd(this.scorePrefix)!, reverse: true });
      while (true) {
        const low = yield* wait(before.next());
        if (low.length === 0) {
          above = this.size - 1 - below;
          break;
        }
        below += low.length;
        const high = yield* wait(after.next());
        if (high.length === 0) {
          below = this.size - 1 - above;
          break;
        }
        above += high.length;
        if (walk.spend(low.length + high.length)) yield* walk.pause();
      }
    } finally {
      yield* walk.close();
    }
    return { rank: reverse ? above : below, score };
  }

  // ---------------------------------------------------------------- by score

  #scoreRangeOptions(range: ScoreRange): IteratorOptions {
    const low = this.#scoreBound(range.min);
    const high = this.#scoreBound(range.max);
    return {
      gte: range.minExclusive ? prefixEnd(low)! : low,
      lt: range.maxExclusive ? high : prefixEnd(high)!,
    };
  }

  /** ZRANGEBYSCORE: members whose score is in range, in order (or reverse order). O(log N + offset + M), walked in slices (Walk). */
  rangeByScore(range: ScoreRange, options: RangeOptions): MaybePromise<ScoredMember[]> {
    if (scoreRangeEmpty(range) || options.offset < 0 || options.limit === 0 || this.size === 0) return [];
    return this.#collect({ ...this.#scoreRangeOptions(range), reverse: options.reverse }, options, (key) => this.#decodeScoreEntry(key));
  }

  /** ZCOUNT: members whose score is in range. O(log N + M), walked in slices (Walk). */
  countByScore(range: ScoreRange): MaybePromise<number> {
    if (scoreRangeEmpty(range)) return 0;
    let count = 0;
    return then(
      walkEntries(this.engine, this.#scoreRangeOptions(range), () => {
        count++;
      }),
      () => count,
    );
  }

  // ---------------------------------------------------------------- by lex

  #lexRangeOptions(range: LexRange): IteratorOptions {
    const prefix = this.memberPrefix;
    const options: IteratorOptions = {};
    const { min, max } = range;
    if (min.kind === 'value') {
      const key = Buffer.concat([prefix, min.value]);
      if (min.exclusive) options.gt = key;
      else options.gte = key;
    } else {
      options.gte = prefix;
    }
    if (max.kind === 'value') {
      const key = Buffer.concat([prefix, max.value]);
      if (max.exclusive) options.lt = key;
      else options.lte = key;
    } else {
      options.lt = prefixEnd(prefix)!;
    }
    return options;
  }

  /**
   * ZRANGEBYLEX: members in the lex range, read from the `S` subkeys in
   * member order, O(log N + offset + M), walked in slices (Walk). With equal scores this is Redis's
   * answer; with different scores Redis's answer is unspecified, and this one
   * is by member.
   */
  rangeByLex(range: LexRange, options: RangeOptions): MaybePromise<ScoredMember[]> {
    if (lexRangeEmpty(range) || options.offset < 0 || options.limit === 0 || this.size === 0) return [];
    return this.#collect({ ...this.#lexRangeOptions(range), reverse: options.reverse }, options, (key, value) => this.#decodeMemberEntry(key, value));
  }

  /** ZLEXCOUNT: members in the lex range. O(log N + M), walked in slices (Walk). */
  countByLex(range: LexRange): MaybePromise<number> {
    if (lexRangeEmpty(range)) return 0;
    let count = 0;
    return then(
      walkEntries(this.engine, this.#lexRangeOptions(range), () => {
        count++;
      }),
      () => count,
    );
  }

  #collect(iterator: IteratorOptions, options: RangeOptions, decode: (key: Buffer, value: Buffer) => ScoredMember): MaybePromise<ScoredMember[]> {
    const out: ScoredMember[] = [];
    let skip = options.offset;
    if (options.limit >= 0) iterator.limit = options.offset + options.limit;
    return then(
      walkEntries(this.engine, iterator, (key, value) => {
        if (skip > 0) {
          skip--;
          return;
        }
        out.push(decode(key, value));
      }),
      () => out,
    );
  }

  // ---------------------------------------------------------------- by rank

  /**
   * The members at ranks `first`..`last` (0-based, inclusive, within the
   * set), lowest first. Walks from the nearer end, in slices (Walk):
   * O(min(first, N - last) + M).
   */
  rangeByRank(first: number, last: number): MaybePromise<ScoredMember[]> {
    assert(first >= 0 && first <= last && last < this.size, 'the rank range is within the set');
    const fromEnd = this.size - 1 - last;
    const reverse = fromEnd < first;
    const skip = reverse ? fromEnd : first;
    const count = last - first + 1;
    const out: ScoredMember[] = [];
    let skipped = 0;
    const options: IteratorOptions = { ...this.#wholeScoreIndex(), reverse, limit: skip + count };
    return then(
      walkEntries(this.engine, options, (key) => {
        if (skipped < skip) {
          skipped++;
          return;
        }
        out.push(this.#decodeScoreEntry(key));
      }),
      () => (reverse ? out.reverse() : out),
    );
  }

  /** Every member, lowest first. O(N). */
  all(): MaybePromise<ScoredMember[]> {
    return this.size === 0 ? [] : this.rangeByRank(0, this.size - 1);
  }

  /**
   * The first `count` members from the low end (or the high end when
   * `reverse`), in that order: in one turn, or with `sliced` (ZPOPMIN and
   * ZPOPMAX of many, keyed walks) as a walk in slices at a snapshot, a
   * Promise once it pauses.
   */
  ends(count: number, reverse: boolean, sliced = false): MaybePromise<ScoredMember[]> {
    const out: ScoredMember[] = [];
    const options: IteratorOptions = { ...this.#wholeScoreIndex(), reverse, limit: count };
    const visit = (key: Buffer): void => {
      out.push(this.#decodeScoreEntry(key));
    };
    return then(sliced ? walkEntries(this.engine, options, visit) : forEachEntry(this.engine, options, visit), () => out);
  }

  #wholeScoreIndex(): { gte: Buffer; lt: Buffer } {
    return { gte: this.scorePrefix, lt: prefixEnd(this.scorePrefix)! };
  }

  /**
   * ZRANDMEMBER: `count` random members, distinct when `distinct` (at most
   * the whole set, in score order when it is the whole set), else with
   * repetitions, in random order. Picked among the member keys as
   * HRANDFIELD picks fields (collection.ts, randomEntries): exact for small
   * sets, sampled for large ones, never a walk of a large set.
   */
  random(count: number, distinct: boolean): MaybePromise<ScoredMember[]> {
    const size = this.size;
    if (count <= 0 || size === 0) return [];
    if (distinct && count >= size) return this.all();
    const prefix = this.memberPrefix;
    return then(randomSubkeyEntries(this.keyspace, prefix, size, count, distinct), (entries) =>
      entries.map(([member, value]) => ({ member, score: decodeScoreValue(value, Buffer.concat([prefix, member])) })),
    );
  }

  // ---------------------------------------------------------------- scan

  /**
   * ZSCAN: examines up to `count` members in member order after `after`,
   * returning those that match `pattern`. O(count).
   */
  scan(after: Buffer | undefined, count: number, pattern: Buffer | undefined): MaybePromise<ZScanResult> {
    const examine = Math.min(Math.max(1, Math.trunc(count)), scanCountMax);
    const glob = pattern !== undefined && !matchesEverything(pattern) ? pattern : undefined;
    const start = Buffer.concat([this.memberPrefix, glob === undefined ? emptyValue : literalPrefix(glob)]);
    const options: IteratorOptions = { gte: start, lt: prefixEnd(start)! };
    if (after !== undefined) {
      const resume = Buffer.concat([this.memberPrefix, after]);
      if (Buffer.compare(resume, start) >= 0) {
        delete options.gte;
        options.gt = resume;
      }
    }
    options.limit = examine + 1;
    const entries: ScoredMember[] = [];
    let examined = 0;
    let last: Buffer | undefined;
    let more = false;
    return then(
      forEachEntry(this.engine, options, (key, value) => {
        if (examined === examine) {
          more = true;
          return false;
        }
        examined++;
        const entry = this.#decodeMemberEntry(key, value);
        last = entry.member;
        if (glob === undefined || stringMatch(glob, entry.member)) entries.push(entry);
        return true;
      }),
      () => ({ entries, next: more ? last : undefined }),
    );
  }

  /** This set as a ZUNION/ZINTER/ZDIFF input. */
  asSource(): ScoreSource {
    return { key: this.key, size: this.size, score: (member) => this.score(member), entries: () => this.all() };
  }
}

// ---------------------------------------------------------------- writing

/** What add() did. */
export type AddOutcome = 'added' | 'updated' | 'unchanged';

/**
 * Scores read before a write of many members (readScores), of a sorted set
 * that stays as it was loaded until the write: the RESP dispatcher locks
 * the command's key meanwhile. null = not a member.
 */
export interface KnownScores {
  readonly version: number;
  readonly scores: ReadonlyMap<string, number | null>;
}

/**
 * Reads the scores of members[first], members[first + step] ... of the
 * sorted set at `key` ahead of a ZADD or ZREM of thousands of them, in
 * slices (readInSlices: other clients' commands run between them), so that
 * the write then runs without a point read. Undefined (read as the write
 * goes) for a few members or no set; a Promise once it pauses.
 * @throws WrongTypeError when the key holds another type
 */
export function readScores(keyspace: Keyspace, db: number, key: Buffer, nowMs: number, members: readonly Buffer[], first = 0, step = 1): MaybePromise<KnownScores | undefined> {
  const count = Math.ceil((members.length - first) / step);
  if (count <= pointReadsSliceMin) return undefined;
  const set = SortedSet.read(keyspace, db, key, nowMs);
  if (set === undefined) return undefined;
  const scores = new Map<string, number | null>();
  const done = readInSlices(count, (index) => {
    const member = members[first + index * step]!;
    scores.set(member.toString('latin1'), set.score(member) ?? null);
  });
  return andThen(done, () => ({ version: set.version, scores }));
}

/**
 * A sorted set being changed by one command. Changes are staged in one
 * batch (member `S`, index `Z`, metadata size) and reach the engine at
 * commit(); until then score() sees them and the range reads do not, so
 * commands read their ranges first and change afterwards.
 */
export class SortedSetWriter extends SortedSet {
  readonly target: StoredKey;
  readonly batch: WriteBatch;
  readonly #nowMs: number;
  /** Was a live sorted set before the command. */
  readonly #existed: boolean;
  /** Scores staged by this command (null: removed), by member bytes. */
  readonly #staged = new Map<string, number | null>();
  #dirty = false;
  /** Every member was removed at once (clear()): no subkey deletes staged. */
  #cleared = false;
  /** Scores read ahead (readScores), by member bytes. */
  #known: ReadonlyMap<string, number | null> | undefined;

  private constructor(keyspace: Keyspace, target: StoredKey, nowMs: number) {
    const record = zsetOf(target.live);
    super(keyspace, target.db, target.key, record === undefined ? undefined : recordVersion(record), record === undefined ? 0 : recordSize(record));
    this.target = target;
    this.batch = keyspace.begin();
    this.#nowMs = nowMs;
    this.#existed = record !== undefined;
  }

  /**
   * Loads `key` to change its members; an absent (or expired) key starts a
   * new, empty set that exists once a member is added.
   * @throws WrongTypeError when the key holds another type
   */
  static load(keyspace: Keyspace, db: number, key: Buffer, nowMs: number, known?: KnownScores): SortedSetWriter {
    const writer = new SortedSetWriter(keyspace, keyspace.load(db, key, nowMs), nowMs);
    if (known !== undefined) {
      assert(writer.#existed && known.version === writer.version, 'scores read ahead are of the set written');
      writer.#known = known.scores;
    }
    return writer;
  }

  /** Whether the key was a live sorted set before this command. */
  get exists(): boolean {
    return this.#existed;
  }

  protected override newVersion(): number {
    return this.keyspace.newVersion(this.#nowMs, this.target.stored);
  }

  override score(member: Buffer): number | undefined {
    const staged = this.#staged.get(member.toString('latin1'));
    if (staged !== undefined) return staged ?? undefined;
    if (!this.#existed || this.#cleared) return undefined;
    const known = this.#known?.get(member.toString('latin1'));
    if (known !== undefined) return known ?? undefined;
    return super.score(member);
  }

  /**
   * Sets `member`'s score (-0 as 0), staging the `S` value and moving its
   * `Z` entry. `score` must not be NaN.
   */
  add(member: Buffer, score: number): AddOutcome {
    assert(!Number.isNaN(score), 'a score is not NaN');
    assert(!this.#cleared, 'nothing is added after clear(): the old subkeys share the version');
    const value = score === 0 ? 0 : score;
    const current = this.score(member);
    if (current === value) return 'unchanged';
    if (current !== undefined) this.batch.del(this.scoreKey(current, member));
    this.batch.put(this.scoreKey(value, member), emptyValue);
    this.batch.put(this.memberKey(member), encodeScoreValue(value));
    this.#staged.set(member.toString('latin1'), value);
    this.#dirty = true;
    if (current !== undefined) return 'updated';
    this.size++;
    return 'added';
  }

  /** Removes `member` if present. @returns whether it was */
  remove(member: Buffer): boolean {
    const current = this.score(member);
    if (current === undefined) return false;
    this.#removeKnown(member, current);
    return true;
  }

  /** Removes members read from this set in this command (a range, a pop), before anything else was staged for them. */
  removeEntries(entries: readonly ScoredMember[]): void {
    if (entries.length > 0 && entries.length === this.size && this.#staged.size === 0) {
      this.clear();
      return;
    }
    for (const entry of entries) this.#removeKnown(entry.member, entry.score);
  }

  /**
   * Inside a keyed walk's generator: removes `removed` (members read from
   * this set in this command, nothing staged yet, contiguous in `order`:
   * the score index for ranks, scores and pops, member order for lex ranges)
   * by giving the key a new version that holds the rest (TTL kept), written
   * ahead in slices while other clients run (build.ts), with only the
   * metadata in the command's turn, which this takes. Deleting half a
   * million members in the turn held the event loop for two seconds. It
   * does so only where it pays (rewriteLimits), for a command that can
   * write ahead, and when the survivors number what the metadata says (else
   * the caller removes them as before).
   * @returns whether it did, and committed
   */
  *removeByRewrite(ctx: KeyspaceContext, removed: readonly ScoredMember[], order: 'score' | 'member'): Steps<boolean> {
    const survivors = this.size - removed.length;
    if (removed.length < rewriteLimits.removedMin || survivors === 0 || survivors > rewriteLimits.survivorsPerRemoved * removed.length || ctx.canWriteAhead?.() !== true) return false;
    assert(this.#staged.size === 0 && !this.#cleared, 'nothing is staged before a rewrite');
    const keyspace = this.keyspace;
    const target = this.target;
    const record = target.live!;
    const build = new VersionBuild(keyspace, target.db, target.key, keyspace.newVersion(this.#nowMs, target.stored));
    const physDb = this.physDb;
    const version = build.version;
    const first = removed[0]!;
    const last = removed[removed.length - 1]!;
    // The removed stretch, as keys of the old version, lowest first (ZPOPMAX reads from the top).
    const bound = (entry: ScoredMember): Buffer => (order === 'score' ? this.scoreKey(entry.score, entry.member) : this.memberKey(entry.member));
    let low = bound(first);
    let high = bound(last);
    if (Buffer.compare(low, high) > 0) [low, high] = [high, low];
    const prefix = order === 'score' ? this.scorePrefix : this.memberPrefix;
    let copied = 0;
    const walk = new Walk(this.engine);
    const between = (): Promise<void> | undefined => (build.writeAhead(ctx) ? build.backpressure() : undefined);
    const charge = (): void => {
      if (build.full(ctx)) walk.spend(walkSlice.entriesMax);
    };
    const copy = (key: Buffer, value: Buffer): void => {
      let score: number;
      let member: Buffer;
      if (order === 'score') {
        score = decodeOrderedDouble(key, prefix.length);
        member = key.subarray(prefix.length + 8);
      } else {
        member = key.subarray(prefix.length);
        score = decodeScoreValue(value, key);
      }
      build.put(encodeScoreKey(physDb, target.key, version, score, member), emptyValue);
      build.put(subkey(physDb, target.key, version, member), encodeScoreValue(score));
      copied++;
      charge();
    };
    try {
      yield* visitRange(walk, { gte: prefix, lt: low }, copy, between);
      yield* visitRange(walk, { gt: high, lt: prefixEnd(prefix)! }, copy, between);
    } catch (error) {
      build.abandon(ctx);
      throw error;
    } finally {
      yield* walk.close();
    }
    if (copied !== survivors) {
      build.abandon(ctx); // damage the caller's deletes go around (silt verify tells)
      return false;
    }
    try {
      build.writeAhead(ctx);
      yield* turnToWrite(ctx);
    } catch (error) {
      build.abandon(ctx);
      throw error;
    }
    const batch = keyspace.begin(build.finish());
    keyspace.stagePut(batch, target, withSize(withVersion(record, version, recordExpireMs(record)), survivors));
    keyspace.commit(ctx, batch);
    this.size = survivors;
    return true;
  }

  /**
   * Removes every member by deleting the metadata alone: O(1), the subkeys
   * are dead at once and compaction reclaims them.
   */
  clear(): void {
    this.size = 0;
    this.#cleared = true;
    this.#dirty = true;
    this.#staged.clear();
  }

  /** Keeps ZRANDMEMBER's pick cache of this set in step (collection.ts, notePickWrites()). */
  #notePicks(): void {
    const removed: string[] = [];
    let added = this.#cleared;
    for (const [member, score] of this.#staged) {
      if (score === null) removed.push(member);
      else added = true;
    }
    notePickWrites(this.engine, this.memberPrefix, removed, added, recordSize(this.target.live!), this.size);
  }

  #removeKnown(member: Buffer, score: number): void {
    this.batch.del(this.scoreKey(score, member));
    this.batch.del(this.memberKey(member));
    this.#staged.set(member.toString('latin1'), null);
    this.#dirty = true;
    this.size--;
    assert(this.size >= 0, 'a sorted set never has fewer than zero members');
  }

  /**
   * Stages the metadata (the new size; the key deleted when it is empty)
   * and commits the batch. Does nothing when nothing changed.
   */
  commit(ctx: KeyspaceContext): void {
    if (!this.#dirty) return;
    const keyspace = this.keyspace;
    if (this.#existed) this.#notePicks();
    if (this.size > 0) {
      const live = this.#existed ? this.target.live : undefined;
      const record = live !== undefined ? withSize(live, this.size) : collectionRecord(KeyType.zset, 0, this.version, this.size);
      keyspace.stagePut(this.batch, this.target, record);
    } else if (this.target.stored !== undefined && this.#existed) {
      keyspace.stageDelete(this.batch, this.target);
    } else if (this.batch.length === 0) {
      return;
    }
    keyspace.commit(ctx, this.batch);
  }
}

/**
 * ZRANGESTORE, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE: makes `destination` a
 * new sorted set of `entries` (distinct members, no NaN score; -0 is stored
 * as 0), whatever it held, without expiry; no entries delete it. O(R)
 * writes, written ahead in slices by a keyed walk in the background
 * (build.ts). For a drive()n generator.
 * @returns the new set's size
 */
export function* zsetStore(keyspace: Keyspace, ctx: KeyspaceContext, destination: Buffer, entries: readonly ScoredMember[]): Steps<number> {
  checkBatchRoom('store', destination, entries.length, 2); // a member and its score entry
  const physDb = keyspace.physicalDb(ctx.db);
  return yield* replaceCollection(ctx, keyspace, destination, KeyType.zset, entries.length, (build, index) => {
    const { member, score } = entries[index]!;
    assert(!Number.isNaN(score), 'a score is not NaN');
    const value = score === 0 ? 0 : score;
    build.put(encodeScoreKey(physDb, destination, build.version, value, member), emptyValue);
    build.put(subkey(physDb, destination, build.version, member), encodeScoreValue(value));
  });
}

// ---------------------------------------------------------------- sources

/**
 * A ZUNION/ZINTER/ZDIFF input at `key`: a sorted set, a set (members score
 * 1, read from its `S` subkeys), or undefined when absent.
 * @throws WrongTypeError for any other type
 */
export function readScoreSource(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): ScoreSource | undefined {
  const record = keyspace.lookup(db, key, nowMs);
  if (record === undefined) return undefined;
  const type = recordType(record);
  if (type === KeyType.zset) return new SortedSetSource(keyspace, db, key, record).asSource();
  if (type !== KeyType.set) throw new WrongTypeError();
  const engine = keyspace.engine;
  const prefix = subkeyPrefix(keyspace.physicalDb(db), key, recordVersion(record));
  return {
    key,
    size: recordSize(record),
    score: (member) => (engine.get(Buffer.concat([prefix, member])) === undefined ? undefined : 1),
    entries: () => {
      const out: ScoredMember[] = [];
      return then(
        forEachEntry(engine, { gte: prefix, lt: prefixEnd(prefix)! }, (engineKey) => {
          out.push({ member: engineKey.subarray(prefix.length), score: 1 });
        }),
        () => out,
      );
    },
  };
}

/** SortedSet's constructor is protected: this opens it for a record already looked up. */
class SortedSetSource extends SortedSet {
  constructor(keyspace: Keyspace, db: number, key: Buffer, record: Buffer) {
    super(keyspace, db, key, recordVersion(record), recordSize(record));
  }
}
