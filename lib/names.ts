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
} as const;

export const annotations = {
  /** Original replica count, on a sleeping Deployment/StatefulSet. */
  replicas: `${DOMAIN}/replicas`,
  /** Original backends (JSON), on a rewritten Ingress. */
  backends: `${DOMAIN}/backends`,
  /** When the namespace last woke (RFC 3339), on the Namespace. */
  wokeAt: `${DOMAIN}/woke-at`,
  /** Time awake before the namespace sleeps (duration, default 30m), on the Namespace. */
  idleAfter: `${DOMAIN}/idle-after`,
  /** On a workload: never put it to sleep. */
  exclude: `${DOMAIN}/exclude`,
} as const;

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
