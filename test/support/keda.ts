/**
 * KEDA's ScaledObject CRD, at the pinned KEDA release (NOZZLE_TESTENV_KEDA_CRDS),
 * installed into the base test apiserver for the tests that pause and resume
 * ScaledObjects. Installing it again is harmless (server-side apply); it stays
 * installed. No KEDA operator runs here: what is asserted is what Nozzle writes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kube } from '../../lib/kube/client.js';
import { apply, kubeRequest } from '../../scripts/testenv/servers/kube-request.js';
import { parseManifests } from '../../scripts/testenv/servers/yaml.js';
import { adminKubeConfig, requireEnv } from './env.js';

const SCALED_OBJECTS = { group: 'keda.sh', version: 'v1alpha1', plural: 'scaledobjects' } as const;

export async function installScaledObjectCrd(): Promise<void> {
  const config = adminKubeConfig();
  const dir = requireEnv('NOZZLE_TESTENV_KEDA_CRDS');
  const crds = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseManifests(readFileSync(join(dir, f), 'utf8')))
    .filter((o) => o.metadata?.name === 'scaledobjects.keda.sh');
  if (crds.length !== 1) throw new Error(`no scaledobjects.keda.sh CRD in ${dir}`);
  const res = await apply(config, crds[0]!, { dryRun: false, fieldManager: 'nozzle-test-keda' });
  if (res.status >= 300) throw new Error(`installing the ScaledObject CRD: ${res.status} ${res.body}`);
  // Served once discovery lists it AND a list answers (not 429 "storage is (re)initializing").
  for (let i = 0; i < 200; i++) {
    const served = await kubeRequest(config, 'GET', '/apis/keda.sh/v1alpha1');
    const listed = await kubeRequest(config, 'GET', '/apis/keda.sh/v1alpha1/scaledobjects');
    if (served.status === 200 && served.body.includes('"ScaledObject"') && listed.status === 200) return;
    await sleep(100);
  }
  throw new Error('the ScaledObject CRD did not become served');
}

/** A ScaledObject for a Deployment (or `kind`), with `annotations`. */
export function createScaledObject(
  kube: Kube,
  namespace: string,
  name: string,
  target: { name: string; kind?: string },
  annotations: Record<string, string> = {},
): Promise<unknown> {
  return kube.custom.createNamespacedCustomObject({
    ...SCALED_OBJECTS,
    namespace,
    body: {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name, annotations },
      spec: {
        scaleTargetRef: target,
        minReplicaCount: 1,
        maxReplicaCount: 5,
        triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '60' } }],
      },
    },
  });
}

export interface StoredScaledObject {
  metadata: { annotations?: Record<string, string>; generation?: number; resourceVersion?: string };
  spec: Record<string, unknown>;
}

export async function readScaledObject(kube: Kube, namespace: string, name: string) {
  return (await kube.custom.getNamespacedCustomObject({
    ...SCALED_OBJECTS,
    namespace,
    name,
  })) as StoredScaledObject;
}
