// `silt load --host` against a server that wants a password (requirepass):
// --password (and --user) send AUTH before anything else, and the data
// arrives exactly (dump of the server's directory = the file loaded); the
// command line takes the password from SILT_PASSWORD too. A refused password,
// or none when one is required, stops the load with exit 2 and a message in
// the server's words, before anything is loaded, and never echoes the
// password. --password with --into, and --user without --password, are usage
// errors.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../tools/cli.js';
import { dump } from '../../../tools/dump.js';
import { load, type LoadOptions } from '../../../tools/load.js';
import { closeAll, closeServers, ioredis, startServer, type TestServer } from '../resp/harness.js';
import { captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

const password = 'correct horse battery staple';
const laterMs = Date.now() + 3_600_000;

/** In dump's canonical order, so the server's directory must dump to exactly these bytes. */
const ndjson = [
  '{"db":0,"key":"greeting","type":"string","expireAt":null,"value":"hello"}',
  `{"db":0,"key":"user:1","type":"hash","expireAt":${laterMs},"value":{"age":"42","name":"ann"}}`,
  '{"db":2,"key":"tags","type":"set","expireAt":null,"value":["a","b"]}',
  '',
].join('\n');

let scratch: string;
let counter = 0;

beforeAll(() => {
  scratch = makeScratch('load-auth');
});

afterEach(async () => {
  await closeAll();
});

afterAll(async () => {
  await closeServers();
  removeScratch(scratch);
});

function writeFile(name: string, content: string): string {
  const file = path.join(scratch, name);
  fs.writeFileSync(file, content);
  return file;
}

/** A server with requirepass over a directory of its own (kept after close, to dump). */
async function protectedServer(requirepass = password): Promise<TestServer> {
  const dir = path.join(scratch, `server-${++counter}`);
  fs.mkdirSync(dir);
  return startServer({ requirepass }, { dir });
}

async function runLoad(options: LoadOptions): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const { io, stdout, stderr } = captureIo();
  const result = await load(options, io);
  return { exitCode: result.exitCode, stdout: stdout.text, stderr: stderr.text };
}

async function dumpOf(dir: string): Promise<string> {
  const { io, stdout } = captureIo();
  expect((await dump({ dir }, io)).exitCode).toBe(0);
  return stdout.text;
}

async function keyCount(server: TestServer): Promise<number> {
  const client = ioredis(server.port, { password });
  let keys = 0;
  for (const db of [0, 2]) {
    await client.select(db);
    keys += await client.dbsize();
  }
  return keys;
}

describe('silt load --host with a password', () => {
  it('sends AUTH first and loads NDJSON exactly (dump of the server = the file)', async () => {
    const server = await protectedServer();
    const result = await runLoad({ file: writeFile('keys.ndjson', ndjson), host: '127.0.0.1', port: server.port, password });
    expect(result.stderr).toBe('');
    expect(result.exitCode, result.stdout).toBe(0);
    expect(result.stdout).toContain('silt load: 3 keys');
    expect(await keyCount(server)).toBe(3);
    await server.close();
    expect(await dumpOf(server.dir)).toBe(ndjson);
  });

  it('sends AUTH user password with --user, for RESP input too', async () => {
    const server = await protectedServer();
    const file = writeFile('commands.txt', 'SET a 1\r\nRPUSH list x y\r\n');
    const result = await runLoad({ file, host: '127.0.0.1', port: server.port, user: 'default', password });
    expect(result.exitCode, result.stdout).toBe(0);
    const client = ioredis(server.port, { password });
    expect(await client.get('a')).toBe('1');
    expect(await client.lrange('list', 0, -1)).toEqual(['x', 'y']);
  });

  it('a wrong password: exit 2 in the server words, the password not echoed, nothing loaded', async () => {
    const server = await protectedServer();
    const file = writeFile('wrong.ndjson', ndjson);
    const human = await runLoad({ file, host: '127.0.0.1', port: server.port, password: 'not it' });
    expect(human.exitCode).toBe(2);
    expect(human.stderr).toBe(`silt load: Cannot load into 127.0.0.1:${server.port}: the server refused AUTH: WRONGPASS invalid username-password pair or user is disabled.\n`);
    expect(human.stderr).not.toContain('not it');
    expect(human.stdout).toBe('');
    const json = captureIo();
    const result = await load({ file, host: '127.0.0.1', port: server.port, password: 'not it', user: 'nobody', json: true }, json.io);
    expect(result.exitCode).toBe(2);
    expect(JSON.parse(json.stdout.text)).toMatchObject({ ok: false, error: { code: 'AUTH' } });
    expect(await keyCount(server)).toBe(0);
  });

  it('no password for a server that requires one: stops at the first NOAUTH (exit 2), not one error per line', async () => {
    const server = await protectedServer();
    // More lines than load keeps in flight, so the refusals arrive while it is still sending.
    const lines = Array.from({ length: 3000 }, (_, index) => `{"db":0,"key":"k${index}","type":"string","expireAt":null,"value":"v"}`).join('\n');
    const result = await runLoad({ file: writeFile('many.ndjson', `${lines}\n`), host: '127.0.0.1', port: server.port });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      `silt load: Cannot load into 127.0.0.1:${server.port}: the server requires a password (NOAUTH Authentication required.): give --password (or set SILT_PASSWORD); nothing was loaded\n`,
    );
    expect(await keyCount(server)).toBe(0);
  });

  it('a password for a server that has none is refused too (it may be the wrong server)', async () => {
    const server = await protectedServer('');
    const result = await runLoad({ file: writeFile('open.ndjson', ndjson), host: '127.0.0.1', port: server.port, password });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('the server refused AUTH: ERR AUTH <password> called without any password configured for the default user');
  });
});

describe('the command line', () => {
  it('takes the password from SILT_PASSWORD when --password is not given', async () => {
    const server = await protectedServer();
    const file = writeFile('env.ndjson', ndjson);
    const saved = process.env['SILT_PASSWORD'];
    process.env['SILT_PASSWORD'] = password;
    try {
      const { io, stdout } = captureIo();
      expect(await main(['load', file, '--host', '127.0.0.1', '--port', String(server.port)], io), stdout.text).toBe(0);
    } finally {
      if (saved === undefined) delete process.env['SILT_PASSWORD'];
      else process.env['SILT_PASSWORD'] = saved;
    }
    expect(await keyCount(server)).toBe(3);
    // --password wins over the environment.
    const { io, stderr } = captureIo();
    process.env['SILT_PASSWORD'] = password;
    try {
      expect(await main(['load', file, '--host', '127.0.0.1', '--port', String(server.port), '--password', 'not it'], io)).toBe(2);
    } finally {
      if (saved === undefined) delete process.env['SILT_PASSWORD'];
      else process.env['SILT_PASSWORD'] = saved;
    }
    expect(stderr.text).toContain('WRONGPASS');
  });

  it('refuses --password with --into, and --user without --password (exit 2)', async () => {
    const file = writeFile('usage.ndjson', ndjson);
    const into = captureIo();
    expect(await main(['load', file, '--into', path.join(scratch, 'never'), '--password', password], into.io)).toBe(2);
    expect(into.stderr.text).toContain('--password and --user apply to --host only');
    expect(fs.existsSync(path.join(scratch, 'never'))).toBe(false);
    const user = captureIo();
    expect(await main(['load', file, '--host', '127.0.0.1', '--port', '1', '--user', 'default'], user.io)).toBe(2);
    expect(user.stderr.text).toContain('--user needs --password');
  });
});
