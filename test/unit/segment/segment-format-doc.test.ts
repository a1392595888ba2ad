// The hex example in docs/format.md ("Segment files", "Example"), or in
// docs/format.md ("Segment files") decodes to the documented
// segment, and the writer still produces it byte for byte.

import fs from 'node:fs';
import { describe, expect, test } from 'vitest';
import { makeInternalKey, ValueType } from '../../../lib/format/internal-key.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { checkSegment } from '../../../lib/segment/segment-checker.js';
import { SegmentReader } from '../../../lib/segment/segment-reader.js';
import { SegmentWriter } from '../../../lib/segment/segment-writer.js';

const startMarker = '<!-- segment-hex-example:start -->';
const endMarker = '<!-- segment-hex-example:end -->';
const docCandidates = ['docs/format.md'];

/** The bytes of the hex dump between the markers of the first doc that has them. */
function documentedBytes(): Buffer {
  for (const candidate of docCandidates) {
    const url = new URL(`../../../${candidate}`, import.meta.url);
    if (!fs.existsSync(url)) continue;
    const text = fs.readFileSync(url, 'utf8');
    const start = text.indexOf(startMarker);
    if (start === -1) continue;
    return parseHexDump(text.slice(start + startMarker.length, text.indexOf(endMarker, start)));
  }
  throw new Error(`Cannot find the segment hex example in ${docCandidates.join(' or ')}`);
}

/** Parses `offset  hex bytes  |ascii|` lines, checking each offset. */
function parseHexDump(dump: string): Buffer {
  const bytes: number[] = [];
  for (const line of dump.split('\n')) {
    const match = /^([0-9a-f]{8}) {2}((?:[0-9a-f]{2} ?)+)/.exec(line);
    if (match === null) continue;
    expect(Number.parseInt(match[1]!, 16)).toBe(bytes.length);
    for (const pair of match[2]!.trim().split(/\s+/)) bytes.push(Number.parseInt(pair, 16));
  }
  return Buffer.from(bytes);
}

describe('the documented segment example', () => {
  const bytes = documentedBytes();
  const memory = new MemFileSystem();
  memory.writeFileSync('example.sst', bytes);

  test('decodes to the three documented entries', () => {
    const reader = SegmentReader.open(memory, 'example.sst', { fileNumber: 1 });
    expect(reader.fileBytes).toBe(230);
    expect(reader.get(Buffer.from('apple'), 2)).toEqual({ type: ValueType.put, value: Buffer.from('red'), sequence: 2 });
    expect(reader.get(Buffer.from('apple'), 1)).toEqual({ type: ValueType.delete, value: Buffer.alloc(0), sequence: 1 });
    expect(reader.get(Buffer.from('apricot'), 9)?.value.toString()).toBe('orange');
    expect(reader.properties).toMatchObject({ entryCount: 3, tombstoneCount: 1, dataBlockCount: 1, dataBytes: 65, createdMs: 1_700_000_000_000 });
    expect(reader.footer).toEqual({
      index: { offset: 0x97, size: 22 },
      filter: { offset: 0x41, size: 9 },
      properties: { offset: 0x4f, size: 67 },
      formatVersion: 1,
    });
    reader.close();
    expect(checkSegment(memory, 'example.sst', 1)).toEqual([]);
  });

  test('is what the writer produces', () => {
    const writer = new SegmentWriter(memory, 'rewritten.sst');
    writer.add(makeInternalKey(Buffer.from('apple'), 2, ValueType.put), Buffer.from('red'));
    writer.add(makeInternalKey(Buffer.from('apple'), 1, ValueType.delete), Buffer.alloc(0));
    writer.add(makeInternalKey(Buffer.from('apricot'), 3, ValueType.put), Buffer.from('orange'));
    writer.finish({ createdMs: 1_700_000_000_000 });
    expect(memory.readFile('rewritten.sst').toString('hex')).toBe(bytes.toString('hex'));
  });
});
