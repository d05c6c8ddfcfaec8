/**
 * The settings more than one component reads: env var, flag, default and
 * what it is for. Each component's own block is beside its code
 * (`worker/settings.ts`, ...); cli/settings.ts gathers them all into the one
 * registry that `--help` and docs/configuration.md are made from.
 */
import {
  byteSize,
  duration,
  integer,
  labelSelector,
  oneOf,
  secret,
  string,
  url,
  type Setting,
} from './settings.js';
import { DEAD_LETTER_MAX_SIZE } from '../jetstream/dead-letter.js';
import { DEFAULT_PORT_RANGE, parsePortRange, type PortRange } from '../takeover/port-assignment.js';

export const common = {
  logLevel: oneOf({
    env: 'LOG_LEVEL',
    flag: '--log-level',
    default: 'info',
    values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    doc: 'how much to log: trace, debug, info, warn, error, fatal or silent',
  }),
  logFormat: oneOf({
    env: 'LOG_FORMAT',
    default: 'auto',
    values: ['auto', 'json', 'pretty'],
    doc: 'json: one JSON object per line; pretty: for a person (needs the pino-pretty package, a dev dependency); auto: pretty when stdout is a terminal and pino-pretty is installed, else json',
  }),
};

export const nats = {
  natsUrl: url({
    env: 'NATS_URL',
    flag: '--nats-url',
    default: 'nats://nats.nozzle-system.svc.cluster.local:4222',
    protocols: ['nats:', 'tls:'],
    doc: 'NATS server(s), comma-separated; `tls://` for TLS (docs/operations.md, "NATS over TLS")',
  }),
  natsUser: string({
    env: 'NOZZLE_NATS_USER',
    default: '',
    doc: "this component's NATS user (nozzle-setup, nozzle-publisher or nozzle-worker; the manifests read it from the Secret nozzle-nats-<component>); empty: connect without one",
  }),
  natsPassword: secret({
    env: 'NOZZLE_NATS_PASSWORD',
    doc: "NOZZLE_NATS_USER's password (from the same Secret)",
  }),
  natsCaFile: string({
    env: 'NOZZLE_NATS_CA_FILE',
    default: '',
    doc: "PEM file of the CA that signed the NATS server's certificate, for a tls:// NATS_URL with a private CA; empty: the system's CAs",
  }),
};

/** The JetStream stream and consumer, created by `nozzle setup` and the publisher. */
export const stream = {
  ackWait: duration({
    env: 'NOZZLE_ACK_WAIT',
    default: 60_000,
    min: 1_000,
    doc: 'how long a delivered message may stay unacknowledged before JetStream redelivers it (the worker extends it while an operation runs)',
  }),
  maxDeliver: integer({
    env: 'NOZZLE_MAX_DELIVER',
    default: 10,
    min: 1,
    max: 1000,
    doc: 'deliveries before a message is dead-lettered',
  }),
  duplicateWindow: duration({
    env: 'NOZZLE_DUPLICATE_WINDOW',
    default: 10 * 60_000,
    min: 1_000,
    doc: 'window in which a re-published decision (same Nats-Msg-Id) is dropped as a duplicate',
  }),
  maxAge: duration({
    env: 'NOZZLE_STREAM_MAX_AGE',
    default: 24 * 3_600_000,
    min: 60_000,
    doc: 'how long an unprocessed message is kept in NOZZLE (older ones are discarded: the next publisher round decides again)',
  }),
  deadLetterMaxAge: duration({
    env: 'NOZZLE_DLQ_MAX_AGE',
    default: 7 * 86_400_000,
    min: 60_000,
    doc: 'how long dead letters are kept in NOZZLE_DLQ for a person to inspect',
  }),
  replicas: integer({
    env: 'NOZZLE_STREAM_REPLICAS',
    default: 1,
    min: 1,
    max: 5,
    doc: 'JetStream replicas of NOZZLE and NOZZLE_DLQ (3 on a clustered NATS)',
  }),
  maxBytes: byteSize({
    env: 'NOZZLE_STREAM_MAX_BYTES',
    default: 256 * 1024 ** 2,
    min: 1024 ** 2,
    max: 1024 ** 4,
    doc: 'size limit of NOZZLE; when full it refuses new messages (the publisher logs the error and its next round publishes again) instead of dropping queued work; a real message is a few hundred bytes',
  }),
  deadLetterMaxBytes: byteSize({
    env: 'NOZZLE_DLQ_MAX_BYTES',
    default: 64 * 1024 ** 2,
    min: 1024 ** 2,
    max: 1024 ** 4,
    doc: 'size limit of NOZZLE_DLQ; when full the oldest dead letters are removed first. Lowering it below what NOZZLE_DLQ holds removes the oldest at once (setup and the publisher log how many)',
  }),
  maxMessageSize: byteSize({
    env: 'NOZZLE_MAX_MESSAGE_SIZE',
    default: 16 * 1024,
    min: DEAD_LETTER_MAX_SIZE,
    max: 1024 ** 2,
    doc: 'largest message NOZZLE and NOZZLE_DLQ store, headers included; a larger one is refused at publish ("message size exceeds maximum allowed"); at least the 8KiB a dead letter can take, at most the server\'s max_payload (1MiB by default)',
  }),
};

/**
 * Which namespaces Nozzle may touch: the publisher lists them with these, and
 * the worker refuses a message for any other namespace (only the
 * publisher's NATS user may publish, but a forged message from a compromised
 * publisher must not reach kube-system).
 */
export const optIn = {
  namespaceSelector: labelSelector({
    env: 'NOZZLE_NAMESPACE_SELECTOR',
    flag: '--selector',
    default: 'nozzle=true',
    doc: 'label selector (=, ==, !=, in, notin, key, !key; comma = and) of the namespaces Nozzle may put to sleep; the worker refuses (dead-letters) messages for any other namespace',
  }),
  systemNamespace: string({
    env: 'NOZZLE_SYSTEM_NAMESPACE',
    default: 'nozzle-system',
    doc: "Nozzle's own namespace: never put to sleep or woken, even when it matches the selector",
  }),
};

/** Endpoint takeover: where the activator's listener ports come from (one per Service port under takeover). */
export const takeover = {
  portRange: {
    env: 'NOZZLE_ACTIVATOR_PORT_RANGE',
    default: DEFAULT_PORT_RANGE,
    doc: "activator listener ports assigned to the Service ports under takeover (`<first>-<last>`, within 1024-65535; one port Lease each in NOZZLE_SYSTEM_NAMESPACE); must not overlap the activator's own ports",
    parse: parsePortRange,
    show: (range) => `${range.first}-${range.last}`,
  } satisfies Setting<PortRange>,
};
