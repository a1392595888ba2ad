// Benchmark: the CPU cost of a compaction, per entry: a full compactRange()
// of --keys random keys (`M | db 0 | key:NNNNNNNNNNNN`, 100-byte values of one
// repeated byte, as redis-benchmark writes them) flushed from 8 MiB
// memtables into level-0 segments with automatic compaction off, merged into
// level 1 by the compaction worker. Timed by process.cpuUsage() around
// compactRange() (every thread of the process: the worker's merge, the main
// thread's manifest edit), on a fresh directory each round. Reported: the
// best round and the median, ns per entry.
//
// Run: npm run build && node dist/tools/bench/compact-range.js [--keys 400000] [--rounds 4]

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { formatTable, parseFlags, permutation, positiveInteger } from './bench-support.js';

interface Args {
  keys: number;
  rounds: number;
}

const usage = (): string => 'Usage: node dist/tools/bench/compact-range.js [--keys N] [--rounds N]';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { keys: 400_000, rounds: 4 };
  parseFlags(
    argv,
    {
      '--keys': (value) => (args.keys = positiveInteger(value(), '--keys')),
      '--rounds': (value) => (args.rounds = positiveInteger(value(), '--rounds')),
    },
    usage,
  );
  return args;
}

async function round(keys: number, order: Uint32Array): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-compact-'));
  try {
    const engine = await LsmEngine.open(dir, { syncPolicy: 'no', memtableBytes: 8 * 1024 * 1024, disableAutoCompaction: true });
    const value = Buffer.alloc(100, 'x');
    for (let start = 0; start < keys; start += 100) {
      const batch = new WriteBatch();
      for (let index = start; index < Math.min(start + 100, keys); index++) {
        batch.put(Buffer.from(`M\0\0\0\0key:${String(order[index]).padStart(12, '0')}`, 'latin1'), value);
      }
      await engine.write(batch);
    }
    await engine.flush();
    const start = process.cpuUsage();
    await engine.compactRange();
    const used = process.cpuUsage(start);
    await engine.close();
    return ((used.user + used.system) * 1000) / keys;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const order = permutation(args.keys);
  const perEntry: number[] = [];
  for (let index = 0; index < args.rounds; index++) perEntry.push(await round(args.keys, order));
  const sorted = [...perEntry].sort((a, b) => a - b);
  process.stdout.write(
    formatTable(
      ['keys', 'rounds', 'best ns/entry', 'median ns/entry'],
      [[String(args.keys), String(args.rounds), sorted[0]!.toFixed(0), sorted[sorted.length >> 1]!.toFixed(0)]],
      [true, true, true, true],
    ).join('\n') + '\n',
  );
}

await main();
