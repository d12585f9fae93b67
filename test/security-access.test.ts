/**
 * Issue 11, the ClickHouse access layer: the collector's ingest user exists in an external
 * ClickHouse and may insert into the raw tables and nothing else; Ready means it can; viewers
 * read team totals, never another user's cost; every query role has limits.
 *
 * On the real engine. The embedded engine has no SQL access control (CREATE USER needs a
 * writable access storage, which clickhouse-local never has, and it always runs as `default`),
 * but it enforces what its users.xml says about `default`. So each principal runs as `default`
 * defined from the statements the access plan issues for its role: the role's GRANTs as
 * grants, its row policies as row filters, its settings profile as a profile with constraints.
 * `telemetry_admin`, with every grant, stands for the operator's user (the views' definer).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_MODEL, accessDocument, PRINCIPALS, RAW_DATA_TABLES, USER_ROW_TABLES, type Principal } from '../src/clickhouse/access-model.ts';
import { convergedAccessState, EMPTY_ACCESS_STATE, planAccess, roleName } from '../src/clickhouse/access.ts';
import { checkIngest } from '../src/clickhouse/ingest-check.ts';
import { migrate } from '../src/clickhouse/migrate.ts';
import { bindParams, loadLibrary } from '../src/clickhouse/queries.ts';
import { DERIVED, GRAFANA_USER, INGEST_USER } from '../src/clickhouse/tables.ts';
import { embeddedTarget, type SqlTarget } from '../src/clickhouse/target.ts';
import { REFERENCEABLE_LABEL } from '../src/api/constants.ts';
import { ingestGrants } from '../src/charts/clickhouse/config.ts';
import { stackNames } from '../src/stack/naming.ts';
import { sha256Hex } from '../src/stack/secrets.ts';
import type { ClickHouseCredentials } from '../src/operator/clickhouse-leg.ts';
import { accessCredentials, ingestFailureMessage, sqlClickHouseLeg } from '../src/operator/clickhouse-sql.ts';
import { CONDITION, REASON } from '../src/stack/conditions.ts';
import { jsonLogger } from '../src/operator/log.ts';
import { startOperator, type RunningOperator } from '../src/operator/operator.ts';
import { resourcePath, STACKS } from '../src/operator/resources.ts';
import { GENERATED_NOTICE } from '../scripts/generate.ts';
import { eventually, startCluster } from '../harness/cluster.ts';
import { apply, applyCrd, applyStack, clientFor, condition, createNamespace, getStack, objectExists } from '../harness/operator.ts';
import { ROOT, stackFrom } from '../harness/stacks.ts';

const DB = 'claude_code';
const context = { database: DB };
const OPERATOR = 'telemetry_admin';
const hash = (seed: string) => seed.repeat(64).slice(0, 64);
const external = stackFrom({
  clickhouse: { mode: 'external', database: DB, external: { endpoint: 'https://ch.example:8443', credentialsSecret: { name: 'ch-admin' } } },
  access: { users: [{ name: 'alice', role: 'contributor' }, { name: 'vera', role: 'viewer' }, { name: 'carl', role: 'coordinator' }, { name: 'ada', role: 'admin' }] },
});
const inCluster = stackFrom({ access: { users: [{ name: 'alice', role: 'contributor' }] } });
const hashes = { alice: hash('a'), vera: hash('b'), carl: hash('c'), ada: hash('d'), [INGEST_USER]: hash('e') };
const credentials = { users: Object.fromEntries(Object.entries(hashes).map(([user, passwordSha256]) => [user, { passwordSha256 }])) };
const plan = planAccess(context, external, credentials, EMPTY_ACCESS_STATE, { allRowsUsers: [OPERATOR] });
const sql = plan.statements.map((statement) => statement.sql);

// ---------------------------------------------------------------- principals as the engine's `default` user

const root = mkdtempSync(join(tmpdir(), 'tstack-security-access-'));
const dataPath = join(root, 'data');
const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Emulated {
  grants: string[];
  filters: Map<string, string>;
  settings: { name: string; value: string; max?: string }[];
}

/** What the plan gives a role: its GRANT statements, the row policies naming it, its settings profile. */
function fromPlan(role: Principal): Emulated {
  const name = `\`${roleName(DB, role)}\``;
  const grants = sql.flatMap((statement) => {
    const match = /^GRANT (.+) ON (\S+) TO (\S+)$/.exec(statement);
    return match && match[3] === name ? [`GRANT ${match[1]} ON ${match[2]}`] : [];
  });
  const filters = new Map<string, string>();
  for (const statement of sql) {
    const match = /^CREATE ROW POLICY OR REPLACE \S+ ON `[^`]+`\.`([^`]+)` AS PERMISSIVE FOR SELECT USING (.+) TO (.+)$/.exec(statement);
    if (match && match[3]!.split(', ').includes(name)) filters.set(match[1]!, match[2]!);
  }
  const profile = sql.find((statement) => statement.startsWith('CREATE SETTINGS PROFILE') && statement.endsWith(` TO ${name}`));
  const settings = profile
    ? /^CREATE SETTINGS PROFILE OR REPLACE \S+ SETTINGS (.+) TO /.exec(profile)![1]!.split(', ').map((entry) => {
        const [, setting, value, max] = /^(\w+) = (\S+)(?: MAX (\S+))?$/.exec(entry)!;
        return { name: setting!, value: value!, ...(max ? { max } : {}) };
      })
    : [];
  return { grants, filters, settings };
}

const everything: Emulated = { grants: ['GRANT ALL ON *.*'], filters: new Map(), settings: [] };

/** A config whose `default` user is the principal; telemetry_admin (the definer) may do everything. */
function configFor(label: string, principal: Emulated | 'setup'): string {
  const dir = join(root, label);
  mkdirSync(dir, { recursive: true });
  const user = (body: string) => `<password></password><networks><ip>::/0</ip></networks><quota>default</quota>${body}`;
  const grantsXml = (p: Emulated) => `<grants>${p.grants.map((grant) => `<query>${xml(grant)}</query>`).join('')}</grants>`;
  const defaultUser =
    principal === 'setup'
      ? user('<profile>default</profile><access_management>1</access_management>')
      : user(
          `<profile>limits</profile>${grantsXml(principal)}<databases><${DB}>${[...principal.filters]
            .map(([table, filter]) => `<${table}><filter>${xml(filter)}</filter></${table}>`)
            .join('')}</${DB}></databases>`,
        );
  const settings = principal === 'setup' ? [] : principal.settings;
  const profile = `<limits>${settings.map((s) => `<${s.name}>${s.value}</${s.name}>`).join('')}<constraints>${settings
    .filter((s) => s.max !== undefined)
    .map((s) => `<${s.name}><max>${s.max}</max></${s.name}>`)
    .join('')}</constraints></limits>`;
  writeFileSync(
    join(dir, 'users.xml'),
    `<clickhouse><profiles><default/>${profile}</profiles><quotas><default/></quotas><users><default>${defaultUser}</default><${OPERATOR}>${user(`<profile>default</profile>${grantsXml(everything)}`)}</${OPERATOR}></users></clickhouse>`,
  );
  writeFileSync(join(dir, 'config.xml'), '<clickhouse><user_directories replace="1"><users_xml><path>users.xml</path></users_xml></user_directories></clickhouse>');
  return join(dir, 'config.xml');
}

/** Runs `use` as the principal (one engine at a time: chdb binds one data directory per process). */
async function as<T>(label: string, principal: Emulated | 'setup', use: (target: SqlTarget) => Promise<T>): Promise<T> {
  const target = await embeddedTarget({ path: dataPath, configFile: configFor(label, principal) });
  try {
    return await use(target);
  } finally {
    await target.close();
  }
}

async function refused(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected ClickHouse to refuse this');
}

const DAY = '2026-11-02';
const apiRequest = (user: string, costUsd: string) => ({
  Timestamp: `${DAY} 10:00:00.000000000`,
  ServiceName: 'claude-code',
  Body: 'claude_code.api_request',
  LogAttributes: { 'event.name': 'api_request', 'enduser.id': user, model: 'claude-sonnet-4-5', cost_usd: costUsd, input_tokens: '10', output_tokens: '5' },
});

beforeAll(async () => {
  await as('setup', 'setup', async (target) => {
    await migrate(target, context);
    // The migration made the materialized views (rollups, typed tables) and the team view run with their
    // definer's rights (CURRENT_USER: the operator's user on a server). Here every session is `default`,
    // which the principals redefine, so the definer moves to telemetry_admin, which stands for the operator's user.
    const definerViews = (
      await target.query<{ name: string }>("SELECT name FROM system.tables WHERE database = {d:String} AND create_table_query LIKE '%SQL SECURITY DEFINER%' ORDER BY name", { d: DB })
    ).map((row) => row.name);
    expect(definerViews).toEqual(expect.arrayContaining([DERIVED.dailyUsageView, DERIVED.dailyMetricUsageView, DERIVED.teamDailyUsage, DERIVED.dailyPromptsView, `${DERIVED.apiRequests}_data_mv`]));
    for (const view of definerViews) {
      const [created] = await target.query<{ statement: string }>(`SHOW CREATE TABLE ${DB}.${view}`);
      expect(created!.statement).toContain('SQL SECURITY DEFINER');
      await target.exec(`ALTER TABLE ${DB}.${view} MODIFY DEFINER = ${OPERATOR} SQL SECURITY DEFINER`);
    }
  });
}, 120_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------- High 3: the ingest user

describe('the collector\'s ingest user in an external ClickHouse', () => {
  it('is created by the access plan with the hash from its Secret and the ingest role', () => {
    expect(sql).toContain(`CREATE USER IF NOT EXISTS \`${INGEST_USER}\` IDENTIFIED WITH sha256_hash BY '${hashes[INGEST_USER]}'`);
    expect(sql).toContain(`GRANT \`${roleName(DB, 'ingest')}\` TO \`${INGEST_USER}\``);
    expect(plan.fingerprints.map((entry) => entry.user)).toContain(INGEST_USER);
    // Converged, the next run issues nothing (the ingest user holds our role, so it is ours).
    const converged = convergedAccessState(context, external, credentials, { allRowsUsers: [OPERATOR] });
    expect(planAccess(context, external, credentials, converged, { allRowsUsers: [OPERATOR] }).statements).toEqual([]);
    // In-cluster the server config defines it: the plan leaves it alone.
    const local = planAccess(context, inCluster, { users: { alice: { passwordSha256: hash('a') } } }, EMPTY_ACCESS_STATE);
    expect(local.statements.map((statement) => statement.sql).join('\n')).not.toContain(`\`${INGEST_USER}\``);
  });

  it('gets its password hash from the stack\'s generated ingest Secret (external mode only)', () => {
    const accounts: ClickHouseCredentials = {
      admin: { username: 'admin', password: 'admin-password' },
      ingest: { username: INGEST_USER, password: 'ingest-password' },
      users: new Map([['alice', { username: 'alice', password: 'alice-password' }]]),
    };
    expect(accessCredentials(accounts, external).users[INGEST_USER]).toEqual({ passwordSha256: sha256Hex('ingest-password') });
    expect(accessCredentials(accounts, inCluster).users[INGEST_USER]).toBeUndefined();
  });

  it('is dropped with the stack\'s other users when the stack is deleted', () => {
    const state = {
      ...EMPTY_ACCESS_STATE,
      users: [{ name: INGEST_USER, roles: [roleName(DB, 'ingest')] }, { name: 'alice', roles: [roleName(DB, 'contributor')] }],
    };
    const removal = planAccess(context, external, { users: {} }, state, { removeAllUsers: true }).statements.map((statement) => statement.sql);
    expect(removal).toContain(`DROP USER IF EXISTS \`${INGEST_USER}\``);
    expect(removal).toContain('DROP USER IF EXISTS `alice`');
  });

  it('may insert into every raw table (and the rollup fills through the definer\'s view) but do nothing else', async () => {
    const ingest = fromPlan('ingest');
    expect(ingest.grants.length).toBeGreaterThan(0);
    // The in-cluster server config gives the same grants.
    expect(ingestGrants(external)).toEqual(RAW_DATA_TABLES.map((table) => `GRANT INSERT, SHOW COLUMNS ON \`${DB}\`.\`${table}\``));
    await as('ingest', ingest, async (target) => {
      await target.insert(`${DB}.otel_logs`, [apiRequest('default', '1.5'), apiRequest('alice', '2.5')]);
      for (const table of RAW_DATA_TABLES.filter((name) => name !== 'otel_logs')) await target.insert(`${DB}.${table}`, [{ ServiceName: 'claude-code' }]);
      expect(await checkIngest(target, context)).toEqual([]);
      expect(await refused(target.insert(`${DB}.${DERIVED.dailyUsage}`, [{ day: DAY, user: 'mallory', cost_usd: 100 }]))).toMatch(/ACCESS_DENIED/);
      expect(await refused(target.insert(`${DB}.${DERIVED.apiRequests}_data`, [{ day: DAY, user: 'mallory', cost_usd: 100 }]))).toMatch(/ACCESS_DENIED/);
      expect(await refused(target.insert(`${DB}.${DERIVED.migrations}`, [{ version: 99, name: 'x' }]))).toMatch(/ACCESS_DENIED/);
      expect(await refused(target.query(`SELECT count() FROM ${DB}.otel_logs`))).toMatch(/ACCESS_DENIED/);
      expect(await refused(target.exec(`ALTER TABLE ${DB}.otel_logs DELETE WHERE 1`))).toMatch(/ACCESS_DENIED/);
    });
    await as('setup-check', 'setup', async (target) => {
      const rows = await target.query<{ user: string; cost: number }>(`SELECT user, sum(cost_usd) AS cost FROM ${DB}.${DERIVED.dailyUsage} GROUP BY user ORDER BY user`);
      expect(rows).toEqual([{ user: 'alice', cost: 2.5 }, { user: 'default', cost: 1.5 }]);
    });
  });

  it('Ready needs the ingest check: a user without the grants (the old external mode) fails the ClickHouse leg, naming the fix', async () => {
    const noGrants: Emulated = { grants: [], filters: new Map(), settings: [] };
    const problems = await as('ingest-without-grants', noGrants, (target) => checkIngest(target, context));
    expect(problems).toHaveLength(RAW_DATA_TABLES.length);
    expect(problems[0]).toMatch(/^otel_logs: .*ACCESS_DENIED/);

    // The operator's leg, with the engine as the external ClickHouse: the admin account runs the plan,
    // then the leg logs in as the collector's account.
    const accounts: ClickHouseCredentials = {
      admin: { username: OPERATOR, password: 'admin-password' },
      ingest: { username: INGEST_USER, password: 'ingest-password' },
      users: new Map(external.spec.access.users.map((user) => [user.name, { username: user.name, password: `${user.name}-password` }])),
    };
    const leg = (ingestAs: Emulated) =>
      sqlClickHouseLeg(async (_url, account) =>
        embeddedTarget({ path: dataPath, configFile: account.username === INGEST_USER ? configFor(`leg-${ingestAs.grants.length}`, ingestAs) : configFor('leg-admin', 'setup') }),
      );
    const failure = await refused(leg(noGrants).reconcile(external, 'https://ch.example:8443', accounts));
    expect(failure).toContain(`the collector's ClickHouse user ${INGEST_USER} cannot write telemetry (otel_logs: `);
    expect(failure).toContain(`Fix: the operator creates this user from Secret ${stackNames(external.metadata.name).clickhouseIngestSecret} with the account in Secret ch-admin`);
    expect(failure.split('\n')).toHaveLength(1);
    const outcome = await leg(fromPlan('ingest')).reconcile(external, 'https://ch.example:8443', accounts);
    expect(outcome.users).toBe(4);
    // Two reconciles, each setting the TTL of every table that keeps events (the raw and the typed ones).
  }, 180_000);
});

describe('the failure message names the fix for each case, on one line', () => {
  it('in-cluster: restart ClickHouse after the Secret changed; external with a hand-made user: drop it or give it the password', () => {
    const names = stackNames('telemetry');
    const local = ingestFailureMessage(inCluster, ['cannot log in: Code: 516. DB::Exception: otel_ingest: Authentication failed'], false);
    expect(local).toContain(`Fix: the ClickHouse server defines this user from Secret ${names.clickhouseIngestSecret} when it starts`);
    expect(local).toContain(`kubectl -n team rollout restart statefulset/${names.clickhouse}`);
    const conflict = ingestFailureMessage(external, ['otel_logs: ACCESS_DENIED', 'otel_metrics_sum: ACCESS_DENIED'], true);
    expect(conflict).toContain('(otel_logs: ACCESS_DENIED; and 1 more raw table(s))');
    expect(conflict).toContain(`a ClickHouse user ${INGEST_USER} that this stack did not create already exists: drop it`);
    for (const message of [local, conflict]) expect(message.split('\n')).toHaveLength(1);
  });
});

// ---------------------------------------------------------------- Medium 9: what each role sees

describe('what each role reads', () => {
  it('a viewer reads team totals and cannot read anyone\'s per-user cost', async () => {
    const viewer = fromPlan('viewer');
    const library = loadLibrary();
    await as('viewer', viewer, async (target) => {
      for (const table of [DERIVED.dailyUsage, 'otel_logs', DERIVED.apiRequests]) {
        expect(await refused(target.query(`SELECT * FROM ${DB}.${table}`))).toMatch(/ACCESS_DENIED/);
      }
      const team = await target.query(`SELECT * FROM ${DB}.${DERIVED.teamDailyUsage} WHERE requests > 0`);
      expect(team).toEqual([
        { day: DAY, model: 'claude-sonnet-4-5', query_source: 'main', users: 2, requests: 2, cost_usd: 4, input_tokens: 20, output_tokens: 10, cache_read_tokens: 0, cache_creation_tokens: 0 },
      ]);
      // The team reports of the query library run as a viewer; the per-user ones are refused.
      const byModel = library.find((query) => query.name === 'cost-by-model-source')!;
      await target.exec(`USE ${DB}`);
      expect(await target.query(byModel.sql, bindParams(byModel, {}))).toEqual([{ model: 'claude-sonnet-4-5', query_source: 'main', cost_usd: 4, requests: 2 }]);
      const byUser = library.find((query) => query.name === 'cost-by-user')!;
      expect(await refused(target.query(byUser.sql, bindParams(byUser, {})))).toMatch(/ACCESS_DENIED/);
    });
  });

  it('a contributor reads only their own per-user rows, and the team totals', async () => {
    await as('contributor', fromPlan('contributor'), async (target) => {
      expect(await target.query(`SELECT user, sum(cost_usd) AS cost FROM ${DB}.${DERIVED.dailyUsage} GROUP BY user`)).toEqual([{ user: 'default', cost: 1.5 }]);
      expect(await target.query(`SELECT DISTINCT EndUser FROM ${DB}.otel_logs WHERE EndUser != ''`)).toEqual([{ EndUser: 'default' }]);
      // The typed views read tables filled at insert (v9) and the per-prompt rollup (v10): the same policy.
      expect(await target.query(`SELECT user, sum(cost_usd) AS cost FROM ${DB}.${DERIVED.apiRequests} GROUP BY user`)).toEqual([{ user: 'default', cost: 1.5 }]);
      expect(await target.query(`SELECT user, sum(cost_usd) AS cost FROM ${DB}.${DERIVED.dailyPrompts} GROUP BY user`)).toEqual([{ user: 'default', cost: 1.5 }]);
      expect(await target.query(`SELECT sum(cost_usd) AS cost FROM ${DB}.${DERIVED.teamDailyUsage}`)).toEqual([{ cost: 4 }]);
    });
  });

  it('a coordinator (and Grafana\'s user) reads every user\'s rows', async () => {
    expect(ACCESS_MODEL.coordinator.who).toContain(GRAFANA_USER);
    await as('coordinator', fromPlan('coordinator'), async (target) => {
      expect(await target.query(`SELECT user, sum(cost_usd) AS cost FROM ${DB}.${DERIVED.dailyUsage} GROUP BY user ORDER BY user`)).toEqual([
        { user: 'alice', cost: 2.5 },
        { user: 'default', cost: 1.5 },
      ]);
      expect(await target.query(`SELECT user, sum(cost_usd) AS cost FROM ${DB}.${DERIVED.apiRequests} GROUP BY user ORDER BY user`)).toEqual([
        { user: 'alice', cost: 2.5 },
        { user: 'default', cost: 1.5 },
      ]);
    });
  });

  it('the docs are generated from the same table the plan applies', () => {
    const page = accessDocument(GENERATED_NOTICE);
    expect(readFileSync(join(ROOT, 'docs', 'ACCESS.md'), 'utf8')).toBe(page);
    for (const principal of PRINCIPALS) {
      const model = ACCESS_MODEL[principal].grants.map((grant) => `GRANT ${grant.access} ON \`${DB}\`.\`${grant.table}\``);
      expect(fromPlan(principal).grants.sort(), principal).toEqual(model.sort());
    }
    for (const principal of PRINCIPALS) expect(page).toMatch(new RegExp(`^\\| ${principal} \\|`, 'm'));
    expect(page).toMatch(/^\| viewer \| [^|]+ \| `claude_code_team_daily_usage` \| \(no per-user rows\) \| nothing \|/m);
    // Every role that reads a per-user table is named by a policy for it; the others read none.
    for (const principal of PRINCIPALS) {
      const reads = ACCESS_MODEL[principal].grants.some((grant) => grant.access === 'SELECT' && grant.table in USER_ROW_TABLES);
      expect(reads, principal).toBe(ACCESS_MODEL[principal].userRows !== 'none');
    }
  });
});

// ---------------------------------------------------------------- Low: query limits

describe('query limits', () => {
  it('every query role has a settings profile with time and memory limits; the read-only roles are readonly = 2', () => {
    for (const role of ['viewer', 'contributor', 'coordinator', 'admin'] as const) {
      const { settings } = fromPlan(role);
      const byName = new Map(settings.map((setting) => [setting.name, setting]));
      expect(Number(byName.get('max_execution_time')?.max), role).toBeGreaterThan(0);
      expect(Number(byName.get('max_memory_usage')?.max), role).toBeGreaterThan(0);
      expect(byName.get('readonly')?.value, role).toBe(role === 'admin' ? undefined : '2');
    }
  });

  it('the engine enforces them: writes refused, limits capped, the settings clients send still accepted', async () => {
    const viewer = fromPlan('viewer');
    await as('viewer-limits', viewer, async (target) => {
      const [current] = await target.query<Record<string, number | string>>(
        "SELECT getSetting('readonly') AS readonly, getSetting('max_execution_time') AS max_execution_time, getSetting('max_memory_usage') AS max_memory_usage",
      );
      expect(current).toEqual({ readonly: 2, max_execution_time: 60, max_memory_usage: 1024 ** 3 });
      expect(await refused(target.exec('SET max_execution_time = 301'))).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
      expect(await refused(target.exec('SET max_memory_usage = 10000000000'))).toMatch(/SETTING_CONSTRAINT_VIOLATION/);
      expect(await refused(target.exec('SET readonly = 0'))).toMatch(/readonly/i);
      // What @clickhouse/client and Grafana's data source send with each request.
      await target.exec('SET output_format_json_quote_64bit_integers = 0');
      await target.exec('SET output_format_json_quote_decimals = 0');
      await target.exec('SET max_execution_time = 30');
      expect(await refused(target.exec(`CREATE TABLE ${DB}.scratch (a UInt8) ENGINE = Memory`))).toMatch(/readonly|ACCESS_DENIED/i);
    });
  });
});

// ---------------------------------------------------------------- High 3, through the operator

describe('the operator reports it: ClickHouseReady=False naming the fix, until the ingest user can write', { timeout: 240_000 }, () => {
  it('on the real API server, with the engine as the external ClickHouse', async () => {
    const namespace = 'security-access';
    const cluster = await startCluster();
    let operator: RunningOperator | undefined;
    try {
      const admin = clientFor(cluster.kubeConfig);
      await applyCrd(admin);
      await createNamespace(admin, namespace);
      await apply(
        admin,
        // Marked as one a stack may reference (docs/OPERATIONS.md, "Secret references and subjects").
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'ch-admin', namespace, labels: { [REFERENCEABLE_LABEL]: 'true' } }, stringData: { username: OPERATOR, password: 'not-a-real-password' } },
        `/api/v1/namespaces/${namespace}/secrets/ch-admin`,
      );
      // The collector's account: first a user without grants (what external mode had before), then the ingest role's.
      let ingestAs: Emulated = { grants: [], filters: new Map(), settings: [] };
      operator = await startOperator({
        client: clientFor(cluster.kubeConfig),
        log: jsonLogger(() => {}),
        inCluster: false,
        namespaces: [namespace],
        clickhouse: sqlClickHouseLeg(async (_url, account) =>
          embeddedTarget({ path: dataPath, configFile: account.username === INGEST_USER ? configFor(`operator-ingest-${ingestAs.grants.length}`, ingestAs) : configFor('operator-admin', 'setup') }),
        ),
        resyncMs: 3_600_000,
      });
      const spec = { clickhouse: external.spec.clickhouse, access: { users: [{ name: 'alice', role: 'contributor' }] } };
      await applyStack(admin, namespace, 'ext', spec);
      let seen: unknown;
      const failed = await eventually('ClickHouseReady=False with the ingest failure', async () => {
        const stack = await getStack(admin, namespace, 'ext');
        seen = stack.status?.conditions;
        const found = condition(stack, CONDITION.clickhouse);
        return found?.status === 'False' && found.reason === REASON.clickhouseFailed ? found : undefined;
      }, 120_000).catch((error: Error) => {
        throw new Error(`${error.message}; conditions: ${JSON.stringify(seen)}`);
      });
      expect(failed.message).toContain(`the collector's ClickHouse user ${INGEST_USER} cannot write telemetry`);
      expect(failed.message).toContain(`Fix: the operator creates this user from Secret ${stackNames('ext').clickhouseIngestSecret}`);
      expect(condition(await getStack(admin, namespace, 'ext'), 'Ready')?.status).toBe('False');

      ingestAs = fromPlan('ingest');
      // A spec change wakes the operator at once (it would retry on its own after 30 s).
      await applyStack(admin, namespace, 'ext', { ...spec, access: { users: [...spec.access.users, { name: 'bob', role: 'viewer' }] } });
      const healthy = await eventually('ClickHouseReady=True', async () => {
        const found = condition(await getStack(admin, namespace, 'ext'), CONDITION.clickhouse);
        return found?.status === 'True' ? found : undefined;
      }, 120_000);
      expect(healthy.reason).toBe(REASON.schemaApplied);
      await admin.request('DELETE', resourcePath(STACKS, namespace, 'ext'));
      await eventually('the stack to be gone', async () => !(await objectExists(admin, resourcePath(STACKS, namespace, 'ext'))), 60_000);
    } finally {
      await operator?.stop();
      await cluster.stop();
    }
  });
});
