/**
 * The access step on the server target, against a scripted HTTP endpoint that answers the
 * system-table reads (request sequence only: no ClickHouse server runs here). First run on
 * an empty server: the plan is executed and fingerprints (not hashes) recorded. Second
 * run, with the system tables answering the converged state: nothing but the idempotent
 * state-table DDL is sent.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAccess, convergedAccessState } from '../src/clickhouse/access.ts';
import { serverTarget } from '../src/clickhouse/target.ts';
import { stackFrom } from '../harness/stacks.ts';

const context = { database: 'claude_code' };
const stack = stackFrom({ access: { users: [{ name: 'alice', role: 'coordinator' }, { name: 'bob', role: 'contributor' }] } });
const credentials = { users: { alice: { passwordSha256: 'a'.repeat(64) }, bob: { passwordSha256: 'b'.repeat(64) } } };
const OPERATOR = 'telemetry_admin';

let server: Server;
let url: string;
const statements: string[] = [];
let answers: (sql: string) => unknown[] = () => [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += String(chunk)));
    request.on('end', () => {
      const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('query');
      const sql = query ? `${query}\n${body}` : body;
      statements.push(sql.trim());
      const rows = /FORMAT JSONEachRow\s*$/.test(body.trim()) && !/^INSERT/.test(sql.trim()) ? answers(sql) : [];
      response.writeHead(200, { 'Content-Type': 'text/plain', 'X-ClickHouse-Format': 'JSONEachRow' });
      response.end(rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** What the system tables report for a given state (the columns readAccessState selects). */
function systemTables(state: ReturnType<typeof convergedAccessState> | undefined) {
  return (sql: string): unknown[] => {
    if (sql.includes('currentUser()')) return [{ user: OPERATOR }];
    if (!state) return sql.includes('FROM system.users') ? [{ name: 'default' }, { name: OPERATOR }] : [];
    if (sql.includes('FROM system.roles')) return state.roles.map((name) => ({ name }));
    if (sql.includes("FROM system.grants")) return [...state.grants];
    if (sql.includes('FROM system.role_grants')) return state.users.flatMap((user) => user.roles.map((role) => ({ user: user.name, role })));
    if (sql.includes('FROM system.users')) return [...state.users.map((user) => ({ name: user.name })), { name: OPERATOR }];
    if (sql.includes('telemetry_access_state')) return state.users.map((user) => ({ user: user.name, fingerprint: user.credentialFingerprint }));
    if (sql.includes('FROM system.row_policies')) return state.policies.map((policy) => ({ name: policy.name, table: policy.table, filter: policy.filter, applies_to: policy.appliesTo }));
    if (sql.includes('FROM system.settings_profiles')) return state.profiles.map((profile) => ({ name: profile.name, applies_to: profile.appliesTo }));
    if (sql.includes('FROM system.settings_profile_elements')) {
      // The columns the server reports: one row per setting, values as strings, max NULL when unset.
      return state.profiles.flatMap((profile) =>
        profile.settings.split(', ').map((entry) => {
          const [, name, value, max] = /^(\w+)=(\S*)(?: MAX (\S+))?$/.exec(entry)!;
          return { profile: profile.name, name, value, max: max ?? null };
        }),
      );
    }
    return [];
  };
}

const writes = () => statements.filter((sql) => !/^SELECT/.test(sql));

describe('access on a server', () => {
  it('first run: executes the plan, records fingerprints, sends no hash outside the user statements', async () => {
    statements.length = 0;
    answers = systemTables(undefined);
    const target = await serverTarget({ url, username: OPERATOR, password: 'x', database: 'claude_code' });
    const report = await applyAccess(target, context, stack, credentials);
    await target.close();
    expect(report.mode).toBe('executed');
    const sent = writes();
    expect(sent.some((sql) => sql.startsWith('CREATE USER IF NOT EXISTS `alice` IDENTIFIED WITH sha256_hash'))).toBe(true);
    expect(sent.some((sql) => sql.includes(`TO \`ts_claude_code_coordinator\`, \`ts_claude_code_admin\`, \`${OPERATOR}\``))).toBe(true);
    const insert = sent.find((sql) => sql.startsWith('INSERT INTO claude_code.telemetry_access_state'))!;
    expect(insert).toBeDefined();
    expect(insert).not.toContain('a'.repeat(64));
    expect(sent.filter((sql) => sql.includes('a'.repeat(64))).every((sql) => /^(CREATE|ALTER) USER/.test(sql))).toBe(true);
    expect(report.statements).toHaveLength(sent.filter((sql) => !/^(CREATE TABLE|INSERT)/.test(sql)).length);
  });

  it('second run against the converged system tables sends no access statement', async () => {
    statements.length = 0;
    answers = systemTables(convergedAccessState(context, stack, credentials, { allRowsUsers: [OPERATOR] }));
    const target = await serverTarget({ url, username: OPERATOR, password: 'x', database: 'claude_code' });
    const report = await applyAccess(target, context, stack, credentials);
    await target.close();
    expect(report.statements).toEqual([]);
    expect(writes().map((sql) => sql.split('(')[0]!.trim())).toEqual(['CREATE TABLE IF NOT EXISTS `claude_code`.`telemetry_access_state`']);
  });
});
