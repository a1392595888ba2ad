// Reads one WAL file record by record (docs/format.md, "Write-ahead log"),
// in chunks so that a 1 GiB file is never loaded whole: a 1 MiB window,
// grown for one record up to the record limit.
//
// What a bad record means depends on where it is (DESIGN.md, "Files"):
//
// - A torn tail: a record that is truncated or fails its checksum in the
//   NEWEST file with nothing valid after it. It is what a crash during an
//   append leaves. 'recover' cuts it off (and reports the bytes), 'readOnly'
//   reports it and writes nothing.
// - Anything else is corruption: a bad record followed by a valid one, any
//   bad record in an older file, a record whose checksum holds but whose
//   contents are malformed (no torn write produces that), a header that
//   names another file. The reader throws CorruptionError naming file and
//   offset; 'salvage' (for `silt recover`) instead returns what it read up to
//   the damage and where the damage is.
//
// "Nothing valid after it" is decided by a bounded forward scan, the same
// idea as LevelDB's log reader resynchronising at the next block: from each
// byte after the bad record's start, look for a well-formed batch record (type
// 1, a length that fits before the end of the file, a matching CRC-32) whose
// first sequence number is above the last one read before the damage. Real
// records written after the damaged one pass this; the bytes of a torn
// record almost never do (1 in 2^32 per candidate for the CRC alone, and a
// user value would also have to embed a record with a newer sequence). The
// CRC work is bounded by `resyncScanBytesMax`: when the budget runs out
// before the end of the file, the damage cannot be called a torn tail and is
// reported as corruption (the safe answer; `silt recover` salvages).
//
// From format version 2 a file may end in zeros that the writer preallocated
// (wal-writer.ts): zero bytes from a record boundary to the end of the file
// end the records cleanly, in any file and any mode (`preallocatedBytes`);
// 'recover' cuts them off. Zeros followed by anything else are a bad record
// as before, and the zeros after a torn record are not counted as torn bytes.

import { assert, unreachable } from '../assert.js';
import { CorruptionError, UnsupportedVersionError } from '../errors.js';
import { decodeRecord, recordHeaderBytes, type DecodeResult } from '../format/record-framing.js';
import { baseName, joinPath, truncateDurably, type FileHandle, type FileSystem } from '../fs/file-system.js';
import { walRecordBytesMax } from '../limits.js';
import {
  WalRecordType,
  checkBatch,
  decodeBatch,
  decodeHeader,
  defaultWalBatchLimits,
  parseWalFileName,
  peekBatch,
  walBatchFixedBytes,
  walDirName,
  walFormatVersions,
  walPreallocatedTailVersion,
  type CheckedBatch,
  type WalBatch,
  type WalBatchLimits,
  type WalHeader,
} from './wal-format.js';

/** Bytes read at a time. */
const chunkBytesDefault = 1024 * 1024;
/** Most payload bytes the torn-tail scan checksums before giving up (see the header). */
const resyncScanBytesMaxDefault = 64 * 1024 * 1024;
/** Bytes read at a time while looking for where the zeros ending a file start. */
const zeroScanBytes = 1024 * 1024;
/** Smallest batch record: frame header, fixed batch fields, a one-byte op count. */
const batchRecordBytesMin = recordHeaderBytes + walBatchFixedBytes + 1;

/**
 * How to treat damage.
 * - 'recover': server start. Torn tail of the newest file cut off; other damage throws.
 * - 'readOnly': tools. Torn tail of the newest file reported, file untouched; other damage throws.
 * - 'strict': every bad record throws, a torn tail too (verify, archived files).
 * - 'salvage': `silt recover`. Never throws on damage: returns the records before it and where it is.
 */
export type WalReadMode = 'recover' | 'readOnly' | 'strict' | 'salvage';

export interface WalReadOptions {
  mode: WalReadMode;
  /** The newest live WAL file: the only one whose tail may be torn. */
  isNewest: boolean;
  /**
   * Called for each batch in file order, with the record's file offset.
   * Keys and values are views into a read buffer that the reader never
   * reuses: they stay valid while referenced (and keep that buffer, up to
   * 1 MiB or one record, alive; copy them to let it go). When the file turns
   * out damaged, the batches before the damage have already been delivered.
   */
  onBatch?: (batch: WalBatch, offset: number) => void;
  /**
   * Instead of onBatch: called for each batch with its payload, checked
   * whole (checkBatch()), for the caller to walk with forEachBatchOp()
   * without a Buffer or an object per op (WAL replay). The payload is a view
   * into a read buffer, as onBatch's keys and values are.
   */
  onPayload?: (payload: Buffer, batch: CheckedBatch, offset: number) => void;
  /** Decode every op (default true). False reads only each batch's sequence, time and op count; requires no onBatch or onPayload. */
  decodeOps?: boolean;
  /** File number the header must carry; by default the one in the file name (unchecked when the name has none). */
  fileNumber?: number;
  limits?: Readonly<WalBatchLimits>;
  /** Default walRecordBytesMax. */
  recordBytesMax?: number;
  /** Read size, bytes (default 1 MiB; tests use tiny ones). */
  chunkBytes?: number;
  /** CRC budget of the torn-tail scan, bytes (default 64 MiB). */
  resyncScanBytesMax?: number;
}

/** A bad region: from `offset` to the end of the file (`bytes` long). */
export interface WalDamage {
  offset: number;
  bytes: number;
  reason: string;
}

export interface WalReadResult {
  /** 'clean': every byte read; 'tornTail': the newest file's tail was torn; 'damaged': salvage stopped at damage. */
  kind: 'clean' | 'tornTail' | 'damaged';
  /** Undefined only when the header itself was missing or torn (or damaged, in salvage). */
  header: WalHeader | undefined;
  batches: number;
  ops: number;
  /** Sequence of the first op of the first batch. */
  firstSequence: number | undefined;
  /** Sequence of the last op of the last batch (of the first op, for an empty batch). */
  lastSequence: number | undefined;
  firstTimeMs: number | undefined;
  lastTimeMs: number | undefined;
  /** End of the last good record: where the good bytes stop. */
  validBytes: number;
  /** Size of the file when it was opened. */
  fileBytes: number;
  /** Zeros at the end of the file that the writer preallocated (format version 2), after the records or after the damage. */
  preallocatedBytes: number;
  /**
   * The torn tail ('tornTail') or the first damage ('damaged'); undefined
   * when clean. Its bytes stop where the preallocated zeros start.
   */
  damage: WalDamage | undefined;
  /** Torn bytes cut off in 'recover' mode (0 otherwise); the preallocated zeros after them go too, uncounted. */
  truncatedBytes: number;
  /** Where the file was cut in 'recover' mode, else undefined. */
  truncatedAtOffset: number | undefined;
}

/**
 * Reads a WAL file and reports every batch through `options.onBatch`.
 *
 * Example:
 *   const result = readWalFile(fs, 'data/wal/000012.log', { mode: 'recover', isNewest: true,
 *     onBatch: (batch) => memtable.apply(batch) });
 *   if (result.truncatedBytes > 0) logger.warn(result.damage, 'WAL torn tail truncated');
 *
 * @throws CorruptionError for damage that is not a torn tail of the newest file (except in 'salvage')
 * @throws UnsupportedVersionError when the header carries an unknown format version (every mode)
 * @throws the file system's error when the file cannot be opened, read or cut
 */
export function readWalFile(fs: FileSystem, path: string, options: WalReadOptions): WalReadResult {
  assert(options.decodeOps !== false || (options.onBatch === undefined && options.onPayload === undefined), 'onBatch and onPayload need decoded ops');
  assert(options.onBatch === undefined || options.onPayload === undefined, 'onBatch or onPayload, not both');
  const file = fs.open(path, 'read');
  let result: WalReadResult;
  try {
    result = new WalFileReader(file, path, options).read();
  } finally {
    file.close();
  }
  if (result.kind === 'tornTail' && options.mode === 'recover' && result.damage !== undefined && result.damage.bytes > 0) {
    cutTornTail(fs, path, result.damage.offset);
    result.truncatedBytes = result.damage.bytes;
    result.truncatedAtOffset = result.damage.offset;
  } else if (result.kind === 'clean' && options.mode === 'recover' && result.preallocatedBytes > 0) {
    // Zeros a killed writer left: cut, so that the file (archived later, perhaps) holds its records only.
    cutTornTail(fs, path, result.validBytes);
  }
  return result;
}

/** File numbers of the live WAL files in `<dataDir>/wal/`, ascending; names that are not NNNNNN.log are skipped. */
export function listWalFileNumbers(fs: FileSystem, dataDir: string): number[] {
  const dir = joinPath(dataDir, walDirName);
  if (!fs.exists(dir)) return [];
  const numbers: number[] = [];
  for (const name of fs.list(dir)) {
    const fileNumber = parseWalFileName(name);
    if (fileNumber !== undefined) numbers.push(fileNumber);
  }
  return numbers.sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------

/** Thrown inside WalFileReader to stop at damage; turned into a result or a CorruptionError. */
class Damage {
  constructor(
    readonly offset: number,
    readonly reason: string,
    /** True when the frame is bad (truncated, checksum); false when a checksummed record is malformed. */
    readonly frameBad: boolean,
  ) {}
}

/** Runs `decode` on a checksummed record at `position`; a CorruptionError (malformed contents) becomes Damage. */
function malformedAsDamage<T>(position: number, decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    if (error instanceof CorruptionError) throw new Damage(position, error.message, false);
    throw error;
  }
}

class WalFileReader {
  readonly #file: FileHandle;
  readonly #path: string;
  readonly #options: WalReadOptions;
  readonly #window: ReadWindow;
  readonly #size: number;
  readonly #recordBytesMax: number;
  readonly #limits: Readonly<WalBatchLimits>;
  readonly #result: WalReadResult;

  constructor(file: FileHandle, path: string, options: WalReadOptions) {
    this.#file = file;
    this.#path = path;
    this.#options = options;
    this.#size = file.size();
    this.#recordBytesMax = options.recordBytesMax ?? walRecordBytesMax;
    this.#limits = options.limits ?? defaultWalBatchLimits;
    this.#window = new ReadWindow(file, this.#size, options.chunkBytes ?? chunkBytesDefault);
    this.#result = {
      kind: 'clean',
      header: undefined,
      batches: 0,
      ops: 0,
      firstSequence: undefined,
      lastSequence: undefined,
      firstTimeMs: undefined,
      lastTimeMs: undefined,
      validBytes: 0,
      fileBytes: this.#size,
      preallocatedBytes: 0,
      damage: undefined,
      truncatedBytes: 0,
      truncatedAtOffset: undefined,
    };
  }

  read(): WalReadResult {
    try {
      if (this.#size === 0) throw new Damage(0, 'the file is empty: no header record', true);
      this.#readHeader();
      for (let position = this.#result.validBytes; position < this.#size && this.#result.preallocatedBytes === 0; ) {
        position = this.#readBatch(position);
        this.#result.validBytes = position;
      }
      return this.#result;
    } catch (error) {
      if (error instanceof Damage) return this.#damaged(error);
      throw error;
    }
  }

  #readHeader(): void {
    const record = this.#decodeAt(0);
    if (record.kind !== 'record') throw this.#frameDamage(record);
    if (record.type !== WalRecordType.header) {
      throw new Damage(0, `the first record has type ${record.type}, expected the header record (type ${WalRecordType.header})`, false);
    }
    let header: WalHeader;
    try {
      header = decodeHeader(record.payload, this.#path, 0);
    } catch (error) {
      if (error instanceof CorruptionError) throw new Damage(0, error.message, false);
      throw error;
    }
    if (!(walFormatVersions as readonly number[]).includes(header.formatVersion)) {
      throw new UnsupportedVersionError(
        this.#path,
        `Cannot read WAL file "${this.#path}": format version ${header.formatVersion} is not supported (this build reads ${walFormatVersions.join(', ')})`,
      );
    }
    const expected = this.#options.fileNumber ?? parseWalFileName(baseName(this.#path));
    if (expected !== undefined && header.fileNumber !== expected) {
      throw new Damage(0, `the header names file number ${header.fileNumber}, expected ${expected} (was the file renamed?)`, false);
    }
    this.#result.header = header;
    this.#result.validBytes = record.nextOffset;
  }

  /** Reads the batch record at `position`; returns the offset after it. */
  #readBatch(position: number): number {
    const record = this.#decodeAt(position);
    if (record.kind === 'end') return this.#size;
    if (record.kind !== 'record') {
      // Not a record: the preallocated zeros, if nothing but zeros follows.
      if (this.#mayBePreallocated() && this.#zerosFrom(position) === position) {
        this.#result.preallocatedBytes = this.#size - position;
        return position;
      }
      throw this.#frameDamage(record);
    }
    if (record.type !== WalRecordType.batch) {
      throw new Damage(position, `record has unknown type ${record.type} (a batch record is type ${WalRecordType.batch})`, false);
    }
    const result = this.#result;
    let sequence: number;
    let timeMs: number;
    let count: number;
    if (this.#options.decodeOps === false) {
      const peeked = peekBatch(record.payload);
      if (peeked === undefined) throw new Damage(position, 'batch header fields are malformed', false);
      ({ sequence, timeMs, count } = peeked);
    } else if (this.#options.onPayload !== undefined) {
      const checked = malformedAsDamage(position, () => checkBatch(record.payload, this.#path, position, this.#limits));
      ({ sequence, timeMs, count } = checked);
      this.#options.onPayload(record.payload, checked, position);
    } else {
      const batch = malformedAsDamage(position, () => decodeBatch(record.payload, this.#path, position, this.#limits));
      ({ sequence, timeMs } = batch);
      count = batch.ops.length;
      this.#options.onBatch?.(batch, position);
    }
    result.batches++;
    result.ops += count;
    result.firstSequence ??= sequence;
    result.firstTimeMs ??= timeMs;
    result.lastSequence = sequence + Math.max(count - 1, 0);
    result.lastTimeMs = timeMs;
    return record.nextOffset;
  }

  /** Decodes the record at file offset `position`, reading as much of it as the file holds. */
  #decodeAt(position: number): DecodeResult {
    const window = this.#window;
    window.cover(position, recordHeaderBytes);
    if (window.end - position >= recordHeaderBytes) {
      const length = window.buffer.readUInt32LE(position - window.start + 4);
      if (length <= this.#recordBytesMax) window.cover(position, recordHeaderBytes + length);
    }
    const decoded = decodeRecord(window.buffer, position - window.start, window.end - window.start, this.#recordBytesMax);
    // Offsets come back relative to the window; make them file offsets.
    switch (decoded.kind) {
      case 'record':
        return { ...decoded, offset: position, nextOffset: decoded.nextOffset + window.start };
      case 'end':
      case 'truncated':
      case 'corrupt':
        return { ...decoded, offset: position };
      default:
        return unreachable(decoded);
    }
  }

  /** Whether the file's format lets it end in preallocated zeros. */
  #mayBePreallocated(): boolean {
    const version = this.#result.header?.formatVersion;
    return version !== undefined && version >= walPreallocatedTailVersion;
  }

  /**
   * Where the run of zero bytes that ends the file starts, at or after
   * `from` (the file size when its last byte is not zero). Reads backwards,
   * each chunk once, into a buffer of its own: through the read window, each
   * step read a window's worth (a MiB) forward again, some 16 times the zeros
   * in all (a gigabyte for a 64 MiB preallocation).
   */
  #zerosFrom(from: number): number {
    let start = this.#size;
    if (start <= from) return start;
    // Its own ArrayBuffer, so the word view below is aligned.
    const chunk = Buffer.allocUnsafeSlow(Math.min(zeroScanBytes, start - from));
    const words = new Int32Array(chunk.buffer, 0, chunk.length >> 2);
    while (start > from) {
      const chunkStart = Math.max(from, start - zeroScanBytes);
      const length = start - chunkStart;
      let done = 0;
      while (done < length) {
        const count = this.#file.read(chunk, done, length - done, chunkStart + done);
        if (count === 0) return start; // the file is shorter than it was: what is missing is not zeros
        done += count;
      }
      // The bytes after the last whole word, then whole words, then the bytes of the word that is not zero.
      let index = length;
      for (; (index & 3) !== 0; index--) if (chunk[index - 1] !== 0) return chunkStart + index;
      let word = index >> 2;
      while (word > 0 && words[word - 1] === 0) word--;
      for (index = word << 2; index > 0; index--) if (chunk[index - 1] !== 0) return chunkStart + index;
      start = chunkStart;
    }
    return start;
  }

  #frameDamage(record: Exclude<DecodeResult, { kind: 'record' }>): Damage {
    const reason = record.kind === 'end' ? 'the file ends before the record' : record.reason;
    return new Damage(record.offset, reason, true);
  }

  /** Turns damage into a result (salvage, torn tail) or a CorruptionError. */
  #damaged(damage: Damage): WalReadResult {
    const { mode, isNewest } = this.#options;
    const result = this.#result;
    const size = this.#size;
    const tornEnd = this.#mayBePreallocated() && damage.offset < size ? Math.max(this.#zerosFrom(damage.offset), damage.offset + 1) : size;
    result.preallocatedBytes = this.#size - tornEnd;
    const region: WalDamage = { offset: damage.offset, bytes: tornEnd - damage.offset, reason: damage.reason };
    result.validBytes = damage.offset;
    if (mode === 'salvage') {
      result.kind = 'damaged';
      result.damage = region;
      return result;
    }
    const where = `Cannot read WAL record in "${this.#path}" at offset ${damage.offset}`;
    if (!damage.frameBad) throw new CorruptionError(this.#path, damage.offset, `${where}: ${damage.reason}`);
    if (mode === 'strict' || !isNewest) {
      const place = isNewest ? 'strict mode accepts no torn tail' : 'not the newest WAL file, so it cannot be a torn tail';
      throw new CorruptionError(this.#path, damage.offset, `${where}: ${damage.reason} (${place})`);
    }
    const found = this.#findValidRecordAfter(damage.offset);
    if (found === 'inconclusive') {
      throw new CorruptionError(this.#path, damage.offset, `${where}: ${damage.reason} (no torn tail: could not rule out valid records in the ${region.bytes} bytes after it)`);
    }
    if (found !== undefined) {
      throw new CorruptionError(this.#path, damage.offset, `${where}: ${damage.reason} (a valid record follows at offset ${found}, so this is not a torn tail)`);
    }
    result.kind = 'tornTail';
    result.damage = region;
    return result;
  }

  /**
   * The offset of the first valid batch record that starts after `from` and
   * continues the sequence, undefined when there is none, 'inconclusive'
   * when the CRC budget ran out first (see the module header).
   */
  #findValidRecordAfter(from: number): number | undefined | 'inconclusive' {
    const window = this.#window;
    const size = this.#size;
    const minSequence = this.#result.lastSequence ?? -1;
    let budget = this.#options.resyncScanBytesMax ?? resyncScanBytesMaxDefault;
    for (let position = from + 1; position + batchRecordBytesMin <= size; position++) {
      if (position < window.start || position + recordHeaderBytes > window.end) window.cover(position, recordHeaderBytes);
      let relative = position - window.start;
      if (window.buffer[relative + 8] !== WalRecordType.batch) continue;
      const length = window.buffer.readUInt32LE(relative + 4);
      if (length < walBatchFixedBytes + 1 || length > this.#recordBytesMax || length > size - position - recordHeaderBytes) continue;
      budget -= length + 1;
      if (budget < 0) return 'inconclusive';
      window.cover(position, recordHeaderBytes + length);
      relative = position - window.start;
      const record = decodeRecord(window.buffer, relative, window.end - window.start, this.#recordBytesMax);
      if (record.kind !== 'record') continue;
      const peeked = peekBatch(record.payload);
      if (peeked !== undefined && peeked.sequence > minSequence) return position;
    }
    return undefined;
  }
}

/**
 * A window of the file in memory: bytes [start, end) in `buffer`. Moving it
 * allocates a new buffer and never overwrites the old one, so views handed
 * out (batch keys and values) stay valid.
 */
class ReadWindow {
  buffer: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  readonly #file: FileHandle;
  readonly #size: number;
  readonly #chunkBytes: number;

  constructor(file: FileHandle, size: number, chunkBytes: number) {
    assert(chunkBytes >= recordHeaderBytes, 'WAL read chunk holds a record header');
    this.#file = file;
    this.#size = size;
    this.#chunkBytes = chunkBytes;
  }

  /** Makes the window hold [position, position + length), or as much of it as the file has. */
  cover(position: number, length: number): void {
    const wantedEnd = Math.min(position + length, this.#size);
    if (position >= this.start && wantedEnd <= this.end) return;
    const bytes = Math.min(Math.max(length, this.#chunkBytes), this.#size - position);
    const buffer = Buffer.allocUnsafe(bytes);
    let done = 0;
    while (done < bytes) {
      const count = this.#file.read(buffer, done, bytes - done, position + done);
      if (count === 0) break;
      done += count;
    }
    this.buffer = buffer;
    this.start = position;
    this.end = position + done;
  }
}

/** Cuts a torn tail (or preallocated zeros) off a WAL file at `offset` and makes the cut durable. */
function cutTornTail(fs: FileSystem, path: string, offset: number): void {
  truncateDurably(fs, path, offset);
}
