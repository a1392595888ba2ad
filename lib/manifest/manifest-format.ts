// Constants shared by manifest-writer.ts and manifest-reader.ts
// (docs/format.md, "Manifest"). A manifest is a sequence of records framed
// like the WAL (lib/format/record-framing.ts):
//
//   manifest := header-record edit-record edit-record*
//   header   := magic "SILTMFST" (8 bytes) ‖ varint format version
//   edit     := a version edit (version-edit.ts); the first one is a full
//               snapshot of the version, so a manifest stands alone
//
// The header and the first edit are written and synced before CURRENT names
// the manifest, so they are never a torn tail: damage there is corruption.

import { CorruptionError, UnsupportedVersionError } from '../errors.js';
import { readVarint, varintLength, writeVarint, type VarintResult } from '../format/varint.js';
import { manifestBytesMax, manifestRecordBytesMax } from '../limits.js';

/** Record type bytes. Written to disk: never renumber. */
export const ManifestRecordType = {
  /** The first record: magic and format version. */
  header: 1,
  /** One version edit. */
  edit: 2,
} as const;
export type ManifestRecordType = (typeof ManifestRecordType)[keyof typeof ManifestRecordType];

/** First 8 bytes of a header record's payload. */
export const manifestMagic = Buffer.from('SILTMFST', 'latin1');

/**
 * Manifest format versions this build reads. Keep every one forever.
 *   1: header record, edit tags 1 to 6 (version-edit.ts).
 */
export const manifestFormatVersions = [1] as const;

/** The format version this build writes. */
export const manifestFormatVersion = 1;

/**
 * Largest manifest file a reader loads, bytes: the writer rolls to a new
 * manifest once a file passes manifestBytesMax, so a file is at most that plus
 * one record.
 */
export const manifestFileBytesMax = manifestBytesMax + manifestRecordBytesMax;

/** The header record's payload. */
export function encodeManifestHeader(formatVersion: number = manifestFormatVersion): Buffer {
  const payload = Buffer.alloc(manifestMagic.length + varintLength(formatVersion));
  manifestMagic.copy(payload, 0);
  writeVarint(payload, manifestMagic.length, formatVersion);
  return payload;
}

/**
 * Checks a header record's payload.
 * @param offset file offset of `payload[0]`
 * @returns the format version
 * @throws CorruptionError when the magic or layout is wrong
 * @throws UnsupportedVersionError when the version is not one this build reads
 */
export function decodeManifestHeader(payload: Buffer, file: string, offset: number): number {
  const fail = (at: number, reason: string): never => {
    throw new CorruptionError(file, offset + at, `Cannot read manifest header of "${file}" at offset ${offset + at}: ${reason}`);
  };
  if (payload.length < manifestMagic.length || !payload.subarray(0, manifestMagic.length).equals(manifestMagic)) {
    fail(0, `expected magic "${manifestMagic.toString('latin1')}": not a silt manifest`);
  }
  const slot: VarintResult = { value: 0, offset: 0 };
  if (!readVarint(payload, manifestMagic.length, payload.length, slot)) fail(manifestMagic.length, 'format version missing');
  const version = slot.value;
  if (!(manifestFormatVersions as readonly number[]).includes(version)) {
    throw new UnsupportedVersionError(
      file,
      `Cannot read manifest "${file}": format version ${version} is not supported (this build reads ${manifestFormatVersions.join(', ')})`,
    );
  }
  if (slot.offset !== payload.length) fail(slot.offset, `${payload.length - slot.offset} unexpected bytes after the format version`);
  return version;
}
