/**
 * A held connection keeps being read, so that its client going away is seen
 * at once (a paused socket would not tell): what it sends meanwhile is kept,
 * up to a cap past which reading pauses (backpressure, never a whole body in
 * memory), and is written to the pod first on the splice. `gone` fires on a
 * close or reset, and on a FIN too when `finIsGone` (an HTTP client never
 * half-closes while waiting for its answer; a raw TCP client may).
 * `onBytes` is told of every chunk kept (hold-budget.ts charges them). What
 * a held client sends extends no deadline: the readiness timeout runs from
 * the start of the hold whatever arrives.
 */
import type { Socket } from 'node:net';

export const HELD_BYTES_CAP = 64 * 1024;

export class HeldBytes {
  private readonly chunks: Buffer[];
  private length: number;
  private readonly gone = new AbortController();

  constructor(
    private readonly socket: Socket,
    head: Buffer,
    private readonly finIsGone: boolean,
    private readonly onBytes?: (bytes: number) => void,
  ) {
    this.chunks = [head];
    this.length = head.length;
    socket.on('data', this.onData).on('end', this.onEnd).on('close', this.onClose);
    if (socket.destroyed) queueMicrotask(this.onClose);
    else socket.resume();
  }

  /** Aborted when the client went away. */
  get signal(): AbortSignal {
    return this.gone.signal;
  }

  /** Stops reading (the socket is left paused) and returns every byte read, the head first. */
  release(): Buffer {
    this.socket.off('data', this.onData).off('end', this.onEnd).off('close', this.onClose);
    this.socket.pause();
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.onBytes?.(chunk.length);
    if (this.length >= HELD_BYTES_CAP) this.socket.pause();
  };

  private readonly onEnd = (): void => {
    if (this.finIsGone) this.onClose();
  };

  private readonly onClose = (): void => {
    this.gone.abort(new Error('the client went away while held'));
  };
}
