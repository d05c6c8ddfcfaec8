import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  EventsV1Api,
  KubeConfig,
  NetworkingV1Api,
} from '@kubernetes/client-node';

/** The Kubernetes API groups Nozzle talks to, from one kubeconfig. */
export interface Kube {
  readonly config: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
  readonly networking: NetworkingV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly events: EventsV1Api;
  /** Custom resources (KEDA's ScaledObjects). */
  readonly custom: CustomObjectsApi;
}

/** In a pod: the ServiceAccount; elsewhere: $KUBECONFIG or ~/.kube/config. */
export function connectKube(config: KubeConfig = defaultConfig()): Kube {
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    coordination: config.makeApiClient(CoordinationV1Api),
    networking: config.makeApiClient(NetworkingV1Api),
    discovery: config.makeApiClient(DiscoveryV1Api),
    events: config.makeApiClient(EventsV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
  };
}

function defaultConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromDefault();
  return config;
}
