// Benchmark: what a long sorted-set walk costs the other clients.
//
// silt keeps a sorted set in an ordered key space with no rank index, so
// ZRANK of a middle member walks about N/2 entries, and ZCOUNT over the
// whole set or ZRANGEBYSCORE with a large LIMIT offset walk O(N) (docs/
// commands.md, "Sorted sets"). This measures how long such a command takes
// and, while it runs, how long a second client waits for PING: the stall the
// walk inflicts on everyone else. A walk that yields to the event loop
// between slices (lib/keyspace/zset.ts, walkSlice) keeps that latency near
// one slice; a synchronous walk makes every PING wait for all of it.
//
// Method: a silt server as a child process (dist/service/main.js, fresh
// temporary directory, appendfsync everysec), a sorted set `z` of --members
// members (`m:0000000` ... with score = index, loaded by pipelined ZADDs of
// 1,000 members), then for each operation and --rounds rounds: client B
// sends PING after PING (each after the previous reply) while client A
// sends the operation once; the operation's time is A's round trip, and the
// PING latencies are those of B's PINGs in flight at some time during it. An
// idle row (PINGs with nothing else running) is the floor.
//
// The commands that write what they walk (ZREMRANGEBYRANK, ZRANGESTORE,
// SUNIONSTORE) and the set operations (SINTERCARD, over two sets `s1` of
// --set-members members and `s2` holding every other one of them) lock
// their keys instead of holding every client (service/resp/key-locks.ts):
// B's PINGs, which touch no key, should wait about one slice for them too,
// except while a STORE writes its result in one batch. So should LREM,
// LINSERT and LPOS on a list `l` of --set-members elements, COPY of s1, and
// SADD/SREM/ZADD/ZREM naming up to 50,000 members (their point reads go in slices).
// Last, point reads of many arguments (SMISMEMBER, ZMSCORE) and random
// picks of many (SRANDMEMBER, ZRANDMEMBER), read at a snapshot in slices, and pops of many (SPOP, ZPOPMIN, RPOP with a count) from a copy
// made before each round. The stores of the whole sorted set (ZUNIONSTORE,
// ZINTERSTORE, ZRANGESTORE), RENAME, and ZREMRANGEBYRANK of half a copy of
// it write their results ahead in slices (lib/keyspace/build.ts). --server
// redis runs the same against redis-server (appendonly yes, everysec): the
// anchor, whose commands block its one thread.
//
// Run: npm run build && node dist/tools/bench/zset-walk.js [--server silt|redis] [--members 1000000] [--set-members 300000] [--rounds 5] [--port 7142]
//      [--only SPOP,ZPOPMIN] (only the operations whose names contain one of the words)
//      [--server-cpu-prof DIR] (the server's CPU profiles, one per thread, read with cpuprofile-top.js)

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { formatTable, parseFlags, positiveInteger, progress } from './bench-support.js';

const mainScript = fileURLToPath(new URL('../../service/main.js', import.meta.url));
const loadBatchMembers = 1000;
const loadPipelineBatches = 16;

interface Args {
  members: number;
  /** Members of s1 (s2 holds every other one); default 30 % of --members. */
  setMembers: number | undefined;
  rounds: number;
  port: number;
  /** Only the operations whose names contain one of these words (and the idle row). */
  only: string[] | undefined;
  /** Where the server writes its CPU profiles (node --cpu-prof), if set. */
  cpuProf: string | undefined;
  /** The server measured: silt, or the anchor, redis-server (Debian's package) with appendonly yes, appendfsync everysec. */
  server: 'silt' | 'redis';
}

type Value = string | number | null | Error | Value[];

/**
 * A minimal RESP2 client: one request at a time or pipelined, replies in
 * order. Its parser goes on where it stopped (a reply of 150,000 elements
 * arrives in many chunks): one that started over at each chunk would keep
 * this process, and so the other client's PING timings, busy for seconds.
 */
class Client {
  readonly #socket: net.Socket;
  readonly #parser = new ReplyParser();
  readonly #waiting: ((value: Value) => void)[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const value of this.#parser.push(chunk)) this.#waiting.shift()!(value);
    });
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' }, () => resolve(new Client(socket)));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  send(args: readonly (string | number)[]): Promise<Value> {
    const parts = [`*${args.length}\r\n`];
    for (const arg of args) {
      const text = String(arg);
      parts.push(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
    }
    this.#socket.write(parts.join(''));
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** RESP2 replies from a byte stream, each array's elements kept as they arrive. */
class ReplyParser {
  #buffer: Buffer = Buffer.alloc(0);
  /** Arrays being read, innermost last: their elements so far and how many are still to come. */
  readonly #open: { items: Value[]; remaining: number }[] = [];

  /** Takes `chunk`. @returns the replies it completed */
  push(chunk: Buffer): Value[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const done: Value[] = [];
    let offset = 0;
    for (;;) {
      const lineEnd = this.#buffer.indexOf('\r\n', offset);
      if (lineEnd === -1) break;
      const type = String.fromCharCode(this.#buffer[offset]!);
      const line = this.#buffer.toString('latin1', offset + 1, lineEnd);
      const next = lineEnd + 2;
      let value: Value;
      if (type === '+') value = line;
      else if (type === '-') value = new Error(line);
      else if (type === ':') value = Number(line);
      else if (type === '$') {
        const length = Number(line);
        if (length >= 0 && this.#buffer.length < next + length + 2) break;
        value = length < 0 ? null : this.#buffer.toString('latin1', next, next + length);
        offset = length < 0 ? next : next + length + 2;
        this.#deliver(value, done);
        continue;
      } else if (type === '*') {
        const count = Number(line);
        offset = next;
        if (count > 0) this.#open.push({ items: [], remaining: count });
        else this.#deliver(count < 0 ? null : [], done);
        continue;
      } else throw new Error(`unexpected reply type ${type}`);
      offset = next;
      this.#deliver(value, done);
    }
    this.#buffer = this.#buffer.subarray(offset);
    return done;
  }

  /** A complete value: an element of the innermost open array (closing those it completes), or a reply. */
  #deliver(value: Value, done: Value[]): void {
    for (;;) {
      const array = this.#open[this.#open.length - 1];
      if (array === undefined) {
        done.push(value);
        return;
      }
      array.items.push(value);
      if (--array.remaining > 0) return;
      this.#open.pop();
      value = array.items;
    }
  }
}

function memberName(index: number): string {
  return `m:${String(index).padStart(7, '0')}`;
}

async function startServer(args: Args, dir: string): Promise<ChildProcess> {
  const profile = args.cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', args.cpuProf];
  const child =
    args.server === 'redis'
      ? spawn('redis-server', ['--port', String(args.port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--loglevel', 'warning'], {
          stdio: ['ignore', 'inherit', 'inherit'],
        })
      : spawn(process.execPath, [...profile, mainScript, '--port', String(args.port), '--bind', '127.0.0.1', '--dir', dir, '--appendfsync', 'everysec', '--loglevel', 'warn'], {
          stdio: ['ignore', 'inherit', 'inherit'],
        });
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      const client = await Client.connect(args.port);
      const reply = await client.send(['PING']);
      client.close();
      if (reply === 'PONG') return child;
    } catch {
      // Not listening yet: try again shortly.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`${args.server} did not answer PING on port ${args.port}`);
}

async function load(client: Client, members: number): Promise<void> {
  let inFlight: Promise<Value>[] = [];
  for (let first = 0; first < members; first += loadBatchMembers) {
    const command: (string | number)[] = ['ZADD', 'z'];
    for (let index = first; index < Math.min(members, first + loadBatchMembers); index++) command.push(index, memberName(index));
    inFlight.push(client.send(command));
    if (inFlight.length >= loadPipelineBatches) {
      for (const reply of await Promise.all(inFlight)) if (reply instanceof Error) throw reply;
      inFlight = [];
      progress(`loaded ${first + loadBatchMembers} members`);
    }
  }
  await Promise.all(inFlight);
  const card = await client.send(['ZCARD', 'z']);
  if (card !== members) throw new Error(`ZCARD answered ${String(card)}, expected ${members}`);
}

/** A list `l` of `members` elements, in index order. */
async function loadList(client: Client, members: number): Promise<void> {
  let inFlight: Promise<Value>[] = [];
  for (let first = 0; first < members; first += loadBatchMembers) {
    const elements: string[] = [];
    for (let index = first; index < Math.min(members, first + loadBatchMembers); index++) elements.push(memberName(index));
    inFlight.push(client.send(['RPUSH', 'l', ...elements]));
    if (inFlight.length >= loadPipelineBatches) {
      for (const reply of await Promise.all(inFlight)) if (reply instanceof Error) throw reply;
      inFlight = [];
      progress(`loaded ${first + loadBatchMembers} list elements`);
    }
  }
  for (const reply of await Promise.all(inFlight)) if (reply instanceof Error) throw reply;
}

/** s1 of `members` members, s2 of every other one (the even indexes). */
async function loadSets(client: Client, members: number): Promise<void> {
  let inFlight: Promise<Value>[] = [];
  for (let first = 0; first < members; first += loadBatchMembers) {
    const all: string[] = [];
    for (let index = first; index < Math.min(members, first + loadBatchMembers); index++) all.push(memberName(index));
    inFlight.push(client.send(['SADD', 's1', ...all]), client.send(['SADD', 's2', ...all.filter((_, index) => (first + index) % 2 === 0)]));
    if (inFlight.length >= loadPipelineBatches) {
      for (const reply of await Promise.all(inFlight)) if (reply instanceof Error) throw reply;
      inFlight = [];
      progress(`loaded ${first + loadBatchMembers} set members`);
    }
  }
  for (const reply of await Promise.all(inFlight)) if (reply instanceof Error) throw reply;
}

interface Round {
  opMs: number;
  pings: number;
  pingMaxMs: number;
  pingMeanMs: number;
}

/** Runs `op` on `a` once while `b` pings back to back; PINGs sent before the op's reply count. */
async function round(a: Client, b: Client, op: (string | number)[] | undefined, check: (value: Value) => void): Promise<Round> {
  let done = false;
  const pings: [sentMs: number, latencyMs: number][] = [];
  const pinging = (async () => {
    while (!done) {
      const sent = performance.now();
      await b.send(['PING']);
      pings.push([sent, performance.now() - sent]);
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const started = performance.now();
  if (op === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  } else {
    check(await a.send(op));
  }
  const ended = performance.now();
  done = true;
  await pinging;
  // Every PING in flight at some time during the op counts, the one the whole walk held up included.
  const latencies = pings.filter(([sent, latency]) => sent < ended && sent + latency > started).map(([, latency]) => latency);
  return {
    opMs: ended - started,
    pings: latencies.length,
    pingMaxMs: latencies.reduce((max, value) => Math.max(max, value), 0), // not Math.max(...): 100,000s of PINGs overflow the stack
    pingMeanMs: latencies.reduce((sum, value) => sum + value, 0) / latencies.length,
  };
}

async function main(): Promise<void> {
  const args: Args = { members: 1_000_000, setMembers: undefined, rounds: 5, port: 7142, only: undefined, cpuProf: undefined, server: 'silt' };
  parseFlags(
    process.argv.slice(2),
    {
      '--members': (value) => (args.members = positiveInteger(value(), '--members')),
      '--set-members': (value) => (args.setMembers = positiveInteger(value(), '--set-members')),
      '--rounds': (value) => (args.rounds = positiveInteger(value(), '--rounds')),
      '--port': (value) => (args.port = positiveInteger(value(), '--port')),
      '--only': (value) => (args.only = value().split(',').filter((word) => word !== '')),
      '--server-cpu-prof': (value) => (args.cpuProf = value()),
      '--server': (value) => {
        const server = value();
        if (server !== 'silt' && server !== 'redis') throw new Error(`--server is silt or redis, not "${server}"`);
        args.server = server;
      },
    },
    () => 'usage: node dist/tools/bench/zset-walk.js [--server silt|redis] [--members N] [--set-members N] [--rounds R] [--port P] [--only WORD,WORD] [--server-cpu-prof DIR]',
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'silt-zset-walk-'));
  const server = await startServer(args, dir);
  const clients: Client[] = [];
  try {
    const a = await Client.connect(args.port);
    const b = await Client.connect(args.port);
    clients.push(a, b);
    const loadStarted = performance.now();
    await load(a, args.members);
    const setMembers = args.setMembers ?? Math.max(1, Math.floor(args.members * 0.3));
    await loadSets(a, setMembers);
    await loadList(a, setMembers);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const middle = Math.floor(args.members / 2);
    const evens = Math.ceil(setMembers / 2);
    const bulkArguments = Math.min(50_000, Math.floor(setMembers / 2));
    // Members below the middle rank: ZREMRANGEBYRANK's rounds remove only those above it.
    const zaddArguments = Math.min(bulkArguments, middle);
    const popCount = Math.max(1, Math.floor(setMembers / 3));
    const zpopCount = Math.max(1, Math.floor(args.members / 2));
    const lpopCount = Math.max(1, Math.floor(setMembers / 2));
    const ops: [name: string, op: (string | number)[] | undefined, expected: Value | ((value: Value) => boolean), setup?: (string | number)[]][] = [
      ['idle (no command)', undefined, null],
      [`ZRANK z ${memberName(middle)}`, ['ZRANK', 'z', memberName(middle)], middle],
      [`ZREVRANK z ${memberName(middle)}`, ['ZREVRANK', 'z', memberName(middle)], args.members - 1 - middle],
      ['ZCOUNT z -inf +inf', ['ZCOUNT', 'z', '-inf', '+inf'], args.members],
      [`ZRANGEBYSCORE z -inf +inf LIMIT ${middle} 1`, ['ZRANGEBYSCORE', 'z', '-inf', '+inf', 'LIMIT', middle, 1], [memberName(middle)]],
      // Each round removes the 10 members then at the middle rank.
      [`ZREMRANGEBYRANK z ${middle} ${middle + 9}`, ['ZREMRANGEBYRANK', 'z', middle, middle + 9], 10],
      [`ZRANGESTORE dst z ${middle} ${middle + 99}`, ['ZRANGESTORE', 'dst', 'z', middle, middle + 99], 100],
      ['SINTERCARD 2 s1 s2', ['SINTERCARD', 2, 's1', 's2'], evens],
      ['SUNIONSTORE su s1 s2', ['SUNIONSTORE', 'su', 's1', 's2'], setMembers],
      // Stores of the whole sorted set: written ahead in slices, published in the command's turn (lib/keyspace/build.ts).
      ['ZUNIONSTORE zu 1 z', ['ZUNIONSTORE', 'zu', 1, 'z'], args.members],
      ['ZINTERSTORE zi 2 z zu (zu: a copy of z)', ['ZINTERSTORE', 'zi', 2, 'z', 'zu'], args.members, ['ZUNIONSTORE', 'zu', 1, 'z']],
      ['ZRANGESTORE dz z 0 -1', ['ZRANGESTORE', 'dz', 'z', 0, -1], args.members],
      // The whole list scanned, nothing removed; an insert in the middle (rewriting one half); a whole scan that only reads.
      ['LREM l 0 absent', ['LREM', 'l', 0, 'absent'], 0],
      [`LINSERT l BEFORE ${memberName(Math.floor(setMembers / 2))} x`, ['LINSERT', 'l', 'BEFORE', memberName(Math.floor(setMembers / 2)), 'x'], (value) => typeof value === 'number' && value > setMembers],
      ['LPOS l absent', ['LPOS', 'l', 'absent'], null],
      // A copy of the whole set (read in slices, written in one batch); the point reads of many arguments (in slices).
      ['COPY s1 c1 REPLACE', ['COPY', 's1', 'c1', 'REPLACE'], 1],
      ['RENAME r1 r2 (r1: a copy of s1)', ['RENAME', 'r1', 'r2'], 'OK', ['COPY', 's1', 'r1', 'REPLACE']],
      [`SADD s1 (${bulkArguments} members it holds)`, ['SADD', 's1', ...Array.from({ length: bulkArguments }, (_, index) => memberName(index))], 0],
      [`SREM s2 (${bulkArguments} members it lacks)`, ['SREM', 's2', ...Array.from({ length: bulkArguments }, (_, index) => memberName(2 * index + 1))], 0],
      // The first members at the scores they hold (nothing changes), then members the set lacks.
      [`ZADD z (${zaddArguments} members it holds, same scores)`, ['ZADD', 'z', ...Array.from({ length: zaddArguments }, (_, index) => [index, memberName(index)]).flat()], 0],
      [`ZREM z (${bulkArguments} members it lacks)`, ['ZREM', 'z', ...Array.from({ length: bulkArguments }, (_, index) => `absent:${index}`)], 0],
      // Point reads of many arguments, read-only: in slices at a snapshot.
      [`SMISMEMBER s1 (${bulkArguments} members)`, ['SMISMEMBER', 's1', ...Array.from({ length: bulkArguments }, (_, index) => memberName(index))], (value) => Array.isArray(value) && value.length === bulkArguments && value.every((found) => found === 1)],
      [`ZMSCORE z (${zaddArguments} members)`, ['ZMSCORE', 'z', ...Array.from({ length: zaddArguments }, (_, index) => memberName(index))], (value) => Array.isArray(value) && value.length === zaddArguments && value[1] === '1'],
      // Random picks of many: a walk of the set (count × 32 >= size), in slices at a snapshot.
      [`SRANDMEMBER s1 ${popCount}`, ['SRANDMEMBER', 's1', popCount], (value) => Array.isArray(value) && value.length === popCount],
      [`ZRANDMEMBER z ${zpopCount}`, ['ZRANDMEMBER', 'z', zpopCount], (value) => Array.isArray(value) && value.length === zpopCount],
      // Pops of many from a fresh copy (made before each round, not timed): a third of s1, half of z, half of l.
      [`SPOP p ${popCount} (copy of s1)`, ['SPOP', 'p', popCount], (value) => Array.isArray(value) && value.length === popCount, ['COPY', 's1', 'p', 'REPLACE']],
      [`ZPOPMIN zp ${zpopCount} (copy of z)`, ['ZPOPMIN', 'zp', zpopCount], (value) => Array.isArray(value) && value.length === 2 * zpopCount, ['COPY', 'z', 'zp', 'REPLACE']],
      [`ZREMRANGEBYRANK zr 0 ${zpopCount - 1} (copy of z)`, ['ZREMRANGEBYRANK', 'zr', 0, zpopCount - 1], zpopCount, ['COPY', 'z', 'zr', 'REPLACE']],
      [`RPOP lp ${lpopCount} (copy of l)`, ['RPOP', 'lp', lpopCount], (value) => Array.isArray(value) && value.length === lpopCount, ['COPY', 'l', 'lp', 'REPLACE']],
    ];
    const body: string[][] = [];
    for (const [name, op, expected, setup] of ops) {
      if (op !== undefined && args.only !== undefined && !args.only.some((word) => name.includes(word))) continue;
      const rounds: Round[] = [];
      for (let index = 0; index < args.rounds; index++) {
        progress(`${name}: round ${index + 1}`);
        if (setup !== undefined) {
          await a.send(setup);
          await new Promise((resolve) => setTimeout(resolve, Number(process.env.SETTLE_MS ?? 0)));
        }
        rounds.push(
          await round(a, b, op, (value) => {
            const good = typeof expected === 'function' ? expected(value) : JSON.stringify(value) === JSON.stringify(expected);
            if (!good) throw new Error(`${name} answered ${JSON.stringify(value)}${typeof expected === 'function' ? '' : `, expected ${JSON.stringify(expected)}`}`);
          }),
        );
      }
      const opMs = rounds.map((r) => r.opMs).sort((x, y) => x - y);
      const pingMax = rounds.map((r) => r.pingMaxMs).sort((x, y) => x - y);
      body.push([
        name,
        op === undefined ? '-' : `${opMs[Math.floor(opMs.length / 2)]!.toFixed(0)} (${opMs[0]!.toFixed(0)}-${opMs[opMs.length - 1]!.toFixed(0)})`,
        `${pingMax[Math.floor(pingMax.length / 2)]!.toFixed(1)} (${pingMax[0]!.toFixed(1)}-${pingMax[pingMax.length - 1]!.toFixed(1)})`,
        (rounds.reduce((sum, r) => sum + r.pingMeanMs, 0) / rounds.length).toFixed(2),
        String(Math.round(rounds.reduce((sum, r) => sum + r.pings, 0) / rounds.length)),
      ]);
    }
    process.stderr.write('\n');
    const lines = [
      `${args.server}, sorted set of ${args.members} members, sets of ${setMembers} and ${evens}, a list of ${setMembers} (loaded in ${loadSeconds.toFixed(1)} s), ${args.rounds} rounds per operation, ${os.cpus().length} CPUs`,
      'op ms: median (min-max) of client A round trips; PING max ms: median (min-max) over rounds of the longest PING of client B during the op',
      '',
      ...formatTable(['operation', 'op ms', 'PING max ms', 'PING mean ms', 'PINGs during op'], body, [false, true, true, true, true]),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    for (const client of clients) client.close();
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
