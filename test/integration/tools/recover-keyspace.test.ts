// `silt recover` after a block of metadata records is lost: the keyspace's
// derived records (per-db counters `C`, expiry index `E`) still counted the
// lost keys, so the result failed the logical check and recover exited 2
// ("a bug in recover"). Now it rebuilds them from the metadata records kept,
// says so, the result passes verify, and recover exits 1 (something lost).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { recover, recoverReportFileName, lostAndFoundDirName, type RecoverReport } from '../../../tools/recover.js';
import { verify } from '../../../tools/verify.js';
import { collectionKeys, damageMemberBlock, damageMetadataBlock, damageTableBlock, db3Keys, stringKeys, writeSampleKeyspace } from './damaged-keyspace.js';
import { dump } from '../../../tools/dump.js';
import { captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;

beforeAll(() => {
  scratch = makeScratch('recover-keyspace');
});

afterAll(() => {
  removeScratch(scratch);
});

describe('recover after a lost block of metadata records', () => {
  test('rebuilds the counters and the expiry index, passes verify, exits 1', async () => {
    const dir = path.join(scratch, 'data');
    await writeSampleKeyspace(dir);
    damageMetadataBlock(dir);
    const out = path.join(scratch, 'out');

    const { io, stdout, stderr } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(stderr.text).not.toContain('bug in recover');
    expect(result.exitCode, stdout.text + stderr.text).toBe(1);
    const report = result.report!;
    expect(report.verify.healthy, JSON.stringify(report.verify.problems, null, 2)).toBe(true);
    expect(report.lost.map((lost) => lost.kind)).toEqual(['blocks']);

    // The counters now say what is stored; DBSIZE reads them.
    const engine = await LsmEngine.open(out, { readOnly: true });
    let dbSize0: number;
    let dbSize3: number;
    let stored0 = 0;
    try {
      const keyspace = await Keyspace.open(engine);
      dbSize0 = keyspace.dbSize(0);
      dbSize3 = keyspace.dbSize(3);
      for await (const [key] of engine.iterator({ gte: Buffer.from('M\0\0\0\0'), lt: Buffer.from('M\0\0\0\x01') })) if (key.length > 5) stored0++;
    } finally {
      await engine.close();
    }
    const written0 = stringKeys + 4 * collectionKeys;
    expect(stored0).toBeLessThan(written0);
    expect(dbSize0).toBe(stored0);
    expect(dbSize3).toBe(db3Keys);

    // Reported, in the human report and the JSON one (and the copy in lost+found).
    expect(report.keyspace.skipped).toBeNull();
    expect(report.keyspace.counters).toEqual([{ db: 0, physId: 0, before: [written0, stringKeys / 4], after: [stored0, expect.any(Number) as number] }]);
    expect(report.keyspace.expiryRemoved).toBeGreaterThan(0);
    expect(stdout.text).toContain(`db 0 counters (DBSIZE): ${written0} keys, ${stringKeys / 4} with an expiry -> ${stored0} keys`);
    expect(stdout.text).toMatch(/expiry index: \d+ entr(y|ies) of keys not kept removed/);
    const saved = JSON.parse(fs.readFileSync(path.join(out, lostAndFoundDirName, recoverReportFileName), 'utf8')) as RecoverReport;
    expect(saved.keyspace).toEqual(report.keyspace);

    const check = captureIo();
    expect(await verify({ dir: out }, check.io)).toMatchObject({ exitCode: 0 });
  });

  test('a healthy keyspace is left as it is: nothing rebuilt, exit 0', async () => {
    const dir = path.join(scratch, 'healthy');
    await writeSampleKeyspace(dir);
    const out = path.join(scratch, 'healthy-out');
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(result.exitCode, stdout.text).toBe(0);
    expect(result.report!.keyspace).toEqual({ skipped: null, table: null, collections: [], collectionCount: 0, counters: [], expiryAdded: 0, expiryRemoved: 0 });
    expect(stdout.text).not.toContain('Keyspace: rebuilt');
  });

  test('a lost database table is rebuilt as the server builds one, said to be an assumption; the result verifies and dumps', async () => {
    const dir = path.join(scratch, 'table');
    await writeSampleKeyspace(dir);
    damageTableBlock(dir);
    const out = path.join(scratch, 'table-out');
    const { io, stdout, stderr } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(result.exitCode, stdout.text + stderr.text).toBe(1);
    const report = result.report!;
    expect(report.keyspace.table).toEqual({ databases: 16, nextPhysId: 16, versionFloor: expect.any(Number) as number, unmapped: [] });
    expect(report.keyspace.table!.versionFloor).toBeGreaterThan(0);
    expect(stdout.text).toContain('database table (D) was lost: rebuilt as the server builds a fresh one, db N -> physical N for 16 dbs');
    expect(stdout.text).toContain('ASSUMPTION: right only if FLUSHDB, FLUSHALL and SWAPDB never ran');

    const check = captureIo();
    const verified = await verify({ dir: out, json: true }, check.io);
    const verifyReport = JSON.parse(check.stdout.text) as { logical?: { skipped: string | null; keys: number } };
    expect(verified.exitCode, check.stdout.text).toBe(0);
    expect(verifyReport.logical?.skipped).toBeNull();

    const dumped = captureIo();
    const dumpResult = await dump({ dir: out }, dumped.io);
    expect(dumpResult.exitCode, dumped.stderr.text).toBe(0);
    expect(dumpResult.report!.keys).toBe(verifyReport.logical!.keys);
    expect(dumpResult.report!.dbs.find((db) => db.db === 3)?.keys).toBe(db3Keys);
    expect(dumpResult.report!.keys).toBeGreaterThan(stringKeys);
  });

  test('collections that lost members hold what is left (sizes, sorted-set halves, list positions), listed; the result verifies and dumps', async () => {
    const dir = path.join(scratch, 'members');
    await writeSampleKeyspace(dir);
    damageMemberBlock(dir);
    const out = path.join(scratch, 'members-out');
    const { io, stdout, stderr } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(stderr.text).not.toContain('bug in recover');
    expect(result.exitCode, stdout.text + stderr.text).toBe(1);
    const repair = result.report!.keyspace;
    expect(repair.collectionCount).toBeGreaterThan(0);
    expect(repair.collections.length).toBe(Math.min(repair.collectionCount, 100));
    for (const c of repair.collections) expect(c.sizeAfter).toBeLessThan(c.sizeBefore);
    expect(stdout.text).toContain(`${repair.collectionCount} collections lost members in the lost parts`);

    const check = captureIo();
    expect((await verify({ dir: out }, check.io)).exitCode, check.stdout.text).toBe(0);
    const dumped = captureIo();
    expect((await dump({ dir: out }, dumped.io)).exitCode, dumped.stderr.text).toBe(0);
    const lines = new Map(
      dumped.stdout.text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { db: number; key: string; value: unknown[] | Record<string, unknown> })
        .map((line) => [`${line.db}:${line.key}`, line]),
    );
    for (const c of repair.collections) {
      const line = lines.get(`${c.db}:${Buffer.from(c.key, 'hex').toString()}`);
      if (c.sizeAfter === 0) expect(line).toBeUndefined();
      else expect(Array.isArray(line!.value) ? line!.value.length : Object.keys(line!.value).length).toBe(c.sizeAfter);
    }
  });
});
