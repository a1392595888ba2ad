// When `silt recover` loses part of a segment it says, per lost part, whether
// keys of its range may now read an older value (or a deleted key be back):
// only when a kept segment holds a version of a key in that range that is
// older than the lost part and that the result reads. It used to say so
// whenever a kept segment's key range overlapped the lost range with an older
// first sequence, which is always the case for an interior block of a segment
// re-written from its own readable blocks, so a fully compacted directory (one
// version per key, nothing older anywhere) was warned about falsely.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { userKeyOf } from '../../../lib/format/internal-key.js';
import { metadataKey } from '../../../lib/keyspace/key-encoding.js';
import { recover, type RecoverReport } from '../../../tools/recover.js';
import { defaultFileSystem } from '../../../tools/data-dir.js';
import { scanSegment } from '../../../tools/segment-scan.js';
import { damageBlocksHolding, damageMetadataBlock, replacedKeys, segments, writeReplacedKeyspace, writeSampleKeyspace } from './damaged-keyspace.js';
import { captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

const falseWarning = 'keys in this range may now read an older value';
const noWarning = 'none of its keys went back in time: no kept file holds an older version of a key in this range that the result reads';

let scratch: string;

beforeAll(() => {
  scratch = makeScratch('recover-stale-risk');
});

afterAll(() => {
  removeScratch(scratch);
});

async function recovered(dir: string, name: string, olderVersionScanEntriesMax?: number): Promise<{ report: RecoverReport; stdout: string }> {
  const { io, stdout, stderr } = captureIo();
  const result = await recover({ dir, out: path.join(scratch, `${name}-out`), ...(olderVersionScanEntriesMax === undefined ? {} : { olderVersionScanEntriesMax }) }, io);
  expect(result.exitCode, stdout.text + stderr.text).toBe(1);
  expect(result.report!.verify.healthy).toBe(true);
  return { report: result.report!, stdout: stdout.text };
}

/** Puts `keys` with `value(key, position)` in batches of 50. */
async function put(engine: LsmEngine, keys: string[], value: (key: string, position: number) => string): Promise<void> {
  for (let index = 0; index < keys.length; index += 50) {
    const batch = new WriteBatch();
    keys.slice(index, index + 50).forEach((key, offset) => batch.put(Buffer.from(key), Buffer.from(value(key, index + offset))));
    await engine.write(batch);
  }
}

function names(prefix: string, from: number, to: number, step = 1): string[] {
  const keys: string[] = [];
  for (let index = from; index < to; index += step) keys.push(`${prefix}${String(index).padStart(4, '0')}`);
  return keys;
}

/** Damages the middle interior data block of segment `file`. @returns its user key range */
function damageMiddleBlock(file: string): { first: Buffer; last: Buffer } {
  const scan = scanSegment(defaultFileSystem(), file, {});
  const block = scan.blocks[Math.floor(scan.blocks.length / 2)]!;
  expect(block.index).toBeGreaterThan(0);
  expect(block.index).toBeLessThan(scan.blocks.length - 1);
  damageBlocksHolding(file, [userKeyOf(block.firstKey!)]);
  return { first: userKeyOf(block.firstKey!), last: userKeyOf(block.lastKey!) };
}

describe('recover says older versions may show only when a kept file holds one the result reads', () => {
  test('one fully compacted segment (one version per key) with an interior block lost: no warning, although its re-written self spans the range', async () => {
    const dir = path.join(scratch, 'compacted');
    await writeSampleKeyspace(dir);
    damageMetadataBlock(dir);
    const { report, stdout } = await recovered(dir, 'compacted');
    expect(report.lost).toMatchObject([{ kind: 'blocks', olderVersionsMayShow: false, olderVersionExample: null }]);
    expect(stdout).not.toContain(falseWarning);
    expect(stdout).toContain(noWarning);
  });

  test('an older segment whose key range spans the lost block but holds no key in it: no warning', async () => {
    const dir = path.join(scratch, 'spanning');
    const engine = await LsmEngine.open(dir, { disableAutoCompaction: true });
    try {
      await put(engine, [...names('a:', 0, 50), ...names('z:', 0, 50)], () => 'old'.padEnd(100, '.'));
      await engine.compactRange();
      await put(engine, names('m:', 0, 200), () => 'new'.padEnd(100, '.'));
      await engine.flush();
    } finally {
      await engine.close();
    }
    const files = segments(dir);
    expect(files).toHaveLength(2);
    damageMiddleBlock(files[1]!);
    const { report, stdout } = await recovered(dir, 'spanning');
    expect(report.lost).toMatchObject([{ kind: 'blocks', olderVersionsMayShow: false, olderVersionExample: null }]);
    expect(stdout).not.toContain(falseWarning);
  });

  test('older versions in the lost range of keys the damaged segment never held (its Bloom filter says so): no warning', async () => {
    const dir = path.join(scratch, 'interleaved');
    const engine = await LsmEngine.open(dir, { disableAutoCompaction: true });
    try {
      await put(engine, names('k:', 0, 400, 2), () => 'old'.padEnd(100, '.'));
      await engine.compactRange();
      await put(engine, names('k:', 1, 400, 2), () => 'new'.padEnd(100, '.'));
      await engine.flush();
    } finally {
      await engine.close();
    }
    const files = segments(dir);
    const { first, last } = damageMiddleBlock(files[1]!);
    // The older segment does hold keys inside the lost block's range.
    expect(names('k:', 0, 400, 2).some((key) => Buffer.from(key).compare(first) > 0 && Buffer.from(key).compare(last) < 0)).toBe(true);
    const { report } = await recovered(dir, 'interleaved');
    expect(report.lost).toMatchObject([{ kind: 'blocks', olderVersionsMayShow: false }]);

    // When the check stops at its limit before it can tell, the warning stays, without an example.
    const limited = await recovered(dir, 'interleaved-limited', 3);
    expect(limited.report.lost).toMatchObject([{ kind: 'blocks', olderVersionsMayShow: true, olderVersionExample: null }]);
    expect(limited.stdout).toContain('keys in this range may now read an older value, or a deleted key may be back: kept data in this range was not checked in full');
  });

  test('older versions of the lost keys that a newer kept segment hides: no warning', async () => {
    const dir = path.join(scratch, 'hidden');
    const engine = await LsmEngine.open(dir, { disableAutoCompaction: true });
    const keys = names('k:', 0, 200);
    try {
      await put(engine, keys, () => 'v1'.padEnd(100, '.'));
      await engine.compactRange();
      await put(engine, keys, () => 'v2'.padEnd(100, '.'));
      await engine.flush();
      await put(engine, keys, () => 'v3'.padEnd(100, '.'));
      await engine.flush();
    } finally {
      await engine.close();
    }
    const files = segments(dir);
    expect(files).toHaveLength(3);
    damageMiddleBlock(files[1]!); // the v2 segment: v1 lies below it, v3 above
    const { report } = await recovered(dir, 'hidden');
    expect(report.lost).toMatchObject([{ kind: 'blocks', file: `seg/${path.basename(files[1]!)}`, olderVersionsMayShow: false }]);
  });

  test('the versions of one key split by the lost block inside one segment: the warning stays, naming that key', async () => {
    const dir = path.join(scratch, 'straddle');
    const engine = await LsmEngine.open(dir, { disableAutoCompaction: true });
    const keys = names('p:', 0, 200);
    try {
      // Values of several sizes, so that blocks end at odd places, some between a key's two versions.
      await put(engine, keys, (_key, position) => 'v1'.padEnd(200 + (position % 7) * 37, '.'));
      const snapshot = engine.snapshot(); // keeps v1 through the compaction: both versions in one segment
      await put(engine, keys, (_key, position) => 'v2'.padEnd(200 + (position % 7) * 37, '.'));
      await engine.compactRange();
      snapshot.release();
    } finally {
      await engine.close();
    }
    const [file] = segments(dir);
    const scan = scanSegment(defaultFileSystem(), file!, {});
    // An interior block whose last key's older version opens the next block.
    const block = scan.blocks.find((each, index) => index > 0 && index < scan.blocks.length - 2 && userKeyOf(each.lastKey!).equals(userKeyOf(scan.blocks[index + 1]!.firstKey!)));
    expect(block).toBeDefined();
    const key = userKeyOf(block!.lastKey!);
    damageBlocksHolding(file!, [userKeyOf(block!.firstKey!)]);
    const { report, stdout } = await recovered(dir, 'straddle');
    expect(report.lost).toHaveLength(1);
    const lost = report.lost[0]!;
    expect(lost).toMatchObject({ kind: 'blocks', olderVersionsMayShow: true, olderVersionExample: { key: key.toString('hex'), file: report.segments.rewritten[0]!.to, inDamagedSegment: true } });
    expect(stdout).toContain(`the result reads older versions of keys this segment held in this range (e.g. "${key.toString()}", from ${report.segments.rewritten[0]!.to})`);
  });

  test('the newest versions of keys lost over older versions in a lower level: the warning, naming such a key', async () => {
    const dir = path.join(scratch, 'replaced');
    await writeReplacedKeyspace(dir);
    const files = segments(dir);
    damageBlocksHolding(files[1]!, replacedKeys.map((key) => metadataKey(0, Buffer.from(key))));
    const { report, stdout } = await recovered(dir, 'replaced');
    expect(report.lost).toHaveLength(1);
    const example = report.lost[0]!.olderVersionExample!;
    expect(report.lost[0]).toMatchObject({ olderVersionsMayShow: true, olderVersionExample: { file: `seg/${path.basename(files[0]!)}`, inDamagedSegment: true } });
    expect(replacedKeys.map((key) => metadataKey(0, Buffer.from(key)).toString('hex'))).toContain(example.key);
    expect(stdout).toContain('keys in this range may now read an older value, or a deleted key may be back: the result reads older versions of keys this segment held in this range');
  });
});
