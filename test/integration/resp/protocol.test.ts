// The protocol and connection layer over real sockets: inline commands (as
// nc and telnet send them), pipelining of any depth with replies in order
// (also when some wait for fdatasync), binary safety, protocol errors (reply,
// then close that connection only), every limit at one past it (the
// documented error, other clients unaffected), backpressure, and the client
// output buffer cap that disconnects a client that does not read.

import { readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeGraceMs } from '../../../lib/limits.js';
import { RawClient, closeAll, closeServers, encodeCommand, ioredis, parseInfo, plain, sleep, startServer, startServerHeldBySave, waitFor } from './harness.js';

afterEach(closeAll);
afterAll(closeServers);

describe('inline commands', () => {
  it('run like multibulk ones, with quotes and escapes', async () => {
    const silt = await startServer();
    const raw = await RawClient.connect(silt.port);
    raw.send('PING\r\n');
    expect(plain(await raw.reply())).toBe('PONG');
    raw.send('SET "inline key" "a\\x00b\\r\\n"\n');
    expect(plain(await raw.reply())).toBe('OK');
    raw.send("GET 'inline key'\r\n");
    expect(await raw.reply()).toEqual(Buffer.from('a\x00b\r\n', 'latin1'));
    // Blank lines are skipped; several inline commands in one packet.
    raw.send('\r\n   \r\nECHO one\r\nECHO two\r\n');
    expect((await raw.replies(2)).map(plain)).toEqual(['one', 'two']);
  });

  it('unbalanced quotes are a protocol error that closes the connection', async () => {
    const silt = await startServer();
    const raw = await RawClient.connect(silt.port);
    raw.send('SET "unterminated\r\n');
    expect(plain(await raw.reply())).toEqual({ error: 'ERR Protocol error: unbalanced quotes in request' });
    await raw.waitClosed();
  });

  it('an inline request over 64 KiB is refused: "too big inline request"', async () => {
    const silt = await startServer();
    const atLimit = await RawClient.connect(silt.port);
    atLimit.send(`ECHO ${'a'.repeat(64 * 1024 - 5)}\r\n`);
    expect(((await atLimit.reply()) as Buffer).length).toBe(64 * 1024 - 5);
    const raw = await RawClient.connect(silt.port);
    raw.send(`ECHO ${'a'.repeat(64 * 1024 - 4)}\r\n`);
    expect(plain(await raw.reply())).toEqual({ error: 'ERR Protocol error: too big inline request' });
    await raw.waitClosed();
  });
});

describe('pipelining', () => {
  it('serves other clients between slices of a deep pipeline: a PING sent while 3,000 LRANGEs run is answered before most of them', async () => {
    const silt = await startServer();
    const elements = Array.from({ length: 100 }, (_, index) => `element-${index}`);
    await ioredis(silt.port).rpush('fair', ...elements);
    const replyBytes = `*100\r\n`.length + elements.reduce((sum, element) => sum + `$${element.length}\r\n${element}\r\n`.length, 0);
    const total = 3000;
    const deep = connect({ port: silt.port, host: '127.0.0.1' });
    const other = connect({ port: silt.port, host: '127.0.0.1' });
    for (const socket of [deep, other]) socket.on('error', () => undefined);
    await Promise.all([deep, other].map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    let deepBytes = 0;
    // Counted by the server (in this process): what the client has read lags behind.
    const processedBefore = silt.server.stats.commandsProcessed;
    let processedAtPong: number | undefined;
    const pong = new Promise<void>((resolve) =>
      other.on('data', () => {
        processedAtPong = silt.server.stats.commandsProcessed - processedBefore;
        resolve();
      }),
    );
    // The PING goes once the server is busy with the pipeline (its first replies are back).
    deep.once('data', () => other.write(encodeCommand(['PING'])));
    deep.on('data', (chunk: Buffer) => (deepBytes += chunk.length));
    deep.write(Buffer.concat(Array.from({ length: total }, () => encodeCommand(['LRANGE', 'fair', '0', '99']))));
    await pong;
    // Without the turn budget the server ran all 3,000 (about 300 ms) before reading the PING.
    expect(processedAtPong).toBeLessThan(total / 2);
    await waitFor(() => deepBytes >= total * replyBytes, 20_000, 'every LRANGE reply');
    expect(deepBytes).toBe(total * replyBytes);
    expect(silt.server.turnBudget.waiting).toBe(0);
    deep.destroy();
    other.destroy();
  });

  it('answers 20,000 commands sent in one write, in order', async () => {
    const silt = await startServer();
    const raw = await RawClient.connect(silt.port);
    const count = 20_000;
    const parts: Buffer[] = [];
    for (let index = 0; index < count; index++) {
      parts.push(index % 2 === 0 ? encodeCommand(['SET', `p:${index}`, String(index)]) : encodeCommand(['GET', `p:${index - 1}`]));
    }
    raw.send(Buffer.concat(parts));
    const replies = await raw.replies(count, 30_000);
    for (let index = 0; index < count; index++) {
      const expected = index % 2 === 0 ? 'OK' : String(index - 1);
      if (plain(replies[index]!) !== expected) expect.fail(`reply ${index} is ${String(plain(replies[index]!))}, expected ${expected}`);
    }
  });

  it('keeps replies in order when writes wait for fdatasync (appendfsync always) between reads', async () => {
    const silt = await startServer({ appendfsync: 'always' });
    const raw = await RawClient.connect(silt.port);
    const parts: Buffer[] = [];
    const expected: unknown[] = [];
    for (let index = 0; index < 2000; index++) {
      parts.push(encodeCommand(['INCR', 'order:counter']));
      expected.push(index + 1);
      parts.push(encodeCommand(['GET', 'order:counter']));
      expected.push(String(index + 1));
      parts.push(encodeCommand(['PING']));
      expected.push('PONG');
    }
    raw.send(Buffer.concat(parts));
    const replies = (await raw.replies(expected.length, 30_000)).map(plain);
    expect(replies).toEqual(expected);
  });

  it('encodes a reply that waits for fdatasync in the protocol of its own turn, not that of a later HELLO', async () => {
    const silt = await startServer({ appendfsync: 'always' });
    const raw = await RawClient.connect(silt.port, { keepBytes: true });
    // RESP2 answers a double as a bulk string, RESP3 as `,1.5`; HELLO 3 runs while ZINCRBY waits for fdatasync.
    raw.send(Buffer.concat([encodeCommand(['ZINCRBY', 'proto:z', '1.5', 'a']), encodeCommand(['HELLO', '3']), encodeCommand(['ZINCRBY', 'proto:z', '1', 'a'])]));
    await raw.replies(3);
    const bytes = Buffer.concat(raw.received).toString('latin1');
    expect(bytes.startsWith('$3\r\n1.5\r\n')).toBe(true);
    expect(bytes.endsWith(',2.5\r\n')).toBe(true);
  });

  it('ioredis pipelines and node-redis auto-pipelining work across many concurrent commands', async () => {
    const silt = await startServer();
    const client = ioredis(silt.port);
    const pipeline = client.pipeline();
    for (let index = 0; index < 1000; index++) pipeline.set(`io:${index}`, String(index)).get(`io:${index}`);
    const results = (await pipeline.exec())!;
    for (let index = 0; index < 1000; index++) {
      expect(results[index * 2]).toEqual([null, 'OK']);
      expect(results[index * 2 + 1]).toEqual([null, String(index)]);
    }
    const all = await Promise.all(Array.from({ length: 500 }, (_, index) => client.incr('io:concurrent').then((value) => [index, value])));
    expect(all.map(([, value]) => value)).toEqual(Array.from({ length: 500 }, (_, index) => index + 1));
  });

  it('a command split into single bytes still runs', async () => {
    const silt = await startServer();
    const raw = await RawClient.connect(silt.port);
    const bytes = encodeCommand(['SET', 'split', 'value']);
    for (const byte of bytes) {
      raw.send(Buffer.from([byte]));
      await sleep(1);
    }
    expect(plain(await raw.reply())).toBe('OK');
  });
});

describe('binary safety', () => {
  it('keys and values with every byte value round-trip', async () => {
    const silt = await startServer();
    const raw = await RawClient.connect(silt.port);
    const every = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
    expect(plain(await raw.call('SET', every, every))).toBe('OK');
    expect(await raw.call('GET', every)).toEqual(every);
    const client = ioredis(silt.port);
    expect(await client.getBuffer(every)).toEqual(every);
    expect(await client.exists(every)).toBe(1);
    // Large values (over the encoder's pass-by-reference size) too.
    const large = Buffer.alloc(3 * 1024 * 1024, 0xab);
    await client.set('large', large);
    expect((await client.getBuffer('large'))!.equals(large)).toBe(true);
  });
});

describe('protocol errors', () => {
  it('reply -ERR Protocol error after the replies owed, close that connection only', async () => {
    const silt = await startServer();
    const bystander = ioredis(silt.port);
    await bystander.set('bystander', '1');
    const cases: [input: string, error: string][] = [
      ['*1\r\n$4\r\nPING\r\n*x\r\n', 'ERR Protocol error: invalid multibulk length'],
      ['*1\r\n$x\r\n', 'ERR Protocol error: invalid bulk length'],
      ['*1\r\n+PING\r\n', "ERR Protocol error: expected '$', got '+'"],
      ['*1\r\n$-1\r\n', 'ERR Protocol error: invalid bulk length'],
    ];
    for (const [input, error] of cases) {
      const raw = await RawClient.connect(silt.port);
      raw.send(`PING\r\n${input}PING\r\n`);
      expect(plain(await raw.reply())).toBe('PONG');
      if (input.startsWith('*1\r\n$4')) expect(plain(await raw.reply())).toBe('PONG');
      expect(plain(await raw.reply())).toEqual({ error });
      await raw.waitClosed();
      expect(raw.buffered).toBe(0);
    }
    expect(await bystander.get('bystander')).toBe('1');
    expect(Number(parseInfo(await bystander.info('stats')).total_protocol_errors)).toBe(cases.length);
  });

  it('a protocol error waits for the replies owed before it (writes under fdatasync)', async () => {
    const silt = await startServer({ appendfsync: 'always' });
    const raw = await RawClient.connect(silt.port);
    raw.send(Buffer.concat([encodeCommand(['SET', 'before-error', '1']), encodeCommand(['INCR', 'before-error']), Buffer.from('*1\r\n$x\r\n')]));
    expect((await raw.replies(3)).map(plain)).toEqual(['OK', 2, { error: 'ERR Protocol error: invalid bulk length' }]);
    await raw.waitClosed();
  });
});

describe('limits', () => {
  it('proto-max-bulk-len: one byte past it is "invalid bulk length"; at it the command runs', async () => {
    const silt = await startServer({ protoMaxBulkLen: 1024 * 1024 });
    const ok = await RawClient.connect(silt.port);
    expect(plain(await ok.call('SET', 'bulk', Buffer.alloc(1024 * 1024, 1)))).toBe('OK');
    const raw = await RawClient.connect(silt.port);
    raw.send(`*3\r\n$3\r\nSET\r\n$4\r\nbulk\r\n$${1024 * 1024 + 1}\r\n`);
    expect(plain(await raw.reply())).toEqual({ error: 'ERR Protocol error: invalid bulk length' });
    await raw.waitClosed();
    expect(plain(await ok.call('STRLEN', 'bulk'))).toBe(1024 * 1024);
    // Strings grow up to it, as Redis's checkStringLength: APPEND, SETRANGE and SETBIT past it are refused.
    const tooLong = { error: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)' };
    expect(plain(await ok.call('APPEND', 'bulk', 'x'))).toEqual(tooLong);
    expect(plain(await ok.call('SETRANGE', 'bulk', String(1024 * 1024), 'x'))).toEqual(tooLong);
    expect(plain(await ok.call('SETBIT', 'bits', String(8 * 1024 * 1024), '1'))).toEqual({ error: 'ERR bit offset is not an integer or out of range' });
    // CONFIG SET moves that limit at once.
    expect(plain(await ok.call('CONFIG', 'SET', 'proto-max-bulk-len', String(2 * 1024 * 1024)))).toBe('OK');
    expect(plain(await ok.call('APPEND', 'bulk', 'x'))).toBe(1024 * 1024 + 1);
    // ... and the bulks that clients already connected may send, as Redis reads its limit at each `$len`.
    expect(plain(await ok.call('SET', 'bigger', Buffer.alloc(1024 * 1024 + 1, 2)))).toBe('OK');
    expect(plain(await ok.call('CONFIG', 'SET', 'proto-max-bulk-len', String(1024 * 1024)))).toBe('OK');
    expect(plain(await ok.call('SETRANGE', 'bulk', String(1024 * 1024 + 1), 'x'))).toEqual(tooLong);
    ok.send(`*3\r\n$3\r\nSET\r\n$4\r\nbulk\r\n$${1024 * 1024 + 1}\r\n`);
    expect(plain(await ok.reply())).toEqual({ error: 'ERR Protocol error: invalid bulk length' });
    await ok.waitClosed();
  });

  it('the default bulk limit (512 MiB) and multibulk count (1,048,576) are enforced without allocating', async () => {
    const silt = await startServer();
    const bulk = await RawClient.connect(silt.port);
    bulk.send(`*2\r\n$4\r\nECHO\r\n$${512 * 1024 * 1024 + 1}\r\n`);
    expect(plain(await bulk.reply())).toEqual({ error: 'ERR Protocol error: invalid bulk length' });
    const count = await RawClient.connect(silt.port);
    count.send(`*${1024 * 1024 + 1}\r\n`);
    expect(plain(await count.reply())).toEqual({ error: 'ERR Protocol error: invalid multibulk length' });
    // At the count limit the header is accepted (the command would follow).
    const atCount = await RawClient.connect(silt.port);
    atCount.send(`*${1024 * 1024}\r\n$4\r\nPING\r\n`);
    await sleep(50);
    expect(atCount.closed).toBe(false);
    expect(atCount.buffered).toBe(0);
  });

  it('client-query-buffer-limit: a client over it is closed without a reply', async () => {
    const silt = await startServer({ clientQueryBufferLimit: 1024 * 1024 });
    const bystander = ioredis(silt.port);
    await bystander.ping();
    const raw = await RawClient.connect(silt.port);
    // A bulk announced at 2 MiB, sent in full: the buffer passes 1 MiB first.
    raw.send(`*2\r\n$4\r\nECHO\r\n$${2 * 1024 * 1024}\r\n`);
    raw.send(Buffer.alloc(2 * 1024 * 1024, 0x61));
    await raw.waitClosed();
    expect(raw.buffered).toBe(0);
    expect(await bystander.ping()).toBe('PONG');
    expect(parseInfo(await bystander.info('stats')).client_query_buffer_limit_disconnections).toBe('1');
  });

  it('maxclients: the next client gets "-ERR max number of clients reached"; the others keep working', async () => {
    const silt = await startServer({ maxclients: 2 });
    const first = await RawClient.connect(silt.port);
    const second = await RawClient.connect(silt.port);
    expect(plain(await first.call('PING'))).toBe('PONG');
    const third = await RawClient.connect(silt.port);
    expect(plain(await third.reply())).toEqual({ error: 'ERR max number of clients reached' });
    await third.waitClosed();
    expect(plain(await second.call('PING'))).toBe('PONG');
    expect(parseInfo(String(plain(await first.call('INFO', 'stats')))).rejected_connections).toBe('1');
    first.close();
    await waitFor(() => silt.server.clients.size === 1, 2000, 'the first client to go');
    const fourth = await RawClient.connect(silt.port);
    expect(plain(await fourth.call('PING'))).toBe('PONG');
  });

  it('maxclients: a refused client that wrote a command and closed frees its socket; close() ends with refused clients still open', async () => {
    const silt = await startServer({ maxclients: 1 });
    const first = await RawClient.connect(silt.port);
    expect(plain(await first.call('PING'))).toBe('PONG');
    const sockets = (): number => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
      } catch {
        return false; // closed while listed
      }
    }).length;
    const before = sockets();
    for (let index = 0; index < 40; index++) {
      const refused = await RawClient.connect(silt.port);
      refused.send(encodeCommand(['HELLO', '3']));
      expect(plain(await refused.reply())).toEqual({ error: 'ERR max number of clients reached' });
      refused.close();
      await refused.waitClosed();
    }
    // Each refused connection is two sockets in this process (the client's and the server's): both go.
    await waitFor(() => sockets() <= before, 5000, 'the refused connections\' sockets to close');
    // One refused client stays connected without reading: close() cuts it off instead of waiting for it.
    const lingering = await RawClient.connect(silt.port);
    lingering.send(encodeCommand(['PING']));
    await sleep(50);
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([silt.server.close({ drain: true }).then(() => 'closed'), new Promise((resolve) => (timer = setTimeout(() => resolve('hung'), 5000)))]);
    clearTimeout(timer);
    expect(closed).toBe('closed');
  });

  it('a client that does not read is disconnected at the output buffer cap; others are unaffected', async () => {
    const silt = await startServer({ clientOutputBufferLimit: { normal: { hardBytes: 4 * 1024 * 1024, softBytes: 0, softSeconds: 0 }, pubsub: { hardBytes: 1024 * 1024, softBytes: 0, softSeconds: 0 } } });
    const writer = ioredis(silt.port);
    await writer.set('big', Buffer.alloc(16 * 1024 * 1024, 0x62));
    // A raw socket that sends and never reads.
    const socket = connect({ port: silt.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.write(Buffer.concat(Array.from({ length: 20 }, () => encodeCommand(['GET', 'big']))));
    await waitFor(() => closed || silt.server.stats.outputBufferDisconnections > 0, 10_000, 'the disconnect');
    expect(silt.server.stats.outputBufferDisconnections).toBe(1);
    socket.destroy();
    expect(await writer.strlen('big')).toBe(16 * 1024 * 1024);
    expect(parseInfo(await writer.info('stats')).client_output_buffer_limit_disconnections).toBe('1');
  });

  it('a subscriber that does not read is disconnected at the pubsub output cap', async () => {
    const silt = await startServer({ clientOutputBufferLimit: { normal: { hardBytes: 1024 ** 3, softBytes: 0, softSeconds: 0 }, pubsub: { hardBytes: 1024 * 1024, softBytes: 0, softSeconds: 0 } } });
    const socket = connect({ port: silt.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(encodeCommand(['SUBSCRIBE', 'flood']));
    await waitFor(() => silt.server.pubsub.subscriberCount(Buffer.from('flood')) === 1, 2000, 'the subscription');
    socket.pause();
    const publisher = ioredis(silt.port);
    const message = Buffer.alloc(64 * 1024, 0x6d);
    for (let round = 0; round < 400 && silt.server.stats.outputBufferDisconnections === 0; round++) await publisher.publish('flood', message);
    expect(silt.server.stats.outputBufferDisconnections).toBe(1);
    expect(await publisher.publish('flood', 'x')).toBe(0);
    socket.destroy();
  });

  it('a soft limit disconnects a client that stays over it for its seconds', async () => {
    const silt = await startServer({ clientOutputBufferLimit: { normal: { hardBytes: 0, softBytes: 1024 * 1024, softSeconds: 1 }, pubsub: { hardBytes: 0, softBytes: 0, softSeconds: 0 } } });
    const writer = ioredis(silt.port);
    await writer.set('soft', Buffer.alloc(16 * 1024 * 1024, 0x73));
    const socket = connect({ port: silt.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write(encodeCommand(['GET', 'soft']));
    await sleep(300);
    expect(silt.server.stats.outputBufferDisconnections).toBe(0);
    await waitFor(() => silt.server.stats.outputBufferDisconnections === 1, 5000, 'the soft-limit disconnect');
    socket.destroy();
  });
});

/** Sends `request` and the FIN at once (socket.end(data), as `printf ... | nc -N`); resolves with all the server sent, once it closed its side. */
function halfClose(port: number, request: string | Buffer): Promise<{ text: string; serverEnded: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    const chunks: Buffer[] = [];
    let serverEnded = false;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => (serverEnded = true));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), serverEnded }));
  });
}

describe('half-close (the client sends its FIN right after its requests)', () => {
  it('every request sent before the FIN is answered, then the server closes its side', async () => {
    const silt = await startServer();
    const { text, serverEnded } = await halfClose(silt.port, 'PING\r\n'.repeat(1000) + encodeCommand(['SET', 'hc', 'v']).toString('latin1') + encodeCommand(['GET', 'hc']).toString('latin1'));
    expect(text).toBe('+PONG\r\n'.repeat(1000) + '+OK\r\n$1\r\nv\r\n');
    expect(serverEnded).toBe(true);
    await waitFor(() => silt.server.clients.size === 0, 5000, 'client removed');
  });

  it('a reply that waits for fdatasync (appendfsync always) still reaches a half-closed client', async () => {
    const silt = await startServer({ appendfsync: 'always' });
    const { text } = await halfClose(silt.port, encodeCommand(['SET', 'hc', 'v']).toString('latin1') + 'PING\r\n');
    expect(text).toBe('+OK\r\n+PONG\r\n');
  });

  it('a request of exactly 64 KiB (a full socket read, the FIN read with it) is answered', async () => {
    const silt = await startServer();
    const header = (payload: number): string => `*2\r\n$4\r\nECHO\r\n$${payload}\r\n`;
    let payload = 65536 - header(60000).length - 2;
    payload -= header(payload).length - header(60000).length;
    const request = header(payload) + 'x'.repeat(payload) + '\r\n';
    expect(request.length).toBe(65536);
    for (let trial = 0; trial < 20; trial++) {
      const { text } = await halfClose(silt.port, request);
      expect(text.length).toBe(`$${payload}\r\n`.length + payload + 2);
    }
  });

  it('while another client keeps the server busy (its requests deferred to a later slice), a half-closing client gets every reply', async () => {
    const silt = await startServer();
    const busy = connect(silt.port, '127.0.0.1');
    busy.on('data', () => undefined);
    busy.on('error', () => undefined);
    let running = true;
    const chunk = Buffer.from('PING\r\n'.repeat(20_000));
    const feeding = (async () => {
      while (running && !busy.destroyed) {
        if (!busy.write(chunk)) await new Promise((resolve) => (busy.once('drain', resolve), busy.once('close', resolve)));
      }
    })();
    try {
      const deferredBefore = silt.server.turnBudget.deferrals;
      for (let trial = 0; trial < 30; trial++) {
        const { text } = await halfClose(silt.port, 'PING\r\n'.repeat(50));
        expect(text).toBe('+PONG\r\n'.repeat(50));
      }
      // The case that lost replies: requests run in a deferred slice, after the iteration's write burst.
      expect(silt.server.turnBudget.deferrals).toBeGreaterThan(deferredBefore);
    } finally {
      running = false;
      busy.destroy();
      await feeding;
    }
  });

  it('a blocking command that blocks after the FIN (it waited behind another command) drops its client: no element is taken for it', async () => {
    const { silt, release } = await startServerHeldBySave();
    const reply = halfClose(silt.port, 'PING\r\n' + encodeCommand(['BLPOP', 'hq2', '0']).toString('latin1'));
    await waitFor(() => silt.server.dispatcher.queued === 2, 2000, 'PING and BLPOP to queue');
    await sleep(20);
    release();
    const { text, serverEnded } = await reply;
    expect(text).toBe('+PONG\r\n');
    expect(serverEnded).toBe(true);
    const client = ioredis(silt.port);
    expect(parseInfo(await client.info('clients'))['blocked_clients']).toBe('0');
    expect(await client.rpush('hq2', 'x')).toBe(1);
    expect(await client.llen('hq2')).toBe(1);
  });

  it('a blocked client with more than 64 KiB of requests behind its command is still read, and dropped at its FIN', async () => {
    const silt = await startServer();
    const socket = connect(silt.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const client = ioredis(silt.port);
    socket.write(encodeCommand(['BLPOP', 'hq3', '0']));
    await waitFor(async () => parseInfo(await client.info('clients'))['blocked_clients'] === '1', 5000, 'BLPOP blocked');
    socket.end('PING\r\n'.repeat(40_000));
    await waitFor(async () => parseInfo(await client.info('clients'))['blocked_clients'] === '0', 5000, 'blocked client dropped');
    expect(await client.rpush('hq3', 'x')).toBe(1);
    expect(await client.llen('hq3')).toBe(1);
  });

  it('requests read while a client was blocked run once it is served', async () => {
    const silt = await startServer();
    const raw = await RawClient.connect(silt.port);
    raw.send(Buffer.concat([encodeCommand(['BLPOP', 'hq4', '0']), Buffer.from('PING\r\n'.repeat(20_000))]));
    const client = ioredis(silt.port);
    await waitFor(async () => parseInfo(await client.info('clients'))['blocked_clients'] === '1', 5000, 'BLPOP blocked');
    await client.rpush('hq4', 'v');
    const replies = await raw.replies(20_001);
    expect(plain(replies[0]!)).toEqual(['hq4', 'v']);
    expect(plain(replies[20_000]!)).toBe('PONG');
  });

  it('the server lets go of the socket of a connection it closed within closeGraceMs, even when the client never closes it', async () => {
    const silt = await startServer();
    // allowHalfOpen: the clients keep their side open after the server's FIN, as a client that never closes.
    const sockets = await Promise.all(
      Array.from({ length: 20 }, () => {
        return new Promise<{ socket: ReturnType<typeof connect>; ended: Promise<void> }>((resolve) => {
          const socket = connect({ port: silt.port, host: '127.0.0.1', allowHalfOpen: true }, () => {
            socket.write('QUIT\r\n');
            resolve({ socket, ended: new Promise((ended) => socket.once('end', () => ended())) });
          });
          socket.on('data', () => undefined);
          socket.on('error', () => undefined);
        });
      }),
    );
    await Promise.all(sockets.map(({ ended }) => ended));
    expect(silt.server.clients.size).toBe(0);
    expect(await silt.server.openSockets()).toBeGreaterThan(0);
    await waitFor(async () => (await silt.server.openSockets()) === 0, closeGraceMs + 3000, 'sockets released');
    for (const { socket } of sockets) socket.destroy();
  });

  it('a blocked client that half-closes is dropped, as Redis drops it: a later push is not taken for it', async () => {
    const silt = await startServer();
    const socket = connect(silt.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(encodeCommand(['BLPOP', 'hq', '0']));
    const client = ioredis(silt.port);
    await waitFor(async () => parseInfo(await client.info('clients'))['blocked_clients'] === '1', 5000, 'BLPOP blocked');
    socket.end();
    await waitFor(async () => parseInfo(await client.info('clients'))['blocked_clients'] === '0', 5000, 'blocked client dropped');
    expect(await client.lpush('hq', 'x')).toBe(1);
    expect(await client.llen('hq')).toBe(1);
  });
});

describe('backpressure', () => {
  it('stops reading from a client that does not read its replies, and resumes when it does', async () => {
    const silt = await startServer();
    await ioredis(silt.port).set('bp', Buffer.alloc(64 * 1024, 0x70));
    const socket = connect({ port: silt.port, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    const total = 2000;
    const request = Buffer.concat(Array.from({ length: total }, () => encodeCommand(['GET', 'bp'])));
    socket.write(request);
    // The server runs only what fits its output high-water mark, then stops reading.
    await sleep(500);
    const processedWhilePaused = silt.server.stats.commandsProcessed;
    await sleep(300);
    expect(silt.server.stats.commandsProcessed).toBe(processedWhilePaused);
    expect(processedWhilePaused).toBeLessThan(total);
    const client = [...silt.server.clients.values()].at(-1)!;
    expect(client.describe()).toContain('events=w');
    // Reading again lets every reply through.
    let bytes = 0;
    const replyBytes = 64 * 1024 + `$${64 * 1024}\r\n\r\n`.length;
    socket.on('data', (chunk: Buffer) => (bytes += chunk.length));
    socket.resume();
    await waitFor(() => bytes >= total * replyBytes, 20_000, 'every reply');
    expect(bytes).toBe(total * replyBytes);
    socket.destroy();
  });

  it("a client's requests run in the order it sent them when it is served between two of them another client sent", async () => {
    // Queued while SAVE runs: C's BLPOP and SET, D's RPUSH (which serves the BLPOP), then C's GET. C's SET is
    // held while C is blocked; its GET, still in the queue when C is served, ran first and answered nil.
    const { silt, saver, release } = await startServerHeldBySave();
    const c = await RawClient.connect(silt.port);
    const d = await RawClient.connect(silt.port);
    c.send(Buffer.concat([encodeCommand(['BLPOP', 'order:q', '0']), encodeCommand(['SET', 'order:a', '1'])]));
    await waitFor(() => silt.server.dispatcher.queued === 2, 2000, "C's two requests queued");
    d.send(encodeCommand(['RPUSH', 'order:q', 'x']));
    await waitFor(() => silt.server.dispatcher.queued === 3, 2000, "D's request queued");
    c.send(Buffer.concat([encodeCommand(['GET', 'order:a']), encodeCommand(['INCR', 'order:a'])]));
    await waitFor(() => silt.server.dispatcher.queued === 5, 2000, "C's later requests queued");
    release();
    expect(plain(await saver.reply())).toBe('OK');
    expect((await c.replies(4)).map(plain)).toEqual([['order:q', 'x'], 'OK', '1', 2]);
    expect(plain(await d.reply())).toBe(1);
  });

  it('requests held behind a sliced read run in slices of the turn budget once it ends, in order', async () => {
    const silt = await startServer();
    const setup = ioredis(silt.port);
    await setup.rpush('held:big', ...Array.from({ length: 20_000 }, (_, index) => `e${index}`)); // past listRangeSlicedMin
    await setup.rpush('held:small', ...Array.from({ length: 2000 }, (_, index) => `s${index}`));
    const raw = await RawClient.connect(silt.port);
    const slicesBefore = silt.server.dispatcher.drainSlices;
    const count = 1500; // past the 1,024 run slots after which a client's released requests are compacted
    raw.command('LRANGE', 'held:big', '0', '-1');
    for (let index = 0; index < count; index++) raw.command('LRANGE', 'held:small', String(index), String(index + 99));
    expect(((await raw.reply()) as unknown[]).length).toBe(20_000);
    for (let index = 0; index < count; index++) {
      const reply = (await raw.reply()) as Buffer[];
      expect(reply.length, `reply ${index}`).toBe(100);
      expect(String(reply[0]), `reply ${index}`).toBe(`s${index}`);
    }
    // 1,500 reads of 100 elements take far longer than one 4 ms budget: they did not run in one go.
    expect(silt.server.dispatcher.drainSlices).toBeGreaterThan(slicesBefore);
  });

  it('idle clients are closed after timeout seconds; subscribers are not', async () => {
    const silt = await startServer({ timeout: 1 });
    const idle = await RawClient.connect(silt.port);
    const subscriber = await RawClient.connect(silt.port);
    await subscriber.call('SUBSCRIBE', 'keep');
    await idle.waitClosed(4000);
    expect(subscriber.closed).toBe(false);
  });
});
