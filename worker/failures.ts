import { BackendsAnnotationError } from '../lib/backends.js';
import { isTransient, statusOf } from '../lib/kube/errors.js';
import { MessageError } from '../lib/messages.js';
import { RouteServiceConflictError } from '../lib/sleep/route-service.js';
import { RestoreError } from '../lib/wake/restore-error.js';
import { ReplicasAnnotationError } from '../lib/wake/workloads.js';

/** The operation ran longer than NOZZLE_WORKER_OPERATION_TIMEOUT; retried later. */
export class OperationTimeoutError extends Error {
  override readonly name = 'OperationTimeoutError';
}

/**
 * Permanent: retrying cannot help (a bad message, an annotation a person must
 * fix, a request the apiserver rejects as such, e.g. 403 or 422). Everything
 * else is transient: 5xx, 409 after re-reads, 429, timeouts, connection
 * errors, NATS hiccups.
 */
export function isPermanent(err: unknown): boolean {
  if (
    err instanceof MessageError ||
    err instanceof ReplicasAnnotationError ||
    err instanceof BackendsAnnotationError ||
    err instanceof RouteServiceConflictError
  ) {
    return true;
  }
  if (err instanceof RestoreError) return err.failures.every((f) => isPermanent(f.error));
  if (statusOf(err) !== undefined) return !isTransient(err) && statusOf(err) !== 408;
  return false;
}

/** retryDelay, doubling with each delivery, at most retryDelayMax. */
export function retryDelay(deliveryCount: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(Math.max(deliveryCount - 1, 0), 30));
}
