// A version edit: the change from one Version to the next (segments added and
// deleted, the WAL position now covered by segments, the file-number counter,
// the last sequence number). The manifest is a log of them; replaying every
// edit from the first rebuilds the current Version (docs/format.md,
// "Manifest").
//
// Encoding, as LevelDB's version_edit.cc: a sequence of fields, each a varint
// tag followed by that tag's body. Fields may come in any order; the scalar
// fields at most once. Every number is an unsigned LEB128 varint; every key is
// a varint length followed by that many bytes.
//
// Decoding treats the bytes as untrusted even though the record's checksum
// matched: anything malformed is a CorruptionError naming file and offset.

import { CorruptionError } from '../errors.js';
import { readVarint, varintLength, writeVarint, type VarintResult } from '../format/varint.js';
import { levelCount } from '../limits.js';
import { segmentBoundaryKeyBytesMax, segmentMetaProblem, type SegmentMeta } from './segment-meta.js';

/** Field tags of an encoded edit. Written to disk: never renumber. */
export const EditTag = {
  /** varint: WAL files numbered below it are fully flushed into segments. */
  logNumber: 1,
  /** varint: the next unused file number. */
  nextFileNumber: 2,
  /** varint: the largest sequence number used. */
  lastSequence: 3,
  /** varint level, key: where the next compaction of that level starts. */
  compactPointer: 4,
  /** varint level, varint file number: a segment leaves the version. */
  deletedFile: 5,
  /** a SegmentMeta (see encodeSegmentMeta): a segment joins the version. */
  addedFile: 6,
} as const;
export type EditTag = (typeof EditTag)[keyof typeof EditTag];

/** A segment leaving a level. */
export interface DeletedFile {
  readonly level: number;
  readonly fileNumber: number;
}

/** Where the next compaction of `level` starts (an internal key), as LevelDB's compact_pointer_. */
export interface CompactPointer {
  readonly level: number;
  readonly key: Buffer;
}

/** The change from one Version to the next. Absent scalars leave the previous value. */
export interface VersionEdit {
  /** WAL files numbered below it are fully flushed into segments. */
  logNumber?: number;
  /** The next unused file number (WAL files, segments and manifests share the counter). */
  nextFileNumber?: number;
  /** The largest sequence number used. */
  lastSequence?: number;
  /** Segments joining the version. Deletions apply first, so a file may move levels in one edit. */
  added: SegmentMeta[];
  /** Segments leaving the version. */
  deleted: DeletedFile[];
  compactPointers?: CompactPointer[];
}

/** An edit that changes nothing; callers fill in what they need. */
export function emptyVersionEdit(): VersionEdit {
  return { added: [], deleted: [] };
}

/**
 * Encodes `edit` as tagged fields: scalars first, then compact pointers,
 * deletions, additions.
 * @returns a new buffer owned by the caller
 */
export function encodeVersionEdit(edit: VersionEdit): Buffer {
  const writer = new FieldWriter();
  if (edit.logNumber !== undefined) writer.varint(EditTag.logNumber).varint(edit.logNumber);
  if (edit.nextFileNumber !== undefined) writer.varint(EditTag.nextFileNumber).varint(edit.nextFileNumber);
  if (edit.lastSequence !== undefined) writer.varint(EditTag.lastSequence).varint(edit.lastSequence);
  for (const pointer of edit.compactPointers ?? []) {
    writer.varint(EditTag.compactPointer).varint(pointer.level).bytes(pointer.key);
  }
  for (const deleted of edit.deleted) {
    writer.varint(EditTag.deletedFile).varint(deleted.level).varint(deleted.fileNumber);
  }
  for (const meta of edit.added) {
    writer.varint(EditTag.addedFile);
    encodeSegmentMeta(writer, meta);
  }
  return writer.finish();
}

/**
 * Decodes an edit.
 * @param payload the record payload; the returned edit copies what it keeps
 * @param file file name for error messages ("MANIFEST-000003")
 * @param offset file offset of `payload[0]`, so errors name the exact byte
 * @throws CorruptionError on an unknown tag, a field cut short, a level out of
 *   range, a repeated scalar, or a segment description that is not self-consistent
 */
export function decodeVersionEdit(payload: Buffer, file: string, offset: number): VersionEdit {
  const reader = new FieldReader(payload, file, offset);
  const edit: VersionEdit = emptyVersionEdit();
  const seen = new Set<number>();
  while (!reader.done()) {
    const fieldStart = reader.position;
    const tag = reader.varint('tag');
    if (tag === EditTag.logNumber || tag === EditTag.nextFileNumber || tag === EditTag.lastSequence) {
      if (seen.has(tag)) reader.fail(fieldStart, `tag ${tag} appears twice`);
      seen.add(tag);
    }
    switch (tag) {
      case EditTag.logNumber:
        edit.logNumber = reader.varint('log number');
        break;
      case EditTag.nextFileNumber:
        edit.nextFileNumber = reader.varint('next file number');
        break;
      case EditTag.lastSequence:
        edit.lastSequence = reader.varint('last sequence');
        break;
      case EditTag.compactPointer: {
        const level = reader.level();
        const key = reader.key('compact pointer key');
        (edit.compactPointers ??= []).push({ level, key });
        break;
      }
      case EditTag.deletedFile: {
        const level = reader.level();
        const fileNumber = reader.varint('deleted file number');
        edit.deleted.push({ level, fileNumber });
        break;
      }
      case EditTag.addedFile: {
        const meta = decodeSegmentMeta(reader);
        const problem = segmentMetaProblem(meta);
        if (problem !== undefined) reader.fail(fieldStart, problem);
        edit.added.push(meta);
        break;
      }
      default:
        reader.fail(fieldStart, `unknown tag ${tag}`);
    }
  }
  return edit;
}

/** Field order of a SegmentMeta inside an addedFile field. */
function encodeSegmentMeta(writer: FieldWriter, meta: SegmentMeta): void {
  writer
    .varint(meta.level)
    .varint(meta.fileNumber)
    .varint(meta.fileBytes)
    .bytes(meta.smallestKey)
    .bytes(meta.largestKey)
    .varint(meta.smallestSequence)
    .varint(meta.largestSequence)
    .varint(meta.entryCount)
    .varint(meta.tombstoneCount)
    .varint(meta.createdMs);
}

function decodeSegmentMeta(reader: FieldReader): SegmentMeta {
  const level = reader.level();
  const fileNumber = reader.varint('file number');
  const fileBytes = reader.varint('file bytes');
  const smallestKey = reader.key('smallest key');
  const largestKey = reader.key('largest key');
  const smallestSequence = reader.varint('smallest sequence');
  const largestSequence = reader.varint('largest sequence');
  const entryCount = reader.varint('entry count');
  const tombstoneCount = reader.varint('tombstone count');
  const createdMs = reader.varint('creation time');
  return { fileNumber, level, fileBytes, smallestKey, largestKey, smallestSequence, largestSequence, entryCount, tombstoneCount, createdMs };
}

/** Appends varints and length-prefixed byte strings to a growing buffer. */
class FieldWriter {
  #buffer = Buffer.allocUnsafe(256);
  #length = 0;

  varint(value: number): this {
    this.#reserve(varintLength(value));
    this.#length = writeVarint(this.#buffer, this.#length, value);
    return this;
  }

  bytes(value: Uint8Array): this {
    this.varint(value.length);
    this.#reserve(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.#buffer.subarray(0, this.#length));
  }

  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#length + bytes, this.#buffer.length * 2));
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}

/** Reads fields from an untrusted payload; every failure is a CorruptionError at an absolute offset. */
class FieldReader {
  position = 0;
  readonly #payload: Buffer;
  readonly #file: string;
  readonly #baseOffset: number;
  readonly #slot: VarintResult = { value: 0, offset: 0 };

  constructor(payload: Buffer, file: string, baseOffset: number) {
    this.#payload = payload;
    this.#file = file;
    this.#baseOffset = baseOffset;
  }

  done(): boolean {
    return this.position >= this.#payload.length;
  }

  varint(what: string): number {
    if (!readVarint(this.#payload, this.position, this.#payload.length, this.#slot)) {
      const reason = this.done() ? 'the edit ends' : 'malformed varint';
      this.fail(this.position, `${what} missing: ${reason}`);
    }
    this.position = this.#slot.offset;
    return this.#slot.value;
  }

  level(): number {
    const start = this.position;
    const level = this.varint('level');
    if (level >= levelCount) this.fail(start, `level ${level} is outside 0..${levelCount - 1}`);
    return level;
  }

  /** A length-prefixed key, copied so it does not pin the payload. */
  key(what: string): Buffer {
    const start = this.position;
    const length = this.varint(`${what} length`);
    if (length > segmentBoundaryKeyBytesMax) {
      this.fail(start, `${what} of ${length} bytes exceeds the limit of ${segmentBoundaryKeyBytesMax}`);
    }
    if (length > this.#payload.length - this.position) {
      this.fail(start, `${what} of ${length} bytes runs past the end of the edit`);
    }
    const key = Buffer.from(this.#payload.subarray(this.position, this.position + length));
    this.position += length;
    return key;
  }

  fail(position: number, reason: string): never {
    const offset = this.#baseOffset + position;
    throw new CorruptionError(this.#file, offset, `Cannot decode version edit in "${this.#file}" at offset ${offset}: ${reason}`);
  }
}
