// The space reserve (lib/engine/reserve.ts): LsmEngine writes RESERVE while
// the disk has room; an open that fails on a full disk deletes it and opens
// in its space, with every acknowledged write readable; it is written again
// after a flush once the disk has room, never while another process holds
// the directory's LOCK, and deleted when reserveBytes is 0. A full disk is
// modelled on MemFileSystem: every write fails with ENOSPC while RESERVE
// exists (a disk with no byte left), and freeBytes() says what statfs would.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import type { EngineOptions } from '../../../lib/engine/engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { InvalidArgumentError, IoError } from '../../../lib/errors.js';
import { reservePath, reserveTempFileName } from '../../../lib/format/file-names.js';
import { MemFileSystem, systemError, type FaultOperation } from '../../../lib/fs/mem-file-system.js';
import { reserveHeadroomBytes } from '../../../lib/limits.js';
import { probeDataDirectory } from '../../../lib/manifest/manifest-reader.js';
import { waitFor } from '../../support/engine-test-helpers.js';

const dir = '/db';
const reserveBytes = 200 * 1024 + 7; // not a whole number of the writer's chunks
const engines: LsmEngine[] = [];
const roots: string[] = [];

afterEach(async () => {
  for (const engine of engines.splice(0)) await engine.close().catch(() => undefined);
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function options(fs: MemFileSystem, extra: EngineOptions = {}): EngineOptions {
  return { fs, backgroundExecutor: 'inline', syncPolicy: 'always', reserveBytes, ...extra };
}

async function open(fs: MemFileSystem, extra: EngineOptions = {}): Promise<LsmEngine> {
  const engine = await LsmEngine.open(dir, options(fs, extra));
  engines.push(engine);
  return engine;
}

async function closeAll(): Promise<void> {
  for (const engine of engines.splice(0)) await engine.close();
}

const writes: ReadonlySet<FaultOperation> = new Set(['write', 'append', 'preallocate']);

/** A disk with no byte left while RESERVE holds its space: every write fails with ENOSPC until it is deleted. */
function fillDisk(fs: MemFileSystem): void {
  fs.freeBytesValue = 0;
  fs.injectFault((operation, path) => (writes.has(operation) && fs.exists(reservePath(dir)) ? systemError('ENOSPC', operation, path) : undefined));
}

const reserveSize = (fs: MemFileSystem): number | undefined => (fs.exists(reservePath(dir)) ? fs.stat(reservePath(dir)).size : undefined);

/** An engine with keys k0..k{count-1} written, closed after its reserve is on disk. */
async function populated(fs: MemFileSystem, count: number): Promise<void> {
  const engine = await open(fs);
  for (let index = 0; index < count; index++) await engine.write(new WriteBatch().put(Buffer.from(`k${index}`), Buffer.from(`v${index}`)));
  expect(await waitFor(() => reserveSize(fs) === reserveBytes, 5000)).toBe(true);
  await closeAll();
}

describe('the space reserve', () => {
  test('is written at open, whole and not zeros, and reported in stats', async () => {
    const fs = new MemFileSystem();
    const engine = await open(fs);
    expect(await waitFor(() => engine.stats().reserve?.bytes === reserveBytes, 5000)).toBe(true);
    expect(reserveSize(fs)).toBe(reserveBytes);
    expect(fs.exists(`${dir}/${reserveTempFileName}`)).toBe(false);
    const bytes = fs.readFile(reservePath(dir));
    expect(bytes.subarray(0, 4096).some((byte) => byte !== 0)).toBe(true);
    expect(engine.stats().reserve).toEqual({ bytes: reserveBytes, releasedAtOpenBytes: 0 });
    // A directory holding only the reserve (and LOCK) is no database with a lost CURRENT.
    const bare = new MemFileSystem();
    bare.mkdir('/bare');
    bare.writeFileSync(reservePath('/bare'), bytes);
    expect(probeDataDirectory(bare, '/bare').state).toBe('empty');
  });

  test('an open that asks no size (a tool) leaves it alone, even on a full disk; reserveBytes 0 deletes it', async () => {
    const fs = new MemFileSystem();
    await populated(fs, 3);
    const unsaid = { fs, backgroundExecutor: 'inline' } as const;
    let engine = await LsmEngine.open(dir, unsaid);
    engines.push(engine);
    await engine.write(new WriteBatch().put(Buffer.from('tool'), Buffer.from('write')));
    await engine.flush();
    expect(reserveSize(fs)).toBe(reserveBytes);
    expect(engine.stats().reserve).toEqual({ bytes: reserveBytes, releasedAtOpenBytes: 0 });
    await closeAll();
    fillDisk(fs);
    await expect(LsmEngine.open(dir, unsaid)).rejects.toThrow(/ENOSPC/);
    expect(reserveSize(fs)).toBe(reserveBytes);
    fs.injectFault(undefined);
    engine = await open(fs, { reserveBytes: 0 });
    expect(reserveSize(fs)).toBeUndefined();
    expect(engine.stats().reserve).toEqual({ bytes: 0, releasedAtOpenBytes: 0 });
    await closeAll();
    engines.push(await LsmEngine.open(dir, unsaid));
    expect(reserveSize(fs)).toBeUndefined();
  });

  test('refuses a size it cannot keep', async () => {
    for (const bad of [-1, 1.5, 2 ** 40, Number.NaN]) {
      await expect(LsmEngine.open(dir, options(new MemFileSystem(), { reserveBytes: bad }))).rejects.toThrow(InvalidArgumentError);
    }
  });

  test('an open on a full disk deletes the reserve, opens in its space, and serves every acknowledged write', async () => {
    const fs = new MemFileSystem();
    await populated(fs, 20);
    fillDisk(fs);
    const engine = await open(fs);
    expect(reserveSize(fs)).toBeUndefined();
    expect(engine.stats().reserve).toEqual({ bytes: 0, releasedAtOpenBytes: reserveBytes });
    for (let index = 0; index < 20; index++) expect(engine.get(Buffer.from(`k${index}`))?.toString()).toBe(`v${index}`);
    // The freed space takes writes (the fault is gone with the reserve) ...
    await engine.write(new WriteBatch().put(Buffer.from('after'), Buffer.from('start')));
    // ... and the reserve is not taken back while the disk has less than the headroom free.
    fs.freeBytesValue = reserveBytes + reserveHeadroomBytes - 1;
    await engine.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reserveSize(fs)).toBeUndefined();
    // Space freed beside the server: the next flush writes the reserve again.
    fs.freeBytesValue = reserveBytes + reserveHeadroomBytes;
    await engine.write(new WriteBatch().put(Buffer.from('more'), Buffer.from('room')));
    await engine.flush();
    expect(await waitFor(() => reserveSize(fs) === reserveBytes, 5000)).toBe(true);
    expect(engine.stats().reserve).toEqual({ bytes: reserveBytes, releasedAtOpenBytes: reserveBytes });
    await closeAll();
    const reopened = await open(fs);
    expect(reopened.get(Buffer.from('after'))?.toString()).toBe('start');
    expect(reopened.get(Buffer.from('k19'))?.toString()).toBe('v19');
  });

  test('without a reserve, an open on a full disk fails as before, naming ENOSPC', async () => {
    const fs = new MemFileSystem();
    await populated(fs, 2);
    await open(fs, { reserveBytes: 0 });
    await closeAll();
    fs.freeBytesValue = 0;
    fs.injectFault((operation, path) => (writes.has(operation) ? systemError('ENOSPC', operation, path) : undefined));
    const failure = await LsmEngine.open(dir, options(fs)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IoError);
    expect((failure as IoError).errno).toBe('ENOSPC');
    fs.injectFault(undefined);
    const engine = await open(fs, { reserveBytes: 0 });
    expect(engine.get(Buffer.from('k1'))?.toString()).toBe('v1');
  });

  test('an open refused for another reason keeps the reserve', async () => {
    const fs = new MemFileSystem();
    await populated(fs, 2);
    fs.injectFault((operation, path) => (writes.has(operation) ? systemError('EIO', operation, path) : undefined));
    await expect(LsmEngine.open(dir, options(fs))).rejects.toThrow(/EIO/);
    expect(reserveSize(fs)).toBe(reserveBytes);
  });

  test('a second open of a directory a live process holds leaves that process its reserve', async () => {
    const fs = new MemFileSystem();
    const holder = await open(fs);
    expect(await waitFor(() => reserveSize(fs) === reserveBytes, 5000)).toBe(true);
    fillDisk(fs);
    // This process's LOCK names a live process (this one): the second open fails on a full disk, and deletes nothing.
    await expect(LsmEngine.open(dir, options(fs))).rejects.toThrow(/ENOSPC|LOCK/);
    expect(reserveSize(fs)).toBe(reserveBytes);
    expect(holder.get(Buffer.from('absent'))).toBeUndefined();
  });

  test('on disk: a real file of the size asked, rewritten when the size changes', async () => {
    const root = mkdtempSync(join(tmpdir(), 'silt-reserve-'));
    roots.push(root);
    const path = join(root, 'db');
    let engine = await LsmEngine.open(path, { reserveBytes: 100_000 });
    engines.push(engine);
    expect(await waitFor(() => engine.stats().reserve?.bytes === 100_000, 5000)).toBe(true);
    expect(readFileSync(join(path, 'RESERVE')).length).toBe(100_000);
    await closeAll();
    engine = await LsmEngine.open(path, { reserveBytes: 300_000 });
    engines.push(engine);
    expect(await waitFor(() => engine.stats().reserve?.bytes === 300_000, 5000)).toBe(true);
    expect(readFileSync(join(path, 'RESERVE')).length).toBe(300_000);
  });
});
