/**
 * Retention in place: each telemetry table's TTL is read back from ClickHouse and
 * changed (ALTER TABLE ... MODIFY TTL) only where it differs from the spec. The
 * optional disk cap drops the oldest daily partitions of the raw tables first, never the
 * last RAW_FLOOR_DAYS days; a lowered cap that would drop data waits for the same
 * confirmation as a shorter TTL (the cap in force is kept in the raw logs table's comment,
 * read back like the TTLs).
 */
import type { TelemetryStack } from '../api/resource.ts';
import { TYPED_TABLES } from './schema.ts';
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
  // The typed event tables (v9) hold the events again, typed: kept and dropped day by day with them.
  ...TYPED_TABLES.map((table) => ({ table, column: 'toDateTime(timestamp)', signal: 'eventsDays' as const, dailyPartitions: true })),
  // The per-prompt and counter rollups (v10) answer what the raw rows answered: their retention, by day
  // (counted from the day's start, so a day leaves them up to a day before its last raw rows expire).
  { table: DERIVED.dailyPrompts, column: 'day', signal: 'eventsDays', dailyPartitions: true },
  { table: DERIVED.dailyCounters, column: 'day', signal: 'metricsDays', dailyPartitions: true },
  { table: DERIVED.dailyUsage, column: 'day', signal: 'rollupsDays', dailyPartitions: false },
  { table: DERIVED.dailyMetricUsage, column: 'day', signal: 'rollupsDays', dailyPartitions: false },
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

export const shorteningToken = (change: { readonly signal: RetentionSignal | 'maxDiskGiB'; readonly toDays: number }) => `${change.signal}=${change.toDays}`;

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
  /** The disk cap in force after the run, and a lowered cap that waits for its confirmation. */
  readonly diskCap: DiskCapReport;
  /** TTL days on ClickHouse's own log tables (set by the server config in-cluster; read-only here). */
  readonly systemLogTtlDays: Record<string, number | null>;
}

export interface DiskCapReport {
  /** `retention.maxDiskGiB` in force after the run (read back), undefined for no cap. */
  readonly inForceGiB: number | undefined;
  /** A new or lower cap that would drop partitions, not applied until `maxDiskGiB=<toGiB>` is confirmed. */
  readonly withheld?: { readonly fromGiB: number | undefined; readonly toGiB: number; readonly partitions: number; readonly bytes: number };
  /** Bytes over the cap in force that only the floor (RAW_FLOOR_DAYS of raw data, and the rollups) keeps. */
  readonly shortfallBytes: number;
}

/** Options of the retention step beyond the stack itself. */
export interface RetentionOptions {
  /** Which shorter TTLs and lower disk caps may be applied (default: all). */
  readonly shortening?: Shortening;
  /** The clock the disk cap's floor counts from. */
  readonly now?: Date;
  /** Bytes in one unit of `maxDiskGiB`: 1 GiB; tests shrink it to exercise the cap on small data. */
  readonly capUnitBytes?: number;
}

/** The token that confirms a disk cap which drops data, in the same annotation as shorter TTLs. */
export const diskCapToken = (gib: number) => `maxDiskGiB=${gib}`;

const CAP_COMMENT = /^telemetry-stack maxDiskGiB=(\d+)$/;
const capComment = (gib: number | undefined) => (gib === undefined ? '' : `telemetry-stack maxDiskGiB=${gib}`);

/** The cap in force, kept as the raw logs table's comment (so that it lives with the data it limits). */
async function capInForce(target: SqlTarget, context: DdlContext): Promise<number | undefined> {
  const rows = await target.query<{ comment: string }>('SELECT comment FROM system.tables WHERE database = {database:String} AND name = {table:String}', {
    database: context.database,
    table: RAW_TABLES.logs,
  });
  const match = CAP_COMMENT.exec(rows[0]?.comment ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * The disk cap: drops what the cap asks for when the cap is the one in force or a higher one;
 * a new or lower cap that would drop data is withheld (the cap in force, if any, still applies)
 * until confirmed. Dropping a partition is immediate and for good, so it gets the same
 * confirmation as a shorter TTL.
 */
async function applyDiskCap(target: SqlTarget, context: DdlContext, stack: TelemetryStack, options: RetentionOptions): Promise<{ dropped: DroppedPartition[]; report: DiskCapReport }> {
  const desired = stack.spec.retention.maxDiskGiB;
  const before = await capInForce(target, context);
  const record = async (gib: number | undefined) => {
    if (gib !== before) await target.exec(`ALTER TABLE ${qualified(context, RAW_TABLES.logs)}${onCluster(context)} MODIFY COMMENT ${quoteString(capComment(gib))}`);
  };
  if (desired === undefined) {
    await record(undefined);
    return { dropped: [], report: { inForceGiB: undefined, shortfallBytes: 0 } };
  }
  const unit = options.capUnitBytes ?? 1024 ** 3;
  const floorId = floorPartitionId(options.now ?? new Date());
  const partitions = await target.query<PartitionRow>(
    `SELECT table, partition_id, sum(bytes_on_disk) AS bytes FROM system.parts
     WHERE database = {database:String} AND active GROUP BY table, partition_id`,
    { database: context.database },
  );
  const shortening = options.shortening ?? 'allowed';
  let cap: number | undefined = desired;
  let drops = planPartitionDrops(partitions, desired * unit, floorId);
  let withheld: DiskCapReport['withheld'];
  const lowered = before === undefined || desired < before;
  if (drops.length > 0 && lowered && shortening !== 'allowed' && !shortening.has(diskCapToken(desired))) {
    withheld = { fromGiB: before, toGiB: desired, partitions: drops.length, bytes: drops.reduce((sum, drop) => sum + drop.bytes, 0) };
    cap = before;
    drops = before === undefined ? [] : planPartitionDrops(partitions, before * unit, floorId);
  }
  for (const drop of drops) {
    await target.exec(`ALTER TABLE ${qualified(context, drop.table)}${onCluster(context)} DROP PARTITION ID ${quoteString(drop.partition)}`);
  }
  await record(cap);
  const remaining = partitions.reduce((sum, row) => sum + Number(row.bytes), 0) - drops.reduce((sum, drop) => sum + drop.bytes, 0);
  const shortfallBytes = cap === undefined ? 0 : Math.max(0, remaining - cap * unit);
  return { dropped: drops, report: { inForceGiB: cap, ...(withheld ? { withheld } : {}), shortfallBytes } };
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

/**
 * The disk cap never drops the raw data of the last week, whatever the cap: with rollups (which
 * are never dropped) larger than the cap, a cap alone would otherwise leave one day of raw data.
 * When the floor is what keeps the database above the cap, the report says so (capShortfallBytes).
 */
export const RAW_FLOOR_DAYS = 7;

/** `YYYYMMDD`, the partition id of a daily partition (`PARTITION BY toDate(...)`), of the day `days` before `now` (UTC). */
export function floorPartitionId(now: Date, days: number = RAW_FLOOR_DAYS): string {
  const day = new Date(now.getTime() - days * 86_400_000);
  return day.toISOString().slice(0, 10).replaceAll('-', '');
}

/**
 * Oldest daily partitions of the raw tables to drop until the database fits in `capBytes`; never a
 * table's newest, and never one of the floor's days (partition id >= `floorId`).
 */
export function planPartitionDrops(partitions: readonly PartitionRow[], capBytes: number, floorId = ''): DroppedPartition[] {
  let total = partitions.reduce((sum, row) => sum + Number(row.bytes), 0);
  if (total <= capBytes) return [];
  const daily = new Set(TTL_TABLES.filter((entry) => entry.dailyPartitions).map((entry) => entry.table));
  const newest = new Map<string, string>();
  for (const row of partitions) {
    if (!daily.has(row.table)) continue;
    if ((newest.get(row.table) ?? '') < row.partition_id) newest.set(row.table, row.partition_id);
  }
  const candidates = partitions
    .filter((row) => daily.has(row.table) && newest.get(row.table) !== row.partition_id && (floorId === '' || row.partition_id < floorId))
    .sort((a, b) => a.partition_id.localeCompare(b.partition_id) || a.table.localeCompare(b.table));
  const drops: DroppedPartition[] = [];
  for (const row of candidates) {
    if (total <= capBytes) break;
    drops.push({ table: row.table, partition: row.partition_id, bytes: Number(row.bytes) });
    total -= Number(row.bytes);
  }
  return drops;
}

export async function applyRetention(target: SqlTarget, context: DdlContext, stack: TelemetryStack, options: RetentionOptions = {}): Promise<RetentionReport> {
  const shortening = options.shortening ?? 'allowed';
  const planned = planTtlChanges(context, stack, await currentTtls(target, context));
  const confirmed = (change: TtlChange) => shortening === 'allowed' || !isShortening(change) || shortening.has(shorteningToken(change));
  const changes = planned.filter(confirmed);
  const withheld = planned.filter((change) => !confirmed(change));
  for (const change of changes) await target.exec(change.statement);

  const { dropped: partitionsDropped, report: diskCap } = await applyDiskCap(target, context, stack, options);

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
  return { changes, withheld, inForce, tables, partitionsDropped, diskCap, systemLogTtlDays: await systemLogTtls(target) };
}
