// Serialises an immutable memtable for a flush worker: internal keys and
// values packed into transferable chunks, built a chunk at a time with a
// yield between chunks so that the event loop never stalls for long.
//
// Chunk layout (in memory only, never on disk):
//   repeat { [internal key length u32 LE][internal key][value length u32 LE][value] }
//
// Each chunk owns its whole ArrayBuffer (the executor transfers
// `chunk.buffer` to the worker). Entries are written straight from the
// memtable's storage: the key string's characters as bytes, the value copied
// from its slab, no Buffer per entry.

import type { Memtable, MemtableIterator } from '../memtable/memtable.js';
import { trailerBytes, writeTrailer } from '../format/internal-key.js';

/**
 * Target bytes of one chunk; a larger entry gets a chunk of its own. Filling
 * 256 KiB takes well under a millisecond (4 MiB chunks blocked the event loop
 * for 15-19 ms each).
 */
export const flushChunkBytes = 256 * 1024;

/** Per-entry framing: the two u32 lengths. */
const entryFramingBytes = 8;
/** Keys up to this long are written by a JS loop; longer ones by Buffer#write (a native call). */
const loopKeyBytesMax = 32;

export async function serializeMemtable(memtable: Memtable, yieldBetweenChunks: () => Promise<void>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const scratch = Buffer.allocUnsafeSlow(flushChunkBytes);
  const entries = memtable.iterator();
  try {
    entries.seekToFirst();
    let used = 0;
    while (entries.valid()) {
      const entryBytes = entryFramingBytes + entries.userKeyString().length + trailerBytes + entries.valueBytes();
      if (used + entryBytes > flushChunkBytes && used > 0) {
        // Close the chunk before yielding: the entry stays current and is written after.
        chunks.push(copyOut(scratch, used));
        used = 0;
        await yieldBetweenChunks();
        continue;
      }
      if (entryBytes > flushChunkBytes) {
        const own = Buffer.from(new ArrayBuffer(entryBytes));
        writeEntry(own, 0, entries);
        chunks.push(own);
        entries.next();
        await yieldBetweenChunks();
        continue;
      }
      used = writeEntry(scratch, used, entries);
      entries.next();
    }
    if (used > 0) chunks.push(copyOut(scratch, used));
  } finally {
    entries.close();
  }
  return chunks;
}

/** Writes the iterator's entry at `offset`; returns the offset after it. */
function writeEntry(chunk: Buffer, offset: number, entries: MemtableIterator): number {
  const userKey = entries.userKeyString();
  chunk.writeUInt32LE(userKey.length + trailerBytes, offset);
  offset += 4;
  if (userKey.length > loopKeyBytesMax) chunk.write(userKey, offset, 'latin1');
  else for (let index = 0; index < userKey.length; index++) chunk[offset + index] = userKey.charCodeAt(index);
  offset += userKey.length;
  writeTrailer(chunk, offset, entries.sequence(), entries.type());
  offset += trailerBytes;
  const valueBytes = entries.valueBytes();
  chunk.writeUInt32LE(valueBytes, offset);
  offset += 4;
  entries.copyValue(chunk, offset);
  return offset + valueBytes;
}

/** The first `bytes` of `scratch` in an ArrayBuffer of their own. */
function copyOut(scratch: Buffer, bytes: number): Uint8Array {
  const chunk = Buffer.from(new ArrayBuffer(bytes));
  scratch.copy(chunk, 0, 0, bytes);
  return chunk;
}
