// The dispatcher's two paths seen from clients: the synchronous fast path,
// and the FIFO that holds every client's commands while a handler waits (a
// SAVE whose WAL sync is slowed down; LevelEngine, whose iterators are
// asynchronous, for KEYS/SCAN and EXEC around them). Replies stay in request
// order per connection and commands run in arrival order across connections.

import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { RawClient, closeAll, closeServers, encodeCommand, ioredis, plain, sleep, startServer, startServerHeldBySave, waitFor } from './harness.js';

afterEach(closeAll);
afterAll(closeServers);

describe('dispatcher FIFO', () => {
  it('holds every client behind a waiting command and runs them in arrival order', async () => {
    const fs = new FaultFileSystem(new NodeFileSystem());
    const silt = await startServer({}, { engineOptions: { fs } });
    const saver = await RawClient.connect(silt.port);
    const writer = await RawClient.connect(silt.port);
    const reader = await RawClient.connect(silt.port);
    await writer.call('SET', 'fifo', 'before');
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    fs.beforeSync(() => released);
    saver.command('SAVE');
    await waitFor(() => silt.server.dispatcher.busy, 2000, 'SAVE to start');
    writer.command('SET', 'fifo', 'after');
    await waitFor(() => silt.server.dispatcher.queued === 1, 2000, 'the SET to queue');
    reader.send(Buffer.concat([encodeCommand(['GET', 'fifo']), encodeCommand(['PING'])]));
    await waitFor(() => silt.server.dispatcher.queued === 3, 2000, 'the GET and PING to queue');
    await sleep(50);
    expect(saver.buffered + writer.buffered + reader.buffered).toBe(0);
    fs.beforeSync(undefined);
    release();
    expect(plain(await saver.reply())).toBe('OK');
    expect(plain(await writer.reply())).toBe('OK');
    expect((await reader.replies(2)).map(plain)).toEqual(['after', 'PONG']);
    await waitFor(() => !silt.server.dispatcher.busy && silt.server.dispatcher.queued === 0, 2000, 'the FIFO to empty');
  });

  it('a client whose connection is reset while its commands wait in the FIFO has them dropped', async () => {
    const { silt, saver, release } = await startServerHeldBySave();
    const leaver = await RawClient.connect(silt.port);
    leaver.command('SET', 'dropped', '1');
    await waitFor(() => silt.server.dispatcher.queued === 1, 2000, 'the SET to queue');
    leaver.reset();
    await waitFor(() => silt.server.clients.size === 1, 2000, 'the leaver to go');
    release();
    expect(plain(await saver.reply())).toBe('OK');
    expect(plain(await saver.call('EXISTS', 'dropped'))).toBe(0);
  });

  it('a client that half-closes while its commands wait in the FIFO gets their replies, as Redis would run them', async () => {
    const { silt, saver, release } = await startServerHeldBySave();
    const writer = await RawClient.connect(silt.port);
    writer.command('SET', 'kept', '1');
    await waitFor(() => silt.server.dispatcher.queued === 1, 2000, 'the SET to queue');
    writer.endInput();
    await sleep(50);
    expect(silt.server.clients.size).toBe(2);
    release();
    expect(plain(await saver.reply())).toBe('OK');
    expect(plain(await writer.reply())).toBe('OK');
    await writer.waitClosed();
    expect(plain(await saver.call('EXISTS', 'kept'))).toBe(1);
  });
});

describe('on LevelEngine (asynchronous iterators)', () => {
  it('KEYS, SCAN, EXEC and the expiry sweep go through the FIFO and keep order', async () => {
    const silt = await startServer({ engine: 'level' });
    const client = ioredis(silt.port);
    const other = ioredis(silt.port);
    for (let index = 0; index < 200; index++) await client.set(`lv:${index}`, String(index));
    // KEYS is asynchronous here: the SET and DBSIZE pipelined behind it wait in the FIFO and run after it.
    const raw = await RawClient.connect(silt.port);
    raw.send(Buffer.concat([encodeCommand(['KEYS', 'lv:*']), encodeCommand(['SET', 'lv:late', 'x']), encodeCommand(['DBSIZE'])]));
    const [keys, set, count] = (await raw.replies(3)).map(plain);
    expect(keys).toHaveLength(200);
    expect(set).toBe('OK');
    expect(count).toBe(201);
    const [cursor, page] = (await client.scan(0, 'MATCH', 'lv:1*', 'COUNT', 1000)) as [string, string[]];
    expect(cursor).toBe('0');
    expect(page.length).toBe(111);
    const exec = await client.multi().keys('lv:19*').set('lv:tx', '1').incr('lv:counter').exec();
    expect(exec).toEqual([[null, expect.arrayContaining(['lv:19', 'lv:190', 'lv:199'])], [null, 'OK'], [null, 1]]);
    await client.watch('lv:w');
    await other.set('lv:w', 'changed');
    expect(await client.multi().keys('lv:w').exec()).toBeNull();
    await client.set('lv:expiring', 'v', 'PX', 20);
    await waitFor(async () => (await client.dbsize()) === 204, 5000, 'the sweep on LevelEngine');
  });
});
