// Pub/Sub over real sockets: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE
// PUBLISH PUBSUB, RESP2 subscribed mode (only the pubsub commands, PING, QUIT
// and RESET), and RESP3 push messages (`>` frames) beside ordinary replies.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, closeAll, closeServers, ioredis, nodeRedis, plain, startServer, waitFor, type TestServer } from './harness.js';

describe('pub/sub', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });
  afterEach(closeAll);
  afterAll(closeServers);

  it('SUBSCRIBE confirms each channel with the running count; PUBLISH delivers and counts receivers', async () => {
    const subscriber = await RawClient.connect(silt.port);
    subscriber.command('SUBSCRIBE', 'news', 'sport');
    expect((await subscriber.replies(2)).map(plain)).toEqual([
      ['subscribe', 'news', 1],
      ['subscribe', 'sport', 2],
    ]);
    const publisher = ioredis(silt.port);
    expect(await publisher.publish('news', 'hello')).toBe(1);
    expect(await publisher.publish('nobody', 'x')).toBe(0);
    expect(plain(await subscriber.reply())).toEqual(['message', 'news', 'hello']);
    const binary = Buffer.from([0, 1, 2, 255]);
    await publisher.publish('sport', binary);
    expect(await subscriber.reply()).toEqual([Buffer.from('message'), Buffer.from('sport'), binary]);
  });

  it('PSUBSCRIBE matches glob patterns and delivers pmessage with the pattern', async () => {
    const subscriber = await RawClient.connect(silt.port);
    subscriber.command('PSUBSCRIBE', 'news.*', 'h?llo');
    expect((await subscriber.replies(2)).map(plain)).toEqual([
      ['psubscribe', 'news.*', 1],
      ['psubscribe', 'h?llo', 2],
    ]);
    const publisher = ioredis(silt.port);
    expect(await publisher.publish('news.tech', 'a')).toBe(1);
    expect(plain(await subscriber.reply())).toEqual(['pmessage', 'news.*', 'news.tech', 'a']);
    expect(await publisher.publish('hallo', 'b')).toBe(1);
    expect(plain(await subscriber.reply())).toEqual(['pmessage', 'h?llo', 'hallo', 'b']);
    expect(await publisher.publish('other', 'c')).toBe(0);
  });

  it('a client subscribed to a channel and a matching pattern gets both messages', async () => {
    const subscriber = await RawClient.connect(silt.port);
    subscriber.command('SUBSCRIBE', 'both');
    subscriber.command('PSUBSCRIBE', 'b*');
    await subscriber.replies(2);
    const publisher = ioredis(silt.port);
    expect(await publisher.publish('both', 'x')).toBe(2);
    expect((await subscriber.replies(2)).map(plain)).toEqual([
      ['message', 'both', 'x'],
      ['pmessage', 'b*', 'both', 'x'],
    ]);
  });

  it('UNSUBSCRIBE and PUNSUBSCRIBE, with and without arguments', async () => {
    const subscriber = await RawClient.connect(silt.port);
    subscriber.command('SUBSCRIBE', 'a', 'b', 'c');
    subscriber.command('PSUBSCRIBE', 'p*');
    await subscriber.replies(4);
    subscriber.command('UNSUBSCRIBE', 'b');
    expect(plain(await subscriber.reply())).toEqual(['unsubscribe', 'b', 3]);
    subscriber.command('UNSUBSCRIBE');
    expect((await subscriber.replies(2)).map(plain)).toEqual([
      ['unsubscribe', 'a', 2],
      ['unsubscribe', 'c', 1],
    ]);
    subscriber.command('PUNSUBSCRIBE');
    expect(plain(await subscriber.reply())).toEqual(['punsubscribe', 'p*', 0]);
    // Nothing left: one reply with a null channel.
    subscriber.command('UNSUBSCRIBE');
    expect(plain(await subscriber.reply())).toEqual(['unsubscribe', null, 0]);
    subscriber.command('PUNSUBSCRIBE');
    expect(plain(await subscriber.reply())).toEqual(['punsubscribe', null, 0]);
    // Out of subscribed mode again.
    expect(await subscriber.call('GET', 'k')).toBeNull();
  });

  it('RESP2 subscribed mode allows only pubsub commands, PING (as an array), QUIT and RESET', async () => {
    const subscriber = await RawClient.connect(silt.port);
    await subscriber.call('SUBSCRIBE', 'mode');
    expect(plain(await subscriber.call('GET', 'k'))).toEqual({
      error: "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
    });
    expect(plain(await subscriber.call('PUBLISH', 'mode', 'x'))).toEqual({
      error: "ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
    });
    expect(plain(await subscriber.call('PING'))).toEqual(['pong', '']);
    expect(plain(await subscriber.call('PING', 'hi'))).toEqual(['pong', 'hi']);
    expect(plain(await subscriber.call('RESET'))).toBe('RESET');
    expect(plain(await subscriber.call('PING'))).toBe('PONG');
  });

  it('RESP3: confirmations and messages are push frames, and other commands keep working', async () => {
    const subscriber = await RawClient.connect(silt.port);
    await subscriber.call('HELLO', '3');
    subscriber.command('SUBSCRIBE', 'r3');
    const confirmation = await subscriber.reply();
    expect(confirmation?.constructor.name).toBe('DecodedPush');
    expect(plain(confirmation)).toEqual({ push: ['subscribe', 'r3', 1] });
    // RESP3 has no subscribed mode: any command runs.
    expect(plain(await subscriber.call('SET', 'r3-key', 'v'))).toBe('OK');
    expect(plain(await subscriber.call('PING'))).toBe('PONG');
    // The subscriber may publish to itself: the push comes after PUBLISH's own reply, as in Redis 7.2
    // (7.0 sent it first), and after EXEC's whole reply when published inside a transaction (7.0 put it inside).
    subscriber.command('PUBLISH', 'r3', 'self');
    expect((await subscriber.replies(2)).map(plain)).toEqual([1, { push: ['message', 'r3', 'self'] }]);
    subscriber.command('MULTI');
    subscriber.command('PUBLISH', 'r3', 'in-multi');
    subscriber.command('PING');
    subscriber.command('EXEC');
    expect((await subscriber.replies(5)).map(plain)).toEqual(['OK', 'QUEUED', 'QUEUED', [1, 'PONG'], { push: ['message', 'r3', 'in-multi'] }]);
    const publisher = ioredis(silt.port);
    await publisher.publish('r3', 'from-other');
    expect(plain(await subscriber.reply())).toEqual({ push: ['message', 'r3', 'from-other'] });
  });

  it('a message is queued behind replies the subscriber is still owed', async () => {
    const local = await startServer({ appendfsync: 'always' });
    const subscriber = await RawClient.connect(local.port);
    await subscriber.call('HELLO', '3');
    await subscriber.call('SUBSCRIBE', 'ordered');
    const publisher = ioredis(local.port);
    // A write whose reply waits for fdatasync, then a message published meanwhile.
    subscriber.command('SET', 'ordered-key', 'v');
    await publisher.publish('ordered', 'm');
    expect((await subscriber.replies(2)).map(plain)).toEqual(['OK', { push: ['message', 'ordered', 'm'] }]);
  });

  it('a RESP3 subscriber blocked in BLPOP gets messages at once, before the reply its command is served later', async () => {
    const client = await RawClient.connect(silt.port);
    await client.call('HELLO', '3');
    client.command('SUBSCRIBE', 'blockednews');
    expect(plain(await client.reply())).toEqual({ push: ['subscribe', 'blockednews', 1] });
    client.command('BLPOP', 'blockedlist', '0');
    const publisher = ioredis(silt.port);
    await waitFor(async () => /blocked_clients:1/.test(await publisher.info('clients')), 5000, 'BLPOP blocked');
    expect(await publisher.publish('blockednews', 'first')).toBe(1);
    expect(plain(await client.reply())).toEqual({ push: ['message', 'blockednews', 'first'] });
    await publisher.rpush('blockedlist', 'v');
    expect(plain(await client.reply())).toEqual(['blockedlist', 'v']);
    expect(await publisher.publish('blockednews', 'after')).toBe(1);
    expect(plain(await client.reply())).toEqual({ push: ['message', 'blockednews', 'after'] });
  });

  it('SUBSCRIBE, PSUBSCRIBE and UNSUBSCRIBE queued in MULTI: each is one entry of the EXEC array, as in Redis', async () => {
    const client = await RawClient.connect(silt.port);
    client.send('MULTI\r\nSUBSCRIBE inmulti\r\nEXEC\r\n');
    expect((await client.replies(3)).map(plain)).toEqual(['OK', 'QUEUED', [['subscribe', 'inmulti', 1]]]);
    const other = await RawClient.connect(silt.port);
    other.send('MULTI\r\nUNSUBSCRIBE\r\nPSUBSCRIBE p*\r\nEXEC\r\n');
    expect((await other.replies(4)).map(plain)).toEqual(['OK', 'QUEUED', 'QUEUED', [['unsubscribe', null, 0], ['psubscribe', 'p*', 1]]]);
  });

  it('PUBSUB CHANNELS, NUMSUB and NUMPAT', async () => {
    const a = await RawClient.connect(silt.port);
    const b = await RawClient.connect(silt.port);
    a.command('SUBSCRIBE', 'ps:one', 'ps:two');
    b.command('SUBSCRIBE', 'ps:one');
    b.command('PSUBSCRIBE', 'ps:*', 'x*');
    await a.replies(2);
    await b.replies(3);
    const admin = ioredis(silt.port);
    expect(((await admin.pubsub('CHANNELS', 'ps:*')) as string[]).sort()).toEqual(['ps:one', 'ps:two']);
    expect((await admin.pubsub('CHANNELS')) as string[]).toEqual(expect.arrayContaining(['ps:one', 'ps:two']));
    expect(await admin.pubsub('NUMSUB', 'ps:one', 'ps:two', 'ps:none')).toEqual(['ps:one', 2, 'ps:two', 1, 'ps:none', 0]);
    expect(await admin.pubsub('NUMSUB')).toEqual([]);
    expect(await admin.pubsub('NUMPAT')).toBe(2);
    await expect(admin.call('PUBSUB', 'BOGUS')).rejects.toThrow("ERR unknown subcommand 'BOGUS'. Try PUBSUB HELP.");
    await expect(admin.call('PUBSUB', 'CHANNELS', 'a', 'b')).rejects.toThrow("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.");
    expect(((await admin.call('PUBSUB', 'HELP')) as string[])[0]).toMatch(/^PUBSUB <subcommand>/);
    // A closed subscriber's subscriptions go with it.
    b.close();
    await waitFor(async () => ((await admin.pubsub('NUMPAT')) as unknown as number) === 0, 2000, 'NUMPAT to drop');
    expect(await admin.pubsub('NUMSUB', 'ps:one')).toEqual(['ps:one', 1]);
  });

  it('ioredis subscriber (RESP2) receives message and pmessage events', async () => {
    const subscriber = ioredis(silt.port);
    const received: string[] = [];
    subscriber.on('message', (channel: string, message: string) => received.push(`${channel}=${message}`));
    subscriber.on('pmessage', (pattern: string, channel: string, message: string) => received.push(`${pattern}:${channel}=${message}`));
    await subscriber.subscribe('io:chan');
    await subscriber.psubscribe('io:*');
    const publisher = ioredis(silt.port);
    await publisher.publish('io:chan', 'one');
    await waitFor(() => received.length === 2, 2000, 'two messages');
    expect(received.sort()).toEqual(['io:*:io:chan=one', 'io:chan=one']);
  });

  it.each([2, 3] as const)('node-redis RESP%i subscriber receives messages', async (protocol) => {
    const subscriber = await nodeRedis(silt.port, protocol);
    const received: string[] = [];
    await subscriber.subscribe(`node:${protocol}`, (message, channel) => received.push(`${channel}=${message}`));
    await subscriber.pSubscribe(`nodep:${protocol}:*`, (message, channel) => received.push(`p ${channel}=${message}`));
    const publisher = await nodeRedis(silt.port, protocol);
    expect(await publisher.publish(`node:${protocol}`, 'hi')).toBe(1);
    expect(await publisher.publish(`nodep:${protocol}:x`, 'there')).toBe(1);
    await waitFor(() => received.length === 2, 2000, 'two messages');
    expect(received).toEqual([`node:${protocol}=hi`, `p nodep:${protocol}:x=there`]);
    if (protocol === 3) {
      // RESP3: the same connection still runs ordinary commands.
      expect(await subscriber.ping()).toBe('PONG');
    }
    await subscriber.unsubscribe(`node:${protocol}`);
    expect(await publisher.publish(`node:${protocol}`, 'gone')).toBe(0);
  });
});
