// The write-ahead log's on-disk format, shared by wal-writer.ts, wal-reader.ts
// and wal-archive.ts, as LevelDB's log_format.h is shared by its log writer
// and reader. Byte layouts: docs/format.md, "Write-ahead log".
//
// A WAL file is a sequence of records framed by lib/format/record-framing.ts
// (`[crc32 u32][length u32][type u8][payload]`). The first record is always a
// header record (format version, file number); every other record is one
// batch: the operations of one WriteBatch with the sequence number of the
// first operation and the wall-clock time it was written. Invariants:
//
// - A batch record is all or nothing: replay applies every op of a record
//   whose checksum holds, or none.
// - Op i of a batch has sequence `sequence + i`; every sequence number and
//   time is a JS safe integer (< 2^53), stored as a u64 little-endian.
// - The framing and the header record's layout never change; a new format
//   version may only change what follows the header, so that every build can
//   read the version of any WAL file and refuse it clearly.

import { assert } from '../assert.js';
import { parseFileName } from '../format/file-names.js';
import { CorruptionError } from '../errors.js';
import { readVarint, varintLength, writeVarint, type VarintResult } from '../format/varint.js';
import { ValueType } from '../format/internal-key.js';
import type { BatchOp } from '../engine/write-batch.js';
import { batchOpsMax, keyBytesMax, valueBytesMax } from '../limits.js';

/**
 * Record types. Written to disk: never renumber. 0 is never written (so a
 * zero-filled region never reads as a record of a known type); 3 to 255 are
 * reserved for later format versions.
 */
export const WalRecordType = {
  /** One batch of puts and deletes. */
  batch: 1,
  /** The first record of every file: magic, format version, file number. */
  header: 2,
} as const;
export type WalRecordType = (typeof WalRecordType)[keyof typeof WalRecordType];

/**
 * Op types inside a batch payload: the same numbers as ValueType in
 * lib/format/internal-key.ts. Written to disk: never renumber.
 */
export const WalOpType = {
  delete: ValueType.delete,
  put: ValueType.put,
} as const;
export type WalOpType = (typeof WalOpType)[keyof typeof WalOpType];

/**
 * Format versions this build reads. 1: the first (header, batch records).
 * 2: the same records; the file may end in preallocated zeros
 * (walPreallocatedTailVersion).
 */
export const walFormatVersions = [1, 2] as const;

/** Format version this build writes. */
export const walFormatVersion = 2;

/**
 * From this version on, zero bytes from a record boundary to the end of the
 * file are preallocated space, the end of the records, not damage
 * (docs/format.md, "Preallocated tail").
 */
export const walPreallocatedTailVersion = 2;

/** First bytes of the header payload: ASCII "SWAL". */
export const walMagic = Buffer.from('SWAL', 'latin1');

/** Bytes of the header record's payload: magic (4) + version u32 (4) + file number u64 (8). */
export const walHeaderPayloadBytes = 16;

/** Bytes of a batch payload before its ops: sequence u64 (8) + time ms u64 (8). */
export const walBatchFixedBytes = 16;

/** Directory of live WAL files, relative to the data directory. */
export { walDirName, archiveDirName } from '../format/file-names.js';


const twoPow32 = 0x1_0000_0000;
/** Largest high word of a u64 that is still a safe integer (2^53 - 1 >> 32). */
const safeHighWordMax = 0x1f_ffff;

/** The header record's fields. */
export interface WalHeader {
  formatVersion: number;
  fileNumber: number;
}

/** One decoded batch record. */
export interface WalBatch {
  /** Sequence number of the first op; op i has `sequence + i`. */
  sequence: number;
  /** Wall-clock time the batch was written, ms since the epoch. */
  timeMs: number;
  /** Keys and values are views into the payload the batch was decoded from (see decodeBatch). */
  ops: BatchOp[];
}

/** Bounds checked while decoding a batch; the defaults come from lib/limits.ts. */
export interface WalBatchLimits {
  keyBytesMax: number;
  valueBytesMax: number;
  batchOpsMax: number;
}

/** The limits of lib/limits.ts. */
export const defaultWalBatchLimits: Readonly<WalBatchLimits> = Object.freeze({ keyBytesMax, valueBytesMax, batchOpsMax });

// ---------------------------------------------------------------------------
// File names

// File names live in lib/format/file-names.ts, the one place that spells them;
// these are the WAL's views of it.
export { walFileName, walPath as walFilePath, archivedWalPath as archiveFilePath } from '../format/file-names.js';

/** The file number of a WAL file name (`000012.log` -> 12), or undefined when the name is not one. */
export function parseWalFileName(name: string): number | undefined {
  const parsed = parseFileName(name);
  return parsed?.kind === 'wal' ? parsed.number : undefined;
}

// ---------------------------------------------------------------------------
// Header record

/** Encodes the header record's payload (a new 16-byte buffer). */
export function encodeHeader(fileNumber: number, formatVersion: number = walFormatVersion): Buffer {
  const payload = Buffer.allocUnsafe(walHeaderPayloadBytes);
  walMagic.copy(payload, 0);
  payload.writeUInt32LE(formatVersion, 4);
  writeU64(payload, 8, fileNumber);
  return payload;
}

/**
 * Decodes a header record's payload. Does not judge the version: the reader
 * compares it with walFormatVersions and throws UnsupportedVersionError.
 * @param offset file offset of the record, for errors
 * @throws CorruptionError when the payload has the wrong size or magic
 */
export function decodeHeader(payload: Buffer, file: string, offset: number): WalHeader {
  if (payload.length !== walHeaderPayloadBytes) {
    throw new CorruptionError(file, offset, `Cannot read WAL header in "${file}" at offset ${offset}: payload is ${payload.length} bytes, expected ${walHeaderPayloadBytes}`);
  }
  if (!payload.subarray(0, 4).equals(walMagic)) {
    throw new CorruptionError(file, offset, `Cannot read WAL header in "${file}" at offset ${offset}: magic is 0x${payload.subarray(0, 4).toString('hex')}, expected 0x${walMagic.toString('hex')} ("SWAL")`);
  }
  const fileNumber = readU64(payload, 8);
  if (fileNumber === undefined) {
    throw new CorruptionError(file, offset, `Cannot read WAL header in "${file}" at offset ${offset}: file number exceeds 2^53 - 1`);
  }
  return { formatVersion: payload.readUInt32LE(4), fileNumber };
}

// ---------------------------------------------------------------------------
// Batch payload

/** Exact bytes of the batch payload encodeBatch would produce. */
export function batchPayloadBytes(ops: readonly BatchOp[]): number {
  return batchPayloadBytesOf(ops.length, batchOpsBytes(ops));
}

/** The bytes `ops` take in a batch payload, without the batch's fixed fields and count. */
export function batchOpsBytes(ops: readonly BatchOp[]): number {
  let bytes = 0;
  for (const op of ops) {
    bytes += 1 + varintLength(op.key.length) + op.key.length;
    if (op.type === 'put') bytes += varintLength(op.value.length) + op.value.length;
  }
  return bytes;
}

/** The payload bytes of a batch of `count` ops taking `opsBytes` (batchOpsBytes()). */
export function batchPayloadBytesOf(count: number, opsBytes: number): number {
  return walBatchFixedBytes + varintLength(count) + opsBytes;
}

/**
 * Encodes a batch payload into a new buffer of exactly the right size.
 * @param sequence sequence number of the first op
 * @param timeMs wall-clock time, ms since the epoch
 * @returns the payload; the caller owns it
 */
export function encodeBatch(sequence: number, timeMs: number, ops: readonly BatchOp[]): Buffer {
  const bytes = batchPayloadBytes(ops);
  const payload = Buffer.allocUnsafe(bytes);
  const end = writeBatchPayload(payload, 0, sequence, timeMs, ops);
  assert(end === bytes, 'batch payload size matches its computed size');
  return payload;
}

/**
 * Writes a batch payload at `offset` in `target`, which must have
 * batchPayloadBytes(ops) bytes free there (the writer frames batches straight
 * into its per-turn buffer with it).
 * @returns the offset just past the payload
 */
export function writeBatchPayload(target: Buffer, offset: number, sequence: number, timeMs: number, ops: readonly BatchOp[]): number {
  return writeBatchPayloadSplicing(target, offset, sequence, timeMs, ops, Infinity, undefined);
}

/** A value left out of the buffer writeBatchPayloadSplicing() wrote: it belongs at `at` there. */
export interface SplicedValue {
  at: number;
  bytes: Uint8Array;
}

/**
 * writeBatchPayload(), except that values of at least `spliceBytesMin`
 * bytes are not copied: each is pushed to `spliced` with the offset in
 * `target` where it belongs, and what follows it is written from there on.
 * The payload is the bytes of `target` with each spliced value inserted at
 * its offset (the WAL writer writes them in that order, without a copy).
 * @returns the offset in `target` just past what was written
 */
export function writeBatchPayloadSplicing(
  target: Buffer,
  offset: number,
  sequence: number,
  timeMs: number,
  ops: readonly BatchOp[],
  spliceBytesMin: number,
  spliced: SplicedValue[] | undefined,
): number {
  assert(Number.isSafeInteger(sequence) && sequence >= 0, 'batch sequence is a non-negative safe integer');
  assert(Number.isSafeInteger(sequence + ops.length), 'batch sequence range stays below 2^53');
  assert(Number.isSafeInteger(timeMs) && timeMs >= 0, 'batch time is a non-negative safe integer');
  writeU64(target, offset, sequence);
  writeU64(target, offset + 8, timeMs);
  offset = writeVarint(target, offset + walBatchFixedBytes, ops.length);
  for (const op of ops) {
    if (op.type === 'put') {
      target[offset++] = WalOpType.put;
      offset = writeVarint(target, offset, op.key.length);
      target.set(op.key, offset);
      offset = writeVarint(target, offset + op.key.length, op.value.length);
      if (op.value.length >= spliceBytesMin) {
        spliced!.push({ at: offset, bytes: op.value });
        continue;
      }
      target.set(op.value, offset);
      offset += op.value.length;
    } else {
      target[offset++] = WalOpType.delete;
      offset = writeVarint(target, offset, op.key.length);
      target.set(op.key, offset);
      offset += op.key.length;
    }
  }
  return offset;
}

/**
 * Decodes a batch payload.
 *
 * Ownership: keys and values are views into `payload` (no copies); they stay
 * valid as long as the payload's memory does, and keep all of it alive.
 *
 * @param file file name for errors
 * @param offset file offset of the record holding the payload, for errors
 * @throws CorruptionError for anything malformed: a field past the end, an
 *   unknown op type, a count, key or value over its limit, trailing bytes
 */
export function decodeBatch(payload: Buffer, file: string, offset: number, limits: Readonly<WalBatchLimits> = defaultWalBatchLimits): WalBatch {
  const { sequence, timeMs } = checkBatch(payload, file, offset, limits);
  const ops: BatchOp[] = [];
  forEachBatchOp(payload, (type, keyStart, keyEnd, valueStart, valueEnd) => {
    const key = payload.subarray(keyStart, keyEnd);
    ops.push(type === WalOpType.put ? { type: 'put', key, value: payload.subarray(valueStart, valueEnd) } : { type: 'del', key });
  });
  return { sequence, timeMs, ops };
}

/** A batch payload's header fields, as checkBatch() returns them. */
export interface CheckedBatch {
  sequence: number;
  timeMs: number;
  /** Ops in the batch. */
  count: number;
}

/**
 * Checks a whole batch payload, every op included, without decoding the ops
 * (no allocation per op): what decodeBatch() accepts, this accepts. Then
 * forEachBatchOp() may walk it.
 * @throws CorruptionError as decodeBatch()
 */
export function checkBatch(payload: Buffer, file: string, offset: number, limits: Readonly<WalBatchLimits> = defaultWalBatchLimits): CheckedBatch {
  const fail = (at: number, reason: string): CorruptionError =>
    new CorruptionError(file, offset, `Cannot decode WAL batch in "${file}" at offset ${offset}: ${reason} (payload byte ${at})`);
  const end = payload.length;
  if (end < walBatchFixedBytes) throw fail(0, `payload is ${end} bytes, shorter than the ${walBatchFixedBytes}-byte batch header`);
  const sequence = readU64(payload, 0);
  if (sequence === undefined) throw fail(0, 'sequence number exceeds 2^53 - 1');
  const timeMs = readU64(payload, 8);
  if (timeMs === undefined) throw fail(8, 'time exceeds 2^53 - 1');
  const varint: VarintResult = { value: 0, offset: 0 };
  if (!readVarint(payload, walBatchFixedBytes, end, varint)) throw fail(walBatchFixedBytes, 'op count is not a valid varint');
  const count = varint.value;
  let position = varint.offset;
  if (count > limits.batchOpsMax) throw fail(walBatchFixedBytes, `op count ${count} exceeds the limit of ${limits.batchOpsMax}`);
  // Each op takes at least 2 bytes (type, key length); checked before the loop
  // so that a declared count never drives work beyond the payload's size.
  if (count * 2 > end - position) throw fail(walBatchFixedBytes, `op count ${count} cannot fit in the ${end - position} bytes left`);
  if (!Number.isSafeInteger(sequence + count)) throw fail(0, `sequence range ${sequence} + ${count} exceeds 2^53 - 1`);
  for (let index = 0; index < count; index++) {
    const opStart = position;
    if (position >= end) throw fail(position, `op ${index} of ${count} starts past the end of the payload`);
    const type = payload[position++]!;
    if (type !== WalOpType.put && type !== WalOpType.delete) throw fail(opStart, `op ${index} has unknown type ${type}`);
    if (!readVarint(payload, position, end, varint)) throw fail(position, `key length of op ${index} is not a valid varint`);
    const keyBytes = varint.value;
    position = varint.offset;
    if (keyBytes > limits.keyBytesMax) throw fail(opStart, `key of op ${index} is ${keyBytes} bytes, over the limit of ${limits.keyBytesMax}`);
    if (keyBytes > end - position) throw fail(position, `key of op ${index} (${keyBytes} bytes) runs past the end of the payload`);
    position += keyBytes;
    if (type === WalOpType.delete) continue;
    if (!readVarint(payload, position, end, varint)) throw fail(position, `value length of op ${index} is not a valid varint`);
    const valueBytes = varint.value;
    position = varint.offset;
    if (valueBytes > limits.valueBytesMax) throw fail(opStart, `value of op ${index} is ${valueBytes} bytes, over the limit of ${limits.valueBytesMax}`);
    if (valueBytes > end - position) throw fail(position, `value of op ${index} (${valueBytes} bytes) runs past the end of the payload`);
    position += valueBytes;
  }
  if (position !== end) throw fail(position, `${end - position} bytes follow the last op`);
  return { sequence, timeMs, count };
}

/**
 * Calls `visit` for each op of a payload that checkBatch() accepted, in
 * order, with its WalOpType and where its key and value lie in `payload`
 * (an empty value range for a delete): no views, no copies.
 */
export function forEachBatchOp(payload: Buffer, visit: (type: number, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number) => void): void {
  const varint: VarintResult = { value: 0, offset: 0 };
  const end = payload.length;
  readVarint(payload, walBatchFixedBytes, end, varint);
  const count = varint.value;
  let position = varint.offset;
  for (let index = 0; index < count; index++) {
    const type = payload[position++]!;
    readVarint(payload, position, end, varint);
    const keyStart = varint.offset;
    const keyEnd = keyStart + varint.value;
    if (type === WalOpType.delete) {
      visit(type, keyStart, keyEnd, keyEnd, keyEnd);
      position = keyEnd;
      continue;
    }
    readVarint(payload, keyEnd, end, varint);
    const valueEnd = varint.offset + varint.value;
    visit(type, keyStart, keyEnd, varint.offset, valueEnd);
    position = valueEnd;
  }
}

/**
 * Reads only a batch payload's sequence, time and op count (for listings
 * that do not need the ops), or undefined when those fields are malformed.
 */
export function peekBatch(payload: Buffer): { sequence: number; timeMs: number; count: number } | undefined {
  if (payload.length < walBatchFixedBytes) return undefined;
  const sequence = readU64(payload, 0);
  const timeMs = readU64(payload, 8);
  const varint: VarintResult = { value: 0, offset: 0 };
  if (sequence === undefined || timeMs === undefined || !readVarint(payload, walBatchFixedBytes, payload.length, varint)) return undefined;
  return { sequence, timeMs, count: varint.value };
}

// ---------------------------------------------------------------------------
// Helpers

/** Writes a safe integer as u64 little-endian (two u32 words). */
function writeU64(target: Buffer, offset: number, value: number): void {
  target.writeUInt32LE(value >>> 0, offset);
  target.writeUInt32LE(Math.floor(value / twoPow32), offset + 4);
}

/** Reads a u64 little-endian, or undefined when it is not a safe integer. */
function readU64(source: Buffer, offset: number): number | undefined {
  const high = source.readUInt32LE(offset + 4);
  if (high > safeHighWordMax) return undefined;
  return high * twoPow32 + source.readUInt32LE(offset);
}
