/** The laptop path of `up`/`down`: Docker and kind, through the injectable Runner. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { CommandIo } from '../framework/io.ts';
import { UserError } from '../framework/io.ts';
import { firstLine, type Runner } from './runner.ts';

export const DEFAULT_CLUSTER = 'telemetry-stack';
/** kind names the kubeconfig context of cluster NAME "kind-NAME". */
export const kindContext = (cluster: string) => `kind-${cluster}`;
/** Below this, the kind node, ClickHouse (1.5Gi limit in examples/local.yaml) and the collector get OOM-killed. */
export const MIN_DOCKER_MEMORY_BYTES = 4 * 1024 ** 3;

const INSTALL = {
  docker:
    'Docker is not installed (no "docker" on PATH). Install Docker Desktop (macOS, Windows: https://docs.docker.com/get-docker/) ' +
    'or Docker Engine (Linux: https://docs.docker.com/engine/install/); with Podman, set KIND_EXPERIMENTAL_PROVIDER=podman and put a "docker" shim on PATH',
  kind:
    'kind is not installed (no "kind" on PATH). Install it: "brew install kind", "go install sigs.k8s.io/kind@latest", ' +
    'or a release binary from https://kind.sigs.k8s.io/docs/user/quick-start/#installation',
};

const ALREADY_HAVE_A_CLUSTER = 'Already have a Kubernetes cluster? "telemetry-stack up --context CTX" skips Docker and kind.';

/** Every missing prerequisite at once, each with how to get it. */
export async function checkPrerequisites(runner: Runner, io: CommandIo): Promise<void> {
  const problems: string[] = [];
  const hasDocker = runner.which('docker') !== undefined;
  if (!hasDocker) problems.push(INSTALL.docker);
  if (runner.which('kind') === undefined) problems.push(INSTALL.kind);
  if (hasDocker) {
    const info = await runner.run('docker', ['info', '--format', '{{.MemTotal}}']);
    if (info.code !== 0) {
      problems.push(
        `Docker is installed but its daemon does not answer ("docker info": ${firstLine(info.stderr)}). Start Docker Desktop, or on Linux "sudo systemctl start docker" ` +
          `(and add yourself to the docker group: "sudo usermod -aG docker $USER", then log in again)`,
      );
    } else {
      const memory = Number(info.stdout.trim());
      if (Number.isFinite(memory) && memory > 0 && memory < MIN_DOCKER_MEMORY_BYTES) {
        io.stderr.write(
          `warning: Docker has ${(memory / 1024 ** 3).toFixed(1)} GiB of memory; the stack needs about 4 GiB (raise it in Docker Desktop: Settings > Resources > Memory). Pods may be OOM-killed.\n`,
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new UserError(`cannot create a local cluster:\n${problems.map((p) => `  - ${p}.`).join('\n')}\n${ALREADY_HAVE_A_CLUSTER}`);
  }
}

export async function kindClusters(runner: Runner): Promise<string[]> {
  const result = await runner.run('kind', ['get', 'clusters']);
  if (result.code !== 0) throw new UserError(`"kind get clusters" failed: ${firstLine(result.stderr)}\nFix: check that Docker is running ("docker info").`);
  return result.stdout.split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('No kind clusters'));
}

/** Host ports the kind config maps, so that a conflict is reported before kind fails halfway. */
export function mappedHostPorts(kindConfigPath: string): number[] {
  const config = parse(readFileSync(kindConfigPath, 'utf8')) as { nodes?: { extraPortMappings?: { hostPort?: number }[] }[] };
  return (config.nodes ?? []).flatMap((node) => (node.extraPortMappings ?? []).map((m) => m.hostPort).filter((p): p is number => typeof p === 'number'));
}

export interface EnsureClusterOptions {
  readonly name: string;
  readonly kindConfig: string;
  readonly portFree: (port: number) => Promise<boolean>;
}

/** Reuses the kind cluster NAME, or creates it from the committed config. */
export async function ensureKindCluster(runner: Runner, io: CommandIo, options: EnsureClusterOptions): Promise<'created' | 'reused'> {
  if ((await kindClusters(runner)).includes(options.name)) {
    io.stderr.write(`kind cluster "${options.name}" exists: reusing it\n`);
    return 'reused';
  }
  const busy: number[] = [];
  for (const port of mappedHostPorts(options.kindConfig)) if (!(await options.portFree(port))) busy.push(port);
  if (busy.length > 0) {
    throw new UserError(
      `host port${busy.length > 1 ? 's' : ''} ${busy.join(', ')} ${busy.length > 1 ? 'are' : 'is'} already in use, and ${options.kindConfig} maps ${busy.length > 1 ? 'them' : 'it'} to the cluster.\n` +
        `Fix: stop what listens there ("lsof -i :${busy[0]}" shows it; often another kind cluster: "kind get clusters"), or delete the other cluster with "telemetry-stack down --cluster OTHER".`,
    );
  }
  io.stderr.write(`creating kind cluster "${options.name}" (about a minute)\n`);
  const created = await runner.run('kind', ['create', 'cluster', '--name', options.name, '--config', options.kindConfig, '--wait', '120s'], { stream: true });
  if (created.code !== 0) {
    throw new UserError(
      `"kind create cluster" failed: ${firstLine(created.stderr)}\nFix: see kind's output above; "docker info" must work, and Docker needs about 4 GiB of memory. ` +
        `Remove a half-created cluster with "telemetry-stack down --cluster ${options.name}".`,
    );
  }
  return 'created';
}

/** Builds the operator image from this checkout and loads it into the kind node (no registry involved). */
export async function buildAndLoadImage(runner: Runner, io: CommandIo, options: { image: string; dockerfile: string; root: string; cluster: string }): Promise<void> {
  io.stderr.write(`building the operator image ${options.image}\n`);
  const built = await runner.run('docker', ['build', '-t', options.image, '-f', options.dockerfile, options.root], { stream: true });
  if (built.code !== 0) throw new UserError(`"docker build" of the operator image failed: ${firstLine(built.stderr)}\nFix: see the build output above (the Dockerfile needs network access to the npm registry).`);
  io.stderr.write(`loading ${options.image} into kind cluster "${options.cluster}"\n`);
  const loaded = await runner.run('kind', ['load', 'docker-image', options.image, '--name', options.cluster], { stream: true });
  if (loaded.code !== 0) throw new UserError(`"kind load docker-image" failed: ${firstLine(loaded.stderr)}\nFix: check that the cluster runs ("kind get clusters") and retry.`);
}

export async function deleteKindCluster(runner: Runner, io: CommandIo, name: string): Promise<boolean> {
  if (runner.which('kind') === undefined) throw new UserError(`${INSTALL.kind}.`);
  if (!(await kindClusters(runner)).includes(name)) return false;
  const result = await runner.run('kind', ['delete', 'cluster', '--name', name], { stream: true });
  if (result.code !== 0) throw new UserError(`"kind delete cluster" failed: ${firstLine(result.stderr)}\nFix: "docker ps -a" shows the node container (${name}-control-plane); remove it with "docker rm -f ${name}-control-plane".`);
  io.stderr.write(`deleted kind cluster "${name}"\n`);
  return true;
}
