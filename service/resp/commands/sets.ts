// Set commands (redis/redis src/t_set.c, and db.c for SSCAN): SADD SREM
// SISMEMBER SMISMEMBER SCARD SMEMBERS SRANDMEMBER SPOP SMOVE SINTER
// SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SSCAN.
//
// The data model is lib/keyspace/set.ts (one subkey per member, the count in
// the metadata); costs per command are in each spec's complexity and in
// docs/commands.md, "Sets". Errors are worded, and checked in the order, as
// Redis 7 does: multi-key commands type-check every key before answering;
// SPOP and SRANDMEMBER parse their count before looking the key up.
// SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count answer a RESP3 set;
// SRANDMEMBER with a count an array (it may repeat members), as Redis.

import { ErrorReply, SetReply, errors } from '../reply.js';
import { keyedReply, keyedWalk, snapshotReply, type CommandFlag, type CommandHandler, type CommandSpec } from '../command.js';
import { isWord, keyed, spec } from './strings.js';
import { collectionErrors, emptyScan, parsePositiveCount, parseRandomCount, parseScanArguments, repeatedPicksTooMany, reply, scanReply } from './hashes.js';
import { andThen, parseScanCursor, readFields, scanCollection } from '../../../lib/keyspace/collection.js';
import {
  loadSet,
  setAdd,
  setAreMembers,
  setCardinality,
  setDifference,
  setIntersection,
  setIsMember,
  setMembers,
  setMove,
  setPopCommit,
  setPopPicks,
  setRandomMembers,
  setRemove,
  setStore,
  setUnion,
} from '../../../lib/keyspace/set.js';

/** Error replies of this family, worded as Redis words them. */
export const setErrors = {
  numkeys: new ErrorReply('ERR numkeys should be greater than 0'),
  tooManyKeys: new ErrorReply("ERR Number of keys can't be greater than number of args"),
  negativeLimit: new ErrorReply("ERR LIMIT can't be negative"),
} as const;


// ---------------------------------------------------------------- members

// Thousands of members are read before the edit, in slices while other clients' commands run
// (readFields; the key is locked: a keyed walk).
const sadd: CommandHandler = (ctx, args) => {
  const members = args.slice(2);
  return keyedReply(ctx, readFields(ctx.keyspace, () => loadSet(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs), members), (known) => setAdd(ctx.keyspace, ctx, args[1]!, members, known));
};

const srem: CommandHandler = (ctx, args) => {
  const members = args.slice(2);
  return keyedReply(ctx, readFields(ctx.keyspace, () => loadSet(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs), members), (known) => setRemove(ctx.keyspace, ctx, args[1]!, members, known));
};

const sismember: CommandHandler = (ctx, args) => (setIsMember(ctx.keyspace, ctx.db, args[1]!, args[2]!, ctx.nowMs) ? 1 : 0);

/** SMISMEMBER: many members are read in slices at a snapshot (a snapshot read once they pause). */
const smismember: CommandHandler = (ctx, args) => snapshotReply(setAreMembers(ctx.keyspace, ctx.db, args[1]!, args.slice(2), ctx.nowMs), (found) => found.map((member) => (member ? 1 : 0)));

const scard: CommandHandler = (ctx, args) => setCardinality(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);

const smembers: CommandHandler = (ctx, args) => snapshotReply(setMembers(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs), (members) => new SetReply(members));

const smove: CommandHandler = (ctx, args) => (setMove(ctx.keyspace, ctx, args[1]!, args[2]!, args[3]!) ? 1 : 0);

// ---------------------------------------------------------------- random picks

/** srandmemberCommand: SRANDMEMBER key [count]; a count is parsed before the key is looked up. */
const srandmember: CommandHandler = (ctx, args) => {
  if (args.length > 3) return errors.syntax;
  if (args.length === 2) return snapshotReply(setRandomMembers(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs, 1, true), (members) => members[0] ?? null);
  const count = parseRandomCount(args[2]!);
  if (count instanceof ErrorReply) return count;
  // An absent key, or a count of 0, picks nothing (after the type check).
  if (repeatedPicksTooMany(count) && setCardinality(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs) > 0) return collectionErrors.outOfRange;
  // Picks that pause between slices read at a snapshot: other clients run meanwhile.
  return snapshotReply(setRandomMembers(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs, Math.abs(count), count > 0), (members) => members);
};

/**
 * spopCommand: SPOP key [count]; a count is parsed before the key is looked
 * up. The picks may walk in slices with the key locked (a keyed walk); the
 * members go in one batch, in the command's turn.
 */
const spop: CommandHandler = (ctx, args) => {
  if (args.length > 3) return errors.syntax;
  const count = args.length === 2 ? 1 : parsePositiveCount(args[2]!);
  if (count instanceof ErrorReply) return count;
  return keyedReply(ctx, setPopPicks(ctx.keyspace, ctx.db, args[1]!, count, ctx.nowMs), (picks) => {
    const members = setPopCommit(ctx.keyspace, ctx, picks);
    return args.length === 2 ? (members[0] ?? null) : new SetReply(members);
  });
};

// ---------------------------------------------------------------- algebra

const sinter: CommandHandler = (ctx, args) => keyedReply(ctx, setIntersection(ctx.keyspace, ctx.db, args.slice(1), ctx.nowMs), (members) => new SetReply(members));

const sunion: CommandHandler = (ctx, args) => keyedReply(ctx, setUnion(ctx.keyspace, ctx.db, args.slice(1), ctx.nowMs), (members) => new SetReply(members));

const sdiff: CommandHandler = (ctx, args) => keyedReply(ctx, setDifference(ctx.keyspace, ctx.db, args.slice(1), ctx.nowMs), (members) => new SetReply(members));

/** sinterCardCommand: SINTERCARD numkeys key [key ...] [LIMIT limit]. */
const sintercard: CommandHandler = (ctx, args) => {
  const numkeys = parsePositiveCount(args[1]!, setErrors.numkeys);
  if (numkeys instanceof ErrorReply || numkeys === 0) return setErrors.numkeys;
  if (numkeys > args.length - 2) return setErrors.tooManyKeys;
  let limit = 0;
  for (let index = 2 + numkeys; index < args.length; index++) {
    if (isWord(args[index]!, 'limit') && index + 1 < args.length) {
      const value = parsePositiveCount(args[++index]!, setErrors.negativeLimit);
      if (value instanceof ErrorReply) return value;
      limit = value;
    } else {
      return errors.syntax;
    }
  }
  return keyedReply(ctx, setIntersection(ctx.keyspace, ctx.db, args.slice(2, 2 + numkeys), ctx.nowMs, limit), (members) => members.length);
};

/**
 * The STORE forms: compute from args[2..], then replace args[1]: its members
 * written ahead while the walk goes on in the background, its metadata in
 * the walk's turn (lib/keyspace/build.ts, command.ts).
 */
function storeCommand(compute: typeof setUnion): CommandHandler {
  return (ctx, args) => {
    const stored = andThen(compute(ctx.keyspace, ctx.db, args.slice(2), ctx.nowMs), (members) => setStore(ctx.keyspace, ctx, args[1]!, members));
    return stored instanceof Promise ? keyedWalk(stored) : stored;
  };
}

// ---------------------------------------------------------------- scan

/** SSCAN key cursor [MATCH pattern] [COUNT count]: cursor, then key, then options, as Redis checks them. */
const sscan: CommandHandler = (ctx, args) => {
  const cursor = parseScanCursor(args[2]!);
  if (cursor === undefined) return collectionErrors.invalidCursor;
  const set = loadSet(ctx.keyspace, ctx.db, args[1]!, ctx.nowMs);
  if (set.record === undefined) return emptyScan;
  const options = parseScanArguments(args, false);
  if (options instanceof ErrorReply) return options;
  return reply(scanCollection(ctx.keyspace, set, cursor, options), (result) => scanReply(result, result.entries.map(([member]) => member)));
};

// ---------------------------------------------------------------- table

const w: readonly CommandFlag[] = ['write'];
const wf: readonly CommandFlag[] = ['write', 'fast'];
const r: readonly CommandFlag[] = ['readonly'];
const rf: readonly CommandFlag[] = ['readonly', 'fast'];
const one: [number, number, number] = [1, 1, 1];
const all: [number, number, number] = [1, -1, 1];
const none: [number, number, number] = [0, 0, 0];
const randomCost = 'O(N) for sets of up to 1024 members or counts near N; else O(C (log N + 64)) for C picks (sampled by seeking)';

/** The set family, for the command table. Complexities are the ordered key space's (docs/commands.md, "Sets"). */
export const setCommands: readonly CommandSpec[] = [
  keyed(spec('sadd', -3, wf, one, 'Adds one or more members to a set. Creates the key if it doesn\'t exist', 'key member [member ...]', 'O(K log N) for K members', sadd)),
  keyed(spec('srem', -3, wf, one, 'Removes one or more members from a set. Deletes the set if the last member was removed', 'key member [member ...]', 'O(K log N) for K members', srem)),
  spec('sismember', 3, rf, one, 'Determines whether a member belongs to a set', 'key member', 'O(log N)', sismember),
  spec('smismember', -3, rf, one, 'Determines whether multiple members belong to a set', 'key member [member ...]', 'O(K log N) for K members', smismember),
  spec('scard', 2, rf, one, 'Returns the number of members in a set', 'key', 'O(1)', scard),
  spec('smembers', 2, r, one, 'Returns all members of a set', 'key', 'O(N)', smembers),
  spec('srandmember', -2, r, one, 'Get one or multiple random members from a set', 'key [count]', randomCost, srandmember),
  keyed(spec('spop', -2, wf, one, 'Returns one or more random members from a set after removing them. Deletes the set if the last member was popped', 'key [count]', `${randomCost}; popping every member O(N) reads, O(1) writes`, spop)),
  spec('smove', 4, wf, [1, 2, 1], 'Moves a member from one set to another', 'source destination member', 'O(log N)', smove),
  keyed(spec('sinter', -2, r, all, 'Returns the intersect of multiple sets', 'key [key ...]', 'O(N K log M): N the smallest set, K the sets', sinter)),
  keyed(spec('sintercard', -3, r, none, 'Returns the number of members of the intersect of multiple sets', 'numkeys key [key ...] [LIMIT limit]', 'O(N K log M): N the smallest set, K the sets (stops at LIMIT)', sintercard)),
  keyed(spec('sunion', -2, r, all, 'Returns the union of multiple sets', 'key [key ...]', 'O(N) in the total size of the sets', sunion)),
  keyed(spec('sdiff', -2, r, all, 'Returns the difference of multiple sets', 'key [key ...]', 'O(N K log M): N the first set, K the sets', sdiff)),
  keyed(spec('sinterstore', -3, w, all, 'Stores the intersect of multiple sets in a key', 'destination key [key ...]', 'O(N K log M + R): R the result\'s size', storeCommand(setIntersection))),
  keyed(spec('sunionstore', -3, w, all, 'Stores the union of multiple sets in a key', 'destination key [key ...]', 'O(N + R) in the total size of the sets', storeCommand(setUnion))),
  keyed(spec('sdiffstore', -3, w, all, 'Stores the difference of multiple sets in a key', 'destination key [key ...]', 'O(N K log M + R): N the first set, R the result', storeCommand(setDifference))),
  spec('sscan', -3, r, one, 'Iterates over members of a set', 'key cursor [MATCH pattern] [COUNT count]', 'O(COUNT) per call; O(N) for a complete iteration', sscan),
];
