// wal-format: file names, the header record, and the batch payload.
// Strategy: named cases for every malformed field (each must be a
// CorruptionError naming file and offset), a fast-check round trip over
// random batches with binary keys and values (empty ones included), and the
// hex example of docs/format.md, "Write-ahead log", decoded byte for byte.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { CorruptionError } from '../../../lib/errors.js';
import { decodeRecord, encodeRecord, recordHeaderBytes } from '../../../lib/format/record-framing.js';
import type { BatchOp } from '../../../lib/engine/write-batch.js';
import {
  WalOpType,
  WalRecordType,
  archiveFilePath,
  batchPayloadBytes,
  decodeBatch,
  decodeHeader,
  encodeBatch,
  encodeHeader,
  parseWalFileName,
  peekBatch,
  walBatchFixedBytes,
  walFileName,
  walFilePath,
  walFormatVersion,
  walHeaderPayloadBytes,
  writeBatchPayload,
} from '../../../lib/wal/wal-format.js';
import { del, put } from './wal-test-support.js';

const file = 'wal/000001.log';
const numRuns = Number(process.env.SILT_PROPERTY_RUNS ?? 200);

describe('WAL file names', () => {
  test('walFileName pads the file number to six digits', () => {
    expect(walFileName(12)).toBe('000012.log');
    expect(walFileName(0)).toBe('000000.log');
    expect(walFileName(1_234_567)).toBe('1234567.log');
  });

  test('parseWalFileName reads canonical names back and rejects others', () => {
    expect(parseWalFileName('000012.log')).toBe(12);
    expect(parseWalFileName('1234567.log')).toBe(1_234_567);
    expect(parseWalFileName('12.log')).toBeUndefined();
    expect(parseWalFileName('0000012.log')).toBeUndefined();
    expect(parseWalFileName('000012.sst')).toBeUndefined();
    expect(parseWalFileName('000012.log.tmp')).toBeUndefined();
    expect(parseWalFileName('abcdef.log')).toBeUndefined();
  });

  test('paths put live files in wal/ and archived ones in archive/', () => {
    expect(walFilePath('data', 7)).toBe('data/wal/000007.log');
    expect(archiveFilePath('/srv/data/', 7)).toBe('/srv/data/archive/000007.log');
  });
});

describe('WAL header', () => {
  test('round trips format version and file number', () => {
    const payload = encodeHeader(123_456_789_012);
    expect(payload.length).toBe(walHeaderPayloadBytes);
    expect(decodeHeader(payload, file, 0)).toEqual({ formatVersion: walFormatVersion, fileNumber: 123_456_789_012 });
  });

  test('rejects a wrong size or magic with CorruptionError', () => {
    expect(() => decodeHeader(Buffer.alloc(15), file, 0)).toThrow(CorruptionError);
    const payload = encodeHeader(1);
    payload[0] = 0x58;
    expect(() => decodeHeader(payload, file, 0)).toThrow(/magic/);
  });
});

describe('WAL batch payload', () => {
  test('encodes puts, deletes, empty keys and values', () => {
    const ops: BatchOp[] = [put('k', 'v'), del('gone'), put('', ''), { type: 'put', key: Buffer.from([0, 255]), value: Buffer.alloc(300, 7) }];
    const payload = encodeBatch(1000, 1_700_000_000_000, ops);
    expect(payload.length).toBe(batchPayloadBytes(ops));
    const batch = decodeBatch(payload, file, 0);
    expect(batch.sequence).toBe(1000);
    expect(batch.timeMs).toBe(1_700_000_000_000);
    expect(batch.ops).toEqual(ops);
  });

  test('an empty batch round trips', () => {
    expect(decodeBatch(encodeBatch(5, 6, []), file, 0)).toEqual({ sequence: 5, timeMs: 6, ops: [] });
  });

  test('sequence and time up to 2^53 - 1 round trip', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const batch = decodeBatch(encodeBatch(max - 1, max, [put('a', 'b')]), file, 0);
    expect(batch.sequence).toBe(max - 1);
    expect(batch.timeMs).toBe(max);
  });

  test('writeBatchPayload writes the same bytes at an offset', () => {
    const ops = [put('key', 'value'), del('other')];
    const target = Buffer.alloc(3 + batchPayloadBytes(ops));
    const end = writeBatchPayload(target, 3, 9, 10, ops);
    expect(end).toBe(target.length);
    expect(target.subarray(3)).toEqual(encodeBatch(9, 10, ops));
  });

  test('peekBatch reads sequence, time and count without the ops', () => {
    expect(peekBatch(encodeBatch(77, 88, [put('a', 'b'), del('c')]))).toEqual({ sequence: 77, timeMs: 88, count: 2 });
    expect(peekBatch(Buffer.alloc(3))).toBeUndefined();
  });

  const opArbitrary: fc.Arbitrary<BatchOp> = fc.oneof(
    fc.record({
      type: fc.constant('put' as const),
      key: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
      value: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
    }),
    fc.record({ type: fc.constant('del' as const), key: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)) }),
  );

  test('property: decode(encode(batch)) is the batch', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 1000 }),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.array(opArbitrary, { maxLength: 50 }),
        (sequence, timeMs, ops) => {
          const payload = encodeBatch(sequence, timeMs, ops);
          expect(payload.length).toBe(batchPayloadBytes(ops));
          const batch = decodeBatch(payload, file, 0);
          expect(batch.sequence).toBe(sequence);
          expect(batch.timeMs).toBe(timeMs);
          expect(batch.ops).toEqual(ops);
        },
      ),
      { numRuns },
    );
  });

  test('property: any truncation of a payload is a CorruptionError, never another error', () => {
    fc.assert(
      fc.property(fc.array(opArbitrary, { minLength: 1, maxLength: 10 }), fc.nat(), (ops, cut) => {
        const payload = encodeBatch(1, 2, ops);
        const length = cut % payload.length;
        expect(() => decodeBatch(payload.subarray(0, length), file, 64)).toThrow(CorruptionError);
      }),
      { numRuns },
    );
  });
});

describe('WAL batch payload, malformed', () => {
  /** A payload with header fields, then `rest`. */
  function payloadWith(rest: number[], sequence = 1): Buffer {
    const head = encodeBatch(sequence, 2, []).subarray(0, walBatchFixedBytes);
    return Buffer.concat([head, Buffer.from(rest)]);
  }

  function expectCorruption(payload: Buffer, pattern: RegExp, limits?: { keyBytesMax: number; valueBytesMax: number; batchOpsMax: number }): void {
    let caught: unknown;
    try {
      decodeBatch(payload, file, 4096, limits);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CorruptionError);
    const error = caught as CorruptionError;
    expect(error.file).toBe(file);
    expect(error.offset).toBe(4096);
    expect(error.message).toMatch(/^Cannot decode WAL batch in "wal\/000001\.log" at offset 4096: /);
    expect(error.message).toMatch(pattern);
  }

  test('shorter than the fixed fields', () => expectCorruption(Buffer.alloc(10), /shorter than the 16-byte batch header/));
  test('sequence above 2^53 - 1', () => {
    const payload = payloadWith([0]);
    payload.writeUInt32LE(0x20_0000, 4);
    expectCorruption(payload, /sequence number exceeds/);
  });
  test('time above 2^53 - 1', () => {
    const payload = payloadWith([0]);
    payload.writeUInt32LE(0xffff_ffff, 12);
    expectCorruption(payload, /time exceeds/);
  });
  test('sequence range past 2^53 - 1', () => {
    const payload = encodeBatch(0, 0, [put('a', 'b'), put('c', 'd')]);
    const sequence = Number.MAX_SAFE_INTEGER - 1;
    payload.writeUInt32LE(sequence >>> 0, 0);
    payload.writeUInt32LE(Math.floor(sequence / 2 ** 32), 4);
    expectCorruption(payload, /sequence range/);
  });
  test('op count missing', () => expectCorruption(payloadWith([]), /op count is not a valid varint/));
  test('op count over the limit', () => expectCorruption(payloadWith([3, 1, 0, 0, 1, 0, 0, 1, 0, 0]), /op count 3 exceeds the limit of 2/, { keyBytesMax: 10, valueBytesMax: 10, batchOpsMax: 2 }));
  test('op count larger than the bytes can hold', () => expectCorruption(payloadWith([0xff, 0xff, 0x03, 1, 0]), /cannot fit/));
  test('unknown op type', () => expectCorruption(payloadWith([1, 7, 0]), /op 0 has unknown type 7/));
  test('key length past the end', () => expectCorruption(payloadWith([1, WalOpType.delete, 5, 0x61]), /key of op 0 \(5 bytes\) runs past the end/));
  test('key over the limit', () => expectCorruption(payloadWith([1, WalOpType.delete, 11, ...Buffer.alloc(11)]), /key of op 0 is 11 bytes, over the limit of 10/, { keyBytesMax: 10, valueBytesMax: 10, batchOpsMax: 5 }));
  test('value length missing', () => expectCorruption(payloadWith([1, WalOpType.put, 1, 0x61]), /value length of op 0 is not a valid varint/));
  test('value past the end', () => expectCorruption(payloadWith([1, WalOpType.put, 1, 0x61, 9, 0]), /value of op 0 \(9 bytes\) runs past the end/));
  test('value over the limit', () => expectCorruption(payloadWith([1, WalOpType.put, 0, 11, ...Buffer.alloc(11)]), /value of op 0 is 11 bytes, over the limit of 10/, { keyBytesMax: 10, valueBytesMax: 10, batchOpsMax: 5 }));
  test('bytes after the last op', () => expectCorruption(payloadWith([1, WalOpType.delete, 0, 0x99]), /1 bytes follow the last op/));
  test('fewer ops than the count', () => expectCorruption(payloadWith([2, WalOpType.put, 0, 2, 0x61, 0x62]), /op 1 of 2 starts past the end/));
  test('an op cut after its type', () => expectCorruption(payloadWith([2, WalOpType.put, 0, 0, WalOpType.put]), /key length of op 1 is not a valid varint/));
});

// The example in docs/format.md, "Write-ahead log", ("Example"): wal/000007.log with a
// header record and one batch (sequence 42, time 1700000000000 ms,
// put "a" = "1", delete "b").
const docHexExample = `
00000000  95 5f a5 f4 10 00 00 00  02 53 57 41 4c 02 00 00
00000010  00 07 00 00 00 00 00 00  00 a4 f8 55 31 19 00 00
00000020  00 01 2a 00 00 00 00 00  00 00 00 68 e5 cf 8b 01
00000030  00 00 02 01 01 61 01 31  00 01 62
`;

function parseHexDump(dump: string): Buffer {
  const bytes: number[] = [];
  for (const line of dump.trim().split('\n')) {
    const [, ...fields] = line.trim().split(/\s+/);
    for (const field of fields) bytes.push(parseInt(field, 16));
  }
  return Buffer.from(bytes);
}

describe('WAL hex example in the format documentation', () => {
  const bytes = parseHexDump(docHexExample);

  test('the documentation shows this exact dump', () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    const root = path.resolve(here, '../../..');
    const docs = ['docs/format.md']
      .map((name) => path.join(root, name))
      .filter((name) => fs.existsSync(name))
      .map((name) => fs.readFileSync(name, 'utf8'));
    expect(docs.some((text) => text.includes(docHexExample.trim()))).toBe(true);
  });

  test('decodes to a header for file 7 and one batch', () => {
    expect(bytes.length).toBe(59);
    const header = decodeRecord(bytes, 0, bytes.length, 1024);
    expect(header.kind).toBe('record');
    if (header.kind !== 'record') return;
    expect(header.type).toBe(WalRecordType.header);
    expect(header.nextOffset).toBe(25);
    expect(decodeHeader(header.payload, 'wal/000007.log', 0)).toEqual({ formatVersion: 2, fileNumber: 7 });

    const record = decodeRecord(bytes, 25, bytes.length, 1024);
    expect(record.kind).toBe('record');
    if (record.kind !== 'record') return;
    expect(record.type).toBe(WalRecordType.batch);
    expect(record.payload.length).toBe(25);
    expect(record.nextOffset).toBe(bytes.length);
    expect(decodeBatch(record.payload, 'wal/000007.log', 25)).toEqual({ sequence: 42, timeMs: 1_700_000_000_000, ops: [put('a', '1'), del('b')] });
  });

  test('encoding the same content gives the same bytes', () => {
    const header = encodeRecord(WalRecordType.header, encodeHeader(7));
    const batch = encodeRecord(WalRecordType.batch, encodeBatch(42, 1_700_000_000_000, [put('a', '1'), del('b')]));
    expect(Buffer.concat([header, batch])).toEqual(bytes);
    expect(header.length).toBe(recordHeaderBytes + walHeaderPayloadBytes);
  });
});
