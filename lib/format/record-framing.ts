// Framing shared by the WAL and the manifest (docs/format.md, "Record framing"):
//
// +-----------+-------------+-----------+------------------+
// | crc32 u32 | length u32  | type u8   | payload (length) |
// +-----------+-------------+-----------+------------------+
//   little-endian; crc is CRC-32/IEEE over type + payload
//
// A record is never split across files. Decoding tells apart a clean end of
// data, a record cut short by the end of the data (a torn write), and a record
// whose bytes are wrong (bad checksum, impossible length); what each means is
// the caller's decision (see wal-reader.ts).

import { crc32, crc32Continue } from './crc32.js';

/** Bytes before the payload: crc32 (4) + length (4) + type (1). */
export const recordHeaderBytes = 9;

export type DecodeResult =
  /** A whole, checksummed record. `payload` is a view into the source buffer, valid while it is. */
  | { kind: 'record'; type: number; payload: Buffer; offset: number; nextOffset: number }
  /** No bytes left: the clean end. */
  | { kind: 'end'; offset: number }
  /** The header or payload runs past the end of the data. */
  | { kind: 'truncated'; offset: number; reason: string }
  /** The bytes are all there but wrong. */
  | { kind: 'corrupt'; offset: number; reason: string };

/** Encodes one record into a new buffer. */
export function encodeRecord(type: number, payload: Uint8Array): Buffer {
  const record = Buffer.allocUnsafe(recordHeaderBytes + payload.length);
  record.writeUInt32LE(payload.length, 4);
  record[8] = type;
  record.set(payload, recordHeaderBytes);
  record.writeUInt32LE(crc32(record.subarray(8)), 0);
  return record;
}

/** CRC of a record's type byte and payload, computed without concatenating them. */
export function recordChecksum(type: number, payload: Uint8Array): number {
  return crc32Continue(crc32(Uint8Array.of(type)), payload);
}

/**
 * Decodes the record at `offset` in `source` (bytes up to `end` are valid).
 * @param recordBytesMax payload lengths above it are reported as corrupt, before anything is allocated
 */
export function decodeRecord(source: Buffer, offset: number, end: number, recordBytesMax: number): DecodeResult {
  if (offset >= end) return { kind: 'end', offset };
  if (end - offset < recordHeaderBytes) {
    return { kind: 'truncated', offset, reason: `record header needs ${recordHeaderBytes} bytes, ${end - offset} left` };
  }
  const storedCrc = source.readUInt32LE(offset);
  const length = source.readUInt32LE(offset + 4);
  const type = source[offset + 8]!;
  if (length > recordBytesMax) {
    return { kind: 'corrupt', offset, reason: `record length ${length} exceeds the limit of ${recordBytesMax}` };
  }
  const payloadStart = offset + recordHeaderBytes;
  if (end - payloadStart < length) {
    return { kind: 'truncated', offset, reason: `record of ${length} bytes, ${end - payloadStart} left` };
  }
  const actualCrc = crc32(source.subarray(offset + 8, payloadStart + length));
  if (actualCrc !== storedCrc) {
    return { kind: 'corrupt', offset, reason: `checksum mismatch (stored ${hex32(storedCrc)}, computed ${hex32(actualCrc)})` };
  }
  return { kind: 'record', type, payload: source.subarray(payloadStart, payloadStart + length), offset, nextOffset: payloadStart + length };
}

function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}
