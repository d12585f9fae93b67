/**
 * Parity: what the real collector stores equals what `telemetry-stack sanitize` (the preview
 * engine) prints for the same stack, field by field, for records carrying secrets and for
 * benign ones, at the levels that keep events, with the presets and with custom rules of every
 * action. The preview reads and writes JSON Lines `{"body": string, "attributes": {string: string}}`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Level, TelemetryStackSpecInput } from '../src/api/spec.ts';
import { IDENTITY_ATTRIBUTE } from '../src/charts/collector/config.ts';
import type { PlainRecord } from '../harness/claude-code-client.ts';
import { benignEvents, secretEvents } from '../harness/claude-code-corpus.ts';
import { stopAllCollectors } from '../harness/collector.ts';
import type { OtlpSink } from '../harness/otlp-sink.ts';
import { storedAndPreviewed } from './support/parity.ts';

const sinks: OtlpSink[] = [];
afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(sinks.map((sink) => sink.stop()));
});

/** Tells records apart; an attribute every event keeps at `enhanced` (an allow-list level removes any other). */
const ID = 'prompt.id';

/** The corpus as the preview's input shape: string attributes (the exporter's tables are Map(String, String)). */
function corpus(kind: 'secrets' | 'benign'): PlainRecord[] {
  const events = kind === 'secrets' ? secretEvents() : benignEvents();
  return events.map((event, index) => ({
    body: `claude_code.${event.name}`,
    attributes: Object.fromEntries(
      Object.entries({ 'event.name': event.name, ...event.attributes, [ID]: `${kind}-${index}` }).map(([key, value]) => [key, String(value)]),
    ),
  }));
}

/** Extra records that exercise the body target and every custom rule action. */
const CUSTOM_RECORDS: PlainRecord[] = [
  { body: 'ticket INC-123456 opened by build-bot', attributes: { [ID]: 'custom-0', note: 'see INC-987654 and $HOME/"quoted"' } },
  { body: 'customer 4111-1111-1111-1111 charged', attributes: { [ID]: 'custom-1', card: 'card 5500-0000-0000-0004 on file' } },
  { body: 'internal host db-7.corp.internal down', attributes: { [ID]: 'custom-2', host: 'db-7.corp.internal' } },
];

const CUSTOM_RULES: TelemetryStackSpecInput['sanitizer'] = {
  rules: [
    { name: 'tickets', pattern: 'INC-\\d{6}', action: 'redact' },
    { name: 'cards', pattern: '\\d{4}-\\d{4}-\\d{4}-\\d{4}', action: 'hash' },
    { name: 'internal-hosts', pattern: '[a-z0-9-]+\\.corp\\.internal', action: 'drop', targets: ['attributes'] },
  ],
};

interface Case {
  label: string;
  level: Level;
  sanitizer?: TelemetryStackSpecInput['sanitizer'];
  records: PlainRecord[];
  /** Text the stored output must contain (so the comparison is not between two unchanged copies), and must not. */
  contains: string[];
  absent: string[];
}

const GITHUB_TOKEN = 'ghp_16C7e42F292c6912E7710c838347Ae178B4a';

const CASES: Case[] = [
  {
    label: 'secrets, level full, all presets',
    level: 'full',
    records: corpus('secrets'),
    contains: ['[REDACTED:github-tokens]', '[REDACTED:anthropic-keys]', '[HASH:email-addresses:'],
    absent: [GITHUB_TOKEN, 'dana@example.com', 'AKIAIOSFODNN7EXAMPLE'],
  },
  { label: 'benign, level full, all presets', level: 'full', records: corpus('benign'), contains: ['npm test -- --run'], absent: ['[REDACTED:', '[HASH:'] },
  {
    label: 'secrets and benign, level enhanced, all presets',
    level: 'enhanced',
    records: [...corpus('secrets'), ...corpus('benign')],
    contains: ['claude_code.tool_result'],
    // As keys: their names stay, in the removed-keys list.
    absent: [GITHUB_TOKEN, '"tool_parameters":', '"prompt":'],
  },
  {
    label: 'custom rules of every action, level full',
    level: 'full',
    sanitizer: CUSTOM_RULES,
    records: [...CUSTOM_RECORDS, ...corpus('secrets')],
    contains: ['[REDACTED:tickets]', '[HASH:cards:', '[REDACTED:github-tokens]'],
    absent: ['INC-123456', '4111-1111-1111-1111', 'db-7.corp.internal"'],
  },
];

describe('parity: collector output equals `telemetry-stack sanitize`', () => {
  it.each(CASES)('$label', async ({ level, sanitizer, records, contains, absent }) => {
    const spec = { level, access: { users: [{ name: 'erin' }] }, ...(sanitizer ? { sanitizer } : {}) };
    const { stored, previewed, previewStderr } = await storedAndPreviewed(spec, records, 'erin', ID, sinks);
    expect(previewStderr).toBe('');
    for (const record of Object.values(stored)) expect(record.attributes[IDENTITY_ATTRIBUTE]).toBe('erin');
    expect(Object.keys(stored).sort()).toEqual(records.map((record) => String(record.attributes[ID])).sort());
    for (const id of Object.keys(stored)) expect(stored[id], id).toEqual(previewed[id]);
    // The comparison is not between two unchanged copies: the rules did their work.
    const output = JSON.stringify(stored);
    for (const text of contains) expect(output, `stored output contains ${text}`).toContain(text);
    for (const text of absent) expect(output, `stored output lacks ${text}`).not.toContain(text);
  }, 60_000);
});
