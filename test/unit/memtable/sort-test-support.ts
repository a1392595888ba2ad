// What the two key sorts' tests share: keys built to stress the digit logic,
// and the length of the prefix a set of keys shares.

import fc from 'fast-check';

/** Distinct latin1 strings: prefixes longer than a digit (5 bytes), tails with zero bytes, keys ending inside a digit. */
export const stressKeysArb = fc.uniqueArray(
  fc
    .tuple(
      fc.constantFrom('', 'user:', 'user:profile:', '\u0000\u0000\u0000\u0000\u0000\u0000', 'abcde'),
      fc.string({ unit: fc.constantFrom('\u0000', '\u0001', 'a', 'b', '\u00ff'), maxLength: 9 }),
    )
    .map(([prefix, tail]) => prefix + tail),
  { maxLength: 400 },
);

/** The length of the prefix all `keys` share (strings or byte arrays). */
export function sharedPrefix(keys: readonly ArrayLike<unknown>[]): number {
  if (keys.length === 0) return 0;
  let length = keys[0]!.length;
  for (const key of keys) {
    let common = 0;
    while (common < length && common < key.length && key[common] === keys[0]![common]) common++;
    length = common;
  }
  return length;
}
