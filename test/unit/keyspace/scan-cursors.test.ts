// The SCAN cursor table (lib/keyspace/scan-cursors.ts): bounded, scoped, and
// forgetting old cursors rather than growing.

import { describe, expect, it } from 'vitest';
import { ScanCursors } from '../../../lib/keyspace/scan-cursors.js';

describe('ScanCursors', () => {
  it('resolves a cursor in its scope only', () => {
    const cursors = new ScanCursors(8, 100);
    const cursor = cursors.register('db:0', Buffer.from('k'));
    expect(cursor).toBe(100);
    expect(cursors.resolve('db:0', cursor)).toEqual(Buffer.from('k'));
    expect(cursors.resolve('db:1', cursor)).toBeUndefined();
    expect(cursors.resolve('db:0', cursor + 1)).toBeUndefined();
  });

  it('forgets a cursor once the ring has handed out `slots` newer ones', () => {
    const cursors = new ScanCursors(4, 1);
    const first = cursors.register('db:0', Buffer.from('a'));
    for (let index = 0; index < 3; index++) cursors.register('db:0', Buffer.from('b'));
    expect(cursors.resolve('db:0', first)).toEqual(Buffer.from('a'));
    cursors.register('db:0', Buffer.from('c'));
    expect(cursors.resolve('db:0', first)).toBeUndefined();
  });

  it('never hands out 0, which means "start" and "done"', () => {
    const cursors = new ScanCursors(4, Number.MAX_SAFE_INTEGER);
    expect(cursors.register('db:0', Buffer.from('a'))).toBe(Number.MAX_SAFE_INTEGER);
    const next = cursors.register('db:0', Buffer.from('b'));
    expect(next).toBe(1);
    expect(cursors.resolve('db:0', next)).toEqual(Buffer.from('b'));
  });

  it('keeps its own exact-size copy of a position, not a view that pins a pooled block', () => {
    const cursors = new ScanCursors(8, 1);
    const pooled = Buffer.from('key:1'); // a view of Node's 8 KiB pool
    const cursor = cursors.register('db:0', pooled);
    pooled.write('XXXXX');
    const kept = cursors.resolve('db:0', cursor)!;
    expect(kept.toString()).toBe('key:1');
    expect(kept.buffer.byteLength).toBe(5);
    expect(cursors.bytes).toBe(5 + 2 * 'db:0'.length);
  });

  it('forgets the oldest cursors once positions and scopes pass its byte bound', () => {
    const cursors = new ScanCursors(16, 1, 1000);
    const big = Buffer.alloc(300, 1);
    const first = cursors.register('db:0', big);
    const second = cursors.register('db:0', big);
    const third = cursors.register('db:0', big);
    expect(cursors.bytes).toBe(3 * 308);
    const fourth = cursors.register('db:0', big);
    expect(cursors.resolve('db:0', first)).toBeUndefined();
    for (const live of [second, third, fourth]) expect(cursors.resolve('db:0', live)).toEqual(big);
    expect(cursors.bytes).toBe(3 * 308);
    // Ring slots reused by later cursors give their bytes back.
    for (let index = 0; index < 40; index++) cursors.register('db:0', Buffer.from('k'));
    expect(cursors.bytes).toBe(16 * (1 + 8));
  });
});
