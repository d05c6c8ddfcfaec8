/** inParallel: every item once, never more than the limit at once, failures thrown together at the end. */
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { inParallel } from '../../lib/in-parallel.js';

test('runs every item once with at most `limit` at a time', async (t) => {
  let running = 0;
  let most = 0;
  const seen: number[] = [];
  await inParallel([...Array(20).keys()], 4, async (i) => {
    running++;
    most = Math.max(most, running);
    await sleep(2);
    seen.push(i);
    running--;
  });
  t.is(most, 4);
  t.deepEqual(
    seen.sort((a, b) => a - b),
    [...Array(20).keys()],
  );
});

test('a failure does not stop the others; all failures come back together', async (t) => {
  const done: number[] = [];
  const error = await t.throwsAsync(
    inParallel([1, 2, 3, 4], 2, async (i) => {
      await sleep(1);
      if (i % 2 === 0) throw new Error(`item ${i}`);
      done.push(i);
    }),
    { instanceOf: AggregateError },
  );
  t.deepEqual(done.sort(), [1, 3]);
  t.deepEqual(error.errors.map((e) => (e as Error).message).sort(), ['item 2', 'item 4']);
});

test('no items: resolves at once', async (t) => {
  let calls = 0;
  await inParallel([], 8, () => Promise.resolve(void calls++));
  t.is(calls, 0);
});
