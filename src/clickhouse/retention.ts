/**
 * Retention in place: each telemetry table's TTL is read back from ClickHouse and
 * changed (ALTER TABLE ... MODIFY TTL) only where it differs from the spec. The
 * optional disk cap drops the oldest daily partitions of the raw tables first.
 */
import type { TelemetryStack } from '../api/resource.ts';
import { DERIVED, RAW_TABLES } from './tables.ts';
import { onCluster, qualified, quoteString, type DdlContext } from './sql.ts';
import type { SqlTarget } from './target.ts';

export type RetentionSignal = 'eventsDays' | 'metricsDays' | 'rollupsDays';

interface TtlTable {
  readonly table: string;
  /** A DateTime (or Date) expression the TTL counts from, in ClickHouse's normalized spelling. */
  readonly column: string;
  readonly signal: RetentionSignal;
  /** Partitioned by day: the disk cap may drop its oldest partitions. */
  readonly dailyPartitions: boolean;
}

export const TTL_TABLES: readonly TtlTable[] = [
  { table: RAW_TABLES.logs, column: 'TimestampTime', signal: 'eventsDays', dailyPartitions: true },
  ...[
    RAW_TABLES.metricsSum,
    RAW_TABLES.metricsGauge,
    RAW_TABLES.metricsHistogram,
    RAW_TABLES.metricsExponentialHistogram,
    RAW_TABLES.metricsSummary,
  ].map((table) => ({ table, column: 'toDateTime(TimeUnix)', signal: 'metricsDays' as const, dailyPartitions: true })),
  { table: DERIVED.dailyUsage, column: 'day', signal: 'rollupsDays', dailyPartitions: false },
];

export function ttlExpression(column: string, days: number): string {
  return `${column} + toIntervalDay(${days})`;
}

/** The TTL clause of a table's `engine_full`, or undefined when it has none. */
export function tableTtl(engineFull: string): string | undefined {
  const match = /\sTTL\s+(.+?)(?:\s+SETTINGS\s|$)/s.exec(engineFull);
  return match?.[1]?.trim();
}

/** Days of a TTL in our form (`<column> + toIntervalDay(N)`), or undefined for none or a foreign form. */
export function ttlDays(ttl: string | undefined, column: string): number | undefined {
  if (ttl === undefined) return undefined;
  const match = /^(.+?)\s*\+\s*toIntervalDay\((\d+)\)$/.exec(ttl);
  if (!match || match[1] !== column) return undefined;
  return Number(match[2]);
}

export interface TtlChange {
  readonly table: string;
  readonly signal: RetentionSignal;
  /** Days in force before (undefined: no TTL, or one we did not write). */
  readonly fromDays: number | undefined;
  readonly toDays: number;
  readonly statement: string;
}

export interface DroppedPartition {
  readonly table: string;
  readonly partition: string;
  readonly bytes: number;
}

export type AppliedRetention = Partial<Record<RetentionSignal, number>>;

/**
 * Whether a shorter TTL may be applied: 'allowed', or only the `<signal>=<days>` pairs in the set
 * (the operator reads them from the stack's annotation; a shortening deletes data for good).
 */
export type Shortening = 'allowed' | ReadonlySet<string>;

export const shorteningToken = (change: Pick<TtlChange, 'signal' | 'toDays'>) => `${change.signal}=${change.toDays}`;

/** A change that would delete rows: a TTL we wrote, made shorter. A TTL we cannot read is not judged. */
function isShortening(change: TtlChange): boolean {
  return change.fromDays !== undefined && change.toDays < change.fromDays;
}

export interface RetentionReport {
  readonly changes: TtlChange[];
  /** Shorter TTLs not applied because they were not confirmed (see Shortening). */
  readonly withheld: TtlChange[];
  /** TTLs read back after the changes, per signal (for status.appliedRetention). Undefined when tables disagree. */
  readonly inForce: AppliedRetention;
  /** Per table TTL days read back after the changes. */
  readonly tables: Record<string, number | null>;
  readonly partitionsDropped: DroppedPartition[];
  /** TTL days on ClickHouse's own log tables (set by the server config in-cluster; read-only here). */
  readonly systemLogTtlDays: Record<string, number | null>;
}

async function currentTtls(target: SqlTarget, context: DdlContext): Promise<Map<string, string | undefined>> {
  const rows = await target.query<{ name: string; engine_full: string }>(
    'SELECT name, engine_full FROM system.tables WHERE database = {database:String}',
    { database: context.database },
  );
  return new Map(rows.map((row) => [row.name, tableTtl(row.engine_full)]));
}

/** The ALTERs that bring every TTL to the spec; pure, given the TTLs read back. */
export function planTtlChanges(context: DdlContext, stack: TelemetryStack, current: Map<string, string | undefined>): TtlChange[] {
  const changes: TtlChange[] = [];
  for (const entry of TTL_TABLES) {
    if (!current.has(entry.table)) continue;
    const desired = stack.spec.retention[entry.signal];
    const ttl = current.get(entry.table);
    if (ttl === ttlExpression(entry.column, desired)) continue;
    changes.push({
      table: entry.table,
      signal: entry.signal,
      fromDays: ttlDays(ttl, entry.column),
      toDays: desired,
      statement: `ALTER TABLE ${qualified(context, entry.table)}${onCluster(context)} MODIFY TTL ${ttlExpression(entry.column, desired)}`,
    });
  }
  return changes;
}

async function systemLogTtls(target: SqlTarget): Promise<Record<string, number | null>> {
  const rows = await target.query<{ name: string; engine_full: string }>(
    "SELECT name, engine_full FROM system.tables WHERE database = 'system' AND name LIKE '%\\_log' AND engine LIKE '%MergeTree' ORDER BY name",
  );
  const out: Record<string, number | null> = {};
  for (const row of rows) {
    const ttl = tableTtl(row.engine_full);
    const days = ttl ? /toIntervalDay\((\d+)\)/.exec(ttl)?.[1] : undefined;
    out[row.name] = days === undefined ? null : Number(days);
  }
  return out;
}

interface PartitionRow {
  table: string;
  partition_id: string;
  bytes: number;
}

/** Oldest daily partitions of the raw tables to drop until the database fits in `capBytes`; never a table's newest. */
export function planPartitionDrops(partitions: readonly PartitionRow[], capBytes: number): DroppedPartition[] {
  let total = partitions.reduce((sum, row) => sum + Number(row.bytes), 0);
  if (total <= capBytes) return [];
  const daily = new Set(TTL_TABLES.filter((entry) => entry.dailyPartitions).map((entry) => entry.table));
  const newest = new Map<string, string>();
  for (const row of partitions) {
    if (!daily.has(row.table)) continue;
    if ((newest.get(row.table) ?? '') < row.partition_id) newest.set(row.table, row.partition_id);
  }
  const candidates = partitions
    .filter((row) => daily.has(row.table) && newest.get(row.table) !== row.partition_id)
    .sort((a, b) => a.partition_id.localeCompare(b.partition_id) || a.table.localeCompare(b.table));
  const drops: DroppedPartition[] = [];
  for (const row of candidates) {
    if (total <= capBytes) break;
    drops.push({ table: row.table, partition: row.partition_id, bytes: Number(row.bytes) });
    total -= Number(row.bytes);
  }
  return drops;
}

export async function applyRetention(target: SqlTarget, context: DdlContext, stack: TelemetryStack, shortening: Shortening = 'allowed'): Promise<RetentionReport> {
  const planned = planTtlChanges(context, stack, await currentTtls(target, context));
  const confirmed = (change: TtlChange) => shortening === 'allowed' || !isShortening(change) || shortening.has(shorteningToken(change));
  const changes = planned.filter(confirmed);
  const withheld = planned.filter((change) => !confirmed(change));
  for (const change of changes) await target.exec(change.statement);

  const partitionsDropped: DroppedPartition[] = [];
  const capGiB = stack.spec.retention.maxDiskGiB;
  if (capGiB !== undefined) {
    const partitions = await target.query<PartitionRow>(
      `SELECT table, partition_id, sum(bytes_on_disk) AS bytes FROM system.parts
       WHERE database = {database:String} AND active GROUP BY table, partition_id`,
      { database: context.database },
    );
    for (const drop of planPartitionDrops(partitions, capGiB * 1024 ** 3)) {
      await target.exec(`ALTER TABLE ${qualified(context, drop.table)}${onCluster(context)} DROP PARTITION ID ${quoteString(drop.partition)}`);
      partitionsDropped.push(drop);
    }
  }

  const after = await currentTtls(target, context);
  const tables: Record<string, number | null> = {};
  const bySignal = new Map<RetentionSignal, Set<number | null>>();
  for (const entry of TTL_TABLES) {
    if (!after.has(entry.table)) continue;
    const days = ttlDays(after.get(entry.table), entry.column) ?? null;
    tables[entry.table] = days;
    bySignal.set(entry.signal, (bySignal.get(entry.signal) ?? new Set()).add(days));
  }
  const inForce: AppliedRetention = {};
  for (const [signal, values] of bySignal) {
    const [only] = [...values];
    if (values.size === 1 && only !== null && only !== undefined) inForce[signal] = only;
  }
  return { changes, withheld, inForce, tables, partitionsDropped, systemLogTtlDays: await systemLogTtls(target) };
}
