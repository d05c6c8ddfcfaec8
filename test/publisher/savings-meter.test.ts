/** publisher/savings-meter.ts: the savings gauges and counters per namespace, from round to round. */
import test from 'ava';
import { Registry } from 'prom-client';
import { publisherMetrics } from '../../publisher/metrics.js';
import { SavingsMeter } from '../../publisher/savings-meter.js';

const sleeping = (namespace: string, since = '2025-01-01T09:00:00Z') => ({
  key: `Deployment/${namespace}/web`,
  namespace,
  replicas: 2,
  perPod: { cpu: 0.25, memory: 64 * 2 ** 20 },
  since: new Date(since),
});

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.namespace), Number(v.value)]));
}

test('gauges: what is not running now per opted-in namespace (0 when awake); counters: summed between rounds', async (t) => {
  const registry = new Registry();
  const meter = new SavingsMeter(publisherMetrics(registry));
  const namespaces = [{ name: 'a' }, { name: 'b' }];
  const first = meter.record(namespaces, [sleeping('a')], new Date('2025-01-01T10:00:00Z'));
  t.deepEqual(first.notRunning, { cpu: 0.5, memory: 128 * 2 ** 20 });
  t.is(first.cpuCoreSeconds, 0.5 * 3600, 'the current sleep, as nozzle status shows it');
  t.deepEqual(await values(registry, 'nozzle_saved_cpu_cores'), { a: 0.5, b: 0 });
  t.deepEqual(await values(registry, 'nozzle_saved_cpu_core_seconds_total'), { a: 0, b: 0 });

  meter.record(namespaces, [sleeping('a')], new Date('2025-01-01T10:01:00Z'));
  t.deepEqual(await values(registry, 'nozzle_saved_cpu_core_seconds_total'), { a: 30, b: 0 });
  t.deepEqual(await values(registry, 'nozzle_saved_memory_byte_seconds_total'), {
    a: 60 * 128 * 2 ** 20,
    b: 0,
  });

  // b opts out: its series end; a wakes (no woke-at in the interval): its counter stays where it was.
  meter.record([{ name: 'a' }], [], new Date('2025-01-01T10:02:00Z'));
  t.deepEqual(await values(registry, 'nozzle_saved_cpu_cores'), { a: 0 });
  t.deepEqual(await values(registry, 'nozzle_saved_cpu_core_seconds_total'), { a: 30 });
});

test('a wake in the interval, read from nozzle.io/woke-at, ends the sum there', async (t) => {
  const registry = new Registry();
  const meter = new SavingsMeter(publisherMetrics(registry));
  meter.record([{ name: 'a' }], [sleeping('a')], new Date('2025-01-01T10:00:00Z'));
  meter.record(
    [{ name: 'a', annotations: { 'nozzle.io/woke-at': '2025-01-01T10:00:40Z' } }],
    [],
    new Date('2025-01-01T10:01:00Z'),
  );
  t.deepEqual(await values(registry, 'nozzle_saved_cpu_core_seconds_total'), { a: 20 });
});

test('without metrics (a CronJob run) the totals are still reported', (t) => {
  const meter = new SavingsMeter();
  const saved = meter.record(
    [{ name: 'a' }],
    [sleeping('a'), { ...sleeping('a'), key: 'StatefulSet/a/db' }],
    new Date('2025-01-01T09:30:00Z'),
  );
  t.deepEqual(saved, {
    notRunning: { cpu: 1, memory: 256 * 2 ** 20 },
    cpuCoreSeconds: 1800,
    memoryByteSeconds: 1800 * 256 * 2 ** 20,
  });
});
