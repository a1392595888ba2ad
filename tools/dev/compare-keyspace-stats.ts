// Checks INFO stats keyspace_hits / keyspace_misses request by request
// against tools/dev/keyspace-stats-cases.ts, on silt and (optionally) on a
// reference redis-server, to find where silt counts lookups differently and
// to re-capture the table when commands are added.
//
// How to run (build first; the servers on ports of your choice; the script
// runs FLUSHALL on both):
//   npm run build
//   /usr/bin/redis-server --port 16397 --save '' --appendonly no &
//   node dist/service/main.js --port 16396 --dir /tmp/silt-compare &
//   node dist/tools/dev/compare-keyspace-stats.js --silt 16396 --redis 16397
//   (then stop both servers: kill %1 %2)
// Without --redis only silt is checked against the table. Prints one line per
// difference and exits 1 if there is any.

import { SimpleReply, VerbatimReply } from '../../service/resp/reply.js';
import { type ReplyValue } from '../../service/resp/reply-decoder.js';
import { keyspaceStatsCases, keyspaceStatsSetup } from './keyspace-stats-cases.js';
import { DevClient, portArgument } from './resp-client.js';

function infoText(reply: ReplyValue): string {
  if (Buffer.isBuffer(reply)) return reply.toString('latin1');
  if (reply instanceof VerbatimReply || reply instanceof SimpleReply) return reply.text;
  return '';
}

/** keyspace_hits and keyspace_misses after `request` on a fresh keyspace. */
async function count(client: DevClient, request: readonly string[]): Promise<[number, number]> {
  await client.call('FLUSHALL');
  for (const command of keyspaceStatsSetup) await client.call(...command);
  await client.call('CONFIG', 'RESETSTAT');
  await client.call(...request);
  const info = infoText(await client.call('INFO', 'stats'));
  const field = (name: string): number => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? Number.NaN);
  return [field('keyspace_hits'), field('keyspace_misses')];
}

async function main(): Promise<number> {
  const silt = await DevClient.connect(portArgument(process.argv, 'silt', 6379));
  const redis = process.argv.includes('--redis') ? await DevClient.connect(portArgument(process.argv, 'redis', 16397)) : undefined;
  let differences = 0;
  try {
    for (const [request, hits, misses] of keyspaceStatsCases) {
      const args = request.split(' ');
      const ours = await count(silt, args);
      const theirs = redis === undefined ? undefined : await count(redis, args);
      const expected = `${hits}/${misses}`;
      const line = `${request}: table ${expected}, silt ${ours.join('/')}${theirs === undefined ? '' : `, redis ${theirs.join('/')}`}`;
      if (ours.join('/') !== expected || (theirs !== undefined && theirs.join('/') !== expected)) {
        differences++;
        console.log(`DIFF ${line}`);
      }
    }
    console.log(`${keyspaceStatsCases.length} requests checked; ${differences} difference(s)`);
  } finally {
    silt.close();
    redis?.close();
  }
  return differences === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
