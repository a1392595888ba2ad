// Worker-thread entry of WalReplayThread (wal-replay-thread.ts): for each
// request, readWalFile() on its own NodeFileSystem, copying each checked
// payload into a chunk that is transferred to the main thread when full, at
// most `chunksAhead` chunks ahead of it. The last message is the result or
// the error. A request comes only when the previous one is answered.

import { workerData } from 'node:worker_threads';
import { NodeFileSystem } from '../fs/node-file-system.js';
import { serializeError } from '../thread-errors.js';
import { readWalFile } from './wal-reader.js';
import { ReplayCounter, chunkEntryHeaderBytes, type ReplayMessage, type ReplayRequest, type ReplayWorkerData } from './wal-replay-thread.js';

const { port, counters: countersBuffer, chunkBytes, chunksAhead } = workerData as ReplayWorkerData;
const counters = new Int32Array(countersBuffer);
const fs = new NodeFileSystem();

port.on('message', (request: ReplayRequest) => {
  port.postMessage(read(request));
  // The final message counts too: it wakes the main thread.
  Atomics.add(counters, ReplayCounter.posted, 1);
  Atomics.notify(counters, ReplayCounter.posted);
});

function read({ path, options }: ReplayRequest): ReplayMessage {
  let buffer = new ArrayBuffer(chunkBytes);
  let bytes = new Uint8Array(buffer);
  let view = new DataView(buffer);
  let used = 0;
  let posted = 0;

  const send = (): void => {
    port.postMessage({ kind: 'chunk', buffer, used } satisfies ReplayMessage, [buffer]);
    posted = Atomics.add(counters, ReplayCounter.posted, 1) + 1;
    Atomics.notify(counters, ReplayCounter.posted);
    for (;;) {
      const consumed = Atomics.load(counters, ReplayCounter.consumed);
      if (posted - consumed < chunksAhead) break;
      Atomics.wait(counters, ReplayCounter.consumed, consumed);
    }
  };

  try {
    const result = readWalFile(fs, path, {
      ...options,
      onPayload: (payload, batch, offset) => {
        const entryBytes = chunkEntryHeaderBytes + payload.length;
        if (used + entryBytes > buffer.byteLength) {
          if (used > 0) send();
          buffer = new ArrayBuffer(Math.max(chunkBytes, entryBytes));
          bytes = new Uint8Array(buffer);
          view = new DataView(buffer);
          used = 0;
        }
        view.setUint32(used, payload.length, true);
        view.setUint32(used + 4, batch.count, true);
        view.setFloat64(used + 8, batch.sequence, true);
        view.setFloat64(used + 16, batch.timeMs, true);
        view.setFloat64(used + 24, offset, true);
        bytes.set(payload, used + chunkEntryHeaderBytes);
        used += entryBytes;
      },
    });
    if (used > 0) send();
    return { kind: 'done', result };
  } catch (error) {
    // readWalFile() has delivered the batches before the damage when it throws; so does this.
    if (used > 0) send();
    return { kind: 'error', error: serializeError(error) };
  }
}
