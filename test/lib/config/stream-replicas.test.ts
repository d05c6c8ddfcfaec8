/**
 * NOZZLE_STREAM_REPLICAS, the one setting the clustered NATS
 * (k8s/components/nats-cluster) turns on: 1 by default, 3 from the
 * component's nozzle-config, and nothing JetStream could not place.
 */
import test from 'ava';
import { ConfigError, load } from '../../../lib/config/settings.js';
import { stream } from '../../../lib/config/nozzle.js';

const replicasFrom = (env: Record<string, string>) => load(stream, { env, flags: new Map() }).replicas;

test('the stream replicas default to 1, a single server', (t) => {
  t.is(replicasFrom({}), 1);
});

test('3 (the nats-cluster component) and 5 (the most a JetStream stream takes) are read', (t) => {
  t.is(replicasFrom({ NOZZLE_STREAM_REPLICAS: '3' }), 3);
  t.is(replicasFrom({ NOZZLE_STREAM_REPLICAS: '5' }), 5);
});

test('0, 6, a fraction and a word are refused, naming the setting', (t) => {
  for (const bad of ['0', '6', '2.5', 'three']) {
    const error = t.throws(() => replicasFrom({ NOZZLE_STREAM_REPLICAS: bad }), { instanceOf: ConfigError });
    t.deepEqual(error?.settings, ['NOZZLE_STREAM_REPLICAS'], bad);
  }
});
