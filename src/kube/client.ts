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

/** Server-side apply's content type: JSON is YAML, so the object goes as it is. */
export const APPLY_PATCH = 'application/apply-patch+yaml';

export interface ApplyOptions {
  readonly fieldManager: string;
  /** Take over fields another manager holds (the CLI always; the operator only over an object it read as its own). */
  readonly force: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Server-side apply of `body` at `path`: the one way the operator and the CLI write an object,
 * sent exactly as rendered under one field manager each.
 */
export function serverSideApply<T = KubeObject>(client: KubeClient, path: string, body: unknown, options: ApplyOptions): Promise<T> {
  return client.request<T>('PATCH', path, {
    body,
    contentType: APPLY_PATCH,
    query: { fieldManager: options.fieldManager, force: options.force },
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export interface ServerVersion {
  readonly gitVersion: string;
  /** The API server's clock, from the Date header of the answer (for a clock-skew check). */
  readonly serverDate: Date | undefined;
}

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

/** No answer at all (refused, DNS, TLS, timeout): status 0, with the transport's error code kept for messages. */
function unreachable(method: string, path: string, server: URL, error: unknown): KubeApiError {
  const code = (error as NodeJS.ErrnoException).code;
  return new KubeApiError(0, 'Unreachable', `${method} ${path} at ${server.origin}: ${code ? `${code}: ` : ''}${(error as Error).message}`);
}

export class HttpKubeClient implements KubeClient {
  private readonly config: KubeConfig;
  readonly server: URL;
  /** Every request made, for tests and benchmarks that count writes (bounded). */
  readonly log: RequestRecord[] = [];
  recordRequests = false;

  private readonly timeoutMs: number;

  /** `timeoutMs`: a request with no answer by then fails (default 30 s: a hung request must not hold a reconcile forever). */
  constructor(config: KubeConfig, options: { timeoutMs?: number } = {}) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.config = config;
    this.server = new URL(cluster.server);
    this.timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  }

  /** GET /version: the server's version and, from the answer's Date header, its clock. */
  async version(): Promise<ServerVersion> {
    let response;
    try {
      response = await kubeHttp(this.config, this.server, { method: 'GET', path: '/version', timeoutMs: this.timeoutMs });
    } catch (error) {
      throw unreachable('GET', '/version', this.server, error);
    }
    if (response.status < 200 || response.status >= 300) throw errorFrom(response.status, response.text, undefined);
    const date = response.headers.date ? new Date(response.headers.date) : undefined;
    const body = (response.text ? JSON.parse(response.text) : {}) as { gitVersion?: string };
    return { gitVersion: body.gitVersion ?? 'unknown', serverDate: date && !Number.isNaN(date.getTime()) ? date : undefined };
  }

  async request<T = KubeObject>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const target = withQuery(path, options.query);
    let response;
    try {
      response = await kubeHttp(this.config, this.server, { method, path: target, body: options.body, contentType: options.contentType, timeoutMs: this.timeoutMs, signal: options.signal });
    } catch (error) {
      throw unreachable(method, path, this.server, error);
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
