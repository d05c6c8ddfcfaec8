import type { V1Service } from '@kubernetes/client-node';
import { selectsPods } from '../takeover/selecting-services.js';

/**
 * The Services whose selector selects pods with `podLabels` (every selector
 * pair present in the labels). A Service without a selector (endpoints
 * managed by hand) selects nothing.
 */
export function servicesSelecting(
  services: readonly V1Service[],
  podLabels: Readonly<Record<string, string>>,
): string[] {
  return services
    .filter((service) => selectsPods(service, podLabels))
    .map((service) => service.metadata?.name ?? '')
    .filter((name) => name !== '');
}
