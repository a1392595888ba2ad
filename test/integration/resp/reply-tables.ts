// Tables of requests and the replies Redis gave to them, replayed over a real
// socket (hashes.test.ts, lists.test.ts, sets.test.ts, sorted-sets.test.ts),
// and the matchers their rows use where a reply is not one fixed value:
// members in any order (Redis answers in its hash order, silt in member
// order), random picks, TTLs that move, and texts too long to write out.

import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { closeAll, closeServers, ioredis, startServer, type TestServer } from './harness.js';

/** One request and its expected reply: a plain value, { error }, or a matcher below. */
export type Step = [args: string[], expected: unknown];

interface Matcher {
  asymmetricMatch(actual: unknown): boolean;
  toString(): string;
}

function matcher(name: string, match: (actual: unknown) => boolean): Matcher {
  return { asymmetricMatch: match, toString: () => name };
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** A number within `tolerance` of `value` (TTLs move while the test runs). */
export function near(value: number, tolerance: number): Matcher {
  return matcher(`near(${value}, ${tolerance})`, (actual) => typeof actual === 'number' && Math.abs(actual - value) <= tolerance);
}

/** An array of exactly these strings, in any order. */
export function sorted(items: string[]): Matcher {
  const expected = JSON.stringify([...items].sort());
  return matcher(`sorted(${items.join(',')})`, (actual) => isStrings(actual) && JSON.stringify([...actual].sort()) === expected);
}

/** One of these strings. */
export function oneOf(items: string[]): Matcher {
  return matcher(`oneOf(${items.join(',')})`, (actual) => typeof actual === 'string' && items.includes(actual));
}

/**
 * `count` strings from `items`: all different ("distinct", a positive count)
 * or possibly repeated ("repeating", a negative count).
 */
export function picks(items: string[], count: number, mode: 'distinct' | 'repeating'): Matcher {
  return matcher(`picks(${items.join(',')}; ${count} ${mode})`, (actual) => {
    if (!isStrings(actual) || actual.length !== count || !actual.every((item) => items.includes(item))) return false;
    return mode === 'repeating' || new Set(actual).size === count;
  });
}

/** A flat field, value, field, value ... array holding exactly `entries`, pairs in any order. */
export function pairs(entries: Record<string, string>): Matcher {
  const expected = JSON.stringify(Object.entries(entries).sort());
  return matcher(`pairs(${JSON.stringify(entries)})`, (actual) => isStrings(actual) && JSON.stringify(toPairs(actual).sort()) === expected);
}

/** A flat array of `count` field, value pairs taken from `entries` (fields may repeat). */
export function pairPicks(entries: Record<string, string>, count: number): Matcher {
  return matcher(`pairPicks(${JSON.stringify(entries)}; ${count})`, (actual) => {
    if (!isStrings(actual) || actual.length !== 2 * count) return false;
    return toPairs(actual).every(([field, value]) => Object.hasOwn(entries, field) && entries[field] === value);
  });
}

/** A text too long for the table: its first digits, its length and its SHA-1. */
export function bigText(prefix: string, length: number, sha1: string): Matcher {
  return matcher(`bigText(${prefix}..., ${length}, ${sha1})`, (actual) => {
    if (typeof actual !== 'string') return false;
    return actual.startsWith(prefix) && actual.length === length && createHash('sha1').update(actual).digest('hex') === sha1;
  });
}

function toPairs(flat: string[]): [field: string, value: string][] {
  const result: [string, string][] = [];
  for (let index = 0; index + 1 < flat.length; index += 2) result.push([flat[index]!, flat[index + 1]!]);
  return flat.length % 2 === 0 ? result : [];
}

/** A request's reply through ioredis, Buffers in it as latin1 strings, errors as { error: message }. */
export async function run(client: Redis, args: readonly string[]): Promise<unknown> {
  try {
    return normalise(await client.call(args[0]!, ...args.slice(1)));
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function normalise(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (Array.isArray(value)) return value.map(normalise);
  return value;
}

/** Runs `steps` in order on an emptied server, each reply checked as it comes. */
export async function replay(client: Redis, steps: readonly Step[]): Promise<void> {
  await client.flushall();
  for (const [args, expected] of steps) {
    expect(await run(client, args), args.join(' ')).toEqual(expected);
  }
}

/**
 * A describe block `title` with one test per group of `table`, named after
 * the group, each replayed by replay() on a server started for the block.
 */
export function describeReplyTable(title: string, table: Readonly<Record<string, readonly Step[]>>): void {
  describe(title, () => {
    let client: Redis;

    beforeAll(async () => {
      const silt = await startServer();
      client = ioredis(silt.port);
    });
    afterAll(closeServers);

    for (const [group, steps] of Object.entries(table)) {
      it(group, async () => {
        await replay(client, steps);
      });
    }
  });
}

/**
 * Starts a server for the enclosing describe block, closes the clients each
 * test opened after it and the server after the block; returns the server
 * (call it from a hook or a test, once the server is up).
 */
export function useServer(): () => TestServer {
  let silt: TestServer | undefined;
  beforeAll(async () => {
    silt = await startServer();
  });
  afterEach(closeAll);
  afterAll(closeServers);
  return () => {
    if (silt === undefined) throw new Error('Cannot use the server: it is not started yet');
    return silt;
  };
}

/** A new ioredis client on `server`, every database emptied; closed by closeAll(). */
export async function freshClient(server: TestServer): Promise<Redis> {
  const client = ioredis(server.port);
  await client.flushall();
  return client;
}
