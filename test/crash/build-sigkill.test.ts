// Crash test for collections written ahead of their metadata (lib/keyspace/
// build.ts): a real silt-server under appendfsync always, with a 1 MiB
// memtable so that flushes and compactions run while it builds, gets a
// ZUNIONSTORE, ZRANGESTORE, SUNIONSTORE or COPY of a collection large enough
// to be written ahead in many batches, or a ZPOPMIN of most of a copy (which
// rewrites the rest ahead), while a second client writes plain keys; it is
// SIGKILLed at a random moment of the command.
//
// After each restart:
// - the destination is as it was before the command or the whole new
//   collection, exact; if the command was answered, the new one;
// - every acknowledged plain write is there;
// - `silt verify` reports no damage, on the directory as the kill left it
//   (entries written ahead are reclaimable, `unfinished-build`) and after a
//   clean stop.
// At the end, the directory opened in-process and compacted holds no entry
// of an abandoned build, and the open after that no marker.
//
// Cycles: SILT_BUILD_CRASH_CYCLES (default 5, one per command); the kill moments come from a
// PRNG whose seed is printed (replay with SILT_CRASH_SEED). npm test builds
// dist/ first.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LsmEngine } from '../../lib/engine/lsm-engine.js';
import { Keyspace, keyspaceCompactionFilter } from '../../lib/keyspace/keyspace.js';
import { KeyTag, prefixEnd, tagPrefix } from '../../lib/keyspace/key-encoding.js';
import { mulberry32 } from '../support/crash-workload.js';
import { startCrashServer, verifyNoDamage } from '../support/crash-server.js';
import { RawClient, mainScript, plain } from '../integration/resp/harness.js';

const cycles = Number(process.env.SILT_BUILD_CRASH_CYCLES ?? 5);
const seed = Number(process.env.SILT_CRASH_SEED ?? Date.now() % 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'silt-build-crash-'));
const children = new Set<ChildProcess>();
/** Members of the sources: enough for many batches written ahead (a slice stages about 2 ms of them). */
const members = 20_000;
const replyTimeoutMs = 60_000;

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const memberName = (index: number): string => `member:${String(index).padStart(6, '0')}`;

/** Members ZPOPMIN takes from a copy of the source: enough that it rewrites the rest ahead (zset.ts, rewriteLimits). */
const popped = 18_000;

/**
 * The commands tried: each replaces `dst` (one member before) with a collection built from a source of
 * `members` elements, or pops most of `dst` (a copy of the source before), which rewrites the rest.
 */
const commands: { args: string[]; kind: 'zset' | 'set' | 'pop' }[] = [
  { args: ['ZUNIONSTORE', 'dst', '1', 'src'], kind: 'zset' },
  { args: ['ZRANGESTORE', 'dst', 'src', '0', '-1'], kind: 'zset' },
  { args: ['SUNIONSTORE', 'dst', 'set'], kind: 'set' },
  { args: ['COPY', 'src', 'dst', 'REPLACE'], kind: 'zset' },
  { args: ['ZPOPMIN', 'dst', String(popped)], kind: 'pop' },
];

/** `dst` as one comparable text: its type and every member (with its score for a sorted set). */
async function destination(raw: RawClient): Promise<string> {
  const type = plain(await raw.call('TYPE', 'dst')) as string;
  if (type === 'zset') return `zset ${JSON.stringify(plain(await raw.call('ZRANGE', 'dst', '0', '-1', 'WITHSCORES')))}`;
  if (type === 'set') return `set ${JSON.stringify((plain(await raw.call('SMEMBERS', 'dst')) as string[]).sort())}`;
  return type;
}

function expectedNew(kind: 'zset' | 'set' | 'pop'): string {
  if (kind === 'set') return `set ${JSON.stringify(Array.from({ length: members }, (_, index) => memberName(index)))}`;
  const flat: string[] = [];
  for (let index = kind === 'pop' ? popped : 0; index < members; index++) flat.push(memberName(index), String(index / 2));
  return `zset ${JSON.stringify(flat)}`;
}

const oneMember = `zset ${JSON.stringify(['old', '1'])}`;

/** `dst` before the command of `kind`. */
function before(kind: 'zset' | 'set' | 'pop'): string {
  return kind === 'pop' ? expectedNew('zset') : oneMember;
}

async function load(port: number): Promise<void> {
  const raw = await RawClient.connect(port);
  try {
    for (let first = 0; first < members; first += 1000) {
      const zadd: (string | number)[] = ['ZADD', 'src'];
      const sadd: string[] = ['SADD', 'set'];
      for (let index = first; index < first + 1000; index++) {
        zadd.push(index / 2, memberName(index));
        sadd.push(memberName(index));
      }
      raw.command(...zadd);
      raw.command(...sadd);
      await raw.replies(2, replyTimeoutMs);
    }
  } finally {
    raw.close();
  }
}

describe(`a collection written ahead of its metadata survives SIGKILL under appendfsync always (${cycles} cycles, seed ${seed})`, () => {
  it('is after a restart as it was or the whole new collection, never part of it, and what a kill left is reclaimed', async () => {
    const random = mulberry32(seed);
    let server = await startCrashServer(mainScript, dir, children);
    await load(server.port);
    // How long a whole command takes here (the kills land within it).
    const timing = await RawClient.connect(server.port);
    const started = performance.now();
    expect(await timing.call('ZUNIONSTORE', 'scratch', '1', 'src', 'AGGREGATE', 'MIN')).toBe(members);
    const durationMs = performance.now() - started;
    timing.close();

    let midBuild = 0;
    let published = 0;
    let ackedPlain = 0;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const command = commands[cycle % commands.length]!;
      const raw = await RawClient.connect(server.port);
      expect(await raw.call('DEL', 'dst')).toBeGreaterThanOrEqual(0);
      if (command.kind === 'pop') expect(await raw.call('COPY', 'src', 'dst')).toBe(1);
      else expect(await raw.call('ZADD', 'dst', '1', 'old')).toBe(1);
      let answered = false;
      const store = raw.call(...command.args).then(
        () => (answered = true),
        () => undefined, // killed before it answered
      );
      // Plain writes beside it, each awaited: the acknowledged ones must survive.
      const writer = await RawClient.connect(server.port);
      const acked: string[] = [];
      let writing = true;
      const writes = (async () => {
        for (let index = 0; writing; index++) {
          try {
            if (plain(await writer.call('SET', `plain:${cycle}:${index}`, String(index))) === 'OK') acked.push(`plain:${cycle}:${index}`);
          } catch {
            return; // the kill
          }
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, Math.floor(durationMs * (0.1 + 0.8 * random()))));
      server.child.kill('SIGKILL');
      await server.exited;
      writing = false;
      await Promise.all([store, writes]);
      raw.close();
      writer.close();

      const killed = await verifyNoDamage(dir, `after the kill in cycle ${cycle}`);
      if (killed.logical!.reclaimable.byReason['unfinished-build'].entries > 0) midBuild++;

      server = await startCrashServer(mainScript, dir, children);
      const check = await RawClient.connect(server.port);
      try {
        const state = await destination(check);
        if (answered) expect(state, `cycle ${cycle}: ${command.args.join(' ')} was answered`).toBe(expectedNew(command.kind));
        else expect([before(command.kind), expectedNew(command.kind)], `cycle ${cycle}: ${command.args.join(' ')} after the kill`).toContain(state);
        if (state !== before(command.kind)) published++;
        for (const key of acked) expect(await check.call('EXISTS', key), `cycle ${cycle}: acknowledged ${key}`).toBe(1);
        ackedPlain += acked.length;
      } finally {
        check.close();
      }
    }
    server.child.kill('SIGTERM');
    await server.exited;
    await verifyNoDamage(dir, 'after a clean stop');
    console.log(`build crash test: ${cycles} kills (${midBuild} while entries were written ahead, ${published} after the new collection was published), ${ackedPlain} acknowledged plain writes all present`);

    // What the kills left is reclaimed: the entries by compaction once the open marked their markers abandoned
    // (the server's restarts did), and the markers by the open after that.
    for (let pass = 0; pass < 2; pass++) {
      const engine = await LsmEngine.open(dir, { compactionFilter: keyspaceCompactionFilter() });
      try {
        await Keyspace.open(engine);
        await engine.flush();
        await engine.compactRange();
      } finally {
        await engine.close();
      }
    }
    const report = await verifyNoDamage(dir, 'after compaction');
    expect(report.logical!.reclaimable.byReason['unfinished-build'].entries).toBe(0);
    const engine = await LsmEngine.open(dir, { readOnly: true });
    try {
      const markers: Buffer[] = [];
      for await (const [key] of engine.iterator({ gte: tagPrefix(KeyTag.build), lt: prefixEnd(tagPrefix(KeyTag.build))! })) markers.push(key);
      expect(markers).toEqual([]);
    } finally {
      await engine.close();
    }
  }, 600_000);
});
