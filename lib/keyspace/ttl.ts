// Expiry times as Redis computes them from command arguments (t_string.c
// getExpireMillisecondsOrReply for SET/GETEX, expire.c expireGenericCommand
// for EXPIRE and friends) and reports them (TTL, PTTL, EXPIRETIME).
//
// Arguments are 64-bit integers; the arithmetic is exact (bigint) wherever a
// double could round, so the overflow checks refuse exactly what Redis
// refuses. Stored expiry times are ms since the epoch (docs/format.md,
// "Keyspace encoding"): exact up to 2^53 ms (the year 287396).

import { int64Max, int64Min, parseInt64 } from './numbers.js';
import { recordExpireMs } from './metadata.js';

export type TimeUnit = 'seconds' | 'milliseconds';

/** Why an expire argument was refused: not an integer, or Redis's "invalid expire time". */
export type ExpireRefusal = 'not-integer' | 'invalid';

/** Below this magnitude the number arithmetic below is exact (x 1000 + now stays under 2^53). */
const exactBelow = 2 ** 53 / 1000 - 2 ** 42;

/**
 * SET/SETEX/PSETEX/GETEX: the absolute expiry time for `argument`.
 * @param relative EX/PX (add now) rather than EXAT/PXAT
 * @returns ms since the epoch, or why it was refused
 */
export function stringExpireMs(argument: Buffer, unit: TimeUnit, relative: boolean, nowMs: number): number | ExpireRefusal {
  const value = parseInt64(argument);
  if (value === undefined) return 'not-integer';
  if (typeof value === 'number' && Math.abs(value) < exactBelow) {
    if (value <= 0) return 'invalid';
    const ms = (unit === 'seconds' ? value * 1000 : value) + (relative ? nowMs : 0);
    return ms;
  }
  let ms = BigInt(value);
  if (ms <= 0n || (unit === 'seconds' && ms > int64Max / 1000n)) return 'invalid';
  if (unit === 'seconds') ms *= 1000n;
  if (relative) ms += BigInt(nowMs);
  if (ms > int64Max) return 'invalid'; // C overflows into a negative number here
  return Number(ms);
}

/**
 * EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT: the absolute expiry time for `argument`
 * (may be in the past, even negative: the key is then deleted).
 * @param baseMs now for EXPIRE/PEXPIRE, 0 for the AT forms
 */
export function commandExpireMs(argument: Buffer, unit: TimeUnit, baseMs: number): number | ExpireRefusal {
  const value = parseInt64(argument);
  if (value === undefined) return 'not-integer';
  if (typeof value === 'number' && Math.abs(value) < exactBelow) return (unit === 'seconds' ? value * 1000 : value) + baseMs;
  let when = BigInt(value);
  if (unit === 'seconds') {
    if (when > int64Max / 1000n || when < int64Min / 1000n) return 'invalid';
    when *= 1000n;
  }
  if (when > int64Max - BigInt(baseMs)) return 'invalid';
  return Number(when + BigInt(baseMs));
}

/**
 * TTL, PTTL, EXPIRETIME, PEXPIRETIME of a live record: -1 without expiry,
 * else the time left (or the expiry time), never negative, seconds rounded
 * as Redis rounds them. An expiry stored as 2^63 ms (the double nearest
 * 2^63 - 1, which PEXPIREAT accepts) answers 2^63 - 1 in milliseconds, as
 * Redis does: a reply must fit a signed 64-bit integer.
 */
export function ttlReply(record: Buffer, nowMs: number, unit: TimeUnit, absolute: boolean): number | bigint {
  const expireMs = recordExpireMs(record);
  if (expireMs === 0) return -1;
  let ttl = absolute ? expireMs : expireMs - nowMs;
  if (ttl < 0) ttl = 0;
  if (unit === 'seconds') return Math.floor((ttl + 500) / 1000);
  return ttl >= 2 ** 63 ? int64Max : ttl;
}
