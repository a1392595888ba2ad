// Bounded iterators over an active memtable full of pending keys (written
// but not yet ordered into its tree): only the keys within the bounds are
// ordered when the iterator is made, so every bound form (gt, gte, lt, lte,
// reverse, limit, cursorSync) must still see exactly the model's keys, with
// writes going on between and during scans.

import { describe, expect, it } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { mulberry32 } from '../../support/crash-workload.js';
import type { IteratorOptions } from '../../../lib/engine/engine.js';

const seed = Number(process.env.SILT_RANGED_SEED ?? Date.now() % 1_000_000);
const name = (n: number): string => `k${String(n).padStart(5, '0')}`;

describe(`bounded scans over pending memtable keys (seed ${seed})`, () => {
  it('see exactly the keys in their bounds', async () => {
    const random = mulberry32(seed);
    const engine = await LsmEngine.open('/db', { fs: new MemFileSystem(), syncPolicy: 'no' });
    const model = new Map<string, string>();
    try {
      for (let round = 0; round < 40; round++) {
        // A few hundred new keys: they wait unsorted in the memtable (fewer than a fold batch).
        const batch = new WriteBatch();
        for (let index = 0; index < 300; index++) {
          const key = name(Math.floor(random() * 50_000));
          const value = `${round}:${index}`;
          batch.put(Buffer.from(key), Buffer.from(value));
          model.set(key, value);
        }
        await engine.write(batch);
        const a = name(Math.floor(random() * 50_000));
        const b = name(Math.floor(random() * 50_000));
        const [low, high] = a < b ? [a, b] : [b, a];
        const forms: IteratorOptions[] = [
          { gte: Buffer.from(low), lt: Buffer.from(high) },
          { gt: Buffer.from(low), lte: Buffer.from(high) },
          { gte: Buffer.from(low), lte: Buffer.from(high), reverse: true },
          { gt: Buffer.from(low), limit: 7 },
          { lt: Buffer.from(high), reverse: true, limit: 7 },
        ];
        const form = forms[round % forms.length]!;
        const inBounds = (key: string): boolean =>
          (form.gte === undefined || key >= form.gte.toString()) &&
          (form.gt === undefined || key > form.gt.toString()) &&
          (form.lt === undefined || key < form.lt.toString()) &&
          (form.lte === undefined || key <= form.lte.toString());
        let expected = [...model.keys()].filter(inBounds).sort();
        if (form.reverse) expected.reverse();
        if (form.limit !== undefined) expected = expected.slice(0, form.limit);
        const iterator = engine.iteratorSync(form);
        const seen: string[] = [];
        for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) {
          seen.push(entry[0].toString());
          expect(entry[1].toString()).toBe(model.get(entry[0].toString()));
        }
        iterator.close();
        expect(seen, `round ${round}: ${JSON.stringify({ low, high, reverse: form.reverse, limit: form.limit })}`).toEqual(expected);
        // A cursor over [low, high): its seeks land on the model's keys.
        const cursor = engine.cursorSync({ gte: Buffer.from(low), lt: Buffer.from(high) });
        const probe = name(Math.floor(random() * 50_000));
        const sorted = [...model.keys()].filter((key) => key >= low && key < high).sort();
        expect(cursor.seek(Buffer.from(probe))?.[0].toString()).toBe(sorted.find((key) => key >= probe));
        cursor.close();
      }
    } finally {
      await engine.close();
    }
  });
});
