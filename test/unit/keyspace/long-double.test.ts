// x87 long double arithmetic as Redis's HINCRBYFLOAT does it
// (lib/keyspace/long-double.ts). Every expected text is what redis-server
// 7.0.15 on x86-64 answered to HINCRBYFLOAT with the same operands.

import { describe, expect, it } from 'vitest';
import { addExtended, formatExtended, toExtended } from '../../../lib/keyspace/long-double.js';
import { parseLongDouble } from '../../../lib/keyspace/numbers.js';

const extended = (text: string) => toExtended(parseLongDouble(Buffer.from(text, 'latin1'))!);

/** What HINCRBYFLOAT stores after adding `increment` to `stored`, or undefined when the sum is infinite. */
function sum(stored: string, increment: string): string | undefined {
  const total = addExtended(extended(stored)!, extended(increment)!);
  return total === undefined ? undefined : formatExtended(total);
}

describe('long double sums (HINCRBYFLOAT)', () => {
  it.each([
    ['0', '10.5', '10.5'],
    ['10.5', '0.1', '10.6'],
    ['5.6', '5000', '5005.60000000000000009'],
    ['5005.60000000000000009', '2.0e-3', '5005.60199999999999987'],
    ['0.1', '0.2', '0.3'],
    ['10', '1e-17', '10.00000000000000001'],
    ['-1.23456789012345678901234', '1e10', '9999999998.76543211005628109'],
    ['-1.5', '1.5', '0'],
    ['0', '-0.0', '0'],
    ['0', '-1e-18', '0'],
    ['0', '0x1p-3', '0.125'],
    ['1e300', '1e300', '2000000000000000000017994648159118387741047888546581495876520164642531293192361871511698304167500994380700745017228549671807185112369345967826192521041497292574654271283687306588168510215212033579453305864740061102765895241989080589545563779241212358535223254194821301134374772211380178849830208012288'],
  ])('%s + %s is %s', (stored, increment, expected) => {
    expect(sum(stored, increment)).toBe(expected);
  });

  it('prints "%.17Lf", rounding an exact tie to even as glibc does', () => {
    // 2^-18 = 0.000003814697265625: the 18th decimal is an exact 5.
    expect(sum('0', '0.000003814697265625')).toBe('0.00000381469726562');
    expect(sum('0', '3.814697265625e-7')).toBe('0.00000038146972656');
    expect(sum('0', '2.5e-17')).toBe('0.00000000000000002');
  });

  it('overflows past LDBL_MAX (about 1.19e4932) and underflows below the smallest denormal, as strtold', () => {
    expect(extended('1.18973149535723176502e4932')).toBeDefined();
    expect(extended('1.18973149535723176508e4932')).toBeUndefined();
    expect(extended('9e4932')).toBeUndefined();
    expect(extended('4e-4951')).toBeDefined();
    expect(sum('0', '4e-4951')).toBe('0');
    expect(extended('1e-4951')).toBeUndefined();
    expect(extended('inf')).toBeUndefined();
    expect(sum('1.1e4932', '1.1e4932')).toBeUndefined();
    expect(sum('1.1e4932', '-1.1e4932')).toBe('0');
  });
});
