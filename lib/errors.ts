/**
 * Nozzle's one failure vocabulary: which failures are worth another try
 * (`isRetryable`, the worker's and the activator's rule alike) and how any
 * failure reads in a log line, a dead letter or a 504 (`describeError`).
 */
import { ApiException } from '@kubernetes/client-node';

/**
 * Fails the same way every time (a bad message, an annotation a person must
 * fix): retrying cannot help. Errors of this kind extend it.
 */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
}

/** The HTTP status of a failed API call, or undefined when it never got one (network, timeout). */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusOf(err) === 409;

/** For `.catch()`: a 404 means "not there" (undefined); any other error is thrown on. */
export function undefinedIfNotFound(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}

/**
 * Worth another try: timeouts (408), conflicts, throttling, server errors
 * and failures with no status at all (connection refused, reset, timeout).
 * Not: a PermanentError, or a 4xx that is the request's own fault (403, 422).
 * Several failures at once (an AggregateError) are retryable only if each
 * is: one that cannot succeed makes the whole fail again.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof PermanentError) return false;
  if (err instanceof AggregateError) return err.errors.every(isRetryable);
  const status = statusOf(err);
  if (status === undefined) return true;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * One line for logs and dead letters, with the chain of causes (`fetch
 * failed` alone does not say that the connection was refused); an API error
 * reads as `409: the object has been modified`.
 */
export function describeError(err: unknown): string {
  const parts = [describeOne(err)];
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 4; depth++) {
    const text = describeOne(cause);
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return parts.join(': ');
}

function describeOne(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let message: string | undefined;
    if (typeof body === 'string') {
      try {
        message = (JSON.parse(body) as { message?: string }).message;
      } catch {
        message = body.slice(0, 200);
      }
    } else if (body && typeof body === 'object' && 'message' in body) {
      message = String(body.message);
    }
    return `${err.code}: ${message ?? err.message.split('\n')[0]}`;
  }
  return err instanceof Error ? err.message : String(err);
}
