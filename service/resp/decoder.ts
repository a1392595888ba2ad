// RESP request decoder for a server connection: bytes from a client in,
// one command's arguments at a time out, with Redis's rules and Redis's
// error wording (redis/redis src/networking.c, processInlineBuffer and
// processMultibulkBuffer; tests/unit/protocol.tcl).
//
//   const decoder = new RespDecoder({}, { authenticated: !requirePass });
//   socket.on('data', (chunk) => {
//     decoder.feed(chunk);                        // may throw QueryBufferLimitError
//     for (let args; (args = decoder.next()); ) run(args);  // may throw ProtocolError or QueryBufferLimitError
//   });
//
// Request forms, as Redis reads them:
// - Multibulk: `*N\r\n` then N times `$len\r\n<len bytes>\r\n`. N <= 0 (`*0`,
//   `*-1`, `*-10`) is skipped without a reply. Binary safe.
// - Inline: any line not starting with `*`, ended by `\n` (a `\r` before it is
//   dropped), split as sdssplitargs splits: blanks separate arguments;
//   "double quotes" take \n \r \t \b \a \\ \" and \xHH escapes; 'single
//   quotes' take \'; a closing quote must be followed by a blank or the end of
//   the line. A line of blanks, or an empty line, is skipped.
// - Pipelining of any depth: feed() as much as arrives, next() until undefined.
//
// Where Redis's behaviour is surprising, the decoder keeps it, so a client
// that works against Redis works here:
// - NB: the two bytes after a bulk's payload, and the byte after the `\r` of a
//   `*N` or `$len` line, are skipped without checking that they are `\r\n`.
// - Numbers are parsed as Redis's string2ll parses them: no sign but `-`, no
//   leading zeros, no blanks, at most 20 characters, within a signed 64-bit
//   integer; anything else is an invalid length.
// - A quote may open in the middle of an unquoted inline word: ab"c d" is the
//   single argument `abc d`.
// Where silt differs from Redis, deliberately:
// - Redis finds an inline line's end with strchr, so a NUL byte before the
//   `\n` stalls the request until it is too big; silt treats NUL as an
//   ordinary byte, in the line and in its arguments.
// - Redis checks the 64 KiB inline and header line limits only while the line
//   is still incomplete, so whether a longer line passes depends on how reads
//   split it; silt applies the limit to the line itself, whatever the split.
// - Redis 6.0+ accepts a `*N` count up to INT_MAX; silt's default limit is
//   1,048,576 (multibulkCountMax, what Redis enforced before 6.0).
// - Redis counts only the unparsed bytes towards client-query-buffer-limit;
//   silt also counts the arguments already parsed for the command being
//   assembled, so one command can never hold more than the limit.
//
// Limits (lib/limits.ts, "RESP protocol"; each overridable per decoder): a
// length is checked before anything is allocated for it, and no array is ever
// sized from a count the peer declared. Before the client authenticates, a
// request may hold at most 10 arguments of 16 KiB and the query buffer 1 MiB,
// as in Redis; the connection sets `authenticated` once AUTH succeeds (or at
// once when no password is configured).
//
// Errors: malformed input makes next() throw a ProtocolError whose message is
// Redis's exact text ("Protocol error: invalid bulk length"); the connection
// replies `-ERR <message>` and closes, as Redis does. A query buffer over its
// limit makes feed() throw a QueryBufferLimitError; Redis closes such a client
// without a reply, and so should the connection. next() throws one too when a
// large bulk's buffer cannot be allocated. After either, the decoder is
// failed: every later feed() and next() throws the same error object.
//
// Buffers and ownership: an argument that lies within one fed chunk is a
// subarray view of that chunk, not a copy. It stays valid as long as the
// caller keeps it because the decoder never writes into a fed chunk, and the
// caller must not reuse or modify a chunk after feeding it (net.Socket gives a
// fresh Buffer for every 'data' event; do not use its `onread` buffer reuse).
// NB: a view keeps its whole chunk (up to 64 KiB) alive, so a handler that
// keeps an argument past the command (a memtable key or value) copies it, as
// command.ts requires. Bytes that straddle chunks are appended to a buffer the
// decoder owns; it only ever appends to it, so views into it stay valid too.
// A bulk of 32 KiB or more that is still incomplete is not appended: it gets
// a buffer of exactly its length (with headroom, lib/format/headroom.ts), and
// each chunk that carries it is copied there as it arrives. One copy, no
// doubling, and spread over the reads: a 500 MB SET is not copied whole in
// one turn of the event loop when its last byte comes, and the chunks are
// garbage at once instead of being held until then (twice the value's
// memory). As in Redis (PROTO_MBULK_BIG_ARG), the buffer is sized from the
// declared length, which only an authenticated client can make larger than
// 16 KiB; the pages of an untouched allocation cost address space, not memory,
// and the query buffer limit counts the bytes received.

import { InvalidArgumentError, LimitExceededError } from '../../lib/errors.js';
import { allocWithHeadroom } from '../../lib/format/headroom.js';
import {
  inlineRequestBytesMax,
  multibulkCountMax,
  protoMaxBulkBytes,
  queryBufferBytesMax,
  unauthenticatedBulkBytesMax,
  unauthenticatedMultibulkCountMax,
  unauthenticatedQueryBufferBytesMax,
} from '../../lib/limits.js';

// ---------------------------------------------------------------- constants

/** Bytes the decoder looks for, every value written out. */
const BYTE = {
  TAB: 9,
  LF: 10,
  VT: 11,
  FF: 12,
  CR: 13,
  SPACE: 32,
  DOUBLE_QUOTE: 34,
  DOLLAR: 36,
  SINGLE_QUOTE: 39,
  STAR: 42,
  MINUS: 45,
  ZERO: 48,
  ONE: 49,
  NINE: 57,
  BACKSLASH: 92,
  LOWER_A: 97,
  LOWER_B: 98,
  LOWER_N: 110,
  LOWER_R: 114,
  LOWER_T: 116,
  LOWER_X: 120,
} as const;

/** An incomplete bulk at least this long is copied into a buffer of its own
 *  as it arrives, instead of being appended to the owned buffer. Redis's
 *  PROTO_MBULK_BIG_ARG (32 KiB) marks the same turn in its reader. */
const bulkCollectBytesMin = 32 * 1024;

/** Smallest owned buffer allocated for bytes that straddle chunks. */
const ownedBufferBytesMin = 16 * 1024;

/** Redis's LONG_STR_SIZE: string2ll refuses a number of this many characters or more. */
const integerCharsMax = 20;

const emptyBuffer = Buffer.alloc(0);

// ---------------------------------------------------------------- types

/** Bounds a RespDecoder enforces; each defaults to lib/limits.ts. */
/** INT_MAX: Redis's bound on a multibulk count. */
const int32Max = 2 ** 31 - 1;

export interface DecoderLimits {
  /** Largest bulk argument, bytes (proto-max-bulk-len). */
  bulkBytesMax: number;
  /** Largest `*N` count, elements. */
  multibulkCountMax: number;
  /** Longest inline request line, and longest `*N` / `$len` line, bytes. */
  inlineBytesMax: number;
  /** Most bytes buffered and not yet returned as a complete command, bytes (client-query-buffer-limit). */
  queryBufferBytesMax: number;
  /** Largest `*N` count before authentication, elements. */
  unauthenticatedMultibulkCountMax: number;
  /** Largest bulk argument before authentication, bytes. */
  unauthenticatedBulkBytesMax: number;
  /** Query buffer bound before authentication, bytes. */
  unauthenticatedQueryBufferBytesMax: number;
}

/** The defaults, from lib/limits.ts. */
export const defaultDecoderLimits: Readonly<DecoderLimits> = Object.freeze({
  bulkBytesMax: protoMaxBulkBytes,
  multibulkCountMax,
  inlineBytesMax: inlineRequestBytesMax,
  queryBufferBytesMax,
  unauthenticatedMultibulkCountMax,
  unauthenticatedBulkBytesMax,
  unauthenticatedQueryBufferBytesMax,
});

export interface DecoderOptions {
  /** Whether the client starts authenticated (no password configured). Default false: the unauthenticated limits apply. */
  authenticated?: boolean;
}

/**
 * Malformed request bytes. `message` is Redis's exact text ("Protocol error:
 * invalid bulk length"); the connection replies `-ERR <message>` and closes.
 * Code INVALID_ARGUMENT, whose RESP mapping is that reply (docs/errors.md).
 */
export class ProtocolError extends InvalidArgumentError {
  constructor(what: string) {
    super(`Protocol error: ${what}`);
  }

  /** The error reply text, without the leading `-`: `ERR Protocol error: ...`. */
  get replyText(): string {
    return `ERR ${this.message}`;
  }
}

/**
 * The client's buffered, unexecuted bytes passed the query buffer limit.
 * Redis closes such a client without a reply (client-query-buffer-limit).
 */
export class QueryBufferLimitError extends LimitExceededError {
  constructor(
    /** Bytes that would be buffered with the refused chunk. */
    readonly bufferedBytes: number,
    /** The limit in force (the unauthenticated one before AUTH); what was buffered when `reason` is given. */
    readonly limitBytes: number,
    /** Why, when it is not the limit (a large bulk's buffer could not be allocated). */
    reason?: string,
  ) {
    super(`Cannot buffer client query of ${bufferedBytes} bytes: ${reason ?? `the limit is ${limitBytes}`}`);
  }
}

/** `base` with `changes` applied, each checked to be a non-negative integer. */
function mergeLimits(base: Readonly<DecoderLimits>, changes: Partial<DecoderLimits>, action: string): Readonly<DecoderLimits> {
  const merged: DecoderLimits = { ...base };
  for (const [name, value] of Object.entries(changes) as [keyof DecoderLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`Cannot ${action}: limit "${name}" is ${value}, expected a non-negative integer`);
    merged[name] = value;
  }
  return Object.freeze(merged);
}

// ---------------------------------------------------------------- decoder

/** Incremental RESP request decoder; see the module header for the rules. */
export class RespDecoder {
  /** The limits in force (setLimits() replaces them). */
  limits: Readonly<DecoderLimits>;

  /** Current input: a fed chunk (borrowed) or a buffer this decoder owns. */
  #buf: Buffer = emptyBuffer;
  /** Next unparsed byte in #buf. */
  #pos = 0;
  /** End of the data in #buf (#buf.length when borrowed; the fill mark when owned). */
  #end = 0;
  /** Whether #buf is ours, so bytes may be appended after #end. */
  #owned = false;
  /** Bytes after #pos already known not to hold the line terminator being looked for. */
  #scanned = 0;

  /** Arguments of the multibulk command being assembled. */
  #args: Buffer[] = [];
  /** Bulks still expected by that command; 0 when none is in progress. */
  #argsRemaining = 0;
  /** Length of the bulk whose `$len` line was read, or -1. */
  #bulkLength = -1;
  /** Bytes already consumed by the command being assembled. */
  #commandBytes = 0;

  /** The large bulk being received (its final buffer), or undefined. */
  #bulk: Buffer | undefined = undefined;
  /** Bytes of #bulk received, and of the two bytes after it (0 to 2). */
  #bulkFilled = 0;
  #bulkTrailer = 0;

  #authenticated: boolean;
  #error: Error | undefined = undefined;
  #copiedBytes = 0;

  /**
   * @param limits overrides of defaultDecoderLimits (tests use small ones)
   * @param options whether the client starts authenticated
   * @throws InvalidArgumentError when a limit is not a non-negative integer
   */
  constructor(limits: Partial<DecoderLimits> = {}, options: DecoderOptions = {}) {
    this.limits = mergeLimits(defaultDecoderLimits, limits, 'create RESP decoder');
    this.#authenticated = options.authenticated ?? false;
  }

  /**
   * Changes some limits from the next line or bulk on (CONFIG SET
   * proto-max-bulk-len and client-query-buffer-limit apply to connected
   * clients, as in Redis); a bulk whose length was already accepted is
   * read whole.
   * @throws InvalidArgumentError when a limit is not a non-negative integer
   */
  setLimits(limits: Partial<DecoderLimits>): void {
    this.limits = mergeLimits(this.limits, limits, 'change RESP decoder limits');
  }

  /** Whether the client has authenticated; true lifts the unauthenticated limits. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  set authenticated(value: boolean) {
    this.#authenticated = value;
  }

  /** Bytes held for commands not yet returned (unparsed input plus the command being assembled). */
  get bufferedBytes(): number {
    return this.#end - this.#pos + this.#bulkFilled + this.#bulkTrailer + this.#commandBytes;
  }

  /** Bytes copied so far (straddling bytes and collected bulks); for tests and metrics. */
  get copiedBytes(): number {
    return this.#copiedBytes;
  }

  /**
   * Adds bytes from the client. The decoder keeps `chunk` (arguments may be
   * views of it): the caller must not modify or reuse it afterwards.
   * @throws QueryBufferLimitError when the buffered bytes would pass the limit
   *   (close the connection without a reply)
   * @throws the earlier error if the decoder has failed
   */
  feed(chunk: Buffer): void {
    if (this.#error !== undefined) throw this.#error;
    if (chunk.length === 0) return;
    const buffered = this.bufferedBytes + chunk.length;
    const limit = this.#authenticated
      ? this.limits.queryBufferBytesMax
      : Math.min(this.limits.queryBufferBytesMax, this.limits.unauthenticatedQueryBufferBytesMax);
    if (buffered > limit) throw this.#fail(new QueryBufferLimitError(buffered, limit));

    if (this.#bulk !== undefined) {
      this.#collect(chunk);
    } else if (this.#pos === this.#end) {
      this.#buf = chunk;
      this.#pos = 0;
      this.#end = chunk.length;
      this.#owned = false;
    } else {
      this.#append(chunk);
    }
  }

  /**
   * Returns the next complete command's arguments (`args[0]` is the command
   * name as sent), or undefined when more bytes are needed. Empty commands
   * (`*0`, `*-1`, an empty inline line) are skipped.
   * @throws ProtocolError on malformed input (reply `-ERR <message>`, then close)
   * @throws the earlier error if the decoder has failed
   */
  next(): Buffer[] | undefined {
    if (this.#error !== undefined) throw this.#error;
    try {
      return this.#parse();
    } catch (error) {
      if (error instanceof ProtocolError) throw this.#fail(error);
      throw error;
    }
  }

  // ------------------------------------------------------------ parsing

  #parse(): Buffer[] | undefined {
    // A large bulk is still being received: nothing to parse until it is whole.
    if (this.#bulk !== undefined) return undefined;
    // Bounded: every pass either returns or consumes at least one byte.
    while (true) {
      if (this.#argsRemaining > 0) return this.#parseBulks();
      if (this.#args.length > 0) return this.#completeCommand(); // its last bulk was collected
      if (this.#pos >= this.#end) return undefined;
      if (this.#buf[this.#pos] === BYTE.STAR) {
        const count = this.#parseMultibulkCount();
        if (count === undefined) return undefined;
        if (count <= 0) continue;
        this.#argsRemaining = count;
        this.#args = [];
        continue;
      }
      const args = this.#parseInline();
      if (args === undefined) return undefined;
      if (args.length > 0) return args;
    }
  }

  /** Reads a `*N` line; undefined when incomplete. Consumes it when complete. */
  #parseMultibulkCount(): number | undefined {
    const buf = this.#buf;
    const pos = this.#pos;
    const end = this.#end;
    const inlineMax = this.limits.inlineBytesMax;
    const cr = findByte(buf, pos + 1 + this.#scanned, end, BYTE.CR);
    if (cr < 0 || cr - pos > inlineMax) {
      if (cr >= 0 || end - pos > inlineMax) throw new ProtocolError('too big mbulk count string');
      this.#scanned = end - pos - 1;
      return undefined;
    }
    if (cr + 1 >= end) {
      this.#scanned = cr - pos - 1;
      return undefined;
    }
    this.#scanned = 0;
    const count = parseRedisInteger(buf, pos + 1, cr);
    // Redis's order: past INT_MAX is invalid; then the unauthenticated limit; then ours (below INT_MAX).
    if (Number.isNaN(count) || count > int32Max) throw new ProtocolError('invalid multibulk length');
    if (!this.#authenticated && count > this.limits.unauthenticatedMultibulkCountMax) throw new ProtocolError('unauthenticated multibulk length');
    if (count > this.limits.multibulkCountMax) throw new ProtocolError('invalid multibulk length');
    this.#pos = cr + 2;
    this.#commandBytes = count > 0 ? cr + 2 - pos : 0;
    return count;
  }

  /** Reads bulks of the command in progress; returns its arguments once all are in. */
  #parseBulks(): Buffer[] | undefined {
    const buf = this.#buf;
    const end = this.#end;
    const start = this.#pos;
    let pos = start;
    while (this.#argsRemaining > 0) {
      let length = this.#bulkLength;
      if (length < 0) {
        const lineEnd = this.#findBulkLine(pos);
        if (lineEnd < 0) break;
        length = this.#bulkLengthOf(pos, lineEnd);
        this.#bulkLength = length;
        pos = lineEnd + 2;
      }
      if (end - pos < length + 2) {
        if (length >= bulkCollectBytesMin) {
          this.#commandBytes += pos - start;
          this.#startCollecting(pos);
          return undefined;
        }
        break;
      }
      this.#args.push(buf.subarray(pos, pos + length));
      pos += length + 2; // NB: Redis does not check that these two bytes are \r\n
      this.#bulkLength = -1;
      this.#argsRemaining--;
    }
    this.#pos = pos;
    if (this.#argsRemaining > 0) {
      this.#commandBytes += pos - start;
      return undefined;
    }
    return this.#completeCommand();
  }

  #completeCommand(): Buffer[] {
    const args = this.#args;
    this.#args = [];
    this.#commandBytes = 0;
    return args;
  }

  /** Finds the `\r` ending the `$len` line at `pos`, with one byte after it; -1 when incomplete. */
  #findBulkLine(pos: number): number {
    const end = this.#end;
    const inlineMax = this.limits.inlineBytesMax;
    const cr = findByte(this.#buf, pos + this.#scanned, end, BYTE.CR);
    if (cr < 0 || cr - pos > inlineMax) {
      if (cr >= 0 || end - pos > inlineMax) throw new ProtocolError('too big bulk count string');
      this.#scanned = end - pos;
      return -1;
    }
    if (cr + 1 >= end) {
      this.#scanned = cr - pos;
      return -1;
    }
    this.#scanned = 0;
    return cr;
  }

  /** Validates the `$len` line from `pos` to `cr` and returns the length. */
  #bulkLengthOf(pos: number, cr: number): number {
    const buf = this.#buf;
    const first = buf[pos]!;
    if (first !== BYTE.DOLLAR) throw new ProtocolError(`expected '$', got '${String.fromCharCode(first)}'`);
    const length = parseRedisInteger(buf, pos + 1, cr);
    if (Number.isNaN(length) || length < 0 || length > this.limits.bulkBytesMax) throw new ProtocolError('invalid bulk length');
    if (!this.#authenticated && length > this.limits.unauthenticatedBulkBytesMax) throw new ProtocolError('unauthenticated bulk length');
    return length;
  }

  /** Reads one inline line; undefined when incomplete, [] for a blank line. */
  #parseInline(): Buffer[] | undefined {
    const buf = this.#buf;
    const pos = this.#pos;
    const end = this.#end;
    const inlineMax = this.limits.inlineBytesMax;
    const lf = findByte(buf, pos + this.#scanned, end, BYTE.LF);
    if (lf < 0) {
      const lineBytes = end - pos - (buf[end - 1] === BYTE.CR ? 1 : 0);
      if (lineBytes > inlineMax) throw new ProtocolError('too big inline request');
      this.#scanned = end - pos;
      return undefined;
    }
    this.#scanned = 0;
    const lineEnd = lf > pos && buf[lf - 1] === BYTE.CR ? lf - 1 : lf;
    if (lineEnd - pos > inlineMax) throw new ProtocolError('too big inline request');
    const args = splitInlineArgs(buf, pos, lineEnd);
    this.#pos = lf + 1;
    return args;
  }

  // ------------------------------------------------------------ buffering

  /** Appends `chunk` after the unconsumed bytes, in an owned buffer. */
  #append(chunk: Buffer): void {
    const unconsumed = this.#end - this.#pos;
    if (this.#owned && this.#buf.length - this.#end >= chunk.length) {
      chunk.copy(this.#buf, this.#end);
      this.#end += chunk.length;
      this.#copiedBytes += chunk.length;
      return;
    }
    const needed = unconsumed + chunk.length;
    const capacity = Math.max(ownedBufferBytesMin, Math.min(needed * 2, Math.max(needed, this.limits.queryBufferBytesMax)));
    const owned = Buffer.allocUnsafe(capacity);
    this.#buf.copy(owned, 0, this.#pos, this.#end);
    chunk.copy(owned, unconsumed);
    this.#copiedBytes += needed;
    // Bytes before #pos stay where they were: views handed out keep the old buffer.
    this.#buf = owned;
    this.#pos = 0;
    this.#end = needed;
    this.#owned = true;
  }

  /**
   * Gives the large bulk whose first bytes are #buf[pos, #end) its buffer,
   * copies them there, and lets go of #buf.
   * @throws QueryBufferLimitError when the buffer cannot be allocated
   */
  #startCollecting(pos: number): void {
    const length = this.#bulkLength;
    this.#pos = pos; // the bytes before it are counted in #commandBytes already
    let bulk: Buffer;
    try {
      // With room for a record header in front: SET stores it without another copy (lib/format/headroom.ts).
      bulk = allocWithHeadroom(length);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      throw this.#fail(new QueryBufferLimitError(this.bufferedBytes + length, this.bufferedBytes, 'no memory for the bulk'));
    }
    this.#bulk = bulk;
    this.#bulkFilled = 0;
    this.#bulkTrailer = 0;
    const tail = this.#buf.subarray(pos, this.#end);
    this.#buf = emptyBuffer;
    this.#pos = 0;
    this.#end = 0;
    this.#owned = false;
    // Incomplete, or collecting would not have started.
    this.#collect(tail);
  }

  /** Copies what `chunk` holds of the large bulk; once it is whole, resumes parsing at the bytes after it. */
  #collect(chunk: Buffer): void {
    const bulk = this.#bulk!;
    const take = Math.min(bulk.length - this.#bulkFilled, chunk.length);
    chunk.copy(bulk, this.#bulkFilled, 0, take);
    this.#bulkFilled += take;
    this.#copiedBytes += take;
    const skip = Math.min(2 - this.#bulkTrailer, chunk.length - take); // NB: Redis does not check that these two bytes are \r\n
    this.#bulkTrailer += skip;
    if (this.#bulkTrailer < 2) return;

    this.#bulk = undefined;
    this.#bulkFilled = 0;
    this.#bulkTrailer = 0;
    this.#buf = chunk;
    this.#pos = take + skip;
    this.#end = chunk.length;
    this.#owned = false;
    this.#args.push(bulk);
    this.#argsRemaining--;
    this.#bulkLength = -1;
    this.#commandBytes += bulk.length + 2;
  }

  /** Bytes of the large bulk being received so far (for tests). */
  get bulkBytesReceived(): number {
    return this.#bulkFilled;
  }

  #fail(error: Error): Error {
    this.#error = error;
    this.#buf = emptyBuffer;
    this.#pos = 0;
    this.#end = 0;
    this.#bulk = undefined;
    this.#bulkFilled = 0;
    this.#bulkTrailer = 0;
    this.#args = [];
    this.#commandBytes = 0;
    return error;
  }
}

// ---------------------------------------------------------------- helpers

/** Index of `byte` in buf[from, end), or -1. A loop: header lines are a few bytes. */
function findByte(buf: Buffer, from: number, end: number, byte: number): number {
  for (let i = from; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

/**
 * Parses buf[start, end) as Redis's string2ll does: optional `-`, no leading
 * zeros, digits only, at most 20 characters, within a signed 64-bit integer. Returns NaN when string2ll would refuse it. Values beyond 2^53 come
 * back approximate (they only ever meet limits far below).
 */
export function parseRedisInteger(buf: Buffer, start: number, end: number): number {
  const chars = end - start;
  if (chars === 0 || chars > integerCharsMax) return Number.NaN;
  if (chars === 1 && buf[start] === BYTE.ZERO) return 0;
  let i = start;
  const negative = buf[i] === BYTE.MINUS;
  if (negative) i++;
  const first = i < end ? buf[i]! : -1;
  if (first < BYTE.ONE || first > BYTE.NINE) return Number.NaN;
  let value = first - BYTE.ZERO;
  for (i++; i < end; i++) {
    const digit = buf[i]! - BYTE.ZERO;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  if (value > Number.MAX_SAFE_INTEGER) {
    // Rare: decide the signed 64-bit range exactly.
    const exact = BigInt(buf.toString('latin1', start, end));
    if (exact > 0x7fff_ffff_ffff_ffffn || exact < -0x8000_0000_0000_0000n) return Number.NaN;
  }
  return negative ? -value : value;
}

/** isspace() in the C locale, which sdssplitargs uses between arguments. */
function isBlank(byte: number): boolean {
  return byte === BYTE.SPACE || (byte >= BYTE.TAB && byte <= BYTE.CR);
}

function hexValue(byte: number): number {
  if (byte >= BYTE.ZERO && byte <= BYTE.NINE) return byte - BYTE.ZERO;
  const lower = byte | 0x20;
  if (lower >= BYTE.LOWER_A && lower <= 102) return lower - BYTE.LOWER_A + 10;
  return -1;
}

/**
 * Splits an inline line as Redis's sdssplitargs does (see the module header).
 * Returns [] for a blank line. Arguments are views of one fresh buffer.
 * @throws ProtocolError "unbalanced quotes in request"
 */
export function splitInlineArgs(line: Buffer, start: number, end: number): Buffer[] {
  const args: Buffer[] = [];
  // Output is never longer than input; one buffer holds every argument.
  const out = Buffer.allocUnsafe(end - start);
  let w = 0;
  /** The byte at `index`, or -1 past the end of the line (C's terminating NUL). */
  const at = (index: number): number => (index < end ? line[index]! : -1);
  let i = start;
  // Bounded: every inner step advances i, and each argument consumes at least one byte.
  while (true) {
    while (i < end && isBlank(line[i]!)) i++;
    if (i >= end) return args;
    const argStart = w;
    let inDouble = false;
    let inSingle = false;
    let done = false;
    while (!done) {
      const c = at(i);
      if (inDouble) {
        if (c === BYTE.BACKSLASH && at(i + 1) === BYTE.LOWER_X && hexValue(at(i + 2)) >= 0 && hexValue(at(i + 3)) >= 0) {
          out[w++] = hexValue(at(i + 2)) * 16 + hexValue(at(i + 3));
          i += 3;
        } else if (c === BYTE.BACKSLASH && at(i + 1) !== -1) {
          i++;
          out[w++] = unescape(at(i));
        } else if (c === BYTE.DOUBLE_QUOTE) {
          const after = at(i + 1);
          if (after !== -1 && !isBlank(after)) throw new ProtocolError('unbalanced quotes in request');
          done = true;
        } else if (c === -1) {
          throw new ProtocolError('unbalanced quotes in request');
        } else {
          out[w++] = c;
        }
      } else if (inSingle) {
        if (c === BYTE.BACKSLASH && at(i + 1) === BYTE.SINGLE_QUOTE) {
          i++;
          out[w++] = BYTE.SINGLE_QUOTE;
        } else if (c === BYTE.SINGLE_QUOTE) {
          const after = at(i + 1);
          if (after !== -1 && !isBlank(after)) throw new ProtocolError('unbalanced quotes in request');
          done = true;
        } else if (c === -1) {
          throw new ProtocolError('unbalanced quotes in request');
        } else {
          out[w++] = c;
        }
      } else if (c === BYTE.SPACE || c === BYTE.LF || c === BYTE.CR || c === BYTE.TAB || c === -1) {
        // NB: only these end an unquoted argument; \v and \f are kept inside it, as in Redis.
        done = true;
      } else if (c === BYTE.DOUBLE_QUOTE) {
        inDouble = true;
      } else if (c === BYTE.SINGLE_QUOTE) {
        inSingle = true;
      } else {
        out[w++] = c;
      }
      if (c !== -1) i++;
    }
    args.push(out.subarray(argStart, w));
  }
}

/** The byte a backslash escape inside double quotes stands for. */
function unescape(byte: number): number {
  switch (byte) {
    case BYTE.LOWER_N:
      return BYTE.LF;
    case BYTE.LOWER_R:
      return BYTE.CR;
    case BYTE.LOWER_T:
      return BYTE.TAB;
    case BYTE.LOWER_B:
      return 8;
    case BYTE.LOWER_A:
      return 7;
    default:
      return byte;
  }
}
