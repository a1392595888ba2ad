// The memtable's ordered index: a B+tree over its DISTINCT user keys, each a
// latin1 string (one character per byte, so JS string order is byte order),
// with a number per key (the memtable's key slot, so that walks need no
// hash lookups). Sorted leaf arrays are linked both ways for in-order walks;
// a branch keeps, for each child, the smallest key in it (entry 0 is never
// consulted).
//
// Why this shape: at a million keys the skip list it replaced spent its time
// chasing pointers (one cache miss per level per comparison) and allocating a
// node per entry. Here a lookup is a few binary searches over arrays of 64
// strings compared natively, and a key costs one array slot. Versions of a key
// are not in the tree at all (see memtable.ts): a new version of a known key
// never touches it.
//
// Invariants:
// - keys are unique and only ever inserted, never removed (a memtable lives
//   until it is flushed whole), so a leaf position that still holds its key
//   is still right, and a key once found can always be found again;
// - `modificationCount` changes on every insert, so a cursor knows when the
//   arrays under it may have shifted and must find its key again.

import { assert } from '../assert.js';

/** Most keys in a leaf, and children in a branch, before it splits. */
const nodeEntriesMax = 64;

/** A tree node. Leaves have `children === null`; only leaves are linked. */
export class KeyTreeNode {
  /** Leaf: the keys, ascending. Branch: the smallest key of each child (keys[0] unused). */
  readonly keys: string[];
  /** Leaf: the number stored with each key. Branch: empty. */
  readonly values: number[];
  readonly children: KeyTreeNode[] | null;
  next: KeyTreeNode | null = null;
  prev: KeyTreeNode | null = null;

  constructor(keys: string[], values: number[], children: KeyTreeNode[] | null) {
    this.keys = keys;
    this.values = values;
    this.children = children;
  }
}

export class KeyTree {
  #root: KeyTreeNode | null = null;
  #first: KeyTreeNode | null = null;
  #last: KeyTreeNode | null = null;
  #size = 0;
  #modificationCount = 0;
  /** Scratch for insert(): the branches on the way down and the child index taken in each. */
  readonly #pathNodes: KeyTreeNode[] = [];
  readonly #pathIndexes: number[] = [];
  /** Scratch for insertSorted(): where each key of a run goes in its leaf. */
  readonly #positions: number[] = [];
  /** A sorted merge in progress (beginSortedMerge()): its keys, the next to merge, and the leaf the walk is at. */
  #merge: { keys: readonly string[]; values: readonly number[]; next: number; leaf: KeyTreeNode } | undefined;

  /** Number of keys. */
  get size(): number {
    return this.#size;
  }

  /** Changes whenever keys move between or within leaves (every insert). */
  get modificationCount(): number {
    return this.#modificationCount;
  }

  /** The leftmost leaf, or null when empty. */
  get firstLeaf(): KeyTreeNode | null {
    return this.#first;
  }

  /** The rightmost leaf, or null when empty. */
  get lastLeaf(): KeyTreeNode | null {
    return this.#last;
  }

  /** Whether a sorted merge is in progress (between beginSortedMerge() and its last step). */
  get merging(): boolean {
    return this.#merge !== undefined;
  }

  /**
   * Merges now, out of turn, the keys of the merge in progress that lie in
   * [lower, upper] (undefined: unbounded), so that an iterator over that
   * range sees them; they leave the merge. O(log n) a key plus one move of
   * the merge's remaining keys.
   */
  mergeRangeNow(lower: string | undefined, upper: string | undefined): void {
    const merge = this.#merge;
    if (merge === undefined) return;
    const keys = merge.keys as string[];
    const values = merge.values as number[];
    const from = lower === undefined ? merge.next : Math.max(merge.next, lowerBound(keys, lower));
    const to = upper === undefined ? keys.length : upperBound(keys, upper);
    if (from >= to) return;
    for (let index = from; index < to; index++) this.#insertDuringMerge(keys[index]!, values[index]!);
    keys.splice(from, to - from);
    values.splice(from, to - from);
    if (merge.next >= keys.length) this.continueSortedMerge(0); // nothing left: end it (branches rebuilt)
  }

  /**
   * The values of the tree's keys in key order (a walk of the leaves), and
   * those of the keys of a sorted merge in progress not merged yet, in their
   * (sorted) order: two sorted runs, which together are every key's value.
   */
  valuesInOrder(): { tree: Int32Array; merging: Int32Array } {
    const tree = new Int32Array(this.#size);
    let at = 0;
    for (let leaf = this.#first; leaf !== null; leaf = leaf.next) {
      tree.set(leaf.values, at);
      at += leaf.values.length;
    }
    assert(at === this.#size, 'the leaves hold every key of the tree');
    const merge = this.#merge;
    const merging = merge === undefined ? new Int32Array(0) : Int32Array.from(merge.values.slice(merge.next));
    return { tree, merging };
  }

  /** Keys of the sorted merge in progress not merged yet (0 when none). */
  get mergingKeys(): number {
    return this.#merge === undefined ? 0 : this.#merge.keys.length - this.#merge.next;
  }

  /**
   * Inserts `key` with `value`; `key` must not be present (the memtable's map
   * says which keys are), nor among the keys of a sorted merge in progress.
   */
  insert(key: string, value: number): void {
    if (this.#merge !== undefined) return this.#insertDuringMerge(key, value);
    this.#modificationCount++;
    this.#size++;
    let node = this.#root;
    if (node === null) {
      const leaf = new KeyTreeNode([key], [value], null);
      this.#root = this.#first = this.#last = leaf;
      return;
    }
    let depth = 0;
    while (node.children !== null) {
      const index = childIndex(node.keys, key);
      this.#pathNodes[depth] = node;
      this.#pathIndexes[depth] = index;
      depth++;
      node = node.children[index]!;
    }
    const position = lowerBound(node.keys, key);
    assert(node.keys[position] !== key, 'a key enters the tree once');
    insertAt(node.keys, position, key);
    insertAt(node.values, position, value);
    if (node.keys.length <= nodeEntriesMax) return;

    let right = this.#splitLeaf(node, position);
    let separator = right.keys[0]!;
    while (depth > 0) {
      depth--;
      const parent = this.#pathNodes[depth]!;
      const index = this.#pathIndexes[depth]! + 1;
      insertAt(parent.keys, index, separator);
      insertAt(parent.children!, index, right);
      if (parent.children!.length <= nodeEntriesMax) return;
      right = splitBranch(parent, index);
      separator = right.keys[0]!;
    }
    const oldRoot = this.#root!;
    this.#root = new KeyTreeNode([oldRoot.keys[0]!, separator], [], [oldRoot, right]);
  }

  /**
   * Builds the tree from `keys`, sorted ascending and distinct, and their
   * `values`, in O(n): full leaves, then each branch level over the one
   * below. The tree must be empty.
   */
  buildFromSorted(keys: readonly string[], values: readonly number[]): void {
    assert(this.#root === null && this.#merge === undefined, 'bulk build starts from an empty tree');
    assert(keys.length === values.length, 'a value per key');
    if (keys.length === 0) return;
    this.#modificationCount++;
    this.#size = keys.length;
    const leaves: KeyTreeNode[] = [];
    let previous: KeyTreeNode | null = null;
    for (let start = 0; start < keys.length; start += nodeEntriesMax) {
      const leaf = new KeyTreeNode(keys.slice(start, start + nodeEntriesMax), values.slice(start, start + nodeEntriesMax), null);
      leaf.prev = previous;
      if (previous !== null) previous.next = leaf;
      previous = leaf;
      leaves.push(leaf);
    }
    this.#first = leaves[0]!;
    this.#last = previous;
    this.#buildBranches(leaves);
  }

  /**
   * Inserts `keys` (ascending, distinct, none in the tree yet) with their
   * `values`, for a batch at a time (the memtable's deferred inserts); the
   * same as beginSortedMerge() and a step that merges everything.
   */
  insertSorted(keys: readonly string[], values: readonly number[]): void {
    assert(keys.length === values.length, 'a value per key');
    if (keys.length === 0) return;
    if (this.#root === null) return this.buildFromSorted(keys, values);
    this.beginSortedMerge(keys, values);
    this.continueSortedMerge(Number.POSITIVE_INFINITY);
  }

  /**
   * Starts merging `keys` (ascending, distinct, none in the tree yet) with
   * their `values`; continueSortedMerge() does the work, a few keys at a time,
   * so that a big batch never stops the event loop for long:
   * - each run of keys that falls within one leaf is merged into it in one
   *   pass (a binary search per key in that leaf, then one move of its tail),
   *   and a leaf that overflows is cut into full leaves;
   * - leaves are reached by walking the leaf chain forwards (one comparison
   *   per leaf passed), not by a descent per key; the walk resumes where the
   *   last step stopped;
   * - the branches are rebuilt over the leaves after the last step, O(leaves
   *   / 64) nodes. Until then they are stale but still lead to the right
   *   place: a merge never lowers a leaf's first key (but the first leaf's),
   *   so a descent lands on the right leaf or on one that a split put before
   *   it, and findLeaf() walks on from there.
   * Worth it when the batch is not tiny against the number of leaves: the
   * walk and the rebuild cost O(leaves) whatever the batch (insert() each
   * key of a small batch instead). The tree takes `keys` and `values` over
   * (mergeRangeNow() takes keys out of them) until the merge ends;
   * buildFromSorted() waits for it, insert() works throughout.
   */
  beginSortedMerge(keys: readonly string[], values: readonly number[]): void {
    assert(this.#merge === undefined, 'one sorted merge at a time');
    assert(this.#root !== null, 'a sorted merge goes into a non-empty tree (buildFromSorted() builds an empty one)');
    assert(keys.length === values.length, 'a value per key');
    this.#merge = { keys, values, next: 0, leaf: this.#first! };
  }

  /**
   * Merges at least `count` more keys of the merge in progress (whole runs
   * of one leaf; 0 only ends a merge with nothing left); returns true when
   * the merge is over (branches rebuilt).
   */
  continueSortedMerge(count: number): boolean {
    const merge = this.#merge;
    if (merge === undefined) return true;
    const { keys, values } = merge;
    const stop = Math.min(keys.length, merge.next + Math.max(0, count));
    let leaf = merge.leaf;
    let start = merge.next;
    if (start < stop) {
      this.#modificationCount++;
      while (start < stop) {
        while (leaf.next !== null && keys[start]! >= leaf.next.keys[0]!) leaf = leaf.next;
        const bound = leaf.next === null ? undefined : leaf.next.keys[0]!;
        let end = start + 1;
        while (end < keys.length && (bound === undefined || keys[end]! < bound)) end++;
        this.#size += end - start;
        leaf = this.#mergeIntoLeaf(leaf, keys, values, start, end);
        start = end;
      }
    }
    merge.next = start;
    merge.leaf = leaf;
    if (start < keys.length) return false;
    this.#merge = undefined;
    const leaves: KeyTreeNode[] = [];
    for (let node = this.#first; node !== null; node = node.next) leaves.push(node);
    this.#buildBranches(leaves);
    return true;
  }

  /**
   * Merges keys[start, end) (all within `leaf`'s range) into `leaf`; cuts it
   * into several leaves when it overflows. Returns the last leaf of the cut.
   */
  #mergeIntoLeaf(leaf: KeyTreeNode, keys: readonly string[], values: readonly number[], start: number, end: number): KeyTreeNode {
    const leafKeys = leaf.keys;
    const leafValues = leaf.values;
    const oldLength = leafKeys.length;
    const added = end - start;
    // Where each new key goes among the old ones (ascending, so each search starts at the last).
    // NB: written by index, never emptied with `length = 0`, which drops V8's backing store (a new one every call).
    const positions = this.#positions;
    let from = 0;
    for (let index = start; index < end; index++) {
      from = lowerBound(leafKeys, keys[index]!, from);
      positions[index - start] = from;
    }
    // Grow by push (keeps the arrays packed), then fill from the back.
    for (let index = 0; index < added; index++) {
      leafKeys.push('');
      leafValues.push(0);
    }
    let write = oldLength + added - 1;
    let read = oldLength - 1;
    for (let index = added - 1; index >= 0; index--) {
      const position = positions[index]!;
      for (; read >= position; read--, write--) {
        leafKeys[write] = leafKeys[read]!;
        leafValues[write] = leafValues[read]!;
      }
      leafKeys[write] = keys[start + index]!;
      leafValues[write] = values[start + index]!;
      write--;
    }
    if (leafKeys.length <= nodeEntriesMax) return leaf;

    // Cut into full leaves (the next batch lands anywhere: no room is kept).
    const total = leafKeys.length;
    const pieces = Math.ceil(total / nodeEntriesMax);
    const pieceSize = Math.ceil(total / pieces);
    let last = leaf;
    for (let at = pieceSize; at < total; at += pieceSize) {
      const right = new KeyTreeNode(leafKeys.slice(at, at + pieceSize), leafValues.slice(at, at + pieceSize), null);
      right.prev = last;
      right.next = last.next;
      if (last.next !== null) last.next.prev = right;
      else this.#last = right;
      last.next = right;
      last = right;
    }
    leafKeys.length = pieceSize;
    leafValues.length = pieceSize;
    return last;
  }

  /**
   * insert() while a sorted merge runs: into the leaf that findLeaf() walks
   * to, cut in two when it overflows, branches left stale (the merge's last
   * step rebuilds them; until then findLeaf() walks past the cuts). The
   * merge's walk only moves forwards from its leaf, so it finds keys
   * inserted on either side of it.
   */
  #insertDuringMerge(key: string, value: number): void {
    this.#modificationCount++;
    this.#size++;
    const leaf = this.findLeaf(key)!;
    const position = lowerBound(leaf.keys, key);
    assert(leaf.keys[position] !== key, 'a key enters the tree once');
    insertAt(leaf.keys, position, key);
    insertAt(leaf.values, position, value);
    if (leaf.keys.length > nodeEntriesMax) this.#splitLeaf(leaf, position);
  }

  /** Builds the branch levels over `leaves` (linked, in order, at least one) and sets the root. */
  #buildBranches(leaves: KeyTreeNode[]): void {
    let level = leaves;
    while (level.length > 1) {
      const above: KeyTreeNode[] = [];
      for (let start = 0; start < level.length; start += nodeEntriesMax) {
        const children = level.slice(start, start + nodeEntriesMax);
        above.push(new KeyTreeNode(children.map((child) => child.keys[0]!), [], children));
      }
      level = above;
    }
    this.#root = level[0]!;
  }

  /** The leaf where `key` is or would be inserted (null when the tree is empty). */
  findLeaf(key: string): KeyTreeNode | null {
    let node = this.#root;
    if (node === null) return null;
    while (node.children !== null) node = node.children[childIndex(node.keys, key)]!;
    // Mid-merge the branches may lead to a leaf that was cut since: its later pieces follow it.
    if (this.#merge !== undefined) while (node.next !== null && node.next.keys[0]! <= key) node = node.next;
    return node;
  }

  /** Checks the invariants (tests): order within and across leaves, links, separators, size. */
  checkInvariants(): void {
    let count = 0;
    let previousKey: string | undefined;
    let previousLeaf: KeyTreeNode | null = null;
    for (let leaf = this.#first; leaf !== null; leaf = leaf.next) {
      assert(leaf.prev === previousLeaf, 'leaf back link');
      assert(leaf.keys.length > 0 && leaf.keys.length <= nodeEntriesMax, 'leaf within bounds');
      assert(leaf.values.length === leaf.keys.length, 'a value per key');
      for (const key of leaf.keys) {
        assert(previousKey === undefined || previousKey < key, 'keys ascending');
        previousKey = key;
        count++;
      }
      previousLeaf = leaf;
    }
    assert(previousLeaf === this.#last, 'last leaf');
    assert(count === this.#size, 'size matches');
    for (const key of this.#allKeys()) assert(this.findLeaf(key)!.keys.includes(key), 'every key is found by descent');
  }

  *#allKeys(): Generator<string> {
    for (let leaf = this.#first; leaf !== null; leaf = leaf.next) yield* leaf.keys;
  }

  /** Splits an overfull leaf; returns the new right sibling. */
  #splitLeaf(leaf: KeyTreeNode, insertedAt: number): KeyTreeNode {
    // Ascending inserts (fillseq, sequential ids) land at the end of the last
    // leaf: leave that leaf full instead of half empty.
    const keys = leaf.keys;
    const at = leaf.next === null && insertedAt === keys.length - 1 ? keys.length - 1 : keys.length >> 1;
    const right = new KeyTreeNode(keys.slice(at), leaf.values.slice(at), null);
    keys.length = at;
    leaf.values.length = at;
    right.next = leaf.next;
    right.prev = leaf;
    if (leaf.next !== null) leaf.next.prev = right;
    else this.#last = right;
    leaf.next = right;
    return right;
  }
}

/**
 * A position in a KeyTree that survives inserts: it remembers its key and,
 * when the tree changed since it was placed, checks that its slot still holds
 * that key and looks it up again if not.
 */
export class KeyTreeCursor {
  readonly #tree: KeyTree;
  #leaf: KeyTreeNode | null = null;
  #index = 0;
  #key = '';
  #value = 0;
  #modificationCount = -1;

  constructor(tree: KeyTree) {
    this.#tree = tree;
  }

  get valid(): boolean {
    return this.#leaf !== null;
  }

  /** The key here; only while valid. */
  get key(): string {
    return this.#key;
  }

  /** The value stored with the key here; only while valid. */
  get value(): number {
    return this.#value;
  }

  seekToFirst(): void {
    this.#place(this.#tree.firstLeaf, 0);
  }

  seekToLast(): void {
    const leaf = this.#tree.lastLeaf;
    this.#place(leaf, leaf === null ? 0 : leaf.keys.length - 1);
  }

  /** Positions at the first key >= `key`. */
  seek(key: string): void {
    const leaf = this.#tree.findLeaf(key);
    if (leaf === null) return this.#place(null, 0);
    const index = lowerBound(leaf.keys, key);
    if (index < leaf.keys.length) this.#place(leaf, index);
    else this.#place(leaf.next, 0);
  }

  /** Positions at the last key <= `key`. */
  seekForPrev(key: string): void {
    const leaf = this.#tree.findLeaf(key);
    if (leaf === null) return this.#place(null, 0);
    const index = upperBound(leaf.keys, key) - 1;
    if (index >= 0) this.#place(leaf, index);
    else this.#place(leaf.prev, leaf.prev === null ? 0 : leaf.prev.keys.length - 1);
  }

  next(): void {
    this.#revalidate();
    const leaf = this.#leaf!;
    if (this.#index + 1 < leaf.keys.length) this.#place(leaf, this.#index + 1);
    else this.#place(leaf.next, 0);
  }

  prev(): void {
    this.#revalidate();
    const leaf = this.#leaf!;
    if (this.#index > 0) this.#place(leaf, this.#index - 1);
    else this.#place(leaf.prev, leaf.prev === null ? 0 : leaf.prev.keys.length - 1);
  }

  #place(leaf: KeyTreeNode | null, index: number): void {
    this.#leaf = leaf;
    this.#index = index;
    this.#key = leaf === null ? '' : leaf.keys[index]!;
    this.#value = leaf === null ? 0 : leaf.values[index]!;
    this.#modificationCount = this.#tree.modificationCount;
  }

  /** After inserts, finds the remembered key again (it is still in the tree: keys are never removed). */
  #revalidate(): void {
    if (this.#modificationCount === this.#tree.modificationCount) return;
    const leaf = this.#leaf!;
    if (leaf.keys[this.#index] === this.#key) {
      this.#modificationCount = this.#tree.modificationCount;
      return;
    }
    const key = this.#key;
    this.seek(key);
    assert(this.#key === key, 'a cursor finds its key again');
  }
}

/** Index of the child of a branch whose subtree holds `key`: the last i >= 1 with keys[i] <= key, else 0. */
function childIndex(keys: readonly string[], key: string): number {
  let low = 1;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (keys[middle]! <= key) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

/** First index whose key is >= `key` (keys.length when none), from index `from` on. */
function lowerBound(keys: readonly string[], key: string, from = 0): number {
  let low = from;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (keys[middle]! < key) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** First index whose key is > `key` (keys.length when none). */
function upperBound(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (keys[middle]! <= key) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Inserts without Array#splice, which allocates an array for the (no) removed elements. */
function insertAt<T>(items: T[], index: number, item: T): void {
  for (let at = items.length; at > index; at--) items[at] = items[at - 1]!;
  items[index] = item;
}

/** Splits an overfull branch; returns the new right sibling. */
function splitBranch(branch: KeyTreeNode, insertedAt: number): KeyTreeNode {
  const children = branch.children!;
  const isRightmost = insertedAt === children.length - 1 && isRightEdge(branch);
  const at = isRightmost ? children.length - 1 : children.length >> 1;
  const right = new KeyTreeNode(branch.keys.slice(at), [], children.slice(at));
  branch.keys.length = at;
  children.length = at;
  return right;
}

/** True when `branch` is on the right edge of the tree (its last leaf is the tree's last). */
function isRightEdge(branch: KeyTreeNode): boolean {
  let node = branch;
  while (node.children !== null) node = node.children[node.children.length - 1]!;
  return node.next === null;
}
