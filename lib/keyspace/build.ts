// Writing a large new collection version without holding the event loop: a
// STORE of a million members, a COPY, RENAME or MOVE of a large collection.
//
// A command that gives a key a new collection gives it a version no record
// names yet (VersionClock), so the new version's entries can be written
// before the metadata that makes them the key's: no reader reaches them
// (every read goes through the metadata), and the metadata, written last in
// one batch with the counters, publishes them all at once. A keyed walk
// (service/resp/command.ts) that builds such a version writes its entries
// ahead in batches between its slices, while other clients' commands run
// (KeyspaceContext.writeAhead); only the metadata batch waits for the
// command's turn. The event loop is then held for a slice and one batch's
// write at a time, however large the collection, where one batch of all of
// it held it for seconds (a 1M-member ZUNIONSTORE: 5.5 s).
//
// Until the metadata names the version, the compaction filter would take its
// entries for a dead version's: the first batch written ahead also puts the
// version's build marker (`B`, key-encoding.ts), which keeps them
// (compaction-filter.ts), and the metadata batch deletes it. A build that
// does not finish (the command failed, a write was refused, the process
// died) leaves its marker behind: the command marks it abandoned when it can
// (abandon()), and Keyspace.open marks every marker left so, since no build
// outlives its process. Compaction then reclaims the entries, and the marker
// stays until they are gone (an open deletes the abandoned markers with no
// entry left): while it does, `silt verify` knows the entries of a version
// newer than their key's metadata for what they are, not damage.
//
// Crash safety: the batches written ahead reach the WAL before the metadata
// batch, in order, so after a crash the key is as it was (with unreachable
// entries beside it) or the whole new collection, never part of it. A batch
// written ahead that fails is remembered, and the metadata batch is refused
// even if writing has resumed meanwhile: it would publish a version with
// holes.
//
// Where nothing can be written ahead (a command that runs in the foreground,
// or inside EXEC, whose group is one WAL record) every entry goes into the
// command's one batch, as before, and nothing pauses.

import { WriteBatch } from '../engine/write-batch.js';
import { buildAbandoned, buildMarkerKey } from './key-encoding.js';
import { collectionRecord, type KeyType } from './metadata.js';
import { SliceBudget, chunkEntries, type Steps } from './walk.js';
import type { Keyspace, KeyspaceContext } from './keyspace.js';

const emptyValue = Buffer.alloc(0);
const noop = (): void => undefined;

/**
 * Entries a batch written ahead holds at most: the engine inserts a batch
 * into its memtable in one go at the end of the turn (its sort folds
 * included), which for a 2 ms slice's worth of staged entries (8,000 and
 * more) held the event loop 40-60 ms; 2,048 keep it to a few.
 */
export const writeAheadOpsMax = 2_048;

/**
 * Batches a build keeps written ahead and not yet acknowledged: past it, the
 * walk waits for the oldest (backpressure()). The engine holds back the
 * acknowledgements of every writer while its flushes fall behind, so a build
 * of millions of entries slows down with the others instead of queueing
 * memtables as large as the collection.
 */
export const writeAheadInFlightMax = 8;

/** A new version of one collection, written ahead of its metadata when the command can (see the header). */
export class VersionBuild {
  readonly version: number;
  readonly #marker: Buffer;
  #batch = new WriteBatch();
  /** Some batch was written ahead: the marker is in the engine. */
  #markerWritten = false;
  /** The error of a batch written ahead, once it failed. */
  #failure: unknown;
  /** Batches written ahead, oldest first, at most writeAheadInFlightMax of them not yet waited for. */
  readonly #inFlight: Promise<void>[] = [];
  #finished = false;

  /** A build of `version` (new, from Keyspace.newVersion) of `key` in logical `db`. */
  constructor(keyspace: Keyspace, db: number, key: Buffer, version: number) {
    this.version = version;
    this.#marker = buildMarkerKey(keyspace.physicalDb(db), key, version);
  }

  /** Stages one entry of the new version. */
  put(key: Buffer, value: Buffer): void {
    this.#batch.put(key, value);
  }

  /** Whether a batch's worth is staged and `ctx` can write it ahead now: end the slice, then writeAhead(). */
  full(ctx: KeyspaceContext): boolean {
    return this.#batch.length >= writeAheadOpsMax && ctx.canWriteAhead?.() === true;
  }

  /**
   * Writes what is staged ahead of the metadata, when `ctx` can now
   * (KeyspaceContext.canWriteAhead). @returns whether it did
   * @throws the error of an earlier batch written ahead that failed
   */
  writeAhead(ctx: KeyspaceContext): boolean {
    this.#throwFailure();
    const batch = this.#batch;
    if (batch.length === 0 || ctx.canWriteAhead?.() !== true) return false;
    if (!this.#markerWritten) {
      // Ahead of the entries, in their batch: no entry reaches a segment without it.
      batch.ops.unshift({ type: 'put', key: this.#marker, value: emptyValue });
      batch.bytes += this.#marker.length;
      this.#markerWritten = true;
    }
    this.#batch = new WriteBatch();
    const written = ctx.writeAhead!(batch);
    written.catch((error: unknown) => {
      this.#failure ??= error;
    });
    this.#inFlight.push(written);
    return true;
  }

  /**
   * What to wait for before staging more: the oldest batch written ahead once
   * writeAheadInFlightMax are unacknowledged; undefined when nothing is. A
   * failure is not thrown here: the next writeAhead() or finish() throws it.
   */
  backpressure(): Promise<void> | undefined {
    if (this.#inFlight.length < writeAheadInFlightMax) return undefined;
    return this.#inFlight.shift()!.then(noop, noop);
  }

  /**
   * The batch to stage the metadata into, in the command's turn: the entries
   * not written ahead, and the marker's delete if it was written.
   * @throws the error of a batch written ahead that failed
   */
  finish(): WriteBatch {
    this.#throwFailure();
    this.#finished = true;
    if (this.#markerWritten) this.#batch.del(this.#marker);
    return this.#batch;
  }

  /**
   * For a build that will not finish (the command failed): marks its marker
   * abandoned now if it can, so that compaction reclaims what was written
   * ahead; else Keyspace.open does at the next start.
   */
  abandon(ctx: KeyspaceContext): void {
    if (this.#finished || !this.#markerWritten) return;
    this.#finished = true;
    if (ctx.canWriteAhead?.() !== true) return;
    ctx.writeAhead!(new WriteBatch().put(this.#marker, buildAbandoned)).catch(() => undefined); // best effort: the next open does it
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}

/**
 * Inside a keyed walk's generator: `stage(index)` for index 0 to count - 1,
 * which put entries into `build`, in slices; when a slice is spent or a
 * batch's worth is staged (writeAheadOpsMax), what it staged is written
 * ahead and the walk pauses (only then: a command that cannot write ahead
 * runs through without pausing).
 */
export function* stageInSlices(ctx: KeyspaceContext, build: VersionBuild, count: number, stage: (index: number) => void): Steps<void> {
  const slice = new SliceBudget();
  for (let index = 0; index < count; index++) {
    stage(index);
    if ((index + 1) % chunkEntries === 0 && index + 1 < count && (slice.spend(chunkEntries) || build.full(ctx)) && build.writeAhead(ctx)) {
      const held = build.backpressure();
      if (held !== undefined) yield held;
      yield* slice.pause();
    }
  }
  build.writeAhead(ctx);
}

/** Inside a keyed walk's generator, before its first write: waits for the command's turn (KeyspaceContext.turn). */
export function* turnToWrite(ctx: KeyspaceContext): Steps<void> {
  const turn = ctx.turn?.();
  if (turn !== undefined) yield turn;
}

/**
 * Inside a keyed walk's generator (or driven at once): replaces
 * `destination` in `ctx.db` with a new collection of `type` holding `size`
 * elements, whatever the key held (its TTL is dropped): `stage(build, index)`
 * puts element `index`'s entries, each element once, under `build.version`;
 * they are written ahead in slices where the command can (stageInSlices).
 * Then, in the command's turn, the metadata, in one batch with what was not
 * written ahead; an empty result deletes the key instead. The destination is
 * locked meanwhile (the RESP dispatcher), so it is still as loaded here.
 * @returns size
 */
export function* replaceCollection(ctx: KeyspaceContext, keyspace: Keyspace, destination: Buffer, type: KeyType, size: number, stage: (build: VersionBuild, index: number) => void): Steps<number> {
  const target = keyspace.load(ctx.db, destination, ctx.nowMs);
  if (size === 0) {
    yield* turnToWrite(ctx);
    const batch = keyspace.begin();
    if (keyspace.stageDelete(batch, target)) keyspace.commit(ctx, batch);
    return 0;
  }
  const build = new VersionBuild(keyspace, ctx.db, destination, keyspace.newVersion(ctx.nowMs, target.stored));
  try {
    yield* stageInSlices(ctx, build, size, (index) => stage(build, index));
    yield* turnToWrite(ctx);
  } catch (error) {
    build.abandon(ctx);
    throw error;
  }
  const batch = keyspace.begin(build.finish());
  keyspace.stagePut(batch, target, collectionRecord(type, 0, build.version, size));
  keyspace.commit(ctx, batch);
  return size;
}
