/**
 * ClickHouse data layer benchmark on the embedded engine (chdb):
 *   load rate of generated Claude Code telemetry (OTLP/JSON -> exporter-shaped rows -> raw
 *   tables, the materialized views filling the typed tables and rollups as rows arrive), then
 *   the median time of one full scan of the raw logs' attribute maps and each library query's
 *   median latency over the loaded data, with its ratio to that scan (the figure of merit: it
 *   does not depend on how fast the machine is that day); the rollup-backed queries again on a
 *   copy holding only the metrics (level basic: claude_code_usage falls back to the counters);
 *   and the monthly cost report from the rollup vs the same answer computed from raw events.
 *
 *   node scripts/bench/clickhouse.ts [--events N] [--days D] [--users U] [--runs R] [--copies C]
 *
 * --copies C generates N/C events and inserts C-1 copies of them inside the engine (INSERT ...
 * SELECT, the materialized views filling as for any insert), each copy with its own session,
 * prompt, request, tool-use and agent ids and its own counter series: the same users and days with
 * C times the sessions, as the generator would make them, in a fraction of the time (the
 * generator and the JSON conversion, not the engine, are what limit the load rate).
 *
 * Figures go in docs/BENCHMARKS.md (## ClickHouse data layer) with the command used.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { migrate } from '../../src/clickhouse/migrate.ts';
import { rowsOf, type RawRows } from '../../src/clickhouse/otlp-json.ts';
import { bindParams, loadLibrary } from '../../src/clickhouse/queries.ts';
import { DERIVED, RAW_TABLES } from '../../src/clickhouse/tables.ts';
import { embeddedTarget } from '../../src/clickhouse/target.ts';
import { emptyTruth, generateExport } from '../../src/fixtures/claude-code.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '30' },
    users: { type: 'string', default: '50' },
    runs: { type: 'string', default: '5' },
    copies: { type: 'string', default: '1' },
  },
});
const targetEvents = Number(values.events);
const days = Number(values.days);
const users = Number(values.users);
const runs = Number(values.runs);
const copies = Math.max(1, Number(values.copies));
const database = 'claude_code';

// About 30 events per session at the default prompts per session; working days are 5 of 7.
const workingDays = Math.max(1, Math.round((days * 5) / 7));
const sessionsPerDay = Math.max(0.5, targetEvents / copies / (users * workingDays * 30));

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
const ms = (value: number) => value.toFixed(value < 10 ? 2 : 0);

const target = await embeddedTarget();
await migrate(target, { database });
await target.exec(`USE ${database}`);

const truth = emptyTruth();
let rows: RawRows = { logs: [], sums: [], gauges: [] };
let insertMs = 0;
const flush = async () => {
  const started = performance.now();
  await target.insert(`${database}.${RAW_TABLES.logs}`, rows.logs);
  await target.insert(`${database}.${RAW_TABLES.metricsSum}`, rows.sums);
  insertMs += performance.now() - started;
  rows = { logs: [], sums: [], gauges: [] };
};
const loadStarted = performance.now();
for (const line of generateExport({ seed: 1, users, days, sessionsPerDay }, truth)) {
  rowsOf(line, rows);
  if (rows.logs.length >= 100_000) await flush();
}
await flush();
const generatedMs = performance.now() - loadStarted;

// The copies: ids that name one session, prompt, request, tool call or agent get the copy's suffix;
// counter series get a start time of their own (a cumulative series carries no session id).
const LOG_COLUMNS = 'Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body, ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes, EventName';
const SUM_COLUMNS = 'ResourceAttributes, ResourceSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, ScopeDroppedAttrCount, ScopeSchemaUrl, ServiceName, MetricName, MetricDescription, MetricUnit, Attributes, StartTimeUnix, TimeUnix, Value, Flags, AggregationTemporality, IsMonotonic';
const suffixed = (map: string) => `mapApply((key, value) -> (key, if(key IN ('session.id', 'prompt.id', 'request_id', 'tool_use_id', 'agent_id'), concat(value, '-c', toString(copy)), value)), ${map})`;
let copyMs = 0;
if (copies > 1) {
  const started = performance.now();
  await target.exec(`INSERT INTO ${RAW_TABLES.logs} (${LOG_COLUMNS})
SELECT ${LOG_COLUMNS.replace('LogAttributes', `${suffixed('LogAttributes')} AS LogAttributes`)}
FROM ${RAW_TABLES.logs} ARRAY JOIN range(1, ${copies}) AS copy`);
  await target.exec(`INSERT INTO ${RAW_TABLES.metricsSum} (${SUM_COLUMNS})
SELECT ${SUM_COLUMNS.replace('Attributes, StartTimeUnix', `${suffixed('Attributes')} AS Attributes, StartTimeUnix + toIntervalNanosecond(copy) AS StartTimeUnix`)}
FROM ${RAW_TABLES.metricsSum} ARRAY JOIN range(1, ${copies}) AS copy`);
  copyMs = performance.now() - started;
}
const loadMs = performance.now() - loadStarted;

const [counts] = await target.query<{ events: number; points: number; rollup_rows: number }>(
  `SELECT (SELECT count() FROM ${RAW_TABLES.logs}) AS events, (SELECT count() FROM ${RAW_TABLES.metricsSum}) AS points, (SELECT count() FROM ${DERIVED.dailyUsage}) AS rollup_rows`,
);

const out: string[] = [];
out.push(`events loaded: ${counts!.events} log records + ${counts!.points} metric points, ${users} users over ${days} days (rollup: ${counts!.rollup_rows} rows)`);
const generated = counts!.events / copies;
out.push(`load: ${(loadMs / 1000).toFixed(1)} s = ${Math.round(counts!.events / (loadMs / 1000))} events/s`);
out.push(`  generated (generate + convert + insert, about ${Math.round(generated)} events): ${(generatedMs / 1000).toFixed(1)} s = ${Math.round(generated / (generatedMs / 1000))} events/s; insert only (chdb JSONEachRow, materialized views included): ${(insertMs / 1000).toFixed(1)} s = ${Math.round(generated / (insertMs / 1000))} events/s`);
if (copies > 1) out.push(`  ${copies - 1} copies inside the engine (INSERT ... SELECT, materialized views included): ${(copyMs / 1000).toFixed(1)} s = ${Math.round((counts!.events - generated) / (copyMs / 1000))} events/s`);

/** Median time of `runs` runs, and the rows of the last. */
async function timed(sql: string, params?: Record<string, string>): Promise<{ ms: number; rows: number }> {
  const samples: number[] = [];
  let rows = 0;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    rows = (await target.query(sql, params)).length;
    samples.push(performance.now() - started);
  }
  return { ms: median(samples), rows };
}

// What a report over raw events used to read: every record's attribute map.
const scan = await timed(`SELECT sum(length(toString(LogAttributes))) AS bytes FROM ${RAW_TABLES.logs}`);
out.push(`full scan of the raw logs' attribute maps (SELECT sum(length(toString(LogAttributes))) FROM ${RAW_TABLES.logs}): ${ms(scan.ms)} ms median of ${runs}`);
out.push('');
out.push(`| query | median of ${runs} (ms) | / full scan | rows |`);
out.push('|---|---:|---:|---:|');
const row = (name: string, result: { ms: number; rows: number }) => `| ${name} | ${ms(result.ms)} | ${((100 * result.ms) / scan.ms).toFixed(1)}% | ${result.rows} |`;
const library = loadLibrary();
for (const query of library) {
  const params = bindParams(query, query.name === 'session-trace' ? { session: truth.sessions[Math.floor(truth.sessions.length / 2)]! } : {});
  out.push(row(query.name, await timed(query.sql, params)));
}

// Level basic stores no events: claude_code_usage answers from the counters' rollup. A second
// database gets a copy of the metric points only (its materialized views fill its rollup).
const basic = `${database}_basic`;
await migrate(target, { database: basic });
await target.exec(`INSERT INTO ${basic}.${RAW_TABLES.metricsSum} SELECT * FROM ${database}.${RAW_TABLES.metricsSum}`);
await target.exec(`USE ${basic}`);
for (const query of library.filter((candidate) => /\bFROM claude_code_(usage|team_daily_usage)\b/.test(candidate.sql))) {
  out.push(row(`${query.name} (level basic: claude_code_usage from the counters)`, await timed(query.sql, bindParams(query, {}))));
}
await target.exec(`USE ${database}`);

// The monthly cost report from the raw events' attribute maps (what it cost before the typed tables)
// and from the typed api_request table, for the ratios the rollup and the typed table buy.
const rawMonthly = `SELECT toStartOfMonth(toDate(TimestampTime)) AS month, EndUser AS user,
  round(sum(if(LogAttributes['cost_usd'] != '', toFloat64OrZero(LogAttributes['cost_usd']), toFloat64OrZero(LogAttributes['cost_usd_micros']) / 1000000)), 6) AS cost_usd, count() AS requests
FROM ${RAW_TABLES.logs} WHERE ClaudeEvent = 'api_request' GROUP BY month, user ORDER BY month, cost_usd DESC, user`;
const typedMonthly = `SELECT toStartOfMonth(day) AS month, user, round(sum(cost_usd), 6) AS cost_usd, count() AS requests FROM ${DERIVED.apiRequests} GROUP BY month, user ORDER BY month, cost_usd DESC, user`;
const rollupMonthly = loadLibrary().find((query) => query.name === 'cost-by-user-month')!;
const rollup = await timed(rollupMonthly.sql, bindParams(rollupMonthly, {}));
const typed = await timed(typedMonthly);
const raw = await timed(rawMonthly);
out.push('');
out.push(
  `monthly cost report: rollup ${ms(rollup.ms)} ms, typed api_request table ${ms(typed.ms)} ms, raw events' attribute maps ${ms(raw.ms)} ms (raw/typed = ${(raw.ms / typed.ms).toFixed(1)}x, raw/rollup = ${(raw.ms / rollup.ms).toFixed(1)}x)`,
);
await target.close();
process.stdout.write(`${out.join('\n')}\n`);
