/**
 * Which workloads are due to sleep (design.md, "Policy"). Pure: the facts and
 * the clock go in, decisions come out; publisher/round.ts does the I/O.
 *
 * A workload is due when all of these hold:
 * - its namespace is opted in (the caller passes only those) and is not
 *   Nozzle's own, nor labelled nozzle.io/managed=true;
 * - the workload is not excluded (nozzle.io/exclude) nor part of Nozzle;
 * - it has replicas > 0;
 * - the namespace has been awake at least its nozzle.io/idle-after (default
 *   from the setting) since nozzle.io/woke-at; a namespace never stamped has
 *   been awake forever, so it is due.
 * An annotation that cannot be read skips what it is on, with the reason:
 * never a guess that puts something to sleep.
 */
import { DurationError, formatDuration, parseDuration } from '../lib/duration.js';
import { annotations, labels } from '../lib/names.js';
import { exclusionOf } from '../lib/sleep/exclusion.js';
import type { Kind } from '../lib/messages.js';
import { parseRfc3339 } from '../lib/rfc3339.js';

export interface NamespaceFacts {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
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
  /** Milliseconds awake before a namespace without nozzle.io/idle-after sleeps. */
  readonly defaultIdleAfter: number;
  /** Nozzle's own namespace, never put to sleep. */
  readonly systemNamespace: string;
}

export type SkipCategory = 'awake' | 'asleep' | 'excluded' | 'nozzle' | 'invalid';

export interface Due {
  readonly workload: WorkloadFacts;
  /** The namespace's nozzle.io/woke-at, as written (undefined: never stamped): names the decision. */
  readonly wokeAt: string | undefined;
}

export interface Skipped {
  readonly workload: WorkloadFacts;
  readonly category: SkipCategory;
  readonly reason: string;
}

export interface Decisions {
  readonly due: Due[];
  readonly skipped: Skipped[];
  /** Workloads in the opted-in namespaces: due + skipped. */
  readonly considered: number;
}

type NamespaceVerdict =
  | { readonly awakeLongEnough: true; readonly wokeAt: string | undefined }
  | { readonly awakeLongEnough: false; readonly category: SkipCategory; readonly reason: string };

export function decide(
  namespaces: readonly NamespaceFacts[],
  workloads: readonly WorkloadFacts[],
  options: PolicyOptions,
): Decisions {
  const verdicts = new Map(namespaces.map((ns) => [ns.name, judgeNamespace(ns, options)]));
  const due: Due[] = [];
  const skipped: Skipped[] = [];
  for (const workload of workloads) {
    const verdict = verdicts.get(workload.namespace);
    if (verdict === undefined) continue; // not an opted-in namespace
    const skip = (category: SkipCategory, reason: string): void =>
      void skipped.push({ workload, category, reason });
    const exclusion = exclusionOf(workload);
    if (workload.namespace === options.systemNamespace) skip('nozzle', `Nozzle's own namespace`);
    else if (exclusion !== undefined) skip(exclusion.category, exclusion.reason);
    else if ((workload.replicas ?? 1) === 0) skip('asleep', 'replicas 0');
    else if (!verdict.awakeLongEnough) skip(verdict.category, verdict.reason);
    else due.push({ workload, wokeAt: verdict.wokeAt });
  }
  return { due, skipped, considered: due.length + skipped.length };
}

function judgeNamespace(ns: NamespaceFacts, options: PolicyOptions): NamespaceVerdict {
  if (ns.name === options.systemNamespace) {
    return { awakeLongEnough: false, category: 'nozzle', reason: `Nozzle's own namespace` };
  }
  if (ns.labels?.[labels.managed] === 'true') {
    return {
      awakeLongEnough: false,
      category: 'nozzle',
      reason: `namespace labelled ${labels.managed}=true`,
    };
  }
  let idleAfter = options.defaultIdleAfter;
  const idleText = ns.annotations?.[annotations.idleAfter];
  if (idleText !== undefined) {
    try {
      idleAfter = parseDuration(idleText);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      return {
        awakeLongEnough: false,
        category: 'invalid',
        reason: `namespace ${ns.name}: ${annotations.idleAfter} "${idleText}": ${err.message}`,
      };
    }
  }
  const wokeAt = ns.annotations?.[annotations.wokeAt];
  if (wokeAt === undefined) return { awakeLongEnough: true, wokeAt };
  const woke = parseRfc3339(wokeAt);
  if (woke === undefined) {
    return {
      awakeLongEnough: false,
      category: 'invalid',
      reason: `namespace ${ns.name}: ${annotations.wokeAt} "${wokeAt}" is not an RFC 3339 date-time`,
    };
  }
  const awakeFor = options.now.getTime() - woke;
  if (awakeFor < idleAfter) {
    return {
      awakeLongEnough: false,
      category: 'awake',
      reason: `awake for ${formatDuration(Math.max(awakeFor, 0))} of ${formatDuration(idleAfter)}`,
    };
  }
  return { awakeLongEnough: true, wokeAt };
}
