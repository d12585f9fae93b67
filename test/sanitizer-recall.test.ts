/**
 * Recall and false alarms of the built-in presets on a secret scanner's kind of corpus
 * (test/support/secret-corpus.ts): every record through the preview engine with all presets on
 * at level `full`, then a sample, one record per kind and context family plus the look-alikes,
 * through the real collector with the rendered configuration, which must store exactly what the
 * preview says.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { SanitizerPreview, type PreviewRecord } from '../src/sanitizer/preview.ts';
import { stopAllCollectors } from '../harness/collector.ts';
import type { OtlpSink } from '../harness/otlp-sink.ts';
import { storedAndPreviewed } from './support/parity.ts';
import { CARRIED_IN, CARRIERS, type CorpusRecord, CRITICAL_ATTRIBUTES, CRITICAL_JSON_FIELDS, lookAlikeRecords, secretRecords } from './support/secret-corpus.ts';
import { stackFrom } from '../harness/stacks.ts';

const preview = new SanitizerPreview(stackFrom({ level: 'full' }).spec, { hashKey: 'recall-test-key' });

interface Outcome {
  readonly item: CorpusRecord;
  readonly out: PreviewRecord;
  readonly changed: boolean;
  /** Sensitive pieces still present. */
  readonly leaked: readonly string[];
  readonly damaged: readonly string[];
  readonly invalidJson: readonly string[];
  readonly keyLost: boolean;
}

const values = (record: PreviewRecord) => [record.body ?? '', ...Object.values(record.attributes ?? {})];

function outcome(item: CorpusRecord): Outcome {
  const input = item.record as PreviewRecord;
  const out = preview.apply(input).record!;
  const outValues = values(out);
  const leaked = item.sensitive.filter((piece) => outValues.some((value) => value.includes(piece)));
  const damaged: string[] = [];
  const invalidJson: string[] = [];
  const inAttributes = input.attributes ?? {};
  const outAttributes = out.attributes ?? {};
  if (out.body !== input.body) damaged.push('body');
  for (const key of CRITICAL_ATTRIBUTES) if (outAttributes[key] !== inAttributes[key]) damaged.push(key);
  for (const [key, fields] of Object.entries(CRITICAL_JSON_FIELDS)) {
    if (inAttributes[key] === undefined) continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(outAttributes[key] ?? '') as Record<string, unknown>;
    } catch {
      invalidJson.push(key);
      continue;
    }
    const original = JSON.parse(inAttributes[key]) as Record<string, unknown>;
    for (const field of fields) if (parsed[field] !== original[field]) damaged.push(`${key}.${field}`);
  }
  const carried = outAttributes[CARRIED_IN[item.carrier].attribute] ?? '';
  return { item, out, changed: JSON.stringify(out) !== JSON.stringify(input), leaked, damaged, invalidJson, keyLost: item.keep !== undefined && !carried.includes(item.keep) };
}

const started = performance.now();
const SECRETS = secretRecords().map(outcome);
const LOOK_ALIKES = lookAlikeRecords().map(outcome);
const previewMs = performance.now() - started;

const recalled = (outcomes: readonly Outcome[]) => outcomes.filter((o) => o.leaked.length === 0).length / outcomes.length;
const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;

function table(title: string, by: (o: Outcome) => string): Map<string, Outcome[]> {
  const groups = new Map<string, Outcome[]>();
  for (const o of SECRETS) groups.set(by(o), [...(groups.get(by(o)) ?? []), o]);
  const rows = [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([name, list]) => `  ${name.padEnd(34)} ${String(list.length).padStart(5)}  ${percent(recalled(list)).padStart(6)}`);
  console.log(`${title}\n  ${'group'.padEnd(34)} ${'records'.padStart(5)}  recall\n${rows.join('\n')}`);
  return groups;
}

describe('preset recall on the secret corpus (preview engine, all presets, level full)', () => {
  it('is large enough to mean something', () => {
    expect(new Set(SECRETS.map((o) => o.item.kind)).size).toBeGreaterThanOrEqual(60);
    expect(new Set(LOOK_ALIKES.map((o) => o.item.kind)).size).toBeGreaterThanOrEqual(40);
    expect(SECRETS.length).toBeGreaterThan(5_000);
    console.log(`${SECRETS.length + LOOK_ALIKES.length} records previewed in ${previewMs.toFixed(0)} ms`);
  });

  it('cleans at least 95% of records overall and in every context family and carrier', () => {
    console.log(`overall record recall: ${percent(recalled(SECRETS))} of ${SECRETS.length}`);
    const families = table('recall per context family', (o) => o.item.family);
    const carriers = table('recall per carrier', (o) => o.item.carrier);
    table('recall per context', (o) => o.item.context);
    table('recall per kind', (o) => o.item.kind);
    const missed = SECRETS.filter((o) => o.leaked.length > 0);
    for (const o of missed.slice(0, 40)) console.log(`missed ${o.item.kind} / ${o.item.context} / ${o.item.carrier}: ${o.leaked[0]!.slice(0, 40)}`);
    expect(recalled(SECRETS)).toBeGreaterThanOrEqual(0.95);
    for (const [family, list] of families) expect(recalled(list), family).toBeGreaterThanOrEqual(0.95);
    for (const carrier of CARRIERS) expect(recalled(carriers.get(carrier)!), carrier).toBeGreaterThanOrEqual(0.95);
  });

  it('keeps the key and operator in front of a redacted secret', () => {
    const withKey = SECRETS.filter((o) => o.item.keep !== undefined && o.leaked.length === 0);
    const lost = withKey.filter((o) => o.keyLost);
    for (const o of lost.slice(0, 20)) console.log(`key lost ${o.item.kind} / ${o.item.context} / ${o.item.carrier}: expected ${JSON.stringify(o.item.keep)}`);
    expect(withKey.length).toBeGreaterThan(3_000);
    expect(lost.length / withKey.length).toBeLessThanOrEqual(0.01);
  });

  it('changes at most 10% of look-alikes', () => {
    const changed = LOOK_ALIKES.filter((o) => o.changed);
    for (const o of changed) {
      const attribute = CARRIED_IN[o.item.carrier].attribute;
      console.log(`look-alike changed ${o.item.kind} / ${o.item.carrier}: ${JSON.stringify(o.out.attributes?.[attribute]).slice(0, 300)}`);
    }
    console.log(`look-alikes changed: ${changed.length} of ${LOOK_ALIKES.length} (${percent(changed.length / LOOK_ALIKES.length)})`);
    expect(changed.length / LOOK_ALIKES.length).toBeLessThanOrEqual(0.1);
  });

  it('damages no analysis-critical value and leaves JSON attributes valid JSON', () => {
    const all = [...SECRETS, ...LOOK_ALIKES];
    const damaged = all.filter((o) => o.damaged.length > 0);
    const invalid = all.filter((o) => o.invalidJson.length > 0);
    for (const o of [...damaged, ...invalid].slice(0, 20)) console.log(`damaged ${o.item.kind} / ${o.item.context} / ${o.item.carrier}: ${[...o.damaged, ...o.invalidJson].join(', ')}`);
    expect(damaged.map((o) => o.item.id)).toEqual([]);
    expect(invalid.map((o) => o.item.id)).toEqual([]);
  });
});

describe('the real collector stores what the preview says, on a sample of the corpus', () => {
  const sinks: OtlpSink[] = [];
  afterAll(async () => {
    await stopAllCollectors();
    await Promise.all(sinks.map((sink) => sink.stop()));
  });

  it('one record per kind and context family, and the look-alikes', async () => {
    // One record per kind and family, taken at a different offset in each group so that the
    // sample goes through every context and carrier too.
    const groups = new Map<string, CorpusRecord[]>();
    for (const o of SECRETS) groups.set(`${o.item.kind}/${o.item.family}`, [...(groups.get(`${o.item.kind}/${o.item.family}`) ?? []), o.item]);
    const sample = [...groups.values()].map((list, index) => list[(index * 5 + 3) % list.length]!);
    sample.push(...LOOK_ALIKES.filter((_, index) => index % 2 === 0).map((o) => o.item));
    expect(sample.length).toBeGreaterThan(250);
    expect(new Set(sample.map((item) => item.context)).size).toBeGreaterThan(20);

    const spec = { level: 'full', access: { users: [{ name: 'erin' }] } };
    const { stored, previewed, previewStderr } = await storedAndPreviewed(spec, sample.map((item) => item.record), 'erin', 'prompt.id', sinks);
    expect(previewStderr).toBe('');
    expect(Object.keys(stored).sort()).toEqual(sample.map((item) => item.id).sort());
    const differing = sample.filter((item) => JSON.stringify(stored[item.id]) !== JSON.stringify(previewed[item.id]));
    for (const item of differing.slice(0, 5)) console.log(`collector and preview differ on ${item.kind} / ${item.context} / ${item.carrier}`);
    for (const item of sample) expect(stored[item.id], `${item.kind} / ${item.context} / ${item.carrier}`).toEqual(previewed[item.id]);
    // The comparison is between sanitized records, not two unchanged copies.
    expect(JSON.stringify(stored)).toContain('[REDACTED:');
  }, 240_000);
});
