// Transactions' limits over a real socket, made small: MULTI's queue
// (multiQueuedCommandsMax, multiQueuedBytesMax, mocked down from 100,000 and
// 1 GiB) and EXEC's batch (the engine's batchBytesMax, 600 bytes here). A
// command queued past the queue's limits fails the transaction (EXECABORT); a
// command whose writes would take EXEC's batch past the engine's limits
// answers an error in EXEC's reply, writes nothing, and the others run. The
// batch's operation limit (batchOpsMax) is the engine's test
// (test/unit/engine/lsm-engine.test.ts, "LsmEngine batch limits").

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RawClient, closeAll, closeServers, plain, startServer, type TestServer } from './harness.js';

vi.mock('../../../lib/limits.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../lib/limits.js')>()),
  multiQueuedCommandsMax: 5,
  multiQueuedBytesMax: 1000,
}));

describe('transaction limits', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer({}, { engineOptions: { batchBytesMax: 600 } });
  });
  afterEach(closeAll);
  afterAll(closeServers);

  it('a command queued past the count limit fails the transaction', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('MULTI'))).toBe('OK');
    for (let index = 0; index < 5; index++) expect(plain(await raw.call('SET', `q:${index}`, 'v'))).toBe('QUEUED');
    // 5 x (3 + 3 + 1) bytes of arguments queued, as CLIENT LIST shows them.
    const other = await RawClient.connect(silt.port);
    expect(String(plain(await other.call('CLIENT', 'LIST')))).toMatch(/ multi=5 .* multi-mem=35 /);
    expect(plain(await raw.call('SET', 'q:5', 'v'))).toEqual({ error: 'ERR Transaction too large: MULTI queues at most 5 commands' });
    expect(plain(await raw.call('EXEC'))).toEqual({ error: 'EXECABORT Transaction discarded because of previous errors.' });
    expect(await raw.call('EXISTS', 'q:0')).toBe(0);
  });

  it('a command queued past the byte limit fails the transaction; one within both limits runs', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('MULTI');
    expect(plain(await raw.call('SET', 'b:1', 'x'.repeat(500)))).toBe('QUEUED'); // 3 + 3 + 500 bytes of arguments
    expect(plain(await raw.call('SET', 'b:2', 'x'.repeat(500)))).toEqual({ error: 'ERR Transaction too large: MULTI queues at most 1000 bytes of arguments' });
    expect(plain(await raw.call('EXEC'))).toEqual({ error: 'EXECABORT Transaction discarded because of previous errors.' });
    await raw.call('MULTI');
    expect(plain(await raw.call('SET', 'b:1', 'x'.repeat(500)))).toBe('QUEUED');
    expect(plain(await raw.call('EXEC'))).toEqual(['OK']);
    expect(await raw.call('STRLEN', 'b:1')).toBe(500);
  });

  it("a command whose writes would take EXEC's batch past the engine's limit answers an error there, and the others run", async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('SELECT', '3');
    await raw.call('MULTI');
    await raw.call('SET', 'e:1', 'y'.repeat(280));
    await raw.call('SET', 'e:2', 'y'.repeat(280));
    await raw.call('SET', 'e:3', 'z');
    const replies = plain(await raw.call('EXEC')) as unknown[];
    expect(replies[0]).toBe('OK');
    expect((replies[1] as { error: string }).error).toMatch(/^ERR Cannot add 2 operations to this transaction: it would take \d+ bytes, and one transaction is one WAL record of at most 600$/);
    expect(replies[2]).toBe('OK');
    expect(plain(await raw.call('MGET', 'e:1', 'e:2', 'e:3'))).toEqual(['y'.repeat(280), null, 'z']);
    // Writes go on (a batch the WAL refused would have stopped them), and DBSIZE counts what EXEC wrote.
    expect(plain(await raw.call('SET', 'e:4', 'w'))).toBe('OK');
    expect(await raw.call('EXISTS', 'e:1', 'e:2', 'e:3', 'e:4')).toBe(3);
    expect(await raw.call('DBSIZE')).toBe(3);
  });
});
