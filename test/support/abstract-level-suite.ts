// Runs abstract-level's own shared test suite (node_modules/abstract-level/test,
// written for tape) against SiltLevel, the way classic-level's
// test/abstract-level-test.js runs it against ClassicLevel: `suite({ test, factory })`.
//
// Run after `npm run build`:
//   node dist/test/support/abstract-level-suite.js
//
// Engines: 'level' always; 'lsm' when dist/lib/engine/lsm-engine.js exists.
// SILT_ABSTRACT_LEVEL_ENGINES=level,lsm names them explicitly (and fails when
// one cannot run). Which engines ran is printed to stderr and as TAP comments.
// Test names are prefixed with the engine, e.g. "[level] put() works".
//
// Output is TAP on stdout; the exit code is non-zero on any failed assertion.
// With SILT_TEST_REPORT_DIR set, `abstract-level.json` there receives
// { passed, failed, skipped, engines } (counts of tape assertions), which
// .ci/run adds to its summary. Databases live in one temp directory under
// os.tmpdir(), removed at the end.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SiltLevel } from '../../lib/engine/silt-level.js';
import type { EngineKind } from '../../lib/engine/open-engine.js';

/** The suite must finish within this, or the run fails (tape has no timeout of its own). */
const runMsMax = Number(process.env.SILT_ABSTRACT_LEVEL_TIMEOUT_MS ?? 15 * 60 * 1000);

/** What this runner uses of a tape result. */
interface TapeResult {
  ok: boolean;
  skip?: unknown;
  todo?: unknown;
}

/** What this runner uses of a tape test. */
interface TapeTest {
  on(event: 'result', listener: (result: TapeResult | string) => void): void;
  on(event: 'test', listener: (child: TapeTest) => void): void;
}

/** The default tape harness: a function that registers a test, plus helpers. */
interface Tape {
  (...args: unknown[]): TapeTest;
  onFinish(callback: () => void): void;
}

type AbstractLevelSuite = (options: { test: (...args: unknown[]) => TapeTest; factory: (options?: object) => unknown }) => void;

const require = createRequire(import.meta.url);
const tape = require('tape') as Tape;
const suite = require('abstract-level/test') as AbstractLevelSuite;

const counts = { passed: 0, failed: 0, skipped: 0 };
const engines = chooseEngines();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'silt-abstract-level-'));
let databases = 0;

process.stderr.write(`\n*** abstract-level suite: running engines: ${engines.run.join(', ')}\n`);
for (const [kind, reason] of engines.skipped) {
  process.stderr.write(`*** abstract-level suite: NOT running engine "${kind}": ${reason}\n`);
}
process.stderr.write('\n');

for (const kind of engines.run) {
  suite({
    test: (...args: unknown[]) => {
      if (typeof args[0] === 'string') args[0] = `[${kind}] ${args[0]}`;
      const test = tape(...args);
      count(test);
      return test;
    },
    factory: (options?: object) => {
      databases += 1;
      return new SiltLevel(path.join(root, `${kind}-${databases}`), { ...options, engine: kind });
    },
  });
}

const watchdog = setTimeout(() => {
  process.stdout.write(`not ok - abstract-level suite did not finish within ${runMsMax} ms\n`);
  finish(true);
  process.exit(1);
}, runMsMax);
watchdog.unref();

tape.onFinish(() => {
  clearTimeout(watchdog);
  finish(false);
});

/** Counts every assertion of `test` and its subtests, as tape's own exit code does. */
function count(test: TapeTest): void {
  test.on('test', (child) => count(child));
  test.on('result', (result) => {
    if (typeof result === 'string') return;
    if (result.skip) counts.skipped += 1;
    else if (result.ok || result.todo) counts.passed += 1;
    else counts.failed += 1;
  });
}

function finish(timedOut: boolean): void {
  fs.rmSync(root, { recursive: true, force: true });
  const failed = counts.failed + (timedOut ? 1 : 0);
  const summary = `engines ${engines.run.join(', ')}: ${counts.passed} passed, ${failed} failed, ${counts.skipped} skipped`;
  process.stdout.write(`# abstract-level suite on SiltLevel, ${summary}\n`);
  for (const [kind, reason] of engines.skipped) process.stdout.write(`# engine "${kind}" NOT run: ${reason}\n`);
  process.stderr.write(`\n*** abstract-level suite: ${summary}\n`);
  const reportDir = process.env.SILT_TEST_REPORT_DIR;
  if (reportDir !== undefined && reportDir !== '') {
    const report = { passed: counts.passed, failed, skipped: counts.skipped, engines: engines.run };
    fs.mkdirSync(reportDir, { recursive: true });
    fs.writeFileSync(path.join(reportDir, 'abstract-level.json'), `${JSON.stringify(report)}\n`);
  }
  if (failed > 0) process.exitCode = 1;
}

/** The engines to run, and why any known engine is left out. */
function chooseEngines(): { run: EngineKind[]; skipped: [EngineKind, string][] } {
  const lsmBuilt = fs.existsSync(fileURLToPath(new URL('../../lib/engine/lsm-engine.js', import.meta.url)));
  const requested = process.env.SILT_ABSTRACT_LEVEL_ENGINES;
  if (requested !== undefined && requested !== '') {
    const run = requested.split(',').map((name) => name.trim());
    for (const name of run) {
      if (name !== 'level' && name !== 'lsm') throw new Error(`Cannot run engine "${name}": use "level" or "lsm"`);
      if (name === 'lsm' && !lsmBuilt) throw new Error('Cannot run engine "lsm": dist/lib/engine/lsm-engine.js is not built');
    }
    const known: EngineKind[] = ['level', 'lsm'];
    const chosen = run as EngineKind[];
    return {
      run: chosen,
      skipped: known.filter((kind) => !chosen.includes(kind)).map((kind) => [kind, 'not in SILT_ABSTRACT_LEVEL_ENGINES']),
    };
  }
  return lsmBuilt
    ? { run: ['level', 'lsm'], skipped: [] }
    : { run: ['level'], skipped: [['lsm', 'dist/lib/engine/lsm-engine.js does not exist (LsmEngine not built yet)']] };
}
