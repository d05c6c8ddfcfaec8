/** The operation ran longer than NOZZLE_WORKER_OPERATION_TIMEOUT; retried later. */
export class OperationTimeoutError extends Error {
  override readonly name = 'OperationTimeoutError';
}
