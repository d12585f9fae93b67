/**
 * The real Claude Code client (the pinned npm package, scripts/test-binaries/claude-code.ts)
 * against the real OpenTelemetry Collector running the stack's rendered configuration, with the
 * client's telemetry environment taken from `telemetry-stack env --user me`. The client talks to
 * a scripted Messages API stand-in and runs its tools in a throwaway directory; an OTLP recorder
 * between the client and the collector keeps what the client itself sent, so a test can set the
 * collector's output (the sink, in place of ClickHouse) against the client's own numbers.
 *
 * One client at a time (two shared cores). Set TSTACK_CENSUS_FILE=PATH to write a census of the
 * event names, attributes and metrics the client sent (input for the field tables and reports).
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERSIONS } from '../src/versions.ts';
import { requireClaudeCodeBinary } from '../scripts/test-binaries/claude-code.ts';
import { IDENTITY_ATTRIBUTE } from '../src/api/constants.ts';
import { PROMPT_ORIGIN_ATTRIBUTE } from '../src/sanitizer/fields.ts';
import { TASK_NOTIFICATION_ORIGIN } from '../src/sanitizer/levels.ts';
import { clientHeaders } from '../src/cli/claude-code/env.ts';
import { describeRun, runClaude, stopAllClaude, telemetryEnvFromCli, type ClaudeRun } from './support/claude-code.ts';
import { type RunningCollector, stackSecrets, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { apiError, type MessagesRequest, MessagesApi, text, toolResults, toolUse, type Turn, type Usage } from './support/messages-api.ts';
import { OtlpRecorder, type RecordedLogRecord, type RecordedPoint } from './support/otlp-recorder.ts';
import { OtlpSink, type StoredLog, type StoredPoint, waitFor } from '../harness/otlp-sink.ts';
import { stackFrom } from '../harness/stacks.ts';
import { extensionsScenario, NOTES_CONTENT } from './support/claude-code-scenarios.ts';

// Level full: `env` turns the client's content switches on, so the census sees every attribute it can send.
const stack = stackFrom(
  {
    level: 'full',
    collector: { service: { type: 'NodePort', nodePorts: { otlpGrpc: 30317, otlpHttp: 30318 } } },
    access: { users: [{ name: 'me', role: 'admin' }] },
  },
  'local',
  'telemetry',
);
const secrets = stackSecrets(stack);

let api: MessagesApi;
let sink: OtlpSink;
let collector: RunningCollector;
let recorder: OtlpRecorder;
let telemetryEnv: Record<string, string>;
/** Every record the client sent in this file, for the census. */
const sentLogs: RecordedLogRecord[] = [];
const sentPoints: RecordedPoint[] = [];
/** Per scenario: the event names the client sent, in its own order (event.sequence), and the collector's answers. */
const scenarios: Record<string, { events: string[]; statuses: number[]; exitCode: number | null; apiRequests: string[] }> = {};

beforeAll(async () => {
  requireClaudeCodeBinary(); // fails the file at once, with the install command, when the client is missing
  sink = await new OtlpSink().start();
  collector = await startCollector({ stack, sinkEndpoint: sink.endpoint, secrets });
  recorder = await new OtlpRecorder(collector.httpEndpoint).start();
  telemetryEnv = (await telemetryEnvFromCli({ stack, secrets, user: 'me', endpoint: recorder.endpoint })).env;
  api = await new MessagesApi().start();
}, 120_000);

afterAll(async () => {
  stopAllClaude();
  await api?.stop();
  await recorder?.stop();
  await stopAllCollectors();
  await sink?.stop();
  const census = process.env.TSTACK_CENSUS_FILE;
  if (census && sentLogs.length + sentPoints.length > 0) writeFileSync(census, `${JSON.stringify(buildCensus(sentLogs, sentPoints), null, 2)}\n`);
});

interface Session {
  readonly run: ClaudeRun;
  /** The client's session id (its x-claude-code-session-id header to the API). */
  readonly sessionId: string;
  /** What the client itself sent, and the collector's answer, during this run. */
  readonly sent: OtlpRecorder['exports'];
}

/** One scripted session; the recorder's exports of this run are returned and kept for the census under `label`. */
async function session(
  label: string,
  prompt: string,
  script: readonly Turn[],
  options: { env?: Record<string, string>; telemetryEnv?: Record<string, string>; home?: string; cwd?: string; allowedTools?: string[]; args?: string[] } = {},
): Promise<Session> {
  api.setScript(script);
  recorder.clear();
  const before = api.requests.length;
  const run = await runClaude({
    prompt,
    apiUrl: api.url,
    telemetryEnv: options.telemetryEnv ?? telemetryEnv,
    ...(options.env ? { env: options.env } : {}),
    ...(options.home ? { home: options.home } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.allowedTools ? { allowedTools: options.allowedTools } : {}),
    ...(options.args ? { args: options.args } : {}),
  });
  expect(run.timedOut, describeRun(run)).toBe(false);
  const requests = api.requests.slice(before);
  const sessionId = String(requests.find((r) => r.headers['x-claude-code-session-id'])?.headers['x-claude-code-session-id'] ?? '');
  expect(sessionId, `no request carried a session id:\n${api.describe()}\n${describeRun(run)}`).not.toBe('');
  const sent = [...recorder.exports];
  for (const e of sent) {
    expect(e.decodeError, `undecodable ${e.path} export`).toBeUndefined();
    sentLogs.push(...e.logs);
    sentPoints.push(...e.points);
  }
  scenarios[label] = {
    events: sentEvents({ sent }),
    statuses: [...new Set(sent.map((e) => e.status))],
    exitCode: run.code,
    apiRequests: requests.map((r) => `${r.method} ${r.url} -> ${r.status} (${r.answeredWith})`),
  };
  return { run, sessionId, sent };
}

/** The event names the client sent in a session, in its own order. */
const sentEvents = (s: Pick<Session, 'sent'>) =>
  s.sent
    .flatMap((e) => e.logs)
    .sort((a, b) => Number(a.attributes['event.sequence']) - Number(b.attributes['event.sequence']))
    .map((log) => String(log.attributes['event.name']));
const ofSession = <T extends { attributes: Record<string, unknown> }>(records: readonly T[], id: string) => records.filter((r) => r.attributes['session.id'] === id);
const eventName = (log: StoredLog) => String(log.attributes['event.name'] ?? '');
const tokenSum = (points: readonly StoredPoint[], type: string) =>
  points.filter((p) => p.metric === 'claude_code.token.usage' && p.attributes.type === type).reduce((sum, p) => sum + p.value, 0);

const USAGE_TOOL: Usage = { input_tokens: 1234, output_tokens: 56, cache_read_input_tokens: 7890, cache_creation_input_tokens: 321 };
const USAGE_TEXT: Usage = { input_tokens: 2345, output_tokens: 78, cache_read_input_tokens: 9012, cache_creation_input_tokens: 43 };

describe('the real Claude Code client through the real collector', () => {
  it(`client ${VERSIONS.claudeCode}: a text and a tool_use turn arrive as events and metrics stamped with the authenticated user`, async () => {
    const { run, sessionId, sent } = await session('text and tool_use', 'Write the word hello into greeting.txt', [
      toolUse('Bash', { command: 'printf hello > greeting.txt', description: 'Write the greeting file' }, USAGE_TOOL, { text: 'I will write the file.' }),
      text('The file greeting.txt now says hello.', USAGE_TEXT),
    ]);
    expect(run.code, describeRun(run)).toBe(0);
    expect(run.stdout).toContain('The file greeting.txt now says hello.');
    // The client ran the scripted tool call in its throwaway directory and sent the result back.
    expect(readFileSync(join(run.cwd, 'greeting.txt'), 'utf8')).toBe('hello');
    expect(api.scripted.map((s) => s.turn.kind)).toEqual(['tool_use', 'text']);
    expect(api.scripted.every((s) => s.request.stream), 'the client streams').toBe(true);
    expect(toolResults(api.scripted[1]!.request).map((r) => r.tool_use_id)).toEqual(['toolu_standin_0001']);
    // Nothing else was asked of the API (a new side query would take a scripted turn: better to know).
    expect(api.unscripted, api.describe()).toEqual([]);
    const model = api.scripted[0]!.request.model;

    // What the client sent: its configured credential on every export, every one accepted.
    expect(sent.map((e) => e.path)).toEqual(expect.arrayContaining(['/v1/logs', '/v1/metrics']));
    for (const e of sent) {
      expect(e.authorization).toBe(secrets.authorization.me);
      expect(e.status, `the collector answered ${e.status} to ${e.path}`).toBe(200);
    }

    // The collector stores the session's events, each stamped with the user whose credential sent it.
    const wanted = ['user_prompt', 'api_request', 'tool_decision', 'tool_result'];
    const arrived = await waitFor(() => {
      const names = ofSession(sink.logs, sessionId).map(eventName);
      return wanted.every((name) => names.includes(name)) && names.filter((n) => n === 'api_request').length >= 2;
    }, 60_000);
    expect(arrived, `events stored for ${sessionId}: ${ofSession(sink.logs, sessionId).map(eventName).join(', ')}; sessions stored: ${[...new Set(sink.logs.map((l) => l.attributes['session.id']))].join(', ')}`).toBe(true);
    const logs = ofSession(sink.logs, sessionId);
    for (const log of logs) expect(log.attributes[IDENTITY_ATTRIBUTE]).toBe('me');
    expect(logs.every((log) => log.body === `claude_code.${eventName(log)}`)).toBe(true);

    // api_request carries exactly the usage the stand-in scripted, and the model the client asked for.
    const requests = logs.filter((log) => eventName(log) === 'api_request');
    const usageOf = (log: StoredLog) => ({
      input_tokens: Number(log.attributes.input_tokens),
      output_tokens: Number(log.attributes.output_tokens),
      cache_read_input_tokens: Number(log.attributes.cache_read_tokens),
      cache_creation_input_tokens: Number(log.attributes.cache_creation_tokens),
    });
    expect(requests.map(usageOf)).toEqual(expect.arrayContaining([USAGE_TOOL, USAGE_TEXT]));
    expect(requests.map((log) => log.attributes.model)).toEqual([model, model]);
    const tool = logs.find((log) => eventName(log) === 'tool_result')!;
    expect(tool.attributes.tool_name).toBe('Bash');
    expect(String(tool.attributes.success)).toBe('true');
    expect(logs.find((log) => eventName(log) === 'tool_decision')!.attributes.tool_name).toBe('Bash');

    // Metrics: token usage by type adds up to the scripted usage, stamped with the user.
    const sum = (key: keyof Usage) => USAGE_TOOL[key] + USAGE_TEXT[key];
    const expected = { input: sum('input_tokens'), output: sum('output_tokens'), cacheRead: sum('cache_read_input_tokens'), cacheCreation: sum('cache_creation_input_tokens') };
    const tokens = () => Object.fromEntries(Object.keys(expected).map((type) => [type, tokenSum(ofSession(sink.points, sessionId), type)]));
    expect(await waitFor(() => JSON.stringify(tokens()) === JSON.stringify(expected), 60_000), `tokens stored: ${JSON.stringify(tokens())}`).toBe(true);
    const points = ofSession(sink.points, sessionId);
    for (const point of points) expect(point.attributes[IDENTITY_ATTRIBUTE]).toBe('me');
    // The cost metric and the api_request events agree (the client prices the model itself).
    const eventCost = requests.reduce((sum, log) => sum + Number(log.attributes.cost_usd), 0);
    expect(eventCost).toBeGreaterThan(0);
    const metricCost = () => points.filter((p) => p.metric === 'claude_code.cost.usage').reduce((sum, p) => sum + p.value, 0);
    expect(metricCost()).toBeCloseTo(eventCost, 9);
    expect([...new Set(points.map((p) => p.metric))]).toEqual(expect.arrayContaining(['claude_code.token.usage', 'claude_code.cost.usage', 'claude_code.session.count']));
  }, 240_000);

  it('a wrong credential is refused at the door and nothing of the session is stored', async () => {
    // Written as env writes it, so the credential (not its encoding) is what the collector refuses.
    const credential = `Basic ${Buffer.from('me:not-the-token').toString('base64')}`;
    const wrong = { ...telemetryEnv, OTEL_EXPORTER_OTLP_HEADERS: clientHeaders({ Authorization: credential }) };
    const { run, sessionId, sent } = await session('wrong credential', 'Say hi', [text('hi', USAGE_TEXT)], { telemetryEnv: wrong });
    expect(run.code, describeRun(run)).toBe(0);
    // The client exported (it flushes at exit) and the collector answered 401 to every export.
    expect(sent.map((e) => e.path)).toEqual(expect.arrayContaining(['/v1/logs', '/v1/metrics']));
    expect(new Set(sent.map((e) => e.status))).toEqual(new Set([401]));
    expect(new Set(sent.map((e) => e.authorization))).toEqual(new Set([credential]));
    expect(sent.flatMap((e) => e.logs).some((log) => log.attributes['session.id'] === sessionId)).toBe(true);
    // A refused request is never queued, so nothing of it can arrive later; give a late one time anyway.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(ofSession(sink.logs, sessionId)).toEqual([]);
    expect(ofSession(sink.points, sessionId)).toEqual([]);
  }, 180_000);

  it('with the switches env prints below level full, the client keeps prompt, response and tool input off the wire', async () => {
    // Same stack and credential, level enhanced: env turns OTEL_LOG_USER_PROMPTS, _TOOL_DETAILS and _ASSISTANT_RESPONSES off.
    const enhanced = stackFrom({ ...stack.spec, level: 'enhanced' }, 'local', 'telemetry');
    const cli = await telemetryEnvFromCli({ stack: enhanced, secrets, user: 'me', endpoint: recorder.endpoint });
    expect(cli.env).toMatchObject({ OTEL_LOG_USER_PROMPTS: '0', OTEL_LOG_TOOL_DETAILS: '0', OTEL_LOG_ASSISTANT_RESPONSES: '0' });
    const markers = ['prompt-marker-5521', 'command-marker-7713', 'response-marker-9902'];
    const { run, sessionId, sent } = await session('content switches off', `Write ${markers[0]} into a file`, [
      toolUse('Bash', { command: `printf ${markers[1]} > marker.txt`, description: 'Write the marker' }, USAGE_TOOL),
      text(`Done: ${markers[2]}`, USAGE_TEXT),
    ], { telemetryEnv: cli.env });
    expect(run.code, describeRun(run)).toBe(0);
    const logs = sent.flatMap((e) => e.logs);
    expect(logs.map((log) => String(log.attributes['event.name']))).toEqual(expect.arrayContaining(['user_prompt', 'tool_result', 'api_request', 'assistant_response']));
    const wire = JSON.stringify(logs);
    for (const marker of markers) expect(wire, `the client sent ${marker}`).not.toContain(marker);
    const prompt = logs.find((log) => log.attributes['event.name'] === 'user_prompt')!;
    expect(prompt.attributes.prompt).toBe('<REDACTED>');
    // The events still arrive, stamped, with their numbers.
    expect(await waitFor(() => ofSession(sink.logs, sessionId).filter((log) => eventName(log) === 'api_request').length >= 2, 60_000)).toBe(true);
    expect(ofSession(sink.logs, sessionId).every((log) => log.attributes[IDENTITY_ATTRIBUTE] === 'me')).toBe(true);
  }, 240_000);

  it('a profile that turns on beta tracing, host and repository attributes and cumulative points: env\'s exports turn each off (and say so), the client sends no span', async () => {
    // What a user's shell profile might already say; env's exports are pasted after it.
    const profile = {
      CLAUDE_CODE_ENHANCED_TELEMETRY_BETA: '1',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_TRACES_EXPORT_INTERVAL: '500',
      OTEL_RESOURCE_INCLUDE_HOST: 'true',
      OTEL_METRICS_INCLUDE_REPOSITORY: 'true',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'cumulative',
    };
    const enhanced = stackFrom({ ...stack.spec, level: 'enhanced' }, 'local', 'telemetry');
    const cli = await telemetryEnvFromCli({ stack: enhanced, secrets, user: 'me', endpoint: recorder.endpoint, env: profile });
    for (const name of ['CLAUDE_CODE_ENHANCED_TELEMETRY_BETA', 'OTEL_TRACES_EXPORTER', 'OTEL_RESOURCE_INCLUDE_HOST', 'OTEL_METRICS_INCLUDE_REPOSITORY', 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE']) {
      expect(cli.stderr, `env said nothing about ${name}`).toContain(name);
    }
    const { run, sent } = await session('profile switches', 'Say hi', [text('hi', USAGE_TEXT)], { telemetryEnv: { ...profile, ...cli.env } });
    expect(run.code, describeRun(run)).toBe(0);
    expect(sent.filter((e) => e.path.endsWith('/v1/traces')).map((e) => e.path)).toEqual([]);
    expect(sent.map((e) => e.status).every((status) => status === 200)).toBe(true);
    const resources = [...sent.flatMap((e) => e.logs), ...sent.flatMap((e) => e.points)].map((record) => record.resource);
    expect(resources.length).toBeGreaterThan(0);
    expect(resources.flatMap((resource) => Object.keys(resource)).filter((key) => key.startsWith('host.name') || key.startsWith('host.id') || key.startsWith('vcs.'))).toEqual([]);
    expect(new Set(sent.flatMap((e) => e.points).map((point) => point.temporality))).toEqual(new Set([1]));

    // The contrast: the same profile without env's exports on top makes the client send spans, which this stack refuses.
    const alone = await session('profile switches without env', 'Say hi', [text('hi', USAGE_TEXT)], { telemetryEnv: { ...cli.env, ...profile } });
    const traces = alone.sent.filter((e) => e.path.endsWith('/v1/traces'));
    expect(traces.length, 'with beta tracing on, the client sent no span: the contrast does not hold').toBeGreaterThan(0);
    expect(traces.every((e) => e.status >= 400), `the collector answered ${traces.map((e) => e.status).join(', ')} to spans`).toBe(true);
  }, 240_000);

  it('a skill, an MCP stdio server, a hook, a file write and a subagent on a second model arrive with their attribution', async () => {
    const USAGE_SUBAGENT = { input_tokens: 111, output_tokens: 11, cache_read_input_tokens: 22, cache_creation_input_tokens: 3 };
    const scenario = extensionsScenario(USAGE_SUBAGENT);
    const { cwd } = scenario;
    const { run, sessionId } = await session('skill, MCP, hook, write, subagent', scenario.prompt, scenario.turns, scenario.options);
    expect(run.code, describeRun(run)).toBe(0);
    expect(api.remaining, api.describe()).toEqual([]);
    // The MCP server really answered: its result went back to the model.
    expect(JSON.stringify(api.scripted[2]!.request.messages.at(-1))).toContain('echo: hi there');
    expect(readFileSync(join(cwd, 'notes.md'), 'utf8')).toBe(NOTES_CONTENT);
    const subagentModel = api.scripted[5]!.request.model;
    expect(subagentModel).not.toBe(api.scripted[0]!.request.model);

    const wanted = ['skill_activated', 'mcp_server_connection', 'hook_execution_complete', 'subagent_completed'];
    const arrived = await waitFor(() => wanted.every((name) => ofSession(sink.logs, sessionId).some((log) => eventName(log) === name)), 60_000);
    expect(arrived, `events stored: ${ofSession(sink.logs, sessionId).map(eventName).join(', ')}`).toBe(true);
    const logs = ofSession(sink.logs, sessionId);
    expect(logs.every((log) => log.attributes[IDENTITY_ATTRIBUTE] === 'me')).toBe(true);
    const find = (name: string, where: (log: StoredLog) => boolean = () => true) => logs.find((log) => eventName(log) === name && where(log));
    expect(find('skill_activated')!.attributes['skill.name']).toBe('greeting');
    expect(find('mcp_server_connection')!.attributes.server_name).toBe('probe');
    // 2.1.328 names every MCP tool "mcp_tool"; server and tool only in tool_parameters (sent with OTEL_LOG_TOOL_DETAILS=1).
    const mcp = find('tool_result', (log) => log.attributes.tool_source === 'mcp' || log.attributes.tool_name === 'mcp_tool');
    expect(mcp, 'no tool_result for the MCP tool').toBeDefined();
    expect(JSON.parse(String(mcp!.attributes.tool_parameters))).toMatchObject({ mcp_server_name: 'probe', mcp_tool_name: 'echo' });
    expect(find('subagent_completed')!.attributes.model).toBe(subagentModel);
    const subRequest = find('api_request', (log) => log.attributes.model === subagentModel)!;
    expect(Number(subRequest.attributes.input_tokens)).toBe(USAGE_SUBAGENT.input_tokens);
    expect(subRequest.attributes['agent.name']).toBe('general-purpose');
    // The metrics attribute the subagent's tokens to its model, as query_source "subagent".
    // The write counts as added lines of code (the Bash call does not). 2.1.328 counts the lines a
    // split at "\n" gives: a trailing newline would count one more.
    const added = () => ofSession(sink.points, sessionId).filter((p) => p.metric === 'claude_code.lines_of_code.count' && p.attributes.type === 'added').reduce((sum, p) => sum + p.value, 0);
    expect(await waitFor(() => added() === 3, 60_000), `lines added stored: ${added()}`).toBe(true);
    const edit = ofSession(sink.points, sessionId).find((p) => p.metric === 'claude_code.code_edit_tool.decision');
    expect(edit?.attributes).toMatchObject({ tool_name: 'Write', decision: 'accept', language: 'Markdown' });
    const subTokens = () => tokenSum(ofSession(sink.points, sessionId).filter((p) => p.attributes.model === subagentModel && p.attributes.query_source === 'subagent'), 'input');
    expect(await waitFor(() => subTokens() === USAGE_SUBAGENT.input_tokens, 60_000), `subagent input tokens stored: ${subTokens()}`).toBe(true);
  }, 240_000);

  it('an async subagent reports back as a user_prompt of <task-notification> text, which the collector marks as such', async () => {
    const isSubagent = (request: MessagesRequest) => JSON.stringify(request.messages[0] ?? '').includes('ASYNC-TASK');
    const main = { match: (request: MessagesRequest) => !isSubagent(request) };
    const { run, sessionId } = await session(
      'async subagent',
      'Delegate in the background',
      [
        toolUse('Agent', { description: 'Check a thing', prompt: 'ASYNC-TASK: say done', subagent_type: 'general-purpose', run_in_background: true }, undefined, main),
        text('subagent done', undefined, { match: isSubagent }),
        text('waiting for it', undefined, main),
        text('it finished', undefined, main),
      ],
      { allowedTools: ['Agent'] },
    );
    expect(run.code, describeRun(run)).toBe(0);
    const prompts = () => ofSession(sink.logs, sessionId).filter((log) => eventName(log) === 'user_prompt');
    expect(await waitFor(() => prompts().length >= 2, 60_000), `prompts stored: ${prompts().length}`).toBe(true);
    const [typed, notification] = [prompts().find((log) => String(log.attributes.prompt).startsWith('Delegate')), prompts().find((log) => String(log.attributes.prompt).includes('<task-notification>'))];
    expect(typed, 'the prompt typed').toBeDefined();
    expect(notification, 'the subagent\'s report').toBeDefined();
    expect(notification!.attributes[PROMPT_ORIGIN_ATTRIBUTE]).toBe(TASK_NOTIFICATION_ORIGIN);
    expect(typed!.attributes[PROMPT_ORIGIN_ATTRIBUTE]).toBeUndefined();
    // Its own prompt id: the API calls that handle it are attributed to it.
    expect(notification!.attributes['prompt.id']).not.toBe(typed!.attributes['prompt.id']);
  }, 240_000);

  it('API errors: a 529 and a 429 that succeed on retry, a 500 and a 400 that do not', async () => {
    // A retry that succeeds: the answer is the scripted one and its usage is reported.
    const retried = await session('529 then success', 'Say ok', [apiError(529), text('ok after overload', USAGE_TEXT)]);
    expect(retried.run.code, describeRun(retried.run)).toBe(0);
    expect(retried.run.stdout).toContain('ok after overload');
    const rateLimited = await session('429 then success', 'Say ok', [apiError(429, { retryAfter: 0 }), text('ok after rate limit', USAGE_TOOL)]);
    expect(rateLimited.run.code, describeRun(rateLimited.run)).toBe(0);
    for (const [s, usage] of [[retried, USAGE_TEXT], [rateLimited, USAGE_TOOL]] as const) {
      expect(await waitFor(() => ofSession(sink.logs, s.sessionId).some((log) => eventName(log) === 'api_request'), 60_000)).toBe(true);
      const request = ofSession(sink.logs, s.sessionId).find((log) => eventName(log) === 'api_request')!;
      expect(Number(request.attributes.input_tokens)).toBe(usage.input_tokens);
      // A retry that succeeds is reported as the request alone (2.1.328): no api_error event.
      expect(sentEvents(s)).not.toContain('api_error');
    }

    // Retries exhausted (CLAUDE_CODE_MAX_RETRIES bounds them): the client fails and reports api_error.
    const failed = await session('500 retries exhausted', 'Say ok', [apiError(500), apiError(500), apiError(500)], { env: { CLAUDE_CODE_MAX_RETRIES: '1' } });
    expect(failed.run.code, describeRun(failed.run)).toBe(1);
    expect(failed.run.stdout).toContain('API Error: 500');
    // A 400 is not retried as such; the client retries it with fewer beta features, then gives up.
    const invalid = await session('400 throughout', 'Say ok', Array.from({ length: 8 }, () => apiError(400, { message: 'scripted invalid request' })));
    expect(invalid.run.code, describeRun(invalid.run)).toBe(1);
    expect(invalid.run.stdout).toContain('API Error: 400');
    for (const [s, status] of [[failed, 500], [invalid, 400]] as const) {
      expect(await waitFor(() => ofSession(sink.logs, s.sessionId).some((log) => eventName(log) === 'api_error'), 60_000), `events stored: ${ofSession(sink.logs, s.sessionId).map(eventName).join(', ')}`).toBe(true);
      const error = ofSession(sink.logs, s.sessionId).find((log) => eventName(log) === 'api_error')!;
      expect(error.attributes[IDENTITY_ATTRIBUTE]).toBe('me');
      expect(Number(error.attributes.status_code)).toBe(status);
    }
  }, 480_000);
});

describe('the harness never hangs', () => {
  it('a run whose tool never ends is killed with the tool, though the Bash tool runs it in a session of its own', async () => {
    const tag = `tstack-hang-${randomUUID()}`;
    const running = () =>
      readdirSync('/proc').filter((pid) => {
        try {
          return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(tag);
        } catch {
          return false;
        }
      });
    api.setScript([toolUse('Bash', { command: `tail -f /dev/null # ${tag}`, description: 'Wait forever' })]);
    const abort = new AbortController();
    const run = runClaude({ prompt: 'Wait', apiUrl: api.url, signal: abort.signal });
    // Abort only once the tool's process runs: that is the one a process-group kill would miss.
    const started = await waitFor(() => running().length > 0, 120_000, 250);
    abort.abort();
    const result = await run;
    expect(started, describeRun(result)).toBe(true);
    expect(result.aborted).toBe(true);
    expect(result.code).toBeNull();
    expect(running()).toEqual([]);
  }, 180_000);
});

// ---- census -------------------------------------------------------------------------------------

interface KeyCensus {
  types: string[];
  /** Up to MAX_VALUES distinct values seen (shortened), so low-cardinality keys show their vocabulary. */
  values: unknown[];
}

const MAX_VALUES = 6;
const shorten = (value: unknown) => (typeof value === 'string' && value.length > 120 ? `${value.slice(0, 117)}...` : value);

function addKeys(into: Record<string, KeyCensus>, values: Record<string, unknown>, types: Record<string, string>): void {
  for (const [key, value] of Object.entries(values)) {
    const entry = (into[key] ??= { types: [], values: [] });
    const type = types[key] ?? typeof value;
    if (!entry.types.includes(type)) entry.types.push(type);
    const short = shorten(value);
    if (entry.values.length < MAX_VALUES && !entry.values.some((seen) => JSON.stringify(seen) === JSON.stringify(short))) entry.values.push(short);
  }
}

const sorted = <T>(record: Record<string, T>) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

/** Event names, attribute keys with their wire types and an example, metrics with units and temporality. */
function buildCensus(logs: readonly RecordedLogRecord[], points: readonly RecordedPoint[]) {
  const events: Record<string, { count: number; body: unknown; eventNameField: string[]; severity: string[]; attributes: Record<string, KeyCensus> }> = {};
  const resource: Record<string, KeyCensus> = {};
  const scopes = new Set<string>();
  for (const log of logs) {
    const name = String(log.attributes['event.name'] ?? log.eventName ?? '?');
    const entry = (events[name] ??= { count: 0, body: log.body, eventNameField: [], severity: [], attributes: {} });
    entry.count += 1;
    if (!entry.eventNameField.includes(log.eventName)) entry.eventNameField.push(log.eventName);
    const severity = `${log.severityNumber}/${log.severityText}`;
    if (!entry.severity.includes(severity)) entry.severity.push(severity);
    addKeys(entry.attributes, log.attributes, log.attributeTypes);
    addKeys(resource, log.resource, log.resourceTypes);
    scopes.add(`logs: ${log.scope.name} ${log.scope.version}`);
  }
  const metrics: Record<string, { unit: string; kind: string; temporality: number[]; monotonic: boolean; valueTypes: string[]; points: number; attributes: Record<string, KeyCensus> }> = {};
  for (const point of points) {
    const entry = (metrics[point.metric] ??= { unit: point.unit, kind: point.kind, temporality: [], monotonic: point.monotonic, valueTypes: [], points: 0, attributes: {} });
    entry.points += 1;
    if (!entry.temporality.includes(point.temporality)) entry.temporality.push(point.temporality);
    if (!entry.valueTypes.includes(point.valueType)) entry.valueTypes.push(point.valueType);
    addKeys(entry.attributes, point.attributes, point.attributeTypes);
    scopes.add(`metrics: ${point.scope.name} ${point.scope.version}`);
  }
  for (const entry of [...Object.values(events), ...Object.values(metrics)]) entry.attributes = sorted(entry.attributes);
  return {
    client: `@anthropic-ai/claude-code ${VERSIONS.claudeCode}`,
    protocol: telemetryEnv.OTEL_EXPORTER_OTLP_PROTOCOL,
    switches: Object.fromEntries(Object.entries(telemetryEnv).filter(([key]) => key !== 'OTEL_EXPORTER_OTLP_HEADERS' && key !== 'OTEL_EXPORTER_OTLP_ENDPOINT')),
    scopes: [...scopes].sort(),
    resource: sorted(resource),
    events: sorted(events),
    metrics: sorted(metrics),
    scenarios,
  };
}
