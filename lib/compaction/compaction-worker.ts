// Worker-thread entry for flush and compaction (DESIGN.md: "the event loop
// is sacred"). It owns a NodeFileSystem of its own and runs one job at a
// time; the engine sends jobs with ids and waits for the matching reply.
// Errors cross the thread as plain objects and are rebuilt by executor.ts.

import { parentPort } from 'node:worker_threads';
import { NodeFileSystem } from '../fs/node-file-system.js';
import { runCompactionJob, runFlushJob, type CompactionJob, type FlushJob } from './compactor.js';
import { reviveCompactionJob, serializeError, type WorkerRequest, type WorkerReply } from './executor.js';

const fs = new NodeFileSystem();
const port = parentPort;
if (port === null) throw new Error('compaction-worker.ts must run in a worker thread');

port.on('message', (request: WorkerRequest) => {
  void handle(request).then((reply) => port.postMessage(reply));
});

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  try {
    const result = request.kind === 'flush' ? runFlushJob(fs, request.job as FlushJob) : await runCompactionJob(fs, reviveCompactionJob(request.job as CompactionJob));
    return { id: request.id, ok: true, result };
  } catch (error) {
    return { id: request.id, ok: false, error: serializeError(error) };
  }
}
