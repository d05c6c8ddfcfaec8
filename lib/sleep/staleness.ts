import { annotations } from '../names.js';
import { parseRfc3339 } from '../rfc3339.js';

/**
 * A sleep decided before the namespace last woke is stale: the namespace has
 * been used since, and must get its full idle time again. A woke-at that is
 * not a date cannot be compared: the message is not stale by it.
 */
export function staleReason(
  decidedAt: string,
  namespaceAnnotations: Readonly<Record<string, string>> | undefined,
): string | undefined {
  const wokeAt = namespaceAnnotations?.[annotations.wokeAt];
  if (wokeAt === undefined) return undefined;
  const woke = parseRfc3339(wokeAt);
  const decided = parseRfc3339(decidedAt);
  if (woke === undefined || decided === undefined) return undefined;
  return decided < woke ? `decided at ${decidedAt}, before the namespace woke at ${wokeAt}` : undefined;
}
