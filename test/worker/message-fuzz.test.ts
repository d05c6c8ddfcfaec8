/**
 * A seeded fuzz run of generated messages through a real `nozzle worker`
 * process (test/support/message-fuzz.ts): no crash, every broken message
 * dead-lettered once with a reason naming the field, every valid one
 * processed, nothing redelivered. The 10,000-message figures are
 * bench/reliability-input.ts's.
 */
import test from 'ava';
import { runMessageFuzz } from '../support/message-fuzz.js';
import { fuzzSeed } from '../support/seeded-random.js';

test('generated messages: the worker stays up and every refusal names the field', async (t) => {
  const seed = fuzzSeed(20_260_511);
  const count = Number(process.env.FUZZ_MESSAGES ?? 1000);
  t.log(`seed ${seed} (FUZZ_SEED=${seed} replays it), ${count} messages`);
  const result = await runMessageFuzz({ seed, count });
  t.log(
    `${(result.totalMs / 1000).toFixed(1)} s; dead-lettered ${result.deadLettered}, processed ${result.processed}, ` +
      `refused by the stream ${result.refusedByStream}; worker RSS ${result.rss.before.toFixed(0)} -> ${result.rss.after.toFixed(0)} MiB, heap ${result.heap.before.toFixed(0)} -> ${result.heap.after.toFixed(0)} MiB`,
  );
  t.true(result.alive, 'the worker is still running');
  t.deepEqual(result.wrong.slice(0, 20), [], 'every message ended as it should');
  t.is(result.redelivered, 0, 'nothing was redelivered');
  t.true(result.deadLettered > count / 2, 'most generated messages were broken, and dead-lettered');
  t.true(result.processed > 0 && result.refusedByStream > 0, 'valid and oversize ones were generated too');
});
