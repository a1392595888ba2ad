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
//
// Memory: each cursor keeps its position (and scope) as its own exact-size
// copy, not a view: a view of a small key can pin a whole 8 KiB block of
// Node's buffer pool (16,384 cursors pinned 64 MB in a probe). The positions
// and scopes together stay under scanCursorBytesMax: past it, the oldest
// cursors are forgotten first (keys of up to 64 KiB would otherwise let a
// full ring hold 2 GiB).

import { scanCursorBytesMax, scanCursorSlots } from '../limits.js';

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
  readonly #bytesMax: number;
  #next: number;
  /** Cursors below this one are forgotten (the byte bound's eviction point). */
  #oldest: number;
  /** Bytes of the positions and scopes held. */
  #bytes = 0;

  /**
   * @param slots ring size (tests use small ones)
   * @param first first cursor handed out; random by default, so that cursors
   *   of an earlier process are unlikely to be mistaken for live ones
   * @param bytesMax bound on the bytes of positions and scopes held
   */
  constructor(slots = scanCursorSlots, first = 1 + Math.floor(Math.random() * 0x7fff_ffff), bytesMax = scanCursorBytesMax) {
    this.#slots = new Array<CursorEntry | undefined>(slots);
    this.#bytesMax = bytesMax;
    this.#next = first;
    this.#oldest = first;
  }

  /** Bytes of the positions and scopes the table holds. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A new cursor for "resume after `position` in `scope`". Never 0. Keeps a copy of `position`. */
  register(scope: string, position: Uint8Array): number {
    let cursor = this.#next++;
    if (cursor === 0 || cursor > Number.MAX_SAFE_INTEGER) {
      this.#next = 2;
      cursor = 1;
      this.#forgetAll();
    }
    const bytes = entryBytes(scope, position);
    // Cursors a full turn of the ring old are gone already. Then oldest first, until the new one fits.
    if (this.#oldest < cursor - this.#slots.length) this.#oldest = cursor - this.#slots.length;
    while (this.#bytes + bytes > this.#bytesMax && this.#oldest < cursor) this.#forget(this.#oldest++);
    const slot = cursor % this.#slots.length;
    const replaced = this.#slots[slot];
    if (replaced !== undefined) this.#bytes -= entryBytes(replaced.scope, replaced.position);
    const copy = Buffer.allocUnsafeSlow(position.length);
    copy.set(position);
    this.#slots[slot] = { cursor, scope, position: copy };
    this.#bytes += bytes;
    return cursor;
  }

  #forget(cursor: number): void {
    const slot = cursor % this.#slots.length;
    const entry = this.#slots[slot];
    if (entry === undefined || entry.cursor !== cursor) return;
    this.#bytes -= entryBytes(entry.scope, entry.position);
    this.#slots[slot] = undefined;
  }

  #forgetAll(): void {
    this.#slots.fill(undefined);
    this.#bytes = 0;
    this.#oldest = 1;
  }

  /** Where `cursor` resumes in `scope`, or undefined when the table does not know it. */
  resolve(scope: string, cursor: number): Buffer | undefined {
    if (!Number.isSafeInteger(cursor) || cursor <= 0) return undefined;
    const entry = this.#slots[cursor % this.#slots.length];
    if (entry === undefined || entry.cursor !== cursor || entry.scope !== scope) return undefined;
    return entry.position;
  }
}

/** What a cursor holds: its position, and its scope (2 bytes a character, at most). */
function entryBytes(scope: string, position: Uint8Array): number {
  return position.length + 2 * scope.length;
}
