// Micro-benchmark of the RESP codec on one core, in commands per second:
// decoding pipelined requests (RespDecoder) and encoding common replies
// (ReplyWriter), with no sockets involved.
//
// Decode: N requests are encoded up front the way redis-benchmark -P sends
// them (multibulk, `SET key:<12 digits> <value>` or `GET key:<12 digits>`),
// cut into 64 KiB chunks (a socket read's worth; chunk boundaries fall
// mid-command, so the straddling path runs too), and each chunk is a fresh
// Buffer as a socket would deliver it. The timed loop feeds every chunk and
// drains next() until it returns undefined. Inline requests (`PING`) are
// measured the same way.
//
// Encode: replies are written in batches of 100 (one event-loop turn's worth
// of pipelined replies) and taken with takeChunks() after each batch, as a
// connection does before socket.write.
//
// Each workload runs a warm-up, then `--rounds` timed rounds; the median is
// reported.
//
// Run: npm run build && node dist/tools/bench/resp-codec.js [--n 1000000] [--rounds 5] [--json]

import { performance } from 'node:perf_hooks';
import { RespDecoder } from '../../service/resp/decoder.js';
import { ReplyWriter } from '../../service/resp/encoder.js';
import { OK, type Reply } from '../../service/resp/reply.js';

const chunkBytes = 64 * 1024;
const replyBatch = 100;

interface Result {
  workload: string;
  commandsPerSecond: number;
  megabytesPerSecond: number;
}

function parseArguments(argv: readonly string[]): { n: number; rounds: number; json: boolean } {
  let n = 1_000_000;
  let rounds = 5;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (argument === '--n') n = Number(argv[++i]);
    else if (argument === '--rounds') rounds = Number(argv[++i]);
    else if (argument === '--json') json = true;
    else throw new Error(`Cannot run benchmark: unknown argument "${argument}"`);
  }
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`Cannot run benchmark: --n must be a positive integer`);
  if (!Number.isSafeInteger(rounds) || rounds <= 0) throw new Error(`Cannot run benchmark: --rounds must be a positive integer`);
  return { n, rounds, json };
}

function multibulk(args: string[]): string {
  let text = `*${args.length}\r\n`;
  for (const arg of args) text += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return text;
}

/** The requests as 64 KiB chunks, each its own Buffer. */
function requestChunks(n: number, request: (index: number) => string): Buffer[] {
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(request(i));
  const all = Buffer.from(parts.join(''), 'latin1');
  const chunks: Buffer[] = [];
  for (let from = 0; from < all.length; from += chunkBytes) chunks.push(Buffer.from(all.subarray(from, from + chunkBytes)));
  return chunks;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function benchDecode(workload: string, n: number, rounds: number, request: (index: number) => string): Result {
  const chunks = requestChunks(n, request);
  const bytes = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const run = (): number => {
    const decoder = new RespDecoder({}, { authenticated: true });
    let commands = 0;
    let checksum = 0;
    const start = performance.now();
    for (const chunk of chunks) {
      decoder.feed(chunk);
      for (let args = decoder.next(); args !== undefined; args = decoder.next()) {
        commands++;
        checksum += args.length;
      }
    }
    const elapsedMs = performance.now() - start;
    if (commands !== n || checksum === 0) throw new Error(`Cannot trust benchmark "${workload}": decoded ${commands} of ${n} commands`);
    return elapsedMs;
  };
  run(); // warm-up
  const elapsedMs = median(Array.from({ length: rounds }, run));
  return { workload, commandsPerSecond: (n / elapsedMs) * 1000, megabytesPerSecond: bytes / 1e6 / (elapsedMs / 1000) };
}

function benchEncode(workload: string, n: number, rounds: number, reply: (index: number) => Reply): Result {
  const replies = Array.from({ length: Math.min(n, 10_000) }, (_, index) => reply(index));
  const run = (): { elapsedMs: number; bytes: number } => {
    const writer = new ReplyWriter(2);
    let bytes = 0;
    const start = performance.now();
    for (let i = 0; i < n; ) {
      const end = Math.min(n, i + replyBatch);
      for (; i < end; i++) writer.write(replies[i % replies.length]!);
      for (const chunk of writer.takeChunks()) bytes += chunk.length;
    }
    return { elapsedMs: performance.now() - start, bytes };
  };
  run(); // warm-up
  const runs = Array.from({ length: rounds }, run);
  const elapsedMs = median(runs.map((r) => r.elapsedMs));
  const bytes = runs[0]!.bytes;
  return { workload, commandsPerSecond: (n / elapsedMs) * 1000, megabytesPerSecond: bytes / 1e6 / (elapsedMs / 1000) };
}

function main(): void {
  const { n, rounds, json } = parseArguments(process.argv.slice(2));
  const key = (index: number): string => `key:${String(index).padStart(12, '0')}`;
  const value = 'v'.repeat(16);
  const bulk100 = Buffer.alloc(100, 'x');
  const results: Result[] = [
    benchDecode('decode SET key value (16-byte value)', n, rounds, (i) => multibulk(['SET', key(i), value])),
    benchDecode('decode GET key', n, rounds, (i) => multibulk(['GET', key(i)])),
    benchDecode('decode SET key value (1000-byte value)', Math.ceil(n / 4), rounds, (i) => multibulk(['SET', key(i), 'v'.repeat(1000)])),
    benchDecode('decode inline PING', n, rounds, () => 'PING\r\n'),
    benchEncode('encode +OK', n, rounds, () => OK),
    benchEncode('encode :<integer>', n, rounds, (i) => i),
    benchEncode('encode $-1 (null bulk)', n, rounds, () => null),
    benchEncode('encode 100-byte bulk (Buffer)', n, rounds, () => bulk100),
    benchEncode('encode 16-byte bulk (string)', n, rounds, () => value),
    benchEncode('encode 10-element array of bulks', Math.ceil(n / 10), rounds, (i) => Array.from({ length: 10 }, (_, j) => key(i + j))),
  ];
  if (json) {
    process.stdout.write(`${JSON.stringify({ n, rounds, node: process.version, results })}\n`);
    return;
  }
  process.stdout.write(`RESP codec, ${n} commands, median of ${rounds} rounds, node ${process.version}\n`);
  for (const result of results) {
    const rate = `${(result.commandsPerSecond / 1e6).toFixed(2)} M/s`;
    process.stdout.write(`  ${result.workload.padEnd(42)} ${rate.padStart(10)}  ${result.megabytesPerSecond.toFixed(0).padStart(5)} MB/s\n`);
  }
}

main();
