// Recovery must not depend on the WAL replay thread: when it cannot start
// (here: its constructor throws, as it does when the worker script is
// missing), the engine replays on the main thread and says so in its log.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, test, vi } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';

vi.mock('../../../lib/wal/wal-replay-thread.js', () => ({
  WalReplayThread: class {
    constructor() {
      throw new Error('Cannot find "dist/lib/wal/wal-replay-worker.js": run `npm run build` first');
    }
  },
}));

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-replay-fallback-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('a replay thread that cannot start leaves the replay to the main thread', async () => {
  const dir = path.join(root, 'db');
  const writer = await LsmEngine.open(dir);
  for (let index = 0; index < 100; index++) await writer.write(new WriteBatch().put(Buffer.from(`key-${index}`), Buffer.from(`value-${index}`)));
  await writer.close();
  const warnings: string[] = [];
  const logger = { info() {}, warn: (_object: object, message: string) => warnings.push(message), error() {} };
  const engine = await LsmEngine.open(dir, { walReplayThreadBytesMin: 0, logger });
  expect(engine.recovery.walRecordsReplayed).toBe(100);
  expect(engine.get(Buffer.from('key-99'))?.toString()).toBe('value-99');
  expect(warnings).toContain('WAL replay thread could not start; replaying on the main thread');
  await engine.close();
});
