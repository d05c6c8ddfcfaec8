/**
 * The NATS users, one per component that talks to NATS (k8s/nats.yaml grants
 * each one the least it needs), and the Secrets their passwords live in:
 * `nozzle-nats-<component>`, of type kubernetes.io/basic-auth (keys
 * `username` and `password`), made at install by `nozzle nats-credentials`.
 * The activator does not use NATS and has no user.
 */
import { randomInt } from 'node:crypto';

export const NATS_USERS = ['nozzle-setup', 'nozzle-publisher', 'nozzle-worker'] as const;
export type NatsUser = (typeof NATS_USERS)[number];

/** `nozzle-worker` -> `nozzle-nats-worker`. */
export const credentialsSecret = (user: NatsUser): string => `nozzle-nats-${user.slice('nozzle-'.length)}`;

/** The env var nats.conf reads the user's password from: `nozzle-worker` -> NOZZLE_NATS_WORKER_PASSWORD. */
export const passwordVariable = (user: NatsUser): string =>
  `NOZZLE_NATS_${user.slice('nozzle-'.length).toUpperCase()}_PASSWORD`;

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALPHABET = `${LETTERS}0123456789`;
export const PASSWORD_LENGTH = 32;

/**
 * A random password: 32 letters and digits (190 bits), the first a letter.
 * nats-server parses an env var it substitutes as a config value, so a
 * password like `12345` or `true` would become a number or a boolean and be
 * refused; letters and digits after a letter always stay a string.
 */
export function generatePassword(): string {
  let password = LETTERS[randomInt(LETTERS.length)] ?? 'n';
  while (password.length < PASSWORD_LENGTH) password += ALPHABET[randomInt(ALPHABET.length)];
  return password;
}

/** Whether nats-server would read `password` from an env var as the same string (see generatePassword). */
export const isSafePassword = (password: string): boolean => /^[A-Za-z][A-Za-z0-9]*$/.test(password);
