// FileSystem on node:fs. Reads and appends are synchronous system calls (page
// cache speed); sync() runs fdatasync on libuv's thread pool so the event
// loop keeps serving while the disk flushes. Appends are positioned writes
// (no O_APPEND), so that they can land on zeros preallocate() wrote.

import fs from 'node:fs';
import { dirname } from 'node:path';
import type { FileHandle, FileStat, FileSystem, OpenMode } from './file-system.js';

const openFlags: Record<OpenMode, string> = { read: 'r', append: 'r+', create: 'wx+' };
/** Zeros written per write(2) by preallocate(). */
const zeroChunk = Buffer.alloc(256 * 1024);

class NodeFileHandle implements FileHandle {
  readonly path: string;
  #fd: number;
  /** End of the last append. */
  #size: number;
  /** Length of the file: #size plus preallocated zeros. */
  #length: number;

  constructor(path: string, fd: number) {
    this.path = path;
    this.#fd = fd;
    this.#size = fs.fstatSync(fd).size;
    this.#length = this.#size;
  }

  read(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    return fs.readSync(this.#fd, target, targetOffset, length, position);
  }

  append(data: Uint8Array): void {
    let written = 0;
    while (written < data.length) {
      written += fs.writeSync(this.#fd, data, written, data.length - written, this.#size + written);
    }
    this.#size += data.length;
    if (this.#size > this.#length) this.#length = this.#size;
  }

  preallocate(bytes: number): void {
    for (let left = bytes; left > 0; ) {
      const written = fs.writeSync(this.#fd, zeroChunk, 0, Math.min(left, zeroChunk.length), this.#length);
      this.#length += written;
      left -= written;
    }
  }

  sync(): Promise<void> {
    return new Promise((resolve, reject) => {
      fs.fdatasync(this.#fd, (error) => (error ? reject(error) : resolve()));
    });
  }

  syncBlocking(): void {
    fs.fdatasyncSync(this.#fd);
  }

  size(): number {
    return this.#size;
  }

  truncate(length: number): void {
    fs.ftruncateSync(this.#fd, length);
    this.#size = length;
    this.#length = length;
  }

  close(): void {
    if (this.#fd === -1) return;
    fs.closeSync(this.#fd);
    this.#fd = -1;
  }
}

export class NodeFileSystem implements FileSystem {
  readonly kind = 'node' as const;

  open(path: string, mode: OpenMode): FileHandle {
    return new NodeFileHandle(path, fs.openSync(path, openFlags[mode]));
  }

  readFile(path: string): Buffer {
    return fs.readFileSync(path);
  }

  writeFileSync(path: string, data: Uint8Array): void {
    const fd = fs.openSync(path, 'w');
    try {
      let written = 0;
      while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  exists(path: string): boolean {
    return fs.existsSync(path);
  }

  stat(path: string): FileStat {
    const stat = fs.statSync(path);
    return { size: stat.size, mtimeMs: stat.mtimeMs, isDirectory: stat.isDirectory() };
  }

  list(dir: string): string[] {
    return fs.readdirSync(dir).sort();
  }

  mkdir(dir: string): void {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (error) {
      // Node's recursive mkdir reports ENOENT for some failures whose cause is another (EROFS on a
      // read-only file system, seen on Node 20): make each missing level by itself, so the error says why.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = dirname(dir);
      if (parent !== dir && !fs.existsSync(parent)) this.mkdir(parent);
      if (!fs.existsSync(dir)) fs.mkdirSync(dir);
    }
  }

  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }

  unlink(path: string): void {
    fs.unlinkSync(path);
  }

  remove(path: string): Promise<void> {
    return fs.promises.unlink(path);
  }

  removeTree(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  link(from: string, to: string): void {
    fs.linkSync(from, to);
  }

  copyFile(from: string, to: string): void {
    fs.copyFileSync(from, to, fs.constants.COPYFILE_EXCL);
    const fd = fs.openSync(to, 'r+');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  async copyPrefix(from: string, to: string, length: number): Promise<void> {
    // copy_file_range(2) on the thread pool, then cut to the prefix: the source may have grown since.
    await fs.promises.copyFile(from, to, fs.constants.COPYFILE_EXCL);
    try {
      const file = await fs.promises.open(to, 'r+');
      try {
        const { size } = await file.stat();
        if (size < length) throw Object.assign(new Error(`copy of "${from}" holds ${size} bytes, fewer than the ${length} asked for (the file was cut short meanwhile)`), { code: 'ESHORT' });
        await file.truncate(length);
        await file.sync();
      } finally {
        await file.close();
      }
    } catch (error) {
      await fs.promises.unlink(to).catch(() => undefined);
      throw error;
    }
  }

  freeBytes(dir: string): number | undefined {
    try {
      const stats = fs.statfsSync(dir);
      return stats.bavail * stats.bsize;
    } catch {
      return undefined;
    }
  }

  syncDir(dir: string): void {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
