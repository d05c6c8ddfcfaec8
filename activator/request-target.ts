/**
 * Which host and path a request is for. Origin-form (`GET /path`) takes the
 * host from `Host`; absolute-form (`GET http://host/path`) takes it from the
 * URL, as RFC 9112 section 3.2.2 requires. Either way the host only selects a
 * recorded route: the activator is not a forward proxy and never connects to
 * the host a client names.
 */
import type { IncomingMessage } from 'node:http';
import { normalizeHost } from './route-table.js';

export interface RequestTarget {
  /** Normalized: lower-case, no port. */
  readonly host: string;
  /** As the client sent it (with port), for X-Forwarded-Host and the upstream Host. */
  readonly authority: string;
  /** The path without the query, for route matching. */
  readonly path: string;
  /** Path and query in origin-form, what the backend receives. */
  readonly pathAndQuery: string;
  readonly absoluteForm: boolean;
}

export class BadRequestTargetError extends Error {
  override readonly name = 'BadRequestTargetError';
}

export function requestTarget(req: Pick<IncomingMessage, 'url' | 'headers'>): RequestTarget {
  const raw = req.url ?? '';
  if (raw.startsWith('/')) {
    const authority = req.headers.host;
    if (!authority) throw new BadRequestTargetError('the request has no Host header');
    const query = raw.indexOf('?');
    return {
      host: normalizeHost(authority),
      authority,
      path: query >= 0 ? raw.slice(0, query) : raw,
      pathAndQuery: raw,
      absoluteForm: false,
    };
  }
  if (/^https?:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new BadRequestTargetError(`invalid request target "${raw.slice(0, 100)}"`);
    }
    return {
      host: normalizeHost(url.host),
      authority: url.host,
      path: url.pathname,
      pathAndQuery: `${url.pathname}${url.search}`,
      absoluteForm: true,
    };
  }
  throw new BadRequestTargetError(`unsupported request target "${raw.slice(0, 100)}"`);
}

/** A browser navigation: a GET that accepts HTML. */
export function isBrowserRequest(req: Pick<IncomingMessage, 'method' | 'headers'>): boolean {
  if (req.method !== 'GET' || req.headers.upgrade) return false;
  return /(^|,)\s*text\/html\s*(;|,|$)/i.test(req.headers.accept ?? '');
}
