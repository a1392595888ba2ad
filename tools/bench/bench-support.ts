// What the benchmarks in tools/bench share: command-line flags, progress lines
// on a terminal, markdown tables, number formats and the JSON report.

import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// ---------------------------------------------------------------- flags

/** One handler per flag; a flag that takes a value calls `value()` once for it (twice for two values). */
export type FlagHandlers = Record<string, (value: () => string) => void>;

/**
 * Walks `argv`, calling the handler of each flag in turn. `--help` and `-h`
 * print `usage()` to stdout and exit 0; an unknown flag or a missing value throws.
 */
export function parseFlags(argv: readonly string[], handlers: FlagHandlers, usage: () => string): void {
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index]!;
    const value = (): string => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`Cannot parse arguments: ${flag} needs a value`);
      return next;
    };
    const handler = Object.hasOwn(handlers, flag) ? handlers[flag] : undefined;
    if (handler !== undefined) handler(value);
    else if (flag === '--help' || flag === '-h') {
      process.stdout.write(usage());
      process.exit(0);
    } else throw new Error(`Cannot parse arguments: unknown flag "${flag}"`);
  }
}

/** `text` as a positive safe integer (underscores allowed as separators); `what` names it in the error. */
export function positiveInteger(text: string, what: string): number {
  const value = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`Cannot parse ${what}: "${text}" is not a positive integer`);
  return value;
}

// ---------------------------------------------------------------- output

/** Writes `text` to stderr when `enabled` (by default: when stderr is a terminal). */
export function progress(text: string, enabled: boolean = process.stderr.isTTY): void {
  if (enabled) process.stderr.write(text);
}

/**
 * Writes `report` as indented JSON to `output.jsonFile` when one is given, then
 * to stdout either the same JSON (`output.json`) or `formatText()`.
 */
export function writeReport(report: unknown, output: { json: boolean; jsonFile: string | undefined }, formatText: () => string): void {
  const text = `${JSON.stringify(report, null, 2)}\n`;
  if (output.jsonFile !== undefined) writeFileSync(output.jsonFile, text);
  process.stdout.write(output.json ? text : formatText());
}

/** A markdown table, one string per line, columns padded to their widest cell. */
export function formatTable(header: string[], body: string[][], alignRight: boolean[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, column) => (alignRight[column] === true ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (alignRight[column] === true ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  return [line(header), rule, ...body.map(line)];
}

/** Rounded, with thousands separators: 1,234,567. */
export function formatNumber(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Two decimals and an x: 1.25x. */
export function formatRatio(value: number): string {
  return `${value.toFixed(2)}x`;
}

// ---------------------------------------------------------------- machine

/** The CPU's model name: /proc/cpuinfo's on Linux, else what os.cpus() says. */
export function describeCpu(): string {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('model name'));
    if (line !== undefined) cpuModel = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // Not Linux: os.cpus() said what it could.
  }
  return cpuModel;
}

// ---------------------------------------------------------------- files

/** Bytes in the files under `dir`, recursively. */
export function directoryBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? directoryBytes(full) : statSync(full).size;
  }
  return total;
}

// ---------------------------------------------------------------- processes

/** A loopback port that was free a moment ago (redis-server cannot be told --port 0). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves with the exit code (or signal name) once the child has exited and its output is read. */
export function exitOf(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode ?? child.signalCode!);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', () => resolve('spawn error'));
  });
}

/** Sends `child` SIGTERM, then SIGKILL if it has not exited within `timeoutMs`; resolves once it has exited. */
export async function terminate(child: ChildProcess, timeoutMs: number): Promise<void> {
  const exited = exitOf(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** A random permutation of [0, n) from a fixed seed (xorshift32). */
export function permutation(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let index = 0; index < n; index++) order[index] = index;
  let state = 0x9e3779b9;
  for (let index = n - 1; index > 0; index--) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const other = (state >>> 0) % (index + 1);
    const swap = order[index]!;
    order[index] = order[other]!;
    order[other] = swap;
  }
  return order;
}
