// The contract between the dispatcher and command handlers. Each command is
// a CommandSpec in command-table.ts (name, arity, flags, key positions, as in
// redis/redis src/commands/*.json); handlers live one file per family in
// commands/ and are named after the command.
//
// Execution model (DESIGN.md, "Redis data model on the engine"): commands run
// one at a time. A handler runs synchronously and returns its Reply, or a
// Promise only when it must wait for something before it is complete (an
// asynchronous engine iterator, e.g. on LevelEngine): the dispatcher starts
// no other command until that promise settles. Writes are different: their
// effects are visible at once, so the next command may run, but the reply
// must wait until the write is as durable as appendfsync asks; a handler
// writes through ctx.write(), and the dispatcher holds the reply until every
// write the command made is durable (or answers with the error if one fails).
// A command that reads waits likewise for writes it may have seen (any not
// yet durable when it ran), so no reply shows a write that is taken back.
// Two exceptions to one-at-a-time: a read-only handler whose Promise reads at
// an engine snapshot marks it with snapshotRead(), and other clients'
// commands run while it is pending (its answer is the state when it ran);
// a handler whose long walk reads only the keys it names marks its Promise
// with keyedWalk(), and other clients' commands run while it walks, except
// those the dispatcher must hold back for its key locks (key-locks.ts).

import type { WriteBatch } from '../../lib/engine/write-batch.js';
import type { Keyspace, MaybePromise } from '../../lib/keyspace/keyspace.js';
import type { Reply } from './reply.js';

/** Command flags, named as in Redis's command table where one exists. */
export type CommandFlag =
  | 'write' // may modify the keyspace (refused while writes are stopped, i.e. -MISCONF)
  | 'readonly'
  | 'admin' // CONFIG, SHUTDOWN, DEBUG ...
  | 'noauth' // allowed before AUTH (AUTH, HELLO, QUIT, RESET)
  | 'pubsub' // allowed in RESP2 subscribed mode
  | 'fast'
  | 'loading' // allowed while the data directory is still loading
  | 'no-multi' // refused inside MULTI (WATCH, MULTI itself ...)
  | 'blocking'; // may block the client (BLPOP ...)

export interface CommandSpec {
  /** Lower-case name ("get", "client"). */
  name: string;
  /** Redis arity: N exactly N arguments including the name; -N at least N. */
  arity: number;
  flags: readonly CommandFlag[];
  /** Key positions (1-based argument indexes): first, last (-1 = last argument), step; 0,0,0 = no keys. */
  firstKey: number;
  lastKey: number;
  keyStep: number;
  handler: CommandHandler;
  /** Subcommands (CLIENT LIST, CONFIG GET ...), dispatched on args[1]. */
  subcommands?: Readonly<Record<string, Omit<CommandSpec, 'subcommands'>>>;
  /** One-line summary for COMMAND DOCS. */
  summary: string;
  /** Arguments as COMMAND DOCS and redis-cli hints show them, e.g. "key value [EX seconds]". */
  syntax?: string;
  /** Cost in the ordered key space, as Kvrocks documents it (e.g. "O(1)", "O(log N + M)"). */
  complexity: string;
  /**
   * The handler may answer a keyedWalk() Promise: its key arguments are
   * locked while it walks (read locks for a read-only command), so it waits
   * while another background walk holds a write lock on one of them.
   */
  keyedWalk?: true;
}

/** `args[0]` is the command name as the client sent it; args are the client's buffers (do not keep them past the command without copying). */
export type CommandHandler = (ctx: CommandContext, args: Buffer[]) => Reply | Promise<Reply>;

const snapshotReads = new WeakSet<Promise<Reply>>();

/**
 * Marks the Promise a read-only handler returns while it reads at an engine
 * snapshot taken before it returned (a long sorted-set walk that pauses
 * between slices, lib/keyspace/zset.ts): nothing that runs meanwhile can
 * change its answer, so the dispatcher runs other clients' commands while it
 * is pending, and holds back only this client's later requests. Inside EXEC
 * it is waited for like any Promise. The handler must have made no writes.
 * @returns `reply`, marked
 */
export function snapshotRead(reply: Promise<Reply>): Promise<Reply> {
  snapshotReads.add(reply);
  return reply;
}

/**
 * The reply of a read-only handler whose one read may walk in slices at a
 * snapshot (lib/keyspace/walk.ts): `reply(result)`, marked with
 * snapshotRead() when the walk took more than one slice.
 */
export function snapshotReply<T>(result: MaybePromise<T>, reply: (settled: T) => Reply): Reply | Promise<Reply> {
  return result instanceof Promise ? snapshotRead(result.then(reply)) : reply(result);
}

/** Whether snapshotRead() marked `reply`. */
export function isSnapshotRead(reply: Promise<Reply>): boolean {
  return snapshotReads.has(reply);
}

const keyedWalks = new WeakSet<Promise<Reply>>();

/**
 * Marks the Promise of a handler (whose spec sets `keyedWalk`) that walks in
 * slices and reads nothing but its key arguments until it settles (SINTER,
 * ZUNIONSTORE, ZREMRANGEBYRANK ...). The dispatcher locks those keys and
 * runs other clients' commands meanwhile, holding back those that would
 * write one of them (key-locks.ts), and this client's later requests. A
 * handler that writes calls ctx.turn() after its walk and writes only once
 * that has resolved, so its batch applies to the state it read while
 * nothing else runs. Inside EXEC it is waited for like any Promise.
 * @returns `reply`, marked
 */
export function keyedWalk(reply: Promise<Reply>): Promise<Reply> {
  keyedWalks.add(reply);
  return reply;
}

/** Whether keyedWalk() marked `reply`. */
export function isKeyedWalk(reply: Promise<Reply>): boolean {
  return keyedWalks.has(reply);
}

/** `derived` (a Promise made from `original`, e.g. by catch()) with the mark original has, if any. */
export function markedLike(original: Promise<Reply>, derived: Promise<Reply>): Promise<Reply> {
  if (snapshotReads.has(original)) snapshotReads.add(derived);
  if (keyedWalks.has(original)) keyedWalks.add(derived);
  return derived;
}

/**
 * The reply of a keyedWalk command whose one walk may go on in slices:
 * `finish(result)`, which may write (after ctx.turn()), marked with
 * keyedWalk() when the walk took more than one slice.
 */
export function keyedReply<T>(ctx: CommandContext, result: MaybePromise<T>, finish: (settled: T) => Reply): Reply | Promise<Reply> {
  if (!(result instanceof Promise)) return finish(result);
  return keyedWalk(
    result.then((settled) => {
      const turn = ctx.turn?.();
      return turn === undefined ? finish(settled) : turn.then(() => finish(settled));
    }),
  );
}

/** Inside a keyedWalk generator, before its first write: `yield* turnToWrite(ctx)` (see CommandContext.turn). */
export { turnToWrite } from '../../lib/keyspace/build.js';

/**
 * What a handler may use. The server implements it (service/resp/), the
 * keyspace is lib/keyspace's, and tests may build a small one.
 */
export interface CommandContext {
  /** Logical database selected by the client. */
  db: number;
  /** Applies a batch (visible at once); the reply waits for its durability. */
  write(batch: WriteBatch): void;
  /**
   * For a keyedWalk() handler whose walk went on in the background: resolves
   * when nothing else runs, so that it may write (undefined when it may
   * already: it never left its turn, or runs inside EXEC). Optional: test
   * contexts that run one command at a time leave it out.
   */
  turn?(): Promise<void> | undefined;
  /** Whether writeAhead() may be called now (KeyspaceContext.canWriteAhead). Optional, as turn. */
  canWriteAhead?(): boolean;
  /** Writes a batch ahead of the command's turn (KeyspaceContext.writeAhead, lib/keyspace/build.ts). */
  writeAhead?(batch: WriteBatch): Promise<void>;
  /** Milliseconds since the epoch, fixed for the duration of one command (as Redis's cached time). */
  readonly nowMs: number;
  /** RESP protocol version of the client (2 or 3). */
  readonly protocol: 2 | 3;
  /** The Redis data model on the engine (lib/keyspace): every data command reads and writes through it. */
  readonly keyspace: Keyspace;
  /** Server-wide services (keyspace, config, clients, pub/sub); typed by the server module. */
  readonly server: unknown;
  /** The calling client; typed by the server module. */
  readonly client: unknown;
}
