// Redis's long double arithmetic, bit for bit, for HINCRBYFLOAT. On x86-64
// (the redis-server silt is compared with) a C long double is the x87 80-bit
// extended format: a 64-bit significand and a 15-bit exponent. Redis reads
// both operands with strtold (round to nearest), adds them in that precision,
// and prints the sum with "%.17Lf" minus trailing zeros (util.c, ld2string),
// so 5.6 + 5000 answers "5005.60000000000000009", not "5005.6", and a
// stored 9e4932 (beyond LDBL_MAX) is "not a float".
//
// Values are kept exact as significand × 2^exponent (bigints) and rounded
// where the x87 unit rounds: after reading and after adding, to nearest, ties
// to even, with denormals below 2^-16382. Printing is exact and rounds ties to
// even, as glibc's printf does. numbers.ts reads the text (string2ld's
// grammar) into an exact decimal or a double; toExtended rounds that.

import type { LongDouble } from './numbers.js';

/** A finite x87 extended value: significand × 2^exponent, |significand| < 2^64 (zero is 0n). */
export interface Extended {
  readonly significand: bigint;
  readonly exponent: number;
}

/** Significand bits of the x87 extended format (the integer bit is explicit). */
const significandBits = 64;
const significandLimit = 1n << BigInt(significandBits);
/** Exponent of the largest finite value's last bit: LDBL_MAX is (2^64 - 1) × 2^16320. */
const exponentMax = 16383 - (significandBits - 1);
/** The denormals' quantum, 2^-16445: nothing finer is representable. */
const exponentMin = -16382 - (significandBits - 1);
/** Fraction digits of "%.17Lf". */
const fractionDigits = 17;
const fractionScale = 10n ** BigInt(fractionDigits);

const zero: Extended = { significand: 0n, exponent: 0 };

/**
 * `value` as strtold leaves it: rounded to the extended format.
 * @returns the value, or undefined when it is infinite, or when strtold would
 *   overflow (past LDBL_MAX) or underflow to zero, which string2ld refuses
 */
export function toExtended(value: LongDouble): Extended | undefined {
  if (value.kind === 'decimal') {
    if (value.mantissa === 0n) return zero;
    const rounded = round(value.mantissa, 10n ** BigInt(value.scale), 0);
    return rounded === undefined || rounded.significand === 0n ? undefined : rounded;
  }
  if (!Number.isFinite(value.value)) return undefined;
  return doubleToExtended(value.value);
}

/**
 * `a + b` in extended precision, rounded to nearest.
 * @returns the sum, or undefined when it overflows to infinity
 */
export function addExtended(a: Extended, b: Extended): Extended | undefined {
  const exponent = Math.min(a.exponent, b.exponent);
  const sum = (a.significand << BigInt(a.exponent - exponent)) + (b.significand << BigInt(b.exponent - exponent));
  return round(sum, 1n, exponent);
}

/**
 * The text Redis stores for `value` (ld2string, LD_STR_HUMAN): "%.17Lf" with
 * the trailing zeros and point removed, and "-0" written "0".
 */
export function formatExtended(value: Extended): string {
  const negative = value.significand < 0n;
  const magnitude = negative ? -value.significand : value.significand;
  let scaled: bigint;
  if (value.exponent >= 0) {
    scaled = (magnitude << BigInt(value.exponent)) * fractionScale;
  } else {
    scaled = divideRounded(magnitude * fractionScale, 1n << BigInt(-value.exponent));
  }
  const digits = scaled.toString().padStart(fractionDigits + 1, '0');
  let text = `${digits.slice(0, -fractionDigits)}.${digits.slice(-fractionDigits)}`.replace(/0+$/, '').replace(/\.$/, '');
  if (negative) text = `-${text}`;
  return text === '-0' ? '0' : text;
}

// ---------------------------------------------------------------- helpers

/**
 * (numerator / denominator) × 2^exponent rounded to the extended format: a
 * 64-bit significand, or fewer bits below the normal range (denormals).
 * @returns the value (zero when it underflows), or undefined when it overflows
 */
function round(numerator: bigint, denominator: bigint, exponent: number): Extended | undefined {
  if (numerator === 0n) return zero;
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  // The quotient of magnitude × 2^shift / denominator lies in [2^63, 2^65) for
  // this first shift; one less when it came out at 2^64 or more.
  let shift = significandBits - (bitLength(magnitude) - bitLength(denominator));
  if (scaledQuotient(magnitude, denominator, shift) >= significandLimit) shift -= 1;
  // Below the normal range the quantum stays 2^exponentMin.
  if (exponent - shift < exponentMin) shift = exponent - exponentMin;
  let significand = shift >= 0 ? divideRounded(magnitude << BigInt(shift), denominator) : divideRounded(magnitude, denominator << BigInt(-shift));
  let resultExponent = exponent - shift;
  if (significand === significandLimit) {
    significand >>= 1n;
    resultExponent += 1;
  }
  if (significand === 0n) return zero;
  if (resultExponent > exponentMax) return undefined;
  return { significand: negative ? -significand : significand, exponent: resultExponent };
}

function scaledQuotient(magnitude: bigint, denominator: bigint, shift: number): bigint {
  return shift >= 0 ? (magnitude << BigInt(shift)) / denominator : magnitude / (denominator << BigInt(-shift));
}

/** numerator / denominator (both > 0) rounded to nearest, ties to even. */
function divideRounded(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  const twiceRemainder = (numerator - quotient * denominator) * 2n;
  if (twiceRemainder > denominator || (twiceRemainder === denominator && (quotient & 1n) === 1n)) return quotient + 1n;
  return quotient;
}

function bitLength(value: bigint): number {
  return value.toString(2).length;
}

/** A finite double, exactly (every double is an extended value). */
function doubleToExtended(value: number): Extended {
  if (value === 0) return zero;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(value));
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const fraction = bits & ((1n << 52n) - 1n);
  // Denormal doubles have no implicit bit and the exponent of the smallest normal.
  const significand = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  return { significand: value < 0 ? -significand : significand, exponent };
}
