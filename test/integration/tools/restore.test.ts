// Point-in-time restore. An LsmEngine runs with the WAL archive on (no age or
// size limit) and a 4 KiB memtable, so WAL files are flushed and archived
// every few writes. After some writes it takes a checkpoint; then it writes a
// known history, one batch at a time, recording after each batch the
// sequence it got, a wall-clock instant strictly between that batch's WAL
// time and the next one's, and the model state (a Map). Restoring the
// checkpoint to each chosen instant, or sequence, must yield exactly the
// model's state at that point, key by key. A missing archived file between
// the checkpoint and the target is refused with the reachable range; nothing
// the tool reads is modified.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { listArchive, type ArchivedWalFile } from '../../../lib/wal/wal-archive.js';
import { readWalFile } from '../../../lib/wal/wal-reader.js';
import type { WalBatch } from '../../../lib/wal/wal-format.js';
import { WalWriter } from '../../../lib/wal/wal-writer.js';
import { systemError } from '../../../lib/fs/mem-file-system.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { writeUnfinishedMarker } from '../../../lib/format/unfinished-marker.js';
import { parseTarget, restore, type RestoreOptions } from '../../../tools/restore.js';
import { verify } from '../../../tools/verify.js';
import { captureIo, hashTree, makeScratch, readEntries, removeScratch } from './tool-test-helpers.js';

interface Moment {
  /** Sequence of the batch's last op. */
  sequence: number;
  /** An instant after this batch's WAL time and before the next batch's. */
  afterMs: number;
  /** Ops in the batch. */
  ops: number;
  state: Map<string, string>;
}

const keyCount = 40;
const historyWrites = 200;

let scratch: string;
let dataDir: string;
let checkpointDir: string;
let checkpointSequence: number;
let checkpointAfterMs: number;
let checkpointState: Map<string, string>;
const moments: Moment[] = [];
let sourceHashes: Record<string, string>;
let outputs = 0;

/** A seeded generator, so every run writes the same history. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const keyOf = (index: number): Buffer => Buffer.from(`k${String(index).padStart(2, '0')}`);

async function waitPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function writeRandomBatch(engine: LsmEngine, model: Map<string, string>, next: () => number, label: number): Promise<{ sequence: number; ops: number }> {
  const batch = new WriteBatch();
  const opCount = 1 + Math.floor(next() * 3);
  for (let op = 0; op < opCount; op++) {
    const key = keyOf(Math.floor(next() * keyCount));
    if (next() < 0.3) {
      batch.del(key);
      model.delete(key.toString('hex'));
    } else {
      // Binary values of 60..250 bytes: a few writes fill the 4 KiB memtable.
      const value = Buffer.alloc(60 + Math.floor(next() * 190), label & 0xff);
      value.writeUInt32BE(label, 0);
      value[4] = 0x00;
      value[5] = 0xff;
      batch.put(key, value);
      model.set(key.toString('hex'), value.toString('hex'));
    }
  }
  const result = await engine.write(batch);
  return { sequence: result.sequence, ops: opCount };
}

beforeAll(async () => {
  scratch = makeScratch('restore');
  dataDir = path.join(scratch, 'data');
  const engine = await LsmEngine.open(dataDir, { backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } });
  const next = random(20240102);
  const model = new Map<string, string>();
  try {
    for (let index = 0; index < 30; index++) await writeRandomBatch(engine, model, next, index);
    checkpointDir = path.join(engine.checkpointsDir, 'cp1');
    const info = await engine.checkpoint(checkpointDir);
    checkpointSequence = info.sequence;
    checkpointAfterMs = Date.now();
    checkpointState = new Map(model);
    await waitPast(checkpointAfterMs);
    for (let index = 0; index < historyWrites; index++) {
      const written = await writeRandomBatch(engine, model, next, 1000 + index);
      const afterMs = Date.now();
      moments.push({ sequence: written.sequence, afterMs, ops: written.ops, state: new Map(model) });
      await waitPast(afterMs);
    }
  } finally {
    await engine.close();
  }
  sourceHashes = hashTree(dataDir);
});

afterAll(() => {
  removeScratch(scratch);
});

function sortedEntries(state: Map<string, string>): [string, string][] {
  return [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** ms -> ISO 8601 at a fixed offset from UTC ("...+02:00"). */
function isoAtOffset(ms: number, offsetMinutes: number): string {
  const sign = offsetMinutes < 0 ? '-' : '+';
  const absolute = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(absolute / 60)).padStart(2, '0')}:${String(absolute % 60).padStart(2, '0')}`;
  return new Date(ms + offsetMinutes * 60_000).toISOString().replace('Z', offset);
}

async function runRestore(options: Partial<RestoreOptions> & { to: string }): Promise<{ exitCode: number; out: string; stdout: string; stderr: string; report: Awaited<ReturnType<typeof restore>>['report'] }> {
  const out = options.out ?? path.join(scratch, `restored-${outputs++}`);
  const { io, stdout, stderr } = captureIo();
  const result = await restore({ from: checkpointDir, archive: path.join(dataDir, 'archive'), wal: path.join(dataDir, 'wal'), ...options, out }, io);
  return { exitCode: result.exitCode, out, stdout: stdout.text, stderr: stderr.text, report: result.report };
}

/** The restored directory holds exactly `state`: the same entries, and get() agrees for every key ever written. */
async function expectState(out: string, state: Map<string, string>): Promise<void> {
  expect(await readEntries(out)).toEqual(sortedEntries(state));
  const engine = await LsmEngine.open(out, { readOnly: true });
  try {
    for (let index = 0; index < keyCount; index++) {
      const key = keyOf(index);
      expect(engine.get(key)?.toString('hex'), key.toString()).toBe(state.get(key.toString('hex')));
    }
  } finally {
    await engine.close();
  }
}

function archivedAfterCheckpoint(): ArchivedWalFile[] {
  return listArchive(new NodeFileSystem(), dataDir).filter((file) => file.lastSequence !== undefined && file.lastSequence > checkpointSequence);
}

describe('silt restore (point in time)', () => {
  test('the run archived several WAL files holding the history after the checkpoint', () => {
    expect(archivedAfterCheckpoint().length).toBeGreaterThanOrEqual(4);
    expect(moments[0]!.sequence).toBeGreaterThan(checkpointSequence);
  });

  test.each([0, 17, 63, 101, 150, historyWrites - 1])('to the instant after write %i (ISO 8601 at +02:00) yields the model state then', async (index) => {
    const moment = moments[index]!;
    const to = isoAtOffset(moment.afterMs, 120);
    const run = await runRestore({ to, json: true });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(run.report!.target).toEqual({ given: to, kind: 'time', timeUtc: new Date(moment.afterMs).toISOString(), sequence: null });
    expect(run.report!.records).toBe(index + 1);
    expect(run.report!.restoredTo.sequence).toBe(moment.sequence);
    await expectState(run.out, moment.state);
    expect((await verify({ dir: run.out }, captureIo().io)).exitCode).toBe(0);
  });

  test.each([5, 42, 133, historyWrites - 1])('to seq:N, the last sequence of write %i, yields the model state then', async (index) => {
    const moment = moments[index]!;
    const run = await runRestore({ to: `seq:${moment.sequence}` });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`Result: ${run.out} holds the state at`);
    expect(run.stdout).toContain(`(seq ${moment.sequence})`);
    await expectState(run.out, moment.state);
  });

  test('to the checkpoint itself (by time and by sequence) replays nothing', async () => {
    const byTime = await runRestore({ to: isoAtOffset(checkpointAfterMs, 0), json: true });
    expect(byTime.exitCode).toBe(0);
    expect(byTime.report!.records).toBe(0);
    await expectState(byTime.out, checkpointState);
    const bySequence = await runRestore({ to: `seq:${checkpointSequence}` });
    expect(bySequence.exitCode).toBe(0);
    await expectState(bySequence.out, checkpointState);
  });

  test('a sequence inside a batch restores the state just before that batch, and says so', async () => {
    const index = moments.findIndex((moment, position) => position > 0 && moment.ops >= 2);
    const moment = moments[index]!;
    const run = await runRestore({ to: `seq:${moment.sequence - 1}`, json: true });
    expect(run.exitCode).toBe(0);
    expect(run.report!.warnings.join('\n')).toContain('falls inside the batch');
    await expectState(run.out, moments[index - 1]!.state);
  });

  test('the time is echoed back in UTC whatever offset it was given in', async () => {
    const moment = moments[63]!;
    const west = await runRestore({ to: isoAtOffset(moment.afterMs, -5 * 60 - 30) });
    expect(west.exitCode).toBe(0);
    expect(west.stdout).toContain(`Target: ${new Date(moment.afterMs).toISOString()} (given as ${isoAtOffset(moment.afterMs, -330)})`);
    await expectState(west.out, moment.state);
  });

  test('--dry-run counts the records and lists the keys that would change, writing nothing', async () => {
    const moment = moments[101]!;
    const out = path.join(scratch, 'dry-run-out');
    const { io, stdout } = captureIo();
    const result = await restore({ from: checkpointDir, archive: path.join(dataDir, 'archive'), wal: path.join(dataDir, 'wal'), to: `seq:${moment.sequence}`, out, dryRun: true, json: true }, io);
    expect(result.exitCode).toBe(0);
    expect(fs.existsSync(out)).toBe(false);
    const report = result.report!;
    expect(report.records).toBe(102);
    const expected: { key: string; change: string }[] = [];
    for (const key of [...new Set([...checkpointState.keys(), ...moment.state.keys()])].sort()) {
      const before = checkpointState.get(key);
      const after = moment.state.get(key);
      if (before === after) continue;
      expected.push({ key, change: before === undefined ? 'added' : after === undefined ? 'deleted' : 'changed' });
    }
    expect(report.changes!.keys.map(({ key, change }) => ({ key, change }))).toEqual(expected);
    // Raw engine keys (no database table): shown as they are.
    expect(report.changes!.keys.every((key) => key.decoded.kind === 'other')).toBe(true);
    expect(report.changes!.added + report.changes!.changed + report.changes!.deleted).toBe(expected.length);
    expect(JSON.parse(stdout.text)).toMatchObject({ dryRun: true, records: 102 });
  });

  test('a gap in the archive is refused with the range it can reach, and nothing is written', async () => {
    const gapArchive = path.join(scratch, 'archive-with-gap');
    fs.cpSync(path.join(dataDir, 'archive'), gapArchive, { recursive: true });
    const files = archivedAfterCheckpoint();
    const removed = files[2]!;
    const before = files[1]!;
    fs.rmSync(path.join(gapArchive, path.basename(removed.path)));
    const last = moments[historyWrites - 1]!;
    const out = path.join(scratch, 'gap-out');
    const { io, stderr, stdout } = captureIo();
    const result = await restore({ from: checkpointDir, archive: gapArchive, wal: path.join(dataDir, 'wal'), to: isoAtOffset(last.afterMs, 60), out, json: true }, io);
    expect(result.exitCode).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
    expect(stderr.text).toContain(`the records of sequence ${before.lastSequence! + 1}..${removed.lastSequence!} are missing`);
    expect(stderr.text).toContain(`reach ${new Date(checkpointTimeOf()).toISOString()}`);
    expect(stderr.text).toContain(`to ${new Date(before.lastTimeMs!).toISOString()} (seq ${before.lastSequence})`);
    expect(JSON.parse(stdout.text)).toMatchObject({ ok: false, error: { code: 'GAP' } });

    // A time before the gap is still reachable, when a later record inside the reachable range ends it.
    const reachable = moments.filter((moment) => moment.sequence < before.lastSequence!).at(-1)!;
    const ok = await runRestore({ archive: gapArchive, to: isoAtOffset(reachable.afterMs, 0) });
    expect(ok.exitCode).toBe(0);
    await expectState(ok.out, reachable.state);
    // The last sequence before the gap is reachable too; the instant after it is not: the missing
    // records might be stamped with that same millisecond.
    const edge = moments.find((moment) => moment.sequence === before.lastSequence)!;
    const bySequence = await runRestore({ archive: gapArchive, to: `seq:${edge.sequence}` });
    expect(bySequence.exitCode).toBe(0);
    await expectState(bySequence.out, edge.state);
    const byTime = await runRestore({ archive: gapArchive, to: isoAtOffset(edge.afterMs, 0) });
    expect(byTime.exitCode).toBe(1);
    expect(fs.existsSync(byTime.out)).toBe(false);
    // The message says why a time it lists as reached is refused, and what to pass instead.
    expect(byTime.stderr).toContain(`to ${new Date(before.lastTimeMs!).toISOString()} (seq ${before.lastSequence}).`);
    expect(byTime.stderr).toContain(`no time from ${new Date(before.lastTimeMs!).toISOString()} on can be restored: --to seq:${before.lastSequence} restores the state after the last record before the break`);
  });

  test('seq:C, the checkpoint\'s own sequence, restores even when the file right after the checkpoint is missing', async () => {
    const gapArchive = path.join(scratch, 'archive-gap-after-checkpoint');
    fs.cpSync(path.join(dataDir, 'archive'), gapArchive, { recursive: true });
    fs.rmSync(path.join(gapArchive, path.basename(archivedAfterCheckpoint()[0]!.path)));
    const { io } = captureIo();
    const out = path.join(scratch, 'at-checkpoint');
    const result = await restore({ from: checkpointDir, archive: gapArchive, to: `seq:${checkpointSequence}`, out }, io);
    expect(result.exitCode).toBe(0);
    await expectState(out, checkpointState);
    // One past it needs the missing records.
    const past = await restore({ from: checkpointDir, archive: gapArchive, to: `seq:${checkpointSequence + 1}`, out: path.join(scratch, 'past-checkpoint') }, captureIo().io);
    expect(past.exitCode).toBe(1);
  });

  test('an --out left unfinished by an earlier run (a full disk) is named as such', async () => {
    const out = path.join(scratch, 'left-unfinished');
    fs.mkdirSync(path.join(out, 'seg'), { recursive: true });
    writeUnfinishedMarker(new NodeFileSystem(), out, 'restore');
    const run = await runRestore({ to: `seq:${checkpointSequence}`, out });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/it is the unfinished output of silt restore, started \S+ by process \d+ on host "[^"]*", which stopped before it was done \(a full disk, say\); delete it, or give a new directory/);
  });

  test('a checkpoint with a damaged segment block is refused (exit 1, CORRUPTION) and nothing is written', async () => {
    const damaged = path.join(scratch, 'damaged-checkpoint');
    fs.cpSync(checkpointDir, damaged, { recursive: true });
    const segment = fs.readdirSync(path.join(damaged, 'seg')).find((name) => name.endsWith('.sst'))!;
    const file = path.join(damaged, 'seg', segment);
    const bytes = fs.readFileSync(file);
    bytes[10] = bytes[10]! ^ 0xff; // inside the first data block, which opening the checkpoint never reads
    fs.writeFileSync(file, bytes);
    const out = path.join(scratch, 'damaged-checkpoint-out');
    const { io, stderr, stdout } = captureIo();
    const last = moments[historyWrites - 1]!;
    const result = await restore({ from: damaged, archive: path.join(dataDir, 'archive'), wal: path.join(dataDir, 'wal'), to: isoAtOffset(last.afterMs, 0), out, json: true }, io);
    expect(result.exitCode).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
    expect(stderr.text).toContain(`its segment ${segment} is damaged at offset 0`);
    expect(JSON.parse(stdout.text)).toMatchObject({ ok: false, error: { code: 'CORRUPTION' } });
  });

  test('with no record past the checkpoint, the warning gives the checkpoint\'s time, as the result line does', async () => {
    const emptyArchive = path.join(scratch, 'empty-archive');
    fs.mkdirSync(emptyArchive);
    const { io, stdout } = captureIo();
    const out = path.join(scratch, 'checkpoint-only');
    const result = await restore({ from: checkpointDir, archive: emptyArchive, to: isoAtOffset(moments.at(-1)!.afterMs + 60_000, 0), out }, io);
    expect(result.exitCode, stdout.text).toBe(0);
    const warning = stdout.text.split('\n').find((line) => line.includes('No record later than'))!;
    expect(warning).not.toContain('time unknown');
    const resultLine = stdout.text.split('\n').find((line) => line.startsWith('Result:'))!;
    const newest = /the newest is (.+?) \(seq (\d+)\)/.exec(warning)!;
    expect(resultLine).toContain(`${newest[1]} (seq ${newest[2]})`);
  });

  test('without --wal, a time after the archive restores the newest archived state and warns', async () => {
    const archivedUpTo = Math.max(...archivedAfterCheckpoint().map((file) => file.lastSequence!));
    const expected = moments.find((moment) => moment.sequence === archivedUpTo)!;
    const { io, stdout } = captureIo();
    const out = path.join(scratch, 'archive-only');
    const result = await restore({ from: checkpointDir, archive: path.join(dataDir, 'archive'), to: isoAtOffset(moments.at(-1)!.afterMs + 60_000, 0), out }, io);
    expect(result.exitCode).toBe(0);
    expect(stdout.text).toContain('warning: No record later than');
    expect(stdout.text).toContain('pass --wal DIR/wal');
    await expectState(out, expected.state);
  });

  test('targets outside the history are refused (exit 2) and nothing is written', async () => {
    const early = await runRestore({ to: isoAtOffset(checkpointAfterMs - 3_600_000, 0) });
    expect(early.exitCode).toBe(2);
    expect(early.stderr).toContain('before the checkpoint');
    const earlySequence = await runRestore({ to: `seq:${checkpointSequence - 1}` });
    expect(earlySequence.exitCode).toBe(2);
    const beyond = await runRestore({ to: `seq:${moments.at(-1)!.sequence + 100}` });
    expect(beyond.exitCode).toBe(2);
    expect(beyond.stderr).toContain('the newest record given is sequence');
    for (const run of [early, earlySequence, beyond]) expect(fs.existsSync(run.out)).toBe(false);
  });

  test('refuses to write the output inside the data directory it reads the archive from', async () => {
    const run = await runRestore({ to: `seq:${checkpointSequence}`, out: path.join(dataDir, 'restored') });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('never modifies');
    expect(fs.existsSync(path.join(dataDir, 'restored'))).toBe(false);
  });

  test('usage errors exit 2: no offset, sub-millisecond precision, no --out', async () => {
    const noOffset = await runRestore({ to: '2024-01-02T03:04:05' });
    expect(noOffset.exitCode).toBe(2);
    expect(noOffset.stderr).toContain('add an offset');
    const micro = await runRestore({ to: '2024-01-02T03:04:05.123456Z' });
    expect(micro.exitCode).toBe(2);
    expect(micro.stderr).toContain('millisecond precision');
    const { io, stderr } = captureIo();
    expect((await restore({ from: checkpointDir, archive: path.join(dataDir, 'archive'), to: 'seq:1' }, io)).exitCode).toBe(2);
    expect(stderr.text).toContain('--out');
  });

  test('parseTarget reads ISO 8601 with any offset at millisecond precision, and seq:N', () => {
    expect(parseTarget('2024-01-02T03:04:05.123Z')).toMatchObject({ kind: 'time', timeMs: Date.UTC(2024, 0, 2, 3, 4, 5, 123) });
    expect(parseTarget('2024-01-02T05:04:05.1+02:00')).toMatchObject({ kind: 'time', timeMs: Date.UTC(2024, 0, 2, 3, 4, 5, 100) });
    expect(parseTarget('2024-01-01T22:04+0500')).toMatchObject({ kind: 'time', timeMs: Date.UTC(2024, 0, 1, 17, 4) });
    expect(parseTarget('seq:42')).toMatchObject({ kind: 'sequence', sequence: 42 });
    expect(() => parseTarget('2024-02-30T00:00:00Z')).toThrow('no such date');
    expect(() => parseTarget('yesterday')).toThrow('expected seq:N');
  });

  test('a live WAL file the server archives while restore reads it is read from the archive; with no archive, the message says what to do', async () => {
    const copies = path.join(scratch, 'moving');
    const archiveCopy = path.join(copies, 'archive');
    const walCopy = path.join(copies, 'wal');
    fs.cpSync(path.join(dataDir, 'archive'), archiveCopy, { recursive: true });
    fs.cpSync(path.join(dataDir, 'wal'), walCopy, { recursive: true });
    // The live file holds the newest records; the server flushes and archives it between restore's
    // listing and its read (the archive had no copy of it yet).
    const live = fs.readdirSync(walCopy).sort();
    expect(live.length).toBeGreaterThanOrEqual(1);
    const moving = live[0]!;
    fs.rmSync(path.join(archiveCopy, moving), { force: true });
    const server = (faults: FaultFileSystem, archiveTo: string | undefined): void =>
      faults.injectFault((operation, file) => {
        if (operation !== 'open' || file !== path.join(walCopy, moving)) return undefined;
        if (archiveTo === undefined) fs.rmSync(file);
        else fs.renameSync(file, path.join(archiveTo, moving));
        faults.injectFault(undefined);
        return systemError('ENOENT', 'open', file);
      });
    const faults = new FaultFileSystem(new NodeFileSystem());
    server(faults, archiveCopy);
    const last = moments[historyWrites - 1]!;
    const run = await runRestore({ archive: archiveCopy, wal: walCopy, to: `seq:${last.sequence}`, fs: faults });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    await expectState(run.out, last.state);

    // Without --archive the file is gone for good: run again, with the archive.
    fs.renameSync(path.join(archiveCopy, moving), path.join(walCopy, moving));
    server(faults, undefined);
    const { io, stderr } = captureIo();
    const gone = await restore({ from: checkpointDir, wal: walCopy, to: `seq:${last.sequence}`, out: path.join(scratch, 'moving-out'), fs: faults }, io);
    expect(gone.exitCode).toBe(2);
    expect(stderr.text).toContain(`WAL file "wal/${moving}" went away while restore read it (the server flushed it); give --archive DIR/archive, where a server with the archive on keeps it, and run restore again`);
  });

  test('an archive of another database is refused: its file of the checkpoint\'s newest WAL number is not the file the checkpoint copied', async () => {
    const foreign = path.join(scratch, 'foreign-archive');
    fs.cpSync(path.join(dataDir, 'archive'), foreign, { recursive: true });
    const number = Math.max(...fs.readdirSync(path.join(checkpointDir, 'wal')).map((name) => Number.parseInt(name, 10)));
    const name = `${String(number).padStart(6, '0')}.log`;
    expect(fs.existsSync(path.join(foreign, name)), 'the archive holds the checkpoint\'s newest WAL file').toBe(true);
    // Another server's file of that number: the same sequences and times, other values.
    const batches: WalBatch[] = [];
    readWalFile(new NodeFileSystem(), path.join(foreign, name), { mode: 'readOnly', isNewest: false, onBatch: (batch) => batches.push({ ...batch, ops: batch.ops.map((op) => (op.type === 'put' ? { ...op, key: Buffer.from(op.key), value: Buffer.from(`other-${op.value.length}`) } : { ...op, key: Buffer.from(op.key) })) }) });
    fs.rmSync(path.join(foreign, name));
    const wal = WalWriter.create(new NodeFileSystem(), path.join(foreign, name), number, { syncPolicy: 'no' });
    for (const batch of batches) void wal.appendBatch(batch.sequence, batch.timeMs, batch.ops);
    await wal.close();
    const last = moments[historyWrites - 1]!;
    const run = await runRestore({ archive: foreign, to: `seq:${last.sequence}` });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`"foreign-archive/${name}" is not the WAL file the checkpoint copied as wal/${name} (their records differ): the archive or WAL directory given belongs to another database`);
    expect(fs.existsSync(run.out)).toBe(false);
  });

  test('restore modified none of its inputs: the data directory, its archive, WAL and checkpoint', () => {
    expect(hashTree(dataDir)).toEqual(sourceHashes);
  });
});

/** The time of the checkpoint's last batch, as restore reports the start of the reachable range. */
function checkpointTimeOf(): number {
  const files = listArchive(new NodeFileSystem(), dataDir).filter((file) => file.firstSequence !== undefined && file.firstSequence <= checkpointSequence && file.lastSequence! >= checkpointSequence);
  expect(files.length).toBe(1);
  return readBatchTime(files[0]!.path, checkpointSequence);
}

/** The WAL time of the batch ending at `sequence` in the file at `walFile`. */
function readBatchTime(walFile: string, sequence: number): number {
  let time: number | undefined;
  readWalFile(new NodeFileSystem(), walFile, {
    mode: 'strict',
    isNewest: false,
    onBatch: (batch) => {
      if (batch.sequence + batch.ops.length - 1 === sequence) time = batch.timeMs;
    },
  });
  expect(time).toBeDefined();
  return time!;
}
