// Numbers as Redis reads and writes them in string values and arguments
// (redis/redis src/util.c): string2ll's strict integers, string2ld's floats,
// and the "human friendly" float text INCRBYFLOAT stores.
//
// Integers are 64-bit in Redis; JavaScript numbers are exact below 2^53, so
// parsers return a number when it is exact and a bigint otherwise, and the
// callers that need all 64 bits (INCR, DECRBY ...) handle both.

/** Redis's LLONG_MAX and LLONG_MIN. */
export const int64Max = 0x7fff_ffff_ffff_ffffn;
export const int64Min = -0x8000_0000_0000_0000n;

/** A 64-bit integer: a number when |value| <= 2^53 - 1, else a bigint. */
export type Int64 = number | bigint;

/** Longest text string2ll accepts (LONG_STR_SIZE - 1: sign and 19 digits). */
const int64TextBytesMax = 20;

/**
 * Parses `text` exactly as Redis's string2ll: optional `-`, no `+`, no
 * leading zeros (but "0"), no spaces, within [LLONG_MIN, LLONG_MAX].
 * @returns the value, or undefined when `text` is not such an integer
 */
export function parseInt64(text: Buffer): Int64 | undefined {
  const length = text.length;
  if (length === 0 || length > int64TextBytesMax) return undefined;
  if (length === 1 && text[0] === 0x30) return 0;
  let index = 0;
  const negative = text[0] === 0x2d;
  if (negative) {
    index = 1;
    if (length === 1) return undefined;
  }
  const first = text[index]!;
  if (first < 0x31 || first > 0x39) return undefined;
  // Up to 15 digits stay below 2^53: add them as a number.
  const digits = length - index;
  if (digits <= 15) {
    let value = 0;
    for (; index < length; index++) {
      const digit = text[index]! - 0x30;
      if (digit < 0 || digit > 9) return undefined;
      value = value * 10 + digit;
    }
    return negative ? -value : value;
  }
  let value = 0n;
  for (; index < length; index++) {
    const digit = text[index]! - 0x30;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10n + BigInt(digit);
  }
  if (negative) value = -value;
  if (value > int64Max || value < int64Min) return undefined;
  return normalizeInt64(value);
}

/** A bigint as an Int64: a number when exact. */
export function normalizeInt64(value: bigint): Int64 {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
}

/** Decimal text of an Int64 (ll2string). */
export function int64Text(value: Int64): string {
  return typeof value === 'number' ? String(value) : value.toString();
}

/** Parses an int argument (getIntFromObject): a 32-bit signed integer, else undefined. */
export function parseInt32(text: Buffer): number | undefined {
  const value = parseInt64(text);
  if (typeof value !== 'number' || value > 0x7fff_ffff || value < -0x8000_0000) return undefined;
  return value;
}

/** Parses a long argument (getLongLongFromObject) as a number; values beyond 2^53 lose precision, as a double would. */
export function parseLong(text: Buffer): number | undefined {
  const value = parseInt64(text);
  return value === undefined ? undefined : Number(value);
}

/** Longest text string2ld accepts (MAX_LONG_DOUBLE_CHARS - 1). */
const floatTextBytesMax = 5 * 1024 - 1;

const decimalFloat = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const infinity = /^([+-]?)inf(?:inity)?$/i;
const hexFloat = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?$/;

/**
 * Decimal exponent range of a long double (LDBL_MAX is about 1.19e4932, the
 * smallest denormal about 3.6e-4951): texts beyond it overflow or underflow in
 * strtold, and string2ld refuses them.
 */
const longDoubleDigitsMax = 4932;
const longDoubleDigitsMin = -4950;

/**
 * A float as string2ld reads it. Decimal texts stay exact (a scaled bigint),
 * which reproduces what Redis's long double arithmetic shows for the sums
 * people make (0.1 + 0.2 is 0.3, not 0.30000000000000004); hexadecimal floats
 * and infinities are doubles.
 */
export type LongDouble =
  | { readonly kind: 'decimal'; readonly mantissa: bigint; readonly scale: number }
  | { readonly kind: 'double'; readonly value: number };

/**
 * Parses `text` as Redis's string2ld (strtold refusing leading spaces,
 * trailing bytes, NaN, overflow and underflow): decimal and hexadecimal
 * floats, `inf`/`infinity` in any case.
 * @returns the value, or undefined when Redis would answer "value is not a valid float"
 */
export function parseLongDouble(text: Buffer): LongDouble | undefined {
  if (text.length === 0 || text.length > floatTextBytesMax) return undefined;
  const source = text.toString('latin1');
  const decimal = decimalFloat.exec(source);
  if (decimal !== null) return parseDecimal(decimal);
  const inf = infinity.exec(source);
  if (inf !== null) return { kind: 'double', value: inf[1] === '-' ? -Infinity : Infinity };
  const hex = hexFloat.exec(source);
  if (hex !== null && (hex[2] !== '' || (hex[3] ?? '') !== '')) return { kind: 'double', value: parseHexFloat(hex) };
  return undefined;
}

function parseDecimal(match: RegExpExecArray): LongDouble | undefined {
  const [, sign, whole = '', fraction = '', exponentText = '0'] = match;
  if (whole === '' && fraction === '') return undefined;
  const digits = (whole + fraction).replace(/^0+/, '');
  if (digits === '') return { kind: 'decimal', mantissa: 0n, scale: 0 };
  if (exponentText.length > 12) return undefined; // far outside the long double range either way
  const exponent = Number(exponentText);
  // Position of the most significant digit relative to the point.
  const magnitude = digits.length - fraction.length + exponent;
  if (magnitude > longDoubleDigitsMax + 1 || magnitude < longDoubleDigitsMin) return undefined;
  let mantissa = BigInt(digits);
  let scale = fraction.length - exponent;
  if (scale < 0) {
    mantissa *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { kind: 'decimal', mantissa: sign === '-' ? -mantissa : mantissa, scale };
}

function parseHexFloat(match: RegExpExecArray): number {
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  let value = whole === '' ? 0 : Number.parseInt(whole, 16);
  for (let index = 0; index < fraction.length; index++) value += Number.parseInt(fraction[index]!, 16) / 16 ** (index + 1);
  value *= 2 ** Number(exponent);
  return sign === '-' ? -value : value;
}

/** Fraction digits Redis prints in human-friendly form (%.17Lf). */
const humanFractionDigits = 17;

function toDouble(value: LongDouble): number {
  return value.kind === 'double' ? value.value : Number(`${value.mantissa}e-${value.scale}`);
}

/**
 * Parses `text` as a double the way Redis's string2d / strtod-based parsers
 * do (scores, timeouts): decimal or hexadecimal, `inf`, no spaces, no NaN.
 * @returns the value, or undefined when it is not a valid float
 */
export function parseFloat64(text: Buffer): number | undefined {
  const parsed = parseLongDouble(text);
  if (parsed === undefined) return undefined;
  return toDouble(parsed);
}

/**
 * Formats a double in fixed notation with at most 17 decimals, trailing zeros
 * and point removed: the shortest text that reads back as the same double.
 */
export function formatHumanDouble(value: number): string {
  if (Object.is(value, -0)) return '0';
  if (Number.isInteger(value)) return Math.abs(value) < 1e21 ? String(value) : BigInt(value).toString();
  let text = String(value);
  if (text.includes('e') || fractionDigits(text) > humanFractionDigits) text = value.toFixed(humanFractionDigits);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

function fractionDigits(text: string): number {
  const point = text.indexOf('.');
  return point === -1 ? 0 : text.length - point - 1;
}
