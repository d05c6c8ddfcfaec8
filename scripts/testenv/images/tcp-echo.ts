/**
 * The `nozzle.test/tcp-echo` image of the end-to-end sandbox: a raw TCP echo
 * server. If GREETING is set it is written first on every connection, as a
 * stand-in for protocols where the server speaks first (SMTP, MySQL).
 * Standard library only; see startup.ts for PORT, HOST, STARTUP_DELAY.
 */
import { createServer, type Server } from 'node:net';
import { serve } from './startup.js';

function createTcpEchoServer(greeting: string | undefined): Server {
  return createServer((socket) => {
    socket.on('error', () => socket.destroy());
    if (greeting) socket.write(greeting);
    socket.pipe(socket);
  });
}

await serve('tcp-echo', createTcpEchoServer(process.env.GREETING), 9000);
