/**
 * Every library query against the hand-made fixture, with answers computed by hand from
 * test/fixtures/hand-made.ts (the arithmetic is in the comments), and the main reports
 * against the generated fixture's independently kept ground truth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindParams, loadLibrary, type LibraryQuery } from '../src/clickhouse/queries.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { emptyTruth, generateExport } from '../src/fixtures/claude-code.ts';
import { handMadeExport } from './fixtures/hand-made.ts';
import { insertExport, schemaTarget } from './support/clickhouse.ts';

const library = loadLibrary();
const byName = new Map(library.map((query) => [query.name, query]));

async function run(target: SqlTarget, name: string, params: Record<string, string> = {}) {
  const query = byName.get(name) as LibraryQuery;
  expect(query, `queries/${name}.sql`).toBeDefined();
  return target.query(query.sql, bindParams(query, params));
}

/** Expected rows for every library query over the hand-made fixture. */
const HAND_ANSWERS: Record<string, { params?: Record<string, string>; rows: Record<string, unknown>[] }> = {
  // api_request events: bob 2.0 (1 req); alice 0.5 + 0.25 (2 req, 1000+500 in, 200+100 out);
  // carol@ unstamped 100000 micros = 0.1; install-x neither stamped nor email = user.id.
  'cost-by-user': {
    rows: [
      { user: 'bob', cost_usd: 2, requests: 1, input_tokens: 100, output_tokens: 1000 },
      { user: 'alice', cost_usd: 0.75, requests: 2, input_tokens: 1500, output_tokens: 300 },
      { user: 'carol@example.com', cost_usd: 0.1, requests: 1, input_tokens: 10, output_tokens: 20 },
      { user: 'install-x', cost_usd: 0.05, requests: 1, input_tokens: 5, output_tokens: 5 },
    ],
  },
  'cost-by-user-day': {
    rows: [
      { day: '2026-10-05', user: 'alice', cost_usd: 0.75, requests: 2, input_tokens: 1500, output_tokens: 300 },
      { day: '2026-10-06', user: 'bob', cost_usd: 2, requests: 1, input_tokens: 100, output_tokens: 1000 },
      { day: '2026-11-02', user: 'carol@example.com', cost_usd: 0.1, requests: 1, input_tokens: 10, output_tokens: 20 },
      { day: '2026-11-02', user: 'install-x', cost_usd: 0.05, requests: 1, input_tokens: 5, output_tokens: 5 },
    ],
  },
  'cost-by-user-month': {
    params: { from: '2026-10-01', to: '2026-11-30' },
    rows: [
      { month: '2026-10-01', user: 'bob', cost_usd: 2, requests: 1, input_tokens: 100, output_tokens: 1000 },
      { month: '2026-10-01', user: 'alice', cost_usd: 0.75, requests: 2, input_tokens: 1500, output_tokens: 300 },
      { month: '2026-11-01', user: 'carol@example.com', cost_usd: 0.1, requests: 1, input_tokens: 10, output_tokens: 20 },
      { month: '2026-11-01', user: 'install-x', cost_usd: 0.05, requests: 1, input_tokens: 5, output_tokens: 5 },
    ],
  },
  // haiku: 10+5 in, 20+5 out, 0 read, 100 created; opus 100/1000; sonnet 1500/300, read 3000+1000, created 0+500.
  'tokens-by-model': {
    rows: [
      { model: 'claude-haiku-4-5', input_tokens: 15, output_tokens: 25, cache_read_tokens: 0, cache_creation_tokens: 100 },
      { model: 'claude-opus-4-1', input_tokens: 100, output_tokens: 1000, cache_read_tokens: 0, cache_creation_tokens: 0 },
      { model: 'claude-sonnet-4-5', input_tokens: 1500, output_tokens: 300, cache_read_tokens: 4000, cache_creation_tokens: 500 },
    ],
  },
  // bob's request has no query_source (old client): counted as main.
  'cost-by-model-source': {
    rows: [
      { model: 'claude-haiku-4-5', query_source: 'main', cost_usd: 0.15, requests: 2 },
      { model: 'claude-opus-4-1', query_source: 'main', cost_usd: 2, requests: 1 },
      { model: 'claude-sonnet-4-5', query_source: 'main', cost_usd: 0.5, requests: 1 },
      { model: 'claude-sonnet-4-5', query_source: 'subagent', cost_usd: 0.25, requests: 1 },
    ],
  },
  // sonnet: 4000 / (1500 + 4000 + 500) = 0.6667
  'cache-efficiency': {
    rows: [
      { model: 'claude-haiku-4-5', input_tokens: 15, cache_read_tokens: 0, cache_creation_tokens: 100, cache_hit_ratio: 0 },
      { model: 'claude-opus-4-1', input_tokens: 100, cache_read_tokens: 0, cache_creation_tokens: 0, cache_hit_ratio: 0 },
      { model: 'claude-sonnet-4-5', input_tokens: 1500, cache_read_tokens: 4000, cache_creation_tokens: 500, cache_hit_ratio: 0.6667 },
    ],
  },
  'api-errors': { rows: [{ status_code: '529', errors: 2 }, { status_code: '500', errors: 1 }] },
  // 529: attempts 5 and 11, both retried; 500: attempt 1. No api_retries_exhausted before client 2.1.x.
  'api-retries': {
    rows: [
      { status_code: '529', errors: 2, retried: 2, exhausted: 0, max_attempts: 11 },
      { status_code: '500', errors: 1, retried: 0, exhausted: 0, max_attempts: 1 },
    ],
  },
  // Old clients mark no api_request with agent.name, skill.name or mcp_server.name (test/reports-2-1.test.ts has them).
  'extension-cost': { rows: [] },
  // S2: errors at attempts 1 and 11; S1: one at attempt 5.
  'high-retry-sessions': {
    rows: [
      { session_id: 'S2', api_errors: 2, max_attempt: 11 },
      { session_id: 'S1', api_errors: 1, max_attempt: 5 },
    ],
  },
  // Bash: alice ok (tool_name), bob failed (name); Edit: alice failed (name); mcp: ok.
  'tool-failures': {
    rows: [
      { tool: 'Bash', calls: 2, failures: 1, failure_rate: 0.5 },
      { tool: 'Edit', calls: 1, failures: 1, failure_rate: 1 },
      { tool: 'mcp__github__create_pr', calls: 1, failures: 0, failure_rate: 0 },
    ],
  },
  // Bash durations [50, 100]: quantileExact takes the element at floor(level * n) = index 1 for both levels.
  'tool-usage': {
    rows: [
      { tool: 'Bash', calls: 2, failures: 1, failure_rate: 0.5, p50_ms: 100, p95_ms: 100 },
      { tool: 'Edit', calls: 1, failures: 1, failure_rate: 1, p50_ms: 300, p95_ms: 300 },
      { tool: 'mcp__github__create_pr', calls: 1, failures: 0, failure_rate: 0, p50_ms: 700, p95_ms: 700 },
    ],
  },
  'blocked-tool-decisions': { rows: [{ tool: 'Bash', decision_source: 'user_reject', rejections: 1 }] },
  'active-users': {
    rows: [
      { day: '2026-10-05', active_users: 1, sessions: 1 },
      { day: '2026-10-06', active_users: 1, sessions: 1 },
      { day: '2026-11-02', active_users: 2, sessions: 2 },
    ],
  },
  // alice delta: 1800 s user, 600 s cli; bob cumulative 600 then 1500: 1500 s.
  'active-time': {
    rows: [
      { user: 'alice', type: 'cli', active_hours: 0.1667 },
      { user: 'alice', type: 'user', active_hours: 0.5 },
      { user: 'bob', type: 'user', active_hours: 0.4167 },
    ],
  },
  // bob cumulative: added 50 -> 80 (+30), then a restart with a new start time at 10 => 90;
  // commits 1 -> 3 = 3; PRs 1 -> 2 = 2; cost 2 -> 3 = 3, per PR 1.5.
  productivity: {
    rows: [
      { user: 'alice', lines_added: 100, lines_removed: 20, commits: 2, pull_requests: 1, cost_usd: 0.75, cost_per_pull_request: 0.75 },
      { user: 'bob', lines_added: 90, lines_removed: 0, commits: 3, pull_requests: 2, cost_usd: 3, cost_per_pull_request: 1.5 },
    ],
  },
  // Python (bob, cumulative): accept 4 -> 6 = 6, reject 1 -> 1 = 1: 6/7; TypeScript (alice): 3/4.
  'edit-acceptance': {
    rows: [
      { language: 'Python', accepted: 6, rejected: 1, acceptance_rate: 0.8571 },
      { language: 'TypeScript', accepted: 3, rejected: 1, acceptance_rate: 0.75 },
    ],
  },
  'prompt-cost': {
    rows: [
      { prompt_id: 'P2', session_id: 'S2', user: 'bob', api_requests: 1, tool_calls: 2, cost_usd: 2 },
      { prompt_id: 'P1', session_id: 'S1', user: 'alice', api_requests: 2, tool_calls: 2, cost_usd: 0.75 },
      { prompt_id: 'P3', session_id: 'S3', user: 'carol@example.com', api_requests: 1, tool_calls: 0, cost_usd: 0.1 },
      { prompt_id: 'P4', session_id: 'S4', user: 'install-x', api_requests: 1, tool_calls: 0, cost_usd: 0.05 },
    ],
  },
  'extension-attribution': { rows: [{ kind: 'mcp', name: 'github', calls: 1, failures: 0 }] },
  // cost 2 + 0.75 + 0.1 + 0.05; requests 1 + 2 + 1 + 1; users alice, bob, carol@, install-x in sessions S1-S4;
  // errors 529 x2 + 500: 3 / (5 + 3); cache read 4000 of prompt tokens 1615 in + 4000 read + 600 created.
  headline: {
    rows: [{ cost_usd: 2.9, requests: 5, active_users: 4, sessions: 4, api_errors: 3, error_rate: 0.375, cache_hit_ratio: 0.6436 }],
  },
  // The days of cost-by-user-day, one series per user.
  'spend-over-time': {
    rows: [
      { day: '2026-10-05', series: 'alice', cost_usd: 0.75 },
      { day: '2026-10-06', series: 'bob', cost_usd: 2 },
      { day: '2026-11-02', series: 'carol@example.com', cost_usd: 0.1 },
      { day: '2026-11-02', series: 'install-x', cost_usd: 0.05 },
    ],
  },
  // Every kind of token together, per model: sonnet 1500 + 300 + 4000 + 500; opus 100 + 1000; haiku 15 + 25 + 0 + 100.
  'tokens-over-time': {
    rows: [
      { day: '2026-10-05', series: 'claude-sonnet-4-5', tokens: 6300 },
      { day: '2026-10-06', series: 'claude-opus-4-1', tokens: 1100 },
      { day: '2026-11-02', series: 'claude-haiku-4-5', tokens: 140 },
    ],
  },
  // Every name in the hand-made fixture is in the field tables; test/client-drift.test.ts has unknown ones.
  'unknown-fields': { params: { days: '36500' }, rows: [] },
  'session-trace': {
    params: { session: 'S1' },
    rows: [
      { timestamp: '2026-10-05 09:00:00.000000000', event: 'user_prompt', prompt_id: 'P1', model: '', tool: '', decision: '', success: '', status_code: '', attempt: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0, duration_ms: 0 },
      { timestamp: '2026-10-05 09:00:05.000000000', event: 'api_request', prompt_id: 'P1', model: 'claude-sonnet-4-5', tool: '', decision: '', success: '', status_code: '', attempt: 0, cost_usd: 0.5, input_tokens: 1000, output_tokens: 200, duration_ms: 4000 },
      { timestamp: '2026-10-05 09:00:10.000000000', event: 'tool_decision', prompt_id: 'P1', model: '', tool: 'Bash', decision: 'accept', success: '', status_code: '', attempt: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0, duration_ms: 0 },
      { timestamp: '2026-10-05 09:00:12.000000000', event: 'tool_result', prompt_id: 'P1', model: '', tool: 'Bash', decision: 'accept', success: 'true', status_code: '', attempt: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0, duration_ms: 100 },
      { timestamp: '2026-10-05 09:00:20.000000000', event: 'api_error', prompt_id: 'P1', model: 'claude-sonnet-4-5', tool: '', decision: '', success: '', status_code: '529', attempt: 5, cost_usd: 0, input_tokens: 0, output_tokens: 0, duration_ms: 9000 },
      { timestamp: '2026-10-05 09:00:30.000000000', event: 'api_request', prompt_id: 'P1', model: 'claude-sonnet-4-5', tool: '', decision: '', success: '', status_code: '', attempt: 0, cost_usd: 0.25, input_tokens: 500, output_tokens: 100, duration_ms: 2000 },
      { timestamp: '2026-10-05 09:00:40.000000000', event: 'tool_result', prompt_id: 'P1', model: '', tool: 'Edit', decision: 'accept', success: 'false', status_code: '', attempt: 0, cost_usd: 0, input_tokens: 0, output_tokens: 0, duration_ms: 300 },
    ],
  },
};

describe('query library on the hand-made fixture', () => {
  let target: SqlTarget;
  beforeAll(async () => {
    target = await schemaTarget();
    await insertExport(target, handMadeExport());
  });
  afterAll(async () => {
    await target?.close();
  });

  it('has a hand-computed answer for every query in queries/', () => {
    expect(Object.keys(HAND_ANSWERS).sort()).toEqual(library.map((query) => query.name).sort());
  });

  for (const [name, answer] of Object.entries(HAND_ANSWERS)) {
    it(`${name}`, async () => {
      expect(await run(target, name, answer.params)).toEqual(answer.rows);
    });
  }

  it('parameters narrow the answer (from/to, min_attempt, limit)', async () => {
    expect(await run(target, 'cost-by-user', { from: '2026-11-01' })).toEqual(HAND_ANSWERS['cost-by-user']!.rows.slice(2));
    expect(await run(target, 'high-retry-sessions', { min_attempt: '6' })).toEqual([{ session_id: 'S2', api_errors: 2, max_attempt: 11 }]);
    expect((await run(target, 'prompt-cost', { limit: '1' })).map((row) => row.prompt_id)).toEqual(['P2']);
    expect(await run(target, 'session-trace', { session: 'no-such-session' })).toEqual([]);
  });
});

describe('query library on the generated fixture', () => {
  let target: SqlTarget;
  const truth = emptyTruth();
  beforeAll(async () => {
    target = await schemaTarget();
    await insertExport(target, generateExport({ seed: 11, users: 6, days: 28 }, truth));
  });
  afterAll(async () => {
    await target?.close();
  });

  const close = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThan(1e-4);

  it('cost-by-user matches the generator\'s totals per user', async () => {
    const rows = await run(target, 'cost-by-user');
    expect(rows.map((row) => row.user).sort()).toEqual(Object.keys(truth.costByUser).sort());
    for (const row of rows) {
      const user = row.user as string;
      close(row.cost_usd as number, truth.costByUser[user]!);
      expect(row.requests).toBe(truth.requestsByUser[user]);
      expect(row.input_tokens).toBe(truth.inputTokensByUser[user]);
      expect(row.output_tokens).toBe(truth.outputTokensByUser[user]);
    }
  });

  it('tokens-by-model, api-errors and tool-failures match the generator', async () => {
    const tokens = await run(target, 'tokens-by-model');
    expect(Object.fromEntries(tokens.map((row) => [row.model, { input: row.input_tokens, output: row.output_tokens, cacheRead: row.cache_read_tokens, cacheCreation: row.cache_creation_tokens }]))).toEqual(truth.tokensByModel);
    const errors = await run(target, 'api-errors');
    expect(Object.fromEntries(errors.map((row) => [row.status_code, row.errors]))).toEqual(truth.apiErrorsByStatus);
    const tools = await run(target, 'tool-failures');
    expect(Object.fromEntries(tools.map((row) => [row.tool, { calls: row.calls, failures: row.failures }]))).toEqual(truth.toolCalls);
  });

  it('high-retry-sessions finds exactly the sessions with an attempt of 4 or more', async () => {
    const rows = await run(target, 'high-retry-sessions');
    const expected = Object.entries(truth.maxAttemptBySession).filter(([, attempt]) => attempt >= 4);
    expect(rows.length).toBe(expected.length);
    for (const row of rows) expect(row.max_attempt).toBe(truth.maxAttemptBySession[row.session_id as string]);
  });

  it('cost from the counters (one user cumulative, the others delta) equals the cost from the events', async () => {
    const rows = await run(target, 'productivity');
    for (const row of rows) close(row.cost_usd as number, truth.metricCostByUser[row.user as string]!);
    for (const [user, cost] of Object.entries(truth.costByUser)) close(truth.metricCostByUser[user]!, cost);
  });

  it('session-trace returns every event of a session in sequence', async () => {
    const session = truth.sessions[3]!;
    const rows = await run(target, 'session-trace', { session });
    expect(rows.length).toBeGreaterThan(0);
    const timestamps = rows.map((row) => row.timestamp as string);
    expect([...timestamps].sort()).toEqual(timestamps);
    const [count] = await target.query<{ n: number }>("SELECT count() AS n FROM otel_logs WHERE LogAttributes['session.id'] = {s:String}", { s: session });
    expect(rows.length).toBe(count!.n);
  });
});
