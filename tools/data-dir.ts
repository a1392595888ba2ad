// Guards and file operations every tool shares: is this a data directory, is
// it held by a running server (LOCK), may we write this new directory, and
// copying files without ever writing to the source.
//
// Rules they enforce (docs/operations.md, "What the tools never do"):
// - No tool writes into a directory a live process holds; read-only tools read
//   a live directory only through a checkpoint.
// - recover, restore and checkpoint write only a NEW directory: absent or
//   empty, and not inside the source.
// - No output path (recover/checkpoint/restore --out, checkpoint --name,
//   dump --out, load --into) lies inside a silt data directory, live or
//   stopped (refuseOutputInDataDirectory): a server takes what it finds in its
//   wal/ and seg/ for its own files. The one exception is DIR/checkpoints/NAME
//   of a stopped DIR, where `silt checkpoint DIR --name NAME` writes by design.
// - Segments (immutable) may be hard-linked into the new directory; WAL files
//   are always copied, since opening a directory may cut a torn WAL tail and
//   a hard link would carry that cut back into the source.

import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { joinPath, type FileSystem } from '../lib/fs/file-system.js';
import {
  archiveDir,
  archiveDirName,
  checkpointsDirName,
  currentFileName,
  parseFileName,
  segmentDir,
  segmentDirName,
  unfinishedFileName,
  walDir,
  walDirName,
} from '../lib/format/file-names.js';
import { describeUnfinished } from '../lib/format/unfinished-marker.js';
import { NodeFileSystem } from '../lib/fs/node-file-system.js';
import { readLock, type LockInfo, type LockStatus } from '../lib/engine/lock-file.js';
import { ToolError } from './tool-io.js';
import { formatTime } from './render.js';

/** Bytes copied per read when copying a file prefix. */
const copyChunkBytes = 1024 * 1024;

/** The file system the command line uses; tests pass their own to the tool functions. */
export function defaultFileSystem(): FileSystem {
  return new NodeFileSystem();
}

/**
 * Requires `dir` to exist and be a directory.
 * @throws ToolError NOT_FOUND otherwise
 */
export function requireDirectory(fs: FileSystem, dir: string, what = 'data directory'): void {
  if (!fs.exists(dir)) throw new ToolError('NOT_FOUND', `Cannot open ${what} "${dir}": it does not exist`);
  if (!fs.stat(dir).isDirectory) throw new ToolError('NOT_FOUND', `Cannot open ${what} "${dir}": it is not a directory`);
}

/**
 * Requires `dir` to hold silt data, as recover, verify, dump, inspect,
 * checkpoint and restore read it: CURRENT, or, when CURRENT was lost, at
 * least one file of silt's own (a manifest, LOCK, a WAL file or segment in
 * wal/ or seg/ ...). A directory of other files is refused rather than
 * reported as a database that lost its CURRENT: pointing a tool at
 * /var/lib instead of /var/lib/silt must not end in an empty recovered
 * database and exit 0. Names a subdirectory that is a silt data directory.
 * Refuses the partial output of an interrupted recover or restore (its
 * UNFINISHED marker).
 * @param action what the tool was about to do ("verify", "recover")
 * @throws ToolError NOT_FOUND for an empty directory or one with no silt file, UNFINISHED for a partial output
 */
export function requireSiltData(fs: FileSystem, dir: string, action: string): void {
  const unfinished = joinPath(dir, unfinishedFileName);
  if (fs.exists(unfinished)) {
    throw new ToolError(
      'UNFINISHED',
      `Cannot ${action} "${dir}": it is the unfinished output of ${describeUnfinished(fs, unfinished)}, which stopped before it was done (interrupted, or it failed); delete it and run that tool again`,
    );
  }
  if (fs.exists(joinPath(dir, currentFileName))) return;
  const names = fs.list(dir);
  if (names.some((name) => isSiltName(fs, dir, name))) return;
  // Nothing but empty wal/ or seg/ (an interrupted creation): no data either.
  if (names.every((name) => isDataSubdirectoryName(name))) throw new ToolError('NOT_FOUND', `Cannot ${action} "${dir}": it holds no silt data (no CURRENT, no segments, no WAL files)`);
  const shown = names.slice(0, 3).map((name) => `"${name}"`).join(', ');
  const inside = names.find((name) => fs.stat(joinPath(dir, name)).isDirectory && fs.exists(joinPath(dir, name, currentFileName)));
  throw new ToolError(
    'NOT_FOUND',
    `Cannot ${action} "${dir}": it is not a silt data directory (it holds ${shown}${names.length > 3 ? ', ...' : ''}, and no CURRENT, MANIFEST, WAL file or segment)` +
      (inside === undefined ? '' : `; "${joinPath(dir, inside)}" is one: did you mean it?`),
  );
}

/**
 * Whether `name` in `dir` is silt's own: a name silt gives its files
 * (CURRENT, MANIFEST-*, LOCK, temp files) or a wal/, seg/, archive/ or
 * checkpoints/ that holds something (empty ones, as an interrupted
 * creation leaves, hold no data).
 */
export function isSiltName(fs: FileSystem, dir: string, name: string): boolean {
  if (parseFileName(name) !== undefined) return true;
  if (!isDataSubdirectoryName(name)) return false;
  const path = joinPath(dir, name);
  return fs.stat(path).isDirectory && fs.list(path).length > 0;
}

/**
 * Reads `dir`'s LOCK and refuses when a live process holds it.
 * @param action what the tool was about to do ("verify", "recover from")
 * @param advice what to do instead (one sentence)
 * @returns the lock status (none, or stale: the caller reports a stale LOCK as a note)
 * @throws ToolError LOCKED when a live process holds the directory
 */
export function refuseLiveDirectory(fs: FileSystem, dir: string, action: string, advice: string): LockStatus {
  const status = readLock(fs, dir);
  if (status.state === 'held') {
    throw new ToolError('LOCKED', `Cannot ${action} "${dir}": it is held by a running server (${describeOwner(status.info)}). ${advice}`);
  }
  return status;
}

/** "process 1234 on host "web-1" since 2024-01-02T03:04:05.000Z" */
/** Why a LOCK is stale, with the process it named when it names one: "process 12 is not running; it named process 12 on host ..." */
export function staleLockReason(reason: string, info: LockInfo | undefined): string {
  return info === undefined ? reason : `${reason}; it named ${describeOwner(info)}`;
}

export function describeOwner(info: LockInfo | undefined): string {
  if (info === undefined) return 'unreadable LOCK';
  const host = info.hostname === '' ? '' : ` on host "${info.hostname}"`;
  const since = info.startedMs > 0 ? ` since ${formatTime(info.startedMs)}` : '';
  return `process ${info.pid}${host}${since}`;
}

/**
 * Creates `newDir` for a tool's output: it must not exist (or be an empty
 * directory) and must not lie inside any of `sources` (writing there would
 * modify a source).
 * @throws ToolError EXISTS or USAGE otherwise
 */
export function createOutputDirectory(fs: FileSystem, newDir: string, sources: readonly string[], flag = '--out', guard: OutputGuardOptions = {}): void {
  checkOutputDirectory(fs, newDir, sources, flag, guard);
  fs.mkdir(newDir);
}

/**
 * The checks of createOutputDirectory without creating anything, for tools
 * that refuse early, before reading their input.
 * @throws ToolError EXISTS or USAGE
 */
export function checkOutputDirectory(fs: FileSystem, newDir: string, sources: readonly string[], flag = '--out', guard: OutputGuardOptions = {}): void {
  for (const source of sources) {
    if (isInside(newDir, source)) {
      throw new ToolError('USAGE', `Cannot write ${flag} "${newDir}": it is inside "${source}", which this tool never modifies; choose a directory outside it`);
    }
  }
  refuseOutputInDataDirectory(fs, newDir, flag, guard);
  if (fs.exists(newDir)) {
    if (!fs.stat(newDir).isDirectory) throw new ToolError('EXISTS', `Cannot write ${flag} "${newDir}": a file of that name exists`);
    if (fs.list(newDir).length > 0) {
      const unfinished = joinPath(newDir, unfinishedFileName);
      if (fs.exists(unfinished)) {
        throw new ToolError('EXISTS', `Cannot write ${flag} "${newDir}": it is the unfinished output of ${describeUnfinished(fs, unfinished)}, which stopped before it was done (a full disk, say); delete it, or give a new directory`);
      }
      throw new ToolError('EXISTS', `Cannot write ${flag} "${newDir}": it exists and is not empty; give a new directory`);
    }
  }
}

/** Exceptions to refuseOutputInDataDirectory. */
export interface OutputGuardOptions {
  /**
   * A data directory whose checkpoints/ may hold the output, when no live
   * process holds it: `silt checkpoint DIR --name NAME` writes DIR/checkpoints/NAME.
   */
  checkpointsOf?: string;
}

/** Names of the subdirectories of a data directory that belong to it. */
const dataSubdirectoryNames: ReadonlySet<string> = new Set([walDirName, segmentDirName, archiveDirName, checkpointsDirName]);

/**
 * Refuses an output path (a file or directory a tool is about to create or
 * write) that lies inside a silt data directory (holdsDataDirectoryFile),
 * live or stopped. A server takes what it finds there for its own
 * files (a file in wal/ is replayed, or cut as a torn tail, and advances its
 * file counter). Only the proper ancestors of `output` count, so `load --into
 * DIR` may name a data directory itself. Both the path as written (made
 * absolute, `..` removed) and the path the kernel would reach (each existing
 * component's realpath, so symlinks and `..` after one do not slip through)
 * are checked. Call it before creating anything.
 * @param flag the option that named the path ("--out", "--into")
 * @throws ToolError LOCKED when a live process holds that data directory, USAGE otherwise
 */
export function refuseOutputInDataDirectory(fs: FileSystem, output: string, flag: string, options: OutputGuardOptions = {}): void {
  const exempt = options.checkpointsOf === undefined ? new Set<string>() : new Set(outputPathForms(fs, options.checkpointsOf));
  let found: { dataDir: string; status: LockStatus } | undefined;
  for (const form of outputPathForms(fs, output)) {
    for (let child = form, ancestor = dirname(form); ancestor !== child; child = ancestor, ancestor = dirname(ancestor)) {
      if (!holdsDataDirectoryFile(fs, ancestor)) continue;
      const status = readLock(fs, ancestor);
      // A data directory's own wal/, seg/, archive/ and checkpoints/ are refused with it: the
      // ancestor above them is a data directory and is met next.
      if (exempt.has(ancestor) && status.state !== 'held' && basename(child) === checkpointsDirName) continue;
      if (found === undefined || (status.state === 'held' && found.status.state !== 'held')) found = { dataDir: ancestor, status };
    }
  }
  if (found === undefined) return;
  const { dataDir, status } = found;
  if (status.state === 'held') {
    throw new ToolError('LOCKED', `Cannot write ${flag} "${output}": it lies inside the silt data directory "${dataDir}", which a running server holds (${describeOwner(status.info)}); a server takes files there for its own. Choose a path outside it`);
  }
  const state = status.state === 'stale' ? `no live process holds it (its LOCK is stale: ${status.reason})` : 'no live process holds it';
  throw new ToolError('USAGE', `Cannot write ${flag} "${output}": it lies inside the silt data directory "${dataDir}" (${state}); a server started on it would take files there for its own. Choose a path outside it`);
}

/** True when `dir` is a silt data directory (or a checkpoint of one): wal/ and seg/, or a CURRENT naming a manifest beside it. */
function holdsDataDirectoryFile(fs: FileSystem, dir: string): boolean {
  // Not any CURRENT or LOCK: other programs (LevelDB, RocksDB, any lock file) use those names too.
  const isDirectory = (path: string): boolean => fs.exists(path) && fs.stat(path).isDirectory;
  if (isDirectory(joinPath(dir, walDirName)) && isDirectory(joinPath(dir, segmentDirName))) return true;
  const current = joinPath(dir, currentFileName);
  if (!fs.exists(current) || fs.stat(current).size > currentFileBytesMax) return false;
  const named = fs.readFile(current).toString('latin1').trim();
  return parseFileName(named)?.kind === 'manifest' && fs.exists(joinPath(dir, named));
}

/** A CURRENT file names one manifest: a few dozen bytes. */
const currentFileBytesMax = 256;

/** True when `name` is one of wal, seg, archive, checkpoints. */
export function isDataSubdirectoryName(name: string): boolean {
  return dataSubdirectoryNames.has(name);
}

/**
 * The absolute forms of `path` to check: as written (resolved lexically) and,
 * on a real file system, as the kernel would resolve it: component by
 * component, each existing prefix replaced by its realpath before the next
 * component (or `..`) is applied.
 */
function outputPathForms(fs: FileSystem, path: string): string[] {
  const lexical = resolve(path);
  if (fs.kind !== 'node') return [lexical];
  const absolute = isAbsolute(path) ? path : `${process.cwd()}${sep}${path}`;
  let current: string = sep;
  for (const part of absolute.split(sep)) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, part);
    try {
      current = realpathSync(next);
    } catch {
      current = next; // does not exist (yet), or cannot be resolved: as written
    }
  }
  return current === lexical ? [lexical] : [lexical, current];
}

/** True when `child` is `parent` or lies below it. */
export function isInside(child: string, parent: string): boolean {
  const path = relative(resolve(parent), resolve(child));
  return path === '' || (!path.startsWith('..') && !isAbsolute(path));
}

/**
 * Hard-links `from` to `to`, or copies when the link is refused (another file
 * system, or a file system without hard links). Only for immutable files.
 * @returns how the file got there
 */
export function linkOrCopy(fs: FileSystem, from: string, to: string): 'linked' | 'copied' {
  try {
    fs.link(from, to);
    return 'linked';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
    fs.copyFile(from, to);
    return 'copied';
  }
}

/**
 * Copies the first `bytes` bytes of `from` into the new file `to` and syncs it;
 * with `replace`, its `head` takes the place of as many bytes at the start
 * (recover: a WAL file under a new header).
 */
export function copyPrefix(fs: FileSystem, from: string, to: string, bytes: number, replace?: { head: Buffer }): void {
  const source = fs.open(from, 'read');
  try {
    const target = fs.open(to, 'create');
    try {
      if (replace !== undefined) target.append(replace.head);
      const buffer = Buffer.allocUnsafe(Math.min(copyChunkBytes, Math.max(bytes, 1)));
      for (let position = replace?.head.length ?? 0; position < bytes; ) {
        const count = source.read(buffer, 0, Math.min(buffer.length, bytes - position), position);
        if (count === 0) throw new ToolError('IO_ERROR', `Cannot copy "${from}": it ended at ${position} bytes, expected ${bytes}`);
        target.append(buffer.subarray(0, count));
        position += count;
      }
      target.syncBlocking();
    } finally {
      target.close();
    }
  } finally {
    source.close();
  }
}

/** Sum of the sizes of the files below `dir` (recursively); 0 when it does not exist. */
export function treeBytes(fs: FileSystem, dir: string): number {
  if (!fs.exists(dir)) return 0;
  let bytes = 0;
  for (const name of fs.list(dir)) {
    const path = joinPath(dir, name);
    const stat = fs.stat(path);
    bytes += stat.isDirectory ? treeBytes(fs, path) : stat.size;
  }
  return bytes;
}

/** The largest file number of any file in the directory, its wal/, seg/ and archive/ (0 when none). */
export function highestFileNumber(fs: FileSystem, dir: string): number {
  let highest = 0;
  for (const sub of [dir, walDir(dir), segmentDir(dir), archiveDir(dir)]) {
    if (!fs.exists(sub)) continue;
    for (const name of fs.list(sub)) {
      const parsed = parseFileName(name);
      if (parsed !== undefined && 'number' in parsed && parsed.number > highest) highest = parsed.number;
    }
  }
  return highest;
}

/** The numbers of the segment files in DIR/seg/, ascending (none when it does not exist). */
export function segmentNumbers(fs: FileSystem, dir: string): number[] {
  const segDir = segmentDir(dir);
  if (!fs.exists(segDir)) return [];
  const numbers: number[] = [];
  for (const name of fs.list(segDir)) {
    const parsed = parseFileName(name);
    if (parsed?.kind === 'segment') numbers.push(parsed.number);
  }
  return numbers.sort((a, b) => a - b);
}
