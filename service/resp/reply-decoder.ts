// RESP reply decoder for clients (`silt load --host`, tests): bytes from a
// server in, one whole reply at a time out, RESP2 and RESP3 alike (RESP3 is a
// superset, so one decoder reads both).
//
//   const decoder = new ReplyDecoder();
//   socket.on('data', (chunk) => {
//     decoder.feed(chunk);
//     for (let reply; (reply = decoder.next()) !== undefined; ) settle(reply);
//   });
//
// What each reply becomes (ReplyValue); leaves reuse reply.ts's classes, so a
// reply the encoder wrote reads back as the same value, or as its RESP2 form:
//   +text            SimpleReply          -text / !len  ErrorReply
//   :n               number, or bigint past Number.MAX_SAFE_INTEGER
//   $len / $-1       Buffer / null        _             null
//   *n / *-1         ReplyValue[] / NullArrayReply.instance
//   %n               DecodedMap           ~n            DecodedSet
//   >n               DecodedPush          ,x            DoubleReply (inf, -inf, nan too)
//   #t / #f          BooleanReply         (n            BigNumberReply
//   =len             VerbatimReply        |n            AttributedReply wrapping the reply that follows
// Streamed RESP3 strings and aggregates (`$?`, `*?`) are not supported: Redis
// never sends them; they fail as invalid lengths.
//
// The decoder keeps its place between feeds: an aggregate's finished elements
// stay on an explicit stack (no recursion, nesting bounded), so a long reply
// that arrives in many chunks is parsed once. Buffers as in decoder.ts: a
// bulk within one fed chunk is a view of it (the caller must not modify or
// reuse a chunk after feeding it); bytes that straddle chunks go to a buffer
// the decoder owns and only appends to; a bulk of 32 KiB or more is collected
// chunk by chunk and copied once. Unlike the request decoder, this one checks
// that every line and bulk ends in CRLF: a server that breaks framing is a
// bug worth stopping at.
//
// Limits (lib/limits.ts, "RESP protocol"): bulk length, line length, declared
// aggregate count (never preallocated) and nesting depth. Malformed or
// oversized input makes next() throw a ProtocolError; the decoder is then
// failed and every later call throws the same error.

import { InvalidArgumentError } from '../../lib/errors.js';
import { protoMaxBulkBytes, replyAggregateCountMax, replyLineBytesMax, replyNestingDepthMax } from '../../lib/limits.js';
import { parseRedisInteger, ProtocolError } from './decoder.js';
import { RESP_TYPE } from './encoder.js';
import { BigNumberReply, BooleanReply, DoubleReply, ErrorReply, NullArrayReply, SimpleReply, VerbatimReply } from './reply.js';

// ---------------------------------------------------------------- constants

const CR = 13;
const LF = 10;
const COLON = 58;

/** Internal frame kind: the reply after an attribute, which the attribute wraps. */
const ATTRIBUTED = -1;

/** An incomplete bulk at least this long is collected chunk by chunk and copied once. */
const bulkCollectBytesMin = 32 * 1024;

/** Smallest owned buffer allocated for bytes that straddle chunks. */
const ownedBufferBytesMin = 16 * 1024;

const emptyBuffer = Buffer.alloc(0);

const doublePattern = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const integerPattern = /^[+-]?\d+$/;

// ---------------------------------------------------------------- types

/** A RESP3 map (`%`), entries in the order the server sent them. */
export class DecodedMap {
  constructor(readonly entries: [key: ReplyValue, value: ReplyValue][]) {}
}

/** A RESP3 set (`~`), items in the order the server sent them. */
export class DecodedSet {
  constructor(readonly items: ReplyValue[]) {}
}

/** A RESP3 push (`>`): an out-of-band message (pub/sub, invalidation), not a reply to a command. */
export class DecodedPush {
  constructor(readonly items: ReplyValue[]) {}
}

/** A reply preceded by a RESP3 attribute (`|`): the attribute's entries and the reply itself. */
export class AttributedReply {
  constructor(
    readonly attributes: [key: ReplyValue, value: ReplyValue][],
    readonly value: ReplyValue,
  ) {}
}

/** A decoded reply; see the module header for what each RESP type becomes. */
export type ReplyValue =
  | number
  | bigint
  | Buffer
  | null
  | ReplyValue[]
  | SimpleReply
  | ErrorReply
  | DoubleReply
  | BooleanReply
  | BigNumberReply
  | VerbatimReply
  | NullArrayReply
  | DecodedMap
  | DecodedSet
  | DecodedPush
  | AttributedReply;

/** Bounds a ReplyDecoder enforces; each defaults to lib/limits.ts. */
export interface ReplyDecoderLimits {
  /** Largest bulk, verbatim string or blob error, bytes. */
  bulkBytesMax: number;
  /** Largest declared element count of one aggregate (pairs for maps and attributes), elements. */
  aggregateCountMax: number;
  /** Longest line after the type byte (simple string, error, number, header), bytes. */
  lineBytesMax: number;
  /** Deepest aggregate nesting, levels. */
  nestingDepthMax: number;
}

/** The defaults, from lib/limits.ts. */
export const defaultReplyDecoderLimits: Readonly<ReplyDecoderLimits> = Object.freeze({
  bulkBytesMax: protoMaxBulkBytes,
  aggregateCountMax: replyAggregateCountMax,
  lineBytesMax: replyLineBytesMax,
  nestingDepthMax: replyNestingDepthMax,
});

/** An aggregate being filled. Maps and attributes count keys and values separately. */
interface Frame {
  type: number;
  remaining: number;
  items: ReplyValue[];
  attributes: [key: ReplyValue, value: ReplyValue][] | undefined;
}

// ---------------------------------------------------------------- decoder

/** Incremental RESP2/RESP3 reply decoder; see the module header. */
export class ReplyDecoder {
  readonly limits: Readonly<ReplyDecoderLimits>;

  #buf: Buffer = emptyBuffer;
  #pos = 0;
  #end = 0;
  #owned = false;
  /** Bytes after #pos known not to hold the CR being looked for. */
  #scanned = 0;

  #stack: Frame[] = [];
  /** Type and length of a bulk whose header was read and whose body is awaited. */
  #bulkType = 0;
  #bulkLength = -1;

  #parts: Buffer[] = [];
  #partsBytes = 0;
  /** A collected large bulk, whole, waiting for #parse; and whether CRLF followed it. */
  #collected: Buffer | undefined = undefined;
  #collectedCrlf = false;

  #error: Error | undefined = undefined;

  /**
   * @param limits overrides of defaultReplyDecoderLimits
   * @throws InvalidArgumentError when a limit is not a non-negative integer
   */
  constructor(limits: Partial<ReplyDecoderLimits> = {}) {
    const merged: ReplyDecoderLimits = { ...defaultReplyDecoderLimits };
    for (const [name, value] of Object.entries(limits) as [keyof ReplyDecoderLimits, number | undefined][]) {
      if (value === undefined) continue;
      if (!Number.isSafeInteger(value) || value < 0) {
        throw new InvalidArgumentError(`Cannot create RESP reply decoder: limit "${name}" is ${value}, expected a non-negative integer`);
      }
      merged[name] = value;
    }
    this.limits = Object.freeze(merged);
  }

  /** Bytes received and not yet parsed (an aggregate's finished elements are not counted). */
  get bufferedBytes(): number {
    return this.#end - this.#pos + this.#partsBytes;
  }

  /**
   * Adds bytes from the server. The decoder keeps `chunk` (bulks may be views
   * of it): the caller must not modify or reuse it afterwards.
   * @throws the earlier error if the decoder has failed
   */
  feed(chunk: Buffer): void {
    if (this.#error !== undefined) throw this.#error;
    if (chunk.length === 0) return;
    if (this.#parts.length > 0) this.#collect(chunk);
    else if (this.#pos === this.#end) {
      this.#buf = chunk;
      this.#pos = 0;
      this.#end = chunk.length;
      this.#owned = false;
    } else this.#append(chunk);
  }

  /**
   * Returns the next whole reply, or undefined when more bytes are needed
   * (a null reply is `null`, never undefined).
   * @throws ProtocolError on malformed or oversized input
   * @throws the earlier error if the decoder has failed
   */
  next(): ReplyValue | undefined {
    if (this.#error !== undefined) throw this.#error;
    try {
      return this.#parse();
    } catch (error) {
      if (error instanceof ProtocolError) {
        this.#error = error;
        this.#buf = emptyBuffer;
        this.#pos = this.#end = 0;
        this.#parts = [];
        this.#partsBytes = 0;
        this.#stack = [];
      }
      throw error;
    }
  }

  // ------------------------------------------------------------ parsing

  #parse(): ReplyValue | undefined {
    // Bounded: every pass consumes a line or a bulk, or returns.
    while (true) {
      if (this.#parts.length > 0) return undefined;
      let value: ReplyValue;
      if (this.#bulkLength >= 0) {
        const body = this.#readBulkBody();
        if (body === undefined) return undefined;
        value = bulkValue(this.#bulkType, body);
        this.#bulkLength = -1;
      } else {
        const cr = this.#findLine();
        if (cr < 0) return undefined;
        const buf = this.#buf;
        const type = buf[this.#pos]!;
        const start = this.#pos + 1;
        this.#pos = cr + 2;
        const element = this.#element(type, buf, start, cr);
        if (element === undefined) continue; // a bulk header or an aggregate header
        value = element;
      }
      const done = this.#fold(value);
      if (done !== undefined) return done.value;
    }
  }

  /**
   * Handles one line. Returns the value it completes, or undefined when it
   * opened a bulk or an aggregate whose contents follow.
   */
  #element(type: number, buf: Buffer, start: number, end: number): ReplyValue | undefined {
    switch (type) {
      case RESP_TYPE.SIMPLE_STRING:
        return new SimpleReply(buf.toString('utf8', start, end));
      case RESP_TYPE.ERROR:
        return new ErrorReply(buf.toString('utf8', start, end));
      case RESP_TYPE.INTEGER:
        return parseInteger(buf.toString('latin1', start, end));
      case RESP_TYPE.BULK_STRING:
      case RESP_TYPE.VERBATIM_STRING:
      case RESP_TYPE.BLOB_ERROR: {
        const length = parseRedisInteger(buf, start, end);
        if (length === -1 && type === RESP_TYPE.BULK_STRING) return null;
        if (Number.isNaN(length) || length < 0 || length > this.limits.bulkBytesMax) throw new ProtocolError('invalid bulk length');
        this.#bulkType = type;
        this.#bulkLength = length;
        return undefined;
      }
      case RESP_TYPE.ARRAY:
      case RESP_TYPE.MAP:
      case RESP_TYPE.SET:
      case RESP_TYPE.PUSH:
      case RESP_TYPE.ATTRIBUTE: {
        const count = parseRedisInteger(buf, start, end);
        if (count === -1 && type === RESP_TYPE.ARRAY) return NullArrayReply.instance;
        if (Number.isNaN(count) || count < 0 || count > this.limits.aggregateCountMax) throw new ProtocolError('invalid multibulk length');
        if (count === 0 && type !== RESP_TYPE.ATTRIBUTE) return emptyAggregate(type);
        if (this.#stack.length >= this.limits.nestingDepthMax) throw new ProtocolError('reply nested too deep');
        const paired = type === RESP_TYPE.MAP || type === RESP_TYPE.ATTRIBUTE;
        if (count === 0) {
          this.#stack.push({ type: ATTRIBUTED, remaining: 1, items: [], attributes: [] });
          return undefined;
        }
        this.#stack.push({ type, remaining: paired ? count * 2 : count, items: [], attributes: undefined });
        return undefined;
      }
      case RESP_TYPE.NULL:
        if (end !== start) throw new ProtocolError('invalid null reply');
        return null;
      case RESP_TYPE.DOUBLE:
        return new DoubleReply(parseDouble(buf.toString('latin1', start, end)));
      case RESP_TYPE.BOOLEAN: {
        const flag = end - start === 1 ? buf[start] : undefined;
        if (flag === 116) return new BooleanReply(true); // t
        if (flag === 102) return new BooleanReply(false); // f
        throw new ProtocolError('invalid boolean reply');
      }
      case RESP_TYPE.BIG_NUMBER: {
        const text = buf.toString('latin1', start, end);
        if (!integerPattern.test(text)) throw new ProtocolError('invalid big number reply');
        return new BigNumberReply(BigInt(text));
      }
      default:
        throw new ProtocolError(`invalid reply type byte '${String.fromCharCode(type)}'`);
    }
  }

  /**
   * Adds a finished value to the aggregate on top of the stack, closing every
   * aggregate it completes. Returns the whole reply once the stack is empty.
   */
  #fold(value: ReplyValue): { value: ReplyValue } | undefined {
    let finished = value;
    // Bounded by the stack depth.
    while (true) {
      const top = this.#stack[this.#stack.length - 1];
      if (top === undefined) return { value: finished };
      top.items.push(finished);
      if (--top.remaining > 0) return undefined;
      this.#stack.pop();
      if (top.type === RESP_TYPE.ATTRIBUTE) {
        // The attribute is complete; the reply it describes comes next.
        this.#stack.push({ type: ATTRIBUTED, remaining: 1, items: [], attributes: pairs(top.items) });
        return undefined;
      }
      finished = closeAggregate(top);
    }
  }

  /** Finds the CR of the line at #pos, with its LF; -1 when incomplete. */
  #findLine(): number {
    const buf = this.#buf;
    const pos = this.#pos;
    const end = this.#end;
    if (pos >= end) return -1;
    const lineMax = this.limits.lineBytesMax;
    let cr = -1;
    for (let i = pos + 1 + this.#scanned; i < end; i++) {
      if (buf[i] === CR) {
        cr = i;
        break;
      }
    }
    if (cr < 0) {
      if (end - pos - 1 > lineMax) throw new ProtocolError('too big reply line');
      this.#scanned = end - pos - 1;
      return -1;
    }
    if (cr - pos - 1 > lineMax) throw new ProtocolError('too big reply line');
    if (cr + 1 >= end) {
      this.#scanned = cr - pos - 1;
      return -1;
    }
    if (buf[cr + 1] !== LF) throw new ProtocolError('expected CRLF at the end of a reply line');
    this.#scanned = 0;
    return cr;
  }

  /** The awaited bulk's bytes, or undefined when incomplete (collecting it if large). */
  #readBulkBody(): Buffer | undefined {
    const collected = this.#collected;
    if (collected !== undefined) {
      this.#collected = undefined;
      if (!this.#collectedCrlf) throw new ProtocolError('expected CRLF after a bulk');
      return collected;
    }
    const length = this.#bulkLength;
    const pos = this.#pos;
    const end = this.#end;
    if (end - pos < length + 2) {
      if (length >= bulkCollectBytesMin) this.#startCollecting();
      return undefined;
    }
    const buf = this.#buf;
    if (buf[pos + length] !== CR || buf[pos + length + 1] !== LF) throw new ProtocolError('expected CRLF after a bulk');
    this.#pos = pos + length + 2;
    return buf.subarray(pos, pos + length);
  }

  // ------------------------------------------------------------ buffering

  #append(chunk: Buffer): void {
    const unconsumed = this.#end - this.#pos;
    if (this.#owned && this.#buf.length - this.#end >= chunk.length) {
      chunk.copy(this.#buf, this.#end);
      this.#end += chunk.length;
      return;
    }
    const needed = unconsumed + chunk.length;
    const owned = Buffer.allocUnsafe(Math.max(ownedBufferBytesMin, needed * 2));
    this.#buf.copy(owned, 0, this.#pos, this.#end);
    chunk.copy(owned, unconsumed);
    this.#buf = owned;
    this.#pos = 0;
    this.#end = needed;
    this.#owned = true;
  }

  #startCollecting(): void {
    this.#parts.push(this.#pos < this.#end ? this.#buf.subarray(this.#pos, this.#end) : emptyBuffer);
    this.#partsBytes = this.#end - this.#pos;
    this.#buf = emptyBuffer;
    this.#pos = 0;
    this.#end = 0;
    this.#owned = false;
  }

  /** Adds a chunk to a large bulk; once whole, copies it once and resumes on the last chunk. */
  #collect(chunk: Buffer): void {
    this.#parts.push(chunk);
    this.#partsBytes += chunk.length;
    const length = this.#bulkLength;
    if (this.#partsBytes < length + 2) return;
    const parts = this.#parts;
    const body = joinPrefix(parts, length);
    this.#collectedCrlf = byteAt(parts, length) === CR && byteAt(parts, length + 1) === LF;
    this.#collected = body;
    const last = parts[parts.length - 1]!;
    const leftover = this.#partsBytes - (length + 2);
    this.#parts = [];
    this.#partsBytes = 0;
    this.#buf = last;
    this.#pos = last.length - leftover;
    this.#end = last.length;
    this.#owned = false;
  }
}

// ---------------------------------------------------------------- helpers

/** The byte at `index` of the concatenation of `parts`. */
function byteAt(parts: readonly Buffer[], index: number): number {
  let offset = index;
  for (const part of parts) {
    if (offset < part.length) return part[offset]!;
    offset -= part.length;
  }
  return -1;
}

function bulkValue(type: number, body: Buffer): ReplyValue {
  if (type === RESP_TYPE.BULK_STRING) return body;
  if (type === RESP_TYPE.BLOB_ERROR) return new ErrorReply(body.toString('utf8'));
  if (body.length < 4 || body[3] !== COLON) throw new ProtocolError('invalid verbatim string reply');
  return new VerbatimReply(body.toString('latin1', 0, 3), body.toString('utf8', 4));
}

function emptyAggregate(type: number): ReplyValue {
  if (type === RESP_TYPE.MAP) return new DecodedMap([]);
  if (type === RESP_TYPE.SET) return new DecodedSet([]);
  if (type === RESP_TYPE.PUSH) return new DecodedPush([]);
  return [];
}

function closeAggregate(frame: Frame): ReplyValue {
  switch (frame.type) {
    case RESP_TYPE.MAP:
      return new DecodedMap(pairs(frame.items));
    case RESP_TYPE.SET:
      return new DecodedSet(frame.items);
    case RESP_TYPE.PUSH:
      return new DecodedPush(frame.items);
    case ATTRIBUTED:
      return new AttributedReply(frame.attributes ?? [], frame.items[0]!);
    default:
      return frame.items;
  }
}

function pairs(items: ReplyValue[]): [key: ReplyValue, value: ReplyValue][] {
  const entries: [ReplyValue, ReplyValue][] = [];
  for (let i = 0; i + 1 < items.length; i += 2) entries.push([items[i]!, items[i + 1]!]);
  return entries;
}

function parseInteger(text: string): number | bigint {
  if (!integerPattern.test(text)) throw new ProtocolError('invalid integer reply');
  const value = Number(text);
  if (Number.isSafeInteger(value)) return value;
  const exact = BigInt(text);
  if (exact > 0x7fff_ffff_ffff_ffffn || exact < -0x8000_0000_0000_0000n) throw new ProtocolError('invalid integer reply');
  return exact;
}

function parseDouble(text: string): number {
  switch (text) {
    case 'inf':
    case '+inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
      return Number.NaN;
  }
  if (!doublePattern.test(text)) throw new ProtocolError('invalid double reply');
  return Number(text);
}

/**
 * The first `length` bytes of `parts` (which hold at least that many) as one
 * Buffer: a view of the first part when it holds them all, else one copy.
 */
function joinPrefix(parts: readonly Buffer[], length: number): Buffer {
  const first = parts[0]!;
  if (first.length >= length) return first.subarray(0, length);
  const joined = Buffer.allocUnsafe(length);
  let written = 0;
  for (const part of parts) {
    const take = Math.min(part.length, length - written);
    part.copy(joined, written, 0, take);
    written += take;
    if (written === length) break;
  }
  return joined;
}
