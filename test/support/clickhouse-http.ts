/**
 * ClickHouse's HTTP interface in front of the embedded engine, for tests that reach ClickHouse
 * the way a person does: @clickhouse/client through a port-forward to the ClickHouse pod.
 *
 * No ClickHouse server runs on these machines (no container engine; Debian's clickhouse is from
 * 2018). The SQL runs on the real engine (chdb); only the HTTP front is ours, and only as much
 * of it as @clickhouse/client uses for `query` and `report`: POST with the statement in the body,
 * `param_*` URL parameters, `FORMAT JSONEachRow`, Basic authentication, and errors as
 * "Code: N. DB::Exception: ... (TYPE)". It checks passwords and records who asked what, so a test
 * can show which user's credentials arrived; it cannot enforce row policies (the engine has no
 * users), which test/clickhouse-access*.test.ts cover.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SqlTarget } from '../../src/clickhouse/target.ts';

export interface ClickHouseHttp {
  readonly port: number;
  /** user name -> password; replace entries as Secrets appear. */
  readonly users: Map<string, string>;
  /** Every statement that ran, with the authenticated user. */
  readonly log: { user: string; sql: string }[];
  close(): Promise<void>;
}

const FORMAT_CLAUSE = /\s+FORMAT\s+(\w+)\s*;?\s*$/i;

export function clickhouseError(code: number, type: string, message: string): string {
  return `Code: ${code}. DB::Exception: ${message}. (${type}) (version test)\n`;
}

export function authenticate(request: IncomingMessage): { user: string; password: string } | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const user = request.headers['x-clickhouse-user'];
  const password = request.headers['x-clickhouse-key'];
  return typeof user === 'string' ? { user, password: typeof password === 'string' ? password : '' } : undefined;
}

export async function startClickHouseHttp(target: SqlTarget, database: string): Promise<ClickHouseHttp> {
  const users = new Map<string, string>();
  const log: { user: string; sql: string }[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void (async () => {
        const url = new URL(request.url ?? '/', 'http://clickhouse');
        const fail = (status: number, text: string) => response.writeHead(status, { 'Content-Type': 'text/plain; charset=UTF-8' }).end(text);
        if (url.pathname === '/ping') return void response.writeHead(200).end('Ok.\n');
        const credentials = authenticate(request);
        if (!credentials || users.get(credentials.user) !== credentials.password) {
          return void fail(401, clickhouseError(516, 'AUTHENTICATION_FAILED', `${credentials?.user ?? 'default'}: Authentication failed: password is incorrect, or there is no user with such name`));
        }
        if ((request.headers['content-type'] ?? '').startsWith('multipart/')) return void fail(400, clickhouseError(1, 'UNSUPPORTED_METHOD', 'the test endpoint takes query parameters in the URL only'));
        const requested = url.searchParams.get('database');
        if (requested && requested !== database) return void fail(404, clickhouseError(81, 'UNKNOWN_DATABASE', `Database ${requested} does not exist`));
        const statement = url.searchParams.get('query') ?? Buffer.concat(chunks).toString('utf8');
        const params: Record<string, string> = {};
        for (const [key, value] of url.searchParams) if (key.startsWith('param_')) params[key.slice(6)] = value;
        const format = FORMAT_CLAUSE.exec(statement)?.[1];
        const sql = statement.replace(FORMAT_CLAUSE, '');
        log.push({ user: credentials.user, sql });
        try {
          if (format === undefined) {
            await target.exec(sql);
            return void response.writeHead(200).end();
          }
          if (format !== 'JSONEachRow') return void fail(400, clickhouseError(73, 'UNKNOWN_FORMAT', `the test endpoint answers in JSONEachRow only, not ${format}`));
          const rows = await target.query(sql, Object.keys(params).length > 0 ? params : undefined);
          response.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=UTF-8', 'X-ClickHouse-Format': format });
          response.end(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          // The engine's own messages already read "Code: N. DB::Exception: ... (TYPE)".
          fail(500, /Code: \d+\./.test(message) ? `${message}\n` : clickhouseError(1001, 'STD_EXCEPTION', message));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    users,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
