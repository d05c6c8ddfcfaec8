/**
 * The sleep operation (design.md, "Sleep"): one message, one workload.
 *
 *   1. ensure the nozzle-activator route Service
 *   2. rewrite the Ingress paths to the workload's Services, backing them up
 *   3. scale to 0 and back up the replica count, in one conditional request
 *   (and an Event on the workload)
 *
 * Before any step: the namespace must have opted in (opt-in.ts; otherwise the
 * message is refused), and no Ingress path to the workload may carry an
 * annotation the activator cannot route (ingress-compat.ts; otherwise the
 * workload stays awake and gets a NotSleeping Event).
 *
 * Every step is idempotent and the state lives in the objects, so a
 * redelivery after a crash anywhere, or two workers on the same message,
 * converge to the same result. The Ingress goes first: a workload at 0 whose
 * Ingress still points at it would answer 503 until woken by hand, while an
 * Ingress pointing at the activator for a running workload only costs a
 * forward.
 */
import type { Kube } from '../kube/client.js';
import type { SleepMessage } from '../messages.js';
import { undefinedIfNotFound } from '../errors.js';
import { readWorkload, replicasOf, type Workload } from '../kube/workloads.js';
import { recordNotSleepingEvent, recordSleepEvent } from './event.js';
import { exclusionOf } from './exclusion.js';
import { incompatibleIngresses } from './ingress-compat.js';
import { rewriteIngresses } from './ingress-rewrite.js';
import { checkOptIn, refusalReason, type OptIn } from '../kube/opt-in.js';
import { ensureRouteService } from './route-service.js';
import { scaleToZero } from './scale.js';
import { servicesSelecting } from './selectors.js';
import { staleReason } from './staleness.js';
import { annotations } from '../names.js';

export type SleepStep = 'route-service' | 'ingress-rewrite' | 'scale';

export interface SleepOptions {
  /** In-cluster DNS name of the activator Service. */
  readonly activatorService: string;
  /** The namespaces the worker may act on; any other is refused (NamespaceRefusedError). */
  readonly optIn: OptIn;
  /** Called after each step: the worker extends the message's ack deadline here. */
  readonly afterStep?: (step: SleepStep, detail: Record<string, unknown>) => Promise<void> | void;
  /** A failed Event does not fail the sleep (the sleep happened); it is reported here. */
  readonly onEventError?: (err: unknown) => void;
}

export type SleepOutcome =
  | { readonly outcome: 'slept'; readonly from: number; readonly ingresses: readonly string[] }
  | { readonly outcome: 'already-asleep'; readonly ingresses: readonly string[] }
  | { readonly outcome: 'skipped'; readonly reason: string };

export async function sleepWorkload(
  kube: Kube,
  message: SleepMessage,
  options: SleepOptions,
): Promise<SleepOutcome> {
  const { namespace } = message;
  const { kind, name } = message.workload;

  const readNamespace = () => kube.core.readNamespace({ name: namespace }).catch(undefinedIfNotFound);
  const ns = await readNamespace();
  if (ns === undefined) return { outcome: 'skipped', reason: `namespace ${namespace} not found` };
  checkOptIn(options.optIn, ns); // before anything else is read or written
  const staleNow = staleReason(message.at, ns.metadata?.annotations);
  if (staleNow !== undefined) return { outcome: 'skipped', reason: staleNow };
  // Checked again just before the scale: the namespace may have woken, or opted out, meanwhile.
  const stale = async (): Promise<string | undefined> => {
    const now = await readNamespace();
    if (now === undefined) return `namespace ${namespace} not found`;
    const refused = refusalReason(options.optIn, now);
    if (refused !== undefined) return refused;
    return staleReason(message.at, now.metadata?.annotations);
  };

  const workload: Workload | undefined = await readWorkload(kube, kind, namespace, name).catch(
    undefinedIfNotFound,
  );
  if (workload === undefined) return { outcome: 'skipped', reason: `${kind} ${namespace}/${name} not found` };
  const excluded = exclusionOf(workload.metadata ?? {});
  if (excluded !== undefined) return { outcome: 'skipped', reason: excluded.reason };
  if (replicasOf(workload) === 0 && workload.metadata?.annotations?.[annotations.replicas] === undefined) {
    return { outcome: 'skipped', reason: 'already at 0 replicas with no backup: not put to sleep by Nozzle' };
  }

  const services = servicesSelecting(
    (await kube.core.listNamespacedService({ namespace })).items,
    workload.spec?.template.metadata?.labels ?? {},
  );
  const listedIngresses =
    services.length === 0 ? [] : (await kube.networking.listNamespacedIngress({ namespace })).items;
  const incompatible = incompatibleIngresses(listedIngresses, new Set(services));
  if (incompatible.length > 0) {
    const reason = `not put to sleep: ${incompatible.map((i) => i.reason).join('; ')}`;
    try {
      await recordNotSleepingEvent(kube, kind, workload, reason);
    } catch (err) {
      options.onEventError?.(err);
    }
    return { outcome: 'skipped', reason };
  }

  await ensureRouteService(kube, namespace, options.activatorService);
  await options.afterStep?.('route-service', {});

  const ingresses = await rewriteIngresses(kube, namespace, services, listedIngresses);
  await options.afterStep?.('ingress-rewrite', { services, ingresses });

  const scaled = await scaleToZero(kube, kind, namespace, name, stale);
  await options.afterStep?.('scale', { result: scaled.result });
  switch (scaled.result) {
    case 'scaled':
      try {
        await recordSleepEvent(kube, kind, scaled.workload, scaled.from);
      } catch (err) {
        options.onEventError?.(err);
      }
      return { outcome: 'slept', from: scaled.from, ingresses };
    case 'already-asleep':
      return { outcome: 'already-asleep', ingresses };
    case 'at-zero-without-backup':
      return { outcome: 'skipped', reason: 'scaled to 0 by someone else meanwhile; nothing to back up' };
    case 'not-found':
      return { outcome: 'skipped', reason: `${kind} ${namespace}/${name} was deleted meanwhile` };
    case 'vetoed':
      return { outcome: 'skipped', reason: scaled.reason };
  }
}
