// Opens an engine by kind, so callers (service, tools, SiltLevel) choose
// LsmEngine or LevelEngine from configuration. LsmEngine is imported
// dynamically: a process that only uses LevelEngine never loads it (nor its
// worker threads), and this module does not depend on it at compile time.

import { InvalidArgumentError } from '../errors.js';
import type { Engine, EngineOptions } from './engine.js';

/** The engines silt can open. */
export type EngineKind = 'lsm' | 'level';

/** The shape of lsm-engine.js that openEngine relies on. */
interface LsmEngineModule {
  LsmEngine: { open(dir: string, options: EngineOptions): Promise<Engine> };
}

/**
 * Opens the engine of `kind` on `dir`.
 * @param kind 'lsm' for silt's own engine (the default elsewhere), 'level' for classic-level
 * @param dir data directory
 * @param options engine options (see EngineOptions; LevelEngine ignores the LSM tuning ones)
 * @returns the open engine
 * @throws InvalidArgumentError for an unknown kind; otherwise whatever the engine's open throws
 *
 * @example
 *   const engine = await openEngine('level', './data', { syncPolicy: 'always' });
 *   await engine.close();
 */
export async function openEngine(kind: EngineKind, dir: string, options: EngineOptions = {}): Promise<Engine> {
  switch (kind) {
    case 'lsm': {
      // A variable specifier keeps tsc from resolving the module at compile time.
      const specifier = './lsm-engine.js';
      const module = (await import(specifier)) as LsmEngineModule;
      return module.LsmEngine.open(dir, options);
    }
    case 'level': {
      const { LevelEngine } = await import('./level-engine.js');
      return LevelEngine.open(dir, options);
    }
    default:
      throw new InvalidArgumentError(`Cannot open engine of kind "${String(kind)}": use "lsm" or "level"`);
  }
}
