// Shared helpers for the segment tests: building sorted entry lists, writing
// them as a segment, a model lookup to compare get() against, and both file
// systems (memory, and node:fs in a temp directory that is removed afterwards).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareInternalKeys, makeInternalKey, sequenceOf, typeOf, userKeyOf } from '../../../lib/format/internal-key.js';
import type { FileSystem } from '../../../lib/fs/file-system.js';
import { MemFileSystem } from '../../../lib/fs/mem-file-system.js';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { SegmentWriter, type SegmentWriterOptions } from '../../../lib/segment/segment-writer.js';
import type { SegmentProperties } from '../../../lib/segment/segment-properties.js';

export interface Entry {
  key: Buffer;
  value: Buffer;
}

export interface EntrySpec {
  userKey: Uint8Array;
  sequence: number;
  type: number;
  valueBytes: number;
  /** Seeds the value bytes; even seeds give compressible values, odd ones noise. */
  valueSeed: number;
}

/** A file system plus a directory in it, and how to remove it. */
export interface TestFileSystem {
  name: string;
  fs: FileSystem;
  dir: string;
  cleanup(): void;
}

/** Both file systems, each with a fresh directory. */
export const fileSystemKinds: { name: string; make(): TestFileSystem }[] = [
  {
    name: 'MemFileSystem',
    make() {
      const memory = new MemFileSystem();
      memory.mkdir('/db/seg');
      return { name: 'mem', fs: memory, dir: '/db/seg', cleanup() {} };
    },
  },
  {
    name: 'NodeFileSystem',
    make() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-segment-'));
      return { name: 'node', fs: new NodeFileSystem(), dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
];

/** Deterministic value bytes: a repeated phrase (compressible) or xorshift noise. */
export function makeValue(length: number, seed: number): Buffer {
  const value = Buffer.allocUnsafe(length);
  if (seed % 2 === 0) {
    const phrase = Buffer.from(`value-${seed}-`);
    for (let index = 0; index < length; index++) value[index] = phrase[index % phrase.length]!;
    return value;
  }
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    value[index] = state & 0xff;
  }
  return value;
}

/** Turns specs into entries sorted by internal key, one per (user key, sequence). */
export function buildEntries(specs: EntrySpec[]): Entry[] {
  const seen = new Set<string>();
  const entries: Entry[] = [];
  for (const spec of specs) {
    const id = `${Buffer.from(spec.userKey).toString('hex')}/${spec.sequence}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const value = spec.type === 0 ? Buffer.alloc(0) : makeValue(spec.valueBytes, spec.valueSeed);
    entries.push({ key: makeInternalKey(spec.userKey, spec.sequence, spec.type), value });
  }
  return entries.sort((a, b) => compareInternalKeys(a.key, b.key));
}

/** Writes `entries` (sorted) as a segment at `file`. */
export function writeSegment(fileSystem: FileSystem, file: string, entries: Entry[], options: SegmentWriterOptions = {}, createdMs = 1_700_000_000_000): SegmentProperties {
  const writer = new SegmentWriter(fileSystem, file, options);
  for (const entry of entries) writer.add(entry.key, entry.value);
  return writer.finish({ createdMs });
}

/** What get(userKey, sequence) must return for sorted `entries`. */
export function modelGet(entries: Entry[], userKey: Buffer, sequence: number): { type: number; value: Buffer; sequence: number } | undefined {
  for (const entry of entries) {
    if (!userKeyOf(entry.key).equals(userKey)) continue;
    const entrySequence = sequenceOf(entry.key);
    if (entrySequence <= sequence) return { type: typeOf(entry.key), value: entry.value, sequence: entrySequence };
  }
  return undefined;
}

/** Index of the first entry >= target (entries.length when none). */
export function lowerBound(entries: Entry[], target: Buffer): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareInternalKeys(entries[middle]!.key, target) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Property-test run count, from SILT_PROPERTY_RUNS (default `fallback`). */
export function propertyRuns(fallback: number): number {
  const fromEnvironment = Number(process.env.SILT_PROPERTY_RUNS);
  return Number.isSafeInteger(fromEnvironment) && fromEnvironment > 0 ? fromEnvironment : fallback;
}
