/**
 * The JetStream objects Nozzle relies on, created or brought up to date by
 * `nozzle setup` and by every publisher run (idempotent: running it twice,
 * or two of them at once, converges to the same configuration).
 *
 * - NOZZLE: the work queue of sleep and wake messages.
 * - nozzle-worker: the durable pull consumer the workers share and KEDA
 *   measures the lag of.
 * - NOZZLE_DLQ: dead letters, kept for a person to inspect and re-publish.
 *
 * NOZZLE's subjects are `nozzle.sleep.>` and `nozzle.wake.>`, not `nozzle.>`:
 * JetStream refuses streams with overlapping subjects, and `nozzle.>` would
 * capture the dead letters' `nozzle.dead.>` too.
 *
 * Both streams have a size limit and a message size limit (only the
 * publisher's and the worker's NATS users may publish, but a compromised one
 * could flood). When NOZZLE is full it refuses new
 * messages (DiscardNew: the publisher's error says so, and its next round
 * publishes again) rather than drop queued real work; NOZZLE_DLQ drops its
 * oldest dead letters (DiscardOld). Lowering a limit below what a stream
 * holds: JetStream keeps everything in NOZZLE (DiscardNew removes nothing,
 * it only refuses until the workers drain it) and removes the oldest dead
 * letters from NOZZLE_DLQ at once; ensureTopology says so in its report.
 *
 * Both streams have NOZZLE_STREAM_REPLICAS replicas (3 on the clustered NATS
 * of k8s/components/nats-cluster). A stream update changes an existing
 * stream's count (nats-server 2.10 and later): going from 1 to 3, the new
 * replicas catch up from the leader while the stream keeps serving.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
  type StreamState,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { jetstream as names } from '../names.js';
import { describeError } from '../errors.js';
import { DEAD_LETTER_MAX_SIZE } from './dead-letter.js';

export interface TopologySettings {
  readonly ackWait: number;
  readonly maxDeliver: number;
  readonly duplicateWindow: number;
  readonly maxAge: number;
  readonly deadLetterMaxAge: number;
  readonly replicas: number;
  /** NOZZLE's size limit in bytes. */
  readonly maxBytes: number;
  /** NOZZLE_DLQ's size limit in bytes. */
  readonly deadLetterMaxBytes: number;
  /** The largest message either stream stores, headers included (at least DEAD_LETTER_MAX_SIZE). */
  readonly maxMessageSize: number;
}

export type Change = 'created' | 'updated' | 'unchanged';

export interface TopologyReport {
  readonly stream: Change;
  readonly deadLetterStream: Change;
  readonly consumer: Change;
  /** What the update did that a person should know: messages JetStream removed, or a stream over its limit. */
  readonly warnings: readonly string[];
}

export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

type DesiredStream = Pick<
  StreamConfig,
  | 'name'
  | 'subjects'
  | 'retention'
  | 'storage'
  | 'discard'
  | 'max_age'
  | 'max_bytes'
  | 'max_msg_size'
  | 'duplicate_window'
  | 'num_replicas'
  | 'description'
>;

/**
 * Work-queue retention: a message is removed once acknowledged (or
 * terminated), so the stream holds exactly the work not done yet. Full, it
 * refuses new messages instead of dropping queued ones (JetStream allows
 * either discard policy with work-queue retention).
 */
export function workStreamConfig(s: TopologySettings): DesiredStream {
  return {
    name: names.stream,
    description: 'Nozzle sleep and wake operations, one message per workload or namespace',
    subjects: [...names.subjects],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: nanos(s.maxAge),
    max_bytes: s.maxBytes,
    max_msg_size: s.maxMessageSize,
    duplicate_window: nanos(Math.min(s.duplicateWindow, s.maxAge)),
    num_replicas: s.replicas,
  };
}

/** Limits retention: kept for their max age; full, the oldest dead letters go first. */
export function deadLetterStreamConfig(s: TopologySettings): DesiredStream {
  return {
    name: names.deadLetterStream,
    description:
      'Nozzle messages that could not be processed: body as received, the reason in Nozzle-Dead-* headers',
    subjects: [names.deadLetterSubjects],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(s.deadLetterMaxAge),
    max_bytes: s.deadLetterMaxBytes,
    max_msg_size: s.maxMessageSize,
    duplicate_window: nanos(Math.min(s.duplicateWindow, s.deadLetterMaxAge)),
    num_replicas: s.replicas,
  };
}

type DesiredConsumer = Pick<
  ConsumerConfig,
  | 'durable_name'
  | 'ack_policy'
  | 'ack_wait'
  | 'max_deliver'
  | 'backoff'
  | 'deliver_policy'
  | 'replay_policy'
  | 'description'
>;

export function workerConsumerConfig(s: TopologySettings): DesiredConsumer {
  const backoff = consumerBackoff(s.ackWait, s.maxDeliver);
  return {
    durable_name: names.consumer,
    description: 'Nozzle workers; KEDA scales them on its lag',
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    // With a backoff, JetStream takes the ack wait of delivery n from backoff[n-1]; ack_wait = backoff[0].
    ack_wait: nanos(s.ackWait),
    max_deliver: s.maxDeliver,
    ...(backoff.length > 0 ? { backoff: backoff.map(nanos) } : {}),
  };
}

/**
 * How long JetStream waits for an acknowledgment before redelivering, per
 * delivery: the ack wait, doubling, up to 16x (or the ack wait itself when
 * that is already longer). It applies only to deliveries nobody answered (a
 * worker that crashed or hung): a worker that fails an operation answers with
 * its own nak delay. JetStream requires fewer entries than max_deliver.
 */
export function consumerBackoff(ackWait: number, maxDeliver: number): number[] {
  const entries = Math.min(maxDeliver - 1, 5);
  return Array.from({ length: Math.max(entries, 0) }, (_, i) => ackWait * 2 ** i);
}

/** Creates or updates NOZZLE, NOZZLE_DLQ and the nozzle-worker consumer. */
export async function ensureTopology(
  nc: NatsConnection,
  settings: TopologySettings,
): Promise<TopologyReport> {
  if (settings.maxMessageSize < DEAD_LETTER_MAX_SIZE) {
    throw new TopologyError(
      `the message size limit (${settings.maxMessageSize} bytes) must be at least ${DEAD_LETTER_MAX_SIZE} bytes, the most a dead letter takes`,
    );
  }
  const jsm = await jetstreamManager(nc);
  const warnings: string[] = [];
  // NOZZLE first: an older NOZZLE on `nozzle.>` must give up nozzle.dead.> before NOZZLE_DLQ can take it.
  const stream = await ensureStream(jsm, workStreamConfig(settings), warnings);
  const deadLetterStream = await ensureStream(jsm, deadLetterStreamConfig(settings), warnings);
  const consumer = await ensureConsumer(jsm, names.stream, workerConsumerConfig(settings));
  return { stream, deadLetterStream, consumer, warnings };
}

async function ensureStream(
  jsm: JetStreamManager,
  desired: DesiredStream,
  warnings: string[],
): Promise<Change> {
  const what = `stream ${desired.name}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const info = await jsm.streams.info(desired.name).catch(notFoundAs(undefined));
      if (info === undefined) {
        await jsm.streams.add(desired);
        return 'created';
      }
      if (matches(info.config, desired)) return 'unchanged';
      const update: Partial<DesiredStream> = { ...desired };
      delete update.name;
      const after = await jsm.streams.update(desired.name, update);
      const warning = overLimit(info.state, after.state, desired);
      if (warning) warnings.push(warning);
      return 'updated';
    } catch (err) {
      // Another `setup` or publisher may have created it between our info and add: look again once.
      if (attempt < 2 && isAlreadyExists(err)) continue;
      throw new TopologyError(
        `cannot create or update ${what}: ${describeError(err)}${replicasHint(err, desired.num_replicas)}`,
        { cause: err },
      );
    }
  }
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  desired: DesiredConsumer,
): Promise<Change> {
  const name = desired.durable_name ?? '';
  const what = `consumer ${name} on ${stream}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const info: ConsumerInfo | undefined = await jsm.consumers
        .info(stream, name)
        .catch(notFoundAs(undefined));
      if (info === undefined) {
        await jsm.consumers.add(stream, desired);
        return 'created';
      }
      // Without a backoff wanted, an old one must be cleared explicitly (update merges).
      const wanted = { backoff: [], ...desired };
      if (matches(info.config, wanted)) return 'unchanged';
      const update: Partial<DesiredConsumer> = { ...wanted };
      delete update.durable_name;
      await jsm.consumers.update(stream, name, update);
      return 'updated';
    } catch (err) {
      if (attempt < 2 && isAlreadyExists(err)) continue;
      throw new TopologyError(`cannot create or update ${what}: ${describeError(err)}`, { cause: err });
    }
  }
}

/**
 * What an update that lowered max_bytes below what the stream held did:
 * JetStream removes the oldest messages of a DiscardOld stream at once, and
 * keeps everything in a DiscardNew one (which then refuses new messages until
 * it is below the limit again).
 */
function overLimit(before: StreamState, after: StreamState, desired: DesiredStream): string | undefined {
  const limit = desired.max_bytes ?? -1;
  if (limit <= 0 || before.bytes <= limit) return undefined;
  const removed = before.messages - after.messages;
  if (removed > 0) {
    return `${desired.name} held ${before.bytes} bytes in ${before.messages} messages, more than its new limit of ${limit} bytes: JetStream removed the oldest ${removed} (sequences ${before.first_seq} to ${after.first_seq - 1})`;
  }
  if (after.bytes > limit) {
    return `${desired.name} holds ${after.bytes} bytes, more than its new limit of ${limit} bytes: nothing was removed, and it refuses new messages until it is below the limit`;
  }
  return undefined;
}

function matches(actual: object, desired: object): boolean {
  const current = actual as Record<string, unknown>;
  return Object.entries(desired).every(([key, value]) => {
    const have = current[key];
    if (Array.isArray(value) && value.length === 0)
      return have === undefined || (Array.isArray(have) && have.length === 0);
    return JSON.stringify(have) === JSON.stringify(value);
  });
}

const notFoundAs =
  <T>(value: T) =>
  (err: unknown): T => {
    if (
      err instanceof JetStreamApiError &&
      (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound)
    ) {
      return value;
    }
    throw err;
  };

/**
 * More replicas than NATS has servers: a standalone server refuses any above
 * 1 (10074), a cluster refuses more than its size (10023, insufficient
 * resources). Say which setting asked for them.
 */
function replicasHint(err: unknown, replicas: number | undefined): string {
  if (replicas === undefined || replicas <= 1) return '';
  if (!(err instanceof JetStreamApiError) || (err.code !== 10074 && err.code !== 10023)) return '';
  return ` (NOZZLE_STREAM_REPLICAS=${replicas} needs a NATS JetStream cluster of at least ${replicas} servers: k8s/components/nats-cluster; 1 for a single server)`;
}

// 10058: stream name already in use; 10148: consumer already exists (create raced another create).
const isAlreadyExists = (err: unknown): boolean =>
  err instanceof JetStreamApiError && (err.code === 10058 || err.code === 10148 || err.code === 10013);
