/**
 * The import's parts on small transcripts written here (the real client's own transcripts go
 * through the whole path in test/import-real-client.test.ts): parsing, malformed and half-written
 * lines, the mapping to events and counters, prices, time bounds, the destination from env's
 * exports, the state file, and the command's messages and retries against a local OTLP endpoint.
 */
import { createServer, type IncomingMessage } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { importCommand } from '../src/cli/import-command.ts';
import { run } from '../src/cli/main.ts';
import { counterPoints, destinationFromEnv, logsRequest, parseHeaders } from '../src/import/otlp.ts';
import { IMPORTED_ATTRIBUTE, type MappingOptions, recordsOfTranscript } from '../src/import/events.ts';
import { estimateCost } from '../src/import/pricing.ts';
import { parseTimeBound } from '../src/import/run.ts';
import { ImportState, statePath } from '../src/import/state.ts';
import { parseTranscript } from '../src/import/transcript.ts';
import { closeServer, listenOnLoopback } from '../harness/local-server.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tstack-import-unit-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const SESSION = 'sess-1';
const at = (second: number) => new Date(Date.UTC(2026, 10, 1, 12, 0, second)).toISOString();
const line = (value: Record<string, unknown>) => JSON.stringify({ sessionId: SESSION, version: '2.1.300', cwd: '/w', gitBranch: 'main', ...value });
const usage = (input: number, output: number, cacheRead = 0, cacheCreation = 0) => ({
  input_tokens: input,
  output_tokens: output,
  cache_read_input_tokens: cacheRead,
  cache_creation_input_tokens: cacheCreation,
});

/** A session: a prompt, a response streamed as two lines (thinking, then a tool call), the tool's result, a final answer, and lines import ignores. */
const TRANSCRIPT = [
  line({ type: 'queue-operation', operation: 'enqueue', timestamp: at(0), content: 'x' }),
  line({ type: 'user', uuid: 'u1', promptId: 'p1', timestamp: at(1), message: { role: 'user', content: 'Fix the bug' } }),
  line({ type: 'api-request', id: 'r1', timestamp: at(2), querySource: 'repl_main_thread', params: { model: 'claude-sonnet-4-5' } }),
  line({ type: 'assistant', uuid: 'a1', requestId: 'req_1', requestRef: 'r1', timestamp: at(3), message: { id: 'msg_1', model: 'claude-sonnet-4-5', content: [{ type: 'thinking', thinking: '' }], usage: usage(100, 1, 2000, 300) } }),
  line({
    type: 'assistant',
    uuid: 'a2',
    requestId: 'req_1',
    requestRef: 'r1',
    timestamp: at(5),
    effort: 'high',
    message: { id: 'msg_1', model: 'claude-sonnet-4-5', content: [{ type: 'tool_use', id: 'tu_1', name: 'Bash', input: { command: 'make test' } }], usage: usage(100, 40, 2000, 300) },
  }),
  line({
    type: 'user',
    uuid: 'u2',
    promptId: 'p1',
    timestamp: at(9),
    permissionDecision: { decision: 'accept', source: 'config' },
    message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'ok 12 tests', is_error: false }] },
  }),
  line({ type: 'user', uuid: 'u3', promptId: 'p1', isMeta: true, timestamp: at(9), message: { role: 'user', content: [{ type: 'text', text: 'a reminder the client added' }] } }),
  line({ type: 'assistant', uuid: 'a3', requestId: 'req_2', timestamp: at(12), message: { id: 'msg_2', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'Fixed.' }], usage: usage(50, 10) } }),
  line({ type: 'assistant', uuid: 'a4', timestamp: at(13), message: { id: 'msg_3', model: '<synthetic>', content: [{ type: 'text', text: 'API Error' }], usage: usage(0, 0) } }),
  line({ type: 'cost-state', totalCostUSD: 1 }),
].join('\n') + '\n';

const NO_CONTENT: MappingOptions = { prompts: false, toolDetails: false, price: estimateCost };

describe('transcript parsing and mapping', () => {
  it('a streamed response is one api_request with its final usage, the duration from the client\'s api-request line, the cost from the table; prompts and tool calls become events', () => {
    const parsed = parseTranscript(TRANSCRIPT, 'p/sess-1.jsonl');
    expect(parsed.problems).toEqual([]);
    expect(parsed.incompleteTail).toBe(false);
    const records = recordsOfTranscript(parsed.entries, NO_CONTENT);
    expect(records.map((record) => [record.event, record.key])).toEqual([
      ['user_prompt', 'prompt:u1'],
      ['api_request', 'message:msg_1'],
      ['tool_decision', 'decision:tu_1'],
      ['tool_result', 'tool:tu_1'],
      ['api_request', 'message:msg_2'],
    ]);
    const [prompt, first, decision, tool, second] = records;
    expect(prompt!.attributes).toEqual({
      'event.name': 'user_prompt',
      'event.timestamp': at(1),
      'event.sequence': 0,
      'session.id': SESSION,
      'prompt.id': 'p1',
      'message.uuid': 'u1',
      prompt_length: '11',
      [IMPORTED_ATTRIBUTE]: 'true',
    });
    // Sonnet 4.5 at Anthropic's prices per million tokens: input $3, output $15, cache read $0.30, 5-minute cache write $3.75.
    const firstCost = (100 * 3 + 40 * 15 + 2000 * 0.3 + 300 * 3.75) / 1e6;
    expect(first!.attributes).toMatchObject({
      model: 'claude-sonnet-4-5',
      input_tokens: 100,
      output_tokens: 40,
      cache_read_tokens: 2000,
      cache_creation_tokens: 300,
      cost_usd: firstCost,
      cost_usd_micros: Math.round(firstCost * 1e6),
      duration_ms: 3000,
      query_source: 'repl_main_thread',
      request_id: 'req_1',
      'message.id': 'msg_1',
      effort: 'high',
      'prompt.id': 'p1',
      [IMPORTED_ATTRIBUTE]: 'true',
    });
    expect(first!.time).toBe(Date.parse(at(5)));
    expect(decision!.attributes).toMatchObject({ tool_name: 'Bash', tool_use_id: 'tu_1', decision: 'accept', source: 'config', request_id: 'req_1' });
    expect(tool!.attributes).toMatchObject({
      tool_name: 'Bash',
      success: 'true',
      duration_ms: '4000',
      tool_input_size_bytes: String(JSON.stringify({ command: 'make test' }).length),
      tool_result_size_bytes: String('ok 12 tests'.length),
    });
    expect(tool!.attributes).not.toHaveProperty('tool_input');
    // Without an api-request line: no duration; the main thread.
    expect(second!.attributes).not.toHaveProperty('duration_ms');
    expect(second!.attributes.query_source).toBe('main');
    // The counters of a response: four token types and the cost, with the metric dimension of its source.
    expect(counterPoints(first!).map((point) => [point.metric, point.attributes.type ?? '', point.value, point.attributes.query_source])).toEqual([
      ['claude_code.token.usage', 'input', 100, 'main'],
      ['claude_code.token.usage', 'output', 40, 'main'],
      ['claude_code.token.usage', 'cacheRead', 2000, 'main'],
      ['claude_code.token.usage', 'cacheCreation', 300, 'main'],
      ['claude_code.cost.usage', '', firstCost, 'main'],
    ]);
  });

  it('content is sent only with the switches env turns on (OTEL_LOG_USER_PROMPTS, OTEL_LOG_TOOL_DETAILS, OTEL_METRICS_INCLUDE_REPOSITORY)', () => {
    expect(recordsOfTranscript(parseTranscript(TRANSCRIPT, 'f').entries, NO_CONTENT).filter((record) => 'vcs.ref.head.name' in record.attributes)).toEqual([]);
    const records = recordsOfTranscript(parseTranscript(TRANSCRIPT, 'f').entries, { ...NO_CONTENT, prompts: true, toolDetails: true, repository: true });
    expect(new Set(records.map((record) => record.attributes['vcs.ref.head.name']))).toEqual(new Set(['main']));
    expect(records.find((record) => record.event === 'user_prompt')!.attributes.prompt).toBe('Fix the bug');
    expect(records.find((record) => record.event === 'tool_result')!.attributes.tool_input).toBe(JSON.stringify({ command: 'make test' }));
  });

  it('a subagent\'s transcript: no user_prompt for its task, its agent id, query source subagent; MCP and Skill calls as the live client names them', () => {
    const sidechain = (value: Record<string, unknown>) => line({ isSidechain: true, agentId: 'ag1', ...value });
    const text = [
      sidechain({ type: 'user', uuid: 's1', promptId: 'p9', timestamp: at(1), message: { role: 'user', content: 'SUBAGENT TASK' } }),
      sidechain({
        type: 'assistant',
        uuid: 's2',
        timestamp: at(2),
        message: {
          id: 'msg_s',
          model: 'claude-haiku-4-5',
          content: [
            { type: 'tool_use', id: 'tu_m', name: 'mcp__probe__echo', input: { text: 'x' } },
            { type: 'tool_use', id: 'tu_s', name: 'Skill', input: { skill: 'greeting' } },
          ],
          usage: usage(10, 5),
        },
      }),
      sidechain({
        type: 'user',
        uuid: 's3',
        timestamp: at(4),
        message: {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'tu_m', content: [{ type: 'text', text: 'echo: x' }], is_error: true },
            { type: 'tool_result', tool_use_id: 'tu_s', content: 'done' },
          ],
        },
      }),
    ].join('\n') + '\n';
    const records = recordsOfTranscript(parseTranscript(text, 'f').entries, NO_CONTENT);
    expect(records.map((record) => record.event)).toEqual(['api_request', 'tool_result', 'tool_result']);
    expect(records[0]!.attributes).toMatchObject({ agent_id: 'ag1', query_source: 'subagent', 'prompt.id': 'p9' });
    expect(records[0]!.usage!.querySource).toBe('subagent');
    expect(records[1]!.attributes).toMatchObject({ tool_name: 'mcp_tool', mcp_server_name: 'probe', mcp_tool_name: 'echo', success: 'false', tool_result_size_bytes: '7', agent_id: 'ag1' });
    expect(records[2]!.attributes).toMatchObject({ tool_name: 'Skill', skill_name: 'greeting', success: 'true' });
  });

  it('a Write\'s new file and an Edit\'s patch count as lines of code added and removed, attributed to the model that asked', () => {
    const edit = (id: string, name: string, result: Record<string, unknown>, second: number) => [
      line({ type: 'assistant', uuid: `a-${id}`, timestamp: at(second), message: { id: `msg_${id}`, model: 'claude-opus-4-6', content: [{ type: 'tool_use', id, name, input: {} }], usage: usage(1, 1) } }),
      line({ type: 'user', uuid: `u-${id}`, timestamp: at(second + 1), toolUseResult: result, message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'ok' }] } }),
    ];
    const text = [
      ...edit('w', 'Write', { type: 'create', filePath: '/w/a.md', content: 'one\ntwo\nthree\n', structuredPatch: [] }, 1),
      ...edit('e', 'Edit', { filePath: '/w/b.ts', structuredPatch: [{ lines: [' keep', '-old 1', '-old 2', '+new 1'] }, { lines: ['+added'] }] }, 3),
      ...edit('b', 'Bash', { stdout: '+not a line of code', stderr: '' }, 5),
    ].join('\n') + '\n';
    const records = recordsOfTranscript(parseTranscript(text, 'f').entries, NO_CONTENT);
    const lines = records.filter((record) => record.lines).map((record) => [record.attributes.tool_name, record.lines]);
    expect(lines).toEqual([
      ['Write', { model: 'claude-opus-4-6', added: 3, removed: 0 }],
      ['Edit', { model: 'claude-opus-4-6', added: 2, removed: 2 }],
    ]);
    const edited = records.find((record) => record.attributes.tool_name === 'Edit')!;
    expect(counterPoints(edited).map((point) => [point.metric, point.attributes.type, point.value, point.attributes.model])).toEqual([
      ['claude_code.lines_of_code.count', 'added', 2, 'claude-opus-4-6'],
      ['claude_code.lines_of_code.count', 'removed', 2, 'claude-opus-4-6'],
    ]);
  });

  it('a malformed line is a problem naming its file and line; a last line without its newline is left for the next import', () => {
    const text = `${line({ type: 'user', uuid: 'u1', timestamp: at(1), message: { role: 'user', content: 'hi' } })}\n{"type": "user", "broken\n[1, 2]\n\n${line({ type: 'user', uuid: 'u9', timestamp: at(2), message: { role: 'user', content: 'half' } })}`;
    const parsed = parseTranscript(text, 'proj/s.jsonl');
    expect(parsed.problems.map(({ file, line: number }) => `${file}:${number}`)).toEqual(['proj/s.jsonl:2', 'proj/s.jsonl:3']);
    expect(parsed.problems[1]!.problem).toBe('not a JSON object');
    // The message never quotes the line (it may hold a prompt).
    expect(parsed.problems[0]!.problem).not.toContain('broken');
    expect(parsed.incompleteTail).toBe(true);
    expect(parsed.entries.map((entry) => (entry.kind === 'user' ? entry.uuid : ''))).toEqual(['u1']);
  });
});

describe('prices', () => {
  it('Anthropic\'s rates per model, the 1-hour cache writes at their own rate; no price for a model the table does not know', () => {
    const tokens = { input: 1000, output: 200, cacheRead: 5000, cacheCreation: 1000, cacheCreation5m: 600, cacheCreation1h: 400 };
    // Sonnet 4.5: 5-minute cache writes $3.75, 1-hour $6 per million tokens.
    expect(estimateCost('claude-sonnet-4-5', tokens, Date.UTC(2026, 10, 1))).toBeCloseTo((1000 * 3 + 200 * 15 + 5000 * 0.3 + 600 * 3.75 + 400 * 6) / 1e6, 12);
    // Haiku 4.5: $1 input, $5 output.
    expect(estimateCost('claude-haiku-4-5', { input: 1_000_000, output: 1_000_000, cacheRead: 0, cacheCreation: 0 }, Date.UTC(2026, 10, 1))).toBeCloseTo(6, 9);
    expect(estimateCost('not-a-model-anyone-sells', tokens, Date.UTC(2026, 10, 1))).toBeUndefined();
  });
});

describe('time bounds', () => {
  const now = Date.UTC(2026, 10, 30, 12);
  it.each([
    ['7d', now - 7 * 86_400_000],
    ['12h', now - 12 * 3_600_000],
    ['30m', now - 30 * 60_000],
    ['2w', now - 14 * 86_400_000],
    ['2026-11-01', Date.UTC(2026, 10, 1)],
    ['2026-11-01T08:30:00Z', Date.UTC(2026, 10, 1, 8, 30)],
  ])('%s', (text, expected) => expect(parseTimeBound(text, now)).toBe(expected));
  it.each(['yesterday', '7', '7y', '2026-13-45', ''])('"%s" is none', (text) => expect(parseTimeBound(text, now)).toBeUndefined());
});

describe('destination and state', () => {
  const exports = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:30318/', OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic bWU6cw==', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' };

  it('reads the endpoint and header as the client does; per-signal variables win; none names the fix', () => {
    expect(parseHeaders(' Authorization = Basic abc= , x-team=a=b')).toEqual({ Authorization: 'Basic abc=', 'x-team': 'a=b' });
    const found = destinationFromEnv(exports);
    expect(found).toEqual({
      ok: true,
      destination: { logsUrl: 'http://localhost:30318/v1/logs', metricsUrl: 'http://localhost:30318/v1/metrics', headers: { Authorization: 'Basic bWU6cw==' }, logs: true, metrics: true },
    });
    expect(destinationFromEnv({ ...exports, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://other:4318/v1/logs', OTEL_LOGS_EXPORTER: 'none' })).toMatchObject({
      destination: { logsUrl: 'http://other:4318/v1/logs', logs: false },
    });
    expect(destinationFromEnv({ ...exports, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'http://localhost:4318')).toMatchObject({ destination: { logsUrl: 'http://localhost:4318/v1/logs' } });
    const problem = (env: NodeJS.ProcessEnv) => {
      const result = destinationFromEnv(env);
      return result.ok ? '' : result.problem;
    };
    expect(problem({})).toMatch(/^OTEL_EXPORTER_OTLP_ENDPOINT is not set: run .*telemetry-stack env --user NAME/);
    expect(problem({ ...exports, OTEL_EXPORTER_OTLP_HEADERS: '' })).toMatch(/^OTEL_EXPORTER_OTLP_HEADERS has no Authorization/);
    expect(problem({ ...exports, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toMatch(/grpc.*pass --endpoint/);
  });

  it('the state file is per destination and credential, never holds the credential, and a damaged one is a one-line error', () => {
    const home = tempDir();
    const path = statePath({ HOME: home }, 'http://x/v1/logs', 'Basic secret-value');
    expect(path.startsWith(join(home, '.local', 'state', 'telemetry-stack', 'import'))).toBe(true);
    expect(statePath({ HOME: home }, 'http://x/v1/logs', 'Basic other')).not.toBe(path);
    expect(statePath({ HOME: home, XDG_STATE_HOME: join(home, 'xdg') }, 'http://x/v1/logs', 'Basic secret-value').startsWith(join(home, 'xdg'))).toBe(true);
    const state = ImportState.load(path, 'http://x/v1/logs');
    expect(state.size).toBe(0);
    state.commit(['message:a', 'tool:b']);
    const again = ImportState.load(path, 'http://x/v1/logs');
    expect([again.has('message:a'), again.has('tool:b'), again.has('tool:c')]).toEqual([true, true, false]);
    expect(JSON.stringify(readdirSync(join(home, '.local', 'state', 'telemetry-stack', 'import')))).not.toContain('secret');
    // A crash in the middle of an append: the cut key is not whole, the next append starts a new line.
    writeFileSync(path, `${readFileSync(path, 'utf8')}tool:cu`);
    const cut = ImportState.load(path, 'http://x/v1/logs');
    cut.commit(['tool:d']);
    const reloaded = ImportState.load(path, 'http://x/v1/logs');
    expect([reloaded.has('tool:d'), reloaded.has('message:a'), reloaded.has('tool:c')]).toEqual([true, true, false]);
    expect(readFileSync(path, 'utf8').split('\n').slice(1)).toEqual(['message:a', 'tool:b', 'tool:cu', 'tool:d', '']);
    writeFileSync(path, '{"keys": 3');
    expect(() => ImportState.load(path, 'x')).toThrow(/the import state is damaged .*delete it to import everything again$/);
  });
});

/** A local OTLP/HTTP endpoint answering with `statuses` in turn (then 200), recording each request. */
async function otlpEndpoint(statuses: number[] = []) {
  const requests: { path: string; authorization: string | undefined; body: Record<string, unknown> }[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      requests.push({ path: request.url ?? '', authorization: request.headers.authorization, body: JSON.parse(body) as Record<string, unknown> });
      const status = statuses.shift() ?? 200;
      response.writeHead(status, { 'content-type': 'application/json', ...(status === 503 ? { 'retry-after': '0' } : {}) }).end('{}');
    });
  });
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, requests, close: () => closeServer(server) };
}

describe('the command', () => {
  function projectsDir(files: Record<string, string>): string {
    const dir = tempDir();
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return dir;
  }

  it('sends logs and counters with the credential, retries a 503, and a second run sends nothing', async () => {
    const endpoint = await otlpEndpoint([503]);
    try {
      const dir = projectsDir({ 'proj/sess-1.jsonl': TRANSCRIPT });
      const env = { HOME: tempDir(), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint.url, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic dGVzdA==' };
      const first = await run(['import', dir], { env });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('imported 1 session from 1 transcript: 2 api_request, 1 user_prompt, 1 tool_result, 1 tool_decision, 10 counter points');
      expect(endpoint.requests.map((request) => request.path)).toEqual(['/v1/logs', '/v1/logs', '/v1/metrics']);
      expect(new Set(endpoint.requests.map((request) => request.authorization))).toEqual(new Set(['Basic dGVzdA==']));
      expect(endpoint.requests[1]!.body).toEqual(JSON.parse(JSON.stringify(logsRequest(recordsOfTranscript(parseTranscript(TRANSCRIPT, 'f').entries, NO_CONTENT)))));
      const second = await run(['import', dir], { env });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toContain('left out: 5 already imported');
      expect(endpoint.requests.length).toBe(3);
    } finally {
      await endpoint.close();
    }
  });

  it('long prompts (sent at level full) go in several requests, each below the collector\'s 4 MiB limit', async () => {
    const endpoint = await otlpEndpoint();
    try {
      const prompt = (n: number) => line({ type: 'user', uuid: `big-${n}`, timestamp: at(n), message: { role: 'user', content: `${n}`.repeat(1_500_000) } });
      const dir = projectsDir({ 'p/s.jsonl': [prompt(1), prompt(2), prompt(3)].join('\n') + '\n' });
      const env = { HOME: tempDir(), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint.url, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic dGVzdA==', OTEL_LOG_USER_PROMPTS: '1' };
      const result = await run(['import', dir], { env });
      expect(result.code, result.stderr).toBe(0);
      const logs = endpoint.requests.filter((request) => request.path === '/v1/logs');
      expect(logs.length).toBe(3);
      for (const request of logs) expect(Buffer.byteLength(JSON.stringify(request.body))).toBeLessThan(4 * 1024 * 1024);
    } finally {
      await endpoint.close();
    }
  });

  it('a refused credential, a missing export, a malformed line: one line each, no stack trace', async () => {
    const endpoint = await otlpEndpoint([401]);
    try {
      const malformed = TRANSCRIPT.replace('\n', '\n{not json\n');
      const dir = projectsDir({ 'proj/sess-1.jsonl': malformed });
      const env = { HOME: tempDir(), OTEL_EXPORTER_OTLP_ENDPOINT: endpoint.url, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic d3Jvbmc=' };
      const refused = await run(['import', dir], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/refused the credential \(401\).*telemetry-stack env/);
      expect(refused.stderr).not.toContain('d3Jvbmc=');

      const missing = await run(['import', dir], { env: { HOME: env.HOME } });
      expect(missing.code).toBe(1);
      expect(missing.stderr.trim()).toMatch(/^telemetry-stack: import: OTEL_EXPORTER_OTLP_ENDPOINT is not set: run .*env --user NAME/);

      // The rest is imported; the bad line is named and the command exits 1.
      const sent = await run(['import', dir], { env });
      expect(sent.code).toBe(1);
      expect(sent.stdout).toContain('2 api_request');
      expect(sent.stderr.trim().split('\n')).toEqual([`telemetry-stack: import: ${join(dir, 'proj/sess-1.jsonl')}:2: ${parseTranscript(malformed, 'x').problems[0]!.problem}; the line was skipped (the rest was imported)`]);
      expect(sent.stderr).not.toMatch(/\n\s+at /);

      // A state that cannot be read (HOME is a file here): one line naming it.
      const file = join(tempDir(), 'not-a-dir');
      writeFileSync(file, '');
      const noState = await run(['import', dir], { env: { ...env, HOME: file } });
      expect(noState.code).toBe(1);
      expect(noState.stderr.trim().split('\n')).toHaveLength(1);
      expect(noState.stderr).toMatch(/^telemetry-stack: import: .*not-a-dir\/\.local\/state\/telemetry-stack\/import\/[0-9a-f]{16}\.state: cannot read the import state \(ENOTDIR/);

      const noDir = await run(['import', join(dir, 'nope')], { env });
      expect(noDir.code).toBe(1);
      expect(noDir.stderr).toMatch(/nope is not a directory; Claude Code keeps its transcripts in ~\/\.claude\/projects/);
      const badSince = await run(['import', dir, '--since', 'last week'], { env });
      expect(badSince.code).toBe(2);
      expect(badSince.stderr.trim()).toBe('telemetry-stack: import: --since "last week" is not a duration (30m, 12h, 7d, 2w), a day (YYYY-MM-DD) or an ISO time');
    } finally {
      await endpoint.close();
    }
  });

  it('a progress line on stderr only on a terminal, cleared at the end; never in a pipe', async () => {
    const dir = projectsDir({ 'a/one.jsonl': TRANSCRIPT, 'b/two.jsonl': TRANSCRIPT.replaceAll('sess-1', 'sess-2').replaceAll('msg_', 'other_').replaceAll('"u1"', '"v1"').replaceAll('tu_1', 'tv_1') });
    const runWith = async (isTTY: boolean) => {
      let stderr = '';
      let stdout = '';
      const code = await importCommand.run([dir, '--dry-run'], {
        stdin: Readable.from([]),
        stdout: { write: (chunk: string) => (stdout += chunk) },
        stderr: Object.assign({ write: (chunk: string) => (stderr += chunk) }, { isTTY }),
        env: { HOME: tempDir() },
      });
      return { code, stderr, stdout };
    };
    const terminal = await runWith(true);
    expect(terminal.code).toBe(0);
    expect(terminal.stderr).toContain('\r\x1b[Kimport: 2/2 transcripts, 10 records');
    expect(terminal.stderr.endsWith('\r\x1b[K') || terminal.stderr.includes('\r\x1b[Knote:')).toBe(true);
    expect(terminal.stdout).toContain('would import 2 sessions from 2 transcripts');
    const pipe = await runWith(false);
    expect(pipe.stderr).not.toContain('\r');
    expect(pipe.stderr).not.toContain('transcripts,');
  });

  it('the default directory is the client\'s: ~/.claude/projects, or $CLAUDE_CONFIG_DIR/projects', async () => {
    const home = tempDir();
    mkdirSync(join(home, '.claude', 'projects', 'p'), { recursive: true });
    writeFileSync(join(home, '.claude', 'projects', 'p', 's.jsonl'), TRANSCRIPT);
    const dry = await run(['import', '--dry-run', '-o', 'json'], { env: { HOME: home } });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, files: 1, events: { api_request: 2 } });
    const config = tempDir();
    mkdirSync(join(config, 'projects'));
    const other = await run(['import', '--dry-run', '-o', 'json'], { env: { HOME: home, CLAUDE_CONFIG_DIR: config } });
    expect(JSON.parse(other.stdout)).toMatchObject({ files: 0 });
  });
});
