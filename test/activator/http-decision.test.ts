import test from 'ava';
import { decideHttp, isBrowserRequest } from '../../activator/http-decision.js';
import { DEFAULT_BOT_AGENTS, isBotAgent } from '../../activator/bot-agents.js';
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
  const ignored = { ignoredAgents: DEFAULT_IGNORED_AGENTS, botAgents: DEFAULT_BOT_AGENTS };
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

const rules = { ignoredAgents: DEFAULT_IGNORED_AGENTS, botAgents: DEFAULT_BOT_AGENTS };

test('crawlers are bots whatever they ask for, own paths included; health checkers keep their answers', (t) => {
  const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
  t.is(decideHttp(head('GET', '/', { 'user-agent': googlebot, accept: HTML }), rules), 'bot');
  t.is(decideHttp(head('GET', '/_nozzle/status', { 'user-agent': googlebot }), rules), 'bot');
  t.is(decideHttp(head('POST', '/api', { 'user-agent': 'GPTBot/1.1' }), rules), 'bot');
  t.is(decideHttp(head('GET', '/', { 'user-agent': 'GoogleHC/1.0' }), rules), 'ignored');
  t.is(decideHttp(head('GET', '/_nozzle/status', { 'user-agent': 'GoogleHC/1.0' }), rules), 'page');
  t.is(
    decideHttp(head('GET', '/', { 'user-agent': 'Mozilla/5.0', accept: HTML }), { ...rules, botAgents: [] }),
    'browser',
  );
});

test('the default bots are named crawlers and link previewers, not any client with "bot" in its name', (t) => {
  for (const agent of [
    'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    'Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)',
    'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
    'DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    'Twitterbot/1.0',
    'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
    'Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)',
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.1; +https://openai.com/gptbot)',
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)',
    'CCBot/2.0 (https://commoncrawl.org/faq/)',
  ]) {
    t.true(isBotAgent(agent, DEFAULT_BOT_AGENTS), agent);
  }
  for (const agent of [
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36',
    'curl/8.5.0',
    'Slackbot 1.0 (+https://api.slack.com/robots)', // Slack's events API client, not the link previewer
    'my-deploy-bot/1.0',
    'ELB-HealthChecker/2.0',
  ]) {
    t.false(isBotAgent(agent, DEFAULT_BOT_AGENTS), agent);
  }
});
