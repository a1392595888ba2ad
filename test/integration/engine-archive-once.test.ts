// With the WAL archive on, each flushed WAL file is archived exactly once:
// the flush's own retirement used to archive the file a second time after
// #deleteObsoleteFiles (run when the flush's version was installed) had moved
// it, and the server logged "Cannot archive WAL file ... already exists" on
// every flush.

import { describe, expect, it } from 'vitest';
import type { EngineLogger } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { MemFileSystem } from '../../lib/fs/mem-file-system.js';
import { put } from '../support/engine-test-helpers.js';

describe('WAL archive', () => {
  it('archives each flushed WAL file once, with no warning', async () => {
    const dir = '/db';
    const fs = new MemFileSystem();
    const warnings: { object: object; message: string }[] = [];
    const logger: EngineLogger = { info: () => undefined, warn: (object, message) => void warnings.push({ object, message }), error: (object, message) => void warnings.push({ object, message }) };
    const engine = await LsmEngine.open(dir, { fs, backgroundExecutor: 'inline', memtableBytes: 4096, walArchive: { ageMs: 24 * 3_600_000, bytesMax: 0 }, logger });
    try {
      for (let round = 0; round < 5; round++) {
        for (let index = 0; index < 10; index++) await put(engine, `k-${round}-${index}`, `value-${round}-${index}`.padEnd(200, '.'));
        await engine.flush();
      }
    } finally {
      await engine.close();
    }
    const archived = fs.list(`${dir}/archive`).filter((name) => name.endsWith('.log'));
    expect(archived.length).toBeGreaterThanOrEqual(5);
    expect(warnings.map(({ object, message }) => `${message}: ${String((object as { err?: Error }).err?.message)}`)).toEqual([]);
  });
});
