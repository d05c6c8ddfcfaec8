/**
 * Why a namespace is (not) going to sleep, and when: the ONE place the
 * people's commands consult the publisher's policy (publisher/policy.ts,
 * `decide`), so that it can be switched to a new policy (activity signals,
 * schedules) in one file. Also what counts as "last activity": today's
 * policy knows only the last wake (nozzle.io/woke-at).
 */
import type { V1Namespace } from '@kubernetes/client-node';
import { formatDuration, parseDuration } from '../../lib/duration.js';
import { annotations } from '../../lib/names.js';
import { parseRfc3339 } from '../../lib/rfc3339.js';
import { decide, type WorkloadFacts } from '../../publisher/policy.js';

export interface Activity {
  readonly at: Date;
  readonly source: string;
}

export interface Explanation {
  /** What the publisher will do next: `sleep`, `wake` on a request, or `never`. */
  readonly next: 'sleep' | 'wake-on-request' | 'never';
  /** When that happens; undefined: at the publisher's next round (or not at all for `never`). */
  readonly at: Date | undefined;
  readonly why: string;
  readonly lastActivity: Activity | undefined;
}

export interface ExplainOptions {
  readonly now: Date;
  /** The publisher's NOZZLE_IDLE_AFTER (the CLI assumes the default unless told). */
  readonly defaultIdleAfter: number;
  readonly systemNamespace: string;
}

export function lastActivity(namespace: V1Namespace): Activity | undefined {
  const woke = namespace.metadata?.annotations?.[annotations.wokeAt];
  const at = woke === undefined ? undefined : parseRfc3339(woke);
  return at === undefined ? undefined : { at: new Date(at), source: 'wake' };
}

export function explain(
  namespace: V1Namespace,
  workloads: readonly WorkloadFacts[],
  asleep: boolean,
  options: ExplainOptions,
): Explanation {
  const activity = lastActivity(namespace);
  if (asleep) {
    return {
      next: 'wake-on-request',
      at: undefined,
      why: 'asleep: the first request wakes it (or nozzle wake)',
      lastActivity: activity,
    };
  }
  const verdict = policyVerdict(namespace, workloads, activity, options);
  // Written by `nozzle wake --for`; the design's policy reads it, today's publisher/policy.ts not yet.
  const keepUntil = keepAwakeUntil(namespace);
  if (keepUntil === undefined || keepUntil <= options.now || verdict.next === 'never') {
    return { ...verdict, lastActivity: activity };
  }
  return {
    ...verdict,
    why: `${verdict.why}; ${annotations.keepAwakeUntil} ${keepUntil.toISOString()} is not read by this publisher's policy yet`,
    lastActivity: activity,
  };
}

function policyVerdict(
  namespace: V1Namespace,
  workloads: readonly WorkloadFacts[],
  activity: Activity | undefined,
  options: ExplainOptions,
): Omit<Explanation, 'lastActivity'> {
  const facts = {
    name: namespace.metadata?.name ?? '',
    labels: namespace.metadata?.labels ?? {},
    annotations: namespace.metadata?.annotations ?? {},
  };
  const decisions = decide([facts], workloads, options);
  if (decisions.due.length > 0) {
    return {
      next: 'sleep',
      at: undefined,
      why: `idle for its ${formatDuration(idleAfter(namespace, options))}: ${decisions.due.length} workload(s) due at the publisher's next round`,
    };
  }
  const awake = decisions.skipped.find((s) => s.category === 'awake');
  if (awake !== undefined && activity !== undefined) {
    return {
      next: 'sleep',
      at: new Date(activity.at.getTime() + idleAfter(namespace, options)),
      why: awake.reason,
    };
  }
  const reasons = [...new Set(decisions.skipped.map((s) => s.reason))];
  return {
    next: 'never',
    at: undefined,
    why: reasons.length === 0 ? 'no Deployment or StatefulSet to put to sleep' : reasons.join('; '),
  };
}

function idleAfter(namespace: V1Namespace, options: ExplainOptions): number {
  const text = namespace.metadata?.annotations?.[annotations.idleAfter];
  if (text === undefined) return options.defaultIdleAfter;
  try {
    return parseDuration(text);
  } catch {
    return options.defaultIdleAfter;
  }
}

function keepAwakeUntil(namespace: V1Namespace): Date | undefined {
  const text = namespace.metadata?.annotations?.[annotations.keepAwakeUntil];
  const at = text === undefined ? undefined : parseRfc3339(text);
  return at === undefined ? undefined : new Date(at);
}
