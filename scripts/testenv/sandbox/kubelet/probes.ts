/**
 * Readiness as the kubelet decides it: the container's own probe against
 * the pod's own address, from the node. A pod without a readiness probe is
 * ready once its process runs. httpGet (2xx/3xx passes) and tcpSocket are
 * supported; a named port is resolved from the container's ports.
 */
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { IntOrString, V1Container, V1Probe } from '@kubernetes/client-node';

export type ProbeCheck = () => Promise<boolean>;

export interface ProbeTiming {
  readonly initialDelayMs: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
}

export function probeTiming(probe: V1Probe): ProbeTiming {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds ?? 10) * 1000,
    timeoutMs: (probe.timeoutSeconds ?? 1) * 1000,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

export function resolvePort(container: V1Container, port: IntOrString): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = container.ports?.find((p) => p.name === port);
  if (!named) throw new Error(`probe port ${port} is not a named port of container ${container.name}`);
  return named.containerPort;
}

/** A check for `probe` against `podIp`, or an error naming what the sandbox cannot probe. */
export function makeCheck(container: V1Container, probe: V1Probe, podIp: string): ProbeCheck {
  const { timeoutMs } = probeTiming(probe);
  if (probe.httpGet) {
    const get = probe.httpGet;
    const port = resolvePort(container, get.port);
    const headers = Object.fromEntries((get.httpHeaders ?? []).map((h) => [h.name, h.value]));
    const send = get.scheme === 'HTTPS' ? httpsRequest : request;
    return () =>
      new Promise((resolve) => {
        const req = send(
          {
            host: podIp,
            port,
            path: get.path ?? '/',
            headers: { 'user-agent': 'kube-probe/1.35', ...headers },
            timeout: timeoutMs,
            rejectUnauthorized: false,
          },
          (res) => {
            res.resume();
            const status = res.statusCode ?? 0;
            resolve(status >= 200 && status < 400);
          },
        );
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
        req.end();
      });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(container, probe.tcpSocket.port);
    return () =>
      new Promise((resolve) => {
        const socket = connect({ host: podIp, port, timeout: timeoutMs });
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('timeout', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(false));
      });
  }
  throw new Error(`container ${container.name}: the sandbox runs httpGet and tcpSocket probes only`);
}
