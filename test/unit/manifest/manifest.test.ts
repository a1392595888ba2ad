// ManifestWriter and readManifest together.
//
// Strategy: write manifests on both file systems and read them back; take
// MemFileSystem crash clones after creation, after each append, and at every
// file-system step of a manifest roll (via the fault-injection hook, which
// sees each operation just before it happens); cut and flip bytes at named
// offsets. Invariants: every edit whose append resolved survives a crash;
// CURRENT always names a whole manifest (old or new); a torn tail is ignored
// (and cut when writable); damage anywhere else is a CorruptionError naming
// the file and the offset of the bad record.

import nodeFs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptionError, InvalidArgumentError, IoError, UnsupportedVersionError, WriteStoppedError } from '../../../lib/errors.js';
import { encodeRecord, recordHeaderBytes } from '../../../lib/format/record-framing.js';
import type { FileSystem } from '../../../lib/fs/file-system.js';
import { MemFileSystem, systemError, type FaultOperation } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { writeCurrent } from '../../../lib/manifest/current-file.js';
import { manifestPath } from '../../../lib/format/file-names.js';
import { encodeManifestHeader, ManifestRecordType } from '../../../lib/manifest/manifest-format.js';
import { listManifestEdits, probeDataDirectory, readManifest, readManifestFile, type ManifestState } from '../../../lib/manifest/manifest-reader.js';
import { ManifestWriter } from '../../../lib/manifest/manifest-writer.js';
import { encodeVersionEdit, type VersionEdit } from '../../../lib/manifest/version-edit.js';
import { Version } from '../../../lib/manifest/version.js';
import { describeVersion, edit, segment } from './helpers.js';

const dir = '/db';

function memFs(): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir(dir);
  return fs;
}

/** A small history: flushes into L0, a compaction into L1, a trivial move. */
function history(): VersionEdit[] {
  return [
    edit({ logNumber: 4, nextFileNumber: 6, lastSequence: 100, added: [segment(5, 0, 'a', 'm', { largestSequence: 100 })] }),
    edit({ logNumber: 6, nextFileNumber: 8, lastSequence: 200, added: [segment(7, 0, 'c', 'z', { largestSequence: 200 })] }),
    edit({
      nextFileNumber: 10,
      deleted: [{ level: 0, fileNumber: 5 }, { level: 0, fileNumber: 7 }],
      added: [segment(8, 1, 'a', 'k'), segment(9, 1, 'l', 'z')],
      compactPointers: [{ level: 0, key: segment(1, 0, 'z', 'z').largestKey }],
    }),
    edit({ deleted: [{ level: 1, fileNumber: 9 }], added: [segment(9, 2, 'l', 'z')] }),
    edit({ lastSequence: 250 }),
  ];
}

function applyAll(edits: VersionEdit[], base = Version.empty()): Version {
  return edits.reduce((version, change) => version.apply(change), base);
}

/** A fresh database: MANIFEST-000001 with an empty snapshot. */
function createFresh(fs: FileSystem, where = dir): ManifestWriter {
  return ManifestWriter.create(fs, where, 1, Version.empty().toSnapshotEdit(0, 2, 0));
}

function corruption(run: () => unknown): CorruptionError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptionError);
    const corrupt = error as CorruptionError;
    expect(corrupt.message).toContain(`"${corrupt.file}"`);
    return corrupt;
  }
  throw new Error('expected a CorruptionError');
}

/** Offsets of every record in a manifest file. */
function recordOffsets(fs: FileSystem, file: string): number[] {
  return listManifestEdits(fs, file).entries.map((entry) => entry.offset);
}

function flipByte(fs: MemFileSystem, file: string, offset: number): void {
  const bytes = fs.readFile(file);
  bytes[offset]! ^= 0x10;
  fs.writeFileSync(file, bytes);
}

async function writeHistory(fs: FileSystem, where = dir): Promise<{ writer: ManifestWriter; version: Version }> {
  const writer = createFresh(fs, where);
  for (const change of history()) await writer.append(change);
  return { writer, version: applyAll(history()) };
}

function expectState(state: ManifestState, version: Version, editCount: number): void {
  expect(describeVersion(state.version)).toEqual(describeVersion(version));
  expect(state.editCount).toBe(editCount);
  expect(state.version.checkInvariants()).toEqual([]);
}

describe('manifest round trip', () => {
  const tempDirs: string[] = [];
  afterEach(() => {
    for (const tempDir of tempDirs.splice(0)) nodeFs.rmSync(tempDir, { recursive: true, force: true });
  });

  const systems: [string, () => { fs: FileSystem; where: string }][] = [
    ['MemFileSystem', () => ({ fs: memFs(), where: dir })],
    [
      'NodeFileSystem',
      () => {
        const where = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'silt-manifest-'));
        tempDirs.push(where);
        return { fs: new NodeFileSystem(), where };
      },
    ],
  ];

  for (const [name, make] of systems) {
    it(`reads back every edit on ${name}`, async () => {
      const { fs, where } = make();
      const { writer, version } = await writeHistory(fs, where);
      expect(writer.editCount).toBe(6);
      expect(writer.fileBytes).toBe(fs.stat(manifestPath(where, 1)).size);
      writer.close();
      const state = readManifest(fs, where, { readOnly: true });
      expectState(state, version, 6);
      expect(state).toMatchObject({ manifestName: 'MANIFEST-000001', manifestNumber: 1, formatVersion: 1, logNumber: 6, nextFileNumber: 10, lastSequence: 250 });
      expect(state.fileBytes).toBe(writer.fileBytes);
      expect(state.truncatedTail).toBeUndefined();
      expect(state.version.compactPointers[0]).toEqual(segment(1, 0, 'z', 'z').largestKey);
    });

    it(`rolls to a new manifest and removes the old one on ${name}`, async () => {
      const { fs, where } = make();
      const { writer, version } = await writeHistory(fs, where);
      writer.close();
      const rolled = ManifestWriter.create(fs, where, 10, version.toSnapshotEdit(6, 11, 250), { previousManifestName: writer.manifestName });
      rolled.close();
      expect(fs.exists(manifestPath(where, 1))).toBe(false);
      const state = readManifest(fs, where, { readOnly: true });
      expectState(state, version, 1);
      expect(state).toMatchObject({ manifestName: 'MANIFEST-000010', logNumber: 6, nextFileNumber: 11, lastSequence: 250 });
    });

    it(`appends to a reopened manifest on ${name}`, async () => {
      const { fs, where } = make();
      const { writer, version } = await writeHistory(fs, where);
      writer.close();
      const state = readManifest(fs, where, { readOnly: false });
      const reopened = ManifestWriter.openExisting(fs, where, state);
      const more = edit({ nextFileNumber: 12, added: [segment(11, 0, 'b', 'c', { largestSequence: 260 })], lastSequence: 260 });
      await reopened.append(more);
      reopened.close();
      expectState(readManifest(fs, where, { readOnly: true }), version.apply(more), 7);
    });
  }

  it('keeps concurrent appends in call order', async () => {
    const fs = memFs();
    const writer = createFresh(fs);
    const edits = history().slice(0, 2);
    await Promise.all(edits.map((change) => writer.append(change)));
    writer.close();
    expectState(readManifest(fs, dir, { readOnly: true }), applyAll(edits), 3);
  });
});

describe('manifest writer rules', () => {
  it('refuses to reuse an existing manifest file', () => {
    const fs = memFs();
    createFresh(fs).close();
    expect(() => createFresh(fs)).toThrow(IoError);
    expect(readManifest(fs, dir, { readOnly: true }).manifestName).toBe('MANIFEST-000001');
  });

  it('asserts that a snapshot sets every scalar and that numbers never go back', async () => {
    const fs = memFs();
    expect(() => ManifestWriter.create(fs, dir, 1, edit({ nextFileNumber: 2, lastSequence: 0 }))).toThrow(/sets logNumber/);
    expect(() => ManifestWriter.create(fs, dir, 5, Version.empty().toSnapshotEdit(0, 5, 0))).toThrow(/taken from the counter/);
    const writer = createFresh(fs);
    await writer.append(edit({ logNumber: 3, lastSequence: 10 }));
    await expect(writer.append(edit({ logNumber: 2 }))).rejects.toThrow(/logNumber does not go backwards/);
    await expect(writer.append(edit({ lastSequence: 9 }))).rejects.toThrow(/lastSequence does not go backwards/);
    await expect(writer.append(edit({ nextFileNumber: 1 }))).rejects.toThrow(/nextFileNumber does not go backwards/);
  });

  it('stops after a failed sync, and the edit is either durable or a torn tail', async () => {
    const fs = memFs();
    const writer = createFresh(fs);
    await writer.append(history()[0]!);
    fs.injectFault((operation) => (operation === 'sync' ? systemError('EIO', 'fdatasync', 'MANIFEST-000001') : undefined));
    const failing = writer.append(history()[1]!);
    await expect(failing).rejects.toBeInstanceOf(IoError);
    await expect(failing).rejects.toThrow(/^Cannot sync manifest "MANIFEST-000001": EIO/);
    fs.injectFault(undefined);
    await expect(writer.append(history()[1]!)).rejects.toBeInstanceOf(WriteStoppedError);
    expect(writer.failure).toBeDefined();
    writer.close();
    for (const keepUnsyncedPrefix of [false, true]) {
      const state = readManifest(fs.crashClone({ keepUnsyncedPrefix }), dir, { readOnly: true });
      expect([2, 3]).toContain(state.editCount);
    }
  });

  it('stops after a failed write', async () => {
    const fs = memFs();
    const writer = createFresh(fs);
    fs.injectFault((operation) => (operation === 'append' ? systemError('ENOSPC', 'write', 'MANIFEST-000001') : undefined));
    await expect(writer.append(history()[0]!)).rejects.toThrow(/ENOSPC/);
    fs.injectFault(undefined);
    await expect(writer.append(history()[0]!)).rejects.toBeInstanceOf(WriteStoppedError);
  });

  it('removes a half-created manifest and leaves CURRENT alone when creation fails', async () => {
    const fs = memFs();
    const { writer, version } = await writeHistory(fs);
    writer.close();
    fs.injectFault((operation, file) => (operation === 'sync' && file.endsWith('MANIFEST-000010') ? systemError('EIO', 'fsync', file) : undefined));
    expect(() => ManifestWriter.create(fs, dir, 10, version.toSnapshotEdit(6, 11, 250))).toThrow(/^Cannot create manifest "MANIFEST-000010"/);
    fs.injectFault(undefined);
    expect(fs.exists(manifestPath(dir, 10))).toBe(false);
    expect(readManifest(fs, dir, { readOnly: true }).manifestName).toBe('MANIFEST-000001');
  });
});

describe('manifest crash safety', () => {
  it('keeps every edit whose append resolved, in a crash clone after each step', async () => {
    const fs = memFs();
    const writer = createFresh(fs);
    expectState(readManifest(fs.crashClone(), dir, { readOnly: true }), Version.empty(), 1);
    const edits = history();
    for (let index = 0; index < edits.length; index++) {
      await writer.append(edits[index]!);
      for (const keepUnsyncedPrefix of [false, true]) {
        const state = readManifest(fs.crashClone({ keepUnsyncedPrefix }), dir, { readOnly: false });
        expectState(state, applyAll(edits.slice(0, index + 1)), index + 2);
      }
    }
  });

  it('reads the edits before an append whose sync never returned, or all of them', async () => {
    const edits = history();
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const fs = memFs();
      const writer = createFresh(fs);
      for (const change of edits.slice(0, 3)) await writer.append(change);
      let clone: MemFileSystem | undefined;
      // Keeps from none (seed 0) to all (seed 19) of the unsynced bytes.
      const random = (): number => Math.min(seed / 19, 0.999_999);
      fs.injectFault((operation) => {
        // Crash just before the sync of the fourth append: its bytes are written but not durable.
        if (operation === 'sync' && clone === undefined) clone = fs.crashClone({ keepUnsyncedPrefix: true, random });
        return undefined;
      });
      await writer.append(edits[3]!);
      const state = readManifest(clone!, dir, { readOnly: false });
      const before = applyAll(edits.slice(0, 3));
      outcomes.add(state.editCount === 4 ? (state.truncatedTail === undefined ? 'before' : 'before, torn') : 'after');
      if (state.editCount === 4) {
        expectState(state, before, 4);
        if (state.truncatedTail !== undefined) expect(clone!.stat(manifestPath(dir, 1)).size).toBe(state.fileBytes);
      } else {
        expectState(state, applyAll(edits.slice(0, 4)), 5);
      }
    }
    expect(outcomes).toEqual(new Set(['before', 'before, torn', 'after']));
  });

  it('switches CURRENT atomically: a crash at any step of a roll reads the old or the new manifest', async () => {
    const fs = memFs();
    const { writer, version } = await writeHistory(fs);
    writer.close();
    const oldState = readManifest(fs, dir, { readOnly: true });
    const clones: { operation: FaultOperation; clone: MemFileSystem }[] = [];
    fs.injectFault((operation) => {
      clones.push({ operation, clone: fs.crashClone({ keepUnsyncedPrefix: true }) });
      return undefined;
    });
    ManifestWriter.create(fs, dir, 10, version.toSnapshotEdit(6, 11, 250), { previousManifestName: writer.manifestName }).close();
    fs.injectFault(undefined);
    clones.push({ operation: 'sync', clone: fs.crashClone() });
    expect(clones.map((step) => step.operation)).toEqual(['open', 'append', 'sync', 'sync', 'write', 'rename', 'sync', 'unlink', 'sync']);
    const seen = new Set<string>();
    for (const { clone } of clones) {
      const state = readManifest(clone, dir, { readOnly: true });
      seen.add(state.manifestName);
      expect(describeVersion(state.version)).toEqual(describeVersion(oldState.version));
      expect(state.editCount).toBe(state.manifestName === 'MANIFEST-000001' ? 6 : 1);
    }
    expect(seen).toEqual(new Set(['MANIFEST-000001', 'MANIFEST-000010']));
  });
});

describe('manifest torn tail and damage', () => {
  async function written(): Promise<{ fs: MemFileSystem; file: string; offsets: number[]; size: number }> {
    const fs = memFs();
    (await writeHistory(fs)).writer.close();
    const file = manifestPath(dir, 1);
    return { fs, file, offsets: recordOffsets(fs, file), size: fs.stat(file).size };
  }

  it('ignores a last record cut short, and cuts it off only when writable', async () => {
    const { fs, file, offsets, size } = await written();
    const last = offsets.at(-1)!;
    for (const cut of [1, recordHeaderBytes - 1, recordHeaderBytes, size - last - 1]) {
      const bytes = fs.readFile(file);
      const torn = memFs();
      torn.writeFileSync(file, bytes.subarray(0, size - cut));
      writeCurrent(torn, dir, 'MANIFEST-000001');
      const readOnly = readManifest(torn, dir, { readOnly: true });
      expectState(readOnly, applyAll(history().slice(0, 4)), 5);
      expect(readOnly.truncatedTail).toMatchObject({ offset: last, bytes: size - cut - last });
      expect(torn.stat(file).size).toBe(size - cut);
      const writable = readManifest(torn, dir, { readOnly: false });
      expect(writable.truncatedTail).toMatchObject({ offset: last });
      expect(torn.stat(file).size).toBe(last);
      expect(readManifest(torn, dir, { readOnly: true }).truncatedTail).toBeUndefined();
    }
  });

  it('reports a failure to cut a torn tail as an I/O error', async () => {
    const { fs, file } = await written();
    fs.writeFileSync(file, Buffer.concat([fs.readFile(file), Buffer.alloc(3)]));
    fs.injectFault((operation) => (operation === 'truncate' ? systemError('EROFS', 'ftruncate', file) : undefined));
    expect(() => readManifest(fs, dir, { readOnly: false })).toThrow(IoError);
    expect(readManifest(fs, dir, { readOnly: true }).truncatedTail).toMatchObject({ bytes: 3 });
  });

  it('treats a zero-filled tail as torn', async () => {
    const { fs, file, size } = await written();
    fs.writeFileSync(file, Buffer.concat([fs.readFile(file), Buffer.alloc(4096)]));
    const state = readManifest(fs, dir, { readOnly: false });
    expectState(state, applyAll(history()), 6);
    expect(state.truncatedTail).toMatchObject({ offset: size, bytes: 4096 });
    expect(fs.stat(file).size).toBe(size);
  });

  it('treats a flipped bit in the last record as a torn tail', async () => {
    const { fs, file, offsets } = await written();
    flipByte(fs, file, offsets.at(-1)! + recordHeaderBytes);
    const state = readManifest(fs, dir, { readOnly: true });
    expect(state.editCount).toBe(5);
    expect(state.truncatedTail?.reason).toContain('checksum mismatch');
  });

  it('reports a flipped bit in a middle record as corruption at that record', async () => {
    const { fs, file, offsets } = await written();
    const target = offsets[3]!;
    for (const at of [0, 4, 8, recordHeaderBytes + 1]) {
      const damaged = memFs();
      damaged.writeFileSync(file, fs.readFile(file));
      writeCurrent(damaged, dir, 'MANIFEST-000001');
      flipByte(damaged, file, target + at);
      const error = corruption(() => readManifest(damaged, dir, { readOnly: false }));
      expect(error).toMatchObject({ file: 'MANIFEST-000001', offset: target });
      expect(error.message).toContain(`at offset ${target}`);
      expect(error.message).toContain(`a valid record follows at offset ${offsets[4]}`);
      expect(damaged.readFile(file).length).toBe(fs.stat(file).size);
    }
  });

  it('reports damage to the header or snapshot as corruption even at the end of the file', () => {
    const fs = memFs();
    createFresh(fs).close();
    const file = manifestPath(dir, 1);
    const size = fs.stat(file).size;
    const cases: [string, (bytes: Buffer) => Buffer, number][] = [
      ['empty', () => Buffer.alloc(0), 0],
      ['header cut', (bytes) => bytes.subarray(0, 5), 0],
      ['snapshot cut', (bytes) => bytes.subarray(0, size - 1), recordOffsets(fs, file)[1]!],
      ['snapshot flipped', (bytes) => { const copy = Buffer.from(bytes); copy[size - 1]! ^= 1; return copy; }, recordOffsets(fs, file)[1]!],
    ];
    for (const [name, mutate, offset] of cases) {
      const damaged = memFs();
      damaged.writeFileSync(file, mutate(fs.readFile(file)));
      writeCurrent(damaged, dir, 'MANIFEST-000001');
      const error = corruption(() => readManifest(damaged, dir, { readOnly: false }));
      expect(error.offset, name).toBe(offset);
      expect(error.file).toBe('MANIFEST-000001');
    }
  });

  function manifestOf(...records: Buffer[]): MemFileSystem {
    const fs = memFs();
    fs.writeFileSync(manifestPath(dir, 1), Buffer.concat(records));
    writeCurrent(fs, dir, 'MANIFEST-000001');
    return fs;
  }
  const header = encodeRecord(ManifestRecordType.header, encodeManifestHeader());
  const snapshot = encodeRecord(ManifestRecordType.edit, encodeVersionEdit(Version.empty().toSnapshotEdit(0, 5, 0)));
  const editRecord = (change: VersionEdit): Buffer => encodeRecord(ManifestRecordType.edit, encodeVersionEdit(change));

  it('rejects an unknown format version', () => {
    const fs = manifestOf(encodeRecord(ManifestRecordType.header, encodeManifestHeader(7)), snapshot);
    expect(() => readManifest(fs, dir, { readOnly: true })).toThrow(UnsupportedVersionError);
    expect(() => readManifest(fs, dir, { readOnly: true })).toThrow('Cannot read manifest "MANIFEST-000001": format version 7 is not supported (this build reads 1)');
  });

  it('rejects a file that is not a manifest', () => {
    const error = corruption(() => readManifest(manifestOf(encodeRecord(ManifestRecordType.header, Buffer.from('SILTWAL!\x01')), snapshot), dir, { readOnly: true }));
    expect(error.offset).toBe(recordHeaderBytes);
    expect(error.message).toContain('not a silt manifest');
  });

  it('rejects records out of place or of unknown type', () => {
    expect(corruption(() => readManifest(manifestOf(snapshot), dir, { readOnly: true })).message).toContain('expected a header record first');
    expect(corruption(() => readManifest(manifestOf(header, snapshot, header), dir, { readOnly: true })).message).toContain('a second header record');
    const unknown = corruption(() => readManifest(manifestOf(header, snapshot, encodeRecord(9, Buffer.alloc(0))), dir, { readOnly: true }));
    expect(unknown).toMatchObject({ offset: header.length + snapshot.length });
    expect(unknown.message).toContain('unknown record type 9');
  });

  it('rejects a first edit that is not a snapshot', () => {
    expect(corruption(() => readManifest(manifestOf(header, editRecord(edit({ logNumber: 1 }))), dir, { readOnly: true })).message).toContain('lacks nextFileNumber');
  });

  it('rejects an edit that breaks the version, at its offset', () => {
    const cases: [VersionEdit, string][] = [
      [edit({ deleted: [{ level: 1, fileNumber: 3 }] }), 'deletes segment 3 from level 1, which is not there'],
      [edit({ added: [segment(3, 0, 'a', 'b'), segment(3, 1, 'a', 'b')] }), 'already in level 0'],
      [edit({ logNumber: 0, lastSequence: 5, nextFileNumber: 4 }), 'next file number goes back from 5 to 4'],
    ];
    for (const [change, text] of cases) {
      const error = corruption(() => readManifest(manifestOf(header, snapshot, editRecord(change)), dir, { readOnly: true }));
      expect(error.offset).toBe(header.length + snapshot.length);
      expect(error.message).toContain(text);
    }
  });

  it('blames overlap found at the end on the last edit that touched the level', () => {
    const first = editRecord(edit({ added: [segment(3, 1, 'a', 'f')] }));
    const second = editRecord(edit({ added: [segment(4, 1, 'e', 'k')] }));
    const third = editRecord(edit({ added: [segment(2, 0, 'a', 'b')] }));
    const error = corruption(() => readManifest(manifestOf(header, snapshot, first, second, third), dir, { readOnly: true }));
    expect(error.offset).toBe(header.length + snapshot.length + first.length);
    expect(error.message).toContain('overlaps segment 4');
  });

  it('rejects file numbers at or above nextFileNumber', () => {
    const error = corruption(() => readManifest(manifestOf(header, snapshot, editRecord(edit({ added: [segment(7, 0, 'a', 'b')] }))), dir, { readOnly: true }));
    expect(error.message).toContain('segment 7 is not below next file number 5');
  });
});

describe('data directory without CURRENT', () => {
  it('is absent, empty, present, or lost', () => {
    const fs = new MemFileSystem();
    expect(probeDataDirectory(fs, dir).state).toBe('absent');
    fs.mkdir(`${dir}/wal`);
    fs.mkdir(`${dir}/seg`);
    fs.writeFileSync(`${dir}/LOCK`, Buffer.from('{}'));
    fs.writeFileSync(`${dir}/MANIFEST-000001`, Buffer.from('x'));
    fs.writeFileSync(`${dir}/CURRENT.tmp`, Buffer.from('x'));
    expect(probeDataDirectory(fs, dir)).toEqual({ state: 'empty', leftoverNames: ['CURRENT.tmp', 'MANIFEST-000001'], dataNames: [] });
    expect(() => readManifest(fs, dir, { readOnly: true })).toThrow(InvalidArgumentError);
    fs.writeFileSync(`${dir}/seg/000004.sst`, Buffer.from('x'));
    expect(probeDataDirectory(fs, dir)).toEqual({ state: 'missing-current', leftoverNames: [], dataNames: ['seg/'] });
    const error = corruption(() => readManifest(fs, dir, { readOnly: true }));
    expect(error).toMatchObject({ file: 'CURRENT', offset: 0 });
    expect(error.message).toBe('Cannot open data directory "/db": "CURRENT" is missing but the directory holds "seg/"; run silt recover');
    writeCurrent(fs, dir, 'MANIFEST-000001');
    expect(probeDataDirectory(fs, dir).state).toBe('present');
  });

  it('reports a manifest that CURRENT names but that is missing', () => {
    const fs = memFs();
    writeCurrent(fs, dir, 'MANIFEST-000003');
    expect(corruption(() => readManifest(fs, dir, { readOnly: true })).message).toBe('Cannot read manifest "MANIFEST-000003": the file is missing');
  });

  it('reads a manifest by name whatever CURRENT says', async () => {
    const fs = memFs();
    const { writer, version } = await writeHistory(fs);
    writer.close();
    fs.unlink(`${dir}/CURRENT`);
    expectState(readManifestFile(fs, dir, 'MANIFEST-000001', { readOnly: true }), version, 6);
    expect(() => readManifestFile(fs, dir, 'CURRENT', { readOnly: true })).toThrow(InvalidArgumentError);
  });
});

describe('listManifestEdits', () => {
  it('lists records with offsets and sizes', async () => {
    const fs = memFs();
    (await writeHistory(fs)).writer.close();
    const listing = listManifestEdits(fs, manifestPath(dir, 1));
    expect(listing.manifestName).toBe('MANIFEST-000001');
    expect(listing.entries.map((entry) => entry.kind)).toEqual(['header', 'edit', 'edit', 'edit', 'edit', 'edit', 'edit']);
    expect(listing.entries[0]).toMatchObject({ offset: 0, formatVersion: 1 });
    let offset = 0;
    for (const entry of listing.entries) {
      expect(entry.offset).toBe(offset);
      offset += entry.recordBytes;
    }
    expect(listing.fileBytes).toBe(offset);
    const compaction = listing.entries[4];
    expect(compaction?.kind === 'edit' ? compaction.edit.deleted : undefined).toEqual([{ level: 0, fileNumber: 5 }, { level: 0, fileNumber: 7 }]);
    expect(listing.problem).toBeUndefined();
  });

  it('stops at damage and reports it without throwing', async () => {
    const fs = memFs();
    (await writeHistory(fs)).writer.close();
    const file = manifestPath(dir, 1);
    const offsets = recordOffsets(fs, file);
    flipByte(fs, file, offsets[2]! + recordHeaderBytes);
    const listing = listManifestEdits(fs, file);
    expect(listing.entries.length).toBe(2);
    expect(listing.problem?.offset).toBe(offsets[2]);
    expect(listing.problem?.message).toContain('checksum mismatch');
    expect(listManifestEdits(fs, `${dir}/MANIFEST-000099`).problem?.message).toContain('the file is missing');
  });
});
