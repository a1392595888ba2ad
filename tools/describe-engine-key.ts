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
// are): every key is then `other`, rendered as before (renderKey).

import { CorruptionError } from '../lib/errors.js';
import type { DbTable } from '../lib/keyspace/db-table.js';
import { dbTableKey, decodeCounterKey, decodeExpiryKey, decodeMetadataKey, decodeScoreKey, decodeSubkey, KeyTag } from '../lib/keyspace/key-encoding.js';
import { formatTime, quoteBytes, renderKey, type KeyRange } from './render.js';

/** An engine key decoded (JSON: user keys and fields in hex). */
export interface DecodedEngineKey {
  /** `other`: not a keyspace key (no table given, an unknown tag, or one that does not decode). */
  kind: 'metadata' | 'subkey' | 'score' | 'expiry' | 'counters' | 'table' | 'other';
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
 * Decodes an engine key for people.
 * @param table the database table of the directory concerned; undefined when it has none (raw engine data)
 */
export function describeEngineKey(key: Buffer, table: DbTable | undefined): DecodedEngineKey {
  const other: DecodedEngineKey = { kind: 'other', db: null, physDb: null, key: null, field: null, score: null, expireAt: null, text: renderKey(key) };
  if (table === undefined) return other;
  try {
    return decode(key, table) ?? other;
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    return { ...other, text: `${renderKey(key)} (a keyspace key that does not decode)` };
  }
}

/** `keys A .. B` for a range of engine keys (hex), each end described. */
export function describeKeyRange(range: KeyRange | null, table: DbTable | undefined): string {
  if (range === null || (range.smallest === null && range.largest === null)) return 'keys unknown';
  const end = (hex: string | null): string => (hex === null ? '?' : describeEngineKey(Buffer.from(hex, 'hex'), table).text);
  return `keys ${end(range.smallest)} .. ${end(range.largest)}`;
}

function decode(key: Buffer, table: DbTable): DecodedEngineKey | undefined {
  const dbOf = (physDb: number): number | null => {
    const db = table.physIds.indexOf(physDb);
    return db === -1 ? null : db;
  };
  const owner = (physDb: number, userKey: Buffer): string => {
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
      return { kind: 'counters', db, physDb, key: null, ...base, text: db === null ? `counters of physical db ${physDb} (no db maps it)` : `counters of db ${db}` };
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
    case KeyTag.expiry: {
      const { expireMs, physDb, userKey } = decodeExpiryKey(key);
      return { kind: 'expiry', db: dbOf(physDb), physDb, key: userKey.toString('hex'), ...base, expireAt: expireMs, text: `${owner(physDb, userKey)} expiry entry at ${formatTime(expireMs)}` };
    }
    default:
      return undefined;
  }
}
