// SiltLevel: an abstract-level 3 database on a silt Engine, so the Level
// ecosystem (sublevels, hooks, encodings, level-read-stream, ...) can use
// LsmEngine or LevelEngine. It passes abstract-level's own shared test suite
// (test/support/abstract-level-suite.ts runs it on both engines).
//
// abstract-level does the public API: encodings, deferred open, sublevels,
// hooks, events and resource tracking. This class fills in the private API:
// `_open`, `_close`, `_get`, `_getSync`, `_getMany`, `_has`, `_hasMany`, `_put`,
// `_del`, `_batch`, `_clear`, `_iterator` and `_snapshot`. Data reaches it in
// one of three formats (`buffer`, `view`, `utf8`); abstract-level transcodes
// every other encoding (json, hex, custom ones) to one of these.
//
// Invariants:
// - Every key and value reaches the engine as a Buffer; a `view` shares the
//   caller's memory (WriteBatch keeps it by reference until the write lands).
// - Iterators read at a snapshot: an explicit one, or one taken when the
//   iterator is created, so that seek() sees the same data as next().
// - Options that are not silt's (`engine`, `engineOptions`) never reach
//   abstract-level, and abstract-level's own options never reach the engine.
//
// Example:
//   const db = new SiltLevel('./data', { engine: 'level', valueEncoding: 'json' });
//   await db.put('a', { x: 1 });
//   await db.get('a'); // { x: 1 }
//   await db.close();

import { AbstractIterator, AbstractLevel, AbstractSnapshot } from 'abstract-level';
import type { AbstractDatabaseOptions } from 'abstract-level';
import { assert } from '../assert.js';
import { InvalidArgumentError, NotSupportedError } from '../errors.js';
import { NodeFileSystem } from '../fs/node-file-system.js';
import type { Engine, EngineIterator, EngineOptions, Entry, IteratorOptions, Snapshot } from './engine.js';
import { openEngine, type EngineKind } from './open-engine.js';
import { WriteBatch } from './write-batch.js';

/** Keys read from an iterator per engine call while clearing a range. */
const clearChunkEntries = 1000;

/** What the private API receives: data in one of the declared formats. */
type Encoded = string | Buffer | Uint8Array;

/**
 * What SiltLevel supports, for abstract-level and its test suite. A variable,
 * not a literal, because level-supports' type does not list `getSync` yet.
 */
const siltManifest = {
  encodings: { buffer: true, view: true, utf8: true },
  has: true,
  getSync: true,
  createIfMissing: true,
  errorIfExists: true,
  // Every silt engine reads iterators at a snapshot; explicit snapshots need
  // engine support, checked in _snapshot().
  implicitSnapshots: true,
  explicitSnapshots: true,
  seek: true,
  permanence: true,
};

/** The format names abstract-level passes to the private API. */
type Format = 'buffer' | 'view' | 'utf8';

/** Options of the SiltLevel constructor: abstract-level's, plus which engine to open. */
export interface SiltLevelOptions<K, V> extends AbstractDatabaseOptions<K, V> {
  /** The engine to open (default 'lsm'). */
  engine?: EngineKind | undefined;
  /** Passed to the engine's open(); createIfMissing comes from abstract-level's open options. */
  engineOptions?: EngineOptions | undefined;
}

interface PrivateOpenOptions {
  createIfMissing: boolean;
  errorIfExists: boolean;
}

interface PrivateReadOptions {
  keyEncoding: Format;
  valueEncoding: Format;
  snapshot?: AbstractSnapshot | undefined;
}

interface PrivateKeyOptions {
  keyEncoding: Format;
  snapshot?: AbstractSnapshot | undefined;
}

interface PrivateBatchOperation {
  type: 'put' | 'del';
  key: Encoded;
  value?: Encoded;
}

interface PrivateRangeOptions {
  gt?: Encoded;
  gte?: Encoded;
  lt?: Encoded;
  lte?: Encoded;
  reverse: boolean;
  limit: number;
  snapshot?: AbstractSnapshot | undefined;
}

interface PrivateIteratorOptions extends PrivateRangeOptions {
  keys: boolean;
  values: boolean;
  keyEncoding: Format;
  valueEncoding: Format;
}

/**
 * An abstract-level database on a silt engine.
 *
 * @example
 *   const db = new SiltLevel('./data', { engine: 'level' });
 *   await db.put('key', 'value');
 *   db.getSync('key'); // 'value'
 *   await db.close();
 */
export class SiltLevel<KDefault = string, VDefault = string> extends AbstractLevel<Encoded, KDefault, VDefault> {
  #location: string;
  #kind: EngineKind;
  #engineOptions: EngineOptions;
  #engine: Engine | undefined;

  /**
   * @param location data directory of the engine
   * @param options abstract-level options plus `engine` and `engineOptions`
   * @throws TypeError when location is not a non-empty string
   */
  constructor(location: string, options: SiltLevelOptions<KDefault, VDefault> = {}) {
    if (typeof location !== 'string' || location === '') {
      throw new TypeError("The first argument 'location' must be a non-empty string");
    }
    const { engine, engineOptions, ...levelOptions } = options;
    super(siltManifest, levelOptions);
    this.#location = location;
    this.#kind = engine ?? 'lsm';
    this.#engineOptions = engineOptions ?? {};
  }

  /** Directory passed to the constructor. */
  get location(): string {
    return this.#location;
  }

  /** The open engine, for operations abstract-level has no words for (stats, flush, compactRange). */
  get engine(): Engine {
    return this.#requireEngine();
  }

  async _open(options: PrivateOpenOptions): Promise<void> {
    const fileSystem = this.#engineOptions.fs ?? new NodeFileSystem();
    const exists = fileSystem.exists(this.#location);
    if (!exists && !options.createIfMissing) {
      throw new InvalidArgumentError(`Cannot open database in "${this.#location}": the directory does not exist`);
    }
    if (exists && options.errorIfExists && fileSystem.list(this.#location).length > 0) {
      throw new InvalidArgumentError(`Cannot open database in "${this.#location}": it already exists`);
    }
    this.#engine = await openEngine(this.#kind, this.#location, {
      ...this.#engineOptions,
      createIfMissing: options.createIfMissing,
    });
  }

  async _close(): Promise<void> {
    const engine = this.#engine;
    this.#engine = undefined;
    await engine?.close();
  }

  async _get(key: Encoded, options: PrivateReadOptions): Promise<Encoded | undefined> {
    return this._getSync(key, options);
  }

  _getSync(key: Encoded, options: PrivateReadOptions): Encoded | undefined {
    const value = this.#requireEngine().get(toBuffer(key), readOptions(options.snapshot));
    return value === undefined ? undefined : fromBuffer(value, options.valueEncoding);
  }

  async _getMany(keys: Encoded[], options: PrivateReadOptions): Promise<(Encoded | undefined)[]> {
    // Synchronous reads in one turn see one state: no snapshot needed.
    return keys.map((key) => this._getSync(key, options));
  }

  async _has(key: Encoded, options: PrivateKeyOptions): Promise<boolean> {
    return this.#requireEngine().get(toBuffer(key), readOptions(options.snapshot)) !== undefined;
  }

  async _hasMany(keys: Encoded[], options: PrivateKeyOptions): Promise<boolean[]> {
    const engine = this.#requireEngine();
    const read = readOptions(options.snapshot);
    return keys.map((key) => engine.get(toBuffer(key), read) !== undefined);
  }

  async _put(key: Encoded, value: Encoded): Promise<void> {
    await this.#requireEngine().write(new WriteBatch().put(toBuffer(key), toBuffer(value)));
  }

  async _del(key: Encoded): Promise<void> {
    await this.#requireEngine().write(new WriteBatch().del(toBuffer(key)));
  }

  async _batch(operations: PrivateBatchOperation[]): Promise<void> {
    const batch = new WriteBatch();
    for (const op of operations) {
      if (op.type === 'put') {
        assert(op.value !== undefined, 'abstract-level checks that a put has a value');
        batch.put(toBuffer(op.key), toBuffer(op.value));
      } else {
        batch.del(toBuffer(op.key));
      }
    }
    await this.#requireEngine().write(batch);
  }

  /** Deletes the range in batches of up to clearChunkEntries keys; not atomic, as abstract-level allows. */
  async _clear(options: PrivateRangeOptions): Promise<void> {
    const engine = this.#requireEngine();
    const iterator = engine.iterator(engineRange(normalizeRange(options), readOptions(options.snapshot)?.snapshot));
    try {
      while (true) {
        const entries = await iterator.nextv(clearChunkEntries);
        if (entries.length === 0) break;
        const batch = new WriteBatch();
        for (const [key] of entries) batch.del(key);
        await engine.write(batch);
      }
    } finally {
      await iterator.close();
    }
  }

  _iterator(options: PrivateIteratorOptions): SiltIterator<KDefault, VDefault> {
    return new SiltIterator(this, this.#requireEngine(), options);
  }

  _snapshot(options: { owner: unknown }): SiltSnapshot {
    const engine = this.#requireEngine();
    if (!engine.capabilities.snapshots) {
      // abstract-level's callers test for its own code; silt's error is the cause.
      const cause = new NotSupportedError(
        `Cannot take a snapshot of "${this.#location}": the ${engine.kind} engine has no snapshots`,
      );
      throw Object.assign(new Error('Database does not support explicit snapshots', { cause }), {
        code: 'LEVEL_NOT_SUPPORTED',
      });
    }
    return new SiltSnapshot(options, engine.snapshot());
  }

  #requireEngine(): Engine {
    const engine = this.#engine;
    // abstract-level calls the private API only while open.
    assert(engine !== undefined, 'the engine is open while abstract-level calls the private API');
    return engine;
  }
}

/** AbstractSnapshot's constructor takes `{ owner }`, which its type declaration leaves out. */
const SnapshotBase = AbstractSnapshot as unknown as new (options: { owner: unknown }) => AbstractSnapshot;

/** An abstract-level snapshot holding an engine snapshot, released on close. */
class SiltSnapshot extends SnapshotBase {
  readonly engineSnapshot: Snapshot;

  constructor(options: { owner: unknown }, engineSnapshot: Snapshot) {
    super(options);
    this.engineSnapshot = engineSnapshot;
  }

  async _close(): Promise<void> {
    this.engineSnapshot.release();
  }
}

/**
 * An abstract-level iterator over an EngineIterator. seek() replaces the
 * engine iterator with one whose range starts at the target, read at the same
 * snapshot. The engine iterator is made at the first read after construction
 * or seek (so a closed explicit snapshot fails there, with abstract-level's
 * LEVEL_SNAPSHOT_NOT_OPEN), except on an engine without snapshots, where it is
 * made at once to fix its view.
 */
class SiltIterator<K, V> extends AbstractIterator<SiltLevel<K, V>, Encoded, Encoded> {
  #engine: Engine;
  #options: PrivateIteratorOptions;
  #snapshot: Snapshot | undefined;
  /** True when this iterator took its own snapshot and must release it. */
  #ownsSnapshot: boolean;
  /** The range (and snapshot) the next engine iterator reads. */
  #range: IteratorOptions;
  #current: EngineIterator | undefined;
  /** Engine iterators replaced by seek(), closing. */
  #retired: Promise<void>[] = [];

  constructor(db: SiltLevel<K, V>, engine: Engine, options: PrivateIteratorOptions) {
    super(db, options);
    this.#engine = engine;
    this.#options = normalizeRange(options);
    const explicit = options.snapshot === undefined || options.snapshot === null ? undefined : options.snapshot;
    this.#ownsSnapshot = explicit === undefined && engine.capabilities.snapshots;
    // An explicit snapshot is resolved at the first read, after abstract-level checked it is open.
    this.#snapshot = this.#ownsSnapshot ? engine.snapshot() : undefined;
    this.#range = engineRange(this.#options, this.#snapshot);
    if (explicit === undefined && this.#snapshot === undefined) this.#current = engine.iterator(this.#range);
  }

  async _next(): Promise<[Encoded | undefined, Encoded | undefined] | undefined> {
    const entry = await this.#iterator().next();
    return entry === undefined ? undefined : this.#format(entry);
  }

  async _nextv(size: number): Promise<[Encoded | undefined, Encoded | undefined][]> {
    const entries = await this.#iterator().nextv(size);
    return entries.map((entry) => this.#format(entry));
  }

  _seek(target: Encoded): void {
    const key = toBuffer(target);
    const options: PrivateRangeOptions = { ...this.#options };
    // #options holds at most one lower and one upper bound (normalizeRange).
    if (this.#options.reverse) {
      // Entries at or before the target, within the original upper bound.
      const upper = options.lte ?? options.lt;
      if (upper === undefined || Buffer.compare(toBuffer(upper), key) > 0) {
        delete options.lt;
        options.lte = key;
      }
    } else {
      // Entries at or after the target, within the original lower bound.
      const lower = options.gte ?? options.gt;
      if (lower === undefined || Buffer.compare(toBuffer(lower), key) < 0) {
        delete options.gt;
        options.gte = key;
      }
    }
    // abstract-level counts what was already yielded against the limit.
    options.limit = Number.isFinite(this.limit) ? Math.max(0, this.limit - this.count) : -1;
    this.#retire();
    this.#range = engineRange(options, this.#range.snapshot);
    if (this.#options.snapshot === undefined && this.#snapshot === undefined) {
      this.#current = this.#engine.iterator(this.#range);
    }
  }

  async _close(): Promise<void> {
    this.#retire();
    try {
      await Promise.all(this.#retired);
    } finally {
      if (this.#ownsSnapshot) this.#snapshot?.release();
    }
  }

  #iterator(): EngineIterator {
    if (this.#current === undefined) {
      const explicit = readOptions(this.#options.snapshot);
      if (this.#range.snapshot === undefined && explicit !== undefined) this.#range.snapshot = explicit.snapshot;
      this.#current = this.#engine.iterator(this.#range);
    }
    return this.#current;
  }

  #retire(): void {
    if (this.#current === undefined) return;
    const closing = this.#current.close();
    // Awaited, and its error reported, in _close().
    closing.catch(() => undefined);
    this.#retired.push(closing);
    this.#current = undefined;
  }

  #format(entry: Entry): [Encoded | undefined, Encoded | undefined] {
    return [
      this.#options.keys ? fromBuffer(entry[0], this.#options.keyEncoding) : undefined,
      this.#options.values ? fromBuffer(entry[1], this.#options.valueEncoding) : undefined,
    ];
  }
}

/**
 * abstract-level's range rules: gte wins over gt and lte over lt when both
 * are given (as classic-level does). Engines need not agree, so SiltLevel
 * passes at most one bound per side.
 */
function normalizeRange<T extends PrivateRangeOptions>(options: T): T {
  const result = { ...options };
  delete result.gt;
  delete result.gte;
  delete result.lt;
  delete result.lte;
  if (options.gte !== undefined) result.gte = options.gte;
  else if (options.gt !== undefined) result.gt = options.gt;
  if (options.lte !== undefined) result.lte = options.lte;
  else if (options.lt !== undefined) result.lt = options.lt;
  return result;
}

/** The engine's view of data in any declared format (no copy for buffers and views). */
function toBuffer(data: Encoded): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Data in the format abstract-level asked for; a Buffer is also a valid `view`. */
function fromBuffer(data: Buffer, format: Format): Encoded {
  return format === 'utf8' ? data.toString('utf8') : data;
}

function readOptions(snapshot: AbstractSnapshot | undefined): { snapshot: Snapshot } | undefined {
  if (snapshot === undefined || snapshot === null) return undefined;
  if (!(snapshot instanceof SiltSnapshot)) {
    throw new InvalidArgumentError('Cannot read at snapshot: it was not made by a SiltLevel database');
  }
  return { snapshot: snapshot.engineSnapshot };
}

function engineRange(options: PrivateRangeOptions, snapshot: Snapshot | undefined): IteratorOptions {
  const range: IteratorOptions = { reverse: options.reverse, limit: options.limit };
  if (options.gt !== undefined) range.gt = toBuffer(options.gt);
  if (options.gte !== undefined) range.gte = toBuffer(options.gte);
  if (options.lt !== undefined) range.lt = toBuffer(options.lt);
  if (options.lte !== undefined) range.lte = toBuffer(options.lte);
  if (snapshot !== undefined) range.snapshot = snapshot;
  return range;
}
