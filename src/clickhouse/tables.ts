/**
 * Names of the raw tables the collector's ClickHouse exporter inserts into. The exporter
 * runs with create_schema off; the DDL in this folder creates these tables (data-layer issue).
 */
export const RAW_TABLES = {
  logs: 'otel_logs',
  metricsSum: 'otel_metrics_sum',
  metricsGauge: 'otel_metrics_gauge',
  metricsHistogram: 'otel_metrics_histogram',
  metricsExponentialHistogram: 'otel_metrics_exponential_histogram',
  metricsSummary: 'otel_metrics_summary',
} as const;

/** The insert-only ClickHouse user the collector authenticates as (in-cluster mode). */
export const INGEST_USER = 'otel_ingest';
/** The administrative ClickHouse user the operator uses for migrations and access control (in-cluster mode). */
export const ADMIN_USER = 'telemetry_admin';
