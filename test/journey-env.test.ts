import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { freePort } from '../harness/ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseKeyPairsIntoRecord } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { generateSecrets, SECRET_KEYS, type SecretObject } from '../src/stack/secrets.ts';
import { stackNames } from '../src/stack/naming.ts';
import { run } from '../src/cli/main.ts';
import { otlpHeaders, parseResourceAttributes } from '../src/cli/claude-code/env.ts';
import { kubeconfigFor, startFakeApiServer, type FakeApiServer } from './support/fake-apiserver.ts';
import { ROOT, stackFrom } from '../harness/stacks.ts';
import { readFileSync } from 'node:fs';

const STACKS = '/apis/telemetrystack.io/v1alpha1/telemetrystacks';
const nsStacks = (ns: string) => `/apis/telemetrystack.io/v1alpha1/namespaces/${ns}/telemetrystacks`;

const local = parse(readFileSync(join(ROOT, 'examples/local.yaml'), 'utf8')) as { metadata: { name: string; namespace: string }; spec: any };
const localStack = stackFrom(local.spec, local.metadata.name, local.metadata.namespace);
const secrets = generateSecrets(localStack);
const userSecret = secrets.find((s) => s.metadata.name === stackNames('local').userSecret('me'))!;
const authorization = userSecret.stringData[SECRET_KEYS.otlpAuthorization]!;
const password = userSecret.stringData[SECRET_KEYS.password]!;

const asApiSecret = (secret: SecretObject) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: secret.metadata,
  data: Object.fromEntries(Object.entries(secret.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const rawStack = (name: string, namespace: string, spec: unknown) => ({ apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', metadata: { name, namespace, generation: 1 }, spec });

let api: FakeApiServer;
const env = () => ({ KUBECONFIG: api.kubeconfig, HOME: mkdtempSync(join(tmpdir(), 'home-')) });
const noSecretIn = (text: string) => {
  expect(text).not.toContain(password);
  expect(text).not.toContain(authorization.slice('Basic '.length));
};

beforeAll(async () => {
  api = await startFakeApiServer({
    [`GET ${STACKS}`]: { body: { items: [rawStack('local', 'telemetry', local.spec)] } },
    [`GET ${nsStacks('telemetry')}`]: { body: { items: [rawStack('local', 'telemetry', local.spec)] } },
    [`GET /api/v1/namespaces/telemetry/secrets/${userSecret.metadata.name}`]: { body: asApiSecret(userSecret) },
  });
});
afterAll(() => api.close());

describe('telemetry-stack env', () => {
  it('prints shell exports whose header the OpenTelemetry SDK decodes to the user\'s Authorization value', async () => {
    const result = await run(['env', '--user', 'me'], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Source the output in a real shell and read back what Claude Code would see.
    const shell = spawnSync('bash', ['-c', `${result.stdout}\nenv`], { encoding: 'utf8', env: {} });
    const exported = Object.fromEntries(shell.stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(exported).toMatchObject({
      CLAUDE_CODE_ENABLE_TELEMETRY: '1',
      OTEL_METRICS_EXPORTER: 'otlp',
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:30318',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
      OTEL_LOGS_EXPORT_INTERVAL: '5000',
      OTEL_LOG_USER_PROMPTS: '0',
      OTEL_LOG_TOOL_DETAILS: '0',
      OTEL_LOG_RAW_API_BODIES: '0',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_INCLUDE_SESSION_ID: 'true',
      OTEL_METRICS_INCLUDE_ACCOUNT_UUID: 'false',
      OTEL_METRICS_INCLUDE_REPOSITORY: 'false',
      OTEL_RESOURCE_INCLUDE_HOST: 'false',
    });
    // Raw, not percent-encoded: the real client sends the value verbatim (test/real-client.test.ts).
    expect(exported.OTEL_EXPORTER_OTLP_HEADERS).toBe(`Authorization=${authorization}`);
    expect(parseKeyPairsIntoRecord(exported.OTEL_EXPORTER_OTLP_HEADERS)).toEqual({ Authorization: authorization });
    // The header carries the write-only ingestion token, never the ClickHouse query password.
    expect(Buffer.from(authorization.slice('Basic '.length), 'base64').toString()).toBe(`me:${userSecret.stringData[SECRET_KEYS.ingestToken]}`);
    expect(result.stdout).not.toContain(Buffer.from(`me:${password}`).toString('base64'));
  });

  it('--managed-settings prints the env block as JSON; --protocol grpc uses the gRPC node port; -n/--stack pick the stack', async () => {
    const result = await run(['env', '-u', 'me', '-n', 'telemetry', '--stack', 'local', '--managed-settings', '--protocol', 'grpc', '--resource-attributes', 'team=payments,cost_center=42'], { env: env() });
    expect(result.code).toBe(0);
    const settings = JSON.parse(result.stdout) as { env: Record<string, string> };
    expect(Object.keys(settings)).toEqual(['env']);
    expect(settings.env.OTEL_EXPORTER_OTLP_PROTOCOL).toBe('grpc');
    expect(settings.env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://localhost:30317');
    expect(parseKeyPairsIntoRecord(settings.env.OTEL_RESOURCE_ATTRIBUTES)).toEqual({ team: 'payments', cost_center: '42' });
    expect(api.requests.some((r) => r.path === nsStacks('telemetry'))).toBe(true);
  });

  it('a ClusterIP stack gets the Service DNS name with a note on stderr; level full turns on prompts; basic turns logs off', async () => {
    const spec = { level: 'full', access: { users: [{ name: 'me' }] } };
    const secret = generateSecrets(stackFrom(spec, 'team', 'obs')).find((s) => s.metadata.name === 'team.user.me')!;
    api.routes.set(`GET ${nsStacks('obs')}`, { body: { items: [rawStack('team', 'obs', spec)] } });
    api.routes.set('GET /api/v1/namespaces/obs/secrets/team.user.me', { body: asApiSecret(secret) });
    const result = await run(['env', '--user', 'me', '-n', 'obs'], { env: env() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT='http://team-collector.obs.svc.cluster.local:4318'`);
    expect(result.stdout).toContain(`export OTEL_LOG_USER_PROMPTS='1'`);
    // Raw API bodies stay an opt-in at full (they repeat the whole conversation in every request).
    expect(result.stdout).toContain(`export OTEL_LOG_RAW_API_BODIES='0'`);
    expect(result.stdout).toContain(`export OTEL_METRICS_INCLUDE_REPOSITORY='true'`);
    expect(result.stderr).toContain('in-cluster Service address');
    noSecretIn(result.stderr);

    api.routes.set(`GET ${nsStacks('obs')}`, { body: { items: [rawStack('team', 'obs', { ...spec, level: 'basic' })] } });
    const basic = await run(['env', '--user', 'me', '-n', 'obs', '--endpoint', 'https://otel.example.com'], { env: env() });
    expect(basic.stdout).toContain(`export OTEL_LOGS_EXPORTER='none'`);
    expect(basic.stdout).toContain(`export OTEL_EXPORTER_OTLP_ENDPOINT='https://otel.example.com'`);
    expect(basic.stdout).not.toContain('OTEL_LOG_USER_PROMPTS');
    expect(basic.stderr).toBe('');
  });

  it('names each switch of the user\'s environment that the exports change, override or ignore; --temporality', async () => {
    const current = {
      ...env(),
      OTEL_LOG_USER_PROMPTS: '1',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'cumulative',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://elsewhere.example.com',
      OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'Authorization=Basic c2VjcmV0',
      CLAUDE_CODE_ENHANCED_TELEMETRY_BETA: '1',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_LOG_TOOL_DETAILS: '0', // already what the exports say: no note
    };
    const result = await run(['env', '--user', 'me'], { env: current });
    expect(result.code).toBe(0);
    const notes = result.stderr.trim().split('\n');
    expect(notes.every((line) => line.startsWith('note: '))).toBe(true);
    expect(notes).toEqual([
      expect.stringMatching(/^note: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is set in your environment and takes precedence over these exports; unset it/),
      expect.stringMatching(/^note: OTEL_EXPORTER_OTLP_METRICS_HEADERS is set/),
      expect.stringMatching(/^note: CLAUDE_CODE_ENHANCED_TELEMETRY_BETA is set in your environment and has no effect on this stack: it stores no traces$/),
      expect.stringMatching(/^note: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative in your environment becomes delta: .*--temporality$/),
      expect.stringMatching(/^note: OTEL_TRACES_EXPORTER=otlp in your environment becomes none: this stack stores logs and metrics, not traces/),
      expect.stringMatching(/^note: OTEL_LOG_USER_PROMPTS=1 in your environment becomes 0: level enhanced does not store prompts$/),
    ]);
    // A header value of the user's environment is never echoed.
    expect(result.stderr).not.toContain('c2VjcmV0');

    const cumulative = await run(['env', '--user', 'me', '--temporality', 'cumulative'], { env: current });
    expect(cumulative.stdout).toContain(`export OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE='cumulative'`);
    expect(cumulative.stderr).not.toContain('TEMPORALITY');
    const bad = await run(['env', '--user', 'me', '--temporality', 'monthly'], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('telemetry-stack: env: --temporality monthly is not one of delta, cumulative\n');
  });

  it('a user who is not in the stack is told the stack\'s users', async () => {
    const result = await run(['env', '--user', 'zoe'], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"zoe" is not a user of stack telemetry/local; its users: me');
    expect(result.stdout).toBe('');
  });

  it('a missing stack, a missing CRD and several stacks are explained', async () => {
    const notFound = await run(['env', '--user', 'me', '--stack', 'nope'], { env: env() });
    expect(notFound.stderr).toContain('no TelemetryStack named "nope" in any namespace');
    expect(notFound.stderr).toContain('stacks there: telemetry/local');

    const empty = await run(['env', '--user', 'me', '-n', 'elsewhere'], { env: env() });
    expect(empty.stderr).toMatch(/the TelemetryStack resource type is not installed|no TelemetryStack in namespace "elsewhere"/);

    const crdless = await startFakeApiServer();
    try {
      const result = await run(['env', '--user', 'me'], { env: { KUBECONFIG: crdless.kubeconfig } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('the TelemetryStack resource type is not installed in this cluster');
      expect(result.stderr).toContain('telemetry-stack up');
    } finally {
      await crdless.close();
    }

    const two = await startFakeApiServer({ [`GET ${STACKS}`]: { body: { items: [rawStack('a', 'x', {}), rawStack('b', 'y', {})] } } });
    try {
      const result = await run(['env', '--user', 'me'], { env: { KUBECONFIG: two.kubeconfig } });
      expect(result.stderr).toContain('2 TelemetryStacks in any namespace: x/a, y/b');
    } finally {
      await two.close();
    }
  });

  it('a Secret that does not exist yet points at the operator; a forbidden one at spec.access.users[].subject; neither leaks the credential', async () => {
    const path = `GET /api/v1/namespaces/telemetry/secrets/${userSecret.metadata.name}`;
    const saved = api.routes.get(path)!;
    try {
      api.routes.delete(path);
      const missing = await run(['env', '--user', 'me'], { env: env() });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`Secret telemetry/${userSecret.metadata.name} with me's credentials does not exist yet`);
      expect(missing.stderr).toContain('operator is running');

      api.routes.set(path, { status: 403, body: { kind: 'Status', message: 'secrets "local.user.me" is forbidden', code: 403 } });
      const forbidden = await run(['env', '--user', 'me'], { env: env() });
      expect(forbidden.stderr).toContain('subject');
      noSecretIn(forbidden.stderr + forbidden.stdout);
    } finally {
      api.routes.set(path, saved);
    }
  });

  it('an unreachable cluster, no kubeconfig and an unknown context each say what to do', async () => {
    const closed = await freePort();
    const down = await run(['env', '--user', 'me'], { env: { KUBECONFIG: kubeconfigFor(`https://127.0.0.1:${closed}`) } });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach the Kubernetes API server at https://127.0.0.1:${closed}`);
    expect(down.stderr).toContain('ECONNREFUSED');
    expect(down.stderr).not.toMatch(/\n\s+at /);

    const none = await run(['env', '--user', 'me'], { env: { HOME: mkdtempSync(join(tmpdir(), 'home-')) } });
    expect(none.stderr).toContain('no Kubernetes cluster configured');
    expect(none.stderr).toContain('telemetry-stack up');

    const context = await run(['env', '--user', 'me', '--context', 'kind-nope'], { env: env() });
    expect(context.stderr).toContain('kubeconfig has no context "kind-nope"; known contexts: fake');
  });

  it('usage mistakes exit 2', async () => {
    expect((await run(['env'])).code).toBe(2);
    expect((await run(['env', '--user', 'me', '--protocol', 'http/json'])).stderr).toContain('--protocol http/json is not one of http/protobuf, grpc');
    expect((await run(['env', '--user', 'me', '--endpoint', 'localhost:4318'])).code).toBe(2);
    expect((await run(['env', '--user', 'me', '--resource-attributes', 'oops'])).code).toBe(2);
  });
});

describe('client env helpers', () => {
  it('percent-encodes header values the way the SDK decodes them', () => {
    const value = 'Basic a+b/c==';
    expect(parseKeyPairsIntoRecord(otlpHeaders({ Authorization: value, 'X-Team': 'a,b' }))).toEqual({ Authorization: value, 'X-Team': 'a,b' });
    expect(parseResourceAttributes('team=a, cost=b')).toEqual({ ok: true, value: { team: 'a', cost: 'b' } });
    expect(parseResourceAttributes('=x').ok).toBe(false);
  });
});
