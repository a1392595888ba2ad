// CURRENT names the live manifest (docs/format.md, "CURRENT"). Its whole
// content is the manifest's file name and a newline:
//
//   MANIFEST-000007\n
//
// It is replaced atomically: write CURRENT.tmp and fsync it, rename it over
// CURRENT, fsync the directory. A crash at any step leaves CURRENT naming
// either the old manifest or the new one, never a mix; a leftover
// CURRENT.tmp is ignored and overwritten by the next replacement.

import { assert } from '../assert.js';
import { CorruptionError } from '../errors.js';
import { joinPath, type FileSystem } from '../fs/file-system.js';
import { currentFileName, currentPath, currentTempFileName, parseFileName } from '../format/file-names.js';

/** Largest CURRENT we read, bytes: a manifest name is far shorter. */
const currentBytesMax = 64;

/**
 * Reads CURRENT.
 * @returns the live manifest's file name ("MANIFEST-000007")
 * @throws CorruptionError naming "CURRENT" when it is missing, empty, too long,
 *   lacks its newline, or does not hold a canonical manifest name
 */
export function readCurrent(fs: FileSystem, dir: string): string {
  const path = currentPath(dir);
  if (!fs.exists(path)) throw corrupt(0, 'the file is missing');
  const size = fs.stat(path).size;
  if (size > currentBytesMax) throw corrupt(currentBytesMax, `${size} bytes, more than a manifest name takes (${currentBytesMax})`);
  const bytes = fs.readFile(path);
  const newline = bytes.indexOf(0x0a);
  if (newline === -1) throw corrupt(bytes.length, 'expected "MANIFEST-NNNNNN\\n": no newline');
  if (newline !== bytes.length - 1) throw corrupt(newline + 1, 'expected "MANIFEST-NNNNNN\\n": bytes after the newline');
  const name = bytes.subarray(0, newline).toString('latin1');
  if (parseFileName(name)?.kind !== 'manifest') {
    throw corrupt(0, `expected "MANIFEST-NNNNNN\\n", found ${JSON.stringify(name.slice(0, currentBytesMax))}`);
  }
  return name;
}

/**
 * Points CURRENT at `manifestName`: writes and fsyncs CURRENT.tmp, renames
 * it over CURRENT, fsyncs `dir`. Once this returns the switch is durable.
 * The manifest itself must already be durable (written, synced, and its
 * directory entry synced).
 */
export function writeCurrent(fs: FileSystem, dir: string, manifestName: string): void {
  assert(parseFileName(manifestName)?.kind === 'manifest', 'CURRENT names a manifest');
  const tempPath = joinPath(dir, currentTempFileName);
  fs.writeFileSync(tempPath, Buffer.from(`${manifestName}\n`, 'latin1'));
  fs.rename(tempPath, currentPath(dir));
  fs.syncDir(dir);
}

function corrupt(offset: number, reason: string): CorruptionError {
  return new CorruptionError(currentFileName, offset, `Cannot read "${currentFileName}" at offset ${offset}: ${reason}`);
}
