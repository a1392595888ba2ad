// `silt inspect DIR --key K [--db N]` takes the Redis key, as
// docs/operations.md shows it (`--key user:42`), not the engine key: it finds
// the key's metadata record under its db's physical id (every version,
// decoded), the expiry index entries those versions name, and the first
// subkeys of each collection version, with a bounded count (--subkeys N).
// After a FLUSHDB the db's older physical id is searched too. Binary keys
// take --hex. `--engine-key` looks up one engine key as before.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { hashSet } from '../../../lib/keyspace/hash.js';
import { metadataKey } from '../../../lib/keyspace/key-encoding.js';
import { Keyspace, type KeyspaceContext } from '../../../lib/keyspace/keyspace.js';
import { stringRecord, withExpire } from '../../../lib/keyspace/metadata.js';
import { main } from '../../../tools/cli.js';
import { inspect, type EngineKeyView, type KeyView } from '../../../tools/inspect.js';
import { captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;
let dir: string;
const laterMs = Date.now() + 3_600_000;
const binaryKey = Buffer.from([0x00, 0xff, 0x0a, 0x22]);

function setString(keyspace: Keyspace, ctx: KeyspaceContext, key: Buffer, value: string, expireMs = 0): void {
  const target = keyspace.load(ctx.db, key, ctx.nowMs);
  keyspace.put(ctx, target, stringRecord(Buffer.from(value), expireMs, keyspace.newVersion(ctx.nowMs, target.stored)));
}

/** One session: opens the directory with an engine and keyspace, runs `writes`, flushes when asked, closes. */
async function session(writes: (keyspace: Keyspace, ctx: (db: number) => KeyspaceContext) => void, flush = false): Promise<void> {
  const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
  try {
    const keyspace = await Keyspace.open(engine);
    const pending: Promise<unknown>[] = [];
    writes(keyspace, (db) => ({ db, nowMs: Date.now(), write: (batch) => void pending.push(engine.write(batch)) }));
    await Promise.all(pending);
    if (flush) await engine.flush();
  } finally {
    await engine.close();
  }
}

beforeAll(async () => {
  scratch = makeScratch('inspect-key');
  dir = path.join(scratch, 'data');
  // user:42 is a string, then (flushed to a segment) a hash of 15 fields with an expiry, in the WAL.
  await session((keyspace, ctx) => setString(keyspace, ctx(0), Buffer.from('user:42'), 'first'), true);
  await session((keyspace, ctx) => {
    const pairs: Buffer[] = [];
    for (let field = 0; field < 15; field++) pairs.push(Buffer.from(`f${String(field).padStart(2, '0')}`), Buffer.from(`v${field}`));
    const target = keyspace.load(0, Buffer.from('user:42'), Date.now());
    keyspace.remove(ctx(0), target);
    hashSet(keyspace, ctx(0), Buffer.from('user:42'), pairs);
    const hash = keyspace.load(0, Buffer.from('user:42'), Date.now());
    keyspace.put(ctx(0), hash, withExpire(hash.live!, laterMs));
    setString(keyspace, ctx(2), binaryKey, 'binary');
    setString(keyspace, ctx(1), Buffer.from('gone'), 'before the flush');
  });
  // FLUSHDB of db 1 gives it a new physical id; "gone" is written again under it.
  await session((keyspace, ctx) => {
    keyspace.flushDb(ctx(1), 1);
    setString(keyspace, ctx(1), Buffer.from('gone'), 'after the flush');
  });
});

afterAll(() => {
  removeScratch(scratch);
});

describe("silt inspect's summary of a keyspace", () => {
  test('name engine keys as verify does (physical db and Redis key), not in hex', async () => {
    const { io, stdout } = captureIo();
    expect((await inspect({ dir }, io)).exitCode).toBe(0);
    expect(stdout.text).toMatch(/keys counters of physical db \d+ \.\. physical db \d+ "/);
    expect(stdout.text).not.toMatch(/keys 0x/);
  });
});

describe('silt inspect --key', () => {
  test('takes the Redis key: every version of its metadata (decoded), its expiry entry, and its first subkeys', async () => {
    const { io, stdout } = captureIo();
    const result = await inspect({ dir, key: 'user:42', json: true }, io);
    expect(result.exitCode).toBe(0);
    const view = result.report as KeyView;
    expect(JSON.parse(stdout.text)).toEqual(JSON.parse(JSON.stringify(view)));
    expect(view).toMatchObject({ view: 'key', db: 0, key: Buffer.from('user:42').toString('hex'), mapping: 'table', physicalDbs: [{ physDb: 0, current: true, nowDb: 0 }], subkeysLimit: 10, problems: [] });
    expect(view.metadata).toHaveLength(1);
    expect(view.metadata[0]!.engineKey).toBe(metadataKey(0, Buffer.from('user:42')).toString('hex'));
    const versions = view.metadata[0]!.versions;
    expect(versions.map((version) => [version.type, version.record?.type ?? null])).toEqual([
      ['put', 'hash'], // the expiry
      ['put', 'hash'], // HSET
      ['del', null], // the delete before it
      ['put', 'string'],
    ]);
    expect(versions[0]!.record).toMatchObject({ type: 'hash', size: 15, expireAt: laterMs });
    expect(versions[3]!.record).toMatchObject({ type: 'string', size: 5, expireAt: null, valueHead: Buffer.from('first').toString('hex') });
    expect(versions[3]!.where).toMatch(/^seg\/\d+\.sst \(level \d\)$/);
    expect(versions[0]!.where).toMatch(/^wal\/\d+\.log record at offset \d+$/);
    expect(view.expiry).toMatchObject([{ physDb: 0, expireAt: laterMs, versions: [{ type: 'put' }] }]);
    const hashVersion = versions[0]!.record!.version;
    expect(view.subkeys).toHaveLength(1);
    expect(view.subkeys[0]).toMatchObject({ physDb: 0, collectionVersion: hashVersion, type: 'hash', live: true, kind: 'subkey', more: true });
    expect(view.subkeys[0]!.entries.map((entry) => Buffer.from(entry.field, 'hex').toString())).toEqual(['f00', 'f01', 'f02', 'f03', 'f04', 'f05', 'f06', 'f07', 'f08', 'f09']);

    const all = await inspect({ dir, key: 'user:42', subkeys: 20, json: true }, captureIo().io);
    expect((all.report as KeyView).subkeys[0]).toMatchObject({ more: false });
    expect((all.report as KeyView).subkeys[0]!.entries).toHaveLength(15);

    const human = captureIo();
    expect(await main(['inspect', dir, '--key', 'user:42', '--subkeys', '3'], human.io)).toBe(0);
    const text = human.stdout.text;
    expect(text).toMatch(/^Key "user:42" of db 0: physical db 0 \(the database table maps it\); \d+ segments? and \d+ WAL files? searched, newest first\n/);
    expect(text).toContain('  metadata (engine key 0x4d00000000757365723a3432): 4 versions\n');
    expect(text).toMatch(/ {4}seq \d+ {2}put hash, size 15, version \d+, expires at .* {2}wal\//);
    expect(text).toMatch(/ {4}seq \d+ {2}put string, 5 B "first", version \d+, no expiry {2}seg\//);
    expect(text).toContain(`  fields of hash version ${hashVersion} (physical db 0, live): the first 3 shown, more stored: --subkeys N shows up to N\n`);
    expect(text).toMatch(/ {4}"f00" {2}seq \d+ {2}put \(2 B\)/);
    expect(text).toContain('  expiry index entry at ');
  });

  test('--db, binary keys with --hex, a FLUSHDB\'s older physical id, and a key that is not there', async () => {
    const binary = captureIo();
    const result = await inspect({ dir, key: binaryKey.toString('hex'), hex: true, db: 2 }, binary.io);
    expect(result.exitCode).toBe(0);
    expect(binary.stdout.text).toContain('Key "\\x00\\xff\\n\\"" of db 2: physical db 2');
    expect(binary.stdout.text).toMatch(/put string, 6 B "binary"/);

    const flushed = await inspect({ dir, key: 'gone', db: 1, json: true }, captureIo().io);
    const view = flushed.report as KeyView;
    expect(view.physicalDbs.map((physical) => physical.current)).toEqual([true, false]);
    expect(view.physicalDbs[0]!.physDb).not.toBe(1);
    expect(view.physicalDbs[1]).toEqual({ physDb: 1, current: false, nowDb: null });
    expect(view.metadata.map((metadata) => metadata.versions.map((version) => Buffer.from(version.record!.valueHead!, 'hex').toString()))).toEqual([['after the flush'], ['before the flush']]);
    const flushedHuman = captureIo();
    await inspect({ dir, key: 'gone', db: 1 }, flushedHuman.io);
    expect(flushedHuman.stdout.text).toContain("physical db 1: db 1's in an older database table (FLUSHDB or SWAPDB since), mapped to no db now");

    const absent = captureIo();
    expect((await inspect({ dir, key: 'nobody' }, absent.io)).exitCode).toBe(0);
    expect(absent.stdout.text).toContain('  metadata (engine key 0x4d000000006e6f626f6479): no version stored\n');
    expect(absent.stdout.text).toContain('  no version of this key is stored in db 0\n');

    const badDb = captureIo();
    expect((await inspect({ dir, key: 'x', db: 16 }, badDb.io)).exitCode).toBe(2);
    expect(badDb.stderr.text).toContain('the database table has dbs 0 to 15');
    const usage = captureIo();
    expect(await main(['inspect', dir, '--db', '1'], usage.io)).toBe(2);
    expect(usage.stderr.text).toContain('--db and --subkeys go with --key');
  });

  test('--engine-key looks up one engine key, as verify names it', async () => {
    const engineKey = metadataKey(0, Buffer.from('user:42')).toString('hex');
    const { io, stdout } = captureIo();
    expect(await main(['inspect', dir, '--engine-key', engineKey, '--hex', '--json'], io)).toBe(0);
    const view = JSON.parse(stdout.text) as EngineKeyView;
    expect(view).toMatchObject({ view: 'engine-key', key: engineKey });
    expect(view.versions.map((version) => version.type)).toEqual(['put', 'put', 'del', 'put']);
  });
});
