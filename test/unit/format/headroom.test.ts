// lib/format/headroom.ts: a large bulk the RESP decoder receives has room for
// the record header in front, so SET stores it without copying the value,
// and that room is handed out once.

import { describe, expect, it } from 'vitest';
import { allocWithHeadroom, headroomBytes, largeHeadroomBytes, largeHeadroomValueBytes, takeHeadroom } from '../../../lib/format/headroom.js';
import { KeyType, metadataHeaderBytes, recordType, recordVersion, stringRecord, stringValue } from '../../../lib/keyspace/metadata.js';
import { RespDecoder } from '../../../service/resp/decoder.js';

/** Whether `record`'s value is `value`'s memory (a change to one shows in the other). */
function shares(record: Buffer, value: Buffer): boolean {
  const before = value[0]!;
  value[0] = before ^ 0xff;
  const shared = stringValue(record)[0] === value[0];
  value[0] = before;
  return shared;
}

describe('headroom', () => {
  it('stringRecord writes its header in front of a roomy value instead of copying it, once', () => {
    expect(metadataHeaderBytes).toBeLessThanOrEqual(headroomBytes);
    const value = allocWithHeadroom(1000).fill(7);
    const record = stringRecord(value, 0, 42);
    expect(record.buffer, 'the record shares the value\'s memory').toBe(value.buffer);
    expect(record.byteOffset + metadataHeaderBytes).toBe(value.byteOffset);
    expect(shares(record, value)).toBe(true);
    expect(recordType(record)).toBe(KeyType.string);
    expect(recordVersion(record)).toBe(42);
    expect(stringValue(record).equals(Buffer.alloc(1000, 7))).toBe(true);
    // The room is taken: a second record of the same value is a copy.
    const second = stringRecord(value, 0, 43);
    expect(stringValue(second).equals(value)).toBe(true);
    expect(shares(second, value)).toBe(false);
    expect(recordVersion(record), 'the first record is untouched').toBe(42);
  });

  it('only the exact view allocWithHeadroom returned has room; a plain buffer or a part of one has none', () => {
    expect(takeHeadroom(Buffer.alloc(100), 8)).toBeUndefined();
    const value = allocWithHeadroom(100);
    expect(takeHeadroom(value.subarray(1), 8)).toBeUndefined();
    expect(takeHeadroom(value, headroomBytes + 1)).toBeUndefined();
    expect(takeHeadroom(value, 8)?.length).toBe(108);
  });

  it('what is taken leaves the rest of the room to the buffer returned, and none to the one given', () => {
    const value = allocWithHeadroom(100);
    const whole = takeHeadroom(value, 27)!;
    expect(takeHeadroom(value, 1)).toBeUndefined();
    expect(takeHeadroom(whole, headroomBytes - 27 + 1)).toBeUndefined();
    const wider = takeHeadroom(whole, headroomBytes - 27)!;
    expect(wider.length).toBe(headroomBytes + 100);
    expect(takeHeadroom(wider, 1)).toBeUndefined();
  });

  it('a large value gets more room, in shared memory', () => {
    const small = allocWithHeadroom(largeHeadroomValueBytes - 1);
    expect(small.buffer).toBeInstanceOf(ArrayBuffer);
    expect(takeHeadroom(small, headroomBytes + 1)).toBeUndefined();
    const large = allocWithHeadroom(largeHeadroomValueBytes);
    expect(large.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(large.length).toBe(largeHeadroomValueBytes);
    expect(takeHeadroom(large, largeHeadroomBytes)?.length).toBe(largeHeadroomBytes + largeHeadroomValueBytes);
  });

  it('the decoder receives a large bulk that arrives in parts into a buffer with room; a small one is a view', () => {
    const value = Buffer.alloc(100_000, 'v');
    const input = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`), value, Buffer.from('\r\n')]);
    const decoder = new RespDecoder({}, { authenticated: true });
    decoder.feed(input.subarray(0, 1000));
    expect(decoder.next()).toBeUndefined();
    decoder.feed(input.subarray(1000));
    const big = decoder.next()![2]!;
    expect(big.equals(value)).toBe(true);
    expect(shares(stringRecord(big, 0, 1), big)).toBe(true);
    // A bulk whole in one chunk is a view of it: no room (the bytes in front belong to the input).
    decoder.feed(input);
    const view = decoder.next()![2]!;
    expect(view.buffer).toBe(input.buffer);
    expect(shares(stringRecord(view, 0, 1), view)).toBe(false);
  });
});
