import test from 'ava';
import { ApiException } from '@kubernetes/client-node';
import { backoffDelay, Backoff } from '../../lib/backoff.js';
import { BackendsAnnotationError } from '../../lib/backends.js';
import { describeError, isRetryable, PermanentError } from '../../lib/errors.js';
import { ConflictRetriesExhaustedError } from '../../lib/kube/conflict.js';
import { NamespaceRefusedError } from '../../lib/kube/opt-in.js';
import { ReplicasAnnotationError } from '../../lib/kube/workloads.js';
import { MessageError } from '../../lib/messages.js';
import { NoActivatorError } from '../../lib/takeover/activator-pods.js';
import { SliceNotOursError } from '../../lib/takeover/takeover.js';
import { RestoreError } from '../../lib/wake/restore-error.js';
import { OperationTimeoutError } from '../../worker/failures.js';

const api = (code: number, message = 'x') => new ApiException(code, 'x', JSON.stringify({ message }), {});

test('the backoff doubles per attempt up to the maximum, and starts over after reset', (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 10, 100].map((n) => backoffDelay(n, 2_000, 30_000)),
    [2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
  );
  const backoff = new Backoff(25, 100);
  t.deepEqual([backoff.next(), backoff.next(), backoff.next(), backoff.next()], [25, 50, 100, 100]);
  backoff.reset();
  t.is(backoff.next(), 25);
});

test('permanent failures and request faults are not retried', (t) => {
  for (const err of [
    new MessageError('v', 'x'),
    new ReplicasAnnotationError('x'),
    new BackendsAnnotationError('x'),
    new SliceNotOursError('x'),
    new NamespaceRefusedError('x'),
    api(403),
    api(422),
    api(400),
  ]) {
    t.false(isRetryable(err), String(err));
    if (!(err instanceof ApiException)) t.true(err instanceof PermanentError, err.name);
  }
});

test('timeouts, conflicts, throttling, server and network failures are retried (the worker and the activator alike)', (t) => {
  for (const err of [
    api(500),
    api(503),
    api(429),
    api(409),
    api(408),
    new Error('fetch failed'),
    new OperationTimeoutError('x'),
    new ConflictRetriesExhaustedError('x', 5),
    new NoActivatorError('nozzle-system'),
  ]) {
    t.true(isRetryable(err), String(err));
  }
});

test('several failures at once are retried only when each of them can succeed', (t) => {
  const restore = (...errors: unknown[]) =>
    new RestoreError(
      'ns',
      [],
      errors.map((error, i) => ({ object: `o${i}`, error })),
    );
  t.true(isRetryable(restore(api(503), api(409))));
  t.false(isRetryable(restore(api(403))));
  t.false(isRetryable(restore(api(403), api(503))));
});

test('describeError reads the API message and the chain of causes', (t) => {
  t.is(describeError(api(409, 'the object has been modified')), '409: the object has been modified');
  const refused = new Error('connect ECONNREFUSED 127.0.0.1:4222');
  t.is(
    describeError(new Error('fetch failed', { cause: refused })),
    'fetch failed: connect ECONNREFUSED 127.0.0.1:4222',
  );
  t.is(describeError('plain'), 'plain');
  const restore = new RestoreError('ns', [], [{ object: 'Deployment ns/a', error: api(403, 'forbidden') }]);
  t.is(describeError(restore), 'restoring ns: Deployment ns/a: 403: forbidden');
});
