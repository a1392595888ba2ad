// Benchmark: LsmEngine against classic-level (LevelDB), side by side in one
// run, each used the way a careful user would use it (docs/bench.md, "Engine").
//
// Every (engine, workload) pair runs in a child process of its own, with a
// fresh data directory under os.tmpdir() that is deleted afterwards, so that
// process.resourceUsage().maxRSS is attributable to one engine and one
// workload and no workload inherits another's caches or garbage. The parent
// runs silt then classic-level for each workload, collects one JSON line per
// child, prints a table (or JSON with --json) and checks the targets.
//
// Keys are 16 ASCII digits (db_bench's "%016d"), values 100 bytes, about half
// compressible (db_bench's default ratio 0.5). fillrandom writes a seeded
// random permutation of [0, N), so every key exists exactly once and every
// random read of [0, N) must hit; each read workload checks that it did.
// Every write gets freshly allocated key and value buffers, as a server
// decoding requests would have: silt keeps references to them in its memtable,
// classic-level copies them.
//
// Batch-1 and batch-100 fills run two ways per engine: sequential awaits, and
// 1000 operations in flight (1000 put()/write() calls, or 10 batches of 100);
// the table shows the faster of the two for each engine and names it.
//
// "Cold" reads mean block-cache misses (8 MiB cache, ~60-120 MiB of data): the
// OS page cache is not dropped (that needs root and disturbs everything else
// on the machine), so a miss costs a positioned read served from the page
// cache, a checksum, a decompression and a block parse.
//
// The event-loop workload runs the same way on classic-level, whose flushes
// and compactions never touch the event loop: its maximum delay is the noise
// floor of the machine, the harness and the garbage collector, against which
// silt's number should be read.
//
// Run:      npm run bench:engine [-- --n 100000] [--json] [--json-file out.json] [--duration 10]
//           [--only fillrandom-b1-inflight,reopen] [--engines silt]
// One child (e.g. under --cpu-prof):
//           node --cpu-prof dist/tools/bench/engine.js --child silt fillrandom-b1-inflight --n 1000000
// With SILT_BENCH_MARKS=1 a child prints phase marks (`mark <phase> <µs>`, the
// monotonic clock of .cpuprofile timestamps) and, in the event-loop workload,
// every timer gap of 20 ms or more (`gap <from µs> <to µs>`) to stderr, so a
// profile can be cut to one phase or one stall.

import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ClassicLevel, type DatabaseOptions } from 'classic-level';
import type { EngineOptions } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { describeCpu, directoryBytes, formatNumber, formatRatio, formatTable, parseFlags, positiveInteger, progress, writeReport } from './bench-support.js';

// ---------------------------------------------------------------- constants

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const nDefault = 1_000_000;
const durableSecondsDefault = 10;
const keyBytes = 16;
const valueBytes = 100;
/** Operations in flight in the "inflight" fill mode (1000 puts, or 10 batches of 100). */
const opsInFlight = 1000;
const durableWriters = 32;
/** Block cache for the cold-read workload: far below the data size. */
const coldCacheBytes = 8 * MiB;
/** Event-loop workload: a small memtable and tree so flushes and compactions happen all the time. */
const delayMemtableBytes = 4 * MiB;
const delayLevel1Bytes = 16 * MiB;
const delaySegmentBytes = 4 * MiB;
/** LevelDB clips write_buffer_size to at most 1 GiB. */
const levelWriteBufferMax = 1 * GiB;
/** Set to print phase marks (monotonic µs, the clock of --cpu-prof profiles) to stderr, to cut profiles by phase. */
const marksWanted = process.env['SILT_BENCH_MARKS'] !== undefined;
/** Bound on waiting for background work to settle, ms. */
const settleMsMax = 300_000;
const seed = 0x5eed;

const workloads = [
  'fillseq-b1-seq',
  'fillseq-b1-inflight',
  'fillrandom-b1-seq',
  'fillrandom-b1-inflight',
  'fillseq-b100-seq',
  'fillseq-b100-inflight',
  'fillrandom-b100-seq',
  'fillrandom-b100-inflight',
  'fillrandom-durable',
  'readrandom-hot',
  'readrandom-cold',
  'reopen',
  'event-loop-delay',
] as const;

type Workload = (typeof workloads)[number];
type EngineName = 'silt' | 'classic';
const engineNames: readonly EngineName[] = ['silt', 'classic'];
const engineLabels: Record<EngineName, string> = { silt: 'silt', classic: 'classic-level' };

// ---------------------------------------------------------------- types

/** What a child prints as its last stdout line. */
interface ChildResult {
  engine: EngineName;
  workload: Workload;
  /** Numbers measured; `opsPerSec` is the headline where there is one. */
  metrics: Record<string, number>;
  notes: Record<string, string | number | boolean>;
  maxRssKiB: number;
  wallSeconds: number;
}

interface Row {
  name: string;
  unit: string;
  /** Higher is better (ops/s) or lower (seconds, ms, MiB). */
  higherIsBetter: boolean;
  silt: number | undefined;
  classic: number | undefined;
  /** silt / classic-level. */
  ratio: number | undefined;
  note: string;
}

interface Target {
  name: string;
  goal: string;
  actual: string;
  met: boolean;
}

interface Args {
  n: number;
  durableSeconds: number;
  json: boolean;
  /** Also write the JSON report to this file (the table still goes to stdout). */
  jsonFile: string | undefined;
  only: Workload[];
  engines: EngineName[];
  child: { engine: EngineName; workload: Workload; dir: string | undefined } | undefined;
}

/** One engine behind the operations the workloads need. */
interface Store {
  /** One put; durable (synced) when opened with durable: true. */
  put(key: Buffer, value: Buffer): Promise<unknown>;
  batch(keys: Buffer[], values: Buffer[]): Promise<unknown>;
  get(key: Buffer): Buffer | undefined;
  /** Writes everything out and compacts the whole key space. */
  compactAll(): Promise<void>;
  /** Counts entries of a full ordered scan. */
  scan(mode: 'sync' | 'nextv'): Promise<number>;
  /** Engine-specific counters for the notes. */
  describe(): Record<string, string | number | boolean>;
  close(): Promise<void>;
}

interface OpenProfile {
  durable: boolean;
  memtableBytes?: number;
  cacheBytes?: number;
  /** Small L1 and segment targets, for the event-loop workload. */
  smallTree?: boolean;
}

// ---------------------------------------------------------------- entry

const scriptPath = fileURLToPath(import.meta.url);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child !== undefined) {
    const result = await runChild(args.child.engine, args.child.workload, args.n, args.durableSeconds, args.child.dir);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  await runParent(args);
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    n: positiveInteger(process.env['SILT_BENCH_N'] ?? String(nDefault), 'SILT_BENCH_N'),
    durableSeconds: durableSecondsDefault,
    json: false,
    jsonFile: undefined,
    only: [...workloads],
    engines: [...engineNames],
    child: undefined,
  };
  let dir: string | undefined;
  let child: [engine: EngineName, workload: Workload] | undefined;
  parseFlags(
    argv,
    {
      '--n': (value) => (args.n = positiveInteger(value(), '--n')),
      '--duration': (value) => (args.durableSeconds = positiveInteger(value(), '--duration')),
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
      '--only': (value) => (args.only = value().split(',').map(parseWorkload)),
      '--engines': (value) => (args.engines = value().split(',').map(parseEngine)),
      '--dir': (value) => (dir = value()),
      '--child': (value) => (child = [parseEngine(value()), parseWorkload(value())]),
    },
    () =>
      'Usage: node dist/tools/bench/engine.js [--n N] [--duration S] [--json] [--json-file FILE] [--only w1,w2] [--engines silt,classic]\n' +
      `       node dist/tools/bench/engine.js --child silt|classic WORKLOAD [--n N] [--dir DIR]\nWorkloads: ${workloads.join(', ')}\n`,
  );
  if (child !== undefined) args.child = { engine: child[0], workload: child[1], dir };
  return args;
}

function parseWorkload(text: string): Workload {
  const found = workloads.find((name) => name === text);
  if (found === undefined) throw new Error(`Cannot parse workload "${text}": expected one of ${workloads.join(', ')}`);
  return found;
}

function parseEngine(text: string): EngineName {
  if (text === 'silt' || text === 'classic') return text;
  throw new Error(`Cannot parse engine "${text}": expected silt or classic`);
}

// ---------------------------------------------------------------- parent

async function runParent(args: Args): Promise<void> {
  const machine = describeMachine();
  const results: ChildResult[] = [];
  const jobs = args.only.flatMap((workload) => args.engines.map((engine) => ({ engine, workload })));
  for (let index = 0; index < jobs.length; index++) {
    const { engine, workload } = jobs[index]!;
    progress(`[${index + 1}/${jobs.length}] ${engineLabels[engine]} ${workload} (n = ${args.n}) ...`);
    const result = await spawnChild(engine, workload, args);
    results.push(result);
    progress(` ${headline(result)} (${result.wallSeconds.toFixed(1)} s)\n`);
  }
  const rows = buildRows(results);
  const targets = checkTargets(results, rows, args.n);
  writeReport({ machine, n: args.n, durableSeconds: args.durableSeconds, rows, targets, results }, args, () => formatReport(machine, args, rows, targets));
}

function spawnChild(engine: EngineName, workload: Workload, args: Args): Promise<ChildResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `silt-bench-${engine}-`));
  const childArgs = [scriptPath, '--child', engine, workload, '--n', String(args.n), '--duration', String(args.durableSeconds), '--dir', dir];
  return new Promise<ChildResult>((resolve, reject) => {
    const child = spawn(process.execPath, childArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => (stdout += text));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      rmSync(dir, { recursive: true, force: true });
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`Cannot run ${engine} ${workload}: the child exited with ${code ?? signal}`));
        return;
      }
      resolve(JSON.parse(last) as ChildResult);
    });
  });
}

function headline(result: ChildResult): string {
  const m = result.metrics;
  if (m['opsPerSec'] !== undefined) return `${formatNumber(m['opsPerSec'])} ops/s`;
  if (m['reopenSeconds'] !== undefined) return `reopen ${m['reopenSeconds'].toFixed(2)} s`;
  return JSON.stringify(m);
}

// ---------------------------------------------------------------- child

async function runChild(engine: EngineName, workload: Workload, n: number, durableSeconds: number, dirGiven: string | undefined): Promise<ChildResult> {
  const started = performance.now();
  const dir = dirGiven ?? mkdtempSync(path.join(os.tmpdir(), `silt-bench-${engine}-`));
  const dataDir = path.join(dir, 'db');
  try {
    const { metrics, notes } = await runWorkload(engine, workload, dataDir, n, durableSeconds);
    return { engine, workload, metrics, notes, maxRssKiB: process.resourceUsage().maxRSS, wallSeconds: (performance.now() - started) / 1000 };
  } finally {
    if (dirGiven === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

type Measured = { metrics: Record<string, number>; notes: Record<string, string | number | boolean> };

async function runWorkload(engine: EngineName, workload: Workload, dir: string, n: number, durableSeconds: number): Promise<Measured> {
  switch (workload) {
    case 'fillseq-b1-seq':
    case 'fillseq-b1-inflight':
    case 'fillrandom-b1-seq':
    case 'fillrandom-b1-inflight':
    case 'fillseq-b100-seq':
    case 'fillseq-b100-inflight':
    case 'fillrandom-b100-seq':
    case 'fillrandom-b100-inflight': {
      const [name, batch, mode] = workload.split('-') as [string, string, 'seq' | 'inflight'];
      const order = name === 'fillseq' ? undefined : permutation(n);
      const store = await openStore(engine, dir, { durable: false });
      mark('fill');
      const seconds = await fill(store, n, order, batch === 'b1' ? 1 : 100, mode);
      mark('end');
      const notes = store.describe();
      await store.close();
      return { metrics: { ops: n, seconds, opsPerSec: n / seconds }, notes };
    }
    case 'fillrandom-durable':
      return durable(engine, dir, n, durableSeconds);
    case 'readrandom-hot':
      return readHot(engine, dir, n);
    case 'readrandom-cold':
      return readCold(engine, dir, n);
    case 'reopen':
      return reopen(engine, dir, n);
    case 'event-loop-delay':
      return eventLoopDelay(engine, dir, n);
  }
}

/** Writes keys [0, n) (in `order` when given) and returns the seconds until every write resolved. */
async function fill(store: Store, n: number, order: Uint32Array | undefined, batchSize: number, mode: 'seq' | 'inflight'): Promise<number> {
  const indexAt = order === undefined ? (position: number) => position : (position: number) => order[position]!;
  let next = 0;
  const worker = async (): Promise<void> => {
    if (batchSize === 1) {
      while (next < n) {
        const position = next++;
        await store.put(makeKey(indexAt(position)), makeValue(position));
      }
      return;
    }
    while (next < n) {
      const first = next;
      const end = Math.min(n, first + batchSize);
      next = end;
      const keys: Buffer[] = [];
      const values: Buffer[] = [];
      for (let position = first; position < end; position++) {
        keys.push(makeKey(indexAt(position)));
        values.push(makeValue(position));
      }
      await store.batch(keys, values);
    }
  };
  const workers = mode === 'seq' ? 1 : Math.max(1, Math.floor(opsInFlight / batchSize));
  const start = performance.now();
  await Promise.all(Array.from({ length: workers }, worker));
  return (performance.now() - start) / 1000;
}

async function durable(engine: EngineName, dir: string, n: number, seconds: number): Promise<Measured> {
  const store = await openStore(engine, dir, { durable: true });
  const random = rng(seed + 1);
  let ops = 0;
  mark('durable');
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const writer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await store.put(makeKey(random() % n), makeValue(ops));
      ops++;
    }
  };
  await Promise.all(Array.from({ length: durableWriters }, writer));
  mark('end');
  const elapsed = (performance.now() - start) / 1000;
  const notes = store.describe();
  await store.close();
  return { metrics: { ops, seconds: elapsed, opsPerSec: ops / elapsed, writers: durableWriters }, notes };
}

/** N random reads of keys just written, all still in the memtable (the same budget for both engines). */
async function readHot(engine: EngineName, dir: string, n: number): Promise<Measured> {
  const memtableBytes = Math.min(levelWriteBufferMax, Math.max(64 * MiB, n * 600));
  const store = await openStore(engine, dir, { durable: false, memtableBytes });
  mark('load');
  const loadSeconds = await fill(store, n, permutation(n), 100, 'seq');
  mark('read');
  const seconds = readRandom(store, n, n);
  mark('end');
  const notes = { ...store.describe(), memtableBytes };
  await store.close();
  return { metrics: { reads: n, seconds, opsPerSec: n / seconds, loadSeconds }, notes };
}

/** N keys written, compacted, reopened with a small block cache; N random reads, then a full scan. */
async function readCold(engine: EngineName, dir: string, n: number): Promise<Measured> {
  let store = await openStore(engine, dir, { durable: false });
  mark('load');
  const loadSeconds = await fill(store, n, permutation(n), 100, 'seq');
  mark('compact');
  const compactStart = performance.now();
  await store.compactAll();
  const compactSeconds = (performance.now() - compactStart) / 1000;
  await store.close();
  const dataBytes = directoryBytes(dir);
  store = await openStore(engine, dir, { durable: false, cacheBytes: coldCacheBytes });
  mark('read');
  const seconds = readRandom(store, n, n);
  mark('scan');
  const scans: Record<string, number> = {};
  for (const mode of engine === 'silt' ? (['sync', 'nextv'] as const) : (['nextv'] as const)) {
    const scanStart = performance.now();
    const entries = await store.scan(mode);
    const scanSeconds = (performance.now() - scanStart) / 1000;
    if (entries !== n) throw new Error(`Cannot trust the ${engine} scan: it returned ${entries} entries, expected ${n}`);
    scans[`scan_${mode}_OpsPerSec`] = entries / scanSeconds;
  }
  mark('end');
  const notes = { ...store.describe(), cacheBytes: coldCacheBytes };
  await store.close();
  const scanOpsPerSec = Math.max(...Object.values(scans));
  return {
    metrics: { reads: n, seconds, opsPerSec: n / seconds, scanOpsPerSec, ...scans, loadSeconds, compactSeconds, dataBytes },
    notes: { ...notes, scanMode: engine === 'silt' ? (scans['scan_sync_OpsPerSec']! >= scans['scan_nextv_OpsPerSec']! ? 'iteratorSync' : 'iterator().nextv(1000)') : 'iterator().nextv(1000)' },
  };
}

/** `reads` gets of random keys in [0, n); every one must hit. Returns seconds. */
function readRandom(store: Store, n: number, reads: number): number {
  const random = rng(seed + 2);
  const key = Buffer.allocUnsafe(keyBytes);
  let found = 0;
  let checksum = 0;
  const start = performance.now();
  for (let index = 0; index < reads; index++) {
    writeKey(key, random() % n);
    const value = store.get(key);
    if (value !== undefined) {
      found++;
      checksum ^= value[0]!;
    }
  }
  const seconds = (performance.now() - start) / 1000;
  if (found !== reads) throw new Error(`Cannot trust the read benchmark: ${reads - found} of ${reads} written keys were not found`);
  if (checksum === -1) process.stderr.write('unreachable\n'); // keeps the reads observable
  return seconds;
}

/** N batch-1 writes left in the memtable and WAL, close, and time the reopen (WAL replay). */
async function reopen(engine: EngineName, dir: string, n: number): Promise<Measured> {
  const profile: OpenProfile = { durable: false, memtableBytes: levelWriteBufferMax };
  let store = await openStore(engine, dir, profile);
  mark('write');
  const writeSeconds = await fill(store, n, permutation(n), 1, 'inflight');
  const before = store.describe();
  if (engine === 'silt' && before['flushes'] !== 0) throw new Error(`Cannot measure reopen: silt flushed ${before['flushes']} times during the writes`);
  await store.close();
  const walBytes = directoryBytes(dir);
  mark('reopen');
  const start = performance.now();
  store = await openStore(engine, dir, profile);
  const reopenSeconds = (performance.now() - start) / 1000;
  mark('end');
  const after = store.describe();
  readRandom(store, n, Math.min(n, 10_000));
  await store.close();
  const metrics: Record<string, number> = { writes: n, writeSeconds, reopenSeconds, dataBytesBeforeReopen: walBytes };
  if (engine === 'silt') {
    const replayed = Number(after['walRecordsReplayed']);
    if (replayed !== n) throw new Error(`Cannot trust the reopen benchmark: silt replayed ${replayed} WAL records, expected ${n}`);
    metrics['walRecordsReplayed'] = replayed;
  }
  return { metrics, notes: after };
}

/** Event-loop delay while a fillrandom with a small memtable forces many flushes and compactions. */
async function eventLoopDelay(engine: EngineName, dir: string, n: number): Promise<Measured> {
  const store = await openStore(engine, dir, { durable: false, memtableBytes: delayMemtableBytes, smallTree: true });
  const order = permutation(n); // before the monitor starts: it blocks the loop for a while itself
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const gaps = marksWanted ? markGaps(20) : undefined;
  mark('write');
  const writeSeconds = await fill(store, n, order, 100, 'seq');
  mark('compact');
  const settleStart = performance.now();
  await store.compactAll();
  const compactSeconds = (performance.now() - settleStart) / 1000;
  histogram.disable();
  if (gaps !== undefined) clearInterval(gaps);
  mark('end');
  const notes = store.describe();
  await store.close();
  return {
    metrics: {
      ops: n,
      seconds: writeSeconds,
      opsPerSec: n / writeSeconds,
      compactSeconds,
      maxMs: histogram.max / 1e6,
      p99Ms: histogram.percentile(99) / 1e6,
      p999Ms: histogram.percentile(99.9) / 1e6,
      meanMs: histogram.mean / 1e6,
    },
    notes,
  };
}

/** Prints a phase mark when SILT_BENCH_MARKS is set. */
function mark(label: string): void {
  if (marksWanted) process.stderr.write(`mark ${label} ${process.hrtime.bigint() / 1000n}\n`);
}

/** With SILT_BENCH_MARKS: prints `gap <from µs> <to µs>` whenever a 1 ms timer fires `thresholdMs` or more late. */
function markGaps(thresholdMs: number): NodeJS.Timeout {
  let last = process.hrtime.bigint() / 1000n;
  return setInterval(() => {
    const now = process.hrtime.bigint() / 1000n;
    if (now - last >= BigInt(thresholdMs * 1000)) process.stderr.write(`gap ${last} ${now} ${Number(now - last) / 1000} ms\n`);
    last = now;
  }, 1);
}

// ---------------------------------------------------------------- stores

async function openStore(engine: EngineName, dir: string, profile: OpenProfile): Promise<Store> {
  return engine === 'silt' ? openSilt(dir, profile) : openClassic(dir, profile);
}

async function openSilt(dir: string, profile: OpenProfile): Promise<Store> {
  const options: EngineOptions = { syncPolicy: profile.durable ? 'always' : 'no' };
  if (profile.memtableBytes !== undefined) options.memtableBytes = profile.memtableBytes;
  if (profile.cacheBytes !== undefined) options.blockCacheBytes = profile.cacheBytes;
  if (profile.smallTree === true) {
    options.level1BytesTarget = delayLevel1Bytes;
    options.segmentBytesTarget = delaySegmentBytes;
  }
  const engine = await LsmEngine.open(dir, options);
  return {
    put: (key, value) => engine.write(new WriteBatch().put(key, value)),
    batch: (keys, values) => {
      const batch = new WriteBatch();
      for (let index = 0; index < keys.length; index++) batch.put(keys[index]!, values[index]!);
      return engine.write(batch);
    },
    get: (key) => engine.get(key),
    compactAll: async () => {
      await engine.flush();
      await engine.compactRange();
      await settle(engine);
    },
    scan: async (mode) => {
      let count = 0;
      if (mode === 'sync') {
        const iterator = engine.iteratorSync();
        try {
          while (iterator.next() !== undefined) count++;
        } finally {
          iterator.close();
        }
        return count;
      }
      const iterator = engine.iterator();
      try {
        for (let entries = await iterator.nextv(1000); entries.length > 0; entries = await iterator.nextv(1000)) count += entries.length;
      } finally {
        await iterator.close();
      }
      return count;
    },
    describe: () => {
      const stats = engine.stats();
      return {
        flushes: stats.flushes,
        compactions: stats.compactions,
        writeStalls: stats.writeStalls,
        levels: stats.levels.map((level) => level.segments).join('/'),
        cacheHits: stats.blockCache.hits,
        cacheMisses: stats.blockCache.misses,
        walRecordsReplayed: engine.recovery.walRecordsReplayed,
        recoveryMs: engine.recovery.durationMs,
      };
    },
    close: () => engine.close(),
  };
}

/** Waits until no flush or compaction runs or is due (bounded). */
async function settle(engine: LsmEngine): Promise<void> {
  const deadline = performance.now() + settleMsMax;
  for (;;) {
    const stats = engine.stats();
    if (stats.compactionsRunning === 0 && stats.immutableMemtables === 0) return;
    if (performance.now() > deadline) throw new Error(`Cannot settle silt: background work still running after ${settleMsMax} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function openClassic(dir: string, profile: OpenProfile): Promise<Store> {
  const options: DatabaseOptions<Buffer, Buffer> = { keyEncoding: 'buffer', valueEncoding: 'buffer' };
  if (profile.memtableBytes !== undefined) options.writeBufferSize = Math.min(profile.memtableBytes, levelWriteBufferMax);
  if (profile.cacheBytes !== undefined) options.cacheSize = profile.cacheBytes;
  const db = new ClassicLevel<Buffer, Buffer>(dir, options);
  await db.open();
  const syncOptions = { sync: true };
  return {
    put: profile.durable ? (key, value) => db.put(key, value, syncOptions) : (key, value) => db.put(key, value),
    batch: (keys, values) => {
      const operations: { type: 'put'; key: Buffer; value: Buffer }[] = [];
      for (let index = 0; index < keys.length; index++) operations.push({ type: 'put', key: keys[index]!, value: values[index]! });
      return db.batch(operations);
    },
    get: (key) => db.getSync(key),
    compactAll: () => db.compactRange(Buffer.alloc(0), Buffer.alloc(keyBytes + 1, 0xff)),
    scan: async () => {
      let count = 0;
      const iterator = db.iterator();
      try {
        for (let entries = await iterator.nextv(1000); entries.length > 0; entries = await iterator.nextv(1000)) count += entries.length;
      } finally {
        await iterator.close();
      }
      return count;
    },
    describe: () => ({ files: db.getProperty('leveldb.num-files-at-level0') + '/' + db.getProperty('leveldb.num-files-at-level1') + '/' + db.getProperty('leveldb.num-files-at-level2') }),
    close: () => db.close(),
  };
}

// ---------------------------------------------------------------- data

/** Mulberry32: a small seeded PRNG; returns unsigned 32-bit integers. */
function rng(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A seeded random permutation of [0, n) (Fisher-Yates). */
function permutation(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let index = 0; index < n; index++) order[index] = index;
  const random = rng(seed);
  for (let index = n - 1; index > 0; index--) {
    const other = random() % (index + 1);
    const held = order[index]!;
    order[index] = order[other]!;
    order[other] = held;
  }
  return order;
}

/** Writes `index` as 16 ASCII decimal digits, as db_bench's "%016d". */
function writeKey(key: Buffer, index: number): void {
  let rest = index;
  for (let position = keyBytes - 1; position >= 0; position--) {
    key[position] = 48 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
}

/** A fresh key buffer (the caller hands it to an engine that may keep it). */
function makeKey(index: number): Buffer {
  const key = Buffer.allocUnsafe(keyBytes);
  writeKey(key, index);
  return key;
}

const valueSlots = 10_007;
/** db_bench-like values: 50 random letters then the same 50 again, so each compresses to about half. */
const valuePool = (() => {
  const random = rng(seed + 3);
  const pool = Buffer.allocUnsafe(valueSlots * valueBytes);
  for (let slot = 0; slot < valueSlots; slot++) {
    const base = slot * valueBytes;
    for (let offset = 0; offset < valueBytes / 2; offset++) pool[base + offset] = 97 + (random() % 26);
    pool.copy(pool, base + valueBytes / 2, base, base + valueBytes / 2);
  }
  return pool;
})();

/** A fresh value buffer (the caller hands it to an engine that may keep it). */
function makeValue(index: number): Buffer {
  const value = Buffer.allocUnsafe(valueBytes);
  const base = (index % valueSlots) * valueBytes;
  valuePool.copy(value, 0, base, base + valueBytes);
  return value;
}

// ---------------------------------------------------------------- report

interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  platform: string;
  tmpdir: string;
  fdatasync: { medianMs: number; p99Ms: number; samples: number };
}

function describeMachine(): Machine {
  return {
    nproc: os.availableParallelism(),
    cpuModel: describeCpu(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    tmpdir: os.tmpdir(),
    fdatasync: measureFdatasync(),
  };
}

/** fdatasync latency of a 4 KiB append on the benchmark's disk (os.tmpdir()). */
function measureFdatasync(): { medianMs: number; p99Ms: number; samples: number } {
  const samples = 200;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-sync-'));
  const file = path.join(dir, 'probe');
  const fd = openSync(file, 'a');
  const block = Buffer.alloc(4 * KiB, 1);
  const times: number[] = [];
  try {
    for (let index = 0; index < samples; index++) {
      writeSync(fd, block);
      const start = performance.now();
      fdatasyncSync(fd);
      times.push(performance.now() - start);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(samples / 2)]!, p99Ms: times[Math.floor(samples * 0.99)]!, samples };
}

function find(results: ChildResult[], engine: EngineName, workload: Workload): ChildResult | undefined {
  return results.find((result) => result.engine === engine && result.workload === workload);
}

/** The faster of the sequential and in-flight variants of a fill, with its mode. */
function bestFill(results: ChildResult[], engine: EngineName, prefix: string): { value: number; mode: string } | undefined {
  let best: { value: number; mode: string } | undefined;
  for (const mode of ['seq', 'inflight'] as const) {
    const value = find(results, engine, `${prefix}-${mode}` as Workload)?.metrics['opsPerSec'];
    if (value !== undefined && (best === undefined || value > best.value)) best = { value, mode };
  }
  return best;
}

function buildRows(results: ChildResult[]): Row[] {
  const rows: Row[] = [];
  const add = (name: string, unit: string, higherIsBetter: boolean, silt: number | undefined, classic: number | undefined, note: string): void => {
    const ratio = silt !== undefined && classic !== undefined && classic > 0 ? silt / classic : undefined;
    rows.push({ name, unit, higherIsBetter, silt, classic, ratio, note });
  };
  const modeName = (mode: string | undefined, batch: number): string =>
    mode === undefined ? '?' : mode === 'seq' ? 'sequential awaits' : batch === 1 ? `${opsInFlight} in flight` : `${opsInFlight / batch} batches in flight`;
  for (const [prefix, batch] of [
    ['fillseq-b1', 1],
    ['fillrandom-b1', 1],
    ['fillseq-b100', 100],
    ['fillrandom-b100', 100],
  ] as const) {
    const silt = bestFill(results, 'silt', prefix);
    const classic = bestFill(results, 'classic', prefix);
    if (silt === undefined && classic === undefined) continue;
    const [name] = prefix.split('-');
    add(`${name} batch ${batch}`, 'ops/s', true, silt?.value, classic?.value, `silt: ${modeName(silt?.mode, batch)}; classic-level: ${modeName(classic?.mode, batch)}`);
  }
  const metric = (engine: EngineName, workload: Workload, key: string): number | undefined => find(results, engine, workload)?.metrics[key];
  const has = (workload: Workload): boolean => results.some((result) => result.workload === workload);
  if (has('fillrandom-durable')) {
    add('fillrandom durable, 32 writers', 'ops/s', true, metric('silt', 'fillrandom-durable', 'opsPerSec'), metric('classic', 'fillrandom-durable', 'opsPerSec'), "silt 'always' vs put({ sync: true })");
  }
  if (has('readrandom-hot')) add('readrandom hot', 'ops/s', true, metric('silt', 'readrandom-hot', 'opsPerSec'), metric('classic', 'readrandom-hot', 'opsPerSec'), 'all keys in the memtable; getSync');
  if (has('readrandom-cold')) {
    add('readrandom cold', 'ops/s', true, metric('silt', 'readrandom-cold', 'opsPerSec'), metric('classic', 'readrandom-cold', 'opsPerSec'), 'compacted, reopened, 8 MiB block cache');
    const mode = find(results, 'silt', 'readrandom-cold')?.notes['scanMode'];
    add('full ordered scan', 'entries/s', true, metric('silt', 'readrandom-cold', 'scanOpsPerSec'), metric('classic', 'readrandom-cold', 'scanOpsPerSec'), `silt: ${String(mode ?? '?')}; classic-level: iterator().nextv(1000)`);
  }
  if (has('reopen')) add('reopen after N unflushed writes', 's', false, metric('silt', 'reopen', 'reopenSeconds'), metric('classic', 'reopen', 'reopenSeconds'), 'WAL replay; lower is better');
  if (has('event-loop-delay')) {
    add('event-loop delay max, flush+compaction', 'ms', false, metric('silt', 'event-loop-delay', 'maxMs'), metric('classic', 'event-loop-delay', 'maxMs'), '4 MiB memtable fillrandom + compactRange; lower is better');
    add('event-loop delay p99, flush+compaction', 'ms', false, metric('silt', 'event-loop-delay', 'p99Ms'), metric('classic', 'event-loop-delay', 'p99Ms'), 'lower is better');
  }
  const peak = (engine: EngineName): number | undefined => {
    const mine = results.filter((result) => result.engine === engine);
    return mine.length === 0 ? undefined : Math.max(...mine.map((result) => result.maxRssKiB)) / 1024;
  };
  add('peak RSS (max over workloads)', 'MiB', false, peak('silt'), peak('classic'), 'process.resourceUsage().maxRSS; lower is better');
  return rows;
}

function checkTargets(results: ChildResult[], rows: Row[], n: number): Target[] {
  const targets: Target[] = [];
  const ratioOf = (name: string): number | undefined => rows.find((row) => row.name === name)?.ratio;
  const ratioTarget = (name: string, row: string, goal: number): void => {
    const ratio = ratioOf(row);
    if (ratio === undefined) return;
    targets.push({ name, goal: `>= ${goal}x classic-level`, actual: formatRatio(ratio), met: ratio >= goal });
  };
  ratioTarget('fillrandom batch 1', 'fillrandom batch 1', 3);
  ratioTarget('fillrandom batch 100', 'fillrandom batch 100', 1.5);
  ratioTarget('readrandom hot', 'readrandom hot', 3);
  ratioTarget('readrandom cold', 'readrandom cold', 1.5);
  ratioTarget('durable fillrandom, 32 writers', 'fillrandom durable, 32 writers', 10);
  const reopenSeconds = find(results, 'silt', 'reopen')?.metrics['reopenSeconds'];
  if (reopenSeconds !== undefined) targets.push({ name: `reopen after ${n} WAL records`, goal: '< 2 s', actual: `${reopenSeconds.toFixed(2)} s`, met: reopenSeconds < 2 });
  const delay = find(results, 'silt', 'event-loop-delay')?.metrics;
  if (delay !== undefined) {
    targets.push({ name: 'max event-loop delay, flush/compaction', goal: '< 50 ms', actual: `${delay['maxMs']!.toFixed(1)} ms (p99 ${delay['p99Ms']!.toFixed(1)} ms)`, met: delay['maxMs']! < 50 });
  }
  return targets;
}

function formatReport(machine: Machine, args: Args, rows: Row[], targets: Target[]): string {
  const lines: string[] = [];
  lines.push(`silt engine benchmark: N = ${args.n}, durable run ${args.durableSeconds} s, 16-byte keys, 100-byte values`);
  lines.push(
    `machine: ${machine.nproc} CPUs, ${machine.cpuModel}, node ${machine.node}, ${machine.platform}; ` +
      `fdatasync (4 KiB append, ${machine.tmpdir}) median ${machine.fdatasync.medianMs.toFixed(2)} ms, p99 ${machine.fdatasync.p99Ms.toFixed(2)} ms`,
  );
  lines.push('');
  const header = ['workload', 'unit', 'silt', 'classic-level', 'silt/classic', 'notes'];
  const body = rows.map((row) => [row.name, row.unit, formatValue(row.silt, row.unit), formatValue(row.classic, row.unit), row.ratio === undefined ? '-' : formatRatio(row.ratio), row.note]);
  lines.push(...formatTable(header, body, [false, false, true, true, true, false]));
  lines.push('');
  lines.push(...formatTable(['target', 'goal', 'actual', 'result'], targets.map((target) => [target.name, target.goal, target.actual, target.met ? 'PASS' : 'MISS']), [false, false, true, false]));
  return `${lines.join('\n')}\n`;
}

function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined) return '-';
  if (unit === 's' || unit === 'ms') return value.toFixed(unit === 's' ? 2 : 1);
  if (unit === 'MiB') return value.toFixed(0);
  return formatNumber(value);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
