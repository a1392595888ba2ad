// Generates the small data directories under fixtures/ (STYLE.md, section 9):
// real directories written by LsmEngine on the node file system, then damaged
// in one named way each. `npm run fixtures` runs it; fixtures are never edited
// by hand. Each fixture gets an EXPECTED.json (what opening it must yield,
// keys and values as hex) and fixtures/README.md says the same in prose.
// test/integration/fixtures.test.ts opens every fixture against its
// EXPECTED.json and regenerates them all to check they are still what this
// script writes.
//
// Determinism: the output is byte for byte the same on every run. The only
// inputs that vary are wall-clock times (WAL batch records, segment
// properties, manifest segment metadata, LOCK), so Date.now is pinned to a
// fixed clock while the engine writes, and LOCK is removed. Flush and
// compaction run inline on this thread, so the pinned clock covers them.
//
// How the base directory is built (every fixture starts from it):
//   session 1  phase 1: key:000..key:047, 96-byte values, in 4 batches;
//                       compactRange -> one level-1 segment of 2 data blocks
//              phase 2: overwrites, deletes, new keys, an empty value, in 2
//                       batches; flush -> one level-0 segment
//              phase 3: 3 batches left in the WAL: overwrites and deletes of
//                       segment keys, a binary key; close
//   session 2  phase 4: reopen (a new manifest and WAL file), 3 more batches
//                       in the WAL, one putting the same key twice; close
// So the directory holds CURRENT, one MANIFEST, two segments at levels 0 and
// 1, and two WAL files to replay.
//
// Usage: node dist/test/support/make-fixtures.js [fixtures-dir]
// (default ./fixtures). Only the fixture directories it knows, README.md and
// .gitignore are replaced; anything else in the directory is left alone.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { userKeyOf } from '../../lib/format/internal-key.js';
import { recordHeaderBytes } from '../../lib/format/record-framing.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { currentFileName, lockFileName, parseFileName, segmentDirName, segmentFileName, walDirName } from '../../lib/format/file-names.js';
import { readManifest } from '../../lib/manifest/manifest-reader.js';
import { decodeBlockHandle } from '../../lib/segment/block-io.js';
import { BlockIterator } from '../../lib/segment/block-reader.js';
import { SegmentReader } from '../../lib/segment/segment-reader.js';
import { walBatchFixedBytes } from '../../lib/wal/wal-format.js';
import { readWalFile } from '../../lib/wal/wal-reader.js';

/** Every fixture this script writes, in README order. */
export const fixtureNames = ['healthy', 'torn-wal-tail', 'flipped-bit', 'missing-segment', 'lost-manifest', 'wal-mid-corruption', 'preallocated-wal-tail'] as const;

/**
 * Fixtures of older formats, copied from what an older make-fixtures wrote
 * and never regenerated (STYLE.md, section 9): directory under fixtures/ and
 * the fixture it was. wal-v1/: WAL format version 1 (before preallocated tails).
 */
export const keptFixtures = [
  { dir: 'wal-v1/healthy', name: 'healthy' },
  { dir: 'wal-v1/torn-wal-tail', name: 'torn-wal-tail' },
  { dir: 'wal-v1/wal-mid-corruption', name: 'wal-mid-corruption' },
] as const;

/** The directory under fixtures/ that holds the kept old-format fixtures. */
export const keptFixturesRoot = 'wal-v1';
export type FixtureName = (typeof fixtureNames)[number];

/** The machine-readable expectation file in each fixture directory. */
export const expectedFileName = 'EXPECTED.json';

/** Wall-clock time the generation pretends to start at: 2024-01-02T03:04:05.000Z. */
export const fixtureClockStartMs = Date.UTC(2024, 0, 2, 3, 4, 5);

/** Pinned clock step before each batch, ms, so batch times differ as they would. */
const clockStepMs = 1000;

/** A user-visible entry, key and value as lower-case hex. */
export type HexEntry = [key: string, value: string];

/** An error an open or a read must throw. `file` is relative to the data directory, "/"-separated. */
export interface ExpectedError {
  /** Class name, e.g. "CorruptionError". */
  errorClass: string;
  /** KvError code, e.g. "CORRUPTION". */
  code: string;
  file: string;
  offset: number;
}

/** What LsmEngine.open must do in one mode. */
export type ExpectedOpen =
  | {
      outcome: 'ok';
      /** engine.recovery after the open (durationMs aside). walTruncatedFile is relative, or null. */
      recovery: { walFilesReplayed: number; walRecordsReplayed: number; walBytesTruncated: number; walTruncatedFile: string | null };
    }
  | { outcome: 'error'; error: ExpectedError };

/** How the fixture differs from the base directory. */
export type FixtureDamage =
  | { kind: 'none' }
  | { kind: 'truncate'; file: string; recordOffset: number; recordBytes: number; bytesBefore: number; bytesAfter: number }
  | { kind: 'xor'; file: string; byteOffset: number; mask: number; byteBefore: number; byteAfter: number; what: string }
  | { kind: 'remove'; files: string[] }
  /** The process was killed: `file` holds `recordBytes` of records, then preallocated zeros. */
  | { kind: 'killed'; file: string; recordBytes: number; preallocatedBytes: number };

/** One file of the fixture (EXPECTED.json excluded). */
export interface FixtureFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** The contents of EXPECTED.json. */
export interface FixtureExpectation {
  name: FixtureName;
  summary: string;
  steps: string[];
  damage: FixtureDamage;
  readWrite: ExpectedOpen;
  readOnly: ExpectedOpen;
  /** When set, a full iteration after a successful open yields exactly these, in order. */
  entries?: HexEntry[];
  /** Keys written at some point but deleted since (and one never written): get() returns undefined. */
  absentKeys?: string[];
  /** flipped-bit: reads after a successful open. */
  reads?: {
    /** get() of each of these keys throws `error`. */
    corruptKeys: string[];
    error: ExpectedError;
    /** get() of each of these returns exactly this value. */
    intactEntries: HexEntry[];
    /** A full iteration (engine.iterator()) throws this. */
    iteratorError: ExpectedError;
  };
  /** lost-manifest: what `silt recover` should salvage (every segment and WAL file is intact). */
  recover?: { entries: HexEntry[] };
  files: FixtureFile[];
}

// ---------------------------------------------------------------------------
// Entry points

/**
 * Writes every fixture under `root` (replacing those directories, README.md
 * and .gitignore) and returns what was written.
 */
export async function makeFixtures(root: string): Promise<FixtureExpectation[]> {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-make-fixtures-'));
  try {
    const base = path.join(staging, 'base');
    const tornBase = path.join(staging, 'torn-base');
    const killedBase = path.join(staging, 'killed-base');
    const built = await withPinnedClock(() => buildBase(base, false));
    const builtTorn = await withPinnedClock(() => buildBase(tornBase, true));
    const builtKilled = await withPinnedClock(() => buildBase(path.join(staging, 'killed-source'), false, killedBase));
    fs.mkdirSync(root, { recursive: true });
    const expectations: FixtureExpectation[] = [];
    for (const name of fixtureNames) {
      const dir = path.join(root, name);
      fs.rmSync(dir, { recursive: true, force: true });
      const [source, sourceBuilt] = name === 'torn-wal-tail' ? [tornBase, builtTorn] : name === 'preallocated-wal-tail' ? [killedBase, builtKilled] : [base, built];
      fs.cpSync(source, dir, { recursive: true });
      const expectation = makeFixture(name, dir, sourceBuilt);
      expectation.files = listFixtureFiles(dir);
      fs.writeFileSync(path.join(dir, expectedFileName), renderExpected(expectation));
      expectations.push(expectation);
    }
    fs.writeFileSync(path.join(root, 'README.md'), renderReadme(expectations));
    // NB: the repository's .gitignore ignores *.log; WAL files here must be committed.
    fs.writeFileSync(path.join(root, '.gitignore'), '# WAL files are part of the fixtures (the top-level .gitignore ignores *.log)\n!*.log\n');
    return expectations;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Every file below `dir` except EXPECTED.json, sorted by relative path, with size and SHA-256. */
export function listFixtureFiles(dir: string): FixtureFile[] {
  const files: FixtureFile[] = [];
  const walk = (relative: string): void => {
    for (const name of fs.readdirSync(path.join(dir, relative)).sort()) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const stat = fs.statSync(path.join(dir, child));
      if (stat.isDirectory()) walk(child);
      else if (child !== expectedFileName) files.push({ path: child, bytes: stat.size, sha256: sha256(fs.readFileSync(path.join(dir, child))) });
    }
  };
  walk('');
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// ---------------------------------------------------------------------------
// The base directory

/** What building the base directory produced, for the fixtures' expectations. */
interface BuiltBase {
  /** The user-visible state after every batch (the torn batch excluded). */
  entries: HexEntry[];
  /** Keys some batch touched that are absent from `entries`. */
  absentKeys: string[];
  /** The phase that last wrote each user key (hex), deletes included. */
  lastPhase: Map<string, number>;
  /** The level-0 and level-1 segments, relative paths. */
  level0Segment: string;
  level1Segment: string;
  /** WAL files, oldest first, relative paths. */
  walFiles: string[];
  /** Batch record offsets in the newest WAL file. */
  newestWalRecordOffsets: number[];
  newestWalBytes: number;
  /** Batches the engine replays on open (the torn one excluded). */
  walRecords: number;
}

type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

const text = (value: string): Buffer => Buffer.from(value, 'latin1');
const put = (key: string | Buffer, value: string | Buffer): Op => ({ type: 'put', key: typeof key === 'string' ? text(key) : key, value: typeof value === 'string' ? text(value) : value });
const del = (key: string | Buffer): Op => ({ type: 'del', key: typeof key === 'string' ? text(key) : key });
const keyName = (index: number): string => `key:${String(index).padStart(3, '0')}`;

/** A key that is not text: NUL, 0xff, newline, 0x80. */
export const binaryKey = Buffer.from([0x00, 0xff, 0x0a, 0x80]);

/** Phase 1: 48 keys with 96-byte values, enough for two 4 KiB data blocks. */
function phase1Batches(): Op[][] {
  const batches: Op[][] = [];
  for (let batch = 0; batch < 4; batch++) {
    const ops: Op[] = [];
    for (let index = batch * 12; index < (batch + 1) * 12; index++) {
      const prefix = `v1:${keyName(index)}:`;
      ops.push(put(keyName(index), prefix + '.'.repeat(96 - prefix.length)));
    }
    batches.push(ops);
  }
  return batches;
}

/** Phase 2 (flushed to level 0): overwrites and deletes of level-1 keys, new keys, an empty value. */
function phase2Batches(): Op[][] {
  const first: Op[] = [];
  for (let index = 10; index <= 14; index++) first.push(put(keyName(index), `v2:${keyName(index)}`));
  for (let index = 20; index <= 22; index++) first.push(del(keyName(index)));
  const second: Op[] = [];
  for (let index = 50; index <= 53; index++) second.push(put(keyName(index), `v2:${keyName(index)}`));
  second.push(put('empty', ''));
  return [first, second];
}

/** Phase 3 (WAL only, first WAL file). */
function phase3Batches(): Op[][] {
  return [
    [put(keyName(30), 'v3:key:030'), del(keyName(40))],
    [put(keyName(11), 'v3:key:011'), del(keyName(12)), del(keyName(50))],
    [put(binaryKey, Buffer.from([0xde, 0xad, 0xbe, 0xef])), put(keyName(60), 'v3:key:060'), del('key:999')],
  ];
}

/** Phase 4 (WAL only, second WAL file, second session). */
function phase4Batches(): Op[][] {
  return [
    [put(keyName(61), 'v4:key:061'), put(keyName(1), 'v4:key:001')],
    [del(keyName(2)), put(keyName(62), 'v4:key:062'), put(binaryKey, Buffer.from([0x00]))],
    [put(keyName(63), 'v4:key:063'), put(keyName(64), 'v4:first'), put(keyName(64), 'v4:second'), del(keyName(61))],
  ];
}

/** The batch whose record torn-wal-tail cuts in half: never part of the expected state. */
function tornBatch(): Op[] {
  return [put(keyName(65), 'v4:torn:key:065'), put(keyName(0), 'v4:torn:key:000'), del(keyName(3))];
}

// Preallocation: 4 KiB (not the default 1 MiB) keeps preallocated-wal-tail small.
const engineOptions = { syncPolicy: 'always', backgroundExecutor: 'inline', disableAutoCompaction: true, walPreallocateBytes: 4096 } as const;

/**
 * Builds the base directory in `dir`. With `killedCopy`, copies `dir` there
 * after session 2's writes and before its close, as a killed process leaves
 * it (the newest WAL file still preallocated; LOCK removed).
 */
async function buildBase(dir: string, withTornBatch: boolean, killedCopy?: string): Promise<BuiltBase> {
  const model = new Map<string, Buffer>();
  const lastPhase = new Map<string, number>();
  let walRecords = 0;
  const write = async (engine: LsmEngine, phase: number, ops: Op[]): Promise<void> => {
    clock.nowMs += clockStepMs;
    const batch = new WriteBatch();
    for (const op of ops) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    await engine.write(batch);
    for (const op of ops) {
      const hex = op.key.toString('hex');
      if (op.type === 'put') model.set(hex, op.value);
      else model.delete(hex);
      lastPhase.set(hex, phase);
    }
  };

  const session1 = await LsmEngine.open(dir, { ...engineOptions, fs: new NodeFileSystem() });
  for (const ops of phase1Batches()) await write(session1, 1, ops);
  clock.nowMs += clockStepMs;
  await session1.compactRange();
  for (const ops of phase2Batches()) await write(session1, 2, ops);
  clock.nowMs += clockStepMs;
  await session1.flush();
  for (const ops of phase3Batches()) {
    await write(session1, 3, ops);
    walRecords++;
  }
  await session1.close();

  clock.nowMs += clockStepMs;
  const session2 = await LsmEngine.open(dir, { ...engineOptions, fs: new NodeFileSystem() });
  for (const ops of phase4Batches()) {
    await write(session2, 4, ops);
    walRecords++;
  }
  const entries = sortedEntries(model);
  if (withTornBatch) {
    clock.nowMs += clockStepMs;
    const batch = new WriteBatch();
    for (const op of tornBatch()) {
      if (op.type === 'put') batch.put(op.key, op.value);
      else batch.del(op.key);
    }
    await session2.write(batch);
  }
  if (killedCopy !== undefined) {
    fs.cpSync(dir, killedCopy, { recursive: true });
    fs.rmSync(path.join(killedCopy, lockFileName), { force: true });
  }
  await session2.close();
  fs.rmSync(path.join(dir, lockFileName), { force: true });

  const nodeFs = new NodeFileSystem();
  const manifest = readManifest(nodeFs, dir, { readOnly: true });
  const level0 = manifest.version.levels[0]!;
  const level1 = manifest.version.levels[1]!;
  if (level0.length !== 1 || level1.length !== 1 || manifest.version.allFiles().length !== 2) {
    throw new Error(`Cannot build the fixture base: expected one segment at each of levels 0 and 1, found ${manifest.version.levels.map((files) => files.length).join('/')}`);
  }
  const walFiles = fs
    .readdirSync(path.join(dir, walDirName))
    .filter((name) => parseFileName(name)?.kind === 'wal')
    .sort()
    .map((name) => `${walDirName}/${name}`);
  if (walFiles.length !== 2) throw new Error(`Cannot build the fixture base: expected two WAL files, found ${walFiles.join(', ')}`);
  const newest = path.join(dir, walFiles[1]!);
  const offsets: number[] = [];
  readWalFile(nodeFs, newest, { mode: 'strict', isNewest: true, onBatch: (_batch, offset) => offsets.push(offset) });
  return {
    entries,
    absentKeys: [...lastPhase.keys()].filter((key) => !model.has(key)).sort(),
    lastPhase,
    level0Segment: `${segmentDirName}/${segmentFileName(level0[0]!.fileNumber)}`,
    level1Segment: `${segmentDirName}/${segmentFileName(level1[0]!.fileNumber)}`,
    walFiles,
    newestWalRecordOffsets: offsets,
    newestWalBytes: fs.statSync(newest).size,
    walRecords,
  };
}

// ---------------------------------------------------------------------------
// Fixtures

function makeFixture(name: FixtureName, dir: string, built: BuiltBase): FixtureExpectation {
  switch (name) {
    case 'healthy':
      return healthy(built);
    case 'torn-wal-tail':
      return tornWalTail(dir, built);
    case 'flipped-bit':
      return flippedBit(dir, built);
    case 'missing-segment':
      return missingSegment(dir, built);
    case 'lost-manifest':
      return lostManifest(dir, built);
    case 'wal-mid-corruption':
      return walMidCorruption(dir, built);
    case 'preallocated-wal-tail':
      return preallocatedWalTail(dir, built);
  }
}

const baseSteps = [
  'Session 1: write key:000..key:047 (96-byte values "v1:key:NNN:...") in 4 batches; compactRange() -> one level-1 segment with 2 data blocks.',
  'Session 1: overwrite key:010..key:014 ("v2:..."), delete key:020..key:022, put key:050..key:053 and "empty" (empty value) in 2 batches; flush() -> one level-0 segment.',
  'Session 1: 3 batches left in the first WAL file: overwrite key:030 and key:011, delete key:040, key:012 and key:050, put the binary key 00ff0a80 and key:060, delete the absent key:999; close.',
  'Session 2: reopen; 3 batches in the second WAL file: put key:061..key:063, overwrite key:001 and the binary key, delete key:002, put key:064 twice in one batch (the second wins), delete key:061; close.',
  'Remove LOCK. Date.now is pinned (from 2024-01-02T03:04:05Z, +1 s per batch) so the bytes are the same on every run.',
];

function cleanOpen(built: BuiltBase): ExpectedOpen {
  return { outcome: 'ok', recovery: { walFilesReplayed: built.walFiles.length, walRecordsReplayed: built.walRecords, walBytesTruncated: 0, walTruncatedFile: null } };
}

function corruption(file: string, offset: number): ExpectedError {
  return { errorClass: 'CorruptionError', code: 'CORRUPTION', file, offset };
}

function errorOpen(error: ExpectedError): ExpectedOpen {
  return { outcome: 'error', error };
}

function healthy(built: BuiltBase): FixtureExpectation {
  return {
    name: 'healthy',
    summary: 'Segments at levels 0 and 1 plus two WAL files with deletes, overwrites and a binary key; opens cleanly in both modes.',
    steps: baseSteps,
    damage: { kind: 'none' },
    readWrite: cleanOpen(built),
    readOnly: cleanOpen(built),
    entries: built.entries,
    absentKeys: built.absentKeys,
    files: [],
  };
}

function tornWalTail(dir: string, built: BuiltBase): FixtureExpectation {
  const file = built.walFiles[built.walFiles.length - 1]!;
  const offsets = built.newestWalRecordOffsets;
  // The torn batch is the last record: it runs to the end of the file.
  const recordOffset = offsets[offsets.length - 1]!;
  const recordBytes = built.newestWalBytes - recordOffset;
  const keep = recordOffset + Math.floor(recordBytes / 2);
  fs.truncateSync(path.join(dir, file), keep);
  const truncated = keep - recordOffset;
  return {
    name: 'torn-wal-tail',
    summary: 'As healthy plus one more batch whose WAL record is cut in half: the torn tail a crash during an append leaves.',
    steps: [
      ...baseSteps.slice(0, 3),
      'Session 2 as for healthy, then a 4th batch (put key:065, overwrite key:000, delete key:003) before close.',
      baseSteps[4]!,
      `Cut ${file} from ${built.newestWalBytes} to ${keep} bytes: the last record (offset ${recordOffset}, ${recordBytes} bytes) keeps its first ${truncated} bytes.`,
    ],
    damage: { kind: 'truncate', file, recordOffset, recordBytes, bytesBefore: built.newestWalBytes, bytesAfter: keep },
    readWrite: { outcome: 'ok', recovery: { walFilesReplayed: built.walFiles.length, walRecordsReplayed: built.walRecords, walBytesTruncated: truncated, walTruncatedFile: file } },
    // A read-only open cuts nothing (and so reports no truncated bytes) and changes no file.
    readOnly: cleanOpen(built),
    entries: built.entries,
    // The torn batch's new key must not appear either.
    absentKeys: [...new Set([...built.absentKeys, ...tornOnlyKeys(built)])].sort(),
    files: [],
  };
}

function preallocatedWalTail(dir: string, built: BuiltBase): FixtureExpectation {
  const file = built.walFiles[built.walFiles.length - 1]!;
  const recordBytes = built.newestWalBytes;
  const fileBytes = fs.statSync(path.join(dir, file)).size;
  const tail = fs.readFileSync(path.join(dir, file)).subarray(recordBytes);
  if (tail.length === 0 || tail.some((byte) => byte !== 0)) throw new Error(`Cannot make preallocated-wal-tail: ${file} does not end in preallocated zeros`);
  return {
    name: 'preallocated-wal-tail',
    summary: 'The state of healthy as a process killed before its close leaves it: the newest WAL file (format version 2) ends in the zeros the writer preallocated under sync policy always. Opens cleanly in both modes; the zeros are not a torn tail.',
    steps: [
      ...baseSteps.slice(0, 3),
      'Session 2: reopen; the 3 batches of healthy in the second WAL file (4 KiB preallocated ahead of the records); copy the directory before the close (which would cut the zeros).',
      'Remove LOCK from the copy. Date.now is pinned as for healthy.',
    ],
    damage: { kind: 'killed', file, recordBytes, preallocatedBytes: fileBytes - recordBytes },
    readWrite: cleanOpen(built),
    readOnly: cleanOpen(built),
    entries: built.entries,
    absentKeys: built.absentKeys,
    files: [],
  };
}

/** Keys the torn batch writes that no other batch left in the state. */
function tornOnlyKeys(built: BuiltBase): string[] {
  const present = new Set(built.entries.map(([key]) => key));
  return tornBatch()
    .map((op) => op.key.toString('hex'))
    .filter((key) => !present.has(key));
}

function flippedBit(dir: string, built: BuiltBase): FixtureExpectation {
  const file = built.level1Segment;
  const full = path.join(dir, file);
  const { handle, userKeys } = firstDataBlock(full);
  const byteOffset = handle.offset + Math.floor(handle.size / 2);
  const mask = 0x10;
  const bytes = fs.readFileSync(full);
  const byteBefore = bytes[byteOffset]!;
  bytes[byteOffset] = byteBefore ^ mask;
  fs.writeFileSync(full, bytes);
  // Keys of the damaged block whose newest version lives in that segment (written in phase 1 only).
  const corruptKeys = userKeys.filter((key) => built.lastPhase.get(key) === 1);
  const corrupt = new Set(corruptKeys);
  const error = corruption(file, handle.offset);
  return {
    name: 'flipped-bit',
    summary: 'One bit flipped inside the first data block of the level-1 segment. Opening succeeds (segments are opened and their blocks read on demand); reading that block fails.',
    steps: [...baseSteps, `In ${file}, xor byte ${byteOffset} (inside the first data block: offset ${handle.offset}, ${handle.size} stored bytes) with 0x${mask.toString(16)}.`],
    damage: { kind: 'xor', file, byteOffset, mask, byteBefore, byteAfter: byteBefore ^ mask, what: `first data block (offset ${handle.offset}, ${handle.size} bytes)` },
    readWrite: cleanOpen(built),
    readOnly: cleanOpen(built),
    reads: {
      corruptKeys,
      error,
      intactEntries: built.entries.filter(([key]) => !corrupt.has(key)),
      iteratorError: error,
    },
    files: [],
  };
}

function missingSegment(dir: string, built: BuiltBase): FixtureExpectation {
  const file = built.level0Segment;
  fs.rmSync(path.join(dir, file));
  return {
    name: 'missing-segment',
    summary: 'The level-0 segment the manifest names is deleted: opening fails in both modes, naming it.',
    steps: [...baseSteps, `Delete ${file}.`],
    damage: { kind: 'remove', files: [file] },
    readWrite: errorOpen(corruption(file, 0)),
    readOnly: errorOpen(corruption(file, 0)),
    files: [],
  };
}

function lostManifest(dir: string, built: BuiltBase): FixtureExpectation {
  const removed = fs
    .readdirSync(dir)
    .filter((name) => name === currentFileName || parseFileName(name)?.kind === 'manifest')
    .sort();
  for (const name of removed) fs.rmSync(path.join(dir, name));
  return {
    name: 'lost-manifest',
    summary: 'CURRENT and the MANIFEST are removed; segments and WAL files are intact. Opening fails naming CURRENT; `silt recover` should salvage every entry.',
    steps: [...baseSteps, `Delete ${removed.join(' and ')}.`],
    damage: { kind: 'remove', files: removed },
    readWrite: errorOpen(corruption(currentFileName, 0)),
    readOnly: errorOpen(corruption(currentFileName, 0)),
    recover: { entries: built.entries },
    files: [],
  };
}

function walMidCorruption(dir: string, built: BuiltBase): FixtureExpectation {
  const file = built.walFiles[built.walFiles.length - 1]!;
  const offsets = built.newestWalRecordOffsets;
  // The second of three batch records: a valid record follows it, so this cannot be a torn tail.
  const recordOffset = offsets[1]!;
  const byteOffset = recordOffset + recordHeaderBytes + walBatchFixedBytes + 4;
  const mask = 0xff;
  const full = path.join(dir, file);
  const bytes = fs.readFileSync(full);
  const byteBefore = bytes[byteOffset]!;
  bytes[byteOffset] = byteBefore ^ mask;
  fs.writeFileSync(full, bytes);
  return {
    name: 'wal-mid-corruption',
    summary: 'A byte flipped in the payload of the middle batch record of the newest WAL file; a valid record follows, so it is corruption, not a torn tail.',
    steps: [...baseSteps, `In ${file}, xor byte ${byteOffset} (payload of the batch record at offset ${recordOffset}; records at ${offsets.join(', ')}) with 0xff.`],
    damage: { kind: 'xor', file, byteOffset, mask, byteBefore, byteAfter: byteBefore ^ mask, what: `payload of the batch record at offset ${recordOffset}` },
    readWrite: errorOpen(corruption(file, recordOffset)),
    readOnly: errorOpen(corruption(file, recordOffset)),
    files: [],
  };
}

/** The first data block's handle and the user keys (hex) stored in it. */
function firstDataBlock(file: string): { handle: { offset: number; size: number }; userKeys: string[] } {
  const reader = SegmentReader.open(new NodeFileSystem(), file, { fileNumber: 0 });
  try {
    const index = reader.indexIterator();
    index.seekToFirst();
    const handle = { offset: 0, size: 0 };
    const block = reader.dataBlockAt(index, handle);
    const blocks = reader.properties.dataBlockCount;
    if (blocks < 2) throw new Error(`Cannot damage the first data block of "${file}": it has ${blocks} data block, the fixture needs a second intact one`);
    const userKeys: string[] = [];
    const entries = new BlockIterator(block);
    for (entries.seekToFirst(); entries.valid(); entries.next()) {
      const key = userKeyOf(entries.key()).toString('hex');
      if (userKeys[userKeys.length - 1] !== key) userKeys.push(key);
    }
    // Decode the handle again from the index entry, the way readers find the block.
    const decoded = { offset: 0, size: 0 };
    decodeBlockHandle(index.value(), 0, index.value().length, decoded, { value: 0, offset: 0 });
    if (decoded.offset !== handle.offset || decoded.size !== handle.size) throw new Error(`Cannot locate the first data block of "${file}"`);
    return { handle, userKeys };
  } finally {
    reader.close();
  }
}

// ---------------------------------------------------------------------------
// README

function renderReadme(expectations: FixtureExpectation[]): string {
  const lines: string[] = [
    '# Fixtures',
    '',
    'Small real data directories written by LsmEngine, each damaged in one named way.',
    'Generated by `test/support/make-fixtures.ts` (`npm run fixtures`); never edit them by hand.',
    'Regenerating writes the same bytes (the clock is pinned while the engine writes), and',
    '`test/integration/fixtures.test.ts` fails when the fixtures are no longer what the script',
    'writes, so a format change forces regenerating them and reviewing the diff.',
    'Old-format fixtures are kept forever (STYLE.md, section 9) and never regenerated:',
    '`wal-v1/` holds healthy, torn-wal-tail and wal-mid-corruption as they were written with',
    'WAL format version 1 (before preallocated tails); the same tests open them.',
    '',
    'Each directory holds `EXPECTED.json`: how it was made, what opening it with',
    '`LsmEngine.open(dir)` (read-write) and `LsmEngine.open(dir, { readOnly: true })` must',
    'yield (keys and values as hex), and every file with its size and SHA-256. Error files',
    'are relative to the data directory; offsets are byte offsets in that file. Open copies:',
    'a read-write open rewrites the manifest, starts a new WAL file and cuts torn tails.',
    '',
    'The top-level `.gitignore` ignores `*.log`; `fixtures/.gitignore` re-includes the WAL files.',
    '',
  ];
  for (const expectation of expectations) {
    lines.push(`## ${expectation.name}`, '', expectation.summary, '', 'Made by:', '');
    expectation.steps.forEach((step, index) => lines.push(`${index + 1}. ${step}`));
    lines.push('', 'Opening must yield:', '');
    lines.push(`- read-write: ${describeOpen(expectation.readWrite)}`);
    lines.push(`- read-only: ${describeOpen(expectation.readOnly)}${expectation.damage.kind === 'truncate' ? '; no file changes (same bytes, no LOCK)' : ''}`);
    if (expectation.entries !== undefined) {
      if (expectation.name === 'healthy') {
        lines.push(`- a full iteration: exactly these ${expectation.entries.length} entries, in this order:`, '', '```');
        for (const [key, value] of expectation.entries) lines.push(`${showBytes(key)} = ${showBytes(value)}`);
        lines.push('```', '', `- get() of each of these keys returns undefined (deleted, or never written): ${(expectation.absentKeys ?? []).map(showBytes).join(', ')}.`);
      } else {
        const torn = expectation.damage.kind === 'truncate' ? ' (the torn batch is gone)' : '';
        lines.push(`- a full iteration: exactly the ${expectation.entries.length} entries of healthy${torn}.`);
      }
    }
    const reads = expectation.reads;
    if (reads !== undefined) {
      lines.push(
        `- get() of any of these keys, whose newest version is in the damaged block, throws ${describeError(reads.error)}: ${reads.corruptKeys.map(showBytes).join(', ')}.`,
        `- get() of every other key of healthy returns its value (${reads.intactEntries.length} entries), never wrong data.`,
        `- a full iteration (engine.iterator()) throws ${describeError(reads.iteratorError)} rather than skipping the block.`,
      );
    }
    if (expectation.recover !== undefined) {
      lines.push(`- \`silt recover\` (later) should rebuild a directory holding exactly the ${expectation.recover.entries.length} entries of healthy.`);
    }
    lines.push('', 'Files:', '', '| file | bytes | sha256 |', '|---|---:|---|');
    for (const file of expectation.files) lines.push(`| ${file.path} | ${file.bytes} | ${file.sha256.slice(0, 16)}… |`);
    lines.push('');
  }
  return `${lines.join('\n')}`;
}

function describeOpen(open: ExpectedOpen): string {
  if (open.outcome === 'error') return `throws ${describeError(open.error)}`;
  const recovery = open.recovery;
  const truncated = recovery.walBytesTruncated === 0 ? 'nothing truncated' : `${recovery.walBytesTruncated} bytes truncated from ${recovery.walTruncatedFile}`;
  return `opens; recovery replays ${recovery.walRecordsReplayed} batches from ${recovery.walFilesReplayed} WAL files, ${truncated}`;
}

function describeError(error: ExpectedError): string {
  return `${error.errorClass} (code ${error.code}) naming file \`${error.file}\` at offset ${error.offset}`;
}

/** A key or value for the README: quoted text (long runs of one character shortened), else hex. */
function showBytes(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length > 0 && !bytes.every((byte) => byte >= 0x20 && byte < 0x7f && byte !== 0x22)) return `0x${hex}`;
  const value = bytes.toString('latin1');
  const run = /(.)\1{7,}$/.exec(value);
  if (run === null) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, run.index))} + ${JSON.stringify(run[1])} x ${value.length - run.index}`;
}

// ---------------------------------------------------------------------------
// Helpers

/** EXPECTED.json: indented JSON with each [key, value] pair on one line. */
export function renderExpected(expectation: FixtureExpectation): string {
  const json = JSON.stringify(expectation, null, 2).replace(/\[\n\s*("[0-9a-f]*"),\n\s*("[0-9a-f]*")\n\s*\]/g, '[$1, $2]');
  return `${json}\n`;
}

function sortedEntries(model: Map<string, Buffer>): HexEntry[] {
  return [...model.entries()]
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex')))
    .map(([key, value]) => [key, value.toString('hex')]);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The pinned clock; `nowMs` moves only when the generator says so. */
const clock = { nowMs: fixtureClockStartMs };

/** Runs `body` with Date.now pinned to `clock`, restoring it afterwards. */
async function withPinnedClock<T>(body: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  clock.nowMs = fixtureClockStartMs;
  Date.now = () => clock.nowMs;
  try {
    return await body();
  } finally {
    Date.now = realNow;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const root = path.resolve(process.argv[2] ?? 'fixtures');
  makeFixtures(root).then(
    (expectations) => {
      for (const expectation of expectations) {
        const bytes = expectation.files.reduce((sum, file) => sum + file.bytes, 0);
        process.stdout.write(`${expectation.name}: ${expectation.files.length} files, ${bytes} bytes\n`);
      }
    },
    (error: unknown) => {
      process.stderr.write(`make-fixtures failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
