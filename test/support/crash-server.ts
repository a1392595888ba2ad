// A real silt-server child process for the crash tests (test/crash/): started
// on port 0 under `--appendfsync always` with a 1 MiB memtable, so that
// flushes and compactions run during a test's load, and resolved once its log
// says it is ready (the port comes from that line). The caller owns the
// `children` set and SIGKILLs whatever is left in it in afterAll; a child
// leaves the set when it exits. verifyNoDamage() runs `silt verify` on a
// crash test's directory.

import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import { defaultFileSystem } from '../../tools/data-dir.js';
import { verifyDirectory, type VerifyReport } from '../../tools/verify.js';

export interface CrashServer {
  child: ChildProcess;
  port: number;
  /** Resolves when the process has exited (killed or stopped). */
  exited: Promise<void>;
}

/**
 * Starts `script` (dist/service/main.js) on `dir` and resolves with its port once ready.
 * @param script the built server entry point
 * @param dir data directory, reused across restarts
 * @param children every live child; the new one is added, and removed when it exits
 * @throws (rejects) when the process exits before it is ready, with its stderr
 */
export function startCrashServer(script: string, dir: string, children: Set<ChildProcess>): Promise<CrashServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '--port', '0', '--dir', dir, '--appendfsync', 'always', '--memtable-mb', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stderr = '';
    let buffered = '';
    const exited = new Promise<void>((resolveExit) => child.on('exit', () => resolveExit()));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg?.includes('ready to accept connections')) resolve({ child, port: entry.port!, exited });
      }
    });
    void exited.then(() => {
      children.delete(child);
      // A no-op once the server was ready.
      reject(new Error(`server exited before it was ready: ${stderr}`));
    });
  });
}

/**
 * Runs `silt verify` in-process on `dir`; fails on any damage, and when the logical pass did not
 * look at the keyspace. `when` names the moment in the failure.
 */
export async function verifyNoDamage(dir: string, when: string): Promise<VerifyReport> {
  const report = await verifyDirectory(defaultFileSystem(), dir);
  const damage = report.problems.filter((problem) => problem.severity === 'damage');
  if (damage.length > 0) expect.fail(`silt verify ${when}: ${damage.map((problem) => `[${problem.kind}] ${problem.file}: ${problem.message}`).join('; ')}`);
  expect(report.logical?.skipped, `silt verify ${when}: the logical pass`).toBeNull();
  return report;
}
