// The manifest hex example of docs/format.md ("Manifest", "Example") decodes
// to what the doc says, and today's writer produces exactly those bytes.

import nodeFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeInternalKey, ValueType } from '../../../lib/format/internal-key.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { writeCurrent } from '../../../lib/manifest/current-file.js';
import { listManifestEdits, readManifest } from '../../../lib/manifest/manifest-reader.js';
import { ManifestWriter } from '../../../lib/manifest/manifest-writer.js';
import { describeMeta } from './helpers.js';

/** Copied verbatim from the doc; the last test checks that the doc still shows it. */
const exampleHex = `
0000  e7 51 c7 bc 09 00 00 00 01 53 49 4c 54 4d 46 53
0010  54 01 fd d8 1c 9a 29 00 00 00 02 01 03 02 05 03
0020  64 06 00 04 d2 09 09 61 01 01 00 00 00 00 00 00
0030  09 7a 01 64 00 00 00 00 00 00 01 64 64 00 80 dc
0040  a4 8b a0 34
`;

function bytesOf(dump: string): Buffer {
  const hex = dump
    .trim()
    .split('\n')
    .map((line) => line.slice(6).replaceAll(' ', ''))
    .join('');
  return Buffer.from(hex, 'hex');
}

const expectedSegment = {
  fileNumber: 4,
  level: 0,
  fileBytes: 1234,
  smallestKey: makeInternalKey(Buffer.from('a'), 1, ValueType.put),
  largestKey: makeInternalKey(Buffer.from('z'), 100, ValueType.put),
  smallestSequence: 1,
  largestSequence: 100,
  entryCount: 100,
  tombstoneCount: 0,
  createdMs: 1_795_320_000_000,
};

describe('manifest format example', () => {
  it('decodes the documented bytes', () => {
    const bytes = bytesOf(exampleHex);
    expect(bytes.length).toBe(68);
    const fs = new MemFileSystem();
    fs.mkdir('/db');
    fs.writeFileSync('/db/MANIFEST-000002', bytes);
    writeCurrent(fs, '/db', 'MANIFEST-000002');
    expect(fs.readFile('/db/CURRENT').toString('hex')).toBe('4d414e49464553542d3030303030320a');

    const state = readManifest(fs, '/db', { readOnly: true });
    expect(state).toMatchObject({ manifestNumber: 2, formatVersion: 1, logNumber: 3, nextFileNumber: 5, lastSequence: 100, editCount: 1, fileBytes: 68 });
    expect(state.version.levels[0]!.map(describeMeta)).toEqual([describeMeta(expectedSegment)]);
    expect(new Date(expectedSegment.createdMs).toISOString()).toBe('2026-11-22T04:00:00.000Z');

    const listing = listManifestEdits(fs, '/db/MANIFEST-000002');
    expect(listing.entries.map(({ kind, offset, recordBytes }) => ({ kind, offset, recordBytes }))).toEqual([
      { kind: 'header', offset: 0, recordBytes: 18 },
      { kind: 'edit', offset: 0x12, recordBytes: 50 },
    ]);
  });

  it('is what the writer writes', () => {
    const fs = new MemFileSystem();
    fs.mkdir('/db');
    ManifestWriter.create(fs, '/db', 2, { logNumber: 3, nextFileNumber: 5, lastSequence: 100, added: [expectedSegment], deleted: [] }).close();
    expect(fs.readFile('/db/MANIFEST-000002')).toEqual(bytesOf(exampleHex));
  });

  it('matches the hex shown in the doc', () => {
    const docs = ['docs/format.md'].filter((file) => nodeFs.existsSync(file)).map((file) => nodeFs.readFileSync(file, 'utf8'));
    expect(docs.some((text) => text.includes(exampleHex.trim()))).toBe(true);
  });
});
