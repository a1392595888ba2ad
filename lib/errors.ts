// Operating errors: expected failures (bad input, full disk, damaged files)
// that callers handle. Each class has a stable upper-case `code`; wording may
// improve, codes never change. docs/errors.md lists every code and a unit
// test keeps the two in step.
//
// Messages: sentence case, no final period, the failed action first, then a
// colon and the state, strings quoted:
//   Cannot read WAL record in "000042.log" at offset 8192: checksum mismatch

/** Base class of every silt operating error. */
export class KvError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** Bytes on disk are not what their format promises. Names file and offset. */
export class CorruptionError extends KvError {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, message: string, options?: { cause?: unknown }) {
    super('CORRUPTION', message, options);
    this.file = file;
    this.offset = offset;
  }
}

/** An operating-system I/O call failed (ENOSPC, EIO, ...). `errno` keeps the system code. */
export class IoError extends KvError {
  readonly errno: string | undefined;

  constructor(message: string, options?: { cause?: unknown }) {
    super('IO_ERROR', message, options);
    const cause = options?.cause as { code?: unknown } | undefined;
    this.errno = typeof cause?.code === 'string' ? cause.code : undefined;
  }
}

/** A caller passed something malformed. */
export class InvalidArgumentError extends KvError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/** An input is larger than its configured bound in lib/limits.ts. */
export class LimitExceededError extends KvError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LIMIT_EXCEEDED', message, options);
  }
}

/** The engine (or iterator, snapshot) was closed. */
export class ClosedError extends KvError {
  constructor(message: string) {
    super('CLOSED', message);
  }
}

/** Another process holds the data directory's LOCK. */
export class LockedError extends KvError {
  constructor(message: string) {
    super('LOCKED', message);
  }
}

/** A write was refused because an earlier write failed; reads still work. */
export class WriteStoppedError extends KvError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WRITE_STOPPED', message, options);
  }
}

/** A file carries a format version this build does not know. */
export class UnsupportedVersionError extends KvError {
  readonly file: string;

  constructor(file: string, message: string) {
    super('UNSUPPORTED_VERSION', message);
    this.file = file;
  }
}

/** The operation is not supported by this engine or mode (e.g. a write on a read-only open). */
export class NotSupportedError extends KvError {
  constructor(message: string) {
    super('NOT_SUPPORTED', message);
  }
}

/** A Redis command met a key of the wrong type. */
export class WrongTypeError extends KvError {
  constructor(message = 'Operation against a key holding the wrong kind of value') {
    super('WRONGTYPE', message);
  }
}

/** Every error class, for docs/errors.md's consistency test. */
export const ERROR_CODES = {
  CORRUPTION: CorruptionError,
  IO_ERROR: IoError,
  INVALID_ARGUMENT: InvalidArgumentError,
  LIMIT_EXCEEDED: LimitExceededError,
  CLOSED: ClosedError,
  LOCKED: LockedError,
  WRITE_STOPPED: WriteStoppedError,
  UNSUPPORTED_VERSION: UnsupportedVersionError,
  NOT_SUPPORTED: NotSupportedError,
  WRONGTYPE: WrongTypeError,
} as const;

/** True when `error` is a silt corruption error (also when wrapped as a cause). */
export function isCorruption(error: unknown): error is CorruptionError {
  for (let e: unknown = error, depth = 0; e && depth < 8; e = (e as Error).cause, depth++) {
    if (e instanceof CorruptionError) return true;
  }
  return false;
}

/** The message of an error, or the thrown value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
