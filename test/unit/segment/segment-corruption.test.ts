// Corruption: one flipped byte in each named region of a segment file. The
// reader must throw CorruptionError naming the file and the damaged part's
// offset (UnsupportedVersionError for the version field), never return wrong
// data; checkSegment must list a problem at that offset. As in LevelDB's
// db/corruption_test.cc, one named case per region, on both file systems.

import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CorruptionError, UnsupportedVersionError } from '../../../lib/errors.js';
import { readBlock, decodeBlockHandle, encodeBlockTrailer } from '../../../lib/segment/block-io.js';
import { BlockIterator } from '../../../lib/segment/block-reader.js';
import { checkSegment } from '../../../lib/segment/segment-checker.js';
import { blockRawBytesMax, CompressionType, FooterField, footerBytes, type BlockHandle } from '../../../lib/segment/segment-format.js';
import { decodeProperties, encodeProperties } from '../../../lib/segment/segment-properties.js';
import { SegmentReader } from '../../../lib/segment/segment-reader.js';
import { sequenceMax, sequenceOf, userKeyOf } from '../../../lib/format/internal-key.js';
import { BlockCache } from '../../../lib/segment/block-cache.js';
import type { FileSystem } from '../../../lib/fs/file-system.js';
import { buildEntries, type Entry, fileSystemKinds, type TestFileSystem, writeSegment } from './segment-test-support.js';

const entries: Entry[] = buildEntries(
  Array.from({ length: 400 }, (_, index) => ({
    userKey: Buffer.from(`user:${String(index).padStart(5, '0')}`),
    sequence: 100 + index,
    type: index % 9 === 0 ? 0 : 1,
    valueBytes: 40 + (index % 60),
    valueSeed: 2 * index,
  })),
);

/** Where each named region of the healthy file lies. */
interface Layout {
  firstDataBlock: BlockHandle;
  secondDataBlock: BlockHandle;
  index: BlockHandle;
  filter: BlockHandle;
  properties: BlockHandle;
  fileBytes: number;
}

function layoutOf(fileSystem: FileSystem, file: string): Layout {
  const reader = SegmentReader.open(fileSystem, file, { fileNumber: 1 });
  const index = reader.indexIterator();
  const handles: BlockHandle[] = [];
  const varint = { value: 0, offset: 0 };
  for (index.seekToFirst(); index.valid() && handles.length < 2; index.next()) {
    const handle = { offset: 0, size: 0 };
    decodeBlockHandle(index.value(), 0, index.value().length, handle, varint);
    handles.push(handle);
  }
  const { footer, fileBytes } = reader;
  reader.close();
  return { firstDataBlock: handles[0]!, secondDataBlock: handles[1]!, index: footer.index, filter: footer.filter, properties: footer.properties, fileBytes };
}

/** A copy of `source` at `target` with the byte at `offset` xor 0x5a. */
function copyWithFlip(fileSystem: FileSystem, source: string, target: string, offset: number): void {
  const bytes = fileSystem.readFile(source);
  bytes[offset]! ^= 0x5a;
  fileSystem.writeFileSync(target, bytes);
}

/** Reads everything a reader can: every get and a full scan both ways. Throws on the first damage. */
function readEverything(reader: SegmentReader): void {
  for (const entry of entries) {
    const found = reader.get(userKeyOf(entry.key), sequenceOf(entry.key));
    // Never wrong data: whatever is returned is exactly what was written.
    expect(found?.value.equals(entry.value)).toBe(true);
  }
  const iterator = reader.iterator();
  let index = 0;
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) {
    expect(iterator.key().equals(entries[index]!.key)).toBe(true);
    expect(iterator.value().equals(entries[index++]!.value)).toBe(true);
  }
  for (iterator.seekToLast(); iterator.valid(); iterator.prev()) index--;
}

function expectCorruptionAt(run: () => void, file: string, offset: number): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CorruptionError);
  expect((caught as CorruptionError).file).toBe(file);
  expect((caught as CorruptionError).offset).toBe(offset);
  expect((caught as CorruptionError).code).toBe('CORRUPTION');
}

/**
 * Each named region: the byte to flip, and the offset the error and the checker must name. A damaged
 * filter block (`filter`) is no error to a reader: it reads without it, and says why (filterDamage).
 */
const regions: { name: string; flip: (layout: Layout) => number; reported: (layout: Layout) => number; atOpen: boolean; filter?: true }[] = [
  { name: 'the first data block', flip: (l) => l.firstDataBlock.offset + 3, reported: (l) => l.firstDataBlock.offset, atOpen: false },
  { name: 'the last byte of the second data block', flip: (l) => l.secondDataBlock.offset + l.secondDataBlock.size - 1, reported: (l) => l.secondDataBlock.offset, atOpen: false },
  { name: "a data block's compression type byte", flip: (l) => l.firstDataBlock.offset + l.firstDataBlock.size, reported: (l) => l.firstDataBlock.offset, atOpen: false },
  { name: "a data block's CRC", flip: (l) => l.firstDataBlock.offset + l.firstDataBlock.size + 2, reported: (l) => l.firstDataBlock.offset, atOpen: false },
  { name: 'the index block', flip: (l) => l.index.offset + 1, reported: (l) => l.index.offset, atOpen: true },
  { name: "the index block's CRC", flip: (l) => l.index.offset + l.index.size + 4, reported: (l) => l.index.offset, atOpen: true },
  { name: 'the filter block', flip: (l) => l.filter.offset + 2, reported: (l) => l.filter.offset, atOpen: true, filter: true },
  { name: "the filter block's probe count", flip: (l) => l.filter.offset + l.filter.size - 1, reported: (l) => l.filter.offset, atOpen: true, filter: true },
  { name: 'the properties block', flip: (l) => l.properties.offset + 1, reported: (l) => l.properties.offset, atOpen: true },
  { name: 'the footer block handles', flip: (l) => l.fileBytes - footerBytes + FooterField.indexSize, reported: (l) => l.fileBytes - footerBytes, atOpen: true },
  { name: "the footer's checksum", flip: (l) => l.fileBytes - footerBytes + FooterField.checksum, reported: (l) => l.fileBytes - footerBytes, atOpen: true },
  { name: 'the footer magic', flip: (l) => l.fileBytes - 3, reported: (l) => l.fileBytes - footerBytes + FooterField.magic, atOpen: true },
];

describe.each(fileSystemKinds)('segment corruption on $name', (kind) => {
  let testFs: TestFileSystem;
  let healthy: string;
  let layout: Layout;

  beforeAll(() => {
    testFs = kind.make();
    healthy = `${testFs.dir}/000001.sst`;
    writeSegment(testFs.fs, healthy, entries, { blockBytes: 1024, compression: 'lz4' });
    layout = layoutOf(testFs.fs, healthy);
  });
  afterAll(() => testFs.cleanup());

  test('the healthy file reads back whole and checks clean', () => {
    const reader = SegmentReader.open(testFs.fs, healthy, { fileNumber: 1 });
    readEverything(reader);
    reader.close();
    expect(checkSegment(testFs.fs, healthy, 1)).toEqual([]);
  });

  test('data blocks are LZ4-compressed in this file', () => {
    const bytes = testFs.fs.readFile(healthy);
    expect(bytes[layout.firstDataBlock.offset + layout.firstDataBlock.size]).toBe(CompressionType.lz4);
  });

  test.each(regions)('a flipped byte in $name is a CorruptionError naming the file and offset (the filter: read without it)', (region) => {
    const damaged = `${testFs.dir}/flip-${regions.indexOf(region)}.sst`;
    if (!testFs.fs.exists(damaged)) copyWithFlip(testFs.fs, healthy, damaged, region.flip(layout));
    const expectedOffset = region.reported(layout);
    if (region.filter === true) {
      const reader = SegmentReader.open(testFs.fs, damaged, { fileNumber: 2 });
      expect(reader.filterDamage).toContain(`"${damaged}" at offset ${expectedOffset}`);
      readEverything(reader);
      reader.close();
    } else if (region.atOpen) {
      expectCorruptionAt(() => SegmentReader.open(testFs.fs, damaged, { fileNumber: 2 }), damaged, expectedOffset);
    } else {
      const reader = SegmentReader.open(testFs.fs, damaged, { fileNumber: 2 });
      expectCorruptionAt(() => readEverything(reader), damaged, expectedOffset);
      reader.close();
    }
  });

  test.each(regions)('checkSegment finds a flipped byte in $name', (region) => {
    const damaged = `${testFs.dir}/check-${regions.indexOf(region)}.sst`;
    copyWithFlip(testFs.fs, healthy, damaged, region.flip(layout));
    const problems = checkSegment(testFs.fs, damaged, 3);
    expect(problems.map((problem) => problem.offset)).toContain(region.reported(layout));
    for (const problem of problems) expect(problem.message).toMatch(/^Cannot /);
  });

  test('a flipped byte in the footer version is an UnsupportedVersionError', () => {
    const damaged = `${testFs.dir}/version.sst`;
    const versionOffset = layout.fileBytes - footerBytes + FooterField.formatVersion;
    copyWithFlip(testFs.fs, healthy, damaged, versionOffset);
    let caught: unknown;
    try {
      SegmentReader.open(testFs.fs, damaged, { fileNumber: 2 });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UnsupportedVersionError);
    expect((caught as UnsupportedVersionError).file).toBe(damaged);
    expect((caught as UnsupportedVersionError).message).toMatch(/format version 91 is not supported \(this build reads 1\)/);
    const problems = checkSegment(testFs.fs, damaged, 2);
    expect(problems.map((problem) => problem.offset)).toEqual([versionOffset]);
  });

  test('a file shorter than the footer is a CorruptionError at offset 0', () => {
    const damaged = `${testFs.dir}/short.sst`;
    testFs.fs.writeFileSync(damaged, Buffer.alloc(20));
    expectCorruptionAt(() => SegmentReader.open(testFs.fs, damaged, { fileNumber: 2 }), damaged, 0);
    expect(checkSegment(testFs.fs, damaged, 2).map((problem) => problem.offset)).toEqual([0]);
  });

  test('a truncated file fails the magic check', () => {
    const damaged = `${testFs.dir}/truncated.sst`;
    testFs.fs.writeFileSync(damaged, testFs.fs.readFile(healthy).subarray(0, layout.fileBytes - 100));
    expectCorruptionAt(() => SegmentReader.open(testFs.fs, damaged, { fileNumber: 2 }), damaged, layout.fileBytes - 100 - footerBytes + FooterField.magic);
  });

  test('checkSegment reports properties that disagree with the data blocks (checksum intact)', () => {
    const damaged = `${testFs.dir}/lying-properties.sst`;
    const bytes = testFs.fs.readFile(healthy);
    const { offset, size } = layout.properties;
    const stored = decodeProperties(bytes.subarray(offset, offset + size), healthy, offset);
    const lying = encodeProperties({ ...stored, tombstoneCount: stored.tombstoneCount + 1 });
    expect(lying.length).toBe(size);
    lying.copy(bytes, offset);
    encodeBlockTrailer(lying, CompressionType.none).copy(bytes, offset + size);
    testFs.fs.writeFileSync(damaged, bytes);
    const problems = checkSegment(testFs.fs, damaged, 4);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.offset).toBe(offset);
    expect(problems[0]!.message).toMatch(/tombstoneCount/);
  });

  test('checkSegment reports a damaged data block once, without knock-on property problems', () => {
    const damaged = `${testFs.dir}/one-problem.sst`;
    copyWithFlip(testFs.fs, healthy, damaged, layout.secondDataBlock.offset + 1);
    const problems = checkSegment(testFs.fs, damaged, 5);
    expect(problems).toHaveLength(1);
    const prefix = `Cannot read segment data block in "${damaged}" at offset ${layout.secondDataBlock.offset}: `;
    expect(problems[0]!.message.startsWith(prefix)).toBe(true);
    expect(problems[0]!.message.slice(prefix.length)).toMatch(/^checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)$/);
  });

  test('checkSegment reports a numbered file name that does not match its file number', () => {
    const problems = checkSegment(testFs.fs, healthy, 7);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/file number 7/);
  });

  test('without checksum verification a damaged compressed block still never yields wrong data silently', () => {
    const damaged = `${testFs.dir}/unverified.sst`;
    copyWithFlip(testFs.fs, healthy, damaged, layout.firstDataBlock.offset + layout.firstDataBlock.size + 2);
    const reader = SegmentReader.open(testFs.fs, damaged, { fileNumber: 2, verifyChecksums: false });
    readEverything(reader); // only the CRC was damaged: the data itself is intact
    reader.close();
  });

  test.each([
    { name: 'far too large', rawLength: () => 0xffff_fff0 },
    { name: 'one byte short', rawLength: (actual: number) => actual - 1 },
  ])('without checksum verification, LZ4 data whose declared length is $name is a CorruptionError, read into scratch memory or cached', ({ rawLength }) => {
    const damaged = `${testFs.dir}/raw-length-${rawLength(1000)}.sst`;
    const bytes = testFs.fs.readFile(healthy);
    // The stored form is [u32 LE raw length][LZ4 block]: change the length, keep the block.
    bytes.writeUInt32LE(rawLength(bytes.readUInt32LE(layout.firstDataBlock.offset)) >>> 0, layout.firstDataBlock.offset);
    testFs.fs.writeFileSync(damaged, bytes);
    const cache = new BlockCache(1024 * 1024);
    const reader = SegmentReader.open(testFs.fs, damaged, { fileNumber: 2, verifyChecksums: false, cache });
    const first = userKeyOf(entries[0]!.key);
    // A first miss decodes into scratch memory (readBlockScratch), the second reads the block to cache it (readBlock).
    expectCorruptionAt(() => reader.get(first, sequenceMax), damaged, layout.firstDataBlock.offset);
    expectCorruptionAt(() => reader.get(first, sequenceMax), damaged, layout.firstDataBlock.offset);
    expect(cache.stats()).toMatchObject({ misses: 2, entries: 0 });
    reader.close();
  });

  test('readBlock names the block offset when a handle runs past its limit', () => {
    const file = testFs.fs.open(healthy, 'read');
    expectCorruptionAt(
      () => readBlock(file, healthy, { offset: layout.index.offset, size: layout.fileBytes }, layout.fileBytes, { verifyChecksum: true, rawBytesMax: blockRawBytesMax }),
      healthy,
      layout.index.offset,
    );
    file.close();
    expect(new BlockIterator().valid()).toBe(false);
  });
});
