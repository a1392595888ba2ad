// service/open-failure.ts: the next step an operator is given when the server cannot open its data directory.

import { describe, expect, it } from 'vitest';
import { CorruptionError, IoError, LockedError, UnsupportedVersionError } from '../../../lib/errors.js';
import { systemError } from '../../../lib/fs/mem-file-system.js';
import { openFailureAdvice } from '../../../service/open-failure.js';

const dir = '/var/lib/silt';
const ioError = (code: string): IoError => new IoError(`Cannot write lock file "${dir}/LOCK.1.tmp": ${code}`, { cause: systemError(code, 'write', `${dir}/LOCK.1.tmp`) });

describe('openFailureAdvice', () => {
  it('sends damage to verify and recover, and a newer format to a newer build', () => {
    expect(openFailureAdvice(new CorruptionError(`${dir}/wal/000015.log`, 91, 'checksum mismatch'), dir)).toContain(`"silt verify ${dir}"`);
    expect(openFailureAdvice(new UnsupportedVersionError(`${dir}/seg/000007.sst`, 'format version 9'), dir)).toContain('A newer silt wrote this data directory');
  });

  it('names the system condition behind an I/O error: a full disk or quota, a read-only file system, permissions', () => {
    expect(openFailureAdvice(ioError('ENOSPC'), dir)).toMatch(/^The disk holding \/var\/lib\/silt is full\. To start, the server writes a few small files/);
    expect(openFailureAdvice(ioError('EDQUOT'), dir)).toContain('is full (its quota is reached)');
    expect(openFailureAdvice(ioError('EROFS'), dir)).toContain('mounted read-only');
    expect(openFailureAdvice(ioError('EACCES'), dir)).toContain('may not write in /var/lib/silt');
    expect(openFailureAdvice(ioError('EIO'), dir)).toBeUndefined();
  });

  it('adds nothing where the error says it all (a live LOCK names its owner)', () => {
    expect(openFailureAdvice(new LockedError('held by pid 12'), dir)).toBeUndefined();
    expect(openFailureAdvice(new Error('a bug'), dir)).toBeUndefined();
  });
});
