// ReplyWriter, encodeReply and the double formatters. Strategy: exact bytes
// for every Reply shape in RESP2 and RESP3; the writer's buffer rules (views
// handed out never change, large bulks go by reference, slabs roll over);
// formatDouble against the layout of Redis 7.2+'s d2string / fpconv_dtoa and
// against values printed by a real redis-server 7.0.15 (which prints "%.17g":
// same double, longer text); formatDoubleHuman against INCRBYFLOAT output of
// that server; and round-trip properties for both formatters.

import fc from 'fast-check';
import { describe, expect, test, vi } from 'vitest';
import { AssertionError } from '../../../lib/assert.js';
import { ReplyWriter, encodeReply, formatDouble, formatDoubleHuman } from '../../../service/resp/encoder.js';
import {
  BigNumberReply,
  BooleanReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArrayReply,
  OK,
  PONG,
  PushReply,
  type Reply,
  SetReply,
  SimpleReply,
  VerbatimReply,
  errors,
} from '../../../service/resp/reply.js';
import { propertyRuns } from './resp-test-support.js';

const bytes = (reply: Reply, protocol: 2 | 3): string => encodeReply(reply, protocol).toString('latin1');

/** [name, reply, RESP2 bytes, RESP3 bytes] (latin1 strings). */
const shapes: [string, Reply, string, string][] = [
  ['integer', 42, ':42\r\n', ':42\r\n'],
  ['zero', 0, ':0\r\n', ':0\r\n'],
  ['negative integer', -123456789, ':-123456789\r\n', ':-123456789\r\n'],
  ['largest safe integer', Number.MAX_SAFE_INTEGER, ':9007199254740991\r\n', ':9007199254740991\r\n'],
  ['2^62 exactly', 2 ** 62, ':4611686018427387904\r\n', ':4611686018427387904\r\n'],
  ['-2^63', -(2 ** 63), ':-9223372036854775808\r\n', ':-9223372036854775808\r\n'],
  ['bulk from a string', 'value', '$5\r\nvalue\r\n', '$5\r\nvalue\r\n'],
  ['bulk from a non-ASCII string (UTF-8)', 'héllo', '$6\r\nh\xc3\xa9llo\r\n', '$6\r\nh\xc3\xa9llo\r\n'],
  ['empty bulk', '', '$0\r\n\r\n', '$0\r\n\r\n'],
  ['binary bulk', Buffer.from([0, 13, 10, 255]), '$4\r\n\x00\r\n\xff\r\n', '$4\r\n\x00\r\n\xff\r\n'],
  ['null', null, '$-1\r\n', '_\r\n'],
  ['empty array', [], '*0\r\n', '*0\r\n'],
  ['nested array', [1, ['a', null]], '*2\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n', '*2\r\n:1\r\n*2\r\n$1\r\na\r\n_\r\n'],
  ['OK', OK, '+OK\r\n', '+OK\r\n'],
  ['PONG', PONG, '+PONG\r\n', '+PONG\r\n'],
  ['status with CR and LF', new SimpleReply('a\r\nb'), '+a  b\r\n', '+a  b\r\n'],
  ['error', errors.wrongType, '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n', '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n'],
  ['error with CR and LF', new ErrorReply('ERR bad\r\nthing\n'), '-ERR bad  thing \r\n', '-ERR bad  thing \r\n'],
  // Arguments are decoded one byte per character (latin1): an error echoing one gives its bytes back, as Redis does.
  ['error echoing argument bytes', new ErrorReply(`ERR unknown command '${Buffer.from([0xff, 0xfe]).toString('latin1')}'`), "-ERR unknown command '\xff\xfe'\r\n", "-ERR unknown command '\xff\xfe'\r\n"],
  ['error with text past U+00FF (UTF-8)', new ErrorReply('ERR ✓'), '-ERR \xe2\x9c\x93\r\n', '-ERR \xe2\x9c\x93\r\n'],
  ['map', new MapReply([['a', 1], ['b', null]]), '*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$-1\r\n', '%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n_\r\n'],
  ['empty map', new MapReply([]), '*0\r\n', '%0\r\n'],
  ['set', new SetReply(['x', 'y']), '*2\r\n$1\r\nx\r\n$1\r\ny\r\n', '~2\r\n$1\r\nx\r\n$1\r\ny\r\n'],
  ['double', new DoubleReply(1.5), '$3\r\n1.5\r\n', ',1.5\r\n'],
  ['integral double', new DoubleReply(3), '$1\r\n3\r\n', ',3\r\n'],
  ['double inf', new DoubleReply(Infinity), '$3\r\ninf\r\n', ',inf\r\n'],
  ['double -inf', new DoubleReply(-Infinity), '$4\r\n-inf\r\n', ',-inf\r\n'],
  ['double nan', new DoubleReply(Number.NaN), '$3\r\nnan\r\n', ',nan\r\n'],
  ['double -0', new DoubleReply(-0), '$2\r\n-0\r\n', ',-0\r\n'],
  ['boolean true', new BooleanReply(true), ':1\r\n', '#t\r\n'],
  ['boolean false', new BooleanReply(false), ':0\r\n', '#f\r\n'],
  ['big number', new BigNumberReply(3492890328409238509324850943850943825024385n), '$43\r\n3492890328409238509324850943850943825024385\r\n', '(3492890328409238509324850943850943825024385\r\n'],
  ['negative big number', new BigNumberReply(-12n), '$3\r\n-12\r\n', '(-12\r\n'],
  ['verbatim', new VerbatimReply('txt', 'Some string'), '$11\r\nSome string\r\n', '=15\r\ntxt:Some string\r\n'],
  ['verbatim UTF-8', new VerbatimReply('mkd', 'é'), '$2\r\n\xc3\xa9\r\n', '=6\r\nmkd:\xc3\xa9\r\n'],
  ['push', new PushReply(['message', 'ch', 'hi']), '*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n'],
  ['null array', NullArrayReply.instance, '*-1\r\n', '_\r\n'],
];

describe('encodeReply: every shape in RESP2 and RESP3', () => {
  test.each(shapes)('%s', (_name, reply, resp2, resp3) => {
    expect(bytes(reply, 2)).toBe(resp2);
    expect(bytes(reply, 3)).toBe(resp3);
  });

  test('strings around the ASCII fast path length, ASCII and not', () => {
    for (const length of [62, 63, 64, 65, 200]) {
      const ascii = 'a'.repeat(length);
      expect(bytes(ascii, 2)).toBe(`$${length}\r\n${ascii}\r\n`);
      const mixed = `${'a'.repeat(length - 1)}€`;
      expect(encodeReply(mixed, 2)).toEqual(Buffer.concat([Buffer.from(`$${length + 2}\r\n`), Buffer.from(mixed), Buffer.from('\r\n')]));
    }
  });

  test('large strings and buffers', () => {
    const big = 'x'.repeat(100_000);
    expect(bytes(big, 2)).toBe(`$100000\r\n${big}\r\n`);
    const buffer = Buffer.alloc(70_000, 7);
    expect(encodeReply(buffer, 3)).toEqual(Buffer.concat([Buffer.from('$70000\r\n'), buffer, Buffer.from('\r\n')]));
  });

  test('a value that is not a Reply is a bug', () => {
    expect(() => encodeReply(1.5, 2)).toThrow(AssertionError);
    expect(() => encodeReply(2 ** 63, 2)).toThrow(AssertionError);
    expect(() => encodeReply(2 ** 63 - 1024, 2).toString()).not.toThrow();
    expect(() => encodeReply({} as Reply, 2)).toThrow(AssertionError);
    expect(() => encodeReply(new VerbatimReply('text', 'x'), 3)).toThrow(AssertionError);
  });
});

describe('ReplyWriter', () => {
  test('pieces handed out never change as more replies are written', () => {
    const writer = new ReplyWriter(2, { slabBytes: 64 });
    writer.write(OK);
    const first = writer.takeChunks();
    for (let i = 0; i < 100; i++) writer.write(`value-${i}`);
    const rest = writer.take();
    expect(Buffer.concat(first).toString()).toBe('+OK\r\n');
    expect(rest.toString()).toBe(Array.from({ length: 100 }, (_, i) => `$${`value-${i}`.length}\r\nvalue-${i}\r\n`).join(''));
  });

  test('a large bulk is passed by reference, between its header and trailer', () => {
    const writer = new ReplyWriter(3);
    const value = Buffer.alloc(20_000, 1);
    writer.write([1, value, 2]);
    expect(writer.bufferedBytes).toBe(4 + 4 + 8 + 20_000 + 2 + 4);
    const chunks = writer.takeChunks();
    expect(chunks).toContain(value);
    expect(Buffer.concat(chunks)).toEqual(Buffer.concat([Buffer.from('*3\r\n:1\r\n$20000\r\n'), value, Buffer.from('\r\n:2\r\n')]));
    expect(writer.bufferedBytes).toBe(0);
  });

  test('replies larger than a slab and many small ones roll over slabs', () => {
    const writer = new ReplyWriter(2, { slabBytes: 32 });
    const replies: Reply[] = [OK, 'a'.repeat(100), 12345, [null, 'b'], new ErrorReply('ERR '.concat('e'.repeat(50)))];
    for (const reply of replies) writer.write(reply);
    expect(writer.take().toString('latin1')).toBe(replies.map((reply) => bytes(reply, 2)).join(''));
  });

  test('the protocol may change between replies (HELLO)', () => {
    const writer = new ReplyWriter(2);
    writer.write(null);
    writer.protocol = 3;
    writer.write(null);
    expect(writer.take().toString()).toBe('$-1\r\n_\r\n');
  });

  test('take() of nothing is empty', () => {
    expect(new ReplyWriter(2).take().length).toBe(0);
    expect(new ReplyWriter(2).takeChunks()).toEqual([]);
  });
});

// ---------------------------------------------------------------- doubles

/**
 * formatDouble against the layout Redis 7.2+ writes (src/util.c d2string and
 * deps/fpconv/fpconv_dtoa.c emit_digits, read from the source): integral
 * values within ±2^62 as integers; otherwise the shortest digits, plain when
 * the value has fewer than 7 fractional digits or a decimal exponent within
 * 3, else d.ddde±X.
 */
const redis72Doubles: [number, string][] = [
  [3, '3'],
  [-2.5, '-2.5'],
  [0.5, '0.5'],
  [0.1, '0.1'],
  [0.1 + 0.2, '0.30000000000000004'],
  [123.456, '123.456'],
  [123456789.123, '123456789.123'],
  [1e15, '1000000000000000'],
  [1e18, '1000000000000000000'],
  [2 ** 62, '4611686018427387904'],
  [-(2 ** 62), '-4611686018427387904'],
  [4611686018427388928, '4611686018427389000'], // the next double past 2^62: fpconv, plain integer
  [2 ** 63, '9223372036854776000'],
  [Number('12345678901234567890'), '12345678901234567000'],
  [1e19, '1e+19'],
  [1.5e19, '1.5e+19'],
  [1e20, '1e+20'],
  [1e300, '1e+300'],
  [1.7976931348623157e308, '1.7976931348623157e+308'],
  [1e-5, '0.00001'],
  [1e-6, '0.000001'],
  [1e-7, '1e-7'],
  [-1e-7, '-1e-7'],
  [1.5e-7, '1.5e-7'],
  [0.0012345, '0.0012345'],
  [0.00012345, '1.2345e-4'],
  [0.000012345, '1.2345e-5'],
  [1234567.1234567, '1.2345671234567e+6'], // 7 fractional digits and exponent 6: fpconv goes scientific
  [Number('1.2345678901234567e-5'), '1.2345678901234568e-5'],
  [1e-20, '1e-20'],
  [1e-300, '1e-300'],
  [5e-324, '5e-324'],
  [0, '0'],
  [-0, '-0'],
  [Infinity, 'inf'],
  [-Infinity, '-inf'],
  [Number.NaN, 'nan'],
];

/** ZSCORE replies of redis-server 7.0.15 ("%.17g"): [input, Redis's text]. silt's text must parse to the same double. */
const redis70Zscores: [string, string][] = [
  ['3.0', '3'],
  ['0.1', '0.10000000000000001'],
  ['0.3', '0.29999999999999999'],
  ['1e20', '1e+20'],
  ['1.5e-7', '1.4999999999999999e-07'],
  ['1e300', '1.0000000000000001e+300'],
  ['1e-20', '9.9999999999999995e-21'],
  ['123.456', '123.456'],
  ['9007199254740993', '9007199254740992'],
  ['1e18', '1e+18'],
  ['1e19', '1e+19'],
  ['4611686018427387904', '4.6116860184273879e+18'],
  ['5e-324', '4.9406564584124654e-324'],
  ['1.7976931348623157e308', '1.7976931348623157e+308'],
  ['0.000001', '9.9999999999999995e-07'],
  ['12345678901234567890', '1.2345678901234567e+19'],
  ['1e-5', '1.0000000000000001e-05'],
  ['0.30000000000000004', '0.30000000000000004'],
  ['1e17', '1e+17'],
  ['0.1e-3', '0.0001'],
  ['1.2345678901234567e-5', '1.2345678901234568e-05'],
  ['0.012345678901234567', '0.012345678901234567'],
  ['1234567.1234567', '1234567.1234567'],
  ['1e23', '9.9999999999999992e+22'],
  ['inf', 'inf'],
  ['-inf', '-inf'],
];

/** INCRBYFLOAT replies of redis-server 7.0.15 ("%.17Lf", trailing zeros trimmed) that silt reproduces. */
const redis70IncrByFloat: [number, string][] = [
  [3, '3'],
  [0.1, '0.1'],
  [0.3, '0.3'],
  [0.5, '0.5'],
  [-123.25, '-123.25'],
  [123.456, '123.456'],
  [100, '100'],
  [1e-4, '0.0001'],
  [1e-5, '0.00001'],
  [1e-6, '0.000001'],
  [1e-7, '0.0000001'],
  [1.5e-7, '0.00000015'],
  [1e-17, '0.00000000000000001'],
  [1.5e-17, '0.00000000000000002'],
  [1e-20, '0'],
  [-1e-20, '0'],
  [5e-324, '0'],
  [-0, '0'],
  [0.30000000000000004, '0.30000000000000004'],
  [Number('1.2345678901234567e-5'), '0.00001234567890123'],
  [0.012345678901234567, '0.01234567890123457'],
  [1e15, '1000000000000000'],
  [1e17, '100000000000000000'],
  [1e18, '1000000000000000000'],
  [1e19, '10000000000000000000'],
  [2 ** 62, '4611686018427387904'],
  [4611686018427388928, '4611686018427388928'],
  [1e20, '100000000000000000000'],
  [1e21, '1000000000000000000000'],
  [1e22, '10000000000000000000000'],
  [1e23, '100000000000000000000000'],
];

/** Where Redis's 80-bit long double and silt's double part ways: [input, Redis 7.0.15, silt, silt's double]. */
const longDoubleDifferences: [string, string, string, number][] = [
  ['0.1 then 0.2', '0.3', '0.30000000000000004', 0.1 + 0.2],
  ['123456789.123', '123456789.12299999999959255', '123456789.123', 123456789.123],
  ['1234567.1234567', '1234567.12345670000001974', '1234567.1234567', 1234567.1234567],
  ['9007199254740993', '9007199254740993', '9007199254740992', 9007199254740992],
  ['0.99999999999999999', '0.99999999999999999', '1', Number('0.99999999999999999')],
];

describe('formatDouble', () => {
  test.each(redis72Doubles)('%d as Redis 7.2+ writes it: %s', (value, text) => {
    expect(formatDouble(value)).toBe(text);
  });

  test.each(redis70Zscores)('ZSCORE %s: same double as redis-server 7.0.15 printed (%s)', (input, redisText) => {
    const value = Number(input === 'inf' ? Infinity : input === '-inf' ? -Infinity : input);
    const silt = formatDouble(value);
    expect(parseRedisDouble(silt)).toBe(parseRedisDouble(redisText));
  });

  test('every double survives a round trip through its text', () => {
    fc.assert(
      fc.property(fc.double(), (value) => {
        expect(Object.is(parseRedisDouble(formatDouble(value)), value)).toBe(true);
      }),
      { numRuns: propertyRuns * 10 },
    );
  });
});

describe('formatDoubleHuman', () => {
  test.each(redis70IncrByFloat)('%d as INCRBYFLOAT printed it: %s', (value, text) => {
    expect(formatDoubleHuman(value)).toBe(text);
  });

  test.each(longDoubleDifferences)('%s: Redis (long double) printed %s, silt (double) prints %s', (_input, _redis, silt, value) => {
    expect(formatDoubleHuman(value)).toBe(silt);
  });

  test('never an exponent; at least 1 in magnitude, the same double back', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        const text = formatDoubleHuman(value);
        expect(text).toMatch(/^-?\d+(\.\d*[1-9])?$/);
        if (Math.abs(value) >= 1 && Math.abs(value) < 2 ** 64) expect(Number(text)).toBe(value);
      }),
      { numRuns: propertyRuns * 10 },
    );
  });

  test('non-finite values are spelled as ld2string spells them', () => {
    expect([Infinity, -Infinity, Number.NaN].map(formatDoubleHuman)).toEqual(['inf', '-inf', 'nan']);
  });
});

function parseRedisDouble(text: string): number {
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  if (text === 'nan') return Number.NaN;
  return Number(text);
}

describe('ReplyWriter slabs', () => {
  test('a writer holds no slab before its first reply, starts with a small one, and doubles up to the slab size', () => {
    const spy = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      const writer = new ReplyWriter(2, { slabBytes: 16 * 1024 });
      expect(spy).not.toHaveBeenCalled(); // an idle connection costs no slab
      const value = Buffer.alloc(1000, 0x61);
      const sizes = (): number[] => spy.mock.calls.map((call) => call[0] as number);
      writer.write(value);
      expect(sizes()).toEqual([2048]);
      for (let index = 0; index < 40; index++) writer.write(value);
      // 41 replies of about 1 KiB: slabs of 2, 4, 8, 16 and 16 KiB.
      expect(sizes()).toEqual([2048, 4096, 8192, 16384, 16384]);
      const bytes = Buffer.concat(writer.takeChunks());
      expect(bytes.length).toBe(41 * (value.length + '$1000\r\n'.length + 2));
      expect(bytes.toString('latin1', 0, 7)).toBe('$1000\r\n');
    } finally {
      spy.mockRestore();
    }
  });
});
