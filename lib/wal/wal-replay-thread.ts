// WAL replay with the reading and checking in a worker thread.
//
// Recovery is one loop: read a record, check its frame CRC and its batch,
// apply its ops to the memtable. Applying must happen on the thread that owns
// the memtable; reading and checking need not. WalReplayThread runs
// readWalFile() itself, unchanged, in a worker (wal-replay-worker.ts), with an
// onPayload that copies each checked payload into a chunk; full chunks are
// transferred to this thread, which hands each payload to the caller's
// onPayload as readWalFile() would have. Everything readWalFile() decides (a
// torn tail cut off in 'recover' mode, corruption, an unsupported version, the
// result) it still decides, in the worker, and the result or the error
// crosses back. So the two paths deliver the same payloads, in the same order,
// with the same outcome; only the thread that spends the CPU on read(2), the
// CRC and the batch check differs. For 1M 116-byte records that is about a
// fifth of the replay (docs/bench.md, "reopen").
//
// It is synchronous, like readWalFile(): this thread blocks in Atomics.wait()
// until the next chunk arrives and takes it with receiveMessageOnPort(), so
// recovery code does not change shape. The worker runs at most
// walReplayChunksAhead chunks ahead, then waits for this thread to consume
// one (a counter pair in shared memory).
//
// Only for a NodeFileSystem: the worker opens the files itself.

import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { IoError } from '../errors.js';
import { javascriptUrl } from '../javascript-path.js';
import { walReplayChunkBytes, walReplayChunksAhead, walReplayThreadStallMs } from '../limits.js';
import { deserializeError, type SerializedError } from '../thread-errors.js';
import type { CheckedBatch } from './wal-format.js';
import type { WalReadOptions, WalReadResult } from './wal-reader.js';

/** Indexes into the shared counters. */
export const ReplayCounter = {
  /** Messages (chunks, then the final one) the worker has posted for the current file. */
  posted: 0,
  /** Chunks this thread has consumed. */
  consumed: 1,
} as const;

/** Bytes before each payload in a chunk: u32 length, u32 op count, f64 sequence, f64 time, f64 file offset. */
export const chunkEntryHeaderBytes = 32;

/** What the worker reads: readWalFile()'s options without the callbacks. */
export type ReplayReadOptions = Omit<WalReadOptions, 'onBatch' | 'onPayload'>;

export interface ReplayRequest {
  path: string;
  options: ReplayReadOptions;
}

export type ReplayMessage =
  | { kind: 'chunk'; buffer: ArrayBuffer; used: number }
  | { kind: 'done'; result: WalReadResult }
  | { kind: 'error'; error: SerializedError };

export interface ReplayWorkerData {
  port: MessagePort;
  counters: SharedArrayBuffer;
  chunkBytes: number;
  chunksAhead: number;
}

/**
 * A worker thread that reads WAL files for one recovery. close() it when done.
 *
 * Example:
 *   const thread = new WalReplayThread();
 *   try {
 *     for (const path of walFiles) thread.read(path, { mode: 'recover', isNewest, onPayload });
 *   } finally {
 *     thread.close();
 *   }
 */
export class WalReplayThread {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #counters: Int32Array;
  #closed = false;

  constructor(options: { chunkBytes?: number; chunksAhead?: number } = {}) {
    const channel = new MessageChannel();
    const counters = new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    const workerData: ReplayWorkerData = {
      port: channel.port2,
      counters,
      chunkBytes: options.chunkBytes ?? walReplayChunkBytes,
      chunksAhead: options.chunksAhead ?? walReplayChunksAhead,
    };
    this.#worker = new Worker(javascriptUrl(import.meta.url, './wal-replay-worker.js'), { workerData, transferList: [channel.port2] });
    this.#worker.unref();
    this.#port = channel.port1;
    this.#counters = new Int32Array(counters);
  }

  /**
   * readWalFile(nodeFileSystem, path, options), with the file read and
   * checked in the worker. Only onPayload is supported (not onBatch). When
   * onPayload throws, the thread closes and the error is rethrown.
   * @throws what readWalFile() throws, rebuilt with its class, code, file and offset
   * @throws IoError when the worker stops answering (walReplayThreadStallMs)
   */
  read(path: string, options: WalReadOptions): WalReadResult {
    const steps = this.#reading(path, options);
    for (;;) {
      const step = steps.next();
      if (step.done === true) return step.value;
    }
  }

  /**
   * read(), but letting the event loop run (a macrotask) between chunks once
   * `sliceMs` has passed since it last did: recovery at startup, while the
   * server already answers LOADING, holds the loop a slice at a time rather
   * than for the whole replay (1.6 s for 1M records).
   */
  async readSliced(path: string, options: WalReadOptions, sliceMs: number): Promise<WalReadResult> {
    const steps = this.#reading(path, options);
    let sliceStart = performance.now();
    for (;;) {
      const step = steps.next();
      if (step.done === true) return step.value;
      if (performance.now() - sliceStart >= sliceMs) {
        await new Promise((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
  }

  /** read()'s loop, pausing (yield) after each chunk delivered. */
  *#reading(path: string, options: WalReadOptions): Generator<void, WalReadResult, void> {
    if (this.#closed) throw new Error('WalReplayThread is closed');
    if (options.onBatch !== undefined) throw new Error('WalReplayThread delivers payloads (onPayload), not decoded batches');
    const { onPayload, onBatch: _onBatch, ...readOptions } = options;
    const counters = this.#counters;
    Atomics.store(counters, ReplayCounter.posted, 0);
    Atomics.store(counters, ReplayCounter.consumed, 0);
    this.#port.postMessage({ path, options: readOptions } satisfies ReplayRequest);
    for (;;) {
      const message = this.#next(path);
      if (message.kind === 'done') return message.result;
      if (message.kind === 'error') throw deserializeError(message.error);
      if (onPayload !== undefined) {
        try {
          deliver(message.buffer, message.used, onPayload);
        } catch (error) {
          // The worker is still sending this file's chunks, which a later read() would take for its own.
          this.close();
          throw error;
        }
      }
      Atomics.add(counters, ReplayCounter.consumed, 1);
      Atomics.notify(counters, ReplayCounter.consumed);
      yield;
    }
  }

  /** Stops the worker (it holds no file open between reads). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A worker waiting for room (the caller stopped mid-file) must not stay blocked in Atomics.wait().
    Atomics.store(this.#counters, ReplayCounter.consumed, 2 ** 30);
    Atomics.notify(this.#counters, ReplayCounter.consumed);
    this.#port.close();
    void this.#worker.terminate();
  }

  /** The worker's next message, waiting for it without the event loop. */
  #next(path: string): ReplayMessage {
    for (;;) {
      // Read the counter before looking: a message posted after the look bumps it, and the wait returns at once.
      const posted = Atomics.load(this.#counters, ReplayCounter.posted);
      const received = receiveMessageOnPort(this.#port);
      if (received !== undefined) return received.message as ReplayMessage;
      if (Atomics.wait(this.#counters, ReplayCounter.posted, posted, walReplayThreadStallMs) === 'timed-out') {
        throw new IoError(`Cannot replay WAL file "${path}": the replay thread sent nothing for ${walReplayThreadStallMs / 1000} s`);
      }
    }
  }
}

/** Hands each payload of a chunk to `onPayload`, as readWalFile() would. */
function deliver(buffer: ArrayBuffer, used: number, onPayload: NonNullable<WalReadOptions['onPayload']>): void {
  const bytes = Buffer.from(buffer, 0, used);
  const view = new DataView(buffer, 0, used);
  for (let position = 0; position < used; ) {
    const length = view.getUint32(position, true);
    const batch: CheckedBatch = {
      sequence: view.getFloat64(position + 8, true),
      timeMs: view.getFloat64(position + 16, true),
      count: view.getUint32(position + 4, true),
    };
    const offset = view.getFloat64(position + 24, true);
    const start = position + chunkEntryHeaderBytes;
    onPayload(bytes.subarray(start, start + length), batch, offset);
    position = start + length;
  }
}
