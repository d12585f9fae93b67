/**
 * Per-user access: four roles and the collector's ingest role, one ClickHouse user per
 * `access.users` entry (password stored as SHA-256), grants, row policies and settings
 * profiles per role, all from ACCESS_MODEL (access-model.ts). In an external ClickHouse the
 * collector's ingest user is created here too (in-cluster, the server config defines it).
 * The plan is a pure diff of the desired state against the state read from the system
 * tables, so applying it twice issues nothing the second time.
 *
 * Ownership: roles, row policies and settings profiles carry the `ts_<database>_` prefix; a
 * user is ours when it holds one of our roles. Nothing else is ever altered or dropped.
 *
 * Because a table with any row policy hides every row from a user no policy names,
 * every role that reads a per-user table gets an explicit policy: contributors their own
 * rows, coordinators and admins (and the operator's own user) all rows.
 */
import { createHash } from 'node:crypto';
import type { TelemetryStack } from '../api/resource.ts';
import { ACCESS_MODEL, PRINCIPALS, USER_ROW_TABLES, type Grant, type Principal, type SettingLimit } from './access-model.ts';
import { DERIVED, GRAFANA_USER, GRAFANA_USER_ROLE, INGEST_USER } from './tables.ts';
import { onCluster, qualified, quoteIdentifier, quoteString, type DdlContext } from './sql.ts';
import type { SqlTarget } from './target.ts';

export interface UserCredential {
  /** SHA-256 (hex) of the user's generated password: all ClickHouse ever sees of it. */
  readonly passwordSha256: string;
}

export interface AccessCredentials {
  /** By ClickHouse user name: every spec user, GRAFANA_USER when Grafana is enabled, INGEST_USER in external mode. */
  readonly users: Readonly<Record<string, UserCredential>>;
}

export { USER_ROW_TABLES } from './access-model.ts';

/**
 * The ClickHouse users a stack wants: one per spec user, plus Grafana's read-only data
 * source user when Grafana is on (its name has an underscore, which spec names cannot),
 * plus the collector's ingest user in an external ClickHouse (in-cluster, the server config
 * defines it). Turning Grafana off removes it like any user no longer wanted.
 */
export function desiredUsers(stack: TelemetryStack): { name: string; role: Principal }[] {
  const users: { name: string; role: Principal }[] = stack.spec.access.users.map((user) => ({ name: user.name, role: user.role }));
  if (stack.spec.grafana.enabled) users.push({ name: GRAFANA_USER, role: GRAFANA_USER_ROLE });
  if (stack.spec.clickhouse.mode === 'external') users.push({ name: INGEST_USER, role: 'ingest' });
  return users;
}

export function rolePrefix(database: string): string {
  return `ts_${database}_`;
}

export function roleName(database: string, role: Principal): string {
  return `${rolePrefix(database)}${role}`;
}

/** The settings profile assigned to a role (none when ACCESS_MODEL lists no settings for it). */
export function profileName(database: string, role: Principal): string {
  return `${rolePrefix(database)}${role}_limits`;
}

/** What each role may do (ACCESS_MODEL). Invoker views run with the reader's rights, so row policies apply through them. */
export function roleGrants(role: Principal): readonly Grant[] {
  return ACCESS_MODEL[role].grants;
}

/** The SETTINGS clause of a profile: each setting's value, and its MAX constraint when it has one. */
function settingsClause(settings: readonly SettingLimit[]): string {
  return settings.map((setting) => `${setting.name} = ${setting.value}${setting.max !== undefined ? ` MAX ${setting.max}` : ''}`).join(', ');
}
/** Settings as one comparable string, whether from ACCESS_MODEL or from system.settings_profile_elements (strings, NULL max). */
function settingsKey(settings: readonly { name: string; value: string | number | null; max?: string | number | null }[]): string {
  return settings
    .map((setting) => `${setting.name}=${setting.value ?? ''}${setting.max !== undefined && setting.max !== null ? ` MAX ${setting.max}` : ''}`)
    .sort()
    .join(', ');
}

// ---------------------------------------------------------------- state

export interface ObservedUser {
  readonly name: string;
  /** Our roles this user holds (a user with none is not ours). */
  readonly roles: readonly string[];
  /** Fingerprint of the password hash last set by us (telemetry_access_state), if any. */
  readonly credentialFingerprint?: string;
}

export interface ObservedPolicy {
  readonly name: string;
  readonly table: string;
  readonly filter: string;
  readonly appliesTo: readonly string[];
}

export interface ObservedProfile {
  readonly name: string;
  /** Canonical `name=value MAX max` list, sorted (settingsKey). */
  readonly settings: string;
  readonly appliesTo: readonly string[];
}

export interface AccessState {
  readonly roles: readonly string[];
  readonly grants: readonly { role: string; access: string; table: string }[];
  readonly users: readonly ObservedUser[];
  /** Users that exist but are not ours: never touched, reported as conflicts if the spec names them. */
  readonly foreignUsers: readonly string[];
  readonly policies: readonly ObservedPolicy[];
  /** Our settings profiles (prefixed). */
  readonly profiles: readonly ObservedProfile[];
}

export const EMPTY_ACCESS_STATE: AccessState = { roles: [], grants: [], users: [], foreignUsers: [], policies: [], profiles: [] };

/** Not a credential: a one-way fingerprint of the stored hash, to notice a rotated password. */
export function credentialFingerprint(user: string, passwordSha256: string): string {
  return createHash('sha256').update(`telemetry-stack:${user}:${passwordSha256}`).digest('hex');
}

export interface AccessStatement {
  /** What ran (or would run). */
  readonly sql: string;
  /** The same with any password hash replaced: safe for logs, reports and status. */
  readonly display: string;
}

export interface AccessPlan {
  readonly statements: AccessStatement[];
  /** Fingerprints to record after the statements ran. */
  readonly fingerprints: { user: string; fingerprint: string }[];
  /** Spec users whose name is taken by a ClickHouse user we did not create. */
  readonly conflicts: string[];
}

export interface AccessOptions {
  /** Users that must see all rows besides the roles (the operator's own user, so its backfills read everything). */
  readonly allRowsUsers?: readonly string[];
  /** The stack is going away: want no user at all (the ingest user included), so every user of ours is dropped. */
  readonly removeAllUsers?: boolean;
}

const OWN_ROWS = 'own_rows';
const ALL_ROWS = 'all_rows';

function policyName(database: string, kind: string): string {
  return `${rolePrefix(database)}${kind}`;
}

/** The row policies of the per-user tables: each role with userRows own or all is named by one. */
function desiredPolicies(context: DdlContext, options: AccessOptions): ObservedPolicy[] {
  const holding = (rows: 'own' | 'all') => PRINCIPALS.filter((role) => ACCESS_MODEL[role].userRows === rows).map((role) => roleName(context.database, role));
  const own = holding('own');
  const all = [...holding('all'), ...(options.allRowsUsers ?? [])];
  return Object.entries(USER_ROW_TABLES).flatMap(([table, column]) => [
    ...(own.length > 0 ? [{ name: policyName(context.database, OWN_ROWS), table, filter: `${column} = currentUser()`, appliesTo: own }] : []),
    ...(all.length > 0 ? [{ name: policyName(context.database, ALL_ROWS), table, filter: '1', appliesTo: all }] : []),
  ]);
}

function desiredProfiles(database: string): ObservedProfile[] {
  return PRINCIPALS.filter((role) => ACCESS_MODEL[role].settings.length > 0).map((role) => ({
    name: profileName(database, role),
    settings: settingsKey(ACCESS_MODEL[role].settings),
    appliesTo: [roleName(database, role)],
  }));
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');
const normalizeFilter = (filter: string) => filter.replace(/\s+/g, ' ').trim();

/** The statements that make ClickHouse match the spec. Pure. */
export function planAccess(context: DdlContext, stack: TelemetryStack, credentials: AccessCredentials, state: AccessState, options: AccessOptions = {}): AccessPlan {
  const db = context.database;
  const cluster = onCluster(context);
  const statements: AccessStatement[] = [];
  const add = (sql: string, display = sql) => statements.push({ sql, display });
  const ours = new Set(PRINCIPALS.map((role) => roleName(db, role)));

  for (const role of PRINCIPALS) {
    const name = roleName(db, role);
    if (!state.roles.includes(name)) add(`CREATE ROLE IF NOT EXISTS ${quoteIdentifier(name)}${cluster}`);
    const desired = roleGrants(role);
    const current = state.grants.filter((grant) => grant.role === name);
    const key = (grant: Grant) => `${grant.access}\0${grant.table}`;
    const currentKeys = new Set(current.map(key));
    const desiredKeys = new Set(desired.map(key));
    for (const grant of desired) {
      if (!currentKeys.has(key(grant))) add(`GRANT${cluster} ${grant.access} ON ${qualified(context, grant.table)} TO ${quoteIdentifier(name)}`);
    }
    for (const grant of current) {
      if (!desiredKeys.has(key(grant))) add(`REVOKE${cluster} ${grant.access} ON ${qualified(context, grant.table)} FROM ${quoteIdentifier(name)}`);
    }
  }

  const conflicts: string[] = [];
  const fingerprints: { user: string; fingerprint: string }[] = [];
  const wanted = options.removeAllUsers ? [] : desiredUsers(stack);
  const specUsers = new Set(wanted.map((user) => user.name));
  for (const user of wanted) {
    if (state.foreignUsers.includes(user.name)) {
      conflicts.push(user.name);
      continue;
    }
    const credential = credentials.users[user.name];
    if (!credential || !/^[0-9a-f]{64}$/.test(credential.passwordSha256)) {
      throw new Error(`ClickHouse access: no valid password hash for user "${user.name}" (expected 64 hex characters from its Secret's password_sha256_hex)`);
    }
    const role = roleName(db, user.role);
    const fingerprint = credentialFingerprint(user.name, credential.passwordSha256);
    const identified = (verb: string) => ({
      sql: `${verb} ${quoteIdentifier(user.name)}${cluster} IDENTIFIED WITH sha256_hash BY ${quoteString(credential.passwordSha256)}`,
      display: `${verb} ${quoteIdentifier(user.name)}${cluster} IDENTIFIED WITH sha256_hash BY '[redacted]'`,
    });
    const existing = state.users.find((candidate) => candidate.name === user.name);
    if (!existing) {
      const create = identified('CREATE USER IF NOT EXISTS');
      add(create.sql, create.display);
      fingerprints.push({ user: user.name, fingerprint });
    } else if (existing.credentialFingerprint !== fingerprint) {
      const alter = identified('ALTER USER');
      add(alter.sql, alter.display);
      fingerprints.push({ user: user.name, fingerprint });
    }
    const held = existing?.roles ?? [];
    if (!held.includes(role)) add(`GRANT${cluster} ${quoteIdentifier(role)} TO ${quoteIdentifier(user.name)}`);
    for (const other of held) {
      if (other !== role && ours.has(other)) add(`REVOKE${cluster} ${quoteIdentifier(other)} FROM ${quoteIdentifier(user.name)}`);
    }
  }
  for (const user of state.users) {
    if (!specUsers.has(user.name)) add(`DROP USER IF EXISTS ${quoteIdentifier(user.name)}${cluster}`);
  }

  for (const policy of desiredPolicies(context, options)) {
    const current = state.policies.find((candidate) => candidate.name === policy.name && candidate.table === policy.table);
    if (current && normalizeFilter(current.filter) === policy.filter && sameSet(current.appliesTo, policy.appliesTo)) continue;
    add(
      `CREATE ROW POLICY OR REPLACE ${quoteIdentifier(policy.name)}${cluster} ON ${qualified(context, policy.table)} AS PERMISSIVE FOR SELECT USING ${policy.filter} TO ${policy.appliesTo.map(quoteIdentifier).join(', ')}`,
    );
  }
  // A policy of ours the model no longer wants (e.g. the viewer's, before viewers lost per-user rows) is
  // replaced above or, when no role needs its kind any more, dropped here.
  const wantedPolicies = new Set(desiredPolicies(context, options).map((policy) => `${policy.name}\0${policy.table}`));
  for (const policy of state.policies) {
    if (!wantedPolicies.has(`${policy.name}\0${policy.table}`)) add(`DROP ROW POLICY IF EXISTS ${quoteIdentifier(policy.name)} ON ${qualified(context, policy.table)}${cluster}`);
  }

  const profiles = desiredProfiles(db);
  for (const profile of profiles) {
    const current = state.profiles.find((candidate) => candidate.name === profile.name);
    if (current && current.settings === profile.settings && sameSet(current.appliesTo, profile.appliesTo)) continue;
    const role = PRINCIPALS.find((candidate) => profileName(db, candidate) === profile.name)!;
    add(`CREATE SETTINGS PROFILE OR REPLACE ${quoteIdentifier(profile.name)}${cluster} SETTINGS ${settingsClause(ACCESS_MODEL[role].settings)} TO ${profile.appliesTo.map(quoteIdentifier).join(', ')}`);
  }
  for (const profile of state.profiles) {
    if (!profiles.some((candidate) => candidate.name === profile.name)) add(`DROP SETTINGS PROFILE IF EXISTS ${quoteIdentifier(profile.name)}${cluster}`);
  }
  return { statements, fingerprints, conflicts };
}

// ---------------------------------------------------------------- reading the state (server only)

export async function readAccessState(target: SqlTarget, context: DdlContext): Promise<AccessState> {
  const prefix = rolePrefix(context.database);
  const params = { prefix, database: context.database };
  const roles = await target.query<{ name: string }>('SELECT name FROM system.roles WHERE startsWith(name, {prefix:String})', params);
  const grants = await target.query<{ role: string; access: string; table: string }>(
    `SELECT role_name AS role, toString(access_type) AS access, table FROM system.grants
     WHERE startsWith(role_name, {prefix:String}) AND database = {database:String} AND table IS NOT NULL AND NOT is_partial_revoke`,
    params,
  );
  const roleGrantRows = await target.query<{ user: string; role: string }>(
    'SELECT user_name AS user, granted_role_name AS role FROM system.role_grants WHERE user_name IS NOT NULL AND startsWith(granted_role_name, {prefix:String})',
    params,
  );
  const allUsers = await target.query<{ name: string }>('SELECT name FROM system.users');
  const fingerprints = await target.query<{ user: string; fingerprint: string }>(
    `SELECT user, argMax(fingerprint, updated_at) AS fingerprint FROM ${qualified(context, DERIVED.accessState)} GROUP BY user`,
  );
  const policies = await target.query<{ name: string; table: string; filter: string | null; applies_to: string[] }>(
    `SELECT short_name AS name, table, select_filter AS filter, apply_to_list AS applies_to FROM system.row_policies
     WHERE database = {database:String} AND startsWith(short_name, {prefix:String})`,
    params,
  );
  const profiles = await target.query<{ name: string; applies_to: string[] }>(
    'SELECT name, apply_to_list AS applies_to FROM system.settings_profiles WHERE startsWith(name, {prefix:String})',
    params,
  );
  const profileSettings = await target.query<{ profile: string; name: string; value: string | null; max: string | null }>(
    `SELECT profile_name AS profile, setting_name AS name, value, max FROM system.settings_profile_elements
     WHERE startsWith(profile_name, {prefix:String}) AND setting_name != ''`,
    params,
  );
  const rolesByUser = new Map<string, string[]>();
  for (const row of roleGrantRows) rolesByUser.set(row.user, [...(rolesByUser.get(row.user) ?? []), row.role]);
  const fingerprintByUser = new Map(fingerprints.map((row) => [row.user, row.fingerprint]));
  return {
    roles: roles.map((row) => row.name),
    grants,
    users: [...rolesByUser].map(([name, held]) => ({ name, roles: held, credentialFingerprint: fingerprintByUser.get(name) })),
    foreignUsers: allUsers.map((row) => row.name).filter((name) => !rolesByUser.has(name)),
    policies: policies.map((row) => ({ name: row.name, table: row.table, filter: row.filter ?? '', appliesTo: row.applies_to })),
    profiles: profiles.map((row) => ({
      name: row.name,
      settings: settingsKey(profileSettings.filter((setting) => setting.profile === row.name)),
      appliesTo: row.applies_to,
    })),
  };
}

/** The table where fingerprints of the hashes we set are kept; no role may read it. */
export function accessStateTable(context: DdlContext): string {
  const engine = context.cluster
    ? `ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/${context.database}/${DERIVED.accessState}', '{replica}', updated_at)`
    : 'ReplacingMergeTree(updated_at)';
  return `CREATE TABLE IF NOT EXISTS ${qualified(context, DERIVED.accessState)}${onCluster(context)} (user String, fingerprint String, updated_at DateTime64(3) DEFAULT now64(3)) ENGINE = ${engine} ORDER BY user`;
}

/** Checks a statement with the engine's own parser (`formatQuery`): how the embedded target validates what it cannot run. */
export async function checkSyntax(target: SqlTarget, sql: string): Promise<void> {
  await target.query('SELECT formatQuery({statement:String}) AS formatted', { statement: sql });
}

export interface AccessReport {
  /** executed on a server; planned (parsed, not run) on the embedded engine, which has no access control. */
  readonly mode: 'executed' | 'planned';
  /** Statements issued or planned, password hashes redacted. Empty when nothing differed. */
  readonly statements: string[];
  readonly users: number;
  readonly conflicts: string[];
}

export async function applyAccess(
  target: SqlTarget,
  context: DdlContext,
  stack: TelemetryStack,
  credentials: AccessCredentials,
  options: Pick<AccessOptions, 'removeAllUsers'> = {},
): Promise<AccessReport> {
  if (target.kind === 'embedded') {
    // No access control in the embedded engine: plan against an empty state, parse every statement.
    const plan = planAccess(context, stack, credentials, EMPTY_ACCESS_STATE, { ...options, allRowsUsers: ['default'] });
    for (const statement of plan.statements) await checkSyntax(target, statement.sql);
    return { mode: 'planned', statements: plan.statements.map((s) => s.display), users: stack.spec.access.users.length, conflicts: plan.conflicts };
  }
  await target.exec(accessStateTable(context));
  const [me] = await target.query<{ user: string }>('SELECT currentUser() AS user');
  const state = await readAccessState(target, context);
  const plan = planAccess(context, stack, credentials, state, { ...options, allRowsUsers: me ? [me.user] : [] });
  for (const statement of plan.statements) await target.exec(statement.sql);
  if (plan.fingerprints.length > 0) {
    await target.insert(`${context.database}.${DERIVED.accessState}`, plan.fingerprints);
  }
  return {
    mode: 'executed',
    statements: plan.statements.map((s) => s.display),
    users: stack.spec.access.users.filter((user) => !plan.conflicts.includes(user.name)).length,
    conflicts: plan.conflicts,
  };
}

/**
 * The state readAccessState reports once a plan for this spec has run: what "converged"
 * means. planAccess against it is empty (the property the tests check).
 */
export function convergedAccessState(context: DdlContext, stack: TelemetryStack, credentials: AccessCredentials, options: AccessOptions = {}): AccessState {
  return {
    roles: PRINCIPALS.map((role) => roleName(context.database, role)),
    grants: PRINCIPALS.flatMap((role) => roleGrants(role).map((grant) => ({ role: roleName(context.database, role), ...grant }))),
    users: desiredUsers(stack).map((user) => ({
      name: user.name,
      roles: [roleName(context.database, user.role)],
      credentialFingerprint: credentialFingerprint(user.name, credentials.users[user.name]?.passwordSha256 ?? ''),
    })),
    foreignUsers: [],
    policies: desiredPolicies(context, options),
    profiles: desiredProfiles(context.database),
  };
}
