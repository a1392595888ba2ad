// The one place that knows how files in a data directory are named
// (docs/format.md, "Data directory"). As in LevelDB's filename.cc, WAL files,
// segments and manifests draw their numbers from one counter
// (nextFileNumber, kept in the manifest), so a number names at most one file.
//
//   CURRENT                 name of the live manifest
//   CURRENT.tmp             CURRENT being replaced (write-temp, rename)
//   LOCK                    one process per directory (lib/engine/lock-file.ts)
//   LOCK.<pid>.tmp          LOCK being created or taken over
//   LOCK.<pid>.stale        a stale LOCK moved aside during a takeover
//   RESERVE                 space held back for a start on a full disk (lib/engine/reserve.ts)
//   RESERVE.tmp             RESERVE being written (write-temp, rename)
//   MANIFEST-NNNNNN         version edits
//   wal/NNNNNN.log          write-ahead log files
//   seg/NNNNNN.sst          segments
//   archive/NNNNNN.log      WAL files kept for point-in-time restore
//   checkpoints/<name>/     checkpoints
//
// NNNNNN is the decimal file number, zero-padded to at least six digits;
// numbers past 999999 simply take more digits. Parsing accepts only the
// canonical spelling, so name -> number -> name round-trips.

import { assert } from '../assert.js';
import { joinPath } from '../fs/file-system.js';

/** Digits a file number is padded to. */
export const fileNumberDigits = 6;

export const currentFileName = 'CURRENT';
export const currentTempFileName = 'CURRENT.tmp';
export const lockFileName = 'LOCK';
/** Space the server holds back while the disk has room, and deletes to start when it has none (lib/engine/reserve.ts). */
export const reserveFileName = 'RESERVE';
export const reserveTempFileName = 'RESERVE.tmp';
export const walDirName = 'wal';
export const segmentDirName = 'seg';
export const archiveDirName = 'archive';
export const checkpointsDirName = 'checkpoints';
/**
 * Written first into a directory `silt recover` or `silt restore` builds, removed when it is done: a
 * directory holding it is a partial result (interrupted, or the tool failed) that neither the server
 * nor the tools open (LsmEngine refuses it unless EngineOptions.openUnfinished).
 */
export const unfinishedFileName = 'UNFINISHED';
/** Written last into a checkpoint: a directory without it is a copy that did not finish. */
export const checkpointFileName = 'CHECKPOINT';

const manifestPrefix = 'MANIFEST-';
const walSuffix = '.log';
const segmentSuffix = '.sst';

/** What a file name in a data directory denotes. */
export type ParsedFileName =
  | { kind: 'wal'; number: number }
  | { kind: 'segment'; number: number }
  | { kind: 'manifest'; number: number }
  | { kind: 'current' }
  | { kind: 'lock' }
  | { kind: 'reserve' }
  /** A leftover of an interrupted write-temp-then-rename (CURRENT.tmp, LOCK.*.tmp, LOCK.*.stale, RESERVE.tmp). */
  | { kind: 'temp' };

/** The zero-padded decimal spelling of a file number ("000012"). */
export function formatFileNumber(fileNumber: number): string {
  assert(Number.isSafeInteger(fileNumber), 'file number is a safe integer');
  assert(fileNumber >= 0, 'file number is not negative');
  return String(fileNumber).padStart(fileNumberDigits, '0');
}

/** "000012.log" */
export function walFileName(fileNumber: number): string {
  return formatFileNumber(fileNumber) + walSuffix;
}

/** "000012.sst" */
export function segmentFileName(fileNumber: number): string {
  return formatFileNumber(fileNumber) + segmentSuffix;
}

/** "MANIFEST-000012" */
export function manifestFileName(fileNumber: number): string {
  return manifestPrefix + formatFileNumber(fileNumber);
}

/** "LOCK.<pid>.tmp": where a LOCK is written before it is linked or renamed into place. */
export function lockTempFileName(pid: number): string {
  return `${lockFileName}.${pid}.tmp`;
}

/** "LOCK.<pid>.stale": where a takeover moves a stale LOCK before replacing it. */
export function lockStaleFileName(pid: number): string {
  return `${lockFileName}.${pid}.stale`;
}

/** `dir/wal/000012.log` */
export function walPath(dir: string, fileNumber: number): string {
  return joinPath(dir, walDirName, walFileName(fileNumber));
}

/** `dir/archive/000012.log` */
export function archivedWalPath(dir: string, fileNumber: number): string {
  return joinPath(dir, archiveDirName, walFileName(fileNumber));
}

/** `dir/seg/000012.sst` */
export function segmentPath(dir: string, fileNumber: number): string {
  return joinPath(dir, segmentDirName, segmentFileName(fileNumber));
}

/** `dir/MANIFEST-000012` */
export function manifestPath(dir: string, fileNumber: number): string {
  return joinPath(dir, manifestFileName(fileNumber));
}

/** `dir/CURRENT` */
export function currentPath(dir: string): string {
  return joinPath(dir, currentFileName);
}

/** `dir/LOCK` */
export function lockPath(dir: string): string {
  return joinPath(dir, lockFileName);
}

/** `dir/RESERVE` */
export function reservePath(dir: string): string {
  return joinPath(dir, reserveFileName);
}

/** `dir/wal` */
export function walDir(dir: string): string {
  return joinPath(dir, walDirName);
}

/** `dir/seg` */
export function segmentDir(dir: string): string {
  return joinPath(dir, segmentDirName);
}

/** `dir/archive` */
export function archiveDir(dir: string): string {
  return joinPath(dir, archiveDirName);
}

/** `dir/checkpoints` */
export function checkpointsDir(dir: string): string {
  return joinPath(dir, checkpointsDirName);
}

/**
 * Classifies a base name (not a path) found in a data directory or one of
 * its wal/, seg/ and archive/ subdirectories.
 * @returns undefined for names silt never writes
 * @example parseFileName('000012.log') // { kind: 'wal', number: 12 }
 */
export function parseFileName(name: string): ParsedFileName | undefined {
  if (name === currentFileName) return { kind: 'current' };
  if (name === lockFileName) return { kind: 'lock' };
  if (name === reserveFileName) return { kind: 'reserve' };
  if (name === currentTempFileName || name === reserveTempFileName) return { kind: 'temp' };
  if (/^LOCK\.\d+\.(tmp|stale)$/.test(name)) return { kind: 'temp' };
  if (name.startsWith(manifestPrefix)) {
    const number = parseFileNumber(name.slice(manifestPrefix.length));
    return number === undefined ? undefined : { kind: 'manifest', number };
  }
  if (name.endsWith(walSuffix)) {
    const number = parseFileNumber(name.slice(0, -walSuffix.length));
    return number === undefined ? undefined : { kind: 'wal', number };
  }
  if (name.endsWith(segmentSuffix)) {
    const number = parseFileNumber(name.slice(0, -segmentSuffix.length));
    return number === undefined ? undefined : { kind: 'segment', number };
  }
  return undefined;
}

/**
 * Parses the digits of a file number in their canonical spelling.
 * @returns undefined unless `digits` is exactly what formatFileNumber would write
 */
export function parseFileNumber(digits: string): number | undefined {
  if (!/^\d+$/.test(digits)) return undefined;
  const number = Number(digits);
  if (!Number.isSafeInteger(number)) return undefined;
  return formatFileNumber(number) === digits ? number : undefined;
}
