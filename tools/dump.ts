// `silt dump DIR`: every live Redis key of a stopped data directory (or a
// checkpoint), with its type, expiry and contents, as NDJSON or as the Redis
// commands that recreate it (RESP, as `redis-cli --pipe` sends). `silt load`
// (tools/load.ts) reads both back; dump -> load -> dump is byte-identical.
//
// Consistency: the directory is opened read-only (LsmEngine, no LOCK taken,
// nothing written, a torn WAL tail left alone) and every read goes through one
// engine snapshot, so the dump is the state at one sequence number. A live
// directory is refused: dump its checkpoint instead (BGSAVE). "Live" keys are
// those not expired at the moment the dump starts (`nowMs`), as a client
// would have seen them then.
//
// Decoding follows docs/format.md, "Keyspace encoding", directly (the `D`
// table maps logical to physical dbs; `M` records hold type, expiry, version
// and size; a collection's members are the `S`/`Z` keys under its version),
// so dump reads every type without going through the command layer:
//
//   string  M payload                          hash  S field -> value
//   set     S member -> (empty)                list  S index u64 -> element, index in [head, tail) of M payload
//   zset    Z score member -> (empty), in Redis order (score, then member bytes)
//
// Output order is fixed (logical db ascending, then key bytes ascending, then
// members in key order; zsets by score then member), so equal data dumps to
// equal bytes.
//
// Both streams are specified byte for byte in docs/format.md, "Dump streams"
// (tested against its example). NDJSON, one object per key, no header line
// (format version 1, dumpFormatVersion):
//
//   {"db":0,"key":"user:1","type":"hash","expireAt":1763000000000,"value":{"name":"ann"}}
//
// - a key, string value, field, member or element is a JSON string when its
//   bytes are valid UTF-8, else {"base64":"..."};
// - expireAt is the absolute expiry in ms since the epoch, or null;
// - values: string: one string; list: array in list order; set: array in
//   member byte order; hash: object {field: value} in field byte order, or,
//   when a field is not valid UTF-8 (object keys must be strings), an array
//   of [field, value] pairs; zset: array of [member, score] pairs, scores as
//   JSON numbers, "inf" or "-inf".
//
// RESP: per db a SELECT, then per key DEL, the command(s) that build the
// value (SET, RPUSH, HSET, SADD, ZADD; collections in commands of at most
// respElementsPerCommand elements) and PEXPIREAT when it expires.
//
// A key that cannot be decoded (damaged metadata, a list element missing) is
// left out, reported on stderr and in the report, and the exit code is 1: the
// dump is then incomplete, and `silt verify` says more.
//
// An unreadable segment block (a checksum that fails, say) does not stop the
// dump. When walking a db's keys runs into one, the block is located as
// verify and recover locate it (tools/segment-scan.ts: its offset in the
// index, its key range from the separators) and the walk resumes after the
// block's last key: the keys from the last one read up to there are left out
// and listed as a range (`unreadable` in the report), the rest is dumped, and
// the exit code is 1. A key whose own members sit in such a block is left
// out by name, as any other key that cannot be read.
//
// The progress bar (stderr, on a terminal) counts the keys walked against
// the keys the dbs' counters hold. The keys of an unreadable range are not
// met one by one: when a db's walk ends, what its counters hold beyond the
// keys walked counts as done, so the bar ends at 100%. What was left out is
// written above the bar (Progress.writeLine), never into its line.

import { isUtf8 } from 'node:buffer';
import type { Snapshot } from '../lib/engine/engine.js';
import { LsmEngine, type SyncEntryIterator } from '../lib/engine/lsm-engine.js';
import { CorruptionError, KvError } from '../lib/errors.js';
import { dirName, type FileHandle, type FileSystem } from '../lib/fs/file-system.js';
import { counterKey, dbTableKey, decodeMetadataKey, decodeOrderedDouble, metadataKey, prefixEnd, readUint64BE, scorePrefix, subkeyPrefix } from '../lib/keyspace/key-encoding.js';
import { decodeCounters, decodeTable, type DbTable } from '../lib/keyspace/db-table.js';
import { literalPrefix, matchesEverything, stringMatch } from '../lib/keyspace/glob.js';
import { KeyType, checkRecord, isExpired, metadataHeaderBytes, recordExpireMs, recordSize, recordType, recordVersion, stringValue } from '../lib/keyspace/metadata.js';
import { defaultFileSystem, isInside, refuseLiveDirectory, refuseOutputInDataDirectory, requireDirectory, requireSiltData } from './data-dir.js';
import { Progress } from './progress.js';
import { formatBytes, formatDuration, plural, quoteBytes, relativeFile, renderKey, type KeyRange } from './render.js';
import { blockKeyRange, scanSegment, segmentKeyRange } from './segment-scan.js';
import { ExitCode, runTool, ToolError, writeJson, writeLine, type OutputStream, type ToolIo, type ToolResult } from './tool-io.js';

// ---------------------------------------------------------------- constants

/** Output formats. */
export const dumpFormats = ['ndjson', 'resp'] as const;
export type DumpFormat = (typeof dumpFormats)[number];

/**
 * The NDJSON stream's format version (docs/format.md, "Dump streams").
 * Version 1 writes no header line; a later version that changes what a line
 * means will start with {"format": dumpFormatName, "version": N}, which
 * `silt load` already recognises and refuses when N is not a version it reads.
 */
export const dumpFormatVersion = 1;
export const dumpFormatName = 'silt-dump';

/** Most elements (members, fields, elements) one RESP command of a dump carries. */
export const respElementsPerCommand = 1024;

/** Bytes of output gathered before a write to the file or stream. */
const outputChunkBytes = 1024 * 1024;

/** Problems listed one by one; past this only counted. */
const problemsListedMax = 100;

/** Bytes of a list's metadata payload (lib/keyspace/list.ts: head u64, tail u64). */
const listPayloadBytes = 16;

const zeroByte = Buffer.of(0);

// ---------------------------------------------------------------- types

/** Redis type names, as TYPE answers. */
export type KeyTypeName = 'string' | 'hash' | 'list' | 'set' | 'zset';

/** A key's value, in the order dump writes it. Buffers are owned by the holder. */
export type DumpedValue =
  | { type: 'string'; value: Buffer }
  | { type: 'hash'; value: [field: Buffer, value: Buffer][] }
  | { type: 'list'; value: Buffer[] }
  | { type: 'set'; value: Buffer[] }
  | { type: 'zset'; value: [member: Buffer, score: number][] };

/** One Redis key: where it lives, when it expires (ms since the epoch, or null), and its value. */
export type DumpedKey = { db: number; key: Buffer; expireAt: number | null } & DumpedValue;

/** A key dump could not read. */
export interface DumpProblem {
  db: number;
  /** The key, hex. */
  key: string;
  message: string;
}

/** A key range dump could not read (an unreadable segment block) and left out. */
export interface DumpUnreadable {
  db: number;
  /** The damaged file, relative to DIR, and the offset of the unreadable part. */
  file: string;
  offset: number;
  message: string;
  /** Redis keys (hex) of `db` left out: after `after` (null: from the db's first key) up to `through` inclusive (null: to the db's end). */
  after: string | null;
  through: string | null;
  /** The unreadable block's engine key range, as verify reports it. */
  keyRange: KeyRange | null;
}

export interface DumpReport {
  tool: 'dump';
  dir: string;
  format: DumpFormat;
  /** The output file, or null for stdout. */
  out: string | null;
  /** Time the dump stands for: keys expired at it are left out, ms since the epoch. */
  nowMs: number;
  keys: number;
  /** The --match pattern (hex), or null. */
  match: string | null;
  /** Keys the dbs dumped hold (their counters: DBSIZE, expired keys included), matching or not. */
  keysInDbs: number;
  /** What the operator should notice although nothing is wrong (a --match that matched no key); also on stderr. */
  warnings: string[];
  /** Keys per logical db, for the dbs that have any. */
  dbs: { db: number; keys: number }[];
  /** Keys present but expired at nowMs (awaiting the server's sweep): not dumped. */
  expiredSkipped: number;
  /** Bytes of output written. */
  bytes: number;
  /** Keys left out because they could not be read (the first problemsListedMax). */
  problems: DumpProblem[];
  problemCount: number;
  /** Key ranges left out because a segment block could not be read (the first problemsListedMax). */
  unreadable: DumpUnreadable[];
  unreadableCount: number;
  durationMs: number;
}

export interface DumpOptions {
  dir: string;
  /** Only this logical db. */
  db?: number;
  /** Only keys matching this glob (Redis KEYS/SCAN MATCH rules). */
  match?: Buffer | string;
  /** Default ndjson. */
  format?: DumpFormat;
  /** Write here (a new file, outside DIR) instead of stdout. */
  out?: string;
  /** The report as JSON on stdout (only with --out: otherwise stdout carries the dump). */
  json?: boolean;
  /** Default node:fs. */
  fs?: FileSystem;
  /** The moment the dump stands for (default: now). */
  nowMs?: number;
}

// ---------------------------------------------------------------- the tool

/**
 * Dumps the live keys of a stopped directory or a checkpoint.
 * @returns exit 0 dumped, 1 some keys could not be read (listed; the rest was dumped), 2 could not run
 */
export function dump(options: DumpOptions, io: ToolIo): Promise<ToolResult<DumpReport>> {
  const json = options.json === true;
  return runTool('dump', io, json, async () => {
    const fs = options.fs ?? defaultFileSystem();
    const format = options.format ?? 'ndjson';
    if (!dumpFormats.includes(format)) throw new ToolError('USAGE', `Cannot dump as "${String(format)}": use ndjson or resp`);
    if (json && options.out === undefined) throw new ToolError('USAGE', 'Cannot print a JSON report on stdout while the dump goes there: give --out FILE with --json');
    const { dir } = options;
    requireDirectory(fs, dir);
    refuseLiveDirectory(
      fs,
      dir,
      'dump',
      'A live directory changes while it is read, so dump a checkpoint of it instead: BGSAVE, then `silt dump DIR/checkpoints/NAME`',
    );
    requireSiltData(fs, dir, 'dump');
    if (options.out !== undefined) checkOutputFile(fs, options.out, dir);
    const started = performance.now();
    const engine = await openForReading(fs, dir, 'dump');
    let report: DumpReport;
    try {
      const sink = options.out === undefined ? new StreamSink(io.stdout) : FileSink.create(fs, options.out);
      try {
        report = await dumpEngine(engine, { ...options, format, nowMs: options.nowMs ?? Date.now() }, sink, io);
        await sink.finish();
      } catch (error) {
        sink.abandon();
        throw error;
      }
    } finally {
      await engine.close();
    }
    report.durationMs = Math.round(performance.now() - started);
    if (json) {
      writeJson(io.stdout, report);
    } else {
      printSummary(options.out === undefined ? io.stderr : io.stdout, report);
      for (const warning of report.warnings) writeLine(io.stderr, `silt dump: warning: ${warning}`);
    }
    return { exitCode: report.problemCount > 0 || report.unreadableCount > 0 ? ExitCode.damaged : ExitCode.ok, report };
  });
}

/**
 * Opens `dir` read-only for a tool that reads the keyspace.
 * @throws ToolError CORRUPTION (exit 1) when the engine cannot open it, UNSUPPORTED_VERSION (exit 2)
 */
export async function openForReading(fs: FileSystem, dir: string, tool: string): Promise<LsmEngine> {
  try {
    return await LsmEngine.open(dir, { readOnly: true, fs });
  } catch (error) {
    if (error instanceof CorruptionError) {
      throw new ToolError('CORRUPTION', `Cannot ${tool} "${dir}": ${error.message}; \`silt verify\` lists the damage and \`silt recover\` salvages it`, { cause: error, exitCode: ExitCode.damaged });
    }
    throw error;
  }
}

/** Where dump output goes: written in order, with back-pressure. */
interface Sink {
  write(text: string | Buffer): Promise<void>;
  readonly bytes: number;
  finish(): Promise<void>;
  /** After a failure: drop what was written (a file), keep the stream as it is. */
  abandon(): void;
}

/** Runs the dump on an open engine, writing to `sink`. */
async function dumpEngine(engine: LsmEngine, options: DumpOptions & { format: DumpFormat; nowMs: number }, sink: Sink, io: ToolIo): Promise<DumpReport> {
  const snapshot = engine.snapshot();
  try {
    const reader = new KeyspaceReader(engine, snapshot, options.fs ?? defaultFileSystem());
    let table: DbTable | undefined;
    try {
      table = reader.table();
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      throw new ToolError('CORRUPTION', `Cannot dump "${engine.dir}": its database table cannot be read (${error.message}); \`silt verify\` lists the damage and \`silt recover\` salvages it`, { cause: error, exitCode: ExitCode.damaged });
    }
    if (table === undefined) throw new ToolError('NOT_FOUND', `Cannot dump "${engine.dir}": it holds no Redis keyspace (no database table); was it written by the silt server?`);
    const dbs = selectDbs(table, options.db);
    const pattern = options.match === undefined ? undefined : Buffer.isBuffer(options.match) ? options.match : Buffer.from(options.match, 'utf8');
    const report: DumpReport = {
      tool: 'dump',
      dir: engine.dir,
      format: options.format,
      out: options.out ?? null,
      nowMs: options.nowMs,
      keys: 0,
      match: pattern === undefined ? null : pattern.toString('hex'),
      keysInDbs: 0,
      warnings: [],
      dbs: [],
      expiredSkipped: 0,
      bytes: 0,
      problems: [],
      problemCount: 0,
      unreadable: [],
      unreadableCount: 0,
      durationMs: 0,
    };
    // Keys each db holds (its counters): the bar's total, and what a db's walk is counted as when it ends.
    const dbKeysStored = new Map(dbs.map((db) => [db, reader.counters(table.physIds[db]!)[0]]));
    report.keysInDbs = [...dbKeysStored.values()].reduce((sum, keys) => sum + keys, 0);
    const progress = new Progress({
      stream: io.stderr,
      label: `dump ${engine.dir}`,
      // With --match only the matching keys are met: their number is unknown, so no percentage.
      total: pattern === undefined ? report.keysInDbs : undefined,
      unit: 'keys',
      enabled: io.stderr.isTTY === true && options.json !== true,
    });
    const encoder = options.format === 'ndjson' ? ndjsonEncoder : new RespEncoder();
    // An encoder gives all strings (NDJSON) or all buffers (RESP): strings are joined and encoded
    // once per chunk, which costs far less than a Buffer per line.
    let buffered: (string | Buffer)[] = [];
    let bufferedBytes = 0;
    const flush = async (): Promise<void> => {
      if (buffered.length === 0) return;
      const parts = buffered;
      buffered = [];
      bufferedBytes = 0;
      const chunk = parts.every((part) => typeof part === 'string')
        ? Buffer.from(parts.join(''), 'utf8')
        : Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : part)));
      await sink.write(chunk);
    };
    try {
      for (const db of dbs) {
        let dbKeys = 0;
        let walked = 0;
        for (const item of reader.keys(db, table.physIds[db]!, pattern, options.nowMs)) {
          progress.advance(1);
          walked++;
          if (item.kind === 'expired') {
            report.expiredSkipped++;
            continue;
          }
          if (item.kind === 'unreadable') {
            report.unreadableCount++;
            if (report.unreadable.length < problemsListedMax) report.unreadable.push(item.unreadable);
            progress.writeLine(io.stderr, `silt dump: left out ${describeUnreadable(item.unreadable)}`);
            continue;
          }
          if (item.kind === 'problem') {
            report.problemCount++;
            if (report.problems.length < problemsListedMax) report.problems.push(item.problem);
            progress.writeLine(io.stderr, `silt dump: left out key ${renderKey(Buffer.from(item.problem.key, 'hex'))} of db ${db}: ${item.problem.message}`);
            continue;
          }
          const text = encoder.encode(item.key);
          buffered.push(text);
          bufferedBytes += text.length;
          dbKeys++;
          if (bufferedBytes >= outputChunkBytes) await flush();
        }
        if (dbKeys > 0) report.dbs.push({ db, keys: dbKeys });
        report.keys += dbKeys;
        // The keys of an unreadable range were not met one by one: the db's walk is over, so they count as
        // done (the bar reaches 100% with the last db).
        if (pattern === undefined) progress.advance(Math.max(0, dbKeysStored.get(db)! - walked));
      }
      await flush();
    } finally {
      progress.finish();
    }
    report.bytes = sink.bytes;
    if (pattern !== undefined && report.keys === 0) report.warnings.push(noMatchWarning(pattern, dbs, report));
    return report;
  } finally {
    snapshot.release();
  }
}

function selectDbs(table: DbTable, db: number | undefined): number[] {
  const count = table.physIds.length;
  if (db === undefined) return Array.from({ length: count }, (_, index) => index);
  if (!Number.isInteger(db) || db < 0 || db >= count) throw new ToolError('USAGE', `Cannot dump db ${db}: the directory has dbs 0 to ${count - 1}`);
  return [db];
}

// ---------------------------------------------------------------- reading the keyspace

/** What reading one `M` entry gives. */
export type ReadItem = { kind: 'key'; key: DumpedKey } | { kind: 'expired' } | { kind: 'problem'; problem: DumpProblem } | { kind: 'unreadable'; unreadable: DumpUnreadable };

/**
 * Reads Redis keys from an engine at one snapshot, decoding the documented
 * encoding. Keys and values returned are read-only: views of the iterator's
 * entries (keys are the iterator's copies; values share memtable and cached
 * block memory, which is never modified: lib/engine/user-iterator.ts), valid
 * for as long as the caller keeps them. Dump encodes them at once, so copying
 * every value would only cost time.
 */
export class KeyspaceReader {
  readonly #engine: LsmEngine;
  readonly #snapshot: Snapshot;
  readonly #fs: FileSystem;
  /** Unreadable parts already located, by file and offset. */
  readonly #located = new Map<string, { range: KeyRange | null; largest: Buffer | undefined }>();

  constructor(engine: LsmEngine, snapshot: Snapshot, fs: FileSystem = defaultFileSystem()) {
    this.#engine = engine;
    this.#snapshot = snapshot;
    this.#fs = fs;
  }

  /** The database table, or undefined when there is none. @throws CorruptionError when it is damaged */
  table(): DbTable | undefined {
    const value = this.#engine.get(dbTableKey, { snapshot: this.#snapshot });
    return value === undefined ? undefined : decodeTable(value);
  }

  /** [keys, expires] of a physical db (0, 0 when absent or unreadable: only for progress). */
  counters(physId: number): [keys: number, expires: number] {
    try {
      const value = this.#engine.get(counterKey(physId), { snapshot: this.#snapshot });
      return value === undefined ? [0, 0] : decodeCounters(value, physId);
    } catch {
      return [0, 0]; // a damaged counter only costs the progress bar its total; verify reports it
    }
  }

  /**
   * Every key of logical `db` (physical `physId`) matching `pattern`, in key order. An unreadable
   * segment block met on the way is one `unreadable` item (the keys left out), and the walk
   * resumes after the block's last key.
   */
  *keys(db: number, physId: number, pattern: Buffer | undefined, nowMs: number): Generator<ReadItem> {
    const glob = pattern === undefined || matchesEverything(pattern) ? undefined : pattern;
    const prefix = metadataKey(physId, glob === undefined ? Buffer.alloc(0) : literalPrefix(glob));
    const end = prefixEnd(prefix);
    const dbPrefix = metadataKey(physId, Buffer.alloc(0));
    /** Resume strictly after this engine key (undefined: from the prefix). */
    let resumeAfter: Buffer | undefined;
    /** The last engine key read. */
    let lastKey: Buffer | undefined;
    for (;;) {
      // Past a block: from the smallest key above its last one (key + 0x00). `gt` would seek to that
      // last key itself, in the unreadable block, and read it again.
      const bounds = { gte: resumeAfter === undefined ? prefix : Buffer.concat([resumeAfter, zeroByte]) };
      let iterator: SyncEntryIterator;
      try {
        iterator = this.#engine.iteratorSync({ ...bounds, ...(end === undefined ? {} : { lt: end }), snapshot: this.#snapshot });
      } catch (error) {
        // Opening the iterator opens the segments it may read: one whose index, properties or footer
        // is damaged cannot be opened, and no walk gets past it (not a block to step over).
        if (!(error instanceof CorruptionError)) throw error;
        throw new ToolError('CORRUPTION', `Cannot dump "${this.#engine.dir}": ${error.message}; that segment cannot be opened, so no key of it or beside it can be read in order. \`silt verify\` lists the damage and \`silt recover\` salvages the rest`, {
          cause: error,
          exitCode: ExitCode.damaged,
        });
      }
      let damage: CorruptionError | undefined;
      try {
        for (;;) {
          let entry: [Buffer, Buffer] | undefined;
          try {
            entry = iterator.next();
          } catch (error) {
            if (!(error instanceof CorruptionError)) throw error;
            damage = error;
            break;
          }
          if (entry === undefined) return;
          const [engineKey, record] = entry;
          lastKey = engineKey;
          const userKey = decodeMetadataKey(engineKey).userKey;
          if (glob !== undefined && !stringMatch(glob, userKey)) continue;
          yield this.#read(db, physId, userKey, engineKey, record, nowMs);
        }
      } finally {
        iterator.close();
      }
      const located = this.#locate(damage);
      // Resume past the block; when its end is unknown, or the walk would not move on, the rest of the db is left out.
      const through = located.largest !== undefined && (resumeAfter === undefined || located.largest.compare(resumeAfter) > 0) && (lastKey === undefined || located.largest.compare(lastKey) > 0) ? located.largest : undefined;
      const inDb = (key: Buffer | undefined): string | null => (key !== undefined && key.length >= dbPrefix.length && key.subarray(0, dbPrefix.length).equals(dbPrefix) ? key.subarray(dbPrefix.length).toString('hex') : null);
      const stops = through === undefined || (end !== undefined && through.compare(end) >= 0);
      yield {
        kind: 'unreadable',
        unreadable: {
          db,
          file: relativeFile(this.#engine.dir, damage.file),
          offset: damage.offset,
          message: damage.message,
          after: inDb(lastKey ?? resumeAfter),
          through: stops ? null : inDb(through),
          keyRange: located.range,
        },
      };
      if (stops) return;
      resumeAfter = through;
    }
  }

  /**
   * Where an unreadable part lies: the key range of the block at the error's offset (as verify
   * reports it), or of the whole segment when no data block starts there (a damaged index).
   */
  #locate(damage: CorruptionError): { range: KeyRange | null; largest: Buffer | undefined } {
    const cacheKey = `${damage.file}\0${damage.offset}`;
    const cached = this.#located.get(cacheKey);
    if (cached !== undefined) return cached;
    let located: { range: KeyRange | null; largest: Buffer | undefined } = { range: null, largest: undefined };
    try {
      const scan = scanSegment(this.#fs, damage.file, { readData: false });
      const index = scan.blocks.findIndex((block) => block.offset === damage.offset);
      const range = index >= 0 ? blockKeyRange(scan, index) : segmentKeyRange(scan);
      located = { range, largest: range.largest === null ? undefined : Buffer.from(range.largest, 'hex') };
    } catch (error) {
      if (!(error instanceof KvError)) throw error; // not a segment, or unreadable as a whole: nothing to resume after
    }
    this.#located.set(cacheKey, located);
    return located;
  }

  #read(db: number, physId: number, key: Buffer, engineKey: Buffer, record: Buffer, nowMs: number): ReadItem {
    try {
      checkRecord(record, engineKey);
      if (isExpired(record, nowMs)) return { kind: 'expired' };
      const expireMs = recordExpireMs(record);
      const base = { db, key, expireAt: expireMs === 0 ? null : expireMs };
      return { kind: 'key', key: { ...base, ...this.#value(physId, key, record) } };
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      return { kind: 'problem', problem: { db, key: key.toString('hex'), message: error.message } };
    }
  }

  /** @throws CorruptionError when the members disagree with the metadata */
  #value(physId: number, key: Buffer, record: Buffer): DumpedValue {
    const type = recordType(record);
    const version = recordVersion(record);
    const size = recordSize(record);
    switch (type) {
      case KeyType.string:
        return { type: 'string', value: stringValue(record) };
      case KeyType.hash: {
        const value = this.#subkeys(physId, key, version);
        checkSize(key, 'hash', value.length, size);
        return { type: 'hash', value };
      }
      case KeyType.set: {
        const value = this.#subkeys(physId, key, version).map(([member]) => member);
        checkSize(key, 'set', value.length, size);
        return { type: 'set', value };
      }
      case KeyType.list:
        return { type: 'list', value: this.#list(physId, key, version, record) };
      case KeyType.zset: {
        const value = this.#scores(physId, key, version);
        checkSize(key, 'zset', value.length, size);
        return { type: 'zset', value };
      }
      default:
        throw new CorruptionError('keyspace', -1, `Cannot read key ${renderKey(key)}: unknown type ${type}`);
    }
  }

  /** [field, value] of every `S` key of one collection version, in field order (read-only views). */
  #subkeys(physId: number, key: Buffer, version: number): [field: Buffer, value: Buffer][] {
    const prefix = subkeyPrefix(physId, key, version);
    const out: [Buffer, Buffer][] = [];
    this.#scan(prefix, (engineKey, value) => {
      out.push([engineKey.subarray(prefix.length), value]);
    });
    return out;
  }

  #list(physId: number, key: Buffer, version: number, record: Buffer): Buffer[] {
    if (record.length < metadataHeaderBytes + listPayloadBytes) throw damaged(key, `its list record has ${record.length - metadataHeaderBytes} payload bytes, expected ${listPayloadBytes}`);
    const head = readUint64BE(record, metadataHeaderBytes);
    const tail = readUint64BE(record, metadataHeaderBytes + 8);
    const size = recordSize(record);
    if (tail < head || tail - head !== size) throw damaged(key, `its list head ${head} and tail ${tail} disagree with its size ${size}`);
    const prefix = subkeyPrefix(physId, key, version);
    const elements: Buffer[] = [];
    let expected = head;
    this.#scan(prefix, (engineKey, value) => {
      const field = engineKey.subarray(prefix.length);
      if (field.length !== 8) throw damaged(key, `a list element has a ${field.length}-byte index, expected 8`);
      const index = readUint64BE(field, 0);
      if (index < head || index >= tail) return; // outside [head, tail): dead, awaiting compaction
      if (index !== expected) throw damaged(key, `list element ${expected} is missing (found ${index})`);
      elements.push(value);
      expected++;
    });
    if (expected !== tail) throw damaged(key, `list elements ${expected} to ${tail - 1} are missing`);
    return elements;
  }

  /** [member, score] of a sorted set, in Redis order, from its `Z` index. */
  #scores(physId: number, key: Buffer, version: number): [member: Buffer, score: number][] {
    const prefix = scorePrefix(physId, key, version);
    const out: [Buffer, number][] = [];
    this.#scan(prefix, (engineKey) => {
      const rest = engineKey.subarray(prefix.length);
      if (rest.length < 8) throw damaged(key, 'a score index entry is shorter than its score');
      out.push([rest.subarray(8), decodeOrderedDouble(rest, 0)]);
    });
    return out;
  }

  #scan(prefix: Buffer, visit: (key: Buffer, value: Buffer) => void): void {
    const end = prefixEnd(prefix);
    const iterator = this.#engine.iteratorSync({ gte: prefix, ...(end === undefined ? {} : { lt: end }), snapshot: this.#snapshot });
    try {
      for (let entry = iterator.next(); entry !== undefined; entry = iterator.next()) visit(entry[0], entry[1]);
    } finally {
      iterator.close();
    }
  }
}

function checkSize(key: Buffer, type: KeyTypeName, members: number, size: number): void {
  const unit = type === 'hash' ? 'field' : 'member';
  if (members !== size) throw damaged(key, `its metadata says ${plural(size, unit)} but ${plural(members, unit)} ${members === 1 ? 'is' : 'are'} stored`);
}

function damaged(key: Buffer, why: string): CorruptionError {
  return new CorruptionError('keyspace', -1, `Cannot read key ${renderKey(key)}: ${why}`);
}

// ---------------------------------------------------------------- NDJSON

/** Encodes keys as NDJSON lines. */
interface KeyEncoder {
  encode(key: DumpedKey): string | Buffer;
}

const ndjsonEncoder: KeyEncoder = { encode: ndjsonLine };

/** One NDJSON line (with its newline) for a key. */
export function ndjsonLine(item: DumpedKey): string {
  return `{"db":${item.db},"key":${jsonBytes(item.key)},"type":"${item.type}","expireAt":${item.expireAt === null ? 'null' : String(item.expireAt)},"value":${jsonValue(item)}}\n`;
}

function jsonValue(item: DumpedValue): string {
  switch (item.type) {
    case 'string':
      return jsonBytes(item.value);
    case 'list':
    case 'set':
      return `[${item.value.map(jsonBytes).join(',')}]`;
    case 'hash':
      if (item.value.every(([field]) => isUtf8(field))) return `{${item.value.map(([field, value]) => `${JSON.stringify(field.toString('utf8'))}:${jsonBytes(value)}`).join(',')}}`;
      return `[${item.value.map(([field, value]) => `[${jsonBytes(field)},${jsonBytes(value)}]`).join(',')}]`;
    case 'zset':
      return `[${item.value.map(([member, score]) => `[${jsonBytes(member)},${jsonScore(score)}]`).join(',')}]`;
  }
}

/** Bytes as a JSON string when valid UTF-8, else {"base64":"..."}. */
export function jsonBytes(bytes: Buffer): string {
  return isUtf8(bytes) ? JSON.stringify(bytes.toString('utf8')) : `{"base64":"${bytes.toString('base64')}"}`;
}

/** A score as JSON: a number (shortest round-trip form), "inf" or "-inf". */
export function jsonScore(score: number): string {
  if (score === Infinity) return '"inf"';
  if (score === -Infinity) return '"-inf"';
  return JSON.stringify(score === 0 ? 0 : score);
}

// ---------------------------------------------------------------- RESP

/** Encodes keys as RESP commands, with a SELECT whenever the db changes. */
class RespEncoder implements KeyEncoder {
  #db = -1;

  encode(item: DumpedKey): Buffer {
    const commands = commandsForKey(item);
    if (item.db !== this.#db) {
      this.#db = item.db;
      commands.unshift([Buffer.from('SELECT'), Buffer.from(String(item.db))]);
    }
    return encodeCommands(commands);
  }
}

/**
 * The commands that recreate `item` in its db (SELECT not included): DEL,
 * the value in commands of at most respElementsPerCommand elements, then
 * PEXPIREAT when it expires.
 */
export function commandsForKey(item: DumpedKey): Buffer[][] {
  const key = item.key;
  const commands: Buffer[][] = [[word('DEL'), key]];
  const chunked = <T>(name: string, items: readonly T[], args: (item: T) => Buffer[]): void => {
    for (let start = 0; start < items.length; start += respElementsPerCommand) {
      commands.push([word(name), key, ...items.slice(start, start + respElementsPerCommand).flatMap(args)]);
    }
  };
  switch (item.type) {
    case 'string':
      commands.push([word('SET'), key, item.value]);
      break;
    case 'list':
      chunked('RPUSH', item.value, (element) => [element]);
      break;
    case 'set':
      chunked('SADD', item.value, (member) => [member]);
      break;
    case 'hash':
      chunked('HSET', item.value, ([field, value]) => [field, value]);
      break;
    case 'zset':
      chunked('ZADD', item.value, ([member, score]) => [Buffer.from(respScore(score)), member]);
      break;
  }
  if (item.expireAt !== null) commands.push([word('PEXPIREAT'), key, Buffer.from(String(item.expireAt))]);
  return commands;
}

/** A score as ZADD reads it back exactly: "inf", "-inf", or the shortest round-trip decimal. */
export function respScore(score: number): string {
  if (score === Infinity) return 'inf';
  if (score === -Infinity) return '-inf';
  return String(score === 0 ? 0 : score);
}

/** One command as a RESP multibulk. */
export function encodeCommand(args: readonly Buffer[]): Buffer {
  return encodeCommands([args]);
}

/**
 * Commands as RESP multibulks, one after the other, in one new buffer: the
 * headers are written into it directly, since a Buffer per header and a
 * concat per command cost more than the bytes themselves (most of a RESP dump's
 * encoding time).
 */
export function encodeCommands(commands: readonly (readonly Buffer[])[]): Buffer {
  let size = 0;
  for (const args of commands) {
    size += String(args.length).length + 3; // *N CRLF
    for (const arg of args) size += String(arg.length).length + arg.length + 5; // $len CRLF bytes CRLF
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const args of commands) {
    offset += out.write(`*${args.length}\r\n`, offset, 'latin1');
    for (const arg of args) {
      offset += out.write(`$${arg.length}\r\n`, offset, 'latin1');
      offset += arg.copy(out, offset);
      out[offset++] = 0x0d;
      out[offset++] = 0x0a;
    }
  }
  return out;
}

function word(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

// ---------------------------------------------------------------- output

/** The output file must be new and must not lie in the directory dumped. */
function checkOutputFile(fs: FileSystem, out: string, dir: string): void {
  if (isInside(out, dir)) throw new ToolError('USAGE', `Cannot write --out "${out}": it is inside "${dir}", which dump never modifies; choose a file outside it`);
  refuseOutputInDataDirectory(fs, out, '--out');
  if (fs.exists(out)) throw new ToolError('EXISTS', `Cannot write --out "${out}": it exists; give a new file name`);
  const parent = dirName(out);
  if (!fs.exists(parent)) throw new ToolError('NOT_FOUND', `Cannot write --out "${out}": directory "${parent}" does not exist`);
}

/** Writes to a stream, waiting for 'drain' when it asks to. */
class StreamSink implements Sink {
  readonly #stream: OutputStream;
  #bytes = 0;

  constructor(stream: OutputStream) {
    this.#stream = stream;
  }

  get bytes(): number {
    return this.#bytes;
  }

  async write(data: string | Buffer): Promise<void> {
    this.#bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (!this.#stream.write(data)) await new Promise<void>((resolve) => this.#stream.once('drain', resolve));
  }

  async finish(): Promise<void> {}

  abandon(): void {}
}

/** Writes `FILE.tmp`, synced and renamed to FILE at the end, so a failed dump never leaves a file that looks whole. */
class FileSink implements Sink {
  readonly #fs: FileSystem;
  readonly #path: string;
  readonly #temp: string;
  readonly #handle: FileHandle;
  #bytes = 0;

  private constructor(fs: FileSystem, path: string) {
    this.#fs = fs;
    this.#path = path;
    this.#temp = `${path}.tmp`;
    this.#handle = fs.open(this.#temp, 'create');
  }

  static create(fs: FileSystem, path: string): FileSink {
    if (fs.exists(`${path}.tmp`)) fs.unlink(`${path}.tmp`);
    return new FileSink(fs, path);
  }

  get bytes(): number {
    return this.#bytes;
  }

  write(data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.#handle.append(bytes);
    this.#bytes += bytes.length;
    return Promise.resolve();
  }

  finish(): Promise<void> {
    this.#handle.syncBlocking();
    this.#handle.close();
    this.#fs.rename(this.#temp, this.#path);
    this.#fs.syncDir(dirName(this.#path));
    return Promise.resolve();
  }

  abandon(): void {
    try {
      this.#handle.close();
      this.#fs.unlink(this.#temp);
    } catch {
      // Cleaning up after a failure that is being reported: a leftover .tmp is harmless and named as such.
    }
  }
}

function printSummary(out: OutputStream, report: DumpReport): void {
  const where = report.out === null ? 'stdout' : `"${report.out}"`;
  const perDb = report.dbs.map(({ db, keys }) => `db ${db}: ${keys}`).join(', ');
  writeLine(out, `silt dump: ${plural(report.keys, 'key')}${perDb === '' ? '' : ` (${perDb})`} as ${report.format} to ${where}, ${formatBytes(report.bytes)} in ${formatDuration(report.durationMs)}`);
  if (report.expiredSkipped > 0) writeLine(out, `  ${plural(report.expiredSkipped, 'expired key')} awaiting the server's sweep left out`);
  if (report.problemCount > 0) writeLine(out, `  INCOMPLETE: ${plural(report.problemCount, 'key')} could not be read and ${report.problemCount === 1 ? 'was' : 'were'} left out (listed above); run \`silt verify ${report.dir}\``);
  if (report.unreadableCount > 0) writeLine(out, `  INCOMPLETE: ${plural(report.unreadableCount, 'key range')} in unreadable segment blocks left out (listed above); run \`silt verify ${report.dir}\`, and \`silt recover\` to salvage`);
}

/** Why a --match dump is empty, so that an operator does not take an empty dump for an empty database. */
function noMatchWarning(pattern: Buffer, dbs: readonly number[], report: DumpReport): string {
  const where = dbs.length === 1 ? `db ${dbs[0]}` : `dbs ${dbs[0]}..${dbs[dbs.length - 1]}`;
  const held = `${where} ${dbs.length === 1 ? 'holds' : 'hold'} ${plural(report.keysInDbs, 'key')}`;
  const unclosed = hasUnclosedClass(pattern)
    ? '; an unclosed [ starts a class that runs to the end of the pattern and a lone [ matches nothing, as in Redis: write \\[ for a literal ['
    : '';
  return `no key matched --match ${quoteBytes(pattern)} (0 keys dumped; ${held}; the pattern is matched as KEYS and SCAN MATCH match it${unclosed})`;
}

/** True when a `[` of the glob (not escaped) has no `]` after it: Redis's matcher then runs the class to the pattern's end. */
function hasUnclosedClass(pattern: Buffer): boolean {
  for (let index = 0; index < pattern.length; index++) {
    const byte = pattern[index]!;
    if (byte === 0x5c) {
      index++; // `\x` is x itself
    } else if (byte === 0x5b) {
      for (index++; index < pattern.length && pattern[index] !== 0x5d; index++) if (pattern[index] === 0x5c) index++;
      if (index >= pattern.length) return true;
    }
  }
  return false;
}

/** `the keys of db 0 after "a" through "k" (...)`, for stderr. */
function describeUnreadable(item: DumpUnreadable): string {
  const from = item.after === null ? 'from its first key' : `after ${renderKey(Buffer.from(item.after, 'hex'))}`;
  const to = item.through === null ? 'to its last key' : `through ${renderKey(Buffer.from(item.through, 'hex'))}`;
  return `the keys of db ${item.db} ${from} ${to}, whichever are stored there: ${item.message}`;
}
