// scanRecordsAfter (tools/wal-scan.ts): what verify and recover report after a
// damaged WAL record. The scan tries every byte after the damage; a place
// that only looks like a record (inside a large one, or in random bytes) must
// not cost a checksum over the length it claims each time (that was
// quadratic: minutes on a 42 MB record), and its checksumming is bounded.

import { describe, expect, it } from 'vitest';
import { encodeRecord, recordHeaderBytes } from '../../../lib/format/record-framing.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { afterDamageChecksumBytesMax } from '../../../lib/limits.js';
import { WalRecordType, encodeBatch, encodeHeader } from '../../../lib/wal/wal-format.js';
import { scanRecordsAfter } from '../../../tools/wal-scan.js';

const path = '/db/wal/000003.log';
const timeMs = 1_795_316_400_000;

function batchRecord(sequence: number): Buffer {
  return encodeRecord(WalRecordType.batch, encodeBatch(sequence, timeMs, [{ type: 'put', key: Buffer.from(`k${sequence}`), value: Buffer.from('v') }]));
}

/** A WAL file: header, the record of sequence 10, `middle` (from the returned offset), the record of sequence 20. */
function walWith(middle: Buffer): { fs: MemFileSystem; damageAt: number } {
  const head = Buffer.concat([encodeRecord(WalRecordType.header, encodeHeader(3, 2)), batchRecord(10)]);
  const fs = new MemFileSystem();
  fs.mkdir('/db/wal');
  fs.writeFileSync(path, Buffer.concat([head, middle, batchRecord(20)]));
  return { fs, damageAt: head.length };
}

/** Deterministic pseudo-random bytes. */
function randomBytes(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let state = seed;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

describe('scanRecordsAfter', () => {
  it('finds the record after 16 MiB of random bytes, checksumming only places that could start a batch', () => {
    // Unfiltered, about one place in 256 has the batch type byte, and of those one in 1,000 claims a length
    // the rest of the window holds: checksums over some 2 GB, past afterDamageChecksumBytesMax.
    const { fs, damageAt } = walWith(randomBytes(16 * 1024 * 1024, 7));
    const found = scanRecordsAfter(fs, path, damageAt, 10);
    expect(found).toMatchObject({ records: 1, firstSequence: 20, lastSequence: 20, complete: true });
  });

  it('stops, and says it is incomplete, once it has checksummed afterDamageChecksumBytesMax', () => {
    // Fake record headers, each claiming 64 KiB with a plausible sequence and time, and a wrong checksum.
    const fake = Buffer.alloc(recordHeaderBytes + 16);
    fake.writeUInt32LE(0xdeadbeef, 0);
    fake.writeUInt32LE(64 * 1024, 4);
    fake[8] = WalRecordType.batch;
    fake.writeUInt32LE(15, recordHeaderBytes); // sequence 15, above the 10 before the damage
    fake.writeUInt32LE(timeMs % 2 ** 32, recordHeaderBytes + 8);
    fake.writeUInt32LE(Math.floor(timeMs / 2 ** 32), recordHeaderBytes + 12);
    const copies = Math.ceil((2 * afterDamageChecksumBytesMax) / (64 * 1024));
    const { fs, damageAt } = walWith(Buffer.concat([Buffer.alloc(1), ...Array.from({ length: copies }, () => fake), Buffer.alloc(64 * 1024)]));
    expect(copies * fake.length).toBeLessThan(afterDamageChecksumBytesMax / 16); // the window, not the checksums, is small
    const found = scanRecordsAfter(fs, path, damageAt, 10);
    expect(found).toMatchObject({ records: 0, complete: false });
  });
});
