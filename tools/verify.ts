// `silt verify DIR`: checks every byte of a stopped data directory (or a
// checkpoint) that silt can check, and lists each problem with the file, the
// offset, and the keys and sequence numbers it affects. It never writes: the
// directory is read through read-only readers and LOCK is only read.
//
// Checks run as passes over one shared context, in order:
//
//   1. manifest: CURRENT, the manifest it names (replayed as the server
//      would), Version invariants, every segment the manifest names present
//      with the size it records; stray files (orphan segments, old manifests)
//      are notes;
//   2. segments: every block of every live segment (lib/segment/segment-checker.ts:
//      CRC, decompression, key order within and across blocks, index and Bloom
//      filter consistency, totals), and the segment's properties against the
//      manifest's record of it;
//   3. wal: every record of every live WAL file; a torn tail on the newest
//      file is a note (normal after a crash: the server cuts it at open),
//      anything else is damage;
//   4. archive: every record of every archived WAL file (restore replays
//      them), and gaps that point-in-time restore cannot cross (notes);
//   5. engine: when nothing above was damaged, LsmEngine opens the directory
//      read-only, as the server would, to catch whatever the passes missed
//      (the logical pass reads through that same engine).
//
//   6. logical (tools/logical-verify.ts): the Redis data the files encode
//      (collection sizes, subkeys against metadata versions, TTLs, counters,
//      the database table); skipped when the passes above found damage or
//      the directory holds no keyspace.
//
// Key ranges (a damaged block's, a missing segment's) are engine keys; the
// report also names them as Redis keys of dbs (tools/describe-engine-key.ts,
// `decoded` in the JSON), by the newest database table (`D`) the directory's
// readable data holds: the engine's when it opened, else the newest version
// in the live segments and WAL files. When a damaged range may hold that
// table, or it does not decode, keys are named by their physical db ids; a
// directory without one (raw engine data) keeps its engine keys.
//
// Damage gives exit 1, notes
// alone exit 0, a directory that cannot be verified (absent, held by a
// running server, holding no silt data) exit 2.

import { CorruptionError, KvError, UnsupportedVersionError } from '../lib/errors.js';
import { LsmEngine } from '../lib/engine/lsm-engine.js';
import { userKeyOf } from '../lib/format/internal-key.js';
import { joinPath, type FileSystem } from '../lib/fs/file-system.js';
import { archiveDir, archiveDirName, checkpointFileName, checkpointsDirName, currentFileName, lockFileName, parseFileName, segmentDir, segmentDirName, segmentPath, unfinishedFileName, walDir, walDirName, walPath } from '../lib/format/file-names.js';
import { probeDataDirectory, readManifest, type ManifestState } from '../lib/manifest/manifest-reader.js';
import type { SegmentMeta } from '../lib/manifest/segment-meta.js';
import { checkSegment } from '../lib/segment/segment-checker.js';
import { decodeTable, type DbTable } from '../lib/keyspace/db-table.js';
import { dbTableKey } from '../lib/keyspace/key-encoding.js';
import { defaultFileSystem, refuseLiveDirectory, staleLockReason, requireDirectory, requireSiltData } from './data-dir.js';
import { describeKeyRange, unknownTable, type DecodedKeyRange } from './describe-engine-key.js';
import { KeyFinder } from './key-finder.js';
import { Progress } from './progress.js';
import {
  formatBytes,
  keyRange,
  plural,
  relativeFile,
  renderKeyRange,
  renderSequenceRange,
  sequenceRange,
  type KeyRange,
  type SequenceRange,
} from './render.js';
import { logicalPass, type LogicalProblemKind, type LogicalSummary } from './logical-verify.js';
import { blockKeyRange, compactionEvidence, describeFlushEvidence, flushEvidence, scanSegment, segmentKeyRange, type FlushEvidence, type SegmentScan } from './segment-scan.js';
import { ExitCode, runTool, writeJson, writeLine, type ToolIo, type ToolResult } from './tool-io.js';
import { damageLosesNothing, listIn, scanRecordsAfter, summarizeWalFile, type WalFileSummary } from './wal-scan.js';

/** damage: the directory is not what silt wrote (exit 1). note: worth knowing, nothing lost (exit 0). */
export type ProblemSeverity = 'damage' | 'note';

/** What kind of problem; stable words for scripts (docs/operations.md lists them). */
export type ProblemKind =
  | 'current-missing'
  | 'current'
  | 'manifest'
  | 'manifest-torn-tail'
  | 'manifest-stale'
  | 'version-invariant'
  | 'segment-missing'
  | 'segment-size'
  | 'segment'
  | 'segment-mismatch'
  | 'segment-orphan'
  | 'unknown-file'
  | 'wal-missing'
  | 'wal-record'
  | 'wal-torn-tail'
  | 'wal-sequence'
  | 'wal-obsolete'
  | 'archive-record'
  | 'archive-gap'
  | 'unsupported-version'
  | 'lock-stale'
  | 'temp-file'
  | 'open'
  | LogicalProblemKind;

export interface VerifyProblem {
  severity: ProblemSeverity;
  kind: ProblemKind;
  /** Relative to the data directory, "/"-separated ("seg/000005.sst"). */
  file: string;
  /** Byte offset in `file` of the damaged part; null when not about one place. */
  offset: number | null;
  message: string;
  /** User keys whose data the problem affects, when known. */
  keyRange?: KeyRange;
  /** Sequence numbers the problem affects, when known. */
  sequenceRange?: SequenceRange;
  /** Logical problems: the Redis db concerned. */
  db?: number;
  /** Logical problems: the Redis key concerned, hex. */
  key?: string;
  /**
   * With keyRange: its ends as Redis keys of dbs, and the range for people (tools/describe-engine-key.ts),
   * by the directory's database table (VerifyReport.databaseTable says which).
   */
  decoded?: { keyRange: DecodedKeyRange };
}

export interface VerifyReport {
  tool: 'verify';
  dir: string;
  /** No damage (notes allowed). */
  healthy: boolean;
  damageCount: number;
  /**
   * Damage in archive/ (counted in damageCount): archived WAL files, which only point-in-time
   * restore reads. The server opens and serves the directory whatever it is; recover does not copy it.
   */
  archiveDamageCount: number;
  noteCount: number;
  problems: VerifyProblem[];
  checked: {
    manifest: string | null;
    segments: number;
    segmentBytes: number;
    blocks: number;
    walFiles: number;
    walRecords: number;
    archiveFiles: number;
    archiveRecords: number;
  };
  passes: string[];
  /** What the logical pass checked (absent when it did not run). */
  logical?: LogicalSummary;
  /**
   * How the problems' key ranges are decoded (`decoded`): `found`, by the directory's database table
   * (Redis keys of dbs); `none`, the directory has none (raw engine data: engine keys as they are);
   * `unreadable`, its table does not decode or a damaged range may hold it (keys of physical db ids);
   * null when no problem has a key range.
   */
  databaseTable: 'found' | 'none' | 'unreadable' | null;
  durationMs: number;
}

/** What the passes share. */
export interface VerifyContext {
  readonly fs: FileSystem;
  readonly dir: string;
  /** The replayed manifest, when pass 1 could read it. */
  manifest: ManifestState | undefined;
  readonly report: VerifyReport;
  /** The bar: `verify DIR: checking files` while the physical passes read (bytes); the logical pass starts a phase of its own. */
  readonly progress: Progress;
  /** The label of the logical pass's phase (`verify DIR: checking keyspace`). */
  readonly keyspaceProgressLabel: string;
  add(problem: VerifyProblem): void;
  /** Path relative to the data directory. */
  relative(file: string): string;
  /**
   * The read-only engine the engine pass opened, left open for the logical
   * pass (opening replays the whole WAL: once is enough); verifyDirectory
   * closes it at the end.
   */
  engine: LsmEngine | undefined;
}

/** One pass of verify; the logical checks of lib/keyspace are one more. */
export interface VerifyPass {
  name: string;
  run(context: VerifyContext): void | Promise<void>;
}

export interface VerifyOptions {
  dir: string;
  json?: boolean;
  /** Default: node:fs. */
  fs?: FileSystem;
  /** Default: defaultVerifyPasses. */
  passes?: readonly VerifyPass[];
}

/**
 * Verifies a data directory and prints the report.
 * @returns exit 0 healthy (notes allowed), 1 damaged, 2 could not run
 */
export function verify(options: VerifyOptions, io: ToolIo): Promise<ToolResult<VerifyReport>> {
  const json = options.json === true;
  return runTool('verify', io, json, async () => {
    const fs = options.fs ?? defaultFileSystem();
    const report = await verifyDirectory(fs, options.dir, { passes: options.passes ?? defaultVerifyPasses, progressStream: json ? undefined : io.stderr });
    if (json) writeJson(io.stdout, report);
    else printReport(io, report);
    // A file in a newer format is not damage: this build cannot judge it (docs/operations.md, exit 2).
    const newer = report.problems.some((problem) => problem.kind === 'unsupported-version');
    if (newer && !json) writeLine(io.stderr, 'silt verify: a file is in a format version this build does not read; use a newer silt (exit 2)');
    return { exitCode: newer ? ExitCode.failed : report.healthy ? ExitCode.ok : ExitCode.damaged, report };
  });
}

/**
 * Runs the passes and returns the report without printing it (recover uses
 * this on its output).
 * @throws ToolError when the directory cannot be verified (absent, held by a live process, no silt data)
 */
export async function verifyDirectory(
  fs: FileSystem,
  dir: string,
  options: {
    passes?: readonly VerifyPass[];
    progressStream?: ToolIo['stderr'] | undefined;
    /** The bar's label while the files are read (default "verify DIR: checking files"). */
    progressLabel?: string;
    /** The bar's label while the logical pass walks the keyspace (default "verify DIR: checking keyspace"). */
    keyspaceProgressLabel?: string;
  } = {},
): Promise<VerifyReport> {
  const started = performance.now();
  requireDirectory(fs, dir);
  const lock = refuseLiveDirectory(
    fs,
    dir,
    'verify',
    'A live directory changes while it is read, so verify a checkpoint of it instead: BGSAVE (or `silt checkpoint` once the server is stopped), then `silt verify DIR/checkpoints/NAME`',
  );
  requireSiltData(fs, dir, 'verify');
  const passes = options.passes ?? defaultVerifyPasses;
  const report: VerifyReport = {
    tool: 'verify',
    dir,
    healthy: true,
    damageCount: 0,
    archiveDamageCount: 0,
    noteCount: 0,
    problems: [],
    checked: { manifest: null, segments: 0, segmentBytes: 0, blocks: 0, walFiles: 0, walRecords: 0, archiveFiles: 0, archiveRecords: 0 },
    passes: passes.map((pass) => pass.name),
    databaseTable: null,
    durationMs: 0,
  };
  const progress = new Progress({
    stream: options.progressStream,
    label: options.progressLabel ?? `verify ${dir}: checking files`,
    total: bytesToRead(fs, dir, passes.includes(archivePass)),
    unit: 'bytes',
    enabled: options.progressStream !== undefined,
  });
  const context: VerifyContext = {
    fs,
    dir,
    manifest: undefined,
    report,
    progress,
    keyspaceProgressLabel: options.keyspaceProgressLabel ?? `verify ${dir}: checking keyspace`,
    add(problem) {
      report.problems.push(problem);
      if (problem.severity === 'damage') report.damageCount++;
      else report.noteCount++;
      report.healthy = report.damageCount === 0;
    },
    relative: (file) => relativeFile(dir, file),
    engine: undefined,
  };
  if (lock.state === 'stale') {
    context.add({ severity: 'note', kind: 'lock-stale', file: lockFileName, offset: null, message: `LOCK is stale (${staleLockReason(lock.reason, lock.info)}): the next server start takes it over` });
  }
  try {
    for (const pass of passes) await pass.run(context);
    decodeKeyRanges(context);
  } finally {
    progress.finish();
    await context.engine?.close();
  }
  report.archiveDamageCount = report.problems.filter((problem) => problem.severity === 'damage' && isArchiveFile(problem.file)).length;
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

// ---------------------------------------------------------------- pass 1: manifest

const manifestPass: VerifyPass = {
  name: 'manifest',
  run(context) {
    const { fs, dir } = context;
    const probe = probeDataDirectory(fs, dir);
    for (const name of fs.list(dir)) {
      const kind = parseFileName(name)?.kind;
      if (kind === 'temp') context.add({ severity: 'note', kind: 'temp-file', file: name, offset: null, message: `"${name}" is a leftover of an interrupted write; it is ignored and replaced` });
    }
    if (probe.state === 'missing-current') {
      const names = probe.dataNames.slice(0, 5).map((name) => `"${name}"`).join(', ');
      context.add({
        severity: 'damage',
        kind: 'current-missing',
        file: currentFileName,
        offset: 0,
        message: `"${currentFileName}" is missing but the directory holds ${names}: the server cannot open it; \`silt recover\` rebuilds the manifest from the segments`,
      });
      return;
    }
    let manifest: ManifestState;
    try {
      manifest = readManifest(fs, dir, { readOnly: true });
    } catch (error) {
      if (error instanceof UnsupportedVersionError) {
        context.add({ severity: 'damage', kind: 'unsupported-version', file: context.relative(error.file), offset: null, message: error.message });
        return;
      }
      if (!(error instanceof CorruptionError)) throw error;
      const kind = context.relative(error.file) === currentFileName ? 'current' : 'manifest';
      context.add({ severity: 'damage', kind, file: context.relative(error.file), offset: error.offset, message: error.message });
      return;
    }
    context.manifest = manifest;
    context.report.checked.manifest = manifest.manifestName;
    const actedOn = manifest.truncatedTail === undefined ? undefined : actedOnTail(context, manifest);
    if (actedOn !== undefined) {
      const tail = manifest.truncatedTail!;
      context.add({
        severity: 'damage',
        kind: 'manifest',
        file: manifest.manifestName,
        offset: tail.offset,
        message: `${manifest.manifestName} ends in an unreadable record of ${tail.bytes} bytes at offset ${tail.offset} (${tail.reason}), not a torn append: ${actedOn}, so the server had acted on that edit (it deletes a compaction's inputs, or a flushed WAL file, only after the edit is synced); \`silt recover\` ${actedOn.endsWith('(a flush)') ? 'adopts that segment' : 'rebuilds from the segments on disk'}`,
      });
    } else if (manifest.truncatedTail !== undefined) {
      const tail = manifest.truncatedTail;
      context.add({
        severity: 'note',
        kind: 'manifest-torn-tail',
        file: manifest.manifestName,
        offset: tail.offset,
        message: `${manifest.manifestName} ends in a torn record of ${tail.bytes} bytes at offset ${tail.offset} (${tail.reason}): an edit whose sync never returned, which nothing acted on; the server ignores it and replaces the manifest at open`,
      });
    }
    for (const problem of manifest.version.checkInvariants()) {
      context.add({ severity: 'damage', kind: 'version-invariant', file: manifest.manifestName, offset: null, message: `The manifest's version breaks an invariant: ${problem}` });
    }
    checkNamedSegments(context, manifest);
    noteStrayFiles(context, manifest);
  },
};

/**
 * Why a manifest's unreadable last record cannot be a torn append (which
 * nothing acts on): a compaction it recorded left its traces
 * (compactionEvidence). Undefined when nothing says so.
 */
function actedOnTail(context: VerifyContext, manifest: ManifestState): string | undefined {
  const evidence = compactionEvidence(context.fs, context.dir, manifest.version);
  if (evidence === undefined) {
    const flush = actedOnFlush(context.fs, context.dir, manifest);
    return flush === undefined ? undefined : describeFlushEvidence(flush, (fileNumber) => context.relative(segmentPath(context.dir, fileNumber)), context.relative(walPath(context.dir, flush.missingLog)));
  }
  const { missing, outputs } = evidence;
  const names = outputs.map((output) => context.relative(segmentPath(context.dir, output.fileNumber))).join(', ');
  return `${plural(missing.length, 'segment')} the manifest names ${missing.length === 1 ? 'is' : 'are'} missing while ${names}, which it does not name, ${outputs.length === 1 ? 'holds' : 'hold'} sequences of ${missing.length === 1 ? 'it' : 'them'} (a compaction's output)`;
}

/**
 * flushEvidence() for `manifest`'s directory: its live WAL files read for
 * their first sequence (one whose format this build does not read counts as
 * holding none).
 */
export function actedOnFlush(fs: FileSystem, dir: string, manifest: ManifestState): FlushEvidence | undefined {
  const live = listIn(fs, walDir(dir), 'wal');
  const newest = live.at(-1)?.fileNumber;
  return flushEvidence(
    fs,
    dir,
    manifest.version,
    manifest.logNumber,
    live.map((ref) => ref.fileNumber),
    (fileNumber) => {
      const ref = live.find((candidate) => candidate.fileNumber === fileNumber)!;
      try {
        return summarizeWalFile(fs, ref, fileNumber === newest).firstSequence;
      } catch (error) {
        if (error instanceof UnsupportedVersionError) return undefined;
        throw error;
      }
    },
  );
}

function checkNamedSegments(context: VerifyContext, manifest: ManifestState): void {
  const { fs, dir } = context;
  for (const meta of manifest.version.allFiles()) {
    const path = segmentPath(dir, meta.fileNumber);
    const file = context.relative(path);
    const affected = { keyRange: metaKeyRange(meta), sequenceRange: sequenceRange(meta.smallestSequence, meta.largestSequence) };
    if (!fs.exists(path)) {
      context.add({ severity: 'damage', kind: 'segment-missing', file, offset: 0, message: `Segment "${file}" is missing: the manifest names it at level ${meta.level} (${meta.entryCount} entries)`, ...affected });
      continue;
    }
    const size = fs.stat(path).size;
    if (size !== meta.fileBytes) {
      context.add({ severity: 'damage', kind: 'segment-size', file, offset: size, message: `Segment "${file}" has ${size} bytes, the manifest says ${meta.fileBytes}`, ...affected });
    }
  }
}

function noteStrayFiles(context: VerifyContext, manifest: ManifestState): void {
  const { fs, dir } = context;
  const live = manifest.version.fileNumbers();
  const segDir = segmentDir(dir);
  if (fs.exists(segDir)) {
    for (const name of fs.list(segDir)) {
      const parsed = parseFileName(name);
      if (parsed?.kind !== 'segment' || live.has(parsed.number)) continue;
      context.add({
        severity: 'note',
        kind: 'segment-orphan',
        file: `seg/${name}`,
        offset: null,
        message: `"seg/${name}" is not named by the manifest: a leftover of an interrupted flush or compaction, not read; the server deletes it at its next open`,
      });
    }
  }
  for (const name of fs.list(dir)) {
    const parsed = parseFileName(name);
    if (parsed?.kind !== 'manifest' || name === manifest.manifestName) continue;
    context.add({ severity: 'note', kind: 'manifest-stale', file: name, offset: null, message: `"${name}" is not the manifest CURRENT names (${manifest.manifestName}); the server deletes it at its next open` });
  }
  noteUnknownFiles(context);
}

/** Names in DIR that are silt's besides its files (file-names.ts): its directories, a checkpoint's record, the UNFINISHED marker, recover's lost+found. */
const knownTopNames: ReadonlySet<string> = new Set([walDirName, segmentDirName, archiveDirName, checkpointsDirName, checkpointFileName, unfinishedFileName, 'lost+found']);

/**
 * Files silt neither reads nor deletes: a note each (the first unknownFilesListedMax), so that an
 * operator knows they are there and that no tool or server open looks at them.
 */
function noteUnknownFiles(context: VerifyContext): void {
  const { fs, dir } = context;
  const unknown: string[] = [];
  for (const name of fs.list(dir)) if (parseFileName(name) === undefined && !knownTopNames.has(name)) unknown.push(name);
  for (const [sub, kind] of [[segmentDirName, 'segment'], [walDirName, 'wal']] as const) {
    const path = joinPath(dir, sub);
    if (!fs.exists(path) || !fs.stat(path).isDirectory) continue;
    for (const name of fs.list(path)) if (parseFileName(name)?.kind !== kind) unknown.push(`${sub}/${name}`);
  }
  for (const name of unknown.slice(0, unknownFilesListedMax)) {
    context.add({ severity: 'note', kind: 'unknown-file', file: name, offset: null, message: `"${name}" is not a silt file: the server and the tools neither read nor delete it` });
  }
  if (unknown.length > unknownFilesListedMax) {
    context.add({ severity: 'note', kind: 'unknown-file', file: unknown[unknownFilesListedMax]!, offset: null, message: `${unknown.length - unknownFilesListedMax} more files that are not silt's (not listed)` });
  }
}

/** Unknown files listed one by one; past this only counted. */
const unknownFilesListedMax = 20;

// ---------------------------------------------------------------- pass 2: segments

const segmentsPass: VerifyPass = {
  name: 'segments',
  run(context) {
    const { fs, dir, manifest } = context;
    const toCheck = segmentsToCheck(fs, dir, manifest);
    // Segments the manifest does not name (noted in pass 1) are not read: counted as done for the progress bar.
    const checked = new Set(toCheck.map((segment) => segment.fileNumber));
    for (const fileNumber of segmentFileNumbers(fs, dir)) if (!checked.has(fileNumber)) context.progress.advance(fs.stat(segmentPath(dir, fileNumber)).size);
    for (const { fileNumber, meta } of toCheck) {
      const path = segmentPath(dir, fileNumber);
      const file = context.relative(path);
      const problems = checkSegment(fs, path, fileNumber);
      const scan = scanSegment(fs, path, { readData: problems.length > 0 });
      context.report.checked.segments++;
      context.report.checked.segmentBytes += scan.fileBytes;
      context.report.checked.blocks += scan.blocks.length;
      const segmentRange = scan.properties !== undefined || meta === undefined ? segmentKeyRange(scan) : metaKeyRange(meta);
      const sequences = scan.properties !== undefined ? sequenceRange(scan.properties.smallestSequence, scan.properties.largestSequence) : meta === undefined ? undefined : sequenceRange(meta.smallestSequence, meta.largestSequence);
      if (scan.unsupportedVersion !== undefined) {
        // Not damage this build can judge: the rest of the file is in a format it does not read.
        context.add({ severity: 'damage', kind: 'unsupported-version', file, offset: null, message: scan.unsupportedVersion });
        context.progress.advance(scan.fileBytes);
        continue;
      }
      for (const problem of problems) {
        const blockIndex = scan.blocks.findIndex((block) => block.offset === problem.offset);
        const range = blockIndex === -1 ? segmentRange : blockKeyRange(scan, blockIndex);
        context.add({ severity: 'damage', kind: 'segment', file, offset: problem.offset, message: problem.message, keyRange: range, ...(sequences === undefined ? {} : { sequenceRange: sequences }) });
      }
      if (meta !== undefined) checkAgainstManifest(context, file, meta, scan);
      context.progress.advance(scan.fileBytes);
    }
  },
};

/** The segments to check: those the manifest names and that exist, else every seg/*.sst. */
function segmentsToCheck(fs: FileSystem, dir: string, manifest: ManifestState | undefined): { fileNumber: number; meta: SegmentMeta | undefined }[] {
  if (manifest !== undefined) {
    return manifest.version
      .allFiles()
      .filter((meta) => fs.exists(segmentPath(dir, meta.fileNumber)))
      .map((meta) => ({ fileNumber: meta.fileNumber, meta }));
  }
  return segmentFileNumbers(fs, dir).map((fileNumber) => ({ fileNumber, meta: undefined }));
}

/** Numbers of the segment files in seg/ (other names are not segments). */
function segmentFileNumbers(fs: FileSystem, dir: string): number[] {
  const segDir = segmentDir(dir);
  if (!fs.exists(segDir)) return [];
  return fs
    .list(segDir)
    .map((name) => parseFileName(name))
    .filter((parsed) => parsed?.kind === 'segment')
    .map((parsed) => (parsed as { number: number }).number);
}

/** The manifest's record of a segment must match the segment's own properties. */
function checkAgainstManifest(context: VerifyContext, file: string, meta: SegmentMeta, scan: SegmentScan): void {
  const properties = scan.properties;
  if (properties === undefined) return; // unreadable properties are already a segment problem
  const differences: string[] = [];
  if (!properties.smallestKey.equals(meta.smallestKey)) differences.push('smallest key');
  if (!properties.largestKey.equals(meta.largestKey)) differences.push('largest key');
  for (const field of ['smallestSequence', 'largestSequence', 'entryCount', 'tombstoneCount'] as const) {
    if (properties[field] !== meta[field]) differences.push(`${field} (manifest ${meta[field]}, segment ${properties[field]})`);
  }
  if (differences.length === 0) return;
  context.add({
    severity: 'damage',
    kind: 'segment-mismatch',
    file,
    offset: scan.footer?.properties.offset ?? null,
    message: `Segment "${file}" does not match the manifest's record of it: ${differences.join(', ')} differ`,
    keyRange: metaKeyRange(meta),
    sequenceRange: sequenceRange(meta.smallestSequence, meta.largestSequence),
  });
}

// ---------------------------------------------------------------- pass 3: live WAL

const walPass: VerifyPass = {
  name: 'wal',
  run(context) {
    const { fs, dir, manifest } = context;
    const all = listIn(fs, walDir(dir), 'wal');
    const logNumber = manifest?.logNumber ?? 0;
    const obsolete = all.filter((ref) => ref.fileNumber < logNumber);
    const live = all.filter((ref) => ref.fileNumber >= logNumber);
    for (const ref of obsolete) {
      const summary = readSummary(context, ref, false);
      if (summary === undefined) continue;
      const file = context.relative(ref.path);
      const state = summary.state === 'clean' ? '' : ` (it is damaged at offset ${summary.damage?.offset}, which no longer matters)`;
      context.add({ severity: 'note', kind: 'wal-obsolete', file, offset: null, message: `"${file}" is below the manifest's log number ${logNumber}: already flushed into segments, not replayed; the server removes or archives it at its next open${state}` });
    }
    if (manifest !== undefined && logNumber > 0 && !live.some((ref) => ref.fileNumber === logNumber)) {
      const file = context.relative(walPath(dir, logNumber));
      context.add({ severity: 'damage', kind: 'wal-missing', file, offset: 0, message: `WAL file "${file}" is missing: the manifest names it as the oldest holding writes not yet in segments`, sequenceRange: sequenceRange(undefined, undefined) });
    }
    // All read first: whether a file's damage loses anything can depend on where the next one starts.
    const summaries = live.map((ref, index) => readSummary(context, ref, index === live.length - 1));
    let previous: WalFileSummary | undefined;
    for (let index = 0; index < live.length; index++) {
      const summary = summaries[index];
      if (summary === undefined) continue;
      context.report.checked.walFiles++;
      context.report.checked.walRecords += summary.batches;
      // Before the first file: what the segments hold (a live file holds only what no flush wrote, all above
      // it). Not the manifest's last sequence: it counts writes still in these files.
      const lastRead = reportWalDamage(context, summary, 'wal-record', previous?.lastSequence ?? flushedSequence(manifest), undefined, summaries[index + 1]);
      if (previous?.lastSequence !== undefined && summary.firstSequence !== undefined && summary.firstSequence <= previous.lastSequence) {
        context.add({
          severity: 'damage',
          kind: 'wal-sequence',
          file: context.relative(summary.path),
          offset: null,
          message: `WAL file "${context.relative(summary.path)}" starts at sequence ${summary.firstSequence}, not after ${previous.lastSequence} where "${context.relative(previous.path)}" ends`,
          sequenceRange: sequenceRange(summary.firstSequence, previous.lastSequence),
        });
      }
      if (lastRead !== undefined) previous = { ...summary, lastSequence: lastRead };
    }
  },
};

/** The largest sequence in the manifest's segments (0 without any): every live WAL record is above it. */
export function flushedSequence(manifest: ManifestState | undefined): number | undefined {
  if (manifest === undefined) return undefined;
  return manifest.version.allFiles().reduce((largest, meta) => Math.max(largest, meta.largestSequence), 0);
}

/** Reads a WAL file for a pass; an unknown format version becomes a problem. */
function readSummary(context: VerifyContext, ref: { fileNumber: number; path: string; location: 'wal' | 'archive' }, isNewest: boolean): WalFileSummary | undefined {
  try {
    const summary = summarizeWalFile(context.fs, ref, isNewest);
    context.progress.advance(summary.fileBytes);
    return summary;
  } catch (error) {
    if (!(error instanceof UnsupportedVersionError)) throw error;
    context.add({ severity: 'damage', kind: 'unsupported-version', file: context.relative(ref.path), offset: 0, message: error.message });
    context.progress.advance(context.fs.stat(ref.path).size);
    return undefined;
  }
}

/**
 * Adds the torn tail (a note) or the damage of a WAL file, with what it affects.
 * @param sequenceBefore the last sequence of the file before this one, if known
 * @param end receives whether the returned sequence is surely the file's last: false when damage
 *   reaches its end (records may be lost in it) or the scan after damage stopped at its limit
 * @returns the last sequence the file holds, readable records after its damage included
 */
function reportWalDamage(
  context: VerifyContext,
  summary: WalFileSummary,
  kind: 'wal-record' | 'archive-record',
  sequenceBefore: number | undefined,
  end?: { exact: boolean },
  next?: WalFileSummary,
): number | undefined {
  const file = context.relative(summary.path);
  const damage = summary.damage;
  if (end !== undefined) end.exact = true;
  if (summary.state === 'clean' || damage === undefined) return summary.lastSequence;
  if (summary.state === 'tornTail') {
    context.add({
      severity: 'note',
      kind: 'wal-torn-tail',
      file,
      offset: damage.offset,
      message: `"${file}" ends in a torn record: ${damage.bytes} bytes at offset ${damage.offset} (${damage.reason}). A crash cut the last append; it was never acknowledged under sync policy always, and the server cuts it at its next open`,
    });
    return summary.lastSequence;
  }
  const lastGood = summary.lastSequence ?? sequenceBefore;
  const after = scanRecordsAfter(context.fs, summary.path, damage.offset, lastGood ?? 0);
  if (kind === 'wal-record' && damageLosesNothing(summary, after, lastGood, next)) {
    const nextFile = context.relative(next!.path);
    context.add({
      severity: 'damage',
      kind,
      file,
      offset: damage.offset,
      message: `${summary.damageMessage ?? `Cannot read WAL record in "${file}" at offset ${damage.offset}: ${damage.reason}`}; no whole record follows it, and "${nextFile}" goes on at sequence ${next!.firstSequence}: no write is lost there; the server refuses to start; \`silt recover\` keeps every record`,
    });
    return summary.lastSequence;
  }
  const lost = after.records === 0 ? 'no whole record follows it' : `${plural(after.records, 'whole record')} ${after.records === 1 ? 'follows' : 'follow'} it (${renderSequenceRange(sequenceRange(after.firstSequence, after.lastSequence))}${after.complete ? '' : ', and maybe more past the scan limit'})`;
  // A damaged header (nothing before it) with records from the header's fixed size on: recover copies them under a new header.
  const headerOnly = kind === 'wal-record' && summary.header === undefined && damage.offset === 0 && after.records > 0;
  const role =
    kind === 'wal-record'
      ? `the server refuses to start; \`silt recover\` keeps ${headerOnly ? 'the records after it, under a new header, when they start right after it' : 'the records before it'}`
      : 'point-in-time restore cannot replay past it';
  context.add({
    severity: 'damage',
    kind,
    file,
    offset: damage.offset,
    message: `${summary.damageMessage ?? `Cannot read WAL record in "${file}" at offset ${damage.offset}: ${damage.reason}`}; ${lost}; ${role}`,
    // A damaged header loses the whole file: from its first readable record when nothing comes before it.
    sequenceRange: sequenceRange(lastGood === undefined ? after.firstSequence : lastGood + 1, after.lastSequence),
  });
  // Whole records after the damage, read to the file's end, end it; without any, the damage may have held more.
  if (end !== undefined) end.exact = after.records > 0 && after.complete;
  return after.lastSequence ?? summary.lastSequence;
}

// ---------------------------------------------------------------- pass 4: archive

const archivePass: VerifyPass = {
  name: 'archive',
  run(context) {
    const { fs, dir } = context;
    const refs = listIn(fs, archiveDir(dir), 'archive');
    // The file before, and the last sequence it surely ends with (undefined when unknown).
    let previous: { path: string; fileNumber: number; lastSequence: number } | undefined;
    for (const ref of refs) {
      const summary = readSummary(context, ref, false);
      if (summary === undefined) continue;
      context.report.checked.archiveFiles++;
      context.report.checked.archiveRecords += summary.batches;
      const end = { exact: true };
      const lastSequence = reportWalDamage(context, summary, 'archive-record', previous?.lastSequence, end);
      if (previous !== undefined && summary.firstSequence !== undefined && summary.firstSequence !== previous.lastSequence + 1 && summary.fileNumber !== previous.fileNumber + 1) {
        const file = context.relative(summary.path);
        context.add({
          severity: 'note',
          kind: 'archive-gap',
          file,
          offset: null,
          message: `The archive jumps from sequence ${previous.lastSequence} ("${context.relative(previous.path)}") to ${summary.firstSequence} ("${file}"): a WAL file between them is missing, so point-in-time restore cannot cross this gap`,
          sequenceRange: sequenceRange(previous.lastSequence + 1, summary.firstSequence - 1),
        });
      }
      // A damaged file whose end is unknown: the jump to the next one may be that damage (reported), not a
      // missing file. One whose records after the damage read to its end still ends where they do.
      if (summary.state === 'damaged' || summary.lastSequence !== undefined) {
        previous = end.exact && lastSequence !== undefined ? { path: summary.path, fileNumber: summary.fileNumber, lastSequence } : undefined;
      }
    }
  },
};

// ---------------------------------------------------------------- pass 5: engine open

const enginePass: VerifyPass = {
  name: 'engine',
  async run(context) {
    if (context.report.damageCount > 0) return; // the open would fail on what is already reported
    try {
      // Kept open for the logical pass; verifyDirectory closes it.
      context.engine = await LsmEngine.open(context.dir, { readOnly: true, fs: context.fs });
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      const located = error instanceof CorruptionError ? { file: context.relative(error.file), offset: error.offset } : { file: '.', offset: null };
      context.add({ severity: 'damage', kind: 'open', ...located, message: `The server could not open the directory: ${error.message}` });
    }
  },
};

/** Every physical pass, in order. */
export const physicalPasses: readonly VerifyPass[] = [manifestPass, segmentsPass, walPass, archivePass, enginePass];

/**
 * What `silt checkpoint` checks before it links or copies anything: the
 * manifest (every segment it names present, with its size), every block of
 * every live segment, and every record of the live WAL files. Not the archive,
 * which a checkpoint does not copy.
 */
export const checkpointSourcePasses: readonly VerifyPass[] = [manifestPass, segmentsPass, walPass];

/** What `silt verify` runs: the physical passes, then the logical one (tools/logical-verify.ts). */
export const defaultVerifyPasses: readonly VerifyPass[] = [...physicalPasses, logicalPass];

// ---------------------------------------------------------------- key ranges as Redis keys

/**
 * Fills `decoded` of every problem with a key range, and report.databaseTable. The table is
 * looked for only when some problem has a key range.
 */
function decodeKeyRanges(context: VerifyContext): void {
  const problems = context.report.problems.filter((problem) => problem.keyRange !== undefined);
  if (problems.length === 0) return;
  const table = databaseTable(context);
  context.report.databaseTable = table === undefined ? 'none' : table === unknownTable ? 'unreadable' : 'found';
  for (const problem of problems) problem.decoded = { keyRange: describeKeyRange(problem.keyRange!, table) };
}

/**
 * The database table that names the keys: the open engine's, else the newest version in the
 * live segments and WAL files (undefined: none, raw engine data). unknownTable when it does not
 * decode, or when a damaged range may hold a newer one.
 */
function databaseTable(context: VerifyContext): DbTable | typeof unknownTable | undefined {
  let value: Buffer | undefined;
  try {
    if (context.engine !== undefined) {
      value = context.engine.get(dbTableKey);
    } else {
      const mayHoldTable = context.report.problems.some((problem) => problem.severity === 'damage' && problem.keyRange !== undefined && rangeHolds(problem.keyRange, dbTableKey));
      if (mayHoldTable) return unknownTable;
      // The newest version is in a segment or a live WAL file: what archive/ holds was flushed into segments.
      const finder = new KeyFinder(context.fs, context.dir, { walFilter: (key) => key.equals(dbTableKey), valueBytesKept: () => Number.MAX_SAFE_INTEGER, walLocations: ['wal'] });
      const newest = finder.versions(dbTableKey)[0];
      value = newest?.type === 'put' ? newest.valueHead : undefined;
    }
    return value === undefined ? undefined : decodeTable(value);
  } catch (error) {
    if (!(error instanceof KvError)) throw error;
    return unknownTable; // the table is damaged (logical-db-table), or a file the lookup read is
  }
}

/** Whether an inclusive range of engine keys (hex; null: unknown end) may hold `key`. */
function rangeHolds(range: KeyRange, key: Buffer): boolean {
  const from = range.smallest === null ? undefined : Buffer.from(range.smallest, 'hex');
  const to = range.largest === null ? undefined : Buffer.from(range.largest, 'hex');
  return (from === undefined || from.compare(key) <= 0) && (to === undefined || to.compare(key) >= 0);
}

// ---------------------------------------------------------------- output

function printReport(io: ToolIo, report: VerifyReport): void {
  const out = io.stdout;
  const checked = report.checked;
  writeLine(out, `silt verify ${report.dir}`);
  writeLine(out, `  manifest: ${checked.manifest ?? 'none readable'}`);
  writeLine(out, `  segments: ${plural(checked.segments, 'file')}, ${formatBytes(checked.segmentBytes)}, ${plural(checked.blocks, 'data block')}`);
  writeLine(out, `  WAL: ${plural(checked.walFiles, 'file')}, ${plural(checked.walRecords, 'record')}; archive: ${plural(checked.archiveFiles, 'file')}, ${plural(checked.archiveRecords, 'record')}`);
  if (report.logical !== undefined) {
    const logical = report.logical;
    writeLine(out, logical.skipped !== null ? `  keyspace: not checked (${logical.skipped})` : `  keyspace: ${plural(logical.keys, 'key')} in ${plural(logical.databases, 'database')}, ${plural(logical.collections, 'collection')}, ${plural(logical.members, 'member entry', 'member entries')}, ${plural(logical.expiryEntries, 'expiry entry', 'expiry entries')}`);
  }
  writeLine(out, `  passes: ${report.passes.join(', ')} (${report.durationMs} ms)`);
  if (report.databaseTable === 'unreadable') {
    writeLine(out, '  keys: named by their physical db ids: the database table, which maps them to dbs, does not decode or lies in a damaged range');
  }
  for (const problem of report.problems) {
    const where = problem.offset === null ? problem.file : `${problem.file} at offset ${problem.offset}`;
    writeLine(out, `${problem.severity === 'damage' ? 'DAMAGE' : 'note  '} [${problem.kind}] ${where}`);
    writeLine(out, `       ${problem.message}`);
    if (problem.keyRange !== undefined || problem.sequenceRange !== undefined) {
      writeLine(out, `       affects ${problem.decoded?.keyRange.text ?? renderKeyRange(problem.keyRange)}, ${renderSequenceRange(problem.sequenceRange)}`);
    }
  }
  if (report.healthy) {
    writeLine(out, `Result: healthy${report.noteCount > 0 ? ` (${plural(report.noteCount, 'note')})` : ''}`);
  } else {
    writeLine(out, `Result: DAMAGED: ${plural(report.damageCount, 'problem')}${report.noteCount > 0 ? `, ${plural(report.noteCount, 'note')}` : ''}`);
    for (const line of nextSteps(report)) writeLine(out, line);
  }
}

/**
 * What to do about the damage found. Damage in archive/ is not the live data's: the server
 * opens and serves the directory as it is, and only point-in-time restore reads the archive
 * (it cannot replay past the damage). Recover does not help there: it leaves archive/ in DIR.
 */
function nextSteps(report: VerifyReport): string[] {
  const archive = report.archiveDamageCount;
  const archiveLine = `the damage in archive/ (${plural(archive, 'problem')}) affects only point-in-time restore: \`silt restore\` from an older checkpoint cannot replay past it, so take a new checkpoint (BGSAVE, or \`silt checkpoint\` while the server is stopped) to restore to later times; \`silt recover\` leaves archive/ as it is`;
  if (archive === report.damageCount) {
    return [
      `Next: the live data (manifest, segments, WAL) is intact, and the server opens and serves this directory as it is; ${archiveLine}`,
    ];
  }
  const recover = `Next: \`silt recover ${report.dir} --out NEWDIR\` salvages into a new directory and reports what it could not save`;
  return archive === 0 ? [recover] : [recover, `      (${archiveLine})`];
}

// ---------------------------------------------------------------- helpers

function metaKeyRange(meta: SegmentMeta): KeyRange {
  return keyRange(userKeyOf(meta.smallestKey), userKeyOf(meta.largestKey));
}

/** True for a problem's file under archive/ (relative to the directory). */
function isArchiveFile(file: string): boolean {
  return file.startsWith(`${archiveDirName}/`);
}

/**
 * Bytes the passes advance the progress bar by: every segment file (those not read are counted
 * as done) and every WAL file (archive/ only when the archive pass runs). Other files in these
 * directories are not read, and not counted: the bar would stop short of 100%.
 */
function bytesToRead(fs: FileSystem, dir: string, withArchive: boolean): number {
  let bytes = 0;
  for (const fileNumber of segmentFileNumbers(fs, dir)) bytes += fs.stat(segmentPath(dir, fileNumber)).size;
  const wal = [...listIn(fs, walDir(dir), 'wal'), ...(withArchive ? listIn(fs, archiveDir(dir), 'archive') : [])];
  for (const ref of wal) bytes += fs.stat(ref.path).size;
  return bytes;
}
