// `silt restore` from a checkpoint `silt checkpoint --out` made of a stopped
// directory, well after its last write: every time from that last write on
// is the checkpoint's own state, so restore accepts it (it refused every time
// before the copy was made, taking CHECKPOINT's time for the checkpoint's).
// The newest write the checkpoint holds is found in its own WAL files (a
// server opened and closed without writes left them ending in an empty file,
// so the walk from the checkpoint's newest WAL file never saw it), or in the
// archive below them (after a flush); when no file at hand holds it,
// CHECKPOINT's time stands in, and the refusal says so.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EngineOptions } from '../../../lib/engine/engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { checkpoint } from '../../../tools/checkpoint.js';
import { restore, type RestoreReport } from '../../../tools/restore.js';
import { listIn, summarizeWalFile } from '../../../tools/wal-scan.js';
import { captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

const engineOptions: EngineOptions = { backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } };

let scratch: string;

beforeAll(() => {
  scratch = makeScratch('restore-offline');
});

afterAll(() => {
  removeScratch(scratch);
});

async function waitPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Writes `count` batches of one put; @returns the time of the last one, as stamped (at most now) */
async function writeBatches(engine: LsmEngine, count: number, fill: number): Promise<number> {
  for (let index = 0; index < count; index++) await engine.write(new WriteBatch().put(Buffer.from(`k${index}`), Buffer.alloc(200, fill + index)));
  return Date.now();
}

interface Scenario {
  dir: string;
  checkpointDir: string;
  /** Just after the checkpoint's last write, before the copy was made. */
  afterLastWriteMs: number;
  /** CHECKPOINT's time: when the copy was made. */
  copiedMs: number;
}

/**
 * A directory written, then `between` (closed and opened again without writes, or flushed before
 * closing), checkpointed offline a while later, then written to again by a later session.
 */
async function scenario(name: string, between: 'reopen' | 'flush'): Promise<Scenario> {
  const dir = path.join(scratch, name);
  let engine = await LsmEngine.open(dir, engineOptions);
  const lastWriteMs = await writeBatches(engine, 30, 0);
  if (between === 'flush') await engine.flush();
  await engine.close();
  if (between === 'reopen') await (await LsmEngine.open(dir, engineOptions)).close();
  const afterLastWriteMs = lastWriteMs + 1;
  await waitPast(afterLastWriteMs + 20);
  const checkpointDir = path.join(scratch, `${name}.checkpoint`);
  const made = await checkpoint({ dir, out: checkpointDir, json: true }, captureIo().io);
  expect(made.exitCode).toBe(0);
  const copiedMs = made.report!.created!.timeMs;
  expect(copiedMs).toBeGreaterThan(afterLastWriteMs);
  await waitPast(copiedMs);
  engine = await LsmEngine.open(dir, engineOptions);
  await writeBatches(engine, 30, 100);
  await engine.close();
  return { dir, checkpointDir, afterLastWriteMs, copiedMs };
}

/** Batches in each of the checkpoint's WAL files, oldest first. */
function checkpointWalBatches(checkpointDir: string): number[] {
  return listIn(new NodeFileSystem(), path.join(checkpointDir, 'wal'), 'wal').map((ref, index, all) => summarizeWalFile(new NodeFileSystem(), ref, index === all.length - 1).batches);
}

async function dryRun(from: string, archive: string, to: string): Promise<{ exitCode: number; report: RestoreReport | undefined; stderr: string }> {
  const { io, stderr } = captureIo();
  const result = await restore({ from, archive, to, dryRun: true, json: true }, io);
  return { exitCode: result.exitCode, report: result.report, stderr: stderr.text };
}

describe('silt restore from an offline checkpoint', () => {
  test('a time after its last write but before the copy restores the checkpoint itself (its WAL ends in an empty file)', async () => {
    const { dir, checkpointDir, afterLastWriteMs } = await scenario('reopened', 'reopen');
    const batches = checkpointWalBatches(checkpointDir);
    expect(batches.at(-1)).toBe(0);
    expect(batches.some((count) => count > 0)).toBe(true);
    const result = await dryRun(checkpointDir, path.join(dir, 'archive'), new Date(afterLastWriteMs).toISOString());
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    const report = result.report!;
    expect(report.checkpoint.timeMs).not.toBeNull();
    expect(report.checkpoint.timeMs!).toBeLessThanOrEqual(afterLastWriteMs);
    expect(report.records).toBe(0);
    expect(report.restoredTo.sequence).toBe(report.checkpoint.sequence);

    // Before the last write it holds is still before the checkpoint.
    const before = await dryRun(checkpointDir, path.join(dir, 'archive'), new Date(report.checkpoint.timeMs! - 1).toISOString());
    expect(before.exitCode).toBe(2);
    expect(before.stderr).toContain('it is before the checkpoint');
  });

  test('the last write found in the archive below the checkpoint\'s WAL files (flushed before the copy); without it, CHECKPOINT\'s time stands in and the refusal says so', async () => {
    const { dir, checkpointDir, afterLastWriteMs, copiedMs } = await scenario('flushed', 'flush');
    expect(checkpointWalBatches(checkpointDir).every((count) => count === 0)).toBe(true);
    const target = new Date(afterLastWriteMs).toISOString();
    const result = await dryRun(checkpointDir, path.join(dir, 'archive'), target);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.report!.checkpoint.timeMs!).toBeLessThanOrEqual(afterLastWriteMs);
    expect(result.report!.records).toBe(0);

    // An archive pruned of the files up to the checkpoint's: nothing tells when its last write was.
    const pruned = path.join(scratch, 'pruned-archive');
    fs.mkdirSync(pruned);
    const checkpointWal = fs.readdirSync(path.join(checkpointDir, 'wal')).sort().at(-1)!;
    for (const name of fs.readdirSync(path.join(dir, 'archive'))) if (name >= checkpointWal) fs.copyFileSync(path.join(dir, 'archive', name), path.join(pruned, name));
    const refused = await dryRun(checkpointDir, pruned, target);
    expect(refused.exitCode).toBe(2);
    expect(refused.report).toBeUndefined();
    expect(refused.stderr).toContain(`it is before the checkpoint (${new Date(copiedMs).toISOString()}`);
    expect(refused.stderr).toContain('the time CHECKPOINT records, when the copy was made, stands in for it');
  });
});
