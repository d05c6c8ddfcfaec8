/**
 * The takeover listeners reconciled from `port -> target`, on real ports of
 * 127.0.0.1: open, retarget without closing, keep, drain on removal, a port
 * already in use reported while the others serve, and close.
 */
import test, { type ExecutionContext } from 'ava';
import { once } from 'node:events';
import { connect } from 'node:net';
import { PortListeners } from '../../activator/port-listeners.js';
import { freePorts, readBytes, readToEnd, tcpClient, tcpServer } from '../support/tcp.js';

interface Target {
  readonly namespace: string;
  readonly service: string;
  readonly servicePort: number;
}

const target = (service: string, servicePort = 80): Target => ({ namespace: 'shop', service, servicePort });

const webAndDb = (web: number, db: number): Map<number, Target> =>
  new Map([
    [web, target('web')],
    [db, target('db')],
  ]);

/** Listeners on 127.0.0.1 whose connections answer with their target's service name, then echo. */
function listeners(t: ExecutionContext): PortListeners<Target> {
  const set = new PortListeners<Target>({
    host: '127.0.0.1',
    onConnection: (socket, target) => {
      socket.on('error', () => undefined); // clients reset when a test ends
      socket.write(`${target.service}:${target.servicePort}\n`);
      socket.pipe(socket);
    },
  });
  t.teardown(() => set.close(0));
  return set;
}

/** What a new connection to `port` is told (its target). */
async function greeting(t: ExecutionContext, port: number): Promise<string> {
  const socket = await tcpClient(t, port);
  const line = (await readBytes(socket, 1)).toString();
  socket.end();
  return line.trim();
}

function refused(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
}

test('opens a listener per port; each connection gets its port target', async (t) => {
  const set = listeners(t);
  const [a, b] = (await freePorts(2)) as [number, number];
  const report = await set.reconcile(
    new Map([
      [a, target('web')],
      [b, target('db', 5432)],
    ]),
  );
  t.deepEqual(report, { opened: [a, b], closed: [], retargeted: [], failed: [] });
  t.deepEqual(
    set.ports(),
    [a, b].sort((x, y) => x - y),
  );
  t.is(await greeting(t, a), 'web:80');
  t.is(await greeting(t, b), 'db:5432');
  t.deepEqual(set.target(b), target('db', 5432));
});

test('an unchanged map changes nothing; a changed target applies to new connections only', async (t) => {
  const set = listeners(t);
  const [a] = (await freePorts(1)) as [number];
  await set.reconcile(new Map([[a, target('web')]]));
  const early = await tcpClient(t, a);
  t.is((await readBytes(early, 1)).toString(), 'web:80\n');

  t.deepEqual(await set.reconcile(new Map([[a, target('web')]])), {
    opened: [],
    closed: [],
    retargeted: [],
    failed: [],
  });
  t.deepEqual(await set.reconcile(new Map([[a, target('api', 8080)]])), {
    opened: [],
    closed: [],
    retargeted: [a],
    failed: [],
  });
  t.is(await greeting(t, a), 'api:8080');
  // The connection accepted before keeps going, on its own target.
  early.write('still here');
  t.is((await readBytes(early, 10)).toString(), 'still here');
});

test('a removed port stops accepting at once and its live connections drain', async (t) => {
  const set = listeners(t);
  const [a, b] = (await freePorts(2)) as [number, number];
  await set.reconcile(webAndDb(a, b));
  const live = await tcpClient(t, a);
  await readBytes(live, 1);

  const report = await set.reconcile(new Map([[b, target('db')]]));
  t.deepEqual(report.closed, [a]);
  t.deepEqual(set.ports(), [b]);
  t.is(await refused(a), 'ECONNREFUSED');
  t.is(set.drainingConnections, 1);

  live.write('drain me');
  t.is((await readBytes(live, 8)).toString(), 'drain me');
  live.end();
  await readToEnd(live);
  t.is(await greeting(t, b), 'db:80');
});

test('a port already in use is reported (EADDRINUSE), the others serve, and the next reconcile tries again', async (t) => {
  const set = listeners(t);
  const taken = await tcpServer(t);
  const [free] = (await freePorts(1)) as [number];
  const report = await set.reconcile(webAndDb(taken.port, free));
  t.deepEqual(report.opened, [free]);
  t.is(report.failed.length, 1);
  t.is(report.failed[0]?.port, taken.port);
  t.is(report.failed[0]?.code, 'EADDRINUSE');
  t.deepEqual(set.ports(), [free]);
  t.is(await greeting(t, free), 'db:80');

  taken.server.close();
  await once(taken.server, 'close');
  const again = await set.reconcile(webAndDb(taken.port, free));
  t.deepEqual(again.opened, [taken.port]);
  t.deepEqual(again.failed, []);
  t.is(await greeting(t, taken.port), 'web:80');
});

test('a port out of range is reported, not thrown', async (t) => {
  const set = listeners(t);
  const [free] = (await freePorts(1)) as [number];
  const report = await set.reconcile(webAndDb(70_000, free));
  t.deepEqual(report.opened, [free]);
  t.is(report.failed[0]?.port, 70_000);
  t.is(report.failed[0]?.code, 'ERR_SOCKET_BAD_PORT');
});

test('a removed port can be opened again while its old connections still drain', async (t) => {
  const set = listeners(t);
  const [a] = (await freePorts(1)) as [number];
  await set.reconcile(new Map([[a, target('web')]]));
  const live = await tcpClient(t, a);
  await readBytes(live, 1);
  await set.reconcile(new Map());
  const report = await set.reconcile(new Map([[a, target('web2')]]));
  t.deepEqual(report.opened, [a]);
  t.is(await greeting(t, a), 'web2:80');
  live.write('old');
  t.is((await readBytes(live, 3)).toString(), 'old');
});

test('reconciles issued together apply in order', async (t) => {
  const set = listeners(t);
  const [a, b] = (await freePorts(2)) as [number, number];
  const [first, second] = await Promise.all([
    set.reconcile(new Map([[a, target('web')]])),
    set.reconcile(webAndDb(a, b)),
  ]);
  t.deepEqual(first.opened, [a]);
  t.deepEqual(second.opened, [b]);
  t.deepEqual(
    set.ports(),
    [a, b].sort((x, y) => x - y),
  );
});

test('close() stops every port and waits for the last connection to end', async (t) => {
  const set = listeners(t);
  const [a, b] = (await freePorts(2)) as [number, number];
  await set.reconcile(webAndDb(a, b));
  const first = await tcpClient(t, a);
  const last = await tcpClient(t, b);
  await Promise.all([readBytes(first, 1), readBytes(last, 1)]);

  let closed = false;
  const closing = set.close().then(() => (closed = true));
  t.is(await refused(a), 'ECONNREFUSED');
  t.is(await refused(b), 'ECONNREFUSED');
  first.end();
  await readToEnd(first);
  t.false(closed, 'one connection is still open');
  last.end();
  await readToEnd(last);
  await closing;
  t.deepEqual(set.ports(), []);
  t.is(set.drainingConnections, 0);
});

test('close(deadline) cuts the connections still open past the deadline', async (t) => {
  const set = listeners(t);
  const [a] = (await freePorts(1)) as [number];
  await set.reconcile(new Map([[a, target('web')]]));
  const stubborn = await tcpClient(t, a);
  await readBytes(stubborn, 1);
  await set.close(100);
  t.is(set.drainingConnections, 0);
  await readToEnd(stubborn); // its FIN
  t.true(stubborn.readableEnded);
});

test('the listen address defaults to 0.0.0.0', async (t) => {
  const set = new PortListeners<Target>({
    onConnection: (socket) => socket.on('error', () => undefined).end('hi'),
  });
  t.teardown(() => set.close(0));
  const [a] = (await freePorts(1)) as [number];
  await set.reconcile(new Map([[a, target('web')]]));
  t.is((await readToEnd(await tcpClient(t, a))).toString(), 'hi');
  // Any local address reaches it, not only 127.0.0.1.
  const other = connect({ port: a, host: '127.0.0.2' });
  other.on('error', () => undefined);
  const [err] = await Promise.race([once(other, 'connect').then(() => [undefined]), once(other, 'error')]);
  other.destroy();
  t.is(err, undefined);
});
