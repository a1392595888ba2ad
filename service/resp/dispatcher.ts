// The dispatcher: the one-at-a-time executor every connection shares, as
// Redis's single command thread (DESIGN.md, "Redis data model on the engine").
//
// - Fast path: when nothing runs and nothing waits, a command runs at once,
//   synchronously, inside the connection's 'data' handler.
// - FIFO: a handler that returns a Promise (an asynchronous iterator, SAVE,
//   EXEC of such a command) keeps the dispatcher busy until it settles; every
//   command that arrives meanwhile, from any connection, and every internal
//   task (the expiry sweep), waits in one FIFO and runs in arrival order.
// - Snapshot reads: a read-only handler whose Promise reads at an engine
//   snapshot (snapshotRead() in command.ts: a long sorted-set walk that
//   pauses between slices) does not keep the dispatcher busy: other clients'
//   commands run while it walks, as Kvrocks runs a slow command on its own
//   thread, and its answer is still the state when it ran. That client's
//   later requests are held back until it is answered (as a blocked
//   client's), so one client's commands still run one after another with
//   the client state (db, protocol, MULTI) each expects. Inside EXEC it is
//   waited for like any Promise, so a transaction stays atomic.
// - Keyed walks: a handler whose Promise walks only the keys it names
//   (keyedWalk() in command.ts: SINTER, ZUNIONSTORE, ZREMRANGEBYRANK ...)
//   does not keep the dispatcher busy either. Its keys are locked
//   (key-locks.ts: read locks for a read-only command, write locks for one
//   that writes) until it is answered; a command that would write a locked
//   key, or (a keyed walk) read a write-locked one, waits in #lockWaiters
//   with its client's later requests held, and runs, ahead of what queued
//   meanwhile, when the locks go; so do commands without keys that write
//   (FLUSHALL, SWAPDB). MOVE's key and COPY's destination are locked in the
//   db the request names (lockIds). Other commands run. A walk that writes asks for its turn
//   (turn()) when it has walked: a grant waits in the FIFO like a command,
//   and keeps the dispatcher busy while the handler writes and answers, so
//   its batch applies to the state it read. A walk that gives its key a new
//   collection writes that collection's entries before its turn
//   (writeAhead(), lib/keyspace/build.ts): batches no reader reaches until
//   its turn's write publishes them, so they need no turn of their own. Nothing starves: a request
//   waiting to write a key keeps new walks off that key, and one waiting
//   for every lock (and the expiry sweep, whenUnlocked()) keeps new walks
//   from starting. A blocked client whose retry would write a locked key
//   reserves its keys (no one else takes its element) and is retried
//   before anything else when the locks go.
// - Durability: a handler's writes (ctx.write) are visible at once, so the
//   next command may run; the command's reply is a Promise that resolves when
//   every write it made is as durable as appendfsync asks, or turns into the
//   error reply when one failed. Connections keep replies in request order.
//   A command that only read waits too while any write is not yet durable
//   (engine.unsettledWrites()), and answers the error if that write fails:
//   a reply never shows a write that may still be taken back. As Redis,
//   which sends every reply after its AOF write (and fsync, under always).
// - Before a handler runs, in Redis's order: lookup and arity, NOAUTH,
//   MISCONF for writes while the engine refuses them, the RESP2 subscribed
//   mode, LOADING, and MULTI queueing.
// - EXEC runs its queued commands inside engine.beginAtomic(): their batches
//   are visible at once and reach the WAL as one record at commit, so after a
//   crash an EXEC is all there or not at all. No other command or task runs
//   while the group is open (the engine refuses plain writes meanwhile).
// - Blocked clients: a blocking command (BLPOP ...) that finds nothing
//   returns a BlockedReply; the client is parked in the BlockingManager
//   (blocking.ts) and its reply is a Promise answered later. After every
//   command and task the manager serves clients blocked on keys it modified,
//   before the next command runs (their retries run here, as commands of
//   those clients). A parked client's requests already in the FIFO are held
//   back until it is answered; inside EXEC nothing blocks.
//
// - Statistics: total_commands_processed counts commands that ran (as
//   Redis's call(): not those refused before, nor MULTI's queueing, but each
//   command EXEC runs). Around each handler the keyspace counts
//   keyspace_hits/misses when the command reads keys as Redis's lookupKeyRead
//   does (readLookups below).
//
// Errors thrown by handlers map to replies through one table (docs/errors.md,
// "Mapping at the edges"); an AssertionError is a bug and goes to onFatal.

import { AssertionError, assert } from '../../lib/assert.js';
import type { AtomicWrite, WriteBatch } from '../../lib/engine/engine.js';
import { IoError, KvError, LimitExceededError, WriteStoppedError } from '../../lib/errors.js';
import { clockNow, clockRecent } from './clock.js';
import { isKeyedWalk, isSnapshotRead, keyedWalk, snapshotRead, type CommandContext } from './command.js';
import { ArityRejection, requestKeyIndexes, type CommandTable, type ResolvedCommand } from './command-table.js';
import { isWord } from './commands/strings.js';
import { parseInt32 } from '../../lib/keyspace/numbers.js';
import { ReplySequence, type Connection, type MultiState } from './connection.js';
import { multiQueuedBytesMax, multiQueuedCommandsMax, turnBudgetMs } from '../../lib/limits.js';
import { KeyLocks, type LockMode } from './key-locks.js';
import { nonBlockingReply, type Served } from './blocking.js';
import { BlockedReply, DurableReply, ErrorReply, NullArrayReply, QUEUED, errors, type Reply } from './reply.js';
import type { RespServer } from './server.js';

/** RESP reply prefix per error code; every other code answers -ERR (docs/errors.md). */
const respPrefixByCode: Readonly<Record<string, string>> = {
  WRONGTYPE: 'WRONGTYPE',
  IO_ERROR: 'MISCONF',
  WRITE_STOPPED: 'MISCONF',
};

/** Commands that run at once inside MULTI instead of being queued (as Redis). */
const multiControl = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

export const execAbortReply = new ErrorReply('EXECABORT Transaction discarded because of previous errors.');

/**
 * Write commands that still read some keys with Redis's lookupKeyRead, so
 * their lookups count as keyspace hits and misses: the argument index of the
 * key that does not count (the destination, looked up for writing), or 0
 * when every lookup counts (the GET-and-modify commands look up one key).
 * Read-only commands count every lookup; other write commands none
 * (lookupKeyWrite). Checked against redis-server 7.0's INFO stats.
 */
const readingWrites: Readonly<Record<string, number>> = {
  getset: 0,
  getdel: 0,
  getex: 0,
  copy: 2,
  sinterstore: 1,
  sunionstore: 1,
  sdiffstore: 1,
  zunionstore: 1,
  zinterstore: 1,
  zdiffstore: 1,
  zrangestore: 1,
};

/** Whether the command's key lookups count, and the argument excluded: false, true, or the destination's index. */
type ReadLookups = boolean | number;

const readLookupsBySpec = new WeakMap<object, ReadLookups>();

/** The spec's ReadLookups (cached: specs never change). SET counts only with GET, decided per request. */
function readLookups(resolved: ResolvedCommand): ReadLookups {
  let rule = readLookupsBySpec.get(resolved.spec);
  if (rule === undefined) {
    const name = resolved.fullName;
    if (resolved.spec.flags.includes('readonly')) rule = true;
    else if (Object.hasOwn(readingWrites, name)) rule = readingWrites[name] === 0 ? true : readingWrites[name]!;
    else rule = false;
    readLookupsBySpec.set(resolved.spec, rule);
  }
  return rule;
}

/**
 * Whether a command's reply may reveal the keyspace, so that it must not go
 * out before writes it may have seen are durable: readonly and write
 * commands (a write that wrote nothing still read, e.g. SETNX on a key that
 * exists), not connection or server commands (PING, CLIENT, CONFIG ...).
 */
function readsKeyspace(resolved: ResolvedCommand): boolean {
  const flags = resolved.spec.flags;
  return flags.includes('readonly') || flags.includes('write');
}

/** SET key value [options] looks the key up for reading only with GET (getGenericCommand). */
function setWithGet(args: readonly Buffer[]): boolean {
  for (let index = 3; index < args.length; index++) {
    const arg = args[index]!;
    if (arg.length === 3 && arg.toString('latin1').toLowerCase() === 'get') return true;
  }
  return false;
}

/** A command queued by MULTI: what it resolved to and its (copied) arguments. */
export interface QueuedCommand {
  resolved: ResolvedCommand;
  args: Buffer[];
}

interface Pending {
  client: Connection | undefined;
  args: Buffer[] | undefined;
  task: (() => void | Promise<void>) | undefined;
  resolve: (reply: Reply | Promise<Reply>) => void;
  /** A request that waits for key locks (it runs although its client's other requests are held), and what it waits for. */
  lockWait?: LockWait;
  /** A keyed walk's turn to write (turn()): run in FIFO order, it makes the dispatcher busy. */
  grant?: () => void;
  /** Its client's next released request (#requeueReleased): the rest of them wait in #released. */
  released?: boolean;
}

/** What a request waits for: every lock (exclusive), or those on the keys it writes (marked waiting), or read locks only. */
interface LockWait {
  exclusive: boolean;
  writeIds: ReadonlySet<string> | undefined;
}

/** A blocked client's retry put off by a lock, and the keys it reserved. */
interface DeferredRetry {
  blocked: BlockedReply;
  ids: ReadonlySet<string>;
}

/** A keyed walk going on in the background: its lock mode, and whether it has its turn to write. */
interface BackgroundWalk {
  mode: LockMode;
  granted: boolean;
}

const noop = (): void => undefined;

/** Turns a thrown error into the reply the client gets (docs/errors.md, "Mapping at the edges"). */
export function errorReplyFor(error: unknown): ErrorReply {
  if (error instanceof KvError) return new ErrorReply(`${respPrefixByCode[error.code] ?? 'ERR'} ${error.message}`);
  return new ErrorReply(`ERR ${(error as Error)?.message ?? String(error)}`);
}

export class Dispatcher {
  readonly #server: RespServer;
  readonly #table: CommandTable;
  /** Commands and tasks waiting while a handler's Promise is pending, oldest first. */
  #queue: Pending[] = [];
  #queueHead = 0;
  #busy = false;
  /** A #drain() that ran out of its budget continues from setImmediate (#drainLater). */
  #drainScheduled = false;
  /** Drains continued in a later slice so far (tests). */
  drainSlices = 0;
  #idleWaiters: (() => void)[] = [];
  /** Durability promises of the running command's writes. */
  #writes: Promise<unknown>[] | undefined;
  /** The last durability promise write() saw (to observe each one once). */
  #lastWritten: Promise<unknown> | undefined;
  /** DurableReply.failed: a durability failure as the reply. */
  readonly #durabilityFailed = (error: unknown): Reply => this.#writeFailed(error);
  /** The open EXEC group, if any: ctx.write goes there instead of engine.write. */
  #atomic: AtomicWrite | undefined;
  /** FIFO requests of blocked clients, held back until they are answered. */
  readonly #held = new Map<Connection, Pending[]>();
  /**
   * Requests of clients answered since they were held (#release), in order,
   * going back into the FIFO one at a time: each when the one before it runs,
   * behind what other clients queued meanwhile, so that a client with
   * thousands held does not hold the others (#requeueReleased). While a
   * client has an entry here its next request is in the FIFO, and every later
   * one, new or already queued, waits at the end of the entry: a client's
   * requests run in the order it sent them.
   */
  readonly #released = new Map<Connection, { pendings: Pending[]; head: number }>();
  /**
   * Clients whose snapshot read or keyed walk is pending, or whose request
   * waits for key locks; their (other) requests are held back meanwhile.
   */
  readonly #reading = new Set<Connection>();
  /** Keys locked by keyed walks (see the header). */
  readonly #locks = new KeyLocks();
  /** Keyed walks going on, by client (a client has at most one: its later requests are held). */
  readonly #background = new Map<Connection, BackgroundWalk>();
  /** Requests waiting for key locks, oldest first. */
  #lockWaiters: Pending[] = [];
  /** Set by #process when it made the request wait for key locks (it has not run). */
  #waitedForLocks = false;
  /** Blocked clients whose retry met a locked key: signalled again when locks go. */
  #deferredRetries: DeferredRetry[] = [];
  /** Waiting requests that wait for every lock to go: no new walk starts meanwhile. */
  #exclusiveWaiting = 0;
  /** Tasks that run once no key is locked (whenUnlocked()), before anything else; no new walk starts meanwhile. */
  #unlockTasks: Pending[] = [];
  #ranLastRequest = false;

  /** Called with an AssertionError (a bug); main.ts logs it and exits. */
  onFatal: (error: Error) => void = (error) => {
    process.nextTick(() => {
      throw error;
    });
  };

  constructor(server: RespServer, table: CommandTable) {
    this.#server = server;
    this.#table = table;
  }

  /** True while a handler's Promise is pending (commands queue meanwhile). */
  get busy(): boolean {
    return this.#busy;
  }

  /** Commands and tasks waiting in the FIFO. */
  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /**
   * Runs one request now, or queues it behind a running asynchronous command.
   * @param args the request; copied before it is kept past this call
   * @returns the reply; a Promise of it when the command waited in the FIFO
   *   or ran asynchronously; a DurableReply when it ran at once and made
   *   writes whose durability the reply waits for
   */
  execute(client: Connection, args: Buffer[]): Reply | Promise<Reply> | DurableReply {
    this.#ranLastRequest = false;
    const released = this.#released.get(client);
    if (released !== undefined) {
      const copied = args.map((arg) => Buffer.from(arg));
      return new Promise<Reply>((resolve) => released.pendings.push({ client, args: copied, task: undefined, resolve }));
    }
    if (this.#reading.has(client)) {
      const copied = args.map((arg) => Buffer.from(arg));
      return new Promise<Reply>((resolve) => this.#hold({ client, args: copied, task: undefined, resolve }));
    }
    if (this.#busy || this.#queueHead < this.#queue.length) {
      const copied = args.map((arg) => Buffer.from(arg));
      return new Promise<Reply>((resolve) => this.#enqueue({ client, args: copied, task: undefined, resolve }));
    }
    this.#ranLastRequest = true;
    this.#waitedForLocks = false;
    const outcome = this.#process(client, args, true);
    if (this.#waitedForLocks) this.#ranLastRequest = false;
    return outcome;
  }

  /** Requests waiting for key locks. */
  get waitingForLocks(): number {
    return this.#lockWaiters.length;
  }

  /** Whether a keyed walk holds key locks now (the expiry sweep waits while one does). */
  get keysLocked(): boolean {
    return this.#locks.size > 0;
  }

  /**
   * Runs `task` as runTask() does once no key is locked, before any request
   * that waited: at once when none is. Meanwhile no new walk starts, so a
   * stream of walks cannot put it off for ever (the expiry sweep).
   */
  whenUnlocked(task: () => void | Promise<void>): void {
    if (this.#locks.size === 0) {
      void this.runTask(task);
      return;
    }
    this.#unlockTasks.push({ client: undefined, args: undefined, task, resolve: noop });
  }

  /**
   * Whether the last execute() ran its command at once (its handler has
   * returned; a Promise then only waits for durability or an asynchronous
   * read) rather than queueing or holding it to run later.
   */
  get ranLastRequest(): boolean {
    return this.#ranLastRequest;
  }

  /**
   * Runs an internal task (the expiry sweep) in turn with commands: at once
   * when idle, else after what is queued. A Promise it returns keeps the
   * dispatcher busy until it settles. Errors are logged, never thrown.
   */
  runTask(task: () => void | Promise<void>): Promise<void> {
    if (this.#busy || this.#queueHead < this.#queue.length) {
      return new Promise<void>((resolve) => this.#enqueue({ client: undefined, args: undefined, task, resolve: () => resolve() }));
    }
    this.#runTask(task);
    return Promise.resolve();
  }

  /** Resolves when nothing runs and nothing waits (shutdown drains with it). */
  whenIdle(): Promise<void> {
    if (!this.#busy && this.queued === 0 && this.#reading.size === 0 && this.#released.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * ctx.write for every client: into the open EXEC group, else engine.write with the reply held for durability.
   * @param from the writing client: a keyed walk in the background writes only in its turn
   */
  write(batch: WriteBatch, from?: Connection): void {
    if (this.#background.size > 0) assert(from === undefined || this.#background.get(from)?.granted !== false, 'a keyed walk writes only in its turn (ctx.turn())');
    if (this.#atomic !== undefined) {
      this.#atomic.write(batch);
      return;
    }
    const engine = this.#server.engine;
    // Write commands are refused with -LOADING until the engine is open; the sweep starts after it.
    assert(engine !== undefined, 'writes happen only once the engine is open');
    const written = engine.writeShared === undefined ? engine.write(batch) : engine.writeShared(batch);
    // Observed later, after the handler returns; this keeps an early rejection from counting as unhandled
    // (once per promise: writeShared() hands the writes of one turn the same one).
    if (written !== this.#lastWritten) {
      written.catch(noop);
      this.#lastWritten = written;
    }
    // A command's batches of one turn share the promise: one entry, so its reply can join a DurableGroup.
    const writes = (this.#writes ??= []);
    if (writes[writes.length - 1] !== written) writes.push(written);
  }

  /**
   * ctx.canWriteAhead for every client: only a keyed walk that writes, going
   * on in the background before its turn, and only while no EXEC's group is
   * open (the engine takes no other write then; the walk stages on).
   */
  canWriteAhead(client: Connection): boolean {
    const walk = this.#background.get(client);
    return walk !== undefined && !walk.granted && walk.mode === 'write' && this.#atomic === undefined && this.#server.engine !== undefined;
  }

  /**
   * ctx.writeAhead for every client: a batch no reader reaches before the
   * walk's own write publishes it (lib/keyspace/build.ts). It is not one of
   * the running command's writes: the walk's reply waits for its publishing
   * batch, which the WAL makes durable after this one.
   */
  writeAhead(batch: WriteBatch, client: Connection): Promise<void> {
    assert(this.canWriteAhead(client), 'a batch is written ahead only by a keyed walk in the background');
    const engine = this.#server.engine!;
    return engine.writeShared === undefined ? engine.write(batch).then(noop) : engine.writeShared(batch);
  }

  /**
   * ctx.turn for every client: for a keyed walk going on in the background
   * that writes, a Promise resolved when it may (see the header); undefined
   * when it may at once (it never left its turn, runs inside EXEC, or only reads).
   */
  turn(client: Connection): Promise<void> | undefined {
    const walk = this.#background.get(client);
    if (walk === undefined || walk.granted || walk.mode === 'read') return undefined;
    return new Promise<void>((resolve) => {
      const grant = (): void => {
        walk.granted = true;
        this.#busy = true;
        this.#writes = undefined;
        resolve();
      };
      // Called from the walk's continuation, never from inside the dispatcher.
      if (!this.#busy && this.#queueHead >= this.#queue.length) grant();
      else this.#enqueue({ client: undefined, args: undefined, task: undefined, resolve: noop, grant });
    });
  }

  /**
   * Runs a transaction's queued commands as one atomic group (EXEC's body).
   * @returns the replies, once the group is durable; an error reply when the group could not be logged
   */
  exec(client: Connection, queued: readonly QueuedCommand[]): Reply | Promise<Reply> {
    const needsGroup = queued.some((command) => command.resolved.spec.flags.includes('write'));
    let group: AtomicWrite | undefined;
    if (needsGroup) {
      const engine = this.#server.engine!;
      try {
        group = engine.beginAtomic();
      } catch (error) {
        return this.#writeFailed(error);
      }
      this.#atomic = group;
    }
    const replies: Reply[] = [];
    let index = 0;
    const finish = (): Reply | Promise<Reply> => {
      this.#atomic = undefined;
      // Its commands may have read writes still on their way to the WAL, as any read (#finish): its reply
      // waits for them too. Its own writes, if any, come after them (a group that wrote nothing commits at once).
      const unsettled = this.#server.engine?.unsettledWrites?.();
      const seen = unsettled === undefined ? undefined : [unsettled];
      if (group === undefined) return this.#afterWrites(seen, replies);
      return group.commit().then(
        () => this.#afterWrites(seen, replies),
        (error: unknown) => this.#writeFailed(error),
      );
    };
    const runFrom = (): Reply | Promise<Reply> => {
      while (index < queued.length) {
        const command = queued[index++]!;
        // Inside EXEC a client may not block: a blocking command answers its timeout reply at once.
        const reply = this.#invoke(client, command.resolved, command.args);
        if (reply instanceof Promise) {
          return reply.then((settled) => {
            replies.push(execItem(nonBlockingReply(settled)));
            return runFrom();
          });
        }
        replies.push(execItem(nonBlockingReply(reply)));
      }
      return finish();
    };
    try {
      return runFrom();
    } catch (error) {
      // #invoke catches handler errors; reaching here is a bug, but never leave the group open.
      this.#atomic = undefined;
      throw error;
    }
  }

  // ---------------------------------------------------------------- internals

  #enqueue(pending: Pending): void {
    this.#queue.push(pending);
  }

  /** Checks, queues for MULTI, or runs one request; the reply (or its Promise). */
  #process(client: Connection, args: Buffer[], direct: true): Reply | Promise<Reply> | DurableReply;
  #process(client: Connection, args: Buffer[], direct: false): Reply | Promise<Reply>;
  /** `direct`: the outcome goes straight back to the connection, which takes a DurableReply. */
  #process(client: Connection, args: Buffer[], direct: boolean): Reply | Promise<Reply> | DurableReply {
    const server = this.#server;
    const nowMs = Date.now();
    client.lastInteractionMs = nowMs;
    const resolved = this.#table.resolve(args);
    // A refused EXEC answers EXECABORT, which INFO errorstats counts, as Redis does (not the reason's code).
    if (resolved instanceof ErrorReply) {
      const isExec = args[0]!.length === 4 && args[0]!.toString('latin1').toLowerCase() === 'exec';
      const reply = isExec ? execAbort(client, resolved) : resolved; // EXEC's arity
      // A known command's arity error counts in its rejected_calls, as in Redis; an unknown name has no line.
      if (resolved instanceof ArityRejection) server.noteRejected(resolved.fullName, reply);
      else server.noteError(reply);
      if (!isExec && client.multi !== undefined) client.multi.failed = true;
      return reply;
    }
    const rejection = this.#check(client, resolved);
    if (rejection !== undefined) {
      if (resolved.command.name === 'exec') {
        const abort = execAbort(client, rejection);
        server.noteRejected(resolved.fullName, abort);
        return abort;
      }
      server.noteRejected(resolved.fullName, rejection);
      if (client.multi !== undefined) client.multi.failed = true;
      return rejection;
    }
    client.lastCommand = resolved.fullName;
    if (client.multi !== undefined && !multiControl.has(resolved.command.name)) {
      if (resolved.spec.flags.includes('no-multi')) {
        client.multi.failed = true;
        const refusal = new ErrorReply('ERR Command not allowed inside a transaction');
        server.noteRejected(resolved.fullName, refusal);
        return refusal;
      }
      const refusal = queueRefusal(client.multi, args);
      if (refusal !== undefined) {
        client.multi.failed = true;
        server.noteRejected(resolved.fullName, refusal);
        return refusal;
      }
      client.multi.commands.push({ resolved, args: args.map((arg) => Buffer.from(arg)) });
      for (const arg of args) client.multi.bytes += arg.length;
      return QUEUED;
    }
    if (this.#locks.size > 0) {
      const wait = this.#lockWait(client, resolved, args);
      if (wait !== undefined) return this.#waitForLocks(client, args, direct, wait);
    }
    return this.#run(client, resolved, args, nowMs, direct);
  }

  /** What a request must wait for (see the header), or undefined when it may run. */
  #lockWait(client: Connection, resolved: ResolvedCommand, args: readonly Buffer[]): LockWait | undefined {
    if (resolved.command.name !== 'exec') return this.#commandLockWait(client.db, resolved, args);
    for (const queued of client.multi?.commands ?? []) {
      // Whether a queued SELECT succeeds decides the db of the later commands: such an EXEC waits for every lock.
      if (queued.resolved.command.name === 'select') return { exclusive: true, writeIds: undefined };
      if (this.#commandLockWait(client.db, queued.resolved, queued.args) !== undefined) return { exclusive: true, writeIds: undefined };
    }
    return undefined;
  }

  /** What one command on logical db `db` must wait for, or undefined when it may run. */
  #commandLockWait(db: number, resolved: ResolvedCommand, args: readonly Buffer[]): LockWait | undefined {
    const spec = resolved.spec;
    const writes = spec.flags.includes('write');
    const walks = spec.keyedWalk === true;
    if (!writes && !walks) return undefined; // a plain read runs whole, before the walk's write
    const ids = lockIds(db, resolved, args);
    if (writes && (ids === undefined || ids.size === 0)) return { exclusive: true, writeIds: undefined };
    const wait: LockWait = { exclusive: false, writeIds: writes ? ids : undefined };
    // No new walk while a request waits for every lock or a task waits for none (whenUnlocked).
    if (walks && (this.#exclusiveWaiting > 0 || this.#unlockTasks.length > 0)) return wait;
    return ids !== undefined && this.#locks.conflicts(ids, writes ? 'write' : 'read') ? wait : undefined;
  }

  /** Parks a request until key locks go; its client's later requests are held meanwhile. */
  #waitForLocks(client: Connection, args: Buffer[], direct: boolean, wait: LockWait): Promise<Reply> {
    this.#waitedForLocks = true;
    this.#reading.add(client);
    if (wait.exclusive) this.#exclusiveWaiting++;
    else if (wait.writeIds !== undefined) this.#locks.markWaiting(wait.writeIds, 1);
    const owned = direct ? args.map((arg) => Buffer.from(arg)) : args;
    return new Promise<Reply>((resolve) => this.#lockWaiters.push({ client, args: owned, task: undefined, resolve, lockWait: wait }));
  }

  /** The checks before a handler, in Redis's order; an error reply or undefined to go on. */
  #check(client: Connection, resolved: ResolvedCommand): ErrorReply | undefined {
    const server = this.#server;
    const flags = resolved.spec.flags;
    if (!client.authenticated && server.config.requirepass !== '' && !flags.includes('noauth')) return errors.noAuth;
    const writes = flags.includes('write') || (resolved.command.name === 'exec' && client.multi?.commands.some((command) => command.resolved.spec.flags.includes('write')) === true);
    if (writes && server.writeStoppedReason !== undefined) return misconf(server.writeStoppedReason);
    if (client.protocol === 2 && client.subscriptionCount > 0 && !flags.includes('pubsub')) {
      return new ErrorReply(`ERR Can't execute '${resolved.fullName}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
    }
    if (server.loading && !flags.includes('loading')) return new ErrorReply('LOADING silt is loading the dataset in memory');
    return undefined;
  }

  /** Runs the handler now: the reply, or a Promise of it (async handler or pending durability). */
  /** `nowMs`: the command's time (ctx.nowMs), read by the caller a moment before. */
  #run(client: Connection, resolved: ResolvedCommand, args: Buffer[], nowMs: number, direct: boolean): Reply | Promise<Reply> | DurableReply {
    this.#writes = undefined;
    const started = clockNow();
    const reply = this.#invoke(client, resolved, args, nowMs);
    if (reply instanceof Promise && isSnapshotRead(reply) && this.#writes === undefined) return this.#readOnSnapshot(client, resolved, args, started, reply);
    if (reply instanceof Promise && isKeyedWalk(reply)) return this.#walkInBackground(client, resolved, args, started, reply);
    if (reply instanceof Promise) {
      this.#busy = true;
      return reply.then((settled) => {
        const outcome = this.#finish(client, resolved, args, started, settled);
        // Still busy: clients blocked on keys this command changed are served before anything else runs.
        this.#afterCommand(true);
        return outcome;
      });
    }
    const outcome = this.#finish(client, resolved, args, started, reply, direct);
    this.#afterCommand(false);
    return outcome;
  }

  /**
   * A snapshot read goes on while other commands run; the client's own
   * requests wait in #held until it is answered.
   */
  #readOnSnapshot(client: Connection, resolved: ResolvedCommand, args: Buffer[], started: number, reply: Promise<Reply>): Promise<Reply> {
    // Its snapshot may hold writes still on their way to the WAL, as any read (#finish).
    const unsettled = this.#server.engine?.unsettledWrites?.();
    this.#reading.add(client);
    this.#afterCommand(false);
    const answered = unsettled === undefined ? reply : reply.then((settled) => this.#afterWrites([unsettled], settled));
    return answered.then((settled) => {
      this.#server.recordCommand(client, resolved, args, clockNow() - started, settled);
      this.#reading.delete(client);
      if (this.#held.has(client)) this.#release(client);
      else this.#notifyIdle();
      return settled;
    });
  }

  /**
   * A keyed walk goes on while other commands run, its keys locked; it
   * writes in its turn (turn()), and is answered like any command then.
   */
  #walkInBackground(client: Connection, resolved: ResolvedCommand, args: Buffer[], started: number, reply: Promise<Reply>): Promise<Reply> {
    assert(this.#writes === undefined, 'a keyed walk writes nothing before its turn');
    const mode: LockMode = resolved.spec.flags.includes('write') ? 'write' : 'read';
    const ids = lockIds(client.db, resolved, args) ?? new Set<string>();
    this.#locks.acquire(ids, mode);
    const walk: BackgroundWalk = { mode, granted: false };
    this.#background.set(client, walk);
    this.#reading.add(client);
    this.#afterCommand(false);
    return reply.then((settled) => {
      this.#background.delete(client);
      this.#locks.release(ids, mode);
      this.#reading.delete(client);
      let outcome: Reply | Promise<Reply>;
      if (walk.granted) {
        outcome = this.#finish(client, resolved, args, started, settled);
      } else {
        // It wrote nothing: answered as a read, once what it may have seen is durable.
        this.#server.recordCommand(client, resolved, args, clockNow() - started, settled);
        const unsettled = this.#server.engine?.unsettledWrites?.();
        outcome = this.#afterWrites(unsettled === undefined ? undefined : [unsettled], settled);
      }
      this.#release(client);
      this.#locksReleased();
      // Blocked clients first (their deferred retries among them), then what waits. Not while another
      // command keeps the dispatcher busy (an EXEC's open group, SAVE): its own #afterCommand serves them.
      if (walk.granted) {
        this.#afterCommand(true);
      } else if (!this.#busy) {
        this.#afterCommand(false);
        if (!this.#busy) this.#drain();
      } else {
        this.#notifyIdle();
      }
      return outcome;
    });
  }

  /**
   * Key locks went: blocked clients deferred by them are signalled (and
   * served by the caller's #afterCommand before anything else), the tasks
   * waiting for no lock run next if none is left, then the requests that
   * waited, ahead of what queued meanwhile; each checks the locks again.
   */
  #locksReleased(): void {
    if (this.#deferredRetries.length > 0) {
      const deferred = this.#deferredRetries;
      this.#deferredRetries = [];
      for (const { ids } of deferred) this.#locks.reserve(ids, -1);
      for (const { blocked } of deferred) for (const key of blocked.keys) this.#server.blocking.keyModified(blocked.db, key);
    }
    const waiters = this.#lockWaiters;
    this.#lockWaiters = [];
    for (const waiter of waiters) {
      const wait = waiter.lockWait!;
      if (wait.exclusive) this.#exclusiveWaiting--;
      else if (wait.writeIds !== undefined) this.#locks.markWaiting(wait.writeIds, -1);
    }
    let front = waiters;
    if (this.#unlockTasks.length > 0 && this.#locks.size === 0) {
      front = [...this.#unlockTasks, ...waiters];
      this.#unlockTasks = [];
    }
    if (front.length > 0) this.#queue.splice(this.#queueHead, 0, ...front);
  }

  /** A command's handler is done: statistics, then its reply (parked, or held for its writes' durability). */
  #finish(client: Connection, resolved: ResolvedCommand, args: Buffer[], started: number, reply: Reply, direct?: false): Reply | Promise<Reply>;
  #finish(client: Connection, resolved: ResolvedCommand, args: Buffer[], started: number, reply: Reply, direct: boolean): Reply | Promise<Reply> | DurableReply;
  /** `direct`: the outcome goes straight back to the connection, which takes a DurableReply. */
  #finish(client: Connection, resolved: ResolvedCommand, args: Buffer[], started: number, reply: Reply, direct = false): Reply | Promise<Reply> | DurableReply {
    let writes = this.#writes;
    this.#writes = undefined;
    this.#server.recordCommand(client, resolved, args, clockNow() - started, reply);
    if (reply instanceof BlockedReply) return this.#park(client, reply, direct);
    if (writes === undefined) {
      // A command that read the keyspace may have seen writes still on their way to the WAL: its
      // reply waits for them, and answers their error if they fail (they are taken back).
      const unsettled = this.#server.engine?.unsettledWrites?.();
      if (unsettled !== undefined && readsKeyspace(resolved)) writes = [unsettled];
    }
    if (direct && writes !== undefined) return new DurableReply(reply, writes.length === 1 ? writes[0]! : Promise.all(writes), this.#durabilityFailed);
    return this.#afterWrites(writes, reply);
  }

  /**
   * After each command (as Redis's handleClientsBlockedOnKeys after call()):
   * serves clients blocked on keys the command modified, before the next
   * command runs. A pass that goes asynchronous keeps the dispatcher busy.
   * @param busy the dispatcher is busy with the command that just finished
   */
  #afterCommand(busy: boolean): void {
    const pass = this.#server.blocking.serveReadyKeys();
    if (pass instanceof Promise) {
      this.#busy = true;
      void pass.then(noop, noop).finally(() => {
        this.#busy = false;
        this.#drain();
      });
      return;
    }
    if (busy) {
      this.#busy = false;
      this.#drain();
    }
  }

  /**
   * Parks a client whose blocking command found nothing (BlockedReply): the
   * BlockingManager answers it later (served, timed out, CLIENT UNBLOCK).
   * Meanwhile the connection takes no requests from the client, and
   * requests it had already queued in the FIFO are held back until then.
   */
  #park(client: Connection, blocked: BlockedReply, direct: boolean): Promise<Reply> {
    client.blocked = true;
    client.parked(direct);
    const parked = new Promise<Reply>((resolve) => {
      this.#server.blocking.block(client.id, blocked, (reply) => {
        client.blocked = false;
        resolve(reply);
        this.#release(client);
      });
    });
    // Its FIN came while the command waited its turn: drop it now, as at a FIN while blocked.
    if (client.inputEnded) client.dropBlocked();
    return parked;
  }

  /** Forgets a client that is gone: the requests held while it was blocked (or reading) will never run. */
  forgetClient(client: Connection): void {
    this.#held.delete(client);
    this.#released.delete(client);
  }

  /**
   * Puts back the requests held while `client` was blocked (or reading): at
   * once into #released, where its later requests queue behind them, and the
   * first into the FIFO behind what waits now (after the current command).
   * Before, they went back from a microtask: a later request of the client
   * already in the FIFO (sent around another client's) could run first.
   */
  #release(client: Connection): void {
    const held = this.#held.get(client);
    if (held === undefined) return;
    this.#held.delete(client);
    const released = this.#released.get(client);
    // Not expected: a client with requests in #released is neither blocked nor reading, so none are held.
    if (released !== undefined) released.pendings.splice(released.head, 0, ...held);
    else this.#released.set(client, { pendings: held, head: 0 });
    queueMicrotask(() => {
      this.#requeueReleased(client);
      if (!this.#busy) this.#drain();
    });
  }

  /** Sends `client`'s next released request into the FIFO; its entry ends when its last one runs (#drain). */
  #requeueReleased(client: Connection): void {
    const released = this.#released.get(client);
    if (released === undefined || released.head >= released.pendings.length) return;
    const next = released.pendings[released.head]!;
    released.pendings[released.head++] = undefined as unknown as Pending;
    // A client that keeps sending while its requests trickle back keeps its entry: drop the slots run.
    if (released.head > 1024 && released.head * 2 > released.pendings.length) {
      released.pendings = released.pendings.slice(released.head);
      released.head = 0;
    }
    next.released = true;
    this.#enqueue(next);
  }

  /**
   * What #drain does with `pending`, a request of `client`, before the usual
   * checks: a released one sends the client's next one into the FIFO (or,
   * when the client is blocked or reading again, holds the rest behind it);
   * a later one of a client with released requests waits behind them.
   * @returns true when `pending` was taken care of
   */
  #keepClientOrder(client: Connection, pending: Pending): boolean {
    const released = this.#released.get(client);
    if (pending.released !== true) {
      if (released === undefined || pending.lockWait !== undefined) return false;
      released.pendings.push(pending);
      return true;
    }
    pending.released = false;
    if (released === undefined) return false;
    if (client.acceptsCommands && (client.blocked || this.#reading.has(client))) {
      // Held again, with every later one, until it is answered (#release).
      this.#released.delete(client);
      this.#hold(pending);
      for (let index = released.head; index < released.pendings.length; index++) this.#hold(released.pendings[index]!);
      return true;
    }
    if (released.head < released.pendings.length) this.#requeueReleased(client);
    else this.#released.delete(client);
    return false;
  }

  /**
   * Runs a blocked client's retry (BlockingHost.runCommand) as a command of
   * that client: its context, a fresh nowMs, writes through ctx.write.
   * @returns undefined when the retry found nothing, else its reply, waiting for its writes' durability
   */
  runRetry(clientId: number, retry: BlockedReply['retry'], blocked?: BlockedReply): Served | undefined | Promise<Served | undefined> {
    const client = this.#server.clients.get(clientId);
    if (client === undefined || client.closed) return undefined;
    if (blocked !== undefined && this.#locks.size > 0) {
      const ids = new Set<string>();
      for (const key of blocked.keys) ids.add(KeyLocks.id(blocked.db, key));
      for (const key of blocked.alsoWrites ?? []) ids.add(KeyLocks.id(blocked.db, key));
      if (this.#locks.conflicts(ids, 'write')) {
        // Retried when the locks go (#locksReleased), in its place among its keys' waiters; its keys are
        // reserved meanwhile, so that what it is owed stays there.
        this.#locks.reserve(ids, 1);
        this.#deferredRetries.push({ blocked, ids });
        return undefined;
      }
    }
    this.#writes = undefined;
    client.context.nowMs = Date.now();
    const served = (reply: Reply | undefined): Served | undefined => {
      const writes = this.#writes;
      this.#writes = undefined;
      return reply === undefined ? undefined : { reply: this.#afterWrites(writes, reply) };
    };
    const failed = (error: unknown): Served => {
      this.#writes = undefined;
      return { reply: this.#handlerFailed(error) };
    };
    let result: Reply | undefined | Promise<Reply | undefined>;
    try {
      result = retry(client.context);
    } catch (error) {
      return failed(error);
    }
    return result instanceof Promise ? result.then(served, failed) : served(result);
  }

  /**
   * Calls the handler, turning what it throws (or rejects with) into an error
   * reply; counts the command and, while it runs, its read lookups.
   */
  #invoke(client: Connection, resolved: ResolvedCommand, args: Buffer[], nowMs = Date.now()): Reply | Promise<Reply> {
    const context: CommandContext = client.context;
    client.context.nowMs = nowMs;
    this.#server.stats.commandsProcessed++;
    const keyspace = this.#server.keyspace;
    let rule = readLookups(resolved);
    if (resolved.fullName === 'set') rule = setWithGet(args);
    const counting = rule !== false && keyspace !== undefined;
    if (counting) keyspace.countReads(true, typeof rule === 'number' ? args[rule] : undefined);
    try {
      const reply = resolved.spec.handler(context, args);
      if (reply instanceof Promise && isSnapshotRead(reply)) {
        // Its key lookups are done: what is left is the walk, which looks nothing up.
        if (counting) keyspace.countReads(false);
        return snapshotRead(reply.catch((error: unknown) => this.#handlerFailed(error)));
      }
      if (reply instanceof Promise && isKeyedWalk(reply)) {
        // Its keys are looked up (and counted) before the walk: other commands run meanwhile.
        if (counting) keyspace.countReads(false);
        return keyedWalk(reply.catch((error: unknown) => this.#handlerFailed(error)));
      }
      if (reply instanceof Promise) {
        // Nothing else runs until it settles (the dispatcher is busy), so counting stays this command's.
        return reply.catch((error: unknown) => this.#handlerFailed(error)).finally(() => {
          if (counting) keyspace.countReads(false);
        });
      }
      if (counting) keyspace.countReads(false);
      return reply;
    } catch (error) {
      if (counting) keyspace.countReads(false);
      return this.#handlerFailed(error);
    }
  }

  #handlerFailed(error: unknown): ErrorReply {
    if (error instanceof AssertionError) {
      this.#server.logger.fatal({ err: error }, 'assertion failed while running a command');
      this.onFatal(error);
      return new ErrorReply(`ERR internal error: ${error.message}`);
    }
    // A batch an EXEC's group refused (too big to log as one) wrote nothing; what the command changed in
    // memory before it (the keyspace's table) is read again from the engine, as after a failed write.
    if (error instanceof WriteStoppedError || error instanceof IoError || (error instanceof LimitExceededError && this.#atomic !== undefined)) this.#server.writeFailed(error);
    if (!(error instanceof KvError)) this.#server.logger.error({ err: error }, 'command failed with an unexpected error');
    return errorReplyFor(error);
  }

  /** The reply once every write is durable; the first failure's error reply otherwise. */
  #afterWrites(writes: Promise<unknown>[] | undefined, reply: Reply): Reply | Promise<Reply> {
    if (writes === undefined) return reply;
    const all = writes.length === 1 ? writes[0]! : Promise.all(writes);
    return all.then(
      () => reply,
      (error: unknown) => this.#writeFailed(error),
    );
  }

  /** A write (or an EXEC group) the engine refused or could not make durable: the command's reply becomes the error. */
  #writeFailed(error: unknown): ErrorReply {
    this.#server.writeFailed(error);
    if (error instanceof WriteStoppedError || error instanceof IoError) {
      return misconf(error.message);
    }
    return this.#handlerFailed(error);
  }

  #runTask(task: () => void | Promise<void>): void {
    let result: void | Promise<void>;
    try {
      result = task();
    } catch (error) {
      this.#taskFailed(error);
      this.#afterCommand(false);
      return;
    }
    if (result instanceof Promise) {
      this.#busy = true;
      void result.then(noop, (error: unknown) => this.#taskFailed(error)).finally(() => this.#afterCommand(true));
      return;
    }
    this.#afterCommand(false);
  }

  #taskFailed(error: unknown): void {
    if (error instanceof AssertionError) {
      this.onFatal(error);
      return;
    }
    this.#server.logger.error({ err: error }, 'background task failed');
  }

  /**
   * Runs what waits in the FIFO until something goes asynchronous again, or
   * until turnBudgetMs have passed: then the rest goes on from setImmediate,
   * after the loop has polled (other clients read and answered), and what
   * comes meanwhile queues behind it. Before, every request held behind a
   * long command (a sliced read, a blocked client) ran in one go: 2,000
   * LRANGEs of one client held behind its LRANGE of 300,000 elements stopped
   * the loop for a second.
   */
  #drain(): void {
    const start = clockNow();
    let ran = 0;
    while (!this.#busy && this.#queueHead < this.#queue.length) {
      if (ran++ > 0 && clockRecent() - start >= turnBudgetMs) {
        this.#drainLater();
        return;
      }
      const pending = this.#queue[this.#queueHead]!;
      this.#queue[this.#queueHead++] = undefined as unknown as Pending;
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      if (pending.grant !== undefined) {
        pending.grant();
      } else if (pending.task !== undefined) {
        this.#runTask(pending.task);
        pending.resolve(null);
      } else if (this.#keepClientOrder(pending.client!, pending)) {
        // Queued behind its client's released requests, or held with them.
      } else if (pending.client!.blocked || (this.#reading.has(pending.client!) && pending.lockWait === undefined)) {
        // A blocked client's later requests wait until it is answered (Redis reads nothing from a blocked client);
        // so do those of a client whose snapshot read is pending.
        this.#hold(pending);
      } else if (!pending.client!.acceptsCommands) {
        // The client went away (or QUIT): its later requests are dropped, as Redis frees a closed client's query buffer.
        if (pending.lockWait !== undefined) this.#reading.delete(pending.client!);
        pending.client!.queuedRequestRan();
        pending.resolve(ReplySequence.empty);
      } else {
        const client = pending.client!;
        // Back from #lockWaiters: its client's held requests go on behind it, unless it waits again.
        if (pending.lockWait !== undefined) this.#reading.delete(client);
        this.#waitedForLocks = false;
        const outcome = this.#process(client, pending.args!, false);
        if (!this.#waitedForLocks) {
          // Its handler has returned: the reply's protocol is the client's now, whatever a later HELLO does.
          client.queuedRequestRan();
          if (pending.lockWait !== undefined) this.#release(client);
        }
        pending.resolve(outcome);
      }
    }
    if (!this.#busy && this.#queueHead >= this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
      this.#notifyIdle();
    }
  }

  /** #drain() from setImmediate, once; a drain that runs first (a command ended) takes its place. */
  #drainLater(): void {
    if (this.#drainScheduled) return;
    this.#drainScheduled = true;
    this.drainSlices++;
    setImmediate(() => {
      this.#drainScheduled = false;
      if (!this.#busy) this.#drain();
    });
  }

  /** Keeps a request of a blocked or reading client until #release. */
  #hold(pending: Pending): void {
    const held = this.#held.get(pending.client!);
    if (held === undefined) this.#held.set(pending.client!, [pending]);
    else held.push(pending);
  }

  /** Wakes whenIdle() callers once nothing runs, waits, or reads (a request waiting for key locks counts as reading). */
  #notifyIdle(): void {
    if (this.#busy || this.#queueHead < this.#queue.length || this.#reading.size > 0 || this.#released.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const waiter of waiters) waiter();
  }
}

/**
 * One command's entry in EXEC's array. A (P)(UN)SUBSCRIBE replies one
 * message per channel (a ReplySequence); queued in MULTI, Redis puts a single
 * one in the array as it is (`*1` then `subscribe a 1`), so silt does too.
 * Several stay nested in an array: Redis writes them all after one count
 * (`*2` then three replies), which no client can parse.
 */
function execItem(reply: Reply): Reply {
  return reply instanceof ReplySequence && reply.items.length === 1 ? reply.items[0]! : reply;
}

/** Redis words it "-MISCONF Errors writing to the AOF file: ..."; silt names its WAL and data directory. */
export function misconf(reason: string): ErrorReply {
  return new ErrorReply(`MISCONF Errors writing to disk: ${reason}. Commands that may modify the data set are disabled until writes succeed again; reads still work`);
}

/**
 * Redis's execCommandAbort: an EXEC refused before it runs (arity, NOAUTH,
 * MISCONF, LOADING ...) discards the transaction, if any, and says why. The
 * reasons Redis formats itself carry no "ERR " (rejectCommandFormat), the
 * shared ones keep their code (-NOAUTH, -MISCONF).
 */
function execAbort(client: Connection, rejection: ErrorReply): ErrorReply {
  client.discardTransaction();
  const reason = rejection.text.startsWith('ERR ') ? rejection.text.slice(4) : rejection.text;
  return new ErrorReply(`EXECABORT Transaction discarded because of: ${reason}`);
}

/** EXEC's reply when a watched key changed. */
export const execWatchAborted: Reply = NullArrayReply.instance;

/** Why `args` cannot join the MULTI queue (limits.multiQueuedCommandsMax, multiQueuedBytesMax), or undefined. */
function queueRefusal(multi: MultiState, args: readonly Buffer[]): ErrorReply | undefined {
  if (multi.commands.length >= multiQueuedCommandsMax) {
    return new ErrorReply(`ERR Transaction too large: MULTI queues at most ${multiQueuedCommandsMax} commands`);
  }
  let bytes = multi.bytes;
  for (const arg of args) bytes += arg.length;
  if (bytes > multiQueuedBytesMax) return new ErrorReply(`ERR Transaction too large: MULTI queues at most ${multiQueuedBytesMax} bytes of arguments`);
  return undefined;
}

/**
 * The lock names of a request's key arguments in logical db `db`; undefined
 * when its numkeys argument does not count keys that are there (the command
 * then refuses to run).
 */
function lockIds(db: number, resolved: ResolvedCommand, args: readonly Buffer[]): Set<string> | undefined {
  const indexes = requestKeyIndexes(resolved, args);
  if (indexes === undefined) return undefined;
  const ids = new Set<string>();
  const name = resolved.command.name;
  const otherDb = name === 'move' || name === 'copy' ? targetDbOf(name, args) : undefined;
  for (const index of indexes) {
    // MOVE's key and COPY's destination are written in the db the request names.
    const written = otherDb !== undefined && (name === 'move' || index === 2);
    if (written) ids.add(KeyLocks.id(otherDb, args[index]!));
    if (!written || name === 'move') ids.add(KeyLocks.id(db, args[index]!));
  }
  return ids;
}

/** The db MOVE key db / COPY src dst DB db writes to, as the handler reads it; undefined when none or not a db number (it then fails). */
function targetDbOf(name: 'move' | 'copy', args: readonly Buffer[]): number | undefined {
  let argument: Buffer | undefined;
  if (name === 'move') argument = args[2];
  else for (let index = 3; index + 1 < args.length; index++) if (isWord(args[index]!, 'db')) argument = args[++index];
  const db = argument === undefined ? undefined : parseInt32(argument);
  return db !== undefined && db >= 0 ? db : undefined;
}
