// NodeFileSystem.mkdir on a read-only file system names the real cause.
// Node 20's recursive mkdirSync reports ENOENT there ("no such file or
// directory"), which sent an operator looking for a missing path (`silt
// checkpoint DIR --name N` on a read-only mount); mkdir now makes each
// missing level by itself, so the error is EROFS. Needs a read-only bind
// mount (root, mount(8)); without one the test says so and is skipped.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { NodeFileSystem } from '../../../lib/fs/node-file-system.js';

let root: string;
let mounted: string | undefined;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-mkdir-ro-'));
  const source = path.join(root, 'source');
  const target = path.join(root, 'mnt');
  fs.mkdirSync(source);
  fs.mkdirSync(target);
  try {
    execFileSync('mount', ['--bind', source, target], { stdio: 'ignore' });
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', target], { stdio: 'ignore' });
    } catch (error) {
      execFileSync('umount', [target], { stdio: 'ignore' });
      throw error;
    }
    mounted = target;
  } catch {
    console.warn('SKIPPED node-mkdir-read-only: cannot make a read-only bind mount here (needs root and mount(8))');
  }
});

afterAll(() => {
  if (mounted !== undefined) execFileSync('umount', [mounted], { stdio: 'ignore' });
  fs.rmSync(root, { recursive: true, force: true });
});

test('mkdir of missing levels under a read-only mount fails with EROFS, not ENOENT', (context) => {
  if (mounted === undefined) {
    context.skip();
    return;
  }
  const fsys = new NodeFileSystem();
  let caught: unknown;
  try {
    fsys.mkdir(path.join(mounted, 'checkpoints', 'x'));
  } catch (error) {
    caught = error;
  }
  expect((caught as NodeJS.ErrnoException).code).toBe('EROFS');
  expect(fs.existsSync(path.join(mounted, 'checkpoints'))).toBe(false);
});
