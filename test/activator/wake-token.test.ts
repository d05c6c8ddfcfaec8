import test from 'ava';
import { issueWakeToken, verifyWakeToken, WAKE_TOKEN_TTL_MS } from '../../activator/wake-token.js';

const SECRET = 'a-secret-of-enough-length';
const NOW = 1_750_000_000_000;

test('a token is valid for its namespace, within its window, with its secret', (t) => {
  const token = issueWakeToken(SECRET, 'shop', NOW);
  t.regex(token, /^\d+\.[A-Za-z0-9_-]{43}$/);
  t.true(verifyWakeToken(SECRET, 'shop', token, NOW));
  t.true(verifyWakeToken(SECRET, 'shop', token, NOW + WAKE_TOKEN_TTL_MS - 1000));
  t.false(verifyWakeToken(SECRET, 'shop', token, NOW + WAKE_TOKEN_TTL_MS + 1000), 'expired');
  t.false(verifyWakeToken(SECRET, 'other', token, NOW), 'another namespace');
  t.false(verifyWakeToken('another-secret-of-length', 'shop', token, NOW), 'another secret');
});

test('tampered, malformed and far-future tokens are refused', (t) => {
  const token = issueWakeToken(SECRET, 'shop', NOW);
  const [expiry, mac] = token.split('.') as [string, string];
  t.false(verifyWakeToken(SECRET, 'shop', `${Number(expiry) + 60}.${mac}`, NOW), 'a later expiry');
  t.false(verifyWakeToken(SECRET, 'shop', `${expiry}.${mac.slice(0, -1)}A`, NOW));
  t.false(verifyWakeToken(SECRET, 'shop', undefined, NOW));
  t.false(verifyWakeToken(SECRET, 'shop', '', NOW));
  t.false(verifyWakeToken(SECRET, 'shop', `${expiry}`, NOW));
  const far = issueWakeToken(SECRET, 'shop', NOW + 3_600_000);
  t.false(verifyWakeToken(SECRET, 'shop', far, NOW), 'issued for far in the future');
});
