/**
 * Where the operator and the CLI find their cluster: one loader, in controller-runtime's order
 * (config.GetConfig): an explicit --kubeconfig file; the files $KUBECONFIG lists, merged as
 * kubectl merges them (the first file to set a name wins); the pod's service account when it
 * runs in a pod; ~/.kube/config. Otherwise a clear error. client-node's loadFromDefault() is
 * never used: with nothing found it silently points at http://localhost:8080.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * No usable configuration. `problem` says which, so a caller can add its own way out (the CLI
 * suggests `telemetry-stack up`); the message already names what was tried and how to fix it.
 */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
  readonly problem: 'none' | 'unreadable' | 'no-context' | 'no-current-context';
  constructor(problem: KubeConfigError['problem'], message: string) {
    super(message);
    this.problem = problem;
  }
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadedConfig {
  readonly config: KubeConfig;
  readonly inCluster: boolean;
  /** Where it came from, for a startup log line. */
  readonly source: string;
  /** The same for a message: "FILE ($KUBECONFIG)". */
  readonly where: string;
}

export interface LoadOptions {
  /** An explicit file (--kubeconfig): used alone. */
  readonly kubeconfig?: string | undefined;
  /** A context to use instead of the file's current-context (--context). */
  readonly context?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly serviceAccountDir?: string;
  readonly home?: string;
}

export function loadKubeConfig(options: LoadOptions): LoadedConfig {
  const loaded = findConfig(options);
  const { config } = loaded;
  if (options.context !== undefined) {
    if (!config.getContextObject(options.context)) {
      const known = config.getContexts().map((context) => context.name);
      throw new KubeConfigError(
        'no-context',
        `kubeconfig has no context "${options.context}"; known contexts: ${known.length > 0 ? known.join(', ') : '(none)'}; pass one of those with --context`,
      );
    }
    config.setCurrentContext(options.context);
  }
  if (!config.getCurrentCluster()) {
    throw new KubeConfigError(
      'no-current-context',
      `kubeconfig ${loaded.where} has no current context with a cluster; set current-context (kubectl config use-context NAME) or pass --context NAME`,
    );
  }
  return loaded;
}

function findConfig(options: LoadOptions): LoadedConfig {
  if (options.kubeconfig) return fromFiles([options.kubeconfig], '--kubeconfig');
  const listed = (options.env.KUBECONFIG ?? '').split(delimiter).filter((file) => file !== '');
  if (listed.length > 0) {
    // As kubectl: files of the list that do not exist are skipped; none existing is an error.
    const existing = listed.filter((file) => existsSync(file));
    if (existing.length === 0) throw new KubeConfigError('none', `$KUBECONFIG (${listed.join(delimiter)}) names no existing file; point it at a kubeconfig file`);
    return fromFiles(existing, '$KUBECONFIG');
  }
  const accountDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (options.env.KUBERNETES_SERVICE_HOST && existsSync(join(accountDir, 'token'))) return inCluster(options.env, accountDir);
  const home = join(options.home ?? options.env.HOME ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFiles([home], 'default');
  throw new KubeConfigError(
    'none',
    'no Kubernetes configuration found: --kubeconfig not given, $KUBECONFIG unset, not running in a pod (KUBERNETES_SERVICE_HOST unset or no service account token), and no ~/.kube/config',
  );
}

/**
 * The pod's service account, as client-node's loadFromCluster builds it, but from the given
 * environment and directory (loadFromCluster reads process.env and a fixed path): the API
 * server's Service address, its CA, and a token file re-read as the kubelet rotates it.
 */
function inCluster(env: NodeJS.ProcessEnv, accountDir: string): LoadedConfig {
  const host = env.KUBERNETES_SERVICE_HOST!;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const namespaceFile = join(accountDir, 'namespace');
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'inCluster', server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}`, caFile: join(accountDir, 'ca.crt'), skipTLSVerify: false }],
    users: [{ name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: join(accountDir, 'token') } } }],
    contexts: [{ name: 'inClusterContext', cluster: 'inCluster', user: 'inClusterUser', ...(existsSync(namespaceFile) ? { namespace: readFileSync(namespaceFile, 'utf8').trim() } : {}) }],
    currentContext: 'inClusterContext',
  });
  return { config, inCluster: true, source: 'in-cluster service account', where: 'of the in-cluster service account' };
}

/**
 * The files merged in order, as kubectl merges a $KUBECONFIG list: the first file to define a
 * cluster, user or context name keeps it, and the first current-context set wins. (client-node's
 * mergeConfig throws on a repeated name instead.)
 */
function fromFiles(files: readonly string[], source: string): LoadedConfig {
  const parts = files.map((file) => {
    if (!existsSync(file)) throw new KubeConfigError('none', `kubeconfig file ${file} (${source}) does not exist; pass an existing file`);
    const part = new KubeConfig();
    try {
      part.loadFromFile(file);
    } catch (error) {
      throw new KubeConfigError('unreadable', `kubeconfig file ${file} (${source}) cannot be read: ${(error as Error).message.split('\n')[0]}; fix the file or point ${source} at another one`);
    }
    return part;
  });
  const firstByName = <T extends { name: string }>(lists: T[][]): T[] => {
    const kept = new Map<string, T>();
    for (const item of lists.flat()) if (!kept.has(item.name)) kept.set(item.name, item);
    return [...kept.values()];
  };
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: firstByName(parts.map((part) => part.clusters)),
    users: firstByName(parts.map((part) => part.users)),
    contexts: firstByName(parts.map((part) => part.contexts)),
    currentContext: parts.map((part) => part.currentContext).find((name) => name !== undefined && name !== '') ?? '',
  });
  return { config, inCluster: false, source: `${source} ${files.join(delimiter)}`, where: `${files.join(delimiter)} (${source})` };
}

/** The namespace the operator's own pod runs in (for its Lease), when in a pod. */
export function podNamespace(env: NodeJS.ProcessEnv, serviceAccountDir = SERVICE_ACCOUNT_DIR): string | undefined {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  const file = join(serviceAccountDir, 'namespace');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}
