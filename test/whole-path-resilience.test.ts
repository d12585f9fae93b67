/**
 * The whole path (test/whole-path.test.ts) when things go wrong, and with the temporality a user
 * may choose: the real Claude Code client -> an OTLP recorder (what the collector accepted) -> the
 * real collector on the rendered configuration (persistent queue, retry forever) with its real
 * ClickHouse exporter -> the ClickHouse front over chdb with the migrated schema -> the reports.
 *
 * - cumulative temporality: the increments view turns each series' running totals into the
 *   client's own totals (a session of four turns over several one-second export intervals gives
 *   several points per series, so a wrong difference would show);
 * - ClickHouse refusing connections during a session, then back: every accepted record stored once;
 * - the collector SIGTERMed during that outage and started again on the same queue directory, so
 *   it also starts without ClickHouse: the queue survives, nothing is stored twice, and the
 *   exporter's one-time `EventName` probe fails (it then inserts without the column) without
 *   costing any attribution: this client names its events by the `event.name` attribute, and the
 *   collector copies a record's OTLP eventName field into that attribute too;
 * - an insert that ran but whose answer was lost: sent again, stored twice (at-least-once, marked
 *   as current behaviour); delta counters count the batch twice, cumulative ones do not.
 *
 * "Stored once" is measured against the recorder: per event kind, per api_request request_id, and
 * per counter the client's own total (delta: the sum of its points; cumulative: each series' last
 * value), after a quiet period long enough for a late duplicate batch to land.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DERIVED, RAW_TABLES } from '../src/clickhouse/tables.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { describeRun, runClaude } from './support/claude-code.ts';
import type { ClickHouseFront } from './support/clickhouse-front.ts';
import { startCollector } from '../harness/collector.ts';
import { type MessagesApi, text, toolUse, type Usage } from './support/messages-api.ts';
import type { RecordedPoint } from './support/otlp-recorder.ts';
import { type PathStack, waitFor, WholePath } from './support/whole-path.ts';

/** The exporter batches (5 s), and after an outage its backoff (5 s doubling, at most 30 s) decides when it retries. */
const ARRIVAL_MS = 150_000;
/** Longer than the exporter's batch flush (5 s): a late or duplicate batch would have landed. */
const QUIET_MS = 8_000;

const USAGES: Usage[] = [
  { input_tokens: 1201, output_tokens: 31, cache_read_input_tokens: 7001, cache_creation_input_tokens: 301 },
  { input_tokens: 2203, output_tokens: 43, cache_read_input_tokens: 8003, cache_creation_input_tokens: 47 },
  { input_tokens: 3307, output_tokens: 59, cache_read_input_tokens: 9011, cache_creation_input_tokens: 13 },
  { input_tokens: 4409, output_tokens: 61, cache_read_input_tokens: 9907, cache_creation_input_tokens: 5 },
];
const total = (key: keyof Usage) => USAGES.reduce((sum, usage) => sum + usage[key], 0);
/** The token counter's `type` attribute for each usage field. */
const TOKEN_TYPES: Record<keyof Usage, string> = {
  input_tokens: 'input',
  output_tokens: 'output',
  cache_read_input_tokens: 'cacheRead',
  cache_creation_input_tokens: 'cacheCreation',
};

let path: WholePath;
let target: SqlTarget;
let api: MessagesApi;

beforeAll(async () => {
  path = await WholePath.start();
  target = path.target;
  api = path.api;
}, 120_000);

afterAll(async () => {
  await path?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const report = <T,>(database: string, name: string) => path.report<T>(database, name);

type Stack = PathStack;

/** A stack at level full (every event kind is stored); the client's environment from `telemetry-stack env` with `envArgs`. */
const stackFor = (database: string, envArgs: readonly string[] = []) => path.stack(database, { envArgs });

interface Session {
  readonly sessionId: string;
  readonly sentCost: number;
  readonly requestIds: string[];
}

/**
 * Four turns over several seconds (two Bash commands that sleep, a Write, an answer), so the
 * client exports metrics several times (every second, FAST_EXPORT_ENV) while its counters grow.
 * `during.run` runs once, while the client runs, as soon as `during.when()` holds.
 */
async function session(s: Stack, during?: { when: () => boolean; run: () => Promise<void> }): Promise<Session> {
  const cwd = path.tempDir();
  const before = api.requests.length;
  api.setScript([
    toolUse('Bash', { command: 'sleep 3; printf one > one.txt', description: 'Write one' }, USAGES[0]),
    toolUse('Write', { file_path: join(cwd, 'two.txt'), content: 'two\n' }, USAGES[1]),
    toolUse('Bash', { command: 'sleep 3; printf three > three.txt', description: 'Write three' }, USAGES[2]),
    text('All done.', USAGES[3]),
  ]);
  let hooked: Promise<void> | undefined;
  let stop = false;
  const watcher = during
    ? waitFor(() => stop || during.when(), 180_000, 25).then(() => {
        if (!stop) hooked = during.run();
      })
    : Promise.resolve();
  const run = await runClaude({ prompt: 'Please write the files', apiUrl: api.url, telemetryEnv: s.telemetryEnv, cwd, allowedTools: ['Bash', 'Write'] });
  stop = true;
  await watcher;
  await hooked;
  expect(run.timedOut, describeRun(run)).toBe(false);
  expect(run.code, describeRun(run)).toBe(0);
  expect(api.unscripted, api.describe()).toEqual([]);
  expect(api.scripted.map((t) => t.turn.kind)).toEqual(['tool_use', 'tool_use', 'tool_use', 'text']);
  if (during) expect(hooked, 'the client finished before the hook ran').toBeDefined();
  const sessionId = String(api.requests.slice(before).find((r) => r.headers['x-claude-code-session-id'])?.headers['x-claude-code-session-id'] ?? '');
  expect(sessionId).not.toBe('');

  // The collector accepted everything the client sent, outage or not: the queue took it.
  expect(s.recorder.exports.length).toBeGreaterThan(0);
  for (const e of s.recorder.exports) {
    expect(e.decodeError).toBeUndefined();
    expect(e.status, `the collector answered ${e.status} to ${e.path}`).toBe(200);
  }
  const apiRequests = s.recorder.acceptedLogs.filter((log) => log.attributes['event.name'] === 'api_request');
  expect(apiRequests.length).toBe(4);
  const requestIds = apiRequests.map((log) => String(log.attributes.request_id)).sort();
  expect(new Set(requestIds).size, `request ids: ${requestIds.join(', ')}`).toBe(4);
  return { sessionId, sentCost: apiRequests.reduce((sum, log) => sum + Number(log.attributes.cost_usd), 0), requestIds };
}

const seriesKey = (point: RecordedPoint) => `${point.metric}/${JSON.stringify(Object.entries(point.attributes).sort(([a], [b]) => a.localeCompare(b)))}`;
const totalKey = (metric: string, type: unknown) => `${metric}/${typeof type === 'string' ? type : ''}`;
const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

/**
 * The client's own totals per counter and `type`, from what the collector accepted: a delta point
 * is an increment; a cumulative series (one process, so one start time) ends at its total.
 */
function clientTotals(points: RecordedPoint[]): Record<string, number> {
  const series = new Map<string, RecordedPoint[]>();
  for (const point of points.filter((p) => p.kind === 'sum' && p.monotonic)) series.set(seriesKey(point), [...(series.get(seriesKey(point)) ?? []), point]);
  const totals: Record<string, number> = {};
  for (const list of series.values()) {
    const first = list[0]!;
    const value = first.temporality === 2 ? Math.max(...list.map((p) => p.value)) : list.reduce((sum, p) => sum + p.value, 0);
    const key = totalKey(first.metric, first.attributes.type);
    totals[key] = round6((totals[key] ?? 0) + value);
  }
  return totals;
}

async function storedTotals(database: string): Promise<Record<string, number>> {
  const rows = await target.query<{ metric: string; type: string; total: number }>(
    `SELECT metric, attributes['type'] AS type, sum(increment) AS total FROM ${database}.${DERIVED.metricIncrements} GROUP BY metric, type`,
  );
  return Object.fromEntries(rows.map((row) => [totalKey(row.metric, row.type), round6(Number(row.total))]));
}

async function storedRequestIds(database: string): Promise<{ request_id: string; n: number }[]> {
  const rows = await target.query<{ request_id: string; n: number }>(`SELECT request_id, count() AS n FROM ${database}.${DERIVED.apiRequests} GROUP BY request_id ORDER BY request_id`);
  return rows.map((row) => ({ request_id: row.request_id, n: Number(row.n) }));
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

/**
 * Waits until every record the collector accepted is stored, then (after a quiet period in which
 * a late duplicate would land) checks each is stored exactly once, and that the reports add up.
 */
async function storedExactlyOnce(s: Stack, run: Session, collectorLogs: () => string): Promise<void> {
  const { database } = s;
  const sentTotals = clientTotals(s.recorder.acceptedPoints);
  const sentEvents = countBy(s.recorder.acceptedLogs, (log) => String(log.attributes['event.name']));
  const storedEvents = async () =>
    Object.fromEntries(
      (await target.query<{ event: string; n: number }>(`SELECT event, count() AS n FROM ${database}.${DERIVED.events} GROUP BY event`)).map((row) => [row.event, Number(row.n)]),
    );
  const rawLogs = async () => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM ${database}.${RAW_TABLES.logs}`))[0]!.n);
  const complete = async () => {
    const totals = await storedTotals(database);
    return (await rawLogs()) >= s.recorder.acceptedLogs.length && Object.entries(sentTotals).every(([key, value]) => totals[key] !== undefined && totals[key] >= value - 1e-6);
  };
  const describeState = async () =>
    `stored events ${JSON.stringify(await storedEvents())} (sent ${JSON.stringify(sentEvents)}), ` +
    `counters ${JSON.stringify(await storedTotals(database))} (sent ${JSON.stringify(sentTotals)})\n${collectorLogs()}`;
  expect(await waitFor(complete, ARRIVAL_MS), await describeState()).toBe(true);
  await sleep(QUIET_MS);

  // Every log record once: as many raw rows as accepted records, each event kind as often as sent.
  expect(await rawLogs()).toBe(s.recorder.acceptedLogs.length);
  expect(await storedEvents()).toEqual(sentEvents);
  expect(await storedRequestIds(database)).toEqual(run.requestIds.map((request_id) => ({ request_id, n: 1 })));
  // Every counter point once, and every counter at the client's own total (a duplicate delta point would add to it).
  const rawPoints = Number((await target.query<{ n: number }>(`SELECT count() AS n FROM ${database}.${RAW_TABLES.metricsSum}`))[0]!.n);
  expect(rawPoints).toBe(s.recorder.acceptedPoints.filter((p) => p.kind === 'sum').length);
  expect(await storedTotals(database)).toEqual(sentTotals);
  for (const [field, type] of Object.entries(TOKEN_TYPES)) expect(sentTotals[totalKey('claude_code.token.usage', type)], field).toBe(total(field as keyof Usage));
  expect(sentTotals[totalKey('claude_code.cost.usage', undefined)]).toBeCloseTo(run.sentCost, 6);

  await reportsAddUp(database, run, sentTotals);
}

/** The event reports and the counter reports give the client's own numbers. */
async function reportsAddUp(database: string, run: Session, sentTotals: Record<string, number>): Promise<void> {
  const byUser = await report<{ user: string; cost_usd: number; requests: number; input_tokens: number; output_tokens: number }>(database, 'cost-by-user');
  expect(byUser).toEqual([{ user: 'me', cost_usd: expect.closeTo(run.sentCost, 6), requests: 4, input_tokens: total('input_tokens'), output_tokens: total('output_tokens') }]);
  const tools = await report<{ tool: string; calls: number; failures: number }>(database, 'tool-usage');
  expect(tools.map(({ tool, calls, failures }) => ({ tool, calls: Number(calls), failures: Number(failures) }))).toEqual([
    { tool: 'Bash', calls: 2, failures: 0 },
    { tool: 'Write', calls: 1, failures: 0 },
  ]);
  await counterReportsAddUp(database, run, sentTotals);
}

/** The reports on the counters (productivity, active-time): the client's own totals. */
async function counterReportsAddUp(database: string, run: Session, sentTotals: Record<string, number>): Promise<void> {
  const productivity = await report<{ user: string; lines_added: number; cost_usd: number }>(database, 'productivity');
  const linesAdded = sentTotals[totalKey('claude_code.lines_of_code.count', 'added')];
  expect(linesAdded, `the client counted no added lines: ${JSON.stringify(sentTotals)}`).toBeGreaterThan(0);
  expect(productivity.map(({ user, lines_added, cost_usd }) => ({ user, lines_added: Number(lines_added), cost_usd: Number(cost_usd) }))).toEqual([
    { user: 'me', lines_added: linesAdded, cost_usd: expect.closeTo(run.sentCost, 6) },
  ]);
  const active = await report<{ user: string; type: string; active_hours: number }>(database, 'active-time');
  const activeTypes = Object.keys(sentTotals).filter((key) => key.startsWith('claude_code.active_time.total/'));
  expect(activeTypes.length, `the client sent no active time: ${JSON.stringify(sentTotals)}`).toBeGreaterThan(0);
  expect(active.map(({ user, type, active_hours }) => ({ user, type, active_hours: Number(active_hours) }))).toEqual(
    activeTypes.sort().map((key) => ({ user: 'me', type: key.slice(key.indexOf('/') + 1), active_hours: Math.round((sentTotals[key]! / 3600) * 1e4) / 1e4 })),
  );
}

/**
 * Sends, straight to the stack's collector, one record named only by the OTLP eventName field (no
 * `event.name` attribute, an empty body: how a client following the OpenTelemetry event
 * conventions names it), and returns the EventName stored for it and the events it shows up as.
 */
async function eventNameOnly(s: Stack, probe: string): Promise<{ EventName: string; events: string[] }> {
  const record = {
    timeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
    eventName: 'claude_code.user_prompt',
    body: { stringValue: '' },
    attributes: [
      { key: 'probe', value: { stringValue: probe } },
      { key: 'prompt_length', value: { intValue: '5' } },
    ],
  };
  const payload = { resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] }, scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: [record] }] }] };
  const response = await fetch(`${s.collector.httpEndpoint}/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: s.secrets.authorization.me! },
    body: JSON.stringify(payload),
  });
  expect(response.status, await response.text()).toBe(200);
  const stored = () => target.query<{ EventName: string }>(`SELECT EventName FROM ${s.database}.${RAW_TABLES.logs} WHERE LogAttributes['probe'] = '${probe}'`);
  expect(await waitFor(async () => (await stored()).length > 0, ARRIVAL_MS), s.collector.log()).toBe(true);
  const [row] = await stored();
  const events = await target.query<{ event: string }>(`SELECT event FROM ${s.database}.${DERIVED.events} WHERE attributes['probe'] = '${probe}'`);
  return { EventName: row!.EventName, events: events.map((e) => e.event) };
}

/** Inserts into the logs table, as the front saw them. */
const logInserts = (front: ClickHouseFront) => front.log.filter((entry) => entry.rows !== undefined && entry.sql.includes(RAW_TABLES.logs));

describe('the whole path under cumulative temporality, a ClickHouse outage, a collector restart and lost answers', () => {
  it('cumulative temporality (env --temporality cumulative): the increments, productivity and active-time give the client\'s own totals', async () => {
    const s = await stackFor('resilience_cumulative', ['--temporality', 'cumulative']);
    // `telemetry-stack env` prints delta and has no option for it: the preference is the user's own override.
    expect(s.telemetryEnv.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE).toBe('cumulative');
    const run = await session(s);
    const points = s.recorder.acceptedPoints.filter((p) => p.kind === 'sum');
    expect(points.length).toBeGreaterThan(0);
    expect(new Set(points.map((p) => p.temporality))).toEqual(new Set([2]));
    // Several growing points in one token series: storing the running totals as increments would
    // count the first of them twice, so this session tells a right difference from a wrong one.
    const tokenSeries = new Map<string, number[]>();
    for (const p of points.filter((p) => p.metric === 'claude_code.token.usage')) tokenSeries.set(seriesKey(p), [...(tokenSeries.get(seriesKey(p)) ?? []), p.value]);
    const grown = [...tokenSeries.values()].filter((values) => new Set(values).size >= 2);
    expect(grown.length, `token series: ${JSON.stringify([...tokenSeries.values()])}`).toBeGreaterThan(0);
    expect(grown.map((values) => values.reduce((sum, v) => sum + v, 0)).some((sum, i) => sum > Math.max(...grown[i]!))).toBe(true);

    await storedExactlyOnce(s, run, () => s.collector.log());
    const stored = await target.query<{ temporality: number }>(`SELECT DISTINCT temporality FROM ${s.database}.${DERIVED.metricIncrements}`);
    expect(stored.map((row) => Number(row.temporality))).toEqual([2]);
  }, 360_000);

  it('ClickHouse refusing connections mid-session, then back: the collector accepts throughout, and every record is stored exactly once (delta)', async () => {
    const s = await stackFor('resilience_outage');
    let storedBeforeOutage = -1;
    const run = await session(s, {
      // Once the first batch of events is in (or, on a slow machine, before the last turn's events exist).
      when: () => logInserts(s.front).length > 0 || api.scripted.length >= 4,
      run: async () => {
        await s.front.stopListening();
        storedBeforeOutage = logInserts(s.front).reduce((sum, entry) => sum + entry.rows!, 0);
      },
    });
    expect(new Set(s.recorder.acceptedPoints.map((p) => p.temporality))).toEqual(new Set([1]));
    // The exporter met the outage (and will retry), and nothing of the session's later turns got in.
    expect(await waitFor(() => /Exporting failed\. Will retry/.test(s.collector.log()), 60_000), s.collector.log()).toBe(true);
    const storedDuringOutage = (await storedRequestIds(s.database)).length;
    expect(storedDuringOutage, `${storedBeforeOutage} event rows were in before the outage`).toBeLessThan(4);
    await s.front.listenAgain();
    await storedExactlyOnce(s, run, () => s.collector.log());
    // This collector probed ClickHouse while it served: its inserts name the EventName column, so
    // a record named only by the OTLP eventName field is attributed.
    expect(logInserts(s.front).length).toBeGreaterThan(0);
    for (const entry of logInserts(s.front)) expect(entry.sql).toContain('EventName');
    expect(await eventNameOnly(s, 'probe-with-eventname-column')).toEqual({ EventName: 'claude_code.user_prompt', events: ['user_prompt'] });
  }, 360_000);

  it('the collector SIGTERMed during an outage (ClickHouse answering errors) and restarted on the same queue: nothing lost, nothing twice; it starts without the EventName probe, and every event is still attributed', async () => {
    const s = await stackFor('resilience_restart');
    const first = s.collector;
    // This outage answers: every request gets ClickHouse's error (the other test's refuses connections).
    const outage = { code: 202, type: 'TOO_MANY_SIMULTANEOUS_QUERIES', message: 'Too many simultaneous queries. Maximum: 100' };
    const run = await session(s, { when: () => api.scripted.length >= 2, run: async () => void (s.front.failWith = outage) });
    expect(await waitFor(() => /Exporting failed\. Will retry/.test(first.log()), 60_000), first.log()).toBe(true);
    await first.stop(); // SIGTERM: the exporter gives its in-flight requests back to the persistent queue
    const firstLog = first.log();
    const insertsBefore = logInserts(s.front).length;

    // The same directory, so the same queue file; ClickHouse is still down while it starts.
    s.collector = await startCollector({ stack: s.stack, secrets: s.secrets, clickhouseEndpoint: s.front.endpoint, dir: first.dir });
    expect(await waitFor(() => /schema detection failed/.test(s.collector.log()), 30_000), s.collector.log()).toBe(true);
    expect(s.collector.log()).toContain('TOO_MANY_SIMULTANEOUS_QUERIES');
    s.front.failWith = undefined;
    await storedExactlyOnce(s, run, () => `${firstLog}\n--- restarted ---\n${s.collector.log()}`);

    // The restarted exporter writes without the EventName column (the contrib exporter probes it
    // once, at start, and assumes it absent when the probe fails) ...
    const restartedInserts = logInserts(s.front).slice(insertsBefore);
    expect(restartedInserts.length, 'the restarted collector inserted no logs: the queue did not survive').toBeGreaterThan(0);
    for (const entry of restartedInserts) expect(entry.sql).not.toContain('EventName');
    // ... which costs this client nothing (storedExactlyOnce found every event kind it sent): it
    // leaves the OTLP eventName field empty and names each event by its `event.name` attribute and
    // its body, which the schema reads first.
    expect(s.recorder.acceptedLogs.map((log) => log.eventName).filter((name) => name !== '')).toEqual([]);
    const unnamed = await target.query<{ n: number }>(`SELECT count() AS n FROM ${s.database}.${RAW_TABLES.logs} WHERE LogAttributes['event.name'] = ''`);
    expect(Number(unnamed[0]!.n)).toBe(0);
    // A record named only by the eventName field (the OpenTelemetry event convention) loses the
    // EventName column here, but the collector's level stage has copied the field into the
    // `event.name` attribute (compile.ts normalizeStatements), so it is still in the event views.
    expect(await eventNameOnly(s, 'probe-without-eventname-column')).toEqual({ EventName: '', events: ['user_prompt'] });
  }, 360_000);

  it('an insert that ran but whose answer was lost is sent again and stored twice: delivery into ClickHouse is at-least-once, and a delta counter counts the batch twice (current behaviour)', async () => {
    const { s, run, totals, sentTotals } = await lostAnswers('resilience_lost_answer_delta', []);
    // A delta point stored twice is counted twice.
    const over = Object.keys(sentTotals).filter((key) => (totals[key] ?? 0) > sentTotals[key]! + 1e-6);
    expect(over.length, `stored ${JSON.stringify(totals)}, sent ${JSON.stringify(sentTotals)}`).toBeGreaterThan(0);
    for (const key of Object.keys(sentTotals)) expect(totals[key], key).toBeGreaterThanOrEqual(sentTotals[key]! - 1e-6);
    const [productivity] = await report<{ cost_usd: number }>(s.database, 'productivity');
    expect(Number(productivity!.cost_usd)).toBeGreaterThanOrEqual(round6(run.sentCost));
  }, 360_000);

  it('the same lost answers with cumulative counters: the events are stored twice, the counters and their reports stay the client\'s own', async () => {
    const { s, run, totals, sentTotals } = await lostAnswers('resilience_lost_answer_cumulative', ['--temporality', 'cumulative']);
    // A cumulative point stored twice differs from its twin by nothing.
    expect(totals).toEqual(sentTotals);
    await counterReportsAddUp(s.database, run, sentTotals);
  }, 360_000);
});

/**
 * A session whose first events insert and first counters insert run in ClickHouse but whose
 * answers never reach the exporter; waits until the exporter has sent both again. Checks the events
 * (the first batch twice, in the reports too) and returns the counters for the caller to judge.
 */
async function lostAnswers(database: string, envArgs: readonly string[]) {
  const s = await stackFor(database, envArgs);
  const lost = new Map<string, number>();
  s.front.loseInsertAnswer = (sql) => {
    const table = sql.includes(RAW_TABLES.logs) ? 'logs' : sql.includes(RAW_TABLES.metricsSum) ? 'sum' : 'other';
    if (table === 'other' || lost.has(table)) return false;
    lost.set(table, s.front.log.at(-1)!.rows!);
    return true;
  };
  const run = await session(s);
  const sentPoints = s.recorder.acceptedPoints.filter((p) => p.kind === 'sum').length;
  const count = async (table: string) => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM ${s.database}.${table}`))[0]!.n);
  // Everything, and the lost batches once more (the exporter's retry of the same requests).
  const expectedLogs = () => s.recorder.acceptedLogs.length + (lost.get('logs') ?? 0);
  const expectedPoints = () => sentPoints + (lost.get('sum') ?? 0);
  const arrivedTwice = async () => lost.size === 2 && (await count(RAW_TABLES.logs)) >= expectedLogs() && (await count(RAW_TABLES.metricsSum)) >= expectedPoints();
  expect(
    await waitFor(arrivedTwice, ARRIVAL_MS),
    `lost ${JSON.stringify([...lost])}; log rows ${await count(RAW_TABLES.logs)} of ${expectedLogs()}, points ${await count(RAW_TABLES.metricsSum)} of ${expectedPoints()}; ` +
      `inserts ${JSON.stringify(s.front.log.filter((entry) => entry.rows !== undefined))}\n${s.collector.log()}`,
  ).toBe(true);
  await sleep(QUIET_MS);
  expect(await count(RAW_TABLES.logs)).toBe(expectedLogs());
  expect(await count(RAW_TABLES.metricsSum)).toBe(expectedPoints());
  // The first batch's requests are there twice, and the event reports count them twice.
  const stored = await storedRequestIds(s.database);
  expect(stored.map((row) => row.request_id)).toEqual(run.requestIds);
  expect(stored.some((row) => row.n === 2), JSON.stringify(stored)).toBe(true);
  const [byUser] = await report<{ requests: number; cost_usd: number }>(s.database, 'cost-by-user');
  expect(Number(byUser!.requests)).toBe(stored.reduce((sum, row) => sum + row.n, 0));
  expect(Number(byUser!.cost_usd)).toBeGreaterThan(run.sentCost);
  return { s, run, totals: await storedTotals(s.database), sentTotals: clientTotals(s.recorder.acceptedPoints) };
}
