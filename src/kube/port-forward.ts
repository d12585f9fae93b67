/**
 * A loopback port that forwards each connection to a pod's port through the API server
 * (client-node PortForward), the way `kubectl port-forward` does. Shared by the CLI (query,
 * doctor) and the operator when it runs outside the cluster; it depends on nothing of ours.
 *
 * A failed forward shows up to the client as a dropped connection ("socket hang up"), which
 * says nothing about why; the forward keeps the API server's reason (handshake refused, the
 * kubelet's error stream) so that callers can report it.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { type KubeConfig, PortForward } from '@kubernetes/client-node';

export interface ForwardedPort {
  /** The local port on 127.0.0.1. */
  readonly port: number;
  /** Why the most recent connection could not be forwarded, if it could not. */
  lastError(): string | undefined;
  close(): Promise<void>;
}

export async function forwardPort(config: KubeConfig, namespace: string, pod: string, port: number): Promise<ForwardedPort> {
  const forward = new PortForward(config);
  let lastError: string | undefined;
  // Kept so that close() ends them: server.close() alone waits for every open connection, and a
  // forward the API server never answers would hold the caller's shutdown forever.
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // The error stream carries the kubelet's reason, e.g. "connection refused" from the pod.
    const errors = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const text = chunk.toString('utf8').trim();
        if (text) {
          lastError = text;
          // The kubelet closes this connection's stream after an error, but the WebSocket protocol
          // has no frame for that: without this the client would wait for an answer until it times out.
          socket.destroy();
        }
        done();
      },
    });
    forward.portForward(namespace, pod, [port], socket, errors, socket).then(
      (opened) => {
        lastError = undefined;
        // client-node closes the WebSocket when the local side ends, not when it is destroyed.
        const close = () => (typeof opened === 'function' ? opened() : opened)?.close();
        if (socket.destroyed) close();
        else socket.once('close', close);
      },
      (error: unknown) => {
        lastError = describe(error);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('port-forward: no local port');
  return {
    port: address.port,
    lastError: () => lastError,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** ws rejects with an ErrorEvent-like object or an Error; either way keep its message. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message ? message : String(error);
}
