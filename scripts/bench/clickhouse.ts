/**
 * ClickHouse data layer benchmark on the embedded engine (chdb):
 *   load rate of generated Claude Code telemetry (OTLP/JSON -> exporter-shaped rows -> raw
 *   tables, the materialized rollup filling as rows arrive), then each library query's
 *   median latency over the loaded data, and the monthly cost report from the rollup vs
 *   the same answer computed from raw events (a ratio measured in one run).
 *
 *   node scripts/bench/clickhouse.ts [--events N] [--days D] [--users U] [--runs R]
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
  },
});
const targetEvents = Number(values.events);
const days = Number(values.days);
const users = Number(values.users);
const runs = Number(values.runs);
const database = 'claude_code';

// About 30 events per session at the default prompts per session; working days are 5 of 7.
const workingDays = Math.max(1, Math.round((days * 5) / 7));
const sessionsPerDay = Math.max(0.5, targetEvents / (users * workingDays * 30));

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
const loadMs = performance.now() - loadStarted;

const [counts] = await target.query<{ events: number; points: number; rollup_rows: number }>(
  `SELECT (SELECT count() FROM ${RAW_TABLES.logs}) AS events, (SELECT count() FROM ${RAW_TABLES.metricsSum}) AS points, (SELECT count() FROM ${DERIVED.dailyUsage}) AS rollup_rows`,
);

const out: string[] = [];
out.push(`events loaded: ${counts!.events} log records + ${counts!.points} metric points, ${users} users over ${days} days (rollup: ${counts!.rollup_rows} rows)`);
out.push(`load (generate + convert + insert): ${(loadMs / 1000).toFixed(1)} s = ${Math.round(counts!.events / (loadMs / 1000))} events/s`);
out.push(`insert only (chdb JSONEachRow, materialized view included): ${(insertMs / 1000).toFixed(1)} s = ${Math.round(counts!.events / (insertMs / 1000))} events/s`);
out.push('');
out.push(`| query | median of ${runs} (ms) | rows |`);
out.push('|---|---:|---:|');
for (const query of loadLibrary()) {
  const params = bindParams(query, query.name === 'session-trace' ? { session: truth.sessions[Math.floor(truth.sessions.length / 2)]! } : {});
  const samples: number[] = [];
  let resultRows = 0;
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    resultRows = (await target.query(query.sql, params)).length;
    samples.push(performance.now() - started);
  }
  out.push(`| ${query.name} | ${ms(median(samples))} | ${resultRows} |`);
}

// The monthly cost report from raw events, for the ratio the rollup buys.
const rawMonthly = `SELECT toStartOfMonth(day) AS month, user, round(sum(cost_usd), 6) AS cost_usd, count() AS requests FROM ${DERIVED.apiRequests} GROUP BY month, user ORDER BY month, cost_usd DESC, user`;
const rollupMonthly = loadLibrary().find((query) => query.name === 'cost-by-user-month')!;
const rawSamples: number[] = [];
const rollupSamples: number[] = [];
for (let run = 0; run < runs; run++) {
  let started = performance.now();
  await target.query(rawMonthly);
  rawSamples.push(performance.now() - started);
  started = performance.now();
  await target.query(rollupMonthly.sql, bindParams(rollupMonthly, {}));
  rollupSamples.push(performance.now() - started);
}
out.push('');
out.push(`monthly cost report: rollup ${ms(median(rollupSamples))} ms vs raw events ${ms(median(rawSamples))} ms (raw/rollup = ${(median(rawSamples) / median(rollupSamples)).toFixed(1)}x)`);
await target.close();
process.stdout.write(`${out.join('\n')}\n`);
