// CURRENT: its one-line format, every malformed variant as a CorruptionError
// naming "CURRENT", and write-temp/rename/sync-directory replacement.

import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../../lib/errors.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { readCurrent, writeCurrent } from '../../../lib/manifest/current-file.js';

function freshFs(): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir('/db');
  return fs;
}

describe('CURRENT', () => {
  it('writes and reads a manifest name', () => {
    const fs = freshFs();
    writeCurrent(fs, '/db', 'MANIFEST-000007');
    expect(fs.readFile('/db/CURRENT').toString()).toBe('MANIFEST-000007\n');
    expect(readCurrent(fs, '/db')).toBe('MANIFEST-000007');
    expect(fs.exists('/db/CURRENT.tmp')).toBe(false);
  });

  it('is durable once writeCurrent returns', () => {
    const fs = freshFs();
    writeCurrent(fs, '/db', 'MANIFEST-000007');
    expect(readCurrent(fs.crashClone(), '/db')).toBe('MANIFEST-000007');
  });

  it('overwrites a leftover CURRENT.tmp', () => {
    const fs = freshFs();
    fs.writeFileSync('/db/CURRENT.tmp', Buffer.from('garbage'));
    writeCurrent(fs, '/db', 'MANIFEST-000008');
    expect(readCurrent(fs, '/db')).toBe('MANIFEST-000008');
  });

  it('asserts that it names a manifest', () => {
    expect(() => writeCurrent(freshFs(), '/db', 'MANIFEST-7')).toThrow(/CURRENT names a manifest/);
  });

  const cases: [name: string, content: string | undefined, offset: number, text: string][] = [
    ['missing', undefined, 0, 'the file is missing'],
    ['empty', '', 0, 'no newline'],
    ['without a newline', 'MANIFEST-000007', 15, 'no newline'],
    ['with bytes after the newline', 'MANIFEST-000007\nMANIFEST-000008\n', 16, 'bytes after the newline'],
    ['with a CRLF', 'MANIFEST-000007\r\n', 0, 'found "MANIFEST-000007\\r"'],
    ['naming a non-canonical number', 'MANIFEST-7\n', 0, 'found "MANIFEST-7"'],
    ['naming a WAL file', '000007.log\n', 0, 'found "000007.log"'],
    ['too long', `MANIFEST-${'0'.repeat(100)}\n`, 64, 'more than a manifest name takes'],
  ];
  for (const [name, content, offset, text] of cases) {
    it(`is corrupt when ${name}`, () => {
      const fs = freshFs();
      if (content !== undefined) fs.writeFileSync('/db/CURRENT', Buffer.from(content));
      let error: unknown;
      try {
        readCurrent(fs, '/db');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(CorruptionError);
      expect(error).toMatchObject({ file: 'CURRENT', offset, code: 'CORRUPTION' });
      expect((error as Error).message).toContain(text);
      expect((error as Error).message).toMatch(/^Cannot read "CURRENT" at offset \d+: /);
    });
  }
});
