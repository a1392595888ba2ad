// File naming: one zero-padded pattern per kind, and parsing accepts only
// what formatting writes.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatFileNumber,
  lockStaleFileName,
  lockTempFileName,
  manifestFileName,
  manifestPath,
  parseFileName,
  segmentFileName,
  segmentPath,
  walFileName,
  walPath,
  archivedWalPath,
  currentPath,
  lockPath,
} from '../../../lib/format/file-names.js';
import { numRuns } from '../manifest/helpers.js';

describe('file names', () => {
  it('pads numbers to six digits and grows past them', () => {
    expect(formatFileNumber(12)).toBe('000012');
    expect(formatFileNumber(1_234_567)).toBe('1234567');
    expect(walFileName(12)).toBe('000012.log');
    expect(segmentFileName(43)).toBe('000043.sst');
    expect(manifestFileName(7)).toBe('MANIFEST-000007');
  });

  it('builds paths under the data directory', () => {
    expect(walPath('/data', 42)).toBe('/data/wal/000042.log');
    expect(segmentPath('/data', 43)).toBe('/data/seg/000043.sst');
    expect(archivedWalPath('/data', 42)).toBe('/data/archive/000042.log');
    expect(manifestPath('/data', 7)).toBe('/data/MANIFEST-000007');
    expect(currentPath('/data')).toBe('/data/CURRENT');
    expect(lockPath('/data')).toBe('/data/LOCK');
  });

  it('parses every kind', () => {
    expect(parseFileName('000012.log')).toEqual({ kind: 'wal', number: 12 });
    expect(parseFileName('000043.sst')).toEqual({ kind: 'segment', number: 43 });
    expect(parseFileName('MANIFEST-000007')).toEqual({ kind: 'manifest', number: 7 });
    expect(parseFileName('1234567.log')).toEqual({ kind: 'wal', number: 1_234_567 });
    expect(parseFileName('CURRENT')).toEqual({ kind: 'current' });
    expect(parseFileName('LOCK')).toEqual({ kind: 'lock' });
    expect(parseFileName('CURRENT.tmp')).toEqual({ kind: 'temp' });
    expect(parseFileName(lockTempFileName(99))).toEqual({ kind: 'temp' });
    expect(parseFileName(lockStaleFileName(99))).toEqual({ kind: 'temp' });
  });

  it('rejects names silt never writes', () => {
    for (const name of ['12.log', '0000012.log', '000012.LOG', 'MANIFEST-12', 'MANIFEST-', 'MANIFEST-00001x', '-00012.sst', '000012.sst.tmp', 'current', 'LOCK.x.tmp', '99999999999999999.log', '']) {
      expect(parseFileName(name), name).toBeUndefined();
    }
  });

  it('round-trips name -> number -> name', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (number) => {
        expect(parseFileName(walFileName(number))).toEqual({ kind: 'wal', number });
        expect(parseFileName(segmentFileName(number))).toEqual({ kind: 'segment', number });
        expect(parseFileName(manifestFileName(number))).toEqual({ kind: 'manifest', number });
      }),
      { numRuns },
    );
  });
});
