/**
 * Dead letters: messages that will never be processed, moved to NOZZLE_DLQ
 * with the reason, so that nothing is dropped silently. The body is the
 * original payload byte for byte (a person can fix and re-publish it) up to
 * DEAD_LETTER_PAYLOAD_LIMIT (4 KiB, ten times a real message); a longer one
 * keeps its first 4 KiB, and Nozzle-Original-Size always says how long the
 * original was. Header values are bounded too, so a dead letter is never
 * larger than DEAD_LETTER_MAX_SIZE (8 KiB) whatever was published: junk
 * cannot fill NOZZLE_DLQ faster than NOZZLE. The reason and the delivery
 * facts are headers:
 *
 *   Nozzle-Dead-Kind: invalid | failed | max-deliver
 *   Nozzle-Dead-Reason: at: "yesterday" is not an RFC 3339 date-time
 *   Nozzle-Original-Subject, Nozzle-Original-Sequence, Nozzle-Original-Size,
 *   Nozzle-Deliveries, Nozzle-Dead-At
 */
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { headers, type MsgHdrs } from '@nats-io/transport-node';
import { jetstream as names } from '../names.js';

export type DeadLetterKind = 'invalid' | 'failed' | 'max-deliver';

export const deadLetterHeaders = {
  kind: 'Nozzle-Dead-Kind',
  reason: 'Nozzle-Dead-Reason',
  at: 'Nozzle-Dead-At',
  subject: 'Nozzle-Original-Subject',
  sequence: 'Nozzle-Original-Sequence',
  size: 'Nozzle-Original-Size',
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

/** The bytes of the original payload a dead letter keeps. */
export const DEAD_LETTER_PAYLOAD_LIMIT = 4 * 1024;
/** The most a dead letter takes, headers included: NOZZLE_DLQ's message size limit must be at least this. */
export const DEAD_LETTER_MAX_SIZE = 8 * 1024;
// With these, the headers stay under 3 KiB: 4 KiB of payload + 3 KiB < DEAD_LETTER_MAX_SIZE.
const REASON_LIMIT = 2000;
const SUBJECT_LIMIT = 512;

/** What publishDeadLetter publishes (without sending it): the subject, the kept payload and the headers. */
export function deadLetterMessage(
  letter: DeadLetter,
  now = new Date(),
): { subject: string; payload: Uint8Array; headers: MsgHdrs; msgID: string } {
  const h = headers();
  h.set(deadLetterHeaders.kind, letter.kind);
  h.set(deadLetterHeaders.reason, oneLine(letter.reason, REASON_LIMIT));
  h.set(deadLetterHeaders.at, now.toISOString());
  h.set(deadLetterHeaders.subject, oneLine(letter.subject, SUBJECT_LIMIT));
  h.set(deadLetterHeaders.sequence, String(letter.streamSequence));
  h.set(deadLetterHeaders.size, String(letter.payload.byteLength));
  h.set(deadLetterHeaders.deliveries, String(letter.deliveries));
  return {
    subject: names.deadLetterSubject(letter.namespace ?? INVALID_SUBJECT_TOKEN),
    payload: letter.payload.subarray(0, DEAD_LETTER_PAYLOAD_LIMIT),
    headers: h,
    // Dead-lettering the same delivery twice (the ack after it was lost) stores it once.
    msgID: `dead/${names.stream}/${letter.streamSequence}`,
  };
}

/** Publishes a dead letter and waits for JetStream to store it; throws if it could not. */
export function publishDeadLetter(js: JetStreamClient, letter: DeadLetter): Promise<PubAck> {
  const { subject, payload, headers: h, msgID } = deadLetterMessage(letter);
  return js.publish(subject, payload, { headers: h, msgID });
}

/** A header value: one line, at most `limit` bytes of UTF-8 (never cutting a character). */
function oneLine(text: string, limit: number): string {
  const line = text.replace(/[\r\n]+/g, ' ');
  let bytes = 0;
  let end = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char);
    if (bytes + size > limit) break;
    bytes += size;
    end += char.length;
  }
  return line.slice(0, end);
}
