// ReplyDecoder: every RESP2 and RESP3 reply type, fed whole, byte by byte
// and split at random points; malformed input of every kind; limits at the
// limit and one past; a large bulk across many chunks. The round-trip
// property writes random Reply trees with ReplyWriter in each protocol, splits
// the bytes at random, and requires what reply.ts's degradation table says:
// the same value in RESP3, its RESP2 form in RESP2.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ProtocolError } from '../../../service/resp/decoder.js';
import { ReplyWriter, formatDouble } from '../../../service/resp/encoder.js';
import {
  AttributedReply,
  DecodedMap,
  DecodedPush,
  DecodedSet,
  ReplyDecoder,
  type ReplyDecoderLimits,
  type ReplyValue,
} from '../../../service/resp/reply-decoder.js';
import {
  BigNumberReply,
  BooleanReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArrayReply,
  PushReply,
  type Reply,
  SetReply,
  SimpleReply,
  VerbatimReply,
} from '../../../service/resp/reply.js';
import { everySplit, propertyRuns, splitAt, splitPoints } from './resp-test-support.js';

interface Outcome {
  replies: ReplyValue[];
  error?: string;
}

function decode(pieces: Buffer[], limits: Partial<ReplyDecoderLimits> = {}): Outcome {
  const decoder = new ReplyDecoder(limits);
  const replies: ReplyValue[] = [];
  try {
    for (const piece of pieces) {
      decoder.feed(piece);
      for (let reply = decoder.next(); reply !== undefined; reply = decoder.next()) replies.push(reply);
    }
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return { replies, error: (error as Error).message };
  }
  return { replies };
}

function runCase(input: string | Buffer, expected: Outcome, limits: Partial<ReplyDecoderLimits> = {}): void {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  everySplit(bytes, (pieces, how) => {
    expect(decode(pieces, limits), how).toStrictEqual(expected);
  });
}

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

const replyCases: [string, string, ReplyValue][] = [
  ['simple string', '+OK\r\n', new SimpleReply('OK')],
  ['simple string, UTF-8', '+h\xc3\xa9\r\n', new SimpleReply('hé')],
  ['error', '-ERR unknown command\r\n', new ErrorReply('ERR unknown command')],
  ['integer', ':42\r\n', 42],
  ['negative integer', ':-7\r\n', -7],
  ['integer past 2^53 is a bigint', ':9223372036854775807\r\n', 9223372036854775807n],
  ['smallest integer', ':-9223372036854775808\r\n', -9223372036854775808n],
  ['bulk', '$5\r\nhello\r\n', b('hello')],
  ['binary bulk holding CRLF', '$4\r\n\r\n\x00\xff\r\n', b('\r\n\x00\xff')],
  ['empty bulk', '$0\r\n\r\n', b('')],
  ['null bulk (RESP2)', '$-1\r\n', null],
  ['null array (RESP2)', '*-1\r\n', NullArrayReply.instance],
  ['null (RESP3)', '_\r\n', null],
  ['empty array', '*0\r\n', []],
  ['nested array', '*2\r\n*1\r\n:1\r\n$1\r\na\r\n', [[1], b('a')]],
  ['double', ',1.5\r\n', new DoubleReply(1.5)],
  ['double with exponent', ',1e+300\r\n', new DoubleReply(1e300)],
  ['double inf', ',inf\r\n', new DoubleReply(Infinity)],
  ['double -inf', ',-inf\r\n', new DoubleReply(-Infinity)],
  ['double nan', ',nan\r\n', new DoubleReply(Number.NaN)],
  ['double -0', ',-0\r\n', new DoubleReply(-0)],
  ['boolean true', '#t\r\n', new BooleanReply(true)],
  ['boolean false', '#f\r\n', new BooleanReply(false)],
  ['big number', '(3492890328409238509324850943850943825024385\r\n', new BigNumberReply(3492890328409238509324850943850943825024385n)],
  ['negative big number', '(-1\r\n', new BigNumberReply(-1n)],
  ['verbatim string', '=15\r\ntxt:Some string\r\n', new VerbatimReply('txt', 'Some string')],
  ['blob error', '!21\r\nSYNTAX invalid syntax\r\n', new ErrorReply('SYNTAX invalid syntax')],
  ['map', '%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n', new DecodedMap([[new SimpleReply('first'), 1], [new SimpleReply('second'), 2]])],
  ['empty map', '%0\r\n', new DecodedMap([])],
  ['set', '~3\r\n+orange\r\n+apple\r\n#t\r\n', new DecodedSet([new SimpleReply('orange'), new SimpleReply('apple'), new BooleanReply(true)])],
  ['empty set', '~0\r\n', new DecodedSet([])],
  ['push', '>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n', new DecodedPush([b('message'), b('ch'), b('hi')])],
  ['empty push', '>0\r\n', new DecodedPush([])],
  [
    'attribute (the RESP3 specification example)',
    '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n',
    new AttributedReply(
      [[new SimpleReply('key-popularity'), new DecodedMap([[b('a'), new DoubleReply(0.1923)], [b('b'), new DoubleReply(0.0012)]])]],
      [2039123, 9543892],
    ),
  ],
  ['attribute inside an array', '*2\r\n|1\r\n+ttl\r\n:3600\r\n:1\r\n:2\r\n', [new AttributedReply([[new SimpleReply('ttl'), 3600]], 1), 2]],
  ['empty attribute', '|0\r\n+OK\r\n', new AttributedReply([], new SimpleReply('OK'))],
];

describe('ReplyDecoder: every reply type', () => {
  test.each(replyCases)('%s', (_name, input, expected) => {
    runCase(input, { replies: [expected] });
  });

  test('pipelined replies come out one at a time, in order', () => {
    const input = replyCases.map(([, bytes]) => bytes).join('');
    runCase(input, { replies: replyCases.map(([, , expected]) => expected) });
  });
});

const malformedCases: [string, string, string][] = [
  ['unknown type byte', '?x\r\n', "Protocol error: invalid reply type byte '?'"],
  ['integer with letters', ':abc\r\n', 'Protocol error: invalid integer reply'],
  ['integer with a fraction', ':1.5\r\n', 'Protocol error: invalid integer reply'],
  ['empty integer', ':\r\n', 'Protocol error: invalid integer reply'],
  ['integer past 64 bits', ':9223372036854775808\r\n', 'Protocol error: invalid integer reply'],
  ['double with letters', ',abc\r\n', 'Protocol error: invalid double reply'],
  ['empty double', ',\r\n', 'Protocol error: invalid double reply'],
  ['boolean other than t or f', '#x\r\n', 'Protocol error: invalid boolean reply'],
  ['null with content', '_x\r\n', 'Protocol error: invalid null reply'],
  ['big number with letters', '(12a\r\n', 'Protocol error: invalid big number reply'],
  ['bulk length -2', '$-2\r\n', 'Protocol error: invalid bulk length'],
  ['bulk length with letters', '$abc\r\n', 'Protocol error: invalid bulk length'],
  ['streamed string (unsupported)', '$?\r\n', 'Protocol error: invalid bulk length'],
  ['verbatim null', '=-1\r\n', 'Protocol error: invalid bulk length'],
  ['bulk not followed by CRLF', '$3\r\nabcd\r\n', 'Protocol error: expected CRLF after a bulk'],
  ['line with CR but no LF', '+OK\rX\r\n', 'Protocol error: expected CRLF at the end of a reply line'],
  ['aggregate count -2', '*-2\r\n', 'Protocol error: invalid multibulk length'],
  ['null map', '%-1\r\n', 'Protocol error: invalid multibulk length'],
  ['streamed aggregate (unsupported)', '*?\r\n', 'Protocol error: invalid multibulk length'],
  ['verbatim shorter than its format', '=3\r\ntxt\r\n', 'Protocol error: invalid verbatim string reply'],
  ['verbatim without a colon', '=4\r\ntxtx\r\n', 'Protocol error: invalid verbatim string reply'],
];

describe('ReplyDecoder: malformed input', () => {
  test.each(malformedCases)('%s', (_name, input, error) => {
    runCase(input, { replies: [], error });
  });

  test('good replies before the error are kept; the decoder then stays failed', () => {
    runCase('+OK\r\n:1\r\n?\r\n', { replies: [new SimpleReply('OK'), 1], error: "Protocol error: invalid reply type byte '?'" });
    const decoder = new ReplyDecoder();
    decoder.feed(b('?\r\n'));
    let error: unknown;
    try {
      decoder.next();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ProtocolError);
    expect(() => decoder.next()).toThrow(error as Error);
    expect(() => decoder.feed(b('+OK\r\n'))).toThrow(error as Error);
  });
});

describe('ReplyDecoder: limits at the limit and one past', () => {
  test('bulk length', () => {
    runCase('$4\r\nabcd\r\n', { replies: [b('abcd')] }, { bulkBytesMax: 4 });
    runCase('$5\r\nabcde\r\n', { replies: [], error: 'Protocol error: invalid bulk length' }, { bulkBytesMax: 4 });
  });

  test('line length, complete or not', () => {
    runCase('+12345678\r\n', { replies: [new SimpleReply('12345678')] }, { lineBytesMax: 8 });
    runCase('+12345678', { replies: [] }, { lineBytesMax: 8 });
    runCase('+123456789\r\n', { replies: [], error: 'Protocol error: too big reply line' }, { lineBytesMax: 8 });
    runCase('+123456789', { replies: [], error: 'Protocol error: too big reply line' }, { lineBytesMax: 8 });
  });

  test('nesting depth', () => {
    runCase('*1\r\n%1\r\n~1\r\n:1\r\n:2\r\n', { replies: [[new DecodedMap([[new DecodedSet([1]), 2]])]] }, { nestingDepthMax: 3 });
    runCase('*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n', { replies: [], error: 'Protocol error: reply nested too deep' }, { nestingDepthMax: 3 });
  });

  test('declared aggregate count', () => {
    runCase('*2\r\n:1\r\n:2\r\n', { replies: [[1, 2]] }, { aggregateCountMax: 2 });
    runCase('%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n', { replies: [new DecodedMap([[1, 2], [3, 4]])] }, { aggregateCountMax: 2 });
    runCase('*3\r\n', { replies: [], error: 'Protocol error: invalid multibulk length' }, { aggregateCountMax: 2 });
  });

  test('a huge declared count allocates nothing', () => {
    const decoder = new ReplyDecoder();
    decoder.feed(b('*2147483647\r\n:1\r\n'));
    expect(decoder.next()).toBeUndefined();
  });

  test('the defaults', () => {
    expect(new ReplyDecoder().limits).toEqual({
      bulkBytesMax: 512 * 1024 * 1024,
      aggregateCountMax: 2_147_483_647,
      lineBytesMax: 64 * 1024,
      nestingDepthMax: 512,
    });
    expect(() => new ReplyDecoder({ lineBytesMax: -1 })).toThrow('Cannot create RESP reply decoder: limit "lineBytesMax" is -1, expected a non-negative integer');
  });
});

describe('ReplyDecoder: a large bulk across many chunks', () => {
  test('4 MiB in 64 KiB chunks, followed by more replies', () => {
    const value = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < value.length; i += 1000) value[i] = i & 0xff;
    const input = Buffer.concat([b(`*2\r\n$${value.length}\r\n`), value, b('\r\n+OK\r\n:5\r\n')]);
    const decoder = new ReplyDecoder();
    const replies: ReplyValue[] = [];
    for (let from = 0; from < input.length; from += 64 * 1024) {
      decoder.feed(input.subarray(from, from + 64 * 1024));
      for (let reply = decoder.next(); reply !== undefined; reply = decoder.next()) replies.push(reply);
    }
    expect(replies.length).toBe(2);
    const [bulk, ok] = replies[0] as [Buffer, SimpleReply];
    expect(bulk.equals(value)).toBe(true);
    expect(ok).toStrictEqual(new SimpleReply('OK'));
    expect(replies[1]).toBe(5);
    expect(decoder.bufferedBytes).toBe(0);
  });
});

// ---------------------------------------------------------------- round trip

const text = fc.string({ maxLength: 12, unit: 'binary' });
const leaf: fc.Arbitrary<Reply> = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.constantFrom(2 ** 53, -(2 ** 62), 2 ** 63 - 1024, -(2 ** 63)),
  text,
  fc.uint8Array({ maxLength: 12 }).map((bytes) => Buffer.from(bytes)),
  fc.constant(null),
  text.map((t) => new SimpleReply(t)),
  text.map((t) => new ErrorReply(t)),
  fc.double().map((v) => new DoubleReply(v)),
  fc.boolean().map((v) => new BooleanReply(v)),
  fc.bigInt().map((v) => new BigNumberReply(v)),
  fc.tuple(fc.constantFrom('txt', 'mkd'), text).map(([format, t]) => new VerbatimReply(format, t)),
  fc.constant(NullArrayReply.instance),
);
const { reply: replyTree } = fc.letrec<{ reply: Reply }>((tie) => ({
  reply: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'reply' },
    leaf,
    fc.array(tie('reply'), { maxLength: 4 }),
    fc.array(fc.tuple(tie('reply'), tie('reply')), { maxLength: 3 }).map((entries) => new MapReply(entries)),
    fc.array(tie('reply'), { maxLength: 4 }).map((items) => new SetReply(items)),
    fc.array(tie('reply'), { maxLength: 4 }).map((items) => new PushReply(items)),
  ),
}));

/** What `reply`, written in `protocol`, must read back as (reply.ts's degradation table). */
function expectedValue(reply: Reply, protocol: 2 | 3): ReplyValue {
  const resp3 = protocol === 3;
  if (typeof reply === 'number') return Number.isSafeInteger(reply) ? reply : BigInt(reply);
  if (typeof reply === 'string') return Buffer.from(reply, 'utf8');
  if (reply === null || Buffer.isBuffer(reply)) return reply;
  if (Array.isArray(reply)) return reply.map((item) => expectedValue(item, protocol));
  if (reply instanceof SimpleReply) return new SimpleReply(cleanLine(reply.text));
  if (reply instanceof ErrorReply) return new ErrorReply(cleanLine(reply.text));
  if (reply instanceof MapReply) {
    const entries = reply.entries.map(([key, value]): [ReplyValue, ReplyValue] => [expectedValue(key, protocol), expectedValue(value, protocol)]);
    return resp3 ? new DecodedMap(entries) : entries.flat();
  }
  if (reply instanceof SetReply) return resp3 ? new DecodedSet(reply.items.map((item) => expectedValue(item, protocol))) : reply.items.map((item) => expectedValue(item, protocol));
  if (reply instanceof PushReply) return resp3 ? new DecodedPush(reply.items.map((item) => expectedValue(item, protocol))) : reply.items.map((item) => expectedValue(item, protocol));
  if (reply instanceof DoubleReply) return resp3 ? new DoubleReply(reply.value) : Buffer.from(formatDouble(reply.value));
  if (reply instanceof BooleanReply) return resp3 ? reply : reply.value ? 1 : 0;
  if (reply instanceof BigNumberReply) return resp3 ? reply : Buffer.from(reply.value.toString());
  if (reply instanceof VerbatimReply) return resp3 ? new VerbatimReply(reply.format, viaUtf8(reply.text)) : Buffer.from(reply.text, 'utf8');
  return resp3 ? null : NullArrayReply.instance;
}

function viaUtf8(value: string): string {
  return Buffer.from(value, 'utf8').toString('utf8');
}

/**
 * A status or error line as it reads back: CR and LF become spaces; the
 * writer sends text with no character past U+00FF one byte per character
 * (encoder.ts, #line: it echoes arguments byte for byte) and other text as
 * UTF-8, and the decoder reads UTF-8, so a lone byte 0x80-0xFF reads back
 * as U+FFFD.
 */
function cleanLine(value: string): string {
  const clean = value.replace(/[\r\n]/g, ' ');
  return /[\u0100-\uffff]/.test(clean) ? viaUtf8(clean) : Buffer.from(clean, 'latin1').toString('utf8');
}

describe('ReplyWriter to ReplyDecoder round trip', () => {
  test.each([2, 3] as const)('RESP%i: random reply trees, split at random points', (protocol) => {
    fc.assert(
      fc.property(
        fc.array(replyTree, { minLength: 1, maxLength: 6 }).chain((replies) => {
          const writer = new ReplyWriter(protocol, { slabBytes: 128 });
          for (const reply of replies) writer.write(reply);
          const bytes = writer.take();
          return fc.tuple(fc.constant(replies), fc.constant(bytes), splitPoints(bytes.length));
        }),
        ([replies, bytes, points]) => {
          expect(decode(splitAt(bytes, points))).toStrictEqual({ replies: replies.map((reply) => expectedValue(reply, protocol)) });
        },
      ),
      { numRuns: propertyRuns },
    );
  });
});
