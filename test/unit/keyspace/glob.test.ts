// stringMatch against a table of Redis cases: each row is what redis/redis
// src/util.c stringmatchlen() answers, including its edge cases (an unclosed
// class, a trailing backslash, reversed and signed-char ranges, `*` against an
// empty string), plus the nested-star pattern Redis's tests use to check that
// matching stays fast.

import { describe, expect, it } from 'vitest';
import { literalPrefix, matchesEverything, stringMatch } from '../../../lib/keyspace/glob.js';

const b = (text: string): Buffer => Buffer.from(text, 'latin1');

const cases: [pattern: string, subject: string, expected: boolean, nocase?: boolean][] = [
  ['', '', true],
  ['a', 'a', true],
  ['a', 'b', false],
  ['a', 'aa', false],
  ['aa', 'a', false],
  ['*', 'anything', true],
  ['*', '', false], // the loop never runs: Redis answers no (KEYS * special-cases "*")
  ['**', 'x', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['*a', 'ba', true],
  ['*a', 'ab', false],
  ['a*b*c', 'aXXbYYc', true],
  ['a*b*c', 'aXXbYY', false],
  ['?', 'a', true],
  ['?', '', false],
  ['??', 'a', false],
  ['h?llo', 'hello', true],
  ['h*llo', 'hllo', true],
  ['h*llo', 'heeeello', true],
  ['h[ae]llo', 'hello', true],
  ['h[ae]llo', 'hallo', true],
  ['h[ae]llo', 'hillo', false],
  ['h[^e]llo', 'hallo', true],
  ['h[^e]llo', 'hello', false],
  ['h[a-b]llo', 'hbllo', true],
  ['h[a-b]llo', 'hcllo', false],
  ['h[b-a]llo', 'hallo', true], // reversed range
  ['[0-9]', '5', true],
  ['[0-9]', 'x', false],
  ['\\*', '*', true],
  ['\\*', 'a', false],
  ['\\?x', '?x', true],
  ['a\\', 'a\\', true], // a trailing backslash is itself
  ['[\\]]', ']', true],
  ['[\\-]', '-', true],
  ['[', '[', false], // an empty unclosed class matches nothing
  ['[a', 'a', true], // an unclosed class runs to the end of the pattern
  ['[^', 'x', true],
  ['[]', ']', false],
  ['[a-]', '_', true], // "a-]" is the range ']'..'a'
  ['[a-]', '-', false],
  ['[abc', 'c', true],
  ['*[', 'a', false],
  ['[a-\xff]', 'b', false], // bounds compare as signed chars: 'a'..-1 is -1..97
  ['[a-\xff]', '0', true],
  ['[\x80-\xff]', '\x90', true],
  ['\xe9t\xe9', '\xe9t\xe9', true],
  ['HELLO', 'hello', false],
  ['HELLO', 'hello', true, true],
  ['[A-Z]', 'q', true, true],
  ['[^A-Z]', 'q', false, true],
  ['h[E]llo', 'hello', true, true],
  ['user:*:name', 'user:42:name', true],
  ['user:*:name', 'user:42:email', false],
];

describe('stringMatch (Redis stringmatchlen)', () => {
  it.each(cases)('%j against %j -> %s', (pattern, subject, expected, nocase = false) => {
    expect(stringMatch(b(pattern), b(subject), nocase)).toBe(expected);
  });

  it('gives up quickly on nested stars that cannot match', () => {
    const started = performance.now();
    const pattern = b(`${'*a'.repeat(30)}*b`);
    expect(stringMatch(pattern, b('a'.repeat(60)))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('refuses patterns nested beyond 1000 stars, as Redis does', () => {
    const pattern = b(`${'a*'.repeat(1100)}`);
    expect(stringMatch(pattern, b('a'.repeat(1200)))).toBe(false);
    expect(stringMatch(b(`${'a*'.repeat(900)}`), b('a'.repeat(1200)))).toBe(true);
  });

  it('finds the literal prefix that narrows KEYS and SCAN', () => {
    expect(literalPrefix(b('user:*')).toString()).toBe('user:');
    expect(literalPrefix(b('abc')).toString()).toBe('abc');
    expect(literalPrefix(b('a?c')).toString()).toBe('a');
    expect(literalPrefix(b('[ab]c')).toString()).toBe('');
    expect(literalPrefix(b('a\\*b')).toString()).toBe('a');
    expect(matchesEverything(b('*'))).toBe(true);
    expect(matchesEverything(b('**'))).toBe(false);
  });
});
