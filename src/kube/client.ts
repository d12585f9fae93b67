/**
 * A small JSON client for the Kubernetes API. Objects go over the wire as plain JSON,
 * never through client-node's typed models (which pick a model by kind and version,
 * ignore the group, and drop fields they do not know: fatal for server-side apply).
 * client-node's KubeConfig supplies the server, TLS material and credentials.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeHttp, openKubeRequest } from './http.ts';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [field: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

/** A failed API call. `status` 0 means the server was not reached. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly retryAfterSeconds: number | undefined;
  constructor(status: number, reason: string, message: string, retryAfterSeconds?: number) {
    super(message);
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const isNotFound = (error: unknown) => error instanceof KubeApiError && error.status === 404;
export const isConflict = (error: unknown) => error instanceof KubeApiError && error.status === 409;
export const isGone = (error: unknown) => error instanceof KubeApiError && error.status === 410;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RequestRecord {
  readonly method: Method;
  readonly path: string;
  readonly status: number;
}

/** The API surface the operator uses; the tests wrap it to count writes. */
export interface KubeClient {
  request<T = KubeObject>(method: Method, path: string, options?: RequestOptions): Promise<T>;
  /** Streams a watch; resolves when the server closes it, rejects on transport or HTTP errors. */
  watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (event: WatchEvent) => void, signal: AbortSignal): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 30_000;

export const MUTATING: ReadonlySet<Method> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function withQuery(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}${path.includes('?') ? '&' : '?'}${text}` : path;
}

function errorFrom(status: number, text: string, retryAfter: string | undefined): KubeApiError {
  let reason = 'Unknown';
  let message = text.slice(0, 2_000);
  try {
    const body = JSON.parse(text) as { reason?: string; message?: string };
    reason = body.reason ?? reason;
    message = body.message ?? message;
  } catch {
    // not a Status object
  }
  const seconds = retryAfter !== undefined ? Number(retryAfter) : undefined;
  return new KubeApiError(status, reason, `${status} ${reason}: ${message}`, Number.isFinite(seconds) ? seconds : undefined);
}

export class HttpKubeClient implements KubeClient {
  private readonly config: KubeConfig;
  readonly server: URL;
  /** Every request made, for tests and benchmarks that count writes (bounded). */
  readonly log: RequestRecord[] = [];
  recordRequests = false;

  constructor(config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.config = config;
    this.server = new URL(cluster.server);
  }

  async request<T = KubeObject>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const target = withQuery(path, options.query);
    let response;
    try {
      // A request that hangs must not hold a reconcile (and its key) forever.
      response = await kubeHttp(this.config, this.server, { method, path: target, body: options.body, contentType: options.contentType, timeoutMs: REQUEST_TIMEOUT_MS, signal: options.signal });
    } catch (error) {
      throw new KubeApiError(0, 'Unreachable', `${method} ${path} at ${this.server.origin}: ${(error as Error).message}`);
    }
    const { status, text } = response;
    const retry = response.headers['retry-after'];
    if (this.recordRequests && this.log.length < 1_000_000) this.log.push({ method, path: target, status });
    if (status < 200 || status >= 300) throw errorFrom(status, text, typeof retry === 'string' ? retry : undefined);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const request = await openKubeRequest(this.config, this.server, 'GET', withQuery(path, { ...query, watch: true }), { Accept: 'application/json' }, signal);
    await new Promise<void>((resolve, reject) => {
      request.on('response', (response) => {
        if (response.statusCode !== 200) {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => reject(errorFrom(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), undefined)));
          return;
        }
        let buffered = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffered += chunk;
          let newline = buffered.indexOf('\n');
          while (newline !== -1) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) onEvent(JSON.parse(line) as WatchEvent);
            newline = buffered.indexOf('\n');
          }
        });
        // Aborting (watchdog, 410, shutdown) is the caller's way to end a watch: not an error.
        const failed = (error: Error) => (signal.aborted ? resolve() : reject(new KubeApiError(0, 'Aborted', `watch ${path}: ${error.message}`)));
        response.on('end', () => resolve());
        response.on('error', failed);
        response.on('aborted', () => failed(new Error('connection aborted')));
      });
      request.on('error', (error) => {
        if (signal.aborted) resolve();
        else reject(new KubeApiError(0, 'Unreachable', `watch ${path}: ${error.message}`));
      });
      request.end();
    });
  }
}
