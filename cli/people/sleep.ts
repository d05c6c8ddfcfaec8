/**
 * `nozzle sleep <namespace>`: puts every Deployment and StatefulSet of the
 * namespace to sleep now, whatever its activity, with the worker's own sleep
 * (lib/sleep/sleep.ts: takeover EndpointSlices, scale to 0 with the backup,
 * KEDA pause, Event) under the person's rights. Idempotent: a second run finds
 * everything asleep and changes nothing.
 */
import { WORKLOAD_KINDS, listWorkloads } from '../../lib/kube/workloads.js';
import { sleepMessage } from '../../lib/messages.js';
import { sleepWorkload, type SleepOutcome } from '../../lib/sleep/sleep.js';
import { takeover } from '../../lib/config/nozzle.js';
import { listReadyActivatorPods } from '../../lib/takeover/activator-pods.js';
import { oneNamespace, optInFrom, settingsFrom } from './args.js';
import { readOptedIn } from './errors.js';
import { table } from './render.js';
import type { PersonCommand } from './command.js';

function describe(outcome: SleepOutcome): string {
  switch (outcome.outcome) {
    case 'slept':
      return `slept (replicas ${outcome.from} -> 0)`;
    case 'already-asleep':
      return 'already asleep';
    case 'skipped':
      return `not put to sleep: ${outcome.reason}`;
  }
}

const command: PersonCommand = {
  summary:
    'Put the namespace to sleep now, whatever its activity: every Deployment and StatefulSet not excluded goes to 0 with its replica count backed up. Running it again changes nothing.',
  usage: 'nozzle sleep <namespace>',
  flags: [],
  booleans: [],
  need: 'user',
  async run(args, kube, out) {
    const namespace = oneNamespace(args, 'sleep');
    const rules = optInFrom(args);
    const { portRange } = settingsFrom(takeover, args);
    const activatorPods = () => listReadyActivatorPods(kube, rules.systemNamespace);
    await readOptedIn(kube, namespace, rules);
    const rows: string[][] = [['WORKLOAD', 'RESULT']];
    const at = new Date();
    for (const kind of WORKLOAD_KINDS) {
      for (const workload of await listWorkloads(kube, kind, namespace)) {
        const name = workload.metadata?.name ?? '';
        const message = sleepMessage(namespace, { kind, name }, { reason: 'manual', at });
        const outcome = await sleepWorkload(kube, message, {
          optIn: rules,
          portRange,
          activatorPods,
          decidedNow: true,
        });
        rows.push([`${kind.toLowerCase()}/${name}`, describe(outcome)]);
      }
    }
    if (rows.length === 1) {
      out(`namespace "${namespace}" has no Deployment or StatefulSet: nothing to put to sleep`);
      return 0;
    }
    out(table(rows));
    return 0;
  },
};

export default command;
