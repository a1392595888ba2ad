// How the logical verify pass (tools/logical-verify.ts) matches entries that
// must agree, without a point read for each:
//
// - sorted sets: each member's `S` entry (member -> score) against its `Z`
//   entry (score, member), in memory against one scan of the `Z` entries (sets
//   up to a size bound) or by a point read per member (larger sets). Both must
//   find the same problems and word them the same: a missing `Z` entry, a `Z`
//   entry at another score, an `S` score of the wrong length, with the first
//   such member in member order as the example;
// - the expiry index: each record with an expiry looks up its `E` entry, and
//   `E` entries are checked one by one only in a db where their count differs
//   from the records that found theirs. An entry at the wrong time, or for a
//   key without an expiry, is still named; a healthy db is not re-read.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { expiryKey, metadataKey, scoreKey, subkey } from '../../../lib/keyspace/key-encoding.js';
import { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { recordVersion, stringRecord } from '../../../lib/keyspace/metadata.js';
import { SortedSetWriter } from '../../../lib/keyspace/zset.js';
import { createLogicalPass } from '../../../tools/logical-verify.js';
import { physicalPasses, verify, type VerifyProblem, type VerifyReport } from '../../../tools/verify.js';
import { captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;
let counter = 0;

beforeAll(() => {
  scratch = makeScratch('logical-verify-matching');
});

afterAll(() => {
  removeScratch(scratch);
});

const b = (text: string): Buffer => Buffer.from(text);

/** Sorted sets written through the keyspace; `damage` then writes raw engine batches below it. */
async function makeDir(sets: Record<string, [member: string, score: number][]>, damage: (version: (key: string) => number, physDb: number) => WriteBatch | undefined): Promise<string> {
  const dir = path.join(scratch, `dir-${++counter}`);
  const engine = await LsmEngine.open(dir);
  try {
    const keyspace = await Keyspace.open(engine);
    const pending: Promise<unknown>[] = [];
    const ctx = { db: 0, nowMs: Date.now(), write: (batch: WriteBatch) => void pending.push(engine.write(batch)) };
    for (const [key, members] of Object.entries(sets)) {
      const writer = SortedSetWriter.load(keyspace, 0, b(key), ctx.nowMs);
      for (const [member, score] of members) writer.add(b(member), score);
      writer.commit(ctx);
    }
    await Promise.all(pending);
    const physDb = keyspace.physicalDb(0);
    const batch = damage((key) => recordVersion(engine.get(metadataKey(physDb, b(key)))!), physDb);
    if (batch !== undefined) await engine.write(batch);
  } finally {
    await engine.close();
  }
  return dir;
}

/** Runs verify with the in-memory match (default) and with a point read per member. */
async function bothWays(dir: string): Promise<{ inMemory: VerifyReport; pointReads: VerifyReport; exitCodes: number[] }> {
  const first = captureIo();
  const inMemory = await verify({ dir, json: true }, first.io);
  const second = captureIo();
  const pointReads = await verify({ dir, json: true, passes: [...physicalPasses, createLogicalPass({ zsetMatchInMemoryMax: 0 })] }, second.io);
  return { inMemory: JSON.parse(first.stdout.text) as VerifyReport, pointReads: JSON.parse(second.stdout.text) as VerifyReport, exitCodes: [inMemory.exitCode, pointReads.exitCode] };
}

function zsetProblems(report: VerifyReport): { kind: VerifyProblem['kind']; key: string | undefined; message: string }[] {
  return report.problems.filter(({ kind }) => kind === 'logical-size').map(({ kind, key, message }) => ({ kind, key, message }));
}

const members = (count: number): [string, number][] => Array.from({ length: count }, (_, index) => [`m${index}`, index % 7 === 0 ? -index : index / 4]);

describe('the sorted-set check of verify', () => {
  it('passes healthy sets either way, counting every S and Z entry', async () => {
    const dir = await makeDir({ big: members(300), edges: [['low', -Infinity], ['zero', 0], ['high', Infinity], ['tiny', 5e-324]] }, () => undefined);
    const { inMemory, pointReads, exitCodes } = await bothWays(dir);
    expect(exitCodes).toEqual([0, 0]);
    for (const report of [inMemory, pointReads]) {
      expect(report.problems.filter(({ severity }) => severity === 'damage')).toEqual([]);
      expect(report.logical?.members).toBe(2 * (300 + 4));
    }
  });

  it('finds a missing Z entry, a Z entry at another score and a bad S score, and words them the same either way', async () => {
    const dir = await makeDir(
      {
        missing: [
          ['ann', 1.5],
          ['bob', 2],
        ],
        moved: [
          ['bob', -Infinity],
          ['cat', 3],
        ],
        mixed: members(5),
      },
      (version, physDb) =>
        new WriteBatch()
          .del(scoreKey(physDb, b('missing'), version('missing'), 1.5, b('ann')))
          .del(scoreKey(physDb, b('moved'), version('moved'), -Infinity, b('bob')))
          .put(scoreKey(physDb, b('moved'), version('moved'), 7, b('bob')), Buffer.alloc(0))
          .del(scoreKey(physDb, b('mixed'), version('mixed'), 0.75, b('m3')))
          .put(subkey(physDb, b('mixed'), version('mixed'), b('m2')), b('abc')),
    );
    const { inMemory, pointReads, exitCodes } = await bothWays(dir);
    expect(exitCodes).toEqual([1, 1]);
    const found = zsetProblems(inMemory);
    expect(zsetProblems(pointReads)).toEqual(found);
    const message = (key: string): string => found.find((problem) => problem.key === b(key).toString('hex'))?.message ?? `no problem for ${key}`;
    expect(found).toHaveLength(3);
    expect(message('missing')).toContain('its metadata says 2 members, 2 member entries are and 1 score index entry is stored');
    expect(message('missing')).toContain('1 member without a matching index entry, e.g. member "ann" (score 1.5) has no score index entry');
    expect(message('moved')).toContain('e.g. member "bob" (score -Infinity) has no score index entry');
    // m2 (a 3-byte score) comes before m3 (no Z entry) in member order: it is the example.
    expect(message('mixed')).toContain('2 members without a matching index entry, e.g. member "m2" has a 3-byte score, expected 8');
  });
});

describe('the expiry index check of verify', () => {
  /** Strings in dbs 0 and 1, every other one with an expiry; `damage` then writes below the keyspace. */
  async function expiringDir(damage: (physDb: (db: number) => number) => WriteBatch): Promise<string> {
    const dir = path.join(scratch, `dir-${++counter}`);
    const engine = await LsmEngine.open(dir);
    try {
      const keyspace = await Keyspace.open(engine);
      const pending: Promise<unknown>[] = [];
      for (const db of [0, 1]) {
        const ctx = { db, nowMs: Date.now(), write: (batch: WriteBatch) => void pending.push(engine.write(batch)) };
        for (let index = 0; index < 20; index++) {
          const target = keyspace.load(db, b(`k${index}`), ctx.nowMs);
          keyspace.put(ctx, target, stringRecord(b('v'), index % 2 === 0 ? laterMs + index : 0, keyspace.newVersion(ctx.nowMs, target.stored)));
        }
      }
      await Promise.all(pending);
      await engine.write(damage((db) => keyspace.physicalDb(db)));
    } finally {
      await engine.close();
    }
    return dir;
  }

  const laterMs = Date.now() + 3_600_000;

  it('names an entry at the wrong time and one for a key without an expiry, in the db where they are', async () => {
    const dir = await expiringDir((physDb) =>
      new WriteBatch()
        // db 1: k4's entry moved to another time; an entry for k5, which has no expiry.
        .del(expiryKey(laterMs + 4, physDb(1), b('k4')))
        .put(expiryKey(laterMs + 99, physDb(1), b('k4')), Buffer.alloc(0))
        .put(expiryKey(laterMs + 5, physDb(1), b('k5')), Buffer.alloc(0)),
    );
    const { io, stdout } = captureIo();
    expect((await verify({ dir, json: true }, io)).exitCode).toBe(1);
    const report = JSON.parse(stdout.text) as VerifyReport;
    expect(report.logical?.expiryEntries).toBe(21);
    const expiry = report.problems.filter(({ kind }) => kind === 'logical-expiry').map(({ db, key, message }) => `${db} ${Buffer.from(key!, 'hex').toString()}: ${message}`);
    expect(expiry.sort()).toEqual([
      `1 k4: key "k4" in db 1 expires at ${laterMs + 4} (${new Date(laterMs + 4).toISOString()}) but the expiry index has no entry for it: the sweep would never delete it`,
      `1 k4: key "k4" in db 1: the expiry index has an entry for ${laterMs + 99} (${new Date(laterMs + 99).toISOString()}), but the key expires at ${laterMs + 4}; expected exactly one entry, with the key's own expiry time`,
      `1 k5: key "k5" in db 1: the expiry index has an entry for ${laterMs + 5} (${new Date(laterMs + 5).toISOString()}), but the key has no expiry; expected exactly one entry, with the key's own expiry time`,
    ]);
  });

  it('finds nothing in healthy dbs', async () => {
    const dir = await expiringDir(() => new WriteBatch());
    const { io, stdout } = captureIo();
    expect((await verify({ dir, json: true }, io)).exitCode).toBe(0);
    const report = JSON.parse(stdout.text) as VerifyReport;
    expect(report.logical?.expiryEntries).toBe(20);
    expect(report.problems.filter(({ severity }) => severity === 'damage')).toEqual([]);
  });
});
