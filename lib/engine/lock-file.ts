// The LOCK file: one process per data directory (docs/format.md, "LOCK").
//
// Node has no flock(2), so the lock is the file's existence plus what it
// says about its owner, one line of JSON:
//
//   {"format":1,"pid":1234,"hostname":"web-1","startedMs":1795316400000,
//    "processStartTicks":"8812345","bootId":"4f0c...-..."}
//
// processStartTicks (field 22 of /proc/<pid>/stat) and bootId
// (/proc/sys/kernel/random/boot_id) are written where Linux provides them;
// they let a later process tell a LOCK whose pid was reused by an unrelated
// process, or which predates a reboot, from one whose owner still runs.
//
// Acquire: write LOCK.<pid>.tmp, then hard-link it to LOCK, which fails if
// LOCK exists; so LOCK appears whole or not at all. If LOCK exists and its
// owner is alive (kill(pid, 0) succeeds or fails with EPERM, /proc does not
// show it a zombie, and the start time matches when both are known) the
// directory is locked: LockedError.
// Otherwise it is stale and taken over: renamed aside to LOCK.<pid>.stale,
// checked to be the very file judged stale (if another process replaced it
// meanwhile, it is put back), removed, and the link is retried.
//
// Liveness is judged on this machine only, as flock(2) is on a local file
// system: the hostname is recorded for people, not for the decision. NB: two
// servers on different hosts sharing one directory over a network file system
// are not detected; that setup is unsupported.
//
// Nothing here is fsynced: after a machine crash every holder is gone, so a
// LOCK that did not survive is no loss.

import fs from 'node:fs';
import os from 'node:os';
import { IoError, KvError, LockedError } from '../errors.js';
import { joinPath, readExactly, type FileHandle, type FileSystem } from '../fs/file-system.js';
import { lockPath, lockStaleFileName, lockTempFileName } from '../format/file-names.js';

/** LOCK format version written; readers accept any object with a numeric pid. */
export const lockFormatVersion = 1;

/** Attempts at taking a contended or stale LOCK before giving up. */
const acquireAttemptsMax = 5;

/** Largest LOCK file read, bytes. */
const lockBytesMax = 4096;

/** What a LOCK file says about its owner. */
export interface LockInfo {
  pid: number;
  hostname: string;
  /** When the lock was taken, ms since the epoch. */
  startedMs: number;
  /** Field 22 of /proc/<pid>/stat: the owner's start time in clock ticks since boot (Linux). */
  processStartTicks?: string;
  /** /proc/sys/kernel/random/boot_id when the lock was taken (Linux). */
  bootId?: string;
}

/** Whether a LOCK file holds the directory. */
export type LockStatus =
  | { state: 'none' }
  | { state: 'held'; info: LockInfo }
  /** `info` is undefined when the file could not be parsed. */
  | { state: 'stale'; info: LockInfo | undefined; reason: string };

/** A stale LOCK that acquireLock replaced; the engine logs it. */
export interface StaleLock {
  info: LockInfo | undefined;
  reason: string;
}

/** Probes the operating system about processes; tests substitute one. */
export interface ProcessProbe {
  /** True when a process with this pid exists (even if it belongs to another user). */
  isAlive(pid: number): boolean;
  /** Field 22 of /proc/<pid>/stat, if readable. */
  startTicks(pid: number): string | undefined;
  /** This boot's id, if the system has one. */
  bootId(): string | undefined;
}

/** The lock this process holds on a directory. */
export class LockHandle {
  readonly path: string;
  readonly info: LockInfo;
  /** Set when a stale LOCK was taken over. */
  readonly tookOverStaleLockFrom: StaleLock | undefined;
  readonly #fs: FileSystem;
  readonly #content: Buffer;
  #released = false;

  /** @internal Made by acquireLock. */
  constructor(fs: FileSystem, path: string, info: LockInfo, content: Buffer, tookOver: StaleLock | undefined) {
    this.#fs = fs;
    this.path = path;
    this.info = info;
    this.#content = content;
    this.tookOverStaleLockFrom = tookOver;
  }

  get released(): boolean {
    return this.#released;
  }

  /**
   * Removes LOCK if it is still this handle's (someone may have removed or
   * replaced it by hand). Idempotent.
   * @throws IoError when LOCK cannot be read or removed
   */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      if (!this.#fs.exists(this.path)) return;
      if (this.#fs.readFile(this.path).equals(this.#content)) this.#fs.unlink(this.path);
    } catch (error) {
      throw ioError(`Cannot release lock "${this.path}"`, error);
    }
  }
}

/**
 * Takes the data directory's LOCK (the directory must exist).
 * @returns the handle; `tookOverStaleLockFrom` says whether a stale LOCK was replaced
 * @throws LockedError when a live process holds it (the message names pid, host and time)
 * @throws IoError when the lock files cannot be written
 * @example
 *   const lock = acquireLock(fs, dir);
 *   if (lock.tookOverStaleLockFrom) log.warn(lock.tookOverStaleLockFrom, 'took over stale LOCK');
 *   ...
 *   lock.release();
 */
export function acquireLock(fs: FileSystem, dir: string, probe: ProcessProbe = systemProcessProbe): LockHandle {
  const info = currentLockInfo(probe);
  const content = Buffer.from(`${JSON.stringify({ format: lockFormatVersion, ...info })}\n`);
  const path = lockPath(dir);
  const tempPath = joinPath(dir, lockTempFileName(process.pid));
  const stalePath = joinPath(dir, lockStaleFileName(process.pid));
  let tookOver: StaleLock | undefined;
  try {
    fs.writeFileSync(tempPath, content);
  } catch (error) {
    removeQuietly(fs, tempPath); // created before the write failed (a full disk): one more at every failed start
    throw ioError(`Cannot write lock file "${tempPath}"`, error);
  }
  try {
    for (let attempt = 0; attempt < acquireAttemptsMax; attempt++) {
      if (tryLink(fs, tempPath, path)) return new LockHandle(fs, path, info, content, tookOver);
      const existing = readLockBytes(fs, path);
      if (existing === undefined) continue; // Removed since the link failed: try again.
      const status = judgeLock(existing, probe);
      if (status.state === 'held') throw lockedError(dir, status.info);
      if (status.state === 'stale' && moveAsideIfUnchanged(fs, path, stalePath, existing)) tookOver = { info: status.info, reason: status.reason };
    }
  } catch (error) {
    throw ioError(`Cannot take lock "${path}"`, error);
  } finally {
    removeQuietly(fs, tempPath);
  }
  throw new LockedError(`Cannot open data directory "${dir}": "LOCK" is contended (gave up after ${acquireAttemptsMax} attempts)`);
}

/**
 * Reads LOCK without taking it, for tools that must not write into a
 * directory a running server holds.
 */
export function readLock(fs: FileSystem, dir: string, probe: ProcessProbe = systemProcessProbe): LockStatus {
  try {
    const existing = readLockBytes(fs, lockPath(dir));
    return existing === undefined ? { state: 'none' } : judgeLock(existing, probe);
  } catch (error) {
    throw ioError(`Cannot read lock "${lockPath(dir)}"`, error);
  }
}

/** The operating system's answers, from process.kill and /proc. */
export const systemProcessProbe: ProcessProbe = {
  isAlive(pid: number): boolean {
    try {
      process.kill(pid, 0);
    } catch (error) {
      // EPERM: the process exists but belongs to someone else. ESRCH: no such process.
      if ((error as { code?: unknown }).code !== 'EPERM') return false;
    }
    // A zombie (state Z: exited, or SIGKILLed, and not yet reaped by its parent, as
    // in a container whose first process reaps nothing) still answers kill(pid, 0),
    // but has closed its files and runs no code: it holds nothing. X: being reaped.
    const state = procStatFields(pid)?.[0];
    return state !== 'Z' && state !== 'X';
  },
  startTicks(pid: number): string | undefined {
    const ticks = procStatFields(pid)?.[22 - 3];
    return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
  },
  bootId(): string | undefined {
    return readProcFile('/proc/sys/kernel/random/boot_id')?.trim() || undefined;
  },
};

/** Decides whether the LOCK whose bytes are `raw` is held by a running process. */
function judgeLock(raw: Buffer, probe: ProcessProbe): LockStatus {
  const info = parseLockInfo(raw);
  if (info === undefined) return { state: 'stale', info, reason: 'the file does not hold a process id' };
  const bootId = probe.bootId();
  if (info.bootId !== undefined && bootId !== undefined && info.bootId !== bootId) {
    return { state: 'stale', info, reason: 'it was written before the machine restarted' };
  }
  if (!probe.isAlive(info.pid)) return { state: 'stale', info, reason: `process ${info.pid} is not running` };
  const startTicks = info.processStartTicks === undefined ? undefined : probe.startTicks(info.pid);
  if (startTicks !== undefined && startTicks !== info.processStartTicks) {
    return { state: 'stale', info, reason: `process ${info.pid} is a different process that reused the pid` };
  }
  return { state: 'held', info };
}

function parseLockInfo(raw: Buffer): LockInfo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined; // Not JSON: no owner can be named, so the caller treats it as stale.
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const pid = record['pid'];
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const info: LockInfo = {
    pid,
    hostname: typeof record['hostname'] === 'string' ? record['hostname'] : '',
    startedMs: typeof record['startedMs'] === 'number' ? record['startedMs'] : 0,
  };
  if (typeof record['processStartTicks'] === 'string') info.processStartTicks = record['processStartTicks'];
  if (typeof record['bootId'] === 'string') info.bootId = record['bootId'];
  return info;
}

function currentLockInfo(probe: ProcessProbe): LockInfo {
  const info: LockInfo = { pid: process.pid, hostname: os.hostname(), startedMs: Date.now() };
  const startTicks = probe.startTicks(process.pid);
  if (startTicks !== undefined) info.processStartTicks = startTicks;
  const bootId = probe.bootId();
  if (bootId !== undefined) info.bootId = bootId;
  return info;
}

/** Links `from` to `to`. @returns false when `to` already exists. */
function tryLink(fs: FileSystem, from: string, to: string): boolean {
  try {
    fs.link(from, to);
    return true;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/**
 * The LOCK file's bytes (at most lockBytesMax + 1: a longer file is nothing
 * silt wrote, and fails to parse), or undefined when there is none.
 */
function readLockBytes(fs: FileSystem, path: string): Buffer | undefined {
  let file: FileHandle;
  try {
    file = fs.open(path, 'read');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return readExactly(file, 0, lockBytesMax + 1);
  } finally {
    file.close();
  }
}

/**
 * Moves LOCK to `stalePath` if it still holds `expected`; if another process
 * replaced it meanwhile, puts that one back.
 * @returns true when the stale LOCK was removed
 */
function moveAsideIfUnchanged(fs: FileSystem, path: string, stalePath: string, expected: Buffer): boolean {
  try {
    fs.rename(path, stalePath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false; // Someone else moved it first.
    throw error;
  }
  const moved = readLockBytes(fs, stalePath);
  if (moved !== undefined && moved.equals(expected)) {
    fs.unlink(stalePath);
    return true;
  }
  // We moved a LOCK that was written after we judged: put it back. If yet
  // another process linked a LOCK meanwhile, that one stays; either way the
  // next attempt judges whatever LOCK now is.
  tryLink(fs, stalePath, path);
  removeQuietly(fs, stalePath);
  return false;
}

function lockedError(dir: string, info: LockInfo): LockedError {
  const who = info.pid === process.pid ? `this process (${info.pid})` : `process ${info.pid}`;
  const host = info.hostname === '' ? '' : ` on host "${info.hostname}"`;
  const since = Number.isFinite(info.startedMs) && info.startedMs > 0 ? ` since ${new Date(info.startedMs).toISOString()}` : '';
  return new LockedError(`Cannot open data directory "${dir}": locked by ${who}${host}${since}`);
}

/** The fields of /proc/<pid>/stat from field 3 (state) on, if readable (Linux). */
function procStatFields(pid: number): string[] | undefined {
  // /proc is the operating system, not the data directory, so it is read
  // directly rather than through FileSystem.
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name is parenthesised and may hold spaces and parentheses: split after the last ")".
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function readProcFile(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'latin1');
  } catch {
    return undefined; // Not Linux, or the process is gone: the caller works without it.
  }
}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown } | undefined)?.code;
}

/** Wraps a failed system call in IoError; silt errors and bugs (no errno code) pass unchanged. */
function ioError(action: string, error: unknown): unknown {
  if (error instanceof KvError || typeof errorCode(error) !== 'string') return error;
  return new IoError(`${action}: ${(error as Error).message}`, { cause: error });
}

/** Removes our temp file; safe to fail, since a leftover LOCK.<pid>.tmp holds nothing and is overwritten next time. */
function removeQuietly(fs: FileSystem, path: string): void {
  try {
    if (fs.exists(path)) fs.unlink(path);
  } catch {
    // See the function comment.
  }
}
