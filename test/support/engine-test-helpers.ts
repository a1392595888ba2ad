// Small helpers shared by the engine integration tests (faults, concurrency,
// archive/filter/checkpoint): string-keyed writes, whole-engine reads,
// polling, and promise state tracking.

import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import type { Engine, EngineOptions, IteratorOptions, WriteResult } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import type { FileSystem } from '../../lib/fs/file-system.js';
import type { MemFileSystem } from '../../lib/fs/mem-file-system.js';
import type { FaultFileSystem } from './fault-file-system.js';

/** key -> value; a deleted key is absent. */
export type Model = Map<string, string>;

export function put(engine: Engine, key: string, value: string): Promise<WriteResult> {
  return engine.write(new WriteBatch().put(Buffer.from(key), Buffer.from(value)));
}

export function del(engine: Engine, key: string): Promise<WriteResult> {
  return engine.write(new WriteBatch().del(Buffer.from(key)));
}

/** A batch of puts (string value) and deletes (undefined). */
export function batch(ops: [key: string, value: string | undefined][]): WriteBatch {
  const result = new WriteBatch();
  for (const [key, value] of ops) {
    if (value === undefined) result.del(Buffer.from(key));
    else result.put(Buffer.from(key), Buffer.from(value));
  }
  return result;
}

export function getString(engine: Engine, key: string, options?: Parameters<Engine['get']>[1]): string | undefined {
  return engine.get(Buffer.from(key), options)?.toString();
}

/** Every entry of an iteration, as [key, value] strings in engine order. */
export async function scan(engine: Engine, options: IteratorOptions = {}): Promise<[string, string][]> {
  const entries: [string, string][] = [];
  const iterator = engine.iterator(options);
  try {
    for (let entry = await iterator.next(); entry !== undefined; entry = await iterator.next()) {
      entries.push([entry[0].toString(), entry[1].toString()]);
    }
  } finally {
    await iterator.close();
  }
  return entries;
}

export async function readAll(engine: Engine, options: IteratorOptions = {}): Promise<Model> {
  return new Map(await scan(engine, options));
}

/** A readable description of how `actual` differs from `expected` ('' when equal). */
export function diffModels(actual: Model, expected: Model, limit = 10): string {
  const lines: string[] = [];
  for (const [key, value] of expected) {
    if (actual.get(key) !== value) lines.push(`${key}: expected ${short(value)}, got ${short(actual.get(key))}`);
    if (lines.length >= limit) break;
  }
  for (const [key, value] of actual) {
    if (lines.length >= limit) break;
    if (!expected.has(key)) lines.push(`${key}: expected absent, got ${short(value)}`);
  }
  return lines.join('\n');
}

function short(value: string | undefined): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
}

/** Differences between the engine (iteration and point gets) and the model ('' when none). */
export async function compareWithModel(engine: Engine, model: Model): Promise<string> {
  const iterated = await readAll(engine);
  const problems: string[] = [];
  const iterationDiff = diffModels(iterated, model);
  if (iterationDiff !== '') problems.push(`iteration:\n${iterationDiff}`);
  const gets: string[] = [];
  for (const [key, value] of model) {
    const got = getString(engine, key);
    if (got !== value) gets.push(`${key}: expected ${short(value)}, got ${short(got)}`);
    if (gets.length >= 10) break;
  }
  if (gets.length > 0) problems.push(`get:\n${gets.join('\n')}`);
  return problems.join('\n');
}

/** Polls `condition` every `intervalMs` until it holds; false after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs: number, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise whose state can be read synchronously. */
export interface Tracked<T> {
  promise: Promise<T>;
  state: 'pending' | 'fulfilled' | 'rejected';
  value: T | undefined;
  error: unknown;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { promise, state: 'pending', value: undefined, error: undefined };
  promise.then(
    (value) => {
      tracked.state = 'fulfilled';
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

/** sha256 of every file below `root` (relative path, size, bytes): equal hashes mean an unchanged tree. */
export function hashTree(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of nodeFs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const stat = nodeFs.statSync(full);
      const relative = path.relative(root, full);
      if (stat.isDirectory()) {
        hash.update(`d ${relative}\n`);
        walk(full);
      } else {
        hash.update(`f ${relative} ${stat.size} ${stat.mtimeMs}\n`);
        hash.update(nodeFs.readFileSync(full));
      }
    }
  };
  walk(root);
  return hash.digest('hex');
}

/** What a machine crash would leave of `fs` (synced bytes only), without `dir`'s LOCK file, to reopen `dir` from. */
export function crashCloneOf(fs: MemFileSystem, dir: string): MemFileSystem {
  const clone = fs.crashClone();
  if (clone.exists(`${dir}/LOCK`)) clone.unlink(`${dir}/LOCK`);
  return clone;
}

/** Opens an LsmEngine on `dir` in `fs` and checks that it holds exactly `model`. */
export async function expectLsmReopenHolds(dir: string, fs: FileSystem, options: EngineOptions, model: Model, what: string): Promise<void> {
  const engine = await LsmEngine.open(dir, { ...options, fs });
  try {
    expect(await compareWithModel(engine, model), what).toBe('');
  } finally {
    await engine.close();
  }
}

/**
 * Syncs, holds the fdatasyncs of `dir`'s only WAL file at a gate, writes
 * batch A (`key` = `value`), and switches the memtable (engine.flush(), not
 * awaited): under `always`, A and the old file's close (its final
 * fdatasync) then wait at the gate; later writes go to the new file.
 * @returns the old file's name, A, the flush (settles, never rejects), and release() to open the gate
 */
export async function switchWithHeldWalClose(
  engine: LsmEngine,
  fs: FaultFileSystem,
  dir: string,
  key: string,
  value: string,
): Promise<{ oldWal: string; a: Tracked<WriteResult>; flushed: Promise<unknown>; release: () => void }> {
  await engine.sync();
  const files = fs.list(`${dir}/wal`);
  expect(files.length, 'one WAL file before the switch').toBe(1);
  const oldWal = files[0]!;
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  fs.beforeSync((file) => (file.endsWith(`/${oldWal}`) ? gate : Promise.resolve()));
  const a = track(put(engine, key, value));
  await new Promise((resolve) => setImmediate(resolve)); // A is written (under always its fdatasync waits at the gate)
  const flushed = engine.flush().catch(() => undefined);
  expect(fs.list(`${dir}/wal`).length, 'a new WAL file after the switch').toBe(2);
  return { oldWal, a, flushed, release };
}
