import { Registry, collectDefaultMetrics } from 'prom-client';

/** A Prometheus registry per component, with Node's process metrics under `nozzle_`. */
export function createRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, prefix: 'nozzle_' });
  return registry;
}
