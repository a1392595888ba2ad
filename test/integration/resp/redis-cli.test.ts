// redis-cli against silt, as a user would run it: single commands, --raw
// output, -n (database), -a (password), --pipe mass insertion, INFO. Without
// /usr/bin/redis-cli (Debian package redis-tools; .ci/run installs it) every
// test here reports itself skipped, loudly.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServers, hasRedisCli, ioredis, redisCli, redisCliPath, startServer, type TestServer } from './harness.js';

if (!hasRedisCli) {
  console.warn(`SKIPPED: ${redisCliPath} is not installed, so the redis-cli tests do not run (apt-get install redis-tools; .ci/run does)`);
}

const maybe = hasRedisCli ? describe : describe.skip;

maybe('redis-cli', () => {
  let silt: TestServer;
  let port: string;

  beforeAll(async () => {
    silt = await startServer();
    port = String(silt.port);
  });
  afterAll(closeServers);

  it('PING, SET, GET, INCR and an error, as redis-cli prints them', async () => {
    // Output to a pipe is --raw by default; --no-raw asks for what a terminal shows.
    expect((await redisCli(['-p', port, 'ping'])).stdout).toBe('PONG\n');
    expect((await redisCli(['-p', port, 'set', 'cli:a', 'hello world'])).stdout).toBe('OK\n');
    expect((await redisCli(['-p', port, 'get', 'cli:a'])).stdout).toBe('hello world\n');
    expect((await redisCli(['-p', port, '--no-raw', 'get', 'cli:a'])).stdout).toBe('"hello world"\n');
    expect((await redisCli(['-p', port, '--no-raw', 'incr', 'cli:n'])).stdout).toBe('(integer) 1\n');
    expect((await redisCli(['-p', port, '--no-raw', 'get', 'cli:none'])).stdout).toBe('(nil)\n');
    expect((await redisCli(['-p', port, '--no-raw', 'incr', 'cli:a'])).stdout).toBe('(error) ERR value is not an integer or out of range\n');
    expect((await redisCli(['-p', port, 'nosuch'])).stdout).toMatch(/^ERR unknown command 'nosuch'/);
  });

  it('--raw prints bare values; -n selects a database; MGET prints a numbered list', async () => {
    await redisCli(['-p', port, '-n', '4', 'set', 'cli:db4', 'four']);
    expect((await redisCli(['-p', port, '--raw', '-n', '4', 'get', 'cli:db4'])).stdout).toBe('four\n');
    expect((await redisCli(['-p', port, '--raw', 'get', 'cli:db4'])).stdout).toBe('\n');
    await redisCli(['-p', port, 'mset', 'cli:x', '1', 'cli:y', '2']);
    expect((await redisCli(['-p', port, '--no-raw', 'mget', 'cli:x', 'cli:y', 'cli:z'])).stdout).toBe('1) "1"\n2) "2"\n3) (nil)\n');
  });

  it('INFO prints sections; INFO lsm the engine section', async () => {
    const info = (await redisCli(['-p', port, 'info'])).stdout;
    expect(info).toContain('# Server');
    expect(info).toContain('loading:0');
    const lsm = (await redisCli(['-p', port, 'info', 'lsm'])).stdout;
    expect(lsm).toContain('lsm_segments:');
  });

  it('--pipe mass-inserts a stream of commands', async () => {
    const lines: string[] = [];
    for (let index = 0; index < 5000; index++) lines.push(`*3\r\n$3\r\nSET\r\n$${`pipe:${index}`.length}\r\npipe:${index}\r\n$${String(index).length}\r\n${index}\r\n`);
    const result = await redisCli(['-p', port, '--pipe'], lines.join(''));
    expect(result.stdout).toContain('errors: 0, replies: 5000');
    expect((await redisCli(['-p', port, 'get', 'pipe:4321'])).stdout).toBe('4321\n');
  });

  it('reads commands from standard input, one per line', async () => {
    const result = await redisCli(['-p', port], 'SET cli:stdin "a b"\nGET cli:stdin\nSTRLEN cli:stdin\n');
    expect(result.stdout).toBe('OK\na b\n3\n');
  });

  it('-a authenticates against requirepass; without it commands get NOAUTH', async () => {
    const secured = await startServer({ requirepass: 'cli-pass' });
    const securedPort = String(secured.port);
    expect((await redisCli(['-p', securedPort, 'get', 'k'])).stdout).toMatch(/^NOAUTH Authentication required\.\n/);
    expect((await redisCli(['-p', securedPort, '-a', 'cli-pass', '--no-auth-warning', 'set', 'k', 'v'])).stdout).toBe('OK\n');
    expect((await redisCli(['-p', securedPort, '-a', 'wrong', '--no-auth-warning', 'ping'])).stdout + (await redisCli(['-p', securedPort, '-a', 'wrong', '--no-auth-warning', 'ping'])).stderr).toMatch(/WRONGPASS|NOAUTH/);
    expect((await redisCli(['-p', securedPort, '--user', 'default', '--pass', 'cli-pass', '--no-auth-warning', 'get', 'k'])).stdout).toBe('v\n');
  });

  it('-3 speaks RESP3 (HELLO 3) and prints maps', async () => {
    const result = await redisCli(['-p', port, '--no-raw', '-3', 'hello', '3']);
    expect(result.stdout).toContain('1# "server" => "redis"');
    expect(result.stdout).toContain('"proto" => (integer) 3');
  });

  it('SUBSCRIBE prints messages published meanwhile', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(redisCliPath, ['-p', port, 'subscribe', 'cli:chan'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (output += text));
    const publisher = ioredis(silt.port);
    const deadline = Date.now() + 5000;
    while (!output.includes('cli:chan') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await publisher.publish('cli:chan', 'from-test')).toBe(1);
    while (!output.includes('from-test') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill();
    expect(output).toContain('subscribe\ncli:chan\n1\n');
    expect(output).toContain('message\ncli:chan\nfrom-test\n');
  });

  it('redis-benchmark style CONFIG GET save / appendonly answers', async () => {
    expect((await redisCli(['-p', port, '--no-raw', 'config', 'get', 'save'])).stdout).toBe('1) "save"\n2) ""\n');
    expect((await redisCli(['-p', port, '--no-raw', 'config', 'get', 'appendonly'])).stdout).toBe('1) "appendonly"\n2) "yes"\n');
  });
});
