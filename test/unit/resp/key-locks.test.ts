// KeyLocks (service/resp/key-locks.ts): read locks share, a write lock
// excludes, a waiting write keeps new reads off, a reservation keeps
// everything off, names are per logical db, and release gives back exactly
// what acquire took.

import { describe, expect, it } from 'vitest';
import { KeyLocks } from '../../../service/resp/key-locks.js';

const id = (db: number, key: string): string => KeyLocks.id(db, Buffer.from(key, 'latin1'));
const set = (...ids: string[]): Set<string> => new Set(ids);

describe('KeyLocks', () => {
  it('read locks share with reads and exclude writes; a write lock excludes both', () => {
    const locks = new KeyLocks();
    locks.acquire(set(id(0, 'a'), id(0, 'b')), 'read');
    expect(locks.conflicts([id(0, 'a')], 'read')).toBe(false);
    expect(locks.conflicts([id(0, 'b')], 'write')).toBe(true);
    locks.acquire(set(id(0, 'a')), 'read');
    locks.acquire(set(id(0, 'c')), 'write');
    expect(locks.conflicts([id(0, 'c')], 'read')).toBe(true);
    expect(locks.conflicts([id(0, 'x'), id(0, 'c')], 'write')).toBe(true);
    expect(locks.conflicts([id(0, 'x')], 'write')).toBe(false);
    expect(() => locks.acquire(set(id(0, 'c')), 'read')).toThrow(/none conflicts/);
    expect(locks.size).toBe(3);
  });

  it('names a key per logical db, byte for byte', () => {
    const locks = new KeyLocks();
    locks.acquire(set(id(1, 'k')), 'write');
    expect(locks.conflicts([id(0, 'k'), id(11, 'k')], 'write')).toBe(false);
    expect(id(1, '1:k')).not.toBe(id(11, ':k'));
    expect(KeyLocks.id(0, Buffer.from([0xff, 0x00]))).not.toBe(KeyLocks.id(0, Buffer.from([0xff])));
  });

  it('release gives back each acquire, the last one frees the key', () => {
    const locks = new KeyLocks();
    const ab = set(id(0, 'a'), id(0, 'b'));
    locks.acquire(ab, 'read');
    locks.acquire(set(id(0, 'a')), 'read');
    locks.release(ab, 'read');
    expect(locks.size).toBe(1);
    expect(locks.conflicts([id(0, 'a')], 'write')).toBe(true);
    locks.release(set(id(0, 'a')), 'read');
    expect(locks.size).toBe(0);
    locks.acquire(set(id(0, 'a')), 'write');
    expect(() => locks.release(set(id(0, 'a')), 'read')).toThrow(/is held/);
    locks.release(set(id(0, 'a')), 'write');
    expect(locks.size).toBe(0);
    expect(() => locks.release(set(id(0, 'a')), 'write')).toThrow(/is held/);
  });

  it('a waiting write keeps new read locks off its keys, not writes; a reservation keeps both off', () => {
    const locks = new KeyLocks();
    const a = set(id(0, 'a'));
    locks.acquire(a, 'read');
    locks.markWaiting(a, 1);
    expect(locks.conflicts(a, 'read')).toBe(true);
    expect(() => locks.acquire(a, 'read')).toThrow(/none conflicts/);
    locks.markWaiting(a, -1);
    expect(locks.conflicts(a, 'read')).toBe(false);
    locks.release(a, 'read');
    expect(locks.size).toBe(0);
    const b = set(id(0, 'b'));
    locks.reserve(b, 1);
    expect([locks.conflicts(b, 'read'), locks.conflicts(b, 'write'), locks.size]).toEqual([true, true, 1]);
    locks.reserve(b, -1);
    expect([locks.conflicts(b, 'write'), locks.size]).toEqual([false, 0]);
    expect(() => locks.reserve(b, -1)).toThrow(/freed once/);
  });
});
