/**
 * The whole path a user runs: the real Claude Code client (onboarding's `env` output) -> an OTLP
 * recorder (what the client itself sent) -> the real collector running the rendered configuration
 * (per-user basic auth, level, persistent queue) with its real ClickHouse exporter -> the ClickHouse
 * front over the embedded engine (chdb) holding the project's migrated schema -> the library's
 * reports. The reports must give the client's own numbers, under the authenticated user, and below
 * level full the stored rows must hold none of the content the level removes.
 *
 * Levels full, enhanced (with onboarding's switches, and with a client that turns them on anyway)
 * and basic (with a client that sends events anyway): the last two test the collector's level, not
 * the client's switches. Markers are planted in the prompt, a Bash command, a written file's name
 * and content; every table and view is searched as text. At full all of them are found, so the
 * empty searches below full mean something.
 *
 * One client at a time (two shared cores); each case has its own database, collector and front.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DERIVED } from '../src/clickhouse/tables.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { describeRun, runClaude, type ClaudeRun } from './support/claude-code.ts';
import type { RunningCollector } from '../harness/collector.ts';
import { type MessagesApi, text, toolUse, type Usage } from './support/messages-api.ts';
import type { RecordedLogRecord } from './support/otlp-recorder.ts';
import { waitFor, WholePath } from './support/whole-path.ts';

/** The exporter batches (about 5 s) and retries; allow for a loaded two-core machine. */
const ARRIVAL_MS = 120_000;

const USAGE_BASH: Usage = { input_tokens: 1234, output_tokens: 56, cache_read_input_tokens: 7890, cache_creation_input_tokens: 321 };
const USAGE_WRITE: Usage = { input_tokens: 2111, output_tokens: 67, cache_read_input_tokens: 8123, cache_creation_input_tokens: 45 };
const USAGE_TEXT: Usage = { input_tokens: 2345, output_tokens: 78, cache_read_input_tokens: 9012, cache_creation_input_tokens: 43 };
const USAGES = [USAGE_BASH, USAGE_WRITE, USAGE_TEXT];
const total = (key: keyof Usage) => USAGES.reduce((sum, usage) => sum + usage[key], 0);

let harness: WholePath;
let target: SqlTarget;
let api: MessagesApi;

beforeAll(async () => {
  harness = await WholePath.start(); // a missing client fails the file at once, with the install command
  target = harness.target;
  api = harness.api;
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

/** A report of the library over all time, run in `database`. */
const report = <T,>(database: string, name: string) => harness.report<T>(database, name);

interface Session {
  readonly database: string;
  readonly run: ClaudeRun;
  readonly sessionId: string;
  readonly model: string;
  /** api_request events the client sent (and the collector accepted). */
  readonly apiRequests: RecordedLogRecord[];
  /** Every log record the client sent. */
  readonly sent: RecordedLogRecord[];
  readonly collector: RunningCollector;
}

/** One level's whole path: a fresh database, front, collector and recorder, and one scripted session. */
async function wholePath(
  level: 'full' | 'enhanced' | 'basic',
  markers: { prompt: string; command: string; file: string; content: string },
  options: { database?: string; clientEnv?: Record<string, string> } = {},
): Promise<Session> {
  const database = options.database ?? `wholepath_${level}`;
  const { secrets, collector, recorder, telemetryEnv: printed } = await harness.stack(database, { level });
  const telemetryEnv = { ...printed, ...options.clientEnv };

  const before = api.requests.length;
  // The Write tool needs an absolute path: the run's working directory, made here.
  const cwd = harness.tempDir();
  api.setScript([
    toolUse('Bash', { command: `printf ${markers.command} > bash-out.txt`, description: 'Write a file' }, USAGE_BASH),
    toolUse('Write', { file_path: join(cwd, `${markers.file}.txt`), content: markers.content }, USAGE_WRITE),
    text('All done.', USAGE_TEXT),
  ]);
  const run = await runClaude({ prompt: `Please note ${markers.prompt} and write the files`, apiUrl: api.url, telemetryEnv, cwd, allowedTools: ['Bash', 'Write'] });
  expect(run.timedOut, describeRun(run)).toBe(false);
  expect(run.code, describeRun(run)).toBe(0);
  expect(api.unscripted, api.describe()).toEqual([]);
  expect(api.scripted.map((s) => s.turn.kind)).toEqual(['tool_use', 'tool_use', 'text']);
  // The client ran both tools in its directory.
  expect(readFileSync(join(cwd, 'bash-out.txt'), 'utf8')).toBe(markers.command);
  expect(readFileSync(join(cwd, `${markers.file}.txt`), 'utf8')).toBe(markers.content);
  const requests = api.requests.slice(before);
  const sessionId = String(requests.find((r) => r.headers['x-claude-code-session-id'])?.headers['x-claude-code-session-id'] ?? '');
  expect(sessionId).not.toBe('');
  const model = api.scripted[0]!.request.model;

  // What the client sent: every export carried its credential and was accepted.
  for (const e of recorder.exports) {
    expect(e.decodeError).toBeUndefined();
    expect(e.authorization).toBe(secrets.authorization.me);
    expect(e.status, `the collector answered ${e.status} to ${e.path}`).toBe(200);
  }
  const apiRequests = recorder.acceptedLogs.filter((log) => log.attributes['event.name'] === 'api_request' && log.attributes['session.id'] === sessionId);
  expect(apiRequests.length).toBe(3);
  return { database, run, sessionId, model, apiRequests, sent: recorder.allLogs, collector };
}

/** Waits until the session's requests and tokens are stored (rows arrive in the exporter's batches). */
async function arrived(path: Session): Promise<void> {
  const { database, sessionId, collector } = path;
  const requests = async () => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM ${database}.${DERIVED.apiRequests} WHERE session_id = '${sessionId}'`))[0]!.n);
  const tools = async () => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM ${database}.${DERIVED.toolResults} WHERE session_id = '${sessionId}'`))[0]!.n);
  const tokens = async () =>
    Number((await target.query<{ n: number }>(`SELECT sum(increment) AS n FROM ${database}.${DERIVED.metricIncrements} WHERE metric = 'claude_code.token.usage'`))[0]!.n);
  const expectedTokens = total('input_tokens') + total('output_tokens') + total('cache_read_input_tokens') + total('cache_creation_input_tokens');
  const done = await waitFor(async () => (await requests()) === 3 && (await tools()) === 2 && (await tokens()) === expectedTokens, ARRIVAL_MS);
  expect(done, `stored: ${await requests()} api_request, ${await tools()} tool_result, ${await tokens()} tokens (want ${expectedTokens})\n${collector.log()}`).toBe(true);
}

/** The reports answer with the client's own numbers, under the authenticated user. */
async function reportsAddUp(path: Session): Promise<void> {
  const { database, model, apiRequests } = path;
  const sentCost = apiRequests.reduce((sum, log) => sum + Number(log.attributes.cost_usd), 0);
  expect(sentCost).toBeGreaterThan(0);

  const byUser = await report<{ user: string; cost_usd: number; requests: number; input_tokens: number; output_tokens: number }>(database, 'cost-by-user');
  // Costs to the report's 6 decimals (closeTo: the engine may add the three in another order).
  expect(byUser).toEqual([{ user: 'me', cost_usd: expect.closeTo(sentCost, 6), requests: 3, input_tokens: total('input_tokens'), output_tokens: total('output_tokens') }]);

  const byModel = await report<{ model: string; query_source: string; cost_usd: number; requests: number }>(database, 'cost-by-model-source');
  expect(byModel.map(({ model, cost_usd, requests }) => ({ model, cost_usd, requests }))).toEqual([{ model, cost_usd: expect.closeTo(sentCost, 6), requests: 3 }]);

  const tokens = await report<Record<string, unknown>>(database, 'tokens-by-model');
  expect(tokens.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === 'model' ? v : Number(v)])))).toEqual([
    {
      model,
      input_tokens: total('input_tokens'),
      output_tokens: total('output_tokens'),
      cache_read_tokens: total('cache_read_input_tokens'),
      cache_creation_tokens: total('cache_creation_input_tokens'),
    },
  ]);

  const tools = await report<{ tool: string; calls: number; failures: number }>(database, 'tool-usage');
  expect(tools.map(({ tool, calls, failures }) => ({ tool, calls: Number(calls), failures: Number(failures) }))).toEqual([
    { tool: 'Bash', calls: 1, failures: 0 },
    { tool: 'Write', calls: 1, failures: 0 },
  ]);

  await productivityAddsUp(database, sentCost);

  // Every stored event and metric point is the authenticated user's.
  const users = await target.query<{ user: string }>(
    `SELECT DISTINCT authenticated_user AS user FROM ${database}.${DERIVED.events} UNION DISTINCT SELECT DISTINCT authenticated_user AS user FROM ${database}.${DERIVED.metricIncrements}`,
  );
  expect(users.map((row) => row.user)).toEqual(['me']);
}

/** Each planted marker stored anywhere in the database ("MARKER in TABLE"). */
const markersFound = (database: string, markers: Record<string, string>) => harness.markersFound(database, Object.values(markers));

/** The counters' report (it works at every level, basic included): the client's cost, the Write's one line, under the authenticated user. */
async function productivityAddsUp(database: string, sentCost: number): Promise<void> {
  const rows = await report<{ user: string; lines_added: number; cost_usd: number }>(database, 'productivity');
  expect(rows.map(({ user, lines_added, cost_usd }) => ({ user, lines_added: Number(lines_added), cost_usd: Number(cost_usd) }))).toEqual([
    { user: 'me', lines_added: 1, cost_usd: expect.closeTo(sentCost, 6) },
  ]);
}

const marked = (level: string) => ({
  prompt: `prompt-marker-${level}-5521`,
  command: `command-marker-${level}-7713`,
  file: `file-marker-${level}-3307`,
  content: `content-marker-${level}-9902`,
});

describe('the whole path: real client, real collector and exporter, the migrated schema on the real engine, the reports', () => {
  it('level full: the reports give the client\'s cost, tokens and tool calls under the authenticated user; content is kept', async () => {
    const markers = marked('full');
    const path = await wholePath('full', markers);
    await arrived(path);
    await reportsAddUp(path);
    // The marker search finds every marker at level full (prompt, command, file name and content are
    // kept), so an empty search below means something.
    const rows = (await harness.everyRowAsText(path.database)).map((row) => row.text).join('\n');
    for (const marker of Object.values(markers)) expect(rows, `${marker} not stored at level full`).toContain(marker);
  }, 360_000);

  it('level enhanced (the default): the same numbers, and no planted marker anywhere in the stored tables', async () => {
    const markers = marked('enhanced');
    const path = await wholePath('enhanced', markers);
    await arrived(path);
    await reportsAddUp(path);
    expect(await markersFound(path.database, markers)).toEqual([]);
  }, 360_000);

  it('level enhanced with a client that turns every content switch on anyway: the collector\'s level keeps the markers out', async () => {
    const markers = marked('switches');
    const path = await wholePath('enhanced', markers, {
      database: 'wholepath_enhanced_switches_on',
      clientEnv: { OTEL_LOG_USER_PROMPTS: '1', OTEL_LOG_TOOL_DETAILS: '1', OTEL_LOG_ASSISTANT_RESPONSES: '1' },
    });
    // The client did send them: the level, not the client, is what keeps them out.
    const sent = JSON.stringify(path.sent);
    for (const marker of [markers.prompt, markers.command]) expect(sent, `the client did not send ${marker}`).toContain(marker);
    await arrived(path);
    await reportsAddUp(path);
    expect(await markersFound(path.database, markers)).toEqual([]);
  }, 360_000);

  it('level basic with a client that sends events and content anyway: no event is stored, the metrics give the client\'s tokens and cost', async () => {
    const markers = marked('basic');
    // env prints OTEL_LOGS_EXPORTER=none at basic; this client ignores it, so the collector's level is what is tested.
    const path = await wholePath('basic', markers, {
      clientEnv: { OTEL_LOGS_EXPORTER: 'otlp', OTEL_LOG_USER_PROMPTS: '1', OTEL_LOG_TOOL_DETAILS: '1', OTEL_LOG_ASSISTANT_RESPONSES: '1' },
    });
    expect(JSON.stringify(path.sent), 'the client did not send the prompt').toContain(markers.prompt);
    const { database } = path;
    const sentCost = path.apiRequests.reduce((sum, log) => sum + Number(log.attributes.cost_usd), 0);
    const increments = async () =>
      Object.fromEntries(
        (
          await target.query<{ metric: string; type: string; total: number }>(
            `SELECT metric, ifNull(attributes['type'], '') AS type, round(sum(increment), 6) AS total FROM ${database}.${DERIVED.metricIncrements} GROUP BY metric, type`,
          )
        ).map((row) => [`${row.metric}/${row.type}`, Number(row.total)]),
      );
    const expected = {
      'claude_code.token.usage/input': total('input_tokens'),
      'claude_code.token.usage/output': total('output_tokens'),
      'claude_code.token.usage/cacheRead': total('cache_read_input_tokens'),
      'claude_code.token.usage/cacheCreation': total('cache_creation_input_tokens'),
      'claude_code.cost.usage/': Math.round(sentCost * 1e6) / 1e6,
    };
    const matches = async () => { const got = await increments(); return Object.entries(expected).every(([k, v]) => got[k] !== undefined && Math.abs(got[k] - v) < 1e-6); };
    expect(await waitFor(matches, ARRIVAL_MS), `stored increments: ${JSON.stringify(await increments())}, want ${JSON.stringify(expected)}\n${path.collector.log()}`).toBe(true);
    await productivityAddsUp(database, sentCost);
    // No api_request event is stored, so the rollup is empty: the cost reports answer from the
    // counters (which carry user, model and token type), and know no request count.
    const byUser = await report<{ user: string; cost_usd: number; requests: number; input_tokens: number; output_tokens: number }>(database, 'cost-by-user');
    expect(byUser.map((row) => ({ ...row, requests: Number(row.requests), input_tokens: Number(row.input_tokens), output_tokens: Number(row.output_tokens) }))).toEqual([
      { user: 'me', cost_usd: expect.closeTo(sentCost, 6), requests: 0, input_tokens: total('input_tokens'), output_tokens: total('output_tokens') },
    ]);
    const tokens = await report<Record<string, unknown>>(database, 'tokens-by-model');
    expect(tokens.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === 'model' ? v : Number(v)])))).toEqual([
      {
        model: path.model,
        input_tokens: total('input_tokens'),
        output_tokens: total('output_tokens'),
        cache_read_tokens: total('cache_read_input_tokens'),
        cache_creation_tokens: total('cache_creation_input_tokens'),
      },
    ]);
    const users = await target.query<{ user: string }>(`SELECT DISTINCT authenticated_user AS user FROM ${database}.${DERIVED.metricIncrements}`);
    expect(users.map((row) => row.user)).toEqual(['me']);
    // Give a late event batch time to arrive, then: none at all.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect(await target.query(`SELECT event FROM ${database}.${DERIVED.events}`)).toEqual([]);
    expect(await markersFound(database, markers)).toEqual([]);
  }, 360_000);
});
