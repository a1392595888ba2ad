// Benchmark: what INFO's view of the WAL archive costs the event loop.
//
// engine.stats() (INFO lsm, memory and persistence each call it) reports the
// archive's files, bytes and the span that replays without a break. Until
// session 30 it read every archived file whole, twice, on the event loop, at
// every call (listArchive + archiveRange); now the engine reads each file once
// in its compaction worker and stats() uses what was read.
//
// The bench writes --mb MiB of WAL records (1000-op batches of 100-byte
// values, 32 MiB memtables) with archiving on, closes, then in the same run:
//
//   read in place   the old way: listArchive() + archiveRange() on this thread
//                   (what each stats() call cost before), --rounds times
//   reopen          LsmEngine.open() with the archive on: how long until the
//                   background read has read every file, and the event
//                   loop's delay meanwhile (monitorEventLoopDelay, 1 ms
//                   resolution, while stats() is polled every 10 ms)
//   stats()         once read: --rounds calls, median and max
//
// Run: npm run bench:archive-stats [-- --mb 256 --rounds 20 --json --json-file F]

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { archiveRange, listArchive } from '../../lib/wal/wal-archive.js';
import { describeCpu, formatNumber, formatTable, parseFlags, positiveInteger, progress, writeReport } from './bench-support.js';

const MiB = 1024 * 1024;
const batchOps = 1000;
const valueBytes = 100;

interface Args {
  mb: number;
  rounds: number;
  json: boolean;
  jsonFile: string | undefined;
}

interface Timing {
  medianMs: number;
  maxMs: number;
}

interface Report {
  bench: 'archive-stats';
  cpu: string;
  archive: { files: number; bytes: number };
  readInPlace: Timing;
  reopen: { readAllMs: number; eventLoopMaxMs: number; eventLoopP99Ms: number; statsWhileReading: Timing };
  stats: Timing;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { mb: 256, rounds: 20, json: false, jsonFile: undefined };
  parseFlags(
    argv,
    {
      '--mb': (value) => (args.mb = positiveInteger(value(), '--mb')),
      '--rounds': (value) => (args.rounds = positiveInteger(value(), '--rounds')),
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
    },
    () => 'Usage: node dist/tools/bench/archive-stats.js [--mb 256] [--rounds 20] [--json] [--json-file FILE]\n',
  );
  return args;
}

function timing(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  return { medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0, maxMs: sorted.at(-1) ?? 0 };
}

function timed(rounds: number, run: () => void): Timing {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    run();
    samples.push(performance.now() - started);
  }
  return timing(samples);
}

async function fill(dir: string, bytes: number): Promise<void> {
  const engine = await LsmEngine.open(dir, { syncPolicy: 'no', memtableBytes: 32 * MiB, walArchive: { ageMs: 0, bytesMax: 0 } });
  const value = Buffer.alloc(valueBytes, 'v');
  const perBatch = batchOps * (valueBytes + 24);
  const batches = Math.ceil(bytes / perBatch);
  for (let batch = 0; batch < batches; batch++) {
    const writes = new WriteBatch();
    for (let op = 0; op < batchOps; op++) writes.put(Buffer.from(`key:${String((batch * batchOps + op) * 7919).padStart(12, '0')}`), value);
    await engine.write(writes);
    if (batch % 100 === 0) progress(`\rwriting ${Math.round((100 * batch) / batches)}%`);
  }
  await engine.flush();
  await engine.close();
  progress('\r');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-archive-'));
  try {
    await fill(dir, args.mb * MiB);
    const fs = new NodeFileSystem();
    progress('reading in place\n');
    const readInPlace = timed(args.rounds, () => {
      listArchive(fs, dir);
      archiveRange(fs, dir);
    });

    progress('reopening\n');
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    const engine = await LsmEngine.open(dir, { walArchive: { ageMs: 0, bytesMax: 0 } });
    const whileReading: number[] = [];
    let stats = engine.stats();
    while (stats.archiveUnreadFiles > 0) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      const before = performance.now();
      stats = engine.stats();
      whileReading.push(performance.now() - before);
    }
    const readAllMs = performance.now() - started;
    delay.disable();
    const statsTiming = timed(args.rounds, () => engine.stats());
    const report: Report = {
      bench: 'archive-stats',
      cpu: describeCpu(),
      archive: { files: stats.archiveFiles, bytes: stats.archiveBytes },
      readInPlace,
      reopen: { readAllMs, eventLoopMaxMs: delay.max / 1e6, eventLoopP99Ms: delay.percentile(99) / 1e6, statsWhileReading: timing(whileReading) },
      stats: statsTiming,
    };
    await engine.close();
    writeReport(report, args, () => formatText(report));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function formatText(report: Report): string {
  const ms = (value: number): string => (value < 1 ? value.toFixed(3) : formatNumber(value));
  const rows = [
    ['archive read in place (the old stats(): listArchive + archiveRange)', ms(report.readInPlace.medianMs), ms(report.readInPlace.maxMs)],
    ['stats() while the worker reads the archive after open', ms(report.reopen.statsWhileReading.medianMs), ms(report.reopen.statsWhileReading.maxMs)],
    ['stats() once read', ms(report.stats.medianMs), ms(report.stats.maxMs)],
  ];
  return [
    `${report.cpu}; archive: ${report.archive.files} files, ${formatNumber(report.archive.bytes / MiB)} MiB`,
    '',
    ...formatTable(['on the event loop', 'median ms', 'max ms'], rows, [false, true, true]),
    '',
    `After open, the compaction worker read the archive in ${formatNumber(report.reopen.readAllMs)} ms; event-loop delay meanwhile: max ${ms(report.reopen.eventLoopMaxMs)} ms, p99 ${ms(report.reopen.eventLoopP99Ms)} ms.`,
    '',
  ].join('\n');
}

await main();
