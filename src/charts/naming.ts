/**
 * Every object name the chart and the operator use, derived in one place from the
 * stack name. Names are DNS-1123 labels of at most 63 characters: a name that would be
 * longer keeps a readable prefix and ends in a short hash of the full name, so two
 * long names never collide.
 */
import { createHash } from 'node:crypto';

const MAX = 63;

export function dnsLabel(...parts: string[]): string {
  const full = parts.join('-');
  if (full.length <= MAX) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

export interface StackNames {
  readonly collector: string;
  readonly collectorHeadless: string;
  readonly collectorConfig: string;
  readonly collectorQueueClaim: string;
  readonly clickhouse: string;
  readonly clickhouseHeadless: string;
  /** Service publishing ClickHouse's HTTP port on a node port (clickhouse.service.type NodePort). */
  readonly clickhouseNodePort: string;
  readonly clickhouseConfig: string;
  readonly clickhouseDataClaim: string;
  /** Secret: the administrative ClickHouse user the operator uses (password and its SHA-256). */
  readonly clickhouseAdminSecret: string;
  /** Secret: the insert-only ClickHouse user the collector's exporter uses. */
  readonly clickhouseIngestSecret: string;
  /** Secret: htpasswd file of every user's ingestion credentials (collector basic auth). */
  readonly ingestAuthSecret: string;
  /** Secret: the key of the sanitizer's keyed hash. */
  readonly sanitizerKeySecret: string;
  readonly networkPolicyClickhouse: string;
  readonly networkPolicyCollector: string;
  readonly grafana: string;
  readonly grafanaProvisioning: string;
  readonly grafanaDashboards: string;
  /** Secret: Grafana's admin password and its read-only ClickHouse user (password and SHA-256). */
  readonly grafanaSecret: string;
  /** Secret with one user's credentials (ingestion and queries). */
  userSecret(user: string): string;
}

export function stackNames(stack: string): StackNames {
  return {
    collector: dnsLabel(stack, 'collector'),
    collectorHeadless: dnsLabel(stack, 'collector-headless'),
    collectorConfig: dnsLabel(stack, 'collector-config'),
    collectorQueueClaim: 'queue',
    clickhouse: dnsLabel(stack, 'clickhouse'),
    clickhouseHeadless: dnsLabel(stack, 'clickhouse-headless'),
    clickhouseNodePort: dnsLabel(stack, 'clickhouse-nodeport'),
    clickhouseConfig: dnsLabel(stack, 'clickhouse-config'),
    clickhouseDataClaim: 'data',
    clickhouseAdminSecret: dnsLabel(stack, 'clickhouse-admin'),
    clickhouseIngestSecret: dnsLabel(stack, 'clickhouse-ingest'),
    ingestAuthSecret: dnsLabel(stack, 'ingest-auth'),
    sanitizerKeySecret: dnsLabel(stack, 'sanitizer-key'),
    networkPolicyClickhouse: dnsLabel(stack, 'clickhouse'),
    networkPolicyCollector: dnsLabel(stack, 'collector'),
    grafana: dnsLabel(stack, 'grafana'),
    grafanaProvisioning: dnsLabel(stack, 'grafana-provisioning'),
    grafanaDashboards: dnsLabel(stack, 'grafana-dashboards'),
    grafanaSecret: dnsLabel(stack, 'grafana'),
    userSecret: (user) => dnsLabel(stack, 'user', user),
  };
}

/** Ports in one place: the chart, the NetworkPolicies, the CLI and the docs agree on them. */
export const PORTS = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  collectorHealth: 13133,
  collectorMetrics: 8888,
  clickhouseHttp: 8123,
  clickhouseNative: 9000,
  clickhouseInterserver: 9009,
  grafana: 3000,
} as const;
