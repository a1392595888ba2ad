// The RESP server: a net.Server on host:port, the clients it accepts, and the
// server-wide services commands reach through ctx.server (the keyspace, the
// command table and dispatcher, Pub/Sub, WATCH, SLOWLOG, statistics,
// persistence state, live configuration).
//
// Lifecycle (service/main.ts drives it; tests drive it in-process):
//   const server = new RespServer({ config, logger });
//   await server.listen();   // accepting; every data command answers -LOADING
//   await server.open();     // engine + keyspace open; INFO says loading:0
//   ...
//   await server.close({ drain: true });  // stop accepting, finish in-flight
//                                          // commands, sync the WAL, close the engine
//
// Connections: maxclients (lowered to what the file-descriptor limit allows,
// with a warning, as Redis does) refuses the next client with Redis's
// "-ERR max number of clients reached". Timers: the expiry sweep (through the
// dispatcher, so it never splits a command or an EXEC), statistics sampling,
// idle timeouts and soft output limits, and recovery from a write error.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CheckpointInfo, Engine, EngineOptions } from '../../lib/engine/engine.js';
import { openEngine } from '../../lib/engine/open-engine.js';
import { IoError, WriteStoppedError } from '../../lib/errors.js';
import { checkpointFileName, checkpointsDirName } from '../../lib/format/file-names.js';
import { Keyspace, keyspaceCompactionFilter, type KeyState } from '../../lib/keyspace/keyspace.js';
import { stringBytesMaxDefault } from '../../lib/keyspace/metadata.js';
import { pinoLevel, siltVersion, type Parameter, type ServerConfig } from '../config.js';
import { defaultCommandTable, type CommandTable, type ResolvedCommand } from './command-table.js';
import { Connection } from './connection.js';
import { BlockingManager } from './blocking.js';
import { TurnBudget } from './turn-budget.js';
import { EventLoopStats } from './loop-stats.js';
import { Dispatcher } from './dispatcher.js';
import { ErrorReply, type Reply } from './reply.js';
import { PubSubRegistry } from './commands/pubsub.js';
import { SlowLog } from './commands/server.js';
import { WatchRegistry } from './commands/transactions.js';
import { drainTimeoutMs, expirySweepsPerIntervalMax, refusedLingerMs, openFilesMin, reservedFileDescriptors } from '../../lib/limits.js';

/** Statistics sampling and housekeeping interval, ms. */
const cronIntervalMs = 100;

/** An old checkpoint being removed in the background is first renamed to this prefix plus its name (hidden from listings). */
const removingPrefix = '.removing-';

/** Samples kept for instantaneous_ops_per_sec (Redis keeps 16). */
const opsSamples = 16;

/** The Redis version silt reports (INFO redis_version, HELLO): the protocol level its commands follow. */
export const redisCompatibleVersion = '7.2.0';

export interface RespServerOptions {
  config: ServerConfig;
  logger: Logger;
  /** Extra engine options (tests: small memtables, fault-injecting file systems, inline background work). */
  engineOptions?: Partial<EngineOptions>;
  /** Called when a client sends SHUTDOWN; the default closes the server (main.ts also exits). */
  onShutdownRequest?: (reason: string) => void;
}

/** INFO commandstats: one command's (or subcommand's) calls, as Redis counts them. */
export interface CommandStat {
  calls: number;
  /** Microseconds spent in the command (its handler, slices of a sliced read included). */
  usec: number;
  /** Refused before it ran (NOAUTH, a write while writes are refused, a full MULTI queue ...). */
  rejectedCalls: number;
  /** Ran and answered an error. */
  failedCalls: number;
}

/** Kinds of error INFO errorstats counts, as Redis's 128: past it, new kinds are not counted. */
const errorStatsMax = 128;

/** Counters behind INFO stats; CONFIG RESETSTAT zeroes them. */
export class ServerStats {
  commandsProcessed = 0;
  connectionsReceived = 0;
  rejectedConnections = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  errorReplies = 0;
  protocolErrors = 0;
  outputBufferDisconnections = 0;
  queryBufferDisconnections = 0;
  messagesPublished = 0;
  peakMemoryBytes = 0;
  instantaneousOpsPerSecond = 0;
  /** Network input and output over the last samples, KiB/s (Redis's instantaneous_input_kbps / _output_kbps). */
  instantaneousInputKbps = 0;
  instantaneousOutputKbps = 0;

  reset(): void {
    const peak = this.peakMemoryBytes;
    Object.assign(this, new ServerStats());
    this.peakMemoryBytes = peak;
  }
}

/** SAVE/BGSAVE and BGREWRITEAOF state, for INFO persistence and LASTSAVE. */
export interface PersistenceState {
  lastSaveMs: number;
  lastSaveOk: boolean;
  lastSaveDurationMs: number;
  saveStartedMs: number | undefined;
  saveInProgress: boolean;
  saves: number;
  lastCheckpoint: string | undefined;
  changesSinceSave: number;
  compactionInProgress: boolean;
  lastCompactionOk: boolean;
  lastCompactionDurationMs: number;
  compactions: number;
}

export class RespServer {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly version: string;
  readonly redisVersion = redisCompatibleVersion;
  readonly runId = randomBytes(20).toString('hex');
  readonly startTimeMs = Date.now();
  readonly commandTable: CommandTable;
  readonly dispatcher: Dispatcher;
  /** How much request processing one event-loop iteration does, across clients (turn-budget.ts). */
  readonly turnBudget = new TurnBudget();
  /** The event loop's busy time, utilization and stalls (INFO stats). */
  readonly loopStats = new EventLoopStats();
  readonly pubsub = new PubSubRegistry();
  readonly watches: WatchRegistry;
  /** Clients parked by blocking commands (BLPOP ...), served as keys change. */
  readonly blocking: BlockingManager;
  readonly slowlog = new SlowLog();
  readonly stats = new ServerStats();
  /** INFO commandstats, by command name ("client|list" for a subcommand); CONFIG RESETSTAT clears it. */
  readonly commandStats = new Map<string, CommandStat>();
  /** INFO errorstats: error replies by their first word ("ERR", "WRONGTYPE" ...); CONFIG RESETSTAT clears it. */
  readonly errorStats = new Map<string, number>();
  readonly clients = new Map<number, Connection>();
  readonly persistence: PersistenceState;
  engine: Engine | undefined;
  keyspace: Keyspace | undefined;
  /** True until the engine and keyspace are open: data commands answer -LOADING. */
  loading = true;
  /** Why writes are refused (an engine write failed), until the engine reports them working again. */
  writeStoppedReason: string | undefined;
  /** Why the engine was opened read-only (a read-only file system at start), for as long as this process runs; undefined when writable. */
  readOnlyReason: string | undefined;

  readonly #options: RespServerOptions;
  readonly #netServer: Server;
  #nextClientId = 1;
  #maxClients: number;
  /** The engine's bound on open segment files (#openFilesAllowed()). */
  readonly #openFiles: number;
  #fileDescriptorLimit: number | undefined;
  #cron: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweepQueued = false;
  #cronTicks = 0;
  #opsHistory: number[] = [];
  #inputHistory: number[] = [];
  #outputHistory: number[] = [];
  #lastOpsSample = { commands: 0, inputBytes: 0, outputBytes: 0, atMs: Date.now() };
  #closing: Promise<void> | undefined;
  /** The children of `logger` handed to the engine and keyspace (#moduleLogger). */
  readonly #moduleLoggers: Logger[] = [];
  #background = new Set<Promise<unknown>>();
  /** Connections turned away at maxclients whose sockets have not closed yet (#refuse). */
  readonly #refused = new Set<Socket>();

  constructor(options: RespServerOptions) {
    this.#options = options;
    this.config = options.config;
    this.logger = options.logger;
    this.version = siltVersion();
    this.commandTable = defaultCommandTable();
    this.dispatcher = new Dispatcher(this, this.commandTable);
    this.watches = new WatchRegistry((db, key, nowMs) => this.#keyState(db, key, nowMs));
    this.blocking = new BlockingManager({
      runCommand: (clientId, retry, blocked) => this.dispatcher.runRetry(clientId, retry, blocked),
      // A pass the manager schedules itself runs in turn with commands, never inside one.
      schedule: (callback) =>
        queueMicrotask(() => {
          void this.dispatcher.runTask(() => {
            callback();
            return this.blocking.serveReadyKeys() ?? undefined;
          });
        }),
    });
    this.persistence = {
      lastSaveMs: this.startTimeMs,
      lastSaveOk: true,
      lastSaveDurationMs: -1,
      saveStartedMs: undefined,
      saveInProgress: false,
      saves: 0,
      lastCheckpoint: undefined,
      changesSinceSave: 0,
      compactionInProgress: false,
      lastCompactionOk: true,
      lastCompactionDurationMs: -1,
      compactions: 0,
    };
    this.#fileDescriptorLimit = readFileDescriptorLimit();
    this.#openFiles = this.#openFilesAllowed();
    this.#maxClients = this.#clientsAllowed(this.config.maxclients, true);
    // Half-open: a client that sends its FIN right after its requests (`nc -N`) gets its replies (Connection #onEnd).
    this.#netServer = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.#netServer.on('error', (error) => this.logger.error({ err: error }, 'listening socket error'));
  }

  /** Clients accepted at once: maxclients, lowered to what the file-descriptor limit allows. */
  get maxClients(): number {
    return this.#maxClients;
  }

  /** Sockets the listener holds open, clients' and those closing (closeGraceMs); tests. */
  openSockets(): Promise<number> {
    return new Promise((resolve, reject) => this.#netServer.getConnections((error, count) => (error ? reject(error) : resolve(count))));
  }

  /** Where the server listens, once listen() resolved. */
  get address(): AddressInfo | undefined {
    const address = this.#netServer.address();
    return address !== null && typeof address === 'object' ? address : undefined;
  }

  // ------------------------------------------------------------ lifecycle

  /**
   * Starts accepting clients on config.bind:config.port (port 0 picks one).
   * Until open() completes, commands without the 'loading' flag answer -LOADING.
   * @throws the listen error (EADDRINUSE, EACCES ...)
   */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#netServer.once('error', onError);
      this.#netServer.listen({ port: this.config.port, host: this.config.bind, backlog: 511 }, () => {
        this.#netServer.off('error', onError);
        this.#cron = setInterval(() => this.#cronTick(), cronIntervalMs);
        this.#cron.unref();
        this.loopStats.start();
        resolve(this.address!);
      });
    });
  }

  /**
   * Opens the engine (with the keyspace's compaction filter) and the keyspace,
   * then serves data commands.
   * @throws what opening the engine or keyspace throws (LOCKED, CORRUPTION ...)
   */
  async open(): Promise<void> {
    const config = this.config;
    const engineLogger = this.#moduleLogger('engine');
    const engineOptions: EngineOptions = {
      syncPolicy: config.appendfsync,
      memtableBytes: Math.round(config.memtableMb * 1024 * 1024),
      blockCacheBytes: Math.round(config.blockCacheMb * 1024 * 1024),
      maxOpenFiles: this.#openFiles,
      tableCacheBytes: Math.round(config.tableCacheMb * 1024 * 1024),
      walPreallocateBytes: Math.round(config.walPreallocateMb * 1024 * 1024),
      reserveBytes: Math.round(config.reserveMb * 1024 * 1024),
      backgroundNice: config.backgroundNice,
      ...(config.walArchiveHours > 0 || config.walArchiveMb > 0
        ? { walArchive: { ageMs: Math.round(config.walArchiveHours * 3_600_000), bytesMax: Math.round(config.walArchiveMb * 1024 * 1024) } }
        : {}),
      compactionFilter: keyspaceCompactionFilter(),
      logger: engineLogger,
      ...this.#options.engineOptions,
    };
    const engine = await this.#openEngine(engineOptions);
    try {
      const keyspace = await Keyspace.open(engine, {
        databases: config.databases,
        stringBytesMax: stringBytesMaxFor(config.protoMaxBulkLen),
        logger: this.#moduleLogger('keyspace'),
        hooks: {
          onKeyModified: (db, key) => {
            this.watches.keyModified(db, key);
            this.blocking.keyModified(db, key);
          },
          onDbModified: (db, change) => {
            this.watches.dbModified(db, change);
            this.blocking.dbModified(db);
          },
        },
      });
      this.engine = engine;
      this.keyspace = keyspace;
    } catch (error) {
      await engine.close().catch(() => undefined);
      throw error;
    }
    this.loading = false;
    this.persistence.lastSaveMs = Date.now();
    this.#removeLeftoverCheckpoints(join(config.dir, checkpointsDirName));
    this.#sweepTimer = setInterval(() => this.#scheduleSweep(), this.config.expirySweepMs);
    this.#sweepTimer.unref();
  }

  /**
   * Opens the engine for writing; on a read-only file system (EROFS: ext4
   * remounts so after an I/O error) opens the LSM engine read-only instead
   * (no LOCK, nothing written, a torn WAL tail left as it is) and refuses
   * every write with -MISCONF for as long as this process runs: nothing can
   * write the directory meanwhile, and the data stays readable while the
   * disk is looked at (docs/operations.md, "When the disk fills up":
   * "Starting on a read-only file system").
   */
  async #openEngine(options: EngineOptions): Promise<Engine> {
    const config = this.config;
    try {
      return await openEngine(config.engine, config.dir, options);
    } catch (error) {
      const code = error instanceof IoError ? error.errno : (error as { code?: unknown } | undefined)?.code;
      if (code !== 'EROFS' || config.engine !== 'lsm' || options.readOnly === true) throw error;
      const engine = await openEngine(config.engine, config.dir, { ...options, readOnly: true }).catch((readOnlyError: unknown) => {
        this.logger.error({ err: readOnlyError }, 'cannot open the data directory read-only either');
        throw error;
      });
      this.readOnlyReason = `the file system holding ${config.dir} is read-only (${(error as Error).message}); this server serves reads only until it is restarted on a writable one`;
      this.writeStoppedReason = this.readOnlyReason;
      this.logger.error({ err: error, dir: config.dir }, 'the file system is read-only: serving reads only (writes answer -MISCONF); check the disk, remount it read-write, then restart the server');
      return engine;
    }
  }

  /**
   * Stops the server: stops accepting, finishes in-flight commands and sends
   * their replies (drain), or cuts clients off at once; then syncs the WAL and
   * closes the engine. Idempotent.
   */
  close(options: { drain: boolean; timeoutMs?: number } = { drain: true }): Promise<void> {
    this.#closing ??= this.#close(options.drain, options.timeoutMs ?? drainTimeoutMs);
    return this.#closing;
  }

  /** SHUTDOWN from a client: main.ts's lifecycle, or close() when none was given. */
  requestShutdown(reason: string): void {
    this.logger.info({ reason }, 'shutdown requested');
    if (this.#options.onShutdownRequest !== undefined) this.#options.onShutdownRequest(reason);
    else void this.close({ drain: true });
  }

  async #close(drain: boolean, timeoutMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#netServer.close(() => resolve()));
    clearInterval(this.#cron);
    this.loopStats.stop();
    clearInterval(this.#sweepTimer);
    // Blocked clients have nothing in flight: they go at once, unanswered (as Redis closes them at shutdown).
    for (const client of [...this.clients.values()]) if (client.blocked) client.kill('shutdown: blocked');
    this.blocking.clear();
    const clients = [...this.clients.values()];
    if (drain) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([Promise.all([this.dispatcher.whenIdle(), ...clients.map((client) => client.drain())]), timeout]);
      clearTimeout(timer);
    }
    for (const client of [...this.clients.values()]) client.kill(drain ? 'shutdown: drain timed out' : 'shutdown');
    for (const socket of this.#refused) socket.destroy();
    await stopped;
    await Promise.allSettled([...this.#background]);
    const engine = this.engine;
    if (engine !== undefined) {
      try {
        await engine.sync();
      } catch (error) {
        this.logger.error({ err: error }, 'could not sync the WAL at shutdown');
      }
      await engine.close();
    }
  }

  // ------------------------------------------------------------ clients

  #accept(socket: Socket): void {
    this.stats.connectionsReceived++;
    this.turnBudget.noteAccept();
    if (this.#closing !== undefined) {
      socket.destroy();
      return;
    }
    if (this.clients.size >= this.#maxClients) this.#refuse(socket);
    else {
      const client = new Connection(this, socket, this.#nextClientId++);
      this.clients.set(client.id, client);
      this.logger.debug({ client: client.address, id: client.id }, 'client connected');
    }
  }

  /**
   * Turns a connection away at maxclients, as Redis does: the error, then
   * the socket closes. Its input is read and dropped, so the client's close
   * is seen and frees the descriptor (a socket never read never sees it, and
   * each refused client that wrote a command used to keep one for good); one
   * that neither reads nor closes is cut off after refusedLingerMs, and
   * close() cuts off the rest, so that the listener's close can end.
   */
  #refuse(socket: Socket): void {
    this.stats.rejectedConnections++;
    this.#refused.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#refused.delete(socket);
      clearTimeout(timer);
    });
    const timer = setTimeout(() => socket.destroy(), refusedLingerMs);
    timer.unref();
    socket.end('-ERR max number of clients reached\r\n');
    socket.resume();
  }


  /** Forgets a client that is closing: its subscriptions, watched keys and table entry. */
  removeClient(client: Connection): void {
    if (!this.clients.delete(client.id)) return;
    this.logger.debug({ client: client.address, id: client.id }, 'client disconnected');
    this.pubsub.removeClient(client);
    this.watches.unwatchAll(client);
    this.blocking.unblock(client.id, 'disconnect');
    this.dispatcher.forgetClient(client);
    client.multi = undefined;
  }

  // ------------------------------------------------------------ commands

  /** After each command: statistics, the slow log, changes since the last save. */
  recordCommand(client: Connection, resolved: ResolvedCommand, args: readonly Buffer[], durationMs: number, reply: Reply): void {
    if (resolved.spec.flags.includes('write') && !(reply instanceof ErrorReply)) this.persistence.changesSinceSave++;
    const stat = this.#commandStat(resolved.fullName);
    stat.calls++;
    stat.usec += Math.round(durationMs * 1000);
    if (reply instanceof ErrorReply) {
      stat.failedCalls++;
      this.noteError(reply);
    }
    const threshold = this.config.slowlogLogSlowerThan;
    if (threshold < 0) return;
    const micros = durationMs * 1000;
    if (micros >= threshold && this.config.slowlogMaxLen > 0) {
      this.slowlog.add(args, micros, client.address, client.name, this.config.slowlogMaxLen);
    }
  }

  /** A request refused before its command ran (its arity, NOAUTH, a write while writes are refused ...): INFO commandstats and errorstats. */
  noteRejected(fullName: string, reply: ErrorReply): void {
    this.#commandStat(fullName).rejectedCalls++;
    this.noteError(reply);
  }

  /**
   * An error reply: INFO's total_error_replies, and its first word for INFO errorstats, as Redis
   * counts them (at most errorStatsMax kinds). Every error reply a command or a refusal makes
   * comes through here once (recordCommand, noteRejected, the dispatcher's resolve errors).
   */
  noteError(reply: ErrorReply): void {
    this.stats.errorReplies++;
    const space = reply.text.indexOf(' ');
    const kind = space < 0 ? reply.text : reply.text.slice(0, space);
    const count = this.errorStats.get(kind);
    if (count !== undefined) this.errorStats.set(kind, count + 1);
    else if (this.errorStats.size < errorStatsMax) this.errorStats.set(kind, 1);
  }

  #commandStat(name: string): CommandStat {
    let stat = this.commandStats.get(name);
    if (stat === undefined) this.commandStats.set(name, (stat = { calls: 0, usec: 0, rejectedCalls: 0, failedCalls: 0 }));
    return stat;
  }

  /**
   * A write the engine refused or could not make durable. The engine took the
   * batch back, but the keyspace applied its counters and database table in
   * memory at commit, so they are re-read from the engine. An I/O failure
   * also refuses writes up front (-MISCONF) until the engine reports them
   * working again (checked once a second).
   */
  writeFailed(error: unknown): void {
    if (error instanceof WriteStoppedError || error instanceof IoError) {
      const reason = this.engine?.stats().writeError ?? (error as Error).message;
      if (this.writeStoppedReason === undefined) this.logger.error({ reason }, 'writes refused after an I/O error; reads go on');
      this.writeStoppedReason = reason;
    }
    try {
      this.keyspace?.reload();
    } catch (reloadError) {
      this.logger.error({ err: reloadError }, 'could not reload the keyspace after a failed write');
    }
  }

  /** INFO keyspace lines. */
  keyspaceInfo(): { db: number; keys: number; expires: number }[] {
    return this.keyspace?.info() ?? [];
  }

  /** INFO stats counters that come from the keyspace (zero until it is open: nothing was looked up yet). */
  keyspaceCounters(): { hits: number; misses: number; expiredKeys: number } {
    const stats = this.keyspace?.stats;
    return { hits: stats?.hits ?? 0, misses: stats?.misses ?? 0, expiredKeys: stats?.expiredKeys ?? 0 };
  }

  #keyState(db: number, key: Buffer, nowMs: number): KeyState {
    return this.keyspace === undefined ? 'absent' : this.keyspace.keyState(db, key, nowMs);
  }

  // ------------------------------------------------------------ configuration

  /** Why CONFIG SET may not apply `value`, or undefined when it may. */
  checkConfigChange(parameter: Parameter, value: unknown): string | undefined {
    if (parameter.key === 'maxclients') {
      const allowed = this.#clientsAllowed(value as number, false);
      if (allowed < (value as number)) return `The operating system is not able to handle the specified number of clients, try with ${allowed}`;
    }
    return undefined;
  }

  /** A child logger for one module, following CONFIG SET loglevel. */
  #moduleLogger(module: string): Logger {
    const child = this.logger.child({ module });
    this.#moduleLoggers.push(child);
    return child;
  }

  /** Applies a CONFIG SET change, with its side effects. */
  applyConfigChange(parameter: Parameter, value: unknown): void {
    const config = this.config as unknown as Record<string, unknown>;
    config[parameter.key] = value;
    switch (parameter.key) {
      case 'appendfsync':
        this.engine?.setSyncPolicy(this.config.appendfsync);
        break;
      case 'loglevel':
        this.logger.level = pinoLevel(this.config.loglevel);
        // A pino child keeps the level it was made with: set each one too.
        for (const child of this.#moduleLoggers) child.level = this.logger.level;
        break;
      case 'maxclients':
        this.#maxClients = this.#clientsAllowed(this.config.maxclients, false);
        break;
      case 'slowlogMaxLen':
        this.slowlog.trim(this.config.slowlogMaxLen);
        break;
      case 'protoMaxBulkLen':
        // As Redis's checkStringLength: SETRANGE, APPEND and SETBIT grow a string up to the live limit.
        if (this.keyspace !== undefined) this.keyspace.stringBytesMax = stringBytesMaxFor(this.config.protoMaxBulkLen);
        for (const client of this.clients.values()) client.applyConfiguredLimits();
        break;
      case 'clientQueryBufferLimit':
        for (const client of this.clients.values()) client.applyConfiguredLimits();
        break;
      default:
        break;
    }
    this.logger.info({ parameter: parameter.name, value: parameter.name === 'requirepass' ? '(hidden)' : parameter.format(value as never) }, 'CONFIG SET');
  }

  resetStats(): void {
    this.stats.reset();
    this.commandStats.clear();
    this.errorStats.clear();
    const keyspaceStats = this.keyspace?.stats;
    if (keyspaceStats !== undefined) {
      keyspaceStats.hits = 0;
      keyspaceStats.misses = 0;
      keyspaceStats.expiredKeys = 0;
    }
    this.#opsHistory = [];
    this.#inputHistory = [];
    this.#outputHistory = [];
    this.loopStats.reset();
    this.#lastOpsSample = { commands: 0, inputBytes: 0, outputBytes: 0, atMs: Date.now() };
  }

  /**
   * maxclients, lowered to what the file-descriptor limit allows once the
   * engine's share is kept (warning once at startup, as Redis).
   */
  #clientsAllowed(requested: number, warn: boolean): number {
    const limit = this.#fileDescriptorLimit;
    const reserved = reservedFileDescriptors + this.#openFiles;
    if (limit === undefined || requested + reserved <= limit) return requested;
    const allowed = Math.max(1, limit - reserved);
    if (warn) {
      this.logger.warn(
        { requested, fileDescriptorLimit: limit, maxclients: allowed, maxOpenFiles: this.#openFiles },
        `You requested maxclients of ${requested} requiring at least ${requested + reserved} max file descriptors; the limit is ${limit}, so maxclients has been reduced to ${allowed} (raise it with ulimit -n)`,
      );
    }
    return allowed;
  }

  /**
   * The engine's bound on open segment files: max-open-files, lowered when
   * it and maxclients do not both fit the descriptor limit, to a quarter of
   * what the limit leaves (at least openFilesMin); clients get the rest.
   */
  #openFilesAllowed(): number {
    const requested = this.config.maxOpenFiles;
    const limit = this.#fileDescriptorLimit;
    if (limit === undefined || requested + this.config.maxclients + reservedFileDescriptors <= limit) return requested;
    const allowed = Math.min(requested, Math.max(openFilesMin, Math.floor((limit - reservedFileDescriptors) / 4)));
    if (allowed < requested) {
      this.logger.warn(
        { requested, fileDescriptorLimit: limit, maxOpenFiles: allowed },
        `You requested max-open-files of ${requested} beside maxclients of ${this.config.maxclients}; the file descriptor limit is ${limit}, so max-open-files has been reduced to ${allowed} (raise it with ulimit -n)`,
      );
    }
    return allowed;
  }

  /** Segment files the engine may keep open (max-open-files after #openFilesAllowed()). */
  get maxOpenFiles(): number {
    return this.#openFiles;
  }

  // ------------------------------------------------------------ persistence

  /**
   * SAVE / BGSAVE: a checkpoint at <dir>/checkpoints/save-<time>, then the
   * oldest of those beyond checkpoints-keep are removed.
   * @throws when the engine cannot checkpoint (LevelEngine) or the copy fails
   */
  async saveCheckpoint(): Promise<CheckpointInfo> {
    const engine = this.engine;
    if (engine === undefined) throw new Error('Cannot save: the data directory is still loading');
    const persistence = this.persistence;
    persistence.saveInProgress = true;
    const started = Date.now();
    persistence.saveStartedMs = started;
    const parent = join(this.config.dir, checkpointsDirName);
    let name = `save-${new Date(started).toISOString().replace(/[-:.]/g, '')}`;
    for (let suffix = 1; existsSync(join(parent, name)); suffix++) name = `${name.replace(/-\d+$/, '')}-${suffix}`;
    try {
      const info = await engine.checkpoint(join(parent, name));
      persistence.lastSaveOk = true;
      persistence.lastSaveMs = Date.now();
      persistence.saves++;
      persistence.changesSinceSave = 0;
      persistence.lastCheckpoint = name;
      this.logger.info({ checkpoint: info.dir, sequence: info.sequence, linkedFiles: info.linkedFiles, copiedFiles: info.copiedFiles }, 'checkpoint saved');
      this.#pruneCheckpoints(parent);
      return info;
    } catch (error) {
      persistence.lastSaveOk = false;
      this.logger.error({ err: error }, 'checkpoint failed');
      throw error;
    } finally {
      persistence.saveInProgress = false;
      persistence.saveStartedMs = undefined;
      persistence.lastSaveDurationMs = Date.now() - started;
    }
  }

  /** BGSAVE: saveCheckpoint() in the background; the outcome shows in INFO persistence and LASTSAVE. */
  backgroundSave(): void {
    this.#track(this.saveCheckpoint());
  }

  /** BGREWRITEAOF: a full compaction in the background. */
  backgroundCompaction(): void {
    const engine = this.engine;
    if (engine === undefined) return;
    const persistence = this.persistence;
    persistence.compactionInProgress = true;
    const started = Date.now();
    this.#track(
      engine
        .compactRange()
        .then(
          () => {
            persistence.lastCompactionOk = true;
            persistence.compactions++;
            this.logger.info({ durationMs: Date.now() - started }, 'full compaction done');
          },
          (error: unknown) => {
            persistence.lastCompactionOk = false;
            this.logger.error({ err: error }, 'full compaction failed');
          },
        )
        .finally(() => {
          persistence.compactionInProgress = false;
          persistence.lastCompactionDurationMs = Date.now() - started;
        }),
    );
  }

  #track(work: Promise<unknown>): void {
    const settled = work.catch(() => undefined);
    this.#background.add(settled);
    void settled.finally(() => this.#background.delete(settled));
  }

  /**
   * Removes the oldest save-* checkpoints beyond checkpoints-keep. Only
   * complete ones (with their CHECKPOINT file) count: a save that failed
   * half-way (the engine removes its copy, but a crash cannot) is removed
   * too, and never makes a good checkpoint look like an excess one.
   * Called after a save completes, so no other save-* copy is in progress.
   */
  #pruneCheckpoints(parent: string): void {
    let complete: string[];
    let incomplete: string[];
    try {
      const names = readdirSync(parent).filter((name) => name.startsWith('save-')).sort();
      complete = names.filter((name) => existsSync(join(parent, name, checkpointFileName)));
      incomplete = names.filter((name) => !complete.includes(name));
    } catch (error) {
      this.logger.warn({ err: error }, 'could not list checkpoints to prune');
      return;
    }
    const excess = complete.length - this.config.checkpointsKeep;
    for (const name of [...incomplete, ...complete.slice(0, Math.max(0, excess))]) {
      // Renamed at once, removed in the background: a checkpoint can hold the last links to
      // gigabytes of segments compacted away since, and unlinking them took 330 ms of the event loop.
      const doomed = join(parent, `${removingPrefix}${name}`);
      try {
        renameSync(join(parent, name), doomed);
      } catch (error) {
        this.logger.warn({ err: error, checkpoint: name }, 'could not remove an old checkpoint');
        continue;
      }
      this.#removeInBackground(doomed, name, incomplete.includes(name) ? 'incomplete checkpoint removed' : 'old checkpoint removed');
    }
  }

  /** Removes checkpoints a pruning left half-removed when the server stopped (renamed `.removing-*`). */
  #removeLeftoverCheckpoints(parent: string): void {
    let names: string[];
    try {
      names = existsSync(parent) ? readdirSync(parent).filter((name) => name.startsWith(removingPrefix)) : [];
    } catch (error) {
      this.logger.warn({ err: error }, 'could not list checkpoints');
      return;
    }
    for (const name of names) this.#removeInBackground(join(parent, name), name.slice(removingPrefix.length), 'old checkpoint removed (its removal had been cut short)');
  }

  #removeInBackground(path: string, name: string, message: string): void {
    this.#track(
      rm(path, { recursive: true, force: true }).then(
        () => this.logger.info({ checkpoint: name }, message),
        (error: unknown) => this.logger.warn({ err: error, checkpoint: name, path }, 'could not remove an old checkpoint; delete it by hand'),
      ),
    );
  }

  // ------------------------------------------------------------ timers

  #cronTick(): void {
    this.#cronTicks++;
    this.loopStats.tick();
    const now = Date.now();
    const sample = this.#lastOpsSample;
    const stats = this.stats;
    const elapsed = now - sample.atMs;
    if (elapsed > 0) {
      // Rates per second averaged over the last opsSamples ticks, as Redis's trackInstantaneousMetric.
      stats.instantaneousOpsPerSecond = Math.round(trackRate(this.#opsHistory, stats.commandsProcessed - sample.commands, elapsed));
      stats.instantaneousInputKbps = trackRate(this.#inputHistory, stats.netInputBytes - sample.inputBytes, elapsed) / 1024;
      stats.instantaneousOutputKbps = trackRate(this.#outputHistory, stats.netOutputBytes - sample.outputBytes, elapsed) / 1024;
    }
    this.#lastOpsSample = { commands: stats.commandsProcessed, inputBytes: stats.netInputBytes, outputBytes: stats.netOutputBytes, atMs: now };
    if (this.#cronTicks % 10 !== 0) return;
    // Once a second: memory peak, idle clients, soft output limits, write recovery.
    const memory = process.memoryUsage();
    this.stats.peakMemoryBytes = Math.max(this.stats.peakMemoryBytes, memory.heapUsed + memory.external);
    const timeoutMs = this.config.timeout * 1000;
    for (const client of [...this.clients.values()]) {
      if (timeoutMs > 0 && client.subscriptionCount === 0 && !client.blocked && now - client.lastInteractionMs > timeoutMs) {
        client.kill('idle timeout');
        continue;
      }
      client.checkLimits();
    }
    if (this.writeStoppedReason !== undefined && this.engine !== undefined && this.readOnlyReason === undefined) {
      const current = this.engine.stats().writeError;
      if (current === undefined) {
        this.logger.info({ reason: this.writeStoppedReason }, 'writes accepted again');
        this.writeStoppedReason = undefined;
      } else {
        // The engine's latest reason (its retry fails on another file, or for another cause), as Redis's
        // MISCONF and INFO show the last write error, not the first.
        this.writeStoppedReason = current;
      }
    }
  }

  /** Queues one expiry sweep through the dispatcher (never two at once). */
  #scheduleSweep(): void {
    if (this.#sweepQueued || this.keyspace === undefined) return;
    this.#sweepQueued = true;
    void this.dispatcher.runTask(() => this.#sweep(0));
  }

  #sweep(round: number): void | Promise<void> {
    const keyspace = this.keyspace;
    const engine = this.engine;
    if (keyspace === undefined || engine === undefined || this.writeStoppedReason !== undefined || this.#closing !== undefined) {
      this.#sweepQueued = false;
      return;
    }
    // It must not delete a key a keyed walk is about to write: it runs once no key is locked, before new walks start.
    if (this.dispatcher.keysLocked) {
      this.dispatcher.whenUnlocked(() => this.#sweep(round));
      return;
    }
    const context = {
      nowMs: Date.now(),
      write: (batch: Parameters<Engine['write']>[0]) => {
        engine.write(batch).catch((error: unknown) => {
          this.logger.error({ err: error }, 'expiry sweep write failed');
          this.writeFailed(error);
        });
      },
    };
    // The keyspace counts the keys a sweep expires (expired_keys) when it commits them.
    const done = (result: { expired: number; more: boolean }): void => {
      if (result.more && round + 1 < expirySweepsPerIntervalMax) {
        // More keys are due: sweep again soon, letting commands in between.
        setImmediate(() => void this.dispatcher.runTask(() => this.#sweep(round + 1)));
      } else {
        this.#sweepQueued = false;
      }
    };
    const result = keyspace.sweepExpired(context, this.config.expirySweepKeys);
    if (result instanceof Promise) {
      return result.then(done, (error: unknown) => {
        this.#sweepQueued = false;
        throw error;
      });
    }
    done(result);
  }
}

// ---------------------------------------------------------------- helpers

/** Adds one sample (`delta` over `elapsedMs`, per second) to `history` (at most opsSamples) and returns their mean. */
function trackRate(history: number[], delta: number, elapsedMs: number): number {
  history.push((delta * 1000) / elapsedMs);
  if (history.length > opsSamples) history.shift();
  return history.reduce((sum, value) => sum + value, 0) / history.length;
}

/** The soft "Max open files" limit from /proc/self/limits (Linux); undefined elsewhere. */
export function readFileDescriptorLimit(): number | undefined {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8');
    const line = text.split('\n').find((candidate) => candidate.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    if (soft === undefined || soft === 'unlimited') return undefined;
    const value = Number(soft);
    return Number.isSafeInteger(value) ? value : undefined;
  } catch {
    return undefined; // not Linux: no check, as on systems where Redis cannot query the limit
  }
}

/** The largest string value under proto-max-bulk-len: that many bytes, less the metadata record's header at the largest. */
function stringBytesMaxFor(protoMaxBulkLen: number): number {
  return Math.min(protoMaxBulkLen, stringBytesMaxDefault);
}
