/**
 * The collector configuration for a stack, as a plain object (rendered to YAML in the
 * ConfigMap, and hashed onto the pod template so a change rolls the pods).
 *
 * Pipeline order matters and is fixed here:
 *   otlp (basic auth, 4 MiB requests) -> memory_limiter -> truncate (16 KiB values) -> level
 *   filter -> sanitizer -> attributes/identity
 *   (stamp the authenticated user: after the sanitizer, so no rule can rewrite or drop the
 *   identity, and before any batching, which drops the auth context) -> exporters, which
 *   batch inside a persistent sending queue (so batching happens after the data is on
 *   disk, not in memory before it).
 */
import type { TelemetryStack } from '../../api/resource.ts';
import { MiB, parseQuantity } from '../../api/quantity.ts';
import { MAX_REQUEST_BYTES, MIN_QUEUED_REQUESTS, queueBudget, REBOUND_TRIGGER_MIB } from '../../api/collector-limits.ts';
import { RAW_TABLES } from '../../clickhouse/tables.ts';
import { levelProcessors, metricLevelProcessors, sanitizerProcessor } from '../../sanitizer/compile.ts';
import { envReference, toConfmap } from '../../sanitizer/confmap.ts';
import { IDENTITY_ATTRIBUTE } from '../../sanitizer/fields.ts';
import { MAX_ATTRIBUTE_BYTES, TRUNCATION_MARKER } from '../../sanitizer/limits.ts';
import { PORTS, stackNames } from '../../stack/naming.ts';

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
  /** The receivers' certificate Secret (collector.tls), mounted whole: tls.crt, tls.key (and ca.crt when cert-manager writes one). */
  tlsDir: '/etc/otelcol/tls',
  tlsCertFile: '/etc/otelcol/tls/tls.crt',
  tlsKeyFile: '/etc/otelcol/tls/tls.key',
  /** The upstream stack's certificate authority (upstream.caSecret). */
  upstreamCaDir: '/etc/otelcol/upstream-ca',
  upstreamCaFile: '/etc/otelcol/upstream-ca/ca.crt',
} as const;

/** Environment variables the collector reads secrets from (set from Secrets, never written into the config). */
export const COLLECTOR_ENV = {
  clickhouseUsername: 'CLICKHOUSE_USERNAME',
  clickhousePassword: 'CLICKHOUSE_PASSWORD',
  upstreamAuthorization: 'UPSTREAM_AUTHORIZATION',
} as const;

export const PROCESSOR_IDS = {
  memoryLimiter: 'memory_limiter',
  truncate: 'transform/truncate',
  identity: 'attributes/identity',
  sanitizer: 'transform/sanitize',
} as const;

const AUTHENTICATOR = 'basicauth/ingest';
const QUEUE_STORAGE = 'file_storage/queue';
const CLICKHOUSE_EXPORTER = 'clickhouse';

/**
 * The chart's own `${env:NAME}` references. Every other string of the configuration is text:
 * collectorConfig escapes them all at the end (toConfmap), so a spec value can never expand.
 */
const env = envReference;

/** The container's memory limit, or the default limit when the spec sets none (for sizing what lives in memory). */
function memoryLimitBytes(stack: TelemetryStack): number {
  const limit = stack.spec.collector.resources.limits.memory;
  return limit === undefined ? DEFAULT_MEMORY_LIMIT : parseQuantity(limit)!;
}
const DEFAULT_MEMORY_LIMIT = 512 * MiB;

/** Share of the container's memory limit the Go runtime and the memory limiter may use; the rest is for what Go does not count (mapped queue files, thread stacks). */
const HARD_LIMIT_SHARE = 0.8;
const SPIKE_SHARE = 0.2;

function memoryLimiter(stack: TelemetryStack): Record<string, unknown> {
  const limit = stack.spec.collector.resources.limits.memory;
  const bytes = limit === undefined ? undefined : parseQuantity(limit);
  // With a container limit we size the limiter from it (80 % hard, 20 % spike headroom);
  // without one the limiter falls back to a share of the memory it can see (the cgroup's limit).
  if (bytes === undefined) return { check_interval: '1s', limit_percentage: HARD_LIMIT_SHARE * 100, spike_limit_percentage: SPIKE_SHARE * 100 };
  return {
    check_interval: '1s',
    limit_mib: Math.floor((bytes * HARD_LIMIT_SHARE) / MiB),
    spike_limit_mib: Math.floor((bytes * SPIKE_SHARE) / MiB),
  };
}

/**
 * GOMEMLIMIT for the collector container: the memory limiter's soft limit (hard minus spike),
 * where it starts refusing data. The limiter sees data only once it is decoded and checks once
 * a second; without a Go memory limit the garbage collector let the heap reach twice what was
 * live, and a burst of large requests took the pod past its container limit (measured: 8
 * concurrent 4 MiB requests of text peaked at 410-500 MiB RSS with the limit at 80 %, under 200 MiB
 * at 60 %;
 * what is live stays small, the rest is the sanitizer's garbage). Undefined without a container
 * memory limit (the limiter then uses percentages of what the cgroup allows).
 */
export function goMemoryLimit(stack: TelemetryStack): string | undefined {
  const limit = stack.spec.collector.resources.limits.memory;
  if (limit === undefined) return undefined;
  return `${Math.floor((parseQuantity(limit)! * (HARD_LIMIT_SHARE - SPIKE_SHARE)) / MiB)}MiB`;
}

/** The attribute and body limit lives with the sanitizer, whose preview cuts the same way. */
export { MAX_ATTRIBUTE_BYTES, TRUNCATION_MARKER } from '../../sanitizer/limits.ts';

function truncateStatements(target: string): string[] {
  return [`truncate_all(${target}, ${MAX_ATTRIBUTE_BYTES}, true, "${TRUNCATION_MARKER}")`];
}

/** Bounds every string the sanitizer will look at (attributes, resource attributes, log bodies). */
function truncateProcessor(): Record<string, unknown> {
  return {
    error_mode: 'ignore',
    log_statements: [
      { context: 'resource', statements: truncateStatements('attributes') },
      {
        context: 'log',
        statements: [
          ...truncateStatements('attributes'),
          // truncate_all works on maps only: the body goes through the record's cache to be cut the same way.
          `set(cache["body"], body) where IsString(body) and Len(body) > ${MAX_ATTRIBUTE_BYTES}`,
          ...truncateStatements('cache'),
          'set(body, cache["body"]) where cache["body"] != nil',
        ],
      },
    ],
    metric_statements: [
      { context: 'resource', statements: truncateStatements('attributes') },
      { context: 'datapoint', statements: truncateStatements('attributes') },
    ],
  };
}

function identityProcessor(stack: TelemetryStack): Record<string, unknown> {
  const stamp = stack.spec.access.allowAnonymousIngestion
    ? { key: IDENTITY_ATTRIBUTE, value: ANONYMOUS_USER, action: 'upsert' }
    : { key: IDENTITY_ATTRIBUTE, from_context: 'auth.username', action: 'upsert' };
  return { actions: [stamp] };
}

/** Exporters that keep a queue: ClickHouse, and the upstream stack when one is set. */
const queuedExporters = (stack: TelemetryStack) => (stack.spec.upstream ? 2 : 1);

/**
 * Queue capacity in bytes. Counted in items, a few large records filled the volume long before
 * the item limit; bbolt then could not even delete what had been sent, and the queue jammed.
 * Persistent: the volume's budget (src/api/collector-limits.ts). In memory: an eighth of the
 * memory limit across all queues, at least two of the largest requests each.
 */
function queueBytes(stack: TelemetryStack): number {
  const { collector } = stack.spec;
  if (collector.persistentQueue.enabled) return queueBudget(parseQuantity(collector.persistentQueue.size)!, queuedExporters(stack)).queueBytes;
  const queues = queuedExporters(stack) * 2;
  const share = Math.floor(memoryLimitBytes(stack) / 8 / queues / MiB) * MiB;
  return Math.max(share, MIN_QUEUED_REQUESTS * MAX_REQUEST_BYTES);
}

function queue(stack: TelemetryStack, batch: boolean): Record<string, unknown> {
  return {
    enabled: true,
    num_consumers: 2,
    sizer: 'bytes',
    queue_size: queueBytes(stack),
    ...(stack.spec.collector.persistentQueue.enabled ? { storage: QUEUE_STORAGE } : {}),
    // Batches stay counted in records (the queue's sizer would otherwise apply to them too).
    ...(batch ? { batch: { sizer: 'items', flush_timeout: '5s', min_size: 5_000, max_size: 20_000 } } : {}),
  };
}

/** The file_storage extension behind the persistent queue, with its files capped to the volume's budget. */
function queueStorage(stack: TelemetryStack): Record<string, unknown> {
  const budget = queueBudget(parseQuantity(stack.spec.collector.persistentQueue.size)!, queuedExporters(stack));
  const maxFileMiB = budget.maxFileBytes / MiB;
  return {
    directory: COLLECTOR_PATHS.queueDir,
    create_directory: false,
    timeout: '10s',
    // Past this a write is refused (the queue reports full, clients retry) instead of the volume filling.
    max_size: budget.maxFileBytes,
    compaction: {
      on_start: true,
      on_rebound: true,
      // On the queue volume, whose budget keeps room for it (a move across filesystems is not atomic).
      directory: COLLECTOR_PATHS.queueDir,
      // Compact a file once it has grown past half its cap and then drained to almost nothing.
      rebound_needed_threshold_mib: Math.max(REBOUND_TRIGGER_MIB, Math.floor(maxFileMiB / 2)),
      rebound_trigger_threshold_mib: REBOUND_TRIGGER_MIB,
      check_interval: '5s',
      // A compaction interrupted by a kill leaves its temporary file behind, taking space from the budget.
      cleanup_on_start: true,
    },
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
      // TLS unless the spec opts out (validation requires insecure for http://); with the
      // exporter's own default a plaintext http:// endpoint sent the Authorization header in clear.
      tls: upstream.insecure
        ? { insecure: true }
        : { insecure: false, min_version: '1.2', ...(upstream.caSecret ? { ca_file: COLLECTOR_PATHS.upstreamCaFile } : {}) },
      ...(upstream.headersSecret ? { headers: { authorization: env(COLLECTOR_ENV.upstreamAuthorization) } } : {}),
      retry_on_failure: RETRY_FOREVER,
      sending_queue: queue(stack, false),
    },
  ];
}

export type CollectorConfig = Record<string, unknown>;

/** What Kubernetes allows in one ConfigMap's data (the API server refuses more). */
export const CONFIG_MAP_LIMIT_BYTES = 1024 * 1024;

/** A spec whose collector configuration cannot be stored: a spec problem, found at render, with its field and fix. */
export class CollectorConfigTooLargeError extends Error {
  override readonly name = 'CollectorConfigTooLargeError';
  /** The field to change, as validation problems name it. */
  readonly path = 'spec.sanitizer.rules';
}

/**
 * Refuses a configuration over the ConfigMap limit. Only sanitizer rules can make it that large
 * (a 4,096-character pattern is written once per target, and a drop rule's once more for each
 * known attribute key), so the message names them.
 */
export function checkConfigSize(yaml: string): void {
  const bytes = Buffer.byteLength(yaml, 'utf8');
  if (bytes <= CONFIG_MAP_LIMIT_BYTES) return;
  const mib = (n: number) => (n / CONFIG_MAP_LIMIT_BYTES).toFixed(2);
  throw new CollectorConfigTooLargeError(
    `the collector configuration these rules compile to is ${mib(bytes)} MiB, over the 1 MiB a ConfigMap can hold; use fewer or shorter patterns, ` +
      'fewer targets per rule, or redact instead of drop (a drop rule is checked once per known attribute key)',
  );
}

export function collectorConfig(stack: TelemetryStack): CollectorConfig {
  const { spec } = stack;
  const anonymous = spec.access.allowAnonymousIngestion;
  const auth = anonymous ? {} : { auth: { authenticator: AUTHENTICATOR } };
  const levelStages = levelProcessors(spec);
  const metricLevelStages = metricLevelProcessors(spec);
  const upstream = upstreamExporter(stack);
  const exporters: Record<string, unknown> = { [CLICKHOUSE_EXPORTER]: clickhouseExporter(stack) };
  if (upstream) exporters[upstream[0]] = upstream[1];
  const exporterIds = Object.keys(exporters);

  const extensions: Record<string, unknown> = {
    health_check: { endpoint: `0.0.0.0:${PORTS.collectorHealth}` },
  };
  if (!anonymous) extensions[AUTHENTICATOR] = { htpasswd: { file: COLLECTOR_PATHS.htpasswdFile } };
  if (spec.collector.persistentQueue.enabled) {
    extensions[QUEUE_STORAGE] = queueStorage(stack);
  }

  const receiverTls = spec.collector.tls
    ? {
        tls: {
          cert_file: COLLECTOR_PATHS.tlsCertFile,
          key_file: COLLECTOR_PATHS.tlsKeyFile,
          min_version: '1.2',
          // cert-manager renews into the same Secret; the kubelet updates the mounted files.
          reload_interval: '1h',
        },
      }
    : {};

  // Escaped once, here, over the whole tree: see confmap.ts.
  return toConfmap({
    receivers: {
      otlp: {
        protocols: {
          // Request size limits apply after decompression (see MAX_REQUEST_BYTES).
          grpc: { endpoint: `0.0.0.0:${PORTS.otlpGrpc}`, max_recv_msg_size_mib: MAX_REQUEST_BYTES / MiB, ...receiverTls, ...auth },
          http: { endpoint: `0.0.0.0:${PORTS.otlpHttp}`, max_request_body_size: MAX_REQUEST_BYTES, ...receiverTls, ...auth },
        },
      },
    },
    processors: {
      [PROCESSOR_IDS.memoryLimiter]: memoryLimiter(stack),
      [PROCESSOR_IDS.truncate]: truncateProcessor(),
      [PROCESSOR_IDS.identity]: identityProcessor(stack),
      ...levelStages,
      ...metricLevelStages,
      [PROCESSOR_IDS.sanitizer]: sanitizerProcessor(spec),
    },
    exporters,
    extensions,
    service: {
      extensions: Object.keys(extensions),
      pipelines: {
        metrics: {
          receivers: ['otlp'],
          processors: [PROCESSOR_IDS.memoryLimiter, PROCESSOR_IDS.truncate, ...Object.keys(metricLevelStages), PROCESSOR_IDS.sanitizer, PROCESSOR_IDS.identity],
          exporters: exporterIds,
        },
        logs: {
          receivers: ['otlp'],
          processors: [
            PROCESSOR_IDS.memoryLimiter,
            PROCESSOR_IDS.truncate,
            ...Object.keys(levelStages),
            PROCESSOR_IDS.sanitizer,
            PROCESSOR_IDS.identity,
          ],
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
  }) as CollectorConfig;
}
