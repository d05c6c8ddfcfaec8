import { describeError } from './kube/errors.js';

/**
 * describeError plus the chain of causes, for logs and dead letters:
 * `fetch failed` alone does not say that the connection was refused.
 */
export function describeFailure(err: unknown): string {
  const parts = [describeError(err)];
  let cause = err instanceof Error ? err.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < 4; depth++) {
    const text = describeError(cause);
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return parts.join(': ');
}
