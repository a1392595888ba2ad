// SCAN cursors for an ordered key space. Redis's cursor is a position in a
// hash table; here a position is a key, which does not fit the decimal
// integer clients expect back. So, as Kvrocks does, the server keeps a
// bounded table: each reply's cursor is a fresh number standing for "resume
// after this key in this scope", and the next SCAN looks it up.
//
// The table is a ring of `size` slots indexed by cursor modulo size, so it
// never grows; a cursor is forgotten once `size` newer ones have been handed
// out. A cursor the table does not know (forgotten, from before a restart, or
// made up) restarts the iteration from the beginning, as Kvrocks does: SCAN's
// guarantee (every key present for the whole iteration is returned at least
// once) still holds, at the price of keys returned again.

import { scanCursorSlots } from '../limits.js';

export { scanCursorSlots };

interface CursorEntry {
  cursor: number;
  /** What the cursor iterates ("db:3", later "hash:3:<key>" ...). */
  scope: string;
  /** Resume strictly after this position. */
  position: Buffer;
}

export class ScanCursors {
  readonly #slots: (CursorEntry | undefined)[];
  #next: number;

  /**
   * @param slots ring size (tests use small ones)
   * @param first first cursor handed out; random by default, so that cursors
   *   of an earlier process are unlikely to be mistaken for live ones
   */
  constructor(slots = scanCursorSlots, first = 1 + Math.floor(Math.random() * 0x7fff_ffff)) {
    this.#slots = new Array<CursorEntry | undefined>(slots);
    this.#next = first;
  }

  /** A new cursor for "resume after `position` in `scope`". Never 0. Keeps `position` (pass a Buffer nobody modifies). */
  register(scope: string, position: Buffer): number {
    let cursor = this.#next++;
    if (cursor === 0 || cursor > Number.MAX_SAFE_INTEGER) {
      this.#next = 2;
      cursor = 1;
    }
    this.#slots[cursor % this.#slots.length] = { cursor, scope, position };
    return cursor;
  }

  /** Where `cursor` resumes in `scope`, or undefined when the table does not know it. */
  resolve(scope: string, cursor: number): Buffer | undefined {
    if (!Number.isSafeInteger(cursor) || cursor <= 0) return undefined;
    const entry = this.#slots[cursor % this.#slots.length];
    if (entry === undefined || entry.cursor !== cursor || entry.scope !== scope) return undefined;
    return entry.position;
  }
}
