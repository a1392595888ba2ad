// Point-in-time restore across a write outage (a full disk).
//
// A batch refused after a failed WAL write keeps its sequence numbers, so the
// WAL file that resumes writing starts past a jump. Restore and verify take a
// jump for a lost WAL file unless the two files' numbers are adjacent; the
// engine keeps the number after each WAL file's for the file that takes over
// from it (LsmEngine #walResumeNumber), however many numbers failed retries
// use up meanwhile. Without it, a checkpoint from before an outage could not
// restore to any time after it, although no acknowledged write was missing.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { WriteStoppedError } from '../../../lib/errors.js';
import { systemError } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { listArchive } from '../../../lib/wal/wal-archive.js';
import { restore } from '../../../tools/restore.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { sleep, waitFor } from '../../support/engine-test-helpers.js';
import { captureIo, makeScratch, readEntries, removeScratch, runVerify } from './tool-test-helpers.js';

let scratch: string;
let dataDir: string;
let checkpointDir: string;
const model = new Map<string, string>();
let lastSequence = 0;
let refusedSequence = 0;

const keyOf = (index: number): Buffer => Buffer.from(`k${String(index % 25).padStart(2, '0')}`);

async function write(engine: LsmEngine, label: number): Promise<void> {
  const key = keyOf(label);
  const value = Buffer.alloc(200, label & 0xff);
  value.writeUInt32BE(label, 0);
  const result = await engine.write(new WriteBatch().put(key, value));
  model.set(key.toString('hex'), value.toString('hex'));
  lastSequence = result.sequence;
}

beforeAll(async () => {
  scratch = makeScratch('restore-outage');
  dataDir = path.join(scratch, 'data');
  const faults = new FaultFileSystem(new NodeFileSystem());
  const engine = await LsmEngine.open(dataDir, { fs: faults, backgroundExecutor: 'inline', syncPolicy: 'always', memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } });
  try {
    for (let label = 0; label < 30; label++) await write(engine, label);
    checkpointDir = path.join(engine.checkpointsDir, 'before-outage');
    await engine.checkpoint(checkpointDir);
    for (let label = 30; label < 45; label++) await write(engine, label);

    // The disk fills: every append fails, and so does the creation of a WAL file.
    const walDir = path.join(dataDir, 'wal');
    faults.injectFault((operation, file) =>
      file.startsWith(dataDir) && (operation === 'append' || operation === 'preallocate' || (operation === 'open' && file.startsWith(walDir))) ? systemError('ENOSPC', operation, file) : undefined,
    );
    const refused = engine.write(new WriteBatch().put(keyOf(0), Buffer.from('refused')).put(keyOf(1), Buffer.from('refused')));
    await expect(refused).rejects.toBeInstanceOf(WriteStoppedError);
    refusedSequence = lastSequence + 2;
    // Two retries fail to create the WAL file that would resume writing.
    await sleep(2300);
    expect(engine.stats().writeError).toMatch(/ENOSPC/);

    faults.injectFault(undefined);
    expect(await waitFor(() => engine.stats().writeError === undefined, 2500)).toBe(true);
    for (let label = 45; label < 80; label++) await write(engine, label);
    await engine.flush();
  } finally {
    faults.injectFault(undefined);
    await engine.close();
  }
});

afterAll(() => {
  removeScratch(scratch);
});

describe('restore across a full-disk outage', () => {
  test('the refused batch left a jump in sequence numbers, between WAL files of adjacent numbers', () => {
    const archived = listArchive(new NodeFileSystem(), dataDir).filter((file) => file.firstSequence !== undefined);
    const jumps = archived.slice(1).map((file, index) => ({ before: archived[index]!, after: file })).filter(({ before, after }) => after.firstSequence !== before.lastSequence! + 1);
    expect(jumps.map(({ before, after }) => [before.lastSequence, after.firstSequence])).toEqual([[refusedSequence - 2, refusedSequence + 1]]);
    expect(jumps[0]!.after.fileNumber).toBe(jumps[0]!.before.fileNumber + 1);
  });

  test('verify notes no archive gap', async () => {
    const { report } = await runVerify(dataDir);
    expect(report.problems.filter((problem) => problem.kind === 'archive-gap')).toEqual([]);
  });

  test('a checkpoint from before the outage restores to the last write after it', async () => {
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
