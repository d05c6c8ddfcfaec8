/**
 * Which workloads are due to sleep and which namespaces are due to wake
 * (design.md, "Policy"). Pure: the facts and the clock go in, decisions come
 * out; publisher/round.ts does the I/O, publisher/explain.ts says the same
 * thing to a person.
 *
 * A namespace (opted in; not Nozzle's own nor labelled nozzle.io/managed=true)
 * is due to sleep, in this order of rules:
 * 1. never while nozzle.io/keep-awake-until is in the future;
 * 2. when its sleep schedule fired since the last round (the round period)
 *    after its last wake, even if active, unless its wake schedule fired at
 *    the same time or later;
 * 3. never when the traffic source could not be read this round;
 * 4. when it has had no activity for its nozzle.io/idle-after (default from
 *    the setting): the newest of its last request, its last change (a
 *    workload created or rolled out, a pod created, the Namespace edited,
 *    e.g. labelled), its last wake and keep-awake-until.
 * Within a due namespace, each workload is due unless excluded, part of
 * Nozzle, or at 0 replicas already.
 *
 * A namespace is due to wake when its wake schedule fired since the last
 * round, after its last wake and not before a sleep-schedule fire of the same
 * window, and some workload of it is asleep.
 *
 * An annotation that cannot be read skips the namespace with the reason:
 * never a guess that puts something to sleep.
 */
import { formatDuration } from '../lib/duration.js';
import { annotations, labels } from '../lib/names.js';
import { exclusionOf } from '../lib/sleep/exclusion.js';
import type { Kind } from '../lib/messages.js';
import { newest, TRAFFIC_NOT_COUNTED, type Activity, type Traffic } from './activity.js';
import { lastFire } from './cron.js';
import { readNamespacePolicy, type NamespacePolicy } from './namespace-annotations.js';

export interface NamespaceFacts {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** The newest change in the namespace: the Namespace itself, its workloads, its pods (publisher/inventory.ts). */
  readonly changed?: Activity;
}

export interface WorkloadFacts {
  readonly kind: Kind;
  readonly namespace: string;
  readonly name: string;
  /** spec.replicas; absent means 1. */
  readonly replicas: number | undefined;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface PolicyOptions {
  readonly now: Date;
  /** Milliseconds without activity before a namespace without nozzle.io/idle-after sleeps. */
  readonly defaultIdleAfter: number;
  /** Nozzle's own namespace, never put to sleep. */
  readonly systemNamespace: string;
  /** The time between rounds: a schedule that fired within this much before `now` is due. */
  readonly period: number;
  /** Requests seen by the gateway; not counted when absent. */
  readonly traffic?: Traffic;
}

/** `unknown`: the traffic source could not be read this round. */
export type SkipCategory = 'awake' | 'asleep' | 'excluded' | 'nozzle' | 'invalid' | 'unknown';

export interface Due {
  readonly workload: WorkloadFacts;
  /** The namespace's nozzle.io/woke-at, as written (undefined: never stamped): names the decision. */
  readonly wokeAt: string | undefined;
  /** `idle` or `schedule`: the message's reason. */
  readonly reason: SleepReason;
}

export interface Skipped {
  readonly workload: WorkloadFacts;
  readonly category: SkipCategory;
  readonly reason: string;
}

export interface Wake {
  readonly namespace: string;
  /** The scheduled time that fired (ms): the message's `at`, so its Nats-Msg-Id is per scheduled minute. */
  readonly at: number;
}

export interface Decisions {
  readonly due: Due[];
  readonly skipped: Skipped[];
  readonly wakes: Wake[];
  /** Workloads in the opted-in namespaces: due + skipped. */
  readonly considered: number;
}

export type SleepReason = 'idle' | 'schedule';

export type SleepVerdict =
  | { readonly due: true; readonly reason: SleepReason; readonly detail: string }
  | { readonly due: false; readonly category: SkipCategory; readonly reason: string };

/** Everything the policy concluded about one namespace; explainNamespace reads it too. */
export interface NamespaceJudgement {
  readonly policy?: NamespacePolicy;
  readonly lastActivity?: Activity;
  readonly sleep: SleepVerdict;
  /** A wake-schedule fire due this round (ms); published only when something in the namespace is asleep. */
  readonly wakeAt?: number;
}

export function decide(
  namespaces: readonly NamespaceFacts[],
  workloads: readonly WorkloadFacts[],
  options: PolicyOptions,
): Decisions {
  const judged = new Map(namespaces.map((ns) => [ns.name, judgeNamespace(ns, options)]));
  const due: Due[] = [];
  const skipped: Skipped[] = [];
  const sleeping = new Set<string>();
  for (const workload of workloads) {
    const judgement = judged.get(workload.namespace);
    if (judgement === undefined) continue; // not an opted-in namespace
    if (isAsleep(workload)) sleeping.add(workload.namespace);
    const skip = (category: SkipCategory, reason: string): void =>
      void skipped.push({ workload, category, reason });
    const exclusion = exclusionOf(workload);
    const verdict = judgement.sleep;
    if (workload.namespace === options.systemNamespace) skip('nozzle', `Nozzle's own namespace`);
    else if (exclusion !== undefined) skip(exclusion.category, exclusion.reason);
    else if ((workload.replicas ?? 1) === 0) skip('asleep', 'replicas 0');
    else if (!verdict.due) skip(verdict.category, verdict.reason);
    else due.push({ workload, wokeAt: judgement.policy?.wokeAt?.text, reason: verdict.reason });
  }
  const wakes: Wake[] = [];
  for (const [namespace, judgement] of judged) {
    if (judgement.wakeAt !== undefined && sleeping.has(namespace))
      wakes.push({ namespace, at: judgement.wakeAt });
  }
  return { due, skipped, wakes, considered: due.length + skipped.length };
}

/** Put to sleep by Nozzle: at 0 with the original replica count kept. */
export const isAsleep = (workload: WorkloadFacts): boolean =>
  (workload.replicas ?? 1) === 0 && workload.annotations?.[annotations.replicas] !== undefined;

export function judgeNamespace(ns: NamespaceFacts, options: PolicyOptions): NamespaceJudgement {
  if (ns.name === options.systemNamespace) {
    return { sleep: { due: false, category: 'nozzle', reason: `Nozzle's own namespace` } };
  }
  if (ns.labels?.[labels.managed] === 'true') {
    return { sleep: { due: false, category: 'nozzle', reason: `namespace labelled ${labels.managed}=true` } };
  }
  const reading = readNamespacePolicy(ns.name, ns.annotations, options.defaultIdleAfter);
  if (!reading.ok) return { sleep: { due: false, category: 'invalid', reason: reading.reason } };
  const policy = reading.policy;
  const now = options.now.getTime();
  const traffic = options.traffic ?? TRAFFIC_NOT_COUNTED;
  const wokeAt = policy.wokeAt?.at ?? -Infinity;

  const since = now - options.period;
  const sleepFire = policy.sleepSchedule && lastFire(policy.sleepSchedule, policy.timezone, since, now);
  const wakeFire = policy.wakeSchedule && lastFire(policy.wakeSchedule, policy.timezone, since, now);
  const wakeAt =
    wakeFire !== undefined && wakeFire > wokeAt && !(sleepFire !== undefined && sleepFire > wakeFire)
      ? wakeFire
      : undefined;

  const requested = traffic.counted ? traffic.lastRequest.get(ns.name) : undefined;
  const lastActivity = newest(
    requested === undefined
      ? undefined
      : {
          at: requested,
          source: 'traffic',
          detail: `requests seen by ${traffic.counted ? traffic.source : ''}`,
        },
    ns.changed,
    policy.wokeAt && { at: policy.wokeAt.at, source: 'wake', detail: `woke (${annotations.wokeAt})` },
    policy.keepAwakeUntil === undefined
      ? undefined
      : { at: policy.keepAwakeUntil, source: 'keep-awake-until', detail: annotations.keepAwakeUntil },
  );
  const judged = (sleep: SleepVerdict): NamespaceJudgement => ({
    policy,
    sleep,
    ...(lastActivity ? { lastActivity } : {}),
    ...(wakeAt !== undefined ? { wakeAt } : {}),
  });

  if (policy.keepAwakeUntil !== undefined && policy.keepAwakeUntil > now) {
    return judged({
      due: false,
      category: 'awake',
      reason: `kept awake until ${new Date(policy.keepAwakeUntil).toISOString()} (${annotations.keepAwakeUntil})`,
    });
  }
  if (sleepFire !== undefined && sleepFire > wokeAt && !(wakeFire !== undefined && wakeFire >= sleepFire)) {
    return judged({
      due: true,
      reason: 'schedule',
      detail: `sleep schedule "${policy.sleepSchedule!.text}" (${policy.timezone}) fired at ${new Date(sleepFire).toISOString()}`,
    });
  }
  if (!traffic.counted && traffic.unavailable !== undefined) {
    return judged({
      due: false,
      category: 'unknown',
      reason: `traffic unknown this round: ${traffic.unavailable}`,
    });
  }
  if (lastActivity === undefined)
    return judged({ due: true, reason: 'idle', detail: 'no activity ever seen' });
  const idleFor = now - lastActivity.at;
  if (idleFor < policy.idleAfter) {
    return judged({
      due: false,
      category: 'awake',
      reason: `idle for ${formatDuration(Math.max(idleFor, 0))} of ${formatDuration(policy.idleAfter)} (last: ${lastActivity.detail})`,
    });
  }
  return judged({
    due: true,
    reason: 'idle',
    detail: `idle for ${formatDuration(idleFor)} (last: ${lastActivity.detail})`,
  });
}
