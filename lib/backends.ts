/**
 * The `nozzle.io/backends` annotation on a rewritten Ingress: for every path
 * Nozzle pointed at the activator, the backend it had before, exactly as it
 * was, so that waking restores the Ingress byte for byte.
 *
 *   {"v":1,"paths":[{"host":"app.example.com","path":"/","pathType":"Prefix",
 *     "backend":{"service":{"name":"web","port":{"number":80}}}}]}
 *
 * `host` is "" for a rule without a host. Several workloads can share one
 * Ingress: records are merged by host + path, never clobbered.
 */
import type { V1IngressBackend } from '@kubernetes/client-node';

export interface BackendRecord {
  readonly host: string;
  readonly path: string;
  readonly pathType: string;
  readonly backend: V1IngressBackend;
}

export class BackendsAnnotationError extends Error {
  override readonly name = 'BackendsAnnotationError';
}

const key = (r: { host: string; path: string }): string => `${r.host}\u0000${r.path}`;

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
  const sorted = [...records].sort((a, b) => key(a).localeCompare(key(b)));
  return JSON.stringify({ v: 1, paths: sorted });
}

/**
 * Adds `added` to `existing`. A host + path already recorded keeps its first
 * record: that is the original backend; a later one can only be the activator.
 */
export function mergeBackends(
  existing: readonly BackendRecord[],
  added: readonly BackendRecord[],
): BackendRecord[] {
  const byKey = new Map(existing.map((r) => [key(r), r]));
  for (const record of added) if (!byKey.has(key(record))) byKey.set(key(record), record);
  return [...byKey.values()];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
