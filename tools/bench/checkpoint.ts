// Benchmark: what a checkpoint (BGSAVE) costs the event loop when the
// memtable holds a lot, so the live WAL file is large.
//
// A checkpoint links every segment and closed WAL file (O(1) each) at one
// instant. Until session 30 it also copied the unflushed WAL files with
// copyFileSync + fsyncSync on the event loop: a stall that grows with
// --memtable-mb (a helper measured 48 ms at 55 MB of WAL, 736 ms at 224 MB
// through the server). Now the live file's bytes up to the instant are copied
// from a link, on the thread pool (FileSystem.copyPrefix).
//
// The bench writes --mb MiB of 1 KiB values into a memtable large enough to
// hold them (nothing flushes), then, in the same run:
//
//   copy in place   fs.copyFile() of the live WAL file on this thread (what
//                   the old checkpoint did for it), --rounds times
//   checkpoint()    --rounds checkpoints while a timer ticks every 1 ms: the
//                   checkpoint's time, and the event loop's delay meanwhile
//                   (monitorEventLoopDelay)
//
// Run: npm run bench:checkpoint [-- --mb 200 --rounds 5 --json --json-file F]

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { describeCpu, formatNumber, formatTable, parseFlags, positiveInteger, progress, writeReport } from './bench-support.js';

const MiB = 1024 * 1024;
const valueBytes = 1024;

interface Args {
  mb: number;
  rounds: number;
  json: boolean;
  jsonFile: string | undefined;
}

interface Report {
  bench: 'checkpoint';
  cpu: string;
  walBytes: number;
  copyInPlaceMs: { median: number; max: number };
  checkpoint: { medianMs: number; maxMs: number; eventLoopMaxMs: number; eventLoopP99Ms: number };
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { mb: 200, rounds: 5, json: false, jsonFile: undefined };
  parseFlags(
    argv,
    {
      '--mb': (value) => (args.mb = positiveInteger(value(), '--mb')),
      '--rounds': (value) => (args.rounds = positiveInteger(value(), '--rounds')),
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
    },
    () => 'Usage: node dist/tools/bench/checkpoint.js [--mb 200] [--rounds 5] [--json] [--json-file FILE]\n',
  );
  return args;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'silt-bench-checkpoint-'));
  try {
    const engine = await LsmEngine.open(dir, { syncPolicy: 'no', memtableBytes: (args.mb + 64) * MiB });
    const value = Buffer.alloc(valueBytes, 'v');
    const batches = Math.ceil((args.mb * MiB) / (100 * valueBytes));
    for (let batch = 0; batch < batches; batch++) {
      const writes = new WriteBatch();
      for (let op = 0; op < 100; op++) writes.put(Buffer.from(`key:${String(batch * 100 + op).padStart(10, '0')}`), value);
      await engine.write(writes);
      if (batch % 200 === 0) progress(`\rwriting ${Math.round((100 * batch) / batches)}%`);
    }
    progress('\r');
    const wal = readdirSync(path.join(dir, 'wal')).filter((name) => name.endsWith('.log'));
    const live = path.join(dir, 'wal', wal.at(-1)!);
    const fs = new NodeFileSystem();
    const walBytes = fs.stat(live).size;

    const copies: number[] = [];
    for (let round = 0; round < args.rounds; round++) {
      const target = path.join(dir, `copy-${round}.log`);
      const started = performance.now();
      fs.copyFile(live, target);
      copies.push(performance.now() - started);
      rmSync(target);
    }

    const times: number[] = [];
    const delay = monitorEventLoopDelay({ resolution: 1 });
    const ticker = setInterval(() => undefined, 1);
    delay.enable();
    for (let round = 0; round < args.rounds; round++) {
      const started = performance.now();
      await engine.checkpoint(path.join(dir, 'checkpoints', `c${round}`));
      times.push(performance.now() - started);
    }
    delay.disable();
    clearInterval(ticker);
    await engine.close();
    const report: Report = {
      bench: 'checkpoint',
      cpu: describeCpu(),
      walBytes,
      copyInPlaceMs: { median: median(copies), max: Math.max(...copies) },
      checkpoint: { medianMs: median(times), maxMs: Math.max(...times), eventLoopMaxMs: delay.max / 1e6, eventLoopP99Ms: delay.percentile(99) / 1e6 },
    };
    writeReport(report, args, () =>
      [
        `${report.cpu}; live WAL file ${formatNumber(walBytes / MiB)} MiB`,
        '',
        ...formatTable(
          ['', 'median ms', 'max ms'],
          [
            ['copy of the live WAL file in place (the old checkpoint; all on the event loop)', formatNumber(report.copyInPlaceMs.median), formatNumber(report.copyInPlaceMs.max)],
            ['checkpoint(), whole', formatNumber(report.checkpoint.medianMs), formatNumber(report.checkpoint.maxMs)],
            ['event-loop delay during the checkpoints (p99 / max)', formatNumber(report.checkpoint.eventLoopP99Ms), formatNumber(report.checkpoint.eventLoopMaxMs)],
          ],
          [false, true, true],
        ),
        '',
      ].join('\n'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
