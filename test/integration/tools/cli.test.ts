// The `silt` command line: `node dist/tools/cli.js` runs as a program (shebang,
// exit codes as the process's), and main() parses and dispatches in-process:
// --help per subcommand, usage errors exit 2, the subcommands of the logical
// layer say they are not available yet. Needs `npm run build` (npm test runs it).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { main } from '../../../tools/cli.js';
import { captureIo, copyFixture, makeScratch, removeScratch } from './tool-test-helpers.js';

const cliPath = fileURLToPath(new URL('../../../dist/tools/cli.js', import.meta.url));

let scratch: string;

beforeAll(() => {
  scratch = makeScratch('cli');
});

afterAll(() => {
  removeScratch(scratch);
});

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('silt (the built program)', () => {
  test('node dist/tools/cli.js --help lists every subcommand and exits 0', () => {
    expect(fs.readFileSync(cliPath, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const result = run('--help');
    expect(result.status).toBe(0);
    for (const name of ['verify', 'recover', 'inspect', 'checkpoint', 'restore']) expect(result.stdout).toContain(`  ${name} `);
    expect(result.stdout).toContain('Exit codes: 0 ok, 1 damage found');
  });

  test('the built bins (silt, silt-server) are executable, so npx and a linked install run them directly', () => {
    const serverPath = fileURLToPath(new URL('../../../dist/service/main.js', import.meta.url));
    for (const bin of [cliPath, serverPath]) expect(fs.statSync(bin).mode & 0o111, bin).toBe(0o111);
    const result = spawnSync(cliPath, ['--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: silt <subcommand>');
  });

  test('exit codes reach the shell: 1 for damage, 2 for usage', () => {
    const dir = copyFixture(scratch, 'flipped-bit');
    const damaged = run('verify', dir);
    expect(damaged.status).toBe(1);
    expect(damaged.stdout).toContain('DAMAGE [segment] seg/000005.sst at offset 0');
    const usage = run('verify');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('expected DIR');
    const json = run('verify', dir, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ tool: 'verify', healthy: false, damageCount: 1 });
  });
});

describe('main (in-process)', () => {
  test('each subcommand has --help', async () => {
    for (const name of ['verify', 'recover', 'inspect', 'checkpoint', 'restore']) {
      const { io, stdout } = captureIo();
      expect(await main([name, '--help'], io)).toBe(0);
      expect(stdout.text).toContain(`Usage: silt ${name}`);
      expect(stdout.text).toContain('Exit:');
    }
    const { io, stdout } = captureIo();
    expect(await main(['help', 'restore'], io)).toBe(0);
    expect(stdout.text).toContain('--to TIME|seq:N');
  });

  test('usage errors exit 2 with a pointer to --help', async () => {
    const cases: [string[], string][] = [
      [[], 'Usage: silt <subcommand>'],
      [['frobnicate'], 'unknown subcommand "frobnicate"'],
      [['verify', '--bogus', 'x'], "Unknown option '--bogus'"],
      [['verify', 'a', 'b'], 'expected DIR'],
      [['recover', 'x'], '--out is required'],
      [['recover', 'x', '--out', ''], '--out is empty: give a path'],
      [['checkpoint', 'x', '--out', ''], '--out is empty: give a path'],
      [['restore', '--from', 'x', '--archive', '', '--to', 'seq:1', '--out', 'y'], '--archive is empty: give a path'],
      [['verify', ''], 'DIR is empty: give a path'],
      [['restore', '--from', 'x', '--archive', 'y'], '--to is required'],
      [['checkpoint', 'x', '--keep', 'many'], '--keep expects a whole number'],
      [['load', 'f'], 'give exactly one of --into DIR and --host HOST'],
    ];
    for (const [argv, message] of cases) {
      const { io, stderr, stdout } = captureIo();
      expect(await main(argv, io), argv.join(' ')).toBe(2);
      expect(stderr.text, argv.join(' ')).toContain(message);
      expect(stdout.text, argv.join(' ')).toBe('');
    }
  });

  test('with --json, a usage error is also the error document on stdout', async () => {
    const cases: [string[], string][] = [
      [['frobnicate', '--json'], 'unknown subcommand "frobnicate"'],
      [['verify', '--bogus', '--json'], "Unknown option '--bogus'"],
      [['verify', '--json'], 'expected DIR, got none'],
      [['recover', 'x', '--json'], '--out is required'],
      [['checkpoint', 'x', '--keep', 'many', '--json'], '--keep expects a whole number'],
    ];
    for (const [argv, message] of cases) {
      const { io, stderr, stdout } = captureIo();
      expect(await main(argv, io), argv.join(' ')).toBe(2);
      expect(stderr.text, argv.join(' ')).toContain(message);
      const document = JSON.parse(stdout.text) as { ok: boolean; error: { code: string; message: string } };
      expect(document, argv.join(' ')).toMatchObject({ ok: false, error: { code: 'USAGE' } });
      expect(document.error.message, argv.join(' ')).toContain(message);
    }
  });

  test('dispatches with parsed options: inspect --engine-key --hex --json', async () => {
    const dir = copyFixture(scratch, 'healthy');
    const { io, stdout } = captureIo();
    // The fixtures hold raw engine data (no keyspace): their keys are engine keys.
    expect(await main(['inspect', dir, '--engine-key', '00ff0a80', '--hex', '--json'], io)).toBe(0);
    expect(JSON.parse(stdout.text)).toMatchObject({ view: 'engine-key', key: '00ff0a80', versions: [{ valueBytes: 1 }, { valueBytes: 4 }] });
    const out = path.join(scratch, 'recovered');
    const recovered = captureIo();
    expect(await main(['recover', dir, '--out', out], recovered.io)).toBe(0);
    expect(recovered.stdout.text).toContain('nothing was lost');
  });

  test('--version prints the package version', async () => {
    const { io, stdout } = captureIo();
    expect(await main(['--version'], io)).toBe(0);
    expect(stdout.text).toMatch(/^silt \d+\.\d+\.\d+/);
  });
});
