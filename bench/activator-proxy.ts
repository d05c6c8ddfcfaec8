/**
 * Forwarding cost of the activator: latency and throughput of the same
 * backend reached directly, through `nozzle activator`, and (when installed)
 * through nginx as a reverse proxy baseline. Loopback only, every run bounded
 * in time; each server is its own process.
 *
 *   scripts/node24 npm run --silent build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/activator-proxy.js
 *
 * Needs the test environment (the activator indexes a real Ingress) and uses
 * `wrk` when it is on PATH (falls back to a Node client otherwise).
 *
 * The activator is measured on the path every request takes after a wake:
 * the namespace is woken once, then its route stays in the grace period
 * (NOZZLE_WAKE_GRACE=1h) and requests are forwarded straight to the backend.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { adminKube, uniqueName } from '../test/support/env.js';
import { createAwakeNamespace, makeReady, sleepApps, type AppSpec } from '../test/support/activator.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = [1, 50];
const BODY_SIZES = [1024, 64 * 1024];
const NAMESPACE = uniqueName('bench');
const HOST = `${NAMESPACE}.apps.test`;
/** Comma-separated subset of direct,activator,nginx (default: all). */
const ONLY = process.env.BENCH_ONLY?.split(',');
/** Extra node flags for the activator process only, e.g. --cpu-prof. */
const ACTIVATOR_NODE_FLAGS = process.env.BENCH_ACTIVATOR_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];

interface Result {
  readonly target: string;
  readonly bodyBytes: number;
  readonly connections: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
}

const node = process.execPath;
const dist = fileURLToPath(new URL('..', import.meta.url));

async function startBackend(): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(node, [join(dist, 'bench/activator-backend.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface(child.stdout), 'line')) as [string];
  return { port: Number(line), child };
}

async function startActivator(
  namespace: string,
  backendPort: number,
): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(node, [...ACTIVATOR_NODE_FLAGS, join(dist, 'cli/main.js'), 'activator'], {
    env: {
      ...process.env,
      NOZZLE_ACTIVATOR_LISTEN_ADDRESS: '127.0.0.1',
      NOZZLE_ACTIVATOR_PORT: '0',
      NOZZLE_WAKE_GRACE: '1h',
      NOZZLE_DEV_UPSTREAM_OVERRIDES: `${namespace}/web=127.0.0.1:${backendPort}`,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The activator logs nothing per request; its start-up lines say where it listens.
  const port = await new Promise<number>((resolve, reject) => {
    createInterface(child.stdout).on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; address?: { port: number } };
      if (entry.msg === 'activator listening' && entry.address) resolve(entry.address.port);
    });
    child.once('exit', (code) => reject(new Error(`the activator exited (${code}) before listening`)));
  });
  return { port, child };
}

function startNginx(backendPort: number): { port: number; child: ChildProcess } | undefined {
  if (spawnSync('sh', ['-c', 'command -v nginx']).status !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'nozzle-bench-nginx-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
  );
  const child = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'inherit' });
  return { port, child };
}

const hasWrk = spawnSync('sh', ['-c', 'command -v wrk']).status === 0;

async function load(target: string, port: number, bodyBytes: number, connections: number): Promise<Result> {
  const url = `http://127.0.0.1:${port}/bench?bytes=${bodyBytes}`;
  if (hasWrk) {
    const threads = Math.min(2, connections);
    const run = spawnSync(
      'wrk',
      [
        '-t',
        String(threads),
        '-c',
        String(connections),
        '-d',
        `${DURATION_S}s`,
        '--latency',
        '-H',
        `Host: ${HOST}`,
        url,
      ],
      { encoding: 'utf8' },
    );
    const out = run.stdout;
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    const p50 = toMs(/\s50%\s+([\d.]+\w+)/.exec(out)?.[1]);
    const p99 = toMs(/\s99%\s+([\d.]+\w+)/.exec(out)?.[1]);
    const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + socketErrors(out);
    return { target, bodyBytes, connections, rps, p50, p99, errors };
  }
  return nodeLoad(target, url, bodyBytes, connections);
}

function socketErrors(out: string): number {
  const m = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return m ? m.slice(1).reduce((s, n) => s + Number(n), 0) : 0;
}

function toMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

async function nodeLoad(
  target: string,
  url: string,
  bodyBytes: number,
  connections: number,
): Promise<Result> {
  const agent = new Agent({ connections });
  const latencies: number[] = [];
  let errors = 0;
  const until = Date.now() + DURATION_S * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        const start = performance.now();
        try {
          const res = await request(url, { dispatcher: agent, headers: { host: HOST } });
          await res.body.dump();
          if (res.statusCode !== 200) errors++;
        } catch {
          errors++;
        }
        latencies.push(performance.now() - start);
      }
    }),
  );
  await agent.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.floor(p * (latencies.length - 1))] ?? NaN;
  return {
    target,
    bodyBytes,
    connections,
    rps: latencies.length / DURATION_S,
    p50: q(0.5),
    p99: q(0.99),
    errors,
  };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function main(): Promise<void> {
  const kube = adminKube();
  const namespace = NAMESPACE;
  const apps: AppSpec[] = [{ name: 'web', replicas: 1 }];
  await createAwakeNamespace(kube, namespace, HOST, apps);
  await sleepApps(kube, namespace, apps);

  const results: Result[] = [];
  const backend = await startBackend();
  const activator = await startActivator(namespace, backend.port);
  const nginx = startNginx(backend.port);
  try {
    // Wake once: the first request is held until the bench stands in for kubelet.
    const first = request(`http://127.0.0.1:${activator.port}/`, { headers: { host: HOST } });
    await new Promise((r) => setTimeout(r, 500));
    await makeReady(kube, namespace, apps[0]!);
    const res = await first;
    await res.body.dump();
    if (res.statusCode !== 200) throw new Error(`the wake answered ${res.statusCode}`);
    const targets = [
      ['direct', backend.port],
      ['activator', activator.port],
      ...(nginx ? [['nginx', nginx.port] as const] : []),
    ] as const;
    for (const bodyBytes of BODY_SIZES) {
      for (const [target, port] of targets) {
        if (ONLY && !ONLY.includes(target)) continue;
        const warm = await request(`http://127.0.0.1:${port}/warm`, { headers: { host: HOST } });
        await warm.body.dump();
        if (warm.statusCode !== 200) throw new Error(`${target} answered ${warm.statusCode}`);
        for (const connections of CONNECTIONS) {
          const r = await load(target, port, bodyBytes, connections);
          results.push(r);
          process.stderr.write(`${JSON.stringify(r)}\n`);
        }
      }
    }
  } finally {
    await stop(nginx?.child);
    await stop(activator.child);
    await stop(backend.child);
  }

  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(
    `Machine: ${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.version}` +
      `, load by ${hasWrk ? 'wrk' : 'a Node client'}, ${DURATION_S} s per run, loopback.\n`,
  );
  console.log('| target | body | connections | requests/s | p50 ms | p99 ms | errors |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.target} | ${r.bodyBytes / 1024} KiB | ${r.connections} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} |`,
    );
  }
}

await main();
