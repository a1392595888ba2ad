// Generic key commands (redis/redis src/db.c, expire.c, object.c): DEL UNLINK
// EXISTS TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME
// PEXPIRETIME PERSIST RENAME RENAMENX COPY MOVE KEYS SCAN RANDOMKEY TOUCH
// OBJECT DBSIZE FLUSHDB FLUSHALL SWAPDB.
//
// Costs in the ordered key space (lib/keyspace/keyspace.ts): point commands
// are O(1) engine reads and one batch; RENAME, COPY and MOVE of a collection
// copy its subkeys, O(N): read at a snapshot in slices while other clients'
// commands run (a keyed walk, command.ts: both keys are locked, the one in
// the other db too), then written in one batch in the command's turn; KEYS
// is O(N) in the keys of the db (narrowed to the pattern's literal prefix);
// SCAN is O(COUNT) per call; FLUSHDB, FLUSHALL and SWAPDB are O(1),
// compaction reclaims the flushed data later.
//
// SCAN cursors are decimal integers standing for a position in a bounded
// server-side table (lib/keyspace/scan-cursors.ts). A cursor the table does
// not know (too old, from before a restart, made up) restarts the iteration
// from the beginning: every key is still returned at least once, some twice.

import { KeyType, keyTypeNames, recordExpireMs, recordType, stringValue, withExpire } from '../../../lib/keyspace/metadata.js';
import { parseInt32, parseInt64, parseLong } from '../../../lib/keyspace/numbers.js';
import { parseScanCursor } from '../../../lib/keyspace/collection.js';
import { stringEncoding } from '../../../lib/keyspace/string.js';
import { commandExpireMs, ttlReply, type TimeUnit } from '../../../lib/keyspace/ttl.js';
import type { MaybePromise } from '../../../lib/keyspace/keyspace.js';
import { keyedReply, snapshotReply, type CommandContext, type CommandFlag, type CommandHandler, type CommandSpec } from '../command.js';
import { ErrorReply, OK, SimpleReply, errors, type Reply } from '../reply.js';
import { isWord, keyed, spec } from './strings.js';

/** Error replies of this family, worded as Redis words them. */
export const keyErrors = {
  sameObject: new ErrorReply('ERR source and destination objects are the same'),
  dbRange: new ErrorReply('ERR DB index is out of range'),
  invalidFirstDb: new ErrorReply('ERR invalid first DB index'),
  invalidSecondDb: new ErrorReply('ERR invalid second DB index'),
  invalidCursor: new ErrorReply('ERR invalid cursor'),
  nxIncompatible: new ErrorReply('ERR NX and XX, GT or LT options at the same time are not compatible'),
  gtLtIncompatible: new ErrorReply('ERR GT and LT options at the same time are not compatible'),
  lfuNotSelected: new ErrorReply(
    'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
  ),
  unsupportedOption: (option: Buffer): ErrorReply => new ErrorReply(`ERR Unsupported option ${option.toString('latin1')}`),
  invalidExpire: (command: string): ErrorReply => new ErrorReply(`ERR invalid expire time in '${command}' command`),
} as const;

/** `fn(value)` after `value` settles, if it is a promise. */
function then<T>(value: MaybePromise<T>, fn: (settled: T) => Reply): Reply | Promise<Reply> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/** Distinct keys of args[from..], in order (DEL a a deletes a once). */
function distinctKeys(args: Buffer[], from: number): Buffer[] {
  if (args.length - from <= 1) return args.slice(from);
  const seen = new Set<string>();
  const keys: Buffer[] = [];
  for (let index = from; index < args.length; index++) {
    const name = args[index]!.toString('latin1');
    if (seen.has(name)) continue;
    seen.add(name);
    keys.push(args[index]!);
  }
  return keys;
}

/**
 * A db index argument (getIntFromObjectOrReply + selectDb's range check), or
 * the error reply: `notInteger` for what is not a 64-bit integer, and for one
 * outside 32 bits too when given (SWAPDB's message), else Redis's range error.
 */
export function dbIndex(databases: number, argument: Buffer, notInteger?: ErrorReply): number | ErrorReply {
  const wide = parseInt64(argument);
  if (wide === undefined) return notInteger ?? errors.notInteger;
  const db = parseInt32(argument);
  if (db === undefined) return notInteger ?? errors.notInt32;
  if (db < 0 || db >= databases) return keyErrors.dbRange;
  return db;
}

// ---------------------------------------------------------------- existence

/** DEL/UNLINK key [key ...]: one batch; counts keys that were live. Expired ones are removed too, uncounted. */
const del: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  const batch = keyspace.begin();
  let deleted = 0;
  for (const key of distinctKeys(args, 1)) {
    const target = keyspace.load(ctx.db, key, ctx.nowMs);
    if (keyspace.stageDelete(batch, target) && target.live !== undefined) deleted++;
  }
  keyspace.commit(ctx, batch);
  return deleted;
};

/** EXISTS key [key ...]: a key named twice counts twice, as in Redis. */
const exists: CommandHandler = (ctx, args) => {
  let count = 0;
  for (let index = 1; index < args.length; index++) if (ctx.keyspace.exists(ctx.db, args[index]!, ctx.nowMs)) count++;
  return count;
};

const typeReplies = new Map<string, SimpleReply>(['none', ...Object.values(keyTypeNames)].map((name) => [name, new SimpleReply(name)]));

const type: CommandHandler = (ctx, args) => typeReplies.get(ctx.keyspace.typeName(ctx.db, args[1]!, ctx.nowMs))!;

// ---------------------------------------------------------------- expiry

const ExpireFlag = { nx: 1, xx: 2, gt: 4, lt: 8 } as const;

/** expireGenericCommand: EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX|XX|GT|LT]. */
function expireGeneric(command: string, unit: TimeUnit, relative: boolean): CommandHandler {
  return (ctx, args) => {
    let flags = 0;
    for (let index = 3; index < args.length; index++) {
      const option = args[index]!;
      if (isWord(option, 'nx')) flags |= ExpireFlag.nx;
      else if (isWord(option, 'xx')) flags |= ExpireFlag.xx;
      else if (isWord(option, 'gt')) flags |= ExpireFlag.gt;
      else if (isWord(option, 'lt')) flags |= ExpireFlag.lt;
      else return keyErrors.unsupportedOption(option);
    }
    if (flags & ExpireFlag.nx && flags & (ExpireFlag.xx | ExpireFlag.gt | ExpireFlag.lt)) return keyErrors.nxIncompatible;
    if (flags & ExpireFlag.gt && flags & ExpireFlag.lt) return keyErrors.gtLtIncompatible;
    const when = commandExpireMs(args[2]!, unit, relative ? ctx.nowMs : 0);
    if (when === 'not-integer') return errors.notInteger;
    if (when === 'invalid') return keyErrors.invalidExpire(command);
    const keyspace = ctx.keyspace;
    const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
    const live = target.live;
    if (live === undefined) return 0;
    const current = recordExpireMs(live); // 0: no expiry (Redis's -1)
    if (flags & ExpireFlag.nx && current !== 0) return 0;
    if (flags & ExpireFlag.xx && current === 0) return 0;
    if (flags & ExpireFlag.gt && (current === 0 || when <= current)) return 0;
    if (flags & ExpireFlag.lt && current !== 0 && when >= current) return 0;
    if (when <= ctx.nowMs) keyspace.remove(ctx, target); // already in the past: delete (checkAlreadyExpired)
    else keyspace.put(ctx, target, withExpire(live, when));
    return 1;
  };
}

/** ttlGenericCommand: TTL, PTTL, EXPIRETIME, PEXPIRETIME. */
function ttlGeneric(unit: TimeUnit, absolute: boolean): CommandHandler {
  return (ctx, args) => {
    const record = ctx.keyspace.lookup(ctx.db, args[1]!, ctx.nowMs);
    return record === undefined ? -2 : ttlReply(record, ctx.nowMs, unit, absolute);
  };
}

const persist: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  const target = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  if (target.live === undefined || recordExpireMs(target.live) === 0) return 0;
  keyspace.put(ctx, target, withExpire(target.live, 0));
  return 1;
};

// ---------------------------------------------------------------- rename, copy, move

/** renameGenericCommand: RENAME (`nx` false) and RENAMENX. */
function renameGeneric(nx: boolean): CommandHandler {
  return (ctx, args) => {
    const keyspace = ctx.keyspace;
    const source = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
    if (source.live === undefined) return errors.noSuchKey;
    if (args[1]!.equals(args[2]!)) return nx ? 0 : OK;
    const target = keyspace.load(ctx.db, args[2]!, ctx.nowMs);
    if (nx && target.live !== undefined) return 0;
    return keyedReply(ctx, keyspace.copyForTransfer(ctx, source, target), ({ record, build }) => {
      const batch = keyspace.begin(build.finish());
      keyspace.stagePut(batch, target, record);
      keyspace.stageDelete(batch, source);
      keyspace.commit(ctx, batch);
      return nx ? 1 : OK;
    });
  };
}

/** COPY source destination [DB destination-db] [REPLACE]. */
const copy: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  let replace = false;
  let targetDb = ctx.db;
  for (let index = 3; index < args.length; index++) {
    const option = args[index]!;
    if (isWord(option, 'replace')) {
      replace = true;
    } else if (isWord(option, 'db') && index + 1 < args.length) {
      const db = dbIndex(ctx.keyspace.databases, args[++index]!);
      if (db instanceof ErrorReply) return db;
      targetDb = db;
    } else {
      return errors.syntax;
    }
  }
  if (targetDb === ctx.db && args[1]!.equals(args[2]!)) return keyErrors.sameObject;
  const source = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  if (source.live === undefined) return 0;
  const target = keyspace.load(targetDb, args[2]!, ctx.nowMs);
  if (target.live !== undefined && !replace) return 0;
  return keyedReply(ctx, keyspace.copyForTransfer(ctx, source, target), ({ record, build }) => {
    const batch = keyspace.begin(build.finish());
    keyspace.stagePut(batch, target, record);
    keyspace.commit(ctx, batch);
    return 1;
  });
};

/** MOVE key db. */
const move: CommandHandler = (ctx, args) => {
  const keyspace = ctx.keyspace;
  const targetDb = dbIndex(ctx.keyspace.databases, args[2]!);
  if (targetDb instanceof ErrorReply) return targetDb;
  if (targetDb === ctx.db) return keyErrors.sameObject;
  const source = keyspace.load(ctx.db, args[1]!, ctx.nowMs);
  if (source.live === undefined) return 0;
  const target = keyspace.load(targetDb, args[1]!, ctx.nowMs);
  if (target.live !== undefined) return 0;
  return keyedReply(ctx, keyspace.copyForTransfer(ctx, source, target), ({ record, build }) => {
    const batch = keyspace.begin(build.finish());
    keyspace.stagePut(batch, target, record);
    keyspace.stageDelete(batch, source);
    keyspace.commit(ctx, batch);
    return 1;
  });
};

// ---------------------------------------------------------------- iteration

const keys: CommandHandler = (ctx, args) => snapshotReply(ctx.keyspace.keys(ctx.db, args[1]!, ctx.nowMs), (found) => found);

/** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. */
const scan: CommandHandler = (ctx, args) => {
  const cursor = parseScanCursor(args[1]!);
  if (cursor === undefined) return keyErrors.invalidCursor;
  let count = 10;
  let match: Buffer | undefined;
  let typeName: string | undefined;
  for (let index = 2; index < args.length; index += 2) {
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
    } else if (isWord(option, 'type') && hasValue) {
      typeName = args[index + 1]!.toString('latin1');
    } else {
      return errors.syntax;
    }
  }
  const result = ctx.keyspace.scan(ctx.db, cursor, { count, match, type: typeName }, ctx.nowMs);
  return then(result, ({ cursor: next, keys: found }) => [String(next), found]);
};

const randomkey: CommandHandler = (ctx) => snapshotReply(ctx.keyspace.randomKey(ctx.db, ctx.nowMs), (key) => key ?? null);

/** TOUCH key [key ...]: counts live keys (silt keeps no access times to update). */
const touch: CommandHandler = (ctx, args) => exists(ctx, args);

// ---------------------------------------------------------------- OBJECT

const objectHelp: Reply = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
].map((line) => new SimpleReply(line));

/** What Redis would report for a collection's encoding (silt stores every collection the same way). */
const collectionEncodings: Readonly<Record<number, string>> = {
  [KeyType.hash]: 'hashtable',
  [KeyType.list]: 'quicklist',
  [KeyType.set]: 'hashtable',
  [KeyType.zset]: 'skiplist',
};

/** Redis shares the objects for integers 0..9999 (OBJ_SHARED_INTEGERS) and reports INT_MAX references. */
const sharedIntegersMax = 9_999;
const sharedRefcount = 2_147_483_647;

function objectLookup(ctx: CommandContext, args: Buffer[]): Buffer | undefined {
  return ctx.keyspace.lookup(ctx.db, args[2]!, ctx.nowMs);
}

const objectEncoding: CommandHandler = (ctx, args) => {
  const record = objectLookup(ctx, args);
  if (record === undefined) return null;
  return recordType(record) === KeyType.string ? stringEncoding(record) : collectionEncodings[recordType(record)]!;
};

const objectRefcount: CommandHandler = (ctx, args) => {
  const record = objectLookup(ctx, args);
  if (record === undefined) return null;
  if (recordType(record) === KeyType.string && stringEncoding(record) === 'int') {
    const value = parseInt64(stringValue(record));
    if (typeof value === 'number' && value >= 0 && value <= sharedIntegersMax) return sharedRefcount;
  }
  return 1;
};

/** IDLETIME: silt keeps no access times; every key reads as just used. */
const objectIdletime: CommandHandler = (ctx, args) => (objectLookup(ctx, args) === undefined ? null : 0);

/** FREQ: answered as Redis answers without an LFU maxmemory policy (silt has none). */
const objectFreq: CommandHandler = (ctx, args) => (objectLookup(ctx, args) === undefined ? null : keyErrors.lfuNotSelected);

type SubSpec = Omit<CommandSpec, 'subcommands'>;

function objectSub(name: string, arity: number, summary: string, handler: CommandHandler): SubSpec {
  const keys: [number, number, number] = arity === 3 ? [2, 2, 1] : [0, 0, 0];
  // OBJECT HELP reads no key: as in Redis it is not readonly and works while loading.
  return spec(name, arity, arity === 3 ? ['readonly'] : ['loading'], keys, summary, arity === 3 ? 'key' : '', 'O(1)', handler);
}

const objectCommand: CommandSpec = {
  ...spec('object', -2, [], [0, 0, 0], 'A container for object introspection commands', '<subcommand> [arguments]', 'Depends on subcommand', (_ctx, args) =>
    errors.unknownSubcommand('object', args[1]!.toString('latin1')),
  ),
  subcommands: {
    encoding: objectSub('encoding', 3, 'Returns the internal encoding of a Redis object', objectEncoding),
    freq: objectSub('freq', 3, 'Returns the logarithmic access frequency counter of a Redis object', objectFreq),
    idletime: objectSub('idletime', 3, 'Returns the time since the last access to a Redis object', objectIdletime),
    refcount: objectSub('refcount', 3, 'Returns the reference count of a value of a key', objectRefcount),
    help: objectSub('help', 2, 'Returns helpful text about the different subcommands', () => objectHelp),
  },
};

// ---------------------------------------------------------------- databases

const dbsize: CommandHandler = (ctx) => ctx.keyspace.dbSize(ctx.db);

/** getFlushCommandFlags: nothing, SYNC or ASYNC (both flush at once: the flush is O(1) here). */
function flushFlagsOk(args: Buffer[]): boolean {
  return args.length === 1 || (args.length === 2 && (isWord(args[1]!, 'sync') || isWord(args[1]!, 'async')));
}

const flushdb: CommandHandler = (ctx, args) => {
  if (!flushFlagsOk(args)) return errors.syntax;
  ctx.keyspace.flushDb(ctx, ctx.db);
  return OK;
};

const flushall: CommandHandler = (ctx, args) => {
  if (!flushFlagsOk(args)) return errors.syntax;
  ctx.keyspace.flushAll(ctx);
  return OK;
};

const swapdb: CommandHandler = (ctx, args) => {
  const first = parseInt32(args[1]!);
  if (first === undefined) return keyErrors.invalidFirstDb;
  const second = parseInt32(args[2]!);
  if (second === undefined) return keyErrors.invalidSecondDb;
  const databases = ctx.keyspace.databases;
  if (first < 0 || first >= databases || second < 0 || second >= databases) return keyErrors.dbRange;
  ctx.keyspace.swapDb(ctx, first, second);
  return OK;
};

// ---------------------------------------------------------------- table

const w: readonly CommandFlag[] = ['write'];
const wf: readonly CommandFlag[] = ['write', 'fast'];
const r: readonly CommandFlag[] = ['readonly'];
const rf: readonly CommandFlag[] = ['readonly', 'fast'];
const one: [number, number, number] = [1, 1, 1];
const all: [number, number, number] = [1, -1, 1];
const none: [number, number, number] = [0, 0, 0];
const expireSyntax = (unit: string): string => `key ${unit} [NX | XX | GT | LT]`;

/** The generic key family, for the command table. */
export const keyCommands: readonly CommandSpec[] = [
  spec('del', -2, w, all, 'Deletes one or more keys', 'key [key ...]', 'O(N) where N is the number of keys (a collection\'s subkeys are reclaimed by compaction)', del),
  spec('unlink', -2, wf, all, 'Asynchronously deletes one or more keys', 'key [key ...]', 'O(N) where N is the number of keys', del),
  spec('exists', -2, rf, all, 'Determines whether one or more keys exist', 'key [key ...]', 'O(N) where N is the number of keys', exists),
  spec('type', 2, rf, one, 'Determines the type of value stored at a key', 'key', 'O(1)', type),
  spec('expire', -3, wf, one, 'Sets the expiration time of a key in seconds', expireSyntax('seconds'), 'O(1)', expireGeneric('expire', 'seconds', true)),
  spec('pexpire', -3, wf, one, 'Sets the expiration time of a key in milliseconds', expireSyntax('milliseconds'), 'O(1)', expireGeneric('pexpire', 'milliseconds', true)),
  spec('expireat', -3, wf, one, 'Sets the expiration time of a key to a Unix timestamp', expireSyntax('unix-time-seconds'), 'O(1)', expireGeneric('expireat', 'seconds', false)),
  spec('pexpireat', -3, wf, one, 'Sets the expiration time of a key to a Unix milliseconds timestamp', expireSyntax('unix-time-milliseconds'), 'O(1)', expireGeneric('pexpireat', 'milliseconds', false)),
  spec('ttl', 2, rf, one, 'Returns the expiration time in seconds of a key', 'key', 'O(1)', ttlGeneric('seconds', false)),
  spec('pttl', 2, rf, one, 'Returns the expiration time in milliseconds of a key', 'key', 'O(1)', ttlGeneric('milliseconds', false)),
  spec('expiretime', 2, rf, one, 'Returns the expiration time of a key as a Unix timestamp', 'key', 'O(1)', ttlGeneric('seconds', true)),
  spec('pexpiretime', 2, rf, one, 'Returns the expiration time of a key as a Unix milliseconds timestamp', 'key', 'O(1)', ttlGeneric('milliseconds', true)),
  spec('persist', 2, wf, one, 'Removes the expiration time of a key', 'key', 'O(1)', persist),
  keyed(spec('rename', 3, w, [1, 2, 1], 'Renames a key and overwrites the destination', 'key newkey', 'O(1) for strings; O(N) for collections, N their elements', renameGeneric(false))),
  keyed(spec('renamenx', 3, wf, [1, 2, 1], 'Renames a key only when the target key name doesn\'t exist', 'key newkey', 'O(1) for strings; O(N) for collections, N their elements', renameGeneric(true))),
  keyed(spec('copy', -3, w, [1, 2, 1], 'Copies the value of a key to a new key', 'source destination [DB destination-db] [REPLACE]', 'O(1) for strings; O(N) for collections, N their elements', copy)),
  keyed(spec('move', 3, wf, one, 'Moves a key to another database', 'key db', 'O(1) for strings; O(N) for collections, N their elements', move)),
  spec('keys', 2, r, none, 'Returns all key names that match a pattern', 'pattern', 'O(N) where N is the number of keys under the pattern\'s literal prefix, deleted ones not yet compacted included; walked in slices of about 2 ms while other clients run', keys),
  spec('scan', -2, r, none, 'Iterates over the key names in the database', 'cursor [MATCH pattern] [COUNT count] [TYPE type]', 'O(COUNT) per call; O(N) for a complete iteration', scan),
  spec('randomkey', 1, r, none, 'Returns a random key name from the database', '', 'O(log N) plus expired keys skipped and deleted ones passed; walked in slices of about 2 ms while other clients run', randomkey),
  spec('touch', -2, rf, all, 'Returns the number of existing keys out of those specified after updating the time they were last accessed', 'key [key ...]', 'O(N) where N is the number of keys', touch),
  objectCommand,
  spec('dbsize', 1, rf, none, 'Returns the number of keys in the database', '', 'O(1)', dbsize),
  spec('flushdb', -1, w, none, 'Remove all keys from the current database', '[ASYNC | SYNC]', 'O(1); compaction reclaims the data later', flushdb),
  spec('flushall', -1, w, none, 'Removes all keys from all databases', '[ASYNC | SYNC]', 'O(1) per database; compaction reclaims the data later', flushall),
  spec('swapdb', 3, wf, none, 'Swaps two Redis databases', 'index1 index2', 'O(1)', swapdb),
];
