// `silt checkpoint`: consistent copies of a STOPPED data directory, and the
// checkpoints a server keeps in DIR/checkpoints/ (docs/format.md, "Checkpoints").
//
//   silt checkpoint DIR --out NEWDIR     copy DIR to NEWDIR (outside DIR)
//   silt checkpoint DIR --name NAME      copy DIR to DIR/checkpoints/NAME
//   silt checkpoint DIR --list           the checkpoints in DIR/checkpoints/
//   silt checkpoint DIR --delete NAME    remove DIR/checkpoints/NAME
//   --keep N (with --name, or alone)     then keep only the newest N there
//
// A running server makes checkpoints itself (BGSAVE): it is the only one that
// knows its memtable. So every form that writes refuses while LOCK is held by
// a live process, and says so. --list only reads.
//
// A checkpoint is what LsmEngine#checkpoint writes: segments hard-linked
// (copied across file systems; they are immutable), the live WAL files copied
// (never linked: opening a directory may cut a torn tail), a new manifest
// naming the segments, and CHECKPOINT with the sequence and time it stands for.
// Before anything is created the source is checked (exit 1 when damaged,
// nothing written): it is opened read-only as the server would, and then every
// byte the checkpoint links or copies is read, as `silt verify` reads it
// (tools/verify.ts, checkpointSourcePasses): every block of every live segment
// (data, index, filter, properties: CRC, decompression, key order, Bloom
// filter), the manifest's record of each segment, and every record of the
// live WAL files. A hard link copies no bytes, so without this a damaged block
// would be linked into the checkpoint unseen. It costs one read of every
// segment and WAL file (a progress bar on stderr, none with --json); the
// server's own checkpoints (BGSAVE, lib/engine) do not pay it. The copy is
// opened read-only afterwards and must reach the same sequence.
//
// The target is checked first of all: --out must be new, outside DIR and
// outside every other data directory; --name writes DIR/checkpoints/NAME, the
// one place inside a (stopped) data directory a tool writes
// (data-dir.ts, refuseOutputInDataDirectory).
//
// A copy that fails half-way (a full disk, a source file gone, an I/O error)
// is removed, as LsmEngine#checkpoint removes its own: a directory with
// segments and WAL files but no CHECKPOINT must not pass for a copy. Only
// what this run created goes: the target and the directories made above it,
// or, when the target was an empty directory already, the entries written
// into it. The error says what failed and that the copy was removed (or
// where to delete it by hand when the removal fails too); exit 2.

import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { CorruptionError, KvError } from '../lib/errors.js';
import { LsmEngine } from '../lib/engine/lsm-engine.js';
import { joinPath, type FileSystem } from '../lib/fs/file-system.js';
import {
  checkpointFileName,
  checkpointsDir,
  currentFileName,
  currentTempFileName,
  manifestFileName,
  parseFileName,
  segmentDir,
  segmentDirName,
  segmentPath,
  walDir,
  walDirName,
  walPath,
} from '../lib/format/file-names.js';
import { readManifest } from '../lib/manifest/manifest-reader.js';
import { ManifestWriter } from '../lib/manifest/manifest-writer.js';
import { checkpointsKeptMax } from '../lib/limits.js';
import { checkOutputDirectory, defaultFileSystem, highestFileNumber, linkOrCopy, refuseLiveDirectory, requireDirectory, requireSiltData, treeBytes } from './data-dir.js';
import { formatBytes, formatTime, plural } from './render.js';
import { describeFailure, ExitCode, runTool, ToolError, writeJson, writeLine, type OutputStream, type ToolIo, type ToolResult } from './tool-io.js';
import { checkpointSourcePasses, verifyDirectory, type VerifyProblem } from './verify.js';

/** Name of the file recording what a checkpoint stands for. */
export { checkpointFileName };

/** What CHECKPOINT records (one line of JSON). */
export interface CheckpointRecord {
  sequence: number;
  timeMs: number;
  source?: string;
  host?: string;
}

/** One checkpoint found in DIR/checkpoints/. */
export interface CheckpointEntry {
  name: string;
  path: string;
  sequence: number | null;
  timeMs: number | null;
  bytes: number;
  /** Why CHECKPOINT could not be read, if it could not. */
  problem: string | null;
}

export interface CheckpointOptions {
  dir: string;
  out?: string;
  name?: string;
  list?: boolean;
  delete?: string;
  /** Keep at most this many checkpoints in DIR/checkpoints/ (default none pruned; the server's default cap is checkpointsKeptMax). */
  keep?: number;
  json?: boolean;
  fs?: FileSystem;
}

export interface CheckpointReport {
  tool: 'checkpoint';
  action: 'create' | 'list' | 'delete' | 'prune';
  dir: string;
  created: { path: string; sequence: number; timeMs: number; linkedFiles: number; copiedFiles: number } | null;
  deleted: string[];
  checkpoints: CheckpointEntry[];
}

/**
 * Runs one form of `silt checkpoint`.
 * @returns exit 0 done, 1 the source is damaged (nothing written), 2 could not run
 */
export function checkpoint(options: CheckpointOptions, io: ToolIo): Promise<ToolResult<CheckpointReport>> {
  const json = options.json === true;
  return runTool('checkpoint', io, json, async () => {
    const fs = options.fs ?? defaultFileSystem();
    const action = chooseAction(options);
    requireDirectory(fs, options.dir);
    requireSiltData(fs, options.dir, action === 'create' ? 'checkpoint' : `${action} checkpoints of`);
    const report: CheckpointReport = { tool: 'checkpoint', action, dir: options.dir, created: null, deleted: [], checkpoints: [] };
    if (action !== 'list') {
      refuseLiveDirectory(
        fs,
        options.dir,
        action === 'create' ? 'checkpoint' : 'change the checkpoints of',
        action === 'create'
          ? 'Ask the server for one instead: BGSAVE writes a checkpoint into DIR/checkpoints/ in about a second; or stop the server first'
          : 'The server manages its checkpoints while it runs (its checkpoint cap); stop it first to change them by hand',
      );
    }
    if (action === 'create') {
      const target = options.out ?? joinPath(checkpointsDir(options.dir), checkName(options.name!));
      try {
        report.created = await createCheckpoint(fs, options.dir, target, options.out !== undefined, json ? undefined : io.stderr);
      } catch (error) {
        if (!(error instanceof CorruptionError) && !(error instanceof SourceDamagedError)) throw error;
        const lines = error instanceof SourceDamagedError ? error.problems.map(describeDamage) : [error.message];
        for (const line of lines) writeLine(io.stderr, `silt checkpoint: ${line}`);
        writeLine(io.stderr, `silt checkpoint: "${options.dir}" is damaged, so no checkpoint was made; run \`silt verify\`, then \`silt recover\``);
        if (json) writeJson(io.stdout, { ok: false, error: { code: 'CORRUPTION', message: lines.join('; ') } });
        return { exitCode: ExitCode.damaged, report: undefined };
      }
    }
    if (action === 'delete') report.deleted.push(deleteCheckpoint(fs, options.dir, checkName(options.delete!)));
    if (options.keep !== undefined) report.deleted.push(...pruneCheckpoints(fs, options.dir, options.keep));
    report.checkpoints = listCheckpoints(fs, options.dir);
    if (json) writeJson(io.stdout, report);
    else printReport(io, report);
    return { exitCode: ExitCode.ok, report };
  });
}

/** The damage the check before a checkpoint found in its source (exit 1, nothing written). */
export class SourceDamagedError extends Error {
  readonly problems: VerifyProblem[];

  constructor(dir: string, problems: VerifyProblem[]) {
    super(`"${dir}" is damaged: ${problems.map(describeDamage).join('; ')}`);
    this.problems = problems;
  }

  override get name(): string {
    return 'SourceDamagedError';
  }
}

/** "seg/000005.sst at offset 0: Cannot read segment data block ..." */
function describeDamage(problem: VerifyProblem): string {
  return `${problem.offset === null ? problem.file : `${problem.file} at offset ${problem.offset}`}: ${problem.message}`;
}

/**
 * Makes a checkpoint of the stopped directory `dir` at `target`, after
 * checking every segment block and WAL record it will link or copy.
 * @param outside true when `target` must lie outside `dir` (--out); false for DIR/checkpoints/NAME
 * @param progressStream where the check draws its progress (undefined: nowhere)
 * @throws CorruptionError or SourceDamagedError when `dir` is damaged (nothing written); ToolError for an unusable
 *   target, and when the copy fails (its code: ENOSPC, IO_ERROR ...) after what it created was removed
 */
export async function createCheckpoint(fs: FileSystem, dir: string, target: string, outside: boolean, progressStream?: OutputStream): Promise<NonNullable<CheckpointReport['created']>> {
  const flag = outside ? '--out' : '--name';
  const guard = outside ? {} : { checkpointsOf: dir };
  if (!outside && fs.exists(target)) throw new ToolError('EXISTS', `Cannot create checkpoint "${target}": it already exists`);
  checkOutputDirectory(fs, target, outside ? [dir] : [], flag, guard);
  const sequence = await openedSequence(fs, dir);
  await checkSource(fs, dir, progressStream);
  const manifest = readManifest(fs, dir, { readOnly: true });
  let nextFileNumber = Math.max(manifest.nextFileNumber, highestFileNumber(fs, dir) + 1);
  const manifestNumber = nextFileNumber++;
  checkOutputDirectory(fs, target, outside ? [dir] : [], flag, guard);
  // What a failure removes: the topmost directory this run creates, or (the target exists, empty) what it writes there.
  const created = topmostMissing(fs, target);
  const written = [segmentDirName, walDirName, manifestFileName(manifestNumber), currentTempFileName, currentFileName, checkpointFileName];
  try {
    fs.mkdir(target);
    fs.mkdir(segmentDir(target));
    fs.mkdir(walDir(target));
    let linkedFiles = 0;
    let copiedFiles = 0;
    for (const meta of manifest.version.allFiles()) {
      if (linkOrCopy(fs, segmentPath(dir, meta.fileNumber), segmentPath(target, meta.fileNumber)) === 'linked') linkedFiles++;
      else copiedFiles++;
    }
    const walDirectory = walDir(dir);
    if (fs.exists(walDirectory)) {
      for (const name of fs.list(walDirectory)) {
        const parsed = parseFileName(name);
        if (parsed?.kind !== 'wal' || parsed.number < manifest.logNumber) continue;
        fs.copyFile(walPath(dir, parsed.number), walPath(target, parsed.number));
        copiedFiles++;
      }
    }
    fs.syncDir(segmentDir(target));
    fs.syncDir(walDir(target));
    ManifestWriter.create(fs, target, manifestNumber, manifest.version.toSnapshotEdit(manifest.logNumber, nextFileNumber, sequence)).close();
    const timeMs = Date.now();
    const record: CheckpointRecord = { sequence, timeMs, source: resolve(dir), host: hostname() };
    fs.writeFileSync(joinPath(target, checkpointFileName), Buffer.from(`${JSON.stringify(record)}\n`));
    fs.syncDir(target);
    const copied = await openedSequence(fs, target);
    if (copied !== sequence) throw new ToolError('INTERNAL', `Checkpoint "${target}" opens at sequence ${copied}, the source at ${sequence}`);
    return { path: target, sequence, timeMs, linkedFiles, copiedFiles };
  } catch (error) {
    const removal = removePartialCopy(fs, target, created, written);
    const failure = describeFailure(error);
    if (!failure.expected) throw error; // a bug: its stack is worth more than a message
    throw new ToolError(failure.code, `Cannot checkpoint "${dir}" to "${target}": ${failure.message}; ${removal}. "${dir}" was not modified`, { cause: error });
  }
}

/** The topmost of `path` and its ancestors that does not exist (mkdir creates it and all below); undefined when `path` exists. */
function topmostMissing(fs: FileSystem, path: string): string | undefined {
  let missing: string | undefined;
  for (let current = resolve(path); !fs.exists(current); current = dirname(current)) {
    missing = current;
    if (dirname(current) === current) break;
  }
  return missing;
}

/**
 * Removes what a failed checkpoint created: the directory `created` (the target, or the topmost
 * directory made above it) whole; when the target already existed (empty), only the entries
 * `written` names in it.
 * @returns what was done, for the error message
 */
function removePartialCopy(fs: FileSystem, target: string, created: string | undefined, written: readonly string[]): string {
  const what = created === undefined ? `what it wrote into "${target}"` : created === resolve(target) ? `the partial copy "${target}"` : `the partial copy, with the directories made for it from "${created}" down`;
  if (created !== undefined && !fs.exists(created)) return 'nothing was created';
  try {
    if (created !== undefined) {
      fs.removeTree(created);
    } else {
      for (const name of written) {
        const path = joinPath(target, name);
        if (!fs.exists(path)) continue;
        if (fs.stat(path).isDirectory) fs.removeTree(path);
        else fs.unlink(path);
      }
    }
    return `removed ${what}`;
  } catch (error) {
    return `could not remove ${what} (${(error as Error).message}): delete it by hand`;
  }
}

/** The checkpoints in DIR/checkpoints/, oldest first (by the time CHECKPOINT records, then name). */
export function listCheckpoints(fs: FileSystem, dir: string): CheckpointEntry[] {
  const root = checkpointsDir(dir);
  if (!fs.exists(root)) return [];
  const entries: CheckpointEntry[] = [];
  for (const name of fs.list(root)) {
    const path = joinPath(root, name);
    // Hidden names: a checkpoint the server is removing (`.removing-save-...`).
    if (name.startsWith('.') || !fs.stat(path).isDirectory) continue;
    const entry: CheckpointEntry = { name, path, sequence: null, timeMs: null, bytes: treeBytes(fs, path), problem: null };
    try {
      const record = readCheckpointRecord(fs, path);
      entry.sequence = record.sequence;
      entry.timeMs = record.timeMs;
    } catch (error) {
      entry.problem = (error as Error).message;
    }
    entries.push(entry);
  }
  return entries.sort((a, b) => (a.timeMs ?? 0) - (b.timeMs ?? 0) || a.name.localeCompare(b.name));
}

/**
 * Reads a checkpoint's CHECKPOINT file.
 * @throws ToolError when it is missing or malformed
 */
export function readCheckpointRecord(fs: FileSystem, checkpointDir: string): CheckpointRecord {
  const path = joinPath(checkpointDir, checkpointFileName);
  if (!fs.exists(path)) throw new ToolError('NOT_FOUND', `Cannot read "${path}": no CHECKPOINT file`);
  let value: unknown;
  try {
    value = JSON.parse(fs.readFile(path).toString('utf8'));
  } catch (error) {
    throw new ToolError('CORRUPTION', `Cannot read "${path}": not JSON`, { cause: error });
  }
  const record = value as Partial<CheckpointRecord> | null;
  if (typeof record?.sequence !== 'number' || !Number.isSafeInteger(record.sequence) || typeof record.timeMs !== 'number') {
    throw new ToolError('CORRUPTION', `Cannot read "${path}": expected {"sequence": N, "timeMs": T, ...}`);
  }
  return record as CheckpointRecord;
}

/** Removes DIR/checkpoints/NAME (it must hold a CHECKPOINT or CURRENT file). @returns its path */
function deleteCheckpoint(fs: FileSystem, dir: string, name: string): string {
  const path = joinPath(checkpointsDir(dir), name);
  if (!fs.exists(path) || !fs.stat(path).isDirectory) throw new ToolError('NOT_FOUND', `Cannot delete checkpoint "${name}": no directory "${path}"`);
  if (!fs.exists(joinPath(path, checkpointFileName)) && !fs.exists(joinPath(path, 'CURRENT'))) {
    throw new ToolError('USAGE', `Cannot delete "${path}": it does not look like a checkpoint (no CHECKPOINT or CURRENT file)`);
  }
  fs.removeTree(path);
  fs.syncDir(checkpointsDir(dir));
  return path;
}

/** Keeps the newest `keep` checkpoints; removes the others. @returns the removed paths */
function pruneCheckpoints(fs: FileSystem, dir: string, keep: number): string[] {
  const entries = listCheckpoints(fs, dir).filter((entry) => entry.problem === null);
  const removed: string[] = [];
  for (const entry of entries.slice(0, Math.max(0, entries.length - keep))) removed.push(deleteCheckpoint(fs, dir, entry.name));
  return removed;
}

function chooseAction(options: CheckpointOptions): CheckpointReport['action'] {
  const forms = [options.out !== undefined, options.name !== undefined, options.list === true, options.delete !== undefined].filter(Boolean).length;
  if (forms > 1) throw new ToolError('USAGE', 'Cannot checkpoint: give one of --out, --name, --list and --delete');
  if (options.keep !== undefined) {
    if (!Number.isSafeInteger(options.keep) || options.keep < 1) throw new ToolError('USAGE', `Cannot checkpoint: --keep must be a whole number of at least 1 (the server keeps ${checkpointsKeptMax} by default)`);
    if (options.out !== undefined || options.list === true || options.delete !== undefined) throw new ToolError('USAGE', 'Cannot checkpoint: --keep goes with --name, or alone');
  }
  if (options.out !== undefined || options.name !== undefined) return 'create';
  if (options.list === true) return 'list';
  if (options.delete !== undefined) return 'delete';
  if (options.keep !== undefined) return 'prune';
  throw new ToolError('USAGE', 'Cannot checkpoint: give --out NEWDIR, --name NAME, --list, --delete NAME or --keep N');
}

/** A checkpoint name: one path component. */
function checkName(name: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\]/.test(name)) throw new ToolError('USAGE', `Cannot use checkpoint name "${name}": give a plain name, not a path`);
  return name;
}

/**
 * Reads every block of every live segment and every record of the live WAL
 * files of `dir` (verify's checkpointSourcePasses).
 * @throws SourceDamagedError listing the damage; ToolError UNSUPPORTED_VERSION for a file in a newer format (exit 2)
 */
async function checkSource(fs: FileSystem, dir: string, progressStream: OutputStream | undefined): Promise<void> {
  const checked = await verifyDirectory(fs, dir, { passes: checkpointSourcePasses, progressStream, progressLabel: `checkpoint: checking ${dir}` });
  const damage = checked.problems.filter((problem) => problem.severity === 'damage');
  const unsupported = damage.find((problem) => problem.kind === 'unsupported-version');
  if (unsupported !== undefined) throw new ToolError('UNSUPPORTED_VERSION', `Cannot checkpoint "${dir}": ${unsupported.message}`);
  if (damage.length > 0) throw new SourceDamagedError(dir, damage);
}

/** Opens `dir` read-only and returns the sequence it reaches. @throws CorruptionError when damaged */
async function openedSequence(fs: FileSystem, dir: string): Promise<number> {
  let engine: LsmEngine | undefined;
  try {
    engine = await LsmEngine.open(dir, { readOnly: true, fs });
    return engine.stats().sequence;
  } catch (error) {
    if (error instanceof KvError && !(error instanceof CorruptionError) && error.code === 'NOT_FOUND') throw new ToolError('NOT_FOUND', error.message, { cause: error });
    throw error;
  } finally {
    await engine?.close();
  }
}

function printReport(io: ToolIo, report: CheckpointReport): void {
  const out = io.stdout;
  if (report.created !== null) {
    const c = report.created;
    writeLine(out, `Checkpoint ${c.path}: sequence ${c.sequence}, ${formatTime(c.timeMs)} (${plural(c.linkedFiles, 'file')} hard-linked, ${plural(c.copiedFiles, 'file')} copied)`);
  }
  for (const path of report.deleted) writeLine(out, `Deleted ${path}`);
  if (report.action === 'list' || report.deleted.length > 0 || report.action === 'prune') {
    writeLine(out, `Checkpoints in ${checkpointsDir(report.dir)}: ${report.checkpoints.length === 0 ? 'none' : report.checkpoints.length}`);
    for (const entry of report.checkpoints) {
      const what = entry.problem === null ? `sequence ${entry.sequence}  ${formatTime(entry.timeMs)}` : `UNREADABLE: ${entry.problem}`;
      writeLine(out, `  ${entry.name}  ${what}  ${formatBytes(entry.bytes)}`);
    }
  }
}
