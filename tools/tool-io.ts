// What every `silt` subcommand shares: the streams it writes to, its exit
// codes (docs/operations.md, "Exit codes"), and one way of turning a failure
// into a message and an exit code.
//
// A tool is a function taking its options and a ToolIo and resolving to a
// ToolResult, so tests call it in-process with captured streams and the CLI
// (tools/cli.ts) only parses arguments and dispatches. Tools never call
// process.exit and never touch process.stdout directly.
//
// Output rules: the human report goes to stdout; progress and warnings go to
// stderr; with --json stdout carries exactly one JSON document (the report,
// or `{"ok":false,"error":{...}}` when the tool could not run) and stderr
// carries nothing but the one-line error, if any.

import type { Writable } from 'node:stream';
import { KvError, LockedError } from '../lib/errors.js';

/** Exit codes. Documented in docs/operations.md; never renumber. */
export const ExitCode = {
  /** The tool did what was asked and found nothing wrong (notes allowed). */
  ok: 0,
  /** Damage found (verify), or the job was done only in part (recover lost data, restore stopped short). */
  damaged: 1,
  /** Could not run: bad usage, missing or locked directory, I/O error, refused to overwrite. */
  failed: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A writable stream that may be a terminal. */
export type OutputStream = Writable & { isTTY?: boolean | undefined; columns?: number | undefined };

/** The streams a tool writes to. */
export interface ToolIo {
  stdout: OutputStream;
  stderr: OutputStream;
}

/** What a tool resolves to: the exit code and, when it ran, its report (the --json document). */
export interface ToolResult<Report> {
  exitCode: ExitCode;
  report: Report | undefined;
}

/**
 * A refusal or precondition failure the operator can fix: the message alone
 * (no stack), exit 2 by default. `code` is a stable upper-case word for --json.
 */
export class ToolError extends Error {
  readonly code: string;
  /** Exit code the refusal maps to: 2 (could not run) unless the cause is damage in the data (1). */
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: ExitCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.exitCode = options?.exitCode ?? ExitCode.failed;
  }

  override get name(): string {
    return 'ToolError';
  }
}

/** Writes one line (a newline is added). */
export function writeLine(stream: OutputStream, line = ''): void {
  stream.write(`${line}\n`);
}

/** Writes `value` as one JSON document and a newline. */
export function writeJson(stream: OutputStream, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Runs a tool body and turns a thrown error into exit code 2 and a message:
 * `silt <tool>: <message>` on stderr, and with --json the error document on
 * stdout. Errors that are neither ToolError nor KvError nor system errors
 * (bugs) keep their stack on stderr.
 */
export async function runTool<Report>(tool: string, io: ToolIo, json: boolean, body: () => Promise<ToolResult<Report>>): Promise<ToolResult<Report>> {
  try {
    return await body();
  } catch (error) {
    const { code, message, expected } = describeFailure(error);
    writeLine(io.stderr, `silt ${tool}: ${message}`);
    if (!expected && error instanceof Error && error.stack !== undefined) writeLine(io.stderr, error.stack);
    if (json) writeJson(io.stdout, { ok: false, error: { code, message } });
    return { exitCode: error instanceof ToolError ? error.exitCode : ExitCode.failed, report: undefined };
  }
}

/** The stable code and message of a failure, and whether it is an operating error (no stack needed). */
export function describeFailure(error: unknown): { code: string; message: string; expected: boolean } {
  if (error instanceof ToolError) return { code: error.code, message: error.message, expected: true };
  if (error instanceof LockedError) return { code: error.code, message: error.message, expected: true };
  if (error instanceof KvError) return { code: error.code, message: error.message, expected: true };
  const systemCode = (error as { code?: unknown } | undefined)?.code;
  if (error instanceof Error && typeof systemCode === 'string') return { code: systemCode, message: error.message, expected: true };
  return { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error), expected: false };
}
