import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.ts';
import { KubeConfigError, loadKubeConfig } from '../src/kube/kubeconfig.ts';
import { jsonLogger } from '../src/operator/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'tstack-operator-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('telemetry-stack operator', () => {
  it('is listed and documents its flags', async () => {
    expect((await run(['--help'])).stdout).toMatch(/operator\s+Run the TelemetryStack controller/);
    const help = await run(['operator', '--help']);
    for (const flag of ['--kubeconfig', '--namespace', '--metrics-port', '--leader-elect', '--clickhouse-url']) expect(help.stdout).toContain(flag);
  });

  it('fails clearly, never falling back to localhost:8080, when there is no configuration', async () => {
    const result = await run(['operator'], { env: { HOME: dir } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no Kubernetes configuration found');
    expect(result.stderr).toContain('--kubeconfig');
    expect(result.stderr).not.toContain('localhost:8080');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('names a missing or unusable kubeconfig file', async () => {
    const missing = await run(['operator', '--kubeconfig', join(dir, 'nope')], { env: {} });
    expect(missing.stderr).toContain(`${join(dir, 'nope')} (--kubeconfig) does not exist`);
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    const noContext = await run(['operator'], { env: { KUBECONFIG: empty } });
    expect(noContext.code).toBe(1);
    expect(noContext.stderr).toContain('($KUBECONFIG) has no current context');
  });

  it('rejects bad flag values in one line that names the fix', async () => {
    const port = await run(['operator', '--metrics-port', 'eighty'], { env: {} });
    expect(port.code).toBe(2);
    expect(port.stderr).toBe('telemetry-stack: operator: --metrics-port must be a port number (0 picks a free one), got "eighty"\n');
    const url = await run(['operator', '--clickhouse-url', 'clickhouse:8123'], { env: {} });
    expect(url.stderr).toContain('--clickhouse-url must be an http(s) URL');
    const namespace = await run(['operator', '--namespace', 'team-a,Team_B'], { env: {} });
    expect(namespace.code).toBe(2);
    expect(namespace.stderr).toContain('--namespace: "Team_B" is not a namespace name');
    const shutdown = await run(['operator', '--shutdown-timeout', 'soon'], { env: {} });
    expect(shutdown.stderr).toBe('telemetry-stack: operator: --shutdown-timeout soon: not a duration; write a number and a unit, e.g. 30s, 10m, 2h, 7d or 1h30m\n');
    const bare = await run(['operator', '--resync', '300'], { env: {} });
    expect(bare.stderr).toBe('telemetry-stack: operator: --resync 300: a duration needs a unit: 300s, 300m, 300h or 300d\n');
    const level = await run(['operator', '--log-level', 'verbose'], { env: {} });
    expect(level.stderr).toBe('telemetry-stack: operator: --log-level verbose is not one of debug, info, warn, error\n');
  });

  it('uses the pod service account only in a pod', () => {
    const account = join(dir, 'sa');
    expect(() => loadKubeConfig({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' }, serviceAccountDir: account, home: dir })).toThrow(KubeConfigError);
  });
});

describe('JSON logs', () => {
  it('write one JSON object per line and blank anything that looks like a credential', () => {
    const lines: string[] = [];
    const log = jsonLogger((line) => lines.push(line), { now: () => new Date('2026-01-01T00:00:00Z') }).child({ stack: 'ns/a' });
    log.info('applied', { password: 'hunter2', nested: { authorization: 'Basic abc', data: { key: 'v' } }, count: 3 });
    log.debug('hidden at info');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!);
    expect(record).toEqual({ time: '2026-01-01T00:00:00.000Z', level: 'info', msg: 'applied', stack: 'ns/a', password: '[redacted]', nested: { authorization: '[redacted]', data: '[redacted]' }, count: 3 });
    expect(lines[0]).not.toContain('hunter2');
  });
});
