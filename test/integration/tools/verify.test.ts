// `silt verify` on every fixture finds exactly the documented problems, with
// file, offset and the keys and sequences they affect; a torn tail on the
// newest WAL file is a note (exit 0), not damage. It never writes (the tree
// hashes the same before and after), refuses a directory a live engine
// holds, and accepts a checkpoint of it.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { verify, type VerifyProblem } from '../../../tools/verify.js';
import { recover } from '../../../tools/recover.js';
import { fixtureNames, type FixtureName } from '../../support/make-fixtures.js';
import { captureIo, copyFixture, newerFormatFixture, hashTree, hex, loadExpected, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;

beforeAll(() => {
  scratch = makeScratch('verify');
});

afterAll(() => {
  removeScratch(scratch);
});

/** The fields of a problem a test pins down (messages may improve). */
type ExpectedProblem = Pick<VerifyProblem, 'severity' | 'kind' | 'file' | 'offset'> & Partial<Pick<VerifyProblem, 'keyRange' | 'sequenceRange'>>;

/** What verify must find in each fixture, and its exit code. */
const expectations: Record<FixtureName, { exitCode: number; problems: ExpectedProblem[] }> = {
  healthy: { exitCode: 0, problems: [] },
  // Zeros the WAL writer preallocated are no problem at all.
  'preallocated-wal-tail': { exitCode: 0, problems: [] },
  'torn-wal-tail': { exitCode: 0, problems: [{ severity: 'note', kind: 'wal-torn-tail', file: 'wal/000012.log', offset: 246 }] },
  'flipped-bit': {
    exitCode: 1,
    problems: [
      {
        severity: 'damage',
        kind: 'segment',
        file: 'seg/000005.sst',
        offset: 0,
        keyRange: { smallest: hex('key:000'), largest: hex('key:037') },
        sequenceRange: { first: 1, last: 48 },
      },
    ],
  },
  'missing-segment': {
    exitCode: 1,
    problems: [
      {
        severity: 'damage',
        kind: 'segment-missing',
        file: 'seg/000010.sst',
        offset: 0,
        keyRange: { smallest: hex('empty'), largest: hex('key:053') },
        sequenceRange: { first: 49, last: 61 },
      },
    ],
  },
  'lost-manifest': { exitCode: 1, problems: [{ severity: 'damage', kind: 'current-missing', file: 'CURRENT', offset: 0 }] },
  'wal-mid-corruption': {
    exitCode: 1,
    // The damaged record starts at sequence 72; the valid record after it ends at 78.
    problems: [{ severity: 'damage', kind: 'wal-record', file: 'wal/000012.log', offset: 91, sequenceRange: { first: 72, last: 78 } }],
  },
};

function pick(problem: VerifyProblem, like: ExpectedProblem): ExpectedProblem {
  const picked: ExpectedProblem = { severity: problem.severity, kind: problem.kind, file: problem.file, offset: problem.offset };
  if (like.keyRange !== undefined && problem.keyRange !== undefined) picked.keyRange = problem.keyRange;
  if (like.sequenceRange !== undefined && problem.sequenceRange !== undefined) picked.sequenceRange = problem.sequenceRange;
  return picked;
}

describe('silt verify on the fixtures', () => {
  test.each(fixtureNames)('%s: finds exactly the documented problems and never writes', async (name) => {
    const dir = copyFixture(scratch, name);
    const before = hashTree(dir);
    const { io, stdout } = captureIo();
    const result = await verify({ dir, json: true }, io);
    const expected = expectations[name];
    expect(result.exitCode).toBe(expected.exitCode);
    const report = result.report!;
    expect(report.problems.map((problem, index) => pick(problem, expected.problems[index] ?? problem))).toEqual(expected.problems);
    expect(report.healthy).toBe(expected.exitCode === 0);
    expect(JSON.parse(stdout.text)).toEqual(JSON.parse(JSON.stringify(report)));
    expect(hashTree(dir)).toEqual(before);
  });

  test('the damage verify names is where EXPECTED.json says the fixture was damaged', () => {
    for (const name of ['flipped-bit', 'wal-mid-corruption', 'missing-segment', 'lost-manifest'] as const) {
      const open = loadExpected(name).readOnly;
      if (open.outcome === 'error') {
        const problem = expectations[name].problems[0]!;
        expect({ file: problem.file, offset: problem.offset }, name).toEqual({ file: open.error.file, offset: open.error.offset });
      }
    }
    const flipped = loadExpected('flipped-bit');
    // Every key whose only copy sits in the damaged block lies inside the range verify reports.
    const range = expectations['flipped-bit'].problems[0]!.keyRange!;
    for (const key of flipped.reads!.corruptKeys) {
      expect(key >= range.smallest! && key <= range.largest!, key).toBe(true);
    }
  });

  test('human output names the damage, what it affects and the next step', async () => {
    const dir = copyFixture(scratch, 'flipped-bit', '-human');
    const { io, stdout } = captureIo();
    const result = await verify({ dir }, io);
    expect(result.exitCode).toBe(1);
    expect(stdout.text).toContain('DAMAGE [segment] seg/000005.sst at offset 0');
    expect(stdout.text).toContain('checksum mismatch');
    expect(stdout.text).toContain('affects keys "key:000" .. "key:037", seq 1..48');
    expect(stdout.text).toContain('silt recover');
  });

  test('a torn tail is reported as a note, and the result is healthy', async () => {
    const dir = copyFixture(scratch, 'torn-wal-tail', '-human');
    const { io, stdout } = captureIo();
    expect((await verify({ dir }, io)).exitCode).toBe(0);
    expect(stdout.text).toContain('note   [wal-torn-tail] wal/000012.log at offset 246');
    expect(stdout.text).toContain('Result: healthy (1 note)');
  });

  test('refuses a directory held by a live engine (exit 2), and verifies its checkpoint instead', async () => {
    const dir = copyFixture(scratch, 'healthy', '-live');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
    try {
      await engine.write(new WriteBatch().put(Buffer.from('live'), Buffer.from('yes')));
      const { io, stderr, stdout } = captureIo();
      const result = await verify({ dir, json: true }, io);
      expect(result.exitCode).toBe(2);
      expect(stderr.text).toMatch(/held by a running server \(process \d+/);
      expect(stderr.text).toContain('checkpoint');
      expect(JSON.parse(stdout.text)).toMatchObject({ ok: false, error: { code: 'LOCKED' } });

      const checkpointDir = path.join(engine.checkpointsDir, 'for-verify');
      await engine.checkpoint(checkpointDir);
      const checked = captureIo();
      expect((await verify({ dir: checkpointDir }, checked.io)).exitCode).toBe(0);
    } finally {
      await engine.close();
    }
  });

  test('a stale LOCK is a note, not a refusal', async () => {
    const dir = copyFixture(scratch, 'healthy', '-stale');
    fs.writeFileSync(path.join(dir, 'LOCK'), `${JSON.stringify({ format: 1, pid: 2 ** 22 + 12345, hostname: 'gone', startedMs: 1 })}\n`);
    const before = hashTree(dir);
    const { io } = captureIo();
    const result = await verify({ dir, json: true }, io);
    expect(result.exitCode).toBe(0);
    expect(result.report!.problems.map((problem) => problem.kind)).toEqual(['lock-stale']);
    expect(hashTree(dir)).toEqual(before);
  });

  test('could not run: a missing directory and an empty one exit 2', async () => {
    const missing = captureIo();
    expect((await verify({ dir: path.join(scratch, 'no-such-dir') }, missing.io)).exitCode).toBe(2);
    expect(missing.stderr.text).toContain('does not exist');
    const emptyDir = path.join(scratch, 'empty');
    fs.mkdirSync(emptyDir);
    const empty = captureIo();
    expect((await verify({ dir: emptyDir }, empty.io)).exitCode).toBe(2);
    expect(empty.stderr.text).toContain('holds no silt data');
  });

  test('an orphan segment, an old manifest and files that are not silt\'s are notes (the space reserve is silt\'s)', async () => {
    const dir = copyFixture(scratch, 'healthy', '-orphans');
    fs.copyFileSync(path.join(dir, 'seg/000010.sst'), path.join(dir, 'seg/000099.sst'));
    fs.copyFileSync(path.join(dir, 'MANIFEST-000011'), path.join(dir, 'MANIFEST-000007'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x\n');
    fs.writeFileSync(path.join(dir, 'seg/foo.sst'), 'x\n');
    fs.writeFileSync(path.join(dir, 'wal/README'), 'x\n');
    fs.mkdirSync(path.join(dir, 'lost+found')); // recover's, in a directory it made
    fs.writeFileSync(path.join(dir, 'RESERVE'), Buffer.alloc(4096, 1)); // the engine's space reserve: not listed
    const { io } = captureIo();
    const result = await verify({ dir, json: true }, io);
    expect(result.exitCode).toBe(0);
    expect(result.report!.problems.map((problem) => [problem.severity, problem.kind, problem.file])).toEqual([
      ['note', 'segment-orphan', 'seg/000099.sst'],
      ['note', 'manifest-stale', 'MANIFEST-000007'],
      ['note', 'unknown-file', 'notes.txt'],
      ['note', 'unknown-file', 'seg/foo.sst'],
      ['note', 'unknown-file', 'wal/README'],
    ]);
  });

  test('a file in a format version this build does not read is not judged: exit 2, as recover and dump', async () => {
    const dir = newerFormatFixture(scratch, '-newer-format');
    const { io, stderr } = captureIo();
    const result = await verify({ dir }, io);
    expect(result.exitCode).toBe(2);
    expect(result.report!.problems.map((problem) => [problem.kind, problem.file])).toContainEqual(['unsupported-version', 'seg/000010.sst']);
    expect(stderr.text).toContain('format version this build does not read');
  });

  test('a damaged archived WAL file is damage: restore cannot replay past it', async () => {
    const dir = copyFixture(scratch, 'healthy', '-archive');
    fs.mkdirSync(path.join(dir, 'archive'));
    // An archived file is a flushed WAL file moved as is; take the first WAL file and flip a byte in its last record.
    const archived = path.join(dir, 'archive/000009.log');
    fs.copyFileSync(path.join(dir, 'wal/000009.log'), archived);
    const bytes = fs.readFileSync(archived);
    bytes[bytes.length - 3]! ^= 0xff;
    fs.writeFileSync(archived, bytes);
    // The next archived file: the jump from the damaged file's readable records to it is that damage, not a missing file.
    fs.copyFileSync(path.join(dir, 'wal/000012.log'), path.join(dir, 'archive/000012.log'));
    const { io } = captureIo();
    const result = await verify({ dir, json: true }, io);
    expect(result.exitCode).toBe(1);
    expect(result.report!.problems.map((problem) => [problem.severity, problem.kind, problem.file])).toEqual([['damage', 'archive-record', 'archive/000009.log']]);
    expect(result.report!.archiveDamageCount).toBe(1);

    // The advice: only point-in-time restore is concerned, not the live data, and recover would not help.
    const human = captureIo();
    expect((await verify({ dir }, human.io)).exitCode).toBe(1);
    expect(human.stdout.text).toContain('Next: the live data (manifest, segments, WAL) is intact, and the server opens and serves this directory as it is; the damage in archive/ (1 problem) affects only point-in-time restore');
    expect(human.stdout.text).not.toContain('silt recover ' + dir);
    const recovered = captureIo();
    const salvage = await recover({ dir, out: path.join(scratch, 'archive-damage.recovered') }, recovered.io);
    expect(salvage.exitCode).toBe(0);
    expect(recovered.stdout.text).toContain('archive/ (archived WAL files, which only point-in-time restore reads');
    expect(recovered.stdout.text).toContain('damage in them (`silt verify DIR` lists it) limits only point-in-time restore, not this result');
    // As said: the server opens it.
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
    await engine.close();

    // With damage in the live data too, recover comes first, and the archive's part is said apart.
    const both = copyFixture(scratch, 'flipped-bit', '-and-archive');
    fs.cpSync(path.join(dir, 'archive'), path.join(both, 'archive'), { recursive: true });
    const mixed = captureIo();
    const mixedResult = await verify({ dir: both }, mixed.io);
    expect(mixedResult.report).toMatchObject({ damageCount: 2, archiveDamageCount: 1 });
    expect(mixed.stdout.text).toContain(`Next: \`silt recover ${both} --out NEWDIR\``);
    expect(mixed.stdout.text).toContain('(the damage in archive/ (1 problem) affects only point-in-time restore');
  });

  test('a missing archived file after a damaged one is still a gap when the damaged file ends in readable records', async () => {
    const dir = copyFixture(scratch, 'healthy', '-archive-gap-after-damage');
    fs.mkdirSync(path.join(dir, 'archive'));
    // wal/000009.log: its header record, then batch records at offsets 25, 80 and 144 (210 bytes). Damage the
    // first batch, keep the second, and drop the third as if it had been archived in a file now missing.
    const bytes = fs.readFileSync(path.join(dir, 'wal/000009.log')).subarray(0, 144);
    bytes[40]! ^= 0xff;
    fs.writeFileSync(path.join(dir, 'archive/000009.log'), bytes);
    fs.copyFileSync(path.join(dir, 'wal/000012.log'), path.join(dir, 'archive/000012.log'));
    const { io } = captureIo();
    const result = await verify({ dir, json: true }, io);
    expect(result.exitCode).toBe(1);
    expect(result.report!.problems.map((problem) => [problem.severity, problem.kind, problem.file])).toEqual([
      ['damage', 'archive-record', 'archive/000009.log'],
      ['note', 'archive-gap', 'archive/000012.log'],
    ]);
  });
});
