// A flush or compaction whose manifest sync fails keeps its outputs until a
// manifest that does not name them is current, even when an older version
// pinned by an iterator is released in between (its unref runs
// #deleteObsoleteFiles before the retry writes a new manifest) while CURRENT
// still names the manifest that may hold the edit.
import { describe, expect, it } from 'vitest';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { MemFileSystem, systemError } from '../../lib/fs/mem-file-system.js';
import { expectLsmReopenHolds, put, sleep, waitFor, type Model } from '../support/engine-test-helpers.js';

const dir = '/db';
const key = (index: number): string => `key${String(index).padStart(5, '0')}`;
const value = (k: string, round: number): string => `${k}@${round}:xxxxxxxxxxxxxxxxxxxx`;

describe('a compaction whose manifest sync fails, with an older version pinned', () => {
  it('keeps its outputs until a manifest without them is current', async () => {
    const fs = new MemFileSystem();
    const options = { fs, backgroundExecutor: 'inline' as const, memtableBytes: 4096, disableAutoCompaction: true, syncPolicy: 'always' as const };
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    let iterator: { close(): void } | undefined;
    try {
      for (let round = 0; round < 3; round++) {
        for (let index = 0; index < 50; index++) {
          const k = key(index);
          model.set(k, value(k, round));
          await put(engine, k, value(k, round));
        }
        await engine.flush();
        if (round === 1) iterator = engine.iteratorSync(); // pins the version of rounds 0-1
      }
      const segmentsBefore = new Set(fs.list(`${dir}/seg`));
      fs.injectFault((op, path) => (op === 'sync' && path.includes('/MANIFEST-') ? systemError('EIO', 'fdatasync', path) : undefined));
      await expect(engine.compactRange()).rejects.toThrow();
      const outputs = fs.list(`${dir}/seg`).filter((name) => !segmentsBefore.has(name));
      expect(outputs.length, 'the failed compaction wrote outputs').toBeGreaterThan(0);
      iterator!.close(); // unrefs an older version: #deleteObsoleteFiles runs before the retry
      iterator = undefined;
      await sleep(20); // removals run in the background
      const killed = fs.killClone();
      killed.unlink(`${dir}/LOCK`);
      expect.soft(outputs.filter((name) => !killed.exists(`${dir}/seg/${name}`)), 'outputs deleted while the manifest may name them').toEqual([]);
      await expectLsmReopenHolds(dir, killed, options, model, 'reopened on the manifest holding the compaction edit');
      // Once the retry has made a manifest from the version current, they are debris, and go.
      fs.injectFault(undefined);
      expect(await waitFor(() => outputs.every((name) => !fs.exists(`${dir}/seg/${name}`)), 5000), 'outputs deleted after the retry').toBe(true);
    } finally {
      iterator?.close();
      fs.injectFault(undefined);
      await engine.close();
    }
  });
});

describe('a flush whose manifest sync fails, with an older version pinned', () => {
  it('keeps its segment until a manifest without it is current', async () => {
    const fs = new MemFileSystem();
    const options = { fs, backgroundExecutor: 'inline' as const, memtableBytes: 1 << 20, disableAutoCompaction: true, syncPolicy: 'always' as const };
    const engine = await LsmEngine.open(dir, options);
    const model: Model = new Map();
    let iterator: { close(): void } | undefined;
    try {
      for (let round = 0; round < 2; round++) {
        for (let index = 0; index < 50; index++) {
          const k = key(index);
          model.set(k, value(k, round));
          await put(engine, k, value(k, round));
        }
        if (round === 0) {
          await engine.flush();
          iterator = engine.iteratorSync(); // pins the version after round 0
          await put(engine, 'other', 'x');
          model.set('other', 'x');
          await engine.flush(); // a newer version: the pinned one is no longer current
        }
      }
      const segmentsBefore = new Set(fs.list(`${dir}/seg`));
      fs.injectFault((op, path) => (op === 'sync' && path.includes('/MANIFEST-') ? systemError('EIO', 'fdatasync', path) : undefined));
      await expect(engine.flush()).rejects.toThrow();
      const outputs = fs.list(`${dir}/seg`).filter((name) => !segmentsBefore.has(name));
      expect(outputs.length, 'the failed flush wrote its segment').toBeGreaterThan(0);
      iterator!.close();
      iterator = undefined;
      await sleep(20);
      const killed = fs.killClone();
      killed.unlink(`${dir}/LOCK`);
      expect.soft(outputs.filter((name) => !killed.exists(`${dir}/seg/${name}`)), 'segment deleted while the manifest may name it').toEqual([]);
      await expectLsmReopenHolds(dir, killed, options, model, 'reopened on the manifest holding the flush edit');
    } finally {
      iterator?.close();
      fs.injectFault(undefined);
      await engine.close().catch(() => undefined);
    }
  });
});
