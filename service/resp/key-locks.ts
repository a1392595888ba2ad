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
//
// A lock is named by logical db and key bytes. The dispatcher takes a
// command's locks only after checking that none conflicts, so acquire()
// asserts it.

import { assert } from '../../lib/assert.js';

export type LockMode = 'read' | 'write';

interface Lock {
  readers: number;
  writer: boolean;
}

export class KeyLocks {
  readonly #held = new Map<string, Lock>();

  /** The name of `key` in logical db `db` (a db number, then the key's bytes one character each). */
  static id(db: number, key: Buffer): string {
    return `${db}:${key.toString('latin1')}`;
  }

  /** Keys locked now. */
  get size(): number {
    return this.#held.size;
  }

  /** Whether a command in `mode` on `ids` must wait: a write meets any lock, a read only a write lock. */
  conflicts(ids: Iterable<string>, mode: LockMode): boolean {
    for (const id of ids) {
      const lock = this.#held.get(id);
      if (lock !== undefined && (mode === 'write' || lock.writer)) return true;
    }
    return false;
  }

  /** Takes `mode` locks on `ids` (distinct names). */
  acquire(ids: ReadonlySet<string>, mode: LockMode): void {
    assert(!this.conflicts(ids, mode), 'key locks are taken only when none conflicts');
    for (const id of ids) {
      const lock = this.#held.get(id);
      if (lock !== undefined) lock.readers++;
      else this.#held.set(id, mode === 'write' ? { readers: 0, writer: true } : { readers: 1, writer: false });
    }
  }

  /** Gives back what acquire(ids, mode) took. */
  release(ids: ReadonlySet<string>, mode: LockMode): void {
    for (const id of ids) {
      const lock = this.#held.get(id);
      assert(lock !== undefined && (mode === 'write' ? lock.writer : lock.readers > 0), 'a released key lock is held');
      if (mode === 'write') lock.writer = false;
      else lock.readers--;
      if (!lock.writer && lock.readers === 0) this.#held.delete(id);
    }
  }
}
