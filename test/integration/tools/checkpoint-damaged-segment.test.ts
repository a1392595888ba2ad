// `silt checkpoint` reads what it links: a flipped byte in any block of a
// live segment (data, index, filter, properties), which the read-only open
// does not read, is refused with exit 1, naming the file and the offset as
// verify does, and nothing is left at the target (--out or --name).

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';
import { checkpoint } from '../../../tools/checkpoint.js';
import { scanSegment } from '../../../tools/segment-scan.js';
import { CapturedStream, captureIo, copyFixture, hashTree, makeScratch, removeScratch } from './tool-test-helpers.js';

let scratch: string;
let counter = 0;

beforeAll(() => {
  scratch = makeScratch('checkpoint-damaged');
});

afterAll(() => {
  removeScratch(scratch);
});

type Part = 'data' | 'index' | 'filter' | 'properties';

/** A healthy directory with one byte flipped in the middle of `part` of seg/000005.sst; the block's offset. */
function damaged(part: Part): { dir: string; offset: number } {
  const dir = copyFixture(scratch, 'healthy', `-${part}-${++counter}`);
  const file = path.join(dir, 'seg', '000005.sst');
  const scan = scanSegment(new NodeFileSystem(), file, { readData: false });
  const handle = part === 'data' ? { offset: scan.blocks[1]!.offset, size: scan.blocks[1]!.storedBytes } : scan.footer![part];
  const bytes = fs.readFileSync(file);
  bytes[handle.offset + Math.floor(handle.size / 2)]! ^= 0x10;
  fs.writeFileSync(file, bytes);
  return { dir, offset: handle.offset };
}

describe('silt checkpoint of a directory with a damaged segment block', () => {
  for (const part of ['data', 'index', 'filter', 'properties'] as const) {
    test(`a flipped byte in the ${part} block: exit 1, file and offset named, nothing at --out`, async () => {
      const { dir, offset } = damaged(part);
      const before = hashTree(dir);
      const out = path.join(scratch, `out-${part}`);
      const { io, stderr } = captureIo();
      const result = await checkpoint({ dir, out }, io);
      expect(result.exitCode).toBe(1);
      expect(stderr.text).toContain(`silt checkpoint: seg/000005.sst at offset ${offset}: `);
      expect(stderr.text).toContain(`silt checkpoint: "${dir}" is damaged, so no checkpoint was made; run \`silt verify\`, then \`silt recover\``);
      expect(fs.existsSync(out)).toBe(false);
      expect(hashTree(dir)).toEqual(before);
    });
  }

  test('--name: exit 1, nothing in DIR/checkpoints/; --json: one error document', async () => {
    const { dir, offset } = damaged('data');
    const { io, stdout } = captureIo();
    const result = await checkpoint({ dir, name: 'nightly', json: true }, io);
    expect(result.exitCode).toBe(1);
    const document = JSON.parse(stdout.text) as { ok: boolean; error: { code: string; message: string } };
    expect(document).toMatchObject({ ok: false, error: { code: 'CORRUPTION' } });
    expect(document.error.message).toContain(`seg/000005.sst at offset ${offset}: `);
    expect(fs.existsSync(path.join(dir, 'checkpoints'))).toBe(false);
  });

  test('the fixture with a flipped bit in a data block is refused as well', async () => {
    const dir = copyFixture(scratch, 'flipped-bit');
    const out = path.join(scratch, 'out-fixture');
    const { io, stderr } = captureIo();
    expect((await checkpoint({ dir, out }, io)).exitCode).toBe(1);
    expect(stderr.text).toContain('silt checkpoint: seg/000005.sst at offset 0: ');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('the check draws its progress on a terminal (none with --json)', async () => {
    const dir = copyFixture(scratch, 'healthy', `-progress-${++counter}`);
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (clock += 300)); // every reading 300 ms later
    try {
      const stderr = new CapturedStream(true);
      const result = await checkpoint({ dir, out: path.join(scratch, `out-progress-${counter}`) }, { stdout: new CapturedStream(), stderr });
      expect(result.exitCode).toBe(0);
      expect(stderr.text).toContain(`\r\x1b[Kcheckpoint: checking ${dir}  [`);
      expect(stderr.text.endsWith('\r\x1b[K')).toBe(true);
      const quiet = new CapturedStream(true);
      expect((await checkpoint({ dir, out: path.join(scratch, `out-progress-json-${counter}`), json: true }, { stdout: new CapturedStream(), stderr: quiet })).exitCode).toBe(0);
      expect(quiet.text).toBe('');
    } finally {
      now.mockRestore();
    }
  });
});
