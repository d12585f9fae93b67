/**
 * The ClickHouse part of a reconcile, seen from the controller: migrations, retention and
 * users through the data layer's SqlTarget. The controller only decides where ClickHouse
 * is (the in-cluster Service when the operator runs in a pod, the external endpoint, or an
 * override URL such as a port-forward) and which credentials to use.
 */
import type { TelemetryStack } from '../api/resource.ts';
import type { RetentionSignal } from '../clickhouse/retention.ts';
import type { TelemetryStackStatus } from '../api/status.ts';
import { stackNames, PORTS } from '../stack/naming.ts';

export type AppliedRetention = NonNullable<TelemetryStackStatus['appliedRetention']>;

export interface ClickHouseAccount {
  readonly username: string;
  readonly password: string;
}

export interface ClickHouseCredentials {
  /** The administrative account the operator connects with. */
  readonly admin: ClickHouseAccount;
  /** The collector's insert-only account. */
  readonly ingest: ClickHouseAccount;
  /** Every team member's query account, by user name. */
  readonly users: ReadonlyMap<string, ClickHouseAccount>;
  /** Grafana's read-only data source account (the <stack>-grafana Secret), when Grafana is enabled. */
  readonly grafana?: ClickHouseAccount;
}

/** A shorter TTL (days) or a new or lower disk cap (`maxDiskGiB`, GiB; from undefined: no cap before) waiting for its confirmation. */
export type WithheldRetention =
  | { readonly signal: RetentionSignal; readonly fromDays: number; readonly toDays: number; readonly tables: readonly string[] }
  | { readonly signal: 'maxDiskGiB'; readonly fromDays: number | undefined; readonly toDays: number; readonly tables: readonly string[]; readonly partitions: number; readonly bytes: number };

export interface ClickHouseOutcome {
  readonly appliedRetention: AppliedRetention;
  readonly users: number;
  /** Schema version in force after the migrations: the collector's pods carry it and roll when it changes. */
  readonly schemaVersion: number;
  /** Statements that changed something (empty on a second run). */
  readonly changes: readonly string[];
  /** Shorter retention the stack asks for but has not confirmed (SHORTEN_RETENTION_ANNOTATION), per signal. */
  readonly withheldRetention?: readonly WithheldRetention[];
}

export interface ClickHouseLeg {
  reconcile(stack: TelemetryStack, url: string, credentials: ClickHouseCredentials): Promise<ClickHouseOutcome>;
  /** Removes what lives outside Kubernetes (users in an external ClickHouse) when the stack is deleted. */
  remove(stack: TelemetryStack, url: string, credentials: ClickHouseCredentials): Promise<void>;
}

/** Where the operator reaches a stack's ClickHouse, or undefined when it cannot (outside the cluster with no override). */
export function clickhouseUrl(stack: TelemetryStack, options: { inCluster: boolean; override?: string }): string | undefined {
  if (stack.spec.clickhouse.mode === 'external') return stack.spec.clickhouse.external!.endpoint;
  if (options.override) return options.override;
  if (!options.inCluster) return undefined;
  return inClusterClickhouseEndpoint(stack);
}

export function inClusterClickhouseEndpoint(stack: TelemetryStack): string {
  return `http://${stackNames(stack.metadata.name).clickhouse}.${stack.metadata.namespace}.svc:${PORTS.clickhouseHttp}`;
}
