// A FileSystem wrapper for fault tests on any file system (MemFileSystem has
// its own injectFault; this one also works over NodeFileSystem, so a fault
// test can run against real files with the inline executor).
//
// - injectFault(fn): every operation (the same names as MemFileSystem's
//   FaultOperation) first asks `fn`; an Error it returns is thrown instead.
// - beforeSync(fn): an async hook awaited before every FileHandle.sync(), to
//   widen the window in which other callbacks run while an fdatasync is "in
//   flight" (MemFileSystem's sync otherwise resolves at once).
// - beforeAppend(fn): called with the path, bytes and file position of every
//   append before it happens (a crash test takes its snapshot there). The
//   position is the end of what the handle appended, which is before the
//   file's end when zeros were preallocated after it.
// - With `{ partialAppend: true }`, a faulted append first writes the first
//   half of its bytes, as a write(2) cut short by a full disk would.
//
// Example:
//   const fs = new FaultFileSystem(new NodeFileSystem());
//   fs.injectFault((op, path) => (op === 'append' && path.includes('/wal/') ? systemError('ENOSPC', 'write', path) : undefined));

import type { FileHandle, FileStat, FileSystem, OpenMode } from '../../lib/fs/file-system.js';
import type { FaultInjector, FaultOperation } from '../../lib/fs/mem-file-system.js';

export class FaultFileSystem implements FileSystem {
  readonly inner: FileSystem;
  #injector: FaultInjector | undefined;
  #partialAppend = false;
  #beforeSync: ((path: string) => Promise<void>) | undefined;
  #beforeAppend: ((path: string, data: Uint8Array, position: number) => void) | undefined;

  constructor(inner: FileSystem) {
    this.inner = inner;
  }

  get kind(): 'node' | 'mem' {
    return this.inner.kind;
  }

  /** Makes operations fail as `injector` decides; undefined heals. */
  injectFault(injector: FaultInjector | undefined, options: { partialAppend?: boolean } = {}): void {
    this.#injector = injector;
    this.#partialAppend = options.partialAppend === true;
  }

  /** @internal */
  get partialAppend(): boolean {
    return this.#partialAppend;
  }

  /** Awaited before each file sync(); undefined removes the hook. */
  beforeSync(hook: ((path: string) => Promise<void>) | undefined): void {
    this.#beforeSync = hook;
  }

  /** @internal */
  fault(operation: FaultOperation, path: string): void {
    const error = this.faultFor(operation, path);
    if (error) throw error;
  }

  /** @internal */
  faultFor(operation: FaultOperation, path: string): Error | undefined {
    return this.#injector?.(operation, path);
  }

  /** Called before each file append(); undefined removes the hook. */
  beforeAppend(hook: ((path: string, data: Uint8Array, position: number) => void) | undefined): void {
    this.#beforeAppend = hook;
  }

  /** @internal */
  appendHook(path: string, data: Uint8Array, position: number): void {
    this.#beforeAppend?.(path, data, position);
  }

  /** @internal */
  syncHook(path: string): Promise<void> {
    return this.#beforeSync === undefined ? Promise.resolve() : this.#beforeSync(path);
  }

  open(path: string, mode: OpenMode): FileHandle {
    this.fault('open', path);
    return new FaultFileHandle(this, this.inner.open(path, mode));
  }

  readFile(path: string): Buffer {
    this.fault('read', path);
    return this.inner.readFile(path);
  }

  writeFileSync(path: string, data: Uint8Array): void {
    this.fault('write', path);
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
    this.fault('mkdir', dir);
    this.inner.mkdir(dir);
  }

  rename(from: string, to: string): void {
    this.fault('rename', from);
    this.inner.rename(from, to);
  }

  unlink(path: string): void {
    this.fault('unlink', path);
    this.inner.unlink(path);
  }

  remove(path: string): Promise<void> {
    try {
      this.fault('unlink', path);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.inner.remove(path);
  }

  removeTree(dir: string): void {
    this.inner.removeTree(dir);
  }

  link(from: string, to: string): void {
    this.fault('link', to);
    this.inner.link(from, to);
  }

  copyFile(from: string, to: string): void {
    this.fault('write', to);
    this.inner.copyFile(from, to);
  }

  copyPrefix(from: string, to: string, length: number): Promise<void> {
    try {
      this.fault('write', to);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return this.inner.copyPrefix(from, to, length);
  }

  syncDir(dir: string): void {
    this.fault('sync', dir);
    this.inner.syncDir(dir);
  }

  /** What freeBytes() answers instead of the inner file system, when set (a full disk). */
  freeBytesValue: number | undefined;

  freeBytes(dir: string): number | undefined {
    return this.freeBytesValue ?? this.inner.freeBytes(dir);
  }
}

class FaultFileHandle implements FileHandle {
  readonly #fs: FaultFileSystem;
  readonly #inner: FileHandle;

  constructor(fs: FaultFileSystem, inner: FileHandle) {
    this.#fs = fs;
    this.#inner = inner;
  }

  get path(): string {
    return this.#inner.path;
  }

  read(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    this.#fs.fault('read', this.path);
    return this.#inner.read(target, targetOffset, length, position);
  }

  append(data: Uint8Array): void {
    this.#fs.appendHook(this.path, data, this.#inner.size());
    const error = this.#fs.faultFor('append', this.path);
    if (error) {
      if (this.#fs.partialAppend && data.length > 1) this.#inner.append(data.subarray(0, data.length >> 1));
      throw error;
    }
    this.#inner.append(data);
  }

  preallocate(bytes: number): void {
    this.#fs.fault('preallocate', this.path);
    this.#inner.preallocate(bytes);
  }

  async sync(): Promise<void> {
    await this.#fs.syncHook(this.path);
    this.#fs.fault('sync', this.path);
    await this.#inner.sync();
  }

  syncBlocking(): void {
    this.#fs.fault('sync', this.path);
    this.#inner.syncBlocking();
  }

  size(): number {
    return this.#inner.size();
  }

  truncate(length: number): void {
    this.#fs.fault('truncate', this.path);
    this.#inner.truncate(length);
  }

  close(): void {
    this.#inner.close();
  }
}
