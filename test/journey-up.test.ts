/**
 * `up` and `down`: docker and kind are scripted (no Docker engine here; test/e2e-kind.sh
 * runs them for real); everything that talks to Kubernetes runs against the real
 * kube-apiserver of the test harness. The operator's part (writing status) is played by
 * the test, so that waiting and progress are exercised without the operator.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDownCommand } from '../src/cli/down-command.ts';
import type { CommandDeps } from '../src/cli/deps.ts';
import { connect, type Kube } from '../src/cli/cluster/connection.ts';
import { projectFiles, readInstallManifest } from '../src/cli/local/project.ts';
import { ResourcePaths } from '../src/cli/cluster/apply.ts';
import { stackPath } from '../src/cli/cluster/stacks.ts';
import { makeUpCommand } from '../src/cli/up-command.ts';
import { startCluster, type TestCluster } from '../harness/cluster.ts';
import { kubeconfigWithContext, runCommand, ScriptedRunner } from './support/journey.ts';
import { ROOT } from '../harness/stacks.ts';

let cluster: TestCluster;
let admin: Kube;
/** The Dockerfile comes with the operator's packaging; docker is scripted here, so any file will do. */
const dockerfile = join(mkdtempSync(join(tmpdir(), 'tstack-docker-')), 'Dockerfile');
writeFileSync(dockerfile, 'FROM scratch\n');

beforeAll(async () => {
  cluster = await startCluster();
  admin = await connect({ KUBECONFIG: cluster.kubeconfigPath });
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
});

function deps(runner: ScriptedRunner, overrides: Partial<CommandDeps> = {}): CommandDeps {
  return {
    runner: () => runner,
    connect: (env, options) => connect(env, options),
    files: { ...projectFiles(ROOT), dockerfile },
    portFree: async () => true,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => new Date(),
    pollMs: 50,
    ...overrides,
  };
}

const condition = (type: string, status: string, reason: string, message: string) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  observedGeneration: 1,
});

/** Plays the operator: once the stack exists, reports progress, then Ready. */
async function playOperator(namespace: string, name: string): Promise<void> {
  const path = stackPath(namespace, name);
  for (let i = 0; i < 400; i++) {
    if ((await admin.request('GET', path)).status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const patch = async (conditions: object[]) => {
    const response = await admin.request('PATCH', `${path}/status`, {
      body: { status: { observedGeneration: 1, conditions } },
      contentType: 'application/merge-patch+json',
    });
    expect(response.status).toBe(200);
  };
  await patch([condition('Ready', 'False', 'ClickHouseStarting', 'waiting for StatefulSet local-clickhouse (0/1 ready)'), condition('Progressing', 'True', 'Applying', 'applied 14 objects')]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await patch([condition('Ready', 'True', 'AllComponentsReady', 'collector and ClickHouse are ready'), condition('Progressing', 'False', 'Reconciled', 'nothing to do')]);
}

describe('telemetry-stack up (kind path: docker and kind scripted, Kubernetes real)', () => {
  it('checks prerequisites, creates the cluster, builds and loads the image, installs, applies, waits for Ready and prints the next two steps', async () => {
    const runner = new ScriptedRunner(['docker', 'kind'], {
      'docker info': { stdout: `${8 * 1024 ** 3}\n` },
      'kind get clusters': { stdout: 'No kind clusters found.\n' },
    });
    const env = { KUBECONFIG: kubeconfigWithContext(cluster.kubeconfigPath, 'kind-tstack') };
    const [result] = await Promise.all([
      runCommand(makeUpCommand(deps(runner)), ['--cluster', 'tstack'], env),
      playOperator('telemetry', 'local'),
    ]);
    expect(result.stderr).not.toMatch(/^telemetry-stack: /m);
    expect(result.code).toBe(0);
    expect(runner.lines()).toEqual([
      'docker info --format {{.MemTotal}}',
      'kind get clusters',
      'kind create cluster --name tstack --config <root>/kind/cluster.yaml --wait 120s',
      `docker build -t ghcr.io/telemetry-stack/telemetry-stack:0.1.0 -f ${dockerfile} <root>`,
      'kind load docker-image ghcr.io/telemetry-stack/telemetry-stack:0.1.0 --name tstack',
    ]);
    // Progress in words, in order, then the next two things to do.
    expect(result.stderr).toMatch(/Ready=False ClickHouseStarting: waiting for StatefulSet[\s\S]*Ready=True AllComponentsReady/);
    // Next steps are a message (stderr): stdout stays for data.
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('eval "$(telemetry-stack env --user me -n telemetry --stack local)"');
    expect(result.stderr).toContain('telemetry-stack doctor -n telemetry --stack local');

    // What the cluster now holds: the CRD, the operator on the loaded image (never pulled), the stack as written.
    const deployment = (await admin.request<any>('GET', '/apis/apps/v1/namespaces/telemetry-stack-system/deployments/telemetry-stack-operator')).body;
    expect(deployment.spec.template.spec.containers[0]).toMatchObject({ image: 'ghcr.io/telemetry-stack/telemetry-stack:0.1.0', imagePullPolicy: 'IfNotPresent' });
    // Every object of dist/install.yaml is in the cluster.
    for (const object of readInstallManifest(projectFiles(ROOT).installManifest)) {
      const path = await new ResourcePaths(admin).path(object);
      expect((await admin.request('GET', path)).status, `${object.kind}/${object.metadata.name}`).toBe(200);
    }
    const stack = (await admin.request<any>('GET', stackPath('telemetry', 'local'))).body;
    expect(stack.spec.access.users).toEqual([{ name: 'me', role: 'admin' }]);
    expect(stack.metadata.managedFields.some((f: { manager: string; operation: string }) => f.manager === 'telemetry-stack-cli' && f.operation === 'Apply')).toBe(true);
  });

  it('a second up reuses the kind cluster and re-applies idempotently', async () => {
    const runner = new ScriptedRunner(['docker', 'kind'], { 'kind get clusters': { stdout: 'tstack\n' } });
    const env = { KUBECONFIG: kubeconfigWithContext(cluster.kubeconfigPath, 'kind-tstack') };
    const result = await runCommand(makeUpCommand(deps(runner)), ['--cluster', 'tstack', '--timeout', '5s'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('kind cluster "tstack" exists: reusing it');
    expect(runner.lines().some((line) => line.startsWith('kind create'))).toBe(false);
  });

  it('missing Docker and kind are both named with how to get them, before anything runs', async () => {
    const runner = new ScriptedRunner([]);
    let connected = false;
    const result = await runCommand(makeUpCommand(deps(runner, { connect: async () => ((connected = true), admin) })), [], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Docker is not installed (no "docker" on PATH)');
    expect(result.stderr).toContain('https://docs.docker.com/get-docker/');
    expect(result.stderr).toContain('kind is not installed (no "kind" on PATH)');
    expect(result.stderr).toContain('go install sigs.k8s.io/kind@latest');
    expect(result.stderr).toContain('telemetry-stack up --context CTX');
    expect(runner.calls).toEqual([]);
    expect(connected).toBe(false);
  });

  it('a stopped Docker daemon, low Docker memory and a busy host port are explained', async () => {
    const stopped = new ScriptedRunner(['docker', 'kind'], { 'docker info': { code: 1, stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n' } });
    const down = await runCommand(makeUpCommand(deps(stopped)), [], {});
    expect(down.stderr).toContain('Docker is installed but its daemon does not answer');
    expect(down.stderr).toContain('Cannot connect to the Docker daemon');

    const busy = new ScriptedRunner(['docker', 'kind'], { 'docker info': { stdout: `${2 * 1024 ** 3}` }, 'kind get clusters': { stdout: '' } });
    const conflict = await runCommand(makeUpCommand(deps(busy, { portFree: async (port) => port !== 30318 })), [], {});
    expect(conflict.stderr).toContain('warning: Docker has 2.0 GiB of memory');
    expect(conflict.stderr).toContain('host port 30318 is already in use');
    expect(conflict.stderr).toContain('lsof -i :30318');
    expect(busy.lines().some((line) => line.startsWith('kind create'))).toBe(false);
  });

  it('a failing kind create or docker build stops with the tool\'s own first line', async () => {
    const runner = new ScriptedRunner(['docker', 'kind'], { 'kind create': { code: 1, stderr: 'ERROR: failed to create cluster: node(s) already exist for a cluster with the name "x"' } });
    const result = await runCommand(makeUpCommand(deps(runner)), ['--cluster', 'x'], {});
    expect(result.stderr).toContain('"kind create cluster" failed: ERROR: failed to create cluster');
    expect(result.stderr).toContain('telemetry-stack down --cluster x');
    const build = new ScriptedRunner(['docker', 'kind'], { 'docker build': { code: 1, stderr: 'failed to solve: node:24: not found' } });
    expect((await runCommand(makeUpCommand(deps(build)), [], {})).stderr).toContain('"docker build" of the operator image failed: failed to solve');
  });
});

describe('telemetry-stack up --context (an existing cluster)', () => {
  it('runs no docker or kind at all and times out with the conditions and a pointer to doctor when the stack never gets Ready', async () => {
    const runner = new ScriptedRunner(['docker', 'kind']);
    const stackFile = join(ROOT, 'examples/team.yaml');
    const result = await runCommand(makeUpCommand(deps(runner)), ['--context', 'tstack-test', '-f', stackFile, '--timeout', '1s'], { KUBECONFIG: cluster.kubeconfigPath });
    expect(runner.calls).toEqual([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/TelemetryStack \S+ is not Ready after \d+s: it has no status yet, so the operator has not reconciled it/);
    expect(result.stderr).toContain('telemetry-stack doctor');
  });

  it('stops waiting, with the condition\'s message, when the operator needs a person (here: a shorter retention to confirm)', async () => {
    const stackFile = join(ROOT, 'examples/team.yaml');
    const message = 'retention.eventsDays 90 -> 30 days (otel_logs) would delete ... To go ahead: kubectl annotate telemetrystack platform-team -n telemetry telemetrystack.io/shorten-retention=eventsDays=30 --overwrite';
    const blockOnce = async () => {
      const path = stackPath('telemetry', 'platform-team');
      let generation = 0;
      for (let i = 0; i < 400 && generation === 0; i++) {
        const response = await admin.request<{ metadata: { generation: number } }>('GET', path);
        if (response.status === 200) generation = response.body.metadata.generation;
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await admin.request('PATCH', `${path}/status`, {
        body: { status: { observedGeneration: generation, conditions: [{ ...condition('ClickHouseReady', 'False', 'RetentionShorteningUnconfirmed', message), observedGeneration: generation }] } },
        contentType: 'application/merge-patch+json',
      });
    };
    const started = Date.now();
    const [result] = await Promise.all([
      runCommand(makeUpCommand(deps(new ScriptedRunner(['docker', 'kind']))), ['--context', 'tstack-test', '-f', stackFile, '--timeout', '60s'], { KUBECONFIG: cluster.kubeconfigPath }),
      blockOnce(),
    ]);
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(result.stderr).toContain(`will not become Ready until you act: ClickHouseReady: no (RetentionShorteningUnconfirmed) since`);
    expect(result.stderr).toContain(message);
  });

  it('an unreachable cluster and an invalid stack file are reported before anything changes', async () => {
    const unreachable = await runCommand(makeUpCommand(deps(new ScriptedRunner([]))), ['--context', 'nope'], { KUBECONFIG: cluster.kubeconfigPath });
    expect(unreachable.stderr).toContain('kubeconfig has no context "nope"; known contexts: tstack-test');

    const bad = join(ROOT, 'package.json');
    const invalid = await runCommand(makeUpCommand(deps(new ScriptedRunner([]))), ['--context', 'tstack-test', '-f', bad], { KUBECONFIG: cluster.kubeconfigPath });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('invalid TelemetryStack');
  });
});

describe('telemetry-stack down', () => {
  it('deletes the kind cluster, and says so when there is none', async () => {
    const runner = new ScriptedRunner(['kind'], { 'kind get clusters': { stdout: 'tstack\n' } });
    const result = await runCommand(makeDownCommand(deps(runner)), ['--cluster', 'tstack'], {});
    expect(result.code).toBe(0);
    expect(runner.lines()).toEqual(['kind get clusters', 'kind delete cluster --name tstack']);
    const none = new ScriptedRunner(['kind'], { 'kind get clusters': { stdout: '' } });
    expect((await runCommand(makeDownCommand(deps(none)), ['--cluster', 'tstack'], {})).stderr).toContain('no kind cluster "tstack": nothing to delete');
    expect((await runCommand(makeDownCommand(deps(new ScriptedRunner([]))), [], {})).stderr).toContain('kind is not installed');
  });

  it('with --context deletes the stack from the real cluster; a second run finds nothing', async () => {
    const env = { KUBECONFIG: cluster.kubeconfigPath };
    expect((await admin.request('GET', stackPath('telemetry', 'local'))).status).toBe(200);
    const result = await runCommand(makeDownCommand(deps(new ScriptedRunner([]))), ['--context', 'tstack-test'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('deleted TelemetryStack telemetry/local');
    expect((await admin.request('GET', stackPath('telemetry', 'local'))).status).toBe(404);
    expect((await runCommand(makeDownCommand(deps(new ScriptedRunner([]))), ['--context', 'tstack-test'], env)).stderr).toContain('nothing to delete');
  });
});

describe('a namespaced install on an existing cluster (up --watch-namespace, down --uninstall)', () => {
  const env = () => ({ KUBECONFIG: cluster.kubeconfigPath });
  const rbac = (plural: string, namespace?: string) => `/apis/rbac.authorization.k8s.io/v1/${namespace ? `namespaces/${namespace}/` : ''}${plural}`;
  const stackFile = join(mkdtempSync(join(tmpdir(), 'tstack-ns-')), 'stack.yaml');
  writeFileSync(stackFile, 'apiVersion: telemetrystack.io/v1alpha1\nkind: TelemetryStack\nmetadata:\n  name: scoped\n  namespace: team-x\nspec: {}\n');

  it('refuses watched namespaces that leave out the stack\'s own, before anything changes', async () => {
    const result = await runCommand(makeUpCommand(deps(new ScriptedRunner([]))), ['--context', 'tstack-test', '-f', stackFile, '--watch-namespace', 'team-y'], env());
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('telemetry-stack: --watch-namespace: the stack\'s namespace "team-x" is not among team-y, so the operator would never see it.\nFix: add --watch-namespace team-x.\n');
    expect((await admin.request('GET', '/api/v1/namespaces/team-y')).status).toBe(404);
  });

  it('installs Roles in the watched namespaces and removes the cluster-wide grant of an earlier install', async () => {
    // An earlier cluster-wide install (what dist/install-cluster-wide.yaml holds).
    const paths = new ResourcePaths(admin);
    for (const object of readInstallManifest(projectFiles(ROOT).clusterWideInstallManifest).filter((candidate) => candidate.kind.startsWith('Cluster'))) {
      expect((await admin.request('PATCH', `${await paths.path(object)}?fieldManager=test`, { body: object, contentType: 'application/apply-patch+yaml' })).status).toBeLessThan(300);
    }
    expect((await admin.request('GET', `${rbac('clusterroles')}/telemetry-stack-operator`)).status).toBe(200);
    const [result] = await Promise.all([
      runCommand(makeUpCommand(deps(new ScriptedRunner(['docker', 'kind']))), ['--context', 'tstack-test', '-f', stackFile, '--watch-namespace', 'team-x', '--watch-namespace', 'team-z', '--timeout', '30s'], env()),
      playOperator('team-x', 'scoped'),
    ]);
    expect(result.stderr).toContain('the operator watches only namespace(s) team-x, team-z');
    expect(result.stderr).toContain("removed the earlier install's ClusterRole telemetry-stack-operator, ClusterRoleBinding telemetry-stack-operator");
    expect(result.code).toBe(0);
    for (const plural of ['clusterroles', 'clusterrolebindings']) expect((await admin.request('GET', `${rbac(plural)}/telemetry-stack-operator`)).status).toBe(404);
    for (const namespace of ['team-x', 'team-z']) {
      for (const plural of ['roles', 'rolebindings']) expect((await admin.request('GET', `${rbac(plural, namespace)}/telemetry-stack-operator-stacks`)).status, `${plural} in ${namespace}`).toBe(200);
    }
    const deployment = await admin.request<{ spec: { template: { spec: { containers: { args: string[] }[] } } } }>('GET', '/apis/apps/v1/namespaces/telemetry-stack-system/deployments/telemetry-stack-operator');
    expect(deployment.body.spec.template.spec.containers[0]!.args).toContain('--namespace=team-x,team-z');
  });

  it('down --uninstall removes the watched namespaces\' Roles too, and nothing the operator made for a stack', async () => {
    // A per-user Role the operator makes for a stack carries the stack's labels, not the install's.
    const userRole = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'scoped-alice', namespace: 'team-x', labels: { 'app.kubernetes.io/name': 'telemetry-stack', 'app.kubernetes.io/component': 'access' } }, rules: [] };
    expect((await admin.client.request('POST', rbac('roles', 'team-x'), { body: userRole })).metadata.name).toBe('scoped-alice');
    const result = await runCommand(makeDownCommand(deps(new ScriptedRunner([]))), ['--context', 'tstack-test', '-f', stackFile, '--uninstall'], env());
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('deleted TelemetryStack team-x/scoped');
    expect(result.stderr).toMatch(/removed the operator \(\d+ objects of .*install\.yaml, and RoleBinding team-x\/telemetry-stack-operator-stacks, RoleBinding team-z\/telemetry-stack-operator-stacks, Role team-x\/telemetry-stack-operator-stacks, Role team-z\/telemetry-stack-operator-stacks\)/);
    for (const namespace of ['team-x', 'team-z']) expect((await admin.request('GET', `${rbac('roles', namespace)}/telemetry-stack-operator-stacks`)).status).toBe(404);
    expect((await admin.request('GET', `${rbac('roles', 'team-x')}/scoped-alice`)).status).toBe(200);
    expect((await admin.request('GET', '/apis/apps/v1/namespaces/telemetry-stack-system/deployments/telemetry-stack-operator')).status).toBe(404);
  });
});
