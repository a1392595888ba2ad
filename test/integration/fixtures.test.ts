// The fixtures under fixtures/ (written by test/support/make-fixtures.ts),
// opened the way the server (read-write) and the tools (read-only) open a data
// directory, must yield exactly what each fixture's EXPECTED.json says: the
// key/value set and recovery report of the healthy ones, the CorruptionError
// (file relative to the directory, offset) of the damaged ones. Each case
// opens a fresh copy in a temporary directory, since a read-write open
// rewrites the manifest and cuts torn tails.
//
// The flipped-bit fixture settles where block damage surfaces: NOT at open
// (segments are opened, and their data blocks read, on demand) but at the
// first read of the damaged block, as a CorruptionError, never wrong data or
// a silently shorter scan.
//
// The last group regenerates every fixture in a temporary directory and
// requires the same files, sizes and bytes: a format change makes it fail
// until `npm run fixtures` is run and the diff reviewed. The old-format
// fixtures kept under fixtures/wal-v1/ are never regenerated; they are
// opened like the others, against the EXPECTED.json they were written with.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EngineOptions } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { CorruptionError, KvError } from '../../lib/errors.js';
import { lockFileName } from '../../lib/format/file-names.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { readWalFile } from '../../lib/wal/wal-reader.js';
import {
  expectedFileName,
  fixtureNames,
  keptFixtures,
  keptFixturesRoot,
  listFixtureFiles,
  makeFixtures,
  type ExpectedError,
  type ExpectedOpen,
  type FixtureExpectation,
  type HexEntry,
} from '../support/make-fixtures.js';

const fixturesRoot = fileURLToPath(new URL('../../fixtures/', import.meta.url));

let scratch: string;
let copies = 0;

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-fixtures-test-'));
});

afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** Fixture directories under fixtures/: the generated ones, then the kept old-format ones. */
const allFixtureDirs: string[] = [...fixtureNames, ...keptFixtures.map((kept) => kept.dir)];

/** `fixture`: a directory under fixtures/ (a fixture name, or a kept one's path). */
function loadExpected(fixture: string): FixtureExpectation {
  return JSON.parse(fs.readFileSync(path.join(fixturesRoot, fixture, expectedFileName), 'utf8')) as FixtureExpectation;
}

/** A fresh copy of the fixture, without EXPECTED.json (so the engine sees exactly a data directory). */
function copyFixture(fixture: string): string {
  const dir = path.join(scratch, `${fixture.replaceAll('/', '-')}-${copies++}`);
  fs.cpSync(path.join(fixturesRoot, fixture), dir, { recursive: true });
  fs.rmSync(path.join(dir, expectedFileName));
  return dir;
}

function openOptions(readOnly: boolean, replayThread = false): EngineOptions {
  // Inline flush and compaction: no worker thread (and no dist/ build) needed. The
  // fixtures' WAL files are small: only walReplayThreadBytesMin 0 reads them in the replay thread.
  const replay: EngineOptions = replayThread ? { walReplayThreadBytesMin: 0 } : {};
  return readOnly ? { readOnly: true, ...replay } : { backgroundExecutor: 'inline', ...replay };
}

/** `file` as the error names it, made relative to the data directory ("/"-separated). */
function relativeFile(dir: string, file: string): string {
  return path.relative(dir, path.resolve(dir, file)).split(path.sep).join('/');
}

/** Every file below `dir` with its SHA-256 ("path" -> hash), directories marked with a trailing "/". */
function snapshotTree(dir: string): Map<string, string> {
  const tree = new Map<string, string>();
  const walk = (relative: string): void => {
    for (const name of fs.readdirSync(path.join(dir, relative))) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const full = path.join(dir, child);
      if (fs.statSync(full).isDirectory()) {
        tree.set(`${child}/`, '');
        walk(child);
      } else {
        tree.set(child, createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
      }
    }
  };
  walk('');
  return tree;
}

function expectError(dir: string, error: unknown, expected: ExpectedError): void {
  expect(error).toBeInstanceOf(KvError);
  const kvError = error as KvError;
  expect({ errorClass: kvError.constructor.name, code: kvError.code }).toEqual({ errorClass: expected.errorClass, code: expected.code });
  expect(kvError).toBeInstanceOf(CorruptionError);
  const corruption = kvError as CorruptionError;
  expect({ file: relativeFile(dir, corruption.file), offset: corruption.offset }).toEqual({ file: expected.file, offset: expected.offset });
}

async function openExpectingError(dir: string, readOnly: boolean, expected: ExpectedError, replayThread = false): Promise<void> {
  let caught: unknown;
  try {
    const engine = await LsmEngine.open(dir, openOptions(readOnly, replayThread));
    await engine.close();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'open must fail').toBeDefined();
  expectError(dir, caught, expected);
}

function expectRecovery(dir: string, engine: LsmEngine, expected: Extract<ExpectedOpen, { outcome: 'ok' }>): void {
  const { walFilesReplayed, walRecordsReplayed, walBytesTruncated, walTruncatedFile } = engine.recovery;
  expect({
    walFilesReplayed,
    walRecordsReplayed,
    walBytesTruncated,
    walTruncatedFile: walTruncatedFile === undefined ? null : relativeFile(dir, walTruncatedFile),
  }).toEqual(expected.recovery);
}

async function scan(engine: LsmEngine, reverse = false): Promise<HexEntry[]> {
  const entries: HexEntry[] = [];
  const iterator = engine.iterator({ reverse });
  try {
    for await (const [key, value] of iterator) entries.push([key.toString('hex'), value.toString('hex')]);
  } finally {
    await iterator.close();
  }
  return entries;
}

/** Checks a successfully opened engine against `expected.entries` and `expected.absentKeys`. */
async function expectContents(engine: LsmEngine, expected: FixtureExpectation): Promise<void> {
  const entries = expected.entries!;
  expect(await scan(engine)).toEqual(entries);
  expect(await scan(engine, true)).toEqual([...entries].reverse());
  for (const [key, value] of entries) expect(engine.get(Buffer.from(key, 'hex'))?.toString('hex'), key).toBe(value);
  for (const key of expected.absentKeys ?? []) expect(engine.get(Buffer.from(key, 'hex')), key).toBeUndefined();
}

async function catchAsync(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

function catchSync(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('fixtures', () => {
  test.each(allFixtureDirs)('%s: the directory holds exactly the files EXPECTED.json lists, and no LOCK', (name) => {
    const expected = loadExpected(name);
    expect(expected.name).toBe(keptFixtures.find((kept) => kept.dir === name)?.name ?? name);
    expect(listFixtureFiles(path.join(fixturesRoot, name))).toEqual(expected.files);
    expect(fs.existsSync(path.join(fixturesRoot, name, lockFileName))).toBe(false);
  });

  describe.each([
    ['read-write', 'main thread'],
    ['read-only', 'main thread'],
    ['read-write', 'replay thread'],
    ['read-only', 'replay thread'],
  ] as const)('%s open, WAL read on the %s', (mode, reader) => {
    const readOnly = mode === 'read-only';
    const replayThread = reader === 'replay thread';

    test.each(allFixtureDirs)('%s: yields what EXPECTED.json says', async (name) => {
      const expected = loadExpected(name);
      const open = readOnly ? expected.readOnly : expected.readWrite;
      const dir = copyFixture(name);
      const before = snapshotTree(dir);
      if (open.outcome === 'error') {
        await openExpectingError(dir, readOnly, open.error, replayThread);
      } else {
        const engine = await LsmEngine.open(dir, openOptions(readOnly, replayThread));
        try {
          expectRecovery(dir, engine, open);
          if (expected.entries !== undefined) await expectContents(engine, expected);
        } finally {
          await engine.close();
        }
      }
      // Tools open read-only: whatever the fixture holds, nothing is written (no LOCK, no truncation).
      if (readOnly) expect(snapshotTree(dir)).toEqual(before);
    });
  });

  test.each(['torn-wal-tail', `${keptFixturesRoot}/torn-wal-tail`])('%s: a read-write open cuts exactly the torn record, and the next open is clean', async (fixture) => {
    const expected = loadExpected(fixture);
    const damage = expected.damage;
    if (damage.kind !== 'truncate' || expected.readWrite.outcome !== 'ok') throw new Error('torn-wal-tail has the wrong kind of EXPECTED.json');
    expect(expected.readWrite.recovery.walBytesTruncated).toBe(damage.bytesAfter - damage.recordOffset);
    const dir = copyFixture(fixture);
    const first = await LsmEngine.open(dir, openOptions(false));
    await first.close();
    expect(fs.statSync(path.join(dir, damage.file)).size).toBe(damage.recordOffset);
    const second = await LsmEngine.open(dir, openOptions(false));
    try {
      expect(second.recovery.walBytesTruncated).toBe(0);
      expect(second.recovery.walTruncatedFile).toBeUndefined();
      await expectContents(second, expected);
    } finally {
      await second.close();
    }
  });

  test.each(['torn-wal-tail', `${keptFixturesRoot}/torn-wal-tail`])('%s: a read-only open changes no byte of any file (hash before and after)', async (fixture) => {
    const expected = loadExpected(fixture);
    const dir = copyFixture(fixture);
    const before = snapshotTree(dir);
    const engine = await LsmEngine.open(dir, openOptions(true));
    try {
      await expectContents(engine, expected);
    } finally {
      await engine.close();
    }
    expect(snapshotTree(dir)).toEqual(before);
    expect(fs.existsSync(path.join(dir, lockFileName))).toBe(false);
  });

  test('preallocated-wal-tail: the newest WAL file ends in zeros that every reader takes as preallocated space', async () => {
    const expected = loadExpected('preallocated-wal-tail');
    const damage = expected.damage;
    if (damage.kind !== 'killed') throw new Error('preallocated-wal-tail has the wrong kind of EXPECTED.json');
    const dir = copyFixture('preallocated-wal-tail');
    const file = path.join(dir, damage.file);
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(damage.recordBytes + damage.preallocatedBytes);
    expect(damage.preallocatedBytes).toBeGreaterThan(0);
    expect(bytes.subarray(damage.recordBytes).every((byte) => byte === 0)).toBe(true);
    // ('recover', which cuts the zeros, runs in the engine's open below.)
    for (const mode of ['readOnly', 'strict', 'salvage'] as const) {
      for (const isNewest of [true, false]) {
        const result = readWalFile(new NodeFileSystem(), file, { mode, isNewest });
        expect(result).toMatchObject({ kind: 'clean', header: { formatVersion: 2 }, batches: 3, validBytes: damage.recordBytes, preallocatedBytes: damage.preallocatedBytes, truncatedBytes: 0 });
      }
    }
    // The version 1 healthy fixture's WAL files carry version 1 and no zeros.
    const v1 = readWalFile(new NodeFileSystem(), path.join(fixturesRoot, keptFixturesRoot, 'healthy', damage.file), { mode: 'readOnly', isNewest: true });
    expect(v1).toMatchObject({ kind: 'clean', header: { formatVersion: 1 }, batches: 3, preallocatedBytes: 0 });
    // A read-write open replays the records and cuts the zeros off (not counted as truncated bytes).
    const engine = await LsmEngine.open(dir, openOptions(false));
    try {
      expect(engine.recovery.walBytesTruncated).toBe(0);
      await expectContents(engine, expected);
    } finally {
      await engine.close();
    }
    expect(fs.readFileSync(file)).toEqual(bytes.subarray(0, damage.recordBytes));
  });

  describe.each(['read-write', 'read-only'] as const)('flipped-bit, %s', (mode) => {
    const readOnly = mode === 'read-only';
    const expected = loadExpected('flipped-bit');
    const reads = expected.reads!;

    test('opening succeeds: the damaged block is not read at open', async () => {
      expect(expected.readWrite.outcome).toBe('ok');
      const engine = await LsmEngine.open(copyFixture('flipped-bit'), openOptions(readOnly));
      await engine.close();
    });

    test('get() of a key in the damaged block throws CorruptionError naming the segment and block offset, every time', async () => {
      const dir = copyFixture('flipped-bit');
      const engine = await LsmEngine.open(dir, openOptions(readOnly));
      try {
        expect(reads.corruptKeys.length).toBeGreaterThan(0);
        for (const key of reads.corruptKeys) {
          for (let attempt = 0; attempt < 2; attempt++) {
            const error = catchSync(() => engine.get(Buffer.from(key, 'hex')));
            expect(error, `get(${key}) attempt ${attempt}`).toBeDefined();
            expectError(dir, error, reads.error);
          }
        }
      } finally {
        await engine.close();
      }
    });

    test('get() of every other key returns exactly its value', async () => {
      const engine = await LsmEngine.open(copyFixture('flipped-bit'), openOptions(readOnly));
      try {
        for (const [key, value] of reads.intactEntries) expect(engine.get(Buffer.from(key, 'hex'))?.toString('hex'), key).toBe(value);
      } finally {
        await engine.close();
      }
    });

    test.each([false, true])('a full iteration (reverse: %s) throws CorruptionError rather than skipping the block', async (reverse) => {
      const dir = copyFixture('flipped-bit');
      const engine = await LsmEngine.open(dir, openOptions(readOnly));
      try {
        const error = await catchAsync(() => scan(engine, reverse));
        expect(error, 'the scan must not end normally').toBeDefined();
        expectError(dir, error, reads.iteratorError);
      } finally {
        await engine.close();
      }
    });
  });

  test('lost-manifest: its segments and WAL files are those of healthy (what `silt recover` starts from)', () => {
    const lost = loadExpected('lost-manifest');
    const healthy = loadExpected('healthy');
    expect(lost.recover?.entries).toEqual(healthy.entries);
    const healthyFiles = new Map(healthy.files.map((file) => [file.path, file.sha256]));
    for (const file of lost.files) expect(healthyFiles.get(file.path), file.path).toBe(file.sha256);
  });
});

describe('fixtures are what make-fixtures writes (run `npm run fixtures` after a format change)', () => {
  let regenerated: string;
  let expectations: FixtureExpectation[];

  beforeAll(async () => {
    regenerated = path.join(scratch, 'regenerated');
    expectations = await makeFixtures(regenerated);
  });

  test('the same fixture directories', () => {
    expect(expectations.map((expectation) => expectation.name)).toEqual([...fixtureNames]);
    const directories = (root: string): string[] =>
      fs
        .readdirSync(root)
        .filter((name) => fs.statSync(path.join(root, name)).isDirectory())
        .sort();
    expect(directories(fixturesRoot).filter((name) => name !== keptFixturesRoot)).toEqual(directories(regenerated));
  });

  test.each(fixtureNames)('%s: the same file names and sizes', (name) => {
    const shape = (dir: string): [string, number][] => listFixtureFiles(dir).map((file) => [file.path, file.bytes]);
    expect(shape(path.join(fixturesRoot, name))).toEqual(shape(path.join(regenerated, name)));
  });

  test.each(fixtureNames)('%s: the same bytes and the same EXPECTED.json', (name) => {
    expect(listFixtureFiles(path.join(fixturesRoot, name))).toEqual(listFixtureFiles(path.join(regenerated, name)));
    expect(fs.readFileSync(path.join(fixturesRoot, name, expectedFileName), 'utf8')).toBe(fs.readFileSync(path.join(regenerated, name, expectedFileName), 'utf8'));
  });

  test('the same README.md and .gitignore', () => {
    for (const name of ['README.md', '.gitignore']) {
      expect(fs.readFileSync(path.join(fixturesRoot, name), 'utf8'), name).toBe(fs.readFileSync(path.join(regenerated, name), 'utf8'));
    }
  });
});
