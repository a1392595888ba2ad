// `silt dump` of a directory with one unreadable segment block: it used to give
// up at the block (exit 2, nothing written, no --out file). Now it leaves out
// the keys of that block, lists the range (stderr and the JSON report), dumps
// everything else, and exits 1; what it dumps is what `silt recover` keeps.
// Its progress bar ends at 100% (it stopped at 93%: the keys left out were
// never counted), counts in keys (it said records/s), and the line naming
// what was left out is written above the bar, not onto the end of its line.
// A segment that cannot be opened at all (index, properties or footer) is
// not a block to step over: exit 1 with the advice, as for the table.

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { WriteBatch } from '../../../lib/engine/write-batch.js';
import { metadataKey } from '../../../lib/keyspace/key-encoding.js';
import { stringRecord } from '../../../lib/keyspace/metadata.js';
import { defaultFileSystem } from '../../../tools/data-dir.js';
import { dump } from '../../../tools/dump.js';
import { recover } from '../../../tools/recover.js';
import { scanSegment } from '../../../tools/segment-scan.js';
import { collectionKeys, damageMetadataBlock, db3Keys, segments, stringKeys, writeSampleKeyspace } from './damaged-keyspace.js';
import { CapturedStream, captureIo, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;
let dir: string;

beforeAll(async () => {
  scratch = makeScratch('dump-damaged');
  dir = path.join(scratch, 'data');
  await writeSampleKeyspace(dir);
  damageMetadataBlock(dir);
});

afterAll(() => {
  removeScratch(scratch);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const nowMs = Date.now();

describe('dump of a directory with an unreadable block', () => {
  test('--out: writes every readable key, lists the range left out, exits 1', async () => {
    const out = path.join(scratch, 'dump.ndjson');
    const { io, stdout, stderr } = captureIo();
    const result = await dump({ dir, out, json: true, nowMs }, io);
    expect(result.exitCode, stderr.text).toBe(1);
    expect(fs.existsSync(out)).toBe(true);
    const lines = fs.readFileSync(out, 'utf8').trimEnd().split('\n');
    const report = JSON.parse(stdout.text) as NonNullable<typeof result.report>;
    expect(report.keys).toBe(lines.length);
    expect(report.keys).toBeLessThan(stringKeys + 4 * collectionKeys + db3Keys);
    expect(report.keys).toBeGreaterThan(stringKeys / 2);
    expect(report.dbs.find((db) => db.db === 3)?.keys).toBe(db3Keys);
    expect(report.unreadableCount).toBe(1);
    const [gap] = report.unreadable;
    expect(gap).toMatchObject({ db: 0, file: expect.stringMatching(/^seg\/\d{6}\.sst$/) as string, message: expect.stringContaining('checksum mismatch') as string });
    expect(gap!.offset).toBeGreaterThan(0);
    const after = Buffer.from(gap!.after!, 'hex').toString();
    const through = Buffer.from(gap!.through!, 'hex').toString();
    expect(after < through).toBe(true);
    // Every dumped key lies outside (after, through]: nothing of the block is dumped, nothing else left out.
    const keys = lines.map((line) => JSON.parse(line) as { db: number; key: string }).filter((line) => line.db === 0).map((line) => line.key);
    expect(keys.filter((key) => key > after && key <= through)).toEqual([]);
    expect(keys).toContain(after);
    expect(stderr.text).toContain(`silt dump: left out the keys of db 0 after "${after}" through "${through}"`);
  });

  test('stdout: the summary says INCOMPLETE; the dump equals the dump of what recover keeps', async () => {
    const { io, stdout, stderr } = captureIo();
    const result = await dump({ dir, nowMs }, io);
    expect(result.exitCode, stderr.text).toBe(1);
    expect(stderr.text).toContain('INCOMPLETE: 1 key range in unreadable segment blocks left out');

    const recovered = path.join(scratch, 'recovered');
    expect((await recover({ dir, out: recovered }, captureIo().io)).exitCode).toBe(1);
    const clean = captureIo();
    expect((await dump({ dir: recovered, nowMs }, clean.io)).exitCode).toBe(0);
    expect(stdout.text).toBe(clean.stdout.text);
  });

  test('on a terminal: the bar ends at 100%, and what was left out is a line of its own above it', async () => {
    let ms = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (ms += 1000)); // every advance is drawn
    const stderr = new CapturedStream(true);
    const result = await dump({ dir, nowMs }, { stdout: new CapturedStream(), stderr });
    expect(result.exitCode).toBe(1);
    const frames = stderr.text.split('\r\x1b[K').filter((frame) => frame !== '');
    const bars = frames.filter((frame) => frame.startsWith(`dump ${dir}  [`));
    expect(bars.at(-1)).toMatch(/ 100% /);
    // It counts keys, and says so (it said records/s).
    for (const bar of bars) expect(bar).toMatch(/ {2}\d+ keys\/s( {2}ETA \d+:\d{2})?$/);
    const leftOut = frames.findIndex((frame) => frame.includes('silt dump: left out'));
    expect(frames[leftOut]).toMatch(/^silt dump: left out the keys of db 0 after "str:\d{4}" through "str:\d{4}", whichever are stored there: [^\n]*\n$/);
    // The bar was drawn before the line, and again after it.
    expect(frames[leftOut - 1]).toMatch(/^dump .* {2}\[/);
    expect(frames[leftOut + 1]).toMatch(/^dump .* {2}\[/);
  });
});

describe('dump of a directory with a segment that cannot be opened', () => {
  test('a damaged index block in a segment the walk of the keys opens first: exit 1 with the advice, no --out file', async () => {
    // The sample keyspace, then one more segment holding a single metadata record (its range leaves out the
    // database table, so the table read does not open it: the walk of db 0's keys does).
    const damagedDir = path.join(scratch, 'index-damage');
    await writeSampleKeyspace(damagedDir);
    const before = new Set(segments(damagedDir));
    const engine = await LsmEngine.open(damagedDir);
    try {
      await engine.write(new WriteBatch().put(metadataKey(0, Buffer.from('zzz')), stringRecord(Buffer.from('late'), 0, 1)));
      await engine.flush();
    } finally {
      await engine.close();
    }
    const added = segments(damagedDir).filter((file) => !before.has(file));
    expect(added).toHaveLength(1);
    const footer = scanSegment(defaultFileSystem(), added[0]!, { readData: false }).footer!;
    const bytes = fs.readFileSync(added[0]!);
    bytes[footer.index.offset + 2] = bytes[footer.index.offset + 2]! ^ 0x5a;
    fs.writeFileSync(added[0]!, bytes);

    const out = path.join(scratch, 'index-damage.ndjson');
    const { io, stdout } = captureIo();
    const result = await dump({ dir: damagedDir, out, json: true, nowMs }, io);
    expect(result.exitCode).toBe(1);
    const error = (JSON.parse(stdout.text) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('CORRUPTION');
    expect(error.message).toContain(`Cannot read segment index block in "${added[0]!}" at offset ${footer.index.offset}`);
    expect(error.message).toContain('`silt verify` lists the damage and `silt recover` salvages the rest');
    expect(fs.existsSync(out)).toBe(false);
  });
});
