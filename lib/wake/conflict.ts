import { isConflict } from '../kube/errors.js';

/** The object kept changing under us: every attempt got 409. Transient; a later delivery may succeed. */
export class ConflictRetriesExhaustedError extends Error {
  override readonly name = 'ConflictRetriesExhaustedError';
  constructor(
    readonly what: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(`${what}: still conflicting after ${attempts} attempts (409 each time)`, options);
  }
}

/**
 * Optimistic concurrency: `attempt` reads the object, decides, and writes with
 * the resourceVersion it read as a precondition. On 409 it runs again from a
 * fresh read, up to `attempts` times.
 */
export async function retryOnConflict<T>(what: string, attempt: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (i >= attempts) throw new ConflictRetriesExhaustedError(what, attempts, { cause: err });
    }
  }
}
