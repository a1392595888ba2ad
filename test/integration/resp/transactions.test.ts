// MULTI EXEC DISCARD WATCH UNWATCH over real sockets, with Redis's semantics:
// queuing errors abort with EXECABORT, run-time errors stay per command, and
// WATCH aborts on any change to a watched key (by anyone, including expiry,
// FLUSHDB, FLUSHALL and SWAPDB).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, closeAll, closeServers, ioredis, nodeRedis, plain, sleep, startServer, type TestServer } from './harness.js';

describe('transactions', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });
  afterEach(closeAll);
  afterAll(closeServers);

  it('MULTI queues, EXEC runs everything and answers each reply in order', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('MULTI'))).toBe('OK');
    expect(plain(await raw.call('SET', 'tx:a', '1'))).toBe('QUEUED');
    expect(plain(await raw.call('INCR', 'tx:a'))).toBe('QUEUED');
    expect(plain(await raw.call('GET', 'tx:a'))).toBe('QUEUED');
    expect(plain(await raw.call('EXEC'))).toEqual(['OK', 2, '2']);
    expect(plain(await raw.call('GET', 'tx:a'))).toBe('2');
  });

  it('a run-time error stays with its command; the others are applied', async () => {
    const client = ioredis(silt.port);
    await client.set('tx:string', 'text');
    const replies = (await client.multi().set('tx:b', '1').incr('tx:string').set('tx:c', '2').exec())!;
    expect(replies[0]).toEqual([null, 'OK']);
    expect(String(replies[1]![0])).toContain('ERR value is not an integer or out of range');
    expect(replies[2]).toEqual([null, 'OK']);
    expect(await client.mget('tx:b', 'tx:c')).toEqual(['1', '2']);
  });

  it('a queuing error (unknown command, arity) aborts the whole transaction with EXECABORT', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('MULTI');
    expect(plain(await raw.call('SET', 'tx:never', '1'))).toBe('QUEUED');
    expect((plain(await raw.call('NOSUCH')) as { error: string }).error).toMatch(/^ERR unknown command 'NOSUCH'/);
    expect(plain(await raw.call('GET'))).toEqual({ error: "ERR wrong number of arguments for 'get' command" });
    expect(plain(await raw.call('EXEC'))).toEqual({ error: 'EXECABORT Transaction discarded because of previous errors.' });
    expect(await raw.call('GET', 'tx:never')).toBeNull();
    // The connection left MULTI.
    expect(plain(await raw.call('EXEC'))).toEqual({ error: 'ERR EXEC without MULTI' });
  });

  it('DISCARD drops the queue; EXEC and DISCARD without MULTI, and nested MULTI, are errors', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('EXEC'))).toEqual({ error: 'ERR EXEC without MULTI' });
    expect(plain(await raw.call('DISCARD'))).toEqual({ error: 'ERR DISCARD without MULTI' });
    await raw.call('MULTI');
    expect(plain(await raw.call('MULTI'))).toEqual({ error: 'ERR MULTI calls can not be nested' });
    await raw.call('SET', 'tx:discarded', '1');
    expect(plain(await raw.call('DISCARD'))).toBe('OK');
    expect(await raw.call('GET', 'tx:discarded')).toBeNull();
    // A nested MULTI does not abort the transaction (Redis does not flag it).
    await raw.call('MULTI');
    await raw.call('MULTI');
    await raw.call('SET', 'tx:nested', '1');
    expect(plain(await raw.call('EXEC'))).toEqual(['OK']);
  });

  it('commands refused inside MULTI: WATCH, SAVE', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('MULTI');
    expect(plain(await raw.call('WATCH', 'k'))).toEqual({ error: 'ERR WATCH inside MULTI is not allowed' });
    expect(plain(await raw.call('SAVE'))).toEqual({ error: 'ERR Command not allowed inside a transaction' });
    expect(plain(await raw.call('EXEC'))).toEqual({ error: 'EXECABORT Transaction discarded because of previous errors.' });
  });

  it('SELECT inside a transaction applies to the commands after it', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('MULTI');
    await raw.call('SELECT', '2');
    await raw.call('SET', 'tx:db2', 'x');
    expect(plain(await raw.call('EXEC'))).toEqual(['OK', 'OK']);
    expect(plain(await raw.call('GET', 'tx:db2'))).toBe('x');
    await raw.call('SELECT', '0');
    expect(await raw.call('GET', 'tx:db2')).toBeNull();
  });

  it('an empty transaction answers an empty array', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('MULTI');
    expect(plain(await raw.call('EXEC'))).toEqual([]);
  });

  describe('WATCH', () => {
    it('EXEC runs when no watched key changed', async () => {
      const client = ioredis(silt.port);
      await client.set('w:stable', '1');
      await client.watch('w:stable', 'w:absent');
      const replies = await client.multi().set('w:stable', '2').exec();
      expect(replies).toEqual([[null, 'OK']]);
    });

    it('a change by another client aborts EXEC with a null reply', async () => {
      const client = ioredis(silt.port);
      const other = ioredis(silt.port);
      await client.set('w:key', '1');
      await client.watch('w:key');
      await other.set('w:key', '2');
      expect(await client.multi().set('w:key', '3').exec()).toBeNull();
      expect(await client.get('w:key')).toBe('2');
      // WATCH is forgotten after EXEC.
      await other.set('w:key', '4');
      expect(await client.multi().set('w:key', '5').exec()).toEqual([[null, 'OK']]);
    });

    it('a change by the same client before MULTI aborts too; a delete, an EXPIRE or a PERSIST counts as a change', async () => {
      const raw = await RawClient.connect(silt.port);
      const other = ioredis(silt.port);
      await raw.call('SET', 'w:own', '1');
      for (const change of [['SET', 'w:own', '2'], ['EXPIRE', 'w:own', '100'], ['PERSIST', 'w:own'], ['DEL', 'w:own']] as const) {
        await raw.call('WATCH', 'w:own');
        if (change[0] === 'SET' || change[0] === 'DEL') await raw.call(...change);
        else await other.call(change[0], ...change.slice(1));
        await raw.call('MULTI');
        await raw.call('PING');
        expect(plain(await raw.call('EXEC')), change.join(' ')).toBeNull();
      }
    });

    it('UNWATCH forgets the watched keys; DISCARD does too', async () => {
      const client = ioredis(silt.port);
      const other = ioredis(silt.port);
      await client.watch('w:unwatched');
      await other.set('w:unwatched', 'changed');
      await client.unwatch();
      expect(await client.multi().get('w:unwatched').exec()).toEqual([[null, 'changed']]);
      const raw = await RawClient.connect(silt.port);
      await raw.call('WATCH', 'w:unwatched');
      await raw.call('MULTI');
      await raw.call('DISCARD');
      await other.set('w:unwatched', 'again');
      await raw.call('MULTI');
      await raw.call('GET', 'w:unwatched');
      expect(plain(await raw.call('EXEC'))).toEqual(['again']);
    });

    it('a watched key that expires before EXEC aborts it', async () => {
      const client = ioredis(silt.port);
      await client.set('w:expiring', '1', 'PX', 100);
      await client.watch('w:expiring');
      await sleep(200);
      expect(await client.multi().set('w:other', '1').exec()).toBeNull();
    });

    it('a key already expired at WATCH time that is then deleted by the sweep is no change', async () => {
      const client = ioredis(silt.port);
      await client.set('w:gone', '1', 'PX', 1);
      await sleep(20);
      await client.watch('w:gone');
      // The sweep (every 100 ms) deletes the expired key meanwhile.
      await sleep(300);
      expect(await client.multi().set('w:after-gone', '1').exec()).toEqual([[null, 'OK']]);
    });

    it('FLUSHDB, FLUSHALL and SWAPDB abort transactions watching keys in those databases', async () => {
      const client = ioredis(silt.port);
      const other = ioredis(silt.port);
      await client.select(5);
      await other.select(5);
      await client.set('w:db5', '1');
      await client.watch('w:db5');
      await other.flushdb();
      expect(await client.multi().ping().exec()).toBeNull();
      await client.set('w:db5', '1');
      await client.watch('w:db5');
      await other.call('SWAPDB', '5', '6');
      expect(await client.multi().ping().exec()).toBeNull();
      await client.set('w:db5', '1');
      await client.watch('w:db5');
      await other.flushall();
      expect(await client.multi().ping().exec()).toBeNull();
      // A flush of another database does not matter.
      await client.set('w:db5', '1');
      await client.watch('w:db5');
      await other.select(7);
      await other.flushdb();
      expect(await client.multi().ping().exec()).toEqual([[null, 'PONG']]);
    });

    it('a watched key in another database than the one changed is not affected', async () => {
      const client = ioredis(silt.port);
      const other = ioredis(silt.port);
      await client.select(3);
      await client.watch('w:samename');
      await other.set('w:samename', 'db0');
      expect(await client.multi().ping().exec()).toEqual([[null, 'PONG']]);
    });
  });

  it('EXEC of a transaction is one atomic batch: readers never see half of it', async () => {
    const writer = ioredis(silt.port);
    const reader = ioredis(silt.port);
    let torn = 0;
    const reads: Promise<void>[] = [];
    const writes: Promise<unknown>[] = [];
    for (let round = 0; round < 200; round++) {
      // Awaited too: a transaction still queued when afterEach closes the client rejects unhandled.
      writes.push(writer.multi().set('atomic:a', String(round)).set('atomic:b', String(round)).exec());
      reads.push(
        reader.mget('atomic:a', 'atomic:b').then(([a, b]) => {
          if (a !== b) torn++;
        }),
      );
    }
    await Promise.all([...reads, ...writes]);
    expect(torn).toBe(0);
  });

  it('node-redis RESP3 multi/exec and watch work the same', async () => {
    const client = await nodeRedis(silt.port, 3);
    const other = await nodeRedis(silt.port, 3);
    const replies = await client.multi().set('n:tx', '1').incr('n:tx').exec();
    expect(replies).toEqual(['OK', 2]);
    await client.watch('n:tx');
    await other.set('n:tx', '10');
    await expect(client.multi().incr('n:tx').exec()).rejects.toThrow(/WATCH|aborted/i);
  });
});
