// Shared by the keyspace tests: both engines behind one interface, a command
// context that records what it writes, and an invariant check that compares
// the keyspace's counters and expiry index with what the engine holds.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import type { Engine, EngineOptions, Entry } from '../../../lib/engine/engine.js';
import type { WriteBatch } from '../../../lib/engine/write-batch.js';
import { LevelEngine } from '../../../lib/engine/level-engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { Keyspace, keyspaceCompactionFilter, type KeyspaceContext, type KeyspaceOptions } from '../../../lib/keyspace/keyspace.js';
import { KeyTag, decodeExpiryKey, metadataPrefix, prefixEnd, tagPrefix } from '../../../lib/keyspace/key-encoding.js';
import { decodeCounters } from '../../../lib/keyspace/db-table.js';
import { recordExpireMs } from '../../../lib/keyspace/metadata.js';

/** One engine kind under test. */
export interface EngineHarness {
  name: string;
  /** Whether compaction runs the keyspace's filter. */
  filters: boolean;
  /** Opens (or reopens) the engine of this case's directory. */
  open(options?: EngineOptions): Promise<Engine>;
  /** A fresh directory for the next case. */
  reset(): void;
  cleanup(): void;
}

export function lsmHarness(): EngineHarness {
  const memFs = new MemFileSystem();
  let count = 0;
  let dir = '/keyspace/db-0';
  return {
    name: 'LsmEngine (MemFileSystem)',
    filters: true,
    open: (options = {}) =>
      LsmEngine.open(dir, { fs: memFs, compactionFilter: keyspaceCompactionFilter(), disableAutoCompaction: true, syncPolicy: 'no', ...options }),
    reset: () => {
      dir = `/keyspace/db-${++count}`;
    },
    cleanup: () => {},
  };
}

export function levelHarness(): EngineHarness {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-keyspace-'));
  let count = 0;
  let dir = path.join(root, 'db-0');
  return {
    name: 'LevelEngine',
    filters: false,
    open: (options = {}) => LevelEngine.open(dir, { syncPolicy: 'no', ...options }),
    reset: () => {
      dir = path.join(root, `db-${++count}`);
    },
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** A command context whose writes go straight to the engine; `settle()` waits for them. */
export interface TestContext extends KeyspaceContext {
  db: number;
  nowMs: number;
  /** Every batch written, in order. */
  readonly batches: WriteBatch[];
  settle(): Promise<void>;
}

/** What each case of a keyspaceCases() describe block gets. */
export interface KeyspaceCase {
  engine: Engine;
  keyspace: Keyspace;
  ctx: TestContext;
}

/**
 * Hooks for a describe block on one engine: before each case a fresh
 * directory, engine, keyspace (with `options`) and context at `nowMs`, handed
 * to `bind`; after it the writes settle, the keyspace's invariants are
 * checked, and the engine closes. For cases that keep the engine they were
 * given (one that reopens it manages its own hooks).
 */
export function keyspaceCases(harness: EngineHarness, options: KeyspaceOptions, nowMs: number, bind: (current: KeyspaceCase) => void): void {
  let current: KeyspaceCase | undefined;
  beforeEach(async () => {
    harness.reset();
    const engine = await harness.open();
    current = { engine, keyspace: await Keyspace.open(engine, options), ctx: testContext(engine, nowMs) };
    bind(current);
  });
  afterEach(async () => {
    if (current === undefined) return;
    const { engine, keyspace, ctx } = current;
    current = undefined;
    await ctx.settle();
    expect(await checkInvariants(engine, keyspace)).toBe('');
    await engine.close();
  });
  afterAll(() => harness.cleanup());
}

export function testContext(engine: Engine, nowMs: number, db = 0): TestContext {
  const pending: Promise<unknown>[] = [];
  const batches: WriteBatch[] = [];
  return {
    db,
    nowMs,
    batches,
    write(batch: WriteBatch): void {
      batches.push(batch);
      pending.push(engine.write(batch));
    },
    async settle(): Promise<void> {
      await Promise.all(pending.splice(0));
    },
  };
}

export async function openKeyspace(engine: Engine, options: KeyspaceOptions = {}): Promise<Keyspace> {
  return Keyspace.open(engine, options);
}

export async function entries(engine: Engine, gte: Buffer, lt: Buffer | undefined): Promise<Entry[]> {
  const out: Entry[] = [];
  const iterator = engine.iterator(lt === undefined ? { gte } : { gte, lt });
  try {
    for (let entry = await iterator.next(); entry !== undefined; entry = await iterator.next()) out.push(entry);
  } finally {
    await iterator.close();
  }
  return out;
}

/** Every engine key, as [tag letter, hex] pairs, for readable failures. */
export async function allKeys(engine: Engine): Promise<Buffer[]> {
  return (await entries(engine, Buffer.alloc(0), undefined)).map(([key]) => key);
}

/**
 * Checks, for every logical db, that the in-memory counters, the `C` record
 * and the `M` records agree, and that the `E` index holds exactly one entry
 * per expiring record. @returns a description of every mismatch ('' when none)
 */
export async function checkInvariants(engine: Engine, keyspace: Keyspace): Promise<string> {
  const problems: string[] = [];
  const expiring = new Set<string>();
  const mapped = new Set<number>();
  for (let db = 0; db < keyspace.databases; db++) {
    const physDb = keyspace.physicalDb(db);
    mapped.add(physDb);
    const prefix = metadataPrefix(physDb);
    let keys = 0;
    let expires = 0;
    for (const [key, record] of await entries(engine, prefix, prefixEnd(prefix))) {
      keys++;
      const expireMs = recordExpireMs(record);
      if (expireMs !== 0) {
        expires++;
        expiring.add(`${expireMs}/${physDb}/${key.subarray(5).toString('hex')}`);
      }
    }
    if (keys !== keyspace.dbSize(db)) problems.push(`db ${db}: ${keys} records, dbSize ${keyspace.dbSize(db)}`);
    if (expires !== keyspace.expiresCount(db)) problems.push(`db ${db}: ${expires} expiring, expiresCount ${keyspace.expiresCount(db)}`);
    const counter = engine.get(Buffer.concat([Buffer.from([KeyTag.counters]), prefix.subarray(1)]));
    const [storedKeys, storedExpires] = counter === undefined ? [0, 0] : decodeCounters(counter, physDb);
    if (storedKeys !== keys || storedExpires !== expires) problems.push(`db ${db}: C record says ${storedKeys}/${storedExpires}, records ${keys}/${expires}`);
  }
  const expiryPrefix = tagPrefix(KeyTag.expiry);
  for (const [key] of await entries(engine, expiryPrefix, prefixEnd(expiryPrefix))) {
    const { expireMs, physDb, userKey } = decodeExpiryKey(key);
    if (!mapped.has(physDb)) continue; // a flushed db's entries wait for the sweep or the filter
    const name = `${expireMs}/${physDb}/${userKey.toString('hex')}`;
    if (!expiring.delete(name)) problems.push(`E entry without a matching record: ${name}`);
  }
  for (const name of expiring) problems.push(`record without an E entry: ${name}`);
  return problems.join('\n');
}

/**
 * Counts the engine's synchronous cursors from now on (random picks served
 * from a member pool make none); `supported` is false on engines without
 * cursorSync (LevelEngine), whose count stays 0.
 */
export function countCursors(engine: Engine): { readonly count: number; readonly supported: boolean } {
  const counter = { count: 0, supported: engine.cursorSync !== undefined };
  const cursorSync = engine.cursorSync?.bind(engine);
  if (cursorSync !== undefined) {
    engine.cursorSync = (options) => {
      counter.count++;
      return cursorSync(options);
    };
  }
  return counter;
}
