// The server side of point-in-time restore (issue 5): --wal-archive-hours and
// --wal-archive-mb keep flushed WAL files in archive/, and INFO lsm reports
// the time range the archive can reach.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeServers, ioredis, startServer } from './harness.js';

afterAll(closeServers);

function infoField(info: string, name: string): string | undefined {
  return info.split('\r\n').find((line) => line.startsWith(`${name}:`))?.slice(name.length + 1);
}

describe('WAL archive through the server', () => {
  it('archives flushed WAL files and reports their time range in INFO', async () => {
    const server = await startServer({ walArchiveMb: 64, memtableMb: 0.0625 });
    const client = ioredis(server.port);
    const before = Date.now();
    for (let index = 0; index < 400; index++) await client.set(`key:${index}`, 'v'.repeat(200));
    await client.bgrewriteaof(); // a full compaction flushes the memtable, so its WAL files leave the live set
    let info = '';
    for (let attempt = 0; attempt < 50; attempt++) {
      info = await client.info('lsm');
      // The server reads each archived file in its compaction thread: unread until then.
      if (Number(infoField(info, 'lsm_archive_files')) > 0 && infoField(info, 'lsm_archive_unread_files') === '0') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(Number(infoField(info, 'lsm_archive_files'))).toBeGreaterThan(0);
    const from = Date.parse(infoField(info, 'lsm_archive_from') ?? '');
    const to = Date.parse(infoField(info, 'lsm_archive_to') ?? '');
    expect(from).toBeGreaterThanOrEqual(before - 1000);
    expect(to).toBeGreaterThanOrEqual(from);
    expect(infoField(info, 'lsm_archive_breaks')).toBe('0');
    expect(infoField(info, 'lsm_archive_unread_files')).toBe('0');
    expect(readdirSync(join(server.dir, 'archive')).length).toBeGreaterThan(0);
  });

  it('keeps no archive by default', async () => {
    const server = await startServer({ memtableMb: 0.0625 });
    const client = ioredis(server.port);
    for (let index = 0; index < 400; index++) await client.set(`key:${index}`, 'v'.repeat(200));
    await client.bgrewriteaof();
    const info = await client.info('lsm');
    expect(infoField(info, 'lsm_archive_files')).toBe('0');
    expect(infoField(info, 'lsm_archive_from')).toBe('');
    expect(infoField(info, 'lsm_archive_breaks')).toBe('0');
    expect(existsSync(join(server.dir, 'archive'))).toBe(false);
  });
});
