/** `telemetry-stack operator`: runs the controller from the command line (local development, or the container's entry point). */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Command } from './command.ts';
import { checkNamespaceNames, parseCommandArgs } from './command.ts';
import { UserError } from './errors.ts';
import { HttpKubeClient } from '../kube/client.ts';
import { KubeConfigError, loadKubeConfig, podNamespace } from '../kube/kubeconfig.ts';
import { jsonLogger, type Level } from '../operator/log.ts';
import { ClickHousePortForwards } from '../operator/clickhouse-forward.ts';
import { sqlClickHouseLeg } from '../operator/clickhouse-sql.ts';
import { startOperator } from '../operator/operator.ts';

const USAGE = `Usage: telemetry-stack operator [options]

Run the TelemetryStack controller until SIGTERM or SIGINT. Logs are JSON lines on stderr.

Options:
      --kubeconfig FILE      Cluster to manage (default: in-cluster service account in a pod, else $KUBECONFIG or ~/.kube/config)
  -n, --namespace NS[,NS]    Manage stacks in these namespaces only (default: all namespaces); with namespaced
                             RBAC (telemetry-stack synth --install --watch-namespace NS) it must list them
      --metrics-port PORT    Serve /metrics, /healthz and /readyz on this port (default $METRICS_PORT, else 8080; 0 picks a free port)
      --leader-elect         Campaign for a Lease so that only one replica reconciles (always on in a pod)
      --lease-namespace NS   Namespace of the Lease (default: the pod's namespace, else --namespace, else "default")
      --clickhouse-url URL   Reach ClickHouse here instead of the in-cluster Service (outside the cluster the
                             default is a port-forward to each stack's ClickHouse pod)
      --resync SECONDS       Re-check every stack this often (default 300)
      --shutdown-timeout SECONDS
                             On SIGTERM, wait this long for running reconciles to finish before exiting
                             anyway (default 20, inside Kubernetes' 30 s termination grace period)
      --log-level LEVEL      debug, info, warn or error (default info)
`;

function integer(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new UserError(`${flag} must be a non-negative integer, got "${value}"\n\n${USAGE}`, 2);
  return parsed;
}

export const operatorCommand: Command = {
  name: 'operator',
  summary: 'Run the TelemetryStack controller (reconciles stacks in a cluster)',
  usage: USAGE,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        'metrics-port': { type: 'string' },
        'leader-elect': { type: 'boolean', default: false },
        'lease-namespace': { type: 'string' },
        'clickhouse-url': { type: 'string' },
        resync: { type: 'string' },
        'shutdown-timeout': { type: 'string' },
        'log-level': { type: 'string' },
      },
      USAGE,
    );
    const level = (values['log-level'] ?? 'info') as Level;
    if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new UserError(`--log-level must be debug, info, warn or error, got "${level}"`, 2);
    const metricsPort = integer(values['metrics-port'] ?? io.env.METRICS_PORT, '--metrics-port', 8080);
    const resyncSeconds = integer(values.resync, '--resync', 300);
    const shutdownSeconds = integer(values['shutdown-timeout'], '--shutdown-timeout', 20);
    const namespaces = (values.namespace ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    checkNamespaceNames('--namespace', namespaces);
    if (values['clickhouse-url'] !== undefined && !/^https?:\/\/[^\s]+$/.test(values['clickhouse-url'])) {
      throw new UserError(`--clickhouse-url must be an http(s) URL such as http://127.0.0.1:8123, got "${values['clickhouse-url']}"`, 2);
    }
    let loaded;
    try {
      loaded = loadKubeConfig({ kubeconfig: values.kubeconfig, env: io.env });
    } catch (error) {
      if (error instanceof KubeConfigError) throw new UserError(error.message);
      throw error;
    }
    const log = jsonLogger((line) => io.stderr.write(line), { level, fields: { component: 'operator' } });
    log.info('starting', { config: loaded.source, namespaces: namespaces.length > 0 ? namespaces.join(',') : '(all)' });
    const identity = `${io.env.POD_NAME ?? hostname()}_${randomBytes(4).toString('hex')}`;
    // Replicas of the installed Deployment must never reconcile side by side.
    const leaderElect = values['leader-elect'] === true || loaded.inCluster;
    let lost = false;
    const operator = await startOperator({
      client: new HttpKubeClient(loaded.config),
      log,
      inCluster: loaded.inCluster,
      // Outside the cluster it reaches ClickHouse through a port-forward, which no NetworkPolicy filters.
      ...(loaded.inCluster && podNamespace(io.env) ? { operatorNamespace: podNamespace(io.env)! } : {}),
      metricsPort,
      resyncMs: Math.max(resyncSeconds, 1) * 1000,
      ...(namespaces.length > 0 ? { namespaces } : {}),
      ...(values['clickhouse-url'] ? { clickhouseUrl: values['clickhouse-url'] } : {}),
      ...(!values['clickhouse-url'] && !loaded.inCluster ? { clickhouseForwards: new ClickHousePortForwards(loaded.config) } : {}),
      clickhouse: sqlClickHouseLeg(),
      ...(leaderElect
        ? { leaderElection: { namespace: values['lease-namespace'] ?? podNamespace(io.env) ?? namespaces[0] ?? 'default', identity } }
        : {}),
      onLostLeadership: () => {
        lost = true;
        process.kill(process.pid, 'SIGTERM');
      },
    });
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log.info('received signal', { signal });
    // A reconcile stuck on an unresponsive ClickHouse or API server must not keep a terminating pod
    // alive until the kubelet's SIGKILL. Past the deadline the Lease is not released: a standby waits
    // for it to expire, so no two replicas ever reconcile side by side.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), shutdownSeconds * 1000);
    });
    const outcome = await Promise.race([operator.stop().then(() => 'stopped' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      log.error('shutdown deadline passed with work still running; exiting anyway', { seconds: shutdownSeconds });
      return 1;
    }
    log.info('stopped');
    return lost ? 1 : 0;
  },
};
