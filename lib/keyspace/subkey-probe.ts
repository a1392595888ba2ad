// A re-seekable view of one key range for the random picks in collection.ts,
// which probe a collection's subkeys tens of times per pick: on an engine
// with a synchronous cursor (LsmEngine.cursorSync) every probe of one call
// goes through that one cursor and answers synchronously; otherwise
// (LevelEngine) each seek opens an engine iterator and answers through a
// Promise. Every read of a probe opened at a snapshot (seeks, steps and
// get()) is at that snapshot, so a call whose picks pause between slices
// answers the collection as it was when it began.
//
// Semantics of every implementation: seek() answers the first entry >= a
// key, next() the entry after the last one answered (whichever call answered
// it), seekLast() the last entry below a key; all within [gte, lt). Keys are
// the caller's; values are read-only views.
//
// A SeekMemo, kept by the caller across calls while the range only loses
// keys (the caller must drop it when anything is added), remembers where
// probes landed:
// - forwards, "the first live key >= target was K": while keys only go, the
//   first live key >= target is now K or later. firstBound() answers K
//   without seeking (a bound, live once) for the targets it was asked to
//   keep, and seek() seeks K instead of the target, which skips the run of
//   tombstones getting there cost (kept for seeks that stepped over many);
// - backwards, "the last live key < bound was K": the last live key < bound
//   is now K or earlier; lastBound() answers K without seeking.
// A stale memo can only make bounds loose (forget() drops those a caller
// found to name nothing live any more); seek, next and seekLast always
// answer from the engine, so no answer names a key that is not there.

import { bytesEqual, compareBytes } from '../format/compare-bytes.js';
import type { CursorOptions, Engine, EngineIterator, Entry, IteratorOptions, SeekCursor, Snapshot } from '../engine/engine.js';
import type { MaybePromise } from './keyspace.js';

export interface SubkeyProbe {
  /** The first entry with key >= target (>= the range's start when target is below it). */
  seek(target: Buffer): MaybePromise<Entry | undefined>;
  /** The entry after the last one answered, or undefined at the end (or when none was answered). */
  next(): MaybePromise<Entry | undefined>;
  /** The last entry with key < before (the range's last when omitted). */
  seekLast(before?: Buffer): MaybePromise<Entry | undefined>;
  /**
   * A key K <= the first live key >= target, K >= target, that was that
   * first live key when the memo learnt it (may be deleted since); undefined
   * when there was none. Without a memo, seek()'s key. `keep` asks the memo
   * to keep what a seek finds (for targets every pick may use).
   */
  firstBound(target: Buffer, keep?: boolean): MaybePromise<Buffer | undefined>;
  /** The mirror of firstBound(): a key >= the last live key < before (the range's last when omitted). */
  lastBound(before?: Buffer, keep?: boolean): MaybePromise<Buffer | undefined>;
  /** Drops what the memo says about seeks to these targets (their bounds turned out to name nothing live). */
  forget(targets: readonly Buffer[]): void;
  /** The value of `key` (in range) where the probe reads, its snapshot if it has one: a point read that leaves the position alone. */
  get(key: Buffer): Buffer | undefined;
  /** The key of the last entry answered (by seek, next or seekLast), if any. */
  readonly current: Buffer | undefined;
  /** Tombstones and older versions the last call stepped over (0 when the engine does not say). */
  readonly skipped: number;
  close(): MaybePromise<void>;
}

export interface ProbeRange {
  gte: Buffer;
  lt: Buffer | undefined;
}

/** Entries a seek or step must pass over before its landing is remembered as a jump (a seek costs about as much as stepping over this many). */
export const seekMemoSkippedMin = 16;

/** Most bounds a SeekMemo keeps in each direction; past this it keeps no more (the caller asks to keep only the few that every pick uses). */
export const seekMemoBoundsMax = 2048;

/** Most jumps over tombstones a SeekMemo keeps, the oldest forgotten first. */
export const seekMemoJumpsMax = 2048;

/**
 * Where probes of one key range landed, for later probes of the same range
 * (see the header). Names are the latin1 strings of seek targets and bounds;
 * `key ‖ 0x00` names "after key", '' the range's end. At most some 6,000
 * keys of the range and their names: about 1 MiB for 40-byte keys.
 */
export class SeekMemo {
  /** Bounds firstBound() keeps: target → the first live key >= it, or null when there was none. */
  readonly firstBounds = new Map<string, Buffer | null>();
  /** Bounds lastBound() keeps: bound → the last live key below it, or null when there was none. */
  readonly lastBounds = new Map<string, Buffer | null>();
  /** Target → the first live key >= it, for seeks that stepped over many tombstones to get there. */
  readonly jumps = new Map<string, Buffer | null>();

  /** Where a forward seek to `name` may start: a jump, else a first bound. */
  forwardStart(name: string): Buffer | null | undefined {
    return this.jumps.has(name) ? this.jumps.get(name) : this.firstBounds.get(name);
  }

  /** Notes that a forward seek to `name` landed on `key` (or found nothing). */
  landedForward(name: string, key: Buffer | undefined, skipped: number, keep: boolean): void {
    const value = key ?? null;
    if (this.firstBounds.has(name) || (keep && this.firstBounds.size < seekMemoBoundsMax)) this.firstBounds.set(name, value);
    else if (skipped >= seekMemoSkippedMin || this.jumps.has(name)) this.#jump(name, value);
  }

  /** Notes that a backward seek below `name` landed on `key` (or found nothing). */
  landedBackward(name: string, key: Buffer | undefined, keep: boolean): void {
    if (this.lastBounds.has(name) || (keep && this.lastBounds.size < seekMemoBoundsMax)) this.lastBounds.set(name, key ?? null);
  }

  forget(name: string): void {
    this.firstBounds.delete(name);
    this.jumps.delete(name);
  }

  #jump(name: string, key: Buffer | null): void {
    if (!this.jumps.has(name) && this.jumps.size >= seekMemoJumpsMax) this.jumps.delete(this.jumps.keys().next().value!);
    this.jumps.set(name, key);
  }
}

/**
 * A probe over [range.gte, range.lt) of `engine`, helped by `memo` when
 * given (cursor engines only), reading at `snapshot` when given (the caller
 * releases it after close()). Close it.
 */
export function openProbe(engine: Engine, range: ProbeRange, memo?: SeekMemo, snapshot?: Snapshot): SubkeyProbe {
  if (typeof engine.cursorSync === 'function') {
    const options: CursorOptions = range.lt === undefined ? { gte: range.gte } : { gte: range.gte, lt: range.lt };
    if (snapshot !== undefined) options.snapshot = snapshot;
    return new CursorProbe(engine, engine.cursorSync(options), memo, snapshot);
  }
  return new IteratorProbe(engine, range, snapshot);
}

class CursorProbe implements SubkeyProbe {
  readonly #engine: Engine;
  readonly #cursor: SeekCursor;
  readonly #memo: SeekMemo | undefined;
  readonly #readOptions: { snapshot: Snapshot } | undefined;
  current: Buffer | undefined;
  /** Entries stepped over by the last call, counted from where a jump landed. */
  skipped = 0;

  constructor(engine: Engine, cursor: SeekCursor, memo: SeekMemo | undefined, snapshot: Snapshot | undefined) {
    this.#engine = engine;
    this.#cursor = cursor;
    this.#memo = memo;
    this.#readOptions = snapshot === undefined ? undefined : { snapshot };
  }

  get(key: Buffer): Buffer | undefined {
    return this.#engine.get(key, this.#readOptions);
  }

  seek(target: Buffer): Entry | undefined {
    return this.#answer(this.#seekForward(this.#memo === undefined ? '' : target.toString('latin1'), target, false));
  }

  next(): Entry | undefined {
    const current = this.current;
    if (current === undefined) return this.#answer(undefined);
    const memo = this.#memo;
    const name = memo === undefined || memo.jumps.size === 0 ? undefined : current.toString('latin1') + '\0';
    if (name !== undefined && memo!.jumps.has(name)) return this.#answer(this.#seekForward(name, undefined, false));
    const entry = this.#cursor.next();
    this.skipped = this.#cursor.skipped;
    if (memo !== undefined && this.skipped >= seekMemoSkippedMin) memo.landedForward(name ?? current.toString('latin1') + '\0', entry?.[0], this.skipped, false);
    return this.#answer(entry);
  }

  seekLast(before?: Buffer): Entry | undefined {
    return this.#answer(this.#seekBackward(before, false));
  }

  firstBound(target: Buffer, keep = false): Buffer | undefined {
    const memo = this.#memo;
    if (memo === undefined) return this.seek(target)?.[0];
    const name = target.toString('latin1');
    const known = memo.firstBounds.get(name);
    if (known !== undefined) return known ?? undefined;
    return this.#answer(this.#seekForward(name, target, keep))?.[0];
  }

  lastBound(before?: Buffer, keep = false): Buffer | undefined {
    const known = this.#memo?.lastBounds.get(before === undefined ? '' : before.toString('latin1'));
    if (known !== undefined) return known ?? undefined;
    return this.#answer(this.#seekBackward(before, keep))?.[0];
  }

  forget(targets: readonly Buffer[]): void {
    for (const target of targets) this.#memo?.forget(target.toString('latin1'));
  }

  close(): void {
    this.#cursor.close();
  }

  /** Seeks `target` (named `name`; when undefined, the name's latin1 bytes) from where the memo says it landed before. */
  #seekForward(name: string, target: Buffer | undefined, keep: boolean): Entry | undefined {
    const memo = this.#memo;
    const start = memo?.forwardStart(name);
    if (start === null) {
      this.skipped = 0;
      return undefined;
    }
    const entry = this.#cursor.seek(start ?? target ?? Buffer.from(name, 'latin1'));
    this.skipped = this.#cursor.skipped;
    if (memo !== undefined && (keep || this.skipped >= seekMemoSkippedMin || (start !== undefined && (entry === undefined || !bytesEqual(entry[0], start))))) {
      memo.landedForward(name, entry?.[0], this.skipped, keep);
    }
    return entry;
  }

  /** The last live entry below `before`, from below where the memo says the last one was. */
  #seekBackward(before: Buffer | undefined, keep: boolean): Entry | undefined {
    const memo = this.#memo;
    const name = memo === undefined || before === undefined ? '' : before.toString('latin1');
    const bound = memo?.lastBounds.get(name);
    if (bound === null) {
      this.skipped = 0;
      return undefined;
    }
    // The last live key <= bound: below bound ‖ 0x00.
    const entry = this.#cursor.seekLast(bound === undefined ? before : Buffer.concat([bound, zeroByte]));
    this.skipped = this.#cursor.skipped;
    if (memo !== undefined && (keep || bound !== undefined)) memo.landedBackward(name, entry?.[0], keep);
    return entry;
  }

  #answer(entry: Entry | undefined): Entry | undefined {
    this.current = entry?.[0];
    return entry;
  }
}

const zeroByte = Buffer.from([0]);

/** Entries read ahead per engine call when walking forwards. */
const readAheadEntries = 16;

/**
 * The fallback: an engine iterator per seek (forwards, kept open for next())
 * or per seekLast (one entry). Slower; consistent across its iterators when
 * opened at a snapshot.
 */
class IteratorProbe implements SubkeyProbe {
  readonly #engine: Engine;
  readonly #range: ProbeRange;
  readonly #snapshot: Snapshot | undefined;
  #iterator: EngineIterator | undefined;
  #buffered: Entry[] = [];
  #bufferedIndex = 0;
  #exhausted = false;
  current: Buffer | undefined;
  readonly skipped = 0;

  constructor(engine: Engine, range: ProbeRange, snapshot: Snapshot | undefined) {
    this.#engine = engine;
    this.#range = range;
    this.#snapshot = snapshot;
  }

  get(key: Buffer): Buffer | undefined {
    return this.#engine.get(key, this.#snapshot === undefined ? undefined : { snapshot: this.#snapshot });
  }

  /** `options` at the probe's snapshot, if it has one. */
  #at(options: IteratorOptions): IteratorOptions {
    return this.#snapshot === undefined ? options : { ...options, snapshot: this.#snapshot };
  }

  async seek(target: Buffer): Promise<Entry | undefined> {
    const gte = compareBytes(target, this.#range.gte) < 0 ? this.#range.gte : target;
    await this.#open({ gte });
    return this.#read();
  }

  async next(): Promise<Entry | undefined> {
    if (this.current === undefined) return undefined;
    if (this.#iterator === undefined) await this.#open({ gt: this.current });
    return this.#read();
  }

  async seekLast(before?: Buffer): Promise<Entry | undefined> {
    await this.#release();
    const lt = before === undefined || (this.#range.lt !== undefined && compareBytes(before, this.#range.lt) > 0) ? this.#range.lt : before;
    const iterator = this.#engine.iterator(this.#at(lt === undefined ? { gte: this.#range.gte, reverse: true, limit: 1 } : { gte: this.#range.gte, lt, reverse: true, limit: 1 }));
    try {
      const entry = await iterator.next();
      this.current = entry?.[0];
      return entry;
    } finally {
      await iterator.close();
    }
  }

  async firstBound(target: Buffer): Promise<Buffer | undefined> {
    return (await this.seek(target))?.[0];
  }

  async lastBound(before?: Buffer): Promise<Buffer | undefined> {
    return (await this.seekLast(before))?.[0];
  }

  forget(): void {}

  close(): Promise<void> {
    return this.#release();
  }

  async #open(bound: { gte: Buffer } | { gt: Buffer }): Promise<void> {
    await this.#release();
    this.#iterator = this.#engine.iterator(this.#at(this.#range.lt === undefined ? bound : { ...bound, lt: this.#range.lt }));
  }

  async #read(): Promise<Entry | undefined> {
    if (this.#bufferedIndex >= this.#buffered.length && !this.#exhausted) {
      this.#buffered = await this.#iterator!.nextv(readAheadEntries);
      this.#bufferedIndex = 0;
      this.#exhausted = this.#buffered.length < readAheadEntries;
    }
    const entry = this.#buffered[this.#bufferedIndex++];
    this.current = entry?.[0];
    return entry;
  }

  async #release(): Promise<void> {
    const iterator = this.#iterator;
    this.#iterator = undefined;
    this.#buffered = [];
    this.#bufferedIndex = 0;
    this.#exhausted = false;
    await iterator?.close();
  }
}
