/**
 * Health checkers that must not wake a namespace (NOZZLE_ACTIVATOR_IGNORED_AGENTS):
 * a cloud load balancer probes every node all the time, and a 5xx would make
 * it mark every node unhealthy. They get `200 OK` from the activator itself.
 */
export const DEFAULT_IGNORED_AGENTS: readonly RegExp[] = [
  /^ELB-HealthChecker\//i, // AWS Classic, Application and Network Load Balancers
  /^GoogleHC\//i, // Google Cloud load balancers
  /^kube-probe\//i, // kubelet probes (a probe aimed at a Service's node port)
  /^Load Balancer Agent/i, // Azure Load Balancer
  /^Azure Traffic Manager Endpoint Monitor/i,
];

/** Whether `userAgent` matches one of `patterns`. */
export const isIgnoredAgent = (userAgent: string | undefined, patterns: readonly RegExp[]): boolean =>
  userAgent !== undefined && patterns.some((p) => p.test(userAgent));
