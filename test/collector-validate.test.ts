/**
 * Every configuration the chart renders loads in the real collector (`otelcol validate` of the
 * binary built at the chart's version), and the binary holds exactly the components those
 * configurations name.
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LEVELS } from '../src/api/spec.ts';
import { PRESET_NAMES } from '../src/api/presets.ts';
import { validateStack } from '../src/api/validate.ts';
import type { TelemetryStack } from '../src/api/resource.ts';
import { render } from '../src/charts/render.ts';
import { validateCollectorYamlAsync } from '../src/cli/collector-validate.ts';
import { run } from '../src/cli/main.ts';
import { COLLECTOR_COMPONENTS, requireCollectorBinary } from '../scripts/test-binaries/collector.ts';
import { EXAMPLES_DIR, exampleFiles, loadExample, stackFrom } from '../harness/stacks.ts';
import { specArbitrary } from './support/spec-arbitrary.ts';

const GENERATED_SPECS = 300;
const KINDS = ['receivers', 'processors', 'exporters', 'extensions'] as const;

let binary: string;
beforeAll(() => {
  binary = requireCollectorBinary();
});

/** `kind/type` of every component a configuration defines (the type is the id before any "/"). */
function componentTypes(config: Record<string, any>): Set<string> {
  const types = new Set<string>();
  for (const kind of KINDS) for (const id of Object.keys(config[kind] ?? {})) types.add(`${kind}/${id.split('/')[0]}`);
  return types;
}

function namedCases(): [string, TelemetryStack][] {
  const cases: [string, TelemetryStack][] = exampleFiles().map((file) => [`example ${file}`, stackFrom(loadExample(file))]);
  for (const level of LEVELS) {
    cases.push([`level ${level}, all presets`, stackFrom({ level })]);
    cases.push([`level ${level}, no presets`, stackFrom({ level, sanitizer: { disabledPresets: [...PRESET_NAMES] } })]);
  }
  for (const preset of PRESET_NAMES) {
    const others = PRESET_NAMES.filter((name) => name !== preset);
    cases.push([`preset ${preset} alone, level full`, stackFrom({ level: 'full', sanitizer: { disabledPresets: others } })]);
  }
  cases.push(['anonymous ingestion, no persistent queue', stackFrom({ access: { allowAnonymousIngestion: true, users: [] }, collector: { persistentQueue: { enabled: false } } })]);
  cases.push(['upstream over gRPC with credentials', stackFrom({ upstream: { endpoint: 'central:4317', headersSecret: { name: 'central' } } })]);
  cases.push(['upstream over HTTP', stackFrom({ upstream: { endpoint: 'https://central:4318', protocol: 'http' } })]);
  return cases;
}

/** Valid specs from the property-based generator (fixed seed: the same few hundred every run). */
function generatedStacks(): TelemetryStack[] {
  const stacks: TelemetryStack[] = [];
  for (const spec of fc.sample(specArbitrary, { numRuns: GENERATED_SPECS * 2, seed: 20261121 })) {
    const result = validateStack(spec, { name: 'generated', namespace: 'team' });
    if (result.ok) stacks.push(result.stack);
    if (stacks.length === GENERATED_SPECS) break;
  }
  return stacks;
}

/** Validates with two collectors at a time (the machine's cores); returns the failures. */
async function validateAll(stacks: [string, TelemetryStack][]): Promise<string[]> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < stacks.length) {
      const [label, stack] = stacks[next++]!;
      const result = await validateCollectorYamlAsync(binary, render(stack).collectorConfigYaml);
      if (!result.ok) failures.push(`${label}: ${result.output}\n  spec: ${JSON.stringify(stack.spec)}`);
    }
  };
  await Promise.all([worker(), worker()]);
  // The first few are enough to diagnose; the count says how widespread it is.
  return failures.length > 3 ? [...failures.slice(0, 3), `... and ${failures.length - 3} more`] : failures;
}

describe('rendered collector configurations on the real collector', () => {
  it('the test binary holds exactly the components rendered configurations use', () => {
    const built = new Set(COLLECTOR_COMPONENTS.map((component) => `${component.kind}/${component.type}`));
    const used = new Set<string>();
    for (const stack of [...namedCases().map(([, stack]) => stack), ...generatedStacks()]) {
      for (const type of componentTypes(render(stack).collectorConfig)) used.add(type);
    }
    expect([...used].sort()).toEqual([...built].sort());
    // Renders some 330 stacks, each with every preset's prefilter guards: tens of seconds on loaded shared cores.
  }, 180_000);

  it('the generator reaches every level, preset, rule action and option that changes the configuration', () => {
    const stacks = generatedStacks();
    expect(stacks.length).toBe(GENERATED_SPECS);
    const seen = (predicate: (stack: TelemetryStack) => boolean) => stacks.filter(predicate).length;
    for (const level of LEVELS) expect(seen((s) => s.spec.level === level), level).toBeGreaterThan(10);
    for (const action of ['redact', 'hash', 'drop']) {
      expect(seen((s) => s.spec.sanitizer.rules.some((rule) => rule.action === action)), action).toBeGreaterThan(10);
    }
    expect(seen((s) => s.spec.access.allowAnonymousIngestion)).toBeGreaterThan(10);
    expect(seen((s) => !s.spec.collector.persistentQueue.enabled)).toBeGreaterThan(10);
    expect(seen((s) => s.spec.upstream?.protocol === 'grpc')).toBeGreaterThan(10);
    expect(seen((s) => s.spec.upstream?.protocol === 'http')).toBeGreaterThan(10);
    expect(seen((s) => s.spec.clickhouse.mode === 'external')).toBeGreaterThan(10);
    expect(seen((s) => s.spec.sanitizer.rules.some((rule) => rule.pattern.includes('$')))).toBeGreaterThan(10);
  });

  it('every example, level and preset passes `otelcol validate`', async () => {
    expect(await validateAll(namedCases())).toEqual([]);
  }, 120_000);

  it(`${GENERATED_SPECS} generated specs pass \`otelcol validate\``, async () => {
    const stacks = generatedStacks().map((stack, index): [string, TelemetryStack] => [`generated #${index}`, stack]);
    expect(await validateAll(stacks)).toEqual([]);
    // 600 collector starts on two shared cores; the level's allow-lists and the sanitizer's scope and
    // metric groups made each parse about a third longer (issue 13), and the prefilter's guards
    // another 35-45 % (1.7-2.1 CPU-s per `otelcol validate`).
  }, 1_200_000);

  it('a gRPC upstream with a URL path, which the gRPC exporter refuses, is refused by the API first', () => {
    const result = validateStack({ upstream: { endpoint: 'http://central:4318/otlp', protocol: 'grpc' } });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(!result.ok && result.problems)).toContain('without a path when protocol is grpc');
    // (http:// is plain text, which the spec must opt into.)
    expect(validateStack({ upstream: { endpoint: 'http://central:4318/otlp', protocol: 'http', insecure: true } }).ok).toBe(true);
  });

  it('a configuration the collector rejects is reported as invalid (the check can fail)', async () => {
    const yaml = render(stackFrom({})).collectorConfigYaml.replace('memory_limiter:', 'memory_limiter:\n    no_such_option: 1');
    const result = await validateCollectorYamlAsync(binary, yaml);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('no_such_option');
  });
});

describe('synth --validate-with', () => {
  const example = join(EXAMPLES_DIR, 'team.yaml');

  it('prints the manifests when the rendered collector configuration passes', async () => {
    const result = await run(['synth', '-f', example, '--validate-with', binary]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('kind: ConfigMap');
  });

  it('fails naming the file and the collector output when the binary rejects the configuration', async () => {
    const result = await run(['synth', '-f', example, '--validate-with', '/bin/false']);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`${example}: the rendered collector configuration does not pass`);
  });

  it('a missing binary is a user error that says how to get one', async () => {
    const result = await run(['synth', '-f', example, '--validate-with', '/nonexistent/otelcol']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--validate-with: /nonexistent/otelcol does not exist');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
