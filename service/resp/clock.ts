// One monotonic clock reading shared along the request path. Each request
// read the clock three times (the turn budget's check before it, and the
// start and end of the command for INFO commandstats and SLOWLOG); a read
// is a call into the runtime, 4 % of a pipelined GET's server CPU for the
// three. The command's two reads stay exact; the turn budget's check
// between requests takes the latest reading instead, which the command
// before it just took, and reads the clock itself at least once every
// clockReuseMax checks (requests that run no command, such as those queued
// in MULTI, take no reading).

/** Checks that may reuse the last reading before one reads the clock again. */
export const clockReuseMax = 16;

let lastReading = 0;
let reuses = 0;

/** performance.now(), remembered for clockRecent(). */
export function clockNow(): number {
  reuses = 0;
  return (lastReading = performance.now());
}

/** The latest clockNow() reading, or a fresh one when the last clockReuseMax calls reused it. */
export function clockRecent(): number {
  if (++reuses > clockReuseMax) return clockNow();
  return lastReading;
}
