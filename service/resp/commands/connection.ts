// Connection commands: PING ECHO QUIT RESET HELLO AUTH SELECT CLIENT, with
// Redis's replies and error wording (redis/redis src/networking.c,
// src/acl.c, src/server.c). They act on the calling client's state
// (protocol, database, name, authentication) and on the server's list of
// clients (CLIENT LIST/KILL).

import { createHash, timingSafeEqual } from 'node:crypto';
import type { CommandContext, CommandHandler, CommandSpec } from '../command.js';
import type { Connection } from '../connection.js';
import { ErrorReply, MapReply, OK, PONG, SimpleReply, VerbatimReply, errors, type Reply } from '../reply.js';
import type { RespServer } from '../server.js';
import { dbIndex } from './keys.js';

const wrongPass = new ErrorReply('WRONGPASS invalid username-password pair or user is disabled.');
const noPasswordConfigured = new ErrorReply(
  'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
);
const resetReply = new SimpleReply('RESET');
const pongWord = Buffer.from('pong');
const emptyBuffer = Buffer.alloc(0);

/** The server behind a command context. */
export function serverOf(ctx: CommandContext): RespServer {
  return ctx.server as RespServer;
}

/** The calling client. */
export function clientOf(ctx: CommandContext): Connection {
  return ctx.client as Connection;
}

/** Parses a whole-buffer signed 64-bit-safe integer as Redis's string2ll does; undefined when it is not one. */
export function parseInteger(arg: Buffer): number | undefined {
  const text = arg.toString('latin1');
  if (!/^-?(0|[1-9]\d*)$/.test(text) || text === '-0') return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** True when `name` is fit for CLIENT SETNAME / SETINFO: printable ASCII, no spaces (Redis's validateClientAttr). */
function validClientAttribute(name: Buffer): boolean {
  for (const byte of name) if (byte < 0x21 || byte > 0x7e) return false;
  return true;
}

/** Compares passwords in constant time (hashes first, so lengths do not leak either). */
export function passwordMatches(given: Buffer, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** AUTH's check: the default user with requirepass (any password when none is set, as Redis's nopass default user). */
function authenticate(server: RespServer, username: Buffer | undefined, password: Buffer): boolean {
  if (username !== undefined && username.toString('latin1') !== 'default') return false;
  if (server.config.requirepass === '') return true;
  return passwordMatches(password, server.config.requirepass);
}

const ping: CommandHandler = (ctx, args) => {
  if (args.length > 2) return errors.arity('ping');
  const client = clientOf(ctx);
  if (client.protocol === 2 && client.subscriptionCount > 0) return [pongWord, args[1] ?? emptyBuffer];
  return args.length === 2 ? args[1]! : PONG;
};

const echo: CommandHandler = (_ctx, args) => args[1]!;

const quit: CommandHandler = (ctx) => {
  clientOf(ctx).closeAfterReply();
  return OK;
};

const reset: CommandHandler = (ctx) => {
  clientOf(ctx).reset();
  return resetReply;
};

const auth: CommandHandler = (ctx, args) => {
  if (args.length > 3) return errors.syntax;
  const server = serverOf(ctx);
  const client = clientOf(ctx);
  if (args.length === 2 && server.config.requirepass === '') return noPasswordConfigured;
  const username = args.length === 3 ? args[1] : undefined;
  if (!authenticate(server, username, args[args.length - 1]!)) {
    server.logger.warn({ client: client.address }, 'AUTH failed');
    return wrongPass;
  }
  client.authenticated = true;
  return OK;
};

const hello: CommandHandler = (ctx, args) => {
  const server = serverOf(ctx);
  const client = clientOf(ctx);
  let protocol: 2 | 3 = client.protocol;
  if (args.length >= 2) {
    const version = parseInteger(args[1]!);
    if (version === undefined) return new ErrorReply('ERR Protocol version is not an integer or out of range');
    if (version !== 2 && version !== 3) return new ErrorReply('NOPROTO unsupported protocol version');
    protocol = version;
  }
  let credentials: [Buffer, Buffer] | undefined;
  let name: Buffer | undefined;
  for (let index = 2; index < args.length; index++) {
    const option = args[index]!.toString('latin1').toLowerCase();
    const more = args.length - index - 1;
    if (option === 'auth' && more >= 2) {
      // As Redis: AUTH takes effect where it stands, even when a later option is then refused.
      credentials = [args[index + 1]!, args[index + 2]!];
      if (!authenticate(server, credentials[0], credentials[1])) return wrongPass;
      client.authenticated = true;
      index += 2;
    } else if (option === 'setname' && more >= 1) {
      name = args[index + 1]!;
      index += 1;
    } else {
      return new ErrorReply(`ERR Syntax error in HELLO option '${args[index]!.toString('latin1')}'`);
    }
  }
  if (credentials === undefined && !client.authenticated && server.config.requirepass !== '') {
    return new ErrorReply(
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
    );
  }
  if (name !== undefined && !validClientAttribute(name) && name.length > 0) {
    return new ErrorReply('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  if (name !== undefined) client.name = name.toString('latin1');
  client.protocol = protocol;
  return new MapReply([
    ['server', 'redis'],
    ['version', server.redisVersion],
    ['proto', protocol],
    ['id', client.id],
    ['mode', 'standalone'],
    ['role', 'master'],
    ['modules', []],
  ]);
};

const select: CommandHandler = (ctx, args) => {
  const index = dbIndex(serverOf(ctx).config.databases, args[1]!);
  if (index instanceof ErrorReply) return index;
  clientOf(ctx).db = index;
  return OK;
};

// ---------------------------------------------------------------- CLIENT

const clientHelp = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  '    * ID <client-id>',
  '      Kill connections by client id.',
  '    * MAXAGE <maxage>',
  '      Kill connections older than the specified age.',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  '    * ID <client-id> [<client-id> ...]',
  '      Return clients of specified IDs only.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]',
  '    Unblock the specified blocked client.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
  'HELP',
  '    Prints this help.',
];

const clientTypes = new Set(['normal', 'master', 'replica', 'slave', 'pubsub']);

/** Whether `client` is of CLIENT LIST/KILL type `type` (silt has no replicas yet). */
function isOfType(client: Connection, type: string): boolean {
  if (type === 'pubsub') return client.subscriptionCount > 0;
  if (type === 'normal') return client.subscriptionCount === 0;
  return false;
}

/** CLIENT LIST and CLIENT INFO answer text: a verbatim string in RESP3, as Redis. */
function textReply(text: string): Reply {
  return new VerbatimReply('txt', text);
}

const clientList: CommandHandler = (ctx, args) => {
  const server = serverOf(ctx);
  let clients = [...server.clients.values()];
  for (let index = 2; index < args.length; ) {
    const option = args[index]!.toString('latin1').toLowerCase();
    if (option === 'type' && index + 1 < args.length) {
      const type = args[index + 1]!.toString('latin1').toLowerCase();
      if (!clientTypes.has(type)) return new ErrorReply(`ERR Unknown client type '${args[index + 1]!.toString('latin1')}'`);
      clients = clients.filter((client) => isOfType(client, type));
      index += 2;
    } else if (option === 'id' && index + 1 < args.length) {
      const ids = new Set<number>();
      index++;
      for (; index < args.length; index++) {
        const id = parseInteger(args[index]!);
        if (id === undefined || id <= 0) return new ErrorReply('ERR Invalid client ID');
        ids.add(id);
      }
      clients = clients.filter((client) => ids.has(client.id));
    } else {
      return errors.syntax;
    }
  }
  return textReply(clients.map((client) => `${client.describe()}\n`).join(''));
};

const clientKill: CommandHandler = (ctx, args) => {
  const server = serverOf(ctx);
  const self = clientOf(ctx);
  if (args.length === 3) {
    const address = args[2]!.toString('latin1');
    const target = [...server.clients.values()].find((client) => client.address === address);
    if (target === undefined) return new ErrorReply('ERR No such client');
    killClient(self, target);
    return OK;
  }
  const filters: ((client: Connection) => boolean)[] = [];
  let skipMe = true;
  for (let index = 2; index < args.length; index += 2) {
    const option = args[index]!.toString('latin1').toLowerCase();
    if (index + 1 >= args.length) return errors.syntax;
    const value = args[index + 1]!;
    const text = value.toString('latin1');
    switch (option) {
      case 'id': {
        const id = parseInteger(value);
        if (id === undefined || id <= 0) return new ErrorReply('ERR client-id should be greater than 0');
        filters.push((client) => client.id === id);
        break;
      }
      case 'addr':
        filters.push((client) => client.address === text);
        break;
      case 'laddr':
        filters.push((client) => client.localAddress === text);
        break;
      case 'type': {
        const type = text.toLowerCase();
        if (!clientTypes.has(type)) return new ErrorReply(`ERR Unknown client type '${text}'`);
        filters.push((client) => isOfType(client, type));
        break;
      }
      case 'user':
        // The only user is "default" (no ACLs yet); Redis refuses a user that does not exist.
        if (text !== 'default') return new ErrorReply(`ERR No such user '${text}'`);
        break;
      case 'skipme': {
        const answer = text.toLowerCase();
        if (answer !== 'yes' && answer !== 'no') return errors.syntax;
        skipMe = answer === 'yes';
        break;
      }
      case 'maxage': {
        const seconds = parseInteger(value);
        if (seconds === undefined || seconds < 0) return errors.syntax;
        filters.push((client) => Date.now() - client.createdMs >= seconds * 1000);
        break;
      }
      default:
        return errors.syntax;
    }
  }
  let killed = 0;
  for (const client of [...server.clients.values()]) {
    if (skipMe && client === self) continue;
    if (!filters.every((filter) => filter(client))) continue;
    killClient(self, client);
    killed++;
  }
  return killed;
};

/** Kills `target`; the caller itself is closed after this reply, as Redis's CLIENT_CLOSE_AFTER_REPLY. */
function killClient(self: Connection, target: Connection): void {
  if (target === self) target.closeAfterReply();
  else target.kill('killed by CLIENT KILL');
}

/** CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when the client was blocked (it gets its timeout reply, or -UNBLOCKED). */
const clientUnblock: CommandHandler = (ctx, args) => {
  // Redis's clientCommand takes UNBLOCK with 3 or 4 arguments, else its subcommand syntax error.
  if (args.length > 4) return errors.subcommandSyntax('client', args[1]!.toString('latin1'));
  const id = parseInteger(args[2]!);
  if (id === undefined) return errors.notInteger;
  let how: 'timeout' | 'error' = 'timeout';
  if (args.length === 4) {
    const reason = args[3]!.toString('latin1').toLowerCase();
    if (reason !== 'timeout' && reason !== 'error') return new ErrorReply('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
    how = reason;
  }
  return serverOf(ctx).blocking.unblock(id, how) ? 1 : 0;
};

const clientSetinfo: CommandHandler = (ctx, args) => {
  const client = clientOf(ctx);
  const option = args[2]!.toString('latin1').toLowerCase();
  const value = args[3]!;
  if (option !== 'lib-name' && option !== 'lib-ver') return new ErrorReply(`ERR Unrecognized option '${args[2]!.toString('latin1')}'`);
  if (!validClientAttribute(value) && value.length > 0) {
    return new ErrorReply(`ERR ${option} cannot contain spaces, newlines or special characters.`);
  }
  if (option === 'lib-name') client.libName = value.toString('latin1');
  else client.libVersion = value.toString('latin1');
  return OK;
};

function sub(name: string, arity: number, flags: CommandSpec['flags'], summary: string, syntax: string, handler: CommandHandler): Omit<CommandSpec, 'subcommands'> {
  return { name, arity, flags, firstKey: 0, lastKey: 0, keyStep: 0, summary, syntax, complexity: 'O(1)', handler };
}

function command(name: string, arity: number, flags: CommandSpec['flags'], summary: string, syntax: string, handler: CommandHandler): CommandSpec {
  return { name, arity, flags, firstKey: 0, lastKey: 0, keyStep: 0, summary, syntax, complexity: 'O(1)', handler };
}

export const connectionCommands: CommandSpec[] = [
  command('ping', -1, ['fast', 'pubsub'], 'Returns the server\'s liveliness response', '[message]', ping),
  command('echo', 2, ['loading', 'fast'], 'Returns the given string', 'message', echo),
  command('quit', -1, ['noauth', 'loading', 'pubsub', 'fast'], 'Closes the connection', '', quit),
  command('reset', 1, ['noauth', 'loading', 'pubsub', 'fast'], 'Resets the connection', '', reset),
  command('hello', -1, ['noauth', 'loading', 'fast'], 'Handshakes with the server', '[protover [AUTH username password] [SETNAME clientname]]', hello),
  command('auth', -2, ['noauth', 'loading', 'fast'], 'Authenticates the connection', '[username] password', auth),
  command('select', 2, ['loading', 'fast'], 'Changes the selected database', 'index', select),
  {
    ...command('client', -2, ['loading'], 'A container for client connection commands', '', (_ctx, args) => errors.unknownSubcommand('client', args[1]!.toString('latin1'))),
    subcommands: {
      id: sub('id', 2, ['loading'], 'Returns the unique client ID of the connection', '', (ctx) => clientOf(ctx).id),
      setname: sub('setname', 3, ['loading'], 'Sets the connection name', 'connection-name', (ctx, args) => {
        const name = args[2]!;
        if (!validClientAttribute(name) && name.length > 0) return new ErrorReply('ERR Client names cannot contain spaces, newlines or special characters.');
        clientOf(ctx).name = name.toString('latin1');
        return OK;
      }),
      getname: sub('getname', 2, ['loading'], 'Returns the name of the connection', '', (ctx) => {
        const name = clientOf(ctx).name;
        return name === '' ? null : Buffer.from(name, 'latin1');
      }),
      setinfo: sub('setinfo', 4, ['loading', 'fast'], 'Sets information specific to the client or connection', '(LIB-NAME libname|LIB-VER libver)', clientSetinfo),
      list: sub('list', -2, ['loading', 'admin'], 'Lists open connections', '[TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID client-id ...]', clientList),
      info: sub('info', 2, ['loading'], 'Returns information about the connection', '', (ctx) => textReply(`${clientOf(ctx).describe()}\n`)),
      kill: sub('kill', -3, ['loading', 'admin'], 'Terminates open connections', '[ID client-id] [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME (YES|NO)] [MAXAGE maxage]', clientKill),
      unblock: sub('unblock', -3, ['loading', 'admin'], 'Unblocks a client blocked by a blocking command from a different connection', 'client-id [TIMEOUT|ERROR]', clientUnblock),
      help: sub('help', 2, ['loading'], 'Returns helpful text about the different subcommands', '', () => clientHelp.map((line) => new SimpleReply(line))),
    },
  },
];
