/**
 * An operation must always end (done, or given up and handed back) within the
 * shutdown timeout, which must end within the pod's grace period: else a
 * SIGTERM can cut an operation short with no chance to hand it back.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Deployment } from '@kubernetes/client-node';
import { ConfigError, load } from '../../lib/config/settings.js';
import { parseDuration } from '../../lib/duration.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { repoRoot } from '../support/manifests.js';
import workerCommand from '../../worker/command.js';

const loadWorker = (env: Record<string, string>) => load(workerCommand.settings, { env, flags: new Map() });

test('the defaults: the operation timeout is shorter than the shutdown timeout', (t) => {
  const config = loadWorker({});
  t.true(config.operationTimeout < config.shutdownTimeout);
  t.notThrows(() => workerCommand.validate?.(config));
});

test('an operation timeout not shorter than the shutdown timeout is a configuration error', (t) => {
  const envs: Record<string, string>[] = [
    { NOZZLE_WORKER_OPERATION_TIMEOUT: '2m' },
    { NOZZLE_WORKER_OPERATION_TIMEOUT: '30s', NOZZLE_WORKER_SHUTDOWN_TIMEOUT: '30s' },
  ];
  for (const env of envs) {
    const error = t.throws(() => workerCommand.validate?.(loadWorker(env)), { instanceOf: ConfigError });
    t.deepEqual(error?.settings, ['NOZZLE_WORKER_OPERATION_TIMEOUT'], JSON.stringify(env));
  }
});

test('keda/worker.yaml: operation timeout < shutdown timeout < terminationGracePeriodSeconds', (t) => {
  const objects = parseManifests(readFileSync(join(repoRoot, 'keda', 'worker.yaml'), 'utf8'));
  const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
  const pod = deployment.spec!.template.spec!;
  const env = Object.fromEntries(
    (pod.containers[0]?.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
  );
  const config = loadWorker(env);
  t.notThrows(() => workerCommand.validate?.(config));
  t.true(config.operationTimeout < config.shutdownTimeout);
  t.true(config.shutdownTimeout < (pod.terminationGracePeriodSeconds ?? 30) * 1000);
  t.is(
    config.operationTimeout,
    parseDuration(env.NOZZLE_WORKER_OPERATION_TIMEOUT ?? ''),
    'set in the manifest',
  );
});
