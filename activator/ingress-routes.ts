/**
 * The routes one rewritten Ingress contributes to the index: its
 * `nozzle.io/backends` records, each the original backend of a path Nozzle
 * pointed at the activator. Only these are ever forwarded to.
 */
import type { V1Ingress } from '@kubernetes/client-node';
import { BackendsAnnotationError, parseBackends } from '../lib/backends.js';
import { annotations } from '../lib/names.js';
import type { PathType, Route } from './route-table.js';

export interface IngressRoutes {
  readonly routes: Route[];
  /** Records that could not become routes, in words for the log. */
  readonly problems: string[];
}

const pathTypes: readonly string[] = ['Exact', 'Prefix', 'ImplementationSpecific'];

export function routesOfIngress(ingress: V1Ingress): IngressRoutes {
  const namespace = ingress.metadata?.namespace ?? '';
  const name = ingress.metadata?.name ?? '';
  const problems: string[] = [];
  let records;
  try {
    records = parseBackends(ingress.metadata?.annotations?.[annotations.backends]);
  } catch (err) {
    if (err instanceof BackendsAnnotationError) return { routes: [], problems: [err.message] };
    throw err;
  }
  const routes: Route[] = [];
  for (const record of records) {
    const where = `${record.host || '*'}${record.path}`;
    const service = record.backend.service;
    if (!service) {
      problems.push(`${where}: backend is not a Service (resource backends cannot be forwarded to)`);
      continue;
    }
    const port = service.port?.number ?? service.port?.name;
    if (port === undefined || port === '') {
      problems.push(`${where}: backend Service ${service.name} has no port`);
      continue;
    }
    if (!pathTypes.includes(record.pathType)) {
      problems.push(`${where}: unknown pathType ${record.pathType}`);
      continue;
    }
    if (!record.path.startsWith('/')) {
      problems.push(`${where}: path must start with /`);
      continue;
    }
    routes.push({
      namespace,
      ingress: name,
      host: record.host.toLowerCase(),
      path: record.path,
      pathType: record.pathType as PathType,
      service: service.name,
      port,
    });
  }
  return { routes, problems };
}
