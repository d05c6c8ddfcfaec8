/**
 * A pod's volumes, made as a kubelet makes them, as directories under the
 * pod's own directory: emptyDir, ConfigMap, Secret, downward API, projected
 * (the ServiceAccount token from a TokenRequest bound to the pod, the
 * cluster CA from kube-root-ca.crt) and PersistentVolumeClaims, whose bound
 * PersistentVolume is a local directory. The container's volumeMounts then
 * become bind mounts in the pod's mount namespace (see process.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type {
  CoreV1Api,
  V1DownwardAPIVolumeFile,
  V1KeyToPath,
  V1Pod,
  V1Volume,
} from '@kubernetes/client-node';

export interface Mount {
  readonly source: string;
  readonly target: string;
}

const TOKEN_SECONDS = 3607;

export async function makeVolumes(core: CoreV1Api, pod: V1Pod, podDir: string): Promise<Map<string, string>> {
  const made = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    made.set(volume.name, await makeVolume(core, pod, volume, join(podDir, 'volumes', volume.name)));
  }
  return made;
}

/** The container's mounts, in order, with subPaths resolved. */
export function mountsFor(pod: V1Pod, volumes: Map<string, string>): Mount[] {
  const container = pod.spec?.containers[0];
  return (container?.volumeMounts ?? []).map((m) => {
    const source = volumes.get(m.name);
    if (!source) throw new Error(`volumeMount ${m.name} names no volume of the pod`);
    return { source: m.subPath ? join(source, m.subPath) : source, target: m.mountPath };
  });
}

async function makeVolume(core: CoreV1Api, pod: V1Pod, volume: V1Volume, dir: string): Promise<string> {
  const namespace = pod.metadata?.namespace ?? 'default';
  if (volume.persistentVolumeClaim) {
    const claim = await core.readNamespacedPersistentVolumeClaim({
      name: volume.persistentVolumeClaim.claimName,
      namespace,
    });
    const pvName = claim.spec?.volumeName;
    if (!pvName)
      throw new Error(`PersistentVolumeClaim ${volume.persistentVolumeClaim.claimName} is not bound yet`);
    const pv = await core.readPersistentVolume({ name: pvName });
    const path = pv.spec?.hostPath?.path ?? pv.spec?.local?.path;
    if (!path) throw new Error(`PersistentVolume ${pvName} is not a local directory`);
    mkdirSync(path, { recursive: true });
    return path;
  }
  mkdirSync(dir, { recursive: true });
  if (volume.emptyDir) return dir;
  if (volume.configMap) {
    const cm = await core.readNamespacedConfigMap({ name: volume.configMap.name ?? '', namespace });
    writeKeys(dir, cm.data ?? {}, volume.configMap.items);
    return dir;
  }
  if (volume.secret) {
    const secret = await core.readNamespacedSecret({ name: volume.secret.secretName ?? '', namespace });
    writeKeys(dir, decode(secret.data), volume.secret.items);
    return dir;
  }
  if (volume.downwardAPI) {
    writeDownward(dir, pod, volume.downwardAPI.items ?? []);
    return dir;
  }
  if (volume.projected) {
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) {
        const token = await core.createNamespacedServiceAccountToken({
          name: pod.spec?.serviceAccountName ?? 'default',
          namespace,
          body: {
            spec: {
              audiences: source.serviceAccountToken.audience ? [source.serviceAccountToken.audience] : [],
              expirationSeconds: source.serviceAccountToken.expirationSeconds ?? TOKEN_SECONDS,
              boundObjectRef: {
                apiVersion: 'v1',
                kind: 'Pod',
                name: pod.metadata?.name,
                uid: pod.metadata?.uid,
              },
            },
          },
        });
        write(dir, source.serviceAccountToken.path, token.status?.token ?? '');
      } else if (source.configMap) {
        const cm = await core.readNamespacedConfigMap({ name: source.configMap.name ?? '', namespace });
        writeKeys(dir, cm.data ?? {}, source.configMap.items);
      } else if (source.secret) {
        const secret = await core.readNamespacedSecret({ name: source.secret.name ?? '', namespace });
        writeKeys(dir, decode(secret.data), source.secret.items);
      } else if (source.downwardAPI) {
        writeDownward(dir, pod, source.downwardAPI.items ?? []);
      }
    }
    return dir;
  }
  throw new Error(
    `volume ${volume.name}: the sandbox makes emptyDir, configMap, secret, downwardAPI, projected and persistentVolumeClaim volumes only`,
  );
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
  );
}

function writeKeys(dir: string, data: Record<string, string>, items: V1KeyToPath[] | undefined): void {
  if (!items) {
    for (const [key, value] of Object.entries(data)) write(dir, key, value);
    return;
  }
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) throw new Error(`key ${item.key} is missing`);
    write(dir, item.path, value);
  }
}

function writeDownward(dir: string, pod: V1Pod, items: V1DownwardAPIVolumeFile[]): void {
  for (const item of items) {
    const path = item.fieldRef?.fieldPath;
    if (path) write(dir, item.path, fieldValue(pod, path));
  }
}

/** The downward API's fields, for env vars and files alike. */
export function fieldValue(pod: V1Pod, path: string): string {
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    default: {
      const label = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      if (label)
        return (
          (label[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[label[2] ?? ''] ?? ''
        );
      throw new Error(`the sandbox does not know the downward API field ${path}`);
    }
  }
}

function write(dir: string, path: string, content: string): void {
  const file = join(dir, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}
