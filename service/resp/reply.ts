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
  | NullArrayReply;

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
  private constructor() {}
}

export const OK = new SimpleReply('OK');
export const QUEUED = new SimpleReply('QUEUED');
export const PONG = new SimpleReply('PONG');

/** Error replies worded as Redis words them. */
export const errors = {
  wrongType: new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value'),
  syntax: new ErrorReply('ERR syntax error'),
  notInteger: new ErrorReply('ERR value is not an integer or out of range'),
  notFloat: new ErrorReply('ERR value is not a valid float'),
  overflow: new ErrorReply('ERR increment or decrement would overflow'),
  noAuth: new ErrorReply('NOAUTH Authentication required.'),
  noSuchKey: new ErrorReply('ERR no such key'),
  arity: (name: string): ErrorReply => new ErrorReply(`ERR wrong number of arguments for '${name.toLowerCase()}' command`),
  unknownCommand: (name: string, args: readonly Buffer[]): ErrorReply =>
    new ErrorReply(
      `ERR unknown command '${truncate(name)}', with args beginning with: ${args
        .slice(0, 20)
        .map((arg) => `'${truncate(arg.toString('latin1'))}' `)
        .join('')}`,
    ),
  unknownSubcommand: (command: string, sub: string): ErrorReply =>
    new ErrorReply(`ERR unknown subcommand '${truncate(sub)}'. Try ${command.toUpperCase()} HELP.`),
} as const;

function truncate(text: string): string {
  return text.length > 128 ? `${text.slice(0, 128)}...` : text;
}
