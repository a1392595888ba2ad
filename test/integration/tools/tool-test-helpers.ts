// Helpers for the tool tests: captured output streams, fresh copies of the
// fixtures, a hash of a whole directory tree (to prove a tool left its input
// alone), and reading every entry of a data directory through LsmEngine.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import type { ToolIo } from '../../../tools/tool-io.js';
import { verify, type VerifyReport } from '../../../tools/verify.js';
import { expectedFileName, type FixtureExpectation, type FixtureName, type HexEntry } from '../../support/make-fixtures.js';

export const fixturesRoot = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

/** A writable stream that keeps what is written. */
export class CapturedStream extends Writable {
  text = '';
  isTTY: boolean | undefined;

  constructor(isTTY?: boolean) {
    super();
    this.isTTY = isTTY;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString();
    callback();
  }
}

export interface CapturedIo {
  io: ToolIo;
  stdout: CapturedStream;
  stderr: CapturedStream;
}

export function captureIo(): CapturedIo {
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  return { io: { stdout, stderr }, stdout, stderr };
}

/** A scratch directory for one test file; remove it with removeScratch. */
export function makeScratch(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `silt-${prefix}-`));
}

export function removeScratch(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export function loadExpected(name: FixtureName): FixtureExpectation {
  return JSON.parse(fs.readFileSync(path.join(fixturesRoot, name, expectedFileName), 'utf8')) as FixtureExpectation;
}

/** A fresh copy of a fixture under `scratch`, without EXPECTED.json: exactly a data directory. */
export function copyFixture(scratch: string, name: FixtureName, suffix = ''): string {
  const dir = path.join(scratch, `${name}${suffix}`);
  fs.cpSync(path.join(fixturesRoot, name), dir, { recursive: true });
  fs.rmSync(path.join(dir, expectedFileName));
  return dir;
}

/** A copy of the healthy fixture whose seg/000010.sst says it is in format version 99, which this build does not read. */
export function newerFormatFixture(scratch: string, suffix: string): string {
  const dir = copyFixture(scratch, 'healthy', suffix);
  const segment = path.join(dir, 'seg/000010.sst');
  const bytes = fs.readFileSync(segment);
  bytes.writeUInt32LE(99, bytes.length - 52 + 40); // the footer's format version field
  fs.writeFileSync(segment, bytes);
  return dir;
}

/** Every file and directory below `dir` with the SHA-256 of each file ("seg/000005.sst" -> hash; "seg/" -> ""). */
export function hashTree(dir: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (relative: string): void => {
    for (const name of fs.readdirSync(path.join(dir, relative)).sort()) {
      const child = relative === '' ? name : `${relative}/${name}`;
      const full = path.join(dir, child);
      if (fs.statSync(full).isDirectory()) {
        tree[`${child}/`] = '';
        walk(child);
      } else {
        tree[child] = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
      }
    }
  };
  walk('');
  return tree;
}

/** Every entry of the data directory, read through a read-only LsmEngine, as hex pairs in key order. */
export async function readEntries(dir: string): Promise<HexEntry[]> {
  const engine = await LsmEngine.open(dir, { readOnly: true });
  try {
    const entries: HexEntry[] = [];
    for await (const [key, value] of engine.iterator()) entries.push([key.toString('hex'), value.toString('hex')]);
    return entries;
  } finally {
    await engine.close();
  }
}

export function hex(text: string): string {
  return Buffer.from(text, 'latin1').toString('hex');
}

/** The fixtures' first-session value of key:NNN: "v1:key:NNN:" padded with dots to 96 bytes. */
export function v1Value(key: string): string {
  return hex(`v1:${key}:`.padEnd(96, '.'));
}

/** verify on `dir`, human and --json: its exit code, the JSON report and the text for people. */
export async function runVerify(dir: string): Promise<{ exitCode: number; report: VerifyReport; human: string }> {
  const json = captureIo();
  const result = await verify({ dir, json: true }, json.io);
  const human = captureIo();
  await verify({ dir }, human.io);
  return { exitCode: result.exitCode, report: JSON.parse(json.stdout.text) as VerifyReport, human: human.stdout.text };
}
