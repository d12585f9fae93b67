/**
 * A stack's ClickHouse in the cluster, reached through a port-forward to the ClickHouse pod
 * (client-node PortForward on an ephemeral loopback port): as a team member for `query` and
 * `report` (row policies apply), and as the stack's admin user for doctor's data leg (whose
 * Secret only cluster admins can read). doctor's two queries take any SqlTarget, so they run
 * unchanged on the embedded engine in tests.
 */
import { bindParams, loadLibrary } from '../../clickhouse/queries.ts';
import { RAW_TABLES } from '../../clickhouse/tables.ts';
import { UNKNOWN_FIELDS_QUERY, type UnknownField } from '../../clickhouse/unknown-fields.ts';
import { serverTarget, type SqlTarget } from '../../clickhouse/target.ts';
import { PORTS, stackNames } from '../../stack/naming.ts';
import { forwardPort } from '../../kube/port-forward.ts';
import { SECRET_KEYS } from '../../stack/secrets.ts';
import { UserError } from '../framework/io.ts';
import { getOptional, type Kube } from './connection.ts';
import type { ClusterStack } from './stacks.ts';
import { readUserSecretKey, requireUser } from './user-secret.ts';

/** What doctor reads from a stack's ClickHouse (tests pass their own). */
export interface StackData {
  /** Event records stored since `since`, and the newest one's timestamp. */
  eventsSince(since: Date): Promise<{ count: number; newest: Date | undefined }>;
  /** Bytes the stack's telemetry tables use on disk. */
  diskBytes(): Promise<number>;
  /** Event names, metric names and attribute keys stored in the last `days` days that the field tables do not know. */
  unknownFields(days: number): Promise<UnknownField[]>;
  close(): Promise<void>;
}

export type OpenStackData = (kube: Kube, found: ClusterStack) => Promise<StackData>;

/** Event records (OTLP log records) stored since `since`. */
export async function eventsSince(target: SqlTarget, database: string, since: Date): Promise<{ count: number; newest: Date | undefined }> {
  const [row] = await target.query<{ events: number; newest: string | null }>(
    `SELECT count() AS events, if(count() = 0, NULL, toString(max(Timestamp))) AS newest
     FROM ${database}.${RAW_TABLES.logs} WHERE Timestamp >= fromUnixTimestamp64Milli({since:Int64})`,
    { since: since.getTime() },
  );
  const newest = row?.newest ? new Date(`${row.newest.replace(' ', 'T')}Z`) : undefined;
  return { count: Number(row?.events ?? 0), newest: newest && !Number.isNaN(newest.getTime()) ? newest : undefined };
}

/** Bytes of the telemetry database's active parts: the measure the disk cap is applied to. */
export async function diskBytes(target: SqlTarget, database: string): Promise<number> {
  const [row] = await target.query<{ bytes: number }>(
    'SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = {database:String} AND active',
    { database },
  );
  return Number(row?.bytes ?? 0);
}

/**
 * What the stack stored in the last `days` days that the field tables do not know: the
 * report library's unknown-fields query (generated from the tables), so doctor and
 * `report unknown-fields` give the same answer. Its tables are unqualified: the target's
 * default database is the telemetry database.
 */
export async function unknownFields(target: SqlTarget, days: number): Promise<UnknownField[]> {
  const query = loadLibrary().find((q) => q.name === UNKNOWN_FIELDS_QUERY);
  if (!query) throw new Error(`the report library has no ${UNKNOWN_FIELDS_QUERY} query (run npm run generate)`);
  const rows = await target.query<UnknownField>(query.sql, bindParams(query, { days: String(days) }));
  return rows.map((row) => ({ ...row, records: Number(row.records) }));
}

export function stackData(target: SqlTarget, database: string): StackData {
  return {
    eventsSince: (since) => eventsSince(target, database, since),
    diskBytes: () => diskBytes(target, database),
    unknownFields: (days) => unknownFields(target, days),
    close: () => target.close(),
  };
}

/** A SqlTarget on a stack's in-cluster ClickHouse through a port-forward to its pod; close() ends both. */
export async function clusterClickHouse(kube: Kube, found: ClusterStack, account: { username: string; password: string }): Promise<SqlTarget> {
  if (found.stack.spec.clickhouse.mode !== 'inCluster') {
    throw new UserError(
      `stack ${found.namespace}/${found.name} uses an external ClickHouse (${found.stack.spec.clickhouse.external?.endpoint ?? 'see spec.clickhouse.external'}).\n` +
        'Fix: query it directly: "telemetry-stack report NAME --url URL --user USER --password-file FILE".',
    );
  }
  const names = stackNames(found.name);
  // The StatefulSet's single pod.
  const forward = await forwardPort(kube.config, found.namespace, `${names.clickhouse}-0`, PORTS.clickhouseHttp);
  const target = await serverTarget({
    url: `http://127.0.0.1:${forward.port}`,
    username: account.username,
    password: account.password,
    database: found.stack.spec.clickhouse.database,
    requestTimeoutMs: 30_000,
  });
  return {
    ...target,
    close: async () => {
      await target.close();
      await forward.close();
    },
  };
}

/**
 * `query`, `report` and `erase` on a stack in the cluster: reads the user's password from their
 * own Secret and port-forwards to ClickHouse as that user, so that row policies apply.
 */
export async function openAsUser(kube: Kube, found: ClusterStack, user: string): Promise<SqlTarget> {
  requireUser(found, user);
  const password = await readUserSecretKey(kube, found, user, SECRET_KEYS.password);
  return clusterClickHouse(kube, found, { username: user, password });
}

/**
 * Runs `use` on the stack's ClickHouse as `user` (openAsUser), explains its failures in the
 * person's terms (clusterQueryError), and always closes the port-forward.
 */
export async function withUserTarget<T>(kube: Kube, found: ClusterStack, user: string, use: (target: SqlTarget) => Promise<T>): Promise<T> {
  const target = await openAsUser(kube, found, user);
  try {
    return await use(target);
  } catch (error) {
    throw clusterQueryError(error, found);
  } finally {
    await target.close();
  }
}

/** What a failed query through the port-forward means to the person who ran it. */
export function clusterQueryError(error: unknown, found: ClusterStack): UserError {
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
  return new UserError(
    /ECONNREFUSED|ECONNRESET|socket hang up|timeout/i.test(message)
      ? `cannot reach ClickHouse through the port-forward (${message}).\nFix: the ClickHouse pod must be Running and Ready: "telemetry-stack doctor -n ${found.namespace} --stack ${found.name}".`
      : `ClickHouse refused the query: ${message}`,
  );
}

/** doctor's data leg: the stack's ClickHouse as its admin user (whose Secret only cluster admins can read). */
export const openClusterStackData: OpenStackData = async (kube: Kube, found: ClusterStack) => {
  const names = stackNames(found.name);
  const secret = await getOptional<{ data?: Record<string, string> }>(
    kube,
    `/api/v1/namespaces/${found.namespace}/secrets/${names.clickhouseAdminSecret}`,
    `Secret ${found.namespace}/${names.clickhouseAdminSecret}`,
  ).catch((error: unknown) => {
    if (error instanceof UserError && error.message.includes('HTTP 403')) throw new UserError(`you may not read Secret ${names.clickhouseAdminSecret} (only cluster admins can)`);
    throw error;
  });
  const username = secret?.data?.[SECRET_KEYS.username];
  const password = secret?.data?.[SECRET_KEYS.password];
  if (!username || !password) throw new UserError(`Secret ${names.clickhouseAdminSecret} does not exist yet`);
  const decode = (value: string) => Buffer.from(value, 'base64').toString('utf8');
  const target = await clusterClickHouse(kube, found, { username: decode(username), password: decode(password) });
  return stackData(target, found.stack.spec.clickhouse.database);
};
