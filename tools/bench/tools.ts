// Benchmark: the offline tools on a large data directory (docs/bench.md,
// "Offline tools"). Not a test: it measures, and checks only that each tool
// did its whole job (exit 0, every key dumped, every record replayed).
//
// 1. build: a data directory of about --size-mb MiB on disk (segments + WAL),
//    written in-process the way the server writes it (LsmEngine with the
//    server's memtable, block cache and keyspace compaction filter, Keyspace
//    on top): mostly strings with 1 KiB values (one in ten with an expiry a
//    day ahead), and every 20th key a hash, set, sorted set or list of 32
//    members, so the logical verify pass has collections to count. Values
//    are random printable ASCII: LZ4 barely compresses them, so the bytes on
//    disk are about the bytes written, and NDJSON carries them as strings.
// 2. verify: `silt verify DIR` as the CLI calls it (tools/verify.ts), with
//    the physical passes only and with the logical pass as well.
// 3. dump: `silt dump DIR --out FILE` as NDJSON and as RESP.
// 4. restore: a second directory with the WAL archive on (no age or size
//    limit, as `--wal-archive-hours`/`--wal-archive-mb` switch it on): a
//    base of strings, a checkpoint, then --records more writes (one SET of a
//    100-byte value each, one WAL record each, over the base's keys), then
//    a flush (so every one of them is archived), then
//    `silt restore --from CHECKPOINT --archive DIR/archive --out NEWDIR`
//    to seq:<last>, to the instant after the middle record, and a dry run.
//
// Rates: MB/s is the directory's bytes on disk (10^6 bytes) over seconds;
// dump also reports its output bytes over seconds. The tools run in this
// process with --json reports captured; temp directories live under
// os.tmpdir() and are removed at the end (--keep leaves them, to profile a
// tool on them with `node --cpu-prof dist/tools/cli.js verify DIR`).
//
// Run:   npm run bench:tools [-- --size-mb 64 --records 50000] [--json] [--json-file out.json] [--keep]

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { hashSet } from '../../lib/keyspace/hash.js';
import { Keyspace, keyspaceCompactionFilter, type KeyspaceContext } from '../../lib/keyspace/keyspace.js';
import { metadataKey } from '../../lib/keyspace/key-encoding.js';
import { List } from '../../lib/keyspace/list.js';
import { stringValue } from '../../lib/keyspace/metadata.js';
import { setAdd } from '../../lib/keyspace/set.js';
import { newStringRecord } from '../../lib/keyspace/string.js';
import { SortedSetWriter } from '../../lib/keyspace/zset.js';
import { dump, type DumpFormat, type DumpReport } from '../dump.js';
import { Progress } from '../progress.js';
import { restore, type RestoreReport } from '../restore.js';
import type { ToolIo, ToolResult } from '../tool-io.js';
import { physicalPasses, verify, type VerifyReport } from '../verify.js';
import { directoryBytes, formatNumber, formatTable, parseFlags, positiveInteger, writeReport } from './bench-support.js';

// ---------------------------------------------------------------- constants

const MiB = 1024 * 1024;
const sizeMbDefault = 1024;
const recordsDefault = 1_000_000;
/** The server's defaults (service/config.ts: memtable-mb, blockcache-mb). */
const memtableBytes = 64 * MiB;
const blockCacheBytes = 64 * MiB;
const stringValueBytes = 1024;
/** One key in this many is a collection (hash, set, zset, list in turn). */
const collectionEvery = 20;
const collectionMembers = 32;
const memberValueBytes = 24;
/** One string in this many gets an expiry a day ahead. */
const expiryEvery = 10;
const dayMs = 86_400_000;
/** Restore: keys of the base (each rewritten many times by the archived records) and their value size. */
const restoreBaseKeys = 100_000;
const restoreValueBytes = 100;
/** Writes applied before their durability is awaited (as tools/load.ts paces a directory). */
const writesInFlightMax = 256;
/** How often (keys) the build looks at the bytes on disk. */
const sizeCheckEvery = 4096;
const settleMsMax = 600_000;
const seed = 0x5117;
const alphabet = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_');

// ---------------------------------------------------------------- types

interface Args {
  sizeMb: number;
  records: number;
  json: boolean;
  jsonFile: string | undefined;
  keep: boolean;
}

interface Timed {
  seconds: number;
  /** User + system CPU of this process (workers included), seconds. */
  cpuSeconds: number;
}

interface BuildResult extends Timed {
  keys: number;
  strings: number;
  collections: number;
  /** Bytes of keys and values handed to the keyspace. */
  logicalBytes: number;
  diskBytes: number;
  segmentBytes: number;
  walBytes: number;
  segments: number;
}

interface VerifyResult extends Timed {
  passes: string;
  diskBytes: number;
  mbPerSecond: number;
  walRecords: number;
  blocks: number;
  /** Keys the logical pass read (null when it did not run). */
  keys: number | null;
  keysPerSecond: number | null;
}

interface DumpResult extends Timed {
  format: DumpFormat;
  keys: number;
  diskBytes: number;
  outputBytes: number;
  mbPerSecond: number;
  outputMbPerSecond: number;
  keysPerSecond: number;
}

interface RestoreResult extends Timed {
  target: string;
  dryRun: boolean;
  records: number;
  ops: number;
  recordsPerSecond: number;
}

interface RestoreSetup extends Timed {
  baseKeys: number;
  records: number;
  archiveFiles: number;
  archiveBytes: number;
  checkpointSequence: number;
  lastSequence: number;
}

interface Report {
  machine: { nproc: number; cpuModel: string; node: string; platform: string; tmpdir: string; loadAverage: number[] };
  args: { sizeMb: number; records: number };
  build: BuildResult;
  verify: VerifyResult[];
  dump: DumpResult[];
  restoreSetup: RestoreSetup;
  restore: RestoreResult[];
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tty = process.stderr.isTTY;
  const say = (line: string): void => {
    if (tty) process.stderr.write(`${line}\n`);
  };
  const root = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-tools-'));
  try {
    const dataDir = path.join(root, 'data');
    say(`build: ${args.sizeMb} MiB in ${dataDir}`);
    const build = await buildDataDir(dataDir, args.sizeMb * MiB, tty);
    say(`  ${build.keys} keys, ${formatMb(build.diskBytes)} on disk in ${build.seconds.toFixed(1)} s`);

    const verifyResults: VerifyResult[] = [];
    for (const logical of [false, true]) {
      const result = await timeVerify(dataDir, build.diskBytes, logical);
      verifyResults.push(result);
      say(`verify (${result.passes}): ${result.seconds.toFixed(2)} s, ${result.mbPerSecond.toFixed(1)} MB/s`);
    }

    const dumpResults: DumpResult[] = [];
    for (const format of ['ndjson', 'resp'] as const) {
      const result = await timeDump(dataDir, path.join(root, `dump.${format}`), format, build);
      dumpResults.push(result);
      say(`dump ${format}: ${result.seconds.toFixed(2)} s, ${result.mbPerSecond.toFixed(1)} MB/s of directory, ${result.outputMbPerSecond.toFixed(1)} MB/s of output`);
      if (!args.keep) rmSync(path.join(root, `dump.${format}`), { force: true });
    }
    if (!args.keep) rmSync(dataDir, { recursive: true, force: true });

    const restoreDir = path.join(root, 'restore-source');
    say(`restore: base of ${restoreBaseKeys} keys, a checkpoint, then ${args.records} archived records in ${restoreDir}`);
    const setup = await buildRestoreSource(restoreDir, args.records, tty);
    say(`  ${setup.archiveFiles} archived WAL files, ${formatMb(setup.archiveBytes)}, written in ${setup.seconds.toFixed(1)} s`);
    const restoreResults: RestoreResult[] = [];
    const targets: { to: string; dryRun: boolean; expected: number }[] = [
      { to: `seq:${setup.lastSequence}`, dryRun: false, expected: args.records },
      { to: new Date(setup.middle.afterMs).toISOString(), dryRun: false, expected: setup.middle.records },
      { to: `seq:${setup.lastSequence}`, dryRun: true, expected: args.records },
    ];
    for (const [index, target] of targets.entries()) {
      const out = path.join(root, `restored-${index}`);
      const result = await timeRestore(restoreDir, out, target.to, target.dryRun, target.expected);
      restoreResults.push(result);
      say(`restore --to ${target.to}${target.dryRun ? ' --dry-run' : ''}: ${result.records} records in ${result.seconds.toFixed(2)} s, ${Math.round(result.recordsPerSecond)} records/s`);
      if (!target.dryRun) await checkRestored(out, setup, target.expected === args.records);
      if (!args.keep) rmSync(out, { recursive: true, force: true });
    }

    const { middle: _middle, lastValue: _lastValue, ...restoreSetup } = setup;
    const report: Report = {
      machine: { nproc: os.availableParallelism(), cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version, platform: `${os.platform()} ${os.release()}`, tmpdir: os.tmpdir(), loadAverage: os.loadavg() },
      args: { sizeMb: args.sizeMb, records: args.records },
      build,
      verify: verifyResults,
      dump: dumpResults,
      restoreSetup,
      restore: restoreResults,
    };
    writeReport(report, args, () => formatReport(report));
    if (args.keep) process.stderr.write(`kept ${root}\n`);
  } finally {
    if (!args.keep) rmSync(root, { recursive: true, force: true });
  }
}

function parseArgs(argv: string[]): Args {
  const args: Args = { sizeMb: sizeMbDefault, records: recordsDefault, json: false, jsonFile: undefined, keep: false };
  parseFlags(
    argv,
    {
      '--size-mb': (value) => (args.sizeMb = positiveInteger(value(), '--size-mb')),
      '--records': (value) => (args.records = positiveInteger(value(), '--records')),
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
      '--keep': () => (args.keep = true),
    },
    () => 'Usage: node dist/tools/bench/tools.js [--size-mb MiB] [--records N] [--json] [--json-file FILE] [--keep]\n',
  );
  return args;
}

// ---------------------------------------------------------------- building the data directory

/** Opens `dir` as the server opens its data directory (archive as asked). */
async function openServerStyle(dir: string, walArchive: boolean): Promise<{ engine: LsmEngine; keyspace: Keyspace }> {
  const engine = await LsmEngine.open(dir, {
    syncPolicy: 'no',
    memtableBytes,
    blockCacheBytes,
    compactionFilter: keyspaceCompactionFilter(),
    ...(walArchive ? { walArchive: { ageMs: 0, bytesMax: 0 } } : {}),
  });
  try {
    return { engine, keyspace: await Keyspace.open(engine) };
  } catch (error) {
    await engine.close();
    throw error;
  }
}

/** Writes through a keyspace context, awaiting durability every writesInFlightMax writes. */
class Writer {
  readonly #engine: LsmEngine;
  #pending: Promise<unknown>[] = [];
  lastSequence = 0;

  constructor(engine: LsmEngine) {
    this.#engine = engine;
  }

  context(db: number): KeyspaceContext {
    return {
      db,
      nowMs: Date.now(),
      write: (batch) => {
        this.#pending.push(
          this.#engine.write(batch).then((result) => {
            this.lastSequence = Math.max(this.lastSequence, result.sequence);
          }),
        );
      },
    };
  }

  async pace(): Promise<void> {
    if (this.#pending.length >= writesInFlightMax) await this.settle();
  }

  async settle(): Promise<void> {
    const pending = this.#pending;
    this.#pending = [];
    await Promise.all(pending);
  }
}

async function buildDataDir(dir: string, sizeBytes: number, tty: boolean): Promise<BuildResult> {
  const started = startTimer();
  const { engine, keyspace } = await openServerStyle(dir, false);
  const writer = new Writer(engine);
  const next = rng(seed);
  const progress = new Progress({ stream: process.stderr, label: 'build', total: sizeBytes, unit: 'bytes', enabled: tty });
  const result = { keys: 0, strings: 0, collections: 0, logicalBytes: 0 };
  let diskBytes = 0;
  try {
    while (diskBytes < sizeBytes) {
      const index = result.keys++;
      const ctx = writer.context(0);
      if (index % collectionEvery === collectionEvery - 1) {
        result.logicalBytes += writeCollection(keyspace, ctx, index, next);
        result.collections++;
      } else {
        const key = Buffer.from(`key:${String(index).padStart(10, '0')}`);
        const value = randomText(next, stringValueBytes);
        const expireMs = index % expiryEvery === 0 ? ctx.nowMs + dayMs : 0;
        const target = keyspace.load(0, key, ctx.nowMs);
        keyspace.put(ctx, target, newStringRecord(keyspace, target, value, expireMs, ctx.nowMs));
        result.logicalBytes += key.length + value.length;
        result.strings++;
      }
      await writer.pace();
      if (index % sizeCheckEvery === 0) {
        const stats = engine.stats();
        const now = stats.levels.reduce((sum, level) => sum + level.bytes, 0) + stats.walBytes;
        progress.advance(Math.max(0, Math.min(now, sizeBytes) - progress.done));
        diskBytes = now;
      }
    }
    await writer.settle();
    // As a server that has been running a while: the background work done, a memtable's worth of WAL unflushed.
    await settle(engine);
  } finally {
    progress.finish();
    await engine.close();
  }
  const segmentBytes = directoryBytes(path.join(dir, 'seg'));
  const walBytes = directoryBytes(path.join(dir, 'wal'));
  return { ...result, diskBytes: directoryBytes(dir), segmentBytes, walBytes, segments: readdirSync(path.join(dir, 'seg')).length, ...started() };
}

/** One collection of collectionMembers members, the type chosen by `index`; returns the bytes written. */
function writeCollection(keyspace: Keyspace, ctx: KeyspaceContext, index: number, next: () => number): number {
  const kinds = ['hash', 'set', 'zset', 'list'] as const;
  const kind = kinds[Math.floor(index / collectionEvery) % kinds.length]!;
  const key = Buffer.from(`${kind}:${String(index).padStart(10, '0')}`);
  const members = Array.from({ length: collectionMembers }, (_, member) => Buffer.concat([Buffer.from(`m${String(member).padStart(3, '0')}:`), randomText(next, memberValueBytes)]));
  let bytes = key.length + members.reduce((sum, member) => sum + member.length, 0);
  switch (kind) {
    case 'hash': {
      const values = members.map(() => randomText(next, memberValueBytes));
      bytes += values.reduce((sum, value) => sum + value.length, 0);
      hashSet(
        keyspace,
        ctx,
        key,
        members.flatMap((field, member) => [field, values[member]!]),
      );
      break;
    }
    case 'set':
      setAdd(keyspace, ctx, key, members);
      break;
    case 'zset': {
      const writer = SortedSetWriter.load(keyspace, 0, key, ctx.nowMs);
      for (const member of members) writer.add(member, Math.round(next() * 1e6) / 100);
      writer.commit(ctx);
      bytes += members.length * 8;
      break;
    }
    case 'list': {
      const list = List.edit(keyspace, 0, key, ctx.nowMs);
      for (const member of members) list.push(member, 'right');
      const batch = keyspace.begin();
      list.stage(batch);
      keyspace.commit(ctx, batch);
      break;
    }
  }
  return bytes;
}

/** Waits until no flush or compaction is running or waiting. */
async function settle(engine: LsmEngine): Promise<void> {
  const deadline = performance.now() + settleMsMax;
  for (let quiet = 0; quiet < 3; ) {
    const stats = engine.stats();
    quiet = stats.compactionsRunning === 0 && stats.immutableMemtables === 0 ? quiet + 1 : 0;
    if (performance.now() > deadline) throw new Error(`Cannot settle the engine: background work still running after ${settleMsMax} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---------------------------------------------------------------- verify and dump

async function timeVerify(dir: string, diskBytes: number, logical: boolean): Promise<VerifyResult> {
  const started = startTimer();
  const { report } = await runJson<VerifyReport>('verify', (io) => verify({ dir, json: true, ...(logical ? {} : { passes: physicalPasses }) }, io));
  const timed = started();
  if (!report.healthy) throw new Error(`verify found damage in the benchmark's own directory: ${JSON.stringify(report.problems.slice(0, 3))}`);
  if (logical && report.logical?.skipped !== null) throw new Error(`verify skipped the logical pass: ${report.logical?.skipped}`);
  const keys = logical ? report.logical!.keys : null;
  return {
    passes: logical ? 'physical + logical' : 'physical',
    diskBytes,
    mbPerSecond: diskBytes / 1e6 / timed.seconds,
    walRecords: report.checked.walRecords,
    blocks: report.checked.blocks,
    keys,
    keysPerSecond: keys === null ? null : keys / timed.seconds,
    ...timed,
  };
}

async function timeDump(dir: string, out: string, format: DumpFormat, build: BuildResult): Promise<DumpResult> {
  const started = startTimer();
  const { report } = await runJson<DumpReport>('dump', (io) => dump({ dir, out, format, json: true }, io));
  const timed = started();
  if (report.keys !== build.keys) throw new Error(`dump wrote ${report.keys} keys, the directory holds ${build.keys}`);
  return {
    format,
    keys: report.keys,
    diskBytes: build.diskBytes,
    outputBytes: report.bytes,
    mbPerSecond: build.diskBytes / 1e6 / timed.seconds,
    outputMbPerSecond: report.bytes / 1e6 / timed.seconds,
    keysPerSecond: report.keys / timed.seconds,
    ...timed,
  };
}

// ---------------------------------------------------------------- restore

type RestoreSource = RestoreSetup & { middle: { records: number; afterMs: number }; lastValue: Buffer };

async function buildRestoreSource(dir: string, records: number, tty: boolean): Promise<RestoreSource> {
  const started = startTimer();
  const { engine, keyspace } = await openServerStyle(dir, true);
  const writer = new Writer(engine);
  const next = rng(seed + 1);
  const keyOf = (index: number): Buffer => Buffer.from(`key:${String(index % restoreBaseKeys).padStart(8, '0')}`);
  const set = (index: number): Buffer => {
    const ctx = writer.context(0);
    const value = randomText(next, restoreValueBytes);
    const target = keyspace.load(0, keyOf(index), ctx.nowMs);
    keyspace.put(ctx, target, newStringRecord(keyspace, target, value, 0, ctx.nowMs));
    return value;
  };
  const progress = new Progress({ stream: process.stderr, label: 'restore: writing', total: records, unit: 'records', enabled: tty });
  let checkpointSequence = 0;
  let middle = { records: 0, afterMs: 0 };
  let lastValue: Buffer = Buffer.alloc(0);
  try {
    for (let index = 0; index < restoreBaseKeys; index++) {
      set(index);
      await writer.pace();
    }
    await writer.settle();
    checkpointSequence = (await engine.checkpoint(path.join(engine.checkpointsDir, 'base'))).sequence;
    const half = Math.floor(records / 2);
    for (let index = 0; index < records; index++) {
      lastValue = set(index);
      await writer.pace();
      progress.advance(1);
      if (index + 1 === half) {
        // The instant after the middle record: every record up to it is stamped at or before it, every later one after.
        await writer.settle();
        middle = { records: half, afterMs: Date.now() };
        while (Date.now() <= middle.afterMs) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    await writer.settle();
    // Flushed, so every record after the checkpoint is in archive/ (restore reads no live WAL file).
    await engine.flush();
  } finally {
    progress.finish();
    await engine.close();
  }
  const archive = path.join(dir, 'archive');
  const archived = readdirSync(archive);
  return {
    baseKeys: restoreBaseKeys,
    records,
    archiveFiles: archived.length,
    archiveBytes: directoryBytes(archive),
    checkpointSequence,
    lastSequence: writer.lastSequence,
    middle,
    lastValue,
    ...started(),
  };
}

async function timeRestore(sourceDir: string, out: string, to: string, dryRun: boolean, expected: number): Promise<RestoreResult> {
  const started = startTimer();
  const { report } = await runJson<RestoreReport>('restore', (io) =>
    restore({ from: path.join(sourceDir, 'checkpoints', 'base'), archive: path.join(sourceDir, 'archive'), to, json: true, ...(dryRun ? { dryRun } : { out }) }, io),
  );
  const timed = started();
  if (report.records !== expected) throw new Error(`restore --to ${to} replayed ${report.records} records, expected ${expected}`);
  return { target: to, dryRun, records: report.records, ops: report.ops, recordsPerSecond: report.records / timed.seconds, ...timed };
}

/** The restored directory holds the last value written (after a full restore) and every base key. */
async function checkRestored(out: string, setup: RestoreSource, full: boolean): Promise<void> {
  const engine = await LsmEngine.open(out, { readOnly: true });
  try {
    const lastKey = Buffer.from(`key:${String((setup.records - 1) % restoreBaseKeys).padStart(8, '0')}`);
    const record = engine.get(metadataKey(0, lastKey));
    if (record === undefined) throw new Error(`restored directory ${out} lacks ${lastKey.toString()}`);
    if (full && !stringValue(record).equals(setup.lastValue)) throw new Error(`restored directory ${out} holds an older value of ${lastKey.toString()}`);
  } finally {
    await engine.close();
  }
}

// ---------------------------------------------------------------- helpers

/** Runs a tool with --json, returning its parsed report; throws with its stderr when it did not exit 0. */
async function runJson<Report>(tool: string, run: (io: ToolIo) => Promise<ToolResult<Report>>): Promise<{ report: Report }> {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const result = await run({ stdout, stderr });
  if (result.exitCode !== 0 || result.report === undefined) throw new Error(`silt ${tool} exited ${result.exitCode}: ${stderr.text}${stdout.text.slice(0, 2000)}`);
  return { report: result.report };
}

/** Keeps what is written (the tools' --json reports are small). */
class TextSink extends Writable {
  text = '';
  isTTY = false;

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** Starts measuring; the function returned gives wall and CPU seconds since. */
function startTimer(): () => Timed {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
}

/** A seeded generator (LCG), so every run writes the same data. */
function rng(state: number): () => number {
  let value = state >>> 0;
  return () => {
    value = (Math.imul(value, 1664525) + 1013904223) >>> 0;
    return value / 2 ** 32;
  };
}

/** `length` random printable ASCII bytes (6 bits of entropy each: LZ4 barely shrinks them). */
function randomText(next: () => number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let bits = 0;
  let pool = 0;
  for (let index = 0; index < length; index++) {
    if (bits < 6) {
      pool = (next() * 2 ** 32) >>> 0;
      bits = 32;
    }
    bytes[index] = alphabet[pool & 63]!;
    pool >>>= 6;
    bits -= 6;
  }
  return bytes;
}

function formatMb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

// ---------------------------------------------------------------- report

function formatReport(report: Report): string {
  const { build, restoreSetup } = report;
  const lines = [
    `silt offline tools, ${report.machine.nproc} CPUs, ${report.machine.cpuModel}, Node ${report.machine.node}, load average ${report.machine.loadAverage.map((value) => value.toFixed(1)).join(' ')}`,
    '',
    `data directory: ${build.keys} keys (${build.strings} strings, ${build.collections} collections), ${formatMb(build.diskBytes)} on disk (${formatMb(build.segmentBytes)} in ${build.segments} segments, ${formatMb(build.walBytes)} WAL), built in ${build.seconds.toFixed(1)} s`,
    '',
    ...table(
      ['tool', 'seconds', 'CPU s', 'MB/s (dir)', 'MB/s (output)', 'keys/s'],
      [
        ...report.verify.map((result) => [`verify (${result.passes})`, result.seconds.toFixed(2), result.cpuSeconds.toFixed(2), result.mbPerSecond.toFixed(1), '', result.keysPerSecond === null ? '' : formatNumber(result.keysPerSecond)]),
        ...report.dump.map((result) => [
          `dump --format ${result.format} (${formatMb(result.outputBytes)})`,
          result.seconds.toFixed(2),
          result.cpuSeconds.toFixed(2),
          result.mbPerSecond.toFixed(1),
          result.outputMbPerSecond.toFixed(1),
          formatNumber(result.keysPerSecond),
        ]),
      ],
    ),
    '',
    `restore: checkpoint of ${restoreSetup.baseKeys} keys (seq ${restoreSetup.checkpointSequence}), then ${restoreSetup.records} records (${restoreSetup.archiveFiles} archived WAL files, ${formatMb(restoreSetup.archiveBytes)}), written in ${restoreSetup.seconds.toFixed(1)} s`,
    '',
    ...table(
      ['restore --to', 'records', 'seconds', 'CPU s', 'records/s'],
      report.restore.map((result) => [`${result.target}${result.dryRun ? ' --dry-run' : ''}`, String(result.records), result.seconds.toFixed(2), result.cpuSeconds.toFixed(2), formatNumber(result.recordsPerSecond)]),
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/** Right-aligned but for the first column. */
function table(header: string[], body: string[][]): string[] {
  return formatTable(header, body, header.map((_, column) => column > 0));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:tools: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
