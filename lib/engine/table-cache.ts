// Open segment readers by file number, shared by every read path, as
// LevelDB's TableCache. It counts no references: the engine keeps a file until
// no referenced version (current, pinned by an iterator, or the one a running
// compaction picked from) names it (LsmEngine #versionRefs and
// #deleteObsoleteFiles), and evicts its reader when it deletes it. Every
// reader keeps its file descriptor open: there is no open-file bound like
// LevelDB's max_open_files.

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
