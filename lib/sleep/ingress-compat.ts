/**
 * Ingresses the activator cannot stand in for. While a namespace sleeps its
 * Ingress paths point at the activator, which sees the request as the
 * Ingress controller forwards it and forwards it itself, as plain HTTP, to
 * the original Service. ingress-nginx annotations that change what the
 * backend receives would break that: a rewritten path (rewrite-target), a
 * regular-expression path (use-regex) that the activator's host+path index
 * cannot match, another Host (upstream-vhost), or a protocol other than HTTP
 * (backend-protocol: HTTPS, GRPC, ...). A workload behind such a path is not
 * put to sleep at all: it must never go to 0 without a working wake path.
 */
import type { V1Ingress } from '@kubernetes/client-node';

const NGINX = 'nginx.ingress.kubernetes.io';

export interface Incompatibility {
  readonly ingress: string;
  readonly annotation: string;
  readonly value: string;
  /** One sentence for the log and the Event. */
  readonly reason: string;
}

/** Go's strconv.ParseBool true values, which ingress-nginx reads booleans with. */
const isTrue = (value: string): boolean => ['1', 't', 'true'].includes(value.trim().toLowerCase());

/** Why the activator cannot route for an Ingress with these annotations, or undefined. */
export function incompatibleAnnotation(
  ingressAnnotations: Readonly<Record<string, string>> | undefined,
): { annotation: string; value: string; why: string } | undefined {
  const a = ingressAnnotations ?? {};
  const check = (
    name: string,
    blocks: (value: string) => boolean,
    why: string,
  ): { annotation: string; value: string; why: string } | undefined => {
    const annotation = `${NGINX}/${name}`;
    const value = a[annotation];
    return value !== undefined && blocks(value) ? { annotation, value, why } : undefined;
  };
  return (
    check('rewrite-target', (v) => v.trim() !== '', 'the backend would get rewritten paths') ??
    check('use-regex', isTrue, 'its paths are regular expressions') ??
    check('upstream-vhost', (v) => v.trim() !== '', 'the backend would get another Host') ??
    check(
      'backend-protocol',
      (v) => v.trim() !== '' && v.trim().toUpperCase() !== 'HTTP',
      'the backend does not speak plain HTTP',
    )
  );
}

/**
 * The Ingresses with a path to one of `services` that the activator cannot
 * stand in for, each with the first annotation that rules it out.
 */
export function incompatibleIngresses(
  ingresses: readonly V1Ingress[],
  services: ReadonlySet<string>,
): Incompatibility[] {
  const out: Incompatibility[] = [];
  for (const ingress of ingresses) {
    const targets = (ingress.spec?.rules ?? []).some((rule) =>
      (rule.http?.paths ?? []).some((path) => {
        const service = path.backend.service?.name;
        return service !== undefined && services.has(service);
      }),
    );
    if (!targets) continue;
    const found = incompatibleAnnotation(ingress.metadata?.annotations);
    if (found === undefined) continue;
    const name = ingress.metadata?.name ?? '';
    out.push({
      ingress: name,
      annotation: found.annotation,
      value: found.value,
      reason: `Ingress ${name} has ${found.annotation}: "${found.value}" (${found.why}), which the Nozzle activator cannot route while asleep`,
    });
  }
  return out;
}
