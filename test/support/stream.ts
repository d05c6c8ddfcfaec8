/** JetStream helpers for the sleep-path tests, on a test file's private nats-server. */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { deadLetterHeaders } from '../../lib/jetstream/dead-letter.js';
import { ensureTopology, type TopologySettings } from '../../lib/jetstream/topology.js';
import { jetstream as names } from '../../lib/names.js';

export const testTopology: TopologySettings = {
  ackWait: 2_000,
  maxDeliver: 10,
  duplicateWindow: 60_000,
  maxAge: 3_600_000,
  deadLetterMaxAge: 3_600_000,
  replicas: 1,
  maxBytes: 256 * 1024 ** 2,
  deadLetterMaxBytes: 64 * 1024 ** 2,
  maxMessageSize: 16 * 1024,
};

/** The same settings as environment variables, for a `nozzle` child process. */
export const topologyEnv = (s: TopologySettings = testTopology): Record<string, string> => ({
  NOZZLE_ACK_WAIT: `${s.ackWait}ms`,
  NOZZLE_MAX_DELIVER: String(s.maxDeliver),
  NOZZLE_DUPLICATE_WINDOW: `${s.duplicateWindow}ms`,
  NOZZLE_STREAM_MAX_AGE: `${s.maxAge}ms`,
  NOZZLE_DLQ_MAX_AGE: `${s.deadLetterMaxAge}ms`,
  NOZZLE_STREAM_MAX_BYTES: String(s.maxBytes),
  NOZZLE_DLQ_MAX_BYTES: String(s.deadLetterMaxBytes),
  NOZZLE_MAX_MESSAGE_SIZE: String(s.maxMessageSize),
});

export async function setupTopology(nc: NatsConnection, overrides: Partial<TopologySettings> = {}) {
  return ensureTopology(nc, { ...testTopology, ...overrides });
}

export interface DeadLetterView {
  readonly subject: string;
  readonly kind: string | undefined;
  readonly reason: string | undefined;
  readonly originalSubject: string | undefined;
  readonly originalSequence: string | undefined;
  readonly deliveries: string | undefined;
  readonly originalSize: string | undefined;
  readonly payload: string;
}

export async function deadLetters(nc: NatsConnection): Promise<DeadLetterView[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(names.deadLetterStream);
  const out: DeadLetterView[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const stored = await jsm.streams.getMessage(names.deadLetterStream, { seq }).catch(() => null);
    if (!stored) continue;
    out.push({
      subject: stored.subject,
      kind: stored.header.get(deadLetterHeaders.kind) || undefined,
      reason: stored.header.get(deadLetterHeaders.reason) || undefined,
      originalSubject: stored.header.get(deadLetterHeaders.subject) || undefined,
      originalSequence: stored.header.get(deadLetterHeaders.sequence) || undefined,
      deliveries: stored.header.get(deadLetterHeaders.deliveries) || undefined,
      originalSize: stored.header.get(deadLetterHeaders.size) || undefined,
      payload: new TextDecoder().decode(stored.data),
    });
  }
  return out;
}

/** Messages still in the work queue, and the consumer's view of them. */
export async function queueState(nc: NatsConnection | JetStreamManager) {
  const jsm = 'streams' in nc ? nc : await jetstreamManager(nc);
  const stream = await jsm.streams.info(names.stream);
  const consumer = await jsm.consumers.info(names.stream, names.consumer);
  return {
    messages: stream.state.messages,
    pending: consumer.num_pending,
    ackPending: consumer.num_ack_pending,
    redelivered: consumer.num_redelivered,
  };
}

/** True once every message was answered and removed (acked or terminated). */
export async function queueEmpty(nc: NatsConnection): Promise<boolean> {
  const state = await queueState(nc);
  return state.messages === 0 && state.pending === 0 && state.ackPending === 0;
}
