/**
 * The names users, manifests and tests rely on (docs/design.md,
 * "Names users see"). Change one here and you change Nozzle's contract.
 */
export const DOMAIN = 'nozzle.io';

export const labels = {
  /** Opt-in label on a Namespace; the publisher's default selector is `nozzle=true`. */
  optIn: 'nozzle',
  /** On every object Nozzle rewrote or created. */
  managed: `${DOMAIN}/managed`,
  /** Kubernetes' own: the Service an EndpointSlice belongs to (kube-proxy and controllers read it). */
  serviceName: 'kubernetes.io/service-name',
  /** Kubernetes' own: who manages an EndpointSlice; `nozzle.io` on takeover slices. */
  endpointSliceManagedBy: 'endpointslice.kubernetes.io/managed-by',
  /** On a port Lease: `nozzle.io`. */
  appManagedBy: 'app.kubernetes.io/managed-by',
  /** On a port Lease: the namespace of the Service whose port it assigns. */
  serviceNamespace: `${DOMAIN}/service-namespace`,
  /** On a port Lease: the name of the Service whose port it assigns. */
  service: `${DOMAIN}/service-name`,
} as const;

/** The value of the managed-by labels on what Nozzle creates (takeover slices, port Leases). */
export const MANAGER = DOMAIN;

export const annotations = {
  /** Original replica count, on a sleeping Deployment/StatefulSet. */
  replicas: `${DOMAIN}/replicas`,
  /** Original backends (JSON), on a rewritten Ingress. */
  backends: `${DOMAIN}/backends`,
  /** When the namespace last woke (RFC 3339), on the Namespace. */
  wokeAt: `${DOMAIN}/woke-at`,
  /** No activity for this long puts the namespace to sleep (duration, default 30m), on the Namespace. */
  idleAfter: `${DOMAIN}/idle-after`,
  /** Cron (5 fields): when the namespace is put to sleep even if active, on the Namespace. */
  sleepSchedule: `${DOMAIN}/sleep-schedule`,
  /** Cron (5 fields): when a sleeping namespace is woken, on the Namespace. */
  wakeSchedule: `${DOMAIN}/wake-schedule`,
  /** IANA time zone of the schedules (default UTC), on the Namespace. */
  timezone: `${DOMAIN}/timezone`,
  /** RFC 3339: counts as activity at that time (stays awake until then, and idle-after longer), on the Namespace. */
  keepAwakeUntil: `${DOMAIN}/keep-awake-until`,
  /** On a workload: never put it to sleep. */
  exclude: `${DOMAIN}/exclude`,
  /** On a port Lease: the Service port it assigns (its name, or its number when unnamed). */
  servicePort: `${DOMAIN}/service-port`,
  /** On a port Lease: the uid of the Service it was assigned to (a recreated Service has another). */
  serviceUid: `${DOMAIN}/service-uid`,
  /** On a takeover EndpointSlice: when the worker last ensured it (RFC 3339); the convergence leader's settle time counts from it. */
  ensuredAt: `${DOMAIN}/ensured-at`,
  /** KEDA's own, on a ScaledObject: hold the target at this many replicas. Nozzle sets "0" while asleep. */
  kedaPausedReplicas: 'autoscaling.keda.sh/paused-replicas',
  /** On a ScaledObject: "true" when Nozzle set paused-replicas (a wake removes both; a user's pause is left alone). */
  pausedByNozzle: `${DOMAIN}/paused-by-nozzle`,
} as const;

/** The activator's pods, in Nozzle's namespace, carry this label: their IPs are a takeover slice's endpoints. */
export const ACTIVATOR_POD_SELECTOR = 'app.kubernetes.io/name=nozzle-activator';

/** A port Lease is `nozzle-port-<port>`, in Nozzle's namespace: one per activator listener port. */
export const PORT_LEASE_PREFIX = 'nozzle-port-';

/** A takeover EndpointSlice is `<service>-nozzle-<ipv4|ipv6>`. */
export const TAKEOVER_SLICE_INFIX = '-nozzle-';

/** The ExternalName Service, in a sleeping namespace, that rewritten Ingress paths point at. */
export const ROUTE_SERVICE = 'nozzle-activator';

export const jetstream = {
  stream: 'NOZZLE',
  /**
   * Not `nozzle.>`: that would also match the dead-letter subjects
   * `nozzle.dead.>`, and JetStream refuses two streams with overlapping
   * subjects (NOZZLE_DLQ could not be created; worse, dead letters would land
   * back in the work queue).
   */
  subjects: ['nozzle.sleep.>', 'nozzle.wake.>'],
  sleepSubject: (namespace: string) => `nozzle.sleep.${namespace}`,
  wakeSubject: (namespace: string) => `nozzle.wake.${namespace}`,
  consumer: 'nozzle-worker',
  deadLetterStream: 'NOZZLE_DLQ',
  deadLetterSubjects: 'nozzle.dead.>',
  deadLetterSubject: (namespace: string) => `nozzle.dead.${namespace}`,
} as const;

/** Paths the activator answers itself and never forwards. */
export const ACTIVATOR_PREFIX = '/_nozzle/';

/** Field manager and event reporter name. */
export const FIELD_MANAGER = 'nozzle';
