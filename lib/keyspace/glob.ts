// Redis's glob-style matching (redis/redis src/util.c, stringmatchlen), byte
// for byte, for KEYS and SCAN MATCH:
//
//   *        any run of bytes, also empty
//   ?        any one byte
//   [abc]    one of the bytes; [^abc] none of them; [a-z] a range (either
//            order); \x inside a class is x itself
//   \x       the byte x itself
//
// The edge cases follow the C code exactly, including what it does past the
// end of the pattern (where C reads the terminating NUL): an unclosed class
// runs to the end of the pattern, a trailing `\` matches a literal `\`, range
// bounds compare as signed chars (x86), and case folding is ASCII only.
// Recursion is bounded as in Redis (nesting > 1000 does not match), and the
// skipLongerMatches rule keeps `*a*a*a*...b` patterns polynomial.

/**
 * True when `subject` matches the glob `pattern`.
 * @param nocase fold ASCII letters before comparing
 */
export function stringMatch(pattern: Buffer, subject: Buffer, nocase = false): boolean {
  const state = { skipLongerMatches: false };
  return matchFrom(pattern, 0, subject, 0, nocase, state, 0);
}

/**
 * The bytes every match must start with: the pattern up to its first special
 * byte (`*`, `?`, `[`, `\`). KEYS and SCAN use it to narrow the key range.
 * A view into `pattern`.
 */
export function literalPrefix(pattern: Buffer): Buffer {
  let index = 0;
  while (index < pattern.length) {
    const byte = pattern[index]!;
    if (byte === star || byte === question || byte === open || byte === backslash) break;
    index++;
  }
  return pattern.subarray(0, index);
}

/** True when the pattern is exactly `*` (matches everything). */
export function matchesEverything(pattern: Buffer): boolean {
  return pattern.length === 1 && pattern[0] === star;
}

const star = 0x2a;
const question = 0x3f;
const open = 0x5b;
const close = 0x5d;
const caret = 0x5e;
const dash = 0x2d;
const backslash = 0x5c;

/** The byte at `index`, or 0 past the end (C's terminating NUL). */
function at(buffer: Buffer, index: number): number {
  return index < buffer.length ? buffer[index]! : 0;
}

/** A C `char` on x86: bytes >= 0x80 are negative. */
function signed(byte: number): number {
  return byte >= 0x80 ? byte - 0x100 : byte;
}

function lower(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 32 : byte;
}

/** stringmatchlen_impl, with pattern and string as (buffer, index) and lengths derived from them. */
function matchFrom(
  pattern: Buffer,
  patternIndex: number,
  subject: Buffer,
  subjectIndex: number,
  nocase: boolean,
  state: { skipLongerMatches: boolean },
  nesting: number,
): boolean {
  if (nesting > 1000) return false;
  let p = patternIndex;
  let s = subjectIndex;
  let patternLength = pattern.length - p;
  let subjectLength = subject.length - s;

  while (patternLength > 0 && subjectLength > 0) {
    const char = pattern[p]!;
    if (char === star) {
      while (patternLength > 0 && at(pattern, p + 1) === star) {
        p++;
        patternLength--;
      }
      if (patternLength === 1) return true;
      while (subjectLength > 0) {
        if (matchFrom(pattern, p + 1, subject, s, nocase, state, nesting + 1)) return true;
        if (state.skipLongerMatches) return false;
        s++;
        subjectLength--;
      }
      state.skipLongerMatches = true;
      return false;
    } else if (char === question) {
      s++;
      subjectLength--;
    } else if (char === open) {
      p++;
      patternLength--;
      const not = at(pattern, p) === caret;
      if (not) {
        p++;
        patternLength--;
      }
      let match = false;
      const byte = subject[s]!;
      while (true) {
        if (at(pattern, p) === backslash && patternLength >= 2) {
          p++;
          patternLength--;
          if (at(pattern, p) === byte) match = true;
        } else if (at(pattern, p) === close) {
          break;
        } else if (patternLength === 0) {
          p--;
          patternLength++;
          break;
        } else if (patternLength >= 3 && at(pattern, p + 1) === dash) {
          let start = signed(at(pattern, p));
          let end = signed(at(pattern, p + 2));
          let c = signed(byte);
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lower(start);
            end = lower(end);
            c = lower(c);
          }
          p += 2;
          patternLength -= 2;
          if (c >= start && c <= end) match = true;
        } else if (!nocase) {
          if (at(pattern, p) === byte) match = true;
        } else if (lower(at(pattern, p)) === lower(byte)) {
          match = true;
        }
        p++;
        patternLength--;
      }
      if (not) match = !match;
      if (!match) return false;
      s++;
      subjectLength--;
    } else {
      if (char === backslash && patternLength >= 2) {
        p++;
        patternLength--;
      }
      const literal = at(pattern, p);
      const byte = subject[s]!;
      if (nocase ? lower(literal) !== lower(byte) : literal !== byte) return false;
      s++;
      subjectLength--;
    }
    p++;
    patternLength--;
    if (subjectLength === 0) {
      while (at(pattern, p) === star && p < pattern.length) {
        p++;
        patternLength--;
      }
      break;
    }
  }
  return patternLength === 0 && subjectLength === 0;
}
