/**
 * Dead letters: messages that will never be processed, moved to NOZZLE_DLQ
 * with the reason, so that nothing is dropped silently. The body is the
 * original payload byte for byte (a person can fix and re-publish it); the
 * reason and the delivery facts are headers:
 *
 *   Nozzle-Dead-Kind: invalid | failed | max-deliver
 *   Nozzle-Dead-Reason: at: "yesterday" is not an RFC 3339 date-time
 *   Nozzle-Original-Subject, Nozzle-Original-Sequence, Nozzle-Deliveries, Nozzle-Dead-At
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { jetstream as names } from '../names.js';

export type DeadLetterKind = 'invalid' | 'failed' | 'max-deliver';

export const deadLetterHeaders = {
  kind: 'Nozzle-Dead-Kind',
  reason: 'Nozzle-Dead-Reason',
  at: 'Nozzle-Dead-At',
  subject: 'Nozzle-Original-Subject',
  sequence: 'Nozzle-Original-Sequence',
  deliveries: 'Nozzle-Deliveries',
} as const;

export interface DeadLetter {
  readonly kind: DeadLetterKind;
  readonly reason: string;
  /** The namespace the message was for, or undefined when it could not be read (subject nozzle.dead.invalid). */
  readonly namespace: string | undefined;
  readonly payload: Uint8Array;
  readonly subject: string;
  readonly streamSequence: number;
  readonly deliveries: number;
}

export const INVALID_SUBJECT_TOKEN = 'invalid';

/** Publishes a dead letter and waits for JetStream to store it; throws if it could not. */
export function publishDeadLetter(js: JetStreamClient, letter: DeadLetter): Promise<PubAck> {
  const h = headers();
  h.set(deadLetterHeaders.kind, letter.kind);
  h.set(deadLetterHeaders.reason, oneLine(letter.reason));
  h.set(deadLetterHeaders.at, new Date().toISOString());
  h.set(deadLetterHeaders.subject, letter.subject);
  h.set(deadLetterHeaders.sequence, String(letter.streamSequence));
  h.set(deadLetterHeaders.deliveries, String(letter.deliveries));
  return js.publish(names.deadLetterSubject(letter.namespace ?? INVALID_SUBJECT_TOKEN), letter.payload, {
    headers: h,
    // Dead-lettering the same delivery twice (the ack after it was lost) stores it once.
    msgID: `dead/${names.stream}/${letter.streamSequence}`,
  });
}

/** Header values are one line of bounded length. */
const oneLine = (text: string): string => text.replace(/[\r\n]+/g, ' ').slice(0, 2000);
