/**
 * `status` and `doctor` against the real kube-apiserver: the CRD, the stack, a Deployment,
 * Pods and Secrets are real objects; their statuses are written by the test where a
 * controller or kubelet would (the harness runs only etcd and the API server here). The
 * clock-skew check uses the scripted API server, the only way to send a wrong Date header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecrets } from '../src/stack/secrets.ts';
import { operatorInstallObjects } from '../src/charts/install/install-chart.ts';
import { makeDoctorCommand } from '../src/cli/doctor-command.ts';
import type { KubeObject } from '../src/kube/client.ts';
import { ResourcePaths, applyObject } from '../src/cli/cluster/apply.ts';
import type { CommandDeps } from '../src/cli/deps.ts';
import type { StackData } from '../src/cli/cluster/stack-data.ts';
import { applyStack, installOperator, loadStackToApply } from '../src/cli/cluster/install.ts';
import { connect, type Kube } from '../src/cli/cluster/connection.ts';
import { projectFiles, readInstallManifest } from '../src/cli/local/project.ts';
import { stackPath } from '../src/cli/cluster/stacks.ts';
import { makeStatusCommand } from '../src/cli/status-command.ts';
import { startCluster, type TestCluster } from '../harness/cluster.ts';
import { startFakeApiServer } from './support/fake-apiserver.ts';
import { runCommand } from './support/journey.ts';
import { ROOT, stackFrom } from '../harness/stacks.ts';
import { join } from 'node:path';

let cluster: TestCluster;
let admin: Kube;
let env: NodeJS.ProcessEnv;
const silent = { stdin: process.stdin, stdout: { write: () => true }, stderr: { write: () => true }, env: {} };

function deps(overrides: Partial<CommandDeps & { openData: NonNullable<Parameters<typeof makeDoctorCommand>[0]['openData']> }> = {}) {
  return {
    runner: () => {
      throw new Error('status and doctor run no programs');
    },
    connect: (e: NodeJS.ProcessEnv, o: { context?: string | undefined }) => connect(e, o),
    files: projectFiles(ROOT),
    portFree: async () => true,
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    now: () => new Date(),
    pollMs: 50,
    ...overrides,
  };
}

const condition = (type: string, status: string, reason: string, message: string, observedGeneration = 1) => ({
  type,
  status,
  reason,
  message,
  observedGeneration,
  lastTransitionTime: new Date(Date.now() - 180_000).toISOString().replace(/\.\d+Z$/, 'Z'),
});

async function setStatus(status: object): Promise<void> {
  const response = await admin.request('PATCH', `${stackPath('telemetry', 'local')}/status`, { body: { status }, contentType: 'application/merge-patch+json' });
  expect(response.status).toBe(200);
}

beforeAll(async () => {
  cluster = await startCluster();
  env = { KUBECONFIG: cluster.kubeconfigPath };
  admin = await connect(env);
  const paths = new ResourcePaths(admin);
  await installOperator(admin, paths, readInstallManifest(projectFiles(ROOT).clusterWideInstallManifest), silent, { sleep: (ms) => new Promise((r) => setTimeout(r, ms)), pollMs: 50, timeoutMs: 30_000 });
  await applyStack(admin, paths, loadStackToApply(join(ROOT, 'examples/local.yaml')), silent);
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('telemetry-stack status', () => {
  it('says when the operator has not written any status', async () => {
    const result = await runCommand(makeStatusCommand(deps()), ['-n', 'telemetry', 'local'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('TelemetryStack telemetry/local: not Ready');
    expect(result.stdout).toContain('no status yet: the operator has not reconciled this stack');
  });

  it('prints Ready first, then the other conditions, endpoints and users, and exits 0', async () => {
    await setStatus({
      observedGeneration: 1,
      conditions: [
        condition('Progressing', 'False', 'Reconciled', 'nothing to do'),
        condition('CollectorReady', 'True', 'Available', '1/1 replicas ready'),
        condition('Ready', 'True', 'AllComponentsReady', 'collector and ClickHouse are ready'),
      ],
      endpoints: { otlpHttp: 'http://local-collector.telemetry.svc:4318' },
      users: 1,
      appliedRetention: { eventsDays: 30, metricsDays: 90, rollupsDays: 365 },
    });
    const result = await runCommand(makeStatusCommand(deps()), [], env);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('TelemetryStack telemetry/local: Ready');
    expect(lines[1]).toBe('  Ready: yes (AllComponentsReady) since 3m ago: collector and ClickHouse are ready');
    expect(lines[2]).toContain('Progressing: no (Reconciled)');
    expect(lines[3]).toContain('CollectorReady: yes (Available)');
    expect(result.stdout).toContain('endpoints: OTLP HTTP http://local-collector.telemetry.svc:4318');
    expect(result.stdout).toContain('1 user(s): me (admin)');
    expect(result.stdout).toContain('retention in force: events 30d, metrics 90d, rollups 365d');
  });

  it('a Ready from before the latest edit does not count', async () => {
    const response = await admin.request('PATCH', stackPath('telemetry', 'local'), { body: { spec: { retention: { eventsDays: 31 } } }, contentType: 'application/merge-patch+json' });
    expect(response.status).toBe(200);
    const result = await runCommand(makeStatusCommand(deps()), ['local'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('not Ready');
    expect(result.stdout).toContain('the operator has not acted on the latest edit yet (generation 2, last reconciled 1)');
    await setStatus({ observedGeneration: 2, conditions: [condition('Ready', 'True', 'AllComponentsReady', 'ok', 2)] });
    expect((await runCommand(makeStatusCommand(deps()), ['local'], env)).code).toBe(0);
  });

  it('a stack that does not exist lists those that do', async () => {
    const result = await runCommand(makeStatusCommand(deps()), ['-n', 'telemetry', 'nope'], env);
    expect(result.stderr).toContain('no TelemetryStack named "nope" in namespace "telemetry"');
    expect(result.stderr).toContain('stacks there: telemetry/local');
  });
});

describe('telemetry-stack doctor', () => {
  it('reports each failing check with its fix: operator not available, pod OOM-killed, credentials missing; data checks skipped without a data leg', async () => {
    // A stack pod as a kubelet would report it after an OOM kill.
    const paths = new ResourcePaths(admin);
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'local-clickhouse-0', namespace: 'telemetry', labels: { 'telemetrystack.io/stack': 'local' } },
      spec: { containers: [{ name: 'clickhouse', image: 'clickhouse/clickhouse-server:26.3' }] },
    };
    await applyObject(admin, paths, pod);
    const patched = await admin.request('PATCH', '/api/v1/namespaces/telemetry/pods/local-clickhouse-0/status', {
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'False' }],
          containerStatuses: [
            { name: 'clickhouse', image: 'clickhouse/clickhouse-server:26.3', imageID: '', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } },
          ],
        },
      },
    });
    expect(patched.status).toBe(200);

    const result = await runCommand(makeDoctorCommand(deps()), ['-n', 'telemetry', 'local'], env);
    expect(result.code).toBe(1);
    const out = result.stdout;
    expect(out).toMatch(/\[ok\]\s+cluster\s+https:\/\/127\.0\.0\.1:\d+ \(context "tstack-test", Kubernetes v1\.34\.1\)/);
    expect(out).toMatch(/\[ok\]\s+clock\s+this machine and the API server agree/);
    expect(out).toMatch(/\[ok\]\s+CRD\s+telemetrystacks\.telemetrystack\.io is installed/);
    expect(out).toMatch(/\[FAIL\] operator\s+Deployment telemetry-stack-system\/telemetry-stack-operator: 0\/2 available/);
    expect(out).toMatch(/\[ok\]\s+stack Ready/);
    expect(out).toMatch(/\[FAIL\] pods\s+local-clickhouse-0\/clickhouse was OOM-killed \(4 restarts\)/);
    expect(out).toContain('fix: raise its resources.limits.memory');
    expect(out).toMatch(/\[FAIL\] credentials\s+no credential Secret yet for me/);
    expect(out).toMatch(/\[skip\] events arriving\s+no way to query the stack's ClickHouse was given/);
    expect(out).toContain('3 check(s) failed');
  });

  it('a namespaced install that does not watch the stack\'s namespace is named, with the reinstall that fixes it', async () => {
    const path = '/apis/apps/v1/namespaces/telemetry-stack-system/deployments/telemetry-stack-operator';
    const original = (await admin.request<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>('GET', path)).body.spec.template.spec.containers[0]!.args;
    const setArgs = async (args: string[]) => {
      const response = await admin.request('PATCH', path, { body: { spec: { template: { spec: { containers: [{ name: 'operator', args }] } } } }, contentType: 'application/strategic-merge-patch+json' });
      expect(response.status).toBe(200);
    };
    try {
      await setArgs([...original, '--namespace=team-q']);
      const outside = (await runCommand(makeDoctorCommand(deps()), ['-n', 'telemetry', 'local'], env)).stdout;
      expect(outside).toMatch(/\[FAIL\] operator scope\s+the operator watches only namespace\(s\) team-q, not telemetry: it cannot see this stack\n/);
      expect(outside).toContain(`fix: reinstall it with this namespace added: "telemetry-stack up --context CTX -f STACK.yaml --watch-namespace team-q --watch-namespace telemetry" (Helm: --set watchNamespaces='{team-q,telemetry}')`);
      await setArgs([...original, '--namespace', 'team-q,telemetry']);
      const inside = (await runCommand(makeDoctorCommand(deps()), ['-n', 'telemetry', 'local'], env)).stdout;
      expect(inside).toMatch(/\[ok\]\s+operator scope\s+the operator watches team-q, telemetry\n/);
    } finally {
      await setArgs(original);
    }
    // A cluster-wide install has no scope line at all.
    expect((await runCommand(makeDoctorCommand(deps()), ['-n', 'telemetry', 'local'], env)).stdout).not.toContain('operator scope');
  });

  it('finds an operator installed in another namespace (a Helm release) by its labels, and says when there is none', async () => {
    const paths = new ResourcePaths(admin);
    const isDeployment = (object: { kind: string }) => object.kind === 'Deployment';
    const standard = readInstallManifest(projectFiles(ROOT).clusterWideInstallManifest).find(isDeployment)!;
    const elsewhere = operatorInstallObjects({ namespace: 'platform' }).find(isDeployment)! as KubeObject;
    await applyObject(admin, paths, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'platform' } });
    const remove = async (object: KubeObject) => expect((await admin.request('DELETE', await paths.path(object))).status).toBeLessThan(300);
    try {
      await applyObject(admin, paths, elsewhere);
      await remove(standard);
      const found = (await runCommand(makeDoctorCommand(deps()), ['-n', 'telemetry', 'local'], env)).stdout;
      expect(found).toMatch(/\[FAIL\] operator\s+Deployment platform\/telemetry-stack-operator: 0\/2 available\n.*fix: "kubectl get pods -n platform"/);
      await remove(elsewhere);
      const none = (await runCommand(makeDoctorCommand(deps()), ['-n', 'telemetry', 'local'], env)).stdout;
      expect(none).toMatch(/\[FAIL\] operator\s+Deployment telemetry-stack-system\/telemetry-stack-operator does not exist, nor any Deployment labelled app\.kubernetes\.io\/name=telemetry-stack-operator,app\.kubernetes\.io\/component=operator\n/);
    } finally {
      await applyObject(admin, paths, standard);
    }
  });

  it('with the data leg plugged in: no recent events fails with the onboarding fix; disk above the cap fails', async () => {
    for (const secret of generateSecrets(stackFrom({ access: { users: [{ name: 'me', role: 'admin' }] } }, 'local', 'telemetry'))) {
      const data = Object.fromEntries(Object.entries(secret.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
      await applyObject(admin, new ResourcePaths(admin), { apiVersion: 'v1', kind: 'Secret', metadata: secret.metadata, type: 'Opaque', data });
    }
    await admin.request('PATCH', stackPath('telemetry', 'local'), { body: { spec: { retention: { maxDiskGiB: 2 } } }, contentType: 'application/merge-patch+json' });
    await setStatus({ observedGeneration: 3, conditions: [condition('Ready', 'True', 'AllComponentsReady', 'ok', 3)] });
    let closed = false;
    let asked: Date | undefined;
    let askedDays: number | undefined;
    const openData = async (): Promise<StackData> => ({
      eventsSince: async (since) => ((asked = since), { count: 0, newest: undefined }),
      diskBytes: async () => 3 * 1024 ** 3,
      unknownFields: async (days) => ((askedDays = days), []),
      close: async () => {
        closed = true;
      },
    });
    const result = await runCommand(makeDoctorCommand(deps({ openData })), ['--since', '30m'], env);
    expect(result.stdout).toMatch(/\[ok\]\s+credentials\s+1 user Secret\(s\) exist/);
    expect(result.stdout).toMatch(/\[FAIL\] events arriving\s+no events in the last 30 minutes/);
    expect(result.stdout).toContain('telemetry-stack env --user NAME -n telemetry --stack local');
    expect(result.stdout).toMatch(/\[FAIL\] disk\s+telemetry tables use 3\.00 GiB, at or above the cap of 2 GiB/);
    expect(Date.now() - asked!.getTime()).toBeGreaterThanOrEqual(30 * 60_000 - 5000);
    expect(result.stdout).toMatch(/\[ok\]\s+unknown fields\s+every event, metric and attribute stored in the last 7 day\(s\) is in the field tables\n/);
    expect(askedDays).toBe(7);
    expect(closed).toBe(true);

    const healthy = async (): Promise<StackData> => ({
      eventsSince: async () => ({ count: 42, newest: new Date() }),
      diskBytes: async () => 1024 ** 3,
      unknownFields: async () => [],
      close: async () => undefined,
    });
    const ok = await runCommand(makeDoctorCommand(deps({ openData: healthy })), [], env);
    expect(ok.stdout).toMatch(/\[ok\]\s+events arriving\s+42 event\(s\) in the last 15 minutes/);
    expect(ok.stdout).toMatch(/\[ok\]\s+disk\s+telemetry tables use 1\.00 GiB of the 2 GiB cap/);
  });

  it('names what a newer Claude Code stored that the field tables do not know, as a warning with the report that lists it all', async () => {
    // The stack, its Secrets and its Ready status are those of the previous test.
    let askedDays: number | undefined;
    const unknown = [
      { kind: 'event', name: 'teleport_started', seen_on: '', records: 3, first_day: '2026-11-29', last_day: '2026-11-30' },
      { kind: 'event attribute', name: 'sparkle_ratio', seen_on: 'api_request', records: 12, first_day: '2026-11-29', last_day: '2026-11-30' },
    ];
    const drifted = async (): Promise<StackData> => ({
      eventsSince: async () => ({ count: 42, newest: new Date() }),
      diskBytes: async () => 1024 ** 3,
      unknownFields: async (days) => ((askedDays = days), unknown),
      close: async () => undefined,
    });
    const result = await runCommand(makeDoctorCommand(deps({ openData: drifted })), ['-n', 'telemetry', 'local', '--fields-days', '3'], env);
    expect(askedDays).toBe(3);
    expect(result.stdout).toMatch(
      /\[warn\] unknown fields\s+2 name\(s\) stored in the last 3 day\(s\) that this telemetry-stack does not know \(a newer Claude Code\?\): event teleport_started; event attribute sparkle_ratio \(on api_request\)\n/,
    );
    expect(result.stdout).toContain('fix: "telemetry-stack report unknown-fields --user NAME -n telemetry --stack local --param days=3" lists them all');
    // A warning: the unknown fields alone do not fail doctor.
    expect(result.stdout).not.toMatch(/\[FAIL\] unknown fields/);

    const failing = async (): Promise<StackData> => ({ ...(await drifted()), unknownFields: async () => Promise.reject(new Error('Unknown table expression identifier claude_code_events')) });
    const broken = await runCommand(makeDoctorCommand(deps({ openData: failing })), ['-n', 'telemetry', 'local'], env);
    expect(broken.stdout).toMatch(/\[ok\]\s+events arriving/);
    expect(broken.stdout).toMatch(/\[warn\] unknown fields\s+the unknown-fields query failed: Unknown table expression identifier claude_code_events\n/);

    const wrong = await runCommand(makeDoctorCommand(deps({ openData: drifted })), ['--fields-days', '0'], env);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--fields-days must be a positive whole number of days, not "0"');
  });

  it('a clock five minutes off fails with how to turn on time synchronisation; a missing CRD stops after the operator check', async () => {
    const api = await startFakeApiServer({
      'GET /version': { body: { gitVersion: 'v1.34.1' }, headers: { Date: new Date(Date.now() + 300_000).toUTCString() } },
    });
    try {
      const result = await runCommand(makeDoctorCommand(deps()), [], { KUBECONFIG: api.kubeconfig });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/\[FAIL\] clock\s+the API server's clock is (29\d|30\d)s ahead of this machine/);
      expect(result.stdout).toContain('timedatectl set-ntp true');
      expect(result.stdout).toMatch(/\[FAIL\] CRD\s+CustomResourceDefinition telemetrystacks\.telemetrystack\.io is not installed/);
      expect(result.stdout).not.toContain('stack Ready');
    } finally {
      await api.close();
    }
  });
});
