/**
 * Parity: what the real collector stores equals what `telemetry-stack sanitize` (the preview
 * engine) prints for the same stack, field by field, for records carrying secrets and for
 * benign ones, at the levels that keep events, with the presets and with custom rules of every
 * action. The preview reads and writes JSON Lines `{"body": string, "attributes": {string: string}}`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Level, TelemetryStackSpecInput } from '../src/api/spec.ts';
import { IDENTITY_ATTRIBUTE } from '../src/charts/collector/config.ts';
import { HASH_KEY_ENV } from '../src/sanitizer/compile.ts';
import { run } from '../src/cli/main.ts';
import { logRecords, type PlainRecord, sendEventRecords } from './support/claude-code-client.ts';
import { benignEvents, secretEvents } from './support/claude-code-corpus.ts';
import { startCollector, stopAllCollectors } from './support/collector.ts';
import { OtlpSink, waitFor } from './support/otlp-sink.ts';
import { stackFrom } from './support/stacks.ts';

const sinks: OtlpSink[] = [];
afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(sinks.map((sink) => sink.stop()));
});

const ID = 'test.record';

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
}

const CASES: Case[] = [
  { label: 'secrets, level full, all presets', level: 'full', records: corpus('secrets') },
  { label: 'benign, level full, all presets', level: 'full', records: corpus('benign') },
  { label: 'secrets and benign, level enhanced, all presets', level: 'enhanced', records: [...corpus('secrets'), ...corpus('benign')] },
  { label: 'custom rules of every action, level full', level: 'full', sanitizer: CUSTOM_RULES, records: [...CUSTOM_RECORDS, ...corpus('secrets')] },
];

function byId(records: PlainRecord[]): Record<string, PlainRecord> {
  return Object.fromEntries(records.map((record) => [String(record.attributes[ID]), record]));
}

describe('parity: collector output equals `telemetry-stack sanitize`', () => {
  it.each(CASES)('$label', async ({ level, sanitizer, records }) => {
    const spec = { level, access: { users: [{ name: 'erin' }] }, ...(sanitizer ? { sanitizer } : {}) };
    const stack = stackFrom(spec);

    const sink = await new OtlpSink().start();
    sinks.push(sink);
    const collector = await startCollector({ stack, sinkEndpoint: sink.endpoint });
    const target = { protocol: 'http' as const, endpoint: collector.httpEndpoint, authorization: collector.secrets.authorization.erin };
    expect((await sendEventRecords(target, await logRecords(records))).error?.message).toBeUndefined();
    expect(await waitFor(() => sink.logs.length >= records.length, 30_000), collector.log()).toBe(true);
    await collector.stop();

    const dir = mkdtempSync(join(tmpdir(), 'tstack-parity-'));
    const stackFile = join(dir, 'stack.yaml');
    writeFileSync(stackFile, stringify(spec));
    const preview = await run(['sanitize', '-f', stackFile], {
      stdin: `${records.map((record) => JSON.stringify(record)).join('\n')}\n`,
      env: { ...process.env, [HASH_KEY_ENV]: collector.secrets.env[HASH_KEY_ENV] },
    });
    expect(preview.stderr).toBe('');
    expect(preview.code).toBe(0);
    const previewed = byId(preview.stdout.trim().split('\n').map((line) => JSON.parse(line) as PlainRecord));

    const stored = byId(
      sink.logs.map((log) => {
        const { [IDENTITY_ATTRIBUTE]: identity, ...attributes } = log.attributes;
        expect(identity).toBe('erin');
        return { body: String(log.body), attributes: attributes as Record<string, string> };
      }),
    );
    expect(Object.keys(stored).sort()).toEqual(records.map((record) => String(record.attributes[ID])).sort());
    for (const id of Object.keys(stored)) expect(stored[id], id).toEqual(previewed[id]);
    // The comparison is not vacuous: the secrets corpus really was changed.
    if (records.some((record) => String(record.attributes[ID]).startsWith('secrets'))) {
      const changed = records.filter((record) => JSON.stringify(stored[String(record.attributes[ID])]) !== JSON.stringify(record));
      expect(changed.length).toBeGreaterThan(0);
    }
  }, 60_000);
});
