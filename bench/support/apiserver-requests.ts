/**
 * How many requests the apiserver of scripts/testenv has served: the sum of
 * its own `apiserver_request_total` (GET /metrics with the admin
 * kubeconfig), in all and by verb. The wake storm reads it before and after
 * to count the apiserver requests a wake costs.
 */
import { request, type RequestOptions } from 'node:https';
import { adminKubeConfig } from '../../test/support/env.js';
import { sumMetric } from '../../test/support/activator-process.js';

export interface RequestCounts {
  readonly total: number;
  readonly byVerb: ReadonlyMap<string, number>;
}

const VERBS = ['GET', 'LIST', 'WATCH', 'CREATE', 'UPDATE', 'PATCH', 'DELETE', 'APPLY'];

export async function apiserverRequests(): Promise<RequestCounts> {
  const config = adminKubeConfig();
  const server = new URL(config.getCurrentCluster()!.server);
  const options: RequestOptions = {
    host: server.hostname,
    port: server.port,
    path: '/metrics',
    method: 'GET',
  };
  await config.applyToHTTPSOptions(options);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
  return {
    total: sumMetric(text, 'apiserver_request_total'),
    byVerb: new Map(VERBS.map((verb) => [verb, sumMetric(text, 'apiserver_request_total', { verb })])),
  };
}

/** `after - before`, by verb (verbs with no request left out). */
export function requestsBetween(before: RequestCounts, after: RequestCounts): RequestCounts {
  const byVerb = new Map<string, number>();
  for (const [verb, n] of after.byVerb) {
    const d = n - (before.byVerb.get(verb) ?? 0);
    if (d > 0) byVerb.set(verb, d);
  }
  return { total: after.total - before.total, byVerb };
}
