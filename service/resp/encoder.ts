// RESP reply encoder: Reply values (reply.ts) to RESP2 or RESP3 bytes, into a
// growable output buffer with as few allocations as possible.
//
//   const writer = new ReplyWriter(2);
//   writer.write(OK); writer.write(42); writer.write(value);
//   socket.cork(); for (const chunk of writer.takeChunks()) socket.write(chunk); socket.uncork();
//
// Buffers: the writer fills a slab (64 KiB by default; the first ones
// smaller, from 2 KiB, and none before the first reply) from front to back and
// hands out views of the filled part; it never writes into bytes it has handed
// out, so a view stays valid until its holder drops it, and the next replies
// go after it in the same slab. Only a full slab costs an allocation. A bulk
// of 16 KiB or more is not copied: takeChunks() returns the caller's Buffer
// itself between its header and trailer, so its owner must not modify it until
// the socket has written it (engine values are never modified in place).
//
// Shapes (reply.ts has the full table): RESP3-only shapes degrade to their
// RESP2 form as Redis degrades them. Error and status texts have CR and LF
// replaced by spaces, as Redis's addReplyErrorLength does, so a message can
// never break the framing.
//
// Doubles: formatDouble() is Redis 7.2+'s d2string (src/util.c), used for
// RESP3 `,` doubles, RESP2 double bulks and commands such as ZSCORE:
//   nan, inf, -inf, 0 and -0 spelled so; an integral value within
//   [-2^62, 2^62] as an integer ("3", "4611686018427387904"); anything else as
//   fpconv_dtoa (deps/fpconv) writes the shortest round-trip digits:
//   - no exponent when the digits and trailing zeros are fewer than digits + 7
//     ("9223372036854776000"), or when the value has fewer than 7 fractional
//     digits or its decimal exponent is within 3 ("0.000001", "123.456",
//     "0.30000000000000004");
//   - otherwise d[.ddd]e±X with the exponent unpadded ("1e+20", "1.5e-7",
//     "1e-300", "1.2345e-4").
//   NB: fpconv finds its digits with Grisu2, which for a small share of
//   doubles yields a digit string one or two digits longer than the shortest;
//   silt always writes the shortest (JavaScript's). Both parse to the same
//   double. Redis 7.0 and older print "%.17g" ("0.10000000000000001").
// formatDoubleHuman() is Redis's ld2string(LD_STR_HUMAN), used by INCRBYFLOAT
// and HINCRBYFLOAT: never an exponent, at most 17 fractional digits, trailing
// zeros dropped ("100000000000000000000", "0.00000015", "0" for 1e-20). NB:
// Redis computes and prints these in 80-bit long double, silt in double, so
// results whose double and long double differ differ in their last digits
// (0.1 + 0.2 is "0.30000000000000004" here and "0.3" in Redis). An integral
// value below 2^64 prints exactly (as Redis prints a long double holding the
// same value); a larger one prints as its shortest digits padded with zeros
// ("1e23" as "100000000000000000000000") where Redis prints the exact long
// double expansion, noise digits included.

import { assert } from '../../lib/assert.js';
import {
  BigNumberReply,
  BooleanReply,
  DoubleReply,
  ErrorReply,
  MapReply,
  NullArrayReply,
  PushReply,
  SetReply,
  SimpleReply,
  VerbatimReply,
  type Reply,
} from './reply.js';

// ---------------------------------------------------------------- constants

/** RESP type bytes, every value written out. */
export const RESP_TYPE = {
  SIMPLE_STRING: 43, // +
  ERROR: 45, // -
  INTEGER: 58, // :
  BULK_STRING: 36, // $
  ARRAY: 42, // *
  NULL: 95, // _
  BOOLEAN: 35, // #
  DOUBLE: 44, // ,
  BIG_NUMBER: 40, // (
  BLOB_ERROR: 33, // !
  VERBATIM_STRING: 61, // =
  MAP: 37, // %
  SET: 126, // ~
  ATTRIBUTE: 124, // |
  PUSH: 62, // >
} as const;

const CR = 13;
const LF = 10;
const MINUS = 45;
const ZERO = 48;

/** Default slab size, bytes: one socket write's worth of small replies. */
const slabBytesDefault = 64 * 1024;
const emptySlab = Buffer.alloc(0);

/**
 * A writer's first slab, bytes; each next one doubles up to the slab size.
 * A writer used to start with a full slab: 64 KiB for each connection, idle
 * or not, and for a client connecting per request a GC's worth of external
 * memory every few thousand connections (a fifth of the server's CPU at
 * 40,000 connections of one PING each, docs/bench.md).
 */
const firstSlabBytes = 2 * 1024;

/** A Buffer bulk at least this long is passed by reference instead of copied. */
const largeBulkBytes = 16 * 1024;

/** Strings shorter than this are tried as ASCII with a plain loop before asking for their UTF-8 length. */
const shortStringChars = 64;

/** Room for a type byte, a 20-digit signed integer and CRLF. */
const headerBytesMax = 24;

/** Redis's double2ll bound: integral doubles within ±(LLONG_MAX / 2), i.e. ±2^62, print as integers. */
const integralDoubleMax = 4_611_686_018_427_387_904;

/** 2^63: Redis integers are signed 64-bit, so an integer reply lies in [-2^63, 2^63). */
const integerReplyLimit = 9_223_372_036_854_775_808;

const okLine = Buffer.from('+OK\r\n', 'latin1');
/** A character that latin1 cannot carry in one byte. */
const beyondLatin1 = /[\u0100-\uffff]/;
const nullBulkLine = Buffer.from('$-1\r\n', 'latin1');
const nullArrayLine = Buffer.from('*-1\r\n', 'latin1');
const nullLine = Buffer.from('_\r\n', 'latin1');
const trueLine = Buffer.from('#t\r\n', 'latin1');
const falseLine = Buffer.from('#f\r\n', 'latin1');

// ---------------------------------------------------------------- types

/** RESP protocol version of a connection (HELLO 2 / HELLO 3). */
export type Protocol = 2 | 3;

export interface ReplyWriterOptions {
  /** Size of each slab the writer fills, bytes (default 64 KiB). */
  slabBytes?: number;
}

// ---------------------------------------------------------------- writer

/** Serialises replies for one connection; see the module header. */
export class ReplyWriter {
  /** Protocol of the replies written from now on (HELLO may change it between replies). */
  protocol: Protocol;

  readonly #slabBytes: number;
  /** Size of the next slab (firstSlabBytes, doubling up to #slabBytes). */
  #nextSlabBytes: number;
  /** Empty until the first reply. */
  #slab: Buffer = emptySlab;
  /** First byte of the slab not yet handed out. */
  #start = 0;
  /** Write position in the slab. */
  #length = 0;
  /** Finished pieces, in order, not yet taken. */
  #chunks: Buffer[] = [];
  #chunkBytes = 0;

  /**
   * @param protocol 2 or 3
   * @param options slab size
   */
  constructor(protocol: Protocol = 2, options: ReplyWriterOptions = {}) {
    assert(protocol === 2 || protocol === 3, 'protocol is 2 or 3');
    this.protocol = protocol;
    this.#slabBytes = options.slabBytes ?? slabBytesDefault;
    assert(Number.isSafeInteger(this.#slabBytes) && this.#slabBytes >= headerBytesMax, 'slab holds at least a header');
    this.#nextSlabBytes = Math.min(firstSlabBytes, this.#slabBytes);
  }

  /** Bytes written and not yet taken (for the output buffer limit). */
  get bufferedBytes(): number {
    return this.#chunkBytes + this.#length - this.#start;
  }

  /**
   * Appends one reply, encoded for `protocol`.
   * @throws AssertionError for a value that is not a Reply (a non-integer number, an unknown object)
   */
  write(reply: Reply): void {
    if (typeof reply === 'number') {
      this.#integerLine(RESP_TYPE.INTEGER, reply);
    } else if (typeof reply === 'bigint') {
      assert(reply >= -(2n ** 63n) && reply < 2n ** 63n, 'an integer reply fits a signed 64-bit integer');
      this.#constant(Buffer.from(`:${reply}\r\n`, 'latin1'));
    } else if (reply instanceof SimpleReply) {
      this.#simple(reply);
    } else if (reply instanceof Uint8Array) {
      this.#bulk(reply);
    } else if (reply === null) {
      this.#constant(this.protocol === 3 ? nullLine : nullBulkLine);
    } else if (typeof reply === 'string') {
      this.#bulkString(reply);
    } else if (Array.isArray(reply)) {
      this.#integerLine(RESP_TYPE.ARRAY, reply.length);
      for (const item of reply) this.write(item);
    } else {
      this.#writeTagged(reply);
    }
  }

  /**
   * Hands out everything written so far, in order, and empties the writer.
   * The Buffers stay valid for as long as the caller keeps them.
   */
  takeChunks(): Buffer[] {
    this.#flushSegment();
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#chunkBytes = 0;
    return chunks;
  }

  /** Like takeChunks(), as one Buffer (a view when it is one piece, else a copy). */
  take(): Buffer {
    const chunks = this.takeChunks();
    if (chunks.length === 1) return chunks[0]!;
    return chunks.length === 0 ? Buffer.alloc(0) : Buffer.concat(chunks);
  }

  // ------------------------------------------------------------ shapes

  #writeTagged(reply: Reply): void {
    const resp3 = this.protocol === 3;
    if (reply instanceof ErrorReply) {
      this.#line(RESP_TYPE.ERROR, reply.text);
    } else if (reply instanceof MapReply) {
      const entries = reply.entries;
      if (resp3) this.#integerLine(RESP_TYPE.MAP, entries.length);
      else this.#integerLine(RESP_TYPE.ARRAY, entries.length * 2);
      for (const [key, value] of entries) {
        this.write(key);
        this.write(value);
      }
    } else if (reply instanceof SetReply) {
      this.#aggregate(resp3 ? RESP_TYPE.SET : RESP_TYPE.ARRAY, reply.items);
    } else if (reply instanceof PushReply) {
      this.#aggregate(resp3 ? RESP_TYPE.PUSH : RESP_TYPE.ARRAY, reply.items);
    } else if (reply instanceof DoubleReply) {
      const text = formatDouble(reply.value);
      if (resp3) this.#asciiLine(RESP_TYPE.DOUBLE, text);
      else this.#bulkString(text);
    } else if (reply instanceof BooleanReply) {
      if (resp3) this.#constant(reply.value ? trueLine : falseLine);
      else this.#integerLine(RESP_TYPE.INTEGER, reply.value ? 1 : 0);
    } else if (reply instanceof BigNumberReply) {
      const text = reply.value.toString();
      if (resp3) this.#asciiLine(RESP_TYPE.BIG_NUMBER, text);
      else this.#bulkString(text);
    } else if (reply instanceof VerbatimReply) {
      if (resp3) this.#verbatim(reply);
      else this.#bulkString(reply.text);
    } else if (reply instanceof NullArrayReply) {
      this.#constant(resp3 ? nullLine : nullArrayLine);
    } else {
      assert(false, `a reply is a Reply value, got ${Object.prototype.toString.call(reply)}`);
    }
  }

  #aggregate(type: number, items: readonly Reply[]): void {
    this.#integerLine(type, items.length);
    for (const item of items) this.write(item);
  }

  #simple(reply: SimpleReply): void {
    if (reply.text === 'OK') this.#constant(okLine);
    else this.#line(RESP_TYPE.SIMPLE_STRING, reply.text);
  }

  /**
   * `<type><text>\r\n` for a status or error, CR and LF replaced by spaces.
   * Text with no character past U+00FF goes out one byte per character: it
   * echoes arguments, which are decoded that way (latin1), so an argument's
   * bytes come back as they were sent, as Redis echoes them; other text as UTF-8.
   */
  #line(type: number, text: string): void {
    const clean = text.includes('\r') || text.includes('\n') ? text.replace(/[\r\n]/g, ' ') : text;
    const encoding = beyondLatin1.test(clean) ? 'utf8' : 'latin1';
    const bytes = Buffer.byteLength(clean, encoding);
    this.#ensure(bytes + 3);
    const slab = this.#slab;
    slab[this.#length++] = type;
    this.#length += slab.write(clean, this.#length, bytes, encoding);
    slab[this.#length++] = CR;
    slab[this.#length++] = LF;
  }

  /** `<type><text>\r\n` for text known to be ASCII without CR or LF (numbers). */
  #asciiLine(type: number, text: string): void {
    this.#ensure(text.length + 3);
    const slab = this.#slab;
    let at = this.#length;
    slab[at++] = type;
    for (let i = 0; i < text.length; i++) slab[at++] = text.charCodeAt(i);
    slab[at++] = CR;
    slab[at++] = LF;
    this.#length = at;
  }

  #bulk(value: Uint8Array): void {
    const size = value.length;
    if (size >= largeBulkBytes) {
      this.#integerLine(RESP_TYPE.BULK_STRING, size);
      this.#flushSegment();
      this.#chunks.push(Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, size));
      this.#chunkBytes += size;
      this.#ensure(2);
      this.#slab[this.#length++] = CR;
      this.#slab[this.#length++] = LF;
      return;
    }
    this.#ensure(size + headerBytesMax + 2);
    this.#putIntegerLine(RESP_TYPE.BULK_STRING, size);
    const slab = this.#slab;
    let at = this.#length;
    if (size < 32) {
      for (let i = 0; i < size; i++) slab[at++] = value[i]!;
    } else {
      slab.set(value, at);
      at += size;
    }
    slab[at++] = CR;
    slab[at++] = LF;
    this.#length = at;
  }

  #bulkString(text: string): void {
    const chars = text.length;
    if (chars < shortStringChars) {
      // Optimistic ASCII: write as bytes; start over on the first non-ASCII character.
      this.#ensure(chars + headerBytesMax + 2);
      const mark = this.#length;
      this.#putIntegerLine(RESP_TYPE.BULK_STRING, chars);
      const slab = this.#slab;
      let at = this.#length;
      let ascii = true;
      for (let i = 0; i < chars; i++) {
        const code = text.charCodeAt(i);
        if (code > 0x7f) {
          ascii = false;
          break;
        }
        slab[at++] = code;
      }
      if (ascii) {
        slab[at++] = CR;
        slab[at++] = LF;
        this.#length = at;
        return;
      }
      this.#length = mark;
    }
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes >= largeBulkBytes) {
      this.#bulk(Buffer.from(text, 'utf8'));
      return;
    }
    this.#ensure(bytes + headerBytesMax + 2);
    this.#putIntegerLine(RESP_TYPE.BULK_STRING, bytes);
    const slab = this.#slab;
    this.#length += slab.write(text, this.#length, bytes, 'utf8');
    slab[this.#length++] = CR;
    slab[this.#length++] = LF;
  }

  #verbatim(reply: VerbatimReply): void {
    assert(/^[\x21-\x7e]{3}$/.test(reply.format) && !reply.format.includes(':'), 'a verbatim format is three printable ASCII characters');
    const bytes = Buffer.byteLength(reply.text, 'utf8');
    const payload = Buffer.allocUnsafe(bytes + 4);
    payload.write(reply.format, 0, 3, 'latin1');
    payload[3] = 58; // ':'
    payload.write(reply.text, 4, bytes, 'utf8');
    this.#integerLine(RESP_TYPE.VERBATIM_STRING, payload.length);
    this.#ensure(payload.length + 2);
    payload.copy(this.#slab, this.#length);
    this.#length += payload.length;
    this.#slab[this.#length++] = CR;
    this.#slab[this.#length++] = LF;
  }

  #constant(bytes: Buffer): void {
    this.#ensure(bytes.length);
    const slab = this.#slab;
    let at = this.#length;
    for (let i = 0; i < bytes.length; i++) slab[at++] = bytes[i]!;
    this.#length = at;
  }

  #integerLine(type: number, value: number): void {
    this.#ensure(headerBytesMax);
    this.#putIntegerLine(type, value);
  }

  /** `<type><integer>\r\n`; the caller made room for headerBytesMax bytes. */
  #putIntegerLine(type: number, value: number): void {
    assert(Number.isInteger(value), 'an integer reply is an integer');
    assert(value >= -integerReplyLimit && value < integerReplyLimit, 'an integer reply fits a signed 64-bit integer');
    const slab = this.#slab;
    let at = this.#length;
    slab[at++] = type;
    let n = value;
    if (n < 0) {
      slab[at++] = MINUS;
      n = -n;
    }
    if (n < 10) {
      slab[at++] = ZERO + n;
    } else if (n <= Number.MAX_SAFE_INTEGER) {
      let digits = 2;
      for (let t = Math.floor(n / 100); t > 0; t = Math.floor(t / 10)) digits++;
      let i = at + digits - 1;
      while (n >= 10) {
        const quotient = Math.floor(n / 10);
        slab[i--] = ZERO + (n - quotient * 10);
        n = quotient;
      }
      slab[i] = ZERO + n;
      at += digits;
    } else {
      // Integral but past 2^53: its exact value, as Redis's ll2string would print it.
      at += slab.write(BigInt(n).toString(), at, 'latin1');
    }
    slab[at++] = CR;
    slab[at++] = LF;
    this.#length = at;
  }

  // ------------------------------------------------------------ buffer

  /** Makes room for `bytes` more bytes, starting a new slab when this one is full. */
  #ensure(bytes: number): void {
    if (this.#slab.length - this.#length >= bytes) return;
    this.#flushSegment();
    this.#slab = Buffer.allocUnsafe(Math.max(this.#nextSlabBytes, bytes));
    this.#nextSlabBytes = Math.min(2 * this.#nextSlabBytes, this.#slabBytes);
    this.#start = 0;
    this.#length = 0;
  }

  /** Moves the written, not yet handed out part of the slab to #chunks. */
  #flushSegment(): void {
    if (this.#length === this.#start) return;
    this.#chunks.push(this.#slab.subarray(this.#start, this.#length));
    this.#chunkBytes += this.#length - this.#start;
    this.#start = this.#length;
  }
}

/**
 * Encodes one reply on its own.
 * @param reply the reply
 * @param protocol 2 or 3
 * @returns its RESP bytes
 * @example encodeReply(new MapReply([['a', 1]]), 3) // "%1\r\n$1\r\na\r\n:1\r\n"
 */
export function encodeReply(reply: Reply, protocol: Protocol): Buffer {
  const writer = new ReplyWriter(protocol, { slabBytes: 256 });
  writer.write(reply);
  return writer.take();
}

// ---------------------------------------------------------------- doubles

/**
 * Formats a double as Redis 7.2+'s d2string does (module header): for RESP3
 * doubles, RESP2 double bulks, ZSCORE, ZINCRBY, ZRANGE ... WITHSCORES.
 * @example formatDouble(3) // "3"; formatDouble(1e20) // "1e+20"; formatDouble(1.5e-7) // "1.5e-7"
 */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  if (Number.isInteger(value) && value >= -integralDoubleMax && value <= integralDoubleMax) {
    return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
  }
  const { digits, exponent } = shortestDigits(value);
  return (value < 0 ? '-' : '') + fpconvLayout(digits, exponent - (digits.length - 1));
}

/**
 * Formats a double as Redis's ld2string(LD_STR_HUMAN) does for INCRBYFLOAT
 * and HINCRBYFLOAT: fixed point, at most 17 fractional digits, no trailing
 * zeros, "-0" as "0" (module header for how double and long double differ).
 * @example formatDoubleHuman(1e20) // "100000000000000000000"; formatDoubleHuman(1.5e-7) // "0.00000015"
 */
export function formatDoubleHuman(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (Number.isSafeInteger(value)) return value === 0 ? '0' : String(value);
  // An integral double below 2^64 prints exactly, as a long double holding the same value would.
  if (Number.isInteger(value) && Math.abs(value) < 2 ** 64) return BigInt(value).toString();
  const { digits, exponent } = shortestDigits(value);
  const sign = value < 0 ? '-' : '';
  const fractionDigits = digits.length - 1 - exponent;
  if (fractionDigits > 17) {
    // More digits than %.17Lf keeps: round the exact value to 17, then trim.
    const fixed = trimFraction(value.toFixed(17));
    return fixed === '-0' ? '0' : fixed;
  }
  if (fractionDigits <= 0) return sign + digits + '0'.repeat(-fractionDigits);
  if (exponent >= 0) return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
  return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
}

/** The shortest round-trip significant digits of |value| (finite, non-zero) and the decimal exponent of the first. */
function shortestDigits(value: number): { digits: string; exponent: number } {
  const text = Math.abs(value).toExponential(); // "1.2345e-7": shortest digits, as toString's
  const e = text.indexOf('e');
  const mantissa = text.slice(0, e);
  const digits = mantissa.length > 1 ? mantissa[0]! + mantissa.slice(2) : mantissa;
  return { digits, exponent: Number(text.slice(e + 1)) };
}

/** fpconv_dtoa's emit_digits: `digits` × 10^k laid out as Redis 7.2+ writes it. */
function fpconvLayout(digits: string, k: number): string {
  const count = digits.length;
  const exponent = Math.abs(k + count - 1);
  if (k >= 0 && exponent < count + 7) return digits + '0'.repeat(k);
  if (k < 0 && (k > -7 || exponent < 4)) {
    const offset = count + k;
    if (offset <= 0) return `0.${'0'.repeat(-offset)}${digits}`;
    return `${digits.slice(0, offset)}.${digits.slice(offset)}`;
  }
  const mantissa = count > 1 ? `${digits[0]!}.${digits.slice(1)}` : digits;
  return `${mantissa}e${k + count - 1 < 0 ? '-' : '+'}${exponent}`;
}

/** Drops trailing zeros after a decimal point, and the point if nothing follows it. */
function trimFraction(text: string): string {
  if (!text.includes('.')) return text;
  let end = text.length;
  while (text.charCodeAt(end - 1) === ZERO) end--;
  if (text[end - 1] === '.') end--;
  return text.slice(0, end);
}
