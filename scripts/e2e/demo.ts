/**
 * `npm run demo`: Nozzle's story on the sandbox cluster, narrated, for a
 * newcomer with no cluster: the same scenario as the end-to-end test with a
 * live timeline, then everything stays up, with the gateway's URL and the
 * exact commands to put the app to sleep again and watch a wake, until
 * Ctrl-C.
 */
import { join } from 'node:path';
import { Sandbox } from '../testenv/sandbox/sandbox.js';
import { Timeline } from './timeline.js';
import {
  APP_NAMESPACE,
  INGRESS_HOST,
  ROUTE_HOST,
  podOf,
  setUp,
  sleepThroughTheQueue,
  wakeThroughTheGateway,
  type Scenario,
} from './scenario.js';

const say = (text: string): void => console.log(`\n\u001b[1m${text}\u001b[0m`);

say('Nozzle demo: a sandbox cluster of real components in a network namespace of its own');
console.log('(the first run on a machine builds them from Go modules: many minutes, with progress below)');
const timeline = new Timeline(join(process.cwd(), 'test-results', 'demo-timeline.txt'));
const sandbox = await Sandbox.start({ progress: (line) => timeline.log(line) });
const running: { scenario?: Scenario } = {};
let stopping = false;
const stopAll = async (): Promise<void> => {
  // A second Ctrl-C must not cut the clean-up short.
  if (stopping) return;
  stopping = true;
  say('stopping everything');
  await running.scenario?.stop();
  await sandbox.stop({ keepLogs: false });
  process.exit(0);
};
process.on('SIGINT', () => void stopAll());
process.on('SIGTERM', () => void stopAll());

say(
  `1. kubectl apply -k k8s/ && kubectl apply -k keda/, then the app namespace ${APP_NAMESPACE} (labelled nozzle=true)`,
);
const scenario = await setUp(sandbox, timeline);
running.scenario = scenario;

say('2. the publisher queues one sleep message per workload; watch KEDA scale the worker 0 -> 1 -> N -> 0');
await sleepThroughTheQueue(scenario, timeline);

say('3. the first request through the gateway wakes the namespace');
const { api } = await wakeThroughTheGateway(scenario, timeline);
console.log(`   the app's pod ${podOf(api)} answered ${api.status} after ${api.seconds.toFixed(1)}s`);
console.log(`   worker replicas: ${scenario.workerReplicas.join(' -> ')}`);

const env = sandbox.env;
say('The cluster stays up until Ctrl-C. Explore it from another shell:');
console.log(`
  export KUBECONFIG=${env.KUBECONFIG}
  alias kubectl=${sandbox.binaries.kubectl}
  kubectl get nodes,pods -A -o wide             # every pod is a real process at its pod IP
  kubectl -n nozzle-system get scaledobject,hpa,deploy nozzle-worker

  The app namespace is idle after 5 s without activity (nozzle.io/idle-after): the
  publisher's CronJob (every 5 minutes) puts it to sleep again, or now with:
  kubectl -n nozzle-system create job --from=cronjob/nozzle-publisher publish-$RANDOM
  kubectl -n ${APP_NAMESPACE} get deploy -w      # web 2 -> 0
  nozzle status ${APP_NAMESPACE}                # node dist/cli/main.js status ${APP_NAMESPACE}

  Then watch a wake through the gateway (Traefik):
  curl -i -H 'Host: ${INGRESS_HOST}' -H 'Accept: text/html' ${env.NOZZLE_GATEWAY_URL}/   # the waiting page
  curl -i -H 'Host: ${INGRESS_HOST}' ${env.NOZZLE_GATEWAY_URL}/                          # held, then the app (3 s cold start)
  curl -s -H 'Host: ${ROUTE_HOST}' ${env.NOZZLE_GATEWAY_URL}/                            # the HTTPRoute's app

  In a browser: chromium --host-resolver-rules="MAP ${INGRESS_HOST} ${new URL(env.NOZZLE_GATEWAY_URL ?? '').host}" http://${INGRESS_HOST}/
  Inside the cluster's network: npm run testenv -- exec -- curl -s http://web.${APP_NAMESPACE}.svc.cluster.local/
  Traffic in Prometheus: curl -s '${env.NOZZLE_PROMETHEUS_URL}/api/v1/query?query=traefik_service_requests_total'
  Server and pod logs: ${sandbox.dir}
`);
