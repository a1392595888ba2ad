// IteratorOptions.hiddenMax: iteratorSync().next() ends early once it has
// passed that many entries it does not return (tombstones, older versions;
// not versions past the snapshot), naming the last one in stoppedAfter; going
// on after it (before it, backwards), walk after walk, yields exactly what
// one unbounded walk yields.

import { describe, expect, it } from 'vitest';
import type { Entry, IteratorOptions } from '../../../lib/engine/engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { mulberry32 } from '../../support/crash-workload.js';

const key = (index: number): Buffer => Buffer.from(`k${String(index).padStart(4, '0')}`);

function walk(engine: LsmEngine, options: IteratorOptions): { entries: Entry[]; stoppedAfter: Buffer | undefined } {
  const iterator = engine.iteratorSync(options);
  const entries: Entry[] = [];
  try {
    for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) entries.push(entry);
    return { entries, stoppedAfter: iterator.stoppedAfter };
  } finally {
    iterator.close();
  }
}

describe('IteratorOptions.hiddenMax', () => {
  it('bounds the hidden entries a walk passes, and walks resumed after stoppedAfter add up to one unbounded walk', async () => {
    const engine = await LsmEngine.open('/db', { fs: new MemFileSystem(), syncPolicy: 'no', backgroundExecutor: 'inline' });
    try {
      const random = mulberry32(7);
      // Versions, overwrites and deletes, some flushed and some in the memtable, and a snapshot in between.
      for (let round = 0; round < 4; round++) {
        const batch = new WriteBatch();
        for (let index = 0; index < 300; index++) {
          const roll = random();
          if (roll < 0.4) batch.del(key(index));
          else if (roll < 0.8) batch.put(key(index), Buffer.from(`v${round}`));
        }
        await engine.write(batch);
        if (round === 1) await engine.flush();
      }
      const snapshot = engine.snapshot();
      await engine.write(new WriteBatch().put(key(5), Buffer.from('after the snapshot')).del(key(6)));
      const ranges: IteratorOptions[] = [{}, { snapshot }, { gte: key(100), lt: key(250) }];
      for (const base of [...ranges, ...ranges.map((range) => ({ ...range, reverse: true }))]) {
        const whole = walk(engine, base).entries;
        expect(walk(engine, base).stoppedAfter).toBeUndefined();
        for (const hiddenMax of [0, 1, 7, 50]) {
          const pieces: Entry[] = [];
          let after: Buffer | undefined;
          let walks = 0;
          do {
            const options: IteratorOptions = { ...base, hiddenMax };
            if (after !== undefined && base.reverse === true) {
              delete options.lte;
              options.lt = after;
            } else if (after !== undefined) {
              delete options.gte;
              options.gt = after;
            }
            const result = walk(engine, options);
            pieces.push(...result.entries);
            after = result.stoppedAfter;
            walks++;
          } while (after !== undefined && walks < 10_000);
          expect(pieces.map(([k, v]) => `${k.toString()}=${v.toString()}`)).toEqual(whole.map(([k, v]) => `${k.toString()}=${v.toString()}`));
          expect(whole.length).toBeGreaterThan(50);
          if (hiddenMax <= 7) expect(walks, `hiddenMax ${hiddenMax}`).toBeGreaterThan(1);
        }
      }
      snapshot.release();
    } finally {
      await engine.close();
    }
  });
});
