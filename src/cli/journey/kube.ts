/**
 * The CLI's connection to a Kubernetes API server: client-node reads the kubeconfig and
 * supplies credentials, and requests go out as plain JSON over node:https so that
 * server-side apply sends exactly the object we rendered (no typed model dropping
 * fields) and so that the response's Date header is available for the clock-skew check.
 *
 * The kubeconfig is found from the command's own environment by the one loader the operator
 * uses too (src/kube/kubeconfig.ts), never by client-node's loadFromDefault, which silently
 * falls back to http://localhost:8080.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeHttp } from '../../kube/http.ts';
import { KubeConfigError, loadKubeConfig as loadConfig } from '../../kube/kubeconfig.ts';
import { UserError } from '../errors.ts';

export interface KubeResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  /** The API server's clock, from the Date header. */
  readonly serverDate: Date | undefined;
}

export interface RequestOptions {
  readonly body?: unknown;
  readonly contentType?: string;
}

export interface Kube {
  /** API server URL and context name, for messages. */
  readonly server: string;
  readonly context: string;
  /** The namespace the kubeconfig context names, if any. */
  readonly contextNamespace: string | undefined;
  /** The loaded kubeconfig, for client-node features that need it (port-forward). */
  readonly config: KubeConfig;
  /** Any status code is returned; only a failure to reach the server throws (as a UserError). */
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<KubeResponse<T>>;
}

export interface ConnectOptions {
  readonly context?: string | undefined;
  /** Per-request timeout in milliseconds. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * The kubeconfig of a command (src/kube/kubeconfig.ts, the operator's loader too), with the CLI's
 * way out added to its error: a local cluster from `telemetry-stack up`.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv, context?: string): KubeConfig {
  try {
    return loadConfig({ env, context }).config;
  } catch (error) {
    if (!(error instanceof KubeConfigError)) throw error;
    if (error.problem === 'none') {
      throw new UserError(
        `no Kubernetes cluster configured: ${error.message}.\n` +
          `Fix: run "telemetry-stack up" to create a local kind cluster, or point KUBECONFIG at the kubeconfig of an existing cluster and pass --context.`,
      );
    }
    throw new UserError(`${error.message}${error.problem === 'no-context' ? ' (kind clusters are named "kind-<cluster>")' : ''}`);
  }
}

export async function connect(env: NodeJS.ProcessEnv, options: ConnectOptions = {}): Promise<Kube> {
  const config = loadKubeConfig(env, options.context);
  const cluster = config.getCurrentCluster()!;
  const contextName = config.getCurrentContext();
  const contextNamespace = config.getContextObject(contextName)?.namespace;
  const server = cluster.server;
  const base = new URL(server);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  const request = async <T>(method: string, path: string, requestOptions: RequestOptions = {}): Promise<KubeResponse<T>> => {
    let response;
    try {
      response = await kubeHttp(config, base, { method, path, body: requestOptions.body, contentType: requestOptions.contentType, timeoutMs });
    } catch (error) {
      throw unreachable(server, contextName, error as Error);
    }
    let body: unknown = response.text;
    try {
      body = response.text === '' ? undefined : JSON.parse(response.text);
    } catch {
      // Not JSON (a proxy's error page): keep the text for the message.
    }
    const date = response.headers.date ? new Date(response.headers.date) : undefined;
    return { status: response.status, body: body as T, serverDate: date && !Number.isNaN(date.getTime()) ? date : undefined };
  };
  return { server, context: contextName, contextNamespace, config, request };
}

function unreachable(server: string, context: string, error: Error): UserError {
  const code = (error as NodeJS.ErrnoException).code;
  const detail = code ? `${code}: ${error.message}` : error.message;
  const hint =
    code === 'ECONNREFUSED' && /127\.0\.0\.1|localhost|\[::1\]/.test(server)
      ? 'nothing listens there: a kind cluster whose container is stopped? Check "docker ps", start Docker, or run "telemetry-stack up" to (re)create it'
      : 'check that the cluster is running and your network/VPN reaches it, or choose another context with --context';
  return new UserError(`cannot reach the Kubernetes API server at ${server} (context "${context}"): ${detail}.\nFix: ${hint}.`);
}

/** The message a Kubernetes Status body carries, for errors. */
export function statusMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body) return String((body as { message: unknown }).message);
  return typeof body === 'string' ? body.slice(0, 300) : '';
}

/** A failed request as a UserError: the verb, the object, the server's own words and what to do. */
export function requestFailed(kube: Kube, what: string, response: KubeResponse): UserError {
  const message = statusMessage(response.body);
  const fix =
    response.status === 401
      ? 'your kubeconfig credentials were rejected: log in again (e.g. refresh the cloud provider token)'
      : response.status === 403
        ? 'your Kubernetes user lacks permission for this; ask a cluster admin, or use a context that has it'
        : 'see the message above';
  return new UserError(`${what} failed on ${kube.server} (context "${kube.context}"): HTTP ${response.status}${message ? `: ${message}` : ''}.\nFix: ${fix}.`);
}

/** GET that returns undefined for 404 and throws a UserError for any other failure. */
export async function getOptional<T>(kube: Kube, path: string, what: string): Promise<T | undefined> {
  const response = await kube.request<T>('GET', path);
  if (response.status === 404) return undefined;
  if (response.status >= 300) throw requestFailed(kube, `reading ${what}`, response);
  return response.body;
}
