// Serialises an immutable memtable for a flush worker: internal keys and
// values packed into transferable chunks, built a slice at a time with a
// yield between slices so that the event loop never stalls for long.
//
// Chunk layout (in memory only, never on disk):
//   repeat { [internal key length u32 LE][internal key][value length u32 LE][value] }

import type { Memtable } from '../memtable/memtable.js';
import type { SkipNode } from '../memtable/skip-list.js';
import { trailerBytes, writeTrailer } from '../format/internal-key.js';

/** Target bytes of one chunk; a larger entry gets a chunk of its own. */
export const flushChunkBytes = 4 * 1024 * 1024;

export async function serializeMemtable(memtable: Memtable, yieldBetweenChunks: () => Promise<void>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let node = memtable.firstNode();
  while (node !== null) {
    // Measure how many entries fit, then copy them.
    let size = 0;
    let end: SkipNode | null = node;
    for (let count = 0; end !== null; count++, end = end.next[0]!) {
      const entryBytes = 8 + end.userKey.length + trailerBytes + end.value.length;
      if (count > 0 && size + entryBytes > flushChunkBytes) break;
      size += entryBytes;
    }
    const chunk = Buffer.from(new ArrayBuffer(size));
    let offset = 0;
    for (; node !== end && node !== null; node = node.next[0]!) {
      chunk.writeUInt32LE(node.userKey.length + trailerBytes, offset);
      chunk.set(node.userKey, offset + 4);
      offset += 4 + node.userKey.length;
      writeTrailer(chunk, offset, node.sequence, node.type);
      chunk.writeUInt32LE(node.value.length, offset + trailerBytes);
      chunk.set(node.value, offset + trailerBytes + 4);
      offset += trailerBytes + 4 + node.value.length;
    }
    chunks.push(chunk);
    await yieldBetweenChunks();
  }
  return chunks;
}
