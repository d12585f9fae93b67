/**
 * What the level stage makes whole before its allow-list runs (compile.ts normalizeStatements), on
 * the real collector: a record named only by the OTLP eventName field gets its `event.name` (so
 * the allow-list and the views know it whatever the ClickHouse exporter saw at its start), and
 * the client's "Repeated 529 Overloaded errors", sent without a status_code, keep their status at
 * enhanced, where the error text is removed. The preview (`telemetry-stack sanitize`) does the same.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PROMPT_ORIGIN_ATTRIBUTE } from '../src/sanitizer/fields.ts';
import { TASK_NOTIFICATION_ORIGIN } from '../src/sanitizer/levels.ts';
import { SanitizerPreview } from '../src/sanitizer/preview.ts';
import { type RunningCollector, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { OtlpSink, type StoredLog, waitFor } from '../harness/otlp-sink.ts';
import { stackFrom } from '../harness/stacks.ts';

const sinks: OtlpSink[] = [];
afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(sinks.map((sink) => sink.stop()));
});

const str = (value: string) => ({ stringValue: value });

/** One OTLP/HTTP JSON logs export, as a client with its own credential sends it. */
async function send(collector: RunningCollector, records: { eventName?: string; attributes: Record<string, string> }[]): Promise<void> {
  const body = {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: str('claude-code') }] },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events' },
            logRecords: records.map((record) => ({
              timeUnixNano: String(Date.now() * 1e6),
              ...(record.eventName ? { eventName: record.eventName } : {}),
              body: str(''),
              attributes: Object.entries(record.attributes).map(([key, value]) => ({ key, value: str(value) })),
            })),
          },
        ],
      },
    ],
  };
  const response = await fetch(`${collector.httpEndpoint}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: collector.secrets.authorization.me! },
    body: JSON.stringify(body),
  });
  expect(response.status, await response.text()).toBe(200);
}

async function levelCollector(level: 'enhanced' | 'full'): Promise<{ collector: RunningCollector; sink: OtlpSink }> {
  const sink = await new OtlpSink().start();
  sinks.push(sink);
  const stack = stackFrom({ level, access: { users: [{ name: 'me' }] } });
  return { collector: await startCollector({ stack, sinkEndpoint: sink.endpoint }), sink };
}

const byProbe = (logs: readonly StoredLog[], probe: string) => logs.find((log) => log.attributes['prompt.id'] === probe);

describe.each(['enhanced', 'full'] as const)('level %s: what the allow-list keys on is made whole first', (level) => {
  it('a record named only by the OTLP eventName field gets its event.name (prefix removed) and keeps its event\'s attributes', async () => {
    const { collector, sink } = await levelCollector(level);
    await send(collector, [
      { eventName: 'claude_code.user_prompt', attributes: { 'prompt.id': 'named-by-field', 'session.id': 's-1', prompt_length: '42' } },
      { attributes: { 'event.name': 'claude_code.api_request', 'prompt.id': 'prefixed-attribute', model: 'claude-x', cost_usd: '0.5' } },
      { eventName: 'claude_code.tool_result', attributes: { 'event.name': 'tool_result', 'prompt.id': 'attribute-wins', tool_name: 'Bash' } },
    ]);
    expect(await waitFor(() => sink.logs.length >= 3, 30_000), collector.log()).toBe(true);
    expect(byProbe(sink.logs, 'named-by-field')!.attributes).toMatchObject({ 'event.name': 'user_prompt', prompt_length: '42' });
    expect(byProbe(sink.logs, 'prefixed-attribute')!.attributes).toMatchObject({ 'event.name': 'api_request', model: 'claude-x', cost_usd: '0.5' });
    expect(byProbe(sink.logs, 'attribute-wins')!.attributes).toMatchObject({ 'event.name': 'tool_result', tool_name: 'Bash' });
  }, 120_000);

  it('repeated 529 errors, sent without a status, keep status 529 whatever the level removes; a status the client sent is kept', async () => {
    const { collector, sink } = await levelCollector(level);
    await send(collector, [
      { attributes: { 'event.name': 'api_error', 'prompt.id': 'repeated-529', error: 'Repeated 529 Overloaded errors', attempt: '3', model: 'claude-x' } },
      { attributes: { 'event.name': 'api_retries_exhausted', 'prompt.id': 'exhausted-529', error: 'Overloaded', total_attempts: '3' } },
      { attributes: { 'event.name': 'api_error', 'prompt.id': 'has-status', error: 'rate limited: 529 mentioned', status_code: '429' } },
      { attributes: { 'event.name': 'api_error', 'prompt.id': 'other-error', error: 'invalid request' } },
    ]);
    expect(await waitFor(() => sink.logs.length >= 4, 30_000), collector.log()).toBe(true);
    // An int, as the client sends status codes; ClickHouse stores it as "529".
    expect(byProbe(sink.logs, 'repeated-529')!.attributes.status_code).toBe(529);
    expect(byProbe(sink.logs, 'exhausted-529')!.attributes.status_code).toBe(529);
    expect(byProbe(sink.logs, 'has-status')!.attributes.status_code).toBe('429');
    expect(byProbe(sink.logs, 'other-error')!.attributes.status_code).toBeUndefined();
    // The free text itself is the level's to keep or remove.
    expect(byProbe(sink.logs, 'repeated-529')!.attributes.error === undefined).toBe(level === 'enhanced');

    // The preview says the same.
    const preview = new SanitizerPreview(stackFrom({ level }).spec, { hashKey: 'preview-key' });
    const previewed = preview.apply({ attributes: { 'event.name': 'claude_code.api_error', error: 'Repeated 529 Overloaded errors' } });
    expect(previewed.record?.attributes).toMatchObject({ 'event.name': 'api_error', status_code: '529' });
  }, 120_000);

  it('an async subagent reporting back as a user_prompt is marked as such before the level removes its text', async () => {
    const { collector, sink } = await levelCollector(level);
    // The shape the real client 2.1.328 sends when a background Agent finishes (seen through test/support/otlp-recorder.ts).
    const notification = '<task-notification>\n<task-id>aaf49a07af25ef82a</task-id>\n<status>completed</status>\n<summary>Agent "Check a thing" finished</summary>\n<result>done</result>\n</task-notification>';
    await send(collector, [
      { attributes: { 'event.name': 'user_prompt', 'prompt.id': 'from-subagent', prompt: notification, prompt_text: notification, prompt_length: String(notification.length) } },
      { attributes: { 'event.name': 'user_prompt', 'prompt.id': 'typed', prompt: 'explain <task-notification> tags', prompt_length: '32' } },
      { attributes: { 'event.name': 'user_prompt', 'prompt.id': 'no-text', prompt_length: '687' } },
    ]);
    expect(await waitFor(() => sink.logs.length >= 3, 30_000), collector.log()).toBe(true);
    expect(byProbe(sink.logs, 'from-subagent')!.attributes[PROMPT_ORIGIN_ATTRIBUTE]).toBe(TASK_NOTIFICATION_ORIGIN);
    expect(byProbe(sink.logs, 'typed')!.attributes[PROMPT_ORIGIN_ATTRIBUTE]).toBeUndefined();
    // Without the prompt text (OTEL_LOG_USER_PROMPTS off) the two cannot be told apart: nothing is claimed.
    expect(byProbe(sink.logs, 'no-text')!.attributes[PROMPT_ORIGIN_ATTRIBUTE]).toBeUndefined();
    expect(byProbe(sink.logs, 'from-subagent')!.attributes.prompt === undefined).toBe(level === 'enhanced');

    const preview = new SanitizerPreview(stackFrom({ level }).spec, { hashKey: 'preview-key' });
    expect(preview.apply({ attributes: { 'event.name': 'user_prompt', prompt: notification } }).record?.attributes?.[PROMPT_ORIGIN_ATTRIBUTE]).toBe(TASK_NOTIFICATION_ORIGIN);
    expect(preview.apply({ attributes: { 'event.name': 'user_prompt', prompt: 'hello' } }).record?.attributes?.[PROMPT_ORIGIN_ATTRIBUTE]).toBeUndefined();
  }, 120_000);
});
