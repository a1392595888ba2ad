// A byte-bounded cache of decompressed, parsed data blocks, shared by all
// segment readers of one engine (DESIGN.md, "Read"). Keyed by (file number,
// block offset): segment files are immutable and file numbers never reused,
// so an entry never goes stale; evictFile() frees a deleted file's blocks early.
//
// Each entry is charged its block's byteLength. A block larger than the whole
// capacity is not cached (it would evict everything for one read). Cached
// blocks are immutable, so views handed out from them stay valid after
// eviction: eviction only drops the cache's references.
//
// Eviction is CLOCK (second chance), an approximation of LRU: entries sit on
// a ring in insertion order; a hit only sets the entry's referenced bit; to
// make room the hand walks the ring from the oldest entry, clearing set bits
// and evicting the first entry whose bit is clear. A point lookup in a cached
// block is bound by memory stalls, and LRU's relinking on every hit touches
// three more objects (the entry's neighbours and the list head).
//
// Slots: a segment reader may pass its own BlockSlots (one slot per data
// block) when it caches or finds a block; the cache keeps that slot holding
// the block while it is cached and clears it on eviction. A hit through a slot
// skips both Map lookups and the entry object: the reader sets the slot's
// referenced byte, which the hand reads as the entry's bit, and counts the hit
// with countHit().
//
// Admission: a point read (SegmentReader.get()) that misses caches the block
// only on its second miss while the cache remembers the first (admit()); a
// first miss decodes it into scratch memory, copies the value out and keeps
// nothing (block-io.ts readBlockScratch()). Reads spread over far more data
// than the cache holds then cost no block allocation and no eviction, and
// blocks read again soon still get in. The memory of first misses is a
// direct-mapped table of (file number, block number) with twice as many
// slots as the cache holds 4 KiB blocks: a miss that lands on an occupied
// slot replaces it. Iterators and the flush's kept blocks cache what they
// read, as before.

import { assert } from '../assert.js';
import type { Block } from './block-reader.js';

/** admit()'s memory of first misses: slots per 4 KiB block the cache holds is 2 (see the header), within these bounds. */
const seenBlockBytes = 4096;
const seenSlotsMin = 1024;
const seenSlotsMax = 1 << 20;

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

/** A reader's slots, indexed by its data block number; see the header. */
export class BlockSlots {
  /** The cached block of each data block, or undefined. Written by the cache only. */
  readonly blocks: (Block | undefined)[];
  /** Set to 1 by the reader on a hit through the slot; read and cleared by the cache's hand. */
  readonly referenced: Uint8Array;

  constructor(count: number) {
    this.blocks = new Array<undefined>(count).fill(undefined);
    this.referenced = new Uint8Array(count);
  }
}

/** One cached block, on the CLOCK ring. */
class CacheNode {
  readonly fileNumber: number;
  readonly blockOffset: number;
  readonly block: Block;
  readonly bytes: number;
  /** Set by a hit, cleared when the hand passes. */
  referenced = false;
  /** The reader slot pointing at this node, cleared on eviction. */
  slots: BlockSlots | undefined = undefined;
  slot = 0;
  /** Ring neighbours: `next` is newer, except that the newest's `next` is the oldest. */
  next: CacheNode = this;
  previous: CacheNode = this;

  constructor(fileNumber: number, blockOffset: number, block: Block) {
    this.fileNumber = fileNumber;
    this.blockOffset = blockOffset;
    this.block = block;
    this.bytes = block.byteLength;
  }
}

/** CLOCK cache of parsed blocks bounded by their total bytes. */
export class BlockCache {
  readonly #capacityBytes: number;
  /** fileNumber -> blockOffset -> node. */
  readonly #files = new Map<number, Map<number, CacheNode>>();
  /** The oldest entry: where the hand looks first; new entries go just behind it. */
  #hand: CacheNode | undefined;
  #bytes = 0;
  #entries = 0;
  #hits = 0;
  #misses = 0;
  /** First misses remembered for admit(): file number (-1: empty) and block number per slot. */
  readonly #seenFiles: Float64Array;
  readonly #seenBlocks: Int32Array;
  readonly #seenMask: number;

  /** @param capacityBytes most bytes of blocks kept; 0 caches nothing */
  constructor(capacityBytes: number) {
    assert(Number.isSafeInteger(capacityBytes) && capacityBytes >= 0, 'block cache capacity is a non-negative integer');
    this.#capacityBytes = capacityBytes;
    let slots = seenSlotsMin;
    while (slots < seenSlotsMax && slots * seenBlockBytes < 2 * capacityBytes) slots *= 2;
    this.#seenFiles = new Float64Array(capacityBytes === 0 ? 0 : slots).fill(-1);
    this.#seenBlocks = new Int32Array(capacityBytes === 0 ? 0 : slots);
    this.#seenMask = slots - 1;
  }

  /**
   * Whether a point read that missed block `blockNumber` (its number in the
   * segment's index) of `fileNumber` should read it into the cache: true on
   * a second miss while the first is remembered (which is then forgotten);
   * false on a first miss, which is remembered (see the header).
   */
  admit(fileNumber: number, blockNumber: number): boolean {
    if (this.#capacityBytes === 0) return false;
    const slot = (Math.imul(fileNumber | 0, 0x9e3779b1) ^ Math.imul(blockNumber, 0x85ebca77)) & this.#seenMask;
    if (this.#seenFiles[slot] === fileNumber && this.#seenBlocks[slot] === blockNumber) {
      this.#seenFiles[slot] = -1;
      return true;
    }
    this.#seenFiles[slot] = fileNumber;
    this.#seenBlocks[slot] = blockNumber;
    return false;
  }

  /**
   * The cached block at (fileNumber, blockOffset), marked as used; undefined on a miss.
   * @param slots, slot when given, the slot is pointed at the entry found
   */
  get(fileNumber: number, blockOffset: number, slots?: BlockSlots, slot = 0): Block | undefined {
    const node = this.#files.get(fileNumber)?.get(blockOffset);
    if (node === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    node.referenced = true;
    if (slots !== undefined && node.slots === undefined && slots.blocks[slot] === undefined) this.#attach(node, slots, slot);
    return node.block;
  }

  /** Counts a hit found through a slot (the reader marks the slot referenced itself). */
  countHit(): void {
    this.#hits++;
  }

  /**
   * Caches `block` (replacing any entry at the same place), evicting to fit.
   * @param slots, slot when given and the block is cached, the slot is pointed at its entry
   */
  set(fileNumber: number, blockOffset: number, block: Block, slots?: BlockSlots, slot = 0): void {
    const existing = this.#files.get(fileNumber)?.get(blockOffset);
    if (existing !== undefined) this.#remove(existing);
    const bytes = block.byteLength;
    if (bytes > this.#capacityBytes) return;
    while (this.#bytes + bytes > this.#capacityBytes) this.#evictOne();
    const node = new CacheNode(fileNumber, blockOffset, block);
    this.#link(node);
    let blocks = this.#files.get(fileNumber);
    if (blocks === undefined) {
      blocks = new Map();
      this.#files.set(fileNumber, blocks);
    }
    blocks.set(blockOffset, node);
    this.#bytes += bytes;
    this.#entries++;
    if (slots !== undefined && slots.blocks[slot] === undefined) this.#attach(node, slots, slot);
  }

  /** Drops every block of `fileNumber` (its file is being deleted). */
  evictFile(fileNumber: number): void {
    const blocks = this.#files.get(fileNumber);
    if (blocks === undefined) return;
    for (const node of [...blocks.values()]) this.#remove(node);
  }

  /**
   * Unhooks `fileNumber`'s blocks from the slots of the reader that had them
   * (the table cache closed it); the blocks stay, for the file's next reader.
   */
  detachFile(fileNumber: number): void {
    const blocks = this.#files.get(fileNumber);
    if (blocks === undefined) return;
    for (const node of blocks.values()) this.#detach(node);
  }

  /** Drops every block. */
  clear(): void {
    for (const blocks of this.#files.values()) for (const node of blocks.values()) this.#detach(node);
    this.#files.clear();
    this.#hand = undefined;
    this.#bytes = 0;
    this.#entries = 0;
  }

  stats(): BlockCacheStats {
    return { bytes: this.#bytes, capacityBytes: this.#capacityBytes, hits: this.#hits, misses: this.#misses, entries: this.#entries };
  }

  /** Advances the hand past referenced entries (clearing their bits) and evicts the first unreferenced one. */
  #evictOne(): void {
    let node = this.#hand!;
    while (node.referenced || (node.slots !== undefined && node.slots.referenced[node.slot] !== 0)) {
      node.referenced = false;
      if (node.slots !== undefined) node.slots.referenced[node.slot] = 0;
      node = node.next;
    }
    this.#hand = node;
    this.#remove(node);
  }

  #remove(node: CacheNode): void {
    const blocks = this.#files.get(node.fileNumber)!;
    blocks.delete(node.blockOffset);
    if (blocks.size === 0) this.#files.delete(node.fileNumber);
    this.#unlink(node);
    this.#detach(node);
    this.#bytes -= node.bytes;
    this.#entries--;
    assert(this.#bytes >= 0, 'block cache bytes stay non-negative');
  }

  #attach(node: CacheNode, slots: BlockSlots, slot: number): void {
    assert(slots.blocks[slot] === undefined, 'a slot holds one cached block');
    node.slots = slots;
    node.slot = slot;
    slots.blocks[slot] = node.block;
    slots.referenced[slot] = 0;
  }

  #detach(node: CacheNode): void {
    const slots = node.slots;
    if (slots === undefined) return;
    slots.blocks[node.slot] = undefined;
    slots.referenced[node.slot] = 0;
    node.slots = undefined;
  }

  /** Puts `node` on the ring as the newest entry: just behind the hand. */
  #link(node: CacheNode): void {
    const hand = this.#hand;
    if (hand === undefined) {
      this.#hand = node;
      return;
    }
    node.next = hand;
    node.previous = hand.previous;
    hand.previous.next = node;
    hand.previous = node;
  }

  #unlink(node: CacheNode): void {
    if (node.next === node) {
      this.#hand = undefined;
      return;
    }
    node.previous.next = node.next;
    node.next.previous = node.previous;
    if (this.#hand === node) this.#hand = node.next;
  }
}
