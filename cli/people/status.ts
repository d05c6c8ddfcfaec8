/**
 * `nozzle status [namespace]`: one row per opted-in namespace. A constant
 * number of calls whatever the number of namespaces: the Namespace (or the
 * label-selected list), then the Deployments and StatefulSets (of the one
 * namespace, or cluster-wide, paged).
 */
import type { V1ListMeta, V1Namespace } from '@kubernetes/client-node';
import type { Kube } from '../../lib/kube/client.js';
import { publisherSettings } from '../../publisher/settings.js';
import { optIn as optInSettings } from '../../lib/config/nozzle.js';
import { UsageError, optInFrom, outputOf, settingsFrom } from './args.js';
import { readOptedIn } from './errors.js';
import { render } from './render.js';
import { namespaceView, type KindedWorkload } from './view.js';
import type { PersonCommand } from './command.js';

const PAGE = 500;

async function listAll<T>(
  page: (token: string | undefined) => Promise<{ items: T[]; metadata?: V1ListMeta }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const result = await page(token);
    items.push(...result.items);
    token = result.metadata?._continue || undefined;
  } while (token !== undefined);
  return items;
}

async function workloadsOf(kube: Kube, namespace: string | undefined): Promise<KindedWorkload[]> {
  const page = { limit: PAGE };
  const [deployments, statefulSets] = await Promise.all([
    listAll((_continue) =>
      namespace === undefined
        ? kube.apps.listDeploymentForAllNamespaces({ ...page, _continue })
        : kube.apps.listNamespacedDeployment({ namespace, ...page, _continue }),
    ),
    listAll((_continue) =>
      namespace === undefined
        ? kube.apps.listStatefulSetForAllNamespaces({ ...page, _continue })
        : kube.apps.listNamespacedStatefulSet({ namespace, ...page, _continue }),
    ),
  ]);
  return [
    ...deployments.map((workload) => ({ kind: 'Deployment' as const, workload })),
    ...statefulSets.map((workload) => ({ kind: 'StatefulSet' as const, workload })),
  ];
}

const command: PersonCommand = {
  summary:
    'Show each opted-in namespace (or one): awake or asleep and since when, last activity, when and why it goes to sleep, its workloads with their backed-up replicas, and the CPU and memory requests saved while asleep.',
  usage: 'nozzle status [namespace] [-o json|wide] [--idle-after 30m]',
  flags: ['--output', '--idle-after'],
  booleans: [],
  need: 'viewer',
  async run(args, kube, out) {
    const output = outputOf(args);
    if (args.positionals.length > 1) throw new UsageError('usage: nozzle status [namespace]');
    const rules = optInFrom(args);
    const { idleAfter, period } = settingsFrom(
      { idleAfter: publisherSettings.idleAfter, period: publisherSettings.period },
      args,
    );
    const { systemNamespace } = settingsFrom(optInSettings, args);
    const [name] = args.positionals;
    const now = new Date();
    let namespaces: V1Namespace[];
    if (name !== undefined) {
      namespaces = [await readOptedIn(kube, name, rules)];
    } else {
      namespaces = (
        await listAll((_continue) =>
          kube.core.listNamespace({ labelSelector: rules.selector.text, limit: PAGE, _continue }),
        )
      ).filter((ns) => ns.metadata?.name !== systemNamespace);
    }
    const workloads = namespaces.length === 0 ? [] : await workloadsOf(kube, name);
    const views = namespaces
      .map((ns) =>
        namespaceView(
          ns,
          workloads.filter((w) => w.workload.metadata?.namespace === ns.metadata?.name),
          { now, defaultIdleAfter: idleAfter, systemNamespace, period },
        ),
      )
      .sort((a, b) => a.name.localeCompare(b.name));
    if (views.length === 0 && output !== 'json') {
      out(`no namespace matches the opt-in selector "${rules.selector.text}"`);
      return 0;
    }
    out(render(views, output, now));
    return 0;
  },
};

export default command;
