/**
 * Crawlers that must not wake a namespace (NOZZLE_ACTIVATOR_BOT_AGENTS): a
 * public preview host is found and revisited by search engines, link
 * previewers and AI crawlers, each visit would wake it and restart its idle
 * clock. They get `503` with `Retry-After` (a crawler comes back later and
 * does not index a 503) and no wake. Names, not a generic `bot|crawler|spider`:
 * that would also catch the app's own API clients and monitors.
 */
export const DEFAULT_BOT_AGENTS: readonly RegExp[] = [
  /Googlebot/i,
  /bingbot/i,
  /Baiduspider/i,
  /YandexBot/i,
  /DuckDuckBot/i,
  /facebookexternalhit/i,
  /Slackbot-LinkExpanding/i,
  /Twitterbot/i,
  /AhrefsBot/i,
  /SemrushBot/i,
  /GPTBot/i,
  /ClaudeBot/i,
  /CCBot/i,
];

export { isIgnoredAgent as isBotAgent } from './ignored-agents.js';
