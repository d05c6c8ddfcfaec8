/**
 * The messages on the NOZZLE stream (design.md, "Messages"): the one place
 * that builds them, validates them on receipt, and names a decision.
 *
 *   {"v":1,"op":"sleep","namespace":"shop","workload":{"kind":"Deployment","name":"web"},
 *    "reason":"idle","at":"2025-01-01T12:00:00.000Z"}
 *
 * `workload` is required for `sleep` and optional for `wake` (a wake is always
 * for the whole namespace). Unknown fields are ignored so that a newer
 * publisher can add optional fields without a new version; a change in
 * meaning bumps `v`, which older workers dead-letter instead of guessing.
 */
import { jetstream } from './names.js';
import { parseRfc3339 } from './rfc3339.js';
import { PermanentError } from './errors.js';
import { formatDuration } from './duration.js';

export const MESSAGE_VERSION = 1;
export const OPS = ['sleep', 'wake'] as const;
export const KINDS = ['Deployment', 'StatefulSet'] as const;

export type Op = (typeof OPS)[number];
export type Kind = (typeof KINDS)[number];

export interface WorkloadRef {
  readonly kind: Kind;
  readonly name: string;
}

interface Common {
  readonly v: typeof MESSAGE_VERSION;
  readonly namespace: string;
  /** Why: `idle` from the publisher, `manual` from a person, free text otherwise. */
  readonly reason: string;
  /** When the decision was made (RFC 3339). */
  readonly at: string;
}

export interface SleepMessage extends Common {
  readonly op: 'sleep';
  readonly workload: WorkloadRef;
}

export interface WakeMessage extends Common {
  readonly op: 'wake';
  readonly workload?: WorkloadRef;
}

export type NozzleMessage = SleepMessage | WakeMessage;

/** A message that can never be processed: `field` says where, the message says what was wrong. */
export class MessageError extends PermanentError {
  override readonly name = 'MessageError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

// RFC 1123 label (namespace names) and subdomain (workload names), as the apiserver validates them.
const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Parses and validates a message body; throws MessageError with the first problem found. */
export function parseMessage(data: Uint8Array | string): NozzleMessage {
  let text: string;
  try {
    text = typeof data === 'string' ? data : new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new MessageError('body', 'not UTF-8 text');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MessageError('body', `not JSON (${(err as Error).message})`);
  }
  return validateMessage(value);
}

export function validateMessage(value: unknown): NozzleMessage {
  if (!isObject(value)) throw new MessageError('body', `must be a JSON object, got ${typeOf(value)}`);
  if (value.v === undefined) throw new MessageError('v', 'missing');
  if (value.v !== MESSAGE_VERSION) {
    throw new MessageError(
      'v',
      `unsupported version ${JSON.stringify(value.v)} (this worker reads ${MESSAGE_VERSION})`,
    );
  }
  const op = oneOf('op', value.op, OPS);
  const namespace = requiredString('namespace', value.namespace);
  if (namespace.length > 63 || !dnsLabel.test(namespace)) {
    throw new MessageError('namespace', `"${namespace}" is not a valid namespace name (RFC 1123 label)`);
  }
  const reason = requiredString('reason', value.reason);
  const at = requiredString('at', value.at);
  if (parseRfc3339(at) === undefined) {
    throw new MessageError('at', `"${at}" is not an RFC 3339 date-time`);
  }
  const common = { v: MESSAGE_VERSION, namespace, reason, at } as const;
  if (op === 'sleep') {
    if (value.workload === undefined) throw new MessageError('workload', 'missing (required for op "sleep")');
    return { ...common, op, workload: validateWorkload(value.workload) };
  }
  return value.workload === undefined
    ? { ...common, op }
    : { ...common, op, workload: validateWorkload(value.workload) };
}

function validateWorkload(value: unknown): WorkloadRef {
  if (!isObject(value)) throw new MessageError('workload', `must be an object, got ${typeOf(value)}`);
  const kind = oneOf('workload.kind', value.kind, KINDS);
  const name = requiredString('workload.name', value.name);
  if (name.length > 253 || !dnsSubdomain.test(name)) {
    throw new MessageError('workload.name', `"${name}" is not a valid object name (RFC 1123 subdomain)`);
  }
  return { kind, name };
}

/**
 * The subject a message is published on: `nozzle.<op>.<namespace>`. A
 * message on another subject than its own is rejected, so that a subject-based
 * permission or filter can never be bypassed by the body.
 */
export function subjectOf(message: Pick<NozzleMessage, 'op' | 'namespace'>): string {
  return message.op === 'sleep'
    ? jetstream.sleepSubject(message.namespace)
    : jetstream.wakeSubject(message.namespace);
}

export function checkSubject(message: NozzleMessage, subject: string): void {
  const expected = subjectOf(message);
  if (subject !== expected) {
    throw new MessageError(
      'subject',
      `a ${message.op} message for ${message.namespace} must be on ${expected}, not ${subject}`,
    );
  }
}

/**
 * A message decided in the future is refused: `at` may be ahead of `now` by
 * at most `maxSkew` (the clocks of publisher and worker differ a little). A
 * sleep's `at` is compared with the namespace's woke-at to skip sleeps
 * decided before a wake: a forged sleep dated in the future would pass that
 * check and put a namespace that just woke back to sleep.
 */
export function checkNotAhead(message: Pick<NozzleMessage, 'at'>, now: Date, maxSkew: number): void {
  const at = parseRfc3339(message.at);
  if (at === undefined) throw new MessageError('at', `"${message.at}" is not an RFC 3339 date-time`);
  const ahead = at - now.getTime();
  if (ahead > maxSkew) {
    const shown = ahead >= 1_000 ? Math.round(ahead / 1_000) * 1_000 : ahead;
    throw new MessageError(
      'at',
      `"${message.at}" is ${formatDuration(shown)} in the future (at most ${formatDuration(maxSkew)} of clock skew is allowed)`,
    );
  }
}

export function sleepMessage(
  namespace: string,
  workload: WorkloadRef,
  options: { reason?: string; at?: Date } = {},
): SleepMessage {
  return validateMessage({
    v: MESSAGE_VERSION,
    op: 'sleep',
    namespace,
    workload: { kind: workload.kind, name: workload.name },
    reason: options.reason ?? 'idle',
    at: (options.at ?? new Date()).toISOString(),
  }) as SleepMessage;
}

export function wakeMessage(namespace: string, options: { reason?: string; at?: Date } = {}): WakeMessage {
  return validateMessage({
    v: MESSAGE_VERSION,
    op: 'wake',
    namespace,
    reason: options.reason ?? 'manual',
    at: (options.at ?? new Date()).toISOString(),
  }) as WakeMessage;
}

export const encodeMessage = (message: NozzleMessage): string => JSON.stringify(message);

/**
 * The Nats-Msg-Id of a decision. The same decision published twice (the next
 * publisher round, a CronJob retry, two publishers) gets the same id, and
 * JetStream drops the second one inside the stream's duplicate window.
 *
 * A sleep decision is "put this workload to sleep during this awake period of
 * its namespace". The awake period is named by the namespace's
 * nozzle.io/woke-at (`epoch`; "never" when it has none): after the namespace
 * wakes, the next sleep is a new decision with a new id, while re-publishing
 * within one awake period is a duplicate. `at` is deliberately not part of a
 * sleep's id: it changes every round although the decision does not.
 *
 * A wake is a request made at a point in time: its id is the namespace and
 * `at`, so a retried send of one request is a duplicate and a later request
 * is not.
 */
export function decisionId(message: NozzleMessage, epoch?: string): string {
  if (message.op === 'sleep') {
    const { kind, name } = message.workload;
    return `sleep/${message.namespace}/${kind}/${name}@${epoch ?? 'never'}`;
  }
  return `wake/${message.namespace}@${message.at}`;
}

function requiredString(field: string, value: unknown): string {
  if (value === undefined) throw new MessageError(field, 'missing');
  if (typeof value !== 'string') throw new MessageError(field, `must be a string, got ${typeOf(value)}`);
  if (value === '') throw new MessageError(field, 'must not be empty');
  return value;
}

function oneOf<const T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (value === undefined) throw new MessageError(field, 'missing');
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new MessageError(
      field,
      `${JSON.stringify(value)} is not one of ${allowed.map((a) => `"${a}"`).join(', ')}`,
    );
  }
  return value as T;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const typeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
