// The key lists of `silt restore --dry-run` and `silt recover`, and the key
// ranges `silt verify` says damage affects, name Redis keys, not engine keys:
// `db 0 "user:1"`, `db 0 "h" subkey "f"`, `counters of db 0`, binary bytes
// escaped as redis-cli escapes them ("\x00\xff"). They listed raw engine keys
// (`0x4d00000000...`). JSON keeps the hex engine key and adds the decoded
// form. A range that is not one db's keys says so (ends in different dbs or
// parts of the keyspace, an end that is no keyspace key), in verify's and
// recover's reports alike (recover built its own `keys A .. B` line, without
// those words); verify names keys by physical db id when the database table
// is in the damage. Raw engine data
// (no database table) keeps its keys as they are (restore.test.ts,
// recover.test.ts and verify.test.ts).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { hashSet } from '../../../lib/keyspace/hash.js';
import { Keyspace, type KeyspaceContext } from '../../../lib/keyspace/keyspace.js';
import { buildMarkerKey, counterKey, dbTableKey, metadataKey, subkey, subkeyPrefix } from '../../../lib/keyspace/key-encoding.js';
import { recordVersion, stringRecord } from '../../../lib/keyspace/metadata.js';
import { setAdd } from '../../../lib/keyspace/set.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { readWalFile } from '../../../lib/wal/wal-reader.js';
import { describeKeyRange, unknownTable } from '../../../tools/describe-engine-key.js';
import { recover } from '../../../tools/recover.js';
import { restore } from '../../../tools/restore.js';
import { damageBlocksHolding, damageMetadataBlock, damageTableBlock, onlySegment, writeSampleKeyspace } from './damaged-keyspace.js';
import { captureIo, runVerify, copyFixture, hex, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;
const binaryKey = Buffer.from([0x00, 0xff, 0x22]);

beforeAll(() => {
  scratch = makeScratch('decoded-keys');
});

afterAll(() => {
  removeScratch(scratch);
});

function setString(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, value: string): void {
  const target = keyspace.load(ctx.db, key, ctx.nowMs);
  keyspace.put(ctx, target, stringRecord(Buffer.from(value), 0, keyspace.newVersion(ctx.nowMs, target.stored)));
}

/** Runs `writes` on an open keyspace, one batch each, awaiting each. */
async function writeEach(engine: LsmEngine, keyspace: Keyspace, writes: ((ctx: KeyspaceContext) => void)[]): Promise<void> {
  for (const write of writes) {
    const pending: Promise<unknown>[] = [];
    write({ db: 0, nowMs: Date.now(), write: (batch) => void pending.push(engine.write(batch)) });
    await Promise.all(pending);
  }
}

describe('decoded key lists', () => {
  test('restore --dry-run lists the Redis keys that would change', async () => {
    const dir = path.join(scratch, 'restore-data');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
    let checkpointDir: string;
    try {
      const keyspace = await Keyspace.open(engine);
      await writeEach(engine, keyspace, [(ctx) => setString(keyspace, ctx, Buffer.from('kept'), 'v')]);
      checkpointDir = path.join(engine.checkpointsDir, 'before');
      await engine.checkpoint(checkpointDir);
      await writeEach(engine, keyspace, [
        (ctx) => setString(keyspace, ctx, Buffer.from('kept'), 'changed'),
        (ctx) => setString(keyspace, ctx, binaryKey, 'binary'),
        (ctx) => void hashSet(keyspace, ctx, Buffer.from('h'), [Buffer.from('f'), Buffer.from('1')]),
      ]);
    } finally {
      await engine.close();
    }
    const { io, stdout } = captureIo();
    const result = await restore({ from: checkpointDir, wal: path.join(dir, 'wal'), to: '2999-01-01T00:00:00Z', dryRun: true }, io);
    expect(result.exitCode).toBe(0);
    const text = stdout.text;
    expect(text).toContain('  changed db 0 "kept"\n');
    expect(text).toContain('  added   db 0 "\\x00\\xff\\""\n');
    expect(text).toContain('  added   db 0 "h"\n');
    expect(text).toContain('  added   db 0 "h" subkey "f"\n');
    expect(text).toContain('  changed counters of db 0\n');
    expect(text).not.toContain('0x4d00000000'); // an engine key in hex
    const keys = result.report!.changes!.keys;
    const kept = keys.find((key) => key.key === metadataKey(0, Buffer.from('kept')).toString('hex'))!;
    expect(kept).toEqual({ key: metadataKey(0, Buffer.from('kept')).toString('hex'), change: 'changed', decoded: { kind: 'metadata', db: 0, physDb: 0, key: Buffer.from('kept').toString('hex'), field: null, score: null, expireAt: null, text: 'db 0 "kept"' } });
  });

  test('recover names the keys of the readable records after a damaged WAL record, and a lost block\'s key range, as Redis keys', async () => {
    const dir = path.join(scratch, 'recover-data');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
    try {
      const keyspace = await Keyspace.open(engine);
      await writeEach(engine, keyspace, [
        (ctx) => setString(keyspace, ctx, Buffer.from('first'), 'v'),
        (ctx) => setString(keyspace, ctx, Buffer.from('damaged'), 'v'),
        (ctx) => setString(keyspace, ctx, binaryKey, 'after'),
      ]);
    } finally {
      await engine.close();
    }
    // Flip a byte inside the record that wrote "damaged": the one after it stays readable.
    const walFile = path.join(dir, 'wal', fs.readdirSync(path.join(dir, 'wal')).sort().at(-1)!);
    const offsets: number[] = [];
    readWalFile(new NodeFileSystem(), walFile, { mode: 'salvage', isNewest: false, onBatch: (_batch, offset) => offsets.push(offset) });
    const damagedAt = offsets.at(-2)!;
    const bytes = fs.readFileSync(walFile);
    bytes[damagedAt + 12]! ^= 0xff;
    fs.writeFileSync(walFile, bytes);

    const { io, stdout } = captureIo();
    const result = await recover({ dir, out: path.join(scratch, 'recovered'), json: false }, io);
    expect(result.exitCode).toBe(1);
    const lost = result.report!.lost[0]!;
    expect(lost.kind).toBe('wal-records');
    expect(lost.decoded.knownKeys.map((key) => key.text)).toEqual(expect.arrayContaining(['db 0 "\\x00\\xff\\""', 'counters of db 0']));
    expect(lost.knownKeys).toContain(metadataKey(0, binaryKey).toString('hex'));
    expect(stdout.text).toMatch(/keys written by the readable records after the damage: .*db 0 "\\x00\\xff\\""/);

    const blockDir = path.join(scratch, 'block-data');
    await writeSampleKeyspace(blockDir);
    damageMetadataBlock(blockDir);
    const block = captureIo();
    const blockResult = await recover({ dir: blockDir, out: path.join(scratch, 'block-recovered') }, block.io);
    expect(blockResult.exitCode).toBe(1);
    const range = blockResult.report!.lost[0]!.decoded.keyRange!;
    expect(range.smallest).toMatchObject({ kind: 'metadata', db: 0 });
    expect(range.largest).toMatchObject({ kind: 'metadata', db: 0 });
    expect(block.stdout.text).toMatch(/\[blocks\] seg\/\d+\.sst at offset \d+ \([^)]*\): keys db 0 "str:\d{4}" \.\. db 0 "str:\d{4}", seq/);
  });

  test('recover says when a lost block\'s range crosses parts of the keyspace, in the words verify uses', async () => {
    const dir = path.join(scratch, 'recover-parts');
    await writeSampleKeyspace(dir);
    // The block where db 3's keys end holds the first collection members of db 0 too.
    damageBlocksHolding(onlySegment(dir), [metadataKey(3, Buffer.from('db3:29'))]);
    const verified = await runVerify(dir);
    const verifyText = verified.report.problems[0]!.decoded!.keyRange.text;
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out: path.join(scratch, 'recover-parts-out') }, io);
    expect(result.exitCode).toBe(1);
    const lost = result.report!.lost.find((item) => item.kind === 'blocks')!;
    expect(lost.decoded.keyRange!.largest).toMatchObject({ kind: 'subkey', db: 0 });
    const caveat = '(the range crosses parts of the keyspace, from keys to collection members: it may hold entries of every db)';
    expect(lost.decoded.keyRange!.text).toBe(verifyText);
    expect(lost.decoded.keyRange!.text.endsWith(caveat)).toBe(true);
    expect(stdout.text).toContain(`: ${verifyText}, seq `);
    // The report left in lost+found says the same.
    const saved = JSON.parse(fs.readFileSync(path.join(scratch, 'recover-parts-out', 'lost+found', 'recover-report.json'), 'utf8')) as { lost: { decoded: { keyRange: { text: string } | null } }[] };
    expect(saved.lost.map((item) => item.decoded.keyRange?.text)).toContain(verifyText);
  });
});


describe('verify names the keys damage affects', () => {
  test('a damaged block of string keys: its range as Redis keys of db 0, the hex engine keys kept in the JSON', async () => {
    const dir = path.join(scratch, 'verify-block');
    await writeSampleKeyspace(dir);
    damageMetadataBlock(dir);
    const { exitCode, report, human } = await runVerify(dir);
    expect(exitCode).toBe(1);
    expect(human).toMatch(/\n {7}affects keys db 0 "str:\d{4}" \.\. db 0 "str:\d{4}", seq \d+\.\.\d+\n/);
    expect(human).not.toContain('0x4d00000000'); // an engine key in hex (a checksum in the message may start 0x4d)
    expect(human).not.toContain('keys: named by their physical db ids');
    expect(report.databaseTable).toBe('found');
    const [problem] = report.problems;
    expect(problem!.keyRange!.smallest).toMatch(/^4d00000000/);
    const { smallest, largest, text } = problem!.decoded!.keyRange;
    expect(smallest).toMatchObject({ kind: 'metadata', db: 0, physDb: 0, key: problem!.keyRange!.smallest!.slice(10) });
    expect(largest).toMatchObject({ kind: 'metadata', db: 0, physDb: 0, key: problem!.keyRange!.largest!.slice(10) });
    expect(text).toMatch(/^keys db 0 "str:\d{4}" \.\. db 0 "str:\d{4}"$/);
  });

  test('a damaged block that holds the database table: keys named by physical db id, and the range said to cross parts of the keyspace', async () => {
    const dir = path.join(scratch, 'verify-table');
    await writeSampleKeyspace(dir);
    damageTableBlock(dir);
    const { exitCode, report, human } = await runVerify(dir);
    expect(exitCode).toBe(1);
    expect(report.databaseTable).toBe('unreadable');
    expect(human).toContain('keys: named by their physical db ids: the database table, which maps them to dbs, does not decode or lies in a damaged range');
    expect(human).toMatch(/affects keys counters of physical db 0 \.\. physical db 0 "hash:\d+" \(the range crosses parts of the keyspace, from counters through the database table and the expiry index to keys: it may hold entries of any db\), seq/);
    expect(report.problems[0]!.decoded!.keyRange.smallest).toMatchObject({ kind: 'counters', db: null, physDb: 0 });
  });

  test('a damaged block from one part of the keyspace to the next says which dbs it may hold', async () => {
    const dir = path.join(scratch, 'verify-parts');
    await writeSampleKeyspace(dir);
    // The block where db 3's keys end holds the first collection members of db 0 too.
    damageBlocksHolding(onlySegment(dir), [metadataKey(3, Buffer.from('db3:29'))]);
    const { report, human } = await runVerify(dir);
    expect(report.problems[0]!.decoded!.keyRange.largest).toMatchObject({ kind: 'subkey', db: 0 });
    expect(human).toMatch(/affects keys db \d+ "[^"]+" \.\. db 0 "[^"]+" subkey "[^"]*" \(the range crosses parts of the keyspace, from keys to collection members: it may hold entries of every db\), seq/);
  });

  test('a logical problem names its one key', async () => {
    const dir = path.join(scratch, 'verify-logical');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
    try {
      const keyspace = await Keyspace.open(engine);
      const pending: Promise<unknown>[] = [];
      setAdd(keyspace, { db: 1, nowMs: Date.now(), write: (batch) => void pending.push(engine.write(batch)) }, Buffer.from('tags'), [Buffer.from('a')]);
      await Promise.all(pending);
      const physDb = keyspace.physicalDb(1);
      const version = recordVersion(engine.get(metadataKey(physDb, Buffer.from('tags')))!);
      await engine.write(new WriteBatch().put(subkey(physDb, Buffer.from('tags'), version + 5, Buffer.from('intruder')), Buffer.alloc(0)));
    } finally {
      await engine.close();
    }
    const { report, human } = await runVerify(dir);
    const problem = report.problems.find((each) => each.kind === 'logical-orphan')!;
    expect(problem.decoded!.keyRange).toMatchObject({ smallest: { kind: 'subkey', db: 1, key: hex('tags'), field: hex('intruder') }, text: 'db 1 "tags" subkey "intruder"' });
    expect(human).toContain('affects db 1 "tags" subkey "intruder", sequences unknown');
  });

  test('raw engine data keeps its engine keys, and the JSON says there is no table', async () => {
    const { report, human } = await runVerify(copyFixture(scratch, 'flipped-bit'));
    expect(report.databaseTable).toBe('none');
    expect(report.problems[0]!.decoded!.keyRange).toMatchObject({ smallest: { kind: 'other' }, text: 'keys "key:000" .. "key:037"' });
    expect(human).toContain('affects keys "key:000" .. "key:037", seq 1..48');
  });

  test('ranges across dbs, or with an end outside the keyspace, say so', () => {
    const table = { physIds: [0, 5, 2, 3], nextPhysId: 6, versionFloor: 0 };
    const range = (smallest: Buffer, largest: Buffer): { smallest: string; largest: string } => ({ smallest: smallest.toString('hex'), largest: largest.toString('hex') });
    const a = metadataKey(0, Buffer.from('a'));
    const b = metadataKey(3, Buffer.from('b'));
    // Physical ids 0 to 3 are dbs 0, 2 and 3 (db 1 is physical 5, after a FLUSHDB).
    expect(describeKeyRange(range(a, b), table).text).toBe('keys db 0 "a" .. db 3 "b" (the range spans more than one db: it may hold entries of dbs 0, 2 and 3)');
    expect(describeKeyRange(range(a, b), unknownTable).text).toBe('keys physical db 0 "a" .. physical db 3 "b" (the range spans more than one db: physical dbs 0 to 3)');
    expect(describeKeyRange(range(counterKey(3), dbTableKey), table).text).toBe('keys counters of db 3 .. database table (the range crosses parts of the keyspace, from counters to the database table: it may hold entries of dbs 1 and 3)');
    expect(describeKeyRange(range(a, subkeyPrefix(0, Buffer.from('h'), 1)), table).text).toMatch(/: it may hold entries of every db\)$/);
    expect(describeKeyRange(range(a, Buffer.from([0x7a, 0x00])), table).text).toBe('keys db 0 "a" .. 0x7a00 (0x7a00 is not a keyspace key)');
    expect(describeKeyRange(range(a, a), table).text).toBe('db 0 "a"');
    const marker = buildMarkerKey(0, Buffer.from('h'), 7);
    expect(describeKeyRange(range(marker, marker), table).text).toBe('db 0 "h" build marker of version 7 (docs/format.md, "Build markers")');
    expect(describeKeyRange(range(marker, counterKey(0)), table).text).toMatch(/from build markers to counters: it may hold entries of/);
    expect(describeKeyRange({ smallest: null, largest: null }, table).text).toBe('keys unknown');
  });
});
