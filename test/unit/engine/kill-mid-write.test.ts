// A process killed in the middle of a write(2): for every append to any file
// (WAL, manifest, segment) of a workload that switches memtables (and so WAL
// files), flushes and compacts every few batches, take what a SIGKILL at that
// moment would leave — every byte written before, plus a random part of this
// append — and reopen it. The directory must open (a torn tail only ever in
// the newest WAL file; a torn segment or manifest is not live yet) and hold a
// prefix of the batch order that includes every batch acknowledged before the
// kill. Under 'always' the WAL writer preallocates zeros ahead of its
// records, so a WAL write usually lands on them.
//
// The real-process version is test/crash/engine-sigkill.test.ts; this one
// reaches each append deterministically, including the write that gives the
// old WAL file its last records when the memtable switches.
// Seed: SILT_KILL_SEED (printed).

import { describe, expect, it } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { recordHeaderBytes } from '../../../lib/format/record-framing.js';
import { WalRecordType } from '../../../lib/wal/wal-format.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { modelState, mulberry32, toWriteBatch, workloadBatch } from '../../support/crash-workload.js';

const seed = Number(process.env.SILT_KILL_SEED ?? Date.now() % 1_000_000);
const batches = 160;
const writers = 6;
const engineOptions = {
  syncPolicy: 'always' as const,
  memtableBytes: 4096,
  level0CompactionTrigger: 2,
  level1BytesTarget: 32 * 1024,
  segmentBytesTarget: 16 * 1024,
};

interface Kill {
  clone: MemFileSystem;
  acked: number[];
  path: string;
}

/** Runs the workload, killing "the process" at the `target`-th append (1-based); returns the kill and the appends seen. */
async function runUntil(target: number, random: () => number): Promise<{ kill: Kill | undefined; appends: number; switches: number; filesAppended: Set<string> }> {
  const mem = new MemFileSystem();
  const fs = new FaultFileSystem(mem);
  const engine = await LsmEngine.open('/db', { ...engineOptions, fs });
  const acked: number[] = [];
  let appends = 0;
  let walFiles = 0;
  const filesAppended = new Set<string>();
  let kill: Kill | undefined;
  fs.beforeAppend((path, data, position) => {
    if (kill !== undefined) return;
    filesAppended.add(path.split('/')[2]!);
    if (path.includes('/wal/') && data.length >= recordHeaderBytes && data[8] === WalRecordType.header) walFiles++; // a new WAL file
    if (++appends !== target) return;
    const clone = mem.killClone();
    const landed = Math.floor(random() * data.length); // a kill never lands the whole write: that is the next append's turn
    // The write lands at the append's position: the file's end, or over WAL zeros preallocated after it.
    const before = clone.readFile(path);
    const after = Buffer.alloc(Math.max(before.length, position + landed));
    before.copy(after);
    after.set(data.subarray(0, landed), position);
    clone.writeFileSync(path, after);
    kill = { clone, acked: [...acked], path };
  });
  let next = 0;
  const writer = async (): Promise<void> => {
    while (next < batches && kill === undefined) {
      const batchNumber = next++;
      await engine.write(toWriteBatch(workloadBatch(batchNumber)));
      acked.push(batchNumber);
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  fs.beforeAppend(undefined);
  await engine.close();
  return { kill, appends, switches: walFiles, filesAppended };
}

describe(`a kill in the middle of any write (seed ${seed})`, () => {
  it('leaves a directory that opens with every acknowledged batch and a prefix of the rest', async () => {
    const random = mulberry32(seed);
    const dry = await runUntil(0, random);
    expect(dry.switches, 'the workload must switch WAL files several times').toBeGreaterThan(5);
    expect([...dry.filesAppended].sort(), 'kills land in WAL, segment and manifest writes').toEqual(expect.arrayContaining(['wal', 'seg']));
    expect([...dry.filesAppended].some((name) => name.startsWith('MANIFEST'))).toBe(true);
    for (let target = 1; target <= dry.appends; target++) {
      const { kill } = await runUntil(target, random);
      if (kill === undefined) continue; // this run wrote fewer appends (group commit varies with timing)
      const { clone } = kill;
      if (clone.exists('/db/LOCK')) clone.unlink('/db/LOCK'); // the killed process held it
      let engine: LsmEngine;
      try {
        engine = await LsmEngine.open('/db', { ...engineOptions, fs: clone });
      } catch (error) {
        throw new Error(`kill at append ${target} (in ${kill.path}) left a directory that does not open: ${(error as Error).message}`);
      }
      try {
        const state = new Map<string, string>();
        for await (const [key, value] of engine.iterator()) state.set(key.toString(), value.toString());
        let last = -1;
        while (state.has(`m/${last + 1}`)) last++;
        const maxAcked = Math.max(-1, ...kill.acked);
        expect(last, `kill at append ${target}: acknowledged batch ${maxAcked} lost`).toBeGreaterThanOrEqual(maxAcked);
        expect(state, `kill at append ${target}: not the state of batches 0..${last}`).toEqual(modelState(last));
      } finally {
        await engine.close();
      }
    }
  }, 120_000);
});

describe('acknowledgement order across a WAL switch under always', () => {
  it('holds back a write in the new WAL file until the previous file has synced its last records', async () => {
    const fs = new FaultFileSystem(new MemFileSystem());
    const engine = await LsmEngine.open('/db', { ...engineOptions, fs });
    const firstWal = fs.list('/db/wal').map((name) => `/db/wal/${name}`);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fs.beforeSync((path) => (firstWal.includes(path) ? held : Promise.resolve()));
    // Fill the first memtable until it switches; its last records wait for the held fdatasync.
    const early: Promise<unknown>[] = [];
    let batchNumber = 0;
    while (fs.list('/db/wal').length === firstWal.length) early.push(engine.write(toWriteBatch(workloadBatch(batchNumber++))));
    let lateAcked = false;
    const late = engine.write(toWriteBatch(workloadBatch(batchNumber++))).then(() => (lateAcked = true));
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(lateAcked, 'acknowledged before the older WAL file was synced').toBe(false);
    release();
    fs.beforeSync(undefined);
    await Promise.all([...early, late]);
    expect(lateAcked).toBe(true);
    await engine.close();
  });
});
