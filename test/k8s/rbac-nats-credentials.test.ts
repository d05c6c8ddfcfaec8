/**
 * The nozzle-nats-credentials Job's identity (k8s/rbac-nats-credentials.yaml
 * and the policy nozzle-nats-credentials of k8s/admission-policy.yaml), with
 * a real TokenRequest token: `nozzle nats-credentials` creates the three
 * Secrets once and keeps them on every later run; the token cannot read,
 * list, change or delete a Secret, nor create any other Secret or object, nor
 * a credentials Secret of another shape or elsewhere (403 from RBAC or from
 * the policy).
 */
import test from 'ava';
import type { V1Secret } from '@kubernetes/client-node';
import { ensureNatsCredentials } from '../../cli/nats-credentials.js';
import { statusOf } from '../../lib/errors.js';
import {
  NATS_USERS,
  PASSWORD_LENGTH,
  credentialsSecret,
  isSafePassword,
} from '../../lib/jetstream/nats-users.js';
import { adminKube, uniqueName } from '../support/env.js';
import { eventually } from '../support/eventually.js';
import { applyAdmissionPolicies, asServiceAccount } from '../support/rbac.js';

const kube = adminKube();
const SYSTEM = 'nozzle-system';
const encode = (text: string) => Buffer.from(text).toString('base64');
const decode = (secret: V1Secret, key: string) => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();

const credentials = (name: string, username: string, type = 'kubernetes.io/basic-auth'): V1Secret => ({
  metadata: { name },
  type,
  data: { username: encode(username), password: encode('a'.repeat(PASSWORD_LENGTH)) },
});

test('nozzle nats-credentials creates the three Secrets once and keeps them; everything else is 403', async (t) => {
  const asCredentials = await asServiceAccount(
    t,
    'k8s/rbac-nats-credentials.yaml',
    'nozzle-nats-credentials',
  );
  await applyAdmissionPolicies();
  for (const user of NATS_USERS) {
    await kube.core
      .deleteNamespacedSecret({ namespace: SYSTEM, name: credentialsSecret(user) })
      .catch(() => {});
  }
  const refused = async (what: string, call: () => Promise<unknown>, message?: RegExp) => {
    const err = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    t.is(statusOf(err), 403, `${what}: ${String(err)}`);
    if (message) t.regex(String((err as { body?: unknown }).body ?? err), message, what);
  };
  // The policy is in force once the apiserver has loaded it: a Secret of another name is refused.
  await eventually('the policy in force', () =>
    asCredentials.core
      .createNamespacedSecret({ namespace: SYSTEM, body: credentials('other', 'x'), dryRun: 'All' })
      .then(
        () => false,
        (err: unknown) => statusOf(err) === 403,
      ),
  );

  t.deepEqual(await ensureNatsCredentials(asCredentials, SYSTEM), {
    'nozzle-nats-setup': 'created',
    'nozzle-nats-publisher': 'created',
    'nozzle-nats-worker': 'created',
  });
  const read = () =>
    Promise.all(
      NATS_USERS.map((u) =>
        kube.core.readNamespacedSecret({ namespace: SYSTEM, name: credentialsSecret(u) }),
      ),
    );
  const made = await read();
  for (const [i, secret] of made.entries()) {
    t.is(secret.type, 'kubernetes.io/basic-auth');
    t.is(decode(secret, 'username'), NATS_USERS[i] ?? '');
    t.is(decode(secret, 'password').length, PASSWORD_LENGTH);
    t.true(isSafePassword(decode(secret, 'password')));
  }
  t.is(new Set(made.map((s) => decode(s, 'password'))).size, 3, 'a password of its own each');

  t.deepEqual(await ensureNatsCredentials(asCredentials, SYSTEM), {
    'nozzle-nats-setup': 'kept',
    'nozzle-nats-publisher': 'kept',
    'nozzle-nats-worker': 'kept',
  });
  t.deepEqual(
    (await read()).map((s) => decode(s, 'password')),
    made.map((s) => decode(s, 'password')),
    'a second run changes nothing',
  );

  const name = credentialsSecret('nozzle-worker');
  await refused('read a Secret', () => asCredentials.core.readNamespacedSecret({ namespace: SYSTEM, name }));
  await refused('list Secrets', () => asCredentials.core.listNamespacedSecret({ namespace: SYSTEM }));
  await refused('replace a Secret', () =>
    asCredentials.core.replaceNamespacedSecret({
      namespace: SYSTEM,
      name,
      body: credentials(name, 'nozzle-worker'),
    }),
  );
  await refused('patch a Secret', () =>
    asCredentials.core.patchNamespacedSecret({
      namespace: SYSTEM,
      name,
      body: [{ op: 'replace', path: '/data/password', value: Buffer.from('x').toString('base64') }],
    }),
  );
  await refused('delete a Secret', () =>
    asCredentials.core.deleteNamespacedSecret({ namespace: SYSTEM, name }),
  );
  await refused(
    'create another Secret',
    () =>
      asCredentials.core.createNamespacedSecret({
        namespace: SYSTEM,
        body: credentials('nozzle-nats-admin', 'x'),
      }),
    /creates only the Secrets nozzle-nats-/,
  );
  const elsewhere = uniqueName('creds');
  await kube.core.createNamespace({ body: { metadata: { name: elsewhere } } });
  await refused('create a credentials Secret in another namespace', () =>
    asCredentials.core.createNamespacedSecret({
      namespace: elsewhere,
      body: credentials(name, 'nozzle-worker'),
    }),
  );
  await refused('create a ConfigMap', () =>
    asCredentials.core.createNamespacedConfigMap({ namespace: SYSTEM, body: { metadata: { name: 'x' } } }),
  );
  // Absent again: a create of another shape is refused by the policy, the shipped shape allowed.
  await kube.core.deleteNamespacedSecret({ namespace: SYSTEM, name });
  await refused(
    'create it as Opaque',
    () =>
      asCredentials.core.createNamespacedSecret({
        namespace: SYSTEM,
        body: credentials(name, 'nozzle-worker', 'Opaque'),
      }),
    /creates only/,
  );
  await refused(
    'create it for another user',
    () =>
      asCredentials.core.createNamespacedSecret({
        namespace: SYSTEM,
        body: credentials(name, 'nozzle-publisher'),
      }),
    /creates only/,
  );
  t.like(await ensureNatsCredentials(asCredentials, SYSTEM), { [name]: 'created' });
});
