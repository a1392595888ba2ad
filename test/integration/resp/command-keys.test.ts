// COMMAND INFO and COMMAND GETKEYS for the commands whose keys follow a
// numkeys argument, over a real socket: movablekeys, Redis 7's legacy key
// positions and keynum key specs, and the keys (or Redis's error) for each,
// as redis-server 7.0.15 answers (tools/dev/compare-command-info.ts compares
// the whole table with a live one). Also the flags COMMAND INFO shows in
// Redis's sense (pubsub, containers).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, closeAll, closeServers, plain, startServer, type TestServer } from './harness.js';

afterEach(closeAll);
afterAll(closeServers);

/** Each numkeys command, a request, and the keys Redis's COMMAND GETKEYS finds in it. */
const numkeysRequests: readonly [string, string[]][] = [
  ['zunionstore d 2 a b weights 1 2', ['d', 'a', 'b']],
  ['zinterstore d 1 a', ['d', 'a']],
  ['zdiffstore d 2 a b', ['d', 'a', 'b']],
  ['zunion 2 a b withscores', ['a', 'b']],
  ['zinter 1 a', ['a']],
  ['zdiff 2 a b', ['a', 'b']],
  ['zintercard 2 a b limit 1', ['a', 'b']],
  ['sintercard 2 a b limit 1', ['a', 'b']],
  ['lmpop 2 a b left count 2', ['a', 'b']],
  ['zmpop 1 a min', ['a']],
  ['blmpop 0 2 a b left', ['a', 'b']],
  ['bzmpop 1 1 a min', ['a']],
  // Redis reads numkeys with atoi for this: "1.0" is 1, and a timeout is not checked.
  ['zinter 1.0 a', ['a']],
  ['blmpop x 1 a left', ['a']],
];

/** Requests whose numkeys is not a count of keys that are there. */
const invalidRequests: readonly string[] = ['zunionstore d 0 a b', 'zunionstore d x a b', 'zinterstore d 2 a', 'zdiff 5 a', 'zinter 2147483648 a', 'sintercard 0 a', 'sintercard 3 a b', 'lmpop 0 a left', 'bzmpop 0 0 a min'];

function entries(value: unknown): unknown[] {
  return value as unknown[];
}

describe('COMMAND and keys that follow numkeys', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });

  async function info(name: string): Promise<unknown[]> {
    const client = await RawClient.connect(silt.port);
    try {
      return entries(entries(plain(await client.call('COMMAND', 'INFO', name)))[0]);
    } finally {
      client.close();
    }
  }

  it('COMMAND GETKEYS finds the keys of every numkeys command', async () => {
    const client = await RawClient.connect(silt.port);
    for (const [request, keys] of numkeysRequests) {
      expect(plain(await client.call('COMMAND', 'GETKEYS', ...request.split(' '))), request).toEqual(keys);
    }
  });

  it('COMMAND GETKEYS answers Redis\'s errors', async () => {
    const client = await RawClient.connect(silt.port);
    for (const request of invalidRequests) {
      expect(plain(await client.call('COMMAND', 'GETKEYS', ...request.split(' '))), request).toEqual({ error: 'ERR Invalid arguments specified for command' });
    }
    expect(plain(await client.call('COMMAND', 'GETKEYS', 'lmpop', '1', 'a'))).toEqual({ error: 'ERR Invalid number of arguments specified for command' });
    expect(plain(await client.call('COMMAND', 'GETKEYS', 'ping', 'x'))).toEqual({ error: 'ERR The command has no key arguments' });
    expect(plain(await client.call('COMMAND', 'GETKEYS', 'nosuch', 'a'))).toEqual({ error: 'ERR Invalid command specified' });
    expect(plain(await client.call('COMMAND', 'GETKEYS', 'mset', 'a', '1', 'b', '2'))).toEqual(['a', 'b']);
  });

  it('COMMAND INFO marks them movablekeys with Redis 7\'s legacy positions', async () => {
    const expected: Record<string, [number, number, number]> = {
      zunionstore: [1, 1, 1],
      zinterstore: [1, 1, 1],
      zdiffstore: [1, 1, 1],
      zunion: [0, 0, 0],
      zinter: [0, 0, 0],
      zdiff: [0, 0, 0],
      zintercard: [0, 0, 0],
      sintercard: [0, 0, 0],
      lmpop: [0, 0, 0],
      zmpop: [0, 0, 0],
      blmpop: [0, 0, 0],
      bzmpop: [0, 0, 0],
    };
    for (const [name, positions] of Object.entries(expected)) {
      const entry = await info(name);
      expect(entry[0], name).toBe(name);
      expect(entry[2], name).toContain('movablekeys');
      expect(entry.slice(3, 6), name).toEqual(positions);
    }
    expect((await info('get'))[2]).not.toContain('movablekeys');
  });

  it('COMMAND INFO gives keynum key specs after the destination', async () => {
    const specs = entries((await info('zunionstore'))[8]);
    expect(specs).toHaveLength(2);
    // RESP2: maps as flat arrays, sets as arrays.
    expect(specs[0]).toEqual(['flags', ['OW', 'update'], 'begin_search', ['type', 'index', 'spec', ['index', 1]], 'find_keys', ['type', 'range', 'spec', ['lastkey', 0, 'keystep', 1, 'limit', 0]]]);
    expect(specs[1]).toEqual(['flags', ['RO', 'access'], 'begin_search', ['type', 'index', 'spec', ['index', 2]], 'find_keys', ['type', 'keynum', 'spec', ['keynumidx', 0, 'firstkey', 1, 'keystep', 1]]]);
    const popSpecs = entries((await info('blmpop'))[8]);
    expect(popSpecs).toEqual([['flags', ['RW', 'access', 'delete'], 'begin_search', ['type', 'index', 'spec', ['index', 2]], 'find_keys', ['type', 'keynum', 'spec', ['keynumidx', 0, 'firstkey', 1, 'keystep', 1]]]]);
  });

  it('COMMAND INFO shows Redis\'s pubsub flag on the Pub/Sub commands and no flags on containers', async () => {
    expect((await info('publish'))[2]).toContain('pubsub');
    expect((await info('pubsub|channels'))[2]).toContain('pubsub');
    expect((await info('pubsub|help'))[2]).not.toContain('pubsub');
    // PING is allowed in subscribed mode, which Redis does not show as a flag.
    expect((await info('ping'))[2]).toEqual(['fast']);
    expect((await info('client'))[2]).toEqual([]);
    expect((await info('config'))[2]).toEqual([]);
    expect((await info('command'))[2]).toEqual(['loading']);
    expect((await info('config|rewrite')).slice(0, 6)).toEqual(['config|rewrite', 2, ['admin', 'loading'], 0, 0, 0]);
    expect((await info('object|help'))[2]).toEqual(['loading']);
  });
});
