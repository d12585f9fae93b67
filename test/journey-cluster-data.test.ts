/**
 * `query` and `report` on a stack in a real cluster, the whole way a team member goes: the CLI
 * reads the kubeconfig, finds the stack on a real API server, reads the user's own Secret (made
 * by the operator), opens a port-forward through the API server to the ClickHouse pod (kwok plays
 * the kubelet), and @clickhouse/client asks ClickHouse's HTTP interface, answered by the embedded
 * engine holding the sample export (test/support/clickhouse-http.ts says what that front does).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackNames } from '../src/stack/naming.ts';
import { SECRET_KEYS } from '../src/stack/secrets.ts';
import { run } from '../src/cli/main.ts';
import { loadExport } from '../src/clickhouse/otlp-json.ts';
import { bindParams, loadLibrary } from '../src/clickhouse/queries.ts';
import { sqlClickHouseLeg } from '../src/operator/clickhouse-sql.ts';
import type { HttpKubeClient, KubeObject } from '../src/kube/client.ts';
import { jsonLogger } from '../src/operator/log.ts';
import { type RunningOperator, startOperator } from '../src/operator/operator.ts';
import { type ClickHouseHttp, startClickHouseHttp } from './support/clickhouse-http.ts';
import { startCluster, type TestCluster } from '../harness/cluster.ts';
import { applyCrd, applyStack, clientFor, createNamespace, sharedEmbeddedClickHouse, waitForReady } from '../harness/operator.ts';

const NAMESPACE = 'obs';
const STACK = 'team';
const DATABASE = 'claude_code';
const SAMPLE = new URL('../examples/sample-export', import.meta.url).pathname;

let cluster: TestCluster;
let admin: HttpKubeClient;
let clickhouse: Awaited<ReturnType<typeof sharedEmbeddedClickHouse>>;
let endpoint: ClickHouseHttp;
let operator: RunningOperator;
let alicePassword: string;
const dir = mkdtempSync(join(tmpdir(), 'tstack-cluster-data-'));
const env = () => ({ KUBECONFIG: cluster.kubeconfigPath, HOME: dir });

beforeAll(async () => {
  clickhouse = await sharedEmbeddedClickHouse();
  endpoint = await startClickHouseHttp(clickhouse.target, DATABASE);
  cluster = await startCluster({ controllers: true, kwok: true, podPortForwards: [{ port: 8123, target: endpoint.port }] });
  admin = clientFor(cluster.kubeConfig);
  await applyCrd(admin);
  await createNamespace(admin, NAMESPACE);
  operator = await startOperator({
    client: clientFor(cluster.kubeConfig),
    log: jsonLogger(() => {}),
    inCluster: false,
    namespaces: [NAMESPACE],
    // The operator's own ClickHouse leg (schema, retention) runs on the same engine directly.
    clickhouse: sqlClickHouseLeg(clickhouse.connect),
    clickhouseUrl: 'http://embedded.invalid:8123',
    resyncMs: 3_600_000,
  });
  await applyStack(admin, NAMESPACE, STACK, { access: { users: [{ name: 'owner', role: 'admin' }, { name: 'alice' }] } });
  await waitForReady(admin, NAMESPACE, STACK, 120_000);
  await clickhouse.target.exec(`USE ${DATABASE}`);
  await loadExport(clickhouse.target, DATABASE, SAMPLE);
  const secret = await admin.request<KubeObject & { data: Record<string, string> }>('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${stackNames(STACK).userSecret('alice')}`);
  alicePassword = Buffer.from(secret.data[SECRET_KEYS.password]!, 'base64').toString('utf8');
  endpoint.users.set('alice', alicePassword);
  const owner = await admin.request<KubeObject & { data: Record<string, string> }>('GET', `/api/v1/namespaces/${NAMESPACE}/secrets/${stackNames(STACK).userSecret('owner')}`);
  endpoint.users.set('owner', Buffer.from(owner.data[SECRET_KEYS.password]!, 'base64').toString('utf8'));
}, 240_000);

afterAll(async () => {
  await operator?.stop();
  await cluster?.stop();
  await endpoint?.close();
  await clickhouse?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('on a stack in the cluster, through a port-forward, as the user', { timeout: 60_000 }, () => {
  it('query: the rows the engine holds, asked with the password from alice\'s own Secret', async () => {
    const direct = await clickhouse.target.query<{ events: number }>('SELECT count() AS events FROM otel_logs');
    expect(direct[0]!.events).toBeGreaterThan(0);
    const before = endpoint.log.length;
    const result = await run(['query', 'SELECT count() AS events FROM otel_logs', '-u', 'alice', '-n', NAMESPACE, '--format', 'json'], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(direct);
    expect(endpoint.log.slice(before)).toEqual([{ user: 'alice', sql: 'SELECT count() AS events FROM otel_logs' }]);
  });

  it('report NAME opens its own port-forward and gives what the library query gives on the engine', async () => {
    const library = loadLibrary();
    for (const name of ['cost-by-user', 'tokens-by-model']) {
      const query = library.find((candidate) => candidate.name === name)!;
      const expected = await clickhouse.target.query(query.sql, bindParams(query, {}));
      expect(expected.length).toBeGreaterThan(0);
      const result = await run(['report', name, '--user', 'alice', '-n', NAMESPACE, '--stack', STACK, '--format', 'json'], { env: env() });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual(expected);
    }
    const table = await run(['report', 'cost-by-user', '--user', 'alice'], { env: env() });
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^\S+(\s+\S+)+$/); // an aligned header line
  });

  it('report --html writes the page from the cluster', async () => {
    const file = join(dir, 'usage.html');
    const result = await run(['report', '--html', file, '--user', 'alice', '-n', NAMESPACE], { env: env() });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`wrote ${file}\n`);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain(`stack ${NAMESPACE}/${STACK}`);
    expect(html).toMatch(/<svg/);
  });

  it('a password ClickHouse refuses is reported in a line, with no stack trace and no password', async () => {
    endpoint.users.set('alice', 'rotated-elsewhere');
    try {
      const result = await run(['query', 'SELECT 1', '-u', 'alice', '-n', NAMESPACE], { env: env() });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^telemetry-stack: ClickHouse refused the query: alice: Authentication failed/);
      expect(result.stderr).not.toContain(alicePassword);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    } finally {
      endpoint.users.set('alice', alicePassword);
    }
  });

  it('cluster flags do not mix with --data or --url, and --password-file is for --url', async () => {
    const mixed = await run(['report', 'cost-by-user', '--data', SAMPLE, '-n', NAMESPACE], { env: env() });
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--namespace picks a stack in the cluster; it does not go with --data or --url');
    const file = await run(['report', 'cost-by-user', '--user', 'alice', '--password-file', join(dir, 'pw')], { env: env() });
    expect(file.code).toBe(2);
    expect(file.stderr).toContain('--password-file goes with --url');
    const nowhere = await run(['report', 'cost-by-user'], { env: env() });
    expect(nowhere.stderr).toContain('say where the data is: --user NAME (a stack in the cluster)');
  });

  it('erase: counts first, deletes with --yes as an admin, and refuses a contributor', async () => {
    const [someone] = await clickhouse.target.query<{ user: string; rows: number }>("SELECT EndUser AS user, count() AS rows FROM otel_logs WHERE EndUser != '' GROUP BY user ORDER BY user LIMIT 1");
    const user = someone!.user;
    const logsOf = async () => Number((await clickhouse.target.query<{ n: number }>('SELECT count() AS n FROM otel_logs WHERE EndUser = {u:String}', { u: user }))[0]!.n);
    const others = async () => Number((await clickhouse.target.query<{ n: number }>('SELECT count() AS n FROM otel_logs WHERE EndUser != {u:String}', { u: user }))[0]!.n);
    const othersBefore = await others();

    const dry = await run(['erase', user, '--as', 'owner', '-n', NAMESPACE], { env: env() });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`otel_logs\\s+${someone!.rows}\\b`));
    expect(dry.stderr).toMatch(new RegExp(`would delete \\d+ rows of ${user}'s from stack ${NAMESPACE}/${STACK}; nothing was deleted`));
    expect(await logsOf()).toBe(Number(someone!.rows));

    const contributor = await run(['erase', user, '--as', 'alice', '-n', NAMESPACE, '--yes'], { env: env() });
    expect(contributor.code).toBe(1);
    expect(contributor.stderr).toContain('erasing needs a user whose role is admin; alice has role contributor');
    expect(await logsOf()).toBe(Number(someone!.rows));

    const done = await run(['erase', user, '--as', 'owner', '-n', NAMESPACE, '--yes'], { env: env() });
    expect(done.stderr).toMatch(new RegExp(`deleted \\d+ rows of ${user}'s from stack ${NAMESPACE}/${STACK}`));
    expect(done.code).toBe(0);
    expect(await logsOf()).toBe(0);
    expect(await others()).toBe(othersBefore);
    // Every statement ran as the admin, through the port-forward.
    expect(endpoint.log.filter((entry) => entry.sql.startsWith('ALTER TABLE')).map((entry) => entry.user)).toEqual(expect.arrayContaining(['owner']));
    expect(endpoint.log.filter((entry) => entry.sql.startsWith('ALTER TABLE')).every((entry) => entry.user === 'owner')).toBe(true);
  });
});
