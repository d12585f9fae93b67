/**
 * The ClickHouse leg on the data layer: reconcileClickHouse through a SqlTarget, then a check
 * as the collector's ingest user that it can write every raw table (a failure fails the leg,
 * so the stack is not Ready while its collector cannot store anything). In the cluster the
 * target is the stack's ClickHouse server; tests pass a `connect` that returns the embedded
 * engine, so the very same calls run.
 */
import { confirmedShortening } from '../api/constants.ts';
import type { TelemetryStack } from '../api/resource.ts';
import { applyAccess, type AccessCredentials } from '../clickhouse/access.ts';
import { checkIngest } from '../clickhouse/ingest-check.ts';
import { ddlContext, reconcileClickHouse } from '../clickhouse/reconcile.ts';
import { INGEST_USER } from '../clickhouse/tables.ts';
import { serverTarget, type SqlTarget } from '../clickhouse/target.ts';
import { stackNames } from '../stack/naming.ts';
import { sha256Hex } from '../stack/secrets.ts';
import type { ClickHouseAccount, ClickHouseCredentials, ClickHouseLeg, WithheldRetention } from './clickhouse-leg.ts';

export type Connect = (url: string, admin: ClickHouseAccount) => Promise<SqlTarget>;

const connectToServer: Connect = (url, admin) => serverTarget({ url, username: admin.username, password: admin.password, requestTimeoutMs: 30_000 });

/**
 * Only SHA-256 hashes go on to ClickHouse, keyed by ClickHouse user name. The ingest user's is
 * included for an external ClickHouse, where the operator creates that user (in-cluster, the
 * server config defines it from the same Secret).
 */
export function accessCredentials(credentials: ClickHouseCredentials, stack?: TelemetryStack): AccessCredentials {
  const accounts: [string, ClickHouseAccount][] = [...credentials.users];
  if (credentials.grafana) accounts.push([credentials.grafana.username, credentials.grafana]);
  if (stack?.spec.clickhouse.mode === 'external') accounts.push([INGEST_USER, credentials.ingest]);
  return { users: Object.fromEntries(accounts.map(([name, account]) => [name, { passwordSha256: sha256Hex(account.password) }])) };
}

/** One line: what the collector's user cannot do, and what fixes it in this mode. */
export function ingestFailureMessage(stack: TelemetryStack, problems: readonly string[], conflict: boolean): string {
  const names = stackNames(stack.metadata.name);
  const namespace = stack.metadata.namespace ?? 'default';
  const { clickhouse } = stack.spec;
  const fix =
    clickhouse.mode === 'external'
      ? conflict
        ? `a ClickHouse user ${INGEST_USER} that this stack did not create already exists: drop it (DROP USER ${INGEST_USER}) so that the operator creates its own from Secret ${names.clickhouseIngestSecret}, or give it that Secret's password and INSERT and SHOW COLUMNS on the raw tables of ${clickhouse.database}`
        : `the operator creates this user from Secret ${names.clickhouseIngestSecret} with the account in Secret ${clickhouse.external!.credentialsSecret.name}, which must be allowed to create users and roles and to grant INSERT and SHOW COLUMNS on ${clickhouse.database} (access_management, or those grants WITH GRANT OPTION)`
      : `the ClickHouse server defines this user from Secret ${names.clickhouseIngestSecret} when it starts: if that Secret changed, restart ClickHouse (kubectl -n ${namespace} rollout restart statefulset/${names.clickhouse})`;
  // The same refusal for every raw table says nothing new: the first, and how many more.
  const what = problems.length > 1 ? `${problems[0]}; and ${problems.length - 1} more raw table(s)` : problems[0];
  return `the collector's ClickHouse user ${INGEST_USER} cannot write telemetry (${what}); nothing the collector sends is stored. Fix: ${fix}`;
}

async function withTarget<T>(connect: Connect, url: string, admin: ClickHouseAccount, use: (target: SqlTarget) => Promise<T>): Promise<T> {
  const target = await connect(url, admin);
  try {
    return await use(target);
  } finally {
    await target.close();
  }
}

export function sqlClickHouseLeg(connect: Connect = connectToServer): ClickHouseLeg {
  return {
    reconcile: async (stack, url, credentials) => {
      const { ingestConflict, ...outcome } = await withTarget(connect, url, credentials.admin, async (target) => {
        const report = await reconcileClickHouse(target, stack, accessCredentials(credentials, stack), { shortening: confirmedShortening(stack.metadata.annotations) });
        const changes = [
          ...report.migrationsApplied.map((migration) => `migration ${migration.version} ${migration.name}`),
          ...(report.retention?.changes ?? []).map((change) => `ttl ${change.table} ${change.fromDays ?? 'none'} -> ${change.toDays} days`),
          ...(report.retention?.partitionsDropped ?? []).map((dropped) => `dropped partition ${dropped.table} ${dropped.partition}`),
          ...(report.access?.mode === 'executed' ? report.access.statements : []),
        ];
        const withheld = new Map<string, WithheldRetention>();
        for (const change of report.retention?.withheld ?? []) {
          const known = withheld.get(change.signal);
          withheld.set(change.signal, { signal: change.signal, fromDays: change.fromDays!, toDays: change.toDays, tables: [...(known?.tables ?? []), change.table] });
        }
        const cap = report.retention?.diskCap.withheld;
        if (cap) withheld.set('maxDiskGiB', { signal: 'maxDiskGiB', fromDays: cap.fromGiB, toDays: cap.toGiB, tables: [], partitions: cap.partitions, bytes: cap.bytes });
        return {
          appliedRetention: report.appliedRetention,
          users: report.access?.users ?? stack.spec.access.users.length,
          schemaVersion: report.schemaVersion,
          changes,
          ...(withheld.size > 0 ? { withheldRetention: [...withheld.values()] } : {}),
          ingestConflict: report.access?.conflicts.includes(INGEST_USER) ?? false,
        };
      });
      // As the collector: after the plan, so that an external ClickHouse has the user by now.
      const problems = await withTarget(connect, url, credentials.ingest, (target) => checkIngest(target, ddlContext(stack)));
      if (problems.length > 0) throw new Error(ingestFailureMessage(stack, problems, ingestConflict));
      return outcome;
    },
    remove: (stack, url, credentials) =>
      withTarget(connect, url, credentials.admin, async (target) => {
        // Access reconciled against no users drops every user this stack created, and nothing else.
        const withoutUsers: TelemetryStack = { ...stack, spec: { ...stack.spec, access: { ...stack.spec.access, users: [] }, grafana: { ...stack.spec.grafana, enabled: false } } };
        await applyAccess(target, ddlContext(stack), withoutUsers, { users: {} }, { removeAllUsers: true });
      }),
  };
}
