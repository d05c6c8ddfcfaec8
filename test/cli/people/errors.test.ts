/**
 * The failures a person can act on, each one line on stderr and exit 1:
 * unknown namespace, namespace not opted in, no rights, apiserver
 * unreachable; and usage errors, exit 2.
 */
import test from 'ava';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminKube, serviceAccountToken, uniqueName } from '../../support/env.js';
import { writeKubeconfig } from '../../support/kubeconfig-file.js';
import { nozzle } from '../../support/people-cli.js';
import { createNamespace } from '../../support/shop.js';

const kube = adminKube();
const dir = mkdtempSync(join(tmpdir(), 'nozzle-cli-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

test('an unknown namespace', async (t) => {
  for (const command of ['status', 'wake', 'sleep']) {
    const result = await nozzle([command, 'no-such-namespace']);
    t.is(result.code, 1, command);
    t.is(result.stderr, 'error: namespace "no-such-namespace" not found (kubectl get namespaces)\n', command);
  }
});

test('a namespace that has not opted in', async (t) => {
  const namespace = uniqueName('plain');
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } });
  for (const command of ['status', 'wake', 'sleep']) {
    const result = await nozzle([command, namespace]);
    t.is(result.code, 1, command);
    t.is(
      result.stderr,
      `error: namespace "${namespace}" is not opted in: label it nozzle=true (kubectl label namespace ${namespace} nozzle=true) (selector NOZZLE_NAMESPACE_SELECTOR "nozzle=true")\n`,
      command,
    );
  }
});

test('no rights: a token of a ServiceAccount bound to nothing', async (t) => {
  const { namespace } = await createNamespace(kube, 'norights');
  await kube.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'nobody' } } });
  const token = await serviceAccountToken(kube, namespace, 'nobody');
  const KUBECONFIG = writeKubeconfig(dir, 'nobody', { token });
  const status = await nozzle(['status', namespace], { KUBECONFIG });
  t.is(status.code, 1);
  t.is(
    status.stderr,
    `error: you may not get namespaces in "${namespace}": ask for the nozzle-viewer (or nozzle-user) ClusterRole (k8s/rbac-user.yaml)\n`,
  );
  const wake = await nozzle(['wake', namespace], { KUBECONFIG });
  t.is(wake.code, 1);
  t.is(
    wake.stderr,
    `error: you may not get namespaces in "${namespace}": ask for the nozzle-user ClusterRole (k8s/rbac-user.yaml)\n`,
  );
});

test('the apiserver cannot be reached: a kubeconfig pointing at a closed port', async (t) => {
  // A port that was just free: nothing listens on it once the server is closed.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  const KUBECONFIG = writeKubeconfig(dir, 'closed', { server: `https://127.0.0.1:${port}` });
  for (const command of ['status', 'sleep']) {
    const result = await nozzle(command === 'status' ? ['status'] : ['sleep', 'shop'], { KUBECONFIG });
    t.is(result.code, 1, command);
    t.is(
      result.stderr,
      `error: cannot reach the apiserver at https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
      command,
    );
  }
});

test('usage errors exit 2', async (t) => {
  for (const args of [
    ['wake'],
    ['sleep', 'a', 'b'],
    ['status', '-o', 'yaml'],
    ['wake', 'x', '--for', '2'],
    ['status', '--bogus'],
  ]) {
    const result = await nozzle(args);
    t.is(result.code, 2, args.join(' '));
    t.regex(result.stderr, /^error: /, args.join(' '));
  }
});
