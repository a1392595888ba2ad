// The fixed 52-byte footer at the end of every segment file (docs/format.md,
// "Segment files", "Footer"). Fields are fixed-width little-endian so a reader
// finds them without parsing:
//
//   0  u64 index offset     8  u32 index size
//  12  u64 filter offset   20  u32 filter size
//  24  u64 props offset    32  u32 props size
//  36  u32 crc32 of bytes [0, 36)
//  40  u32 format version  44  8 bytes magic "silt-sst"
//
// Decoding checks, in order: magic (is this a segment at all?), version (an
// unknown one is UnsupportedVersionError: later versions may lay the footer out
// differently, so nothing else is trusted), checksum, then that each handle
// lies inside the file before the footer.

import { assert } from '../assert.js';
import { CorruptionError, UnsupportedVersionError } from '../errors.js';
import { crc32 } from '../format/crc32.js';
import {
  blockTrailerBytes,
  type BlockHandle,
  FooterField,
  footerBytes,
  footerChecksummedBytes,
  segmentFormatVersions,
  segmentMagic,
} from './segment-format.js';

const twoPow32 = 0x1_0000_0000;

/** What the footer records. */
export interface SegmentFooter {
  index: BlockHandle;
  filter: BlockHandle;
  properties: BlockHandle;
  formatVersion: number;
}

/** Encodes the footer (a new buffer of footerBytes). */
export function encodeFooter(footer: SegmentFooter): Buffer {
  const bytes = Buffer.alloc(footerBytes);
  writeHandle(bytes, FooterField.indexOffset, FooterField.indexSize, footer.index);
  writeHandle(bytes, FooterField.filterOffset, FooterField.filterSize, footer.filter);
  writeHandle(bytes, FooterField.propertiesOffset, FooterField.propertiesSize, footer.properties);
  bytes.writeUInt32LE(crc32(bytes.subarray(0, footerChecksummedBytes)), FooterField.checksum);
  bytes.writeUInt32LE(footer.formatVersion, FooterField.formatVersion);
  segmentMagic.copy(bytes, FooterField.magic);
  return bytes;
}

/**
 * Decodes and validates the footer.
 * @param bytes the last footerBytes bytes of the file
 * @param footerOffset where they start in the file (the file size minus footerBytes)
 * @throws CorruptionError naming the footer field's offset; UnsupportedVersionError for an unknown version
 */
export function decodeFooter(bytes: Buffer, path: string, footerOffset: number): SegmentFooter {
  const fail = (field: number, reason: string): CorruptionError =>
    new CorruptionError(path, footerOffset + field, `Cannot read segment footer in "${path}" at offset ${footerOffset + field}: ${reason}`);
  const magic = bytes.subarray(FooterField.magic, FooterField.magic + segmentMagic.length);
  if (!magic.equals(segmentMagic)) throw fail(FooterField.magic, `magic is ${magic.toString('hex')}, expected ${segmentMagic.toString('hex')} ("silt-sst")`);
  const formatVersion = bytes.readUInt32LE(FooterField.formatVersion);
  if (!(segmentFormatVersions as readonly number[]).includes(formatVersion)) {
    throw new UnsupportedVersionError(path, `Cannot open segment "${path}": format version ${formatVersion} is not supported (this build reads ${segmentFormatVersions.join(', ')})`);
  }
  const stored = bytes.readUInt32LE(FooterField.checksum);
  const computed = crc32(bytes.subarray(0, footerChecksummedBytes));
  if (stored !== computed) throw fail(0, `checksum mismatch (stored 0x${stored.toString(16)}, computed 0x${computed.toString(16)})`);
  const index = readHandle(bytes, FooterField.indexOffset, FooterField.indexSize);
  const filter = readHandle(bytes, FooterField.filterOffset, FooterField.filterSize);
  const properties = readHandle(bytes, FooterField.propertiesOffset, FooterField.propertiesSize);
  for (const [name, handle, field] of [
    ['index', index, FooterField.indexOffset],
    ['filter', filter, FooterField.filterOffset],
    ['properties', properties, FooterField.propertiesOffset],
  ] as const) {
    if (handle.offset + handle.size + blockTrailerBytes > footerOffset) {
      throw fail(field, `${name} block at offset ${handle.offset} of ${handle.size} bytes ends past the footer at ${footerOffset}`);
    }
  }
  return { index, filter, properties, formatVersion };
}

function writeHandle(bytes: Buffer, offsetField: number, sizeField: number, handle: BlockHandle): void {
  assert(Number.isSafeInteger(handle.offset) && handle.offset >= 0, 'a block offset is a non-negative safe integer');
  assert(handle.size >= 0 && handle.size <= 0xffff_ffff, 'a metadata block size fits its u32 footer field');
  bytes.writeUInt32LE(handle.offset % twoPow32, offsetField);
  bytes.writeUInt32LE(Math.floor(handle.offset / twoPow32), offsetField + 4);
  bytes.writeUInt32LE(handle.size, sizeField);
}

function readHandle(bytes: Buffer, offsetField: number, sizeField: number): BlockHandle {
  const offset = bytes.readUInt32LE(offsetField) + bytes.readUInt32LE(offsetField + 4) * twoPow32;
  return { offset, size: bytes.readUInt32LE(sizeField) };
}
