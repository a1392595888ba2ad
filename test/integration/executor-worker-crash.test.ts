// WorkerExecutor (lib/compaction/executor.ts) when a worker thread dies: the
// jobs it owed are rejected, and only those. Its 'exit' event comes after
// its 'error', by which time a job may already run in the worker that
// replaced it; that job must go on and resolve.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerExecutor } from '../../lib/compaction/executor.js';
import type { CompactionJob } from '../../lib/compaction/compactor.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { readManifest } from '../../lib/manifest/manifest-reader.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-executor-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const support = new URL('../../dist/test/support/', import.meta.url);

describe('WorkerExecutor after a worker dies', () => {
  it("rejects the dead worker's jobs, and not those its successor took meanwhile", async () => {
    const dir = path.join(root, 'db');
    const engine = await LsmEngine.open(dir, { disableAutoCompaction: true });
    for (let round = 0; round < 2; round++) {
      const batch = new WriteBatch();
      for (let index = 0; index < 2000; index++) batch.put(Buffer.from(`k${index}`), Buffer.alloc(50, round));
      await engine.write(batch);
      await engine.flush();
    }
    await engine.close();
    const version = readManifest(new NodeFileSystem(), dir, { readOnly: true }).version;
    let nextNumber = 1000;
    const job = (module: string, options: object): CompactionJob => ({
      dir,
      inputs: [{ level: 0, files: [...version.levels[0]!] }],
      outputLevel: 1,
      deeperFiles: [],
      versionFiles: version.levels.map((files) => [...files]),
      smallestSnapshot: Number.MAX_SAFE_INTEGER,
      segmentBytesTarget: 1 << 30,
      outputFileNumbers: [nextNumber++, nextNumber++, nextNumber++],
      nowMs: Date.now(),
      filter: { module: new URL(module, support).pathname, options },
    });
    const executor = new WorkerExecutor();
    try {
      const outcome = (promise: Promise<unknown>): Promise<string> =>
        promise.then(
          () => 'resolved',
          (error: unknown) => `rejected: ${(error as Error).message}`,
        );
      // B arms a crash for the next module load in its worker. Once B is done, C loads one there and waits in
      // it when the worker dies; when C fails, D starts the next worker (which has nothing armed).
      const b = outcome(executor.compact(job('crashing-filter.js', { crashOnNextLoad: true })));
      expect(await b).toBe('resolved');
      let d: Promise<string> | undefined;
      const c = outcome(
        executor.compact(job('slow-loading-filter.js', {})).catch((error: unknown) => {
          d = outcome(executor.compact(job('slow-loading-filter.js', {})));
          throw error;
        }),
      );
      expect(await c).toMatch(/^rejected: worker crash \(test\)/);
      expect(d).toBeDefined();
      expect(await d).toBe('resolved');
    } finally {
      await executor.close();
    }
  });
});
