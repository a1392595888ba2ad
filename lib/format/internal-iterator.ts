// The iterator every sorted source of internal keys implements: memtables,
// segment blocks, whole segments, levels, and the merge of them all. Modelled
// on LevelDB's Iterator: positioned, synchronous, one direction at a time.
//
// Ownership: key() and value() return buffers that stay valid until the
// iterator moves or closes; callers that keep them must copy.

export interface InternalIterator {
  /** True when positioned at an entry. */
  valid(): boolean;
  seekToFirst(): void;
  seekToLast(): void;
  /** Positions at the first entry whose internal key is >= target. */
  seek(target: Buffer): void;
  /** Positions at the last entry whose internal key is <= target. */
  seekForPrev(target: Buffer): void;
  next(): void;
  prev(): void;
  /** The internal key (user key ‖ trailer); only while valid(). */
  key(): Buffer;
  /** The value (empty for tombstones); only while valid(). */
  value(): Buffer;
  /** Releases what the iterator holds (block references, file pins). Idempotent. */
  close(): void;
}
