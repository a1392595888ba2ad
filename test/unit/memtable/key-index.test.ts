// KeyIndex: the memtable's hash index from key bytes to anchors.
//
// Strategy: random distinct byte strings (short ones collide in the table's
// low bits; many of them make it grow), looked up by their bytes at an
// offset inside a larger buffer, against a Map model.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KeyIndex } from '../../../lib/memtable/key-index.js';

const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 100);

describe('KeyIndex', () => {
  it('finds every inserted key by its bytes and nothing else', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uint8Array({ maxLength: 9 }), { maxLength: 500, selector: (bytes) => Buffer.from(bytes).toString('hex') }), fc.array(fc.uint8Array({ maxLength: 9 })), (keys, probes) => {
        const index = new KeyIndex();
        const stored: string[] = [];
        const model = new Map<string, number>();
        keys.forEach((bytes, anchor) => {
          const key = Buffer.from(bytes);
          stored[anchor] = key.toString('latin1');
          model.set(key.toString('hex'), anchor);
          index.insert(index.hash(key, 0, key.length), anchor);
        });
        expect(index.size).toBe(keys.length);
        for (const bytes of [...keys, ...probes]) {
          const framed = Buffer.concat([Buffer.from([0xaa, 0xbb]), Buffer.from(bytes), Buffer.from([0xcc])]);
          const end = framed.length - 1;
          expect(index.find(framed, 2, end, index.hash(framed, 2, end), stored)).toBe(model.get(Buffer.from(bytes).toString('hex')) ?? -1);
        }
        expect([...index.anchors()].sort((a, b) => a - b)).toEqual(keys.map((_, anchor) => anchor));
      }),
      { numRuns: runs },
    );
  });

  it('hashes the same bytes alike wherever they sit, and differently per index', () => {
    const bytes = Buffer.from('some key');
    const index = new KeyIndex();
    expect(index.hash(Buffer.concat([Buffer.from('xx'), bytes]), 2, 10)).toBe(index.hash(bytes, 0, 8));
    const hashes = new Set(Array.from({ length: 8 }, () => new KeyIndex().hash(bytes, 0, 8)));
    expect(hashes.size).toBeGreaterThan(1); // seeded at random
  });
});
