/**
 * `telemetry-stack erase NAME --as ADMIN`: deletes one person's telemetry from a stack in the
 * cluster (a leaver, a data-subject request), as a stack admin through a port-forward. Counting
 * comes first and is all that happens without --yes: deleting is not undone by anything.
 */
import { ddlContext } from '../clickhouse/reconcile.ts';
import { countUserRows, eraseUserRows, type UserRows } from '../clickhouse/erasure.ts';
import { USER_NAME_PATTERN } from '../api/spec.ts';
import { type Command, defineCommand, UserError } from './command.ts';
import { CLUSTER_FLAGS, connectOptions, outputFlag, STACK_FLAGS } from './flags.ts';
import { DEFAULT_DEPS, type CommandDeps } from './deps.ts';
import { withUserTarget } from './cluster/stack-data.ts';
import { findStack } from './cluster/stacks.ts';
import { formatRows } from './report-output.ts';

function total(rows: readonly UserRows[]): number {
  return rows.reduce((sum, entry) => sum + entry.rows, 0);
}

export function makeEraseCommand(deps: CommandDeps): Command {
  return defineCommand({
    name: 'erase',
    summary: "Delete one person's telemetry from a stack in the cluster (counts first; --yes deletes)",
    synopsis: ['NAME --as ADMIN [options]'],
    description: `Delete every row of NAME's telemetry from a stack in the cluster: raw events and metrics, and
the daily rollups (the views follow). For a leaver or a data-subject request. Runs as ADMIN, a
user with role admin in spec.access.users (the password comes from ADMIN's own Secret), through a
port-forward to ClickHouse. Without --yes it only counts what would be deleted.

Remove NAME from spec.access.users as well, or their next events arrive again.`,
    flags: {
      as: { type: 'string', value: 'ADMIN', help: 'Your user name in the stack; its role must be admin (required)' },
      ...STACK_FLAGS,
      ...CLUSTER_FLAGS,
      yes: { type: 'boolean', help: 'Delete (without it: count only)' },
      output: outputFlag(['table', 'json', 'yaml', 'csv'], 'Output format of the per-table counts: table, json, yaml or csv'),
    },
    operands: { synopsis: 'NAME', min: 1, max: 1, what: 'one user NAME' },
    async run({ values, operands }, io) {
      const user = operands[0]!;
      if (!USER_NAME_PATTERN.test(user)) throw new UserError(`"${user}" is not a user name (lower-case letters, digits and "-", as in spec.access.users)`, 2);
      if (!values.as) throw new UserError('erase: --as ADMIN is required: erasing runs as a stack user whose role is admin', 2);

      const kube = await deps.connect(io.env, connectOptions(values));
      const found = await findStack(kube, { namespace: values.namespace, name: values.stack });
      const admin = found.stack.spec.access.users.find((entry) => entry.name === values.as);
      if (admin && admin.role !== 'admin') {
        throw new UserError(`erasing needs a user whose role is admin; ${values.as} has role ${admin.role} in stack ${found.namespace}/${found.name}`);
      }
      const context = ddlContext(found.stack);
      const rows = await withUserTarget(kube, found, values.as, (target) => (values.yes ? eraseUserRows(target, context, user) : countUserRows(target, context, user)));
      io.stdout.write(formatRows(rows.map(({ table, rows: count }) => ({ table, rows: count })), ['table', 'rows'], values.output));
      const where = `stack ${found.namespace}/${found.name}`;
      if (!values.yes) {
        io.stderr.write(
          total(rows) === 0
            ? `no rows of ${user}'s in ${where}\n`
            : `would delete ${total(rows)} rows of ${user}'s from ${where}; nothing was deleted. Run again with --yes to delete them.\n`,
        );
      } else {
        io.stderr.write(`deleted ${total(rows)} rows of ${user}'s from ${where}\n`);
      }
      if (found.stack.spec.access.users.some((entry) => entry.name === user)) {
        io.stderr.write(`note: ${user} is still in spec.access.users, so their next events arrive again; remove the entry to stop that.\n`);
      }
      return 0;
    },
  });
}

export const eraseCommand = makeEraseCommand(DEFAULT_DEPS);
