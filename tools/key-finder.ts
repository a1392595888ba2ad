// Every stored version of chosen engine keys, as pebble's `find` lists them:
// in every segment in seg/ (through its Bloom filter and index) and every
// WAL record in archive/ and wal/, whether or not a reader still sees it.
// For `silt inspect --engine-key` (one key) and `--key` (a Redis key's
// metadata, expiry entries and subkeys: exact keys and key prefixes).
//
// The WAL files are read once, when the finder is made: every op whose key
// `walFilter` accepts is kept (values cut to `valueBytesKept`); ops that
// `walGroupOf` puts in a group (a collection's subkeys) are kept for the
// `walGroupLimit + 1` smallest keys of each group only. A prefix question
// likewise takes the first `limit + 1` keys of each segment, so that a
// collection of millions of members costs what its first entries cost.
// Segments are searched per question, with seeks. Damage met in a file is a
// problem of that file, not a failure: the listing goes on.

import { CorruptionError, KvError } from '../lib/errors.js';
import { makeInternalKey, sequenceMax, sequenceOf, typeOf, userKeyOf, ValueType } from '../lib/format/internal-key.js';
import type { FileSystem } from '../lib/fs/file-system.js';
import { archiveDir, segmentPath, walDir } from '../lib/format/file-names.js';
import { readManifest } from '../lib/manifest/manifest-reader.js';
import { SegmentReader } from '../lib/segment/segment-reader.js';
import { readWalFile } from '../lib/wal/wal-reader.js';
import { relativeFile } from './render.js';
import { listIn, type WalLocation } from './wal-scan.js';
import { segmentNumbers } from './data-dir.js';

/** One stored version of an engine key. */
export interface KeyVersion {
  sequence: number;
  type: 'put' | 'del';
  valueBytes: number;
  /** "seg/000010.sst (level 0)" or "wal/000012.log record at offset 91". */
  where: string;
  /** The WAL record's time; null in a segment (which keeps no write times). */
  timeMs: number | null;
  /** The value's first `valueBytesKept` bytes (a copy); empty for a deletion. */
  valueHead: Buffer;
}

/** The versions of the keys under a prefix: the first `limit` keys in key order. */
export interface PrefixVersions {
  /** Engine key (hex) -> its versions, newest first; in key order. */
  keys: Map<string, KeyVersion[]>;
  /** True when more keys than `limit` have the prefix (they are not listed). */
  more: boolean;
}

export interface KeyFinderOptions {
  /** Which WAL ops to keep for later questions: every key asked about must pass it. */
  walFilter: (key: Buffer) => boolean;
  /** Value bytes kept per version of a key (for decoding metadata records and the database table). */
  valueBytesKept: (key: Buffer) => number;
  /** The group of a kept WAL op whose keys are bounded (undefined: not bounded). */
  walGroupOf?: (key: Buffer) => string | undefined;
  /** Keys kept per group: the smallest walGroupLimit + 1 (prefix questions ask for at most walGroupLimit). */
  walGroupLimit?: number;
  /**
   * Where the WAL files read are (default both). Without archive/: the newest version of a key is still
   * found (archived files were flushed into segments), older ones may not be.
   */
  walLocations?: readonly WalLocation[];
}

/** A WAL op kept: its key and version. */
interface WalOp {
  key: Buffer;
  version: KeyVersion;
}

export class KeyFinder {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #valueBytesKept: (key: Buffer) => number;
  readonly #segments: { fileNumber: number; path: string; where: string }[] = [];
  readonly #walOps: WalOp[] = [];
  /** Group -> engine key (hex) -> its ops; trimmed to the smallest keys. */
  readonly #walGroups = new Map<string, Map<string, WalOp[]>>();
  /** Files that could not be searched in full, and why. */
  readonly problems: { file: string; message: string }[] = [];
  readonly walFilesSearched: number;

  constructor(fs: FileSystem, dir: string, options: KeyFinderOptions) {
    this.#fs = fs;
    this.#dir = dir;
    this.#valueBytesKept = options.valueBytesKept;
    let levelOf = new Map<number, number>();
    try {
      const manifest = readManifest(fs, dir, { readOnly: true });
      levelOf = new Map(manifest.version.allFiles().map((meta) => [meta.fileNumber, meta.level]));
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      this.problems.push({ file: 'CURRENT', message: `levels unknown: ${error.message}` });
    }
    for (const fileNumber of segmentNumbers(fs, dir)) {
      const path = segmentPath(dir, fileNumber);
      const level = levelOf.get(fileNumber);
      this.#segments.push({ fileNumber, path, where: `${relativeFile(dir, path)} (${level === undefined ? 'not in the manifest' : `level ${level}`})` });
    }
    const locations = options.walLocations ?? ['archive', 'wal'];
    const refs = [...(locations.includes('archive') ? listIn(fs, archiveDir(dir), 'archive') : []), ...(locations.includes('wal') ? listIn(fs, walDir(dir), 'wal') : [])];
    this.walFilesSearched = refs.length;
    for (const ref of refs) {
      const file = relativeFile(dir, ref.path);
      try {
        readWalFile(fs, ref.path, {
          mode: 'salvage',
          isNewest: false,
          onBatch: (batch, offset) => {
            batch.ops.forEach((op, index) => {
              if (!options.walFilter(op.key)) return;
              const value = op.type === 'put' ? op.value : undefined;
              this.#keep(options, {
                key: Buffer.from(op.key),
                version: { sequence: batch.sequence + index, type: op.type, valueBytes: value?.length ?? 0, where: `${file} record at offset ${offset}`, timeMs: batch.timeMs, valueHead: this.#head(op.key, value) },
              });
            });
          },
        });
      } catch (error) {
        if (!(error instanceof KvError)) throw error;
        this.problems.push({ file, message: error.message });
      }
    }
    for (const group of this.#walGroups.values()) trimGroup(group, options.walGroupLimit ?? 0);
  }

  get segmentsSearched(): number {
    return this.#segments.length;
  }

  /** Every version of `key`, newest first. */
  versions(key: Buffer): KeyVersion[] {
    const versions: KeyVersion[] = [];
    for (const segment of this.#segments) {
      this.#inSegment(segment, (reader) => {
        if (!reader.mayContain(key)) return;
        this.#scan(reader, key, (userKey) => userKey.equals(key), (_userKey, version) => versions.push({ ...version, where: segment.where }));
      });
    }
    for (const op of this.#keptOps()) if (op.key.equals(key)) versions.push(op.version);
    return versions.sort((a, b) => b.sequence - a.sequence);
  }

  /** The versions of the first `limit` keys that start with `prefix`. */
  prefixed(prefix: Buffer, limit: number): PrefixVersions {
    const found = new Map<string, KeyVersion[]>();
    let more = false;
    const add = (userKey: Buffer, version: KeyVersion): void => {
      const hex = userKey.toString('hex');
      const list = found.get(hex);
      if (list === undefined) found.set(hex, [version]);
      else list.push(version);
    };
    for (const segment of this.#segments) {
      this.#inSegment(segment, (reader) => {
        // Each source's first limit + 1 keys: every key among the first `limit` of all is among its source's first `limit`.
        let distinct = 0;
        let last: Buffer | undefined;
        this.#scan(
          reader,
          prefix,
          (userKey) => {
            if (!startsWith(userKey, prefix)) return false;
            if (last === undefined || !last.equals(userKey)) {
              distinct++;
              last = Buffer.from(userKey);
            }
            return distinct <= limit + 1;
          },
          (userKey, version) => add(userKey, { ...version, where: segment.where }),
        );
      });
    }
    for (const op of this.#keptOps()) if (startsWith(op.key, prefix)) add(op.key, op.version);
    const ordered = [...found.keys()].sort();
    if (ordered.length > limit) more = true;
    const keys = new Map<string, KeyVersion[]>();
    for (const hex of ordered.slice(0, limit)) keys.set(hex, found.get(hex)!.sort((a, b) => b.sequence - a.sequence));
    return { keys, more };
  }

  /** Keeps one WAL op: in its group when it has one (bounded), else in the list. */
  #keep(options: KeyFinderOptions, op: WalOp): void {
    const groupName = options.walGroupOf?.(op.key);
    if (groupName === undefined) {
      this.#walOps.push(op);
      return;
    }
    let group = this.#walGroups.get(groupName);
    if (group === undefined) this.#walGroups.set(groupName, (group = new Map()));
    const hex = op.key.toString('hex');
    const ops = group.get(hex);
    if (ops === undefined) group.set(hex, [op]);
    else ops.push(op);
    const limit = options.walGroupLimit ?? 0;
    if (group.size > 2 * (limit + 1)) trimGroup(group, limit);
  }

  *#keptOps(): Generator<WalOp> {
    yield* this.#walOps;
    for (const group of this.#walGroups.values()) for (const ops of group.values()) yield* ops;
  }

  /** Runs `body` on an open reader of `segment`; damage becomes a problem of that file. */
  #inSegment(segment: { fileNumber: number; path: string }, body: (reader: SegmentReader) => void): void {
    let reader: SegmentReader | undefined;
    try {
      reader = SegmentReader.open(this.#fs, segment.path, { fileNumber: segment.fileNumber });
      body(reader);
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      const file = relativeFile(this.#dir, segment.path);
      if (!this.problems.some((problem) => problem.file === file && problem.message === error.message)) this.problems.push({ file, message: error.message });
    } finally {
      reader?.close();
    }
  }

  /** From the first entry at or after `start`, while `keep(userKey)`, every entry as a version. */
  #scan(reader: SegmentReader, start: Buffer, keep: (userKey: Buffer) => boolean, found: (userKey: Buffer, version: KeyVersion) => void): void {
    const iterator = reader.iterator();
    try {
      for (iterator.seek(makeInternalKey(start, sequenceMax, ValueType.put)); iterator.valid(); iterator.next()) {
        const internal = iterator.key();
        const userKey = userKeyOf(internal);
        if (!keep(userKey)) break;
        const isPut = typeOf(internal) === ValueType.put;
        const value = isPut ? iterator.value() : undefined;
        found(Buffer.from(userKey), { sequence: sequenceOf(internal), type: isPut ? 'put' : 'del', valueBytes: value?.length ?? 0, where: '', timeMs: null, valueHead: this.#head(userKey, value) });
      }
    } finally {
      iterator.close();
    }
  }

  #head(key: Buffer, value: Buffer | undefined): Buffer {
    return value === undefined ? Buffer.alloc(0) : Buffer.from(value.subarray(0, this.#valueBytesKept(key)));
  }
}

/** Keeps the `limit + 1` smallest keys of a group (hex order is byte order). */
function trimGroup(group: Map<string, WalOp[]>, limit: number): void {
  if (group.size <= limit + 1) return;
  for (const hex of [...group.keys()].sort().slice(limit + 1)) group.delete(hex);
}

function startsWith(key: Buffer, prefix: Buffer): boolean {
  return key.length >= prefix.length && key.subarray(0, prefix.length).equals(prefix);
}

