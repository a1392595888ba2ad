// Flushes and compactions let their thread's event loop run every few MiB of
// compressed blocks. lz4-napi's compressSync() returns external buffers that
// Node frees only from the event loop (lib/format/lz4.ts), so a job that
// never let it run held every block it had compressed until it returned: a
// compaction of the default server held hundreds of MiB, and lz4-napi's
// allocator kept the pages afterwards. V8's own accounting
// (process.memoryUsage().external) does not show that memory, and RSS is too
// noisy to test against: what is tested is the turns.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { runCompactionJob, runFlushJob, metaFrom } from '../../../lib/compaction/compactor.js';
import { SegmentWriter } from '../../../lib/segment/segment-writer.js';
import { segmentDir, segmentPath } from '../../../lib/format/file-names.js';
import { makeInternalKey, ValueType } from '../../../lib/format/internal-key.js';
import { Memtable } from '../../../lib/memtable/memtable.js';
import { lz4CompressedPendingBytesMax } from '../../../lib/format/lz4.js';
import type { SegmentMeta } from '../../../lib/manifest/segment-meta.js';

const root = mkdtempSync(join(tmpdir(), 'silt-compressed-release-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fs = new NodeFileSystem();
const MiB = 1024 * 1024;
/** Bytes of values each job writes: far above what it may hold. */
const jobBytes = 64 * MiB;
const valueBytes = 1000;

/** Random (incompressible) values: each block's compressed output is about as large as the block. */
function value(): Buffer {
  return randomFillSync(Buffer.allocUnsafe(valueBytes));
}

/** Runs `job` and counts the event-loop turns that ran before it finished. */
async function countTurns<T>(job: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await job();
  running = false;
  return { result, turns };
}

function newDir(name: string): string {
  const dir = join(root, name);
  fs.mkdir(dir);
  fs.mkdir(segmentDir(dir));
  return dir;
}

describe('compressed blocks are freed during a job, not after it', () => {
  it('flush: a turn every few MiB of compressed blocks', async () => {
    const dir = newDir('flush');
    const table = new Memtable();
    for (let index = 0; index < jobBytes / valueBytes; index++) table.add(index + 1, ValueType.put, Buffer.from(`key${String(index).padStart(9, '0')}`), value());
    const { result, turns } = await countTurns(() => runFlushJob(fs, { dir, fileNumber: 1, memtable: table.image(), createdMs: 0, smallestSnapshot: Number.MAX_SAFE_INTEGER }));
    expect(result.meta.fileBytes).toBeGreaterThan(jobBytes);
    // One at least every two lz4CompressedPendingBytesMax of output (the last stretch has none).
    expect(turns, 'event-loop turns during the job').toBeGreaterThanOrEqual(Math.floor(jobBytes / (2 * lz4CompressedPendingBytesMax)));
  });

  it('compaction: a turn every few MiB of compressed blocks', async () => {
    const dir = newDir('compaction');
    const inputs: SegmentMeta[] = [];
    let sequence = 1;
    for (let fileNumber = 1; fileNumber <= 2; fileNumber++) {
      const writer = new SegmentWriter(fs, segmentPath(dir, fileNumber));
      // Interleaved keys: the compaction merges the two files.
      for (let index = 0; index < jobBytes / valueBytes / 2; index++) {
        writer.add(makeInternalKey(Buffer.from(`key${String(2 * index + fileNumber).padStart(9, '0')}`), sequence++, ValueType.put), value());
      }
      inputs.push(metaFrom(fileNumber, 0, writer.finish()));
    }
    const job = {
      dir,
      inputs: [{ level: 0, files: inputs }],
      outputLevel: 1,
      deeperFiles: [],
      versionFiles: [],
      smallestSnapshot: sequence,
      segmentBytesTarget: 16 * MiB,
      outputFileNumbers: Array.from({ length: 16 }, (_, index) => 10 + index),
      filter: undefined,
      nowMs: 0,
    };
    const { result, turns } = await countTurns(() => runCompactionJob(fs, job));
    expect(result.bytesWritten).toBeGreaterThan(jobBytes);
    // One at least every two lz4CompressedPendingBytesMax of output (the last stretch has none).
    expect(turns, 'event-loop turns during the job').toBeGreaterThanOrEqual(Math.floor(jobBytes / (2 * lz4CompressedPendingBytesMax)));
  });
});
