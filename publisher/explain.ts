/**
 * Why a namespace is (not) going to sleep, and when: the publisher's policy
 * said to a person. Pure, for `nozzle status` (cli/) to reuse with the facts
 * it reads for one namespace; it judges exactly as a publisher round would.
 */
import { formatDuration } from '../lib/duration.js';
import type { ActivitySource, Traffic } from './activity.js';
import { nextFire } from './cron.js';
import { exclusionOf } from '../lib/sleep/exclusion.js';
import {
  isAsleep,
  judgeNamespace,
  type NamespaceFacts,
  type PolicyOptions,
  type WorkloadFacts,
} from './policy.js';

export interface ExplainFacts {
  readonly namespace: NamespaceFacts;
  /** The namespace's Deployments and StatefulSets. */
  readonly workloads: readonly WorkloadFacts[];
  readonly traffic?: Traffic;
  readonly defaultIdleAfter: number;
  readonly systemNamespace: string;
  /** The publisher's round period (NOZZLE_PUBLISH_PERIOD). */
  readonly period: number;
}

export interface Explanation {
  readonly state: 'awake' | 'asleep';
  readonly lastActivity?: { readonly at: Date; readonly source: ActivitySource; readonly detail: string };
  readonly next: { readonly action: 'sleep' | 'wake' | 'none'; readonly at?: Date; readonly reason: string };
}

export function explainNamespace(facts: ExplainFacts, now: Date): Explanation {
  const options: PolicyOptions = {
    now,
    defaultIdleAfter: facts.defaultIdleAfter,
    systemNamespace: facts.systemNamespace,
    period: facts.period,
    ...(facts.traffic ? { traffic: facts.traffic } : {}),
  };
  const j = judgeNamespace(facts.namespace, options);
  const sleepable = facts.workloads.filter((w) => exclusionOf(w) === undefined);
  const asleep = sleepable.some(isAsleep) && !sleepable.some((w) => (w.replicas ?? 1) > 0);
  const state = asleep ? 'asleep' : 'awake';
  const lastActivity = j.lastActivity && {
    at: new Date(j.lastActivity.at),
    source: j.lastActivity.source,
    detail: j.lastActivity.detail,
  };
  const out = (next: Explanation['next']): Explanation => ({
    state,
    ...(lastActivity ? { lastActivity } : {}),
    next,
  });
  const policy = j.policy;
  if (policy === undefined)
    return out({ action: 'none', reason: j.sleep.due ? 'not judged' : j.sleep.reason });
  const t = now.getTime();
  const wakeSchedule =
    policy.wakeSchedule && `wake schedule "${policy.wakeSchedule.text}" (${policy.timezone})`;

  if (asleep) {
    if (j.wakeAt !== undefined)
      return out({ action: 'wake', at: new Date(j.wakeAt), reason: `${wakeSchedule} fired` });
    const wake = policy.wakeSchedule && nextFire(policy.wakeSchedule, policy.timezone, t);
    if (wake !== undefined) return out({ action: 'wake', at: new Date(wake), reason: wakeSchedule! });
    return out({ action: 'none', reason: 'asleep until a request arrives or someone wakes it' });
  }
  if (!sleepable.some((w) => (w.replicas ?? 1) > 0)) {
    return out({
      action: 'none',
      reason: 'nothing to put to sleep (no workload with replicas, or all excluded)',
    });
  }
  if (j.sleep.due) return out({ action: 'sleep', at: now, reason: j.sleep.detail });

  // Awake: the earlier of the next sleep-schedule fire and the end of the idle period.
  const candidates: { at: number; reason: string }[] = [];
  if (policy.sleepSchedule) {
    const after = Math.max(t, policy.keepAwakeUntil ?? -Infinity);
    const at = nextFire(policy.sleepSchedule, policy.timezone, after);
    if (at !== undefined) {
      candidates.push({ at, reason: `sleep schedule "${policy.sleepSchedule.text}" (${policy.timezone})` });
    }
  }
  if (j.sleep.category === 'unknown') {
    if (candidates.length === 0) return out({ action: 'none', reason: j.sleep.reason });
  } else if (j.lastActivity !== undefined) {
    candidates.push({
      at: Math.max(j.lastActivity.at + policy.idleAfter, t),
      reason: `no activity for ${formatDuration(policy.idleAfter)} by then (last: ${j.lastActivity.detail})`,
    });
  }
  const next = candidates.sort((a, b) => a.at - b.at)[0];
  if (next === undefined) return out({ action: 'none', reason: j.sleep.reason });
  return out({ action: 'sleep', at: new Date(next.at), reason: next.reason });
}
