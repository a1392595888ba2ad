// Checks a whole segment file and lists every problem found, for `silt verify`
// (docs/format.md, "Segment files"). Unlike SegmentReader, which throws at the
// first damage, it carries on past a damaged part where later parts can still
// be checked on their own:
//
//   1. footer: magic, version, checksum, handles (nothing else is possible without it);
//   2. index, filter and properties blocks, each on its own;
//   3. every data block the index names: placement (blocks tile [0, dataBytes)
//      in order), CRC, decompression, entry decoding, key order within and
//      across blocks, index keys (>= the block's last key, < the next block's
//      first key), every user key in the Bloom filter;
//   4. totals against the properties (counts, bytes, key and sequence range).
//
// It never writes. Errors other than CorruptionError / UnsupportedVersionError
// (I/O failures, assertion failures) are not problems of the file and propagate.

import { CorruptionError, UnsupportedVersionError } from '../errors.js';
import {
  compareInternalKeys,
  sequenceOf,
  sequenceMax,
  typeOf,
  userKeyOf,
  ValueType,
} from '../format/internal-key.js';
import type { VarintResult } from '../format/varint.js';
import { baseName, readExactly, type FileHandle, type FileSystem } from '../fs/file-system.js';
import { decodeBlockHandle, readBlock } from './block-io.js';
import { Block, BlockIterator } from './block-reader.js';
import { BloomFilter } from './bloom-filter.js';
import { type BlockHandle, blockRawBytesMax, blockTrailerBytes, FooterField, footerBytes, lz4ExpansionMax, segmentFileName } from './segment-format.js';
import { decodeFooter, type SegmentFooter } from './segment-footer.js';
import { decodeProperties, type StoredProperties } from './segment-properties.js';

/** One thing wrong with a segment file. */
export interface SegmentProblem {
  /** File offset of the damaged part (the block's offset for anything inside a block). */
  offset: number;
  message: string;
}

/**
 * Reads every block of the segment at `path` and checks everything it can.
 * @param fileNumber the number the data directory gives the file; a numbered file name must match it
 * @returns every problem found, in file order where possible; empty for a healthy file
 * @throws the file system's error when the file cannot be opened or read
 */
export function checkSegment(fs: FileSystem, path: string, fileNumber: number): SegmentProblem[] {
  const file = fs.open(path, 'read');
  try {
    const checker = new SegmentChecker(file, path);
    checker.checkName(fileNumber);
    checker.run();
    return checker.problems;
  } finally {
    file.close();
  }
}

/** Running totals over the data blocks, compared with the properties at the end. */
interface Totals {
  entryCount: number;
  tombstoneCount: number;
  rawKeyBytes: number;
  rawValueBytes: number;
  dataBlockCount: number;
  smallestKey: Buffer | undefined;
  largestKey: Buffer | undefined;
  smallestSequence: number;
  largestSequence: number;
}

class SegmentChecker {
  readonly problems: SegmentProblem[] = [];
  readonly #file: FileHandle;
  readonly #path: string;
  readonly #fileBytes: number;
  readonly #totals: Totals = {
    entryCount: 0,
    tombstoneCount: 0,
    rawKeyBytes: 0,
    rawValueBytes: 0,
    dataBlockCount: 0,
    smallestKey: undefined,
    largestKey: undefined,
    smallestSequence: sequenceMax,
    largestSequence: 0,
  };
  #footer: SegmentFooter | undefined;
  #filter: BloomFilter | undefined;
  #properties: StoredProperties | undefined;
  /** Where the next data block must start. */
  #expectedOffset = 0;
  /** The previous index key, while the previous block's first key check is pending. */
  #previousIndexKey: Buffer | undefined;
  /** Data blocks that could not be read whole; entry totals are then not comparable. */
  #damagedBlockCount = 0;
  /** Stored keys the Bloom filter denies (reported once, with the count). */
  #keysMissingFromFilter = 0;
  readonly #varint: VarintResult = { value: 0, offset: 0 };

  constructor(file: FileHandle, path: string) {
    this.#file = file;
    this.#path = path;
    this.#fileBytes = file.size();
  }

  checkName(fileNumber: number): void {
    const name = baseName(this.#path);
    if (/^\d+\.sst$/.test(name) && name !== segmentFileName(fileNumber)) {
      this.#problem(0, `Cannot check segment "${this.#path}": file name does not match file number ${fileNumber}`);
    }
  }

  run(): void {
    const footerOffset = this.#fileBytes - footerBytes;
    if (footerOffset < 0) {
      this.#problem(0, `Cannot open segment "${this.#path}": file is ${this.#fileBytes} bytes, shorter than the ${footerBytes}-byte footer`);
      return;
    }
    this.#footer = this.#attempt(footerOffset + FooterField.formatVersion, () => decodeFooter(readExactly(this.#file, footerOffset, footerBytes), this.#path, footerOffset));
    if (this.#footer === undefined) return;
    const footer = this.#footer;
    const index = this.#attempt(footer.index.offset, () => Block.parse(this.#readMeta(footer.index, 'index block'), this.#path, footer.index.offset));
    this.#filter = this.#attempt(footer.filter.offset, () => BloomFilter.parse(this.#readMeta(footer.filter, 'filter block'), this.#path, footer.filter.offset));
    this.#properties = this.#attempt(footer.properties.offset, () =>
      decodeProperties(this.#readMeta(footer.properties, 'properties block'), this.#path, footer.properties.offset),
    );
    if (index !== undefined) this.#attempt(footer.index.offset, () => this.#checkDataBlocks(index));
    if (index !== undefined && this.#properties !== undefined) this.#checkTotals(this.#properties);
    if (this.#keysMissingFromFilter > 0) {
      const offset = footer.filter.offset;
      this.#problem(offset, `Cannot check segment filter block in "${this.#path}" at offset ${offset}: ${this.#keysMissingFromFilter} stored user keys are missing from the Bloom filter`);
    }
  }

  #checkDataBlocks(index: Block): void {
    const entries = new BlockIterator(index);
    const handle: BlockHandle = { offset: 0, size: 0 };
    for (entries.seekToFirst(); entries.valid(); entries.next()) {
      const value = entries.value();
      if (!decodeBlockHandle(value, 0, value.length, handle, this.#varint)) {
        this.#indexProblem('index entry holds a malformed block handle');
        return;
      }
      this.#checkPlacement(handle);
      const block = this.#attempt(handle.offset, () => Block.parse(this.#readData(handle), this.#path, handle.offset));
      this.#expectedOffset = handle.offset + handle.size + blockTrailerBytes;
      this.#totals.dataBlockCount++;
      const checked = block !== undefined && this.#attempt(handle.offset, () => this.#checkBlock(block, entries.key())) !== undefined;
      if (!checked) this.#damagedBlockCount++;
    }
    const metaStart = Math.min(this.#footer!.index.offset, this.#footer!.filter.offset, this.#footer!.properties.offset);
    if (this.#expectedOffset !== metaStart) this.#indexProblem(`data blocks end at ${this.#expectedOffset}, metadata starts at ${metaStart}`);
  }

  #checkPlacement(handle: BlockHandle): void {
    if (handle.offset !== this.#expectedOffset) {
      this.#indexProblem(`index entry points at offset ${handle.offset}, expected the next block at ${this.#expectedOffset}`);
    }
  }

  /** Checks one decoded data block whose index key is `indexKey`. */
  #checkBlock(block: Block, indexKey: Buffer): true {
    const entries = new BlockIterator(block);
    let last: Buffer | undefined;
    for (entries.seekToFirst(); entries.valid(); entries.next()) {
      const key = Buffer.from(entries.key());
      if (last === undefined) this.#checkFirstKey(block, key);
      else if (compareInternalKeys(last, key) >= 0) this.#blockProblem(block, 'keys are out of order inside the block');
      this.#count(key, entries.value().length);
      last = key;
    }
    if (last !== undefined && compareInternalKeys(indexKey, last) < 0) {
      this.#indexProblem(`index key for the block at offset ${block.blockOffset} sorts before the block's last key`);
    }
    this.#previousIndexKey = Buffer.from(indexKey);
    return true;
  }

  #checkFirstKey(block: Block, key: Buffer): void {
    const previous = this.#totals.largestKey;
    if (previous !== undefined && compareInternalKeys(previous, key) >= 0) {
      this.#blockProblem(block, "first key does not sort after the previous block's last key");
    }
    if (this.#previousIndexKey !== undefined && compareInternalKeys(this.#previousIndexKey, key) >= 0) {
      this.#indexProblem(`index key of the block before offset ${block.blockOffset} does not sort before its first key`);
    }
  }

  #count(key: Buffer, valueLength: number): void {
    const totals = this.#totals;
    const sequence = sequenceOf(key);
    totals.entryCount++;
    if (typeOf(key) === ValueType.delete) totals.tombstoneCount++;
    totals.rawKeyBytes += key.length;
    totals.rawValueBytes += valueLength;
    totals.smallestKey ??= key;
    totals.largestKey = key;
    totals.smallestSequence = Math.min(totals.smallestSequence, sequence);
    totals.largestSequence = Math.max(totals.largestSequence, sequence);
    if (this.#filter !== undefined && !this.#filter.mayContain(userKeyOf(key))) this.#keysMissingFromFilter++;
  }

  #checkTotals(properties: StoredProperties): void {
    const totals = this.#totals;
    const offset = this.#footer!.properties.offset;
    if (totals.dataBlockCount !== properties.dataBlockCount) this.#propertyProblem(offset, `dataBlockCount is ${properties.dataBlockCount}, the index names ${totals.dataBlockCount}`);
    if (this.#expectedOffset !== properties.dataBytes) this.#propertyProblem(offset, `dataBytes is ${properties.dataBytes}, the data blocks end at ${this.#expectedOffset}`);
    if (this.#damagedBlockCount > 0) return; // entry totals cannot match with blocks unread; those blocks are reported
    for (const name of ['entryCount', 'tombstoneCount', 'rawKeyBytes', 'rawValueBytes', 'smallestSequence', 'largestSequence'] as const) {
      if (totals[name] !== properties[name]) this.#propertyProblem(offset, `${name} is ${properties[name]}, the data blocks hold ${totals[name]}`);
    }
    if (totals.smallestKey !== undefined && !totals.smallestKey.equals(properties.smallestKey)) this.#propertyProblem(offset, 'smallestKey differs from the first stored key');
    if (totals.largestKey !== undefined && !totals.largestKey.equals(properties.largestKey)) this.#propertyProblem(offset, 'largestKey differs from the last stored key');
  }

  #readMeta(handle: BlockHandle, blockName: string): Buffer {
    const options = { verifyChecksum: true, rawBytesMax: handle.size * lz4ExpansionMax + 64, blockName };
    return readBlock(this.#file, this.#path, handle, this.#fileBytes - footerBytes, options);
  }

  #readData(handle: BlockHandle): Buffer {
    const limit = Math.min(this.#footer!.index.offset, this.#footer!.filter.offset, this.#footer!.properties.offset);
    return readBlock(this.#file, this.#path, handle, limit, { verifyChecksum: true, rawBytesMax: blockRawBytesMax });
  }

  /** Runs `step`; a CorruptionError or UnsupportedVersionError becomes a problem (at its offset, else `offset`). */
  #attempt<T>(offset: number, step: () => T): T | undefined {
    try {
      return step();
    } catch (error) {
      if (error instanceof CorruptionError) this.#problem(error.offset, error.message);
      else if (error instanceof UnsupportedVersionError) this.#problem(offset, error.message);
      else throw error; // not a property of the file: I/O failure or a bug
      return undefined;
    }
  }

  #indexProblem(reason: string): void {
    const offset = this.#footer!.index.offset;
    this.#problem(offset, `Cannot check segment index block in "${this.#path}" at offset ${offset}: ${reason}`);
  }

  #blockProblem(block: Block, reason: string): void {
    this.#problem(block.blockOffset, `Cannot check segment block in "${this.#path}" at offset ${block.blockOffset}: ${reason}`);
  }

  #propertyProblem(offset: number, reason: string): void {
    this.#problem(offset, `Cannot check segment properties in "${this.#path}" at offset ${offset}: ${reason}`);
  }

  #problem(offset: number, message: string): void {
    this.problems.push({ offset, message });
  }
}
