/**
 * An EndpointSlice as the EndpointSlice controller writes it for a Service
 * (managed-by `endpointslice-controller.k8s.io`, never Nozzle's): what tests
 * and benches write to stand in for the controller the base environment
 * does not run.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { labels } from '../../lib/names.js';

export const CONTROLLER = 'endpointslice-controller.k8s.io';

export interface ControllerSliceSpec {
  readonly namespace?: string;
  /** The Service port's name (default `http`) and its target port number (default 8080). */
  readonly portName?: string;
  readonly port?: number;
  /** One endpoint each (default: none). */
  readonly endpoints?: readonly { readonly ip: string; readonly ready: boolean }[];
}

export function controllerSliceBody(
  service: string,
  name: string,
  spec: ControllerSliceSpec = {},
): V1EndpointSlice {
  return {
    metadata: {
      name,
      ...(spec.namespace ? { namespace: spec.namespace } : {}),
      labels: { [labels.serviceName]: service, [labels.endpointSliceManagedBy]: CONTROLLER },
    },
    addressType: 'IPv4',
    ports: [{ name: spec.portName ?? 'http', port: spec.port ?? 8080, protocol: 'TCP' }],
    endpoints: (spec.endpoints ?? []).map(({ ip, ready }) => ({ addresses: [ip], conditions: { ready } })),
  };
}
