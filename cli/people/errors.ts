/**
 * Failures as one line a person can act on: an unknown namespace, one that
 * has not opted in, a right the person lacks (and which ClusterRole grants
 * it), an apiserver that cannot be reached or refuses the credentials.
 */
import { ConflictRetriesExhaustedError } from '../../lib/kube/conflict.js';
import { ApiException, type V1Namespace } from '@kubernetes/client-node';
import { describeError, statusOf } from '../../lib/errors.js';
import type { Kube } from '../../lib/kube/client.js';
import type { OptIn } from '../../lib/kube/opt-in.js';

/** A failure already worded for a person: printed as is, exit 1. */
export class PersonError extends Error {
  override readonly name = 'PersonError';
}

/** Which ClusterRole grants what: status reads, wake and sleep write. */
export type Need = 'viewer' | 'user';
const ROLE_FILE = 'k8s/rbac-user.yaml';

/** Reads the Namespace and checks it may be put to sleep: PersonError otherwise. */
export async function readOptedIn(kube: Kube, name: string, rules: OptIn): Promise<V1Namespace> {
  let namespace: V1Namespace;
  try {
    namespace = await kube.core.readNamespace({ name });
  } catch (err) {
    if (statusOf(err) === 404)
      throw new PersonError(`namespace "${name}" not found (kubectl get namespaces)`);
    throw err;
  }
  if (name === rules.systemNamespace) {
    throw new PersonError(
      `namespace "${name}" is Nozzle's own (NOZZLE_SYSTEM_NAMESPACE): it is never put to sleep or woken`,
    );
  }
  if (!rules.selector.matches(namespace.metadata?.labels)) throw new PersonError(notOptedIn(name, rules));
  return namespace;
}

function notOptedIn(name: string, rules: OptIn): string {
  const [only] = rules.selector.requirements;
  const hint =
    rules.selector.requirements.length === 1 && only?.operator === 'in' && only.values.length === 1
      ? `label it ${only.key}=${only.values[0]} (kubectl label namespace ${name} ${only.key}=${only.values[0]})`
      : `give it labels that match "${rules.selector.text}"`;
  return `namespace "${name}" is not opted in: ${hint} (selector NOZZLE_NAMESPACE_SELECTOR "${rules.selector.text}")`;
}

/** The one line for any failure; `need` says which ClusterRole the command needs. */
export function personMessage(err: unknown, kube: Kube, need: Need): string {
  if (err instanceof PersonError) return err.message;
  const status = statusOf(err);
  const server = kube.config.getCurrentCluster()?.server ?? 'the apiserver';
  if (status === 403) return forbidden(err as ApiException<unknown>, need);
  if (status === 401) {
    return `the apiserver at ${server} did not accept your credentials (401 Unauthorized): log in again or check your kubeconfig (kubectl auth whoami)`;
  }
  if (err instanceof ConflictRetriesExhaustedError) {
    return `${err.message}: something else keeps changing it; run the command again (it is safe to repeat)`;
  }
  if (status === undefined && !(err instanceof ApiException)) {
    return `cannot reach the apiserver at ${server}: ${innermost(err)}`;
  }
  return describeError(err);
}

function forbidden(err: ApiException<unknown>, need: Need): string {
  const message = apiMessage(err);
  // `... is forbidden: User "u" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`
  const match =
    /cannot (\w+) resource "([^"]+)"(?: in API group "[^"]*")?(?: in the namespace "([^"]+)")?/.exec(message);
  const role = need === 'viewer' ? 'nozzle-viewer (or nozzle-user)' : 'nozzle-user';
  if (!match) return `you may not do this: ${message}: ask for the ${role} ClusterRole (${ROLE_FILE})`;
  const [, verb, resource, namespace] = match;
  const where = namespace === undefined ? 'cluster-wide' : `in "${namespace}"`;
  return `you may not ${verb} ${resource} ${where}: ask for the ${role} ClusterRole (${ROLE_FILE})`;
}

function apiMessage(err: ApiException<unknown>): string {
  const body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  if (body && typeof body === 'object' && 'message' in body) return String(body.message);
  return err.message;
}

/** The root cause of a network failure (`connect ECONNREFUSED 127.0.0.1:1`), not `fetch failed`. */
function innermost(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth++) {
    current = current.cause;
  }
  if (current instanceof AggregateError && current.errors[0] instanceof Error)
    return current.errors[0].message;
  return current instanceof Error ? current.message : String(current);
}
