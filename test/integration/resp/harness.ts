// Test harness for the RESP server: starts a real RespServer in-process on
// port 0 over a fresh data directory, and gives tests the clients to talk to
// it: ioredis, node-redis (RESP2 and RESP3), a raw socket that speaks bytes
// and decodes replies with ReplyDecoder, and redis-cli when installed.
// Everything a test opens is closed by closeAll() (afterEach/afterAll).

import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis, type RedisOptions } from 'ioredis';
import { createClient, type RedisClientType } from 'redis';
import pino from 'pino';
import type { EngineOptions } from '../../../lib/engine/engine.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { cloneConfig, defaultConfig, type ServerConfig } from '../../../service/config.js';
import { RespServer } from '../../../service/resp/server.js';
import { ReplyDecoder, type ReplyValue } from '../../../service/resp/reply-decoder.js';

export const redisCliPath = '/usr/bin/redis-cli';
export const hasRedisCli = existsSync(redisCliPath);

/** The built server entry point (npm test builds dist/ first). */
export const mainScript = fileURLToPath(new URL('../../../dist/service/main.js', import.meta.url));

export interface TestServer {
  server: RespServer;
  port: number;
  dir: string;
  config: ServerConfig;
  /** Closes the server (no drain) and removes the data directory. */
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
const servers: (() => Promise<void>)[] = [];

/** Closes every server started (afterAll); closeAll() first. */
export async function closeServers(): Promise<void> {
  await closeAll();
  while (servers.length > 0) await servers.pop()!();
}

/** Runs every registered client cleanup, newest first (servers stay up). */
export async function closeAll(): Promise<void> {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!;
    try {
      await cleanup();
    } catch {
      // A client that is already gone; nothing to clean.
    }
  }
}

export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}

export interface StartOptions {
  engineOptions?: Partial<EngineOptions>;
  /** Listen only; the test calls server.open() itself (LOADING tests). */
  listenOnly?: boolean;
  onShutdownRequest?: (reason: string) => void;
  /** Reuse this data directory instead of a fresh one. */
  dir?: string;
}

/** Starts a server on 127.0.0.1:0 with `overrides` on top of the defaults. */
export async function startServer(overrides: Partial<ServerConfig> = {}, options: StartOptions = {}): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'silt-resp-'));
  // SILT_TEST_ENGINE=level runs the same tests on LevelEngine (classic-level).
  const engine = process.env.SILT_TEST_ENGINE === 'level' ? 'level' : 'lsm';
  // A small space reserve (--reserve-mb): the path runs in every test, without 8 MiB written per server.
  const config: ServerConfig = { ...cloneConfig(defaultConfig), port: 0, bind: '127.0.0.1', dir, engine, reserveMb: 1 / 16, ...overrides };
  const logger = pino({ level: process.env.SILT_TEST_LOG ?? 'silent' });
  const server = new RespServer({
    config,
    logger,
    ...(options.engineOptions === undefined ? {} : { engineOptions: options.engineOptions }),
    ...(options.onShutdownRequest === undefined ? {} : { onShutdownRequest: options.onShutdownRequest }),
  });
  const address = await server.listen();
  if (options.listenOnly !== true) await server.open();
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await server.close({ drain: false });
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  servers.push(close);
  return { server, port: address.port, dir, config, close };
}

/** An ioredis client, closed by closeAll(). Retries are off so a closed connection shows. */
export function ioredis(port: number, options: RedisOptions = {}): Redis {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: false, ...options });
  client.on('error', () => undefined);
  onCleanup(() => {
    client.disconnect();
  });
  return client;
}

/** A connected node-redis client speaking RESP `protocol`, closed by closeAll(). */
export async function nodeRedis(port: number, protocol: 2 | 3, options: { password?: string; name?: string } = {}): Promise<RedisClientType> {
  const client = createClient({
    socket: { port, host: '127.0.0.1', reconnectStrategy: false },
    RESP: protocol,
    ...(options.password === undefined ? {} : { password: options.password }),
    ...(options.name === undefined ? {} : { name: options.name }),
  }) as unknown as RedisClientType;
  client.on('error', () => undefined);
  await client.connect();
  onCleanup(async () => {
    if (client.isOpen) client.destroy();
  });
  return client;
}

/** A socket that sends raw bytes and reads decoded replies, for inline, pipelining and protocol-error tests. */
export class RawClient {
  readonly socket: Socket;
  readonly #decoder = new ReplyDecoder();
  readonly #replies: ReplyValue[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;
  #error: Error | undefined;
  /** Every byte received, when `keepBytes` was asked for. */
  received: Buffer[] = [];

  private constructor(socket: Socket, keepBytes: boolean) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (keepBytes) this.received.push(chunk);
      try {
        this.#decoder.feed(chunk);
        for (let reply = this.#decoder.next(); reply !== undefined; reply = this.#decoder.next()) this.#replies.push(reply);
      } catch (error) {
        this.#error = error as Error;
      }
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, options: { keepBytes?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => resolve(client));
      const client = new RawClient(socket, options.keepBytes === true);
      socket.once('error', reject);
      onCleanup(() => {
        socket.destroy();
      });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Replies received and not yet taken. */
  get buffered(): number {
    return this.#replies.length;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends one command as a multibulk request. */
  command(...args: (string | Buffer | number)[]): void {
    this.send(encodeCommand(args));
  }

  /** The next reply (waits up to `timeoutMs`). */
  async reply(timeoutMs = 5000): Promise<ReplyValue> {
    const [reply] = await this.replies(1, timeoutMs);
    return reply!;
  }

  /** The next `count` replies. */
  async replies(count: number, timeoutMs = 5000): Promise<ReplyValue[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.#replies.length < count) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#closed) throw new Error(`connection closed after ${this.#replies.length} of ${count} replies`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${this.#replies.length} of ${count} replies`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.#replies.splice(0, count);
  }

  /** Sends a command and returns its reply. */
  async call(...args: (string | Buffer | number)[]): Promise<ReplyValue> {
    this.command(...args);
    return this.reply();
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('the server did not close the connection');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }

  /** Drops the connection with a reset (RST), as a client that crashed or was killed: the server sees it gone, not half-closed. */
  reset(): void {
    this.socket.resetAndDestroy();
  }

  /** Half-closes (FIN after what was sent): the server still answers what it received. */
  endInput(): void {
    this.socket.end();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }
}

/** A multibulk request. */
export function encodeCommand(args: readonly (string | Buffer | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** Turns decoded replies into plain values for assertions: Buffers to strings, tagged values to their text. */
export function plain(value: ReplyValue): unknown {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (Array.isArray(value)) return value.map(plain);
  if (value === null || typeof value === 'number' || typeof value === 'bigint') return value;
  const tagged = value as unknown as { text?: string; entries?: [ReplyValue, ReplyValue][]; items?: ReplyValue[]; value?: unknown; constructor: { name: string } };
  const kind = tagged.constructor.name;
  if (kind === 'ErrorReply') return { error: tagged.text };
  if (kind === 'SimpleReply') return tagged.text;
  if (kind === 'VerbatimReply') return tagged.text;
  if (tagged.entries !== undefined) return Object.fromEntries(tagged.entries.map(([key, item]) => [String(plain(key)), plain(item)]));
  if (kind === 'DecodedPush') return { push: tagged.items!.map(plain) };
  if (tagged.items !== undefined) return tagged.items.map(plain);
  if (kind === 'NullArrayReply') return null;
  return tagged.value;
}

/** Runs redis-cli with `args` (and optional stdin); resolves with its stdout, stderr and exit code. */
export function redisCli(args: readonly string[], input?: string | Buffer): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    if (input === undefined) {
      execFile(redisCliPath, args, { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1;
        if (error !== null && typeof (error as { code?: unknown }).code !== 'number') reject(error);
        else resolve({ stdout, stderr, code });
      });
      return;
    }
    const child = spawn(redisCliPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? 1 }));
    child.stdin.end(input);
  });
}

/** Waits until `condition` holds (polling), or fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses an INFO reply into field -> value. */
export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** A HELLO (or CONFIG GET) reply as an object, whether it came as a RESP3 map or a RESP2 flat array. */
export function helloFields(reply: ReplyValue): Record<string, unknown> {
  const value = plain(reply);
  if (!Array.isArray(value)) return value as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (let index = 0; index + 1 < value.length; index += 2) fields[String(value[index])] = value[index + 1];
  return fields;
}

/**
 * A server whose dispatcher a SAVE holds busy (its checkpoint's fdatasync waits), so that
 * later requests queue in the FIFO; `release()` lets the SAVE finish (`saver` then reads its +OK).
 */
export async function startServerHeldBySave(): Promise<{ silt: TestServer; saver: RawClient; release: () => void }> {
  const fs = new FaultFileSystem(new NodeFileSystem());
  const silt = await startServer({}, { engineOptions: { fs } });
  const saver = await RawClient.connect(silt.port);
  let unblock!: () => void;
  const released = new Promise<void>((resolve) => (unblock = resolve));
  fs.beforeSync(() => released);
  saver.command('SAVE');
  await waitFor(() => silt.server.dispatcher.busy, 2000, 'SAVE to start');
  const release = (): void => {
    fs.beforeSync(undefined);
    unblock();
  };
  return { silt, saver, release };
}
