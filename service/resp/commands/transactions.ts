// Transactions: MULTI EXEC DISCARD WATCH UNWATCH with Redis's semantics
// (redis/redis src/multi.c):
//
// - Between MULTI and EXEC commands are checked (unknown command, arity,
//   NOAUTH, MISCONF) and queued; a failed check flags the transaction and
//   EXEC answers -EXECABORT. Errors at run time stay per command.
// - EXEC runs the queue as one atomic engine group (Dispatcher#exec): visible
//   at once, one WAL record, so after a crash it is all there or not at all.
// - WATCH: EXEC answers a null array when any watched key was modified after
//   WATCH (by any client, including this one before MULTI), when a watched
//   key expired meanwhile, or when its database was flushed or swapped.
//   The keyspace reports modifications through onKeyModified / onDbModified,
//   which land in WatchRegistry below.

import type { CommandHandler, CommandSpec } from '../command.js';
import type { Connection } from '../connection.js';
import { execAbortReply, execWatchAborted } from '../dispatcher.js';
import { ErrorReply, OK } from '../reply.js';
import { clientOf, serverOf } from './connection.js';
import type { DbChange, KeyState } from '../../../lib/keyspace/keyspace.js';

/** One watched key of a client. */
export interface WatchedKey {
  db: number;
  /** The key as a latin1 string (one char per byte). */
  key: string;
  /** The key existed but had expired when WATCH ran (Redis's watchedKey.expired): its later expiry or deletion is no change. */
  expiredAtWatch: boolean;
}

/** A key's state as WATCH sees it (Keyspace#keyState). */
export type KeyStateOf = (db: number, key: Buffer, nowMs: number) => KeyState;

/** Which clients watch which keys; marks them dirty when a key or a whole database changes. */
export class WatchRegistry {
  readonly #byDb = new Map<number, Map<string, Set<Connection>>>();
  #keys = 0;
  readonly #stateOf: KeyStateOf;

  constructor(stateOf: KeyStateOf) {
    this.#stateOf = stateOf;
  }

  /** Watched (client, key) pairs. */
  get size(): number {
    return this.#keys;
  }

  watch(client: Connection, db: number, key: Buffer, nowMs: number): void {
    const name = key.toString('latin1');
    const id = watchId(db, name);
    if (client.watched.has(id)) return;
    client.watched.set(id, { db, key: name, expiredAtWatch: this.#stateOf(db, key, nowMs) === 'expired' });
    let keys = this.#byDb.get(db);
    if (keys === undefined) this.#byDb.set(db, (keys = new Map()));
    let clients = keys.get(name);
    if (clients === undefined) keys.set(name, (clients = new Set()));
    clients.add(client);
    this.#keys++;
  }

  /** Forgets every key `client` watches and its dirty flag (EXEC, DISCARD, UNWATCH, RESET, disconnect). */
  unwatchAll(client: Connection): void {
    for (const { db, key } of client.watched.values()) {
      const keys = this.#byDb.get(db);
      const clients = keys?.get(key);
      if (clients === undefined) continue;
      clients.delete(client);
      this.#keys--;
      if (clients.size === 0) keys!.delete(key);
      if (keys!.size === 0) this.#byDb.delete(db);
    }
    client.watched.clear();
    client.watchDirty = false;
  }

  /**
   * A key changed (written, deleted, expired by the sweep): its watchers' next
   * EXEC fails. As Redis's touchWatchedKey, a key that had already expired at
   * WATCH time and is now merely deleted is no logical change. Cheap when
   * nobody watches.
   */
  keyModified(db: number, key: Buffer): void {
    if (this.#keys === 0) return;
    const name = key.toString('latin1');
    const clients = this.#byDb.get(db)?.get(name);
    if (clients === undefined) return;
    let state: KeyState | undefined;
    for (const client of clients) {
      const watched = client.watched.get(watchId(db, name));
      if (watched?.expiredAtWatch === true) {
        state ??= this.#stateOf(db, key, Date.now());
        if (state === 'absent') {
          watched.expiredAtWatch = false;
          continue;
        }
      }
      client.watchDirty = true;
    }
  }

  /**
   * A whole database changed (FLUSHDB, FLUSHALL, SWAPDB): as Redis's
   * touchAllWatchedKeysInDb, a watcher fails when its key was live before or
   * exists after (an expired key that is merely gone is no change).
   */
  dbModified(db: number, change: DbChange): void {
    if (this.#keys === 0) return;
    const keys = this.#byDb.get(db);
    if (keys === undefined) return;
    for (const [name, clients] of keys) {
      const key = Buffer.from(name, 'latin1');
      const before = change.before(key);
      const after = change.after(key);
      if (before !== 'live' && after === 'absent') continue;
      for (const client of clients) client.watchDirty = true;
    }
  }

  /** True when a key `client` watches, live at WATCH time, has expired since (Redis's isWatchedKeyExpired). */
  expiredSinceWatch(client: Connection, nowMs: number): boolean {
    for (const watched of client.watched.values()) {
      if (watched.expiredAtWatch) continue;
      if (this.#stateOf(watched.db, Buffer.from(watched.key, 'latin1'), nowMs) === 'expired') return true;
    }
    return false;
  }
}

function watchId(db: number, key: string): string {
  return `${db}:${key}`;
}

const multi: CommandHandler = (ctx) => {
  const client = clientOf(ctx);
  if (client.multi !== undefined) return new ErrorReply('ERR MULTI calls can not be nested');
  client.multi = { commands: [], bytes: 0, failed: false };
  return OK;
};

const exec: CommandHandler = (ctx) => {
  const client = clientOf(ctx);
  const state = client.multi;
  if (state === undefined) return new ErrorReply('ERR EXEC without MULTI');
  const aborted = state.failed;
  const dirty = client.watchDirty || serverOf(ctx).watches.expiredSinceWatch(client, ctx.nowMs);
  // As Redis: unwatch before running, so the transaction's own writes do not matter.
  client.discardTransaction();
  if (aborted) return execAbortReply;
  if (dirty) return execWatchAborted;
  return serverOf(ctx).dispatcher.exec(client, state.commands);
};

const discard: CommandHandler = (ctx) => {
  const client = clientOf(ctx);
  if (client.multi === undefined) return new ErrorReply('ERR DISCARD without MULTI');
  client.discardTransaction();
  return OK;
};

const watch: CommandHandler = (ctx, args) => {
  const client = clientOf(ctx);
  if (client.multi !== undefined) return new ErrorReply('ERR WATCH inside MULTI is not allowed');
  const watches = serverOf(ctx).watches;
  for (let index = 1; index < args.length; index++) watches.watch(client, ctx.db, args[index]!, ctx.nowMs);
  return OK;
};

const unwatch: CommandHandler = (ctx) => {
  const client = clientOf(ctx);
  serverOf(ctx).watches.unwatchAll(client);
  return OK;
};

function command(name: string, arity: number, flags: CommandSpec['flags'], summary: string, syntax: string, complexity: string, handler: CommandHandler, keys = false): CommandSpec {
  return { name, arity, flags, firstKey: keys ? 1 : 0, lastKey: keys ? -1 : 0, keyStep: keys ? 1 : 0, summary, syntax, complexity, handler };
}

export const transactionCommands: CommandSpec[] = [
  command('multi', 1, ['loading', 'fast'], 'Starts a transaction', '', 'O(1)', multi),
  command('exec', 1, ['loading'], 'Executes all commands in a transaction', '', 'Depends on commands in the transaction', exec),
  command('discard', 1, ['loading', 'fast'], 'Discards a transaction', '', 'O(N), when N is the number of queued commands', discard),
  command('watch', -2, ['loading', 'fast'], 'Monitors changes to keys to determine the execution of a transaction', 'key ...', 'O(1) for every key', watch, true),
  command('unwatch', 1, ['loading', 'fast'], 'Forgets about watched keys of a transaction', '', 'O(1)', unwatch),
];
