// Test helpers for the WAL: a FileSystem wrapper over MemFileSystem that
// counts appends and syncs, can hold fdatasyncs until the test releases them
// (to see what resolves before and after), and can make an append write only
// part of its bytes before failing (a short write on a full disk).

import { MemFileSystem, systemError } from '../../../lib/fs/mem-file-system.js';
import type { FileHandle, FileStat, FileSystem, OpenMode } from '../../../lib/fs/file-system.js';

interface HeldSync {
  path: string;
  release(): void;
  fail(error: Error): void;
}

export class ControlledFileSystem implements FileSystem {
  readonly kind = 'mem' as const;
  readonly inner: MemFileSystem;
  /** FileHandle.append calls, by path. */
  readonly appends = new Map<string, number>();
  /** FileHandle.sync calls (async fdatasync), by path. */
  readonly syncs = new Map<string, number>();
  /** When true, FileHandle.sync() waits for release() (the bytes are made durable when it is called). */
  holdSyncs = false;
  readonly heldSyncs: HeldSync[] = [];
  /** When set, the next append to a matching path writes this many bytes, then throws ENOSPC. */
  shortWrite: { path: string; bytes: number } | undefined;

  constructor(inner: MemFileSystem = new MemFileSystem()) {
    this.inner = inner;
  }

  appendCount(path: string): number {
    return this.appends.get(path) ?? 0;
  }

  syncCount(path: string): number {
    return this.syncs.get(path) ?? 0;
  }

  /** Releases the oldest held sync. */
  releaseSync(): void {
    const held = this.heldSyncs.shift();
    if (held === undefined) throw new Error('no held sync');
    held.release();
  }

  /** Fails the oldest held sync with `error`. */
  failSync(error: Error): void {
    const held = this.heldSyncs.shift();
    if (held === undefined) throw new Error('no held sync');
    held.fail(error);
  }

  open(path: string, mode: OpenMode): FileHandle {
    const inner = this.inner.open(path, mode);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const outer = this;
    return {
      path: inner.path,
      read: (target, targetOffset, length, position) => inner.read(target, targetOffset, length, position),
      append(data: Uint8Array): void {
        outer.appends.set(path, outer.appendCount(path) + 1);
        const short = outer.shortWrite;
        if (short !== undefined && short.path === path) {
          outer.shortWrite = undefined;
          inner.append(data.subarray(0, short.bytes));
          throw systemError('ENOSPC', 'write', path);
        }
        inner.append(data);
      },
      sync(): Promise<void> {
        outer.syncs.set(path, outer.syncCount(path) + 1);
        let outcome: Error | undefined;
        try {
          inner.syncBlocking();
        } catch (error) {
          outcome = error as Error;
        }
        if (!outer.holdSyncs) return outcome === undefined ? Promise.resolve() : Promise.reject(outcome);
        return new Promise<void>((resolve, reject) => {
          outer.heldSyncs.push({
            path,
            release: () => (outcome === undefined ? resolve() : reject(outcome)),
            fail: (error) => reject(error),
          });
        });
      },
      preallocate: (bytes) => inner.preallocate(bytes),
      syncBlocking: () => inner.syncBlocking(),
      size: () => inner.size(),
      truncate: (length) => inner.truncate(length),
      close: () => inner.close(),
    };
  }

  readFile(path: string): Buffer {
    return this.inner.readFile(path);
  }
  writeFileSync(path: string, data: Uint8Array): void {
    this.inner.writeFileSync(path, data);
  }
  exists(path: string): boolean {
    return this.inner.exists(path);
  }
  stat(path: string): FileStat {
    return this.inner.stat(path);
  }
  list(dir: string): string[] {
    return this.inner.list(dir);
  }
  mkdir(dir: string): void {
    this.inner.mkdir(dir);
  }
  rename(from: string, to: string): void {
    this.inner.rename(from, to);
  }
  unlink(path: string): void {
    this.inner.unlink(path);
  }
  remove(path: string): Promise<void> {
    return this.inner.remove(path);
  }
  removeTree(dir: string): void {
    this.inner.removeTree(dir);
  }
  link(from: string, to: string): void {
    this.inner.link(from, to);
  }
  copyFile(from: string, to: string): void {
    this.inner.copyFile(from, to);
  }

  copyPrefix(from: string, to: string, length: number): Promise<void> {
    return this.inner.copyPrefix(from, to, length);
  }
  syncDir(dir: string): void {
    this.inner.syncDir(dir);
  }

  freeBytes(dir: string): number | undefined {
    return this.inner.freeBytes(dir);
  }
}

/** Resolves after the current turn's setImmediate callbacks have run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `count` event-loop turns. */
export async function turns(count: number): Promise<void> {
  for (let index = 0; index < count; index++) await nextTurn();
}

/** Tracks whether a promise has settled, without letting a rejection go unhandled. */
export function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown; promise: Promise<T> } {
  const state: { settled: boolean; value?: T; error?: unknown; promise: Promise<T> } = { settled: false, promise };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** A put op with string key and value. */
export function put(key: string, value: string): { type: 'put'; key: Buffer; value: Buffer } {
  return { type: 'put', key: Buffer.from(key), value: Buffer.from(value) };
}

/** A delete op. */
export function del(key: string): { type: 'del'; key: Buffer } {
  return { type: 'del', key: Buffer.from(key) };
}
