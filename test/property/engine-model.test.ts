// Property test: the engines against a plain Map model.
//
// Strategy: fast-check generates sequences of put, delete, get, scan (random
// bounds, direction, limit), snapshot take/read/release, flush, compactRange,
// reopen and (memory file system only) crash-and-reopen. Each sequence runs
// on LsmEngine over MemFileSystem, LsmEngine over the real file system and
// LevelEngine (classic-level), in lockstep.
// Invariants: every read on every engine equals the model's answer (so the
// engines also agree with each other); snapshots see the state at their
// creation; a crash under `always` keeps every acknowledged write.
// Tiny memtables and compaction triggers make flushes and compactions happen
// within a few dozen operations. Runs: SILT_PROPERTY_RUNS (default 40).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Engine, EngineOptions, Entry, IteratorOptions, Snapshot } from '../../lib/engine/engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { LevelEngine } from '../../lib/engine/level-engine.js';
import { MemFileSystem } from '../../lib/fs/mem-file-system.js';

const runs = Number(process.env.SILT_PROPERTY_RUNS ?? 40);
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

const keyArb = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'aa', 'ab', 'b\u0000', 'z').map((text) => Buffer.from(text, 'latin1')),
  fc.uint8Array({ minLength: 0, maxLength: 3 }).map((bytes) => Buffer.from(bytes)),
);
const valueArb = fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ minLength: 200, maxLength: 900 })).map((bytes) => Buffer.from(bytes));

type Op =
  | { kind: 'put'; key: Buffer; value: Buffer }
  | { kind: 'del'; key: Buffer }
  | { kind: 'batch'; ops: { key: Buffer; value: Buffer | null }[] }
  | { kind: 'get'; key: Buffer; snapshot: number | null }
  | { kind: 'scan'; lower: Buffer | null; upper: Buffer | null; lowerInclusive: boolean; upperInclusive: boolean; reverse: boolean; limit: number | null; snapshot: number | null }
  | { kind: 'snapshot'; slot: number }
  | { kind: 'release'; slot: number }
  | { kind: 'flush' }
  | { kind: 'compact' }
  | { kind: 'reopen' }
  | { kind: 'crash' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArb, value: valueArb }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('del' as const), key: keyArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('batch' as const), ops: fc.array(fc.record({ key: keyArb, value: fc.option(valueArb) }), { maxLength: 6 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('get' as const), key: keyArb, snapshot: fc.option(fc.nat(2)) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('scan' as const),
      lower: fc.option(keyArb),
      upper: fc.option(keyArb),
      lowerInclusive: fc.boolean(),
      upperInclusive: fc.boolean(),
      reverse: fc.boolean(),
      limit: fc.option(fc.nat(5)),
      snapshot: fc.option(fc.nat(2)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), slot: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), slot: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'compact' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

const hex = (buffer: Buffer): string => buffer.toString('hex');

/** One engine under test, able to reopen itself. */
interface Subject {
  name: string;
  engine: Engine;
  snapshots: (Snapshot | undefined)[];
  reopen(crash: boolean): Promise<void>;
  close(): Promise<void>;
}

const lsmOptions: EngineOptions = {
  syncPolicy: 'always',
  memtableBytes: 4096,
  level0CompactionTrigger: 2,
  level1BytesTarget: 16 * 1024,
  segmentBytesTarget: 8 * 1024,
  blockCacheBytes: 16 * 1024,
  // Remember every stretch of deleted keys a walk starts with (dead-ranges.ts), so that later walks seek past them.
  deadRangeHiddenMin: 1,
};

// Table caches far smaller than the segments these sequences make (table-cache.ts): readers are
// evicted and reopened all along, some under iterators and snapshots still reading them.
const memLsmOptions: EngineOptions = { ...lsmOptions, maxOpenFiles: 2 };
const diskLsmOptions: EngineOptions = { ...lsmOptions, tableCacheBytes: 0 };

function tempDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'silt-prop-'));
  roots.push(root);
  return join(root, 'db');
}

async function memLsm(): Promise<Subject> {
  let fs = new MemFileSystem();
  const subject: Subject = {
    name: 'lsm-mem',
    engine: await LsmEngine.open('/db', { ...memLsmOptions, fs }),
    snapshots: [],
    async reopen(crash) {
      if (crash) {
        // Every write was awaited under `always`: a crash clone must keep them all.
        fs = fs.crashClone({ keepUnsyncedPrefix: true });
        // The crashed process is gone; here it is this one, so its LOCK would look live.
        if (fs.exists('/db/LOCK')) fs.unlink('/db/LOCK');
        await subject.engine.close().catch(() => undefined);
      } else {
        await subject.engine.close();
      }
      subject.snapshots = [];
      subject.engine = await LsmEngine.open('/db', { ...memLsmOptions, fs });
    },
    close: () => subject.engine.close(),
  };
  return subject;
}

async function diskEngine(name: string, open: (dir: string) => Promise<Engine>): Promise<Subject> {
  const dir = tempDir();
  const subject: Subject = {
    name,
    engine: await open(dir),
    snapshots: [],
    async reopen() {
      for (const snapshot of subject.snapshots) snapshot?.release();
      await subject.engine.close();
      subject.snapshots = [];
      subject.engine = await open(dir);
    },
    close: () => subject.engine.close(),
  };
  return subject;
}

async function scan(engine: Engine, options: IteratorOptions): Promise<string[]> {
  const out: string[] = [];
  const iterator = engine.iterator(options);
  try {
    for (let entry: Entry | undefined; (entry = await iterator.next()) !== undefined; ) out.push(`${hex(entry[0])}=${hex(entry[1])}`);
  } finally {
    await iterator.close();
  }
  return out;
}

function modelScan(model: Map<string, Buffer>, options: IteratorOptions): string[] {
  const keys = [...model.keys()].map((key) => Buffer.from(key, 'hex')).sort(Buffer.compare);
  const inRange = keys.filter(
    (key) =>
      (options.gt === undefined || key.compare(options.gt) > 0) &&
      (options.gte === undefined || key.compare(options.gte) >= 0) &&
      (options.lt === undefined || key.compare(options.lt) < 0) &&
      (options.lte === undefined || key.compare(options.lte) <= 0),
  );
  if (options.reverse) inRange.reverse();
  const limited = options.limit === undefined || options.limit < 0 ? inRange : inRange.slice(0, options.limit);
  return limited.map((key) => `${hex(key)}=${hex(model.get(hex(key))!)}`);
}

async function runSequence(subjects: Subject[], ops: Op[]): Promise<void> {
  const model = new Map<string, Buffer>();
  let snapshotModels: (Map<string, Buffer> | undefined)[] = [];
  for (const [step, op] of ops.entries()) {
    const where = `step ${step} ${op.kind}`;
    switch (op.kind) {
      case 'put':
      case 'del':
      case 'batch': {
        const writes = op.kind === 'put' ? [{ key: op.key, value: op.value }] : op.kind === 'del' ? [{ key: op.key, value: null }] : op.ops;
        for (const subject of subjects) {
          const batch = new WriteBatch();
          for (const write of writes) {
            if (write.value === null) batch.del(write.key);
            else batch.put(write.key, write.value);
          }
          await subject.engine.write(batch);
        }
        for (const write of writes) {
          if (write.value === null) model.delete(hex(write.key));
          else model.set(hex(write.key), write.value);
        }
        break;
      }
      case 'get':
      case 'scan': {
        const slot = op.snapshot;
        const view = slot === null ? model : snapshotModels[slot];
        if (view === undefined) break; // no snapshot in that slot
        for (const subject of subjects) {
          const snapshot = slot === null ? undefined : subject.snapshots[slot];
          if (slot !== null && snapshot === undefined) continue; // engine without snapshots
          const read = snapshot === undefined ? {} : { snapshot };
          if (op.kind === 'get') {
            const got = subject.engine.get(op.key, read);
            expect(got === undefined ? undefined : hex(got), `${subject.name} ${where} key ${hex(op.key)}`).toBe(view.has(hex(op.key)) ? hex(view.get(hex(op.key))!) : undefined);
          } else {
            const options: IteratorOptions = { ...read, reverse: op.reverse };
            if (op.lower !== null) options[op.lowerInclusive ? 'gte' : 'gt'] = op.lower;
            if (op.upper !== null) options[op.upperInclusive ? 'lte' : 'lt'] = op.upper;
            if (op.limit !== null) options.limit = op.limit;
            expect(await scan(subject.engine, options), `${subject.name} ${where}`).toEqual(modelScan(view, options));
          }
        }
        break;
      }
      case 'snapshot':
        for (const subject of subjects) {
          subject.snapshots[op.slot]?.release();
          subject.snapshots[op.slot] = subject.engine.capabilities.snapshots ? subject.engine.snapshot() : undefined;
        }
        snapshotModels[op.slot] = new Map(model);
        break;
      case 'release':
        for (const subject of subjects) {
          subject.snapshots[op.slot]?.release();
          subject.snapshots[op.slot] = undefined;
        }
        snapshotModels[op.slot] = undefined;
        break;
      case 'flush':
        for (const subject of subjects) await subject.engine.flush();
        break;
      case 'compact':
        for (const subject of subjects) await subject.engine.compactRange();
        break;
      case 'reopen':
      case 'crash':
        for (const subject of subjects) await subject.reopen(op.kind === 'crash');
        snapshotModels = [];
        break;
    }
  }
}

describe('engines against a Map model', () => {
  it(`LsmEngine (memory and disk) and LevelEngine agree with the model (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 80 }), async (ops) => {
        const subjects = [
          await memLsm(),
          await diskEngine('lsm-disk', (dir) => LsmEngine.open(dir, diskLsmOptions)),
          await diskEngine('level', (dir) => LevelEngine.open(dir, { syncPolicy: 'always' })),
        ];
        try {
          await runSequence(subjects, ops);
        } finally {
          for (const subject of subjects) await subject.close();
        }
      }),
      { numRuns: runs },
    );
  }, 600_000);
});
