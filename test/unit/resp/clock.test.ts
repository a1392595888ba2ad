import { afterEach, describe, expect, it, vi } from 'vitest';
import { clockNow, clockRecent, clockReuseMax } from '../../../service/resp/clock.js';
import { TurnBudget } from '../../../service/resp/turn-budget.js';

// The request path's shared clock reading (clock.ts) and the turn budget
// that reuses it: exact where a command is timed, at most clockReuseMax
// checks stale where requests run no command.

let fakeNow = 0;
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
    expect(budget.hasTime()).toBe(true); // the turn starts on a fresh reading
    fakeNow = 1003;
    clockNow(); // a command ran and was timed
    expect(budget.hasTime()).toBe(true);
    fakeNow = 1005;
    clockNow();
    expect(budget.hasTime()).toBe(false);
  });

  it('ends a turn of requests that take no reading within clockReuseMax checks', () => {
    fakeClock();
    fakeNow = 5000;
    clockNow();
    const budget = new TurnBudget(4);
    expect(budget.hasTime()).toBe(true);
    fakeNow = 5010; // past the budget, but no command read the clock (MULTI queueing, say)
    let checks = 0;
    while (budget.hasTime()) {
      checks++;
      expect(checks).toBeLessThanOrEqual(clockReuseMax);
    }
    expect(checks).toBe(clockReuseMax);
  });
});
