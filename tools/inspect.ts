// `silt inspect DIR`: what a data directory holds, without changing it.
//
//   silt inspect DIR                  levels, segments (size, key range, entry and tombstone
//                                     counts, compression ratio, Bloom filter), WAL files,
//                                     the archive's time range, checkpoints
//   silt inspect DIR --segment FILE   one segment's footer, properties and data blocks
//                                     (offset, size, entries, first and last key)
//   silt inspect DIR --wal FILE       one WAL file's records (offset, sequence, time, ops, keys)
//   silt inspect DIR --key K [--db N] [--hex] [--subkeys N]
//                                     every stored version of Redis key K of db N (default 0):
//                                     its metadata record, expiry index entries, and the first
//                                     N subkeys of each collection version (default 10), in
//                                     every segment and WAL record, as pebble's `find` does,
//                                     newest first (tools/key-finder.ts)
//   silt inspect DIR --engine-key K [--hex]
//                                     the same for one engine key, as verify names them
//
// A Redis key lives under its db's physical id (docs/format.md, "Keyspace
// encoding"): the newest database table (`D`) found says which, and older
// tables found say which ids the db had before a FLUSHDB or SWAPDB; the key
// is looked up under each. Without any table (raw engine data, or a lost
// one) db N is taken as physical N, as a fresh server maps it, and so said.
//
// FILE is a path, or a name looked up in DIR's seg/, wal/ and archive/. Damage
// is shown where it is met and does not stop the listing (verify judges it).
// Like every read-only tool it refuses a directory a live process holds.

import { CorruptionError, KvError, UnsupportedVersionError } from '../lib/errors.js';
import { userKeyOf } from '../lib/format/internal-key.js';
import { baseName, joinPath, type FileSystem } from '../lib/fs/file-system.js';
import { archiveDir, parseFileName, segmentDir, segmentPath, walDir } from '../lib/format/file-names.js';
import { readLock } from '../lib/engine/lock-file.js';
import { readManifest, type ManifestState } from '../lib/manifest/manifest-reader.js';
import { CompressionType } from '../lib/segment/segment-format.js';
import { decodeTable, type DbTable } from '../lib/keyspace/db-table.js';
import { dbTableKey, decodeOrderedDouble, expiryKey, KeyTag, metadataKey, readUint64BE, scorePrefix, subkeyPrefix } from '../lib/keyspace/key-encoding.js';
import { KeyType, keyTypeNames, metadataFormatVersion, metadataHeaderBytes } from '../lib/keyspace/metadata.js';
import { listCheckpoints, type CheckpointEntry } from './checkpoint.js';
import { defaultFileSystem, describeOwner, refuseLiveDirectory, requireDirectory, requireSiltData, segmentNumbers } from './data-dir.js';
import { KeyFinder, type KeyVersion } from './key-finder.js';
import { describeEngineKey, unknownTable } from './describe-engine-key.js';
import { formatBytes, formatTime, formatTimeRange, plural, quoteBytes, relativeFile, renderKey } from './render.js';
import { scanSegment, type SegmentScan } from './segment-scan.js';
import { ExitCode, runTool, ToolError, writeJson, writeLine, type ToolIo, type ToolResult } from './tool-io.js';
import { listIn, summarizeWalFile, type WalFileRef, type WalFileSummary } from './wal-scan.js';
import { archiveSpan, type ArchivedWalFile } from '../lib/wal/wal-archive.js';

/** Subkeys shown per collection version by default (--subkeys N changes it). */
export const inspectSubkeysDefault = 10;
/**
 * Most subkeys --subkeys may ask for per collection version: each one shown is held in memory
 * with its versions. Here, not in lib/limits.ts: only this view reads it.
 */
export const inspectSubkeysMax = 100_000;

export interface InspectOptions {
  dir: string;
  segment?: string;
  wal?: string;
  /** A Redis key (of `db`). */
  key?: string;
  /** The logical db of `key` (default 0). */
  db?: number;
  /** Subkeys shown per collection version of `key` (default inspectSubkeysDefault). */
  subkeys?: number;
  /** An engine key, as verify and the segment and WAL views name them. */
  engineKey?: string;
  /** `key` or `engineKey` is hex. */
  hex?: boolean;
  json?: boolean;
  fs?: FileSystem;
}

/** One segment as the directory view shows it. */
export interface SegmentInfo {
  file: string;
  fileNumber: number;
  /** Level the manifest puts it at; null when the manifest does not name it. */
  level: number | null;
  bytes: number;
  entries: number | null;
  tombstones: number | null;
  smallestKey: string | null;
  largestKey: string | null;
  smallestSequence: number | null;
  largestSequence: number | null;
  dataBlocks: number | null;
  /** Raw key and value bytes over data bytes on disk. */
  compressionRatio: number | null;
  bloomBitsPerKey: number | null;
  filterBytes: number | null;
  createdMs: number | null;
  /** Why the properties could not be read. */
  problem: string | null;
}

export interface WalInfo {
  file: string;
  fileNumber: number;
  bytes: number;
  records: number;
  ops: number;
  firstSequence: number | null;
  lastSequence: number | null;
  firstTimeMs: number | null;
  lastTimeMs: number | null;
  state: 'clean' | 'tornTail' | 'damaged';
  damageOffset: number | null;
  /** Zeros the writer preallocated at the end (WAL format version 2), counted in `bytes`. */
  preallocatedBytes: number;
}

export interface DirectoryView {
  tool: 'inspect';
  view: 'directory';
  dir: string;
  lock: string;
  manifest: { name: string; formatVersion: number; edits: number; bytes: number; logNumber: number; nextFileNumber: number; lastSequence: number } | null;
  manifestProblem: string | null;
  levels: { level: number; bytes: number; segments: SegmentInfo[] }[];
  /** Segments in seg/ the manifest does not name (every segment when there is no manifest). */
  unlistedSegments: SegmentInfo[];
  wal: WalInfo[];
  /**
   * The archive: its files, the span of all their records, the newest span that replays without a
   * break (`reachable`: what restore can reach from a checkpoint taken before it), and each break.
   */
  archive: {
    files: WalInfo[];
    bytes: number;
    fromMs: number | null;
    toMs: number | null;
    fromSequence: number | null;
    toSequence: number | null;
    reachable: { fromMs: number; toMs: number; fromSequence: number; toSequence: number } | null;
    breaks: { kind: 'gap' | 'damage'; file: string; missing: { first: number; last: number } | null }[];
  };
  checkpoints: CheckpointEntry[];
}

export interface SegmentView {
  tool: 'inspect';
  view: 'segment';
  file: string;
  bytes: number;
  footer: { index: { offset: number; size: number }; filter: { offset: number; size: number }; properties: { offset: number; size: number }; formatVersion: number } | null;
  properties: Record<string, number | string> | null;
  filter: { bytes: number; probes: number } | null;
  blocks: {
    index: number;
    offset: number;
    storedBytes: number;
    compression: string | null;
    rawBytes: number | null;
    entries: number | null;
    firstKey: string | null;
    lastKey: string | null;
    problem: string | null;
  }[];
  problems: { offset: number; message: string }[];
}

export interface WalRecordInfo {
  offset: number;
  bytes: number;
  sequence: number;
  timeMs: number;
  ops: { type: 'put' | 'del'; key: string; valueBytes: number }[];
}

export interface WalView {
  tool: 'inspect';
  view: 'wal';
  file: string;
  bytes: number;
  formatVersion: number | null;
  fileNumber: number | null;
  records: WalRecordInfo[];
  state: 'clean' | 'tornTail' | 'damaged';
  damage: { offset: number; bytes: number; reason: string } | null;
  /** Zeros the writer preallocated at the end (WAL format version 2), counted in `bytes`. */
  preallocatedBytes: number;
}

/** One stored version of an engine key. */
export interface VersionInfo {
  sequence: number;
  type: 'put' | 'del';
  valueBytes: number;
  where: string;
  /** The WAL record's time; null in a segment. */
  timeMs: number | null;
}

/** Every version of one engine key (--engine-key). */
export interface EngineKeyView {
  tool: 'inspect';
  view: 'engine-key';
  /** The engine key, hex. */
  key: string;
  /** Every version found, newest first. */
  versions: VersionInfo[];
  segmentsSearched: number;
  walFilesSearched: number;
  problems: { file: string; message: string }[];
}

/** A metadata record as stored: what the key was at that version. */
export interface MetadataRecordInfo {
  type: string;
  /** Absolute expiry, ms since the epoch, or null. */
  expireAt: number | null;
  /** The version its subkeys carry. */
  version: number;
  /** Strings: the value's length; collections: their element count. */
  size: number;
  flags: number;
  /** Strings: the value's first bytes, hex (size says how long it is). */
  valueHead: string | null;
}

/** Every stored version of a Redis key (--key): its engine keys, newest first in each. */
export interface KeyView {
  tool: 'inspect';
  view: 'key';
  db: number;
  /** The Redis key, hex. */
  key: string;
  /** table: from the newest database table found; assumed: none was found, so db N is physical N. */
  mapping: 'table' | 'assumed';
  /** The physical dbs searched: the one db maps to now first, then those older tables gave it (and which db each is now). */
  physicalDbs: { physDb: number; current: boolean; nowDb: number | null }[];
  /** The metadata key under each physical db, with every version (puts decoded). */
  metadata: { physDb: number; engineKey: string; versions: (VersionInfo & { record: MetadataRecordInfo | null; problem: string | null })[] }[];
  /** The expiry index entries the metadata versions name. */
  expiry: { physDb: number; expireAt: number; engineKey: string; versions: VersionInfo[] }[];
  /** Per collection version the metadata names: its first `subkeysLimit` subkeys (and score entries of a sorted set), fields hex. */
  subkeys: {
    physDb: number;
    collectionVersion: number;
    type: string;
    /** The version the newest metadata record of the current physical db names (the others are dead). */
    live: boolean;
    kind: 'subkey' | 'score';
    entries: { engineKey: string; field: string; score: number | null; versions: VersionInfo[] }[];
    /** More entries than shown are stored. */
    more: boolean;
  }[];
  subkeysLimit: number;
  segmentsSearched: number;
  walFilesSearched: number;
  problems: { file: string; message: string }[];
}

export type InspectReport = DirectoryView | SegmentView | WalView | KeyView | EngineKeyView;

/**
 * Prints one view of a data directory.
 * @returns exit 0 when shown, 2 when it could not run
 */
export function inspect(options: InspectOptions, io: ToolIo): Promise<ToolResult<InspectReport>> {
  const json = options.json === true;
  return runTool('inspect', io, json, async () => {
    const fs = options.fs ?? defaultFileSystem();
    const chosen = [options.segment, options.wal, options.key, options.engineKey].filter((value) => value !== undefined).length;
    if (chosen > 1) throw new ToolError('USAGE', 'Cannot inspect: give at most one of --segment, --wal, --key and --engine-key');
    if (options.key === undefined && (options.db !== undefined || options.subkeys !== undefined)) throw new ToolError('USAGE', 'Cannot inspect: --db and --subkeys go with --key');
    if (options.hex === true && options.key === undefined && options.engineKey === undefined) throw new ToolError('USAGE', 'Cannot inspect: --hex goes with --key or --engine-key');
    if (options.subkeys !== undefined && !(Number.isSafeInteger(options.subkeys) && options.subkeys >= 0 && options.subkeys <= inspectSubkeysMax)) {
      throw new ToolError('USAGE', `Cannot inspect: --subkeys takes 0 to ${inspectSubkeysMax}, got ${options.subkeys}`);
    }
    requireDirectory(fs, options.dir);
    refuseLiveDirectory(fs, options.dir, 'inspect', 'Inspect a checkpoint of it instead (BGSAVE, then `silt inspect DIR/checkpoints/NAME`)');
    requireSiltData(fs, options.dir, 'inspect');
    let report: InspectReport;
    if (options.segment !== undefined) report = segmentView(fs, options.dir, options.segment);
    else if (options.wal !== undefined) report = walView(fs, options.dir, options.wal);
    else if (options.key !== undefined) report = keyView(fs, options.dir, parseKey(options.key, options.hex === true), options.db ?? 0, options.subkeys ?? inspectSubkeysDefault);
    else if (options.engineKey !== undefined) report = engineKeyView(fs, options.dir, parseKey(options.engineKey, options.hex === true));
    else report = directoryView(fs, options.dir);
    if (json) writeJson(io.stdout, report);
    else printView(io, report);
    return { exitCode: ExitCode.ok, report };
  });
}

// ---------------------------------------------------------------- directory

function directoryView(fs: FileSystem, dir: string): DirectoryView {
  const lock = readLock(fs, dir);
  const view: DirectoryView = {
    tool: 'inspect',
    view: 'directory',
    dir,
    lock: lock.state === 'none' ? 'none' : lock.state === 'stale' ? `stale (${lock.reason})` : `held by ${describeOwner(lock.info)}`,
    manifest: null,
    manifestProblem: null,
    levels: [],
    unlistedSegments: [],
    wal: [],
    archive: { files: [], bytes: 0, fromMs: null, toMs: null, fromSequence: null, toSequence: null, reachable: null, breaks: [] },
    checkpoints: [],
  };
  let manifest: ManifestState | undefined;
  try {
    manifest = readManifest(fs, dir, { readOnly: true });
    view.manifest = {
      name: manifest.manifestName,
      formatVersion: manifest.formatVersion,
      edits: manifest.editCount,
      bytes: manifest.fileBytes,
      logNumber: manifest.logNumber,
      nextFileNumber: manifest.nextFileNumber,
      lastSequence: manifest.lastSequence,
    };
  } catch (error) {
    if (!(error instanceof KvError)) throw error;
    view.manifestProblem = error.message;
  }
  const levelOf = new Map<number, number>();
  if (manifest !== undefined) {
    manifest.version.levels.forEach((files, level) => {
      for (const meta of files) levelOf.set(meta.fileNumber, level);
      view.levels.push({ level, bytes: 0, segments: [] });
    });
  }
  for (const fileNumber of segmentNumbers(fs, dir)) {
    const info = segmentInfo(fs, dir, fileNumber, levelOf.get(fileNumber) ?? null);
    const level = info.level === null ? undefined : view.levels[info.level];
    if (level === undefined) {
      view.unlistedSegments.push(info);
    } else {
      level.segments.push(info);
      level.bytes += info.bytes;
    }
  }
  if (manifest !== undefined) {
    // Keep each level in the manifest's order (level 0 newest first, others by key).
    manifest.version.levels.forEach((files, level) => {
      const order = new Map(files.map((meta, index) => [meta.fileNumber, index]));
      view.levels[level]!.segments.sort((a, b) => (order.get(a.fileNumber) ?? 0) - (order.get(b.fileNumber) ?? 0));
    });
  }
  const live = listIn(fs, walDir(dir), 'wal');
  view.wal = live.map((ref, index) => walInfo(fs, dir, ref, index === live.length - 1));
  view.archive.files = listIn(fs, archiveDir(dir), 'archive').map((ref) => walInfo(fs, dir, ref, false));
  for (const file of view.archive.files) {
    view.archive.bytes += file.bytes;
    view.archive.fromMs = minimum(view.archive.fromMs, file.firstTimeMs);
    view.archive.toMs = maximum(view.archive.toMs, file.lastTimeMs);
    view.archive.fromSequence = minimum(view.archive.fromSequence, file.firstSequence);
    view.archive.toSequence = maximum(view.archive.toSequence, file.lastSequence);
  }
  const span = archiveSpan(view.archive.files.map(asArchivedFile));
  view.archive.reachable = span.range ?? null;
  view.archive.breaks = span.breaks.map((entry) => ({ kind: entry.kind, file: view.archive.files.find((file) => file.fileNumber === entry.fileNumber)!.file, missing: entry.missing ?? null }));
  view.checkpoints = listCheckpoints(fs, dir);
  return view;
}


function segmentInfo(fs: FileSystem, dir: string, fileNumber: number, level: number | null): SegmentInfo {
  const path = segmentPath(dir, fileNumber);
  const scan = scanSegment(fs, path, { readData: false });
  const properties = scan.properties;
  const info: SegmentInfo = {
    file: relativeFile(dir, path),
    fileNumber,
    level,
    bytes: scan.fileBytes,
    entries: properties?.entryCount ?? null,
    tombstones: properties?.tombstoneCount ?? null,
    smallestKey: properties === undefined ? null : userKeyOf(properties.smallestKey).toString('hex'),
    largestKey: properties === undefined ? null : userKeyOf(properties.largestKey).toString('hex'),
    smallestSequence: properties?.smallestSequence ?? null,
    largestSequence: properties?.largestSequence ?? null,
    dataBlocks: properties?.dataBlockCount ?? null,
    compressionRatio: properties === undefined || properties.dataBytes === 0 ? null : round((properties.rawKeyBytes + properties.rawValueBytes) / properties.dataBytes, 2),
    bloomBitsPerKey: properties?.bloomBitsPerKey ?? null,
    filterBytes: scan.footer?.filter.size ?? null,
    createdMs: properties?.createdMs ?? null,
    problem: scan.problems[0]?.message ?? null,
  };
  return info;
}

/** A WalInfo as archiveSpan() takes it: only the ranges, the file number and whether it is damaged count. */
function asArchivedFile(file: WalInfo): ArchivedWalFile {
  return {
    fileNumber: file.fileNumber,
    path: file.file,
    bytes: file.bytes,
    mtimeMs: 0,
    batches: file.records,
    firstSequence: file.firstSequence ?? undefined,
    lastSequence: file.lastSequence ?? undefined,
    firstTimeMs: file.firstTimeMs ?? undefined,
    lastTimeMs: file.lastTimeMs ?? undefined,
    damage: file.state === 'clean' ? undefined : { offset: file.damageOffset ?? 0, bytes: 0, reason: file.state },
  };
}

function walInfo(fs: FileSystem, dir: string, ref: WalFileRef, isNewest: boolean): WalInfo {
  let summary: WalFileSummary;
  try {
    summary = summarizeWalFile(fs, ref, isNewest);
  } catch (error) {
    if (!(error instanceof UnsupportedVersionError)) throw error;
    return { file: relativeFile(dir, ref.path), fileNumber: ref.fileNumber, bytes: fs.stat(ref.path).size, records: 0, ops: 0, firstSequence: null, lastSequence: null, firstTimeMs: null, lastTimeMs: null, state: 'damaged', damageOffset: 0, preallocatedBytes: 0 };
  }
  return {
    file: relativeFile(dir, ref.path),
    fileNumber: ref.fileNumber,
    bytes: summary.fileBytes,
    records: summary.batches,
    ops: summary.ops,
    firstSequence: summary.firstSequence ?? null,
    lastSequence: summary.lastSequence ?? null,
    firstTimeMs: summary.firstTimeMs ?? null,
    lastTimeMs: summary.lastTimeMs ?? null,
    state: summary.state,
    damageOffset: summary.damage?.offset ?? null,
    preallocatedBytes: summary.preallocatedBytes,
  };
}

// ---------------------------------------------------------------- one segment

function segmentView(fs: FileSystem, dir: string, name: string): SegmentView {
  const path = resolveFile(fs, dir, name, [segmentDir(dir)]);
  const scan: SegmentScan = scanSegment(fs, path, { readData: true });
  const properties = scan.properties;
  return {
    tool: 'inspect',
    view: 'segment',
    file: relativeFile(dir, path),
    bytes: scan.fileBytes,
    footer: scan.footer === undefined ? null : { index: { ...scan.footer.index }, filter: { ...scan.footer.filter }, properties: { ...scan.footer.properties }, formatVersion: scan.footer.formatVersion },
    properties:
      properties === undefined
        ? null
        : {
            entryCount: properties.entryCount,
            tombstoneCount: properties.tombstoneCount,
            rawKeyBytes: properties.rawKeyBytes,
            rawValueBytes: properties.rawValueBytes,
            dataBlockCount: properties.dataBlockCount,
            dataBytes: properties.dataBytes,
            smallestKey: userKeyOf(properties.smallestKey).toString('hex'),
            largestKey: userKeyOf(properties.largestKey).toString('hex'),
            smallestSequence: properties.smallestSequence,
            largestSequence: properties.largestSequence,
            createdMs: properties.createdMs,
            bloomBitsPerKey: properties.bloomBitsPerKey,
          },
    filter: scan.filter === undefined ? null : { bytes: scan.filter.bytes, probes: scan.filter.probeCount },
    blocks: scan.blocks.map((block) => ({
      index: block.index,
      offset: block.offset,
      storedBytes: block.storedBytes,
      compression: block.compression === undefined ? null : compressionName(block.compression),
      rawBytes: block.rawBytes ?? null,
      entries: block.entries ?? null,
      firstKey: block.firstKey === undefined ? null : userKeyOf(block.firstKey).toString('hex'),
      lastKey: block.lastKey === undefined ? null : userKeyOf(block.lastKey).toString('hex'),
      problem: block.problem ?? null,
    })),
    problems: scan.problems,
  };
}

// ---------------------------------------------------------------- one WAL file

function walView(fs: FileSystem, dir: string, name: string): WalView {
  const path = resolveFile(fs, dir, name, [walDir(dir), archiveDir(dir)]);
  const records: WalRecordInfo[] = [];
  const live = listIn(fs, walDir(dir), 'wal');
  const isNewest = live.length > 0 && live[live.length - 1]!.path === path;
  const fileNumber = parseFileName(baseName(path));
  const ref: WalFileRef = { fileNumber: fileNumber?.kind === 'wal' ? fileNumber.number : 0, path, location: path.includes('/archive/') ? 'archive' : 'wal' };
  const summary = summarizeWalFile(fs, ref, isNewest, (batch, offset) => {
    records.push({
      offset,
      bytes: 0,
      sequence: batch.sequence,
      timeMs: batch.timeMs,
      ops: batch.ops.map((op) => ({ type: op.type, key: op.key.toString('hex'), valueBytes: op.type === 'put' ? op.value.length : 0 })),
    });
  });
  for (let index = 0; index < records.length; index++) {
    const end = records[index + 1]?.offset ?? summary.validBytes;
    records[index]!.bytes = end - records[index]!.offset;
  }
  return {
    tool: 'inspect',
    view: 'wal',
    file: relativeFile(dir, path),
    bytes: summary.fileBytes,
    formatVersion: summary.header?.formatVersion ?? null,
    fileNumber: summary.header?.fileNumber ?? null,
    records,
    state: summary.state,
    damage: summary.damage === undefined ? null : { ...summary.damage },
    preallocatedBytes: summary.preallocatedBytes,
  };
}

// ---------------------------------------------------------------- one engine key

function engineKeyView(fs: FileSystem, dir: string, key: Buffer): EngineKeyView {
  const finder = new KeyFinder(fs, dir, { walFilter: (candidate) => candidate.equals(key), valueBytesKept: () => 0 });
  return {
    tool: 'inspect',
    view: 'engine-key',
    key: key.toString('hex'),
    versions: finder.versions(key).map(versionInfo),
    segmentsSearched: finder.segmentsSearched,
    walFilesSearched: finder.walFilesSearched,
    problems: finder.problems,
  };
}

// ---------------------------------------------------------------- one Redis key

/** Bytes of a metadata record kept per version: its header and the start of a string's value. */
const metadataBytesKept = metadataHeaderBytes + 32;
/** `tag | physdb | key length` before the user key of an `S` or `Z` key. */
const collectionHeaderBytes = 9;

function keyView(fs: FileSystem, dir: string, userKey: Buffer, db: number, subkeysLimit: number): KeyView {
  const ownKeys = ownEngineKeys(userKey);
  const finder = new KeyFinder(fs, dir, {
    walFilter: (key) => key.equals(dbTableKey) || ownKeys.matches(key),
    // The database table whole (4 bytes a db), metadata records' headers and the start of a string's value.
    valueBytesKept: (key) => (key.equals(dbTableKey) ? Number.MAX_SAFE_INTEGER : metadataBytesKept),
    walGroupOf: ownKeys.groupOf,
    walGroupLimit: subkeysLimit,
  });
  const view: KeyView = {
    tool: 'inspect',
    view: 'key',
    db,
    key: userKey.toString('hex'),
    mapping: 'table',
    physicalDbs: [],
    metadata: [],
    expiry: [],
    subkeys: [],
    subkeysLimit,
    segmentsSearched: finder.segmentsSearched,
    walFilesSearched: finder.walFilesSearched,
    problems: [],
  };
  const tables = databaseTables(finder, view);
  const newest = tables[0];
  if (newest === undefined) {
    view.mapping = 'assumed';
    view.physicalDbs.push({ physDb: db, current: true, nowDb: db });
  } else {
    const count = newest.physIds.length;
    if (db >= count) throw new ToolError('USAGE', `Cannot inspect db ${db}: the database table has dbs 0 to ${count - 1}`);
    const nowDbOf = new Map(newest.physIds.map((physId, index) => [physId, index]));
    for (const table of tables) {
      const physDb = table.physIds[db];
      if (physDb === undefined || view.physicalDbs.some((known) => known.physDb === physDb)) continue;
      view.physicalDbs.push({ physDb, current: table === newest, nowDb: nowDbOf.get(physDb) ?? null });
    }
  }
  for (const { physDb } of view.physicalDbs) {
    const engineKey = metadataKey(physDb, userKey);
    const versions = finder.versions(engineKey).map((version) => ({ ...versionInfo(version), ...decodeMetadata(version) }));
    view.metadata.push({ physDb, engineKey: engineKey.toString('hex'), versions });
  }
  for (const metadata of view.metadata) {
    const seenExpiry = new Set<number>();
    const seenVersion = new Set<number>();
    for (const version of metadata.versions) {
      const record = version.record;
      if (record === null) continue;
      if (record.expireAt !== null && !seenExpiry.has(record.expireAt)) {
        seenExpiry.add(record.expireAt);
        const engineKey = expiryKey(record.expireAt, metadata.physDb, userKey);
        view.expiry.push({ physDb: metadata.physDb, expireAt: record.expireAt, engineKey: engineKey.toString('hex'), versions: finder.versions(engineKey).map(versionInfo) });
      }
      if (record.type === 'string' || seenVersion.has(record.version)) continue;
      seenVersion.add(record.version);
      const newestRecord = metadata.versions[0];
      const live = view.physicalDbs.find((physical) => physical.physDb === metadata.physDb)?.current === true && newestRecord?.type === 'put' && newestRecord.record?.version === record.version;
      const kinds: ['subkey' | 'score', Buffer][] = [['subkey', subkeyPrefix(metadata.physDb, userKey, record.version)]];
      if (record.type === 'zset') kinds.push(['score', scorePrefix(metadata.physDb, userKey, record.version)]);
      for (const [kind, prefix] of kinds) {
        const found = finder.prefixed(prefix, subkeysLimit);
        const entries = [...found.keys].map(([hex, versions]) => {
          const rest = Buffer.from(hex, 'hex').subarray(prefix.length);
          const score = kind === 'score' && rest.length >= 8 ? decodeOrderedDouble(rest, 0) : null;
          return { engineKey: hex, field: (kind === 'score' ? rest.subarray(8) : rest).toString('hex'), score, versions: versions.map(versionInfo) };
        });
        view.subkeys.push({ physDb: metadata.physDb, collectionVersion: record.version, type: record.type, live, kind, entries, more: found.more });
      }
    }
  }
  view.problems.push(...finder.problems);
  return view;
}

/**
 * Which engine keys belong to `userKey` in any physical db, by their layout alone (for the WAL pass,
 * before the physical dbs are known): its `M` and `E` keys, and its `S` and `Z` keys, grouped by
 * collection (`tag | physdb | len | key | version`) so that only the first subkeys of each are kept.
 */
function ownEngineKeys(userKey: Buffer): { matches: (key: Buffer) => boolean; groupOf: (key: Buffer) => string | undefined } {
  const length = userKey.length;
  const endsWithKey = (key: Buffer, prefixBytes: number): boolean => key.length === prefixBytes + length && key.subarray(prefixBytes).equals(userKey);
  const isCollectionKey = (key: Buffer): boolean =>
    (key[0] === KeyTag.subkey || key[0] === KeyTag.score) &&
    key.length >= collectionHeaderBytes + length + 8 &&
    key.readUInt32BE(5) === length &&
    key.subarray(collectionHeaderBytes, collectionHeaderBytes + length).equals(userKey);
  return {
    matches: (key) => (key[0] === KeyTag.metadata && endsWithKey(key, 5)) || (key[0] === KeyTag.expiry && endsWithKey(key, 13)) || isCollectionKey(key),
    groupOf: (key) => (isCollectionKey(key) ? key.subarray(0, collectionHeaderBytes + length + 8).toString('hex') : undefined),
  };
}

/** The database tables stored, newest first (those that do not decode are problems). */
function databaseTables(finder: KeyFinder, view: KeyView): DbTable[] {
  const tables: DbTable[] = [];
  for (const version of finder.versions(dbTableKey)) {
    if (version.type === 'del') continue;
    try {
      tables.push(decodeTable(version.valueHead));
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      view.problems.push({ file: version.where, message: error.message });
    }
  }
  return tables;
}

/** A metadata version decoded: a put's record (type, expiry, version, size), or why it does not decode. */
function decodeMetadata(version: KeyVersion): { record: MetadataRecordInfo | null; problem: string | null } {
  if (version.type === 'del') return { record: null, problem: null };
  const head = version.valueHead;
  if (version.valueBytes < metadataHeaderBytes) return { record: null, problem: `${version.valueBytes} bytes, shorter than the ${metadataHeaderBytes}-byte header` };
  if (head[0] !== metadataFormatVersion) return { record: null, problem: `unknown format version ${head[0]}` };
  const type = head[1]!;
  if (type < KeyType.string || type > KeyType.zset) return { record: null, problem: `unknown type ${type}` };
  const expireMs = readUint64BE(head, 3);
  const size = readUint64BE(head, 19);
  const isString = type === KeyType.string;
  const record: MetadataRecordInfo = {
    type: keyTypeNames[type as KeyType],
    expireAt: expireMs === 0 ? null : expireMs,
    version: readUint64BE(head, 11),
    size,
    flags: head[2]!,
    valueHead: isString ? head.subarray(metadataHeaderBytes).toString('hex') : null,
  };
  const problem = isString && size !== version.valueBytes - metadataHeaderBytes ? `string size ${size} does not match its value of ${version.valueBytes - metadataHeaderBytes} bytes` : null;
  return { record, problem };
}

function versionInfo(version: KeyVersion): VersionInfo {
  return { sequence: version.sequence, type: version.type, valueBytes: version.valueBytes, where: version.where, timeMs: version.timeMs };
}

// ---------------------------------------------------------------- output

function printView(io: ToolIo, view: InspectReport): void {
  switch (view.view) {
    case 'directory':
      return printDirectory(io, view);
    case 'segment':
      return printSegment(io, view);
    case 'wal':
      return printWal(io, view);
    case 'key':
      return printKey(io, view);
    case 'engine-key':
      return printEngineKey(io, view);
  }
}

function printDirectory(io: ToolIo, view: DirectoryView): void {
  const out = io.stdout;
  writeLine(out, `Data directory ${view.dir} (LOCK: ${view.lock})`);
  if (view.manifest !== null) {
    const m = view.manifest;
    writeLine(out, `Manifest ${m.name}: format ${m.formatVersion}, ${plural(m.edits, 'edit')}, ${formatBytes(m.bytes)}; log number ${m.logNumber}, next file number ${m.nextFileNumber}, last sequence ${m.lastSequence}`);
  } else {
    writeLine(out, `Manifest: unreadable: ${view.manifestProblem ?? 'none'}`);
  }
  for (const level of view.levels) {
    if (level.segments.length === 0) continue;
    writeLine(out, `Level ${level.level}: ${plural(level.segments.length, 'segment')}, ${formatBytes(level.bytes)}`);
    for (const segment of level.segments) printSegmentLine(out, segment);
  }
  if (view.unlistedSegments.length > 0) {
    writeLine(out, view.manifest === null ? 'Segments (levels unknown):' : 'Segments the manifest does not name (not read by the server):');
    for (const segment of view.unlistedSegments) printSegmentLine(out, segment);
  }
  writeLine(out, `WAL: ${view.wal.length === 0 ? 'no files' : plural(view.wal.length, 'file')}`);
  for (const file of view.wal) printWalLine(out, file);
  if (view.archive.files.length === 0) {
    writeLine(out, 'Archive: none');
  } else {
    const a = view.archive;
    writeLine(out, `Archive: ${plural(a.files.length, 'file')}, ${formatBytes(a.bytes)}, seq ${a.fromSequence ?? '?'}..${a.toSequence ?? '?'}, ${formatTimeRange(a.fromMs, a.toMs)}`);
    for (const file of a.files) printWalLine(out, file);
    if (a.breaks.length > 0) {
      for (const entry of a.breaks) {
        const what = entry.kind === 'damage' ? `${entry.file} is damaged: nothing after the damage replays` : `${entry.missing === null ? 'records are missing' : `the records of seq ${entry.missing.first}..${entry.missing.last} are missing`} before ${entry.file} (a file was removed)`;
        writeLine(out, `  BREAK: ${what}`);
      }
      const r = a.reachable;
      writeLine(out, `  Replays without a break: ${r === null ? 'nothing after the last break' : `seq ${r.fromSequence}..${r.toSequence}, ${formatTimeRange(r.fromMs, r.toMs)}`} (restore reaches it from a checkpoint taken before it)`);
    }
  }
  writeLine(out, view.checkpoints.length === 0 ? 'Checkpoints: none' : `Checkpoints: ${view.checkpoints.length}`);
  for (const checkpoint of view.checkpoints) {
    writeLine(out, `  ${checkpoint.name}  seq ${checkpoint.sequence ?? '?'}  ${formatTime(checkpoint.timeMs)}  ${formatBytes(checkpoint.bytes)}${checkpoint.problem === null ? '' : `  (${checkpoint.problem})`}`);
  }
}

function printSegmentLine(out: ToolIo['stdout'], segment: SegmentInfo): void {
  if (segment.entries === null) {
    writeLine(out, `  ${segment.file}  ${formatBytes(segment.bytes)}  UNREADABLE: ${segment.problem ?? ''}`);
    return;
  }
  const ratio = segment.compressionRatio === null ? '?' : `${segment.compressionRatio}x`;
  writeLine(
    out,
    `  ${segment.file}  ${formatBytes(segment.bytes)}  ${segment.entries} entries (${segment.tombstones} tombstones)  keys ${engineHexKey(segment.smallestKey)} .. ${engineHexKey(segment.largestKey)}  seq ${segment.smallestSequence}..${segment.largestSequence}`,
  );
  writeLine(out, `      ${plural(segment.dataBlocks ?? 0, 'block')}, compression ${ratio}, bloom ${segment.bloomBitsPerKey} bits/key (${formatBytes(segment.filterBytes ?? 0)}), created ${formatTime(segment.createdMs)}${segment.problem === null ? '' : `, PROBLEM: ${segment.problem}`}`);
}

function printWalLine(out: ToolIo['stdout'], file: WalInfo): void {
  const sequences = file.firstSequence === null ? 'no records' : `seq ${file.firstSequence}..${file.lastSequence}, ${formatTimeRange(file.firstTimeMs, file.lastTimeMs)}`;
  const state = file.state === 'clean' ? '' : file.state === 'tornTail' ? `  torn tail at offset ${file.damageOffset}` : `  DAMAGED at offset ${file.damageOffset}`;
  const zeros = file.preallocatedBytes > 0 ? ` (${formatBytes(file.preallocatedBytes)} preallocated)` : '';
  writeLine(out, `  ${file.file}  ${formatBytes(file.bytes)}${zeros}  ${plural(file.records, 'record')} (${file.ops} ops)  ${sequences}${state}`);
}

function printSegment(io: ToolIo, view: SegmentView): void {
  const out = io.stdout;
  writeLine(out, `Segment ${view.file}: ${formatBytes(view.bytes)}${view.footer === null ? '' : `, format ${view.footer.formatVersion}`}`);
  if (view.footer !== null) {
    const f = view.footer;
    writeLine(out, `  index block at ${f.index.offset} (${f.index.size} B), filter block at ${f.filter.offset} (${f.filter.size} B), properties block at ${f.properties.offset} (${f.properties.size} B)`);
  }
  if (view.properties !== null) {
    const p = view.properties;
    writeLine(out, `  ${p['entryCount']} entries (${p['tombstoneCount']} tombstones), keys ${engineHexKey(p['smallestKey'] as string)} .. ${engineHexKey(p['largestKey'] as string)}, seq ${p['smallestSequence']}..${p['largestSequence']}`);
    writeLine(out, `  raw keys ${formatBytes(p['rawKeyBytes'] as number)}, raw values ${formatBytes(p['rawValueBytes'] as number)}, data blocks ${formatBytes(p['dataBytes'] as number)}; bloom ${p['bloomBitsPerKey']} bits/key${view.filter === null ? '' : `, ${view.filter.probes} probes`}; created ${formatTime(p['createdMs'] as number)}`);
  }
  for (const problem of view.problems) writeLine(out, `  PROBLEM at offset ${problem.offset}: ${problem.message}`);
  const rows = view.blocks.map((block) => [String(block.index), String(block.offset), String(block.storedBytes), block.compression ?? '?', block.rawBytes === null ? '?' : String(block.rawBytes), block.entries === null ? '?' : String(block.entries)]);
  const header = ['block', 'offset', 'stored', 'compression', 'raw', 'entries'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const align = (cells: string[]): string => cells.map((cell, column) => cell.padStart(widths[column]!)).join('  ');
  writeLine(out, `  ${align(header)}  first key .. last key`);
  view.blocks.forEach((block, index) => {
    const keys = block.firstKey === null ? '' : `${engineHexKey(block.firstKey)} .. ${engineHexKey(block.lastKey)}`;
    const problem = block.problem === null ? '' : `DAMAGED: ${block.problem}`;
    writeLine(out, `  ${align(rows[index]!)}  ${keys}${problem}`);
  });
}

function printWal(io: ToolIo, view: WalView): void {
  const out = io.stdout;
  writeLine(out, `WAL file ${view.file}: ${formatBytes(view.bytes)}, format ${view.formatVersion ?? '?'}, file number ${view.fileNumber ?? '?'}, ${plural(view.records.length, 'record')}`);
  for (const record of view.records) {
    const keys = record.ops.slice(0, 4).map((op) => `${op.type} ${engineHexKey(op.key)}`).join(', ');
    const more = record.ops.length > 4 ? `, ... (${record.ops.length - 4} more)` : '';
    writeLine(out, `  offset ${record.offset} (${record.bytes} B)  seq ${record.sequence}  ${formatTime(record.timeMs)}  ${plural(record.ops.length, 'op')}: ${keys}${more}`);
  }
  if (view.damage !== null) {
    const what = view.state === 'tornTail' ? 'torn tail (normal after a crash)' : 'DAMAGE';
    writeLine(out, `  ${what} at offset ${view.damage.offset}: ${view.damage.bytes} bytes, ${view.damage.reason}`);
  }
  if (view.preallocatedBytes > 0) writeLine(out, `  then ${formatBytes(view.preallocatedBytes)} of zeros the writer preallocated (not damage)`);
}

function printKey(io: ToolIo, view: KeyView): void {
  const out = io.stdout;
  const userKey = Buffer.from(view.key, 'hex');
  const current = view.physicalDbs.find((physical) => physical.current)!;
  const mapping = view.mapping === 'table' ? 'the database table maps it' : 'no database table was found, so db N is taken as physical N, as a fresh server maps it';
  writeLine(out, `Key ${quoteBytes(userKey)} of db ${view.db}: physical db ${current.physDb} (${mapping}); ${plural(view.segmentsSearched, 'segment')} and ${plural(view.walFilesSearched, 'WAL file')} searched, newest first`);
  for (const metadata of view.metadata) {
    const physical = view.physicalDbs.find((candidate) => candidate.physDb === metadata.physDb)!;
    const whose = physical.current ? '' : `, physical db ${metadata.physDb}: db ${view.db}'s in an older database table (FLUSHDB or SWAPDB since), ${physical.nowDb === null ? 'mapped to no db now' : `db ${physical.nowDb}'s now`}`;
    writeLine(out, `  metadata (engine key ${renderKey(Buffer.from(metadata.engineKey, 'hex'))}${whose}): ${metadata.versions.length === 0 ? 'no version stored' : plural(metadata.versions.length, 'version')}`);
    for (const version of metadata.versions) writeLine(out, `    ${describeVersion(version, describeRecord(version))}`);
  }
  for (const entry of view.expiry) {
    writeLine(out, `  expiry index entry at ${formatTime(entry.expireAt)} (physical db ${entry.physDb}): ${entry.versions.length === 0 ? 'no version stored (the sweep would never delete the key: silt verify reports it)' : plural(entry.versions.length, 'version')}`);
    for (const version of entry.versions) writeLine(out, `    ${describeVersion(version, version.type === 'put' ? 'put' : 'delete')}`);
  }
  for (const group of view.subkeys) {
    const state = group.live ? 'live' : 'an older version: no reader sees them, compaction reclaims them';
    const what = group.kind === 'score' ? 'score index entries' : group.type === 'hash' ? 'fields' : group.type === 'list' ? 'elements' : 'members';
    const shown = group.entries.length === 0 ? 'none stored' : group.more ? `the first ${group.entries.length} shown, more stored: --subkeys N shows up to N` : `${group.entries.length}`;
    writeLine(out, `  ${what} of ${group.type} version ${group.collectionVersion} (physical db ${group.physDb}, ${state}): ${shown}`);
    for (const entry of group.entries) {
      const label = describeField(group.type, group.kind, Buffer.from(entry.field, 'hex'), entry.score);
      for (const version of entry.versions) writeLine(out, `    ${label}  ${describeVersion(version, version.type === 'put' ? `put (${version.valueBytes} B)` : 'delete')}`);
    }
  }
  if (view.metadata.every((metadata) => metadata.versions.length === 0)) writeLine(out, `  no version of this key is stored in db ${view.db}`);
  for (const problem of view.problems) writeLine(out, `  could not search ${problem.file}: ${problem.message}`);
}

/** `seq 12  put ...  seg/000010.sst (level 0)  2024-...`. */
function describeVersion(version: VersionInfo, what: string): string {
  const time = version.timeMs === null ? '' : `  ${formatTime(version.timeMs)}`;
  return `seq ${version.sequence}  ${what}  ${version.where}${time}`;
}

/** `put hash, 3 fields, version 17..., expires at ...`, or why the record does not decode. */
function describeRecord(version: KeyView['metadata'][number]['versions'][number]): string {
  if (version.type === 'del') return 'delete';
  const record = version.record;
  if (record === null) return `put (${version.valueBytes} B) that does not decode: ${version.problem ?? 'unknown'}`;
  const expiry = record.expireAt === null ? 'no expiry' : `${record.expireAt < Date.now() ? 'expired at' : 'expires at'} ${formatTime(record.expireAt)}`;
  const size =
    record.type === 'string'
      ? `${formatBytes(record.size)} ${quoteBytes(Buffer.from(record.valueHead ?? '', 'hex'))}${record.size > (record.valueHead ?? '').length / 2 ? '...' : ''}`
      : `size ${record.size}`;
  const problem = version.problem === null ? '' : ` (damaged: ${version.problem})`;
  return `put ${record.type}, ${size}, version ${record.version}, ${expiry}${problem}`;
}

/** A subkey's field as the type reads it: a list element's index, a sorted set's score and member. */
function describeField(type: string, kind: 'subkey' | 'score', field: Buffer, score: number | null): string {
  if (kind === 'score') return `score ${score} ${quoteBytes(field)}`;
  if (type === 'list' && field.length === 8) return `index ${readUint64BE(field, 0)}`;
  return quoteBytes(field);
}

function printEngineKey(io: ToolIo, view: EngineKeyView): void {
  const out = io.stdout;
  writeLine(out, `Engine key ${renderKey(Buffer.from(view.key, 'hex'))}: ${plural(view.versions.length, 'version')} in ${plural(view.segmentsSearched, 'segment')} and ${plural(view.walFilesSearched, 'WAL file')} searched, newest first`);
  for (const version of view.versions) writeLine(out, `  ${describeVersion(version, version.type === 'put' ? `put (${version.valueBytes} B)` : 'delete')}`);
  for (const problem of view.problems) writeLine(out, `  could not search ${problem.file}: ${problem.message}`);
}

// ---------------------------------------------------------------- helpers

/** A path as given, else a name looked up in `dirs`. */
function resolveFile(fs: FileSystem, dir: string, name: string, dirs: string[]): string {
  if (fs.exists(name) && !fs.stat(name).isDirectory) return name;
  for (const candidate of [joinPath(dir, name), ...dirs.map((sub) => joinPath(sub, name))]) {
    if (fs.exists(candidate) && !fs.stat(candidate).isDirectory) return candidate;
  }
  throw new ToolError('NOT_FOUND', `Cannot inspect "${name}": no such file, nor in ${dirs.map((sub) => `"${sub}"`).join(' or ')}`);
}

/** A key from the command line: UTF-8, or hex with --hex. */
export function parseKey(text: string, hex: boolean): Buffer {
  if (!hex) return Buffer.from(text, 'utf8');
  const digits = text.startsWith('0x') ? text.slice(2) : text;
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new ToolError('USAGE', `Cannot parse key "${text}" as hex: expected an even number of hex digits`);
  return Buffer.from(digits, 'hex');
}

function compressionName(type: number): string {
  if (type === CompressionType.lz4) return 'lz4';
  if (type === CompressionType.none) return 'none';
  return `unknown(${type})`;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function minimum(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

function maximum(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/**
 * An engine key (hex) for people, as verify names keys: `physical db 0 "user:1"`, `counters of
 * physical db 0`, ...; a key that is no keyspace record (raw engine data) as renderKey prints it.
 * Physical db numbers, since these views read no database table.
 */
function engineHexKey(hex: string | null): string {
  return hex === null ? '?' : describeEngineKey(Buffer.from(hex, 'hex'), unknownTable).text;
}
