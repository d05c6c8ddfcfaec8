/**
 * The NATS users of k8s/nats.yaml, on a real nats-server running the shipped
 * nats.conf: each user does exactly its component's job, with the library
 * calls the component makes, and is refused the rest with the server's
 * permission violation; an unknown user, a wrong password and no user at all
 * are refused at connect. The last test runs the real `nozzle setup`,
 * `nozzle publish --once` and `nozzle worker` processes under their users
 * and puts a namespace to sleep.
 */
import test, { type ExecutionContext } from 'ava';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { PermissionViolationError, type NatsConnection } from '@nats-io/transport-node';
import { describeError } from '../../lib/errors.js';
import { NatsConnectError, connectNats } from '../../lib/jetstream/connect.js';
import { NATS_USERS } from '../../lib/jetstream/nats-users.js';
import { deadLetterMessage } from '../../lib/jetstream/dead-letter.js';
import { decisionId, encodeMessage, sleepMessage, subjectOf, wakeMessage } from '../../lib/messages.js';
import { jetstream as names } from '../../lib/names.js';
import { maxDeliveriesSubject } from '../../worker/max-deliveries.js';
import { adminKube } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { NozzleProcess } from '../support/nozzle-process.js';
import { createNamespace, deployment } from '../support/shop.js';
import { startShippedNats, TEST_ADMIN, type ShippedNats } from '../support/shipped-nats.js';
import { setupTopology, topologyEnv } from '../support/stream.js';

const kube = adminKube();

/** The permission violation in an error or its causes, if any. */
function violation(err: unknown): PermissionViolationError | undefined {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof PermissionViolationError) return e;
  return undefined;
}

/** `call` is refused by the server: a publish permission violation on `subject`. */
async function refused(t: ExecutionContext, what: string, subject: string, call: () => Promise<unknown>) {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  const v = violation(err);
  t.truthy(
    v,
    `${what}: expected a permission violation, got ${err === undefined ? 'success' : describeError(err)}`,
  );
  t.is(v?.operation, 'publish', what);
  t.is(v?.subject, subject, what);
}

/** The permission violations the server reports on `nc` from now on (its status stream). */
function statusViolations(nc: NatsConnection): PermissionViolationError[] {
  const seen: PermissionViolationError[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'error' && status.error instanceof PermissionViolationError)
        seen.push(status.error);
    }
  })();
  return seen;
}

/** A subscription the server refuses: it ends with a subscription permission violation. */
async function subscribeRefused(t: ExecutionContext, nc: NatsConnection, subject: string) {
  const sub = nc.subscribe(subject);
  const ended = await Promise.race([
    sub.closed,
    new Promise((resolve) => setTimeout(() => resolve('still open'), 5_000)),
  ]);
  const v = violation(ended);
  t.truthy(v, `subscribe ${subject}: expected a permission violation, got ${String(ended)}`);
  t.is(v?.operation, 'subscription');
  t.is(v?.subject, subject);
}

/** Every API call that deletes or rewrites what its user may not: each one refused. */
async function refusedAdmin(t: ExecutionContext, jsm: JetStreamManager) {
  await refused(t, 'delete NOZZLE', '$JS.API.STREAM.DELETE.NOZZLE', () => jsm.streams.delete(names.stream));
  await refused(t, 'purge NOZZLE', '$JS.API.STREAM.PURGE.NOZZLE', () => jsm.streams.purge(names.stream));
  await refused(t, 'delete NOZZLE_DLQ', '$JS.API.STREAM.DELETE.NOZZLE_DLQ', () =>
    jsm.streams.delete(names.deadLetterStream),
  );
  await refused(t, 'delete the consumer', '$JS.API.CONSUMER.DELETE.NOZZLE.nozzle-worker', () =>
    jsm.consumers.delete(names.stream, names.consumer),
  );
  await refused(t, 'create another stream', '$JS.API.STREAM.CREATE.OTHER', () =>
    jsm.streams.add({ name: 'OTHER', subjects: ['other.>'] }),
  );
  await refused(t, 'list streams', '$JS.API.STREAM.LIST', () => jsm.streams.list().next());
}

let shipped: ShippedNats;
test.before(async (t) => {
  const teardowns: (() => unknown)[] = [];
  shipped = await startShippedNats({ teardown: (fn) => teardowns.push(fn) }, { name: 'nats-users' });
  (t.context as { teardowns?: unknown }).teardowns = teardowns;
});
test.after.always(async (t) => {
  for (const fn of ((t.context as { teardowns?: (() => unknown)[] }).teardowns ?? []).reverse()) await fn();
});

test.serial('nozzle-setup creates and updates the streams and the consumer, and nothing else', async (t) => {
  const nc = await shipped.connectAs('nozzle-setup');
  const report = await setupTopology(nc);
  t.like(report, { stream: 'created', deadLetterStream: 'created', consumer: 'created' });
  t.like(await setupTopology(nc, { maxDeliver: 7 }), {
    stream: 'unchanged',
    deadLetterStream: 'unchanged',
    consumer: 'updated',
  });
  t.like(await setupTopology(nc), { consumer: 'updated' });

  await refused(t, 'publish a sleep', 'nozzle.sleep.x', () =>
    jetstream(nc).publish(
      'nozzle.sleep.x',
      encodeMessage(sleepMessage('x', { kind: 'Deployment', name: 'web' })),
    ),
  );
  await refusedAdmin(t, await jetstreamManager(nc));
  await subscribeRefused(t, nc, 'nozzle.>');
});

test.serial(
  'nozzle-publisher keeps the topology and publishes sleeps and wakes; it cannot consume or delete',
  async (t) => {
    const nc = await shipped.connectAs('nozzle-publisher');
    t.like(await setupTopology(nc), {
      stream: 'unchanged',
      deadLetterStream: 'unchanged',
      consumer: 'unchanged',
    });
    const js = jetstream(nc);
    const message = sleepMessage('ns-a', { kind: 'Deployment', name: 'web' });
    const ack = await js.publish(subjectOf(message), encodeMessage(message), { msgID: decisionId(message) });
    t.is(ack.stream, names.stream);
    const wake = await js.publish(names.wakeSubject('ns-a'), encodeMessage(wakeMessage('ns-a')));
    t.is(wake.stream, names.stream);

    const consumer = await js.consumers.get(names.stream, names.consumer);
    // A pull is a publish with no reply awaited: the refusal comes as the connection's error status.
    const violations = statusViolations(nc);
    const pulled = await consumer.next({ expires: 2_000 }).catch(() => null);
    t.is(pulled, null, 'nothing pulled');
    t.true(
      violations.some(
        (v) => v.operation === 'publish' && v.subject === '$JS.API.CONSUMER.MSG.NEXT.NOZZLE.nozzle-worker',
      ),
      `a permission violation for the pull, got ${violations.map((v) => v.message).join('; ')}`,
    );
    const jsm = await jetstreamManager(nc);
    await refused(t, 'read a message', '$JS.API.STREAM.MSG.GET.NOZZLE', () =>
      jsm.streams.getMessage(names.stream, { seq: ack.seq }),
    );
    await refused(t, 'remove a message', '$JS.API.STREAM.MSG.DELETE.NOZZLE', () =>
      jsm.streams.deleteMessage(names.stream, ack.seq),
    );
    await refused(t, 'publish a dead letter', 'nozzle.dead.ns-a', () =>
      js.publish('nozzle.dead.ns-a', encodeMessage(message)),
    );
    await refusedAdmin(t, jsm);
    await subscribeRefused(t, nc, 'nozzle.>');
    await subscribeRefused(t, nc, '_INBOX.nozzle-worker.>');
  },
);

test.serial(
  'nozzle-worker pulls, answers, dead-letters and removes; it cannot publish sleeps or wakes, or change the streams',
  async (t) => {
    const admin = await shipped.connectAs(TEST_ADMIN);
    const adminJsm = await jetstreamManager(admin);
    await adminJsm.streams.purge(names.stream);
    const nc = await shipped.connectAs('nozzle-worker');
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const publisher = jetstream(await shipped.connectAs('nozzle-publisher'));
    const first = sleepMessage('ns-b', { kind: 'Deployment', name: 'web' });
    const second = sleepMessage('ns-b', { kind: 'Deployment', name: 'api' });
    for (const m of [first, second]) await publisher.publish(subjectOf(m), encodeMessage(m));

    // The advisory subscription the worker keeps (worker/max-deliveries.ts) is allowed.
    const advisories = nc.subscribe(maxDeliveriesSubject(names.stream, names.consumer), {
      queue: names.consumer,
    });
    const consumer = await js.consumers.get(names.stream, names.consumer);
    t.is((await consumer.info(true)).name, names.consumer);
    const msg = await consumer.next({ expires: 5_000 });
    t.truthy(msg, 'a message pulled');
    msg?.working();
    t.true(await msg!.ackAck(), 'the ack confirmed');
    const other = await consumer.next({ expires: 5_000 });
    t.truthy(other);
    other?.term('test');

    const letter = deadLetterMessage({
      kind: 'invalid',
      reason: 'test',
      namespace: 'ns-b',
      payload: new TextEncoder().encode('junk'),
      subject: 'nozzle.sleep.ns-b',
      streamSequence: 1,
      deliveries: 1,
    });
    const dead = await js.publish(letter.subject, letter.payload, {
      headers: letter.headers,
      msgID: letter.msgID,
    });
    t.is(dead.stream, names.deadLetterStream);

    // The max-deliveries path: read the stored message by sequence, then remove it.
    const third = sleepMessage('ns-b', { kind: 'StatefulSet', name: 'db' });
    const stored = await publisher.publish(subjectOf(third), encodeMessage(third));
    t.is((await jsm.streams.getMessage(names.stream, { seq: stored.seq }))?.subject, subjectOf(third));
    t.true(await jsm.streams.deleteMessage(names.stream, stored.seq, false));
    t.is((await adminJsm.streams.info(names.stream)).state.messages, 0, 'acked, terminated and removed');
    t.false(advisories.isClosed(), 'the advisory subscription stands');

    await refused(t, 'publish a sleep', 'nozzle.sleep.ns-b', () =>
      js.publish('nozzle.sleep.ns-b', encodeMessage(first)),
    );
    await refused(t, 'publish a wake', 'nozzle.wake.ns-b', () =>
      js.publish('nozzle.wake.ns-b', encodeMessage(first)),
    );
    await refused(t, 'change NOZZLE', '$JS.API.STREAM.UPDATE.NOZZLE', () =>
      nc.request(
        '$JS.API.STREAM.UPDATE.NOZZLE',
        JSON.stringify({ name: names.stream, max_bytes: 1024 ** 2 }),
      ),
    );
    await refused(t, 'read NOZZLE_DLQ', '$JS.API.STREAM.MSG.GET.NOZZLE_DLQ', () =>
      jsm.streams.getMessage(names.deadLetterStream, { seq: dead.seq }),
    );
    await refusedAdmin(t, jsm);
    await subscribeRefused(t, nc, 'nozzle.sleep.>');
    await subscribeRefused(t, nc, '_INBOX.nozzle-publisher.>');
  },
);

test('an unknown user, a wrong password and no user are refused at connect', async (t) => {
  const attempts: [string, Parameters<typeof connectNats>[1]][] = [
    [
      'unknown user',
      { name: 'test', user: 'nozzle-activator', password: shipped.passwords['nozzle-worker'] },
    ],
    [
      'wrong password',
      { name: 'test', ...shipped.access('nozzle-worker', shipped.passwords['nozzle-publisher']) },
    ],
    ['no user', { name: 'test' }],
  ];
  for (const [what, options] of attempts) {
    const err = await t.throwsAsync(
      connectNats(shipped.nats.url, options),
      { instanceOf: NatsConnectError },
      what,
    );
    t.regex(err?.message ?? '', /Authorization Violation/i, what);
    t.regex(err?.message ?? '', /NOZZLE_NATS_USER and NOZZLE_NATS_PASSWORD/, what);
  }
  t.is(NATS_USERS.length, 3);
});

test.serial(
  'the real setup, publisher and worker processes, each as its own user, put a namespace to sleep',
  async (t) => {
    const admin = await shipped.connectAs(TEST_ADMIN);
    const adminJsm = await jetstreamManager(admin);
    await adminJsm.streams.delete(names.stream);
    await adminJsm.streams.delete(names.deadLetterStream);
    const { namespace, selector } = await createNamespace(kube, 'nats-users');
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment('web', 2) });
    await new Promise((resolve) => setTimeout(resolve, 1_200)); // idle for longer than the 1s idle-after
    const env = (user: (typeof NATS_USERS)[number]) => ({
      NATS_URL: shipped.nats.url,
      NOZZLE_NATS_USER: user,
      NOZZLE_NATS_PASSWORD: shipped.passwords[user],
      NOZZLE_NAMESPACE_SELECTOR: selector,
      NOZZLE_IDLE_AFTER: '1s',
      NOZZLE_LIST_PAGE_SIZE: '5000',
      ...topologyEnv(),
    });
    const setup = NozzleProcess.start(['setup'], env('nozzle-setup'));
    t.is((await setup.exit()).code, 0, setup.describe());
    const publish = NozzleProcess.start(['publish', '--once'], env('nozzle-publisher'));
    t.is((await publish.exit()).code, 0, publish.describe());
    t.like(
      publish.lines.find((l) => l.msg === 'publisher round done'),
      { published: 1, failed: 0 },
    );
    const worker = NozzleProcess.start(['worker', '--port', '0'], {
      ...env('nozzle-worker'),
      NOZZLE_NAMESPACE_SELECTOR: 'nozzle=true',
    });
    t.teardown(() => worker.kill('SIGKILL'));
    await eventually('web asleep', async () => {
      const web = await kube.apps.readNamespacedDeployment({ namespace, name: 'web' });
      return web.spec?.replicas === 0 && web.metadata?.annotations?.['nozzle.io/replicas'] === '2';
    });
    await eventually(
      'the message acknowledged',
      async () => (await adminJsm.streams.info(names.stream)).state.messages === 0,
    );
    t.is((await adminJsm.streams.info(names.deadLetterStream)).state.messages, 0, 'no dead letter');
    t.false(
      worker.lines.some((l) => /permission/i.test(JSON.stringify(l))),
      'the worker met no permission violation',
    );
  },
);
