/**
 * Splicing a client connection to an upstream, on real sockets: bytes both
 * ways with the sniffed head first, a 10 MiB echo, backpressure from a reader
 * that does not read, half-close each way, and a failure or timeout on one
 * side closing the other.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { sniff } from '../../activator/sniff.js';
import { splice, type SpliceOptions, type SpliceResult } from '../../activator/splice.js';
import { closed, freePorts, readBytes, readToEnd, tcpClient, tcpServer } from '../support/tcp.js';

interface Stage {
  /** The test's client, connected to the splicing proxy. */
  readonly client: Socket;
  /** The upstream's side of the spliced connection. */
  readonly upstream: Socket;
  /** The proxy's two sockets: the accepted client and its connection to the upstream. */
  readonly proxy: { readonly client: Socket; readonly upstream: Socket };
  readonly spliced: Promise<SpliceResult>;
}

/** client -> proxy (sniff, then splice) -> upstream server. */
async function stage(t: ExecutionContext, options: SpliceOptions = {}): Promise<Stage> {
  const upstreamServer = await tcpServer(t);
  const proxyServer = await tcpServer(t);
  const client = await tcpClient(t, proxyServer.port);
  const proxyClient = await proxyServer.accepted();
  const proxyUpstream = connect({ port: upstreamServer.port, host: '127.0.0.1', noDelay: true });
  t.teardown(() => proxyUpstream.destroy());
  const spliced = splice(proxyClient, proxyUpstream, options);
  return {
    client,
    upstream: await upstreamServer.accepted(),
    proxy: { client: proxyClient, upstream: proxyUpstream },
    spliced,
  };
}

test('bytes pass both ways, and FINs: the result counts them and says done', async (t) => {
  const { client, upstream, spliced } = await stage(t);
  client.write('ping');
  t.is((await readBytes(upstream, 4)).toString(), 'ping');
  upstream.write('pong!');
  t.is((await readBytes(client, 5)).toString(), 'pong!');
  client.end();
  upstream.end();
  const result = await spliced;
  t.is(result.end, 'done');
  t.is(result.clientBytes, 4);
  t.is(result.upstreamBytes, 5);
  t.is(result.error, undefined);
});

test('the sniffed head reaches the upstream first, then the rest in order', async (t) => {
  const upstreamServer = await tcpServer(t);
  const proxyServer = await tcpServer(t, (socket) => {
    void sniff(socket).then(({ kind, bytes }) => {
      t.is(kind, 'other');
      const upstream = connect({ port: upstreamServer.port, host: '127.0.0.1' });
      return splice(socket, upstream, { head: bytes });
    });
  });
  const client = await tcpClient(t, proxyServer.port);
  client.write('SSH-2.0-client\r\n');
  await sleep(30);
  client.end('rest of the stream');
  const upstream = await upstreamServer.accepted();
  t.is((await readToEnd(upstream)).toString(), 'SSH-2.0-client\r\nrest of the stream');
});

test('a FIN from the client reaches the upstream, whose answer still comes back (half-close)', async (t) => {
  const { client, upstream, spliced } = await stage(t);
  client.end('request');
  t.is((await readToEnd(upstream)).toString(), 'request');
  t.false(upstream.writableEnded);
  upstream.end('answer after the FIN');
  t.is((await readToEnd(client)).toString(), 'answer after the FIN');
  t.is((await spliced).end, 'done');
});

test('a FIN from the upstream reaches the client, which can still send (half-close)', async (t) => {
  const { client, upstream, spliced } = await stage(t);
  upstream.end('banner');
  t.is((await readToEnd(client)).toString(), 'banner');
  client.end('late words');
  t.is((await readToEnd(upstream)).toString(), 'late words');
  const result = await spliced;
  t.is(result.end, 'done');
  t.is(result.clientBytes, 10);
  t.is(result.upstreamBytes, 6);
});

test('10 MiB echoed through the splice arrive intact both ways', async (t) => {
  const { client, upstream, spliced } = await stage(t);
  upstream.pipe(upstream); // echo, FIN included
  const data = randomBytes(10 * 1024 * 1024);
  const echoed = readToEnd(client);
  for (let i = 0; i < data.length; i += 64 * 1024) {
    if (!client.write(data.subarray(i, i + 64 * 1024))) await once(client, 'drain');
  }
  client.end();
  const back = await echoed;
  t.is(back.length, data.length);
  t.true(back.equals(data));
  const result = await spliced;
  t.is(result.end, 'done');
  t.is(result.clientBytes, data.length);
  t.is(result.upstreamBytes, data.length);
});

test('backpressure: a client that does not read holds the upstream back; the proxy buffers little', async (t) => {
  const { client, upstream, proxy, spliced } = await stage(t);
  client.pause();
  const total = 256 * 1024 * 1024;
  const chunk = randomBytes(256 * 1024);
  let produced = 0;
  const sent = createHash('sha256');
  const source = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      produced += chunk.length;
      sent.update(chunk);
      this.push(chunk);
    },
  });
  source.pipe(upstream);

  // Wait for the flow to stall: nothing produced for a while.
  let proxyBuffered = 0;
  for (let last = -1; produced !== last;) {
    last = produced;
    await sleep(300);
    proxyBuffered = Math.max(proxyBuffered, proxy.client.writableLength + proxy.upstream.readableLength);
  }
  t.log(
    `stalled after ${(produced / 2 ** 20).toFixed(1)} MiB of ${total / 2 ** 20} MiB; proxy buffered ${proxyBuffered} bytes`,
  );
  t.true(produced < total, 'the upstream was held back');
  t.true(proxyBuffered < 2 * 1024 * 1024, 'the proxy does not take in what the client cannot read');

  const received = createHash('sha256');
  let length = 0;
  client.on('data', (c: Buffer) => {
    received.update(c);
    length += c.length;
  });
  client.resume();
  await once(client, 'end');
  t.is(length, total);
  t.is(received.digest('hex'), sent.digest('hex'));
  client.end();
  t.is((await spliced).end, 'done');
});

test('a client reset closes the upstream, which sees a reset', async (t) => {
  const { client, upstream, spliced } = await stage(t);
  client.write('x');
  await readBytes(upstream, 1);
  const upstreamError = once(upstream, 'error').then(
    ([e]) => e as NodeJS.ErrnoException,
    () => undefined,
  );
  client.resetAndDestroy();
  const result = await spliced;
  t.is(result.end, 'client-error');
  t.is((result.error as NodeJS.ErrnoException).code, 'ECONNRESET');
  await closed(upstream);
  t.is((await upstreamError)?.code, 'ECONNRESET');
});

test('an upstream reset closes the client', async (t) => {
  const { client, upstream, spliced } = await stage(t);
  upstream.write('y');
  await readBytes(client, 1);
  upstream.resetAndDestroy();
  const result = await spliced;
  t.is(result.end, 'upstream-error');
  await closed(client);
  t.true(client.destroyed);
});

test('an upstream that refuses the connection closes the client', async (t) => {
  const [closedPort] = await freePorts(1);
  const proxyServer = await tcpServer(t);
  const client = await tcpClient(t, proxyServer.port);
  const accepted = await proxyServer.accepted();
  const result = await splice(accepted, connect({ port: closedPort!, host: '127.0.0.1' }), {
    head: Buffer.from('hello'),
  });
  t.is(result.end, 'upstream-error');
  t.is((result.error as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  await closed(client);
  t.pass();
});

test('the idle timeout closes both sides after no byte either way', async (t) => {
  const started = performance.now();
  const { client, upstream, spliced } = await stage(t, { idleTimeoutMs: 200 });
  const result = await spliced;
  t.is(result.end, 'idle-timeout');
  t.true(performance.now() - started >= 199);
  // Closed, not reset: each side reads a FIN.
  t.deepEqual(await Promise.all([readToEnd(client), readToEnd(upstream)]), [
    Buffer.alloc(0),
    Buffer.alloc(0),
  ]);
});

test('the signal closes both sides', async (t) => {
  const abort = new AbortController();
  const { client, upstream, spliced } = await stage(t, { signal: abort.signal });
  client.write('x');
  await readBytes(upstream, 1);
  abort.abort();
  t.is((await spliced).end, 'aborted');
  t.deepEqual(await Promise.all([readToEnd(client), readToEnd(upstream)]), [
    Buffer.alloc(0),
    Buffer.alloc(0),
  ]);
});
