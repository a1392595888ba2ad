import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LevelEngine } from '../../../lib/engine/level-engine.js';
import { openEngine } from '../../../lib/engine/open-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import type { Engine, EngineLogger } from '../../../lib/engine/engine.js';
import { CorruptionError, InvalidArgumentError, NotSupportedError } from '../../../lib/errors.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { defineEngineSuite } from '../../support/engine-suite.js';

// The shared Engine contract on LevelEngine, then what is particular to it:
// the read-only copy, option handling, error mapping and the pending-write
// overlay. See lib/engine/level-engine.ts and docs/engines.md.

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-level-engine-'));
let dirCount = 0;
const makeDir = (): string => path.join(root, `db-${++dirCount}`);

defineEngineSuite('LevelEngine', (dir, options) => LevelEngine.open(dir, options), {
  makeDir,
  cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
});

describe('LevelEngine specifics', () => {
  const engines: Engine[] = [];
  const open = async (dir: string, options: Parameters<typeof LevelEngine.open>[1] = {}): Promise<Engine> => {
    const engine = await LevelEngine.open(dir, options);
    engines.push(engine);
    return engine;
  };
  const b = (text: string): Buffer => Buffer.from(text);

  afterEach(async () => {
    // Engines a failed case left open; their close errors would hide the case's own failure.
    await Promise.allSettled(engines.splice(0).map((engine) => engine.close()));
  });

  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('declares what it cannot do, before and after opening', async () => {
    expect(LevelEngine.capabilities).toEqual({
      checkpoint: false,
      walArchive: false,
      compactionFilter: false,
      checksumVerification: false,
      snapshots: true,
    });
    const engine = await open(makeDir());
    expect(engine.kind).toBe('level');
    expect(engine.capabilities).toEqual(LevelEngine.capabilities);
  });

  it('openEngine("level") opens a LevelEngine and refuses an unknown kind', async () => {
    const engine = await openEngine('level', makeDir());
    engines.push(engine);
    expect(engine).toBeInstanceOf(LevelEngine);
    await expect(openEngine('rocks' as 'level', makeDir())).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('refuses a MemFileSystem with NotSupportedError', async () => {
    await expect(LevelEngine.open(makeDir(), { fs: new MemFileSystem() })).rejects.toBeInstanceOf(NotSupportedError);
  });

  it('a read-only open works while a writer holds the LOCK, on a copy taken at open', async () => {
    const dir = makeDir();
    const writer = await open(dir, { syncPolicy: 'always' });
    await writer.write(new WriteBatch().put(b('a'), b('1')));
    const reader = await open(dir, { readOnly: true });
    await writer.write(new WriteBatch().put(b('b'), b('2')));
    expect(reader.get(b('a'))).toEqual(b('1'));
    expect(reader.get(b('b'))).toBeUndefined();
    await expect(reader.flush()).rejects.toBeInstanceOf(NotSupportedError);
    await expect(reader.compactRange()).rejects.toBeInstanceOf(NotSupportedError);
    await reader.sync();
  });

  it('a read-only engine removes its private copy on close', async () => {
    const dir = makeDir();
    const writer = await open(dir);
    await writer.write(new WriteBatch().put(b('a'), b('1')));
    await writer.close();
    const before = new Set(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('silt-level-readonly-')));
    const reader = await open(dir, { readOnly: true });
    const copies = fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith('silt-level-readonly-') && !before.has(name));
    expect(copies).toHaveLength(1);
    await reader.close();
    expect(fs.existsSync(path.join(os.tmpdir(), copies[0] ?? 'missing'))).toBe(false);
  });

  it('warns that compactionFilter and walArchive are ignored', async () => {
    const warnings: string[] = [];
    const logger: EngineLogger = { info: () => undefined, warn: (_, message) => warnings.push(message), error: () => undefined };
    await open(makeDir(), {
      logger,
      compactionFilter: { module: 'file:///nowhere.mjs' },
      walArchive: { ageMs: 0, bytesMax: 0 },
    });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/compactionFilter/);
    expect(warnings[1]).toMatch(/walArchive/);
  });

  it('refuses an unknown sync policy at open', async () => {
    await expect(LevelEngine.open(makeDir(), { syncPolicy: 'sometimes' as 'always' })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('maps a damaged MANIFEST to CorruptionError naming the directory', async () => {
    const dir = makeDir();
    const engine = await open(dir);
    await engine.write(new WriteBatch().put(b('a'), b('1')));
    await engine.close();
    const manifest = fs.readdirSync(dir).find((name) => name.startsWith('MANIFEST-'));
    expect(manifest).toBeDefined();
    fs.writeFileSync(path.join(dir, manifest ?? ''), Buffer.alloc(100, 0x5a));
    const opening = LevelEngine.open(dir);
    await expect(opening).rejects.toBeInstanceOf(CorruptionError);
    await expect(opening).rejects.toMatchObject({ file: dir, offset: -1, code: 'CORRUPTION' });
  });

  it('stats count LevelDB tables per level and its log files', async () => {
    const engine = await open(makeDir());
    const batch = new WriteBatch();
    for (let index = 0; index < 100; index++) batch.put(b(`key-${index}`), Buffer.alloc(100, index));
    await engine.write(batch);
    expect(engine.stats().walFiles).toBeGreaterThan(0);
    expect(engine.stats().walBytes).toBeGreaterThan(0);
    await engine.flush();
    const levels = engine.stats().levels;
    expect(levels).toHaveLength(7);
    expect(levels.reduce((sum, level) => sum + level.segments, 0)).toBeGreaterThan(0);
    expect(levels.reduce((sum, level) => sum + level.bytes, 0)).toBeGreaterThan(0);
  });

  it('a limit counts entries after pending deletes hide stored ones', async () => {
    const engine = await open(makeDir());
    const batch = new WriteBatch();
    for (const key of ['a', 'b', 'c', 'd', 'e']) batch.put(b(key), b(key));
    await engine.write(batch);
    const deleting = engine.write(new WriteBatch().del(b('a')).del(b('b')).del(b('d')));
    const iterator = engine.iterator({ limit: 2 });
    const keys = (await iterator.nextv(10)).map(([key]) => key.toString());
    await iterator.close();
    await deleting;
    expect(keys).toEqual(['c', 'e']);
  });

  it('sync() under "no" resolves after a synced write and leaves data readable', async () => {
    const dir = makeDir();
    const engine = await open(dir, { syncPolicy: 'no' });
    await engine.write(new WriteBatch().put(b('a'), b('1')));
    await engine.write(new WriteBatch().del(b('gone')));
    await engine.sync();
    await engine.sync();
    expect(engine.get(b('a'))).toEqual(b('1'));
    expect(engine.get(b('gone'))).toBeUndefined();
  });

  it('checkpoint rejects with NotSupportedError', async () => {
    const engine = await open(makeDir());
    await expect(engine.checkpoint(makeDir())).rejects.toBeInstanceOf(NotSupportedError);
  });
});
