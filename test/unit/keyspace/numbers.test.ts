// Redis number formats (lib/keyspace/numbers.ts): string2ll's strict integers,
// string2ld's floats, INCRBYFLOAT's human-friendly text, and the expiry
// arithmetic of lib/keyspace/ttl.ts.

import { describe, expect, it } from 'vitest';
import { formatHumanDouble, parseFloat64, parseInt32, parseInt64, parseLongDouble, type LongDouble } from '../../../lib/keyspace/numbers.js';
import { addExtended, formatExtended, toExtended } from '../../../lib/keyspace/long-double.js';
import { commandExpireMs, stringExpireMs, ttlReply } from '../../../lib/keyspace/ttl.js';
import { stringRecord } from '../../../lib/keyspace/metadata.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('parseInt64 (string2ll)', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['-1', -1],
    ['123456789012345', 123456789012345],
    ['9007199254740991', 9007199254740991],
    ['9007199254740993', 9007199254740993n],
    ['9223372036854775807', 9223372036854775807n],
    ['-9223372036854775808', -9223372036854775808n],
  ] as const)('%s -> %s', (text, expected) => {
    expect(parseInt64(b(text))).toBe(expected);
  });

  it.each(['', '-', '+1', '01', '-0', ' 1', '1 ', '1.0', '1e3', 'abc', '9223372036854775808', '-9223372036854775809', '123456789012345678901'])('refuses %j', (text) => {
    expect(parseInt64(b(text))).toBeUndefined();
  });

  it('parseInt32 keeps to 32 bits', () => {
    expect(parseInt32(b('2147483647'))).toBe(2147483647);
    expect(parseInt32(b('2147483648'))).toBeUndefined();
    expect(parseInt32(b('-2147483648'))).toBe(-2147483648);
  });
});

describe('parseLongDouble (string2ld) and INCRBYFLOAT text (long-double.ts)', () => {
  // Expected sums recorded from redis-server 7.0.15 (SET k a; INCRBYFLOAT k c).
  const sum = (a: string, c: string): string | undefined => {
    const augend = toExtended(parseLongDouble(b(a))!);
    const addend = toExtended(parseLongDouble(b(c))!);
    const total = augend === undefined || addend === undefined ? undefined : addExtended(augend, addend);
    return total === undefined ? undefined : formatExtended(total);
  };

  it.each([
    ['10.50', '0.1', '10.6'],
    ['0.1', '0.2', '0.3'],
    ['5.0e3', '2.0e2', '5200'],
    ['1', '-1', '0'],
    ['-0.5', '0.25', '-0.25'],
    ['3', '1', '4'],
    ['.5', '1.', '1.5'],
    ['1e-20', '0', '0'],
    ['-1e-20', '0', '0'],
    ['0.123456789012345678', '0', '0.12345678901234568'],
    ['1e30', '1', '1000000000000000000024696061952'],
    ['5.6', '5000', '5005.60000000000000009'],
    ['0x10', '1', '17'],
    ['+2', '-0.5', '1.5'],
  ])('%s + %s = %s', (a, c, expected) => {
    expect(sum(a, c)).toBe(expected);
  });

  it('refuses NaN, spaces, trailing bytes and out-of-range exponents', () => {
    for (const text of ['', ' 1', '1 ', 'nan', 'NaN', '1e', 'e5', '.', '1x', '0x', '1e99999', '1e-99999', '--1']) {
      expect(parseLongDouble(b(text)), text).toBeUndefined();
    }
  });

  it('reads infinities, whose sums are refused', () => {
    const inf = parseLongDouble(b('inf'))!;
    expect(inf).toEqual({ kind: 'double', value: Infinity });
    expect(parseLongDouble(b('-Infinity'))).toEqual({ kind: 'double', value: -Infinity });
    expect(toExtended(inf)).toBeUndefined();
    expect(toExtended({ kind: 'double', value: -Infinity } as LongDouble)).toBeUndefined();
  });

  it('formats doubles in fixed notation with at most 17 decimals', () => {
    expect(formatHumanDouble(1.5e-7)).toBe('0.00000015');
    expect(formatHumanDouble(1e21)).toBe('1000000000000000000000');
    expect(formatHumanDouble(-0)).toBe('0');
    expect(formatHumanDouble(3)).toBe('3');
    expect(formatHumanDouble(1e-18)).toBe('0');
    expect(parseFloat64(b('1.25'))).toBe(1.25);
    expect(parseFloat64(b('x'))).toBeUndefined();
  });
});

describe('expiry arithmetic (ttl.ts)', () => {
  const now = 1_700_000_000_000;

  it('SET-style times: relative or absolute, positive, within 64 bits', () => {
    expect(stringExpireMs(b('10'), 'seconds', true, now)).toBe(now + 10_000);
    expect(stringExpireMs(b('10'), 'milliseconds', true, now)).toBe(now + 10);
    expect(stringExpireMs(b('10'), 'seconds', false, now)).toBe(10_000);
    expect(stringExpireMs(b('0'), 'seconds', true, now)).toBe('invalid');
    expect(stringExpireMs(b('-1'), 'milliseconds', false, now)).toBe('invalid');
    expect(stringExpireMs(b('x'), 'seconds', true, now)).toBe('not-integer');
    expect(stringExpireMs(b('9223372036854775'), 'seconds', false, now)).toBe(9223372036854775000);
    expect(stringExpireMs(b('9223372036854776'), 'seconds', false, now)).toBe('invalid');
    expect(stringExpireMs(b('9223372036854775807'), 'milliseconds', false, now)).toBe(Number(9223372036854775807n));
    expect(stringExpireMs(b('9223372036854775807'), 'milliseconds', true, now)).toBe('invalid');
  });

  it('EXPIRE-style times: may be negative, refused only on 64-bit overflow', () => {
    expect(commandExpireMs(b('-5'), 'seconds', now)).toBe(now - 5000);
    expect(commandExpireMs(b('100'), 'milliseconds', 0)).toBe(100);
    expect(commandExpireMs(b('9223372036854775'), 'seconds', 0)).toBe(9223372036854775000);
    expect(commandExpireMs(b('9223372036854776'), 'seconds', 0)).toBe('invalid');
    expect(commandExpireMs(b('-9223372036854776'), 'seconds', 0)).toBe('invalid');
    expect(commandExpireMs(b('9223372036854775807'), 'milliseconds', now)).toBe('invalid');
    expect(commandExpireMs(b('1.5'), 'seconds', now)).toBe('not-integer');
  });

  it('reports TTLs rounded as Redis rounds them', () => {
    const record = stringRecord(b('v'), now + 1499, 1);
    expect(ttlReply(record, now, 'seconds', false)).toBe(1);
    expect(ttlReply(stringRecord(b('v'), now + 1500, 1), now, 'seconds', false)).toBe(2);
    expect(ttlReply(record, now, 'milliseconds', false)).toBe(1499);
    expect(ttlReply(record, now + 5000, 'milliseconds', false)).toBe(0);
    expect(ttlReply(record, now, 'milliseconds', true)).toBe(now + 1499);
    expect(ttlReply(stringRecord(b('v'), 0, 1), now, 'seconds', false)).toBe(-1);
  });
});
