/**
 * The prefilter (src/sanitizer/prefilter.ts) must never change what the sanitizer does, only
 * how much work it takes: a guard may skip a rule only on a value the rule cannot match. Tested
 * three ways:
 * - the analysis: for any pattern and any text, a match implies the guard passes (fast-check,
 *   on the presets and on generated patterns, with texts built from the patterns' own pieces,
 *   case flips, the long s and the Kelvin sign that Go's (?i) matches);
 * - the preview: with guards (and remembered values) and without (every step on every value)
 *   give the same records, on generated records and on the corpora;
 * - the real collector: the guarded configuration and the rules alone store the same records,
 *   logs and metric points, on the corpora.
 */
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { afterAll, describe, expect, it } from 'vitest';
import { PROCESSOR_IDS } from '../src/charts/collector/config.ts';
import { sanitizerProcessor } from '../src/sanitizer/compile.ts';
import { toConfmap } from '../src/sanitizer/confmap.ts';
import { foldText, guardPasses, requiredLiterals } from '../src/sanitizer/prefilter.ts';
import { PRESETS } from '../src/sanitizer/presets.ts';
import { type PreviewRecord, SanitizerPreview } from '../src/sanitizer/preview.ts';
import { type ClaudeCodeMetricPoint, logRecords, type PlainRecord, sendEventRecords, sendMetrics } from '../harness/claude-code-client.ts';
import { benignEvents, claudeCodeMetrics, secretEvents } from '../harness/claude-code-corpus.ts';
import { removeDir, startCollector, stackSecrets, stopAllCollectors } from '../harness/collector.ts';
import { OtlpSink, waitFor } from '../harness/otlp-sink.ts';
import { BENIGN, SAMPLES } from '../harness/sanitizer-corpus.ts';
import { lookAlikeRecords, secretRecords } from './support/secret-corpus.ts';
import { stackFrom } from '../harness/stacks.ts';

const literalsOf = (pattern: string) => requiredLiterals(pattern)?.clauses.flat().map((literal) => literal.text) ?? [];

/** Texts near a pattern's matches: its literals, corpus text, and characters that fold onto ASCII. */
function textFor(pattern: string): fc.Arbitrary<string> {
  const pieces = [...literalsOf(pattern), ...literalsOf(pattern).map((text) => text.toLowerCase()), ...Object.values(SAMPLES).flat().map((sample) => sample.text).slice(0, 40), ...BENIGN];
  const piece = fc.oneof(
    fc.constantFrom(...pieces),
    fc.constantFrom('\u017f', '\u212a', 'K', 'k', 's', 'S', '=', ':', '"', '\\n', '\n', ' ', '-', '_', '.', '@', '/'),
    fc.string({ maxLength: 6 }),
  );
  // Random case flips: (?i) parts match them, case-sensitive parts must not be fooled.
  const flip = (text: string, mask: number) => [...text].map((ch, i) => ((mask >> i % 31) & 1 ? (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase()) : ch)).join('');
  return fc.tuple(fc.array(piece, { maxLength: 8 }), fc.integer()).map(([parts, mask]) => flip(parts.join(''), mask));
}

/** Small RE2 patterns from the constructs the analysis reads (and some it does not). */
const patternArbitrary: fc.Arbitrary<string> = fc.letrec((tie) => ({
  atom: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('a', 'b', 'ab', 'sk-', 'K', 'key', 'S', '\\.', '\\n', '.', '[ab]', '[a-z]', '[^x]', '\\d', '\\w', '\\b', '^', '$', '\\Qa.b\\E', 'x{2}', '{', '\\x41', '\\pL', '[[:alpha:]]', '[]a]'),
    tie('group'),
  ),
  group: fc.oneof(
    fc.tuple(fc.constantFrom('(?:', '(', '(?P<g>', '(?i:', '(?i)(?:', '(?-i:', '(?s:'), tie('alternation')).map(([open, inner]) => `${open}${inner})`),
    tie('alternation').map((inner) => `(?i)${inner}`),
  ),
  repeated: fc.tuple(tie('atom'), fc.constantFrom('', '', '*', '+', '?', '{0,2}', '{1,3}', '{2}', '+?', '??')).map(([atom, op]) => `${atom}${op}`),
  concatenation: fc.array(tie('repeated'), { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')),
  alternation: fc.array(tie('concatenation'), { minLength: 1, maxLength: 3 }).map((branches) => branches.join('|')),
})).alternation as fc.Arbitrary<string>;

const compiles = (pattern: string) => {
  try {
    RE2JS.compile(pattern);
    return true;
  } catch {
    return false;
  }
};

describe('required literals', () => {
  it('finds the literal every match holds, folded where the pattern is (?i)', () => {
    expect(requiredLiterals('sk-ant-[a-z]+')?.clauses).toEqual([[{ text: 'sk-ant-', folded: false }]]);
    expect(requiredLiterals('(?i)password=\\S+')?.clauses).toEqual([[{ text: 'PASSWORD=', folded: true }]]);
    expect(requiredLiterals('(?:AKIA|ASIA)[A-Z0-9]{16}')?.clauses).toEqual([[{ text: 'AKIA', folded: false }, { text: 'ASIA', folded: false }]]);
    // Nothing is required: no guard, the rule runs on every value.
    expect(requiredLiterals('[a-z]+@[a-z]+')?.clauses).toEqual([[{ text: '@', folded: false }]]);
    expect(requiredLiterals('\\w+')).toBeUndefined();
    expect(requiredLiterals('(?:abc)?x*')).toBeUndefined();
    expect(requiredLiterals('abc|\\d+')).toBeUndefined();
    // A pattern it cannot read gets no guard rather than a wrong one.
    expect(requiredLiterals('(?P=name)')).toBeUndefined();
  });

  it('folds as Go does: the Kelvin sign is a k and the long s an s', () => {
    const guard = requiredLiterals('(?i)secret-key');
    expect(RE2JS.compile('(?i)secret-key').test('\u017fecret-\u212aey')).toBe(true);
    expect(guardPasses(guard, '\u017fecret-\u212aey')).toBe(true);
    expect(foldText('\u017f\u212a')).toBe('SK');
    expect(guardPasses(guard, 'secret key')).toBe(false);
  });

  it('is sound on every preset: a value a preset matches passes its guard', () => {
    for (const preset of PRESETS) {
      const regexp = RE2JS.compile(preset.pattern);
      const guard = requiredLiterals(preset.pattern);
      for (const sample of Object.values(SAMPLES).flat()) {
        if (regexp.test(sample.text)) expect(guardPasses(guard, sample.text), `${preset.name} on ${sample.text}`).toBe(true);
      }
      fc.assert(
        fc.property(textFor(preset.pattern), (text) => !regexp.test(text) || guardPasses(guard, text)),
        { numRuns: 300 },
      );
    }
  }, 300_000);

  it('is sound on generated patterns', () => {
    fc.assert(
      fc.property(
        patternArbitrary.filter(compiles).chain((pattern) => fc.tuple(fc.constant(pattern), textFor(pattern))),
        ([pattern, text]) => !RE2JS.compile(pattern).test(text) || guardPasses(requiredLiterals(pattern), text),
      ),
      { numRuns: 3000 },
    );
  }, 300_000);
});

// ------------------------------------------------------------------ preview

const CUSTOM_RULES = [
  { name: 'project-drop', pattern: 'project-[a-z]+-secret', action: 'drop' as const },
  { name: 'internal-host', pattern: '(?i)[a-z0-9-]+\\.internal\\.example', action: 'redact' as const },
  { name: 'ticket-hash', pattern: 'TICKET-[0-9]{3,}', action: 'hash' as const },
  { name: 'anything-digits', pattern: '[0-9]{12,}', action: 'redact' as const },
  // The second matches only what the first writes: its guard must read the record as the first left it.
  { name: 'marker-source', pattern: 'swordfish-[0-9]+', action: 'redact' as const },
  { name: 'marker-reader', pattern: 'REDACTED:marker-source', action: 'redact' as const },
];
const SPEC = stackFrom({ level: 'full', sanitizer: { rules: CUSTOM_RULES } }).spec;
const guarded = new SanitizerPreview(SPEC, { hashKey: 'prefilter-test-key' });
// The reference: every step on every value, nothing remembered.
const unguarded = new SanitizerPreview(SPEC, { hashKey: 'prefilter-test-key', prefilter: false, rememberValues: false });

/** The corpora as preview records; `scannerEvery` keeps every n-th record of the (large) secret-scanner corpus. */
function corpusRecords(scannerEvery = 1): PreviewRecord[] {
  const fromEvents = [...benignEvents(), ...secretEvents()].map((event, i) => ({
    body: `claude_code.${event.name}`,
    attributes: Object.fromEntries(Object.entries({ ...event.attributes, 'event.name': event.name, 'prompt.id': `p-${i}` }).map(([key, value]) => [key, String(value)])),
  }));
  const samples = Object.values(SAMPLES)
    .flat()
    .map((sample, i) => ({ body: sample.text, attributes: { 'event.name': 'user_prompt', 'prompt.id': `s-${i}`, prompt: sample.text, 'user.email': 'dev@example.com' } }));
  const scanner = [...secretRecords(), ...lookAlikeRecords()].filter((_, i) => i % scannerEvery === 0).map((item) => item.record as PreviewRecord);
  const drops: PreviewRecord[] = [
    { body: 'see project-alpha-secret', attributes: { 'event.name': 'user_prompt', prompt: 'project-beta-secret', 'custom.key': 'in project-gamma-secret here', 'prompt.id': 'd-0' } },
    { body: 'the password is swordfish-42', attributes: { 'event.name': 'user_prompt', prompt: 'swordfish-7 again', 'prompt.id': 'd-1' } },
  ];
  return [...fromEvents, ...samples, ...drops, ...BENIGN.map((text, i) => ({ body: text, attributes: { 'event.name': 'api_error', error: text, 'prompt.id': `b-${i}` } })), ...scanner];
}

describe('the preview with and without guards', () => {
  it('gives the same records and firings on the corpora', () => {
    const records = corpusRecords(3);
    expect(records.length).toBeGreaterThan(1000);
    let changed = 0;
    for (const record of records) {
      const a = guarded.apply(record);
      const b = unguarded.apply(record);
      expect(a).toEqual(b);
      if (JSON.stringify(a.record) !== JSON.stringify(record)) changed++;
    }
    // The comparison is between sanitized records, not unchanged copies.
    expect(changed).toBeGreaterThan(records.length / 2);
    expect(JSON.stringify(guarded.apply(records.find((r) => r.attributes?.['prompt.id'] === 'd-1')!).record)).toContain('[[REDACTED:marker-reader]]');
  }, 600_000);

  it('gives the same records on generated records', () => {
    const allPatterns = [...PRESETS.map((preset) => preset.pattern), ...CUSTOM_RULES.map((rule) => rule.pattern)];
    const value = fc.oneof(...allPatterns.slice(0, 12).map(textFor), textFor(allPatterns.slice(12).join('|')));
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('prompt', 'error', 'tool_parameters', 'body', 'custom.key', 'user.email'), value), fc.option(value, { nil: undefined }), (attributes, body) => {
        const record: PreviewRecord = { attributes: { 'event.name': 'user_prompt', ...attributes }, ...(body !== undefined ? { body } : {}) };
        expect(guarded.apply(record)).toEqual(unguarded.apply(record));
      }),
      { numRuns: 1500 },
    );
  }, 300_000);
});

// ------------------------------------------------------------------ collector

describe('the real collector with and without guards', () => {
  const sinks: OtlpSink[] = [];
  afterAll(async () => {
    await stopAllCollectors();
    await Promise.all(sinks.map((sink) => sink.stop()));
  });

  it('stores the same logs and metric points', async () => {
    const spec = { level: 'full', access: { users: [{ name: 'erin' }] }, sanitizer: { rules: CUSTOM_RULES } };
    const stack = stackFrom(spec);
    const secrets = stackSecrets(stack);
    // Every record carries its id; the corpora go in attributes and in the body.
    const records: PlainRecord[] = corpusRecords(8).map((record, i) => ({ body: record.body ?? '', attributes: { ...record.attributes, 'prefilter.id': `r-${i}` } }));
    const points: ClaudeCodeMetricPoint[] = [
      ...claudeCodeMetrics().map((point, i) => ({ ...point, attributes: { ...point.attributes, 'prefilter.id': `c-${i}` } })),
      ...Object.values(SAMPLES)
        .flat()
        .slice(0, 60)
        .map((sample, i) => ({ metric: 'claude_code.cost.usage', value: i, attributes: { model: 'claude-sonnet-4-6', 'prefilter.id': `m-${i}`, note: sample.text } })),
    ];

    const run = async (prefilter: boolean) => {
      const sink = await new OtlpSink().start();
      sinks.push(sink);
      const collector = await startCollector({
        stack,
        secrets,
        sinkEndpoint: sink.endpoint,
        configure: (config) => {
          config.processors[PROCESSOR_IDS.sanitizer] = toConfmap(sanitizerProcessor(stack.spec, { prefilter }));
        },
      });
      const target = { protocol: 'http' as const, endpoint: collector.httpEndpoint, authorization: secrets.authorization.erin };
      expect((await sendEventRecords(target, await logRecords(records), 200)).error?.message).toBeUndefined();
      expect((await sendMetrics(target, points)).error?.message).toBeUndefined();
      const arrived = await waitFor(() => sink.logs.length >= records.length && sink.points.length >= points.length, 120_000, 100);
      expect(arrived, collector.log().slice(-3000)).toBe(true);
      await collector.stop();
      // No statement failed: a guard that errs would skip its rule.
      expect(collector.log()).not.toMatch(/failed to execute statement/i);
      removeDir(collector.dir);
      const byId = (list: readonly { attributes: Record<string, unknown> }[]) => Object.fromEntries(list.map((item) => [String(item.attributes['prefilter.id']), item]));
      return { logs: byId(sink.logs), points: byId(sink.points.map(({ metric, attributes, value }) => ({ metric, attributes, value }))) };
    };
    const [withGuards, rulesAlone] = await Promise.all([run(true), run(false)]);
    expect(Object.keys(withGuards.logs).length).toBe(records.length);
    for (const id of Object.keys(rulesAlone.logs)) expect(withGuards.logs[id], id).toEqual(rulesAlone.logs[id]);
    for (const id of Object.keys(rulesAlone.points)) expect(withGuards.points[id], id).toEqual(rulesAlone.points[id]);
    expect(Object.keys(withGuards.points).length).toBe(Object.keys(rulesAlone.points).length);
    // Sanitized records were compared, not unchanged copies.
    expect(JSON.stringify(withGuards.logs)).toContain('[REDACTED:');
    expect(JSON.stringify(withGuards.logs)).toContain('[DROPPED:project-drop]');
    expect(JSON.stringify(withGuards.logs)).toContain('[[REDACTED:marker-reader]]');
    expect(JSON.stringify(withGuards.points)).toContain('[REDACTED:');
  }, 600_000);
});
