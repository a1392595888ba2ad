// Lists in the keyspace (docs/format.md, "Lists"), laid out as Kvrocks lays
// them out: the `M` record's payload holds two indexes, head and tail, and
// the element at absolute index i is the `S` subkey whose field is i as a u64
// big-endian, so the elements sort in list order and one list is one
// contiguous run of engine keys.
//
//   M payload: [head u64][tail u64]      live elements: indexes [head, tail)
//   S | physdb | len | key | version | index u64  ->  element
//
// A new list starts with head = tail = 2^52, the middle of the range a
// JavaScript number holds exactly ([0, 2^53)), so both ends can grow by 2^52
// elements (at a million pushes a second, over a century) before a push is
// refused with LimitExceededError.
//
// Costs: LPUSH, RPUSH, LPOP, RPOP, LINDEX, LSET touch O(1) engine keys (the
// metadata and one subkey each); LRANGE seeks to the first index and reads on,
// O(log N + M); LREM and LINSERT read from the end they start at and rewrite
// the elements on one side of what they remove or insert, so that the other
// side stays in place: the side they scanned, or the other one when fewer
// elements move there, counting the reads it needs first (O(P) to find the
// position P, counted from the end scanned, plus O(min(P, N - P)) to
// rewrite); LTRIM only moves head and tail.
//
// Invariants:
// - every index in [head, tail) holds an element written while the index was
//   inside the range (an index enters the range only by a write to it), and
//   the record's size field equals tail - head;
// - indexes outside [head, tail) are dead. Removals of at most
//   listFreedDeletesMax elements delete their subkeys in the same batch (so
//   LevelEngine, which runs no compaction filter, reclaims queues and capped
//   lists too); larger ones (LTRIM of a big list, LPOP of a big count) leave
//   them for the compaction filter, which drops list subkeys outside
//   [head, tail) (compaction-filter.ts, rule 3);
// - an emptied list is deleted (its metadata goes; the version makes any
//   leftover subkeys dead at once).
//
// Every change of one command is staged into one batch with the metadata,
// through List#stage().

import type { IteratorOptions } from '../engine/engine.js';
import type { WriteBatch } from '../engine/write-batch.js';
import { CorruptionError, LimitExceededError, WrongTypeError } from '../errors.js';
import { assert } from '../assert.js';
import { listFreedDeletesMax, listRangeSlicedMin } from '../limits.js';
import { forEachEntry } from './collection.js';
import { walkEntries } from './walk.js';
import type { Keyspace, MaybePromise, StoredKey } from './keyspace.js';
import { prefixEnd, readUint64BE, subkey, subkeyPrefix, writeUint64BE } from './key-encoding.js';
import { KeyType, allocRecord, metadataHeaderBytes, recordExpireMs, recordSize, recordType, recordVersion } from './metadata.js';

/** head and tail of a new list: the middle of the exactly representable range. */
export const listIndexStart = 2 ** 52;

/** Largest tail (exclusive end of the elements): numbers are exact up to here. */
export const listIndexLimit = Number.MAX_SAFE_INTEGER;

/** Bytes of a list's metadata payload: head u64, tail u64. */
export const listPayloadBytes = 16;

/** Freed elements one command deletes explicitly; above it the compaction filter drops them (lib/limits.ts). */
export { listFreedDeletesMax };

/** Bytes of an element's field (the index, u64 big-endian). */
const indexBytes = 8;

/** The field of the element key being built (subkey() copies it). */
const indexScratch = Buffer.alloc(indexBytes);

/** Elements a range read fetches with point reads instead of an iterator (no Promise on LevelEngine). */
const pointReadsMax = 16;

/** An end of a list: `left` is the head (LPUSH, LPOP), `right` the tail. */
export type ListEnd = 'left' | 'right';

// ---------------------------------------------------------------- records

/** A list record: no payload beyond [head u64][tail u64]; size = tail - head. */
export function listRecord(expireMs: number, version: number, head: number, tail: number): Buffer {
  assert(tail > head, 'a stored list is not empty');
  const record = allocRecord(KeyType.list, 0, expireMs, version, tail - head, listPayloadBytes);
  writeUint64BE(record, metadataHeaderBytes, head);
  writeUint64BE(record, metadataHeaderBytes + 8, tail);
  return record;
}

/**
 * head and tail of a list record, for the compaction filter: undefined when
 * the record is not a list or its payload is malformed (the filter then keeps
 * the subkey).
 */
export function listBounds(record: Buffer): { head: number; tail: number } | undefined {
  if (recordType(record) !== KeyType.list || record.length < metadataHeaderBytes + listPayloadBytes) return undefined;
  const head = readUint64BE(record, metadataHeaderBytes);
  const tail = readUint64BE(record, metadataHeaderBytes + 8);
  return tail >= head ? { head, tail } : undefined;
}

/** The index an element subkey's field encodes, or undefined when the field is not 8 bytes. */
export function elementIndex(field: Buffer): number | undefined {
  return field.length === indexBytes ? readUint64BE(field, 0) : undefined;
}

/** What a live record is, for commands that skip keys of another type (blocking retries). */
export function listKind(record: Buffer | undefined): 'none' | 'list' | 'other' {
  if (record === undefined) return 'none';
  return recordType(record) === KeyType.list ? 'list' : 'other';
}

// ---------------------------------------------------------------- List

/**
 * One list loaded for a command: read it, change it through the methods
 * below (which only record the changes), then stage() them into the batch.
 * Positions are 0-based from the head, as LINDEX counts; indexes are the
 * absolute ones stored in subkeys.
 */
export class List {
  readonly keyspace: Keyspace;
  readonly db: number;
  readonly key: Buffer;
  /** Whether a live list was stored when loaded. */
  readonly existed: boolean;

  readonly #physDb: number;
  readonly #target: StoredKey | undefined;
  readonly #nowMs: number;
  /** -1 until the first push of a new list assigns one. */
  #version: number;
  #expireMs: number;
  #head: number;
  #tail: number;
  #dirty = false;
  /**
   * Elements written by this command (the last write wins), by index minus
   * #origin: absolute indexes lie near 2^52 (listIndexStart), and a Map keyed
   * by numbers outside 31 bits boxes each key (an RPUSH of 1,000,000
   * elements spent 0.8 s in the Map and more in the collector).
   */
  readonly #puts = new Map<number, Buffer>();
  /** The head when loaded: #puts' keys are offsets from it. */
  readonly #origin: number;
  /** Absolute index ranges [from, to) this command took out of the list. */
  readonly #freed: [from: number, to: number][] = [];
  #freedCount = 0;

  private constructor(keyspace: Keyspace, db: number, key: Buffer, record: Buffer | undefined, target: StoredKey | undefined, nowMs: number) {
    this.keyspace = keyspace;
    this.db = db;
    this.key = key;
    this.#physDb = keyspace.physicalDb(db);
    this.#target = target;
    this.#nowMs = nowMs;
    this.existed = record !== undefined;
    if (record === undefined) {
      this.#version = -1;
      this.#expireMs = 0;
      this.#head = listIndexStart;
      this.#tail = listIndexStart;
      this.#origin = this.#head;
      return;
    }
    const bounds = listBounds(record);
    if (bounds === undefined || bounds.tail - bounds.head !== recordSize(record) || bounds.tail === bounds.head) {
      throw new CorruptionError('keyspace', -1, `Cannot read list ${key.subarray(0, 64).toString('hex')}: its head, tail and size disagree`);
    }
    this.#version = recordVersion(record);
    this.#expireMs = recordExpireMs(record);
    this.#head = bounds.head;
    this.#tail = bounds.tail;
    this.#origin = this.#head;
  }

  /**
   * The live list at `key` for reading, or undefined when there is none.
   * @throws WrongTypeError when the key holds another type
   */
  static read(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): List | undefined {
    const record = keyspace.lookup(db, key, nowMs);
    if (record === undefined) return undefined;
    if (recordType(record) !== KeyType.list) throw new WrongTypeError();
    return new List(keyspace, db, key, record, undefined, nowMs);
  }

  /**
   * The list at `key` loaded for writing; empty (existed false) when absent
   * or expired, and then created by the first push.
   * @throws WrongTypeError when the key holds another type
   */
  static edit(keyspace: Keyspace, db: number, key: Buffer, nowMs: number): List {
    const target = keyspace.load(db, key, nowMs);
    const record = target.live;
    if (record !== undefined && recordType(record) !== KeyType.list) throw new WrongTypeError();
    return new List(keyspace, db, key, record, target, nowMs);
  }

  get length(): number {
    return this.#tail - this.#head;
  }

  /** Whether a change is recorded (stage() writes only then). */
  get dirty(): boolean {
    return this.#dirty;
  }

  // ---------------------------------------------------------------- reads

  /**
   * The element at `position` (0 <= position < length). The Buffer is the
   * engine's (read-only), valid as long as the caller keeps it.
   * @throws CorruptionError when the subkey is missing
   */
  element(position: number): Buffer {
    assert(position >= 0 && position < this.length, 'the position is inside the list');
    const index = this.#head + position;
    const pending = this.#puts.get(index - this.#origin);
    if (pending !== undefined) return pending;
    const value = this.keyspace.engine.get(this.#elementKey(index));
    if (value === undefined) throw this.#missing(index);
    return value;
  }

  /**
   * `count` elements from `position` towards the tail (or towards the head
   * when `reverse`), in that order. Small ranges use point reads; larger ones
   * one iterator seek, which on LevelEngine answers through a Promise.
   */
  range(position: number, count: number, reverse = false): MaybePromise<Buffer[]> {
    assert(count >= 0 && position >= 0 && position < this.length + (count === 0 ? 1 : 0), 'the range starts inside the list');
    assert(reverse ? position - count + 1 >= 0 : position + count <= this.length, 'the range ends inside the list');
    const out: Buffer[] = [];
    if (count <= pointReadsMax || this.#puts.size > 0) {
      for (let step = 0; step < count; step++) out.push(this.element(reverse ? position - step : position + step));
      return out;
    }
    if (count < listRangeSlicedMin) {
      const done = this.scan(
        position,
        reverse,
        (_position, value) => {
          out.push(value);
          return out.length < count;
        },
        false,
        count,
      );
      return done instanceof Promise ? done.then(() => out) : out;
    }
    // A long range walks in slices at a snapshot (walk.ts), so that other clients run meanwhile.
    const from = reverse ? this.#head + position - count + 1 : this.#head + position;
    const to = from + count;
    let expected = from;
    const done = walkEntries(this.keyspace.engine, { gte: this.#elementKey(from), lt: this.#elementKey(to) }, (key, value) => {
      const index = readUint64BE(key, key.length - indexBytes);
      if (index !== expected) throw this.#missing(expected);
      expected++;
      out.push(value);
    });
    const finish = (): Buffer[] => {
      if (expected !== to) throw this.#missing(expected);
      return reverse ? out.reverse() : out;
    };
    return done instanceof Promise ? done.then(finish) : finish();
  }

  /**
   * Visits the elements from `position` to the tail (or to the head when
   * `reverse`) in order, until `visit` returns false. Synchronous on engines
   * with a synchronous iterator. Only before any change is recorded.
   * `sliced`: a range of listRangeSlicedMin elements or more is walked in slices at a snapshot
   * (walk.ts), answering through a Promise once it takes more than one
   * `count`: at most this many elements are visited. The engine is told
   * where the range ends, not only the visitor: a merge whose other sources
   * stand past the end steps without comparing keys (merge-iterator.ts).
   * @throws CorruptionError when an index in the range is missing
   */
  scan(
    position: number,
    reverse: boolean,
    visit: (position: number, value: Buffer) => boolean | void,
    sliced = false,
    count = Number.POSITIVE_INFINITY,
  ): MaybePromise<void> {
    assert(this.#puts.size === 0 && this.#freedCount === 0, 'scans come before changes');
    if (position < 0 || position >= this.length || count <= 0) return;
    const from = reverse ? Math.max(this.#head, this.#head + position - count + 1) : this.#head + position;
    const to = reverse ? this.#head + position + 1 : Math.min(this.#tail, this.#head + position + count);
    let expected = reverse ? to - 1 : from;
    const step = reverse ? -1 : 1;
    const options: IteratorOptions = { gte: this.#elementKey(from), lt: this.#elementKey(to), reverse };
    let stopped = false;
    const check = (key: Buffer, value: Buffer): boolean | void => {
      const index = readUint64BE(key, key.length - indexBytes);
      if (index !== expected) throw this.#missing(expected);
      expected += step;
      const going = visit(index - this.#head, value);
      if (going === false) stopped = true;
      return going;
    };
    const end = (): void => {
      if (!stopped && expected !== (reverse ? from - 1 : to)) throw this.#missing(expected);
    };
    // A long scan walks in slices at a snapshot (walk.ts), so that other clients run meanwhile: the command
    // then answers a keyed walk (service/resp/command.ts), its key locked until it has written.
    if (sliced && to - from >= listRangeSlicedMin) {
      const done = walkEntries(this.keyspace.engine, options, check);
      return done instanceof Promise ? done.then(end) : end();
    }
    return forEachEntry(this.keyspace.engine, options, check, end, 'transient');
  }

  // ---------------------------------------------------------------- changes

  /**
   * Adds `element` at `end`.
   * @throws LimitExceededError when the index range is exhausted at that end
   */
  push(element: Buffer, end: ListEnd): void {
    this.#assignVersion();
    if (end === 'left') {
      if (this.#head === 0) throw this.#exhausted();
      this.#head--;
      this.#put(this.#head, element);
    } else {
      if (this.#tail >= listIndexLimit) throw this.#exhausted();
      this.#put(this.#tail, element);
      this.#tail++;
    }
    this.#dirty = true;
  }

  /** Removes and returns the element at `end` (the list must not be empty). */
  pop(end: ListEnd): Buffer {
    assert(this.length > 0, 'a pop has an element to take');
    const value = this.element(end === 'left' ? 0 : this.length - 1);
    if (end === 'left') {
      this.#free(this.#head, this.#head + 1);
      this.#head++;
    } else {
      this.#tail--;
      this.#free(this.#tail, this.#tail + 1);
    }
    this.#dirty = true;
    return value;
  }

  /** Replaces the element at `position` (0 <= position < length). */
  set(position: number, element: Buffer): void {
    assert(position >= 0 && position < this.length, 'the position is inside the list');
    this.#put(this.#head + position, element);
    this.#dirty = true;
  }

  /** Removes `left` elements at the head and `right` at the tail (LTRIM): moves head and tail only. */
  trim(left: number, right: number): void {
    assert(left >= 0 && right >= 0 && left + right <= this.length, 'the trim stays inside the list');
    if (left + right === 0) return;
    this.#free(this.#head, this.#head + left);
    this.#free(this.#tail - right, this.#tail);
    this.#head += left;
    this.#tail -= right;
    this.#dirty = true;
  }

  /**
   * Removes the elements at `positions` (ascending, distinct), given the
   * values of a region the caller scanned: `scanned` holds the elements of
   * positions [0, max(positions)] when `side` is 'left', or of
   * [min(positions), length) when 'right' (in position order). The survivors
   * of that region close the gaps; the rest of the list stays in place.
   */
  removePositions(positions: readonly number[], scanned: (position: number) => Buffer, side: ListEnd): void {
    const removed = positions.length;
    if (removed === 0) return;
    if (removed === this.length) {
      this.trim(this.length, 0);
      return;
    }
    const first = positions[0]!;
    const last = positions[removed - 1]!;
    let next = 0; // next entry of positions to meet
    if (side === 'left') {
      // Survivors of [0, last] move towards the tail, to [removed, last].
      let target = this.#head + last;
      let cursor = removed - 1;
      for (let position = last; position >= 0; position--) {
        if (cursor >= 0 && positions[cursor] === position) {
          cursor--;
          continue;
        }
        this.#put(target--, scanned(position));
      }
      this.#free(this.#head, this.#head + removed);
      this.#head += removed;
    } else {
      // Survivors of [first, length) move towards the head, to [first, length - removed).
      let target = this.#head + first;
      for (let position = first; position < this.length; position++) {
        if (next < removed && positions[next] === position) {
          next++;
          continue;
        }
        this.#put(target++, scanned(position));
      }
      this.#free(this.#tail - removed, this.#tail);
      this.#tail -= removed;
    }
    this.#dirty = true;
  }

  /**
   * Inserts `element` so that it ends up at `position` (0 <= position <=
   * length), moving the elements on `side` of it one place outwards: the
   * `position` elements before it towards the head ('left'), or the ones
   * from `position` on towards the tail ('right'); `scanned` gives the values
   * of the positions that move.
   * @throws LimitExceededError when the index range is exhausted at that end
   */
  insertAt(position: number, element: Buffer, scanned: (position: number) => Buffer, side: ListEnd = 'left'): void {
    assert(position >= 0 && position <= this.length, 'the insertion point is inside the list');
    if (side === 'left') {
      if (this.#head === 0) throw this.#exhausted();
      for (let from = 0; from < position; from++) this.#put(this.#head + from - 1, scanned(from));
      this.#put(this.#head + position - 1, element);
      this.#head--;
    } else {
      if (this.#tail >= listIndexLimit) throw this.#exhausted();
      for (let from = this.length - 1; from >= position; from--) this.#put(this.#head + from + 1, scanned(from));
      this.#put(this.#head + position, element);
      this.#tail++;
    }
    this.#dirty = true;
  }

  /** Records `element` as the new value at absolute `index`. */
  #put(index: number, element: Buffer): void {
    this.#puts.set(index - this.#origin, element);
  }

  /**
   * Stages the recorded changes into `batch`: the element writes, the
   * deletes of freed elements (up to listFreedDeletesMax), and the metadata
   * (deleted when the list is now empty). Nothing when nothing changed. Only
   * on lists from edit().
   */
  stage(batch: WriteBatch): void {
    const target = this.#target;
    assert(target !== undefined, 'only an edited list is staged');
    if (!this.#dirty) return;
    if (this.length > 0) {
      for (const [offset, value] of this.#puts) {
        const index = this.#origin + offset;
        if (index >= this.#head && index < this.#tail) batch.put(this.#elementKey(index), value);
      }
    }
    if (this.#freedCount <= listFreedDeletesMax) {
      for (const [from, to] of this.#freed) {
        for (let index = from; index < to; index++) {
          if (this.length > 0 && index >= this.#head && index < this.#tail) continue; // written again (LMOVE onto itself)
          batch.del(this.#elementKey(index));
        }
      }
    }
    if (this.length === 0) this.keyspace.stageDelete(batch, target);
    else this.keyspace.stagePut(batch, target, listRecord(this.#expireMs, this.#version, this.#head, this.#tail));
  }

  // ---------------------------------------------------------------- private

  #elementKey(index: number): Buffer {
    writeUint64BE(indexScratch, 0, index);
    return subkey(this.#physDb, this.key, this.#version, indexScratch); // copies the field
  }

  #assignVersion(): void {
    if (this.#version !== -1) return;
    const target = this.#target;
    assert(target !== undefined, 'a new list comes from edit()');
    this.#version = this.keyspace.newVersion(this.#nowMs, target.stored);
  }

  #free(from: number, to: number): void {
    if (to <= from) return;
    this.#freed.push([from, to]);
    this.#freedCount += to - from;
  }

  #missing(index: number): CorruptionError {
    return new CorruptionError('keyspace', -1, `Cannot read element ${index} of list ${this.key.subarray(0, 64).toString('hex')}: its subkey is missing`);
  }

  #exhausted(): LimitExceededError {
    return new LimitExceededError(`Cannot add to list "${this.key.subarray(0, 64).toString('latin1')}": its index range is exhausted at that end`);
  }
}

/** The `S` prefix of one list version (tests, tools). */
export function listElementPrefix(physDb: number, key: Buffer, version: number): { gte: Buffer; lt: Buffer } {
  const prefix = subkeyPrefix(physDb, key, version);
  return { gte: prefix, lt: prefixEnd(prefix)! };
}
