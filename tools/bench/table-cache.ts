// Benchmark: random point reads over more segments than the table cache
// keeps open (lib/engine/table-cache.ts, docs/engines.md "Open segments"),
// side by side with classic-level (LevelDB's own table cache, max_open_files
// 1000) in the same run.
//
// One data directory per engine holds N keys (16 bytes, db_bench-like
// 100-byte values that compress to about half), written in random order and
// compacted; silt's segments are made small (--segment-mb, default 4 MiB) so
// that a few hundred MB of data spread over many of them. Then each
// configuration reads R random keys in a child process of its own (so RSS
// and descriptors are its own), with an 8 MiB block cache, as the engine
// benchmark's cold reads:
//
//   silt, unbounded   every reader stays open (session 16's behaviour)
//   silt, 1/2, 1/4    max-open-files at half, a quarter of the segments:
//                     files closed and reopened, readers kept
//   silt, 1/2 bytes   table-cache-mb at half the readers' memory: readers
//                     dropped and opened again
//   classic-level     default max_open_files (1000)
//
// Reported per configuration: reads/s (and against classic-level), the
// slowest single read (a reopen on the event loop shows there), readers
// opened (table cache misses) and dropped, files of kept readers reopened,
// segment files open at the end (/proc/self/fd), readers' memory, and RSS
// after the reads.
//
// Run: npm run bench:table-cache [-- --keys N --reads R --segment-mb M --json --json-file F]
//
// With --opens: where new segments' readers are opened. N keys (default
// 3,000,000) written in batches of 100 with one random read after each, so
// flushes and compactions make segments that reads then look into; every
// SegmentReader.open() and fromParts() on the event loop is timed (the
// bench wraps them), with the event loop's delay (monitorEventLoopDelay).
// It runs on any commit that has lib/segment/segment-reader.ts, for A/Bs.
//
// Run: node dist/tools/bench/table-cache.js --opens [--keys N] [--json]
//
// With --warm: the first reads after a restart. N keys (default 1,000,000)
// compacted into --segment-mb segments, then the engine reopened twice:
// without worker threads (nothing warms: every segment opens at its first
// read) and with them, waiting until the table cache has warmed (LsmEngine
// #warmTables()); each time R random reads, timed one by one.
//
// Run: node dist/tools/bench/table-cache.js --warm [--keys N] [--reads R] [--json]

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { SegmentReader } from '../../lib/segment/segment-reader.js';
import type { EngineOptions } from '../../lib/engine/engine.js';
import { describeCpu, formatNumber, formatRatio, formatTable, parseFlags, positiveInteger, progress, writeReport } from './bench-support.js';

const MiB = 1024 * 1024;
const keyBytes = 16;
const valueBytes = 100;
const cacheBytes = 8 * MiB;

interface Args {
  opens: boolean;
  warm: boolean;
  keys: number;
  reads: number;
  segmentMb: number;
  json: boolean;
  jsonFile: string | undefined;
  child: { config: string; dir: string; segments: number; readerBytes: number } | undefined;
}

/** What one configuration measured, in its child process. */
interface Measured {
  config: string;
  readsPerSec: number;
  maxReadMs: number;
  misses: number | undefined;
  evictions: number | undefined;
  fileReopens: number | undefined;
  openSegmentFiles: number;
  readerBytes: number | undefined;
  rssBytes: number;
}

const usage = (): string => 'Usage: node dist/tools/bench/table-cache.js [--opens | --warm] [--keys N] [--reads N] [--segment-mb M] [--json] [--json-file FILE]\n';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { opens: false, warm: false, keys: 0, reads: 200_000, segmentMb: 4, json: false, jsonFile: undefined, child: undefined };
  parseFlags(
    argv,
    {
      '--keys': (value) => (args.keys = positiveInteger(value(), '--keys')),
      '--reads': (value) => (args.reads = positiveInteger(value(), '--reads')),
      '--segment-mb': (value) => (args.segmentMb = positiveInteger(value(), '--segment-mb')),
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
      '--opens': () => (args.opens = true),
      '--warm': () => (args.warm = true),
      '--child': (value) => (args.child = { config: value(), dir: value(), segments: Number(value()), readerBytes: Number(value()) }),
    },
    usage,
  );
  if (args.keys === 0) args.keys = args.opens ? 3_000_000 : args.warm ? 1_000_000 : 2_000_000;
  return args;
}

/** Key i: 8 bytes of a multiplicative hash of i (spreads the keys), then i, big-endian. */
function makeKey(index: number): Buffer {
  const key = Buffer.alloc(keyBytes);
  key.writeUInt32BE(Math.imul(index, 0x9e3779b1) >>> 0, 0);
  key.writeUInt32BE(index, 12);
  return key;
}

function makeValue(index: number): Buffer {
  const value = Buffer.alloc(valueBytes);
  let state = (index * 2654435761) >>> 0 || 1;
  for (let at = 0; at < valueBytes / 2; at++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    value[at] = 97 + ((state >>> 0) % 26);
  }
  value.copy(value, valueBytes / 2, 0, valueBytes / 2);
  return value;
}

/** Indexes 0..n-1 in a fixed pseudo-random order. */
function shuffled(n: number, seed: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let index = 0; index < n; index++) order[index] = index;
  let state = seed;
  for (let index = n - 1; index > 0; index--) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const pick = state % (index + 1);
    const kept = order[index]!;
    order[index] = order[pick]!;
    order[pick] = kept;
  }
  return order;
}

async function loadSilt(dir: string, args: Args): Promise<{ segments: number; readerBytes: number }> {
  const engine = await LsmEngine.open(dir, { syncPolicy: 'no', segmentBytesTarget: args.segmentMb * MiB });
  const order = shuffled(args.keys, 1);
  for (let start = 0; start < args.keys; start += 1000) {
    const batch = new WriteBatch();
    for (let at = start; at < Math.min(args.keys, start + 1000); at++) batch.put(makeKey(order[at]!), makeValue(order[at]!));
    await engine.write(batch);
    if (start % 100_000 === 0) progress(`\rsilt: loading ${formatNumber(start)} keys`);
  }
  progress('\rsilt: compacting                 ');
  await engine.flush();
  await engine.compactRange();
  for (let stats = engine.stats(); stats.compactionsRunning > 0 || stats.immutableMemtables > 0; stats = engine.stats()) await new Promise((resolve) => setTimeout(resolve, 20));
  const segments = engine.stats().levels.reduce((sum, level) => sum + level.segments, 0);
  await engine.close();
  // Every reader open, once, for its memory.
  const probe = await LsmEngine.open(dir, { syncPolicy: 'no', blockCacheBytes: cacheBytes });
  for (let index = 0; index < args.keys; index += Math.max(1, Math.floor(args.keys / (segments * 20)))) probe.get(makeKey(index));
  const readerBytes = probe.stats().tableCache!.bytes;
  await probe.close();
  progress('\r');
  return { segments, readerBytes };
}

async function loadClassic(dir: string, args: Args): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const order = shuffled(args.keys, 1);
  for (let start = 0; start < args.keys; start += 1000) {
    const operations: { type: 'put'; key: Buffer; value: Buffer }[] = [];
    for (let at = start; at < Math.min(args.keys, start + 1000); at++) operations.push({ type: 'put', key: makeKey(order[at]!), value: makeValue(order[at]!) });
    await db.batch(operations);
    if (start % 100_000 === 0) progress(`\rclassic-level: loading ${formatNumber(start)} keys`);
  }
  progress('\rclassic-level: compacting                 ');
  await db.compactRange(Buffer.alloc(0), Buffer.alloc(keyBytes + 1, 0xff));
  await db.close();
  progress('\r');
}

/** Segment files (silt's seg/, LevelDB's .ldb) this process holds open under `dir`. */
function openSegmentFiles(dir: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir) && (target.includes(`${path.sep}seg${path.sep}`) || target.endsWith('.ldb'))) count++;
    } catch {
      // closed since the listing
    }
  }
  return count;
}

/** The child: one configuration's reads. */
async function measure(config: string, dir: string, reads: number, keys: number, segments: number, readerBytes: number): Promise<Measured> {
  // Uniform picks over all the keys (xorshift), the same in every configuration.
  const picks = new Uint32Array(reads);
  let state = 7;
  for (let at = 0; at < reads; at++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    picks[at] = (state >>> 0) % keys;
  }
  const key = (at: number): Buffer => makeKey(picks[at]!);
  let get: (key: Buffer) => Buffer | undefined;
  let stats: () => { misses: number | undefined; evictions: number | undefined; fileReopens: number | undefined; readerBytes: number | undefined };
  let close: () => Promise<void>;
  if (config === 'classic-level') {
    const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', cacheSize: cacheBytes });
    await db.open();
    get = (k) => db.getSync(k);
    stats = () => ({ misses: undefined, evictions: undefined, fileReopens: undefined, readerBytes: undefined });
    close = () => db.close();
  } else {
    const options: EngineOptions = { syncPolicy: 'no', blockCacheBytes: cacheBytes };
    if (config === 'silt, unbounded') Object.assign(options, { maxOpenFiles: 1_000_000, tableCacheBytes: Number.POSITIVE_INFINITY });
    else if (config === 'silt, 1/2 of the files') options.maxOpenFiles = Math.ceil(segments / 2);
    else if (config === 'silt, 1/4 of the files') options.maxOpenFiles = Math.ceil(segments / 4);
    else if (config === 'silt, 1/2 of the bytes') options.tableCacheBytes = Math.floor(readerBytes / 2);
    else throw new Error(`unknown configuration "${config}"`);
    const engine = await LsmEngine.open(dir, options);
    get = (k) => engine.get(k);
    stats = () => {
      const tables = engine.stats().tableCache!;
      return { misses: tables.misses, evictions: tables.evictions, fileReopens: tables.fileReopens, readerBytes: tables.bytes };
    };
    close = () => engine.close();
  }
  // Warm-up: a tenth of the reads, not timed.
  for (let at = 0; at < Math.floor(reads / 10); at++) get(key(at));
  let maxReadMs = 0;
  const start = performance.now();
  for (let at = 0; at < reads; at++) {
    const before = performance.now();
    if (get(key(at)) === undefined) throw new Error(`${config}: key ${picks[at]!} is missing`);
    const took = performance.now() - before;
    if (took > maxReadMs) maxReadMs = took;
  }
  const seconds = (performance.now() - start) / 1000;
  const { misses, evictions, fileReopens, readerBytes: bytes } = stats();
  const measured: Measured = {
    config,
    readsPerSec: reads / seconds,
    maxReadMs,
    misses,
    evictions,
    fileReopens,
    openSegmentFiles: openSegmentFiles(dir),
    readerBytes: bytes,
    rssBytes: process.memoryUsage().rss,
  };
  await close();
  return measured;
}

const configs = ['silt, unbounded', 'silt, 1/2 of the files', 'silt, 1/4 of the files', 'silt, 1/2 of the bytes', 'classic-level'] as const;

/** Calls of one opening function on the event loop: how many, and their milliseconds. */
interface Opens {
  count: number;
  totalMs: number;
  maxMs: number;
}

/** Wraps SegmentReader's static `name` (when this commit has it) to time its calls. */
function timeStatic(name: 'open' | 'fromParts'): Opens {
  const opens: Opens = { count: 0, totalMs: 0, maxMs: 0 };
  const target = SegmentReader as unknown as Record<string, ((...args: unknown[]) => unknown) | undefined>;
  const original = target[name];
  if (original === undefined) return opens;
  target[name] = function (this: unknown, ...args: unknown[]): unknown {
    const started = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      const took = performance.now() - started;
      opens.count++;
      opens.totalMs += took;
      if (took > opens.maxMs) opens.maxMs = took;
    }
  };
  return opens;
}

async function measureOpens(args: Args): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-opens-'));
  try {
    const opened = timeStatic('open');
    const adopted = timeStatic('fromParts');
    const engine = await LsmEngine.open(path.join(root, 'db'), { syncPolicy: 'no' });
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    let state = 99;
    for (let start = 0; start < args.keys; start += 100) {
      const batch = new WriteBatch();
      for (let at = start; at < Math.min(args.keys, start + 100); at++) batch.put(makeKey(at), makeValue(at));
      await engine.write(batch);
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      engine.get(makeKey((state >>> 0) % (start + 100)));
      if (start % 100_000 === 0) progress(`\r${formatNumber(start)} keys`);
    }
    const seconds = (performance.now() - started) / 1000;
    delay.disable();
    const stats = engine.stats();
    await engine.close();
    progress('\r');
    const report = {
      keys: args.keys,
      seconds,
      flushes: stats.flushes,
      compactions: stats.compactions,
      openedAtRead: opened,
      adopted,
      eventLoopDelayMaxMs: delay.max / 1e6,
      eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
    };
    const row = (what: string, opens: Opens): string[] => [what, String(opens.count), opens.totalMs.toFixed(1), opens.maxMs.toFixed(1)];
    writeReport(report, args, () =>
      [
        `${formatNumber(args.keys)} keys in batches of 100, a random read after each: ${seconds.toFixed(1)} s, ${stats.flushes} flushes, ${stats.compactions} compactions; event-loop delay max ${report.eventLoopDelayMaxMs.toFixed(1)} ms, p99 ${report.eventLoopDelayP99Ms.toFixed(1)} ms`,
        '',
        ...formatTable(['readers made on the event loop', 'count', 'total ms', 'slowest ms'], [row('SegmentReader.open (at a read)', opened), row('SegmentReader.fromParts (adopted)', adopted)], [false, true, true, true]),
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function measureWarm(args: Args): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-warm-'));
  try {
    const dir = path.join(root, 'db');
    const { segments } = await loadSilt(dir, args);
    const picks = new Uint32Array(args.reads);
    let state = 11;
    for (let at = 0; at < args.reads; at++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      picks[at] = (state >>> 0) % args.keys;
    }
    const rows: { mode: string; warmMs: number; opened: number; adopted: number; slowestMs: number; first1000Ms: number; readsPerSec: number }[] = [];
    for (const mode of ['inline (no warm-up)', 'worker, warmed'] as const) {
      const started = performance.now();
      const engine = await LsmEngine.open(dir, { syncPolicy: 'no', blockCacheBytes: cacheBytes, backgroundExecutor: mode.startsWith('inline') ? 'inline' : 'worker' });
      if (mode === 'worker, warmed') {
        while (engine.stats().tableCache!.adopted < segments && performance.now() - started < 60_000) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const warmMs = performance.now() - started;
      let slowestMs = 0;
      let first1000Ms = 0;
      const readsStarted = performance.now();
      for (let at = 0; at < args.reads; at++) {
        const before = performance.now();
        if (engine.get(makeKey(picks[at]!)) === undefined) throw new Error(`key ${picks[at]!} is missing`);
        const took = performance.now() - before;
        if (took > slowestMs) slowestMs = took;
        if (at === 999) first1000Ms = performance.now() - readsStarted;
      }
      const seconds = (performance.now() - readsStarted) / 1000;
      const tables = engine.stats().tableCache!;
      rows.push({ mode, warmMs, opened: tables.misses, adopted: tables.adopted, slowestMs, first1000Ms, readsPerSec: args.reads / seconds });
      await engine.close();
    }
    writeReport({ keys: args.keys, reads: args.reads, segments, rows }, args, () =>
      [
        `${formatNumber(args.keys)} keys in ${segments} segments of up to ${args.segmentMb} MiB, reopened; ${formatNumber(args.reads)} random reads, 8 MiB block cache`,
        '',
        ...formatTable(
          ['open', 'open + warm ms', 'readers opened at a read', 'adopted', 'first 1000 reads ms', 'slowest read ms', 'reads/s'],
          rows.map((row) => [row.mode, row.warmMs.toFixed(0), String(row.opened), String(row.adopted), row.first1000Ms.toFixed(1), row.slowestMs.toFixed(1), formatNumber(row.readsPerSec)]),
          [false, true, true, true, true, true, true],
        ),
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.opens) return measureOpens(args);
  if (args.warm) return measureWarm(args);
  if (args.child !== undefined) {
    const { config, dir, segments, readerBytes } = args.child;
    const measured = await measure(config, dir, args.reads, args.keys, segments, readerBytes);
    process.stdout.write(JSON.stringify(measured));
    return;
  }
  const root = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-table-cache-'));
  const cleanup = (): void => rmSync(root, { recursive: true, force: true });
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const siltDir = path.join(root, 'silt');
    const classicDir = path.join(root, 'classic');
    const { segments, readerBytes } = await loadSilt(siltDir, args);
    await loadClassic(classicDir, args);
    const results: Measured[] = [];
    for (const config of configs) {
      progress(`\r${config}: ${formatNumber(args.reads)} reads          `);
      const dir = config === 'classic-level' ? classicDir : siltDir;
      const child = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), '--child', config, dir, String(segments), String(readerBytes), '--keys', String(args.keys), '--reads', String(args.reads)],
        { encoding: 'utf8', maxBuffer: 16 * MiB },
      );
      if (child.status !== 0) throw new Error(`${config} failed: ${child.stderr}`);
      results.push(JSON.parse(child.stdout) as Measured);
    }
    progress('\r');
    const classic = results.find((result) => result.config === 'classic-level')!;
    const machine = { nproc: os.cpus().length, cpu: describeCpu(), node: process.version };
    const report = { machine, keys: args.keys, reads: args.reads, segmentMb: args.segmentMb, segments, readerBytes, results };
    writeReport(report, args, () => {
      const body = results.map((result) => [
        result.config,
        formatNumber(result.readsPerSec),
        formatRatio(result.readsPerSec / classic.readsPerSec),
        result.maxReadMs.toFixed(1),
        result.misses === undefined ? '-' : formatNumber(result.misses),
        result.evictions === undefined ? '-' : formatNumber(result.evictions),
        result.fileReopens === undefined ? '-' : formatNumber(result.fileReopens),
        String(result.openSegmentFiles),
        result.readerBytes === undefined ? '-' : (result.readerBytes / MiB).toFixed(1),
        (result.rssBytes / MiB).toFixed(0),
      ]);
      return [
        `${formatNumber(args.keys)} keys (16-byte keys, 100-byte values), silt in ${segments} segments of up to ${args.segmentMb} MiB (readers: ${(readerBytes / MiB).toFixed(1)} MiB in all); ${formatNumber(args.reads)} random reads per configuration, 8 MiB block cache; ${machine.nproc} CPUs, ${machine.cpu}, node ${machine.node}`,
        '',
        ...formatTable(
          ['configuration', 'reads/s', 'vs classic', 'slowest read ms', 'readers opened', 'dropped', 'files reopened', 'segment fds open', 'reader MiB', 'RSS MiB'],
          body,
          [false, true, true, true, true, true, true, true, true, true],
        ),
        '',
      ].join('\n');
    });
  } finally {
    cleanup();
  }
}

await main();
