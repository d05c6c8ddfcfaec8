/**
 * When a sleeping workload was put to sleep, read from what the apiserver
 * already records: the managedFields entry of Nozzle's field manager that
 * owns the `nozzle.io/replicas` annotation. The sleep writes the backup and
 * replicas 0 in one request under that manager, and nothing else Nozzle
 * writes to a sleeping workload, so that entry's time is the sleep's time.
 * No extra annotation: nothing new to write, to allow in the admission
 * policy, or to lose.
 */
import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { FIELD_MANAGER, annotations } from '../names.js';

/** The time of the sleep, or undefined when the object does not tell (no backup, or managedFields stripped). */
export function sleptAt(metadata: {
  readonly annotations?: Readonly<Record<string, string>>;
  readonly managedFields?: readonly V1ManagedFieldsEntry[];
}): Date | undefined {
  if (metadata.annotations?.[annotations.replicas] === undefined) return undefined;
  const key = `f:${annotations.replicas}`;
  for (const entry of metadata.managedFields ?? []) {
    if (entry.manager !== FIELD_MANAGER || entry.time === undefined) continue;
    const fields = entry.fieldsV1 as
      { 'f:metadata'?: { 'f:annotations'?: Record<string, unknown> } } | undefined;
    if (fields?.['f:metadata']?.['f:annotations']?.[key] === undefined) continue;
    const time = new Date(entry.time);
    if (!Number.isNaN(time.getTime())) return time;
  }
  return undefined;
}
