/**
 * Migrations on the embedded engine: from an empty database, from every earlier version
 * with data in it, after a partial failure, and rendered for a cluster (parsed by the
 * engine's own parser). Also: the collector exporter's INSERT statements work unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSyntax, planAccess, EMPTY_ACCESS_STATE } from '../src/clickhouse/access.ts';
import { LATEST_SCHEMA_VERSION, migrate, appliedVersions } from '../src/clickhouse/migrate.ts';
import { planTtlChanges } from '../src/clickhouse/retention.ts';
import { MIGRATIONS, TYPED_VIEWS, typedTable } from '../src/clickhouse/schema.ts';
import { DERIVED, RAW_TABLES } from '../src/clickhouse/tables.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { embeddedTarget } from '../src/clickhouse/target.ts';
import { emptyTruth, generateExport, type FixtureTruth } from '../src/fixtures/claude-code.ts';
import { insertExport } from './support/clickhouse.ts';
import { stackFrom } from '../harness/stacks.ts';

let target: SqlTarget;
beforeAll(async () => {
  target = await embeddedTarget();
});
afterAll(async () => {
  await target?.close();
});

const tablesOf = async (database: string) =>
  (await target.query<{ name: string }>('SELECT name FROM system.tables WHERE database = {d:String} ORDER BY name', { d: database })).map((row) => row.name);

async function costByUser(database: string): Promise<Record<string, number>> {
  const rows = await target.query<{ user: string; cost: number }>(`SELECT user, sum(cost_usd) AS cost FROM ${database}.${DERIVED.dailyUsage} GROUP BY user`);
  return Object.fromEntries(rows.map((row) => [row.user, Math.round(row.cost * 1e6) / 1e6]));
}
/**
 * What the tables filled at insert hold against what the raw rows say: per typed view its rows and
 * the raw events of its name; the per-prompt rollup's event count; the counters' delta sum. Equal
 * pairs mean every raw row was copied exactly once (by the backfill or the materialized views).
 */
async function derivedAgainstRaw(database: string): Promise<{ derived: Record<string, number>; raw: Record<string, number> }> {
  const raw = Object.fromEntries(
    (await target.query<{ event: string; rows: number }>(`SELECT ClaudeEvent AS event, count() AS rows FROM ${database}.otel_logs GROUP BY event`)).map((row) => [row.event, Number(row.rows)]),
  );
  const derived: Record<string, number> = {};
  const expected: Record<string, number> = {};
  for (const view of TYPED_VIEWS) {
    const [row] = await target.query<{ rows: number }>(`SELECT count() AS rows FROM ${database}.${typedTable(view.view)}`);
    derived[view.view] = Number(row!.rows);
    expected[view.view] = raw[view.event] ?? 0;
  }
  const [prompts] = await target.query<{ derived: number; raw: number }>(
    `SELECT (SELECT sum(events) FROM ${database}.${DERIVED.dailyPrompts}) AS derived, (SELECT countIf(ClaudeEvent != '') FROM ${database}.otel_logs) AS raw`,
  );
  derived[DERIVED.dailyPrompts] = Number(prompts!.derived);
  expected[DERIVED.dailyPrompts] = Number(prompts!.raw);
  const [counters] = await target.query<{ derived: number; raw: number }>(
    `SELECT (SELECT round(sum(delta), 6) FROM ${database}.${DERIVED.dailyCounters}) AS derived,
            (SELECT round(sumIf(Value, AggregationTemporality != 2), 6) FROM ${database}.otel_metrics_sum WHERE IsMonotonic OR AggregationTemporality = 1) AS raw`,
  );
  derived[DERIVED.dailyCounters] = Number(counters!.derived);
  expected[DERIVED.dailyCounters] = Number(counters!.raw);
  return { derived, raw: expected };
}

const rounded = (truth: FixtureTruth) => Object.fromEntries(Object.entries(truth.costByUser).map(([user, cost]) => [user, Math.round(cost * 1e6) / 1e6]));

describe('migrations', () => {
  it('apply in order on an empty database, record every version, and do nothing the second time', async () => {
    const applied = await migrate(target, { database: 'fresh' });
    expect(applied.map((migration) => migration.version)).toEqual(MIGRATIONS.map((migration) => migration.version));
    expect([...(await appliedVersions(target, { database: 'fresh' }))].sort((a, b) => a - b)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
    const tables = await tablesOf('fresh');
    for (const table of [...Object.values(RAW_TABLES), DERIVED.apiRequests, DERIVED.dailyUsage, DERIVED.dailyUsageView, DERIVED.metricIncrements]) {
      expect(tables).toContain(table);
    }
    expect(await migrate(target, { database: 'fresh' })).toEqual([]);
  });

  it('accept the collector exporter\'s INSERTs unchanged, deriving EndUser from enduser.id', async () => {
    await migrate(target, { database: 'exporter' });
    // Column lists as the contrib exporter (v0.159.0) sends them; EventName is optional there.
    await target.exec(`INSERT INTO exporter.otel_logs (Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,
      ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes, EventName)
      VALUES (now64(9), '', '', 0, 'INFO', 9, 'claude-code', 'claude_code.api_request', '', {'service.name': 'claude-code'}, '', 'com.anthropic.claude_code.events', '2.1.130', {},
      {'event.name': 'api_request', 'enduser.id': 'alice', 'user.email': 'mallory@example.com', 'cost_usd': '0.5', 'model': 'm'}, 'claude_code.api_request')`);
    await target.exec(`INSERT INTO exporter.otel_metrics_sum (ResourceAttributes, ResourceSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, ScopeDroppedAttrCount,
      ScopeSchemaUrl, ServiceName, MetricName, MetricDescription, MetricUnit, Attributes, StartTimeUnix, TimeUnix, Value, Flags,
      \`Exemplars.FilteredAttributes\`, \`Exemplars.TimeUnix\`, \`Exemplars.Value\`, \`Exemplars.SpanId\`, \`Exemplars.TraceId\`, AggregationTemporality, IsMonotonic)
      VALUES ({}, '', 'com.anthropic.claude_code', '2.1.130', {}, 0, '', 'claude-code', 'claude_code.cost.usage', '', 'USD', {'enduser.id': 'alice', 'model': 'm'},
      now64(9), now64(9), 0.5, 0, [], [], [], [], [], 1, true)`);
    const [log] = await target.query<{ EndUser: string; user: string }>(`SELECT EndUser, user FROM exporter.otel_logs JOIN exporter.${DERIVED.apiRequests} ON 1 = 1`);
    // The authenticated user wins over what the client claims.
    expect(log).toEqual({ EndUser: 'alice', user: 'alice' });
    const [point] = await target.query<{ EndUser: string }>('SELECT EndUser FROM exporter.otel_metrics_sum');
    expect(point!.EndUser).toBe('alice');
    const [rollup] = await target.query<{ user: string; cost: number }>(`SELECT user, sum(cost_usd) AS cost FROM exporter.${DERIVED.dailyUsage} GROUP BY user`);
    expect(rollup).toEqual({ user: 'alice', cost: 0.5 });
  });

  for (const from of MIGRATIONS.slice(0, -1).map((migration) => migration.version)) {
    it(`upgrade from version ${from} with data keeps every row and fills the rollup exactly once`, async () => {
      const database = `upgrade_from_${from}`;
      expect((await migrate(target, { database }, { upTo: from })).map((m) => m.version)).toEqual(MIGRATIONS.filter((m) => m.version <= from).map((m) => m.version));
      const truth = emptyTruth();
      const rows = await insertExport(target, generateExport({ seed: from, users: 3, days: 10 }, truth), database);
      const applied = await migrate(target, { database });
      expect(applied.map((m) => m.version)).toEqual(MIGRATIONS.filter((m) => m.version > from).map((m) => m.version));
      const [counts] = await target.query<{ logs: number; sums: number; stamped: number }>(
        `SELECT (SELECT count() FROM ${database}.otel_logs) AS logs, (SELECT count() FROM ${database}.otel_metrics_sum) AS sums,
                (SELECT countIf(EndUser != '') FROM ${database}.otel_logs) AS stamped`,
      );
      expect(counts).toEqual({ logs: rows.logs.length, sums: rows.sums.length, stamped: rows.logs.length });
      expect(await costByUser(database)).toEqual(rounded(truth));
      const backfilled = await derivedAgainstRaw(database);
      expect(backfilled.derived[DERIVED.apiRequests]).toBeGreaterThan(0);
      expect(backfilled.derived).toEqual(backfilled.raw);
      // Rows arriving after the upgrade flow through the materialized view, on top of the backfill.
      const later = emptyTruth();
      await insertExport(target, generateExport({ seed: 100 + from, users: 3, days: 3, start: '2026-11-02' }, later), database);
      const total = await costByUser(database);
      for (const [user, cost] of Object.entries(truth.costByUser)) expect(total[user]).toBeCloseTo(cost + (later.costByUser[user] ?? 0), 5);
      const both = await derivedAgainstRaw(database);
      expect(both.derived[DERIVED.apiRequests]).toBeGreaterThan(backfilled.derived[DERIVED.apiRequests]!);
      expect(both.derived).toEqual(both.raw);
      // Two migrations with a day-by-day backfill each, on 2 cores shared with other work.
    }, 180_000);
  }

  it('repeat a migration interrupted after some statements without double counting', async () => {
    const database = 'partial';
    await migrate(target, { database }, { upTo: 3 });
    const truth = emptyTruth();
    await insertExport(target, generateExport({ seed: 5, users: 3, days: 10 }, truth), database);
    // Version 4 ran completely (table, view, backfill) but the process died before recording it.
    const rollup = MIGRATIONS.find((m) => m.version === 4)!;
    for (const statement of rollup.statements({ database })) await target.exec(statement);
    expect(await costByUser(database)).toEqual(rounded(truth));
    expect((await migrate(target, { database })).map((m) => m.version)).toEqual(MIGRATIONS.filter((m) => m.version >= 4).map((m) => m.version));
    expect(await costByUser(database)).toEqual(rounded(truth));
  });

  it('repeat the typed-table backfill interrupted half-way without copying a row twice, one day partition per insert', async () => {
    const database = 'partial_typed';
    await migrate(target, { database }, { upTo: 8 });
    await insertExport(target, generateExport({ seed: 9, users: 3, days: 10 }, emptyTruth()), database);
    const statements: string[] = [];
    const recording: SqlTarget = { ...target, exec: async (sql) => { statements.push(sql); await target.exec(sql); }, query: target.query.bind(target) };
    // Versions 9 and 10 ran completely (tables, views, backfill) but the process died before recording them.
    for (const version of [9, 10]) {
      const migration = MIGRATIONS.find((m) => m.version === version)!;
      for (const statement of migration.statements({ database })) await target.exec(statement);
      await migration.backfill!(recording, { database });
    }
    const inserts = statements.filter((sql) => sql.startsWith('INSERT'));
    const [days] = await target.query<{ days: number }>(`SELECT uniqExact(toDate(TimestampTime)) AS days FROM ${database}.otel_logs`);
    expect(Number(days!.days)).toBeGreaterThan(1);
    expect(inserts.length).toBeGreaterThan(Number(days!.days));
    for (const insert of inserts) expect(insert.match(/_partition_id = '\d{8}'/g)).toHaveLength(1);
    expect((await migrate(target, { database })).map((m) => m.version)).toEqual([9, 10]);
    const after = await derivedAgainstRaw(database);
    expect(after.derived).toEqual(after.raw);
  }, 180_000);

  it('render ON CLUSTER DDL with Replicated engines that the engine\'s parser accepts', async () => {
    const context = { database: 'claude_code', cluster: 'telemetry' };
    const statements = MIGRATIONS.flatMap((migration) => migration.statements(context));
    for (const statement of statements) {
      await checkSyntax(target, statement);
      if (/^(CREATE|ALTER)/.test(statement)) expect(statement).toContain('ON CLUSTER `telemetry`');
      if (/^CREATE TABLE/.test(statement)) expect(statement).toMatch(/ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/claude_code\/\w+', '\{replica\}'\)/);
    }
    const stack = stackFrom({ clickhouse: { mode: 'external', external: { endpoint: 'https://ch.example:8443', cluster: 'telemetry', credentialsSecret: { name: 'ch' } } }, access: { users: [{ name: 'alice' }] } });
    const ttl = planTtlChanges(context, stack, new Map([[RAW_TABLES.logs, undefined]]));
    // External mode: the collector's ingest user is created too, from its Secret's hash.
    const access = planAccess(context, stack, { users: { alice: { passwordSha256: 'a'.repeat(64) }, otel_ingest: { passwordSha256: 'b'.repeat(64) } } }, EMPTY_ACCESS_STATE);
    for (const statement of [...ttl.map((change) => change.statement), ...access.statements.map((s) => s.sql)]) {
      await checkSyntax(target, statement);
      expect(statement).toContain('ON CLUSTER `telemetry`');
    }
  });
});
