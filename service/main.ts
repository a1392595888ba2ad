#!/usr/bin/env node
// silt-server: the process lifecycle around RespServer (service/resp/server.ts).
//
// Start: read the configuration (flags > SILT_* environment > config file >
// defaults; a bad value exits 2), set up pino logging, listen (clients that
// connect while the data directory opens get -LOADING and INFO loading:1),
// open the engine with the keyspace's compaction filter, then log one
// startup line: version, port, data directory, fsync policy, and what
// recovery did (WAL records replayed, bytes truncated, time taken).
//
// Stop, in this order (as in rocicorp/mono's life-cycle.ts and Fastify's
// preClose/onClose hooks): stop accepting, drain connections (finish the
// commands in flight and send their replies), make the WAL durable, close
// the engine, exit 0.
// - SIGTERM, SIGINT and SHUTDOWN from a client drain (bounded by a timeout);
// - SIGQUIT skips draining: clients are cut off, but the WAL is still synced
//   and the engine closed, so nothing acknowledged is lost;
// - a second signal while stopping exits at once (code 1);
// - SIGHUP reopens --logfile (log rotation) and does not stop the server.
// Exit codes: 0 clean stop, 1 failure (cannot listen, cannot open the data
// directory, a bug), 2 bad configuration.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { ConfigError, helpText, misspelledVariables, pinoLevel, readConfig, siltVersion, type ServerConfig } from './config.js';
import { openFailureAdvice } from './open-failure.js';
import { RespServer } from './resp/server.js';

/** How long a fatal error waits for the WAL sync before exiting, ms. */
const fatalSyncTimeoutMs = 2000;

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const version = siltVersion();
  let config: ServerConfig;
  try {
    const command = readConfig(argv, env);
    if (command.kind === 'help') {
      process.stdout.write(helpText(version));
      return;
    }
    if (command.kind === 'version') {
      process.stdout.write(`silt-server ${version}\n`);
      return;
    }
    config = command.config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`silt-server: ${error.message}\nRun silt-server --help for the list of parameters.\n`);
    process.exitCode = 2;
    return;
  }

  let logger: Logger;
  let reopenLog: () => void;
  try {
    ({ logger, reopen: reopenLog } = createLogger(config));
  } catch (error) {
    process.stderr.write(`silt-server: cannot open the log file "${config.logfile}": ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  process.on('uncaughtException', (error) => {
    try {
      logger.fatal({ err: error }, 'uncaught exception');
    } catch {
      writeStderr(`silt-server: uncaught exception: ${error.stack ?? String(error)}\n`);
    }
    process.exit(1);
  });

  try {
    mkdirSync(config.dir, { recursive: true });
  } catch (error) {
    logger.fatal({ err: error, dir: config.dir }, 'cannot create the data directory');
    process.exit(1);
  }

  let stopping = false;
  const server = new RespServer({ config, logger, onShutdownRequest: (reason) => void stop(reason, true) });
  server.dispatcher.onFatal = (error) => {
    logger.fatal({ err: error }, 'assertion failed: exiting');
    const sync = server.engine?.sync() ?? Promise.resolve();
    const timeout = new Promise((resolveTimeout) => setTimeout(resolveTimeout, fatalSyncTimeoutMs).unref());
    void Promise.race([sync, timeout]).finally(() => process.exit(1));
  };

  async function stop(reason: string, drain: boolean): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, drain }, 'shutting down');
    try {
      await server.close({ drain });
      logger.info({}, 'silt stopped');
      process.exit(0);
    } catch (error) {
      logger.fatal({ err: error }, 'could not shut down cleanly');
      process.exit(1);
    }
  }

  const onSignal = (signal: NodeJS.Signals, drain: boolean): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal while stopping: exiting now');
      process.exit(1);
    }
    void stop(signal, drain);
  };
  process.on('SIGTERM', () => onSignal('SIGTERM', true));
  process.on('SIGINT', () => onSignal('SIGINT', true));
  process.on('SIGQUIT', () => onSignal('SIGQUIT', false));
  // SIGHUP (logrotate's postrotate) reopens --logfile, so that a rotated log is let go of; it no longer
  // ends the process (Node's default), which left a stale LOCK and no drain.
  process.on('SIGHUP', () => {
    try {
      reopenLog();
      logger.info({ signal: 'SIGHUP', logfile: config.logfile === '' ? null : config.logfile }, config.logfile === '' ? 'SIGHUP: logging to standard output, nothing to reopen' : 'SIGHUP: log file reopened');
    } catch (error) {
      writeStderr(`silt-server: cannot reopen the log file "${config.logfile}": ${(error as Error).message}; logging goes on to the old one\n`);
    }
  });

  let address;
  try {
    address = await server.listen();
  } catch (error) {
    logger.fatal({ err: error, bind: config.bind, port: config.port }, 'cannot listen');
    process.exit(1);
  }
  logger.info({ bind: address.address, port: address.port, dir: resolve(config.dir) }, 'listening; loading the data directory');
  for (const [variable, meant] of misspelledVariables(env)) {
    logger.warn({ variable, meant }, `environment variable ${variable} names no parameter and was ignored; did you mean ${meant}?`);
  }

  try {
    await server.open();
  } catch (error) {
    const dir = resolve(config.dir);
    const advice = openFailureAdvice(error, dir);
    logger.fatal({ err: error, dir, ...(advice === undefined ? {} : { advice }) }, 'cannot open the data directory');
    // Also on stderr, in words: what a service manager's journal shows when the log goes to a file.
    process.stderr.write(`silt-server: cannot open the data directory "${dir}": ${(error as Error).message}\n${advice === undefined ? '' : `${advice}\n`}`);
    await server.close({ drain: false }).catch(() => undefined);
    process.exit(1);
  }
  if (stopping) return;
  const recovery = server.engine!.recovery;
  logger.info(
    {
      version,
      port: address.port,
      bind: address.address,
      dir: resolve(config.dir),
      appendfsync: config.appendfsync,
      engine: config.engine,
      databases: config.databases,
      maxclients: server.maxClients,
      recovery: {
        walFilesReplayed: recovery.walFilesReplayed,
        walRecordsReplayed: recovery.walRecordsReplayed,
        walBytesTruncated: recovery.walBytesTruncated,
        walTruncatedFile: recovery.walTruncatedFile,
        durationMs: Math.round(recovery.durationMs),
      },
    },
    `silt ${version} ready to accept connections on ${address.address}:${address.port}`,
  );
}

/**
 * Log lines kept in memory while the log cannot be written (a full disk);
 * later ones are dropped until it can, and then counted in the log.
 */
const logBacklogBytesMax = 1 << 20;

/**
 * Opens the log (standard output, or --logfile appended to). Synchronous
 * writes: log lines are few (no per-command logging), and every one is out
 * before process.exit. A log that cannot be written (a full disk, EIO) must
 * not stop the server, as in Redis: the failure is said once on stderr,
 * lines wait in a bounded backlog and then are dropped, and the first line
 * written afterwards says how many were lost.
 * `reopen` opens --logfile again by its name (after a rotation moved it).
 * @throws when --logfile cannot be opened (the caller exits 1)
 */
function createLogger(config: ServerConfig): { logger: Logger; reopen: () => void } {
  const where = config.logfile === '' ? 'standard output' : `"${config.logfile}"`;
  if (config.logfile !== '') {
    mkdirSync(dirname(config.logfile), { recursive: true });
    closeSync(openSync(config.logfile, 'a')); // fails here, at once, when it cannot be opened
  }
  // By name, not descriptor, for a file: reopen() opens the name again (SonicBoom reopens names only).
  const destination = pino.destination(config.logfile === '' ? { fd: 1, sync: true, maxLength: logBacklogBytesMax } : { dest: config.logfile, append: true, sync: true, maxLength: logBacklogBytesMax });
  let failure: string | undefined;
  let dropped = 0;
  destination.on('error', (error: Error) => {
    if (failure !== undefined) return;
    failure = error.message;
    writeStderr(`silt-server: cannot write the log to ${where}: ${failure}; lines wait in memory (up to ${logBacklogBytesMax >> 20} MiB), then are dropped, until it can be written again\n`);
  });
  destination.on('drop', () => dropped++);
  destination.on('write', () => {
    if (failure === undefined) return;
    const cause = failure;
    const lost = dropped;
    failure = undefined;
    dropped = 0;
    // Not from inside the destination's own write.
    setImmediate(() => logger.warn({ cause, droppedLines: lost }, 'the log can be written again'));
  });
  const logger = pino({ level: pinoLevel(config.loglevel), base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
  const reopen = (): void => {
    if (config.logfile !== '') destination.reopen();
  };
  return { logger, reopen };
}

/** Writes to stderr, ignoring failure (it may be on the same full disk). */
function writeStderr(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // Nowhere left to say it.
  }
}

main(process.argv.slice(2), process.env).catch((error: unknown) => {
  process.stderr.write(`silt-server: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
