// crashing-filter.ts behind a module that takes 300 ms to load, so that a job
// using it is still pending in its worker for that long. In a worker where a
// crashing filter was created with `crashOnNextLoad`, loading this module
// first ends the worker (an uncaught exception from a timer) while the job
// waits: whatever the machine's load, the crash falls inside that wait.
// Tests name the compiled file: dist/test/support/slow-loading-filter.js.

import { crashArmed } from './crashing-filter.js';

if (crashArmed()) {
  setTimeout(() => {
    throw new Error('worker crash (test)');
  }, 0);
}
await new Promise((resolve) => setTimeout(resolve, 300));

export { createCompactionFilter } from './crashing-filter.js';
