/**
 * `npm run demo`: Nozzle's story on a throwaway cluster made of real
 * components on this machine, for a newcomer with no cluster. It runs the
 * same scenario as the end-to-end test with a live timeline, then leaves
 * everything up: the publisher keeps running every 30 s (the CronJob's
 * stand-in) and the demo namespace sleeps again one minute after each wake,
 * so you can watch the cycle, until Ctrl-C.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { TestEnvironment } from '../testenv/environment.js';
import { findBinaries } from '../testenv/binaries.js';
import { kubeconfig } from '../testenv/apiserver.js';
import { Timeline } from './timeline.js';
import { DEMO_HOST, DEMO_NAMESPACE, setUp, sleepThroughTheQueue, wakeOnFirstRequest } from './scenario.js';
import { annotations } from '../../lib/names.js';
import { mergePatch } from '../../lib/kube/patch.js';

const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const run = promisify(execFile);
const say = (text: string): void => console.log(`\n\u001b[1m${text}\u001b[0m`);

say(
  'Nozzle demo: starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok, KEDA and NATS',
);
console.log('(the first run on a machine builds them from Go modules: minutes, with progress below)');
const binaries = await findBinaries({ e2e: true });
const timeline = new Timeline(join(process.cwd(), 'test-results', 'demo-timeline.txt'));
const env = await TestEnvironment.start({ e2e: true, progress: (line) => timeline.log(line) });
const stopAll = async (): Promise<void> => {
  say('stopping everything');
  await scenario.stop();
  await env.stop({ keepLogs: false });
  process.exit(0);
};
process.once('SIGINT', () => void stopAll());
process.once('SIGTERM', () => void stopAll());

say('1. kubectl apply -k k8s/ && kubectl apply -k keda/ (the demo namespace is labelled nozzle=true)');
const scenario = await setUp(env, timeline);

say('2. the publisher queues one sleep message per workload; watch KEDA scale the worker from zero');
await sleepThroughTheQueue(env, scenario, timeline);

say('3. the first request wakes the namespace');
const woke = await wakeOnFirstRequest(scenario, timeline);
console.log(`   the app answered ${woke.response.status}: ${woke.response.body.trim()}`);
console.log(
  `   figures: worker from zero in ${timeline.between('published', 'worker-scaled-up').toFixed(1)}s, ` +
    `request -> 200 in ${timeline.between('request', 'answered').toFixed(1)}s`,
);

// Keep the cycle going for exploration: sleep one minute after each wake.
await scenario.kube.core.patchNamespace(
  { name: DEMO_NAMESPACE, body: { metadata: { annotations: { [annotations.idleAfter]: '1m' } } } },
  mergePatch,
);
const token = await scenario.kube.core.createNamespacedServiceAccountToken({
  name: 'nozzle-publisher',
  namespace: 'nozzle-system',
  body: { spec: { audiences: [], expirationSeconds: 86_400 } },
});
const publisherConfig = join(env.dir, 'kubeconfig-publisher');
writeFileSync(publisherConfig, kubeconfig(env.apiserver, 'nozzle-publisher', token.status?.token ?? ''));
setInterval(() => {
  run(process.execPath, [cli, 'publish', '--once'], {
    env: { ...process.env, NATS_URL: env.nats.url, KUBECONFIG: publisherConfig, LOG_LEVEL: 'warn' },
  }).catch((err: unknown) => timeline.log(`publisher failed: ${String(err)}`));
}, 30_000);

const port = scenario.activators.processes[0]?.port;
say('The cluster stays up until Ctrl-C. Explore it:');
console.log(`
  export KUBECONFIG=${env.kubeconfigPath}
  alias kubectl=${binaries.kubectl}
  kubectl get nodes,pods -A                     # kwok's fake node runs every pod
  kubectl -n ${DEMO_NAMESPACE} get deploy,sts,ingress -o wide
  kubectl -n nozzle-system get scaledobject,deploy nozzle-worker -w

  The demo namespace now sleeps again one minute after each wake (the publisher
  runs every 30 s here, every 5 min in a cluster). When it sleeps:

  curl -i -H 'Host: ${DEMO_HOST}' http://127.0.0.1:${port}/                      # held, then the app
  curl -i -H 'Host: ${DEMO_HOST}' -H 'Accept: text/html' http://127.0.0.1:${port}/   # the waiting page

  In a browser: add "127.0.0.1 ${DEMO_HOST}" to /etc/hosts and open http://${DEMO_HOST}:${port}/
  Server logs: ${env.dir}
`);
