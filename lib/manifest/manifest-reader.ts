// Reads a data directory's manifest (docs/format.md, "Manifest"): CURRENT
// names it, its records are replayed into a Version.
//
// Torn tail versus damage, as for the WAL:
// - A record cut short by the end of the file, or a bad record with no valid
//   record anywhere after it, is a torn tail: an append whose fdatasync never
//   returned, so nothing acted on that edit. It is ignored, reported, and
//   (unless readOnly) truncated away.
// - A bad record followed by a valid one, a checksummed record that does not
//   decode, an edit that breaks a Version invariant, or damage in the header or
//   the first (snapshot) edit, which were synced before CURRENT named the file,
//   is corruption: CorruptionError naming the file and offset. `silt recover`
//   rebuilds from the segments.
//
// A directory without CURRENT is new if it holds nothing silt cares about
// (probeDataDirectory says 'empty'); otherwise CURRENT was lost, which is
// corruption too.

import { AssertionError } from '../assert.js';
import { CorruptionError, InvalidArgumentError, IoError, KvError } from '../errors.js';
import { crc32 } from '../format/crc32.js';
import { decodeRecord, recordHeaderBytes } from '../format/record-framing.js';
import { joinPath, truncateDurably, type FileSystem } from '../fs/file-system.js';
import { manifestRecordBytesMax } from '../limits.js';
import { readCurrent } from './current-file.js';
import {
  archiveDirName,
  checkpointsDirName,
  currentFileName,
  currentPath,
  parseFileName,
  segmentDirName,
  walDirName,
} from '../format/file-names.js';
import { decodeManifestHeader, manifestFileBytesMax, ManifestRecordType } from './manifest-format.js';
import { decodeVersionEdit, type VersionEdit } from './version-edit.js';
import { Version, VersionBuilder } from './version.js';

/** What replaying a manifest yields. */
export interface ManifestState {
  /** "MANIFEST-000007" */
  manifestName: string;
  manifestNumber: number;
  formatVersion: number;
  version: Version;
  /** WAL files numbered below it are fully flushed into segments; replay the rest. */
  logNumber: number;
  nextFileNumber: number;
  lastSequence: number;
  /** Edit records replayed, the snapshot included. */
  editCount: number;
  /** Bytes of whole records: the file's length once a torn tail is cut off. */
  fileBytes: number;
  /** Present when the file ended in a torn record: where it started and how many bytes it held. */
  truncatedTail?: TornTail;
}

export interface TornTail {
  offset: number;
  bytes: number;
  reason: string;
}

export interface ReadManifestOptions {
  /** When true nothing is written: a torn tail is reported but left in place. Tools open read-only. */
  readOnly: boolean;
}

/** What a directory without (or with) CURRENT looks like. */
export interface DataDirectoryProbe {
  /**
   * absent: no such directory. empty: no CURRENT and nothing that holds data, so a new
   * database may be created (after removing `leftoverNames`). present: CURRENT exists.
   * missing-current: no CURRENT, yet the directory holds files: CURRENT was lost.
   */
  state: 'absent' | 'empty' | 'present' | 'missing-current';
  /** Manifests and temp files an interrupted creation left (state 'empty' only). */
  leftoverNames: string[];
  /** Names that make the directory non-empty (state 'missing-current' only); directories end in "/". */
  dataNames: string[];
}

/** One record of a manifest, for `silt inspect`. */
export type ManifestEntry =
  | { kind: 'header'; offset: number; recordBytes: number; formatVersion: number }
  | { kind: 'edit'; offset: number; recordBytes: number; edit: VersionEdit };

/** Every record of one manifest file, as far as it decodes. */
export interface ManifestListing {
  manifestName: string;
  entries: ManifestEntry[];
  /** Bytes of whole, decoded records. */
  fileBytes: number;
  truncatedTail?: TornTail;
  /** The first corruption met; listing stops there. */
  problem?: { offset: number; message: string };
}

/**
 * Reads CURRENT and replays the manifest it names.
 * @throws CorruptionError when CURRENT is lost (a non-empty directory without it),
 *   malformed, names a missing manifest, or the manifest is damaged (see the module header)
 * @throws UnsupportedVersionError when the manifest has an unknown format version
 * @throws InvalidArgumentError when `dir` holds no database (probeDataDirectory says absent or empty)
 */
export function readManifest(fs: FileSystem, dir: string, options: ReadManifestOptions): ManifestState {
  if (!fs.exists(currentPath(dir))) {
    const probe = probeDataDirectory(fs, dir);
    if (probe.state === 'missing-current') {
      const names = probe.dataNames.slice(0, 5).map((name) => `"${name}"`).join(', ');
      throw new CorruptionError(
        currentFileName,
        0,
        `Cannot open data directory "${dir}": "${currentFileName}" is missing but the directory holds ${names}${probe.dataNames.length > 5 ? ', ...' : ''}; run silt recover`,
      );
    }
    throw new InvalidArgumentError(`Cannot read manifest in "${dir}": no database there (no "${currentFileName}")`);
  }
  return readManifestFile(fs, dir, readCurrent(fs, dir), options);
}

/**
 * Replays one manifest file whatever CURRENT says (recover, inspect,
 * checkpoints). Same rules and errors as readManifest.
 */
export function readManifestFile(fs: FileSystem, dir: string, manifestName: string, options: ReadManifestOptions): ManifestState {
  const parsed = parseFileName(manifestName);
  if (parsed?.kind !== 'manifest') throw new InvalidArgumentError(`Cannot read manifest "${manifestName}": not a manifest file name`);
  const path = joinPath(dir, manifestName);
  const bytes = readManifestBytes(fs, path, manifestName);
  const replay = new Replay(manifestName, parsed.number);
  const scan = scanManifest(bytes, manifestName, (record) => replay.record(record));
  if (scan.damage !== undefined) throw scan.damage;
  replay.checkHead(scan.validEnd, bytes.length);
  const state = replay.finish(scan.validEnd);
  if (scan.tornTail !== undefined) {
    state.truncatedTail = scan.tornTail;
    if (!options.readOnly) truncateFile(fs, path, scan.validEnd);
  }
  return state;
}

/**
 * Lists the records of the manifest at `path` with their offsets, for
 * `silt inspect`. Damage does not throw: it ends the listing and is reported
 * in `problem`. Edits are decoded but not applied.
 * @throws IoError-like errors from the file system only
 */
export function listManifestEdits(fs: FileSystem, path: string): ManifestListing {
  const manifestName = path.slice(path.lastIndexOf('/') + 1);
  const entries: ManifestEntry[] = [];
  const listing: ManifestListing = { manifestName, entries, fileBytes: 0 };
  let bytes: Buffer;
  try {
    bytes = readManifestBytes(fs, path, manifestName);
  } catch (error) {
    if (!(error instanceof KvError)) throw error;
    listing.problem = { offset: error instanceof CorruptionError ? error.offset : 0, message: error.message };
    return listing;
  }
  const scan = scanManifest(bytes, manifestName, (record) => {
    const recordBytes = record.nextOffset - record.offset;
    if (record.type === ManifestRecordType.header) {
      entries.push({ kind: 'header', offset: record.offset, recordBytes, formatVersion: decodeManifestHeader(record.payload, manifestName, record.offset + recordHeaderBytes) });
    } else {
      entries.push({ kind: 'edit', offset: record.offset, recordBytes, edit: decodeVersionEdit(record.payload, manifestName, record.offset + recordHeaderBytes) });
    }
  });
  listing.fileBytes = scan.validEnd;
  if (scan.tornTail !== undefined) listing.truncatedTail = scan.tornTail;
  if (scan.damage !== undefined) listing.problem = { offset: scan.damage instanceof CorruptionError ? scan.damage.offset : 0, message: scan.damage.message };
  return listing;
}

/** Says whether `dir` holds a database, none, or one whose CURRENT was lost. */
export function probeDataDirectory(fs: FileSystem, dir: string): DataDirectoryProbe {
  const probe: DataDirectoryProbe = { state: 'absent', leftoverNames: [], dataNames: [] };
  if (!fs.exists(dir)) return probe;
  if (fs.exists(currentPath(dir))) {
    probe.state = 'present';
    return probe;
  }
  const knownDirectories = new Set([walDirName, segmentDirName, archiveDirName, checkpointsDirName]);
  for (const name of fs.list(dir)) {
    const kind = parseFileName(name)?.kind;
    if (kind === 'lock' || kind === 'reserve') continue;
    if (kind === 'temp' || kind === 'manifest') {
      probe.leftoverNames.push(name);
      continue;
    }
    const path = joinPath(dir, name);
    if (knownDirectories.has(name) && fs.stat(path).isDirectory) {
      if (fs.list(path).length > 0) probe.dataNames.push(`${name}/`);
      continue;
    }
    probe.dataNames.push(name);
  }
  probe.state = probe.dataNames.length === 0 ? 'empty' : 'missing-current';
  if (probe.state === 'missing-current') probe.leftoverNames = [];
  return probe;
}

/** A whole, checksummed record; `payload` is a view into the file's bytes. */
interface ManifestRecord {
  type: number;
  payload: Buffer;
  offset: number;
  nextOffset: number;
}

interface ScanResult {
  /** Offset just past the last whole record handed to the callback. */
  validEnd: number;
  tornTail?: TornTail;
  damage?: Error;
}

/**
 * Walks the records of a manifest, handing each to `onRecord` (which may
 * throw a KvError to stop with damage). Classifies how the bytes end.
 */
function scanManifest(bytes: Buffer, file: string, onRecord: (record: ManifestRecord) => void): ScanResult {
  let offset = 0;
  // Bound: every iteration consumes at least one record header of the file.
  for (let iteration = 0; iteration <= bytes.length / recordHeaderBytes; iteration++) {
    const result = decodeRecord(bytes, offset, bytes.length, manifestRecordBytesMax);
    if (result.kind === 'end') return { validEnd: offset };
    if (result.kind === 'truncated') {
      return { validEnd: offset, tornTail: { offset, bytes: bytes.length - offset, reason: result.reason } };
    }
    if (result.kind === 'corrupt') {
      const validAt = findValidRecord(bytes, offset + 1);
      if (validAt === undefined) return { validEnd: offset, tornTail: { offset, bytes: bytes.length - offset, reason: result.reason } };
      const message = `Cannot read manifest "${file}" at offset ${offset}: ${result.reason}, and a valid record follows at offset ${validAt}`;
      return { validEnd: offset, damage: new CorruptionError(file, offset, message) };
    }
    if (result.type !== ManifestRecordType.header && result.type !== ManifestRecordType.edit) {
      return { validEnd: offset, damage: new CorruptionError(file, offset, `Cannot read manifest "${file}" at offset ${offset}: unknown record type ${result.type}`) };
    }
    try {
      onRecord(result);
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      return { validEnd: offset, damage: error };
    }
    offset = result.nextOffset;
  }
  throw new AssertionError('a manifest scan ends within its bound');
}

/**
 * The offset of the first whole, checksummed manifest record starting at or
 * after `from`, if any. Cheap tests first (type byte, length) so a scan
 * through a zero-filled or random tail costs little per byte.
 */
function findValidRecord(bytes: Buffer, from: number): number | undefined {
  for (let offset = from; offset + recordHeaderBytes <= bytes.length; offset++) {
    const type = bytes[offset + 8]!;
    if (type !== ManifestRecordType.header && type !== ManifestRecordType.edit) continue;
    const length = bytes.readUInt32LE(offset + 4);
    if (length > manifestRecordBytesMax || length > bytes.length - offset - recordHeaderBytes) continue;
    if (crc32(bytes.subarray(offset + 8, offset + recordHeaderBytes + length)) === bytes.readUInt32LE(offset)) return offset;
  }
  return undefined;
}

/** Applies records in order and checks the rules that span records. */
class Replay {
  readonly #file: string;
  readonly #manifestNumber: number;
  #formatVersion: number | undefined;
  #builder = new VersionBuilder(Version.empty());
  #editCount = 0;
  #logNumber = 0;
  #nextFileNumber = 0;
  #lastSequence = 0;
  #lastEditOffset = 0;
  /** Offset of the last edit that changed each level, to blame ordering problems found at the end. */
  readonly #levelOffsets = new Map<number, number>();

  constructor(file: string, manifestNumber: number) {
    this.#file = file;
    this.#manifestNumber = manifestNumber;
  }

  record(record: ManifestRecord): void {
    const payloadOffset = record.offset + recordHeaderBytes;
    if (this.#formatVersion === undefined) {
      if (record.type !== ManifestRecordType.header) this.#fail(record.offset, `expected a header record first, found record type ${record.type}`);
      this.#formatVersion = decodeManifestHeader(record.payload, this.#file, payloadOffset);
      return;
    }
    if (record.type === ManifestRecordType.header) this.#fail(record.offset, 'a second header record');
    this.#edit(decodeVersionEdit(record.payload, this.#file, payloadOffset), record.offset);
  }

  /** The header and snapshot edit were synced before CURRENT named the file: they must be whole. */
  checkHead(validEnd: number, fileBytes: number): void {
    if (this.#formatVersion === undefined) this.#fail(validEnd, fileBytes === 0 ? 'the file is empty' : 'the header record is damaged');
    if (this.#editCount === 0) this.#fail(validEnd, 'the snapshot edit after the header is missing or damaged');
  }

  finish(validEnd: number): ManifestState {
    const result = this.#builder.finish();
    if (result.kind === 'problem') {
      const offset = (result.level === undefined ? undefined : this.#levelOffsets.get(result.level)) ?? this.#lastEditOffset;
      this.#fail(offset, `the edits leave an invalid version: ${result.problem}`);
    }
    const version = result.version;
    if (this.#nextFileNumber <= this.#manifestNumber) {
      this.#fail(this.#lastEditOffset, `next file number ${this.#nextFileNumber} is not above the manifest's own number ${this.#manifestNumber}`);
    }
    for (const fileNumber of version.fileNumbers()) {
      if (fileNumber >= this.#nextFileNumber) this.#fail(this.#lastEditOffset, `segment ${fileNumber} is not below next file number ${this.#nextFileNumber}`);
    }
    if (this.#logNumber > this.#nextFileNumber) {
      this.#fail(this.#lastEditOffset, `log number ${this.#logNumber} is above next file number ${this.#nextFileNumber}`);
    }
    return {
      manifestName: this.#file,
      manifestNumber: this.#manifestNumber,
      formatVersion: this.#formatVersion!,
      version,
      logNumber: this.#logNumber,
      nextFileNumber: this.#nextFileNumber,
      lastSequence: this.#lastSequence,
      editCount: this.#editCount,
      fileBytes: validEnd,
    };
  }

  #edit(edit: VersionEdit, offset: number): void {
    if (this.#editCount === 0) {
      for (const field of ['logNumber', 'nextFileNumber', 'lastSequence'] as const) {
        if (edit[field] === undefined) this.#fail(offset, `the first edit is not a snapshot: it lacks ${field}`);
      }
      if (edit.deleted.length > 0) this.#fail(offset, 'the first edit is not a snapshot: it deletes segments');
    }
    this.#logNumber = this.#grow('log number', this.#logNumber, edit.logNumber, offset);
    this.#nextFileNumber = this.#grow('next file number', this.#nextFileNumber, edit.nextFileNumber, offset);
    this.#lastSequence = this.#grow('last sequence', this.#lastSequence, edit.lastSequence, offset);
    const problem = this.#builder.apply(edit);
    if (problem !== undefined) this.#fail(offset, `the edit ${problem.problem}`);
    for (const { level } of edit.deleted) this.#levelOffsets.set(level, offset);
    for (const { level } of edit.added) this.#levelOffsets.set(level, offset);
    this.#editCount++;
    this.#lastEditOffset = offset;
  }

  #grow(what: string, previous: number, next: number | undefined, offset: number): number {
    if (next === undefined) return previous;
    if (next < previous) this.#fail(offset, `${what} goes back from ${previous} to ${next}`);
    return next;
  }

  #fail(offset: number, reason: string): never {
    throw new CorruptionError(this.#file, offset, `Cannot replay manifest "${this.#file}" at offset ${offset}: ${reason}`);
  }
}

function readManifestBytes(fs: FileSystem, path: string, file: string): Buffer {
  if (!fs.exists(path)) throw new CorruptionError(file, 0, `Cannot read manifest "${file}": the file is missing`);
  try {
    const size = fs.stat(path).size;
    if (size > manifestFileBytesMax) {
      throw new CorruptionError(file, manifestFileBytesMax, `Cannot read manifest "${file}": ${size} bytes, more than the limit of ${manifestFileBytesMax}`);
    }
    return fs.readFile(path);
  } catch (error) {
    throw ioError(`Cannot read manifest "${file}"`, error);
  }
}

/** Cuts a torn tail off and makes the new length durable. */
function truncateFile(fs: FileSystem, path: string, length: number): void {
  try {
    truncateDurably(fs, path, length);
  } catch (error) {
    throw ioError(`Cannot truncate the torn tail of manifest "${path}" to ${length} bytes`, error);
  }
}

/** Wraps a failed system call in IoError; silt errors and bugs pass unchanged. */
function ioError(action: string, error: unknown): unknown {
  if (error instanceof KvError || typeof (error as { code?: unknown } | undefined)?.code !== 'string') return error;
  return new IoError(`${action}: ${(error as Error).message}`, { cause: error });
}
