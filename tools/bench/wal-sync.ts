// Benchmark: what a durable group commit costs on this disk, by how the WAL
// file grows. One cycle is one group of records written, then fdatasync, as
// LsmEngine's WAL does under `always` with 32 concurrent writers (32 records
// of about 150 bytes). Two ways:
//
//   append       the file grows at every group (silt's WAL under `everysec`
//                and `no`, or with --wal-preallocate-mb 0): each fdatasync
//                also commits the new size and extent
//   preallocated the group overwrites bytes of a file already written with
//                zeros and synced: fdatasync has only data to flush (silt's
//                WAL under `always` since format version 2, docs/format.md,
//                "Preallocated tail")
//
// It measures the lever the preallocated WAL pulls (docs/bench.md, "Durable
// writes"). Each mode runs twice, alternating, so that drift of the disk hits
// both.
//
// Run: npx tsc -p tsconfig.build.json && node dist/tools/bench/wal-sync.js [--cycles N] [--dir D]

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && at + 1 < args.length ? args[at + 1]! : fallback;
};
const cycles = Number(option('cycles', '3000'));
const dir = fs.mkdtempSync(path.join(option('dir', os.tmpdir()), 'silt-wal-sync-'));
const groupBytes = 32 * 150;
const preallocatedBytes = Math.max(64 * 1024 * 1024, cycles * groupBytes);

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve())));
}

/** Milliseconds per cycle: mean, median and p99. */
async function run(mode: 'append' | 'preallocated'): Promise<{ mean: number; p50: number; p99: number }> {
  const file = path.join(dir, `${mode}.log`);
  fs.rmSync(file, { force: true });
  const fd = fs.openSync(file, mode === 'append' ? 'a+' : 'w+');
  try {
    if (mode === 'preallocated') {
      const zeros = Buffer.alloc(1024 * 1024);
      for (let at = 0; at < preallocatedBytes; at += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, at);
      fs.fsyncSync(fd);
    }
    const group = Buffer.alloc(groupBytes, 0x5a);
    const samples: number[] = [];
    const start = performance.now();
    for (let cycle = 0; cycle < cycles; cycle++) {
      const cycleStart = performance.now();
      if (mode === 'append') fs.writeSync(fd, group);
      else fs.writeSync(fd, group, 0, group.length, cycle * groupBytes);
      await fdatasync(fd);
      samples.push(performance.now() - cycleStart);
    }
    const mean = (performance.now() - start) / cycles;
    samples.sort((a, b) => a - b);
    return { mean, p50: samples[Math.floor(cycles / 2)]!, p99: samples[Math.floor(cycles * 0.99)]! };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

async function main(): Promise<void> {
  console.log(`${cycles} cycles of a ${groupBytes}-byte group write then fdatasync, in ${dir}`);
  console.log('mode           ms/cycle   p50 ms   p99 ms');
  try {
    for (const mode of ['append', 'preallocated', 'append', 'preallocated'] as const) {
      const { mean, p50, p99 } = await run(mode);
      console.log(`${mode.padEnd(12)} ${mean.toFixed(3).padStart(10)} ${p50.toFixed(3).padStart(8)} ${p99.toFixed(3).padStart(8)}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
