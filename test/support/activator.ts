/**
 * What the data-path tests stand up around the real apiserver: a sleeping
 * Service as the worker leaves it (port Leases in a system namespace of the
 * test's own, a takeover slice), "pods" on this machine's non-loopback
 * address (the apiserver refuses loopback endpoints), what the EndpointSlice
 * controller writes once a pod is ready, a fake waker that records the wakes
 * asked for, and an in-process data path listening on the Lease ports.
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { V1Service } from '@kubernetes/client-node';
import type { ExecutionContext } from 'ava';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { DataPath } from '../../activator/data-path.js';
import type { ConnectionSettings } from '../../activator/connection.js';
import { EndpointIndex } from '../../activator/endpoint-index.js';
import { DEFAULT_BOT_AGENTS } from '../../activator/bot-agents.js';
import { DEFAULT_IGNORED_AGENTS } from '../../activator/ignored-agents.js';
import { createActivatorMetrics, type ActivatorMetrics } from '../../activator/metrics.js';
import type { DataPathWake, Wakes } from '../../activator/waker.js';
import type { Kube } from '../../lib/kube/client.js';
import { portLease, servicePortKey } from '../../lib/takeover/port-assignment.js';
import { takeoverSlice } from '../../lib/takeover/takeover-slice.js';
import { uniqueName } from './env.js';
import { freePorts } from './tcp.js';
import { controllerSliceBody } from './controller-slice.js';

export const silentLog = pino({ level: process.env.NOZZLE_TEST_LOG_LEVEL ?? 'silent' });

/** A logger that keeps what it writes (warn and above), each line parsed. */
export function capturingLog(): { log: typeof silentLog; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'warn' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { log, lines };
}

/** This machine's first non-loopback IPv4 address: where the tests' "pods" listen. */
export function podIp(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  throw new Error('no non-loopback IPv4 address: the apiserver refuses loopback endpoints');
}

// ------------------------------------------------------------------ "pods"

export interface TestPod {
  readonly port: number;
  /** Every connection's bytes, in accept order, as received so far. */
  readonly received: Buffer[];
  close(): void;
}

/**
 * A TCP "pod" on podIp(): records what each connection sends; `greeting` is
 * written first (a server-speaks-first protocol); `reply` answers each chunk
 * (default: echo).
 */
export async function startTcpPod(
  t: ExecutionContext,
  options: { greeting?: string; reply?: (chunk: Buffer) => string | Buffer } = {},
): Promise<TestPod> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).once('close', () => sockets.delete(socket));
    const index = received.push(Buffer.alloc(0)) - 1;
    if (options.greeting) socket.write(options.greeting);
    socket.on('data', (chunk: Buffer) => {
      received[index] = Buffer.concat([received[index]!, chunk]);
      socket.write(options.reply ? options.reply(chunk) : chunk);
    });
    socket.on('end', () => socket.end());
  });
  return listening(t, server, received, sockets);
}

/** An HTTP "pod" on podIp() answering `<name>: <method> <url>`, and echoing on an upgraded connection. */
export async function startHttpPod(
  t: ExecutionContext,
  name: string,
): Promise<TestPod & { requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createHttpServer((req, res) => {
    requests.push(req);
    req.resume();
    req.on('end', () => res.end(`${name}: ${req.method} ${req.url}`));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    requests.push(req);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-pod: ${name}\r\n\r\n`,
    );
    if (head.length > 0) socket.write(head);
    socket.pipe(socket);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return { ...(await listening(t, server, [], sockets)), requests };
}

async function listening(
  t: ExecutionContext,
  server: Server | HttpServer,
  received: Buffer[],
  sockets: Set<Socket>,
): Promise<TestPod> {
  server.listen(0, podIp());
  await once(server, 'listening');
  const close = (): void => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  t.teardown(close);
  return { port: (server.address() as AddressInfo).port, received, close };
}

// ------------------------------------------------------- cluster objects

export interface TakeoverService {
  readonly namespace: string;
  readonly service: V1Service;
  /** Service port key -> the activator port of its Lease. */
  readonly ports: ReadonlyMap<string, number>;
}

/**
 * A Service of `namespace` (created if need be) under takeover, as the worker
 * leaves it: a port Lease in `systemNamespace` for each of its ports (on ports
 * free on this machine) and a takeover slice pointing at podIp().
 */
export async function takeOver(
  kube: Kube,
  options: {
    readonly namespace: string;
    readonly systemNamespace: string;
    readonly name: string;
    readonly ports?: readonly { name?: string; port: number; targetPort?: number | string }[];
  },
): Promise<TakeoverService> {
  const { namespace, systemNamespace, name } = options;
  for (const ns of [namespace, systemNamespace]) {
    await kube.core.createNamespace({ body: { metadata: { name: ns } } }).catch((err: { code?: number }) => {
      if (err.code !== 409) throw err;
    });
  }
  const service = await kube.core.createNamespacedService({
    namespace,
    body: {
      metadata: { name, namespace },
      spec: {
        selector: { app: name },
        ports: (options.ports ?? [{ name: 'http', port: 80, targetPort: 8080 }]).map((p) => ({
          ...p,
          targetPort: p.targetPort ?? 8080,
        })),
      },
    },
  });
  const specPorts = service.spec?.ports ?? [];
  const free = await freePorts(specPorts.length);
  const ports = new Map(specPorts.map((p, i) => [servicePortKey(p), free[i]!]));
  for (const [servicePort, port] of ports) {
    await kube.coordination.createNamespacedLease({
      namespace: systemNamespace,
      body: portLease({ namespace, service: name, servicePort }, service.metadata!.uid!, port),
    });
  }
  await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: takeoverSlice(
      {
        service,
        ports,
        activatorPods: [
          { ip: podIp(), podName: 'nozzle-activator-0', podUid: 'uid-0', namespace: systemNamespace },
        ],
      },
      'IPv4',
    ),
  });
  return { namespace, service, ports };
}

/**
 * What the EndpointSlice controller writes for a pod of `service` at
 * `ip:port`: a slice of its own (not Nozzle's), one endpoint, `ready` as given.
 */
export async function controllerSlice(
  kube: Kube,
  namespace: string,
  service: string,
  endpoint: { ip?: string; port: number; portName?: string; ready?: boolean; slice?: string },
): Promise<void> {
  await kube.discovery.createNamespacedEndpointSlice({
    namespace,
    body: controllerSliceBody(service, endpoint.slice ?? uniqueName(`${service}-`), {
      namespace,
      port: endpoint.port,
      ...(endpoint.portName ? { portName: endpoint.portName } : {}),
      endpoints: [{ ip: endpoint.ip ?? podIp(), ready: endpoint.ready ?? true }],
    }),
  });
}

// ---------------------------------------------------------------- waking

/** A waker that only records: every wake stays `waking` unless the test says otherwise. */
export class FakeWakes implements Wakes {
  readonly asked: string[] = [];
  private readonly wakes = new Map<string, DataPathWake & { state: DataPathWake['state'] }>();

  /** While set, a wake that is not in progress is refused with it (a rate limit), starting nothing. */
  refusing: Error | undefined;

  wake(namespace: string): DataPathWake {
    if (this.refusing && this.wakes.get(namespace)?.state !== 'waking') throw this.refusing;
    this.asked.push(namespace);
    let wake = this.wakes.get(namespace);
    if (!wake) this.wakes.set(namespace, (wake = { state: 'waking', done: new Promise(() => undefined) }));
    return wake;
  }

  get(namespace: string): DataPathWake | undefined {
    return this.wakes.get(namespace);
  }

  /** Makes the namespace's wake fail with `message`. */
  fail(namespace: string, message: string, reason: 'timeout' | 'error' = 'error'): void {
    this.wakes.set(namespace, { state: 'failed', done: Promise.resolve(), failure: { reason, message } });
  }
}

export const testSettings = (overrides: Partial<ConnectionSettings> = {}): ConnectionSettings => ({
  silentDelayMs: 100,
  headerTimeoutMs: 2_000,
  readinessTimeoutMs: 20_000,
  connectTimeoutMs: 2_000,
  spliceIdleTimeoutMs: 60_000,
  retryAfterSeconds: 7,
  ignoredAgents: DEFAULT_IGNORED_AGENTS,
  botAgents: DEFAULT_BOT_AGENTS,
  ...overrides,
});

export interface RunningDataPath {
  readonly dataPath: DataPath;
  readonly index: EndpointIndex;
  readonly wakes: FakeWakes;
  readonly metrics: ActivatorMetrics;
  readonly registry: Registry;
}

/** A data path on 127.0.0.1 serving the Leases of `systemNamespace`, with a FakeWakes; stopped when `t` ends. */
export async function startDataPath(
  t: ExecutionContext,
  kube: Kube,
  systemNamespace: string,
  options: { settings?: Partial<ConnectionSettings>; holdLimit?: number; holdBudget?: number } = {},
): Promise<RunningDataPath> {
  const registry = new Registry();
  const metrics = createActivatorMetrics(registry);
  const index = EndpointIndex.watching(kube, kube.config, silentLog).start();
  const wakes = new FakeWakes();
  const dataPath = new DataPath({
    kube,
    log: silentLog,
    metrics,
    wakes,
    index,
    systemNamespace,
    host: '127.0.0.1',
    holdLimit: options.holdLimit ?? 100,
    holdBudget: options.holdBudget ?? 64 * 1024 * 1024,
    settings: testSettings(options.settings),
  });
  t.teardown(async () => {
    await dataPath.stop(500);
    await index.stop();
  });
  await dataPath.start();
  return { dataPath, index, wakes, metrics, registry };
}

/** A metric's value (sum over the label sets matching `labels`). */
export async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const json = await registry.getSingleMetric(name)?.get();
  if (!json) throw new Error(`no metric ${name}`);
  return json.values
    .filter((v) => Object.entries(labels).every(([k, val]) => String(v.labels[k]) === val))
    .reduce((sum, v) => sum + v.value, 0);
}
