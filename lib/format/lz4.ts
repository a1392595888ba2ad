// LZ4 block compression through lz4-napi. lz4-napi's block API writes the
// uncompressed length as a u32 little-endian prefix followed by one LZ4
// block (lz4_flex's "prepend size" layout); docs/format.md documents it as
// part of each segment data block. Decompression checks the declared length
// against a caller bound before allocating, so damaged bytes cannot make it
// allocate gigabytes.

import { compressSync, uncompressSync } from 'lz4-napi';

/** Compresses `data` to `[u32 LE raw length][LZ4 block]`. */
export function lz4Compress(data: Uint8Array): Buffer {
  return compressSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * Decompresses `[u32 LE raw length][LZ4 block]`.
 * @returns the raw bytes, or undefined when the input is malformed or its declared raw length exceeds `rawBytesMax`.
 */
export function lz4Decompress(data: Buffer, rawBytesMax: number): Buffer | undefined {
  if (data.length < 4) return undefined;
  const rawLength = data.readUInt32LE(0);
  if (rawLength > rawBytesMax) return undefined;
  let raw: Buffer;
  try {
    raw = uncompressSync(data);
  } catch {
    return undefined; // malformed LZ4: the caller reports corruption with file and offset
  }
  if (raw.length !== rawLength) return undefined;
  return raw;
}
