// Crash test for the collection types (issue 4): a real silt-server process
// under appendfsync always, with a 1 MiB memtable so that flushes and
// compactions run during the load, serves several pipelining clients (raw
// sockets and ioredis) doing a mix of hash, set, list and sorted-set writes,
// MULTI/EXEC across two collections, DEL of whole collections and EXPIRE with
// a long TTL; it is SIGKILLed at a random moment after one to five flushes.
//
// Strategy: each client owns its keys and sends a deterministic sequence of
// units (one command, or one MULTI/EXEC) drawn from a seeded PRNG against an
// in-memory model of Redis semantics, which also predicts every reply. A
// client's commands run in order and reach the WAL in order, so after the
// restart its keys must equal the model after its first k units for some k
// with acked <= k <= sent: every acknowledged unit is there, the in-flight
// tail may or may not be, but only as a prefix (a half-applied EXEC matches
// no prefix). SPOP is the one command whose effect the model cannot predict:
// it ends a pipelined batch, so at most one SPOP (the last unit sent) is of
// unknown outcome, and each member it could have popped is tried.
//
// Invariants checked after each restart:
// - every client's keys equal the model at some prefix k, acked <= k <= sent
//   (type, content, and whether a TTL is set);
// - every collection's HLEN/SCARD/LLEN/ZCARD equals the members HGETALL,
//   SMEMBERS, LRANGE 0 -1 and ZRANGE 0 -1 return;
// - keys of earlier cycles are unchanged by later crashes and restarts;
// - `silt verify` (tools/verify.ts, physical and logical passes, in-process)
//   reports no damage, both on the directory as the kill left it and after
//   the restarted server stopped cleanly.
//
// Cycles: SILT_COLLECTION_CRASH_CYCLES (default 3); every random choice comes
// from a PRNG whose seed is printed (replay with SILT_CRASH_SEED). npm test
// builds dist/ first.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { mulberry32 } from '../support/crash-workload.js';
import { startCrashServer, verifyNoDamage } from '../support/crash-server.js';
import { RawClient, encodeCommand, mainScript, parseInfo, plain } from '../integration/resp/harness.js';

const cycles = Number(process.env.SILT_COLLECTION_CRASH_CYCLES ?? 3);
const seed = Number(process.env.SILT_CRASH_SEED ?? Date.now() % 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'silt-collection-crash-'));
const children = new Set<ChildProcess>();

/** Raw-socket clients and ioredis clients per cycle. */
const rawWorkers = 3;
const ioredisWorkers = 2;
/** Units pipelined per batch (a SPOP ends a batch early). */
const batchUnits = 16;
/** Members, fields and elements are drawn from small pools so collections stay small and see many overwrites. */
const fieldPool = 40;
const memberPool = 30;
/** Long enough never to expire during the test. */
const ttlSeconds = 100_000;
/** Bound on waiting for flushes before the kill (not a timed assertion: past it the kill just goes ahead). */
const flushWaitMs = 30_000;
const replyTimeoutMs = 20_000;

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- model

type Value =
  | { type: 'hash'; fields: Map<string, string> }
  | { type: 'set'; members: Set<string> }
  | { type: 'list'; elements: string[] }
  | { type: 'zset'; scores: Map<string, number> };

interface Entry {
  value: Value;
  /** EXPIRE set a TTL (long: it never runs out during the test). */
  ttl: boolean;
}

/** User key -> what Redis would hold. */
type Model = Map<string, Entry>;

/** Decides SPOP's member (the model cannot); undefined when the set is empty. */
type Picker = (members: string[]) => string;

function cloneModel(model: Model): Model {
  const copy: Model = new Map();
  for (const [key, { value, ttl }] of model) {
    let cloned: Value;
    if (value.type === 'hash') cloned = { type: 'hash', fields: new Map(value.fields) };
    else if (value.type === 'set') cloned = { type: 'set', members: new Set(value.members) };
    else if (value.type === 'list') cloned = { type: 'list', elements: [...value.elements] };
    else cloned = { type: 'zset', scores: new Map(value.scores) };
    copy.set(key, { value: cloned, ttl });
  }
  return copy;
}

function hashOf(model: Model, key: string, create: boolean): Map<string, string> | undefined {
  const entry = model.get(key);
  if (entry !== undefined) return (entry.value as Extract<Value, { type: 'hash' }>).fields;
  if (!create) return undefined;
  const fields = new Map<string, string>();
  model.set(key, { value: { type: 'hash', fields }, ttl: false });
  return fields;
}

function setOf(model: Model, key: string, create: boolean): Set<string> | undefined {
  const entry = model.get(key);
  if (entry !== undefined) return (entry.value as Extract<Value, { type: 'set' }>).members;
  if (!create) return undefined;
  const members = new Set<string>();
  model.set(key, { value: { type: 'set', members }, ttl: false });
  return members;
}

function listOf(model: Model, key: string, create: boolean): string[] | undefined {
  const entry = model.get(key);
  if (entry !== undefined) return (entry.value as Extract<Value, { type: 'list' }>).elements;
  if (!create) return undefined;
  const elements: string[] = [];
  model.set(key, { value: { type: 'list', elements }, ttl: false });
  return elements;
}

function zsetOf(model: Model, key: string, create: boolean): Map<string, number> | undefined {
  const entry = model.get(key);
  if (entry !== undefined) return (entry.value as Extract<Value, { type: 'zset' }>).scores;
  if (!create) return undefined;
  const scores = new Map<string, number>();
  model.set(key, { value: { type: 'zset', scores }, ttl: false });
  return scores;
}

/** Redis's sorted-set order: by score, then member bytewise (members here are ASCII). */
function zsetOrder(scores: Map<string, number>): [member: string, score: number][] {
  return [...scores].sort(([a, sa], [b, sb]) => sa - sb || (a < b ? -1 : a > b ? 1 : 0));
}

/** An emptied collection disappears, as in Redis (and its TTL with it). */
function dropIfEmpty(model: Model, key: string, size: number): void {
  if (size === 0) model.delete(key);
}

/** Redis's LTRIM range rules: [first, last] kept, or nothing. */
function trimRange(start: number, stop: number, length: number): [first: number, last: number] | undefined {
  let first = start < 0 ? length + start : start;
  let last = stop < 0 ? length + stop : stop;
  if (first < 0) first = 0;
  if (first > last || first >= length) return undefined;
  if (last >= length) last = length - 1;
  return [first, last];
}

/**
 * Applies one command to the model and returns the reply Redis gives (RESP2,
 * as plain values: integers, strings, null, arrays).
 */
function execute(model: Model, command: readonly string[], pick: Picker | undefined): unknown {
  const [name, key, ...rest] = command as [string, string, ...string[]];
  switch (name) {
    case 'HSET': {
      const fields = hashOf(model, key, true)!;
      let added = 0;
      for (let index = 0; index + 1 < rest.length; index += 2) {
        if (!fields.has(rest[index]!)) added++;
        fields.set(rest[index]!, rest[index + 1]!);
      }
      return added;
    }
    case 'HDEL': {
      const fields = hashOf(model, key, false);
      if (fields === undefined) return 0;
      let removed = 0;
      for (const field of rest) if (fields.delete(field)) removed++;
      dropIfEmpty(model, key, fields.size);
      return removed;
    }
    case 'HINCRBY': {
      const fields = hashOf(model, key, true)!;
      const value = Number(fields.get(rest[0]!) ?? '0') + Number(rest[1]);
      fields.set(rest[0]!, String(value));
      return value;
    }
    case 'SADD': {
      const members = setOf(model, key, true)!;
      let added = 0;
      for (const member of rest) {
        if (!members.has(member)) added++;
        members.add(member);
      }
      return added;
    }
    case 'SREM': {
      const members = setOf(model, key, false);
      if (members === undefined) return 0;
      let removed = 0;
      for (const member of rest) if (members.delete(member)) removed++;
      dropIfEmpty(model, key, members.size);
      return removed;
    }
    case 'SPOP': {
      const members = setOf(model, key, false);
      if (members === undefined) return null;
      if (pick === undefined) throw new Error('SPOP needs a picker');
      const member = pick([...members].sort());
      members.delete(member);
      dropIfEmpty(model, key, members.size);
      return member;
    }
    case 'LPUSH':
    case 'RPUSH': {
      const elements = listOf(model, key, true)!;
      for (const element of rest) {
        if (name === 'LPUSH') elements.unshift(element);
        else elements.push(element);
      }
      return elements.length;
    }
    case 'LPOP':
    case 'RPOP': {
      const elements = listOf(model, key, false);
      if (elements === undefined) return null;
      const element = name === 'LPOP' ? elements.shift()! : elements.pop()!;
      dropIfEmpty(model, key, elements.length);
      return element;
    }
    case 'LSET': {
      const elements = listOf(model, key, false)!;
      const index = Number(rest[0]);
      elements[index < 0 ? elements.length + index : index] = rest[1]!;
      return 'OK';
    }
    case 'LTRIM': {
      const elements = listOf(model, key, false);
      if (elements === undefined) return 'OK';
      const range = trimRange(Number(rest[0]), Number(rest[1]), elements.length);
      const kept = range === undefined ? [] : elements.slice(range[0], range[1] + 1);
      elements.splice(0, elements.length, ...kept);
      dropIfEmpty(model, key, elements.length);
      return 'OK';
    }
    case 'ZADD': {
      const scores = zsetOf(model, key, true)!;
      const added = scores.has(rest[1]!) ? 0 : 1;
      scores.set(rest[1]!, Number(rest[0]));
      return added;
    }
    case 'ZINCRBY': {
      const scores = zsetOf(model, key, true)!;
      const score = (scores.get(rest[1]!) ?? 0) + Number(rest[0]);
      scores.set(rest[1]!, score);
      return String(score);
    }
    case 'ZREM': {
      const scores = zsetOf(model, key, false);
      if (scores === undefined) return 0;
      let removed = 0;
      for (const member of rest) if (scores.delete(member)) removed++;
      dropIfEmpty(model, key, scores.size);
      return removed;
    }
    case 'ZPOPMIN': {
      const scores = zsetOf(model, key, false);
      if (scores === undefined) return [];
      const [member, score] = zsetOrder(scores)[0]!;
      scores.delete(member);
      dropIfEmpty(model, key, scores.size);
      return [member, String(score)];
    }
    case 'DEL':
      return model.delete(key) ? 1 : 0;
    case 'EXPIRE': {
      const entry = model.get(key);
      if (entry === undefined) return 0;
      entry.ttl = true;
      return 1;
    }
    default:
      throw new Error(`the model has no ${name}`);
  }
}

/** One key's state as text: type, TTL or not, content in a canonical order. */
function describeEntry(entry: Entry | undefined): string {
  if (entry === undefined) return 'none';
  const { value, ttl } = entry;
  const head = `${value.type} ${ttl ? 'ttl' : 'persistent'}`;
  if (value.type === 'hash') return `${head} ${JSON.stringify([...value.fields].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
  if (value.type === 'set') return `${head} ${JSON.stringify([...value.members].sort())}`;
  if (value.type === 'list') return `${head} ${JSON.stringify(value.elements)}`;
  return `${head} ${JSON.stringify(zsetOrder(value.scores).map(([member, score]) => [member, String(score)]))}`;
}

// ---------------------------------------------------------------- workload

/** One step of a client's sequence: a command, or MULTI + commands + EXEC. */
interface Unit {
  commands: string[][];
  /** Replies expected, one per command sent (MULTI: OK, QUEUED ..., the EXEC array); undefined for SPOP. */
  expected: unknown[] | undefined;
  /** SPOP only: the member it popped (null: the set was absent), once its reply arrived. */
  popped?: string | null;
}

const keyKinds = ['h0', 'h1', 's0', 's1', 'l0', 'l1', 'z0', 'z1'] as const;

/** A client's deterministic sequence, its live model, and how far it got. */
class Workload {
  readonly keys: string[];
  readonly units: Unit[] = [];
  /** Units whose every reply arrived (a prefix of `units`). */
  acked = 0;
  readonly #random: () => number;
  readonly #live: Model = new Map();
  readonly #prefix: string;

  constructor(prefix: string, workloadSeed: number) {
    this.#prefix = prefix;
    this.#random = mulberry32(workloadSeed);
    this.keys = keyKinds.map((kind) => `${prefix}:${kind}`);
  }

  /** The next batch of units (ends early after a SPOP, whose outcome must be known before going on). */
  nextBatch(): Unit[] {
    const batch: Unit[] = [];
    while (batch.length < batchUnits) {
      const unit = this.#nextUnit();
      batch.push(unit);
      this.units.push(unit);
      if (unit.expected === undefined) break;
    }
    return batch;
  }

  /** Checks a unit's replies (plain values) against the model, and records a SPOP's outcome. */
  acknowledge(unit: Unit, replies: unknown[]): void {
    if (unit.expected === undefined) {
      const [reply] = replies;
      const members = setOf(this.#live, unit.commands[0]![1]!, false);
      if (reply === null ? members !== undefined : members?.has(reply as string) !== true) {
        throw new Error(`${unit.commands[0]!.join(' ')} answered ${JSON.stringify(reply)}; the set holds ${JSON.stringify(members === undefined ? null : [...members])}`);
      }
      unit.popped = reply as string | null;
      execute(this.#live, unit.commands[0]!, () => reply as string);
    } else if (JSON.stringify(replies) !== JSON.stringify(unit.expected)) {
      throw new Error(`${JSON.stringify(unit.commands)} answered ${JSON.stringify(replies)}, the model expected ${JSON.stringify(unit.expected)}`);
    }
    this.acked++;
  }

  #int(below: number): number {
    return Math.floor(this.#random() * below);
  }

  #key(kind: (typeof keyKinds)[number]): string {
    return `${this.#prefix}:${kind}`;
  }

  /** A value with filler (1 KB on average), so the 1 MiB memtable fills and flushes about every half second. */
  #value(): string {
    return `${this.units.length}:${'v'.repeat(this.#int(2000))}`;
  }

  #nextUnit(): Unit {
    const roll = this.#random();
    if (roll < 0.07) {
      // MULTI/EXEC over two different collections.
      const first = this.#command(this.#int(8));
      let second = this.#command(this.#int(8));
      while (second[1] === first[1] || second[0] === 'SPOP') second = this.#command(this.#int(8));
      if (first[0] === 'SPOP') return this.#nextUnit();
      const commands = [['MULTI'], first, second, ['EXEC']];
      const replies = [execute(this.#live, first, undefined), execute(this.#live, second, undefined)];
      return { commands, expected: ['OK', 'QUEUED', 'QUEUED', replies] };
    }
    if (roll < 0.09) {
      const command = ['DEL', this.keys[this.#int(this.keys.length)]!];
      return { commands: [command], expected: [execute(this.#live, command, undefined)] };
    }
    if (roll < 0.11) {
      const command = ['EXPIRE', this.keys[this.#int(this.keys.length)]!, String(ttlSeconds)];
      return { commands: [command], expected: [execute(this.#live, command, undefined)] };
    }
    const command = this.#command(this.#int(8));
    if (command[0] === 'SPOP') return { commands: [command], expected: undefined };
    return { commands: [command], expected: [execute(this.#live, command, undefined)] };
  }

  /** A random command on key number `which` of keyKinds (valid against the live model). */
  #command(which: number): string[] {
    const kind = keyKinds[which]!;
    const key = this.#key(kind);
    const roll = this.#random();
    const field = (): string => `f${this.#int(fieldPool)}`;
    const member = (): string => `m${this.#int(memberPool)}`;
    switch (kind[0]) {
      case 'h':
        if (roll < 0.55) return this.#int(3) === 0 ? ['HSET', key, field(), this.#value(), field(), this.#value()] : ['HSET', key, field(), this.#value()];
        if (roll < 0.8) return ['HDEL', key, field()];
        return ['HINCRBY', key, `n${this.#int(4)}`, String(this.#int(101) - 50)];
      case 's':
        if (roll < 0.55) return ['SADD', key, ...Array.from({ length: 1 + this.#int(3) }, member)];
        if (roll < 0.85) return ['SREM', key, member(), member()];
        return ['SPOP', key];
      case 'l': {
        const length = listOf(this.#live, key, false)?.length ?? 0;
        if (length > 40 && roll < 0.3) return this.#int(2) === 0 ? ['LTRIM', key, '0', '19'] : ['LTRIM', key, '-20', '-1'];
        if (roll < 0.3) return ['LPUSH', key, this.#value(), this.#value()];
        if (roll < 0.55) return ['RPUSH', key, this.#value()];
        if (roll < 0.7) return ['LPOP', key];
        if (roll < 0.8) return ['RPOP', key];
        if (roll < 0.92 && length > 0) return ['LSET', key, String(this.#int(2 * length) - length), this.#value()];
        return ['LTRIM', key, String(this.#int(11) - 5), String(this.#int(16) - 5)];
      }
      default:
        if (roll < 0.45) return ['ZADD', key, String(this.#int(201) - 100), member()];
        if (roll < 0.7) return ['ZINCRBY', key, String(this.#int(20) - 10 || 1), member()];
        if (roll < 0.85) return ['ZREM', key, member()];
        return ['ZPOPMIN', key];
    }
  }
}

/** The states of `keys` after the first `count` units, one per candidate (several when the last unit is a SPOP of unknown outcome). */
function statesAfter(units: readonly Unit[], count: number, keys: readonly string[]): string[] {
  const model: Model = new Map();
  for (let index = 0; index < count - 1; index++) apply(model, units[index]!);
  if (count === 0) return [describeKeys(model, keys)];
  const last = units[count - 1]!;
  if (last.expected !== undefined || last.popped !== undefined) {
    apply(model, last);
    return [describeKeys(model, keys)];
  }
  // A SPOP whose reply never came: any member may have gone.
  const members = setOf(model, last.commands[0]![1]!, false);
  if (members === undefined) return [describeKeys(model, keys)];
  return [...members].map((member) => {
    const candidate = cloneModel(model);
    execute(candidate, last.commands[0]!, () => member);
    return describeKeys(candidate, keys);
  });
}

function apply(model: Model, unit: Unit): void {
  for (const command of unit.commands) {
    if (command[0] === 'MULTI' || command[0] === 'EXEC') continue;
    if (unit.popped === undefined && command[0] === 'SPOP') throw new Error('a SPOP of unknown outcome before the last unit sent');
    execute(model, command, () => unit.popped!);
  }
}

function describeKeys(model: Model, keys: readonly string[]): string {
  return keys.map((key) => `${key}: ${describeEntry(model.get(key))}`).join('\n');
}

// ---------------------------------------------------------------- clients

/** Pipelined batches over a raw socket until the connection dies. */
async function rawWorker(port: number, workload: Workload): Promise<void> {
  const raw = await RawClient.connect(port);
  try {
    while (true) {
      const batch = workload.nextBatch();
      raw.send(Buffer.concat(batch.flatMap((unit) => unit.commands.map(encodeCommand))));
      for (const unit of batch) workload.acknowledge(unit, (await raw.replies(unit.commands.length, replyTimeoutMs)).map(plain));
    }
  } catch (error) {
    if (!raw.closed) throw error;
  } finally {
    raw.close();
  }
}

/** The same through ioredis: each command (or multi().exec()) sent without waiting, replies taken in order. */
async function ioredisWorker(port: number, workload: Workload): Promise<void> {
  const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('end', () => reject(new Error('ioredis could not connect')));
    });
    while (true) {
      const batch = workload.nextBatch();
      // Settled at once, so a rejection after the kill is never unhandled.
      const pending = batch.map((unit) => {
        const sent: Promise<unknown> =
          unit.commands.length === 1
            ? client.call(unit.commands[0]![0]!, ...unit.commands[0]!.slice(1))
            : client
                .multi(unit.commands.slice(1, -1).map(([name, ...args]) => [name!.toLowerCase(), ...args]))
                .exec()
                .then((results) => results?.map(([error, reply]) => (error === null ? reply : { error: error.message })));
        return sent.then(
          (reply) => ({ reply }),
          (error: unknown) => ({ error: error as Error }),
        );
      });
      for (let index = 0; index < batch.length; index++) {
        const unit = batch[index]!;
        const outcome = await pending[index]!;
        if ('error' in outcome) {
          // A Redis error reply is a failure; anything else is the connection going down with the server.
          if (outcome.error.name === 'ReplyError') throw outcome.error;
          return;
        }
        // ioredis gives EXEC's array only; the model's MULTI and QUEUED replies are taken as read.
        workload.acknowledge(unit, unit.commands.length === 1 ? [outcome.reply] : [...unit.expected!.slice(0, -1), outcome.reply]);
      }
    }
  } finally {
    client.disconnect();
  }
}

// ---------------------------------------------------------------- checks

/** Reads `key` from the server as describeEntry would print it, and checks its size command against its members. */
async function readKey(raw: RawClient, key: string): Promise<string> {
  const type = plain(await raw.call('TYPE', key)) as string;
  if (type === 'none') return 'none';
  const ttl = plain(await raw.call('PTTL', key)) as number;
  const head = `${type} ${ttl > 0 ? 'ttl' : ttl === -1 ? 'persistent' : `pttl ${ttl}`}`;
  const sizeOf = async (command: string): Promise<number> => plain(await raw.call(command, key)) as number;
  let size: number;
  let members: number;
  let content: unknown;
  if (type === 'hash') {
    const flat = plain(await raw.call('HGETALL', key)) as string[];
    const pairs: [string, string][] = [];
    for (let index = 0; index + 1 < flat.length; index += 2) pairs.push([flat[index]!, flat[index + 1]!]);
    size = await sizeOf('HLEN');
    members = pairs.length;
    content = pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  } else if (type === 'set') {
    const all = plain(await raw.call('SMEMBERS', key)) as string[];
    size = await sizeOf('SCARD');
    members = all.length;
    content = all.sort();
  } else if (type === 'list') {
    const all = plain(await raw.call('LRANGE', key, '0', '-1')) as string[];
    size = await sizeOf('LLEN');
    members = all.length;
    content = all;
  } else if (type === 'zset') {
    const flat = plain(await raw.call('ZRANGE', key, '0', '-1', 'WITHSCORES')) as string[];
    const pairs: [string, string][] = [];
    for (let index = 0; index + 1 < flat.length; index += 2) pairs.push([flat[index]!, flat[index + 1]!]);
    size = await sizeOf('ZCARD');
    members = pairs.length;
    content = pairs;
  } else {
    throw new Error(`${key} has type ${type}`);
  }
  if (size !== members) expect.fail(`${key}: its size says ${size}, ${members} members are stored`);
  if (members === 0) expect.fail(`${key}: an empty ${type} is still there`);
  return `${head} ${JSON.stringify(content)}`;
}

async function readKeys(raw: RawClient, keys: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const key of keys) lines.push(`${key}: ${await readKey(raw, key)}`);
  return lines.join('\n');
}

/** Polls INFO lsm until the server has flushed `flushes` memtables (bounded); returns what it saw. */
async function waitForFlushes(port: number, flushes: number): Promise<{ flushes: number; compactions: number }> {
  const raw = await RawClient.connect(port);
  try {
    const deadline = Date.now() + flushWaitMs;
    for (;;) {
      const info = parseInfo(plain(await raw.call('INFO', 'lsm')) as string);
      const seen = { flushes: Number(info['lsm_flushes'] ?? 0), compactions: Number(info['lsm_compactions'] ?? 0) };
      if (seen.flushes >= flushes || Date.now() > deadline) return seen;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    raw.close();
  }
}

describe(`server survives SIGKILL during a collection load under appendfsync always (${cycles} cycles, seed ${seed})`, () => {
  it('keeps every acknowledged write, applies the in-flight tail only as a prefix, and every size equals its members', async () => {
    const random = mulberry32(seed);
    /** Keys of finished cycles and what they must keep holding. */
    const settled: { keys: string[]; state: string }[] = [];
    let totalAcked = 0;
    let totalTail = 0;
    let flushesBeforeKill = 0;
    let compactionsBeforeKill = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const server = await startCrashServer(mainScript, dir, children);
      const workloads = Array.from({ length: rawWorkers + ioredisWorkers }, (_, index) => new Workload(`c${cycle}:w${index}`, Math.floor(random() * 2 ** 32)));
      const workers = workloads.map((workload, index) => (index < rawWorkers ? rawWorker(server.port, workload) : ioredisWorker(server.port, workload)));
      // Kill after 1 to 5 flushes (level 0 compacts at 4) and a random delay, so the kill lands
      // during writes, during a flush, or during a compaction.
      const seen = await waitForFlushes(server.port, 1 + Math.floor(random() * 5));
      flushesBeforeKill += seen.flushes;
      compactionsBeforeKill += seen.compactions;
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 500)));
      server.child.kill('SIGKILL');
      await server.exited;
      await Promise.all(workers);

      // The directory as the kill left it: torn tails and orphans are notes, nothing is damage.
      await verifyNoDamage(dir, `after the kill in cycle ${cycle}`);

      const restarted = await startCrashServer(mainScript, dir, children);
      const raw = await RawClient.connect(restarted.port);
      try {
        for (const { keys, state } of settled) expect(await readKeys(raw, keys), `cycle ${cycle}: keys of an earlier cycle`).toBe(state);
        for (const workload of workloads) {
          const actual = await readKeys(raw, workload.keys);
          const sent = workload.units.length;
          let matched: number | undefined;
          for (let count = workload.acked; count <= sent && matched === undefined; count++) {
            if (statesAfter(workload.units, count, workload.keys).includes(actual)) matched = count;
          }
          if (matched === undefined) {
            const expected = statesAfter(workload.units, workload.acked, workload.keys)[0];
            expect.fail(`cycle ${cycle}: ${workload.keys[0]}...: the state matches no prefix of ${workload.acked}..${sent} units\nactual:\n${actual}\nafter the acknowledged units:\n${expected}`);
          }
          totalAcked += workload.acked;
          totalTail += matched - workload.acked;
          settled.push({ keys: workload.keys, state: actual });
        }
      } finally {
        raw.close();
        restarted.child.kill('SIGTERM');
        await restarted.exited;
      }
      await verifyNoDamage(dir, `after a clean stop in cycle ${cycle}`);
    }
    console.log(
      `collection crash test: ${totalAcked} acknowledged units over ${cycles} kills all present, ${totalTail} unacknowledged units landed; ${flushesBeforeKill} flushes and ${compactionsBeforeKill} compactions seen before the kills`,
    );
    expect(totalAcked).toBeGreaterThan(0);
  }, 600_000);
});
