// Worker-thread entry for flush and compaction (DESIGN.md: "the event loop
// is sacred"). It owns a NodeFileSystem of its own; the engine sends jobs
// with ids and waits for the matching reply. Each job starts as its message
// arrives: flushes and compactions pause for an event-loop turn every few
// MiB of compressed output (lib/format/lz4.ts), so another job sent to the
// same worker meanwhile runs in those pauses. The engine sends one flush at
// a time to the flush worker and one compaction at a time to the other (a
// `prepare`, synchronous, may run within a compaction's pause); jobs share
// no state here but the lz4 byte count, which only times the pauses.
// Errors cross the thread as plain objects and are rebuilt by executor.ts.

import { parentPort, workerData } from 'node:worker_threads';
import { NodeFileSystem } from '../fs/node-file-system.js';
import type { SegmentParts } from '../segment/segment-reader.js';
import { prepareReaders, runCompactionJob, runFlushJob, type CompactionJob, type CompactionResult, type FlushJob, type FlushResult, type PrepareJob } from './compactor.js';
import { reviveCompactionJob, serializeError, transferablePrepared, type WorkerData, type WorkerRequest, type WorkerReply } from './executor.js';
import { lowerThreadPriority } from '../thread-priority.js';
import { describeArchive, type ArchiveReadJob, type ArchiveReadResult } from '../wal/archive-read.js';

lowerThreadPriority((workerData as WorkerData | undefined)?.nice ?? 0);
const fs = new NodeFileSystem();
const port = parentPort;
if (port === null) throw new Error('compaction-worker.ts must run in a worker thread');

port.on('message', (request: WorkerRequest) => {
  void handle(request).then(([reply, transfer]) => port.postMessage(reply, transfer));
});

/** The reply, and the buffers it hands over (moved, not copied: nothing here uses them afterwards). */
async function handle(request: WorkerRequest): Promise<[WorkerReply, ArrayBuffer[]]> {
  try {
    const transfer: ArrayBuffer[] = [];
    let result: FlushResult | CompactionResult | (SegmentParts | undefined)[] | ArchiveReadResult;
    if (request.kind === 'flush') {
      const job = request.job as FlushJob;
      const flushed = await runFlushJob(fs, job);
      // The kept blocks move to the engine's thread, as the reader parts do.
      // (Blocks kept in the engine's shared buffer, FlushJob.keepInto, are already there.)
      if (flushed.blocks !== undefined) {
        if (!(flushed.blocks.bytes.buffer instanceof SharedArrayBuffer)) transfer.push(flushed.blocks.bytes.buffer as ArrayBuffer);
        transfer.push(flushed.blocks.entries.buffer as ArrayBuffer);
      }
      result = { ...flushed, prepared: transferablePrepared(prepareReaders(fs, job.dir, [flushed.meta.fileNumber]), transfer)[0] };
    } else if (request.kind === 'compact') {
      const job = reviveCompactionJob(request.job as CompactionJob);
      const compacted = await runCompactionJob(fs, job);
      result = { ...compacted, prepared: transferablePrepared(prepareReaders(fs, job.dir, compacted.outputs.map((output) => output.fileNumber)), transfer) };
    } else if (request.kind === 'describe-archive') {
      result = describeArchive(fs, request.job as ArchiveReadJob);
    } else {
      const job = request.job as PrepareJob;
      result = transferablePrepared(prepareReaders(fs, job.dir, job.fileNumbers), transfer);
    }
    return [{ id: request.id, ok: true, result }, transfer];
  } catch (error) {
    return [{ id: request.id, ok: false, error: serializeError(error) }, []];
  }
}
