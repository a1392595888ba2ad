// Engine keys in the words of the Redis data model, for people: which db and
// Redis key an engine key belongs to and what part of it it is (its metadata,
// a subkey, a score entry, an expiry entry), as docs/format.md, "Keyspace
// encoding", lays them out. Lists of changed or lost keys (restore --dry-run,
// recover) show these instead of raw engine keys; JSON keeps the hex engine
// key and adds this form.
//
// The logical db comes from the database table given (the `D` record of the
// directory concerned): a physical db it does not map is said so. Without a
// table the directory holds no keyspace (raw engine data, as the fixtures
// are): every key is then `other`, rendered as before (renderKey). When the
// directory has a table that cannot be read (`unknownTable`: verify of a
// damaged directory), keys are decoded with their physical db ids.
//
// A key range (describeKeyRange: a damaged block's or a missing segment's, in
// verify's report and in recover's list of what was lost)
// names both ends, and says plainly when it is not a run of one db's Redis
// keys: ends in different dbs, ends in different parts of the keyspace
// (counters, the database table, the expiry index, keys, collection members,
// score entries: each part holds every db's entries, in db order), or an end
// that is not a keyspace key.

import { CorruptionError } from '../lib/errors.js';
import type { DbTable } from '../lib/keyspace/db-table.js';
import { dbTableKey, decodeBuildMarker, decodeCounterKey, decodeExpiryKey, decodeMetadataKey, decodeScoreKey, decodeSubkey, KeyTag } from '../lib/keyspace/key-encoding.js';
import { formatTime, quoteBytes, renderKey, type KeyRange } from './render.js';

/** An engine key decoded (JSON: user keys and fields in hex). */
export interface DecodedEngineKey {
  /** `other`: not a keyspace key (no table given, an unknown tag, or one that does not decode). */
  kind: 'metadata' | 'subkey' | 'score' | 'expiry' | 'counters' | 'table' | 'build' | 'other';
  /** The logical db the table maps `physDb` to; null when it maps none (or for table and other). */
  db: number | null;
  physDb: number | null;
  /** The Redis key, hex. */
  key: string | null;
  /** A subkey's field (hash field, set or sorted-set member, list index), or a score entry's member, hex. */
  field: string | null;
  score: number | null;
  /** An expiry entry's time, ms since the epoch. */
  expireAt: number | null;
  /** For people: `db 0 "user:42"`, `db 0 "h" subkey "f"`, `counters of db 0`. */
  text: string;
}

/**
 * The table of a directory that has one which cannot be read (damaged, or in a damaged
 * part): keys are decoded, with their physical db ids (`physical db 0 "k"`), no logical db.
 */
export const unknownTable = 'unknown';

/**
 * Decodes an engine key for people.
 * @param table the database table of the directory concerned; undefined when it has none (raw
 *   engine data); unknownTable when it has one that cannot be read
 */
export function describeEngineKey(key: Buffer, table: DbTable | typeof unknownTable | undefined): DecodedEngineKey {
  const other: DecodedEngineKey = { kind: 'other', db: null, physDb: null, key: null, field: null, score: null, expireAt: null, text: renderKey(key) };
  if (table === undefined) return other;
  try {
    return decode(key, table) ?? other;
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    return { ...other, text: `${renderKey(key)} (a keyspace key that does not decode)` };
  }
}

/** A key range (engine keys) decoded: each end, and the whole for people. */
export interface DecodedKeyRange {
  /** null: that end is unknown. */
  smallest: DecodedEngineKey | null;
  largest: DecodedEngineKey | null;
  /**
   * `keys db 0 "a" .. db 0 "k"`; one key alone when both ends are that key (`db 0 "h" subkey "f"`);
   * `keys unknown`. A range that is not one db's run of one part of the keyspace says so in
   * parentheses: `(the range spans more than one db: it may hold entries of dbs 0, 1, 2 and 3)`,
   * `(the range crosses parts of the keyspace, from counters through the database table and the
   * expiry index to keys: it may hold entries of every db)`, `(0x00ff is not a keyspace key)`.
   */
  text: string;
}

/** The parts of the keyspace, in engine key order (tags B < C < D < E < M < S < Z), as people call them. */
const partNames: Record<Exclude<DecodedEngineKey['kind'], 'other'>, string> = {
  build: 'build markers',
  counters: 'counters',
  table: 'the database table',
  expiry: 'the expiry index',
  metadata: 'keys',
  subkey: 'collection members',
  score: 'sorted-set score entries',
};
const partOrder = Object.keys(partNames) as (keyof typeof partNames)[];

/**
 * Describes a range of engine keys (hex, inclusive), each end decoded by `table`
 * (see describeEngineKey); without a table (raw engine data) the ends are shown as they are.
 */
export function describeKeyRange(range: KeyRange | null, table: DbTable | typeof unknownTable | undefined): DecodedKeyRange {
  const end = (hex: string | null): DecodedEngineKey | null => (hex === null ? null : describeEngineKey(Buffer.from(hex, 'hex'), table));
  const smallest = end(range?.smallest ?? null);
  const largest = end(range?.largest ?? null);
  if (smallest === null && largest === null) return { smallest, largest, text: 'keys unknown' };
  if (range!.smallest === range!.largest) return { smallest, largest, text: smallest!.text };
  const text = `keys ${smallest?.text ?? '?'} .. ${largest?.text ?? '?'}`;
  const caveat = table === undefined ? undefined : rangeCaveat(smallest, largest, table);
  return { smallest, largest, text: caveat === undefined ? text : `${text} (${caveat})` };
}

/** What a range is besides a run of one db's entries of one part of the keyspace; undefined when it is that. */
function rangeCaveat(smallest: DecodedEngineKey | null, largest: DecodedEngineKey | null, table: DbTable | typeof unknownTable): string | undefined {
  const foreign = [smallest, largest].filter((end) => end?.kind === 'other');
  if (foreign.length === 2) return 'neither end is a keyspace key';
  if (foreign.length === 1) return `${foreign[0]!.text} is not a keyspace key`;
  if (smallest === null || largest === null) return undefined;
  const from = partOrder.indexOf(smallest.kind as keyof typeof partNames);
  const to = partOrder.indexOf(largest.kind as keyof typeof partNames);
  if (from === to) {
    if (smallest.physDb === null || largest.physDb === null || smallest.physDb === largest.physDb) return undefined;
    // Within one part, entries sort by physical db id: the dbs whose ids lie between the ends are inside.
    const low = Math.min(smallest.physDb, largest.physDb);
    const high = Math.max(smallest.physDb, largest.physDb);
    if (table === unknownTable) return `the range spans more than one db: physical dbs ${low} to ${high}`;
    return `the range spans more than one db: ${mayHold(table, (physDb) => physDb >= low && physDb <= high)}`;
  }
  // Across parts: the first part from its end on (higher physical ids), every db of the parts between
  // (the database table is one key of no db), and the last part up to its end.
  const between = partOrder.slice(from + 1, to);
  const via = between.length === 0 ? '' : ` through ${joinWords(between.map((part) => partNames[part]))}`;
  const crosses = `the range crosses parts of the keyspace, from ${partNames[partOrder[from]!]}${via} to ${partNames[partOrder[to]!]}`;
  if (table === unknownTable) return `${crosses}: it may hold entries of any db`;
  const whole = between.some((part) => part !== 'table');
  const holds = mayHold(table, (physDb) => whole || (smallest.physDb !== null && physDb >= smallest.physDb) || (largest.physDb !== null && physDb <= largest.physDb));
  return `${crosses}: ${holds}`;
}

/** "it may hold entries of dbs 0, 1 and 3" (or "of every db"), for the dbs whose physical id passes `inside`. */
function mayHold(table: DbTable, inside: (physDb: number) => boolean): string {
  const dbs = table.physIds.flatMap((physDb, db) => (inside(physDb) ? [db] : []));
  if (dbs.length === 0) return 'it holds entries of no db, only of physical ids no db maps (flushed data)';
  if (dbs.length === table.physIds.length && dbs.length > 1) return 'it may hold entries of every db';
  return `it may hold entries of ${dbs.length === 1 ? 'db' : 'dbs'} ${joinWords(dbs.map(String))}`;
}

/** "a", "a and b", "a, b and c". */
function joinWords(words: string[]): string {
  return words.length <= 1 ? (words[0] ?? '') : `${words.slice(0, -1).join(', ')} and ${words.at(-1)!}`;
}

function decode(key: Buffer, table: DbTable | typeof unknownTable): DecodedEngineKey | undefined {
  const dbOf = (physDb: number): number | null => {
    if (table === unknownTable) return null;
    const db = table.physIds.indexOf(physDb);
    return db === -1 ? null : db;
  };
  const owner = (physDb: number, userKey: Buffer): string => {
    if (table === unknownTable) return `physical db ${physDb} ${quoteBytes(userKey)}`;
    const db = dbOf(physDb);
    return db === null ? `${quoteBytes(userKey)} of physical db ${physDb} (no db maps it)` : `db ${db} ${quoteBytes(userKey)}`;
  };
  const base = { field: null, score: null, expireAt: null };
  switch (key[0]) {
    case KeyTag.dbTable:
      return key.equals(dbTableKey) ? { kind: 'table', db: null, physDb: null, key: null, ...base, text: 'database table' } : undefined;
    case KeyTag.counters: {
      const physDb = decodeCounterKey(key);
      const db = dbOf(physDb);
      const text = table === unknownTable ? `counters of physical db ${physDb}` : db === null ? `counters of physical db ${physDb} (no db maps it)` : `counters of db ${db}`;
      return { kind: 'counters', db, physDb, key: null, ...base, text };
    }
    case KeyTag.metadata: {
      const { physDb, userKey } = decodeMetadataKey(key);
      return { kind: 'metadata', db: dbOf(physDb), physDb, key: userKey.toString('hex'), ...base, text: owner(physDb, userKey) };
    }
    case KeyTag.subkey: {
      const { physDb, userKey, field } = decodeSubkey(key);
      return { kind: 'subkey', db: dbOf(physDb), physDb, key: userKey.toString('hex'), ...base, field: field.toString('hex'), text: `${owner(physDb, userKey)} subkey ${quoteBytes(field)}` };
    }
    case KeyTag.score: {
      const { physDb, userKey, score, member } = decodeScoreKey(key);
      return { kind: 'score', db: dbOf(physDb), physDb, key: userKey.toString('hex'), ...base, field: member.toString('hex'), score, text: `${owner(physDb, userKey)} score entry ${score} ${quoteBytes(member)}` };
    }
    case KeyTag.build: {
      const { physDb, userKey, version } = decodeBuildMarker(key);
      return { kind: 'build', db: dbOf(physDb), physDb, key: userKey.toString('hex'), ...base, text: `${owner(physDb, userKey)} build marker of version ${version} (docs/format.md, "Build markers")` };
    }
    case KeyTag.expiry: {
      const { expireMs, physDb, userKey } = decodeExpiryKey(key);
      return { kind: 'expiry', db: dbOf(physDb), physDb, key: userKey.toString('hex'), ...base, expireAt: expireMs, text: `${owner(physDb, userKey)} expiry entry at ${formatTime(expireMs)}` };
    }
    default:
      return undefined;
  }
}
