/**
 * Issue 16: reports read typed tables and rollups filled at insert, not the raw records' attribute
 * maps. The typed views answer exactly as the v8 views over the maps did (types and rows), on a
 * database upgraded from v8 (the backfill) and on one filled through the materialized views; the
 * reports rewritten on the rollups give the answers their v8 SQL over the raw rows gave; and no
 * library query but the two that must (one session's trace, the unknown-fields census) reads a raw table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/clickhouse/migrate.ts';
import { loadExport } from '../src/clickhouse/otlp-json.ts';
import { bindParams, loadLibrary } from '../src/clickhouse/queries.ts';
import { TYPED_VIEWS } from '../src/clickhouse/schema.ts';
import { RAW_TABLES } from '../src/clickhouse/tables.ts';
import { embeddedTarget, type SqlTarget } from '../src/clickhouse/target.ts';

const SAMPLE = new URL('../examples/sample-export', import.meta.url).pathname;
const UPGRADED = 'typed_upgraded';
const FRESH = 'typed_fresh';
const RANGE = { from: '2026-10-03', to: '2026-10-08' };

/** The v8 SQL of the reports rewritten on the rollups: over the events view (attribute maps) and the metric increments view. */
const V8_REPORTS: Record<string, string> = {
  'active-users': `SELECT day, uniqExact(user) AS active_users, uniqExactIf(session_id, session_id != '' AND NOT startsWith(session_id, 'prompt:')) AS sessions
    FROM claude_code_events WHERE day BETWEEN {from:Date} AND {to:Date} GROUP BY day ORDER BY day`,
  'prompt-cost': `SELECT prompt_id, any(session_id) AS session_id, any(user) AS user, countIf(event = 'api_request') AS api_requests, countIf(event = 'tool_result') AS tool_calls,
      round(sumIf(if(attributes['cost_usd'] != '', toFloat64OrZero(attributes['cost_usd']), toFloat64OrZero(attributes['cost_usd_micros']) / 1000000), event = 'api_request'), 6) AS cost_usd
    FROM claude_code_events WHERE day BETWEEN {from:Date} AND {to:Date} AND prompt_id != '' GROUP BY prompt_id ORDER BY cost_usd DESC, prompt_id LIMIT {limit:UInt32}`,
  productivity: `SELECT user,
      sumIf(increment, metric = 'claude_code.lines_of_code.count' AND attributes['type'] = 'added') AS lines_added,
      sumIf(increment, metric = 'claude_code.lines_of_code.count' AND attributes['type'] = 'removed') AS lines_removed,
      sumIf(increment, metric = 'claude_code.commit.count') AS commits,
      sumIf(increment, metric = 'claude_code.pull_request.count') AS pull_requests,
      round(sumIf(increment, metric = 'claude_code.cost.usage'), 6) AS cost_usd,
      if(pull_requests = 0, NULL, round(cost_usd / pull_requests, 4)) AS cost_per_pull_request
    FROM claude_code_metric_increments WHERE day BETWEEN {from:Date} AND {to:Date} GROUP BY user ORDER BY user`,
  'active-time': `SELECT user, attributes['type'] AS type, round(sum(increment) / 3600, 4) AS active_hours
    FROM claude_code_metric_increments WHERE metric = 'claude_code.active_time.total' AND day BETWEEN {from:Date} AND {to:Date} GROUP BY user, type ORDER BY user, type`,
  'edit-acceptance': `SELECT attributes['language'] AS language, sumIf(increment, attributes['decision'] = 'accept') AS accepted, sumIf(increment, attributes['decision'] = 'reject') AS rejected,
      round(if(accepted + rejected = 0, 0, accepted / (accepted + rejected)), 4) AS acceptance_rate
    FROM claude_code_metric_increments WHERE metric = 'claude_code.code_edit_tool.decision' AND day BETWEEN {from:Date} AND {to:Date} GROUP BY language ORDER BY language`,
};

let target: SqlTarget;
const viewsAtV8: Record<string, string> = {};
const reportsAtV8: Record<string, string> = {};

/** The sample export: every event type the generator makes; its last user's client exports cumulative counters. */
async function load(database: string): Promise<void> {
  await loadExport(target, database, SAMPLE);
}

async function typedView(database: string, view: string): Promise<string> {
  const columns = await target.query<{ name: string; type: string }>(`DESCRIBE ${database}.${view}`);
  const rows = await target.query(`SELECT * FROM ${database}.${view} ORDER BY ALL`);
  // LowCardinality is storage, not an answer: a String column may become one.
  return JSON.stringify({ columns: columns.map((column) => [column.name, column.type.replace(/^LowCardinality\((.*)\)$/, '$1')]), rows });
}

interface ReportCase {
  readonly name: string;
  readonly params: Record<string, string>;
}
const cases: ReportCase[] = Object.keys(V8_REPORTS).flatMap((name) => [{ name, params: {} }, { name, params: RANGE }]);
const label = (report: ReportCase) => `${report.name} ${JSON.stringify(report.params)}`;

async function answer(database: string, report: ReportCase, sql: string): Promise<string> {
  await target.exec(`USE ${database}`);
  const query = loadLibrary().find((candidate) => candidate.name === report.name)!;
  return JSON.stringify(await target.query(sql, bindParams(query, report.params)));
}

beforeAll(async () => {
  target = await embeddedTarget();
  await migrate(target, { database: UPGRADED }, { upTo: 8 });
  await load(UPGRADED);
  for (const view of TYPED_VIEWS) viewsAtV8[view.view] = await typedView(UPGRADED, view.view);
  for (const report of cases) reportsAtV8[label(report)] = await answer(UPGRADED, report, V8_REPORTS[report.name]!);
  await migrate(target, { database: UPGRADED });
  await migrate(target, { database: FRESH });
  await load(FRESH);
}, 300_000);
afterAll(async () => {
  await target?.close();
});

describe('typed event tables', () => {
  it('answer every typed view as the v8 view over the attribute maps did: upgraded (backfill) and filled at insert', async () => {
    for (const view of TYPED_VIEWS) {
      expect(JSON.parse(viewsAtV8[view.view]!).rows.length, view.view).toBeGreaterThanOrEqual(view.event === 'api_request' ? 50 : 0);
      expect(await typedView(UPGRADED, view.view), `${view.view} upgraded`).toBe(viewsAtV8[view.view]);
      expect(await typedView(FRESH, view.view), `${view.view} fresh`).toBe(viewsAtV8[view.view]);
    }
  });

  it('give the reports rewritten on the rollups the answers of their v8 SQL over the raw rows', async () => {
    for (const report of cases) {
      const v8 = reportsAtV8[label(report)]!;
      expect(JSON.parse(v8).length, label(report)).toBeGreaterThan(0);
      const sql = loadLibrary().find((query) => query.name === report.name)!.sql;
      expect(await answer(UPGRADED, report, sql), `${label(report)} upgraded`).toBe(v8);
      expect(await answer(FRESH, report, sql), `${label(report)} fresh`).toBe(v8);
    }
  });

  it('leave no library query reading a raw table, but one session\'s trace (a bloom filter finds it) and the unknown-fields census (it reads the maps by design)', async () => {
    const raw = new Set<string>(Object.values(RAW_TABLES));
    const definitions = new Map(
      (await target.query<{ name: string; engine: string; as_select: string }>('SELECT name, engine, as_select FROM system.tables WHERE database = {d:String}', { d: FRESH })).map((row) => [row.name, row]),
    );
    const readsRaw = (sql: string, seen = new Set<string>()): string[] =>
      [...new Set(sql.match(/\b(?:claude_code|otel)_\w+\b/g) ?? [])].flatMap((name) => {
        if (raw.has(name)) return [name];
        const definition = definitions.get(name);
        if (!definition || definition.engine !== 'View' || seen.has(name)) return [];
        return readsRaw(definition.as_select, seen.add(name));
      });
    const offenders = loadLibrary().filter((query) => readsRaw(query.sql).length > 0).map((query) => query.name);
    expect(offenders.sort()).toEqual(['session-trace', 'unknown-fields']);
    // The typed views read their tables only.
    for (const view of TYPED_VIEWS) expect(definitions.get(view.view)!.as_select).not.toMatch(/otel_logs|LogAttributes/);
  });
});
