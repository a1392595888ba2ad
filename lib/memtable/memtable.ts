// The memtable: the newest writes, ordered, in memory, until a flush writes
// them to a level-0 segment. Every entry is also in the WAL file(s) that the
// memtable covers, so a crash loses nothing the WAL kept.
//
// Byte accounting is approximate but conservative: key and value bytes plus a
// fixed per-entry overhead for the node and its buffers, so the byte budget
// bounds real memory, not just payload.

import { makeInternalKey, sequenceOf, typeOf, userKeyOf, ValueType } from '../format/internal-key.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import { SkipList, type SkipNode } from './skip-list.js';
import { bytesEqual } from '../format/compare-bytes.js';

/** Estimated bytes of a skip-list node, its next array and two Buffer headers. */
export const memtableEntryOverheadBytes = 160;

/** A version found by get(). `value` is the caller's to read, not to modify. */
export interface MemtableHit {
  type: number;
  value: Buffer;
  sequence: number;
}

export class Memtable {
  readonly #list: SkipList;
  #bytes = 0;
  #smallestSequence = Number.POSITIVE_INFINITY;
  #largestSequence = 0;
  #tombstones = 0;

  constructor(random?: () => number) {
    this.#list = new SkipList(random);
  }

  /** Adds one version. The memtable keeps references to `userKey` and `value`. */
  add(sequence: number, type: number, userKey: Buffer, value: Buffer): void {
    this.#list.insert(userKey, sequence, type, value);
    this.#bytes += userKey.length + value.length + memtableEntryOverheadBytes;
    if (sequence < this.#smallestSequence) this.#smallestSequence = sequence;
    if (sequence > this.#largestSequence) this.#largestSequence = sequence;
    if (type === ValueType.delete) this.#tombstones++;
  }

  /** Takes back a version added by add() (a batch whose WAL write failed). */
  remove(sequence: number, userKey: Buffer): void {
    const node = this.#list.seek(userKey, sequence);
    if (node === null || node.sequence !== sequence || !bytesEqual(node.userKey, userKey)) return;
    this.#list.remove(userKey, sequence);
    this.#bytes -= userKey.length + node.value.length + memtableEntryOverheadBytes;
    if (node.type === ValueType.delete) this.#tombstones--;
  }

  /** The newest version of `userKey` with sequence <= `sequence` (tombstones included), or undefined. */
  get(userKey: Buffer, sequence: number): MemtableHit | undefined {
    const node = this.#list.seek(userKey, sequence);
    if (node === null || !bytesEqual(node.userKey, userKey)) return undefined;
    return { type: node.type, value: node.value, sequence: node.sequence };
  }

  get approximateBytes(): number {
    return this.#bytes;
  }

  get entryCount(): number {
    return this.#list.count;
  }

  get tombstoneCount(): number {
    return this.#tombstones;
  }

  get isEmpty(): boolean {
    return this.#list.count === 0;
  }

  get smallestSequence(): number {
    return this.#list.count === 0 ? 0 : this.#smallestSequence;
  }

  get largestSequence(): number {
    return this.#largestSequence;
  }

  /** Visits every entry in internal-key order; stop early by returning false. */
  forEach(visit: (userKey: Buffer, sequence: number, type: number, value: Buffer) => boolean | void): void {
    for (let node = this.#list.first(); node !== null; node = node.next[0]!) {
      if (visit(node.userKey, node.sequence, node.type, node.value) === false) return;
    }
  }

  /** The first node, for incremental walks along `next[0]` (flush serialisation yields between chunks). */
  firstNode(): SkipNode | null {
    return this.#list.first();
  }

  iterator(): InternalIterator {
    return new MemtableIterator(this.#list);
  }
}

class MemtableIterator implements InternalIterator {
  readonly #list: SkipList;
  #node: SkipNode | null = null;
  #key: Buffer | undefined;

  constructor(list: SkipList) {
    this.#list = list;
  }

  valid(): boolean {
    return this.#node !== null;
  }

  seekToFirst(): void {
    this.#move(this.#list.first());
  }

  seekToLast(): void {
    this.#move(this.#list.last());
  }

  seek(target: Buffer): void {
    // First entry >= target. (user key, sequence) is unique in a memtable; on a tie the
    // type decides, descending, as in compareInternalKeys.
    const userKey = userKeyOf(target);
    const sequence = sequenceOf(target);
    const node = this.#list.seek(userKey, sequence);
    const tieBelow = node !== null && node.sequence === sequence && node.type > typeOf(target) && bytesEqual(node.userKey, userKey);
    this.#move(tieBelow ? node.next[0]! : node);
  }

  seekForPrev(target: Buffer): void {
    // Last entry <= target: the entry just before the first entry > target.
    const userKey = userKeyOf(target);
    const sequence = sequenceOf(target);
    const atOrAfter = this.#list.seek(userKey, sequence);
    if (atOrAfter !== null && atOrAfter.sequence === sequence && atOrAfter.type >= typeOf(target) && bytesEqual(atOrAfter.userKey, userKey)) {
      this.#move(atOrAfter);
    } else {
      this.#move(this.#list.seekBefore(userKey, sequence));
    }
  }

  next(): void {
    this.#move(this.#node!.next[0]!);
  }

  prev(): void {
    const node = this.#node!;
    this.#move(this.#list.seekBefore(node.userKey, node.sequence));
  }

  key(): Buffer {
    if (this.#key === undefined) {
      const node = this.#node!;
      this.#key = makeInternalKey(node.userKey, node.sequence, node.type);
    }
    return this.#key;
  }

  value(): Buffer {
    return this.#node!.value;
  }

  close(): void {
    this.#node = null;
  }

  #move(node: SkipNode | null): void {
    this.#node = node;
    this.#key = undefined;
  }
}
