/** `telemetry-stack down`: delete the kind cluster, or (with --context) the stack and optionally the operator. */
import { KIND } from '../api/constants.ts';
import { type Command, defineCommand, UserError } from './command.ts';
import { CLUSTER_FLAGS, connectOptions } from './flags.ts';
import { deleteObject, NotServedError, ResourcePaths } from './cluster/apply.ts';
import { DEFAULT_DEPS, type CommandDeps } from './deps.ts';
import { loadStackToApply, removeOperatorRbac } from './cluster/install.ts';
import { DEFAULT_CLUSTER, deleteKindCluster } from './local/kind.ts';
import { readInstallManifest } from './local/project.ts';

export function makeDownCommand(deps: CommandDeps): Command {
  return defineCommand({
    name: 'down',
    summary: 'Delete the local kind cluster, or with --context the stack (and with --uninstall the operator)',
    synopsis: ['[options]'],
    description: `Without --context: delete the kind cluster that "telemetry-stack up" created (all data in it is lost).
With --context: delete the stack named in FILE from that cluster; its volumes (ClickHouse data,
collector queues) are kept until you delete their PersistentVolumeClaims.`,
    flags: {
      cluster: { type: 'string', value: 'NAME', default: DEFAULT_CLUSTER, help: `kind cluster to delete (default: ${DEFAULT_CLUSTER})` },
      name: { type: 'string', value: 'NAME', help: '', moved: '--name is now --cluster NAME (the kind cluster to delete)' },
      ...CLUSTER_FLAGS,
      context: { ...CLUSTER_FLAGS.context, help: 'Existing cluster: delete the stack instead of a kind cluster' },
      file: { type: 'string', short: 'f', value: 'FILE', complete: 'file', help: 'Stack to delete with --context (default: examples/local.yaml)' },
      uninstall: { type: 'boolean', help: 'With --context, also remove the operator, its RBAC and the CRD (deletes EVERY stack in the cluster)' },
    },
    async run({ values }, io) {
      if (values.kubeconfig !== undefined && values.context === undefined) {
        throw new UserError('down: --kubeconfig goes with --context (an existing cluster); without it down deletes the kind cluster', 2);
      }
      if (values.context === undefined) {
        const name = values.cluster;
        if (!(await deleteKindCluster(deps.runner(io), io, name))) io.stderr.write(`no kind cluster "${name}": nothing to delete\n`);
        return 0;
      }
      const stack = loadStackToApply(values.file ?? deps.files.defaultStack);
      const kube = await deps.connect(io.env, connectOptions(values));
      const paths = new ResourcePaths(kube);
      const existed = await deleteObject(kube, paths, stack.object).catch((error: unknown) => {
        // Without the CRD there is no stack to delete; --uninstall may still have work to do.
        if (error instanceof NotServedError) return false;
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
  });
}

export const downCommand = makeDownCommand(DEFAULT_DEPS);
