/**
 * A dead letter is bounded whatever was published: the first 4 KiB of the
 * payload with the original size in a header, header values cut short, and
 * the whole never over DEAD_LETTER_MAX_SIZE (checked by a real NOZZLE_DLQ
 * whose message size limit is exactly that).
 */
import test from 'ava';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../../lib/jetstream/connect.js';
import {
  DEAD_LETTER_MAX_SIZE,
  DEAD_LETTER_PAYLOAD_LIMIT,
  deadLetterHeaders,
  deadLetterMessage,
  publishDeadLetter,
  type DeadLetter,
} from '../../../lib/jetstream/dead-letter.js';
import { ensureTopology } from '../../../lib/jetstream/topology.js';
import { jetstream as names } from '../../../lib/names.js';
import { startPrivateNats } from '../../support/private-nats.js';
import { testTopology } from '../../support/stream.js';

const letter = (payload: Uint8Array, more: Partial<DeadLetter> = {}): DeadLetter => ({
  kind: 'invalid',
  reason: 'invalid message: body: not JSON',
  namespace: undefined,
  payload,
  subject: 'nozzle.sleep.shop',
  streamSequence: 7,
  deliveries: 1,
  ...more,
});

test('a payload up to 4 KiB is kept byte for byte; a longer one keeps its first 4 KiB and its size', (t) => {
  const small = new TextEncoder().encode('{"v":1,"op":"sleep"}');
  const kept = deadLetterMessage(letter(small));
  t.deepEqual(kept.payload, small);
  t.is(kept.headers.get(deadLetterHeaders.size), String(small.byteLength));
  t.is(kept.subject, 'nozzle.dead.invalid');

  const big = new Uint8Array(900 * 1024).map((_, i) => i % 251);
  const cut = deadLetterMessage(letter(big, { namespace: 'shop' }));
  t.is(cut.payload.byteLength, DEAD_LETTER_PAYLOAD_LIMIT);
  t.deepEqual(cut.payload, big.subarray(0, DEAD_LETTER_PAYLOAD_LIMIT));
  t.is(cut.headers.get(deadLetterHeaders.size), String(900 * 1024));
  t.is(cut.subject, 'nozzle.dead.shop');
});

test('header values are one line, cut at a character boundary', (t) => {
  const reason = `first line\r\nsecond ${'é'.repeat(5_000)}`;
  const { headers } = deadLetterMessage(letter(new Uint8Array(0), { reason }));
  const kept = headers.get(deadLetterHeaders.reason);
  t.true(kept.startsWith('first line second é'));
  t.false(/[\r\n]/.test(kept));
  t.true(Buffer.byteLength(kept) <= 2000);
  t.false(kept.includes('\uFFFD'));
});

test('the largest dead letter fits a NOZZLE_DLQ whose message size limit is DEAD_LETTER_MAX_SIZE', async (t) => {
  const nats = await startPrivateNats();
  t.teardown(() => nats.stop());
  const nc = await connectNats(nats.url, { name: 'dead-letter-test' });
  t.teardown(() => nc.close());
  await ensureTopology(nc, { ...testTopology, maxMessageSize: DEAD_LETTER_MAX_SIZE });
  const worst = letter(new Uint8Array(64 * 1024).fill(0xff), {
    kind: 'max-deliver',
    reason: '€'.repeat(10_000),
    namespace: 'a'.repeat(63),
    subject: `nozzle.sleep.${'x'.repeat(3_000)}`,
    streamSequence: Number.MAX_SAFE_INTEGER,
    deliveries: 1_000,
  });
  await t.notThrowsAsync(publishDeadLetter(jetstream(nc), worst));
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(names.deadLetterStream);
  t.is(info.state.messages, 1);
  const stored = await jsm.streams.getMessage(names.deadLetterStream, { seq: info.state.last_seq });
  t.is(stored?.data.byteLength, DEAD_LETTER_PAYLOAD_LIMIT);
  t.is(stored?.header.get(deadLetterHeaders.size), String(64 * 1024));
});
