// Benchmark: one very large value, SET and then GET, against silt and a
// reference redis-server in the same run: how long each takes, how long a
// second client waits for PING meanwhile (the stall the big request inflicts
// on everyone else), and how much memory the server takes for it.
//
// A server handles a large value in one piece: the RESP decoder receives it
// into one buffer as it arrives, and then the command runs to completion on
// the event loop (silt: the record header in front of it, the copy into the
// memtable, the WAL write and its CRC; Redis: one sds, the AOF write). Redis
// blocks its one thread for the same kind of work; the ratios say how much
// longer silt's stall is.
//
// Method: for each size and each server (a fresh one, temporary directory,
// `appendfsync everysec`; Redis with `--appendonly yes --save ''`): client
// A sends `SET big:<size>` with that many bytes (random, written in 1 MiB
// chunks as fast as the socket takes them) and waits for +OK; then `GET` and
// waits for the whole reply; then DEL. Client B sends PING after PING (each
// 5 ms after the previous reply) throughout; a phase's "longest PING wait" is
// the longest time a PING waited during it. Peak RSS is the
// server's VmHWM (/proc/PID/status) after the three commands, less its VmRSS
// when it was ready.
//
// Run: npm run build && node dist/tools/bench/big-value.js [--sizes 1,16,100,500] [--servers silt,redis] [--json]
//      (sizes in MiB; Redis's proto-max-bulk-len is 512 MiB)

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomFillSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describeCpu, formatRatio, formatTable, freePort, parseFlags, positiveInteger, progress, terminate, writeReport } from './bench-support.js';

const siltMainPath = fileURLToPath(new URL('../../service/main.js', import.meta.url));
const redisServerPath = '/usr/bin/redis-server';
const host = '127.0.0.1';
const MiB = 1024 * 1024;
const chunkBytes = MiB;
const pingGapMs = 5;
const readyTimeoutMs = 30_000;
const stopTimeoutMs = 30_000;
/** Redis's proto-max-bulk-len default: a larger SET is refused there. */
const sizeMaxMiB = 512;

const serverNames = ['silt', 'redis'] as const;
type ServerName = (typeof serverNames)[number];

interface Args {
  sizesMiB: number[];
  servers: ServerName[];
  json: boolean;
  jsonFile: string | undefined;
}

interface Measured {
  server: ServerName;
  sizeMiB: number;
  setSeconds: number;
  setPingWaitMsMax: number;
  getSeconds: number;
  getPingWaitMsMax: number;
  peakRssMiB: number;
}

interface Server {
  name: ServerName;
  port: number;
  dir: string;
  child: ChildProcess;
  baseRssMiB: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { sizesMiB: [1, 16, 100, 500], servers: [...serverNames], json: false, jsonFile: undefined };
  const usage = (): string =>
    'Usage: node dist/tools/bench/big-value.js [--sizes 1,16,100,500] [--servers silt,redis] [--json] [--json-file FILE]\nSizes in MiB, at most 512 (Redis\'s proto-max-bulk-len).';
  parseFlags(
    argv,
    {
      '--sizes': (value) => {
        args.sizesMiB = value()
          .split(',')
          .map((text) => positiveInteger(text, '--sizes'));
        if (args.sizesMiB.some((size) => size > sizeMaxMiB)) throw new Error(`--sizes: at most ${sizeMaxMiB} MiB`);
      },
      '--servers': (value) => {
        const names = value().split(',');
        for (const name of names) if (!(serverNames as readonly string[]).includes(name)) throw new Error(`--servers: unknown server "${name}" (${serverNames.join(', ')})`);
        args.servers = names as ServerName[];
      },
      '--json': () => {
        args.json = true;
      },
      '--json-file': (value) => {
        args.jsonFile = value();
      },
    },
    usage,
  );
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.servers.includes('redis') && !existsSync(redisServerPath)) {
    throw new Error(`Cannot run the reference: ${redisServerPath} is missing (apt-get install -y redis-server), or pass --servers silt`);
  }
  const value = Buffer.allocUnsafe(chunkBytes);
  randomFillSync(value);
  const results: Measured[] = [];
  for (const sizeMiB of args.sizesMiB) {
    for (const name of args.servers) {
      // A fresh server per size: no flush of an earlier size's value competes for the CPU, and the peak is this size's.
      const server = await startServer(name);
      try {
        progress(`${name}: SET and GET of ${sizeMiB} MiB ...`);
        const result = await measure(server, sizeMiB, value);
        results.push(result);
        progress(` SET ${result.setSeconds.toFixed(2)} s, GET ${result.getSeconds.toFixed(2)} s\n`);
      } finally {
        await stopServer(server);
      }
    }
  }
  const report = { machine: describeCpu(), node: process.version, results };
  writeReport(report, args, () => formatReport(args, results));
}

// ---------------------------------------------------------------- one size

async function measure(server: Server, sizeMiB: number, chunk: Buffer): Promise<Measured> {
  const client = await Client.connect(server.port);
  const pinger = await Client.connect(server.port);
  const pings = startPinging(pinger);
  try {
    const key = `big:${sizeMiB}`;
    const size = sizeMiB * MiB;

    let started = performance.now();
    pings.mark();
    const setReply = client.nextReply();
    client.socket.write(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${size}\r\n`);
    for (let sent = 0; sent < size; sent += chunk.length) {
      if (!client.socket.write(chunk.subarray(0, Math.min(chunk.length, size - sent)))) await once(client.socket, 'drain');
    }
    client.socket.write('\r\n');
    const set = await setReply;
    if (set.text !== '+OK') throw new Error(`Cannot SET ${sizeMiB} MiB on ${server.name}: ${set.text}`);
    const setSeconds = (performance.now() - started) / 1000;
    const setPingWaitMsMax = pings.longestSinceMark();

    started = performance.now();
    pings.mark();
    const getReply = client.nextReply();
    client.socket.write(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`);
    const get = await getReply;
    if (get.bulkBytes !== size) throw new Error(`Cannot GET ${sizeMiB} MiB from ${server.name}: ${get.text} (${get.bulkBytes} bytes)`);
    const getSeconds = (performance.now() - started) / 1000;
    const getPingWaitMsMax = pings.longestSinceMark();

    const delReply = client.nextReply();
    client.socket.write(`*2\r\n$3\r\nDEL\r\n$${key.length}\r\n${key}\r\n`);
    await delReply;
    return { server: server.name, sizeMiB, setSeconds, setPingWaitMsMax, getSeconds, getPingWaitMsMax, peakRssMiB: memoryMiB(server.child.pid!, 'VmHWM') - server.baseRssMiB };
  } finally {
    pings.stop();
    client.socket.destroy();
    pinger.socket.destroy();
  }
}

/**
 * PING after PING on `client`. longestSinceMark(): the longest wait of a
 * PING since mark(), counted from the later of its sending and the mark (a
 * PING sent before the mark waits partly for the phase before), a PING still
 * waiting included.
 */
function startPinging(client: Client): { mark(): void; longestSinceMark(): number; stop(): void } {
  let stopped = false;
  let sentAt = 0;
  let markedAt = 0;
  let longest = 0;
  const send = (): void => {
    if (stopped) return;
    sentAt = performance.now();
    client
      .nextReply()
      .then(() => {
        longest = Math.max(longest, performance.now() - Math.max(sentAt, markedAt));
        setTimeout(send, pingGapMs);
      })
      .catch(() => undefined);
    client.socket.write('*1\r\n$4\r\nPING\r\n');
  };
  send();
  return {
    mark: () => {
      markedAt = performance.now();
      longest = 0;
    },
    longestSinceMark: () => Math.max(longest, performance.now() - Math.max(sentAt, markedAt)),
    stop: () => {
      stopped = true;
    },
  };
}

/** A reply: its first line, and for a bulk its length in bytes (the bytes themselves are counted, not kept). */
interface Reply {
  text: string;
  bulkBytes: number;
}

/** A connection that reads replies one at a time, in order: simple lines and bulks (-1 for a nil). */
class Client {
  readonly #waiters: ((reply: Reply) => void)[] = [];
  #line = '';
  /** Bytes of the current bulk (and its \r\n) still to come, or -1 while reading a first line. */
  #bulkRemaining = -1;
  #bulkBytes = 0;
  #text = '';

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (data: Buffer) => this.#consume(data));
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  nextReply(): Promise<Reply> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #consume(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      if (this.#bulkRemaining >= 0) {
        const take = Math.min(this.#bulkRemaining, data.length - at);
        this.#bulkRemaining -= take;
        at += take;
        if (this.#bulkRemaining === 0) this.#settle();
        continue;
      }
      const lf = data.indexOf(0x0a, at);
      if (lf < 0) {
        this.#line += data.toString('latin1', at);
        return;
      }
      this.#line += data.toString('latin1', at, lf + 1);
      at = lf + 1;
      const line = this.#line.replace(/\r\n$/, '');
      this.#line = '';
      this.#text = line;
      if (line.startsWith('$') && line !== '$-1') {
        this.#bulkBytes = Number(line.slice(1));
        this.#bulkRemaining = this.#bulkBytes + 2;
      } else {
        this.#bulkBytes = 0;
        this.#settle();
      }
    }
  }

  #settle(): void {
    this.#bulkRemaining = -1;
    this.#waiters.shift()?.({ text: this.#text, bulkBytes: this.#bulkBytes });
  }
}

function once(socket: net.Socket, event: string): Promise<void> {
  return new Promise((resolve) => socket.once(event, () => resolve()));
}

// ---------------------------------------------------------------- servers

async function startServer(name: ServerName): Promise<Server> {
  const port = await freePort(host);
  const dir = mkdtempSync(path.join(os.tmpdir(), `silt-bench-big-${name}-`));
  const child =
    name === 'silt'
      ? spawn(process.execPath, [siltMainPath, '--port', String(port), '--bind', host, '--dir', dir, '--appendfsync', 'everysec', '--loglevel', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn(redisServerPath, ['--port', String(port), '--bind', host, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir, '--logfile', '', '--daemonize', 'no'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const server: Server = { name, port, dir, child, baseRssMiB: 0 };
  const deadline = performance.now() + readyTimeoutMs;
  while (performance.now() < deadline && child.exitCode === null) {
    if ((await tryPing(port)) === '+PONG') {
      server.baseRssMiB = memoryMiB(child.pid!, 'VmRSS');
      return server;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stopServer(server);
  throw new Error(`Cannot start ${name} on port ${port}: no +PONG within ${readyTimeoutMs} ms`);
}

async function tryPing(port: number): Promise<string | undefined> {
  try {
    const client = await Client.connect(port);
    const reply = client.nextReply();
    client.socket.write('*1\r\n$4\r\nPING\r\n');
    const { text } = await reply;
    client.socket.destroy();
    return text;
  } catch {
    return undefined;
  }
}

async function stopServer(server: Server): Promise<void> {
  await terminate(server.child, stopTimeoutMs);
  rmSync(server.dir, { recursive: true, force: true });
}

/** A memory figure of a process from /proc/PID/status, MiB. */
function memoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`Cannot read ${field} of process ${pid}`);
  return Number(match[1]) / 1024;
}

// ---------------------------------------------------------------- report

function formatReport(args: Args, results: Measured[]): string {
  const find = (server: ServerName, size: number): Measured | undefined => results.find((result) => result.server === server && result.sizeMiB === size);
  const ratio = (silt: number | undefined, redis: number | undefined): string => (silt === undefined || redis === undefined ? '-' : formatRatio(silt / redis));
  const rows = args.sizesMiB.map((size) => {
    const silt = find('silt', size);
    const redis = find('redis', size);
    const seconds = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(2));
    const ms = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(0));
    return [
      String(size),
      seconds(silt?.setSeconds),
      seconds(redis?.setSeconds),
      ms(silt?.setPingWaitMsMax),
      ms(redis?.setPingWaitMsMax),
      ratio(silt?.setPingWaitMsMax, redis?.setPingWaitMsMax),
      seconds(silt?.getSeconds),
      seconds(redis?.getSeconds),
      ms(silt?.getPingWaitMsMax),
      ms(redis?.getPingWaitMsMax),
      ms(silt?.peakRssMiB),
      ms(redis?.peakRssMiB),
    ];
  });
  const header = ['MiB', 'SET s silt', 'SET s redis', 'PING wait ms silt', 'PING wait ms redis', 'wait silt/redis', 'GET s silt', 'GET s redis', 'GET PING wait silt', 'GET PING wait redis', 'peak RSS +MiB silt', 'peak RSS +MiB redis'];
  return [
    `silt big-value benchmark: SET then GET of one value per size, appendfsync everysec; PING wait = longest PING round trip during the command`,
    `machine: ${describeCpu()}, node ${process.version}`,
    '',
    ...formatTable(header, rows, header.map((_, index) => index > 0)),
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
