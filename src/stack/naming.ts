/**
 * Every object name the chart and the operator use, derived in one place from the
 * stack name, at most 63 characters. Two different (stack, object) pairs never give the
 * same name, so one stack can never be handed another stack's object (a confused deputy):
 * - a component name is `<stack>-<component>` (a DNS-1123 label). The component words are
 *   fixed, and none ends in `-<another component word>`, so the stack part is unambiguous;
 *   the longest stack name (40) keeps these under 63 characters, so they are never hashed.
 * - a per-user name is `<stack>.<purpose>.<user>`: dots, which neither a stack nor a user
 *   name may contain, so the first dot ends the stack name and no user name can spell
 *   another stack's or component's name. These are DNS-1123 subdomains (Secrets, Roles,
 *   RoleBindings accept them). Too long, the user part keeps a prefix and gains a fourth
 *   dot-separated part, a hash of the full name: never equal to a name that was not cut.
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
  /** Secret with one user's credentials (ingestion and queries): `<stack>.user.<user>`. */
  userSecret(user: string): string;
  /** Role and RoleBinding granting a user's Kubernetes subject `get` on their own Secret (same name as the Secret; another kind). */
  userAccess(user: string): string;
  /**
   * The per-user Secret name before v0.2 (`<stack>-user-<user>`), which could equal another
   * stack's Secret (stack `a`, user `clickhouse-admin` vs stack `a-user`). Read only to carry
   * an existing user's credentials over to the new name, when this stack controls it.
   */
  legacyUserSecret(user: string): string;
}

/** Separates the stack, the purpose and the user in per-user names; no stack or user name contains it. */
const PER_USER_SEPARATOR = '.';
const HASH_CHARS = 10;

/**
 * `<stack>.<purpose>.<user>`, or, beyond 63 characters, `<stack>.<purpose>.<user prefix>.<hash>`.
 * The stack and purpose are never cut (40 + 1 + purpose + 1 leaves room for a prefix and the hash).
 */
export function perUserName(stack: string, purpose: string, user: string): string {
  const full = [stack, purpose, user].join(PER_USER_SEPARATOR);
  if (full.length <= MAX) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, HASH_CHARS);
  const room = MAX - stack.length - purpose.length - hash.length - 3 * PER_USER_SEPARATOR.length;
  // Each dot-separated part of a DNS subdomain must end in a letter or digit.
  const prefix = user.slice(0, room).replace(/-+$/, '');
  return [stack, purpose, prefix, hash].join(PER_USER_SEPARATOR);
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
    userSecret: (user) => perUserName(stack, 'user', user),
    userAccess: (user) => perUserName(stack, 'user', user),
    legacyUserSecret: (user) => dnsLabel(stack, 'user', user),
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
