// The command table: every family's CommandSpec[] (connection, server and
// COMMAND, transactions, pub/sub here; strings and keys; hashes, lists, sets
// and sorted sets from the collections work) in one lookup by lower-cased
// name (as redis/redis src/commands/*.json records name, arity, flags and key
// positions per command), the arity check the dispatcher runs before a
// handler, and the COMMAND command (COUNT, INFO, DOCS, LIST, GETKEYS) that
// redis-cli and client libraries read to learn what the server offers.
//
// Invariants: names are unique and lower case; a subcommand's arity counts the
// command name too (CLIENT LIST has arity 2); a command that is not in the
// table answers "unknown command", never a fake reply.
//
// Key positions: a spec's first/last/step are Redis's legacy positions (what
// COMMAND INFO shows, checked against redis-server 7.0 by
// tools/dev/compare-command-info.ts). Commands whose keys follow a numkeys
// argument (ZUNIONSTORE, LMPOP ...) cannot say theirs that way: Redis marks
// them movablekeys and finds their keys by a procedure; here that is
// numkeysCommands, which COMMAND INFO and COMMAND GETKEYS read.

import { assert } from '../../lib/assert.js';
import type { CommandFlag, CommandHandler, CommandSpec } from './command.js';
import { ErrorReply, MapReply, SetReply, SimpleReply, errors, type Reply } from './reply.js';
import { stringMatch as globMatch } from '../../lib/keyspace/glob.js';
import { connectionCommands } from './commands/connection.js';
import { serverCommands } from './commands/server.js';
import { transactionCommands } from './commands/transactions.js';
import { pubsubCommands } from './commands/pubsub.js';
import { stringCommands } from './commands/strings.js';
import { keyCommands } from './commands/keys.js';
import { hashCommands } from './commands/hashes.js';
import { listCommands } from './commands/lists.js';
import { setCommands } from './commands/sets.js';
import { sortedSetCommands } from './commands/sorted-sets.js';

/** A subcommand spec (CLIENT LIST ...) or a top-level one. */
export type AnySpec = Omit<CommandSpec, 'subcommands'> & { subcommands?: CommandSpec['subcommands'] };

/** A family of commands and the Redis group COMMAND DOCS files them under. */
export interface CommandFamily {
  group: string;
  commands: readonly CommandSpec[];
}

/** What the dispatcher runs: the spec that owns the handler, and its full name ("client|list"). */
export interface ResolvedCommand {
  spec: AnySpec;
  fullName: string;
  /** The top-level command (itself when there is no subcommand). */
  command: CommandSpec;
}

/** Slots of CommandTable's cache of spellings by their bytes (a power of two). */
const spellingSlots = 512;
/** Longest name the byte cache holds (the longest command name is 17 bytes). */
const spellingBytesMax = 24;

export class CommandTable {
  readonly #byName = new Map<string, CommandSpec>();
  /** Exact spellings seen on the wire ("GET", "Get"), so the hot path lower-cases each spelling once. */
  readonly #bySpelling = new Map<string, CommandSpec>();
  readonly #groups = new Map<CommandSpec, string>();
  /**
   * The same spellings by their bytes, hashed into slots (the last one wins
   * a slot): resolve() finds a command without making a string of its name.
   */
  readonly #slotBytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(spellingSlots).fill(undefined);
  readonly #slotSpecs: (CommandSpec | undefined)[] = new Array<CommandSpec | undefined>(spellingSlots).fill(undefined);
  /** The ResolvedCommand of each command without subcommands, made once (resolve() returns it for every call). */
  readonly #resolvedTop = new Map<CommandSpec, ResolvedCommand>();

  constructor(families: readonly CommandFamily[]) {
    for (const family of families) {
      for (const spec of family.commands) {
        assert(spec.name === spec.name.toLowerCase(), `command name "${spec.name}" is lower case`);
        assert(!this.#byName.has(spec.name), `command "${spec.name}" is defined once`);
        this.#byName.set(spec.name, spec);
        this.#groups.set(spec, family.group);
      }
    }
  }

  /** Every top-level command, in definition order. */
  get commands(): IterableIterator<CommandSpec> {
    return this.#byName.values();
  }

  get size(): number {
    return this.#byName.size;
  }

  /** The command called `name` (any case), if any. */
  get(name: string): CommandSpec | undefined {
    const found = this.#bySpelling.get(name);
    if (found !== undefined) return found;
    const spec = this.#byName.get(name.toLowerCase());
    // Only names that exist are remembered, so the map stays as small as the table times its spellings.
    if (spec !== undefined && this.#bySpelling.size < 16 * this.#byName.size) this.#bySpelling.set(name, spec);
    return spec;
  }

  /** get() of the spelling in `name`'s bytes: from the byte cache when it holds them, else get() (which then fills it). */
  #bySpellingBytes(name: Buffer): CommandSpec | undefined {
    const length = name.length;
    if (length === 0 || length > spellingBytesMax) return this.get(name.toString('latin1'));
    let hash = 0x811c9dc5; // FNV-1a
    for (let index = 0; index < length; index++) hash = Math.imul(hash ^ name[index]!, 0x01000193);
    const slot = (hash >>> 0) & (spellingSlots - 1);
    const cached = this.#slotBytes[slot];
    if (cached !== undefined && cached.length === length) {
      let index = 0;
      while (index < length && cached[index] === name[index]) index++;
      if (index === length) return this.#slotSpecs[slot];
    }
    const spec = this.get(name.toString('latin1'));
    if (spec !== undefined) {
      // A copy: `name` is a view into a read buffer that will be reused.
      this.#slotBytes[slot] = Buffer.from(name);
      this.#slotSpecs[slot] = spec;
    }
    return spec;
  }

  groupOf(spec: CommandSpec): string {
    return this.#groups.get(spec) ?? 'generic';
  }

  /**
   * Finds the spec for a request and checks its arity, as Redis's
   * processCommand does before running anything.
   * @returns the command, or the error reply the client gets
   */
  resolve(args: readonly Buffer[]): ResolvedCommand | ErrorReply {
    const command = this.#bySpellingBytes(args[0]!);
    if (command === undefined) return errors.unknownCommand(args[0]!.toString('latin1'), args.slice(1));
    if (!arityOk(command.arity, args.length)) return new ArityRejection(command.name);
    if (command.subcommands === undefined || args.length < 2) {
      let resolved = this.#resolvedTop.get(command);
      if (resolved === undefined) this.#resolvedTop.set(command, (resolved = { spec: command, fullName: command.name, command }));
      return resolved;
    }
    const subName = args[1]!.toString('latin1').toLowerCase();
    const sub = command.subcommands[subName];
    if (sub === undefined || !Object.hasOwn(command.subcommands, subName)) return errors.unknownSubcommand(command.name, args[1]!.toString('latin1'));
    const fullName = `${command.name}|${subName}`;
    if (!arityOk(sub.arity, args.length)) return new ArityRejection(fullName);
    return { spec: sub, fullName, command };
  }
}

/** A request with the wrong number of arguments: Redis counts it in its command's rejected_calls. */
export class ArityRejection extends ErrorReply {
  constructor(readonly fullName: string) {
    super(errors.arity(fullName).text);
  }
}

/** Redis's arity rule: N means exactly N arguments (with the name), -N at least N. */
export function arityOk(arity: number, count: number): boolean {
  return arity >= 0 ? count === arity : count >= -arity;
}

/** Where a numkeys command's keys are: the numkeys argument's index, and whether a destination key (index 1) comes first. */
export interface NumkeysLayout {
  numkeysIndex: number;
  destination: boolean;
}

/** Commands whose keys follow a numkeys argument (Redis 7's movablekeys commands that silt serves). */
export const numkeysCommands: Readonly<Record<string, NumkeysLayout>> = {
  zunionstore: { numkeysIndex: 2, destination: true },
  zinterstore: { numkeysIndex: 2, destination: true },
  zdiffstore: { numkeysIndex: 2, destination: true },
  zunion: { numkeysIndex: 1, destination: false },
  zinter: { numkeysIndex: 1, destination: false },
  zdiff: { numkeysIndex: 1, destination: false },
  zintercard: { numkeysIndex: 1, destination: false },
  sintercard: { numkeysIndex: 1, destination: false },
  lmpop: { numkeysIndex: 1, destination: false },
  zmpop: { numkeysIndex: 1, destination: false },
  blmpop: { numkeysIndex: 2, destination: false },
  bzmpop: { numkeysIndex: 2, destination: false },
};

/** The layout of a movable-keys command (by its full name), if it is one. */
export function numkeysLayout(fullName: string): NumkeysLayout | undefined {
  return Object.hasOwn(numkeysCommands, fullName) ? numkeysCommands[fullName] : undefined;
}

/**
 * Key argument indexes of a request: by the spec's key positions, or for a
 * numkeys command by its numkeys argument.
 * @returns the indexes, or undefined when a numkeys argument is not a count
 *   of keys that are there (Redis's getkeys then finds none)
 */
export function requestKeyIndexes(resolved: ResolvedCommand, args: readonly Buffer[]): number[] | undefined {
  const layout = numkeysLayout(resolved.fullName);
  if (layout === undefined) return keyIndexes(resolved.spec, args.length);
  // Redis reads numkeys with atoi here (not the command's strict parse): "2abc" is 2, "x" is 0.
  const numkeys = cAtoi(args[layout.numkeysIndex]!);
  const first = layout.numkeysIndex + 1;
  if (numkeys === undefined || numkeys < 1 || numkeys > args.length - first) return undefined;
  const indexes = layout.destination ? [1] : [];
  for (let index = first; index < first + numkeys; index++) indexes.push(index);
  return indexes;
}

/** C's atoi as glibc behaves for int: leading blanks, a sign, digits up to the first other byte; undefined past the int range. */
function cAtoi(arg: Buffer): number | undefined {
  const match = /^[ \t\n\v\f\r]*([+-]?\d*)/.exec(arg.toString('latin1'))!;
  const digits = match[1]!;
  if (!/\d/.test(digits)) return 0;
  const value = Number(digits);
  return value > 2_147_483_647 || value < -2_147_483_648 ? undefined : value;
}

/** Key arguments of a request by the spec's key positions (COMMAND GETKEYS, WATCH-style uses). */
export function keyIndexes(spec: AnySpec, argumentCount: number): number[] {
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? argumentCount + spec.lastKey : spec.lastKey;
  const step = spec.keyStep > 0 ? spec.keyStep : 1;
  const indexes: number[] = [];
  for (let index = spec.firstKey; index <= last && index < argumentCount; index += step) indexes.push(index);
  return indexes;
}

/** The table of every command silt serves. */
export function defaultCommandTable(): CommandTable {
  return new CommandTable([
    { group: 'connection', commands: connectionCommands },
    { group: 'server', commands: [...serverCommands, commandCommand] },
    { group: 'transactions', commands: transactionCommands },
    { group: 'pubsub', commands: pubsubCommands },
    { group: 'string', commands: stringCommands },
    { group: 'generic', commands: keyCommands },
    { group: 'hash', commands: hashCommands },
    { group: 'list', commands: listCommands },
    { group: 'set', commands: setCommands },
    { group: 'sorted-set', commands: sortedSetCommands },
  ]);
}

// ---------------------------------------------------------------- COMMAND

/** What COMMAND needs from the server: its table. */
interface HasCommandTable {
  readonly commandTable: CommandTable;
}

const flagNames: Readonly<Record<CommandFlag, string>> = {
  write: 'write',
  readonly: 'readonly',
  admin: 'admin',
  noauth: 'no_auth',
  pubsub: 'pubsub',
  fast: 'fast',
  loading: 'loading',
  'no-multi': 'no_multi',
  blocking: 'blocking',
};

const commandHelp = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all commands.',
  'COUNT',
  '    Return the total number of commands in this server.',
  'LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]',
  '    Return a list of all commands in this server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full command.',
  'HELP',
  '    Prints this help.',
];

function table(ctx: { server: unknown }): CommandTable {
  return (ctx.server as HasCommandTable).commandTable;
}

const commandAll: CommandHandler = (ctx) => [...table(ctx).commands].map((spec) => commandInfo(table(ctx), spec, spec.name, spec));

/** The COMMAND command itself; it lives here because it reads the table. */
export const commandCommand: CommandSpec = {
  name: 'command',
  arity: -1,
  flags: ['loading'],
  firstKey: 0,
  lastKey: 0,
  keyStep: 0,
  summary: 'Returns detailed information about all commands',
  complexity: 'O(N) where N is the total number of commands',
  handler: (ctx, args) => {
    if (args.length === 1) return commandAll(ctx, args);
    // With a subcommand the dispatcher resolves `subcommands` first; reaching here means none matched.
    return errors.unknownSubcommand('command', args[1]!.toString('latin1'));
  },
  subcommands: {
    count: sub('count', 2, 'Returns a count of commands', 'O(1)', (ctx) => table(ctx).size),
    info: sub('info', -2, 'Returns information about one, multiple or all commands', 'O(N) where N is the number of commands to look up', (ctx, args) => {
      const commands = table(ctx);
      if (args.length === 2) return [...commands.commands].map((spec) => commandInfo(commands, spec, spec.name, spec));
      return args.slice(2).map((name) => {
        const found = findFullName(commands, name.toString('latin1'));
        return found === undefined ? null : commandInfo(commands, found.spec, found.fullName, found.command);
      });
    }),
    docs: sub('docs', -2, 'Returns documentary information about one, multiple or all commands', 'O(N) where N is the number of commands to look up', (ctx, args) => {
      const commands = table(ctx);
      const entries: [Reply, Reply][] = [];
      const names = args.length === 2 ? [...commands.commands].map((spec) => spec.name) : args.slice(2).map((name) => name.toString('latin1').toLowerCase());
      for (const name of names) {
        const found = findFullName(commands, name);
        if (found === undefined) continue;
        entries.push([found.fullName, commandDocs(commands, found.spec, found.fullName, found.command)]);
      }
      return new MapReply(entries);
    }),
    list: sub('list', -2, 'Returns a list of command names', 'O(N) where N is the total number of commands', (ctx, args) => {
      const commands = table(ctx);
      const names: string[] = [];
      for (const spec of commands.commands) {
        names.push(spec.name);
        for (const subName of Object.keys(spec.subcommands ?? {})) names.push(`${spec.name}|${subName}`);
      }
      if (args.length === 2) return names;
      if (args.length !== 5 || args[2]!.toString('latin1').toLowerCase() !== 'filterby') return errors.syntax;
      const kind = args[3]!.toString('latin1').toLowerCase();
      const value = args[4]!;
      if (kind === 'module') return [];
      if (kind === 'pattern') return names.filter((name) => globMatch(value, Buffer.from(name, 'latin1'), true));
      if (kind === 'aclcat') {
        const category = value.toString('latin1').toLowerCase().replace(/^@/, '');
        return names.filter((name) => {
          const found = findFullName(commands, name)!;
          return aclCategories(commands, found.spec, found.command).includes(`@${category}`);
        });
      }
      return errors.syntax;
    }),
    getkeys: sub('getkeys', -3, 'Extracts the key names from an arbitrary command', 'O(N) where N is the number of arguments to the command', (ctx, args) => {
      const target = args.slice(2);
      const resolved = table(ctx).resolve(target);
      if (resolved instanceof ErrorReply) {
        // getKeysSubcommandImpl's order: an unknown command (or subcommand), then a command without
        // keys, then the arity.
        const command = table(ctx).get(target[0]!.toString('latin1'));
        if (command === undefined) return new ErrorReply('ERR Invalid command specified');
        let spec: AnySpec = command;
        let fullName = command.name;
        if (command.subcommands !== undefined && target.length >= 2) {
          const subName = target[1]!.toString('latin1').toLowerCase();
          if (!Object.hasOwn(command.subcommands, subName)) return new ErrorReply('ERR Invalid command specified');
          spec = command.subcommands[subName]!;
          fullName = `${command.name}|${subName}`;
        }
        if (spec.firstKey <= 0 && numkeysLayout(fullName) === undefined) return new ErrorReply('ERR The command has no key arguments');
        return new ErrorReply('ERR Invalid number of arguments specified for command');
      }
      const indexes = requestKeyIndexes(resolved, target);
      if (indexes === undefined) return new ErrorReply('ERR Invalid arguments specified for command');
      if (indexes.length === 0) return new ErrorReply('ERR The command has no key arguments');
      return indexes.map((index) => target[index]!);
    }),
    help: sub('help', 2, 'Returns helpful text about the different subcommands', 'O(1)', () => commandHelp.map((line) => new SimpleReply(line))),
  },
};

function sub(name: string, arity: number, summary: string, complexity: string, handler: CommandHandler): Omit<CommandSpec, 'subcommands'> {
  return { name, arity, flags: ['loading'], firstKey: 0, lastKey: 0, keyStep: 0, summary, complexity, handler };
}

/** "client|list" or "client list" or "get" -> the spec. */
function findFullName(commands: CommandTable, name: string): { spec: AnySpec; fullName: string; command: CommandSpec } | undefined {
  const [top, subName] = name.toLowerCase().split('|');
  const command = commands.get(top!);
  if (command === undefined) return undefined;
  if (subName === undefined) return { spec: command, fullName: command.name, command };
  const spec = command.subcommands?.[subName];
  if (spec === undefined || !Object.hasOwn(command.subcommands!, subName)) return undefined;
  return { spec, fullName: `${command.name}|${subName}`, command };
}

function aclCategories(commands: CommandTable, spec: AnySpec, command: CommandSpec): string[] {
  const categories: string[] = [];
  if (spec.flags.includes('write')) categories.push('@write');
  if (spec.flags.includes('readonly')) categories.push('@read');
  const group = commands.groupOf(command);
  const byGroup: Record<string, string> = { string: '@string', generic: '@keyspace', connection: '@connection', transactions: '@transaction', pubsub: '@pubsub', hash: '@hash', list: '@list', set: '@set', 'sorted-set': '@sortedset', server: '' };
  if (byGroup[group]) categories.push(byGroup[group]);
  if (spec.flags.includes('admin')) categories.push('@admin', '@dangerous');
  if (spec.flags.includes('fast')) categories.push('@fast');
  else categories.push('@slow');
  if (spec.flags.includes('blocking')) categories.push('@blocking');
  return categories;
}

/**
 * The flags COMMAND INFO shows, in Redis's sense. Two differ from the
 * dispatcher's: silt's `pubsub` flag means "allowed in RESP2 subscribed
 * mode" (PING, QUIT ...), while Redis's marks the Pub/Sub commands
 * themselves (PUBLISH, PUBSUB CHANNELS ..., not PUBSUB HELP), so it is
 * shown by group; and a container that needs a subcommand (CLIENT, CONFIG
 * ...) shows none, as its own flags never apply. Numkeys commands add
 * movablekeys.
 */
function infoFlags(commands: CommandTable, spec: AnySpec, fullName: string, command: CommandSpec): SimpleReply[] {
  if (spec === command && command.subcommands !== undefined && command.arity <= -2) return [];
  const flags = spec.flags.filter((flag) => flag !== 'pubsub').map((flag) => flagNames[flag]);
  if (commands.groupOf(command) === 'pubsub' && !fullName.endsWith('|help')) flags.push('pubsub');
  if (numkeysLayout(fullName) !== undefined) flags.push('movablekeys');
  return flags.map((flag) => new SimpleReply(flag));
}

/** One COMMAND INFO entry: name, arity, flags, first, last, step, ACL categories, tips, key specs, subcommands. */
function commandInfo(commands: CommandTable, spec: AnySpec, fullName: string, command: CommandSpec): Reply {
  const subcommands: Reply[] = [];
  if (spec === command) {
    for (const [subName, subSpec] of Object.entries(command.subcommands ?? {})) {
      subcommands.push(commandInfo(commands, subSpec, `${command.name}|${subName}`, command));
    }
  }
  return [
    fullName,
    spec.arity,
    new SetReply(infoFlags(commands, spec, fullName, command)),
    spec.firstKey,
    spec.lastKey,
    spec.keyStep,
    new SetReply(aclCategories(commands, spec, command).map((category) => new SimpleReply(category))),
    [],
    keySpecs(spec, fullName),
    subcommands,
  ];
}

function keySpecMap(flags: readonly string[], index: number, findKeys: [string, Reply][]): MapReply {
  return new MapReply([
    ['flags', new SetReply(flags.map((flag) => new SimpleReply(flag)))],
    ['begin_search', new MapReply([['type', 'index'], ['spec', new MapReply([['index', index]])]])],
    ['find_keys', new MapReply(findKeys)],
  ]);
}

function keySpecs(spec: AnySpec, fullName: string): Reply[] {
  const layout = numkeysLayout(fullName);
  if (layout !== undefined) {
    // As Redis 7: the destination by index; the others by their count (keynum), popped ones RW+delete.
    // (Redis spells the access flags RW/RO/OW/RM in capitals, the others in lower case.)
    const specs: Reply[] = [];
    if (layout.destination) specs.push(keySpecMap(['OW', 'update'], 1, [['type', 'range'], ['spec', new MapReply([['lastkey', 0], ['keystep', 1], ['limit', 0]])]]));
    const sources = spec.flags.includes('write') && !layout.destination ? ['RW', 'access', 'delete'] : ['RO', 'access'];
    specs.push(keySpecMap(sources, layout.numkeysIndex, [['type', 'keynum'], ['spec', new MapReply([['keynumidx', 0], ['firstkey', 1], ['keystep', 1]])]]));
    return specs;
  }
  if (spec.firstKey <= 0) return [];
  const access = spec.flags.includes('write') ? ['RW', 'update'] : ['RO', 'access'];
  const lastKey = spec.lastKey < 0 ? spec.lastKey : spec.lastKey - spec.firstKey;
  return [keySpecMap(access, spec.firstKey, [['type', 'range'], ['spec', new MapReply([['lastkey', lastKey], ['keystep', spec.keyStep], ['limit', 0]])]])];
}

/** One COMMAND DOCS entry: summary, group, complexity, arguments (from the spec's syntax line), subcommands. */
function commandDocs(commands: CommandTable, spec: AnySpec, fullName: string, command: CommandSpec): Reply {
  const entries: [Reply, Reply][] = [
    ['summary', spec.summary],
    ['group', commands.groupOf(command)],
    ['complexity', spec.complexity],
  ];
  if (spec.syntax !== undefined && spec.syntax.trim() !== '') entries.push(['arguments', parseSyntax(spec.syntax)]);
  if (spec === command && command.subcommands !== undefined) {
    const subs: [Reply, Reply][] = [];
    for (const [subName, subSpec] of Object.entries(command.subcommands)) {
      subs.push([`${command.name}|${subName}`, commandDocs(commands, subSpec, `${fullName}|${subName}`, command)]);
    }
    entries.push(['subcommands', new MapReply(subs)]);
  }
  return new MapReply(entries);
}

// ---------------------------------------------------------------- syntax -> COMMAND DOCS arguments

/**
 * Turns a syntax line such as "key value [NX|XX] [EX seconds|PX milliseconds] [GET]"
 * into COMMAND DOCS argument maps (name, type, token, flags, nested arguments),
 * which redis-cli turns into its typing hints. Upper-case words are tokens;
 * a token followed by a lower-case word is that argument's token; "..." marks
 * the previous argument multiple; [ ] makes optional; | separates alternatives.
 */
export function parseSyntax(syntax: string): Reply[] {
  const tokens = syntax.match(/\[|\]|\(|\)|\||\.\.\.|[^\s[\]()|]+/g) ?? [];
  let position = 0;
  const isWord = (token: string | undefined): token is string => token !== undefined && !['[', ']', '(', ')', '|', '...'].includes(token);
  /** A bracketed group from just after its opening token: alternatives, each a sequence. */
  const parseGroup = (close: string): ArgumentDoc => {
    const alternatives: ArgumentDoc[][] = [parseSequence()];
    while (tokens[position] === '|') {
      position++;
      alternatives.push(parseSequence());
    }
    if (tokens[position] === close) position++;
    return groupOf(alternatives);
  };
  const parseSequence = (): ArgumentDoc[] => {
    const items: ArgumentDoc[] = [];
    while (position < tokens.length) {
      const token = tokens[position]!;
      if (token === ']' || token === ')' || token === '|') break;
      position++;
      if (token === '...') {
        const last = items[items.length - 1];
        if (last !== undefined) last.flags.add('multiple');
        continue;
      }
      if (token === '[' || token === '(') {
        const item = parseGroup(token === '[' ? ']' : ')');
        if (token === '[') item.flags.add('optional');
        items.push(item);
        continue;
      }
      const isToken = token === token.toUpperCase() && /[A-Z]/.test(token);
      if (!isToken) {
        items.push({ name: token, type: argumentType(token), token: undefined, flags: new Set(), arguments: undefined });
        continue;
      }
      const next = tokens[position];
      if (isWord(next) && next !== next.toUpperCase()) {
        // TOKEN value: the value's argument, introduced by the token.
        position++;
        items.push({ name: next, type: argumentType(next), token, flags: new Set(), arguments: undefined });
      } else if (next === '(') {
        // TOKEN (A|B): the group, introduced by the token.
        position++;
        const item = parseGroup(')');
        item.token = token;
        item.name = token.toLowerCase();
        items.push(item);
      } else {
        items.push({ name: token.toLowerCase(), type: 'pure-token', token, flags: new Set(), arguments: undefined });
      }
    }
    return items;
  };
  return parseSequence().map(toReply);
}

interface ArgumentDoc {
  name: string;
  type: string;
  token: string | undefined;
  flags: Set<string>;
  arguments: ArgumentDoc[] | undefined;
}

function groupOf(alternatives: ArgumentDoc[][]): ArgumentDoc {
  const blocks = alternatives.map((sequence): ArgumentDoc => (sequence.length === 1 ? sequence[0]! : { name: sequence.map((item) => item.name).join('-'), type: 'block', token: undefined, flags: new Set(), arguments: sequence }));
  if (blocks.length === 1) return blocks[0]!;
  return { name: blocks.map((block) => block.name).join('-'), type: 'oneof', token: undefined, flags: new Set(), arguments: blocks };
}

function argumentType(name: string): string {
  if (/^(key|destination|source|newkey)$/.test(name)) return 'key';
  if (/^(seconds|milliseconds|count|increment|decrement|offset|start|end|index|db|timeout|numkeys|cursor|bit|value-int|unix-time-seconds|unix-time-milliseconds|id|port)$/.test(name)) return 'integer';
  if (/^(pattern)$/.test(name)) return 'pattern';
  return 'string';
}

function toReply(item: ArgumentDoc): Reply {
  const entries: [Reply, Reply][] = [
    ['name', item.name],
    ['type', item.type],
  ];
  if (item.type === 'key') entries.push(['key_spec_index', 0]);
  if (item.token !== undefined) entries.push(['token', item.token]);
  if (item.flags.size > 0) entries.push(['flags', new SetReply([...item.flags].map((flag) => new SimpleReply(flag)))]);
  if (item.arguments !== undefined) entries.push(['arguments', item.arguments.map(toReply)]);
  return new MapReply(entries);
}

