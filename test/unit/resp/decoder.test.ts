// RespDecoder: every request form and every malformed input, each fed whole,
// byte by byte and split at random points, must give the same commands and
// the same error, worded as Redis words it (cases from redis/redis
// tests/unit/protocol.tcl and sdssplitargs, checked against redis-server
// 7.0.15). Limits are tested at the limit and one past with small configured
// values; the defaults are checked without allocating them. A fast-check
// property pipelines random binary commands (multibulk and quoted inline,
// with skipped empty requests between them) and requires every argument back,
// still intact after everything was fed.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { KvError } from '../../../lib/errors.js';
import { type DecoderLimits, type DecoderOptions, ProtocolError, QueryBufferLimitError, RespDecoder, parseRedisInteger } from '../../../service/resp/decoder.js';
import { byteByByte, everySplit, multibulk, propertyRuns, splitAt, splitPoints } from './resp-test-support.js';

interface Outcome {
  commands: string[][];
  error?: string;
  errorClass?: string;
}

/** Feeds `pieces` in order, draining after each; stops at the first error. */
function decode(pieces: Buffer[], limits: Partial<DecoderLimits> = {}, options: DecoderOptions = { authenticated: true }): Outcome {
  const decoder = new RespDecoder(limits, options);
  const commands: string[][] = [];
  try {
    for (const piece of pieces) {
      decoder.feed(piece);
      for (let args = decoder.next(); args !== undefined; args = decoder.next()) commands.push(args.map((arg) => arg.toString('latin1')));
    }
  } catch (error) {
    return { commands, error: (error as Error).message, errorClass: (error as Error).constructor.name };
  }
  return { commands };
}

interface Case {
  name: string;
  input: string | Buffer;
  commands: string[][];
  error?: string;
  authenticated?: boolean;
  limits?: Partial<DecoderLimits>;
}

function runCase(c: Case): void {
  const input = typeof c.input === 'string' ? Buffer.from(c.input, 'latin1') : c.input;
  const expected: Outcome = c.error === undefined ? { commands: c.commands } : { commands: c.commands, error: c.error, errorClass: 'ProtocolError' };
  everySplit(input, (pieces, how) => {
    expect(decode(pieces, c.limits ?? {}, { authenticated: c.authenticated ?? true }), how).toEqual(expected);
  });
}

const multibulkCases: Case[] = [
  { name: 'SET key value', input: multibulk('SET', 'key', 'value'), commands: [['SET', 'key', 'value']] },
  {
    name: 'binary-safe arguments holding CR, LF, NUL and high bytes',
    input: multibulk('SET', Buffer.from([0, 13, 10, 255, 42, 36]), '\r\n'),
    commands: [['SET', '\x00\r\n\xff*$', '\r\n']],
  },
  { name: 'an empty bulk', input: '*2\r\n$3\r\nGET\r\n$0\r\n\r\n', commands: [['GET', '']] },
  {
    name: 'pipelined commands',
    input: Buffer.concat([multibulk('SET', 'a', '1'), multibulk('GET', 'a'), multibulk('PING')]),
    commands: [['SET', 'a', '1'], ['GET', 'a'], ['PING']],
  },
  { name: '*0 is skipped', input: '*0\r\n*1\r\n$4\r\nPING\r\n', commands: [['PING']] },
  { name: '*-1 is skipped', input: '*-1\r\n*1\r\n$4\r\nPING\r\n', commands: [['PING']] },
  { name: 'a negative multibulk length is skipped (protocol.tcl)', input: '*-10\r\n*1\r\n$4\r\nPING\r\n', commands: [['PING']] },
  { name: 'the smallest 64-bit count is skipped', input: '*-9223372036854775808\r\n*1\r\n$4\r\nPING\r\n', commands: [['PING']] },
  {
    name: 'the two bytes after a bulk are not checked, as in Redis',
    input: '*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPING\r\n',
    commands: [['PING'], ['PING']],
  },
  { name: 'the byte after the CR of a count line is not checked, as in Redis', input: '*1\rX$4\rXPING\r\n', commands: [['PING']] },
  {
    name: 'multibulk and inline requests mixed',
    input: Buffer.concat([multibulk('GET', 'a'), Buffer.from('PING\r\n'), multibulk('ECHO', 'b')]),
    commands: [['GET', 'a'], ['PING'], ['ECHO', 'b']],
  },
  { name: 'an incomplete command yields nothing yet', input: '*2\r\n$3\r\nGET\r\n$1\r\n', commands: [] },
];

const multibulkErrorCases: Case[] = [
  { name: 'out of range multibulk length (protocol.tcl)', input: '*3000000000\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'multibulk length past the default limit', input: '*20000000\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'a count below the 64-bit range', input: '*-9223372036854775809\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'a count of 21 characters', input: '*-92233720368547758080\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'count -0', input: '*-0\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'count with a leading zero', input: '*01\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'count with a plus sign', input: '*+1\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'an empty count', input: '*\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'a count followed by a blank', input: '*1 \r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  { name: 'a lone minus', input: '*-\r\n', commands: [], error: 'Protocol error: invalid multibulk length' },
  {
    name: 'wrong multibulk payload header (protocol.tcl)',
    input: '*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n',
    commands: [],
    error: "Protocol error: expected '$', got 'f'",
  },
  {
    name: 'multibulk request not followed by bulk arguments (protocol.tcl)',
    input: '*1\r\nfoo\r\n',
    commands: [],
    error: "Protocol error: expected '$', got 'f'",
  },
  {
    name: 'negative multibulk payload length (protocol.tcl)',
    input: '*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n',
    commands: [],
    error: 'Protocol error: invalid bulk length',
  },
  { name: 'a null bulk in a request', input: '*1\r\n$-1\r\n', commands: [], error: 'Protocol error: invalid bulk length' },
  {
    name: 'out of range multibulk payload length (protocol.tcl)',
    input: '*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000000\r\n',
    commands: [],
    error: 'Protocol error: invalid bulk length',
  },
  {
    name: 'non-number multibulk payload length (protocol.tcl)',
    input: '*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$blabla\r\n',
    commands: [],
    error: 'Protocol error: invalid bulk length',
  },
  { name: 'a bulk length with a leading zero', input: '*1\r\n$04\r\nPING\r\n', commands: [], error: 'Protocol error: invalid bulk length' },
  { name: 'an error after good commands keeps them', input: Buffer.concat([multibulk('PING'), Buffer.from('*1\r\n$x\r\n')]), commands: [['PING']], error: 'Protocol error: invalid bulk length' },
];

const inlineCases: Case[] = [
  { name: 'PING ended by CRLF', input: 'PING\r\n', commands: [['PING']] },
  { name: 'PING ended by LF alone', input: 'PING\n', commands: [['PING']] },
  { name: 'arguments split on blanks', input: 'SET  key\tvalue \r\n', commands: [['SET', 'key', 'value']] },
  { name: 'double quotes hold blanks', input: 'set "foo bar" baz\r\n', commands: [['set', 'foo bar', 'baz']] },
  {
    name: 'double-quote escapes',
    input: 'ECHO "\\n\\r\\t\\b\\a\\\\\\"\\z"\r\n',
    commands: [['ECHO', '\n\r\t\b\x07\\"z']],
  },
  { name: 'hex escapes', input: 'ECHO "\\x41\\x42\\xff\\x00"\r\n', commands: [['ECHO', 'AB\xff\x00']] },
  { name: 'an incomplete hex escape is a plain x', input: 'ECHO "\\x4" "\\xZZ"\r\n', commands: [['ECHO', 'x4', 'xZZ']] },
  { name: 'single quotes take only \\\'', input: "ECHO 'a\\'b\\n'\r\n", commands: [['ECHO', "a'b\\n"]] },
  { name: 'an empty quoted argument', input: 'ECHO "" \'\'\r\n', commands: [['ECHO', '', '']] },
  { name: 'a quote opened inside a word', input: 'ECHO ab"c d"\r\n', commands: [['ECHO', 'abc d']] },
  { name: 'an empty line is skipped (protocol.tcl)', input: '\r\n*1\r\n$4\r\nPING\r\n', commands: [['PING']] },
  { name: 'blank lines are skipped', input: '\n   \t\r\n\r\nPING\r\n', commands: [['PING']] },
  { name: 'a CR before CRLF is a blank', input: 'ECHO a\r\r\n', commands: [['ECHO', 'a']] },
  { name: 'a vertical tab inside a word is kept, as in Redis', input: 'ECHO a\x0bb\r\n', commands: [['ECHO', 'a\x0bb']] },
  { name: 'a leading vertical tab is a blank', input: '\x0bPING\r\n', commands: [['PING']] },
  { name: 'a NUL byte is an ordinary byte', input: 'ECHO a\x00b\r\n', commands: [['ECHO', 'a\x00b']] },
  { name: 'pipelined inline commands', input: 'PING\r\nECHO x\nGET "a b"\r\n', commands: [['PING'], ['ECHO', 'x'], ['GET', 'a b']] },
  { name: 'a line starting with $ is inline', input: '$3\r\n', commands: [['$3']] },
];

const inlineErrorCases: Case[] = [
  {
    name: 'unbalanced number of quotes (protocol.tcl)',
    input: 'set """test-key""" test-value\r\nping\r\n',
    commands: [],
    error: 'Protocol error: unbalanced quotes in request',
  },
  { name: 'an unterminated double quote', input: 'SET k "abc\r\n', commands: [], error: 'Protocol error: unbalanced quotes in request' },
  { name: 'an unterminated single quote', input: "SET k 'abc\r\n", commands: [], error: 'Protocol error: unbalanced quotes in request' },
  { name: 'a closing double quote followed by a letter', input: 'ECHO "abc"x\r\n', commands: [], error: 'Protocol error: unbalanced quotes in request' },
  { name: 'a closing single quote followed by a letter', input: "ECHO 'abc'x\r\n", commands: [], error: 'Protocol error: unbalanced quotes in request' },
  { name: 'an escaped closing quote', input: 'ECHO "abc\\"\r\n', commands: [], error: 'Protocol error: unbalanced quotes in request' },
  { name: 'a backslash at the end of a quoted line', input: 'ECHO "abc\\\r\n', commands: [], error: 'Protocol error: unbalanced quotes in request' },
];

describe('RespDecoder: multibulk requests', () => {
  test.each(multibulkCases)('$name', runCase);
  test.each(multibulkErrorCases)('$name', runCase);
});

describe('RespDecoder: inline requests', () => {
  test.each(inlineCases)('$name', runCase);
  test.each(inlineErrorCases)('$name', runCase);

  // protocol.tcl's "Protocol desync regression test": a stream with no line end grows until too big.
  test.each([
    ['\x00', 'Protocol error: too big inline request'],
    ['*\x00', 'Protocol error: too big mbulk count string'],
    ['$\x00', 'Protocol error: too big inline request'],
  ])('desync regression: %j then no line end', (start, error) => {
    const input = Buffer.from(start + 'payload'.repeat(20), 'latin1');
    expect(decode(byteByByte(input), { inlineBytesMax: 64 })).toEqual({ commands: [], error, errorClass: 'ProtocolError' });
    expect(decode([input], { inlineBytesMax: 64 })).toEqual({ commands: [], error, errorClass: 'ProtocolError' });
  });
});

describe('RespDecoder: limits at the limit and one past', () => {
  test('bulk length', () => {
    const limits = { bulkBytesMax: 10 };
    runCase({ name: 'at', input: multibulk('x'.repeat(10)), commands: [['x'.repeat(10)]], limits });
    runCase({ name: 'past', input: multibulk('x'.repeat(11)), commands: [], error: 'Protocol error: invalid bulk length', limits });
  });

  test('multibulk count', () => {
    const limits = { multibulkCountMax: 3 };
    runCase({ name: 'at', input: multibulk('a', 'b', 'c'), commands: [['a', 'b', 'c']], limits });
    runCase({ name: 'past', input: multibulk('a', 'b', 'c', 'd'), commands: [], error: 'Protocol error: invalid multibulk length', limits });
  });

  test('inline line length, with and without its line end arrived', () => {
    const limits = { inlineBytesMax: 16 };
    const at = 'ECHO 0123456789A'; // 16 bytes
    runCase({ name: 'at, CRLF', input: `${at}\r\n`, commands: [['ECHO', '0123456789A']], limits });
    runCase({ name: 'at, LF', input: `${at}\n`, commands: [['ECHO', '0123456789A']], limits });
    runCase({ name: 'at, waiting for LF after CR', input: `${at}\r`, commands: [], limits });
    runCase({ name: 'past, complete', input: `${at}B\r\n`, commands: [], error: 'Protocol error: too big inline request', limits });
    runCase({ name: 'past, incomplete', input: `${at}B`, commands: [], error: 'Protocol error: too big inline request', limits });
  });

  test('count line length', () => {
    const limits = { inlineBytesMax: 16 };
    runCase({ name: 'at, incomplete', input: `*${'1'.repeat(15)}`, commands: [], limits });
    runCase({ name: 'at, complete', input: `*${'A'.repeat(15)}\r\n`, commands: [], error: 'Protocol error: invalid multibulk length', limits });
    runCase({ name: 'past, incomplete', input: `*${'1'.repeat(16)}`, commands: [], error: 'Protocol error: too big mbulk count string', limits });
    runCase({ name: 'past, complete', input: `*${'A'.repeat(16)}\r\n`, commands: [], error: 'Protocol error: too big mbulk count string', limits });
  });

  test('bulk length line length', () => {
    const limits = { inlineBytesMax: 16 };
    runCase({ name: 'at, incomplete', input: `*1\r\n$${'1'.repeat(15)}`, commands: [], limits });
    runCase({ name: 'at, complete', input: `*1\r\n$${'A'.repeat(15)}\r\n`, commands: [], error: 'Protocol error: invalid bulk length', limits });
    runCase({ name: 'past, incomplete', input: `*1\r\n$${'1'.repeat(16)}`, commands: [], error: 'Protocol error: too big bulk count string', limits });
    runCase({ name: 'past, complete', input: `*1\r\n$${'A'.repeat(16)}\r\n`, commands: [], error: 'Protocol error: too big bulk count string', limits });
  });

  test('unauthenticated multibulk count and bulk length, then lifted by authenticating', () => {
    const limits = { unauthenticatedMultibulkCountMax: 2, unauthenticatedBulkBytesMax: 4 };
    const unauthenticated = { limits, authenticated: false };
    runCase({ name: 'count at', input: multibulk('AUTH', 'pw'), commands: [['AUTH', 'pw']], ...unauthenticated });
    runCase({ name: 'count past', input: multibulk('AUTH', 'u', 'pw'), commands: [], error: 'Protocol error: unauthenticated multibulk length', ...unauthenticated });
    runCase({ name: 'bulk at', input: multibulk('AUTH', 'pass'), commands: [['AUTH', 'pass']], ...unauthenticated });
    runCase({ name: 'bulk past', input: multibulk('AUTH', 'passw'), commands: [], error: 'Protocol error: unauthenticated bulk length', ...unauthenticated });
    // Redis 7.0 checks INT_MAX, then the unauthenticated limit: silt's own count limit comes after both.
    runCase({ name: 'past silt\'s count limit, unauthenticated first', input: '*2000000\r\n', commands: [], error: 'Protocol error: unauthenticated multibulk length', ...unauthenticated });
    runCase({ name: 'past INT_MAX, invalid first', input: '*2147483648\r\n', commands: [], error: 'Protocol error: invalid multibulk length', ...unauthenticated });
    runCase({ name: 'inline requests have no unauthenticated limit, as in Redis', input: 'PING a b c d\r\n', commands: [['PING', 'a', 'b', 'c', 'd']], ...unauthenticated });

    const decoder = new RespDecoder(limits);
    expect(decoder.authenticated).toBe(false);
    decoder.feed(multibulk('AUTH', 'pw'));
    expect(decoder.next()?.map(String)).toEqual(['AUTH', 'pw']);
    decoder.authenticated = true;
    decoder.feed(multibulk('MSET', 'a', '123456789', 'b', '2'));
    expect(decoder.next()?.map(String)).toEqual(['MSET', 'a', '123456789', 'b', '2']);
  });

  test('query buffer: at the limit, one past, counting the command being assembled', () => {
    const limits = { queryBufferBytesMax: 40 };
    const decoder = new RespDecoder(limits, { authenticated: true });
    const head = Buffer.from('*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n'); // 22 bytes, parsed but incomplete
    decoder.feed(head);
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(22);
    decoder.feed(Buffer.from('$10\r\n0123456789')); // 15 more: 37
    expect(decoder.next()).toBeUndefined();
    decoder.feed(Buffer.from('\r')); // 38
    decoder.feed(Buffer.from('\n*')); // 40: at the limit
    expect(decoder.next()?.map(String)).toEqual(['SET', 'key', '0123456789']);
    expect(decoder.bufferedBytes).toBe(1);

    const past = new RespDecoder(limits, { authenticated: true });
    past.feed(head);
    past.feed(Buffer.from('$10\r\n0123456789\r\n'));
    expect(() => past.feed(Buffer.from('*4'))).toThrow(QueryBufferLimitError);
  });

  test('query buffer: the unauthenticated bound applies until authenticated', () => {
    const limits = { queryBufferBytesMax: 100, unauthenticatedQueryBufferBytesMax: 10 };
    const decoder = new RespDecoder(limits);
    decoder.feed(Buffer.from('PING\r\nPING')); // 10, not drained
    let error: unknown;
    try {
      decoder.feed(Buffer.from('\r'));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(QueryBufferLimitError);
    expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', bufferedBytes: 11, limitBytes: 10 });

    const authenticated = new RespDecoder(limits);
    authenticated.authenticated = true;
    authenticated.feed(Buffer.alloc(100, 'x'));
    expect(() => authenticated.feed(Buffer.from('x'))).toThrow('Cannot buffer client query of 101 bytes: the limit is 100');
  });

  test('the defaults are Redis values, checked without allocating them', () => {
    const decoder = new RespDecoder();
    expect(decoder.limits).toEqual({
      bulkBytesMax: 512 * 1024 * 1024,
      multibulkCountMax: 1_048_576,
      inlineBytesMax: 64 * 1024,
      queryBufferBytesMax: 1024 * 1024 * 1024,
      unauthenticatedMultibulkCountMax: 10,
      unauthenticatedBulkBytesMax: 16 * 1024,
      unauthenticatedQueryBufferBytesMax: 1024 * 1024,
    });
    expect(decoder.authenticated).toBe(false);

    const auth = { authenticated: true };
    // A declared length is accepted before its bytes exist, and nothing is allocated for it.
    expect(decode([Buffer.from('*1\r\n$536870912\r\n')], {}, auth)).toEqual({ commands: [] });
    expect(decode([Buffer.from('*1\r\n$536870913\r\n')], {}, auth).error).toBe('Protocol error: invalid bulk length');
    expect(decode([Buffer.from('*1048576\r\n')], {}, auth)).toEqual({ commands: [] });
    expect(decode([Buffer.from('*1048577\r\n')], {}, auth).error).toBe('Protocol error: invalid multibulk length');
    expect(decode([Buffer.from('*10\r\n')], {}, { authenticated: false })).toEqual({ commands: [] });
    expect(decode([Buffer.from('*11\r\n')], {}, { authenticated: false }).error).toBe('Protocol error: unauthenticated multibulk length');
    // Redis's order: the unauthenticated limit before silt's own count limit, INT_MAX before both.
    expect(decode([Buffer.from('*1048577\r\n')], {}, { authenticated: false }).error).toBe('Protocol error: unauthenticated multibulk length');
    expect(decode([Buffer.from('*2147483648\r\n')], {}, { authenticated: false }).error).toBe('Protocol error: invalid multibulk length');
    expect(decode([Buffer.from('*1\r\n$16384\r\n')], {}, { authenticated: false })).toEqual({ commands: [] });
    expect(decode([Buffer.from('*1\r\n$16385\r\n')], {}, { authenticated: false }).error).toBe('Protocol error: unauthenticated bulk length');
    expect(decode([Buffer.alloc(64 * 1024, 'A')], {}, auth)).toEqual({ commands: [] });
    expect(decode([Buffer.alloc(64 * 1024 + 1, 'A')], {}, auth).error).toBe('Protocol error: too big inline request');
    // The unauthenticated query buffer (1 MiB) is small enough to fill for real.
    const unauthenticated = new RespDecoder();
    unauthenticated.feed(Buffer.alloc(1024 * 1024, 'A'));
    expect(() => unauthenticated.feed(Buffer.from('A'))).toThrow(QueryBufferLimitError);
  });

  test('a bad limit is refused', () => {
    expect(() => new RespDecoder({ bulkBytesMax: -1 })).toThrow('Cannot create RESP decoder: limit "bulkBytesMax" is -1, expected a non-negative integer');
    expect(() => new RespDecoder({ inlineBytesMax: 1.5 })).toThrow(KvError);
  });
});

describe('RespDecoder: errors and ownership', () => {
  test('a protocol error is an INVALID_ARGUMENT KvError whose reply is -ERR <message>', () => {
    const decoder = new RespDecoder({}, { authenticated: true });
    decoder.feed(Buffer.from('*x\r\n'));
    let error: unknown;
    try {
      decoder.next();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toBeInstanceOf(KvError);
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'Protocol error: invalid multibulk length', name: 'ProtocolError' });
    expect((error as ProtocolError).replyText).toBe('ERR Protocol error: invalid multibulk length');
    // Failed for good: every later call throws the same error.
    expect(() => decoder.next()).toThrow(error as Error);
    expect(() => decoder.feed(multibulk('PING'))).toThrow(error as Error);
  });

  test('an argument within one chunk is a view of it, not a copy', () => {
    const chunk = multibulk('SET', 'key', 'value');
    const decoder = new RespDecoder({}, { authenticated: true });
    decoder.feed(chunk);
    const args = decoder.next()!;
    expect(args[1]!.buffer).toBe(chunk.buffer);
    expect(decoder.copiedBytes).toBe(0);
  });

  test('arguments stay intact while later chunks are fed', () => {
    const decoder = new RespDecoder({}, { authenticated: true });
    const kept: Buffer[][] = [];
    const input = Buffer.concat(Array.from({ length: 200 }, (_, index) => multibulk('SET', `key:${index}`, `value:${index}`.repeat(index % 7))));
    for (const piece of splitAt(input, Array.from({ length: 300 }, (_, index) => (index * 37) % input.length))) {
      decoder.feed(piece);
      for (let args = decoder.next(); args !== undefined; args = decoder.next()) kept.push(args);
    }
    expect(kept.length).toBe(200);
    kept.forEach((args, index) => expect(args.map(String)).toEqual(['SET', `key:${index}`, `value:${index}`.repeat(index % 7)]));
  });

  test('an empty chunk changes nothing', () => {
    const decoder = new RespDecoder({}, { authenticated: true });
    decoder.feed(Buffer.alloc(0));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe('RespDecoder: a large bulk split across many chunks', () => {
  // 8 MiB by default keeps test memory small; SILT_BIG_BULK_MB=100 runs the full-size case.
  const bulkBytes = Number(process.env.SILT_BIG_BULK_MB ?? 8) * 1024 * 1024;
  const chunkBytes = 64 * 1024;

  test(`${bulkBytes / 1024 / 1024} MiB in ${chunkBytes / 1024} KiB chunks is copied once`, () => {
    const value = Buffer.alloc(bulkBytes);
    for (let i = 0; i < value.length; i += 4096) value[i] = (i / 4096) & 0xff;
    const header = Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${bulkBytes}\r\n`);
    const trailer = Buffer.from('\r\n*1\r\n$4\r\nPING\r\n');
    const decoder = new RespDecoder({}, { authenticated: true });
    const commands: Buffer[][] = [];
    const feedAll = (bytes: Buffer): void => {
      for (let from = 0; from < bytes.length; from += chunkBytes) {
        decoder.feed(bytes.subarray(from, Math.min(bytes.length, from + chunkBytes)));
        for (let args = decoder.next(); args !== undefined; args = decoder.next()) commands.push(args);
      }
    };
    feedAll(header);
    // Offset the value by a few bytes so that chunk boundaries fall mid-value, and the trailer straddles.
    feedAll(Buffer.concat([value.subarray(0, 100)]));
    feedAll(value.subarray(100));
    feedAll(trailer);
    expect(commands.length).toBe(2);
    expect(commands[0]![2]!.equals(value)).toBe(true);
    expect(commands[1]!.map(String)).toEqual(['PING']);
    // One copy of the value, plus at most a chunk of straddling bytes.
    expect(decoder.copiedBytes).toBeLessThanOrEqual(bulkBytes + chunkBytes);
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe('RespDecoder: a large bulk trickled in small chunks', () => {
  test('is copied into its buffer as it arrives, no chunk kept, and arrives whole with what follows', () => {
    const bulkBytes = 200_000;
    const value = Buffer.alloc(bulkBytes);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
    const decoder = new RespDecoder({}, { authenticated: true });
    const header = Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${bulkBytes}\r\n`);
    // The header and the first bytes of the value in one chunk: collecting starts with them.
    decoder.feed(Buffer.concat([header, value.subarray(0, 10)]));
    expect(decoder.next()).toBeUndefined();
    expect(decoder.bulkBytesReceived).toBe(10);
    // One byte a chunk, then a large chunk in the middle, then chunks of a few bytes: each is copied at once
    // (a client that trickles a bulk a byte per write must not make the server keep a Buffer per byte).
    let at = 10;
    for (; at < 70_000; at++) decoder.feed(value.subarray(at, at + 1));
    expect(decoder.bulkBytesReceived).toBe(70_000);
    decoder.feed(value.subarray(at, at + 50_000));
    at += 50_000;
    for (; at < bulkBytes; at += 3) {
      decoder.feed(value.subarray(at, Math.min(bulkBytes, at + 3)));
      expect(decoder.bulkBytesReceived).toBe(Math.min(bulkBytes, at + 3));
    }
    expect(decoder.copiedBytes).toBe(bulkBytes);
    expect(decoder.bufferedBytes).toBe(header.length + bulkBytes);
    // The trailer split too, and a command after it in the same chunk.
    decoder.feed(Buffer.from('\r'));
    expect(decoder.next()).toBeUndefined();
    decoder.feed(Buffer.from('\n*1\r\n$4\r\nPING\r\n'));
    const set = decoder.next();
    expect(set?.[2]?.equals(value)).toBe(true);
    expect(decoder.next()?.map(String)).toEqual(['PING']);
    expect(decoder.bulkBytesReceived).toBe(0);
    expect(decoder.bufferedBytes).toBe(0);
  });

  test('a bulk whose buffer cannot be allocated closes the client as over the query buffer limit', () => {
    const decoder = new RespDecoder({ bulkBytesMax: Number.MAX_SAFE_INTEGER, queryBufferBytesMax: Number.MAX_SAFE_INTEGER }, { authenticated: true });
    decoder.feed(Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$9000000000000000\r\nabc'));
    let error: unknown;
    try {
      decoder.next();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(QueryBufferLimitError);
    // What was fed (42 bytes) and the bulk's declared length, each counted once.
    expect(error).toMatchObject({ bufferedBytes: 9_000_000_000_000_042, limitBytes: 42, message: 'Cannot buffer client query of 9000000000000042 bytes: no memory for the bulk' });
    expect(() => decoder.feed(Buffer.from('x'))).toThrow(error as Error);
  });
});

describe('RespDecoder: random pipelines', () => {
  /** A command as bytes, and the arguments it must decode to. */
  const argument = fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength: 24 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 2000 }) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 32 * 1024, max: 40 * 1024 }), fc.integer({ min: 0, max: 255 })).map(([size, fill]) => new Uint8Array(size).fill(fill)) },
  );
  const command = fc
    .tuple(fc.array(argument, { minLength: 1, maxLength: 5 }), fc.constantFrom('multibulk', 'inline', 'inline-lf'), fc.constantFrom('', '*0\r\n', '*-1\r\n', '\r\n', '  \n'))
    .map(([args, form, noise]) => {
      const buffers = args.map((arg) => Buffer.from(arg));
      return { args: buffers, bytes: Buffer.concat([Buffer.from(noise), encodeCommand(buffers, form)]) };
    });

  test('every argument comes back, whatever the split', () => {
    fc.assert(
      fc.property(
        fc.array(command, { minLength: 1, maxLength: 12 }).chain((commands) => {
          const input = Buffer.concat(commands.map((c) => c.bytes));
          return fc.tuple(fc.constant(commands), fc.constant(input), splitPoints(input.length));
        }),
        ([commands, input, points]) => {
          const decoder = new RespDecoder({}, { authenticated: true });
          const decoded: Buffer[][] = [];
          for (const piece of splitAt(input, points)) {
            decoder.feed(piece);
            for (let args = decoder.next(); args !== undefined; args = decoder.next()) decoded.push(args);
          }
          // Compared only now: views handed out early must not have changed since.
          expect(decoded.map((args) => args.map((arg) => arg.toString('hex')))).toEqual(commands.map((c) => c.args.map((arg) => arg.toString('hex'))));
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: propertyRuns },
    );
  });
});

describe('parseRedisInteger', () => {
  const parse = (text: string): number => parseRedisInteger(Buffer.from(text, 'latin1'), 0, text.length);

  test('accepts what string2ll accepts', () => {
    expect(parse('0')).toBe(0);
    expect(parse('7')).toBe(7);
    expect(parse('-7')).toBe(-7);
    expect(parse('1048576')).toBe(1_048_576);
    expect(parse('9223372036854775807')).toBeGreaterThan(9e18);
    expect(parse('-9223372036854775808')).toBeLessThan(-9e18);
  });

  test.each(['', '-', '-0', '00', '01', '+1', ' 1', '1 ', '1a', '9223372036854775808', '-9223372036854775809', '123456789012345678901'])('refuses %j', (text) => {
    expect(parse(text)).toBeNaN();
  });
});

/** Encodes a command as a multibulk request or as a quoted inline line (every byte a \xHH escape; multibulk when that is too long). */
function encodeCommand(args: Buffer[], form: string): Buffer {
  const inlineBytes = args.reduce((sum, arg) => sum + arg.length * 4 + 3, 0);
  if (form === 'multibulk' || inlineBytes > 60_000) return multibulk(...args);
  const words = args.map((arg) => `"${[...arg].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('')}"`);
  return Buffer.from(`${words.join(' ')}${form === 'inline' ? '\r\n' : '\n'}`, 'latin1');
}
