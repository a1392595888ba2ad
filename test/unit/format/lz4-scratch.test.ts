// The WebAssembly LZ4 block decoder (lib/format/lz4-block-decoder.wat) that
// point reads decode into scratch memory with (lib/format/lz4-scratch.ts).
// Strategy: blocks lz4-napi compressed (lz4Compress(), the segment writer's
// compressor) decode back to their input, for inputs shaped like segment
// blocks and worse (runs, short repeats that make overlapping matches,
// random bytes, up to the scratch output's 128 KiB); damaged blocks (bytes
// flipped, truncated, extended, a wrong declared length) never make the
// decoder write outside its output range and its slack, and decode to
// undefined or to exactly the declared length. The generated module must be
// what the .wat compiles to.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { lz4Compress } from '../../../lib/format/lz4.js';
import { lz4Scratch, scratchInputBytes, scratchOutputBytes } from '../../../lib/format/lz4-scratch.js';
import { compileWat, generatedPath, generatedSource, watPath } from '../../../tools/dev/build-wasm.js';
import { propertyRuns } from '../segment/segment-test-support.js';

const slack = 16;
const sentinel = 0xa5;

/** Decodes `compressed` ([u32 raw length][LZ4 block]) through the scratch memory, declaring `rawLength`. */
function decode(compressed: Uint8Array, rawLength = Buffer.from(compressed).readUInt32LE(0)): Buffer | undefined {
  const scratch = lz4Scratch();
  scratch.input.set(compressed);
  return scratch.decode(4, compressed.length, rawLength);
}

/** Inputs: pieces of random bytes, runs of one byte, and repeats of a short pattern (overlapping matches). */
const inputArbitrary = fc
  .array(
    fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 300 }),
      fc.record({ byte: fc.integer({ min: 0, max: 255 }), length: fc.integer({ min: 1, max: 5000 }) }).map(({ byte, length }) => new Uint8Array(length).fill(byte)),
      fc.record({ pattern: fc.uint8Array({ minLength: 1, maxLength: 12 }), length: fc.integer({ min: 1, max: 3000 }) }).map(({ pattern, length }) => {
        const out = new Uint8Array(length);
        for (let index = 0; index < length; index++) out[index] = pattern[index % pattern.length]!;
        return out;
      }),
    ),
    { maxLength: 40 },
  )
  .map((pieces) => Buffer.concat(pieces).subarray(0, scratchOutputBytes));

describe('LZ4 scratch decoder', () => {
  it('is the module lz4-block-decoder.wat compiles to (npm run build:wasm regenerates it)', async () => {
    const bytes = await compileWat(readFileSync(watPath(), 'utf8'));
    expect(readFileSync(generatedPath(), 'utf8')).toBe(generatedSource(bytes));
  });

  it('decodes what lz4-napi compressed back to the input', () => {
    fc.assert(
      fc.property(inputArbitrary, (input) => {
        const compressed = lz4Compress(input);
        if (compressed.length > scratchInputBytes) return;
        const raw = decode(compressed);
        expect(raw?.equals(input)).toBe(true);
      }),
      { numRuns: propertyRuns(300) },
    );
  });

  it('decodes a segment-like block, an empty one and one of exactly the scratch output size', () => {
    const entries: Buffer[] = [];
    for (let index = 0; index < 40; index++) entries.push(Buffer.from(`\u0000\u0010key:${String(index).padStart(12, '0')}`), Buffer.alloc(100, index % 3));
    for (const input of [Buffer.concat(entries), Buffer.alloc(0), Buffer.alloc(scratchOutputBytes, 7)]) {
      expect(decode(lz4Compress(input))?.equals(input)).toBe(true);
    }
  });

  it('turns down a declared length other than the decoded one, and lengths past the output', () => {
    const input = Buffer.from('abcabcabcabcabcabcabcabc-some literals-abcabcabcabc');
    const compressed = lz4Compress(input);
    expect(decode(compressed, input.length - 1)).toBeUndefined();
    expect(decode(compressed, input.length + 1)).toBeUndefined();
    expect(decode(compressed, scratchOutputBytes + 1)).toBeUndefined();
    expect(lz4Scratch().decode(4, scratchInputBytes + 1, input.length)).toBeUndefined();
  });

  it('never writes outside the output range and its slack, whatever the bytes', () => {
    const damage = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), bits: fc.constant(0) }),
      fc.record({ kind: fc.constant('extend' as const), at: fc.nat(), bits: fc.integer({ min: 0, max: 255 }) }),
    );
    fc.assert(
      fc.property(inputArbitrary, fc.array(damage, { minLength: 1, maxLength: 4 }), fc.integer({ min: -64, max: 64 }), (input, damages, lengthDelta) => {
        let compressed = Buffer.from(lz4Compress(input));
        for (const { kind, at, bits } of damages) {
          const position = 4 + (at % Math.max(1, compressed.length - 4));
          if (kind === 'flip' && position < compressed.length) compressed[position]! ^= bits;
          else if (kind === 'truncate') compressed = compressed.subarray(0, Math.max(4, position));
          else compressed = Buffer.concat([compressed, Buffer.of(bits)]);
        }
        if (compressed.length > scratchInputBytes) return;
        const rawLength = Math.max(0, Math.min(scratchOutputBytes, input.length + lengthDelta));
        const scratch = lz4Scratch();
        const guard = Math.min(scratchOutputBytes, rawLength + slack);
        scratch.output.fill(sentinel, guard);
        const raw = decode(compressed, rawLength);
        if (raw !== undefined) expect(raw.length).toBe(rawLength);
        for (let index = guard; index < scratch.output.length; index++) if (scratch.output[index] !== sentinel) throw new Error(`byte ${index} of the output area written (raw length ${rawLength})`);
      }),
      { numRuns: propertyRuns(300) },
    );
  });
});
