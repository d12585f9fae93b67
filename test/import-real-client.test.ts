/**
 * `telemetry-stack import` on transcripts the real client wrote (the pinned Claude Code, run by the
 * real-client harness against the Messages API stand-in), through the whole path: the command ->
 * an OTLP recorder -> the real collector on the rendered configuration with its real ClickHouse
 * exporter -> the migrated schema on the embedded engine -> the report library.
 *
 * The same sessions also ran with live telemetry into a second stack, so "the reports count
 * imported data" is checked against what the live client itself reported: the same requests,
 * tokens and tool calls, and (for the client's default model) the same cost, now marked as
 * estimated. Then: a second import sends nothing, a dry run counts and sends nothing, --since and
 * --until pick by time, and at level basic the counters alone give the same report.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.ts';
import { DERIVED, RAW_TABLES } from '../src/clickhouse/tables.ts';
import { IMPORTED_ATTRIBUTE } from '../src/sanitizer/fields.ts';
import { claudeHome, describeRun, runClaude } from './support/claude-code.ts';
import { extensionsScenario } from './support/claude-code-scenarios.ts';
import { text, toolUse, type Usage } from './support/messages-api.ts';
import { type PathStack, waitFor, WholePath } from './support/whole-path.ts';

const ARRIVAL_MS = 120_000;

const USAGE_BASH: Usage = { input_tokens: 1234, output_tokens: 56, cache_read_input_tokens: 7890, cache_creation_input_tokens: 321 };
const USAGE_WRITE: Usage = { input_tokens: 2111, output_tokens: 67, cache_read_input_tokens: 8123, cache_creation_input_tokens: 45 };
const USAGE_TEXT: Usage = { input_tokens: 2345, output_tokens: 78, cache_read_input_tokens: 9012, cache_creation_input_tokens: 43 };
const USAGE_SECOND: Usage = { input_tokens: 501, output_tokens: 22, cache_read_input_tokens: 0, cache_creation_input_tokens: 1500 };
const USAGES = [USAGE_BASH, USAGE_WRITE, USAGE_TEXT, USAGE_SECOND];
const total = (key: keyof Usage) => USAGES.reduce((sum, usage) => sum + usage[key], 0);

let harness: WholePath;
/** The HOME the client ran in: its ~/.claude/projects holds the two sessions' transcripts. */
let home: string;
let projects: string;
let live: PathStack;

const count = async (database: string, sql: string) => Number((await harness.target.query<{ n: number }>(sql.replaceAll('{db}', database)))[0]!.n);

/** `telemetry-stack import` with the exports `env` printed for a stack, and a HOME of its own for the import's state. */
async function importInto(stack: PathStack, args: string[], stateHome = mkdtempSync(join(tmpdir(), 'tstack-import-state-'))) {
  harness.removeLater(stateHome);
  const result = await run(['import', ...args], { env: { ...stack.telemetryEnv, HOME: stateHome } });
  return { ...result, stateHome };
}

async function requestsStored(database: string): Promise<number> {
  return count(database, `SELECT count() AS n FROM {db}.${DERIVED.apiRequests}`);
}

beforeAll(async () => {
  harness = await WholePath.start(); // a missing client fails the file at once, with the install command
  live = await harness.stack('import_live', { level: 'enhanced' });
  home = claudeHome();
  projects = join(home, '.claude', 'projects');
  const api = harness.api;
  // Two sessions in one HOME, with live telemetry on: what import reads is what the client wrote.
  const cwd = harness.tempDir();
  api.setScript([
    toolUse('Bash', { command: 'printf hello > out.txt', description: 'Write a file' }, USAGE_BASH),
    toolUse('Write', { file_path: join(cwd, 'notes.md'), content: 'one\ntwo' }, USAGE_WRITE),
    text('All done.', USAGE_TEXT),
  ]);
  const first = await runClaude({ prompt: 'Write the files please', apiUrl: api.url, telemetryEnv: live.telemetryEnv, home, cwd, allowedTools: ['Bash', 'Write'] });
  expect(first.code, describeRun(first)).toBe(0);
  api.setScript([text('Hi.', USAGE_SECOND)]);
  const second = await runClaude({ prompt: 'Say hi', apiUrl: api.url, telemetryEnv: live.telemetryEnv, home, cwd, allowedTools: [] });
  expect(second.code, describeRun(second)).toBe(0);
  expect(api.unscripted, api.describe()).toEqual([]);
  // The live client's events and its counters (tokens, lines of code), which the reports below compare with.
  const tokens = total('input_tokens') + total('output_tokens') + total('cache_read_input_tokens') + total('cache_creation_input_tokens');
  const increments = (metric: string) => count(live.database, `SELECT sum(increment) AS n FROM {db}.${DERIVED.metricIncrements} WHERE metric = '${metric}'`);
  const stored = await waitFor(
    async () => (await requestsStored(live.database)) === 4 && (await increments('claude_code.token.usage')) === tokens && (await increments('claude_code.lines_of_code.count')) > 0,
    ARRIVAL_MS,
  );
  expect(stored, `live stack stored ${await requestsStored(live.database)} api_request, ${await increments('claude_code.token.usage')} tokens\n${live.collector.log()}`).toBe(true);
}, 300_000);

afterAll(async () => {
  await harness?.stop();
});

/** A report's rows with numbers as numbers (the engine answers some as strings). */
async function reportRows(database: string, name: string): Promise<Record<string, unknown>[]> {
  const rows = await harness.report<Record<string, unknown>>(database, name);
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value])));
}

describe('import: transcripts of the real client through the whole path', () => {
  it('the client wrote its transcripts where import looks (one file per session)', () => {
    const files = readdirSync(projects, { recursive: true }).map(String).filter((file) => file.endsWith('.jsonl'));
    expect(files.length).toBe(2);
  });

  it('level enhanced: the reports count the imported requests, tokens, tool calls and cost as the live client reported them; every record is marked imported; twice stores nothing new', async () => {
    const stack = await harness.stack('import_enhanced', { level: 'enhanced' });
    const first = await importInto(stack, [projects]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('imported 2 sessions from 2 transcripts: 4 api_request, 2 user_prompt, 2 tool_result, 2 tool_decision');
    // Every export carried the user's credential and was accepted.
    expect(stack.recorder.exports.length).toBeGreaterThan(0);
    for (const e of stack.recorder.exports) {
      expect(e.authorization).toBe(stack.secrets.authorization.me);
      expect(e.status, `${e.path} answered ${e.status}`).toBe(200);
    }
    const tokens = total('input_tokens') + total('output_tokens') + total('cache_read_input_tokens') + total('cache_creation_input_tokens');
    const arrived = async () =>
      (await requestsStored(stack.database)) === 4 &&
      (await count(stack.database, `SELECT count() AS n FROM {db}.${DERIVED.toolResults}`)) === 2 &&
      (await count(stack.database, `SELECT sum(increment) AS n FROM {db}.${DERIVED.metricIncrements} WHERE metric = 'claude_code.token.usage'`)) === tokens;
    expect(await waitFor(arrived, ARRIVAL_MS), stack.collector.log()).toBe(true);

    // The live client's own numbers, from the other stack: the same rows in every report.
    const liveCost = await reportRows(live.database, 'cost-by-user');
    const importedCost = await reportRows(stack.database, 'cost-by-user');
    expect(liveCost).toEqual([{ user: 'me', cost_usd: expect.any(Number), requests: 4, input_tokens: total('input_tokens'), output_tokens: total('output_tokens') }]);
    expect(importedCost).toEqual([{ ...liveCost[0], cost_usd: expect.closeTo(liveCost[0]!.cost_usd as number, 6) }]);
    expect(await reportRows(stack.database, 'tokens-by-model')).toEqual(await reportRows(live.database, 'tokens-by-model'));
    expect((await reportRows(stack.database, 'tokens-by-model'))[0]).toMatchObject({
      input_tokens: total('input_tokens'),
      output_tokens: total('output_tokens'),
      cache_read_tokens: total('cache_read_input_tokens'),
      cache_creation_tokens: total('cache_creation_input_tokens'),
    });
    // Lines of code (the Write's new file) and cost, from the counters.
    const productivity = await reportRows(stack.database, 'productivity');
    expect(productivity).toEqual([{ ...(await reportRows(live.database, 'productivity'))[0], cost_usd: expect.closeTo(liveCost[0]!.cost_usd as number, 6) }]);
    expect(productivity[0]!.lines_added).toBe(2);
    const tools = (rows: Record<string, unknown>[]) => rows.map(({ tool, calls, failures }) => ({ tool, calls, failures }));
    expect(tools(await reportRows(stack.database, 'tool-usage'))).toEqual(tools(await reportRows(live.database, 'tool-usage')));
    expect(tools(await reportRows(stack.database, 'tool-usage'))).toEqual([
      { tool: 'Bash', calls: 1, failures: 0 },
      { tool: 'Write', calls: 1, failures: 0 },
    ]);
    // The same sessions, requests and prompts as the live client reported, by id.
    const ids = (database: string) =>
      harness.target.query<{ session_id: string; request_id: string }>(`SELECT session_id, request_id FROM ${database}.${DERIVED.apiRequests} ORDER BY request_id`);
    expect(await ids(stack.database)).toEqual(await ids(live.database));
    const prompts = (database: string) => harness.target.query(`SELECT session_id, prompt_length FROM ${database}.${DERIVED.userPrompts} ORDER BY session_id`);
    expect(await prompts(stack.database)).toEqual(await prompts(live.database));

    // Estimated cost is marked in the stored data (events and counter points alike), and only there.
    const marked = async (database: string) => ({
      events: await count(database, `SELECT countIf(LogAttributes['${IMPORTED_ATTRIBUTE}'] = 'true') AS n FROM {db}.${RAW_TABLES.logs}`),
      unmarkedEvents: await count(database, `SELECT countIf(LogAttributes['${IMPORTED_ATTRIBUTE}'] != 'true') AS n FROM {db}.${RAW_TABLES.logs}`),
      points: await count(database, `SELECT countIf(Attributes['${IMPORTED_ATTRIBUTE}'] = 'true') AS n FROM {db}.${RAW_TABLES.metricsSum}`),
    });
    // Per response four token counts and the cost; for the Write, lines added and removed.
    expect(await marked(stack.database)).toEqual({ events: 10, unmarkedEvents: 0, points: 4 * 5 + 2 });
    expect((await marked(live.database)).events).toBe(0);
    // Import sends only what enhanced's allow-lists keep: the level removed nothing (the marker included).
    expect(await count(stack.database, `SELECT countIf(LogAttributes['telemetry_stack.removed_keys'] != '') AS n FROM {db}.${RAW_TABLES.logs}`)).toBe(0);

    // Twice: nothing is sent, nothing new is stored.
    const exportsBefore = stack.recorder.exports.length;
    const rowsBefore = await count(stack.database, `SELECT count() AS n FROM {db}.${RAW_TABLES.logs}`);
    const pointsBefore = await count(stack.database, `SELECT count() AS n FROM {db}.${RAW_TABLES.metricsSum}`);
    const again = await run(['import', projects], { env: { ...stack.telemetryEnv, HOME: first.stateHome } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('imported 0 sessions from 2 transcripts: no events, 0 counter points');
    expect(again.stdout).toContain('left out: 10 already imported');
    await new Promise((resolve) => setTimeout(resolve, 8_000)); // the exporter's batch interval, and more
    expect(stack.recorder.exports.length).toBe(exportsBefore);
    expect(await count(stack.database, `SELECT count() AS n FROM {db}.${RAW_TABLES.logs}`)).toBe(rowsBefore);
    expect(await count(stack.database, `SELECT count() AS n FROM {db}.${RAW_TABLES.metricsSum}`)).toBe(pointsBefore);
    expect(await reportRows(stack.database, 'cost-by-user')).toEqual(importedCost);

    // A dry run (with no state of its own, so everything counts as new) counts and sends nothing.
    const dry = await importInto(stack, [projects, '--dry-run', '-o', 'json']);
    expect(dry.code, dry.stderr).toBe(0);
    const counted = JSON.parse(dry.stdout) as { dryRun: boolean; events: Record<string, number>; tokens: Record<string, number>; points: number };
    expect(counted).toMatchObject({
      dryRun: true,
      events: { api_request: 4, user_prompt: 2, tool_result: 2, tool_decision: 2 },
      tokens: { input: total('input_tokens'), output: total('output_tokens'), cacheRead: total('cache_read_input_tokens'), cacheCreation: total('cache_creation_input_tokens') },
      points: 22,
    });
    expect(readdirSync(dry.stateHome)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(stack.recorder.exports.length).toBe(exportsBefore);
    expect(await count(stack.database, `SELECT count() AS n FROM {db}.${RAW_TABLES.logs}`)).toBe(rowsBefore);
  }, 360_000);

  it('--since and --until pick records by time (one session moved ten days back)', async () => {
    // A copy of the transcripts with the second session ten days older, every timestamp of it moved.
    const copy = harness.removeLater(mkdtempSync(join(tmpdir(), 'tstack-import-copy-')));
    cpSync(projects, copy, { recursive: true });
    const files = readdirSync(copy, { recursive: true }).map(String).filter((file) => file.endsWith('.jsonl')).map((file) => join(copy, file));
    const older = files.find((file) => readFileSync(file, 'utf8').includes('Say hi'))!;
    const tenDays = 10 * 86_400_000;
    writeFileSync(older, readFileSync(older, 'utf8').replace(/"timestamp":"([^"]+)"/g, (_match, time: string) => `"timestamp":"${new Date(Date.parse(time) - tenDays).toISOString()}"`));
    const counts = async (args: string[]) => {
      const result = await importInto(live, [copy, '--dry-run', '-o', 'json', ...args]);
      expect(result.code, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as { events: Record<string, number>; outOfRange: number }).events;
    };
    expect(await counts([])).toEqual({ api_request: 4, user_prompt: 2, tool_result: 2, tool_decision: 2 });
    expect(await counts(['--since', '7d'])).toEqual({ api_request: 3, user_prompt: 1, tool_result: 2, tool_decision: 2 });
    expect(await counts(['--until', '7d'])).toEqual({ api_request: 1, user_prompt: 1, tool_result: 0, tool_decision: 0 });
    // Days (from 00:00 UTC): the day the moved session is on now, to the next.
    const moved = Date.parse(/"timestamp":"([^"]+)"/.exec(readFileSync(older, 'utf8'))![1]!);
    const day = (time: number) => new Date(time).toISOString().slice(0, 10);
    expect(await counts(['--since', day(moved), '--until', day(moved + 86_400_000)])).toEqual({ api_request: 1, user_prompt: 1, tool_result: 0, tool_decision: 0 });
  }, 120_000);

  it('level basic: only the counters are sent (env exports no events there), marked, and the cost report gives the same tokens and cost', async () => {
    const stack = await harness.stack('import_basic', { level: 'basic' });
    expect(stack.telemetryEnv.OTEL_LOGS_EXPORTER).toBe('none');
    const result = await importInto(stack, [projects]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('only the counters (tokens, cost, lines of code) are sent');
    const expectedTokens = total('input_tokens') + total('output_tokens') + total('cache_read_input_tokens') + total('cache_creation_input_tokens');
    const arrived = async () =>
      (await count(stack.database, `SELECT sum(increment) AS n FROM {db}.${DERIVED.metricIncrements} WHERE metric = 'claude_code.token.usage'`)) === expectedTokens;
    expect(await waitFor(arrived, ARRIVAL_MS), stack.collector.log()).toBe(true);
    expect(stack.recorder.allLogs).toEqual([]);
    const liveCost = (await reportRows(live.database, 'cost-by-user'))[0]!;
    expect(await reportRows(stack.database, 'cost-by-user')).toEqual([
      { user: 'me', cost_usd: expect.closeTo(liveCost.cost_usd as number, 6), requests: 0, input_tokens: total('input_tokens'), output_tokens: total('output_tokens') },
    ]);
    expect(await reportRows(stack.database, 'tokens-by-model')).toEqual(await reportRows(live.database, 'tokens-by-model'));
    // The marker survives basic's allow-list on every point.
    expect(await count(stack.database, `SELECT countIf(Attributes['${IMPORTED_ATTRIBUTE}'] != 'true') AS n FROM {db}.${RAW_TABLES.metricsSum}`)).toBe(0);
    expect(await count(stack.database, `SELECT count() AS n FROM {db}.${RAW_TABLES.metricsSum}`)).toBe(22);
    expect(await reportRows(stack.database, 'productivity')).toEqual(await reportRows(live.database, 'productivity'));
  }, 240_000);
  it('a session with a skill, an MCP tool, a hook and a subagent on a second model: the subagent\'s own transcript is read, tools are named as the live client names them, a model without a price is imported without a cost and named', async () => {
    const scenario = extensionsScenario({ input_tokens: 11, output_tokens: 7, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 });
    harness.api.setScript(scenario.turns);
    const before = harness.api.scripted.length;
    const session = await runClaude({ prompt: scenario.prompt, apiUrl: harness.api.url, ...scenario.options });
    expect(session.code, describeRun(session)).toBe(0);
    const dir = join(scenario.home, '.claude', 'projects');
    const files = readdirSync(dir, { recursive: true }).map(String).filter((file) => file.endsWith('.jsonl'));
    expect(files.some((file) => file.includes('/subagents/'))).toBe(true);
    const answered = harness.api.scripted.slice(before);
    const subagentModel = answered.find((s) => s.turn.kind === 'text' && s.turn.text === 'subagent done')!.request.model;

    const stack = await harness.stack('import_extensions', { level: 'enhanced' });
    const result = await importInto(stack, [dir]);
    expect(result.code, result.stderr).toBe(0);
    const requests = answered.length;
    expect(result.stdout).toContain(`imported 1 session from ${files.length} transcripts: ${requests} api_request`);
    expect(result.stderr).toContain(`has no price for ${subagentModel} (1 request): imported with tokens and without a cost`);
    expect(await waitFor(async () => (await requestsStored(stack.database)) === requests && (await count(stack.database, `SELECT count() AS n FROM {db}.${DERIVED.toolResults}`)) === 5, ARRIVAL_MS), stack.collector.log()).toBe(true);
    const tools = (await reportRows(stack.database, 'tool-usage')).map(({ tool, calls }) => `${tool}:${calls}`).sort();
    expect(tools).toEqual(['Agent:1', 'Bash:1', 'Skill:1', 'Write:1', 'mcp__probe__echo:1']);
    const subagent = await harness.target.query<{ model: string; query_source: string; agent_id: string; cost_usd: number; input_tokens: number }>(
      `SELECT model, query_source, agent_id, cost_usd, input_tokens FROM ${stack.database}.${DERIVED.apiRequests} WHERE query_source = 'subagent'`,
    );
    expect(subagent.map((row) => ({ ...row, cost_usd: Number(row.cost_usd), input_tokens: Number(row.input_tokens) }))).toEqual([
      { model: subagentModel, query_source: 'subagent', agent_id: expect.stringMatching(/^a[0-9a-f]+$/), cost_usd: 0, input_tokens: 11 },
    ]);
    const extensions = await harness.target.query<{ skill_name: string; mcp_server_name: string; subagent_type: string }>(
      `SELECT skill_name, mcp_server_name, subagent_type FROM ${stack.database}.${DERIVED.toolResults} WHERE tool IN ('Skill', 'mcp__probe__echo', 'Agent') ORDER BY tool`,
    );
    expect(extensions).toEqual([
      { skill_name: '', mcp_server_name: '', subagent_type: 'general-purpose' },
      { skill_name: 'greeting', mcp_server_name: '', subagent_type: '' },
      { skill_name: '', mcp_server_name: 'probe', subagent_type: '' },
    ]);
  }, 240_000);
});
