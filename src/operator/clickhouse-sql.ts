/**
 * The ClickHouse leg on the data layer: reconcileClickHouse through a SqlTarget. In the
 * cluster the target is the stack's ClickHouse server; tests pass a `connect` that returns
 * the embedded engine, so the very same calls run.
 */
import { confirmedShortening } from '../api/constants.ts';
import type { TelemetryStack } from '../api/resource.ts';
import { applyAccess, type AccessCredentials } from '../clickhouse/access.ts';
import { ddlContext, reconcileClickHouse } from '../clickhouse/reconcile.ts';
import { serverTarget, type SqlTarget } from '../clickhouse/target.ts';
import { sha256Hex } from '../charts/secrets.ts';
import type { ClickHouseAccount, ClickHouseCredentials, ClickHouseLeg, WithheldRetention } from './clickhouse-leg.ts';

export type Connect = (url: string, admin: ClickHouseAccount) => Promise<SqlTarget>;

const connectToServer: Connect = (url, admin) => serverTarget({ url, username: admin.username, password: admin.password, requestTimeoutMs: 30_000 });

/** Only SHA-256 hashes go on to ClickHouse, keyed by ClickHouse user name. */
export function accessCredentials(credentials: ClickHouseCredentials): AccessCredentials {
  const accounts: [string, ClickHouseAccount][] = [...credentials.users];
  if (credentials.grafana) accounts.push([credentials.grafana.username, credentials.grafana]);
  return { users: Object.fromEntries(accounts.map(([name, account]) => [name, { passwordSha256: sha256Hex(account.password) }])) };
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
    reconcile: (stack, url, credentials) =>
      withTarget(connect, url, credentials.admin, async (target) => {
        const report = await reconcileClickHouse(target, stack, accessCredentials(credentials), { shortening: confirmedShortening(stack.metadata.annotations) });
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
          changes,
          ...(withheld.size > 0 ? { withheldRetention: [...withheld.values()] } : {}),
        };
      }),
    remove: (stack, url, credentials) =>
      withTarget(connect, url, credentials.admin, async (target) => {
        // Access reconciled against no users drops every user this stack created, and nothing else.
        const withoutUsers: TelemetryStack = { ...stack, spec: { ...stack.spec, access: { ...stack.spec.access, users: [] }, grafana: { ...stack.spec.grafana, enabled: false } } };
        await applyAccess(target, ddlContext(stack), withoutUsers, { users: {} });
      }),
  };
}
