// The space reserve: a file of EngineOptions.reserveBytes (the server's
// --reserve-mb) that the engine writes into the data directory while the
// disk has room, and deletes when an open fails because the disk is full
// (docs/operations.md, "When the disk fills up"). An open writes a few
// small files before it serves anything (LOCK, a new manifest, a new WAL
// file, and under `always` the WAL's preallocated zeros), so on a disk with
// no byte left a server that was stopped or restarted cannot start again,
// although every acknowledged write is on that disk. Deleting the reserve
// gives those files room: the server starts, serves reads, and takes writes
// until the disk fills again, when writes stop with an error as they would
// have without the restart, and resume once space is freed beside it. A
// ballast file is how operators of databases without one guard against the
// same trap; here the engine keeps it.
//
// The file holds a pattern of pseudo-random bytes, not zeros: a file system
// that compresses or skips zeros (btrfs, ZFS with compression, a sparse
// write) would keep no blocks for it. It is written under RESERVE.tmp, made
// durable, then renamed into place, so RESERVE is always whole.
//
// It is written again, once free space allows (limits.reserveHeadroomBytes
// left beside it, so that taking the space back never fills a disk itself),
// at an open and after a flush, the moment a full disk has been given space
// again. Nothing reads it; the tools leave it alone; a checkpoint does not
// copy it.

import { IoError, KvError } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { joinPath } from '../fs/file-system.js';
import { reservePath, reserveTempFileName } from '../format/file-names.js';

/** Bytes of the pattern a reserve repeats (and of each write). */
const chunkBytes = 64 * 1024;

let pattern: Buffer | undefined;

/** A chunk of xorshift32 output: cheap, and no compression or zero detection shrinks it. */
function patternChunk(): Buffer {
  if (pattern !== undefined) return pattern;
  pattern = Buffer.allocUnsafe(chunkBytes);
  let state = 0x9e3779b9;
  for (let offset = 0; offset < chunkBytes; offset += 4) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pattern.writeInt32LE(state | 0, offset);
  }
  return pattern;
}

/** Bytes of the reserve in `dir` (0 when there is none). */
export function reserveBytesOn(fs: FileSystem, dir: string): number {
  const path = reservePath(dir);
  return fs.exists(path) ? fs.stat(path).size : 0;
}

/**
 * Writes a reserve of `bytes` into `dir`, replacing one of another size. One
 * chunk a turn (the event loop runs between them), durable before it is
 * renamed into place.
 * @param stopped polled between chunks: when it says so, the write stops and its temporary file is removed
 * @returns whether the reserve was written (false: stopped)
 * @throws IoError (ENOSPC when the disk has no room): the temporary file is removed, an older reserve kept
 */
export async function writeReserve(fs: FileSystem, dir: string, bytes: number, stopped: () => boolean = () => false): Promise<boolean> {
  const temp = joinPath(dir, reserveTempFileName);
  removeQuietly(fs, temp); // a leftover of a write that a crash or a full disk interrupted
  let done = false;
  try {
    const file = fs.open(temp, 'create');
    try {
      const chunk = patternChunk();
      for (let written = 0; written < bytes; written += chunk.length) {
        if (stopped()) return false;
        file.append(written + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - written));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await file.sync();
    } finally {
      file.close();
    }
    if (stopped()) return false;
    fs.rename(temp, reservePath(dir));
    fs.syncDir(dir);
    done = true;
    return true;
  } catch (error) {
    throw error instanceof KvError ? error : new IoError(`Cannot write the space reserve "${reservePath(dir)}": ${(error as Error).message}`, { cause: error });
  } finally {
    if (!done) removeQuietly(fs, temp);
  }
}

/**
 * Deletes the reserve in `dir`, if any.
 * @returns the bytes it held (0 when there was none)
 */
export function releaseReserve(fs: FileSystem, dir: string): number {
  const path = reservePath(dir);
  if (!fs.exists(path)) return 0;
  const bytes = fs.stat(path).size;
  fs.unlink(path);
  fs.syncDir(dir);
  return bytes;
}

/** Whether `error`, or an error it was caused by, is a full disk or an exhausted quota. */
export function isOutOfSpace(error: unknown): boolean {
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 8; at = (at as { cause?: unknown }).cause, depth++) {
    const code = at instanceof IoError ? at.errno : (at as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  }
  return false;
}

function removeQuietly(fs: FileSystem, path: string): void {
  try {
    if (fs.exists(path)) fs.unlink(path);
  } catch {
    // Best effort: a leftover RESERVE.tmp holds space the next write of the reserve takes back.
  }
}
