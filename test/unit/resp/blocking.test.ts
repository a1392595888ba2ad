// The BlockingManager (service/resp/blocking.ts), first on its own with a
// fake clock, a fake scheduler and fake retries (fair wake-up order, the
// early stop when a key has nothing, multiple keys, timeouts including ones
// beyond setTimeout's range, CLIENT UNBLOCK and disconnection, asynchronous
// retries, a served retry waking another key, re-entrancy), then wired to the
// real list commands on both engines the way the server wires it: the
// keyspace's onKeyModified hook calls keyModified, retries run as commands of
// the blocked client, serveReadyKeys() runs after each command, and inside
// MULTI a blocking command answers its timeout reply at once.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import type { WriteBatch } from '../../../lib/engine/write-batch.js';
import { LevelEngine } from '../../../lib/engine/level-engine.js';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { Keyspace } from '../../../lib/keyspace/keyspace.js';
import { BlockingManager, nonBlockingReply, unblockedErrorReply, type BlockingHost, type ClientId, type Served } from '../../../service/resp/blocking.js';
import type { CommandContext, CommandSpec } from '../../../service/resp/command.js';
import { BlockedReply, ErrorReply, NullArrayReply, SimpleReply, type Reply } from '../../../service/resp/reply.js';
import { listCommands } from '../../../service/resp/commands/lists.js';
import { keyCommands } from '../../../service/resp/commands/keys.js';
import { stringCommands } from '../../../service/resp/commands/strings.js';

// ---------------------------------------------------------------- fakes

/** Timers on a clock that moves only when told. */
class FakeClock {
  nowMs = 1_000_000;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();
  #nextId = 1;
  /** Delays the manager asked for, in order. */
  readonly delays: number[] = [];

  setTimer(callback: () => void, delayMs: number): number {
    const id = this.#nextId++;
    this.delays.push(delayMs);
    this.#timers.set(id, { at: this.nowMs + delayMs, callback });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the clock by `ms`, firing due timers in time order. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    while (true) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= target && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.nowMs = Math.max(this.nowMs, next[1].at);
      next[1].callback();
    }
    this.nowMs = target;
  }
}

/** A tiny key -> list store the fake retries pop from, and a host that runs retries at once. */
class FakeWorld {
  readonly clock = new FakeClock();
  readonly lists = new Map<string, string[]>();
  readonly scheduled: (() => void)[] = [];
  /** clientId of every retry run, in order. */
  readonly retries: ClientId[] = [];
  readonly delivered = new Map<ClientId, (Reply | Promise<Reply>)[]>();
  /** When set, runCommand answers through this (asynchronous retries). */
  asyncRun: ((clientId: ClientId, run: () => Served | undefined) => Promise<Served | undefined>) | undefined;
  readonly manager: BlockingManager;

  constructor() {
    const host: BlockingHost = {
      runCommand: (clientId, retry) => {
        const run = (): Served | undefined => {
          this.retries.push(clientId);
          const reply = retry({} as CommandContext);
          if (reply instanceof Promise) throw new Error('fake retries are synchronous');
          return reply === undefined ? undefined : { reply };
        };
        return this.asyncRun === undefined ? run() : this.asyncRun(clientId, run);
      },
      now: () => this.clock.nowMs,
      setTimer: (callback, delayMs) => this.clock.setTimer(callback, delayMs),
      clearTimer: (handle) => this.clock.clearTimer(handle),
      schedule: (callback) => void this.scheduled.push(callback),
    };
    this.manager = new BlockingManager(host);
  }

  /** Blocks `clientId` on `keys` (db 0) with a retry that pops the first non-empty list's head. */
  block(clientId: ClientId, keys: string[], timeoutMs = 0, onServed?: (key: string, value: string) => void, kind: string | null = 'list'): BlockedReply {
    const blocked = new BlockedReply(
      0,
      keys.map((key) => Buffer.from(key)),
      timeoutMs,
      () => {
        for (const key of keys) {
          const list = this.lists.get(key);
          if (list === undefined || list.length === 0) continue;
          const value = list.shift()!;
          onServed?.(key, value);
          this.manager.keyModified(0, Buffer.from(key));
          return [key, value];
        }
        return undefined;
      },
      NullArrayReply.instance,
      kind ?? undefined,
    );
    this.manager.block(clientId, blocked, (reply) => {
      const replies = this.delivered.get(clientId) ?? [];
      replies.push(reply);
      this.delivered.set(clientId, replies);
    });
    return blocked;
  }

  push(key: string, ...values: string[]): void {
    const list = this.lists.get(key) ?? [];
    list.push(...values);
    this.lists.set(key, list);
    this.manager.keyModified(0, Buffer.from(key));
  }

  /** What `clientId` received, as plain data. */
  got(clientId: ClientId): unknown[] {
    return (this.delivered.get(clientId) ?? []).map((reply) => (reply instanceof Promise ? 'promise' : simple(reply)));
  }

  runScheduled(): void {
    for (const callback of this.scheduled.splice(0)) callback();
  }
}

function simple(reply: Reply): unknown {
  if (reply === null || typeof reply === 'number' || typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  if (Array.isArray(reply)) return reply.map(simple);
  if (reply instanceof NullArrayReply) return '*-1';
  if (reply instanceof ErrorReply) return `-${reply.text}`;
  if (reply instanceof SimpleReply) return `+${reply.text}`;
  if (reply instanceof BlockedReply) return 'blocked';
  return String(reply);
}

// ---------------------------------------------------------------- the manager alone

describe('BlockingManager', () => {
  let world: FakeWorld;
  let manager: BlockingManager;

  beforeEach(() => {
    world = new FakeWorld();
    manager = world.manager;
  });

  it('serves a waiter once its key gets data, after the command, and forgets it', () => {
    world.block(1, ['k']);
    expect(manager.blockedClients).toBe(1);
    expect(manager.blockingKeys).toBe(1);
    expect(manager.isBlocked(1)).toBe(true);
    world.push('k', 'v');
    expect(world.got(1)).toEqual([]); // keyModified only marks the key
    expect(world.scheduled).toHaveLength(1);
    manager.serveReadyKeys();
    expect(world.got(1)).toEqual([['k', 'v']]);
    expect(manager.blockedClients).toBe(0);
    expect(manager.blockingKeys).toBe(0);
    world.runScheduled(); // the scheduled pass finds nothing left
    expect(world.retries).toEqual([1]);
  });

  it('the scheduled callback serves when the host does not call serveReadyKeys', () => {
    world.block(1, ['k']);
    world.push('k', 'v');
    world.runScheduled();
    expect(world.got(1)).toEqual([['k', 'v']]);
  });

  it('wakes waiters longest-waiting first, and stops at the first that finds nothing', () => {
    world.block(1, ['k']);
    world.block(2, ['k']);
    world.block(3, ['k']);
    world.block(4, ['k']);
    world.push('k', 'a', 'b');
    manager.serveReadyKeys();
    expect(world.got(1)).toEqual([['k', 'a']]);
    expect(world.got(2)).toEqual([['k', 'b']]);
    expect(world.got(3)).toEqual([]);
    // 3 was retried and found nothing, so 4 was not retried at all (and 3 once more after 2's pop signalled k).
    expect(world.retries.filter((id) => id === 4)).toHaveLength(0);
    expect(manager.blockedClients).toBe(2);
    world.push('k', 'c');
    manager.serveReadyKeys();
    expect(world.got(3)).toEqual([['k', 'c']]); // 3 kept its place ahead of 4
    expect(world.got(4)).toEqual([]);
  });

  it('stops only for waiters of the kind that found nothing; waiters without a kind are always retried', () => {
    // A 'zset' waiter (its retry sees no zset at k) must not keep the list waiters behind it waiting.
    const zset = new BlockedReply(0, [Buffer.from('k')], 0, () => undefined, null, 'zset');
    manager.block(10, zset, () => {
      throw new Error('never served');
    });
    world.block(1, ['k']);
    world.block(2, ['k'], 0, undefined, null);
    world.block(3, ['k']);
    world.block(4, ['k']);
    world.push('k', 'a');
    manager.serveReadyKeys();
    expect(world.got(1)).toEqual([['k', 'a']]);
    // First pass: 10 finds no zset, 1 is served (and its pop signals k again), 2 (no kind) and 3 find
    // nothing, 4 is skipped as a list waiter after 3. Second pass, for 1's pop: 10, 2, 3 again.
    expect(world.retries).toEqual([10, 1, 2, 3, 10, 2, 3]);
    expect(manager.blockedClients).toBe(4);
  });

  it('a client blocked on several keys is served from any, once, and leaves every key', () => {
    world.block(1, ['a', 'b', 'a']);
    expect(manager.blockingKeys).toBe(2);
    world.block(2, ['b']);
    world.push('b', 'x', 'y');
    manager.serveReadyKeys();
    expect(world.got(1)).toEqual([['b', 'x']]);
    expect(world.got(2)).toEqual([['b', 'y']]);
    expect(manager.blockingKeys).toBe(0);
    world.push('a', 'z');
    manager.serveReadyKeys();
    expect(world.got(1)).toHaveLength(1);
  });

  it('ignores modifications of keys nobody waits on, without scheduling anything', () => {
    world.push('k', 'v');
    expect(world.scheduled).toHaveLength(0);
    world.block(1, ['other']);
    world.push('k', 'v');
    manager.keyModified(1, Buffer.from('other')); // another db
    expect(world.scheduled).toHaveLength(0);
    expect(manager.serveReadyKeys()).toBeUndefined();
    expect(world.retries).toEqual([]);
  });

  it('times out with the timeout reply, at the deadline, and clears the timer when served first', () => {
    world.block(1, ['k'], 1000);
    world.block(2, ['k'], 5000);
    world.clock.advance(999);
    expect(world.got(1)).toEqual([]);
    world.clock.advance(1);
    expect(world.got(1)).toEqual(['*-1']);
    expect(manager.isBlocked(1)).toBe(false);
    world.push('k', 'v');
    manager.serveReadyKeys();
    expect(world.got(2)).toEqual([['k', 'v']]);
    expect(world.clock.pending).toBe(0);
    world.clock.advance(10_000);
    expect(world.got(2)).toHaveLength(1);
  });

  it('waits longer than one timer can (2^31 - 1 ms) by re-arming', () => {
    const timeoutMs = 2 ** 31 + 5_000;
    world.block(1, ['k'], timeoutMs);
    expect(world.clock.delays).toEqual([2 ** 31 - 1]);
    world.clock.advance(2 ** 31 - 1);
    expect(world.got(1)).toEqual([]);
    expect(world.clock.delays).toEqual([2 ** 31 - 1, 5_001]);
    world.clock.advance(5_001);
    expect(world.got(1)).toEqual(['*-1']);
  });

  it('a timeout of 0 waits forever', () => {
    world.block(1, ['k'], 0);
    expect(world.clock.pending).toBe(0);
    world.clock.advance(10 ** 12);
    expect(manager.isBlocked(1)).toBe(true);
  });

  it('unblock: TIMEOUT answers the timeout reply, ERROR the UNBLOCKED error, a disconnection nothing', () => {
    world.block(1, ['k'], 1000);
    world.block(2, ['k']);
    world.block(3, ['k']);
    expect(manager.unblock(1)).toBe(true);
    expect(manager.unblock(2, 'error')).toBe(true);
    expect(manager.unblock(3, 'disconnect')).toBe(true);
    expect(manager.unblock(4)).toBe(false);
    expect(world.got(1)).toEqual(['*-1']);
    expect(world.got(2)).toEqual([`-${unblockedErrorReply.text}`]);
    expect(world.got(3)).toEqual([]);
    expect(manager.blockedClients).toBe(0);
    expect(manager.blockingKeys).toBe(0);
    expect(world.clock.pending).toBe(0);
    expect(manager.unblock(1)).toBe(false);
  });

  it('refuses to block a client twice (a bug in the caller)', () => {
    world.block(1, ['k']);
    expect(() => world.block(1, ['j'])).toThrow(/at most once/);
  });

  it('a served retry that modifies another key serves that key\'s waiters in the same pass', () => {
    world.block(1, ['src'], 0, (_key, value) => world.push('dst', value)); // as BLMOVE src dst
    world.block(2, ['dst']);
    world.push('src', 'v');
    manager.serveReadyKeys();
    expect(world.got(1)).toEqual([['src', 'v']]);
    expect(world.got(2)).toEqual([['dst', 'v']]);
  });

  it('dbModified retries every waiter of that db (SWAPDB)', () => {
    world.block(1, ['a']);
    world.block(2, ['b']);
    world.lists.set('a', ['1']);
    world.lists.set('b', ['2']);
    manager.dbModified(1);
    expect(manager.serveReadyKeys()).toBeUndefined();
    manager.dbModified(0);
    manager.serveReadyKeys();
    expect(world.got(1)).toEqual([['a', '1']]);
    expect(world.got(2)).toEqual([['b', '2']]);
  });

  it('a call to serveReadyKeys from inside a retry does not nest a pass', () => {
    let nested: unknown = 'not called';
    const blocked = new BlockedReply(0, [Buffer.from('k')], 0, () => {
      nested = manager.serveReadyKeys();
      return 'ok';
    }, null);
    manager.block(1, blocked, (reply) => world.delivered.set(1, [reply]));
    manager.keyModified(0, Buffer.from('k'));
    manager.serveReadyKeys();
    expect(nested).toBeUndefined();
    expect(world.got(1)).toEqual(['ok']);
  });

  it('a retry that throws unblocks its client with an error reply', () => {
    const blocked = new BlockedReply(0, [Buffer.from('k')], 0, () => {
      throw new Error('boom');
    }, null);
    manager.block(1, blocked, (reply) => world.delivered.set(1, [reply]));
    manager.keyModified(0, Buffer.from('k'));
    manager.serveReadyKeys();
    expect(world.got(1)).toEqual(['-ERR boom']);
    expect(manager.isBlocked(1)).toBe(false);
  });

  it('clear() drops every waiter and timer without a reply', () => {
    world.block(1, ['k'], 100);
    world.block(2, ['j']);
    manager.clear();
    expect(manager.blockedClients).toBe(0);
    expect(world.clock.pending).toBe(0);
    world.clock.advance(1000);
    expect(world.delivered.size).toBe(0);
  });

  it('passes a Promise reply (waiting for durability) through to deliver', () => {
    const durable = Promise.resolve<Reply>('later');
    const blocked = new BlockedReply(0, [Buffer.from('k')], 0, () => 'now', null);
    const host: BlockingHost = { runCommand: () => ({ reply: durable }), schedule: () => {} };
    const own = new BlockingManager(host);
    const got: (Reply | Promise<Reply>)[] = [];
    own.block(1, blocked, (reply) => got.push(reply));
    own.keyModified(0, Buffer.from('k'));
    own.serveReadyKeys();
    expect(got).toEqual([durable]);
    expect(blocked.retry({} as CommandContext)).toBe('now');
  });

  describe('asynchronous retries', () => {
    /** Each retry waits for release(); resolves in order. */
    let gates: (() => void)[];

    beforeEach(() => {
      gates = [];
      world.asyncRun = (_clientId, run) =>
        new Promise((resolve) => {
          gates.push(() => resolve(run()));
        });
    });

    const release = async (): Promise<void> => {
      gates.shift()!();
      for (let turn = 0; turn < 5; turn++) await Promise.resolve();
    };

    it('retries one waiter at a time, in order, and joins keys signalled meanwhile', async () => {
      world.block(1, ['k']);
      world.block(2, ['k']);
      world.block(3, ['j']);
      world.push('k', 'a', 'b');
      const pass = manager.serveReadyKeys();
      expect(pass).toBeInstanceOf(Promise);
      expect(gates).toHaveLength(1);
      world.push('j', 'x'); // signalled while the pass runs
      expect(manager.serveReadyKeys()).toBe(pass);
      await release();
      expect(world.got(1)).toEqual([['k', 'a']]);
      expect(gates).toHaveLength(1);
      await release();
      expect(world.got(2)).toEqual([['k', 'b']]);
      while (gates.length > 0) await release();
      await pass;
      expect(world.got(3)).toEqual([['j', 'x']]);
      expect(manager.blockedClients).toBe(0);
    });

    it('a client that disconnects during its retry gets nothing; one that times out gets the timeout unless served', async () => {
      world.block(1, ['k'], 100);
      world.block(2, ['j'], 100);
      world.push('k', 'a');
      world.push('j'); // j stays empty
      const pass = manager.serveReadyKeys();
      manager.unblock(1, 'disconnect');
      expect(manager.isBlocked(1)).toBe(false);
      await release();
      expect(world.got(1)).toEqual([]);
      expect(world.lists.get('k')).toEqual([]); // the data it took is gone, as a reply to a closed socket would be
      world.clock.advance(100); // 2's deadline passes while its retry runs
      expect(world.got(2)).toEqual([]);
      await release();
      await pass;
      expect(world.got(2)).toEqual(['*-1']);
      expect(manager.blockedClients).toBe(0);
    });

    it('a client whose deadline passes during a retry that serves it gets the served reply', async () => {
      world.block(1, ['k'], 100);
      world.push('k', 'a');
      const pass = manager.serveReadyKeys();
      world.clock.advance(200);
      await release();
      await pass;
      expect(world.got(1)).toEqual([['k', 'a']]);
    });
  });
});

describe('nonBlockingReply', () => {
  it('turns a BlockedReply into its denied reply, else its timeout reply, and leaves other replies alone', () => {
    const blocked = new BlockedReply(0, [Buffer.from('k')], 0, () => undefined, NullArrayReply.instance);
    expect(nonBlockingReply(blocked)).toBe(NullArrayReply.instance);
    expect(nonBlockingReply(new BlockedReply(0, [Buffer.from('k')], 0, () => undefined, NullArrayReply.instance, 'list', null))).toBeNull();
    expect(nonBlockingReply(new BlockedReply(0, [Buffer.from('k')], 5, () => undefined, null))).toBeNull();
    expect(nonBlockingReply('v')).toBe('v');
    expect(nonBlockingReply(3)).toBe(3);
  });
});

// ---------------------------------------------------------------- wired to the list commands

interface EngineKind {
  name: string;
  open(): Promise<Engine>;
  cleanup(): void;
}

const memFs = new MemFileSystem();
const levelRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-blocking-'));
let openCount = 0;
const kinds: EngineKind[] = [
  { name: 'LsmEngine', open: () => LsmEngine.open(`/blocking/db-${++openCount}`, { fs: memFs, syncPolicy: 'no' }), cleanup: () => {} },
  { name: 'LevelEngine', open: () => LevelEngine.open(path.join(levelRoot, `db-${++openCount}`), { syncPolicy: 'no' }), cleanup: () => {} },
];
afterAll(() => fs.rmSync(levelRoot, { recursive: true, force: true }));

const table = new Map<string, CommandSpec>([...stringCommands, ...keyCommands, ...listCommands].map((spec) => [spec.name, spec]));

/**
 * A minimal server: clients with their own db, commands run one at a time
 * through the handlers, blocked clients parked in a BlockingManager, the
 * keyspace hook calling keyModified, serveReadyKeys() after every command,
 * and MULTI/EXEC queueing where blocking commands may not block.
 */
class MiniServer {
  readonly clock = new FakeClock();
  readonly manager: BlockingManager;
  readonly replies = new Map<ClientId, unknown[]>();
  readonly #multi = new Map<ClientId, string[][]>();
  readonly #pending: Promise<unknown>[] = [];

  constructor(
    readonly engine: Engine,
    readonly keyspace: Keyspace,
  ) {
    this.manager = new BlockingManager({
      runCommand: (clientId, retry) => {
        const reply = retry(this.#context(clientId));
        return reply instanceof Promise ? reply.then((settled) => (settled === undefined ? undefined : { reply: settled })) : reply === undefined ? undefined : { reply };
      },
      now: () => this.clock.nowMs,
      setTimer: (callback, delayMs) => this.clock.setTimer(callback, delayMs),
      clearTimer: (handle) => this.clock.clearTimer(handle),
      schedule: () => {}, // serveReadyKeys runs after every command instead
    });
    keyspace.hooks = {
      onKeyModified: (db, key) => this.manager.keyModified(db, key),
      onDbModified: (db) => this.manager.dbModified(db),
    };
  }

  /** Runs one command for `clientId`; its reply (or the later one of a blocked client) lands in replies. */
  async run(clientId: ClientId, ...words: string[]): Promise<void> {
    const name = words[0]!.toLowerCase();
    if (name === 'multi') {
      this.#multi.set(clientId, []);
      this.#reply(clientId, '+OK');
      return;
    }
    const queued = this.#multi.get(clientId);
    if (name === 'exec' && queued !== undefined) {
      this.#multi.delete(clientId);
      const replies: unknown[] = [];
      for (const command of queued) replies.push(simple(nonBlockingReply(await this.#invoke(clientId, command))));
      this.#reply(clientId, replies);
      await this.#afterCommand();
      return;
    }
    if (queued !== undefined) {
      queued.push(words);
      this.#reply(clientId, '+QUEUED');
      return;
    }
    const reply = await this.#invoke(clientId, words);
    if (reply instanceof BlockedReply) {
      this.manager.block(clientId, reply, (delivered) => {
        if (delivered instanceof Promise) throw new Error('replies here are never promises');
        this.#reply(clientId, simple(delivered));
      });
    } else {
      this.#reply(clientId, simple(reply));
    }
    await this.#afterCommand();
  }

  /** Last reply of `clientId` (undefined when none yet). */
  last(clientId: ClientId): unknown {
    return this.replies.get(clientId)?.at(-1);
  }

  async settle(): Promise<void> {
    await Promise.all(this.#pending.splice(0));
  }

  async #invoke(clientId: ClientId, words: string[]): Promise<Reply> {
    const spec = table.get(words[0]!.toLowerCase())!;
    return spec.handler(this.#context(clientId), words.map((word) => Buffer.from(word, 'latin1')));
  }

  async #afterCommand(): Promise<void> {
    await this.manager.serveReadyKeys();
  }

  #context(_clientId: ClientId): CommandContext {
    return {
      db: 0,
      nowMs: this.clock.nowMs,
      protocol: 2,
      keyspace: this.keyspace,
      server: {},
      client: {},
      write: (batch: WriteBatch) => void this.#pending.push(this.engine.write(batch)),
    };
  }

  #reply(clientId: ClientId, reply: unknown): void {
    const list = this.replies.get(clientId) ?? [];
    list.push(reply);
    this.replies.set(clientId, list);
  }
}

describe.each(kinds)('blocking list commands through a BlockingManager ($name)', (kind) => {
  let engine: Engine;
  let server: MiniServer;

  beforeEach(async () => {
    engine = await kind.open();
    server = new MiniServer(engine, await Keyspace.open(engine, { databases: 2 }));
  });

  afterEach(async () => {
    await server.settle();
    await engine.close();
  });

  it('BLPOP waits until another client pushes, which answers its own length first', async () => {
    await server.run(1, 'BLPOP', 'q', '0');
    expect(server.last(1)).toBeUndefined();
    await server.run(2, 'RPUSH', 'q', 'job');
    expect(server.last(2)).toBe(1);
    expect(server.last(1)).toEqual(['q', 'job']);
    await server.run(2, 'EXISTS', 'q');
    expect(server.last(2)).toBe(0);
  });

  it('serves the longest-waiting client first, one element each', async () => {
    await server.run(1, 'BRPOP', 'q', '0');
    await server.run(2, 'BLPOP', 'q', '0');
    await server.run(3, 'BLPOP', 'q', '0');
    await server.run(9, 'RPUSH', 'q', 'a', 'b');
    expect(server.last(1)).toEqual(['q', 'b']); // BRPOP takes the tail
    expect(server.last(2)).toEqual(['q', 'a']);
    expect(server.last(3)).toBeUndefined();
    await server.run(9, 'LPUSH', 'q', 'c');
    expect(server.last(3)).toEqual(['q', 'c']);
  });

  it('a blocked client is served before the next command, as Redis does after each command', async () => {
    await server.run(1, 'BLPOP', 'q', '0');
    await server.run(2, 'RPUSH', 'q', 'x');
    await server.run(2, 'LPOP', 'q');
    expect(server.last(1)).toEqual(['q', 'x']);
    expect(server.last(2)).toBeNull();
  });

  it('BLMOVE feeds a client blocked on its destination', async () => {
    await server.run(1, 'BLMOVE', 'a', 'b', 'RIGHT', 'LEFT', '0');
    await server.run(2, 'BLPOP', 'b', '0');
    await server.run(3, 'RPUSH', 'a', 'x');
    expect(server.last(1)).toBe('x');
    expect(server.last(2)).toEqual(['b', 'x']);
    await server.run(3, 'DBSIZE');
    expect(server.last(3)).toBe(0);
  });

  it('BLMPOP takes up to COUNT elements when woken', async () => {
    await server.run(1, 'BLMPOP', '0', '2', 'a', 'b', 'RIGHT', 'COUNT', '2');
    await server.run(2, 'RPUSH', 'b', '1', '2', '3');
    expect(server.last(1)).toEqual(['b', ['3', '2']]);
    await server.run(2, 'LRANGE', 'b', '0', '-1');
    expect(server.last(2)).toEqual(['1']);
  });

  it('stays blocked while the key holds another type, and is served once it is a list again', async () => {
    await server.run(1, 'BLPOP', 'k', '0');
    await server.run(2, 'SET', 'k', 'string');
    expect(server.last(1)).toBeUndefined();
    await server.run(2, 'DEL', 'k');
    await server.run(2, 'RPUSH', 'k', 'v');
    expect(server.last(1)).toEqual(['k', 'v']);
  });

  it('times out with a nil array, BLMOVE too (as Redis\'s replyToBlockedClientTimedOut)', async () => {
    await server.run(1, 'BLPOP', 'q', '1.5');
    await server.run(2, 'BLMOVE', 'q', 'd', 'LEFT', 'LEFT', '0.2');
    server.clock.advance(200);
    expect(server.last(2)).toBe('*-1');
    expect(server.replies.get(1)).toBeUndefined();
    server.clock.advance(1300);
    expect(server.last(1)).toBe('*-1');
    await server.run(3, 'RPUSH', 'q', 'late');
    await server.run(3, 'LLEN', 'q');
    expect(server.last(3)).toBe(1);
  });

  it('inside MULTI a blocking command on empty lists answers its timeout reply at once', async () => {
    await server.run(1, 'MULTI');
    await server.run(1, 'BLPOP', 'q', '0');
    await server.run(1, 'BLMOVE', 'q', 'd', 'LEFT', 'LEFT', '0');
    await server.run(1, 'RPUSH', 'q', 'x');
    await server.run(1, 'BRPOP', 'q', '0');
    await server.run(1, 'EXEC');
    expect(server.last(1)).toEqual(['*-1', null, 1, ['q', 'x']]);
    expect(server.manager.blockedClients).toBe(0);
  });

  it('a push inside MULTI wakes the waiter after EXEC, and the transaction sees its own data first', async () => {
    await server.run(1, 'BLPOP', 'q', '0');
    await server.run(2, 'MULTI');
    await server.run(2, 'RPUSH', 'q', 'a', 'b');
    await server.run(2, 'LPOP', 'q');
    await server.run(2, 'EXEC');
    expect(server.last(2)).toEqual([2, 'a']);
    expect(server.last(1)).toEqual(['q', 'b']);
  });

  it('CLIENT UNBLOCK and disconnection', async () => {
    await server.run(1, 'BLPOP', 'q', '0');
    await server.run(2, 'BLPOP', 'q', '0');
    expect(server.manager.unblock(1, 'error')).toBe(true);
    expect(server.last(1)).toBe('-UNBLOCKED client unblocked via CLIENT UNBLOCK');
    server.manager.unblock(2, 'disconnect');
    await server.run(3, 'RPUSH', 'q', 'v');
    expect(server.replies.get(2)).toBeUndefined();
    await server.run(3, 'LLEN', 'q');
    expect(server.last(3)).toBe(1);
  });
});
