/**
 * The client's content switches on the whole path (test/support/whole-path.ts), the one the
 * other whole-path files leave out: OTEL_LOG_RAW_API_BODIES, which makes the client send every
 * API request and response whole (system prompt, working directory, prompts, tool output) as
 * api_request_body and api_response_body events. With it and every other content switch on:
 * - level full stores the bodies, each cut to the sanitizer's limit (16 KiB, with its marker, before
 *   the sanitizer, whose replacements may add a few bytes),
 *   and the reports still give the client's cost;
 * - level enhanced stores none of the content anywhere (planted markers), and the same cost.
 * Markers are planted in the prompt, a Bash command and the model's answer; at full all of them
 * are found, so the empty search at enhanced means something.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DERIVED } from '../src/clickhouse/tables.ts';
import { MAX_ATTRIBUTE_BYTES, TRUNCATION_MARKER } from '../src/sanitizer/limits.ts';
import { describeRun, runClaude } from './support/claude-code.ts';
import { text, toolUse, type Usage } from './support/messages-api.ts';
import { type PathStack, waitFor, WholePath } from './support/whole-path.ts';

const ARRIVAL_MS = 120_000;
const USAGE_BASH: Usage = { input_tokens: 1500, output_tokens: 40, cache_read_input_tokens: 6000, cache_creation_input_tokens: 200 };
const USAGE_TEXT: Usage = { input_tokens: 2500, output_tokens: 60, cache_read_input_tokens: 7000, cache_creation_input_tokens: 30 };

/** Every content switch the client has, on, over what env printed. */
const EVERY_SWITCH_ON = {
  OTEL_LOG_USER_PROMPTS: '1',
  OTEL_LOG_TOOL_DETAILS: '1',
  OTEL_LOG_ASSISTANT_RESPONSES: '1',
  OTEL_LOG_TOOL_CONTENT: '1',
  OTEL_LOG_RAW_API_BODIES: '1',
};

let path: WholePath;
beforeAll(async () => {
  path = await WholePath.start();
}, 120_000);
afterAll(async () => {
  await path?.stop();
});

const marked = (level: string) => ({ prompt: `raw-prompt-${level}-4417`, command: `raw-command-${level}-6203`, answer: `raw-answer-${level}-8839` });

/** One session with every switch on; returns what the client sent and its cost, once the session's requests are stored. */
async function session(s: PathStack, markers: ReturnType<typeof marked>) {
  const { api, target } = path;
  api.setScript([toolUse('Bash', { command: `printf ${markers.command} > out.txt`, description: 'Write a file' }, USAGE_BASH), text(`Done: ${markers.answer}`, USAGE_TEXT)]);
  const run = await runClaude({ prompt: `Please note ${markers.prompt}`, apiUrl: api.url, telemetryEnv: { ...s.telemetryEnv, ...EVERY_SWITCH_ON }, cwd: path.tempDir(), allowedTools: ['Bash'] });
  expect(run.code, describeRun(run)).toBe(0);
  expect(api.unscripted, api.describe()).toEqual([]);
  const sent = s.recorder.acceptedLogs;
  const events = new Set(sent.map((log) => String(log.attributes['event.name'])));
  // The client did send the bodies, with the markers in them: the level, not the client, decides what is stored.
  expect([...events]).toEqual(expect.arrayContaining(['api_request_body', 'api_response_body']));
  const wire = JSON.stringify(sent.filter((log) => String(log.attributes['event.name']).endsWith('_body')));
  for (const marker of [markers.prompt, markers.answer]) expect(wire, `the client sent no body with ${marker}`).toContain(marker);
  const cost = sent.filter((log) => log.attributes['event.name'] === 'api_request').reduce((sum, log) => sum + Number(log.attributes.cost_usd), 0);
  const stored = async () => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM ${s.database}.${DERIVED.apiRequests}`))[0]!.n);
  expect(await waitFor(async () => (await stored()) === 2, ARRIVAL_MS), s.collector.log()).toBe(true);
  return { cost, sentBodies: sent.filter((log) => String(log.attributes['event.name']).endsWith('_body')).length };
}

async function costByUser(s: PathStack) {
  return (await path.report<{ user: string; cost_usd: number; requests: number }>(s.database, 'cost-by-user')).map((row) => ({ user: row.user, cost_usd: Number(row.cost_usd), requests: Number(row.requests) }));
}

describe('OTEL_LOG_RAW_API_BODIES and every other content switch on, through the whole path', () => {
  it('level full: the bodies are stored, each cut to 16 KiB with the marker, and the reports give the client\'s cost', async () => {
    const s = await path.stack('switches_full', { level: 'full' });
    const markers = marked('full');
    const { cost, sentBodies } = await session(s, markers);
    const bodies = async () =>
      path.target.query<{ event: string; bytes: number; truncated: number }>(
        `SELECT event, length(attributes['body']) AS bytes, endsWith(attributes['body'], '${TRUNCATION_MARKER}') AS truncated FROM ${s.database}.${DERIVED.events} WHERE event IN ('api_request_body', 'api_response_body')`,
      );
    expect(await waitFor(async () => (await bodies()).length === sentBodies, ARRIVAL_MS), `${JSON.stringify(await bodies())}\n${s.collector.log()}`).toBe(true);
    const stored = await bodies();
    // Cut before the sanitizer (transform/truncate), whose replacements may lengthen the cut value by a few bytes.
    const SANITIZER_SLACK = 1024;
    expect(stored.filter((row) => Number(row.bytes) > MAX_ATTRIBUTE_BYTES + SANITIZER_SLACK), JSON.stringify(stored)).toEqual([]);
    // A request body carries the whole system prompt: longer than the limit, so it is cut.
    expect(stored.some((row) => row.event === 'api_request_body' && Number(row.truncated) === 1)).toBe(true);
    expect(await costByUser(s)).toEqual([{ user: 'me', cost_usd: expect.closeTo(cost, 6), requests: 2 }]);
    // Full keeps content: every marker is somewhere (the answer at least in the response body or the response event).
    const found = (await path.markersFound(s.database, Object.values(markers))).map((hit) => hit.split(' in ')[0]);
    expect(new Set(found)).toEqual(new Set(Object.values(markers)));
  }, 360_000);

  it('level enhanced: no body and no marker stored anywhere, the same cost', async () => {
    const s = await path.stack('switches_enhanced', { level: 'enhanced' });
    const markers = marked('enhanced');
    const { cost } = await session(s, markers);
    expect(await costByUser(s)).toEqual([{ user: 'me', cost_usd: expect.closeTo(cost, 6), requests: 2 }]);
    // Give a late batch time to land, then search every table and view.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect(await path.markersFound(s.database, Object.values(markers))).toEqual([]);
    const bodies = await path.target.query(`SELECT event FROM ${s.database}.${DERIVED.events} WHERE attributes['body'] != ''`);
    expect(bodies).toEqual([]);
  }, 360_000);
});
