/** Numbers and durations as the pages show them. */
import type { WorkloadProgress } from './status.js';

/** `45 s`, `2 min`, `1 min 30 s`: short, for a person glancing at a phone. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** Ready replicas counted toward the target (never more than desired, never negative). */
export function readyTowardDesired(workload: WorkloadProgress): number {
  return Math.min(Math.max(workload.ready, 0), Math.max(workload.desired, 0));
}

export function isWorkloadReady(workload: WorkloadProgress): boolean {
  return workload.ready >= workload.desired;
}

export interface Totals {
  readonly ready: number;
  readonly desired: number;
}

export function totals(workloads: readonly WorkloadProgress[]): Totals {
  let ready = 0;
  let desired = 0;
  for (const w of workloads) {
    ready += readyTowardDesired(w);
    desired += Math.max(w.desired, 0);
  }
  return { ready, desired };
}
