/**
 * `telemetry-stack query "SQL"`: one SQL statement against a stack in the cluster, through a
 * port-forward to its ClickHouse pod, authenticated as the named user so that row policies
 * apply (a contributor sees only their own rows). The port-forward closes when the query ends.
 */
import type { Command } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { UserError } from './errors.ts';
import { DEFAULT_DEPS, type JourneyDeps } from './journey/deps.ts';
import { withUserTarget } from './journey/stack-data.ts';
import { findStack } from './journey/stacks.ts';
import { formatRows, REPORT_FORMATS, type ReportFormat } from './report-output.ts';

const USAGE = `Usage: telemetry-stack query "SQL" --user NAME [options]

Run one SQL statement against a stack's ClickHouse in the cluster, as NAME (row policies apply),
through a port-forward to the ClickHouse pod that closes when the query ends. "-" reads the SQL
from stdin. Named reports: "telemetry-stack report --list".

Options:
  -u, --user NAME       Your user name in the stack's spec.access.users (required; your Secret holds the password)
  -n, --namespace NS    Namespace of the stack (default: search all namespaces you can list)
      --stack NAME      Name of the stack (default: the only one found)
      --context CTX     kubeconfig context (default: the current one)
      --format FORMAT   table (default), json (an array of objects keyed by column) or csv
`;

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

export function makeQueryCommand(deps: JourneyDeps): Command {
  return {
    name: 'query',
    summary: 'Run SQL against a stack in the cluster as your user (port-forward to ClickHouse)',
    usage: USAGE,
    async run(args, io) {
      const { values, positionals } = parseCommandArgs(
        args,
        {
          user: { type: 'string', short: 'u' },
          namespace: { type: 'string', short: 'n' },
          stack: { type: 'string' },
          context: { type: 'string' },
          format: { type: 'string', default: 'table' },
        },
        USAGE,
        true,
      );
      if (positionals.length !== 1) throw new UserError(`query takes one SQL statement (quote it), got ${positionals.length} arguments\n\n${USAGE}`, 2);
      if (!values.user) throw new UserError(`--user NAME is required (queries run as your ClickHouse user)\n\n${USAGE}`, 2);
      const format = values.format as ReportFormat;
      if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw new UserError(`--format must be one of ${REPORT_FORMATS.join(', ')}, not "${values.format}"`, 2);
      const sql = positionals[0] === '-' ? await readAll(io.stdin) : positionals[0]!;
      if (sql.trim() === '') throw new UserError('the SQL statement is empty', 2);

      const kube = await deps.connect(io.env, { context: values.context });
      const found = await findStack(kube, { namespace: values.namespace, name: values.stack });
      const rows = await withUserTarget(kube, found, values.user, (target) => target.query(sql));
      const columns = rows.length > 0 ? Object.keys(rows[0]!) : [];
      io.stdout.write(formatRows(rows, columns, format));
      return 0;
    },
  };
}

export const queryCommand = makeQueryCommand(DEFAULT_DEPS);
