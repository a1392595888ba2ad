// TurnBudget's slices on a clock the test moves: each resumed connection
// "runs" by advancing the clock, so what fits a budget is exact.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clockNow } from '../../../service/resp/clock.js';
import { TurnBudget } from '../../../service/resp/turn-budget.js';

let now = 1000;
const nextCheckPhase = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  now = 1000;
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  clockNow(); // clockRecent() starts from this clock
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Defers `names` in order; each, when resumed, records itself and takes `costMs` of the clock. */
function deferAll(turn: TurnBudget, names: readonly string[], ran: string[], costMs: number): void {
  for (const name of names) {
    turn.defer(() => {
      ran.push(name);
      now += costMs;
    });
  }
}

describe('TurnBudget', () => {
  it('resumes every deferred connection in one round, each at least one request, when no connection was accepted', async () => {
    const turn = new TurnBudget(4, 0.5);
    const ran: string[] = [];
    deferAll(turn, ['a', 'b', 'c', 'd', 'e', 'f'], ran, 1); // 6 ms in all, past the 4 ms budget
    await nextCheckPhase();
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(turn.waiting).toBe(0);
  });

  it('while connections are being accepted, a round resumes only what fits the short budget; the rest keep their place ahead of later deferrals', async () => {
    const turn = new TurnBudget(4, 0.5);
    const ran: string[] = [];
    turn.noteAccept();
    expect(turn.accepting).toBe(true);
    deferAll(turn, ['a', 'b', 'c', 'd'], ran, 0.3);
    await nextCheckPhase();
    // a (0.3 ms) and b (0.6 ms, started within the 0.5 ms budget) ran; c and d wait.
    expect(ran).toEqual(['a', 'b']);
    expect(turn.waiting).toBe(2);
    deferAll(turn, ['late'], ran, 0.3);
    turn.noteAccept();
    await nextCheckPhase();
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
    await nextCheckPhase();
    expect(ran).toEqual(['a', 'b', 'c', 'd', 'late']);
    expect(turn.waiting).toBe(0);
  });

  it('a connection deferred again during a shortened round waits behind those the round did not reach', async () => {
    const turn = new TurnBudget(4, 0.5);
    const ran: string[] = [];
    turn.noteAccept();
    // `a` still has requests after its slice: it defers again, as a Connection does.
    turn.defer(() => {
      ran.push('a');
      now += 0.6;
      turn.defer(() => ran.push('a again'));
    });
    deferAll(turn, ['b', 'c'], ran, 0.1);
    await nextCheckPhase();
    expect(ran).toEqual(['a']);
    turn.noteAccept();
    await nextCheckPhase();
    expect(ran).toEqual(['a', 'b', 'c', 'a again']);
  });

  it('a round resumes at least one connection, however short the budget (even none)', async () => {
    const turn = new TurnBudget(4, 0);
    const ran: string[] = [];
    turn.noteAccept();
    deferAll(turn, ['a', 'b'], ran, 2);
    await nextCheckPhase();
    expect(ran).toEqual(['a']);
    turn.noteAccept();
    await nextCheckPhase();
    expect(ran).toEqual(['a', 'b']);
  });

  it('returns to the full budget once a budget\'s time passes without an accept', async () => {
    const turn = new TurnBudget(4, 0.5);
    const ran: string[] = [];
    turn.noteAccept();
    now += 4;
    expect(turn.accepting).toBe(false);
    deferAll(turn, ['a', 'b', 'c', 'd'], ran, 0.3);
    await nextCheckPhase();
    expect(ran).toEqual(['a', 'b', 'c', 'd']);
  });

  it('in the poll phase, requests run on the short budget while accepting, on the full one otherwise', async () => {
    const turn = new TurnBudget(4, 0.5);
    const owner = {};
    const requestsWithin = (): number => {
      let count = 0;
      while (turn.hasTime(owner) && count < 100) {
        count++;
        now += 0.1;
        clockNow(); // each request's own reading, as the dispatcher takes
      }
      return count;
    };
    expect(requestsWithin()).toBe(40);
    await nextCheckPhase(); // the iteration ends
    turn.noteAccept();
    expect(requestsWithin()).toBe(5);
  });
});
