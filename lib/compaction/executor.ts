// Where flush and compaction run. WorkerExecutor sends jobs to worker threads
// (one for flushes, one for compactions, so a long compaction never delays a
// flush); InlineExecutor runs the same functions on the calling thread, for
// MemFileSystem (a worker cannot see another thread's memory file system).
//
// NB: a worker needs JavaScript; lib/javascript-path.ts finds it.

import { Worker } from 'node:worker_threads';
import type { FileSystem } from '../fs/file-system.js';
import { javascriptUrl } from '../javascript-path.js';
import { ClosedError } from '../errors.js';
import { deserializeError, type SerializedError } from '../thread-errors.js';
import type { SegmentMeta } from '../manifest/segment-meta.js';
import type { SegmentParts } from '../segment/segment-reader.js';
import type { TieRunParts } from '../segment/decoded-index.js';
import { runCompactionJob, runFlushJob, type CompactionJob, type CompactionResult, type FlushJob, type FlushResult, type PrepareJob } from './compactor.js';
import { describeArchive, type ArchiveReadJob, type ArchiveReadResult } from '../wal/archive-read.js';

export interface BackgroundExecutor {
  flush(job: FlushJob): Promise<FlushResult>;
  compact(job: CompactionJob): Promise<CompactionResult>;
  /** Reader parts of existing segments (prepareReaders()), one per file number, undefined where none were made. */
  prepare(job: PrepareJob): Promise<(SegmentParts | undefined)[]>;
  /** Descriptions of archived WAL files (lib/wal/archive-read.ts), read off the event loop where it can be. */
  describeArchive(job: ArchiveReadJob): Promise<ArchiveReadResult>;
  close(): Promise<void>;
}

export interface WorkerRequest {
  id: number;
  kind: 'flush' | 'compact' | 'prepare' | 'describe-archive';
  job: FlushJob | CompactionJob | PrepareJob | ArchiveReadJob;
}

export { serializeError } from '../thread-errors.js';

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: SerializedError };

export class InlineExecutor implements BackgroundExecutor {
  readonly #fs: FileSystem;

  constructor(fs: FileSystem) {
    this.#fs = fs;
  }

  async flush(job: FlushJob): Promise<FlushResult> {
    await yieldToEventLoop();
    return runFlushJob(this.#fs, job);
  }

  async compact(job: CompactionJob): Promise<CompactionResult> {
    await yieldToEventLoop();
    return runCompactionJob(this.#fs, job);
  }

  /** None: here the reads would be on the calling thread, as the first reads of the segments would be. */
  prepare(job: PrepareJob): Promise<(SegmentParts | undefined)[]> {
    return Promise.resolve(job.fileNumbers.map(() => undefined));
  }

  async describeArchive(job: ArchiveReadJob): Promise<ArchiveReadResult> {
    await yieldToEventLoop();
    return describeArchive(this.#fs, job);
  }

  async close(): Promise<void> {}
}

type Waiter = { resolve: (value: unknown) => void; reject: (error: Error) => void };

/**
 * One lazily started worker with the replies it owes. A worker that fails is
 * replaced on the next job; what it owed is rejected, and only that: its
 * 'exit' may come after its successor has taken jobs.
 */
class JobWorker {
  readonly #workerData: WorkerData;
  #worker: Worker | undefined;
  /** The jobs the running worker owes a reply, by request id. */
  #pending = new Map<number, Waiter>();
  #nextId = 1;
  #closed = false;

  constructor(workerData: WorkerData) {
    this.#workerData = workerData;
  }

  run(kind: WorkerRequest['kind'], job: WorkerRequest['job'], transfer: ArrayBuffer[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ClosedError('Cannot run background job: the executor is closed'));
    const worker = this.start();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ id, kind, job } satisfies WorkerRequest, transfer);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const worker = this.#worker;
    const pending = this.#pending;
    this.#worker = undefined;
    if (worker !== undefined) await worker.terminate();
    failAll(pending, new ClosedError('Background job cancelled: the executor closed'));
  }

  /** Starts the worker thread if it is not running. */
  start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(workerScriptUrl(), { workerData: this.#workerData });
    const pending = (this.#pending = new Map<number, Waiter>());
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const waiter = pending.get(reply.id);
      if (waiter === undefined) return;
      pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(deserializeError(reply.error));
    });
    worker.on('error', (error) => {
      if (this.#worker === worker) this.#worker = undefined;
      failAll(pending, error);
    });
    worker.on('exit', () => {
      if (this.#worker === worker) this.#worker = undefined;
      failAll(pending, new Error('Background worker exited unexpectedly'));
    });
    this.#worker = worker;
    return worker;
  }
}

function failAll(pending: Map<number, Waiter>, error: Error): void {
  for (const waiter of pending.values()) waiter.reject(error);
  pending.clear();
}

/** What a worker thread is started with. */
export interface WorkerData {
  /** Added to the thread's nice value (lib/thread-priority.ts). */
  nice: number;
}

export class WorkerExecutor implements BackgroundExecutor {
  readonly #flushWorker: JobWorker;
  readonly #compactionWorker: JobWorker;

  constructor(options: { nice?: number } = {}) {
    const workerData: WorkerData = { nice: options.nice ?? 0 };
    this.#flushWorker = new JobWorker(workerData);
    this.#compactionWorker = new JobWorker(workerData);
  }

  // NB: workers start on the first job, not at open. Starting them at open saved about
  // 10 ms on the first flush, but an engine that never flushes (abstract-level's suite
  // opens hundreds) then held two idle threads each: 500+ threads and 6 GB in one run.

  async flush(job: FlushJob): Promise<FlushResult> {
    // The memtable image is shared memory: posting it copies nothing but the order its tree knows
    // (4 bytes a key; copied, not transferred, so the job stays whole if it must run again).
    const result = (await this.#flushWorker.run('flush', job, [])) as FlushResult;
    return { ...result, meta: reviveMeta(result.meta), prepared: reviveParts(result.prepared) };
  }

  /** In the compaction worker: it reads, as compactions do, and flushes must not wait behind it. */
  async prepare(job: PrepareJob): Promise<(SegmentParts | undefined)[]> {
    const prepared = (await this.#compactionWorker.run('prepare', job, [])) as (SegmentParts | undefined)[];
    return prepared.map(reviveParts);
  }

  /** In the compaction worker too: a read of whole files, which must not delay a flush. */
  async describeArchive(job: ArchiveReadJob): Promise<ArchiveReadResult> {
    return (await this.#compactionWorker.run('describe-archive', job, [])) as ArchiveReadResult;
  }

  async compact(job: CompactionJob): Promise<CompactionResult> {
    const result = (await this.#compactionWorker.run('compact', job, [])) as CompactionResult;
    return { ...result, outputs: result.outputs.map(reviveMeta), prepared: result.prepared?.map(reviveParts) };
  }

  async close(): Promise<void> {
    await Promise.all([this.#flushWorker.close(), this.#compactionWorker.close()]);
  }
}

/** A compaction job as the worker receives it: structured cloning turned its Buffers into Uint8Arrays. */
export function reviveCompactionJob(job: CompactionJob): CompactionJob {
  return {
    ...job,
    inputs: job.inputs.map(({ level, files }) => ({ level, files: files.map(reviveMeta) })),
    deeperFiles: job.deeperFiles.map((files) => files.map(reviveMeta)),
    versionFiles: job.versionFiles.map((files) => files.map(reviveMeta)),
  };
}

/** Buffers cross threads as Uint8Arrays; make the keys Buffers again. */
export function reviveMeta(meta: SegmentMeta): SegmentMeta {
  return { ...meta, smallestKey: asBuffer(meta.smallestKey), largestKey: asBuffer(meta.largestKey) };
}

/**
 * Reader parts made ready to post (prepareReaders()): each buffer an exact
 * copy with an ArrayBuffer of its own, added to `transfer` with the typed
 * arrays' own, so that posting moves them and never carries (or detaches)
 * memory they share with anything else, such as Node's Buffer pool.
 */
export function transferablePrepared(prepared: (SegmentParts | undefined)[], transfer: ArrayBuffer[]): (SegmentParts | undefined)[] {
  const own = <T extends Uint8Array | Uint32Array | Float64Array>(array: T): T => {
    const whole = array.byteOffset === 0 && array.byteLength === array.buffer.byteLength && !(array instanceof Buffer);
    const copy = whole ? array : (array.slice() as T);
    transfer.push(copy.buffer as ArrayBuffer);
    return copy;
  };
  const ownRuns = (runs: Map<number, TieRunParts>): void => {
    for (const run of runs.values()) {
      run.fingerprints = own(run.fingerprints);
      ownRuns(run.runs);
    }
  };
  return prepared.map((parts) => {
    if (parts === undefined) return undefined;
    const decoded = parts.decodedIndex;
    if (decoded !== undefined) ownRuns(decoded.tieRuns);
    return {
      ...parts,
      index: own(new Uint8Array(parts.index)) as Buffer,
      filter: own(new Uint8Array(parts.filter)) as Buffer,
      properties: own(new Uint8Array(parts.properties)) as Buffer,
      decodedIndex:
        decoded === undefined
          ? undefined
          : {
              ...decoded,
              keys: decoded.keys === undefined ? undefined : (own(new Uint8Array(decoded.keys)) as Buffer),
              bounds: own(decoded.bounds),
              blockOffsets: own(decoded.blockOffsets),
              blockSizes: own(decoded.blockSizes),
              fingerprints: own(decoded.fingerprints),
              summary: own(decoded.summary),
            },
    };
  });
}

/** Reader parts as they arrive from a worker: their Buffers are Uint8Arrays; make them Buffers again. */
function reviveParts(parts: SegmentParts | undefined): SegmentParts | undefined {
  if (parts === undefined) return undefined;
  const decoded = parts.decodedIndex;
  return {
    ...parts,
    index: asBuffer(parts.index),
    filter: asBuffer(parts.filter),
    properties: asBuffer(parts.properties),
    decodedIndex: decoded === undefined ? undefined : { ...decoded, keys: decoded.keys === undefined ? undefined : asBuffer(decoded.keys) },
  };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The worker script as JavaScript (see lib/javascript-path.ts). */
export function workerScriptUrl(): URL {
  return javascriptUrl(import.meta.url, './compaction-worker.js');
}
