// Shared by the RESP codec tests: the three ways every case is fed to a
// decoder (whole, byte by byte, split at random points, as STYLE.md section 9
// asks and as redis/node-redis's decoder.spec.ts does), and the run count.

import fc from 'fast-check';

/** Property-test runs, from SILT_PROPERTY_RUNS (default 200). */
export const propertyRuns = Number(process.env.SILT_PROPERTY_RUNS ?? 200);

/** `input` cut before each of `points` (sorted, deduplicated, within 1..length-1). */
export function splitAt(input: Buffer, points: readonly number[]): Buffer[] {
  const cuts = [...new Set(points.filter((point) => point > 0 && point < input.length))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    pieces.push(input.subarray(from, cut));
    from = cut;
  }
  pieces.push(input.subarray(from));
  // Fresh copies: a decoder may keep views of what it is fed, and tests must not share bytes between runs.
  return pieces.map((piece) => Buffer.from(piece));
}

/** One piece per byte. */
export function byteByByte(input: Buffer): Buffer[] {
  return splitAt(input, Array.from({ length: input.length }, (_, index) => index));
}

/** Random cut points for an input of `length` bytes (none, some, or many). */
export function splitPoints(length: number): fc.Arbitrary<number[]> {
  return length < 2 ? fc.constant([]) : fc.array(fc.integer({ min: 1, max: length - 1 }), { maxLength: Math.min(64, length) });
}

/** Runs `check` on the input whole, byte by byte, and split at random points. */
export function everySplit(input: Buffer, check: (pieces: Buffer[], how: string) => void): void {
  check([Buffer.from(input)], 'whole');
  check(byteByByte(input), 'byte by byte');
  fc.assert(
    fc.property(splitPoints(input.length), (points) => {
      check(splitAt(input, points), `split at ${JSON.stringify(points)}`);
    }),
    { numRuns: Math.max(1, Math.floor(propertyRuns / 4)) },
  );
}

/** A multibulk request for `args`. */
export function multibulk(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'latin1') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}
