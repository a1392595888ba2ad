// Version edit encoding: every encodable edit round-trips (property), and
// every malformed payload is a CorruptionError naming the file and the exact
// offset of the bad field.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../../lib/errors.js';
import { writeVarint } from '../../../lib/format/varint.js';
import { levelCount } from '../../../lib/limits.js';
import { decodeVersionEdit, EditTag, encodeVersionEdit, type VersionEdit } from '../../../lib/manifest/version-edit.js';
import { describeMeta, edit, numRuns, segment, versionEditArbitrary } from './helpers.js';

function describeEdit(value: VersionEdit): unknown {
  return {
    ...value,
    added: value.added.map(describeMeta),
    compactPointers: value.compactPointers?.map((pointer) => ({ level: pointer.level, key: pointer.key.toString('hex') })),
  };
}

function varints(...values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 8);
  let offset = 0;
  for (const value of values) offset = writeVarint(buffer, offset, value);
  return buffer.subarray(0, offset);
}

function decodeError(payload: Buffer, offset = 100): CorruptionError {
  try {
    decodeVersionEdit(payload, 'MANIFEST-000009', offset);
  } catch (error) {
    expect(error).toBeInstanceOf(CorruptionError);
    const corruption = error as CorruptionError;
    expect(corruption.file).toBe('MANIFEST-000009');
    expect(corruption.message).toContain('"MANIFEST-000009"');
    expect(corruption.message).toContain(`at offset ${corruption.offset}`);
    return corruption;
  }
  throw new Error('expected decodeVersionEdit to throw');
}

describe('encodeVersionEdit / decodeVersionEdit', () => {
  it('round-trips every edit', () => {
    fc.assert(
      fc.property(versionEditArbitrary, (value) => {
        const decoded = decodeVersionEdit(encodeVersionEdit(value), 'MANIFEST-000001', 0);
        expect(describeEdit(decoded)).toEqual(describeEdit(value));
      }),
      { numRuns },
    );
  });

  it('round-trips an empty edit as zero bytes', () => {
    const encoded = encodeVersionEdit(edit({}));
    expect(encoded.length).toBe(0);
    expect(decodeVersionEdit(encoded, 'MANIFEST-000001', 0)).toEqual(edit({}));
  });

  it('decodes fields in any order', () => {
    const payload = Buffer.concat([
      varints(EditTag.deletedFile, 2, 7),
      varints(EditTag.lastSequence, 99),
      varints(EditTag.logNumber, 4),
    ]);
    expect(decodeVersionEdit(payload, 'M', 0)).toEqual({ added: [], deleted: [{ level: 2, fileNumber: 7 }], lastSequence: 99, logNumber: 4 });
  });

  it('copies keys out of the payload', () => {
    const payload = encodeVersionEdit(edit({ added: [segment(3, 1, 'a', 'b')] }));
    const decoded = decodeVersionEdit(payload, 'M', 0);
    payload.fill(0);
    expect(decoded.added[0]!.smallestKey.subarray(0, 1).toString()).toBe('a');
  });
});

describe('decodeVersionEdit errors', () => {
  it('rejects an unknown tag at its offset', () => {
    const error = decodeError(Buffer.concat([varints(EditTag.logNumber, 1), varints(42, 0)]));
    expect(error.offset).toBe(102);
    expect(error.message).toContain('unknown tag 42');
  });

  it('rejects tag 0', () => {
    expect(decodeError(varints(0)).message).toContain('unknown tag 0');
  });

  it('rejects a scalar field cut short', () => {
    const error = decodeError(varints(EditTag.nextFileNumber));
    expect(error.offset).toBe(101);
    expect(error.message).toContain('next file number missing');
  });

  it('rejects a varint whose continuation bit runs off the end', () => {
    const error = decodeError(Buffer.from([EditTag.lastSequence, 0x80, 0x80]));
    expect(error.offset).toBe(101);
    expect(error.message).toContain('last sequence missing');
  });

  it('rejects a varint longer than a safe integer', () => {
    const error = decodeError(Buffer.from([EditTag.lastSequence, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect(error.message).toContain('malformed varint');
  });

  it('rejects a repeated scalar', () => {
    const error = decodeError(Buffer.concat([varints(EditTag.logNumber, 1), varints(EditTag.logNumber, 2)]));
    expect(error.offset).toBe(102);
    expect(error.message).toContain('tag 1 appears twice');
  });

  it('rejects a deleted file with a level out of range', () => {
    const error = decodeError(varints(EditTag.deletedFile, levelCount, 5));
    expect(error.offset).toBe(101);
    expect(error.message).toContain(`level ${levelCount} is outside 0..${levelCount - 1}`);
  });

  it('rejects a deleted file cut short', () => {
    expect(decodeError(varints(EditTag.deletedFile, 1)).message).toContain('deleted file number missing');
  });

  it('rejects a compact pointer with a level out of range', () => {
    expect(decodeError(varints(EditTag.compactPointer, 99, 0)).message).toContain('level 99');
  });

  it('rejects a compact pointer key running past the end', () => {
    const error = decodeError(Buffer.concat([varints(EditTag.compactPointer, 1, 10), Buffer.from('abc')]));
    expect(error.offset).toBe(102);
    expect(error.message).toContain('runs past the end');
  });

  it('rejects a key longer than the key limit before reading it', () => {
    const error = decodeError(varints(EditTag.compactPointer, 1, 10_000_000));
    expect(error.message).toContain('exceeds the limit');
  });

  it('rejects an added file with a level out of range', () => {
    const good = encodeVersionEdit(edit({ added: [segment(3, 1, 'a', 'b')] }));
    const bad = Buffer.from(good);
    bad[1] = levelCount;
    const error = decodeError(bad);
    expect(error.offset).toBe(101);
    expect(error.message).toContain(`level ${levelCount}`);
  });

  it('rejects an added file cut short at every byte', () => {
    const good = encodeVersionEdit(edit({ added: [segment(3, 1, 'a', 'b')] }));
    for (let length = 1; length < good.length; length++) {
      const error = decodeError(good.subarray(0, length));
      expect(error.offset).toBeGreaterThanOrEqual(100);
      expect(error.offset).toBeLessThanOrEqual(100 + length);
    }
  });

  it('rejects an added file whose smallest key is after its largest key', () => {
    const payload = encodeVersionEdit(edit({ added: [segment(3, 1, 'z', 'a')] }));
    const error = decodeError(payload);
    expect(error.offset).toBe(100);
    expect(error.message).toContain('smallest key after its largest key');
  });

  it('rejects an added file with a key too short to hold a trailer', () => {
    const meta = { ...segment(3, 1, 'a', 'b'), smallestKey: Buffer.from('abc') };
    expect(decodeError(encodeVersionEdit(edit({ added: [meta] }))).message).toContain('malformed smallest key');
  });

  it('rejects an added file with more tombstones than entries', () => {
    const meta = segment(3, 1, 'a', 'b', { entryCount: 1, tombstoneCount: 2 });
    expect(decodeError(encodeVersionEdit(edit({ added: [meta] }))).message).toContain('2 tombstones but only 1 entries');
  });

  it('rejects an added file with its sequence range reversed', () => {
    const meta = segment(3, 1, 'a', 'b', { smallestSequence: 9, largestSequence: 2 });
    expect(decodeError(encodeVersionEdit(edit({ added: [meta] }))).message).toContain('smallest sequence 9 above largest sequence 2');
  });
});
