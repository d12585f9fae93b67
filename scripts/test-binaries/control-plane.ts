/**
 * Builds the control-plane binaries the real-cluster tests run (as envtest does, from Go
 * modules: this machine has no Docker engine, so kind cannot run), by pinned version, into
 * the test binary cache (cache.ts), and reuses them when present.
 *
 *   node scripts/test-binaries/control-plane.ts          build whatever is missing
 *   node scripts/test-binaries/control-plane.ts --print  print the binary paths, build nothing
 *
 *   kubernetes-<v>/  kube-apiserver kube-controller-manager kube-scheduler
 *   etcd-<v>/        etcd
 *   kwok-<v>/        kwok
 *   helm-<v>/        helm (not the control plane: the Helm chart test renders dist/helm with it)
 *
 * One Go build at a time, under `nice`: the machines have two shared cores.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VERSIONS } from '../../src/versions.ts';
import { buildOnce, componentDir } from './cache.ts';

export const BUILD_COMMAND = 'node scripts/test-binaries/control-plane.ts';

export interface ControlPlaneBinaries {
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly etcd: string;
  readonly kwok: string;
}

const KUBERNETES_COMMANDS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

export function controlPlaneBinaries(env: NodeJS.ProcessEnv = process.env): ControlPlaneBinaries {
  const kubernetes = componentDir('kubernetes', VERSIONS.kubernetes, env);
  return {
    kubeApiserver: join(kubernetes, 'kube-apiserver'),
    kubeControllerManager: join(kubernetes, 'kube-controller-manager'),
    kubeScheduler: join(kubernetes, 'kube-scheduler'),
    etcd: join(componentDir('etcd', VERSIONS.etcd, env), 'etcd'),
    kwok: join(componentDir('kwok', VERSIONS.kwok, env), 'kwok'),
  };
}

export function helmBinary(env: NodeJS.ProcessEnv = process.env): string {
  return join(componentDir('helm', VERSIONS.helm, env), 'helm');
}

/** The binaries not built yet (empty when the cache is complete). */
export function missingBinaries(binaries: ControlPlaneBinaries = controlPlaneBinaries()): string[] {
  return Object.values(binaries).filter((path) => !existsSync(path));
}

function go(args: readonly string[], cwd: string, extraEnv: Record<string, string> = {}): string {
  const started = Date.now();
  console.error(`[control-plane] (${cwd}) go ${args.join(' ')}`);
  const result = spawnSync('nice', ['-n', '10', 'go', ...args], {
    cwd,
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false', ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`go ${args[0]} could not start: ${result.error.message} (is Go installed and on PATH?)`);
  if (result.status !== 0) throw new Error(`go ${args.join(' ')} failed with exit code ${result.status} in ${cwd}`);
  console.error(`[control-plane]   done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return result.stdout;
}

/** A throwaway Go module in a temp dir, removed afterwards (the module cache keeps the downloads). */
function withWrapperModule<T>(name: string, goMod: string, use: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), `tstack-${name}-`));
  try {
    writeFileSync(join(dir, 'go.mod'), goMod);
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * k8s.io/kubernetes replaces its staging modules (k8s.io/api, k8s.io/client-go, ...) with
 * local folders, so `go install ...@v` refuses it. A wrapper module requires it and replaces
 * each staging module with its published v0.<minor>.<patch>. The list is read from
 * kubernetes' own go.mod so that it follows the pinned version.
 */
function stagingModules(version: string): string[] {
  const info = JSON.parse(go(['mod', 'download', '-json', `k8s.io/kubernetes@v${version}`], tmpdir())) as { GoMod: string };
  const goMod = readFileSync(info.GoMod, 'utf8');
  const modules = [...goMod.matchAll(/^\s*(?:replace\s+)?(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\//gm)].map((match) => match[1] as string);
  if (modules.length === 0) throw new Error(`found no staging replace directives in ${info.GoMod}`);
  return modules;
}

function versionLdflags(version: string): string {
  const [major, minor] = version.split('.');
  const flags: string[] = [];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    flags.push(
      `-X ${pkg}.gitVersion=v${version}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return `-s -w ${flags.join(' ')}`;
}

export function buildKubernetes(outDir: string, version: string = VERSIONS.kubernetes): void {
  const stagingVersion = `v0.${version.split('.').slice(1).join('.')}`;
  const replaces = stagingModules(version).map((module) => `replace ${module} => ${module} ${stagingVersion}`);
  const goMod = [
    'module local/tstack-kubernetes',
    '',
    'go 1.24.0',
    '',
    'godebug default=go1.24',
    '',
    `require k8s.io/kubernetes v${version}`,
    '',
    ...replaces,
    '',
    ...KUBERNETES_COMMANDS.map((command) => `tool k8s.io/kubernetes/cmd/${command}`),
    '',
  ].join('\n');
  withWrapperModule('kubernetes', goMod, (dir) => {
    go(['mod', 'tidy'], dir);
    go(['build', '-trimpath', '-ldflags', versionLdflags(version), '-o', `${outDir}/`, ...KUBERNETES_COMMANDS.map((c) => `k8s.io/kubernetes/cmd/${c}`)], dir);
  });
}

export function buildEtcd(outDir: string, version: string = VERSIONS.etcd): void {
  // etcd's server module has replace directives too; a wrapper module takes the published
  // api/client/pkg modules at the versions the server's go.mod requires.
  const goMod = ['module local/tstack-etcd', '', 'go 1.24.0', '', `require go.etcd.io/etcd/server/v3 v${version}`, '', 'tool go.etcd.io/etcd/server/v3', ''].join('\n');
  withWrapperModule('etcd', goMod, (dir) => {
    go(['mod', 'tidy'], dir);
    go(['build', '-trimpath', '-ldflags', '-s -w', '-o', join(outDir, 'etcd'), 'go.etcd.io/etcd/server/v3'], dir);
  });
}

export function buildKwok(outDir: string, version: string = VERSIONS.kwok): void {
  go(['install', '-trimpath', '-ldflags', '-s -w', `sigs.k8s.io/kwok/cmd/kwok@v${version}`], tmpdir(), { GOBIN: resolve(outDir) });
}

export function buildHelm(outDir: string, version: string = VERSIONS.helm): void {
  go(['install', '-trimpath', '-ldflags', '-s -w', `helm.sh/helm/v${version.split('.')[0]}/cmd/helm@v${version}`], tmpdir(), { GOBIN: resolve(outDir) });
}

/** Builds every missing binary, one Go build at a time; returns the seconds each took. */
export async function buildControlPlane(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, number>> {
  const seconds: Record<string, number> = {};
  const steps: [string, string, (dir: string) => void][] = [
    ['etcd', VERSIONS.etcd, (dir) => buildEtcd(dir)],
    ['kwok', VERSIONS.kwok, (dir) => buildKwok(dir)],
    ['kubernetes', VERSIONS.kubernetes, (dir) => buildKubernetes(dir)],
    ['helm', VERSIONS.helm, (dir) => buildHelm(dir)],
  ];
  for (const [component, version, build] of steps) {
    const dir = componentDir(component, version, env);
    if (existsSync(dir)) continue;
    const started = Date.now();
    await buildOnce(dir, build);
    seconds[component] = Math.round((Date.now() - started) / 1000);
    console.error(`[control-plane] built ${component} ${version} in ${seconds[component]} s -> ${dir}`);
  }
  return seconds;
}

async function main(args: readonly string[]): Promise<number> {
  if (args.some((arg) => arg !== '--print')) {
    console.error(`usage: ${BUILD_COMMAND} [--print]`);
    return 2;
  }
  if (args.includes('--print')) {
    console.log(JSON.stringify({ ...controlPlaneBinaries(), helm: helmBinary() }, null, 2));
    return missingBinaries().length === 0 ? 0 : 1;
  }
  await buildControlPlane();
  const missing = [...missingBinaries(), ...(existsSync(helmBinary()) ? [] : [helmBinary()])];
  if (missing.length > 0) {
    console.error(`still missing after the build: ${missing.join(', ')}`);
    return 1;
  }
  console.error('[control-plane] all binaries present');
  return 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`control-plane: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
