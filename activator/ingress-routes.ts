/**
 * The routes one rewritten Ingress contributes to the index: its
 * `nozzle.io/backends` records, each the original backend of a path Nozzle
 * pointed at the activator. Only these are ever forwarded to.
 *
 * The annotation alone is not trusted: a record becomes a route only if the
 * Ingress's spec really routes that host + pathType + path to the
 * `nozzle-activator` route Service. An annotation is cheap to write; a path
 * that actually sends the host's traffic here is what a sleep leaves behind.
 */
import type { V1Ingress } from '@kubernetes/client-node';
import { BackendsAnnotationError, backendKey, parseBackends } from '../lib/backends.js';
import { ROUTE_SERVICE, annotations } from '../lib/names.js';
import type { PathType, Route } from './route-table.js';

export interface IngressRoutes {
  readonly routes: Route[];
  /** Records that could not become routes, in words for the log. */
  readonly problems: string[];
  /** How many records the Ingress's spec does not route to the route Service (refused). */
  readonly unrouted: number;
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
    if (err instanceof BackendsAnnotationError) return { routes: [], problems: [err.message], unrouted: 0 };
    throw err;
  }
  const toActivator = new Set<string>();
  for (const rule of ingress.spec?.rules ?? []) {
    for (const path of rule.http?.paths ?? []) {
      if (path.backend?.service?.name !== ROUTE_SERVICE) continue;
      toActivator.add(backendKey({ host: rule.host ?? '', path: path.path ?? '', pathType: path.pathType }));
    }
  }
  const routes: Route[] = [];
  let unrouted = 0;
  for (const record of records) {
    const where = `${record.host || '*'}${record.path}`;
    if (!toActivator.has(backendKey(record))) {
      problems.push(
        `${where} (${record.pathType}): the Ingress does not route it to the ${ROUTE_SERVICE} Service; record ignored`,
      );
      unrouted++;
      continue;
    }
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
  return { routes, problems, unrouted };
}
