// tools/progress.ts: a redrawn bar with rate and ETA on a terminal, plain
// periodic lines otherwise, nothing when disabled (--json) or for short runs.
// A fake clock drives it.

import { describe, expect, test } from 'vitest';
import { formatClock, Progress } from '../../../tools/progress.js';
import { CapturedStream } from './tool-test-helpers.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let ms = 0;
  return { now: () => ms, advance: (step) => (ms += step) };
}

describe('Progress', () => {
  test('on a terminal: one line redrawn in place with bar, percentage, rate and ETA, erased at the end', () => {
    const stream = new CapturedStream(true);
    const time = clock();
    const progress = new Progress({ stream, label: 'verify', total: 4 * 1024 * 1024, unit: 'bytes', enabled: true, now: time.now });
    time.advance(1000);
    progress.advance(1024 * 1024);
    expect(stream.text).toBe('\r\x1b[Kverify  [######..................]   25%  1.0 MiB/s  ETA 0:03');
    time.advance(50);
    progress.advance(1024);
    expect(stream.text.split('\r').length).toBe(2); // within the redraw period: not drawn again
    time.advance(1000);
    progress.advance(1024 * 1024);
    const line = stream.text.slice(stream.text.lastIndexOf('\r'));
    expect(line.startsWith('\r\x1b[K')).toBe(true);
    expect(line.slice(4)).toMatch(/^verify {2}\[#{12}\.{12}\] {3}50% {2}\d+ KiB\/s {2}ETA 0:02$/);
    progress.finish();
    expect(stream.text.endsWith('\r\x1b[K')).toBe(true);
  });

  test('not a terminal: a plain line per interval, and a last line when any was written', () => {
    const stream = new CapturedStream(false);
    const time = clock();
    const progress = new Progress({ stream, label: 'restore', total: 1000, unit: 'records', enabled: true, now: time.now, lineIntervalMs: 5000 });
    time.advance(5000);
    progress.advance(250);
    time.advance(1000);
    progress.advance(250);
    time.advance(4000);
    progress.advance(250);
    progress.finish();
    expect(stream.text.split('\n')).toEqual([
      'restore: 25% (250 records of 1000 records), 50 records/s, ETA 0:15',
      'restore: 75% (750 records of 1000 records), 75 records/s, ETA 0:03',
      'restore: done, 750 records in 0:10',
      '',
    ]);
  });

  test('disabled, or finished before the start delay: writes nothing', () => {
    const quiet = new CapturedStream(true);
    const time = clock();
    const disabled = new Progress({ stream: quiet, label: 'x', total: 10, unit: 'records', enabled: false, now: time.now });
    time.advance(10_000);
    disabled.advance(5);
    disabled.finish();
    const short = new Progress({ stream: quiet, label: 'x', total: 10, unit: 'records', enabled: true, now: time.now });
    time.advance(100);
    short.advance(10);
    short.finish();
    expect(quiet.text).toBe('');
  });

  test('formatClock', () => {
    expect(formatClock(42_000)).toBe('0:42');
    expect(formatClock(3_723_000)).toBe('1:02:03');
  });
});
