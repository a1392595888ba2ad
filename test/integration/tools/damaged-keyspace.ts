// A data directory written as the server writes it (engine + Keyspace, keys
// of every type, some with an expiry, two dbs), compacted into one segment,
// and a way to make one of its data blocks unreadable: the damage an
// operator meets after a bad disk sector (`dd` over a segment).

import fs from 'node:fs';
import path from 'node:path';
import { LsmEngine } from '../../../lib/engine/lsm-engine.js';
import { userKeyOf } from '../../../lib/format/internal-key.js';
import { hashDelete, hashSet } from '../../../lib/keyspace/hash.js';
import { KeyTag } from '../../../lib/keyspace/key-encoding.js';
import { Keyspace, type KeyspaceContext } from '../../../lib/keyspace/keyspace.js';
import { List } from '../../../lib/keyspace/list.js';
import { stringRecord, withExpire } from '../../../lib/keyspace/metadata.js';
import { setAdd } from '../../../lib/keyspace/set.js';
import { SortedSetWriter } from '../../../lib/keyspace/zset.js';
import { defaultFileSystem } from '../../../tools/data-dir.js';
import { scanSegment, type ScannedBlock } from '../../../tools/segment-scan.js';

export const stringKeys = 600;
export const collectionKeys = 40;
export const db3Keys = 30;

/** Writes the sample keyspace into `dir` (created) and compacts it into one segment. */
export async function writeSampleKeyspace(dir: string): Promise<void> {
  const engine = await LsmEngine.open(dir);
  try {
    const keyspace = await Keyspace.open(engine);
    const pending: Promise<unknown>[] = [];
    const ctx = (db: number): KeyspaceContext => ({ db, nowMs: Date.now(), write: (batch) => void pending.push(engine.write(batch)) });
    const later = Date.now() + 3_600_000;
    const b = (text: string): Buffer => Buffer.from(text);
    for (let i = 0; i < stringKeys; i++) {
      const key = b(`str:${String(i).padStart(4, '0')}`);
      const target = keyspace.load(0, key, Date.now());
      keyspace.put(ctx(0), target, stringRecord(b(`value-${i}-`.padEnd(40, 'x')), i % 4 === 0 ? later + i : 0, keyspace.newVersion(Date.now(), target.stored)));
    }
    for (let i = 0; i < collectionKeys; i++) {
      hashSet(keyspace, ctx(0), b(`hash:${i}`), [b('f1'), b('v1'), b('f2'), b('v2')]);
      const list = List.edit(keyspace, 0, b(`list:${i}`), Date.now());
      for (const element of ['a', 'b', 'c']) list.push(b(element), 'right');
      const batch = keyspace.begin();
      list.stage(batch);
      keyspace.commit(ctx(0), batch);
      setAdd(keyspace, ctx(0), b(`set:${i}`), [b('m1'), b('m2')]);
      const writer = SortedSetWriter.load(keyspace, 0, b(`zset:${i}`), Date.now());
      writer.add(b('a'), 1);
      writer.add(b('b'), 2);
      writer.commit(ctx(0));
    }
    for (let i = 0; i < db3Keys; i++) {
      const key = b(`db3:${i}`);
      const target = keyspace.load(3, key, Date.now());
      keyspace.put(ctx(3), target, stringRecord(b('x'), 0, keyspace.newVersion(Date.now(), target.stored)));
    }
    await Promise.all(pending);
    await engine.compactRange();
  } finally {
    await engine.close();
  }
}

/** The one segment file of `dir`. */
export function onlySegment(dir: string): string {
  const names = fs.readdirSync(path.join(dir, 'seg')).filter((name) => name.endsWith('.sst'));
  if (names.length !== 1) throw new Error(`expected one segment in ${dir}, found ${names.join(', ')}`);
  return path.join(dir, 'seg', names[0]!);
}

/** Overwrites 4 bytes in the middle of the data block holding the database table (`D`), the segment's first. */
export function damageTableBlock(dir: string): ScannedBlock {
  const file = onlySegment(dir);
  const scan = scanSegment(defaultFileSystem(), file, {});
  const block = scan.blocks.find((each) => userKeyOf(each.firstKey!).compare(Buffer.of(KeyTag.dbTable)) <= 0 && userKeyOf(each.lastKey!).compare(Buffer.of(KeyTag.dbTable)) >= 0);
  if (block === undefined) throw new Error('no block holds the database table');
  flip(file, block);
  return block;
}

/** Overwrites 4 bytes in the middle of an interior data block of collection members (`S` and `Z` keys only). */
export function damageMemberBlock(dir: string): ScannedBlock {
  const file = onlySegment(dir);
  const scan = scanSegment(defaultFileSystem(), file, {});
  const members = (key: Buffer | undefined): boolean => key !== undefined && (userKeyOf(key)[0] === KeyTag.subkey || userKeyOf(key)[0] === KeyTag.score);
  const blocks = scan.blocks.filter((each) => members(each.firstKey) && members(each.lastKey) && each.index > 0 && each.index < scan.blocks.length - 1);
  const block = blocks[Math.floor(blocks.length / 2)];
  if (block === undefined) throw new Error('no interior block of members to damage');
  flip(file, block);
  return block;
}

function flip(file: string, block: ScannedBlock): void {
  const handle = fs.openSync(file, 'r+');
  try {
    fs.writeSync(handle, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, block.offset + Math.floor(block.storedBytes / 2));
  } finally {
    fs.closeSync(handle);
  }
}

/**
 * Overwrites 4 bytes in the middle of a data block whose keys are all `M`
 * (metadata) records of string keys, neither the first nor the last block.
 * @returns the damaged block
 */
export function damageMetadataBlock(dir: string): ScannedBlock {
  const file = onlySegment(dir);
  const scan = scanSegment(defaultFileSystem(), file, {});
  const blocks = scan.blocks.filter((block) => {
    const first = block.firstKey === undefined ? undefined : userKeyOf(block.firstKey);
    const last = block.lastKey === undefined ? undefined : userKeyOf(block.lastKey);
    return first?.[0] === KeyTag.metadata && last?.[0] === KeyTag.metadata && first.includes('str:') && last.includes('str:');
  });
  const block = blocks[Math.floor(blocks.length / 2)];
  if (block === undefined || block.index === 0 || block.index === scan.blocks.length - 1) throw new Error('no interior metadata block to damage');
  flip(file, block);
  return block;
}

/** Collections (and one string) whose newest version `writeReplacedKeyspace` puts in a level-0 segment over an older one in a lower level. */
export const replacedKeys = ['k:hash', 'k:hash-part', 'k:hash-ttl', 'k:list', 'k:set', 'k:set-expired', 'k:string', 'k:zset'] as const;

/**
 * Writes an older version of each of `replacedKeys` (a hash, one whose third field is
 * later deleted, one with an expiry an hour away, a list, a set, one with an expiry
 * 100 ms away, a string, a sorted set) and compacts it to the bottom level; then
 * deletes each, writes a new version with other members (the string becomes a hash,
 * the expiring ones have no expiry), and flushes that to level 0, between string keys
 * "a:NNN" and "z:NNN" that fill blocks of their own, so the new `M` records and their
 * `S`/`Z` entries lie in different blocks.
 * @returns the older versions' expiry times of "k:hash-ttl" and "k:set-expired"
 */
export async function writeReplacedKeyspace(dir: string): Promise<{ expireMs: number; expiredMs: number }> {
  const engine = await LsmEngine.open(dir);
  const b = (text: string): Buffer => Buffer.from(text);
  const expireMs = Date.now() + 3_600_000;
  const expiredMs = Date.now() + 100;
  try {
    const keyspace = await Keyspace.open(engine);
    const pending: Promise<unknown>[] = [];
    const ctx = (db: number): KeyspaceContext => ({ db, nowMs: Date.now(), write: (batch) => void pending.push(engine.write(batch)) });
    const putString = (key: string, value: string): void => {
      const target = keyspace.load(0, b(key), Date.now());
      keyspace.put(ctx(0), target, stringRecord(b(value), 0, keyspace.newVersion(Date.now(), target.stored)));
    };
    const pushList = (key: string, elements: string[]): void => {
      const list = List.edit(keyspace, 0, b(key), Date.now());
      for (const element of elements) list.push(b(element), 'right');
      const batch = keyspace.begin();
      list.stage(batch);
      keyspace.commit(ctx(0), batch);
    };
    const addZset = (key: string, members: [string, number][]): void => {
      const writer = SortedSetWriter.load(keyspace, 0, b(key), Date.now());
      for (const [member, score] of members) writer.add(b(member), score);
      writer.commit(ctx(0));
    };
    const pad = (prefix: string, count: number): void => {
      for (let i = 0; i < count; i++) putString(`${prefix}:${String(i).padStart(3, '0')}`, `pad-${i}-`.padEnd(60, 'x'));
    };

    // Older versions, compacted to the bottom level.
    hashSet(keyspace, ctx(0), b('k:hash'), [b('f1'), b('v1'), b('f2'), b('v2')]);
    hashSet(keyspace, ctx(0), b('k:hash-part'), [b('f1'), b('v1'), b('f2'), b('v2'), b('f3'), b('v3')]);
    hashSet(keyspace, ctx(0), b('k:hash-ttl'), [b('f1'), b('v1')]);
    const expire = (key: string, ms: number): void => {
      const target = keyspace.load(0, b(key), Date.now());
      keyspace.put(ctx(0), target, withExpire(target.stored!, ms));
    };
    expire('k:hash-ttl', expireMs);
    pushList('k:list', ['a', 'b', 'c']);
    setAdd(keyspace, ctx(0), b('k:set'), [b('m1'), b('m2')]);
    setAdd(keyspace, ctx(0), b('k:set-expired'), [b('e1')]);
    expire('k:set-expired', expiredMs);
    putString('k:string', 'old string');
    addZset('k:zset', [['a', 1], ['b', 2]]);
    pad('a', 20);
    await Promise.all(pending);
    await engine.compactRange();

    // Newer versions, flushed to level 0. k:hash-part loses f3 first, so its older version is partly gone.
    hashDelete(keyspace, ctx(0), b('k:hash-part'), [b('f3')]);
    for (const key of replacedKeys) keyspace.remove(ctx(0), keyspace.load(0, b(key), Date.now()));
    pad('a', 100);
    hashSet(keyspace, ctx(0), b('k:hash'), [b('g1'), b('w1'), b('g2'), b('w2'), b('g3'), b('w3')]);
    hashSet(keyspace, ctx(0), b('k:hash-part'), [b('g1'), b('w1')]);
    hashSet(keyspace, ctx(0), b('k:hash-ttl'), [b('g1'), b('w1'), b('g2'), b('w2')]);
    pushList('k:list', ['p', 'q', 'r', 's']);
    setAdd(keyspace, ctx(0), b('k:set'), [b('n1'), b('n2'), b('n3')]);
    setAdd(keyspace, ctx(0), b('k:set-expired'), [b('o1'), b('o2')]);
    hashSet(keyspace, ctx(0), b('k:string'), [b('h1'), b('x1')]);
    addZset('k:zset', [['x', 5], ['y', 6], ['z', 7]]);
    pad('z', 150);
    await Promise.all(pending);
    await engine.flush();
  } finally {
    await engine.close();
  }
  return { expireMs, expiredMs };
}

/** The segment files of `dir`, oldest first. */
export function segments(dir: string): string[] {
  return fs
    .readdirSync(path.join(dir, 'seg'))
    .filter((name) => name.endsWith('.sst'))
    .sort()
    .map((name) => path.join(dir, 'seg', name));
}

/**
 * Overwrites 4 bytes in the middle of every data block of `file` whose key range
 * holds one of `userKeys` (engine keys). @returns the blocks damaged
 */
export function damageBlocksHolding(file: string, userKeys: Buffer[]): ScannedBlock[] {
  const scan = scanSegment(defaultFileSystem(), file, {});
  const blocks = scan.blocks.filter((block) => userKeys.some((key) => userKeyOf(block.firstKey!).compare(key) <= 0 && userKeyOf(block.lastKey!).compare(key) >= 0));
  if (blocks.length === 0) throw new Error(`no block of ${file} holds those keys`);
  for (const block of blocks) flip(file, block);
  return blocks;
}
