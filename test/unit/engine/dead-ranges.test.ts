// Dead ranges (lib/engine/dead-ranges.ts): a forward walk that starts in a
// stretch of deleted keys remembers it, and later walks seek past it. Checked
// against a Map model under random runs of puts and deletes, walks with every
// kind of bound at the newest sequence and at older snapshots, resumed walks
// (hiddenMax) and flushes; and the queue pattern it exists for: popping from
// the front no longer passes every tombstone of what was popped before.
// Runs: SILT_PROPERTY_RUNS (default 40 seeds).

import { describe, expect, it } from 'vitest';
import type { Entry, IteratorOptions, Snapshot } from '../../../lib/engine/engine.js';
import { DeadRanges } from '../../../lib/engine/dead-ranges.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { mulberry32 } from '../../support/crash-workload.js';

const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 40);
const b = (text: string): Buffer => Buffer.from(text, 'latin1');
const keyCount = 60;
const key = (index: number): string => `k${String(index).padStart(2, '0')}`;

function walk(engine: LsmEngine, options: IteratorOptions): Entry[] {
  const entries: Entry[] = [];
  let current = options;
  for (;;) {
    const iterator = engine.iteratorSync(current);
    try {
      for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) entries.push(entry);
      const after = iterator.stoppedAfter;
      if (after === undefined) return entries;
      current = { ...current, gt: after };
      delete current.gte;
      if (current.limit !== undefined) current.limit = options.limit! - entries.length;
    } finally {
      iterator.close();
    }
  }
}

function modelWalk(model: Map<string, string>, options: IteratorOptions): string[] {
  const inRange = [...model.keys()].sort().filter((name) => {
    if (options.gte !== undefined && name < options.gte.toString('latin1')) return false;
    if (options.gt !== undefined && name <= options.gt.toString('latin1')) return false;
    if (options.lt !== undefined && name >= options.lt.toString('latin1')) return false;
    return !(options.lte !== undefined && name > options.lte.toString('latin1'));
  });
  return (options.limit === undefined ? inRange : inRange.slice(0, options.limit)).map((name) => `${name}=${model.get(name)}`);
}

describe('DeadRanges', () => {
  it('skips a range, merges those that meet, drops one a write lands in, and ignores those newer than the reader', () => {
    const dead = new DeadRanges();
    dead.record(b('b'), b('d'), 10);
    dead.record(b('e'), b('f'), 12);
    expect(dead.size).toBe(2);
    expect(dead.skip(b('c'), 12)?.toString()).toBe('d');
    expect(dead.skip(b('e'), 11)).toBeUndefined(); // the second range is newer than the reader
    expect(dead.skip(b('c'), 9)).toBeUndefined();
    expect(dead.skip(b('a'), 20)).toBeUndefined();
    expect(dead.skip(b('d'), 20)).toBeUndefined(); // high is exclusive
    expect(dead.skip(b('f'), 20)).toBeUndefined();
    dead.record(b('c'), b('e'), 13); // meets both: merged with them, at the newest sequence
    expect(dead.size).toBe(1);
    expect(dead.skip(b('b'), 13)?.toString()).toBe('f');
    expect(dead.skip(b('b'), 12)).toBeUndefined();
    dead.record(b('f'), b('g'), 14); // touching: merged too
    expect(dead.size).toBe(1);
    expect(dead.skip(b('b'), 14)?.toString()).toBe('g');
    dead.written(b('a'));
    expect(dead.size).toBe(1);
    dead.written(b('d'));
    expect(dead.size).toBe(0);
    for (let index = 0; index < 100; index++) dead.record(b(key(index)), b(`${key(index)}~`), 1);
    expect(dead.size).toBeLessThanOrEqual(32);
    expect(dead.skip(b(key(99)), 1)?.toString()).toBe(`${key(99)}~`); // the most recent are kept
  });
});

describe('LsmEngine with dead ranges', () => {
  it.each([1, 4])('walks agree with a Map model under random deletes, snapshots and flushes (deadRangeHiddenMin %i)', async (hiddenMin) => {
    for (let seed = 1; seed <= runs; seed++) {
      const random = mulberry32(seed * 7919 + hiddenMin);
      const pick = (n: number): number => Math.floor(random() * n);
      const engine = await LsmEngine.open('/db', { fs: new MemFileSystem(), syncPolicy: 'no', backgroundExecutor: 'inline', memtableBytes: 64 * 1024, deadRangeHiddenMin: hiddenMin, disableAutoCompaction: true });
      const model = new Map<string, string>();
      const snapshots: { snapshot: Snapshot; model: Map<string, string> }[] = [];
      try {
        for (let step = 0; step < 150; step++) {
          const roll = random();
          if (roll < 0.3) {
            const batch = new WriteBatch();
            const from = pick(keyCount);
            const length = 1 + pick(12);
            for (let index = from; index < Math.min(keyCount, from + length); index++) {
              batch.put(b(key(index)), b(`v${step}`));
              model.set(key(index), `v${step}`);
            }
            await engine.write(batch);
          } else if (roll < 0.55) {
            // Deletes from the front more often: the queue pattern dead ranges exist for.
            const batch = new WriteBatch();
            const from = random() < 0.5 ? 0 : pick(keyCount);
            const length = 1 + pick(20);
            for (let index = from; index < Math.min(keyCount, from + length); index++) {
              batch.del(b(key(index)));
              model.delete(key(index));
            }
            await engine.write(batch);
          } else if (roll < 0.9) {
            const options: IteratorOptions = {};
            const low = pick(keyCount + 1);
            if (random() < 0.7) options[random() < 0.5 ? 'gte' : 'gt'] = b(random() < 0.2 ? 'k' : key(low));
            if (random() < 0.8) options[random() < 0.5 ? 'lt' : 'lte'] = b(key(low + pick(keyCount)));
            if (random() < 0.2) options.limit = 1 + pick(3);
            if (random() < 0.3) options.hiddenMax = pick(5);
            let view = model;
            if (snapshots.length > 0 && random() < 0.3) {
              const held = snapshots[pick(snapshots.length)]!;
              options.snapshot = held.snapshot;
              view = held.model;
            }
            const got = walk(engine, options).map(([name, value]) => `${name.toString('latin1')}=${value.toString('latin1')}`);
            expect(got, `seed ${seed} step ${step} ${JSON.stringify({ ...options, snapshot: options.snapshot?.sequence })}`).toEqual(modelWalk(view, options));
          } else if (roll < 0.95) {
            if (snapshots.length < 3 && random() < 0.6) snapshots.push({ snapshot: engine.snapshot(), model: new Map(model) });
            else snapshots.splice(pick(Math.max(1, snapshots.length)), 1)[0]?.snapshot.release();
          } else {
            await engine.flush();
          }
        }
      } finally {
        for (const held of snapshots) held.snapshot.release();
        await engine.close();
      }
    }
  });

  it('keeps a range whole when a walk with a nearer bound, or from inside it, passes over it again', async () => {
    const engine = await LsmEngine.open('/db', { fs: new MemFileSystem(), syncPolicy: 'no', backgroundExecutor: 'inline' });
    const q = (index: number): Buffer => b(`q${String(index).padStart(5, '0')}`);
    try {
      const puts = new WriteBatch();
      for (let index = 0; index < 10_000; index++) puts.put(q(index), b('v'));
      await engine.write(puts);
      const deletes = new WriteBatch();
      for (let index = 0; index < 9000; index++) deletes.del(q(index));
      await engine.write(deletes);
      const first = (options: IteratorOptions): { key: string | undefined; stopped: string | undefined } => {
        const iterator = engine.iteratorSync(options);
        try {
          return { key: iterator.next()?.[0].toString(), stopped: iterator.stoppedAfter?.toString() };
        } finally {
          iterator.close();
        }
      };
      expect(first({ gte: q(0) }).key).toBe('q09000'); // records [q00000, q09000)
      expect(first({ gte: q(0), lt: q(100) }).key).toBeUndefined(); // a nearer bound
      expect(first({ gte: q(5000) }).key).toBe('q09000'); // from inside
      expect(first({ gt: q(6000), lt: q(7000) }).key).toBeUndefined();
      // Still one range from the front: a walk from there passes none of the 9,000 tombstones.
      expect(first({ gte: q(0), hiddenMax: 100 })).toEqual({ key: 'q09000', stopped: undefined });
    } finally {
      await engine.close();
    }
  });

  it('pops from the front of a queue without passing the tombstones of earlier pops', async () => {
    const engine = await LsmEngine.open('/db', { fs: new MemFileSystem(), syncPolicy: 'no', backgroundExecutor: 'inline' });
    try {
      const batch = new WriteBatch();
      for (let index = 0; index < 2000; index++) batch.put(b(`q:${String(index).padStart(5, '0')}`), b('job'));
      await engine.write(batch);
      const range = { gte: b('q:'), lt: b('q;'), limit: 1 };
      for (let index = 0; index < 2000; index++) {
        // hiddenMax 40: a walk from the front that passed every earlier pop's tombstone would stop short.
        const iterator = engine.iteratorSync({ ...range, hiddenMax: 40 });
        const first = iterator.next();
        const stopped = iterator.stoppedAfter;
        iterator.close();
        expect(stopped, `pop ${index}`).toBeUndefined();
        expect(first?.[0].toString()).toBe(`q:${String(index).padStart(5, '0')}`);
        await engine.write(new WriteBatch().del(first![0]));
      }
      const rest = engine.iteratorSync(range);
      expect(rest.next()).toBeUndefined();
      rest.close();
    } finally {
      await engine.close();
    }
  });
});
