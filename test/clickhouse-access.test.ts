/**
 * The access plan: roles, users (SHA-256 only), grants and row policies as a diff against
 * the state read from the system tables. The embedded engine has no access control, so
 * every statement is checked with its parser (formatQuery); the diff is checked against
 * the converged state, and with users added, removed, re-roled, re-keyed or foreign.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyAccess,
  checkSyntax,
  convergedAccessState,
  desiredUsers,
  credentialFingerprint,
  EMPTY_ACCESS_STATE,
  planAccess,
  roleName,
  USER_ROW_TABLES,
  type AccessState,
} from '../src/clickhouse/access.ts';
import { migrate } from '../src/clickhouse/migrate.ts';
import { GRAFANA_USER } from '../src/clickhouse/tables.ts';
import { embeddedTarget, type SqlTarget } from '../src/clickhouse/target.ts';
import { stackFrom } from '../harness/stacks.ts';

const context = { database: 'claude_code' };
const hash = (seed: string) => seed.repeat(64).slice(0, 64);
const stack = stackFrom({
  access: {
    users: [
      { name: 'alice', role: 'coordinator' },
      { name: 'bob', role: 'contributor' },
      { name: 'dana', role: 'viewer' },
      { name: 'platform-admin', role: 'admin' },
    ],
  },
});
const credentials = { users: { alice: { passwordSha256: hash('a') }, bob: { passwordSha256: hash('b') }, dana: { passwordSha256: hash('d') }, 'platform-admin': { passwordSha256: hash('e') } } };
const options = { allRowsUsers: ['telemetry_admin'] };
const sqlOf = (state: AccessState, s = stack, c = credentials) => planAccess(context, s, c, state, options).statements.map((statement) => statement.sql);

let target: SqlTarget;
beforeAll(async () => {
  target = await embeddedTarget();
  await migrate(target, context);
});
afterAll(async () => {
  await target?.close();
});

describe('access plan', () => {
  it('from nothing: four roles, one user per entry with a SHA-256 hash, grants, and a policy for every role on every user table', async () => {
    const plan = planAccess(context, stack, credentials, EMPTY_ACCESS_STATE, options);
    const sql = plan.statements.map((statement) => statement.sql);
    for (const role of ['viewer', 'contributor', 'coordinator', 'admin'] as const) expect(sql).toContain(`CREATE ROLE IF NOT EXISTS \`${roleName('claude_code', role)}\``);
    expect(sql).toContain(`CREATE USER IF NOT EXISTS \`platform-admin\` IDENTIFIED WITH sha256_hash BY '${hash('e')}'`);
    expect(sql).toContain('GRANT `ts_claude_code_contributor` TO `bob`');
    // Viewers read team totals only (docs/ACCESS.md).
    expect(sql).toContain('GRANT SELECT ON `claude_code`.`claude_code_team_daily_usage` TO `ts_claude_code_viewer`');
    expect(sql.filter((s) => s.includes('TO `ts_claude_code_viewer`') && s.startsWith('GRANT SELECT'))).toHaveLength(1);
    for (const [table, column] of Object.entries(USER_ROW_TABLES)) {
      expect(sql).toContain(`CREATE ROW POLICY OR REPLACE \`ts_claude_code_own_rows\` ON \`claude_code\`.\`${table}\` AS PERMISSIVE FOR SELECT USING ${column} = currentUser() TO \`ts_claude_code_contributor\``);
      expect(sql).toContain(
        `CREATE ROW POLICY OR REPLACE \`ts_claude_code_all_rows\` ON \`claude_code\`.\`${table}\` AS PERMISSIVE FOR SELECT USING 1 TO \`ts_claude_code_coordinator\`, \`ts_claude_code_admin\`, \`telemetry_admin\``,
      );
    }
    for (const statement of sql) await checkSyntax(target, statement);
  });

  it('never shows a password hash in what it reports', () => {
    const plan = planAccess(context, stack, credentials, EMPTY_ACCESS_STATE, options);
    const shown = plan.statements.map((statement) => statement.display).join('\n');
    for (const { passwordSha256 } of Object.values(credentials.users)) expect(shown).not.toContain(passwordSha256);
    expect(shown).toContain("IDENTIFIED WITH sha256_hash BY '[redacted]'");
  });

  it('is empty once converged (the second run issues nothing)', () => {
    expect(sqlOf(convergedAccessState(context, stack, credentials, options))).toEqual([]);
  });

  it('removes users no longer in the spec, and only those', () => {
    const fewer = stackFrom({ access: { users: [{ name: 'alice', role: 'coordinator' }, { name: 'dana', role: 'viewer' }, { name: 'platform-admin', role: 'admin' }] } });
    expect(sqlOf(convergedAccessState(context, stack, credentials, options), fewer)).toEqual(['DROP USER IF EXISTS `bob`']);
  });

  it('moves a user to a new role (grant the new, revoke the old)', () => {
    const promoted = stackFrom({ access: { users: [{ name: 'alice', role: 'coordinator' }, { name: 'bob', role: 'coordinator' }, { name: 'dana', role: 'viewer' }, { name: 'platform-admin', role: 'admin' }] } });
    expect(sqlOf(convergedAccessState(context, stack, credentials, options), promoted)).toEqual(['GRANT `ts_claude_code_coordinator` TO `bob`', 'REVOKE `ts_claude_code_contributor` FROM `bob`']);
  });

  it('sets a rotated password (new hash from the Secret) with ALTER USER', () => {
    const rotated = { users: { ...credentials.users, dana: { passwordSha256: hash('f') } } };
    const plan = planAccess(context, stack, rotated, convergedAccessState(context, stack, credentials, options), options);
    expect(plan.statements.map((s) => s.sql)).toEqual([`ALTER USER \`dana\` IDENTIFIED WITH sha256_hash BY '${hash('f')}'`]);
    expect(plan.fingerprints).toEqual([{ user: 'dana', fingerprint: credentialFingerprint('dana', hash('f')) }]);
  });

  it('never touches entities it did not create: foreign users are conflicts, foreign roles and policies are ignored', () => {
    const state = convergedAccessState(context, stack, credentials, options);
    const withForeign: AccessState = {
      ...state,
      users: state.users.filter((user) => user.name !== 'alice'),
      foreignUsers: ['alice', 'default', 'otel_ingest'],
    };
    const plan = planAccess(context, stack, credentials, withForeign, options);
    expect(plan.statements).toEqual([]);
    expect(plan.conflicts).toEqual(['alice']);
  });

  it('restores a grant that was revoked by hand and revokes one that was added', () => {
    const state = convergedAccessState(context, stack, credentials, options);
    const drifted: AccessState = {
      ...state,
      grants: [...state.grants.filter((grant) => !(grant.role === 'ts_claude_code_viewer')), { role: 'ts_claude_code_viewer', access: 'SELECT', table: 'otel_logs' }],
    };
    expect(sqlOf(drifted)).toEqual([
      'GRANT SELECT ON `claude_code`.`claude_code_team_daily_usage` TO `ts_claude_code_viewer`',
      'REVOKE SELECT ON `claude_code`.`otel_logs` FROM `ts_claude_code_viewer`',
    ]);
  });

  it('drops row policies and settings profiles of ours the model no longer wants; the statements parse, ON CLUSTER too', async () => {
    const state = convergedAccessState(context, stack, credentials, options);
    const stale: AccessState = {
      ...state,
      policies: [...state.policies, { name: 'ts_claude_code_team_rows', table: 'otel_logs', filter: '1', appliesTo: ['ts_claude_code_viewer'] }],
      profiles: [...state.profiles, { name: 'ts_claude_code_ingest_limits', settings: 'max_execution_time=5', appliesTo: ['ts_claude_code_ingest'] }],
    };
    expect(sqlOf(stale)).toEqual([
      'DROP ROW POLICY IF EXISTS `ts_claude_code_team_rows` ON `claude_code`.`otel_logs`',
      'DROP SETTINGS PROFILE IF EXISTS `ts_claude_code_ingest_limits`',
    ]);
    const clustered = { database: 'claude_code', cluster: 'telemetry' };
    const onCluster = planAccess(clustered, stack, credentials, { ...stale, users: [] }, options).statements.map((statement) => statement.sql);
    const drops = onCluster.filter((sql) => sql.startsWith('DROP'));
    expect(drops).toHaveLength(2);
    for (const statement of drops) {
      expect(statement).toContain('ON CLUSTER `telemetry`');
      await checkSyntax(target, statement);
    }
  });

  it('refuses a user without a valid password hash, naming the user', () => {
    expect(() => planAccess(context, stack, { users: { ...credentials.users, bob: { passwordSha256: 'plaintext' } } }, EMPTY_ACCESS_STATE)).toThrow(/user "bob"/);
  });

  it('on the embedded target: plans and parses every statement, reports them as planned, never a hash', async () => {
    const report = await applyAccess(target, context, stack, credentials);
    expect(report.mode).toBe('planned');
    expect(report.statements.length).toBeGreaterThan(20);
    expect(report.statements.join('\n')).not.toContain(hash('a'));
  });
});

describe('Grafana\'s ClickHouse user', () => {
  const spec = (grafana: boolean) => ({ access: { users: [{ name: 'alice', role: 'contributor' }] }, grafana: { enabled: grafana } });
  const withGrafana = stackFrom(spec(true));
  const withoutGrafana = stackFrom(spec(false));
  const grafanaCredentials = { users: { alice: { passwordSha256: hash('a') }, [GRAFANA_USER]: { passwordSha256: hash('9') } } };

  it('is wanted exactly when Grafana is enabled, with the coordinator role (dashboards read every user\'s events)', () => {
    expect(desiredUsers(withGrafana)).toEqual([{ name: 'alice', role: 'contributor' }, { name: GRAFANA_USER, role: 'coordinator' }]);
    expect(desiredUsers(withoutGrafana)).toEqual([{ name: 'alice', role: 'contributor' }]);
  });

  it('enabled: created with its SHA-256 hash and the coordinator role; every statement parses on the embedded engine', async () => {
    const plan = planAccess(context, withGrafana, grafanaCredentials, EMPTY_ACCESS_STATE, options);
    const sql = plan.statements.map((statement) => statement.sql);
    expect(sql).toContain(`CREATE USER IF NOT EXISTS \`${GRAFANA_USER}\` IDENTIFIED WITH sha256_hash BY '${hash('9')}'`);
    expect(sql).toContain(`GRANT \`ts_claude_code_coordinator\` TO \`${GRAFANA_USER}\``);
    expect(plan.fingerprints).toContainEqual({ user: GRAFANA_USER, fingerprint: credentialFingerprint(GRAFANA_USER, hash('9')) });
    expect(plan.statements.map((statement) => statement.display).join('\n')).not.toContain(hash('9'));
    for (const statement of sql) await checkSyntax(target, statement);
    // The same through the embedded target's applyAccess (planned, parsed, redacted).
    const report = await applyAccess(target, context, withGrafana, grafanaCredentials);
    expect(report.statements).toContain(`CREATE USER IF NOT EXISTS \`${GRAFANA_USER}\` IDENTIFIED WITH sha256_hash BY '[redacted]'`);
    expect(report.users).toBe(1); // spec users; Grafana's is not a team member
  });

  it('the second run issues nothing', () => {
    const converged = convergedAccessState(context, withGrafana, grafanaCredentials, options);
    expect(converged.users.map((user) => user.name)).toContain(GRAFANA_USER);
    expect(planAccess(context, withGrafana, grafanaCredentials, converged, options).statements).toEqual([]);
  });

  it('disabled: dropped (it holds our role), and nothing else changes', () => {
    const converged = convergedAccessState(context, withGrafana, grafanaCredentials, options);
    const plan = planAccess(context, withoutGrafana, { users: { alice: { passwordSha256: hash('a') } } }, converged, options);
    expect(plan.statements.map((statement) => statement.sql)).toEqual([`DROP USER IF EXISTS \`${GRAFANA_USER}\``]);
  });

  it('enabled without its password hash: refused, naming the user', () => {
    expect(() => planAccess(context, withGrafana, { users: { alice: { passwordSha256: hash('a') } } }, EMPTY_ACCESS_STATE, options)).toThrow(new RegExp(`user "${GRAFANA_USER}"`));
  });
});
