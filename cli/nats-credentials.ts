/**
 * `nozzle nats-credentials`: makes the Secrets nozzle-nats-<component> that
 * hold each NATS user's password, with a random password, when they do not
 * exist yet; an existing one is never read or changed (a create that the
 * apiserver answers 409 keeps it). Run at install by the Job
 * nozzle-nats-credentials (k8s/nats-credentials.yaml), whose ServiceAccount
 * may only create these Secrets in nozzle-system: the NATS pod and the
 * components wait for them through their secretKeyRefs.
 */
import { defineCommand } from '../lib/config/command.js';
import { optIn } from '../lib/config/nozzle.js';
import { statusOf } from '../lib/errors.js';
import { NATS_USERS, credentialsSecret, generatePassword } from '../lib/jetstream/nats-users.js';
import { connectKube, type Kube } from '../lib/kube/client.js';
import { MANAGER, labels } from '../lib/names.js';

const base64 = (text: string): string => Buffer.from(text).toString('base64');

export type CredentialsReport = Record<string, 'created' | 'kept'>;

/** Creates each missing Secret; returns what happened to each. */
export async function ensureNatsCredentials(kube: Kube, namespace: string): Promise<CredentialsReport> {
  const report: CredentialsReport = {};
  for (const user of NATS_USERS) {
    const name = credentialsSecret(user);
    try {
      await kube.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name,
            labels: { [labels.appManagedBy]: MANAGER, 'app.kubernetes.io/part-of': 'nozzle' },
          },
          type: 'kubernetes.io/basic-auth',
          data: { username: base64(user), password: base64(generatePassword()) },
        },
      });
      report[name] = 'created';
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      report[name] = 'kept';
    }
  }
  return report;
}

export default defineCommand({
  summary:
    'Create the Secrets nozzle-nats-<component> with a random NATS password for each component that does not have one yet, then exit. Never reads or changes an existing one.',
  settings: { systemNamespace: optIn.systemNamespace },
  async run(config, log) {
    const report = await ensureNatsCredentials(connectKube(), config.systemNamespace);
    log.info({ namespace: config.systemNamespace, secrets: report }, 'NATS credentials are in place');
    return 0;
  },
});
