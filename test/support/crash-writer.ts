// Child process for crash tests: opens an LsmEngine under `always`, writes the
// crash workload from batch FIRST on with CONCURRENCY writers in flight, and
// prints `ack <b>` for each batch once write() resolves, until it is killed.
// Small memtables make flushes and compactions run all the time, so kills land
// in the middle of them too.
//
// usage: node dist/test/support/crash-writer.js DIR FIRST [CONCURRENCY]

import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { toWriteBatch, workloadBatch } from './crash-workload.js';

const [dir, firstText, concurrencyText] = process.argv.slice(2);
if (dir === undefined || firstText === undefined) {
  process.stderr.write('usage: crash-writer DIR FIRST [CONCURRENCY]\n');
  process.exit(2);
}
const concurrency = Number(concurrencyText ?? 32);

const engine = await LsmEngine.open(dir, {
  syncPolicy: 'always',
  memtableBytes: 32 * 1024,
  level0CompactionTrigger: 2,
  level1BytesTarget: 128 * 1024,
  segmentBytesTarget: 64 * 1024,
});
process.stdout.write('ready\n');

let next = Number(firstText);
let pendingOutput = '';
let scheduled = false;
function ack(batchNumber: number): void {
  pendingOutput += `ack ${batchNumber}\n`;
  if (!scheduled) {
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const text = pendingOutput;
      pendingOutput = '';
      process.stdout.write(text);
    });
  }
}

async function writer(): Promise<void> {
  for (;;) {
    const batchNumber = next++;
    await engine.write(toWriteBatch(workloadBatch(batchNumber)));
    ack(batchNumber);
  }
}

await Promise.all(Array.from({ length: concurrency }, writer));
