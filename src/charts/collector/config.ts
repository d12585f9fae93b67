/**
 * The collector configuration for a stack, as a plain object (rendered to YAML in the
 * ConfigMap, and hashed onto the pod template so a change rolls the pods).
 *
 * Pipeline order matters and is fixed here:
 *   otlp (basic auth) -> memory_limiter -> level filter -> sanitizer -> attributes/identity
 *   (stamp the authenticated user: after the sanitizer, so no rule can rewrite or drop the
 *   identity, and before any batching, which drops the auth context) -> exporters, which
 *   batch inside a persistent sending queue (so batching happens after the data is on
 *   disk, not in memory before it).
 */
import type { TelemetryStack } from '../../api/resource.ts';
import { MiB, parseQuantity } from '../../api/quantity.ts';
import { RAW_TABLES } from '../../clickhouse/tables.ts';
import { levelProcessors, sanitizerProcessor } from '../../sanitizer/compile.ts';
import { IDENTITY_ATTRIBUTE } from '../../sanitizer/fields.ts';
import { PORTS, stackNames } from '../naming.ts';

/** Attribute that carries the authenticated user on every log record and data point. */
export { IDENTITY_ATTRIBUTE };
export const ANONYMOUS_USER = 'anonymous';

/** Paths inside the collector container. */
export const COLLECTOR_PATHS = {
  configDir: '/etc/otelcol',
  configFile: '/etc/otelcol/config.yaml',
  htpasswdDir: '/etc/otelcol/auth',
  htpasswdFile: '/etc/otelcol/auth/htpasswd',
  queueDir: '/var/lib/otelcol/queue',
} as const;

/** Environment variables the collector reads secrets from (set from Secrets, never written into the config). */
export const COLLECTOR_ENV = {
  clickhouseUsername: 'CLICKHOUSE_USERNAME',
  clickhousePassword: 'CLICKHOUSE_PASSWORD',
  upstreamAuthorization: 'UPSTREAM_AUTHORIZATION',
} as const;

export const PROCESSOR_IDS = {
  memoryLimiter: 'memory_limiter',
  identity: 'attributes/identity',
  sanitizer: 'transform/sanitize',
} as const;

const AUTHENTICATOR = 'basicauth/ingest';
const QUEUE_STORAGE = 'file_storage/queue';
const CLICKHOUSE_EXPORTER = 'clickhouse';

const env = (name: string) => `\${env:${name}}`;

function memoryLimiter(stack: TelemetryStack): Record<string, unknown> {
  const limit = stack.spec.collector.resources.limits.memory;
  const bytes = limit === undefined ? undefined : parseQuantity(limit);
  // With a container limit we size the limiter from it (80 % hard, 20 % spike headroom);
  // without one the limiter falls back to a share of the memory it can see.
  if (bytes === undefined) return { check_interval: '1s', limit_percentage: 80, spike_limit_percentage: 20 };
  return {
    check_interval: '1s',
    limit_mib: Math.floor((bytes * 0.8) / MiB),
    spike_limit_mib: Math.floor((bytes * 0.2) / MiB),
  };
}

function identityProcessor(stack: TelemetryStack): Record<string, unknown> {
  const stamp = stack.spec.access.allowAnonymousIngestion
    ? { key: IDENTITY_ATTRIBUTE, value: ANONYMOUS_USER, action: 'upsert' }
    : { key: IDENTITY_ATTRIBUTE, from_context: 'auth.username', action: 'upsert' };
  return { actions: [stamp] };
}

function queue(stack: TelemetryStack, batch: boolean): Record<string, unknown> {
  return {
    enabled: true,
    num_consumers: 2,
    queue_size: 100_000,
    sizer: 'items',
    ...(stack.spec.collector.persistentQueue.enabled ? { storage: QUEUE_STORAGE } : {}),
    ...(batch ? { batch: { flush_timeout: '5s', min_size: 5_000, max_size: 20_000 } } : {}),
  };
}

const RETRY_FOREVER = {
  enabled: true,
  initial_interval: '5s',
  max_interval: '30s',
  // 0 = never give up: with the persistent queue an outage delays data instead of losing it.
  max_elapsed_time: '0s',
};

function clickhouseExporter(stack: TelemetryStack): Record<string, unknown> {
  const { clickhouse } = stack.spec;
  const names = stackNames(stack.metadata.name);
  const endpoint =
    clickhouse.mode === 'external'
      ? clickhouse.external!.endpoint
      : `tcp://${names.clickhouse}:${PORTS.clickhouseNative}?dial_timeout=10s`;
  return {
    endpoint,
    database: clickhouse.database,
    username: env(COLLECTOR_ENV.clickhouseUsername),
    password: env(COLLECTOR_ENV.clickhousePassword),
    // Our migrations own the schema (data-layer issue); the exporter's DDL would race them.
    create_schema: false,
    ...(clickhouse.external?.cluster ? { cluster_name: clickhouse.external.cluster } : {}),
    logs_table_name: RAW_TABLES.logs,
    metrics_tables: {
      sum: { name: RAW_TABLES.metricsSum },
      gauge: { name: RAW_TABLES.metricsGauge },
      histogram: { name: RAW_TABLES.metricsHistogram },
      exponential_histogram: { name: RAW_TABLES.metricsExponentialHistogram },
      summary: { name: RAW_TABLES.metricsSummary },
    },
    timeout: '10s',
    retry_on_failure: RETRY_FOREVER,
    sending_queue: queue(stack, true),
  };
}

function upstreamExporter(stack: TelemetryStack): [string, Record<string, unknown>] | undefined {
  const upstream = stack.spec.upstream;
  if (!upstream) return undefined;
  const id = upstream.protocol === 'grpc' ? 'otlp_grpc/upstream' : 'otlp_http/upstream';
  return [
    id,
    {
      endpoint: upstream.endpoint,
      tls: { insecure: upstream.insecure },
      ...(upstream.headersSecret ? { headers: { authorization: env(COLLECTOR_ENV.upstreamAuthorization) } } : {}),
      retry_on_failure: RETRY_FOREVER,
      sending_queue: queue(stack, false),
    },
  ];
}

export type CollectorConfig = Record<string, unknown>;

export function collectorConfig(stack: TelemetryStack): CollectorConfig {
  const { spec } = stack;
  const anonymous = spec.access.allowAnonymousIngestion;
  const auth = anonymous ? {} : { auth: { authenticator: AUTHENTICATOR } };
  const levelStages = levelProcessors(spec);
  const upstream = upstreamExporter(stack);
  const exporters: Record<string, unknown> = { [CLICKHOUSE_EXPORTER]: clickhouseExporter(stack) };
  if (upstream) exporters[upstream[0]] = upstream[1];
  const exporterIds = Object.keys(exporters);

  const extensions: Record<string, unknown> = {
    health_check: { endpoint: `0.0.0.0:${PORTS.collectorHealth}` },
  };
  if (!anonymous) extensions[AUTHENTICATOR] = { htpasswd: { file: COLLECTOR_PATHS.htpasswdFile } };
  if (spec.collector.persistentQueue.enabled) {
    extensions[QUEUE_STORAGE] = {
      directory: COLLECTOR_PATHS.queueDir,
      create_directory: false,
      timeout: '10s',
      compaction: { on_start: true, on_rebound: true, directory: COLLECTOR_PATHS.queueDir },
    };
  }

  return {
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `0.0.0.0:${PORTS.otlpGrpc}`, ...auth },
          http: { endpoint: `0.0.0.0:${PORTS.otlpHttp}`, ...auth },
        },
      },
    },
    processors: {
      [PROCESSOR_IDS.memoryLimiter]: memoryLimiter(stack),
      [PROCESSOR_IDS.identity]: identityProcessor(stack),
      ...levelStages,
      [PROCESSOR_IDS.sanitizer]: sanitizerProcessor(spec),
    },
    exporters,
    extensions,
    service: {
      extensions: Object.keys(extensions),
      pipelines: {
        metrics: {
          receivers: ['otlp'],
          processors: [PROCESSOR_IDS.memoryLimiter, PROCESSOR_IDS.sanitizer, PROCESSOR_IDS.identity],
          exporters: exporterIds,
        },
        logs: {
          receivers: ['otlp'],
          processors: [PROCESSOR_IDS.memoryLimiter, ...Object.keys(levelStages), PROCESSOR_IDS.sanitizer, PROCESSOR_IDS.identity],
          exporters: exporterIds,
        },
      },
      telemetry: {
        logs: { level: 'info', encoding: 'json' },
        metrics: {
          level: 'normal',
          readers: [{ pull: { exporter: { prometheus: { host: '0.0.0.0', port: PORTS.collectorMetrics } } } }],
        },
      },
    },
  };
}
