// The key lists of `silt restore --dry-run` and `silt recover` name Redis
// keys, not engine keys: `db 0 "user:1"`, `db 0 "h" subkey "f"`, `counters
// of db 0`, binary bytes escaped as redis-cli escapes them ("\x00\xff"). They
// listed raw engine keys (`0x4d00000000...`). JSON keeps the hex engine key
// and adds the decoded form. Raw engine data (no database table) keeps its
// keys as they are (restore.test.ts and recover.test.ts).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { hashSet } from '../../../lib/keyspace/hash.js';
import { Keyspace, type KeyspaceContext } from '../../../lib/keyspace/keyspace.js';
import { metadataKey } from '../../../lib/keyspace/key-encoding.js';
import { stringRecord } from '../../../lib/keyspace/metadata.js';
import { readWalFile } from '../../../lib/wal/wal-reader.js';
import { recover } from '../../../tools/recover.js';
import { restore } from '../../../tools/restore.js';
import { damageMetadataBlock, writeSampleKeyspace } from './damaged-keyspace.js';
import { captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

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
    expect(text).not.toContain('0x4d');
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
});
