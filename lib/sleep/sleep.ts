/**
 * The sleep operation (design.md, "Sleep"): one message, one workload.
 *
 *   1. opt-in, staleness, the workload, its exclusion (as before any write)
 *   2. the Services that select its pods (headless and ExternalName ones are
 *      skipped with the reason: nothing can redirect them)
 *   3. the ready activator pods: none, and a Service to take over -> a
 *      retryable error, nothing written (never asleep without a wake path)
 *   4. takeover: for each Service its activator ports (Leases) and its
 *      takeover EndpointSlices, stamped nozzle.io/ensured-at (the time of
 *      this ensure: a redelivery writes a new one)
 *   5. scale to 0 and back up the replica count, in one conditional request
 *   6. KEDA: pause the workload's ScaledObjects at 0 (lib/keda)
 *   7. ensure the takeover again (same ports, same ensured-at: a read that
 *      writes nothing when the slices are as step 4 left them): a wake racing
 *      this sleep may have removed them between 4 and 5, and a workload at 0
 *      must keep its wake path
 *   (and an Event on the workload)
 *
 * Takeover goes first: a takeover while pods still run only sends some
 * traffic through the activator (which splices it to the ready pods), while
 * a workload at 0 without it would fail its callers. KEDA is paused after the
 * scale, not before: paused-replicas "0" makes KEDA scale the workload to 0
 * itself, and a scale Nozzle did not make leaves no backup of the count.
 *
 * Every step is idempotent and the state lives in the objects, so a
 * redelivery after a crash anywhere, or two workers on the same message,
 * converge to the same result ("already asleep" still runs 4, 6 and 7). A
 * sleep that ends skipped after step 4 (the namespace woke meanwhile) leaves
 * its slices to the activator leader, which removes a takeover whose Service
 * has ready endpoints of its own once it is older than NOZZLE_TAKEOVER_SETTLE.
 * Nozzle writes no Service, Ingress or controller-managed EndpointSlice.
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Kube } from '../kube/client.js';
import type { SleepMessage } from '../messages.js';
import { undefinedIfNotFound } from '../errors.js';
import { readWorkload, replicasOf, type Workload } from '../kube/workloads.js';
import { checkOptIn, refusalReason, type OptIn } from '../kube/opt-in.js';
import { pauseForSleep } from '../keda/paused-replicas.js';
import { assignPorts, type PortRange } from '../takeover/port-assignment.js';
import { listSelectingServices, type SkippedService } from '../takeover/selecting-services.js';
import { ensureTakeover } from '../takeover/takeover.js';
import {
  sliceMatches,
  takeoverSlices as buildSlices,
  type ActivatorPod,
} from '../takeover/takeover-slice.js';
import { annotations } from '../names.js';
import { NoActivatorError } from '../takeover/activator-pods.js';
import { recordSleepEvent } from './event.js';
import { exclusionOf } from './exclusion.js';
import { scaleToZero } from './scale.js';
import { staleReason } from './staleness.js';

export type SleepStep = 'takeover' | 'scale' | 'keda' | 'retakeover';

export interface SleepOptions {
  /** The namespaces the worker may act on (and Nozzle's own, where the Leases and activator pods are). */
  readonly optIn: OptIn;
  /** NOZZLE_ACTIVATOR_PORT_RANGE. */
  readonly portRange?: PortRange;
  /** The ready activator pods now: the worker's watch-fed cache, or listReadyActivatorPods. */
  readonly activatorPods: () => Promise<readonly ActivatorPod[]>;
  /** Called after each step: the worker extends the message's ack deadline here. */
  readonly afterStep?: (step: SleepStep, detail: Record<string, unknown>) => Promise<void> | void;
  /** A failed Event does not fail the sleep (the sleep happened); it is reported here. */
  readonly onEventError?: (err: unknown) => void;
  /**
   * A person's `nozzle sleep`, decided the moment it runs: no queued decision
   * that a wake since could have made stale, so woke-at is not compared (a
   * wake finishing a second earlier must not swallow "sleep now").
   */
  readonly decidedNow?: boolean;
}

export interface TakeoverSummary {
  /** The Services whose endpoints are taken over. */
  readonly services: readonly string[];
  /** Services that select the workload but cannot be taken over, with why. */
  readonly skipped: readonly SkippedService[];
  /** ScaledObjects paused by this sleep, and those left alone because their user paused them. */
  readonly keda: { readonly paused: readonly string[]; readonly userPaused: readonly string[] };
}

export type SleepOutcome =
  | ({ readonly outcome: 'slept'; readonly from: number } & TakeoverSummary)
  | ({ readonly outcome: 'already-asleep' } & TakeoverSummary)
  | { readonly outcome: 'skipped'; readonly reason: string };

export async function sleepWorkload(
  kube: Kube,
  message: SleepMessage,
  options: SleepOptions,
): Promise<SleepOutcome> {
  const { namespace } = message;
  const { kind, name } = message.workload;
  const { systemNamespace } = options.optIn;

  const readNamespace = () => kube.core.readNamespace({ name: namespace }).catch(undefinedIfNotFound);
  const ns = await readNamespace();
  if (ns === undefined) return { outcome: 'skipped', reason: `namespace ${namespace} not found` };
  checkOptIn(options.optIn, ns); // before anything else is read or written
  const staleBy = (annotations: Record<string, string> | undefined) =>
    options.decidedNow ? undefined : staleReason(message.at, annotations);
  const staleNow = staleBy(ns.metadata?.annotations);
  if (staleNow !== undefined) return { outcome: 'skipped', reason: staleNow };
  // Checked again just before the scale: the namespace may have woken, or opted out, meanwhile.
  const stale = async (): Promise<string | undefined> => {
    const now = await readNamespace();
    if (now === undefined) return `namespace ${namespace} not found`;
    const refused = refusalReason(options.optIn, now);
    if (refused !== undefined) return refused;
    return staleBy(now.metadata?.annotations);
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

  const { takeover, skipped } = await listSelectingServices(
    kube,
    namespace,
    workload.spec?.template.metadata?.labels ?? {},
  );
  const services = takeover.map((s) => s.metadata?.name ?? '');
  // A workload no Service selects needs no wake path to be reached: it sleeps without the activator.
  const activatorPods = takeover.length === 0 ? [] : await options.activatorPods();
  if (takeover.length > 0 && activatorPods.length === 0) throw new NoActivatorError(systemNamespace);

  // One ensure time and one port assignment for both ensures: the second (step 7) finds the
  // slices as step 4 left them and writes nothing, unless a wake removed or changed them meanwhile.
  const ensuredAt = new Date();
  const assigned = new Map<V1Service, ReadonlyMap<string, number>>();
  for (const service of takeover) {
    const { ports } = await assignPorts(kube, { systemNamespace, range: options.portRange }, service);
    assigned.set(service, ports);
  }
  const input = (service: V1Service, ports: ReadonlyMap<string, number>) =>
    ({ namespace, service, activatorPods, ports, ensuredAt }) as const;
  for (const [service, ports] of assigned) await ensureTakeover(kube, input(service, ports));
  await options.afterStep?.('takeover', { services, skipped });

  const scaled = await scaleToZero(kube, kind, namespace, name, stale, workload);
  await options.afterStep?.('scale', { result: scaled.result });
  switch (scaled.result) {
    case 'scaled':
    case 'already-asleep':
      break;
    case 'at-zero-without-backup':
      return { outcome: 'skipped', reason: 'scaled to 0 by someone else meanwhile; nothing to back up' };
    case 'not-found':
      return { outcome: 'skipped', reason: `${kind} ${namespace}/${name} was deleted meanwhile` };
    case 'vetoed':
      return { outcome: 'skipped', reason: scaled.reason };
  }

  const keda = await pauseForSleep(kube, namespace, { kind, name });
  await options.afterStep?.('keda', { ...keda });

  // Step 7: read each slice (a quorum read, never an outdated cache) and ensure again only when one is
  // missing or not as step 4 wrote it.
  for (const [service, ports] of assigned) {
    for (const wanted of buildSlices(input(service, ports))) {
      const name = wanted.metadata?.name ?? '';
      const current = await kube.discovery
        .readNamespacedEndpointSlice({ namespace, name })
        .catch(undefinedIfNotFound);
      if (current !== undefined && sliceMatches(current, wanted)) continue;
      await ensureTakeover(kube, input(service, ports));
      break;
    }
  }
  await options.afterStep?.('retakeover', { services });

  const summary: TakeoverSummary = {
    services,
    skipped,
    keda: { paused: keda.changed, userPaused: keda.userPaused },
  };
  if (scaled.result === 'already-asleep') return { outcome: 'already-asleep', ...summary };
  try {
    await recordSleepEvent(kube, kind, scaled.workload, scaled.from, summary);
  } catch (err) {
    options.onEventError?.(err);
  }
  return { outcome: 'slept', from: scaled.from, ...summary };
}
