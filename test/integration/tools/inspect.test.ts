// `silt inspect` shows what the fixtures hold: levels and segments with
// their ranges and counts, one segment's blocks (the flipped-bit fixture's
// damaged block among them), one WAL file's records, and every version of a
// key across segments and WAL files, newest first. It never writes.

import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { inspect, type DirectoryView, type EngineKeyView, type SegmentView, type WalView } from '../../../tools/inspect.js';
import { captureIo, copyFixture, hashTree, hex, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;
let healthy: string;

beforeAll(() => {
  scratch = makeScratch('inspect');
  healthy = copyFixture(scratch, 'healthy');
});

afterAll(() => {
  removeScratch(scratch);
});

describe('silt inspect', () => {
  test('the directory view lists levels, segments, WAL files and the manifest', async () => {
    const before = hashTree(healthy);
    const { io, stdout } = captureIo();
    const result = await inspect({ dir: healthy, json: true }, io);
    expect(result.exitCode).toBe(0);
    const view = result.report as DirectoryView;
    expect(view.manifest).toEqual({ name: 'MANIFEST-000011', formatVersion: 1, edits: 1, bytes: 125, logNumber: 9, nextFileNumber: 13, lastSequence: 69 });
    expect(view.levels[0]!.segments).toMatchObject([
      { file: 'seg/000010.sst', level: 0, bytes: 330, entries: 13, tombstones: 3, smallestKey: hex('empty'), largestKey: hex('key:053'), smallestSequence: 49, largestSequence: 61, dataBlocks: 1, bloomBitsPerKey: 10 },
    ]);
    expect(view.levels[1]!.segments).toMatchObject([{ file: 'seg/000005.sst', level: 1, bytes: 824, entries: 48, tombstones: 0, dataBlocks: 2, smallestSequence: 1, largestSequence: 48 }]);
    expect(view.levels[1]!.segments[0]!.compressionRatio).toBeGreaterThan(1);
    expect(view.unlistedSegments).toEqual([]);
    expect(view.wal).toMatchObject([
      { file: 'wal/000009.log', records: 3, ops: 8, firstSequence: 62, lastSequence: 69, state: 'clean' },
      { file: 'wal/000012.log', records: 3, ops: 9, firstSequence: 70, lastSequence: 78, firstTimeMs: Date.UTC(2024, 0, 2, 3, 4, 18), state: 'clean' },
    ]);
    expect(view.archive.files).toEqual([]);
    expect(JSON.parse(stdout.text)).toEqual(JSON.parse(JSON.stringify(view)));

    const human = captureIo();
    await inspect({ dir: healthy }, human.io);
    expect(human.stdout.text).toContain('Level 1: 1 segment, 824 B');
    expect(human.stdout.text).toContain('seg/000010.sst  330 B  13 entries (3 tombstones)  keys "empty" .. "key:053"  seq 49..61');
    expect(human.stdout.text).toContain('wal/000012.log  246 B  3 records (9 ops)  seq 70..78, 2024-01-02T03:04:18.000Z .. 2024-01-02T03:04:20.000Z');
    expect(hashTree(healthy)).toEqual(before);
  });

  test('--segment lists blocks with offsets, sizes and key ranges, and marks the damaged one', async () => {
    const dir = copyFixture(scratch, 'flipped-bit');
    const { io, stdout } = captureIo();
    const result = await inspect({ dir, segment: '000005.sst', json: true }, io);
    expect(result.exitCode).toBe(0);
    const view = result.report as SegmentView;
    expect(view.file).toBe('seg/000005.sst');
    expect(view.blocks).toHaveLength(2);
    expect(view.blocks[0]).toMatchObject({ index: 0, offset: 0, storedBytes: 411, entries: null });
    expect(view.blocks[0]!.problem).toContain('checksum mismatch');
    expect(view.blocks[1]).toMatchObject({ index: 1, offset: 416, compression: 'lz4', entries: 10, firstKey: hex('key:038'), lastKey: hex('key:047'), problem: null });
    expect(view.properties).toMatchObject({ entryCount: 48, dataBlockCount: 2 });
    expect(JSON.parse(stdout.text).view).toBe('segment');
    const human = captureIo();
    await inspect({ dir, segment: path.join(dir, 'seg/000005.sst') }, human.io);
    expect(human.stdout.text).toContain('DAMAGED: Cannot read segment data block');
    expect(human.stdout.text).toContain('"key:038" .. "key:047"');
  });

  test('--wal lists each record: offset, size, sequence, time, ops and keys', async () => {
    const { io } = captureIo();
    const result = await inspect({ dir: healthy, wal: '000012.log', json: true }, io);
    const view = result.report as WalView;
    expect(view).toMatchObject({ file: 'wal/000012.log', formatVersion: 2, fileNumber: 12, state: 'clean', damage: null });
    expect(view.records.map((record) => [record.offset, record.bytes, record.sequence, record.ops.length])).toEqual([
      [25, 66, 70, 2],
      [91, 63, 72, 3],
      [154, 92, 75, 4],
    ]);
    expect(view.records[1]!.ops).toEqual([
      { type: 'del', key: hex('key:002'), valueBytes: 0 },
      { type: 'put', key: hex('key:062'), valueBytes: 10 },
      { type: 'put', key: '00ff0a80', valueBytes: 1 },
    ]);
    const human = captureIo();
    await inspect({ dir: healthy, wal: 'wal/000012.log' }, human.io);
    expect(human.stdout.text).toContain('offset 91 (63 B)  seq 72  2024-01-02T03:04:19.000Z  3 ops: del "key:002", put "key:062", put 0x00ff0a80');
  });

  test('--wal and the listing show the zeros a killed writer preallocated, as such and not as damage', async () => {
    const dir = copyFixture(scratch, 'preallocated-wal-tail');
    const result = await inspect({ dir, wal: '000012.log', json: true }, captureIo().io);
    const view = result.report as WalView;
    expect(view).toMatchObject({ formatVersion: 2, state: 'clean', damage: null, preallocatedBytes: 3941, bytes: 246 + 3941 });
    expect(view.records.map((record) => record.offset)).toEqual([25, 91, 154]);
    const human = captureIo();
    await inspect({ dir, wal: '000012.log' }, human.io);
    expect(human.stdout.text).toContain('of zeros the writer preallocated (not damage)');
    const listing = captureIo();
    await inspect({ dir }, listing.io);
    expect(listing.stdout.text).toMatch(/wal\/000012\.log .* preallocated\) {2}3 records/);
    expect(listing.stdout.text).not.toContain('torn');
  });

  test('--wal on a damaged file shows the records before the damage and where it is', async () => {
    const dir = copyFixture(scratch, 'wal-mid-corruption');
    const result = await inspect({ dir, wal: '000012.log', json: true }, captureIo().io);
    const view = result.report as WalView;
    expect(view.records.map((record) => record.offset)).toEqual([25]);
    expect(view).toMatchObject({ state: 'damaged', damage: { offset: 91, bytes: 155 } });
  });

  test('--engine-key finds every version of an engine key in segments and WAL files, newest first', async () => {
    const result = await inspect({ dir: healthy, engineKey: 'key:011', json: true }, captureIo().io);
    const view = result.report as EngineKeyView;
    expect(view.view).toBe('engine-key');
    expect(view.versions.map((version) => [version.type, version.where.split(' ')[0]])).toEqual([
      ['put', 'wal/000009.log'],
      ['put', 'seg/000010.sst'],
      ['put', 'seg/000005.sst'],
    ]);
    expect(view.versions.map((version) => version.sequence)).toEqual([...view.versions.map((version) => version.sequence)].sort((a, b) => b - a));
    expect(view.versions[1]!.where).toBe('seg/000010.sst (level 0)');

    const binary = await inspect({ dir: healthy, engineKey: '00ff0a80', hex: true, json: true }, captureIo().io);
    expect((binary.report as EngineKeyView).versions.map((version) => [version.type, version.valueBytes, version.where.split(' ')[0]])).toEqual([
      ['put', 1, 'wal/000012.log'],
      ['put', 4, 'wal/000009.log'],
    ]);
    const deleted = captureIo();
    const deletedResult = await inspect({ dir: healthy, engineKey: 'key:012' }, deleted.io);
    expect((deletedResult.report as EngineKeyView).versions[0]!.type).toBe('del');
    expect(deleted.stdout.text).toMatch(/^Engine key "key:012": \d+ versions in 2 segments and 2 WAL files searched, newest first\n {2}seq \d+ {2}delete {2}/);
  });

  test('the archive view names each break (a removed file) and the span that replays without one', async () => {
    const dir = path.join(scratch, 'archive-gap');
    const engine = await LsmEngine.open(dir, { memtableBytes: 4096, walArchive: { ageMs: 0, bytesMax: 0 } });
    for (let round = 0; round < 4; round++) {
      for (let index = 0; index < 10; index++) await engine.write(new WriteBatch().put(Buffer.from(`k${round}-${index}`), Buffer.alloc(200, 1)));
      await engine.flush();
    }
    await engine.close();
    const whole = (await inspect({ dir, json: true }, captureIo().io)).report as DirectoryView;
    const files = whole.archive.files.filter((file) => file.records > 0);
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(whole.archive.breaks).toEqual([]);
    expect(whole.archive.reachable).toEqual({ fromMs: whole.archive.fromMs, toMs: whole.archive.toMs, fromSequence: 1, toSequence: whole.archive.toSequence });
    rmSync(path.join(dir, files[1]!.file));
    const gapped = (await inspect({ dir, json: true }, captureIo().io)).report as DirectoryView;
    expect(gapped.archive.breaks).toEqual([{ kind: 'gap', file: files[2]!.file, missing: { first: files[1]!.firstSequence, last: files[1]!.lastSequence } }]);
    expect(gapped.archive.reachable).toMatchObject({ fromSequence: files[2]!.firstSequence, toSequence: whole.archive.toSequence });
    const human = captureIo();
    await inspect({ dir }, human.io);
    expect(human.stdout.text).toContain(`BREAK: the records of seq ${files[1]!.firstSequence}..${files[1]!.lastSequence} are missing before ${files[2]!.file} (a file was removed)`);
    expect(human.stdout.text).toContain(`Replays without a break: seq ${files[2]!.firstSequence}..${whole.archive.toSequence}`);
  });

  test('a directory without a manifest still shows its segments and WAL files', async () => {
    const dir = copyFixture(scratch, 'lost-manifest');
    const result = await inspect({ dir, json: true }, captureIo().io);
    const view = result.report as DirectoryView;
    expect(view.manifest).toBeNull();
    expect(view.manifestProblem).toContain('CURRENT');
    expect(view.unlistedSegments.map((segment) => segment.file)).toEqual(['seg/000005.sst', 'seg/000010.sst']);
  });

  test('usage errors and a live directory exit 2', async () => {
    const both = captureIo();
    expect((await inspect({ dir: healthy, wal: 'a', segment: 'b' }, both.io)).exitCode).toBe(2);
    const badHex = captureIo();
    expect((await inspect({ dir: healthy, key: 'xyz', hex: true }, badHex.io)).exitCode).toBe(2);
    expect(badHex.stderr.text).toContain('hex');
    const missing = captureIo();
    expect((await inspect({ dir: healthy, segment: '000099.sst' }, missing.io)).exitCode).toBe(2);
    const dir = copyFixture(scratch, 'healthy', '-live');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
    try {
      const live = captureIo();
      expect((await inspect({ dir }, live.io)).exitCode).toBe(2);
      expect(live.stderr.text).toContain('held by a running server');
    } finally {
      await engine.close();
    }
  });
});
