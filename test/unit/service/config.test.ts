// service/config.ts: defaults, the precedence flag > environment > file >
// default, redis.conf line syntax, value parsing and its error messages.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, findParameter, helpText, parameters, parseMemory, pinoLevel, readConfig, splitConfigLine, type ServerConfig, misspelledVariables } from '../../../service/config.js';

const dir = mkdtempSync(join(tmpdir(), 'silt-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(argv: string[], env: NodeJS.ProcessEnv = {}): ServerConfig {
  const result = readConfig(argv, env);
  if (result.kind !== 'run') throw new Error(`expected a run, got ${result.kind}`);
  return result.config;
}

function file(text: string): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(path, text);
  return path;
}

describe('readConfig', () => {
  it('gives the documented defaults', () => {
    const config = run([]);
    expect(config).toMatchObject({ port: 6379, bind: '127.0.0.1', dir: './data', appendfsync: 'everysec', requirepass: '', databases: 16, maxclients: 10_000, engine: 'lsm', loglevel: 'info' });
    expect(config.clientOutputBufferLimit.normal.hardBytes).toBeGreaterThan(0);
    expect(config).toEqual({ ...defaultConfig, clientOutputBufferLimit: defaultConfig.clientOutputBufferLimit });
  });

  it('reads --name value and --name=value flags', () => {
    const config = run(['--port', '7000', '--appendfsync=always', '--memtable-mb', '0.5', '--requirepass', 'x y', '--wal-preallocate-mb', '0.25']);
    expect(config).toMatchObject({ port: 7000, appendfsync: 'always', memtableMb: 0.5, requirepass: 'x y', walPreallocateMb: 0.25 });
    expect(run([]).walPreallocateMb).toBe(1);
    expect(run([]).reserveMb).toBe(8);
    expect(run(['--reserve-mb', '0']).reserveMb).toBe(0);
    expect(run(['--background-nice', '0']).backgroundNice).toBe(0);
    expect(run([]).backgroundNice).toBe(10);
  });

  it('asks for help and version', () => {
    expect(readConfig(['--port', '1', '--help'], {})).toEqual({ kind: 'help' });
    expect(readConfig(['-h'], {})).toEqual({ kind: 'help' });
    expect(readConfig(['-v'], {})).toEqual({ kind: 'version' });
  });

  it('takes flag over environment over file over default', () => {
    const path = file('port 1111\ndatabases 2\nmaxclients 3\nloglevel warning\n');
    const fromFile = run(['--config', path]);
    expect(fromFile).toMatchObject({ port: 1111, databases: 2, maxclients: 3, loglevel: 'warning', configFile: path });
    const fromEnv = run(['--config', path], { SILT_DATABASES: '4', SILT_MAXCLIENTS: '5' });
    expect(fromEnv).toMatchObject({ port: 1111, databases: 4, maxclients: 5 });
    const fromFlag = run(['--config', path, '--maxclients', '6'], { SILT_DATABASES: '4', SILT_MAXCLIENTS: '5' });
    expect(fromFlag).toMatchObject({ port: 1111, databases: 4, maxclients: 6 });
    // The file may also come from SILT_CONFIG or a lone positional argument, as redis-server takes it.
    expect(run([], { SILT_CONFIG: path }).port).toBe(1111);
    expect(run([path, '--port', '2222']).port).toBe(2222);
  });

  it('names what is wrong, with the source, as a ConfigError', () => {
    expect(() => run(['--nope', '1'])).toThrow(new ConfigError('Unknown flag --nope: see --help'));
    expect(() => run(['--port'])).toThrow('Missing value for flag --port');
    expect(() => run(['a.conf', 'b.conf'])).toThrow('Unexpected argument "b.conf"');
    expect(() => run(['--port', '65536'])).toThrow('Invalid value "65536" for flag --port: argument must be between 0 and 65535 inclusive');
    expect(() => run(['--port', '1.5'])).toThrow("argument couldn't be parsed into an integer");
    expect(() => run(['--port', ' 7000'])).toThrow("argument couldn't be parsed into an integer");
    expect(() => run(['--memtable-mb', '64 '])).toThrow("argument couldn't be parsed into a number");
    expect(() => run(['--appendfsync', 'always '])).toThrow('argument(s) must be one of the following');
    expect(() => run(['--memtable-mb', 'lots'])).toThrow("argument couldn't be parsed into a number");
    expect(() => run(['--wal-preallocate-mb', '65'])).toThrow('argument must be between 0 and 64 inclusive');
    expect(() => run(['--reserve-mb', '1025'])).toThrow('argument must be between 0 and 1024 inclusive');
    expect(() => run(['--wal-preallocate-mb', '-1'])).toThrow('Invalid value "-1" for flag --wal-preallocate-mb: argument must be between 0 and 64 inclusive');
    expect(() => run(['--background-nice', '20'])).toThrow('Invalid value "20" for flag --background-nice: argument must be between 0 and 19 inclusive');
    expect(() => run(['--engine', 'rocks'])).toThrow('argument(s) must be one of the following: lsm, level');
    expect(() => run(['--loglevel', 'chatty'])).toThrow('argument must be one of the following');
    expect(() => run(['--bind', ' '])).toThrow('argument must not be empty');
    expect(() => run([], { SILT_PORT: 'x' })).toThrow('for environment variable SILT_PORT');
    const path = file('port 1\n\n# fine\nbogus 1\n');
    expect(() => run(['--config', path])).toThrow(`"${path}" line 4: unknown directive "bogus"`);
    expect(() => run(['--config', file('port\n')])).toThrow('"port" needs a value');
    expect(() => run(['--config', file('requirepass "open\n')])).toThrow('unbalanced quotes');
    expect(() => run(['--config', join(dir, 'missing.conf')])).toThrow('Cannot read config file');
  });

  it('include reads another file where it stands (the last line of a parameter wins); a pattern takes its matches in name order', () => {
    const confD = mkdtempSync(join(dir, 'conf.d-'));
    writeFileSync(join(confD, '20-port.conf'), 'port 2020\n');
    writeFileSync(join(confD, '10-port.conf'), 'port 1010\ndatabases 3\n');
    writeFileSync(join(confD, 'notes.txt'), 'bogus 1\n');
    writeFileSync(join(confD, '.hidden.conf'), 'port 9999\n');
    expect(run(['--config', file(`port 1\ninclude ${join(confD, '*.conf')}\n`)])).toMatchObject({ port: 2020, databases: 3 });
    expect(run(['--config', file(`include ${join(confD, '20-port.conf')}\nport 7\n`)]).port).toBe(7);
    // A pattern that matches nothing (an empty conf.d) includes nothing, as in Redis; a missing file is an error.
    expect(run(['--config', file(`port 5\ninclude ${join(dir, 'no-such-dir', '*.conf')}\n`)]).port).toBe(5);
    expect(() => run(['--config', file(`include ${join(dir, 'missing.conf')}\n`)])).toThrow('Cannot read config file');
    // An error in an included file names that file and line.
    const bad = file('port 1\nport x\n');
    expect(() => run(['--config', file(`include ${bad}\n`)])).toThrow(`"${bad}" line 2`);
    const looping = join(dir, 'looping.conf');
    writeFileSync(looping, `include ${looping}\n`);
    expect(() => run(['--config', looping])).toThrow('includes nest deeper than 16 files (does a file include itself?)');
    expect(() => run(['--config', file('include a.conf b.conf\n')])).toThrow('"include" takes one file name, got 2');
  });

  it('a parameter takes one word in a config file, as in Redis; a value with blanks is quoted', () => {
    expect(() => run(['--config', file('requirepass two words\n')])).toThrow('"requirepass" takes one value, got 2 (quote a value that holds blanks: requirepass "two words")');
    expect(run(['--config', file('requirepass "two words"\n')]).requirepass).toBe('two words');
    expect(() => run(['--config', file('port 1 2\n')])).toThrow('"port" takes one value, got 2');
  });

  it('accepts Redis log level names and maps them to pino levels', () => {
    expect(pinoLevel(run(['--loglevel', 'verbose']).loglevel)).toBe('debug');
    expect(pinoLevel('notice')).toBe('info');
    expect(pinoLevel('warning')).toBe('warn');
    expect(pinoLevel('nothing')).toBe('silent');
    expect(pinoLevel('error')).toBe('error');
  });

  it('bind takes one address; a list (stock redis.conf) is a configuration error that says so; a "-" prefix is dropped', () => {
    expect(run(['--bind', '127.0.0.1']).bind).toBe('127.0.0.1');
    expect(run(['--bind', '-::1']).bind).toBe('::1');
    expect(() => run(['--config', file('bind 127.0.0.1 -::1\n')])).toThrow('silt listens on one address, got 2 ("127.0.0.1 -::1"): give one, such as 127.0.0.1');
  });

  it('names SILT_* variables that look like a misspelled parameter (the server warns); others are left alone', () => {
    expect(
      misspelledVariables({ SILT_APPENDFSYNCC: 'always', SILT_MAXCLIENT: '5', SILT_PORT: '1', SILT_CONFIG: 'f', SILT_PROPERTY_RUNS: '3', SILT_TEST_LOG: 'info', HOME: '/' }),
    ).toEqual([
      ['SILT_APPENDFSYNCC', 'SILT_APPENDFSYNC'],
      ['SILT_MAXCLIENT', 'SILT_MAXCLIENTS'],
    ]);
  });

  it('reads client-output-buffer-limit in Redis syntax; classes not named keep their limits', () => {
    const path = file('client-output-buffer-limit normal 64mb 16mb 10\n');
    const config = run(['--config', path, '--client-output-buffer-limit', 'pubsub 1mb 0 0']);
    expect(config.clientOutputBufferLimit).toEqual({
      normal: { hardBytes: 64 * 1024 * 1024, softBytes: 16 * 1024 * 1024, softSeconds: 10 },
      pubsub: { hardBytes: 1024 * 1024, softBytes: 0, softSeconds: 0 },
    });
    expect(() => run(['--client-output-buffer-limit', 'normal 1mb'])).toThrow('expected groups of "class hard soft seconds"');
    expect(() => run(['--client-output-buffer-limit', 'master 1 1 1'])).toThrow('unknown client class "master"');
    // A stock redis.conf line: the replica class is checked and ignored (silt has no replicas).
    const stock = run(['--client-output-buffer-limit', 'normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60']);
    expect(stock.clientOutputBufferLimit).toEqual({ normal: { hardBytes: 0, softBytes: 0, softSeconds: 0 }, pubsub: { hardBytes: 32 * 1024 * 1024, softBytes: 8 * 1024 * 1024, softSeconds: 60 } });
    expect(() => run(['--client-output-buffer-limit', 'slave 1 1 x'])).toThrow();
    const parameter = findParameter('client-output-buffer-limit')!;
    expect(parameter.format(config.clientOutputBufferLimit)).toBe(`normal ${64 * 1024 * 1024} ${16 * 1024 * 1024} 10 pubsub ${1024 * 1024} 0 0`);
  });
});

describe('splitConfigLine', () => {
  it('splits on blanks and skips comments and empty lines', () => {
    expect(splitConfigLine('  port   6379 ')).toEqual(['port', '6379']);
    expect(splitConfigLine('# port 1')).toEqual([]);
    expect(splitConfigLine('   ')).toEqual([]);
  });

  it('takes double quotes with escapes and single quotes literally', () => {
    expect(splitConfigLine('requirepass "a b\\n\\x41\\"c"')).toEqual(['requirepass', 'a b\nA"c']);
    expect(splitConfigLine("requirepass 'it\\'s \\n'")).toEqual(['requirepass', "it's \\n"]);
    expect(splitConfigLine('logfile ""')).toEqual(['logfile', '']);
    expect(() => splitConfigLine('dir "a"b')).toThrow('closing quote must be followed by a space');
  });
});

describe('parseMemory', () => {
  it('reads Redis units: k/m/g are powers of 1000, kb/mb/gb of 1024', () => {
    expect(parseMemory('100')).toBe(100);
    expect(parseMemory('1k')).toBe(1000);
    expect(parseMemory('1KB')).toBe(1024);
    expect(parseMemory('2mb')).toBe(2 * 1024 * 1024);
    expect(parseMemory('1g')).toBe(1e9);
    expect(parseMemory('1gb')).toBe(1024 ** 3);
    expect(() => parseMemory('1tb')).toThrow('expected a size in bytes');
    expect(() => parseMemory('-1')).toThrow('expected a size in bytes');
  });
});

describe('helpText', () => {
  it('lists every parameter with its default, and which can change live', () => {
    const text = helpText('9.9.9');
    expect(text).toContain('silt-server 9.9.9');
    for (const parameter of parameters) expect(text).toContain(`--${parameter.name} `);
    expect(text).toMatch(/--appendfsync always\|everysec\|no\n.*default "everysec"; CONFIG SET changes it live/);
    expect(text).toMatch(/--port N\n.*default "6379"\n/);
  });
});
