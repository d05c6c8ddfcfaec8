/**
 * Why a namespace is (not) going to sleep, and when: the ONE place the
 * people's commands consult the publisher's policy, through its own
 * explanation (publisher/explain.ts), so `nozzle status` and a publisher
 * round never disagree. The command reads what a person may read with a
 * kubeconfig: the Namespace and its workloads. It does not query Prometheus
 * and does not list pods, so traffic and pod creations are not among the
 * activity it shows (docs/cli.md).
 */
import type { V1Namespace } from '@kubernetes/client-node';
import { explainNamespace } from '../../publisher/explain.js';
import { lastChange, newest } from '../../publisher/activity.js';
import type { WorkloadFacts } from '../../publisher/policy.js';
import type { KindedWorkload } from './view.js';

export interface Activity {
  readonly at: Date;
  readonly source: string;
}

export interface Explanation {
  /** What happens next: put to sleep, woken by its schedule, woken by a request, or nothing. */
  readonly next: 'sleep' | 'wake' | 'wake-on-request' | 'never';
  /** When that happens; undefined: at the publisher's next round (or not at all). */
  readonly at: Date | undefined;
  readonly why: string;
  readonly lastActivity: Activity | undefined;
}

export interface ExplainOptions {
  readonly now: Date;
  /** The publisher's NOZZLE_IDLE_AFTER (the CLI assumes the default unless told). */
  readonly defaultIdleAfter: number;
  readonly systemNamespace: string;
  /** The publisher's NOZZLE_PUBLISH_PERIOD. */
  readonly period: number;
}

export function explain(
  namespace: V1Namespace,
  workloads: readonly KindedWorkload[],
  facts: readonly WorkloadFacts[],
  options: ExplainOptions,
): Explanation {
  const name = namespace.metadata?.name ?? '';
  const changed = newest(
    lastChange(namespace.metadata, `namespace ${name}`),
    ...workloads.map(({ kind, workload }) =>
      lastChange(workload.metadata, `${kind} ${workload.metadata?.name ?? ''}`),
    ),
  );
  const e = explainNamespace(
    {
      namespace: {
        name,
        labels: namespace.metadata?.labels ?? {},
        annotations: namespace.metadata?.annotations ?? {},
        ...(changed ? { changed } : {}),
      },
      workloads: facts,
      defaultIdleAfter: options.defaultIdleAfter,
      systemNamespace: options.systemNamespace,
      period: options.period,
    },
    options.now,
  );
  const lastActivity = e.lastActivity && { at: e.lastActivity.at, source: e.lastActivity.detail };
  const next =
    e.next.action === 'sleep'
      ? 'sleep'
      : e.next.action === 'wake'
        ? 'wake'
        : e.state === 'asleep'
          ? 'wake-on-request'
          : 'never';
  const at = e.next.at !== undefined && e.next.at.getTime() > options.now.getTime() ? e.next.at : undefined;
  return { next, at, why: e.next.reason, lastActivity };
}
