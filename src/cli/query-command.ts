/**
 * `telemetry-stack query "SQL"`: one SQL statement against a stack in the cluster, through a
 * port-forward to its ClickHouse pod, authenticated as the named user so that row policies
 * apply (a contributor sees only their own rows). The port-forward closes when the query ends.
 */
import { type Command, defineCommand, UserError } from './command.ts';
import { CLUSTER_FLAGS, connectOptions, FORMAT_ALIAS, outputFlag, STACK_FLAGS } from './flags.ts';
import { DEFAULT_DEPS, type CommandDeps } from './deps.ts';
import { withUserTarget } from './cluster/stack-data.ts';
import { findStack } from './cluster/stacks.ts';
import { formatRows, REPORT_FORMATS } from './report-output.ts';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

export function makeQueryCommand(deps: CommandDeps): Command {
  return defineCommand({
    name: 'query',
    summary: 'Run SQL against a stack in the cluster as your user (port-forward to ClickHouse)',
    synopsis: ['"SQL" --user NAME [options]'],
    description: `Run one SQL statement against a stack's ClickHouse in the cluster, as NAME (row policies apply),
through a port-forward to the ClickHouse pod that closes when the query ends. "-" reads the SQL
from stdin. Named reports: "telemetry-stack report --list".`,
    flags: {
      user: { type: 'string', short: 'u', value: 'NAME', help: "Your user name in the stack's spec.access.users (required; your Secret holds the password)" },
      ...STACK_FLAGS,
      ...CLUSTER_FLAGS,
      output: { ...outputFlag(REPORT_FORMATS), help: 'Output format: table, json (an array of objects keyed by column), yaml or csv' },
      format: FORMAT_ALIAS,
    },
    operands: { synopsis: '"SQL"', min: 1, max: 1, what: 'one SQL statement (quote it)' },
    async run({ values, operands }, io) {
      if (!values.user) throw new UserError('query: --user NAME is required (queries run as your ClickHouse user)', 2);
      const format = values.format ?? values.output;
      const sql = operands[0] === '-' ? await readAll(io.stdin) : operands[0]!;
      if (sql.trim() === '') throw new UserError('the SQL statement is empty', 2);

      const kube = await deps.connect(io.env, connectOptions(values));
      const found = await findStack(kube, { namespace: values.namespace, name: values.stack });
      const rows = await withUserTarget(kube, found, values.user, (target) => target.query(sql));
      const columns = rows.length > 0 ? Object.keys(rows[0]!) : [];
      io.stdout.write(formatRows(rows, columns, format));
      return 0;
    },
  });
}

export const queryCommand = makeQueryCommand(DEFAULT_DEPS);
