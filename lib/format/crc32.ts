// CRC-32/IEEE (polynomial 0xEDB88320 reflected, init and xorout 0xFFFFFFFF),
// the variant zlib, gzip and PNG use, returned unsigned. Two implementations
// compute the same value and each is used where it is faster: the `crc-32`
// package's table loop for short inputs (WAL records of a few hundred bytes),
// and Node's native `zlib.crc32` for longer ones (4 KiB blocks), where it is
// about 2.6x faster. tools/bench/crc32.ts measures the crossover.

import zlib from 'node:zlib';
import CRC32 from 'crc-32';

/** Inputs shorter than this many bytes use the JS table; longer ones zlib. */
export const crc32NativeThresholdBytes = 256;

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** CRC-32/IEEE of `data`, as an unsigned 32-bit integer. */
export function crc32(data: Uint8Array): number {
  if (nativeCrc32 !== undefined && data.length >= crc32NativeThresholdBytes) return nativeCrc32(data) >>> 0;
  return CRC32.buf(data) >>> 0;
}

/** CRC-32/IEEE of `data` continuing from a previous `crc` (for data in parts). */
export function crc32Continue(crc: number, data: Uint8Array): number {
  if (nativeCrc32 !== undefined && data.length >= crc32NativeThresholdBytes) return nativeCrc32(data, crc) >>> 0;
  return CRC32.buf(data, crc | 0) >>> 0;
}
