/**
 * `report --url` and the server target against a scripted HTTP endpoint: the request
 * sequence only (no ClickHouse server can run here). It checks what is sent (the query,
 * bound parameters, credentials, database) and that the password never reaches output.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.ts';

interface Seen {
  url: URL;
  body: string;
  headers: IncomingMessage['headers'];
}

const PASSWORD = 'correct-horse-battery-staple';
const scratch = mkdtempSync(join(tmpdir(), 'report-server-'));
const passwordFile = join(scratch, 'password');
writeFileSync(passwordFile, `${PASSWORD}\n`);
let server: Server;
let url: string;
const seen: Seen[] = [];
let reply: (request: Seen) => { status: number; body: string } = () => ({ status: 200, body: '' });

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += String(chunk)));
    request.on('end', () => {
      const entry = { url: new URL(request.url ?? '/', 'http://localhost'), body, headers: request.headers };
      seen.push(entry);
      const answer = reply(entry);
      response.writeHead(answer.status, { 'Content-Type': 'text/plain', 'X-ClickHouse-Format': 'JSONEachRow' });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(scratch, { recursive: true, force: true });
});

const credentialsOf = (request: Seen) => {
  const basic = request.headers.authorization?.replace(/^Basic /, '');
  if (basic) return Buffer.from(basic, 'base64').toString();
  return `${String(request.headers['x-clickhouse-user'])}:${String(request.headers['x-clickhouse-key'])}`;
};

describe('report --url', () => {
  it('sends the library query with bound parameters, the user\'s credentials and the database; prints the rows', async () => {
    seen.length = 0;
    reply = () => ({ status: 200, body: '{"user":"alice","cost_usd":1.5,"requests":3,"input_tokens":10,"output_tokens":20}\n' });
    const result = await run(['report', 'cost-by-user', '--url', url, '--user', 'alice', '--password-file', passwordFile, '--param', 'from=2026-10-01', '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([{ user: 'alice', cost_usd: 1.5, requests: 3, input_tokens: 10, output_tokens: 20 }]);
    const request = seen.find((entry) => entry.body.includes('claude_code_usage'))!;
    expect(request).toBeDefined();
    expect(request.body).toContain('{from:Date}');
    expect(request.url.searchParams.get('param_from')).toBe('2026-10-01');
    expect(request.url.searchParams.get('param_to')).toBe('2999-12-31');
    expect(request.url.searchParams.get('database')).toBe('claude_code');
    expect(credentialsOf(request)).toBe(`alice:${PASSWORD}`);
  });

  it('turns a refusal into a message without the password', async () => {
    reply = () => ({ status: 403, body: 'Code: 497. DB::Exception: alice: Not enough privileges. (ACCESS_DENIED)' });
    const result = await run(['report', 'api-errors', '--url', url, '--user', 'alice', '--password-file', passwordFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/report api-errors: the server refused the query: .*Not enough privileges/);
    expect(result.stderr + result.stdout).not.toContain(PASSWORD);
  });

  it('names a missing password file', async () => {
    const result = await run(['report', 'api-errors', '--url', url, '--user', 'alice', '--password-file', join(scratch, 'nope')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--password-file .*nope: no such file/);
  });
});
