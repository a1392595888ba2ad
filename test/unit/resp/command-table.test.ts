// CommandTable.resolve(): names in any case, the cache of spellings by their
// bytes (a slot per hash, the last spelling wins it), arity, subcommands.
// Strategy: resolve the same names through reused buffers, many spellings
// (more than the cache's slots, so slots are taken over), and compare each
// answer with get() of the name as a string.

import { describe, expect, test } from 'vitest';
import { defaultCommandTable } from '../../../service/resp/command-table.js';
import { ErrorReply } from '../../../service/resp/reply.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('CommandTable.resolve', () => {
  test('finds commands in any case, through buffers the caller reuses', () => {
    const table = defaultCommandTable();
    const scratch = Buffer.alloc(3);
    for (const spelling of ['GET', 'get', 'GeT', 'SET', 'set', 'get']) {
      scratch.write(spelling, 'latin1');
      const resolved = table.resolve([scratch, bytes('k')].concat(spelling.toLowerCase() === 'set' ? [bytes('v')] : []));
      expect(resolved).not.toBeInstanceOf(ErrorReply);
      if (resolved instanceof ErrorReply) return;
      expect(resolved.fullName).toBe(spelling.toLowerCase());
    }
    // The buffer now says "get": a cached "SET" must not answer for it.
    scratch.write('del', 'latin1');
    const del = table.resolve([scratch, bytes('k')]);
    expect(del instanceof ErrorReply ? del.text : del.fullName).toBe('del');
  });

  test('every spelling of every command resolves as get() finds it, with slots taken over', () => {
    const table = defaultCommandTable();
    const names = [...table.commands].map((spec) => spec.name);
    const spellings: string[] = [];
    for (const name of names) spellings.push(name, name.toUpperCase(), name[0]!.toUpperCase() + name.slice(1), name.slice(0, -1) + name.slice(-1).toUpperCase());
    expect(new Set(spellings).size).toBeGreaterThan(512); // more than the cache's slots
    for (let round = 0; round < 2; round++) {
      for (const spelling of spellings) {
        const spec = table.get(spelling)!;
        const args = [bytes(spelling), ...Array.from({ length: Math.max(0, Math.abs(spec.arity) - 1) }, () => bytes('1'))];
        const resolved = table.resolve(args);
        if (resolved instanceof ErrorReply) {
          // Only a command that needs a subcommand may refuse these arguments.
          expect(spec.subcommands, spelling).toBeDefined();
          continue;
        }
        expect(resolved.command, spelling).toBe(spec);
      }
    }
  });

  test('a cached spelling keeps its own bytes: the buffer it came in may be overwritten with another name', () => {
    // Every pair of same-length names of different commands, the first resolved through a
    // buffer then overwritten with the second: pairs that share a slot catch a cache that
    // kept a view of the caller's buffer instead of a copy.
    const table = defaultCommandTable();
    const byLength = new Map<number, string[]>();
    for (const spec of table.commands) for (const name of [spec.name, spec.name.toUpperCase()]) byLength.set(name.length, [...(byLength.get(name.length) ?? []), name]);
    for (const group of byLength.values()) {
      for (const first of group) {
        for (const second of group) {
          if (first.toLowerCase() === second.toLowerCase()) continue;
          const fresh = defaultCommandTable();
          const scratch = bytes(first);
          fresh.resolve([scratch]);
          scratch.write(second, 'latin1');
          const resolved = fresh.resolve([bytes(second), bytes('1'), bytes('1'), bytes('1')]);
          const name = resolved instanceof ErrorReply ? resolved.text : resolved.command.name;
          if (!(resolved instanceof ErrorReply)) expect(name, `${first} then ${second}`).toBe(second.toLowerCase());
          else expect(name.toLowerCase(), `${first} then ${second}`).toContain(second.toLowerCase());
        }
      }
    }
  });

  test('unknown names, names longer than the cache takes, arity errors and subcommands', () => {
    const table = defaultCommandTable();
    const unknown = table.resolve([bytes('NOSUCH'), bytes('a')]);
    expect(unknown).toBeInstanceOf(ErrorReply);
    expect((unknown as ErrorReply).text).toBe("ERR unknown command 'NOSUCH', with args beginning with: 'a' ");
    expect(table.resolve([bytes('x'.repeat(100))])).toBeInstanceOf(ErrorReply);
    expect(table.resolve([bytes('')])).toBeInstanceOf(ErrorReply);
    const arity = table.resolve([bytes('GET')]);
    expect((arity as ErrorReply).text).toBe("ERR wrong number of arguments for 'get' command");
    const sub = table.resolve([bytes('CLIENT'), bytes('ID')]);
    expect(sub instanceof ErrorReply ? sub.text : sub.fullName).toBe('client|id');
    // Resolved commands without subcommands are shared, not made per call.
    expect(table.resolve([bytes('PING')])).toBe(table.resolve([bytes('ping')]));
  });
});
