/**
 * The sandbox's one clear message for a machine it cannot run on: as a user
 * other than root it stops before creating anything, and says what to do.
 */
import test from 'ava';
import { SandboxError, checkCapabilities } from '../../../../scripts/testenv/sandbox/network/netns.js';

test('as a user other than root, the sandbox refuses at once and names what it needs', (t) => {
  const error = t.throws(() => checkCapabilities(1000), { instanceOf: SandboxError });
  t.regex(error?.message ?? '', /needs root: run it as root \(sudo -E npm run test:e2e\)/);
});
