// Shared builders and fast-check arbitraries for the manifest tests.

import fc from 'fast-check';
import { makeInternalKey, ValueType } from '../../../lib/format/internal-key.js';
import { levelCount } from '../../../lib/limits.js';
import type { SegmentMeta } from '../../../lib/manifest/segment-meta.js';
import type { VersionEdit } from '../../../lib/manifest/version-edit.js';
import type { Version } from '../../../lib/manifest/version.js';

/** Runs per property, from the environment (FC_NUM_RUNS), default 200. */
export const numRuns = Number(process.env['FC_NUM_RUNS'] ?? 200);

/** A segment on user keys `smallest`..`largest` (strings), with sensible defaults. */
export function segment(fileNumber: number, level: number, smallest: string, largest: string, extra: Partial<SegmentMeta> = {}): SegmentMeta {
  const smallestSequence = extra.smallestSequence ?? fileNumber;
  const largestSequence = extra.largestSequence ?? fileNumber * 10;
  return {
    fileNumber,
    level,
    fileBytes: 1000 + fileNumber,
    smallestKey: makeInternalKey(Buffer.from(smallest), largestSequence, ValueType.put),
    largestKey: makeInternalKey(Buffer.from(largest), smallestSequence, ValueType.put),
    smallestSequence,
    largestSequence,
    entryCount: 10,
    tombstoneCount: 1,
    createdMs: 1_795_316_400_000 + fileNumber,
    ...extra,
  };
}

/** An edit with only the given parts. */
export function edit(parts: Partial<VersionEdit>): VersionEdit {
  return { added: [], deleted: [], ...parts };
}

/** A plain description of a version for deep equality (Buffers as hex). */
export function describeVersion(version: Version): unknown {
  return {
    levels: version.levels.map((files) => files.map(describeMeta)),
    compactPointers: version.compactPointers.map((key) => key?.toString('hex')),
  };
}

export function describeMeta(meta: SegmentMeta): unknown {
  return { ...meta, smallestKey: meta.smallestKey.toString('hex'), largestKey: meta.largestKey.toString('hex') };
}

const userKeyArbitrary = fc.uint8Array({ minLength: 0, maxLength: 12 }).map((bytes) => Buffer.from(bytes));
const sequenceArbitrary = fc.maxSafeNat();
const typeArbitrary = fc.constantFrom(ValueType.delete, ValueType.put);
const countArbitrary = fc.oneof(fc.nat({ max: 1000 }), fc.maxSafeNat());

/** Any well-formed SegmentMeta (smallest key <= largest, sequence and count relations hold). */
export const segmentMetaArbitrary: fc.Arbitrary<SegmentMeta> = fc
  .record({
    fileNumber: countArbitrary,
    level: fc.integer({ min: 0, max: levelCount - 1 }),
    fileBytes: countArbitrary,
    keys: fc.tuple(userKeyArbitrary, sequenceArbitrary, typeArbitrary, userKeyArbitrary, sequenceArbitrary, typeArbitrary),
    sequences: fc.tuple(sequenceArbitrary, sequenceArbitrary),
    counts: fc.tuple(countArbitrary, countArbitrary),
    createdMs: countArbitrary,
  })
  .map(({ fileNumber, level, fileBytes, keys, sequences, counts, createdMs }) => {
    let a = makeInternalKey(keys[0], keys[1], keys[2]);
    let b = makeInternalKey(keys[3], keys[4], keys[5]);
    if (Buffer.compare(keys[0], keys[3]) > 0 || (keys[0].equals(keys[3]) && keys[1] < keys[4])) [a, b] = [b, a];
    return {
      fileNumber,
      level,
      fileBytes,
      smallestKey: a,
      largestKey: b,
      smallestSequence: Math.min(...sequences),
      largestSequence: Math.max(...sequences),
      entryCount: Math.max(...counts),
      tombstoneCount: Math.min(...counts),
      createdMs,
    };
  });

/** Any encodable VersionEdit. */
export const versionEditArbitrary: fc.Arbitrary<VersionEdit> = fc
  .record(
    {
      logNumber: countArbitrary,
      nextFileNumber: countArbitrary,
      lastSequence: sequenceArbitrary,
      added: fc.array(segmentMetaArbitrary, { maxLength: 5 }),
      deleted: fc.array(fc.record({ level: fc.integer({ min: 0, max: levelCount - 1 }), fileNumber: countArbitrary }), { maxLength: 5 }),
      compactPointers: fc.array(
        fc.record({ level: fc.integer({ min: 0, max: levelCount - 1 }), key: fc.uint8Array({ maxLength: 20 }).map((bytes) => Buffer.from(bytes)) }),
        { minLength: 1, maxLength: 3 },
      ),
    },
    { requiredKeys: ['added', 'deleted'] },
  )
  .map((value) => value as VersionEdit);
