// The flush and compaction worker threads run at a lower CPU priority than
// the event loop (lib/thread-priority.ts): their nice value is the
// process's plus backgroundNice. Linux only: elsewhere there is no
// per-thread nice value to read, and these tests report themselves skipped.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { InvalidArgumentError } from '../../lib/errors.js';

const linux = fs.existsSync('/proc/thread-self');
if (!linux) console.warn('SKIPPED: background thread priority tests need Linux /proc/thread-self');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-priority-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** The nice value of each thread of this process, by thread id (/proc/self/task/TID/stat, field 19). */
function threadNiceValues(): Map<number, number> {
  const nice = new Map<number, number>();
  for (const tid of fs.readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, nice field 19.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    nice.set(Number(tid), Number(fields[16]));
  }
  return nice;
}

async function flushOnce(engine: LsmEngine): Promise<void> {
  const batch = new WriteBatch();
  for (let index = 0; index < 1000; index++) batch.put(Buffer.from(`key${index}`), Buffer.alloc(20, index));
  await engine.write(batch);
  await engine.flush();
}

describe.runIf(linux)('background thread priority', () => {
  const base = os.getPriority();

  it('lowers only the worker threads, by backgroundNice', async () => {
    const before = new Set(threadNiceValues().keys());
    const engine = await LsmEngine.open(path.join(root, 'seven'), { backgroundNice: 7 });
    try {
      await flushOnce(engine);
      const started = [...threadNiceValues()].filter(([tid]) => !before.has(tid));
      expect(started.filter(([, nice]) => nice === Math.min(19, base + 7)).length).toBeGreaterThanOrEqual(1);
      expect(os.getPriority()).toBe(base);
      expect(threadNiceValues().get(process.pid)).toBe(base);
    } finally {
      await engine.close();
    }
  });

  it('leaves the workers at the process priority with backgroundNice 0', async () => {
    const before = new Set(threadNiceValues().keys()); // the last test's workers may linger a moment after close
    const engine = await LsmEngine.open(path.join(root, 'zero'), { backgroundNice: 0 });
    try {
      await flushOnce(engine);
      const started = [...threadNiceValues()].filter(([tid]) => !before.has(tid));
      expect(started.length).toBeGreaterThanOrEqual(1);
      expect(started.every(([, nice]) => nice === base)).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('stops at 19 and changes only the calling thread', async () => {
    const url = new URL('../../dist/lib/thread-priority.js', import.meta.url).href;
    const code = `import('${url}').then(({ lowerThreadPriority }) => { const { parentPort } = require('node:worker_threads'); parentPort.postMessage([lowerThreadPriority(5), lowerThreadPriority(30)]); });`;
    const worker = new Worker(code, { eval: true });
    const [first, second] = await new Promise<[number, number]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(first).toBe(Math.min(19, base + 5));
    expect(second).toBe(19);
    expect(os.getPriority()).toBe(base);
  });

  it('refuses a value outside 0..19', async () => {
    await expect(LsmEngine.open(path.join(root, 'bad'), { backgroundNice: 20 })).rejects.toThrow(InvalidArgumentError);
    await expect(LsmEngine.open(path.join(root, 'bad'), { backgroundNice: -1 })).rejects.toThrow('backgroundNice must be an integer from 0 to 19, got -1');
  });
});
