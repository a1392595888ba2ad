// LZ4 block compression through lz4-napi. lz4-napi's block API writes the
// uncompressed length as a u32 little-endian prefix followed by one LZ4
// block (lz4_flex's "prepend size" layout); docs/format.md documents it as
// part of each segment data block. Decompression checks the declared length
// against a caller bound before allocating, so damaged bytes cannot make it
// allocate gigabytes.
//
// NB: compressSync() returns an external buffer: memory lz4-napi allocated
// (with the mimalloc it links in, not glibc), which Node frees from a
// callback that runs on this thread's event loop after a collection finds
// the buffer unreferenced. A synchronous loop of compressions therefore holds
// every output until it returns: a compaction writing 400 MB held 400 MB,
// and mimalloc keeps the pages afterwards (RSS that malloc_trim, jemalloc and
// MALLOC_* settings do not touch). Loops that compress more than a few
// blocks await lz4ReleaseIfDue() when it returns a promise
// (lib/compaction/compactor.ts).

import { compressSync, uncompressSync } from 'lz4-napi';

/** Compressed output a job may hold before it lets the event loop free it (see above), bytes. */
export const lz4CompressedPendingBytesMax = 4 * 1024 * 1024;

let pendingBytes = 0;

/** Compresses `data` to `[u32 LE raw length][LZ4 block]`. */
export function lz4Compress(data: Uint8Array): Buffer {
  const compressed = compressSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  // lz4-napi allocates the worst case (a little more than the input) before it compresses.
  pendingBytes += data.byteLength + 4;
  return compressed;
}

/**
 * When lz4Compress() has returned lz4CompressedPendingBytesMax or more on
 * this thread since the last release: a promise of one event-loop turn,
 * which frees the compressed buffers the garbage collector has found
 * unreferenced (see the note at the top), and the count starts again.
 * Otherwise undefined: a loop that compresses awaits what this returns when
 * it is not undefined.
 */
export function lz4ReleaseIfDue(): Promise<void> | undefined {
  if (pendingBytes < lz4CompressedPendingBytesMax) return undefined;
  pendingBytes = 0;
  return new Promise<void>((resolve) => setImmediate(resolve));
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
