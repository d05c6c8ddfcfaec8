/**
 * The verified wake's token (NOZZLE_VERIFIED_WAKE): the waiting page carries
 * one, and the browser sends it back to `/_nozzle/wake` to start the wake.
 * `<expiry, unix seconds>.<HMAC-SHA256(secret, namespace + expiry), base64url>`:
 * bound to one namespace and valid for WAKE_TOKEN_TTL_MS, checked in constant
 * time. No state: any replica sharing NOZZLE_WAKE_SECRET verifies it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WAKE_TOKEN_TTL_MS = 5 * 60_000;

/** The shortest NOZZLE_WAKE_SECRET accepted. */
export const MIN_WAKE_SECRET_LENGTH = 16;

const mac = (secret: string, namespace: string, expiry: number): Buffer =>
  createHmac('sha256', secret).update(`nozzle-wake\n${namespace}\n${expiry}`).digest();

export function issueWakeToken(secret: string, namespace: string, nowMs = Date.now()): string {
  const expiry = Math.ceil((nowMs + WAKE_TOKEN_TTL_MS) / 1000);
  return `${expiry}.${mac(secret, namespace, expiry).toString('base64url')}`;
}

/** Whether `token` was issued with `secret` for `namespace` and is still valid at `nowMs`. */
export function verifyWakeToken(
  secret: string,
  namespace: string,
  token: string | undefined,
  nowMs = Date.now(),
): boolean {
  const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token ?? '');
  if (!match) return false;
  const expiry = Number(match[1]);
  const left = expiry * 1000 - nowMs;
  if (left <= 0 || left > WAKE_TOKEN_TTL_MS + 1000) return false;
  const given = Buffer.from(match[2]!, 'base64url');
  const expected = mac(secret, namespace, expiry);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
