/**
 * A container's environment as the kubelet builds it: the kubernetes
 * Service's address (what in-cluster clients read), envFrom ConfigMaps and
 * Secrets, then env with values, ConfigMap/Secret keys and downward-API
 * fields. Nothing of this machine's own environment leaks in.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { KUBERNETES_SERVICE_IP } from '../network/netns.js';
import { fieldValue } from './volumes.js';

export async function containerEnv(
  core: CoreV1Api,
  pod: V1Pod,
  home: string,
): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const container = pod.spec?.containers[0];
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOSTNAME: pod.metadata?.name ?? '',
    HOME: home,
    KUBERNETES_SERVICE_HOST: KUBERNETES_SERVICE_IP,
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: `tcp://${KUBERNETES_SERVICE_IP}:443`,
  };
  for (const source of container?.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    if (source.configMapRef) {
      const cm = await optional(source.configMapRef.optional, () =>
        core.readNamespacedConfigMap({ name: source.configMapRef?.name ?? '', namespace }),
      );
      for (const [k, v] of Object.entries(cm?.data ?? {})) env[prefix + k] = v;
    }
    if (source.secretRef) {
      const secret = await optional(source.secretRef.optional, () =>
        core.readNamespacedSecret({ name: source.secretRef?.name ?? '', namespace }),
      );
      for (const [k, v] of Object.entries(secret?.data ?? {}))
        env[prefix + k] = Buffer.from(v, 'base64').toString('utf8');
    }
  }
  for (const variable of container?.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      env[variable.name] = expand(variable.value ?? '', env);
    } else if (from.fieldRef) {
      env[variable.name] = fieldValue(pod, from.fieldRef.fieldPath);
    } else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const cm = await optional(ref.optional, () =>
        core.readNamespacedConfigMap({ name: ref.name ?? '', namespace }),
      );
      const value = cm?.data?.[ref.key];
      if (value !== undefined) env[variable.name] = value;
      else if (!ref.optional)
        throw new Error(`env ${variable.name}: key ${ref.key} is not in ConfigMap ${ref.name}`);
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const secret = await optional(ref.optional, () =>
        core.readNamespacedSecret({ name: ref.name ?? '', namespace }),
      );
      const value = secret?.data?.[ref.key];
      if (value !== undefined) env[variable.name] = Buffer.from(value, 'base64').toString('utf8');
      else if (!ref.optional)
        throw new Error(`env ${variable.name}: key ${ref.key} is not in Secret ${ref.name}`);
    } else {
      throw new Error(
        `env ${variable.name}: the sandbox supports value, fieldRef, configMapKeyRef and secretKeyRef`,
      );
    }
  }
  return env;
}

/** `$(VAR)` references to variables defined earlier, as the kubelet expands them. */
function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
}

async function optional<T>(isOptional: boolean | undefined, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isOptional && (err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}
