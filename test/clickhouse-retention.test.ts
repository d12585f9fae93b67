/** Retention on the embedded engine: only differing TTLs change, the change is read back, a second run is empty; the disk cap plan. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirmedShortening, SHORTEN_RETENTION_ANNOTATION } from '../src/api/constants.ts';
import { changedNothing, reconcileClickHouse } from '../src/clickhouse/reconcile.ts';
import { diskCapToken, floorPartitionId, planPartitionDrops, RAW_FLOOR_DAYS, tableTtl, ttlDays, TTL_TABLES } from '../src/clickhouse/retention.ts';
import { DERIVED, RAW_TABLES } from '../src/clickhouse/tables.ts';
import { embeddedTarget, type SqlTarget } from '../src/clickhouse/target.ts';
import { withheldMessage } from '../src/operator/plan.ts';
import { stackFrom } from '../harness/stacks.ts';

const NO_USERS = { users: {} };
const options = { skipAccess: true };

let target: SqlTarget;
beforeAll(async () => {
  target = await embeddedTarget();
});
afterAll(async () => {
  await target?.close();
});

async function ttlsOf(database: string): Promise<Record<string, string | undefined>> {
  const rows = await target.query<{ name: string; engine_full: string }>("SELECT name, engine_full FROM system.tables WHERE database = {d:String} AND engine LIKE '%MergeTree'", { d: database });
  return Object.fromEntries(rows.map((row) => [row.name, tableTtl(row.engine_full)]));
}

describe('retention', () => {
  const spec = (retention: Record<string, number>) => stackFrom({ clickhouse: { database: 'retention' }, retention, access: { users: [{ name: 'alice' }] } });

  it('sets every TTL on first run, reads them back, and changes nothing the second time', async () => {
    const first = await reconcileClickHouse(target, spec({ eventsDays: 30, metricsDays: 60, rollupsDays: 400 }), NO_USERS, options);
    expect(first.retention!.changes.map((change) => change.table).sort()).toEqual(TTL_TABLES.map((entry) => entry.table).sort());
    expect(first.appliedRetention).toEqual({ eventsDays: 30, metricsDays: 60, rollupsDays: 400 });
    const ttls = await ttlsOf('retention');
    expect(ttls[RAW_TABLES.logs]).toBe('TimestampTime + toIntervalDay(30)');
    expect(ttls[RAW_TABLES.metricsHistogram]).toBe('toDateTime(TimeUnix) + toIntervalDay(60)');
    expect(ttls[DERIVED.dailyUsage]).toBe('day + toIntervalDay(400)');
    const second = await reconcileClickHouse(target, spec({ eventsDays: 30, metricsDays: 60, rollupsDays: 400 }), NO_USERS, options);
    expect(second.retention!.changes).toEqual([]);
    expect(second.appliedRetention).toEqual({ eventsDays: 30, metricsDays: 60, rollupsDays: 400 });
    expect(changedNothing(second)).toBe(true);
  });

  it('alters exactly the TTLs that differ', async () => {
    const before = await ttlsOf('retention');
    const report = await reconcileClickHouse(target, spec({ eventsDays: 14, metricsDays: 60, rollupsDays: 400 }), NO_USERS, options);
    // The raw logs and the tables that hold their events again, typed (v9, v10).
    const events = TTL_TABLES.filter((entry) => entry.signal === 'eventsDays');
    expect(events.map((entry) => entry.table)).toContain(DERIVED.dailyPrompts);
    expect(report.retention!.changes.map((change) => [change.table, change.fromDays, change.toDays])).toEqual(events.map((entry) => [entry.table, 30, 14]));
    const after = await ttlsOf('retention');
    for (const [table, ttl] of Object.entries(after)) {
      const entry = events.find((candidate) => candidate.table === table);
      if (entry) expect(ttl).toBe(`${entry.column} + toIntervalDay(14)`);
      else expect(ttl).toBe(before[table]);
    }
    expect(after[RAW_TABLES.logs]).toBe('TimestampTime + toIntervalDay(14)');
    const rollupsOnly = await reconcileClickHouse(target, spec({ eventsDays: 14, metricsDays: 60, rollupsDays: 500 }), NO_USERS, options);
    expect(rollupsOnly.retention!.changes.map((change) => change.table)).toEqual([DERIVED.dailyUsage, DERIVED.dailyMetricUsage]);
    expect(rollupsOnly.appliedRetention).toEqual({ eventsDays: 14, metricsDays: 60, rollupsDays: 500 });
  });

  it('replaces a TTL someone else wrote, reporting it as unknown before', async () => {
    await target.exec('ALTER TABLE retention.otel_metrics_gauge MODIFY TTL toDateTime(TimeUnix) + INTERVAL 1 WEEK');
    const report = await reconcileClickHouse(target, spec({ eventsDays: 14, metricsDays: 60, rollupsDays: 500 }), NO_USERS, options);
    expect(report.retention!.changes.map((change) => [change.table, change.fromDays, change.toDays])).toEqual([[RAW_TABLES.metricsGauge, undefined, 60]]);
  });

  it('withholds a shorter TTL unless that exact shortening is confirmed; longer ones need nothing', async () => {
    const before = await ttlsOf('retention');
    const unconfirmed = await reconcileClickHouse(target, spec({ eventsDays: 7, metricsDays: 90, rollupsDays: 500 }), NO_USERS, { ...options, shortening: new Set(['eventsDays=8']) });
    const events = TTL_TABLES.filter((entry) => entry.signal === 'eventsDays').map((entry) => [entry.table, 14, 7]);
    expect(unconfirmed.retention!.withheld.map((change) => [change.table, change.fromDays, change.toDays])).toEqual(events);
    // The longer metrics TTL went ahead in the same run.
    expect(unconfirmed.retention!.changes.every((change) => change.signal === 'metricsDays' && change.fromDays === 60 && change.toDays === 90)).toBe(true);
    expect(unconfirmed.retention!.changes.length).toBeGreaterThan(0);
    expect((await ttlsOf('retention'))[RAW_TABLES.logs]).toBe(before[RAW_TABLES.logs]);
    expect(unconfirmed.appliedRetention).toEqual({ eventsDays: 14, metricsDays: 90, rollupsDays: 500 });

    const confirmed = await reconcileClickHouse(target, spec({ eventsDays: 7, metricsDays: 90, rollupsDays: 500 }), NO_USERS, { ...options, shortening: new Set(['eventsDays=7']) });
    expect(confirmed.retention!.withheld).toEqual([]);
    expect(confirmed.retention!.changes.map((change) => [change.table, change.fromDays, change.toDays])).toEqual(events);
    expect((await ttlsOf('retention'))[RAW_TABLES.logs]).toBe('TimestampTime + toIntervalDay(7)');
    await reconcileClickHouse(target, spec({ eventsDays: 14, metricsDays: 60, rollupsDays: 500 }), NO_USERS, options);
  });

  it('reads the confirmation from the stack annotation, ignoring entries that are not <signal>=<days>', () => {
    expect([...confirmedShortening({ [SHORTEN_RETENTION_ANNOTATION]: ' eventsDays=30, metricsDays=7 ,junk,rollupsDays=x' })]).toEqual(['eventsDays=30', 'metricsDays=7']);
    expect(confirmedShortening(undefined).size).toBe(0);
    expect(confirmedShortening({ other: 'eventsDays=30' }).size).toBe(0);
  });

  it('parses TTL clauses as ClickHouse prints them', () => {
    expect(tableTtl('MergeTree PARTITION BY a ORDER BY a TTL a + toIntervalDay(3) SETTINGS index_granularity = 8192')).toBe('a + toIntervalDay(3)');
    expect(tableTtl('MergeTree ORDER BY a SETTINGS index_granularity = 8192')).toBeUndefined();
    expect(ttlDays('TimestampTime + toIntervalDay(90)', 'TimestampTime')).toBe(90);
    expect(ttlDays('Timestamp + toIntervalDay(90)', 'TimestampTime')).toBeUndefined();
  });

  it('the disk cap drops the oldest daily partitions first, never a table\'s newest, and only as many as needed', () => {
    const GiB = 1024 ** 3;
    const partitions = [
      { table: RAW_TABLES.logs, partition_id: '20261001', bytes: GiB },
      { table: RAW_TABLES.logs, partition_id: '20261002', bytes: GiB },
      { table: RAW_TABLES.logs, partition_id: '20261003', bytes: GiB },
      { table: RAW_TABLES.metricsSum, partition_id: '20261001', bytes: GiB / 2 },
      { table: RAW_TABLES.metricsSum, partition_id: '20261003', bytes: GiB / 2 },
      { table: DERIVED.dailyUsage, partition_id: '202609', bytes: GiB },
    ];
    // 5 GiB in total; a 3 GiB cap needs 2 GiB dropped: logs 20261001 (1) then metrics 20261001 (0.5), then logs 20261002 (1).
    expect(planPartitionDrops(partitions, 3 * GiB).map((drop) => `${drop.table}/${drop.partition}`)).toEqual([
      `${RAW_TABLES.logs}/20261001`,
      `${RAW_TABLES.metricsSum}/20261001`,
      `${RAW_TABLES.logs}/20261002`,
    ]);
    expect(planPartitionDrops(partitions, 5 * GiB)).toEqual([]);
    // Even a tiny cap keeps each table's newest partition and the rollups.
    expect(planPartitionDrops(partitions, 1).map((drop) => drop.partition)).not.toContain('20261003');
  });

  it('runs the disk cap check against system.parts (under the cap: nothing dropped)', async () => {
    const report = await reconcileClickHouse(target, spec({ eventsDays: 14, metricsDays: 60, rollupsDays: 500, maxDiskGiB: 1 }), NO_USERS, options);
    expect(report.retention!.partitionsDropped).toEqual([]);
  });

  it('the disk cap never drops a partition of the last RAW_FLOOR_DAYS days', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    const floor = floorPartitionId(now);
    expect(floor).toBe('20261123');
    const partitions = ['20261101', '20261122', '20261123', '20261129', '20261130'].map((id) => ({ table: RAW_TABLES.logs, partition_id: id, bytes: 100 }));
    // A cap of 1 byte would take every partition but the newest; the floor keeps the last week.
    expect(planPartitionDrops(partitions, 1, floor).map((drop) => drop.partition)).toEqual(['20261101', '20261122']);
  });
});

describe('the disk cap on the engine: confirmation for a new or lower cap, a floor', () => {
  const KiB = 1024;
  const now = new Date();
  const database = 'diskcap';
  // Caps in KiB (capUnitBytes) so that a few small partitions exercise the cap; a large volume so that the spec validates.
  const stack = (maxDiskGiB?: number) =>
    stackFrom({ clickhouse: { database, storage: { size: '2000Ti' } }, retention: { eventsDays: 365, metricsDays: 365, rollupsDays: 400, ...(maxDiskGiB ? { maxDiskGiB } : {}) } });
  const run = (maxDiskGiB: number | undefined, confirmed: string[]) =>
    reconcileClickHouse(target, stack(maxDiskGiB), NO_USERS, { ...options, shortening: new Set(confirmed), retention: { now, capUnitBytes: KiB } });
  const day = (daysAgo: number) => new Date(now.getTime() - daysAgo * 86_400_000).toISOString().slice(0, 10);
  async function insertDay(daysAgo: number): Promise<void> {
    // Random text does not compress: each partition holds a few KiB on disk.
    await target.exec(`INSERT INTO ${database}.otel_logs (Timestamp, ServiceName, Body) SELECT toDateTime64('${day(daysAgo)} 12:00:00', 9), 'claude-code', randomPrintableASCII(4000) FROM numbers(4)`);
  }
  async function partitionIds(): Promise<string[]> {
    const rows = await target.query<{ id: string }>(`SELECT DISTINCT partition_id AS id FROM system.parts WHERE database = '${database}' AND table = 'otel_logs' AND active ORDER BY id`);
    return rows.map((row) => row.id);
  }
  async function totalBytes(): Promise<number> {
    const [row] = await target.query<{ bytes: number }>(`SELECT sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = '${database}' AND active`);
    return Number(row!.bytes);
  }

  it('withholds a first cap that would drop data until confirmed, then drops only what it needs', async () => {
    await reconcileClickHouse(target, stack(), NO_USERS, options);
    for (const daysAgo of [40, 30, 20, 2]) await insertDay(daysAgo);
    const before = await partitionIds();
    expect(before).toHaveLength(4);
    // A cap just under the total: dropping the oldest partition is enough.
    const cap = Math.floor((await totalBytes()) / KiB) - 1;

    const unconfirmed = await run(cap, []);
    expect(unconfirmed.retention!.partitionsDropped).toEqual([]);
    // The oldest day: its raw partition and the same day of the per-prompt rollup filled from it.
    expect(unconfirmed.retention!.diskCap.withheld).toMatchObject({ fromGiB: undefined, toGiB: cap, partitions: 2 });
    expect(unconfirmed.retention!.diskCap.inForceGiB).toBeUndefined();
    expect(await partitionIds()).toEqual(before);

    const confirmed = await run(cap, [diskCapToken(cap)]);
    expect(confirmed.retention!.partitionsDropped.map((drop) => `${drop.table}/${drop.partition}`).sort()).toEqual([`${DERIVED.dailyPrompts}/${before[0]}`, `${RAW_TABLES.logs}/${before[0]}`]);
    expect(confirmed.retention!.diskCap).toMatchObject({ inForceGiB: cap, shortfallBytes: 0 });
    expect(confirmed.retention!.diskCap.withheld).toBeUndefined();
    expect(await partitionIds()).toEqual(before.slice(1));
  });

  it('keeps enforcing the confirmed cap without a new confirmation, and withholds a lower one', async () => {
    const cap = (await run(undefined, [])).retention!.diskCap.inForceGiB;
    // Removing the cap from the spec clears it; set it again (confirmed) for this test.
    expect(cap).toBeUndefined();
    const current = Math.floor((await totalBytes()) / KiB) + 1;
    expect((await run(current, [diskCapToken(current)])).retention!.diskCap.inForceGiB).toBe(current);
    // New data arrives: the cap in force drops the oldest partition with no confirmation.
    await insertDay(35);
    const enforced = await run(current, []);
    expect([...new Set(enforced.retention!.partitionsDropped.map((drop) => drop.partition))]).toEqual([day(35).replaceAll('-', '')]);
    expect(enforced.retention!.diskCap.withheld).toBeUndefined();

    // A lower cap that would drop data waits; the one in force stays.
    const lower = Math.floor((await totalBytes()) / KiB / 2);
    const lowered = await run(lower, []);
    expect(lowered.retention!.diskCap).toMatchObject({ inForceGiB: current, withheld: { fromGiB: current, toGiB: lower } });
    expect(lowered.retention!.partitionsDropped).toEqual([]);
  });

  it('a cap below what the floor keeps drops nothing of the last week and reports the shortfall', async () => {
    const floorOnly = await partitionIds();
    await insertDay(RAW_FLOOR_DAYS - 2);
    const tiny = await run(1, [diskCapToken(1)]);
    const kept = await partitionIds();
    expect(kept).toContain(day(2).replaceAll('-', ''));
    expect(kept).toContain(day(RAW_FLOOR_DAYS - 2).replaceAll('-', ''));
    expect(kept.every((id) => id >= floorPartitionId(now))).toBe(true);
    expect(new Set(tiny.retention!.partitionsDropped.map((drop) => drop.partition)).size).toBe(floorOnly.filter((id) => id < floorPartitionId(now)).length);
    expect(tiny.retention!.diskCap.shortfallBytes).toBeGreaterThan(0);
  });
});


describe('the operator\'s message for a withheld disk cap', () => {
  it('names the cap, what it would drop, the cap that stays and the one command that confirms it', () => {
    const stack = stackFrom({ retention: { maxDiskGiB: 5 } }, 'local', 'telemetry');
    const message = withheldMessage(stack, [{ signal: 'maxDiskGiB', fromDays: 8, toDays: 5, tables: [], partitions: 3, bytes: 3 * 1024 ** 3 }]);
    expect(message).toContain('retention.maxDiskGiB 8 -> 5 would drop 3 daily partition(s) (3.00 GiB) at once');
    expect(message).toContain('(the cap of 8 GiB stays in force)');
    expect(message).toContain(`kubectl annotate telemetrystack local -n telemetry ${SHORTEN_RETENTION_ANNOTATION}=maxDiskGiB=5 --overwrite`);
  });
});
