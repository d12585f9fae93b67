/**
 * Where the operator finds its cluster: an explicit --kubeconfig, the pod's service account
 * when it runs in a pod, $KUBECONFIG, or ~/.kube/config; otherwise a clear error.
 * KubeConfig.loadFromDefault() is not used: with nothing found it silently points at
 * http://localhost:8080.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** No usable configuration: the message says what was tried and what to do. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadedConfig {
  readonly config: KubeConfig;
  readonly inCluster: boolean;
  /** Where it came from, for the startup log line. */
  readonly source: string;
}

export function loadKubeConfig(options: { kubeconfig?: string | undefined; env: NodeJS.ProcessEnv; serviceAccountDir?: string; home?: string }): LoadedConfig {
  const config = new KubeConfig();
  const fromFile = (file: string, source: string): LoadedConfig => {
    if (!existsSync(file)) throw new KubeConfigError(`kubeconfig file ${file} (${source}) does not exist; pass --kubeconfig with an existing file`);
    try {
      config.loadFromFile(file);
    } catch (error) {
      throw new KubeConfigError(`kubeconfig file ${file} (${source}) cannot be read: ${(error as Error).message}`);
    }
    if (!config.getCurrentCluster()) {
      throw new KubeConfigError(`kubeconfig file ${file} (${source}) has no current context with a cluster; set current-context (kubectl config use-context NAME)`);
    }
    return { config, inCluster: false, source: `${source} ${file}` };
  };
  if (options.kubeconfig) return fromFile(options.kubeconfig, '--kubeconfig');
  const accountDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (options.env.KUBERNETES_SERVICE_HOST && existsSync(join(accountDir, 'token'))) {
    config.loadFromCluster();
    return { config, inCluster: true, source: 'in-cluster service account' };
  }
  const fromEnv = options.env.KUBECONFIG?.split(delimiter).find((file) => file !== '');
  if (fromEnv) return fromFile(fromEnv, '$KUBECONFIG');
  const home = join(options.home ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFile(home, 'default');
  throw new KubeConfigError(
    'no Kubernetes configuration found: not running in a pod (KUBERNETES_SERVICE_HOST unset or no service account token), $KUBECONFIG unset, and no ~/.kube/config; pass --kubeconfig FILE',
  );
}

/** The namespace the operator's own pod runs in (for its Lease), when in a pod. */
export function podNamespace(env: NodeJS.ProcessEnv, serviceAccountDir = SERVICE_ACCOUNT_DIR): string | undefined {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  const file = join(serviceAccountDir, 'namespace');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}
