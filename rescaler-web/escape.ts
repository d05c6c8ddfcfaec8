/**
 * HTML escaping for everything the pages interpolate. Host, namespace,
 * workload names and messages come from outside (Ingress objects, the Host
 * header, the activator), so every interpolation goes through `html`.
 */
const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for an element's content or a quoted attribute value. */
export function html(value: string | number): string {
  return String(value).replace(/[&<>"'`]/g, (c) => entities[c] ?? c);
}
