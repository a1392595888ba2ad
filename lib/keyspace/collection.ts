// What the collection types (hash, set; lists and sorted sets may use it too)
// share on top of the Keyspace (docs/format.md, "Keyspace encoding"): loading
// a collection with its type check, staging changes to its subkeys together
// with its metadata, iterating its subkeys, random picks, and HSCAN/SSCAN.
//
// Invariants every writer here keeps:
// - one command, one batch: the subkey changes, the metadata (with the new
//   size) and the counters go to the engine together, so a crash never leaves
//   a size that disagrees with the subkeys;
// - the size in the metadata is exact: a put counts only a field that was
//   absent, a delete only one that was present (each checked by a point read);
// - an emptied collection disappears (its metadata is deleted);
// - a collection that is absent or expired is written under a new version,
//   above any stored record's, so subkeys of an older incarnation stay dead.
//
// Reads are synchronous on engines with a synchronous iterator (LsmEngine)
// and return a Promise otherwise (LevelEngine); run() lets one generator
// function serve both (see its comment).

import type { Engine, IteratorOptions } from '../engine/engine.js';
import type { WriteBatch } from '../engine/write-batch.js';
import { WrongTypeError } from '../errors.js';
import { randomPickCountMax, randomPickLevelsMax, randomPickProbesMax, randomPickWalkMax, scanCountMax } from '../limits.js';
import { literalPrefix, matchesEverything, stringMatch } from './glob.js';
import { prefixEnd, subkey, subkeyPrefix } from './key-encoding.js';
import type { Keyspace, MaybePromise, StoredKey } from './keyspace.js';
import { KeyType, collectionRecord, recordExpireMs, recordSize, recordType, recordVersion } from './metadata.js';

/**
 * Random picks (HRANDFIELD, SRANDMEMBER, SPOP): collections of at most
 * randomPickWalkMax elements are walked to uniformly chosen positions;
 * larger ones are sampled by descending their key trie (see
 * randomEntries()), at most randomPickLevelsMax levels and
 * randomPickProbesMax seeks a level; a pick with repetition returns at most
 * randomPickCountMax elements. Those bounds live in lib/limits.ts.
 */
export { randomPickCountMax, randomPickLevelsMax, randomPickProbesMax, randomPickWalkMax };

/** Rough cost of one sampled pick in walked entries: a walk serves `count` picks when count × this >= size. */
export const randomPickSampleCost = 32;

/** Entries read after the final random seek of a sampled pick; one of them is picked uniformly. */
export const randomPickWindow = 16;

/** A field or member and its value (empty for set members). Buffers are the caller's, read-only. */
export type CollectionEntry = [field: Buffer, value: Buffer];

/** A collection as one command sees it. */
export interface Collection {
  /** The key as load() returned it: pass it to stagePut/stageDelete. */
  readonly target: StoredKey;
  readonly type: KeyType;
  /** The live metadata record (of `type`), or undefined when the key is absent or expired. */
  readonly record: Buffer | undefined;
  readonly physDb: number;
  /** The live record's version (0 when absent). */
  readonly version: number;
  /** Elements (0 when absent). */
  readonly size: number;
}

// ---------------------------------------------------------------- loading

/**
 * Loads `key` as a collection of `type`: absent and expired keys load as
 * empty.
 * @throws WrongTypeError when the key is live and holds another type
 */
export function loadCollection(keyspace: Keyspace, db: number, key: Buffer, nowMs: number, type: KeyType): Collection {
  const target = keyspace.load(db, key, nowMs);
  const record = target.live;
  if (record !== undefined && recordType(record) !== type) throw new WrongTypeError();
  return {
    target,
    type,
    record,
    physDb: keyspace.physicalDb(db),
    version: record === undefined ? 0 : recordVersion(record),
    size: record === undefined ? 0 : recordSize(record),
  };
}

/** The value of one field of a loaded collection (a point read), or undefined. */
export function getField(keyspace: Keyspace, collection: Collection, field: Buffer): Buffer | undefined {
  if (collection.record === undefined) return undefined;
  return keyspace.engine.get(subkey(collection.physDb, collection.target.key, collection.version, field));
}

// ---------------------------------------------------------------- writing

interface StagedField {
  field: Buffer;
  /** The new value; null = deleted. */
  value: Buffer | null;
}

/**
 * Changes to one collection within one command. Reads see the command's own
 * earlier changes (HSET h a 1 a 2 adds one field; SREM s a a removes one).
 * Nothing reaches the batch until stage(); each subkey is staged once.
 */
export class CollectionEdit {
  readonly collection: Collection;
  readonly #keyspace: Keyspace;
  readonly #nowMs: number;
  readonly #staged = new Map<string, StagedField>();
  #version: number;
  #size: number;
  #changed = false;

  constructor(keyspace: Keyspace, collection: Collection, nowMs: number) {
    this.#keyspace = keyspace;
    this.collection = collection;
    this.#nowMs = nowMs;
    this.#version = collection.version;
    this.#size = collection.size;
  }

  /** Elements after the changes so far. */
  get size(): number {
    return this.#size;
  }

  /** Whether any change was made (a put, or the removal of a present field). */
  get changed(): boolean {
    return this.#changed;
  }

  /** The field's value as this command sees it, or undefined. */
  get(field: Buffer): Buffer | undefined {
    const staged = this.#staged.get(field.toString('latin1'));
    if (staged !== undefined) return staged.value ?? undefined;
    return getField(this.#keyspace, this.collection, field);
  }

  /** Sets `field` to `value`. @returns whether the field is new */
  put(field: Buffer, value: Buffer): boolean {
    const name = field.toString('latin1');
    const staged = this.#staged.get(name);
    const existed = staged !== undefined ? staged.value !== null : getField(this.#keyspace, this.collection, field) !== undefined;
    if (staged !== undefined) staged.value = value;
    else this.#staged.set(name, { field, value });
    if (!existed) this.#size++;
    this.#changed = true;
    return !existed;
  }

  /** Removes `field`. @returns whether it was present */
  delete(field: Buffer): boolean {
    const name = field.toString('latin1');
    const staged = this.#staged.get(name);
    const existed = staged !== undefined ? staged.value !== null : getField(this.#keyspace, this.collection, field) !== undefined;
    if (!existed) return false;
    if (staged !== undefined) staged.value = null;
    else this.#staged.set(name, { field, value: null });
    this.#size--;
    this.#changed = true;
    return true;
  }

  /**
   * Removes `field`, known to be present (it came from iterating this
   * collection), without the point read.
   */
  deletePresent(field: Buffer): void {
    const name = field.toString('latin1');
    const staged = this.#staged.get(name);
    if (staged !== undefined) {
      if (staged.value === null) return;
      staged.value = null;
    } else {
      this.#staged.set(name, { field, value: null });
    }
    this.#size--;
    this.#changed = true;
  }

  /**
   * Stages the subkey changes and the metadata into `batch`: the record with
   * the new size (keeping the expiry of a live collection), or its deletion
   * when the collection is now empty. Nothing when nothing changed.
   * @throws LimitExceededError when the batch would exceed the engine's limits
   */
  stage(batch: WriteBatch): void {
    if (!this.#changed) return;
    const { target, type, record, physDb } = this.collection;
    if (this.#size === 0) {
      // The metadata goes; subkeys staged here are deleted too (those of
      // another version are dead already, and compaction reclaims them).
      if (record !== undefined) {
        for (const { field } of this.#staged.values()) batch.del(subkey(physDb, target.key, this.#version, field));
      }
      this.#keyspace.stageDelete(batch, target);
      return;
    }
    if (record === undefined) this.#version = this.#keyspace.newVersion(this.#nowMs, target.stored);
    for (const { field, value } of this.#staged.values()) {
      const engineKey = subkey(physDb, target.key, this.#version, field);
      if (value === null) batch.del(engineKey);
      else batch.put(engineKey, value);
    }
    const expireMs = record === undefined ? 0 : recordExpireMs(record);
    this.#keyspace.stagePut(batch, target, collectionRecord(type, expireMs, this.#version, this.#size));
  }
}

/**
 * Stages `target` as a new collection of `type` holding `entries` (the
 * *STORE commands): a new version, no expiry, as Redis's setKey. With no
 * entries the key is deleted. Distinct fields are the caller's to ensure.
 * @returns the number of entries stored
 */
export function stageReplace(keyspace: Keyspace, batch: WriteBatch, target: StoredKey, type: KeyType, entries: readonly CollectionEntry[], nowMs: number): number {
  if (entries.length === 0) {
    keyspace.stageDelete(batch, target);
    return 0;
  }
  const version = keyspace.newVersion(nowMs, target.stored);
  const physDb = keyspace.physicalDb(target.db);
  for (const [field, value] of entries) batch.put(subkey(physDb, target.key, version, field), value);
  keyspace.stagePut(batch, target, collectionRecord(type, 0, version, entries.length));
  return entries.length;
}

// ---------------------------------------------------------------- iteration

/** The engine's synchronous iterator, when it has one (LsmEngine). */
interface SyncIterating {
  iteratorSync(options: IteratorOptions): { next(): [Buffer, Buffer] | undefined; close(): void };
}

/**
 * Calls `visit` for each engine entry in range until it returns false, then
 * `end` (if given) when the range was exhausted rather than stopped:
 * synchronously when the engine has a synchronous iterator, else through a
 * Promise. Keys are the caller's; values are read-only views.
 */
export function forEachEntry(
  engine: Engine,
  options: IteratorOptions,
  visit: (key: Buffer, value: Buffer) => boolean | void,
  end?: () => void,
): MaybePromise<void> {
  const candidate = engine as unknown as Partial<SyncIterating>;
  if (typeof candidate.iteratorSync === 'function') {
    const iterator = (engine as unknown as SyncIterating).iteratorSync(options);
    try {
      for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) {
        if (visit(entry[0], entry[1]) === false) return;
      }
    } finally {
      iterator.close();
    }
    end?.();
    return;
  }
  return forEachEntryAsync(engine, options, visit, end);
}

async function forEachEntryAsync(
  engine: Engine,
  options: IteratorOptions,
  visit: (key: Buffer, value: Buffer) => boolean | void,
  end: (() => void) | undefined,
): Promise<void> {
  const iterator = engine.iterator(options);
  try {
    while (true) {
      const entries = await iterator.nextv(64);
      if (entries.length === 0) break;
      for (const [key, value] of entries) {
        if (visit(key, value) === false) return;
      }
    }
  } finally {
    await iterator.close();
  }
  end?.();
}

/** Where a collection's subkeys live: the prefix, and the bounds of all of them. */
interface SubkeyRange {
  prefix: Buffer;
  end: Buffer | undefined;
}

function subkeyRange(collection: Collection): SubkeyRange {
  const prefix = subkeyPrefix(collection.physDb, collection.target.key, collection.version);
  return { prefix, end: prefixEnd(prefix) };
}

function bounded(range: SubkeyRange, options: IteratorOptions): IteratorOptions {
  if (options.lt === undefined && options.lte === undefined && range.end !== undefined) options.lt = range.end;
  return options;
}

/**
 * Calls `visit` with each field and value of a live collection, in field
 * order, until it returns false. O(N) for all of them.
 */
export function forEachField(keyspace: Keyspace, collection: Collection, visit: (field: Buffer, value: Buffer) => boolean | void): MaybePromise<void> {
  if (collection.record === undefined) return;
  const range = subkeyRange(collection);
  const fieldOffset = range.prefix.length;
  return forEachEntry(keyspace.engine, bounded(range, { gte: range.prefix }), (key, value) => visit(key.subarray(fieldOffset), value));
}

/** Every field and value of a collection, in field order. O(N). */
export function collectFields(keyspace: Keyspace, collection: Collection): MaybePromise<CollectionEntry[]> {
  const entries: CollectionEntry[] = [];
  return andThen(
    forEachField(keyspace, collection, (field, value) => {
      entries.push([field, value]);
    }),
    () => entries,
  );
}

// ---------------------------------------------------------------- random picks

/**
 * `count` entries of a live collection chosen at random: distinct ones when
 * `distinct` (at most its size), else independent picks (repetitions
 * possible). The order of the result is random.
 *
 * An ordered key space has no access by position, so:
 * - exact: when the collection has at most randomPickWalkMax elements, or a
 *   walk is cheaper than sampling (count × randomPickSampleCost >= size),
 *   positions are drawn uniformly (Floyd's algorithm for distinct ones) and
 *   one walk in key order collects them. Cost O(N), memory O(count).
 * - sampled: otherwise each pick descends the trie of the subkeys (descend():
 *   uniformly among the next bytes that occur at each branching level, single
 *   keys kept in proportion to their share), then seeks at random within the
 *   subtree reached and takes one of the randomPickWindow entries from there.
 *   Cost O(count × L × log N), L the branching levels (about log N / log of
 *   the alphabet). Uniform when sibling subtrees are about the same size:
 *   fixed-width ids, hashes, UUIDs, zero-padded or plain decimal numbers
 *   (measured: 100,000 picks over 100,000 "field:N" or "m:00000N" fields hit
 *   63% of them, as uniform picks do). Where siblings differ a lot in size
 *   (keys of very different lengths), members of the smaller subtrees are
 *   picked more often; every member can be picked. Distinct picks skip
 *   repeats, and fall back to the exact walk if they keep colliding.
 */
export function randomEntries(keyspace: Keyspace, collection: Collection, count: number, distinct: boolean): MaybePromise<CollectionEntry[]> {
  const size = collection.size;
  if (collection.record === undefined || size === 0 || count <= 0) return [];
  const wanted = distinct ? Math.min(count, size) : count;
  if (size <= randomPickWalkMax || wanted * randomPickSampleCost >= size) return walkPicks(keyspace, collection, wanted, distinct);
  return run(sampledPicks(keyspace, collection, wanted, distinct));
}

/** Exact picks: uniform positions, collected by one walk. */
function walkPicks(keyspace: Keyspace, collection: Collection, count: number, distinct: boolean): MaybePromise<CollectionEntry[]> {
  const size = collection.size;
  const positions = distinct ? distinctPositions(size, count) : Array.from({ length: count }, () => randomIndex(size));
  positions.sort((a, b) => a - b);
  const picked: CollectionEntry[] = [];
  let next = 0;
  let position = 0;
  const done = forEachField(keyspace, collection, (field, value) => {
    while (next < positions.length && positions[next] === position) {
      picked.push([field, value]);
      next++;
    }
    position++;
    return next < positions.length;
  });
  return andThen(done, () => shuffle(picked));
}

function* sampledPicks(keyspace: Keyspace, collection: Collection, count: number, distinct: boolean): Steps<CollectionEntry[]> {
  const range = subkeyRange(collection);
  const engine = keyspace.engine;
  const fieldOffset = range.prefix.length;
  const first = yield* wait(firstKey(engine, bounded(range, { gte: range.prefix, limit: 1 })));
  const last = yield* wait(firstKey(engine, bounded(range, { gte: range.prefix, limit: 1, reverse: true })));
  if (first === undefined || last === undefined) return [];
  const picked: CollectionEntry[] = [];
  const seen = new Set<string>();
  const attemptsMax = count * 4 + 16;
  for (let attempt = 0; picked.length < count && attempt < attemptsMax; attempt++) {
    const [low, high] = yield* descend(engine, first, last, collection.size);
    // Within the subtree reached: a random seek, then a window of entries (wrapping around to its first key).
    const seek = randomKeyBetween(low, high);
    const window: [Buffer, Buffer][] = [];
    const collect = (key: Buffer, value: Buffer): boolean => window.push([key, value]) < randomPickWindow;
    yield* wait(forEachEntry(engine, { gte: seek, lte: high, limit: randomPickWindow }, collect));
    if (window.length < randomPickWindow && Buffer.compare(low, seek) < 0) {
      yield* wait(forEachEntry(engine, { gte: low, lt: seek, limit: randomPickWindow - window.length }, collect));
    }
    const candidates = distinct ? window.filter(([key]) => !seen.has(key.toString('latin1'))) : window;
    if (candidates.length === 0) continue;
    const [key, value] = candidates[randomIndex(candidates.length)]!;
    if (distinct) seen.add(key.toString('latin1'));
    picked.push([key.subarray(fieldOffset), value]);
  }
  if (picked.length < count) return yield* wait(walkPicks(keyspace, collection, count, distinct));
  return picked;
}

/**
 * Walks down the trie the keys in [first, last] form, from their common
 * prefix, to a subtree small enough for a final seek and window:
 * - at each branching level it picks one of the next bytes that occur (or
 *   the end of a key that stops there) uniformly, by rejection: a byte drawn
 *   uniformly between the smallest and largest that occur is kept when a
 *   seek shows keys with it exist;
 * - a child that turns out to be a single key (a leaf, or the key ending
 *   here) is kept only with probability 1 / (the expected size of a child at
 *   this level, estimated as `size` divided by the choices at each level so
 *   far), so that short keys next to large subtrees ("field:0" beside
 *   "field:1..." with 11,111 keys) are not picked a tenth of the time;
 * - after randomPickProbesMax seeks at one level it takes where the last one
 *   landed. It stops after randomPickLevelsMax levels or at a single key.
 * Cost per level: about two seeks, plus the misses.
 * @returns the first and last keys of the subtree reached
 */
function* descend(engine: Engine, first: Buffer, last: Buffer, size: number): Steps<[low: Buffer, high: Buffer]> {
  let low = first;
  let high = last;
  let subtreeSize = size;
  for (let level = 0; level < randomPickLevelsMax && !low.equals(high); level++) {
    const depth = commonPrefixBytes(low, high);
    const prefix = low.subarray(0, depth);
    // `low` may be the prefix itself (a key that ends here, e.g. "field:1" before "field:10").
    const endsHere = low.length === depth;
    const smallest = endsHere ? (yield* wait(firstKey(engine, { gt: low, lte: high, limit: 1 })))?.[depth] : low[depth];
    const largest = high[depth];
    if (smallest === undefined || largest === undefined) break;
    const choices = (endsHere ? 1 : 0) + largest - smallest + 1;
    const childSize = Math.max(1, subtreeSize / choices);
    let chosen: [low: Buffer, high: Buffer] | undefined;
    for (let probe = 1; chosen === undefined; probe++) {
      const lastProbe = probe >= randomPickProbesMax;
      const choice = randomIndex(choices);
      if (endsHere && choice === 0) {
        if (lastProbe || Math.random() * childSize < 1) return [low, low];
        continue;
      }
      const candidate = Buffer.allocUnsafe(depth + 1);
      prefix.copy(candidate);
      candidate[depth] = smallest + choice - (endsHere ? 1 : 0);
      const landed = yield* wait(firstKey(engine, { gte: candidate, lte: high, limit: 1 }));
      if (landed === undefined) break;
      const exists = landed.length > depth && landed[depth] === candidate[depth];
      if (!exists && !lastProbe) continue;
      const child = landed.subarray(0, depth + 1);
      const childEnd = prefixEnd(child);
      const childLast = yield* wait(firstKey(engine, childEnd === undefined ? { gte: child, reverse: true, limit: 1 } : { gte: child, lt: childEnd, reverse: true, limit: 1 }));
      if (childLast === undefined) break;
      if (childLast.equals(landed) && !lastProbe && Math.random() * childSize >= 1) continue; // a single key: kept with probability 1 / childSize
      chosen = [landed, childLast];
    }
    if (chosen === undefined) break;
    [low, high] = chosen;
    subtreeSize = childSize;
  }
  return [low, high];
}

function commonPrefixBytes(a: Buffer, b: Buffer): number {
  let index = 0;
  while (index < a.length && index < b.length && a[index] === b[index]) index++;
  return index;
}

function firstKey(engine: Engine, options: IteratorOptions): MaybePromise<Buffer | undefined> {
  let found: Buffer | undefined;
  return andThen(
    forEachEntry(engine, options, (key) => {
      found = key;
      return false;
    }),
    () => found,
  );
}

/** Bytes after the common prefix that a random seek interpolates (exact in a double). */
const interpolatedBytes = 6;

/** A key between `low` and `high` (inclusive), uniform over the numbers their next 6 bytes spell. */
export function randomKeyBetween(low: Buffer, high: Buffer): Buffer {
  let index = 0;
  while (index < low.length && index < high.length && low[index] === high[index]) index++;
  const lowValue = readPadded(low, index);
  const highValue = readPadded(high, index);
  const value = lowValue + Math.floor(Math.random() * (highValue - lowValue + 1));
  const out = Buffer.allocUnsafe(index + interpolatedBytes);
  low.copy(out, 0, 0, index);
  out.writeUIntBE(value, index, interpolatedBytes);
  if (Buffer.compare(out, low) < 0) return low;
  return Buffer.compare(out, high) > 0 ? high : out;
}

function readPadded(key: Buffer, index: number): number {
  let value = 0;
  for (let offset = 0; offset < interpolatedBytes; offset++) value = value * 256 + (key[index + offset] ?? 0);
  return value;
}

/** `count` distinct integers in [0, size), uniformly (Floyd's algorithm). */
function distinctPositions(size: number, count: number): number[] {
  const chosen = new Set<number>();
  for (let candidateMax = size - count; candidateMax < size; candidateMax++) {
    const candidate = randomIndex(candidateMax + 1);
    chosen.add(chosen.has(candidate) ? candidateMax : candidate);
  }
  return [...chosen];
}

function randomIndex(length: number): number {
  return Math.floor(Math.random() * length);
}

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = randomIndex(index + 1);
    const item = items[index]!;
    items[index] = items[other]!;
    items[other] = item;
  }
  return items;
}

// ---------------------------------------------------------------- scan

export interface CollectionScanOptions {
  /** Subkeys to examine (Redis's COUNT hint); clamped to [1, scanCountMax]. */
  count: number;
  /** Glob on the field or member (Redis MATCH). */
  match?: Buffer | undefined;
}

export interface CollectionScanResult {
  /** 0 when the iteration is complete. */
  cursor: number;
  entries: CollectionEntry[];
}

/**
 * HSCAN/SSCAN (and ZSCAN's member walk): examines up to `count` subkeys after
 * the cursor's position, in field order, and returns those matching. Cursors
 * are positions in the keyspace's cursor table (scan-cursors.ts) under a
 * scope naming the type, db and key; an unknown cursor starts over. A MATCH
 * pattern's literal prefix narrows the range. O(COUNT) per call.
 */
export function scanCollection(keyspace: Keyspace, collection: Collection, cursor: number, options: CollectionScanOptions): MaybePromise<CollectionScanResult> {
  if (collection.record === undefined) return { cursor: 0, entries: [] };
  const target = collection.target;
  const scope = `${collection.type}:${target.db}:${target.key.toString('latin1')}`;
  const resume = cursor === 0 ? undefined : keyspace.scanCursors.resolve(scope, cursor);
  const count = Math.min(Math.max(1, Math.trunc(options.count)), scanCountMax);
  const pattern = options.match !== undefined && !matchesEverything(options.match) ? options.match : undefined;
  const prefix = subkeyPrefix(collection.physDb, target.key, collection.version);
  const fieldOffset = prefix.length;
  const start = pattern === undefined ? prefix : Buffer.concat([prefix, literalPrefix(pattern)]);
  const end = prefixEnd(start);
  const range: IteratorOptions = end === undefined ? { gte: start } : { gte: start, lt: end };
  if (resume !== undefined) {
    const after = subkey(collection.physDb, target.key, collection.version, resume);
    if (Buffer.compare(after, start) >= 0) {
      delete range.gte;
      range.gt = after;
    }
  }
  range.limit = count + 1;
  const entries: CollectionEntry[] = [];
  let examined = 0;
  let last: Buffer | undefined;
  let more = false;
  const done = forEachEntry(keyspace.engine, range, (key, value) => {
    if (examined === count) {
      more = true;
      return false;
    }
    examined++;
    const field = key.subarray(fieldOffset);
    last = field;
    if (pattern === undefined || stringMatch(pattern, field)) entries.push([field, value]);
    return true;
  });
  return andThen(done, () => ({ cursor: more && last !== undefined ? keyspace.scanCursors.register(scope, last) : 0, entries }));
}

/**
 * A SCAN-family cursor argument (parseScanCursorOrReply): strtoul's decimal,
 * nothing else, at most 2^64 - 1. Negative numbers (which strtoul wraps) and
 * numbers past 2^53 are valid cursors never handed out: the scan starts over.
 * @returns the cursor, or undefined when Redis would answer "invalid cursor"
 */
export function parseScanCursor(argument: Buffer): number | undefined {
  const text = argument.toString('latin1');
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  if (value > cursorMax || value < -cursorMax) return undefined;
  return value < 0n ? -1 : Number(value);
}

const cursorMax = 2n ** 64n - 1n;

// ---------------------------------------------------------------- MaybePromise plumbing

/**
 * `fn(value)`, after `value` settles when it is a promise.
 * NB: not named `then`: a module exporting `then` is a thenable, and
 * `await import()` of it would call that function instead of resolving.
 */
export function andThen<T, U>(value: MaybePromise<T>, fn: (settled: T) => MaybePromise<U>): MaybePromise<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/** A generator run by run(): it yields what it waits for and returns its result. */
export type Steps<T> = Generator<unknown, T, unknown>;

/** Inside a Steps generator: `const x = yield* wait(maybePromise)`. */
export function* wait<T>(value: MaybePromise<T>): Generator<MaybePromise<T>, T, unknown> {
  return (yield value) as T;
}

/**
 * Runs a generator that yields MaybePromises: synchronously as long as
 * nothing it yields is a Promise (LsmEngine), else the rest asynchronously
 * (LevelEngine). One algorithm serves both engines, and the synchronous path
 * allocates no promises.
 */
export function run<T>(steps: Steps<T>): MaybePromise<T> {
  let step = steps.next();
  while (step.done !== true) {
    if (step.value instanceof Promise) return runAsync(steps, step.value);
    step = steps.next(step.value);
  }
  return step.value;
}

async function runAsync<T>(steps: Steps<T>, pending: Promise<unknown>): Promise<T> {
  let step: IteratorResult<unknown, T>;
  try {
    step = steps.next(await pending);
  } catch (error) {
    step = steps.throw(error);
  }
  while (step.done !== true) {
    const value = step.value;
    if (!(value instanceof Promise)) {
      step = steps.next(value);
      continue;
    }
    try {
      step = steps.next(await value);
    } catch (error) {
      step = steps.throw(error);
    }
  }
  return step.value;
}
