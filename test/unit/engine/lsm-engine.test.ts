import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { defineEngineSuite } from '../../support/engine-suite.js';

// The shared Engine contract on LsmEngine, over the real file system (with
// worker-thread flush and compaction) and over MemFileSystem (inline).

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-lsm-engine-'));
let dirCount = 0;

defineEngineSuite('LsmEngine on NodeFileSystem', (dir, options) => LsmEngine.open(dir, options), {
  makeDir: () => path.join(root, `db-${++dirCount}`),
  cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
});

const memFs = new MemFileSystem();
let memCount = 0;
defineEngineSuite('LsmEngine on MemFileSystem', (dir, options) => LsmEngine.open(dir, options), {
  makeDir: () => `/mem/db-${++memCount}`,
  options: { fs: memFs },
});
