/**
 * NATS over TLS, the documented way (docs/operations.md, "NATS over TLS"): a
 * real nats-server running the shipped nats.conf plus a `tls {}` block with a
 * certificate from a private CA made with openssl. A component with a tls://
 * NATS_URL and NOZZLE_NATS_CA_FILE connects as its user and does its work;
 * without the CA the server's certificate is refused, with a tls:// or a
 * nats:// URL alike (the server requires TLS: a nats:// client upgrades).
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsConnectError, connectNats } from '../../../lib/jetstream/connect.js';
import { makeCa, signed } from '../../../scripts/testenv/sandbox/certs.js';
import { startShippedNats } from '../../support/shipped-nats.js';
import { setupTopology } from '../../support/stream.js';

const certs = mkdtempSync(join(tmpdir(), 'nozzle-nats-tls-'));
const ca = makeCa(certs, 'ca', '/CN=nozzle-test-nats-ca');
const server = signed(
  certs,
  'nats',
  ca,
  '/CN=nats.nozzle-system.svc',
  'subjectAltName=DNS:nats.nozzle-system.svc.cluster.local,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
);
test.after.always(() => rmSync(certs, { recursive: true, force: true }));

test('with a tls:// URL and the CA file a user connects over TLS and works; without the CA it is refused, whatever the scheme', async (t) => {
  const shipped = await startShippedNats(t, {
    name: 'nats-tls',
    extraConf: () => `\ntls {\n  cert_file: "${server.cert}"\n  key_file: "${server.key}"\n}\n`,
  });
  const tlsUrl = shipped.nats.url.replace('nats://', 'tls://');

  const nc = await connectNats(tlsUrl, { name: 'test', ...shipped.access('nozzle-setup'), caFile: ca.cert });
  t.teardown(() => nc.close());
  t.true(nc.info?.tls_required, 'the server requires TLS');
  t.like(await setupTopology(nc), { stream: 'created', consumer: 'created' });

  const untrusted = await t.throwsAsync(
    connectNats(tlsUrl, { name: 'test', ...shipped.access('nozzle-setup') }),
    {
      instanceOf: NatsConnectError,
    },
  );
  t.regex(untrusted?.message ?? '', /certificate/i);

  // nats:// to a server that requires TLS: the client upgrades, and still needs the CA.
  const plain = await t.throwsAsync(
    connectNats(shipped.nats.url, { name: 'test', ...shipped.access('nozzle-setup') }),
    { instanceOf: NatsConnectError },
  );
  t.regex(plain?.message ?? '', /certificate/i);
});
