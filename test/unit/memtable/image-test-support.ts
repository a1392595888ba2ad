// What the memtable image tests share: the memtable's entries as its own
// iterator yields them, the reference a flush's order is checked against.

import type { Memtable } from '../../../lib/memtable/memtable.js';

/** `internal key hex=value hex` per entry, from the memtable's own iterator (which folds every key into its tree). */
export function iteratorEntries(table: Memtable): string[] {
  const out: string[] = [];
  const iterator = table.iterator();
  for (iterator.seekToFirst(); iterator.valid(); iterator.next()) out.push(`${iterator.key().toString('hex')}=${iterator.value().toString('hex')}`);
  iterator.close();
  return out;
}
