// Benchmark: large collections (issue 4, docs/bench.md, "Large collections").
// A hash grows to --max fields and a sorted set to --max members (default
// 1,000,000 each) in steps of 10k, 30k, 100k, 300k and 1M; at each size a
// fixed number of point operations is timed, to show that their cost stays
// flat (O(log n) in the engine, never a walk or a rewrite of the collection):
//
//   hash:  HSET of new fields, HSET overwrites, HGET of random existing
//          fields, HGET misses;
//   zset:  ZADD of new members, ZADD score updates (moves the `Z` entry),
//          ZSCORE of random members, ZSCORE misses, and, separately, ZRANK,
//          which is O(min(rank, N - rank)) by design in an ordered key space
//          (it counts entries from both ends, as Kvrocks does), so it grows
//          with N and is timed over far fewer operations (--rank-ops, at
//          most --rank-seconds per size).
//
// In process, single threaded: a Keyspace on an LsmEngine over a fresh
// temporary directory, opened as service/resp/server.ts opens it (engine
// defaults: 64 MiB memtable and block cache, the keyspace compaction filter,
// appendfsync everysec), driven through the same lib/keyspace functions the
// RESP command handlers call (hashSet, hashGet, SortedSetWriter, SortedSet).
// No RESP parsing or socket is measured. Writes are issued 64 at a time
// before their durability promises are awaited, as a pipelining client's
// would be. The ops of one kind run in --rounds rounds (default 5); µs/op is
// the wall time of the fastest round, those awaits included (the median
// round is in the JSON), while p50/p99 time each operation's synchronous part
// over all rounds (reads, staging, memtable insert: what blocks the event
// loop). Before the timed operations at each size the memtable is flushed and
// compactions are let settle, so reads at every size come from segments
// through the block cache; beyond the cache (64 MiB) they cost a page-cache
// read, the cache effect that log n growth in the table may show.
//
// HSET new and ZADD new run after the other point operations on their
// collection and grow it from N to N + ops (the others see exactly N). Engine keys touched per
// operation are counted by wrapping the engine: point reads (get), entries
// stepped by iterators, and keys written in batches.
//
// Finally the hash and the sorted set are deleted (DEL: one metadata delete,
// O(1)), and the segment bytes are measured before and after compactRange,
// which runs the keyspace compaction filter and drops the dead subkeys.
//
// Run:      npm run bench:collections [-- --max 1000000] [--ops 20000] [--rank-ops 50] [--rank-seconds 30] [--rounds 5]
//           [--block-cache-mb 64] [--json] [--json-file out.json] [--progress]

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Engine } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import type { WriteBatch } from '../../lib/engine/write-batch.js';
import { hashGet, hashLength, hashSet } from '../../lib/keyspace/hash.js';
import { Keyspace, keyspaceCompactionFilter, type KeyspaceContext } from '../../lib/keyspace/keyspace.js';
import { SortedSet, SortedSetWriter } from '../../lib/keyspace/zset.js';
import { describeCpu, formatTable, parseFlags, positiveInteger, progress, writeReport } from './bench-support.js';

// ---------------------------------------------------------------- constants

const sizeSteps = [10_000, 30_000, 100_000, 300_000, 1_000_000];
const maxDefault = 1_000_000;
/** Timed operations of each kind at each size. */
const opsDefault = 20_000;
/** ZRANK walks O(min(rank, N - rank)) entries: a few dozen calls are enough and bounded in time. */
const rankOpsDefault = 50;
/** ...or as many as fit in this many seconds per size, but at least budgetOpsMin. */
const rankSecondsDefault = 30;
const budgetOpsMin = 5;
const roundsDefault = 5;
/** Fields (members) per HSET (ZADD) while growing between sizes; growth is not timed. */
const growthChunk = 1000;
/** Writes issued before their durability promises are awaited (a pipelining client). */
const writesInFlight = 64;
const valueBytes = 32;
/** Field and member ids are written as this many decimal digits. */
const idDigits = 10;
/** Bound on waiting for background work to settle, ms. */
const settleMsMax = 600_000;
const seed = 0x5eed;
const hashKey = Buffer.from('bench:hash');
const zsetKey = Buffer.from('bench:zset');
const db = 0;

// ---------------------------------------------------------------- types

interface Args {
  max: number;
  ops: number;
  rankOps: number;
  /** Time budget of the ZRANK calls at one size, s. */
  rankSeconds: number;
  /** Block cache, MiB; undefined: the engine's (and the server's) default. */
  blockCacheMb: number | undefined;
  /** Rounds the ops of one kind are split into; the fastest counts. */
  rounds: number;
  json: boolean;
  /** Also write the JSON report to this file (the table still goes to stdout). */
  jsonFile: string | undefined;
  progress: boolean;
}

/** One timed operation kind at one size. */
interface OpResult {
  name: string;
  ops: number;
  /** Wall time of the fastest round, including awaiting write durability, µs per op. */
  usPerOp: number;
  /** The same for the median round. */
  medianRoundUsPerOp: number;
  /** Synchronous part of one op, µs. */
  p50Us: number;
  p99Us: number;
  /** Engine keys per op: point reads, iterator entries stepped, keys written. */
  reads: number;
  steps: number;
  writes: number;
}

interface SizeResult {
  /** Fields (members) when the timed operations start. */
  size: number;
  ops: OpResult[];
  /** Untimed growth to this size, both collections, s. */
  growSeconds: number;
  /** Segment bytes once settled, before the timed operations. */
  segmentBytes: number;
  /** Segments per level then ("0/2/7"). */
  levels: string;
  blockCacheHits: number;
  blockCacheMisses: number;
}

interface Deletion {
  key: string;
  members: number;
  /** Time for DEL to return (the batch applied and written under everysec), ms. */
  delMs: number;
  /** Engine keys the DEL wrote. */
  delWrites: number;
  segmentBytesBefore: number;
  segmentBytesAfter: number;
  /** flush + compactRange + settle after the DEL, s. */
  compactSeconds: number;
}

interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  platform: string;
  tmpdir: string;
  /** 1, 5, 15 minute load averages at the start and the end: other jobs on the machine show here. */
  loadStart: number[];
  loadEnd: number[];
}

interface Counts {
  reads: number;
  steps: number;
  writes: number;
}

// ---------------------------------------------------------------- entry

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const loadStart = os.loadavg();
  const started = performance.now();
  const result = await run(args);
  const machine = describeMachine(loadStart);
  const report = { machine, max: args.max, ops: args.ops, rankOps: args.rankOps, rankSeconds: args.rankSeconds, blockCacheMb: args.blockCacheMb ?? null, rounds: args.rounds, wallSeconds: (performance.now() - started) / 1000, ...result };
  writeReport(report, args, () => formatReport(machine, args, result.sizes, result.deletions));
}

function parseArgs(argv: string[]): Args {
  const args: Args = { max: maxDefault, ops: opsDefault, rankOps: rankOpsDefault, rankSeconds: rankSecondsDefault, blockCacheMb: undefined, rounds: roundsDefault, json: false, jsonFile: undefined, progress: process.stderr.isTTY };
  parseFlags(
    argv,
    {
      '--max': (value) => (args.max = positiveInteger(value(), '--max')),
      '--ops': (value) => (args.ops = positiveInteger(value(), '--ops')),
      '--rank-ops': (value) => (args.rankOps = positiveInteger(value(), '--rank-ops')),
      '--rank-seconds': (value) => (args.rankSeconds = positiveInteger(value(), '--rank-seconds')),
      '--block-cache-mb': (value) => (args.blockCacheMb = positiveInteger(value(), '--block-cache-mb')),
      '--rounds': (value) => (args.rounds = positiveInteger(value(), '--rounds')),
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
      '--progress': () => (args.progress = true),
    },
    () => 'Usage: node dist/tools/bench/collections.js [--max N] [--ops N] [--rank-ops N] [--rank-seconds S] [--block-cache-mb N] [--rounds N] [--json] [--json-file FILE] [--progress]\n',
  );
  if (args.max < growthChunk) throw new Error(`Cannot run with --max ${args.max}: it must be at least ${growthChunk}`);
  return args;
}

/** The step sizes below `max`, then `max` itself. */
function sizesUpTo(max: number): number[] {
  const sizes = sizeSteps.filter((size) => size < max);
  sizes.push(max);
  return sizes;
}

// ---------------------------------------------------------------- run

/** The open engine and keyspace, the command context, and what the operations touched. */
class Bench {
  readonly engine: LsmEngine;
  readonly keyspace: Keyspace;
  readonly counts: Counts;
  readonly ctx: KeyspaceContext;
  readonly #pending: Promise<unknown>[] = [];
  readonly #progress: boolean;

  private constructor(engine: LsmEngine, keyspace: Keyspace, counts: Counts, progress: boolean) {
    this.engine = engine;
    this.keyspace = keyspace;
    this.counts = counts;
    this.#progress = progress;
    const pending = this.#pending;
    this.ctx = {
      db,
      // Nothing here expires: one clock reading serves every command.
      nowMs: Date.now(),
      write(batch: WriteBatch): void {
        counts.writes += batch.length;
        pending.push(engine.write(batch));
      },
    };
  }

  static async open(dir: string, progress: boolean, blockCacheMb: number | undefined): Promise<Bench> {
    const engine = await LsmEngine.open(dir, {
      syncPolicy: 'everysec',
      compactionFilter: keyspaceCompactionFilter(),
      ...(blockCacheMb === undefined ? {} : { blockCacheBytes: blockCacheMb * 2 ** 20 }),
    });
    const counts: Counts = { reads: 0, steps: 0, writes: 0 };
    const keyspace = await Keyspace.open(countingEngine(engine, counts));
    return new Bench(engine, keyspace, counts, progress);
  }

  /** Awaits the writes issued so far. */
  async drain(): Promise<void> {
    await Promise.all(this.#pending.splice(0));
  }

  /** Awaits the writes once `writesInFlight` are pending. */
  async maybeDrain(): Promise<void> {
    if (this.#pending.length >= writesInFlight) await this.drain();
  }

  resetCounts(): void {
    this.counts.reads = 0;
    this.counts.steps = 0;
    this.counts.writes = 0;
  }

  /** Flushes the memtable (and compacts everything when asked), then waits until no flush or compaction runs (bounded). */
  async settle(compact: boolean): Promise<void> {
    await this.drain();
    await this.engine.flush();
    if (compact) await this.engine.compactRange();
    const deadline = performance.now() + settleMsMax;
    for (;;) {
      const stats = this.engine.stats();
      if (stats.compactionsRunning === 0 && stats.immutableMemtables === 0) return;
      if (performance.now() > deadline) throw new Error(`Cannot settle: background work still running after ${settleMsMax} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  segmentBytes(): number {
    return this.engine.stats().levels.reduce((total, level) => total + level.bytes, 0);
  }

  say(text: string): void {
    progress(`${text}\n`, this.#progress);
  }
}

/**
 * The engine as the keyspace sees it, counting what the keyspace asks of it:
 * point reads and iterator steps (writes are counted in the context's
 * write()). Everything else is the engine's own, bound to the engine itself:
 * its private fields are not reachable through a Proxy receiver.
 */
function countingEngine(engine: LsmEngine, counts: Counts): Engine {
  return new Proxy(engine, {
    get(target, property) {
      if (property === 'get') {
        return (key: Buffer, options?: Parameters<LsmEngine['get']>[1]) => {
          counts.reads++;
          return target.get(key, options);
        };
      }
      if (property === 'iteratorSync') {
        return (options?: Parameters<LsmEngine['iteratorSync']>[0]) => {
          const iterator = target.iteratorSync(options);
          return {
            next: () => {
              const entry = iterator.next();
              if (entry !== undefined) counts.steps++;
              return entry;
            },
            close: () => iterator.close(),
          };
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as Engine;
}

async function run(args: Args): Promise<{ sizes: SizeResult[]; deletions: Deletion[] }> {
  const sizes = sizesUpTo(args.max);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-collections-'));
  try {
    const bench = await Bench.open(path.join(dir, 'db'), args.progress, args.blockCacheMb);
    try {
      return await runSizes(bench, args, sizes);
    } finally {
      await bench.engine.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runSizes(bench: Bench, args: Args, sizes: number[]): Promise<{ sizes: SizeResult[]; deletions: Deletion[] }> {
  // Field and member ids in a random order: those at positions below the current size are present,
  // the next ones absent (misses, then the new inserts).
  const order = permutation(args.max + args.ops * (sizes.length + 1));
  const random = rng(seed + 1);
  const results: SizeResult[] = [];
  let grown = 0;
  for (const step of sizes) {
    // The new inserts of the step before may already have taken the collections past this step.
    const size = Math.max(step, grown);
    const growStart = performance.now();
    bench.say(`growing to ${formatCount(size)} ...`);
    await growHash(bench, order, grown, size, random);
    await growZset(bench, order, grown, size, random);
    await bench.settle(false);
    const growSeconds = (performance.now() - growStart) / 1000;
    const segmentBytes = bench.segmentBytes();
    const levels = bench.engine.stats().levels.map((level) => level.segments).join('/');
    const cacheBefore = bench.engine.stats().blockCache;
    bench.say(`${formatCount(size)}: timing ...`);
    const existing = (): number => order[Math.floor(random() * size)]!;
    const absent = (index: number): number => order[size + (index % args.ops)]!;
    const { keyspace, ctx } = bench;
    const ops: OpResult[] = [];
    ops.push(await timeOps(bench, 'HSET overwrite', args.ops, args.rounds, () => hashSet(keyspace, ctx, hashKey, [fieldName(existing()), makeValue(random)])));
    ops.push(await timeOps(bench, 'HGET', args.ops, args.rounds, () => mustBeDefined(hashGet(keyspace, db, hashKey, fieldName(existing()), ctx.nowMs))));
    ops.push(await timeOps(bench, 'HGET miss', args.ops, args.rounds, (index) => mustBeUndefined(hashGet(keyspace, db, hashKey, fieldName(absent(index)), ctx.nowMs))));
    ops.push(await timeOps(bench, 'HSET new', args.ops, args.rounds, (index) => hashSet(keyspace, ctx, hashKey, [fieldName(order[size + index]!), makeValue(random)])));
    ops.push(await timeOps(bench, 'ZADD update', args.ops, args.rounds, () => zadd(bench, memberName(existing()), randomScore(random))));
    ops.push(await timeOps(bench, 'ZSCORE', args.ops, args.rounds, () => mustBeDefined(readZset(bench).score(memberName(existing())))));
    ops.push(await timeOps(bench, 'ZSCORE miss', args.ops, args.rounds, (index) => mustBeUndefined(readZset(bench).score(memberName(absent(index))))));
    ops.push(await timeOps(bench, 'ZADD new', args.ops, args.rounds, (index) => zadd(bench, memberName(order[size + index]!), randomScore(random))));
    const zrank = (): unknown => {
      const found = readZset(bench).rank(memberName(existing()), false);
      return found instanceof Promise ? found.then(mustBeDefined) : mustBeDefined(found);
    };
    ops.push(await timeOps(bench, 'ZRANK', args.rankOps, 1, zrank, args.rankSeconds * 1000));
    grown = size + args.ops;
    const cacheAfter = bench.engine.stats().blockCache;
    results.push({ size, ops, growSeconds, segmentBytes, levels, blockCacheHits: cacheAfter.hits - cacheBefore.hits, blockCacheMisses: cacheAfter.misses - cacheBefore.misses });
    bench.say(`${formatCount(size)}: ${ops.map((op) => `${op.name} ${op.usPerOp.toFixed(2)} µs`).join(', ')}`);
  }
  const deletions = [await deleteAndCompact(bench, hashKey, grown), await deleteAndCompact(bench, zsetKey, grown)];
  return { sizes: results, deletions };
}

/**
 * Runs `op` `ops` times in `rounds` rounds, timing each call's synchronous
 * part, and each round as a whole including write durability; the fastest
 * round is the µs/op reported (the machine is shared: a slow round says more
 * about the neighbours than about silt). With a budget, stops once it is
 * spent (after at least budgetOpsMin ops).
 */
async function timeOps(bench: Bench, name: string, ops: number, rounds: number, op: (index: number) => unknown, budgetMs = Infinity): Promise<OpResult> {
  await bench.drain();
  bench.resetCounts();
  const samples = new Float64Array(ops);
  const roundUs: number[] = [];
  let index = 0;
  const deadline = performance.now() + budgetMs;
  let outOfTime = false;
  for (let round = 0; round < rounds && !outOfTime; round++) {
    const end = Math.round((ops * (round + 1)) / rounds);
    if (end === index) continue;
    const start = performance.now();
    const first = index;
    for (; index < end; index++) {
      const before = performance.now();
      const result = op(index);
      samples[index] = performance.now() - before;
      // ZRANK answers a promise only on an engine without a synchronous iterator (not LsmEngine).
      if (result instanceof Promise) await result;
      await bench.maybeDrain();
      if (index + 1 >= budgetOpsMin && performance.now() > deadline) {
        outOfTime = true;
        index++;
        break;
      }
    }
    await bench.drain();
    roundUs.push(((performance.now() - start) * 1000) / (index - first));
  }
  const done = index;
  const timed = samples.subarray(0, done).sort();
  roundUs.sort((a, b) => a - b);
  const { reads, steps, writes } = bench.counts;
  return {
    name,
    ops: done,
    usPerOp: roundUs[0]!,
    medianRoundUsPerOp: roundUs[Math.floor(roundUs.length / 2)]!,
    p50Us: timed[Math.floor(done * 0.5)]! * 1000,
    p99Us: timed[Math.min(done - 1, Math.floor(done * 0.99))]! * 1000,
    reads: reads / done,
    steps: steps / done,
    writes: writes / done,
  };
}

/** Adds fields order[from..to) to the hash, `growthChunk` per HSET. */
async function growHash(bench: Bench, order: Uint32Array, from: number, to: number, random: () => number): Promise<void> {
  for (let first = from; first < to; first += growthChunk) {
    const pairs: Buffer[] = [];
    for (let index = first; index < Math.min(to, first + growthChunk); index++) pairs.push(fieldName(order[index]!), makeValue(random));
    hashSet(bench.keyspace, bench.ctx, hashKey, pairs);
    await bench.maybeDrain();
  }
  await bench.drain();
  const length = hashLength(bench.keyspace, db, hashKey, bench.ctx.nowMs);
  if (length !== Math.max(from, to)) throw new Error(`Cannot grow the hash: HLEN is ${length}, expected ${Math.max(from, to)}`);
}

/** Adds members order[from..to) to the sorted set, `growthChunk` per ZADD. */
async function growZset(bench: Bench, order: Uint32Array, from: number, to: number, random: () => number): Promise<void> {
  for (let first = from; first < to; first += growthChunk) {
    const writer = SortedSetWriter.load(bench.keyspace, db, zsetKey, bench.ctx.nowMs);
    for (let index = first; index < Math.min(to, first + growthChunk); index++) writer.add(memberName(order[index]!), randomScore(random));
    writer.commit(bench.ctx);
    await bench.maybeDrain();
  }
  await bench.drain();
  const size = readZset(bench).size;
  if (size !== Math.max(from, to)) throw new Error(`Cannot grow the sorted set: ZCARD is ${size}, expected ${Math.max(from, to)}`);
}

function readZset(bench: Bench): SortedSet {
  const zset = SortedSet.read(bench.keyspace, db, zsetKey, bench.ctx.nowMs);
  if (zset === undefined) throw new Error('Cannot read the sorted set: it is absent');
  return zset;
}

/** ZADD key score member, as the command handler does it. */
function zadd(bench: Bench, member: Buffer, score: number): void {
  const writer = SortedSetWriter.load(bench.keyspace, db, zsetKey, bench.ctx.nowMs);
  writer.add(member, score);
  writer.commit(bench.ctx);
}

/** DEL of a whole collection (as the DEL handler does it), then segment bytes before and after compactRange with the keyspace filter. */
async function deleteAndCompact(bench: Bench, key: Buffer, members: number): Promise<Deletion> {
  bench.say(`DEL ${key.toString()} (${formatCount(members)} members), compactRange ...`);
  await bench.settle(true);
  const segmentBytesBefore = bench.segmentBytes();
  bench.resetCounts();
  const start = performance.now();
  const batch = bench.keyspace.begin();
  if (!bench.keyspace.stageDelete(batch, bench.keyspace.load(db, key, bench.ctx.nowMs))) throw new Error(`Cannot delete "${key.toString()}": it is absent`);
  bench.keyspace.commit(bench.ctx, batch);
  await bench.drain();
  const delMs = performance.now() - start;
  const delWrites = bench.counts.writes;
  const compactStart = performance.now();
  await bench.settle(true);
  const compactSeconds = (performance.now() - compactStart) / 1000;
  return { key: key.toString(), members, delMs, delWrites, segmentBytesBefore, segmentBytesAfter: bench.segmentBytes(), compactSeconds };
}

function mustBeDefined(value: unknown): void {
  if (value === undefined) throw new Error('A read of a present field or member found nothing');
}

function mustBeUndefined(value: unknown): void {
  if (value !== undefined) throw new Error('A read of an absent field or member found something');
}

// ---------------------------------------------------------------- data

/** Mulberry32: a small seeded PRNG; returns numbers in [0, 1). */
function rng(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded random permutation of [0, n) (Fisher-Yates). */
function permutation(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let index = 0; index < n; index++) order[index] = index;
  const random = rng(seed);
  for (let index = n - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    const held = order[index]!;
    order[index] = order[other]!;
    order[other] = held;
  }
  return order;
}

/** A fresh buffer per call: the engine may keep what it is given, as it keeps a decoded request's arguments. */
function fieldName(id: number): Buffer {
  return Buffer.from(`field:${String(id).padStart(idDigits, '0')}`, 'latin1');
}

function memberName(id: number): Buffer {
  return Buffer.from(`member:${String(id).padStart(idDigits, '0')}`, 'latin1');
}

function makeValue(random: () => number): Buffer {
  const value = Buffer.allocUnsafe(valueBytes);
  for (let index = 0; index < valueBytes; index++) value[index] = 97 + Math.floor(random() * 26);
  return value;
}

/** Scores with three decimals in [0, 1e6). */
function randomScore(random: () => number): number {
  return Math.floor(random() * 1e9) / 1000;
}

// ---------------------------------------------------------------- report

function describeMachine(loadStart: number[]): Machine {
  return { nproc: os.availableParallelism(), cpuModel: describeCpu(), node: process.version, platform: `${os.platform()} ${os.release()}`, tmpdir: os.tmpdir(), loadStart, loadEnd: os.loadavg() };
}

function formatReport(machine: Machine, args: Args, sizes: SizeResult[], deletions: Deletion[]): string {
  const lines: string[] = [];
  const load = (values: number[]): string => values.map((value) => value.toFixed(2)).join(' ');
  const cache = args.blockCacheMb === undefined ? 'default 64 MiB block cache' : `${args.blockCacheMb} MiB block cache`;
  lines.push(
    `silt large-collection benchmark (in process: Keyspace on LsmEngine, appendfsync everysec, ${cache}): up to ${formatCount(args.max)} fields and members, ` +
      `${formatCount(args.ops)} ops per kind and size in ${args.rounds} rounds (ZRANK: ${args.rankOps}, at most ${args.rankSeconds} s), ${valueBytes}-byte hash values`,
  );
  lines.push(`machine: ${machine.nproc} CPUs, ${machine.cpuModel}, node ${machine.node}, ${machine.platform}; load average ${load(machine.loadStart)} at the start, ${load(machine.loadEnd)} at the end`);
  lines.push('');
  const names = sizes[0]!.ops.map((op) => op.name);
  const first = sizes[0]!;
  const last = sizes[sizes.length - 1]!;
  const cost = (size: SizeResult, name: string): OpResult => size.ops.find((op) => op.name === name)!;
  const sizeHeaders = sizes.map((size) => formatCount(size.size));
  const right = sizes.map(() => true);
  lines.push(`µs per operation (wall time of the fastest of ${args.rounds} rounds, write durability included; ZRANK: one round):`);
  lines.push('');
  lines.push(
    ...formatTable(
      ['operation', ...sizeHeaders, `${formatCount(last.size)}/${formatCount(first.size)}`],
      names.map((name) => [name, ...sizes.map((size) => cost(size, name).usPerOp.toFixed(2)), `${(cost(last, name).usPerOp / cost(first, name).usPerOp).toFixed(2)}x`]),
      [false, ...right, true],
    ),
  );
  lines.push('');
  lines.push('p50 / p99 µs of the synchronous part of one operation:');
  lines.push('');
  lines.push(
    ...formatTable(
      ['operation', ...sizeHeaders],
      names.map((name) => [name, ...sizes.map((size) => `${cost(size, name).p50Us.toFixed(1)} / ${cost(size, name).p99Us.toFixed(1)}`)]),
      [false, ...right],
    ),
  );
  lines.push('');
  lines.push('Engine keys per operation, read (point reads + iterator entries) / written:');
  lines.push('');
  lines.push(
    ...formatTable(
      ['operation', ...sizeHeaders],
      names.map((name) => [name, ...sizes.map((size) => `${formatPerOp(cost(size, name).reads + cost(size, name).steps)} / ${formatPerOp(cost(size, name).writes)}`)]),
      [false, ...right],
    ),
  );
  lines.push('');
  lines.push(
    ...formatTable(
      ['size', 'growth s', 'segment MiB', 'segments per level', 'block cache hits', 'misses'],
      sizes.map((size) => [
        formatCount(size.size),
        size.growSeconds.toFixed(1),
        (size.segmentBytes / 2 ** 20).toFixed(1),
        size.levels,
        formatCount(size.blockCacheHits),
        formatCount(size.blockCacheMisses),
      ]),
      [false, true, true, true, true, true],
    ),
  );
  lines.push('');
  lines.push(
    ...formatTable(
      ['DEL', 'members', 'DEL ms', 'keys written', 'segment MiB before', 'after compactRange', 'compact s'],
      deletions.map((deletion) => [
        deletion.key,
        formatCount(deletion.members),
        deletion.delMs.toFixed(2),
        String(deletion.delWrites),
        (deletion.segmentBytesBefore / 2 ** 20).toFixed(1),
        (deletion.segmentBytesAfter / 2 ** 20).toFixed(2),
        deletion.compactSeconds.toFixed(1),
      ]),
      [false, true, true, true, true, true, true],
    ),
  );
  return `${lines.join('\n')}\n`;
}

/** 10k, 1M, else the number with separators. */
function formatCount(value: number): string {
  if (value >= 1_000_000 && value % 1_000_000 === 0) return `${value / 1_000_000}M`;
  if (value >= 1000 && value % 1000 === 0) return `${value / 1000}k`;
  return value.toLocaleString('en-US');
}

function formatPerOp(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
