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
});
