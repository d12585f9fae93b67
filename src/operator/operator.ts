/**
 * The operator process: HTTP endpoints (/metrics, /healthz, /readyz), leader election, and
 * the controller that runs while this replica leads. stop() shuts down in order: stop taking
 * work, let running reconciles finish, release the Lease, close the server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClickHouseForwards } from './clickhouse-forward.ts';
import type { ClickHouseLeg } from './clickhouse-leg.ts';
import { Controller } from './controller.ts';
import type { KubeClient } from '../kube/client.ts';
import { LeaderElector } from './leader.ts';
import type { Logger } from './log.ts';
import { OperatorMetrics } from './metrics.ts';
import type { BackoffPolicy } from './queue.ts';

export const LEASE_NAME = 'telemetry-stack-operator';

export interface OperatorOptions {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly inCluster: boolean;
  /** The namespace the operator's pods run in, when in a pod (the ClickHouse NetworkPolicy admits it from there). */
  readonly operatorNamespace?: string;
  /** Only these namespaces; unset or empty: all. */
  readonly namespaces?: readonly string[];
  /** Port of /metrics, /healthz, /readyz; 0 picks a free one; undefined serves nothing. */
  readonly metricsPort?: number;
  readonly metricsHost?: string;
  readonly leaderElection?: { readonly namespace: string; readonly identity: string; readonly leaseDurationMs?: number; readonly retryMs?: number; readonly renewDeadlineMs?: number };
  readonly clickhouse?: ClickHouseLeg;
  readonly clickhouseUrl?: string;
  /** Port-forwards to in-cluster ClickHouse pods when outside the cluster without clickhouseUrl; closed by stop(). */
  readonly clickhouseForwards?: ClickHouseForwards;
  readonly resyncMs?: number;
  readonly watchSilenceMs?: number;
  readonly concurrency?: number;
  readonly backoff?: BackoffPolicy;
  /** An unchanged ClickHouse leg runs again after this long (clickhouse-memo.ts); 0 runs it on every reconcile. */
  readonly clickhouseRecheckMs?: number;
  /** Called when this replica loses the Lease; the process should exit (a fresh start re-campaigns cleanly). */
  readonly onLostLeadership?: () => void;
}

export interface RunningOperator {
  readonly controller: Controller;
  readonly metrics: OperatorMetrics;
  readonly elector: LeaderElector | undefined;
  /** Port the HTTP endpoints listen on (when served). */
  readonly port: number | undefined;
  isLeader(): boolean;
  stop(): Promise<void>;
}

export async function startOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { log } = options;
  const metrics = new OperatorMetrics();
  const controller = new Controller({
    client: options.client,
    log,
    metrics,
    inCluster: options.inCluster,
    ...(options.operatorNamespace ? { operatorNamespace: options.operatorNamespace } : {}),
    ...(options.namespaces?.length ? { namespaces: options.namespaces } : {}),
    ...(options.clickhouse ? { clickhouse: options.clickhouse } : {}),
    ...(options.clickhouseUrl ? { clickhouseUrl: options.clickhouseUrl } : {}),
    ...(options.clickhouseForwards ? { clickhouseForwards: options.clickhouseForwards } : {}),
    ...(options.resyncMs ? { resyncMs: options.resyncMs } : {}),
    ...(options.watchSilenceMs ? { watchSilenceMs: options.watchSilenceMs } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.clickhouseRecheckMs !== undefined ? { clickhouseRecheckMs: options.clickhouseRecheckMs } : {}),
  });
  const election = options.leaderElection;
  const elector = election
    ? new LeaderElector({ client: options.client, log, name: LEASE_NAME, ...election })
    : undefined;
  const isLeader = () => (elector ? elector.isLeader : true);
  metrics.isLeader = isLeader;

  let server: Server | undefined;
  let port: number | undefined;
  if (options.metricsPort !== undefined) {
    server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/metrics') {
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metrics.render());
      } else if (path === '/healthz') {
        response.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      } else if (path === '/readyz') {
        // A standby is ready (it is healthy and waiting); a leader once its watches have listed.
        const ready = !isLeader() || controller.synced;
        response.writeHead(ready ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ready ? 'ok\n' : 'watches not synced\n');
      } else {
        response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(options.metricsPort, options.metricsHost ?? '0.0.0.0', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    log.info('serving metrics and health', { port });
  }

  const startController = () =>
    controller.start().catch((error: unknown) => log.error('controller failed to start', { error: (error as Error).message }));
  if (elector) {
    elector.run({
      onStartedLeading: () => void startController(),
      onStoppedLeading: () => {
        void controller.stop();
        options.onLostLeadership?.();
      },
    });
  } else {
    await startController();
  }

  return {
    controller,
    metrics,
    elector,
    port,
    isLeader,
    async stop() {
      log.info('shutting down');
      await controller.stop();
      await options.clickhouseForwards?.close();
      await elector?.stop();
      if (server) {
        const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeAllConnections();
        await closed;
      }
    },
  };
}
