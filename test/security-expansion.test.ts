/**
 * Issue 11, item 2 and its low-severity neighbours: no string from a spec becomes a `${...}`
 * reference in the collector configuration. Checked with the real collector's own resolver
 * (`otelcol print-config --mode=unredacted` prints the configuration after confmap has expanded
 * it), so what is asserted is what the collector would use, not what we think it would.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { TelemetryStack } from '../src/api/resource.ts';
import type { TelemetryStackSpecInput } from '../src/api/spec.ts';
import { validateStack } from '../src/api/validate.ts';
import { COLLECTOR_ENV, CONFIG_MAP_LIMIT_BYTES, CollectorConfigTooLargeError, IDENTITY_ATTRIBUTE } from '../src/charts/collector/config.ts';
import { render } from '../src/charts/render.ts';
import { PLACEHOLDER_ENV, validateCollectorYaml } from '../src/cli/collector-validate.ts';
import { run } from '../src/cli/main.ts';
import { configText, envReference, toConfmap } from '../src/sanitizer/confmap.ts';
import { HASH_KEY_ENV, hashKeyProblem, sanitizerProcessor } from '../src/sanitizer/compile.ts';
import { KNOWN_ATTRIBUTE_KEYS } from '../src/sanitizer/fields.ts';
import { requireCollectorBinary } from '../scripts/test-binaries/collector.ts';
import type { PlainRecord } from '../harness/claude-code-client.ts';
import { storedAndPreviewed } from './support/parity.ts';
import { stopAllCollectors } from '../harness/collector.ts';
import type { OtlpSink } from '../harness/otlp-sink.ts';
import { eventually, startCluster, type TestCluster } from '../harness/cluster.ts';
import { applyCrd, applyStack, clientFor, condition, createNamespace, eventsWithReason, getStack, objectExists } from '../harness/operator.ts';
import { stackNames } from '../src/stack/naming.ts';
import { REFERENCEABLE_LABEL } from '../src/api/constants.ts';
import type { HttpKubeClient, KubeObject } from '../src/kube/client.ts';
import { jsonLogger } from '../src/operator/log.ts';
import { startOperator, type RunningOperator } from '../src/operator/operator.ts';
import { resourcePath } from '../src/operator/resources.ts';

/** Values the collector environment holds in these tests: a leak shows up as one of them in the resolved config. */
const ENV: Record<string, string> = {
  ...PLACEHOLDER_ENV,
  [COLLECTOR_ENV.clickhousePassword]: 'the-ingest-password',
  [HASH_KEY_ENV]: 'the-hash-key',
  [COLLECTOR_ENV.upstreamAuthorization]: 'Basic the-upstream-credential',
};
/** Every stack hashes (the email-addresses preset), so the hash key is legitimately in every config; the password only in its field. */
const LEAK = 'the-ingest-password';
const REFERENCE = '${env:CLICKHOUSE_PASSWORD}';
/** Malformed for confmap: a one-letter scheme is not a scheme, so the old config was refused ("invalid uri"). */
const MALFORMED = '${x:y}';

let binary: string;
beforeAll(() => {
  binary = requireCollectorBinary();
});

const sinks: OtlpSink[] = [];
afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(sinks.map((sink) => sink.stop()));
});

/**
 * The configuration as the real collector resolves it: `print-config --mode=unredacted` runs the
 * same confmap resolver as a start and prints what the components would be given.
 * Component validation is off: it checks paths that exist only in the pod.
 */
function resolvedByCollector(yaml: string, env: Record<string, string> = {}): Record<string, any> {
  const dir = mkdtempSync(join(tmpdir(), 'tstack-expansion-'));
  try {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, yaml);
    const result = spawnSync(
      binary,
      ['print-config', '--mode=unredacted', '--validate=false', '--format=json', `--config=${file}`],
      { env: { PATH: process.env.PATH ?? '', ...ENV, ...env }, encoding: 'utf8', timeout: 60_000 },
    );
    if (result.status !== 0) throw new Error(`print-config failed:\n${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, any>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function valid(spec: TelemetryStackSpecInput): TelemetryStack {
  const result = validateStack(spec, { name: 'team', namespace: 'team' });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.stack;
}

/**
 * A valid stack with one field then set to `value`, past validation: the escaping must hold for
 * every string, including fields whose own validation would refuse a "$" today (a later relaxed
 * pattern, or a new field, must not reopen the hole).
 */
function injected(value: string): { label: string; stack: TelemetryStack; read: (config: Record<string, any>) => unknown; expected: unknown }[] {
  const external = () =>
    valid({ clickhouse: { mode: 'external', external: { endpoint: 'https://ch.example.internal:8443', cluster: 'main', credentialsSecret: { name: 'ch-admin' } } } });
  const withUpstream = () => valid({ upstream: { endpoint: 'https://central.example.internal:4318', protocol: 'http' } });
  const withRule = (action: 'redact' | 'hash' | 'drop') => valid({ level: 'full', sanitizer: { rules: [{ name: 'custom', pattern: 'tok_[a-z]+', action, targets: ['body'] }] } });
  const bodyStatements = (config: Record<string, any>) =>
    (config.processors['transform/sanitize'].log_statements as { context: string; statements: string[] }[]).find((group) => group.context === 'log')!.statements;
  const cases = [];

  let stack = withUpstream();
  stack.spec.upstream!.endpoint = `https://central.example.internal:4318/v1/${value}`;
  cases.push({ label: 'spec.upstream.endpoint', stack, read: (c: any) => c.exporters['otlp_http/upstream'].endpoint, expected: stack.spec.upstream!.endpoint });

  stack = external();
  stack.spec.clickhouse.external!.endpoint = `https://${value}.example.internal:8443`;
  cases.push({ label: 'spec.clickhouse.external.endpoint', stack, read: (c: any) => c.exporters.clickhouse.endpoint, expected: stack.spec.clickhouse.external!.endpoint });

  stack = external();
  stack.spec.clickhouse.external!.cluster = `main${value}`;
  cases.push({ label: 'spec.clickhouse.external.cluster', stack, read: (c: any) => c.exporters.clickhouse.cluster_name, expected: stack.spec.clickhouse.external!.cluster });

  stack = valid({});
  stack.spec.clickhouse.database = `telemetry${value}`;
  cases.push({ label: 'spec.clickhouse.database', stack, read: (c: any) => c.exporters.clickhouse.database, expected: stack.spec.clickhouse.database });

  for (const action of ['redact', 'hash', 'drop'] as const) {
    stack = withRule(action);
    const rule = stack.spec.sanitizer.rules[0]!;
    // The pattern is a valid RE2 pattern with the reference in it ("$" is an anchor, "{" a literal).
    (rule as { pattern: string }).pattern = `tok_${value}`;
    cases.push({
      label: `spec.sanitizer.rules[0].pattern (${action})`,
      stack,
      read: (c: any) => bodyStatements(c).some((statement) => statement.includes(`tok_${value}`)),
      expected: true,
    });
    stack = withRule(action);
    // Names are lower-case words today; the marker that carries the name must still be text.
    (stack.spec.sanitizer.rules[0] as { name: string }).name = `custom${value}`;
    cases.push({
      label: `spec.sanitizer.rules[0].name (${action})`,
      stack,
      read: (c: any) => bodyStatements(c).some((statement) => statement.includes(`custom${value}`)),
      expected: true,
    });
  }
  return cases;
}

describe('a "${...}" in a spec string reaches the real collector as text', () => {
  it.each([
    ['a reference to the ingest password', REFERENCE],
    ['a malformed reference', MALFORMED],
    ['a reference already escaped once', `$${REFERENCE}`],
  ])('%s, in every string field the configuration carries', (_label, value) => {
    const failures: string[] = [];
    for (const { label, stack, read, expected } of injected(value)) {
      let config: Record<string, any>;
      try {
        config = resolvedByCollector(render(stack).collectorConfigYaml);
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message.split('\n').slice(0, 3).join(' ')}`);
        continue;
      }
      // Beyond the field itself: no secret anywhere but where the chart puts it.
      const rest = structuredClone(config);
      delete rest.exporters.clickhouse.password;
      const text = JSON.stringify(rest);
      if (text.includes(LEAK)) failures.push(`${label}: the ingest password is in the resolved config outside its field`);
      const actual = read(config);
      if (JSON.stringify(actual) !== JSON.stringify(expected)) failures.push(`${label}: resolved to ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it("the chart's own references still resolve: ClickHouse credentials, the upstream header, the hash key", () => {
    const stack = valid({ level: 'full', upstream: { endpoint: 'central:4317', headersSecret: { name: 'central' } }, sanitizer: { rules: [{ name: 'cards', pattern: '\\d{4}-\\d{4}', action: 'hash' }] } });
    const config = resolvedByCollector(render(stack).collectorConfigYaml);
    expect(config.exporters.clickhouse.password).toBe('the-ingest-password');
    expect(config.exporters.clickhouse.username).toBe(ENV[COLLECTOR_ENV.clickhouseUsername]);
    expect(config.exporters['otlp_grpc/upstream'].headers).toEqual([{ name: 'authorization', value: 'Basic the-upstream-credential' }]);
    const statements = (config.processors['transform/sanitize'].log_statements as { statements: string[] }[]).flatMap((group) => group.statements);
    // The key, then the Go regexp template of the whole match, which must stay "${0}" (not read as a reference).
    expect(statements.filter((statement) => statement.includes('"the-hash-key${0}"')).length).toBeGreaterThan(0);
  });

  it('an upstream endpoint with a malformed "${" no longer makes the collector refuse its configuration', () => {
    const stack = valid({ upstream: { endpoint: 'https://central.example.internal:4318', protocol: 'http' } });
    stack.spec.upstream!.endpoint = `https://central.example.internal:4318/v1/${MALFORMED}`;
    const result = validateCollectorYaml(binary, render(stack).collectorConfigYaml, ENV);
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  });
});

describe('endpoints with "$" are refused by validation, naming the field', () => {
  it.each([
    ['spec.upstream.endpoint', { upstream: { endpoint: `https://central.example.internal:4318/${REFERENCE}`, protocol: 'http' } }],
    ['spec.upstream.endpoint', { upstream: { endpoint: 'https://${CLICKHOUSE_PASSWORD}.example:4318', protocol: 'http' } }],
    ['spec.clickhouse.external.endpoint', { clickhouse: { mode: 'external', external: { endpoint: 'https://${CLICKHOUSE_PASSWORD}.example:8443', credentialsSecret: { name: 'ch' } } } }],
  ] as const)('%s', (path, spec) => {
    const result = validateStack(spec);
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toContainEqual({ path, message: expect.stringContaining('must not contain "$"') });
  });

  it('the same rule is in the CRD (CEL), so `kubectl apply` refuses it too', () => {
    const crd = JSON.stringify(parse(readFileSync('crds/telemetrystack.yaml', 'utf8')));
    expect(crd).toContain("!self.endpoint.contains('$')");
  });
});

describe('one escape for the whole configuration', () => {
  it('escapes every string value, writes only references as ${env:...}, leaves keys alone', () => {
    const tree = {
      endpoint: 'https://x/${env:A}',
      list: ['$', '$$', 5, true, null],
      'key$': { password: envReference('CLICKHOUSE_PASSWORD'), mixed: configText`"${envReference('KEY')}${'${0}"'}` },
    };
    expect(toConfmap(tree)).toEqual({
      endpoint: 'https://x/$${env:A}',
      list: ['$$', '$$$$', 5, true, null],
      'key$': { password: '${env:CLICKHOUSE_PASSWORD}', mixed: '"${env:KEY}$${0}"' },
    });
  });

  it('a reference interpolated into a plain string throws instead of becoming escaped text', () => {
    expect(() => `${envReference('KEY')}`).toThrow(/configText/);
    expect(() => envReference('KEY}${env:OTHER')).toThrow(/not an environment variable name/);
  });

  it('the sanitizer processor is plain text until the configuration is escaped once (no double escaping)', () => {
    const spec = valid({ sanitizer: { rules: [{ name: 'dollars', pattern: 'cost \\$[0-9]+', action: 'redact' }] } }).spec;
    const processor = toConfmap(sanitizerProcessor(spec)) as { log_statements: { statements: string[] }[] };
    const statements = processor.log_statements.flatMap((group) => group.statements).filter((statement) => statement.includes('dollars'));
    // The pattern's "$" once escaped for the resolver, its backslash once for OTTL.
    // (Followed by the prefilter's condition, compile.ts guardedStatements.)
    expect(statements.some((statement) => statement.startsWith(String.raw`replace_all_patterns(log.attributes, "value", "cost \\$$[0-9]+", "[REDACTED:dollars]")`))).toBe(true);
  });
});

describe('the sanitizer hash key', () => {
  it.each([
    ['a"b', "'\"'"],
    ['a\\b', "'\\'"],
    ['a$$b', "'$'"],
    ['${env:CLICKHOUSE_PASSWORD}', "'$'"],
    ['key\n', 'a newline'],
    ['', 'is empty'],
  ])('%j is refused with what to do', (key, what) => {
    const problem = hashKeyProblem(key);
    expect(problem).toContain(what);
    if (key !== '') expect(problem).toContain('openssl rand -hex 32');
  });

  it('generated (hex) keys and ordinary hand-made ones are accepted', () => {
    expect(hashKeyProblem('0123456789abcdef'.repeat(4))).toBeUndefined();
    expect(hashKeyProblem('Correct-Horse_Battery.Staple!#%&{}~')).toBeUndefined();
  });

  it('why: on the real collector such keys break the configuration or silently become another key', () => {
    const stack = valid({ sanitizer: { rules: [{ name: 'cards', pattern: '\\d{4}-\\d{4}', action: 'hash' }] } });
    const yaml = render(stack).collectorConfigYaml;
    // '"' ends the OTTL literal: the collector refuses to start.
    expect(validateCollectorYaml(binary, yaml, { [HASH_KEY_ENV]: 'a"b' }).ok).toBe(false);
    // "$$" in the key is turned into "$" by the resolver, and "${...}" in it is expanded: another key, silently.
    const statements = (key: string) =>
      (resolvedByCollector(yaml, { [HASH_KEY_ENV]: key }).processors['transform/sanitize'].log_statements as { statements: string[] }[]).flatMap((group) => group.statements);
    expect(statements('a$$b').filter((statement) => statement.includes('"a$b${0}"')).length).toBeGreaterThan(0);
    expect(statements('k${env:CLICKHOUSE_PASSWORD}').filter((statement) => statement.includes('"kthe-ingest-password${0}"')).length).toBeGreaterThan(0);
  });
});

describe('the operator and values the collector could not read literally (real API server)', { timeout: 240_000 }, () => {
  const NAMESPACE = 'keys';
  let cluster: TestCluster | undefined;
  let admin: HttpKubeClient;
  let operator: RunningOperator | undefined;
  beforeAll(async () => {
    cluster = await startCluster();
    admin = clientFor(cluster.kubeConfig);
    await applyCrd(admin);
    await createNamespace(admin, NAMESPACE);
    // No ClickHouse leg: the key is checked before anything is applied, which is all this needs.
    operator = await startOperator({ client: clientFor(cluster.kubeConfig), log: jsonLogger(() => {}), inCluster: false, namespaces: [NAMESPACE], resyncMs: 2_000 });
  }, 240_000);
  afterAll(async () => {
    await operator?.stop();
    await cluster?.stop();
  }, 60_000);

  it('the API server refuses an endpoint with "$" (the CRD carries the rule as CEL)', async () => {
    const refused = await applyStack(admin, NAMESPACE, 'dollar', { upstream: { endpoint: `https://central.example.internal:4318/${REFERENCE}`, protocol: 'http' } }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(refused?.message).toContain('endpoint must not contain "$"');
  });

  it('an upstream header Secret whose value holds "${...}" is not sent: the collector would expand it (Ready=False, naming the field)', async () => {
    await admin.request('POST', resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }, NAMESPACE), {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'central', namespace: NAMESPACE, labels: { [REFERENCEABLE_LABEL]: 'true' } },
        stringData: { authorization: `Basic ${REFERENCE}` },
      },
    });
    await applyStack(admin, NAMESPACE, 'fwd', { upstream: { endpoint: 'central.example.internal:4317', headersSecret: { name: 'central' } } });
    const stack = await eventually(
      'Ready=False about the header Secret',
      async () => {
        const current = await getStack(admin, NAMESPACE, 'fwd');
        return condition(current, 'Ready')?.reason === 'SecretNotReferenceable' ? current : undefined;
      },
      120_000,
    );
    expect(condition(stack, 'Ready')!.message).toContain('spec.upstream.headersSecret: Secret "central" key "authorization" holds "$"');
  });

  it('a key edited to hold \'"\' makes Ready=False with reason InvalidHashKey, naming the Secret and the fix', async () => {
    await applyStack(admin, NAMESPACE, 'team', {});
    const secretPath = resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }, NAMESPACE, stackNames('team').sanitizerKeySecret);
    await eventually('the generated hash key Secret', async () => objectExists(admin, secretPath));
    const generated = await admin.request<KubeObject>('GET', secretPath);
    expect(hashKeyProblem(Buffer.from((generated.data as Record<string, string>)['hash-key']!, 'base64').toString())).toBeUndefined();

    // A person replaces the key by hand, with a quote in it (and a trailing newline, as `echo` writes).
    await admin.request('PATCH', secretPath, {
      body: { data: { 'hash-key': Buffer.from('my"key\n').toString('base64') } },
      contentType: 'application/merge-patch+json',
    });
    const stack = await eventually(
      'Ready=False with reason InvalidHashKey',
      async () => {
        const current = await getStack(admin, NAMESPACE, 'team');
        return condition(current, 'Ready')?.reason === 'InvalidHashKey' ? current : undefined;
      },
      120_000,
    );
    const ready = condition(stack, 'Ready')!;
    expect(ready.status).toBe('False');
    expect(ready.message).toContain(stackNames('team').sanitizerKeySecret);
    expect(ready.message).toContain('openssl rand -hex 32');
    expect(await eventsWithReason(admin, NAMESPACE, 'InvalidHashKey')).not.toEqual([]);
  });
});

describe('sanitizer patterns that validate but could not deploy', () => {
  it.each(['\\b', '^', '$', 'a|', '(?:secret|\\b)', '\\B', '(?m)^', 'x*'])('%j matches the empty string somewhere: refused with the fix', (pattern) => {
    const result = validateStack({ sanitizer: { rules: [{ name: 'r', pattern }] } });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual([{ path: 'spec.sanitizer.rules[0].pattern', message: expect.stringContaining('can match an empty string') }]);
    expect(problems[0]!.message).toContain('at least one character');
  });

  it.each(['\\bsecret\\b', '^sk-[a-z]+$', '[$^]+', '\\Q^$\\E', '[^]^]', '\\p{^Greek}x', '(?i)^token: \\S+'])('%j consumes characters: accepted', (pattern) => {
    expect(validateStack({ sanitizer: { rules: [{ name: 'r', pattern }] } }).ok).toBe(true);
  });

  it('a lone surrogate in a pattern is refused', () => {
    const result = validateStack({ sanitizer: { rules: [{ name: 'r', pattern: 'secret-\ud800' }] } });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(!result.ok && result.problems)).toContain('lone UTF-16 surrogate');
    // A whole character outside the BMP is fine.
    expect(validateStack({ sanitizer: { rules: [{ name: 'r', pattern: 'secret-\u{1F511}' }] } }).ok).toBe(true);
  });
});

describe('drop rules', () => {
  const dropRules = (count: number) =>
    Array.from({ length: count }, (_, index) => ({ name: `drop-${index}`, pattern: `project-${index}-[a-z]+`, action: 'drop' as const }));
  const statementsOf = (stack: TelemetryStack) =>
    (render(stack).collectorConfig as any).processors['transform/sanitize'].log_statements.flatMap((group: { statements: string[] }) => group.statements) as string[];

  it('25 consecutive drop rules delete known keys with one statement per key, not one per key and rule', () => {
    const none = statementsOf(valid({ level: 'full', sanitizer: { disabledPresets: [] } })).length;
    const statements = statementsOf(valid({ level: 'full', sanitizer: { rules: dropRules(25) } }));
    // (In the log context the deletes also wait for the run's prefilter mark: "where (mark) and IsMatch(".)
    const deletes = statements.filter((statement) => statement.startsWith('delete_key') && /^delete_key\([^)]*\) where (\([^)]*\) and )?IsMatch\(/.test(statement));
    // Per context (resource, log) one delete per known key: the rules' patterns together.
    expect(deletes.length).toBe(2 * KNOWN_ATTRIBUTE_KEYS.length);
    // And each rule's marker once per map: resource, scope (name, version, attributes), log body, log attributes;
    // in the log context each rule's prefilter mark and the text computed again after it (two statements), and the run's mark.
    expect(statements.length - none).toBe(deletes.length + 25 * 4 + 25 * 3 + 1);
  });

  it('merged deletes store exactly what the preview shows, on the real collector (drop, redact, drop in order)', async () => {
    const spec: TelemetryStackSpecInput = {
      level: 'full',
      access: { users: [{ name: 'erin' }] },
      sanitizer: {
        rules: [
          ...dropRules(3),
          { name: 'tickets', pattern: 'INC-\\d{6}', action: 'redact' },
          // Matches the first rule's marker: a value that rule replaced is dropped again.
          { name: 'markers', pattern: 'DROPPED:drop-0', action: 'drop' },
          { name: 'late', pattern: 'late-[a-z]+', action: 'drop' },
        ],
      },
    };
    const records: PlainRecord[] = [
      { body: 'b0', attributes: { id: 'r0', prompt: 'about project-1-falcon', note: 'project-0-osprey', model: 'x' } },
      { body: 'b1', attributes: { id: 'r1', tool_name: 'project-2-kite', extra: 'INC-123456 and late-owl', model: 'late-heron' } },
      { body: 'b2', attributes: { id: 'r2', note: 'nothing here', prompt: 'INC-654321' } },
    ];
    const { stored, previewed } = await storedAndPreviewed(spec, records, 'erin', 'id', sinks);
    for (const id of ['r0', 'r1', 'r2']) expect(stored[id], id).toEqual(previewed[id]);
    const withoutIdentity = (record: PlainRecord) => Object.fromEntries(Object.entries(record.attributes).filter(([key]) => key !== IDENTITY_ATTRIBUTE));
    // The rules did their work: known keys deleted, unknown ones marked, the marker dropped in turn.
    expect(withoutIdentity(stored.r0!)).toEqual({ id: 'r0', note: '[DROPPED:markers]', model: 'x' });
    expect(withoutIdentity(stored.r1!)).toEqual({ id: 'r1', extra: '[DROPPED:late]' });
  }, 60_000);
});

describe('a collector configuration over the 1 MiB a ConfigMap holds', () => {
  /** A valid pattern of `length` characters: a literal word, so it matches only itself. */
  const longPattern = (length: number) => `x${'abcdefghij'.repeat(Math.ceil(length / 10))}`.slice(0, length);

  it('one drop rule with a 4,096-character pattern validates but would not fit: render refuses it, naming the field and the fix', () => {
    const stack = valid({ sanitizer: { rules: [{ name: 'long', pattern: longPattern(4096), action: 'drop' }] } });
    expect(() => render(stack)).toThrow(CollectorConfigTooLargeError);
    expect(() => render(stack)).toThrow(/MiB, over the 1 MiB a ConfigMap can hold; use fewer or shorter patterns/);
  });

  it('synth reports it like a validation problem, with the field path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tstack-size-'));
    try {
      const file = join(dir, 'stack.yaml');
      writeFileSync(file, stringify({ sanitizer: { rules: [{ name: 'long', pattern: longPattern(4096), action: 'drop' }] } }));
      const result = await run(['synth', '-f', file], { env: process.env });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('spec.sanitizer.rules: the collector configuration these rules compile to is');
      expect(result.stderr).not.toContain('internal error');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('large configurations under the limit still render (100 redact rules of 512 characters)', () => {
    const rules = Array.from({ length: 100 }, (_, index) => ({ name: `rule-${index}`, pattern: longPattern(512), action: 'redact' as const }));
    const yaml = render(valid({ sanitizer: { rules } })).collectorConfigYaml;
    expect(Buffer.byteLength(yaml)).toBeGreaterThan(200_000);
    expect(Buffer.byteLength(yaml)).toBeLessThanOrEqual(CONFIG_MAP_LIMIT_BYTES);
  });
});

describe('synth --with-secrets -o DIR', () => {
  it('writes Secret files only their owner can read, also over files of an earlier run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tstack-synth-'));
    try {
      const first = await run(['synth', '--with-secrets', '--output-dir', dir], { env: process.env });
      expect(first.code, first.stderr).toBe(0);
      // An earlier run's files (or ones written before this fix) are world-readable.
      for (const file of readdirSync(dir)) chmodSync(join(dir, file), 0o644);
      const result = await run(['synth', '--with-secrets', '--output-dir', dir], { env: process.env });
      expect(result.code, result.stderr).toBe(0);
      const files = readdirSync(dir);
      const secrets = files.filter((file) => file.startsWith('secret-'));
      expect(secrets.some((file) => file.includes('sanitizer-key'))).toBe(true);
      for (const file of secrets) expect((statSync(join(dir, file)).mode & 0o777).toString(8), file).toBe('600');
      // Other manifests keep the usual permissions (nothing secret in them).
      const configMap = files.find((file) => file.startsWith('configmap-'))!;
      expect(statSync(join(dir, configMap)).mode & 0o077).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
