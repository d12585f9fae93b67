/**
 * The ClickHouse leg of a reconcile: schema migrations, then retention, then access.
 * Level-triggered and idempotent: every step compares with what ClickHouse reports and
 * changes only what differs, so a second run with the same stack reports nothing done.
 *
 * The operator calls this after applying the manifests, with a server target for the
 * stack's ClickHouse and the users' password hashes from their Secrets. The same code
 * runs on the embedded engine (tests, `report --data`), where access control is planned
 * and parsed but not executed.
 */
import type { TelemetryStack } from '../api/resource.ts';
import { applyAccess, type AccessCredentials, type AccessReport } from './access.ts';
import { LATEST_SCHEMA_VERSION, migrate, type AppliedMigration } from './migrate.ts';
import { applyRetention, type AppliedRetention, type RetentionOptions, type RetentionReport, type Shortening } from './retention.ts';
import type { DdlContext } from './sql.ts';
import type { SqlTarget } from './target.ts';

export type { AccessCredentials } from './access.ts';

export interface ReconcileOptions {
  /** Skip the access step (e.g. `report --data`, which only needs the schema). */
  readonly skipAccess?: boolean;
  /** Skip retention (same). */
  readonly skipRetention?: boolean;
  /** Which shorter TTLs and lower disk caps may be applied (default: all; the operator passes what the stack confirms). */
  readonly shortening?: Shortening;
  /** Retention's clock and disk cap unit (tests). */
  readonly retention?: Omit<RetentionOptions, 'shortening'>;
}

export interface ClickHouseReport {
  readonly target: SqlTarget['kind'];
  /** Schema version in force after the run. */
  readonly schemaVersion: number;
  /** Migrations applied by this run (empty when the schema was current). */
  readonly migrationsApplied: AppliedMigration[];
  /** TTL changes and partition drops made by this run, and the TTLs read back afterwards. */
  readonly retention: RetentionReport | undefined;
  /** For status.appliedRetention: TTL days in force per signal, read back from ClickHouse. */
  readonly appliedRetention: AppliedRetention;
  /** Access statements issued (server) or planned (embedded); never passwords. */
  readonly access: AccessReport | undefined;
}

export function ddlContext(stack: TelemetryStack): DdlContext {
  const { clickhouse } = stack.spec;
  return {
    database: clickhouse.database,
    ...(clickhouse.mode === 'external' && clickhouse.external?.cluster ? { cluster: clickhouse.external.cluster } : {}),
  };
}

export async function reconcileClickHouse(
  target: SqlTarget,
  stack: TelemetryStack,
  credentials: AccessCredentials,
  options: ReconcileOptions = {},
): Promise<ClickHouseReport> {
  const context = ddlContext(stack);
  const migrationsApplied = await migrate(target, context);
  const retention = options.skipRetention ? undefined : await applyRetention(target, context, stack, { ...options.retention, ...(options.shortening ? { shortening: options.shortening } : {}) });
  const access = options.skipAccess ? undefined : await applyAccess(target, context, stack, credentials);
  return {
    target: target.kind,
    schemaVersion: LATEST_SCHEMA_VERSION,
    migrationsApplied,
    retention,
    appliedRetention: retention?.inForce ?? {},
    access,
  };
}

/**
 * True when the run changed nothing: no migration, TTL change, partition drop, or access
 * statement. On the embedded target access is only ever planned, so it is left out there.
 */
export function changedNothing(report: ClickHouseReport): boolean {
  return (
    report.migrationsApplied.length === 0 &&
    (report.retention?.changes.length ?? 0) === 0 &&
    (report.retention?.partitionsDropped.length ?? 0) === 0 &&
    (report.access === undefined || report.access.mode === 'planned' || report.access.statements.length === 0)
  );
}
