// The memtable: the newest writes, ordered, in memory, until a flush writes
// them to a level-0 segment. Every entry is also in the WAL file(s) that the
// memtable covers, so a crash loses nothing the WAL kept.
//
// Layout, chosen for lookups in O(1), few objects for the garbage collector
// and nothing retained from callers (the skip list it replaced chased a
// pointer per comparison and kept a node and the caller's two Buffers per
// entry: some 450 bytes and four objects):
// - a user key is held once, as a latin1 string (one character per byte:
//   JS string order is then byte order, and comparisons are native). A hash
//   index (key-index.ts) from the key's bytes to its anchor (below) answers
//   get() with one lookup, without making a string;
// - versions are 32-byte rows of one growable ArrayBuffer (sequence, value
//   location, value length or tombstone mark, older, newer, head), so a
//   lookup reads one cache line and the collector sees no object per
//   version. A key's versions form a doubly linked list, newest first; the
//   row of its first version is its anchor and holds the list's head;
// - a B+tree over the distinct keys (key-tree.ts) orders them for iterators
//   and flush, each with its anchor; a new version of a known key touches
//   only its list, and new keys wait unsorted and go into the tree in sorted
//   batches, merged a few keys per later add() (#startFold()), or at once
//   when an iterator is made: all of them (#foldPending()), or for a bounded
//   one only those within its bounds (#foldRange());
// - value bytes are copied into memtable-owned slabs (value-arena.ts);
//   tombstones store none. Each key's bytes are stored there too, before
//   its first version's value, and rows live in a SharedArrayBuffer, so a
//   flush worker reads the whole memtable in place (image(),
//   memtable-image.ts) and sorts it itself: a flush costs the event loop
//   nothing.
//
// Ownership: add() copies key and value; the caller may reuse its buffers at
// once. The exception is a large value with headroom in shared memory
// (lib/format/headroom.ts, a big SET's record), which is taken over, not
// copied (value-arena.ts). Values returned by get() and iterators are
// read-only views into the slabs, valid as long as they are referenced (slab
// bytes never change).
//
// Invariants:
// - (user key, sequence) is unique; each list is ordered by sequence, descending;
// - keys are never removed from the index or the tree, and rows are never
//   reused: a key whose versions were all taken back by remove() stays, with
//   an empty list (head = noVersion), and every walk skips it;
// - a removed version is marked (newer = removedMark) and keeps its other
//   fields, so an iterator standing on it can still read it and move on.
//
// Byte accounting counts what the structures really hold (measured, see the
// overhead constants), so the byte budget bounds memory, not just payload.

import { assert } from '../assert.js';
import { sequenceOf, trailerBytes, typeOf, ValueType, writeTrailer } from '../format/internal-key.js';
import type { InternalIterator } from '../format/internal-iterator.js';
import { KeyIndex, keyChunkBits, keyChunkMask, keyChunkRows } from './key-index.js';
import { KeyTree, KeyTreeCursor } from './key-tree.js';
import { sortLatin1 } from './latin1-sort.js';
import { keyLengthBytes, ValueArena } from './value-arena.js';
import type { MemtableImage } from './memtable-image.js';

/**
 * Heap bytes per distinct key beyond its characters: the string header (16),
 * its hash index buckets (2 to 4 of 8 bytes), its tree slot (key and anchor,
 * 16 bytes in leaves 50 to 100 % full) and its share of the tree nodes.
 *
 * Measured on Node 20 (x64) with a script that adds 1,000,000 distinct
 * 16-byte keys with 100-byte values and compares process.memoryUsage()
 * (heapUsed + arrayBuffers) after a full GC before and after: 108 bytes per
 * entry beyond key and value (213 in all); 123 to 139 at 300,000 to 700,000
 * entries, where the doubling arrays are emptier. The two constants sum to
 * 120, within about 10 % of those (test/unit/memtable/memtable.test.ts checks
 * the same at 100,000 entries).
 */
export const memtableKeyOverheadBytes = 72;

/**
 * Bytes per version beyond its value bytes: its 32-byte row and an 8-byte
 * key slot, in arrays that grow by doubling, plus slab tails left unused.
 * Measured with memtableKeyOverheadBytes (see there).
 */
export const memtableVersionOverheadBytes = 48;

/** A version found by get(). `value` is a read-only view, valid while referenced. */
export interface MemtableHit {
  type: number;
  value: Buffer;
  sequence: number;
}

/** New keys wait, unsorted, until this many, then go into the tree as one sorted batch (see foldPending()). */
export const pendingKeysMaxDefault = 8192;
/**
 * While nothing iterates the memtable, each batch may be twice the last, up
 * to pendingKeysMax times this (see #startFold()). Merging a sorted batch
 * into the tree visits leaves, and at 8,192 keys into a tree of 500,000 most
 * leaves get one key, which shifts the whole leaf: with 16,384 a leaf gets
 * two for one shift. A pure write load (a fill, SET at pipeline 16) runs
 * 13-20 % faster; 32,768 gained nothing more measurable and doubled the
 * stop of the first unbounded iterator, which folds every pending key (about
 * 11 ms at 500,000 keys with 8,192, 20 ms with 16,384, 31 ms with 32,768).
 * Ranged reads pay for the pending keys they pass over (#foldRange()), so
 * the first iterator puts the size back.
 */
const pendingKeysGrowthMax = 2;
/**
 * Keys of a started fold merged into the tree per add() (see #startFold()):
 * the fold ends within pendingKeysMax / this adds, before the next batch is
 * full, and each add pays for about this many keys' merge (1-4 us).
 */
const foldKeysPerAdd = 2;
/** Pending keys go in one by one when fewer than the tree's leaves divided by this (see foldPending()). */
const sortedFoldLeafRatio = 8;
/** Keys per leaf, roughly, for that estimate (leaves hold 32 to 64). */
const keyTreeLeafEntries = 48;

/** Keys up to this many characters are turned into bytes by a JS loop (MemtableIterator.key()). */
const shortKeyChars = 64;

/** End of a list, or no version. */
export const noVersion = -1;
/** `newer` of a version taken back by remove(). */
const removedMark = -2;
/** Value length stored for a tombstone. */
export const tombstoneLength = -1;
const emptyValue = Buffer.alloc(0);
const initialRows = 64;
/** Int32 words per version row (32 bytes: one row never straddles a 64-byte cache line). */
export const rowWords = 8;
/** Version numbers are int32 (list links); 2^28 rows is 8 GiB of them, far past any memtable budget. */
const rowWordsMax = 2 ** 28 * rowWords;
/**
 * Rows copied into the rows' next buffer per new version while they grow
 * (VersionStore #next): half the rows are left when it starts, and each new
 * version takes one, so anything over 2 ends the copy in time; 16 end it
 * within a sixteenth of those versions. They are copied rowsCopiedPerStep at
 * a time (8 KiB), every rowsCopiedPerStep / rowsCopiedPerVersion versions:
 * with a copy call per version the growth cost 81 ns a version in a loop of
 * 3M memtable adds, 50 ns this way (the bytes and the new pages' faults).
 */
const rowsCopiedPerVersion = 16;
const rowsCopiedPerStep = 256;

/** User-key bounds of a memtable iterator, as latin1 strings, both inclusive; undefined: unbounded. */
export interface MemtableRange {
  lower?: string | undefined;
  upper?: string | undefined;
}

/** With fewer pending keys, a ranged iterator folds them all (as cheap as picking, and done for later iterators). */
const rangeFoldMin = 256;
/**
 * Ranged iterators pass over the pending keys at most about this many times
 * before one folds them all: keys outside every range read would otherwise
 * be scanned by each of them (LRANGE after a burst of writes elsewhere paid
 * 40 us a call for it), while a fold costs about as much as 30 passes.
 */
const rangeScansPerFold = 4;

export interface MemtableOptions {
  /** New keys that wait for the tree before a fold (tests make it small); default pendingKeysMaxDefault. */
  pendingKeysMax?: number;
  /** Fewest pending keys for which a ranged iterator folds only its range (tests make it small); default rangeFoldMin. */
  rangeFoldMin?: number;
}

export class Memtable {
  readonly #store = new VersionStore();
  /** The configured batch size of new keys, and the current one (grown while nothing iterates, see #startFold()). */
  readonly #pendingKeysBase: number;
  #pendingKeysMax: number;
  /** Iterators made since the last fold started. */
  #iteratorsSinceFold = 0;
  readonly #rangeFoldMin: number;
  /** New keys not in the tree yet, unsorted, and their anchors (see foldPending()). */
  #pendingKeys: string[] = [];
  #pendingAnchors: number[] = [];
  /** Between beginBulkLoad() and endBulkLoad(): pending keys are not folded in however many. */
  #bulkLoading = false;
  /** The first pending key and the length of the prefix all pending keys share with it (the sort skips it). */
  #pendingFirstKey: Buffer | undefined;
  #pendingPrefixLength = 0;
  /** Pending keys visited by ranged iterators' passes since the pending batch was last emptied (see iterator()). */
  #rangeScanned = 0;
  #bytes = 0;
  #entries = 0;
  #smallestSequence = Number.POSITIVE_INFINITY;
  #largestSequence = 0;
  #tombstones = 0;

  constructor(options: MemtableOptions = {}) {
    this.#pendingKeysBase = Math.max(1, options.pendingKeysMax ?? pendingKeysMaxDefault);
    this.#pendingKeysMax = this.#pendingKeysBase;
    this.#rangeFoldMin = options.rangeFoldMin ?? rangeFoldMin;
  }

  /**
   * Adds one version, copying `userKey` and `value` (the memtable keeps
   * neither; a tombstone keeps no value at all).
   * @param sequence unique within this memtable for `userKey`
   * @param type a ValueType
   */
  add(sequence: number, type: number, userKey: Buffer, value: Buffer): void {
    this.addFrom(sequence, type, userKey, 0, userKey.length, value, 0, value.length);
  }

  /**
   * add() of `keySource[keyStart, keyEnd)` and `valueSource[valueStart,
   * valueEnd)`: WAL replay adds straight from a record's payload, with no
   * Buffer per op. Both are copied, as add() copies.
   */
  addFrom(sequence: number, type: number, keySource: Buffer, keyStart: number, keyEnd: number, valueSource: Buffer, valueStart: number, valueEnd: number): void {
    const store = this.#store;
    if (store.tree.merging) store.tree.continueSortedMerge(foldKeysPerAdd);
    const hash = store.index.hash(keySource, keyStart, keyEnd);
    const anchor = store.anchorOf(keySource, keyStart, keyEnd, hash);
    const version = store.newVersion(sequence, type, valueSource, valueStart, valueEnd, anchor === noVersion ? keySource : undefined, keyStart, keyEnd);
    if (anchor === noVersion) {
      const key = keySource.toString('latin1', keyStart, keyEnd);
      store.addKey(key, hash, version);
      this.#pendingKeys.push(key);
      this.#pendingAnchors.push(version);
      this.#trackPendingPrefix(keySource, keyStart, keyEnd);
      if (this.#pendingKeys.length >= this.#pendingKeysMax && !this.#bulkLoading) this.#startFold();
      // The string and the arena's copy (see newVersion()).
      this.#bytes += 2 * key.length + keyLengthBytes + memtableKeyOverheadBytes;
    } else {
      store.link(anchor, version);
    }
    this.#bytes += store.valueBytes(version) + memtableVersionOverheadBytes;
    this.#entries++;
    if (sequence < this.#smallestSequence) this.#smallestSequence = sequence;
    if (sequence > this.#largestSequence) this.#largestSequence = sequence;
    if (type === ValueType.delete) this.#tombstones++;
  }

  /**
   * Takes back a version added by add() (a batch whose WAL write failed); does
   * nothing when it is not here. Its key's characters stay accounted: the key
   * stays in the index and the tree.
   */
  remove(sequence: number, userKey: Buffer): void {
    const store = this.#store;
    const anchor = store.anchorOf(userKey, 0, userKey.length, store.index.hash(userKey, 0, userKey.length));
    if (anchor === noVersion) return;
    const version = store.find(anchor, sequence);
    if (version === noVersion || store.sequence(version) !== sequence) return;
    store.unlink(anchor, version);
    if (store.type(version) === ValueType.delete) this.#tombstones--;
    this.#bytes -= store.valueBytes(version) + memtableVersionOverheadBytes;
    this.#entries--;
  }

  /**
   * The newest version of `userKey` with sequence <= `sequence` (tombstones
   * included), or undefined. Its value is a read-only view (see MemtableHit).
   */
  get(userKey: Buffer, sequence: number): MemtableHit | undefined {
    const store = this.#store;
    const anchor = store.anchorOf(userKey, 0, userKey.length, store.index.hash(userKey, 0, userKey.length));
    if (anchor === noVersion) return undefined;
    const version = store.find(anchor, sequence);
    if (version === noVersion) return undefined;
    return { type: store.type(version), value: store.valueOf(version), sequence: store.sequence(version) };
  }

  /**
   * Starts a bulk load (WAL replay): until endBulkLoad(), new keys stay out
   * of the tree however many, and endBulkLoad() sorts them once
   * (latin1-sort.ts) and builds the tree bottom-up, several times faster than
   * ordered inserts. get() works throughout; iterators only after endBulkLoad().
   */
  beginBulkLoad(): void {
    assert(this.#store.tree.size === 0 && this.#pendingKeys.length === 0 && !this.#bulkLoading, 'a bulk load starts on an empty memtable');
    this.#bulkLoading = true;
  }

  endBulkLoad(): void {
    assert(this.#bulkLoading, 'endBulkLoad() follows beginBulkLoad()');
    this.#bulkLoading = false;
    this.#foldPending();
  }

  /**
   * Puts the pending keys into the tree now, with any fold in progress:
   * sorted first (latin1-sort.ts), then merged in by one walk over the leaves
   * (KeyTree.insertSorted), or inserted one by one when they are few against
   * the tree (an iterator made between every few writes), where the walk
   * would cost more than the descents. Iterators and flushes need every key
   * in the tree; iterator() calls this first.
   *
   * Why keys wait: inserting each new key into a B+tree of a million costs
   * a descent with a cache miss per comparison (1.3-2.8 us, a fifth of a
   * pipelined SET); sorted batches of pendingKeysMaxDefault cost about half
   * that per key, sort included. get() never needs the tree (the hash index
   * has every key).
   */
  #foldPending(): void {
    const tree = this.#store.tree;
    tree.continueSortedMerge(Number.POSITIVE_INFINITY);
    const { keys, anchors, prefixLength } = this.#takePending();
    if (keys.length === 0) return;
    if (keys.length * sortedFoldLeafRatio < tree.size / keyTreeLeafEntries) {
      for (let index = 0; index < keys.length; index++) tree.insert(keys[index]!, anchors[index]!);
      return;
    }
    sortLatin1(keys, anchors, prefixLength);
    tree.insertSorted(keys, anchors);
  }

  /**
   * A full batch of pending keys starts its fold: it is sorted now (about
   * 1 ms for 8,192 keys) and merged into the tree foldKeysPerAdd keys per
   * later add(), not all at once: merging a batch into a tree of a few
   * hundred thousand keys costs 5-15 ms (a cache miss per comparison), which
   * would stop every client for that long every few thousand writes. A fold
   * still in progress when the next batch is full is finished first.
   */
  #startFold(): void {
    this.#pendingKeysMax =
      this.#iteratorsSinceFold === 0 ? Math.min(2 * this.#pendingKeysMax, pendingKeysGrowthMax * this.#pendingKeysBase) : this.#pendingKeysBase;
    this.#iteratorsSinceFold = 0;
    const tree = this.#store.tree;
    tree.continueSortedMerge(Number.POSITIVE_INFINITY);
    if (tree.size === 0) return this.#foldPending(); // the first batch: bottom-up build, fast
    const { keys, anchors, prefixLength } = this.#takePending();
    sortLatin1(keys, anchors, prefixLength);
    tree.beginSortedMerge(keys, anchors);
  }

  /** Empties the pending batch; returns it and the length of the prefix its keys share (the sort skips it). */
  #takePending(): { keys: string[]; anchors: number[]; prefixLength: number } {
    const keys = this.#pendingKeys;
    const anchors = this.#pendingAnchors;
    this.#pendingKeys = [];
    this.#pendingAnchors = [];
    this.#pendingFirstKey = undefined;
    this.#rangeScanned = 0;
    return { keys, anchors, prefixLength: this.#pendingPrefixLength };
  }

  #trackPendingPrefix(source: Buffer, start: number, end: number): void {
    const first = this.#pendingFirstKey;
    if (first === undefined) {
      this.#pendingFirstKey = Buffer.from(source.subarray(start, end));
      this.#pendingPrefixLength = end - start;
      return;
    }
    let length = 0;
    const lengthMax = Math.min(this.#pendingPrefixLength, end - start);
    while (length < lengthMax && source[start + length] === first[length]) length++;
    this.#pendingPrefixLength = length;
  }

  /**
   * The memtable's rows and slabs as shared memory, for a flush worker
   * (memtable-image.ts): no copy is made. Only for a memtable that takes no
   * more add() or remove() (an immutable one): the image reads the rows as
   * they are.
   */
  image(): MemtableImage {
    // The order the tree already knows, so that the worker sorts only the keys not in it yet: a
    // walk of the leaves' numbers, about 1 ms for 400,000 keys (MemtableImage.order).
    const { tree, merging } = this.#store.tree.valuesInOrder();
    const unsorted = new Int32Array(merging.length + this.#pendingAnchors.length);
    unsorted.set(merging);
    unsorted.set(this.#pendingAnchors, merging.length);
    return { ...this.#store.image(), order: { sorted: tree, unsorted } };
  }

  get approximateBytes(): number {
    return this.#bytes;
  }

  get entryCount(): number {
    return this.#entries;
  }

  get tombstoneCount(): number {
    return this.#tombstones;
  }

  get isEmpty(): boolean {
    return this.#entries === 0;
  }

  get smallestSequence(): number {
    return this.#entries === 0 ? 0 : this.#smallestSequence;
  }

  get largestSequence(): number {
    return this.#largestSequence;
  }

  /**
   * An iterator in internal-key order; it stays correct while entries are
   * added. With `range`, it is complete only for user keys within [lower,
   * upper] (latin1 strings, inclusive; undefined: unbounded), and only the
   * pending keys in that range go into the tree now (#foldRange()).
   */
  iterator(range?: MemtableRange): MemtableIterator {
    assert(!this.#bulkLoading, 'no iterator during a bulk load');
    this.#iteratorsSinceFold++;
    const pending = this.#pendingKeys.length;
    if (
      range === undefined ||
      (range.lower === undefined && range.upper === undefined) ||
      pending < this.#rangeFoldMin ||
      this.#rangeScanned + pending > rangeScansPerFold * pending
    ) {
      this.#foldPending();
    } else {
      this.#rangeScanned += pending;
      this.#foldRange(range.lower, range.upper);
    }
    return new MemtableIterator(this.#store);
  }

  /**
   * Puts into the tree only what an iterator over [lower, upper] needs: the
   * keys of a merge in progress and the pending keys in that range. A range
   * read (HGETALL, ZRANGE, the expiry sweep, SCAN's next page) then costs a
   * pass over the pending keys (about 30 ns each) instead of a fold of all
   * of them (sort and merge: up to 5-15 ms for a full batch).
   */
  #foldRange(lower: string | undefined, upper: string | undefined): void {
    const tree = this.#store.tree;
    tree.mergeRangeNow(lower, upper);
    const keys = this.#pendingKeys;
    const anchors = this.#pendingAnchors;
    const inKeys: string[] = [];
    const inAnchors: number[] = [];
    let kept = 0;
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index]!;
      if ((lower === undefined || key >= lower) && (upper === undefined || key <= upper)) {
        inKeys.push(key);
        inAnchors.push(anchors[index]!);
      } else {
        keys[kept] = key;
        anchors[kept++] = anchors[index]!;
      }
    }
    if (inKeys.length === 0) return;
    keys.length = kept;
    anchors.length = kept;
    // The shared prefix of all pending keys is still shared by those left (#pendingFirstKey may be gone: it only anchors the comparison).
    if (tree.merging || inKeys.length * sortedFoldLeafRatio < tree.size / keyTreeLeafEntries) {
      for (let index = 0; index < inKeys.length; index++) tree.insert(inKeys[index]!, inAnchors[index]!);
      return;
    }
    sortLatin1(inKeys, inAnchors, this.#pendingPrefixLength);
    tree.insertSorted(inKeys, inAnchors);
  }

  /** Checks the tree's invariants and each list's links and order (tests). */
  checkInvariants(): void {
    const store = this.#store;
    store.tree.checkInvariants();
    let entries = 0;
    let keys = 0;
    for (const anchor of store.anchors()) {
      keys++;
      let newer = noVersion;
      for (let version = store.head(anchor); version !== noVersion; version = store.older(version)) {
        assert(store.newer(version) === newer, 'list back link');
        assert(newer === noVersion || store.sequence(newer) > store.sequence(version), 'list newest first');
        newer = version;
        entries++;
      }
    }
    assert(keys === store.tree.size + store.tree.mergingKeys + this.#pendingKeys.length, 'every key in the tree, being merged or pending');
    assert(entries === this.#entries, 'entry count');
  }
}

/**
 * Iterates a memtable in internal-key order (user key ascending, sequence
 * descending). Inserts while it is open are safe: its tree cursor finds its
 * key again, and lists are only relinked around it, so every entry present
 * when it was placed is visited once, in order. Entries added later may be
 * visited or not (readers filter by sequence above this).
 */
export class MemtableIterator implements InternalIterator {
  readonly #store: VersionStore;
  readonly #cursor: KeyTreeCursor;
  #anchor = noVersion;
  #version = noVersion;
  #key: Buffer | undefined;
  /**
   * The buffer key() fills, reused while keys keep their length: the
   * InternalIterator contract lets key() change when the iterator moves, and
   * every consumer copies what it keeps (a new Buffer per entry was a third
   * of a range scan's allocation).
   */
  #keyScratch: Buffer | undefined;
  #value: Buffer | undefined;

  constructor(store: VersionStore) {
    this.#store = store;
    this.#cursor = new KeyTreeCursor(store.tree);
  }

  valid(): boolean {
    return this.#version !== noVersion;
  }

  seekToFirst(): void {
    this.#cursor.seekToFirst();
    this.#landForward();
  }

  seekToLast(): void {
    this.#cursor.seekToLast();
    this.#landBackward();
  }

  seek(target: Buffer): void {
    // First entry >= target: within the target's user key, the first version
    // with sequence below the target's, or equal with type <= the target's.
    const store = this.#store;
    const userKey = target.toString('latin1', 0, target.length - trailerBytes);
    const sequence = sequenceOf(target);
    const type = typeOf(target);
    const cursor = this.#cursor;
    cursor.seek(userKey);
    if (cursor.valid && cursor.key === userKey) {
      const anchor = cursor.value;
      let version = store.head(anchor);
      while (version !== noVersion && !(store.sequence(version) < sequence || (store.sequence(version) === sequence && store.type(version) <= type))) {
        version = store.older(version);
      }
      if (version !== noVersion) return this.#place(anchor, version);
      cursor.next();
    }
    this.#landForward();
  }

  seekForPrev(target: Buffer): void {
    // Last entry <= target: within the target's user key, the last version
    // with sequence above the target's, or equal with type >= the target's.
    const store = this.#store;
    const userKey = target.toString('latin1', 0, target.length - trailerBytes);
    const sequence = sequenceOf(target);
    const type = typeOf(target);
    const cursor = this.#cursor;
    cursor.seekForPrev(userKey);
    if (cursor.valid && cursor.key === userKey) {
      const anchor = cursor.value;
      let last = noVersion;
      for (let version = store.head(anchor); version !== noVersion; version = store.older(version)) {
        if (!(store.sequence(version) > sequence || (store.sequence(version) === sequence && store.type(version) >= type))) break;
        last = version;
      }
      if (last !== noVersion) return this.#place(anchor, last);
      cursor.prev();
    }
    this.#landBackward();
  }

  next(): void {
    const store = this.#store;
    const version = this.#version;
    // A removed version's `older` may name a version removed after it: look again from the head.
    const older = store.isRemoved(version) ? store.newestBelow(this.#anchor, store.sequence(version)) : store.older(version);
    if (older !== noVersion) return this.#place(this.#anchor, older);
    this.#cursor.next();
    this.#landForward();
  }

  prev(): void {
    const store = this.#store;
    const version = this.#version;
    const newer = store.isRemoved(version) ? store.oldestAbove(this.#anchor, store.sequence(version)) : store.newer(version);
    if (newer !== noVersion) return this.#place(this.#anchor, newer);
    this.#cursor.prev();
    this.#landBackward();
  }

  /** The internal key, built on first call at each position. */
  key(): Buffer {
    if (this.#key === undefined) {
      const userKey = this.#cursor.key;
      const length = userKey.length;
      let key = this.#keyScratch;
      if (key === undefined || key.length !== length + trailerBytes) key = this.#keyScratch = Buffer.allocUnsafe(length + trailerBytes);
      // A short key is copied in a loop: Buffer#write's encoding dispatch and native call cost more (iteration -10 %).
      if (length <= shortKeyChars) for (let index = 0; index < length; index++) key[index] = userKey.charCodeAt(index);
      else key.write(userKey, 0, 'latin1');
      writeTrailer(key, length, this.#store.sequence(this.#version), this.#store.type(this.#version));
      this.#key = key;
    }
    return this.#key;
  }

  /** The value (empty for a tombstone): a read-only view into the memtable's slabs. */
  value(): Buffer {
    if (this.#value === undefined) this.#value = this.#store.valueOf(this.#version);
    return this.#value;
  }

  close(): void {
    this.#version = noVersion;
  }

  /** From the cursor's key on, the newest version of the first key that has one. */
  #landForward(): void {
    const store = this.#store;
    const cursor = this.#cursor;
    for (; cursor.valid; cursor.next()) {
      const head = store.head(cursor.value);
      if (head !== noVersion) return this.#place(cursor.value, head);
    }
    this.#place(noVersion, noVersion);
  }

  /** From the cursor's key back, the oldest version of the first key that has one. */
  #landBackward(): void {
    const store = this.#store;
    const cursor = this.#cursor;
    for (; cursor.valid; cursor.prev()) {
      let version = store.head(cursor.value);
      if (version === noVersion) continue;
      // NB: lists keep no tail: walking to it costs what the prev() steps over the list will cost anyway.
      while (store.older(version) !== noVersion) version = store.older(version);
      return this.#place(cursor.value, version);
    }
    this.#place(noVersion, noVersion);
  }

  #place(anchor: number, version: number): void {
    this.#anchor = anchor;
    this.#version = version;
    this.#key = undefined;
    this.#value = undefined;
  }
}

/**
 * The memtable's storage, shared with its iterators: the key index, the tree,
 * the value arena and the version rows.
 *
 * Row layout (32 bytes, `rowWords` int32 words; the first two pairs read as float64):
 *   word 0-1 sequence (float64)   word 2-3 value location (float64, ValueArena)
 *   word 4   value length, or tombstoneLength
 *   word 5   older version or noVersion
 *   word 6   newer version, noVersion, or removedMark
 *   word 7   anchor rows only: the newest version of the key, or noVersion
 * An anchor row's value location is always set, tombstone or empty value
 * alike: the key's bytes precede it (value-arena.ts keyLengthAt()). Word 7 is
 * noVersion on every other row, so the rows alone tell which keys have
 * versions (memtable-image.ts relies on it).
 */
class VersionStore {
  readonly tree = new KeyTree();
  readonly values = new ValueArena();
  readonly index = new KeyIndex();
  /**
   * Per row: the key string on anchor rows, '' on the others (their key is
   * their anchor's), in chunks of keyChunkRows: row r's is
   * #keys[r >>> keyChunkBits][r & keyChunkMask], as KeyIndex reads it. A
   * growing chunk copies at most keyChunkRows entries; one array of every
   * row was copied whole as it grew (pushes into a plain array: a 30 ms stop
   * at 4.4M; chunked, 1.6 ms at most).
   */
  readonly #keys: string[][] = [[]];
  #words = new Int32Array(new SharedArrayBuffer(initialRows * rowWords * Int32Array.BYTES_PER_ELEMENT));
  #floats = new Float64Array(this.#words.buffer);
  /**
   * While the rows grow: their next buffer, twice the size, into which
   * newVersion() copies rowsCopiedPerStep rows at a time until it holds
   * them all and replaces #words. Started when the rows are half full, so it
   * ends long before they are full; a write to a row already copied goes to
   * both (#write()). Before, the rows doubled in one stop when full, copying
   * every row into fresh pages the system zeroed as the copy touched them:
   * about 0.45 ms a MiB of rows copied: 15 ms at 1,048,576 rows, 29 at 2,097,152.
   */
  #next: Int32Array<SharedArrayBuffer> | undefined;
  /** Words of #words copied into #next so far. */
  #copiedWords = 0;
  #rows = 0;
  /** Rows unlink() took out of their key's list. */
  #unlinked = 0;

  /** The anchor of the user key `source[start, end)` (whose index hash is `hash`), or noVersion. */
  anchorOf(source: Buffer, start: number, end: number, hash: number): number {
    return this.index.find(source, start, end, hash, this.#keys);
  }

  /** Records a new key whose first version is `anchor`. */
  addKey(key: string, hash: number, anchor: number): void {
    this.#keys[anchor >>> keyChunkBits]![anchor & keyChunkMask] = key;
    this.index.insert(hash, anchor);
    this.#write(anchor * rowWords + 7, anchor);
  }

  anchors(): Iterable<number> {
    return this.index.anchors();
  }

  /**
   * A new row for a version whose value is `value[valueStart, valueEnd)`.
   * `key` (`key[keyStart, keyEnd)`): given for a key's first version (its
   * anchor), whose key bytes are stored before its value (value-arena.ts
   * keyLengthAt()), even when the value is empty or a tombstone's.
   */
  newVersion(sequence: number, type: number, value: Buffer, valueStart: number, valueEnd: number, key: Buffer | undefined, keyStart: number, keyEnd: number): number {
    // Copies first: the new row is then past what was copied, and written to #words alone.
    if (this.#next === undefined ? 2 * (this.#rows + 1) * rowWords > this.#words.length : this.#rows % (rowsCopiedPerStep / rowsCopiedPerVersion) === 0 || (this.#rows + 1) * rowWords > this.#words.length) {
      this.#grow();
    }
    const version = this.#rows++;
    const chunk = this.#keys[this.#keys.length - 1]!;
    if (chunk.length < keyChunkRows) chunk.push('');
    else this.#keys.push(['']);
    const base = version * rowWords;
    const words = this.#words;
    this.#floats[base >> 1] = sequence;
    if (type === ValueType.delete) {
      words[base + 4] = tombstoneLength;
      this.#floats[(base >> 1) + 1] = key === undefined ? 0 : this.values.add(emptyValue, 0, 0, key, keyStart, keyEnd);
    } else {
      assert(type === ValueType.put, 'a put or a delete');
      const length = valueEnd - valueStart;
      words[base + 4] = length;
      this.#floats[(base >> 1) + 1] = length === 0 && key === undefined ? 0 : this.values.add(value, valueStart, valueEnd, key, keyStart, keyEnd);
    }
    words[base + 5] = noVersion;
    words[base + 6] = noVersion;
    words[base + 7] = noVersion;
    return version;
  }

  sequence(version: number): number {
    return this.#floats[(version * rowWords) >> 1]!;
  }

  type(version: number): number {
    return this.#words[version * rowWords + 4] === tombstoneLength ? ValueType.delete : ValueType.put;
  }

  /** Stored value bytes (0 for a tombstone). */
  valueBytes(version: number): number {
    const length = this.#words[version * rowWords + 4]!;
    return length === tombstoneLength ? 0 : length;
  }

  older(version: number): number {
    return this.#words[version * rowWords + 5]!;
  }

  newer(version: number): number {
    return this.#words[version * rowWords + 6]!;
  }

  isRemoved(version: number): boolean {
    return this.#words[version * rowWords + 6] === removedMark;
  }

  head(anchor: number): number {
    return this.#words[anchor * rowWords + 7]!;
  }

  /** The newest version of the key at `anchor` with sequence <= `sequence`, or noVersion. */
  find(anchor: number, sequence: number): number {
    const words = this.#words;
    const floats = this.#floats;
    let version = words[anchor * rowWords + 7]!;
    while (version !== noVersion && floats[(version * rowWords) >> 1]! > sequence) version = words[version * rowWords + 5]!;
    return version;
  }

  /** Links a new version into the list of the key at `anchor`, keeping it newest first. */
  link(anchor: number, version: number): void {
    const sequence = this.sequence(version);
    const head = this.head(anchor);
    if (head === noVersion || this.sequence(head) < sequence) {
      // The common case: the newest version yet (WAL replay and writes come in sequence order).
      this.#write(version * rowWords + 5, head);
      if (head !== noVersion) this.#write(head * rowWords + 6, version);
      this.#write(anchor * rowWords + 7, version);
      return;
    }
    let newer = head;
    while (this.older(newer) !== noVersion && this.sequence(this.older(newer)) > sequence) newer = this.older(newer);
    const older = this.older(newer);
    assert(this.sequence(newer) !== sequence && (older === noVersion || this.sequence(older) !== sequence), 'a sequence appears once per key');
    this.#write(version * rowWords + 5, older);
    this.#write(version * rowWords + 6, newer);
    this.#write(newer * rowWords + 5, version);
    if (older !== noVersion) this.#write(older * rowWords + 6, version);
  }

  /** Unlinks `version` and marks it removed; its `older` stays, for iterators standing on it. */
  unlink(anchor: number, version: number): void {
    const older = this.older(version);
    const newer = this.newer(version);
    if (newer === noVersion) this.#write(anchor * rowWords + 7, older);
    else this.#write(newer * rowWords + 5, older);
    if (older !== noVersion) this.#write(older * rowWords + 6, newer);
    this.#write(version * rowWords + 6, removedMark);
    this.#unlinked++;
  }

  /** The newest version of the key at `anchor` below `sequence` (for an iterator whose version was removed). */
  newestBelow(anchor: number, sequence: number): number {
    let version = this.head(anchor);
    while (version !== noVersion && this.sequence(version) >= sequence) version = this.older(version);
    return version;
  }

  /** The oldest version of the key at `anchor` above `sequence`. */
  oldestAbove(anchor: number, sequence: number): number {
    let found = noVersion;
    for (let version = this.head(anchor); version !== noVersion && this.sequence(version) > sequence; version = this.older(version)) found = version;
    return found;
  }

  /** The value of `version`: a read-only view into the arena (a shared empty buffer when empty). */
  valueOf(version: number): Buffer {
    const base = version * rowWords;
    const length = this.#words[base + 4]!;
    return length <= 0 ? emptyValue : this.values.view(this.#floats[(base >> 1) + 1]!, length);
  }

  /** The rows, slabs and version count, shared with a flush worker (see memtable-image.ts); valid while no version is added. */
  image(): Omit<MemtableImage, 'order'> {
    // A growth under way is dropped: an imaged (immutable) memtable gets no more rows, and the next
    // buffer would only hold memory until the flush ends. A later newVersion() would start it again.
    this.#next = undefined;
    this.#copiedWords = 0;
    return { rows: this.#words.subarray(0, this.#rows * rowWords), slabs: [...this.values.slabs], versions: this.#rows - this.#unlinked };
  }

  /** Sets word `index` of the rows, in the next buffer too once it holds that word (see #next). */
  #write(index: number, value: number): void {
    this.#words[index] = value;
    if (index < this.#copiedWords) this.#next![index] = value;
  }

  /**
   * Starts the rows' next buffer when they are half full, copies the next
   * rowsCopiedPerStep rows into it, and switches to it once it holds every
   * row; finishes at once if the rows are full (not reached: see #next).
   */
  #grow(): void {
    let next = this.#next;
    if (next === undefined) {
      assert(this.#words.length * 2 <= rowWordsMax, 'version rows fit an Int32Array');
      next = this.#next = new Int32Array(new SharedArrayBuffer(this.#words.length * 2 * Int32Array.BYTES_PER_ELEMENT));
      this.#copiedWords = 0;
    }
    const used = this.#rows * rowWords;
    const full = (this.#rows + 1) * rowWords > this.#words.length;
    const end = full ? used : Math.min(used, this.#copiedWords + rowsCopiedPerStep * rowWords);
    next.set(this.#words.subarray(this.#copiedWords, end), this.#copiedWords);
    this.#copiedWords = end;
    if (end < used) return;
    this.#words = next;
    this.#floats = new Float64Array(next.buffer);
    this.#next = undefined;
    this.#copiedWords = 0;
  }
}
