// Blocked clients (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, and BZPOPMIN/BZPOPMAX
// through the same contract), as Redis's blocked.c does it, without ever
// making the dispatcher wait: a blocking command that finds nothing returns a
// BlockedReply (reply.ts) at once, and the server parks the client here.
//
// - block(clientId, blocked, deliver) files the client under each of its
//   keys, in arrival order, and arms its timeout (0 = none).
// - keyModified(db, key), called from the keyspace's onKeyModified hook
//   (inside the writing command), only marks the key ready. The waiters are
//   served after that command, by serveReadyKeys(): the dispatcher calls it
//   after each command (so a blocked client is served before the next
//   pipelined command, as Redis's handleClientsBlockedOnKeys runs after each
//   call()); a microtask scheduled by keyModified calls it too, in case the
//   host does not.
// - Serving a ready key: its waiters, longest-waiting first (fair wake-up),
//   each re-run their `retry` through host.runCommand, which runs it as a
//   normal one-at-a-time command of that client. A reply unblocks the client
//   (deliver(reply)); undefined means the key holds nothing for waiters of
//   that kind (BlockedReply.kind: 'list', 'zset'), so the key's later
//   waiters of the same kind keep waiting, in their places, and are not
//   retried (as Redis stops serving a list once it is empty). A served retry
//   modifies keys itself (the pop, BLMOVE's push): those become ready in turn
//   and are served in the same pass.
// - A timeout delivers blocked.timeoutReply; unblock(clientId, how) is CLIENT
//   UNBLOCK (TIMEOUT or ERROR) and disconnection (nothing delivered).
// - Inside MULTI/EXEC a client may not block: nonBlockingReply() turns a
//   BlockedReply into its denied (or timeout) reply at once (Redis's
//   CLIENT_DENY_BLOCKING).
//
// Invariants: a client waits at most once; a waiter is filed under each of
// its distinct keys and in the client index, or in none of them; every
// waiter gets exactly one deliver() (none after a disconnection), and its
// timer is cleared when it leaves.
//
// NB: a retry that has already taken data when its client disconnects
// (possible only while an asynchronous retry runs) loses that data, as a
// Redis reply written to a closed socket does.

import { assert } from '../../lib/assert.js';
import { BlockedReply, ErrorReply, type Reply } from './reply.js';

/** Connection ids, as the server numbers clients. */
export type ClientId = number;

/** What runCommand reports for a retry that produced a reply. */
export interface Served {
  /** The reply to send; a Promise when it waits for the retry's writes to be durable. */
  readonly reply: Reply | Promise<Reply>;
}

/** What the manager needs from the server (and tests fake). */
export interface BlockingHost {
  /**
   * Runs `retry` as one command of client `clientId`, in turn with other
   * commands (never nested inside one): with the client's context (its db,
   * a fresh nowMs, ctx.write as for any command). Returns undefined when
   * retry did, else the reply, wrapped so that it may wait for durability.
   * The manager waits for the result before retrying the next waiter.
   * `blocked` is the waiter's BlockedReply: the host may answer undefined
   * without running retry (keys locked) if it signals the keys again later.
   */
  runCommand(clientId: ClientId, retry: BlockedReply['retry'], blocked?: BlockedReply): Served | undefined | Promise<Served | undefined>;
  /** ms since the epoch (default Date.now). */
  now?(): number;
  /** One-shot timer (default setTimeout, unref'd); delays never exceed 2^31 - 1 ms. */
  setTimer?(callback: () => void, delayMs: number): unknown;
  clearTimer?(handle: unknown): void;
  /** Runs `callback` after the current command (default queueMicrotask). */
  schedule?(callback: () => void): void;
}

/** How a waiter leaves other than by being served. */
export type UnblockReason = 'timeout' | 'error' | 'disconnect';

/** CLIENT UNBLOCK id ERROR's reply to the unblocked client. */
export const unblockedErrorReply = new ErrorReply('UNBLOCKED client unblocked via CLIENT UNBLOCK');

/** Longest delay one timer is armed for (setTimeout's limit); longer timeouts re-arm. */
const timerDelayMaxMs = 2 ** 31 - 1;

/**
 * The reply of a command run where a client may not block (inside
 * MULTI/EXEC): a BlockedReply becomes its denied reply (else its timeout
 * reply) at once, as Redis treats a blocking command under
 * CLIENT_DENY_BLOCKING; anything else is unchanged.
 */
export function nonBlockingReply(reply: Reply): Reply {
  if (!(reply instanceof BlockedReply)) return reply;
  return reply.deniedReply !== undefined ? reply.deniedReply : reply.timeoutReply;
}

type WaiterState = 'blocked' | 'retrying' | 'done';

interface Waiter {
  readonly clientId: ClientId;
  readonly blocked: BlockedReply;
  readonly deliver: (reply: Reply | Promise<Reply>) => void;
  /** Slots it is filed under (one per distinct key). */
  readonly slots: Slot[];
  /** Absolute deadline, ms; 0 = none. */
  readonly deadlineMs: number;
  timer: unknown;
  state: WaiterState;
  /** The deadline passed while a retry ran: answer the timeout unless the retry served. */
  timedOut: boolean;
  /** The client went away while a retry ran: deliver nothing. */
  cancelled: boolean;
}

/** Where a pass over the ready keys is. */
interface PassCursor {
  slots: Slot[];
  slotIndex: number;
  /** Snapshot of the current slot's waiters. */
  waiters: Waiter[];
  waiterIndex: number;
  /** Kinds whose retry found the current slot's key empty. */
  exhausted: Set<string>;
}

/** The waiters of one key, in blocking order (Map keeps insertion order; deletes are O(1)). */
interface Slot {
  readonly id: string;
  readonly db: number;
  readonly key: Buffer;
  readonly waiters: Map<ClientId, Waiter>;
}

export class BlockingManager {
  readonly #host: BlockingHost;
  readonly #now: () => number;
  readonly #setTimer: (callback: () => void, delayMs: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;
  readonly #schedule: (callback: () => void) => void;
  readonly #byClient = new Map<ClientId, Waiter>();
  readonly #slots = new Map<string, Slot>();
  /** Keys modified since the last pass, in the order they were signalled. */
  #ready = new Map<string, Slot>();
  #scheduled = false;
  /** A pass over the ready keys is running. */
  #passing = false;
  /** The running pass, when it went asynchronous. */
  #serving: Promise<void> | undefined;

  constructor(host: BlockingHost) {
    this.#host = host;
    this.#now = host.now?.bind(host) ?? Date.now;
    this.#setTimer =
      host.setTimer?.bind(host) ??
      ((callback, delayMs) => {
        const timer = setTimeout(callback, delayMs);
        timer.unref();
        return timer;
      });
    this.#clearTimer = host.clearTimer?.bind(host) ?? ((handle) => clearTimeout(handle as NodeJS.Timeout));
    this.#schedule = host.schedule?.bind(host) ?? queueMicrotask;
  }

  /** Clients waiting (INFO blocked_clients). */
  get blockedClients(): number {
    return this.#byClient.size;
  }

  /** Distinct keys with waiters (INFO total_blocking_keys). */
  get blockingKeys(): number {
    return this.#slots.size;
  }

  isBlocked(clientId: ClientId): boolean {
    return this.#byClient.has(clientId);
  }

  /**
   * Parks `clientId` until one of `blocked.keys` yields a reply, the timeout
   * passes, or unblock(). `deliver` is called exactly once (never after a
   * disconnection), possibly synchronously from keyModified's pass, never
   * from inside block().
   */
  block(clientId: ClientId, blocked: BlockedReply, deliver: (reply: Reply | Promise<Reply>) => void): void {
    assert(!this.#byClient.has(clientId), 'a client blocks at most once at a time');
    assert(blocked.keys.length > 0, 'a blocking command waits on at least one key');
    assert(blocked.timeoutMs >= 0, 'a timeout is not negative');
    const deadlineMs = blocked.timeoutMs === 0 ? 0 : this.#now() + blocked.timeoutMs;
    const waiter: Waiter = { clientId, blocked, deliver, slots: [], deadlineMs, timer: undefined, state: 'blocked', timedOut: false, cancelled: false };
    for (const key of blocked.keys) {
      const id = slotId(blocked.db, key);
      let slot = this.#slots.get(id);
      if (slot === undefined) {
        slot = { id, db: blocked.db, key, waiters: new Map() };
        this.#slots.set(id, slot);
      }
      if (slot.waiters.has(clientId)) continue; // BLPOP k k 0 waits on k once
      slot.waiters.set(clientId, waiter);
      waiter.slots.push(slot);
    }
    this.#byClient.set(clientId, waiter);
    if (deadlineMs !== 0) this.#arm(waiter);
  }

  /**
   * A write changed `key` in `db` (the keyspace's onKeyModified hook): its
   * waiters are retried after the current command. O(1); nothing when no
   * client waits.
   */
  keyModified(db: number, key: Buffer): void {
    if (this.#slots.size === 0) return;
    const id = slotId(db, key);
    const slot = this.#slots.get(id);
    if (slot === undefined || this.#ready.has(id)) return;
    this.#ready.set(id, slot);
    this.#scheduleServe();
  }

  /** Every key of `db` may have changed (SWAPDB, FLUSHDB ...): retries all its waiters. O(keys waited on). */
  dbModified(db: number): void {
    let marked = false;
    for (const slot of this.#slots.values()) {
      if (slot.db !== db || this.#ready.has(slot.id)) continue;
      this.#ready.set(slot.id, slot);
      marked = true;
    }
    if (marked) this.#scheduleServe();
  }

  /**
   * Ends `clientId`'s wait: 'timeout' delivers the timeout reply (CLIENT
   * UNBLOCK id [TIMEOUT]), 'error' the -UNBLOCKED error (CLIENT UNBLOCK id
   * ERROR), 'disconnect' nothing (the client is gone).
   * @returns whether the client was blocked
   */
  unblock(clientId: ClientId, how: UnblockReason = 'timeout'): boolean {
    const waiter = this.#byClient.get(clientId);
    if (waiter === undefined) return false;
    if (waiter.state === 'retrying') {
      // Its retry is running (asynchronously): let it finish, then answer as asked.
      if (how === 'disconnect') {
        waiter.cancelled = true;
        this.#leave(waiter);
      } else {
        waiter.timedOut = true;
      }
      return true;
    }
    this.#leave(waiter);
    if (how === 'timeout') waiter.deliver(waiter.blocked.timeoutReply);
    else if (how === 'error') waiter.deliver(unblockedErrorReply);
    return true;
  }

  /**
   * Serves the waiters of every key marked ready, until none is left. The
   * dispatcher calls it after each command; keyModified schedules it too.
   * Synchronous while host.runCommand answers synchronously; otherwise a
   * Promise. A call made while a pass runs returns at once (with that pass's
   * Promise, if it is asynchronous): the pass serves what was signalled
   * meanwhile before it ends.
   */
  serveReadyKeys(): void | Promise<void> {
    if (this.#passing) return this.#serving;
    if (this.#ready.size === 0) return;
    this.#passing = true;
    let pass: Promise<void> | undefined;
    try {
      pass = this.#run({ slots: [], slotIndex: 0, waiters: [], waiterIndex: 0, exhausted: new Set() });
    } finally {
      if (pass === undefined) this.#passing = false;
    }
    if (pass === undefined) return;
    this.#serving = pass.finally(() => {
      this.#passing = false;
      this.#serving = undefined;
    });
    return this.#serving;
  }

  /** Drops every waiter and timer without replying (shutdown). */
  clear(): void {
    for (const waiter of [...this.#byClient.values()]) {
      if (waiter.state === 'retrying') waiter.cancelled = true;
      this.#leave(waiter);
    }
    this.#ready.clear();
  }

  // ---------------------------------------------------------------- private

  #scheduleServe(): void {
    if (this.#scheduled || this.#passing) return;
    this.#scheduled = true;
    this.#schedule(() => {
      this.#scheduled = false;
      void this.serveReadyKeys();
    });
  }

  /**
   * Advances a pass: the ready keys in the order they were signalled, each
   * key's waiters in blocking order (a snapshot: clients that block during
   * the pass wait for the next signal), until no key is ready. Synchronous
   * until a retry answers through a Promise; the rest then follows it.
   */
  #run(cursor: PassCursor): Promise<void> | undefined {
    // Bounded: every retry either serves (and removes) a waiter or ends its key's turn without writing.
    while (true) {
      if (cursor.waiterIndex >= cursor.waiters.length) {
        if (cursor.slotIndex >= cursor.slots.length) {
          if (this.#ready.size === 0) return undefined;
          cursor.slots = [...this.#ready.values()];
          cursor.slotIndex = 0;
          this.#ready = new Map();
        }
        cursor.waiters = [...cursor.slots[cursor.slotIndex++]!.waiters.values()];
        cursor.waiterIndex = 0;
        cursor.exhausted.clear();
        continue;
      }
      const waiter = cursor.waiters[cursor.waiterIndex++]!;
      if (waiter.state !== 'blocked') continue;
      const kind = waiter.blocked.kind;
      if (kind !== undefined && cursor.exhausted.has(kind)) continue; // the key had nothing for this kind
      waiter.state = 'retrying';
      let result: Served | undefined | Promise<Served | undefined>;
      try {
        result = this.#host.runCommand(waiter.clientId, waiter.blocked.retry, waiter.blocked);
      } catch (error) {
        result = { reply: failedReply(error) };
      }
      if (result instanceof Promise) {
        return result
          .catch((error: unknown): Served => ({ reply: failedReply(error) }))
          .then((served) => {
            if (!this.#settle(waiter, served) && kind !== undefined) cursor.exhausted.add(kind);
            return this.#run(cursor);
          });
      }
      // The key had nothing for this waiter, so none for the later ones of its kind either.
      if (!this.#settle(waiter, result) && kind !== undefined) cursor.exhausted.add(kind);
    }
  }

  /**
   * Applies a retry's outcome to its waiter.
   * @returns whether to go on with the key's next waiter (false: the key had nothing)
   */
  #settle(waiter: Waiter, served: Served | undefined): boolean {
    if (waiter.cancelled) return true; // gone meanwhile (already out of every index)
    if (served !== undefined) {
      this.#leave(waiter);
      waiter.deliver(served.reply);
      return true;
    }
    if (waiter.timedOut) {
      this.#leave(waiter);
      waiter.deliver(waiter.blocked.timeoutReply);
      return false;
    }
    waiter.state = 'blocked';
    return false;
  }

  #arm(waiter: Waiter): void {
    const remaining = waiter.deadlineMs - this.#now();
    waiter.timer = this.#setTimer(() => this.#expire(waiter), Math.min(Math.max(remaining, 0), timerDelayMaxMs));
  }

  #expire(waiter: Waiter): void {
    waiter.timer = undefined;
    if (waiter.state === 'done') return;
    if (this.#now() < waiter.deadlineMs) {
      this.#arm(waiter); // a long timeout in steps, or a timer that fired early
      return;
    }
    if (waiter.state === 'retrying') {
      waiter.timedOut = true;
      return;
    }
    this.#leave(waiter);
    waiter.deliver(waiter.blocked.timeoutReply);
  }

  /** Takes `waiter` out of every index and clears its timer. */
  #leave(waiter: Waiter): void {
    waiter.state = 'done';
    if (waiter.timer !== undefined) {
      this.#clearTimer(waiter.timer);
      waiter.timer = undefined;
    }
    if (this.#byClient.get(waiter.clientId) === waiter) this.#byClient.delete(waiter.clientId);
    for (const slot of waiter.slots) {
      slot.waiters.delete(waiter.clientId);
      if (slot.waiters.size === 0) {
        this.#slots.delete(slot.id);
        this.#ready.delete(slot.id);
      }
    }
  }
}

// ---------------------------------------------------------------- helpers

/** Index key of (db, key): latin1 maps bytes one to one. */
function slotId(db: number, key: Buffer): string {
  return `${db}:${key.toString('latin1')}`;
}

function failedReply(error: unknown): ErrorReply {
  return new ErrorReply(`ERR ${(error as Error)?.message ?? String(error)}`);
}
