// Blocked clients through the server (dispatcher + BlockingManager): a
// blocking command that finds nothing parks its client, a write by another
// client serves it (longest waiter first), timeouts answer the timeout reply,
// CLIENT UNBLOCK ends a wait, inside MULTI nothing blocks, a parked client's
// pipelined requests wait for it, and a disconnect or shutdown drops the wait.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, closeAll, closeServers, encodeCommand, ioredis, parseInfo, plain, sleep, startServer, waitFor, type TestServer } from './harness.js';

describe('blocking commands', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });
  afterEach(closeAll);
  afterAll(closeServers);

  it('BLPOP waits until another client pushes, then answers [key, element]', async () => {
    const waiter = await RawClient.connect(silt.port);
    waiter.command('BLPOP', 'b:list', '0');
    await waitFor(() => silt.server.blocking.blockedClients === 1, 2000, 'the client to block');
    const client = ioredis(silt.port);
    expect(parseInfo(await client.info('clients')).blocked_clients).toBe('1');
    expect(String(await client.client('LIST'))).toMatch(/flags=b /);
    expect(await client.rpush('b:list', 'x', 'y')).toBe(2);
    expect(plain(await waiter.reply())).toEqual(['b:list', 'x']);
    expect(await client.lrange('b:list', 0, -1)).toEqual(['y']);
    expect(silt.server.blocking.blockedClients).toBe(0);
  });

  it('a key written with another type does not wake BZPOPMIN, BZMPOP or BLPOP waiters: they go on waiting for their type', async () => {
    const client = ioredis(silt.port);
    const waiters = await Promise.all([RawClient.connect(silt.port), RawClient.connect(silt.port), RawClient.connect(silt.port)]);
    waiters[0]!.command('BZPOPMIN', 'b:typed', '0');
    waiters[1]!.command('BZMPOP', '0', '1', 'b:typed', 'MIN');
    waiters[2]!.command('BLPOP', 'b:typed', '0');
    await waitFor(() => silt.server.blocking.blockedClients === 3, 2000, 'the clients to block');
    await client.set('b:typed', '1');
    await client.del('b:typed');
    await client.hset('b:typed', 'f', 'v');
    await sleep(50);
    expect(silt.server.blocking.blockedClients, 'nobody was answered WRONGTYPE').toBe(3);
    await client.del('b:typed');
    await client.zadd('b:typed', 1, 'x', 2, 'y');
    expect(plain(await waiters[0]!.reply())).toEqual(['b:typed', 'x', '1']);
    expect(plain(await waiters[1]!.reply())).toEqual(['b:typed', [['y', '2']]]);
    await client.rpush('b:typed2', 'unrelated');
    await client.del('b:typed');
    await client.rpush('b:typed', 'z');
    expect(plain(await waiters[2]!.reply())).toEqual(['b:typed', 'z']);
  });

  it('answers a null array when the timeout passes', async () => {
    const waiter = await RawClient.connect(silt.port);
    const started = Date.now();
    expect(plain(await waiter.call('BLPOP', 'b:empty', '0.2'))).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(plain(await waiter.call('PING'))).toBe('PONG');
  });

  it('serves the longest-waiting client first', async () => {
    const first = await RawClient.connect(silt.port);
    const second = await RawClient.connect(silt.port);
    first.command('BRPOP', 'b:fair', '5');
    await waitFor(() => silt.server.blocking.blockedClients === 1, 2000, 'the first to block');
    second.command('BRPOP', 'b:fair', '5');
    await waitFor(() => silt.server.blocking.blockedClients === 2, 2000, 'the second to block');
    const client = ioredis(silt.port);
    await client.lpush('b:fair', 'one');
    expect(plain(await first.reply())).toEqual(['b:fair', 'one']);
    await sleep(50);
    expect(second.buffered).toBe(0);
    await client.lpush('b:fair', 'two');
    expect(plain(await second.reply())).toEqual(['b:fair', 'two']);
  });

  it('a parked client runs nothing else until it is answered; its pipelined requests follow in order', async () => {
    const waiter = await RawClient.connect(silt.port);
    waiter.send(Buffer.concat([encodeCommand(['BLPOP', 'b:pipe', '0']), encodeCommand(['SET', 'b:after', '1']), encodeCommand(['PING'])]));
    await waitFor(() => silt.server.blocking.blockedClients === 1, 2000, 'the client to block');
    await sleep(50);
    const client = ioredis(silt.port);
    expect(await client.exists('b:after')).toBe(0);
    await client.lpush('b:pipe', 'v');
    expect((await waiter.replies(3)).map(plain)).toEqual([['b:pipe', 'v'], 'OK', 'PONG']);
    expect(await client.get('b:after')).toBe('1');
  });

  it('CLIENT UNBLOCK answers the timeout reply (TIMEOUT) or -UNBLOCKED (ERROR)', async () => {
    const waiter = await RawClient.connect(silt.port);
    const id = await waiter.call('CLIENT', 'ID');
    const admin = await RawClient.connect(silt.port);
    waiter.command('BLPOP', 'b:unblock', '0');
    await waitFor(() => silt.server.blocking.blockedClients === 1, 2000, 'the client to block');
    expect(await admin.call('CLIENT', 'UNBLOCK', String(id))).toBe(1);
    expect(plain(await waiter.reply())).toBeNull();
    waiter.command('BLPOP', 'b:unblock', '0');
    await waitFor(() => silt.server.blocking.blockedClients === 1, 2000, 'the client to block again');
    expect(await admin.call('CLIENT', 'UNBLOCK', String(id), 'ERROR')).toBe(1);
    expect(plain(await waiter.reply())).toEqual({ error: 'UNBLOCKED client unblocked via CLIENT UNBLOCK' });
    expect(await admin.call('CLIENT', 'UNBLOCK', String(id))).toBe(0);
    expect(plain(await admin.call('CLIENT', 'UNBLOCK', String(id), 'LATER'))).toEqual({ error: 'ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR' });
    expect(plain(await admin.call('CLIENT', 'UNBLOCK', 'x'))).toEqual({ error: 'ERR value is not an integer or out of range' });
  });

  it('inside MULTI a blocking command does not block: it answers its timeout reply', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('MULTI');
    await raw.call('BLPOP', 'b:multi', '0');
    await raw.call('RPUSH', 'b:multi', 'z');
    await raw.call('BLPOP', 'b:multi', '0');
    expect(plain(await raw.call('EXEC'))).toEqual([null, 1, ['b:multi', 'z']]);
  });

  it('a client that disconnects while blocked is forgotten; the element goes to the next waiter', async () => {
    const leaver = await RawClient.connect(silt.port);
    const stayer = await RawClient.connect(silt.port);
    leaver.command('BLPOP', 'b:leave', '0');
    await waitFor(() => silt.server.blocking.blockedClients === 1, 2000, 'the leaver to block');
    stayer.command('BLPOP', 'b:leave', '0');
    await waitFor(() => silt.server.blocking.blockedClients === 2, 2000, 'the stayer to block');
    leaver.close();
    await waitFor(() => silt.server.blocking.blockedClients === 1, 2000, 'the leaver to go');
    await ioredis(silt.port).rpush('b:leave', 'e');
    expect(plain(await stayer.reply())).toEqual(['b:leave', 'e']);
  });

  it('BLMOVE moves an element pushed later, and the move itself can serve another waiter', async () => {
    const mover = await RawClient.connect(silt.port);
    const popper = await RawClient.connect(silt.port);
    popper.command('BLPOP', 'b:dst', '0');
    await waitFor(() => silt.server.blocking.blockedClients === 1, 2000, 'the popper to block');
    mover.command('BLMOVE', 'b:src', 'b:dst', 'LEFT', 'RIGHT', '0');
    await waitFor(() => silt.server.blocking.blockedClients === 2, 2000, 'the mover to block');
    await ioredis(silt.port).rpush('b:src', 'm');
    expect(plain(await mover.reply())).toBe('m');
    expect(plain(await popper.reply())).toEqual(['b:dst', 'm']);
  });

  it('a graceful close drops blocked clients without waiting for their timeouts', async () => {
    const local = await startServer();
    const waiter = await RawClient.connect(local.port);
    waiter.command('BLPOP', 'b:close', '0');
    await waitFor(() => local.server.blocking.blockedClients === 1, 2000, 'the client to block');
    const started = Date.now();
    await local.server.close({ drain: true });
    expect(Date.now() - started).toBeLessThan(2000);
    await waiter.waitClosed();
  });
});
