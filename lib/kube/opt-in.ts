/**
 * Which namespaces the worker may act on. Only the publisher's NATS user may
 * publish sleeps, but the worker may patch any Deployment, so a message (from
 * a compromised publisher, or a leaked password) is not trusted to name a namespace Nozzle may touch: the Namespace itself must
 * match NOZZLE_NAMESPACE_SELECTOR (the publisher's selector), and Nozzle's own
 * namespace is never touched. A message that fails this is refused
 * (dead-lettered as invalid, never carried out).
 */
import type { V1Namespace } from '@kubernetes/client-node';
import { parseLabelSelector, type LabelSelector } from './label-selector.js';
import { PermanentError } from '../errors.js';

export interface OptIn {
  readonly selector: LabelSelector;
  readonly systemNamespace: string;
}

export function optIn(selector: string, systemNamespace: string): OptIn {
  return { selector: parseLabelSelector(selector), systemNamespace };
}

/** A message for a namespace Nozzle may not touch: refused, never retried. */
export class NamespaceRefusedError extends PermanentError {
  override readonly name = 'NamespaceRefusedError';
}

/** Why Nozzle may not act on this namespace, or undefined when it may. */
export function refusalReason(rules: OptIn, namespace: V1Namespace): string | undefined {
  const name = namespace.metadata?.name ?? '';
  if (name === rules.systemNamespace) {
    return `namespace ${name} is Nozzle's own (NOZZLE_SYSTEM_NAMESPACE): never put to sleep or woken`;
  }
  if (!rules.selector.matches(namespace.metadata?.labels)) {
    return `namespace ${name} has not opted in: its labels do not match NOZZLE_NAMESPACE_SELECTOR "${rules.selector.text}"`;
  }
  return undefined;
}

/** Throws NamespaceRefusedError unless Nozzle may act on this namespace. */
export function checkOptIn(rules: OptIn, namespace: V1Namespace): void {
  const reason = refusalReason(rules, namespace);
  if (reason !== undefined) throw new NamespaceRefusedError(reason);
}
