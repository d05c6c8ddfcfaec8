/**
 * One publisher round: take the inventory, decide, publish one sleep message
 * per due workload, and report. A workload whose message could not be
 * published is counted as failed (the next round decides again); the round
 * goes on with the others.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import { decisionId, encodeMessage, sleepMessage, subjectOf } from '../lib/messages.js';
import { takeInventory } from './inventory.js';
import { decide, type SkipCategory } from './policy.js';

export interface RoundOptions {
  readonly selector: string;
  readonly pageSize: number;
  readonly defaultIdleAfter: number;
  readonly systemNamespace: string;
  readonly now?: Date;
}

export interface RoundReport {
  readonly namespaces: number;
  readonly workloads: number;
  readonly due: number;
  /** Stored by JetStream as new messages. */
  readonly published: number;
  /** Dropped by JetStream as re-publications of a decision already queued (same Nats-Msg-Id). */
  readonly duplicates: number;
  readonly failed: number;
  readonly skipped: Readonly<Record<SkipCategory, number>>;
  readonly listCalls: number;
}

/** Publishes at most this many at once, each waiting for its PubAck. */
const PUBLISH_BATCH = 64;

export async function publishRound(
  kube: Kube,
  js: JetStreamClient,
  log: Logger,
  options: RoundOptions,
): Promise<RoundReport> {
  const now = options.now ?? new Date();
  const inventory = await takeInventory(kube, options.selector, options.pageSize);
  const decisions = decide(inventory.namespaces, inventory.workloads, {
    now,
    defaultIdleAfter: options.defaultIdleAfter,
    systemNamespace: options.systemNamespace,
  });

  const skipped: Record<SkipCategory, number> = { awake: 0, asleep: 0, excluded: 0, nozzle: 0, invalid: 0 };
  for (const skip of decisions.skipped) {
    skipped[skip.category]++;
    const where = {
      namespace: skip.workload.namespace,
      workload: `${skip.workload.kind}/${skip.workload.name}`,
    };
    if (skip.category === 'invalid')
      log.warn({ ...where, reason: skip.reason }, 'skipped: invalid annotation');
    else log.debug({ ...where, category: skip.category, reason: skip.reason }, 'skipped');
  }

  let published = 0;
  let duplicates = 0;
  let failed = 0;
  for (let i = 0; i < decisions.due.length; i += PUBLISH_BATCH) {
    const batch = decisions.due.slice(i, i + PUBLISH_BATCH);
    const results = await Promise.allSettled(
      batch.map(({ workload, wokeAt }) => {
        const message = sleepMessage(workload.namespace, workload, { reason: 'idle', at: now });
        return js.publish(subjectOf(message), encodeMessage(message), { msgID: decisionId(message, wokeAt) });
      }),
    );
    results.forEach((result, j) => {
      const { workload } = batch[j]!;
      if (result.status === 'rejected') {
        failed++;
        log.error(
          {
            namespace: workload.namespace,
            workload: `${workload.kind}/${workload.name}`,
            err: result.reason,
          },
          'could not publish a sleep message',
        );
      } else if (result.value.duplicate) {
        duplicates++;
      } else {
        published++;
      }
    });
  }

  return {
    namespaces: inventory.namespaces.length,
    workloads: decisions.considered,
    due: decisions.due.length,
    published,
    duplicates,
    failed,
    skipped,
    listCalls: inventory.listCalls,
  };
}
