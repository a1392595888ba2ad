// A per-thread scratch area in WebAssembly memory where a point read decodes
// one block without allocating (lib/segment/block-io.ts readBlockScratch()):
// the stored bytes are read into `input`, checked there, and LZ4 blocks are
// decoded into the output area by lz4-block-decoder.wat. What it holds is
// valid until the next use, on this thread; a reader that keeps a block
// reads it into memory of its own instead (readBlock()).
//
// Why: a point read that misses the block cache used to cost a new buffer per
// block (lz4-napi's output, external memory with its malloc, finalizer and
// sweep), more than the decoding itself; the block is usually not read again
// (docs/bench.md, "readrandom cold"). The decoder decodes a 4 KiB data block
// in about 0.7 us, lz4-napi in about 1.6 (with its buffer).
//
// Layout of the memory (4 pages, fixed: growing it would detach the views):
//   [0, scratchInputBytes + slack)                            stored bytes and trailer
//   [outputStart, outputStart + scratchOutputBytes + slack)   the decoded block
// The decoder's wild copies need `slack` bytes past each range.

import { lz4BlockDecoderWasm } from './lz4-block-decoder-wasm.js';

/** Stored bytes plus trailer the input area takes; a larger block is read into a buffer of its own. */
export const scratchInputBytes = 64 * 1024;
/** Decoded bytes the output area takes. */
export const scratchOutputBytes = 128 * 1024;
const slack = 16;
const outputStart = 80 * 1024;
const pages = 4;

// What this file uses of the WebAssembly global (Node has it; @types/node 20 does not declare it).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
};

interface DecoderExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  decode(src: number, srcEnd: number, dst: number, dstEnd: number): number;
}

/** The decoder and its memory, made on first use. */
export interface Lz4Scratch {
  /** Where stored bytes go: `scratchInputBytes` long. */
  readonly input: Buffer;
  /** The whole output area (decode() returns a view of its start). */
  readonly output: Buffer;
  /**
   * Decodes the LZ4 block in `input[start, end)` into the output area.
   * @returns a view of `rawLength` decoded bytes, or undefined when the block
   *   is malformed or does not decode to exactly `rawLength` bytes
   */
  decode(start: number, end: number, rawLength: number): Buffer | undefined;
}

let scratch: Lz4Scratch | undefined;

/** This thread's scratch area. */
export function lz4Scratch(): Lz4Scratch {
  scratch ??= makeScratch();
  return scratch;
}

function makeScratch(): Lz4Scratch {
  const module = new WebAssembly.Module(Buffer.from(lz4BlockDecoderWasm, 'base64'));
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as DecoderExports;
  exports.memory.grow(pages - exports.memory.buffer.byteLength / 65536);
  const memory = Buffer.from(exports.memory.buffer);
  const input = memory.subarray(0, scratchInputBytes);
  const output = memory.subarray(outputStart, outputStart + scratchOutputBytes);
  if (scratchInputBytes + slack > outputStart || outputStart + scratchOutputBytes + slack > memory.length) throw new Error('the LZ4 scratch layout does not fit its memory');
  const decode = exports.decode;
  return {
    input,
    output,
    decode(start: number, end: number, rawLength: number): Buffer | undefined {
      if (start < 0 || start > end || end > scratchInputBytes || rawLength > scratchOutputBytes) return undefined;
      const written = decode(start, end, outputStart, outputStart + rawLength);
      return written === rawLength ? output.subarray(0, rawLength) : undefined;
    },
  };
}
