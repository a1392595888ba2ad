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
// and return a Promise otherwise (LevelEngine); drive() (walk.ts) lets one
// generator function serve both.

import { assert } from '../assert.js';
import { bytesEqual, compareBytes } from '../format/compare-bytes.js';
import type { Engine, Entry, IteratorOptions, ReadOptions } from '../engine/engine.js';
import type { WriteBatch } from '../engine/write-batch.js';
import { WrongTypeError } from '../errors.js';
import { randomPickCountMax, randomPickLevelsMax, randomPickProbesMax, randomPickWalkMax, scanCountMax, scanHiddenPerCount } from '../limits.js';
import { literalPrefix, matchesEverything, stringMatch } from './glob.js';
import { SliceBudget, drive, pointReadsSliceMin, readInSlices, readInSlicesAtSnapshot, wait, walkEntries, type Steps } from './walk.js';
import { ownerOfCollectionKey, prefixEnd, subkey, subkeyPrefix } from './key-encoding.js';
import type { Keyspace, MaybePromise, StoredKey } from './keyspace.js';
import { KeyType, collectionRecord, recordExpireMs, recordSize, recordType, recordVersion } from './metadata.js';
import { SeekMemo, openProbe, seekMemoBoundsMax, type SubkeyProbe } from './subkey-probe.js';

/**
 * Random picks (HRANDFIELD, SRANDMEMBER, SPOP; see randomEntries()):
 * collections of at most randomPickWalkMax elements are walked to uniformly
 * chosen positions; larger ones are sampled by descending their key trie, at
 * most randomPickLevelsMax levels, refusing at most randomPickProbesMax
 * children a level for being smaller than expected; a pick with repetition
 * returns at most randomPickCountMax elements. Those bounds live in
 * lib/limits.ts.
 */
export { randomPickCountMax, randomPickLevelsMax, randomPickProbesMax, randomPickWalkMax };

/** Rough cost of one sampled pick in walked entries: a walk serves `count` picks when count × this >= size. */
export const randomPickSampleCost = 32;

/**
 * A sampled pick stops descending at a subtree expected to hold at most this
 * many entries and reads it whole (at most 4 times this many). Small because
 * reading an entry costs about half a seek (0.6-0.9 µs on LsmEngine), and a
 * level more costs one seek or, warm (SeekMemo), none.
 */
export const randomPickSubtreeEntries = 4;

/** Entries read after a random seek when a sampled pick runs out of levels; one of them is picked uniformly. */
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
export function getField(keyspace: Keyspace, collection: Collection, field: Buffer, at?: ReadOptions): Buffer | undefined {
  if (collection.record === undefined) return undefined;
  return keyspace.engine.get(subkey(collection.physDb, collection.target.key, collection.version, field), at);
}

/**
 * The values of `fields` of `collection` (undefined: absent), for a
 * read-only command naming many (HMGET, SMISMEMBER): in slices at one
 * engine snapshot (walk.ts, readInSlicesAtSnapshot), a Promise once they
 * pause, to be answered as a snapshot read.
 */
export function getFields(keyspace: Keyspace, collection: Collection, fields: readonly Buffer[]): MaybePromise<(Buffer | undefined)[]> {
  const values = new Array<Buffer | undefined>(fields.length).fill(undefined);
  if (collection.record === undefined) return values;
  return andThen(
    readInSlicesAtSnapshot(keyspace.engine, fields.length, (index, at) => {
      values[index] = getField(keyspace, collection, fields[index]!, at);
    }),
    () => values,
  );
}

// ---------------------------------------------------------------- reading ahead

/**
 * Fields of a collection read before a command's edit (readFields), for a
 * collection that stays as it was loaded until the edit is committed: the
 * RESP dispatcher locks the command's key meanwhile. null = absent.
 */
export interface KnownFields {
  readonly version: number;
  readonly values: ReadonlyMap<string, Buffer | null>;
}

/**
 * Reads the fields fields[0], fields[step], fields[2 step] ... of
 * `collection` ahead of an edit of many of them (SADD, SREM, HSET, HDEL
 * with thousands of arguments), in slices (readInSlices: other clients'
 * commands run between them), so that the edit then runs without a point
 * read. Undefined (read as the edit goes) for a few fields or an absent
 * collection (`load()` loads it, only for many fields); a Promise once it
 * pauses.
 */
export function readFields(keyspace: Keyspace, load: () => Collection, fields: readonly Buffer[], step = 1): MaybePromise<KnownFields | undefined> {
  // A few fields cost no lookup here (the command's own load is its only one).
  const count = Math.ceil(fields.length / step);
  if (count <= pointReadsSliceMin) return undefined;
  const collection = load();
  if (collection.record === undefined) return undefined;
  const values = new Map<string, Buffer | null>();
  const done = readInSlices(count, (index) => {
    const field = fields[index * step]!;
    values.set(field.toString('latin1'), getField(keyspace, collection, field) ?? null);
  });
  return andThen(done, () => ({ version: collection.version, values }));
}

// ---------------------------------------------------------------- writing

interface StagedField {
  field: Buffer;
  /** The new value; null = deleted. */
  value: Buffer | null;
  /** Its engine key, when built to read the field (stage() writes it as it is). */
  key?: Buffer | undefined;
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
  readonly #known: ReadonlyMap<string, Buffer | null> | undefined;
  /** deleteDistinctPresent()'s fields: then the edit's only change. */
  #distinctDeletes: readonly Buffer[] | undefined;

  /** @param known fields read ahead (readFields) of this same collection, as loaded */
  constructor(keyspace: Keyspace, collection: Collection, nowMs: number, known?: KnownFields) {
    this.#keyspace = keyspace;
    this.collection = collection;
    this.#nowMs = nowMs;
    this.#version = collection.version;
    this.#size = collection.size;
    assert(known === undefined || known.version === collection.version, 'fields read ahead are of the collection edited');
    this.#known = known?.values;
  }

  /** The stored value of `field` (named `name`), from the fields read ahead when there. */
  #stored(field: Buffer, name: string): Buffer | undefined {
    const known = this.#known?.get(name);
    if (known !== undefined) return known ?? undefined;
    return getField(this.#keyspace, this.collection, field);
  }

  /**
   * The engine key of `field` in the collection as loaded, undefined when it
   * is absent (its subkeys then get a new version at stage()).
   */
  #keyOf(field: Buffer): Buffer | undefined {
    const { record, physDb, target, version } = this.collection;
    return record === undefined ? undefined : subkey(physDb, target.key, version, field);
  }

  /** #stored() through the engine key `key` from #keyOf(): the key is built once, for the read and for stage(). */
  #storedAt(key: Buffer | undefined, name: string): Buffer | undefined {
    const known = this.#known?.get(name);
    if (known !== undefined) return known ?? undefined;
    return key === undefined ? undefined : this.#keyspace.engine.get(key);
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
    this.#assertNoDistinctDeletes();
    const name = field.toString('latin1');
    const staged = this.#staged.get(name);
    if (staged !== undefined) return staged.value ?? undefined;
    return this.#stored(field, name);
  }

  /** Sets `field` to `value`. @returns whether the field is new */
  put(field: Buffer, value: Buffer): boolean {
    this.#assertNoDistinctDeletes();
    const name = field.toString('latin1');
    const staged = this.#staged.get(name);
    let existed: boolean;
    if (staged !== undefined) {
      existed = staged.value !== null;
      staged.value = value;
    } else {
      const key = this.#keyOf(field);
      existed = this.#storedAt(key, name) !== undefined;
      this.#staged.set(name, { field, value, key });
    }
    if (!existed) this.#size++;
    this.#changed = true;
    return !existed;
  }

  /** Removes `field`. @returns whether it was present */
  delete(field: Buffer): boolean {
    this.#assertNoDistinctDeletes();
    const name = field.toString('latin1');
    const staged = this.#staged.get(name);
    if (staged !== undefined) {
      if (staged.value === null) return false;
      staged.value = null;
    } else {
      const key = this.#keyOf(field);
      if (this.#storedAt(key, name) === undefined) return false;
      this.#staged.set(name, { field, value: null, key });
    }
    this.#size--;
    this.#changed = true;
    return true;
  }

  /**
   * Removes `field`, known to be present (it came from iterating this
   * collection), without the point read.
   */
  deletePresent(field: Buffer): void {
    this.#assertNoDistinctDeletes();
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
   * Removes `fields`, distinct and known to be present (SPOP's picks), as
   * the edit's only change: no lookup or bookkeeping per field (SPOP of
   * 100,000 members spent 0.17 s in deletePresent() alone).
   */
  deleteDistinctPresent(fields: readonly Buffer[]): void {
    assert(this.#staged.size === 0 && this.#distinctDeletes === undefined, 'deleteDistinctPresent() is the only change of its edit');
    assert(fields.length <= this.#size, 'the fields deleted are present');
    if (fields.length === 0) return;
    this.#distinctDeletes = fields;
    this.#size -= fields.length;
    this.#changed = true;
  }

  #assertNoDistinctDeletes(): void {
    assert(this.#distinctDeletes === undefined, 'deleteDistinctPresent() is the only change of its edit');
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
    const distinctDeletes = this.#distinctDeletes ?? [];
    if (record !== undefined) notePickChanges(this.#keyspace.engine, () => subkeyPrefix(physDb, target.key, this.#version), this.#staged.values(), distinctDeletes, recordSize(record), this.#size);
    if (this.#size === 0) {
      // The metadata goes; subkeys staged here are deleted too (those of
      // another version are dead already, and compaction reclaims them).
      if (record !== undefined) {
        for (const { field, key } of this.#staged.values()) batch.del(key ?? subkey(physDb, target.key, this.#version, field));
        for (const field of distinctDeletes) batch.del(subkey(physDb, target.key, this.#version, field));
      }
      this.#keyspace.stageDelete(batch, target);
      return;
    }
    for (const field of distinctDeletes) batch.del(subkey(physDb, target.key, this.#version, field));
    if (record === undefined) this.#version = this.#keyspace.newVersion(this.#nowMs, target.stored);
    for (const { field, value, key } of this.#staged.values()) {
      // A key built for the read is of the version loaded, which stays when the collection was there.
      const engineKey = key ?? subkey(physDb, target.key, this.#version, field);
      if (value === null) batch.del(engineKey);
      else batch.put(engineKey, value);
    }
    const expireMs = record === undefined ? 0 : recordExpireMs(record);
    this.#keyspace.stagePut(batch, target, collectionRecord(type, expireMs, this.#version, this.#size));
  }
}

// ---------------------------------------------------------------- iteration

/** The engine's synchronous iterator, when it has one (LsmEngine). */
interface SyncIterating {
  iteratorSync(options: IteratorOptions): {
    next(): [Buffer, Buffer] | undefined;
    visit(visit: (key: Buffer, value: Buffer) => boolean | void): void;
    readonly stoppedAfter?: Buffer | undefined;
    close(): void;
  };
}

/**
 * Calls `visit` for each engine entry in range until it returns false, then
 * `end` (if given) when the range was exhausted rather than stopped:
 * synchronously when the engine has a synchronous iterator, else through a
 * Promise. Values are read-only views. Keys are the caller's, unless `keys`
 * is 'transient': then a key is valid only during its call (the engine may
 * reuse its buffer), which spares a copy per entry. With options.hiddenMax
 * (LsmEngine, owned keys), `stopped.after` receives the engine key after
 * which the walk ended early, having passed that many hidden entries
 * (tombstones of deleted keys, older versions).
 */
export function forEachEntry(
  engine: Engine,
  options: IteratorOptions,
  visit: (key: Buffer, value: Buffer) => boolean | void,
  end?: () => void,
  keys: 'owned' | 'transient' = 'owned',
  stopped?: { after?: Buffer | undefined },
): MaybePromise<void> {
  const candidate = engine as unknown as Partial<SyncIterating>;
  if (typeof candidate.iteratorSync === 'function') {
    const iterator = (engine as unknown as SyncIterating).iteratorSync(options);
    try {
      if (keys === 'transient') {
        let stopped = false;
        iterator.visit((key, value) => {
          if (visit(key, value) !== false) return true;
          stopped = true;
          return false;
        });
        if (stopped) return;
      } else {
        for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) {
          if (visit(entry[0], entry[1]) === false) return;
        }
        if (stopped !== undefined) stopped.after = iterator.stoppedAfter;
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
 * order, until it returns false. O(N) for all of them, walked in slices at
 * a snapshot taken now (walk.ts): a Promise when it takes more than one.
 */
export function forEachField(keyspace: Keyspace, collection: Collection, visit: (field: Buffer, value: Buffer) => boolean | void): MaybePromise<void> {
  if (collection.record === undefined) return;
  const range = subkeyRange(collection);
  const fieldOffset = range.prefix.length;
  return walkEntries(keyspace.engine, bounded(range, { gte: range.prefix }), (key, value) => visit(key.subarray(fieldOffset), value));
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
 * possible). The order of the result is random. `removing` says the caller
 * deletes every entry returned, in the same command (SPOP): only such picks
 * may draw from a sample of the members.
 *
 * An ordered key space has no access by position. All the probes of one call
 * go through one re-seekable probe at one engine snapshot (subkey-probe.ts:
 * one engine cursor on LsmEngine, an engine iterator per seek on
 * LevelEngine), and a collection's RandomPickCache carries what earlier
 * calls learnt (below). The walks and descents go in slices (walkSlice):
 * once they pause, the answer is a Promise, and still the collection as it
 * was when the call began (a snapshot read for SRANDMEMBER, HRANDFIELD and
 * ZRANDMEMBER; SPOP's key is locked).
 * Three ways, the first that applies:
 * - pooled, exact: a collection of at most randomPickPoolMax members that
 *   has served enough picks to pay for a walk (picks × randomPickSampleCost
 *   >= N) gets a pool of its members' names, filled by a walk that goes on
 *   across calls (randomPickPoolStepMax entries a call, so no call stalls on
 *   a long walk). Picks from a complete pool cost one point read each (which
 *   reads the value and checks the member is still there). Cost O(count).
 *   A larger collection drained by removing picks (SPOP) gets a uniform
 *   sample of randomPickSampleMax members instead, walked for again as it
 *   runs low (MemberPool): exact too, O(count) a call plus the walks,
 *   about (N + T) / randomPickSampleMax entries a pop.
 * - walked, exact: when the collection has at most randomPickWalkMax
 *   elements, or a walk is cheaper than sampling (count ×
 *   randomPickSampleCost >= N), positions are drawn uniformly (Floyd's
 *   algorithm for distinct ones) and one walk in key order collects them.
 *   Cost O(N), memory O(count). A walk that steps over more tombstones than
 *   max(N, count × randomPickSampleCost) gives up for sampling.
 * - sampled: otherwise each pick descends the trie of the subkeys
 *   (descend(): uniformly among the next bytes that occur at each branching
 *   level, by rejection; a child smaller than expected kept in proportion to
 *   its size) until the subtree reached is expected to hold at most
 *   randomPickSubtreeEntries entries, then reads that subtree (one seek, at
 *   most 16 entries) and picks one of its entries uniformly. Cold, each level
 *   costs about one forward seek (the existence probe) and one backward seek
 *   (a bound on the child's last key): about 2 L seeks, L the branching levels
 *   (about log(N / 4) / log of the alphabet; 5 for 181,000 decimal ids).
 *   Warm, the upper levels (those with at most about 1,000 children in
 *   all) run on the bounds the cache's SeekMemo kept, with no seek: on
 *   181,000 decimal ids, about 4 seeks and 2 or 3 entries read per pick.
 *   Uniform when sibling subtrees are about the same size: fixed-width ids,
 *   hashes, UUIDs, zero-padded or plain decimal numbers. Measured, 100,000
 *   picks over 100,000 members (a uniform picker hits 63.2% of them):
 *   "member:N" 63.1%, "m:000000N" 63.2%, 16 random hex digits 58.6%, random
 *   base-36 strings of 1 to 7 characters 58%. Where siblings differ a lot in
 *   size (keys of very different lengths, or random keys deep in the trie),
 *   members of the smaller subtrees are picked more often; every member can
 *   be picked. Distinct picks skip repeats, and fall back to the exact walk
 *   if they keep colliding.
 * SPOP and tombstones: a popped member stays a tombstone in the memtable
 * and segments until compaction, and every seek steps over the tombstones
 * between its target and the next live key: about T / N of them, T the
 * tombstones, so sampled picks slow down as a set drains. The SeekMemo
 * remembers where long runs of them end, so later seeks jump over them, and
 * the samples serve all but the first N / randomPickSampleCost pops
 * (measured: draining a set of 181,000 members one SPOP at a time took 12
 * to 17 s, 230 to 330 s before the memo; 9.9 s at 59 us of CPU a pop with
 * the whole-set pool only for the last 16,384 members, 4.5 s at 30 us with
 * the samples).
 * Bias while draining: the descent draws the children of a node with equal
 * probability whatever their sizes, so sibling subtrees lose members at
 * about the same rate rather than in proportion to their sizes; late in a
 * drain (a few percent of the members left) those left gather in the
 * subtrees that started larger, until the pool, which is exact, takes over.
 */
export function randomEntries(keyspace: Keyspace, collection: Collection, count: number, distinct: boolean, removing = false): MaybePromise<CollectionEntry[]> {
  if (collection.record === undefined) return [];
  return randomSubkeyEntries(keyspace, subkeyRange(collection).prefix, collection.size, count, distinct, removing);
}

/**
 * randomEntries() over the `size` live subkeys under `prefix` (a collection
 * version's subkey prefix), for collections not loaded as a Collection
 * (sorted sets: their members and scores). A writer that bypasses
 * CollectionEdit must call notePickWrites() for them.
 */
export function randomSubkeyEntries(keyspace: Keyspace, prefix: Buffer, size: number, count: number, distinct: boolean, removing = false): MaybePromise<CollectionEntry[]> {
  if (size === 0 || count <= 0) return [];
  const wanted = distinct ? Math.min(count, size) : count;
  return drive(randomSteps(keyspace, { prefix, end: prefixEnd(prefix) }, size, wanted, distinct, removing && distinct));
}

/** Most collections whose random-pick state (RandomPickCache) is kept, per engine: each holds at most about 1.5 MiB. */
export const randomPickCachesMax = 8;

/** Collections of at most this many members get a member pool (RandomPickCache.pool): about 100 bytes a member. */
export const randomPickPoolMax = 16_384;

/**
 * Members a sample pool holds (MemberPool.sample; 75-100 bytes a member, about 5-6.5 MiB): draining a
 * set walks it, members and tombstones, once per three quarters of this many pops, so it is larger than
 * randomPickPoolMax. Draining 259,000 members at pipeline 16, server CPU a pop: 40 us with 32,768,
 * 32 us with 65,536, 30 us with 131,072 (the walks were half of it at 32,768).
 */
export const randomPickSampleMax = 65_536;

/** Entries (live or stepped over) one call walks to build a pool, well under a millisecond; later calls go on from there. */
export const randomPickPoolStepMax = 256;

function* randomSteps(keyspace: Keyspace, range: SubkeyRange, size: number, count: number, distinct: boolean, removing: boolean): Steps<CollectionEntry[]> {
  const cache = pickCache(keyspace.engine, range.prefix, size);
  cache.picks += count;
  // A sample running low is walked for again while it still serves (removing picks only).
  const refilling = !cache.building && removing && cache.pool?.complete === true && cache.pool.sample && cache.pool.names.length <= randomPickRefillAt;
  if (cache.pool?.complete === true && !refilling) {
    const pooled = pooledPicks(keyspace, cache, range, count, distinct, removing);
    if (pooled !== undefined) return pooled;
  }
  // Every read from here is at this snapshot: picks that pause between slices answer the collection as it was.
  const snapshot = keyspace.engine.snapshot();
  let probe: SubkeyProbe;
  try {
    probe = openProbe(keyspace.engine, { gte: range.prefix, lt: range.end }, cache.memo, snapshot);
  } catch (error) {
    snapshot.release();
    throw error;
  }
  try {
    if (refilling) {
      const refill = (cache.refill ??= newPool(cache.size, true));
      yield* buildPool(probe, cache, refill, range.prefix.length);
      // The next sample takes over when complete, or as the pool to walk on when the old one runs out first.
      // (Another call may have dropped either meanwhile, on an engine whose probe waits.)
      if (cache.refill === refill && (refill.complete || cache.pool === undefined || cache.pool.names.length < count)) {
        cache.pool = refill;
        cache.refill = undefined;
      }
      if (poolComplete(cache)) {
        const pooled = pooledPicks(keyspace, cache, range, count, distinct, removing, probe);
        if (pooled !== undefined) return pooled;
      }
    } else {
      // A pool is built once the picks this cache served would have paid for walking the collection: a whole
      // one for a small collection, a sample (drawn from only by picks that remove what they draw) for a larger one.
      const poolable = !cache.building && (size <= randomPickPoolMax || cache.pool?.sample === true || (removing && samplesKept(keyspace.engine) < randomPickSamplesMax));
      if (poolable && !poolComplete(cache) && (cache.pool !== undefined || cache.picks * randomPickSampleCost >= size)) {
        cache.pool ??= cache.refill ?? newPool(cache.size, removing);
        cache.refill = undefined;
        yield* buildPool(probe, cache, cache.pool, range.prefix.length);
        if (poolComplete(cache)) {
          const pooled = pooledPicks(keyspace, cache, range, count, distinct, removing, probe);
          if (pooled !== undefined) return pooled;
        }
      }
    }
    if (size <= randomPickWalkMax || count * randomPickSampleCost >= size) {
      const walked = yield* walkPicks(probe, range.prefix.length, size, count, distinct, Math.max(size, count * randomPickSampleCost));
      if (walked !== undefined) return walked;
    }
    const sampled = yield* sampledPicks(keyspace, probe, range.prefix.length, size, count, distinct);
    if (sampled !== undefined) return sampled;
    return (yield* walkPicks(probe, range.prefix.length, size, count, distinct, Number.POSITIVE_INFINITY))!;
  } finally {
    try {
      yield* wait(probe.close());
    } finally {
      snapshot.release();
    }
  }
}

// ---------------------------------------------------------------- random picks: state kept between calls

/**
 * What random picks remember of one collection between calls, valid while
 * the collection only loses members: where seeks landed (SeekMemo, so that
 * probes jump over the tombstones SPOP leaves and a warm descent seeks only
 * at its last level), and members' names (MemberPool): all of them for a
 * collection of at most randomPickPoolMax members, a uniform sample for a
 * larger one that SPOP drains. CollectionEdit.stage() keeps it in step:
 * deleted members leave the pools and the size; anything added or changed
 * drops it all. A size that disagrees with the collection's (a write that
 * bypassed stage(), or a batch taken back) drops it too.
 */
interface RandomPickCache {
  size: number;
  /** Picks served since the cache was made. */
  picks: number;
  memo: SeekMemo;
  pool: MemberPool | undefined;
  /** The next sample, walked for while `pool` (a sample down to randomPickRefillAt members) still serves. */
  refill: MemberPool | undefined;
  /**
   * A call is walking for a pool and waits (LevelEngine's probe answers
   * through promises): other calls meanwhile (a keyed SPOP walks beside
   * other clients' SRANDMEMBER) leave the pools alone and pick otherwise.
   */
  building: boolean;
}

/**
 * Members' names (fields as latin1 strings; values are read at each pick),
 * in no order, built by a walk that goes on across calls
 * (randomPickPoolStepMax entries a call) until it reaches the end of the
 * collection. Either every member (`sample` false: a collection of at most
 * randomPickPoolMax members when the walk began) or, for a larger one, a
 * uniform sample of randomPickSampleMax of them.
 *
 * The sample is drawn by the walk with random pairing (Gemulla, Lehner and
 * Haas, "A Dip in the Reservoir", VLDB 2006): reservoir sampling (Algorithm
 * R) that stays uniform while members the walk has passed are removed (the
 * pops that go on meanwhile): each removal is paired with a later member of
 * the walk, which takes the freed slot with the probability that keeps every
 * member passed equally likely to be in the sample. Members removed before
 * the walk reaches them are simply never seen.
 *
 * A sample serves only picks that remove what they draw (SPOP): a draw from
 * a uniform sample of the members is uniform over them, and what is left of
 * the sample after a draw is a uniform sample of the members left, so every
 * draw is uniform, exactly as from the whole set. Picks that leave the
 * members in place (SRANDMEMBER) would keep drawing the same few, so they
 * sample by descent instead. Once a sample is down to randomPickRefillAt
 * members, each pop also walks on (randomPickPoolStepMax entries) for the
 * next sample, which replaces it when complete: draining a set of N members
 * walks it about N / (randomPickSampleMax - randomPickRefillAt) times, each
 * walk stepping over the set's members and its tombstones.
 */
interface MemberPool {
  names: string[];
  /** Name → its index in `names`, for removal in O(1). */
  indexes: Map<string, number>;
  complete: boolean;
  /** Where the walk goes on: after this key (undefined: from the start). */
  walkedTo: Buffer | undefined;
  /** The field of `walkedTo` (latin1), to tell whether a removed member was passed. */
  walkedName: string | undefined;
  /** A uniform sample of the members rather than all of them (see above). */
  sample: boolean;
  /** Members the walk has passed that are still there (the reservoir's population). */
  passed: number;
  /** Random pairing: removals of passed members not yet paired, those that were in the sample and those that were not. */
  removedIn: number;
  removedOut: number;
}

/** A sample this small (members left) starts the walk for the next one. */
export const randomPickRefillAt = randomPickSampleMax / 4;

/** Most collections with a sample pool (about 6.5 MiB, 13 while the next is walked for), per engine (samplesKept()). */
export const randomPickSamplesMax = 2;

/** A pool for a collection of `size` members: a sample when it is larger than randomPickPoolMax and `removing`. */
function newPool(size: number, removing: boolean): MemberPool {
  return {
    names: [],
    indexes: new Map<string, number>(),
    complete: false,
    walkedTo: undefined,
    walkedName: undefined,
    sample: removing && size > randomPickPoolMax,
    passed: 0,
    removedIn: 0,
    removedOut: 0,
  };
}

/** Whether the cache holds a complete pool (a function: buildPool() changes it behind the caller's narrowing). */
function poolComplete(cache: RandomPickCache): boolean {
  return cache.pool?.complete === true;
}

/**
 * How many of the engine's caches hold a sample pool, or a whole pool a
 * sample turned into (more than randomPickPoolMax members). Caches of
 * collections gone meanwhile (deleted, overwritten, renamed, expired: writes
 * that do not pass through CollectionEdit) are dropped here, so they neither
 * count nor hold their memory while a live set waits for a sample.
 */
function samplesKept(engine: Engine): number {
  const caches = pickCaches.get(engine);
  if (caches === undefined) return 0;
  let kept = 0;
  for (const [name, cache] of caches) {
    if (cache.pool === undefined || !(cache.pool.sample || cache.pool.names.length > randomPickPoolMax)) continue;
    if (collectionLive(engine, name)) kept++;
    else caches.delete(name); // deleting the current entry does not disturb a Map's iteration
  }
  return kept;
}

/** Whether the collection version whose subkey prefix is `name` (latin1) is still the key's record. */
function collectionLive(engine: Engine, name: string): boolean {
  const { metadataKey, version } = ownerOfCollectionKey(Buffer.from(name, 'latin1'));
  const record = engine.get(metadataKey);
  return record !== undefined && recordType(record) !== KeyType.string && recordVersion(record) === version;
}

/** Per engine: subkey prefix (latin1) → cache, least recently used first (a Map's order serves as the LRU list). */
const pickCaches = new WeakMap<Engine, Map<string, RandomPickCache>>();

/** The cache of the collection under `prefix`, fresh when it had none or one that disagrees with `size`. */
function pickCache(engine: Engine, prefix: Buffer, size: number): RandomPickCache {
  let caches = pickCaches.get(engine);
  if (caches === undefined) pickCaches.set(engine, (caches = new Map()));
  const name = prefix.toString('latin1');
  let cache = caches.get(name);
  if (cache !== undefined) caches.delete(name);
  if (cache === undefined || cache.size !== size) cache = { size, picks: 0, memo: new SeekMemo(), pool: undefined, refill: undefined, building: false };
  caches.set(name, cache);
  if (caches.size > randomPickCachesMax) caches.delete(caches.keys().next().value!);
  return cache;
}

/** Keeps a cache in step with a command's changes to its collection (see RandomPickCache). */
function notePickChanges(
  engine: Engine,
  prefixOf: () => Buffer,
  staged: Iterable<StagedField>,
  distinctDeletes: readonly Buffer[],
  sizeBefore: number,
  sizeAfter: number,
): void {
  const caches = pickCaches.get(engine);
  if (caches === undefined || caches.size === 0) return;
  const prefix = prefixOf();
  const removed: string[] = [];
  let added = false;
  for (const { field, value } of staged) {
    if (value !== null) added = true;
    else removed.push(field.toString('latin1'));
  }
  if (distinctDeletes.length <= 64) {
    for (const field of distinctDeletes) removed.push(field.toString('latin1'));
    notePickWrites(engine, prefix, removed, added, sizeBefore, sizeAfter);
    return;
  }
  // Many are named only if a pool of the collection is there to take them out of.
  const names = function* (): Generator<string> {
    yield* removed;
    for (const field of distinctDeletes) yield field.toString('latin1');
  };
  notePickWrites(engine, prefix, names(), added, sizeBefore, sizeAfter);
}

/**
 * Keeps the random-pick cache of the subkeys under `prefix` in step with a
 * write (see RandomPickCache), for writers that bypass CollectionEdit
 * (sorted sets): `removed` names the fields removed (latin1), `added` tells
 * whether any was added or changed, which drops the cache. A cache whose
 * size is not `sizeBefore` goes too: it was kept in step with a write that
 * then failed (the edit is noted before the write is known to succeed), and
 * no longer matches the collection even if later sizes happen to agree.
 */
export function notePickWrites(engine: Engine, prefix: Buffer, removed: Iterable<string>, added: boolean, sizeBefore: number, sizeAfter: number): void {
  const caches = pickCaches.get(engine);
  if (caches === undefined || caches.size === 0) return;
  const name = prefix.toString('latin1');
  const cache = caches.get(name);
  if (cache === undefined) return;
  if (added || sizeAfter === 0 || cache.size !== sizeBefore) {
    caches.delete(name);
    return;
  }
  if (cache.pool !== undefined || cache.refill !== undefined) {
    for (const field of removed) {
      if (cache.pool !== undefined) removeFromPool(cache.pool, field);
      if (cache.refill !== undefined) removeFromPool(cache.refill, field);
    }
  }
  cache.size = sizeAfter;
}

/** Takes a removed member out of a pool (random pairing's deletion step while a sample is walked for). */
function removeFromPool(pool: MemberPool, name: string): void {
  // Not passed yet: the walk will not see it. (A complete pool has passed every member.)
  if (!pool.complete && (pool.walkedName === undefined || name > pool.walkedName)) return;
  pool.passed--;
  const index = pool.indexes.get(name);
  if (index === undefined) {
    pool.removedOut++;
    return;
  }
  pool.removedIn++;
  pool.indexes.delete(name);
  const last = pool.names.pop()!;
  if (index === pool.names.length) return;
  pool.names[index] = last;
  pool.indexes.set(last, index);
}

/**
 * Walks on (at most randomPickPoolStepMax entries) to fill `pool`; complete
 * once the walk reaches the end. A complete pool meant to hold every member
 * that holds another number is dropped.
 */
function* buildPool(probe: SubkeyProbe, cache: RandomPickCache, pool: MemberPool, fieldOffset: number): Steps<void> {
  cache.building = true;
  try {
    yield* buildPoolSteps(probe, cache, pool, fieldOffset);
  } finally {
    cache.building = false;
  }
}

function* buildPoolSteps(probe: SubkeyProbe, cache: RandomPickCache, pool: MemberPool, fieldOffset: number): Steps<void> {
  let budget = randomPickPoolStepMax;
  let step = probe.seek(pool.walkedTo === undefined ? Buffer.alloc(0) : Buffer.concat([pool.walkedTo, zeroByte]));
  // A ready step is taken as it is (see walkPicks).
  for (let entry = step instanceof Promise ? yield* wait(step) : step; entry !== undefined; step = probe.next(), entry = step instanceof Promise ? yield* wait(step) : step) {
    budget -= 1 + probe.skipped;
    const name = entry[0].toString('latin1', fieldOffset);
    pool.walkedTo = entry[0];
    pool.walkedName = name;
    if (!pool.sample) {
      addToPool(pool, name);
    } else if (pool.removedIn + pool.removedOut > 0) {
      // Random pairing: a removal from the sample is made up for with probability removedIn / (removedIn + removedOut).
      if (randomIndex(pool.removedIn + pool.removedOut) < pool.removedIn) {
        pool.removedIn--;
        addToPool(pool, name);
      } else {
        pool.removedOut--;
      }
    } else if (pool.names.length < randomPickSampleMax) {
      addToPool(pool, name);
    } else {
      // Algorithm R: the member takes a uniformly chosen slot with probability randomPickSampleMax / (passed + 1).
      const slot = randomIndex(pool.passed + 1);
      if (slot < randomPickSampleMax) {
        pool.indexes.delete(pool.names[slot]!);
        pool.indexes.set(name, slot);
        pool.names[slot] = name;
      }
    }
    pool.passed++;
    if (budget <= 0) return;
  }
  pool.complete = true;
  // A sample that holds every member (the set shrank while it was walked) is a whole pool.
  if (pool.sample && pool.names.length === cache.size) pool.sample = false;
  if (!pool.sample && pool.names.length !== cache.size && pool === cache.pool) cache.pool = undefined;
}

function addToPool(pool: MemberPool, name: string): void {
  pool.indexes.set(name, pool.names.length);
  pool.names.push(name);
}

/**
 * Picks from a complete pool, each member read by a point read (for its
 * value, and to check it), at the probe's snapshot when given. A sample serves only removing picks, while it
 * holds enough members (else it is dropped, to be walked for again).
 * @returns undefined when the pool cannot serve the picks, or a member drawn is gone (the pool is dropped)
 */
function pooledPicks(keyspace: Keyspace, cache: RandomPickCache, range: SubkeyRange, count: number, distinct: boolean, removing: boolean, probe?: SubkeyProbe): CollectionEntry[] | undefined {
  const pool = cache.pool!;
  const names = pool.names;
  if (pool.sample) {
    if (!removing) return undefined;
    if (names.length < count || names.length === 0) {
      cache.pool = undefined;
      return undefined;
    }
  } else if (names.length !== cache.size) {
    cache.pool = undefined;
    return undefined;
  }
  const positions = distinct ? Array.from(distinctPositions(names.length, Math.min(count, names.length))) : Array.from({ length: count }, () => randomIndex(names.length));
  // Each member drawn is read once, however often it is drawn (SRANDMEMBER -1000000 of a small set).
  const read = new Map<number, CollectionEntry>();
  const picked: CollectionEntry[] = [];
  for (const position of shuffle(positions)) {
    let entry = read.get(position);
    if (entry === undefined) {
      const field = Buffer.from(names[position]!, 'latin1');
      // Read where the probe reads (its snapshot), once the call has one: a pool walked for across pauses.
      const key = Buffer.concat([range.prefix, field]);
      const value = probe === undefined ? keyspace.engine.get(key) : probe.get(key);
      if (value === undefined) {
        cache.pool = undefined;
        cache.refill = undefined;
        return undefined;
      }
      entry = [field, value];
      read.set(position, entry);
    }
    picked.push(entry);
  }
  return picked;
}

// ---------------------------------------------------------------- random picks: walks

/**
 * Exact picks: uniform positions, collected by one walk.
 * @returns undefined when the walk stepped over more than `skippedMax` tombstones and older versions
 */
function* walkPicks(probe: SubkeyProbe, fieldOffset: number, size: number, count: number, distinct: boolean, skippedMax: number): Steps<CollectionEntry[] | undefined> {
  const positions = distinct ? distinctPositions(size, count) : Uint32Array.from({ length: count }, () => randomIndex(size)).sort();
  const picked: CollectionEntry[] = [];
  const slice = new SliceBudget();
  let next = 0;
  let skipped = 0;
  let step = probe.seek(Buffer.alloc(0));
  // A step that is ready is taken as it is: a yield per entry would cost more than the step (LsmEngine).
  let entry = step instanceof Promise ? yield* wait(step) : step;
  for (let position = 0; entry !== undefined && next < positions.length; position++) {
    skipped += probe.skipped;
    if (skipped > skippedMax) return undefined;
    while (next < positions.length && positions[next] === position) {
      picked.push([entry[0].subarray(fieldOffset), entry[1]]);
      next++;
    }
    if (next === positions.length) break;
    if (slice.spend(1 + probe.skipped)) yield* slice.pause();
    step = probe.next();
    entry = step instanceof Promise ? yield* wait(step) : step;
  }
  // The size in the metadata is exact, so the walk reaches every position.
  return shuffle(picked);
}

// ---------------------------------------------------------------- random picks: sampling

/**
 * Sampled picks (see randomEntries()).
 * @returns undefined when distinct picks kept colliding (the caller walks instead)
 */
/** What a descent (sampledPicks) costs, in entries a walk reads in the same time (a seek costs a few). */
const descentCost = 16;

function* sampledPicks(keyspace: Keyspace, probe: SubkeyProbe, fieldOffset: number, size: number, count: number, distinct: boolean): Steps<CollectionEntry[] | undefined> {
  const first = yield* wait(probe.firstBound(Buffer.alloc(0), true));
  const last = yield* wait(probe.lastBound(undefined, true));
  if (first === undefined || last === undefined) return [];
  const picked: CollectionEntry[] = [];
  const seen = new Set<string>();
  const attemptsMax = count * 4 + 16;
  const slice = new SliceBudget();
  for (let attempt = 0; picked.length < count && attempt < attemptsMax; attempt++) {
    // A descent (a few seeks, a few entries read) is charged as descentCost entries read.
    if (attempt > 0 && slice.spend(descentCost)) yield* slice.pause();
    const reached = yield* descend(probe, first, last, size);
    const candidates = distinct ? reached.filter(([key]) => !seen.has(key.toString('latin1'))) : reached;
    if (candidates.length === 0) continue;
    const [key, value] = candidates[randomIndex(candidates.length)]!;
    if (distinct) seen.add(key.toString('latin1'));
    picked.push([key.subarray(fieldOffset), value]);
  }
  return picked.length < count ? undefined : picked;
}

/**
 * Walks down the trie the keys between `first` and `last` form, from their
 * common prefix, to a subtree expected to hold at most
 * randomPickSubtreeEntries entries, and reads it:
 * - at each branching level it picks one of the next bytes that occur (or
 *   the end of a key that stops there) uniformly, by rejection: a byte drawn
 *   uniformly between the smallest and largest is kept when the first key at
 *   or after it has it. A miss also teaches: the bytes from the one drawn to
 *   the one landed on do not occur (they are not drawn again) and the one
 *   landed on does (its child's first key is known). So the draws stay
 *   uniform among the bytes that occur however sparse they are (hex digits
 *   between '0' and 'f'), and stop;
 * - a child found smaller than expected (the expected size of a child is the
 *   subtree's divided among the choices not ruled out) is kept only in
 *   proportion to its size: a single key with probability 1 / expected, a
 *   subtree read whole with (its entries) / expected, at most
 *   randomPickProbesMax refusals a level. So short keys next to large
 *   subtrees ("field:0" beside "field:1..." with 11,111 keys) are not picked
 *   a tenth of the time;
 * - a child expected to be small enough is read (one seek, at most 4 ×
 *   randomPickSubtreeEntries entries: beyond that it is larger than expected
 *   and the walk goes on into it); any other child needs a bound on its last
 *   key (none for the largest byte: the subtree's bound serves);
 * - past randomPickLevelsMax levels it reads the randomPickWindow entries
 *   from a random seek inside the subtree reached.
 * Above the last level it works on bounds (probe.firstBound/lastBound): keys
 * that were the first or last live ones where a seek landed, in this call or
 * (SeekMemo) an earlier one, so that a warm descent seeks only at its last
 * level. While a collection only loses members, a remembered first key is at
 * or before the real one and a remembered last key at or after it: the byte
 * ranges drawn from can only be too wide, which rejection keeps uniform. A
 * child remembered to exist may have emptied since: reading it then finds
 * nothing, the descent forgets the bounds it used and gives up (the caller
 * draws again). A key a bound names is answered only after a point read.
 * @returns the entries to pick from, uniformly: those of the subtree reached
 *   (none when the descent gave up)
 */
function* descend(probe: SubkeyProbe, first: Buffer, last: Buffer, size: number): Steps<Entry[]> {
  let low = first;
  let high = last;
  let subtreeSize = size;
  // The targets of the first bounds this descent relies on, forgotten if the subtree turns out empty.
  let path: Buffer[] = [];
  const giveUp = (used: readonly Buffer[]): Entry[] => {
    probe.forget(used);
    return [];
  };
  for (let level = 0; level < randomPickLevelsMax; level++) {
    if (bytesEqual(low, high)) return liveEntry(probe, low) ?? giveUp(path);
    const depth = commonPrefixBytes(low, high);
    // `low` may be the prefix itself (a key that ends here, e.g. "field:1" before "field:10").
    const endsHere = low.length === depth;
    // Bounds are kept for the levels with few enough nodes (about size / subtreeSize) that the memo holds them all.
    let second = low;
    if (endsHere) {
      const target = Buffer.concat([low, zeroByte]);
      const after = yield* wait(probe.firstBound(target, (subtreeSize / size) * seekMemoBoundsMax >= 2));
      if (after === undefined || compareBytes(after, high) > 0) return liveEntry(probe, low) ?? giveUp(path); // only `low` is left in this subtree
      path = [...path, target];
      second = after;
    }
    const smallest = second[depth];
    const largest = high[depth];
    if (smallest === undefined || largest === undefined || largest < smallest) break;
    // Choices: the key ending here (when `low` does), then each byte from smallest to largest.
    const offset = endsHere ? 1 : 0;
    const choices = offset + largest - smallest + 1;
    const keep = (subtreeSize / choices / size) * seekMemoBoundsMax >= 2;
    // What the draws so far showed: choices that do not occur, and where those that do start.
    const absent = new Uint8Array(choices);
    let absentCount = 0;
    const markAbsent = (from: number, to: number): void => {
      for (let index = from; index < to; index++) {
        absentCount += 1 - absent[index]!;
        absent[index] = 1;
      }
    };
    // The expected size of a child: the subtree's shared among the choices not ruled out so far.
    let childSize = subtreeSize / choices;
    const starts: (Buffer | undefined)[] = [];
    const startTargets: (Buffer | undefined)[] = [];
    starts[offset] = second;
    let rejections = 0;
    let chosen: [low: Buffer, high: Buffer] | undefined;
    for (let draw = 0; chosen === undefined && draw < drawsMax; draw++) {
      const choice = randomIndex(choices);
      if (absent[choice] === 1) continue;
      const force = rejections >= randomPickProbesMax;
      if (endsHere && choice === 0) {
        childSize = Math.max(1, subtreeSize / (choices - absentCount));
        if (!force && Math.random() * childSize >= 1) {
          rejections++; // a single key: kept with probability 1 / childSize
          continue;
        }
        const entry = liveEntry(probe, low);
        if (entry !== undefined) return entry;
        markAbsent(0, 1);
        continue;
      }
      let childLow = starts[choice];
      if (childLow === undefined) {
        const target = childKey(low, depth, smallest + choice - offset);
        const landed = yield* wait(probe.firstBound(target, keep));
        if (landed === undefined || compareBytes(landed, high) > 0 || landed.length <= depth) {
          markAbsent(choice, choices); // nothing in this subtree from the drawn byte on
          continue;
        }
        // Bytes from the drawn one up to the one landed on do not occur; that one does, and starts there.
        const landedChoice = landed[depth]! - smallest + offset;
        markAbsent(choice, landedChoice);
        starts[landedChoice] = landed;
        startTargets[landedChoice] = target;
        if (landedChoice !== choice) continue;
        childLow = landed;
      }
      const used = startTargets[choice] === undefined ? path : [...path, startTargets[choice]!];
      childSize = Math.max(1, subtreeSize / (choices - absentCount));
      const child = childLow.subarray(0, depth + 1);
      if (childSize <= randomPickSubtreeEntries) {
        const entries = yield* readSubtree(probe, child, randomPickSubtreeEntries * 4);
        if (entries !== undefined) {
          if (entries.length === 0) return giveUp(used);
          if (!force && Math.random() * childSize >= entries.length) {
            rejections++; // kept in proportion to its size
            continue;
          }
          return entries;
        }
      }
      const childHigh = choice === choices - 1 ? high : yield* wait(probe.lastBound(prefixEnd(child), keep));
      if (childHigh === undefined || compareBytes(childHigh, childLow) < 0) return giveUp(used);
      if (bytesEqual(childHigh, childLow) && !force && Math.random() * childSize >= 1) {
        rejections++; // a single key: kept with probability 1 / childSize
        continue;
      }
      chosen = [childLow, childHigh];
      path = used;
    }
    if (chosen === undefined) break;
    [low, high] = chosen;
    subtreeSize = childSize;
  }
  const window = yield* windowFrom(probe, low, high);
  return window.length > 0 ? window : giveUp(path);
}

/** Draws at one level of descend() before it gives up on it (each draw that seeks rules out at least one choice, so this is never reached in practice). */
const drawsMax = 4096;

/** `key` and its value when it is live (a point read), as a one-entry pick. The key is copied: bounds may be shared. */
function liveEntry(probe: SubkeyProbe, key: Buffer): Entry[] | undefined {
  const value = probe.get(key);
  return value === undefined ? undefined : [[Buffer.from(key), value]];
}

const zeroByte = Buffer.from([0]);

/** `key`'s first `depth` bytes followed by `byte`. */
function childKey(key: Buffer, depth: number, byte: number): Buffer {
  const out = Buffer.allocUnsafe(depth + 1);
  key.copy(out, 0, 0, depth);
  out[depth] = byte;
  return out;
}

/**
 * The entries of the subtree under `prefix` (one seek, then forwards).
 * @returns undefined when there are more than `max`
 */
function* readSubtree(probe: SubkeyProbe, prefix: Buffer, max: number): Steps<Entry[] | undefined> {
  const entries: Entry[] = [];
  for (let entry = yield* wait(probe.seek(prefix)); entry !== undefined && hasPrefix(entry[0], prefix); entry = yield* wait(probe.next())) {
    if (entries.length === max) return undefined;
    entries.push(entry);
  }
  return entries;
}

function hasPrefix(key: Buffer, prefix: Buffer): boolean {
  if (key.length < prefix.length) return false;
  for (let index = prefix.length - 1; index >= 0; index--) if (key[index] !== prefix[index]) return false;
  return true;
}

/** The randomPickWindow entries from a random seek between `low` and `high`, wrapping around to `low`. */
function* windowFrom(probe: SubkeyProbe, low: Buffer, high: Buffer): Steps<Entry[]> {
  const window: Entry[] = [];
  const seek = randomKeyBetween(low, high);
  for (let entry = yield* wait(probe.seek(seek)); entry !== undefined && window.length < randomPickWindow && compareBytes(entry[0], high) <= 0; entry = yield* wait(probe.next())) {
    window.push(entry);
  }
  if (window.length < randomPickWindow && compareBytes(low, seek) < 0) {
    for (let entry = yield* wait(probe.seek(low)); entry !== undefined && window.length < randomPickWindow && compareBytes(entry[0], seek) < 0; entry = yield* wait(probe.next())) {
      window.push(entry);
    }
  }
  return window;
}

function commonPrefixBytes(a: Buffer, b: Buffer): number {
  let index = 0;
  while (index < a.length && index < b.length && a[index] === b[index]) index++;
  return index;
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
  if (compareBytes(out, low) < 0) return low;
  return compareBytes(out, high) > 0 ? high : out;
}

function readPadded(key: Buffer, index: number): number {
  let value = 0;
  for (let offset = 0; offset < interpolatedBytes; offset++) value = value * 256 + (key[index + offset] ?? 0);
  return value;
}

/** `count` distinct integers in [0, size), uniformly (Floyd's algorithm). */
/**
 * `count` distinct positions below `size`, uniformly (Floyd's algorithm), in
 * ascending order. Many of them (a walk's picks) are chosen in a bit set and
 * read off it, so neither a Set of numbers nor a sort (100,000 of 300,000
 * took 30-60 ms that way); a few (a pop from a pool) in a Set, so that no
 * bit set of the whole range is cleared and scanned for them.
 */
function distinctPositions(size: number, count: number): Uint32Array {
  if (count * 32 < size) {
    const few = new Set<number>();
    for (let candidateMax = size - count; candidateMax < size; candidateMax++) {
      const candidate = randomIndex(candidateMax + 1);
      few.add(few.has(candidate) ? candidateMax : candidate);
    }
    return Uint32Array.from(few).sort();
  }
  const chosen = new Uint32Array(Math.ceil(size / 32));
  for (let candidateMax = size - count; candidateMax < size; candidateMax++) {
    let candidate = randomIndex(candidateMax + 1);
    if ((chosen[candidate >>> 5]! & (1 << (candidate & 31))) !== 0) candidate = candidateMax;
    chosen[candidate >>> 5]! |= 1 << (candidate & 31);
  }
  const positions = new Uint32Array(count);
  let next = 0;
  for (let word = 0; word < chosen.length; word++) {
    let bits = chosen[word]!;
    while (bits !== 0) {
      const low = bits & -bits;
      positions[next++] = word * 32 + 31 - Math.clz32(low);
      bits ^= low;
    }
  }
  return positions;
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
    if (compareBytes(after, start) >= 0) {
      delete range.gte;
      range.gt = after;
    }
  }
  range.limit = count + 1;
  // Removed members' tombstones count too, as in SCAN (Keyspace.scan): a call may return none, with a cursor that goes on.
  range.hiddenMax = count * scanHiddenPerCount;
  const entries: CollectionEntry[] = [];
  let examined = 0;
  let last: Buffer | undefined;
  let more = false;
  const stopped: { after?: Buffer | undefined } = {};
  const done = forEachEntry(
    keyspace.engine,
    range,
    (key, value) => {
      if (examined === count) {
        more = true;
        return false;
      }
      examined++;
      const field = key.subarray(fieldOffset);
      last = field;
      if (pattern === undefined || stringMatch(pattern, field)) entries.push([field, value]);
      return true;
    },
    undefined,
    'owned',
    stopped,
  );
  return andThen(done, () => {
    const after = stopped.after;
    // Ended early among hidden entries of this collection: go on after the last one passed (past it, the scan is done).
    if (after !== undefined && after.length >= fieldOffset && hasPrefix(after, prefix)) {
      return { cursor: keyspace.scanCursors.register(scope, after.subarray(fieldOffset)), entries };
    }
    return { cursor: more && last !== undefined ? keyspace.scanCursors.register(scope, last) : 0, entries };
  });
}

/**
 * A SCAN-family cursor argument (parseScanCursorOrReply): strtoul's decimal,
 * no leading space, nothing after, at most 2^64 - 1. Negative numbers (which
 * strtoul wraps) and numbers past 2^53 are valid cursors never handed out:
 * the scan starts over. The empty string is 0, as strtoul reads it (nothing
 * left over); a lone sign is not.
 * @returns the cursor, or undefined when Redis would answer "invalid cursor"
 */
export function parseScanCursor(argument: Buffer): number | undefined {
  if (argument.length === 0) return 0;
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

