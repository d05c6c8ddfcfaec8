/**
 * The Prometheus client against a local HTTP server that answers as the
 * Prometheus API does (the answer shapes are from its documentation): every
 * failure is an ActivityUnavailableError with a reason, never a guess.
 */
import test, { type ExecutionContext } from 'ava';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { ActivityUnavailableError, queryActivity } from '../../publisher/prometheus.js';
import { freePort } from '../../scripts/testenv/servers/ports.js';

const now = new Date('2025-06-01T12:00:00Z');
const seconds = now.getTime() / 1000;

async function prometheus(
  t: ExecutionContext,
  answer: (req: IncomingMessage, body: string, res: ServerResponse) => void,
) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => answer(req, body, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => void server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom/`;
}
const json = (res: ServerResponse, status: number, value: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
};
const vector = (result: unknown[]) => ({ status: 'success', data: { resultType: 'vector', result } });
const failure = async (t: ExecutionContext, url: string, timeout = 2_000) =>
  t.throwsAsync(queryActivity(url, 'q', { timeout, now }), { instanceOf: ActivityUnavailableError });

test('one POST to /api/v1/query at the round time; the vector becomes namespace and time', async (t) => {
  let seen = '';
  const url = await prometheus(t, (req, body, res) => {
    seen = `${req.method} ${req.url} ${body}`;
    json(
      res,
      200,
      vector([
        { metric: { namespace: 'shop' }, value: [seconds, String(seconds - 60)] },
        { metric: { namespace: 'blog', job: 'x' }, value: [seconds, String(seconds - 600.5)] },
      ]),
    );
  });
  const samples = await queryActivity(url, 'max(x) by (namespace)', { timeout: 2_000, now });
  t.deepEqual(samples, [
    { namespace: 'shop', at: now.getTime() - 60_000 },
    { namespace: 'blog', at: now.getTime() - 600_500 },
  ]);
  t.is(seen, `POST /prom/api/v1/query query=max%28x%29+by+%28namespace%29&time=${seconds}`);
});

test('an empty vector is valid: no namespace had requests', async (t) => {
  const url = await prometheus(t, (_req, _body, res) => json(res, 200, vector([])));
  t.deepEqual(await queryActivity(url, 'q', { timeout: 2_000, now }), []);
});

test('a series without a namespace label is refused', async (t) => {
  const url = await prometheus(t, (_req, _body, res) =>
    json(res, 200, vector([{ metric: { service: 'a' }, value: [seconds, String(seconds)] }])),
  );
  const err = await failure(t, url);
  t.is(err?.reason, 'response');
  t.regex(err?.message ?? '', /has no "namespace" label/);
});

test('a count instead of a Unix time is refused', async (t) => {
  const url = await prometheus(t, (_req, _body, res) =>
    json(res, 200, vector([{ metric: { namespace: 'a' }, value: [seconds, '42'] }])),
  );
  const err = await failure(t, url);
  t.is(err?.reason, 'response');
  t.regex(err?.message ?? '', /value 42, not the Unix time/);
});

test('a matrix or a scalar is refused', async (t) => {
  const url = await prometheus(t, (_req, _body, res) =>
    json(res, 200, { status: 'success', data: { resultType: 'matrix', result: [] } }),
  );
  t.is((await failure(t, url))?.reason, 'response');
});

test('a query Prometheus refuses: reason query, with its error', async (t) => {
  const url = await prometheus(t, (_req, _body, res) =>
    json(res, 400, { status: 'error', errorType: 'bad_data', error: 'parse error at char 3' }),
  );
  const err = await failure(t, url);
  t.is(err?.reason, 'query');
  t.regex(err?.message ?? '', /bad_data\): parse error at char 3/);
});

test('an HTTP error page: reason http', async (t) => {
  const url = await prometheus(t, (_req, _body, res) => {
    res.writeHead(502);
    res.end('<html>bad gateway</html>');
  });
  t.is((await failure(t, url))?.reason, 'http');
});

test('no answer within the timeout: reason timeout', async (t) => {
  const url = await prometheus(t, () => {}); // never answers
  const err = await failure(t, url, 200);
  t.is(err?.reason, 'timeout');
});

test('nobody listening: reason unreachable', async (t) => {
  const err = await failure(t, `http://127.0.0.1:${await freePort()}`);
  t.is(err?.reason, 'unreachable');
  t.regex(err?.message ?? '', /ECONNREFUSED/);
});
