/**
 * `query` up to the port-forward: stack and user lookup, the user's Secret, external stacks,
 * usage mistakes, as request sequences. The whole way through a real API server and a
 * port-forward runs in journey-cluster-data.test.ts; against a real ClickHouse pod in
 * test/e2e-kind.sh (Docker).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.ts';
import { startFakeApiServer, type FakeApiServer } from './support/fake-apiserver.ts';

const LIST = 'GET /apis/telemetrystack.io/v1alpha1/namespaces/obs/telemetrystacks';
const stack = (spec: object) => ({ body: { items: [{ apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', metadata: { name: 'team', namespace: 'obs' }, spec }] } });
let api: FakeApiServer;
const env = () => ({ KUBECONFIG: api.kubeconfig });

beforeAll(async () => {
  api = await startFakeApiServer({ [LIST]: stack({ access: { users: [{ name: 'alice' }, { name: 'bob', role: 'viewer' }] } }) });
});
afterAll(() => api.close());

describe('telemetry-stack query', () => {
  it('usage mistakes exit 2 before touching the cluster', async () => {
    const before = api.requests.length;
    expect((await run(['query'], { env: env() })).stderr).toContain('query takes one SQL statement');
    expect((await run(['query', 'SELECT 1'], { env: env() })).stderr).toContain('--user NAME is required');
    expect((await run(['query', 'SELECT 1', '-u', 'alice', '--format', 'xml'], { env: env() })).stderr).toContain('--format xml is not one of table, json, yaml, csv');
    expect((await run(['query', '-', '-u', 'alice'], { env: env(), stdin: '  ' })).stderr).toContain('the SQL statement is empty');
    expect(api.requests.length).toBe(before);
  });

  it('a user who is not in the stack is told who is', async () => {
    const result = await run(['query', 'SELECT 1', '-u', 'zoe', '-n', 'obs'], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"zoe" is not a user of stack obs/team; its users: alice, bob');
  });

  it('reads the password from the user\'s own Secret: missing and forbidden are explained', async () => {
    const missing = await run(['query', 'SELECT 1', '-u', 'alice', '-n', 'obs'], { env: env() });
    expect(missing.stderr).toContain("Secret obs/team.user.alice with alice's credentials does not exist yet");
    api.routes.set('GET /api/v1/namespaces/obs/secrets/team.user.alice', { status: 403, body: { message: 'forbidden' } });
    const forbidden = await run(['query', 'SELECT 1', '-u', 'alice', '-n', 'obs'], { env: env() });
    expect(forbidden.stderr).toContain('spec.access.users[name=alice].subject');
    api.routes.delete('GET /api/v1/namespaces/obs/secrets/team.user.alice');
  });

  it('a stack on an external ClickHouse points at report --url', async () => {
    api.routes.set(LIST, stack({ access: { users: [{ name: 'alice' }] }, clickhouse: { mode: 'external', external: { endpoint: 'https://ch.example.internal:8443', credentialsSecret: { name: 'ch' } } } }));
    api.routes.set('GET /api/v1/namespaces/obs/secrets/team.user.alice', { body: { data: { password: Buffer.from('pw-not-printed').toString('base64') } } });
    const result = await run(['query', 'SELECT 1', '-u', 'alice', '-n', 'obs'], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('uses an external ClickHouse (https://ch.example.internal:8443)');
    expect(result.stderr).toContain('telemetry-stack report NAME --url URL');
    expect(result.stderr).not.toContain('pw-not-printed');
  });
});
