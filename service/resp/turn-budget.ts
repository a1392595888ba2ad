// How much request processing one event-loop iteration does (Redis serves
// every ready client a bounded read per iteration; Node hands each socket all
// it has read). The first request of an iteration starts its clock; once
// turnBudgetMs have passed, connections with requests left defer them
// (Connection stops reading meanwhile) and are resumed in order from
// setImmediate callbacks: those deferred while the poll phase ran resume in
// this iteration's check phase, those deferred again in the next
// iteration's, after the loop polled again (a new connection accepted, other
// clients' requests read).
//
// Invariant: a deferred connection is in the queue once. Resumed connections
// share one budget round-robin, each at least one request, so every one
// makes progress and a deep pipeline cannot hold the others.
//
// Fair shares in the poll phase too: while connections wait in the queue, a
// connection whose requests the poll phase reads gets the share of the
// budget each of them gets (budget / (waiting + 1), at least one request),
// then joins the queue behind them. Without it a newcomer took the whole
// remaining budget while the deferred ones went on one request an
// iteration: under 50 clients' pipelined LRANGEs the pipelines that had
// been deferred were overtaken again and again, and finished in twice the
// time of the others (docs/bench.md, "Fair shares for pipelines").
//
// New connections: libuv (1.45 on, libuv#3696) accepts one connection per
// poll, so a burst of them is taken one an iteration, and an iteration under
// load lasts two budgets (the poll phase's and the resumed connections').
// 50 clients connecting at once to a server busy with 30 clients' pipelined
// LRANGEs waited 210 ms for a PING's reply (p50; the last 410 ms), against
// Redis's 6 ms (it accepts up to 1000 a call). So while connections keep
// coming (one accepted within the last budget's time), both phases run on
// acceptBurstBudgetMs instead, and the resumed connections that do not fit it
// keep their place at the head of the queue for the next iteration (each
// resumed one still runs at least one request): iterations stay short and
// the queue of connections drains in a fraction of the time.

import { acceptBurstBudgetMs, turnBudgetMs } from '../../lib/limits.js';
import { clockNow, clockRecent } from './clock.js';

export class TurnBudget {
  readonly #budgetMs: number;
  /** A phase's budget while connections are being accepted (see the header). */
  readonly #burstBudgetMs: number;
  /** When the last connection was accepted (clockNow()). */
  #lastAcceptMs = Number.NEGATIVE_INFINITY;
  /** When this iteration's poll-phase processing started (clockNow()), or undefined before its first request. */
  #start: number | undefined;
  #waiting: (() => void)[] = [];
  #resumeScheduled = false;
  /** While #resumeWaiting() runs: the connection being resumed, its quantum, and whether its first request is still owed. */
  #resuming = false;
  #quantumStart = 0;
  #quantumMs = 0;
  #grant = false;
  /** In the poll phase: the connection whose requests run now, and when its share began. */
  #owner: object | undefined;
  #ownerStart = 0;
  /** Connections deferred so far (tests). */
  deferrals = 0;

  constructor(budgetMs = turnBudgetMs, burstBudgetMs = acceptBurstBudgetMs) {
    this.#budgetMs = budgetMs;
    this.#burstBudgetMs = Math.min(burstBudgetMs, budgetMs);
  }

  /** A connection was accepted: iterations stay short while more come (see the header). */
  noteAccept(): void {
    this.#lastAcceptMs = clockNow();
  }

  /** Whether connections are being accepted: one was within the last budget's time (tests). */
  get accepting(): boolean {
    return clockNow() - this.#lastAcceptMs < this.#budgetMs;
  }

  /** A phase's budget at `now`. */
  #phaseBudget(now: number): number {
    return now - this.#lastAcceptMs < this.#budgetMs ? this.#burstBudgetMs : this.#budgetMs;
  }

  /**
   * True while `owner` (the connection asking) may run another request. In
   * the poll phase the first call of an iteration starts its clock, and
   * while others wait in the queue each connection runs one request, then
   * while its fair share lasts; a resumed connection runs its first request
   * in any case, then while its quantum lasts.
   */
  hasTime(owner: object): boolean {
    // Within a slice the reading the last command took will do (clock.ts); a slice starts on a fresh one.
    if (this.#resuming) {
      if (this.#grant) {
        this.#grant = false;
        return true;
      }
      return clockRecent() - this.#quantumStart < this.#quantumMs;
    }
    if (this.#start === undefined) {
      this.#start = this.#ownerStart = clockNow();
      this.#owner = owner;
      setImmediate(this.#endTurn);
      return true;
    }
    const now = clockRecent();
    const budget = this.#phaseBudget(now);
    if (now - this.#start >= budget) return false;
    if (owner !== this.#owner) {
      this.#owner = owner;
      this.#ownerStart = now;
      return true;
    }
    const waiting = this.#waiting.length;
    return waiting === 0 || now - this.#ownerStart < budget / (waiting + 1);
  }

  /** Queues `resume` to run in a later slice, after every connection deferred before it. */
  defer(resume: () => void): void {
    this.deferrals++;
    this.#waiting.push(resume);
    if (!this.#resumeScheduled) {
      this.#resumeScheduled = true;
      setImmediate(this.#resumeWaiting);
    }
  }

  /** Deferred connections waiting (tests). */
  get waiting(): number {
    return this.#waiting.length;
  }

  readonly #endTurn = (): void => {
    this.#start = undefined;
    this.#owner = undefined;
  };

  /**
   * Resumes the connections deferred so far, round-robin: each gets an equal
   * share of one budget and at least one request; those deferred again wait
   * for the next call, in the next iteration.
   */
  readonly #resumeWaiting = (): void => {
    this.#resumeScheduled = false;
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#resuming = true;
    const start = clockNow();
    const budget = this.#phaseBudget(start);
    // Accepting: only those that fit the short budget run now, the first in any case.
    const shortened = budget < this.#budgetMs;
    this.#quantumMs = budget / waiting.length;
    let resumed = 0;
    try {
      while (resumed < waiting.length) {
        this.#grant = true;
        this.#quantumStart = clockNow();
        if (shortened && resumed > 0 && this.#quantumStart - start >= budget) break;
        waiting[resumed++]!();
      }
    } finally {
      this.#resuming = false;
      this.#grant = false;
      if (resumed < waiting.length) this.#requeue(waiting.slice(resumed));
    }
  };

  /** Puts connections not reached back at the head of the queue, ahead of those deferred meanwhile. */
  #requeue(left: (() => void)[]): void {
    this.#waiting = left.concat(this.#waiting);
    if (!this.#resumeScheduled) {
      this.#resumeScheduled = true;
      setImmediate(this.#resumeWaiting);
    }
  }
}
