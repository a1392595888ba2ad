// The largest request the RESP port accepts (multibulkCountMax arguments)
// writes one engine batch, whatever the command: a command writes at most
// two engine operations per argument (lib/limits.ts asserts that
// batchOpsMax holds them). Until session 21 batchOpsMax was 1,000,000, and
// an RPUSH of 1,048,574 elements, or a ZADD of 524,287 members (two
// operations each), was refused after the server had built it.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchOpsMax, multibulkCountMax } from '../../../lib/limits.js';
import { RawClient, closeAll, closeServers, encodeCommand, plain, startServer, type TestServer } from './harness.js';

describe('the largest request', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });
  afterEach(closeAll);
  afterAll(closeServers);

  it('an RPUSH of as many elements as a request holds writes one batch', { timeout: 120_000 }, async () => {
    expect(batchOpsMax).toBeGreaterThanOrEqual(2 * multibulkCountMax);
    const raw = await RawClient.connect(silt.port);
    const elements = multibulkCountMax - 2; // RPUSH key, then the elements: past 1,000,000
    const rpush: string[] = ['RPUSH', 'big'];
    for (let index = 0; index < elements; index++) rpush.push(`e${index}`);
    raw.send(encodeCommand(rpush)); // too many arguments to spread into call()
    expect(await raw.reply(60_000)).toBe(elements);
    expect(await raw.call('LINDEX', 'big', '-1')).toEqual(Buffer.from(`e${elements - 1}`));
    expect(await raw.call('LINDEX', 'big', '0')).toEqual(Buffer.from('e0'));
    expect(plain(await raw.call('PING'))).toBe('PONG');
  });

  it('SETRANGE and SETBIT reach Redis\'s largest offsets (a 512 MiB string), and no further', { timeout: 120_000 }, async () => {
    const raw = await RawClient.connect(silt.port);
    const tooLong = { error: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)' };
    expect(plain(await raw.call('SETRANGE', 'range', '536870912', 'x'))).toEqual(tooLong);
    raw.command('SETRANGE', 'range', '536870911', 'x');
    expect(await raw.reply(60_000)).toBe(512 * 1024 * 1024);
    expect(await raw.call('GETRANGE', 'range', '-1', '-1')).toEqual(Buffer.from('x'));
    expect(await raw.call('DEL', 'range')).toBe(1);
    expect(plain(await raw.call('SETBIT', 'bits', '4294967296', '1'))).toEqual({ error: 'ERR bit offset is not an integer or out of range' });
    raw.command('SETBIT', 'bits', '4294967295', '1');
    expect(await raw.reply(60_000)).toBe(0);
    expect(await raw.call('GETBIT', 'bits', '4294967295')).toBe(1);
    expect(await raw.call('STRLEN', 'bits')).toBe(512 * 1024 * 1024);
    expect(await raw.call('DEL', 'bits')).toBe(1);
  });
});
