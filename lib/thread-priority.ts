// Lowers the CPU priority of the calling thread, for the flush and
// compaction worker threads, as RocksDB lowers its background pools'
// (Env::LowerThreadPoolCPUPriority): on a machine whose cores are all busy,
// the scheduler then gives the event loop, which answers clients, the larger
// share, and the workers take what is left. When they fall behind, writes
// slow down and stall (the memtable and level-0 limits), so they still get
// their turn: the event loop then has less to do.
//
// Linux keeps a nice value per thread: setpriority(PRIO_PROCESS, tid) with a
// thread id changes that thread only. Node names no thread ids, so the
// thread reads its own from /proc/thread-self ("PID/task/TID").
// Elsewhere (no /proc), nothing changes.

import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The highest nice value (the lowest priority) there is. */
export const niceMax = 19;

/**
 * Adds `offset` (0 to niceMax) to the calling thread's nice value, up to
 * niceMax. Lowering a priority needs no privilege, so this fails only where
 * there is no /proc.
 * @returns the thread's nice value after, or undefined when it could not be read or set
 */
export function lowerThreadPriority(offset: number): number | undefined {
  let tid: number;
  try {
    const link = readlinkSync('/proc/thread-self');
    tid = Number(link.slice(link.lastIndexOf('/') + 1));
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(tid) || tid <= 0) return undefined;
  try {
    const nice = Math.min(niceMax, getPriority(tid) + offset);
    if (offset > 0) setPriority(tid, nice);
    return getPriority(tid);
  } catch {
    return undefined;
  }
}
