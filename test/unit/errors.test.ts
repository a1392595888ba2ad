// lib/errors.ts against docs/errors.md, as fastify's test/internals/errors.test.js
// keeps its error catalogue honest: the set of codes (ERROR_CODES plus every
// `new KvError('CODE', ...)` literal in lib/) and the documented set must be
// equal, in both directions; each class must carry the code it is listed
// under; each documented code says what the RESP and HTTP fronts reply.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  ClosedError,
  CorruptionError,
  ERROR_CODES,
  InvalidArgumentError,
  IoError,
  isCorruption,
  KvError,
  LimitExceededError,
  LockedError,
  NotSupportedError,
  UnsupportedVersionError,
  WriteStoppedError,
  WrongTypeError,
} from '../../lib/errors.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const docPath = path.join(root, 'docs', 'errors.md');

/** HTTP statuses the catalogue may use. */
const httpStatuses = new Set([400, 404, 409, 413, 423, 500, 503]);
/** RESP reply prefixes the catalogue may use. */
const respPrefixes = ['-ERR ', '-WRONGTYPE ', '-MISCONF '];
/** The fields every code's section states. */
const sectionFields = ['Class', 'Meaning', 'When', 'Operator', 'RESP', 'HTTP'];

// ---------------------------------------------------------------------------
// What the code says

/** Every .ts file below `dir`. */
function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(full));
    else if (entry.name.endsWith('.ts')) files.push(full);
  }
  return files.sort();
}

/** Codes raised with the bare KvError class (`new KvError('CODE', ...)`), with where. */
function bareKvErrorCodes(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sourceFiles(path.join(root, 'lib'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/\bKvError\(\s*['"`]([A-Za-z0-9_]+)['"`]/g)) {
      const where = `${path.relative(root, file)}:${text.slice(0, match.index).split('\n').length}`;
      found.set(match[1]!, [...(found.get(match[1]!) ?? []), where]);
    }
  }
  return found;
}

/** Codes passed to `super('CODE', ...)` by a KvError subclass defined in lib/ (errors.ts or elsewhere). */
function subclassCodes(): Set<string> {
  const codes = new Set<string>();
  for (const file of sourceFiles(path.join(root, 'lib'))) {
    const text = fs.readFileSync(file, 'utf8');
    if (!/extends KvError\b/.test(text)) continue;
    for (const match of text.matchAll(/\bsuper\(\s*['"`]([A-Za-z0-9_]+)['"`]/g)) codes.add(match[1]!);
  }
  return codes;
}

/** Every code silt raises, and the class that raises it. */
function codesInSource(): Map<string, string> {
  const codes = new Map<string, string>();
  for (const [code, errorClass] of Object.entries(ERROR_CODES)) codes.set(code, errorClass.name);
  for (const code of bareKvErrorCodes().keys()) if (!codes.has(code)) codes.set(code, 'KvError');
  return codes;
}

// ---------------------------------------------------------------------------
// What the doc says

interface DocRow {
  code: string;
  className: string;
  resp: string;
  http: number;
}

const doc = fs.readFileSync(docPath, 'utf8');

/** Rows of the summary table: | `CODE` | `Class` | `-ERR <message>` | 500 | */
function docRows(): DocRow[] {
  const rows: DocRow[] = [];
  for (const match of doc.matchAll(/^\| `([A-Za-z0-9_]+)` \| `(\w+)` \| `([^`]+)` \| (\d{3}) \|$/gm)) {
    rows.push({ code: match[1]!, className: match[2]!, resp: match[3]!, http: Number(match[4]) });
  }
  return rows;
}

/** Each "### `CODE`" section's body, by code. */
function docSections(): Map<string, string> {
  const sections = new Map<string, string>();
  const parts = doc.split(/^### /m).slice(1);
  for (const part of parts) {
    const heading = /^`([A-Za-z0-9_]+)`\s*$/m.exec(part.split('\n')[0]!);
    if (heading === null) throw new Error(`docs/errors.md: a "### " heading is not a code in backquotes: ${part.split('\n')[0]}`);
    sections.set(heading[1]!, part.split(/^## /m)[0]!);
  }
  return sections;
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

// ---------------------------------------------------------------------------

describe('docs/errors.md and lib/errors.ts agree', () => {
  test('the source scan finds the codes raised with the bare KvError class', () => {
    // NOT_FOUND and ALREADY_EXISTS are raised by LsmEngine today; if they move to their own
    // classes they join ERROR_CODES, and this test's expectation moves with them.
    const bare = bareKvErrorCodes();
    expect(bare.size).toBeGreaterThan(0);
    for (const [code, places] of bare) expect(code, `KvError('${code}') at ${places.join(', ')}`).toMatch(/^[A-Z][A-Z0-9_]*$/);
  });

  test('every subclass in lib/ passes a code listed in ERROR_CODES', () => {
    expect(sorted(subclassCodes())).toEqual(sorted(Object.keys(ERROR_CODES)));
  });

  test('every code in the source has a summary row and a section, and nothing else does', () => {
    const source = sorted(codesInSource().keys());
    const rows = docRows();
    expect(sorted(rows.map((row) => row.code)), 'summary table vs source').toEqual(source);
    expect(sorted(docSections().keys()), 'sections vs source').toEqual(source);
    expect(new Set(rows.map((row) => row.code)).size, 'no code listed twice').toBe(rows.length);
  });

  test('the summary names the class that raises each code', () => {
    const source = codesInSource();
    for (const row of docRows()) expect(row.className, row.code).toBe(source.get(row.code));
  });

  test('each section states class, meaning, when, what the operator does, RESP and HTTP, matching the summary', () => {
    const rows = new Map(docRows().map((row) => [row.code, row]));
    for (const [code, body] of docSections()) {
      for (const field of sectionFields) expect(body, `${code}: **${field}:**`).toContain(`- **${field}:**`);
      const row = rows.get(code);
      if (row === undefined) continue; // reported by the set comparison above
      expect(body, `${code}: class`).toMatch(new RegExp(`- \\*\\*Class:\\*\\* \`${row.className}\``));
      expect(body, `${code}: HTTP`).toMatch(new RegExp(`- \\*\\*HTTP:\\*\\* ${row.http}\\b`));
      expect(body, `${code}: RESP`).toContain(`- **RESP:** \`${row.resp.split(' ')[0]!}`);
    }
  });

  test('every RESP reply keeps a Redis prefix and every HTTP status is one the fronts use', () => {
    for (const row of docRows()) {
      expect(respPrefixes.some((prefix) => row.resp.startsWith(prefix)), `${row.code}: ${row.resp}`).toBe(true);
      expect(httpStatuses.has(row.http), `${row.code}: ${row.http}`).toBe(true);
    }
    const byCode = new Map(docRows().map((row) => [row.code, row]));
    expect(byCode.get('WRONGTYPE')?.resp.startsWith('-WRONGTYPE ')).toBe(true);
    expect(byCode.get('WRITE_STOPPED')?.resp.startsWith('-MISCONF ')).toBe(true);
    expect(byCode.get('IO_ERROR')?.resp.startsWith('-MISCONF ')).toBe(true);
  });
});

describe('error classes', () => {
  const cause = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
  /** One instance per class in ERROR_CODES; a new class must be added here. */
  const instances: Record<keyof typeof ERROR_CODES, KvError> = {
    CORRUPTION: new CorruptionError('wal/000001.log', 42, 'Cannot read WAL record in "wal/000001.log" at offset 42: checksum mismatch'),
    IO_ERROR: new IoError('Cannot sync WAL file "wal/000001.log": no space left on device', { cause }),
    INVALID_ARGUMENT: new InvalidArgumentError('Cannot set sync policy "sometimes": expected always, everysec or no'),
    LIMIT_EXCEEDED: new LimitExceededError('Cannot write key of 99999 bytes: the limit is 65536'),
    CLOSED: new ClosedError('Cannot use engine: it is closed'),
    LOCKED: new LockedError('Cannot open data directory "data": locked by pid 1'),
    WRITE_STOPPED: new WriteStoppedError('Cannot write: writes are stopped after an I/O error', { cause }),
    UNSUPPORTED_VERSION: new UnsupportedVersionError('seg/000001.sst', 'Cannot open segment "seg/000001.sst": format version 9 is not supported'),
    NOT_SUPPORTED: new NotSupportedError('Cannot write: "data" is open read-only'),
    WRONGTYPE: new WrongTypeError(),
  };

  test.each(Object.entries(ERROR_CODES))('%s: the class carries the code it is listed under', (code, errorClass) => {
    const error = instances[code as keyof typeof ERROR_CODES];
    expect(error).toBeInstanceOf(errorClass);
    expect(error).toBeInstanceOf(KvError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe(code);
    expect(error.name).toBe(errorClass.name);
    expect(error.message.length).toBeGreaterThan(0);
  });

  test('codes are upper case and no two classes share one', () => {
    const codes = Object.keys(ERROR_CODES);
    for (const code of codes) expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
    expect(new Set(Object.values(ERROR_CODES)).size).toBe(codes.length);
  });

  test('CorruptionError names file and offset; UnsupportedVersionError names the file', () => {
    const corruption = instances.CORRUPTION as CorruptionError;
    expect({ file: corruption.file, offset: corruption.offset }).toEqual({ file: 'wal/000001.log', offset: 42 });
    expect((instances.UNSUPPORTED_VERSION as UnsupportedVersionError).file).toBe('seg/000001.sst');
  });

  test('a wrapping error keeps its cause; IoError takes errno from it', () => {
    expect(instances.IO_ERROR.cause).toBe(cause);
    expect((instances.IO_ERROR as IoError).errno).toBe('ENOSPC');
    expect(new IoError('Cannot read "x": broken').errno).toBeUndefined();
    expect(instances.WRITE_STOPPED.cause).toBe(cause);
  });

  test('WrongTypeError defaults to the Redis wording', () => {
    expect(new WrongTypeError().message).toBe('Operation against a key holding the wrong kind of value');
  });

  test('a bare KvError carries whatever code it is given', () => {
    const error = new KvError('NOT_FOUND', 'Cannot open data directory "x": it does not exist');
    expect(error.code).toBe('NOT_FOUND');
    expect(error.name).toBe('KvError');
  });
});

describe('isCorruption', () => {
  const corruption = new CorruptionError('seg/000007.sst', 0, 'Cannot read segment data block in "seg/000007.sst" at offset 0: checksum mismatch');

  test('finds a CorruptionError itself', () => {
    expect(isCorruption(corruption)).toBe(true);
  });

  test('finds a CorruptionError wrapped as a cause, one level or several', () => {
    const once = new WriteStoppedError('Cannot write: compaction failed', { cause: corruption });
    const twice = new Error('request failed', { cause: new IoError('Cannot flush', { cause: corruption }) });
    expect(isCorruption(once)).toBe(true);
    expect(isCorruption(twice)).toBe(true);
  });

  test('is false for other errors, chains without corruption, and non-errors', () => {
    expect(isCorruption(new IoError('Cannot sync', { cause: new Error('EIO') }))).toBe(false);
    for (const value of [undefined, null, 'CORRUPTION', 42, {}]) expect(isCorruption(value)).toBe(false);
  });

  test('stops on a cyclic cause chain', () => {
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    Object.defineProperty(first, 'cause', { value: second });
    expect(isCorruption(first)).toBe(false);
  });
});
