// `silt load FILE`: loads a dump (NDJSON from `silt dump`) or a file of Redis
// commands (RESP, as `redis-cli --pipe` sends them: multibulk or inline) into
// a stopped data directory (`--into DIR`) or a running server (`--host`,
// `--port`). The format is detected from the first byte that is not white
// space: `{` is NDJSON, anything else RESP (`--format` overrides).
//
//                 NDJSON (one key a line)                 RESP (commands)
//   --into DIR    each key written whole, in one batch:   each command applied as the server would,
//                 new metadata version, subkeys, expiry   through lib/keyspace (the supported
//                 index and counters                      commands are listed in offlineCommands)
//   --host/port   DEL + SET/RPUSH/HSET/SADD/ZADD +        forwarded as they are
//                 PEXPIREAT (dump's RESP form)
//
// A server that wants a password (requirepass) gets `AUTH [user] password`
// first (--password, --user; the CLI also reads SILT_PASSWORD), and its reply
// is awaited before anything else is sent: a refused AUTH ends the load before
// a line is sent, with exit 2. Without a password, a server that requires one
// answers the first command with NOAUTH, and the load stops there the same way
// (every command sent was refused, so nothing was loaded).
//
// Both targets pipeline: the server gets a window of commands in flight and
// every reply is matched to its line; a directory gets its writes applied at
// once and their durability awaited in groups. An error (a bad line, a
// command refused) is reported with its line and byte offset and the load
// goes on; the exit code is then 1 (done in part). dump -> load -> dump gives
// the same bytes (docs/operations.md, "Dump and load").
//
// Directory rules (docs/operations.md, "What the tools never do"): load never
// writes into a directory a live server holds (LOCK), nor into one inside a
// data directory, and takes LOCK itself while it writes, as the server would.
// Every check that can refuse DIR comes before anything is created in it
// (checkLoadDirectory), so a refused load leaves DIR as it was. The engine is opened without the
// keyspace compaction filter, so nothing is dropped while loading; the server
// reclaims what an overwrite left behind once it runs. A key expired by the
// time it is loaded (expireAt in the past) is not created (and an existing
// key of that name is deleted), as PEXPIREAT with a past time does on a server.
//
// NB: a collection of more than `collectionOpsMax` elements is written in
// several batches, its metadata (with the final size) first, so that the
// compaction filter, which trusts that metadata reaches the engine no later
// than its subkeys, never drops them. If the load is interrupted in between,
// `silt verify` reports that collection's size as wrong; load the file again.
//
// The file is read in chunks (never whole); a line or command is held in
// memory only while it is applied. This module reads server replies with
// service/resp/reply-decoder.ts, the one client-side piece of service/ that
// tools use (docs/operations.md).

import { connect, type Socket } from 'node:net';
import { LsmEngine } from '../lib/engine/lsm-engine.js';
import { WriteBatch } from '../lib/engine/write-batch.js';
import { InvalidArgumentError, KvError, LimitExceededError, WrongTypeError } from '../lib/errors.js';
import { type FileHandle, type FileSystem } from '../lib/fs/file-system.js';
import { dbTableKey, scoreKey, subkey, writeUint64BE } from '../lib/keyspace/key-encoding.js';
import { decodeTable } from '../lib/keyspace/db-table.js';
import { hashSet } from '../lib/keyspace/hash.js';
import { Keyspace, databasesDefault, type KeyspaceContext } from '../lib/keyspace/keyspace.js';
import { List, listIndexStart, listRecord } from '../lib/keyspace/list.js';
import { KeyType, collectionRecord, recordExpireMs, stringRecord, withExpire } from '../lib/keyspace/metadata.js';
import { parseInt64 } from '../lib/keyspace/numbers.js';
import { setAdd } from '../lib/keyspace/set.js';
import { newStringRecord } from '../lib/keyspace/string.js';
import { commandExpireMs, stringExpireMs, type TimeUnit } from '../lib/keyspace/ttl.js';
import { SortedSetWriter, encodeScoreValue, parseScore } from '../lib/keyspace/zset.js';
import {
  databasesMax,
  inlineRequestBytesMax,
  loadCollectionOpsMax as collectionOpsMax,
  loadDirectoryWritesInFlightMax as directoryWritesInFlightMax,
  loadErrorsListedMax as errorsListedMax,
  loadServerBytesInFlightMax as serverBytesInFlightMax,
  loadServerCommandsInFlightMax as serverCommandsInFlightMax,
  multibulkCountMax,
  protoMaxBulkBytes,
} from '../lib/limits.js';
import { ReplyDecoder, type ReplyValue } from '../service/resp/reply-decoder.js';
import { ErrorReply } from '../service/resp/reply.js';
import { probeDataDirectory } from '../lib/manifest/manifest-reader.js';
import { defaultFileSystem, isSiltName, refuseLiveDirectory, refuseOutputInDataDirectory } from './data-dir.js';
import { commandsForKey, dumpFormatName, dumpFormatVersion, encodeCommand, type DumpedKey, type KeyTypeName } from './dump.js';
import { Progress } from './progress.js';
import { formatBytes, formatDuration, plural, renderKey } from './render.js';
import { ExitCode, runTool, ToolError, writeJson, writeLine, type OutputStream, type ToolIo, type ToolResult } from './tool-io.js';

// ---------------------------------------------------------------- constants

/** Input formats; auto looks at the first byte. */
export const loadFormats = ['auto', 'ndjson', 'resp'] as const;
export type LoadFormat = (typeof loadFormats)[number];

/** Bytes read from the file at a time. */
const readChunkBytes = 1024 * 1024;

// Bounds (lib/limits.ts): elements of one collection per batch (collectionOpsMax,
// see the header), batches in flight to a directory, commands and bytes in
// flight to a server, errors listed one by one.
export { collectionOpsMax };

/** How long a server gets to close the connection after load ends its side, ms. */
const closeWaitMs = 1000;

/** Port of a server when --port is not given. */
export const defaultPort = 6379;

const emptyValue = Buffer.alloc(0);

// ---------------------------------------------------------------- types

/** Where a line or command of the input starts. */
export interface InputPlace {
  /** 1-based line number (LF count before it, plus one). */
  line: number;
  /** Byte offset in the file. */
  offset: number;
}

/** A line or command that could not be loaded. */
export interface LoadError extends InputPlace {
  /** Command name (RESP input, or the command a server refused), upper case; null for a bad NDJSON line. */
  command: string | null;
  /** The key concerned, as renderKey shows it, when known. */
  key: string | null;
  message: string;
}

export interface LoadReport {
  tool: 'load';
  file: string;
  format: 'ndjson' | 'resp';
  target: { dir: string } | { host: string; port: number };
  /** NDJSON: keys loaded (created, or deleted because already expired). */
  keys: number;
  /** Commands applied (directory) or sent (server), errors included. */
  commands: number;
  /** NDJSON keys whose expireAt had passed: not created (directory) or expired on arrival (server). */
  expiredSkipped: number;
  /** Input bytes read. */
  bytes: number;
  /** The first errorsListedMax errors. */
  errors: LoadError[];
  errorCount: number;
  durationMs: number;
}

export interface LoadOptions {
  /** The input file; "-" with `input` for stdin. */
  file: string;
  /** Load into this stopped data directory (created when missing). */
  into?: string;
  /** Or send to the server at host:port. */
  host?: string;
  port?: number;
  /** With host: AUTH with this password before loading (requirepass). */
  password?: string;
  /** With password: the ACL user (AUTH user password); silt knows only "default". */
  user?: string;
  format?: LoadFormat;
  /** Logical databases to open the directory with (default: what it has, at least 16). */
  databases?: number;
  json?: boolean;
  /** Default node:fs. */
  fs?: FileSystem;
  /** The input as a stream of chunks instead of `file` (stdin). */
  input?: AsyncIterable<Buffer>;
  /** Tests: elements per batch of a large collection (default collectionOpsMax). */
  collectionOpsMax?: number;
}

/** A failure of one line or command: the load reports it and goes on. */
class LineError extends Error {}

// ---------------------------------------------------------------- the tool

/**
 * Loads a dump or command file into a directory or a server.
 * @returns exit 0 all loaded, 1 some lines failed (listed), 2 could not run
 */
export function load(options: LoadOptions, io: ToolIo): Promise<ToolResult<LoadReport>> {
  const json = options.json === true;
  return runTool('load', io, json, async () => {
    const started = performance.now();
    const fs = options.fs ?? defaultFileSystem();
    const format = options.format ?? 'auto';
    if (!loadFormats.includes(format)) throw new ToolError('USAGE', `Cannot load "${String(format)}": use auto, ndjson or resp`);
    if ((options.into === undefined) === (options.host === undefined)) throw new ToolError('USAGE', 'Cannot load: give exactly one of --into DIR and --host HOST');
    if (options.into !== undefined && (options.password !== undefined || options.user !== undefined)) {
      throw new ToolError('USAGE', 'Cannot load: --password and --user apply to --host only (a directory has no password)');
    }
    if (options.user !== undefined && options.password === undefined) throw new ToolError('USAGE', 'Cannot load: --user needs --password (AUTH user password)');
    // FILE is opened before the target: a FILE that cannot be read must leave --into DIR uncreated.
    const handle = options.input === undefined ? openInput(fs, options.file) : undefined;
    let target: Target;
    try {
      target = options.into !== undefined ? await DirectoryTarget.open(fs, options.into, options) : await ServerTarget.connect(options.host!, options.port ?? defaultPort, options);
    } catch (error) {
      handle?.close();
      throw error;
    }
    const totalBytes = handle?.size();
    const progress = new Progress({ stream: io.stderr, label: `load ${options.file}`, total: totalBytes, unit: 'bytes', enabled: io.stderr.isTTY === true && !json });
    const chunks = options.input ?? readFileChunks(handle!);
    const report: LoadReport = {
      tool: 'load',
      file: options.file,
      format: 'ndjson',
      target: target.describe(),
      keys: 0,
      commands: 0,
      expiredSkipped: 0,
      bytes: 0,
      errors: [],
      errorCount: 0,
      durationMs: 0,
    };
    const addError = (error: LoadError): void => {
      report.errorCount++;
      if (report.errors.length < errorsListedMax) report.errors.push(error);
    };
    target.onError = addError;
    try {
      const input = new PeekedChunks(chunks, (bytes) => {
        report.bytes += bytes;
        progress.advance(bytes);
      });
      const first = await input.firstByte();
      report.format = format === 'auto' ? (first === 0x7b ? 'ndjson' : 'resp') : format;
      if (report.format === 'ndjson') await loadNdjson(input, target, report, addError);
      else await loadResp(input, target, report, addError);
      await target.finish();
    } finally {
      progress.finish();
      await target.close();
    }
    report.durationMs = Math.round(performance.now() - started);
    if (json) writeJson(io.stdout, report);
    else printReport(io.stdout, report);
    return { exitCode: report.errorCount > 0 ? ExitCode.damaged : ExitCode.ok, report };
  });
}

async function loadNdjson(input: PeekedChunks, target: Target, report: LoadReport, addError: (error: LoadError) => void): Promise<void> {
  let first = true;
  for await (const { text, place } of ndjsonLines(input)) {
    if (first) {
      first = false;
      if (isDumpHeader(text, report.file)) continue;
    }
    let item: DumpedKey;
    try {
      item = parseDumpLine(text);
    } catch (error) {
      if (!(error instanceof LineError)) throw error;
      addError({ ...place, command: null, key: null, message: error.message });
      continue;
    }
    const outcome = await target.putKey(item, place);
    if (outcome === 'failed') continue;
    report.keys++;
    if (outcome === 'expired') report.expiredSkipped++;
  }
}

async function loadResp(input: PeekedChunks, target: Target, report: LoadReport, addError: (error: LoadError) => void): Promise<void> {
  const reader = new RespCommandReader();
  const drain = async (): Promise<void> => {
    for (let command = reader.next(); command !== undefined; command = reader.next()) {
      report.commands++;
      await target.runCommand(command.args, command);
    }
  };
  try {
    for await (const chunk of input.chunks()) {
      reader.feed(chunk);
      await drain();
    }
    reader.end();
  } catch (error) {
    if (!(error instanceof LineError)) throw error;
    // Framing is lost: nothing after a malformed command can be trusted to start where it seems to.
    addError({ ...reader.place, command: null, key: null, message: `${error.message}; the rest of the file was not read` });
  }
}

// ---------------------------------------------------------------- input

/**
 * Opens FILE for reading, refusing what is not a readable file.
 * @throws ToolError NOT_FOUND when it does not exist, EISDIR when it is a directory; the system error (EACCES ...) when it cannot be opened
 */
function openInput(fs: FileSystem, path: string): FileHandle {
  if (!fs.exists(path)) throw new ToolError('NOT_FOUND', `Cannot load "${path}": it does not exist`);
  if (fs.stat(path).isDirectory) throw new ToolError('EISDIR', `Cannot load "${path}": it is a directory; give a dump or command file`);
  return fs.open(path, 'read');
}

/** Reads an open file in chunks (each a new Buffer: lines and arguments keep views of them), then closes it. */
async function* readFileChunks(handle: FileHandle): AsyncGenerator<Buffer> {
  try {
    const size = handle.size();
    for (let position = 0; position < size; ) {
      const chunk = Buffer.allocUnsafe(Math.min(readChunkBytes, size - position));
      const count = handle.read(chunk, 0, chunk.length, position);
      if (count === 0) break;
      position += count;
      yield count === chunk.length ? chunk : chunk.subarray(0, count);
      await Promise.resolve();
    }
  } finally {
    handle.close();
  }
}

/** The input, with its first bytes peeked at for format detection, counted as they are consumed. */
class PeekedChunks {
  readonly #iterator: AsyncIterator<Buffer>;
  readonly #onBytes: (bytes: number) => void;
  #peeked: Buffer[] = [];

  constructor(source: AsyncIterable<Buffer>, onBytes: (bytes: number) => void) {
    this.#iterator = source[Symbol.asyncIterator]();
    this.#onBytes = onBytes;
  }

  /** The first byte that is not white space, or undefined for an empty input. */
  async firstByte(): Promise<number | undefined> {
    while (true) {
      for (const chunk of this.#peeked) {
        for (const byte of chunk) if (!isSpace(byte)) return byte;
      }
      const next = await this.#iterator.next();
      if (next.done === true) return undefined;
      this.#peeked.push(Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value));
    }
  }

  async *chunks(): AsyncGenerator<Buffer> {
    for (const chunk of this.#peeked) {
      this.#onBytes(chunk.length);
      yield chunk;
    }
    this.#peeked = [];
    while (true) {
      const next = await this.#iterator.next();
      if (next.done === true) return;
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      this.#onBytes(chunk.length);
      yield chunk;
    }
  }
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

/** The lines of the input (without the LF, or a CR before it), blank ones skipped. */
async function* ndjsonLines(input: PeekedChunks): AsyncGenerator<{ text: string; place: InputPlace }> {
  let rest: Buffer[] = [];
  let line = 1;
  let offset = 0;
  const emit = (parts: Buffer[]): { text: string; place: InputPlace } | undefined => {
    const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    const place = { line, offset };
    line++;
    offset += bytes.length + 1;
    const text = bytes.toString('utf8').replace(/\r$/, '');
    return text.trim() === '' ? undefined : { text, place };
  };
  for await (const chunk of input.chunks()) {
    let start = 0;
    for (let newline = chunk.indexOf(0x0a, start); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      rest.push(chunk.subarray(start, newline));
      const item = emit(rest);
      rest = [];
      start = newline + 1;
      if (item !== undefined) yield item;
    }
    if (start < chunk.length) rest.push(chunk.subarray(start));
  }
  if (rest.length > 0) {
    const item = emit(rest);
    if (item !== undefined) yield item;
  }
}

// ---------------------------------------------------------------- NDJSON

const typeNames: readonly KeyTypeName[] = ['string', 'hash', 'list', 'set', 'zset'];

/**
 * True when the first line of an NDJSON input is a dump header,
 * {"format":"silt-dump","version":N} (docs/format.md, "Dump streams"). Dumps
 * of version 1 carry none; one that does (a later version) is refused here,
 * before anything is loaded, instead of being misread line by line.
 * @throws ToolError UNSUPPORTED_VERSION for a version other than 1
 */
function isDumpHeader(text: string, file: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false; // not JSON: reported as a bad line by the caller
  }
  if (!isObject(value) || value['format'] !== dumpFormatName || 'key' in value) return false;
  const version = value['version'];
  if (version === dumpFormatVersion) return true;
  throw new ToolError(
    'UNSUPPORTED_VERSION',
    `Cannot load "${file}": it is a silt dump of format version ${JSON.stringify(version)}, and this build reads version ${dumpFormatVersion}; load it with the silt that wrote it, or a newer one`,
  );
}

/**
 * One NDJSON line of `silt dump` as a key.
 * @throws LineError saying what is wrong with it
 */
export function parseDumpLine(text: string): DumpedKey {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LineError(`Cannot parse line as JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new LineError('Cannot load line: expected a JSON object {"db","key","type","expireAt","value"}');
  const db = value['db'];
  if (typeof db !== 'number' || !Number.isInteger(db) || db < 0 || db >= databasesMax) throw new LineError(`Cannot load line: "db" must be a whole number from 0 to ${databasesMax - 1}`);
  const key = bytesOf(value['key'], '"key"');
  const type = value['type'];
  if (typeof type !== 'string' || !typeNames.includes(type as KeyTypeName)) throw new LineError(`Cannot load key ${renderKey(key)}: "type" must be one of ${typeNames.join(', ')}`);
  const expireAt = value['expireAt'] ?? null;
  if (expireAt !== null && (typeof expireAt !== 'number' || !Number.isSafeInteger(expireAt) || expireAt <= 0)) {
    throw new LineError(`Cannot load key ${renderKey(key)}: "expireAt" must be null or a positive whole number of ms since the epoch`);
  }
  const raw = value['value'];
  const where = `key ${renderKey(key)}`;
  const base = { db, key, expireAt };
  switch (type as KeyTypeName) {
    case 'string':
      return { ...base, type: 'string', value: bytesOf(raw, `the value of ${where}`) };
    case 'list':
      return { ...base, type: 'list', value: nonEmpty(arrayOf(raw, where).map((element) => bytesOf(element, `an element of ${where}`)), where) };
    case 'set': {
      const members = nonEmpty(arrayOf(raw, where).map((member) => bytesOf(member, `a member of ${where}`)), where);
      unique(members, where);
      return { ...base, type: 'set', value: members };
    }
    case 'hash': {
      const pairs: [Buffer, Buffer][] = Array.isArray(raw)
        ? raw.map((pair) => {
            if (!Array.isArray(pair) || pair.length !== 2) throw new LineError(`Cannot load ${where}: a hash given as an array holds [field, value] pairs`);
            return [bytesOf(pair[0], `a field of ${where}`), bytesOf(pair[1], `a value of ${where}`)];
          })
        : isObject(raw)
          ? Object.entries(raw).map(([field, fieldValue]): [Buffer, Buffer] => [Buffer.from(field, 'utf8'), bytesOf(fieldValue, `a value of ${where}`)])
          : badValue(where, 'an object or an array of [field, value] pairs');
      nonEmpty(pairs, where);
      unique(
        pairs.map(([field]) => field),
        where,
      );
      return { ...base, type: 'hash', value: pairs };
    }
    case 'zset': {
      const pairs = nonEmpty(
        arrayOf(raw, where).map((pair): [Buffer, number] => {
          if (!Array.isArray(pair) || pair.length !== 2) throw new LineError(`Cannot load ${where}: a zset holds [member, score] pairs`);
          return [bytesOf(pair[0], `a member of ${where}`), scoreOf(pair[1], where)];
        }),
        where,
      );
      unique(
        pairs.map(([member]) => member),
        where,
      );
      return { ...base, type: 'zset', value: pairs };
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON string (UTF-8) or {"base64": "..."} as bytes. */
function bytesOf(value: unknown, what: string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (isObject(value)) {
    const keys = Object.keys(value);
    const base64 = value['base64'];
    if (keys.length === 1 && typeof base64 === 'string') {
      const bytes = Buffer.from(base64, 'base64');
      if (bytes.toString('base64') === base64) return bytes;
      throw new LineError(`Cannot load ${what}: "${base64.slice(0, 40)}" is not canonical base64`);
    }
  }
  throw new LineError(`Cannot load ${what}: expected a string or {"base64": "..."}`);
}

function arrayOf(value: unknown, where: string): unknown[] {
  return Array.isArray(value) ? value : badValue(where, 'an array');
}

function badValue(where: string, expected: string): never {
  throw new LineError(`Cannot load ${where}: its value must be ${expected}`);
}

function nonEmpty<T>(items: T[], where: string): T[] {
  if (items.length === 0) throw new LineError(`Cannot load ${where}: an empty collection (Redis deletes a collection when it empties)`);
  return items;
}

function unique(items: readonly Buffer[], where: string): void {
  const seen = new Set<string>();
  for (const item of items) {
    const name = item.toString('latin1');
    if (seen.has(name)) throw new LineError(`Cannot load ${where}: ${renderKey(item)} appears twice`);
    seen.add(name);
  }
}

function scoreOf(value: unknown, where: string): number {
  if (value === 'inf' || value === '+inf') return Infinity;
  if (value === '-inf') return -Infinity;
  if (typeof value === 'number' && Number.isFinite(value)) return value === 0 ? 0 : value;
  throw new LineError(`Cannot load ${where}: a score must be a number, "inf" or "-inf"`);
}

// ---------------------------------------------------------------- RESP input

/** One command of a RESP file, with where it starts. */
export interface ParsedCommand extends InputPlace {
  args: Buffer[];
}

/**
 * Reads commands from RESP bytes fed in chunks, as a server reads requests:
 * multibulk (`*N` then N `$len` bulks) or inline (a line split on blanks,
 * with "double" and 'single' quotes as redis-cli and the server read them).
 * Keeps its place between feeds, so a command split across chunks is read
 * once; a bulk is not copied (arguments are views of the fed chunks).
 */
export class RespCommandReader {
  #buf: Buffer = emptyValue;
  #pos = 0;
  /** File offset of #buf[0]. */
  #base = 0;
  /** Line number at #pos. */
  #line = 1;
  /** Bytes after #pos known to hold no LF. */
  #scanned = 0;
  /** Chunks held back while a bulk longer than what is buffered is awaited. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes needed at #pos before parsing can go on (a bulk body), 0 when unknown. */
  #need = 0;

  /** The multibulk command being read. */
  #args: Buffer[] | undefined;
  #remaining = 0;
  #bulkLength = -1;
  #start: InputPlace = { line: 1, offset: 0 };

  /** Where the command being read (or the next one) starts. */
  get place(): InputPlace {
    return this.#args === undefined ? { line: this.#line, offset: this.#base + this.#pos } : this.#start;
  }

  feed(chunk: Buffer): void {
    if (this.#need > 0 && this.#buf.length - this.#pos + this.#pendingBytes + chunk.length < this.#need) {
      this.#pending.push(chunk);
      this.#pendingBytes += chunk.length;
      return;
    }
    this.#base += this.#pos;
    this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), ...this.#pending, chunk]);
    this.#pos = 0;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#need = 0;
  }

  /**
   * The next whole command, or undefined when more bytes are needed.
   * @throws LineError on malformed input (the reader is then unusable)
   */
  next(): ParsedCommand | undefined {
    // Bounded: each pass consumes a line or a bulk, or returns.
    while (true) {
      if (this.#args === undefined) {
        if (this.#pos >= this.#buf.length) return undefined;
        const start = { line: this.#line, offset: this.#base + this.#pos };
        const multibulk = this.#buf[this.#pos] === 0x2a; // *
        const line = this.#readLine();
        if (line === undefined) return undefined;
        if (!multibulk) {
          const args = splitInline(line, start);
          if (args.length > 0) return { args, ...start };
          continue;
        }
        const count = parseLength(line.subarray(1));
        if (count === undefined || count > multibulkCountMax) throw new LineError(`Cannot read command at line ${start.line} (offset ${start.offset}): invalid multibulk length`);
        if (count <= 0) continue; // as a server does: *0 and *-1 are skipped
        this.#args = [];
        this.#remaining = count;
        this.#start = start;
      }
      while (this.#remaining > 0) {
        if (this.#bulkLength < 0) {
          if (this.#pos >= this.#buf.length) return undefined;
          if (this.#buf[this.#pos] !== 0x24) throw this.#malformed(`expected '$', got '${String.fromCharCode(this.#buf[this.#pos]!)}'`);
          const line = this.#readLine();
          if (line === undefined) return undefined;
          const length = parseLength(line.subarray(1));
          if (length === undefined || length < 0 || length > protoMaxBulkBytes) throw this.#malformed('invalid bulk length');
          this.#bulkLength = length;
        }
        const length = this.#bulkLength;
        if (this.#buf.length - this.#pos < length + 2) {
          this.#need = length + 2;
          return undefined;
        }
        const end = this.#pos + length;
        if (this.#buf[end] !== 0x0d || this.#buf[end + 1] !== 0x0a) throw this.#malformed('a bulk is not followed by CRLF');
        this.#args!.push(this.#buf.subarray(this.#pos, end));
        this.#advance(length + 2);
        this.#bulkLength = -1;
        this.#remaining--;
      }
      const command = { args: this.#args!, ...this.#start };
      this.#args = undefined;
      return command;
    }
  }

  /** At the end of the input. @throws LineError when a command is incomplete */
  end(): void {
    if (this.#args !== undefined || this.#pendingBytes > 0 || this.#pos < this.#buf.length) {
      const place = this.place;
      throw new LineError(`Cannot read command at line ${place.line} (offset ${place.offset}): the file ends inside it`);
    }
  }

  /** The line at #pos without its LF (or CRLF), consumed; undefined when incomplete. */
  #readLine(): Buffer | undefined {
    const from = this.#pos + this.#scanned;
    const newline = this.#buf.indexOf(0x0a, from);
    if (newline === -1) {
      this.#scanned = this.#buf.length - this.#pos;
      if (this.#scanned > inlineRequestBytesMax) throw this.#malformed('too big inline request or length line');
      return undefined;
    }
    this.#scanned = 0;
    let end = newline;
    if (end > this.#pos && this.#buf[end - 1] === 0x0d) end--;
    const line = this.#buf.subarray(this.#pos, end);
    this.#advance(newline + 1 - this.#pos);
    return line;
  }

  #advance(bytes: number): void {
    const end = this.#pos + bytes;
    for (let index = this.#buf.indexOf(0x0a, this.#pos); index !== -1 && index < end; index = this.#buf.indexOf(0x0a, index + 1)) this.#line++;
    this.#pos = end;
  }

  #malformed(why: string): LineError {
    const place = this.#args === undefined ? { line: this.#line, offset: this.#base + this.#pos } : this.#start;
    return new LineError(`Cannot read command at line ${place.line} (offset ${place.offset}): ${why}`);
  }
}

/** A `*N` or `$len` number: optional minus, digits, within a safe integer. */
function parseLength(text: Buffer): number | undefined {
  const value = text.toString('latin1');
  if (!/^-?\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Splits an inline command as redis-cli and the server do (sdssplitargs):
 * blanks separate arguments; "double quotes" take \n \r \t \b \a \\ \" and
 * \xHH; 'single quotes' take \'; a closing quote must be followed by a blank
 * or the end of the line.
 * @throws LineError for unbalanced quotes
 */
export function splitInline(line: Buffer, place: InputPlace): Buffer[] {
  const args: Buffer[] = [];
  const fail = (): never => {
    throw new LineError(`Cannot read command at line ${place.line} (offset ${place.offset}): unbalanced quotes in request`);
  };
  let index = 0;
  while (true) {
    while (index < line.length && isSpace(line[index]!)) index++;
    if (index >= line.length) return args;
    const bytes: number[] = [];
    let quote: 0 | 0x22 | 0x27 = 0;
    for (let done = false; !done; ) {
      const byte = line[index];
      if (quote === 0x22) {
        if (byte === undefined) fail();
        if (byte === 0x5c && line[index + 1] === 0x78 && isHex(line[index + 2]) && isHex(line[index + 3])) {
          bytes.push(Number.parseInt(String.fromCharCode(line[index + 2]!, line[index + 3]!), 16));
          index += 3;
        } else if (byte === 0x5c && index + 1 < line.length) {
          index++;
          const escaped = line[index]!;
          bytes.push(({ 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x62: 0x08, 0x61: 0x07 } as Record<number, number>)[escaped] ?? escaped);
        } else if (byte === 0x22) {
          if (index + 1 < line.length && !isSpace(line[index + 1]!)) fail();
          done = true;
        } else {
          bytes.push(byte!);
        }
      } else if (quote === 0x27) {
        if (byte === undefined) fail();
        if (byte === 0x5c && line[index + 1] === 0x27) {
          index++;
          bytes.push(0x27);
        } else if (byte === 0x27) {
          if (index + 1 < line.length && !isSpace(line[index + 1]!)) fail();
          done = true;
        } else {
          bytes.push(byte!);
        }
      } else if (byte === undefined || isSpace(byte)) {
        done = true;
      } else if (byte === 0x22 || byte === 0x27) {
        quote = byte;
      } else {
        bytes.push(byte);
      }
      if (byte !== undefined) index++;
    }
    args.push(Buffer.from(bytes));
  }
}

function isHex(byte: number | undefined): boolean {
  return byte !== undefined && ((byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66));
}

// ---------------------------------------------------------------- targets

/** Where loaded data goes. */
interface Target {
  /** Receives the errors of lines and commands (set by load()). */
  onError: (error: LoadError) => void;
  describe(): LoadReport['target'];
  /** Writes one NDJSON key. */
  putKey(item: DumpedKey, place: InputPlace): Promise<'loaded' | 'expired' | 'failed'>;
  /** Applies or sends one command. */
  runCommand(args: Buffer[], place: InputPlace): Promise<void>;
  /** Waits until everything is applied (durable) or answered. */
  finish(): Promise<void>;
  /** Releases the directory or the connection (also after a failure). */
  close(): Promise<void>;
}

function commandName(args: readonly Buffer[]): string {
  return (args[0] ?? emptyValue).toString('latin1').toUpperCase();
}

function keyOf(args: readonly Buffer[]): string | null {
  return args.length > 1 ? renderKey(args[1]!) : null;
}

/**
 * Every check on `load --into DIR` that can refuse it, made before anything is
 * created (a refused load leaves DIR as it found it): DIR lies inside no data
 * directory (only its ancestors count: DIR itself may be one); it is missing,
 * an empty directory, or a stopped silt data directory that opens cleanly
 * (checked with a read-only open, as the server would open it, so a damaged
 * one is refused before the writable open takes LOCK or makes wal/ and seg/).
 * @throws ToolError USAGE for a file or a directory that is not a silt data
 *   directory, LOCKED for a live one; the engine's CorruptionError (and
 *   UnsupportedVersionError) for a damaged one
 */
async function checkLoadDirectory(fs: FileSystem, dir: string): Promise<void> {
  refuseOutputInDataDirectory(fs, dir, '--into');
  if (!fs.exists(dir)) return;
  if (!fs.stat(dir).isDirectory) throw new ToolError('USAGE', `Cannot load into "${dir}": it is a file, not a directory`);
  refuseLiveDirectory(fs, dir, 'load into', 'Stop the server first, or load with --host and --port to send the data to it');
  const probe = probeDataDirectory(fs, dir);
  if (probe.state === 'empty' || probe.state === 'absent') return;
  if (probe.state === 'missing-current') {
    const names = fs.list(dir);
    if (!names.some((name) => isSiltName(fs, dir, name))) {
      const shown = names.slice(0, 3).map((name) => `"${name}"`).join(', ');
      throw new ToolError(
        'USAGE',
        `Cannot load into "${dir}": it is not a silt data directory (it holds ${shown}${names.length > 3 ? ', ...' : ''}, and no CURRENT, MANIFEST, WAL file or segment); --into takes an empty or missing directory, or a stopped silt data directory`,
      );
    }
  }
  // CURRENT is there (or lost from a directory holding silt files, which readManifest names):
  // open it read-only first, as the server would, so damage is refused before anything is written.
  const engine = await LsmEngine.open(dir, { fs, readOnly: true });
  await engine.close();
}

/** A stopped data directory, written through LsmEngine and Keyspace. */
class DirectoryTarget implements Target {
  onError: (error: LoadError) => void = () => {};
  readonly #engine: LsmEngine;
  readonly #keyspace: Keyspace;
  readonly #collectionOpsMax: number;
  #db = 0;
  #writes: Promise<unknown>[] = [];
  #writeFailure: unknown;

  private constructor(engine: LsmEngine, keyspace: Keyspace, collectionOps: number) {
    this.#engine = engine;
    this.#keyspace = keyspace;
    this.#collectionOpsMax = collectionOps;
  }

  /**
   * Checks `dir` (nothing is created until every check passed), then opens it for writing.
   * @throws ToolError LOCKED when a live server holds `dir`; see checkLoadDirectory
   */
  static async open(fs: FileSystem, dir: string, options: LoadOptions): Promise<DirectoryTarget> {
    await checkLoadDirectory(fs, dir);
    // No compaction filter: nothing is dropped while loading (see the header).
    const engine = await LsmEngine.open(dir, { fs, syncPolicy: 'no' });
    try {
      const table = engine.get(dbTableKey);
      const existing = table === undefined ? 0 : decodeTable(table).physIds.length;
      const databases = options.databases ?? Math.max(existing, databasesDefault);
      const keyspace = await Keyspace.open(engine, { databases });
      return new DirectoryTarget(engine, keyspace, options.collectionOpsMax ?? collectionOpsMax);
    } catch (error) {
      await engine.close();
      throw error;
    }
  }

  describe(): LoadReport['target'] {
    return { dir: this.#engine.dir };
  }

  // ------------------------------------------------------------ NDJSON keys

  async putKey(item: DumpedKey, place: InputPlace): Promise<'loaded' | 'expired' | 'failed'> {
    const keyspace = this.#keyspace;
    const fail = (message: string): 'failed' => {
      this.onError({ ...place, command: null, key: renderKey(item.key), message });
      return 'failed';
    };
    if (item.db >= keyspace.databases) return fail(`Cannot load key into db ${item.db}: the directory has ${keyspace.databases} databases (load with --databases ${item.db + 1} or more)`);
    const nowMs = Date.now();
    const ctx = this.#context(item.db, nowMs);
    try {
      const target = keyspace.load(item.db, item.key, nowMs);
      if (item.expireAt !== null && nowMs > item.expireAt) {
        keyspace.remove(ctx, target);
        await this.#pace();
        return 'expired';
      }
      const expireMs = item.expireAt ?? 0;
      const version = keyspace.newVersion(nowMs, target.stored);
      if (item.type === 'string') {
        if (item.value.length > keyspace.stringBytesMax) return fail(`Cannot load string of ${item.value.length} bytes: the limit is ${keyspace.stringBytesMax}`);
        keyspace.put(ctx, target, stringRecord(item.value, expireMs, version));
      } else {
        const physDb = keyspace.physicalDb(item.db);
        const ops = collectionOps(item, physDb, version);
        const perElement = item.type === 'zset' ? 2 : 1;
        const first = Math.min(ops.length, this.#collectionOpsMax * perElement);
        const batch = keyspace.begin();
        keyspace.stagePut(batch, target, collectionMetadata(item, expireMs, version));
        for (let index = 0; index < first; index++) batch.put(ops[index]![0], ops[index]![1]);
        keyspace.commit(ctx, batch);
        // The rest of a large collection, after its metadata (see the header).
        for (let start = first; start < ops.length; start += this.#collectionOpsMax * perElement) {
          const more = new WriteBatch();
          for (const [key, value] of ops.slice(start, start + this.#collectionOpsMax * perElement)) more.put(key, value);
          ctx.write(more);
          await this.#pace();
        }
      }
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      return fail(error.message);
    }
    await this.#pace();
    return 'loaded';
  }

  // ------------------------------------------------------------ commands

  async runCommand(args: Buffer[], place: InputPlace): Promise<void> {
    const error = this.#apply(args);
    if (error !== undefined) this.onError({ ...place, command: commandName(args), key: keyOf(args), message: error });
    await this.#pace();
  }

  /** Runs one command; returns the error reply's text (as a server would answer) or undefined. */
  #apply(args: Buffer[]): string | undefined {
    const name = commandName(args).toLowerCase();
    const command = Object.hasOwn(offlineCommands, name) ? offlineCommands[name] : undefined;
    if (command === undefined) {
      return `ERR unknown command '${name}' for silt load --into (it applies ${Object.keys(offlineCommands).join(', ')}); send the file to a server with --host`;
    }
    const [arity, run] = command;
    if (arity >= 0 ? args.length !== arity : args.length < -arity) return `ERR wrong number of arguments for '${name}' command`;
    const nowMs = Date.now();
    try {
      return run({ keyspace: this.#keyspace, ctx: this.#context(this.#db, nowMs), nowMs, select: (db) => (this.#db = db) }, args);
    } catch (error) {
      if (error instanceof WrongTypeError) return 'WRONGTYPE Operation against a key holding the wrong kind of value';
      if (error instanceof LimitExceededError || error instanceof InvalidArgumentError) return `ERR ${error.message}`;
      throw error;
    }
  }

  // ------------------------------------------------------------ writes

  #context(db: number, nowMs: number): KeyspaceContext {
    return {
      db,
      nowMs,
      write: (batch) => {
        const written = this.#engine.write(batch);
        written.catch((error: unknown) => {
          this.#writeFailure ??= error;
        });
        this.#writes.push(written);
      },
    };
  }

  /** Awaits the writes in flight once there are many, so the engine can flush and hold writers back. */
  async #pace(): Promise<void> {
    if (this.#writes.length >= directoryWritesInFlightMax) await this.#settle();
  }

  async #settle(): Promise<void> {
    const writes = this.#writes;
    this.#writes = [];
    await Promise.allSettled(writes);
    if (this.#writeFailure !== undefined) {
      throw new ToolError('IO_ERROR', `Cannot write to "${this.#engine.dir}": ${(this.#writeFailure as Error).message}; what was written before it is kept, load the file again`, { cause: this.#writeFailure });
    }
  }

  async finish(): Promise<void> {
    await this.#settle();
    await this.#engine.sync();
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#writes);
    await this.#engine.close();
  }
}

/** The `S` (and for zsets `Z`) puts of a collection under `version`, in key order. */
function collectionOps(item: Exclude<DumpedKey, { type: 'string' }>, physDb: number, version: number): [key: Buffer, value: Buffer][] {
  const key = item.key;
  switch (item.type) {
    case 'hash':
      return item.value.map(([field, value]) => [subkey(physDb, key, version, field), value]);
    case 'set':
      return item.value.map((member) => [subkey(physDb, key, version, member), emptyValue]);
    case 'list':
      return item.value.map((element, position) => {
        const index = Buffer.allocUnsafe(8);
        writeUint64BE(index, 0, listIndexStart + position);
        return [subkey(physDb, key, version, index), element];
      });
    case 'zset':
      return item.value.flatMap(([member, score]): [Buffer, Buffer][] => [
        [subkey(physDb, key, version, member), encodeScoreValue(score)],
        [scoreKey(physDb, key, version, score, member), emptyValue],
      ]);
  }
}

function collectionMetadata(item: Exclude<DumpedKey, { type: 'string' }>, expireMs: number, version: number): Buffer {
  const size = item.value.length;
  switch (item.type) {
    case 'hash':
      return collectionRecord(KeyType.hash, expireMs, version, size);
    case 'set':
      return collectionRecord(KeyType.set, expireMs, version, size);
    case 'zset':
      return collectionRecord(KeyType.zset, expireMs, version, size);
    case 'list':
      return listRecord(expireMs, version, listIndexStart, listIndexStart + size);
  }
}

// ---------------------------------------------------------------- offline commands

interface OfflineContext {
  keyspace: Keyspace;
  ctx: KeyspaceContext;
  nowMs: number;
  select(db: number): void;
}

/** A command --into applies: [arity as Redis counts it (negative: at least), handler returning an error text or undefined]. */
type OfflineCommand = [arity: number, run: (context: OfflineContext, args: Buffer[]) => string | undefined];

const errorText = {
  syntax: 'ERR syntax error',
  notInteger: 'ERR value is not an integer or out of range',
  notFloat: 'ERR value is not a valid float',
  dbRange: 'ERR DB index is out of range',
  invalidExpire: (command: string): string => `ERR invalid expire time in '${command}' command`,
} as const;

function isWord(arg: Buffer | undefined, word: string): boolean {
  return arg !== undefined && arg.length === word.length && arg.toString('latin1').toLowerCase() === word;
}

/**
 * The commands `silt load --into` applies, with the server's semantics for
 * the forms listed (service/resp/commands/ has the full ones): what dumps,
 * redis-cli --pipe files and data imports use.
 */
const offlineCommands: Record<string, OfflineCommand> = {
  select: [
    2,
    ({ keyspace, select }, args) => {
      const db = parseInt64(args[1]!);
      if (db === undefined) return errorText.notInteger;
      if (typeof db !== 'number' || db < 0 || db >= keyspace.databases) return errorText.dbRange;
      select(db);
      return undefined;
    },
  ],
  del: [-2, (context, args) => deleteKeys(context, args)],
  unlink: [-2, (context, args) => deleteKeys(context, args)],
  set: [-3, (context, args) => setString(context, args)],
  setex: [4, (context, args) => setString(context, [args[0]!, args[1]!, args[3]!, Buffer.from('EX'), args[2]!], 'setex')],
  psetex: [4, (context, args) => setString(context, [args[0]!, args[1]!, args[3]!, Buffer.from('PX'), args[2]!], 'psetex')],
  mset: [
    -3,
    (context, args) => {
      if (args.length % 2 === 0) return "ERR wrong number of arguments for 'mset' command";
      for (let index = 1; index < args.length; index += 2) {
        const error = setString(context, [args[0]!, args[index]!, args[index + 1]!]);
        if (error !== undefined) return error;
      }
      return undefined;
    },
  ],
  rpush: [-3, (context, args) => push(context, args, 'right')],
  lpush: [-3, (context, args) => push(context, args, 'left')],
  hset: [
    -4,
    ({ keyspace, ctx }, args) => {
      if (args.length % 2 !== 0) return "ERR wrong number of arguments for 'hset' command";
      hashSet(keyspace, ctx, args[1]!, args.slice(2));
      return undefined;
    },
  ],
  hmset: [
    -4,
    ({ keyspace, ctx }, args) => {
      if (args.length % 2 !== 0) return "ERR wrong number of arguments for 'hmset' command";
      hashSet(keyspace, ctx, args[1]!, args.slice(2));
      return undefined;
    },
  ],
  sadd: [
    -3,
    ({ keyspace, ctx }, args) => {
      setAdd(keyspace, ctx, args[1]!, args.slice(2));
      return undefined;
    },
  ],
  zadd: [-4, (context, args) => zadd(context, args)],
  expire: [-3, (context, args) => expire(context, args, 'expire', 'seconds', true)],
  pexpire: [-3, (context, args) => expire(context, args, 'pexpire', 'milliseconds', true)],
  expireat: [-3, (context, args) => expire(context, args, 'expireat', 'seconds', false)],
  pexpireat: [-3, (context, args) => expire(context, args, 'pexpireat', 'milliseconds', false)],
  persist: [
    2,
    ({ keyspace, ctx, nowMs }, args) => {
      const target = keyspace.load(ctx.db, args[1]!, nowMs);
      if (target.live !== undefined && recordExpireMs(target.live) !== 0) keyspace.put(ctx, target, withExpire(target.live, 0));
      return undefined;
    },
  ],
  flushdb: [
    -1,
    ({ keyspace, ctx }) => {
      keyspace.flushDb(ctx, ctx.db);
      return undefined;
    },
  ],
  flushall: [
    -1,
    ({ keyspace, ctx }) => {
      keyspace.flushAll(ctx);
      return undefined;
    },
  ],
  ping: [-1, () => undefined],
  echo: [2, () => undefined],
};

function deleteKeys({ keyspace, ctx, nowMs }: OfflineContext, args: Buffer[]): undefined {
  const seen = new Set<string>();
  for (const key of args.slice(1)) {
    const name = key.toString('latin1');
    if (seen.has(name)) continue;
    seen.add(name);
    const target = keyspace.load(ctx.db, key, nowMs);
    if (target.live !== undefined) keyspace.remove(ctx, target);
  }
  return undefined;
}

/** SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL], as the server's setGenericCommand. */
function setString({ keyspace, ctx, nowMs }: OfflineContext, args: Buffer[], command = 'set'): string | undefined {
  let nx = false;
  let xx = false;
  let keepTtl = false;
  let expire: { argument: Buffer; unit: TimeUnit; relative: boolean } | undefined;
  for (let index = 3; index < args.length; index++) {
    const option = args[index]!;
    const next = args[index + 1];
    const timed = (unit: TimeUnit, relative: boolean): boolean => {
      if (next === undefined || expire !== undefined || keepTtl) return false;
      expire = { argument: next, unit, relative };
      index++;
      return true;
    };
    if (isWord(option, 'nx') && !xx) nx = true;
    else if (isWord(option, 'xx') && !nx) xx = true;
    else if (isWord(option, 'get')) continue;
    else if (isWord(option, 'keepttl') && expire === undefined) keepTtl = true;
    else if (isWord(option, 'ex') ? timed('seconds', true) : isWord(option, 'px') ? timed('milliseconds', true) : isWord(option, 'exat') ? timed('seconds', false) : isWord(option, 'pxat') && timed('milliseconds', false)) continue;
    else return errorText.syntax;
  }
  let expireMs = 0;
  if (expire !== undefined) {
    const result = stringExpireMs(expire.argument, expire.unit, expire.relative, nowMs);
    if (result === 'not-integer') return errorText.notInteger;
    if (result === 'invalid') return errorText.invalidExpire(command);
    expireMs = result;
  }
  const value = args[2]!;
  if (value.length > keyspace.stringBytesMax) return 'ERR string exceeds maximum allowed size (proto-max-bulk-len)';
  const target = keyspace.load(ctx.db, args[1]!, nowMs);
  const found = target.live !== undefined;
  if ((nx && found) || (xx && !found)) return undefined;
  if (keepTtl && target.live !== undefined) expireMs = recordExpireMs(target.live);
  keyspace.put(ctx, target, newStringRecord(keyspace, target, value, expireMs, nowMs));
  return undefined;
}

function push({ keyspace, ctx, nowMs }: OfflineContext, args: Buffer[], end: 'left' | 'right'): undefined {
  const list = List.edit(keyspace, ctx.db, args[1]!, nowMs);
  for (let index = 2; index < args.length; index++) list.push(args[index]!, end);
  const batch = keyspace.begin();
  list.stage(batch);
  keyspace.commit(ctx, batch);
  return undefined;
}

/** ZADD key [NX|XX] [GT|LT] [CH] score member [score member ...] (INCR is not applied offline). */
function zadd({ keyspace, ctx, nowMs }: OfflineContext, args: Buffer[]): string | undefined {
  let index = 2;
  const flags = { nx: false, xx: false, gt: false, lt: false };
  for (; index < args.length; index++) {
    const arg = args[index]!;
    if (isWord(arg, 'nx')) flags.nx = true;
    else if (isWord(arg, 'xx')) flags.xx = true;
    else if (isWord(arg, 'gt')) flags.gt = true;
    else if (isWord(arg, 'lt')) flags.lt = true;
    else if (isWord(arg, 'ch')) continue;
    else if (isWord(arg, 'incr')) return 'ERR ZADD INCR is not applied by silt load --into; send the file to a server with --host';
    else break;
  }
  const pairs = args.length - index;
  if (pairs === 0 || pairs % 2 !== 0) return errorText.syntax;
  if (flags.nx && flags.xx) return 'ERR XX and NX options at the same time are not compatible';
  if ((flags.gt && flags.lt) || (flags.nx && (flags.gt || flags.lt))) return 'ERR GT, LT, and/or NX options at the same time are not compatible';
  const scores: number[] = [];
  for (let at = index; at < args.length; at += 2) {
    const score = parseScore(args[at]!);
    if (score === undefined) return errorText.notFloat;
    scores.push(score);
  }
  const writer = SortedSetWriter.load(keyspace, ctx.db, args[1]!, nowMs);
  for (let at = index, pair = 0; at < args.length; at += 2, pair++) {
    const member = args[at + 1]!;
    const score = scores[pair]!;
    const current = writer.score(member);
    if (current === undefined ? flags.xx : flags.nx || (flags.gt && score <= current) || (flags.lt && score >= current)) continue;
    writer.add(member, score);
  }
  writer.commit(ctx);
  return undefined;
}

/** EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX|XX|GT|LT, as the server's expireGenericCommand. */
function expire({ keyspace, ctx, nowMs }: OfflineContext, args: Buffer[], command: string, unit: TimeUnit, relative: boolean): string | undefined {
  const flags = { nx: false, xx: false, gt: false, lt: false };
  for (const option of args.slice(3)) {
    if (isWord(option, 'nx')) flags.nx = true;
    else if (isWord(option, 'xx')) flags.xx = true;
    else if (isWord(option, 'gt')) flags.gt = true;
    else if (isWord(option, 'lt')) flags.lt = true;
    else return `ERR Unsupported option ${option.toString('latin1')}`;
  }
  if (flags.nx && (flags.xx || flags.gt || flags.lt)) return 'ERR NX and XX, GT or LT options at the same time are not compatible';
  if (flags.gt && flags.lt) return 'ERR GT and LT options at the same time are not compatible';
  const when = commandExpireMs(args[2]!, unit, relative ? nowMs : 0);
  if (when === 'not-integer') return errorText.notInteger;
  if (when === 'invalid') return errorText.invalidExpire(command);
  const target = keyspace.load(ctx.db, args[1]!, nowMs);
  const live = target.live;
  if (live === undefined) return undefined;
  const current = recordExpireMs(live);
  if ((flags.nx && current !== 0) || (flags.xx && current === 0)) return undefined;
  if ((flags.gt && (current === 0 || when <= current)) || (flags.lt && current !== 0 && when >= current)) return undefined;
  if (when <= nowMs) keyspace.remove(ctx, target); // already in the past: deleted, as the server does
  else keyspace.put(ctx, target, withExpire(live, when));
  return undefined;
}

/** A running server, reached over RESP with pipelining. */
class ServerTarget implements Target {
  onError: (error: LoadError) => void = () => {};
  readonly #host: string;
  readonly #port: number;
  readonly #socket: Socket;
  readonly #decoder = new ReplyDecoder();
  /** What each command in flight was, in order. */
  readonly #inFlight: { place: InputPlace; command: string; key: string | null; bytes: number }[] = [];
  /** True when a password was sent: a NOAUTH then means the server ignored it. */
  #authenticated = false;
  #inFlightBytes = 0;
  #db = 0;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #ended = false;

  private constructor(host: string, port: number, socket: Socket) {
    this.#host = host;
    this.#port = port;
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error) => this.#fail(error));
    socket.on('close', () => {
      if (!this.#ended) this.#fail(new Error('the server closed the connection'));
    });
    socket.on('drain', () => this.#notify());
  }

  /**
   * Connects, and sends AUTH first when a password is given.
   * @throws ToolError CONNECTION when the server cannot be reached, AUTH when it refuses the password
   */
  static async connect(host: string, port: number, auth: { password?: string; user?: string } = {}): Promise<ServerTarget> {
    const target = await ServerTarget.#open(host, port);
    if (auth.password === undefined) return target;
    try {
      await target.#authenticate(auth.password, auth.user);
    } catch (error) {
      await target.close();
      throw error;
    }
    return target;
  }

  static #open(host: string, port: number): Promise<ServerTarget> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      const onError = (error: Error): void => reject(new ToolError('CONNECTION', `Cannot connect to ${host}:${port}: ${error.message}`, { cause: error }));
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new ServerTarget(host, port, socket));
      });
    });
  }

  describe(): LoadReport['target'] {
    return { host: this.#host, port: this.#port };
  }

  async putKey(item: DumpedKey, place: InputPlace): Promise<'loaded' | 'expired' | 'failed'> {
    if (item.db !== this.#db) await this.runCommand([Buffer.from('SELECT'), Buffer.from(String(item.db))], place);
    for (const args of commandsForKey(item)) await this.runCommand(args, place);
    return item.expireAt !== null && Date.now() > item.expireAt ? 'expired' : 'loaded';
  }

  async runCommand(args: Buffer[], place: InputPlace): Promise<void> {
    this.#check();
    const command = commandName(args);
    if (command === 'SELECT' && args.length === 2) {
      const db = Number(args[1]!.toString('latin1'));
      if (Number.isSafeInteger(db)) this.#db = db;
    }
    const bytes = encodeCommand(args);
    this.#inFlight.push({ place, command, key: keyOf(args), bytes: bytes.length });
    this.#inFlightBytes += bytes.length;
    const flushed = this.#socket.write(bytes);
    if (!flushed || this.#inFlight.length >= serverCommandsInFlightMax || this.#inFlightBytes >= serverBytesInFlightMax) {
      await this.#waitFor(() => this.#socket.writableLength === 0 && this.#inFlight.length < serverCommandsInFlightMax / 2 && this.#inFlightBytes < serverBytesInFlightMax / 2);
    }
  }

  async finish(): Promise<void> {
    await this.#waitFor(() => this.#inFlight.length === 0);
  }

  async close(): Promise<void> {
    this.#ended = true;
    const socket = this.#socket;
    if (socket.destroyed) return;
    await new Promise<void>((resolve) => {
      // Every reply is in (or the load failed): nothing more is expected, so a server slow to close its side is not waited for.
      const timer = setTimeout(() => socket.destroy(), closeWaitMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  #receive(chunk: Buffer): void {
    try {
      this.#decoder.feed(chunk);
      for (let reply = this.#decoder.next(); reply !== undefined; reply = this.#decoder.next()) this.#settle(reply);
    } catch (error) {
      this.#fail(error as Error);
      this.#socket.destroy();
    }
    this.#notify();
  }

  /** Sends AUTH and waits for its reply, before anything else is sent. @throws ToolError AUTH when refused */
  async #authenticate(password: string, user: string | undefined): Promise<void> {
    const args = [Buffer.from('AUTH'), ...(user === undefined ? [] : [Buffer.from(user, 'utf8')]), Buffer.from(password, 'utf8')];
    await this.runCommand(args, { line: 0, offset: 0 });
    await this.finish();
    this.#authenticated = true;
  }

  #settle(reply: ReplyValue): void {
    const sent = this.#inFlight.shift();
    if (sent === undefined) throw new Error('the server sent a reply to no command');
    this.#inFlightBytes -= sent.bytes;
    if (!(reply instanceof ErrorReply)) return;
    const where = `${this.#host}:${this.#port}`;
    if (sent.command === 'AUTH' && sent.place.line === 0) {
      // Never echo the password: the server's words say enough.
      this.#fail(new ToolError('AUTH', `Cannot load into ${where}: the server refused AUTH: ${reply.text}`));
    } else if (reply.text.startsWith('NOAUTH')) {
      // Unauthenticated, every command sent got the same answer and changed nothing: stop rather than list them all.
      const why = this.#authenticated ? `the server asked for a password again after accepting AUTH (${reply.text}); the load stopped there` : `the server requires a password (${reply.text}): give --password (or set SILT_PASSWORD); nothing was loaded`;
      this.#fail(new ToolError('AUTH', `Cannot load into ${where}: ${why}`));
    } else {
      this.onError({ ...sent.place, command: sent.command, key: sent.key, message: reply.text });
    }
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #check(): void {
    if (this.#failure instanceof ToolError) throw this.#failure;
    if (this.#failure !== undefined) {
      const answered = this.#inFlight.length === 0 ? '' : `; ${plural(this.#inFlight.length, 'command')} sent got no reply`;
      throw new ToolError('CONNECTION', `Cannot load into ${this.#host}:${this.#port}: ${this.#failure.message}${answered}`, { cause: this.#failure });
    }
  }

  async #waitFor(condition: () => boolean): Promise<void> {
    while (true) {
      this.#check();
      if (condition()) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }
}

// ---------------------------------------------------------------- output

function printReport(out: OutputStream, report: LoadReport): void {
  const target = 'dir' in report.target ? `"${report.target.dir}"` : `${report.target.host}:${report.target.port}`;
  const what = report.format === 'ndjson' ? plural(report.keys, 'key') : plural(report.commands, 'command');
  writeLine(out, `silt load: ${what} from "${report.file}" (${report.format}, ${formatBytes(report.bytes)}) into ${target} in ${formatDuration(report.durationMs)}`);
  if (report.expiredSkipped > 0) writeLine(out, `  ${plural(report.expiredSkipped, 'key')} had already expired: not created`);
  for (const error of report.errors) {
    const subject = [error.command, error.key].filter((part) => part !== null).join(' ');
    writeLine(out, `ERROR line ${error.line} (offset ${error.offset})${subject === '' ? '' : ` ${subject}`}: ${error.message}`);
  }
  if (report.errorCount > report.errors.length) writeLine(out, `  ... and ${report.errorCount - report.errors.length} more errors`);
  writeLine(out, report.errorCount === 0 ? 'Result: loaded' : `Result: INCOMPLETE: ${plural(report.errorCount, 'line')} failed (listed); the rest was loaded`);
}
