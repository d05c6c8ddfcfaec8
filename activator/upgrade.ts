/**
 * Forwarding an HTTP/1.1 Upgrade (WebSocket): a fresh connection to the
 * backend (an upgraded connection is never pooled), the backend's 101 and
 * headers passed back, then bytes both ways until either side closes. A
 * backend that refuses the upgrade has its answer passed back as is.
 */
import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { COLD_START_HEADER, forwardResponseHeaders, type HeaderMap } from './headers.js';

export interface UpgradeTarget {
  readonly origin: string;
  readonly pathAndQuery: string;
  readonly headers: HeaderMap;
  readonly coldStart: boolean;
  readonly timeoutMs: number;
}

/** Resolves to the status the backend answered with, or rejects when it could not be reached. */
export function forwardUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  target: UpgradeTarget,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(target.origin);
    const upstream = request({
      host: url.hostname,
      port: url.port,
      method: req.method,
      path: target.pathAndQuery,
      headers: target.headers,
      timeout: target.timeoutMs,
    });
    const onClientClose = (): void => void upstream.destroy();
    socket.once('close', onClientClose);

    upstream.once('upgrade', (res, upstreamSocket, upstreamHead) => {
      socket.off('close', onClientClose);
      socket.write(head101(res, target.coldStart));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstreamSocket.write(head);
      upstreamSocket.on('error', () => socket.destroy());
      socket.on('error', () => upstreamSocket.destroy());
      upstreamSocket.on('close', () => socket.destroy());
      socket.on('close', () => upstreamSocket.destroy());
      upstreamSocket.pipe(socket).pipe(upstreamSocket);
      resolve(res.statusCode ?? 101);
    });
    upstream.once('response', (res) => {
      // No upgrade: pass the backend's answer through and close.
      socket.off('close', onClientClose);
      socket.write(statusLine(res, target.coldStart, true));
      res.pipe(socket);
      res.once('end', () => socket.end());
      resolve(res.statusCode ?? 502);
    });
    upstream.once('timeout', () =>
      upstream.destroy(new Error(`${target.origin} did not answer the upgrade in time`)),
    );
    upstream.once('error', (err) => {
      socket.off('close', onClientClose);
      reject(err);
    });
    upstream.end();
  });
}

function head101(res: IncomingMessage, coldStart: boolean): string {
  // Connection and Upgrade are hop-by-hop but are the handshake itself.
  const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? 'Switching Protocols'}`];
  for (const [name, value] of Object.entries(forwardResponseHeaders(res.headers))) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  lines.push('connection: Upgrade', `upgrade: ${res.headers.upgrade ?? 'websocket'}`);
  if (coldStart) lines.push(`${COLD_START_HEADER}: true`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function statusLine(res: IncomingMessage, coldStart: boolean, close: boolean): string {
  const headers = forwardResponseHeaders(res.headers);
  const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}`];
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'content-length' && close) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  if (coldStart) lines.push(`${COLD_START_HEADER}: true`);
  if (close) lines.push('connection: close');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** A short plain answer on a raw socket (the upgrade path has no ServerResponse). */
export function rawReply(
  socket: Duplex,
  status: number,
  reason: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  if (!socket.writable) return void socket.destroy();
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...extra,
  };
  const lines = [`HTTP/1.1 ${status} ${reason}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
