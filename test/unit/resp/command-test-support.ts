// Shared by the command handler tests (commands-*.test.ts): the command
// table, a dispatcher that checks arity and subcommands as the server does,
// replies as plain data, and a small fake CommandContext (no sockets) over
// a Keyspace on an engine.

import { expect } from 'vitest';
import type { Engine } from '../../../lib/engine/engine.js';
import type { WriteBatch } from '../../../lib/engine/write-batch.js';
import { Keyspace, type KeyspaceOptions } from '../../../lib/keyspace/keyspace.js';
import { prefixRange, subkeyPrefix } from '../../../lib/keyspace/key-encoding.js';
import { recordVersion } from '../../../lib/keyspace/metadata.js';
import type { CommandContext, CommandSpec } from '../../../service/resp/command.js';
import { formatDouble } from '../../../service/resp/encoder.js';
import { DoubleReply, ErrorReply, MapReply, NullArrayReply, SetReply, SimpleReply, type Reply } from '../../../service/resp/reply.js';
import { entries } from '../keyspace/keyspace-harness.js';

/** The fake clock's start. */
export const t0 = 1_700_000_000_000;

export const wrongType = '-WRONGTYPE Operation against a key holding the wrong kind of value';
export const notInteger = '-ERR value is not an integer or out of range';
export const syntax = '-ERR syntax error';
export const arity = (name: string): string => `-ERR wrong number of arguments for '${name}' command`;

/** The commands of `groups`, by name. */
export function commandTable(...groups: readonly (readonly CommandSpec[])[]): Map<string, CommandSpec> {
  return new Map<string, CommandSpec>(groups.flat().map((spec) => [spec.name, spec]));
}

/**
 * A reply as plain data, as a RESP2 client sees it: bulk -> string, a double
 * -> its RESP2 text, bigint -> ":n", +status -> "+text", -error -> "-text",
 * null bulk -> null, null array -> "*-1", maps flat, sets and arrays as arrays.
 */
export type Plain = string | number | null | Plain[];

export function plain(reply: Reply): Plain {
  if (reply === null || typeof reply === 'number' || typeof reply === 'string') return reply;
  if (typeof reply === 'bigint') return `:${reply}`; // exact 64-bit integers beyond 2^53
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  if (Array.isArray(reply)) return reply.map(plain);
  if (reply instanceof DoubleReply) return formatDouble(reply.value);
  if (reply instanceof NullArrayReply) return '*-1';
  if (reply instanceof SimpleReply) return `+${reply.text}`;
  if (reply instanceof ErrorReply) return `-${reply.text}`;
  if (reply instanceof MapReply) return reply.entries.flatMap(([key, value]) => [plain(key), plain(value)]);
  if (reply instanceof SetReply) return reply.items.map(plain);
  throw new Error(`unexpected reply ${String(reply)}`);
}

/** Runs a command from `table` as the dispatcher would (arity, then subcommand and its arity) and returns the raw reply. */
export async function dispatch(table: ReadonlyMap<string, CommandSpec>, ctx: CommandContext, args: readonly (string | Buffer)[]): Promise<Reply> {
  const buffers = args.map((arg) => (Buffer.isBuffer(arg) ? arg : Buffer.from(arg, 'latin1')));
  const name = buffers[0]!.toString('latin1').toLowerCase();
  let spec: Omit<CommandSpec, 'subcommands'> | undefined = table.get(name);
  if (spec === undefined) throw new Error(`no command ${name}`);
  const arityOk = (arity: number): boolean => (arity >= 0 ? buffers.length === arity : buffers.length >= -arity);
  if (!arityOk(spec.arity)) return new ErrorReply(`ERR wrong number of arguments for '${name}' command`);
  const subcommands = table.get(name)!.subcommands;
  if (subcommands !== undefined) {
    const sub = buffers[1]!.toString('latin1').toLowerCase();
    spec = subcommands[sub];
    if (spec === undefined) return new ErrorReply(`ERR unknown subcommand '${buffers[1]!.toString('latin1')}'. Try ${name.toUpperCase()} HELP.`);
    if (!arityOk(spec.arity)) return new ErrorReply(`ERR wrong number of arguments for '${name}|${sub}' command`);
  }
  return spec.handler(ctx, buffers);
}

export type FakeContext = CommandContext & { db: number; nowMs: number; protocol: 2 | 3 };

export interface CommandHarness {
  engine: Engine;
  keyspace: Keyspace;
  ctx: FakeContext;
  /** Runs a command as the dispatcher would (arity, subcommands) and returns the raw reply. */
  raw(...args: (string | Buffer)[]): Promise<Reply>;
  /** The same, as plain data. */
  r(...args: (string | Buffer)[]): Promise<Plain>;
  /** Waits for every batch written so far. */
  settle(): Promise<void>;
}

/** A Keyspace (4 databases) on `engine` and a fake context at `t0`, RESP2, db 0, running commands from `table`. */
export async function commandHarness(engine: Engine, table: ReadonlyMap<string, CommandSpec>, options: KeyspaceOptions = {}): Promise<CommandHarness> {
  const keyspace = await Keyspace.open(engine, { databases: 4, ...options });
  const pending: Promise<unknown>[] = [];
  const ctx: FakeContext = {
    db: 0,
    nowMs: t0,
    protocol: 2,
    keyspace,
    server: {},
    client: {},
    write(batch: WriteBatch): void {
      pending.push(engine.write(batch));
    },
  };
  const raw = (...args: (string | Buffer)[]): Promise<Reply> => dispatch(table, ctx, args);
  return { engine, keyspace, ctx, raw, r: async (...args) => plain(await raw(...args)), settle: async () => void (await Promise.all(pending.splice(0))) };
}

/** Subkeys stored under the live version of `key` (db 0). */
export async function subkeyCount(h: CommandHarness, key: string): Promise<number> {
  const record = h.keyspace.lookup(0, Buffer.from(key), h.ctx.nowMs);
  if (record === undefined) return 0;
  const range = prefixRange(subkeyPrefix(h.keyspace.physicalDb(0), Buffer.from(key), recordVersion(record)));
  return (await entries(h.engine, range.gte, range.lt)).length;
}

/** An array reply sorted (for replies in no particular order); anything else as it is. */
export const sorted = (value: Plain): Plain => (Array.isArray(value) ? [...value].sort() : value);

/** The steps every collection's model test shares: key commands, the clock, and engine life events. */
export type CommonStep =
  | { kind: 'del'; key: string }
  | { kind: 'pexpire'; key: string; ms: number }
  | { kind: 'tick'; ms: number }
  | { kind: 'flush' | 'compact' | 'reopen' };

/** The model of one key: present until `expireMs` (0: no expiry). */
export interface ModelEntry {
  expireMs: number;
}

/**
 * Runs a CommonStep against the harness and the model (a map of live keys),
 * checking DEL's and PEXPIRE's replies; `reopen` closes the engine and opens
 * a fresh harness on it, at the same clock.
 * @returns the harness to go on with
 */
export async function runCommonStep(
  step: CommonStep,
  h: CommandHarness,
  model: Map<string, ModelEntry>,
  reopen: () => Promise<CommandHarness>,
): Promise<CommandHarness> {
  const now = h.ctx.nowMs;
  const present = (key: string): boolean => {
    const entry = model.get(key);
    return entry !== undefined && (entry.expireMs === 0 || now <= entry.expireMs);
  };
  switch (step.kind) {
    case 'del':
      expect(await h.r('DEL', step.key)).toBe(present(step.key) ? 1 : 0);
      model.delete(step.key);
      return h;
    case 'pexpire': {
      const live = present(step.key);
      if (live) model.get(step.key)!.expireMs = now + step.ms;
      expect(await h.r('PEXPIRE', step.key, String(step.ms))).toBe(live ? 1 : 0);
      return h;
    }
    case 'tick':
      h.ctx.nowMs += step.ms;
      return h;
    case 'flush':
      await h.settle();
      await h.engine.flush();
      return h;
    case 'compact':
      await h.settle();
      await h.engine.compactRange();
      return h;
    case 'reopen': {
      await h.settle();
      await h.engine.close();
      const reopened = await reopen();
      reopened.ctx.nowMs = now;
      return reopened;
    }
  }
}
