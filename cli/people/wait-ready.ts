/**
 * `nozzle wake --wait`: watches the namespace's Deployments and StatefulSets
 * (the activator's list-then-watch, never polling) and prints a line each
 * time a workload's ready count changes (`web  1/3 ready`), until every
 * workload that should run is Ready (0) or the timeout expires (1, naming
 * what is not ready).
 */
import type { V1Deployment, V1StatefulSet } from '@kubernetes/client-node';
import { formatDuration } from '../../lib/duration.js';
import type { Kube } from '../../lib/kube/client.js';
import { createLogger } from '../../lib/log.js';
import { exclusionOf } from '../../lib/sleep/exclusion.js';
import { ListWatch } from '../../lib/kube/list-watch.js';
import { PersonError } from './errors.js';

type Workload = V1Deployment | V1StatefulSet;

interface Progress {
  readonly ready: number;
  readonly desired: number;
}

const progressOf = (w: Workload): Progress => ({
  ready: w.status?.readyReplicas ?? 0,
  desired: w.spec?.replicas ?? 1,
});

export async function waitReady(
  kube: Kube,
  namespace: string,
  timeout: number,
  out: (line: string) => void,
): Promise<number> {
  const log = createLogger({ name: 'nozzle-wake', level: 'silent', format: 'json' });
  const objects = { Deployment: new Map<string, Workload>(), StatefulSet: new Map<string, Workload>() };
  const printed = new Map<string, string>();
  let changed: () => void = () => {};
  const handlers = (map: Map<string, Workload>) => ({
    replace(items: readonly Workload[]) {
      map.clear();
      for (const item of items) map.set(item.metadata?.name ?? '', item);
      changed();
    },
    upsert(item: Workload) {
      map.set(item.metadata?.name ?? '', item);
      changed();
    },
    remove(item: Workload) {
      map.delete(item.metadata?.name ?? '');
      changed();
    },
  });
  // The first lists go through the typed client: a missing right fails here, at once.
  const [deployments, statefulSets] = await Promise.all([
    kube.apps.listNamespacedDeployment({ namespace }),
    kube.apps.listNamespacedStatefulSet({ namespace }),
  ]);
  let first = true;
  const watches = [
    new ListWatch<Workload>({
      config: kube.config,
      log,
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      list: () => (first ? Promise.resolve(deployments) : kube.apps.listNamespacedDeployment({ namespace })),
      handlers: handlers(objects.Deployment),
    }),
    new ListWatch<Workload>({
      config: kube.config,
      log,
      path: `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
      list: () =>
        first ? Promise.resolve(statefulSets) : kube.apps.listNamespacedStatefulSet({ namespace }),
      handlers: handlers(objects.StatefulSet),
    }),
  ];

  /** Workloads that should run: not excluded, replicas > 0. */
  const targets = (): [string, Progress][] =>
    [...objects.Deployment.values(), ...objects.StatefulSet.values()]
      .filter((w) => exclusionOf(w.metadata ?? {}) === undefined && (w.spec?.replicas ?? 1) > 0)
      .map((w) => [w.metadata?.name ?? '', progressOf(w)] as [string, Progress])
      .sort(([a], [b]) => a.localeCompare(b));
  const width = (): number => Math.max(0, ...targets().map(([name]) => name.length));

  let timer: NodeJS.Timeout | undefined;
  const outcome = await new Promise<'ready' | 'timeout'>((resolve) => {
    changed = () => {
      if (!watches.every((w) => w.synced)) return;
      const now = targets();
      for (const [name, p] of now) {
        const line = `${name.padEnd(width())}  ${p.ready}/${p.desired} ready`;
        if (printed.get(name) !== line) {
          printed.set(name, line);
          out(line);
        }
      }
      if (now.every(([, p]) => p.ready >= p.desired)) resolve('ready');
    };
    timer = setTimeout(() => resolve('timeout'), timeout);
    for (const w of watches) w.start();
    void Promise.all(watches.map((w) => w.whenSynced())).then(() => {
      first = false;
      changed();
    });
  });
  clearTimeout(timer);
  await Promise.all(watches.map((w) => w.stop()));
  const all = targets();
  if (outcome === 'ready') {
    out(`all ${all.length} workload${all.length === 1 ? '' : 's'} of ${namespace} ready`);
    return 0;
  }
  const waiting = all.filter(([, p]) => p.ready < p.desired).map(([n, p]) => `${n} ${p.ready}/${p.desired}`);
  const why = watches.map((w) => w.lastError).find((e) => e !== undefined);
  throw new PersonError(
    `not ready after ${formatDuration(timeout)}: ${waiting.join(', ')}${why ? ` (watch: ${why})` : ''}`,
  );
}
