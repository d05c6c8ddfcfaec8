import { join } from 'node:path';
import { ManagedProcess } from './process.js';
import { freePort } from './ports.js';
import { probe } from './http.js';

export interface Etcd {
  readonly url: string;
  readonly process: ManagedProcess;
}

export async function startEtcd(binary: string, dir: string): Promise<Etcd> {
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const process = ManagedProcess.start(
    'etcd',
    binary,
    [
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=default=http://127.0.0.1:${peer}`,
      // A throwaway test store: durability buys nothing and fsync costs seconds.
      '--unsafe-no-fsync=true',
    ],
    { logFile: join(dir, 'etcd.log') },
  );
  await process.waitUntil('healthy', async () => (await probe(`${url}/health`)) === 200);
  return { url, process };
}
