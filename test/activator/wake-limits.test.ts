import test from 'ava';
import { Counter, Registry } from 'prom-client';
import { TokenBucket } from '../../activator/token-bucket.js';
import { WakeLimits, WakeRefused } from '../../activator/wake-limits.js';

function clock() {
  const c = { now: 0, fn: () => c.now };
  return c;
}

test('a token bucket allows its burst, then its rate, and says when the next token comes', (t) => {
  const c = clock();
  const bucket = new TokenBucket(2, 3, c.fn);
  for (let i = 0; i < 3; i++) t.true(bucket.take().ok);
  const refused = bucket.take();
  t.false(refused.ok);
  t.is(refused.ok ? 0 : refused.retryAfterMs, 500);
  c.now = 500;
  t.true(bucket.take().ok);
  t.false(bucket.take().ok);
  c.now = 60_000;
  for (let i = 0; i < 3; i++) t.true(bucket.take().ok, 'refilled to the burst, not beyond');
  t.false(bucket.take().ok);
});

test('one new wake per namespace per interval; other namespaces are not held back', async (t) => {
  const c = clock();
  const registry = new Registry();
  const refused = new Counter({ name: 'refused', help: 'r', labelNames: ['reason'], registers: [registry] });
  const limits = new WakeLimits({ minIntervalMs: 5000, ratePerSecond: 100, burst: 100 }, refused, c.fn);
  limits.start('a');
  c.now = 1000;
  const error = t.throws(() => limits.start('a'), { instanceOf: WakeRefused });
  t.is(error.reason, 'wake-interval');
  t.is(error.retryAfterMs, 4000);
  t.notThrows(() => limits.start('b'));
  c.now = 5000;
  t.notThrows(() => limits.start('a'));
  t.deepEqual(
    (await refused.get()).values.map((v) => [v.labels.reason, v.value]),
    [['wake-interval', 1]],
  );
});

test('the global rate refuses past the burst, whatever the namespace', (t) => {
  const c = clock();
  const limits = new WakeLimits({ minIntervalMs: 0, ratePerSecond: 20, burst: 2 }, undefined, c.fn);
  limits.start('a');
  limits.start('b');
  const error = t.throws(() => limits.start('c'), { instanceOf: WakeRefused });
  t.is(error.reason, 'wake-rate');
  t.is(error.retryAfterMs, 50);
  c.now = 50;
  t.notThrows(() => limits.start('c'));
});

test('a refused namespace does not spend a token', (t) => {
  const c = clock();
  const limits = new WakeLimits({ minIntervalMs: 5000, ratePerSecond: 1, burst: 2 }, undefined, c.fn);
  limits.start('a');
  t.throws(() => limits.start('a'), { instanceOf: WakeRefused });
  t.notThrows(() => limits.start('b'));
});
