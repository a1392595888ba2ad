// Key locks held by commands that walk in the background (keyedWalk() in
// command.ts), as Kvrocks's LockManager holds the keys of a command that
// runs on its own thread: while one walks, other clients' commands run,
// except those that would change what it reads or read what it is about to
// change (the dispatcher makes those wait, dispatcher.ts).
//
// - A read lock (SINTER, ZUNION ... walking their sources) keeps out writes
//   to its keys: its point reads of one source while it walks another must
//   see one state.
// - A write lock (ZREMRANGEBYRANK, SINTERSTORE ... that write what they
//   walked) keeps out writes to its keys and other background walks over
//   them. Plain reads still run: they see the state before its write, which
//   is applied at once, in one batch, when the walk ends.
// - A waiting write (a request that waits for a lock on the key) keeps out
//   new read locks, so a stream of overlapping walks cannot starve it.
// - A reservation (a blocked client whose retry waits for a lock on another
//   of its keys, e.g. BLMOVE's destination) keeps out writes and walks, so
//   that the element it is owed is still there when it is retried.
//
// A lock is named by logical db and key bytes. The dispatcher takes a
// command's locks only after checking that none conflicts, so acquire()
// asserts it.

import { assert } from '../../lib/assert.js';

export type LockMode = 'read' | 'write';

interface Lock {
  readers: number;
  writer: boolean;
  waitingWrites: number;
  reserved: number;
}

export class KeyLocks {
  readonly #held = new Map<string, Lock>();

  /** The name of `key` in logical db `db` (a db number, then the key's bytes one character each). */
  static id(db: number, key: Buffer): string {
    return `${db}:${key.toString('latin1')}`;
  }

  /** Keys locked, waited for or reserved now. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Whether a command in `mode` on `ids` must wait: a write meets a read
   * lock, a write lock or a reservation; a read (a keyed walk) meets a write
   * lock, a waiting write or a reservation.
   */
  conflicts(ids: Iterable<string>, mode: LockMode): boolean {
    for (const id of ids) {
      const lock = this.#held.get(id);
      if (lock === undefined) continue;
      if (lock.writer || lock.reserved > 0) return true;
      if (mode === 'write' ? lock.readers > 0 : lock.waitingWrites > 0) return true;
    }
    return false;
  }

  /** Takes `mode` locks on `ids` (distinct names). */
  acquire(ids: ReadonlySet<string>, mode: LockMode): void {
    assert(!this.conflicts(ids, mode), 'key locks are taken only when none conflicts');
    for (const id of ids) {
      const lock = this.#entry(id);
      if (mode === 'write') lock.writer = true;
      else lock.readers++;
    }
  }

  /** Gives back what acquire(ids, mode) took. */
  release(ids: ReadonlySet<string>, mode: LockMode): void {
    for (const id of ids) {
      const lock = this.#held.get(id);
      assert(lock !== undefined && (mode === 'write' ? lock.writer : lock.readers > 0), 'a released key lock is held');
      if (mode === 'write') lock.writer = false;
      else lock.readers--;
      this.#drop(id, lock);
    }
  }

  /** Counts (+1) or uncounts (-1) a request waiting to write `ids`. */
  markWaiting(ids: ReadonlySet<string>, delta: 1 | -1): void {
    this.#count(ids, 'waitingWrites', delta);
  }

  /** Reserves (+1) or frees (-1) `ids` for a blocked client's retry. */
  reserve(ids: ReadonlySet<string>, delta: 1 | -1): void {
    this.#count(ids, 'reserved', delta);
  }

  #count(ids: ReadonlySet<string>, field: 'waitingWrites' | 'reserved', delta: 1 | -1): void {
    for (const id of ids) {
      const lock = this.#entry(id);
      lock[field] += delta;
      assert(lock[field] >= 0, field === 'reserved' ? 'a reservation is freed once' : 'a waiting write is uncounted once');
      this.#drop(id, lock);
    }
  }

  #entry(id: string): Lock {
    let lock = this.#held.get(id);
    if (lock === undefined) {
      lock = { readers: 0, writer: false, waitingWrites: 0, reserved: 0 };
      this.#held.set(id, lock);
    }
    return lock;
  }

  #drop(id: string, lock: Lock): void {
    if (!lock.writer && lock.readers === 0 && lock.waitingWrites === 0 && lock.reserved === 0) this.#held.delete(id);
  }
}
