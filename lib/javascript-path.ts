// Worker threads and modules handed to them must be JavaScript. When silt runs
// from dist/ a module's sibling is already JavaScript; when it runs from the
// TypeScript sources (vitest), the same module is taken from dist/, which
// `npm test` builds first.

import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The JavaScript file for `relative` (e.g. './compaction-worker.js'), resolved
 * against `moduleUrl` (the caller's import.meta.url).
 * @throws Error when running from sources and dist/ has not been built
 */
export function javascriptUrl(moduleUrl: string, relative: string): URL {
  const target = new URL(relative, moduleUrl);
  const path = fileURLToPath(target);
  if (fileURLToPath(moduleUrl).endsWith('.js')) return target;
  const root = fileURLToPath(new URL('..', import.meta.url)); // the repository: this file is lib/javascript-path.ts
  const built = path.replace(root, `${root}dist/`);
  if (!existsSync(built)) throw new Error(`Cannot find "${built}": run \`npm run build\` first`);
  return pathToFileURL(built);
}
