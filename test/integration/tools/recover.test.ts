// `silt recover` on every fixture: the output opens with LsmEngine, passes
// `silt verify`, and holds exactly the surviving keys; the report names
// exactly what was lost; the input directory is never modified.
//
// Surviving keys per fixture (what a careful RepairDB keeps):
// - healthy, torn-wal-tail: the 51 entries of healthy (the torn batch was
//   never acknowledged under `always`).
// - lost-manifest: the 51 entries too; the manifest is rebuilt from the
//   segments and level 0 compacted (EXPECTED.json, "recover"); exit 1 with a
//   doubt, as the segments share keys and one could have been a compaction's
//   replaced input.
// - flipped-bit: the 24 entries whose newest version is not in the damaged
//   block (EXPECTED.json, "reads.intactEntries"); the block's keys are lost.
// - missing-segment: the level-0 segment (the flush of "empty", key:010..014
//   v2, deletes of key:020..022, key:050..053) is gone, so: "empty" and
//   key:051..053 are lost; key:010, key:013 and key:014 read their older v1
//   values; key:020..022 are back with their v1 values (their tombstones were
//   in it); key:011 (v3), key:012 (deleted) and key:050 (deleted) keep what
//   the WAL says. The report says that older values may show.
// - wal-mid-corruption: the WAL is kept up to the damaged record at offset 91,
//   so the batches at 91 (del key:002, put key:062, put 00ff0a80) and at 154
//   (put key:063, key:064 twice, del key:061) are lost: key:002 is back (v1),
//   key:061 stays, key:062..064 are absent, 00ff0a80 keeps its first value
//   0xdeadbeef.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { recover, type LostItem } from '../../../tools/recover.js';
import { verify } from '../../../tools/verify.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { systemError } from '../../../lib/fs/mem-file-system.js';
import { fixtureNames, type FixtureName, type HexEntry } from '../../support/make-fixtures.js';
import { summarizeWalFile } from '../../../tools/wal-scan.js';
import { recordHeaderBytes } from '../../../lib/format/record-framing.js';
import { walHeaderPayloadBytes } from '../../../lib/wal/wal-format.js';
import { captureIo, copyFixture, newerFormatFixture, hashTree, hex, loadExpected, makeScratch, readEntries, removeScratch, v1Value } from './tool-test-helpers.js';

let scratch: string;

beforeAll(() => {
  scratch = makeScratch('recover');
});

afterAll(() => {
  removeScratch(scratch);
});

const healthyEntries = (): HexEntry[] => loadExpected('healthy').entries!;

/** Applies changes to an entry list: undefined removes a key. */
function edit(entries: HexEntry[], changes: Record<string, string | undefined>): HexEntry[] {
  const map = new Map(entries);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function survivingEntries(name: FixtureName): HexEntry[] {
  switch (name) {
    case 'healthy':
    case 'torn-wal-tail':
    case 'preallocated-wal-tail':
      return healthyEntries();
    case 'lost-manifest':
      return loadExpected('lost-manifest').recover!.entries;
    case 'flipped-bit':
      return [...loadExpected('flipped-bit').reads!.intactEntries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    case 'missing-segment':
      return edit(healthyEntries(), {
        [hex('empty')]: undefined,
        [hex('key:051')]: undefined,
        [hex('key:052')]: undefined,
        [hex('key:053')]: undefined,
        [hex('key:010')]: v1Value('key:010'),
        [hex('key:013')]: v1Value('key:013'),
        [hex('key:014')]: v1Value('key:014'),
        [hex('key:020')]: v1Value('key:020'),
        [hex('key:021')]: v1Value('key:021'),
        [hex('key:022')]: v1Value('key:022'),
      });
    case 'wal-mid-corruption':
      return edit(healthyEntries(), {
        [hex('key:002')]: v1Value('key:002'),
        [hex('key:061')]: hex('v4:key:061'),
        [hex('key:062')]: undefined,
        [hex('key:063')]: undefined,
        [hex('key:064')]: undefined,
        '00ff0a80': 'deadbeef',
      });
  }
}

/** The fields of a loss a test pins down. */
type ExpectedLoss = Pick<LostItem, 'kind' | 'file' | 'offset'> & Partial<Pick<LostItem, 'keyRange' | 'sequenceRange' | 'records' | 'olderVersionsMayShow' | 'olderVersionExample' | 'savedAs'>>;

const expectedLosses: Record<FixtureName, { exitCode: number; lost: ExpectedLoss[] }> = {
  healthy: { exitCode: 0, lost: [] },
  'torn-wal-tail': { exitCode: 0, lost: [] },
  'preallocated-wal-tail': { exitCode: 0, lost: [] },
  'lost-manifest': { exitCode: 1, lost: [] }, // nothing lost, but a doubt: its segments share keys (a compaction input may be among them)
  'flipped-bit': {
    exitCode: 1,
    lost: [
      {
        kind: 'blocks',
        file: 'seg/000005.sst',
        offset: 0,
        keyRange: { smallest: hex('key:000'), largest: hex('key:037') },
        sequenceRange: { first: 1, last: 48 },
        olderVersionsMayShow: false,
        olderVersionExample: null,
        savedAs: 'lost+found/seg/000005.sst',
      },
    ],
  },
  'missing-segment': {
    exitCode: 1,
    lost: [
      {
        kind: 'segment',
        file: 'seg/000010.sst',
        offset: null,
        keyRange: { smallest: hex('empty'), largest: hex('key:053') },
        sequenceRange: { first: 49, last: 61 },
        olderVersionsMayShow: true,
        // The first key of the range whose older version the result reads; the lost segment's own keys are unknown (no filter).
        olderVersionExample: { key: hex('key:000'), file: 'seg/000005.sst', inDamagedSegment: false },
        savedAs: null,
      },
    ],
  },
  'wal-mid-corruption': {
    exitCode: 1,
    lost: [{ kind: 'wal-records', file: 'wal/000012.log', offset: 91, records: 2, sequenceRange: { first: 72, last: 78 }, olderVersionsMayShow: true, savedAs: 'lost+found/wal/000012.log' }],
  },
};

function pickLoss(item: LostItem, like: ExpectedLoss): ExpectedLoss {
  const picked: ExpectedLoss = { kind: item.kind, file: item.file, offset: item.offset };
  for (const field of ['keyRange', 'sequenceRange', 'records', 'olderVersionsMayShow', 'olderVersionExample', 'savedAs'] as const) {
    if (field in like) Object.assign(picked, { [field]: item[field] });
  }
  return picked;
}

describe('silt recover on the fixtures', () => {
  test.each(fixtureNames)('%s: the output passes verify, holds exactly the surviving keys, and the input is unchanged', async (name) => {
    const dir = copyFixture(scratch, name);
    const out = path.join(scratch, `${name}.recovered`);
    const before = hashTree(dir);
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out, json: true }, io);
    const expected = expectedLosses[name];
    expect(result.exitCode).toBe(expected.exitCode);
    const report = result.report!;
    expect(report.lost.map((item, index) => pickLoss(item, expected.lost[index] ?? item))).toEqual(expected.lost);
    expect(report.complete).toBe(expected.lost.length === 0);
    expect(report.verify).toMatchObject({ healthy: true, damageCount: 0 });
    expect(JSON.parse(stdout.text)).toEqual(JSON.parse(JSON.stringify(report)));
    // The manifest named is the live one: opening the result writes a newer manifest than recover wrote.
    const current = fs.readFileSync(path.join(out, 'CURRENT'), 'utf8').trim();
    const wrote = report.notes.filter((note) => note.startsWith('Wrote '));
    expect(wrote).toHaveLength(1);
    expect(wrote[0]).toMatch(new RegExp(`^Wrote (${current} \\(.*\\); CURRENT names it|MANIFEST-\\d+ \\(.*\\); opening the result replaced it with ${current}, the manifest CURRENT names now)$`));
    expect(report.resultManifest).toBe(current);

    expect(hashTree(dir)).toEqual(before);
    const verified = captureIo();
    expect((await verify({ dir: out }, verified.io)).exitCode).toBe(0);
    expect(await readEntries(out)).toEqual(survivingEntries(name));
    // The server can take it over too: a read-write open works and sees the same data.
    const engine = await LsmEngine.open(out, { backgroundExecutor: 'inline' });
    await engine.close();
    expect(await readEntries(out)).toEqual(survivingEntries(name));
    expect(JSON.parse(fs.readFileSync(path.join(out, 'lost+found/recover-report.json'), 'utf8'))).toMatchObject({ tool: 'recover', lost: JSON.parse(JSON.stringify(report.lost)) });
  });

  test('flipped-bit: the re-written segment keeps the readable block; the original goes to lost+found', async () => {
    const dir = copyFixture(scratch, 'flipped-bit', '-detail');
    const out = path.join(scratch, 'flipped-bit-detail.recovered');
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(result.exitCode).toBe(1);
    const report = result.report!;
    expect(report.segments.kept).toEqual([{ file: 'seg/000010.sst', level: 0, how: 'linked' }]);
    expect(report.segments.rewritten).toMatchObject([{ from: 'seg/000005.sst', level: 1, entries: 10, blocksLost: 1 }]);
    expect(fs.readFileSync(path.join(out, 'lost+found/seg/000005.sst'))).toEqual(fs.readFileSync(path.join(dir, 'seg/000005.sst')));
    expect(stdout.text).toContain('LOST (1):');
    expect(stdout.text).toContain('[blocks] seg/000005.sst at offset 0 (411 B): keys "key:000" .. "key:037", seq 1..48');
    expect(stdout.text).toContain('PARTIAL');
    // Every key whose newest version was in the damaged block is absent: lost, never silently wrong.
    const keys = new Set((await readEntries(out)).map(([key]) => key));
    for (const key of loadExpected('flipped-bit').reads!.corruptKeys) expect(keys.has(key), key).toBe(false);
  });

  test('wal-mid-corruption: lists the keys of the readable record after the damage', async () => {
    const dir = copyFixture(scratch, 'wal-mid-corruption', '-detail');
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out: path.join(scratch, 'wal-mid-detail.recovered') }, io);
    expect(result.report!.lost[0]!.knownKeys).toEqual([hex('key:063'), hex('key:064'), hex('key:061')]);
    expect(stdout.text).toContain('keys written by the readable records after the damage: "key:063", "key:064", "key:061"');
    expect(result.report!.wal.kept).toEqual([
      { file: 'wal/000009.log', records: 3, bytes: 210, cutAt: null },
      { file: 'wal/000012.log', records: 1, bytes: 91, cutAt: 91 },
    ]);
  });

  test('wal-mid-corruption with --skip-damaged-wal-records: the record after the damage is kept too, with a doubt', async () => {
    const dir = copyFixture(scratch, 'wal-mid-corruption', '-skip');
    const out = path.join(scratch, 'wal-mid-skip.recovered');
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out, skipDamagedWalRecords: true }, io);
    expect(result.exitCode).toBe(1);
    const report = result.report!;
    // Only the damaged record's bytes are lost (records at 25, 91, 154): replay went on past them.
    expect(report.lost).toMatchObject([{ kind: 'wal-records', file: 'wal/000012.log', offset: 91, bytes: 63, records: null }]);
    expect(report.lost[0]!.reason).toContain('the 1 whole record after it (sequences');
    expect(report.wal.kept.find((kept) => kept.file === 'wal/000012.log')).toMatchObject({ records: 2, cutAt: 91 });
    expect(report.doubts).toHaveLength(1);
    expect(report.doubts[0]).toContain('wal/000012.log: the 1 record after the damage at offset 91 were kept without what the 63 damaged bytes held');
    expect(stdout.text).toContain('DOUBT:');
    // The third batch (key:063 and key:064 put, key:061 deleted) is applied; the second (key:062) is lost;
    // without the flag the third is not applied either.
    const kept = new Map(await readEntries(out));
    expect(kept.get(hex('key:064'))).toBeDefined();
    expect(kept.get(hex('key:063'))).toBeDefined();
    expect(kept.has(hex('key:061'))).toBe(false);
    expect(kept.has(hex('key:062'))).toBe(false);
    const plainOut = path.join(scratch, 'wal-mid-noskip.recovered');
    await recover({ dir, out: plainOut }, captureIo().io);
    const stopped = new Map(await readEntries(plainOut));
    expect(stopped.has(hex('key:064'))).toBe(false);
    expect(stopped.get(hex('key:061'))).toBeDefined();
  });

  test('lost-manifest: the rebuilt level 0 is compacted so point reads see the newest version', async () => {
    const dir = copyFixture(scratch, 'lost-manifest', '-detail');
    const out = path.join(scratch, 'lost-manifest-detail.recovered');
    const result = await recover({ dir, out }, captureIo().io);
    expect(result.report!).toMatchObject({ manifest: { source: 'rebuilt' }, compacted: true, complete: true });
    const engine = await LsmEngine.open(out, { readOnly: true });
    try {
      for (const [key, value] of loadExpected('lost-manifest').recover!.entries) expect(engine.get(Buffer.from(key, 'hex'))?.toString('hex'), key).toBe(value);
      for (const key of loadExpected('healthy').absentKeys!) expect(engine.get(Buffer.from(key, 'hex')), key).toBeUndefined();
    } finally {
      await engine.close();
    }
  });

  test('CURRENT lost but the manifest kept: recover uses the newest manifest that replays', async () => {
    const dir = copyFixture(scratch, 'healthy', '-no-current');
    fs.rmSync(path.join(dir, 'CURRENT'));
    const out = path.join(scratch, 'no-current.recovered');
    const result = await recover({ dir, out }, captureIo().io);
    expect(result.exitCode).toBe(0);
    expect(result.report!.manifest).toMatchObject({ source: 'newest-manifest', name: 'MANIFEST-000011' });
    expect(await readEntries(out)).toEqual(healthyEntries());
  });

  /** Offsets of a WAL file's batch records (after the header record), from their frames. */
  function walRecordOffsets(bytes: Buffer): number[] {
    const offsets: number[] = [];
    for (let offset = recordHeaderBytes + walHeaderPayloadBytes; offset + recordHeaderBytes <= bytes.length; offset += recordHeaderBytes + bytes.readUInt32LE(offset + 4)) {
      offsets.push(offset);
    }
    return offsets;
  }

  /** The healthy fixture's two WAL files (wal/000009.log, then wal/000012.log, three records each): their sequence ranges. */
  function walSequences(dir: string, fileNumber: number): { first: number; last: number } {
    const summary = summarizeWalFile(new NodeFileSystem(), { fileNumber, path: path.join(dir, 'wal', `${String(fileNumber).padStart(6, '0')}.log`), location: 'wal' }, false);
    return { first: summary.firstSequence!, last: summary.lastSequence! };
  }

  test('a missing WAL file the manifest needs is lost, with every later file: nothing is reported complete', async () => {
    const dir = copyFixture(scratch, 'healthy', '-missing-wal');
    const second = walSequences(dir, 12);
    fs.rmSync(path.join(dir, 'wal/000009.log'));
    const out = path.join(scratch, 'missing-wal.recovered');
    const { io, stdout } = captureIo();
    const result = await recover({ dir, out }, io);
    expect(result.exitCode).toBe(1);
    const report = result.report!;
    expect(report.complete).toBe(false);
    expect(report.lost.map((lost) => [lost.kind, lost.file])).toEqual([
      ['wal-file', 'wal/000009.log'],
      ['wal-file', 'wal/000012.log'],
    ]);
    expect(report.lost[0]!.reason).toContain('the file is missing');
    expect(report.lost[0]!.sequenceRange).toMatchObject({ last: second.first - 1 });
    expect(report.lost[1]!.sequenceRange).toMatchObject(second);
    expect(report.wal.kept).toEqual([]);
    expect(stdout.text).toContain('[wal-file] wal/000009.log: keys unknown');
    expect(report.verify.healthy).toBe(true);
  });

  test('a damaged header loses no record: the file is salvaged under a new header, the original kept in lost+found', async () => {
    for (const [fileNumber, label] of [[12, 'newest'], [9, 'oldest']] as const) {
      const dir = copyFixture(scratch, 'healthy', `-wal-header-${label}`);
      const sequences = walSequences(dir, fileNumber);
      const name = `${String(fileNumber).padStart(6, '0')}.log`;
      const walFile = path.join(dir, 'wal', name);
      const bytes = fs.readFileSync(walFile);
      bytes[12] = bytes[12]! ^ 0x5a; // inside the header record's payload
      fs.writeFileSync(walFile, bytes);

      const checked = captureIo();
      const verified = await verify({ dir, json: true }, checked.io);
      expect(verified.exitCode, label).toBe(1);
      const problem = verified.report!.problems.find((found) => found.kind === 'wal-record')!;
      expect(problem.message, label).toContain('3 whole records follow it');
      expect(problem.sequenceRange, label).toMatchObject(sequences);

      const out = path.join(scratch, `wal-header-${label}.recovered`);
      const result = await recover({ dir, out }, captureIo().io);
      expect(result.exitCode, label).toBe(0);
      expect(result.report!.lost, label).toEqual([]);
      expect(result.report!.wal.kept.find((kept) => kept.file === `wal/${name}`), label).toMatchObject({ records: 3, cutAt: null });
      expect(result.report!.notes.join('\n'), label).toContain(`wal/${name}: its header record is damaged`);
      expect(fs.readFileSync(path.join(out, 'lost+found/wal', name)), label).toEqual(bytes);
      expect(await readEntries(out), label).toEqual(healthyEntries());
    }
  });

  test('a damaged header and a damaged record after it: the records between are kept, the rest lost from there', async () => {
    const dir = copyFixture(scratch, 'healthy', '-wal-header-and-record');
    const walFile = path.join(dir, 'wal/000009.log');
    const sequences = walSequences(dir, 9);
    const bytes = fs.readFileSync(walFile);
    bytes[12] = bytes[12]! ^ 0x5a;
    const second = walRecordOffsets(bytes)[1]!;
    bytes[second + recordHeaderBytes + 12] = bytes[second + recordHeaderBytes + 12]! ^ 0x5a;
    fs.writeFileSync(walFile, bytes);
    const result = await recover({ dir, out: path.join(scratch, 'wal-header-and-record.recovered') }, captureIo().io);
    expect(result.exitCode).toBe(1);
    expect(result.report!.wal.kept.find((kept) => kept.file === 'wal/000009.log')).toMatchObject({ records: 1, cutAt: second });
    expect(result.report!.lost[0]).toMatchObject({ kind: 'wal-records', file: 'wal/000009.log', offset: second });
    expect(result.report!.lost[0]!.sequenceRange!.last).toBe(sequences.last);
  });

  test('a damaged first record of the first live WAL file is in the lost range (above what the segments hold)', async () => {
    const dir = copyFixture(scratch, 'healthy', '-wal-first-record');
    const sequences = walSequences(dir, 9);
    const walFile = path.join(dir, 'wal/000009.log');
    const bytes = fs.readFileSync(walFile);
    const firstBatch = recordHeaderBytes + walHeaderPayloadBytes;
    bytes[firstBatch + 12] = bytes[firstBatch + 12]! ^ 0x5a;
    fs.writeFileSync(walFile, bytes);
    const verified = await verify({ dir, json: true }, captureIo().io);
    expect(verified.report!.problems.find((problem) => problem.kind === 'wal-record')!.sequenceRange).toMatchObject(sequences);
    const result = await recover({ dir, out: path.join(scratch, 'wal-first-record.recovered') }, captureIo().io);
    expect(result.report!.lost[0]).toMatchObject({ kind: 'wal-records', file: 'wal/000009.log', sequenceRange: sequences });
  });

  test('a stray byte in the zeros after the last record of an older WAL file loses nothing when the next file goes on at the next sequence', async () => {
    for (const nextIntact of [true, false]) {
      const label = nextIntact ? 'next-intact' : 'next-damaged';
      const dir = copyFixture(scratch, 'healthy', `-wal-zeros-${label}`);
      const first = walSequences(dir, 9);
      const walFile = path.join(dir, 'wal/000009.log');
      const records = fs.statSync(walFile).size;
      const zeros = Buffer.alloc(8192);
      zeros[3000] = 0x5a; // bit rot in what the writer preallocated
      fs.appendFileSync(walFile, zeros);
      if (!nextIntact) {
        // The next file's first record unreadable too: where it starts is unknown, so replay must stop.
        const nextFile = path.join(dir, 'wal/000012.log');
        const bytes = fs.readFileSync(nextFile);
        const firstBatch = recordHeaderBytes + walHeaderPayloadBytes;
        bytes[firstBatch + 12] = bytes[firstBatch + 12]! ^ 0x5a;
        fs.writeFileSync(nextFile, bytes);
      }

      const verified = await verify({ dir, json: true }, captureIo().io);
      expect(verified.exitCode, label).toBe(1); // the server refuses to start on it either way
      const problem = verified.report!.problems.find((found) => found.file === 'wal/000009.log')!;
      expect(problem, label).toMatchObject({ kind: 'wal-record', offset: records });
      if (nextIntact) {
        expect(problem.message).toContain(`no whole record follows it, and "wal/000012.log" goes on at sequence ${first.last + 1}: no write is lost there`);
        expect(problem.sequenceRange).toBeUndefined();
      } else {
        expect(problem.sequenceRange, label).toMatchObject({ first: first.last + 1 });
      }

      const out = path.join(scratch, `wal-zeros-${label}.recovered`);
      const result = await recover({ dir, out }, captureIo().io);
      const report = result.report!;
      expect(report.wal.kept[0], label).toEqual({ file: 'wal/000009.log', records: 3, bytes: records, cutAt: records });
      if (nextIntact) {
        expect(result.exitCode).toBe(0);
        expect(report.lost).toEqual([]);
        expect(report.complete).toBe(true);
        expect(report.notes.join('\n')).toContain(`wal/000009.log: cut at offset ${records}, where`);
        expect(report.notes.join('\n')).toContain('no write was lost, and replay goes on');
        expect(await readEntries(out)).toEqual(healthyEntries());
      } else {
        expect(result.exitCode).toBe(1);
        expect(report.lost.map((lost) => [lost.kind, lost.file])).toEqual([
          ['wal-records', 'wal/000009.log'],
          ['wal-file', 'wal/000012.log'],
        ]);
      }
    }
  });

  test("an unreadable last manifest record that the server had acted on: verify says so, recover rebuilds from the segments and loses nothing", async () => {
    // Three flushes, then a compaction whose edit (add the output, delete the inputs) is the manifest's last record.
    const dir = path.join(scratch, 'acted-on-tail');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline', disableAutoCompaction: true });
    const expected = new Map<string, string>();
    try {
      for (let round = 0; round < 3; round++) {
        const batch = new WriteBatch();
        for (let index = 0; index < 50; index++) {
          const key = `key:${String(index).padStart(3, '0')}`;
          if (round === 2 && index % 10 === 0) continue; // older versions stay newest for these
          batch.put(Buffer.from(key), Buffer.from(`v${round}:${index}`));
          expected.set(key, `v${round}:${index}`);
        }
        await engine.write(batch);
        await engine.flush();
      }
      await engine.compactRange();
      await engine.write(new WriteBatch().put(Buffer.from('after'), Buffer.from('in the WAL')));
      expected.set('after', 'in the WAL');
    } finally {
      await engine.close();
    }
    const manifest = fs.readdirSync(dir).find((name) => name.startsWith('MANIFEST-'))!;
    const bytes = fs.readFileSync(path.join(dir, manifest));
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x5a; // inside the compaction's edit
    fs.writeFileSync(path.join(dir, manifest), bytes);

    const checked = captureIo();
    const verified = await verify({ dir, json: true }, checked.io);
    expect(verified.exitCode).toBe(1);
    const kinds = verified.report!.problems.map((problem) => problem.kind);
    expect(kinds).toContain('manifest');
    expect(kinds).not.toContain('manifest-torn-tail');
    expect(verified.report!.problems.find((problem) => problem.kind === 'manifest')!.message).toContain('the server had acted on that edit');

    const out = path.join(scratch, 'acted-on-tail.recovered');
    const result = await recover({ dir, out }, captureIo().io);
    // Recover cannot read the compaction's inputs, so it lists them, saying that the output most likely covers them.
    expect(result.exitCode).toBe(1);
    expect(result.report!.manifest.source).toBe('rebuilt');
    expect(result.report!.lost.map((lost) => lost.kind)).toEqual(['segment', 'segment', 'segment']);
    for (const lost of result.report!.lost) expect(lost.reason).toContain('most likely it was an input of the compaction whose output seg/');
    const recovered = await LsmEngine.open(out, { readOnly: true });
    try {
      for (const [key, value] of expected) expect(recovered.get(Buffer.from(key))?.toString(), key).toBe(value);
    } finally {
      await recovered.close();
    }
  });

  test('an unreadable last manifest record that was a flush the server acted on: recover adopts its segment and loses nothing', async () => {
    // A flush's edit is the manifest's last record and the server has deleted the WAL file it flushed; then a
    // bit flips in that record. The flushed writes are only in the segment the manifest no longer names.
    const dir = path.join(scratch, 'acted-on-flush');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline', disableAutoCompaction: true });
    const expected = new Map<string, string>();
    const put = (batch: WriteBatch, key: string, value: string): void => {
      batch.put(Buffer.from(key), Buffer.from(value));
      expected.set(key, value);
    };
    let manifestBytes: Buffer;
    const manifest = (): string => fs.readdirSync(dir).find((name) => name.startsWith('MANIFEST-'))!;
    let flushedWal: string[];
    try {
      const first = new WriteBatch();
      for (let index = 0; index < 30; index++) put(first, `key:${String(index).padStart(3, '0')}`, `v0:${index}`);
      await engine.write(first);
      await engine.flush();
      const second = new WriteBatch();
      for (let index = 0; index < 30; index += 3) put(second, `key:${String(index).padStart(3, '0')}`, `v1:${index}`);
      put(second, 'only-in-the-flush', 'x');
      await engine.write(second);
      flushedWal = fs.readdirSync(path.join(dir, 'wal'));
      await engine.flush();
      expect(fs.readdirSync(path.join(dir, 'wal')).filter((name) => flushedWal.includes(name))).toEqual([]);
      manifestBytes = fs.readFileSync(path.join(dir, manifest())); // the flush's edit last, as a crash now would leave it
      const third = new WriteBatch();
      put(third, 'key:001', 'v2:in the WAL');
      put(third, 'after', 'in the WAL');
      await engine.write(third);
      // A crash here: the files as they are, the manifest as it was before close() wrote anything more.
      fs.cpSync(dir, `${dir}.crashed`, { recursive: true });
    } finally {
      await engine.close();
    }
    const crashed = `${dir}.crashed`;
    fs.rmSync(path.join(crashed, 'LOCK'), { force: true });
    manifestBytes[manifestBytes.length - 2] = manifestBytes[manifestBytes.length - 2]! ^ 0x5a; // inside the flush's edit
    for (const name of fs.readdirSync(crashed)) if (name.startsWith('MANIFEST-')) fs.rmSync(path.join(crashed, name));
    fs.writeFileSync(path.join(crashed, manifest()), manifestBytes);
    fs.writeFileSync(path.join(crashed, 'CURRENT'), `${manifest()}\n`);

    const checked = captureIo();
    const verified = await verify({ dir: crashed, json: true }, checked.io);
    expect(verified.exitCode).toBe(1);
    const kinds = verified.report!.problems.map((problem) => problem.kind);
    expect(kinds).toContain('manifest');
    expect(kinds).not.toContain('manifest-torn-tail');
    const message = verified.report!.problems.find((problem) => problem.kind === 'manifest')!.message;
    expect(message).toContain('the oldest WAL file the manifest names, is missing while seg/');
    expect(message).toContain('recover` adopts that segment');

    const before = hashTree(crashed);
    const out = `${dir}.recovered`;
    const io = captureIo();
    const result = await recover({ dir: crashed, out }, io.io);
    expect(result.exitCode, io.stdout.text).toBe(0);
    expect(result.report!).toMatchObject({ manifest: { source: 'current' }, lost: [], complete: true });
    expect(result.report!.notes.join('\n')).toContain('was kept at level 0 in its place, as that edit had done');
    expect(hashTree(crashed)).toEqual(before);
    const recovered = await LsmEngine.open(out, { readOnly: true });
    try {
      for (const [key, value] of expected) expect(recovered.get(Buffer.from(key))?.toString(), key).toBe(value);
    } finally {
      await recovered.close();
    }

    // The server refuses the damaged directory, and leaves it as it found it for recover.
    await expect(LsmEngine.open(crashed, { backgroundExecutor: 'inline' })).rejects.toThrow(/missing/);
    expect(hashTree(crashed)).toEqual(before);
  });

  test('a lost manifest and a compaction input left on disk: recover names the doubt and exits 1, since deleted keys come back', async () => {
    // Two flushes of the same keys, the second deleting key:000; a compaction replaces both. A crash before the
    // inputs were deleted would leave the first on disk: here it is copied back, and the manifest removed.
    const dir = path.join(scratch, 'orphan-input');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline', disableAutoCompaction: true });
    let first: string;
    try {
      const batch = new WriteBatch();
      for (let index = 0; index < 20; index++) batch.put(Buffer.from(`key:${String(index).padStart(3, '0')}`), Buffer.from('v0'));
      await engine.write(batch);
      await engine.flush();
      first = fs.readdirSync(path.join(dir, 'seg'))[0]!;
      fs.copyFileSync(path.join(dir, 'seg', first), path.join(scratch, 'orphan-input.sst'));
      await engine.write(new WriteBatch().del(Buffer.from('key:000')).put(Buffer.from('key:001'), Buffer.from('v1')));
      await engine.flush();
      await engine.compactRange();
    } finally {
      await engine.close();
    }
    expect(fs.readdirSync(path.join(dir, 'seg'))).not.toContain(first);
    fs.copyFileSync(path.join(scratch, 'orphan-input.sst'), path.join(dir, 'seg', first));
    for (const name of fs.readdirSync(dir)) if (name.startsWith('MANIFEST-') || name === 'CURRENT') fs.rmSync(path.join(dir, name));

    const out = path.join(scratch, 'orphan-input.recovered');
    const io = captureIo();
    const result = await recover({ dir, out }, io.io);
    expect(result.report!).toMatchObject({ manifest: { source: 'rebuilt' }, complete: true });
    expect(result.exitCode).toBe(1);
    expect(result.report!.doubts).toHaveLength(1);
    expect(result.report!.doubts[0]).toContain(`seg/${first} under seg/`);
    expect(io.stdout.text).toContain('DOUBT: the manifest was rebuilt from the segments on disk');
    expect(io.stdout.text).toContain('nothing was lost, but see the doubt above');
    // What the doubt is about: the deleted key is back, the overwritten one kept its newer value.
    const recovered = await LsmEngine.open(out, { readOnly: true });
    try {
      expect(recovered.get(Buffer.from('key:000'))?.toString()).toBe('v0');
      expect(recovered.get(Buffer.from('key:001'))?.toString()).toBe('v1');
    } finally {
      await recovered.close();
    }
  });

  test('a torn flush edit and a segment lost for another reason: the manifest is kept and the lost segment listed', async () => {
    // A flush's segment S is written and its edit torn (nothing acted on it); segment M, named, is lost (a disk error).
    const dir = path.join(scratch, 'torn-flush-lost-segment');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline', disableAutoCompaction: true });
    const saved = new Map<string, Buffer>();
    let lostSegment: string;
    try {
      const first = new WriteBatch();
      for (const letter of 'abcdefghijklmnopqrstuvwxyz') first.put(Buffer.from(letter), Buffer.from(`old-${letter}`));
      await engine.write(first);
      await engine.flush();
      lostSegment = fs.readdirSync(path.join(dir, 'seg'))[0]!;
      await engine.write(new WriteBatch().put(Buffer.from('m'), Buffer.from('new-m')).put(Buffer.from('n'), Buffer.from('new-n')));
      // The WAL file the second flush retires: a torn edit means the server never retired it.
      for (const name of fs.readdirSync(path.join(dir, 'wal'))) saved.set(name, fs.readFileSync(path.join(dir, 'wal', name)));
      await engine.flush();
    } finally {
      await engine.close();
    }
    for (const [name, bytes] of saved) if (!fs.existsSync(path.join(dir, 'wal', name))) fs.writeFileSync(path.join(dir, 'wal', name), bytes);
    const manifest = fs.readdirSync(dir).find((name) => name.startsWith('MANIFEST-'))!;
    const bytes = fs.readFileSync(path.join(dir, manifest));
    fs.writeFileSync(path.join(dir, manifest), bytes.subarray(0, bytes.length - 3)); // the flush's edit, torn
    fs.rmSync(path.join(dir, 'seg', lostSegment));

    const checked = captureIo();
    const verified = await verify({ dir, json: true }, checked.io);
    expect(verified.report!.problems.map((problem) => problem.kind)).toContain('manifest-torn-tail');
    expect(verified.report!.problems.map((problem) => problem.kind)).not.toContain('manifest');

    const result = await recover({ dir, out: path.join(scratch, 'torn-flush-lost-segment.recovered') }, captureIo().io);
    expect(result.exitCode).toBe(1);
    expect(result.report!.manifest.source).toBe('current');
    expect(result.report!.lost).toMatchObject([{ kind: 'segment', file: `seg/${lostSegment}`, keyRange: { smallest: hex('a'), largest: hex('z') } }]);
    expect(result.report!.lost[0]!.reason).not.toContain('most likely');
  });

  test('a recover that stops halfway leaves its output marked UNFINISHED: the server and the tools refuse it', async () => {
    const dir = copyFixture(scratch, 'healthy', '-stops-halfway');
    const out = path.join(scratch, 'stops-halfway.recovered');
    const faulty = new FaultFileSystem(new NodeFileSystem());
    // The segments are linked, then the first WAL file copied finds the disk full: recover fails (exit 2).
    faulty.injectFault((op, file) => (op === 'write' && file.startsWith(`${out}/wal/`) ? systemError('ENOSPC', 'write', file) : undefined));
    const failed = captureIo();
    expect((await recover({ dir, out, fs: faulty }, failed.io)).exitCode).toBe(2);
    expect(failed.stderr.text).toContain('ENOSPC');
    expect(fs.readdirSync(path.join(out, 'seg')).length).toBeGreaterThan(0);
    const marker = JSON.parse(fs.readFileSync(path.join(out, 'UNFINISHED'), 'utf8')) as { tool: string; pid: number };
    expect(marker).toMatchObject({ tool: 'recover', pid: process.pid });

    const checked = captureIo();
    expect((await verify({ dir: out, json: true }, checked.io)).exitCode).toBe(2);
    const error = (JSON.parse(checked.stdout.text) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('UNFINISHED');
    expect(error.message).toContain(`Cannot verify "${out}": it is the unfinished output of silt recover, started `);
    expect(error.message).toContain('delete it and run that tool again');
    await expect(LsmEngine.open(out, { backgroundExecutor: 'inline' })).rejects.toThrow(/it is the unfinished output of a silt tool \(silt recover, started /);
    await expect(LsmEngine.open(out, { readOnly: true })).rejects.toThrow(/unfinished output/);

    // Run again into a new directory, it finishes, and its output carries no marker.
    const again = path.join(scratch, 'stops-halfway.again');
    expect((await recover({ dir, out: again }, captureIo().io)).exitCode).toBe(0);
    expect(fs.existsSync(path.join(again, 'UNFINISHED'))).toBe(false);
  });

  test('refuses an output directory that is not empty, or inside DIR, and a directory a live engine holds', async () => {
    const dir = copyFixture(scratch, 'healthy', '-refusals');
    const before = hashTree(dir);
    const busy = path.join(scratch, 'busy-out');
    fs.mkdirSync(busy);
    fs.writeFileSync(path.join(busy, 'something'), 'x');
    const notEmpty = captureIo();
    expect((await recover({ dir, out: busy }, notEmpty.io)).exitCode).toBe(2);
    expect(notEmpty.stderr.text).toContain('not empty');
    const inside = captureIo();
    expect((await recover({ dir, out: path.join(dir, 'recovered') }, inside.io)).exitCode).toBe(2);
    expect(inside.stderr.text).toContain('never modifies');
    expect(hashTree(dir)).toEqual(before);

    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
    try {
      const live = captureIo();
      expect((await recover({ dir, out: path.join(scratch, 'live-out') }, live.io)).exitCode).toBe(2);
      expect(live.stderr.text).toContain('held by a running server');
      expect(fs.existsSync(path.join(scratch, 'live-out'))).toBe(false);
    } finally {
      await engine.close();
    }
  });

  test('a segment in a format version this build does not read is refused, not salvaged around', async () => {
    const dir = newerFormatFixture(scratch, '-newer-format');
    const out = path.join(scratch, 'newer-format.recovered');
    const { io, stderr } = captureIo();
    expect((await recover({ dir, out }, io)).exitCode).toBe(2);
    expect(stderr.text).toContain('format version 99');
    expect(stderr.text).toContain('not damage');
    expect(fs.existsSync(out)).toBe(false);
  });
});
