import { request } from 'node:https';
import { request as plainRequest, type RequestOptions } from 'node:http';

/** GET a URL and resolve to its status code; `ca` and `token` for the apiserver. */
export function probe(
  url: string,
  options: { ca?: string | Buffer; token?: string; insecure?: boolean } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = options.token ? { authorization: `Bearer ${options.token}` } : undefined;
    const req = url.startsWith('https:')
      ? request(url, { ca: options.ca, headers, timeout: 2_000, rejectUnauthorized: !options.insecure })
      : plainRequest(url, { headers, timeout: 2_000 });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | undefined>;
  readonly body: string;
  /** From sending the request to the end of the body. */
  readonly seconds: number;
}

/** One plain-HTTP request, its whole body read as text. */
export function httpGet(options: RequestOptions, timeoutMs = 120_000): Promise<HttpAnswer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = plainRequest({ ...options, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: Object.fromEntries(
            Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
          ),
          body: Buffer.concat(chunks).toString('utf8'),
          seconds: (performance.now() - started) / 1000,
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
