// Reads a segment file block by block for the tools, carrying on past damage
// (docs/format.md, "Segment files"). SegmentReader throws at the first damage
// and needs every metadata block; lib/segment/segment-checker.ts lists
// problems but not the entries. recover needs the entries of every readable
// block of a damaged segment, and inspect and verify need each block's place
// and key range, so this walks the file the way the checker does:
//
//   1. footer (without it nothing can be located: the file is unreadable);
//   2. properties and filter blocks, each optional (used for ranges and display);
//   3. index block (without it the data blocks cannot be found: unreadable);
//   4. each data block the index names, if asked: CRC, decompression, entry
//      decoding, and keys strictly increasing within the block and after the
//      last key of the previous good block. A block failing any of these is
//      reported with its reason; its entries are not handed out.
//
// It never writes. Keys handed out are copies owned by the caller.

import { CorruptionError, UnsupportedVersionError } from '../lib/errors.js';
import { compareInternalKeys, trailerBytes, userKeyOf } from '../lib/format/internal-key.js';
import type { VarintResult } from '../lib/format/varint.js';
import { readExactly, type FileHandle, type FileSystem } from '../lib/fs/file-system.js';
import { decodeBlockHandle, readBlock } from '../lib/segment/block-io.js';
import { Block, BlockIterator } from '../lib/segment/block-reader.js';
import { BloomFilter } from '../lib/segment/bloom-filter.js';
import { blockRawBytesMax, blockTrailerBytes, footerBytes, lz4ExpansionMax, type BlockHandle } from '../lib/segment/segment-format.js';
import { decodeFooter, type SegmentFooter } from '../lib/segment/segment-footer.js';
import { decodeProperties, type StoredProperties } from '../lib/segment/segment-properties.js';
import { parseFileName, segmentDir, segmentPath } from '../lib/format/file-names.js';
import type { SegmentMeta } from '../lib/manifest/segment-meta.js';
import { metaFrom } from '../lib/compaction/compactor.js';
import type { Version } from '../lib/manifest/version.js';
import { keyRange, type KeyRange } from './render.js';

/** One data block as the index names it. */
export interface ScannedBlock {
  /** Position in the index, from 0. */
  index: number;
  offset: number;
  /** Stored bytes, without the 5-byte trailer. */
  storedBytes: number;
  /** The index entry's key (an internal key >= the block's last key). */
  separatorKey: Buffer;
  /** Trailer type byte (0 none, 1 LZ4), when the trailer could be read. */
  compression: number | undefined;
  /** Decompressed bytes, when the block was read whole. */
  rawBytes: number | undefined;
  entries: number | undefined;
  firstKey: Buffer | undefined;
  lastKey: Buffer | undefined;
  /** Why the block is unreadable (or out of order); undefined for a good block or when data was not read. */
  problem: string | undefined;
}

/** A damaged part outside the data blocks. */
export interface ScanProblem {
  offset: number;
  message: string;
}

export interface SegmentScan {
  path: string;
  fileBytes: number;
  footer: SegmentFooter | undefined;
  properties: StoredProperties | undefined;
  filter: { bytes: number; probeCount: number } | undefined;
  /** The parsed Bloom filter, when its block is readable: which user keys the segment may hold. */
  bloom: BloomFilter | undefined;
  /** Problems with the footer, index, filter and properties blocks (data block problems are on the blocks). */
  problems: ScanProblem[];
  /** Every data block the index names; empty when the footer or index is unreadable. */
  blocks: ScannedBlock[];
  /** True when the footer and index could be read, so the blocks are known. */
  indexReadable: boolean;
  /**
   * Set when the index (or footer) was unreadable and ScanOptions.searchWithoutIndex found
   * data blocks by their trailers instead (`blocks` are those found, in file order).
   */
  searched: BlockSearch | undefined;
  /** The reader's message when the footer names a format version this build does not read. */
  unsupportedVersion: string | undefined;
}

/** What a search for data blocks without the index found (ScanOptions.searchWithoutIndex). */
export interface BlockSearch {
  /** Where the data blocks end: the first metadata block's offset when the footer is readable, else unknown (null). */
  dataEnd: number | null;
  /** Where the search stopped: no block could be found from here (== dataEnd when every block was found). */
  stoppedAt: number;
  /** Entries in the blocks found. */
  entries: number;
}

export interface ScanOptions {
  /** Read every data block (default true); false reads only the footer and metadata blocks. */
  readData?: boolean;
  /**
   * Called for each good data block with its entries in order (internal key,
   * value; both copies). Blocks whose keys do not follow the last good key
   * are reported, not handed out, so the entries handed out strictly increase.
   */
  onBlock?: (block: ScannedBlock, entries: [key: Buffer, value: Buffer][]) => void;
  /**
   * When the index (or the footer) is unreadable, find the data blocks without
   * it (recover): from the file's start, each block ends where a trailer's
   * CRC-32 matches the bytes before it (a type byte, then the CRC of the
   * stored bytes and that byte), and must decode, with keys that go on from
   * the block before. The search stops where no block follows (the data's
   * end, or a damaged block). Cost: one pass of a byte-wise CRC over the data.
   */
  searchWithoutIndex?: boolean;
}

/** Largest data region searchWithoutIndex reads into memory, bytes. */
const searchBytesMax = 1024 * 1024 * 1024;

/** CRC-32/IEEE table (reflected polynomial 0xEDB88320), for the byte-wise CRC of the search. */
const crcTable = ((): Int32Array => {
  const table = new Int32Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let value = byte;
    for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    table[byte] = value;
  }
  return table;
})();

/**
 * Scans the segment at `path`.
 * @throws the file system's error when it cannot be opened or read (not damage)
 */
export function scanSegment(fs: FileSystem, path: string, options: ScanOptions = {}): SegmentScan {
  const file = fs.open(path, 'read');
  try {
    return new Scanner(file, path, options).run();
  } finally {
    file.close();
  }
}

/**
 * The user keys block `index` of `scan` may hold, from its neighbours: a
 * user key's versions may straddle blocks, so both ends are inclusive.
 */
export function blockKeyRange(scan: SegmentScan, index: number): KeyRange {
  const block = scan.blocks[index]!;
  if (block.firstKey !== undefined && block.lastKey !== undefined) return keyRange(userKeyOf(block.firstKey), userKeyOf(block.lastKey));
  const previous = scan.blocks[index - 1];
  const next = scan.blocks[index + 1];
  // The previous block's separator is >= its last key and < this block's first key.
  let smallest: Buffer | undefined;
  if (previous !== undefined) smallest = userKeyOf(previous.separatorKey);
  else if (scan.properties !== undefined) smallest = userKeyOf(scan.properties.smallestKey);
  // This block's separator is >= its last key; so is the next block's first key and the segment's largest.
  let largest = userKeyOf(block.separatorKey);
  for (const bound of [next?.firstKey, scan.properties?.largestKey]) {
    if (bound !== undefined && userKeyOf(bound).compare(largest) < 0) largest = userKeyOf(bound);
  }
  return keyRange(smallest, largest);
}

/** The user keys the whole segment holds, from its properties (unknown when they are unreadable). */
export function segmentKeyRange(scan: SegmentScan): KeyRange {
  if (scan.properties !== undefined) return keyRange(userKeyOf(scan.properties.smallestKey), userKeyOf(scan.properties.largestKey));
  const first = scan.blocks[0];
  const last = scan.blocks[scan.blocks.length - 1];
  return keyRange(first?.firstKey === undefined ? undefined : userKeyOf(first.firstKey), last === undefined ? undefined : userKeyOf(last.lastKey ?? last.separatorKey));
}

class Scanner {
  readonly #file: FileHandle;
  readonly #path: string;
  readonly #options: ScanOptions;
  readonly #scan: SegmentScan;
  readonly #varint: VarintResult = { value: 0, offset: 0 };
  /** Last key handed out, to keep what onBlock sees strictly increasing. */
  #lastGoodKey: Buffer | undefined;

  constructor(file: FileHandle, path: string, options: ScanOptions) {
    this.#file = file;
    this.#path = path;
    this.#options = options;
    this.#scan = { path, fileBytes: file.size(), footer: undefined, properties: undefined, filter: undefined, bloom: undefined, problems: [], blocks: [], indexReadable: false, searched: undefined, unsupportedVersion: undefined };
  }

  run(): SegmentScan {
    const scan = this.#read();
    if (!scan.indexReadable && scan.unsupportedVersion === undefined && this.#options.searchWithoutIndex === true && this.#options.readData !== false) this.#search();
    return scan;
  }

  /**
   * Finds data blocks from the file's start by their trailers (ScanOptions.searchWithoutIndex),
   * handing the entries of each to onBlock as #readDataBlock does.
   */
  #search(): void {
    const scan = this.#scan;
    const footer = scan.footer;
    const dataEnd = footer === undefined ? null : Math.min(footer.index.offset, footer.filter.offset, footer.properties.offset);
    const end = Math.min(dataEnd ?? scan.fileBytes, scan.fileBytes);
    if (end > searchBytesMax) return;
    const bytes = readExactly(this.#file, 0, end);
    const search: BlockSearch = { dataEnd, stoppedAt: 0, entries: 0 };
    scan.searched = search;
    scan.blocks = [];
    let start = 0;
    // Bound: each pass either finds a block (start moves past it) or ends the search.
    while (start + blockTrailerBytes <= end) {
      const found = this.#findBlock(bytes, start, end);
      if (found === undefined) break;
      const [storedEnd, entries] = found;
      const block: ScannedBlock = {
        index: scan.blocks.length,
        offset: start,
        storedBytes: storedEnd - start,
        separatorKey: entries[entries.length - 1]![0],
        compression: bytes[storedEnd],
        rawBytes: undefined,
        entries: entries.length,
        firstKey: entries[0]![0],
        lastKey: entries[entries.length - 1]![0],
        problem: undefined,
      };
      scan.blocks.push(block);
      search.entries += entries.length;
      this.#lastGoodKey = block.lastKey;
      this.#options.onBlock?.(block, entries);
      start = storedEnd + blockTrailerBytes;
    }
    search.stoppedAt = start;
  }

  /**
   * The first block starting at `start`: the end of its stored bytes (where its trailer is) and its
   * entries, or undefined when no trailer before `end` matches a block that decodes and goes on
   * from the last key handed out.
   */
  #findBlock(bytes: Buffer, start: number, end: number): [storedEnd: number, entries: [Buffer, Buffer][]] | undefined {
    let crc = -1;
    for (let at = start; at + blockTrailerBytes <= end; at++) {
      const type = bytes[at]!;
      if (type === 0 || type === 1) {
        const withType = crcTable[(crc ^ type) & 0xff]! ^ (crc >>> 8);
        if ((withType ^ -1) >>> 0 === bytes.readUInt32LE(at + 1)) {
          const entries = this.#tryBlock(start, at - start, end);
          if (entries !== undefined) return [at, entries];
        }
      }
      crc = crcTable[(crc ^ bytes[at]!) & 0xff]! ^ (crc >>> 8);
    }
    return undefined;
  }

  /** The entries of the block whose stored bytes are [offset, offset + size), when it decodes, holds entries, and sorts after the last key handed out. */
  #tryBlock(offset: number, size: number, limit: number): [Buffer, Buffer][] | undefined {
    try {
      const raw = readBlock(this.#file, this.#path, { offset, size }, limit, { verifyChecksum: true, rawBytesMax: blockRawBytesMax });
      const entries = this.#decodeEntries(Block.parse(raw, this.#path, offset));
      if (entries.length === 0 || entries.some(([key]) => key.length < trailerBytes) || this.#orderProblem(entries) !== undefined) return undefined;
      return entries;
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      return undefined;
    }
  }

  #read(): SegmentScan {
    const scan = this.#scan;
    const footerOffset = scan.fileBytes - footerBytes;
    if (footerOffset < 0) {
      scan.problems.push({ offset: 0, message: `Cannot open segment "${this.#path}": file is ${scan.fileBytes} bytes, shorter than the ${footerBytes}-byte footer` });
      return scan;
    }
    const footer = this.#attempt(footerOffset, () => decodeFooter(readExactly(this.#file, footerOffset, footerBytes), this.#path, footerOffset));
    if (footer === undefined) return scan;
    scan.footer = footer;
    scan.properties = this.#attempt(footer.properties.offset, () => decodeProperties(this.#readMeta(footer.properties, 'properties block'), this.#path, footer.properties.offset));
    const filter = this.#attempt(footer.filter.offset, () => BloomFilter.parse(this.#readMeta(footer.filter, 'filter block'), this.#path, footer.filter.offset));
    if (filter !== undefined) {
      scan.filter = { bytes: footer.filter.size, probeCount: filter.probeCount };
      scan.bloom = filter;
    }
    const index = this.#attempt(footer.index.offset, () => Block.parse(this.#readMeta(footer.index, 'index block'), this.#path, footer.index.offset));
    if (index === undefined) return scan;
    const listed = this.#attempt(footer.index.offset, () => this.#listBlocks(index));
    if (listed === undefined) return scan;
    scan.indexReadable = true;
    if (this.#options.readData !== false) for (const block of scan.blocks) this.#readDataBlock(block);
    return scan;
  }

  #listBlocks(index: Block): true {
    const entries = new BlockIterator(index);
    const handle: BlockHandle = { offset: 0, size: 0 };
    for (entries.seekToFirst(); entries.valid(); entries.next()) {
      const value = entries.value();
      if (!decodeBlockHandle(value, 0, value.length, handle, this.#varint)) {
        throw new CorruptionError(this.#path, index.blockOffset, `Cannot read segment index block in "${this.#path}" at offset ${index.blockOffset}: entry ${this.#scan.blocks.length} holds a malformed block handle`);
      }
      this.#scan.blocks.push({
        index: this.#scan.blocks.length,
        offset: handle.offset,
        storedBytes: handle.size,
        separatorKey: Buffer.from(entries.key()),
        compression: undefined,
        rawBytes: undefined,
        entries: undefined,
        firstKey: undefined,
        lastKey: undefined,
        problem: undefined,
      });
    }
    return true;
  }

  #readDataBlock(block: ScannedBlock): void {
    const footer = this.#scan.footer!;
    const limit = Math.min(footer.index.offset, footer.filter.offset, footer.properties.offset);
    const handle = { offset: block.offset, size: block.storedBytes };
    try {
      if (handle.offset + handle.size + blockTrailerBytes <= limit) block.compression = readExactly(this.#file, handle.offset + handle.size, 1)[0];
      const raw = readBlock(this.#file, this.#path, handle, limit, { verifyChecksum: true, rawBytesMax: blockRawBytesMax });
      block.rawBytes = raw.length;
      const entries = this.#decodeEntries(Block.parse(raw, this.#path, handle.offset));
      block.entries = entries.length;
      block.firstKey = entries[0]?.[0];
      block.lastKey = entries[entries.length - 1]?.[0];
      const problem = this.#orderProblem(entries);
      if (problem !== undefined) {
        block.problem = problem;
        return;
      }
      if (entries.length > 0) this.#lastGoodKey = entries[entries.length - 1]![0];
      this.#options.onBlock?.(block, entries);
    } catch (error) {
      if (!(error instanceof CorruptionError)) throw error;
      block.problem = error.message;
    }
  }

  #decodeEntries(block: Block): [Buffer, Buffer][] {
    const entries: [Buffer, Buffer][] = [];
    const iterator = new BlockIterator(block);
    for (iterator.seekToFirst(); iterator.valid(); iterator.next()) entries.push([Buffer.from(iterator.key()), Buffer.from(iterator.value())]);
    return entries;
  }

  #orderProblem(entries: [Buffer, Buffer][]): string | undefined {
    let previous = this.#lastGoodKey;
    for (let index = 0; index < entries.length; index++) {
      const key = entries[index]![0];
      if (previous !== undefined && compareInternalKeys(previous, key) >= 0) {
        return index === 0
          ? `first key does not sort after the last key of the previous readable block`
          : `keys are out of order inside the block (entry ${index})`;
      }
      previous = key;
    }
    return undefined;
  }

  #readMeta(handle: BlockHandle, blockName: string): Buffer {
    return readBlock(this.#file, this.#path, handle, this.#scan.fileBytes - footerBytes, { verifyChecksum: true, rawBytesMax: handle.size * lz4ExpansionMax + 64, blockName });
  }

  #attempt<T>(offset: number, step: () => T): T | undefined {
    try {
      return step();
    } catch (error) {
      if (error instanceof CorruptionError) this.#scan.problems.push({ offset: error.offset, message: error.message });
      else if (error instanceof UnsupportedVersionError) {
        this.#scan.problems.push({ offset, message: error.message });
        this.#scan.unsupportedVersion = error.message;
      } else throw error;
      return undefined;
    }
  }
}

/** Segments the manifest names that are missing, and segments on disk it does not name that look like their compaction's output. */
export interface CompactionEvidence {
  missing: SegmentMeta[];
  outputs: { fileNumber: number; properties: StoredProperties }[];
}

/**
 * Whether the segments on disk show that a manifest edit which replay did
 * not apply (an unreadable last record) was acted on: segments the manifest
 * names are missing, and a segment it does not name shares sequences with
 * one of them. A compaction's output keeps its inputs' sequences (the
 * newest version of each key); a flush's segment holds sequences above
 * every flushed one, so a torn flush edit with a segment lost for another
 * reason is not mistaken for it.
 * @returns undefined when nothing shows it
 */
export function compactionEvidence(fs: FileSystem, dir: string, version: Version): CompactionEvidence | undefined {
  const missing = version.allFiles().filter((meta) => !fs.exists(segmentPath(dir, meta.fileNumber)));
  if (missing.length === 0 || !fs.exists(segmentDir(dir))) return undefined;
  const named = version.fileNumbers();
  const outputs: CompactionEvidence['outputs'] = [];
  for (const name of fs.list(segmentDir(dir))) {
    const parsed = parseFileName(name);
    if (parsed?.kind !== 'segment' || named.has(parsed.number)) continue;
    const properties = scanSegment(fs, segmentPath(dir, parsed.number), { readData: false }).properties;
    if (properties === undefined) continue;
    if (missing.some((meta) => properties.smallestSequence <= meta.largestSequence && properties.largestSequence >= meta.smallestSequence)) {
      outputs.push({ fileNumber: parsed.number, properties });
    }
  }
  return outputs.length === 0 ? undefined : { missing, outputs };
}

/** The WAL file a manifest names as the oldest live one, missing, and the segments on disk that hold its writes. */
export interface FlushEvidence {
  /** The manifest's log number: the oldest WAL file holding writes not in its segments, missing. */
  missingLog: number;
  /** Segments the manifest does not name whose every write is newer than every segment it names. */
  outputs: { fileNumber: number; meta: SegmentMeta }[];
  /** The oldest live WAL file past `missingLog`: the log number the lost edit set (undefined: none on disk). */
  logNumber: number | undefined;
}

/**
 * Whether the files on disk show that a manifest edit which replay did not
 * apply (an unreadable last record) was a flush the server acted on: the WAL
 * file the manifest names as the oldest live one is missing (the server
 * deletes a flushed WAL file only after the flush's edit is synced), and a
 * segment the manifest does not name holds only writes newer than every
 * segment it names, and older than the next live WAL file's first: the
 * flush's output, holding that file's writes. (The last write a flush takes
 * is never shadowed, so the output ends right where the next file starts.)
 * Adopting such a segment is safe whatever it is: no segment named holds a
 * newer version of its keys, and the WAL files replayed after it hold only
 * newer writes.
 * @param firstSequenceOf the first sequence of a live WAL file (undefined when it holds no readable record)
 * @returns undefined when nothing shows it
 */
export function flushEvidence(fs: FileSystem, dir: string, version: Version, logNumber: number, liveWal: readonly number[], firstSequenceOf: (fileNumber: number) => number | undefined): FlushEvidence | undefined {
  if (logNumber === 0 || liveWal.includes(logNumber) || !fs.exists(segmentDir(dir))) return undefined;
  const flushed = version.allFiles().reduce((largest, meta) => Math.max(largest, meta.largestSequence), 0);
  const next = liveWal.filter((number) => number > logNumber).sort((a, b) => a - b)[0];
  const nextFirst = next === undefined ? undefined : firstSequenceOf(next);
  const named = version.fileNumbers();
  const outputs: FlushEvidence['outputs'] = [];
  for (const name of fs.list(segmentDir(dir))) {
    const parsed = parseFileName(name);
    if (parsed?.kind !== 'segment' || named.has(parsed.number)) continue;
    const scan = scanSegment(fs, segmentPath(dir, parsed.number), { readData: false });
    const properties = scan.properties;
    if (properties === undefined || scan.footer === undefined) continue;
    if (properties.smallestSequence <= flushed || (nextFirst !== undefined && properties.largestSequence >= nextFirst)) continue;
    outputs.push({ fileNumber: parsed.number, meta: metaFrom(parsed.number, 0, { ...properties, formatVersion: scan.footer.formatVersion, fileBytes: scan.fileBytes }) });
  }
  outputs.sort((a, b) => a.fileNumber - b.fileNumber);
  return outputs.length === 0 ? undefined : { missingLog: logNumber, outputs, logNumber: next };
}

/**
 * "wal/000053.log, the oldest WAL file the manifest names, is missing while
 * seg/000056.sst, which it does not name, holds only writes newer than every
 * segment it names (sequences 10-20) (a flush)"
 */
export function describeFlushEvidence(evidence: FlushEvidence, segmentFile: (fileNumber: number) => string, walFile: string): string {
  const { outputs } = evidence;
  const names = outputs.map((output) => segmentFile(output.fileNumber)).join(', ');
  const first = Math.min(...outputs.map((output) => output.meta.smallestSequence));
  const last = Math.max(...outputs.map((output) => output.meta.largestSequence));
  return `${walFile}, the oldest WAL file the manifest names, is missing while ${names}, which it does not name, ${outputs.length === 1 ? 'holds' : 'hold'} only writes newer than every segment it names (sequences ${first}-${last}) (a flush)`;
}

/** An output of `evidence` holding newer versions of keys in `meta`'s range: `meta` was most likely among its inputs. */
export function likelyReplacedBy(evidence: CompactionEvidence, meta: SegmentMeta): number | undefined {
  const [smallest, largest] = [userKeyOf(meta.smallestKey), userKeyOf(meta.largestKey)];
  return evidence.outputs.find(
    ({ properties }) =>
      properties.largestSequence >= meta.largestSequence &&
      Buffer.compare(userKeyOf(properties.smallestKey), largest) <= 0 &&
      Buffer.compare(userKeyOf(properties.largestKey), smallest) >= 0,
  )?.fileNumber;
}
