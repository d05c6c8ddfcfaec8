/**
 * personMessage for failures that need no apiserver to produce: a write that
 * kept conflicting is said as such (it once read "cannot reach the
 * apiserver ... 409"), and a network error as unreachable.
 */
import test from 'ava';
import { personMessage } from '../../../cli/people/errors.js';
import { ConflictRetriesExhaustedError } from '../../../lib/kube/conflict.js';
import type { Kube } from '../../../lib/kube/client.js';

const kube = {
  config: { getCurrentCluster: () => ({ server: 'https://10.0.0.1:6443' }) },
} as unknown as Kube;

test('a write that kept conflicting says so and that running again is safe, not that the apiserver is unreachable', (t) => {
  const message = personMessage(new ConflictRetriesExhaustedError('Deployment shop/web', 8), kube, 'user');
  t.regex(message, /Deployment shop\/web: still conflicting after 8 attempts/);
  t.regex(message, /run the command again/);
  t.notRegex(message, /cannot reach/);
});

test('a network error: cannot reach the apiserver, naming it', (t) => {
  const err = new Error('connect ECONNREFUSED 10.0.0.1:6443');
  t.regex(
    personMessage(err, kube, 'user'),
    /^cannot reach the apiserver at https:\/\/10\.0\.0\.1:6443: .*ECONNREFUSED/,
  );
});
