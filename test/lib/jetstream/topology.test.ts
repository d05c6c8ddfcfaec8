/**
 * The stream limits on a real nats-server: created with them, added to a
 * stream that had none, a message over the size limit refused at publish,
 * and what lowering a limit below what a stream holds does (NOZZLE keeps
 * everything; NOZZLE_DLQ loses its oldest, and the report says so).
 */
import test from 'ava';
import {
  DiscardPolicy,
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { connectNats } from '../../../lib/jetstream/connect.js';
import { DEAD_LETTER_MAX_SIZE } from '../../../lib/jetstream/dead-letter.js';
import { ensureTopology, TopologyError } from '../../../lib/jetstream/topology.js';
import { jetstream as names } from '../../../lib/names.js';
import { startPrivateNats } from '../../support/private-nats.js';
import { testTopology } from '../../support/stream.js';

async function privateServer(t: { teardown(fn: () => unknown): void }) {
  const nats = await startPrivateNats();
  t.teardown(() => nats.stop());
  const nc = await connectNats(nats.url, { name: 'topology-test' });
  t.teardown(() => nc.close());
  return { nc, jsm: await jetstreamManager(nc), js: jetstream(nc) };
}

test('both streams carry their size limit, message size limit and discard policy', async (t) => {
  const { nc, jsm } = await privateServer(t);
  const report = await ensureTopology(nc, testTopology);
  t.like(report, { stream: 'created', deadLetterStream: 'created', consumer: 'created', warnings: [] });
  const work = (await jsm.streams.info(names.stream)).config;
  t.like(work, {
    retention: RetentionPolicy.Workqueue,
    discard: DiscardPolicy.New,
    max_bytes: testTopology.maxBytes,
    max_msg_size: testTopology.maxMessageSize,
  });
  const dead = (await jsm.streams.info(names.deadLetterStream)).config;
  t.like(dead, {
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_bytes: testTopology.deadLetterMaxBytes,
    max_msg_size: testTopology.maxMessageSize,
  });
  t.like(await ensureTopology(nc, testTopology), {
    stream: 'unchanged',
    deadLetterStream: 'unchanged',
    consumer: 'unchanged',
  });
});

test('a message over the size limit is refused at publish, on either stream', async (t) => {
  const { nc, js } = await privateServer(t);
  await ensureTopology(nc, testTopology);
  const junk = new Uint8Array(testTopology.maxMessageSize + 1).fill(0x61);
  for (const subject of ['nozzle.sleep.shop', 'nozzle.dead.shop']) {
    const error = await t.throwsAsync(js.publish(subject, junk), { instanceOf: JetStreamApiError });
    t.regex(error?.message ?? '', /message size exceeds maximum allowed/, subject);
  }
  const fits = new Uint8Array(1024).fill(0x61);
  await t.notThrowsAsync(js.publish('nozzle.sleep.shop', fits));
});

test('a stream created without limits (Nozzle 0.2) is updated to have them, its messages kept', async (t) => {
  const { nc, jsm, js } = await privateServer(t);
  const old = {
    subjects: ['nozzle.sleep.>', 'nozzle.wake.>'],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: nanos(testTopology.maxAge),
    duplicate_window: nanos(testTopology.duplicateWindow),
    num_replicas: 1,
  };
  await jsm.streams.add({ name: names.stream, ...old });
  await jsm.streams.add({
    name: names.deadLetterStream,
    ...old,
    subjects: ['nozzle.dead.>'],
    retention: RetentionPolicy.Limits,
  });
  for (let i = 0; i < 3; i++) await js.publish(`nozzle.sleep.shop${i}`, '{}');

  const report = await ensureTopology(nc, testTopology);
  t.like(report, { stream: 'updated', deadLetterStream: 'updated', warnings: [] });
  const work = await jsm.streams.info(names.stream);
  t.like(work.config, {
    discard: DiscardPolicy.New,
    max_bytes: testTopology.maxBytes,
    max_msg_size: testTopology.maxMessageSize,
  });
  t.is(work.state.messages, 3, 'queued work kept');
  t.like((await jsm.streams.info(names.deadLetterStream)).config, {
    max_bytes: testTopology.deadLetterMaxBytes,
    max_msg_size: testTopology.maxMessageSize,
  });
});

test('a limit lowered below what a stream holds: NOZZLE keeps all and refuses more; NOZZLE_DLQ drops its oldest, reported', async (t) => {
  const { nc, jsm, js } = await privateServer(t);
  await ensureTopology(nc, testTopology);
  const body = new Uint8Array(4 * 1024).fill(0x61);
  for (let i = 0; i < 20; i++) {
    await js.publish(`nozzle.sleep.shop${i}`, body);
    await js.publish(`nozzle.dead.shop${i}`, body);
  }
  const small = { ...testTopology, maxBytes: 32 * 1024, deadLetterMaxBytes: 32 * 1024 };
  const report = await ensureTopology(nc, small);
  t.like(report, { stream: 'updated', deadLetterStream: 'updated' });

  const work = await jsm.streams.info(names.stream);
  t.is(work.state.messages, 20, 'NOZZLE: nothing removed');
  t.is(work.config.max_bytes, small.maxBytes);
  const full = await t.throwsAsync(js.publish('nozzle.sleep.more', '{}'), { instanceOf: JetStreamApiError });
  t.regex(full?.message ?? '', /maximum bytes exceeded/);

  const dead = await jsm.streams.info(names.deadLetterStream);
  t.true(
    dead.state.messages < 20 && dead.state.bytes <= small.deadLetterMaxBytes,
    JSON.stringify(dead.state),
  );
  const removed = 20 - dead.state.messages;
  t.is(report.warnings.length, 2, report.warnings.join('\n'));
  t.regex(
    report.warnings[0] ?? '',
    /^NOZZLE holds \d+ bytes, more than its new limit of 32768 bytes: nothing was removed/,
  );
  t.regex(
    report.warnings[1] ?? '',
    new RegExp(
      `^NOZZLE_DLQ held \\d+ bytes in 20 messages, .*JetStream removed the oldest ${removed} \\(sequences 1 to ${removed}\\)`,
    ),
  );
});

test('a message size limit a dead letter would not fit in is refused', async (t) => {
  const { nc } = await privateServer(t);
  const error = await t.throwsAsync(
    ensureTopology(nc, { ...testTopology, maxMessageSize: DEAD_LETTER_MAX_SIZE - 1 }),
    { instanceOf: TopologyError },
  );
  t.regex(error?.message ?? '', /must be at least 8192 bytes/);
});

test('NOZZLE_STREAM_REPLICAS above 1 on a single server is refused with the setting named', async (t) => {
  const { nc, jsm } = await privateServer(t);
  const error = await t.throwsAsync(ensureTopology(nc, { ...testTopology, replicas: 3 }), {
    instanceOf: TopologyError,
  });
  t.regex(
    error?.message ?? '',
    /^cannot create or update stream NOZZLE: .*NOZZLE_STREAM_REPLICAS=3 needs a NATS JetStream cluster of at least 3 servers/,
  );
  // Nothing half-made: the next run with 1 creates everything.
  t.like(await ensureTopology(nc, testTopology), { stream: 'created', deadLetterStream: 'created' });
  t.is((await jsm.streams.info(names.stream)).config.num_replicas, 1);
});

test('a consumer or stream deleted by someone is created again by the next ensure (a publisher round), and works', async (t) => {
  const { nc, jsm, js } = await privateServer(t);
  await ensureTopology(nc, testTopology);
  await jsm.consumers.delete(names.stream, names.consumer);
  t.like(await ensureTopology(nc, testTopology), { stream: 'unchanged', consumer: 'created' });
  await jsm.streams.delete(names.stream);
  t.like(await ensureTopology(nc, testTopology), { stream: 'created', consumer: 'created' });
  await js.publish('nozzle.sleep.shop', '{}');
  const consumer = await js.consumers.get(names.stream, names.consumer);
  const message = await consumer.next({ expires: 2_000 });
  t.is(message?.subject, 'nozzle.sleep.shop', 'the recreated consumer delivers');
  message?.ack();
});
