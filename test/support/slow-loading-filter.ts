// crashing-filter.ts behind a module that takes 300 ms to load, so that a job
// using it is still pending in its worker for that long.
// Tests name the compiled file: dist/test/support/slow-loading-filter.js.

await new Promise((resolve) => setTimeout(resolve, 300));

export { createCompactionFilter } from './crashing-filter.js';
