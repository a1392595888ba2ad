// `silt dump DIR | head -1` and `silt inspect DIR --wal FILE | head`: when the
// reader closes the pipe early, the tool stops quietly (exit 0, no EPIPE stack
// trace on stderr), as `cat` does. Runs the built program (dist/), as
// cli.test.ts does: `npm test` builds first.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { stringRecord } from '../../../lib/keyspace/metadata.js';
import { makeScratch, removeScratch } from './tool-test-helpers.js';

const cliPath = fileURLToPath(new URL('../../../dist/tools/cli.js', import.meta.url));

let scratch: string;
let dir: string;

/** Keys enough that the dump and the WAL listing outgrow a pipe's buffer (64 KiB) many times over. */
const keys = 20_000;

beforeAll(async () => {
  scratch = makeScratch('closed-stdout');
  dir = path.join(scratch, 'data');
  const engine = await LsmEngine.open(dir);
  try {
    const keyspace = await Keyspace.open(engine);
    const pending: Promise<unknown>[] = [];
    const ctx = { db: 0, nowMs: Date.now(), write: (batch: Parameters<LsmEngine['write']>[0]) => void pending.push(engine.write(batch)) };
    for (let i = 0; i < keys; i++) {
      const key = Buffer.from(`key:${i}`);
      const target = keyspace.load(0, key, ctx.nowMs);
      keyspace.put(ctx, target, stringRecord(Buffer.from(`value:${i}:`.padEnd(100, '.')), 0, keyspace.newVersion(ctx.nowMs, target.stored)));
    }
    await Promise.all(pending);
  } finally {
    await engine.close();
  }
});

afterAll(() => {
  removeScratch(scratch);
});

/** Runs the program, closes its stdout after the first chunk, and waits for it to end. */
function runAndCloseEarly(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; bytesRead: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let bytesRead = 0;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.once('data', (chunk: Buffer) => {
      bytesRead = chunk.length;
      child.stdout.destroy();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr, bytesRead }));
  });
}

describe('a reader that closes stdout early', () => {
  test('dump | head -1: exit 0, no stack trace', async () => {
    const result = await runAndCloseEarly(['dump', dir]);
    expect(result.bytesRead).toBeGreaterThan(0);
    expect(result.stderr).not.toContain('EPIPE');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code, result.stderr).toBe(0);
  });

  test('inspect --wal FILE | head: exit 0, no stack trace', async () => {
    const wal = fs.readdirSync(path.join(dir, 'wal')).find((name) => name.endsWith('.log'))!;
    const result = await runAndCloseEarly(['inspect', dir, '--wal', wal]);
    expect(result.bytesRead).toBeGreaterThan(0);
    expect(result.stderr).not.toContain('EPIPE');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.code, result.stderr).toBe(0);
  });
});
