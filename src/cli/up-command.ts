/**
 * `telemetry-stack up`: from nothing to a Ready stack on a laptop (kind), or on an
 * existing cluster with --context. Each step says what it does; each failure says what
 * is missing and how to get it.
 */
import { checkNamespaceNames, type Command, defineCommand, UserError } from './command.ts';
import { CLUSTER_FLAGS } from './flags.ts';
import { durationWords } from './framework/duration.ts';
import type { KubeObject } from '../kube/client.ts';
import { ResourcePaths } from './cluster/apply.ts';
import { installManifests } from '../charts/install/install-chart.ts';
import { waitForReady } from './cluster/conditions.ts';
import { DEFAULT_DEPS, type CommandDeps } from './deps.ts';
import { applyStack, checkReachable, installOperator, loadStackToApply } from './cluster/install.ts';
import { buildAndLoadImage, checkPrerequisites, DEFAULT_CLUSTER, ensureKindCluster, kindContext } from './local/kind.ts';
import { operatorImage, readInstallManifest, requireFile, withLocalImage } from './local/project.ts';

function nextSteps(namespace: string, name: string, user: string | undefined): string {
  const who = user ?? 'NAME';
  return (
    `\nStack ${namespace}/${name} is Ready. Next:\n` +
    `  1. Send Claude Code's telemetry here (add to your shell profile, then start claude):\n` +
    `       eval "$(telemetry-stack env --user ${who} -n ${namespace} --stack ${name})"\n` +
    `  2. After a few prompts, check that events arrive:\n` +
    `       telemetry-stack doctor -n ${namespace} --stack ${name}\n`
  );
}

export function makeUpCommand(deps: CommandDeps): Command {
  return defineCommand({
    name: 'up',
    summary: 'Create a local kind cluster (or use --context), install the operator and a stack, wait until Ready',
    synopsis: ['[options]'],
    description: `Create (or reuse) a local kind cluster, build and load the operator image, install the
operator (dist/install.yaml), apply a stack and wait until it is Ready. With --context,
use an existing cluster instead: no Docker, no kind, no image build.`,
    flags: {
      file: { type: 'string', short: 'f', value: 'FILE', complete: 'file', help: 'Stack to apply (default: examples/local.yaml)' },
      cluster: { type: 'string', value: 'NAME', default: DEFAULT_CLUSTER, help: `kind cluster name (default: ${DEFAULT_CLUSTER}; its context is kind-NAME)` },
      name: { type: 'string', value: 'NAME', help: '', moved: '--name is now --cluster NAME (the kind cluster; the stack and its name come from -f FILE)' },
      ...CLUSTER_FLAGS,
      context: { ...CLUSTER_FLAGS.context, help: 'Use this kubeconfig context (an existing cluster); skips kind and the image build' },
      'operator-image': { type: 'string', value: 'IMAGE', help: 'Use this published operator image instead of building one (kind: still loaded into the node)' },
      'watch-namespace': {
        type: 'list',
        value: 'NS',
        help: "Install the operator for NS only (repeatable; must include the stack's namespace;\ndefault: the stack's namespace): a Role in each, so it reads no Secret and\nchanges no workload elsewhere. The namespaces are created.",
      },
      'cluster-wide': {
        type: 'boolean',
        help: 'Install the operator for every namespace instead (a ClusterRole: it can read\nevery Secret of the cluster). Either way, operator RBAC of an earlier install\nthat this one lacks is removed.',
      },
      timeout: { type: 'duration', value: 'DURATION', default: '10m', help: 'How long to wait for Ready (30s, 10m, 1h)' },
    },
    footer: 'Needs (kind path): Docker with about 4 GiB of memory, and kind.',
    async run({ values }, io) {
      if (values.kubeconfig !== undefined && values.context === undefined) {
        throw new UserError('up: --kubeconfig goes with --context (an existing cluster); a kind cluster writes its own context into $KUBECONFIG or ~/.kube/config', 2);
      }
      const timeoutMs = values.timeout;
      const cluster = values.cluster;
      // Everything that can be checked without the cluster is checked first.
      const stack = loadStackToApply(values.file ?? deps.files.defaultStack);
      const clusterWide = values['cluster-wide'];
      const requested = values['watch-namespace'];
      checkNamespaceNames('--watch-namespace', requested);
      if (clusterWide && requested.length > 0) throw new UserError('--cluster-wide and --watch-namespace exclude each other: drop one', 2);
      if (requested.length > 0 && !requested.includes(stack.namespace)) {
        throw new UserError(`--watch-namespace: the stack's namespace "${stack.namespace}" is not among ${requested.join(', ')}, so the operator would never see it.\nFix: add --watch-namespace ${stack.namespace}.`, 2);
      }
      // By default the operator gets rights in the stack's namespace only (for examples/local.yaml, dist/install.yaml).
      const watchNamespaces = clusterWide ? [] : requested.length > 0 ? requested : [stack.namespace];
      let objects = clusterWide ? readInstallManifest(deps.files.clusterWideInstallManifest) : (installManifests({ watchNamespaces }) as KubeObject[]);
      const runner = deps.runner(io);

      let context = values.context;
      if (context === undefined) {
        requireFile(deps.files.kindConfig, 'the kind cluster config', 'run telemetry-stack from a checkout of the repository (kind/cluster.yaml is committed there)');
        await checkPrerequisites(runner, io);
        await ensureKindCluster(runner, io, { name: cluster, kindConfig: deps.files.kindConfig, portFree: deps.portFree });
        const image = values['operator-image'] ?? operatorImage(objects, deps.files.installManifest);
        if (values['operator-image'] === undefined) {
          requireFile(deps.files.dockerfile, 'the operator Dockerfile', 'run from a checkout of the repository, or pass --operator-image with a published image');
          await buildAndLoadImage(runner, io, { image, dockerfile: deps.files.dockerfile, root: deps.files.root, cluster });
        } else {
          const pulled = await runner.run('docker', ['pull', image], { stream: true });
          if (pulled.code !== 0) throw new UserError(`"docker pull ${image}" failed; check the image name and your registry login`);
          const loaded = await runner.run('kind', ['load', 'docker-image', image, '--name', cluster], { stream: true });
          if (loaded.code !== 0) throw new UserError(`"kind load docker-image ${image}" failed; check that the cluster runs ("kind get clusters")`);
        }
        objects = withLocalImage(objects, image);
        context = kindContext(cluster);
      } else if (values['operator-image'] !== undefined) {
        objects = withLocalImage(objects, values['operator-image']);
      }

      const kube = await deps.connect(io.env, { kubeconfig: values.kubeconfig, context });
      const version = await checkReachable(kube);
      io.stderr.write(`cluster ${kube.server} (context "${kube.context}", Kubernetes ${version})\n`);
      const paths = new ResourcePaths(kube);
      const poll = { sleep: deps.sleep, pollMs: deps.pollMs, timeoutMs: 60_000 };
      await installOperator(kube, paths, objects, io, poll, watchNamespaces);
      await applyStack(kube, paths, stack, io);
      io.stderr.write(`waiting for ${stack.namespace}/${stack.name} to become Ready (up to ${durationWords(timeoutMs)})\n`);
      const ready = await waitForReady(kube, stack.namespace, stack.name, io, { ...poll, timeoutMs, now: deps.now });
      io.stderr.write(nextSteps(stack.namespace, stack.name, ready.stack.spec.access.users[0]?.name));
      return 0;
    },
  });
}

export const upCommand = makeUpCommand(DEFAULT_DEPS);
