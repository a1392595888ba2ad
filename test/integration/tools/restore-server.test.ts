// Point-in-time restore end to end, through a real server (issue 5): a silt
// server with the WAL archive on (--wal-archive-mb) and a tiny memtable, so
// WAL files are flushed and archived while the history is written. A client
// writes some keys, takes a checkpoint with SAVE, then writes a known history
// (SET, DEL, INCR, APPEND and a MULTI/EXEC), one acknowledged command at a
// time, recording after each a wall-clock instant strictly between its WAL
// record's time and the next one's, and the model of every key at that
// instant. After the server stops, `silt restore` from the SAVE checkpoint to
// each of several chosen instants must give a directory that a fresh server
// serves with exactly the model's values (every key ever written, absent ones
// included). restore.test.ts covers the same at the engine level, sequence
// targets and archive gaps.
//
// LsmEngine only: LevelEngine has no checkpoints or archive.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restore } from '../../../tools/restore.js';
import { closeAll, closeServers, ioredis, startServer } from '../resp/harness.js';
import { captureIo } from './tool-test-helpers.js';

const keyCount = 12;
const historyCommands = 120;
const skip = process.env.SILT_TEST_ENGINE === 'level';

interface Moment {
  afterMs: number;
  state: Map<string, string>;
}

const scratch = mkdtempSync(join(tmpdir(), 'silt-restore-server-'));
const dataDir = join(scratch, 'data');
let checkpointDir: string;
let checkpointState: Map<string, string>;
let checkpointAfterMs: number;
const moments: Moment[] = [];

afterAll(async () => {
  await closeServers();
  rmSync(scratch, { recursive: true, force: true });
});

/** Resolves once Date.now() has moved past `ms`, so the next WAL record is stamped later. */
async function waitPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** A deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keyName = (index: number): string => `k:${index}`;

describe.skipIf(skip)('silt restore of a server run (WAL archive on, SAVE checkpoint)', () => {
  beforeAll(async () => {
    const server = await startServer({ walArchiveMb: 64, memtableMb: 0.0625 }, { dir: dataDir });
    const client = ioredis(server.port);
    const model = new Map<string, string>();
    for (let index = 0; index < keyCount; index++) {
      await client.set(keyName(index), `base-${index}`);
      model.set(keyName(index), `base-${index}`);
    }
    expect(await client.save()).toBe('OK');
    const saves = readdirSync(join(dataDir, 'checkpoints'));
    expect(saves).toHaveLength(1);
    checkpointDir = join(dataDir, 'checkpoints', saves[0]!);
    checkpointState = new Map(model);
    checkpointAfterMs = Date.now();
    await waitPast(checkpointAfterMs);

    const random = prng(20261122);
    for (let step = 0; step < historyCommands; step++) {
      const key = keyName(Math.floor(random() * keyCount));
      const roll = random();
      if (roll < 0.45) {
        const value = `v-${step}-${'x'.repeat(Math.floor(random() * 4000))}`; // sizes that fill the tiny memtable
        await client.set(key, value);
        model.set(key, value);
      } else if (roll < 0.6) {
        await client.del(key);
        model.delete(key);
      } else if (roll < 0.75) {
        const counter = `c:${step % 3}`;
        model.set(counter, String(await client.incr(counter)));
      } else if (roll < 0.9) {
        model.set(key, `${model.get(key) ?? ''}+${step}`);
        await client.append(key, `+${step}`);
      } else {
        // One EXEC is one WAL batch: restore takes it whole or not at all.
        const other = keyName((Number(key.slice(2)) + 1) % keyCount);
        await client.multi().set(key, `tx-${step}`).del(other).exec();
        model.set(key, `tx-${step}`);
        model.delete(other);
      }
      const afterMs = Date.now();
      moments.push({ afterMs, state: new Map(model) });
      await waitPast(afterMs);
    }
    await closeAll();
    await closeServers(); // the data directory stays: it was given to startServer
    expect(readdirSync(join(dataDir, 'archive')).length).toBeGreaterThan(0);
  });

  /** Every key the history touched, with the model's value or null. */
  function expected(state: Map<string, string>): Record<string, string | null> {
    const names = new Set<string>([...Array.from({ length: keyCount }, (_, index) => keyName(index)), 'c:0', 'c:1', 'c:2']);
    return Object.fromEntries([...names].sort().map((name) => [name, state.get(name) ?? null]));
  }

  async function served(dir: string): Promise<Record<string, string | null>> {
    const server = await startServer({}, { dir });
    const client = ioredis(server.port);
    const names = Object.keys(expected(new Map()));
    const values = await client.mget(...names);
    await closeAll();
    await server.close();
    return Object.fromEntries(names.map((name, index) => [name, values[index] ?? null]));
  }

  it('restores to each chosen instant exactly the state the clients were told of', async () => {
    const chosen = [0, 1, Math.floor(historyCommands / 3), Math.floor(historyCommands / 2), historyCommands - 2, historyCommands - 1];
    for (const index of chosen) {
      const moment = moments[index]!;
      const out = join(scratch, `restored-${index}`);
      const { io, stderr } = captureIo();
      const result = await restore({ from: checkpointDir, archive: join(dataDir, 'archive'), wal: join(dataDir, 'wal'), to: new Date(moment.afterMs).toISOString(), out }, io);
      expect(result.exitCode, stderr.text).toBe(0);
      expect(await served(out), `instant after command ${index}`).toEqual(expected(moment.state));
    }
  });

  it('restores to the instant right after SAVE the checkpoint state', async () => {
    const out = join(scratch, 'restored-start');
    const { io, stderr } = captureIo();
    const result = await restore({ from: checkpointDir, archive: join(dataDir, 'archive'), wal: join(dataDir, 'wal'), to: new Date(checkpointAfterMs).toISOString(), out }, io);
    expect(result.exitCode, stderr.text).toBe(0);
    expect(await served(out)).toEqual(expected(checkpointState));
  });
});
