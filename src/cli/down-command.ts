/** `telemetry-stack down`: delete the kind cluster, or (with --context) the stack and optionally the operator. */
import { KIND } from '../api/constants.ts';
import type { Command } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { deleteObject, ResourcePaths } from './journey/apply.ts';
import { DEFAULT_DEPS, type JourneyDeps } from './journey/deps.ts';
import { loadStackToApply, removeOperatorRbac } from './journey/install.ts';
import { DEFAULT_CLUSTER, deleteKindCluster } from './journey/kind.ts';
import { readInstallManifest } from './journey/project.ts';

const USAGE = `Usage: telemetry-stack down [options]

Without --context: delete the kind cluster that "telemetry-stack up" created (all data in it is lost).
With --context: delete the stack named in FILE from that cluster; its volumes (ClickHouse data,
collector queues) are kept until you delete their PersistentVolumeClaims.

Options:
      --name CLUSTER     kind cluster to delete (default: ${DEFAULT_CLUSTER})
      --context CTX      Existing cluster: delete the stack instead of a kind cluster
  -f, --file FILE        Stack to delete with --context (default: examples/local.yaml)
      --uninstall        With --context, also remove the operator, its RBAC and the CRD (deletes EVERY stack in the cluster)
`;

export function makeDownCommand(deps: JourneyDeps): Command {
  return {
    name: 'down',
    summary: 'Delete the local kind cluster, or with --context the stack (and with --uninstall the operator)',
    usage: USAGE,
    async run(args, io) {
      const { values } = parseCommandArgs(
        args,
        {
          name: { type: 'string', default: DEFAULT_CLUSTER },
          context: { type: 'string' },
          file: { type: 'string', short: 'f' },
          uninstall: { type: 'boolean', default: false },
        },
        USAGE,
      );
      if (values.context === undefined) {
        const name = values.name ?? DEFAULT_CLUSTER;
        if (!(await deleteKindCluster(deps.runner(io), io, name))) io.stderr.write(`no kind cluster "${name}": nothing to delete\n`);
        return 0;
      }
      const stack = loadStackToApply(values.file ?? deps.files.defaultStack);
      const kube = await deps.connect(io.env, { context: values.context });
      const paths = new ResourcePaths(kube);
      const existed = await deleteObject(kube, paths, stack.object).catch((error: unknown) => {
        // Without the CRD there is no stack to delete; --uninstall may still have work to do.
        if (error instanceof Error && error.message.includes('does not serve')) return false;
        throw error;
      });
      io.stderr.write(
        existed
          ? `deleted ${KIND} ${stack.namespace}/${stack.name}; its PersistentVolumeClaims remain (kubectl get pvc -n ${stack.namespace})\n`
          : `no ${KIND} ${stack.namespace}/${stack.name}: nothing to delete\n`,
      );
      if (values.uninstall) {
        const objects = readInstallManifest(deps.files.installManifest).reverse();
        for (const object of objects) await deleteObject(kube, paths, object);
        // A namespaced install (up --watch-namespace) also left a Role and RoleBinding in each watched namespace.
        const rbac = await removeOperatorRbac(kube, []);
        io.stderr.write(`removed the operator (${objects.length} objects of ${deps.files.installManifest}${rbac.length > 0 ? `, and ${rbac.join(', ')}` : ''})\n`);
      }
      return 0;
    },
  };
}

export const downCommand = makeDownCommand(DEFAULT_DEPS);
