import { request } from 'node:https';
import { request as plainRequest } from 'node:http';

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
