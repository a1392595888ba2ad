// Server commands: TIME INFO CONFIG LASTSAVE SAVE BGSAVE BGREWRITEAOF SLOWLOG
// SHUTDOWN, with Redis's replies and wording (redis/redis src/server.c,
// src/config.c, src/slowlog.c, src/rdb.c).
//
// Persistence maps onto the engine: SAVE and BGSAVE make a checkpoint under
// <dir>/checkpoints/ (RespServer#saveCheckpoint, which also caps how many are
// kept), BGREWRITEAOF runs a full compaction, and INFO persistence reports
// both in Redis's field names plus silt's own (WAL, recovery, write errors).
// INFO's `lsm` section is engine.stats().

import { arch, platform, release } from 'node:os';
import type { CommandContext, CommandHandler, CommandSpec } from '../command.js';
import { ErrorReply, MapReply, OK, SimpleReply, VerbatimReply, errors, type Reply } from '../reply.js';
import { ReplySequence } from '../connection.js';
import { stringMatch as globMatch } from '../../../lib/keyspace/glob.js';
import { ConfigError, mergeParameter, parameters, rewriteConfigFile, type Parameter } from '../../config.js';
import type { RespServer } from '../server.js';
import { clientOf, parseInteger, serverOf } from './connection.js';
import { slowlogArgBytesMax, slowlogArgsMax } from '../../../lib/limits.js';

// ---------------------------------------------------------------- SLOWLOG

// Arguments an entry keeps, and bytes per argument: slowlogArgsMax, slowlogArgBytesMax (lib/limits.ts).

export interface SlowlogEntry {
  id: number;
  timestampSeconds: number;
  durationMicros: number;
  args: Buffer[];
  clientAddress: string;
  clientName: string;
}

/** The slow log: newest first, at most slowlog-max-len entries, arguments truncated as Redis does. */
export class SlowLog {
  #entries: SlowlogEntry[] = [];
  #nextId = 0;

  get length(): number {
    return this.#entries.length;
  }

  add(args: readonly Buffer[], durationMicros: number, clientAddress: string, clientName: string, maxLength: number): void {
    const kept: Buffer[] = [];
    const count = Math.min(args.length, slowlogArgsMax);
    for (let index = 0; index < count; index++) {
      if (index === slowlogArgsMax - 1 && args.length > slowlogArgsMax) {
        kept.push(Buffer.from(`... (${args.length - slowlogArgsMax + 1} more arguments)`));
        break;
      }
      const arg = args[index]!;
      if (arg.length > slowlogArgBytesMax) {
        kept.push(Buffer.concat([arg.subarray(0, slowlogArgBytesMax), Buffer.from(`... (${arg.length - slowlogArgBytesMax} more bytes)`)]));
      } else {
        kept.push(Buffer.from(arg));
      }
    }
    this.#entries.unshift({ id: this.#nextId++, timestampSeconds: Math.floor(Date.now() / 1000), durationMicros: Math.round(durationMicros), args: kept, clientAddress, clientName });
    this.trim(maxLength);
  }

  trim(maxLength: number): void {
    if (this.#entries.length > maxLength) this.#entries.length = maxLength;
  }

  reset(): void {
    this.#entries = [];
  }

  /** The newest `count` entries (all when negative). */
  newest(count: number): readonly SlowlogEntry[] {
    return count < 0 ? this.#entries : this.#entries.slice(0, count);
  }
}

const slowlogHelp = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

const slowlogGet: CommandHandler = (ctx, args) => {
  let count = 10;
  if (args.length === 3) {
    const parsed = parseInteger(args[2]!);
    if (parsed === undefined || parsed < -1) return new ErrorReply('ERR count should be greater than or equal to -1');
    count = parsed;
  }
  return serverOf(ctx).slowlog.newest(count).map((entry): Reply => [entry.id, entry.timestampSeconds, entry.durationMicros, entry.args, entry.clientAddress, entry.clientName]);
};

// ---------------------------------------------------------------- CONFIG

/** CONFIG GET also answers these Redis parameters, which silt fixes (clients and redis-benchmark ask for them). */
const fixedParameters: readonly [name: string, value: (server: RespServer) => string][] = [
  ['save', () => ''],
  ['appendonly', () => 'yes'],
  ['maxmemory', () => '0'],
  ['maxmemory-policy', () => 'noeviction'],
];

const configHelp = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
  'HELP',
  '    Prints this help.',
];

const configGet: CommandHandler = (ctx, args) => {
  const server = serverOf(ctx);
  const entries: [Reply, Reply][] = [];
  const seen = new Set<string>();
  for (const pattern of args.slice(2)) {
    for (const parameter of parameters) {
      if (seen.has(parameter.name) || !globMatch(pattern, Buffer.from(parameter.name), true)) continue;
      seen.add(parameter.name);
      entries.push([parameter.name, parameter.format(server.config[parameter.key])]);
    }
    for (const [name, value] of fixedParameters) {
      if (seen.has(name) || !globMatch(pattern, Buffer.from(name), true)) continue;
      seen.add(name);
      entries.push([name, value(server)]);
    }
  }
  return new MapReply(entries);
};

const configSet: CommandHandler = (ctx, args) => {
  const server = serverOf(ctx);
  if ((args.length - 2) % 2 !== 0) return errors.syntax; // as Redis: the arity (4 at least) is checked first, an odd count past it is a syntax error
  const changes: [Parameter, string][] = [];
  const seen = new Set<string>();
  for (let index = 2; index < args.length; index += 2) {
    const name = args[index]!.toString('latin1').toLowerCase();
    const parameter = parameters.find((candidate) => candidate.name === name);
    if (parameter === undefined) {
      if (fixedParameters.some(([fixed]) => fixed === name)) return configSetFailed(name, "can't set immutable config");
      return new ErrorReply(`ERR Unknown option or number of arguments for CONFIG SET - '${args[index]!.toString('latin1')}'`);
    }
    if (seen.has(name)) return configSetFailed(name, 'duplicate parameter');
    seen.add(name);
    if (!parameter.live) return configSetFailed(name, "can't set immutable config");
    changes.push([parameter, args[index + 1]!.toString('utf8')]);
  }
  // Validate every value first, so a failing CONFIG SET changes nothing (as Redis 7).
  const parsed: [Parameter, unknown][] = [];
  for (const [parameter, text] of changes) {
    try {
      parsed.push([parameter, mergeParameter(parameter, server.config[parameter.key], parameter.parse(text), text)]);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      return configSetFailed(parameter.name, error.message);
    }
  }
  for (const [parameter, value] of parsed) {
    const problem = server.checkConfigChange(parameter, value);
    if (problem !== undefined) return configSetFailed(parameter.name, problem);
  }
  for (const [parameter, value] of parsed) server.applyConfigChange(parameter, value);
  return OK;
};

function configSetFailed(name: string, reason: string): ErrorReply {
  return new ErrorReply(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${reason}`);
}

/** CONFIG REWRITE: the running values into the file given at startup (service/config.ts, rewriteConfigFile). */
const configRewrite: CommandHandler = (ctx) => {
  const server = serverOf(ctx);
  const path = server.config.configFile;
  if (path === '') return new ErrorReply('ERR The server is running without a config file');
  return rewriteConfigFile(path, server.config).then(
    () => {
      server.logger.info({ configFile: path }, 'CONFIG REWRITE executed with success.');
      return OK;
    },
    (error: unknown) => {
      server.logger.warn({ err: error, configFile: path }, 'CONFIG REWRITE failed');
      return new ErrorReply(`ERR Rewriting config file: ${oneLine((error as Error).message)}`);
    },
  );
};

// ---------------------------------------------------------------- INFO

/** Section headers as Redis prints them. */
const sectionTitles: Readonly<Record<string, string>> = {
  server: 'Server',
  clients: 'Clients',
  memory: 'Memory',
  persistence: 'Persistence',
  stats: 'Stats',
  replication: 'Replication',
  cpu: 'CPU',
  lsm: 'LSM',
  commandstats: 'Commandstats',
  errorstats: 'Errorstats',
  keyspace: 'Keyspace',
};

/** Sections INFO prints with no argument (Redis's "default"), in order. */
/** As Redis 7.0's default INFO (errorstats included, commandstats not), with silt's lsm section. */
const defaultSections = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'lsm', 'errorstats', 'keyspace'];
/** Every section, in order: INFO all and everything add commandstats, as Redis does. */
const allSections = ['server', 'clients', 'memory', 'persistence', 'stats', 'replication', 'cpu', 'lsm', 'commandstats', 'errorstats', 'keyspace'];

const info: CommandHandler = (ctx, args) => {
  const server = serverOf(ctx);
  const wanted = new Set<string>();
  if (args.length === 1) for (const section of defaultSections) wanted.add(section);
  for (const arg of args.slice(1)) {
    const name = arg.toString('latin1').toLowerCase();
    if (name === 'all' || name === 'everything') for (const section of allSections) wanted.add(section);
    else if (name === 'default') for (const section of defaultSections) wanted.add(section);
    else wanted.add(name);
  }
  const parts: string[] = [];
  for (const section of allSections) {
    if (!wanted.has(section)) continue;
    const lines = infoSection(server, section);
    parts.push(`# ${sectionTitles[section] ?? section}\r\n${lines.map(([name, value]) => `${name}:${value}\r\n`).join('')}`);
  }
  return new VerbatimReply('txt', parts.join('\r\n'));
};

type InfoLine = [name: string, value: string | number];

function infoSection(server: RespServer, section: string): InfoLine[] {
  switch (section) {
    case 'server':
      return serverSection(server);
    case 'clients':
      return clientsSection(server);
    case 'memory':
      return memorySection(server);
    case 'persistence':
      return persistenceSection(server);
    case 'stats':
      return statsSection(server);
    case 'replication':
      return [
        ['role', 'master'],
        ['connected_slaves', 0],
        ['master_failover_state', 'no-failover'],
        ['master_repl_offset', 0],
      ];
    case 'cpu': {
      const usage = process.cpuUsage();
      return [
        ['used_cpu_sys', (usage.system / 1e6).toFixed(6)],
        ['used_cpu_user', (usage.user / 1e6).toFixed(6)],
      ];
    }
    case 'lsm':
      return lsmSection(server);
    case 'commandstats':
      return [...server.commandStats].map(([name, stat]): InfoLine => [
        `cmdstat_${name}`,
        `calls=${stat.calls},usec=${stat.usec},usec_per_call=${(stat.calls === 0 ? 0 : stat.usec / stat.calls).toFixed(2)},rejected_calls=${stat.rejectedCalls},failed_calls=${stat.failedCalls}`,
      ]);
    case 'errorstats':
      return [...server.errorStats].map(([kind, count]): InfoLine => [`errorstat_${kind}`, `count=${count}`]);
    case 'keyspace':
      // No avg_ttl: Redis estimates it by sampling in its expire cycle; silt keeps no such estimate and prints nothing rather than a made-up 0.
      return server.keyspaceInfo().map(({ db, keys, expires }): InfoLine => [`db${db}`, `keys=${keys},expires=${expires}`]);
    default:
      return [];
  }
}

function serverSection(server: RespServer): InfoLine[] {
  const uptimeSeconds = Math.floor((Date.now() - server.startTimeMs) / 1000);
  const address = server.address;
  return [
    ['redis_version', server.redisVersion],
    ['silt_version', server.version],
    ['redis_mode', 'standalone'],
    ['os', `${platform()} ${release()} ${arch()}`],
    ['arch_bits', process.arch.includes('64') ? 64 : 32],
    ['multiplexing_api', 'libuv'],
    ['node_version', process.versions.node],
    ['process_id', process.pid],
    ['run_id', server.runId],
    ['tcp_port', address?.port ?? server.config.port],
    ['server_time_usec', Date.now() * 1000],
    ['uptime_in_seconds', uptimeSeconds],
    ['uptime_in_days', Math.floor(uptimeSeconds / 86400)],
    ['hz', Math.max(1, Math.round(1000 / server.config.expirySweepMs))],
    ['executable', process.argv[1] ?? ''],
    ['config_file', server.config.configFile],
    ['engine', server.config.engine],
    ['data_dir', server.config.dir],
  ];
}

function clientsSection(server: RespServer): InfoLine[] {
  let pubsub = 0;
  let watching = 0;
  let maxOutput = 0;
  let maxInput = 0;
  for (const client of server.clients.values()) {
    if (client.subscriptionCount > 0) pubsub++;
    if (client.watched.size > 0) watching++;
    maxOutput = Math.max(maxOutput, client.outputBufferedBytes);
    maxInput = Math.max(maxInput, client.queryBufferedBytes);
  }
  return [
    ['connected_clients', server.clients.size],
    ['maxclients', server.maxClients],
    ['client_recent_max_input_buffer', maxInput],
    ['client_recent_max_output_buffer', maxOutput],
    ['blocked_clients', server.blocking.blockedClients],
    ['total_blocking_keys', server.blocking.blockingKeys],
    ['pubsub_clients', pubsub],
    ['watching_clients', watching],
    ['total_watched_keys', server.watches.size],
  ];
}

function memorySection(server: RespServer): InfoLine[] {
  const memory = process.memoryUsage();
  const stats = server.engine?.stats();
  return [
    ['used_memory', memory.heapUsed + memory.external],
    ['used_memory_human', humanBytes(memory.heapUsed + memory.external)],
    ['used_memory_rss', memory.rss],
    ['used_memory_rss_human', humanBytes(memory.rss)],
    ['used_memory_peak', server.stats.peakMemoryBytes],
    ['used_memory_peak_human', humanBytes(server.stats.peakMemoryBytes)],
    ['maxmemory', 0],
    ['maxmemory_human', '0B'],
    ['maxmemory_policy', 'noeviction'],
    ['memtable_bytes', stats?.memtableBytes ?? 0],
    ['memtable_budget_bytes', Math.round(server.config.memtableMb * 1024 * 1024)],
    ['block_cache_bytes', stats?.blockCache.bytes ?? 0],
    ['block_cache_capacity_bytes', stats?.blockCache.capacityBytes ?? Math.round(server.config.blockCacheMb * 1024 * 1024)],
    ['table_cache_bytes', stats?.tableCache?.bytes ?? 0],
    ['table_cache_capacity_bytes', stats?.tableCache?.bytesMax ?? Math.round(server.config.tableCacheMb * 1024 * 1024)],
  ];
}

function persistenceSection(server: RespServer): InfoLine[] {
  const persistence = server.persistence;
  const now = Date.now();
  const recovery = server.engine?.recovery;
  const stats = server.engine?.stats();
  return [
    ['loading', server.loading ? 1 : 0],
    ['async_loading', 0],
    ['loading_eta_seconds', server.loading ? 1 : 0],
    ['rdb_changes_since_last_save', persistence.changesSinceSave],
    ['rdb_bgsave_in_progress', persistence.saveInProgress ? 1 : 0],
    ['rdb_last_save_time', Math.floor(persistence.lastSaveMs / 1000)],
    ['rdb_last_bgsave_status', persistence.lastSaveOk ? 'ok' : 'err'],
    ['rdb_last_bgsave_time_sec', persistence.lastSaveDurationMs < 0 ? -1 : Math.round(persistence.lastSaveDurationMs / 1000)],
    ['rdb_current_bgsave_time_sec', persistence.saveStartedMs === undefined ? -1 : Math.round((now - persistence.saveStartedMs) / 1000)],
    ['rdb_saves', persistence.saves],
    ['rdb_last_checkpoint', persistence.lastCheckpoint ?? ''],
    ['aof_enabled', 1],
    ['aof_rewrite_in_progress', persistence.compactionInProgress ? 1 : 0],
    ['aof_rewrite_scheduled', 0],
    ['aof_last_rewrite_time_sec', persistence.lastCompactionDurationMs < 0 ? -1 : Math.round(persistence.lastCompactionDurationMs / 1000)],
    ['aof_last_bgrewrite_status', persistence.lastCompactionOk ? 'ok' : 'err'],
    ['aof_rewrites', persistence.compactions],
    ['aof_last_write_status', stats?.writeError === undefined ? 'ok' : 'err'],
    ['appendfsync', server.config.appendfsync],
    ['writes_refused', server.writeStoppedReason !== undefined || stats?.writeError !== undefined ? 1 : 0],
    ['write_error', oneLine(stats?.writeError ?? server.writeStoppedReason ?? '')],
    // The space reserve (--reserve-mb): its bytes on disk, and those deleted to start on a full disk.
    ['reserve_bytes', stats?.reserve?.bytes ?? 0],
    ['reserve_released_at_start_bytes', stats?.reserve?.releasedAtOpenBytes ?? 0],
    ['wal_files', stats?.walFiles ?? 0],
    ['wal_bytes', stats?.walBytes ?? 0],
    ['recovery_wal_files_replayed', recovery?.walFilesReplayed ?? 0],
    ['recovery_wal_records_replayed', recovery?.walRecordsReplayed ?? 0],
    ['recovery_wal_bytes_truncated', recovery?.walBytesTruncated ?? 0],
    ['recovery_ms', recovery === undefined ? 0 : Math.round(recovery.durationMs)],
  ];
}

function statsSection(server: RespServer): InfoLine[] {
  const stats = server.stats;
  const loop = server.loopStats.snapshot();
  const counters = server.keyspaceCounters();
  return [
    ['total_connections_received', stats.connectionsReceived],
    ['total_commands_processed', stats.commandsProcessed],
    ['instantaneous_ops_per_sec', stats.instantaneousOpsPerSecond],
    ['total_net_input_bytes', stats.netInputBytes],
    ['total_net_output_bytes', stats.netOutputBytes],
    // Two decimals, as Redis prints them.
    ['instantaneous_input_kbps', stats.instantaneousInputKbps.toFixed(2)],
    ['instantaneous_output_kbps', stats.instantaneousOutputKbps.toFixed(2)],
    ['rejected_connections', stats.rejectedConnections],
    ['expired_keys', counters.expiredKeys],
    // No eviction in silt (maxmemory is 0): nothing is ever evicted, so 0 is the true count.
    ['evicted_keys', 0],
    ['keyspace_hits', counters.hits],
    ['keyspace_misses', counters.misses],
    ['pubsub_channels', server.pubsub.channelCount],
    ['pubsub_patterns', server.pubsub.patternCount],
    ['total_error_replies', stats.errorReplies],
    ['total_protocol_errors', stats.protocolErrors],
    ['client_output_buffer_limit_disconnections', stats.outputBufferDisconnections],
    ['client_query_buffer_limit_disconnections', stats.queryBufferDisconnections],
    // The event loop every client shares (loop-stats.ts): Redis 7.2's duration sum, and silt's share and stalls.
    ['eventloop_duration_sum', loop.durationSumUsec],
    ['instantaneous_eventloop_utilization', loop.instantaneousUtilization.toFixed(2)],
    ['eventloop_delay_p99_usec', loop.delayP99Usec],
    ['eventloop_delay_max_usec', loop.delayMaxUsec],
  ];
}

function lsmSection(server: RespServer): InfoLine[] {
  const engine = server.engine;
  if (engine === undefined) return [['lsm_engine', server.config.engine], ['lsm_loading', 1]];
  const stats = engine.stats();
  const lines: InfoLine[] = [['lsm_engine', stats.kind], ['lsm_sequence', stats.sequence]];
  let segments = 0;
  let bytes = 0;
  for (const level of stats.levels) {
    segments += level.segments;
    bytes += level.bytes;
    lines.push([`lsm_level_${level.level}`, `segments=${level.segments},bytes=${level.bytes}`]);
  }
  lines.push(
    ['lsm_levels', stats.levels.length],
    ['lsm_segments', segments],
    ['lsm_segment_bytes', bytes],
    ['lsm_memtable_bytes', stats.memtableBytes],
    ['lsm_immutable_memtables', stats.immutableMemtables],
    ['lsm_wal_files', stats.walFiles],
    ['lsm_wal_bytes', stats.walBytes],
    ['lsm_wal_preallocated_bytes', stats.walPreallocatedBytes],
    ['lsm_archive_files', stats.archiveFiles],
    ['lsm_archive_bytes', stats.archiveBytes],
    // The span `silt restore` can reach, without a break, from a checkpoint taken before it (empty when nothing is archived).
    ['lsm_archive_from', stats.archiveRange === undefined ? '' : new Date(stats.archiveRange.fromMs).toISOString()],
    ['lsm_archive_to', stats.archiveRange === undefined ? '' : new Date(stats.archiveRange.toMs).toISOString()],
    ['lsm_archive_breaks', stats.archiveBreaks],
    ['lsm_archive_unread_files', stats.archiveUnreadFiles],
    ['lsm_pending_compaction_bytes', stats.pendingCompactionBytes],
    ['lsm_flushes', stats.flushes],
    ['lsm_compactions', stats.compactions],
    ['lsm_compactions_running', stats.compactionsRunning],
    ['lsm_bytes_flushed', stats.bytesFlushed],
    ['lsm_bytes_compacted', stats.bytesCompacted],
    // Left out by flush and compaction: older versions, tombstones, entries the keyspace's filter dropped.
    ['lsm_entries_dropped_shadowed', stats.entriesDropped?.shadowed ?? 0],
    ['lsm_entries_dropped_tombstones', stats.entriesDropped?.tombstones ?? 0],
    ['lsm_entries_dropped_filtered', stats.entriesDropped?.filtered ?? 0],
    ['lsm_block_cache_bytes', stats.blockCache.bytes],
    ['lsm_block_cache_capacity_bytes', stats.blockCache.capacityBytes],
    ['lsm_block_cache_hits', stats.blockCache.hits],
    ['lsm_block_cache_misses', stats.blockCache.misses],
    // Segment readers (table-cache.ts): misses open one (index and filter read, milliseconds), evictions drop
    // one (the byte bound), file reopens open the file of a kept reader again (the descriptor bound, one open(2)).
    ['lsm_table_cache_readers', stats.tableCache?.readers ?? 0],
    ['lsm_table_cache_open_files', stats.tableCache?.openFiles ?? 0],
    ['lsm_table_cache_max_open_files', stats.tableCache?.maxOpenFiles ?? server.maxOpenFiles],
    ['lsm_table_cache_bytes', stats.tableCache?.bytes ?? 0],
    ['lsm_table_cache_capacity_bytes', stats.tableCache?.bytesMax ?? Math.round(server.config.tableCacheMb * 1024 * 1024)],
    ['lsm_table_cache_hits', stats.tableCache?.hits ?? 0],
    ['lsm_table_cache_misses', stats.tableCache?.misses ?? 0],
    ['lsm_table_cache_evictions', stats.tableCache?.evictions ?? 0],
    ['lsm_table_cache_file_reopens', stats.tableCache?.fileReopens ?? 0],
    // Readers of new segments made from what their flush or compaction worker read back (no open on the event loop).
    ['lsm_table_cache_adopted', stats.tableCache?.adopted ?? 0],
    ['lsm_write_stalls', stats.writeStalls],
    ['lsm_write_error', oneLine(stats.writeError ?? '')],
    ['lsm_background_error', oneLine(stats.backgroundError ?? '')],
    ['lsm_live_snapshots', stats.liveSnapshots],
  );
  return lines;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

function humanBytes(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value}B` : `${value.toFixed(2)}${units[unit]}`;
}

// ---------------------------------------------------------------- persistence and shutdown

const save: CommandHandler = (ctx) => {
  const server = serverOf(ctx);
  if (server.persistence.saveInProgress) return new ErrorReply('ERR Background save already in progress');
  return server.saveCheckpoint().then(
    () => OK,
    (error: unknown) => new ErrorReply(`ERR ${(error as Error).message}`),
  );
};

const bgsave: CommandHandler = (ctx, args) => {
  const server = serverOf(ctx);
  // SCHEDULE is Redis's way past another child (an AOF rewrite); a compaction (BGREWRITEAOF) does not
  // hold a checkpoint back, so it changes nothing here. During a save it is refused, as Redis refuses it.
  if (args.length > 1 && (args.length > 2 || args[1]!.toString('latin1').toLowerCase() !== 'schedule')) return errors.syntax;
  if (server.persistence.saveInProgress) return new ErrorReply('ERR Background save already in progress');
  server.backgroundSave();
  return new SimpleReply('Background saving started');
};

const bgrewriteaof: CommandHandler = (ctx) => {
  const server = serverOf(ctx);
  if (server.persistence.compactionInProgress) return new ErrorReply('ERR Background append only file rewriting already in progress');
  server.backgroundCompaction();
  return new SimpleReply('Background append only file rewriting started');
};

const shutdown: CommandHandler = (ctx, args) => {
  const server = serverOf(ctx);
  const options = new Set<string>();
  for (const arg of args.slice(1)) {
    const option = arg.toString('latin1').toLowerCase();
    if (option !== 'save' && option !== 'nosave' && option !== 'now' && option !== 'force' && option !== 'abort') return errors.syntax;
    options.add(option);
  }
  // As Redis 7: ABORT goes alone, and SAVE contradicts NOSAVE.
  if ((options.has('abort') && options.size > 1) || (options.has('save') && options.has('nosave'))) return errors.syntax;
  if (options.has('abort')) return new ErrorReply('ERR No shutdown in progress.');
  const saveFirst = options.has('save');
  clientOf(ctx).closeAfterReply();
  const requestShutdown = (): Reply => {
    server.requestShutdown(`SHUTDOWN from ${clientOf(ctx).address}`);
    // Redis sends nothing on success: the client sees the connection close.
    return ReplySequence.empty;
  };
  if (!saveFirst || server.engine === undefined) return requestShutdown();
  return server.saveCheckpoint().then(requestShutdown, (error: unknown) => {
    server.logger.error({ err: error }, 'SHUTDOWN SAVE: the checkpoint failed; not shutting down');
    clientOf(ctx).cancelCloseAfterReply();
    return new ErrorReply('ERR Errors trying to SHUTDOWN. Check logs.');
  });
};

// ---------------------------------------------------------------- table

function command(name: string, arity: number, flags: CommandSpec['flags'], summary: string, syntax: string, complexity: string, handler: CommandHandler): CommandSpec {
  return { name, arity, flags, firstKey: 0, lastKey: 0, keyStep: 0, summary, syntax, complexity, handler };
}

function helpLines(lines: readonly string[]): CommandHandler {
  return () => lines.map((line) => new SimpleReply(line));
}

const time: CommandHandler = () => {
  const nowMicros = BigInt(Date.now()) * 1000n + (process.hrtime.bigint() / 1000n) % 1000n;
  return [String(nowMicros / 1_000_000n), String(nowMicros % 1_000_000n)];
};

export const serverCommands: CommandSpec[] = [
  command('time', 1, ['loading', 'fast'], 'Returns the server time', '', 'O(1)', time),
  command('info', -1, ['loading'], 'Returns information and statistics about the server', '[section ...]', 'O(1)', info),
  command('lastsave', 1, ['loading', 'fast'], 'Returns the Unix timestamp of the last successful save to disk', '', 'O(1)', (ctx: CommandContext) => Math.floor(serverOf(ctx).persistence.lastSaveMs / 1000)),
  command('save', 1, ['admin', 'no-multi'], 'Synchronously saves the database(s) to disk (a checkpoint)', '', 'O(N) where N is the number of segments', save),
  command('bgsave', -1, ['admin'], 'Asynchronously saves the database(s) to disk (a checkpoint)', '[SCHEDULE]', 'O(N) where N is the number of segments', bgsave),
  command('bgrewriteaof', 1, ['admin'], 'Asynchronously compacts the whole key space (silt has no AOF to rewrite)', '', 'O(N) where N is the size of the data', bgrewriteaof),
  command('shutdown', -1, ['admin', 'loading', 'no-multi'], 'Synchronously saves the database(s) to disk and shuts down the server', '[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]', 'O(N) when saving, where N is the number of segments', shutdown),
  {
    ...command('config', -2, ['loading'], 'A container for server configuration commands', '', 'Depends on subcommand', (_ctx, args) => errors.unknownSubcommand('config', args[1]!.toString('latin1'))),
    subcommands: {
      get: command('get', -3, ['admin', 'loading'], 'Returns the effective values of configuration parameters', 'parameter ...', 'O(N) when N is the number of configuration parameters provided', configGet),
      set: command('set', -4, ['admin', 'loading'], 'Sets configuration parameters in-flight', 'parameter value ...', 'O(N) when N is the number of configuration parameters provided', configSet),
      resetstat: command('resetstat', 2, ['admin', 'loading'], 'Resets the server\'s statistics', '', 'O(1)', (ctx) => {
        serverOf(ctx).resetStats();
        return OK;
      }),
      rewrite: command('rewrite', 2, ['admin', 'loading'], 'Persists the effective configuration to file', '', 'O(1)', configRewrite),
      help: command('help', 2, ['loading'], 'Returns helpful text about the different subcommands', '', 'O(1)', helpLines(configHelp)),
    },
  },
  {
    ...command('slowlog', -2, ['admin', 'loading'], 'A container for slow log commands', '', 'Depends on subcommand', (_ctx, args) => errors.unknownSubcommand('slowlog', args[1]!.toString('latin1'))),
    subcommands: {
      get: command('get', -2, ['admin', 'loading'], 'Returns the slow log\'s entries', '[count]', 'O(N) where N is the number of entries returned', (ctx, args) => (args.length > 3 ? errors.arity('slowlog|get') : slowlogGet(ctx, args))),
      len: command('len', 2, ['admin', 'loading'], 'Returns the number of entries in the slow log', '', 'O(1)', (ctx) => serverOf(ctx).slowlog.length),
      reset: command('reset', 2, ['admin', 'loading'], 'Clears all entries from the slow log', '', 'O(N) where N is the number of entries in the slowlog', (ctx) => {
        serverOf(ctx).slowlog.reset();
        return OK;
      }),
      help: command('help', 2, ['loading'], 'Show helpful text about the different subcommands', '', 'O(1)', helpLines(slowlogHelp)),
    },
  },
];
