// A deterministic write workload for crash tests: batch number b always holds
// the same operations, so the parent can rebuild the exact state any prefix of
// batches produces without the child telling it anything but what was
// acknowledged.
//
// Batch b writes a marker `m/<b>` (so recovery shows which batches survived),
// two unique keys `u/<b>/<i>` (atomicity: all of a batch or none), one
// overwrite of a hot key `h/<k>` and, every third batch, a delete of another
// hot key (so compaction has shadowed versions and tombstones to drop).

import { WriteBatch } from '../../lib/engine/write-batch.js';

export const hotKeyCount = 64;

export interface WorkloadOp {
  type: 'put' | 'del';
  key: string;
  value: string;
}

/** A small, fast, seedable PRNG (mulberry32). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function workloadBatch(batchNumber: number): WorkloadOp[] {
  const random = mulberry32(batchNumber * 2654435761);
  const filler = 'x'.repeat(Math.floor(random() * 200));
  const ops: WorkloadOp[] = [
    { type: 'put', key: `m/${batchNumber}`, value: `${batchNumber}` },
    { type: 'put', key: `u/${batchNumber}/0`, value: `${batchNumber}:0:${filler}` },
    { type: 'put', key: `u/${batchNumber}/1`, value: `${batchNumber}:1` },
    { type: 'put', key: `h/${Math.floor(random() * hotKeyCount)}`, value: `${batchNumber}:${filler}` },
  ];
  if (batchNumber % 3 === 0) ops.push({ type: 'del', key: `h/${Math.floor(random() * hotKeyCount)}`, value: '' });
  return ops;
}

export function toWriteBatch(ops: WorkloadOp[]): WriteBatch {
  const batch = new WriteBatch();
  for (const op of ops) {
    if (op.type === 'put') batch.put(Buffer.from(op.key), Buffer.from(op.value));
    else batch.del(Buffer.from(op.key));
  }
  return batch;
}

/** The state after applying batches 0..last in order. */
export function modelState(last: number): Map<string, string> {
  const state = new Map<string, string>();
  for (let batchNumber = 0; batchNumber <= last; batchNumber++) {
    for (const op of workloadBatch(batchNumber)) {
      if (op.type === 'put') state.set(op.key, op.value);
      else state.delete(op.key);
    }
  }
  return state;
}
