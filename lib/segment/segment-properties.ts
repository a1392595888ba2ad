// The properties block of a segment (docs/format.md, "Segment files",
// "Properties block"): what compaction, the manifest and `silt inspect` want
// to know about a segment without reading its data blocks.
//
//   properties = record*      record = tag varint | length varint | value (length bytes)
//
// Integer values are one varint filling the record; key values are raw
// internal keys. Records appear in tag order; each tag at most once. Readers
// skip tags they do not know, so a later writer may add properties without a
// new format version; every tag listed in PropertyTag is required in version 1.

import { CorruptionError } from '../errors.js';
import { readVarint, varintLength, writeVarint, type VarintResult } from '../format/varint.js';
import { compareInternalKeys, isValidInternalKey } from '../format/internal-key.js';

/** Facts about one segment, recorded when it is written. */
export interface SegmentProperties {
  /** Format version from the footer. */
  formatVersion: number;
  /** Entries (versions), tombstones included. */
  entryCount: number;
  /** Entries of type delete. */
  tombstoneCount: number;
  /** Sum of internal key lengths (trailer included) before prefix compression, bytes. */
  rawKeyBytes: number;
  /** Sum of value lengths, bytes. */
  rawValueBytes: number;
  dataBlockCount: number;
  /** Bytes of data blocks on disk, trailers included: data blocks occupy [0, dataBytes). */
  dataBytes: number;
  /** File size, bytes (not stored in the block: the reader takes it from the file). */
  fileBytes: number;
  /** First internal key (an own copy). */
  smallestKey: Buffer;
  /** Last internal key (an own copy). */
  largestKey: Buffer;
  smallestSequence: number;
  largestSequence: number;
  /** When the writer finished, ms since the epoch. */
  createdMs: number;
  /** Bloom filter bits per key the writer used (0: no filter). */
  bloomBitsPerKey: number;
}

/** The properties stored in the block (the rest comes from the footer and the file). */
export type StoredProperties = Omit<SegmentProperties, 'formatVersion' | 'fileBytes'>;

/** Property record tags. Written to disk: never renumber. */
export const PropertyTag = {
  entryCount: 1,
  tombstoneCount: 2,
  rawKeyBytes: 3,
  rawValueBytes: 4,
  dataBlockCount: 5,
  dataBytes: 6,
  smallestKey: 7,
  largestKey: 8,
  smallestSequence: 9,
  largestSequence: 10,
  createdMs: 11,
  bloomBitsPerKey: 12,
} as const;
type PropertyName = keyof typeof PropertyTag;

const keyProperties = new Set<PropertyName>(['smallestKey', 'largestKey']);
const nameByTag = new Map<number, PropertyName>(Object.entries(PropertyTag).map(([name, tag]) => [tag, name as PropertyName]));

/** Encodes properties as tag-ordered records (a new buffer). */
export function encodeProperties(properties: StoredProperties): Buffer {
  const parts: Buffer[] = [];
  for (const [name, tag] of Object.entries(PropertyTag) as [PropertyName, number][]) {
    const value = properties[name];
    const bytes = typeof value === 'number' ? encodeVarint(value) : value;
    parts.push(encodeVarint(tag), encodeVarint(bytes.length), bytes);
  }
  return Buffer.concat(parts);
}

/**
 * Decodes and checks a properties block.
 * @returns the properties; keys are copies owned by the caller
 * @throws CorruptionError (path, blockOffset) for malformed records, missing or impossible values
 */
export function decodeProperties(contents: Buffer, path: string, blockOffset: number): StoredProperties {
  const fail = (reason: string): CorruptionError =>
    new CorruptionError(path, blockOffset, `Cannot read segment properties block in "${path}" at offset ${blockOffset}: ${reason}`);
  const found = new Map<PropertyName, number | Buffer>();
  const varint: VarintResult = { value: 0, offset: 0 };
  let offset = 0;
  while (offset < contents.length) {
    if (!readVarint(contents, offset, contents.length, varint)) throw fail(`malformed tag at block offset ${offset}`);
    const tag = varint.value;
    if (!readVarint(contents, varint.offset, contents.length, varint)) throw fail(`malformed length of tag ${tag}`);
    const start = varint.offset;
    const end = start + varint.value;
    if (end > contents.length) throw fail(`tag ${tag} value of ${varint.value} bytes runs past the block`);
    offset = end;
    const name = nameByTag.get(tag);
    if (name === undefined) continue; // a property from a later writer: skipped by design
    if (found.has(name)) throw fail(`tag ${tag} (${name}) appears twice`);
    found.set(name, decodeValue(name, contents, start, end, varint, fail));
  }
  const properties = collect(found, fail);
  checkConsistency(properties, fail);
  return properties;
}

function decodeValue(
  name: PropertyName,
  contents: Buffer,
  start: number,
  end: number,
  varint: VarintResult,
  fail: (reason: string) => CorruptionError,
): number | Buffer {
  if (keyProperties.has(name)) {
    const key = Buffer.from(contents.subarray(start, end));
    if (!isValidInternalKey(key)) throw fail(`${name} is not a valid internal key`);
    return key;
  }
  if (!readVarint(contents, start, end, varint) || varint.offset !== end) throw fail(`${name} is not one varint`);
  return varint.value;
}

function collect(found: Map<PropertyName, number | Buffer>, fail: (reason: string) => CorruptionError): StoredProperties {
  const take = <T extends number | Buffer>(name: PropertyName): T => {
    const value = found.get(name);
    if (value === undefined) throw fail(`property ${name} (tag ${PropertyTag[name]}) is missing`);
    return value as T;
  };
  return {
    entryCount: take('entryCount'),
    tombstoneCount: take('tombstoneCount'),
    rawKeyBytes: take('rawKeyBytes'),
    rawValueBytes: take('rawValueBytes'),
    dataBlockCount: take('dataBlockCount'),
    dataBytes: take('dataBytes'),
    smallestKey: take('smallestKey'),
    largestKey: take('largestKey'),
    smallestSequence: take('smallestSequence'),
    largestSequence: take('largestSequence'),
    createdMs: take('createdMs'),
    bloomBitsPerKey: take('bloomBitsPerKey'),
  };
}

function checkConsistency(properties: StoredProperties, fail: (reason: string) => CorruptionError): void {
  if (properties.entryCount < 1) throw fail('entry count is 0');
  if (properties.tombstoneCount > properties.entryCount) throw fail(`tombstone count ${properties.tombstoneCount} exceeds entry count ${properties.entryCount}`);
  if (properties.dataBlockCount < 1) throw fail('data block count is 0');
  if (properties.dataBlockCount > properties.entryCount) throw fail(`data block count ${properties.dataBlockCount} exceeds entry count ${properties.entryCount}`);
  if (compareInternalKeys(properties.smallestKey, properties.largestKey) > 0) throw fail('smallest key sorts after largest key');
  if (properties.smallestSequence > properties.largestSequence) throw fail('smallest sequence exceeds largest sequence');
}

function encodeVarint(value: number): Buffer {
  const bytes = Buffer.allocUnsafe(varintLength(value));
  writeVarint(bytes, 0, value);
  return bytes;
}
