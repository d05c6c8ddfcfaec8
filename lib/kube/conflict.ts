/**
 * Optimistic concurrency against the apiserver: read, decide, write with the
 * resourceVersion read; on 409, again from a fresh read, paced.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../backoff.js';
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

/** How retryOnConflict paces its attempts; tests pass `sleep` to watch the delays. */
export interface ConflictRetry {
  readonly attempts: number;
  /** The first delay's ceiling, doubled after each 409 up to `maxMs`; each delay is random below it. */
  readonly firstMs: number;
  readonly maxMs: number;
  readonly sleep?: (ms: number) => Promise<unknown>;
}

/**
 * 8 attempts over about 2.5 s at most. Without a pause between them, five
 * immediate attempts all lost against 20 writers patching one Deployment
 * (test/e2e/faults.test.ts, the 409 storm); a random delay below a doubling
 * ceiling ("full jitter") spreads the retries of several Nozzle replicas too.
 */
export const CONFLICT_RETRY: ConflictRetry = { attempts: 8, firstMs: 20, maxMs: 1_000 };

/**
 * Optimistic concurrency: `attempt` reads the object, decides, and writes with
 * the resourceVersion it read as a precondition. On 409 it runs again from a
 * fresh read, after a short random delay, up to `retry.attempts` times.
 */
export async function retryOnConflict<T>(
  what: string,
  attempt: () => Promise<T>,
  retry: ConflictRetry = CONFLICT_RETRY,
): Promise<T> {
  const pause = retry.sleep ?? sleep;
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (i >= retry.attempts) throw new ConflictRetriesExhaustedError(what, retry.attempts, { cause: err });
    }
    await pause(Math.random() * backoffDelay(i, retry.firstMs, retry.maxMs));
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
