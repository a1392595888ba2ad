// The table cache's bounds (lib/engine/table-cache.ts): an engine with more
// segments than maxOpenFiles keeps at most that many segment files open
// (counted in /proc/self/fd, on disk) and keeps the readers, reopening only
// their files; with more reader memory than tableCacheBytes it drops whole
// readers; reads stay right throughout; an iterator keeps walking a segment
// whose reader was dropped under it (the file closes when the iterator
// does) and keeps its files open past the descriptor bound while it walks
// them; bad bounds are refused.

import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { EngineLogger, EngineOptions } from '../../../lib/engine/engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { CorruptionError, InvalidArgumentError } from '../../../lib/errors.js';
import { waitFor } from '../../support/engine-test-helpers.js';

const roots: string[] = [];
const engines: LsmEngine[] = [];

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close().catch(() => undefined);
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'silt-table-cache-'));
  roots.push(root);
  return join(root, 'db');
}

const keyOf = (index: number): Buffer => Buffer.from(`key:${String(index).padStart(6, '0')}`);
const valueOf = (index: number): Buffer => Buffer.from(`value:${index}:${'v'.repeat(40)}`);

const segments = 8;
const keysPerSegment = 300;

/**
 * An engine holding `segments` level-0 segments of interleaved keys (segment
 * s holds keys i with i % segments === s), so a get may look in any of them
 * and a scan merges them all. No automatic compaction keeps them apart.
 */
async function engineWithSegments(options: EngineOptions, dir = tempDir()): Promise<LsmEngine> {
  const engine = await LsmEngine.open(dir, { syncPolicy: 'no', disableAutoCompaction: true, backgroundExecutor: 'inline', ...options });
  engines.push(engine);
  for (let segment = 0; segment < segments; segment++) {
    const batch = new WriteBatch();
    for (let index = segment; index < segments * keysPerSegment; index += segments) batch.put(keyOf(index), valueOf(index));
    await engine.write(batch);
    await engine.flush();
  }
  expect(engine.stats().levels[0]!.segments).toBe(segments);
  return engine;
}

/** Descriptors this process holds open on files of `dir`'s seg/ directory (Linux). */
function openSegmentFiles(dir: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(join(dir, 'seg'))) count++;
    } catch {
      // closed between the listing and the readlink
    }
  }
  return count;
}

const linux = process.platform === 'linux';

/** Every key, read in an order that strides across the segments, checked. */
function readEveryKey(engine: LsmEngine): void {
  const total = segments * keysPerSegment;
  for (let step = 0; step < total; step++) {
    const index = (step * 7919) % total;
    expect(engine.get(keyOf(index))?.toString()).toBe(valueOf(index).toString());
  }
  expect(engine.get(Buffer.from('key:absent'))).toBeUndefined();
}

describe('table cache bounds', () => {
  test('keeps at most maxOpenFiles segment files open, reopening files of readers it keeps, while every read stays right', async () => {
    const dir = tempDir();
    const engine = await engineWithSegments({ maxOpenFiles: 3 }, dir);
    readEveryKey(engine);
    const stats = engine.stats().tableCache!;
    expect(stats).toMatchObject({ maxOpenFiles: 3, readers: segments, misses: segments, evictions: 0 });
    expect(stats.openFiles).toBeLessThanOrEqual(3);
    expect(stats.fileReopens).toBeGreaterThan(0);
    if (linux) expect(openSegmentFiles(dir)).toBe(stats.openFiles);
    // A scan merges all eight segments: it holds their files open while it walks them, and the bound waits.
    const scanned = engine.iteratorSync();
    let count = 0;
    while (scanned.next() !== undefined) count++;
    expect(count).toBe(segments * keysPerSegment);
    expect(engine.stats().tableCache!.openFiles).toBe(segments);
    if (linux) expect(openSegmentFiles(dir)).toBe(segments);
    scanned.close();
    // The next lookup brings the files back within the bound.
    expect(engine.get(keyOf(0))?.toString()).toBe(valueOf(0).toString());
    expect(engine.stats().tableCache!.openFiles).toBeLessThanOrEqual(3);
    if (linux) expect(openSegmentFiles(dir)).toBeLessThanOrEqual(3);
    expect(engine.stats().tableCache!.misses).toBe(segments);
  });

  test('without bounds in the way every segment stays open and nothing is evicted', async () => {
    const dir = tempDir();
    const engine = await engineWithSegments({}, dir);
    readEveryKey(engine);
    const stats = engine.stats().tableCache!;
    expect(stats).toMatchObject({ readers: segments, openFiles: segments, evictions: 0, fileReopens: 0, misses: segments, maxOpenFiles: 1000 });
    expect(stats.bytes).toBeGreaterThan(0);
    if (linux) expect(openSegmentFiles(dir)).toBe(segments);
  });

  test('keeps the readers within tableCacheBytes, dropping whole readers, but always the one just opened', async () => {
    const probe = await engineWithSegments({});
    readEveryKey(probe);
    const all = probe.stats().tableCache!;
    const perReader = all.bytes / all.readers;
    const budget = Math.floor(2.5 * perReader);
    const engine = await engineWithSegments({ tableCacheBytes: budget });
    readEveryKey(engine);
    const stats = engine.stats().tableCache!;
    expect(stats.bytesMax).toBe(budget);
    expect(stats.bytes).toBeLessThanOrEqual(budget);
    expect(stats.readers).toBeGreaterThanOrEqual(1);
    expect(stats.readers).toBeLessThanOrEqual(2);
    expect(stats.openFiles).toBe(stats.readers);
    expect(stats.evictions).toBeGreaterThan(0);
    expect(stats.misses).toBe(stats.evictions + stats.readers);

    // A budget smaller than any reader still keeps one: reads work, one file open at a time.
    const dir = tempDir();
    const tiny = await engineWithSegments({ tableCacheBytes: 0 }, dir);
    readEveryKey(tiny);
    expect(tiny.stats().tableCache!).toMatchObject({ readers: 1, openFiles: 1 });
    if (linux) expect(openSegmentFiles(dir)).toBe(1);
  });

  test('an iterator keeps walking a segment whose reader was dropped under it; its file closes when the iterator does', async () => {
    const dir = tempDir();
    const engine = await engineWithSegments({ tableCacheBytes: 0 }, dir);
    const iterator = engine.iterator();
    const first = await iterator.nextv(100);
    expect(first.length).toBe(100);
    // Gets open other readers: with room for one, every reader the iterator walks is dropped and retired.
    readEveryKey(engine);
    expect(engine.stats().tableCache!.readers).toBe(1);
    // Retired readers stay open for the iterator: eight files of its own, perhaps one of the cache's.
    if (linux) expect(openSegmentFiles(dir)).toBeGreaterThanOrEqual(segments);
    const keys = first.map(([key]) => key.toString());
    for (let entries = await iterator.nextv(500); entries.length > 0; entries = await iterator.nextv(500)) for (const [key] of entries) keys.push(key.toString());
    expect(keys).toEqual(Array.from({ length: segments * keysPerSegment }, (_, index) => keyOf(index).toString()));
    await iterator.close();
    if (linux) expect(openSegmentFiles(dir)).toBe(1);
  });

  test('warns once, at the first reader dropped for the byte budget', async () => {
    const warnings: string[] = [];
    const logger: EngineLogger = {
      info: () => undefined,
      warn: (_object, message) => warnings.push(message),
      error: () => undefined,
    };
    const tableCacheWarnings = (): string[] => warnings.filter((message) => message.startsWith('table cache full'));
    // The descriptor bound alone closes files, cheaply, without a warning.
    const filesOnly = await engineWithSegments({ maxOpenFiles: 2, logger });
    readEveryKey(filesOnly);
    expect(filesOnly.stats().tableCache!.fileReopens).toBeGreaterThan(0);
    expect(tableCacheWarnings()).toEqual([]);
    const engine = await engineWithSegments({ tableCacheBytes: 0, logger });
    readEveryKey(engine);
    readEveryKey(engine);
    expect(engine.stats().tableCache!.evictions).toBeGreaterThan(1);
    expect(tableCacheWarnings().length).toBe(1);
  });

  test('a segment cut short while its file was closed is a CorruptionError when it is reopened, not a wrong read', async () => {
    const dir = tempDir();
    const engine = await engineWithSegments({ maxOpenFiles: 1 }, dir);
    readEveryKey(engine);
    // A get looks newest first and stops at its hit: key 1 is in the second-oldest segment, which ends up
    // holding the one open file; the oldest segment (keys i with i % segments === 0) has its file closed.
    expect(engine.get(keyOf(1))?.toString()).toBe(valueOf(1).toString());
    const oldest = join(dir, 'seg', readdirSync(join(dir, 'seg')).sort()[0]!);
    truncateSync(oldest, statSync(oldest).size - 1);
    expect(() => engine.get(keyOf(0))).toThrow(CorruptionError);
    expect(() => engine.get(keyOf(0))).toThrow(/Cannot reopen segment .* bytes, it was/);
  });

  test("adopts the readers of segments a worker flushed or compacted, from the parts it read back: no open at the first read", async () => {
    const dir = tempDir();
    // Small compaction outputs: several, adopted one an event-loop turn.
    const engine = await LsmEngine.open(dir, { syncPolicy: 'no', disableAutoCompaction: true, backgroundExecutor: 'worker', segmentBytesTarget: 8 * 1024 });
    engines.push(engine);
    for (let segment = 0; segment < 3; segment++) {
      const batch = new WriteBatch();
      for (let index = segment; index < 3 * keysPerSegment; index += 3) batch.put(keyOf(index), valueOf(index));
      await engine.write(batch);
      await engine.flush();
    }
    expect(engine.stats().tableCache).toMatchObject({ readers: 3, adopted: 3, misses: 0 });
    for (let index = 0; index < 3 * keysPerSegment; index++) expect(engine.get(keyOf(index))?.toString()).toBe(valueOf(index).toString());
    expect(engine.get(Buffer.from('key:absent'))).toBeUndefined();
    await engine.compactRange();
    const outputs = engine.stats().levels.reduce((sum, level) => sum + level.segments, 0);
    expect(outputs).toBeGreaterThan(2);
    for (let turn = 0; turn < outputs; turn++) await new Promise((resolve) => setImmediate(resolve));
    const compacted = engine.stats();
    expect(compacted.levels[0]!.segments).toBe(0);
    // The three inputs were dropped with their files; the outputs came adopted.
    expect(compacted.tableCache).toMatchObject({ readers: outputs, adopted: 3 + outputs, misses: 0 });
    const scanned = engine.iteratorSync();
    let count = 0;
    for (let entry = scanned.next(); entry !== undefined; entry = scanned.next()) {
      expect(entry[1].toString()).toBe(valueOf(count).toString());
      count++;
    }
    scanned.close();
    expect(count).toBe(3 * keysPerSegment);
    for (let index = 0; index < 3 * keysPerSegment; index += 7) expect(engine.get(keyOf(index))?.toString()).toBe(valueOf(index).toString());
    expect(engine.stats().tableCache!.misses).toBe(0);
  });

  test('an adopted reader finds keys whose index separators tie on their first bytes (tie runs crossed the thread too)', async () => {
    const dir = tempDir();
    const engine = await LsmEngine.open(dir, { syncPolicy: 'no', disableAutoCompaction: true, backgroundExecutor: 'worker' });
    engines.push(engine);
    // Two halves whose keys share 25 bytes past the first: dozens of data blocks tie on their fingerprints.
    const tied = (index: number): Buffer => Buffer.from(`${index % 2 === 0 ? 'a' : 'b'}${'x'.repeat(24)}${String(index).padStart(6, '0')}`);
    const batch = new WriteBatch();
    for (let index = 0; index < 4000; index++) batch.put(tied(index), valueOf(index));
    await engine.write(batch);
    await engine.flush();
    expect(engine.stats().tableCache).toMatchObject({ adopted: 1, misses: 0 });
    for (let index = 0; index < 4000; index++) expect(engine.get(tied(index))?.toString()).toBe(valueOf(index).toString());
    for (let index = 0; index < 4000; index += 97) expect(engine.get(Buffer.concat([tied(index), Buffer.from('-')]))).toBeUndefined();
    expect(engine.stats().tableCache!.misses).toBe(0);
  });

  test('a writable engine reopened makes the readers of the segments it finds in its worker, while they fit, before any read', async () => {
    const dir = tempDir();
    const first = await engineWithSegments({}, dir);
    await first.close();
    engines.splice(engines.indexOf(first), 1);
    const reopened = await LsmEngine.open(dir, { syncPolicy: 'no', disableAutoCompaction: true, backgroundExecutor: 'worker' });
    engines.push(reopened);
    await waitFor(() => reopened.stats().tableCache!.adopted === segments, 10_000);
    expect(reopened.stats().tableCache).toMatchObject({ readers: segments, adopted: segments, misses: 0 });
    readEveryKey(reopened);
    expect(reopened.stats().tableCache).toMatchObject({ readers: segments, misses: 0, evictions: 0 });
    await reopened.close();
    engines.splice(engines.indexOf(reopened), 1);

    // With room for three files it makes three and stops: warming never closes or drops a reader.
    const bounded = await LsmEngine.open(dir, { syncPolicy: 'no', disableAutoCompaction: true, backgroundExecutor: 'worker', maxOpenFiles: 3 });
    engines.push(bounded);
    await waitFor(() => bounded.stats().tableCache!.adopted === 3, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bounded.stats().tableCache).toMatchObject({ readers: 3, openFiles: 3, adopted: 3, misses: 0, evictions: 0, fileReopens: 0 });
    readEveryKey(bounded);
  });

  test('refuses bounds that are not numbers it can keep', async () => {
    for (const options of [{ maxOpenFiles: 0 }, { maxOpenFiles: 1.5 }, { maxOpenFiles: Number.NaN }, { tableCacheBytes: -1 }, { tableCacheBytes: Number.NaN }]) {
      const dir = tempDir();
      await expect(LsmEngine.open(dir, options), JSON.stringify(options)).rejects.toThrow(InvalidArgumentError);
    }
  });
});
