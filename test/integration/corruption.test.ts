// Corruption, one named case per region of each file kind, as LevelDB's
// db/corruption_test.cc: a real data directory (NodeFileSystem under the OS
// temp directory) built by LsmEngine, copied per case, damaged at a named
// offset, then opened read-write (the server) and read-only (the tools).
// Every case must end in one of the documented outcomes, never in silently
// wrong data:
//
// - an open that throws CorruptionError naming the file (relative to the
//   data directory) and the offset (UnsupportedVersionError for an unknown
//   format version);
// - an open that succeeds while reads that need the damaged segment throw
//   that error, every other read returns exactly what was written, and a full
//   iteration (forwards and backwards) throws rather than skipping;
// - the documented torn tail: a bad last WAL record is cut off (read-write,
//   reported in engine.recovery) or left in place (read-only), a bad last
//   manifest edit is ignored; the state is then exactly the batches before it.
//
// A read-only open never changes a byte of the directory, whatever the damage.
//
// The directory: session 1 flushes the a-keys (two data blocks) and the
// b-keys, each moved to level 1 by a trivial-move compaction (so the manifest
// holds header, snapshot, flush, move, flush, move: losing the last edit, a
// move, loses no data); then five batches of c-keys stay in the WAL file.
// Offsets come from lib/wal/wal-format.ts, lib/segment/segment-format.ts
// and lib/manifest/manifest-format.ts (docs/format.md).
//
// The last groups go past byte flips: a missing live WAL file, the empty or
// torn WAL file a crash during its creation leaves, and an iterator whose
// segment cannot be opened. Each of those found an engine bug; they stay as
// its regression test.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { EngineOptions } from '../../lib/engine/engine.js';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../lib/engine/write-batch.js';
import { CorruptionError, KvError, UnsupportedVersionError } from '../../lib/errors.js';
import { userKeyOf } from '../../lib/format/internal-key.js';
import { decodeRecord, recordChecksum, recordHeaderBytes } from '../../lib/format/record-framing.js';
import { MemFileSystem, systemError } from '../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../lib/fs/node-file-system.js';
import { manifestRecordBytesMax, walRecordBytesMax } from '../../lib/limits.js';
import { currentFileName, parseFileName, segmentDirName, segmentFileName, walDirName } from '../../lib/format/file-names.js';
import { ManifestRecordType } from '../../lib/manifest/manifest-format.js';
import { readManifest } from '../../lib/manifest/manifest-reader.js';
import { BlockIterator } from '../../lib/segment/block-reader.js';
import { FooterField, footerBytes, type BlockHandle } from '../../lib/segment/segment-format.js';
import { SegmentReader } from '../../lib/segment/segment-reader.js';
import { walBatchFixedBytes, WalRecordType } from '../../lib/wal/wal-format.js';

// ---------------------------------------------------------------------------
// The pristine directory

type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

const keyOf = (prefix: string, index: number): Buffer => Buffer.from(`${prefix}:${String(index).padStart(3, '0')}`);
/** a-key values are long enough that 64 of them fill two 4 KiB data blocks. */
const aValue = (index: number): Buffer => Buffer.from(`a-value-${index}-${'#'.repeat(90)}`);

const aBatches: Op[][] = [0, 1, 2, 3].map((batch) =>
  Array.from({ length: 16 }, (_, offset): Op => ({ type: 'put', key: keyOf('a', batch * 16 + offset), value: aValue(batch * 16 + offset) })),
);
const bBatches: Op[][] = [
  Array.from({ length: 10 }, (_, index): Op => ({ type: 'put', key: keyOf('b', index), value: Buffer.from(`b-value-${index}`) })),
];
/** WAL-only batches; the last one is what the torn-tail cases lose. */
const cBatches: Op[][] = [
  [put('c:000', 'c-0'), put('c:001', 'c-1')],
  [put('c:002', 'c-2'), { type: 'del', key: keyOf('a', 5) }],
  [put('c:003', 'c-3'), put('b:001', 'b-overwritten')],
  [put('c:004', 'c-4'), { type: 'del', key: keyOf('c', 0) }],
  [put('c:005', 'c-5'), put('a:010', 'a-overwritten'), put('c:006', 'c-6')],
];

/** The second session's batch (two-wals base only). */
const dBatch: Op[] = [put('d:000', 'd-0')];

function put(key: string, value: string): Op {
  return { type: 'put', key: Buffer.from(key), value: Buffer.from(value) };
}

/** The user-visible state after `batches`, as sorted [hex key, hex value] pairs. */
function stateAfter(batches: Op[][]): [string, string][] {
  const model = new Map<string, string>();
  for (const batch of batches) {
    for (const op of batch) {
      if (op.type === 'put') model.set(op.key.toString('hex'), op.value.toString('hex'));
      else model.delete(op.key.toString('hex'));
    }
  }
  return [...model.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'hex'), Buffer.from(b, 'hex')));
}

const allBatches = [...aBatches, ...bBatches, ...cBatches];
const fullState = stateAfter(allBatches);
const stateWithoutLastBatch = stateAfter(allBatches.slice(0, -1));

/** One framed record (WAL or manifest) of the pristine directory. */
interface RecordSpan {
  offset: number;
  /** Whole record, header included. */
  bytes: number;
  type: number;
}

/** Where every named region lies in the pristine directory. Paths are relative to the data directory. */
interface Layout {
  wal: { file: string; records: RecordSpan[]; fileBytes: number };
  segment: {
    /** The a-key segment (two data blocks). */
    file: string;
    fileBytes: number;
    firstDataBlock: BlockHandle;
    index: BlockHandle;
    filter: BlockHandle;
    properties: BlockHandle;
    footerOffset: number;
    /** User keys (hex) stored in the first data block whose newest version is there. */
    firstBlockKeys: string[];
    /** Every user key (hex) of the segment whose newest version is there. */
    keys: string[];
  };
  manifest: { file: string; records: RecordSpan[] };
  current: { bytes: Buffer };
}

let scratch: string;
let pristine: string;
/** The pristine directory after a second session wrote `dBatch` to a new WAL file: the c-key WAL file is no longer the newest. */
let pristineTwoWals: string;
let layout: Layout;
let copies = 0;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-corruption-test-'));
  pristine = path.join(scratch, 'pristine');
  await buildPristine(pristine);
  layout = readLayout(pristine);
  pristineTwoWals = path.join(scratch, 'pristine-two-wals');
  fs.cpSync(pristine, pristineTwoWals, { recursive: true });
  const engine = await LsmEngine.open(pristineTwoWals, { syncPolicy: 'always', backgroundExecutor: 'inline' });
  await engine.write(toBatch(dBatch));
  await engine.close();
});

afterAll(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
});

async function buildPristine(dir: string): Promise<void> {
  const engine = await LsmEngine.open(dir, {
    fs: new NodeFileSystem(),
    syncPolicy: 'always',
    backgroundExecutor: 'inline',
    // One level-0 segment triggers a compaction: a trivial move to level 1.
    level0CompactionTrigger: 1,
  });
  try {
    for (const [group, batches] of [aBatches, bBatches].entries()) {
      for (const batch of batches) await engine.write(toBatch(batch));
      await engine.flush();
      await waitForCompactions(engine);
      expect(engine.stats().levels.map((level) => level.segments).slice(0, 2), `after flush ${group}`).toEqual([0, group + 1]);
    }
    for (const batch of cBatches) await engine.write(toBatch(batch));
  } finally {
    await engine.close();
  }
}

function toBatch(ops: Op[]): WriteBatch {
  const batch = new WriteBatch();
  for (const op of ops) {
    if (op.type === 'put') batch.put(op.key, op.value);
    else batch.del(op.key);
  }
  return batch;
}

async function waitForCompactions(engine: LsmEngine): Promise<void> {
  for (let attempt = 0; attempt < 1000 && engine.stats().compactionsRunning > 0; attempt++) await sleep(5);
  expect(engine.stats().compactionsRunning).toBe(0);
}

function readLayout(dir: string): Layout {
  const nodeFs = new NodeFileSystem();
  const walNames = fs.readdirSync(path.join(dir, walDirName)).filter((name) => parseFileName(name)?.kind === 'wal');
  expect(walNames).toHaveLength(1);
  const walFile = `${walDirName}/${walNames[0]!}`;
  const walBytes = fs.readFileSync(path.join(dir, walFile));
  const walRecords = spans(walBytes, walRecordBytesMax);
  expect(walRecords.map((record) => record.type)).toEqual([WalRecordType.header, ...cBatches.map(() => WalRecordType.batch)]);

  const manifest = readManifest(nodeFs, dir, { readOnly: true });
  const level1 = manifest.version.levels[1]!;
  expect(level1).toHaveLength(2);
  const aSegment = level1.find((meta) => userKeyOf(meta.smallestKey).toString().startsWith('a:'))!;
  const segmentFile = `${segmentDirName}/${segmentFileName(aSegment.fileNumber)}`;
  const reader = SegmentReader.open(nodeFs, path.join(dir, segmentFile), { fileNumber: aSegment.fileNumber });
  let firstDataBlock: BlockHandle;
  let storedFirstBlockKeys: string[];
  try {
    expect(reader.properties.dataBlockCount).toBeGreaterThanOrEqual(2);
    const index = reader.indexIterator();
    index.seekToFirst();
    firstDataBlock = { offset: 0, size: 0 };
    const entries = new BlockIterator(reader.dataBlockAt(index, firstDataBlock));
    storedFirstBlockKeys = [];
    for (entries.seekToFirst(); entries.valid(); entries.next()) storedFirstBlockKeys.push(userKeyOf(entries.key()).toString('hex'));
  } finally {
    reader.close();
  }
  // Keys written after the flush (deleted or overwritten in the WAL) are answered by the memtable.
  const rewritten = new Set(cBatches.flat().map((op) => op.key.toString('hex')));
  const aKeys = aBatches.flat().map((op) => op.key.toString('hex'));

  const manifestBytes = fs.readFileSync(path.join(dir, manifest.manifestName));
  const manifestRecords = spans(manifestBytes, manifestRecordBytesMax);
  // header, snapshot, flush a, move a, flush b, move b
  expect(manifestRecords.map((record) => record.type)).toEqual([ManifestRecordType.header, ...Array.from({ length: 5 }, () => ManifestRecordType.edit)]);

  return {
    wal: { file: walFile, records: walRecords, fileBytes: walBytes.length },
    segment: {
      file: segmentFile,
      fileBytes: reader.fileBytes,
      firstDataBlock,
      index: reader.footer.index,
      filter: reader.footer.filter,
      properties: reader.footer.properties,
      footerOffset: reader.fileBytes - footerBytes,
      firstBlockKeys: storedFirstBlockKeys.filter((key) => !rewritten.has(key)),
      keys: aKeys.filter((key) => !rewritten.has(key)),
    },
    manifest: { file: manifest.manifestName, records: manifestRecords },
    current: { bytes: fs.readFileSync(path.join(dir, currentFileName)) },
  };
}

/** The framed records of a WAL or manifest file. */
function spans(bytes: Buffer, recordBytesMax: number): RecordSpan[] {
  const records: RecordSpan[] = [];
  for (let offset = 0; offset < bytes.length; ) {
    const decoded = decodeRecord(bytes, offset, bytes.length, recordBytesMax);
    if (decoded.kind !== 'record') throw new Error(`pristine file has a bad record at ${offset}: ${decoded.kind}`);
    records.push({ offset, bytes: decoded.nextOffset - offset, type: decoded.type });
    offset = decoded.nextOffset;
  }
  return records;
}

// ---------------------------------------------------------------------------
// Cases

/** An error a case must end in; `file` relative to the data directory. */
interface ExpectedError {
  errorClass: typeof CorruptionError | typeof UnsupportedVersionError;
  file: string;
  /** Required for CorruptionError. */
  offset?: number;
}

type Outcome =
  /** LsmEngine.open throws. */
  | { kind: 'openFails'; error: ExpectedError }
  /** Open succeeds; get() of `keys` (hex) and a full scan throw `error`; every other key reads right. */
  | { kind: 'readsFail'; error: ExpectedError; keys: string[] }
  /** The WAL's last record is a torn tail: read-write cuts `bytes` bytes; the state lacks the last batch. */
  | { kind: 'walTornTail'; bytes: number }
  /** The manifest's last edit is a torn tail: ignored; the state is complete. */
  | { kind: 'manifestTornTail' }
  /** A segment's Bloom filter is damaged: the segment is read without it (as LevelDB does); the state is complete. */
  | { kind: 'filterIgnored' };

interface Case {
  name: string;
  /** The directory to damage: the pristine one (default), or it plus a second session's WAL file. */
  base?: 'two-wals';
  /** The damaged file, relative to the data directory. */
  file: () => string;
  /** Damages the file's bytes (in place, or returns new ones). */
  damage: (bytes: Buffer) => Buffer | void;
  outcome: () => Outcome;
}

/** Xor of one byte: the named offset's damage. */
function xor(offset: () => number, mask = 0xff): (bytes: Buffer) => void {
  return (bytes) => {
    const at = offset();
    expect(at).toBeLessThan(bytes.length);
    bytes[at]! ^= mask;
  };
}

/** Rewrites one framed record's payload byte and recomputes its CRC, so only the contents are wrong. */
function rewriteChecksummed(record: () => RecordSpan, payloadIndex: number, value: number): (bytes: Buffer) => void {
  return (bytes) => {
    const { offset, bytes: length, type } = record();
    const payload = bytes.subarray(offset + recordHeaderBytes, offset + length);
    payload[payloadIndex] = value;
    bytes.writeUInt32LE(recordChecksum(type, payload), offset);
  };
}

const wal = (): Layout['wal'] => layout.wal;
const seg = (): Layout['segment'] => layout.segment;
const mft = (): Layout['manifest'] => layout.manifest;
const walRecord = (index: number) => (): RecordSpan => wal().records[index]!;
/** The middle batch record: two batch records before it (counting from 1) and two after. */
const middleWalRecord = walRecord(3);
const lastWalRecord = (): RecordSpan => wal().records[wal().records.length - 1]!;
const manifestRecord = (index: number) => (): RecordSpan => mft().records[index]!;
const lastManifestRecord = (): RecordSpan => mft().records[mft().records.length - 1]!;

const corruption = (file: string, offset: number): ExpectedError => ({ errorClass: CorruptionError, file, offset });
const walCorruptionAt = (record: () => RecordSpan) => (): Outcome => ({ kind: 'openFails', error: corruption(wal().file, record().offset) });
const segmentReadsFail = (offset: () => number, keys: () => string[]) => (): Outcome => ({ kind: 'readsFail', error: corruption(seg().file, offset()), keys: keys() });
const manifestCorruptionAt = (offset: () => number) => (): Outcome => ({ kind: 'openFails', error: corruption(mft().file, offset()) });

const cases: Case[] = [
  // WAL: wal/NNNNNN.log, records [crc32 u32][length u32][type u8][payload]; record 0 is the header.
  {
    name: 'WAL header record: magic byte flipped (a valid batch follows, so not a torn tail)',
    file: () => wal().file,
    damage: xor(() => recordHeaderBytes),
    outcome: walCorruptionAt(walRecord(0)),
  },
  {
    name: 'WAL header record: unknown format version with a valid CRC',
    file: () => wal().file,
    damage: rewriteChecksummed(walRecord(0), 4, 0x63),
    outcome: () => ({ kind: 'openFails', error: { errorClass: UnsupportedVersionError, file: wal().file } }),
  },
  {
    name: 'WAL header record: names another file number (valid CRC)',
    file: () => wal().file,
    damage: rewriteChecksummed(walRecord(0), 8, 0x7e),
    outcome: walCorruptionAt(walRecord(0)),
  },
  {
    name: 'WAL middle record: CRC byte flipped',
    file: () => wal().file,
    damage: xor(() => middleWalRecord().offset + 1),
    outcome: walCorruptionAt(middleWalRecord),
  },
  {
    name: 'WAL middle record: payload byte flipped',
    file: () => wal().file,
    damage: xor(() => middleWalRecord().offset + recordHeaderBytes + walBatchFixedBytes + 3),
    outcome: walCorruptionAt(middleWalRecord),
  },
  {
    name: 'WAL middle record: length field off by one',
    file: () => wal().file,
    damage: xor(() => middleWalRecord().offset + 4, 0x01),
    outcome: walCorruptionAt(middleWalRecord),
  },
  {
    name: 'WAL middle record: length field past the record limit',
    file: () => wal().file,
    damage: xor(() => middleWalRecord().offset + 7, 0x80),
    outcome: walCorruptionAt(middleWalRecord),
  },
  {
    name: 'WAL middle record: type byte flipped',
    file: () => wal().file,
    damage: xor(() => middleWalRecord().offset + 8, 0x04),
    outcome: walCorruptionAt(middleWalRecord),
  },
  {
    name: 'WAL last record: payload byte flipped is a torn tail',
    file: () => wal().file,
    damage: xor(() => lastWalRecord().offset + recordHeaderBytes + walBatchFixedBytes + 3),
    outcome: () => ({ kind: 'walTornTail', bytes: wal().fileBytes - lastWalRecord().offset }),
  },
  {
    name: 'WAL last record: length field past the end of the file is a torn tail',
    file: () => wal().file,
    damage: xor(() => lastWalRecord().offset + 5, 0x01),
    outcome: () => ({ kind: 'walTornTail', bytes: wal().fileBytes - lastWalRecord().offset }),
  },
  {
    name: 'WAL older file: last record payload flipped is corruption (only the newest file has a torn tail)',
    base: 'two-wals',
    file: () => wal().file,
    damage: xor(() => lastWalRecord().offset + recordHeaderBytes + walBatchFixedBytes + 3),
    outcome: walCorruptionAt(lastWalRecord),
  },
  {
    name: 'WAL last record: malformed op type with a valid CRC is corruption, not a torn tail',
    file: () => wal().file,
    // Payload: sequence u64, time u64, op count varint (1 byte), then op 0's type byte.
    damage: rewriteChecksummed(lastWalRecord, walBatchFixedBytes + 1, 0x07),
    outcome: walCorruptionAt(lastWalRecord),
  },

  // Segment: [data blocks + 5-byte trailers][filter][properties][index][52-byte footer].
  {
    name: 'segment data block: stored byte flipped',
    file: () => seg().file,
    damage: xor(() => seg().firstDataBlock.offset + Math.floor(seg().firstDataBlock.size / 2), 0x01),
    outcome: segmentReadsFail(() => seg().firstDataBlock.offset, () => seg().firstBlockKeys),
  },
  {
    name: 'segment data block: trailer CRC byte flipped',
    file: () => seg().file,
    damage: xor(() => seg().firstDataBlock.offset + seg().firstDataBlock.size + 2),
    outcome: segmentReadsFail(() => seg().firstDataBlock.offset, () => seg().firstBlockKeys),
  },
  {
    name: 'segment data block: trailer compression type flipped',
    file: () => seg().file,
    damage: xor(() => seg().firstDataBlock.offset + seg().firstDataBlock.size, 0x01),
    outcome: segmentReadsFail(() => seg().firstDataBlock.offset, () => seg().firstBlockKeys),
  },
  {
    name: 'segment index block: byte flipped',
    file: () => seg().file,
    damage: xor(() => seg().index.offset + Math.floor(seg().index.size / 2)),
    outcome: segmentReadsFail(() => seg().index.offset, () => seg().keys),
  },
  {
    name: 'segment filter block: byte flipped (the filter only saves reads: the segment is read without it)',
    file: () => seg().file,
    damage: xor(() => seg().filter.offset + Math.floor(seg().filter.size / 2)),
    outcome: () => ({ kind: 'filterIgnored' }),
  },
  {
    name: 'segment properties block: byte flipped',
    file: () => seg().file,
    damage: xor(() => seg().properties.offset + Math.floor(seg().properties.size / 2)),
    outcome: segmentReadsFail(() => seg().properties.offset, () => seg().keys),
  },
  {
    name: 'segment footer: block handle byte flipped (footer CRC)',
    file: () => seg().file,
    damage: xor(() => seg().footerOffset + FooterField.indexSize, 0x01),
    outcome: segmentReadsFail(() => seg().footerOffset, () => seg().keys),
  },
  {
    name: 'segment footer: magic byte flipped',
    file: () => seg().file,
    damage: xor(() => seg().footerOffset + FooterField.magic + 2),
    outcome: segmentReadsFail(() => seg().footerOffset + FooterField.magic, () => seg().keys),
  },
  {
    name: 'segment footer: format version changed',
    file: () => seg().file,
    damage: xor(() => seg().footerOffset + FooterField.formatVersion, 0x40),
    outcome: () => ({ kind: 'readsFail', error: { errorClass: UnsupportedVersionError, file: seg().file }, keys: seg().keys }),
  },
  {
    name: 'segment: last byte cut off (size differs from the manifest)',
    file: () => seg().file,
    damage: (bytes) => bytes.subarray(0, bytes.length - 1),
    outcome: () => ({ kind: 'openFails', error: corruption(seg().file, seg().fileBytes - 1) }),
  },

  // MANIFEST-NNNNNN: framed like the WAL; record 0 the header, record 1 the snapshot edit.
  {
    name: 'MANIFEST header: magic byte flipped',
    file: () => mft().file,
    damage: xor(() => recordHeaderBytes + 1),
    outcome: manifestCorruptionAt(() => 0),
  },
  {
    name: 'MANIFEST header: unknown format version with a valid CRC',
    file: () => mft().file,
    damage: rewriteChecksummed(manifestRecord(0), 8, 0x63),
    outcome: () => ({ kind: 'openFails', error: { errorClass: UnsupportedVersionError, file: mft().file } }),
  },
  {
    name: 'MANIFEST snapshot edit: byte flipped',
    file: () => mft().file,
    damage: xor(() => manifestRecord(1)().offset + recordHeaderBytes + 1),
    outcome: manifestCorruptionAt(() => manifestRecord(1)().offset),
  },
  {
    name: 'MANIFEST middle edit: byte flipped',
    file: () => mft().file,
    damage: xor(() => manifestRecord(3)().offset + recordHeaderBytes + 2),
    outcome: manifestCorruptionAt(() => manifestRecord(3)().offset),
  },
  {
    name: 'MANIFEST middle edit: CRC byte flipped',
    file: () => mft().file,
    damage: xor(() => manifestRecord(2)().offset),
    outcome: manifestCorruptionAt(() => manifestRecord(2)().offset),
  },
  {
    name: 'MANIFEST last edit: byte flipped is a torn tail, ignored',
    file: () => mft().file,
    damage: xor(() => lastManifestRecord().offset + recordHeaderBytes + 2),
    outcome: () => ({ kind: 'manifestTornTail' }),
  },
  {
    name: 'MANIFEST last edit: unknown tag with a valid CRC is corruption, not a torn tail',
    file: () => mft().file,
    damage: rewriteChecksummed(lastManifestRecord, 0, 0x7f),
    outcome: manifestCorruptionAt(() => lastManifestRecord().offset + recordHeaderBytes),
  },

  // CURRENT: "MANIFEST-NNNNNN\n".
  {
    name: 'CURRENT: garbage content (first byte flipped)',
    file: () => currentFileName,
    damage: xor(() => 0, 0x20),
    outcome: () => ({ kind: 'openFails', error: corruption(currentFileName, 0) }),
  },
  {
    name: 'CURRENT: newline flipped',
    file: () => currentFileName,
    damage: xor(() => layout.current.bytes.length - 1, 0x40),
    outcome: () => ({ kind: 'openFails', error: corruption(currentFileName, layout.current.bytes.length) }),
  },
  {
    name: 'CURRENT: points at a missing manifest (last digit flipped)',
    file: () => currentFileName,
    damage: xor(() => layout.current.bytes.length - 2, 0x01),
    outcome: () => ({ kind: 'openFails', error: corruption(missingManifestName(), 0) }),
  },
];

/** The manifest name CURRENT holds after its last digit is flipped (no such file exists). */
function missingManifestName(): string {
  const name = layout.current.bytes.toString('latin1').trimEnd();
  const flipped = name.slice(0, -1) + String.fromCharCode(name.charCodeAt(name.length - 1) ^ 0x01);
  expect(fs.existsSync(path.join(pristine, flipped))).toBe(false);
  return flipped;
}

// ---------------------------------------------------------------------------
// Running a case

function copyPristine(base?: 'two-wals'): string {
  const dir = path.join(scratch, `case-${copies++}`);
  fs.cpSync(base === 'two-wals' ? pristineTwoWals : pristine, dir, { recursive: true });
  return dir;
}

function openOptions(readOnly: boolean): EngineOptions {
  return readOnly ? { readOnly: true } : { backgroundExecutor: 'inline' };
}

function relativeFile(dir: string, file: string): string {
  return path.relative(dir, path.resolve(dir, file)).split(path.sep).join('/');
}

function snapshotTree(dir: string): Map<string, string> {
  const tree = new Map<string, string>();
  const walk = (relative: string): void => {
    for (const name of fs.readdirSync(path.join(dir, relative))) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const full = path.join(dir, child);
      if (fs.statSync(full).isDirectory()) {
        tree.set(`${child}/`, '');
        walk(child);
      } else {
        tree.set(child, createHash('sha256').update(fs.readFileSync(full)).digest('hex'));
      }
    }
  };
  walk('');
  return tree;
}

function expectError(dir: string, error: unknown, expected: ExpectedError, what: string): void {
  expect(error, `${what} must throw`).toBeInstanceOf(expected.errorClass);
  expect(error).toBeInstanceOf(KvError);
  const named = error as CorruptionError | UnsupportedVersionError;
  expect(relativeFile(dir, named.file), `${what}: file`).toBe(expected.file);
  if (expected.offset !== undefined) expect((named as CorruptionError).offset, `${what}: offset (${(error as Error).message})`).toBe(expected.offset);
}

async function scan(engine: LsmEngine, reverse: boolean): Promise<[string, string][]> {
  const entries: [string, string][] = [];
  const iterator = engine.iterator({ reverse });
  try {
    for await (const [key, value] of iterator) entries.push([key.toString('hex'), value.toString('hex')]);
  } finally {
    await iterator.close();
  }
  return entries;
}

async function caught(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function expectState(engine: LsmEngine, state: [string, string][]): Promise<void> {
  expect(await scan(engine, false)).toEqual(state);
  expect(await scan(engine, true)).toEqual([...state].reverse());
  const present = new Set(state.map(([key]) => key));
  for (const [key, value] of state) expect(engine.get(Buffer.from(key, 'hex'))?.toString('hex'), key).toBe(value);
  for (const op of allBatches.flat()) {
    const key = op.key.toString('hex');
    if (!present.has(key)) expect(engine.get(op.key), key).toBeUndefined();
  }
}

async function runCase(testCase: Case, readOnly: boolean): Promise<void> {
  const dir = copyPristine(testCase.base);
  const target = path.join(dir, testCase.file());
  const bytes = fs.readFileSync(target);
  const damaged = testCase.damage(bytes) ?? bytes;
  fs.writeFileSync(target, damaged);
  const before = snapshotTree(dir);
  const outcome = testCase.outcome();

  if (outcome.kind === 'openFails') {
    const error = await caught(async () => (await LsmEngine.open(dir, openOptions(readOnly))).close());
    expectError(dir, error, outcome.error, 'open');
  } else {
    const engine = await LsmEngine.open(dir, openOptions(readOnly));
    try {
      await checkOpened(dir, engine, outcome, readOnly);
    } finally {
      await engine.close();
    }
  }
  if (readOnly) expect(snapshotTree(dir), 'a read-only open changes nothing').toEqual(before);
}

async function checkOpened(dir: string, engine: LsmEngine, outcome: Exclude<Outcome, { kind: 'openFails' }>, readOnly: boolean): Promise<void> {
  switch (outcome.kind) {
    case 'readsFail': {
      expect(outcome.keys.length).toBeGreaterThan(0);
      const failing = new Set(outcome.keys);
      for (const key of outcome.keys) expectError(dir, await caught(() => engine.get(Buffer.from(key, 'hex'))), outcome.error, `get(${key})`);
      // Never wrong data: every key outside the damage reads exactly what was written.
      for (const [key, value] of fullState) {
        if (!failing.has(key)) expect(engine.get(Buffer.from(key, 'hex'))?.toString('hex'), key).toBe(value);
      }
      expectError(dir, await caught(() => scan(engine, false)), outcome.error, 'a forward scan');
      expectError(dir, await caught(() => scan(engine, true)), outcome.error, 'a reverse scan');
      return;
    }
    case 'walTornTail': {
      const { walBytesTruncated, walTruncatedFile } = engine.recovery;
      if (readOnly) {
        expect({ walBytesTruncated, walTruncatedFile }).toEqual({ walBytesTruncated: 0, walTruncatedFile: undefined });
      } else {
        expect({ walBytesTruncated, walTruncatedFile: walTruncatedFile && relativeFile(dir, walTruncatedFile) }).toEqual({ walBytesTruncated: outcome.bytes, walTruncatedFile: wal().file });
        expect(fs.statSync(path.join(dir, wal().file)).size).toBe(lastWalRecord().offset);
      }
      await expectState(engine, stateWithoutLastBatch);
      return;
    }
    case 'manifestTornTail':
      expect(engine.recovery.walBytesTruncated).toBe(0);
      await expectState(engine, fullState);
      return;
    case 'filterIgnored':
      await expectState(engine, fullState);
      return;
  }
}

describe('corruption: one named case per region of each file kind', () => {
  test('the pristine directory opens to the full state in both modes', async () => {
    for (const readOnly of [false, true]) {
      const dir = copyPristine();
      const engine = await LsmEngine.open(dir, openOptions(readOnly));
      try {
        expect(engine.recovery.walBytesTruncated).toBe(0);
        await expectState(engine, fullState);
      } finally {
        await engine.close();
      }
    }
  });

  describe.each([
    ['read-write', false],
    ['read-only', true],
  ] as const)('%s open', (_mode, readOnly) => {
    test.each(cases.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
      await runCase(testCase, readOnly);
    });
  });

  test('a torn WAL tail cut by a read-write open stays cut: the next open is clean', async () => {
    const dir = copyPristine();
    const file = path.join(dir, wal().file);
    const bytes = fs.readFileSync(file);
    bytes[lastWalRecord().offset + recordHeaderBytes + 2]! ^= 0xff;
    fs.writeFileSync(file, bytes);
    const first = await LsmEngine.open(dir, openOptions(false));
    expect(first.recovery.walBytesTruncated).toBe(wal().fileBytes - lastWalRecord().offset);
    await first.close();
    const second = await LsmEngine.open(dir, openOptions(false));
    try {
      expect(second.recovery.walBytesTruncated).toBe(0);
      await expectState(second, stateWithoutLastBatch);
    } finally {
      await second.close();
    }
  });
});

// A missing segment is a CorruptionError naming it; a missing WAL file must be
// too. The manifest's log number names the oldest WAL file still needed: when
// it is gone, replaying the rest would serve values older than what was
// acknowledged (here a-key and b-key values overwritten in that file come
// back) and drop its new keys.
describe('a live WAL file is missing', () => {
  // Regression: the open used to succeed and serve the stale state.
  test.each([
    ['read-write', false],
    ['read-only', true],
  ] as const)('the oldest live WAL file deleted: %s open throws CorruptionError naming it', async (_mode, readOnly) => {
    const dir = copyPristine('two-wals');
    fs.rmSync(path.join(dir, wal().file));
    const error = await caught(async () => (await LsmEngine.open(dir, openOptions(readOnly))).close());
    expectError(dir, error, corruption(wal().file, 0), 'open');
  });
});

// A crash between creating a WAL file and syncing its header record
// (WalWriter.create) leaves the newest WAL file empty or holding a torn
// header: a torn tail, which the reader accepts in the newest file. The open
// that recovers then starts its own WAL file, so the damaged one is no longer
// the newest, yet it stays in the live set (numbered >= the log number): the
// restart after that must still open.
describe('a crash right after a WAL file was created', () => {
  const variants = [
    ['the newest WAL file is empty', 0],
    ['the newest WAL file holds half its header record', 12],
  ] as const;

  /** The pristine directory after a second session that wrote nothing: its WAL file holds only the header. */
  async function crashedDirectory(keepBytes: number): Promise<{ dir: string; file: string }> {
    const dir = copyPristine();
    const engine = await LsmEngine.open(dir, openOptions(false));
    await engine.close();
    const names = fs.readdirSync(path.join(dir, walDirName)).filter((name) => parseFileName(name)?.kind === 'wal');
    const file = `${walDirName}/${names.sort().at(-1)!}`;
    expect(file).not.toBe(wal().file);
    expect(fs.statSync(path.join(dir, file)).size).toBe(layout.wal.records[0]!.bytes);
    fs.truncateSync(path.join(dir, file), keepBytes);
    return { dir, file };
  }

  test.each(variants)('%s: a read-only open yields the full state and changes nothing', async (_name, keepBytes) => {
    const { dir } = await crashedDirectory(keepBytes);
    const before = snapshotTree(dir);
    const engine = await LsmEngine.open(dir, openOptions(true));
    try {
      await expectState(engine, fullState);
    } finally {
      await engine.close();
    }
    expect(snapshotTree(dir)).toEqual(before);
  });

  test.each(variants)('%s: the recovering open yields the full state', async (_name, keepBytes) => {
    const { dir, file } = await crashedDirectory(keepBytes);
    const engine = await LsmEngine.open(dir, openOptions(false));
    try {
      expect(engine.recovery.walBytesTruncated).toBe(keepBytes);
      if (keepBytes > 0) expect(relativeFile(dir, engine.recovery.walTruncatedFile!)).toBe(file);
      await expectState(engine, fullState);
    } finally {
      await engine.close();
    }
  });

  // Regression: the second open used to throw CorruptionError for the damaged
  // file ("the file is empty: no header record (not the newest WAL file, so it
  // cannot be a torn tail)"); the recovering open now removes a WAL file it cut
  // to nothing.
  test.each(variants)('%s: after the recovering open, the next open still works', async (_name, keepBytes) => {
    const { dir } = await crashedDirectory(keepBytes);
    const first = await LsmEngine.open(dir, openOptions(false));
    await first.close();
    const second = await LsmEngine.open(dir, openOptions(false));
    try {
      expect(second.recovery.walBytesTruncated).toBe(0);
      await expectState(second, fullState);
    } finally {
      await second.close();
    }
  });
});

// A segment that cannot be opened (damaged, or a transient EMFILE/EIO) makes
// engine.iterator() fail. The failure must not pin the version the iterator
// was about to read: a pinned version keeps its segments on disk after a
// compaction has replaced them, until the next restart. Level-0 segments are
// opened while the iterator is built, so the failure comes from iterator()
// itself. Runs on MemFileSystem, whose fault injection makes the open fail once.
describe('an iterator whose level-0 segment cannot be opened', () => {
  async function twoLevel0Segments(): Promise<{ fs: MemFileSystem; engine: LsmEngine }> {
    const memFs = new MemFileSystem();
    // No block cache prepopulation: on MemFileSystem it would open each reader at its flush, and the
    // iterator must be the first to open them.
    const engine = await LsmEngine.open('/db', { fs: memFs, disableAutoCompaction: true, prepopulateBlockCache: false });
    for (const key of ['a', 'b']) {
      await engine.write(toBatch([put(key, `${key}-value`)]));
      await engine.flush();
    }
    expect(engine.stats().levels[0]!.segments).toBe(2);
    return { fs: memFs, engine };
  }

  const liveSegments = (memFs: MemFileSystem): string[] => memFs.list('/db/seg');

  test('control: a compaction deletes the segments it replaced', async () => {
    const { fs: memFs, engine } = await twoLevel0Segments();
    try {
      await engine.compactRange();
      expect(liveSegments(memFs)).toHaveLength(1);
    } finally {
      await engine.close();
    }
  });

  // Regression: LsmEngine.iteratorSync took a reference on the version before
  // opening the level-0 readers and did not release it when an open threw, so
  // the two replaced segments stayed on disk until restart.
  test('the failed iterator() does not keep replaced segments on disk', async () => {
    const { fs: memFs, engine } = await twoLevel0Segments();
    try {
      memFs.injectFault((operation, file) => (operation === 'open' && file.endsWith('.sst') ? systemError('EMFILE', operation, file) : undefined));
      expect(() => engine.iterator()).toThrow(/EMFILE/);
      memFs.injectFault(undefined);
      await engine.compactRange();
      expect(engine.stats().levels.reduce((sum, level) => sum + level.segments, 0)).toBe(1);
      await new Promise((resolve) => setImmediate(resolve)); // obsolete files are removed in the background
      expect(liveSegments(memFs)).toHaveLength(1);
    } finally {
      await engine.close();
    }
  });
});
