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
//
// Keys live here too: the first version of each key (its anchor, see
// memtable.ts) is stored as `[key bytes][key length u32 LE][value bytes]`
// and named by its value's location, so keyLengthAt() finds the key from there.
// Slabs are SharedArrayBuffers: a flush worker reads keys and values in
// place (memtable-image.ts), with no copy on the event loop.
//
// A large value in shared memory with room in front for the key
// (lib/format/headroom.ts: a 500 MB SET's record) is not copied: the arena
// writes the key in front of it and keeps its buffer as a slab. Copying it
// stopped the event loop for about 0.9 s at 500 MB (page faults on the new
// slab), longer than Redis takes for the whole SET.

import { assert } from '../assert.js';
import { takeHeadroom } from '../format/headroom.js';

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
/** The u32 key length stored between a key and its value. */
export const keyLengthBytes = 4;

assert(largeValueBytesMin <= slabBytesMax, 'a shared slab holds every small value');

export class ValueArena {
  readonly #slabs: Buffer[] = [];
  #current: Buffer | undefined;
  #currentIndex = -1;
  #used = 0;
  #nextSlabBytes = slabBytesMin;

  /**
   * Copies `value[valueStart, valueEnd)` in, preceded by `key[keyStart,
   * keyEnd)` and its length when a key is given (see keyLengthAt()); returns
   * the value's location. Zero-length values without a key need no storage
   * and should not be added. A whole large `value` in shared memory with
   * room for the key in front (takeHeadroom()) is taken over, not copied:
   * it must not change afterwards, as headroom.ts requires of such buffers.
   */
  add(value: Uint8Array, valueStart: number, valueEnd: number, key?: Uint8Array, keyStart = 0, keyEnd = 0): number {
    const keyBytes = keyEnd - keyStart;
    const prefix = key === undefined ? 0 : keyBytes + keyLengthBytes;
    const length = prefix + valueEnd - valueStart;
    let slab: Buffer;
    let offset: number;
    let slabIndex: number;
    if (length >= largeValueBytesMin && valueStart === 0 && valueEnd === value.length && value instanceof Buffer && value.buffer instanceof SharedArrayBuffer) {
      const whole = takeHeadroom(value, prefix);
      if (whole !== undefined) return this.#adopt(whole, prefix, key, keyStart, keyEnd);
    }
    if (length >= largeValueBytesMin) {
      slab = this.#newSlab(length);
      slabIndex = this.#slabs.length - 1;
      offset = 0;
    } else {
      if (this.#current === undefined || this.#used + length > this.#current.length) {
        this.#current = this.#newSlab(Math.max(this.#nextSlabBytes, length));
        this.#currentIndex = this.#slabs.length - 1;
        this.#used = 0;
        this.#nextSlabBytes = Math.min(this.#nextSlabBytes * 2, slabBytesMax);
      }
      slab = this.#current;
      slabIndex = this.#currentIndex;
      offset = this.#used;
      this.#used = offset + length;
    }
    if (key !== undefined) {
      copyIn(key, keyStart, keyEnd, slab, offset);
      offset += keyBytes;
      slab.writeUInt32LE(keyBytes, offset);
      offset += keyLengthBytes;
    }
    copyIn(value, valueStart, valueEnd, slab, offset);
    return slabIndex * locationSlabFactor + offset;
  }

  /** The slabs, for a flush worker (memtable-image.ts). Every location names bytes in one of them. */
  get slabs(): readonly Uint8Array[] {
    return this.#slabs;
  }

  /**
   * A read-only view of `length` bytes at `location`. Shares memory with the
   * arena: do not modify it; it stays valid for as long as it is referenced.
   */
  view(location: number, length: number): Buffer {
    return bytesAt(this.#slabs, location, length);
  }

  /** Keeps `whole` (`prefix` free bytes, then the value) as a slab, with the key written in front; returns the value's location. */
  #adopt(whole: Buffer, prefix: number, key: Uint8Array | undefined, keyStart: number, keyEnd: number): number {
    assert(this.#slabs.length < slabsMax, 'slab index fits a location');
    if (key !== undefined) {
      copyIn(key, keyStart, keyEnd, whole, 0);
      whole.writeUInt32LE(keyEnd - keyStart, keyEnd - keyStart);
    }
    this.#slabs.push(whole);
    return (this.#slabs.length - 1) * locationSlabFactor + prefix;
  }

  #newSlab(bytes: number): Buffer {
    assert(this.#slabs.length < slabsMax, 'slab index fits a location');
    const slab = Buffer.from(new SharedArrayBuffer(bytes));
    this.#slabs.push(slab);
    return slab;
  }
}

/** The length of the key stored before the value at `location`, in `slab` (its slab). */
export function keyLengthAt(slab: Uint8Array, location: number): number {
  const at = offsetOf(location) - keyLengthBytes;
  return (slab[at]! | (slab[at + 1]! << 8) | (slab[at + 2]! << 16)) + slab[at + 3]! * 2 ** 24;
}

/** The `length` bytes at `location`: a view into `slabs` (as ValueArena.view(), for another thread's view of them). */
export function bytesAt<T extends Uint8Array>(slabs: readonly T[], location: number, length: number): T {
  const offset = offsetOf(location);
  return slabs[slabOf(location)]!.subarray(offset, offset + length) as T;
}

/** The index of the slab `location` is in. */
export function slabOf(location: number): number {
  return Math.floor(location / locationSlabFactor);
}

/** The byte offset of `location` in its slab. */
export function offsetOf(location: number): number {
  // NB: not `%`: on a double it is a call to fmod, and view() runs on every memtable read.
  return location - Math.floor(location / locationSlabFactor) * locationSlabFactor;
}

/** Copies `bytes[start, end)` into `slab` at `offset`: a JS loop when short, natively (one view) when longer. */
function copyIn(bytes: Uint8Array, start: number, end: number, slab: Buffer, offset: number): void {
  if (end - start > loopCopyBytesMax) slab.set(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), offset);
  else for (let index = start; index < end; index++) slab[offset++] = bytes[index]!;
}
