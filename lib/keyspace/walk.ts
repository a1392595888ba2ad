// Long reads that share the event loop: a Walk reads at one engine snapshot,
// in slices of about 2 ms, and pauses for a macrotask between them, so that
// a 1M-member ZRANK, a KEYS over a million keys or a walk across 200,000
// tombstones of deleted keys never stalls other clients for long. One that
// ends within its first slice answers synchronously; a longer one answers a
// Promise. Whatever runs between its slices never shows in its answer: it
// reads the key space as it was when the walk began. Whether other commands
// may run meanwhile is the caller's decision: the RESP dispatcher lets them
// for read-only commands (snapshotRead() in service/resp/command.ts) and
// keeps them waiting for a command that writes what it read.
//
// Entries a walk passes without seeing them count too: on LsmEngine each
// engine iterator of a walk stops after hiddenPerIterator hidden entries
// (IteratorOptions.hiddenMax: tombstones, older versions), which are charged
// to the slice, and the walk goes on with a new iterator after the last key
// passed, at the same snapshot.
//
// Commands that wait are written as generators (Steps) run by drive():
// synchronously while what they wait for is ready (LsmEngine), through
// promises from the first one that is not (LevelEngine, a pause).

import type { Engine, Entry, IteratorOptions, ReadOptions, Snapshot } from '../engine/engine.js';
import type { MaybePromise } from './keyspace.js';

// ---------------------------------------------------------------- driving

/** A command written as a generator that yields what it waits for (see wait()). */
export type Steps<T> = Generator<unknown, T, unknown>;

/**
 * Runs `steps` to the end: synchronously while what it waits for is ready,
 * through promises from the first one that is not. One algorithm serves both
 * engines, and the synchronous path allocates no promises.
 */
export function drive<T>(steps: Steps<T>): MaybePromise<T> {
  return resume(steps, steps.next());
}

function resume<T>(steps: Steps<T>, first: IteratorResult<unknown, T>): MaybePromise<T> {
  let step = first;
  while (!step.done) {
    const value = step.value;
    if (value instanceof Promise) {
      return value.then(
        (settled: unknown) => resume(steps, steps.next(settled)),
        (error: unknown) => resume(steps, steps.throw(error)),
      );
    }
    step = steps.next(value);
  }
  return step.value;
}

/** Inside a drive()n generator: `const x = yield* wait(maybePromise)`. */
export function* wait<T>(value: MaybePromise<T>): Generator<unknown, T, unknown> {
  return (yield value) as T;
}

// ---------------------------------------------------------------- slices

/**
 * How a long walk shares the event loop (see Walk): a slice reads at most
 * `entriesMax` entries, and stops sooner once `durationMsMax` has passed
 * (checked every `checkEntries` entries) if it has read `entriesMin`; then
 * the walk waits for `pause()` (the next macrotask, so timers, I/O and, for
 * read-only commands, other clients' commands run) before the next slice.
 * At about 1 µs an entry from the block cache, a slice is some 2,000
 * entries: the time bound is the one that acts; `entriesMin` keeps a short
 * walk synchronous when a GC pause or a busy machine stretches its clock,
 * and `entriesMax` caps a slice whatever the clock says. Tests lower the
 * budget and replace `pause` to hold a walk between slices.
 */
export const walkSlice: { entriesMin: number; entriesMax: number; durationMsMax: number; hiddenPerIterator: number; pause: () => Promise<void> } = {
  entriesMin: 1_024,
  entriesMax: 50_000,
  durationMsMax: 2,
  /** Hidden entries one engine iterator passes before the walk charges them and opens the next (LsmEngine). */
  hiddenPerIterator: 1_024,
  pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
};

/** Entries read between two looks at the clock. */
const checkEntries = 64;

/** Entries read per step from an engine iterator. */
export const chunkEntries = 64;

/** An iterator of a Walk, read a chunk at a time or visited entry by entry. */
export interface WalkCursor {
  /** The next entries (at most chunkEntries); empty at the end. */
  next(): MaybePromise<Entry[]>;
  /**
   * Calls `visit` for each entry until it returns false or the range ends
   * (then true), or until the walk's slice is spent (then false: call again
   * after walk.pause() to go on where it stopped).
   */
  visit(visit: (key: Buffer, value: Buffer) => boolean | void): MaybePromise<boolean>;
  close(): MaybePromise<void>;
}

/**
 * One long read (a rank, a count, a range with an offset, random ranks, a
 * KEYS): its cursors read at one engine snapshot taken when the walk starts,
 * and it counts what it reads so the caller can pause between slices
 * (walkSlice). close() closes every cursor and releases the snapshot; the
 * walks call it in `finally`, so it happens on every path, errors included.
 */
export class Walk {
  readonly #engine: Engine;
  readonly #snapshot: Snapshot;
  readonly #cursors: WalkCursor[] = [];
  readonly #slice = new SliceBudget();

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#snapshot = engine.snapshot();
  }

  /** A cursor over `options` at the walk's snapshot, closed by close(). */
  open(options: IteratorOptions): WalkCursor {
    const cursor = openCursor(this.#engine, { ...options, snapshot: this.#snapshot }, this);
    this.#cursors.push(cursor);
    return cursor;
  }

  /** Counts `entries` more read in this slice. @returns whether the slice is spent (pause now) */
  spend(entries: number): boolean {
    return this.#slice.spend(entries);
  }

  /** Inside a drive()n generator: `yield* walk.pause()` between two slices. */
  *pause(): Steps<void> {
    yield this.paused();
  }

  /** walkSlice.pause(), after which a new slice starts. */
  paused(): Promise<void> {
    return this.#slice.paused();
  }

  /** Closes the cursors, then releases the snapshot whatever a close threw (the first error is rethrown). */
  *close(): Steps<void> {
    let failure: { error: unknown } | undefined;
    for (const cursor of this.#cursors) {
      try {
        yield* wait(cursor.close());
      } catch (error) {
        failure ??= { error };
      }
    }
    this.#snapshot.release();
    if (failure !== undefined) throw failure.error;
  }
}

/**
 * The clock of one slice (walkSlice) for work that is not a Walk's reads
 * (random picks, point reads ahead of a write): spend() counts the entries
 * read, or the equivalent work, and says when to pause.
 */
export class SliceBudget {
  readonly #entriesMin: number | undefined;
  #entries = 0;
  #startMs = performance.now();

  /** @param entriesMin the least work of a slice, whatever its clock says (walkSlice.entriesMin when omitted) */
  constructor(entriesMin?: number) {
    this.#entriesMin = entriesMin;
  }

  /** Counts `entries` more done in this slice. @returns whether the slice is spent (pause now) */
  spend(entries: number): boolean {
    this.#entries += entries;
    if (this.#entries >= walkSlice.entriesMax) return true;
    return this.#entries >= (this.#entriesMin ?? walkSlice.entriesMin) && performance.now() - this.#startMs >= walkSlice.durationMsMax;
  }

  /** Inside a drive()n generator: `yield* slice.pause()` between two slices. */
  *pause(): Steps<void> {
    yield this.paused();
  }

  /** walkSlice.pause(), after which a new slice starts. */
  paused(): Promise<void> {
    return walkSlice.pause().then(() => {
      this.#entries = 0;
      this.#startMs = performance.now();
    });
  }
}

/** LsmEngine's synchronous iterator (IteratorOptions.hiddenMax, stoppedAfter). */
interface SyncIterating {
  iteratorSync(options: IteratorOptions): { next(): Entry | undefined; readonly stoppedAfter?: Buffer | undefined; close(): void };
}

/** The engine's synchronous iterator, when it has one (LsmEngine). */
export function syncIterating(engine: Engine): SyncIterating | undefined {
  const candidate = engine as unknown as Partial<SyncIterating>;
  return typeof candidate.iteratorSync === 'function' ? (engine as unknown as SyncIterating) : undefined;
}

function openCursor(engine: Engine, options: IteratorOptions, walk: Walk): WalkCursor {
  const sync = syncIterating(engine);
  if (sync !== undefined) return new SyncWalkCursor(sync, options, walk);
  const iterator = engine.iterator(options);
  return {
    next: () => iterator.nextv(chunkEntries),
    visit: async (visit) => {
      while (true) {
        const entries = await iterator.nextv(chunkEntries);
        if (entries.length === 0) return true;
        for (const [key, value] of entries) if (visit(key, value) === false) return true;
        if (walk.spend(entries.length)) return false;
      }
    },
    close: () => iterator.close(),
  };
}

/**
 * A Walk's cursor on a synchronous engine iterator that stops after
 * walkSlice.hiddenPerIterator hidden entries: it charges them to the slice
 * and goes on with a new iterator after the last key passed.
 */
class SyncWalkCursor implements WalkCursor {
  readonly #sync: SyncIterating;
  readonly #options: IteratorOptions;
  readonly #walk: Walk;
  #iterator: { next(): Entry | undefined; readonly stoppedAfter?: Buffer | undefined; close(): void };
  /** Entries left under options.limit. */
  #remaining: number;

  constructor(sync: SyncIterating, options: IteratorOptions, walk: Walk) {
    this.#sync = sync;
    this.#options = { ...options, hiddenMax: walkSlice.hiddenPerIterator };
    this.#walk = walk;
    this.#remaining = options.limit === undefined || options.limit < 0 ? Number.POSITIVE_INFINITY : options.limit;
    this.#iterator = sync.iteratorSync(this.#options);
  }

  /**
   * The next entry; undefined at the end, or `stop` when the iterator
   * stopped among hidden entries and the slice is spent (a new iterator
   * goes on after them at the next call).
   */
  #step(): Entry | undefined | typeof stop {
    while (true) {
      const entry = this.#iterator.next();
      if (entry !== undefined) {
        this.#remaining--;
        return entry;
      }
      const after = this.#iterator.stoppedAfter;
      if (after === undefined || this.#remaining <= 0) return undefined;
      this.#reopen(after);
      if (this.#walk.spend(walkSlice.hiddenPerIterator)) return stop;
    }
  }

  #reopen(after: Buffer): void {
    const options = this.#options;
    if (options.reverse === true) {
      delete options.lte;
      options.lt = after;
    } else {
      delete options.gte;
      options.gt = after;
    }
    if (Number.isFinite(this.#remaining)) options.limit = this.#remaining;
    this.#iterator.close();
    this.#iterator = this.#sync.iteratorSync(options);
  }

  next(): MaybePromise<Entry[]> {
    const entries: Entry[] = [];
    while (entries.length < chunkEntries) {
      const entry = this.#step();
      if (entry === stop) {
        // Passed a slice's worth of hidden entries: hand over what was read, or pause and go on.
        if (entries.length > 0) return entries;
        return this.#walk.paused().then(() => this.next());
      }
      if (entry === undefined) break;
      entries.push(entry);
    }
    return entries;
  }

  visit(visit: (key: Buffer, value: Buffer) => boolean | void): boolean {
    for (let read = 1; ; read++) {
      const entry = this.#step();
      if (entry === stop) return false;
      if (entry === undefined || visit(entry[0], entry[1]) === false) return true;
      if (read % checkEntries === 0 && this.#walk.spend(checkEntries)) return false;
    }
  }

  close(): void {
    this.#iterator.close();
  }
}

const stop = Symbol('slice spent');

/**
 * Calls `visit` for each entry in range until it returns false, on a Walk:
 * synchronously when the walk fits in one slice on an engine with a
 * synchronous iterator, else through a Promise, pausing between slices.
 * Keys are the caller's; values are read-only views.
 */
export function walkEntries(engine: Engine, options: IteratorOptions, visit: (key: Buffer, value: Buffer) => boolean | void): MaybePromise<void> {
  return drive(walkEntriesSteps(engine, options, visit));
}

function* walkEntriesSteps(engine: Engine, options: IteratorOptions, visit: (key: Buffer, value: Buffer) => boolean | void): Steps<void> {
  const walk = new Walk(engine);
  try {
    yield* visitRange(walk, options, visit);
  } finally {
    yield* walk.close();
  }
}

/** Point reads of one slice of readInSlices() before it may pause, whatever its clock says (about 10 µs each from segments). */
export const pointReadsSliceMin = 128;

/**
 * Calls `read(0)` ... `read(count - 1)` (point reads ahead of a write of
 * many keys: SADD, HDEL, ZADD ... with thousands of arguments) in slices as
 * a walk takes them: about walkSlice.durationMsMax, then walkSlice.pause().
 * Synchronous when it ends within its first slice; a Promise otherwise.
 */
export function readInSlices(count: number, read: (index: number) => void): MaybePromise<void> {
  return drive(readInSlicesSteps(count, read));
}

function* readInSlicesSteps(count: number, read: (index: number) => void): Steps<void> {
  const slice = new SliceBudget(Math.min(pointReadsSliceMin, walkSlice.entriesMin));
  for (let index = 0; index < count; index++) {
    read(index);
    if ((index + 1) % chunkEntries === 0 && index + 1 < count && slice.spend(chunkEntries)) yield* slice.pause();
  }
}

/**
 * readInSlices() for a read-only command (HMGET, SMISMEMBER, ZMSCORE with
 * thousands of arguments): `read(index, at)` reads with the ReadOptions
 * `at`, an engine snapshot taken now and released when done, so that the
 * answer is the key space as it was however long the reads pause (a
 * snapshot read). At most pointReadsSliceMin reads take no snapshot: they
 * never pause (`at` is then empty).
 */
export function readInSlicesAtSnapshot(engine: Engine, count: number, read: (index: number, at: ReadOptions) => void): MaybePromise<void> {
  if (count <= pointReadsSliceMin) {
    for (let index = 0; index < count; index++) read(index, noReadOptions);
    return;
  }
  const snapshot = engine.snapshot();
  const at: ReadOptions = { snapshot };
  let done: MaybePromise<void>;
  try {
    done = readInSlices(count, (index) => read(index, at));
  } catch (error) {
    snapshot.release();
    throw error;
  }
  if (!(done instanceof Promise)) {
    snapshot.release();
    return;
  }
  return done.finally(() => snapshot.release());
}

const noReadOptions: ReadOptions = {};

/**
 * Inside a drive()n generator: calls `visit` for each entry of `options` on
 * `walk` until it returns false, pausing between slices, and calling
 * `beforePause` (if given) before each pause; a Promise it returns is waited
 * for too.
 */
export function* visitRange(walk: Walk, options: IteratorOptions, visit: (key: Buffer, value: Buffer) => boolean | void, beforePause?: () => Promise<void> | undefined): Steps<void> {
  const cursor = walk.open(options);
  while (!(yield* wait(cursor.visit(visit)))) {
    const held = beforePause?.();
    if (held !== undefined) yield held;
    yield* walk.pause();
  }
}
