/**
 * retryOnConflict's pacing (pure, no apiserver): a 409 is retried from a
 * fresh attempt after a random delay below a doubling ceiling, up to the
 * attempts; anything else is thrown at once.
 */
import test from 'ava';
import { ApiException } from '@kubernetes/client-node';
import { ConflictRetriesExhaustedError, retryOnConflict } from '../../../lib/kube/conflict.js';

const conflict = () => new ApiException(409, 'Conflict', {}, {});

function pacing(attempts = 5) {
  const delays: number[] = [];
  return {
    delays,
    retry: {
      attempts,
      firstMs: 20,
      maxMs: 100,
      sleep: (ms: number) => Promise.resolve(void delays.push(ms)),
    },
  };
}

test('409s are retried after delays below 20, 40, 80, 100 ms; the attempt that works wins', async (t) => {
  const { delays, retry } = pacing();
  let calls = 0;
  const result = await retryOnConflict(
    'Deployment shop/web',
    () => (++calls < 5 ? Promise.reject(conflict()) : Promise.resolve('written')),
    retry,
  );
  t.is(result, 'written');
  t.is(calls, 5);
  t.is(delays.length, 4);
  [20, 40, 80, 100].forEach((ceiling, i) => {
    t.true(delays[i]! >= 0 && delays[i]! < ceiling, `delay ${i + 1}: ${delays[i]} < ${ceiling}`);
  });
});

test('past the attempts: ConflictRetriesExhaustedError naming the object; no delay after the last', async (t) => {
  const { delays, retry } = pacing(3);
  const err = await t.throwsAsync(
    retryOnConflict('Deployment shop/web', () => Promise.reject(conflict()), retry),
    {
      instanceOf: ConflictRetriesExhaustedError,
    },
  );
  t.regex(err.message, /Deployment shop\/web: still conflicting after 3 attempts/);
  t.is(delays.length, 2);
});

test('any other error is thrown at once, without a retry', async (t) => {
  const { delays, retry } = pacing();
  let calls = 0;
  await t.throwsAsync(
    retryOnConflict(
      'x',
      () => {
        calls++;
        return Promise.reject(new ApiException(403, 'Forbidden', {}, {}));
      },
      retry,
    ),
  );
  t.is(calls, 1);
  t.deepEqual(delays, []);
});
