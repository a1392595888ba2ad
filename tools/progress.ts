// Progress reporting for long tool runs (verify, recover, restore), on stderr
// so stdout stays the report:
//
// - on a terminal: one line redrawn in place, at most every `redrawMs`,
//   `label [#######.............]  35%  12.3 MiB/s  ETA 0:42`, erased when done;
// - not a terminal (a log file, a pipe): a plain line every `lineIntervalMs`
//   (the first after one interval), `label: 35% (1.2 GiB of 3.4 GiB), 12.3 MiB/s,
//   ETA 0:42`, and a last line when done if any line was written;
// - disabled (--json, or a quiet caller): nothing at all.
//
// Nothing is drawn for runs shorter than `startDelayMs`, so small directories
// and tests produce no noise. The clock is injectable for tests.
//
// Messages written while a bar is drawn (a part skipped, say) go through
// writeLine(), which erases the bar, writes the line and draws the bar again
// below it: written straight to the stream they would continue the bar's line.
//
// A run may have phases (verify: `checking files` in bytes, then `checking
// keyspace` in entries), each with its own label, total and unit: phase()
// starts the next one, redrawn at once under its label, so no phase's work
// runs under the bar of the one before.
//
// The advance that completes the total is drawn at once, whatever the redraw
// period (once something was drawn): the work after it (a final sync, the
// next phase) would otherwise show the frame before it, 99%, until finish().
// So callers give a total that their advances reach exactly: the units they
// will read, and an advance for each unit they skip. A total that is only an
// estimate (an upper bound) is closed with complete() when the work is done,
// which draws 100% at once.

import type { OutputStream } from './tool-io.js';
import { formatBytes } from './render.js';

/**
 * What units a bar counts: bytes are printed as sizes, the others as counts ("120 entries"):
 * records (WAL records: restore), entries (engine entries: verify's keyspace), keys (Redis keys: dump).
 */
export type ProgressUnit = 'bytes' | 'records' | 'entries' | 'keys';

/** One phase of a run: what is being done, and how much of it there is. */
export interface ProgressPhase {
  /** What is being done ("verify DIR: checking files", "recover DIR"). */
  label: string;
  /** Units of work in total; undefined when unknown (no percentage or ETA). */
  total: number | undefined;
  /** How to print amounts and rates. */
  unit: ProgressUnit;
}

export interface ProgressOptions extends ProgressPhase {
  /** Where to draw; undefined draws nothing (as does enabled: false). */
  stream: OutputStream | undefined;
  /** False prints nothing (--json). */
  enabled: boolean;
  /** Terminal redraw period, ms (default 100). */
  redrawMs?: number;
  /** Period of plain lines when not a terminal, ms (default 5000). */
  lineIntervalMs?: number;
  /** Nothing is drawn before this much time has passed, ms (default 250). */
  startDelayMs?: number;
  /** Clock, ms (default performance.now). */
  now?: () => number;
}

/** Width of the bar between the brackets, characters. */
const barWidth = 24;

export class Progress {
  readonly #options: ProgressOptions;
  readonly #tty: boolean;
  readonly #now: () => number;
  readonly #startedMs: number;
  /** The phase being drawn. */
  #phase: ProgressPhase;
  #phaseStartedMs: number;
  #done = 0;
  #lastDrawMs = Number.NEGATIVE_INFINITY;
  #drewLine = false;
  /** Plain lines written in the whole run, and in this phase. */
  #linesWritten = 0;
  #phaseLines = 0;
  #finished = false;

  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#phase = { label: options.label, total: options.total, unit: options.unit };
    this.#tty = options.stream?.isTTY === true;
    this.#now = options.now ?? (() => performance.now());
    this.#startedMs = this.#now();
    this.#phaseStartedMs = this.#startedMs;
    // Plain lines go to logs: the first one after a whole interval, so short runs leave none.
    if (!this.#tty) this.#lastDrawMs = this.#startedMs;
  }

  /** Units done so far in this phase. */
  get done(): number {
    return this.#done;
  }

  /** Adds `units` of work done and redraws when due, and at once when the total is reached. */
  advance(units: number): void {
    const total = this.#phase.total;
    const wasBelowTotal = total !== undefined && this.#done < total;
    this.#done += units;
    this.#maybeDraw(wasBelowTotal && this.#done >= total!);
  }

  /**
   * The work is done, whatever was counted: a total that was an estimate (an upper bound) or
   * work skipped without its advance shows as 100%, drawn at once (once something was drawn).
   */
  complete(): void {
    const total = this.#phase.total;
    if (total === undefined || this.#done >= total) return;
    this.#done = total;
    this.#maybeDraw(true);
  }

  /**
   * Ends this phase and starts the next, from 0 under its own label, total and unit. A terminal
   * shows the new label at once; plain lines close the phase with a done line if any was written.
   */
  phase(next: ProgressPhase): void {
    if (this.#finished) return;
    this.#writeDoneLine();
    this.#phase = { ...next };
    this.#done = 0;
    this.#phaseLines = 0;
    this.#phaseStartedMs = this.#now();
    if (!this.#enabled) return;
    if (this.#tty) {
      if (this.#drewLine) this.#draw(this.#phaseStartedMs);
    } else {
      this.#lastDrawMs = this.#phaseStartedMs;
    }
  }

  /**
   * Writes a line (a newline is added) to `stream` without cutting into the bar: when the bar is
   * drawn on that stream (a terminal), it is erased first and drawn again below the line.
   */
  writeLine(stream: OutputStream, line: string): void {
    const overBar = stream === this.#options.stream && this.#enabled && this.#tty && this.#drewLine && !this.#finished;
    if (overBar) this.#write('\r\x1b[K');
    stream.write(`${line}\n`);
    if (overBar) this.#draw(this.#now());
  }

  /** Ends the report: erases the terminal line, or writes a last plain line if any was written in this phase. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (!this.#enabled) return;
    if (this.#tty) {
      if (this.#drewLine) this.#write('\r\x1b[K');
      return;
    }
    this.#writeDoneLine();
  }

  /** Plain lines: `label: done, ...` for the phase, when lines were written in it. */
  #writeDoneLine(): void {
    if (!this.#enabled || this.#tty || this.#phaseLines === 0) return;
    this.#write(`${this.#phase.label}: done, ${this.#amount(this.#done)} in ${formatClock(this.#elapsedMs())}\n`);
  }

  /** @param completed this advance reached the total: draw it now if anything was drawn before */
  #maybeDraw(completed: boolean): void {
    if (!this.#enabled || this.#finished) return;
    const now = this.#now();
    if (now - this.#startedMs < (this.#options.startDelayMs ?? 250)) return;
    const period = this.#tty ? (this.#options.redrawMs ?? 100) : (this.#options.lineIntervalMs ?? 5000);
    const shown = this.#drewLine || this.#linesWritten > 0;
    if (now - this.#lastDrawMs < period && !(completed && shown)) return;
    this.#draw(now);
  }

  #draw(now: number): void {
    this.#lastDrawMs = now;
    if (this.#tty) {
      this.#write(`\r\x1b[K${this.#terminalLine()}`);
      this.#drewLine = true;
    } else {
      this.#write(`${this.#plainLine()}\n`);
      this.#linesWritten++;
      this.#phaseLines++;
    }
  }

  get #enabled(): boolean {
    return this.#options.enabled && this.#options.stream !== undefined;
  }

  #write(text: string): void {
    this.#options.stream?.write(text);
  }

  #terminalLine(): string {
    const { label, total } = this.#phase;
    const parts = [label];
    if (total !== undefined && total > 0) {
      const fraction = Math.min(this.#done / total, 1);
      const filled = Math.round(fraction * barWidth);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]`, `${String(Math.floor(fraction * 100)).padStart(3)}%`);
    } else {
      parts.push(this.#amount(this.#done));
    }
    parts.push(this.#rate());
    const eta = this.#etaMs();
    if (eta !== undefined) parts.push(`ETA ${formatClock(eta)}`);
    return parts.join('  ');
  }

  #plainLine(): string {
    const { label, total } = this.#phase;
    const parts: string[] = [];
    if (total !== undefined && total > 0) {
      parts.push(`${Math.floor(Math.min(this.#done / total, 1) * 100)}% (${this.#amount(this.#done)} of ${this.#amount(total)})`);
    } else {
      parts.push(this.#amount(this.#done));
    }
    parts.push(this.#rate());
    const eta = this.#etaMs();
    if (eta !== undefined) parts.push(`ETA ${formatClock(eta)}`);
    return `${label}: ${parts.join(', ')}`;
  }

  #rate(): string {
    const seconds = this.#elapsedMs() / 1000;
    const perSecond = seconds > 0 ? this.#done / seconds : 0;
    return this.#phase.unit === 'bytes' ? `${formatBytes(Math.round(perSecond))}/s` : `${Math.round(perSecond)} ${this.#phase.unit}/s`;
  }

  #etaMs(): number | undefined {
    const total = this.#phase.total;
    if (total === undefined || this.#done <= 0 || this.#done >= total) return undefined;
    return (this.#elapsedMs() * (total - this.#done)) / this.#done;
  }

  #amount(units: number): string {
    return this.#phase.unit === 'bytes' ? formatBytes(units) : `${units} ${this.#phase.unit}`;
  }

  /** Time spent in this phase (rates and ETAs are the phase's). */
  #elapsedMs(): number {
    return this.#now() - this.#phaseStartedMs;
  }
}

/** 42_000 -> "0:42", 3_723_000 -> "1:02:03". */
export function formatClock(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}
