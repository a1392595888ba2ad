// Server configuration: one table of parameters, read from (lowest to
// highest precedence) the defaults, a redis.conf-syntax file, SILT_*
// environment variables and command-line flags. The same table serves
// CONFIG GET/SET (service/resp/commands/server.ts): a parameter marked `live`
// may change while the server runs, the others are read-only there.
//
//   silt-server --port 7777 --dir /var/lib/silt --appendfsync always
//   SILT_PORT=7777 silt-server
//   silt-server --config /etc/silt.conf      (or a lone positional path, as redis-server takes)
//
// Names are Redis's where Redis has the parameter (`appendfsync`,
// `maxclients`, `client-output-buffer-limit` ...); the flag is `--<name>`, the
// environment variable `SILT_<NAME>` with dashes as underscores. Bad values
// throw ConfigError, which main.ts turns into a message and exit code 2.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SyncPolicy } from '../lib/engine/engine.js';
import type { EngineKind } from '../lib/engine/open-engine.js';
import { checkpointsKeptMax, memtableBytesMin } from '../lib/limits.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Largest config file read, bytes: a redis.conf is a few KiB; anything this big is a mistake. */
const configFileBytesMax = 1 * MiB;

/** Log levels: pino's, plus Redis's names for the same thing (verbose, notice, warning, nothing). */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const redisLogLevels: Readonly<Record<string, LogLevel>> = {
  trace: 'trace',
  debug: 'debug',
  verbose: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  silent: 'silent',
  nothing: 'silent',
};

/** One client class's output buffer cap (as Redis's client-output-buffer-limit). 0 disables a bound. */
export interface OutputBufferLimit {
  /** Disconnect as soon as the buffered output exceeds this, bytes. */
  hardBytes: number;
  /** Disconnect when the output stays above this for `softSeconds`, bytes. */
  softBytes: number;
  softSeconds: number;
}

export interface OutputBufferLimits {
  normal: OutputBufferLimit;
  pubsub: OutputBufferLimit;
}

export interface ServerConfig {
  port: number;
  bind: string;
  dir: string;
  appendfsync: SyncPolicy;
  /** Empty: no password. */
  requirepass: string;
  databases: number;
  maxclients: number;
  memtableMb: number;
  blockCacheMb: number;
  /** Keep flushed WAL files in archive/ this many hours for point-in-time restore; 0 with walArchiveMb 0: no archive. */
  walArchiveHours: number;
  /** Cap the WAL archive at this many MiB (oldest removed first); 0: no size cap. */
  walArchiveMb: number;
  loglevel: string;
  /** Empty: standard output. */
  logfile: string;
  engine: EngineKind;
  /** Commands slower than this are logged, microseconds; negative disables, 0 logs every command. */
  slowlogLogSlowerThan: number;
  slowlogMaxLen: number;
  clientOutputBufferLimit: OutputBufferLimits;
  /** Largest bulk string a client may send, bytes (Redis's proto-max-bulk-len). */
  protoMaxBulkLen: number;
  /** Largest query buffer of one client, bytes (Redis's client-query-buffer-limit). */
  clientQueryBufferLimit: number;
  /** Close a client idle for this many seconds; 0 never does. */
  timeout: number;
  /** Checkpoints kept under <dir>/checkpoints by SAVE and BGSAVE; older ones are removed. */
  checkpointsKeep: number;
  /** Expiry sweep interval, ms (Redis's hz 10 = every 100 ms). */
  expirySweepMs: number;
  /** Largest number of expired keys one sweep removes. */
  expirySweepKeys: number;
  /** The config file read, if any (CONFIG GET shows it; it is not a parameter of its own). */
  configFile: string;
}

/** A bad flag, variable or config file line: main.ts prints it and exits with code 2. */
export class ConfigError extends Error {
  override get name(): string {
    return 'ConfigError';
  }
}

export const defaultConfig: Readonly<ServerConfig> = Object.freeze({
  port: 6379,
  bind: '127.0.0.1',
  dir: './data',
  appendfsync: 'everysec',
  requirepass: '',
  databases: 16,
  maxclients: 10_000,
  memtableMb: 64,
  blockCacheMb: 64,
  walArchiveHours: 0,
  walArchiveMb: 0,
  loglevel: 'info',
  logfile: '',
  engine: 'lsm',
  slowlogLogSlowerThan: 10_000,
  slowlogMaxLen: 128,
  // Unlike Redis (normal clients unlimited), a normal client's output is capped:
  // 1 GiB leaves room for one reply of a largest (512 MiB) value; a client
  // holding more than 256 MiB unread for a minute is not reading.
  clientOutputBufferLimit: Object.freeze({
    normal: Object.freeze({ hardBytes: 1 * GiB, softBytes: 256 * MiB, softSeconds: 60 }),
    pubsub: Object.freeze({ hardBytes: 32 * MiB, softBytes: 8 * MiB, softSeconds: 60 }),
  }),
  protoMaxBulkLen: 512 * MiB,
  clientQueryBufferLimit: 1 * GiB,
  timeout: 0,
  checkpointsKeep: checkpointsKeptMax,
  expirySweepMs: 100,
  expirySweepKeys: 200,
  configFile: '',
}) as ServerConfig;

type ParameterKey = Exclude<keyof ServerConfig, 'configFile'>;

/** One configurable parameter: its names, how to read and show it, and whether it can change live. */
export interface Parameter {
  /** redis.conf and CONFIG name; the flag is `--${name}`. */
  name: string;
  key: ParameterKey;
  /** CONFIG SET may change it while the server runs. */
  live: boolean;
  /** For --help: the value's shape and what it does. */
  valueHint: string;
  help: string;
  parse(text: string): ServerConfig[ParameterKey];
  format(value: ServerConfig[ParameterKey]): string;
}

/** The parameter table, in --help order. */
export const parameters: readonly Parameter[] = [
  param('port', 'port', false, 'N', 'TCP port to listen on (0 picks a free one)', (text) => integer(text, 0, 65_535)),
  param('bind', 'bind', false, 'ADDRESS', 'address to listen on', (text) => nonEmpty(text)),
  param('dir', 'dir', false, 'PATH', 'data directory (created if missing)', (text) => nonEmpty(text)),
  param('appendfsync', 'appendfsync', true, 'always|everysec|no', 'when a write is acknowledged: after fdatasync, after write(2) with a sync every second, or after write(2)', (text) =>
    oneOf(text, ['always', 'everysec', 'no'] as const),
  ),
  param('requirepass', 'requirepass', true, 'PASSWORD', 'password clients must AUTH with (empty: none)', (text) => text, (value) => String(value)),
  param('databases', 'databases', false, 'N', 'number of logical databases (SELECT 0..N-1)', (text) => integer(text, 1, 256)),
  param('maxclients', 'maxclients', true, 'N', 'most clients connected at once (lowered to what the file-descriptor limit allows)', (text) => integer(text, 1, 1_000_000)),
  param('memtable-mb', 'memtableMb', false, 'MB', 'memtable budget before a flush, MiB (fractions allowed)', (text) => number(text, memtableBytesMin / MiB, 64 * 1024)),
  param('block-cache-mb', 'blockCacheMb', false, 'MB', 'block cache budget, MiB', (text) => number(text, 0, 1024 * 1024)),
  param('wal-archive-hours', 'walArchiveHours', false, 'HOURS', 'keep flushed WAL files this long in archive/ for `silt restore` (0 with --wal-archive-mb 0: off)', (text) => number(text, 0, 24 * 365 * 10)),
  param('wal-archive-mb', 'walArchiveMb', false, 'MB', 'cap the WAL archive at this many MiB, oldest first (0: no cap; any value > 0 turns archiving on)', (text) => number(text, 0, 1024 * 1024 * 1024)),
  param('loglevel', 'loglevel', true, 'LEVEL', 'trace|debug|info|warn|error|fatal|silent (or Redis\'s verbose|notice|warning|nothing)', (text) => {
    const level = text.toLowerCase();
    if (redisLogLevels[level] === undefined) throw new ConfigError(`argument must be one of the following: ${Object.keys(redisLogLevels).join(', ')}`);
    return level;
  }),
  param('logfile', 'logfile', false, 'PATH', 'log file (empty: standard output)', (text) => text, (value) => String(value)),
  param('engine', 'engine', false, 'lsm|level', "storage engine: silt's own LSM engine or classic-level (LevelDB)", (text) => oneOf(text, ['lsm', 'level'] as const)),
  param('slowlog-log-slower-than', 'slowlogLogSlowerThan', true, 'MICROSECONDS', 'SLOWLOG records commands slower than this (negative: off, 0: all)', (text) => integer(text, -1, Number.MAX_SAFE_INTEGER)),
  param('slowlog-max-len', 'slowlogMaxLen', true, 'N', 'SLOWLOG entries kept', (text) => integer(text, 0, 1_000_000)),
  param(
    'client-output-buffer-limit',
    'clientOutputBufferLimit',
    true,
    '"CLASS HARD SOFT SECONDS ..."',
    'output cap per client class (normal, pubsub): disconnect above HARD bytes, or above SOFT for SECONDS; default "normal 1gb 256mb 60 pubsub 32mb 8mb 60"',
    (text) => parseOutputBufferLimits(text),
    (value) => formatOutputBufferLimits(value as OutputBufferLimits),
  ),
  param('proto-max-bulk-len', 'protoMaxBulkLen', true, 'BYTES', 'largest bulk string a client may send (default 512mb)', (text) => memory(text, 1024 * 1024, 512 * MiB)),
  param('client-query-buffer-limit', 'clientQueryBufferLimit', true, 'BYTES', 'largest query buffer of one client (default 1gb)', (text) => memory(text, 1024 * 1024, 1 * GiB)),
  param('timeout', 'timeout', true, 'SECONDS', 'close clients idle this long (0: never)', (text) => integer(text, 0, 100 * 365 * 24 * 3600)),
  param('checkpoints-keep', 'checkpointsKeep', true, 'N', 'checkpoints SAVE/BGSAVE keep under <dir>/checkpoints', (text) => integer(text, 1, 1000)),
  param('expiry-sweep-ms', 'expirySweepMs', false, 'MS', 'interval of the background sweep that removes expired keys', (text) => integer(text, 1, 60_000)),
  param('expiry-sweep-keys', 'expirySweepKeys', true, 'N', 'most expired keys one sweep removes', (text) => integer(text, 1, 1_000_000)),
];

const byName = new Map(parameters.map((parameter) => [parameter.name, parameter]));

/** The parameter called `name` (lower case, as in redis.conf), if any. */
export function findParameter(name: string): Parameter | undefined {
  return byName.get(name.toLowerCase());
}

/** pino's level for a configured (possibly Redis-named) level. */
export function pinoLevel(level: string): LogLevel {
  return redisLogLevels[level.toLowerCase()] ?? 'info';
}

/** What the command line asks for. */
export type CommandLine = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; config: ServerConfig };

/**
 * Reads the configuration: defaults, then the config file (--config, SILT_CONFIG
 * or a lone positional path), then SILT_* variables, then flags.
 * @param argv arguments after the script (process.argv.slice(2))
 * @param env environment (process.env)
 * @throws ConfigError for an unknown flag, directive or variable, or a bad value
 */
export function readConfig(argv: readonly string[], env: NodeJS.ProcessEnv): CommandLine {
  const flags = parseFlags(argv);
  if (flags === 'help' || flags === 'version') return { kind: flags };
  const config: ServerConfig = cloneConfig(defaultConfig);
  const file = flags.configFile ?? env.SILT_CONFIG;
  if (file !== undefined && file !== '') {
    applyConfigFile(config, file);
    config.configFile = file;
  }
  for (const parameter of parameters) {
    const variable = environmentName(parameter.name);
    const text = env[variable];
    if (text === undefined) continue;
    setParameter(config, parameter, text, `environment variable ${variable}`);
  }
  for (const [parameter, text] of flags.values) setParameter(config, parameter, text, `flag --${parameter.name}`);
  return { kind: 'run', config };
}

/** The --help text. */
export function helpText(version: string): string {
  const lines = [
    `silt-server ${version}: a durable, Redis-compatible key-value server`,
    '',
    'Usage: silt-server [CONFIG_FILE] [--config FILE] [--NAME VALUE ...]',
    '',
    'Every parameter may also be set in a redis.conf-syntax file ("NAME VALUE" per line)',
    'or by the environment variable SILT_<NAME> (dashes as underscores);',
    'precedence: flag > environment > file > default.',
    '',
    'Parameters:',
  ];
  for (const parameter of parameters) {
    const flag = `  --${parameter.name} ${parameter.valueHint}`;
    lines.push(flag);
    lines.push(`      ${parameter.help}; default ${JSON.stringify(parameter.format(defaultConfig[parameter.key]))}${parameter.live ? '; CONFIG SET changes it live' : ''}`);
  }
  lines.push('  --config FILE', '      read parameters from a redis.conf-syntax file (also SILT_CONFIG)');
  lines.push('  --help, -h', '      print this help and exit');
  lines.push('  --version, -v', '      print the version and exit');
  lines.push('', 'Exit codes: 0 clean shutdown, 1 failure while running or opening the data directory, 2 bad configuration.');
  return `${lines.join('\n')}\n`;
}

/** A deep copy (the output buffer limits are the only nested value). */
export function cloneConfig(config: Readonly<ServerConfig>): ServerConfig {
  return {
    ...config,
    clientOutputBufferLimit: { normal: { ...config.clientOutputBufferLimit.normal }, pubsub: { ...config.clientOutputBufferLimit.pubsub } },
  };
}

/**
 * Sets `parameter` from text.
 * @throws ConfigError naming `source` when the value is bad
 */
export function setParameter(config: ServerConfig, parameter: Parameter, text: string, source: string): void {
  try {
    (config as unknown as Record<string, unknown>)[parameter.key] = mergeParameter(parameter, config[parameter.key], parameter.parse(text), text);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new ConfigError(`Invalid value ${JSON.stringify(text)} for ${source}: ${error.message}`);
  }
}

/**
 * The value a parameter takes when `text` (already parsed as `parsed`) is set
 * over `current`: the parsed value, except for client-output-buffer-limit,
 * where classes the text does not name keep their current limits (as Redis's
 * CONFIG SET client-output-buffer-limit "pubsub ..." leaves "normal" alone).
 */
export function mergeParameter(parameter: Parameter, current: unknown, parsed: unknown, text: string): ServerConfig[ParameterKey] {
  if (parameter.key !== 'clientOutputBufferLimit') return parsed as ServerConfig[ParameterKey];
  const named = new Set(text.trim().toLowerCase().split(/\s+/).filter((_, index) => index % 4 === 0));
  const before = current as OutputBufferLimits;
  const after = parsed as OutputBufferLimits;
  return {
    normal: { ...(named.has('normal') ? after.normal : before.normal) },
    pubsub: { ...(named.has('pubsub') ? after.pubsub : before.pubsub) },
  };
}

/** Redis memory notation: 1k = 1000, 1kb = 1024, likewise m/mb and g/gb; a plain number is bytes. */
export function parseMemory(text: string): number {
  const match = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(text.trim());
  if (match === null) throw new ConfigError('expected a size in bytes, optionally with a unit (k, kb, m, mb, g, gb)');
  const units: Record<string, number> = { '': 1, k: 1000, kb: KiB, m: 1000 * 1000, mb: MiB, g: 1000 * 1000 * 1000, gb: GiB };
  const value = Number(match[1]) * units[(match[2] ?? '').toLowerCase()]!;
  if (!Number.isSafeInteger(value)) throw new ConfigError('size is too large');
  return value;
}

/** The silt version from package.json. */
export function siltVersion(): string {
  // service/config.ts and dist/service/config.js both find it by walking up.
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const text = readFileSync(fileURLToPath(new URL(relative, import.meta.url)), 'utf8');
      const parsed = JSON.parse(text) as { name?: unknown; version?: unknown };
      if (parsed.name === 'silt' && typeof parsed.version === 'string') return parsed.version;
    } catch {
      // Not at this depth; the next candidate is tried.
    }
  }
  return '0.0.0';
}

// ---------------------------------------------------------------- flags and files

interface ParsedFlags {
  configFile: string | undefined;
  values: [Parameter, string][];
}

function parseFlags(argv: readonly string[]): ParsedFlags | 'help' | 'version' {
  const result: ParsedFlags = { configFile: undefined, values: [] };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--help' || argument === '-h') return 'help';
    if (argument === '--version' || argument === '-v') return 'version';
    if (!argument.startsWith('--')) {
      if (index === 0 && result.configFile === undefined) {
        result.configFile = argument;
        continue;
      }
      throw new ConfigError(`Unexpected argument ${JSON.stringify(argument)}: flags are --NAME VALUE`);
    }
    const equals = argument.indexOf('=');
    const name = (equals === -1 ? argument.slice(2) : argument.slice(2, equals)).toLowerCase();
    let value: string;
    if (equals !== -1) value = argument.slice(equals + 1);
    else {
      if (index + 1 >= argv.length) throw new ConfigError(`Missing value for flag --${name}`);
      value = argv[++index]!;
    }
    if (name === 'config') {
      result.configFile = value;
      continue;
    }
    const parameter = findParameter(name);
    if (parameter === undefined) throw new ConfigError(`Unknown flag --${name}: see --help`);
    result.values.push([parameter, value]);
  }
  return result;
}

function applyConfigFile(config: ServerConfig, path: string): void {
  let text: string;
  try {
    const buffer = readFileSync(path);
    if (buffer.length > configFileBytesMax) throw new ConfigError(`Cannot read config file "${path}": it is larger than ${configFileBytesMax} bytes`);
    text = buffer.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`Cannot read config file "${path}": ${(error as Error).message}`);
  }
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const where = `"${path}" line ${index + 1}`;
    let words: string[];
    try {
      words = splitConfigLine(lines[index]!);
    } catch (error) {
      throw new ConfigError(`Cannot parse config file ${where}: ${(error as Error).message}`);
    }
    if (words.length === 0) continue;
    const name = words[0]!.toLowerCase();
    const parameter = findParameter(name);
    if (parameter === undefined) throw new ConfigError(`Cannot parse config file ${where}: unknown directive "${words[0]}"`);
    if (words.length < 2 && parameter.key !== 'requirepass' && parameter.key !== 'logfile') {
      throw new ConfigError(`Cannot parse config file ${where}: "${name}" needs a value`);
    }
    setParameter(config, parameter, words.slice(1).join(' '), `config file ${where}`);
  }
}

/**
 * Splits one redis.conf line into words: blanks separate, "double quotes" take
 * \n \r \t \\ \" and \xHH escapes, 'single quotes' take \' only; # starts a
 * comment at the beginning of a line.
 */
export function splitConfigLine(line: string): string[] {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return [];
  const words: string[] = [];
  let index = 0;
  while (index < trimmed.length) {
    while (index < trimmed.length && /\s/.test(trimmed[index]!)) index++;
    if (index >= trimmed.length) break;
    const quote = trimmed[index];
    let word = '';
    if (quote === '"' || quote === "'") {
      index++;
      let closed = false;
      while (index < trimmed.length) {
        const char = trimmed[index]!;
        if (char === quote) {
          closed = true;
          index++;
          break;
        }
        if (char === '\\' && index + 1 < trimmed.length) {
          const next = trimmed[index + 1]!;
          if (quote === "'") {
            word += next === "'" ? "'" : `\\${next}`;
            index += 2;
            continue;
          }
          const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07', '\\': '\\', '"': '"' };
          if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(trimmed.slice(index + 2, index + 4))) {
            word += String.fromCharCode(parseInt(trimmed.slice(index + 2, index + 4), 16));
            index += 4;
            continue;
          }
          word += escapes[next] ?? next;
          index += 2;
          continue;
        }
        word += char;
        index++;
      }
      if (!closed) throw new ConfigError('unbalanced quotes');
      if (index < trimmed.length && !/\s/.test(trimmed[index]!)) throw new ConfigError('closing quote must be followed by a space');
    } else {
      while (index < trimmed.length && !/\s/.test(trimmed[index]!)) word += trimmed[index++];
    }
    words.push(word);
  }
  return words;
}

function environmentName(name: string): string {
  return `SILT_${name.toUpperCase().replace(/-/g, '_')}`;
}

// ---------------------------------------------------------------- value parsers

function param(
  name: string,
  key: ParameterKey,
  live: boolean,
  valueHint: string,
  help: string,
  parse: (text: string) => ServerConfig[ParameterKey],
  format: (value: ServerConfig[ParameterKey]) => string = (value) => String(value),
): Parameter {
  return { name, key, live, valueHint, help, parse, format };
}

function integer(text: string, min: number, max: number): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) throw new ConfigError('argument couldn\'t be parsed into an integer');
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new ConfigError(`argument must be between ${min} and ${max} inclusive`);
  return value;
}

function number(text: string, min: number, max: number): number {
  const trimmed = text.trim();
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(value)) throw new ConfigError('argument couldn\'t be parsed into a number');
  if (value < min || value > max) throw new ConfigError(`argument must be between ${min} and ${max} inclusive`);
  return value;
}

function memory(text: string, min: number, max: number): number {
  const value = parseMemory(text);
  if (value < min || value > max) throw new ConfigError(`argument must be between ${min} and ${max} bytes inclusive`);
  return value;
}

function nonEmpty(text: string): string {
  if (text.trim() === '') throw new ConfigError('argument must not be empty');
  return text.trim();
}

function oneOf<T extends string>(text: string, choices: readonly T[]): T {
  const lower = text.trim().toLowerCase();
  const found = choices.find((choice) => choice === lower);
  if (found === undefined) throw new ConfigError(`argument(s) must be one of the following: ${choices.join(', ')}`);
  return found;
}

/** "normal 1gb 256mb 60 pubsub 32mb 8mb 60": any subset of classes, each with hard, soft and soft seconds. */
function parseOutputBufferLimits(text: string): OutputBufferLimits {
  const words = text.trim().split(/\s+/).filter((word) => word !== '');
  if (words.length === 0 || words.length % 4 !== 0) throw new ConfigError('expected groups of "class hard soft seconds"');
  const limits: OutputBufferLimits = cloneConfig(defaultConfig).clientOutputBufferLimit;
  for (let index = 0; index < words.length; index += 4) {
    const klass = words[index]!.toLowerCase();
    if (klass !== 'normal' && klass !== 'pubsub') throw new ConfigError(`unknown client class "${words[index]}": use normal or pubsub`);
    const softSeconds = integer(words[index + 3]!, 0, 1_000_000);
    limits[klass] = { hardBytes: parseMemory(words[index + 1]!), softBytes: parseMemory(words[index + 2]!), softSeconds };
  }
  return limits;
}

function formatOutputBufferLimits(limits: OutputBufferLimits): string {
  const one = (name: string, limit: OutputBufferLimit): string => `${name} ${limit.hardBytes} ${limit.softBytes} ${limit.softSeconds}`;
  return `${one('normal', limits.normal)} ${one('pubsub', limits.pubsub)}`;
}
