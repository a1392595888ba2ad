// How long pipelined requests wait when many clients pipeline at once, and
// what that does to a light client beside them: silt against redis-server in
// the same run. redis-benchmark cannot say this: its latency for a pipeline
// is the time to the pipeline's first reply, recorded for every request in
// it, so a server that starts many pipelines and finishes them late looks
// fast. This client records both the first reply and the last.
//
//   npm run bench:pipeline-latency -- [--clients 50] [--pipeline 16] [--requests 20000] [--servers silt,redis] [--json]
//
// Per server, a fresh data directory and these runs, one after the other:
// `mylist` gets 1,000 elements of 100 bytes (unmeasured); then --clients
// connections each send --pipeline `LRANGE mylist 0 599` at a time, the
// next batch when the last reply of the one before is in, until --requests
// are answered, while one more connection sends `GET light` one at a time
// (pipeline 1); then the same with `LRANGE mylist 0 99` and 5x the
// requests. Reported: ops/s of the pipelines, the time from sending a batch
// to its first reply and to its last (p50, p99, max, ms), and the light
// client's p50/p99/max. This process runs the clients, so it shares the
// machine with the server as redis-benchmark does.
//
// A connection burst, once a run is a quarter done: --clients new
// connections open at once, each sends PING; reported is the time from the
// burst's start to each PONG (p50, max). A busy server takes a burst of
// connections one per event-loop iteration (libuv), so this is what an
// application's reconnecting pool waits for.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNumber, formatTable, freePort, parseFlags, positiveInteger, progress, terminate, writeReport } from './bench-support.js';

const host = '127.0.0.1';
const redisServerPath = '/usr/bin/redis-server';
const siltMainPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'service', 'main.js');
const listLength = 1000;
const elementBytes = 100;
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 15_000;
/** Longest wait for one exchange's reply (a server that answers something shorter must not hang the bench). */
const exchangeTimeoutMs = 60_000;

interface Args {
  clients: number;
  pipeline: number;
  requests: number;
  servers: ('silt' | 'redis')[];
  json: boolean;
  jsonFile: string | undefined;
}

interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

interface RunResult {
  server: string;
  test: string;
  opsPerSecond: number;
  firstReplyMs: Percentiles;
  lastReplyMs: Percentiles;
  lightMs: Percentiles;
  /** From a burst of new connections' start to each one's PONG. */
  burstMs: Percentiles;
}

function usage(): string {
  return (
    'Usage: node dist/tools/bench/pipeline-latency.js [--clients N] [--pipeline N] [--requests N] [--servers silt,redis] [--json] [--json-file FILE]\n' +
    'Pipelined LRANGE 0 599 and LRANGE 0 99 from N clients beside one unpipelined GET client; first- and last-reply latency of each batch,\n' +
    'and the time N new connections opened at once (a quarter into each run) wait for a PING\'s reply.\n'
  );
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { clients: 50, pipeline: 16, requests: 20_000, servers: ['silt', 'redis'], json: false, jsonFile: undefined };
  parseFlags(
    argv,
    {
      '--clients': (value) => (args.clients = positiveInteger(value(), '--clients')),
      '--pipeline': (value) => (args.pipeline = positiveInteger(value(), '--pipeline')),
      '--requests': (value) => (args.requests = positiveInteger(value(), '--requests')),
      '--servers': (value) => {
        const names = value().split(',');
        for (const name of names) if (name !== 'silt' && name !== 'redis') throw new Error(`Cannot parse --servers: unknown server "${name}"`);
        args.servers = names as Args['servers'];
      },
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
    },
    usage,
  );
  return args;
}

/** One RESP command as bytes. */
function command(...words: string[]): Buffer {
  return Buffer.from(`*${words.length}\r\n${words.map((word) => `$${Buffer.byteLength(word)}\r\n${word}\r\n`).join('')}`);
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      // A reset later closes the socket, which the exchange waiting on it reports.
      socket.off('error', reject).on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Sends `request` and resolves with the bytes received once `expected` have come (a reply of known size). */
function exchange(socket: net.Socket, request: Buffer, expected: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onClose = (): void => {
      clearTimeout(timer);
      reject(new Error(`connection closed after ${received} of ${expected} reply bytes`));
    };
    const timer = setTimeout(() => {
      socket.off('data', onData);
      socket.off('close', onClose);
      reject(new Error(`no reply within ${exchangeTimeoutMs} ms: ${received} of ${expected} bytes (${JSON.stringify(Buffer.concat(chunks).toString('latin1', 0, 80))})`));
    }, exchangeTimeoutMs);
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < expected) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(request);
  });
}

function percentiles(samples: number[]): Percentiles {
  samples.sort((a, b) => a - b);
  const at = (fraction: number): number => samples[Math.min(samples.length - 1, Math.floor(samples.length * fraction))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: samples[samples.length - 1] ?? Number.NaN };
}

/** Opens `count` connections at once, each sending PING: the time from the start to each PONG, ms. */
async function connectionBurst(port: number, count: number): Promise<number[]> {
  const start = performance.now();
  return Promise.all(
    Array.from({ length: count }, async () => {
      const socket = await connect(port);
      try {
        await exchange(socket, command('PING'), '+PONG\r\n'.length);
        return performance.now() - start;
      } finally {
        socket.destroy();
      }
    }),
  );
}

/** The pipelined clients and the light one, against a server whose `mylist` is filled. */
async function run(server: string, port: number, test: string, stop: number, args: Args, requests: number): Promise<RunResult> {
  const lrange = command('LRANGE', 'mylist', '0', String(stop));
  const probe = await connect(port);
  // Every reply to this LRANGE has the same size: learn it once, then count bytes.
  const replyBytes = (await exchange(probe, lrange, expectedArrayBytes(stop + 1))).length;
  if (replyBytes !== expectedArrayBytes(stop + 1)) throw new Error(`${server} answered LRANGE 0 ${stop} with ${replyBytes} bytes, not ${expectedArrayBytes(stop + 1)}`);
  const getReplyBytes = '$-1\r\n'.length;
  const batch = Buffer.concat(Array.from({ length: args.pipeline }, () => lrange));
  const first: number[] = [];
  const last: number[] = [];
  const light: number[] = [];
  let issued = 0;
  let running = true;
  // Its failure is reported once the pipelines are done (held here, not left unhandled meanwhile).
  let burst: Promise<number[] | Error> | undefined;
  const lightLoop = (async (): Promise<void> => {
    const get = command('GET', 'light');
    while (running) {
      const sent = performance.now();
      await exchange(probe, get, getReplyBytes);
      light.push(performance.now() - sent);
    }
  })().catch((error: unknown) => {
    running = false;
    return error; // reported after the pipelines, which the same failure ends
  });
  // Every connection answered once before the clock starts: the server accepts one connection per
  // event-loop iteration (libuv), and a burst of accepts is not what this measures.
  const sockets = await Promise.all(
    Array.from({ length: args.clients }, async () => {
      const socket = await connect(port);
      await exchange(socket, command('PING'), '+PONG\r\n'.length);
      return socket;
    }),
  );
  const started = performance.now();
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          socket.once('close', () => reject(new Error(`${server} closed a pipelining connection`)));
          let sent = 0;
          let received = 0;
          let sawFirst = false;
          const send = (): void => {
            if (issued >= requests) return resolve();
            issued += args.pipeline;
            burst ??= issued >= requests / 4 ? connectionBurst(port, args.clients).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error)))) : undefined;
            sent = performance.now();
            received = 0;
            sawFirst = false;
            socket.write(batch);
          };
          socket.on('data', (chunk: Buffer) => {
            const now = performance.now();
            if (!sawFirst) first.push(now - sent);
            sawFirst = true;
            received += chunk.length;
            if (received < replyBytes * args.pipeline) return;
            last.push(now - sent);
            send();
          });
          send();
        }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  running = false;
  const burstMs = await (burst ?? Promise.resolve([]));
  if (burstMs instanceof Error) throw burstMs;
  const lightError = await lightLoop;
  if (lightError !== undefined) throw lightError;
  for (const socket of [...sockets, probe]) socket.destroy();
  return { server, test, opsPerSecond: issued / seconds, firstReplyMs: percentiles(first), lastReplyMs: percentiles(last), lightMs: percentiles(light), burstMs: percentiles(burstMs) };
}

/** The bytes of the reply to an LRANGE of `count` elements of elementBytes. */
function expectedArrayBytes(count: number): number {
  const element = `$${elementBytes}\r\n`.length + elementBytes + 2;
  return `*${count}\r\n`.length + count * element;
}

async function fillList(port: number): Promise<void> {
  const socket = await connect(port);
  const element = 'x'.repeat(elementBytes);
  const pushes = Buffer.concat(Array.from({ length: listLength }, () => command('RPUSH', 'mylist', element)));
  // Each reply is an integer line; wait for the last one (`:1000\r\n`).
  await new Promise<void>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.endsWith(`:${listLength}\r\n`)) resolve();
    });
    socket.write(pushes);
  });
  socket.destroy();
}

interface Server {
  name: string;
  port: number;
  dir: string;
  child: ChildProcess;
}

async function startServer(name: 'silt' | 'redis'): Promise<Server> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), `silt-bench-pipeline-${name}-`));
  const child =
    name === 'silt'
      ? spawn(process.execPath, [siltMainPath, '--port', String(port), '--bind', host, '--dir', dir, '--appendfsync', 'everysec', '--loglevel', 'warn'], { stdio: 'ignore' })
      : spawn(redisServerPath, ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir, '--logfile', '', '--daemonize', 'no'], { stdio: 'ignore' });
  const server = { name, port, dir, child };
  const deadline = performance.now() + readyTimeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    const socket = await connect(port).catch(() => undefined);
    if (socket !== undefined) {
      const pong = (await exchange(socket, command('PING'), 1)).toString('latin1');
      socket.destroy();
      if (pong.startsWith('+PONG')) return server;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stopServer(server);
  throw new Error(`Cannot start ${name} on port ${port}: no +PONG within ${readyTimeoutMs} ms (exit ${child.exitCode ?? child.signalCode})`);
}

async function stopServer(server: Server): Promise<void> {
  await terminate(server.child, stopTimeoutMs);
  rmSync(server.dir, { recursive: true, force: true });
}

function formatReport(args: Args, results: RunResult[]): string {
  const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(1));
  const header = ['server', 'test', 'ops/s', 'first p50', 'first p99', 'first max', 'last p50', 'last p99', 'last max', 'light p50', 'light p99', 'light max', 'burst p50', 'burst max'];
  const body = results.map((result) => [
    result.server,
    result.test,
    formatNumber(Math.round(result.opsPerSecond)),
    ...[result.firstReplyMs, result.lastReplyMs, result.lightMs].flatMap((p) => [ms(p.p50), ms(p.p99), ms(p.max)]),
    ms(result.burstMs.p50),
    ms(result.burstMs.max),
  ]);
  const lines = [
    `pipeline latency: ${args.clients} clients x pipeline ${args.pipeline}, LRANGE on a ${listLength}-element list of ${elementBytes}-byte elements, beside one GET client at pipeline 1, and a burst of ${args.clients} new connections sending PING; latencies in ms`,
    '',
    ...formatTable(header, body, [false, false, ...Array.from({ length: 12 }, () => true)]),
  ];
  return `${lines.join('\n')}\n`;
}

/** The server running now: killed, and its directory removed, if this process is interrupted. */
let current: Server | undefined;

function installCleanup(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (current !== undefined) {
        current.child.kill('SIGKILL');
        rmSync(current.dir, { recursive: true, force: true });
      }
      process.exit(130);
    });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  installCleanup();
  const results: RunResult[] = [];
  for (const name of args.servers) {
    progress(`${name}: starting\n`);
    const server = (current = await startServer(name));
    try {
      await fillList(server.port);
      for (const [test, stop, scale] of [['LRANGE_600', 599, 1], ['LRANGE_100', 99, 5]] as const) {
        progress(`${name}: ${test}\n`);
        results.push(await run(name, server.port, test, stop, args, args.requests * scale));
      }
    } finally {
      await stopServer(server);
      current = undefined;
    }
  }
  writeReport({ clients: args.clients, pipeline: args.pipeline, requests: args.requests, results }, args, () => formatReport(args, results));
}

main().catch((error: unknown) => {
  process.stderr.write(`pipeline-latency: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
