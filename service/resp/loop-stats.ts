// How busy the event loop is and how long it stalls, for INFO stats: every
// client shares this one thread, so a stall delays them all ("the event loop
// is sacred", docs/commands.md, "INFO stats").
//
// - eventloop_duration_sum: microseconds the loop spent working (not waiting
//   for I/O) since the start or CONFIG RESETSTAT, as Redis 7.2 names it. From
//   Node's performance.eventLoopUtilization() (libuv's idle-time metric).
// - instantaneous_eventloop_utilization: the working share of the last
//   utilizationSamples cron ticks (about 1.6 s), 0 to 1.
// - eventloop_delay_p99_usec, eventloop_delay_max_usec: how late a timer due
//   every delayResolutionMs fired (perf_hooks.monitorEventLoopDelay, whose
//   histogram holds the whole intervals between its runs), since the start
//   or RESETSTAT: a command or a collection that holds the thread for 50 ms
//   shows as a delay of up to 50 ms. An idle server's timers fire about 1 ms
//   late (libuv's poll timeout is in whole milliseconds).
//
// Redis's eventloop_cycles and its per-cycle averages have no counterpart:
// Node 20 does not expose libuv's loop count.

import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

/** How often the delay monitor's timer is due, ms (Node's default; 1 ms would wake an idle server 1000 times a second). */
export const delayResolutionMs = 10;

/** Cron ticks the instantaneous utilization spans (as instantaneous_ops_per_sec's 16 samples). */
const utilizationSamples = 16;

export interface EventLoopSnapshot {
  durationSumUsec: number;
  instantaneousUtilization: number;
  delayP99Usec: number;
  delayMaxUsec: number;
}

export class EventLoopStats {
  readonly #delays: IntervalHistogram = monitorEventLoopDelay({ resolution: delayResolutionMs });
  /** Utilization at the start or the last reset: eventloop_duration_sum counts from here. */
  #base: EventLoopUtilization = performance.eventLoopUtilization();
  /** Utilization at the last ticks, oldest first (at most utilizationSamples + 1). */
  #ticks: EventLoopUtilization[] = [];

  /** Starts the delay monitor (its timer does not keep the process alive). */
  start(): void {
    this.#delays.enable();
  }

  stop(): void {
    this.#delays.disable();
  }

  /** A cron tick: a point for the instantaneous utilization. */
  tick(): void {
    this.#ticks.push(performance.eventLoopUtilization());
    if (this.#ticks.length > utilizationSamples + 1) this.#ticks.shift();
  }

  /** CONFIG RESETSTAT: the duration sum and the delays start again (the instantaneous share is a rate, kept). */
  reset(): void {
    this.#base = performance.eventLoopUtilization();
    this.#delays.reset();
  }

  snapshot(): EventLoopSnapshot {
    const now = performance.eventLoopUtilization();
    const oldest = this.#ticks[0];
    const delays = this.#delays;
    // The histogram holds the intervals between the timer's runs, in nanoseconds: the lateness is what
    // exceeds the resolution. Without samples it answers its lowest bucket for a percentile.
    const sampled = delays.count > 0;
    const lateUsec = (intervalNs: number): number => (sampled ? Math.max(0, Math.round(intervalNs / 1000) - delayResolutionMs * 1000) : 0);
    return {
      durationSumUsec: Math.round((now.active - this.#base.active) * 1000),
      instantaneousUtilization: oldest === undefined ? 0 : performance.eventLoopUtilization(now, oldest).utilization,
      delayP99Usec: lateUsec(delays.percentile(99)),
      delayMaxUsec: lateUsec(delays.max),
    };
  }
}
