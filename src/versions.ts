/**
 * Every pinned version in one place. The chart deploys these images by default and
 * the test harnesses build binaries of the same versions.
 */
export const VERSIONS = {
  /** OpenTelemetry Collector (contrib distribution): the image the chart deploys and the test binary's version. */
  collector: '0.161.0',
  /** Collector Builder confmap providers that pair with `collector`. */
  collectorProviders: '1.67.0',
  /** ClickHouse server LTS line the chart deploys. SQL must also run on the embedded engine (chdb). */
  clickhouse: '26.3',
  /** Kubernetes control plane used by the real-cluster tests. */
  kubernetes: '1.34.1',
  etcd: '3.6.4',
  kwok: '0.8.0',
  /** Helm, for the test that renders dist/helm with the real `helm template` and `helm lint`. */
  helm: '4.3.1',
  /** Grafana (optional dashboards component) and the official ClickHouse data source plugin it installs at start. */
  grafana: '12.4.0',
  grafanaClickhousePlugin: '4.15.0',
  /** Claude Code (npm @anthropic-ai/claude-code), the real client the end-to-end tests drive; never a package dependency (scripts/test-binaries/claude-code.ts). */
  claudeCode: '2.1.328',
} as const;

export const DEFAULT_IMAGES = {
  collector: `otel/opentelemetry-collector-contrib:${VERSIONS.collector}`,
  clickhouse: `clickhouse/clickhouse-server:${VERSIONS.clickhouse}`,
  grafana: `grafana/grafana:${VERSIONS.grafana}`,
} as const;
