#!/usr/bin/env node
// The `silt` command line: parses arguments (node:util parseArgs) and
// dispatches to the tool functions in tools/, which do the work and can be
// called in-process by tests. Nothing here reads a data directory.
//
//   silt <subcommand> [arguments] [--json]
//   silt <subcommand> --help
//
// Exit codes (docs/operations.md, "Exit codes"): 0 ok, 1 damage found or the
// job done only in part, 2 could not run (including every usage error).

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { checkpoint } from './checkpoint.js';
import { dump, dumpFormats, type DumpFormat } from './dump.js';
import { inspect } from './inspect.js';
import { load, loadFormats, type LoadFormat } from './load.js';
import { recover } from './recover.js';
import { restore } from './restore.js';
import { ExitCode, writeJson, writeLine, type ToolIo } from './tool-io.js';
import { verify } from './verify.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Subcommand {
  name: string;
  summary: string;
  usage: string;
  options: Options;
  /** Positional arguments expected: their names, for messages. */
  positionals: string[];
  run(values: Values, positionals: string[], io: ToolIo): Promise<number>;
}

const jsonOption = { json: { type: 'boolean' } } as const satisfies Options;

const subcommands: Subcommand[] = [
  {
    name: 'verify',
    summary: 'check every WAL record, segment block and the manifest of a stopped directory or checkpoint',
    usage: `Usage: silt verify DIR [--json]

Reads every WAL record (wal/ and archive/), every segment block (checksum,
decompression, key order, index and Bloom filter) and the manifest (every file
present with its size, level invariants), and lists each problem with its file,
offset, and the keys and sequence numbers it affects (Redis keys of a db, as
db 0 "user:42", when the directory holds a database table; --json adds them
under decoded beside the hex engine keys). A torn tail on the newest WAL file
is a note: the server cuts it at its next open. Never writes.

Refuses a directory held by a running server: verify a checkpoint of it
instead (BGSAVE, then silt verify DIR/checkpoints/NAME).

Exit: 0 healthy (notes allowed), 1 damaged, 2 could not run.`,
    options: { ...jsonOption },
    positionals: ['DIR'],
    run: async (values, [dir], io) => (await verify({ dir: dir!, json: values['json'] === true }, io)).exitCode,
  },
  {
    name: 'recover',
    summary: 'salvage a damaged directory into a new one and report exactly what was lost',
    usage: `Usage: silt recover DIR --out NEWDIR [--skip-damaged-wal-records] [--json]

Writes NEWDIR (which must not exist, or be empty, and must lie outside DIR and
outside any data directory) from what can be read in DIR: intact segments are
hard-linked, damaged ones are re-written from their readable blocks, WAL
records are kept up to the first damaged one, the manifest is rebuilt when it
is lost, and damaged originals go to NEWDIR/lost+found/. Reports every lost
key range (Redis keys of a db, in the words of silt verify, which also say
when a range spans dbs or parts of the keyspace; --json adds them under
decoded beside the hex engine keys), sequence range and WAL byte range.
NEWDIR opens and passes silt verify: recover verifies it before it ends. DIR
is never modified. On a terminal, a progress bar: the salvage, then the check
of NEWDIR (its files, then its keyspace).

--skip-damaged-wal-records  keep the whole WAL records after a damaged one,
    and the later WAL files, instead of stopping at the damage (as LevelDB's
    RepairDB does): more writes kept, but the result may hold writes that
    depended on the lost ones, a state the database never passed through
    (said as a DOUBT; exit 1).

Exit: 0 nothing lost, 1 something lost (listed), 2 could not run.`,
    options: { out: { type: 'string' }, 'skip-damaged-wal-records': { type: 'boolean' }, ...jsonOption },
    positionals: ['DIR'],
    run: async (values, [dir], io) => {
      const out = requireString(values, 'out', 'recover');
      return (await recover({ dir: dir!, out, json: values['json'] === true, skipDamagedWalRecords: values['skip-damaged-wal-records'] === true }, io)).exitCode;
    },
  },
  {
    name: 'inspect',
    summary: 'show levels, segments, WAL files, one file, or every stored version of a key',
    usage: `Usage: silt inspect DIR [--json]
       silt inspect DIR --segment FILE [--json]
       silt inspect DIR --wal FILE [--json]
       silt inspect DIR --key KEY [--db N] [--hex] [--subkeys N] [--json]
       silt inspect DIR --engine-key KEY [--hex] [--json]

Without options: levels, segments (size, key range, entries, tombstones,
compression ratio, Bloom filter), WAL files, the archive's time range and
the checkpoints. --segment: one segment's blocks (offset, size, entries, first
and last key). --wal: one WAL file's records (offset, sequence, time, ops,
keys). --key: every stored version of the Redis key KEY of db N (default 0),
newest first, in every segment and WAL record: its metadata record (type,
size, version, expiry), its expiry index entries, and the first N subkeys of
each collection version (default 10, --subkeys N for more, 0 for none).
--engine-key: every version of one engine key, as verify and the views above
name them. KEY is UTF-8, or hex with --hex. FILE is a path or a name found in
DIR/seg, DIR/wal or DIR/archive. Never writes.

Exit: 0 shown, 2 could not run.`,
    options: {
      segment: { type: 'string' },
      wal: { type: 'string' },
      key: { type: 'string' },
      db: { type: 'string' },
      subkeys: { type: 'string' },
      'engine-key': { type: 'string' },
      hex: { type: 'boolean' },
      ...jsonOption,
    },
    positionals: ['DIR'],
    run: async (values, [dir], io) => {
      const options = { dir: dir!, json: values['json'] === true, hex: values['hex'] === true };
      for (const name of ['segment', 'wal', 'key'] as const) {
        const value = values[name];
        if (typeof value === 'string') Object.assign(options, { [name]: value });
      }
      if (typeof values['engine-key'] === 'string') Object.assign(options, { engineKey: values['engine-key'] });
      if (typeof values['db'] === 'string') Object.assign(options, { db: parseCount(values['db'], '--db') });
      if (typeof values['subkeys'] === 'string') Object.assign(options, { subkeys: parseCount(values['subkeys'], '--subkeys') });
      return (await inspect(options, io)).exitCode;
    },
  },
  {
    name: 'checkpoint',
    summary: 'copy a stopped directory consistently; list, delete or cap checkpoints',
    usage: `Usage: silt checkpoint DIR --out NEWDIR [--json]
       silt checkpoint DIR --name NAME [--keep N] [--json]
       silt checkpoint DIR --list [--json]
       silt checkpoint DIR --delete NAME [--json]
       silt checkpoint DIR --keep N [--json]

--out makes a checkpoint of the STOPPED directory DIR at NEWDIR (outside DIR
and outside any data directory); --name makes it at DIR/checkpoints/NAME.
First every block of every live segment and every WAL record it copies is
read, as silt verify reads them (one read of the whole data; a progress bar
on a terminal): a damaged DIR is refused, naming file and offset, and nothing
is written. Then segments are hard-linked (copied across file systems), WAL
files copied, and CHECKPOINT records the sequence and time it stands for. --list shows DIR/checkpoints/; --delete removes one;
--keep N keeps only the newest N there.

A running server makes its own checkpoints (BGSAVE): every form but --list
refuses while a live process holds DIR.

A copy that fails half-way (a full disk, say) is removed: only what the run
created (NEWDIR and directories made above it, or what it wrote into an empty
NEWDIR that was there), and the error says so.

Exit: 0 done, 1 DIR is damaged (nothing written), 2 could not run (a failed
copy removed).`,
    options: { out: { type: 'string' }, name: { type: 'string' }, list: { type: 'boolean' }, delete: { type: 'string' }, keep: { type: 'string' }, ...jsonOption },
    positionals: ['DIR'],
    run: async (values, [dir], io) => {
      const options = { dir: dir!, json: values['json'] === true, list: values['list'] === true };
      for (const name of ['out', 'name', 'delete'] as const) {
        const value = values[name];
        if (typeof value === 'string') Object.assign(options, { [name]: value });
      }
      if (typeof values['keep'] === 'string') Object.assign(options, { keep: parseCount(values['keep'], '--keep') });
      return (await checkpoint(options, io)).exitCode;
    },
  },
  {
    name: 'restore',
    summary: 'restore a checkpoint plus archived WAL records to a point in time',
    usage: `Usage: silt restore --from CHECKPOINT --archive DIR/archive [--wal DIR/wal]
                    --to TIME|seq:N (--out NEWDIR | --dry-run) [--json]

Copies the checkpoint to NEWDIR and replays the WAL records written after it,
from the archive and (with --wal) the live WAL directory, up to and including
the target: TIME is ISO 8601 with an offset and at most millisecond precision
(2024-01-02T14:03:10.250+01:00; echoed back in UTC); seq:N is a sequence
number. First every block of the checkpoint's segments is read, as silt
verify reads them: a damaged checkpoint is refused, naming segment and
offset. Refuses, writing nothing, when a WAL file between the checkpoint and
the target is missing or damaged, and says which time range it can reach.
--dry-run reports how many records would be replayed and which keys would
change. Writes only NEWDIR (outside any data directory). On a terminal, a
progress bar per phase: checking segments, reading WAL files, reading records
up to the target, replaying records.

Exit: 0 restored, 1 refused because the checkpoint is damaged or the history
breaks before the target, 2 could not run (usage, target before the
checkpoint or past the newest record).`,
    options: { from: { type: 'string' }, archive: { type: 'string' }, wal: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' }, 'dry-run': { type: 'boolean' }, ...jsonOption },
    positionals: [],
    run: async (values, _positionals, io) => {
      const options = { from: requireString(values, 'from', 'restore'), to: requireString(values, 'to', 'restore'), json: values['json'] === true, dryRun: values['dry-run'] === true };
      for (const name of ['archive', 'wal', 'out'] as const) {
        const value = values[name];
        if (typeof value === 'string') Object.assign(options, { [name]: value });
      }
      return (await restore(options, io)).exitCode;
    },
  },
  {
    name: 'dump',
    summary: 'write every live key of a stopped directory or checkpoint as NDJSON or RESP commands',
    usage: `Usage: silt dump DIR [--db N] [--match PATTERN] [--format ndjson|resp] [--out FILE [--json]]

Writes every live Redis key of DIR (a stopped directory or a checkpoint) with
its type, expiry (absolute, ms) and contents, read at one snapshot. ndjson
(default): one JSON object per key, {"db","key","type","expireAt","value"},
bytes that are not UTF-8 as {"base64": "..."}. resp: the commands that
recreate the data (SELECT, DEL, SET/RPUSH/HSET/SADD/ZADD, PEXPIREAT), as
redis-cli --pipe sends them. --db N dumps one logical db; --match a glob as
KEYS takes it. Output goes to stdout, or to FILE (new, outside DIR and any
data directory; written as FILE.tmp and renamed when complete). silt load
reads both formats back.
Never writes to DIR; refuses a live directory (dump DIR/checkpoints/NAME).

Exit: 0 dumped, 1 some keys could not be read (listed; the rest dumped),
2 could not run.`,
    options: { db: { type: 'string' }, match: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, ...jsonOption },
    positionals: ['DIR'],
    run: async (values, [dir], io) => {
      const options = { dir: dir!, json: values['json'] === true };
      if (typeof values['db'] === 'string') Object.assign(options, { db: parseCount(values['db'], '--db') });
      if (typeof values['match'] === 'string') Object.assign(options, { match: values['match'] });
      if (typeof values['out'] === 'string') Object.assign(options, { out: values['out'] });
      if (typeof values['format'] === 'string') Object.assign(options, { format: parseChoice(values['format'], '--format', dumpFormats) satisfies DumpFormat });
      return (await dump(options, io)).exitCode;
    },
  },
  {
    name: 'load',
    summary: 'load an NDJSON dump or a RESP command file into a stopped directory or a running server',
    usage: `Usage: silt load FILE --into DIR [--databases N] [--format auto|ndjson|resp] [--json]
       silt load FILE --host HOST [--port PORT] [--user USER] [--password PASSWORD]
                 [--format auto|ndjson|resp] [--json]

Reads FILE ("-" for stdin): NDJSON written by silt dump, or Redis commands in
RESP (multibulk or inline, as redis-cli --pipe sends them); the first byte
that is not white space decides ({ is NDJSON) unless --format says.
--into writes into DIR (an empty or missing directory, or a stopped silt data
directory; refused, before anything is created, while a server holds it, when
it lies inside a data directory, or is damaged or not a silt directory): dump keys are written whole, commands applied as
the server applies them (SELECT DEL UNLINK SET SETEX PSETEX MSET RPUSH LPUSH
HSET HMSET SADD ZADD EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST FLUSHDB
FLUSHALL). --host/--port (default 6379) send them to a running server,
pipelined; with a password (--password, or the SILT_PASSWORD environment
variable, which keeps it out of the process list) AUTH [USER] PASSWORD is
sent first, and a refused AUTH (or NOAUTH without one) stops the load before
anything is loaded. Each failed line is reported with its line number and
offset; the rest is loaded. A key whose expireAt has passed is not created.

Exit: 0 loaded, 1 some lines failed (listed), 2 could not run (including a
refused password).`,
    options: {
      into: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      format: { type: 'string' },
      databases: { type: 'string' },
      ...jsonOption,
    },
    positionals: ['FILE'],
    run: async (values, [file], io) => {
      const options = { file: file!, json: values['json'] === true };
      for (const name of ['into', 'host', 'user', 'password'] as const) {
        const value = values[name];
        if (typeof value === 'string') Object.assign(options, { [name]: value });
      }
      // The environment's password serves --host loads only, so an exported SILT_PASSWORD never blocks --into.
      const envPassword = process.env['SILT_PASSWORD'];
      if (values['password'] === undefined && typeof values['host'] === 'string' && envPassword !== undefined && envPassword !== '') Object.assign(options, { password: envPassword });
      if (typeof values['port'] === 'string') Object.assign(options, { port: parseCount(values['port'], '--port') });
      if (typeof values['databases'] === 'string') Object.assign(options, { databases: parseCount(values['databases'], '--databases') });
      if (typeof values['format'] === 'string') Object.assign(options, { format: parseChoice(values['format'], '--format', loadFormats) satisfies LoadFormat });
      if (file === '-') Object.assign(options, { input: process.stdin });
      return (await load(options, io)).exitCode;
    },
  },
];

/** Subcommands announced but not in this build (none at the moment). */
const comingLater: Record<string, string> = {};

/**
 * Runs the command line `argv` (without node and the script).
 * @returns the exit code
 */
export async function main(argv: readonly string[], io: ToolIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    const subcommand = subcommands.find((candidate) => candidate.name === topic);
    if (name === undefined) {
      writeLine(io.stderr, overview());
      return ExitCode.failed;
    }
    writeLine(io.stdout, subcommand?.usage ?? overview());
    return ExitCode.ok;
  }
  if (name === '--version' || name === '-V') {
    writeLine(io.stdout, `silt ${packageVersion()}`);
    return ExitCode.ok;
  }
  const subcommand = subcommands.find((candidate) => candidate.name === name);
  if (subcommand === undefined) {
    if (Object.hasOwn(comingLater, name)) {
      writeLine(io.stderr, `silt ${name}: not available in this build yet (it needs the Redis data model layer); see docs/operations.md`);
      return ExitCode.failed;
    }
    const message = `unknown subcommand "${name}"; run silt --help`;
    writeLine(io.stderr, `silt: ${message}`);
    if (rest.includes('--json')) writeJson(io.stdout, { ok: false, error: { code: 'USAGE', message } });
    return ExitCode.failed;
  }
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...rest], options: { ...subcommand.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (error) {
    return usageError(io, subcommand, (error as Error).message, rest);
  }
  if (parsed.values['help'] === true) {
    writeLine(io.stdout, subcommand.usage);
    return ExitCode.ok;
  }
  // A path given empty (`--out ""`, an unset shell variable) would resolve to the working directory or fail deep inside.
  for (const name of pathOptions) {
    if (parsed.values[name] === '') return usageError(io, subcommand, `--${name} is empty: give a path (silt ${subcommand.name} --help)`, rest);
  }
  const emptyPositional = parsed.positionals.findIndex((value) => value === '');
  if (emptyPositional !== -1 && emptyPositional < subcommand.positionals.length) {
    return usageError(io, subcommand, `${subcommand.positionals[emptyPositional]} is empty: give a path`, rest);
  }
  if (parsed.positionals.length !== subcommand.positionals.length) {
    const expected = subcommand.positionals.length === 0 ? 'no positional arguments' : subcommand.positionals.join(' ');
    return usageError(io, subcommand, `expected ${expected}, got ${parsed.positionals.length === 0 ? 'none' : parsed.positionals.map((value) => `"${value}"`).join(' ')}`, rest);
  }
  try {
    return await subcommand.run(parsed.values, parsed.positionals, io);
  } catch (error) {
    if (error instanceof UsageError) return usageError(io, subcommand, error.message, rest);
    throw error;
  }
}

class UsageError extends Error {}

/**
 * Bad usage: the message and a pointer to --help on stderr, and, when the
 * arguments hold --json (even arguments that did not parse), the error
 * document on stdout, as every tool gives it for a run that could not start.
 */
function usageError(io: ToolIo, subcommand: Subcommand, message: string, args: readonly string[]): number {
  writeLine(io.stderr, `silt ${subcommand.name}: ${message}`);
  writeLine(io.stderr, `Run silt ${subcommand.name} --help for usage`);
  if (args.includes('--json')) writeJson(io.stdout, { ok: false, error: { code: 'USAGE', message } });
  return ExitCode.failed;
}

/** Options that name a file or directory: never accepted empty. */
const pathOptions = ['out', 'archive', 'wal', 'from', 'into'] as const;

function requireString(values: Values, name: string, command: string): string {
  const value = values[name];
  if (value === '') throw new UsageError(`--${name} is empty: give a path (silt ${command} --help)`);
  if (typeof value !== 'string') throw new UsageError(`--${name} is required (silt ${command} --help)`);
  return value;
}

function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} expects a whole number, got "${text}"`);
  return Number(text);
}

function parseChoice<T extends string>(text: string, flag: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`${flag} expects one of ${choices.join(', ')}, got "${text}"`);
  return text as T;
}

function overview(): string {
  const width = Math.max(...subcommands.map((subcommand) => subcommand.name.length), ...Object.keys(comingLater).map((name) => name.length));
  const lines = [
    'Usage: silt <subcommand> [arguments] [--json]',
    '',
    'Offline tools for silt data directories. Run silt <subcommand> --help for details.',
    '',
    ...subcommands.map((subcommand) => `  ${subcommand.name.padEnd(width)}  ${subcommand.summary}`),
    ...Object.entries(comingLater).map(([name, summary]) => `  ${name.padEnd(width)}  ${summary} (not in this build yet)`),
    '',
    'Exit codes: 0 ok, 1 damage found or done only in part, 2 could not run (docs/operations.md).',
    'No tool writes into a directory a running server holds, and none modifies its input.',
  ];
  return lines.join('\n');
}

function packageVersion(): string {
  for (const relative of ['../package.json', '../../package.json']) {
    try {
      const value = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (value.name === 'silt' && typeof value.version === 'string') return value.version;
    } catch {
      // Not there: from dist/ the package file is one level further up; try the next.
    }
  }
  return 'unknown';
}

/** True when this module is the program node was asked to run (directly or through the npm bin link). */
function isMain(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false; // argv[1] is not a file (node -e, a REPL): not run as the program
  }
}

/**
 * When the reader of stdout (or stderr) goes away (`silt dump DIR | head -1`), there is no one
 * left to tell: stop at once, without a message or a stack trace, as `cat` does when SIGPIPE
 * ends it. Node ignores SIGPIPE, so the write fails with EPIPE instead, emitted as an 'error'
 * event that would otherwise crash the process with a stack trace. The exit code is the one
 * already decided, else 0: the output was cut by its reader, not by a failure.
 */
function exitQuietlyOnClosedOutput(stream: NodeJS.WriteStream, exit: (code: number) => void = (code) => process.exit(code)): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') {
      exit(typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok);
      return;
    }
    throw error;
  });
}

if (isMain()) {
  exitQuietlyOnClosedOutput(process.stdout);
  exitQuietlyOnClosedOutput(process.stderr);
  main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`silt: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = ExitCode.failed;
    },
  );
}
