// All engine file access goes through this interface, so that tests can run
// the engine on MemFileSystem and take crash clones of it, as pebble's vfs
// and LevelDB's Env do.
//
// Reads and writes are synchronous: the engine reads inside a command on the
// event loop (memtable, block cache, else one positioned read) and appends
// WAL bytes to the page cache with one write(2) per batch group. Only
// durability, `sync()`, is asynchronous so that fdatasync never blocks the
// event loop. Paths are plain strings joined with "/".

/** An open file. Positions and lengths are bytes. */
export interface FileHandle {
  readonly path: string;
  /** Reads up to `length` bytes at `position` into `target` at `targetOffset`; returns bytes read (0 at end). */
  read(target: Uint8Array, targetOffset: number, length: number, position: number): number;
  /**
   * Writes `data` at the end of what this handle has appended (files opened
   * with 'append' or 'create'): after the file's last byte, or over the
   * zeros preallocate() put there.
   */
  append(data: Uint8Array): void;
  /**
   * Writes `bytes` zero bytes after the file's last byte, so that later
   * appends overwrite blocks that are already allocated (and, once synced,
   * need no metadata at their fdatasync). size() does not change; the
   * file's length on disk does.
   */
  preallocate(bytes: number): void;
  /** Makes every written byte durable (fdatasync), off the event loop. */
  sync(): Promise<void>;
  /** Same as sync(), blocking; for shutdown paths and worker threads. */
  syncBlocking(): void;
  /** Bytes up to the end of the last append (the file's length when nothing is preallocated). */
  size(): number;
  /** Cuts the file to `length` bytes, preallocated zeros included. */
  truncate(length: number): void;
  close(): void;
}

/** How to open a file. */
export type OpenMode =
  /** Read only; the file must exist. */
  | 'read'
  /** Read and append; the file must exist. */
  | 'append'
  /** Create a new, empty file for appending; fails if it exists. */
  | 'create';

export interface FileStat {
  size: number;
  mtimeMs: number;
  isDirectory: boolean;
}

export interface FileSystem {
  /** Short name for logs and stats ("node" or "mem"). */
  readonly kind: 'node' | 'mem';
  open(path: string, mode: OpenMode): FileHandle;
  /** Reads a whole file (small files only: CURRENT, manifests, tools). */
  readFile(path: string): Buffer;
  /** Writes a whole new file and syncs it (not its directory). */
  writeFileSync(path: string, data: Uint8Array): void;
  exists(path: string): boolean;
  stat(path: string): FileStat;
  /** Names (not paths) in a directory, sorted. */
  list(dir: string): string[];
  /** Creates a directory and its parents; no error if it exists. */
  mkdir(dir: string): void;
  /** Atomically replaces `to` with `from`. Durable once the directory is synced. */
  rename(from: string, to: string): void;
  unlink(path: string): void;
  /** Deletes a file off the event loop (unlinking a large file can take milliseconds). */
  remove(path: string): Promise<void>;
  /** Removes a directory and everything below it. */
  removeTree(dir: string): void;
  /**
   * Makes `to` a hard link of `from`.
   * @throws an error with code 'EXDEV' across file systems; callers then copy.
   */
  link(from: string, to: string): void;
  /** Copies a file and syncs the copy. */
  copyFile(from: string, to: string): void;
  /**
   * Copies the first `length` bytes of `from` into a new file `to` and makes
   * it durable, off the event loop (a checkpoint's copy of the live WAL file,
   * which goes on growing meanwhile).
   * @throws (rejects) when `from` holds fewer than `length` bytes, or `to` exists
   */
  copyPrefix(from: string, to: string, length: number): Promise<void>;
  /** Makes the directory's entries (creates, renames, unlinks) durable. */
  syncDir(dir: string): void;
  /** Bytes this process may still write on the file system holding `dir` (statfs's f_bavail), or undefined when unknown. */
  freeBytes(dir: string): number | undefined;
}

/** Joins path parts with "/". */
export function joinPath(...parts: string[]): string {
  return parts.filter((part) => part.length > 0).join('/').replace(/\/+/g, '/');
}

/** The last path component. */
export function baseName(path: string): string {
  const index = path.lastIndexOf('/');
  return index === -1 ? path : path.slice(index + 1);
}

/** Everything before the last path component ("." when there is none). */
export function dirName(path: string): string {
  const index = path.lastIndexOf('/');
  if (index === -1) return '.';
  if (index === 0) return '/';
  return path.slice(0, index);
}

/** Cuts the file at `path` to `length` bytes and makes the new length durable. */
export function truncateDurably(fs: FileSystem, path: string, length: number): void {
  const file = fs.open(path, 'append');
  try {
    file.truncate(length);
    file.syncBlocking();
  } finally {
    file.close();
  }
}

/** Reads exactly `length` bytes at `position` or throws (a short read means the file is shorter than expected). */
export function readExactly(file: FileHandle, position: number, length: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const count = file.read(buffer, done, length - done, position + done);
    if (count === 0) break;
    done += count;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}
