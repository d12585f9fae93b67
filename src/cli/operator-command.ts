/** `telemetry-stack operator`: runs the controller from the command line (local development, or the container's entry point). */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { checkNamespaceNames, type Command, defineCommand, UserError } from './command.ts';
import { CLUSTER_FLAGS } from './flags.ts';
import { HttpKubeClient } from '../kube/client.ts';
import { KubeConfigError, loadKubeConfig, podNamespace } from '../kube/kubeconfig.ts';
import { jsonLogger, type Level } from '../operator/log.ts';
import { ClickHousePortForwards } from '../operator/clickhouse-forward.ts';
import { sqlClickHouseLeg } from '../operator/clickhouse-sql.ts';
import { startOperator } from '../operator/operator.ts';

function port(value: string, flag: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) throw new UserError(`operator: ${flag} must be a port number (0 picks a free one), got "${value}"`, 2);
  return parsed;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const operatorCommand: Command = defineCommand({
  name: 'operator',
  summary: 'Run the TelemetryStack controller (reconciles stacks in a cluster)',
  synopsis: ['[options]'],
  description: 'Run the TelemetryStack controller until SIGTERM or SIGINT. Logs are JSON lines on stderr.',
  flags: {
    kubeconfig: { ...CLUSTER_FLAGS.kubeconfig, help: 'Cluster to manage (default: in-cluster service account in a pod, else $KUBECONFIG or ~/.kube/config)' },
    context: CLUSTER_FLAGS.context,
    namespace: {
      type: 'string',
      short: 'n',
      value: 'NS[,NS]',
      help: 'Manage stacks in these namespaces only (default: all namespaces); with namespaced\nRBAC (telemetry-stack synth --install --watch-namespace NS) it must list them',
    },
    'metrics-port': { type: 'string', value: 'PORT', help: 'Serve /metrics, /healthz and /readyz on this port (default $METRICS_PORT, else 8080; 0 picks a free port)' },
    'leader-elect': { type: 'boolean', help: 'Campaign for a Lease so that only one replica reconciles (always on in a pod)' },
    'lease-namespace': { type: 'string', value: 'NS', help: 'Namespace of the Lease (default: the pod\'s namespace, else --namespace, else "default")' },
    'clickhouse-url': {
      type: 'string',
      value: 'URL',
      help: 'Reach ClickHouse here instead of the in-cluster Service (outside the cluster the\ndefault is a port-forward to each stack\'s ClickHouse pod)',
    },
    resync: { type: 'duration', value: 'DURATION', default: '5m', help: 'Re-check every stack this often (default 5m)' },
    'shutdown-timeout': {
      type: 'duration',
      value: 'DURATION',
      default: '20s',
      help: 'On SIGTERM, wait this long for running reconciles to finish before exiting\nanyway (default 20s, inside Kubernetes\' 30 s termination grace period)',
    },
    'log-level': { type: 'string', value: 'LEVEL', choices: LEVELS, default: 'info', help: 'debug, info, warn or error (default info)' },
  },
  async run({ values }, io) {
    const level: Level = values['log-level'];
    const metricsPort = port(values['metrics-port'] ?? io.env.METRICS_PORT ?? '8080', '--metrics-port');
    const resyncMs = values.resync;
    const shutdownMs = values['shutdown-timeout'];
    const namespaces = (values.namespace ?? '').split(',').map((name) => name.trim()).filter(Boolean);
    checkNamespaceNames('--namespace', namespaces);
    if (values['clickhouse-url'] !== undefined && !/^https?:\/\/[^\s]+$/.test(values['clickhouse-url'])) {
      throw new UserError(`--clickhouse-url must be an http(s) URL such as http://127.0.0.1:8123, got "${values['clickhouse-url']}"`, 2);
    }
    let loaded;
    try {
      loaded = loadKubeConfig({ kubeconfig: values.kubeconfig, context: values.context, env: io.env });
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
      resyncMs: Math.max(resyncMs, 1000),
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
      timer = setTimeout(() => resolve('deadline'), shutdownMs);
    });
    const outcome = await Promise.race([operator.stop().then(() => 'stopped' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      log.error('shutdown deadline passed with work still running; exiting anyway', { seconds: shutdownMs / 1000 });
      return 1;
    }
    log.info('stopped');
    return lost ? 1 : 0;
  },
});
