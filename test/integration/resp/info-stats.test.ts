// INFO stats over real sockets: keyspace_hits and keyspace_misses counted as
// Redis's lookupKeyRead counts them (request by request against what
// redis-server 7.0.15 counts, tools/dev/keyspace-stats-cases.ts), expired
// keys as misses and in expired_keys, total_commands_processed as Redis's
// call() counts, rejected_connections, the network rates, and CONFIG
// RESETSTAT zeroing all of them.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { keyspaceStatsCases, keyspaceStatsSetup } from '../../../tools/dev/keyspace-stats-cases.js';
import { delayResolutionMs } from '../../../service/resp/loop-stats.js';
import { RawClient, closeAll, closeServers, ioredis, parseInfo, plain, sleep, startServer, waitFor, type TestServer } from './harness.js';

afterEach(closeAll);
afterAll(closeServers);

async function stats(client: ReturnType<typeof ioredis>): Promise<Record<string, string>> {
  return parseInfo(await client.info('stats'));
}

async function hitsAndMisses(client: ReturnType<typeof ioredis>): Promise<[number, number]> {
  const fields = await stats(client);
  return [Number(fields.keyspace_hits), Number(fields.keyspace_misses)];
}

describe('INFO stats', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });

  it('counts keyspace hits and misses per request as Redis does', async () => {
    const client = ioredis(silt.port);
    const differences: string[] = [];
    for (const [request, hits, misses] of keyspaceStatsCases) {
      await client.flushall();
      for (const command of keyspaceStatsSetup) await client.call(...(command as [string, ...string[]]));
      await client.config('RESETSTAT');
      await client.call(...(request.split(' ') as [string, ...string[]])).catch(() => undefined);
      const counted = await hitsAndMisses(client);
      if (counted[0] !== hits || counted[1] !== misses) differences.push(`${request}: ${counted.join('/')}, Redis ${hits}/${misses}`);
    }
    expect(differences).toEqual([]);
    // The table covers reads, writes, wrong types, STORE destinations and blocking pops.
    expect(keyspaceStatsCases.length).toBeGreaterThan(150);
  });

  it('counts an expired key as a miss, and each key of MGET and of a transaction', async () => {
    const client = ioredis(silt.port);
    await client.flushall();
    await client.set('live', 'v');
    await client.set('gone', 'v', 'PX', 20);
    await sleep(40); // past its expiry time: it reads as absent whether or not the sweep removed it yet
    await client.config('RESETSTAT');
    expect(await client.get('gone')).toBeNull();
    expect(await hitsAndMisses(client)).toEqual([0, 1]);
    await client.config('RESETSTAT');
    expect(await client.mget('live', 'gone', 'live', 'absent')).toEqual(['v', null, 'v', null]);
    expect(await hitsAndMisses(client)).toEqual([2, 2]);
    await client.config('RESETSTAT');
    expect(await client.multi().get('live').get('absent').hget('absent', 'f').set('live', 'w').exec()).toEqual([
      [null, 'v'],
      [null, null],
      [null, null],
      [null, 'OK'],
    ]);
    expect(await hitsAndMisses(client)).toEqual([1, 2]);
  });

  it('counts a STORE source named like its destination, but not the destination', async () => {
    const client = ioredis(silt.port);
    await client.flushall();
    await client.sadd('a', '1', '2');
    await client.sadd('b', '2');
    await client.config('RESETSTAT');
    expect(await client.sinterstore('a', 'a', 'b')).toBe(1);
    expect(await hitsAndMisses(client)).toEqual([2, 0]);
    await client.config('RESETSTAT');
    expect(await client.sunionstore('dest', 'absent', 'b')).toBe(1);
    expect(await hitsAndMisses(client)).toEqual([1, 1]);
  });

  it('counts expired_keys once per expired key, whether the sweep, a write or DEL removes it', async () => {
    const client = ioredis(silt.port);
    await client.select(3);
    await client.flushdb();
    await client.config('RESETSTAT');
    for (const key of ['e1', 'e2', 'e3']) await client.set(key, 'v', 'PX', 20);
    await client.set('kept', 'v');
    await sleep(40);
    // Whatever the sweep has done meanwhile, each key is counted when it goes, and only once.
    await client.set('e1', 'new');
    await client.del('e2');
    await waitFor(async () => (await client.dbsize()) === 2, 5000, 'the sweep to remove e3');
    expect(Number((await stats(client)).expired_keys)).toBe(3);
    expect(await client.get('e1')).toBe('new');
    await client.config('RESETSTAT');
    expect((await stats(client)).expired_keys).toBe('0');
  });

  it('counts commands that ran, not those refused, and RESETSTAT zeroes the counters', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('SET', 'counted', 'v'))).toBe('OK');
    expect(plain(await raw.call('GET', 'counted'))).toBe('v');
    expect(plain(await raw.call('CONFIG', 'RESETSTAT'))).toBe('OK');
    expect(plain(await raw.call('PING'))).toBe('PONG');
    expect(plain(await raw.call('NOSUCHCOMMAND'))).toMatchObject({ error: expect.stringContaining('unknown command') });
    expect(plain(await raw.call('GET'))).toMatchObject({ error: expect.stringContaining('wrong number of arguments') });
    expect(plain(await raw.call('MULTI'))).toBe('OK');
    expect(plain(await raw.call('GET', 'counted'))).toBe('QUEUED');
    expect(plain(await raw.call('EXEC'))).toEqual(['v']);
    const fields = parseInfo(String(plain(await raw.call('INFO', 'stats'))));
    // As redis-server 7.0: RESETSTAT itself, PING, MULTI, EXEC and the GET it ran; INFO counts after its reply.
    expect(fields.total_commands_processed).toBe('5');
    expect(fields.keyspace_hits).toBe('1');
    expect(fields.keyspace_misses).toBe('0');
    expect(fields.total_error_replies).toBe('2');
    for (const name of ['instantaneous_ops_per_sec', 'total_net_input_bytes', 'total_net_output_bytes', 'rejected_connections', 'total_connections_received', 'expired_keys', 'evicted_keys']) {
      expect(fields[name], name).toMatch(/^\d+$/);
    }
    expect(fields.instantaneous_input_kbps).toMatch(/^\d+\.\d\d$/);
    expect(fields.instantaneous_output_kbps).toMatch(/^\d+\.\d\d$/);
    expect(Number(fields.total_net_input_bytes)).toBeGreaterThan(0);
  });

  it('shows the event loop held by a stall: its busy time, its share, and the delay, until RESETSTAT', async () => {
    // The server runs in this process: holding this thread holds its event loop, as a slow command would.
    const client = ioredis(silt.port);
    await client.config('RESETSTAT');
    await sleep(150); // cron ticks to measure the share against
    const stallMs = 200;
    const until = performance.now() + stallMs;
    while (performance.now() < until) {
      // busy: no timer, no socket is served
    }
    await sleep(3 * delayResolutionMs); // the delay monitor's timer fires late, and is counted
    const held = await stats(client);
    expect(Number(held.eventloop_delay_max_usec)).toBeGreaterThanOrEqual((stallMs - delayResolutionMs) * 1000);
    expect(Number(held.eventloop_delay_p99_usec)).toBeLessThanOrEqual(Number(held.eventloop_delay_max_usec));
    expect(Number(held.eventloop_duration_sum)).toBeGreaterThanOrEqual(stallMs * 1000);
    expect(held.instantaneous_eventloop_utilization).toMatch(/^[01]\.\d\d$/);
    expect(Number(held.instantaneous_eventloop_utilization)).toBeGreaterThan(0);
    await client.config('RESETSTAT');
    const reset = await stats(client);
    // Since the reset: an INFO's worth of work, nowhere near the stall.
    expect(Number(reset.eventloop_delay_max_usec)).toBeLessThan((stallMs / 2) * 1000);
    expect(Number(reset.eventloop_duration_sum)).toBeLessThan((stallMs / 2) * 1000);
  });

  it('total_error_replies counts every error reply, those commands return as well as refusals, as errorstats does', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('SET', 'not-a-number', 'abc'))).toBe('OK');
    expect(plain(await raw.call('RPUSH', 'a-list', 'x'))).toBe(1);
    expect(plain(await raw.call('CONFIG', 'RESETSTAT'))).toBe('OK');
    expect(plain(await raw.call('INCR', 'not-a-number'))).toMatchObject({ error: 'ERR value is not an integer or out of range' });
    expect(plain(await raw.call('GET', 'a-list'))).toMatchObject({ error: expect.stringContaining('WRONGTYPE') });
    expect(plain(await raw.call('SET', 'k', 'v', 'BOGUS'))).toMatchObject({ error: 'ERR syntax error' });
    expect(plain(await raw.call('NOSUCHCOMMAND'))).toMatchObject({ error: expect.stringContaining('unknown command') });
    expect(plain(await raw.call('MULTI'))).toBe('OK');
    expect(plain(await raw.call('SAVE'))).toMatchObject({ error: 'ERR Command not allowed inside a transaction' });
    expect(plain(await raw.call('DISCARD'))).toBe('OK');
    const all = parseInfo(String(plain(await raw.call('INFO', 'all'))));
    // As redis-server 7.0: the five errors, each in errorstats, and SAVE's refusal in its commandstats.
    expect(all.total_error_replies).toBe('5');
    expect(all.errorstat_ERR).toBe('count=4');
    expect(all.errorstat_WRONGTYPE).toBe('count=1');
    expect(all.cmdstat_save).toMatch(/rejected_calls=1/);
    expect(all.cmdstat_incr).toMatch(/failed_calls=1/);
    // Redis 7.0's default INFO has the Errorstats section, not Commandstats.
    const plainInfo = String(plain(await raw.call('INFO')));
    expect(plainInfo).toContain('# Errorstats\r\nerrorstat_ERR:count=4');
    expect(plainInfo).not.toContain('# Commandstats');
  });

  it('a refused EXEC counts as EXECABORT, and an arity error in its command\'s rejected_calls, as in redis-server 7.0', async () => {
    const local = await startServer({ requirepass: 'pw' });
    try {
      const raw = await RawClient.connect(local.port);
      expect(plain(await raw.call('MULTI'))).toMatchObject({ error: expect.stringContaining('NOAUTH') });
      expect(plain(await raw.call('EXEC'))).toEqual({ error: 'EXECABORT Transaction discarded because of: NOAUTH Authentication required.' });
      expect(plain(await raw.call('AUTH', 'pw'))).toBe('OK');
      expect(plain(await raw.call('EXEC', 'now'))).toEqual({ error: "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command" });
      expect(plain(await raw.call('GET'))).toEqual({ error: "ERR wrong number of arguments for 'get' command" });
      expect(plain(await raw.call('CONFIG', 'GET'))).toEqual({ error: "ERR wrong number of arguments for 'config|get' command" });
      const all = parseInfo(String(plain(await raw.call('INFO', 'all'))));
      expect(all).toMatchObject({ errorstat_NOAUTH: 'count=1', errorstat_EXECABORT: 'count=2', errorstat_ERR: 'count=2', total_error_replies: '5' });
      expect(all.cmdstat_exec).toMatch(/^calls=0,.*rejected_calls=2,failed_calls=0$/);
      expect(all.cmdstat_get).toMatch(/rejected_calls=1,/);
      expect(all['cmdstat_config|get']).toMatch(/rejected_calls=1,/);
      raw.close();
    } finally {
      await local.close();
    }
  });

  it('counts refused connections in rejected_connections', async () => {
    const local = await startServer();
    try {
      const admin = ioredis(local.port);
      await admin.ping();
      await admin.config('SET', 'maxclients', String(local.server.clients.size));
      const refused = await RawClient.connect(local.port);
      expect(plain(await refused.reply())).toEqual({ error: 'ERR max number of clients reached' });
      const fields = await stats(admin);
      expect(fields.rejected_connections).toBe('1');
      expect(Number(fields.total_connections_received)).toBe(2);
    } finally {
      await closeAll();
      await local.close();
    }
  });
});
