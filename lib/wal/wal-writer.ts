// Appends framed records to one WAL file with group commit (docs/format.md,
// "Write-ahead log"; DESIGN.md, "Data flow").
//
// Group commit: append() frames the record at once into a per-turn buffer
// and returns a promise; a setImmediate callback writes everything framed in
// that event-loop turn with ONE FileHandle.append call, so every socket
// callback of one poll phase shares a write(2). (Values of 1 MiB or more are
// not copied into that buffer: the turn is then written in parts, the large
// values from the caller's buffers in their places; see spliceValueBytesMin.)
// Then, by sync policy:
//
// - 'always': a promise resolves only after an fdatasync that covers its
//   record. At most one fdatasync is in flight; groups written while it runs
//   wait for the next one, which starts at the end of the turn in which it
//   ends (pipelined group commit: the disk idles only while the writers the
//   last fdatasync released append again, so that one fdatasync covers them
//   and every group written before it started).
// - 'everysec': promises resolve once written; an unref'd timer runs an
//   fdatasync every syncIntervalMs when bytes were written since the last.
// - 'no': promises resolve once written; the OS decides when to flush.
//
// Invariants:
// - syncedBytes <= writtenBytes: [0, writtenBytes) holds whole, good records
//   (the header first); [0, syncedBytes) is durable.
// - acknowledgedBytes: every resolved append's record ends at or before it.
//   Bytes below it are never cut off by this writer.
// - Waiters for the next fdatasync exist only while one is in flight, or
//   until the end of the turn in which one ended (#flush starts the next).
//
// Failures: when a write or an fdatasync throws, every affected pending
// append is rejected with an IoError and the file is cut back to the last
// size known good for the rejected records: after a failed write, the size
// before it; after a failed fdatasync, max(syncedBytes, acknowledgedBytes)
// (every unacknowledged record written after the last good fdatasync is
// rejected and cut; acknowledged ones, under 'everysec' and 'no', were
// promised write(2) only and stay); when that cut removes anything, the
// records of the turn not yet written are rejected with it, since they were
// made after the cut ones and may depend on them. NB: after a failed fdatasync, Linux may
// have dropped the dirty pages, so acknowledged-but-unsynced bytes may be lost
// on power failure even though the file still shows them; `failure` reports
// it. The writer stays usable: a later append tries again (first repeating
// a cut that failed), so writing resumes when the disk has space again.
// takeBackAll() rejects and cuts every record of the file, synced ones too,
// for the engine's WAL switch (records made after refused ones in an older
// file: LsmEngine #retireWal).
//
// Preallocation: under 'always', when fewer than half of `preallocateBytes`
// lie ahead of the records, the writer writes that many zero bytes after the
// file's end (FileHandle.preallocate). The next fdatasync makes them durable
// along with the group; the fdatasyncs after it find the groups landing on
// blocks that are already allocated and synced, so they flush data only and
// no new file size (on ext4 about half the time of an append's:
// tools/bench/wal-sync.ts). Readers take zeros from a record boundary to the
// end of the file as the end of the records (format version 2). close()
// cuts the zeros off; a cut, write failure or takeBackAll() drops them too.

import { assert } from '../assert.js';
import { ClosedError, IoError, LimitExceededError, messageOf } from '../errors.js';
import { crc32Continue } from '../format/crc32.js';
import { encodeRecord, recordHeaderBytes } from '../format/record-framing.js';
import { dirName, type FileHandle, type FileSystem } from '../fs/file-system.js';
import type { BatchOp } from '../engine/write-batch.js';
import { batchOpsMax, walPreallocateBytesDefault, walRecordBytesMax, walSyncIntervalMs } from '../limits.js';
import { WalRecordType, batchPayloadBytes, encodeHeader, writeBatchPayloadSplicing, type SplicedValue } from './wal-format.js';

/** Initial size of the per-turn buffer, bytes. */
const turnBufferBytesInitial = 64 * 1024;
/** A per-turn buffer grown past this is dropped after its write, so one huge batch does not pin memory. */
const turnBufferBytesKept = 4 * 1024 * 1024;
/**
 * Values at least this long are not copied into the turn buffer: the turn's
 * write takes them from the caller's buffer, between the parts of the turn
 * buffer (a 500 MB SET was copied once more, and the buffer grown to it).
 */
export const spliceValueBytesMin = 1024 * 1024;

/** When an append is acknowledged (DESIGN.md, "Data flow"). */
export type WalSyncPolicy = 'always' | 'everysec' | 'no';

export interface WalWriterOptions {
  syncPolicy: WalSyncPolicy;
  /** 'everysec' interval, ms (default walSyncIntervalMs). */
  syncIntervalMs?: number;
  /** Receives failures of background ('everysec' timer) fdatasyncs, which have no append to reject. */
  onSyncError?: (error: IoError) => void;
  /**
   * Called at once, before the affected appends' promises reject (which
   * settles them only microtasks later), when a group write fails: a write
   * made by writePending() inside a caller's synchronous run (a memtable
   * switch) must stop the caller's later writes within that run.
   */
  onWriteError?: (error: IoError) => void;
  /** Largest record payload, bytes (default walRecordBytesMax). */
  recordBytesMax?: number;
  /** Zeros kept written ahead of the records under 'always', bytes (default walPreallocateBytesDefault; 0: none). */
  preallocateBytes?: number;
}

type Resolve = () => void;
type Reject = (error: Error) => void;

/**
 * Writes one WAL file: a header record, then batch records, with group
 * commit. Create with WalWriter.create; one writer per file.
 *
 * Example:
 *   const wal = WalWriter.create(fs, 'data/wal/000012.log', 12, { syncPolicy: 'always' });
 *   await wal.appendBatch(sequence, Date.now(), batch.ops); // durable here
 *   await wal.close();
 */
export class WalWriter {
  /** Path of the file, as given to create. */
  readonly path: string;
  readonly fileNumber: number;

  readonly #file: FileHandle;
  #policy: WalSyncPolicy;
  readonly #syncIntervalMs: number;
  readonly #onSyncError: ((error: IoError) => void) | undefined;
  readonly #onWriteError: ((error: IoError) => void) | undefined;
  readonly #recordBytesMax: number;
  readonly #preallocateBytes: number;
  /** Length of the file on disk: #writtenBytes plus the preallocated zeros after it. */
  #fileBytes: number;
  /** A preallocation failed (a full disk): no more for this file. */
  #preallocateFailed = false;
  #timer: NodeJS.Timeout | undefined;

  // This turn: records framed into #turnBuffer[0, #turnBytes), not yet written.
  #turnBuffer = Buffer.allocUnsafe(turnBufferBytesInitial);
  #turnBytes = 0;
  /** Large values of this turn's records, in file order, each with its place in #turnBuffer (spliceValueBytesMin). */
  #turnSplices: SplicedValue[] = [];
  #turnSplicedBytes = 0;
  #turnResolves: Resolve[] = [];
  #turnRejects: Reject[] = [];
  /** What append() returns until this turn's records are written (see #enqueue()). */
  #turnPromise: Promise<void> | undefined;
  /** sync() callers of this turn: they wait for a fdatasync after the turn's write. */
  #turnSyncResolves: Resolve[] = [];
  #turnSyncRejects: Reject[] = [];
  #immediate: NodeJS.Immediate | undefined;

  /** Size of the file when this writer took it (the header): takeBackAll() cuts back to it. */
  readonly #startBytes: number;
  #writtenBytes: number;
  #syncedBytes: number;
  #acknowledgedBytes: number;
  /** Bumped by takeBackAll(), whose cut may remove synced bytes: a sync started before it covers a stale size. */
  #takeBacks = 0;
  /**
   * A takeBackAll() cut, or a cut repeated by #repairTail(), that no
   * fdatasync has made durable yet (the cut may remove synced bytes).
   */
  #cutUnsynced = false;
  /** Bumped by every cut #repairTail() makes: an fdatasync started before it does not cover it. */
  #repairs = 0;
  /** Rejects of the appends the fdatasync in flight covers (takeBackAll() rejects them early). */
  #inFlightRejects: Reject[] = [];
  /** A cut back that failed; repeated before the next write. */
  #truncateTo: number | undefined;
  #syncing = false;
  /** Waiters for the fdatasync after the one in flight. */
  #nextResolves: Resolve[] = [];
  #nextRejects: Reject[] = [];

  #writeFailure: IoError | undefined;
  #syncFailure: IoError | undefined;
  #closed = false;
  #closePromise: Promise<void> | undefined;
  #groupWrites = 0;
  #syncs = 0;

  private constructor(file: FileHandle, path: string, fileNumber: number, options: WalWriterOptions) {
    this.#file = file;
    this.path = path;
    this.fileNumber = fileNumber;
    this.#policy = options.syncPolicy;
    this.#syncIntervalMs = options.syncIntervalMs ?? walSyncIntervalMs;
    this.#onSyncError = options.onSyncError;
    this.#onWriteError = options.onWriteError;
    this.#recordBytesMax = options.recordBytesMax ?? walRecordBytesMax;
    this.#preallocateBytes = options.preallocateBytes ?? walPreallocateBytesDefault;
    assert(Number.isSafeInteger(this.#preallocateBytes) && this.#preallocateBytes >= 0, 'WAL preallocation is a byte count');
    assert(this.#syncIntervalMs > 0, 'WAL sync interval is positive');
    assert(this.#recordBytesMax > 0 && this.#recordBytesMax <= walRecordBytesMax, 'WAL record limit within its 32-bit field bound');
    this.#startBytes = file.size();
    this.#fileBytes = this.#startBytes;
    this.#writtenBytes = this.#startBytes;
    this.#syncedBytes = this.#writtenBytes;
    this.#acknowledgedBytes = this.#writtenBytes;
    this.#updateTimer();
  }

  /**
   * Creates a new WAL file at `path` (it must not exist), writes the header
   * record, and makes file and directory entry durable before returning
   * (blocking: creation is rare).
   * @throws IoError when the file cannot be created, written or synced
   */
  static create(fs: FileSystem, path: string, fileNumber: number, options: WalWriterOptions): WalWriter {
    let file: FileHandle | undefined;
    try {
      file = fs.open(path, 'create');
      file.append(encodeRecord(WalRecordType.header, encodeHeader(fileNumber)));
      file.syncBlocking();
      fs.syncDir(dirName(path));
    } catch (error) {
      if (file !== undefined) {
        file.close();
        // Best effort: a file left behind holds at most a torn header, which
        // the reader treats as an empty newest WAL file.
        try {
          fs.unlink(path);
        } catch {
          /* see above */
        }
      }
      throw new IoError(`Cannot create WAL file "${path}": ${messageOf(error)}`, { cause: error });
    }
    return new WalWriter(file, path, fileNumber, options);
  }

  /** Bytes of whole records in the file (header included), written with write(2). */
  get writtenBytes(): number {
    return this.#writtenBytes;
  }

  /** Bytes made durable by the last successful fdatasync. */
  get syncedBytes(): number {
    return this.#syncedBytes;
  }

  /** Bytes framed this turn and not yet written. */
  get pendingBytes(): number {
    return this.#turnBytes + this.#turnSplicedBytes;
  }

  /** Whether a record appended so far still waits for its acknowledgement (under `always`, its fdatasync). */
  get hasUnacknowledged(): boolean {
    return this.#turnBytes > 0 || this.#writtenBytes > this.#acknowledgedBytes;
  }

  get syncPolicy(): WalSyncPolicy {
    return this.#policy;
  }

  /**
   * The last write or fdatasync failure, until a later write (for a write
   * failure) or fdatasync (for a sync failure) succeeds; undefined when healthy.
   */
  get failure(): IoError | undefined {
    return this.#writeFailure ?? this.#syncFailure;
  }

  /** Counters: FileHandle.append calls for record groups, fdatasyncs started, and zero bytes preallocated now. */
  get stats(): { groupWrites: number; syncs: number; preallocatedBytes: number } {
    return { groupWrites: this.#groupWrites, syncs: this.#syncs, preallocatedBytes: this.#fileBytes - this.#writtenBytes };
  }

  /**
   * Queues one batch record whose payload is already encoded (encodeBatch).
   * The payload is copied at once; the caller may reuse it.
   * @returns a promise that resolves when the record is as durable as the policy asks
   * @throws (rejects) LimitExceededError when the payload is over the record limit,
   *   IoError when the write or fdatasync fails, ClosedError after close()
   */
  append(payload: Uint8Array): Promise<void> {
    const refusal = this.#refusal(payload.length);
    if (refusal !== undefined) return Promise.reject(refusal);
    const start = this.#reserve(recordHeaderBytes + payload.length);
    this.#turnBuffer.set(payload, start + recordHeaderBytes);
    this.#seal(start, payload.length);
    return this.#enqueue();
  }

  /**
   * Encodes a batch straight into this turn's buffer and queues it: the same
   * record as append(encodeBatch(sequence, timeMs, ops)) without the
   * intermediate payload. Keys and values are copied at once, except values
   * of spliceValueBytesMin bytes or more: those are written from the
   * caller's buffer at the end of this turn (or writePending()), which must
   * not change until then.
   * @returns as append()
   */
  appendBatch(sequence: number, timeMs: number, ops: readonly BatchOp[]): Promise<void> {
    // Replay refuses a record of more ops (checkBatch): it is never written.
    if (ops.length > batchOpsMax) return Promise.reject(new LimitExceededError(`Cannot append a batch of ${ops.length} operations to "${this.path}": the limit is ${batchOpsMax}`));
    const payloadBytes = batchPayloadBytes(ops);
    const refusal = this.#refusal(payloadBytes);
    if (refusal !== undefined) return Promise.reject(refusal);
    const splicedBytes = payloadBytes >= spliceValueBytesMin ? splicedValueBytes(ops) : 0;
    const start = this.#reserve(recordHeaderBytes + payloadBytes - splicedBytes);
    if (splicedBytes === 0) {
      const end = writeBatchPayloadSplicing(this.#turnBuffer, start + recordHeaderBytes, sequence, timeMs, ops, Infinity, undefined);
      assert(end === start + recordHeaderBytes + payloadBytes, 'batch payload size matches its computed size');
      this.#seal(start, payloadBytes);
      return this.#enqueue();
    }
    const firstSplice = this.#turnSplices.length;
    const end = writeBatchPayloadSplicing(this.#turnBuffer, start + recordHeaderBytes, sequence, timeMs, ops, spliceValueBytesMin, this.#turnSplices);
    assert(end === start + recordHeaderBytes + payloadBytes - splicedBytes, 'batch payload size matches its computed size');
    this.#turnSplicedBytes += splicedBytes;
    this.#seal(start, payloadBytes, end, firstSplice);
    return this.#enqueue();
  }

  /**
   * Makes everything appended so far durable (fdatasync) whatever the policy,
   * e.g. for SHUTDOWN or a checkpoint. Appends of this turn are written first,
   * in the same group.
   * @throws (rejects) IoError when the write or fdatasync fails, ClosedError after close()
   */
  sync(): Promise<void> {
    if (this.#closed) return Promise.reject(new ClosedError(`Cannot sync WAL file "${this.path}": it is closed`));
    return this.#enqueueSync();
  }

  /** Changes the policy; appends already waiting keep the promise they were given. */
  setSyncPolicy(policy: WalSyncPolicy): void {
    this.#policy = policy;
    this.#updateTimer();
  }

  /**
   * Writes what is pending, waits for the fdatasync in flight, syncs what is
   * left, and closes the file. Appends after close() reject with ClosedError.
   * @throws (rejects) IoError when the last write or fdatasync fails; the file is closed anyway
   */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    let repairFailure: unknown;
    try {
      this.#repairTail(); // a rejected record must not outlive the writer in its file
    } catch (error) {
      repairFailure = error;
    }
    const done = repairFailure === undefined ? this.#enqueueSync() : Promise.reject(repairFailure);
    this.#closed = true;
    this.#updateTimer();
    if (this.#immediate !== undefined) {
      clearImmediate(this.#immediate);
      this.#flush();
    }
    this.#closePromise = done.finally(() => {
      this.#dropPreallocated();
      this.#file.close();
    });
    return this.#closePromise;
  }

  /**
   * Writes this turn's pending records now (one write(2)) instead of at the end
   * of the turn, so that the file holds every record appended so far; their
   * promises settle as usual. For checkpoints, which copy the file right after.
   */
  writePending(): void {
    if (this.#immediate === undefined) return;
    clearImmediate(this.#immediate);
    this.#flush();
  }

  /**
   * Repeats a cut-back that failed earlier (a rejected record left in the file).
   * @throws IoError while the file still cannot be cut; the caller must not abandon this file then
   */
  repairTail(): void {
    this.#repairTail();
  }

  /**
   * Rejects every record appended so far with `failure` (sync() callers too)
   * and cuts the file back to its header, synced records included; the next
   * fdatasync, started here, makes the cut durable. For records that were
   * made after records of an older WAL file that were refused (LsmEngine's
   * WAL switch when the older file's final fdatasync fails): none of them
   * was acknowledged, and they may depend on the refused ones. The writer
   * stays usable.
   */
  takeBackAll(failure: Error): void {
    assert(!this.#closed, 'a WAL file is taken back before it closes');
    const turn = this.#takeTurn();
    const rejects = [...turn.rejects, ...turn.syncRejects, ...this.#nextRejects, ...this.#inFlightRejects];
    this.#nextResolves = [];
    this.#nextRejects = [];
    this.#inFlightRejects = [];
    this.#takeBacks++;
    if (this.#writtenBytes > this.#startBytes || this.#syncing) {
      this.#acknowledgedBytes = this.#startBytes;
      this.#syncedBytes = Math.min(this.#syncedBytes, this.#startBytes);
      this.#cutUnsynced = true;
      this.#cutBack(this.#startBytes);
      // When the cut failed (#truncateTo), an fdatasync now would only make the refused records durable.
      if (!this.#syncing && this.#truncateTo === undefined) this.#startSync(true);
    }
    rejectAll(rejects, failure);
  }

  // -------------------------------------------------------------------------
  // Framing

  #refusal(payloadBytes: number): Error | undefined {
    if (this.#closed) return new ClosedError(`Cannot append to WAL file "${this.path}": it is closed`);
    if (payloadBytes > this.#recordBytesMax) {
      return new LimitExceededError(`Cannot append WAL record of ${payloadBytes} bytes to "${this.path}": the limit is ${this.#recordBytesMax}`);
    }
    return undefined;
  }

  /** Makes room for `bytes` at the end of this turn's buffer; returns where they start. */
  #reserve(bytes: number): number {
    const start = this.#turnBytes;
    const needed = start + bytes;
    if (needed > this.#turnBuffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.#turnBuffer.length * 2));
      this.#turnBuffer.copy(grown, 0, 0, start);
      this.#turnBuffer = grown;
    }
    this.#turnBytes = needed;
    return start;
  }

  /**
   * Fills in the frame header of the batch record whose payload is at
   * `start + 9` and ends at `end` in the buffer, with the spliced values
   * from index `firstSplice` of #turnSplices in their places (none by default).
   */
  #seal(start: number, payloadBytes: number, end = start + recordHeaderBytes + payloadBytes, firstSplice = this.#turnSplices.length): void {
    const buffer = this.#turnBuffer;
    buffer.writeUInt32LE(payloadBytes, start + 4);
    buffer[start + 8] = WalRecordType.batch;
    // Type byte and payload are contiguous, spliced values aside, so the CRC runs over the parts in order.
    let crc = 0;
    let from = start + 8;
    for (let index = firstSplice; index < this.#turnSplices.length; index++) {
      const splice = this.#turnSplices[index]!;
      crc = crc32Continue(crc32Continue(crc, buffer.subarray(from, splice.at)), splice.bytes);
      from = splice.at;
    }
    buffer.writeUInt32LE(crc32Continue(crc, buffer.subarray(from, end)), start);
  }

  /** One promise for every record of this turn: they are written by one append and synced together. */
  #enqueue(): Promise<void> {
    return (this.#turnPromise ??= new Promise<void>((resolve, reject) => {
      this.#turnResolves.push(resolve);
      this.#turnRejects.push(reject);
      this.#schedule();
    }));
  }

  #enqueueSync(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#turnSyncResolves.push(resolve);
      this.#turnSyncRejects.push(reject);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#immediate === undefined && !this.#closed) this.#immediate = setImmediate(this.#flush);
  }

  // -------------------------------------------------------------------------
  // Writing and syncing

  /** Writes this turn's records with one append call, or one per part around spliced values (arrow: passed to setImmediate). */
  readonly #flush = (): void => {
    this.#immediate = undefined;
    const { bytes, splices, splicedBytes, resolves, rejects, syncResolves, syncRejects } = this.#takeTurn();

    if (bytes > 0) {
      try {
        this.#repairTail();
        // NB: FileHandle.append consumes the bytes before it returns, so the
        // turn buffer is reused for the next turn.
        if (splices.length === 0) this.#file.append(this.#turnBuffer.subarray(0, bytes));
        else this.#appendSpliced(bytes, splices);
      } catch (error) {
        const failure = new IoError(`Cannot write WAL file "${this.path}": ${messageOf(error)}`, { cause: error });
        this.#writeFailure = failure;
        this.#cutBack(this.#writtenBytes);
        this.#releaseTurnBuffer();
        this.#onWriteError?.(failure);
        rejectAll(rejects, failure);
        rejectAll(syncRejects, failure);
        return;
      }
      this.#releaseTurnBuffer();
      this.#writtenBytes += bytes + splicedBytes;
      if (this.#writtenBytes > this.#fileBytes) this.#fileBytes = this.#writtenBytes;
      this.#groupWrites++;
      this.#writeFailure = undefined;
      this.#preallocate();
      if (this.#policy === 'always') {
        pushAll(this.#nextResolves, resolves);
        pushAll(this.#nextRejects, rejects);
      } else {
        this.#acknowledgedBytes = this.#writtenBytes;
        for (const resolve of resolves) resolve();
      }
    }
    if (syncResolves.length > 0) {
      if (!this.#syncing && this.#syncedBytes === this.#writtenBytes && !this.#cutUnsynced && this.#nextResolves.length === 0) {
        for (const resolve of syncResolves) resolve();
      } else {
        pushAll(this.#nextResolves, syncResolves);
        pushAll(this.#nextRejects, syncRejects);
      }
    }
    if (!this.#syncing && this.#nextResolves.length > 0) this.#startSync(false);
  };

  /** Writes the turn buffer's first `bytes` with the spliced values in their places (a write each; a failure leaves a torn tail, cut back as for one). */
  #appendSpliced(bytes: number, splices: readonly SplicedValue[]): void {
    let from = 0;
    for (const splice of splices) {
      if (splice.at > from) this.#file.append(this.#turnBuffer.subarray(from, splice.at));
      this.#file.append(splice.bytes);
      from = splice.at;
    }
    this.#file.append(this.#turnBuffer.subarray(from, bytes));
  }

  /** Empties this turn: its framed records (the buffer is kept) and its sync() callers, returned. */
  #takeTurn(): { bytes: number; splices: SplicedValue[]; splicedBytes: number; resolves: Resolve[]; rejects: Reject[]; syncResolves: Resolve[]; syncRejects: Reject[] } {
    const turn = {
      bytes: this.#turnBytes,
      splices: this.#turnSplices,
      splicedBytes: this.#turnSplicedBytes,
      resolves: this.#turnResolves,
      rejects: this.#turnRejects,
      syncResolves: this.#turnSyncResolves,
      syncRejects: this.#turnSyncRejects,
    };
    this.#turnBytes = 0;
    if (turn.splices.length > 0) this.#turnSplices = [];
    this.#turnSplicedBytes = 0;
    this.#turnResolves = [];
    this.#turnRejects = [];
    this.#turnPromise = undefined;
    this.#turnSyncResolves = [];
    this.#turnSyncRejects = [];
    return turn;
  }

  /** Starts one fdatasync covering every byte written so far; its waiters are those queued for "the next". */
  #startSync(background: boolean): void {
    assert(!this.#syncing, 'at most one WAL fdatasync in flight');
    this.#syncing = true;
    this.#syncs++;
    const target = this.#writtenBytes;
    const takeBacks = this.#takeBacks;
    // The cuts made so far are covered by this fdatasync unless one still waits to be repeated.
    const cutsCovered = this.#truncateTo === undefined ? this.#repairs : -1;
    const resolves = this.#nextResolves;
    const rejects = this.#nextRejects;
    this.#nextResolves = [];
    this.#nextRejects = [];
    this.#inFlightRejects = rejects;
    let pending: Promise<void>;
    try {
      pending = this.#file.sync();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      () => this.#synced(target, takeBacks, cutsCovered, resolves),
      (error: unknown) => this.#syncFailed(rejects, error, background),
    );
  }

  #synced(target: number, takeBacks: number, cutsCovered: number, resolves: Resolve[]): void {
    this.#syncing = false;
    this.#inFlightRejects = [];
    this.#syncFailure = undefined;
    if (takeBacks !== this.#takeBacks) {
      // takeBackAll() ran while this fdatasync was in flight: its waiters were
      // rejected, and the cut it made is not covered. Sync again.
      this.#startSync(this.#nextResolves.length === 0);
      return;
    }
    assert(target <= this.#writtenBytes, 'a synced WAL size is never cut back');
    if (target > this.#syncedBytes) this.#syncedBytes = target;
    if (target > this.#acknowledgedBytes) this.#acknowledgedBytes = target;
    if (cutsCovered === this.#repairs) this.#cutUnsynced = false;
    for (const resolve of resolves) resolve();
    if (this.#nextResolves.length === 0) return;
    // The next fdatasync starts at the end of this turn (#flush), not now:
    // the writers just released append again in the microtasks that follow,
    // and then share it with the groups that waited, instead of waiting for
    // the one after. Started now, it would cover only the groups written
    // while this one ran, and 32 writers would settle into two cohorts that
    // alternate, each fdatasync covering half of them (docs/bench.md,
    // "Durable writes, session 25").
    if (this.#closed) this.#startSync(false);
    else this.#schedule();
  }

  #syncFailed(rejects: Reject[], error: unknown, background: boolean): void {
    this.#syncing = false;
    this.#inFlightRejects = [];
    const failure = new IoError(`Cannot sync WAL file "${this.path}": ${messageOf(error)}`, { cause: error });
    this.#syncFailure = failure;
    // Everything unacknowledged was written after the last good fdatasync:
    // reject it all, the waiters of the next fdatasync too, and cut it off.
    const nextRejects = this.#nextRejects;
    this.#nextResolves = [];
    this.#nextRejects = [];
    const keep = Math.max(this.#syncedBytes, this.#acknowledgedBytes);
    let turnRejects: Reject[] = [];
    if (keep < this.#writtenBytes) {
      this.#cutBack(keep);
      // The records of the turn not yet written go too: they were made after
      // those just cut off and may have read them (an INCR of an INCR's
      // result), so they must not outlive them on disk.
      turnRejects = this.#turnRejects;
      this.#turnBytes = 0;
      this.#turnSplices = [];
      this.#turnSplicedBytes = 0;
      this.#turnResolves = [];
      this.#turnRejects = [];
      this.#turnPromise = undefined;
    }
    rejectAll(rejects, failure);
    rejectAll(nextRejects, failure);
    rejectAll(turnRejects, failure);
    if (background) this.#onSyncError?.(failure);
  }

  /**
   * Cuts the file back to `length` bytes of good records. When the cut itself
   * fails it is remembered and repeated before the next write, so nothing is
   * ever appended after bytes that were rejected.
   */
  #cutBack(length: number): void {
    assert(length >= this.#acknowledgedBytes, 'acknowledged WAL bytes are never cut');
    this.#writtenBytes = length;
    try {
      this.#file.truncate(length);
      this.#fileBytes = length;
      this.#truncateTo = undefined;
    } catch {
      // Safe to continue: #repairTail repeats the cut before the next write,
      // and that write fails (rejecting its appends) if the cut fails again.
      this.#truncateTo = length;
    }
  }

  #repairTail(): void {
    if (this.#truncateTo === undefined) return;
    this.#file.truncate(this.#truncateTo);
    this.#fileBytes = this.#truncateTo;
    this.#truncateTo = undefined;
    // The cut may remove synced bytes (a takeBackAll() whose cut failed first): sync it.
    this.#cutUnsynced = true;
    this.#repairs++;
  }

  /** Under 'always', writes zeros ahead of the records when fewer than half of #preallocateBytes are left (see the header). */
  #preallocate(): void {
    const chunk = this.#preallocateBytes;
    if (this.#policy !== 'always' || chunk === 0 || this.#preallocateFailed) return;
    if (this.#fileBytes - this.#writtenBytes >= chunk / 2) return;
    try {
      this.#file.preallocate(chunk);
      this.#fileBytes += chunk;
    } catch {
      // Zeros are optional: the records are written, and zeros that did land
      // read as the end of the records. Stop trying on this file.
      this.#preallocateFailed = true;
      this.#dropPreallocated();
    }
  }

  /** Cuts the preallocated zeros off (best effort: they read as the end of the records anyway). */
  #dropPreallocated(): void {
    if (this.#fileBytes === this.#writtenBytes && !this.#preallocateFailed) return;
    if (this.#truncateTo !== undefined) return;
    try {
      this.#file.truncate(this.#writtenBytes);
      this.#fileBytes = this.#writtenBytes;
    } catch {
      /* see above */
    }
  }

  #releaseTurnBuffer(): void {
    if (this.#turnBuffer.length > turnBufferBytesKept) this.#turnBuffer = Buffer.allocUnsafe(turnBufferBytesInitial);
  }

  #updateTimer(): void {
    const wanted = this.#policy === 'everysec' && !this.#closed;
    if (wanted && this.#timer === undefined) {
      this.#timer = setInterval(this.#tick, this.#syncIntervalMs);
      this.#timer.unref();
    } else if (!wanted && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** The 'everysec' timer: an fdatasync when bytes were written since the last. */
  readonly #tick = (): void => {
    if (!this.#syncing && (this.#writtenBytes > this.#syncedBytes || (this.#cutUnsynced && this.#truncateTo === undefined))) this.#startSync(true);
  };
}

/** Bytes of the values in `ops` long enough to be spliced (spliceValueBytesMin). */
function splicedValueBytes(ops: readonly BatchOp[]): number {
  let bytes = 0;
  for (const op of ops) if (op.type === 'put' && op.value.length >= spliceValueBytesMin) bytes += op.value.length;
  return bytes;
}

function rejectAll(rejects: readonly Reject[], error: Error): void {
  for (const reject of rejects) reject(error);
}

function pushAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}
