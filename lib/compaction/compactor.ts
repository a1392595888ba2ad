// The work of flush and compaction, as pure functions of a FileSystem and a
// job description, so the same code runs in a worker thread (compaction-
// worker.ts, the default) or inline (MemFileSystem tests).
//
// Compaction merges its input segments and keeps, for each user key, exactly
// the versions some reader can still see (LevelDB's DoCompactionWork):
//
// 1. A version is dropped when a newer version of the same key, already in
//    the output, is visible to every snapshot (its sequence <= the oldest
//    snapshot): nobody can read past it.
// 2. A tombstone is dropped when every snapshot sees it and no deeper level
//    may hold the key (the output level is the key's bottom).
// 3. The compaction filter (if any) is asked about the newest version of each
//    key when every snapshot sees it; a dropped key becomes a tombstone, or
//    vanishes at its bottom level, and rule 1 then drops its older versions.
//
// Outputs are cut near the target size, only between user keys, so that the
// versions of one key never straddle two files of a level.

import { compareInternalKeys, sequenceOf, trailerBytes, typeOf, userKeyOf, ValueType, writeTrailer } from '../format/internal-key.js';
import { compareByteRanges, copyBytes } from '../format/compare-bytes.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import type { FileSystem } from '../fs/file-system.js';
import type { CompactionFilter, CompactionFilterSpec, CreateCompactionFilter } from '../engine/engine.js';
import { MergeIterator } from '../engine/merge-iterator.js';
import { ConcatIterator } from '../engine/concat-iterator.js';
import { SegmentReader, type SegmentParts } from '../segment/segment-reader.js';
import { SegmentWriter, type KeptBlocks, type SegmentProperties } from '../segment/segment-writer.js';
import { segmentDir, segmentPath } from '../format/file-names.js';
import type { SegmentMeta } from '../manifest/segment-meta.js';
import { assert } from '../assert.js';
import { forEachImageEntry, type MemtableImage } from '../memtable/memtable-image.js';
import { lz4ReleaseIfDue } from '../format/lz4.js';

/** Flush input: an immutable memtable, read in place (shared memory) and ordered here. */
export interface FlushJob {
  dir: string;
  fileNumber: number;
  memtable: MemtableImage;
  createdMs: number;
  /** Sequence of the oldest live snapshot (the newest sequence when there are none): versions shadowed for every reader are dropped. */
  smallestSnapshot: number;
  /** Hand back the first data blocks, uncompressed, up to this many bytes, for the block cache (default 0: none). */
  keepBlocksBytes?: number;
  /** Keep them in this buffer (SegmentWriterOptions.keepInto): the engine's, reused flush after flush. */
  keepInto?: Uint8Array | undefined;
}

export interface CompactionJob {
  dir: string;
  /** Input files per level, e.g. L0 files and the overlapping L1 files. */
  inputs: { level: number; files: SegmentMeta[] }[];
  outputLevel: number;
  /** Files in levels below the output level, to tell whether a key's bottom is here. */
  deeperFiles: SegmentMeta[][];
  /** Every other file of the version, for the filter's lookups (all levels). */
  versionFiles: SegmentMeta[][];
  /** Sequence of the oldest live snapshot (the newest sequence when there are none). */
  smallestSnapshot: number;
  segmentBytesTarget: number;
  /** File numbers reserved for outputs, used in order. */
  outputFileNumbers: number[];
  filter: CompactionFilterSpec | undefined;
  nowMs: number;
}

export interface CompactionResult {
  outputs: SegmentMeta[];
  /** Each output's reader parts, when a worker read them back (prepareReaders()); undefined inline. */
  prepared?: (SegmentParts | undefined)[] | undefined;
  /** Entries read, written, dropped as shadowed, tombstones dropped, dropped by the filter. */
  counts: { read: number; written: number; shadowed: number; tombstones: number; filtered: number };
  bytesRead: number;
  bytesWritten: number;
}

export interface FlushResult {
  meta: SegmentMeta;
  /** The segment's reader parts, when a worker read them back (prepareReaders()); undefined inline. */
  prepared?: SegmentParts | undefined;
  /** Versions left out because a newer version of their key is visible to every reader. */
  shadowed: number;
  /** The data blocks kept (FlushJob.keepBlocksBytes), when any were. */
  blocks?: KeptBlocks | undefined;
}

/**
 * Writes one level-0 segment from a memtable image; returns its metadata.
 * Awaits lz4ReleaseIfDue() every few MiB of compressed blocks, so that
 * the flush holds only those (lib/format/lz4.ts), not the whole segment.
 */
export async function runFlushJob(fs: FileSystem, job: FlushJob): Promise<FlushResult> {
  const path = segmentPath(job.dir, job.fileNumber);
  const writer = new SegmentWriter(fs, path, { keepBlocksBytes: job.keepBlocksBytes ?? 0, keepInto: job.keepInto });
  let shadowed: number;
  let meta: SegmentMeta;
  let blocks: KeptBlocks | undefined;
  try {
    shadowed = await forEachImageEntry(
      job.memtable,
      (internalKey, slab, valueStart, valueEnd) => {
        writer.add(internalKey, slab, valueStart, valueEnd);
        return lz4ReleaseIfDue();
      },
      job.smallestSnapshot,
    );
    meta = metaFrom(job.fileNumber, 0, writer.finish({ createdMs: job.createdMs }));
    blocks = writer.takeKeptBlocks();
  } catch (error) {
    writer.abandon();
    throw error;
  }
  // The manifest will name the file: its directory entry must be durable first. (When this
  // fails, the finished file stays: the engine removes the segment of a failed flush.)
  fs.syncDir(segmentDir(job.dir));
  return { meta, shadowed, blocks };
}

/** Runs one compaction; `loadFilter` imports the filter module (differs between worker and inline). */
export async function runCompactionJob(fs: FileSystem, job: CompactionJob): Promise<CompactionResult> {
  const readers = new Map<number, SegmentReader>();
  const open = (meta: SegmentMeta): SegmentReader => {
    let reader = readers.get(meta.fileNumber);
    if (reader === undefined) {
      reader = SegmentReader.open(fs, segmentPath(job.dir, meta.fileNumber), { fileNumber: meta.fileNumber });
      readers.set(meta.fileNumber, reader);
    }
    return reader;
  };
  try {
    const filter = job.filter === undefined ? undefined : await loadFilter(job, open);
    return await compactInputs(fs, job, open, filter);
  } finally {
    for (const reader of readers.values()) reader.close();
  }
}

/** Merges the inputs; awaits lz4ReleaseIfDue() every few MiB of compressed output, as runFlushJob() does. */
async function compactInputs(fs: FileSystem, job: CompactionJob, open: (meta: SegmentMeta) => SegmentReader, filter: CompactionFilter | undefined): Promise<CompactionResult> {
  const children: InternalIterator[] = [];
  let bytesRead = 0;
  for (const { level, files } of job.inputs) {
    for (const file of files) bytesRead += file.fileBytes;
    if (level === 0) for (const file of files) children.push(open(file).iterator());
    else children.push(new ConcatIterator(files, (index) => open(files[index]!).iterator()));
  }
  const input = new MergeIterator(children);
  const output = new OutputSet(fs, job);
  const bottom = new BottomLevelCheck(job.deeperFiles);
  const counts = { read: 0, written: 0, shadowed: 0, tombstones: 0, filtered: 0 };
  // The current user key: a copy (input keys are views that the next step may reuse), kept in one
  // buffer that grows as needed rather than allocated per key; `currentView` is made when asked for.
  let current = Buffer.allocUnsafe(64);
  let currentLength = -1;
  let currentView: Buffer | undefined;
  const thisUserKeyOf = (): Buffer => (currentView ??= current.subarray(0, currentLength));
  let lastSequenceForKey = Number.POSITIVE_INFINITY;
  try {
    for (input.seekToFirst(); input.valid(); input.next()) {
      counts.read++;
      let key = input.key();
      const userLength = key.length - trailerBytes;
      const sequence = sequenceOf(key);
      const firstOfKey = userLength !== currentLength || compareByteRanges(key, 0, userLength, current, 0, userLength) !== 0;
      if (firstOfKey) {
        if (userLength > current.length) current = Buffer.allocUnsafe(Math.max(userLength, 2 * current.length));
        copyBytes(key, 0, userLength, current, 0);
        currentLength = userLength;
        currentView = undefined;
        lastSequenceForKey = Number.POSITIVE_INFINITY;
        output.maybeCut();
      }
      if (lastSequenceForKey <= job.smallestSnapshot) {
        counts.shadowed++; // rule 1
        lastSequenceForKey = sequence;
        continue;
      }
      lastSequenceForKey = sequence;
      let type = typeOf(key);
      const visibleToAll = sequence <= job.smallestSnapshot;
      if (firstOfKey && visibleToAll && type === ValueType.put && filter?.drop(thisUserKeyOf(), input.value())) {
        counts.filtered++; // rule 3
        if (bottom.isBottom(thisUserKeyOf())) continue;
        key = tombstoneOf(key);
        type = ValueType.delete;
      }
      if (type === ValueType.delete && visibleToAll && bottom.isBottom(thisUserKeyOf())) {
        counts.tombstones++; // rule 2
        continue;
      }
      output.add(key, type === ValueType.delete ? emptyValue : input.value());
      counts.written++;
      const release = lz4ReleaseIfDue();
      if (release !== undefined) await release;
    }
    const outputs = output.finish();
    if (outputs.length > 0) fs.syncDir(segmentDir(job.dir)); // before the manifest names them
    return { outputs, counts, bytesRead, bytesWritten: outputs.reduce((sum, meta) => sum + meta.fileBytes, 0) };
  } catch (error) {
    output.abandon();
    throw error;
  } finally {
    input.close();
  }
}

const emptyValue = Buffer.alloc(0);

function tombstoneOf(key: Buffer): Buffer {
  const copy = Buffer.from(key);
  writeTrailer(copy, copy.length - 8, sequenceOf(key), ValueType.delete);
  return copy;
}

/** Output segments of one compaction, cut near the target size between user keys. */
class OutputSet {
  readonly #fs: FileSystem;
  readonly #job: CompactionJob;
  readonly #outputs: SegmentMeta[] = [];
  #writer: SegmentWriter | undefined;
  #fileNumber = 0;
  #numbersUsed = 0;
  #lastKey: Buffer | undefined;

  constructor(fs: FileSystem, job: CompactionJob) {
    this.#fs = fs;
    this.#job = job;
  }

  /** Called between user keys: closes the current file once it is big enough. */
  maybeCut(): void {
    if (this.#writer !== undefined && this.#writer.estimatedBytes() >= this.#job.segmentBytesTarget) this.#finishCurrent();
  }

  add(key: Buffer, value: Buffer): void {
    if (this.#writer === undefined) {
      // Within a file the writer checks the order; across files, here.
      assert(this.#lastKey === undefined || compareInternalKeys(this.#lastKey, key) < 0, 'compaction output keys strictly increase');
      this.#open();
    }
    this.#writer!.add(key, value);
  }

  finish(): SegmentMeta[] {
    if (this.#writer !== undefined) this.#finishCurrent();
    return this.#outputs;
  }

  abandon(): void {
    this.#writer?.abandon();
    this.#writer = undefined;
  }

  #open(): void {
    const numbers = this.#job.outputFileNumbers;
    assert(this.#numbersUsed < numbers.length, 'compaction has a reserved file number left');
    this.#fileNumber = numbers[this.#numbersUsed++]!;
    this.#writer = new SegmentWriter(this.#fs, segmentPath(this.#job.dir, this.#fileNumber));
  }

  #finishCurrent(): void {
    const properties = this.#writer!.finish({ createdMs: this.#job.nowMs });
    this.#lastKey = properties.largestKey;
    this.#outputs.push(metaFrom(this.#fileNumber, this.#job.outputLevel, properties));
    this.#writer = undefined;
  }
}

/** Answers "may a level below the output hold this key?" for keys met in ascending order. */
class BottomLevelCheck {
  readonly #levels: SegmentMeta[][];
  readonly #positions: number[];

  constructor(deeperFiles: SegmentMeta[][]) {
    this.#levels = deeperFiles;
    this.#positions = deeperFiles.map(() => 0);
  }

  isBottom(userKey: Buffer): boolean {
    for (let level = 0; level < this.#levels.length; level++) {
      const files = this.#levels[level]!;
      let position = this.#positions[level]!;
      while (position < files.length && userKeyOf(files[position]!.largestKey).compare(userKey) < 0) position++;
      this.#positions[level] = position;
      if (position < files.length && userKeyOf(files[position]!.smallestKey).compare(userKey) <= 0) return false;
    }
    return true;
  }
}

async function loadFilter(job: CompactionJob, open: (meta: SegmentMeta) => SegmentReader): Promise<CompactionFilter> {
  const spec = job.filter!;
  const module = (await import(spec.module)) as { createCompactionFilter?: CreateCompactionFilter };
  if (typeof module.createCompactionFilter !== 'function') {
    throw new TypeError(`Cannot load compaction filter "${spec.module}": it does not export createCompactionFilter`);
  }
  const levels = job.versionFiles;
  const get = (userKey: Buffer): Buffer | undefined => {
    for (const files of levels) {
      for (const file of files) {
        if (userKeyOf(file.smallestKey).compare(userKey) > 0 || userKeyOf(file.largestKey).compare(userKey) < 0) continue;
        const hit = open(file).get(userKey, Number.MAX_SAFE_INTEGER);
        if (hit !== undefined) return hit.type === ValueType.put ? hit.value : undefined;
      }
    }
    return undefined;
  };
  return module.createCompactionFilter(spec.options, { nowMs: job.nowMs, get });
}

/** SegmentMeta for a finished file. */
export function metaFrom(fileNumber: number, level: number, properties: SegmentProperties): SegmentMeta {
  return {
    fileNumber,
    level,
    fileBytes: properties.fileBytes,
    smallestKey: properties.smallestKey,
    largestKey: properties.largestKey,
    smallestSequence: properties.smallestSequence,
    largestSequence: properties.largestSequence,
    entryCount: properties.entryCount,
    tombstoneCount: properties.tombstoneCount,
    createdMs: properties.createdMs,
  };
}

/** Segments whose readers the engine wants made off the event loop (prepareReaders()): at open, for those already there. */
export interface PrepareJob {
  dir: string;
  fileNumbers: number[];
}

/**
 * Opens the segments a job wrote, as the engine's table cache would, and
 * takes their readers apart (SegmentReader.exportParts()): in the worker
 * that wrote them, the footer, index, filter and properties reads, their
 * checks and the index's decoding happen off the event loop, and the engine
 * adopts the parts (TableCache.adopt()) instead of opening the files at
 * their first read. A segment that cannot be read back gets no parts: the
 * engine then opens it at its first read, which reports the damage.
 */
export function prepareReaders(fs: FileSystem, dir: string, fileNumbers: readonly number[]): (SegmentParts | undefined)[] {
  return fileNumbers.map((fileNumber) => {
    let reader: SegmentReader | undefined;
    try {
      reader = SegmentReader.open(fs, segmentPath(dir, fileNumber), { fileNumber });
      return reader.exportParts();
    } catch {
      return undefined;
    } finally {
      reader?.close();
    }
  });
}
