// A byte-bounded LRU cache of decompressed, parsed data blocks, shared by all
// segment readers of one engine (DESIGN.md, "Read"). Keyed by (file number,
// block offset): segment files are immutable and file numbers never reused,
// so an entry never goes stale; evictFile() frees a deleted file's blocks early.
//
// Each entry is charged its block's byteLength. A block larger than the whole
// capacity is not cached (it would evict everything for one read). Cached
// blocks are immutable, so views handed out from them stay valid after
// eviction: eviction only drops the cache's reference.

import { assert } from '../assert.js';
import type { Block } from './block-reader.js';

/** Counters and sizes, for INFO and metrics. */
export interface BlockCacheStats {
  /** Bytes charged by cached blocks. */
  bytes: number;
  capacityBytes: number;
  hits: number;
  misses: number;
  /** Blocks cached. */
  entries: number;
}

/** One cached block, linked into the LRU list (most recently used at the head). */
interface CacheNode {
  fileNumber: number;
  blockOffset: number;
  block: Block;
  bytes: number;
  newer: CacheNode | undefined;
  older: CacheNode | undefined;
}

/** LRU cache of parsed blocks bounded by their total bytes. */
export class BlockCache {
  readonly #capacityBytes: number;
  /** fileNumber -> blockOffset -> node. */
  readonly #files = new Map<number, Map<number, CacheNode>>();
  #newest: CacheNode | undefined;
  #oldest: CacheNode | undefined;
  #bytes = 0;
  #entries = 0;
  #hits = 0;
  #misses = 0;

  /** @param capacityBytes most bytes of blocks kept; 0 caches nothing */
  constructor(capacityBytes: number) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes >= 0, 'block cache capacity is a non-negative integer');
    this.#capacityBytes = capacityBytes;
  }

  /** The cached block at (fileNumber, blockOffset), now most recently used; undefined on a miss. */
  get(fileNumber: number, blockOffset: number): Block | undefined {
    const node = this.#files.get(fileNumber)?.get(blockOffset);
    if (node === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    if (node !== this.#newest) {
      this.#unlink(node);
      this.#pushNewest(node);
    }
    return node.block;
  }

  /** Caches `block` (replacing any entry at the same place), evicting least recently used blocks to fit. */
  set(fileNumber: number, blockOffset: number, block: Block): void {
    const existing = this.#files.get(fileNumber)?.get(blockOffset);
    if (existing !== undefined) this.#remove(existing);
    const bytes = block.byteLength;
    if (bytes > this.#capacityBytes) return;
    while (this.#bytes + bytes > this.#capacityBytes) this.#remove(this.#oldest!);
    const node: CacheNode = { fileNumber, blockOffset, block, bytes, newer: undefined, older: undefined };
    let blocks = this.#files.get(fileNumber);
    if (blocks === undefined) {
      blocks = new Map();
      this.#files.set(fileNumber, blocks);
    }
    blocks.set(blockOffset, node);
    this.#pushNewest(node);
    this.#bytes += bytes;
    this.#entries++;
  }

  /** Drops every block of `fileNumber` (its file is being deleted). */
  evictFile(fileNumber: number): void {
    const blocks = this.#files.get(fileNumber);
    if (blocks === undefined) return;
    for (const node of [...blocks.values()]) this.#remove(node);
  }

  /** Drops every block. */
  clear(): void {
    this.#files.clear();
    this.#newest = undefined;
    this.#oldest = undefined;
    this.#bytes = 0;
    this.#entries = 0;
  }

  stats(): BlockCacheStats {
    return { bytes: this.#bytes, capacityBytes: this.#capacityBytes, hits: this.#hits, misses: this.#misses, entries: this.#entries };
  }

  #remove(node: CacheNode): void {
    const blocks = this.#files.get(node.fileNumber)!;
    blocks.delete(node.blockOffset);
    if (blocks.size === 0) this.#files.delete(node.fileNumber);
    this.#unlink(node);
    this.#bytes -= node.bytes;
    this.#entries--;
    assert(this.#bytes >= 0, 'block cache bytes stay non-negative');
  }

  #unlink(node: CacheNode): void {
    if (node.newer === undefined) this.#newest = node.older;
    else node.newer.older = node.older;
    if (node.older === undefined) this.#oldest = node.newer;
    else node.older.newer = node.newer;
    node.newer = undefined;
    node.older = undefined;
  }

  #pushNewest(node: CacheNode): void {
    node.older = this.#newest;
    node.newer = undefined;
    if (this.#newest !== undefined) this.#newest.newer = node;
    this.#newest = node;
    if (this.#oldest === undefined) this.#oldest = node;
  }
}
