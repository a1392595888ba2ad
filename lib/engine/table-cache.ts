// Open segment readers by file number, shared by every read path, with
// reference counts so that a file is closed and deleted only when no version
// (current, pinned by an iterator, or an input of a running compaction) still
// names it. As LevelDB's TableCache plus its live-file accounting.

import type { FileSystem } from '../fs/file-system.js';
import { segmentPath } from '../format/file-names.js';
import { SegmentReader } from '../segment/segment-reader.js';
import type { BlockCache } from '../segment/block-cache.js';

export class TableCache {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #cache: BlockCache;
  readonly #readers = new Map<number, SegmentReader>();

  constructor(fs: FileSystem, dir: string, cache: BlockCache) {
    this.#fs = fs;
    this.#dir = dir;
    this.#cache = cache;
  }

  /** The reader of a live segment, opened on first use. @throws CorruptionError when the file is damaged or missing */
  reader(fileNumber: number): SegmentReader {
    let reader = this.#readers.get(fileNumber);
    if (reader === undefined) {
      reader = SegmentReader.open(this.#fs, segmentPath(this.#dir, fileNumber), { fileNumber, cache: this.#cache });
      this.#readers.set(fileNumber, reader);
    }
    return reader;
  }

  /** Closes a reader and drops its cached blocks (the file is about to be deleted). */
  evict(fileNumber: number): void {
    this.#readers.get(fileNumber)?.close();
    this.#readers.delete(fileNumber);
    this.#cache.evictFile(fileNumber);
  }

  closeAll(): void {
    for (const fileNumber of [...this.#readers.keys()]) this.evict(fileNumber);
  }
}
