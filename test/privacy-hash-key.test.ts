/**
 * The sanitizer's hash key is a Secret: it reaches the collector only as an environment
 * variable, and must not show in what the collector prints, in the rendered ConfigMap, or in an
 * error message.
 *
 * The collector's config resolver puts the key into the hash statements before OTTL parses them,
 * so any line that prints a statement prints the key. At info, OTTL printed every statement it
 * rewrote to add a context prefix ("paths were modified"); compile.ts now writes every path with
 * its context, so nothing is rewritten. At debug, OTTL prints every statement it executes, with
 * the record before and after: no statement text can hide a key from that, and the records it
 * prints are unsanitized anyway. So the chart renders info, whatever the spec.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { render } from '../src/charts/render.ts';
import { validateStack } from '../src/api/validate.ts';
import { HASH_KEY_ENV, hashKeyProblem } from '../src/sanitizer/compile.ts';
import { generateSecrets, SECRET_KEYS } from '../src/stack/secrets.ts';
import { stackNames } from '../src/stack/naming.ts';
import { sendEvents } from '../harness/claude-code-client.ts';
import { startCollector, stackSecrets, stopAllCollectors } from '../harness/collector.ts';
import { OtlpSink, waitFor } from '../harness/otlp-sink.ts';
import { specArbitrary } from './support/spec-arbitrary.ts';
import { stackFrom } from '../harness/stacks.ts';

const sinks: OtlpSink[] = [];
afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(sinks.map((sink) => sink.stop()));
});

/** A stack whose sanitizer hashes (the email preset, and a custom hash rule on every target), at full so every record keeps its values. */
const hashingStack = () =>
  stackFrom({ level: 'full', access: { users: [{ name: 'kim' }] }, sanitizer: { rules: [{ name: 'tickets', pattern: 'INC-[0-9]{6}', action: 'hash' }] } });

/** Runs the real collector at `level` with log sampling off (every line printed), sends `records` events, returns its whole log. */
async function collectorLog(level: 'info' | 'debug', records: number): Promise<{ log: string; key: string; stored: Record<string, unknown>[] }> {
  const sink = await new OtlpSink().start();
  sinks.push(sink);
  const stack = hashingStack();
  const secrets = stackSecrets(stack);
  const key = secrets.env[HASH_KEY_ENV]!;
  expect(hashKeyProblem(key)).toBeUndefined();
  const collector = await startCollector({
    stack,
    secrets,
    sinkEndpoint: sink.endpoint,
    configure: (config) => {
      config.service.telemetry.logs.level = level;
      config.service.telemetry.logs.sampling = { enabled: false };
    },
  });
  if (records > 0) {
    const target = { protocol: 'http' as const, endpoint: collector.httpEndpoint, authorization: secrets.authorization.kim };
    const events = Array.from({ length: records }, (_, i) => ({
      name: 'user_prompt',
      attributes: { 'user.email': `someone${i}@example.com`, prompt: `see INC-${String(100000 + i)}`, prompt_length: 3 },
    }));
    expect((await sendEvents(target, events)).error?.message).toBeUndefined();
    expect(await waitFor(() => sink.logs.length === records, 45_000), collector.log()).toBe(true);
  }
  await collector.stop();
  return { log: collector.log(), key, stored: sink.logs.map((log) => log.attributes) };
}

describe('the hash key is not in the collector log', () => {
  it('at the rendered level (info), at start, while hashing and at shutdown', async () => {
    const { log, key, stored } = await collectorLog('info', 20);
    // The hashes happened, with the key: the statements holding it ran.
    for (const attributes of stored) {
      expect(String(attributes['user.email'])).toMatch(/^\[HASH:email-addresses:[0-9a-f]{64}\]$/);
      expect(String(attributes.prompt)).toMatch(/^see \[HASH:tickets:[0-9a-f]{64}\]$/);
    }
    expect(log).toContain('"level":"info"');
    expect(log.includes(key)).toBe(false);
    // What used to print it: OTTL's notice that it rewrote the sanitizer's statements.
    expect(log.split('\n').filter((line) => line.includes('paths were modified') && line.includes('transform/sanitize'))).toEqual([]);
  }, 120_000);

  it('at debug, while parsing and starting (no record yet)', async () => {
    const { log, key } = await collectorLog('debug', 0);
    expect(log).toContain('"level":"debug"');
    expect(log.includes(key)).toBe(false);
  }, 120_000);

  it('at debug with records OTTL prints each statement and the unsanitized record: which is why no spec renders debug', async () => {
    const { log } = await collectorLog('debug', 1);
    expect(log).toContain('someone0@example.com');
    // Valid specs from the property-based generator (fixed seed): none renders another level.
    let checked = 0;
    for (const spec of fc.sample(specArbitrary, { numRuns: 60, seed: 20261130 })) {
      const result = validateStack(spec, { name: 'generated', namespace: 'team' });
      if (!result.ok) continue;
      checked += 1;
      expect((render(result.stack).collectorConfig as any).service.telemetry.logs.level).toBe('info');
    }
    expect(checked).toBeGreaterThan(10);
  }, 120_000);
});

describe('the hash key is not in the ConfigMap or an error', () => {
  it('the rendered objects reference the key through the environment; only its Secret holds it', () => {
    const stack = hashingStack();
    const key = generateSecrets(stack).find((secret) => secret.metadata.name === stackNames(stack.metadata.name).sanitizerKeySecret)!.stringData[SECRET_KEYS.hashKey]!;
    const rendered = render(stack);
    expect(rendered.collectorConfigYaml).toContain(`\${env:${HASH_KEY_ENV}}`);
    expect(rendered.collectorConfigYaml).not.toContain(key);
    expect(JSON.stringify(rendered.objects)).not.toContain(key);
    const configMaps = rendered.objects.filter((object: any) => object.kind === 'ConfigMap');
    expect(configMaps.length).toBeGreaterThan(0);
    for (const configMap of configMaps) expect(JSON.stringify(configMap)).not.toMatch(/[0-9a-f]{64}/);
  });

  it('a refused key is described by the character at fault, never quoted', () => {
    const secretPart = 'Zq8rT1vNw4sLk0pXy7mB';
    for (const key of [`${secretPart}"`, `${secretPart}\\x`, `${secretPart}$`, `${secretPart}\n`, `${secretPart}\x01`]) {
      const problem = hashKeyProblem(key)!;
      expect(problem).toBeDefined();
      expect(problem).not.toContain(secretPart);
    }
  });
});
