// Server commands over real sockets: TIME INFO CONFIG LASTSAVE SAVE BGSAVE
// BGREWRITEAOF SLOWLOG SHUTDOWN COMMAND, and the server states they report:
// LOADING while the data directory opens, MISCONF while the disk refuses
// writes (reads keep working, writes resume by themselves).

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { systemError } from '../../../lib/fs/mem-file-system.js';
import { FaultFileSystem } from '../../support/fault-file-system.js';
import { listCheckpoints } from '../../../tools/checkpoint.js';
import { RawClient, closeAll, closeServers, encodeCommand, helloFields, ioredis, nodeRedis, parseInfo, plain, sleep, startServer, waitFor, type TestServer } from './harness.js';

afterEach(closeAll);
afterAll(closeServers);

describe('server commands', () => {
  let silt: TestServer;

  beforeAll(async () => {
    silt = await startServer({ checkpointsKeep: 2 });
  });

  it('TIME answers seconds and microseconds as bulk strings', async () => {
    const raw = await RawClient.connect(silt.port);
    const [seconds, micros] = plain(await raw.call('TIME')) as [string, string];
    expect(Math.abs(Number(seconds) - Date.now() / 1000)).toBeLessThan(5);
    expect(Number(micros)).toBeGreaterThanOrEqual(0);
    expect(Number(micros)).toBeLessThan(1_000_000);
    expect(plain(await raw.call('TIME', 'x'))).toEqual({ error: "ERR wrong number of arguments for 'time' command" });
  });

  it('INFO prints every section with Redis field names and an lsm section', async () => {
    const client = ioredis(silt.port);
    await client.set('info-key', 'v');
    await client.set('info-ttl', 'v', 'EX', 100);
    const text = await client.info();
    for (const section of ['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'CPU', 'LSM', 'Keyspace']) expect(text).toContain(`# ${section}\r\n`);
    const fields = parseInfo(text);
    expect(fields.redis_version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(fields.silt_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(fields.tcp_port).toBe(String(silt.port));
    expect(fields.loading).toBe('0');
    expect(fields.appendfsync).toBe('everysec');
    expect(fields.lsm_engine).toBe('lsm');
    expect(fields.lsm_level_0).toMatch(/^segments=\d+,bytes=\d+$/);
    for (const name of ['lsm_segments', 'lsm_segment_bytes', 'lsm_pending_compaction_bytes', 'lsm_wal_bytes', 'lsm_write_stalls', 'lsm_entries_dropped_shadowed', 'lsm_entries_dropped_tombstones', 'lsm_entries_dropped_filtered', 'connected_clients', 'maxclients', 'used_memory', 'total_commands_processed', 'instantaneous_ops_per_sec', 'rdb_last_save_time', 'role']) {
      expect(fields[name], name).toBeDefined();
    }
    expect(fields.lsm_write_error).toBe('');
    expect(fields.db0).toMatch(/^keys=\d+,expires=\d+$/);
    expect(Number(/expires=(\d+)/.exec(fields.db0!)![1])).toBeGreaterThanOrEqual(1);
  });

  it('INFO with sections prints only those; unknown sections print nothing', async () => {
    const client = ioredis(silt.port);
    const persistence = await client.info('persistence');
    expect(persistence.startsWith('# Persistence\r\n')).toBe(true);
    expect(persistence).not.toContain('# Server');
    const two = await client.call('INFO', 'server', 'lsm') as string;
    expect(two).toContain('# Server');
    expect(two).toContain('# LSM');
    expect(two).not.toContain('# Clients');
    expect(await client.call('INFO', 'nosuchsection')).toBe('');
    expect(await client.call('INFO', 'everything')).toContain('# Keyspace');
  });

  it('INFO commandstats and errorstats count calls, time, failures and refusals as Redis does; CONFIG RESETSTAT clears them', async () => {
    const own = await startServer();
    const raw = await RawClient.connect(own.port);
    await raw.call('SET', 'cs', 'text');
    await raw.call('GET', 'cs');
    await raw.call('GET', 'cs');
    expect(plain(await raw.call('INCR', 'cs'))).toEqual({ error: 'ERR value is not an integer or out of range' });
    expect((plain(await raw.call('LPUSH', 'cs', 'x')) as { error: string }).error).toMatch(/^WRONGTYPE /);
    await raw.call('CLIENT', 'ID');
    await raw.call('NOSUCH'); // an unknown command: counted as an error, by no command
    const subscriber = await RawClient.connect(own.port);
    await subscriber.call('SUBSCRIBE', 'cs-channel');
    expect((plain(await subscriber.call('GET', 'cs')) as { error: string }).error).toMatch(/^ERR Can't execute 'get'/); // refused before it ran
    const stats = parseInfo(String(plain(await raw.call('INFO', 'commandstats'))));
    expect(stats['cmdstat_set']).toMatch(/^calls=1,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0$/);
    expect(stats['cmdstat_get']).toMatch(/^calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0$/);
    expect(stats['cmdstat_incr']).toMatch(/,rejected_calls=0,failed_calls=1$/);
    expect(stats['cmdstat_lpush']).toMatch(/^calls=1,.*,failed_calls=1$/);
    expect(stats['cmdstat_client|id']).toMatch(/^calls=1,/);
    expect(stats['cmdstat_nosuch']).toBeUndefined();
    const errors = parseInfo(String(plain(await raw.call('INFO', 'errorstats'))));
    expect(errors).toMatchObject({ errorstat_ERR: 'count=3', errorstat_WRONGTYPE: 'count=1' });
    // Not in the default sections; in all and everything.
    expect(String(plain(await raw.call('INFO')))).not.toContain('# Commandstats');
    for (const which of ['all', 'everything']) {
      const text = String(plain(await raw.call('INFO', which)));
      expect(text).toContain('# Commandstats\r\ncmdstat_');
      expect(text).toContain('# Errorstats\r\nerrorstat_');
    }
    expect(plain(await raw.call('CONFIG', 'RESETSTAT'))).toBe('OK');
    expect(Object.keys(parseInfo(String(plain(await raw.call('INFO', 'commandstats')))))).toEqual(['cmdstat_config|resetstat']);
    expect(plain(await raw.call('INFO', 'errorstats'))).toBe('# Errorstats\r\n');
    await own.close();
  });

  it('INFO is a verbatim string in RESP3', async () => {
    const raw = await RawClient.connect(silt.port);
    await raw.call('HELLO', '3');
    const reply = await raw.call('INFO', 'server');
    expect(reply?.constructor.name).toBe('VerbatimReply');
    const client = await nodeRedis(silt.port, 3);
    expect(String(await client.info('server'))).toContain('redis_version:');
  });

  describe('CONFIG', () => {
    it('GET matches glob patterns, several at once, and answers a map in RESP3', async () => {
      const client = ioredis(silt.port);
      expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
      const many = (await client.call('CONFIG', 'GET', 'max*', 'port')) as string[];
      const fields = Object.fromEntries(many.flatMap((_, index) => (index % 2 === 0 ? [[many[index], many[index + 1]]] : [])));
      expect(fields.maxclients).toBe('10000');
      expect(fields.port).toBe('0');
      expect(fields.maxmemory).toBe('0');
      expect(await client.config('GET', 'nosuch*')).toEqual([]);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'APPENDONLY')).toEqual(['appendonly', 'yes']);
      const raw = await RawClient.connect(silt.port);
      await raw.call('HELLO', '3');
      expect(plain(await raw.call('CONFIG', 'GET', 'databases'))).toEqual({ databases: '16' });
      const all = helloFields(await raw.call('CONFIG', 'GET', '*'));
      for (const name of ['port', 'bind', 'dir', 'appendfsync', 'requirepass', 'databases', 'maxclients', 'memtable-mb', 'block-cache-mb', 'max-open-files', 'table-cache-mb', 'wal-preallocate-mb', 'reserve-mb', 'background-nice', 'loglevel', 'engine', 'slowlog-log-slower-than', 'slowlog-max-len', 'client-output-buffer-limit']) {
        expect(all[name], name).toBeDefined();
      }
    });

    it('SET changes live parameters: appendfsync reaches the engine, loglevel the logger', async () => {
      const client = ioredis(silt.port);
      expect(await client.config('SET', 'appendfsync', 'always')).toBe('OK');
      expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
      expect(parseInfo(await client.info('persistence')).appendfsync).toBe('always');
      expect(await client.set('after-always', '1')).toBe('OK');
      await client.config('SET', 'appendfsync', 'everysec');
      await client.config('SET', 'loglevel', 'warning');
      expect(silt.server.logger.level).toBe('warn');
      await client.config('SET', 'loglevel', 'notice');
      expect(silt.server.logger.level).toBe('info');
      await client.config('SET', 'loglevel', 'nothing');
      expect(silt.server.logger.level).toBe('silent');
      // Several at once.
      expect(await client.call('CONFIG', 'SET', 'slowlog-max-len', '64', 'timeout', '0')).toBe('OK');
      expect(await client.config('GET', 'slowlog-max-len')).toEqual(['slowlog-max-len', '64']);
    });

    it('SET refuses unknown, immutable, duplicate and bad values and then changes nothing', async () => {
      const client = ioredis(silt.port);
      await expect(client.config('SET', 'nosuch', '1')).rejects.toThrow("ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
      await expect(client.config('SET', 'port', '7000')).rejects.toThrow("ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config");
      await expect(client.config('SET', 'dir', '/tmp')).rejects.toThrow("can't set immutable config");
      await expect(client.config('SET', 'appendfsync', 'sometimes')).rejects.toThrow(
        "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no",
      );
      await expect(client.config('SET', 'maxclients', 'many')).rejects.toThrow("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer");
      // Values are taken as given, blanks included, as Redis does.
      await expect(client.config('SET', 'maxclients', ' 100')).rejects.toThrow("argument couldn't be parsed into an integer");
      await expect(client.config('SET', 'maxclients', '100 ')).rejects.toThrow("argument couldn't be parsed into an integer");
      await expect(client.config('SET', 'appendfsync', ' always')).rejects.toThrow('argument(s) must be one of the following');
      await expect(client.config('SET', 'proto-max-bulk-len', ' 1mb')).rejects.toThrow("(possibly related to argument 'proto-max-bulk-len')");
      await expect(client.call('CONFIG', 'SET', 'timeout', '1', 'timeout', '2')).rejects.toThrow("(possibly related to argument 'timeout') - duplicate parameter");
      await expect(client.call('CONFIG', 'SET', 'timeout', '5', 'appendfsync', 'bad')).rejects.toThrow('appendfsync');
      expect(await client.config('GET', 'timeout')).toEqual(['timeout', '0']);
      await expect(client.call('CONFIG', 'SET', 'timeout', '2147483648')).rejects.toThrow('argument must be between 0 and 2147483647 inclusive'); // Redis's INT_MAX
      expect(await client.call('CONFIG', 'SET', 'timeout', '2147483647')).toBe('OK');
      expect(await client.call('CONFIG', 'SET', 'timeout', '0')).toBe('OK');
      await expect(client.call('CONFIG', 'SET', 'timeout')).rejects.toThrow("ERR wrong number of arguments for 'config|set' command");
      await expect(client.call('CONFIG', 'SET', 'timeout', '1', 'loglevel')).rejects.toThrow('ERR syntax error'); // as redis-server 7.0
      await expect(client.call('CONFIG', 'BOGUS')).rejects.toThrow("ERR unknown subcommand 'BOGUS'. Try CONFIG HELP.");
      expect(((await client.call('CONFIG', 'HELP')) as string[])[0]).toMatch(/^CONFIG <subcommand>/);
    });

    it('SET client-output-buffer-limit takes Redis syntax and shows it back', async () => {
      const client = ioredis(silt.port);
      await client.config('SET', 'client-output-buffer-limit', 'pubsub 64mb 16mb 30');
      expect(await client.config('GET', 'client-output-buffer-limit')).toEqual(['client-output-buffer-limit', `normal ${1024 ** 3} ${256 * 1024 ** 2} 60 pubsub ${64 * 1024 ** 2} ${16 * 1024 ** 2} 30`]);
      await expect(client.config('SET', 'client-output-buffer-limit', 'master 1 1 1')).rejects.toThrow('unknown client class');
      expect(await client.config('SET', 'client-output-buffer-limit', 'replica 256mb 64mb 60')).toBe('OK');
      await client.config('SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
    });

    it('SET maxclients takes effect for new connections', async () => {
      const local = await startServer({ maxclients: 100 });
      const admin = ioredis(local.port);
      await admin.ping();
      await admin.config('SET', 'maxclients', '1');
      const refused = await RawClient.connect(local.port);
      expect(plain(await refused.reply())).toEqual({ error: 'ERR max number of clients reached' });
      await refused.waitClosed();
      await admin.config('SET', 'maxclients', '100');
      const accepted = await RawClient.connect(local.port);
      expect(plain(await accepted.call('PING'))).toBe('PONG');
      await expect(admin.config('SET', 'maxclients', '100000000')).rejects.toThrow(/not able to handle the specified number of clients|between 1 and/);
    });

    it('RESETSTAT zeroes the statistics', async () => {
      const client = ioredis(silt.port);
      await client.ping();
      await client.config('RESETSTAT');
      const stats = parseInfo(await client.info('stats'));
      expect(Number(stats.total_commands_processed)).toBeLessThan(5);
      expect(stats.total_error_replies).toBe('0');
    });
  });

  it('SAVE makes a checkpoint, LASTSAVE moves, and only checkpoints-keep of them stay', async () => {
    const client = ioredis(silt.port);
    await client.set('saved', 'yes');
    const before = await client.lastsave();
    await sleep(1100);
    for (let index = 0; index < 3; index++) expect(await client.save()).toBe('OK');
    expect(await client.lastsave()).toBeGreaterThan(before);
    const names = readdirSync(join(silt.dir, 'checkpoints')).filter((name) => name.startsWith('save-'));
    expect(names).toHaveLength(2);
    for (const name of names) expect(existsSync(join(silt.dir, 'checkpoints', name, 'CHECKPOINT'))).toBe(true);
    // The pruned one was renamed at once and is removed in the background (off the event loop).
    await waitFor(() => readdirSync(join(silt.dir, 'checkpoints')).length === 2, 10_000, 'the pruned checkpoint to be removed');
    const persistence = parseInfo(await client.info('persistence'));
    expect(persistence.rdb_last_bgsave_status).toBe('ok');
    expect(persistence.rdb_changes_since_last_save).toBe('0');
    expect(persistence.rdb_last_checkpoint).toBe(names.sort()[1]);
    await expect(client.call('SAVE', 'x')).rejects.toThrow("ERR wrong number of arguments for 'save' command");
  });

  it('a save-* copy without a CHECKPOINT file (a save that failed or crashed) is removed, and never counts as one of checkpoints-keep', async () => {
    const client = ioredis(silt.port);
    const parent = join(silt.dir, 'checkpoints');
    // Named to sort after every real save: counted by name, it would push both good checkpoints out.
    const partial = join(parent, 'save-99990101T000000000Z');
    mkdirSync(join(partial, 'seg'), { recursive: true });
    for (let index = 0; index < 2; index++) expect(await client.save()).toBe('OK');
    const names = readdirSync(parent).filter((name) => name.startsWith('save-'));
    expect(names).not.toContain('save-99990101T000000000Z');
    expect(names).toHaveLength(2);
    for (const name of names) expect(existsSync(join(parent, name, 'CHECKPOINT'))).toBe(true);
  });

  it('a checkpoint whose removal a stop cut short (.removing-*) is removed at the next start, and tools do not list it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silt-removing-'));
    try {
      await (await startServer({}, { dir })).close();
      const leftover = join(dir, 'checkpoints', '.removing-save-20240101T000000000Z');
      mkdirSync(join(leftover, 'seg'), { recursive: true });
      writeFileSync(join(leftover, 'seg', '000001.sst'), 'x');
      expect(listCheckpoints(new NodeFileSystem(), dir)).toEqual([]);
      const started = await startServer({}, { dir });
      await waitFor(() => !existsSync(leftover), 10_000, 'the leftover to be removed');
      await started.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('BGSAVE answers at once and saves in the background; BGSAVE SCHEDULE starts one, or is refused during one, as in Redis', async () => {
    const client = ioredis(silt.port);
    const saves = Number(parseInfo(await client.info('persistence')).rdb_saves);
    expect(await client.bgsave()).toBe('Background saving started');
    await waitFor(async () => Number(parseInfo(await client.info('persistence')).rdb_saves) >= saves + 1, 10_000, 'the save');
    const replies = (await client.pipeline().call('BGSAVE', 'SCHEDULE').call('BGSAVE', 'SCHEDULE').exec())!;
    expect(replies[0]![1]).toBe('Background saving started');
    expect(String(replies[1]![0])).toContain('ERR Background save already in progress');
    await waitFor(async () => Number(parseInfo(await client.info('persistence')).rdb_saves) >= saves + 2, 10_000, 'the second save');
    await expect(client.call('BGSAVE', 'NOW')).rejects.toThrow('ERR syntax error');
    await expect(client.call('BGSAVE', 'SCHEDULE', 'x')).rejects.toThrow('ERR syntax error');
  });

  it('BGSAVE while a save runs is refused with Redis wording', async () => {
    const client = ioredis(silt.port);
    const replies = (await client.pipeline().bgsave().bgsave().exec())!;
    expect(replies[0]![1]).toBe('Background saving started');
    expect(String(replies[1]![0])).toContain('ERR Background save already in progress');
    await waitFor(async () => parseInfo(await client.info('persistence')).rdb_bgsave_in_progress === '0', 10_000, 'the save');
  });

  it('BGREWRITEAOF runs a full compaction in the background', async () => {
    const client = ioredis(silt.port);
    for (let index = 0; index < 100; index++) await client.set(`compact-${index}`, 'x'.repeat(100));
    const compactions = Number(parseInfo(await client.info('persistence')).aof_rewrites);
    expect(await client.bgrewriteaof()).toBe('Background append only file rewriting started');
    await waitFor(async () => Number(parseInfo(await client.info('persistence')).aof_rewrites) > compactions, 10_000, 'the compaction');
    const lsm = parseInfo(await client.info('lsm'));
    expect(lsm.lsm_level_0).toBe('segments=0,bytes=0');
    expect(Number(lsm.lsm_segments)).toBeGreaterThan(0);
    expect(await client.get('compact-7')).toBe('x'.repeat(100));
    // The compaction's worker read its output back and the engine adopted that reader (no open at
    // the GET's read): the table cache counts it, within its bounds.
    const tables = parseInfo(await client.info('lsm'));
    expect(Number(tables.lsm_table_cache_readers)).toBeGreaterThan(0);
    expect(Number(tables.lsm_table_cache_open_files)).toBeGreaterThan(0);
    expect(Number(tables.lsm_table_cache_open_files)).toBeLessThanOrEqual(Number(tables.lsm_table_cache_max_open_files));
    expect(Number(tables.lsm_table_cache_bytes)).toBeGreaterThan(0);
    expect(Number(tables.lsm_table_cache_adopted)).toBeGreaterThan(0);
    expect(Number(tables.lsm_table_cache_hits)).toBeGreaterThan(0);
    expect(tables.lsm_table_cache_capacity_bytes).toBe(String(1024 * 1024 * 1024));
    expect(parseInfo(await client.info('memory')).table_cache_bytes).toBe(tables.lsm_table_cache_bytes);
  });

  it('SLOWLOG records commands over the threshold, truncates arguments, and GET/LEN/RESET work', async () => {
    const client = ioredis(silt.port);
    await client.config('SET', 'slowlog-log-slower-than', '0');
    await client.slowlog('RESET');
    await client.call('ECHO', 'x'.repeat(200));
    await client.call('MSET', ...Array.from({ length: 40 }, (_, index) => `slow-${index}`));
    await client.config('SET', 'slowlog-log-slower-than', '-1');
    const length = (await client.slowlog('LEN')) as number;
    expect(length).toBeGreaterThanOrEqual(3);
    const entries = (await client.slowlog('GET', '-1')) as [number, number, number, string[], string, string][];
    expect(entries).toHaveLength(length);
    const echo = entries.find((entry) => entry[3][0] === 'ECHO')!;
    expect(echo[3][1]).toBe(`${'x'.repeat(128)}... (72 more bytes)`);
    expect(echo[4]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(typeof echo[2]).toBe('number');
    const mset = entries.find((entry) => entry[3][0] === 'MSET')!;
    expect(mset[3]).toHaveLength(32);
    expect(mset[3][31]).toBe('... (10 more arguments)');
    // Newest first, ids decreasing.
    expect(entries[0]![0]).toBeGreaterThan(entries[1]![0]);
    expect(await client.slowlog('GET', '1')).toHaveLength(1);
    await expect(client.slowlog('GET', '-2')).rejects.toThrow('ERR count should be greater than or equal to -1');
    expect(await client.slowlog('RESET')).toBe('OK');
    expect(await client.slowlog('LEN')).toBe(0);
    expect(((await client.slowlog('HELP')) as string[])[0]).toMatch(/^SLOWLOG <subcommand>/);
  });

  describe('COMMAND', () => {
    it('COUNT, INFO and LIST describe the table', async () => {
      const client = ioredis(silt.port);
      const count = (await client.command('COUNT')) as unknown as number;
      expect(count).toBeGreaterThan(60);
      const [get] = (await client.command('INFO', 'get')) as unknown[][];
      expect(get!.slice(0, 6)).toEqual(['get', 2, ['readonly', 'fast'], 1, 1, 1]);
      const [mset] = (await client.command('INFO', 'mset')) as unknown[][];
      expect(mset!.slice(0, 6)).toEqual(['mset', -3, ['write'], 1, -1, 2]);
      expect(await client.command('INFO', 'nosuch')).toEqual([null]);
      const [clientList] = (await client.command('INFO', 'client|list')) as unknown[][];
      expect(clientList![0]).toBe('client|list');
      const list = (await client.command('LIST')) as string[];
      expect(list).toContain('get');
      expect(list).toContain('config|set');
      expect(list).not.toContain('eval');
      expect(((await client.command('LIST', 'FILTERBY', 'PATTERN', 'cl*')) as string[]).sort()).toContain('client|kill');
      expect(await client.command('LIST', 'FILTERBY', 'ACLCAT', 'pubsub')).toContain('publish');
      expect(((await client.call('COMMAND')) as unknown[]).length).toBe(count);
    });

    it('DOCS gives summaries, groups and arguments for redis-cli hints', async () => {
      const client = ioredis(silt.port);
      const docs = (await client.call('COMMAND', 'DOCS', 'set')) as unknown[];
      expect(docs[0]).toBe('set');
      const fields = docs[1] as unknown[];
      const map = Object.fromEntries(fields.flatMap((_, index) => (index % 2 === 0 ? [[fields[index], fields[index + 1]]] : [])));
      expect(map.group).toBe('string');
      expect(typeof map.summary).toBe('string');
      expect(Array.isArray(map.arguments)).toBe(true);
      const raw = await RawClient.connect(silt.port);
      await raw.call('HELLO', '3');
      const all = plain(await raw.call('COMMAND', 'DOCS')) as Record<string, Record<string, unknown>>;
      expect(all.client!.subcommands).toBeDefined();
      expect(Object.keys(all).length).toBe((await client.command('COUNT')) as unknown as number);
    });

    it('GETKEYS finds key arguments and explains when there are none', async () => {
      const client = ioredis(silt.port);
      expect(await client.call('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2')).toEqual(['a', 'b']);
      expect(await client.call('COMMAND', 'GETKEYS', 'GET', 'k')).toEqual(['k']);
      await expect(client.call('COMMAND', 'GETKEYS', 'PING')).rejects.toThrow('ERR The command has no key arguments');
      await expect(client.call('COMMAND', 'GETKEYS', 'NOSUCH', 'x')).rejects.toThrow('ERR Invalid command specified');
      await expect(client.call('COMMAND', 'GETKEYS', 'GET')).rejects.toThrow('ERR Invalid number of arguments specified for command');
      expect(((await client.call('COMMAND', 'HELP')) as string[])[0]).toMatch(/^COMMAND <subcommand>/);
      await expect(client.call('COMMAND', 'BOGUS')).rejects.toThrow("ERR unknown subcommand 'BOGUS'. Try COMMAND HELP.");
      await expect(client.call('COMMAND', 'LIST', 'FILTERBY', 'COLOUR', 'red')).rejects.toThrow('ERR syntax error');
    });
  });

  it('SHUTDOWN ABORT and bad options are errors; SHUTDOWN asks the lifecycle to stop and sends no reply', async () => {
    let reason: string | undefined;
    const local = await startServer({}, { onShutdownRequest: (why) => (reason = why) });
    const raw = await RawClient.connect(local.port);
    expect(plain(await raw.call('SHUTDOWN', 'ABORT'))).toEqual({ error: 'ERR No shutdown in progress.' });
    expect(plain(await raw.call('SHUTDOWN', 'MAYBE'))).toEqual({ error: 'ERR syntax error' });
    // Contradictions are syntax errors, as in Redis 7, and leave the server running.
    for (const options of [['NOSAVE', 'SAVE'], ['SAVE', 'NOSAVE'], ['ABORT', 'NOW'], ['FORCE', 'ABORT']]) {
      expect(plain(await raw.call('SHUTDOWN', ...options)), options.join(' ')).toEqual({ error: 'ERR syntax error' });
    }
    expect(reason).toBeUndefined();
    raw.command('SHUTDOWN', 'NOSAVE');
    await raw.waitClosed();
    expect(raw.buffered).toBe(0);
    expect(reason).toMatch(/^SHUTDOWN from 127\.0\.0\.1:/);
  });

  it('SHUTDOWN SAVE makes a checkpoint first; the default lifecycle closes the server', async () => {
    const local = await startServer();
    const raw = await RawClient.connect(local.port);
    await raw.call('SET', 'k', 'v');
    raw.command('SHUTDOWN', 'SAVE');
    await raw.waitClosed();
    expect(readdirSync(join(local.dir, 'checkpoints')).some((name) => name.startsWith('save-'))).toBe(true);
    await waitFor(() => local.server.address === undefined, 5000, 'the listener to close');
  });
});

describe('LOADING', () => {
  it('answers -LOADING to data commands and loading:1 in INFO until the data directory is open', async () => {
    const silt = await startServer({}, { listenOnly: true });
    const raw = await RawClient.connect(silt.port);
    expect(plain(await raw.call('GET', 'k'))).toEqual({ error: 'LOADING silt is loading the dataset in memory' });
    expect(plain(await raw.call('PING'))).toEqual({ error: 'LOADING silt is loading the dataset in memory' });
    expect(parseInfo(String(plain(await raw.call('INFO', 'persistence')))).loading).toBe('1');
    expect(helloFields(await raw.call('HELLO', '2'))).toMatchObject({ proto: 2 });
    expect(plain(await raw.call('CONFIG', 'GET', 'port'))).toEqual(['port', '0']);
    raw.command('MULTI');
    expect(plain(await raw.reply())).toBe('OK');
    expect(plain(await raw.call('SET', 'k', 'v'))).toEqual({ error: 'LOADING silt is loading the dataset in memory' });
    expect(plain(await raw.call('EXEC'))).toEqual({ error: 'EXECABORT Transaction discarded because of previous errors.' });
    await silt.server.open();
    expect(parseInfo(String(plain(await raw.call('INFO', 'persistence')))).loading).toBe('0');
    expect(plain(await raw.call('SET', 'k', 'v'))).toBe('OK');
    expect(plain(await raw.call('PING'))).toBe('PONG');
  });

  it('ioredis waits out loading:1 (its ready check) and then runs commands', async () => {
    const silt = await startServer({}, { listenOnly: true });
    const client = ioredis(silt.port, { enableReadyCheck: true });
    const pending = client.set('after-loading', '1');
    await sleep(200);
    await silt.server.open();
    expect(await pending).toBe('OK');
  });
});

describe('MISCONF: a disk that refuses writes', () => {
  it('refuses writes with -MISCONF, keeps reads, says why in INFO, and resumes when the disk recovers', async () => {
    const fs = new FaultFileSystem(new NodeFileSystem());
    const silt = await startServer({}, { engineOptions: { fs } });
    const client = ioredis(silt.port);
    await client.set('before', 'ok');
    const walsTried = new Set<string>();
    fs.injectFault((operation, path) => {
      if (!path.includes('/wal/') || !(operation === 'append' || operation === 'sync' || operation === 'open')) return undefined;
      if (operation === 'open') walsTried.add(path);
      return systemError('ENOSPC', operation, path);
    });
    // A failed expectation must not leave the fault in place: the server's close would fail too.
    onTestFinished(() => fs.injectFault(undefined));
    await expect(client.set('during', 'x')).rejects.toThrow(/^MISCONF /);
    // Now refused up front, for every write command, with the reason.
    await expect(client.incr('counter')).rejects.toThrow(/^MISCONF Errors writing to disk: .*ENOSPC/);
    await expect(client.del('before')).rejects.toThrow(/^MISCONF/);
    expect(await client.get('before')).toBe('ok');
    expect(await client.get('during')).toBeNull();
    expect(await client.exists('before')).toBe(1);
    const multi = await client.multi().set('tx', '1').get('before').exec().catch((error: Error) => error);
    expect(String(multi)).toMatch(/EXECABORT|MISCONF/);
    const persistence = parseInfo(await client.info('persistence'));
    expect(persistence.writes_refused).toBe('1');
    expect(persistence.write_error).toContain('ENOSPC');
    expect(parseInfo(await client.info('lsm')).lsm_write_error).toContain('ENOSPC');
    // The engine retries each second on a new WAL file, which cannot be made either. The reason is the
    // latest failure: that creation's, or the old file's sync, which the everysec timer retries too (the
    // two alternate, so which one a client sees depends on when it asks).
    await waitFor(() => walsTried.size >= 2, 5000, 'two retries on new WAL files');
    expect(await client.set('x', '1').catch((error: Error) => error.message)).toMatch(/^MISCONF Errors writing to disk: Cannot (create|sync) WAL file .*ENOSPC/);
    fs.injectFault(undefined);
    await waitFor(async () => (await client.set('after', 'ok').catch(() => 'refused')) === 'OK', 10_000, 'writes to resume');
    expect(await client.get('after')).toBe('ok');
    expect(await client.get('before')).toBe('ok');
    expect(parseInfo(await client.info('persistence')).writes_refused).toBe('0');
  });

  it('a read that may have seen a write the WAL then refuses answers the error, not the taken-back value', async () => {
    const fs = new FaultFileSystem(new NodeFileSystem());
    const silt = await startServer({}, { engineOptions: { fs } });
    const client = ioredis(silt.port);
    await client.set('k', '1');
    fs.injectFault((operation, path) => (operation === 'append' && path.includes('/wal/') ? systemError('ENOSPC', 'write', path) : undefined));
    // One socket write (raw: ioredis may write a pipeline's commands one by one, and a server that
    // reads INCR alone would fail its WAL write before GET arrives): INCR applies 2 at once, GET
    // runs in the same turn, then the WAL write fails.
    const raw = await RawClient.connect(silt.port);
    raw.send(Buffer.concat([encodeCommand(['INCR', 'k']), encodeCommand(['GET', 'k']), encodeCommand(['PING'])]));
    // On a loaded machine INCR may outlast the turn's budget (turn-budget.ts): GET then runs in a
    // later slice, after the failed write was taken back, and rightly reads 1. Never 2.
    const [incr, get, ping] = (await raw.replies(3)).map(plain) as [{ error: string }, { error: string } | string, string];
    expect(incr.error, 'INCR').toMatch(/^MISCONF /);
    expect(get === '1' ? get : (get as { error: string }).error, 'GET saw the 2 that is taken back').toMatch(/^(MISCONF |1$)/);
    expect(ping, 'PING does not read the keyspace').toBe('PONG');
    // The same for a transaction that only reads, or whose writes write nothing (DEL of an absent key).
    for (const queued of [[['GET', 'k']], [['GET', 'k'], ['DEL', 'absent']]]) {
      fs.injectFault(undefined);
      await waitFor(async () => (await client.incr('k').catch(() => 'refused')) === 2, 10_000, 'writes to resume');
      await client.decr('k');
      fs.injectFault((operation, path) => (operation === 'append' && path.includes('/wal/') ? systemError('ENOSPC', 'write', path) : undefined));
      raw.send(Buffer.concat([encodeCommand(['INCR', 'k']), encodeCommand(['MULTI']), ...queued.map(encodeCommand), encodeCommand(['EXEC'])]));
      const replies = (await raw.replies(3 + queued.length)).map(plain);
      expect((replies[0] as { error: string }).error, 'INCR').toMatch(/^MISCONF /);
      const exec = replies.at(-1);
      // As above, a later slice reads the 1 left once the write was taken back.
      if (!Array.isArray(exec) || exec[0] !== '1') expect((exec as { error: string }).error, `EXEC of ${JSON.stringify(queued)} saw the 2 that is taken back`).toMatch(/^MISCONF /);
    }
    fs.injectFault(undefined);
    expect(await client.get('k')).toBe('1');
    await waitFor(async () => (await client.incr('k').catch(() => 'refused')) === 2, 10_000, 'writes to resume');
    expect(await client.get('k')).toBe('2');
  });
});

describe('a reply the encoder refuses', () => {
  afterEach(closeServers);

  it('closes that client only: the server keeps serving the others', async () => {
    const silt = await startServer();
    // A command with a bug: an integer reply past 64 bits (as PEXPIRETIME gave for 2^63 - 1 ms).
    const echo = silt.server.commandTable.get('echo')!;
    const original = echo.handler;
    echo.handler = () => 2 ** 64;
    try {
      const victim = await RawClient.connect(silt.port);
      victim.command('ECHO', 'x');
      await victim.waitClosed();
      const other = await RawClient.connect(silt.port);
      expect(plain(await other.call('PING'))).toBe('PONG');
    } finally {
      echo.handler = original;
    }
  });
});

describe('--reserve-mb', () => {
  afterEach(closeServers);

  it('a server that stopped on a full disk starts again in its reserve, serves every key and takes writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silt-resp-reserve-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const reserveBytes = 256 * 1024;
    let silt = await startServer({ reserveMb: 0.25 }, { dir });
    let client = ioredis(silt.port);
    for (let index = 0; index < 50; index++) expect(await client.set(`k${index}`, `v${index}`)).toBe('OK');
    await waitFor(async () => Number(parseInfo(await client.info('persistence')).reserve_bytes) === reserveBytes, 10_000, 'the reserve to be written');
    await closeServers();
    // No byte left on the disk while RESERVE holds its space: LOCK, the manifest and the WAL file cannot be written.
    const fs = new FaultFileSystem(new NodeFileSystem());
    fs.freeBytesValue = 0;
    const full = ['write', 'append', 'preallocate'];
    fs.injectFault((operation, path) => (full.includes(operation) && existsSync(join(dir, 'RESERVE')) ? systemError('ENOSPC', operation, path) : undefined));
    silt = await startServer({ reserveMb: 0.25 }, { dir, engineOptions: { fs } });
    client = ioredis(silt.port);
    expect(existsSync(join(dir, 'RESERVE'))).toBe(false);
    for (let index = 0; index < 50; index++) expect(await client.get(`k${index}`)).toBe(`v${index}`);
    const persistence = parseInfo(await client.info('persistence'));
    expect(Number(persistence.reserve_released_at_start_bytes)).toBe(reserveBytes);
    expect(Number(persistence.reserve_bytes)).toBe(0);
    expect(await client.set('after', 'start')).toBe('OK');
    expect(await client.get('after')).toBe('start');
    // Without a reserve the same disk keeps the server from starting, with the advice to free space.
    await closeServers();
    fs.injectFault((operation, path) => (full.includes(operation) ? systemError('ENOSPC', operation, path) : undefined));
    await expect(startServer({ reserveMb: 0.25 }, { dir, engineOptions: { fs } })).rejects.toThrow(/ENOSPC/);
  });
});

describe('a read-only file system at start', () => {
  afterEach(closeServers);

  it('the server opens the directory read-only, serves every key, and refuses writes with -MISCONF until it is restarted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silt-resp-erofs-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    let silt = await startServer({}, { dir });
    let client = ioredis(silt.port);
    for (let index = 0; index < 30; index++) expect(await client.set(`k${index}`, `v${index}`)).toBe('OK');
    await client.rpush('list', 'a', 'b', 'c');
    await closeServers();
    // ext4 after an I/O error (errors=remount-ro): every change to the file system fails with EROFS, reads work.
    const fs = new FaultFileSystem(new NodeFileSystem());
    const changes = ['write', 'append', 'preallocate', 'mkdir', 'rename', 'unlink', 'link', 'truncate'];
    fs.injectFault((operation, path) => (changes.includes(operation) ? systemError('EROFS', operation, path) : undefined));
    silt = await startServer({}, { dir, engineOptions: { fs } });
    client = ioredis(silt.port);
    for (let index = 0; index < 30; index++) expect(await client.get(`k${index}`)).toBe(`v${index}`);
    expect(await client.lrange('list', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await client.dbsize()).toBe(31);
    await expect(client.set('k0', 'changed')).rejects.toThrow(/^MISCONF .*read-only/);
    await expect(client.del('k1')).rejects.toThrow(/^MISCONF/);
    await expect(client.save()).rejects.toThrow(/read-only/);
    // The refusal outlives the once-a-second check that lifts one after a write outage.
    await sleep(1200);
    await expect(client.set('k0', 'changed')).rejects.toThrow(/^MISCONF/);
    const persistence = parseInfo(await client.info('persistence'));
    expect(persistence.writes_refused).toBe('1');
    expect(persistence.write_error).toMatch(/read-only \(.*EROFS/);
    expect(await client.get('k0')).toBe('v0');
    // Nothing was written: the directory opens for writing, as it was, on a writable file system.
    await closeServers();
    silt = await startServer({}, { dir });
    client = ioredis(silt.port);
    expect(await client.set('k0', 'changed')).toBe('OK');
    expect(await client.get('k1')).toBe('v1');
  });
});

describe('--wal-preallocate-mb', () => {
  afterEach(closeServers);

  /** Size of the newest WAL file of `dir`, bytes. */
  function newestWalBytes(dir: string): number {
    const names = readdirSync(join(dir, 'wal')).filter((name) => name.endsWith('.log')).sort();
    return statSync(join(dir, 'wal', names[names.length - 1]!)).size;
  }

  it('reaches the WAL writer: under appendfsync always, that many zeros ahead of the records; 0 none', async () => {
    const sizes: number[] = [];
    const reported: number[] = [];
    for (const walPreallocateMb of [0.5, 0]) {
      const silt = await startServer({ appendfsync: 'always', walPreallocateMb });
      const client = ioredis(silt.port);
      for (let index = 0; index < 10; index++) expect(await client.set(`k${index}`, 'v')).toBe('OK');
      sizes.push(newestWalBytes(silt.dir));
      const lsm = parseInfo(await client.info('lsm'));
      reported.push(Number(lsm.lsm_wal_preallocated_bytes));
      expect(Number(lsm.lsm_wal_bytes)).toBeGreaterThanOrEqual(sizes.at(-1)!);
      await closeServers();
    }
    expect(sizes[0]).toBeGreaterThanOrEqual(512 * 1024);
    expect(sizes[1]).toBeLessThan(4096);
    // INFO says how much of the WAL's size is zeros: what the newest file holds beyond its records.
    expect(reported[0]).toBeGreaterThanOrEqual(256 * 1024);
    expect(reported[0]).toBeLessThan(sizes[0]!);
    expect(reported[1]).toBe(0);
  });
});
