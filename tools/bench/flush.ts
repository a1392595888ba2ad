// Benchmark: the CPU cost of one memtable flush (runFlushJob, what the flush
// worker runs), in process: ordering the image, building and compressing the
// blocks, the Bloom filter, the index, the write and the fdatasync.
//
// Method: a memtable of --keys random keys (`M | db 0 | key:NNNNNNNNNNNN`,
// as redis-benchmark's -r writes them) with 100-byte values of one repeated
// byte (redis-benchmark's -d 100), each key written once by add(); then
// --rounds of Memtable.image() (on the engine's thread: the order its tree
// knows) and a flush of that image into a fresh directory, timed together
// by process.cpuUsage() (user + system). --keep-mb keeps that many MiB of
// blocks for the block cache, as the server's flushes do, in one buffer
// reused round after round as the engine lends its own (--fresh-keep-buffer:
// a new buffer each round, as flushes did before session 24's change). Reported: the
// best round and the median, ns per entry, and the median of image() alone.
// --hot-writes N adds N writes of one more key, spread among the others (a
// collection's metadata record, which every SADD or LPUSH rewrites): the
// flush keeps its newest version and counts the rest as shadowed.
// --versions N writes every key N times, in N rounds over all of them (a
// counter or a small collection's members, rewritten): again one version a
// key is kept.
//
// Run: npm run build && node dist/tools/bench/flush.js [--keys 400000] [--rounds 8] [--keep-mb 0] [--fresh-keep-buffer] [--hot-writes 0] [--versions 1]

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Memtable } from '../../lib/memtable/memtable.js';
import { ValueType } from '../../lib/format/internal-key.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { runFlushJob } from '../../lib/compaction/compactor.js';
import { segmentDir } from '../../lib/format/file-names.js';
import { formatTable, parseFlags, permutation, positiveInteger } from './bench-support.js';

interface Args {
  keys: number;
  rounds: number;
  keepMb: number;
  freshKeepBuffer: boolean;
  hotWrites: number;
  versions: number;
}

const usage = (): string => 'Usage: node dist/tools/bench/flush.js [--keys N] [--rounds N] [--keep-mb N] [--fresh-keep-buffer] [--hot-writes N] [--versions N]';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { keys: 400_000, rounds: 8, keepMb: 0, freshKeepBuffer: false, hotWrites: 0, versions: 1 };
  parseFlags(
    argv,
    {
      '--keys': (value) => (args.keys = positiveInteger(value(), '--keys')),
      '--rounds': (value) => (args.rounds = positiveInteger(value(), '--rounds')),
      '--fresh-keep-buffer': () => (args.freshKeepBuffer = true),
      '--hot-writes': (value) => (args.hotWrites = zeroOrPositive(value(), '--hot-writes')),
      '--versions': (value) => (args.versions = positiveInteger(value(), '--versions')),
      '--keep-mb': (value) => (args.keepMb = zeroOrPositive(value(), '--keep-mb')),
    },
    usage,
  );
  return args;
}

function zeroOrPositive(text: string, what: string): number {
  return text === '0' ? 0 : positiveInteger(text, what);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const memtable = new Memtable();
  const value = Buffer.alloc(100, 'x');
  const order = permutation(args.keys);
  // One add() at a time, as the server's writes come: most keys end up in the memtable's tree, the
  // last few thousand wait to be folded in (a merge in progress, pending keys).
  const hotKey = Buffer.from('M\0\0\0\0myset', 'latin1');
  let sequence = 0;
  for (let index = 0; index < args.keys * args.versions; index++) {
    memtable.add(++sequence, ValueType.put, Buffer.from(`M\0\0\0\0key:${String(order[index % args.keys]).padStart(12, '0')}`, 'latin1'), value);
    if (index >= args.keys) continue;
    const hot = Math.floor(((index + 1) * args.hotWrites) / args.keys) - Math.floor((index * args.hotWrites) / args.keys);
    for (let write = 0; write < hot; write++) memtable.add(++sequence, ValueType.put, hotKey, value);
  }
  const fs = new NodeFileSystem();
  const root = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-flush-'));
  const keepInto = args.keepMb > 0 ? new Uint8Array(new SharedArrayBuffer(args.keepMb * 1024 * 1024)) : undefined;
  const perEntry: number[] = [];
  const flushMs: number[] = [];
  const imageMs: number[] = [];
  try {
    for (let round = 0; round < args.rounds; round++) {
      const dir = path.join(root, String(round));
      mkdirSync(segmentDir(dir), { recursive: true });
      const start = process.cpuUsage();
      // What the engine's thread spends (the order its tree knows), then what the flush worker does.
      const image = memtable.image();
      const imaged = process.cpuUsage(start);
      const keepBlocksBytes = args.keepMb * 1024 * 1024;
      await runFlushJob(fs, { dir, fileNumber: 1, memtable: image, createdMs: Date.now(), smallestSnapshot: sequence, keepBlocksBytes, keepInto: args.freshKeepBuffer ? undefined : keepInto });
      const used = process.cpuUsage(start);
      perEntry.push(((used.user + used.system) * 1000) / args.keys);
      flushMs.push((used.user + used.system) / 1000);
      imageMs.push((imaged.user + imaged.system) / 1000);
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const sorted = [...perEntry].sort((a, b) => a - b);
  const imageSorted = [...imageMs].sort((a, b) => a - b);
  const flushSorted = [...flushMs].sort((a, b) => a - b);
  process.stdout.write(
    formatTable(
      ['keys', 'versions', 'hot writes', 'rounds', 'keep MiB', 'best ns/entry', 'median ns/entry', 'median ms', 'image() median ms'],
      [
        [
          String(args.keys),
          String(args.versions),
          String(args.hotWrites),
          String(args.rounds),
          String(args.keepMb),
          sorted[0]!.toFixed(0),
          sorted[sorted.length >> 1]!.toFixed(0),
          flushSorted[flushSorted.length >> 1]!.toFixed(1),
          imageSorted[imageSorted.length >> 1]!.toFixed(1),
        ],
      ],
      [true, true, true, true, true, true, true, true, true],
    ).join('\n') + '\n',
  );
}

await main();
