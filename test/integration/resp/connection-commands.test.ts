// Connection commands over real sockets: PING ECHO QUIT RESET HELLO AUTH
// SELECT CLIENT, with ioredis, node-redis (RESP2 and RESP3) and raw bytes,
// including every error reply and Redis's wording.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { helloFields, RawClient, closeAll, closeServers, ioredis, nodeRedis, plain, startServer, waitFor, type TestServer } from './harness.js';

describe('connection commands', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer();
  });
  afterEach(closeAll);
  afterAll(closeServers);

  it('PING answers PONG, or echoes its argument; more arguments are an arity error', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('PING'))).toBe('PONG');
    expect(plain(await raw.call('ping', 'hello'))).toBe('hello');
    expect(plain(await raw.call('PING', 'a', 'b'))).toEqual({ error: "ERR wrong number of arguments for 'ping' command" });
  });

  it('ECHO returns its argument, binary safe; without one it is an arity error', async () => {
    const raw = await RawClient.connect(silt.port);
    const bytes = Buffer.from([0, 1, 2, 0xff, 13, 10]);
    expect(await raw.call('ECHO', bytes)).toEqual(bytes);
    expect(plain(await raw.call('ECHO'))).toEqual({ error: "ERR wrong number of arguments for 'echo' command" });
  });

  it('an unknown command answers with Redis wording and the first arguments', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('NOSUCH', 'a', 'b'))).toEqual({ error: "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' " });
    for (const name of ['EVAL', 'DUMP', 'RESTORE', 'MIGRATE', 'DEBUG', 'MONITOR']) {
      const reply = plain(await raw.call(name, 'x')) as { error: string };
      expect(reply.error).toBe(`ERR unknown command '${name}', with args beginning with: 'x' `);
    }
  });

  it('QUIT answers OK and closes the connection; commands pipelined after it do not run', async () => {
    const raw = await RawClient.connect(silt.port);
    raw.send('SET quit-after 1\r\nQUIT\r\nSET quit-after 2\r\n');
    expect(plain(await raw.reply())).toBe('OK');
    expect(plain(await raw.reply())).toBe('OK');
    await raw.waitClosed();
    const check = await RawClient.connect(silt.port);
    expect(plain(await check.call('GET', 'quit-after'))).toBe('1');
  });

  it('SELECT switches databases, checks the index and keeps data apart', async () => {
    const client = ioredis(silt.port);
    await client.select(1);
    await client.set('select-key', 'in-db-1');
    await client.select(0);
    expect(await client.get('select-key')).toBeNull();
    await client.select(15);
    await expect(client.select(16)).rejects.toThrow('ERR DB index is out of range');
    await expect(client.call('SELECT', '-1')).rejects.toThrow('ERR DB index is out of range');
    await expect(client.call('SELECT', 'x')).rejects.toThrow('ERR value is not an integer or out of range');
    // getIntFromObjectOrReply: a 64-bit integer outside 32 bits has its own message; past 64 bits, not an integer.
    await expect(client.call('SELECT', '2147483648')).rejects.toThrow('ERR value is out of range, value must between -2147483648 and 2147483647');
    await expect(client.call('SELECT', '9223372036854775807')).rejects.toThrow('ERR value is out of range, value must between -2147483648 and 2147483647');
    await expect(client.call('SELECT', '9223372036854775808')).rejects.toThrow('ERR value is not an integer or out of range');
    await client.select(1);
    expect(await client.get('select-key')).toBe('in-db-1');
  });

  it('HELLO 3 switches to RESP3 and answers a map; HELLO alone keeps the protocol', async () => {
    const raw = await RawClient.connect(silt.port);
    const hello = plain(await raw.call('HELLO', '3')) as Record<string, unknown>;
    expect(hello).toMatchObject({ server: 'redis', proto: 3, mode: 'standalone', role: 'master', modules: [] });
    expect(typeof hello.id).toBe('number');
    expect(typeof hello.version).toBe('string');
    // RESP3 null is `_`, decoded as null; a map reply stays a map.
    expect(await raw.call('GET', 'hello-missing')).toBeNull();
    expect(plain(await raw.call('HELLO'))).toMatchObject({ proto: 3 });
    expect(helloFields(await raw.call('HELLO', '2'))).toMatchObject({ proto: 2 });
  });

  it('HELLO refuses bad versions and options with Redis wording', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('HELLO', '4'))).toEqual({ error: 'NOPROTO unsupported protocol version' });
    expect(plain(await raw.call('HELLO', '1'))).toEqual({ error: 'NOPROTO unsupported protocol version' });
    expect(plain(await raw.call('HELLO', 'x'))).toEqual({ error: 'ERR Protocol version is not an integer or out of range' });
    expect(plain(await raw.call('HELLO', '3', 'BOGUS'))).toEqual({ error: "ERR Syntax error in HELLO option 'BOGUS'" });
    expect(plain(await raw.call('HELLO', '3', 'AUTH', 'only-user'))).toEqual({ error: "ERR Syntax error in HELLO option 'AUTH'" });
    expect(plain(await raw.call('HELLO', '3', 'SETNAME', 'bad name'))).toEqual({ error: 'ERR Client names cannot contain spaces, newlines or special characters.' });
    // Nothing changed: still RESP2.
    expect(helloFields(await raw.call('HELLO'))).toMatchObject({ proto: 2 });
  });

  it('HELLO 3 SETNAME names the client', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('HELLO', '3', 'SETNAME', 'hello-named');
    expect(plain(await raw.call('CLIENT', 'GETNAME'))).toBe('hello-named');
  });

  it('RESET leaves MULTI, unsubscribes, selects db 0, resets the protocol and name', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('HELLO', '3', 'SETNAME', 'to-reset');
    await raw.call('SELECT', '4');
    await raw.call('MULTI');
    expect(plain(await raw.call('RESET'))).toBe('RESET');
    expect(helloFields(await raw.call('HELLO'))).toMatchObject({ proto: 2 });
    expect(await raw.call('CLIENT', 'GETNAME')).toBeNull();
    expect(plain(await raw.call('EXEC'))).toEqual({ error: 'ERR EXEC without MULTI' });
    const info = String(plain(await raw.call('CLIENT', 'INFO')));
    expect(info).toContain(' db=0 ');
    raw.command('SUBSCRIBE', 'reset-channel');
    await raw.reply();
    expect(plain(await raw.call('RESET'))).toBe('RESET');
    expect(plain(await raw.call('PING'))).toBe('PONG');
  });

  it('AUTH without requirepass: the one-argument form is an error, "default" with any password is accepted', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('AUTH', 'secret'))).toEqual({
      error: 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    });
    expect(plain(await raw.call('AUTH', 'default', 'anything'))).toBe('OK');
    expect(plain(await raw.call('AUTH', 'someone', 'anything'))).toEqual({ error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(plain(await raw.call('AUTH', 'a', 'b', 'c'))).toEqual({ error: 'ERR syntax error' });
  });

  describe('CLIENT', () => {
    it('ID, SETNAME, GETNAME and SETINFO', async () => {
      const raw = await RawClient.connect(silt.port);
      const id = await raw.call('CLIENT', 'ID');
      expect(typeof id).toBe('number');
      expect(await raw.call('CLIENT', 'GETNAME')).toBeNull();
      expect(plain(await raw.call('CLIENT', 'SETNAME', 'worker-1'))).toBe('OK');
      expect(plain(await raw.call('CLIENT', 'GETNAME'))).toBe('worker-1');
      expect(plain(await raw.call('CLIENT', 'SETNAME', 'two words'))).toEqual({ error: 'ERR Client names cannot contain spaces, newlines or special characters.' });
      expect(plain(await raw.call('CLIENT', 'SETNAME', ''))).toBe('OK');
      expect(await raw.call('CLIENT', 'GETNAME')).toBeNull();
      expect(plain(await raw.call('CLIENT', 'SETINFO', 'LIB-NAME', 'mylib'))).toBe('OK');
      expect(plain(await raw.call('CLIENT', 'SETINFO', 'lib-ver', '1.2.3'))).toBe('OK');
      expect(plain(await raw.call('CLIENT', 'SETINFO', 'LIB-NAME', 'my lib'))).toEqual({ error: 'ERR lib-name cannot contain spaces, newlines or special characters.' });
      expect(plain(await raw.call('CLIENT', 'SETINFO', 'colour', 'x'))).toEqual({ error: "ERR Unrecognized option 'colour'" });
      const info = String(plain(await raw.call('CLIENT', 'INFO')));
      expect(info).toMatch(new RegExp(`^id=${String(id)} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${silt.port} `));
      expect(info).toContain(' lib-name=mylib lib-ver=1.2.3\n');
      expect(info).toContain(' cmd=client|info ');
      expect(info.endsWith('\n')).toBe(true);
    });

    it('LIST shows every client, filtered by TYPE and ID', async () => {
      const a = await RawClient.connect(silt.port);
      const b = await RawClient.connect(silt.port);
      const idA = await a.call('CLIENT', 'ID');
      const idB = await b.call('CLIENT', 'ID');
      await b.call('SUBSCRIBE', 'list-channel');
      const all = String(plain(await a.call('CLIENT', 'LIST')));
      expect(all).toContain(`id=${String(idA)} `);
      expect(all).toContain(`id=${String(idB)} `);
      const pubsub = String(plain(await a.call('CLIENT', 'LIST', 'TYPE', 'pubsub')));
      expect(pubsub).toContain(`id=${String(idB)} `);
      expect(pubsub).not.toContain(`id=${String(idA)} `);
      expect(pubsub).toContain(' flags=P ');
      const normal = String(plain(await a.call('CLIENT', 'LIST', 'TYPE', 'normal')));
      expect(normal).toContain(`id=${String(idA)} `);
      expect(normal).not.toContain(`id=${String(idB)} `);
      const byId = String(plain(await a.call('CLIENT', 'LIST', 'ID', String(idB))));
      expect(byId.trim().split('\n')).toHaveLength(1);
      expect(plain(await a.call('CLIENT', 'LIST', 'TYPE', 'bogus'))).toEqual({ error: "ERR Unknown client type 'bogus'" });
      expect(plain(await a.call('CLIENT', 'LIST', 'ID', 'x'))).toEqual({ error: 'ERR Invalid client ID' });
      expect(plain(await a.call('CLIENT', 'LIST', 'WHAT'))).toEqual({ error: 'ERR syntax error' });
    });

    it('KILL by address (old form) and by filters (new form), never the caller unless SKIPME no', async () => {
      const killer = await RawClient.connect(silt.port);
      const victim = await RawClient.connect(silt.port);
      const other = await RawClient.connect(silt.port);
      const victimInfo = String(plain(await victim.call('CLIENT', 'INFO')));
      const address = /addr=(\S+)/.exec(victimInfo)![1]!;
      expect(plain(await killer.call('CLIENT', 'KILL', address))).toBe('OK');
      await victim.waitClosed();
      expect(plain(await killer.call('CLIENT', 'KILL', '1.2.3.4:5'))).toEqual({ error: 'ERR No such client' });
      const otherId = await other.call('CLIENT', 'ID');
      expect(await killer.call('CLIENT', 'KILL', 'ID', String(otherId))).toBe(1);
      await other.waitClosed();
      expect(await killer.call('CLIENT', 'KILL', 'ID', '999999')).toBe(0);
      expect(plain(await killer.call('CLIENT', 'KILL', 'ID', '0'))).toEqual({ error: 'ERR client-id should be greater than 0' });
      expect(plain(await killer.call('CLIENT', 'KILL', 'TYPE', 'bogus'))).toEqual({ error: "ERR Unknown client type 'bogus'" });
      // Three arguments are the old form: "ID" is taken as an address.
      expect(plain(await killer.call('CLIENT', 'KILL', 'ID'))).toEqual({ error: 'ERR No such client' });
      expect(plain(await killer.call('CLIENT', 'KILL', 'ID', '1', 'TYPE'))).toEqual({ error: 'ERR syntax error' });
      expect(plain(await killer.call('CLIENT', 'KILL', 'SKIPME', 'maybe'))).toEqual({ error: 'ERR syntax error' });
      // The only user is "default": another name is refused, as Redis refuses a user that does not exist.
      expect(plain(await killer.call('CLIENT', 'KILL', 'USER', 'nouser'))).toEqual({ error: "ERR No such user 'nouser'" });
      // The caller survives a kill of every normal client, unless SKIPME no.
      const bystander = await RawClient.connect(silt.port);
      await bystander.call('PING');
      const killed = (await killer.call('CLIENT', 'KILL', 'TYPE', 'normal')) as number;
      expect(killed).toBeGreaterThanOrEqual(1);
      await bystander.waitClosed();
      expect(plain(await killer.call('PING'))).toBe('PONG');
      const selfId = await killer.call('CLIENT', 'ID');
      expect(await killer.call('CLIENT', 'KILL', 'ID', String(selfId), 'SKIPME', 'no')).toBe(1);
      await killer.waitClosed();
    });

    it('KILL filters ADDR, LADDR, USER and MAXAGE combine (all must match)', async () => {
      const killer = await RawClient.connect(silt.port);
      const victim = await RawClient.connect(silt.port);
      const info = String(plain(await victim.call('CLIENT', 'INFO')));
      const address = /addr=(\S+)/.exec(info)![1]!;
      const local = /laddr=(\S+)/.exec(info)![1]!;
      expect(plain(await killer.call('CLIENT', 'KILL', 'ADDR', address, 'USER', 'nobody'))).toEqual({ error: "ERR No such user 'nobody'" });
      expect(await killer.call('CLIENT', 'KILL', 'ADDR', address, 'MAXAGE', '3600')).toBe(0);
      expect(await killer.call('CLIENT', 'KILL', 'ADDR', '1.1.1.1:1')).toBe(0);
      expect(plain(await killer.call('CLIENT', 'KILL', 'MAXAGE', 'x'))).toEqual({ error: 'ERR syntax error' });
      expect(plain(await killer.call('CLIENT', 'KILL', 'COLOUR', 'red'))).toEqual({ error: 'ERR syntax error' });
      expect(await killer.call('CLIENT', 'KILL', 'ADDR', address, 'LADDR', local, 'USER', 'default', 'MAXAGE', '0')).toBe(1);
      await victim.waitClosed();
    });

    it('HELP lists subcommands; an unknown subcommand and a bare CLIENT are errors', async () => {
      const raw = await RawClient.connect(silt.port);
      const help = plain(await raw.call('CLIENT', 'HELP')) as string[];
      expect(help[0]).toMatch(/^CLIENT <subcommand>/);
      expect(help.join('\n')).toContain('SETNAME <name>');
      expect(plain(await raw.call('CLIENT', 'BOGUS'))).toEqual({ error: "ERR unknown subcommand 'BOGUS'. Try CLIENT HELP." });
      expect(plain(await raw.call('CLIENT'))).toEqual({ error: "ERR wrong number of arguments for 'client' command" });
      expect(plain(await raw.call('CLIENT', 'SETNAME'))).toEqual({ error: "ERR wrong number of arguments for 'client|setname' command" });
    });
  });

  it('ioredis connects with connectionName and db options', async () => {
    const client = ioredis(silt.port, { connectionName: 'io-named', db: 3 });
    await client.set('ioredis-db3', 'v');
    expect(await client.client('GETNAME')).toBe('io-named');
    const info = String(await client.client('INFO'));
    expect(info).toContain(' db=3 ');
  });

  it.each([2, 3] as const)('node-redis RESP%i connects (HELLO, CLIENT SETINFO) and runs commands', async (protocol) => {
    const client = await nodeRedis(silt.port, protocol, { name: `node-${protocol}` });
    expect(await client.ping()).toBe('PONG');
    const info = await client.sendCommand(['CLIENT', 'INFO']);
    expect(String(info)).toContain(`resp=${protocol}`);
    expect(String(info)).toContain(`name=node-${protocol}`);
    expect(String(info)).toMatch(/lib-name=node-redis/);
  });

  it('commands and connections show in INFO clients and stats', async () => {
    const client = ioredis(silt.port);
    await client.ping();
    await waitFor(async () => (await client.info('clients')).includes('connected_clients:'), 1000);
    const info = await client.info('stats');
    expect(info).toMatch(/total_connections_received:\d+/);
    expect(Number(/total_commands_processed:(\d+)/.exec(info)![1])).toBeGreaterThan(0);
  });
});

describe('connection commands with requirepass', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer({ requirepass: 's3cret' });
  });
  afterEach(closeAll);
  afterAll(closeServers);

  it('every command but AUTH, HELLO, QUIT and RESET answers NOAUTH until AUTH succeeds', async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('GET', 'k'))).toEqual({ error: 'NOAUTH Authentication required.' });
    expect(plain(await raw.call('PING'))).toEqual({ error: 'NOAUTH Authentication required.' });
    expect(plain(await raw.call('SELECT', '1'))).toEqual({ error: 'NOAUTH Authentication required.' });
    // Unknown commands are still unknown (Redis checks the name first).
    expect((plain(await raw.call('NOSUCH')) as { error: string }).error).toMatch(/^ERR unknown command 'NOSUCH'/);
    expect(plain(await raw.call('AUTH', 'wrong'))).toEqual({ error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(plain(await raw.call('AUTH', 'other', 's3cret'))).toEqual({ error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(plain(await raw.call('GET', 'k'))).toEqual({ error: 'NOAUTH Authentication required.' });
    expect(plain(await raw.call('AUTH', 's3cret'))).toBe('OK');
    expect(plain(await raw.call('PING'))).toBe('PONG');
    const second = await RawClient.connect(silt.port);
    expect(plain(await second.call('AUTH', 'default', 's3cret'))).toBe('OK');
    expect(await second.call('GET', 'k')).toBeNull();
  });

  it('HELLO needs AUTH (or its AUTH option) and checks the password', async () => {
    const raw = await RawClient.connect(silt.port);
    expect((plain(await raw.call('HELLO', '3')) as { error: string }).error).toMatch(/^NOAUTH HELLO must be called with the client already authenticated/);
    expect(plain(await raw.call('HELLO', '3', 'AUTH', 'default', 'nope'))).toEqual({ error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(plain(await raw.call('HELLO', '3', 'AUTH', 'default', 's3cret', 'SETNAME', 'authed'))).toMatchObject({ proto: 3 });
    expect(plain(await raw.call('CLIENT', 'GETNAME'))).toBe('authed');
  });

  it("HELLO's AUTH takes effect where it stands, as in Redis: a bad SETNAME after it is refused, the client stays authenticated", async () => {
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('HELLO', '3', 'AUTH', 'default', 's3cret', 'SETNAME', 'a b'))).toEqual({ error: 'ERR Client names cannot contain spaces, newlines or special characters.' });
    expect(plain(await raw.call('PING'))).toBe('PONG');
    expect(plain(await raw.call('CLIENT', 'GETNAME'))).toBeNull();
  });

  it('RESET forgets the authentication', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('AUTH', 's3cret');
    expect(plain(await raw.call('RESET'))).toBe('RESET');
    expect(plain(await raw.call('PING'))).toEqual({ error: 'NOAUTH Authentication required.' });
  });

  it('before AUTH a request may hold at most 10 arguments of 16 KiB (protocol error, connection closed)', async () => {
    const tooMany = await RawClient.connect(silt.port);
    tooMany.command('MSET', ...Array.from({ length: 10 }, (_, index) => `a${index}`));
    expect(plain(await tooMany.reply())).toEqual({ error: 'ERR Protocol error: unauthenticated multibulk length' });
    await tooMany.waitClosed();
    const tooLong = await RawClient.connect(silt.port);
    tooLong.command('ECHO', Buffer.alloc(16 * 1024 + 1, 0x61));
    expect(plain(await tooLong.reply())).toEqual({ error: 'ERR Protocol error: unauthenticated bulk length' });
    await tooLong.waitClosed();
    // At the limits, and after AUTH beyond them, requests are fine.
    const ok = await RawClient.connect(silt.port);
    expect(plain(await ok.call('AUTH', Buffer.alloc(16 * 1024, 0x61)))).toEqual({ error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(plain(await ok.call('AUTH', 's3cret'))).toBe('OK');
    expect((await ok.call('ECHO', Buffer.alloc(100_000, 0x62))) as Buffer).toHaveLength(100_000);
    expect(plain(await ok.call('MSET', ...Array.from({ length: 20 }, (_, index) => `b${index}`)))).toBe('OK');
  });

  it('ioredis and node-redis (RESP2, RESP3) authenticate with a password option', async () => {
    const io = ioredis(silt.port, { password: 's3cret' });
    expect(await io.ping()).toBe('PONG');
    for (const protocol of [2, 3] as const) {
      const client = await nodeRedis(silt.port, protocol, { password: 's3cret' });
      expect(await client.ping()).toBe('PONG');
    }
    const refused = ioredis(silt.port, { password: 'wrong', lazyConnect: true });
    const errors: string[] = [];
    refused.on('error', (error: Error) => errors.push(error.message));
    await refused.connect().catch(() => undefined);
    await waitFor(() => errors.length > 0, 2000, 'the AUTH error');
    expect(errors[0]).toMatch(/WRONGPASS/);
  });

  it('CONFIG SET requirepass applies to new connections', async () => {
    const admin = ioredis(silt.port, { password: 's3cret' });
    await admin.config('SET', 'requirepass', 'changed');
    const fresh = await RawClient.connect(silt.port);
    expect(plain(await fresh.call('AUTH', 's3cret'))).toEqual({ error: 'WRONGPASS invalid username-password pair or user is disabled.' });
    expect(plain(await fresh.call('AUTH', 'changed'))).toBe('OK');
    // The admin connection stays authenticated.
    expect(await admin.ping()).toBe('PONG');
    await admin.config('SET', 'requirepass', '');
    const open = await RawClient.connect(silt.port);
    expect(plain(await open.call('PING'))).toBe('PONG');
    await admin.config('SET', 'requirepass', 's3cret');
  });
});
