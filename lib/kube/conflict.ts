import { isConflict, undefinedIfNotFound } from '../errors.js';

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

/**
 * retryOnConflict for an object in hand (from a list): the first attempt
 * decides on `listed`, every retry on a fresh `read()` (undefined once the
 * object is gone: 404).
 */
export async function retryOnConflictFrom<O, T>(
  what: string,
  listed: O,
  read: () => Promise<O>,
  attempt: (object: O | undefined) => Promise<T>,
): Promise<T> {
  let current: O | undefined = listed;
  return retryOnConflict(what, async () => {
    current ??= await read().catch(undefinedIfNotFound);
    const object = current;
    current = undefined; // a retry reads afresh
    return attempt(object);
  });
}
