// FileHandle.append over preallocated zeros and FileSystem.copyPrefix, on both file systems, and the
// crash model of MemFileSystem for bytes written over synced ones.
// Strategy: write, preallocate, append and sync in a fixed order and check
// the file's bytes, its size() and length, and what a crash clone keeps.
// Invariants: append() writes at the end of what the handle appended, over
// the zeros; size() is that end; truncate() cuts the zeros too; a crash clone
// keeps synced bytes as they were at the sync, and with keepUnsyncedPrefix
// the writes since then persist in file order up to some byte.

import fsSync from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import type { FileSystem } from '../../../lib/fs/file-system.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

describe.each(['mem', 'node'] as const)('FileHandle.preallocate and copyPrefix on the %s file system', (kind) => {
  let dir: string;
  let fs: FileSystem;
  beforeEach(() => {
    if (kind === 'node') {
      dir = fsSync.mkdtempSync(path.join(os.tmpdir(), 'silt-fs-'));
      fs = new NodeFileSystem();
    } else {
      dir = 'data';
      fs = new MemFileSystem();
      fs.mkdir(dir);
    }
  });
  afterEach(() => {
    if (kind === 'node') fsSync.rmSync(dir, { recursive: true, force: true });
  });

  test('appends land on the zeros; size() is the end of the appends; truncate() cuts the zeros', () => {
    const file = `${dir}/a.log`;
    const handle = fs.open(file, 'create');
    handle.append(bytes('head'));
    handle.preallocate(10);
    expect(handle.size()).toBe(4);
    expect(fs.stat(file).size).toBe(14);
    handle.append(bytes('abc'));
    expect(handle.size()).toBe(7);
    expect(fs.readFile(file)).toEqual(Buffer.concat([bytes('headabc'), Buffer.alloc(7)]));
    // An append longer than the zeros left grows the file.
    handle.append(bytes('0123456789'));
    expect(fs.readFile(file)).toEqual(bytes('headabc0123456789'));
    handle.preallocate(300_000); // more than one write(2) of zeros on disk
    expect(fs.stat(file).size).toBe(17 + 300_000);
    handle.append(bytes('z'));
    handle.truncate(18);
    expect(handle.size()).toBe(18);
    expect(fs.readFile(file)).toEqual(bytes('headabc0123456789z'));
    handle.append(bytes('!'));
    expect(fs.readFile(file)).toEqual(bytes('headabc0123456789z!'));
    handle.close();
  });

  test('copies the first bytes only, refuses an existing target and a source shorter than asked', async () => {
    const source = `${dir}/source`;
    const file = fs.open(source, 'create');
    file.append(bytes('0123456789'));
    file.preallocate(4096); // zeros past the records, as a WAL file under `always` has
    file.close();
    await fs.copyPrefix(source, `${dir}/copy`, 6);
    expect(fs.readFile(`${dir}/copy`)).toEqual(bytes('012345'));
    await expect(fs.copyPrefix(source, `${dir}/copy`, 6)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(fs.copyPrefix(source, `${dir}/long`, 1_000_000)).rejects.toMatchObject({ code: 'ESHORT' });
    expect(fs.exists(`${dir}/long`), 'nothing left of a refused copy').toBe(false);
  });
});

describe('MemFileSystem crash clones of writes over synced zeros', () => {
  function setUp(): { fs: MemFileSystem; write: (text: string) => void; sync: () => void } {
    const fs = new MemFileSystem();
    fs.mkdir('d');
    const handle = fs.open('d/f', 'create');
    fs.syncDir('d');
    handle.append(bytes('HEAD'));
    handle.preallocate(8);
    handle.syncBlocking();
    return { fs, write: (text) => handle.append(bytes(text)), sync: () => handle.syncBlocking() };
  }

  test('unsynced writes over synced zeros are lost; synced ones kept', () => {
    const { fs, write, sync } = setUp();
    write('abc');
    expect(fs.crashClone().readFile('d/f')).toEqual(Buffer.concat([bytes('HEAD'), Buffer.alloc(8)]));
    sync();
    write('de');
    write('fghijk'); // past the zeros
    expect(fs.crashClone().readFile('d/f')).toEqual(Buffer.concat([bytes('HEADabc'), Buffer.alloc(5)]));
    sync();
    expect(fs.crashClone().readFile('d/f')).toEqual(bytes('HEADabcdefghijk'));
  });

  test('keepUnsyncedPrefix keeps the writes since the sync up to a byte, the synced bytes after it', () => {
    const { fs, write } = setUp();
    write('abc');
    write('defghijk'); // 3 bytes past the synced length of 12
    const seen = new Set<string>();
    for (let draw = 0; draw <= 11; draw++) {
      const clone = fs.crashClone({ keepUnsyncedPrefix: true, random: () => draw / 12 });
      const cut = 4 + draw; // the first unsynced byte is 4
      const expected = Buffer.alloc(Math.max(12, cut));
      bytes('HEADabcdefghijk').copy(expected, 0, 0, cut);
      expect(clone.readFile('d/f')).toEqual(expected);
      seen.add(clone.readFile('d/f').toString('latin1'));
    }
    expect(seen.size).toBe(12);
  });
});
