// Benchmark: the keyspace compaction filter's cost per key, in process.
//
// Every `S` and `Z` key a compaction writes out is first judged by the
// filter (lib/keyspace/compaction-filter.ts): dead (its collection is gone or
// replaced, unless a build marker keeps it) or live. The compaction worker's
// profile after large STOREs put the filter at a fifth of the worker's time,
// so its cost per key matters.
//
// Keys: --sets sorted sets of --members members, each with its live version
// and one dead version (a replaced collection), S and Z keys, in key order
// (as a compaction meets them); the metadata and table the filter reads come
// from a Map standing for the segments. Reported: the best of --rounds
// passes over every key, and the cost per key.
//
// Run: npm run bench:compaction-filter [-- --sets 20 --members 50000 --rounds 5 --json]

import { createCompactionFilter } from '../../lib/keyspace/compaction-filter.js';
import { encodeTable } from '../../lib/keyspace/db-table.js';
import { dbTableKey, metadataKey, scoreKey, subkey } from '../../lib/keyspace/key-encoding.js';
import { KeyType, collectionRecord } from '../../lib/keyspace/metadata.js';
import { describeCpu, formatNumber, parseFlags, positiveInteger, writeReport } from './bench-support.js';

interface Args {
  sets: number;
  members: number;
  rounds: number;
  json: boolean;
  jsonFile: string | undefined;
}

const liveVersion = 100;
const deadVersion = 95;

function main(): void {
  const args: Args = { sets: 20, members: 50_000, rounds: 5, json: false, jsonFile: undefined };
  parseFlags(
    process.argv.slice(2),
    {
      '--sets': (value) => (args.sets = positiveInteger(value(), '--sets')),
      '--members': (value) => (args.members = positiveInteger(value(), '--members')),
      '--rounds': (value) => (args.rounds = positiveInteger(value(), '--rounds')),
      '--json': () => (args.json = true),
      '--json-file': (value) => (args.jsonFile = value()),
    },
    () => 'usage: node dist/tools/bench/compaction-filter.js [--sets N] [--members N] [--rounds N] [--json] [--json-file F]',
  );
  const segments = new Map<string, Buffer>();
  segments.set(dbTableKey.toString('latin1'), encodeTable({ physIds: [0], nextPhysId: 1, versionFloor: 0 }));
  const keys: Buffer[] = [];
  const empty = Buffer.alloc(0);
  for (let set = 0; set < args.sets; set++) {
    const name = Buffer.from(`zset:${set}`);
    segments.set(metadataKey(0, name).toString('latin1'), collectionRecord(KeyType.zset, 0, liveVersion, args.members));
    for (const version of [deadVersion, liveVersion]) {
      for (let index = 0; index < args.members; index++) {
        const member = Buffer.from(`member:${index}`);
        keys.push(subkey(0, name, version, member), scoreKey(0, name, version, index, member));
      }
    }
  }
  keys.sort(Buffer.compare);
  const context = { nowMs: Date.now(), get: (key: Buffer) => segments.get(key.toString('latin1')) };
  const passes: number[] = [];
  let dropped = 0;
  for (let round = 0; round < args.rounds; round++) {
    const filter = createCompactionFilter({}, context);
    dropped = 0;
    const started = performance.now();
    for (const key of keys) if (filter.drop(key, empty)) dropped++;
    passes.push(performance.now() - started);
  }
  const bestMs = Math.min(...passes);
  const report = { cpu: describeCpu(), keys: keys.length, dropped, bestMs, nsPerKey: (bestMs * 1e6) / keys.length, passesMs: passes };
  writeReport(report, args, () =>
    [
      `compaction filter, ${describeCpu()}`,
      `${formatNumber(keys.length)} S and Z keys of ${args.sets} sorted sets (${formatNumber(dropped)} of a dead version), best of ${args.rounds}: ${bestMs.toFixed(0)} ms, ${report.nsPerKey.toFixed(0)} ns a key`,
      '',
    ].join('\n'),
  );
}

main();
