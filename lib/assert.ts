// Assertions for programming errors. A failed assertion is a bug in silt, not
// bad input: it throws AssertionError and is never caught to carry on.
// Client and disk bytes get typed errors from lib/errors.ts instead.

/** Thrown when an invariant does not hold. Never handled; it means a bug. */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/**
 * Throws when `condition` is false. One condition per call, so the message
 * names exactly what failed.
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Marks code that the type checker proves unreachable. */
export function unreachable(value: never): never {
  throw new AssertionError(`Unreachable: ${JSON.stringify(value)}`);
}
