/**
 * The operator image's contents, built from the Dockerfile without Docker (none on these
 * machines; test/support/dockerfile.ts runs its stages in directories). This catches what the
 * static checks in install-manifests.test.ts cannot: a runtime import of a dev dependency, a
 * file read at run time that no COPY brings, a compile that does not run on Node. The image's
 * operator then reconciles a stack on a real API server. Not covered here: the base image's OS
 * and running as USER 1000 (e2e-kind.sh, with Docker, does those).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../scripts/generate.ts';
import { stackNames } from '../src/stack/naming.ts';
import { OPERATOR_UID } from '../src/charts/install/install-chart.ts';
import { buildDockerfile, type DockerfileBuild } from './support/dockerfile.ts';
import { eventually, startCluster, type TestCluster } from '../harness/cluster.ts';
import { applyCrd, applyStack, clientFor, condition, createNamespace, getStack, ownedObjects, startChildOperator } from '../harness/operator.ts';

const TEAM = 'image-team';
const STACK = 'telemetry';
const workdir = mkdtempSync(join(tmpdir(), 'tstack-image-'));
let image: DockerfileBuild;
let cluster: TestCluster;
const buildLog: string[] = [];

/** The image's ENTRYPOINT on this process's Node (whose major the first test checks), then `args` in place of CMD. */
function imageCommand(args: string[]): string[] {
  const [program, ...rest] = image.entrypoint;
  if (program !== 'node') throw new Error(`the image's ENTRYPOINT starts with ${program}, not node`);
  return [process.execPath, ...rest, ...args];
}

function runImage(args: string[]) {
  const [program, ...rest] = imageCommand(args);
  const result = spawnSync(program!, rest, { cwd: image.hostPath('.'), encoding: 'utf8', env: { ...process.env, ...image.final.env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function runSource(args: string[]) {
  const result = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  const started = Date.now();
  const clusterReady = startCluster();
  try {
    image = buildDockerfile({ dockerfile: join(REPO_ROOT, 'Dockerfile'), context: REPO_ROOT, into: workdir, log: (line) => buildLog.push(line) });
  } catch (error) {
    await (await clusterReady).stop();
    throw new Error(`the Dockerfile's build failed: ${(error as Error).message}\n${buildLog.slice(-30).join('\n')}`);
  }
  console.log(`[image] built ${image.stages.length} stages in ${Date.now() - started} ms`);
  cluster = await clusterReady;
}, 600_000);

afterAll(async () => {
  await cluster?.stop();
  rmSync(workdir, { recursive: true, force: true });
}, 120_000);

describe('the operator image, built from the Dockerfile', () => {
  it('is built on the Node major this test runs on, and its last stage declares the non-root user and `operator`', () => {
    const majors = new Set(image.stages.map((stage) => /^node:(\d+)\./.exec(stage.from)?.[1]));
    expect([...majors]).toEqual([process.versions.node.split('.')[0]]);
    expect(image.final.user).toBe(`${OPERATOR_UID}:${OPERATOR_UID}`);
    expect(image.final.cmd).toEqual(['operator']);
    expect(image.final.expose).toEqual([8080]);
  });

  it('holds the production dependencies and nothing from the dev side or the embedded engine', () => {
    // The lock file marks what only the dev side needs ("dev") and what is optional ("optional").
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }> };
    const installed = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
    const present = (path: string) => existsSync(join(image.hostPath('.'), path, 'package.json'));
    const runtime = installed.filter(([, entry]) => !entry.dev && !entry.optional && !entry.devOptional).map(([path]) => path);
    const devOnly = installed.filter(([, entry]) => entry.dev).map(([path]) => path);
    expect(runtime.length).toBeGreaterThan(10);
    expect(devOnly.length).toBeGreaterThan(10);
    expect(runtime.filter((path) => !present(path))).toEqual([]);
    expect(devOnly.filter(present)).toEqual([]);
    expect(present('node_modules/typescript') || present('node_modules/vitest')).toBe(false);
    const modules = image.hostPath('node_modules');
    expect(existsSync(join(modules, '@chdb')) ? readdirSync(join(modules, '@chdb')) : []).toEqual([]);
    // No sources or tests: the compiled JavaScript and the files read at run time.
    expect(readdirSync(image.hostPath('.')).sort()).toEqual(['build', 'crds', 'node_modules', 'package-lock.json', 'package.json', 'queries']);
    expect(existsSync(image.hostPath('build/cli/main.js'))).toBe(true);
  });

  it('prints what the source prints: help, and a stack with Grafana (its dashboards are read from queries/)', () => {
    const help = runImage(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe(runSource(['--help']).stdout);
    const args = ['synth', '-f', join(REPO_ROOT, 'examples', 'team.yaml'), '--set', 'grafana.enabled=true'];
    const fromImage = runImage(args);
    expect(fromImage.stderr).toBe('');
    expect(fromImage.status).toBe(0);
    expect(fromImage.stdout).toContain('kind: ConfigMap');
    expect(fromImage.stdout).toContain('grafana');
    expect(fromImage.stdout).toBe(runSource(args).stdout);
  });

  it('report --data, which needs the embedded engine the image leaves out, says so and what to do, without a stack trace', () => {
    const result = runImage(['report', 'cost-by-user', '--data', join(REPO_ROOT, 'examples', 'sample-export')]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^telemetry-stack: report: --data reads an export with the embedded ClickHouse engine .* cannot be loaded here: .*chdb.*\. Install the CLI with its optional dependencies .*telemetry-stack report NAME --user YOU\n$/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('runs `operator`: reconciles a stack on a real API server, writes its status, and exits 0 on SIGTERM', async () => {
    const admin = clientFor(cluster.kubeConfig);
    await applyCrd(admin);
    await createNamespace(admin, TEAM);
    const operator = await startChildOperator(cluster.kubeconfigPath, ['--namespace', TEAM], { argv: imageCommand(image.final.cmd), cwd: image.hostPath('.') });
    try {
      await applyStack(admin, TEAM, STACK, { grafana: { enabled: true } });
      const stack = await eventually('status for the current generation', async () => {
        const current = await getStack(admin, TEAM, STACK);
        return current.status?.observedGeneration === current.metadata.generation && condition(current, 'ClickHouseReady') ? current : undefined;
      });
      // No controllers run in this cluster, so no pod ever becomes ready: the stack waits for them.
      expect(condition(stack, 'Ready')).toMatchObject({ status: 'False', reason: 'ComponentsNotReady' });
      expect(condition(stack, 'Degraded')?.status).toBe('False');
      const owned = await ownedObjects(admin, TEAM, STACK);
      const names = stackNames(STACK);
      const kinds = [...owned.keys()];
      expect(kinds).toContain(`StatefulSet/${names.clickhouse}`);
      expect(kinds.filter((kind) => kind.startsWith('ConfigMap/')).length).toBeGreaterThan(1);
      expect(kinds.some((kind) => kind.startsWith('Deployment/') && kind.includes('grafana'))).toBe(true);
    } finally {
      expect(await operator.stop('SIGTERM')).toBe(0);
    }
    expect(operator.output()).not.toMatch(/"level":"error"/);
  });
});
