/**
 * What the kubelet stand-in runs for an image: there is no container runtime
 * here, so each image the sandbox knows maps to a program on this machine,
 * started with the container's own command and args as the image's
 * entrypoint would receive them.
 */
import { fileURLToPath } from 'node:url';
import type { V1Container } from '@kubernetes/client-node';

export interface Program {
  readonly binary: string;
  readonly args: readonly string[];
}

export interface ImageBinaries {
  readonly natsServer: string;
}

const dist = (path: string): string => fileURLToPath(new URL(`../../../../${path}`, import.meta.url));

/** Nozzle's own CLI in this checkout's build: the image's ENTRYPOINT is `node dist/cli/main.js`. */
export const nozzleCli = (): string => dist('cli/main.js');

/** The image name without registry tag or digest: `ghcr.io/nozzle-dev/nozzle:0.1.0` -> `ghcr.io/nozzle-dev/nozzle`. */
export function imageName(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at < 0 ? image : image.slice(0, at);
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

const SUPPORTED = "Nozzle's image (…/nozzle), nats, nozzle.test/echo and nozzle.test/tcp-echo";

/** The program for `container`, or why the sandbox cannot run it. */
export function programFor(
  container: V1Container,
  binaries: ImageBinaries,
): Program | { unsupported: string } {
  const image = container.image ?? '';
  const name = imageName(image);
  const args = container.args ?? [];
  if (container.command?.length) {
    return {
      unsupported: `the sandbox runs images by their entrypoint; container ${container.name} sets command ${JSON.stringify(container.command)}`,
    };
  }
  if (name === 'nozzle' || name.endsWith('/nozzle')) {
    return { binary: process.execPath, args: [nozzleCli(), ...args] };
  }
  if (name === 'nats' || name.endsWith('/nats') || name === 'library/nats') {
    return { binary: binaries.natsServer, args };
  }
  if (name === 'nozzle.test/echo')
    return { binary: process.execPath, args: [dist('scripts/testenv/images/echo.js'), ...args] };
  if (name === 'nozzle.test/tcp-echo')
    return { binary: process.execPath, args: [dist('scripts/testenv/images/tcp-echo.js'), ...args] };
  return { unsupported: `the sandbox cannot run image ${image}: it runs only ${SUPPORTED}` };
}
