// What an operator can do when the server cannot open its data directory
// (main.ts logs it as `advice` and prints it on stderr before exiting 1).
// The engine's error says what failed, with the file and offset; this says
// what to do next, by the kind of failure, as docs/operations.md ("At 3
// a.m.: the server will not start") does at length.

import { CorruptionError, IoError, UnsupportedVersionError } from '../lib/errors.js';

/** The next step for an operator whose server could not open `dir`, or undefined when the error says it all. */
export function openFailureAdvice(error: unknown, dir: string): string | undefined {
  if (error instanceof CorruptionError) {
    return (
      `The data directory is damaged, and the server does not open it rather than serve wrong data. Keep it as it is ` +
      `(a copy costs little), then run "silt verify ${dir}" to see what is damaged and "silt recover ${dir} --out NEWDIR" ` +
      `to salvage the rest into a new directory; docs/operations.md, "At 3 a.m.: the server will not start"`
    );
  }
  if (error instanceof UnsupportedVersionError) {
    return `A newer silt wrote this data directory: run that version (or newer); this one does not read it`;
  }
  if (error instanceof IoError) {
    switch (error.errno) {
      case 'ENOSPC':
      case 'EDQUOT':
        return (
          `The disk holding ${dir} is full${error.errno === 'EDQUOT' ? ' (its quota is reached)' : ''}. To start, the server ` +
          `writes a few small files (LOCK, a new manifest and WAL file): free some space, then start it again. ` +
          `Nothing acknowledged is lost meanwhile`
        );
      case 'EROFS':
        return `The file system holding ${dir} is mounted read-only (after an I/O error, ext4 remounts so): check the disk, remount it read-write, then start again`;
      case 'EACCES':
      case 'EPERM':
        return `The server's user may not write in ${dir}: check the owner and mode of the directory and its files`;
      default:
        return undefined;
    }
  }
  return undefined;
}
