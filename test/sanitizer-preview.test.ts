/**
 * The preview engine: Go regexp semantics, keyed hashing, drop, and agreement with the
 * rendered collector configuration (run by an independent interpreter of its OTTL).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { render } from '../src/charts/render.ts';
import { GoRegexp } from '../src/sanitizer/go-regexp.ts';
import { SanitizerPreview, type PreviewRecord } from '../src/sanitizer/preview.ts';
import { logsPipeline } from './support/collector-interpreter.ts';
import { asToolParameters, BENIGN, SAMPLES } from '../harness/sanitizer-corpus.ts';
import { stackFrom } from '../harness/stacks.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('Go regexp layer', () => {
  it.each([
    // pattern, input, template, Go's regexp.ReplaceAllString result
    ['(a)(b)?', 'xa ab', '<$1|$2>', 'x<a|> <a|b>'],
    ['(?P<k>[a-z]+)=(?P<v>[0-9]+)', 'x=1 yy=22', '${k}:${v}', 'x:1 yy:22'],
    ['(a)', 'a', '$1x', ''], // "$1x" names group "1x", which does not exist
    ['(a)', 'a', '${1}x', 'ax'],
    ['(a)', 'a', '$$1 $', '$1 $'],
    ['(a)', 'a', '${1', '${1'], // malformed reference: "$" kept
    ['(a)', 'a', '$01', ''], // leading zero: a name, not group 1
    ['(a)', 'a', '${0}${1}', 'aa'],
    ['a*', 'baaac', '<$0>', '<>b<aaa>c<>'], // empty matches, none right after a match
    ['é+', 'café éé', '[$0]', 'caf[é] [éé]'],
  ])('%j on %j with %j', (pattern, input, template, expected) => {
    expect(new GoRegexp(pattern).replaceAllString(input, template)).toBe(expected);
  });
});

function previewFor(spec: unknown, hashKey = 'k1', user?: string): SanitizerPreview {
  return new SanitizerPreview(stackFrom(spec).spec, { hashKey, user });
}

describe('keyed hash', () => {
  const record = { attributes: { 'user.email': 'alice@example.com', note: 'ping bob@example.org and alice@example.com' } };

  it('is SHA-256 of key + address, stable for the same key', () => {
    const first = previewFor({ level: 'full' }).apply(record).record!.attributes!;
    const again = previewFor({ level: 'full' }).apply(record).record!.attributes!;
    expect(first).toEqual(again);
    const alice = `[HASH:email-addresses:${sha256('k1alice@example.com')}]`;
    expect(first['user.email']).toBe(alice);
    expect(first.note).toBe(`ping [HASH:email-addresses:${sha256('k1bob@example.org')}] and ${alice}`);
  });

  it('differs across keys', () => {
    const one = previewFor({}, 'key-one').apply(record).record!.attributes!;
    const two = previewFor({}, 'key-two').apply(record).record!.attributes!;
    expect(one['user.email']).not.toBe(two['user.email']);
    expect(one['user.email']).toMatch(/^\[HASH:email-addresses:[0-9a-f]{64}\]$/);
  });

  it('custom hash rules hash key + the whole match', () => {
    const out = previewFor({ sanitizer: { rules: [{ name: 'host', pattern: '[a-z]+\\.corp', action: 'hash' }] } }).apply({ body: 'ssh db.corp' });
    expect(out.record!.body).toBe(`ssh [HASH:host:${sha256('k1db.corp')}]`);
  });

  it('a "$" in the key is expanded as Go expands the replacement string', () => {
    const out = previewFor({}, 'a$$b').apply({ body: 'x@example.com' });
    expect(out.record!.body).toBe(`[HASH:email-addresses:${sha256('a$bx@example.com')}]`);
  });
});

describe('drop', () => {
  const spec = { level: 'full', sanitizer: { rules: [{ name: 'internal', pattern: 'project-falcon', action: 'drop' }] } };

  it('deletes a matching attribute under a known key, marks any other, and marks the body', () => {
    const out = previewFor(spec).apply({
      body: 'about project-falcon',
      attributes: { prompt: 'status of project-falcon?', 'team.codename': 'project-falcon', tool_name: 'Bash' },
    });
    expect(out.record).toEqual({ body: '[DROPPED:internal]', attributes: { 'team.codename': '[DROPPED:internal]', tool_name: 'Bash' } });
    expect(out.firings.map((f) => `${f.field} ${f.effect}`)).toEqual([
      'body replaced by marker',
      'attributes.prompt deleted',
      'attributes.team.codename replaced by marker',
    ]);
  });

  it('respects targets', () => {
    const bodyOnly = { level: 'full', sanitizer: { rules: [{ name: 'internal', pattern: 'falcon', action: 'drop', targets: ['body'] }] } };
    expect(previewFor(bodyOnly).apply({ body: 'falcon', attributes: { prompt: 'falcon' } }).record).toEqual({
      body: '[DROPPED:internal]',
      attributes: { prompt: 'falcon' },
    });
  });
});

describe('the rendered collector configuration does what the preview shows', () => {
  const specs: Record<string, unknown> = {
    'defaults (full)': { level: 'full' },
    enhanced: { level: 'enhanced' },
    'custom rules of every action': {
      level: 'full',
      sanitizer: {
        disabledPresets: ['jwts'],
        rules: [
          { name: 'ticket', pattern: 'TICKET-[0-9]+', targets: ['body'] },
          { name: 'price', pattern: '\\$[0-9]+(?:\\.[0-9]{2})? "usd"', action: 'redact' },
          { name: 'host', pattern: '(?i)[a-z]+\\.corp\\b', action: 'hash' },
          { name: 'codename', pattern: 'falcon|osprey', action: 'drop' },
          // Raw control characters in a pattern (YAML allows them) must survive OTTL's unquoting.
          { name: 'two-lines', pattern: 'BEGIN\n\tsecret\x01', action: 'redact' },
        ],
      },
    },
  };
  const corpus: PreviewRecord[] = [
    ...Object.values(SAMPLES)
      .flat()
      .flatMap((sample): PreviewRecord[] => [
        { body: sample.text, attributes: { error: sample.text, prompt: `fix ${sample.text}` } },
        { body: 'claude_code.tool_result', attributes: { tool_parameters: asToolParameters(`cd /w\n${sample.text}`), tool_name: 'Bash' } },
      ]),
    ...BENIGN.map((text) => ({ body: text, attributes: { value: text } })),
    { body: 'TICKET-12 costs $5.00 "usd" on db.corp', attributes: { note: 'falcon', 'team.codename': 'osprey', 'enduser.id': 'mallory' } },
    { body: 'x BEGIN\n\tsecret\x01 y', attributes: { error: 'BEGIN\n\tsecret\x01' } },
  ];

  it.each(Object.entries(specs))('%s', (_, spec) => {
    const hashKey = 'f00dfeed';
    const stack = stackFrom(spec);
    const pipeline = logsPipeline(render(stack).collectorConfigYaml, { SANITIZER_HASH_KEY: hashKey });
    const preview = new SanitizerPreview(stack.spec, { hashKey, user: 'alice' });
    let changed = 0;
    for (const record of corpus) {
      const expected = preview.apply(record).record;
      expect(pipeline.run(record, 'alice'), JSON.stringify(record).slice(0, 200)).toEqual(expected);
      if (JSON.stringify(expected) !== JSON.stringify({ ...record, attributes: { ...record.attributes, 'enduser.id': 'alice' } })) changed += 1;
    }
    // The corpus exercises the rules: most sample records change.
    expect(changed).toBeGreaterThan(100);
  });
});
