// Reading WAL files for the tools (docs/format.md, "Write-ahead log"): one
// summary per file that says whether it is clean, ends in a torn tail (normal
// after a crash, newest live file only) or is damaged, and for damage what
// lies beyond it: the records after a bad one that a salvage cannot keep.
//
// Classification reuses lib/wal/wal-reader.ts: a 'salvage' read gives the good
// prefix and the first damage without throwing; only when there is damage is
// the file read again in 'readOnly' mode, which decides torn tail (returns)
// versus corruption (throws), exactly as the server would at open.
//
// It never writes.

import { CorruptionError } from '../lib/errors.js';
import { decodeRecord, recordHeaderBytes } from '../lib/format/record-framing.js';
import { joinPath, readExactly, type FileSystem } from '../lib/fs/file-system.js';
import { archiveDir, walDir } from '../lib/format/file-names.js';
import { afterDamageChecksumBytesMax, afterDamageKeysMax, afterDamageScanBytesMax, walRecordBytesMax } from '../lib/limits.js';
import { decodeBatch, decodeHeader, parseWalFileName, peekBatch, walBatchFixedBytes, walHeaderPayloadBytes, WalRecordType, type WalBatch, type WalHeader } from '../lib/wal/wal-format.js';
import { varintBytesMax } from '../lib/format/varint.js';
import { readWalFile, type WalDamage } from '../lib/wal/wal-reader.js';

/** Bytes of a WAL header record: frame header and payload. */
const walHeaderRecordBytes = recordHeaderBytes + walHeaderPayloadBytes;

/** Most bytes after a damaged record that scanRecordsAfter reads, and keys it lists (lib/limits.ts). */
export { afterDamageKeysMax, afterDamageScanBytesMax };

/** Where a WAL file lives in a data directory. */
export type WalLocation = 'wal' | 'archive';

/** A WAL file found in a data directory. */
export interface WalFileRef {
  fileNumber: number;
  path: string;
  location: WalLocation;
}

/** One WAL file, read as far as it goes. */
export interface WalFileSummary extends WalFileRef {
  fileBytes: number;
  header: WalHeader | undefined;
  batches: number;
  ops: number;
  firstSequence: number | undefined;
  lastSequence: number | undefined;
  firstTimeMs: number | undefined;
  lastTimeMs: number | undefined;
  /** End of the last good record. */
  validBytes: number;
  /** Zeros the writer preallocated at the end of the file (WAL format version 2): not damage. */
  preallocatedBytes: number;
  /** clean; tornTail (newest live file, nothing valid after: normal after a crash); damaged. */
  state: 'clean' | 'tornTail' | 'damaged';
  damage: WalDamage | undefined;
  /** The reader's message for damage (names file and offset). */
  damageMessage: string | undefined;
}

/** The records found after a damaged one (by scanning for whole, checksummed batch records). */
export interface RecordsAfterDamage {
  records: number;
  ops: number;
  firstSequence: number | undefined;
  lastSequence: number | undefined;
  firstTimeMs: number | undefined;
  lastTimeMs: number | undefined;
  /** Distinct keys (hex) the found records write, in order of appearance, at most afterDamageKeysMax. */
  keys: string[];
  /** False when the scan stopped at afterDamageScanBytesMax before the end of the file. */
  complete: boolean;
}

/** Live WAL files (wal/) and archived ones (archive/) of `dataDir`, each ascending by file number. */
export function listWalFiles(fs: FileSystem, dataDir: string): { live: WalFileRef[]; archived: WalFileRef[] } {
  return { live: listIn(fs, walDir(dataDir), 'wal'), archived: listIn(fs, archiveDir(dataDir), 'archive') };
}

/** WAL files (NNNNNN.log) in `dir`, ascending; other names skipped. */
export function listIn(fs: FileSystem, dir: string, location: WalLocation): WalFileRef[] {
  if (!fs.exists(dir)) return [];
  const refs: WalFileRef[] = [];
  for (const name of fs.list(dir)) {
    const fileNumber = parseWalFileName(name);
    if (fileNumber !== undefined) refs.push({ fileNumber, path: joinPath(dir, name), location });
  }
  return refs.sort((a, b) => a.fileNumber - b.fileNumber);
}

/**
 * Reads one WAL file and classifies how it ends.
 * @param isNewest true for the newest live file: the only one whose tail may be torn
 * @param onBatch called for each good batch in order (views into read buffers; see readWalFile)
 * @throws UnsupportedVersionError for an unknown format version; the file system's errors
 */
export function summarizeWalFile(fs: FileSystem, ref: WalFileRef, isNewest: boolean, onBatch?: (batch: WalBatch, offset: number) => void): WalFileSummary {
  // Ops are always decoded: a checksummed record whose ops do not decode is damage to the
  // server's replay, so the good prefix must end before it here too.
  const result = readWalFile(fs, ref.path, onBatch === undefined ? { mode: 'salvage', isNewest } : { mode: 'salvage', isNewest, onBatch });
  const summary: WalFileSummary = {
    ...ref,
    fileBytes: result.fileBytes,
    header: result.header,
    batches: result.batches,
    ops: result.ops,
    firstSequence: result.firstSequence,
    lastSequence: result.lastSequence,
    firstTimeMs: result.firstTimeMs,
    lastTimeMs: result.lastTimeMs,
    validBytes: result.validBytes,
    preallocatedBytes: result.preallocatedBytes,
    state: 'clean',
    damage: result.damage,
    damageMessage: undefined,
  };
  if (result.kind === 'clean') return summary;
  summary.state = 'damaged';
  summary.damageMessage = `Cannot read WAL record in "${ref.path}" at offset ${result.damage!.offset}: ${result.damage!.reason}`;
  if (!isNewest) return summary;
  try {
    const strict = readWalFile(fs, ref.path, { mode: 'readOnly', isNewest: true });
    if (strict.kind === 'tornTail') summary.state = 'tornTail';
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    summary.damageMessage = error.message;
  }
  return summary;
}

/**
 * Whether the damage of a live WAL file that is not the newest loses no
 * write: its header was read, no whole record follows the damage, and the
 * next live file starts at the very next sequence. Bit rot in the zeros the
 * writer preallocated after a file's last record reads so: nothing was written
 * there, and replay may go on with the next file.
 * @param lastGood the last sequence before the damage (this file's last record, or the file before's)
 * @param next the next live WAL file, undefined when there is none
 */
export function damageLosesNothing(summary: WalFileSummary, after: RecordsAfterDamage, lastGood: number | undefined, next: WalFileSummary | undefined): boolean {
  return (
    summary.state === 'damaged' &&
    summary.header !== undefined &&
    after.records === 0 &&
    after.complete &&
    lastGood !== undefined &&
    next?.header !== undefined &&
    next.firstSequence === lastGood + 1
  );
}

/**
 * Finds the whole, checksummed batch records after the damage at `fromOffset`
 * whose sequence is above `afterSequence`: what a salvage that stops at the
 * damage loses besides the damaged record itself. `onRecord` gets each one's
 * frame (a copy) and file offset, in order (recover --skip-damaged-wal-records keeps them).
 */
export function scanRecordsAfter(fs: FileSystem, path: string, fromOffset: number, afterSequence: number, onRecord?: (frame: Buffer, offset: number) => void): RecordsAfterDamage {
  const found: RecordsAfterDamage = { records: 0, ops: 0, firstSequence: undefined, lastSequence: undefined, firstTimeMs: undefined, lastTimeMs: undefined, keys: [], complete: true };
  const keys = new Set<string>();
  const file = fs.open(path, 'read');
  let bytes: Buffer;
  try {
    const available = file.size() - fromOffset;
    if (available <= 0) return found;
    const length = Math.min(available, afterDamageScanBytesMax);
    found.complete = length === available;
    bytes = readExactly(file, fromOffset, length);
  } finally {
    file.close();
  }
  let minimum = afterSequence;
  let checksummed = 0;
  // Bound: each step moves at least one byte forward, and checksums count against afterDamageChecksumBytesMax.
  for (let offset = 1; offset + recordHeaderBytes <= bytes.length; ) {
    if (bytes[offset + 8] !== WalRecordType.batch || !mayStartBatch(bytes, offset, minimum)) {
      offset++;
      continue;
    }
    checksummed += bytes.readUInt32LE(offset + 4);
    if (checksummed > afterDamageChecksumBytesMax) {
      found.complete = false;
      break;
    }
    const decoded = decodeRecord(bytes, offset, bytes.length, walRecordBytesMax);
    const peeked = decoded.kind === 'record' ? peekBatch(decoded.payload) : undefined;
    if (decoded.kind !== 'record' || peeked === undefined || peeked.sequence <= minimum) {
      offset++;
      continue;
    }
    found.records++;
    onRecord?.(Buffer.from(bytes.subarray(offset, decoded.nextOffset)), fromOffset + offset);
    found.ops += peeked.count;
    found.firstSequence ??= peeked.sequence;
    found.firstTimeMs ??= peeked.timeMs;
    found.lastSequence = peeked.sequence + Math.max(peeked.count - 1, 0);
    found.lastTimeMs = peeked.timeMs;
    minimum = found.lastSequence;
    for (const op of tryDecodeBatch(decoded.payload, path, fromOffset + offset)?.ops ?? []) {
      if (keys.size < afterDamageKeysMax) keys.add(op.key.toString('hex'));
    }
    offset = decoded.nextOffset;
  }
  found.keys = [...keys];
  return found;
}

/**
 * Whether a batch record may start at `offset` of `bytes`, by what its
 * checksum covers but costs nothing to read: a length the bytes hold, with
 * the batch's fixed fields, a sequence above `minimum` and both it and the
 * time safe integers (random bytes pass about once in 4 million places).
 */
function mayStartBatch(bytes: Buffer, offset: number, minimum: number): boolean {
  const length = bytes.readUInt32LE(offset + 4);
  const payload = offset + recordHeaderBytes;
  if (length <= walBatchFixedBytes || length > bytes.length - payload) return false;
  const peeked = peekBatch(bytes.subarray(payload, payload + walBatchFixedBytes + varintBytesMax));
  return peeked !== undefined && peeked.sequence > minimum;
}

/**
 * The format version in a WAL file's header record, or undefined when the
 * header cannot be read (damage, which the other functions report).
 */
export function walFormatVersionOf(fs: FileSystem, path: string): number | undefined {
  const file = fs.open(path, 'read');
  let bytes: Buffer;
  try {
    bytes = readExactly(file, 0, Math.min(file.size(), walHeaderRecordBytes));
  } finally {
    file.close();
  }
  const decoded = decodeRecord(bytes, 0, bytes.length, walHeaderRecordBytes);
  if (decoded.kind !== 'record' || decoded.type !== WalRecordType.header) return undefined;
  try {
    return decodeHeader(decoded.payload, path, 0).formatVersion;
  } catch (error) {
    if (error instanceof CorruptionError) return undefined;
    throw error;
  }
}

/** Decodes one record's batch, or undefined when it does not decode. */
export function tryDecodeBatch(payload: Buffer, file: string, offset: number): WalBatch | undefined {
  try {
    return decodeBatch(payload, file, offset);
  } catch (error) {
    if (error instanceof CorruptionError) return undefined;
    throw error;
  }
}
