// Benchmark: silt's RESP server against a reference redis-server with the
// same fsync policy, and against a server that does no work at all
// (tools/bench/null-resp-server.ts, the ceiling of any Node server here), all
// driven by redis-benchmark (docs/bench.md, "RESP server").
//
// For each fsync policy (everysec, always) the three servers are started
// fresh, side by side, each on an ephemeral port with a fresh data directory
// under os.tmpdir() (deleted at the end):
//   silt    node dist/service/main.js --port P --bind 127.0.0.1 --dir TMP --appendfsync POLICY --loglevel warn
//   redis   /usr/bin/redis-server --port P --bind 127.0.0.1 --save '' --appendonly yes --appendfsync POLICY --dir TMP
//   null    node dist/tools/bench/null-resp-server.js --port P
// Then, for each pipeline depth and each workload, redis-benchmark runs
// against silt, Redis and the null server in turn (interleaved, so that a
// change in machine load hits all three alike):
//   redis-benchmark -p P -c 50 -n N -d 100 -r 1000000 -P DEPTH --csv -t WORKLOAD
// Nothing is flushed between workloads: GET reads what SET wrote, RPOP pops
// what LPUSH pushed, SPOP what SADD added, on every server alike.
//
// LRANGE_100/600 are run as the custom commands `LRANGE mylist 0 99` / `0 599`,
// the exact requests redis-benchmark's own lrange tests send, after an
// unmeasured prefill (`-t lpush`, 1000 elements into `mylist`): `-t lrange_100`
// would first run an LPUSH test of N requests inside the same process, whose
// server CPU could not be told apart from LRANGE's. LRANGE and MSET run a
// fraction of N (workloadSpecs, requestScale), as each of their requests
// is 10-600 times the work of a SET.
//
// Per run: ops/s and p50/p99 latency (redis-benchmark's CSV), and the server's
// CPU seconds per million operations: utime+stime (+cutime+cstime, which
// count Redis's reaped AOF-rewrite children) from /proc/PID/stat before and
// after the redis-benchmark process, divided by N. CPU s per million ops is
// also CPU µs per op. After each run the bench waits until the server is idle
// (background flushes and compactions finished, at most settleMsMax) so that
// they do not overlap the next run; that CPU is recorded as settleCpuSeconds.
// The load average before each run is recorded too: on a 2-core machine
// redis-benchmark competes with the server for the CPUs. For silt, the run
// also reports its event loop's longest stall ("loop max silt": INFO stats'
// eventloop_delay_max_usec, after a CONFIG RESETSTAT before the run), the
// wait every one of its clients shared at least once.
//
// A run that has not finished after --run-timeout seconds (default 120) is
// cut short: redis-benchmark is killed, and the operations done are taken
// from the server's INFO total_commands_processed (before and after), so
// ops/s and CPU per op are still reported but latencies are not. This keeps
// a pathological workload (SPOP draining a set in silt, for one) from
// holding up the whole run for hours.
//
// Run:  npm run bench:resp [-- --requests N | --quick] [--only set,get] [--policies everysec,always]
//           [--pipelines 1,16] [--servers silt,redis,null] [--json] [--json-file out.json]
//           [--run-timeout S] [--silt-cpu-prof DIR]
// SILT_BENCH_REQUESTS=N sets --requests; --quick is 20,000.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { exitOf, formatNumber, formatRatio, formatTable, freePort, parseFlags, positiveInteger, progress, terminate, writeReport } from './bench-support.js';

// ---------------------------------------------------------------- constants

const redisServerPath = '/usr/bin/redis-server';
const redisBenchmarkPath = '/usr/bin/redis-benchmark';
const host = '127.0.0.1';
const clients = 50;
const valueBytes = 100;
const keyspaceKeys = 1_000_000;
/** Requests per run when not given: long enough for several seconds against Redis. */
const requestsPipelined = 1_000_000;
const requestsUnpipelined = 200_000;
const requestsQuick = 20_000;
/** No run is shorter than this many requests, whatever requestScale says. */
const requestsMin = 1000;
const runTimeoutSecondsDefault = 120;
/** Elements pushed into `mylist` before each LRANGE run (unmeasured). */
const lrangePrefill = 1000;
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 15_000;
/** Idle detection after a run: CPU sampled every settleSampleMs; idle = at most settleIdleTicks per sample, twice in a row. */
const settleSampleMs = 250;
const settleIdleTicks = 1;
const settleMsMax = 60_000;
/** Bytes of a child's output kept for error messages. */
const outputTailBytes = 4096;

const workloads = ['set', 'get', 'incr', 'mset', 'lpush', 'rpop', 'sadd', 'hset', 'zadd', 'spop', 'lrange_100', 'lrange_600'] as const;
type Workload = (typeof workloads)[number];

interface WorkloadSpec {
  /** redis-benchmark arguments naming the test (a -t name, or a custom command after the options). */
  args: string[];
  /** Fraction of --requests this workload runs. */
  requestScale: number;
  /** Push lrangePrefill elements into `mylist` first, unmeasured. */
  prefillList: boolean;
  /** Issue-3 workloads (strings) or issue-4 ones (collections): which targets apply. */
  family: 'strings' | 'collections';
}

const workloadSpecs: Record<Workload, WorkloadSpec> = {
  set: { args: ['-t', 'set'], requestScale: 1, prefillList: false, family: 'strings' },
  get: { args: ['-t', 'get'], requestScale: 1, prefillList: false, family: 'strings' },
  incr: { args: ['-t', 'incr'], requestScale: 1, prefillList: false, family: 'strings' },
  mset: { args: ['-t', 'mset'], requestScale: 0.2, prefillList: false, family: 'strings' },
  lpush: { args: ['-t', 'lpush'], requestScale: 1, prefillList: false, family: 'collections' },
  rpop: { args: ['-t', 'rpop'], requestScale: 1, prefillList: false, family: 'collections' },
  sadd: { args: ['-t', 'sadd'], requestScale: 1, prefillList: false, family: 'collections' },
  hset: { args: ['-t', 'hset'], requestScale: 1, prefillList: false, family: 'collections' },
  zadd: { args: ['-t', 'zadd'], requestScale: 1, prefillList: false, family: 'collections' },
  spop: { args: ['-t', 'spop'], requestScale: 1, prefillList: false, family: 'collections' },
  lrange_100: { args: ['lrange', 'mylist', '0', '99'], requestScale: 0.1, prefillList: true, family: 'collections' },
  lrange_600: { args: ['lrange', 'mylist', '0', '599'], requestScale: 0.02, prefillList: true, family: 'collections' },
};

const serverNames = ['silt', 'redis', 'null'] as const;
type ServerName = (typeof serverNames)[number];
const policies = ['everysec', 'always', 'no'] as const;
type Policy = (typeof policies)[number];

// ---------------------------------------------------------------- types

interface Args {
  /** Requests per run; undefined: requestsPipelined / requestsUnpipelined by depth. */
  requests: number | undefined;
  only: Workload[];
  policies: Policy[];
  pipelines: number[];
  servers: ServerName[];
  json: boolean;
  jsonFile: string | undefined;
  runTimeoutSeconds: number;
  /** Run silt under `node --cpu-prof`, profiles written here. */
  siltCpuProfDir: string | undefined;
}

/** A server process the bench started. */
interface Server {
  name: ServerName;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Its data directory, removed when it stops (the null server has none). */
  dir: string | undefined;
}

/** What redis-benchmark's CSV line says about one test (NaN latencies when the run timed out). */
interface BenchmarkLine {
  test: string;
  opsPerSec: number;
  avgMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** redis-benchmark's result, or 'timeout' if it was killed after runTimeoutSeconds. */
type BenchmarkOutcome = BenchmarkLine | 'timeout';

/** One (server, policy, pipeline, workload) run. */
interface RunResult extends BenchmarkLine {
  server: ServerName;
  policy: Policy;
  pipeline: number;
  workload: Workload;
  /** Requests asked of redis-benchmark. */
  requests: number;
  /** Cut short after runTimeoutSeconds: `operations` came from INFO, latencies are NaN (null in JSON). */
  timedOut: boolean;
  /** Operations the server did: `requests`, or the INFO count when timed out. */
  operations: number;
  wallSeconds: number;
  /** Server CPU (user + system, with reaped children) during the redis-benchmark run. */
  cpuSeconds: number;
  cpuSecondsPerMillionOps: number;
  /** After the run, until the server was idle: background work the run caused. */
  settleSeconds: number;
  settleCpuSeconds: number;
  /** os.loadavg() just before the run: [1, 5, 15 minutes]. */
  loadAverage: number[];
  /** silt: the event loop's longest and p99 stall during the run, ms (INFO stats' eventloop_delay_*); undefined for the others. */
  loopMaxMs: number | undefined;
  loopP99Ms: number | undefined;
}

interface Row {
  policy: Policy;
  pipeline: number;
  workload: Workload;
  opsPerSec: Partial<Record<ServerName, number>>;
  p50Ms: Partial<Record<ServerName, number>>;
  p99Ms: Partial<Record<ServerName, number>>;
  cpuSecondsPerMillionOps: Partial<Record<ServerName, number>>;
  /** silt's longest event-loop stall during the run, ms. */
  loopMaxMs: number | undefined;
  /** silt / redis ops/s (higher is better for silt). */
  opsRatio: number | undefined;
  /** silt / redis CPU per op (lower is better for silt). */
  cpuRatio: number | undefined;
}

interface Target {
  name: string;
  goal: string;
  actual: string;
  met: boolean;
}

interface Machine {
  nproc: number;
  cpuModel: string;
  node: string;
  platform: string;
  redisVersion: string;
  clockTicksPerSecond: number;
}

// ---------------------------------------------------------------- entry

const here = path.dirname(fileURLToPath(import.meta.url));
const siltMainPath = path.resolve(here, '../../service/main.js');
const nullServerPath = path.resolve(here, 'null-resp-server.js');
const clockTicksPerSecond = readClockTicks();

/** Every child process still running and every temp dir still present, for cleanup on error or signal. */
const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), process.env);
  installCleanup();
  const machine = describeMachine();
  const results = await runAll(args);
  const rows = buildRows(results);
  const targets = checkTargets(rows);
  writeReport({ machine, settings: settingsOf(args), rows, targets, results }, args, () => formatReport(machine, args, results, rows, targets));
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): Args {
  const fromEnv = env['SILT_BENCH_REQUESTS'];
  const args: Args = {
    requests: fromEnv === undefined || fromEnv === '' ? undefined : positiveInteger(fromEnv, 'SILT_BENCH_REQUESTS'),
    only: [...workloads],
    policies: ['everysec', 'always'],
    pipelines: [1, 16],
    servers: [...serverNames],
    json: false,
    jsonFile: undefined,
    runTimeoutSeconds: runTimeoutSecondsDefault,
    siltCpuProfDir: undefined,
  };
  parseFlags(
    argv,
    {
      '--requests': (value) => (args.requests = positiveInteger(value(), '--requests')),
      '--quick': () => (args.requests = requestsQuick),
      '--only': (value) => (args.only = value().split(',').map((name) => oneOf(name, workloads, 'workload'))),
      '--policies': (value) => (args.policies = value().split(',').map((name) => oneOf(name, policies, 'policy'))),
      '--pipelines': (value) => (args.pipelines = value().split(',').map((text) => positiveInteger(text, '--pipelines'))),
      '--servers': (value) => (args.servers = value().split(',').map((name) => oneOf(name, serverNames, 'server'))),
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
      '--run-timeout': (value) => (args.runTimeoutSeconds = positiveInteger(value(), '--run-timeout')),
      '--silt-cpu-prof': (value) => (args.siltCpuProfDir = path.resolve(value())),
    },
    usage,
  );
  return args;
}

function usage(): string {
  return (
    'Usage: node dist/tools/bench/resp.js [--requests N | --quick] [--only w1,w2] [--policies everysec,always]\n' +
    '         [--pipelines 1,16] [--servers silt,redis,null] [--json] [--json-file FILE] [--run-timeout S] [--silt-cpu-prof DIR]\n' +
    `Workloads: ${workloads.join(', ')}\n` +
    `Requests per run: ${requestsUnpipelined} at pipeline 1, ${requestsPipelined} pipelined (--quick: ${requestsQuick}; ` +
    'env SILT_BENCH_REQUESTS), times the workload scale (mset 0.2, lrange_100 0.1, lrange_600 0.02)\n'
  );
}

function oneOf<T extends string>(text: string, allowed: readonly T[], what: string): T {
  const found = allowed.find((name) => name === text);
  if (found === undefined) throw new Error(`Cannot parse ${what} "${text}": expected one of ${allowed.join(', ')}`);
  return found;
}

function requestsFor(args: Args, pipeline: number, workload: Workload): number {
  const base = args.requests ?? (pipeline === 1 ? requestsUnpipelined : requestsPipelined);
  return Math.max(requestsMin, Math.round(base * workloadSpecs[workload].requestScale));
}

function settingsOf(args: Args): Record<string, unknown> {
  const requests = Object.fromEntries(args.pipelines.map((pipeline) => [`P${pipeline}`, Object.fromEntries(args.only.map((workload) => [workload, requestsFor(args, pipeline, workload)]))]));
  return { clients, valueBytes, keyspaceKeys, policies: args.policies, pipelines: args.pipelines, workloads: args.only, servers: args.servers, requests, lrangePrefill, runTimeoutSeconds: args.runTimeoutSeconds };
}

// ---------------------------------------------------------------- the runs

async function runAll(args: Args): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const total = args.policies.length * args.pipelines.length * args.only.length * args.servers.length;
  for (const policy of args.policies) {
    const servers = await startServers(args, policy);
    try {
      for (const pipeline of args.pipelines) {
        for (const workload of args.only) {
          for (const server of servers) {
            const requests = requestsFor(args, pipeline, workload);
            progress(`[${results.length + 1}/${total}] ${policy} P${pipeline} ${workload} ${server.name} (${requests} requests) ...`);
            const result = await measure(server, { policy, pipeline, workload, requests }, args.runTimeoutSeconds);
            progress(` ${describeResult(result)}\n`);
            results.push(result);
          }
        }
      }
    } finally {
      await Promise.all(servers.map(stopServer));
    }
  }
  return results;
}

interface RunSpec {
  policy: Policy;
  pipeline: number;
  workload: Workload;
  requests: number;
}

/** One redis-benchmark run against one server, with the server's CPU around it. */
async function measure(server: Server, run: RunSpec, timeoutSeconds: number): Promise<RunResult> {
  const spec = workloadSpecs[run.workload];
  if (spec.prefillList) {
    await runRedisBenchmark(server, ['-t', 'lpush'], lrangePrefill, 16, timeoutSeconds);
    await settle(server.pid);
  }
  const loadAverage = os.loadavg();
  if (server.name === 'silt') await resetStats(server);
  const commandsBefore = await commandsProcessed(server);
  const ticksBefore = cpuTicks(server.pid);
  const started = performance.now();
  const outcome = await runRedisBenchmark(server, spec.args, run.requests, run.pipeline, timeoutSeconds);
  const wallSeconds = (performance.now() - started) / 1000;
  const cpu = (cpuTicks(server.pid) - ticksBefore) / clockTicksPerSecond;
  const timedOut = outcome === 'timeout';
  const operations = timedOut ? (await commandsProcessed(server)) - commandsBefore : run.requests;
  const loop = server.name === 'silt' ? await loopDelays(server) : undefined;
  const settled = await settle(server.pid);
  const line = timedOut ? timedOutLine(operations / wallSeconds) : outcome;
  return {
    server: server.name,
    ...run,
    ...line,
    timedOut,
    operations,
    wallSeconds,
    cpuSeconds: cpu,
    cpuSecondsPerMillionOps: (cpu / operations) * 1e6,
    settleSeconds: settled.seconds,
    settleCpuSeconds: settled.cpuSeconds,
    loadAverage,
    loopMaxMs: loop?.maxMs,
    loopP99Ms: loop?.p99Ms,
  };
}

function timedOutLine(opsPerSec: number): BenchmarkLine {
  return { test: 'timeout', opsPerSec, avgMs: Number.NaN, p50Ms: Number.NaN, p95Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN };
}

function describeResult(result: RunResult): string {
  const timedOut = result.timedOut ? ` (timed out after ${result.operations} operations)` : '';
  const p99 = result.timedOut ? '' : `, p99 ${formatMs(result.p99Ms)} ms`;
  return `${formatNumber(result.opsPerSec)} ops/s${p99}, ${formatCpu(result.cpuSecondsPerMillionOps)} CPU-s/Mop${timedOut}`;
}

/**
 * Runs redis-benchmark against a server and returns its CSV line, or
 * 'timeout' if it ran longer than timeoutSeconds (it is killed then).
 * @throws Error if redis-benchmark fails, as it does on any error reply
 */
async function runRedisBenchmark(server: Server, testArgs: string[], requests: number, pipeline: number, timeoutSeconds: number): Promise<BenchmarkOutcome> {
  // NB: redis-benchmark reads options only before a custom command; anything after it is the command's arguments.
  const options = ['-h', host, '-p', String(server.port), '-c', String(clients), '-n', String(requests), '-d', String(valueBytes), '-r', String(keyspaceKeys), '-P', String(pipeline), '--csv'];
  const child = spawnTracked(redisBenchmarkPath, [...options, ...testArgs]);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.process.kill('SIGKILL');
  }, timeoutSeconds * 1000);
  const code = await exitOf(child.process);
  clearTimeout(timer);
  if (timedOut) return 'timeout';
  if (code !== 0) throw new Error(`Cannot run redis-benchmark ${testArgs.join(' ')} against ${server.name}: it exited with ${code}: ${child.output().trim()}`);
  return parseCsv(child.stdout());
}

/** The last line of redis-benchmark --csv output (7.0: test, rps, avg, min, p50, p95, p99, max). */
function parseCsv(text: string): BenchmarkLine {
  const lines = text.trim().split('\n').map((line) => line.trim().replace(/^"|"$/g, '').split('","'));
  const header = lines[0] ?? [];
  const last = lines[lines.length - 1] ?? [];
  const column = (name: string): number => {
    const index = header.indexOf(name);
    const value = Number(last[index]);
    if (index < 0 || lines.length < 2 || !Number.isFinite(value)) throw new Error(`Cannot parse redis-benchmark output: no ${name} in ${JSON.stringify(text)}`);
    return value;
  };
  return {
    test: last[0] ?? '',
    opsPerSec: column('rps'),
    avgMs: column('avg_latency_ms'),
    p50Ms: column('p50_latency_ms'),
    p95Ms: column('p95_latency_ms'),
    p99Ms: column('p99_latency_ms'),
    maxMs: column('max_latency_ms'),
  };
}

// ---------------------------------------------------------------- servers

async function startServers(args: Args, policy: Policy): Promise<Server[]> {
  const servers: Server[] = [];
  try {
    for (const name of args.servers) {
      const port = await freePort();
      const server = name === 'silt' ? startSilt(port, policy, args.siltCpuProfDir) : name === 'redis' ? startRedis(port, policy) : startNull(port);
      servers.push(server);
      await waitReady(server);
    }
    return servers;
  } catch (error) {
    await Promise.all(servers.map(stopServer));
    throw error;
  }
}

function startSilt(port: number, policy: Policy, cpuProfDir: string | undefined): Server {
  const dir = makeTempDir('silt');
  const profile = cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfDir];
  const args = [...profile, siltMainPath, '--port', String(port), '--bind', host, '--dir', dir, '--appendfsync', policy, '--loglevel', 'warn'];
  return { name: 'silt', port, dir, ...started(spawnTracked(process.execPath, args)) };
}

function startRedis(port: number, policy: Policy): Server {
  const dir = makeTempDir('redis');
  const args = ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'yes', '--appendfsync', policy, '--dir', dir, '--logfile', '', '--daemonize', 'no'];
  return { name: 'redis', port, dir, ...started(spawnTracked(redisServerPath, args)) };
}

function startNull(port: number): Server {
  return { name: 'null', port, dir: undefined, ...started(spawnTracked(process.execPath, [nullServerPath, '--port', String(port), '--bind', host])) };
}

function started(tracked: Tracked): { pid: number; child: ChildProcess } {
  if (tracked.process.pid === undefined) throw new Error(`Cannot start ${tracked.process.spawnfile}: ${tracked.output()}`);
  return { pid: tracked.process.pid, child: tracked.process };
}

function makeTempDir(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `silt-bench-resp-${name}-`));
  liveDirs.add(dir);
  return dir;
}

/** Waits until the server answers PING with +PONG (silt answers -LOADING while it opens its data directory). */
async function waitReady(server: Server): Promise<void> {
  const deadline = performance.now() + readyTimeoutMs;
  while (performance.now() < deadline) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) break;
    if ((await ping(server.port)) === '+PONG') return;
    await sleep(50);
  }
  throw new Error(`Cannot start ${server.name} on port ${server.port}: no +PONG within ${readyTimeoutMs} ms (exit ${server.child.exitCode ?? server.child.signalCode})`);
}

/** The first reply line to a PING, or undefined if the connection failed. */
async function ping(port: number): Promise<string | undefined> {
  const reply = await request(port, '*1\r\n$4\r\nPING\r\n', (text) => text.includes('\r\n'));
  return reply?.slice(0, reply.indexOf('\r\n'));
}

/** INFO's total_commands_processed (0 for the null server, which has no INFO; it never times out anyway). */
async function commandsProcessed(server: Server): Promise<number> {
  if (server.name === 'null') return 0;
  // A bulk reply: wait for the line we need and the end of that line.
  const reply = await request(server.port, '*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n', (text) => /total_commands_processed:\d+\r\n/.test(text));
  const match = /total_commands_processed:(\d+)/.exec(reply ?? '');
  if (match === null) throw new Error(`Cannot read total_commands_processed from ${server.name}: ${JSON.stringify(reply)}`);
  return Number(match[1]);
}

/** CONFIG RESETSTAT (silt: its event-loop delays start again). */
async function resetStats(server: Server): Promise<void> {
  const reply = await request(server.port, '*2\r\n$6\r\nCONFIG\r\n$9\r\nRESETSTAT\r\n', (text) => text.includes('\r\n'));
  if (reply !== '+OK\r\n') throw new Error(`CONFIG RESETSTAT failed on ${server.name}: ${JSON.stringify(reply)}`);
}

/** silt's event-loop stalls since the last RESETSTAT (INFO stats' eventloop_delay_max_usec and _p99_usec), ms. */
async function loopDelays(server: Server): Promise<{ maxMs: number; p99Ms: number }> {
  const reply = await request(server.port, '*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n', (text) => /eventloop_delay_max_usec:\d+\r\n/.test(text));
  const max = /eventloop_delay_max_usec:(\d+)/.exec(reply ?? '');
  const p99 = /eventloop_delay_p99_usec:(\d+)/.exec(reply ?? '');
  if (max === null || p99 === null) throw new Error(`Cannot read the event-loop delays from ${server.name}: ${JSON.stringify(reply)}`);
  return { maxMs: Number(max[1]) / 1000, p99Ms: Number(p99[1]) / 1000 };
}

/** Sends one raw request on a fresh connection and returns what came back once `complete` says so, or undefined on failure. */
function request(port: number, text: string, complete: (received: string) => boolean): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    let received = '';
    const done = (reply: string | undefined): void => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(5000, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (complete(received)) done(received);
    });
  });
}

/** SIGTERM (silt drains and syncs, and writes its CPU profile), SIGKILL after stopTimeoutMs; then removes the data directory. */
async function stopServer(server: Server): Promise<void> {
  await terminate(server.child, stopTimeoutMs);
  if (server.dir !== undefined) {
    rmSync(server.dir, { recursive: true, force: true });
    liveDirs.delete(server.dir);
  }
}

// ---------------------------------------------------------------- processes

interface Tracked {
  process: ChildProcess;
  stdout(): string;
  /** The tail of stdout and stderr, for error messages. */
  output(): string;
}

/** Spawns a child whose output is collected and which is killed if the bench dies. */
function spawnTracked(command: string, args: string[]): Tracked {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  liveChildren.add(child);
  child.on('exit', () => liveChildren.delete(child));
  let stdout = '';
  let tail = '';
  const keep = (text: string): void => {
    tail = (tail + text).slice(-outputTailBytes);
  };
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    // redis-benchmark's CSV is small; a server's log is only kept as a tail.
    if (stdout.length < 1024 * 1024) stdout += text;
    keep(text);
  });
  child.stderr!.setEncoding('utf8').on('data', keep);
  child.on('error', (error) => keep(`\n${error.message}`));
  return { process: child, stdout: () => stdout, output: () => tail };
}

/** On SIGINT/SIGTERM or any exit, kill what is still running and remove the temp dirs. */
function installCleanup(): void {
  const cleanup = (): void => {
    for (const child of liveChildren) child.kill('SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
    liveDirs.clear();
  };
  process.on('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
}

// ---------------------------------------------------------------- CPU

function readClockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** CPU ticks a process used so far: utime + stime + cutime + cstime (proc(5), fields 14-17). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces; field 3 (state) is index 0.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
}

/** Waits until the process is idle (or settleMsMax passes); returns how long that took and the CPU used meanwhile. */
async function settle(pid: number): Promise<{ seconds: number; cpuSeconds: number }> {
  const started = performance.now();
  const first = cpuTicks(pid);
  let previous = first;
  let quietSamples = 0;
  while (quietSamples < 2 && performance.now() - started < settleMsMax) {
    await sleep(settleSampleMs);
    const now = cpuTicks(pid);
    quietSamples = now - previous <= settleIdleTicks ? quietSamples + 1 : 0;
    previous = now;
  }
  return { seconds: (performance.now() - started) / 1000, cpuSeconds: (previous - first) / clockTicksPerSecond };
}

// ---------------------------------------------------------------- report

function describeMachine(): Machine {
  const cpuLine = readFileSync('/proc/cpuinfo', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('model name'));
  return {
    nproc: os.availableParallelism(),
    cpuModel: cpuLine === undefined ? (os.cpus()[0]?.model ?? 'unknown') : cpuLine.slice(cpuLine.indexOf(':') + 1).trim(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    redisVersion: execFileSync(redisServerPath, ['--version'], { encoding: 'utf8' }).trim(),
    clockTicksPerSecond,
  };
}

function buildRows(results: RunResult[]): Row[] {
  const rows: Row[] = [];
  for (const result of results) {
    let row = rows.find((candidate) => candidate.policy === result.policy && candidate.pipeline === result.pipeline && candidate.workload === result.workload);
    if (row === undefined) {
      row = { policy: result.policy, pipeline: result.pipeline, workload: result.workload, opsPerSec: {}, p50Ms: {}, p99Ms: {}, cpuSecondsPerMillionOps: {}, loopMaxMs: undefined, opsRatio: undefined, cpuRatio: undefined };
      rows.push(row);
    }
    row.opsPerSec[result.server] = result.opsPerSec;
    row.p50Ms[result.server] = result.p50Ms;
    row.p99Ms[result.server] = result.p99Ms;
    row.cpuSecondsPerMillionOps[result.server] = result.cpuSecondsPerMillionOps;
    if (result.server === 'silt') row.loopMaxMs = result.loopMaxMs;
  }
  for (const row of rows) {
    row.opsRatio = ratio(row.opsPerSec.silt, row.opsPerSec.redis);
    row.cpuRatio = ratio(row.cpuSecondsPerMillionOps.silt, row.cpuSecondsPerMillionOps.redis);
  }
  return rows;
}

function ratio(numerator: number | undefined, denominator: number | undefined): number | undefined {
  return numerator === undefined || denominator === undefined || denominator <= 0 ? undefined : numerator / denominator;
}

/** The targets of issues 3 and 4, for the rows this run has. */
function checkTargets(rows: Row[]): Target[] {
  const targets: Target[] = [];
  const find = (policy: Policy, pipeline: number, workload: Workload): Row | undefined =>
    rows.find((row) => row.policy === policy && row.pipeline === pipeline && row.workload === workload);
  const opsTarget = (policy: Policy, workload: Workload, goal: number): void => {
    const value = find(policy, 16, workload)?.opsRatio;
    if (value !== undefined) targets.push({ name: `P16 ${policy} ${workload.toUpperCase()} ops/s`, goal: `>= ${goal}x redis`, actual: formatRatio(value), met: value >= goal });
  };
  opsTarget('everysec', 'set', 0.7);
  opsTarget('everysec', 'get', 0.7);
  opsTarget('always', 'set', 1.0);
  for (const row of rows) {
    if (row.pipeline !== 1 || workloadSpecs[row.workload].family !== 'strings') continue;
    const name = `P1 ${row.policy} ${row.workload.toUpperCase()}`;
    if (row.cpuRatio !== undefined) targets.push({ name: `${name} CPU/op`, goal: '<= 1.5x redis', actual: formatRatio(row.cpuRatio), met: row.cpuRatio <= 1.5 });
    const p99 = row.p99Ms.silt;
    if (p99 !== undefined) targets.push({ name: `${name} p99`, goal: '< 2 ms', actual: `${formatMs(p99)} ms`, met: p99 < 2 });
  }
  for (const workload of workloads) if (workloadSpecs[workload].family === 'collections') opsTarget('everysec', workload, 0.5);
  return targets;
}

function formatReport(machine: Machine, args: Args, results: RunResult[], rows: Row[], targets: Target[]): string {
  const lines: string[] = [];
  const requests = args.pipelines.map((pipeline) => `P${pipeline}: ${requestsFor(args, pipeline, 'set')}`).join(', ');
  lines.push(`silt RESP benchmark: redis-benchmark -c ${clients} -d ${valueBytes} -r ${keyspaceKeys}; requests per run ${requests} (mset x0.2, lrange_100 x0.1, lrange_600 x0.02)`);
  lines.push(`machine: ${machine.nproc} CPUs, ${machine.cpuModel}, node ${machine.node}, ${machine.platform}; ${machine.redisVersion.split(' ').slice(0, 3).join(' ')}`);
  lines.push('CPU = server CPU seconds per million operations (= µs per op); latencies in ms; null = Node server doing no work; loop max = silt\'s longest event-loop stall in the run');
  lines.push('');
  const header = ['policy', 'P', 'test', 'silt ops/s', 'redis ops/s', 'null ops/s', 'silt/redis', 'p50 silt', 'p50 redis', 'p99 silt', 'p99 redis', 'CPU silt', 'CPU redis', 'CPU null', 'CPU silt/redis', 'loop max silt'];
  const body = rows.map((row) => [
    row.policy,
    String(row.pipeline),
    row.workload.toUpperCase(),
    formatMaybe(row.opsPerSec.silt, formatNumber),
    formatMaybe(row.opsPerSec.redis, formatNumber),
    formatMaybe(row.opsPerSec.null, formatNumber),
    formatMaybe(row.opsRatio, formatRatio),
    formatMaybe(row.p50Ms.silt, formatMs),
    formatMaybe(row.p50Ms.redis, formatMs),
    formatMaybe(row.p99Ms.silt, formatMs),
    formatMaybe(row.p99Ms.redis, formatMs),
    formatMaybe(row.cpuSecondsPerMillionOps.silt, formatCpu),
    formatMaybe(row.cpuSecondsPerMillionOps.redis, formatCpu),
    formatMaybe(row.cpuSecondsPerMillionOps.null, formatCpu),
    formatMaybe(row.cpuRatio, formatRatio),
    formatMaybe(row.loopMaxMs, formatMs),
  ]);
  lines.push(...formatTable(header, body, header.map((_, column) => column >= 3)));
  const timedOut = results.filter((result) => result.timedOut);
  if (timedOut.length > 0) {
    lines.push('');
    lines.push(`Timed out after ${args.runTimeoutSeconds} s (ops/s and CPU from INFO, no latencies): ${timedOut.map((result) => `${result.policy} P${result.pipeline} ${result.workload} ${result.server}`).join('; ')}`);
  }
  if (targets.length > 0) {
    lines.push('');
    lines.push(...formatTable(['target', 'goal', 'actual', 'result'], targets.map((target) => [target.name, target.goal, target.actual, target.met ? 'PASS' : 'MISS']), [false, false, true, false]));
  }
  return `${lines.join('\n')}\n`;
}

function formatMaybe(value: number | undefined, format: (value: number) => string): string {
  return value === undefined ? '-' : format(value);
}

function formatMs(value: number): string {
  if (Number.isNaN(value)) return 'timeout';
  return value.toFixed(value < 10 ? 2 : 1);
}

function formatCpu(value: number): string {
  return value.toFixed(1);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
