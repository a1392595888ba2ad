// Writes a manifest: the log of version edits (docs/format.md, "Manifest").
//
// A new manifest starts with a header record and a snapshot edit (the whole
// version), is synced with its directory entry, and only then does CURRENT
// switch to it; so a manifest that CURRENT names always has an intact head.
// Each later edit is one framed record, appended and fdatasynced before
// append() resolves. The caller acts on an edit (deletes obsolete files,
// drops flushed WAL files) only after that.
//
// Appends are written to the file in call order, synchronously, and each
// append's promise resolves after an fdatasync that started after its bytes
// were written; so several appends may be in flight. After any failed write or
// sync the writer refuses further appends (the file may end in a partial
// record, and an edit after it would turn a torn tail into mid-file damage):
// the engine stops writes or rolls to a new manifest from its in-memory version.
//
// Rolling to a new manifest once `fileBytes` passes manifestBytesMax is the
// engine's decision: create a writer for a new file number with
// version.toSnapshotEdit(...), passing the old manifest's name so it is
// removed once CURRENT no longer names it, then close the old writer.

import { assert, AssertionError } from '../assert.js';
import { IoError, KvError, LimitExceededError, WriteStoppedError } from '../errors.js';
import { encodeRecord } from '../format/record-framing.js';
import { joinPath, type FileHandle, type FileSystem } from '../fs/file-system.js';
import { manifestRecordBytesMax } from '../limits.js';
import { writeCurrent } from './current-file.js';
import { manifestFileName, manifestPath } from '../format/file-names.js';
import { encodeManifestHeader, ManifestRecordType } from './manifest-format.js';
import { encodeVersionEdit, type VersionEdit } from './version-edit.js';

export interface ManifestCreateOptions {
  /** A manifest to delete once CURRENT names the new one (the manifest being rolled away from). */
  previousManifestName?: string;
}

/** Where an existing manifest ends and what it says; readManifest returns it (ManifestState fits). */
export interface ManifestResumeState {
  manifestNumber: number;
  /** Bytes of whole records; the file must be exactly this long (readManifest truncates a torn tail). */
  fileBytes: number;
  editCount: number;
  logNumber: number;
  nextFileNumber: number;
  lastSequence: number;
}

/** Appends version edits to one manifest file. */
export class ManifestWriter {
  readonly manifestNumber: number;
  /** "MANIFEST-000007" */
  readonly manifestName: string;
  readonly #dir: string;
  #file: FileHandle | undefined;
  #fileBytes: number;
  #editCount: number;
  #appendsInFlight = 0;
  #failure: unknown;
  #logNumber: number;
  #nextFileNumber: number;
  #lastSequence: number;

  private constructor(dir: string, file: FileHandle, state: ManifestResumeState) {
    this.#dir = dir;
    this.#file = file;
    this.manifestNumber = state.manifestNumber;
    this.manifestName = manifestFileName(state.manifestNumber);
    this.#fileBytes = state.fileBytes;
    this.#editCount = state.editCount;
    this.#logNumber = state.logNumber;
    this.#nextFileNumber = state.nextFileNumber;
    this.#lastSequence = state.lastSequence;
  }

  /**
   * Creates MANIFEST-`manifestNumber` holding a header and `snapshot`, syncs
   * it and its directory entry, points CURRENT at it, then deletes
   * `options.previousManifestName` if given. Blocks on the syncs (it runs on
   * open and on the rare manifest roll).
   * @param snapshot a full-state edit (Version#toSnapshotEdit): every scalar set, no deletions
   * @throws LimitExceededError when the snapshot is larger than manifestRecordBytesMax
   * @throws IoError when a write or sync fails. NB: if it fails inside the
   *   CURRENT switch, CURRENT may name either manifest; the caller must stop
   *   writing until the directory is reopened.
   * @example
   *   const writer = ManifestWriter.create(fs, dir, 1, Version.empty().toSnapshotEdit(0, 2, 0));
   */
  static create(fs: FileSystem, dir: string, manifestNumber: number, snapshot: VersionEdit, options: ManifestCreateOptions = {}): ManifestWriter {
    const { logNumber, nextFileNumber, lastSequence } = snapshot;
    assert(logNumber !== undefined, 'a snapshot edit sets logNumber');
    assert(nextFileNumber !== undefined, 'a snapshot edit sets nextFileNumber');
    assert(lastSequence !== undefined, 'a snapshot edit sets lastSequence');
    assert(snapshot.deleted.length === 0, 'a snapshot edit deletes nothing');
    assert(manifestNumber < nextFileNumber, 'the manifest number was taken from the counter');
    assert(options.previousManifestName !== manifestFileName(manifestNumber), 'a new manifest does not replace itself');
    const name = manifestFileName(manifestNumber);
    const editPayload = encodeVersionEdit(snapshot);
    checkRecordBytes(name, editPayload);
    const bytes = Buffer.concat([encodeRecord(ManifestRecordType.header, encodeManifestHeader()), encodeRecord(ManifestRecordType.edit, editPayload)]);

    const path = manifestPath(dir, manifestNumber);
    let file: FileHandle | undefined;
    try {
      file = fs.open(path, 'create');
      file.append(bytes);
      file.syncBlocking();
      fs.syncDir(dir);
    } catch (error) {
      if (file !== undefined) {
        // Only a file this call created is removed: EEXIST must leave the existing one alone.
        file.close();
        removeQuietly(fs, path);
      }
      throw ioError(`Cannot create manifest "${name}" in "${dir}"`, error);
    }
    try {
      writeCurrent(fs, dir, name);
    } catch (error) {
      file.close();
      throw ioError(`Cannot point "CURRENT" in "${dir}" at manifest "${name}"`, error);
    }
    if (options.previousManifestName !== undefined) removeQuietly(fs, joinPath(dir, options.previousManifestName));
    return new ManifestWriter(dir, file, { manifestNumber, fileBytes: bytes.length, editCount: 1, logNumber, nextFileNumber, lastSequence });
  }

  /**
   * Reopens the manifest that readManifest just read (with readOnly false, so
   * any torn tail is gone) to append to it, instead of starting a new one.
   * @throws IoError when it cannot be opened
   */
  static openExisting(fs: FileSystem, dir: string, state: ManifestResumeState): ManifestWriter {
    const name = manifestFileName(state.manifestNumber);
    let file: FileHandle;
    try {
      file = fs.open(manifestPath(dir, state.manifestNumber), 'append');
    } catch (error) {
      throw ioError(`Cannot open manifest "${name}" in "${dir}" for appending`, error);
    }
    if (file.size() !== state.fileBytes) {
      file.close();
      assert(false, `manifest "${name}" is ${state.fileBytes} bytes as read (torn tail truncated)`);
    }
    return new ManifestWriter(dir, file, state);
  }

  /** Bytes written to the file so far (including appends still syncing). */
  get fileBytes(): number {
    return this.#fileBytes;
  }

  /** Edit records written so far, the snapshot included. */
  get editCount(): number {
    return this.#editCount;
  }

  /** The latest logNumber, nextFileNumber and lastSequence written. */
  get logNumber(): number {
    return this.#logNumber;
  }

  get nextFileNumber(): number {
    return this.#nextFileNumber;
  }

  get lastSequence(): number {
    return this.#lastSequence;
  }

  /** The error that stopped this writer, if one did. */
  get failure(): unknown {
    return this.#failure;
  }

  /** `dir/MANIFEST-NNNNNN` */
  get path(): string {
    return manifestPath(this.#dir, this.manifestNumber);
  }

  /**
   * Appends `edit` as one record and fdatasyncs it. Scalars must not go
   * backwards (logNumber, nextFileNumber, lastSequence only grow), since the
   * reader treats a decrease as corruption.
   * @returns once the edit is durable
   * @throws WriteStoppedError when an earlier append failed
   * @throws LimitExceededError when the edit is larger than manifestRecordBytesMax (nothing written)
   * @throws IoError when the write or sync fails (the writer then stops)
   */
  async append(edit: VersionEdit): Promise<void> {
    const file = this.#file;
    assert(file !== undefined, 'manifest writer is open');
    if (this.#failure !== undefined) {
      throw new WriteStoppedError(`Cannot append to manifest "${this.manifestName}": an earlier write failed`, { cause: this.#failure });
    }
    assert(edit.logNumber === undefined || edit.logNumber >= this.#logNumber, 'logNumber does not go backwards');
    assert(edit.nextFileNumber === undefined || edit.nextFileNumber >= this.#nextFileNumber, 'nextFileNumber does not go backwards');
    assert(edit.lastSequence === undefined || edit.lastSequence >= this.#lastSequence, 'lastSequence does not go backwards');
    const payload = encodeVersionEdit(edit);
    checkRecordBytes(this.manifestName, payload);
    const record = encodeRecord(ManifestRecordType.edit, payload);
    try {
      file.append(record);
    } catch (error) {
      this.#failure = error;
      throw ioError(`Cannot append to manifest "${this.manifestName}" at offset ${this.#fileBytes}`, error);
    }
    this.#fileBytes += record.length;
    this.#editCount++;
    this.#logNumber = edit.logNumber ?? this.#logNumber;
    this.#nextFileNumber = edit.nextFileNumber ?? this.#nextFileNumber;
    this.#lastSequence = edit.lastSequence ?? this.#lastSequence;
    this.#appendsInFlight++;
    try {
      await file.sync();
    } catch (error) {
      this.#failure ??= error;
      throw ioError(`Cannot sync manifest "${this.manifestName}"`, error);
    } finally {
      this.#appendsInFlight--;
    }
  }

  /** Closes the file. Every append must have settled. Idempotent. */
  close(): void {
    assert(this.#appendsInFlight === 0, 'no manifest append is in flight at close');
    const file = this.#file;
    this.#file = undefined;
    file?.close();
  }
}

function checkRecordBytes(name: string, payload: Buffer): void {
  if (payload.length > manifestRecordBytesMax) {
    throw new LimitExceededError(`Cannot write version edit to manifest "${name}": ${payload.length} bytes, the limit is ${manifestRecordBytesMax}`);
  }
}

function ioError(action: string, error: unknown): Error {
  if (error instanceof KvError || error instanceof AssertionError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new IoError(`${action}: ${detail}`, { cause: error });
}

/**
 * Removes a file that nothing references any more. Safe to fail: a leftover
 * manifest is not named by CURRENT, so readers ignore it, and the engine's
 * obsolete-file sweep removes it later.
 */
function removeQuietly(fs: FileSystem, path: string): void {
  try {
    if (fs.exists(path)) fs.unlink(path);
  } catch {
    // See the function comment: continuing is safe.
  }
}
