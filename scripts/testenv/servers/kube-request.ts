/**
 * A raw apiserver request, for what the generated clients cannot say: a
 * server-side apply with `dryRun=All&fieldValidation=Strict`, and resolving
 * any kind to its REST path through discovery.
 */
import { request, type RequestOptions } from 'node:https';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';

export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

export async function kubeRequest(
  config: KubeConfig,
  method: string,
  path: string,
  body?: { contentType: string; text: string },
): Promise<RawResponse> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const options: RequestOptions = { method, headers: {} };
  await config.applyToHTTPSOptions(options);
  // Node sends a DELETE's body without a length unless told: the apiserver would read none.
  if (body) {
    options.headers = {
      ...options.headers,
      'content-type': body.contentType,
      'content-length': Buffer.byteLength(body.text),
    };
  }
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, cluster.server), options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body?.text);
  });
}

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/** The REST path of an object, from the apiserver's discovery documents (cached per group/version). */
export async function objectPath(
  config: KubeConfig,
  object: KubernetesObject,
  cache = new Map<string, ApiResource[]>(),
): Promise<string> {
  const apiVersion = object.apiVersion ?? '';
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  let resources = cache.get(base);
  if (!resources) {
    const res = await kubeRequest(config, 'GET', base);
    if (res.status !== 200) throw new Error(`discovery of ${apiVersion} answered ${res.status}: ${res.body}`);
    resources = (JSON.parse(res.body) as { resources: ApiResource[] }).resources;
    cache.set(base, resources);
  }
  const resource = resources.find((r) => r.kind === object.kind && !r.name.includes('/'));
  if (!resource) throw new Error(`the apiserver does not serve kind ${object.kind} in ${apiVersion}`);
  const namespace = resource.namespaced ? `/namespaces/${object.metadata?.namespace ?? 'default'}` : '';
  return `${base}${namespace}/${resource.name}/${object.metadata?.name ?? ''}`;
}

/** Server-side apply, validated strictly (unknown fields are errors) and, with dryRun, persisted nowhere. */
export async function apply(
  config: KubeConfig,
  object: KubernetesObject,
  options: { dryRun: boolean; fieldManager: string },
  cache?: Map<string, ApiResource[]>,
): Promise<RawResponse> {
  const query = new URLSearchParams({
    fieldManager: options.fieldManager,
    fieldValidation: 'Strict',
    force: 'true',
  });
  if (options.dryRun) query.set('dryRun', 'All');
  const path = await objectPath(config, object, cache);
  return kubeRequest(config, 'PATCH', `${path}?${query.toString()}`, {
    contentType: 'application/apply-patch+yaml',
    text: JSON.stringify(object),
  });
}
