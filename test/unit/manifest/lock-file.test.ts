// LOCK (lib/engine/lock-file.ts): a live holder refuses a second acquire with
// LockedError; a LOCK left by a dead process, a reused pid, an earlier boot or
// unparseable bytes is taken over and reported; release removes only our own
// LOCK. Real processes on NodeFileSystem, a fake process probe on
// MemFileSystem for the cases a real system cannot stage.

import { spawn } from 'node:child_process';
import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LockedError } from '../../../lib/errors.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { acquireLock, readLock, systemProcessProbe, type ProcessProbe } from '../../../lib/engine/lock-file.js';

const tempDirs: string[] = [];
afterEach(() => {
  for (const tempDir of tempDirs.splice(0)) nodeFs.rmSync(tempDir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'silt-lock-'));
  tempDirs.push(dir);
  return dir;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise<void>((resolve, reject) => {
    child.on('exit', () => resolve());
    child.on('error', reject);
  });
  expect(child.pid).toBeDefined();
  return child.pid!;
}

function fakeProbe(overrides: Partial<ProcessProbe> = {}): ProcessProbe {
  return { isAlive: () => true, startTicks: () => '500', bootId: () => 'boot-a', ...overrides };
}

function memDir(): { fs: MemFileSystem; dir: string } {
  const fs = new MemFileSystem();
  fs.mkdir('/db');
  return { fs, dir: '/db' };
}

describe('LOCK on a real directory', () => {
  it('refuses a second acquire while held, and allows one after release', () => {
    const fs = new NodeFileSystem();
    const dir = tempDir();
    const lock = acquireLock(fs, dir);
    expect(lock.tookOverStaleLockFrom).toBeUndefined();
    const content = JSON.parse(nodeFs.readFileSync(path.join(dir, 'LOCK'), 'utf8')) as Record<string, unknown>;
    expect(content).toMatchObject({ format: 1, pid: process.pid, hostname: os.hostname() });
    expect(nodeFs.readdirSync(dir)).toEqual(['LOCK']);

    let error: unknown;
    try {
      acquireLock(fs, dir);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LockedError);
    expect((error as LockedError).code).toBe('LOCKED');
    expect((error as Error).message).toBe(
      `Cannot open data directory "${dir}": locked by this process (${process.pid}) on host "${os.hostname()}" since ${new Date(lock.info.startedMs).toISOString()}`,
    );
    expect(readLock(fs, dir)).toMatchObject({ state: 'held', info: { pid: process.pid } });
    expect(nodeFs.readdirSync(dir)).toEqual(['LOCK']);

    lock.release();
    expect(nodeFs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    expect(lock.released).toBe(true);
    lock.release();
    expect(readLock(fs, dir)).toEqual({ state: 'none' });
    acquireLock(fs, dir).release();
  });

  it('takes over a LOCK left by a process that has exited', async () => {
    const fs = new NodeFileSystem();
    const dir = tempDir();
    const pid = await deadPid();
    nodeFs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ format: 1, pid, hostname: os.hostname(), startedMs: 1 }));
    expect(readLock(fs, dir)).toMatchObject({ state: 'stale', info: { pid }, reason: `process ${pid} is not running` });
    const lock = acquireLock(fs, dir);
    expect(lock.tookOverStaleLockFrom).toEqual({ info: { pid, hostname: os.hostname(), startedMs: 1 }, reason: `process ${pid} is not running` });
    expect(JSON.parse(nodeFs.readFileSync(path.join(dir, 'LOCK'), 'utf8'))).toMatchObject({ pid: process.pid });
    expect(nodeFs.readdirSync(dir)).toEqual(['LOCK']);
    lock.release();
  });

  it('takes over a LOCK whose owner is a zombie (killed, not yet reaped by its parent)', async () => {
    if (!nodeFs.existsSync('/proc/self/stat')) return; // zombies are told apart by /proc
    // The shell starts a child, then becomes `sleep`, which never reaps it. The child outlives
    // the exec: one that exited at once could be reaped by the shell before it exec'd (seen in CI).
    const parent = spawn('sh', ['-c', 'sleep 0.3 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number((await new Promise<Buffer>((resolve) => parent.stdout.once('data', resolve))).toString().trim());
      const state = (): string | undefined => nodeFs.readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.[0];
      for (let tries = 0; tries < 200 && state() !== 'Z'; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(state()).toBe('Z');
      expect(() => process.kill(pid, 0)).not.toThrow(); // what the liveness check used to stop at
      const dir = tempDir();
      const fs = new NodeFileSystem();
      const info = { format: 1, pid, hostname: os.hostname(), startedMs: 1, processStartTicks: systemProcessProbe.startTicks(pid) };
      nodeFs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify(info));
      expect(readLock(fs, dir)).toMatchObject({ state: 'stale', reason: `process ${pid} is not running` });
      acquireLock(fs, dir).release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('counts a process it may not signal (EPERM) as alive', () => {
    expect(systemProcessProbe.isAlive(1)).toBe(true);
  });

  it('reads this process start time and the boot id on Linux', () => {
    if (!nodeFs.existsSync('/proc/self/stat')) return;
    expect(systemProcessProbe.startTicks(process.pid)).toMatch(/^\d+$/);
    expect(systemProcessProbe.bootId()).toMatch(/^[0-9a-f-]+$/);
  });
});

describe('LOCK staleness rules', () => {
  function stage(info: Record<string, unknown> | string): { fs: MemFileSystem; dir: string } {
    const staged = memDir();
    staged.fs.writeFileSync('/db/LOCK', Buffer.from(typeof info === 'string' ? info : JSON.stringify(info)));
    return staged;
  }

  it('holds when pid, start time and boot match', () => {
    const { fs, dir } = stage({ pid: 4242, hostname: 'h', startedMs: 1_795_316_400_000, processStartTicks: '500', bootId: 'boot-a' });
    expect(() => acquireLock(fs, dir, fakeProbe())).toThrow('Cannot open data directory "/db": locked by process 4242 on host "h" since 2026-11-22T03:00:00.000Z');
  });

  it('holds when the start time is unknown but the pid is alive', () => {
    const { fs, dir } = stage({ pid: 4242, hostname: 'h', startedMs: 5 });
    expect(() => acquireLock(fs, dir, fakeProbe({ startTicks: () => undefined }))).toThrow(LockedError);
    expect(() => acquireLock(fs, dir, fakeProbe())).toThrow(LockedError);
  });

  const staleCases: [string, Record<string, unknown> | string, Partial<ProcessProbe>, string][] = [
    ['the pid was reused', { pid: 4242, hostname: 'h', startedMs: 5, processStartTicks: '400', bootId: 'boot-a' }, {}, 'process 4242 is a different process that reused the pid'],
    ['the machine restarted', { pid: 4242, hostname: 'h', startedMs: 5, processStartTicks: '500', bootId: 'boot-z' }, {}, 'it was written before the machine restarted'],
    ['the process is gone', { pid: 4242, hostname: 'h', startedMs: 5 }, { isAlive: () => false }, 'process 4242 is not running'],
    ['the file is not JSON', '{"pid": 12', {}, 'the file does not hold a process id'],
    ['the file is empty', '', {}, 'the file does not hold a process id'],
    ['the pid is not a number', { pid: 'x' }, {}, 'the file does not hold a process id'],
    ['the file is huge', 'x'.repeat(10_000), {}, 'the file does not hold a process id'],
  ];
  for (const [name, info, probe, reason] of staleCases) {
    it(`takes over when ${name}`, () => {
      const { fs, dir } = stage(info);
      expect(readLock(fs, dir, fakeProbe(probe))).toMatchObject({ state: 'stale', reason });
      const lock = acquireLock(fs, dir, fakeProbe(probe));
      expect(lock.tookOverStaleLockFrom?.reason).toBe(reason);
      expect(JSON.parse(fs.readFile('/db/LOCK').toString())).toMatchObject({ pid: process.pid, processStartTicks: '500', bootId: 'boot-a' });
      expect(fs.list(dir)).toEqual(['LOCK']);
      lock.release();
      expect(fs.list(dir)).toEqual([]);
    });
  }

  it('puts back a LOCK that a live process wrote after the stale one was judged', () => {
    const { fs, dir } = stage({ pid: 4242, hostname: 'h', startedMs: 5 });
    const probe = fakeProbe({ isAlive: (pid) => pid !== 4242 });
    let raced = false;
    fs.injectFault((operation, file) => {
      if (operation === 'rename' && file === '/db/LOCK' && !raced) {
        raced = true;
        // Another process takes over first, between our judgement and our rename.
        fs.unlink('/db/LOCK');
        fs.writeFileSync('/db/LOCK', Buffer.from(JSON.stringify({ pid: 777, hostname: 'other', startedMs: 9 })));
      }
      return undefined;
    });
    expect(() => acquireLock(fs, dir, probe)).toThrow(/locked by process 777 on host "other"/);
    expect(JSON.parse(fs.readFile('/db/LOCK').toString())).toMatchObject({ pid: 777 });
    expect(fs.list(dir)).toEqual(['LOCK']);
  });

  it('leaves no LOCK.<pid>.tmp behind when writing it fails (a full disk), and names it', () => {
    // As write(2) fails on a full disk: open created the file, the write found no room.
    class FullDisk extends MemFileSystem {
      override writeFileSync(file: string): void {
        super.writeFileSync(file, Buffer.alloc(0));
        throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC' });
      }
    }
    const fs = new FullDisk();
    fs.mkdir('/db');
    expect(() => acquireLock(fs, '/db', fakeProbe())).toThrow(/Cannot write lock file "\/db\/LOCK\.\d+\.tmp": ENOSPC/);
    expect(fs.list('/db')).toEqual([]);
  });

  it('does not remove a LOCK that replaced ours', () => {
    const { fs, dir } = memDir();
    const lock = acquireLock(fs, dir, fakeProbe());
    fs.unlink('/db/LOCK');
    fs.writeFileSync('/db/LOCK', Buffer.from(JSON.stringify({ pid: 777, hostname: 'other', startedMs: 9 })));
    lock.release();
    expect(fs.exists('/db/LOCK')).toBe(true);
  });
});
