/**
 * The Services of a namespace that select a workload's pods, and of those the
 * ones whose endpoints Nozzle can take over while the workload sleeps (design
 * v2, "Sleep" step 1). A Service selects the pods when its `spec.selector` is
 * non-empty and every pair of it is among the pod template's labels.
 *
 * Not taken over, each with its reason (docs/decisions.md, "Takeover"):
 * ExternalName Services (no endpoints at all) and headless Services
 * (`clusterIP: None`: clients resolve the pod IPs and connect to
 * podIP:targetPort themselves, which no port mapping of an EndpointSlice can
 * redirect to the activator).
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';

export interface SkippedService {
  readonly name: string;
  readonly reason: string;
}

export interface SelectingServices {
  /** Selecting Services whose endpoints are taken over while the workload sleeps. */
  readonly takeover: readonly V1Service[];
  /** Selecting Services that cannot be taken over, with why. */
  readonly skipped: readonly SkippedService[];
}

/** Whether the Service's selector selects pods labelled `podLabels`; one without a selector selects nothing. */
export function selectsPods(service: V1Service, podLabels: Readonly<Record<string, string>>): boolean {
  const selector = Object.entries(service.spec?.selector ?? {});
  return selector.length > 0 && selector.every(([key, value]) => podLabels[key] === value);
}

/** Why a Service that selects the pods cannot be taken over, or undefined when it can. */
export function takeoverRefusal(service: V1Service): string | undefined {
  const spec = service.spec;
  if (spec?.type === 'ExternalName') return 'an ExternalName Service has no endpoints to take over';
  if (spec?.clusterIP === 'None') {
    return 'headless (clusterIP: None): clients connect to podIP:targetPort directly, which cannot be redirected to the activator';
  }
  if ((spec?.ports ?? []).length === 0) return 'the Service has no ports';
  return undefined;
}

/** Pure: the Services among `services` that select pods labelled `podLabels`, split by whether they can be taken over. */
export function selectingServices(
  services: readonly V1Service[],
  podLabels: Readonly<Record<string, string>>,
): SelectingServices {
  const takeover: V1Service[] = [];
  const skipped: SkippedService[] = [];
  for (const service of services) {
    const name = service.metadata?.name;
    if (!name || !selectsPods(service, podLabels)) continue;
    const reason = takeoverRefusal(service);
    if (reason === undefined) takeover.push(service);
    else skipped.push({ name, reason });
  }
  return { takeover, skipped };
}

/** One list call: the Services of `namespace` selecting pods labelled `podLabels`. */
export async function listSelectingServices(
  kube: Kube,
  namespace: string,
  podLabels: Readonly<Record<string, string>>,
): Promise<SelectingServices> {
  const { items } = await kube.core.listNamespacedService({ namespace });
  return selectingServices(items, podLabels);
}
