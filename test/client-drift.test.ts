/**
 * Drift between the pinned Claude Code client and the field tables (src/sanitizer/fields.ts).
 *
 * 1. The real client (the version pinned in src/versions.ts) runs the scenarios of
 *    test/real-client.test.ts with every telemetry switch on, against the Messages API stand-in;
 *    an OTLP recorder keeps what it sends. Every event name, metric name and attribute key it
 *    sends (record, data-point and resource attributes) must be in the tables: a new client
 *    version that adds one fails here, with the list of what to classify.
 * 2. The drift report (queries/unknown-fields.sql, generated from the same tables) and doctor's
 *    data access (stack-data.ts) find an unknown event, metric and keys stored on the embedded
 *    engine, and nothing else.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClaudeCodeBinary } from '../scripts/test-binaries/claude-code.ts';
import { ARTIFACTS } from '../scripts/generate.ts';
import { bindParams, loadLibrary } from '../src/clickhouse/queries.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { UNKNOWN_FIELDS_PATH, UNKNOWN_FIELDS_QUERY } from '../src/clickhouse/unknown-fields.ts';
import type { AnyValue, ExportLine, KeyValue } from '../src/clickhouse/otlp-json.ts';
import { stackData } from '../src/cli/cluster/stack-data.ts';
import { KNOWN_ATTRIBUTE_KEYS, KNOWN_EVENT_NAMES, TELEMETRY_METRICS } from '../src/sanitizer/fields.ts';
import { eventAllowList, FREE_TEXT_ATTRIBUTES, METRIC_ATTRIBUTES } from '../src/sanitizer/levels.ts';
import { VERSIONS } from '../src/versions.ts';
import { claudeHome, describeRun, runClaude, stopAllClaude } from './support/claude-code.ts';
import { closeServer, listenOnLoopback } from '../harness/local-server.ts';
import { apiError, MessagesApi, text, toolUse, type Turn } from './support/messages-api.ts';
import { OtlpRecorder } from './support/otlp-recorder.ts';
import { DATABASE, insertExport, schemaTarget } from './support/clickhouse.ts';
import { ROOT } from '../harness/stacks.ts';
import { extensionsScenario } from './support/claude-code-scenarios.ts';

/**
 * Every switch that makes the client send more: content, raw bodies, repository, host, version,
 * entrypoint, managed settings. What the tables must know is the most the client can send.
 */
const ALL_SWITCHES = {
  CLAUDE_CODE_ENABLE_TELEMETRY: '1',
  OTEL_METRICS_EXPORTER: 'otlp',
  OTEL_LOGS_EXPORTER: 'otlp',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
  OTEL_LOG_USER_PROMPTS: '1',
  OTEL_LOG_TOOL_DETAILS: '1',
  OTEL_LOG_TOOL_CONTENT: '1',
  OTEL_LOG_ASSISTANT_RESPONSES: '1',
  OTEL_LOG_RAW_API_BODIES: '1',
  OTEL_LOG_MANAGED_SETTINGS: '1',
  OTEL_METRICS_INCLUDE_SESSION_ID: 'true',
  OTEL_METRICS_INCLUDE_VERSION: 'true',
  OTEL_METRICS_INCLUDE_ACCOUNT_UUID: 'true',
  OTEL_METRICS_INCLUDE_ENTRYPOINT: 'true',
  OTEL_METRICS_INCLUDE_REPOSITORY: 'true',
  OTEL_RESOURCE_INCLUDE_HOST: 'true',
};

/** Stands in for the collector behind the recorder: accepts every export (an empty protobuf answer is a valid one). */
async function acceptingUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, server };
}

/** A git checkout with a remote and a commit: what OTEL_METRICS_INCLUDE_REPOSITORY reports on. */
function gitProject(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=drift', '-c', 'user.email=drift@example.com', ...args], { cwd: dir, stdio: 'pipe' });
  git('init', '-q', '-b', 'main');
  git('remote', 'add', 'origin', 'https://github.com/example-org/drift-probe.git');
  writeFileSync(join(dir, 'README.md'), 'probe\n');
  git('add', 'README.md');
  git('commit', '-q', '-m', 'probe');
}

describe(`the pinned client (${VERSIONS.claudeCode}) sends nothing the field tables do not know`, () => {
  let upstream: { url: string; server: Server };
  let recorder: OtlpRecorder;
  let api: MessagesApi;

  beforeAll(async () => {
    requireClaudeCodeBinary(); // fails the file at once, with the install command, when the client is missing
    upstream = await acceptingUpstream();
    recorder = await new OtlpRecorder(upstream.url).start();
    api = await new MessagesApi().start();
  }, 60_000);

  afterAll(async () => {
    stopAllClaude();
    await api?.stop();
    await recorder?.stop();
    if (upstream) await closeServer(upstream.server);
  });

  async function session(prompt: string, script: readonly Turn[], options: { home?: string; cwd?: string; allowedTools?: string[]; args?: string[]; env?: Record<string, string> } = {}) {
    api.setScript(script);
    const home = options.home ?? claudeHome();
    const cwd = options.cwd ?? join(home, 'project');
    gitProject(cwd);
    const run = await runClaude({
      prompt,
      apiUrl: api.url,
      telemetryEnv: { ...ALL_SWITCHES, OTEL_EXPORTER_OTLP_ENDPOINT: recorder.endpoint, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic ZHJpZnQ6ZHJpZnQ=' },
      home,
      cwd,
      ...(options.env ? { env: options.env } : {}),
      ...(options.allowedTools ? { allowedTools: options.allowedTools } : {}),
      ...(options.args ? { args: options.args } : {}),
    });
    expect(run.timedOut, describeRun(run)).toBe(false);
    return run;
  }

  it('text, tool_use, skill, MCP, hook, file write, subagent and API errors: every name and key is classified', async () => {
    // Text and a Bash tool call.
    const plain = await session('Write hello into greeting.txt', [
      toolUse('Bash', { command: 'printf hello > greeting.txt', description: 'Write the greeting file' }, undefined, { text: 'I will write the file.' }),
      text('Done.'),
    ]);
    expect(plain.code, describeRun(plain)).toBe(0);

    // A skill, an MCP stdio server, a hook, a file write and a subagent (as in real-client.test.ts).
    const scenario = extensionsScenario();
    const extensions = await session(scenario.prompt, scenario.turns, scenario.options);
    expect(extensions.code, describeRun(extensions)).toBe(0);

    // Errors: retries exhausted on a 500, a 529 that succeeds on retry, a 400 throughout.
    const failed = await session('Say ok', [apiError(500), apiError(500), apiError(500)], { env: { CLAUDE_CODE_MAX_RETRIES: '1' } });
    expect(failed.code, describeRun(failed)).toBe(1);
    const overloaded = await session('Say ok', [apiError(529), text('ok after overload')]);
    expect(overloaded.code, describeRun(overloaded)).toBe(0);
    const invalid = await session('Say ok', Array.from({ length: 8 }, () => apiError(400, { message: 'scripted invalid request' })));
    expect(invalid.code, describeRun(invalid)).toBe(1);

    // What the client sent, as the collector would receive it.
    for (const e of recorder.exports) expect(e.decodeError, `undecodable ${e.path} export`).toBeUndefined();
    const logs = recorder.allLogs;
    const points = recorder.allPoints;
    const eventNames = new Set(logs.map((log) => String(log.attributes['event.name'] ?? log.eventName)));
    // The scenarios really ran: the events each one is there to produce arrived.
    for (const name of ['user_prompt', 'api_request', 'tool_decision', 'tool_result', 'skill_activated', 'mcp_server_connection', 'hook_execution_complete', 'subagent_completed', 'api_error', 'api_request_body', 'api_response_body']) {
      expect([...eventNames], `no ${name} event was sent`).toContain(name);
    }
    expect(points.length).toBeGreaterThan(0);

    const unknown: string[] = [];
    const where = new Map<string, Set<string>>();
    const note = (what: string, on: string) => (where.get(what) ?? where.set(what, new Set()).get(what)!).add(on);
    for (const name of eventNames) if (!KNOWN_EVENT_NAMES.includes(name)) note(`event ${name}`, 'log records');
    for (const metric of new Set(points.map((p) => p.metric))) if (!TELEMETRY_METRICS.includes(metric)) note(`metric ${metric}`, 'metric points');
    for (const log of logs) {
      const name = String(log.attributes['event.name'] ?? log.eventName);
      for (const key of Object.keys(log.attributes)) if (!KNOWN_ATTRIBUTE_KEYS.includes(key)) note(`attribute ${key}`, `event ${name}`);
      for (const key of Object.keys(log.resource)) if (!KNOWN_ATTRIBUTE_KEYS.includes(key)) note(`resource attribute ${key}`, 'resource');
    }
    for (const point of points) {
      for (const key of Object.keys(point.attributes)) if (!KNOWN_ATTRIBUTE_KEYS.includes(key)) note(`attribute ${key}`, `metric ${point.metric}`);
      for (const key of Object.keys(point.resource)) if (!KNOWN_ATTRIBUTE_KEYS.includes(key)) note(`resource attribute ${key}`, 'resource');
    }
    for (const [what, on] of [...where].sort(([a], [b]) => a.localeCompare(b))) unknown.push(`${what} (on ${[...on].sort().slice(0, 5).join(', ')})`);
    expect(
      unknown,
      `Claude Code ${VERSIONS.claudeCode} sends names src/sanitizer/fields.ts does not classify. Add each to TELEMETRY_FIELDS / TELEMETRY_EVENTS / TELEMETRY_METRICS ` +
        '(and a free-text key to FREE_TEXT_ATTRIBUTES in levels.ts), then run npm run generate:\n  ' +
        unknown.join('\n  '),
    ).toEqual([]);

    // The switches took effect, so the check above covered what they add.
    const resourceKeys = new Set([...logs, ...points].flatMap((r) => Object.keys(r.resource)));
    expect([...resourceKeys]).toEqual(expect.arrayContaining(['host.name']));
    const pointKeys = new Set(points.flatMap((p) => Object.keys(p.attributes)));
    expect([...pointKeys]).toEqual(expect.arrayContaining(['vcs.repository.name', 'app.entrypoint', 'app.version']));
    // Free text the client sent under a known key is classified as free text (removed at enhanced).
    const bodies = logs.filter((log) => log.attributes['event.name'] === 'api_request_body');
    expect(bodies.length).toBeGreaterThan(0);
    expect(Object.keys(bodies[0]!.attributes)).toContain('body');
    for (const key of ['prompt', 'prompt_text', 'body'] as const) expect(FREE_TEXT_ATTRIBUTES as readonly string[]).toContain(key);

    // The allow-lists (levels.ts) keep everything the pinned client sends but free text: at
    // enhanced the drift report shows nothing for this client, and no analysis field is lost.
    const lost = new Set<string>();
    for (const log of logs) {
      const name = String(log.attributes['event.name'] ?? log.eventName);
      const allowed = eventAllowList(name);
      for (const key of Object.keys(log.attributes)) {
        if (!allowed.includes(key) && !(FREE_TEXT_ATTRIBUTES as readonly string[]).includes(key)) lost.add(`${key} (on ${name})`);
      }
    }
    for (const point of points) for (const key of Object.keys(point.attributes)) if (!METRIC_ATTRIBUTES.includes(key)) lost.add(`${key} (on ${point.metric})`);
    expect([...lost].sort(), 'add these to EVENT_ATTRIBUTES / METRIC_ATTRIBUTES in src/sanitizer/levels.ts, or to FREE_TEXT_ATTRIBUTES').toEqual([]);
  }, 600_000);
});

// ---- the drift report and doctor's query on the embedded engine ---------------------------------

const nanos = (date: Date) => `${date.getTime()}000000`;
const kv = (values: Record<string, string>): KeyValue[] => Object.entries(values).map(([key, value]) => ({ key, value: { stringValue: value } as AnyValue }));

/** Known records plus one unknown event, one unknown event attribute, one unknown resource key, one unknown metric and metric attribute. */
function driftExport(now: Date, old: Date): ExportLine[] {
  const resource = { attributes: kv({ 'service.name': 'claude-code', 'service.version': '9.9.9', 'team.flavour': 'blue' }) };
  const event = (time: Date, name: string, extra: Record<string, string>) => ({
    timeUnixNano: nanos(time),
    body: { stringValue: `claude_code.${name}` },
    attributes: kv({ 'event.name': name, 'session.id': 's-drift', 'enduser.id': 'me', ...extra }),
  });
  const point = (metric: string, extra: Record<string, string>) => ({
    name: metric,
    sum: {
      aggregationTemporality: 1,
      isMonotonic: true,
      dataPoints: [{ startTimeUnixNano: nanos(now), timeUnixNano: nanos(now), asDouble: 1, attributes: kv({ 'session.id': 's-drift', 'enduser.id': 'me', ...extra }) }],
    },
  });
  return [
    {
      resourceLogs: [
        {
          resource,
          scopeLogs: [
            {
              scope: { name: 'com.anthropic.claude_code.events' },
              logRecords: [
                event(now, 'api_request', { model: 'm', cost_usd: '0.1', sparkle_ratio: '0.5' }),
                event(now, 'api_request', { model: 'm', sparkle_ratio: '0.7' }),
                event(now, 'teleport_started', { destination: 'moon' }),
                // Older than the window: not reported.
                event(old, 'ancient_event', { ancient_key: 'x' }),
              ],
            },
          ],
        },
      ],
    } as unknown as ExportLine,
    {
      resourceMetrics: [
        {
          resource,
          scopeMetrics: [{ scope: { name: 'com.anthropic.claude_code' }, metrics: [point('claude_code.token.usage', { type: 'input', model: 'm', glitter: 'yes' }), point('claude_code.teleports.count', {})] }],
        },
      ],
    } as unknown as ExportLine,
  ];
}

describe('the unknown-fields report and doctor\'s query', () => {
  let target: SqlTarget;
  const now = new Date();
  const old = new Date(now.getTime() - 40 * 86_400_000);

  beforeAll(async () => {
    target = await schemaTarget();
    await insertExport(target, driftExport(now, old));
  }, 120_000);
  afterAll(async () => {
    await target?.close();
  });

  const today = now.toISOString().slice(0, 10);
  const expected = [
    { kind: 'event', name: 'teleport_started', seen_on: '', records: 1, first_day: today, last_day: today },
    { kind: 'event attribute', name: 'destination', seen_on: 'teleport_started', records: 1, first_day: today, last_day: today },
    { kind: 'event attribute', name: 'sparkle_ratio', seen_on: 'api_request', records: 2, first_day: today, last_day: today },
    { kind: 'metric', name: 'claude_code.teleports.count', seen_on: '', records: 1, first_day: today, last_day: today },
    { kind: 'metric attribute', name: 'glitter', seen_on: 'claude_code.token.usage', records: 1, first_day: today, last_day: today },
    { kind: 'resource attribute', name: 'team.flavour', seen_on: '', records: 5, first_day: today, last_day: today },
  ];

  it('lists exactly the unknown event, metric and keys of the last N days, with where each was seen', async () => {
    const query = loadLibrary().find((q) => q.name === UNKNOWN_FIELDS_QUERY)!;
    expect(query, `${UNKNOWN_FIELDS_PATH} is in the library (report --list shows it)`).toBeDefined();
    const rows = await target.query(query.sql, bindParams(query, {}));
    expect(rows.map((row) => ({ ...row, records: Number(row.records) }))).toEqual(expected);
    // A window reaching back 60 days finds the old record too; so does a century (no wrap-around below 1970).
    for (const days of ['60', '36500']) {
      const wide = await target.query<{ name: string }>(query.sql, bindParams(query, { days }));
      expect(wide.map((row) => row.name), `days=${days}`).toEqual(expect.arrayContaining(['ancient_event', 'ancient_key', 'teleport_started']));
    }
  });

  it('doctor\'s data access runs the same query', async () => {
    const data = stackData(target, DATABASE);
    const found = await data.unknownFields(7);
    expect(found.map((row) => ({ ...row, records: Number(row.records) }))).toEqual(expected);
  });

  it('the query is generated from the field tables: every known name is in it, and it is up to date', () => {
    const artifact = ARTIFACTS.find((a) => a.path === UNKNOWN_FIELDS_PATH)!;
    expect(artifact).toBeDefined();
    const sql = artifact.render();
    for (const name of [...KNOWN_EVENT_NAMES, ...TELEMETRY_METRICS, ...KNOWN_ATTRIBUTE_KEYS]) expect(sql).toContain(`'${name}'`);
    expect(loadLibrary().find((q) => q.name === UNKNOWN_FIELDS_QUERY)!.file).toBe(join(ROOT, UNKNOWN_FIELDS_PATH));
  });
});
