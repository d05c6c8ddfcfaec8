import { describeError } from '../errors.js';

/**
 * Some objects of a namespace could not be restored. The others were; they are
 * in `restored`, and calling again retries only what is left (restoring is
 * idempotent). An AggregateError of the failures, so that isRetryable judges
 * each of them.
 */
export class RestoreError<T> extends AggregateError {
  override readonly name = 'RestoreError';
  constructor(
    readonly namespace: string,
    readonly restored: readonly T[],
    readonly failures: readonly { readonly object: string; readonly error: unknown }[],
  ) {
    super(
      failures.map((f) => f.error),
      `restoring ${namespace}: ${failures.map((f) => `${f.object}: ${describeError(f.error)}`).join('; ')}`,
      { cause: failures[0]?.error },
    );
  }
}

/** Runs `restore` on every item at once; collects what succeeded and throws RestoreError if anything failed. */
export async function restoreEach<I, T>(
  namespace: string,
  items: readonly I[],
  describe: (item: I) => string,
  restore: (item: I) => Promise<T | undefined>,
): Promise<T[]> {
  const results = await Promise.allSettled(items.map(restore));
  const restored: T[] = [];
  const failures: { object: string; error: unknown }[] = [];
  results.forEach((result, i) => {
    if (result.status === 'rejected') failures.push({ object: describe(items[i]!), error: result.reason });
    else if (result.value !== undefined) restored.push(result.value);
  });
  if (failures.length > 0) throw new RestoreError(namespace, restored, failures);
  return restored;
}
