// Point-in-time restore across write outages (a full disk).
//
// A batch refused after a failed WAL write keeps its sequence numbers, and
// restore takes a jump between WAL files for a lost file unless their numbers
// are adjacent, which the retries of an outage (WAL creations, checkpoints,
// flushes) prevent. The WAL file that resumes writing therefore starts with a
// marker, a batch of no ops at the number after the last batch the WAL holds
// (LsmEngine #writeResumeMarker): the refused numbers lie inside that file.
// Without it, a checkpoint from before an outage could not restore to any
// time after it, although no acknowledged write was missing.
//
// The history: writes, a checkpoint, writes, an outage (two failed retries,
// a checkpoint that fails), writes, a second outage while the file that
// resumed after the first is still written, a close right after writing
// resumes (the resumed file holds only its marker), a reopen, writes.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EngineOptions } from '../../../lib/engine/engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { WriteStoppedError } from '../../../lib/errors.js';
import { systemError } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { listArchive } from '../../../lib/wal/wal-archive.js';
import { readWalFile } from '../../../lib/wal/wal-reader.js';
import { restore } from '../../../tools/restore.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { sleep, waitFor } from '../../support/engine-test-helpers.js';
import { captureIo, makeScratch, readEntries, removeScratch, runVerify } from './tool-test-helpers.js';

let scratch: string;
let dataDir: string;
let checkpointDir: string;
const model = new Map<string, string>();
let lastSequence = 0;
/** The last acknowledged sequence before each outage. */
const beforeOutage: number[] = [];

const keyOf = (index: number): Buffer => Buffer.from(`k${String(index % 25).padStart(2, '0')}`);

async function write(engine: LsmEngine, label: number): Promise<void> {
  const key = keyOf(label);
  const value = Buffer.alloc(200, label & 0xff);
  value.writeUInt32BE(label, 0);
  const result = await engine.write(new WriteBatch().put(key, value));
  model.set(key.toString('hex'), value.toString('hex'));
  lastSequence = result.sequence;
}

/** A full disk: appends fail, and so does making a WAL file; a refused two-op batch; retries that fail; healing. */
async function outage(engine: LsmEngine, faults: FaultFileSystem, retries: number): Promise<void> {
  beforeOutage.push(lastSequence);
  const walDir = path.join(dataDir, 'wal');
  faults.injectFault((operation, file) =>
    file.startsWith(dataDir) && (operation === 'append' || operation === 'preallocate' || (operation === 'open' && file.startsWith(walDir))) ? systemError('ENOSPC', operation, file) : undefined,
  );
  const refused = engine.write(new WriteBatch().put(keyOf(0), Buffer.from('refused')).put(keyOf(1), Buffer.from('refused')));
  await expect(refused).rejects.toBeInstanceOf(WriteStoppedError);
  // A checkpoint taken meanwhile fails, after it took a file number.
  await expect(engine.checkpoint(path.join(engine.checkpointsDir, `during-${beforeOutage.length}`))).rejects.toThrow(/ENOSPC/);
  await sleep(retries * 1000 + 300);
  expect(engine.stats().writeError).toMatch(/ENOSPC/);
  faults.injectFault(undefined);
  expect(await waitFor(() => engine.stats().writeError === undefined, 2500)).toBe(true);
}

beforeAll(async () => {
  scratch = makeScratch('restore-outage');
  dataDir = path.join(scratch, 'data');
  const faults = new FaultFileSystem(new NodeFileSystem());
  const options: EngineOptions = { fs: faults, backgroundExecutor: 'inline', syncPolicy: 'always', memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } };
  const engine = await LsmEngine.open(dataDir, options);
  try {
    for (let label = 0; label < 30; label++) await write(engine, label);
    checkpointDir = path.join(engine.checkpointsDir, 'before-outage');
    await engine.checkpoint(checkpointDir);
    for (let label = 30; label < 45; label++) await write(engine, label);
    await outage(engine, faults, 2);
    for (let label = 45; label < 47; label++) await write(engine, label);
    await outage(engine, faults, 1);
  } finally {
    faults.injectFault(undefined);
    await engine.close();
  }
  // The file that resumed after the second outage holds only its marker; the reopened engine goes on past it.
  const reopened = await LsmEngine.open(dataDir, options);
  try {
    for (let label = 47; label < 80; label++) await write(reopened, label);
    await reopened.flush();
  } finally {
    await reopened.close();
  }
});

afterAll(() => {
  removeScratch(scratch);
});

describe('restore across full-disk outages', () => {
  test('each resumed WAL file starts with a marker that continues from the last write before the outage', () => {
    const nodeFs = new NodeFileSystem();
    const files = listArchive(nodeFs, dataDir).filter((file) => file.firstSequence !== undefined);
    const markers: { file: number; sequence: number; next: number | undefined }[] = [];
    for (const file of files) {
      const batches: { sequence: number; ops: number }[] = [];
      readWalFile(nodeFs, file.path, { mode: 'readOnly', isNewest: false, onBatch: (batch) => batches.push({ sequence: batch.sequence, ops: batch.ops.length }) });
      for (const [index, batch] of batches.entries()) {
        if (batch.ops === 0) markers.push({ file: file.fileNumber, sequence: batch.sequence, next: batches[index + 1]?.sequence });
      }
    }
    // The refused two-op batch took the two numbers after the last acknowledged one; the marker takes the first.
    expect(markers.map(({ sequence, next }) => [sequence, next])).toEqual([
      [beforeOutage[0]! + 1, beforeOutage[0]! + 3],
      [beforeOutage[1]! + 1, undefined],
    ]);
    // Between files the sequence goes on without a break.
    for (const [index, file] of files.entries()) {
      if (index > 0) expect(file.firstSequence, `archive file ${file.fileNumber}`).toBe(files[index - 1]!.lastSequence! + 1);
    }
  });

  test('verify notes no archive gap', async () => {
    const { report } = await runVerify(dataDir);
    expect(report.problems.filter((problem) => problem.kind === 'archive-gap')).toEqual([]);
  });

  test('a checkpoint from before the outages restores to the last write after them', async () => {
    const out = path.join(scratch, 'restored');
    const { io, stderr } = captureIo();
    const result = await restore({ from: checkpointDir, archive: path.join(dataDir, 'archive'), wal: path.join(dataDir, 'wal'), to: `seq:${lastSequence}`, out }, io);
    expect(stderr.text).not.toMatch(/missing/);
    expect(result.exitCode).toBe(0);
    expect(result.report?.break).toBeNull();
    const sorted = [...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    expect(await readEntries(out)).toEqual(sorted);
    expect(fs.existsSync(path.join(out, 'UNFINISHED'))).toBe(false);
  });
});
