// Crash test: a real child process writes under `always` and is killed with
// SIGKILL at random moments; after each kill the directory is reopened and
// must hold exactly the state of a prefix of the batch order that includes
// every acknowledged batch: acknowledged writes survive, and no batch is
// half-applied (every batch's keys are all there or all absent).
//
// Under `always` the WAL writer preallocates zeros ahead of its records, so a
// kill leaves the newest WAL file ending in zeros (a torn record before them
// when the kill cut a write): the test checks that some kills did.
//
// Cycles: SILT_CRASH_CYCLES (default 20). Kill delays come from a seeded PRNG;
// the seed is printed so a failure can be replayed with SILT_CRASH_SEED.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { walFilePath } from '../../lib/wal/wal-format.js';
import { listWalFileNumbers, readWalFile } from '../../lib/wal/wal-reader.js';
import { modelState, mulberry32 } from '../support/crash-workload.js';

const cycles = Number(process.env.SILT_CRASH_CYCLES ?? 20);
const seed = Number(process.env.SILT_CRASH_SEED ?? Date.now() % 1_000_000);
const writerScript = fileURLToPath(new URL('../../dist/test/support/crash-writer.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'silt-crash-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until it has acknowledged something, then SIGKILLs it after `killAfterMs`. */
function runAndKill(first: number, killAfterMs: number): Promise<{ acked: number[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerScript, dir, String(first)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let stderr = '';
    let buffered = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') timer ??= setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        else if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own (code ${code}): ${stderr}`));
      else resolve({ acked, stderr });
    });
  });
}

async function readAll(engine: LsmEngine): Promise<Map<string, string>> {
  const state = new Map<string, string>();
  for await (const [key, value] of engine.iterator()) state.set(key.toString(), value.toString());
  return state;
}

describe(`engine survives SIGKILL under always (${cycles} cycles, seed ${seed})`, () => {
  it('keeps every acknowledged batch and never half-applies one', async () => {
    const random = mulberry32(seed);
    let first = 0;
    let totalAcked = 0;
    let preallocatedTails = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const { acked } = await runAndKill(first, 50 + Math.floor(random() * 700));
      totalAcked += acked.length;
      const newest = listWalFileNumbers(new NodeFileSystem(), dir).at(-1);
      if (newest !== undefined && readWalFile(new NodeFileSystem(), walFilePath(dir, newest), { mode: 'readOnly', isNewest: true }).preallocatedBytes > 0) preallocatedTails++;
      // Every other recovery reads the WAL in the replay thread (wal-replay-thread.ts), whose torn-tail cut then runs in the worker.
      const replayInThread = cycle % 2 === 1 ? { walReplayThreadBytesMin: 0 } : {};
      const engine = await LsmEngine.open(dir, { syncPolicy: 'always', backgroundExecutor: 'inline', ...replayInThread });
      try {
        const state = await readAll(engine);
        // The surviving batches form a prefix 0..last of the batch order.
        let last = first - 1;
        while (state.has(`m/${last + 1}`)) last++;
        const maxAcked = acked.length === 0 ? first - 1 : Math.max(...acked);
        expect(last, `cycle ${cycle}: acknowledged batch ${maxAcked} lost (survivors end at ${last})`).toBeGreaterThanOrEqual(maxAcked);
        const expected = modelState(last);
        expect(state.size, `cycle ${cycle}: key count`).toBe(expected.size);
        for (const [key, value] of expected) {
          if (state.get(key) !== value) expect.fail(`cycle ${cycle}: key ${key} is ${state.get(key)}, expected ${value}`);
        }
        first = last + 1;
        if (cycle === cycles - 1) {
          const stats = engine.stats();
          console.log(`crash test: ${totalAcked} acknowledged batches over ${cycles} kills (${preallocatedTails} left the newest WAL file ending in preallocated zeros); ${first} batches survive; segments per level ${stats.levels.map((level) => level.segments).join('/')}; last recovery replayed ${engine.recovery.walRecordsReplayed} records, truncated ${engine.recovery.walBytesTruncated} bytes`);
        }
      } finally {
        await engine.close();
      }
    }
    expect(totalAcked).toBeGreaterThan(0);
    expect(preallocatedTails, 'kills that left preallocated zeros in the newest WAL file').toBeGreaterThan(0);
  }, 600_000);
});
