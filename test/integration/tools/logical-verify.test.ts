// The logical pass of `silt verify` (tools/logical-verify.ts): a keyspace
// written as the server writes it is healthy; planted damage is found and
// named with its db, key and what was expected (a collection size that
// disagrees with its members, a subkey of a version newer than its metadata,
// a wrong counter, a list with a gap, a sorted set missing a score entry, an
// expiry index out of step); dead data left by DEL, overwrites and FLUSHDB is
// reclaimable space, a note, not damage; expired keys awaiting the sweep are
// notes. Verify never modifies the directory, and raw engine data (the
// fixtures) is not judged as a keyspace.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { encodeCounters } from '../../../lib/keyspace/db-table.js';
import { hashSet } from '../../../lib/keyspace/hash.js';
import { buildMarkerKey, counterKey, expiryKey, metadataKey, scoreKey, subkey } from '../../../lib/keyspace/key-encoding.js';
import { Keyspace, type KeyspaceContext } from '../../../lib/keyspace/keyspace.js';
import { List, listIndexStart } from '../../../lib/keyspace/list.js';
import { recordVersion, stringRecord, withExpire, withSize } from '../../../lib/keyspace/metadata.js';
import { setAdd } from '../../../lib/keyspace/set.js';
import { SortedSetWriter } from '../../../lib/keyspace/zset.js';
import type { LogicalSummary } from '../../../tools/logical-verify.js';
import type { VerifyProblem, VerifyReport } from '../../../tools/verify.js';
import { runVerify, copyFixture, hashTree, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;
let counter = 0;

beforeAll(() => {
  scratch = makeScratch('logical-verify');
});

afterAll(() => {
  removeScratch(scratch);
});

const b = (text: string): Buffer => Buffer.from(text);

interface Writer {
  keyspace: Keyspace;
  engine: LsmEngine;
  ctx(db: number, nowMs?: number): KeyspaceContext;
  /** A raw engine write, below the keyspace: how damage is planted. */
  raw(batch: WriteBatch): void;
}

/** A new directory written through Keyspace (as the server writes), then closed. */
async function makeDir(write: (writer: Writer) => void): Promise<string> {
  const dir = path.join(scratch, `dir-${++counter}`);
  const engine = await LsmEngine.open(dir);
  try {
    const keyspace = await Keyspace.open(engine);
    const pending: Promise<unknown>[] = [];
    const push = (batch: WriteBatch): void => void pending.push(engine.write(batch));
    write({ keyspace, engine, ctx: (db, nowMs = Date.now()) => ({ db, nowMs, write: push }), raw: push });
    await Promise.all(pending);
  } finally {
    await engine.close();
  }
  return dir;
}

/** A few keys of every type, the healthy base the damage is planted into. */
function baseData({ keyspace, ctx }: Writer): void {
  const context = ctx(0);
  const target = keyspace.load(0, b('greeting'), context.nowMs);
  keyspace.put(context, target, stringRecord(b('hello'), Date.now() + 3_600_000, keyspace.newVersion(context.nowMs, target.stored)));
  hashSet(keyspace, ctx(0), b('user:1'), [b('name'), b('ann'), b('age'), b('42')]);
  setAdd(keyspace, ctx(1), b('tags'), [b('a'), b('b'), b('c')]);
  const list = List.edit(keyspace, 0, b('queue'), Date.now());
  for (const element of ['x', 'y', 'z']) list.push(b(element), 'right');
  const batch = keyspace.begin();
  list.stage(batch);
  keyspace.commit(ctx(0), batch);
  const zset = SortedSetWriter.load(keyspace, 0, b('board'), Date.now());
  zset.add(b('ann'), 1.5);
  zset.add(b('bob'), -Infinity);
  zset.commit(ctx(0));
}


function logicalProblems(report: VerifyReport): VerifyProblem[] {
  return report.problems.filter((problem) => problem.kind.startsWith('logical-'));
}

function metadataOf(writer: Writer, db: number, key: string): Buffer {
  return writer.engine.get(metadataKey(writer.keyspace.physicalDb(db), b(key)))!;
}

describe('a healthy keyspace', () => {
  it('passes, with what was checked in the report, and is not modified', async () => {
    const dir = await makeDir(baseData);
    const before = hashTree(dir);
    const { exitCode, report, human } = await runVerify(dir);
    expect(report.problems).toEqual([]);
    expect(exitCode).toBe(0);
    expect(report.passes).toContain('logical');
    expect(report.logical).toMatchObject({ skipped: null, databases: 16, keys: 5, collections: 4, expiryEntries: 1, expiredAwaitingSweep: 0 } satisfies Partial<LogicalSummary>);
    // hash 2 + set 3 + list 3 + zset 2 S and 2 Z.
    expect(report.logical?.members).toBe(12);
    expect(human).toContain('keyspace: 5 keys in 16 databases, 4 collections');
    expect(hashTree(dir)).toEqual(before);
  });

  it('raw engine data (a fixture) is not judged as a keyspace', async () => {
    const dir = copyFixture(scratch, 'healthy');
    const { exitCode, report } = await runVerify(dir);
    expect(exitCode).toBe(0);
    expect(report.logical?.skipped).toContain('no keyspace here');
  });
});

describe('planted damage', () => {
  it('a collection size that disagrees with its members', async () => {
    const dir = await makeDir((writer) => {
      baseData(writer);
      const physDb = writer.keyspace.physicalDb(0);
      writer.raw(new WriteBatch().put(metadataKey(physDb, b('user:1')), withSize(metadataOf(writer, 0, 'user:1'), 3)));
    });
    const before = hashTree(dir);
    const { exitCode, report, human } = await runVerify(dir);
    expect(exitCode).toBe(1);
    expect(logicalProblems(report)).toMatchObject([{ severity: 'damage', kind: 'logical-size', db: 0, key: b('user:1').toString('hex') }]);
    expect(logicalProblems(report)[0]!.message).toBe('Hash key "user:1" in db 0: its metadata says 3 fields, 2 fields are stored under its version ' + String(report.problems[0]!.message.match(/version (\d+)/)![1]));
    expect(human).toContain('DAMAGE [logical-size] .');
    expect(hashTree(dir)).toEqual(before);
  });

  it('a subkey of a version newer than its metadata', async () => {
    let version = 0;
    const dir = await makeDir((writer) => {
      baseData(writer);
      version = recordVersion(metadataOf(writer, 1, 'tags'));
      writer.raw(new WriteBatch().put(subkey(writer.keyspace.physicalDb(1), b('tags'), version + 5, b('intruder')), Buffer.alloc(0)));
    });
    const { exitCode, report } = await runVerify(dir);
    expect(exitCode).toBe(1);
    const [problem, ...rest] = logicalProblems(report);
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ severity: 'damage', kind: 'logical-orphan', db: 1, key: b('tags').toString('hex') });
    expect(problem!.message).toContain(`carries version ${version + 5}, newer than its metadata's version ${version}`);
  });

  it('a counter that does not match the keys stored', async () => {
    const dir = await makeDir((writer) => {
      baseData(writer);
      writer.raw(new WriteBatch().put(counterKey(writer.keyspace.physicalDb(0)), encodeCounters(9, 1)));
    });
    const { exitCode, report } = await runVerify(dir);
    expect(exitCode).toBe(1);
    expect(logicalProblems(report)).toMatchObject([{ severity: 'damage', kind: 'logical-counter', db: 0 }]);
    expect(logicalProblems(report)[0]!.message).toBe('The counters of db 0 (physical 0) say 9 keys, 1 with an expiry; expected 4 keys, 1 with an expiry (what is stored): DBSIZE and INFO keyspace would be wrong');
  });

  it('a list with a missing element, and a sorted set missing a score index entry', async () => {
    const dir = await makeDir((writer) => {
      baseData(writer);
      const physDb = writer.keyspace.physicalDb(0);
      const index = Buffer.alloc(8);
      index.writeUInt32BE(Math.floor((listIndexStart + 1) / 2 ** 32), 0);
      index.writeUInt32BE((listIndexStart + 1) % 2 ** 32, 4);
      const listVersion = recordVersion(metadataOf(writer, 0, 'queue'));
      const zsetVersion = recordVersion(metadataOf(writer, 0, 'board'));
      writer.raw(new WriteBatch().del(subkey(physDb, b('queue'), listVersion, index)).del(scoreKey(physDb, b('board'), zsetVersion, 1.5, b('ann'))));
    });
    const { exitCode, report } = await runVerify(dir);
    expect(exitCode).toBe(1);
    const problems = logicalProblems(report);
    expect(problems.map(({ kind, key }) => `${kind} ${Buffer.from(key!, 'hex').toString()}`).sort()).toEqual(['logical-size board', 'logical-size queue']);
    expect(problems.find(({ key }) => key === b('queue').toString('hex'))!.message).toContain('its metadata says 3 elements');
    expect(problems.find(({ key }) => key === b('queue').toString('hex'))!.message).toContain('(position 1) is missing');
    expect(problems.find(({ key }) => key === b('board').toString('hex'))!.message).toContain('member "ann" (score 1.5) has no score index entry');
  });

  it('an expiry index out of step with the metadata', async () => {
    const dir = await makeDir((writer) => {
      baseData(writer);
      const physDb = writer.keyspace.physicalDb(0);
      const record = metadataOf(writer, 0, 'user:1');
      // An expiry in the record without its index entry, and an index entry for a key that has none.
      writer.raw(new WriteBatch().put(metadataKey(physDb, b('user:1')), withExpire(record, Date.now() + 60_000)).put(expiryKey(Date.now() + 90_000, physDb, b('queue')), Buffer.alloc(0)));
    });
    const { exitCode, report } = await runVerify(dir);
    expect(exitCode).toBe(1);
    const kinds = logicalProblems(report).map(({ kind, key, severity }) => `${severity} ${kind} ${Buffer.from(key ?? '', 'hex').toString()}`);
    // The counters also miss the planted expiry: the record now has one the C record does not count.
    expect(kinds.sort()).toEqual(['damage logical-counter ', 'damage logical-expiry queue', 'damage logical-expiry user:1']);
  });
});

describe('not damage', () => {
  it('DEL of a collection leaves reclaimable space (a note), so do overwrites and FLUSHDB', async () => {
    const dir = await makeDir((writer) => {
      baseData(writer);
      const { keyspace, ctx } = writer;
      keyspace.remove(ctx(0), keyspace.load(0, b('user:1'), Date.now())); // 2 fields left behind
      setAdd(keyspace, ctx(1), b('other'), [b('1')]);
      const target = keyspace.load(1, b('tags'), Date.now());
      keyspace.put(ctx(1), target, stringRecord(b('now a string'), 0, keyspace.newVersion(Date.now(), target.stored))); // 3 members of an old version
      hashSet(keyspace, ctx(2), b('flushed'), [b('f'), b('v')]);
      keyspace.flushDb(ctx(2), 2); // M, S and C of an unmapped physical db
      // A STORE over `board` and a COPY to a new key, written ahead of their metadata (lib/keyspace/build.ts).
      const physDb = keyspace.physicalDb(0);
      const ahead = recordVersion(metadataOf(writer, 0, 'board')) + 1;
      const empty = Buffer.alloc(0);
      writer.raw(
        new WriteBatch()
          .put(buildMarkerKey(physDb, b('board'), ahead), empty)
          .put(subkey(physDb, b('board'), ahead, b('cy')), empty)
          .put(scoreKey(physDb, b('board'), ahead, 2, b('cy')), empty)
          .put(buildMarkerKey(physDb, b('copy'), ahead + 1), empty)
          .put(subkey(physDb, b('copy'), ahead + 1, b('f')), b('v')),
      );
    });
    const { exitCode, report, human } = await runVerify(dir);
    expect(exitCode).toBe(0);
    expect(report.damageCount).toBe(0);
    const notes = logicalProblems(report);
    expect(notes.map(({ kind, severity }) => `${severity} ${kind}`)).toEqual(['note logical-reclaimable']);
    const reclaimable = report.logical!.reclaimable;
    expect(reclaimable.byReason['deleted-key'].entries).toBe(2);
    expect(reclaimable.byReason['old-version'].entries).toBe(3);
    expect(reclaimable.byReason['unmapped-db'].entries).toBe(2); // its M and S (FLUSHDB deletes the C record)
    expect(reclaimable.byReason['unfinished-build'].entries).toBe(5); // two markers, three entries
    expect(reclaimable.bytes).toBeGreaterThan(0);
    expect(notes[0]!.message).toMatch(/^\d+ dead entries \(\d+ B\) await compaction/);
    expect(human).toContain('note   [logical-reclaimable]');
    expect(human).toContain('Result: healthy (1 note)');
  });

  it('keys expired but not yet swept are a note per db', async () => {
    const dir = await makeDir((writer) => {
      baseData(writer);
      const { keyspace, ctx } = writer;
      const past = Date.now() - 10_000;
      for (const key of ['old:1', 'old:2']) {
        const context = ctx(3, past - 1000);
        const target = keyspace.load(3, b(key), context.nowMs);
        keyspace.put(context, target, stringRecord(b('x'), past, keyspace.newVersion(context.nowMs, target.stored)));
      }
    });
    const { exitCode, report } = await runVerify(dir);
    expect(exitCode).toBe(0);
    expect(logicalProblems(report)).toMatchObject([{ severity: 'note', kind: 'logical-expired', db: 3 }]);
    expect(logicalProblems(report)[0]!.message).toBe('db 3: 2 keys expired but still stored ("old:1", "old:2"): they read as absent, and the server\'s sweep deletes them');
    expect(report.logical?.expiredAwaitingSweep).toBe(2);
  });
});
