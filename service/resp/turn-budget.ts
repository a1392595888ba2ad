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

import { turnBudgetMs } from '../../lib/limits.js';
import { clockNow, clockRecent } from './clock.js';

export class TurnBudget {
  readonly #budgetMs: number;
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

  constructor(budgetMs = turnBudgetMs) {
    this.#budgetMs = budgetMs;
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
    if (now - this.#start >= this.#budgetMs) return false;
    if (owner !== this.#owner) {
      this.#owner = owner;
      this.#ownerStart = now;
      return true;
    }
    const waiting = this.#waiting.length;
    return waiting === 0 || now - this.#ownerStart < this.#budgetMs / (waiting + 1);
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
    this.#quantumMs = this.#budgetMs / waiting.length;
    try {
      for (const resume of waiting) {
        this.#grant = true;
        this.#quantumStart = clockNow();
        resume();
      }
    } finally {
      this.#resuming = false;
      this.#grant = false;
    }
  };
}
