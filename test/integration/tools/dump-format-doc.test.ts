// The example of docs/format.md, "Dump streams", rebuilt from the data it
// describes: written through the keyspace at the documented time, dumped as
// NDJSON and RESP, and compared byte for byte with the page (the RESP block
// is one redis-cli inline command a line, each encoded as the multibulk the
// page says it is). Also: a version-1 header line is accepted by silt load
// and any other version refused before anything is loaded, as documented.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import type { WriteBatch } from '../../../lib/engine/write-batch.js';
import { hashSet } from '../../../lib/keyspace/hash.js';
import { Keyspace, type KeyspaceContext } from '../../../lib/keyspace/keyspace.js';
import { List } from '../../../lib/keyspace/list.js';
import { stringRecord } from '../../../lib/keyspace/metadata.js';
import { setAdd } from '../../../lib/keyspace/set.js';
import { SortedSetWriter } from '../../../lib/keyspace/zset.js';
import { dump, dumpFormatName, dumpFormatVersion, encodeCommand, type DumpFormat } from '../../../tools/dump.js';
import { load, splitInline } from '../../../tools/load.js';
import { captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

/** When the example's data is written and dumped. */
const nowMs = 1_700_000_000_000;
const b = (text: string): Buffer => Buffer.from(text, 'utf8');

let scratch: string;
let dataDir: string;

/** The body of the marked block `name` of docs/format.md. */
function docBlock(name: string): string {
  const doc = fs.readFileSync(new URL('../../../docs/format.md', import.meta.url), 'utf8');
  const block = new RegExp(`<!-- ${name}:start -->\\n\`\`\`\\n([\\s\\S]*?)\`\`\`\\n<!-- ${name}:end -->`).exec(doc);
  expect(block, `the marked block ${name} exists`).not.toBeNull();
  return block![1]!;
}

beforeAll(async () => {
  scratch = makeScratch('dump-format-doc');
  dataDir = path.join(scratch, 'data');
  const engine = await LsmEngine.open(dataDir);
  try {
    const keyspace = await Keyspace.open(engine);
    const pending: Promise<unknown>[] = [];
    const ctx = (db: number): KeyspaceContext => ({ db, nowMs, write: (batch: WriteBatch) => void pending.push(engine.write(batch)) });
    const setString = (key: string, value: Buffer, expireMs: number): void => {
      const target = keyspace.load(0, b(key), nowMs);
      keyspace.put(ctx(0), target, stringRecord(value, expireMs, keyspace.newVersion(nowMs, target.stored)));
    };
    hashSet(keyspace, ctx(0), b('bin'), [Buffer.from([0xff]), b('x'), b('a'), b('y')]);
    setString('greeting', b('say "hi"\tto wörld'), 0);
    setString('session', Buffer.from([0x00, 0xff, 0x0a]), 1_700_000_060_000);
    hashSet(keyspace, ctx(0), b('user:1'), [b('name'), b('ann'), b('age'), b('42')]);
    const board = SortedSetWriter.load(keyspace, 1, b('board'), nowMs);
    for (const [member, score] of [
      ['ann', 1.5],
      ['bob', -Infinity],
      ['cat', 1e21],
    ] as const) {
      board.add(b(member), score);
    }
    board.commit(ctx(1));
    for (const [elements, end] of [
      [['x', 'y'], 'right'],
      [['w'], 'left'],
    ] as const) {
      const list = List.edit(keyspace, 1, b('queue'), nowMs);
      for (const element of elements) list.push(b(element), end);
      const batch = keyspace.begin();
      list.stage(batch);
      keyspace.commit(ctx(1), batch);
    }
    setAdd(keyspace, ctx(1), b('tags'), [b('b'), b('a'), b('')]);
    await Promise.all(pending);
  } finally {
    await engine.close();
  }
});

afterAll(() => {
  removeScratch(scratch);
});

async function dumpBytes(format: DumpFormat): Promise<Buffer> {
  const out = path.join(scratch, `example.${format}`);
  fs.rmSync(out, { force: true });
  const { io, stderr } = captureIo();
  expect((await dump({ dir: dataDir, format, out, nowMs }, io)).exitCode, stderr.text).toBe(0);
  return fs.readFileSync(out);
}

describe('docs/format.md dump stream example', () => {
  it('NDJSON: the dump is the block, byte for byte', async () => {
    expect((await dumpBytes('ndjson')).toString('utf8')).toBe(docBlock('dump-ndjson-example'));
  });

  it('RESP: the dump is the block, each inline line encoded as a multibulk', async () => {
    const lines = docBlock('dump-resp-example').trimEnd().split('\n');
    const expected = Buffer.concat(lines.map((line, index) => encodeCommand(splitInline(Buffer.from(line, 'utf8'), { line: index + 1, offset: 0 }))));
    expect((await dumpBytes('resp')).toString('latin1')).toBe(expected.toString('latin1'));
  });

  it('the multibulk of SET greeting hello is the documented 38 bytes', () => {
    const bytes = encodeCommand([b('SET'), b('greeting'), b('hello')]);
    expect(bytes.toString('latin1')).toBe('*3\r\n$3\r\nSET\r\n$8\r\ngreeting\r\n$5\r\nhello\r\n');
    expect(bytes.length).toBe(38);
  });
});

describe('the NDJSON header line', () => {
  const line = '{"db":0,"key":"k","type":"string","expireAt":null,"value":"v"}\n';

  it('version 1 is accepted and skipped', async () => {
    const file = path.join(scratch, 'v1.ndjson');
    fs.writeFileSync(file, `{"format":"${dumpFormatName}","version":${dumpFormatVersion}}\n${line}`);
    const { io, stdout } = captureIo();
    const result = await load({ file, into: path.join(scratch, 'v1-target') }, io);
    expect(result.exitCode, stdout.text).toBe(0);
    expect(result.report?.keys).toBe(1);
    expect(result.report?.errorCount).toBe(0);
  });

  it('another version is refused before anything is loaded (exit 2)', async () => {
    const file = path.join(scratch, 'v2.ndjson');
    fs.writeFileSync(file, `{"format":"${dumpFormatName}","version":2}\n${line}`);
    const target = path.join(scratch, 'v2-target');
    const { io, stdout, stderr } = captureIo();
    const result = await load({ file, into: target, json: true }, io);
    expect(result.exitCode).toBe(2);
    expect(JSON.parse(stdout.text)).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED_VERSION' } });
    expect(stderr.text).toContain('it is a silt dump of format version 2, and this build reads version 1');
    const check = captureIo();
    expect((await dump({ dir: target }, check.io)).exitCode).toBe(0);
    expect(check.stdout.text).toBe('');
  });
});
