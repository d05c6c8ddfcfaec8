/**
 * The `nozzle.io/backends` annotation on a rewritten Ingress: for every path
 * Nozzle pointed at the activator, the backend it had before, exactly as it
 * was, so that waking restores the Ingress byte for byte.
 *
 *   {"v":1,"paths":[{"host":"app.example.com","path":"/","pathType":"Prefix",
 *     "backend":{"service":{"name":"web","port":{"number":80}}}}]}
 *
 * `host` is "" for a rule without a host. Several workloads can share one
 * Ingress: records are merged by host + pathType + path, never clobbered (an
 * `Exact /a` and a `Prefix /a` of one host are two paths, each with its own
 * backend).
 */
import type { V1IngressBackend } from '@kubernetes/client-node';
import { PermanentError } from './errors.js';

export interface BackendRecord {
  readonly host: string;
  readonly path: string;
  readonly pathType: string;
  readonly backend: V1IngressBackend;
}

export class BackendsAnnotationError extends PermanentError {
  override readonly name = 'BackendsAnnotationError';
}

/** What identifies one Ingress path: host + pathType + path (as the Ingress API and activator/route-table.ts do). */
export interface PathKey {
  readonly host: string;
  readonly path: string;
  readonly pathType: string;
}

/** The key records are merged and matched on. */
export const backendKey = (r: PathKey): string => `${r.host}\u0000${r.path}\u0000${r.pathType}`;

/** Whether `record` is the record of this Ingress path. */
export const recordsPath = (record: PathKey, path: PathKey): boolean =>
  backendKey(record) === backendKey(path);

export function parseBackends(text: string | undefined): BackendRecord[] {
  if (text === undefined || text === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BackendsAnnotationError(`nozzle.io/backends is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(value) || value.v !== 1 || !Array.isArray(value.paths)) {
    throw new BackendsAnnotationError('nozzle.io/backends must be {"v":1,"paths":[...]}');
  }
  return value.paths.map((entry: unknown, i: number) => {
    if (
      !isObject(entry) ||
      typeof entry.host !== 'string' ||
      typeof entry.path !== 'string' ||
      typeof entry.pathType !== 'string' ||
      !isObject(entry.backend)
    ) {
      throw new BackendsAnnotationError(
        `nozzle.io/backends paths[${i}] must have host, path, pathType and backend`,
      );
    }
    const service = entry.backend.service;
    if (service !== undefined && (!isObject(service) || typeof service.name !== 'string')) {
      throw new BackendsAnnotationError(`nozzle.io/backends paths[${i}].backend.service has no name`);
    }
    return {
      host: entry.host,
      path: entry.path,
      pathType: entry.pathType,
      backend: entry.backend,
    };
  });
}

export function serializeBackends(records: readonly BackendRecord[]): string {
  const sorted = [...records].sort((a, b) => backendKey(a).localeCompare(backendKey(b)));
  return JSON.stringify({ v: 1, paths: sorted });
}

/**
 * Adds `added` to `existing`. A host + pathType + path already recorded keeps
 * its first record: that is the original backend; a later one can only be the
 * activator.
 */
export function mergeBackends(
  existing: readonly BackendRecord[],
  added: readonly BackendRecord[],
): BackendRecord[] {
  const byKey = new Map(existing.map((r) => [backendKey(r), r]));
  for (const record of added) if (!byKey.has(backendKey(record))) byKey.set(backendKey(record), record);
  return [...byKey.values()];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
