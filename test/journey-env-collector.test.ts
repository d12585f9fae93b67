/**
 * The exports `env` prints, used exactly as a shell profile would, against the real
 * OpenTelemetry Collector running the stack's rendered configuration: the OpenTelemetry JS SDK
 * (what Claude Code uses) reads them, authenticates with the user's header, and the collector
 * stamps the user on what it forwards. A wrong password gets 401.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { run } from '../src/cli/main.ts';
import { type RunningCollector, stackSecrets, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { startFakeApiServer, type FakeApiServer } from './support/fake-apiserver.ts';
import { OtlpSink, waitFor } from '../harness/otlp-sink.ts';
import { ROOT, stackFrom } from '../harness/stacks.ts';

const local = parse(readFileSync(join(ROOT, 'examples/local.yaml'), 'utf8')) as { spec: object };
const stack = stackFrom(local.spec, 'local', 'telemetry');
const secrets = stackSecrets(stack);
const userSecret = secrets.secrets.find((s) => s.metadata.name === 'local.user.me')!;

let api: FakeApiServer;
let sink: OtlpSink;
let collector: RunningCollector;

beforeAll(async () => {
  sink = await new OtlpSink().start();
  collector = await startCollector({ stack, sinkEndpoint: sink.endpoint, secrets });
  api = await startFakeApiServer({
    'GET /apis/telemetrystack.io/v1alpha1/namespaces/telemetry/telemetrystacks': {
      body: { items: [{ apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', metadata: { name: 'local', namespace: 'telemetry' }, spec: local.spec }] },
    },
    'GET /api/v1/namespaces/telemetry/secrets/local.user.me': {
      body: { data: Object.fromEntries(Object.entries(userSecret.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) },
    },
  });
}, 120_000);
afterAll(async () => {
  await api?.close();
  await stopAllCollectors();
  await sink?.stop();
});

/** Sources the exports in bash and runs the e2e sender, as test/e2e-kind.sh does. */
function sendWith(exports: string, session: string, override = '') {
  const file = join(mkdtempSync(join(tmpdir(), 'tstack-env-')), 'env.sh');
  writeFileSync(file, `${exports}\n${override}\n`);
  return spawnSync('bash', ['-c', `set -a; source "$1"; exec "$2" "$3" "$4"`, 'send', file, join(ROOT, 'node_modules/.bin/node'), join(ROOT, 'test/e2e/send-telemetry.ts'), session], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });
}

describe('env exports against the real collector', () => {
  it('the SDK configured only by the exports delivers an event and counters, stamped with the user', async () => {
    const result = await run(['env', '--user', 'me', '-n', 'telemetry', '--endpoint', collector.httpEndpoint], { env: { KUBECONFIG: api.kubeconfig } });
    expect(result.code).toBe(0);
    const sent = sendWith(result.stdout, 'session-ok');
    expect(sent.stderr, collector.log()).not.toContain('send-telemetry:');
    expect(sent.status).toBe(0);
    expect(await waitFor(() => sink.logs.some((l) => l.attributes['session.id'] === 'session-ok'), 20_000)).toBe(true);
    const event = sink.logs.find((l) => l.attributes['session.id'] === 'session-ok')!;
    expect(event.body).toBe('claude_code.api_request');
    expect(event.attributes['enduser.id']).toBe('me');
    expect(await waitFor(() => sink.points.some((p) => p.attributes['session.id'] === 'session-ok'), 20_000)).toBe(true);
  });

  it('a wrong password is refused with 401 and nothing is forwarded', async () => {
    const result = await run(['env', '--user', 'me', '-n', 'telemetry', '--endpoint', collector.httpEndpoint], { env: { KUBECONFIG: api.kubeconfig } });
    const wrong = `export OTEL_EXPORTER_OTLP_HEADERS='Authorization=Basic%20${encodeURIComponent(Buffer.from('me:wrong').toString('base64'))}'`;
    const sent = sendWith(result.stdout, 'session-wrong', wrong);
    expect(sent.status).toBe(1);
    expect(sent.stderr).toMatch(/401|Unauthorized/);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(sink.logs.some((l) => l.attributes['session.id'] === 'session-wrong')).toBe(false);
  });
});
