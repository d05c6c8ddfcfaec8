import test from 'ava';
import { decideHttp, isBrowserRequest } from '../../activator/http-decision.js';
import { DEFAULT_IGNORED_AGENTS, isIgnoredAgent } from '../../activator/ignored-agents.js';
import type { RequestHead } from '../../activator/request-head.js';

const HTML = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const head = (method: string, path: string, headers: Record<string, string> = {}): RequestHead => ({
  method,
  target: path,
  path,
  version: '1.1',
  headers,
});

test('a browser is a GET that accepts text/html and is not an upgrade', (t) => {
  t.true(isBrowserRequest({ method: 'GET', headers: { accept: HTML } }));
  t.false(isBrowserRequest({ method: 'POST', headers: { accept: HTML } }));
  t.false(isBrowserRequest({ method: 'GET', headers: { accept: 'application/json' } }));
  t.false(isBrowserRequest({ method: 'GET', headers: { accept: '*/*' } }));
  t.false(isBrowserRequest({ method: 'GET', headers: { accept: 'text/htmlx' } }));
  t.false(isBrowserRequest({ method: 'GET', headers: { accept: HTML, upgrade: 'websocket' } }));
});

test('own paths first, then health checkers, then browsers; everything else is held', (t) => {
  const ignored = DEFAULT_IGNORED_AGENTS;
  t.is(decideHttp(head('GET', '/_nozzle/status', { 'user-agent': 'GoogleHC/1.0' }), ignored), 'page');
  t.is(
    decideHttp(head('GET', '/', { 'user-agent': 'ELB-HealthChecker/2.0', accept: HTML }), ignored),
    'ignored',
  );
  t.is(decideHttp(head('GET', '/', { accept: HTML, 'user-agent': 'Mozilla/5.0' }), ignored), 'browser');
  t.is(decideHttp(head('POST', '/api', { accept: HTML }), ignored), 'hold');
  t.is(decideHttp(head('GET', '/ws', { upgrade: 'websocket', accept: HTML }), ignored), 'hold');
  t.is(decideHttp(head('GET', '/_nozzlex'), ignored), 'hold');
});

test('the default ignored agents are the cloud load-balancer health checkers, not browsers or curl', (t) => {
  for (const agent of ['ELB-HealthChecker/2.0', 'GoogleHC/1.0', 'kube-probe/1.33', 'Load Balancer Agent']) {
    t.true(isIgnoredAgent(agent, DEFAULT_IGNORED_AGENTS), agent);
  }
  for (const agent of ['Mozilla/5.0 (X11; Linux x86_64)', 'curl/8.5.0', 'my-ELB-HealthChecker-lookalike']) {
    t.false(isIgnoredAgent(agent, DEFAULT_IGNORED_AGENTS), agent);
  }
  t.false(isIgnoredAgent(undefined, DEFAULT_IGNORED_AGENTS));
});
