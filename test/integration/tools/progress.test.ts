// tools/progress.ts: a redrawn bar with rate and ETA on a terminal, plain
// periodic lines otherwise, nothing when disabled (--json) or for short runs.
// A fake clock drives it. The advance that completes the work is drawn at
// once, and the tools' totals are what they advance by, so that their bars
// end at 100% (verify and recover counted files they do not read, and the
// last frame waited for a redraw period that the work after it outlasted).
// A run's phases each have a label and end at 100% under it: verify's
// logical pass ran under the files' bar, left at 100% with no word of what
// was being done. Restore's check of the checkpoint's segments and its reads
// of the WAL files had no bar (its replay's was labelled plain `restore`), nor
// had recover's check of its result.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { formatClock, Progress } from '../../../tools/progress.js';
import { recover } from '../../../tools/recover.js';
import { restore } from '../../../tools/restore.js';
import { verify } from '../../../tools/verify.js';
import { damageMetadataBlock, writeSampleKeyspace } from './damaged-keyspace.js';
import { CapturedStream, copyFixture, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;

beforeAll(() => {
  scratch = makeScratch('progress');
});

afterAll(() => {
  removeScratch(scratch);
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** The frames a terminal bar drew (each redraw starts with a carriage return and an erase). */
function frames(stream: CapturedStream): string[] {
  return stream.text.split('\r\x1b[K').filter((frame) => frame !== '');
}

/** A clock a second further on at each reading: every advance of a tool is drawn. */
function slowClock(): void {
  let ms = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => (ms += 1000));
}

/**
 * Checks that every frame is drawn under one of `labels`, the phases in that order, each ending
 * at 100% before the next starts. @returns the frames of each phase
 */
function expectPhases(stream: CapturedStream, labels: string[]): string[][] {
  const drawn = frames(stream);
  const phases = labels.map((label) => drawn.filter((frame) => frame.startsWith(`${label}  [`)));
  expect(phases.reduce((sum, phase) => sum + phase.length, 0), `every frame is one of the phases: ${drawn.map((frame) => frame.split('  [')[0]).join(' | ')}`).toBe(drawn.length);
  let next = 0;
  for (const [index, phase] of phases.entries()) {
    expect(phase.length, labels[index]).toBeGreaterThan(0);
    expect(phase.at(-1), labels[index]).toMatch(/ 100% /);
    expect(drawn.indexOf(phase[0]!), `${labels[index]} starts after the phase before it ends`).toBeGreaterThanOrEqual(next);
    next = drawn.lastIndexOf(phase.at(-1)!) + 1;
  }
  return phases;
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let ms = 0;
  return { now: () => ms, advance: (step) => (ms += step) };
}

describe('Progress', () => {
  test('on a terminal: one line redrawn in place with bar, percentage, rate and ETA, erased at the end', () => {
    const stream = new CapturedStream(true);
    const time = clock();
    const progress = new Progress({ stream, label: 'verify', total: 4 * 1024 * 1024, unit: 'bytes', enabled: true, now: time.now });
    time.advance(1000);
    progress.advance(1024 * 1024);
    expect(stream.text).toBe('\r\x1b[Kverify  [######..................]   25%  1.0 MiB/s  ETA 0:03');
    time.advance(50);
    progress.advance(1024);
    expect(stream.text.split('\r').length).toBe(2); // within the redraw period: not drawn again
    time.advance(1000);
    progress.advance(1024 * 1024);
    const line = stream.text.slice(stream.text.lastIndexOf('\r'));
    expect(line.startsWith('\r\x1b[K')).toBe(true);
    expect(line.slice(4)).toMatch(/^verify {2}\[#{12}\.{12}\] {3}50% {2}\d+ KiB\/s {2}ETA 0:02$/);
    progress.finish();
    expect(stream.text.endsWith('\r\x1b[K')).toBe(true);
  });

  test('not a terminal: a plain line per interval, and a last line when any was written', () => {
    const stream = new CapturedStream(false);
    const time = clock();
    const progress = new Progress({ stream, label: 'restore', total: 1000, unit: 'records', enabled: true, now: time.now, lineIntervalMs: 5000 });
    time.advance(5000);
    progress.advance(250);
    time.advance(1000);
    progress.advance(250);
    time.advance(4000);
    progress.advance(250);
    progress.finish();
    expect(stream.text.split('\n')).toEqual([
      'restore: 25% (250 records of 1000 records), 50 records/s, ETA 0:15',
      'restore: 75% (750 records of 1000 records), 75 records/s, ETA 0:03',
      'restore: done, 750 records in 0:10',
      '',
    ]);
  });

  test('disabled, or finished before the start delay: writes nothing', () => {
    const quiet = new CapturedStream(true);
    const time = clock();
    const disabled = new Progress({ stream: quiet, label: 'x', total: 10, unit: 'records', enabled: false, now: time.now });
    time.advance(10_000);
    disabled.advance(5);
    disabled.finish();
    const short = new Progress({ stream: quiet, label: 'x', total: 10, unit: 'records', enabled: true, now: time.now });
    time.advance(100);
    short.advance(10);
    short.finish();
    expect(quiet.text).toBe('');
  });

  test('the advance that completes the total is drawn at once, on a terminal and in plain lines', () => {
    const stream = new CapturedStream(true);
    const time = clock();
    const progress = new Progress({ stream, label: 'load', total: 1000, unit: 'bytes', enabled: true, now: time.now });
    time.advance(1000);
    progress.advance(990);
    time.advance(10); // within the redraw period: drawn only because it completes the work
    progress.advance(10);
    expect(frames(stream).map((frame) => frame.split('  ')[2])).toEqual([' 99%', '100%']);
    time.advance(10);
    progress.advance(5); // past the total: not drawn again until due
    expect(frames(stream)).toHaveLength(2);

    const plain = new CapturedStream(false);
    const plainTime = clock();
    const lines = new Progress({ stream: plain, label: 'restore', total: 100, unit: 'records', enabled: true, now: plainTime.now, lineIntervalMs: 5000 });
    plainTime.advance(5000);
    lines.advance(50);
    plainTime.advance(1000);
    lines.advance(50);
    expect(plain.text.split('\n')).toEqual(['restore: 50% (50 records of 100 records), 10 records/s, ETA 0:05', 'restore: 100% (100 records of 100 records), 17 records/s', '']);

    // A run short enough to draw nothing before the end stays silent at the end too.
    const quiet = new CapturedStream(false);
    const quietTime = clock();
    const short = new Progress({ stream: quiet, label: 'x', total: 10, unit: 'records', enabled: true, now: quietTime.now });
    quietTime.advance(1000);
    short.advance(10);
    short.finish();
    expect(quiet.text).toBe('');
  });

  test('verify and recover end at 100% with files in seg/ and wal/ that they do not read', async () => {
    const dir = copyFixture(scratch, 'healthy');
    // An orphan segment (a leftover the server deletes), a stray file, and a flushed WAL file below the log number.
    fs.copyFileSync(path.join(dir, 'seg/000010.sst'), path.join(dir, 'seg/000099.sst'));
    fs.writeFileSync(path.join(dir, 'seg/notes.txt'), 'x'.repeat(5000));
    fs.copyFileSync(path.join(dir, 'wal/000009.log'), path.join(dir, 'wal/000007.log'));
    slowClock();
    const verified = new CapturedStream(true);
    expect((await verify({ dir }, { stdout: new CapturedStream(), stderr: verified })).exitCode).toBe(0);
    expect(frames(verified).at(-1)).toMatch(/ 100% /);
    const recovered = new CapturedStream(true);
    expect((await recover({ dir, out: path.join(scratch, 'recovered') }, { stdout: new CapturedStream(), stderr: recovered })).exitCode).toBe(0);
    expect(frames(recovered).at(-1)).toMatch(/ 100% /);
  });

  test('phases: each drawn under its own label from 0, closed at 100% by complete(); plain lines end each phase with a done line', () => {
    const stream = new CapturedStream(true);
    const time = clock();
    const progress = new Progress({ stream, label: 'verify d: checking files', total: 100, unit: 'bytes', enabled: true, now: time.now });
    time.advance(1000);
    progress.advance(100);
    progress.phase({ label: 'verify d: checking keyspace', total: 1000, unit: 'entries' });
    time.advance(1000);
    progress.advance(400);
    time.advance(10);
    progress.complete(); // an upper bound: the work ended at 400
    time.advance(10);
    progress.complete(); // already at 100%: not drawn again
    progress.finish();
    expect(frames(stream).map((frame) => frame.split(/ {2,}/).slice(0, 3).join(' | '))).toEqual([
      'verify d: checking files | [########################] | 100%',
      'verify d: checking keyspace | [........................] | 0%',
      'verify d: checking keyspace | [##########..............] | 40%',
      'verify d: checking keyspace | [########################] | 100%',
    ]);
    expect(frames(stream)[2]).toContain('400 entries/s');

    const plain = new CapturedStream(false);
    const plainTime = clock();
    const lines = new Progress({ stream: plain, label: 'a', total: 10, unit: 'records', enabled: true, now: plainTime.now, lineIntervalMs: 5000 });
    plainTime.advance(5000);
    lines.advance(10);
    lines.phase({ label: 'b', total: undefined, unit: 'entries' });
    plainTime.advance(5000);
    lines.advance(7);
    lines.finish();
    expect(plain.text.split('\n')).toEqual(['a: 100% (10 records of 10 records), 2 records/s', 'a: done, 10 records in 0:05', 'b: 7 entries, 1 entries/s', 'b: done, 7 entries in 0:05', '']);
  });

  test('verify of a keyspace: the files and then the keyspace, each ending at 100% under its label', async () => {
    const dir = path.join(scratch, 'keyspace');
    await writeSampleKeyspace(dir);
    slowClock();
    const stderr = new CapturedStream(true);
    const result = await verify({ dir }, { stdout: new CapturedStream(), stderr });
    expect(result.exitCode).toBe(0);
    const drawn = frames(stderr);
    const files = drawn.filter((frame) => frame.startsWith(`verify ${dir}: checking files  [`));
    const keyspace = drawn.filter((frame) => frame.startsWith(`verify ${dir}: checking keyspace  [`));
    expect(files.length + keyspace.length, 'every frame is one of the two phases').toBe(drawn.length);
    expect(files.at(-1)).toMatch(/ 100% /);
    expect(drawn.indexOf(files.at(-1)!)).toBeLessThan(drawn.indexOf(keyspace[0]!));
    expect(keyspace.at(-1)).toMatch(/ 100% .* entries\/s$/);
  });

  test('restore: the check of the segments, the reads of the WAL files and the replay, each under its label `restore CHECKPOINT: ...` and ending at 100%', async () => {
    const dir = path.join(scratch, 'restore-data');
    // A 4 KiB memtable flushes and archives a WAL file every few writes.
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } });
    const checkpointDir = path.join(engine.checkpointsDir, 'cp');
    let target = 0;
    try {
      const write = async (index: number): Promise<number> => (await engine.write(new WriteBatch().put(Buffer.from(`k${index % 40}`), Buffer.alloc(200, index)))).sequence;
      for (let index = 0; index < 40; index++) await write(index);
      await engine.checkpoint(checkpointDir);
      // The target lies in the middle of what follows: the reading of the records stops there.
      for (let index = 40; index < 120; index++) {
        const sequence = await write(index);
        if (index === 80) target = sequence;
      }
    } finally {
      await engine.close();
    }
    slowClock();
    const out = path.join(scratch, 'restored');
    const stderr = new CapturedStream(true);
    const options = { from: checkpointDir, archive: path.join(dir, 'archive'), wal: path.join(dir, 'wal'), to: `seq:${target}` };
    const result = await restore({ ...options, out }, { stdout: new CapturedStream(), stderr });
    expect(result.exitCode).toBe(0);
    expect(result.report!.records).toBe(41);
    const label = `restore ${checkpointDir}`;
    const [segments, , , replay] = expectPhases(stderr, [`${label}: checking segments`, `${label}: reading WAL files`, `${label}: reading records up to the target`, `${label}: replaying records into ${out}`]);
    expect(segments!.at(-1)).toMatch(/ 100% .* (B|KiB)\/s$/);
    expect(replay!.at(-1)).toMatch(/ 100% .* records\/s$/);

    // A dry run: the same phases but the replay.
    const dry = new CapturedStream(true);
    expect((await restore({ ...options, dryRun: true }, { stdout: new CapturedStream(), stderr: dry })).exitCode).toBe(0);
    expectPhases(dry, [`${label}: checking segments`, `${label}: reading WAL files`, `${label}: reading records up to the target`]);
  });

  test('recover: the salvage, then the check of its result as verify checks it, files and keyspace, each under its label and ending at 100%', async () => {
    const dir = path.join(scratch, 'recover-keyspace');
    await writeSampleKeyspace(dir);
    damageMetadataBlock(dir);
    slowClock();
    const stderr = new CapturedStream(true);
    const result = await recover({ dir, out: path.join(scratch, 'recover-keyspace-out') }, { stdout: new CapturedStream(), stderr });
    expect(result.exitCode).toBe(1); // the damaged block's keys are lost
    expect(result.report!.verify.healthy).toBe(true);
    const [, files, keyspace] = expectPhases(stderr, [`recover ${dir}`, `recover ${dir}: checking the result's files`, `recover ${dir}: checking the result's keyspace`]);
    expect(files!.at(-1)).toMatch(/ 100% .* (B|KiB|MiB)\/s$/);
    expect(keyspace!.at(-1)).toMatch(/ 100% .* entries\/s$/);
  });

  test('formatClock', () => {
    expect(formatClock(42_000)).toBe('0:42');
    expect(formatClock(3_723_000)).toBe('1:02:03');
  });
});
