/**
 * What `/_nozzle/status` answers (JSON) for the Host of the request, and what
 * the waiting page renders. The activator produces it; the page polls it.
 */
export type WakePhase = 'sleeping' | 'waking' | 'ready' | 'failed';

export interface WorkloadProgress {
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly name: string;
  /** Ready replicas now. */
  readonly ready: number;
  /** Replicas it is being restored to. */
  readonly desired: number;
}

export interface WakeStatus {
  readonly namespace: string;
  readonly host: string;
  readonly phase: WakePhase;
  /** When the wake began (RFC 3339), absent while still sleeping. */
  readonly startedAt?: string;
  readonly elapsedMs?: number;
  /** The readiness timeout, so the page can show how long is left. */
  readonly timeoutMs: number;
  readonly workloads: readonly WorkloadProgress[];
  /** For `failed`: what was not ready, in words a person can act on. */
  readonly message?: string;
}
