// The server process (dist/service/main.js) as an operator runs it: --help,
// configuration from flags, SILT_* variables and a redis.conf-style file
// (flag > environment > file > default; bad values exit 2), the startup line,
// and stopping: SIGTERM drains and exits 0 with every acknowledged write on
// disk, a second signal exits at once, SIGQUIT skips draining, SHUTDOWN from
// a client does what SIGTERM does. npm test builds dist/ first.

import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RawClient, closeAll, encodeCommand, ioredis, mainScript, plain, sleep, waitFor } from './harness.js';

const root = mkdtempSync(join(tmpdir(), 'silt-lifecycle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(closeAll);

interface ServerProcess {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  /** The port from the startup line. */
  port: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** Runs main.js with `args` and `env` until it exits (for --help and bad configuration). */
function runToExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [mainScript, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('exit', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts main.js and waits for its startup line (or its exit). */
function startProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainScript, '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const logs: Record<string, unknown>[] = [];
    let stderr = '';
    let buffered = '';
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
      child.on('exit', (code, signal) => {
        children.delete(child);
        resolveExit({ code, signal });
      }),
    );
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (typeof entry.msg === 'string' && entry.msg.includes('ready to accept connections')) {
          resolve({ child, logs, stderr: () => stderr, port: entry.port as number, exit });
        }
      }
    });
    void exit.then(({ code }) => reject(new Error(`server exited with ${code} before it was ready: ${stderr} ${JSON.stringify(logs)}`)));
  });
}

/** A loopback port nothing listens on (for a server whose log does not say its port). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

describe('configuration', () => {
  it('--help lists every parameter and exits 0', async () => {
    const { code, stdout } = await runToExit(['--help']);
    expect(code).toBe(0);
    for (const flag of ['--port', '--bind', '--dir', '--appendfsync', '--requirepass', '--databases', '--maxclients', '--memtable-mb', '--block-cache-mb', '--max-open-files', '--table-cache-mb', '--wal-preallocate-mb', '--reserve-mb', '--background-nice', '--loglevel', '--config', '--engine']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain('SILT_');
    expect((await runToExit(['--version'])).stdout).toMatch(/^silt-server \d+\.\d+\.\d+/);
  });

  it.each([
    [['--nope', '1'], /Unknown flag --nope/],
    [['--port', '70000'], /Invalid value "70000" for flag --port: argument must be between 0 and 65535 inclusive/],
    [['--appendfsync', 'sometimes'], /Invalid value "sometimes" for flag --appendfsync: argument\(s\) must be one of the following: always, everysec, no/],
    [['--port'], /Missing value for flag --port/],
    [['--databases', '0'], /--databases/],
    [['--engine', 'rocks'], /--engine/],
    [['--config', '/nonexistent/silt.conf'], /Cannot read config file "\/nonexistent\/silt.conf"/],
  ])('bad configuration %j exits 2 with a clear message', async (args, message) => {
    const { code, stderr } = await runToExit(args as string[]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain('--help');
  });

  it('a bad environment variable or config file line exits 2 and names it', async () => {
    const environment = await runToExit([], { SILT_MAXCLIENTS: 'lots' });
    expect(environment.code).toBe(2);
    expect(environment.stderr).toContain('environment variable SILT_MAXCLIENTS');
    const file = join(root, 'bad.conf');
    writeFileSync(file, '# comment\nport 7000\nfrobnicate yes\n');
    const config = await runToExit(['--config', file]);
    expect(config.code).toBe(2);
    expect(config.stderr).toContain(`"${file}" line 3: unknown directive "frobnicate"`);
  });

  it('flag > environment > config file > default; the data directory is created', async () => {
    const dir = join(root, 'nested', 'precedence');
    const file = join(root, 'silt.conf');
    writeFileSync(file, `# redis.conf syntax\ndatabases 4\nmaxclients 500\nslowlog-max-len 7\ndir "${dir}"\nclient-output-buffer-limit normal 2gb 0 0\n`);
    const server = await startProcess(['--config', file, '--maxclients', '300'], { SILT_DATABASES: '8', SILT_MAXCLIENTS: '400' });
    expect(existsSync(dir)).toBe(true);
    const client = ioredis(server.port);
    expect(await client.config('GET', 'databases')).toEqual(['databases', '8']);
    expect(await client.config('GET', 'maxclients')).toEqual(['maxclients', '300']);
    expect(await client.config('GET', 'slowlog-max-len')).toEqual(['slowlog-max-len', '7']);
    expect(((await client.config('GET', 'client-output-buffer-limit')) as string[])[1]).toMatch(/^normal 2147483648 0 0 /);
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
    await expect(client.select(8)).rejects.toThrow('DB index is out of range');
    server.child.kill('SIGTERM');
    expect((await server.exit).code).toBe(0);
  });
});

describe('startup and shutdown', () => {
  it('logs one startup line with version, port, data dir, fsync policy and what recovery did', async () => {
    const dir = join(root, 'startup');
    const first = await startProcess(['--dir', dir, '--appendfsync', 'always']);
    const ready = first.logs.find((entry) => String(entry.msg).includes('ready to accept connections'))!;
    expect(ready).toMatchObject({ level: 30, port: first.port, dir, appendfsync: 'always', engine: 'lsm' });
    expect(ready.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(ready.recovery).toMatchObject({ walRecordsReplayed: expect.any(Number), walBytesTruncated: 0, durationMs: expect.any(Number) });
    const client = ioredis(first.port);
    for (let index = 0; index < 20; index++) await client.set(`startup:${index}`, 'v');
    client.disconnect();
    first.child.kill('SIGKILL');
    await first.exit;
    const second = await startProcess(['--dir', dir]);
    const again = second.logs.find((entry) => String(entry.msg).includes('ready to accept connections'))!;
    expect((again.recovery as { walRecordsReplayed: number }).walRecordsReplayed).toBeGreaterThanOrEqual(20);
    second.child.kill('SIGTERM');
    expect((await second.exit).code).toBe(0);
  });

  it('SIGTERM finishes the commands in flight, replies, syncs, and exits 0; the writes survive a restart', async () => {
    const dir = join(root, 'sigterm');
    const server = await startProcess(['--dir', dir, '--appendfsync', 'everysec']);
    const raw = await RawClient.connect(server.port);
    const count = 5000;
    raw.send(Buffer.concat(Array.from({ length: count }, (_, index) => encodeCommand(['SET', `term:${index}`, String(index)]))));
    // Signal as soon as the first reply is back: the rest are in flight.
    await raw.replies(1);
    server.child.kill('SIGTERM');
    let acknowledged = 1;
    try {
      while (acknowledged < count) {
        expect(plain(await raw.reply())).toBe('OK');
        acknowledged++;
      }
    } catch {
      // The connection closed: whatever was acknowledged must survive.
    }
    expect(await server.exit).toEqual({ code: 0, signal: null });
    expect(server.logs.some((entry) => entry.msg === 'silt stopped')).toBe(true);
    const restarted = await startProcess(['--dir', dir]);
    const client = ioredis(restarted.port);
    for (let index = 0; index < acknowledged; index++) {
      if ((await client.get(`term:${index}`)) !== String(index)) expect.fail(`acknowledged SET term:${index} is lost`);
    }
    restarted.child.kill('SIGTERM');
    await restarted.exit;
  });

  it('large values (written to the WAL from the request buffer) survive SIGKILL under always, next to small ones', async () => {
    const dir = join(root, 'large-values');
    const server = await startProcess(['--dir', dir, '--appendfsync', 'always']);
    const client = ioredis(server.port);
    // 3 MiB arrives in many socket reads: the decoder joins it with room for the record header.
    const values = [0, 1, 2].map((index) => Buffer.alloc(3 * 1024 * 1024 + index, 65 + index));
    const replies = await client
      .pipeline()
      .set('large:0', values[0]!)
      .set('small:0', 'a')
      .mset('large:1', values[1]!, 'small:1', 'b', 'large:2', values[2]!)
      .exec();
    expect(replies!.map(([error, reply]) => error ?? reply)).toEqual(['OK', 'OK', 'OK']);
    server.child.kill('SIGKILL');
    await server.exit;
    const restarted = await startProcess(['--dir', dir]);
    const again = ioredis(restarted.port);
    for (const [index, value] of values.entries()) expect((await again.getBuffer(`large:${index}`))?.equals(value), `large:${index}`).toBe(true);
    expect(await again.mget('small:0', 'small:1')).toEqual(['a', 'b']);
    restarted.child.kill('SIGTERM');
    await restarted.exit;
  });

  it('stops accepting connections once stopping', async () => {
    const server = await startProcess(['--dir', join(root, 'accepting')]);
    // A client that does not read keeps the drain busy for a while.
    const stuck = connect({ port: server.port, host: '127.0.0.1' });
    stuck.on('error', () => undefined);
    await new Promise((resolve) => stuck.once('connect', resolve));
    stuck.pause();
    const client = ioredis(server.port);
    await client.set('big', Buffer.alloc(8 * 1024 * 1024, 1));
    stuck.write(Buffer.concat(Array.from({ length: 8 }, () => encodeCommand(['GET', 'big']))));
    await sleep(300);
    server.child.kill('SIGTERM');
    await sleep(300);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ port: server.port, host: '127.0.0.1' });
      socket.on('error', () => resolve(true));
      socket.on('connect', () => {
        socket.destroy();
        resolve(false);
      });
    });
    expect(refused).toBe(true);
    stuck.destroy();
    expect((await server.exit).code).toBe(0);
  });

  it('a second signal while draining exits at once', async () => {
    const server = await startProcess(['--dir', join(root, 'second-signal')]);
    const client = ioredis(server.port);
    await client.set('big', Buffer.alloc(8 * 1024 * 1024, 1));
    const stuck = connect({ port: server.port, host: '127.0.0.1' });
    stuck.on('error', () => undefined);
    await new Promise((resolve) => stuck.once('connect', resolve));
    stuck.pause();
    stuck.write(Buffer.concat(Array.from({ length: 8 }, () => encodeCommand(['GET', 'big']))));
    await sleep(300);
    server.child.kill('SIGTERM');
    await sleep(300);
    expect(server.child.exitCode).toBeNull();
    const started = Date.now();
    server.child.kill('SIGINT');
    expect((await server.exit).code).toBe(1);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(server.logs.some((entry) => String(entry.msg).includes('second signal'))).toBe(true);
    stuck.destroy();
  });

  it('SIGQUIT skips draining but still syncs and closes the engine', async () => {
    const dir = join(root, 'sigquit');
    const server = await startProcess(['--dir', dir]);
    const client = ioredis(server.port);
    await client.set('quit-key', 'kept');
    await client.set('big', Buffer.alloc(8 * 1024 * 1024, 1));
    const stuck = connect({ port: server.port, host: '127.0.0.1' });
    stuck.on('error', () => undefined);
    await new Promise((resolve) => stuck.once('connect', resolve));
    stuck.pause();
    stuck.write(Buffer.concat(Array.from({ length: 8 }, () => encodeCommand(['GET', 'big']))));
    await sleep(300);
    const started = Date.now();
    server.child.kill('SIGQUIT');
    expect((await server.exit).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    stuck.destroy();
    const restarted = await startProcess(['--dir', dir]);
    expect(await ioredis(restarted.port).get('quit-key')).toBe('kept');
    restarted.child.kill('SIGTERM');
    await restarted.exit;
  });

  it('SHUTDOWN from a client stops the process with exit code 0', async () => {
    const server = await startProcess(['--dir', join(root, 'shutdown')]);
    const raw = await RawClient.connect(server.port);
    await raw.call('SET', 'k', 'v');
    raw.command('SHUTDOWN');
    await raw.waitClosed();
    expect((await server.exit).code).toBe(0);
    expect(server.logs.some((entry) => String(entry.reason ?? '').startsWith('SHUTDOWN from'))).toBe(true);
  });

  it('exits 1 on a damaged data directory, saying on stderr and in the log what to do next (verify, recover)', async () => {
    const dir = join(root, 'damaged');
    cpSync(fileURLToPath(new URL('../../../fixtures/wal-mid-corruption/', import.meta.url)), dir, { recursive: true });
    rmSync(join(dir, 'EXPECTED.json'));
    const run = await runToExit(['--port', '0', '--dir', dir]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`silt-server: cannot open the data directory "${dir}": Cannot read WAL record in "${dir}/wal/000012.log" at offset 91`);
    expect(run.stderr).toContain(`run "silt verify ${dir}" to see what is damaged and "silt recover ${dir} --out NEWDIR"`);
    const fatal = run.stdout.split('\n').filter((line) => line.includes('cannot open the data directory')).map((line) => JSON.parse(line) as { advice?: string });
    expect(fatal).toHaveLength(1);
    expect(fatal[0]!.advice).toContain(`silt verify ${dir}`);
  });

  it('exits 1 when the data directory is locked by another server, or the port is taken', async () => {
    const dir = join(root, 'locked');
    const first = await startProcess(['--dir', dir]);
    const second = await runToExit(['--port', '0', '--dir', dir]);
    expect(second.code).toBe(1);
    expect(second.stdout).toContain('cannot open the data directory');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const taken = await runToExit(['--port', String(port), '--dir', join(root, 'taken')]);
    expect(taken.code).toBe(1);
    expect(taken.stdout).toContain('cannot listen');
    blocker.close();
    first.child.kill('SIGTERM');
    expect((await first.exit).code).toBe(0);
  });

  it('lowers max-open-files, then maxclients, to what the file-descriptor limit allows, with warnings', async () => {
    const dir = join(root, 'fd-limit');
    const child = spawn('/bin/sh', ['-c', `ulimit -n 300 && exec "${process.execPath}" "${mainScript}" --port 0 --dir "${dir}" --maxclients 1000`], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    await waitFor(() => output.includes('ready to accept connections'), 10_000, 'the startup line');
    const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    // 300 descriptors: 128 kept for the process and the engine's other files, a quarter of the
    // rest (43) for segments but at least 64, so max-open-files 1000 -> 64; clients get 300 - 128 - 64.
    const lowered = lines.find((entry) => entry.level === 40 && String(entry.msg).includes('max-open-files has been reduced'))!;
    expect(lowered).toMatchObject({ requested: 1000, fileDescriptorLimit: 300, maxOpenFiles: 64 });
    const warning = lines.find((entry) => entry.level === 40 && String(entry.msg).includes('maxclients has been reduced'))!;
    expect(warning).toMatchObject({ requested: 1000, fileDescriptorLimit: 300, maxclients: 108, maxOpenFiles: 64 });
    const ready = lines.find((entry) => String(entry.msg).includes('ready to accept connections'))!;
    expect(ready.maxclients).toBe(108);
    const client = ioredis(ready.port as number);
    expect((await client.info('clients')).includes('maxclients:108')).toBe(true);
    expect((await client.info('lsm')).includes('lsm_table_cache_max_open_files:64\r\n')).toBe(true);
    await expect(client.config('SET', 'maxclients', '500')).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with 108",
    );
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  });

  it('logs at the configured level; CONFIG SET loglevel changes it live', async () => {
    const server = await startProcess(['--dir', join(root, 'loglevel'), '--loglevel', 'debug']);
    const client = ioredis(server.port);
    const raw = await RawClient.connect(server.port);
    raw.close();
    await waitFor(() => server.logs.some((entry) => entry.msg === 'client disconnected' && entry.level === 20), 3000, 'a debug line');
    // A protocol error is logged at debug (Redis: verbose), not at the default level.
    const stray = await RawClient.connect(server.port);
    stray.send('*1\r\n$x\r\n');
    await waitFor(() => server.logs.some((entry) => entry.msg === 'protocol error from client'), 3000, 'the protocol error');
    expect(server.logs.filter((entry) => entry.msg === 'protocol error from client').map((entry) => entry.level)).toEqual([20]);
    stray.close();
    await client.config('SET', 'loglevel', 'warning');
    const before = server.logs.length;
    const again = await RawClient.connect(server.port);
    again.close();
    // The engine and keyspace log through children of the server's logger: a full compaction
    // (the engine logs 'compaction done' at info) shows whether they follow the change too.
    await client.set('k', 'v');
    await client.bgrewriteaof();
    await waitFor(async () => (await client.info('persistence')).includes('aof_rewrites:1\r\n'), 5000, 'the full compaction');
    await sleep(200);
    expect(server.logs.slice(before).filter((entry) => (entry.level as number) < 40)).toEqual([]);
    server.child.kill('SIGTERM');
    await server.exit;
  });

  it('SIGHUP reopens --logfile after a rotation moved it, and the server goes on (it used to exit, leaving its LOCK)', async () => {
    const port = await freePort();
    const logDir = join(root, 'rotated-log');
    const logfile = join(logDir, 'silt.log');
    const child = spawn(process.execPath, [mainScript, '--port', String(port), '--dir', join(root, 'rotated'), '--logfile', logfile], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const exit = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
    try {
      await waitFor(() => read(logfile).includes('ready to accept connections'), 10_000, 'the server to start');
      renameSync(logfile, `${logfile}.1`); // logrotate's move, then its postrotate: kill -HUP
      child.kill('SIGHUP');
      await waitFor(() => read(logfile).includes('SIGHUP: log file reopened'), 5000, 'a new log file');
      const client = ioredis(port);
      expect(await client.ping()).toBe('PONG');
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(read(logfile)).toContain('"msg":"silt stopped"');
      expect(read(`${logfile}.1`)).not.toContain('silt stopped');
    } finally {
      child.kill('SIGKILL');
      children.delete(child);
    }
  });

  it.skipIf(!existsSync('/dev/full'))('a log file that cannot be written (a full disk) costs log lines, not the server', async () => {
    // /dev/full fails every write with ENOSPC, as a log file on a full disk does.
    const port = await freePort();
    const child = spawn(process.execPath, [mainScript, '--port', String(port), '--dir', join(root, 'full-log'), '--logfile', '/dev/full'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exit = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    try {
      await waitFor(async () => RawClient.connect(port).then((raw) => (raw.close(), true), () => false), 10_000, 'the server to listen');
      const client = ioredis(port);
      await waitFor(async () => (await client.info('persistence')).includes('loading:0'), 10_000, 'the data directory to load');
      // Commands that log (a checkpoint logs two lines), then a stop that logs too.
      for (let index = 0; index < 3; index++) expect(await client.save()).toBe('OK');
      await client.set('k', 'v');
      expect(await client.get('k')).toBe('v');
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(stderr.match(/cannot write the log to "\/dev\/full": ENOSPC/g), stderr).toHaveLength(1);
    } finally {
      child.kill('SIGKILL');
      children.delete(child);
    }
  });
});
