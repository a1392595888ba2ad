// `silt checkpoint` on a stopped directory: the copy opens at the same
// sequence with the same data and passes verify; the source is unchanged;
// --name/--list/--delete/--keep manage DIR/checkpoints/; a directory a live
// engine holds is refused (pointing to BGSAVE), and a damaged one too. A copy
// that fails half-way (a full disk, a source segment gone) is removed, and
// only what the run created: it used to stay, segments and WAL files without
// CHECKPOINT, for --list, --keep and restore to find.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { systemError } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { checkpoint } from '../../../tools/checkpoint.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { verify } from '../../../tools/verify.js';
import { captureIo, copyFixture, hashTree, loadExpected, makeScratch, readEntries, removeScratch } from './tool-test-helpers.js';

let scratch: string;

beforeAll(() => {
  scratch = makeScratch('checkpoint');
});

afterAll(() => {
  removeScratch(scratch);
});

async function pause(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('silt checkpoint', () => {
  test('--out copies a stopped directory: same data, same sequence, passes verify, source unchanged', async () => {
    const dir = copyFixture(scratch, 'healthy');
    const before = hashTree(dir);
    const out = path.join(scratch, 'healthy-checkpoint');
    const { io, stdout } = captureIo();
    const result = await checkpoint({ dir, out, json: true }, io);
    expect(result.exitCode).toBe(0);
    expect(result.report!.created).toMatchObject({ path: out, sequence: 78, linkedFiles: 2, copiedFiles: 2 });
    expect(JSON.parse(stdout.text)).toMatchObject({ action: 'create', created: { sequence: 78 } });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'CHECKPOINT'), 'utf8'))).toMatchObject({ sequence: 78, source: path.resolve(dir) });
    expect(hashTree(dir)).toEqual(before);
    expect(await readEntries(out)).toEqual(loadExpected('healthy').entries);
    expect((await verify({ dir: out }, captureIo().io)).exitCode).toBe(0);
    // Segments are hard links: the same inode, no bytes copied.
    expect(fs.statSync(path.join(out, 'seg/000005.sst')).ino).toBe(fs.statSync(path.join(dir, 'seg/000005.sst')).ino);
  });

  test('a torn WAL tail is copied as is; the checkpoint opens at the same sequence', async () => {
    const dir = copyFixture(scratch, 'torn-wal-tail');
    const out = path.join(scratch, 'torn-checkpoint');
    const result = await checkpoint({ dir, out }, captureIo().io);
    expect(result.exitCode).toBe(0);
    expect(await readEntries(out)).toEqual(loadExpected('torn-wal-tail').entries);
  });

  test('--name, --list, --keep and --delete manage DIR/checkpoints/', async () => {
    const dir = copyFixture(scratch, 'healthy', '-named');
    for (const name of ['first', 'second', 'third']) {
      expect((await checkpoint({ dir, name }, captureIo().io)).exitCode).toBe(0);
      await pause(3); // distinct CHECKPOINT times, which order the list
    }
    const listed = await checkpoint({ dir, list: true, json: true }, captureIo().io);
    expect(listed.report!.checkpoints.map((entry) => [entry.name, entry.sequence])).toEqual([
      ['first', 78],
      ['second', 78],
      ['third', 78],
    ]);
    const pruned = await checkpoint({ dir, keep: 2 }, captureIo().io);
    expect(pruned.report!.deleted).toEqual([path.join(dir, 'checkpoints', 'first')]);
    expect(pruned.report!.checkpoints.map((entry) => entry.name)).toEqual(['second', 'third']);
    const { io, stdout } = captureIo();
    expect((await checkpoint({ dir, delete: 'second' }, io)).exitCode).toBe(0);
    expect(stdout.text).toContain(`Deleted ${path.join(dir, 'checkpoints', 'second')}`);
    expect(fs.readdirSync(path.join(dir, 'checkpoints'))).toEqual(['third']);
    // The data directory itself still opens, with the checkpoints beside it.
    expect(await readEntries(dir)).toEqual(loadExpected('healthy').entries);
    expect(await readEntries(path.join(dir, 'checkpoints', 'third'))).toEqual(loadExpected('healthy').entries);
  });

  test('refuses while a live engine holds DIR, pointing to BGSAVE; --list still works', async () => {
    const dir = copyFixture(scratch, 'healthy', '-live');
    const engine = await LsmEngine.open(dir, { backgroundExecutor: 'inline' });
    try {
      const { io, stderr } = captureIo();
      const result = await checkpoint({ dir, out: path.join(scratch, 'live-checkpoint') }, io);
      expect(result.exitCode).toBe(2);
      expect(stderr.text).toContain('held by a running server');
      expect(stderr.text).toContain('BGSAVE');
      expect(fs.existsSync(path.join(scratch, 'live-checkpoint'))).toBe(false);
      await engine.checkpoint(path.join(engine.checkpointsDir, 'by-server'));
      const listed = await checkpoint({ dir, list: true, json: true }, captureIo().io);
      expect(listed.exitCode).toBe(0);
      expect(listed.report!.checkpoints.map((entry) => entry.name)).toEqual(['by-server']);
      const deleted = captureIo();
      expect((await checkpoint({ dir, delete: 'by-server' }, deleted.io)).exitCode).toBe(2);
    } finally {
      await engine.close();
    }
  });

  test('a damaged directory is refused with exit 1 and nothing is written', async () => {
    const dir = copyFixture(scratch, 'wal-mid-corruption');
    const out = path.join(scratch, 'damaged-checkpoint');
    const { io, stderr } = captureIo();
    const result = await checkpoint({ dir, out }, io);
    expect(result.exitCode).toBe(1);
    expect(stderr.text).toContain('offset 91');
    expect(stderr.text).toContain('silt recover');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a copy that fails half-way (a full disk) is removed with the directories made for it; exit 2 naming the error', async () => {
    const dir = copyFixture(scratch, 'healthy', '-full-disk');
    const before = hashTree(dir);
    const parent = path.join(scratch, 'made-for-it');
    const out = path.join(parent, 'below', 'checkpoint');
    const faulty = new FaultFileSystem(new NodeFileSystem());
    // The segments are linked; the first WAL file copied finds the disk full.
    faulty.injectFault((op, file) => (op === 'write' && file.startsWith(`${out}/wal/`) ? systemError('ENOSPC', 'write', file) : undefined));
    const { io, stdout, stderr } = captureIo();
    const result = await checkpoint({ dir, out, fs: faulty }, io);
    expect(result.exitCode).toBe(2);
    expect(fs.existsSync(parent)).toBe(false);
    expect(hashTree(dir)).toEqual(before);
    expect(stderr.text).toContain(`silt checkpoint: Cannot checkpoint "${dir}" to "${out}": ENOSPC: write "${out}/wal/`);
    expect(stderr.text).toContain(`removed the partial copy, with the directories made for it from "${parent}" down. "${dir}" was not modified`);
    expect(stdout.text).toBe('');
  });

  test('into an empty directory that was there: only what the run wrote is removed, the directory stays; --json gives the error', async () => {
    const dir = copyFixture(scratch, 'healthy', '-empty-target');
    const out = path.join(scratch, 'empty-target');
    fs.mkdirSync(out);
    const faulty = new FaultFileSystem(new NodeFileSystem());
    // Everything is copied and the manifest written; CHECKPOINT, the last file, fails.
    faulty.injectFault((op, file) => (op === 'write' && file === `${out}/CHECKPOINT` ? systemError('EIO', 'write', file) : undefined));
    const { io, stdout } = captureIo();
    const result = await checkpoint({ dir, out, json: true, fs: faulty }, io);
    expect(result.exitCode).toBe(2);
    expect(fs.readdirSync(out)).toEqual([]);
    const error = (JSON.parse(stdout.text) as { ok: boolean; error: { code: string; message: string } }).error;
    expect(error.code).toBe('EIO');
    expect(error.message).toContain(`removed what it wrote into "${out}"`);
  });

  test('--name: a source segment gone half-way; the partial checkpoint is removed, the other checkpoints stay', async () => {
    const dir = copyFixture(scratch, 'healthy', '-vanishing');
    expect((await checkpoint({ dir, name: 'kept' }, captureIo().io)).exitCode).toBe(0);
    const target = path.join(dir, 'checkpoints', 'failed');
    const faulty = new FaultFileSystem(new NodeFileSystem());
    // The second segment disappears just before it is linked (another process deleted it).
    faulty.injectFault((op, file) => {
      if (op === 'link' && file === `${target}/seg/000010.sst`) fs.rmSync(path.join(dir, 'seg/000010.sst'));
      return undefined;
    });
    const { io, stderr } = captureIo();
    const result = await checkpoint({ dir, name: 'failed', fs: faulty }, io);
    expect(result.exitCode).toBe(2);
    expect(fs.readdirSync(path.join(dir, 'checkpoints'))).toEqual(['kept']);
    const listed = await checkpoint({ dir, list: true, json: true }, captureIo().io);
    expect(listed.report!.checkpoints.map((entry) => [entry.name, entry.problem])).toEqual([['kept', null]]);
    expect(stderr.text).toContain(`silt checkpoint: Cannot checkpoint "${dir}" to "${target}": ENOENT`);
    expect(stderr.text).toContain(`removed the partial copy "${target}"`);
  });

  test('usage errors exit 2', async () => {
    const dir = copyFixture(scratch, 'healthy', '-usage');
    for (const options of [{}, { out: 'a', list: true }, { name: '../escape' }, { keep: 0 }, { out: path.join(dir, 'inside') }]) {
      const { io, stderr } = captureIo();
      expect((await checkpoint({ dir, ...options }, io)).exitCode, JSON.stringify(options)).toBe(2);
      expect(stderr.text).not.toBe('');
    }
  });
});
