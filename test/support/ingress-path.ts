/**
 * An Ingress path to a Service's port 80: `Prefix` match on `path`
 * (`/<service>` unless given). Its type is exact (not V1HTTPIngressPath), so
 * callers can read `backend.service.name` back without optional chaining.
 */
export const prefixPath = (service: string, path = `/${service}`) => ({
  path,
  pathType: 'Prefix',
  backend: { service: { name: service, port: { number: 80 } } },
});
