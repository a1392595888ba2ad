// Reading archived WAL files for what they hold (wal-archive.ts,
// describeArchivedFile) as a job of the engine's compaction worker
// (compaction/executor.ts). An archived file never changes, so the engine
// reads each one once; but reading one means every record and its CRC, tens
// of milliseconds for a 64 MiB file: too long for the event loop.

import { UnsupportedVersionError, messageOf } from '../errors.js';
import type { FileSystem } from '../fs/file-system.js';
import { archiveFilePath } from './wal-format.js';
import { describeArchivedFile, type ArchivedWalFile } from './wal-archive.js';

export interface ArchiveReadJob {
  /** The data directory. */
  dir: string;
  fileNumbers: number[];
}

/** One entry per file number asked for, in order; null for a file removed meanwhile (pruned). */
export type ArchiveReadResult = (ArchivedWalFile | null)[];

/**
 * Describes each file. A file of an unknown format version is described as
 * damaged at its start (nothing in it replays, and it breaks the archive's
 * continuity), with the reason.
 * @throws IoError (or the file system's error) when a file cannot be read: the caller tries again later
 */
export function describeArchive(fs: FileSystem, job: ArchiveReadJob): ArchiveReadResult {
  return job.fileNumbers.map((fileNumber) => {
    try {
      return describeArchivedFile(fs, job.dir, fileNumber);
    } catch (error) {
      const path = archiveFilePath(job.dir, fileNumber);
      if ((error as { code?: string }).code === 'ENOENT' || !fs.exists(path)) return null;
      if (!(error instanceof UnsupportedVersionError)) throw error;
      const stat = fs.stat(path);
      return {
        fileNumber,
        path,
        bytes: stat.size,
        mtimeMs: stat.mtimeMs,
        batches: 0,
        firstSequence: undefined,
        lastSequence: undefined,
        firstTimeMs: undefined,
        lastTimeMs: undefined,
        damage: { offset: 0, bytes: stat.size, reason: messageOf(error) },
      };
    }
  });
}
