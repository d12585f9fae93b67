/**
 * The reports on data in the shape Claude Code 2.1.x sends (the generator's `client2_1` users, built
 * from the census of the pinned real client), mixed with the older shapes, against the generator's
 * own ground truth; and the variants levels and switches produce: tool details removed (level
 * enhanced) with and without the collector lifting the extension names to top-level attributes,
 * events without session.id (OTEL_METRICS_INCLUDE_SESSION_ID=false), and metrics only (level basic).
 * test/whole-path-extensions.test.ts runs the same reports on the real client's own output.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/clickhouse/migrate.ts';
import type { ExportLine, KeyValue } from '../src/clickhouse/otlp-json.ts';
import { bindParams, loadLibrary } from '../src/clickhouse/queries.ts';
import { quoteIdentifier } from '../src/clickhouse/sql.ts';
import { DERIVED } from '../src/clickhouse/tables.ts';
import { embeddedTarget, type SqlTarget } from '../src/clickhouse/target.ts';
import { emptyTruth, generateExport } from '../src/fixtures/claude-code.ts';
import { insertExport } from './support/clickhouse.ts';

const OPTIONS = { seed: 23, users: 8, days: 21, client2_1: true } as const;
const library = new Map(loadLibrary().map((query) => [query.name, query]));

let target: SqlTarget;
const truth = emptyTruth();
let lines: ExportLine[];

/** Migrates `database` and loads `exportLines` into it. */
async function load(database: string, exportLines: Iterable<ExportLine>): Promise<void> {
  await migrate(target, { database });
  await insertExport(target, exportLines, database);
}

async function report(database: string, name: string, params: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const query = library.get(name);
  if (!query) throw new Error(`no report ${name} in queries/`);
  await target.exec(`USE ${quoteIdentifier(database)}`);
  return target.query(query.sql, bindParams(query, params));
}

const rounded = (record: Record<string, number>) => Object.fromEntries(Object.entries(record).map(([key, value]) => [key, Math.round(value * 1e6) / 1e6]));
/** Each log record of the export, rewritten by `edit` (a copy; the generator's lines are left alone). */
function editLogs(source: readonly ExportLine[], edit: (attributes: KeyValue[]) => KeyValue[]): ExportLine[] {
  return source.map((line) =>
    line.resourceLogs
      ? {
          resourceLogs: line.resourceLogs.map((resource) => ({
            ...resource,
            scopeLogs: resource.scopeLogs?.map((scope) => ({ ...scope, logRecords: scope.logRecords?.map((record) => ({ ...record, attributes: edit(record.attributes ?? []) })) })),
          })),
        }
      : line,
  );
}
const value = (attributes: KeyValue[], key: string) => attributes.find((attribute) => attribute.key === key)?.value?.stringValue ?? '';

beforeAll(async () => {
  target = await embeddedTarget();
  lines = [...generateExport(OPTIONS, truth)];
  await load('shape_2_1', lines);
}, 120_000);

afterAll(async () => {
  await target?.close();
});

describe('reports on client 2.1.x data mixed with older shapes', () => {
  it('the fixture has both shapes: string-typed numbers and `name` on old clients; mcp_tool, raw query_source and 529s without a status on 2.1.328', async () => {
    const [row] = await target.query<Record<string, number>>(`SELECT
      countIf(LogAttributes['name'] != '') AS legacy_names,
      countIf(LogAttributes['tool_name'] = 'mcp_tool') AS mcp_tool,
      countIf(LogAttributes['query_source'] = 'agent:builtin:general-purpose') AS raw_subagent,
      countIf(ClaudeEvent = 'api_error' AND LogAttributes['status_code'] = '') AS no_status,
      countIf(ClaudeEvent = 'api_retries_exhausted') AS exhausted
      FROM shape_2_1.otel_logs`);
    for (const [key, count] of Object.entries(row!)) expect(Number(count), key).toBeGreaterThan(0);
  });

  it('cost-by-user and tokens-by-model equal the generator\'s totals', async () => {
    const byUser = await report('shape_2_1', 'cost-by-user');
    expect(Object.fromEntries(byUser.map((row) => [row.user, Number(row.cost_usd)]))).toEqual(rounded(truth.costByUser));
    expect(Object.fromEntries(byUser.map((row) => [row.user, Number(row.requests)]))).toEqual(truth.requestsByUser);
    const tokens = await report('shape_2_1', 'tokens-by-model');
    expect(Object.fromEntries(tokens.map((row) => [row.model, { input: Number(row.input_tokens), output: Number(row.output_tokens), cacheRead: Number(row.cache_read_tokens), cacheCreation: Number(row.cache_creation_tokens) }]))).toEqual(truth.tokensByModel);
  });

  it('cost-by-model-source maps raw query_source values to main, subagent and auxiliary as the client\'s metrics do', async () => {
    const rows = await report('shape_2_1', 'cost-by-model-source');
    expect(new Set(rows.map((row) => row.query_source))).toEqual(new Set(['main', 'subagent', 'auxiliary']));
    expect(Object.fromEntries(rows.map((row) => [`${row.model}|${row.query_source}`, Number(row.cost_usd)]))).toEqual(rounded(truth.costBySource));
    expect(Object.fromEntries(rows.map((row) => [`${row.model}|${row.query_source}`, Number(row.requests)]))).toEqual(truth.requestsBySource);
  });

  it('tool-usage and tool-failures report each MCP tool as mcp__server__tool, old and new clients alike', async () => {
    for (const name of ['tool-usage', 'tool-failures']) {
      const rows = await report('shape_2_1', name);
      expect(Object.fromEntries(rows.map((row) => [row.tool, { calls: Number(row.calls), failures: Number(row.failures) }])), name).toEqual(truth.toolCalls);
    }
    expect(truth.toolCalls['mcp__linear__create_issue']?.calls).toBeGreaterThan(0);
    expect(truth.toolCalls['mcp_tool']).toBeUndefined();
  });

  it('api-errors counts the 529 path; api-retries counts retried and exhausted errors; high-retry-sessions lists every session whose retries were exhausted', async () => {
    const errors = await report('shape_2_1', 'api-errors');
    expect(Object.fromEntries(errors.map((row) => [row.status_code, Number(row.errors)]))).toEqual(truth.apiErrorsByStatus);
    const retries = await report('shape_2_1', 'api-retries');
    expect(Object.fromEntries(retries.filter((row) => Number(row.exhausted) > 0).map((row) => [row.status_code, Number(row.exhausted)]))).toEqual(truth.exhaustedByStatus);
    expect(truth.exhaustedByStatus['529']).toBeGreaterThan(0);
    const sessions = new Set((await report('shape_2_1', 'high-retry-sessions')).map((row) => row.session_id));
    const exhausted = await target.query<{ session_id: string }>(`SELECT DISTINCT session_id FROM shape_2_1.${DERIVED.apiRetriesExhausted}`);
    expect(exhausted.length).toBeGreaterThan(0);
    for (const { session_id } of exhausted) expect(sessions.has(session_id), session_id).toBe(true);
    // The 529 path: attempt 3 and no status, found by the default min_attempt 4 only through api_retries_exhausted.
    const overloaded = await target.query<{ session_id: string; attempt: number }>(`SELECT session_id, attempt FROM shape_2_1.${DERIVED.apiErrors} WHERE error = 'Repeated 529 Overloaded errors'`);
    expect(overloaded.length).toBeGreaterThan(0);
    for (const row of overloaded) expect(sessions.has(row.session_id)).toBe(true);
  });

  it('extension-attribution and extension-cost name each MCP server, skill and subagent', async () => {
    const calls = await report('shape_2_1', 'extension-attribution');
    expect(Object.fromEntries(calls.map((row) => [`${row.kind}|${row.name}`, Number(row.calls)]))).toEqual(truth.extensionCalls);
    const cost = await report('shape_2_1', 'extension-cost');
    expect(Object.fromEntries(cost.map((row) => [`${row.kind}|${row.name}`, Number(row.cost_usd)]))).toEqual(rounded(truth.extensionCost));
  });

  it('typed views hold the subagents, MCP connections, skills and hooks the client reported', async () => {
    const count = async (view: string) => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM shape_2_1.${view}`))[0]!.n);
    const events = async (name: string) => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM shape_2_1.otel_logs WHERE LogAttributes['event.name'] = '${name}'`))[0]!.n);
    for (const [view, event] of [
      [DERIVED.subagents, 'subagent_completed'],
      [DERIVED.mcpConnections, 'mcp_server_connection'],
      [DERIVED.skills, 'skill_activated'],
      [DERIVED.hooks, 'hook_execution_complete'],
    ] as const) {
      expect(await events(event), event).toBeGreaterThan(0);
      expect(await count(view), view).toBe(await events(event));
    }
    const [subagent] = await target.query<Record<string, unknown>>(`SELECT agent_type, is_built_in, total_tokens > 0 AS tokens FROM shape_2_1.${DERIVED.subagents} LIMIT 1`);
    expect(subagent).toEqual({ agent_type: 'general-purpose', is_built_in: 1, tokens: 1 });
  });
});

describe('typed views of the events the pinned client holds but the harness cannot provoke offline', () => {
  it('compaction, api_refusal and auth, with the attributes 2.1.328 gives them (read from its binary: strings for counts, as it sends them)', async () => {
    const s = (stringValue: string) => ({ stringValue });
    const record = (name: string, attributes: Record<string, { stringValue?: string; intValue?: string; boolValue?: boolean }>) => ({
      timeUnixNano: '1764460800000000000',
      body: s(`claude_code.${name}`),
      attributes: [
        { key: 'event.name', value: s(name) },
        { key: 'session.id', value: s('S-typed') },
        { key: 'prompt.id', value: s('P-typed') },
        { key: 'enduser.id', value: s('me') },
        ...Object.entries(attributes).map(([key, value]) => ({ key, value })),
      ],
    });
    await load('typed_events', [
      {
        resourceLogs: [
          {
            resource: { attributes: [{ key: 'service.name', value: s('claude-code') }] },
            scopeLogs: [
              {
                scope: { name: 'com.anthropic.claude_code.events', version: '2.1.328' },
                logRecords: [
                  record('compaction', { trigger: s('auto'), success: s('true'), duration_ms: s('1234'), pre_tokens: s('150000'), post_tokens: s('12000') }),
                  record('api_refusal', { model: s('claude-opus-5-5'), request_id: s('req_1'), attempt: { intValue: '1' }, query_source: s('repl_main_thread'), has_explanation: { boolValue: true }, category: s('cyber') }),
                  record('auth', { action: s('login'), success: s('false'), auth_method: s('oauth'), error_category: s('network'), status_code: s('503') }),
                ],
              },
            ],
          },
        ],
      },
    ]);
    expect(await target.query(`SELECT user, trigger, success, duration_ms, pre_tokens, post_tokens FROM typed_events.${DERIVED.compactions}`)).toEqual([
      { user: 'me', trigger: 'auto', success: 1, duration_ms: 1234, pre_tokens: 150000, post_tokens: 12000 },
    ]);
    expect(await target.query(`SELECT model, attempt, category, has_explanation, query_source FROM typed_events.${DERIVED.apiRefusals}`)).toEqual([
      { model: 'claude-opus-5-5', attempt: 1, category: 'cyber', has_explanation: 1, query_source: 'main' },
    ]);
    expect(await target.query(`SELECT action, success, auth_method, error_category, status_code FROM typed_events.${DERIVED.auth}`)).toEqual([
      { action: 'login', success: 0, auth_method: 'oauth', error_category: 'network', status_code: '503' },
    ]);
  });
});

describe('what levels and switches leave of 2.1.x data', () => {
  it('tool details removed but the extension names lifted to top-level attributes (the collector at level enhanced): MCP tools still per tool', async () => {
    const lifted = editLogs(lines, (attributes) => {
      const parameters = value(attributes, 'tool_parameters');
      if (!parameters) return attributes;
      const names = JSON.parse(parameters) as Record<string, string>;
      const keep = ['mcp_server_name', 'mcp_tool_name', 'skill_name', 'subagent_type'].filter((key) => names[key]);
      return [...attributes.filter((attribute) => attribute.key !== 'tool_parameters'), ...keep.map((key) => ({ key, value: { stringValue: names[key]! } }))];
    });
    await load('lifted', lifted);
    const rows = await report('lifted', 'tool-failures');
    expect(Object.fromEntries(rows.map((row) => [row.tool, { calls: Number(row.calls), failures: Number(row.failures) }]))).toEqual(truth.toolCalls);
    const calls = await report('lifted', 'extension-attribution');
    expect(Object.fromEntries(calls.map((row) => [`${row.kind}|${row.name}`, Number(row.calls)]))).toEqual(truth.extensionCalls);
  });

  it('tool details removed and nothing lifted: skills and subagents come from skill_activated and subagent_completed, MCP calls count under an unnamed server', async () => {
    await load('no_details', editLogs(lines, (attributes) => attributes.filter((attribute) => attribute.key !== 'tool_parameters')));
    const calls = await report('no_details', 'extension-attribution');
    const got = Object.fromEntries(calls.map((row) => [`${row.kind}|${row.name}`, Number(row.calls)]));
    // Old clients' MCP tools carry the server in their name; 2.1.x's only in the removed details.
    const [legacy] = await target.query<{ n: number }>(`SELECT count() AS n FROM no_details.${DERIVED.toolResults} WHERE startsWith(tool, 'mcp__github__')`);
    const [unnamed] = await target.query<{ n: number }>(`SELECT count() AS n FROM no_details.${DERIVED.toolResults} WHERE tool = 'mcp_tool'`);
    expect(Number(unnamed!.n)).toBeGreaterThan(0);
    expect(got).toEqual({
      'skill|release-notes': truth.extensionCalls['skill|release-notes'],
      'subagent|general-purpose': truth.extensionCalls['subagent|general-purpose'],
      'mcp|github': Number(legacy!.n),
      'mcp|': Number(unnamed!.n),
    });
  });

  it('events without session.id (OTEL_METRICS_INCLUDE_SESSION_ID=false): per-session reports group by prompt, as prompt:<prompt.id>', async () => {
    const noSession = editLogs(lines, (attributes) => attributes.filter((attribute) => attribute.key !== 'session.id'));
    await load('no_session', noSession);
    const sessions = await report('no_session', 'high-retry-sessions');
    expect(sessions.length).toBeGreaterThan(0);
    for (const row of sessions) expect(String(row.session_id)).toMatch(/^prompt:s-\d{6}-p\d+$/);
    // Each row is one prompt's errors: the trace of that "session" is that prompt's events.
    const first = String(sessions[0]!.session_id);
    const trace = await report('no_session', 'session-trace', { session: first });
    expect(trace.length).toBeGreaterThan(0);
    expect(new Set(trace.map((row) => row.prompt_id))).toEqual(new Set([first.slice('prompt:'.length)]));
    // Days and users are still counted; sessions (none identified) are not made up.
    const active = await report('no_session', 'active-users');
    expect(active.length).toBeGreaterThan(0);
    expect(active.every((row) => Number(row.sessions) === 0 && Number(row.active_users) > 0)).toBe(true);
    const prompts = await report('no_session', 'prompt-cost', { limit: '5' });
    expect(prompts.every((row) => row.session_id === `prompt:${row.prompt_id}`)).toBe(true);
  });

  it('metrics only (level basic): cost-by-user, tokens-by-model and cost-by-model-source answer from the counters', async () => {
    await load('metrics_only', lines.filter((line) => line.resourceMetrics));
    expect(await target.query(`SELECT count() AS n FROM metrics_only.${DERIVED.events}`)).toEqual([{ n: 0 }]);
    const byUser = await report('metrics_only', 'cost-by-user');
    expect(Object.fromEntries(byUser.map((row) => [row.user, Number(row.cost_usd)]))).toEqual(rounded(truth.metricCostByUser));
    expect(Object.fromEntries(byUser.map((row) => [row.user, Number(row.input_tokens)]))).toEqual(truth.inputTokensByUser);
    expect(Object.fromEntries(byUser.map((row) => [row.user, Number(row.output_tokens)]))).toEqual(truth.outputTokensByUser);
    expect(byUser.every((row) => Number(row.requests) === 0)).toBe(true);
    const tokens = await report('metrics_only', 'tokens-by-model');
    // The older clients' cost counter says model "all" (no tokens): only real models carry tokens.
    expect(Object.fromEntries(tokens.filter((row) => row.model !== 'all').map((row) => [row.model, { input: Number(row.input_tokens), output: Number(row.output_tokens) }]))).toEqual(
      Object.fromEntries(Object.entries(truth.tokensByModel).map(([model, t]) => [model, { input: t.input, output: t.output }])),
    );
    // The 2.1.x users' counters carry model and source: their subagent spend shows as such.
    const sources = await report('metrics_only', 'cost-by-model-source');
    const subagent = sources.filter((row) => row.query_source === 'subagent').reduce((sum, row) => sum + Number(row.cost_usd), 0);
    const expected = Object.entries(truth.costBySource).filter(([key]) => key.endsWith('|subagent')).reduce((sum, [, cost]) => sum + cost, 0);
    expect(subagent).toBeGreaterThan(0);
    // Old clients' counters say query_source main for everything: only the 2.1.x users' subagent cost is known.
    expect(subagent).toBeLessThanOrEqual(expected + 1e-6);
    const months = await report('metrics_only', 'cost-by-user-month');
    expect(months.reduce((sum, row) => sum + Number(row.cost_usd), 0)).toBeCloseTo(Object.values(truth.metricCostByUser).reduce((a, b) => a + b, 0), 4);
  });

  it('metrics stored before the upgrade to schema 8 are counted once, and once more after a repeated migration', async () => {
    await migrate(target, { database: 'metrics_upgrade' }, { upTo: 7 });
    await insertExport(target, lines.filter((line) => line.resourceMetrics), 'metrics_upgrade');
    const { MIGRATIONS } = await import('../src/clickhouse/schema.ts');
    expect((await migrate(target, { database: 'metrics_upgrade' })).map((m) => m.version)).toEqual(MIGRATIONS.filter((m) => m.version > 7).map((m) => m.version));
    const costs = async () => Object.fromEntries((await report('metrics_upgrade', 'cost-by-user')).map((row) => [row.user, Number(row.cost_usd)]));
    expect(await costs()).toEqual(rounded(truth.metricCostByUser));
    // An interrupted migration is run again whole: the backfill's token keeps it from counting twice.
    for (const statement of MIGRATIONS.find((m) => m.version === 8)!.statements({ database: 'metrics_upgrade' })) await target.exec(statement);
    expect(await costs()).toEqual(rounded(truth.metricCostByUser));
  });

  it('a user and day with events answer from the events alone: the counters are not added on top', async () => {
    const byUser = await report('shape_2_1', 'cost-by-user-day');
    const [metricDays] = await target.query<{ n: number }>(`SELECT count() AS n FROM shape_2_1.${DERIVED.usage} WHERE requests = 0 AND cost_usd > 0`);
    expect(Number(metricDays!.n)).toBe(0);
    expect(byUser.reduce((sum, row) => sum + Number(row.requests), 0)).toBe(Object.values(truth.requestsByUser).reduce((a, b) => a + b, 0));
  });
});

