import { describe, expect, it } from 'vitest';
import { Memtable } from '../../../lib/memtable/memtable.js';
import { flushChunkBytes, serializeMemtable } from '../../../lib/engine/memtable-chunks.js';
import { ValueType } from '../../../lib/format/internal-key.js';

/** Decodes chunks back to `internal key hex = value hex` lines. */
function decode(chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let offset = 0; offset < bytes.length; ) {
      const keyBytes = bytes.readUInt32LE(offset);
      const key = bytes.subarray(offset + 4, offset + 4 + keyBytes);
      offset += 4 + keyBytes;
      const valueBytes = bytes.readUInt32LE(offset);
      const value = bytes.subarray(offset + 4, offset + 4 + valueBytes);
      offset += 4 + valueBytes;
      out.push(`${key.toString('hex')}=${value.toString('hex')}`);
    }
  }
  return out;
}

describe('serializeMemtable', () => {
  it('writes every entry in internal-key order, in chunks of at most flushChunkBytes that own their buffers', async () => {
    const table = new Memtable();
    let sequence = 1;
    for (let index = 0; index < 20_000; index++) {
      const key = Buffer.from(`key${(index * 7919) % 20_000}`, 'latin1');
      table.add(sequence++, index % 5 === 0 ? ValueType.delete : ValueType.put, key, index % 5 === 0 ? Buffer.alloc(0) : Buffer.alloc(index % 200, index));
      if (index % 1000 === 0) table.add(sequence++, ValueType.put, key, Buffer.alloc(10, 1)); // a second version
    }
    table.add(sequence++, ValueType.put, Buffer.from([0xff, 0x00, 0x80]), Buffer.alloc(flushChunkBytes + 1000, 9)); // larger than a chunk
    table.add(sequence++, ValueType.put, Buffer.from('key10000'), Buffer.alloc(100 * 1024, 3)); // a private slab

    let yields = 0;
    const chunks = await serializeMemtable(table, () => {
      yields++;
      return Promise.resolve();
    });

    const expected: string[] = [];
    const iterator = table.iterator();
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) expected.push(`${iterator.key().toString('hex')}=${iterator.value().toString('hex')}`);
    expect(decode(chunks)).toEqual(expected);
    expect(expected.length).toBe(table.entryCount);
    expect(chunks.length).toBeGreaterThan(5);
    expect(yields).toBeGreaterThanOrEqual(chunks.length - 1);
    for (const chunk of chunks) {
      expect(chunk.byteOffset).toBe(0);
      expect(chunk.byteLength).toBe(chunk.buffer.byteLength);
      if (chunk.byteLength > flushChunkBytes) expect(decode([chunk])).toHaveLength(1);
    }
  });

  it('writes nothing for an empty memtable', async () => {
    expect(await serializeMemtable(new Memtable(), () => Promise.resolve())).toEqual([]);
  });
});
