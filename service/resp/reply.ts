// Reply values: what command handlers return, before the encoder turns them
// into RESP2 or RESP3 bytes for a connection's protocol version. Plain JS
// values cover the common cases so hot commands allocate nothing extra:
//
//   number (an integer)    -> :N
//   bigint                 -> :N (integers beyond 2^53, e.g. INCR near 2^63)
//   Buffer | string        -> $len bulk string (strings are UTF-8)
//   null                   -> null bulk: $-1 (RESP2), _ (RESP3)
//   Reply[]                -> *N array
//
// Everything else is a small tagged class. RESP3-only shapes degrade to their
// RESP2 form as Redis does: MapReply -> flat array, SetReply -> array,
// DoubleReply -> bulk string, BooleanReply -> integer 0/1, PushReply -> array,
// NullArrayReply -> *-1 (RESP2) / _ (RESP3), VerbatimReply -> bulk string.
//
// BlockedReply is not sent: a blocking command (BLPOP ...) that found nothing
// returns it, and the server parks the client in the BlockingManager
// (blocking.ts) or, inside MULTI, answers its timeout reply at once.

import type { CommandContext } from './command.js';

export type Reply =
  | number
  | bigint
  | Buffer
  | string
  | null
  | Reply[]
  | SimpleReply
  | ErrorReply
  | MapReply
  | SetReply
  | DoubleReply
  | BooleanReply
  | BigNumberReply
  | VerbatimReply
  | PushReply
  | NullArrayReply
  | BlockedReply;

/** +OK style status reply. */
export class SimpleReply {
  constructor(readonly text: string) {}
}

/** -ERR style error reply; `text` includes the prefix word ("ERR ...", "WRONGTYPE ..."). */
export class ErrorReply {
  constructor(readonly text: string) {}
}

/** RESP3 map (%); RESP2: flat array key, value, key, value. */
export class MapReply {
  constructor(readonly entries: [Reply, Reply][]) {}
}

/** RESP3 set (~); RESP2: array. */
export class SetReply {
  constructor(readonly items: Reply[]) {}
}

/** RESP3 double (,); RESP2: bulk string. `value` is formatted as Redis formats doubles. */
export class DoubleReply {
  constructor(readonly value: number) {}
}

/** RESP3 boolean (#); RESP2: integer 1/0. */
export class BooleanReply {
  constructor(readonly value: boolean) {}
}

/** RESP3 big number ((); RESP2: bulk string. */
export class BigNumberReply {
  constructor(readonly value: bigint) {}
}

/** RESP3 verbatim string (=, with a 3-letter format); RESP2: bulk string. */
export class VerbatimReply {
  constructor(
    readonly format: string,
    readonly text: string,
  ) {}
}

/** RESP3 push (>), used for pub/sub messages; RESP2: array. */
export class PushReply {
  constructor(readonly items: Reply[]) {}
}

/** Null array: *-1 in RESP2 (e.g. EXEC aborted by WATCH, BLPOP timeout), _ in RESP3. */
export class NullArrayReply {
  static readonly instance = new NullArrayReply();
  /** Makes the type nominal: a class without members would take any object as a Reply. */
  private readonly nominal = true;
  private constructor() {}
}

/**
 * What a blocking command (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, BZPOPMIN
 * ...) returns when it finds nothing to take. Never encoded: the dispatcher
 * hands it to BlockingManager.block() (service/resp/blocking.ts), which
 * re-runs `retry` when one of `keys` is modified and answers `timeoutReply`
 * when `timeoutMs` passes; where a client may not block (inside MULTI/EXEC)
 * the dispatcher answers at once (blocking.ts, nonBlockingReply():
 * `deniedReply`, else `timeoutReply`), as Redis does.
 */
export class BlockedReply {
  constructor(
    /** Logical db of `keys`. */
    readonly db: number,
    /** Keys to wait on, in the command's order: copies the reply owns. */
    readonly keys: readonly Buffer[],
    /** How long to wait, ms; 0 = forever. */
    readonly timeoutMs: number,
    /**
     * The command's non-blocking attempt again, run as a command of the
     * blocked client (fresh ctx.nowMs, writes through ctx.write): the reply
     * to send, or undefined when still none of `keys` holds anything this
     * command could take (then it has written nothing). Contract the
     * manager relies on when `kind` is set: undefined means no waiter of
     * the same kind could take anything from these keys now either.
     */
    readonly retry: (ctx: CommandContext) => Reply | undefined | Promise<Reply | undefined>,
    /** The reply when the wait times out or CLIENT UNBLOCK ends it (a null array for every list and zset command, as Redis's replyToBlockedClientTimedOut). */
    readonly timeoutReply: Reply,
    /**
     * What the retry takes from its keys ('list', 'zset'). Once a retry of
     * one kind finds a key empty, the manager skips that key's later waiters
     * of the same kind in the same pass; without a kind, every waiter is
     * retried.
     */
    readonly kind?: string,
    /**
     * The reply where the client may not block (inside MULTI/EXEC), when it
     * differs from `timeoutReply`: BLMOVE and BRPOPLPUSH answer a null bulk
     * there, but a null array on timeout, as Redis does.
     */
    readonly deniedReply?: Reply,
    /** Keys the retry writes besides `keys` (BLMOVE's destination: copies the reply owns). */
    readonly alsoWrites?: readonly Buffer[],
  ) {}
}

export const OK = new SimpleReply('OK');
export const QUEUED = new SimpleReply('QUEUED');
export const PONG = new SimpleReply('PONG');

/** Error replies worded as Redis words them. */
export const errors = {
  wrongType: new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value'),
  syntax: new ErrorReply('ERR syntax error'),
  notInteger: new ErrorReply('ERR value is not an integer or out of range'),
  /** getIntFromObjectOrReply's reply for an integer outside [INT_MIN, INT_MAX] (a db index). */
  notInt32: new ErrorReply('ERR value is out of range, value must between -2147483648 and 2147483647'),
  notFloat: new ErrorReply('ERR value is not a valid float'),
  overflow: new ErrorReply('ERR increment or decrement would overflow'),
  noAuth: new ErrorReply('NOAUTH Authentication required.'),
  noSuchKey: new ErrorReply('ERR no such key'),
  /** Redis 7.4's reply to NOVALUES in SCAN, SSCAN or ZSCAN (7.0 has no NOVALUES: a syntax error); silt serves HSCAN NOVALUES as 7.4 does. */
  noValuesOnlyHscan: new ErrorReply('ERR NOVALUES option can only be used in HSCAN'),
  arity: (name: string): ErrorReply => new ErrorReply(`ERR wrong number of arguments for '${name.toLowerCase()}' command`),
  /** As processCommand words it: the arguments quoted one by one while the text is under 128 characters, the last one cut to fit. */
  unknownCommand: (name: string, args: readonly Buffer[]): ErrorReply => {
    let quoted = '';
    for (let index = 0; index < args.length && quoted.length < 128; index++) quoted += `'${args[index]!.toString('latin1', 0, 128 - quoted.length)}' `;
    return new ErrorReply(`ERR unknown command '${truncate(name)}', with args beginning with: ${quoted}`);
  },
  unknownSubcommand: (command: string, sub: string): ErrorReply =>
    new ErrorReply(`ERR unknown subcommand '${truncate(sub)}'. Try ${command.toUpperCase()} HELP.`),
  /** addReplySubcommandSyntaxError: a known subcommand with arguments its handler refuses; `sub` as the client typed it. */
  subcommandSyntax: (command: string, sub: string): ErrorReply =>
    new ErrorReply(`ERR unknown subcommand or wrong number of arguments for '${truncate(sub)}'. Try ${command.toUpperCase()} HELP.`),
} as const;

/** Redis's `%.128s`: the first 128 characters, cut without a mark. */
function truncate(text: string): string {
  return text.length > 128 ? text.slice(0, 128) : text;
}

/**
 * The dispatcher's answer to a command whose writes are not durable yet:
 * `reply` is to be sent once `durability` resolves, `failed(error)` in its
 * place if it rejects. An object rather than a promise of the reply: a
 * connection waits once on each durability promise for all the replies that
 * share it (every write of one event-loop turn shares the engine's), where
 * a promise per reply cost a reaction each.
 */
export class DurableReply {
  constructor(
    readonly reply: Reply,
    readonly durability: Promise<unknown>,
    readonly failed: (error: unknown) => Reply,
  ) {}
}
