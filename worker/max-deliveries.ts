/**
 * The one way a message could otherwise vanish: its last allowed delivery
 * was never answered (the worker crashed, hung or was killed), so JetStream
 * stops delivering it and only says so in an advisory. Every worker listens
 * (one of them, a queue group, handles each advisory): it copies the message
 * to NOZZLE_DLQ and removes it from the work queue.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { publishDeadLetter } from '../lib/jetstream/dead-letter.js';
import { describeError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import { parseMessage } from '../lib/messages.js';
import { jetstream as names } from '../lib/names.js';
import type { WorkerMetrics } from './metrics.js';

export const maxDeliveriesSubject = (stream: string, consumer: string): string =>
  `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`;

interface MaxDeliveriesAdvisory {
  readonly stream_seq: number;
  readonly deliveries: number;
}

export function watchMaxDeliveries(
  nc: NatsConnection,
  jsm: JetStreamManager,
  js: JetStreamClient,
  log: Logger,
  metrics: WorkerMetrics,
): Subscription {
  const subscription = nc.subscribe(maxDeliveriesSubject(names.stream, names.consumer), {
    queue: names.consumer,
  });
  void (async () => {
    for await (const advisory of subscription) {
      let data: MaxDeliveriesAdvisory;
      try {
        data = advisory.json<MaxDeliveriesAdvisory>();
      } catch {
        continue;
      }
      try {
        await deadLetterUnanswered(jsm, js, data);
        metrics.deadLetters.inc({ kind: 'max-deliver' });
        log.error({ seq: data.stream_seq, deliveries: data.deliveries }, 'dead-lettered: never acknowledged');
      } catch (err) {
        log.error(
          { seq: data.stream_seq, error: describeError(err) },
          'could not dead-letter an unanswered message',
        );
      }
    }
  })();
  return subscription;
}

async function deadLetterUnanswered(
  jsm: JetStreamManager,
  js: JetStreamClient,
  advisory: MaxDeliveriesAdvisory,
): Promise<void> {
  const stored = await jsm.streams
    .getMessage(names.stream, { seq: advisory.stream_seq })
    .catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return null;
      throw err;
    });
  if (stored === null) return; // already handled (acked, terminated or dead-lettered)
  let namespace: string | undefined;
  try {
    namespace = parseMessage(stored.data).namespace;
  } catch {
    namespace = undefined;
  }
  await publishDeadLetter(js, {
    kind: 'max-deliver',
    reason: `delivered ${advisory.deliveries} times and never acknowledged (the worker crashed, hung or was stopped each time)`,
    namespace,
    payload: stored.data,
    subject: stored.subject,
    streamSequence: stored.seq,
    deliveries: advisory.deliveries,
  });
  await jsm.streams.deleteMessage(names.stream, stored.seq, false);
}
