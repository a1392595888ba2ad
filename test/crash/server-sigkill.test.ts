// Crash test for the whole server: a real silt-server process under
// appendfsync always serves several pipelining clients and is killed with
// SIGKILL at a random moment; after a restart on the same directory:
//
// - every acknowledged SET is there with its value;
// - every INCR counter is at least the highest value a client was told;
// - no MULTI/EXEC is half-applied: each transaction's three keys are all
//   there or all absent, every acknowledged one is there, and the counter it
//   INCRs equals the number of transactions present.
//
// Cycles: SILT_SERVER_CRASH_CYCLES (default 5); kill delays from a seeded
// PRNG whose seed is printed (replay with SILT_CRASH_SEED). npm test builds
// dist/ first.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { mulberry32 } from '../support/crash-workload.js';
import { startCrashServer } from '../support/crash-server.js';
import { RawClient, encodeCommand, mainScript, plain } from '../integration/resp/harness.js';

const cycles = Number(process.env.SILT_SERVER_CRASH_CYCLES ?? 5);
const seed = Number(process.env.SILT_CRASH_SEED ?? Date.now() % 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'silt-server-crash-'));
const children = new Set<ChildProcess>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Acknowledged {
  sets: Map<string, string>;
  counters: Map<string, number>;
  /** Transactions sent per client prefix (acknowledged or not) and the acknowledged ones. */
  transactions: { prefix: string; sent: number; acked: Set<number> }[];
}

/** Pipelined SETs in batches until the connection dies. */
async function setWorker(port: number, prefix: string, acked: Acknowledged): Promise<void> {
  const raw = await RawClient.connect(port);
  try {
    for (let batch = 0; ; batch++) {
      const keys = Array.from({ length: 50 }, (_, index) => `${prefix}:${batch * 50 + index}`);
      raw.send(Buffer.concat(keys.map((key) => encodeCommand(['SET', key, `value-of-${key}`]))));
      for (const key of keys) {
        const reply = plain(await raw.reply(10_000));
        if (reply !== 'OK') throw new Error(`SET ${key} answered ${JSON.stringify(reply)}`);
        acked.sets.set(key, `value-of-${key}`);
      }
    }
  } catch (error) {
    if (!raw.closed) throw error;
  }
}

/** Pipelined INCRs; remembers the highest value acknowledged. */
async function incrWorker(port: number, key: string, acked: Acknowledged): Promise<void> {
  const raw = await RawClient.connect(port);
  try {
    while (true) {
      raw.send(Buffer.concat(Array.from({ length: 20 }, () => encodeCommand(['INCR', key]))));
      for (let index = 0; index < 20; index++) {
        const value = plain(await raw.reply(10_000));
        if (typeof value !== 'number') throw new Error(`INCR answered ${JSON.stringify(value)}`);
        acked.counters.set(key, Math.max(acked.counters.get(key) ?? 0, value));
      }
    }
  } catch (error) {
    if (!raw.closed) throw error;
  }
}

/** Pipelined MULTI/EXEC transactions of three SETs and an INCR each. */
async function transactionWorker(port: number, prefix: string, acked: Acknowledged): Promise<void> {
  const raw = await RawClient.connect(port);
  const record = { prefix, sent: 0, acked: new Set<number>() };
  acked.transactions.push(record);
  try {
    while (true) {
      const first = record.sent;
      const parts: Buffer[] = [];
      for (let index = first; index < first + 10; index++) {
        parts.push(
          encodeCommand(['MULTI']),
          encodeCommand(['SET', `${prefix}:${index}:a`, String(index)]),
          encodeCommand(['SET', `${prefix}:${index}:b`, String(index)]),
          encodeCommand(['INCR', `${prefix}:count`]),
          encodeCommand(['SET', `${prefix}:${index}:c`, String(index)]),
          encodeCommand(['EXEC']),
        );
      }
      record.sent += 10;
      raw.send(Buffer.concat(parts));
      for (let index = first; index < first + 10; index++) {
        const replies = (await raw.replies(6, 10_000)).map(plain);
        const exec = replies[5] as unknown[];
        if (!Array.isArray(exec) || exec.length !== 4) throw new Error(`EXEC answered ${JSON.stringify(replies)}`);
        record.acked.add(index);
      }
    }
  } catch (error) {
    if (!raw.closed) throw error;
  }
}

describe(`server survives SIGKILL under appendfsync always (${cycles} cycles, seed ${seed})`, () => {
  it('keeps every acknowledged write and never half-applies an EXEC', async () => {
    const random = mulberry32(seed);
    let totalSets = 0;
    let totalTransactions = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const acked: Acknowledged = { sets: new Map(), counters: new Map(), transactions: [] };
      const server = await startCrashServer(mainScript, dir, children);
      const workers = [
        setWorker(server.port, `c${cycle}:set:0`, acked),
        setWorker(server.port, `c${cycle}:set:1`, acked),
        incrWorker(server.port, `c${cycle}:counter:0`, acked),
        incrWorker(server.port, `c${cycle}:counter:1`, acked),
        transactionWorker(server.port, `c${cycle}:tx:0`, acked),
        transactionWorker(server.port, `c${cycle}:tx:1`, acked),
      ];
      await new Promise((resolve) => setTimeout(resolve, 200 + Math.floor(random() * 800)));
      server.child.kill('SIGKILL');
      await server.exited;
      await Promise.all(workers);

      const restarted = await startCrashServer(mainScript, dir, children);
      const client = new Redis({ port: restarted.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
      try {
        for (const [key, value] of acked.sets) {
          if ((await client.get(key)) !== value) expect.fail(`cycle ${cycle}: acknowledged SET ${key} is lost`);
        }
        for (const [key, value] of acked.counters) {
          const stored = Number(await client.get(key));
          expect(stored, `cycle ${cycle}: counter ${key}`).toBeGreaterThanOrEqual(value);
        }
        for (const { prefix, sent, acked: done } of acked.transactions) {
          let present = 0;
          for (let index = 0; index < sent; index++) {
            const values = await client.mget(`${prefix}:${index}:a`, `${prefix}:${index}:b`, `${prefix}:${index}:c`);
            const there = values.filter((value) => value !== null).length;
            if (there !== 0 && there !== 3) expect.fail(`cycle ${cycle}: transaction ${prefix}:${index} is half-applied (${JSON.stringify(values)})`);
            if (done.has(index) && there !== 3) expect.fail(`cycle ${cycle}: acknowledged transaction ${prefix}:${index} is lost`);
            if (there === 3) present++;
          }
          expect(Number((await client.get(`${prefix}:count`)) ?? 0), `cycle ${cycle}: ${prefix}:count`).toBe(present);
          totalTransactions += done.size;
        }
        totalSets += acked.sets.size;
      } finally {
        client.disconnect();
        restarted.child.kill('SIGTERM');
        await restarted.exited;
      }
    }
    console.log(`server crash test: ${totalSets} acknowledged SETs and ${totalTransactions} acknowledged transactions over ${cycles} kills, all present`);
    expect(totalSets).toBeGreaterThan(0);
    expect(totalTransactions).toBeGreaterThan(0);
  }, 600_000);
});
