// Sets in the keyspace (docs/format.md, "Keyspace encoding", "Set"): the `M`
// record holds type 4, expiry, version and the member count; each member is
// one subkey `S | physdb | len | key | version | member` with an empty value.
// SADD, SREM, SISMEMBER, SMOVE ... are one metadata read plus one subkey read
// per member and one batch: O(log N) each, never a rewrite of the set.
// SMEMBERS walks the subkeys in member order, O(N); the algebra (SINTER,
// SUNION, SDIFF and their STORE forms) costs what the walks and point reads
// it makes cost (documented per function); deleting or overwriting a set is
// O(1) (a new version; compaction reclaims the old subkeys). Random picks
// (SRANDMEMBER, SPOP) and SSCAN are collection.ts's.
//
// Functions here speak the data model, not RESP, and throw WrongTypeError
// for a key of another type. Commands are service/resp/commands/sets.ts.

import { checkBatchRoom, type Keyspace, type KeyspaceContext, type MaybePromise } from './keyspace.js';
import { KeyType } from './metadata.js';
import {
  CollectionEdit,
  collectFields,
  forEachField,
  getField,
  getFields,
  loadCollection,
  randomEntries,
  randomPickWalkMax,
  andThen,
  type Collection,
  type CollectionEntry,
  type KnownFields,
} from './collection.js';
import { drive, wait, type Steps } from './walk.js';
import { replaceCollection } from './build.js';
import { subkey } from './key-encoding.js';

/** A member's value: sets store nothing but the member. Shared, never modified. */
const emptyValue = Buffer.alloc(0);

/**
 * `key` as a set (empty when absent or expired).
 * @throws WrongTypeError when it holds another type
 */
export function loadSet(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): Collection {
  return loadCollection(keyspace, db, key, nowMs, KeyType.set);
}

/** Every key as a set, each type-checked before any is read, as Redis does. @throws WrongTypeError */
function loadSets(keyspace: Keyspace, db: number, keys: readonly Buffer[], nowMs: number): Collection[] {
  return keys.map((key) => loadSet(keyspace, db, key, nowMs));
}

function sameKey(a: Collection, b: Collection): boolean {
  return a.target.db === b.target.db && a.target.key.equals(b.target.key);
}

// ---------------------------------------------------------------- reading

/** SISMEMBER. O(log N). */
export function setIsMember(keyspace: Keyspace, db: number, key: Buffer, member: Buffer, nowMs: number): boolean {
  return getField(keyspace, loadSet(keyspace, db, key, nowMs), member) !== undefined;
}

/** SMISMEMBER. O(K log N); many members in slices at a snapshot (getFields). */
export function setAreMembers(keyspace: Keyspace, db: number, key: Buffer, members: readonly Buffer[], nowMs: number): MaybePromise<boolean[]> {
  return andThen(getFields(keyspace, loadSet(keyspace, db, key, nowMs), members), (values) => values.map((value) => value !== undefined));
}

/** SCARD (from the metadata). O(1). */
export function setCardinality(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): number {
  return loadSet(keyspace, db, key, nowMs).size;
}

/** SMEMBERS: every member, in member order. O(N). */
export function setMembers(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): MaybePromise<Buffer[]> {
  return andThen(collectFields(keyspace, loadSet(keyspace, db, key, nowMs)), members);
}

/** SRANDMEMBER: `count` members at random, distinct or with repetition (collection.ts, randomEntries). */
export function setRandomMembers(keyspace: Keyspace, db: number, key: Buffer, nowMs: number, count: number, distinct: boolean): MaybePromise<Buffer[]> {
  return andThen(randomEntries(keyspace, loadSet(keyspace, db, key, nowMs), count, distinct), members);
}


// ---------------------------------------------------------------- algebra

/**
 * SINTER (and SINTERCARD with `limit` > 0, which stops once that many are
 * found): the members of every set. Any absent key makes it empty. Walks the
 * smallest set and looks each member up in the others: O(N × K log M), N the
 * smallest set's size, K the number of sets, as Redis's O(N × M).
 * @throws WrongTypeError when any key holds another type
 */
export function setIntersection(keyspace: Keyspace, db: number, keys: readonly Buffer[], nowMs: number, limit = 0): MaybePromise<Buffer[]> {
  const sets = loadSets(keyspace, db, keys, nowMs);
  if (sets.some((set) => set.record === undefined)) return [];
  const [smallest, ...rest] = sets.slice().sort((a, b) => a.size - b.size);
  const others = rest.filter((set) => !sameKey(set, smallest!));
  const found: Buffer[] = [];
  const done = forEachField(keyspace, smallest!, (member) => {
    for (const other of others) if (getField(keyspace, other, member) === undefined) return true;
    found.push(member);
    return limit <= 0 || found.length < limit;
  });
  return andThen(done, () => found);
}

/**
 * SUNION: the members of any set, each once, in the order first met. Walks
 * every set: O(N) in their total size, with the union held in memory.
 * @throws WrongTypeError when any key holds another type
 */
export function setUnion(keyspace: Keyspace, db: number, keys: readonly Buffer[], nowMs: number): MaybePromise<Buffer[]> {
  const sets = loadSets(keyspace, db, keys, nowMs);
  return drive(unionSteps(keyspace, sets));
}

function* unionSteps(keyspace: Keyspace, sets: Collection[]): Steps<Buffer[]> {
  const union = new Map<string, Buffer>();
  const walked: Collection[] = [];
  for (const set of sets) {
    if (set.record === undefined || walked.some((other) => sameKey(other, set))) continue;
    walked.push(set);
    yield* wait(
      forEachField(keyspace, set, (member) => {
        const name = member.toString('latin1');
        if (!union.has(name)) union.set(name, member);
      }),
    );
  }
  return [...union.values()];
}

/**
 * SDIFF: the members of the first set in none of the others. Walks the first
 * set and looks each member up in the others: O(N × K log M), N the first
 * set's size.
 * @throws WrongTypeError when any key holds another type
 */
export function setDifference(keyspace: Keyspace, db: number, keys: readonly Buffer[], nowMs: number): MaybePromise<Buffer[]> {
  const [first, ...rest] = loadSets(keyspace, db, keys, nowMs);
  if (first === undefined || first.record === undefined) return [];
  const others = rest.filter((set) => set.record !== undefined);
  if (others.some((set) => sameKey(set, first))) return [];
  const found: Buffer[] = [];
  const done = forEachField(keyspace, first, (member) => {
    for (const other of others) if (getField(keyspace, other, member) !== undefined) return true;
    found.push(member);
    return true;
  });
  return andThen(done, () => found);
}

// ---------------------------------------------------------------- writing

/** SADD: adds the members in one batch (`known`: readFields() of them, made first). @returns the number added */
export function setAdd(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, newMembers: readonly Buffer[], known?: KnownFields): number {
  const edit = new CollectionEdit(keyspace, loadSet(keyspace, ctx.db, key, ctx.nowMs), ctx.nowMs, known);
  let added = 0;
  for (const member of newMembers) {
    // A member already present is not rewritten (unlike a hash field, it carries nothing to change).
    if (edit.get(member) === undefined && edit.put(member, emptyValue)) added++;
  }
  commitEdits(keyspace, ctx, edit);
  return added;
}

/** SREM: removes the members; an emptied set is deleted (`known`: readFields() of them). @returns the number removed */
export function setRemove(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, oldMembers: readonly Buffer[], known?: KnownFields): number {
  const set = loadSet(keyspace, ctx.db, key, ctx.nowMs);
  if (set.record === undefined) return 0;
  const edit = new CollectionEdit(keyspace, set, ctx.nowMs, known);
  let removed = 0;
  for (const member of oldMembers) if (edit.delete(member)) removed++;
  commitEdits(keyspace, ctx, edit);
  return removed;
}

/**
 * SMOVE: moves `member` from `source` to `destination` in one batch.
 * As Redis: an absent source answers false before the destination's type is
 * checked; a member already in the destination is still removed from the
 * source; source and destination the same key answers whether it is a member.
 * @throws WrongTypeError when either key holds another type
 */
export function setMove(keyspace: Keyspace, ctx: KeyspaceContext, source: Buffer, destination: Buffer, member: Buffer): boolean {
  const from = loadSet(keyspace, ctx.db, source, ctx.nowMs);
  if (from.record === undefined) return false;
  if (source.equals(destination)) return getField(keyspace, from, member) !== undefined;
  const to = loadSet(keyspace, ctx.db, destination, ctx.nowMs);
  const fromEdit = new CollectionEdit(keyspace, from, ctx.nowMs);
  if (!fromEdit.delete(member)) return false;
  const toEdit = new CollectionEdit(keyspace, to, ctx.nowMs);
  if (toEdit.get(member) === undefined) toEdit.put(member, emptyValue);
  commitEdits(keyspace, ctx, fromEdit, toEdit);
  return true;
}

/**
 * SPOP: removes up to `count` random members (collection.ts, randomEntries,
 * as removing picks: a large set is drained from uniform samples of its
 * members) in one batch and returns them. Popping them all deletes the set in O(1)
 * writes (as DEL; compaction reclaims the subkeys), after the O(N) walk that
 * reads them for the reply (none when randomEntries keeps the members of a
 * small set: the last pops of a drained set do not each walk its tombstones).
 */
export function setPop(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, count: number): MaybePromise<Buffer[]> {
  return andThen(setPopPicks(keyspace, ctx.db, key, count, ctx.nowMs), (picks) => setPopCommit(keyspace, ctx, picks));
}

/** What SPOP pops (setPopPicks), to be removed by setPopCommit while the set is as it was read. */
export interface SetPopPicks {
  readonly set: Collection;
  readonly entries: readonly CollectionEntry[];
}

/**
 * SPOP's reads: the members to pop from the set as it is now. A Promise
 * when the picks walk in slices (collection.ts, walkPicks and sampledPicks):
 * the caller keeps the key from being written until setPopCommit() (the
 * RESP server locks it: a keyed walk).
 * @throws WrongTypeError
 */
export function setPopPicks(keyspace: Keyspace, db: number, key: Buffer, count: number, nowMs: number): MaybePromise<SetPopPicks> {
  const set = loadSet(keyspace, db, key, nowMs);
  if (set.record === undefined || count <= 0) return { set, entries: [] };
  if (count >= set.size) {
    // randomEntries answers from its member pool when it keeps one; the pool is a cache, so the whole set is
    // taken from it only when it names exactly `size` members (each read back from the engine), else walked.
    const pooled = set.size <= randomPickWalkMax ? randomEntries(keyspace, set, set.size, true) : [];
    return andThen(pooled, (entries) => andThen(entries.length === set.size ? entries : collectFields(keyspace, set), (all) => ({ set, entries: all })));
  }
  return andThen(randomEntries(keyspace, set, count, true, true), (entries) => ({ set, entries }));
}

/** SPOP's write: removes the members picked, in one batch (all of them: the key is deleted). @returns them */
export function setPopCommit(keyspace: Keyspace, ctx: KeyspaceContext, picks: SetPopPicks): Buffer[] {
  const { set, entries } = picks;
  if (entries.length === 0) return [];
  if (entries.length === set.size) {
    const batch = keyspace.begin();
    keyspace.stageDelete(batch, set.target);
    keyspace.commit(ctx, batch);
    return members(entries);
  }
  const popped = members(entries);
  const edit = new CollectionEdit(keyspace, set, ctx.nowMs);
  edit.deleteDistinctPresent(popped);
  commitEdits(keyspace, ctx, edit);
  return popped;
}

/**
 * SINTERSTORE, SUNIONSTORE, SDIFFSTORE: makes `destination` a new set of
 * `result` (distinct members), whatever it held, without expiry; an empty
 * result deletes it. O(R) writes, written ahead in slices by a keyed walk in
 * the background (build.ts): a Promise then.
 * @returns the new set's size
 */
export function setStore(keyspace: Keyspace, ctx: KeyspaceContext, destination: Buffer, result: readonly Buffer[]): MaybePromise<number> {
  checkBatchRoom('store', destination, result.length, 1);
  const physDb = keyspace.physicalDb(ctx.db);
  return drive(
    replaceCollection(ctx, keyspace, destination, KeyType.set, result.length, (build, index) => {
      build.put(subkey(physDb, destination, build.version, result[index]!), emptyValue);
    }),
  );
}

// ---------------------------------------------------------------- helpers

function members(entries: readonly [Buffer, Buffer][]): Buffer[] {
  return entries.map(([member]) => member);
}

function commitEdits(keyspace: Keyspace, ctx: KeyspaceContext, ...edits: CollectionEdit[]): void {
  if (!edits.some((edit) => edit.changed)) return;
  const batch = keyspace.begin();
  for (const edit of edits) edit.stage(batch);
  keyspace.commit(ctx, batch);
}
