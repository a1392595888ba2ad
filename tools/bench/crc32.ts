// Benchmark: CRC-32/IEEE from the `crc-32` package (a JS table loop) against
// Node's native `zlib.crc32`, at the input sizes silt checksums (WAL records
// of tens to hundreds of bytes, 4 KiB blocks, large values). It justifies
// `crc32NativeThresholdBytes` in lib/format/crc32.ts: inputs at or above the
// threshold go to zlib. Each size runs a warm-up, then takes the best of
// several timed rounds to damp noise from JIT and GC.
//
// Run: npx tsc -p tsconfig.build.json && node dist/tools/bench/crc32.js

import zlib from 'node:zlib';
import CRC32 from 'crc-32';
import { crc32, crc32NativeThresholdBytes } from '../../lib/format/crc32.js';

const sizes = [16, 64, 128, 256, 512, 1024, 4096, 65_536];
const rounds = 7;
const bytesPerRound = 32 * 1024 * 1024;

type Crc = (data: Uint8Array) => number;

const nativeCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** Nanoseconds per call of `crc` on `data`: best of `rounds` rounds. */
function measure(crc: Crc, data: Uint8Array): number {
  const iterations = Math.max(1000, Math.floor(bytesPerRound / data.length));
  let sink = 0;
  for (let index = 0; index < iterations; index++) sink ^= crc(data); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let index = 0; index < iterations; index++) sink ^= crc(data);
    const elapsed = Number(process.hrtime.bigint() - start);
    best = Math.min(best, elapsed / iterations);
  }
  if (sink === 0.5) console.log('unreachable'); // keeps `sink` alive
  return best;
}

function main(): void {
  if (nativeCrc32 === undefined) {
    console.log('zlib.crc32 is not available in this Node version; crc32() always uses the crc-32 package');
    return;
  }
  const native = nativeCrc32;
  console.log(`node ${process.version}; crc32NativeThresholdBytes = ${crc32NativeThresholdBytes}`);
  console.log('bytes    crc-32 ns/op   zlib ns/op   crc-32/zlib   silt crc32() ns/op');
  for (const size of sizes) {
    const data = new Uint8Array(size).map((_, index) => (index * 131 + 7) & 0xff);
    if ((CRC32.buf(data) >>> 0) !== (native(data) >>> 0)) throw new Error(`Cannot benchmark CRC-32 at ${size} bytes: the implementations disagree`);
    const table = measure((bytes) => CRC32.buf(bytes), data);
    const zlibNs = measure((bytes) => native(bytes), data);
    const silt = measure(crc32, data);
    console.log(
      `${String(size).padStart(5)}  ${table.toFixed(1).padStart(13)}  ${zlibNs.toFixed(1).padStart(11)}  ${(table / zlibNs).toFixed(2).padStart(12)}  ${silt.toFixed(1).padStart(19)}`,
    );
  }
}

main();
