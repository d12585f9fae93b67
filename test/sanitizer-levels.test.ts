/**
 * Levels remove exactly what docs/PRIVACY.md says: the document, the preview and the rendered
 * collector configuration are all checked against the same tables (levels.ts, fields.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LEVELS } from '../src/api/spec.ts';
import { render } from '../src/charts/render.ts';
import { TELEMETRY_FIELDS } from '../src/sanitizer/fields.ts';
import { FREE_TEXT_ATTRIBUTES, LEVEL_POLICIES } from '../src/sanitizer/levels.ts';
import { SanitizerPreview } from '../src/sanitizer/preview.ts';
import { fieldStorage, privacyDocument } from '../src/sanitizer/privacy.ts';
import { logsPipeline } from './support/collector-interpreter.ts';
import { ROOT, stackFrom } from './support/stacks.ts';

/** An event carrying every attribute an event can carry, with values no rule touches. */
const EVENT_FIELDS = TELEMETRY_FIELDS.filter((field) => field.carrier === 'events' || field.carrier === 'every record');
const everyAttribute = { body: 'claude_code.tool_result', attributes: Object.fromEntries(EVENT_FIELDS.map((field) => [field.key, `value of ${field.key}`])) };

describe('levels', () => {
  it('every free-text attribute is in the field table, so PRIVACY.md lists it', () => {
    for (const key of FREE_TEXT_ATTRIBUTES) expect(TELEMETRY_FIELDS.map((field) => field.key)).toContain(key);
  });

  it.each(LEVELS)('%s: the preview and the rendered collector keep exactly the fields PRIVACY.md marks stored', (level) => {
    const stack = stackFrom({ level });
    const expectedKeys = EVENT_FIELDS.filter((field) => fieldStorage(level, field) === 'stored').map((field) => field.key);
    const preview = new SanitizerPreview(stack.spec, { hashKey: 'k' }).apply(everyAttribute).record;
    const collector = logsPipeline(render(stack).collectorConfigYaml, { SANITIZER_HASH_KEY: 'k' }).run(everyAttribute);
    if (!LEVEL_POLICIES[level].events) {
      expect(expectedKeys).toEqual([]);
      expect(preview).toBeUndefined();
      expect(collector).toBeUndefined();
      return;
    }
    expect(Object.keys(preview!.attributes!)).toEqual(expectedKeys);
    expect(collector).toEqual(preview);
    // Kept values are untouched.
    for (const key of expectedKeys) expect(preview!.attributes![key]).toBe(`value of ${key}`);
  });

  it('enhanced removes free text and only free text; full removes nothing; basic stores no events', () => {
    const removed = (level: (typeof LEVELS)[number]) => EVENT_FIELDS.filter((field) => fieldStorage(level, field) === 'removed').map((field) => field.key);
    expect(removed('enhanced').sort()).toEqual([...FREE_TEXT_ATTRIBUTES].sort());
    expect(removed('full')).toEqual([]);
    expect(EVENT_FIELDS.filter((field) => field.carrier === 'events').map((field) => fieldStorage('basic', field))).toEqual(
      EVENT_FIELDS.filter((field) => field.carrier === 'events').map(() => 'not stored'),
    );
  });

  it('docs/PRIVACY.md is the rendering of these tables and states each field at each level', () => {
    const text = readFileSync(join(ROOT, 'docs/PRIVACY.md'), 'utf8');
    expect(text).toBe(privacyDocument());
    for (const field of TELEMETRY_FIELDS) {
      const row = text.split('\n').find((line) => line.startsWith(`| \`${field.key}\` |`));
      expect(row, field.key).toBeDefined();
      const cells = row!.split(' | ').slice(-LEVELS.length);
      LEVELS.forEach((level, i) => expect(cells[i]!.replace(/ \|$/, ''), `${field.key} at ${level}`).toMatch(new RegExp(`^${fieldStorage(level, field).replace(' only', '')}`)));
    }
  });
});
