// The string and key commands through real sockets (the keyspace's own tests
// run them in-process): one table of requests and Redis's replies, recorded
// from redis-server 7.0 and replayed through five clients: raw RESP2, raw
// RESP3 (HELLO 3), ioredis, and node-redis in RESP2 and RESP3. Each group
// starts on an empty server (FLUSHALL, SELECT 0). Where silt differs from
// Redis on purpose the row says so (INCRBYFLOAT computes in double, Redis in
// long double; KEYS order is key order here, hash order in Redis).
//
// Then the client libraries' own typed APIs on the same commands, and the
// expiry sweep seen from outside (expired keys leave DBSIZE by themselves).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, closeAll, closeServers, ioredis, nodeRedis, parseInfo, plain, sleep, startServer, waitFor, type TestServer } from './harness.js';

type Step = [args: string[], expected: unknown];

/** Matches a number within `tolerance` of `value` (TTLs move while the test runs). */
function near(value: number, tolerance: number): unknown {
  return { asymmetricMatch: (actual: unknown) => typeof actual === 'number' && Math.abs(actual - value) <= tolerance, toString: () => `near(${value}, ${tolerance})` };
}

/** Matches an array with these items in any order. */
function sorted(items: string[]): unknown {
  return { asymmetricMatch: (actual: unknown) => Array.isArray(actual) && JSON.stringify([...actual].map(String).sort()) === JSON.stringify(items), toString: () => `sorted(${items.join(',')})` };
}

const table: Record<string, Step[]> = {
  "SET and its options": [
    [["SET","s:a","v1"], "OK"],
    [["GET","s:a"], "v1"],
    [["SET","s:a","v2","NX"], null],
    [["SET","s:b","v","XX"], null],
    [["SET","s:a","v3","XX"], "OK"],
    [["GET","s:a"], "v3"],
    [["SET","s:a","v4","GET"], "v3"],
    [["SET","s:none","v","GET"], null],
    [["SET","s:a","v5","NX","GET"], "v4"],
    [["SET","s:a","v","NX","XX"], {"error":"ERR syntax error"}],
    [["SET","s:a","v","EX","10","PX","100"], {"error":"ERR syntax error"}],
    [["SET","s:a","v","EX","0"], {"error":"ERR invalid expire time in 'set' command"}],
    [["SET","s:a","v","EX","-1"], {"error":"ERR invalid expire time in 'set' command"}],
    [["SET","s:a","v","EX","x"], {"error":"ERR value is not an integer or out of range"}],
    [["SET","s:a","v","KEEPTTL","EX","10"], {"error":"ERR syntax error"}],
    [["SET","s:a","v","BOGUS"], {"error":"ERR syntax error"}],
    [["SET","s:a"], {"error":"ERR wrong number of arguments for 'set' command"}],
    [["SET","s:t","v","EX","100"], "OK"],
    [["SET","s:t","w","KEEPTTL"], "OK"],
    [["TTL","s:t"], near(100, 1)],
    [["SET","s:t","x"], "OK"],
    [["TTL","s:t"], -1],
    [["SET","s:t","v","PX","100000"], "OK"],
    [["SET","s:t","v","EXAT","4102444800"], "OK"],
    [["EXPIRETIME","s:t"], 4102444800],
    [["SET","s:t","v","PXAT","4102444800000"], "OK"],
    [["PEXPIRETIME","s:t"], 4102444800000],
    [["SET","s:t","v","EXAT","1"], "OK"],
    [["EXISTS","s:t"], 0],
    [["SET","s:a","v","ex","9223372036854775807"], {"error":"ERR invalid expire time in 'set' command"}],
  ],
  "SETNX SETEX PSETEX GETSET GETDEL GETEX": [
    [["SETNX","n:a","1"], 1],
    [["SETNX","n:a","2"], 0],
    [["GET","n:a"], "1"],
    [["SETEX","n:b","100","v"], "OK"],
    [["TTL","n:b"], near(100, 1)],
    [["SETEX","n:b","0","v"], {"error":"ERR invalid expire time in 'setex' command"}],
    [["SETEX","n:b","x","v"], {"error":"ERR value is not an integer or out of range"}],
    [["PSETEX","n:c","100000","v"], "OK"],
    [["PSETEX","n:c","-5","v"], {"error":"ERR invalid expire time in 'psetex' command"}],
    [["GETSET","n:a","new"], "1"],
    [["GETSET","n:missing","v"], null],
    [["GETDEL","n:a"], "new"],
    [["GETDEL","n:a"], null],
    [["GETEX","n:c","PERSIST"], "v"],
    [["TTL","n:c"], -1],
    [["GETEX","n:c","EX","100"], "v"],
    [["TTL","n:c"], near(100, 1)],
    [["GETEX","n:c","EX","1","PX","1"], {"error":"ERR syntax error"}],
    [["GETEX","n:missing"], "v"],
    [["GETEX","n:c","BOGUS"], {"error":"ERR syntax error"}],
  ],
  "MGET MSET MSETNX": [
    [["MSET","m:a","1","m:b","2"], "OK"],
    [["MGET","m:a","m:b","m:none"], ["1","2",null]],
    [["MSET","m:a","1","m:b"], {"error":"ERR wrong number of arguments for 'mset' command"}],
    [["MSETNX","m:c","3","m:a","x"], 0],
    [["MGET","m:a","m:c"], ["1",null]],
    [["MSETNX","m:c","3","m:d","4"], 1],
    [["MGET","m:c","m:d"], ["3","4"]],
  ],
  "APPEND STRLEN GETRANGE SETRANGE": [
    [["APPEND","r:a","Hello"], 5],
    [["APPEND","r:a"," World"], 11],
    [["STRLEN","r:a"], 11],
    [["STRLEN","r:none"], 0],
    [["GETRANGE","r:a","0","4"], "Hello"],
    [["GETRANGE","r:a","-5","-1"], "World"],
    [["GETRANGE","r:a","5","1"], ""],
    [["SUBSTR","r:a","-5","-1"], "World"],
    [["SUBSTR","r:a"], {"error":"ERR wrong number of arguments for 'substr' command"}],
    [["GETRANGE","r:a","0","100"], "Hello World"],
    [["GETRANGE","r:none","0","1"], ""],
    [["GETRANGE","r:a","x","1"], {"error":"ERR value is not an integer or out of range"}],
    [["SETRANGE","r:a","6","Redis"], 11],
    [["GET","r:a"], "Hello Redis"],
    [["SETRANGE","r:b","3","x"], 4],
    [["GET","r:b"], "\u0000\u0000\u0000x"],
    [["SETRANGE","r:a","-1","x"], {"error":"ERR offset is out of range"}],
    [["SETRANGE","r:a","536870912","x"], {"error":"ERR string exceeds maximum allowed size (proto-max-bulk-len)"}],
    [["SETRANGE","r:c","5",""], 0],
    [["EXISTS","r:c"], 0],
  ],
  "INCR DECR INCRBY DECRBY INCRBYFLOAT": [
    [["INCR","i:a"], 1],
    [["INCRBY","i:a","10"], 11],
    [["DECR","i:a"], 10],
    [["DECRBY","i:a","5"], 5],
    [["GET","i:a"], "5"],
    [["SET","i:s","abc"], "OK"],
    [["INCR","i:s"], {"error":"ERR value is not an integer or out of range"}],
    [["INCRBY","i:a","x"], {"error":"ERR value is not an integer or out of range"}],
    [["SET","i:max","9223372036854775807"], "OK"],
    [["INCR","i:max"], {"error":"ERR increment or decrement would overflow"}],
    [["SET","i:min","-9223372036854775808"], "OK"],
    [["DECR","i:min"], {"error":"ERR increment or decrement would overflow"}],
    [["DECRBY","i:a","-9223372036854775808"], {"error":"ERR decrement would overflow"}],
    [["INCRBYFLOAT","i:f","10.5"], "10.5"],
    [["INCRBYFLOAT","i:f","0.1"], "10.6"],
    [["INCRBYFLOAT","i:f","-5"], "5.6"],
    [["INCRBYFLOAT","i:f","5.0e3"], "5005.60000000000000009" /* long double, as Redis */],
    [["INCRBYFLOAT","i:f","9e4932"], {"error":"ERR value is not a valid float"}],
    [["INCRBYFLOAT","i:f","x"], {"error":"ERR value is not a valid float"}],
    [["INCRBYFLOAT","i:f","inf"], {"error":"ERR increment would produce NaN or Infinity"}],
    [["SET","i:sp"," 1"], "OK"],
    [["INCR","i:sp"], {"error":"ERR value is not an integer or out of range"}],
  ],
  "SETBIT GETBIT BITCOUNT": [
    [["SETBIT","b:a","7","1"], 0],
    [["SETBIT","b:a","7","0"], 1],
    [["SETBIT","b:a","1","1"], 0],
    [["GETBIT","b:a","1"], 1],
    [["GETBIT","b:a","100"], 0],
    [["GET","b:a"], "@"],
    [["SETBIT","b:a","1","2"], {"error":"ERR bit is not an integer or out of range"}],
    [["SETBIT","b:a","-1","1"], {"error":"ERR bit offset is not an integer or out of range"}],
    [["SET","b:c","foobar"], "OK"],
    [["BITCOUNT","b:c"], 26],
    [["BITCOUNT","b:c","0","0"], 4],
    [["BITCOUNT","b:c","1","1"], 6],
    [["BITCOUNT","b:c","5","30","BIT"], 17],
    [["BITCOUNT","b:c","0"], {"error":"ERR syntax error"}],
    [["BITCOUNT","b:none"], 0],
    [["BITCOUNT","b:c","0","-1","BYTE"], 26],
  ],
  "arity errors": [
    [["GET"], {"error":"ERR wrong number of arguments for 'get' command"}],
    [["GET","a","b"], {"error":"ERR wrong number of arguments for 'get' command"}],
    [["MGET"], {"error":"ERR wrong number of arguments for 'mget' command"}],
    [["INCR"], {"error":"ERR wrong number of arguments for 'incr' command"}],
    [["STRLEN","a","b"], {"error":"ERR wrong number of arguments for 'strlen' command"}],
    [["GETRANGE","a","0"], {"error":"ERR wrong number of arguments for 'getrange' command"}],
  ],
  "DEL UNLINK EXISTS TYPE TOUCH": [
    [["MSET","k:a","1","k:b","2","k:c","3"], "OK"],
    [["EXISTS","k:a","k:a","k:none"], 2],
    [["TYPE","k:a"], "string"],
    [["TYPE","k:none"], "none"],
    [["DEL","k:a","k:none"], 1],
    [["UNLINK","k:b","k:b"], 1],
    [["TOUCH","k:c","k:none"], 1],
    [["EXISTS","k:a","k:b","k:c"], 1],
  ],
  "EXPIRE family and TTL": [
    [["SET","e:a","v"], "OK"],
    [["TTL","e:a"], -1],
    [["PTTL","e:a"], -1],
    [["TTL","e:none"], -2],
    [["EXPIRETIME","e:a"], -1],
    [["EXPIRETIME","e:none"], -2],
    [["EXPIRE","e:a","100"], 1],
    [["EXPIRE","e:none","100"], 0],
    [["EXPIRE","e:a","200","NX"], 0],
    [["EXPIRE","e:a","200","XX"], 1],
    [["EXPIRE","e:a","50","GT"], 0],
    [["EXPIRE","e:a","300","GT"], 1],
    [["EXPIRE","e:a","400","LT"], 0],
    [["EXPIRE","e:a","10","LT"], 1],
    [["TTL","e:a"], near(10, 1)],
    [["EXPIRE","e:a","10","NX","XX"], {"error":"ERR NX and XX, GT or LT options at the same time are not compatible"}],
    [["EXPIRE","e:a","10","GT","LT"], {"error":"ERR GT and LT options at the same time are not compatible"}],
    [["EXPIRE","e:a","10","BOGUS"], {"error":"ERR Unsupported option BOGUS"}],
    [["EXPIRE","e:a","x"], {"error":"ERR value is not an integer or out of range"}],
    [["PEXPIRE","e:a","100000"], 1],
    [["PEXPIREAT","e:a","4102444800000"], 1],
    [["PEXPIRETIME","e:a"], 4102444800000],
    [["EXPIREAT","e:a","4102444800"], 1],
    [["EXPIRETIME","e:a"], 4102444800],
    [["PERSIST","e:a"], 1],
    [["PERSIST","e:a"], 0],
    [["TTL","e:a"], -1],
    [["SET","e:b","v"], "OK"],
    [["EXPIRE","e:b","0"], 1],
    [["EXISTS","e:b"], 0],
    [["SET","e:b","v"], "OK"],
    [["EXPIRE","e:b","-10"], 1],
    [["EXISTS","e:b"], 0],
    [["SET","e:c","v"], "OK"],
    [["EXPIRE","e:c","9223372036854775807"], {"error":"ERR invalid expire time in 'expire' command"}],
    [["SET","e:d","v"], "OK"],
    [["EXPIRE","e:d","100","XX","GT"], 0],
    [["TTL","e:d"], -1],
  ],
  "RENAME RENAMENX COPY MOVE": [
    [["SET","rn:a","1"], "OK"],
    [["RENAME","rn:a","rn:b"], "OK"],
    [["GET","rn:b"], "1"],
    [["RENAME","rn:none","rn:x"], {"error":"ERR no such key"}],
    [["SET","rn:c","2"], "OK"],
    [["RENAMENX","rn:b","rn:c"], 0],
    [["RENAMENX","rn:b","rn:d"], 1],
    [["RENAME","rn:d","rn:d"], "OK"],
    [["COPY","rn:d","rn:e"], 1],
    [["COPY","rn:d","rn:c"], 0],
    [["COPY","rn:d","rn:c","REPLACE"], 1],
    [["GET","rn:c"], "1"],
    [["COPY","rn:d","rn:d"], {"error":"ERR source and destination objects are the same"}],
    [["COPY","rn:d","rn:f","DB","1"], 1],
    [["COPY","rn:d","rn:f","DB","99"], {"error":"ERR DB index is out of range"}],
    [["COPY","rn:d","rn:f","DB","2147483648"], {"error":"ERR value is out of range, value must between -2147483648 and 2147483647"}],
    [["MOVE","rn:d","9223372036854775807"], {"error":"ERR value is out of range, value must between -2147483648 and 2147483647"}],
    [["COPY","rn:d","rn:f","BOGUS"], {"error":"ERR syntax error"}],
    [["MOVE","rn:e","2"], 1],
    [["EXISTS","rn:e"], 0],
    [["MOVE","rn:e","2"], 0],
    [["MOVE","rn:d","0"], {"error":"ERR source and destination objects are the same"}],
    [["MOVE","rn:d","99"], {"error":"ERR DB index is out of range"}],
    [["MOVE","rn:d","x"], {"error":"ERR value is not an integer or out of range"}],
    [["SET","rn:t","v","EX","100"], "OK"],
    [["RENAME","rn:t","rn:t2"], "OK"],
    [["TTL","rn:t2"], near(100, 1)],
  ],
  "KEYS SCAN DBSIZE RANDOMKEY OBJECT": [
    [["MSET","ks:1","a","ks:2","b","other","c"], "OK"],
    [["DBSIZE"], 3],
    [["KEYS","ks:*"], sorted(["ks:1","ks:2"])],
    [["KEYS","nomatch*"], sorted([])],
    [["SCAN","0","MATCH","ks:*","COUNT","1000"], ["0",["ks:1","ks:2"]]],
    [["SCAN","0","TYPE","hash"], ["0",[]]],
    [["SCAN","x"], {"error":"ERR invalid cursor"}],
    [["SCAN","","MATCH","ks:*","COUNT","1000"], ["0",["ks:1","ks:2"]]], // strtoul reads "" as 0
    [["SCAN","-"], {"error":"ERR invalid cursor"}],
    [["SCAN","0","COUNT","0"], {"error":"ERR syntax error"}],
    [["SCAN","0","BOGUS","1"], {"error":"ERR syntax error"}],
    [["OBJECT","ENCODING","ks:1"], "embstr"],
    [["SET","ks:int","123"], "OK"],
    [["OBJECT","ENCODING","ks:int"], "int"],
    [["OBJECT","ENCODING","nokey"], null],
    [["OBJECT","BOGUS","x"], {"error":"ERR unknown subcommand 'BOGUS'. Try OBJECT HELP."}],
  ],
  "FLUSHDB FLUSHALL SWAPDB": [
    [["SET","f:a","1"], "OK"],
    [["SWAPDB","0","1"], "OK"],
    [["EXISTS","f:a"], 0],
    [["SWAPDB","0","1"], "OK"],
    [["EXISTS","f:a"], 1],
    [["SWAPDB","0","99"], {"error":"ERR DB index is out of range"}],
    [["SWAPDB","x","1"], {"error":"ERR invalid first DB index"}],
    [["FLUSHDB"], "OK"],
    [["DBSIZE"], 0],
    [["SET","f:b","1"], "OK"],
    [["FLUSHALL","ASYNC"], "OK"],
    [["DBSIZE"], 0],
    [["FLUSHDB","BOGUS"], {"error":"ERR syntax error"}],
  ],
  "WRONGTYPE: string commands on other types, and key commands across types": [
    [["HSET","wt:h","f","v"], 1],
    [["GET","wt:h"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["INCR","wt:h"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["APPEND","wt:h","x"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["STRLEN","wt:h"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["GETRANGE","wt:h","0","1"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["SETBIT","wt:h","1","1"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["BITCOUNT","wt:h"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["GETSET","wt:h","x"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["MGET","wt:h","wt:none"], [null,null]],
    [["TYPE","wt:h"], "hash"],
    [["SET","wt:h","now-a-string"], "OK"],
    [["TYPE","wt:h"], "string"],
    [["RPUSH","wt:l","a"], 1],
    [["GETDEL","wt:l"], {"error":"WRONGTYPE Operation against a key holding the wrong kind of value"}],
    [["OBJECT","ENCODING","wt:l"], "quicklist"],
    [["RENAME","wt:l","wt:l2"], "OK"],
    [["TYPE","wt:l2"], "list"],
    [["COPY","wt:l2","wt:l3"], 1],
    [["LRANGE","wt:l3","0","-1"], ["a"]],
  ],
};

/** How one client kind runs a request, as a plain value or { error }. */
type Runner = (args: string[]) => Promise<unknown>;

async function runners(port: number): Promise<[name: string, runner: Runner][]> {
  const raw2 = await RawClient.connect(port);
  const raw3 = await RawClient.connect(port);
  await raw3.call('HELLO', '3');
  const io = ioredis(port);
  const node2 = await nodeRedis(port, 2);
  const node3 = await nodeRedis(port, 3);
  const library = (call: (args: string[]) => Promise<unknown>): Runner => async (args) => {
    try {
      const value = await call(args);
      return normalise(value);
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  return [
    ['raw RESP2', async (args) => plain(await raw2.call(...args))],
    ['raw RESP3', async (args) => plain(await raw3.call(...args))],
    ['ioredis', library((args) => io.call(args[0]!, ...args.slice(1)))],
    ['node-redis RESP2', library((args) => node2.sendCommand(args))],
    ['node-redis RESP3', library((args) => node3.sendCommand(args))],
  ];
}

function normalise(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (Array.isArray(value)) return value.map(normalise);
  return value;
}

describe('string and key commands through every client', () => {
  let silt: TestServer;
  let clients: [string, Runner][];

  beforeAll(async () => {
    silt = await startServer();
    clients = await runners(silt.port);
  });
  afterAll(closeServers);

  for (const [group, steps] of Object.entries(table)) {
    it(group, async () => {
      for (const [name, run] of clients) {
        await run(['FLUSHALL']);
        await run(['SELECT', '0']);
        for (const [args, expected] of steps) {
          const actual = await run(args);
          expect(actual, `${name}: ${args.join(' ')}`).toEqual(expected);
        }
      }
    });
  }
});

describe('client libraries on the data commands', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });
  afterEach(closeAll);
  afterAll(closeServers);

  it('ioredis typed API: strings, counters, TTLs, scan streams', async () => {
    const client = ioredis(silt.port);
    expect(await client.set('io:s', 'v', 'EX', 100, 'NX')).toBe('OK');
    expect(await client.set('io:s', 'w', 'EX', 100, 'NX')).toBeNull();
    expect(await client.ttl('io:s')).toBeGreaterThan(98);
    expect(await client.incrby('io:n', 5)).toBe(5);
    expect(await client.incrbyfloat('io:f', 1.5)).toBe('1.5');
    expect(await client.mset({ 'io:a': '1', 'io:b': '2' })).toBe('OK');
    expect(await client.mget('io:a', 'io:b', 'io:none')).toEqual(['1', '2', null]);
    expect(await client.getrange('io:s', 0, 0)).toBe('v');
    expect(await client.setbit('io:bits', 3, 1)).toBe(0);
    expect(await client.bitcount('io:bits')).toBe(1);
    expect(await client.type('io:a')).toBe('string');
    expect(await client.copy('io:a', 'io:copy')).toBe(1);
    expect(await client.rename('io:copy', 'io:renamed')).toBe('OK');
    for (let index = 0; index < 250; index++) await client.set(`scan:${index}`, String(index));
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const stream = client.scanStream({ match: 'scan:*', count: 37 });
      stream.on('data', (keys: string[]) => keys.forEach((key) => seen.add(key)));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(seen.size).toBe(250);
    expect(await client.dbsize()).toBe(250 + 7);
    const random = await client.randomkey();
    expect(random).not.toBeNull();
    expect(await client.exists(random!)).toBe(1);
  });

  it.each([2, 3] as const)('node-redis RESP%i typed API: strings, TTLs, scan iterator', async (protocol) => {
    const client = await nodeRedis(silt.port, protocol);
    await client.select(protocol);
    expect(await client.set('n:s', 'v', { expiration: { type: 'PX', value: 100_000 } })).toBe('OK');
    expect(await client.pTTL('n:s')).toBeGreaterThan(99_000);
    expect(await client.get('n:none')).toBeNull();
    expect(await client.incr('n:i')).toBe(1);
    expect(await client.getDel('n:i')).toBe('1');
    expect(await client.exists(['n:s', 'n:i'])).toBe(1);
    for (let index = 0; index < 120; index++) await client.set(`ns:${index}`, 'x');
    let count = 0;
    for await (const keys of client.scanIterator({ MATCH: 'ns:*', COUNT: 50 })) count += keys.length;
    expect(count).toBe(120);
    expect(await client.dbSize()).toBe(121);
    await expect(client.incr('n:s')).rejects.toThrow('ERR value is not an integer or out of range');
  });

  it('binary values pass through unchanged', async () => {
    const raw = await RawClient.connect(silt.port);
    const value = Buffer.from([0, 0xff, 0x0d, 0x0a, 0x24]);
    expect(plain(await raw.call('SET', 'bin', value))).toBe('OK');
    expect(await raw.call('GET', 'bin')).toEqual(value);
    expect(plain(await raw.call('APPEND', 'bin', value))).toBe(10);
    expect(await raw.call('GETRANGE', 'bin', '5', '-1')).toEqual(value);
  });

  it('expired keys read as absent at once and the background sweep removes them', async () => {
    const client = ioredis(silt.port);
    await client.select(9);
    await client.flushdb();
    for (let index = 0; index < 50; index++) await client.set(`exp:${index}`, 'v', 'PX', 50);
    await client.set('exp:keep', 'v');
    expect(await client.dbsize()).toBe(51);
    await sleep(80);
    expect(await client.get('exp:0')).toBeNull();
    expect(await client.exists('exp:1', 'exp:keep')).toBe(1);
    await waitFor(async () => (await client.dbsize()) === 1, 5000, 'the sweep');
    expect(Number(parseInfo(await client.info('stats')).expired_keys)).toBeGreaterThanOrEqual(50);
    expect(parseInfo(await client.info('keyspace')).db9).toBe('keys=1,expires=0');
  });
});
