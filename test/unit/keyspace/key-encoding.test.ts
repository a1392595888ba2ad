// Keyspace key encodings (lib/keyspace/key-encoding.ts) with fast-check.
//
// Strategy: random user keys (binary, including empty and 0xff runs), physical
// ids, versions, expiry times and doubles. Invariants: every encoding decodes
// to what it was given; bytewise order of encoded keys is the order the
// keyspace relies on (physical db first, then user key; expiry time first;
// numeric order of scores); one collection's subkeys lie inside its prefix
// range and never interleave with another key's. Run count: FC_RUNS (default 200).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KeyTag,
  decodeCounterKey,
  decodeExpiryKey,
  decodeMetadataKey,
  decodeOrderedDouble,
  decodeScoreKey,
  decodeSubkey,
  counterKey,
  encodeOrderedDouble,
  expiryBound,
  expiryKey,
  metadataKey,
  metadataPrefix,
  ownerOfCollectionKey,
  prefixEnd,
  prefixRange,
  readUint64BE,
  scoreKey,
  scorePrefix,
  subkey,
  subkeyPrefix,
  writeUint64BE,
} from '../../../lib/keyspace/key-encoding.js';

const runs = Number(process.env.FC_RUNS ?? 200);
const params = { numRuns: runs };

const userKey = fc.uint8Array({ maxLength: 24 }).map((bytes) => Buffer.from(bytes));
const biased = fc.oneof(userKey, fc.constantFrom(Buffer.alloc(0), Buffer.from([0xff, 0xff]), Buffer.from([0]), Buffer.from('a'), Buffer.from('ab')));
const physDb = fc.integer({ min: 0, max: 0xffff_ffff });
const version = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const expireMs = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const score = fc.double({ noNaN: true });

const compare = (a: Buffer, b: Buffer): number => Buffer.compare(a, b);
const sign = (value: number): number => Math.sign(value);

describe('key encoding round trips', () => {
  it('metadata keys', () => {
    fc.assert(
      fc.property(physDb, biased, (db, key) => {
        expect(decodeMetadataKey(metadataKey(db, key))).toEqual({ physDb: db, userKey: key });
      }),
      params,
    );
  });

  it('subkeys and their owner', () => {
    fc.assert(
      fc.property(physDb, biased, version, biased, (db, key, v, field) => {
        const encoded = subkey(db, key, v, field);
        expect(encoded[0]).toBe(KeyTag.subkey);
        expect(decodeSubkey(encoded)).toEqual({ physDb: db, userKey: key, version: v, field });
        expect(ownerOfCollectionKey(encoded)).toEqual({ metadataKey: metadataKey(db, key), version: v });
      }),
      params,
    );
  });

  it('score keys', () => {
    fc.assert(
      fc.property(physDb, biased, version, score, biased, (db, key, v, s, member) => {
        const decoded = decodeScoreKey(scoreKey(db, key, v, s, member));
        expect(decoded).toEqual({ physDb: db, userKey: key, version: v, score: s === 0 ? 0 : s, member });
      }),
      params,
    );
  });

  it('expiry and counter keys', () => {
    fc.assert(
      fc.property(expireMs, physDb, biased, (when, db, key) => {
        expect(decodeExpiryKey(expiryKey(when, db, key))).toEqual({ expireMs: when, physDb: db, userKey: key });
        expect(decodeCounterKey(counterKey(db))).toBe(db);
      }),
      params,
    );
  });

  it('u64 big-endian below 2^53', () => {
    fc.assert(
      fc.property(version, (value) => {
        const buffer = Buffer.alloc(8);
        writeUint64BE(buffer, 0, value);
        expect(readUint64BE(buffer, 0)).toBe(value);
        expect(buffer.readBigUInt64BE(0)).toBe(BigInt(value));
      }),
      params,
    );
  });

  it('refuses malformed keys with CorruptionError', () => {
    expect(() => decodeMetadataKey(Buffer.from([KeyTag.metadata, 0]))).toThrow(/malformed/);
    expect(() => decodeSubkey(Buffer.from([KeyTag.subkey, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2]))).toThrow(/malformed/);
    expect(() => decodeExpiryKey(Buffer.from([KeyTag.metadata]))).toThrow(/malformed/);
    expect(() => decodeScoreKey(subkey(0, Buffer.from('k'), 1, Buffer.alloc(0)))).toThrow(/malformed/);
  });
});

describe('key encoding order', () => {
  it('metadata keys sort by physical db, then bytewise by user key', () => {
    fc.assert(
      fc.property(physDb, biased, physDb, biased, (dbA, keyA, dbB, keyB) => {
        const expected = dbA !== dbB ? sign(dbA - dbB) : sign(compare(keyA, keyB));
        expect(sign(compare(metadataKey(dbA, keyA), metadataKey(dbB, keyB)))).toBe(expected);
      }),
      params,
    );
  });

  it('every metadata key of a db lies in its prefix range', () => {
    fc.assert(
      fc.property(physDb, biased, (db, key) => {
        const range = prefixRange(metadataPrefix(db));
        const encoded = metadataKey(db, key);
        expect(compare(encoded, range.gte)).toBeGreaterThanOrEqual(0);
        if (range.lt !== undefined) expect(compare(encoded, range.lt)).toBeLessThan(0);
      }),
      params,
    );
  });

  it('one collection’s subkeys stay inside its prefix range and never interleave with another key’s', () => {
    fc.assert(
      fc.property(biased, version, biased, biased, version, biased, (keyA, vA, fieldA, keyB, vB, fieldB) => {
        const prefixA = subkeyPrefix(3, keyA, vA);
        const end = prefixEnd(prefixA)!;
        const a = subkey(3, keyA, vA, fieldA);
        const b = subkey(3, keyB, vB, fieldB);
        expect(compare(a, prefixA)).toBeGreaterThanOrEqual(0);
        expect(compare(a, end)).toBeLessThan(0);
        const insideA = compare(b, prefixA) >= 0 && compare(b, end) < 0;
        expect(insideA).toBe(keyA.equals(keyB) && vA === vB);
      }),
      params,
    );
  });

  it('score keys of one sorted set sort by score, then member', () => {
    fc.assert(
      fc.property(score, biased, score, biased, (sA, mA, sB, mB) => {
        const a = scoreKey(1, Buffer.from('z'), 7, sA, mA);
        const b = scoreKey(1, Buffer.from('z'), 7, sB, mB);
        const expected = sA !== sB ? sign(sA - sB) : sign(compare(mA, mB));
        expect(sign(compare(a, b))).toBe(expected);
        const prefix = scorePrefix(1, Buffer.from('z'), 7);
        expect(compare(a, prefix)).toBeGreaterThan(0);
      }),
      params,
    );
  });

  it('expiry keys sort by time first, and expiryBound(t) is above every entry due before t', () => {
    fc.assert(
      fc.property(expireMs, physDb, biased, expireMs, (when, db, key, bound) => {
        const encoded = expiryKey(when, db, key);
        expect(compare(encoded, expiryBound(bound)) < 0).toBe(when < bound);
      }),
      params,
    );
  });

  it('the ordered double keeps numeric order and round-trips (-0 as +0)', () => {
    fc.assert(
      fc.property(score, score, (x, y) => {
        const a = Buffer.alloc(8);
        const b = Buffer.alloc(8);
        encodeOrderedDouble(x, a, 0);
        encodeOrderedDouble(y, b, 0);
        expect(sign(compare(a, b))).toBe(x === y ? 0 : sign(x - y));
        expect(Object.is(decodeOrderedDouble(a, 0), x === 0 ? 0 : x)).toBe(true);
      }),
      params,
    );
    expect(() => encodeOrderedDouble(Number.NaN, Buffer.alloc(8), 0)).toThrow(RangeError);
  });

  it('prefixEnd bounds every extension of the prefix and nothing else', () => {
    fc.assert(
      fc.property(biased, biased, (prefix, suffix) => {
        const end = prefixEnd(prefix);
        const extended = Buffer.concat([prefix, suffix]);
        if (end === undefined) {
          expect(prefix.every((byte) => byte === 0xff)).toBe(true);
        } else {
          expect(compare(extended, end)).toBeLessThan(0);
          expect(compare(end, prefix)).toBeGreaterThan(0);
        }
      }),
      params,
    );
    expect(prefixEnd(Buffer.from([0x01, 0xff]))).toEqual(Buffer.from([0x02]));
    expect(prefixEnd(Buffer.from([0xff]))).toBeUndefined();
  });
});
