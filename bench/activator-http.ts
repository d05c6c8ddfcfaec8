/**
 * HTTP forwarding cost, in one run: the same backend (a Node `http` server in
 * its own process answering 1 KiB or 64 KiB, bench/support/http-backend.ts)
 * reached directly, through `nozzle activator` (its own process), and through
 * nginx as a reverse proxy (one worker, upstream keep-alive), at 1 and 50
 * connections, loaded by `wrk` for 10 s per run.
 *
 *   scripts/node24 npm run --silent build
 *   scripts/node24 node dist/scripts/testenv/main.js run -- node dist/bench/activator-http.js
 *   # BENCH_DURATION_S=10 (default); needs /usr/bin/wrk and nginx on PATH or at /usr/sbin/nginx
 *
 * The activator is on its awake path: a port Lease, the Service, its
 * takeover slice, and a controller-style EndpointSlice whose ready endpoint
 * is the backend, so each connection is spliced at once (no sniff, no wake).
 * The backend listens on this machine's non-loopback address (the apiserver
 * refuses loopback endpoints); all three paths go to that address.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { podIp } from '../test/support/activator.js';
import { adminKube } from '../test/support/env.js';
import { freePorts } from '../test/support/tcp.js';
import { load, machine } from './support/machine.js';
import { startActivator, startBackend, stop } from './support/processes.js';
import { deleteNamespaces, endpointSlice, oneSleepingService } from './support/sleeping.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = [1, 50];
const BODY_SIZES = [1024, 64 * 1024];
const NGINX = ['/usr/sbin/nginx', 'nginx'].find((n) => n === 'nginx' || existsSync(n))!;

interface Result {
  readonly target: string;
  readonly bodyBytes: number;
  readonly connections: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly loadBefore: string;
  readonly loadAfter: string;
}

function startNginx(upstream: string, port: number): { child: ChildProcess; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nozzle-bench-nginx-'));
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
  upstream backend { server ${upstream}; keepalive 64; }
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
  return { child: spawn(NGINX, ['-c', conf, '-p', dir], { stdio: 'inherit' }), dir };
}

function toMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

function wrk(target: string, base: string, bodyBytes: number, connections: number): Result {
  const loadBefore = load();
  const run = spawnSync(
    'wrk',
    [
      '-t',
      String(Math.min(2, connections)),
      '-c',
      String(connections),
      '-d',
      `${DURATION_S}s`,
      '--latency',
      `${base}/bench?bytes=${bodyBytes}`,
    ],
    { encoding: 'utf8' },
  );
  const out = run.stdout;
  if (run.status !== 0) throw new Error(`wrk failed: ${run.stderr}`);
  const sockets = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors =
    Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) +
    (sockets ? sockets.slice(1).reduce((s, n) => s + Number(n), 0) : 0);
  return {
    target,
    bodyBytes,
    connections,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: toMs(/\s50%\s+([\d.]+\w+)/.exec(out)?.[1]),
    p99: toMs(/\s99%\s+([\d.]+\w+)/.exec(out)?.[1]),
    errors,
    loadBefore,
    loadAfter: load(),
  };
}

/** A GET that must answer 200 with `bytes` bytes: retried until then (the activator learns the ready slice by watch). */
async function warm(base: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${base}/warm?bytes=${bytes}`);
      const body = await res.arrayBuffer();
      if (res.status === 200 && body.byteLength === bytes) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${base} never answered 200 with ${bytes} bytes`);
    await sleep(100);
  }
}

async function main(): Promise<void> {
  const kube = adminKube();
  const loadStart = load();
  const backend = await startBackend();
  const {
    systemNamespace,
    namespace,
    port: leasePort,
  } = await oneSleepingService(kube, 'bench-http', backend.port, false);
  const [nginxPort] = await freePorts(1);
  await endpointSlice(kube, namespace, 'web', backend.port, true); // awake: the backend is Ready
  const activator = await startActivator(systemNamespace);
  const nginx = startNginx(`${podIp()}:${backend.port}`, nginxPort!);
  const results: Result[] = [];
  try {
    const targets = [
      ['direct', `http://${podIp()}:${backend.port}`],
      ['activator', `http://127.0.0.1:${leasePort}`],
      ['nginx', `http://127.0.0.1:${nginxPort}`],
    ] as const;
    for (const [, base] of targets) await warm(base, 1024);
    for (const bodyBytes of BODY_SIZES) {
      for (const connections of CONNECTIONS) {
        for (const [target, base] of targets) {
          const r = wrk(target, base, bodyBytes, connections);
          results.push(r);
          process.stderr.write(`${JSON.stringify(r)}\n`);
        }
      }
    }
  } finally {
    await stop(nginx.child);
    rmSync(nginx.dir, { recursive: true, force: true });
    await stop(activator.child);
    await stop(backend.child);
    await deleteNamespaces(kube, [namespace, systemNamespace]);
  }
  console.log(
    `Machine: ${machine()}; wrk, ${DURATION_S} s per run; load average ${loadStart} before, ${load()} after.\n`,
  );
  console.log('| target | body | connections | requests/s | p50 ms | p99 ms | errors | load before/after |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  for (const r of results) {
    console.log(
      `| ${r.target} | ${r.bodyBytes / 1024} KiB | ${r.connections} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.errors} | ${r.loadBefore} / ${r.loadAfter} |`,
    );
  }
  console.log('\n| body | connections | activator / nginx | activator / direct |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const bodyBytes of BODY_SIZES) {
    for (const connections of CONNECTIONS) {
      const rps = (t: string): number =>
        results.find((r) => r.target === t && r.bodyBytes === bodyBytes && r.connections === connections)
          ?.rps ?? NaN;
      const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(0)} %`;
      console.log(
        `| ${bodyBytes / 1024} KiB | ${connections} | ${pct(rps('activator'), rps('nginx'))} | ${pct(rps('activator'), rps('direct'))} |`,
      );
    }
  }
  if (activator.problems.length > 0) console.log(`\nActivator warnings:\n${activator.problems.join('\n')}`);
}

await main();
