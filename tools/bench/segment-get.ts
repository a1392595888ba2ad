// Benchmark: the CPU cost of a point lookup in a compacted segment, in
// process, with the block cache warm: what a GET of a key flushed out of the
// memtable costs the engine (the server's P16 GET spends most of its time
// here once the data is in segments, docs/bench.md).
//
// Method: --keys string-key metadata records (`M | db 0 | key:NNNNNNNNNNNN`,
// 100-byte values of one repeated byte, as redis-benchmark's -d 100 writes)
// written in batches of 100 under sync policy `no`, flushed and compacted into
// one level-1 segment; then --rounds rounds of --lookups get() calls on keys
// drawn at random (hits, then misses: keys between the written ones), timed
// by process.cpuUsage() (user + system), which a busy machine disturbs less
// than wall time. Reported: the best round and the median, ns per get.
//
// Run: npm run build && node dist/tools/bench/segment-get.js [--keys 200000] [--lookups 100000] [--rounds 8]

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { formatTable, parseFlags, positiveInteger } from './bench-support.js';

interface Args {
  keys: number;
  lookups: number;
  rounds: number;
}

const usage = (): string => 'Usage: node dist/tools/bench/segment-get.js [--keys N] [--lookups N] [--rounds N]';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { keys: 200_000, lookups: 100_000, rounds: 8 };
  parseFlags(
    argv,
    {
      '--keys': (value) => (args.keys = positiveInteger(value(), '--keys')),
      '--lookups': (value) => (args.lookups = positiveInteger(value(), '--lookups')),
      '--rounds': (value) => (args.rounds = positiveInteger(value(), '--rounds')),
    },
    usage,
  );
  return args;
}

/** `M | physical db 0 | key:` and 12 digits: key `index * 2` exists, odd ones do not. */
function keyOf(index: number): Buffer {
  return Buffer.from(`M\0\0\0\0key:${String(index).padStart(12, '0')}`, 'latin1');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'silt-segment-get-'));
  try {
    const writer = await LsmEngine.open(dir, { syncPolicy: 'no' });
    const value = Buffer.alloc(100, 'x');
    for (let start = 0; start < args.keys; start += 100) {
      const batch = new WriteBatch();
      for (let index = start; index < Math.min(start + 100, args.keys); index++) batch.put(keyOf(2 * index), value);
      await writer.write(batch);
    }
    await writer.flush();
    await writer.compactRange();
    await writer.close();

    const engine = await LsmEngine.open(dir, { syncPolicy: 'no' });
    const rows: string[][] = [];
    for (const kind of ['hit', 'miss'] as const) {
      const keys = Array.from({ length: args.lookups }, () => keyOf(2 * Math.floor(Math.random() * args.keys) + (kind === 'miss' ? 1 : 0)));
      const perGet: number[] = [];
      let found = 0;
      for (let round = 0; round < args.rounds; round++) {
        const started = process.cpuUsage();
        for (const key of keys) if (engine.get(key) !== undefined) found++;
        const used = process.cpuUsage(started);
        perGet.push(((used.user + used.system) * 1000) / keys.length);
      }
      const expected = kind === 'hit' ? args.rounds * args.lookups : 0;
      if (found !== expected) throw new Error(`${kind}: found ${found} keys, expected ${expected}`);
      perGet.sort((a, b) => a - b);
      rows.push([kind, perGet[0]!.toFixed(0), perGet[Math.floor(perGet.length / 2)]!.toFixed(0)]);
    }
    const levels = engine.stats().levels.filter((level) => level.segments > 0).map((level) => `L${level.level}: ${level.segments} segment(s), ${level.bytes} bytes`);
    await engine.close();
    console.log(`${args.keys} keys (${levels.join('; ')}), ${args.lookups} lookups x ${args.rounds} rounds, CPU ns per get:`);
    for (const line of formatTable(['lookup', 'best', 'median'], rows, [false, true, true])) console.log(line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
