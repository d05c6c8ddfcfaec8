/**
 * The leader's upgrade from 0.1 (lib/upgrade/ingress-v01.ts): every namespace
 * with an Ingress 0.1 rewrote is woken, its Ingresses restored exactly and
 * its route Service deleted; each is logged and recorded as an Event on the
 * namespace. A namespace that fails is retried at the next resync.
 */
import type { Kube } from '../../lib/kube/client.js';
import { recordEvent } from '../../lib/kube/events.js';
import { describeError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import {
  namespacesAsleepV01,
  upgradeNamespaceV01,
  type UpgradeResult,
} from '../../lib/upgrade/ingress-v01.js';
import { WAKE_REPORTING_CONTROLLER } from '../../lib/wake/event.js';

export function upgradeNote(result: UpgradeResult): string {
  const workloads = result.workloads.map((w) => `${w.kind} ${w.name} -> ${w.replicas}`);
  return (
    `Woke from a Nozzle 0.1 sleep: Ingress ${result.ingresses.join(', ') || '(none left)'} restored` +
    (workloads.length > 0 ? `; ${workloads.join(', ')}` : '') +
    (result.routeServiceDeleted ? '; route Service nozzle-activator deleted' : '')
  );
}

/** Upgrades every 0.1 leftover (in `only`, when given); returns the namespaces done. Failures are logged, not thrown. */
export async function upgradeAllV01(kube: Kube, log: Logger, only?: string): Promise<string[]> {
  const done: string[] = [];
  for (const namespace of await namespacesAsleepV01(kube, only)) {
    try {
      const result = await upgradeNamespaceV01(kube, namespace);
      const note = upgradeNote(result);
      log.info({ namespace, ...result }, note);
      await recordEvent(kube, {
        namespace,
        regarding: { apiVersion: 'v1', kind: 'Namespace', name: namespace, namespace },
        action: 'Upgrade',
        reason: 'Woke',
        note,
        type: 'Normal',
        reportingController: WAKE_REPORTING_CONTROLLER,
      }).catch((err: unknown) =>
        log.warn({ namespace, err: describeError(err) }, 'could not record the Event'),
      );
      done.push(namespace);
    } catch (err) {
      log.error(
        { namespace, err: describeError(err) },
        'upgrading a namespace 0.1 left asleep failed; retried at the next resync',
      );
    }
  }
  return done;
}
