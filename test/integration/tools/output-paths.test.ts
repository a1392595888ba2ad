// No tool writes an output inside a silt data directory (tools/data-dir.ts,
// refuseOutputInDataDirectory): recover/checkpoint/restore --out, dump --out
// and load --into under a live directory's wal/, seg/ or archive/ (or under a
// stopped one) are refused with exit 2 before anything is created, naming the
// data directory and whether a live process holds it, also through a symlink
// or a `..` after one. `checkpoint DIR --name NAME` still writes
// DIR/checkpoints/NAME of a stopped DIR. And a refused `load --into` leaves
// its target as it found it: a directory that is not a silt data directory is
// said to be one, with what --into takes, not sent to `silt recover`.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { checkpoint } from '../../../tools/checkpoint.js';
import { dump } from '../../../tools/dump.js';
import { inspect } from '../../../tools/inspect.js';
import { load } from '../../../tools/load.js';
import { recover } from '../../../tools/recover.js';
import { restore } from '../../../tools/restore.js';
import { verify } from '../../../tools/verify.js';
import { captureIo, copyFixture, hashTree, loadExpected, makeScratch, readEntries, removeScratch } from './tool-test-helpers.js';

let scratch: string;
let counter = 0;

beforeAll(() => {
  scratch = makeScratch('output-paths');
});

afterAll(() => {
  removeScratch(scratch);
});

/** One NDJSON key, as silt dump writes it. */
const ndjsonLine = '{"db":0,"key":"a","type":"string","expireAt":null,"value":"x"}\n';

function ndjsonFile(): string {
  const file = path.join(scratch, `keys-${++counter}.ndjson`);
  fs.writeFileSync(file, ndjsonLine);
  return file;
}

/** hashTree once the live engine is done tidying up after its open (it deletes the old manifest in the background). */
async function settledTree(dir: string): Promise<Record<string, string>> {
  const snapshot = (): string | undefined => {
    try {
      return JSON.stringify(hashTree(dir));
    } catch {
      return undefined; // a file went away while it was read: not settled
    }
  };
  let previous = snapshot();
  for (let attempt = 0; attempt < 250; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const current = snapshot();
    if (current !== undefined && current === previous && !current.includes('"MANIFEST-000011"')) return JSON.parse(current) as Record<string, string>;
    previous = current;
  }
  throw new Error(`"${dir}" did not settle`);
}

describe('an output path inside a live data directory is refused, and nothing is created', () => {
  let live: string;
  let engine: LsmEngine;
  let before: Record<string, string>;

  beforeEach(async () => {
    live = copyFixture(scratch, 'healthy', `-live-${++counter}`);
    engine = await LsmEngine.open(live, { backgroundExecutor: 'inline' });
    before = await settledTree(live);
  });

  afterEach(async () => {
    expect(hashTree(live)).toEqual(before);
    await engine.close();
  });

  function expectRefused(result: { exitCode: number }, stderr: string): void {
    expect(result.exitCode).toBe(2);
    expect(stderr).toContain(`inside the silt data directory "${live}", which a running server holds (process ${process.pid}`);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  }

  test('recover --out LIVE/wal/sub', async () => {
    const source = copyFixture(scratch, 'flipped-bit', `-${++counter}`);
    const { io, stderr } = captureIo();
    expectRefused(await recover({ dir: source, out: path.join(live, 'wal', 'sub') }, io), stderr.text);
  });

  test('checkpoint --out LIVE/seg/ck, with --json: code LOCKED', async () => {
    const source = copyFixture(scratch, 'healthy', `-${++counter}`);
    const { io, stderr, stdout } = captureIo();
    expectRefused(await checkpoint({ dir: source, out: path.join(live, 'seg', 'ck'), json: true }, io), stderr.text);
    expect(JSON.parse(stdout.text)).toMatchObject({ ok: false, error: { code: 'LOCKED' } });
  });

  test('dump --out LIVE/wal/000999.log', async () => {
    const source = copyFixture(scratch, 'healthy', `-${++counter}`);
    const { io, stderr } = captureIo();
    expectRefused(await dump({ dir: source, out: path.join(live, 'wal', '000999.log') }, io), stderr.text);
  });

  test('load --into LIVE/seg (only the ancestors of DIR count, and LIVE is one)', async () => {
    const { io, stderr } = captureIo();
    expectRefused(await load({ file: ndjsonFile(), into: path.join(live, 'seg') }, io), stderr.text);
  });

  test('restore --out LIVE/archive/at', async () => {
    const source = copyFixture(scratch, 'healthy', `-${++counter}`);
    const { io, stderr } = captureIo();
    expectRefused(await restore({ from: source, wal: path.join(source, 'wal'), to: 'seq:78', out: path.join(live, 'archive', 'at') }, io), stderr.text);
  });

  test('through a symlink to LIVE/wal, and through `..` after a symlink into LIVE/wal/', async () => {
    const source = copyFixture(scratch, 'healthy', `-${++counter}`);
    const link = path.join(scratch, `link-${++counter}`);
    fs.symlinkSync(path.join(live, 'wal'), link);
    for (const out of [path.join(link, 'ck'), `${link}/../ck`]) {
      const { io, stderr } = captureIo();
      expectRefused(await checkpoint({ dir: source, out }, io), stderr.text);
    }
    // The same `..` path resolved as written would lie outside LIVE: it is the kernel's path that counts.
    expect(fs.existsSync(path.join(scratch, 'ck'))).toBe(false);
  });
});

describe('an output path inside a stopped data directory', () => {
  test('is refused too, saying no live process holds it', async () => {
    const stopped = copyFixture(scratch, 'healthy', `-stopped-${++counter}`);
    const source = copyFixture(scratch, 'healthy', `-${++counter}`);
    const before = hashTree(stopped);
    const cases = [
      () => checkpoint({ dir: source, out: path.join(stopped, 'seg', 'ck') }, io()),
      () => recover({ dir: copyFixture(scratch, 'flipped-bit', `-${++counter}`), out: path.join(stopped, 'archive', 'x', 'y') }, io()),
      () => dump({ dir: source, out: path.join(stopped, 'wal', '000999.log') }, io()),
      () => load({ file: ndjsonFile(), into: path.join(stopped, 'checkpoints') }, io()),
    ];
    let captured = captureIo();
    const io = (): typeof captured.io => {
      captured = captureIo();
      return captured.io;
    };
    for (const run of cases) {
      const result = await run();
      expect(result.exitCode).toBe(2);
      expect(captured.stderr.text).toContain(`inside the silt data directory "${stopped}" (no live process holds it)`);
    }
    expect(hashTree(stopped)).toEqual(before);
  });

  test("a LOCK or CURRENT of another program above the output path does not make it a data directory", async () => {
    const work = path.join(scratch, `other-program-${++counter}`);
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'LOCK'), 'another program\n');
    fs.writeFileSync(path.join(work, 'CURRENT'), 'MANIFEST-000001\n'); // names no manifest beside it
    const source = copyFixture(scratch, 'healthy', `-${++counter}`);
    expect((await recover({ dir: copyFixture(scratch, 'flipped-bit', `-${++counter}`), out: path.join(work, 'recovered') }, captureIo().io)).exitCode).toBe(1);
    const keyspace = path.join(scratch, `keyspace-${++counter}`);
    expect((await load({ file: ndjsonFile(), into: keyspace }, captureIo().io)).exitCode).toBe(0);
    expect((await dump({ dir: keyspace, out: path.join(work, 'dump.ndjson') }, captureIo().io)).exitCode).toBe(0);
    expect((await checkpoint({ dir: source, out: path.join(work, 'ck') }, captureIo().io)).exitCode).toBe(0);
  });

  test('checkpoint DIR --name NAME still writes DIR/checkpoints/NAME; load --into a stopped DIR still works', async () => {
    const dir = copyFixture(scratch, 'healthy', `-named-${++counter}`);
    expect((await checkpoint({ dir, name: 'first' }, captureIo().io)).exitCode).toBe(0);
    expect(await readEntries(path.join(dir, 'checkpoints', 'first'))).toEqual(loadExpected('healthy').entries);
    // --out into DIR/checkpoints/ is another matter: --out must lie outside DIR.
    expect((await checkpoint({ dir, out: path.join(dir, 'checkpoints', 'second') }, captureIo().io)).exitCode).toBe(2);
    // A checkpoint of the checkpoint with --name would write inside DIR's checkpoints/first/: refused.
    const nested = captureIo();
    expect((await checkpoint({ dir: path.join(dir, 'checkpoints', 'first'), name: 'inner' }, nested.io)).exitCode).toBe(2);
    expect(nested.stderr.text).toContain(`inside the silt data directory "${dir}" (no live process holds it)`);
    expect(fs.existsSync(path.join(dir, 'checkpoints', 'first', 'checkpoints'))).toBe(false);
    const loaded = await load({ file: ndjsonFile(), into: path.join(scratch, `fresh-${++counter}`) }, captureIo().io);
    expect(loaded.exitCode).toBe(0);
  });
});

describe('a refused load --into leaves its target unchanged', () => {
  test('a directory holding no silt files: "not a silt data directory", no recover advice, nothing created', async () => {
    const junk = path.join(scratch, `junk-${++counter}`);
    fs.mkdirSync(junk);
    fs.writeFileSync(path.join(junk, 'notes.txt'), 'x\n');
    const { io, stderr, stdout } = captureIo();
    const result = await load({ file: ndjsonFile(), into: junk, json: true }, io);
    expect(result.exitCode).toBe(2);
    expect(stderr.text).toBe(
      `silt load: Cannot load into "${junk}": it is not a silt data directory (it holds "notes.txt", and no CURRENT, MANIFEST, WAL file or segment); --into takes an empty or missing directory, or a stopped silt data directory\n`,
    );
    expect(stderr.text).not.toContain('recover');
    expect(JSON.parse(stdout.text)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    expect(fs.readdirSync(junk)).toEqual(['notes.txt']);
    // What a refused load used to leave behind (empty seg/ and wal/) makes it no silt directory either.
    fs.mkdirSync(path.join(junk, 'seg'));
    fs.mkdirSync(path.join(junk, 'wal'));
    const again = captureIo();
    expect((await load({ file: ndjsonFile(), into: junk }, again.io)).exitCode).toBe(2);
    expect(again.stderr.text).toContain('it is not a silt data directory (it holds "notes.txt", "seg", "wal", and no CURRENT');
    expect(fs.readdirSync(junk)).toEqual(['notes.txt', 'seg', 'wal']);
  });

  test('a silt directory that lost CURRENT: sent to silt recover, nothing created', async () => {
    const dir = copyFixture(scratch, 'lost-manifest', `-${++counter}`);
    fs.rmSync(path.join(dir, 'seg'), { recursive: true }); // a directory holding only WAL files: the writable open would make seg/
    const before = hashTree(dir);
    const { io, stderr } = captureIo();
    expect((await load({ file: ndjsonFile(), into: dir }, io)).exitCode).toBe(2);
    expect(stderr.text).toContain('"CURRENT" is missing');
    expect(stderr.text).toContain('silt recover');
    expect(hashTree(dir)).toEqual(before);
  });

  test('a damaged silt directory: refused by a read-only open, before wal/ or seg/ are made', async () => {
    const dir = copyFixture(scratch, 'missing-segment', `-${++counter}`);
    fs.rmSync(path.join(dir, 'wal'), { recursive: true }); // the writable open would make wal/ before it finds the segment missing
    const before = hashTree(dir);
    const { io, stderr } = captureIo();
    expect((await load({ file: ndjsonFile(), into: dir }, io)).exitCode).toBe(2);
    expect(stderr.text).toContain('000010.sst');
    expect(hashTree(dir)).toEqual(before);
  });
});

describe('the reading tools refuse a directory that is not a silt data directory', () => {
  // The 3 a.m. slip: /var/lib given for /var/lib/silt. It must not read as a database that lost its
  // CURRENT (verify: damage, "run recover"; recover: an empty result and exit 0).
  test('a parent of a data directory: exit 2, the data directory named, nothing created', async () => {
    const parent = path.join(scratch, `parent-${++counter}`);
    fs.mkdirSync(parent);
    const dir = copyFixture(parent, 'healthy', '');
    const name = path.basename(dir);
    const out = path.join(scratch, `out-${counter}`);
    const before = hashTree(parent);
    const runs: [string, (io: ReturnType<typeof captureIo>['io']) => Promise<{ exitCode: number }>][] = [
      ['verify', (io) => verify({ dir: parent, json: true }, io)],
      ['recover', (io) => recover({ dir: parent, out, json: true }, io)],
      ['dump', (io) => dump({ dir: parent, out: path.join(scratch, `dump-${counter}.ndjson`), json: true }, io)],
      ['inspect', (io) => inspect({ dir: parent, json: true }, io)],
      ['checkpoint', (io) => checkpoint({ dir: parent, out, json: true }, io)],
      ['restore from', (io) => restore({ from: parent, archive: path.join(dir, 'wal'), to: 'seq:1', out, json: true }, io)],
    ];
    for (const [action, run] of runs) {
      const { io, stdout } = captureIo();
      expect((await run(io)).exitCode, action).toBe(2);
      const error = (JSON.parse(stdout.text) as { error: { code: string; message: string } }).error;
      expect(error.code, action).toBe('NOT_FOUND');
      expect(error.message, action).toBe(
        `Cannot ${action} "${parent}": it is not a silt data directory (it holds "${name}", and no CURRENT, MANIFEST, WAL file or segment); "${dir}" is one: did you mean it?`,
      );
    }
    expect(fs.existsSync(out)).toBe(false);
    expect(hashTree(parent)).toEqual(before);
  });
});
