// Memtable-owned storage for values: bytes are copied in at add() and never
// move or change afterwards, so the memtable retains nothing its caller
// passed (a RESP argument is a view into a 64 KiB socket chunk; keeping it
// would pin the chunk) and the garbage collector sees a few large slabs
// instead of a Buffer per entry.
//
// Values are appended to slabs, each an ArrayBuffer of its own. Slabs start
// small (tests open many tiny memtables) and double up to slabBytesMax; a
// value above largeValueBytesMin gets an exact slab of its own, so that a big
// value never wastes the tail of a shared one.
//
// A value is named by a location, slab index * 2^32 + byte offset, a safe
// integer (2^21 slabs before it is not: far beyond any memtable budget).
// Bytes are never overwritten (a value taken back by Memtable.remove() just
// stays unused), so views handed out stay valid as long as anyone holds them.

import { assert } from '../assert.js';

/** First slab size, bytes. */
const slabBytesMin = 4 * 1024;
/** Largest shared slab, bytes. */
const slabBytesMax = 1024 * 1024;
/** Values of at least this many bytes get a slab of their own. */
export const largeValueBytesMin = 64 * 1024;

const locationSlabFactor = 2 ** 32;
/** Copies up to this long run as a JS loop; longer ones natively (TypedArray#set). */
const loopCopyBytesMax = 64;
const slabsMax = 2 ** 21;

assert(largeValueBytesMin <= slabBytesMax, 'a shared slab holds every small value');

export class ValueArena {
  readonly #slabs: Buffer[] = [];
  #current: Buffer | undefined;
  #currentIndex = -1;
  #used = 0;
  #nextSlabBytes = slabBytesMin;

  /** Copies `value` in; returns its location. Zero-length values need no storage and should not be added. */
  add(value: Uint8Array): number {
    const length = value.length;
    if (length >= largeValueBytesMin) {
      const slab = this.#newSlab(length);
      slab.set(value, 0);
      return (this.#slabs.length - 1) * locationSlabFactor;
    }
    if (this.#current === undefined || this.#used + length > this.#current.length) {
      this.#current = this.#newSlab(Math.max(this.#nextSlabBytes, length));
      this.#currentIndex = this.#slabs.length - 1;
      this.#used = 0;
      this.#nextSlabBytes = Math.min(this.#nextSlabBytes * 2, slabBytesMax);
    }
    const offset = this.#used;
    const slab = this.#current;
    // NB: not copyBytes(): its native path makes a subarray() view per call.
    if (length > loopCopyBytesMax) slab.set(value, offset);
    else for (let index = 0; index < length; index++) slab[offset + index] = value[index]!;
    this.#used = offset + length;
    return this.#currentIndex * locationSlabFactor + offset;
  }

  /**
   * A read-only view of `length` bytes at `location`. Shares memory with the
   * arena: do not modify it; it stays valid for as long as it is referenced.
   */
  view(location: number, length: number): Buffer {
    const slabIndex = Math.floor(location / locationSlabFactor);
    const offset = location - slabIndex * locationSlabFactor;
    return this.#slabs[slabIndex]!.subarray(offset, offset + length);
  }

  /** Copies the `length` bytes at `location` into `target` at `targetOffset`. */
  copyTo(location: number, length: number, target: Uint8Array, targetOffset: number): void {
    const slabIndex = Math.floor(location / locationSlabFactor);
    const offset = location - slabIndex * locationSlabFactor;
    const slab = this.#slabs[slabIndex]!;
    if (length > loopCopyBytesMax * 4) target.set(new Uint8Array(slab.buffer, slab.byteOffset + offset, length), targetOffset);
    else for (let index = 0; index < length; index++) target[targetOffset + index] = slab[offset + index]!;
  }

  #newSlab(bytes: number): Buffer {
    assert(this.#slabs.length < slabsMax, 'slab index fits a location');
    // allocUnsafeSlow: an ArrayBuffer of its own, never a slice of Node's shared pool.
    const slab = Buffer.allocUnsafeSlow(bytes);
    this.#slabs.push(slab);
    return slab;
  }
}
