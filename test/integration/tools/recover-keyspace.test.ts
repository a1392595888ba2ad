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
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { hashSet } from '../../../lib/keyspace/hash.js';
import { buildMarkerKey, decodeOrderedDouble, metadataKey, scoreKey, subkey } from '../../../lib/keyspace/key-encoding.js';
import { recordVersion } from '../../../lib/keyspace/metadata.js';
import { SortedSetWriter } from '../../../lib/keyspace/zset.js';
import { repairKeyspaceIndexes } from '../../../tools/keyspace-repair.js';
import {
  collectionKeys,
  damageBlocksHolding,
  damageMemberBlock,
  damageMetadataBlock,
  damageTableBlock,
  db3Keys,
  replacedKeys,
  segments,
  stringKeys,
  writeReplacedKeyspace,
  writeSampleKeyspace,
} from './damaged-keyspace.js';
import { dump } from '../../../tools/dump.js';
import { captureIo, makeScratch, readEntries, removeScratch } from './tool-test-helpers.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { userKeyOf } from '../../../lib/format/internal-key.js';
import { scanSegment } from '../../../tools/segment-scan.js';
import { footerBytes } from '../../../lib/segment/segment-format.js';

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

  test('entries a STORE wrote ahead of its metadata (a build marker names their version) are left to compaction, not taken for a lost version', async () => {
    const dir = path.join(scratch, 'building');
    await writeSampleKeyspace(dir);
    const engine = await LsmEngine.open(dir);
    try {
      const keyspace = await Keyspace.open(engine);
      const ctx = { db: 0, nowMs: Date.now(), write: (batch: WriteBatch) => void engine.write(batch) };
      hashSet(keyspace, ctx, Buffer.from('built'), [Buffer.from('f'), Buffer.from('v')]);
      const physDb = keyspace.physicalDb(0);
      const ahead = recordVersion(engine.get(metadataKey(physDb, Buffer.from('built')))!) + 1;
      await engine.write(new WriteBatch().put(buildMarkerKey(physDb, Buffer.from('built'), ahead), Buffer.alloc(0)).put(subkey(physDb, Buffer.from('built'), ahead, Buffer.from('g')), Buffer.from('w')));
    } finally {
      await engine.close();
    }
    const out = path.join(scratch, 'building-out');
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(result.exitCode, stdout.text).toBe(0);
    expect(result.report!.keyspace.olderVersionCount).toBe(0);
  });

  test('a healthy keyspace is left as it is: nothing rebuilt, exit 0', async () => {
    const dir = path.join(scratch, 'healthy');
    await writeSampleKeyspace(dir);
    const out = path.join(scratch, 'healthy-out');
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(result.exitCode, stdout.text).toBe(0);
    expect(result.report!.keyspace).toEqual({ skipped: null, table: null, olderVersions: [], olderVersionCount: 0, collections: [], collectionCount: 0, counters: [], expiryAdded: 0, expiryRemoved: 0 });
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
    // A sorted set that lost only one half of a member (its `S` or its `Z` entry) keeps it (see below).
    for (const c of repair.collections) expect(c.sizeAfter, c.key).toBeLessThanOrEqual(c.sizeBefore);
    expect(stdout.text).toContain(`${repair.collectionCount} collections had a size that disagreed with the members found`);

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

// The newest metadata record of a key lost while an older one survives in older
// data: the older record shows again, and the entries of the lost version that
// survived outside the lost block carry a version newer than it (logical-orphan).
// recover exited 2 ("a bug in recover") on that; now it deletes those entries, lists
// each key as showing its older version, and the result passes verify.
describe('recover after a lost block held the newest version of keys whose older version survives', () => {
  test('each key shows its older version (every type, with its expiry), the lost version\'s entries are deleted, the result verifies and dumps, exit 1', async () => {
    const dir = path.join(scratch, 'replaced');
    const { expireMs, expiredMs } = await writeReplacedKeyspace(dir);
    const files = segments(dir);
    expect(files).toHaveLength(2);
    // The newest segment (level 0) holds the new versions; its block with their metadata is lost.
    damageBlocksHolding(files[1]!, replacedKeys.map((key) => metadataKey(0, Buffer.from(key))));
    while (Date.now() <= expiredMs) await new Promise((resolve) => setTimeout(resolve, 5));
    const out = path.join(scratch, 'replaced-out');
    const { io, stdout, stderr } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(stderr.text).not.toContain('bug in recover');
    expect(result.exitCode, stdout.text + stderr.text).toBe(1);
    const report = result.report!;
    expect(report.verify.healthy, JSON.stringify(report.verify.problems, null, 2)).toBe(true);

    const shown = new Map(report.keyspace.olderVersions.map((older) => [Buffer.from(older.key, 'hex').toString(), older]));
    expect([...shown.keys()].sort()).toEqual([...replacedKeys]);
    expect(report.keyspace.olderVersionCount).toBe(replacedKeys.length);
    const removed = { 'k:hash': 3, 'k:hash-part': 1, 'k:hash-ttl': 2, 'k:list': 4, 'k:set': 3, 'k:set-expired': 2, 'k:string': 1, 'k:zset': 6 };
    const types = { 'k:hash': 'hash', 'k:hash-part': 'hash', 'k:hash-ttl': 'hash', 'k:list': 'list', 'k:set': 'set', 'k:set-expired': 'set', 'k:string': 'string', 'k:zset': 'zset' };
    for (const key of replacedKeys) {
      const older = shown.get(key)!;
      expect(older, key).toMatchObject({ db: 0, type: types[key], entriesRemoved: removed[key], expireMs: key === 'k:hash-ttl' ? expireMs : key === 'k:set-expired' ? expiredMs : 0, deleted: false });
      expect(older.lostVersion, key).toBeGreaterThan(older.version);
    }
    // The older k:hash-part had lost its third field (HDEL) before it was replaced.
    expect(report.keyspace.collections).toEqual([{ db: 0, key: Buffer.from('k:hash-part').toString('hex'), type: 'hash', sizeBefore: 3, sizeAfter: 2 }]);
    expect(stdout.text).toContain(`${replacedKeys.length} keys lost their newest version in the lost parts while an older version survived in older data`);
    expect(stdout.text).toContain('"k:hash" of db 0: now the older hash (no expiry); 3 entries of the lost version deleted');
    expect(stdout.text).toContain('"k:string" of db 0: now the older string (no expiry); 1 entry of the lost version deleted');
    expect(stdout.text).toContain(`"k:hash-ttl" of db 0: now the older hash, which expires at ${new Date(expireMs).toISOString()}; 2 entries of the lost version deleted`);
    expect(stdout.text).toContain(`"k:set-expired" of db 0: now the older set, which expired at ${new Date(expiredMs).toISOString()}: it reads as absent`);

    const check = captureIo();
    expect((await verify({ dir: out }, check.io)).exitCode, check.stdout.text).toBe(0);
    const dumped = captureIo();
    expect((await dump({ dir: out, match: 'k:*' }, dumped.io)).exitCode, dumped.stderr.text).toBe(0);
    const values = new Map(
      dumped.stdout.text
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { key: string; type: string; expireAt: number | null; value: unknown })
        .map((line) => [line.key, { type: line.type, expireAt: line.expireAt, value: line.value }]),
    );
    expect(Object.fromEntries(values)).toEqual({
      'k:hash': { type: 'hash', expireAt: null, value: { f1: 'v1', f2: 'v2' } },
      'k:hash-part': { type: 'hash', expireAt: null, value: { f1: 'v1', f2: 'v2' } },
      'k:hash-ttl': { type: 'hash', expireAt: expireMs, value: { f1: 'v1' } },
      'k:list': { type: 'list', expireAt: null, value: ['a', 'b', 'c'] },
      'k:set': { type: 'set', expireAt: null, value: ['m1', 'm2'] },
      'k:string': { type: 'string', expireAt: null, value: 'old string' },
      'k:zset': { type: 'zset', expireAt: null, value: [['a', 1], ['b', 2]] },
    });
  });
});

describe('repairKeyspaceIndexes on keys whose older version shows again', () => {
  // The state a lost block can leave (written here directly): a hash whose older version came back with
  // none of its fields, only the newer version's; a sorted set with only score entries (Z) of the newer one.
  test('an older version with nothing left is deleted and said so; entries found only in Z are removed too', async () => {
    const dir = path.join(scratch, 'orphans');
    const engine = await LsmEngine.open(dir);
    try {
      const keyspace = await Keyspace.open(engine);
      const pending: Promise<unknown>[] = [];
      const ctx = { db: 0, nowMs: Date.now(), write: (batch: WriteBatch): void => void pending.push(engine.write(batch)) };
      hashSet(keyspace, ctx, Buffer.from('gone'), [Buffer.from('f1'), Buffer.from('v1')]);
      const writer = SortedSetWriter.load(keyspace, 0, Buffer.from('board'), Date.now());
      writer.add(Buffer.from('a'), 1);
      writer.commit(ctx);
      await Promise.all(pending);
      const gone = recordVersion(engine.get(metadataKey(0, Buffer.from('gone')))!);
      const board = recordVersion(engine.get(metadataKey(0, Buffer.from('board')))!);
      await engine.write(
        new WriteBatch()
          .del(subkey(0, Buffer.from('gone'), gone, Buffer.from('f1')))
          .put(subkey(0, Buffer.from('gone'), gone + 1000, Buffer.from('g1')), Buffer.from('w1'))
          .put(subkey(0, Buffer.from('gone'), gone + 1000, Buffer.from('g2')), Buffer.from('w2'))
          .put(scoreKey(0, Buffer.from('board'), board + 1000, 5, Buffer.from('b')), Buffer.alloc(0)),
      );

      const repair = await repairKeyspaceIndexes(engine);
      expect(repair.olderVersions).toEqual([
        { db: 0, key: Buffer.from('gone').toString('hex'), type: 'hash', version: gone, expireMs: 0, entriesRemoved: 2, lostVersion: gone + 1000, deleted: true },
        { db: 0, key: Buffer.from('board').toString('hex'), type: 'zset', version: board, expireMs: 0, entriesRemoved: 1, lostVersion: board + 1000, deleted: false },
      ]);
      expect(repair.collections).toEqual([{ db: 0, key: Buffer.from('gone').toString('hex'), type: 'hash', sizeBefore: 1, sizeAfter: 0 }]);
      expect(engine.get(metadataKey(0, Buffer.from('gone')))).toBeUndefined();
    } finally {
      await engine.close();
    }
    const check = captureIo();
    expect((await verify({ dir }, check.io)).exitCode, check.stdout.text).toBe(0);
  });
});

describe('repairKeyspaceIndexes on a sorted set that lost one half of some members', () => {
  // A member's `S` entry (member -> score) and its `Z` entry (score, member) are written in one batch: when a
  // lost block took one, the other says what it held (dump reads members from Z, so recover keeps what dump shows).
  test('a lost S entry is written again from its Z entry, a lost Z entry from its S entry; two Z entries and no S: dropped', async () => {
    const dir = path.join(scratch, 'zset-halves');
    const engine = await LsmEngine.open(dir);
    const b = (text: string): Buffer => Buffer.from(text);
    try {
      const keyspace = await Keyspace.open(engine);
      const pending: Promise<unknown>[] = [];
      const ctx = { db: 0, nowMs: Date.now(), write: (batch: WriteBatch): void => void pending.push(engine.write(batch)) };
      const writer = SortedSetWriter.load(keyspace, 0, b('board'), Date.now());
      const scores: Record<string, number> = { a: 1, b: 2.5, c: -3, d: 4, e: 5 };
      for (const [member, score] of Object.entries(scores)) writer.add(b(member), score);
      writer.commit(ctx);
      await Promise.all(pending);
      const version = recordVersion(engine.get(metadataKey(0, b('board')))!);
      await engine.write(
        new WriteBatch()
          .del(subkey(0, b('board'), version, b('a'))) // S lost: Z (a, 1) gives it back
          .del(subkey(0, b('board'), version, b('b'))) // S lost: Z (b, 2.5) gives it back
          .del(scoreKey(0, b('board'), version, -3, b('c'))) // Z lost: S (c -> -3) gives it back
          .del(subkey(0, b('board'), version, b('d'))) // S lost, and two Z entries name d: which is newer is unknown
          .put(scoreKey(0, b('board'), version, 40, b('d')), Buffer.alloc(0)),
      );

      const repair = await repairKeyspaceIndexes(engine);
      expect(repair.collections).toEqual([{ db: 0, key: b('board').toString('hex'), type: 'zset', sizeBefore: 5, sizeAfter: 4 }]);
      const score = (member: string): number | undefined => {
        const value = engine.get(subkey(0, b('board'), version, b(member)));
        return value === undefined ? undefined : decodeOrderedDouble(value, 0);
      };
      expect([score('a'), score('b'), score('c'), score('d'), score('e')]).toEqual([1, 2.5, -3, undefined, 5]);
      for (const member of ['a', 'b', 'c', 'e']) expect(engine.get(scoreKey(0, b('board'), version, scores[member]!, b(member))), member).toBeDefined();
      expect(engine.get(scoreKey(0, b('board'), version, 4, b('d')))).toBeUndefined();
      expect(engine.get(scoreKey(0, b('board'), version, 40, b('d')))).toBeUndefined();
    } finally {
      await engine.close();
    }
    const check = captureIo();
    expect((await verify({ dir }, check.io)).exitCode, check.stdout.text).toBe(0);
  });
});

describe('a segment whose index or footer is unreadable: its data blocks are found by their trailers', () => {
  /** The sample keyspace (one segment of many blocks), a copy of its original, and what the segment holds. */
  async function sample(name: string): Promise<{ dir: string; segment: string; scan: ReturnType<typeof scanSegment>; entries: Awaited<ReturnType<typeof readEntries>> }> {
    const dir = path.join(scratch, name);
    await writeSampleKeyspace(dir);
    const [segment] = segments(dir);
    const scan = scanSegment(new NodeFileSystem(), segment!, {});
    expect(scan.blocks.length).toBeGreaterThan(4);
    return { dir, segment: segment!, scan, entries: await readEntries(dir) };
  }

  function flipAt(file: string, offset: number): void {
    const bytes = fs.readFileSync(file);
    bytes[offset] = bytes[offset]! ^ 0x5a;
    fs.writeFileSync(file, bytes);
  }

  test('a damaged index block, then a damaged footer: every entry is kept, nothing lost', async () => {
    for (const part of ['index', 'footer'] as const) {
      const { dir, segment, scan, entries } = await sample(`search-${part}`);
      flipAt(segment, part === 'index' ? scan.footer!.index.offset + 3 : scan.fileBytes - footerBytes + 2); // the footer: a block handle
      const out = path.join(scratch, `search-${part}.recovered`);
      const { io, stdout } = captureIo();
      const result = await recover({ dir, out }, io);
      expect(result.exitCode, stdout.text).toBe(0);
      expect(result.report!.lost, part).toEqual([]);
      expect(result.report!.notes.join('\n'), part).toContain(`all its ${scan.blocks.length} data blocks (`);
      expect(await readEntries(out), part).toEqual(entries);
    }
  });

  test('a damaged index and a damaged data block: the blocks before it are kept, the rest listed as lost from its offset', async () => {
    const { dir, segment, scan, entries } = await sample('search-index-and-block');
    const damaged = scan.blocks[3]!;
    flipAt(segment, scan.footer!.index.offset + 3);
    flipAt(segment, damaged.offset + Math.floor(damaged.storedBytes / 2));
    const out = path.join(scratch, 'search-index-and-block.recovered');
    const result = await recover({ dir, out }, captureIo().io);
    expect(result.exitCode).toBe(1);
    const [lost] = result.report!.lost;
    expect(lost).toMatchObject({ kind: 'blocks', offset: damaged.offset });
    expect(lost!.reason).toContain('3 data blocks (');
    expect(lost!.keyRange!.smallest).toBe(userKeyOf(scan.blocks[2]!.lastKey!).toString('hex'));
    // The string keys' records of the kept blocks are all there (the keyspace repair rewrites the derived
    // records, counters `C` and expiry entries `E`, and trims collections whose members were lost).
    const kept = new Set((await readEntries(out)).map(([key]) => key));
    const firstLost = userKeyOf(damaged.firstKey!).toString('hex');
    const stringRecord = (key: string): boolean => key.startsWith('4d') && key.includes(Buffer.from('str:').toString('hex'));
    const before = entries.filter(([key]) => key < firstLost && stringRecord(key));
    expect(before.length).toBeGreaterThan(0);
    for (const [key] of before) expect(kept.has(key), key).toBe(true);
  });
});
