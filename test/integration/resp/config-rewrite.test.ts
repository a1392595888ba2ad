// CONFIG REWRITE: the text it writes (comments and other lines kept, changed
// parameters replaced in place, new ones appended after Redis's signature
// line, values quoted so the file reads back the same), and the command over
// a real socket: the file the server was started with, its mode kept, no
// temporary file left, Redis's errors without a config file or when the
// write fails.

import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { cloneConfig, configRewriteSignature, defaultConfig, readConfig, rewriteConfigText, type ServerConfig } from '../../../service/config.js';
import { RawClient, closeAll, closeServers, onCleanup, plain, startServer } from './harness.js';

afterEach(closeAll);
afterAll(closeServers);

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'silt-rewrite-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The configuration a file gives on its own (no flags, no environment). */
function configFromFile(path: string): ServerConfig {
  const parsed = readConfig(['--config', path], {});
  if (parsed.kind !== 'run') throw new Error('expected a run configuration');
  return parsed.config;
}

describe('CONFIG REWRITE text', () => {
  const oldText = ['# silt test config', '', 'port 7000', 'appendfsync everysec  # the default', 'maxclients 50', '   # indented comment', 'maxclients 60', ''].join('\n');

  it('keeps comments, replaces lines in place, drops later duplicates and appends the rest', () => {
    const config = { ...cloneConfig(defaultConfig), port: 7000, appendfsync: 'always' as const, maxclients: 70, slowlogMaxLen: 7 };
    expect(rewriteConfigText(oldText, config)).toBe(
      ['# silt test config', '', 'port 7000', 'appendfsync always', 'maxclients 70', '   # indented comment', configRewriteSignature, 'slowlog-max-len 7', ''].join('\n'),
    );
  });

  it('writes nothing for parameters at their default that the file does not name', () => {
    expect(rewriteConfigText('', cloneConfig(defaultConfig))).toBe('');
    expect(rewriteConfigText('# only a comment\n', cloneConfig(defaultConfig))).toBe('# only a comment\n');
  });

  it('rewrites its own output in place and appends what is new at the end, under the one signature', () => {
    const first = rewriteConfigText('port 1\n', { ...cloneConfig(defaultConfig), port: 1, timeout: 5 });
    expect(first).toBe(`port 1\n${configRewriteSignature}\ntimeout 5\n`);
    expect(rewriteConfigText(first, { ...cloneConfig(defaultConfig), port: 1, timeout: 5 })).toBe(first);
    expect(rewriteConfigText(`${first}# later comment\n`, { ...cloneConfig(defaultConfig), port: 1, timeout: 6, loglevel: 'warning' })).toBe(
      `port 1\n${configRewriteSignature}\ntimeout 6\n# later comment\nloglevel warning\n`,
    );
  });

  it('quotes values so that the file reads back the same', () => {
    const dir = scratchDir();
    const path = join(dir, 'silt.conf');
    const config: ServerConfig = {
      ...cloneConfig(defaultConfig),
      requirepass: 'a b"c\\d #e\tf',
      dir: join(dir, 'data dir'),
      logfile: '',
      clientOutputBufferLimit: { normal: { hardBytes: 0, softBytes: 0, softSeconds: 0 }, pubsub: { hardBytes: 1024, softBytes: 512, softSeconds: 5 } },
    };
    writeFileSync(path, rewriteConfigText('logfile /tmp/x.log\n', config));
    const back = configFromFile(path);
    expect(back.requirepass).toBe(config.requirepass);
    expect(back.dir).toBe(config.dir);
    expect(back.logfile).toBe('');
    expect(back.clientOutputBufferLimit).toEqual(config.clientOutputBufferLimit);
  });
});

describe('CONFIG REWRITE command', () => {
  it('writes the running values into the config file the server started with', async () => {
    const dir = scratchDir();
    const path = join(dir, 'silt.conf');
    writeFileSync(path, '# kept\nappendfsync everysec\nloglevel notice\n');
    chmodSync(path, 0o600);
    const fromFile = configFromFile(path);
    const silt = await startServer({ appendfsync: fromFile.appendfsync, loglevel: fromFile.loglevel, configFile: fromFile.configFile, dir: join(dir, 'data') });
    // Closed before the scratch directory (its data directory) goes.
    onCleanup(() => silt.close());
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('CONFIG', 'SET', 'appendfsync', 'always', 'slowlog-max-len', '7'))).toBe('OK');
    expect(plain(await raw.call('CONFIG', 'REWRITE'))).toBe('OK');
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith('# kept\nappendfsync always\nloglevel notice\n')).toBe(true);
    expect(text).toContain(`${configRewriteSignature}\n`);
    expect(text).toContain('\nslowlog-max-len 7\n');
    const back = configFromFile(path);
    expect(back.appendfsync).toBe('always');
    expect(back.slowlogMaxLen).toBe(7);
    expect(back.dir).toBe(join(dir, 'data'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(['data', 'silt.conf']);
    // A second rewrite with nothing changed writes the same text.
    expect(plain(await raw.call('CONFIG', 'REWRITE'))).toBe('OK');
    expect(readFileSync(path, 'utf8')).toBe(text);
    expect(plain(await raw.call('CONFIG', 'REWRITE', 'extra'))).toEqual({ error: "ERR wrong number of arguments for 'config|rewrite' command" });
  });

  it('answers Redis\'s error when the server runs without a config file', async () => {
    const silt = await startServer();
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('CONFIG', 'REWRITE'))).toEqual({ error: 'ERR The server is running without a config file' });
    expect((plain(await raw.call('CONFIG', 'HELP')) as string[]).join('\n')).toContain('REWRITE\n    Rewrite the configuration file.');
  });

  it('answers an error and leaves nothing behind when the file cannot be written', async () => {
    const dir = scratchDir();
    const path = join(dir, 'missing-directory', 'silt.conf');
    const silt = await startServer({ configFile: path });
    onCleanup(() => silt.close());
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('CONFIG', 'REWRITE'))).toMatchObject({ error: expect.stringMatching(/^ERR Rewriting config file: .*ENOENT/) });
    expect(readdirSync(dir)).toEqual([]);
  });
});
