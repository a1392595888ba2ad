// Compares silt's COMMAND INFO and COMMAND GETKEYS with a reference
// redis-server's, for every command and subcommand silt serves: arity, the
// flags silt models (write readonly admin no_auth pubsub fast loading
// no_multi blocking movablekeys; Redis's others such as denyoom or noscript
// are ignored), and first key / last key / step. GETKEYS is asked for a set
// of requests to numkeys (movablekeys) commands, valid and not. A one-off
// check for the command table (service/resp/command-table.ts); tests do not
// depend on redis-server.
//
// How to run (build first; the two servers on ports of your choice):
//   npm run build
//   /usr/bin/redis-server --port 16397 --save '' --appendonly no &
//   node dist/service/main.js --port 16396 --dir /tmp/silt-compare &
//   node dist/tools/dev/compare-command-info.js --silt 16396 --redis 16397
//   (then stop both servers: kill %1 %2)
//
// Prints one line per difference and exits 1 if any is not in `expected`
// below (differences that are deliberate), else 0.

import { DecodedSet, type ReplyValue } from '../../service/resp/reply-decoder.js';
import { ErrorReply, SimpleReply } from '../../service/resp/reply.js';
import { DevClient, portArgument } from './resp-client.js';

/** Flags silt's command table can express, by the name COMMAND INFO gives them. */
const modelledFlags = new Set(['write', 'readonly', 'admin', 'no_auth', 'pubsub', 'fast', 'loading', 'no_multi', 'blocking', 'movablekeys']);

/**
 * Differences that are deliberate: silt reports redis_version 7.2 and follows
 * it where 7.2 changed a command (the reference here is Debian's 7.0.15).
 */
const expected: Readonly<Record<string, string>> = {
  'command|getkeys': 'arity -3 as in Redis 7.2 (7.0 has -4)',
  zrank: 'arity -3: WITHSCORE, added in Redis 7.2',
  zrevrank: 'arity -3: WITHSCORE, added in Redis 7.2',
  'client|setinfo': 'added in Redis 7.2',
};

/** Requests whose keys COMMAND GETKEYS must find as Redis does (or refuse with the same error). */
const getkeysRequests: readonly string[] = [
  'zunionstore d 2 a b weights 1 2',
  'zunionstore d 1 a',
  'zinterstore d 2 a',
  'zdiffstore d 2 a b',
  'zunionstore d 0 a b',
  'zunionstore d x a b',
  'zunion 2 a b withscores',
  'zinter 01 a',
  'zinter 1.0 a',
  'zinter 2147483648 a',
  'zdiff 5 a',
  'zintercard 2 a b limit 1',
  'zintercard x a',
  'sintercard 2 a b limit 1',
  'sintercard 0 a',
  'sintercard 3 a b',
  'lmpop 2 a b left count 2',
  'lmpop 0 a left',
  'blmpop 0 2 a b left',
  'blmpop x 1 a left',
  'zmpop 1 a min',
  'bzmpop 1 1 a min',
  'bzmpop 0 0 a min',
  'get a',
  'mset a 1 b 2',
  'ping x',
  'nosuch a',
  'get a b',
];

function text(value: ReplyValue): string {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (value instanceof SimpleReply || value instanceof ErrorReply) return value.text;
  if (Array.isArray(value)) return `[${value.map(text).join(' ')}]`;
  return String(value);
}

function items(value: ReplyValue): ReplyValue[] {
  if (Array.isArray(value)) return value;
  if (value instanceof DecodedSet) return value.items;
  return [];
}

async function main(): Promise<number> {
  const silt = await DevClient.connect(portArgument(process.argv, 'silt', 6379));
  const redis = await DevClient.connect(portArgument(process.argv, 'redis', 16397));
  let unexpected = 0;
  const report = (name: string, difference: string): void => {
    const known = expected[name];
    if (known === undefined) unexpected++;
    console.log(`${known === undefined ? 'DIFF' : 'ok  '} ${name}: ${difference}${known === undefined ? '' : ` (expected: ${known})`}`);
  };
  try {
    const names: string[] = [];
    for (const entry of items(await silt.call('COMMAND'))) {
      const fields = items(entry);
      names.push(text(fields[0]!));
      for (const sub of items(fields[9]!)) names.push(text(items(sub)[0]!));
    }
    for (const name of names) {
      const ours = items(items(await silt.call('COMMAND', 'INFO', name))[0]!);
      const theirs = items(items(await redis.call('COMMAND', 'INFO', name))[0] ?? null);
      if (theirs.length === 0) {
        report(name, 'not in redis-server');
        continue;
      }
      const flags = (info: ReplyValue[]): string =>
        items(info[2]!)
          .map(text)
          .filter((flag) => modelledFlags.has(flag))
          .sort()
          .join(',');
      if (ours[1] !== theirs[1]) report(name, `arity ${text(ours[1]!)}, redis ${text(theirs[1]!)}`);
      if (flags(ours) !== flags(theirs)) report(name, `flags [${flags(ours)}], redis [${flags(theirs)}]`);
      const keys = (info: ReplyValue[]): string => info.slice(3, 6).map(text).join(',');
      if (keys(ours) !== keys(theirs)) report(name, `first,last,step ${keys(ours)}, redis ${keys(theirs)}`);
    }
    for (const request of getkeysRequests) {
      const args = request.split(' ');
      const ours = text(await silt.call('COMMAND', 'GETKEYS', ...args));
      const theirs = text(await redis.call('COMMAND', 'GETKEYS', ...args));
      if (ours !== theirs) report(`GETKEYS ${request}`, `${ours}, redis ${theirs}`);
    }
    console.log(`${names.length} commands and ${getkeysRequests.length} GETKEYS requests compared; ${unexpected} unexpected difference(s)`);
  } finally {
    silt.close();
    redis.close();
  }
  return unexpected === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
