/**
 * Header rules of a forwarding proxy (RFC 9110 section 7.6): hop-by-hop
 * headers, and every header the `Connection` header names, apply to one
 * connection and are not forwarded; `X-Forwarded-For/Proto/Host` tell the
 * backend who asked. The original `Host` is kept, as ingress controllers do.
 */
/** Header name (lower-case) -> value; a header sent more than once keeps every value. */
export type HeaderMap = Record<string, string | string[]>;

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

export const COLD_START_HEADER = 'x-nozzle-cold-start';

export interface ForwardContext {
  /** The client's address, appended to X-Forwarded-For. */
  readonly remoteAddress: string | undefined;
  /** `http` or `https`, as the activator received the request, when no proxy in front said otherwise. */
  readonly protocol: string;
  /** The request's Host (the route's host). */
  readonly host: string;
  /** Keep `Connection: upgrade` and `Upgrade` (a WebSocket handshake). */
  readonly upgrade?: boolean;
}

/** Names listed in Connection headers, lower-case. */
function connectionTokens(values: readonly string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const value of values ?? []) {
    for (const token of value.split(',')) {
      const t = token.trim().toLowerCase();
      if (t) out.add(t);
    }
  }
  return out;
}

/** Request headers as the backend should get them. `incoming` is `req.headersDistinct`. */
export function forwardRequestHeaders(
  incoming: Readonly<Record<string, string[] | undefined>>,
  ctx: ForwardContext,
): HeaderMap {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(incoming)) {
    if (values === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    // undici refuses `Expect`; Node's server has already answered 100-continue.
    if (lower === 'expect') continue;
    if (lower.startsWith('x-forwarded-') || lower === COLD_START_HEADER) continue;
    out[lower] = [...values];
  }
  const forwardedFor = [...(incoming['x-forwarded-for'] ?? [])];
  if (ctx.remoteAddress) forwardedFor.push(ctx.remoteAddress);
  if (forwardedFor.length > 0) out['x-forwarded-for'] = [forwardedFor.join(', ')];
  out['x-forwarded-proto'] = [incoming['x-forwarded-proto']?.[0] ?? ctx.protocol];
  out['x-forwarded-host'] = [incoming['x-forwarded-host']?.[0] ?? ctx.host];
  for (const [name, values] of Object.entries(incoming)) {
    const lower = name.toLowerCase();
    if (lower.startsWith('x-forwarded-') && !(lower in out) && !named.has(lower) && values)
      out[lower] = [...values];
  }
  if (ctx.upgrade && incoming.upgrade) {
    out.connection = ['upgrade'];
    out.upgrade = [...incoming.upgrade];
  }
  // One value as a plain string: undici insists on it for Host and Content-Length.
  const collapsed: HeaderMap = {};
  for (const [name, values] of Object.entries(out))
    collapsed[name] = values.length === 1 ? values[0]! : values;
  return collapsed;
}

/** Response headers as the client should get them. */
export function forwardResponseHeaders(
  incoming: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const named = connectionTokens(asList(incoming.connection));
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}

function asList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value : [value];
}
