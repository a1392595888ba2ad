// `silt restore --from CHECKPOINT --archive DIR/archive [--wal DIR/wal]
//   --to TIME|seq:N --out NEWDIR [--dry-run]`: point-in-time restore.
//
// A checkpoint is the state at its sequence C. The archive (and the live WAL
// directory, when given) holds every batch written after it, each with its
// sequence and wall-clock time, in WAL files numbered in write order. Restore
// copies the checkpoint to NEWDIR and replays, in order, the batches after C up
// to and including the target:
//
// - TIME (ISO 8601 with an offset, ms precision; echoed back in UTC): every
//   batch up to the first one stamped later than TIME. Replay stops there
//   even if a later batch carries an earlier time (a clock stepped back), so
//   the result is always a state the database passed through.
// - seq:N: every batch whose sequences are all <= N (batches are atomic; when
//   N falls inside one, the state just before it is restored and said so).
//
// Continuity. Sequence numbers are not dense: a batch refused after a failed
// WAL write used up its numbers and the server went on in a new WAL file. So a
// jump in sequence between two consecutive WAL files means a missing file
// only when a file number lies between them (file numbers come from one
// counter, so adjacent numbers leave no room for a lost file); a jump inside
// one file is always a refused batch. Damage in a WAL file other than a torn
// tail of the newest live one also ends what can be reached. When the target
// lies past such a break restore refuses (exit 1) and says which time and
// sequence range this checkpoint can reach; nothing is written.
//
// Steps: (1) check arguments, the checkpoint (opened read-only: its sequence
// C, and the time of the newest write it holds, from its WAL files or the
// archive below them, not CHECKPOINT's time, which says when the copy was
// made; every block of its segments read, as verify reads them) and the output directory; (2) list WAL files from the archive and the
// WAL directory, read their ranges, walk them from C to the first break;
// (3) read the reachable batches to find where the target stops replay (and,
// for --dry-run, which keys would change); (4) copy the checkpoint to NEWDIR
// (segments hard-linked, the rest copied) and apply the batches with
// LsmEngine writes: NEWDIR's engine assigns them sequence numbers again,
// which changes nothing in the data. Restore never writes anywhere but NEWDIR.
//
// Progress (stderr, none with --json): one bar per phase of long work, each
// under its own label and ending at 100%: `restore CHECKPOINT: checking
// segments` (bytes, step 1), `reading WAL files` (bytes, step 2), `reading
// records up to the target` (bytes of the reachable files; it stops at the
// target, and ends at 100% there; step 3) and `replaying records into NEWDIR`
// (records, step 4).

import { basename, dirname, resolve } from 'node:path';
import { LsmEngine } from '../lib/engine/lsm-engine.js';
import { WriteBatch } from '../lib/engine/write-batch.js';
import { CorruptionError, UnsupportedVersionError } from '../lib/errors.js';
import { baseName, joinPath, readExactly, type FileSystem } from '../lib/fs/file-system.js';
import { currentFileName, lockFileName, parseFileName, segmentDir, segmentPath, walDir } from '../lib/format/file-names.js';
import { readManifest } from '../lib/manifest/manifest-reader.js';
import { checkSegment } from '../lib/segment/segment-checker.js';
import type { BatchOp } from '../lib/engine/write-batch.js';
import type { WalBatch } from '../lib/wal/wal-format.js';
import { dryRunKeysListedMax, restoreWritesInFlightMax } from '../lib/limits.js';
import { decodeTable, type DbTable } from '../lib/keyspace/db-table.js';
import { dbTableKey } from '../lib/keyspace/key-encoding.js';
import { checkpointFileName, readCheckpointRecord, type CheckpointRecord } from './checkpoint.js';
import { describeEngineKey, type DecodedEngineKey } from './describe-engine-key.js';
import { removeUnfinishedMarker, writeUnfinishedMarker } from '../lib/format/unfinished-marker.js';
import { checkOutputDirectory, createOutputDirectory, defaultFileSystem, linkOrCopy, refuseLiveDirectory, requireDirectory, requireSiltData } from './data-dir.js';
import { Progress, type ProgressUnit } from './progress.js';
import { formatTime, plural, relativeFile } from './render.js';
import { ExitCode, runTool, ToolError, writeJson, writeLine, type ToolIo, type ToolResult } from './tool-io.js';
import { listIn, summarizeWalFile, type WalFileRef, type WalFileSummary } from './wal-scan.js';

/** Most changed keys a dry run lists (lib/limits.ts; the counts cover them all). */
export { dryRunKeysListedMax };

export interface RestoreOptions {
  /** The checkpoint directory (or a stopped data directory). */
  from: string;
  /** DIR/archive. */
  archive?: string;
  /** DIR/wal: the live WAL files, for the records not yet archived. */
  wal?: string;
  /** TIME (ISO 8601 with an offset) or seq:N. */
  to: string;
  /** Required unless dryRun. */
  out?: string;
  dryRun?: boolean;
  json?: boolean;
  fs?: FileSystem;
}

export type RestoreTarget = { kind: 'time'; timeMs: number; given: string } | { kind: 'sequence'; sequence: number; given: string };

/** A point in the history: a sequence and the time of the batch that ended there (null when unknown). */
export interface HistoryPoint {
  sequence: number;
  timeMs: number | null;
}

export interface RestoreReport {
  tool: 'restore';
  from: string;
  out: string | null;
  dryRun: boolean;
  target: { given: string; kind: 'time' | 'sequence'; timeUtc: string | null; sequence: number | null };
  checkpoint: HistoryPoint & { recordedTimeMs: number | null };
  /** What this checkpoint plus the given WAL files can reach. */
  reachable: { from: HistoryPoint; to: HistoryPoint };
  /** Where the history breaks (a missing WAL file or damage), if it does. */
  break: { kind: 'gap' | 'damage'; file: string; message: string; missingSequences: { first: number; last: number } | null } | null;
  /** The state restored: the last batch applied (the checkpoint itself when none). */
  restoredTo: HistoryPoint;
  records: number;
  ops: number;
  /** The WAL files whose records were (or would be) replayed. */
  walFiles: string[];
  /** Engine keys the replay would change (key: hex), each decoded as a Redis key and db (tools/describe-engine-key.ts). */
  changes: { added: number; changed: number; deleted: number; keys: { key: string; change: 'added' | 'changed' | 'deleted'; decoded: DecodedEngineKey }[]; keysListed: number } | null;
  warnings: string[];
}

/**
 * Restores a checkpoint plus archived WAL records to a point in time.
 * @returns exit 0 restored (or dry run done), 1 refused because the history breaks before the
 *   target (nothing written), 2 could not run (usage, target outside the history, output exists)
 */
export function restore(options: RestoreOptions, io: ToolIo): Promise<ToolResult<RestoreReport>> {
  const json = options.json === true;
  return runTool('restore', io, json, async () => {
    const fs = options.fs ?? defaultFileSystem();
    const report = await new Restore(fs, options, json ? undefined : io.stderr).run();
    if (json) writeJson(io.stdout, report);
    else printReport(io, report);
    return { exitCode: ExitCode.ok, report };
  });
}

/**
 * Parses a restore target.
 * @throws ToolError USAGE for anything but `seq:N` or ISO 8601 with an explicit offset and at most ms precision
 */
export function parseTarget(text: string): RestoreTarget {
  const sequence = /^seq:(\d+)$/.exec(text);
  if (sequence !== null) {
    const value = Number(sequence[1]);
    if (!Number.isSafeInteger(value)) throw new ToolError('USAGE', `Cannot parse --to "${text}": the sequence number is too large`);
    return { kind: 'sequence', sequence: value, given: text };
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)$/.exec(text);
  if (match === null) {
    const hint = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? ': add an offset (Z or +02:00) so the instant is unambiguous' : '';
    throw new ToolError('USAGE', `Cannot parse --to "${text}": expected seq:N or an ISO 8601 time with an offset, such as 2024-01-02T14:03:10.250+01:00${hint}`);
  }
  const [, year, month, day, hour, minute, second = '0', fraction = '', offset] = match;
  if (fraction.length > 3) throw new ToolError('USAGE', `Cannot parse --to "${text}": times have millisecond precision; give at most 3 fractional digits`);
  const fields = { year: Number(year), month: Number(month), day: Number(day), hour: Number(hour), minute: Number(minute), second: Number(second) };
  const utc = Date.UTC(fields.year, fields.month - 1, fields.day, fields.hour, fields.minute, fields.second, Number(fraction.padEnd(3, '0')));
  const check = new Date(Date.UTC(fields.year, fields.month - 1, fields.day));
  if (check.getUTCMonth() !== fields.month - 1 || check.getUTCDate() !== fields.day || fields.hour > 23 || fields.minute > 59 || fields.second > 59) {
    throw new ToolError('USAGE', `Cannot parse --to "${text}": no such date or time`);
  }
  let offsetMinutes = 0;
  if (offset !== 'Z' && offset !== 'z') {
    const digits = offset!.replace(':', '');
    const hours = Number(digits.slice(1, 3));
    const minutes = digits.length > 3 ? Number(digits.slice(3, 5)) : 0;
    if (hours > 23 || minutes > 59) throw new ToolError('USAGE', `Cannot parse --to "${text}": offset ${offset} is out of range`);
    offsetMinutes = (digits.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
  }
  return { kind: 'time', timeMs: utc - offsetMinutes * 60_000, given: text };
}

/** Where the target stops replay, found by reading the reachable batches. */
interface ReplayPlan {
  /** Sequence of the last op to apply (C when none). */
  lastSequence: number;
  lastTimeMs: number | null;
  /** True when a batch past the target was seen (so the target lies inside what was given). */
  reached: boolean;
  /** The batch a seq:N target falls inside, if it does. */
  insideBatch: { first: number; last: number } | undefined;
  /** For --dry-run: the last op on each touched key (hex). */
  touched: Map<string, BatchOp> | undefined;
}

/** A WAL file to read and the summary of its ranges. */
/** The first `bytes` bytes of a file. */
function readPrefix(fs: FileSystem, path: string, bytes: number): Buffer {
  const file = fs.open(path, 'read');
  try {
    return readExactly(file, 0, bytes);
  } finally {
    file.close();
  }
}

interface Source {
  ref: WalFileRef;
  summary: WalFileSummary;
  isNewest: boolean;
}

class Restore {
  readonly #fs: FileSystem;
  readonly #options: RestoreOptions;
  readonly #progressStream: ToolIo['stderr'] | undefined;
  readonly #target: RestoreTarget;
  readonly #report: RestoreReport;
  /** The checkpoint's sequence C. */
  #sequence = 0;
  /** Sources from C on, in file-number order, up to the first break. */
  #reachable: Source[] = [];
  /** Number of the newest WAL file the checkpoint holds (its continuation is in the archive). */
  #checkpointWal: number | undefined;
  /** The bar, from the first phase on (#phase). */
  #progress: Progress | undefined;

  constructor(fs: FileSystem, options: RestoreOptions, progressStream: ToolIo['stderr'] | undefined) {
    this.#fs = fs;
    this.#options = options;
    this.#progressStream = progressStream;
    this.#target = parseTarget(options.to);
    const target = this.#target;
    this.#report = {
      tool: 'restore',
      from: options.from,
      out: options.out ?? null,
      dryRun: options.dryRun === true,
      target: { given: target.given, kind: target.kind, timeUtc: target.kind === 'time' ? formatTime(target.timeMs) : null, sequence: target.kind === 'sequence' ? target.sequence : null },
      checkpoint: { sequence: 0, timeMs: null, recordedTimeMs: null },
      reachable: { from: { sequence: 0, timeMs: null }, to: { sequence: 0, timeMs: null } },
      break: null,
      restoredTo: { sequence: 0, timeMs: null },
      records: 0,
      ops: 0,
      walFiles: [],
      changes: null,
      warnings: [],
    };
  }

  async run(): Promise<RestoreReport> {
    try {
      await this.#checkArguments();
      this.#walk(this.#sources());
      const plan = this.#plan();
      this.#decide(plan);
      if (this.#options.dryRun === true) {
        await this.#describeChanges(plan.touched!);
        return this.#report;
      }
      await this.#apply(plan.lastSequence);
      return this.#report;
    } finally {
      this.#progress?.finish();
    }
  }

  /**
   * Starts the bar's next phase, `restore CHECKPOINT: WHAT`, after closing the one before at
   * 100% (its work is done; a total that was an upper bound ends there too).
   */
  #phase(what: string, total: number, unit: ProgressUnit): Progress {
    const next = { label: `restore ${this.#options.from}: ${what}`, total, unit };
    if (this.#progress === undefined) {
      this.#progress = new Progress({ stream: this.#progressStream, enabled: this.#progressStream !== undefined, ...next });
    } else {
      this.#progress.complete();
      this.#progress.phase(next);
    }
    return this.#progress;
  }

  // ---------------------------------------------------------------- step 1

  async #checkArguments(): Promise<void> {
    const { from, archive, wal, out, dryRun } = this.#options;
    const fs = this.#fs;
    if (archive === undefined && wal === undefined) throw new ToolError('USAGE', 'Cannot restore: give --archive DIR/archive (and --wal DIR/wal for records not yet archived)');
    if (out === undefined && dryRun !== true) throw new ToolError('USAGE', 'Cannot restore: give --out NEWDIR (or --dry-run)');
    requireDirectory(fs, from, 'checkpoint');
    refuseLiveDirectory(fs, from, 'restore from', 'Restore from a checkpoint of it instead (BGSAVE makes one in DIR/checkpoints/)');
    requireSiltData(fs, from, 'restore from');
    if (archive !== undefined) requireDirectory(fs, archive, 'archive');
    if (wal !== undefined) requireDirectory(fs, wal, 'WAL directory');
    if (out !== undefined) checkOutputDirectory(fs, out, this.#inputs());
    let record: CheckpointRecord | undefined;
    if (fs.exists(joinPath(from, checkpointFileName))) record = readCheckpointRecord(fs, from);
    const engine = await LsmEngine.open(from, { readOnly: true, fs });
    try {
      this.#sequence = engine.stats().sequence;
    } finally {
      await engine.close();
    }
    if (record !== undefined && record.sequence !== this.#sequence) {
      this.#report.warnings.push(`CHECKPOINT says sequence ${record.sequence}, but the checkpoint opens at ${this.#sequence}; using ${this.#sequence}`);
    }
    const checkpointWal = listIn(fs, walDir(from), 'wal');
    this.#checkpointWal = checkpointWal[checkpointWal.length - 1]?.fileNumber;
    this.#report.checkpoint = { sequence: this.#sequence, timeMs: this.#lastWriteTimeMs(checkpointWal), recordedTimeMs: record?.timeMs ?? null };
    // Last, as the bar's first phase: no other work of this step runs under it at 100%.
    this.#checkSegments(from);
  }

  /**
   * The time of the newest write the checkpoint holds (the last batch at or below C): the moment
   * it stands for, and the earliest target it can restore to. Not CHECKPOINT's time, which says
   * when the copy was made: `silt checkpoint` copies a stopped directory, maybe days after its
   * last write, and every target in between is the checkpoint's own state. The batch is in the
   * checkpoint's WAL files, or, when they hold none (a server opened and closed without writes
   * starts an empty WAL file, which the copy then ends with), in a given WAL file numbered below
   * them; the walk in step 2 reads only the files from the checkpoint's newest one on. Newest
   * files first, and only until one holds such a batch.
   * @returns null when no file at hand holds it (then CHECKPOINT's time stands in for it)
   */
  #lastWriteTimeMs(checkpointWal: WalFileRef[]): number | null {
    const given = [...(this.#options.archive === undefined ? [] : listIn(this.#fs, this.#options.archive, 'archive')), ...(this.#options.wal === undefined ? [] : listIn(this.#fs, this.#options.wal, 'wal'))];
    const below = given.filter((ref) => this.#checkpointWal === undefined || ref.fileNumber < this.#checkpointWal).sort((a, b) => b.fileNumber - a.fileNumber);
    const candidates = [...[...checkpointWal].reverse().map((ref, index) => ({ ref, isNewest: index === 0 })), ...below.map((ref) => ({ ref, isNewest: false }))];
    for (const { ref, isNewest } of candidates) {
      let newest: { sequence: number; timeMs: number } | undefined;
      try {
        summarizeWalFile(this.#fs, ref, isNewest, (batch) => {
          const last = batch.sequence + Math.max(batch.ops.length - 1, 0);
          if (last <= this.#sequence && (newest === undefined || last > newest.sequence)) newest = { sequence: last, timeMs: batch.timeMs };
        });
      } catch (error) {
        if (!(error instanceof UnsupportedVersionError)) throw error;
        continue; // the walk reports it if it matters
      }
      if (newest !== undefined) return newest.timeMs;
    }
    return null;
  }

  /**
   * Reads every block of the checkpoint's live segments (as verify does): the
   * open above reads none, and restore hard-links them into NEWDIR, where a
   * damaged block would only show at its first read. The bar's first phase, in bytes
   * (the sizes the manifest records).
   * @throws ToolError CORRUPTION (exit 1) naming the first damaged segment
   */
  #checkSegments(from: string): void {
    const fs = this.#fs;
    const segments = readManifest(fs, from, { readOnly: true }).version.allFiles();
    const progress = this.#phase('checking segments', segments.reduce((sum, meta) => sum + meta.fileBytes, 0), 'bytes');
    for (const meta of segments) {
      const path = segmentPath(from, meta.fileNumber);
      const problem = checkSegment(fs, path, meta.fileNumber)[0];
      progress.advance(meta.fileBytes);
      if (problem === undefined) continue;
      throw new ToolError(
        'CORRUPTION',
        `Cannot restore from "${from}": its segment ${baseName(path)} is damaged at offset ${problem.offset} (${problem.message}). Restore from another checkpoint, or run silt verify and silt recover on this one`,
        { exitCode: ExitCode.damaged },
      );
    }
  }

  // ---------------------------------------------------------------- step 2

  /** WAL files of the archive and the WAL directory, by file number; the archive's copy wins a tie. */
  #sources(): Source[] {
    const byNumber = new Map<number, WalFileRef>();
    const live = this.#options.wal === undefined ? [] : listIn(this.#fs, this.#options.wal, 'wal');
    for (const ref of live) byNumber.set(ref.fileNumber, ref);
    if (this.#options.archive !== undefined) for (const ref of listIn(this.#fs, this.#options.archive, 'archive')) byNumber.set(ref.fileNumber, ref);
    const newestLive = live[live.length - 1];
    // Files numbered below the checkpoint's newest hold nothing after C.
    const refs = [...byNumber.values()].sort((a, b) => a.fileNumber - b.fileNumber).filter((ref) => this.#checkpointWal === undefined || ref.fileNumber >= this.#checkpointWal);
    const sizes = refs.map((ref, index) => {
      const holder = { ref };
      const size = this.#readMoving(holder, (at) => this.#fs.stat(at.path).size);
      refs[index] = holder.ref;
      return size;
    });
    const progress = this.#phase('reading WAL files', sizes.reduce((sum, size) => sum + size, 0), 'bytes');
    const sources: Source[] = [];
    for (const [index, ref] of refs.entries()) {
      // A live file the server archived meanwhile is no longer its newest.
      const isNewestAt = (at: WalFileRef): boolean => at.location === 'wal' && at.fileNumber === newestLive?.fileNumber;
      const holder = { ref };
      try {
        const summary = this.#readMoving(holder, (at) => summarizeWalFile(this.#fs, at, isNewestAt(at)));
        sources.push({ ref: holder.ref, summary, isNewest: isNewestAt(holder.ref) });
      } catch (error) {
        if (!(error instanceof UnsupportedVersionError)) throw error;
        throw new ToolError('UNSUPPORTED_VERSION', error.message, { cause: error, exitCode: ExitCode.damaged });
      }
      progress.advance(sizes[index]!);
    }
    this.#checkSameDatabase(sources);
    return sources;
  }

  /**
   * Runs `read` on `holder.ref`; when that is a live WAL file that went away meanwhile, moves
   * `holder.ref` to its copy in the archive and runs it again. A running server flushes and
   * moves its WAL files to archive/ while restore reads --wal DIR/wal (the usual setup).
   */
  #readMoving<T>(holder: { ref: WalFileRef }, read: (ref: WalFileRef) => T): T {
    try {
      return read(holder.ref);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code === 'ENOENT' || (error as { errno?: unknown }).errno === 'ENOENT';
      if (!code || holder.ref.location !== 'wal') throw error;
      const archive = this.#options.archive;
      const moved = archive === undefined ? undefined : joinPath(archive, baseName(holder.ref.path));
      if (moved === undefined || !this.#fs.exists(moved)) {
        throw new ToolError(
          'NOT_FOUND',
          `WAL file "${this.#name(holder.ref)}" went away while restore read it (the server flushed it)${archive === undefined ? '; give --archive DIR/archive, where a server with the archive on keeps it,' : ', and the archive does not hold it either:'} and run restore again`,
          { cause: error },
        );
      }
      holder.ref = { fileNumber: holder.ref.fileNumber, path: moved, location: 'archive' };
      return read(holder.ref);
    }
  }

  /**
   * Refuses WAL files of another database: the checkpoint copied its newest WAL file as it
   * was, and the file of that number in the archive (or --wal) is the same file, grown since,
   * or cut back by a write that failed at that moment. Where neither copy's records are a
   * prefix of the other's, the directories given are another server's: their records would
   * replay onto this checkpoint and restore would succeed with a mix of two databases.
   */
  #checkSameDatabase(sources: Source[]): void {
    const number = this.#checkpointWal;
    const given = sources.find((source) => source.ref.fileNumber === number);
    if (number === undefined || given === undefined) return;
    const copy = summarizeWalFile(this.#fs, { fileNumber: number, path: joinPath(walDir(this.#options.from), baseName(given.ref.path)), location: 'wal' }, true);
    const common = Math.min(copy.validBytes, given.summary.validBytes);
    const ours = readPrefix(this.#fs, copy.path, common);
    const theirs = readPrefix(this.#fs, given.ref.path, common);
    if (ours.equals(theirs)) return;
    throw new ToolError(
      'FOREIGN_WAL',
      `"${this.#name(given.ref)}" is not the WAL file the checkpoint copied as wal/${baseName(given.ref.path)} (their records differ): the archive or WAL directory given belongs to another database. Give the archive/ and wal/ of the data directory the checkpoint was taken from`,
      { exitCode: ExitCode.failed },
    );
  }

  /** Walks the sources from C to the first break; fills #reachable and the report's reachable range and break. */
  #walk(sources: Source[]): void {
    const c = this.#sequence;
    let lastSequence = c;
    let lastTimeMs: number | null = null;
    let previous: Source | undefined;
    let previousNumber = this.#checkpointWal;
    for (const source of sources) {
      const { summary, ref } = source;
      const file = this.#name(ref);
      if (summary.lastSequence !== undefined && summary.lastSequence === c) this.#report.checkpoint.timeMs = summary.lastTimeMs ?? null;
      const hasLater = summary.lastSequence !== undefined && summary.lastSequence > c;
      if (hasLater) {
        const firstLater = summary.firstSequence! > c ? summary.firstSequence! : undefined;
        const continues = firstLater === undefined || firstLater === lastSequence + 1 || ref.fileNumber === this.#checkpointWal || (previousNumber !== undefined && ref.fileNumber === previousNumber + 1);
        if (!continues) {
          const after = previous === undefined ? 'the checkpoint' : `"${this.#name(previous.ref)}"`;
          this.#report.break = {
            kind: 'gap',
            file,
            message: `the records of sequence ${lastSequence + 1}..${firstLater! - 1} are missing: a WAL file between ${after} and "${file}" is gone`,
            missingSequences: { first: lastSequence + 1, last: firstLater! - 1 },
          };
          break;
        }
        this.#reachable.push(source);
        lastSequence = summary.lastSequence!;
        lastTimeMs = summary.lastTimeMs ?? null;
      } else if (summary.state !== 'damaged') {
        this.#reachable.push(source); // records at or below C only; read for the checkpoint's time
      }
      previous = source;
      previousNumber = ref.fileNumber;
      if (summary.state === 'damaged') {
        this.#report.break = { kind: 'damage', file, message: `${summary.damageMessage ?? 'damaged'}; the records after it cannot be replayed`, missingSequences: null };
        break;
      }
    }
    this.#report.reachable = { from: { sequence: c, timeMs: null }, to: { sequence: lastSequence, timeMs: lastTimeMs } };
  }

  // ---------------------------------------------------------------- step 3

  /**
   * Reads the reachable batches and finds where the target stops replay. The bar's phase counts
   * the bytes of every reachable file; the files past the target are not read, so it is closed
   * at 100% when the target is found.
   */
  #plan(): ReplayPlan {
    const c = this.#sequence;
    const target = this.#target;
    const touched = this.#options.dryRun === true ? new Map<string, BatchOp>() : undefined;
    const plan: ReplayPlan = { lastSequence: c, lastTimeMs: null, reached: false, insideBatch: undefined, touched };
    const used = new Set<Source>();
    const progress = this.#phase('reading records up to the target', this.#reachable.reduce((sum, source) => sum + source.summary.fileBytes, 0), 'bytes');
    for (const source of this.#reachable) {
      if (plan.reached) break;
      this.#read(source, (batch) => {
        const last = batch.sequence + Math.max(batch.ops.length - 1, 0);
        if (last <= c) {
          this.#report.checkpoint.timeMs = batch.timeMs;
          return;
        }
        if (plan.reached) return;
        if (target.kind === 'time' ? batch.timeMs > target.timeMs : batch.sequence > target.sequence) {
          plan.reached = true;
          return;
        }
        if (target.kind === 'sequence' && last > target.sequence) {
          plan.reached = true;
          plan.insideBatch = { first: batch.sequence, last };
          return;
        }
        plan.lastSequence = last;
        plan.lastTimeMs = batch.timeMs;
        used.add(source);
        this.#report.records++;
        this.#report.ops += batch.ops.length;
        if (touched !== undefined) for (const op of batch.ops) touched.set(op.key.toString('hex'), copyOp(op));
        // A sequence target is reached at its own batch; a time target only by a later batch (records
        // beyond a break might carry the same or an earlier time).
        if (target.kind === 'sequence' && last === target.sequence) plan.reached = true;
      });
      progress.advance(source.summary.fileBytes);
    }
    progress.complete();
    this.#report.walFiles = this.#reachable.filter((source) => used.has(source)).map((source) => this.#name(source.ref));
    const reachable = this.#report.reachable;
    reachable.from.timeMs = this.#report.checkpoint.timeMs ?? this.#report.checkpoint.recordedTimeMs;
    if (reachable.to.sequence === this.#sequence) reachable.to.timeMs = reachable.from.timeMs;
    return plan;
  }

  /** Refuses targets outside what can be reached; records where the restore ends. */
  #decide(plan: ReplayPlan): void {
    const report = this.#report;
    const target = this.#target;
    const reach = `from this checkpoint the given WAL files reach ${describePoint(report.reachable.from)} to ${describePoint(report.reachable.to)}`;
    // A time is before the checkpoint when it is before the newest write the checkpoint holds (#lastWriteTimeMs).
    const before = target.kind === 'time' ? report.reachable.from.timeMs !== null && target.timeMs < report.reachable.from.timeMs : target.sequence < this.#sequence;
    if (before) {
      const unknown =
        target.kind === 'time' && report.checkpoint.timeMs === null
          ? ' (the time of its last write is in none of its WAL files nor the given ones, so the time CHECKPOINT records, when the copy was made, stands in for it: pass the archive that holds that write to restore to a time between them)'
          : '';
      throw new ToolError('BEFORE_CHECKPOINT', `Cannot restore to ${describeTarget(target)}: it is before the checkpoint (${describePoint(report.reachable.from)})${unknown}; use an older checkpoint. ${capitalize(reach)}`);
    }
    // seq:C, the checkpoint's own sequence, needs no record: a break after it does not matter.
    const atCheckpoint = target.kind === 'sequence' && target.sequence === this.#sequence;
    if (!plan.reached && !atCheckpoint) {
      if (report.break !== null) {
        // A time target at or after the last record before the break: a missing record may carry that same time (or an
        // earlier one, if the clock stepped back), so where replay should stop is unknowable. Say so, and how to get the newest state.
        const to = report.reachable.to;
        const edge =
          target.kind === 'time' && to.sequence > this.#sequence
            ? ` A missing record may be stamped at or before ${formatTime(target.timeMs)}, so no time from ${to.timeMs === null ? `seq ${to.sequence}` : formatTime(to.timeMs)} on can be restored: --to seq:${to.sequence} restores the state after the last record before the break.`
            : '';
        throw new ToolError('GAP', `Cannot restore to ${describeTarget(target)}: ${report.break.message}. ${capitalize(reach)}.${edge}`, { exitCode: ExitCode.damaged });
      }
      if (target.kind === 'sequence' && target.sequence > plan.lastSequence) {
        throw new ToolError('BEYOND_HISTORY', `Cannot restore to ${describeTarget(target)}: the newest record given is sequence ${plan.lastSequence}. ${capitalize(reach)}`);
      }
      if (target.kind === 'time') {
        // No record past the checkpoint: the newest state is the checkpoint's, whose time it records.
        const newestMs = plan.lastTimeMs ?? (plan.lastSequence === report.checkpoint.sequence ? report.checkpoint.timeMs : null);
        report.warnings.push(`No record later than ${formatTime(target.timeMs)} was given (the newest is ${describePoint({ sequence: plan.lastSequence, timeMs: newestMs })}); the result is the state after the newest record${this.#options.wal === undefined ? ': pass --wal DIR/wal to include records not yet archived' : ''}`);
      }
    }
    if (plan.insideBatch !== undefined) {
      report.warnings.push(`seq:${(target as { sequence: number }).sequence} falls inside the batch of sequences ${plan.insideBatch.first}..${plan.insideBatch.last}, which applies whole or not at all; restored to sequence ${plan.lastSequence}, just before it`);
    }
    report.restoredTo = { sequence: plan.lastSequence, timeMs: plan.lastTimeMs ?? report.reachable.from.timeMs };
  }

  /** For --dry-run: which keys the replay would change, compared with the checkpoint. */
  async #describeChanges(touched: Map<string, BatchOp>): Promise<void> {
    const changes: NonNullable<RestoreReport['changes']> = { added: 0, changed: 0, deleted: 0, keys: [], keysListed: 0 };
    const engine = await LsmEngine.open(this.#options.from, { readOnly: true, fs: this.#fs });
    try {
      const table = tableAfter(engine.get(dbTableKey), touched.get(dbTableKey.toString('hex')));
      for (const [hex, op] of [...touched].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const before = engine.get(op.key);
        let change: 'added' | 'changed' | 'deleted' | undefined;
        if (op.type === 'del') change = before === undefined ? undefined : 'deleted';
        else change = before === undefined ? 'added' : before.equals(op.value) ? undefined : 'changed';
        if (change === undefined) continue;
        changes[change]++;
        if (changes.keys.length < dryRunKeysListedMax) changes.keys.push({ key: hex, change, decoded: describeEngineKey(op.key, table) });
      }
    } finally {
      await engine.close();
    }
    changes.keysListed = changes.keys.length;
    this.#report.changes = changes;
  }

  // ---------------------------------------------------------------- step 4

  async #apply(lastSequence: number): Promise<void> {
    const { from, out } = this.#options;
    const fs = this.#fs;
    createOutputDirectory(fs, out!, this.#inputs());
    writeUnfinishedMarker(fs, out!, 'restore');
    copyCheckpoint(fs, from, out!);
    const progress = this.#phase(`replaying records into ${out!}`, this.#report.records, 'records');
    const engine = await LsmEngine.open(out!, { fs, backgroundExecutor: 'inline', syncPolicy: 'no', openUnfinished: true });
    let inFlight: Promise<unknown>[] = [];
    const settle = async (): Promise<void> => {
      const writes = inFlight;
      inFlight = [];
      await Promise.all(writes);
    };
    try {
      if (engine.stats().sequence !== this.#sequence) throw new ToolError('INTERNAL', `The copy of the checkpoint opens at sequence ${engine.stats().sequence}, not ${this.#sequence}`);
      for (const source of this.#reachable) {
        const batches: WalBatch[] = [];
        this.#read(source, (batch) => {
          const last = batch.sequence + Math.max(batch.ops.length - 1, 0);
          if (batch.sequence > this.#sequence && last <= lastSequence) batches.push(batch);
        });
        for (const batch of batches) {
          const write = new WriteBatch();
          for (const op of batch.ops) {
            if (op.type === 'put') write.put(op.key, op.value);
            else write.del(op.key);
          }
          // The engine applies writes in call order; awaiting each alone would cost a WAL write(2) per record.
          inFlight.push(engine.write(write));
          if (inFlight.length >= restoreWritesInFlightMax) await settle();
          progress.advance(1);
        }
        if (source.summary.lastSequence !== undefined && source.summary.lastSequence >= lastSequence) break;
      }
      await settle();
      await engine.sync();
    } finally {
      // After a failure: let the writes still in flight end (their errors are the one already thrown) before closing.
      await Promise.allSettled(inFlight);
      await engine.close();
    }
    // Every record up to the target is in: NEWDIR is the state asked for, and may be opened.
    removeUnfinishedMarker(fs, out!);
  }

  // ---------------------------------------------------------------- helpers

  /** Directories restore reads and must not write into: the checkpoint, the archive and WAL, and the data directory holding them. */
  #inputs(): string[] {
    const { from, archive, wal } = this.#options;
    const inputs = [from];
    for (const dir of [archive, wal]) {
      if (dir === undefined) continue;
      inputs.push(dir);
      const parent = dirname(resolve(dir));
      if (this.#fs.exists(joinPath(parent, currentFileName)) || this.#fs.exists(segmentDir(parent))) inputs.push(parent);
    }
    return inputs;
  }

  /** Reads one source's good batches in order. */
  #read(source: Source, onBatch: (batch: WalBatch) => void): void {
    try {
      this.#readMoving(source, (at) => summarizeWalFile(this.#fs, at, source.isNewest && at.location === 'wal', (batch) => onBatch(batch)));
    } catch (error) {
      if (error instanceof CorruptionError || error instanceof UnsupportedVersionError) throw new ToolError('CORRUPTION', error.message, { cause: error, exitCode: ExitCode.damaged });
      throw error;
    }
  }

  #name(ref: WalFileRef): string {
    const base = ref.location === 'archive' ? this.#options.archive! : this.#options.wal!;
    return `${basename(base)}/${relativeFile(base, ref.path)}`;
  }
}

/**
 * Copies a checkpoint (or stopped data directory) to `out` so it opens as its
 * own database: segments hard-linked, WAL, manifest and CURRENT copied;
 * CHECKPOINT, LOCK, checkpoints/ and archive/ left behind.
 */
function copyCheckpoint(fs: FileSystem, from: string, out: string): void {
  for (const name of fs.list(from)) {
    const source = joinPath(from, name);
    const target = joinPath(out, name);
    if (name === checkpointFileName || name === lockFileName || name === 'checkpoints' || name === 'archive') continue;
    if (fs.stat(source).isDirectory) {
      if (name !== 'seg' && name !== 'wal') continue;
      fs.mkdir(target);
      for (const child of fs.list(source)) {
        const kind = parseFileName(child)?.kind;
        if (name === 'seg' && kind === 'segment') linkOrCopy(fs, joinPath(source, child), joinPath(target, child));
        else if (name === 'wal' && kind === 'wal') fs.copyFile(joinPath(source, child), joinPath(target, child));
      }
      fs.syncDir(target);
      continue;
    }
    const kind = parseFileName(name)?.kind;
    if (kind === 'manifest' || kind === 'current') fs.copyFile(source, target);
  }
  fs.syncDir(out);
}

/**
 * The database table the replayed state has: the replay's last write of it, else the
 * checkpoint's; undefined when neither is there or decodes (raw engine data: keys stay raw).
 */
function tableAfter(checkpointValue: Buffer | undefined, replayed: BatchOp | undefined): DbTable | undefined {
  const value = replayed === undefined ? checkpointValue : replayed.type === 'put' ? replayed.value : undefined;
  if (value === undefined) return undefined;
  try {
    return decodeTable(value);
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    return undefined; // its keys are shown raw; silt verify reports the table
  }
}

function copyOp(op: BatchOp): BatchOp {
  return op.type === 'put' ? { type: 'put', key: Buffer.from(op.key), value: Buffer.from(op.value) } : { type: 'del', key: Buffer.from(op.key) };
}

function describePoint(point: HistoryPoint): string {
  return `${point.timeMs === null ? 'time unknown' : formatTime(point.timeMs)} (seq ${point.sequence})`;
}

function describeTarget(target: RestoreTarget): string {
  return target.kind === 'time' ? `${formatTime(target.timeMs)}` : `seq:${target.sequence}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function printReport(io: ToolIo, report: RestoreReport): void {
  const out = io.stdout;
  writeLine(out, `silt restore from ${report.from}${report.dryRun ? ' (dry run: nothing written)' : ` -> ${report.out}`}`);
  writeLine(out, `Checkpoint: ${describePoint(report.checkpoint)}`);
  const target = report.target;
  writeLine(out, `Target: ${target.kind === 'time' ? `${target.timeUtc} (given as ${target.given})` : target.given}`);
  writeLine(out, `Reachable: ${describePoint(report.reachable.from)} .. ${describePoint(report.reachable.to)}${report.break === null ? '' : ` (then ${report.break.kind}: ${report.break.message})`}`);
  writeLine(out, `${report.dryRun ? 'Would replay' : 'Replayed'} ${plural(report.records, 'record')} (${plural(report.ops, 'op')}) from ${plural(report.walFiles.length, 'WAL file')}`);
  for (const warning of report.warnings) writeLine(out, `warning: ${warning}`);
  if (report.changes !== null) {
    const c = report.changes;
    writeLine(out, `Keys that would change: ${c.added} added, ${c.changed} changed, ${c.deleted} deleted`);
    for (const key of c.keys) writeLine(out, `  ${key.change.padEnd(7)} ${key.decoded.text}`);
    if (c.keysListed < c.added + c.changed + c.deleted) writeLine(out, `  ... ${c.added + c.changed + c.deleted - c.keysListed} more (--json lists up to ${dryRunKeysListedMax})`);
  }
  writeLine(out, `Result: ${report.dryRun ? 'a restore would give' : `${report.out} holds`} the state at ${describePoint(report.restoredTo)}`);
}
