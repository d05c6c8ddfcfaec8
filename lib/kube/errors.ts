import { ApiException } from '@kubernetes/client-node';

/** The HTTP status of a failed API call, or undefined when it never got one (network, timeout). */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusOf(err) === 409;

/**
 * Worth retrying: conflicts, throttling, server errors and failures with no
 * status at all (connection refused, reset, timeout). 4xx other than those
 * are the request's own fault and will fail the same way again.
 */
export function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  if (status === undefined) return true;
  return status === 409 || status === 429 || status >= 500;
}

/** One line for logs and dead letters: `409 Conflict: the object has been modified`. */
export function describeError(err: unknown): string {
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
