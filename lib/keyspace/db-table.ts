// The values of the `D` (database table) and `C` (counters) keys
// (docs/format.md, "Keyspace encoding"). Shared by the keyspace and its
// compaction filter, which must not load the rest of the keyspace.
//
//   D: +-----------+--------------+------------------+-------------------+----------------------+
//      | format u8 | count N u32  | next phys id u32 | version floor u64 | phys id u32 x N      |
//      +-----------+--------------+------------------+-------------------+----------------------+
//   C: +----------+-------------+
//      | keys u64 | expires u64 |
//      +----------+-------------+
//   integers big-endian; entry i of D is the physical id of logical db i

import { CorruptionError } from '../errors.js';
import { readUint64BE, writeUint64BE } from './key-encoding.js';

/** Format version of the `D` record. On disk: never renumber. */
export const dbTableFormatVersion = 1;

/** Bytes of the `D` header, before the physical ids. */
export const dbTableHeaderBytes = 17;

export interface DbTable {
  /** Physical id of each logical db. */
  physIds: number[];
  /** Next physical id to hand out: ids are never reused. */
  nextPhysId: number;
  /** No collection version at or below this was handed out when the table was written. */
  versionFloor: number;
}

export function encodeTable(table: DbTable): Buffer {
  const count = table.physIds.length;
  const value = Buffer.allocUnsafe(dbTableHeaderBytes + 4 * count);
  value[0] = dbTableFormatVersion;
  value.writeUInt32BE(count, 1);
  value.writeUInt32BE(table.nextPhysId, 5);
  writeUint64BE(value, 9, table.versionFloor);
  for (let db = 0; db < count; db++) value.writeUInt32BE(table.physIds[db]!, dbTableHeaderBytes + 4 * db);
  return value;
}

/** @throws CorruptionError when malformed */
export function decodeTable(value: Buffer): DbTable {
  const fail = (why: string): CorruptionError => new CorruptionError('keyspace', -1, `Cannot read the database table: ${why}`);
  if (value.length < dbTableHeaderBytes) throw fail(`${value.length} bytes, shorter than its ${dbTableHeaderBytes}-byte header`);
  if (value[0] !== dbTableFormatVersion) throw fail(`unknown format version ${value[0]}`);
  const count = value.readUInt32BE(1);
  if (value.length !== dbTableHeaderBytes + 4 * count) throw fail(`${value.length} bytes for ${count} databases`);
  const nextPhysId = value.readUInt32BE(5);
  const physIds: number[] = [];
  const seen = new Set<number>();
  for (let db = 0; db < count; db++) {
    const physId = value.readUInt32BE(dbTableHeaderBytes + 4 * db);
    if (physId >= nextPhysId || seen.has(physId)) throw fail(`physical id ${physId} of db ${db} is repeated or not below the next id ${nextPhysId}`);
    seen.add(physId);
    physIds.push(physId);
  }
  return { physIds, nextPhysId, versionFloor: readUint64BE(value, 9) };
}

/** `C` value. */
export function encodeCounters(keys: number, expires: number): Buffer {
  const value = Buffer.allocUnsafe(16);
  writeUint64BE(value, 0, keys);
  writeUint64BE(value, 8, expires);
  return value;
}

/** @throws CorruptionError when malformed */
export function decodeCounters(value: Buffer, physId: number): [keys: number, expires: number] {
  if (value.length !== 16) throw new CorruptionError('keyspace', -1, `Cannot read counters of physical db ${physId}: ${value.length} bytes, expected 16`);
  return [readUint64BE(value, 0), readUint64BE(value, 8)];
}
