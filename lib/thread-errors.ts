// Errors crossing a thread boundary (flush and compaction workers, the WAL
// replay thread): structured cloning keeps only plain fields, so an error is
// sent as a plain object and rebuilt on the other side with its class, code,
// file and offset, so callers can still test `instanceof` and `code`.

import { CorruptionError, IoError, KvError, UnsupportedVersionError } from './errors.js';

export interface SerializedError {
  name: string;
  code: string | undefined;
  message: string;
  file: string | undefined;
  offset: number | undefined;
  errno: string | undefined;
  stack: string | undefined;
}

export function serializeError(error: unknown): SerializedError {
  const e = error as Partial<CorruptionError & IoError & { code: string }>;
  return {
    name: e?.name ?? 'Error',
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: e?.message ?? String(error),
    file: e?.file,
    offset: e?.offset,
    // IoError's errno is the system code ('ENOSPC'); a Node system error's is a number, its code the name.
    errno: typeof e?.errno === 'string' ? e.errno : typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) ? e.code : undefined,
    stack: e?.stack,
  };
}

/** Rebuilds a typed error from a worker's reply, so callers can test `code` and `instanceof`. */
export function deserializeError(error: SerializedError): Error {
  let rebuilt: Error;
  if (error.code === 'CORRUPTION') rebuilt = new CorruptionError(error.file ?? '', error.offset ?? -1, error.message);
  else if (error.code === 'UNSUPPORTED_VERSION') rebuilt = new UnsupportedVersionError(error.file ?? '', error.message);
  else if (error.code === 'IO_ERROR' || error.errno !== undefined) {
    const cause = Object.assign(new Error(error.message), { code: error.errno });
    rebuilt = error.code === 'IO_ERROR' ? new IoError(error.message, { cause }) : cause;
  } else if (error.code !== undefined && /^[A-Z_]+$/.test(error.code)) rebuilt = new KvError(error.code, error.message);
  else rebuilt = new Error(error.message);
  if (error.stack !== undefined) rebuilt.stack = error.stack;
  return rebuilt;
}
