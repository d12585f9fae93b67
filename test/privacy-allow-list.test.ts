/**
 * Levels as allow-lists, on the real collector with the rendered configuration: at `enhanced`
 * each event keeps only the attributes src/sanitizer/levels.ts lists for its name (an unknown
 * name: the common ones), data points at `basic` and `enhanced` only the listed dimensions, and
 * the names (never the values) of what was removed are kept in REMOVED_KEYS_ATTRIBUTE. At every
 * level that stores events, extension names are lifted out of `tool_parameters` first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Level } from '../src/api/spec.ts';
import { LIFTED_TOOL_PARAMETERS, REMOVED_KEYS_ATTRIBUTE } from '../src/sanitizer/fields.ts';
import { COMMON_EVENT_ATTRIBUTES, eventAllowList, FREE_TEXT_ATTRIBUTES, METRIC_ATTRIBUTES } from '../src/sanitizer/levels.ts';
import { type ClaudeCodeEvent, type ClaudeCodeMetricPoint, sendEvents, sendMetrics, type Target } from '../harness/claude-code-client.ts';
import { type RunningCollector, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { OtlpSink, type StoredLog, type StoredPoint, waitFor } from '../harness/otlp-sink.ts';
import { stackFrom } from '../harness/stacks.ts';

/** The exporter's queue flushes a batch after 5 s; allow for a loaded machine. */
const ARRIVAL_MS = 45_000;
const SECRET = 'hunter2-free-text-value';

interface Running {
  collector: RunningCollector;
  sink: OtlpSink;
  target: Target;
}
const running: Partial<Record<Level, Running>> = {};

async function start(level: Level): Promise<Running> {
  const sink = await new OtlpSink().start();
  const collector = await startCollector({ stack: stackFrom({ level, access: { users: [{ name: 'pat' }] } }), sinkEndpoint: sink.endpoint });
  return { collector, sink, target: { protocol: 'http', endpoint: collector.httpEndpoint, authorization: collector.secrets.authorization.pat } };
}

beforeAll(async () => {
  for (const level of ['basic', 'enhanced', 'full'] as const) running[level] = await start(level);
}, 120_000);

afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(Object.values(running).map((r) => r!.sink.stop()));
});

/** Sends events tagged with their own session id and waits for all of them. */
async function roundTrip(level: Level, session: string, events: ClaudeCodeEvent[]): Promise<StoredLog[]> {
  const { sink, target, collector } = running[level]!;
  const tagged = events.map((event) => ({ ...event, attributes: { 'session.id': session, ...event.attributes } }));
  expect((await sendEvents(target, tagged)).error?.message).toBeUndefined();
  const mine = () => sink.logs.filter((log) => log.attributes['session.id'] === session);
  expect(await waitFor(() => mine().length === events.length, ARRIVAL_MS), collector.log()).toBe(true);
  return mine();
}

const byEvent = (logs: StoredLog[], name: string) => logs.find((log) => log.attributes['event.name'] === name)!;

/** What the real client 2.1.328 put in tool_parameters (/tmp census), one tool call each. */
const TOOL_PARAMETERS = {
  mcp: { mcp_server_name: 'probe', mcp_tool_name: 'echo' },
  skill: { skill_name: 'greeting' },
  subagent: { subagent_type: 'general-purpose' },
  bash: { bash_command: 'printf', full_command: `printf ${SECRET} > greeting.txt`, description: 'Write the greeting file' },
};

function toolResults(): ClaudeCodeEvent[] {
  return Object.entries(TOOL_PARAMETERS).map(([tool, parameters]) => ({
    name: 'tool_result',
    attributes: {
      tool_name: tool,
      tool_use_id: `toolu_${tool}`,
      success: 'true',
      tool_parameters: JSON.stringify(parameters),
      tool_input: `{"command":"${SECRET}"}`,
    },
  }));
}

describe('extension names are lifted out of tool_parameters before the level removes it', () => {
  it.each(['enhanced', 'full'] as const)('%s: mcp_server_name, mcp_tool_name, skill_name, subagent_type become top-level attributes', async (level) => {
    const logs = await roundTrip(level, `lift-${level}`, [
      ...toolResults(),
      // Not a whole JSON object (cut, or not JSON): nothing is lifted and the rest still applies.
      { name: 'tool_decision', attributes: { tool_name: 'cut', tool_parameters: '{"mcp_server_name":"half' } },
      // Looks like a JSON object but is not: ParseJSON fails, and its error (which quotes the value) is not logged.
      { name: 'tool_decision', attributes: { tool_name: 'broken', tool_parameters: `{"full_command": ${SECRET}}` } },
      // A name the client sent at the top level itself is not overwritten.
      { name: 'tool_decision', attributes: { tool_name: 'own', skill_name: 'top-level', tool_parameters: '{"skill_name":"inside"}' } },
    ]);
    const tool = (name: string) => logs.find((log) => log.attributes.tool_name === name)!;
    expect(tool('mcp').attributes).toMatchObject({ mcp_server_name: 'probe', mcp_tool_name: 'echo' });
    expect(tool('skill').attributes).toMatchObject({ skill_name: 'greeting' });
    expect(tool('subagent').attributes).toMatchObject({ subagent_type: 'general-purpose' });
    for (const key of LIFTED_TOOL_PARAMETERS) {
      expect(tool('bash').attributes).not.toHaveProperty(key);
      expect(tool('cut').attributes).not.toHaveProperty(key);
    }
    expect(tool('own').attributes.skill_name).toBe('top-level');
    expect(tool('broken').attributes).not.toHaveProperty('full_command');
    const complaints = running[level]!.collector.log().split('\n').filter((line) => /"level":"(warn|error)"/.test(line));
    expect(complaints).toEqual([]);
    expect(running[level]!.collector.log()).not.toContain(SECRET);
    // Non-string JSON values are not names: only strings are lifted.
    if (level === 'full') {
      expect(tool('mcp').attributes.tool_parameters).toBe(JSON.stringify(TOOL_PARAMETERS.mcp));
      expect(tool('cut').attributes.tool_parameters).toBe('{"mcp_server_name":"half');
    } else {
      for (const log of logs) {
        expect(log.attributes).not.toHaveProperty('tool_parameters');
        expect(JSON.stringify(log)).not.toContain(SECRET);
      }
      expect(tool('cut').attributes[REMOVED_KEYS_ATTRIBUTE]).toBe('tool_parameters');
      expect(tool('mcp').attributes[REMOVED_KEYS_ATTRIBUTE]).toBe('tool_input,tool_parameters');
    }
  }, 120_000);
});

describe('enhanced stores per event only the attributes listed for it', () => {
  it('free text, a key a newer client adds and a spoofed removed-keys list are removed; their names are kept, sorted', async () => {
    const logs = await roundTrip('enhanced', 'allow-list', [
      {
        name: 'user_prompt',
        attributes: {
          prompt: SECRET,
          prompt_text: SECRET,
          prompt_length: 23,
          'prompt.id': 'p1',
          'user.email': 'someone@example.com',
          'zz.future_context': SECRET,
          [REMOVED_KEYS_ATTRIBUTE]: 'spoofed',
        },
      },
      { name: 'api_request_body', attributes: { body: SECRET, body_length: 4000, request_body_id: 'r1', model: 'claude-opus-5-5' } },
      { name: 'api_request', attributes: { model: 'claude-opus-5-5', cost_usd: 0.01, input_tokens: 10, 'mcp_server.name': 'probe', 'skill.name': 'greeting' } },
    ]);
    const prompt = byEvent(logs, 'user_prompt').attributes;
    expect(prompt[REMOVED_KEYS_ATTRIBUTE]).toBe(['prompt', 'prompt_text', REMOVED_KEYS_ATTRIBUTE, 'zz.future_context'].sort().join(','));
    const { [REMOVED_KEYS_ATTRIBUTE]: _, ...kept } = prompt;
    for (const key of Object.keys(kept)) expect(eventAllowList('user_prompt'), key).toContain(key);
    expect(kept).toMatchObject({ prompt_length: 23, 'prompt.id': 'p1', 'session.id': 'allow-list', 'event.name': 'user_prompt' });
    // The e-mail is kept as an identity field, hashed by the sanitizer.
    expect(String(kept['user.email'])).toMatch(/^\[HASH:email-addresses:[0-9a-f]{64}\]$/);

    const body = byEvent(logs, 'api_request_body').attributes;
    expect(body).toMatchObject({ body_length: 4000, request_body_id: 'r1', model: 'claude-opus-5-5', [REMOVED_KEYS_ATTRIBUTE]: 'body' });
    const request = byEvent(logs, 'api_request').attributes;
    expect(request).toMatchObject({ model: 'claude-opus-5-5', cost_usd: 0.01, input_tokens: 10, 'mcp_server.name': 'probe', 'skill.name': 'greeting' });
    expect(request).not.toHaveProperty(REMOVED_KEYS_ATTRIBUTE);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
  }, 120_000);

  it('an event of an unknown name keeps the common identity and session attributes only', async () => {
    const logs = await roundTrip('enhanced', 'unknown-event', [
      { name: 'brand_new_event', attributes: { 'prompt.id': 'p2', 'user.id': 'u1', model: 'claude-opus-5-5', notes: SECRET } },
    ]);
    const attributes = logs[0]!.attributes;
    expect(attributes).toMatchObject({ 'event.name': 'brand_new_event', 'prompt.id': 'p2', 'user.id': 'u1', 'session.id': 'unknown-event' });
    expect(attributes[REMOVED_KEYS_ATTRIBUTE]).toBe('model,notes');
    for (const key of Object.keys(attributes)) if (key !== REMOVED_KEYS_ATTRIBUTE) expect(COMMON_EVENT_ATTRIBUTES).toContain(key);
    expect(logs[0]!.body).toBe('claude_code.brand_new_event');
  }, 120_000);

  it('full stores every attribute (sanitized) and adds no removed-keys list', async () => {
    const logs = await roundTrip('full', 'full-level', [{ name: 'brand_new_event', attributes: { notes: 'kept as sent', prompt: 'a prompt' } }]);
    expect(logs[0]!.attributes).toMatchObject({ notes: 'kept as sent', prompt: 'a prompt' });
    expect(logs[0]!.attributes).not.toHaveProperty(REMOVED_KEYS_ATTRIBUTE);
  }, 120_000);

  it('no allow-list names a free-text attribute', () => {
    for (const key of FREE_TEXT_ATTRIBUTES) {
      expect(COMMON_EVENT_ATTRIBUTES).not.toContain(key);
      expect(METRIC_ATTRIBUTES).not.toContain(key);
    }
  });
});

describe('metric data points keep the listed dimensions at basic and enhanced', () => {
  async function points(level: Level, session: string): Promise<StoredPoint[]> {
    const { sink, target, collector } = running[level]!;
    const sent: ClaudeCodeMetricPoint[] = [
      { metric: 'claude_code.cost.usage', value: 0.5, attributes: { 'session.id': session, model: 'claude-opus-5-5', 'zz.new_dimension': SECRET } },
      { metric: 'claude_code.token.usage', value: 10, attributes: { 'session.id': session, model: 'claude-opus-5-5', type: 'input' } },
    ];
    expect((await sendMetrics(target, sent)).error?.message).toBeUndefined();
    const mine = () => sink.points.filter((point) => point.attributes['session.id'] === session);
    expect(await waitFor(() => mine().length === sent.length, ARRIVAL_MS), collector.log()).toBe(true);
    return mine();
  }

  it.each(['basic', 'enhanced'] as const)('%s: a new dimension is removed and named', async (level) => {
    const stored = await points(level, `metrics-${level}`);
    const cost = stored.find((point) => point.metric === 'claude_code.cost.usage')!;
    expect(cost.attributes).toMatchObject({ model: 'claude-opus-5-5', [REMOVED_KEYS_ATTRIBUTE]: 'zz.new_dimension' });
    expect(cost.attributes).not.toHaveProperty('zz.new_dimension');
    const tokens = stored.find((point) => point.metric === 'claude_code.token.usage')!;
    expect(tokens.attributes).toMatchObject({ model: 'claude-opus-5-5', type: 'input' });
    expect(tokens.attributes).not.toHaveProperty(REMOVED_KEYS_ATTRIBUTE);
    for (const point of stored) for (const key of Object.keys(point.attributes)) if (key !== REMOVED_KEYS_ATTRIBUTE) expect(METRIC_ATTRIBUTES).toContain(key);
  }, 120_000);

  it('full: every dimension is stored', async () => {
    const stored = await points('full', 'metrics-full');
    expect(stored.find((point) => point.metric === 'claude_code.cost.usage')!.attributes['zz.new_dimension']).toBe(SECRET);
  }, 120_000);
});
