/**
 * The CLI's side of the one Kubernetes client (src/kube/client.ts): it connects with the one
 * kubeconfig loader (src/kube/kubeconfig.ts; --kubeconfig, $KUBECONFIG, ~/.kube/config, never
 * client-node's silent localhost:8080) and turns the client's errors (KubeApiError) into
 * one-line user messages with the fix: a cluster that does not answer, rejected credentials,
 * a missing permission, an object the API server refused.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { HttpKubeClient, KubeApiError, type Method, type RequestOptions } from '../../kube/client.ts';
import { KubeConfigError, loadKubeConfig as loadConfig } from '../../kube/kubeconfig.ts';
import { UserError } from '../framework/io.ts';

/** An answer as a status and body, for the checks that branch on 403 or 404 rather than fail. */
export interface KubeResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export interface Kube {
  /** The one client: every request goes through it. */
  readonly client: HttpKubeClient;
  /** API server URL and context name, for messages. */
  readonly server: string;
  readonly context: string;
  /** The namespace the kubeconfig context names, if any. */
  readonly contextNamespace: string | undefined;
  /** The loaded kubeconfig, for client-node features that need it (port-forward). */
  readonly config: KubeConfig;
  /** The client's request with an HTTP failure returned as its status; only a server that does not answer throws (a UserError). */
  request<T = unknown>(method: Method, path: string, options?: RequestOptions): Promise<KubeResponse<T>>;
}

export interface ConnectOptions {
  /** An explicit kubeconfig file (--kubeconfig), used alone. */
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  /** Per-request timeout in milliseconds. */
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * The kubeconfig of a command (src/kube/kubeconfig.ts, the operator's loader too), with the CLI's
 * way out added to its error: a local cluster from `telemetry-stack up`.
 */
export function loadKubeConfig(env: NodeJS.ProcessEnv, context?: string, kubeconfig?: string): KubeConfig {
  try {
    return loadConfig({ env, context, kubeconfig }).config;
  } catch (error) {
    if (!(error instanceof KubeConfigError)) throw error;
    // A file the user named is its own fix; only a search that found nothing needs the way out.
    if (error.problem === 'none' && kubeconfig === undefined) {
      throw new UserError(
        `no Kubernetes cluster configured: ${error.message}.\n` +
          `Fix: run "telemetry-stack up" to create a local kind cluster, or pass --kubeconfig FILE (or set KUBECONFIG) and --context.`,
      );
    }
    throw new UserError(`${error.message}${error.problem === 'no-context' ? ' (kind clusters are named "kind-<cluster>")' : ''}`);
  }
}

export async function connect(env: NodeJS.ProcessEnv, options: ConnectOptions = {}): Promise<Kube> {
  const config = loadKubeConfig(env, options.context, options.kubeconfig);
  const client = new HttpKubeClient(config, { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  const contextName = config.getCurrentContext();
  const kube: Kube = {
    client,
    server: config.getCurrentCluster()!.server,
    context: contextName,
    contextNamespace: config.getContextObject(contextName)?.namespace,
    config,
    async request<T>(method: Method, path: string, requestOptions: RequestOptions = {}): Promise<KubeResponse<T>> {
      try {
        return { status: 200, body: await client.request<T>(method, path, requestOptions) };
      } catch (error) {
        if (!(error instanceof KubeApiError) || error.status === 0) throw explain(kube, `${method} ${path}`, error);
        return { status: error.status, body: { reason: error.reason, message: error.message } as T };
      }
    },
  };
  return kube;
}

/** The message a Kubernetes Status body carries, for errors. */
export function statusMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && 'message' in body) return String((body as { message: unknown }).message);
  return typeof body === 'string' ? body.slice(0, 300) : '';
}

/**
 * A failed call as a UserError: what was being done, the server's own words and the fix.
 * Anything that is not a KubeApiError is not the user's to fix and is thrown as it is.
 */
export function explain(kube: Pick<Kube, 'server' | 'context'>, what: string, error: unknown): Error {
  if (error instanceof UserError || !(error instanceof KubeApiError)) return error as Error;
  if (error.status === 0) {
    const refusedLocally = error.message.includes('ECONNREFUSED') && /127\.0\.0\.1|localhost|\[::1\]/.test(kube.server);
    const fix = refusedLocally
      ? 'nothing listens there: a kind cluster whose container is stopped? Check "docker ps", start Docker, or run "telemetry-stack up" to (re)create it'
      : 'check that the cluster is running and your network/VPN reaches it, or choose another context with --context';
    return new UserError(`cannot reach the Kubernetes API server at ${kube.server} (context "${kube.context}"): ${error.message.replace(/^\S+ \S+ at \S+: /, '')}.\nFix: ${fix}.`);
  }
  return requestFailed(kube, what, { status: error.status, body: { message: error.message.replace(/^\d+ \w+: /, '') } });
}

/** A failed request as a UserError: the verb, the object, the server's own words and what to do. */
export function requestFailed(kube: Pick<Kube, 'server' | 'context'>, what: string, response: KubeResponse): UserError {
  const message = statusMessage(response.body).replace(/^\d+ \w+: /, '');
  const fix =
    response.status === 401
      ? 'your kubeconfig credentials were rejected: log in again (e.g. refresh the cloud provider token)'
      : response.status === 403
        ? 'your Kubernetes user lacks permission for this; ask a cluster admin, or use a context that has it'
        : response.status === 400 || response.status === 422
          ? 'correct the field named above and run the command again'
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
