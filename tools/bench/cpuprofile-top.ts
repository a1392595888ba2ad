// Summarizes a V8 .cpuprofile (from `node --cpu-prof`) as the functions with
// the most self time, to read where a server spends its CPU without a GUI
// (docs/bench.md, "RESP server").
//
// Self time of a sample is its time delta (timeDeltas[i], µs, the time until
// the next sample), charged to the node sampled; nodes are merged by function
// name, file and line, or by file alone with --by file. Percentages are of the
// busy time: everything but V8's "(idle)" pseudo-function, which is listed
// apart.
//
// --from S and --to S count only the samples taken between S seconds after
// the profile began: a server profiled across a prefill and the workload after
// it (bench:resp's GET after SET) is read for the workload alone. --timeline
// prints the busy share of each second instead, to find that window.
//
// Run: node dist/tools/bench/cpuprofile-top.js PROFILE.cpuprofile [--top 10] [--by function|file] [--from S] [--to S] [--timeline]

import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const usage = 'Usage: node dist/tools/bench/cpuprofile-top.js PROFILE.cpuprofile [--top N] [--by function|file] [--from SECONDS] [--to SECONDS] [--timeline]\n';

/** Samples taken in [fromUs, toUs) after the profile began. */
interface Window {
  fromUs: number;
  toUs: number;
}

function main(argv: readonly string[]): void {
  let file: string | undefined;
  let top = 10;
  let by: 'function' | 'file' = 'function';
  const window: Window = { fromUs: 0, toUs: Number.POSITIVE_INFINITY };
  let timeline = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--help' || argument === '-h') {
      process.stdout.write(usage);
      return;
    }
    if (argument === '--top') {
      top = Number(argv[++index]);
      if (!Number.isInteger(top) || top < 1) return fail(`--top wants a positive integer, got "${argv[index] ?? ''}"`);
    } else if (argument === '--by') {
      const value = argv[++index];
      if (value !== 'function' && value !== 'file') return fail(`--by wants "function" or "file", got "${value ?? ''}"`);
      by = value;
    } else if (argument === '--from' || argument === '--to') {
      const seconds = Number(argv[++index]);
      if (!(seconds >= 0)) return fail(`${argument} wants a number of seconds, got "${argv[index] ?? ''}"`);
      window[argument === '--from' ? 'fromUs' : 'toUs'] = seconds * 1e6;
    } else if (argument === '--timeline') {
      timeline = true;
    } else if (argument.startsWith('-')) {
      return fail(`unknown option "${argument}"`);
    } else if (file !== undefined) {
      return fail('one profile at a time');
    } else {
      file = argument;
    }
  }
  if (file === undefined) return fail('no profile given');
  let profile: Profile;
  try {
    profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  } catch (error) {
    return fail(`cannot read "${file}": ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(profile.nodes) || !Array.isArray(profile.samples) || !Array.isArray(profile.timeDeltas)) {
    return fail(`"${file}" is not a V8 .cpuprofile (no nodes, samples and timeDeltas)`);
  }
  process.stdout.write(timeline ? busyTimeline(profile) : summarize(profile, top, by, window));
}

function fail(message: string): void {
  process.stderr.write(`cpuprofile-top: ${message}\n${usage}`);
  process.exitCode = 2;
}

/** Self time (µs) per label. */
function selfTimes(profile: Profile, by: 'function' | 'file', window: Window): Map<string, number> {
  const labels = new Map<number, string>();
  for (const node of profile.nodes) labels.set(node.id, label(node, by));
  const times = new Map<string, number>();
  let at = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    at += profile.timeDeltas[index] ?? 0;
    if (at < window.fromUs || at >= window.toUs) continue;
    // timeDeltas[i] is the gap before sample i; charge the gap after it (the next delta) to sample i.
    const delta = profile.timeDeltas[index + 1] ?? 0;
    const name = labels.get(profile.samples[index]!) ?? '?';
    times.set(name, (times.get(name) ?? 0) + delta);
  }
  return times;
}

function label(node: ProfileNode, by: 'function' | 'file'): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  if (functionName.startsWith('(')) return functionName;
  if (by === 'file') return short === '' ? '(native)' : short;
  return `${functionName === '' ? '(anonymous)' : functionName} ${short === '' ? '(native)' : `${short}:${lineNumber + 1}`}`;
}

/** The busy share of each second of the profile, one line a second. */
function busyTimeline(profile: Profile): string {
  const idleIds = new Set(profile.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id));
  const busy: number[] = [];
  let at = 0;
  for (let index = 0; index < profile.samples.length; index++) {
    at += profile.timeDeltas[index] ?? 0;
    if (idleIds.has(profile.samples[index]!)) continue;
    const second = Math.floor(at / 1e6);
    busy[second] = (busy[second] ?? 0) + (profile.timeDeltas[index + 1] ?? 0);
  }
  const lines = ['second  busy'];
  for (let second = 0; second < busy.length; second++) lines.push(`${String(second).padStart(6)}  ${(((busy[second] ?? 0) / 1e6) * 100).toFixed(0).padStart(3)} %`);
  return `${lines.join('\n')}\n`;
}

function summarize(profile: Profile, top: number, by: 'function' | 'file', window: Window): string {
  const times = selfTimes(profile, by, window);
  const idle = times.get('(idle)') ?? 0;
  times.delete('(idle)');
  const busy = [...times.values()].reduce((sum, time) => sum + time, 0);
  const lines = [`busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s; self time, % of busy:`];
  const sorted = [...times.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, time] of sorted) lines.push(`${((100 * time) / busy).toFixed(1).padStart(5)} %  ${(time / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  return `${lines.join('\n')}\n`;
}

main(process.argv.slice(2));
