// A RESP server that does no work: the ceiling of any Node server on this
// machine, against which `npm run bench:resp` (tools/bench/resp.ts) sets
// silt's and Redis's numbers (docs/bench.md, "RESP server").
//
// It parses every request with a tight hand-written multibulk parser (not
// service/resp/decoder.ts: the point is the floor cost of Node's sockets and
// event loop, not of silt's decoder) and answers each command with a fixed
// reply of the shape redis-benchmark expects, storing nothing:
//   SET MSET and anything unknown      +OK
//   GET RPOP LPOP SPOP                 a 100-byte bulk string
//   INCR LPUSH RPUSH SADD HSET ZADD    :1
//   LRANGE key start stop              an array of stop-start+1 100-byte bulks
//   PING                               +PONG
//   CONFIG GET save / appendonly       the pair, as Redis answers it ("" / "yes");
//                                      any other parameter an empty array
// Replies of one socket read are written with one socket.write, as a server
// answering a pipeline would. A connection whose replies are not being read
// stops being read from. Inline commands (`PING\r\n`) are accepted too.
//
// It prints `listening <port>` on stdout once it listens, so a parent can
// pass --port 0.
//
// Run: node dist/tools/bench/null-resp-server.js [--port 6379] [--bind 127.0.0.1]

import net from 'node:net';

const valueBytes = 100;
/** Largest LRANGE reply precomputed and cached, elements; larger ones are built per request. */
const rangeCacheMax = 10_000;
/** Largest request kept unparsed before the connection is closed (a runaway client). */
const pendingBytesMax = 64 * 1024 * 1024;

const CR = 13;
const ASTERISK = 42;
const DOLLAR = 36;

const value = Buffer.alloc(valueBytes, 'x');
const bulkValue = Buffer.concat([Buffer.from(`$${valueBytes}\r\n`), value, Buffer.from('\r\n')]);
const replies = {
  ok: Buffer.from('+OK\r\n'),
  pong: Buffer.from('+PONG\r\n'),
  one: Buffer.from(':1\r\n'),
  emptyArray: Buffer.from('*0\r\n'),
  configSave: Buffer.from('*2\r\n$4\r\nsave\r\n$0\r\n\r\n'),
  configAppendonly: Buffer.from('*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n'),
  protocolError: Buffer.from('-ERR Protocol error: invalid multibulk length\r\n'),
} as const;
const rangeReplies = new Map<number, Buffer>();

/** One parsed request: the arguments as [start, end) offsets into `buffer`. */
interface Request {
  buffer: Buffer;
  starts: number[];
  ends: number[];
}

/** Why parsing stopped: a whole request, not enough bytes yet, or bad input. */
type ParseStatus = 'request' | 'incomplete' | 'error';

// ---------------------------------------------------------------- server

function main(argv: readonly string[]): void {
  let port = 6379;
  let bind = '127.0.0.1';
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index];
    const next = argv[++index];
    if (next === undefined) throw new Error(`Cannot parse arguments: ${flag} needs a value`);
    if (flag === '--port') port = Number(next);
    else if (flag === '--bind') bind = next;
    else throw new Error(`Cannot parse arguments: unknown flag "${flag}"`);
  }
  const server = net.createServer({ noDelay: true }, serve);
  server.listen(port, bind, () => {
    const address = server.address() as net.AddressInfo;
    process.stdout.write(`listening ${address.port}\n`);
  });
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function serve(socket: net.Socket): void {
  let pending: Buffer | undefined;
  const request: Request = { buffer: Buffer.alloc(0), starts: [], ends: [] };
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    const buffer = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < buffer.length) {
      const [status, next] = parseRequest(buffer, offset, request);
      if (status === 'incomplete') break;
      if (status === 'error') {
        socket.end(replies.protocolError);
        return;
      }
      offset = next;
      if (request.starts.length > 0) out.push(reply(request));
    }
    pending = offset < buffer.length ? buffer.subarray(offset) : undefined;
    if (pending !== undefined && pending.length > pendingBytesMax) socket.destroy();
    if (out.length === 0) return;
    const flowing = socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    if (!flowing) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
}

// ---------------------------------------------------------------- parsing

/**
 * Parses one request starting at `offset` into `request` (whose argument
 * offsets point into `buffer`; an empty request is a blank inline line or
 * `*0`). Returns the status and, for 'request', the offset after it.
 */
function parseRequest(buffer: Buffer, offset: number, request: Request): [status: ParseStatus, next: number] {
  request.buffer = buffer;
  request.starts.length = 0;
  request.ends.length = 0;
  if (buffer[offset] !== ASTERISK) return parseInline(buffer, offset, request);
  const [count, afterCount] = parseNumber(buffer, offset + 1);
  if (afterCount < 0) return ['incomplete', offset];
  if (Number.isNaN(count)) return ['error', offset];
  let position = afterCount;
  for (let index = 0; index < count; index++) {
    if (position >= buffer.length) return ['incomplete', offset];
    if (buffer[position] !== DOLLAR) return ['error', offset];
    const [length, afterLength] = parseNumber(buffer, position + 1);
    if (afterLength < 0) return ['incomplete', offset];
    if (Number.isNaN(length) || length < 0) return ['error', offset];
    if (afterLength + length + 2 > buffer.length) return ['incomplete', offset];
    request.starts.push(afterLength);
    request.ends.push(afterLength + length);
    position = afterLength + length + 2;
  }
  return ['request', position];
}

/** Reads a decimal integer ended by \r\n at `offset`: [value, offset after \r\n], or [_, -1] when incomplete. */
function parseNumber(buffer: Buffer, offset: number): [value: number, next: number] {
  let value = 0;
  let negative = false;
  let position = offset;
  if (buffer[position] === 45) {
    negative = true;
    position++;
  }
  for (; position < buffer.length; position++) {
    const byte = buffer[position]!;
    if (byte === CR) {
      if (position + 1 >= buffer.length) return [0, -1];
      return [negative ? -value : value, position + 2];
    }
    if (byte < 48 || byte > 57) return [Number.NaN, position];
    value = value * 10 + (byte - 48);
  }
  return [0, -1];
}

function parseInline(buffer: Buffer, offset: number, request: Request): [status: ParseStatus, next: number] {
  const end = buffer.indexOf(10, offset);
  if (end < 0) return ['incomplete', offset];
  const lineEnd = end > offset && buffer[end - 1] === CR ? end - 1 : end;
  let start = -1;
  for (let position = offset; position <= lineEnd; position++) {
    const blank = position === lineEnd || buffer[position] === 32 || buffer[position] === 9;
    if (!blank && start < 0) start = position;
    if (blank && start >= 0) {
      request.starts.push(start);
      request.ends.push(position);
      start = -1;
    }
  }
  return ['request', end + 1];
}

// ---------------------------------------------------------------- replies

function argument(request: Request, index: number): string {
  const start = request.starts[index];
  if (start === undefined) return '';
  return request.buffer.toString('latin1', start, request.ends[index]!).toLowerCase();
}

function reply(request: Request): Buffer {
  switch (argument(request, 0)) {
    case 'get':
    case 'rpop':
    case 'lpop':
    case 'spop':
      return bulkValue;
    case 'incr':
    case 'lpush':
    case 'rpush':
    case 'sadd':
    case 'hset':
    case 'zadd':
      return replies.one;
    case 'lrange':
      return rangeReply(Number(argument(request, 2)), Number(argument(request, 3)));
    case 'ping':
      return replies.pong;
    case 'config':
      return configReply(argument(request, 1), argument(request, 2));
    default:
      return replies.ok;
  }
}

function configReply(subcommand: string, parameter: string): Buffer {
  if (subcommand !== 'get') return replies.ok;
  if (parameter === 'save') return replies.configSave;
  if (parameter === 'appendonly') return replies.configAppendonly;
  return replies.emptyArray;
}

/** LRANGE's reply for non-negative start and stop (anything else: an empty array). */
function rangeReply(start: number, stop: number): Buffer {
  const count = Number.isSafeInteger(start) && Number.isSafeInteger(stop) && start >= 0 && stop >= start ? stop - start + 1 : 0;
  const cached = rangeReplies.get(count);
  if (cached !== undefined) return cached;
  const parts: Buffer[] = [Buffer.from(`*${count}\r\n`)];
  for (let index = 0; index < count; index++) parts.push(bulkValue);
  const built = Buffer.concat(parts);
  if (count <= rangeCacheMax) rangeReplies.set(count, built);
  return built;
}

main(process.argv.slice(2));
