// `silt recover DIR --out NEWDIR`: salvages a damaged data directory into a
// new one, and says exactly what it could not save. Like LevelDB's RepairDB
// (google/leveldb: db/repair.cc), but DIR is never modified: everything is
// written to NEWDIR, which must not exist (or be empty) and must lie outside DIR.
//
// Algorithm:
//
//   1. Refuse when DIR is held by a live process (LOCK), holds no silt data, or
//      NEWDIR is unusable. Create NEWDIR/seg, NEWDIR/wal and NEWDIR/lost+found.
//   2. Manifest. Replay the manifest CURRENT names; if CURRENT is lost or
//      damaged, the newest MANIFEST-* that replays cleanly; if none does,
//      rebuild from the segments. With a manifest, its segments (at their
//      levels) and its log number decide what is live; without one, every
//      seg/*.sst is a candidate at level 0 and WAL files whose records are all
//      at or below the segments' largest sequence count as flushed.
//      NB: without a manifest, a segment that a compaction had already
//      replaced may come back (as in RepairDB); verify cannot tell. When the
//      rebuilt segments share keys, the report says so (doubts) and exit is 1.
//      A manifest whose last record is unreadable replays without that edit;
//      when segments it names are then missing while others it does not name
//      are on disk, the server had acted on the edit, and the segments are
//      newer than the manifest: rebuild from them (#distrustActedOnTail); a
//      missing segment that no segment on disk covers is reported lost. When
//      instead the manifest's oldest live WAL file is missing and a segment it
//      does not name holds only writes newer than all it names, the edit was a
//      flush: that segment joins level 0 and replay starts at the next WAL
//      file (#adoptActedOnFlush).
//   3. Segments, in file-number order. A segment with no problems
//      (lib/segment/segment-checker.ts) is hard-linked into NEWDIR/seg (copied
//      across file systems). A damaged one is read block by block: the
//      entries of every readable block are re-written into a new segment (new
//      file number, same level), the original goes to NEWDIR/lost+found/seg/,
//      and each unreadable block is reported lost with its key range (from the
//      index and its neighbours) and the segment's sequence range. A segment
//      whose index or footer is unreadable has its data blocks found by their
//      trailers' checksums (segment-scan.ts, searchWithoutIndex): what follows
//      the last block found is lost (#reportSearch); a missing one is lost
//      with the ranges the manifest recorded.
//   4. WAL files, oldest first. Each is read in salvage mode: a clean file is
//      copied, a torn tail on the newest file is dropped (a note: it was never
//      acknowledged under sync policy always), and at the first damaged record
//      the good prefix is kept and replay stops: the damaged record, the
//      records after it (found by scanning for checksummed records) and every
//      later WAL file are reported lost with their byte and sequence ranges,
//      and copied to NEWDIR/lost+found/wal/. Stopping keeps NEWDIR a state the
//      database really passed through: later batches may depend on the lost one.
//      With skipDamagedWalRecords (--skip-damaged-wal-records), the whole
//      records after the damage are kept and replay goes on, with a doubt
//      (#keepRecordsAfter), as LevelDB's RepairDB does.
//      A damaged header is not such a record (no batch depends on it): when
//      whole records follow it, the file is salvaged from a copy under a new
//      header (#repairWalHeader).
//   5. Write a new manifest naming the kept segments, with log number = the
//      oldest kept WAL file, next file number past every number used in DIR,
//      and last sequence = the largest sequence seen, kept or lost (so no
//      sequence number is ever reused).
//   6. Open NEWDIR with LsmEngine (replaying the kept WAL records). When the
//      manifest was rebuilt and several segments sit at level 0, compact them:
//      level 0 is searched newest-first by largest sequence, which is only
//      right for segments flushed in order. Then rebuild the keyspace's
//      derived records from the metadata records NEWDIR holds
//      (tools/keyspace-repair.ts): the per-db counters (`C`) and the expiry
//      index (`E`) still count keys whose records were lost, a key whose
//      newest metadata was lost shows its older version if one survives (the
//      entries of the lost version are deleted; listed), collections that
//      lost members are made to hold what is left (listed; a sorted-set member
//      that lost one of its two entries gets it back from the other), and a lost
//      database table (`D`) is rebuilt as the server would build it (an
//      assumption, said so).
//      Before all that, while the kept segments are as written, decide for
//      each lost segment part whether the result may read an older version of
//      a key it held: only when a kept segment holds, in its key range, a
//      version older than it that the result reads (#markStaleRisk).
//   7. Write NEWDIR/lost+found/recover-report.json, verify NEWDIR
//      (tools/verify.ts; on a terminal under a bar of its own, in verify's two
//      phases: `recover DIR: checking the result's files`, then `... keyspace`)
//      and print the report. Exit 0 when nothing was lost, 1 when something
//      was (the report lists it), 2 when recover could not run.

import { resolve } from 'node:path';
import { CorruptionError, KvError, UnsupportedVersionError } from '../lib/errors.js';
import { decodeTable, type DbTable } from '../lib/keyspace/db-table.js';
import { dbTableKey } from '../lib/keyspace/key-encoding.js';
import { LsmEngine } from '../lib/engine/lsm-engine.js';
import { compareInternalKeys, makeInternalKey, sequenceMax, sequenceOf, typeOf, userKeyOf, ValueType } from '../lib/format/internal-key.js';
import { joinPath, truncateDurably, type FileSystem } from '../lib/fs/file-system.js';
import { currentFileName, manifestFileName, parseFileName, segmentDir, segmentFileName, segmentPath, walDir, walFileName, walPath } from '../lib/format/file-names.js';
import { readManifest, readManifestFile, type ManifestState } from '../lib/manifest/manifest-reader.js';
import { ManifestWriter } from '../lib/manifest/manifest-writer.js';
import { readCurrent } from '../lib/manifest/current-file.js';
import type { SegmentMeta } from '../lib/manifest/segment-meta.js';
import type { VersionEdit } from '../lib/manifest/version-edit.js';
import { Version } from '../lib/manifest/version.js';
import { metaFrom } from '../lib/compaction/compactor.js';
import type { BloomFilter } from '../lib/segment/bloom-filter.js';
import { checkSegment } from '../lib/segment/segment-checker.js';
import { SegmentReader } from '../lib/segment/segment-reader.js';
import { SegmentWriter } from '../lib/segment/segment-writer.js';
import { encodeHeader, walFormatVersions, WalRecordType } from '../lib/wal/wal-format.js';
import { encodeRecord } from '../lib/format/record-framing.js';
import { removeUnfinishedMarker, writeUnfinishedMarker } from '../lib/format/unfinished-marker.js';
import { checkOutputDirectory, copyPrefix, createOutputDirectory, defaultFileSystem, highestFileNumber, staleLockReason, linkOrCopy, refuseLiveDirectory, requireDirectory, requireSiltData, segmentNumbers } from './data-dir.js';
import { describeEngineKey, describeKeyRange, type DecodedEngineKey, type DecodedKeyRange } from './describe-engine-key.js';
import { emptyKeyspaceRepair, repairedAnything, repairKeyspaceIndexes, type KeyspaceRepair } from './keyspace-repair.js';
import { Progress } from './progress.js';
import {
  formatBytes,
  formatTime,
  keyRange,
  plural,
  quoteBytes,
  relativeFile,
  renderKey,
  renderSequenceRange,
  sequenceRange,
  type KeyRange,
  type SequenceRange,
} from './render.js';
import { blockKeyRange, compactionEvidence, describeFlushEvidence, likelyReplacedBy, scanSegment, segmentKeyRange, type FlushEvidence, type ScannedBlock, type SegmentScan } from './segment-scan.js';
import { ExitCode, runTool, ToolError, writeJson, writeLine, type ToolIo, type ToolResult } from './tool-io.js';
import { actedOnFlush, flushedSequence, verifyDirectory, type VerifyProblem } from './verify.js';
import { damageLosesNothing, listIn, scanRecordsAfter, summarizeWalFile, walFormatVersionOf, type WalFileRef, type WalFileSummary } from './wal-scan.js';

/** Where damaged originals go, inside NEWDIR. */
export const lostAndFoundDirName = 'lost+found';
/** The report recover leaves in lost+found. */
export const recoverReportFileName = 'recover-report.json';

/**
 * Entries of kept segments read to decide whether one lost segment part lets older versions
 * show (#markStaleRisk), and for all parts together; past either the answer stays "may".
 */
const olderVersionScanEntriesMax = 100_000;
const olderVersionScanTotalMax = 1_000_000;

export interface RecoverOptions {
  dir: string;
  out: string;
  json?: boolean;
  fs?: FileSystem;
  /** Tests: the entries read for one lost part's older-version check (default olderVersionScanEntriesMax). */
  olderVersionScanEntriesMax?: number;
  /**
   * Keep the whole WAL records found after a damaged one, and go on with the later files, instead of
   * stopping at the damage (LevelDB's RepairDB, RocksDB's kSkipAnyCorruptedRecords). The result may then
   * hold writes that depended on lost ones: a state the database never passed through (a doubt, exit 1).
   */
  skipDamagedWalRecords?: boolean;
}

/** Something recover could not save. */
export interface LostItem {
  /** segment: a whole segment; blocks: data blocks of a segment; wal-records: the tail of a WAL file from a damaged record; wal-file: a WAL file after that. */
  kind: 'segment' | 'blocks' | 'wal-records' | 'wal-file';
  /** Relative to DIR. */
  file: string;
  offset: number | null;
  bytes: number | null;
  /** Records lost, when counted (WAL). */
  records: number | null;
  keyRange: KeyRange | null;
  sequenceRange: SequenceRange | null;
  /** Keys (hex) known to be affected: those written by readable WAL records after a damaged one. */
  knownKeys: string[];
  reason: string;
  /** Where the original was put, relative to NEWDIR; null when there was nothing to save. */
  savedAs: string | null;
  /**
   * True when NEWDIR may show an older version of a key the lost part held (or a
   * deleted key again). WAL parts: always (the keys they wrote keep their values
   * from before them). Segment parts: only when a kept segment holds a version of
   * a key in `keyRange` older than the lost part that NEWDIR reads (see
   * #markStaleRisk), or when that could not be checked in full.
   */
  olderVersionsMayShow: boolean;
  /**
   * Segment parts with olderVersionsMayShow: a key (hex) whose older version NEWDIR reads, the
   * kept file (relative to NEWDIR) it comes from, and whether the damaged segment's Bloom filter
   * says the segment held that key; null when the check stopped at its limit first, and for WAL parts.
   */
  olderVersionExample: { key: string; file: string; inDamagedSegment: boolean } | null;
  /**
   * The engine keys above (hex) as Redis keys and dbs (tools/describe-engine-key.ts), by the
   * result's database table; `other` for keys outside the keyspace (raw engine data). keyRange
   * also has `text`, the range as the human report (and verify's) prints it, saying when it
   * spans dbs or crosses parts of the keyspace.
   */
  decoded: {
    keyRange: DecodedKeyRange | null;
    knownKeys: DecodedEngineKey[];
    olderVersionExample: DecodedEngineKey | null;
  };
}

export interface RecoverReport {
  tool: 'recover';
  dir: string;
  out: string;
  manifest: { source: 'current' | 'newest-manifest' | 'rebuilt'; name: string | null; problem: string | null };
  segments: {
    kept: { file: string; level: number; how: 'linked' | 'copied' }[];
    rewritten: { from: string; to: string; level: number; entries: number; blocksLost: number }[];
    ignored: { file: string; reason: string }[];
  };
  wal: {
    kept: { file: string; records: number; bytes: number; cutAt: number | null }[];
    skipped: { file: string; reason: string }[];
  };
  lost: LostItem[];
  notes: string[];
  /**
   * What recover could not be sure of although nothing was lost: a manifest
   * rebuilt from segments whose key ranges overlap (the older may be a
   * compaction's input it had replaced, whose deleted or overwritten data is
   * then back). Exit 1 when there are any.
   */
  doubts: string[];
  lastSequence: number;
  /** The manifest NEWDIR's CURRENT names when recover ends (opening the result writes a newer one than recover wrote). */
  resultManifest: string | null;
  compacted: boolean;
  /**
   * The keyspace's counters and expiry index, rebuilt from the metadata records
   * NEWDIR holds (they still counted lost keys); skipped names why nothing was looked at.
   */
  keyspace: KeyspaceRepair;
  verify: { healthy: boolean; damageCount: number; problems: VerifyProblem[] };
  /** True when nothing was lost. */
  complete: boolean;
}

/**
 * Salvages `options.dir` into `options.out`.
 * @returns exit 0 nothing lost, 1 something lost (listed), 2 could not run
 */
export function recover(options: RecoverOptions, io: ToolIo): Promise<ToolResult<RecoverReport>> {
  const json = options.json === true;
  return runTool('recover', io, json, async () => {
    const fs = options.fs ?? defaultFileSystem();
    const report = await new Recovery(fs, options.dir, options.out, json ? undefined : io.stderr, options.olderVersionScanEntriesMax ?? olderVersionScanEntriesMax, options.skipDamagedWalRecords === true).run();
    if (json) writeJson(io.stdout, report);
    else printReport(io, report);
    if (!report.verify.healthy) {
      writeLine(io.stderr, `silt recover: "${options.out}" does not pass verify (${plural(report.verify.damageCount, 'problem')}); this is a bug in recover, please report it with the JSON report`);
      return { exitCode: ExitCode.failed, report };
    }
    return { exitCode: report.complete && report.doubts.length === 0 ? ExitCode.ok : ExitCode.damaged, report };
  });
}

/** A lost segment part, for #markStaleRisk. */
interface LostPart {
  /** The damaged segment's Bloom filter, when readable: which user keys it may have held. */
  bloom: BloomFilter | undefined;
  /** For a lost block of a segment re-written from its other blocks: that segment in NEWDIR, and the block's index key (what follows it came after the block). */
  own: { fileNumber: number; after: Buffer } | undefined;
}

/** A segment to consider: its number and, with a manifest, what the manifest recorded. */
interface SegmentCandidate {
  fileNumber: number;
  meta: SegmentMeta | undefined;
}

class Recovery {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #out: string;
  readonly #progressStream: ToolIo['stderr'] | undefined;
  readonly #report: RecoverReport;
  #manifest: ManifestState | undefined;
  /** A manifest not used because the segments on disk are newer than it (#distrustActedOnTail). */
  #distrusted: ManifestState | undefined;
  /** The flush whose lost edit #adoptActedOnFlush re-did. */
  #adoptedFlush: FlushEvidence | undefined;
  /** Segments that go into NEWDIR's manifest. */
  readonly #kept: SegmentMeta[] = [];
  /** What #markStaleRisk knows of each lost segment part besides its ranges. */
  readonly #lostParts = new Map<LostItem, LostPart>();
  #nextFileNumber = 1;
  #lastSequence = 0;
  #progress!: Progress;
  readonly #scanEntriesMax: number;
  readonly #skipDamaged: boolean;

  constructor(fs: FileSystem, dir: string, out: string, progressStream: ToolIo['stderr'] | undefined, scanEntriesMax: number, skipDamaged: boolean) {
    this.#fs = fs;
    this.#skipDamaged = skipDamaged;
    this.#scanEntriesMax = scanEntriesMax;
    this.#dir = dir;
    this.#out = out;
    this.#progressStream = progressStream;
    this.#report = {
      tool: 'recover',
      dir,
      out,
      manifest: { source: 'rebuilt', name: null, problem: null },
      segments: { kept: [], rewritten: [], ignored: [] },
      wal: { kept: [], skipped: [] },
      lost: [],
      notes: [],
      doubts: [],
      lastSequence: 0,
      resultManifest: null,
      compacted: false,
      keyspace: emptyKeyspaceRepair(),
      verify: { healthy: false, damageCount: 0, problems: [] },
      complete: false,
    };
  }

  async run(): Promise<RecoverReport> {
    this.#checkSource();
    this.#readManifest();
    this.#distrustActedOnTail();
    this.#checkFormatVersions();
    this.#createOutput();
    this.#nextFileNumber = Math.max(highestFileNumber(this.#fs, this.#dir), ((this.#manifest ?? this.#distrusted)?.nextFileNumber ?? 1) - 1) + 1;
    this.#lastSequence = this.#manifest?.lastSequence ?? 0;
    this.#progress = new Progress({ stream: this.#progressStream, label: `recover ${this.#dir}`, total: this.#inputBytes(), unit: 'bytes', enabled: this.#progressStream !== undefined });
    try {
      this.#salvageSegments();
      this.#salvageWal();
      // Only now: while salvaging, #lastSequence is what the segments hold (which WAL files are flushed). No sequence is reused.
      if (this.#distrusted !== undefined) this.#seeSequence(this.#distrusted.lastSequence);
    } finally {
      this.#progress.finish();
    }
    if (this.#manifest === undefined) this.#doubtOverlaps();
    const written = this.#writeManifest();
    await this.#openResult(written.needsCompaction);
    this.#noteResultManifest(written);
    const report = this.#report;
    report.lastSequence = this.#lastSequence;
    report.complete = report.lost.length === 0;
    this.#fs.writeFileSync(joinPath(this.#out, lostAndFoundDirName, recoverReportFileName), Buffer.from(`${JSON.stringify({ ...report, verify: undefined }, null, 2)}\n`));
    // NEWDIR is whole: the server and the tools may open it (verify, next, does).
    removeUnfinishedMarker(this.#fs, this.#out);
    // As long as verify of the result: a bar of its own, in verify's two phases.
    const verified = await verifyDirectory(this.#fs, this.#out, {
      progressStream: this.#progressStream,
      progressLabel: `recover ${this.#dir}: checking the result's files`,
      keyspaceProgressLabel: `recover ${this.#dir}: checking the result's keyspace`,
    });
    report.verify = { healthy: verified.healthy, damageCount: verified.damageCount, problems: verified.problems };
    return report;
  }

  // ---------------------------------------------------------------- step 1

  #checkSource(): void {
    const fs = this.#fs;
    requireDirectory(fs, this.#dir);
    const lock = refuseLiveDirectory(fs, this.#dir, 'recover from', 'Stop the server first; recover reads a stopped directory (or a checkpoint) and writes a new one');
    if (lock.state === 'stale') this.#report.notes.push(`DIR's LOCK is stale (${staleLockReason(lock.reason, lock.info)}); it was left as is`);
    requireSiltData(fs, this.#dir, 'recover');
    checkOutputDirectory(fs, this.#out, [this.#dir]);
  }

  /**
   * A file in a format version this build does not read is not damage: salvaging around it
   * would drop data a newer build reads fine. Refuse before writing anything.
   */
  #checkFormatVersions(): void {
    const fs = this.#fs;
    for (const fileNumber of segmentNumbers(fs, this.#dir)) {
      const scan = scanSegment(fs, segmentPath(this.#dir, fileNumber), { readData: false });
      if (scan.unsupportedVersion !== undefined) throw unsupported(this.#dir, scan.unsupportedVersion);
    }
    for (const ref of listIn(fs, walDir(this.#dir), 'wal')) {
      const version = walFormatVersionOf(fs, ref.path);
      if (version !== undefined && !(walFormatVersions as readonly number[]).includes(version)) {
        throw unsupported(this.#dir, `WAL file "${ref.path}" has format version ${version} (this build reads ${walFormatVersions.join(', ')})`);
      }
    }
  }

  #createOutput(): void {
    const fs = this.#fs;
    createOutputDirectory(fs, this.#out, [this.#dir]);
    writeUnfinishedMarker(fs, this.#out, 'recover');
    fs.mkdir(segmentDir(this.#out));
    fs.mkdir(walDir(this.#out));
    fs.mkdir(joinPath(this.#out, lostAndFoundDirName));
  }

  // ---------------------------------------------------------------- step 2

  #readManifest(): void {
    const fs = this.#fs;
    try {
      this.#manifest = readManifest(fs, this.#dir, { readOnly: true });
      this.#report.manifest = { source: 'current', name: this.#manifest.manifestName, problem: null };
      return;
    } catch (error) {
      if (error instanceof UnsupportedVersionError) throw unsupported(this.#dir, error.message);
      if (!(error instanceof KvError)) throw error;
      this.#report.manifest.problem = error.message;
    }
    // CURRENT is lost or names a damaged manifest: try the others, newest first.
    const names = fs
      .list(this.#dir)
      .filter((name) => parseFileName(name)?.kind === 'manifest')
      .sort((a, b) => (parseFileName(b) as { number: number }).number - (parseFileName(a) as { number: number }).number);
    for (const name of names) {
      try {
        this.#manifest = readManifestFile(fs, this.#dir, name, { readOnly: true });
        this.#report.manifest = { source: 'newest-manifest', name, problem: this.#report.manifest.problem };
        this.#report.notes.push(`Used ${name}, the newest manifest that replays cleanly, since ${currentFileName} could not be used`);
        return;
      } catch (error) {
        if (error instanceof UnsupportedVersionError) throw unsupported(this.#dir, error.message);
        if (!(error instanceof KvError)) throw error; // damaged too: try the next older one
      }
    }
  }

  /**
   * A manifest whose last record is unreadable looks like a torn append,
   * which nothing acted on. But when segments it names are missing while
   * segments it does not name are on disk, the server did act on that edit
   * (it deletes a compaction's inputs only after the edit is synced): the
   * record is damaged, and the replayed state is older than the files. Then
   * the segments on disk say more than the manifest: rebuild from them.
   */
  #distrustActedOnTail(): void {
    const manifest = this.#manifest;
    if (manifest?.truncatedTail === undefined) return;
    const evidence = compactionEvidence(this.#fs, this.#dir, manifest.version);
    if (evidence === undefined) {
      this.#adoptActedOnFlush(manifest);
      return;
    }
    const { missing, outputs } = evidence;
    const tail = manifest.truncatedTail;
    const problem = `${manifest.manifestName} ends in an unreadable record at offset ${tail.offset} (${tail.reason}), and ${plural(missing.length, 'segment')} it names ${missing.length === 1 ? 'is' : 'are'} missing while ${outputs.map((output) => segmentRelative(output.fileNumber)).join(', ')}, which it does not name, ${outputs.length === 1 ? 'holds' : 'hold'} sequences of ${missing.length === 1 ? 'it' : 'them'}: the server had acted on that edit (a compaction)`;
    this.#manifest = undefined;
    this.#distrusted = manifest;
    this.#report.manifest = { source: 'rebuilt', name: null, problem };
    this.#report.notes.push(`${problem}, so the manifest was not used; rebuilt from the segments on disk instead`);
    // Recover cannot read a missing segment: each is listed, and where a compaction output covers it, so it says.
    for (const meta of missing) {
      const output = likelyReplacedBy(evidence, meta);
      this.#lostMissingSegment(
        meta,
        output === undefined
          ? undefined
          : `; most likely it was an input of the compaction whose output ${segmentRelative(output)} holds newer versions of its keys, and then nothing a reader saw is lost (a compaction drops only versions that newer ones hide, and deleted keys); if not, its keys show older versions or are absent`,
      );
    }
  }

  /**
   * The other edit the server acts on: a flush, whose WAL file it then
   * deletes (actedOnFlush). Without the edit the flushed writes are in
   * neither a named segment nor a WAL file, only in the flush's output on
   * disk: that output joins level 0 and the log number moves to the next live
   * WAL file, as the lost edit did; the rest of the manifest stands.
   */
  #adoptActedOnFlush(manifest: ManifestState): void {
    const evidence = actedOnFlush(this.#fs, this.#dir, manifest);
    if (evidence === undefined) return;
    const tail = manifest.truncatedTail!;
    const version = manifest.version.apply({ added: evidence.outputs.map((output) => output.meta), deleted: [] });
    this.#manifest = { ...manifest, version, logNumber: evidence.logNumber ?? manifest.logNumber };
    this.#adoptedFlush = evidence;
    const described = describeFlushEvidence(evidence, segmentRelative, relativeFile(this.#dir, walPath(this.#dir, evidence.missingLog)));
    const problem = `${manifest.manifestName} ends in an unreadable record at offset ${tail.offset} (${tail.reason}), and ${described}: the server had acted on that edit`;
    const adopted = evidence.outputs.map((output) => segmentRelative(output.fileNumber)).join(', ');
    this.#report.manifest.problem = problem;
    this.#report.notes.push(`${problem}, so ${adopted} ${evidence.outputs.length === 1 ? 'was' : 'were'} kept at level 0 in its place, as that edit had done, and replay went on from ${evidence.logNumber === undefined ? 'no WAL file (none is left past it)' : relativeFile(this.#dir, walPath(this.#dir, evidence.logNumber))}`);
  }

  // ---------------------------------------------------------------- step 3

  #salvageSegments(): void {
    for (const candidate of this.#segmentCandidates()) {
      const path = segmentPath(this.#dir, candidate.fileNumber);
      if (!this.#fs.exists(path)) {
        this.#lostMissingSegment(candidate.meta!);
        continue;
      }
      const problems = checkSegment(this.#fs, path, candidate.fileNumber);
      if (problems.length === 0) this.#keepSegment(candidate);
      else this.#rewriteSegment(candidate, problems.length);
      this.#progress.advance(this.#fs.stat(path).size);
    }
    this.#noteUnlistedSegments();
    this.#noteLeftBehind();
  }

  /**
   * The archive and checkpoints are not part of the live data: say they stay in DIR, unread.
   * Damage in archive/ (verify reports it) matters only to point-in-time restore, not to NEWDIR.
   */
  #noteLeftBehind(): void {
    for (const [name, what, after] of [
      ['archive', 'archived WAL files, which only point-in-time restore reads: `silt restore --archive DIR/archive` reads them there', '; damage in them (`silt verify DIR` lists it) limits only point-in-time restore, not this result'],
      ['checkpoints', 'checkpoints; each is a complete directory of its own', ''],
    ] as const) {
      const path = joinPath(this.#dir, name);
      if (this.#fs.exists(path) && this.#fs.list(path).length > 0) this.#report.notes.push(`${name}/ (${what}) was left in DIR, not copied or read${after}`);
    }
  }

  #segmentCandidates(): SegmentCandidate[] {
    if (this.#manifest !== undefined) {
      return this.#manifest.version
        .allFiles()
        .map((meta) => ({ fileNumber: meta.fileNumber, meta }))
        .sort((a, b) => a.fileNumber - b.fileNumber);
    }
    return segmentNumbers(this.#fs, this.#dir).map((fileNumber) => ({ fileNumber, meta: undefined }));
  }

  /** @param more said after the reason */
  #lostMissingSegment(meta: SegmentMeta, more = ''): void {
    this.#addLost({
      kind: 'segment',
      file: segmentRelative(meta.fileNumber),
      offset: null,
      bytes: meta.fileBytes,
      records: null,
      keyRange: keyRange(userKeyOf(meta.smallestKey), userKeyOf(meta.largestKey)),
      sequenceRange: sequenceRange(meta.smallestSequence, meta.largestSequence),
      reason: `the file is missing; the manifest recorded it at level ${meta.level} with ${meta.entryCount} entries (${meta.tombstoneCount} tombstones)${more}`,
      savedAs: null,
      knownKeys: [],
      olderVersionsMayShow: more !== '',
    });
  }

  #keepSegment(candidate: SegmentCandidate): void {
    const { fileNumber, meta } = candidate;
    const name = segmentFileName(fileNumber);
    const scan = scanSegment(this.#fs, segmentPath(this.#dir, fileNumber), { readData: false });
    const properties = scan.properties!;
    const level = meta?.level ?? 0;
    if (meta !== undefined && meta.fileBytes !== scan.fileBytes) {
      this.#report.notes.push(`seg/${name}: the manifest recorded ${meta.fileBytes} bytes, the file has ${scan.fileBytes} and checks clean; kept at its real size`);
    }
    const how = linkOrCopy(this.#fs, segmentPath(this.#dir, fileNumber), segmentPath(this.#out, fileNumber));
    this.#kept.push(metaFrom(fileNumber, level, { ...properties, formatVersion: scan.footer!.formatVersion, fileBytes: scan.fileBytes }));
    this.#report.segments.kept.push({ file: `seg/${name}`, level, how });
    this.#seeSequence(properties.largestSequence);
  }

  /** Re-writes the readable blocks of a damaged segment into a new file; the rest is lost. */
  #rewriteSegment(candidate: SegmentCandidate, problemCount: number): void {
    const { fileNumber, meta } = candidate;
    const fs = this.#fs;
    const source = segmentPath(this.#dir, fileNumber);
    const file = segmentRelative(fileNumber);
    const level = meta?.level ?? 0;
    const newNumber = this.#nextFileNumber++;
    const target = segmentPath(this.#out, newNumber);
    // The writer is created by the first good block (a holder object, since a callback assigns it).
    const output: { writer?: SegmentWriter; entries: number } = { entries: 0 };
    let scan: SegmentScan;
    try {
      scan = scanSegment(fs, source, {
        onBlock: (_block, blockEntries) => {
          output.writer ??= new SegmentWriter(fs, target);
          for (const [key, value] of blockEntries) output.writer.add(key, value);
          output.entries += blockEntries.length;
        },
        searchWithoutIndex: true,
      });
    } catch (error) {
      output.writer?.abandon();
      throw error;
    }
    const savedAs = `${lostAndFoundDirName}/seg/${segmentFileName(fileNumber)}`;
    fs.mkdir(joinPath(this.#out, lostAndFoundDirName, 'seg'));
    linkOrCopy(fs, source, joinPath(this.#out, savedAs));
    const sequences = scan.properties !== undefined ? sequenceRange(scan.properties.smallestSequence, scan.properties.largestSequence) : meta !== undefined ? sequenceRange(meta.smallestSequence, meta.largestSequence) : sequenceRange(undefined, undefined);
    if (scan.properties !== undefined) this.#seeSequence(scan.properties.largestSequence);
    if (meta !== undefined) this.#seeSequence(meta.largestSequence);
    const badBlocks = scan.blocks.filter((block) => block.problem !== undefined);
    if (!scan.indexReadable) this.#reportSearch(scan, file, savedAs, sequences, meta, output.writer === undefined ? undefined : newNumber);
    const lostBlocks: [block: ScannedBlock, lost: LostItem][] = [];
    for (const block of badBlocks) {
      const lost = this.#addLost({
        kind: 'blocks',
        file,
        offset: block.offset,
        bytes: block.storedBytes,
        records: null,
        keyRange: blockKeyRange(scan, block.index),
        sequenceRange: sequences,
        reason: block.problem!,
        savedAs,
        knownKeys: [],
        olderVersionsMayShow: false,
      });
      lostBlocks.push([block, lost]);
    }
    const writer = output.writer;
    for (const [block, lost] of lostBlocks) this.#lostParts.set(lost, { bloom: scan.bloom, own: writer === undefined ? undefined : { fileNumber: newNumber, after: block.separatorKey } });
    if (writer === undefined) {
      this.#report.segments.ignored.push({ file, reason: `no readable block (${plural(problemCount, 'problem')}); moved to ${savedAs}` });
      return;
    }
    const properties = writer.finish(scan.properties === undefined ? {} : { createdMs: scan.properties.createdMs });
    this.#kept.push(metaFrom(newNumber, level, properties));
    this.#report.segments.rewritten.push({ from: file, to: relativeFile(this.#out, target), level, entries: output.entries, blocksLost: badBlocks.length });
    if (badBlocks.length === 0 && scan.indexReadable) {
      this.#report.notes.push(`${file}: every data block is intact; the segment was re-written to rebuild its damaged metadata (${plural(problemCount, 'problem')})`);
    }
  }

  /**
   * A segment whose index or footer is unreadable: its data blocks were searched for by their
   * trailers (ScanOptions.searchWithoutIndex). When the blocks found reach the data's end, or hold
   * as many entries as the manifest (or the properties) recorded, nothing is lost; otherwise what
   * lies after the last block found is, and with no block found, the whole segment.
   * @param rewrittenAs the file number of the segment re-written from the blocks found, if any
   */
  #reportSearch(scan: SegmentScan, file: string, savedAs: string, sequences: SequenceRange, meta: SegmentMeta | undefined, rewrittenAs: number | undefined): void {
    const search = scan.searched;
    const damage = scan.problems[0]?.message ?? 'unreadable';
    const expected = meta?.entryCount ?? scan.properties?.entryCount;
    const lastFound = scan.blocks.at(-1)?.lastKey;
    if (search !== undefined && lastFound !== undefined) {
      const complete = (search.dataEnd !== null && search.stoppedAt === search.dataEnd) || (expected !== undefined && search.entries === expected);
      const found = `${plural(scan.blocks.length, 'data block')} (${plural(search.entries, 'entry', 'entries')}) found without it, by their trailers' checksums`;
      if (complete) {
        this.#report.notes.push(`${file}: ${damage}; all its ${found}, every one the segment held, were kept in a re-written segment`);
        return;
      }
      const largest = meta !== undefined ? userKeyOf(meta.largestKey) : scan.properties !== undefined ? userKeyOf(scan.properties.largestKey) : undefined;
      const lost = this.#addLost({
        kind: 'blocks',
        file,
        offset: search.stoppedAt,
        bytes: (search.dataEnd ?? scan.fileBytes) - search.stoppedAt,
        records: null,
        keyRange: keyRange(userKeyOf(lastFound), largest),
        sequenceRange: sequences,
        reason: `${damage}; ${found} up to offset ${search.stoppedAt} were kept, and from there no block could be read${expected === undefined ? '' : ` (${expected - search.entries} of the ${expected} entries the segment held are missing)`}`,
        savedAs,
        knownKeys: [],
        olderVersionsMayShow: false,
      });
      this.#lostParts.set(lost, { bloom: scan.bloom, own: rewrittenAs === undefined ? undefined : { fileNumber: rewrittenAs, after: lastFound } });
      return;
    }
    const range = scan.properties !== undefined ? segmentKeyRange(scan) : meta !== undefined ? keyRange(userKeyOf(meta.smallestKey), userKeyOf(meta.largestKey)) : keyRange(undefined, undefined);
    const lost = this.#addLost({ kind: 'segment', file, offset: scan.problems[0]?.offset ?? null, bytes: scan.fileBytes, records: null, keyRange: range, sequenceRange: sequences, reason: `${damage}${search === undefined ? '' : '; no data block could be found without it'}`, savedAs, knownKeys: [], olderVersionsMayShow: false });
    this.#lostParts.set(lost, { bloom: scan.bloom, own: undefined });
  }

  #noteUnlistedSegments(): void {
    if (this.#manifest === undefined) return;
    const live = this.#manifest.version.fileNumbers();
    for (const fileNumber of segmentNumbers(this.#fs, this.#dir)) {
      if (live.has(fileNumber)) continue;
      this.#report.segments.ignored.push({ file: segmentRelative(fileNumber), reason: 'not named by the manifest (a leftover of an interrupted flush or compaction, which the server would delete)' });
    }
  }

  // ---------------------------------------------------------------- step 4

  #salvageWal(): void {
    const refs = listIn(this.#fs, walDir(this.#dir), 'wal');
    const candidates = this.#walCandidates(refs);
    // Files skipped as flushed are done as far as the progress bar goes (#inputBytes counts every WAL file).
    for (const ref of refs) if (!candidates.includes(ref)) this.#progress.advance(this.#fs.stat(ref.path).size);
    let stoppedAt = this.#lostMissingWal(candidates);
    /** The last sequence of the file before, when known: records of a file whose header is damaged come after it. */
    let previousLast: number | undefined;
    /** Read ahead, when a file's damage needs to know where the next one starts (see damageLosesNothing). */
    const readAhead = new Map<number, WalFileSummary | undefined>();
    const summarize = (index: number): WalFileSummary => summarizeWalFile(this.#fs, candidates[index]!, index === candidates.length - 1);
    const peek = (index: number): WalFileSummary | undefined => {
      if (index >= candidates.length) return undefined;
      if (!readAhead.has(index)) {
        try {
          readAhead.set(index, summarize(index));
        } catch (error) {
          if (!(error instanceof UnsupportedVersionError)) throw error;
          readAhead.set(index, undefined); // read again, and reported, in its turn
        }
      }
      return readAhead.get(index);
    };
    for (let index = 0; index < candidates.length; index++) {
      const ref = candidates[index]!;
      const file = relativeFile(this.#dir, ref.path);
      let summary: WalFileSummary;
      try {
        summary = readAhead.get(index) ?? summarize(index);
      } catch (error) {
        if (!(error instanceof UnsupportedVersionError)) throw error;
        this.#progress.advance(this.#fs.stat(ref.path).size);
        this.#addLost({ kind: 'wal-file', file, offset: 0, bytes: this.#fs.stat(ref.path).size, records: null, keyRange: null, sequenceRange: null, reason: error.message, savedAs: this.#saveWal(ref), knownKeys: [], olderVersionsMayShow: true });
        stoppedAt ??= file;
        continue;
      }
      // Where the kept records are read from: the file, or (a damaged header) its copy under a new one.
      let source = ref.path;
      if (stoppedAt === undefined && summary.state === 'damaged' && summary.header === undefined && summary.damage?.offset === 0) {
        const repaired = this.#repairWalHeader(ref, index === candidates.length - 1, previousLast ?? this.#flushedSequence(), summary);
        if (repaired !== undefined) {
          summary = repaired;
          source = repaired.path;
        }
      }
      this.#progress.advance(summary.fileBytes);
      if (summary.lastSequence !== undefined) this.#seeSequence(summary.lastSequence);
      const before = previousLast;
      if (summary.lastSequence !== undefined) previousLast = summary.lastSequence;
      if (stoppedAt !== undefined) {
        this.#addLost({
          kind: 'wal-file',
          file,
          offset: 0,
          bytes: summary.fileBytes,
          records: summary.batches,
          keyRange: null,
          sequenceRange: sequenceRange(summary.firstSequence, summary.lastSequence),
          reason: `replay stopped at the damage in "${stoppedAt}"; these later writes are not applied, so that the result is a state the database passed through`,
          savedAs: this.#saveWal(ref),
          knownKeys: [],
          olderVersionsMayShow: true,
        });
        continue;
      }
      if (summary.state === 'clean') {
        if (source === ref.path) this.#fs.copyFile(ref.path, walPath(this.#out, ref.fileNumber));
        this.#report.wal.kept.push({ file, records: summary.batches, bytes: summary.fileBytes, cutAt: null });
        continue;
      }
      const damage = summary.damage!;
      if (summary.header !== undefined) {
        if (source === ref.path) copyPrefix(this.#fs, ref.path, walPath(this.#out, ref.fileNumber), summary.validBytes);
        else truncateDurably(this.#fs, source, summary.validBytes);
        this.#report.wal.kept.push({ file, records: summary.batches, bytes: summary.validBytes, cutAt: damage.offset });
      }
      if (summary.state === 'tornTail') {
        this.#report.notes.push(`${file}: dropped a torn tail of ${damage.bytes} bytes at offset ${damage.offset} (${damage.reason}); a crash cut that append, which was never acknowledged under sync policy always`);
        continue;
      }
      // Before the first file: what the segments hold (verify's flushedSequence). Not the manifest's last
      // sequence: it counts writes still in these files, which the scan must not skip.
      const lastGood = summary.lastSequence ?? before ?? this.#flushedSequence();
      // The original: a copy under a new header has the same offsets, and it was cut above.
      const after = scanRecordsAfter(this.#fs, ref.path, damage.offset, lastGood ?? 0);
      if (after.lastSequence !== undefined) this.#seeSequence(after.lastSequence);
      const next = after.records === 0 ? peek(index + 1) : undefined;
      if (damageLosesNothing(summary, after, lastGood, next)) {
        this.#report.notes.push(
          `${file}: cut at offset ${damage.offset}, where ${damage.bytes} damaged bytes follow its last record (${damage.reason}); no whole record follows them, and "${relativeFile(this.#dir, next!.path)}" goes on at sequence ${next!.firstSequence}: no write was lost, and replay goes on`,
        );
        continue;
      }
      if (this.#skipDamaged && summary.header !== undefined && after.records > 0 && after.complete) {
        this.#keepRecordsAfter(ref, file, summary, damage, lastGood);
        if (after.lastSequence !== undefined) previousLast = after.lastSequence;
        continue;
      }
      const followers = after.records === 0 ? 'no whole record follows it' : `${plural(after.records, 'whole record')} after it cannot be applied without it`;
      this.#addLost({
        kind: 'wal-records',
        file,
        offset: damage.offset,
        bytes: damage.bytes,
        // The damaged record is one of them, unless it is the file's header.
        records: after.complete ? after.records + (summary.header === undefined && damage.offset === 0 ? 0 : 1) : null,
        keyRange: null,
        // A damaged header loses the whole file: from its first readable record when nothing comes before it.
        sequenceRange: sequenceRange(lastGood === undefined ? after.firstSequence : lastGood + 1, after.lastSequence),
        reason: `${summary.damageMessage ?? damage.reason}; ${followers}${after.complete ? '' : ' (the scan for later records stopped at its limit)'}`,
        savedAs: this.#saveWal(ref),
        knownKeys: after.keys,
        olderVersionsMayShow: true,
      });
      stoppedAt = file;
    }
  }

  /**
   * --skip-damaged-wal-records: appends the whole records found after `damage` to the file's good
   * prefix in NEWDIR (written already), lists the damaged bytes as lost, and says in a doubt that
   * later writes were kept without them.
   */
  #keepRecordsAfter(ref: WalFileRef, file: string, summary: WalFileSummary, damage: { offset: number; bytes: number; reason: string }, lastGood: number | undefined): void {
    const target = walPath(this.#out, ref.fileNumber);
    const output = this.#fs.open(target, 'append');
    let firstOffset: number | undefined;
    let kept: ReturnType<typeof scanRecordsAfter>;
    try {
      kept = scanRecordsAfter(this.#fs, ref.path, damage.offset, lastGood ?? 0, (frame, offset) => {
        firstOffset ??= offset;
        output.append(frame);
      });
      output.syncBlocking();
    } finally {
      output.close();
    }
    const recordsKept = this.#report.wal.kept.find((entry) => entry.file === file);
    if (recordsKept !== undefined) {
      recordsKept.records += kept.records;
      recordsKept.bytes = this.#fs.stat(target).size;
    }
    const lostSequences = sequenceRange(lastGood === undefined ? undefined : lastGood + 1, kept.firstSequence === undefined ? undefined : kept.firstSequence - 1);
    this.#addLost({
      kind: 'wal-records',
      file,
      offset: damage.offset,
      bytes: firstOffset! - damage.offset,
      records: null,
      keyRange: null,
      sequenceRange: lostSequences,
      reason: `${summary.damageMessage ?? damage.reason}; the ${plural(kept.records, 'whole record')} after it (sequences ${kept.firstSequence}-${kept.lastSequence}) were kept (--skip-damaged-wal-records)`,
      savedAs: this.#saveWal(ref),
      knownKeys: [],
      olderVersionsMayShow: true,
    });
    this.#report.doubts.push(
      `${file}: the ${plural(kept.records, 'record')} after the damage at offset ${damage.offset} were kept without what the ${firstOffset! - damage.offset} damaged bytes held (${renderSequenceRange(lostSequences)}): later writes may have depended on lost ones (an INCR of a lost INCR), so the result may be a state the database never passed through`,
    );
  }

  /**
   * A WAL file whose header record is damaged while whole records follow
   * it: the header holds only a magic number, the format version and the
   * file number (the name gives it), and no batch depends on it. So the
   * file is copied into NEWDIR under a new header (format version 2, which
   * reads every version-1 file too) and salvaged from that copy as any other
   * file; the original goes to lost+found. Only when the copy's first record
   * starts right after the header's fixed size and goes on from `lastGood`
   * (no sequence at or below it): otherwise the damage is more than the
   * header, and the file is salvaged as damaged from its start.
   * @param lastGood the last sequence before this file (the previous file's, or the segments')
   * @returns the copy's summary, its path being the copy in NEWDIR; undefined when not repaired
   */
  #repairWalHeader(ref: WalFileRef, isNewest: boolean, lastGood: number | undefined, damaged: WalFileSummary): WalFileSummary | undefined {
    const fs = this.#fs;
    const target = walPath(this.#out, ref.fileNumber);
    const header = encodeRecord(WalRecordType.header, encodeHeader(ref.fileNumber));
    if (damaged.fileBytes <= header.length) return undefined;
    copyPrefix(fs, ref.path, target, damaged.fileBytes, { head: header });
    let repaired: WalFileSummary | undefined;
    try {
      repaired = summarizeWalFile(fs, { fileNumber: ref.fileNumber, path: target, location: 'wal' }, isNewest);
    } catch (error) {
      if (!(error instanceof UnsupportedVersionError)) throw error;
    }
    if (repaired === undefined || repaired.batches === 0 || repaired.firstSequence === undefined || (lastGood !== undefined && repaired.firstSequence <= lastGood)) {
      fs.unlink(target);
      return undefined;
    }
    const file = relativeFile(this.#dir, ref.path);
    const savedAs = this.#saveWal(ref);
    this.#report.notes.push(
      `${file}: its header record is damaged (${damaged.damage!.reason}), but whole records follow it from offset ${header.length}; the file was copied under a new header and salvaged from there (the original is in ${savedAs})`,
    );
    // Messages name the file as the operator knows it.
    if (repaired.damageMessage !== undefined) repaired.damageMessage = repaired.damageMessage.replaceAll(target, ref.path);
    return { ...repaired, path: target };
  }

  /**
   * The WAL file the manifest names as the oldest holding writes not yet in
   * segments, when it is missing: lost, and replay cannot go on past it (the
   * later files' writes may depend on it), as after a damaged record.
   * @returns the missing file (relative to DIR), or undefined
   */
  #lostMissingWal(candidates: WalFileRef[]): string | undefined {
    // A flush adopted with no live WAL file past the one it flushed: nothing is left to replay.
    if (this.#adoptedFlush !== undefined && this.#adoptedFlush.logNumber === undefined) return undefined;
    const logNumber = this.#manifest?.logNumber ?? 0;
    if (logNumber === 0 || candidates.some((ref) => ref.fileNumber === logNumber)) return undefined;
    const file = relativeFile(this.#dir, walPath(this.#dir, logNumber));
    let nextFirst: number | undefined;
    for (const ref of candidates) {
      try {
        nextFirst = summarizeWalFile(this.#fs, ref, false).firstSequence;
      } catch (error) {
        if (!(error instanceof UnsupportedVersionError)) throw error;
      }
      if (nextFirst !== undefined) break;
    }
    this.#addLost({
      kind: 'wal-file',
      file,
      offset: null,
      bytes: null,
      records: null,
      keyRange: null,
      sequenceRange: sequenceRange(undefined, nextFirst === undefined ? undefined : nextFirst - 1),
      reason: 'the file is missing: the manifest names it as the oldest WAL file holding writes not yet in segments, so its writes (which ones is unknown) are lost',
      savedAs: null,
      knownKeys: [],
      olderVersionsMayShow: true,
    });
    return file;
  }

  /** With a manifest: files at or above its log number. Without: files holding records past every segment. */
  #walCandidates(refs: WalFileRef[]): WalFileRef[] {
    const manifest = this.#manifest;
    if (manifest !== undefined) {
      for (const ref of refs) {
        if (ref.fileNumber < manifest.logNumber) this.#report.wal.skipped.push({ file: relativeFile(this.#dir, ref.path), reason: `below the manifest's log number ${manifest.logNumber}: already flushed into segments` });
      }
      return refs.filter((ref) => ref.fileNumber >= manifest.logNumber);
    }
    const flushedUpTo = this.#lastSequence;
    const candidates: WalFileRef[] = [];
    for (const ref of refs) {
      let summary: WalFileSummary | undefined;
      try {
        summary = summarizeWalFile(this.#fs, ref, false);
      } catch (error) {
        if (!(error instanceof UnsupportedVersionError)) throw error;
      }
      if (summary !== undefined && this.#flushedAlready(summary, flushedUpTo)) {
        const damaged = summary.state === 'clean' ? '' : ` (it is damaged at offset ${summary.damage!.offset}, which loses nothing)`;
        this.#report.wal.skipped.push({ file: relativeFile(this.#dir, ref.path), reason: `every readable record is at or below the segments' largest sequence ${flushedUpTo}: already flushed${damaged}` });
        continue;
      }
      candidates.push(ref);
    }
    return candidates;
  }

  /** True when every record of the file, readable ones after any damage included, is at or below `flushedUpTo`. */
  #flushedAlready(summary: WalFileSummary, flushedUpTo: number): boolean {
    if (summary.lastSequence === undefined || summary.lastSequence > flushedUpTo) return false;
    if (summary.state === 'clean') return true;
    const after = scanRecordsAfter(this.#fs, summary.path, summary.damage!.offset, summary.lastSequence);
    return after.complete && (after.lastSequence === undefined || after.lastSequence <= flushedUpTo);
  }

  /** The largest sequence in the segments: the manifest's (missing ones included), or those kept when it was rebuilt. */
  #flushedSequence(): number {
    const manifest = this.#manifest;
    if (manifest !== undefined) return flushedSequence(manifest) ?? 0;
    return this.#kept.reduce((largest, meta) => Math.max(largest, meta.largestSequence), 0);
  }

  /** Copies a WAL file into lost+found/wal/. @returns its path relative to NEWDIR */
  #saveWal(ref: WalFileRef): string {
    const savedAs = `${lostAndFoundDirName}/wal/${walFileName(ref.fileNumber)}`;
    this.#fs.mkdir(joinPath(this.#out, lostAndFoundDirName, 'wal'));
    // Saved once: a file whose header was repaired (#repairWalHeader) may lose records after that too.
    if (!this.#fs.exists(joinPath(this.#out, savedAs))) this.#fs.copyFile(ref.path, joinPath(this.#out, savedAs));
    return savedAs;
  }

  /**
   * Without a manifest, every segment on disk comes back, including one a
   * compaction had replaced but not yet deleted when the server stopped
   * (LevelDB's RepairDB has the same blind spot): what the compaction had
   * dropped (deleted keys, overwritten values) is then back. Nothing on disk
   * tells such a segment from an older flush of the same keys, so any two
   * segments whose key ranges overlap are named as a doubt.
   */
  #doubtOverlaps(): void {
    // By smallest key: a segment overlaps only those after it that start at or before its largest key.
    const ranges = this.#kept
      .map((meta) => ({ meta, smallest: userKeyOf(meta.smallestKey), largest: userKeyOf(meta.largestKey) }))
      .sort((a, b) => Buffer.compare(a.smallest, b.smallest) || a.meta.fileNumber - b.meta.fileNumber);
    const pairs: string[] = [];
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length && Buffer.compare(ranges[j]!.smallest, ranges[i]!.largest) <= 0; j++) {
        const [a, b] = [ranges[i]!.meta, ranges[j]!.meta];
        const [older, newer] = a.largestSequence <= b.largestSequence ? [a, b] : [b, a];
        pairs.push(`seg/${segmentFileName(older.fileNumber)} under seg/${segmentFileName(newer.fileNumber)}`);
      }
    }
    if (pairs.length === 0) return;
    const shown = pairs.slice(0, 10).join(', ') + (pairs.length > 10 ? `, ... (${pairs.length} pairs in all)` : '');
    this.#report.doubts.push(
      `the manifest was rebuilt from the segments on disk, and some hold the same keys (${shown}). If the server stopped during or just after a compaction, the older of a pair may be an input the compaction had replaced, and keys deleted or values overwritten since may be back; recover cannot tell. Compare the result with a checkpoint or a dump if you have one`,
    );
  }

  // ---------------------------------------------------------------- step 5

  /** Writes NEWDIR's manifest. @returns what it wrote, and whether level 0 must be compacted (step 6) */
  #writeManifest(): { name: string; segments: number; logNumber: number; needsCompaction: boolean } {
    const keptWal = this.#report.wal.kept.map((kept) => parseFileName(kept.file.slice(kept.file.lastIndexOf('/') + 1)) as { number: number });
    const logNumber = keptWal.length === 0 ? 0 : Math.min(...keptWal.map((parsed) => parsed.number));
    const manifestNumber = this.#nextFileNumber++;
    const edit = (added: SegmentMeta[]): VersionEdit => ({ logNumber, nextFileNumber: this.#nextFileNumber, lastSequence: this.#lastSequence, added, deleted: [] });
    let added = this.#kept;
    let needsCompaction = this.#manifest === undefined && added.filter((meta) => meta.level === 0).length > 1;
    if (Version.empty().tryApply(edit(added)).kind === 'problem') {
      // Rewritten segments no longer fit their levels: put everything at level 0 and compact.
      added = added.map((meta) => ({ ...meta, level: 0 }));
      needsCompaction = added.length > 1;
      this.#report.notes.push('The kept segments did not fit their old levels; all were put at level 0 and compacted');
    }
    ManifestWriter.create(this.#fs, this.#out, manifestNumber, edit(added)).close();
    return { name: manifestFileName(manifestNumber), segments: added.length, logNumber, needsCompaction };
  }

  /**
   * Says which manifest is live in NEWDIR. The engine's open (step 6) starts a manifest of its own
   * from the one step 5 wrote, and a compaction may start another, so the one written is not the
   * one CURRENT names at the end.
   */
  #noteResultManifest(written: { name: string; segments: number; logNumber: number }): void {
    const live = readCurrent(this.#fs, this.#out);
    this.#report.resultManifest = live;
    const what = `${plural(written.segments, 'segment')}, log number ${written.logNumber}, last sequence ${this.#lastSequence}`;
    this.#report.notes.push(
      live === written.name
        ? `Wrote ${written.name} (${what}); CURRENT names it`
        : `Wrote ${written.name} (${what}); opening the result replaced it with ${live}, the manifest CURRENT names now`,
    );
  }

  // ---------------------------------------------------------------- step 6

  async #openResult(needsCompaction: boolean): Promise<void> {
    const engine = await LsmEngine.open(this.#out, { fs: this.#fs, backgroundExecutor: 'inline', disableAutoCompaction: true, syncPolicy: 'always', openUnfinished: true });
    try {
      // Before compaction replaces the kept segments, and before the keyspace repair writes.
      this.#markStaleRisk(engine);
      if (needsCompaction) {
        await engine.compactRange();
        this.#report.compacted = true;
      }
      this.#report.keyspace = await repairKeyspaceIndexes(engine);
      this.#decodeLostKeys(readTable(engine.get(dbTableKey)));
    } finally {
      await engine.close();
    }
  }

  /** Fills each lost item's `decoded`: its engine keys as Redis keys, and its key range as verify describes one (describeKeyRange), by the result's database table. */
  #decodeLostKeys(table: DbTable | undefined): void {
    const describe = (hex: string | null): DecodedEngineKey | null => (hex === null ? null : describeEngineKey(Buffer.from(hex, 'hex'), table));
    for (const lost of this.#report.lost) {
      lost.decoded = {
        keyRange: lost.keyRange === null ? null : describeKeyRange(lost.keyRange, table),
        knownKeys: lost.knownKeys.map((hex) => describe(hex)!),
        olderVersionExample: describe(lost.olderVersionExample?.key ?? null),
      };
    }
  }

  // ---------------------------------------------------------------- helpers

  /**
   * Decides, for each lost segment part, whether NEWDIR may read an older version of a key it held
   * (or a deleted key again): only when a kept segment holds, for a user key in the part's key range,
   * a value older than the part's newest sequence that `engine` (NEWDIR, WAL replayed) reads as that
   * key's value. Not counted: versions hidden by a newer one (the value read differs), tombstones,
   * keys the damaged segment's Bloom filter says it never held, and, in the segment re-written from
   * the same file, entries before the lost block (a key's versions there are newer than any in it).
   * Reads at most olderVersionScanEntriesMax entries for one part (olderVersionScanTotalMax for all);
   * past that the answer is "may" without an example.
   */
  #markStaleRisk(engine: LsmEngine): void {
    let budget = olderVersionScanTotalMax;
    for (const lost of this.#report.lost) {
      if (lost.kind !== 'segment' && lost.kind !== 'blocks') continue;
      const found = this.#olderVersionShown(engine, lost, this.#lostParts.get(lost) ?? { bloom: undefined, own: undefined }, Math.min(budget, this.#scanEntriesMax));
      budget -= found.read;
      lost.olderVersionsMayShow = found.example !== undefined;
      lost.olderVersionExample = found.example ?? null;
    }
  }

  /** One part of #markStaleRisk. @returns the entries read, and an example (null: stopped at `limit`; undefined: none) */
  #olderVersionShown(engine: LsmEngine, lost: LostItem, part: LostPart, limit: number): { read: number; example: LostItem['olderVersionExample'] | undefined } {
    const range = lost.keyRange;
    const newest = lost.sequenceRange?.last ?? null;
    const smallest = range === null || range.smallest === null ? undefined : Buffer.from(range.smallest, 'hex');
    const largest = range === null || range.largest === null ? undefined : Buffer.from(range.largest, 'hex');
    let read = 0;
    for (const meta of this.#kept) {
      if (newest !== null && meta.smallestSequence >= newest) continue;
      if (!overlaps(range, userKeyOf(meta.smallestKey), userKeyOf(meta.largestKey))) continue;
      const after = part.own?.fileNumber === meta.fileNumber ? part.own.after : undefined;
      const reader = SegmentReader.open(this.#fs, segmentPath(this.#out, meta.fileNumber), { fileNumber: meta.fileNumber });
      const iterator = reader.iterator();
      try {
        if (smallest === undefined) iterator.seekToFirst();
        else iterator.seek(makeInternalKey(smallest, sequenceMax, ValueType.put));
        for (; iterator.valid(); iterator.next()) {
          const key = iterator.key();
          const userKey = userKeyOf(key);
          if (largest !== undefined && userKey.compare(largest) > 0) break;
          if (read++ >= limit) return { read, example: null };
          if (after !== undefined && compareInternalKeys(key, after) <= 0) continue;
          if (typeOf(key) !== ValueType.put || (newest !== null && sequenceOf(key) >= newest)) continue;
          if (part.bloom !== undefined && !part.bloom.mayContain(userKey)) continue;
          const shown = engine.get(userKey);
          if (shown === undefined || !shown.equals(iterator.value())) continue;
          return { read, example: { key: userKey.toString('hex'), file: segmentRelative(meta.fileNumber), inDamagedSegment: part.bloom !== undefined } };
        }
      } finally {
        iterator.close();
        reader.close();
      }
    }
    return { read, example: undefined };
  }

  #addLost(item: Omit<LostItem, 'olderVersionExample' | 'decoded'>): LostItem {
    const lost: LostItem = { ...item, olderVersionExample: null, decoded: { keyRange: null, knownKeys: [], olderVersionExample: null } };
    this.#report.lost.push(lost);
    return lost;
  }

  #seeSequence(sequence: number): void {
    if (sequence > this.#lastSequence) this.#lastSequence = sequence;
  }

  /**
   * Bytes the salvage advances the progress bar by: the segments it considers (those on disk)
   * and every WAL file (those skipped as flushed count as done). Unlisted segments and other
   * files are not read and not counted, so that the bar ends at 100%.
   */
  #inputBytes(): number {
    let bytes = 0;
    for (const { fileNumber } of this.#segmentCandidates()) {
      const path = segmentPath(this.#dir, fileNumber);
      if (this.#fs.exists(path)) bytes += this.#fs.stat(path).size;
    }
    for (const ref of listIn(this.#fs, walDir(this.#dir), 'wal')) bytes += this.#fs.stat(ref.path).size;
    return bytes;
  }
}

/** The database table a stored `D` value holds; undefined without one (raw engine data) or when it does not decode. */
function readTable(value: Buffer | undefined): DbTable | undefined {
  if (value === undefined) return undefined;
  try {
    return decodeTable(value);
  } catch (error) {
    if (!(error instanceof CorruptionError)) throw error;
    return undefined; // keys are then shown as engine keys; the keyspace repair and verify report the table
  }
}

function unsupported(dir: string, detail: string): ToolError {
  return new ToolError('UNSUPPORTED_VERSION', `Cannot recover "${dir}": ${detail}. That is a newer format, not damage; use a silt build that reads it`);
}


function segmentRelative(fileNumber: number): string {
  return `seg/${segmentFileName(fileNumber)}`;
}

/** True when [smallest, largest] meets `range` (an unknown end is open). */
function overlaps(range: KeyRange | null, smallest: Buffer, largest: Buffer): boolean {
  if (range === null) return true;
  if (range.largest !== null && smallest.compare(Buffer.from(range.largest, 'hex')) > 0) return false;
  if (range.smallest !== null && largest.compare(Buffer.from(range.smallest, 'hex')) < 0) return false;
  return true;
}

/** What a lost segment part means for the keys of its range (#markStaleRisk decided it). */
function describeStaleRisk(lost: LostItem): string {
  const example = lost.olderVersionExample;
  if (!lost.olderVersionsMayShow) return 'none of its keys went back in time: no kept file holds an older version of a key in this range that the result reads';
  const risk = 'keys in this range may now read an older value, or a deleted key may be back';
  if (example === null) return `${risk}: kept data in this range was not checked in full (the check reads a limited number of entries)`;
  const key = lost.decoded.olderVersionExample?.text ?? renderKey(Buffer.from(example.key, 'hex'));
  if (example.inDamagedSegment) return `${risk}: the result reads older versions of keys this segment held in this range (e.g. ${key}, from ${example.file}), so where the lost part held a newer version, that key went back in time`;
  return `${risk}: the result reads older versions of keys in this range (e.g. ${key}, from ${example.file}); any of them the lost part held a newer version of went back in time`;
}

/** `, which expires at ...` for a record's expiry (0: none). */
function describeExpiry(expireMs: number): string {
  if (expireMs === 0) return ' (no expiry)';
  const at = formatTime(expireMs);
  return expireMs <= Date.now() ? `, which expired at ${at}: it reads as absent, and the server's sweep deletes it` : `, which expires at ${at}`;
}

function printReport(io: ToolIo, report: RecoverReport): void {
  const out = io.stdout;
  writeLine(out, `silt recover ${report.dir} -> ${report.out}`);
  const m = report.manifest;
  if (m.source === 'current') writeLine(out, `Manifest: ${m.name} (named by CURRENT)`);
  else if (m.source === 'newest-manifest') writeLine(out, `Manifest: ${m.name} (the newest that replays; CURRENT could not be used: ${m.problem})`);
  else writeLine(out, `Manifest: rebuilt from the segments (${m.problem ?? 'none found'})`);
  const s = report.segments;
  writeLine(out, `Segments: ${s.kept.length} kept, ${s.rewritten.length} re-written from their readable blocks, ${s.ignored.length} ignored`);
  for (const rewritten of s.rewritten) writeLine(out, `  ${rewritten.from} -> ${rewritten.to}: ${plural(rewritten.entries, 'entry', 'entries')} kept, ${plural(rewritten.blocksLost, 'block')} lost`);
  for (const ignored of s.ignored) writeLine(out, `  ignored ${ignored.file}: ${ignored.reason}`);
  writeLine(out, `WAL: ${plural(report.wal.kept.length, 'file')} kept (${plural(report.wal.kept.reduce((sum, kept) => sum + kept.records, 0), 'record')}), ${report.wal.skipped.length} skipped`);
  for (const kept of report.wal.kept) if (kept.cutAt !== null) writeLine(out, `  ${kept.file}: kept up to offset ${kept.cutAt}`);
  for (const skipped of report.wal.skipped) writeLine(out, `  skipped ${skipped.file}: ${skipped.reason}`);
  if (report.compacted) writeLine(out, 'Compacted the rebuilt level 0 into sorted levels');
  if (repairedAnything(report.keyspace)) {
    const k = report.keyspace;
    writeLine(out, 'Keyspace: rebuilt from the metadata records kept (they still counted lost keys):');
    if (k.table !== null) {
      writeLine(out, `  database table (D) was lost: rebuilt as the server builds a fresh one, db N -> physical N for ${k.table.databases} dbs (next physical id ${k.table.nextPhysId}, version floor ${k.table.versionFloor})`);
      writeLine(out, '      ASSUMPTION: right only if FLUSHDB, FLUSHALL and SWAPDB never ran on this data; otherwise a db may show flushed keys or another db\'s keys');
      for (const unmapped of k.table.unmapped) writeLine(out, `      physical db ${unmapped.physId} holds ${plural(unmapped.keys, 'key')} the rebuilt table does not map (their logical db is unknown; the server's compaction reclaims them)`);
    }
    if (k.olderVersionCount > 0) {
      writeLine(out, `  ${plural(k.olderVersionCount, 'key')} lost ${k.olderVersionCount === 1 ? 'its' : 'their'} newest version in the lost parts while an older version survived in older data; each now shows that older version again, and the entries left of the lost version were deleted:`);
      for (const o of k.olderVersions) {
        const now = o.deleted ? `its older ${o.type} had no member left either, so the key was deleted` : `now the older ${o.type}${describeExpiry(o.expireMs)}`;
        writeLine(out, `      ${quoteBytes(Buffer.from(o.key, 'hex'))} of db ${o.db}: ${now}; ${plural(o.entriesRemoved, 'entry', 'entries')} of the lost version deleted`);
      }
      if (k.olderVersionCount > k.olderVersions.length) writeLine(out, `      ... (${k.olderVersionCount} in all; --json lists the first ${k.olderVersions.length})`);
    }
    if (k.collectionCount > 0) {
      writeLine(out, `  ${plural(k.collectionCount, 'collection')} had a size that disagreed with the members found: lost members (size down), or members back from older data (size up or equal); each now holds the members found (those left with nothing were deleted):`);
      for (const c of k.collections) writeLine(out, `      ${c.type} ${quoteBytes(Buffer.from(c.key, 'hex'))} of db ${c.db}: ${c.sizeBefore} -> ${c.sizeAfter === 0 ? 'deleted' : c.sizeAfter}`);
      if (k.collectionCount > k.collections.length) writeLine(out, `      ... (${k.collectionCount} in all; --json lists the first ${k.collections.length})`);
    }
    for (const c of k.counters) {
      const before = c.before === null ? 'no readable counters' : `${plural(c.before[0], 'key')}, ${c.before[1]} with an expiry`;
      writeLine(out, `  db ${c.db} counters (DBSIZE): ${before} -> ${plural(c.after[0], 'key')}, ${c.after[1]} with an expiry`);
    }
    if (k.expiryAdded > 0 || k.expiryRemoved > 0) writeLine(out, `  expiry index: ${plural(k.expiryRemoved, 'entry', 'entries')} of keys not kept removed, ${plural(k.expiryAdded, 'missing entry', 'missing entries')} added`);
  }
  for (const note of report.notes) writeLine(out, `note: ${note}`);
  if (report.lost.length > 0) {
    writeLine(out, `LOST (${report.lost.length}):`);
    for (const lost of report.lost) {
      const where = lost.offset === null ? lost.file : `${lost.file} at offset ${lost.offset}`;
      const size = lost.bytes === null ? '' : ` (${formatBytes(lost.bytes)})`;
      const records = lost.records === null ? '' : `, ${plural(lost.records, 'record')}`;
      const keys = lost.decoded.keyRange?.text ?? 'keys unknown';
      writeLine(out, `  [${lost.kind}] ${where}${size}: ${keys}, ${renderSequenceRange(lost.sequenceRange ?? undefined)}${records}`);
      writeLine(out, `      ${lost.reason}`);
      if (lost.savedAs !== null) writeLine(out, `      original kept in ${lost.savedAs}`);
      if (lost.knownKeys.length > 0) {
        const shown = lost.decoded.knownKeys.slice(0, 10).map((key) => key.text).join(', ');
        writeLine(out, `      keys written by the readable records after the damage: ${shown}${lost.knownKeys.length > 10 ? `, ... (${lost.knownKeys.length} in all; --json lists them)` : ''}`);
      }
      const what = lost.kind === 'wal-records' || lost.kind === 'wal-file' ? (lost.olderVersionsMayShow ? 'keys these records wrote keep the values (or absence) they had before them' : undefined) : describeStaleRisk(lost);
      if (what !== undefined) writeLine(out, `      ${what}`);
    }
  }
  for (const doubt of report.doubts) writeLine(out, `DOUBT: ${doubt}`);
  const verdict = report.verify.healthy ? 'opens and passes verify' : `FAILS verify (${plural(report.verify.damageCount, 'problem')})`;
  const lost = report.complete ? `nothing was lost${report.doubts.length > 0 ? ', but see the doubt above' : ''}` : `PARTIAL: ${plural(report.lost.length, 'loss', 'losses')} listed above`;
  writeLine(out, `Result: ${report.out} ${verdict}; ${lost}; report in ${resolve(report.out, lostAndFoundDirName, recoverReportFileName)}`);
}
