/**
 * `telemetry-stack report`: runs a named query from the library against a ClickHouse
 * server, or against exported OTLP/JSON loaded into the embedded engine (same schema,
 * same SQL), and prints the rows as a table, JSON or CSV.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Command, defineCommand, UserError } from './command.ts';
import { CLUSTER_FLAGS, connectOptions, FORMAT_ALIAS, outputFlag, STACK_FLAGS } from './flags.ts';
import { didYouMean } from './framework/suggest.ts';
import { formatRows, REPORT_FORMATS } from './report-output.ts';
import { HEADLINE_QUERY, HTML_REPORTS, type HtmlSection, renderHtmlReport } from './report-html.ts';
import { ExportFormatError, loadExport } from '../clickhouse/otlp-json.ts';
import { migrate } from '../clickhouse/migrate.ts';
import { bindParams, loadLibrary, QueryParamError, type LibraryQuery } from '../clickhouse/queries.ts';
import { quoteIdentifier } from '../clickhouse/sql.ts';
import { EmbeddedEngineMissingError, embeddedTarget, serverTarget, type SqlTarget } from '../clickhouse/target.ts';
import { connect } from './cluster/connection.ts';
import { clusterQueryError, openAsUser } from './cluster/stack-data.ts';
import { type ClusterStack, findStack } from './cluster/stacks.ts';

const DEFAULT_DATABASE = 'claude_code';

/** The reports, for --help: read from queries/ only when help is asked for. */
function reportList(): string {
  const library = loadLibrary();
  const width = Math.max(...library.map((query) => query.name.length));
  return `Reports:\n${library.map((query) => `  ${query.name.padEnd(width)}  ${query.description}`).join('\n')}`;
}

const WHERE = 'Where the data is';

function listing(library: readonly LibraryQuery[]): string {
  return library
    .map((query) => {
      const params = query.params.map((param) => `    --param ${param.name}=<${param.type}>${param.default !== undefined ? ` (default ${param.default})` : ' (required)'}  ${param.doc}`);
      return [`${query.name}: ${query.description}`, ...params].join('\n');
    })
    .join('\n');
}

function parseParams(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UserError(`--param ${pair}: expected KEY=VALUE, e.g. --param from=2026-10-01`, 2);
    out[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return out;
}

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

export const reportCommand: Command = defineCommand({
  name: 'report',
  summary: 'Run a named query (cost-by-user, api-errors, session-trace...) on a stack, a server or exported data',
  synopsis: [
    `NAME [--param KEY=VALUE]... [-o table|json|yaml|csv]
                              (--user NAME [-n NS] [--stack S] | --data FILE|DIR | --url URL --user USER --password-file FILE)`,
    '--html FILE [--param from=DATE --param to=DATE] (--user NAME | --data ... | --url ...)',
  ],
  description: 'Run a query from the library (queries/*.sql) and print its rows.',
  flags: {
    user: {
      type: 'string',
      value: 'NAME',
      group: WHERE,
      help: 'A stack in the cluster, as your user in its spec.access.users (row policies\napply): the password comes from your Secret, and a port-forward to the\nClickHouse pod opens and closes by itself',
    },
    namespace: { ...STACK_FLAGS.namespace, group: WHERE },
    stack: { ...STACK_FLAGS.stack, group: WHERE },
    kubeconfig: { ...CLUSTER_FLAGS.kubeconfig, group: WHERE },
    context: { ...CLUSTER_FLAGS.context, group: WHERE },
    data: {
      type: 'string',
      value: 'PATH',
      group: WHERE,
      complete: 'file',
      help: 'Exported OTLP/JSON (the collector file exporter\'s format, one\n{"resourceLogs"|"resourceMetrics": ...} object per line): a file or a\nfolder of *.json/*.jsonl files, loaded into the embedded engine. No server needed.',
    },
    url: { type: 'string', value: 'URL', group: WHERE, help: 'Any ClickHouse HTTP endpoint, e.g. an external one; with --user USER and' },
    'password-file': { type: 'string', value: 'FILE', group: WHERE, complete: 'file', help: 'a file holding the password; "-" reads stdin' },
    database: { type: 'string', value: 'DB', group: WHERE, default: DEFAULT_DATABASE, help: `Telemetry database with --data or --url (default ${DEFAULT_DATABASE})` },
    param: { type: 'list', value: 'KEY=VALUE', help: 'Query parameter (repeatable), e.g. --param from=2026-10-01' },
    output: { ...outputFlag(REPORT_FORMATS), help: 'Output format: table, json (an array of objects keyed by column), yaml or csv' },
    format: FORMAT_ALIAS,
    list: { type: 'boolean', help: 'List the reports and their parameters' },
    html: {
      type: 'string',
      value: 'FILE',
      complete: 'file',
      help: 'Write the core reports (spend, tokens, adoption, tools, errors) with charts\ninto one self-contained HTML page instead of printing one report ("-": stdout)',
    },
  },
  operands: { synopsis: 'NAME', min: 0, max: 1, what: 'one report NAME (report --list shows them)' },
  footer: reportList,
  operandValues: () => loadLibrary().map((query) => query.name),
  async run({ values, operands: positionals }, io) {
    const library = loadLibrary();
    if (values.list) {
      io.stdout.write(`${listing(library)}\n`);
      return 0;
    }
    const database = values.database ?? DEFAULT_DATABASE;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) throw new UserError(`report: --database ${database} is not a ClickHouse identifier`, 2);

    // Set when the data is a stack in the cluster: its failures are explained in its terms.
    let clusterStack: ClusterStack | undefined;
    const openTarget = async (): Promise<SqlTarget> => {
      let target: SqlTarget;
      const clusterFlags = (['namespace', 'stack', 'context', 'kubeconfig'] as const).filter((flag) => values[flag] !== undefined);
      if ((values.data !== undefined || values.url !== undefined) && clusterFlags.length > 0) {
        throw new UserError(`report: --${clusterFlags[0]} picks a stack in the cluster; it does not go with --data or --url`, 2);
      }
      if (values.data !== undefined) {
        if (values.url !== undefined) throw new UserError('report: give either --data or --url, not both', 2);
        if (!existsSync(values.data)) throw new UserError(`report: --data ${values.data}: no such file or folder`);
        try {
          target = await embeddedTarget();
        } catch (error) {
          if (!(error instanceof EmbeddedEngineMissingError)) throw error;
          throw new UserError(
            `report: --data reads an export with ${error.message}. ` +
              'Install the CLI with its optional dependencies (npm install -g telemetry-stack, on Linux or macOS), or query the stack in the cluster instead: telemetry-stack report NAME --user YOU',
          );
        }
        try {
          await migrate(target, { database });
          await target.exec(`USE ${quoteIdentifier(database)}`);
          const loaded = await loadExport(target, database, values.data);
          if (loaded.files === 0) {
            throw new UserError(`report: --data ${values.data}: no *.json or *.jsonl files in this folder; point --data at the collector file exporter's output (or a file of it)`);
          }
          if (loaded.logRecords + loaded.metricPoints === 0) {
            throw new UserError(`report: --data ${values.data}: ${loaded.files} file${loaded.files > 1 ? 's' : ''} but no log record or metric point in them; is this the right export?`);
          }
        } catch (error) {
          await target.close();
          if (error instanceof ExportFormatError) throw new UserError(`report: ${error.message}`);
          throw error;
        }
      } else if (values.url !== undefined) {
        if (!values.user || !values['password-file']) throw new UserError('report: --url needs --user and --password-file (the password from your Secret)', 2);
        const file = values['password-file'];
        let password: string;
        if (file === '-') password = (await readStdin(io.stdin)).trim();
        else if (!existsSync(file)) throw new UserError(`report: --password-file ${file}: no such file`);
        else password = readFileSync(file, 'utf8').trim();
        target = await serverTarget({ url: values.url, username: values.user, password, database });
      } else if (values.user !== undefined) {
        if (values['password-file'] !== undefined) throw new UserError('report: --password-file goes with --url; for a stack in the cluster your password is read from your Secret', 2);
        const kube = await connect(io.env, connectOptions(values));
        clusterStack = await findStack(kube, { namespace: values.namespace, name: values.stack });
        target = await openAsUser(kube, clusterStack, values.user);
      } else {
        throw new UserError(
          'report: say where the data is: --user NAME (a stack in the cluster), --data PATH (exported OTLP/JSON) or --url URL (a ClickHouse server)',
          2,
        );
      }
      return target;
    };
    if (values.html !== undefined) {
      if (positionals.length > 0) throw new UserError('report: --html FILE writes the core reports; give no report name with it', 2);
      const html = values.html;
      checkHtmlPath(html);
      const given = parseParams(values.param ?? []);
      checkDateParams(given, library);
      const target = await openTarget();
      try {
        const page = await htmlReport(target, library, given, values.data ?? values.url ?? (clusterStack ? `stack ${clusterStack.namespace}/${clusterStack.name}` : ''));
        if (html === '-') io.stdout.write(page);
        else writeHtml(html, page);
      } catch (error) {
        if (error instanceof QueryParamError) throw new UserError(error.message, 2);
        if (clusterStack && !(error instanceof UserError)) throw clusterQueryError(error, clusterStack);
        if (target.kind === 'server' && !(error instanceof UserError)) throw new UserError(`report --html: the server refused a query: ${firstLine(error)}`);
        throw error;
      } finally {
        await target.close();
      }
      if (html !== '-') io.stderr.write(`wrote ${html}\n`);
      return 0;
    }
    if (positionals.length !== 1) {
      throw new UserError(`report: give ${positionals.length === 0 ? 'a report name' : 'one report name, not several'}, e.g. telemetry-stack report cost-by-user (report --list shows them)`, 2);
    }
    const name = positionals[0]!;
    const query = library.find((candidate) => candidate.name === name);
    if (!query) {
      const hint = didYouMean(name, library.map((q) => q.name));
      const choices = hint ? `did you mean "${hint}"?` : `reports: ${library.map((q) => q.name).join(', ')}`;
      throw new UserError(`report: no report named "${name}"; ${choices} (telemetry-stack report --list shows them)`, 2);
    }
    const format = values.format ?? values.output;
    let params: Record<string, string>;
    try {
      const given = parseParams(values.param ?? []);
      checkDateParams(given, [query]);
      params = bindParams(query, given);
    } catch (error) {
      if (error instanceof QueryParamError) throw new UserError(error.message, 2);
      throw error;
    }
    const target = await openTarget();
    try {
      const rows = await target.query(query.sql, params);
      const columns = rows.length > 0 ? Object.keys(rows[0]!) : await columnsOf(target, query, params);
      io.stdout.write(formatRows(rows, columns, format));
      return 0;
    } catch (error) {
      if (clusterStack) throw clusterQueryError(error, clusterStack);
      if (target.kind === 'server') throw new UserError(`report ${name}: the server refused the query: ${firstLine(error)}`);
      throw error;
    } finally {
      await target.close();
    }
  },
});

/**
 * Date parameters are real calendar days, and from is not after to: the engine would read
 * 2026-13-01 as no date at all and answer with every row, which looks like a right answer.
 */
function checkDateParams(given: Readonly<Record<string, string>>, queries: readonly LibraryQuery[]): void {
  const dates = new Set(queries.flatMap((query) => query.params.filter((param) => param.type === 'Date').map((param) => param.name)));
  for (const [key, value] of Object.entries(given)) {
    if (!dates.has(key)) continue;
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (!match) continue; // not even the shape: bindParams says "is not a date (YYYY-MM-DD)"
    const day = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
    if (day.toISOString().slice(0, 10) !== value) {
      throw new UserError(`report: --param ${key}=${value} is not a calendar date; write YYYY-MM-DD, e.g. --param ${key}=${new Date().toISOString().slice(0, 8)}01`, 2);
    }
    if (Number(match[1]) < 1970) throw new UserError(`report: --param ${key}=${value} is before 1970-01-01, the first day the reports can hold`, 2);
  }
  if (given.from !== undefined && given.to !== undefined && dates.has('from') && dates.has('to') && given.from > given.to) {
    throw new UserError(`report: --param from=${given.from} is after --param to=${given.to}; swap them`, 2);
  }
}

function writeHtml(path: string, page: string): void {
  try {
    writeFileSync(path, page);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined) throw error;
    throw new UserError(`report: --html ${path}: cannot write (${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code}); pick a path you can write to`);
  }
}

/** --html FILE is checked before any data is loaded: a wrong path should not cost the whole run. */
function checkHtmlPath(path: string): void {
  if (path === '-') return;
  if (path === '') throw new UserError('report: --html needs a file path, or "-" for stdout', 2);
  let folder: ReturnType<typeof statSync> | undefined;
  try {
    if (statSync(path).isDirectory()) throw new UserError(`report: --html ${path} is a folder; give a file path such as ${path.replace(/\/$/, '')}/report.html`, 2);
  } catch (error) {
    if (error instanceof UserError) throw error;
  }
  try {
    folder = statSync(dirname(path));
  } catch {
    folder = undefined;
  }
  if (!folder?.isDirectory()) throw new UserError(`report: --html ${path}: the folder ${dirname(path)} does not exist; create it first or write elsewhere`, 2);
}

/** Column names of a query with no rows, so that an empty CSV or table still has its header. */
async function columnsOf(target: SqlTarget, query: LibraryQuery, params: Record<string, string>): Promise<string[]> {
  const described = await target.query<{ name: string }>(`DESCRIBE (${query.sql})`, params);
  return described.map((column) => column.name);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** Runs the core reports (HTML_REPORTS) with the given --param values they declare, into one page. */
async function htmlReport(target: SqlTarget, library: readonly LibraryQuery[], given: Record<string, string>, source: string): Promise<string> {
  const sections: HtmlSection[] = [];
  for (const entry of HTML_REPORTS) {
    const query = library.find((candidate) => candidate.name === entry.name);
    if (!query) throw new Error(`report --html: queries/${entry.name}.sql is missing`);
    const declared = Object.fromEntries(Object.entries(given).filter(([key]) => query.params.some((param) => param.name === key)));
    sections.push({ query, title: entry.title, chart: entry.chart, rows: await target.query(query.sql, bindParams(query, declared)) });
  }
  const period = given.from || given.to ? `from ${given.from ?? 'the beginning'} to ${given.to ?? 'today'}` : 'all data';
  const headlineQuery = library.find((candidate) => candidate.name === HEADLINE_QUERY);
  if (!headlineQuery) throw new Error(`report --html: queries/${HEADLINE_QUERY}.sql is missing`);
  const declared = Object.fromEntries(Object.entries(given).filter(([key]) => headlineQuery.params.some((param) => param.name === key)));
  const [headline] = await target.query(headlineQuery.sql, bindParams(headlineQuery, declared));
  return renderHtmlReport(sections, { source, generatedAt: new Date(), period, ...(headline ? { headline } : {}) });
}
