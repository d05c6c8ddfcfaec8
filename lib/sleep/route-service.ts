import type { V1Service } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import { isConflict } from '../errors.js';
import { undefinedIfNotFound } from '../errors.js';
import { mergePatch } from '../kube/patch.js';
import { FIELD_MANAGER, ROUTE_SERVICE, labels } from '../names.js';
import { PermanentError } from '../errors.js';

/** The port of the route Service, and of the activator Service it points at; rewritten Ingress paths use it. */
export const ROUTE_PORT = 80;

/** A Service named nozzle-activator exists that Nozzle did not create: it is not ours to change. */
export class RouteServiceConflictError extends PermanentError {
  override readonly name = 'RouteServiceConflictError';
}

/**
 * Ensures the `nozzle-activator` Service in `namespace`: an ExternalName to
 * the activator (`activatorService`), which rewritten Ingress paths target.
 * Ingress backends must be Services of their own namespace, hence one per
 * sleeping namespace. Left in place after a wake: it costs nothing and the
 * next sleep needs it again.
 */
export async function ensureRouteService(
  kube: Kube,
  namespace: string,
  activatorService: string,
): Promise<void> {
  const desired = routeService(activatorService);
  const existing = await kube.core
    .readNamespacedService({ namespace, name: ROUTE_SERVICE })
    .catch(undefinedIfNotFound);
  if (existing === undefined) {
    try {
      await kube.core.createNamespacedService({ namespace, body: desired, fieldManager: FIELD_MANAGER });
      return;
    } catch (err) {
      if (!isConflict(err)) throw err; // 409 AlreadyExists: another worker created it a moment ago
      return ensureRouteService(kube, namespace, activatorService);
    }
  }
  if (existing.metadata?.labels?.[labels.managed] !== 'true') {
    throw new RouteServiceConflictError(
      `Service ${namespace}/${ROUTE_SERVICE} exists without the ${labels.managed}=true label: Nozzle will not take it over`,
    );
  }
  if (
    existing.spec?.type === 'ExternalName' &&
    existing.spec.externalName === activatorService &&
    existing.spec.ports?.some((p) => p.port === ROUTE_PORT)
  ) {
    return;
  }
  // The activator moved (setting changed): point the route at it again.
  await kube.core.patchNamespacedService(
    {
      namespace,
      name: ROUTE_SERVICE,
      fieldManager: FIELD_MANAGER,
      body: { spec: { type: 'ExternalName', externalName: activatorService, ports: desired.spec?.ports } },
    },
    mergePatch,
  );
}

function routeService(activatorService: string): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: ROUTE_SERVICE,
      labels: { [labels.managed]: 'true' },
      annotations: {
        'nozzle.io/description': 'Routes requests for this sleeping namespace to the Nozzle activator',
      },
    },
    spec: {
      type: 'ExternalName',
      externalName: activatorService,
      ports: [{ name: 'http', port: ROUTE_PORT, targetPort: ROUTE_PORT, protocol: 'TCP' }],
    },
  };
}
