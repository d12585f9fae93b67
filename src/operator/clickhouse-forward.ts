/**
 * How an operator running outside the cluster reaches an in-cluster ClickHouse without
 * --clickhouse-url: a port-forward to the StatefulSet's pod, one per stack, opened on first
 * use and kept while the stack exists (each connection is its own forwarded stream, so a pod
 * restart needs no new forward). When the forward fails, the condition says why.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { TelemetryStack } from '../api/resource.ts';
import { PORTS, stackNames } from '../stack/naming.ts';
import { type ForwardedPort, forwardPort } from '../kube/port-forward.ts';

export interface ClickHouseRoute {
  readonly url: string;
  /** The message for a failed ClickHouse leg over this route. */
  failure(error: Error): string;
}

export interface ClickHouseForwards {
  route(stack: TelemetryStack): Promise<ClickHouseRoute>;
  /** The stack is gone: close its forward. */
  forget(key: string): Promise<void>;
  close(): Promise<void>;
}

export function clickhousePodOf(stack: TelemetryStack): string {
  // The StatefulSet has one replica.
  return `${stackNames(stack.metadata.name).clickhouse}-0`;
}

export class ClickHousePortForwards implements ClickHouseForwards {
  private readonly config: KubeConfig;
  private readonly open = new Map<string, Promise<ForwardedPort>>();

  constructor(config: KubeConfig) {
    this.config = config;
  }

  async route(stack: TelemetryStack): Promise<ClickHouseRoute> {
    const namespace = stack.metadata.namespace!;
    const key = `${namespace}/${stack.metadata.name}`;
    const pod = clickhousePodOf(stack);
    let forward = this.open.get(key);
    if (!forward) {
      forward = forwardPort(this.config, namespace, pod, PORTS.clickhouseHttp);
      this.open.set(key, forward);
      forward.catch(() => this.open.delete(key));
    }
    const opened = await forward;
    return {
      url: `http://127.0.0.1:${opened.port}`,
      failure: (error) =>
        `cannot reach ClickHouse through a port-forward to pod ${namespace}/${pod} port ${PORTS.clickhouseHttp}: ` +
        `${opened.lastError() ?? error.message}. The operator runs outside the cluster: the pod must be Running and Ready, ` +
        'or run the operator with --clickhouse-url URL, or in the cluster',
    };
  }

  async forget(key: string): Promise<void> {
    const forward = this.open.get(key);
    this.open.delete(key);
    await (await forward?.catch(() => undefined))?.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.keys()].map((key) => this.forget(key)));
  }
}
