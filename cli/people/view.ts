/**
 * What `nozzle status` shows of a namespace, computed from the objects the
 * apiserver returns (Namespace, Deployments, StatefulSets): state and since
 * when, the policy's explanation (explain.ts), each workload with its
 * backed-up replicas, and the savings (lib/savings.ts).
 */
import type { V1Namespace } from '@kubernetes/client-node';
import { annotations } from '../../lib/names.js';
import { parseRfc3339 } from '../../lib/rfc3339.js';
import { exclusionOf } from '../../lib/sleep/exclusion.js';
import { sleptAt } from '../../lib/sleep/slept-at.js';
import { podRequests, savings, type Requests, type Savings } from '../../lib/savings.js';
import type { Workload, WorkloadKind } from '../../lib/kube/workloads.js';
import { explain, type Explanation, type ExplainOptions } from './explain.js';

export interface WorkloadView {
  readonly kind: WorkloadKind;
  readonly name: string;
  /** spec.replicas (absent: 1). */
  readonly replicas: number;
  readonly readyReplicas: number;
  /** nozzle.io/replicas: the count it had before sleeping. */
  readonly backedUp: number | undefined;
  readonly sleptAt: Date | undefined;
  /** Why Nozzle never puts it to sleep. */
  readonly excluded: string | undefined;
  readonly perPod: Requests;
}

export type State = 'awake' | 'asleep' | 'partly-asleep';

export interface NamespaceView {
  readonly name: string;
  readonly state: State;
  /** Since when it is in that state, and how that is known. */
  readonly since: { readonly at: Date; readonly how: string } | undefined;
  readonly explanation: Explanation;
  readonly workloads: readonly WorkloadView[];
  readonly savings: Savings;
}

export interface KindedWorkload {
  readonly kind: WorkloadKind;
  readonly workload: Workload;
}

export function workloadView({ kind, workload }: KindedWorkload): WorkloadView {
  const backup = workload.metadata?.annotations?.[annotations.replicas];
  const backedUp = backup !== undefined && /^[1-9]\d{0,8}$/.test(backup.trim()) ? Number(backup) : undefined;
  return {
    kind,
    name: workload.metadata?.name ?? '',
    replicas: workload.spec?.replicas ?? 1,
    readyReplicas: workload.status?.readyReplicas ?? 0,
    backedUp,
    sleptAt: sleptAt(workload.metadata ?? {}),
    excluded: exclusionOf(workload.metadata ?? {})?.reason,
    perPod: podRequests(workload.spec?.template.spec),
  };
}

export function namespaceView(
  namespace: V1Namespace,
  workloads: readonly KindedWorkload[],
  options: ExplainOptions,
): NamespaceView {
  const name = namespace.metadata?.name ?? '';
  const views = workloads.map(workloadView).sort((a, b) => a.name.localeCompare(b.name));
  const sleeping = views.filter((w) => w.replicas === 0 && w.backedUp !== undefined);
  const candidates = views.filter((w) => w.excluded === undefined);
  const state: State =
    sleeping.length === 0
      ? 'awake'
      : sleeping.length === candidates.length && candidates.every((w) => sleeping.includes(w))
        ? 'asleep'
        : 'partly-asleep';
  const facts = workloads.map(({ kind, workload }) => ({
    kind,
    namespace: name,
    name: workload.metadata?.name ?? '',
    replicas: workload.spec?.replicas,
    labels: workload.metadata?.labels ?? {},
    annotations: workload.metadata?.annotations ?? {},
  }));
  return {
    name,
    state,
    since: sinceOf(namespace, state, sleeping),
    explanation: explain(namespace, workloads, facts, options),
    workloads: views,
    savings: savings(
      sleeping.map((w) => ({ replicas: w.backedUp!, perPod: w.perPod, since: w.sleptAt })),
      options.now,
    ),
  };
}

/** Asleep: the newest sleep of its workloads (managedFields time); awake: nozzle.io/woke-at. */
function sinceOf(
  namespace: V1Namespace,
  state: State,
  sleeping: readonly WorkloadView[],
): NamespaceView['since'] {
  if (state === 'asleep') {
    const times = sleeping.flatMap((w) => (w.sleptAt ? [w.sleptAt.getTime()] : []));
    return times.length === 0
      ? undefined
      : { at: new Date(Math.max(...times)), how: 'the last workload put to sleep (managedFields)' };
  }
  const woke = namespace.metadata?.annotations?.[annotations.wokeAt];
  const at = woke === undefined ? undefined : parseRfc3339(woke);
  return at === undefined ? undefined : { at: new Date(at), how: annotations.wokeAt };
}
