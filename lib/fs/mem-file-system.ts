// An in-memory FileSystem for tests, with crash semantics modelled on pebble's
// vfs.MemFS and LevelDB's fault-injection Env:
//
// - File bytes are durable up to the last sync() of that file. A crash clone
//   keeps the synced bytes and, if asked, a random part of what was written
//   since (a torn tail): the writes persist in file order up to a random
//   byte, so an append that overwrote preallocated zeros (synced) may keep
//   part of its bytes and the old zeros after them.
// - Directory entries (create, rename, unlink, link) are durable once the
//   directory is synced with syncDir(). A crash clone sees each directory as
//   it was at its last syncDir.
// - Directories themselves are durable as soon as mkdir returns (simplification:
//   the engine creates them once, before anything that depends on them).
//
// Faults: injectFault(fn) makes any operation throw the Error that fn returns,
// to simulate a full disk (ENOSPC) or an I/O error (EIO) and then recovery.

import { baseName, dirName, type FileHandle, type FileStat, type FileSystem, type OpenMode } from './file-system.js';

/** A file's contents, shared by hard links. */
class Inode {
  data = Buffer.alloc(0);
  length = 0;
  /** Bytes [0, syncedLength) of `data` are durable, unless `syncedCopy` holds the durable bytes (after a truncate). */
  syncedLength = 0;
  syncedCopy: Buffer | undefined;
  /** Durable bytes overwritten since the last sync, oldest first (while syncedCopy is undefined). */
  overwrites: { position: number; old: Buffer }[] = [];
  mtimeMs = Date.now();

  bytes(): Buffer {
    return this.data.subarray(0, this.length);
  }

  appendBytes(chunk: Uint8Array): void {
    this.writeAt(chunk, this.length);
  }

  /** Writes `chunk` at `position` (at most the length: files have no holes here), growing the file as needed. */
  writeAt(chunk: Uint8Array, position: number): void {
    const end = position + chunk.length;
    if (position < this.syncedLength && this.syncedCopy === undefined) {
      this.overwrites.push({ position, old: Buffer.from(this.data.subarray(position, Math.min(end, this.syncedLength))) });
    }
    if (end > this.data.length) {
      const grown = Buffer.alloc(Math.max(end, this.data.length * 2, 256));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    this.data.set(chunk, position);
    if (end > this.length) this.length = end;
    this.mtimeMs = Date.now();
  }

  markSynced(): void {
    this.syncedLength = this.length;
    this.syncedCopy = undefined;
    this.overwrites = [];
  }

  durableBytes(): Buffer {
    if (this.syncedCopy !== undefined) return Buffer.from(this.syncedCopy);
    const durable = Buffer.from(this.data.subarray(0, this.syncedLength));
    for (let index = this.overwrites.length - 1; index >= 0; index--) {
      const { position, old } = this.overwrites[index]!;
      durable.set(old, position);
    }
    return durable;
  }

  /** First byte that differs from the durable file, if any: the start of the unsynced writes. */
  firstUnsynced(): number | undefined {
    let first = this.length > this.syncedLength ? this.syncedLength : undefined;
    for (const { position } of this.overwrites) if (first === undefined || position < first) first = position;
    return first;
  }
}

export type FaultOperation = 'open' | 'read' | 'append' | 'preallocate' | 'sync' | 'truncate' | 'rename' | 'unlink' | 'link' | 'mkdir' | 'write';
export type FaultInjector = (operation: FaultOperation, path: string) => Error | undefined;

export interface CrashCloneOptions {
  /** Keep a random prefix of each file's unsynced appended bytes (a torn write). Default false. */
  keepUnsyncedPrefix?: boolean;
  /** Random source in [0, 1) for keepUnsyncedPrefix; tests pass a seeded one. */
  random?: () => number;
}

/** Makes an Error that looks like a failed system call. */
export function systemError(code: string, operation: string, path: string): Error {
  const error = new Error(`${code}: ${operation} "${path}"`) as Error & { code: string; syscall: string; path: string };
  error.code = code;
  error.syscall = operation;
  error.path = path;
  return error;
}

class MemFileHandle implements FileHandle {
  readonly path: string;
  readonly #fs: MemFileSystem;
  readonly #inode: Inode;
  readonly #writable: boolean;
  /** End of this handle's last append; undefined until it writes (then size() follows the file). */
  #size: number | undefined;
  #closed = false;

  constructor(fs: MemFileSystem, path: string, inode: Inode, writable: boolean) {
    this.#fs = fs;
    this.path = path;
    this.#inode = inode;
    this.#writable = writable;
  }

  read(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    this.#check('read');
    const available = Math.max(0, Math.min(length, this.#inode.length - position));
    target.set(this.#inode.data.subarray(position, position + available), targetOffset);
    return available;
  }

  append(data: Uint8Array): void {
    this.#check('append');
    if (!this.#writable) throw systemError('EBADF', 'write', this.path);
    const position = this.#size ?? this.#inode.length;
    this.#inode.writeAt(data, position);
    this.#size = position + data.length;
  }

  preallocate(bytes: number): void {
    this.#check('preallocate');
    if (!this.#writable) throw systemError('EBADF', 'write', this.path);
    this.#size ??= this.#inode.length;
    this.#inode.appendBytes(Buffer.alloc(bytes));
  }

  sync(): Promise<void> {
    try {
      this.syncBlocking();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  syncBlocking(): void {
    this.#check('sync');
    this.#inode.markSynced();
  }

  size(): number {
    return this.#size ?? this.#inode.length;
  }

  truncate(length: number): void {
    this.#check('truncate');
    const inode = this.#inode;
    if (length < inode.syncedLength && inode.syncedCopy === undefined) inode.syncedCopy = inode.durableBytes();
    if (length > inode.length) inode.appendBytes(Buffer.alloc(length - inode.length));
    inode.length = length;
    if (this.#size !== undefined) this.#size = length;
  }

  close(): void {
    this.#closed = true;
  }

  #check(operation: FaultOperation): void {
    if (this.#closed) throw systemError('EBADF', operation, this.path);
    this.#fs.fault(operation, this.path);
  }
}

export class MemFileSystem implements FileSystem {
  readonly kind = 'mem' as const;
  /** path -> inode, as the directory entries are now. */
  #files = new Map<string, Inode>();
  /** path -> inode, as of each directory's last syncDir. */
  #durableFiles = new Map<string, Inode>();
  #directories = new Set<string>(['/', '.']);
  #faultInjector: FaultInjector | undefined;
  /** What freeBytes() answers (tests set it; undefined: unknown). Writes do not change it. */
  freeBytesValue: number | undefined;

  /** Makes operations fail as `injector` decides; pass undefined to heal. */
  injectFault(injector: FaultInjector | undefined): void {
    this.#faultInjector = injector;
  }

  /** @internal Throws the injected fault for `operation` on `path`, if any. */
  fault(operation: FaultOperation, path: string): void {
    const error = this.#faultInjector?.(operation, path);
    if (error) throw error;
  }

  /** What a machine crash would leave: durable directory entries and synced bytes (see the header). */
  crashClone(options: CrashCloneOptions = {}): MemFileSystem {
    const random = options.random ?? Math.random;
    return this.#clone(this.#durableFiles, (inode) => {
      const first = inode.firstUnsynced();
      if (options.keepUnsyncedPrefix && inode.syncedCopy === undefined && first !== undefined) {
        // The writes since the last sync persist in file order up to `cut`.
        const cut = first + Math.floor(random() * (inode.length - first + 1));
        const durable = inode.durableBytes();
        const kept = Buffer.alloc(Math.max(cut, durable.length));
        durable.copy(kept);
        inode.data.copy(kept, 0, 0, cut);
        return kept;
      }
      return inode.durableBytes();
    });
  }

  /**
   * What a killed process would leave: the kernel keeps its page cache, so
   * every directory entry and every byte written so far survive (and are
   * durable in the clone). A write(2) the kill cut short is the caller's to
   * add: append the part that landed to the clone's file.
   */
  killClone(): MemFileSystem {
    return this.#clone(this.#files, (inode) => inode.bytes());
  }

  /** A file system holding `entries`, each file with the bytes `keep` gives (hard links stay shared), all durable. */
  #clone(entries: Map<string, Inode>, keep: (inode: Inode) => Uint8Array): MemFileSystem {
    const clone = new MemFileSystem();
    const cloned = new Map<Inode, Inode>();
    for (const [path, inode] of entries) {
      let copy = cloned.get(inode);
      if (copy === undefined) {
        copy = new Inode();
        copy.appendBytes(keep(inode));
        copy.markSynced();
        cloned.set(inode, copy);
      }
      clone.#files.set(path, copy);
      clone.#durableFiles.set(path, copy);
    }
    for (const dir of this.#directories) clone.#directories.add(dir);
    return clone;
  }

  open(path: string, mode: OpenMode): FileHandle {
    this.fault('open', path);
    let inode = this.#files.get(path);
    if (mode === 'create') {
      if (inode !== undefined) throw systemError('EEXIST', 'open', path);
      this.#requireDirectory(dirName(path), path);
      inode = new Inode();
      this.#files.set(path, inode);
    } else if (inode === undefined) {
      throw systemError('ENOENT', 'open', path);
    }
    return new MemFileHandle(this, path, inode, mode !== 'read');
  }

  readFile(path: string): Buffer {
    this.fault('read', path);
    const inode = this.#files.get(path);
    if (inode === undefined) throw systemError('ENOENT', 'open', path);
    return Buffer.from(inode.bytes());
  }

  writeFileSync(path: string, data: Uint8Array): void {
    this.fault('write', path);
    this.#requireDirectory(dirName(path), path);
    const inode = new Inode();
    inode.appendBytes(data);
    inode.markSynced();
    this.#files.set(path, inode);
  }

  exists(path: string): boolean {
    return this.#files.has(path) || this.#directories.has(path);
  }

  stat(path: string): FileStat {
    const inode = this.#files.get(path);
    if (inode !== undefined) return { size: inode.length, mtimeMs: inode.mtimeMs, isDirectory: false };
    if (this.#directories.has(path)) return { size: 0, mtimeMs: 0, isDirectory: true };
    throw systemError('ENOENT', 'stat', path);
  }

  list(dir: string): string[] {
    if (!this.#directories.has(dir)) throw systemError('ENOENT', 'scandir', dir);
    const names = new Set<string>();
    for (const path of [...this.#files.keys(), ...this.#directories]) {
      if (path !== dir && dirName(path) === dir) names.add(baseName(path));
    }
    return [...names].sort();
  }

  mkdir(dir: string): void {
    this.fault('mkdir', dir);
    for (let path = dir; path !== '.' && path !== '/' && !this.#directories.has(path); path = dirName(path)) {
      this.#directories.add(path);
    }
  }

  rename(from: string, to: string): void {
    this.fault('rename', from);
    const inode = this.#files.get(from);
    if (inode === undefined) throw systemError('ENOENT', 'rename', from);
    this.#requireDirectory(dirName(to), to);
    this.#files.delete(from);
    this.#files.set(to, inode);
  }

  unlink(path: string): void {
    this.fault('unlink', path);
    if (!this.#files.delete(path)) throw systemError('ENOENT', 'unlink', path);
  }

  remove(path: string): Promise<void> {
    try {
      this.unlink(path);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  removeTree(dir: string): void {
    const prefix = `${dir}/`;
    for (const path of [...this.#files.keys()]) if (path.startsWith(prefix)) this.#files.delete(path);
    for (const path of [...this.#durableFiles.keys()]) if (path.startsWith(prefix)) this.#durableFiles.delete(path);
    for (const path of [...this.#directories]) if (path === dir || path.startsWith(prefix)) this.#directories.delete(path);
  }

  link(from: string, to: string): void {
    this.fault('link', to);
    const inode = this.#files.get(from);
    if (inode === undefined) throw systemError('ENOENT', 'link', from);
    if (this.#files.has(to)) throw systemError('EEXIST', 'link', to);
    this.#requireDirectory(dirName(to), to);
    this.#files.set(to, inode);
  }

  copyFile(from: string, to: string): void {
    this.fault('write', to);
    const inode = this.#files.get(from);
    if (inode === undefined) throw systemError('ENOENT', 'copyfile', from);
    if (this.#files.has(to)) throw systemError('EEXIST', 'copyfile', to);
    this.#requireDirectory(dirName(to), to);
    const copy = new Inode();
    copy.appendBytes(inode.bytes());
    copy.markSynced();
    this.#files.set(to, copy);
  }

  copyPrefix(from: string, to: string, length: number): Promise<void> {
    try {
      this.fault('write', to);
      const inode = this.#files.get(from);
      if (inode === undefined) throw systemError('ENOENT', 'copyfile', from);
      if (this.#files.has(to)) throw systemError('EEXIST', 'copyfile', to);
      const bytes = inode.bytes();
      if (bytes.length < length) throw Object.assign(new Error(`copy of "${from}" holds ${bytes.length} bytes, fewer than the ${length} asked for`), { code: 'ESHORT' });
      this.#requireDirectory(dirName(to), to);
      const copy = new Inode();
      copy.appendBytes(bytes.subarray(0, length));
      copy.markSynced();
      this.#files.set(to, copy);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  freeBytes(_dir: string): number | undefined {
    return this.freeBytesValue;
  }

  syncDir(dir: string): void {
    this.fault('sync', dir);
    for (const path of [...this.#durableFiles.keys()]) {
      if (dirName(path) === dir) this.#durableFiles.delete(path);
    }
    for (const [path, inode] of this.#files) {
      if (dirName(path) === dir) this.#durableFiles.set(path, inode);
    }
  }

  #requireDirectory(dir: string, path: string): void {
    if (!this.#directories.has(dir)) throw systemError('ENOENT', 'open', path);
  }
}
