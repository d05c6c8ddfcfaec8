/**
 * What the activator tests stand up around the real apiserver: a local test
 * app (the backend), the objects of a sleeping namespace, what kubelet and
 * the controllers would write once the app runs (workload status and an
 * EndpointSlice with a ready endpoint), an in-process activator, and a
 * recorder in front of the apiserver that counts the requests that reach it.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import { Activator, type ActivatorConfig } from '../../activator/activator.js';
import { activatorSettings } from '../../activator/settings.js';
import { load } from '../../lib/config/settings.js';
import { optIn } from '../../lib/kube/opt-in.js';
import { sleepMessage } from '../../lib/messages.js';
import { sleepWorkload } from '../../lib/sleep/sleep.js';
import { connectKube, type Kube } from '../../lib/kube/client.js';
import { mergePatch } from '../../lib/kube/patch.js';
import { adminKubeConfig, uniqueName } from './env.js';
import { staticActivatorPods } from './activator-pods.js';

// ---------------------------------------------------------------- test app

export interface AppRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly bodyBytes: number;
  readonly bodySha256: string;
  /** process.hrtime.bigint() in ms when the request's headers arrived. */
  readonly arrivedAt: number;
}

export interface TestApp {
  readonly name: string;
  readonly port: number;
  /** `127.0.0.1:<port>`, for NOZZLE_DEV_UPSTREAM_OVERRIDES. */
  readonly address: string;
  readonly requests: AppRequest[];
  /** Paths of `/slow...` requests (never answered) whose connection was closed from the other side. */
  readonly abandoned: string[];
  close(): Promise<void>;
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/**
 * A backend on 127.0.0.1: answers browsers with a small HTML page titled
 * `<name> app`, every other request with JSON naming itself and describing
 * what it received (the body's length and SHA-256, read as a
 * stream); echoes bytes back on an upgraded connection. Never answers paths
 * under /slow, and notes when their caller goes away.
 */
export async function startTestApp(name: string): Promise<TestApp> {
  const requests: AppRequest[] = [];
  const abandoned: string[] = [];
  const server: Server = createServer((req, res) => {
    const arrivedAt = nowMs();
    if (req.url?.startsWith('/slow')) {
      res.on('close', () => abandoned.push(req.url ?? ''));
      req.resume();
      return;
    }
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const record: AppRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
        arrivedAt,
      };
      requests.push(record);
      if (/text\/html/.test(req.headers.accept ?? '')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          `<!doctype html><html lang="en"><head><title>${name} app</title></head><body><h1>The ${name} app</h1></body></html>`,
        );
        return;
      }
      const body = JSON.stringify({ app: name, ...record, headers: undefined, id: req.headers['x-test-id'] });
      res.writeHead(200, {
        'content-type': 'application/json',
        'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
        connection: 'keep-alive, x-app-hop',
        'x-app-hop': 'must not reach the client',
      });
      res.end(body);
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    requests.push({
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      bodyBytes: 0,
      bodySha256: '',
      arrivedAt: nowMs(),
    });
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-app: ' +
        name +
        '\r\n\r\n',
    );
    if (head.length > 0) socket.write(head);
    socket.pipe(socket); // echo
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    name,
    port,
    address: `127.0.0.1:${port}`,
    requests,
    abandoned,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// -------------------------------------------------------- namespace objects

export interface AppSpec {
  /** Deployment and Service name. */
  readonly name: string;
  readonly replicas: number;
  readonly servicePort?: number;
  /** Name the Service port (the Ingress then refers to it by name). */
  readonly portName?: string;
}

/** An app as a team would deploy it: Deployments, Services and one Ingress for `host` ("" for a host-less rule), awake. */
export async function createAwakeNamespace(
  kube: Kube,
  namespace: string,
  host: string,
  apps: readonly AppSpec[],
  options: { paths?: (app: AppSpec, i: number) => string } = {},
): Promise<void> {
  await kube.core.createNamespace({ body: { metadata: { name: namespace, labels: { nozzle: 'true' } } } });
  for (const app of apps) {
    const deployment: V1Deployment = {
      metadata: { name: app.name, namespace },
      spec: {
        replicas: app.replicas,
        selector: { matchLabels: { app: app.name } },
        template: {
          metadata: { labels: { app: app.name } },
          spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
        },
      },
    };
    await kube.apps.createNamespacedDeployment({ namespace, body: deployment });
    await kube.core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: app.name, namespace },
        spec: {
          selector: { app: app.name },
          ports: [{ name: app.portName ?? 'http', port: app.servicePort ?? 80, targetPort: 8080 }],
        },
      },
    });
  }
  await kube.networking.createNamespacedIngress({
    namespace,
    body: {
      metadata: { name: 'web', namespace },
      spec: {
        rules: [
          {
            ...(host ? { host } : {}),
            http: {
              paths: apps.map((app, i) => ({
                path: options.paths?.(app, i) ?? (i === 0 ? '/' : `/${app.name}`),
                pathType: 'Prefix',
                backend: {
                  service: {
                    name: app.name,
                    port: app.portName ? { name: app.portName } : { number: app.servicePort ?? 80 },
                  },
                },
              })),
            },
          },
        ],
      },
    },
  });
}

/** Puts every app of a namespace to sleep with the sleep path itself (lib/sleep), as the worker does. */
export async function sleepApps(kube: Kube, namespace: string, apps: readonly AppSpec[]): Promise<void> {
  for (const app of apps) {
    const result = await sleepWorkload(
      kube,
      sleepMessage(namespace, { kind: 'Deployment', name: app.name }),
      {
        activatorPods: staticActivatorPods(),
        optIn: optIn('nozzle=true', 'nozzle-system'),
      },
    );
    if (result.outcome !== 'slept')
      throw new Error(`${namespace}/${app.name} did not sleep: ${JSON.stringify(result)}`);
  }
}

/** A namespace named after `prefix` with `apps` behind host `<namespace>.apps.test` (createAwakeNamespace), put to sleep (sleepApps). */
export async function createSleepingNamespace(
  kube: Kube,
  prefix: string,
  apps: readonly AppSpec[],
): Promise<{ namespace: string; host: string }> {
  const namespace = uniqueName(prefix);
  const host = `${namespace}.apps.test`;
  await createAwakeNamespace(kube, namespace, host, apps);
  await sleepApps(kube, namespace, apps);
  return { namespace, host };
}

/**
 * What kubelet and the controllers write once the app runs: the Deployment's
 * ready replicas, and an EndpointSlice of the Service with a ready endpoint
 * (the EndpointSlice controller's name and label).
 * Resolves to when (nowMs) the EndpointSlice write was sent and acknowledged.
 */
export async function makeReady(
  kube: Kube,
  namespace: string,
  app: AppSpec,
  options: { ready?: boolean; ip?: string } = {},
): Promise<{ sentAt: number; ackedAt: number }> {
  await kube.apps.patchNamespacedDeploymentStatus(
    {
      namespace,
      name: app.name,
      body: {
        status: { replicas: app.replicas, readyReplicas: app.replicas, availableReplicas: app.replicas },
      },
    },
    mergePatch,
  );
  const sentAt = nowMs();
  await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: {
      metadata: { name: `${app.name}-abc12`, namespace, labels: { 'kubernetes.io/service-name': app.name } },
      addressType: 'IPv4',
      ports: [{ name: app.portName ?? 'http', port: 8080, protocol: 'TCP' }],
      // The apiserver refuses loopback addresses in EndpointSlices; the address
      // is a pod's as kubelet would report it. The activator never dials it: it
      // goes through the Service, which the dev override maps to the test app.
      endpoints: [{ addresses: [options.ip ?? '10.244.0.10'], conditions: { ready: options.ready ?? true } }],
    },
  });
  return { sentAt, ackedAt: nowMs() };
}

// ---------------------------------------------------------------- activator

const silent = pino({ level: process.env.NOZZLE_TEST_LOG_LEVEL ?? 'silent' });

export function activatorConfig(overrides: Partial<ActivatorConfig> = {}): ActivatorConfig {
  const defaults = load(activatorSettings, { env: {}, flags: new Map() });
  return { ...defaults, listenAddress: '127.0.0.1', port: 0, ...overrides };
}

/** An activator in this process, as `nozzle activator` would run it; synced before it resolves. */
export async function startActivator(
  overrides: Partial<ActivatorConfig> = {},
  kube: Kube = connectKube(adminKubeConfig()),
): Promise<Activator> {
  const activator = await Activator.start({ config: activatorConfig(overrides), kube, log: silent });
  await activator.index.whenSynced();
  return activator;
}

/** The dev upstream override map for apps served by `app`. */
export const upstreams = (namespace: string, apps: readonly AppSpec[], app: TestApp): Map<string, string> =>
  new Map(apps.map((a) => [`${namespace}/${a.name}`, app.address]));

export interface SleepingStage {
  readonly namespace: string;
  readonly host: string;
  /** The test app every workload of the namespace is served by. */
  readonly backend: TestApp;
  readonly activator: Activator;
}

/**
 * The stage most activator tests start from: a sleeping namespace
 * (createSleepingNamespace), a test app named `app` serving its workloads, and
 * an activator routing them to it (with `config` over the defaults, and
 * `activatorKube` for its Kubernetes access if given); both stopped when `t`
 * ends. Resolves once the activator's index has the namespace asleep.
 */
export async function startSleepingStage(
  t: ExecutionContext,
  kube: Kube,
  options: {
    readonly prefix: string;
    readonly apps: readonly AppSpec[];
    /** The test app's name (what it answers with); `web` unless given. */
    readonly app?: string;
    readonly config?: Partial<ActivatorConfig>;
    readonly activatorKube?: Kube;
    /** What the wait for the index is called in its timeout message. */
    readonly index?: string;
  },
): Promise<SleepingStage> {
  const { namespace, host } = await createSleepingNamespace(kube, options.prefix, options.apps);
  const backend = await startTestApp(options.app ?? 'web');
  const activator = await startActivator(
    { ...options.config, devUpstreams: upstreams(namespace, options.apps, backend) },
    options.activatorKube,
  );
  t.teardown(async () => {
    await activator.stop(1_000);
    await backend.close();
  });
  await eventually(() => activator.index.isSleeping(namespace), options.index ?? 'the index');
  return { namespace, host, backend, activator };
}

/** Resolves when `check` is true, re-checked whenever the activator's index changes or `everyMs`. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A metric's value from the activator's registry (sum over label sets matching `labels`). */
export async function metric(
  activator: Activator,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const json = await activator.registry.getSingleMetric(name)?.get();
  if (!json) throw new Error(`no metric ${name}`);
  return json.values
    .filter((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))
    .reduce((sum, v) => sum + v.value, 0);
}

// ------------------------------------------------------- apiserver recorder

export interface RecordedApiRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
}

export interface ApiRecorder {
  /** A kubeconfig (admin identity) that reaches the apiserver through the recorder. */
  readonly config: KubeConfig;
  /** Its file form, for child processes. */
  readonly kubeconfigJson: string;
  readonly requests: RecordedApiRequest[];
  /** Cuts every open connection (watches included) and answers 503 to everything for `ms`. */
  interrupt(ms: number): void;
  close(): Promise<void>;
}

/**
 * A pass-through in front of the real apiserver that records every request
 * that reaches it (method, path, status): how the tests count "exactly one
 * restore request per workload". Bodies stream through (watches included).
 */
export async function startApiRecorder(): Promise<ApiRecorder> {
  const admin = adminKubeConfig();
  const cluster = admin.getCurrentCluster();
  const user = admin.getCurrentUser();
  if (!cluster || !user?.token) throw new Error('the test kubeconfig has no cluster or token');
  const target = new URL(cluster.server);
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64') : undefined;
  const requests: RecordedApiRequest[] = [];
  let brokenUntil = 0;
  const server = createServer((req, res) => {
    if (Date.now() < brokenUntil) {
      requests.push({ method: req.method ?? '', path: req.url ?? '', status: 503 });
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(
        '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"interrupted by the test","code":503}',
      );
      return;
    }
    const upstream = httpsRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
        ca,
      },
      (upRes) => {
        requests.push({ method: req.method ?? '', path: req.url ?? '', status: upRes.statusCode ?? 0 });
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        res.flushHeaders();
        upRes.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'recorded', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
    ],
    users: [{ name: 'admin', user: { token: user.token } }],
    contexts: [{ name: 'recorded', context: { cluster: 'recorded', user: 'admin' } }],
    'current-context': 'recorded',
  };
  const config = new KubeConfig();
  config.loadFromString(JSON.stringify(kubeconfig));
  return {
    config,
    kubeconfigJson: JSON.stringify(kubeconfig),
    requests,
    interrupt: (ms) => {
      brokenUntil = Date.now() + ms;
      server.closeAllConnections();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A raw HTTP/1.1 exchange, for what HTTP clients will not send (absolute-form
 * targets, odd Host headers). Send `Connection: close`; resolves to the whole answer.
 */
export function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}
