/** Whether a host port is free before kind is asked to bind it (kind's own error names no port). */
import { createServer } from 'node:net';

/** True when nothing listens on the host port (kind binds 0.0.0.0). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}
