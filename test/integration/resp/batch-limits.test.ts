// A write one engine batch cannot hold (batchOpsMax, mocked down from
// 4,194,304 to 1,000 here) is refused before it is built, with the key and
// the counts: a STORE result (SUNIONSTORE and the like: a write per member;
// ZUNIONSTORE and the like: two, the member and its score entry) and a
// RENAME or COPY of a collection. Nothing is written, and the server goes on.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RawClient, closeAll, closeServers, encodeCommand, plain, startServer, type TestServer } from './harness.js';

vi.mock('../../../lib/limits.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../../lib/limits.js')>()),
  batchOpsMax: 1000,
}));

describe('writes past the batch limit', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });
  afterEach(closeAll);
  afterAll(closeServers);

  async function fill(raw: RawClient, command: string, key: string, count: number, scored = false): Promise<void> {
    const args: (string | number)[] = [command, key];
    for (let index = 0; index < count; index++) {
      if (scored) args.push(index);
      args.push(`m${index}`);
    }
    raw.send(encodeCommand(args));
    expect(await raw.reply()).toBe(count);
  }

  it('a STORE result is refused at once, with its counts, and nothing is stored; one that fits is stored', async () => {
    const raw = await RawClient.connect(silt.port);
    await fill(raw, 'SADD', 's', 995); // 995 members, the metadata and the key counter: 997 writes
    // Each stored member is a write, beside at most 7 others (metadata, expiry, counters).
    expect(plain(await raw.call('SUNIONSTORE', 'd', 's'))).toEqual({ error: 'ERR Cannot store "d": its 995 elements need 995 writes in one batch, which holds at most 1000' });
    expect(await raw.call('EXISTS', 'd')).toBe(0);
    expect(await raw.call('SREM', 's', 'm0', 'm1')).toBe(2);
    expect(await raw.call('SUNIONSTORE', 'd', 's')).toBe(993);
    expect(await raw.call('SCARD', 'd')).toBe(993);

    await fill(raw, 'ZADD', 'z', 497, true); // two writes a member
    expect(plain(await raw.call('ZUNIONSTORE', 'dz', '1', 'z'))).toEqual({ error: 'ERR Cannot store "dz": its 497 elements need 994 writes in one batch, which holds at most 1000' });
    expect(plain(await raw.call('ZRANGESTORE', 'dz', 'z', '0', '-1'))).toEqual({ error: 'ERR Cannot store "dz": its 497 elements need 994 writes in one batch, which holds at most 1000' });
    expect(await raw.call('EXISTS', 'dz')).toBe(0);
    expect(await raw.call('ZREM', 'z', 'm0')).toBe(1);
    expect(await raw.call('ZRANGESTORE', 'dz', 'z', '0', '-1')).toBe(496);
    expect(await raw.call('ZCARD', 'dz')).toBe(496);
  });

  it('a RENAME or COPY of a collection too big for one batch is refused, and the key stays', async () => {
    const raw = await RawClient.connect(silt.port);
    await fill(raw, 'RPUSH', 'l', 994);
    expect(plain(await raw.call('COPY', 'l', 'l2'))).toEqual({ error: 'ERR Cannot copy "l": its 994 elements need 994 writes in one batch, which holds at most 1000' });
    expect(plain(await raw.call('RENAME', 'l', 'l2'))).toEqual({ error: 'ERR Cannot copy "l": its 994 elements need 994 writes in one batch, which holds at most 1000' });
    expect(await raw.call('LLEN', 'l')).toBe(994);
    expect(await raw.call('EXISTS', 'l2')).toBe(0);
    expect(plain(await raw.call('PING'))).toBe('PONG');
  });
});
