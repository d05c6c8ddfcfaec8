import type { V1Service } from '@kubernetes/client-node';

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
    .filter((service) => {
      const selector = service.spec?.selector;
      if (selector === undefined || Object.keys(selector).length === 0) return false;
      return Object.entries(selector).every(([key, value]) => podLabels[key] === value);
    })
    .map((service) => service.metadata?.name ?? '')
    .filter((name) => name !== '');
}
