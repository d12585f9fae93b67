/**
 * The built-in presets, run through the preview engine (the collector's semantics: Go regexp
 * on re2js, keep-groups, keyed hash) on realistic Claude Code records.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RE2JS } from 're2js';
import { PRESET_NAMES, type PresetName } from '../src/api/presets.ts';
import { PRESETS, presetByName } from '../src/sanitizer/presets.ts';
import { SanitizerPreview, type PreviewRecord } from '../src/sanitizer/preview.ts';
import {
  anthropicApi,
  asToolParameters,
  azureAccountKey,
  bearer,
  BENIGN,
  genericValue,
  ghp,
  jwt,
  password,
  SAMPLES,
  shortPassword,
  type Sample,
} from '../harness/sanitizer-corpus.ts';
import { stackFrom } from '../harness/stacks.ts';

const HASH_KEY = 'test-hash-key';

/** A preview with only the given presets on (all when omitted), level full. */
function previewWith(only?: readonly PresetName[]): SanitizerPreview {
  const disabledPresets = only ? PRESET_NAMES.filter((name) => !only.includes(name)) : [];
  return new SanitizerPreview(stackFrom({ level: 'full', sanitizer: { disabledPresets } }).spec, { hashKey: HASH_KEY });
}
const ALL = previewWith();

/** A string the way the full preset list leaves it (as an attribute value). */
function sanitized(text: string, preview = ALL): string {
  return preview.apply({ attributes: { value: text } }).record!.attributes!.value!;
}

function marker(name: PresetName): string {
  return presetByName(name).action === 'hash' ? `[HASH:${name}:` : `[REDACTED:${name}]`;
}

/** The sample as Claude Code would send it: in a bash command, an error string, a prompt, a body. */
function records(sample: Sample): { label: string; record: PreviewRecord }[] {
  const common = { 'session.id': '6f1c2b9e-3a4d-4e5f-8a7b-9c0d1e2f3a4b', 'prompt.id': 'b7e1d2c3-4f5a-4b6c-9d8e-7f6a5b4c3d2e' };
  return [
    {
      label: 'tool_parameters',
      record: {
        body: 'claude_code.tool_result',
        attributes: { ...common, 'event.name': 'tool_result', tool_name: 'Bash', tool_parameters: asToolParameters(`cd /work\n${sample.text}\tdone`) },
      },
    },
    {
      label: 'tool_parameters (secret first)',
      record: { body: 'claude_code.tool_decision', attributes: { ...common, tool_name: 'Bash', tool_parameters: asToolParameters(sample.text) } },
    },
    { label: 'error', record: { body: 'claude_code.api_error', attributes: { ...common, error: `Command failed with exit code 1: ${sample.text}`, status_code: '401' } } },
    { label: 'prompt', record: { body: 'claude_code.user_prompt', attributes: { ...common, prompt: `Why does this fail?\n\n${sample.text}\n\nThanks`, prompt_length: '120' } } },
    { label: 'body', record: { body: sample.text, attributes: common } },
  ];
}

/** Every string value of a record. */
const values = (record: PreviewRecord) => [record.body ?? '', ...Object.values(record.attributes ?? {})];

describe('sanitizer presets', () => {
  it('define exactly PRESET_NAMES, in order', () => {
    expect(PRESETS.map((preset) => preset.name)).toEqual([...PRESET_NAMES]);
    for (const name of PRESET_NAMES) expect(presetByName(name).name).toBe(name);
  });

  it('hash only e-mail addresses and redact everything else', () => {
    for (const preset of PRESETS) {
      expect(preset.action, preset.name).toBe(preset.name === 'email-addresses' ? 'hash' : 'redact');
      expect(preset.description.length, preset.name).toBeGreaterThan(10);
    }
  });

  it.each(PRESETS.map((preset) => [preset.name, preset] as const))('%s compiles as RE2 and never matches the empty string', (_, preset) => {
    const re = RE2JS.compile(preset.pattern);
    expect(re.matches('')).toBe(false);
    expect(re.matcher('').find()).toBe(false);
  });

  describe.each(PRESET_NAMES.map((name) => [name] as const))('%s', (name) => {
    const alone = previewWith([name]);
    const samples = SAMPLES[name];

    it('has at least five samples', () => {
      expect(samples.length).toBeGreaterThanOrEqual(5);
    });

    it.each(samples.map((sample) => [sample.text.slice(0, 60), sample] as const))('removes the secret from %j in every kind of record', (_, sample) => {
      expect(sample.text).toContain(sample.secret);
      for (const { label, record } of records(sample)) {
        for (const [preview, who] of [[alone, name], [ALL, 'all presets']] as const) {
          const out = preview.apply(record).record!;
          for (const value of values(out)) expect(value, `${who}, ${label}`).not.toContain(sample.secret);
          if (preview === alone) expect(values(out).join('\n'), label).toContain(marker(name));
          // JSON-encoded attributes stay JSON, and what analysis reads from them survives.
          if (out.attributes?.tool_parameters) {
            const parsed = JSON.parse(out.attributes.tool_parameters) as { git_commit_id: string; description: string };
            expect(parsed.git_commit_id).toBe('e83c516');
            expect(parsed.description).toBe('Run it');
          }
          expect(out.attributes?.['session.id']).toBe('6f1c2b9e-3a4d-4e5f-8a7b-9c0d1e2f3a4b');
        }
      }
    });
  });

  describe('analysis-critical values survive byte for byte', () => {
    it('the negative corpus holds at least 60 values', () => {
      expect(BENIGN.length).toBeGreaterThanOrEqual(60);
    });

    it.each(BENIGN.map((text) => [text] as const))('%j', (text) => {
      const cases: PreviewRecord[] = [
        { body: text, attributes: { value: text } },
        { body: 'claude_code.tool_result', attributes: { tool_parameters: asToolParameters(`cd /work\n${text}`) } },
      ];
      for (const record of cases) {
        const out = ALL.apply(record);
        expect(out.record).toEqual(record);
        expect(out.firings).toEqual([]);
      }
    });
  });

  describe('only the secret is replaced; what survives reads sensibly', () => {
    it.each([
      [`curl -H "Authorization: Bearer ${bearer}" https://api.example.com/v1`, 'curl -H "Authorization: Bearer [REDACTED:authorization-headers]" https://api.example.com/v1'],
      [`curl -u admin:${password} https://ch.example.com/`, 'curl -u admin:[REDACTED:authorization-headers] https://ch.example.com/'],
      [`git clone https://alice:${password}@github.com/acme/app.git`, 'git clone https://alice:[REDACTED:url-credentials]@github.com/acme/app.git'],
      [`export DB_PASSWORD=${shortPassword} && npm test`, 'export DB_PASSWORD=[REDACTED:secret-assignments] && npm test'],
      [`PASSWORD='a b c d' ./run.sh`, `PASSWORD='[REDACTED:secret-assignments]' ./run.sh`],
      [`{"api_key": "${genericValue}", "region": "eu"}`, '{"api_key": "[REDACTED:secret-assignments]", "region": "eu"}'],
      [`mysqladmin --password "${password}" status`, 'mysqladmin --password "[REDACTED:secret-assignments]" status'],
      [`GH_TOKEN=${ghp} gh pr create`, 'GH_TOKEN=[REDACTED:github-tokens] gh pr create'],
      [`Authorization: Bearer ${jwt}`, 'Authorization: Bearer [REDACTED:jwts]'],
      [`AccountName=acme;AccountKey=${azureAccountKey};EndpointSuffix=core.windows.net`, 'AccountName=acme;AccountKey=[REDACTED:azure-storage-keys];EndpointSuffix=core.windows.net'],
      [`export ANTHROPIC_API_KEY=${anthropicApi}\nclaude -p hi`, 'export ANTHROPIC_API_KEY=[REDACTED:anthropic-keys]\nclaude -p hi'],
      ['-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----', '-----BEGIN RSA PRIVATE KEY-----[REDACTED:private-keys]-----END RSA PRIVATE KEY-----'],
    ])('%j', (input, expected) => {
      expect(sanitized(input)).toBe(expected);
    });

    it('keeps JSON escapes and the key inside JSON-encoded commands', () => {
      const out = sanitized(asToolParameters(`cd /work\nexport DB_PASSWORD=${shortPassword}\ncurl -H "Authorization: Bearer ${bearer}" x`));
      expect(JSON.parse(out)).toMatchObject({
        bash_command: 'cd /work\nexport DB_PASSWORD=[REDACTED:secret-assignments]\ncurl -H "Authorization: Bearer [REDACTED:authorization-headers]" x',
      });
    });

    it('does not take the next flag as a password', () => {
      expect(sanitized('mysql --password --host db')).toBe('mysql --password --host db');
    });

    it('hashes an address as SHA-256 of key + address, the same wherever it appears', () => {
      const expected = `[HASH:email-addresses:${createHash('sha256').update(`${HASH_KEY}alice@example.com`).digest('hex')}]`;
      expect(sanitized('user.email=alice@example.com')).toBe(`user.email=${expected}`);
      expect(sanitized('mail alice@example.com now')).toBe(`mail ${expected} now`);
      // After a JSON escape the escape goes with the match (a hash replaces its whole match), the hash is the same.
      const encoded = JSON.parse(sanitized(asToolParameters('cd /w\nalice@example.com'))) as { bash_command: string };
      expect(encoded.bash_command).toBe(`cd /w${expected}`);
    });
  });
});
