/**
 * Levels remove exactly what docs/PRIVACY.md says: the document, the preview and the rendered
 * collector configuration are all checked against the same tables (levels.ts, fields.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEVELS } from '../src/api/spec.ts';
import { render } from '../src/charts/render.ts';
import { REMOVED_KEYS_ATTRIBUTE, TELEMETRY_EVENTS, TELEMETRY_FIELDS } from '../src/sanitizer/fields.ts';
import { EVENT_ATTRIBUTES, eventAllowList, FREE_TEXT_ATTRIBUTES, LEVEL_POLICIES } from '../src/sanitizer/levels.ts';
import { SanitizerPreview } from '../src/sanitizer/preview.ts';
import { fieldStorage, privacyDocument } from '../src/sanitizer/privacy.ts';
import { logsPipeline } from './support/collector-interpreter.ts';
import { ROOT, stackFrom } from '../harness/stacks.ts';

/** An event carrying every attribute an event can carry, with values no rule touches, plus one no table knows. */
const EVENT_FIELDS = TELEMETRY_FIELDS.filter((field) => field.carrier === 'events' || field.carrier === 'every record');
const UNLISTED = 'zz.added_by_a_newer_client';
const everyAttribute = (name: string) => ({
  body: `claude_code.${name}`,
  attributes: { ...Object.fromEntries(EVENT_FIELDS.map((field) => [field.key, `value of ${field.key}`])), 'event.name': name, [UNLISTED]: 'value' },
});
/** Every event the tables know, and one they do not. */
const EVENT_NAMES = [...TELEMETRY_EVENTS.map((event) => event.name), 'brand_new_event'];

describe('levels', () => {
  it('every free-text attribute is in the field table, so PRIVACY.md lists it', () => {
    for (const key of FREE_TEXT_ATTRIBUTES) expect(TELEMETRY_FIELDS.map((field) => field.key)).toContain(key);
  });

  it('the allow-lists name only fields of the table, no free text, and every event of the table', () => {
    const known = TELEMETRY_FIELDS.map((field) => field.key);
    for (const name of EVENT_NAMES) {
      for (const key of eventAllowList(name)) {
        expect(known, `${name}: ${key}`).toContain(key);
        expect(FREE_TEXT_ATTRIBUTES as readonly string[], `${name}: ${key}`).not.toContain(key);
      }
    }
    expect(Object.keys(EVENT_ATTRIBUTES).sort()).toEqual(TELEMETRY_EVENTS.map((event) => event.name).sort());
  });

  it.each(LEVELS)('%s: the preview and the rendered collector keep exactly what the allow-list of each event says', (level) => {
    const stack = stackFrom({ level });
    const collectorPipeline = logsPipeline(render(stack).collectorConfigYaml, { SANITIZER_HASH_KEY: 'k' });
    const preview = new SanitizerPreview(stack.spec, { hashKey: 'k' });
    for (const name of EVENT_NAMES) {
      const record = everyAttribute(name);
      const previewed = preview.apply(record).record;
      const collected = collectorPipeline.run(record);
      if (!LEVEL_POLICIES[level].events) {
        expect(previewed).toBeUndefined();
        expect(collected).toBeUndefined();
        continue;
      }
      expect(collected, name).toEqual(previewed);
      const sent = Object.keys(record.attributes);
      const allowed = LEVEL_POLICIES[level].allowList ? eventAllowList(name) : sent;
      const expectedKeys = sent.filter((key) => allowed.includes(key) && key !== REMOVED_KEYS_ATTRIBUTE);
      const removed = sent.filter((key) => !allowed.includes(key)).sort();
      const { [REMOVED_KEYS_ATTRIBUTE]: removedList, ...kept } = previewed!.attributes!;
      expect(Object.keys(kept).sort(), name).toEqual(expectedKeys.sort());
      // Kept values are untouched; of the removed ones only the names remain.
      for (const key of expectedKeys) expect(kept[key]).toBe(record.attributes[key as keyof typeof record.attributes]);
      if (LEVEL_POLICIES[level].allowList) {
        expect(removedList, name).toBe(removed.join(','));
        expect(removed).toContain(UNLISTED);
        for (const key of FREE_TEXT_ATTRIBUTES) expect(removed, `${name}: ${key}`).toContain(key);
      } else {
        // full: the client's own value of the list is stored like any attribute.
        expect(removedList, name).toBe(`value of ${REMOVED_KEYS_ATTRIBUTE}`);
      }
    }
  });

  it('enhanced removes free text (and only free text of the table); full removes nothing; basic stores no events', () => {
    const removed = (level: (typeof LEVELS)[number]) => EVENT_FIELDS.filter((field) => fieldStorage(level, field) === 'removed').map((field) => field.key);
    expect(removed('enhanced').sort()).toEqual([...FREE_TEXT_ATTRIBUTES].sort());
    expect(removed('full')).toEqual([]);
    expect(EVENT_FIELDS.filter((field) => field.carrier === 'events').map((field) => fieldStorage('basic', field))).toEqual(
      EVENT_FIELDS.filter((field) => field.carrier === 'events').map(() => 'not stored'),
    );
  });

  it('docs/PRIVACY.md is the rendering of these tables and states each field at each level, and the allow-list of each event', () => {
    const text = readFileSync(join(ROOT, 'docs/PRIVACY.md'), 'utf8');
    expect(text).toBe(privacyDocument());
    for (const [name, keys] of Object.entries(EVENT_ATTRIBUTES)) {
      const section = text.slice(text.indexOf('## Events at `enhanced`'));
      const row = section.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
      expect(row, name).toBeDefined();
      for (const key of keys) expect(row, `${name}: ${key}`).toContain(`\`${key}\``);
    }
    for (const field of TELEMETRY_FIELDS) {
      const row = text.split('\n').find((line) => line.startsWith(`| \`${field.key}\` |`));
      expect(row, field.key).toBeDefined();
      const cells = row!.split(' | ').slice(-LEVELS.length);
      LEVELS.forEach((level, i) => expect(cells[i]!.replace(/ \|$/, ''), `${field.key} at ${level}`).toMatch(new RegExp(`^${fieldStorage(level, field).replace(' only', '')}`)));
    }
  });
});
