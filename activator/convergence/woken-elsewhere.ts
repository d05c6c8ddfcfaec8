/**
 * "Woken by someone else" (design v2, Wake): a Service with a takeover slice
 * AND ready endpoints of its own was scaled up by kubectl, CI or Argo CD while
 * it slept. Once its slice has settled (the worker ensured it longer ago than
 * NOZZLE_TAKEOVER_SETTLE, so a sleep in progress, whose pods still run, is
 * never undone), the leader finishes that wake: woke-at stamped (queued
 * sleeps are stale), the backup of the workloads that run again cleared, the
 * takeover removed.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { annotations } from '../../lib/names.js';
import { removeTakeover } from '../../lib/takeover/takeover.js';
import { clearStaleBackups, type ClearedBackup } from '../../lib/wake/clear-backup.js';
import { stampWokeAt } from '../../lib/wake/restore.js';

/** Pure: when the worker last ensured the slice (`nozzle.io/ensured-at`; else its creation), or undefined when unknown. */
export function ensuredAt(slice: V1EndpointSlice): Date | undefined {
  const text = slice.metadata?.annotations?.[annotations.ensuredAt];
  const parsed = text === undefined ? NaN : Date.parse(text);
  if (!Number.isNaN(parsed)) return new Date(parsed);
  const created = slice.metadata?.creationTimestamp;
  return created === undefined ? undefined : new Date(created);
}

/** Pure: milliseconds until the slice has settled (0 or less: settled). An unknown age counts as just ensured. */
export function settlesInMs(slice: V1EndpointSlice, now: Date, settleMs: number): number {
  const at = ensuredAt(slice) ?? now;
  return at.getTime() + settleMs - now.getTime();
}

export interface AdoptedWake {
  readonly namespace: string;
  readonly service: string;
  readonly cleared: readonly ClearedBackup[];
  readonly removed: readonly string[];
}

/** Finishes a wake someone else started: stamp, clear stale backups, remove the Service's takeover. */
export async function adoptWake(kube: Kube, namespace: string, service: string): Promise<AdoptedWake> {
  await stampWokeAt(kube, namespace);
  const cleared = await clearStaleBackups(kube, namespace);
  const removed = await removeTakeover(kube, namespace, service);
  return { namespace, service, cleared, removed };
}

export function adoptedNote(adopted: AdoptedWake): string {
  const cleared = adopted.cleared.map(
    (c) => `${c.kind} ${c.name} runs ${c.replicas} (backup ${c.backup} cleared)`,
  );
  return `Woke: scaled up outside Nozzle; takeover of Service ${adopted.service} removed${cleared.length > 0 ? `; ${cleared.join(', ')}` : ''}`;
}
