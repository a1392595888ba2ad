// An ordered skip list of memtable entries (Pugh 1990, as LevelDB's
// skiplist.h): expected O(log n) insert and search, O(1) next, O(log n) prev.
// Single-threaded: the engine touches it only from the event loop.
//
// Entries are ordered as internal keys are (lib/format/internal-key.ts): user
// key ascending, then sequence descending, so the newest version of a key is
// met first. Nodes keep the user key, sequence and type as fields rather than
// an encoded internal key, so inserts and lookups allocate nothing beyond the
// node itself.

import { compareBytes } from '../format/compare-bytes.js';

const heightMax = 12;
/** Each level holds about a quarter of the one below, as in LevelDB. */
const branching = 4;

export class SkipNode {
  readonly userKey: Buffer;
  readonly sequence: number;
  readonly type: number;
  readonly value: Buffer;
  readonly next: (SkipNode | null)[];

  constructor(userKey: Buffer, sequence: number, type: number, value: Buffer, height: number) {
    this.userKey = userKey;
    this.sequence = sequence;
    this.type = type;
    this.value = value;
    this.next = new Array<SkipNode | null>(height).fill(null);
  }
}

/** Orders (userKey, sequence) pairs: key ascending, sequence descending. */
export function compareEntry(aKey: Buffer, aSequence: number, bKey: Buffer, bSequence: number): number {
  const byKey = compareBytes(aKey, bKey);
  if (byKey !== 0) return byKey;
  return aSequence > bSequence ? -1 : aSequence < bSequence ? 1 : 0;
}

export class SkipList {
  readonly head = new SkipNode(Buffer.alloc(0), 0, 0, Buffer.alloc(0), heightMax);
  #height = 1;
  #count = 0;
  #random: () => number;
  readonly #update = new Array<SkipNode>(heightMax);

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  get count(): number {
    return this.#count;
  }

  /** Inserts an entry; (userKey, sequence) must not already be present. */
  insert(userKey: Buffer, sequence: number, type: number, value: Buffer): void {
    const update = this.#update;
    this.#findLastBefore(userKey, sequence, update);
    const height = this.#randomHeight();
    if (height > this.#height) {
      for (let level = this.#height; level < height; level++) update[level] = this.head;
      this.#height = height;
    }
    const inserted = new SkipNode(userKey, sequence, type, value, height);
    for (let level = 0; level < height; level++) {
      const previous = update[level]!;
      inserted.next[level] = previous.next[level]!;
      previous.next[level] = inserted;
    }
    this.#count++;
  }

  /** Removes the entry (userKey, sequence); returns whether it was there. */
  remove(userKey: Buffer, sequence: number): boolean {
    const update = this.#update;
    const target = this.#findLastBefore(userKey, sequence, update).next[0]!;
    if (target === null || compareEntry(target.userKey, target.sequence, userKey, sequence) !== 0) return false;
    for (let level = 0; level < target.next.length; level++) {
      update[level]!.next[level] = target.next[level]!;
    }
    this.#count--;
    return true;
  }

  /** First node >= (userKey, sequence), or null. */
  seek(userKey: Buffer, sequence: number): SkipNode | null {
    return this.#findLastBefore(userKey, sequence, undefined).next[0]!;
  }

  /** Last node < (userKey, sequence), or null. */
  seekBefore(userKey: Buffer, sequence: number): SkipNode | null {
    const node = this.#findLastBefore(userKey, sequence, undefined);
    return node === this.head ? null : node;
  }

  /**
   * The last node < (userKey, sequence) (the head when there is none); with
   * `update`, also records that node at every level, for insert and remove.
   */
  #findLastBefore(userKey: Buffer, sequence: number, update: SkipNode[] | undefined): SkipNode {
    let node = this.head;
    for (let level = this.#height - 1; level >= 0; level--) {
      let next = node.next[level]!;
      while (next !== null && compareEntry(next.userKey, next.sequence, userKey, sequence) < 0) {
        node = next;
        next = node.next[level]!;
      }
      if (update !== undefined) update[level] = node;
    }
    return node;
  }

  first(): SkipNode | null {
    return this.head.next[0]!;
  }

  last(): SkipNode | null {
    let node = this.head;
    for (let level = this.#height - 1; level >= 0; level--) {
      while (node.next[level] !== null) node = node.next[level]!;
    }
    return node === this.head ? null : node;
  }

  #randomHeight(): number {
    let height = 1;
    while (height < heightMax && this.#random() * branching < 1) height++;
    return height;
  }
}
