// The UNFINISHED marker (file-names.ts, unfinishedFileName): `silt recover`
// and `silt restore` write it first into the directory they build and
// remove it when they are done, so that a partial result (a recover
// interrupted before its manifest, a restore stopped halfway through its
// records, which would open as a database at some other point in time) is
// refused by the server and the tools instead of being taken for the result.
// It names the tool, when it started and which process ran it.
//
// Format: one line of JSON, `{"format":1,"tool":"recover","startedMs":...,"pid":...,"host":"..."}`.

import { hostname } from 'node:os';
import { joinPath, type FileSystem } from '../fs/file-system.js';
import { unfinishedFileName } from './file-names.js';

/** Largest marker read back, bytes: it is one short line. */
const markerBytesMax = 4096;

interface UnfinishedMarker {
  format: 1;
  tool: string;
  startedMs: number;
  pid: number;
  host: string;
}

/** Writes the marker into `dir` (which must exist) and makes it durable before the tool writes anything else. */
export function writeUnfinishedMarker(fs: FileSystem, dir: string, tool: string): void {
  const marker: UnfinishedMarker = { format: 1, tool, startedMs: Date.now(), pid: process.pid, host: hostname() };
  fs.writeFileSync(joinPath(dir, unfinishedFileName), Buffer.from(`${JSON.stringify(marker)}\n`));
  fs.syncDir(dir);
}

/** Removes the marker once the tool's result is whole (durably: a crash after this must not bring it back). */
export function removeUnfinishedMarker(fs: FileSystem, dir: string): void {
  fs.unlink(joinPath(dir, unfinishedFileName));
  fs.syncDir(dir);
}

/** "silt recover, started 2026-11-24T16:00:00.000Z by process 1234 on host "h"", or what is known when the marker does not parse. */
export function describeUnfinished(fs: FileSystem, path: string): string {
  try {
    if (fs.stat(path).size > markerBytesMax) return `its ${unfinishedFileName} marker is unreadable`;
    const marker = JSON.parse(fs.readFile(path).toString('utf8')) as Partial<UnfinishedMarker>;
    if (typeof marker.tool !== 'string' || typeof marker.startedMs !== 'number') return `its ${unfinishedFileName} marker is unreadable`;
    return `silt ${marker.tool}, started ${new Date(marker.startedMs).toISOString()} by process ${String(marker.pid)} on host "${String(marker.host)}"`;
  } catch {
    return `its ${unfinishedFileName} marker is unreadable`;
  }
}
