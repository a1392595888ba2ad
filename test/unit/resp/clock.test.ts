import { afterEach, describe, expect, it, vi } from 'vitest';
import { clockNow, clockRecent, clockReuseMax } from '../../../service/resp/clock.js';
import { TurnBudget } from '../../../service/resp/turn-budget.js';

// The request path's shared clock reading (clock.ts) and the turn budget
// that reuses it: exact where a command is timed, at most clockReuseMax
// checks stale where requests run no command.

let fakeNow = 0;
/** The connection asking the turn budget (any object: the budget compares identities). */
const connection = {};
function fakeClock(): void {
  vi.spyOn(performance, 'now').mockImplementation(() => fakeNow);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('clock', () => {
  it('reuses the last reading for clockReuseMax calls, then reads again', () => {
    fakeClock();
    fakeNow = 100;
    expect(clockNow()).toBe(100);
    fakeNow = 200;
    for (let call = 0; call < clockReuseMax; call++) expect(clockRecent()).toBe(100);
    expect(clockRecent()).toBe(200);
    // A reading taken meanwhile starts the count again.
    fakeNow = 300;
    expect(clockNow()).toBe(300);
    fakeNow = 400;
    expect(clockRecent()).toBe(300);
  });

  it('lets the turn budget end a turn on the reading a command took', () => {
    fakeClock();
    fakeNow = 1000;
    const budget = new TurnBudget(4);
    expect(budget.hasTime(connection)).toBe(true); // the turn starts on a fresh reading
    fakeNow = 1003;
    clockNow(); // a command ran and was timed
    expect(budget.hasTime(connection)).toBe(true);
    fakeNow = 1005;
    clockNow();
    expect(budget.hasTime(connection)).toBe(false);
  });

  it('ends a turn of requests that take no reading within clockReuseMax checks', () => {
    fakeClock();
    fakeNow = 5000;
    clockNow();
    const budget = new TurnBudget(4);
    expect(budget.hasTime(connection)).toBe(true);
    fakeNow = 5010; // past the budget, but no command read the clock (MULTI queueing, say)
    let checks = 0;
    while (budget.hasTime(connection)) {
      checks++;
      expect(checks).toBeLessThanOrEqual(clockReuseMax);
    }
    expect(checks).toBe(clockReuseMax);
  });
});

describe('turn budget: fair shares', () => {
  it('while connections wait, a connection read in the poll phase runs its share of the budget, then gives way', async () => {
    fakeClock();
    fakeNow = 10_000;
    const budget = new TurnBudget(4);
    const first = {};
    const newcomer = {};
    const another = {};
    expect(budget.hasTime(first)).toBe(true);
    fakeNow = 10_004;
    clockNow();
    expect(budget.hasTime(first)).toBe(false); // the iteration's budget ran out: first's requests left wait
    const resumed: string[] = [];
    budget.defer(() => resumed.push('first'));
    // The next iteration: one connection waits, so a newcomer's share is 4 / 2 ms, not the whole budget.
    await new Promise((resolve) => setImmediate(resolve));
    expect(resumed).toEqual(['first']);
    budget.defer(() => resumed.push('first again'));
    fakeNow = 20_000;
    clockNow();
    expect(budget.hasTime(newcomer)).toBe(true);
    fakeNow = 20_001.5;
    clockNow();
    expect(budget.hasTime(newcomer)).toBe(true);
    fakeNow = 20_002.5;
    clockNow();
    expect(budget.hasTime(newcomer)).toBe(false); // the old code let it run on until 20,004
    // Another connection still runs a request (the budget has time left), then its own share.
    expect(budget.hasTime(another)).toBe(true);
    fakeNow = 20_003.5;
    clockNow();
    expect(budget.hasTime(another)).toBe(true); // 1 ms into a share of 2
    fakeNow = 20_004;
    clockNow();
    expect(budget.hasTime(another)).toBe(false); // the iteration's budget is spent
    budget.defer(() => resumed.push('newcomer'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(resumed).toEqual(['first', 'first again', 'newcomer']); // in the order they gave way
  });

  it('with nobody waiting, one connection may run the whole budget', () => {
    fakeClock();
    fakeNow = 30_000;
    const budget = new TurnBudget(4);
    expect(budget.hasTime(connection)).toBe(true);
    fakeNow = 30_003.5;
    clockNow();
    expect(budget.hasTime(connection)).toBe(true);
    fakeNow = 30_004;
    clockNow();
    expect(budget.hasTime(connection)).toBe(false);
  });
});
