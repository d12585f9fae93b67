/**
 * The whole path at level full for what Claude Code 2.1.x reports beyond a plain session: the real
 * client (env from `telemetry-stack env`) -> OTLP recorder -> the real collector with the rendered
 * configuration and its real ClickHouse exporter -> the ClickHouse front over chdb with the migrated
 * schema -> the library's reports. One session calls a skill, an MCP tool, Bash (with a hook), Write
 * and a subagent on a second model; five more meet API errors (529 and 429 that succeed on retry, 500
 * with its retries exhausted and without session.id, 400 throughout, repeated 529s). The reports must
 * give the client's own numbers: tool calls per tool with the MCP tool as mcp__server__tool, spend by
 * model and query source as the client's own cost counter splits it, errors by status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DERIVED } from '../src/clickhouse/tables.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { describeRun, runClaude } from './support/claude-code.ts';
import { extensionsScenario } from './support/claude-code-scenarios.ts';
import { apiError, type MessagesApi, text, type Turn, type Usage } from './support/messages-api.ts';
import type { RecordedLogRecord } from './support/otlp-recorder.ts';
import { type PathStack, waitFor, WholePath } from './support/whole-path.ts';

const DATABASE = 'wholepath_extensions';
/** The exporter batches (about 5 s) and retries; allow for a loaded two-core machine. */
const ARRIVAL_MS = 120_000;
const USAGE_OK: Usage = { input_tokens: 2345, output_tokens: 78, cache_read_input_tokens: 9012, cache_creation_input_tokens: 43 };
const USAGE_SUBAGENT: Usage = { input_tokens: 111, output_tokens: 11, cache_read_input_tokens: 22, cache_creation_input_tokens: 3 };

let harness: WholePath;
let target: SqlTarget;
let api: MessagesApi;

/** One level's path: its own database, front, collector, recorder and the client env `env` prints for it. */
type Path = PathStack;
const startPath = (level: 'full' | 'enhanced', database: string): Promise<Path> => harness.stack(database, { level });

beforeAll(async () => {
  harness = await WholePath.start(); // a missing client fails the file at once, with the install command
  target = harness.target;
  api = harness.api;
}, 120_000);

afterAll(async () => {
  await harness?.stop();
});

const report = <T = Record<string, unknown>>(name: string, params: Record<string, string> = {}, database = DATABASE) => harness.report<T>(database, name, params);

const count = async (sql: string) => Number((await target.query<{ n: number }>(sql))[0]!.n);
let full: Path;
const events = (name: string, path: Path = full) => path.recorder.acceptedLogs.filter((log) => log.attributes['event.name'] === name);
const attr = (log: RecordedLogRecord, key: string) => String(log.attributes[key] ?? '');
const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

/** One scripted `claude -p` run; its exit code is returned for the caller to check. */
async function session(prompt: string, script: readonly Turn[], options: { env?: Record<string, string>; home?: string; cwd?: string; allowedTools?: string[]; args?: string[] } = {}, path: Path = full) {
  api.setScript(script);
  const run = await runClaude({ prompt, apiUrl: api.url, telemetryEnv: path.telemetryEnv, ...options });
  expect(run.timedOut, describeRun(run)).toBe(false);
  return run;
}

/** Waits until every event the client sent to `path` is stored (and every token it counted, with `tokens`). */
async function arrived(path: Path, tokens = true): Promise<void> {
  const { recorder, database, collector } = path;
  for (const e of recorder.exports) {
    expect(e.decodeError).toBeUndefined();
    expect(e.status, `the collector answered ${e.status} to ${e.path}`).toBe(200);
  }
  const sentEvents = recorder.acceptedLogs.length;
  const sentTokens = recorder.acceptedPoints.filter((p) => p.metric === 'claude_code.token.usage').reduce((sum, p) => sum + p.value, 0);
  const storedEvents = () => count(`SELECT count() AS n FROM ${database}.${DERIVED.events}`);
  const storedTokens = () => count(`SELECT sum(increment) AS n FROM ${database}.${DERIVED.metricIncrements} WHERE metric = 'claude_code.token.usage'`);
  const done = await waitFor(async () => (await storedEvents()) === sentEvents && (!tokens || (await storedTokens()) === sentTokens), ARRIVAL_MS);
  expect(done, `stored ${await storedEvents()} of ${sentEvents} events, ${await storedTokens()} of ${sentTokens} tokens\n${collector.log()}`).toBe(true);
}

describe('the whole path at level full: extensions and API errors of the real client, reported per tool, source and status', () => {
  beforeAll(async () => {
    full = await startPath('full', DATABASE);
    const scenario = extensionsScenario(USAGE_SUBAGENT);
    const extensions = await session(scenario.prompt, scenario.turns, scenario.options);
    expect(extensions.code, describeRun(extensions)).toBe(0);
    expect(api.unscripted, api.describe()).toEqual([]);

    expect((await session('Say ok', [apiError(529, { retryAfter: 0 }), text('ok after overload', USAGE_OK)])).code).toBe(0);
    expect((await session('Say ok', [apiError(429, { retryAfter: 0 }), text('ok after rate limit', USAGE_OK)])).code).toBe(0);
    // Retries exhausted, and the client told to leave session.id out of its events too.
    const exhausted = await session('Say ok', [apiError(500, { retryAfter: 0 }), apiError(500, { retryAfter: 0 }), apiError(500, { retryAfter: 0 })], {
      env: { CLAUDE_CODE_MAX_RETRIES: '1', OTEL_METRICS_INCLUDE_SESSION_ID: 'false' },
    });
    expect(exhausted.code, describeRun(exhausted)).toBe(1);
    const invalid = await session('Say ok', Array.from({ length: 8 }, () => apiError(400, { message: 'scripted invalid request' })));
    expect(invalid.code, describeRun(invalid)).toBe(1);
    const overloaded = await session('Say ok', Array.from({ length: 8 }, () => apiError(529, { retryAfter: 0 })));
    expect(overloaded.code, describeRun(overloaded)).toBe(1);

    await arrived(full);
  }, 600_000);

  it('tool-usage and tool-failures: one row per tool, the MCP tool as mcp__probe__echo (the client sends mcp_tool)', async () => {
    expect(events('tool_result').some((log) => attr(log, 'tool_name') === 'mcp_tool')).toBe(true);
    const expected = [
      { tool: 'Agent', calls: 1, failures: 0 },
      { tool: 'Bash', calls: 1, failures: 0 },
      { tool: 'Skill', calls: 1, failures: 0 },
      { tool: 'Write', calls: 1, failures: 0 },
      { tool: 'mcp__probe__echo', calls: 1, failures: 0 },
    ];
    expect(events('tool_result').length).toBe(expected.length);
    // The session trace names it the same way.
    const session = attr(events('tool_result').find((log) => attr(log, 'tool_name') === 'mcp_tool')!, 'session.id');
    const trace = await report<{ event: string; tool: string }>('session-trace', { session });
    expect(trace.filter((row) => row.event === 'tool_result').map((row) => row.tool).sort()).toEqual(expected.map((row) => row.tool));
    for (const name of ['tool-usage', 'tool-failures']) {
      const rows = await report<{ tool: string; calls: number; failures: number }>(name);
      expect(rows.map(({ tool, calls, failures }) => ({ tool, calls: Number(calls), failures: Number(failures) })).sort((a, b) => (a.tool < b.tool ? -1 : 1)), name).toEqual(expected);
    }
  });

  it('cost-by-model-source: spend per model and source equals the client\'s own cost counter (main, subagent), not its raw query_source values', async () => {
    const raw = new Set(events('api_request').map((log) => attr(log, 'query_source')));
    expect(raw.has('main')).toBe(false); // the events carry sdk and agent:builtin:general-purpose
    const counter: Record<string, number> = {};
    for (const point of full.recorder.acceptedPoints.filter((p) => p.metric === 'claude_code.cost.usage')) {
      const key = `${String(point.attributes.model)}|${String(point.attributes.query_source)}`;
      counter[key] = (counter[key] ?? 0) + point.value;
    }
    expect(Object.keys(counter).some((key) => key.endsWith('|subagent'))).toBe(true);
    const rows = await report<{ model: string; query_source: string; cost_usd: number; requests: number }>('cost-by-model-source');
    const got = Object.fromEntries(rows.map((row) => [`${row.model}|${row.query_source}`, Number(row.cost_usd)]));
    expect(Object.keys(got).sort()).toEqual(Object.keys(counter).sort());
    for (const [key, cost] of Object.entries(counter)) expect(got[key], key).toBeCloseTo(cost, 6);
    expect(rows.reduce((sum, row) => sum + Number(row.requests), 0)).toBe(events('api_request').length);
  });

  it('api-errors and api-retries: errors by status, the repeated-529 path (no status sent) as 529, exhausted retries counted', async () => {
    const errors = events('api_error');
    // What the client sent: a 500 after its one retry, a 400, and the 529s it gave up on without a status.
    const overloaded = errors.filter((log) => attr(log, 'status_code') === '');
    expect(overloaded.map((log) => attr(log, 'error'))).toEqual(['Repeated 529 Overloaded errors']);
    expect(errors.map((log) => attr(log, 'status_code')).sort()).toEqual(['', '400', '500']);
    const rows = await report<{ status_code: string; errors: number }>('api-errors');
    expect(Object.fromEntries(rows.map((row) => [row.status_code, Number(row.errors)]))).toEqual({ '400': 1, '500': 1, '529': 1 });
    const exhaustedSent = events('api_retries_exhausted');
    expect(exhaustedSent.length).toBe(2);
    const retries = await report<{ status_code: string; errors: number; retried: number; exhausted: number; max_attempts: number }>('api-retries');
    const byStatus = Object.fromEntries(retries.map((row) => [row.status_code, { errors: Number(row.errors), retried: Number(row.retried), exhausted: Number(row.exhausted), max_attempts: Number(row.max_attempts) }]));
    expect(byStatus).toEqual({
      '400': { errors: 1, retried: 0, exhausted: 0, max_attempts: Number(attr(errors.find((log) => attr(log, 'status_code') === '400')!, 'attempt')) },
      '500': { errors: 1, retried: 1, exhausted: 1, max_attempts: 2 },
      '529': { errors: 1, retried: 1, exhausted: 1, max_attempts: Number(attr(overloaded[0]!, 'attempt')) },
    });
    expect(byStatus['529']!.max_attempts).toBe(3);
  });

  it('high-retry-sessions and session-trace work without session.id: the session is the prompt, prompt:<prompt.id>', async () => {
    const exhausted = events('api_retries_exhausted').find((log) => attr(log, 'status_code') === '500')!;
    expect(exhausted.attributes['session.id']).toBeUndefined();
    const promptSession = `prompt:${attr(exhausted, 'prompt.id')}`;
    const sessions = (await report<{ session_id: string }>('high-retry-sessions')).map((row) => row.session_id);
    expect(sessions).toContain(promptSession);
    // The repeated-529 session (attempt 3, below min_attempt 4) is listed through api_retries_exhausted.
    const overloaded = events('api_error').find((log) => attr(log, 'status_code') === '')!;
    expect(sessions).toContain(attr(overloaded, 'session.id'));
    const overloadedTrace = await report<{ event: string; status_code: string; attempt: number }>('session-trace', { session: attr(overloaded, 'session.id') });
    expect(overloadedTrace.filter((row) => row.event.startsWith('api_')).map(({ event, status_code }) => ({ event, status_code }))).toEqual([
      { event: 'api_error', status_code: '529' },
      { event: 'api_retries_exhausted', status_code: '529' },
    ]);
    const trace = await report<{ event: string }>('session-trace', { session: promptSession });
    expect(trace.map((row) => row.event)).toEqual(
      full.recorder.acceptedLogs
        .filter((log) => attr(log, 'prompt.id') === attr(exhausted, 'prompt.id'))
        .sort((a, b) => Number(a.attributes['event.sequence']) - Number(b.attributes['event.sequence']))
        .map((log) => attr(log, 'event.name')),
    );
  });

  it('extension-attribution, extension-cost and the typed views name the skill, the MCP server and the subagent', async () => {
    expect(await report('extension-attribution')).toEqual([
      { kind: 'mcp', name: 'probe', calls: 1, failures: 0 },
      { kind: 'skill', name: 'greeting', calls: 1, failures: 0 },
      { kind: 'subagent', name: 'general-purpose', calls: 1, failures: 0 },
    ]);
    const sent: Record<string, number> = {};
    for (const log of events('api_request')) {
      for (const [kind, key] of [['subagent', 'agent.name'], ['skill', 'skill.name'], ['mcp', 'mcp_server.name']] as const) {
        if (attr(log, key)) sent[`${kind}|${attr(log, key)}`] = (sent[`${kind}|${attr(log, key)}`] ?? 0) + Number(log.attributes.cost_usd);
      }
    }
    expect(Object.keys(sent)).toContain('subagent|general-purpose');
    const cost = await report<{ kind: string; name: string; cost_usd: number }>('extension-cost');
    expect(Object.fromEntries(cost.map((row) => [`${row.kind}|${row.name}`, Number(row.cost_usd)]))).toEqual(Object.fromEntries(Object.entries(sent).map(([key, value]) => [key, round6(value)])));

    const subagentModel = attr(events('subagent_completed')[0]!, 'model');
    expect(await target.query(`SELECT agent_type, model, total_tokens, is_async FROM ${DATABASE}.${DERIVED.subagents}`)).toEqual([
      { agent_type: 'general-purpose', model: subagentModel, total_tokens: Number(events('subagent_completed')[0]!.attributes.total_tokens), is_async: 0 },
    ]);
    expect(await target.query(`SELECT server_name, transport_type, status FROM ${DATABASE}.${DERIVED.mcpConnections} ORDER BY timestamp`)).toEqual(
      events('mcp_server_connection').map((log) => ({ server_name: 'probe', transport_type: 'stdio', status: attr(log, 'status') })),
    );
    expect(await target.query(`SELECT skill_name, invocation_trigger FROM ${DATABASE}.${DERIVED.skills}`)).toEqual([{ skill_name: 'greeting', invocation_trigger: attr(events('skill_activated')[0]!, 'invocation_trigger') }]);
    expect(await target.query(`SELECT hook_event, hook_name, hooks, succeeded FROM ${DATABASE}.${DERIVED.hooks}`)).toEqual([{ hook_event: 'PostToolUse', hook_name: 'PostToolUse:Bash', hooks: 1, succeeded: 1 }]);
  });
});

describe('the whole path at level enhanced: extensions without tool details, and with them (the collector keeps the names, not the parameters)', () => {
  let enhanced: Path;
  beforeAll(async () => {
    enhanced = await startPath('enhanced', 'wholepath_extensions_enhanced');
  }, 120_000);

  it('onboarding\'s switches (no tool details): skills and subagents from skill_activated and subagent_completed, the MCP call under an unnamed server', async () => {
    const scenario = extensionsScenario(USAGE_SUBAGENT);
    const run = await session(scenario.prompt, scenario.turns, scenario.options, enhanced);
    expect(run.code, describeRun(run)).toBe(0);
    expect(enhanced.telemetryEnv.OTEL_LOG_TOOL_DETAILS).not.toBe('1');
    await arrived(enhanced, false);
    // Without tool details the client itself names a user's own skill "custom_skill" (2.1.328).
    expect(events('skill_activated', enhanced).map((log) => attr(log, 'skill.name'))).toEqual(['custom_skill']);
    expect(await report('extension-attribution', {}, enhanced.database)).toEqual([
      { kind: 'mcp', name: '', calls: 1, failures: 0 },
      { kind: 'skill', name: 'custom_skill', calls: 1, failures: 0 },
      { kind: 'subagent', name: 'general-purpose', calls: 1, failures: 0 },
    ]);
    // Spend: as the client marks its api_request events at these switches (a built-in subagent by name).
    const cost = await report<{ kind: string; name: string }>('extension-cost', {}, enhanced.database);
    const marked = new Set(
      events('api_request', enhanced).flatMap((log) => [['subagent', 'agent.name'], ['skill', 'skill.name'], ['mcp', 'mcp_server.name']].filter(([, key]) => attr(log, key!)).map(([kind, key]) => `${kind}|${attr(log, key!)}`)),
    );
    expect(marked.has('subagent|general-purpose')).toBe(true);
    expect(cost.map((row) => `${row.kind}|${row.name}`).sort()).toEqual([...marked].sort());
  }, 300_000);

  it('a client with OTEL_LOG_TOOL_DETAILS=1: tool_parameters removed, the MCP tool still reported as mcp__probe__echo', async () => {
    const scenario = extensionsScenario(USAGE_SUBAGENT);
    const run = await session(scenario.prompt, scenario.turns, { ...scenario.options, env: { OTEL_LOG_TOOL_DETAILS: '1' } }, enhanced);
    expect(run.code, describeRun(run)).toBe(0);
    expect(JSON.stringify(enhanced.recorder.acceptedLogs)).toContain('mcp_server_name');
    await arrived(enhanced, false);
    expect(await count(`SELECT count() AS n FROM ${enhanced.database}.otel_logs WHERE mapContains(LogAttributes, 'tool_parameters')`)).toBe(0);
    const tools = await report<{ tool: string; calls: number }>('tool-usage', {}, enhanced.database);
    expect(Object.fromEntries(tools.map((row) => [row.tool, Number(row.calls)]))).toEqual({ Agent: 2, Bash: 2, Skill: 2, Write: 2, mcp_tool: 1, mcp__probe__echo: 1 });
    // Both sessions: the first's MCP call unnamed and its skill as the client named it, the second's by name.
    expect(await report('extension-attribution', {}, enhanced.database)).toEqual([
      { kind: 'subagent', name: 'general-purpose', calls: 2, failures: 0 },
      { kind: 'mcp', name: '', calls: 1, failures: 0 },
      { kind: 'mcp', name: 'probe', calls: 1, failures: 0 },
      { kind: 'skill', name: 'custom_skill', calls: 1, failures: 0 },
      { kind: 'skill', name: 'greeting', calls: 1, failures: 0 },
    ]);
  }, 300_000);
});
