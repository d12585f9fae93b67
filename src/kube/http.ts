/**
 * One Kubernetes API round trip as plain JSON over node:http(s), with client-node's KubeConfig
 * supplying the TLS material and credentials. Objects never go through client-node's typed
 * models (which pick a model by kind and version, ignore the group, and drop fields they do
 * not know: fatal for server-side apply). The operator's client and the CLI's connection both
 * build on it; each decides what a status code means to its callers.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubeHttpRequest {
  readonly method: string;
  /** Path and query below the server URL, e.g. /api/v1/namespaces?limit=1. */
  readonly path: string;
  readonly body?: unknown;
  readonly contentType?: string;
  /** A request that gets no answer within this many milliseconds fails (it must not hang a caller forever). */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export interface KubeHttpResponse {
  readonly status: number;
  readonly text: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** The URL of `path` on the server, keeping a path prefix in the server URL (API proxies). */
export function apiUrl(server: URL, path: string): URL {
  return new URL(server.pathname.replace(/\/$/, '') + path, server);
}

/** Opens a request with the kubeconfig's credentials applied; the caller writes and ends it. */
export async function openKubeRequest(config: KubeConfig, server: URL, method: string, path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<http.ClientRequest> {
  const options: https.RequestOptions = { method, headers: { ...headers } };
  await config.applyToHTTPSOptions(options);
  const transport = server.protocol === 'http:' ? http : https;
  return transport.request(apiUrl(server, path), { ...options, headers: { ...headers, ...(options.headers as Record<string, string>) }, ...(signal ? { signal } : {}) });
}

/** Sends one request and reads the whole answer. Rejects only when there is no answer (network, timeout, abort). */
export async function kubeHttp(config: KubeConfig, server: URL, request: KubeHttpRequest): Promise<KubeHttpResponse> {
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (payload !== undefined) {
    headers['Content-Type'] = request.contentType ?? 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(payload));
  }
  const req = await openKubeRequest(config, server, request.method, request.path, headers, request.signal);
  return new Promise<KubeHttpResponse>((resolve, reject) => {
    req.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: response.headers }));
      response.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(request.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${request.timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
    req.end(payload);
  });
}
