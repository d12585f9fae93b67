/**
 * A scripted stand-in for the Kubernetes API, for request sequences and error paths only
 * (403s, a Secret that is missing, a skewed clock): everything else runs against the real
 * kube-apiserver harness. Routes are "METHOD /path" -> response; every request is recorded.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeResponse {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Route = FakeResponse | ((request: RecordedRequest) => FakeResponse);

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeApiServer {
  url: string;
  kubeconfig: string;
  requests: RecordedRequest[];
  routes: Map<string, Route>;
  close(): Promise<void>;
}

export function kubeconfigFor(server: string, context = 'fake', namespace?: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tstack-kubeconfig-')), 'config');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: context, cluster: { server, ...(server.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}) } }],
      users: [{ name: context, user: { token: 'test-token' } }],
      contexts: [{ name: context, context: { cluster: context, user: context, ...(namespace ? { namespace } : {}) } }],
      'current-context': context,
    }),
  );
  return file;
}

export async function startFakeApiServer(routes: Record<string, Route> = {}): Promise<FakeApiServer> {
  const table = new Map(Object.entries(routes));
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const recorded = { method: req.method ?? 'GET', path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(recorded);
      const route = table.get(`${recorded.method} ${path}`);
      const response: FakeResponse = route === undefined
        ? { status: 404, body: { kind: 'Status', status: 'Failure', reason: 'NotFound', message: `${path} not found`, code: 404 } }
        : typeof route === 'function' ? route(recorded) : route;
      res.writeHead(response.status ?? 200, { 'Content-Type': 'application/json', ...response.headers });
      res.end(response.body === undefined ? '' : JSON.stringify(response.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    kubeconfig: kubeconfigFor(url),
    requests,
    routes: table,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
