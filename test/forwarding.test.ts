/**
 * Forwarding, laptop to team (spec.upstream; docs/MIGRATION.md option B, docs/OPERATIONS.md
 * "Forwarding a laptop stack to a team stack"): a laptop stack's real collector, running its
 * rendered configuration with an upstream exporter, forwards to a team stack's real collector,
 * which serves TLS (collector.tls) and writes with its real ClickHouse exporter through the
 * ClickHouse front into the migrated schema on the embedded engine; the laptop writes its own copy
 * the same way. A TCP tap between the two records every byte the laptop sends upstream.
 *
 * What is proven:
 * - identity: the team stores every record under the user the forwarder's credential
 *   authenticates (alice), never under the laptop's own user (named bob, like a real team member,
 *   so a laptop claiming to be someone else is the case tested) nor what the client claimed;
 * - levels: the laptop's level and rule apply first (a marker its rule replaces never reaches the
 *   team), the team's level and rule on top (content the laptop's level keeps is gone);
 * - each record once, through an outage: the team collector stopped while the laptop keeps
 *   receiving, the laptop itself restarted meanwhile (its upstream queue is on disk), then the team
 *   started again;
 * - the credential is never sent in clear: every connection upstream is TLS records from its
 *   first byte, the laptop trusts only upstream.caSecret (another CA's certificate is refused and
 *   nothing arrives), and a plain-text http:// upstream is refused by validation.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryStack } from '../src/api/resource.ts';
import { validateStack } from '../src/api/validate.ts';
import { COLLECTOR_ENV, COLLECTOR_PATHS, IDENTITY_ATTRIBUTE } from '../src/charts/collector/config.ts';
import { DERIVED, RAW_TABLES } from '../src/clickhouse/tables.ts';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { describeRun, runClaude, telemetryEnvFromCli } from './support/claude-code.ts';
import type { ClickHouseFront } from './support/clickhouse-front.ts';
import { type RunningCollector, type StackSecrets, stackSecrets, startCollector } from '../harness/collector.ts';
import { type MessagesApi, text, toolUse, type Usage } from './support/messages-api.ts';
import { stackFrom } from '../harness/stacks.ts';
import { waitFor, WholePath } from './support/whole-path.ts';
import { notTlsRecords, TcpTap, throwawayPki, type ThrowawayPki } from './support/tls-tap.ts';

/** Two collectors' batches (about 5 s each) and the upstream exporter's retries (up to 30 s apart), on a loaded two-core machine. */
const ARRIVAL_MS = 150_000;

const LAPTOP_RULE = { name: 'laptop-codename', pattern: 'LAPTOPSECRET-[0-9]+' };
const TEAM_RULE = { name: 'team-ticket', pattern: 'TEAMSECRET-[0-9]+' };
/** The forwarder's credential at the team stack is alice's; the laptop's own user has a team member's name too. */
const FORWARDER = 'alice';
const LAPTOP_USER = 'bob';

let path: WholePath;
let target: SqlTarget;
let api: MessagesApi;
let pki: ThrowawayPki;

beforeAll(async () => {
  path = await WholePath.start(); // a missing client fails the file at once, with the install command
  target = path.target;
  api = path.api;
  pki = throwawayPki(); // a missing openssl fails the file, naming the package
  path.removeLater(pki.dir);
}, 120_000);

afterAll(async () => {
  await path?.stop();
});

const count = async (sql: string) => Number((await target.query<{ n: number }>(sql))[0]!.n);

/** A TCP tap in front of a port, stopped with the harness. */
async function tapTo(port: () => number): Promise<TcpTap> {
  const tap = await new TcpTap(port).start();
  path.onStop(() => tap.stop());
  return tap;
}

/** A stack's ClickHouse side: the migrated database on the shared engine and a front its exporter logs in to. */
const storage = (stack: TelemetryStack, secrets: StackSecrets): Promise<ClickHouseFront> => path.storage(stack.spec.clickhouse.database, secrets);

interface Stack {
  readonly stack: TelemetryStack;
  readonly database: string;
  readonly secrets: StackSecrets;
  collector: RunningCollector;
  /** Starts the collector again on the same directory (and so the same persistent queue); a laptop may trust another CA directory then. */
  restart(options?: { caDir?: string }): Promise<void>;
}

/** The team stack: level enhanced, its own rule, TLS on the receivers, alice and bob as members. */
async function teamStack(database: string): Promise<Stack> {
  const stack = stackFrom(
    {
      level: 'enhanced',
      clickhouse: { database },
      collector: { tls: { secretName: 'platform-team-otlp-tls' } },
      access: { users: [{ name: FORWARDER, role: 'contributor' }, { name: LAPTOP_USER, role: 'contributor' }] },
      sanitizer: { rules: [TEAM_RULE] },
    },
    'platform-team',
    'telemetry',
  );
  const secrets = stackSecrets(stack);
  const front = await storage(stack, secrets);
  const start = (dir?: string) =>
    startCollector({ stack, secrets, clickhouseEndpoint: front.endpoint, mounts: { [COLLECTOR_PATHS.tlsDir]: pki.servingDir }, ...(dir ? { dir } : {}) });
  const team: Stack = {
    stack,
    database,
    secrets,
    collector: await start(),
    async restart() {
      team.collector = await start(team.collector.dir);
    },
  };
  return team;
}

/** The laptop stack: level full, its own rule, forwarding with alice's team credential, trusting `caDir`. */
async function laptopStack(database: string, upstream: { endpoint: string; protocol: 'grpc' | 'http' }, authorization: string, caDir = pki.caDir): Promise<Stack> {
  const stack = stackFrom(
    {
      level: 'full',
      clickhouse: { database },
      access: { users: [{ name: LAPTOP_USER, role: 'admin' }] },
      sanitizer: { rules: [LAPTOP_RULE] },
      upstream: { ...upstream, caSecret: { name: 'platform-team-ca' }, headersSecret: { name: 'upstream-auth' } },
    },
    'local',
    'telemetry',
  );
  const secrets = stackSecrets(stack);
  const front = await storage(stack, secrets);
  const start = (dir?: string, trusted = caDir) =>
    startCollector({
      stack,
      secrets,
      clickhouseEndpoint: front.endpoint,
      mounts: { [COLLECTOR_PATHS.upstreamCaDir]: trusted },
      // What the pod gets from upstream.headersSecret through secretKeyRef.
      env: { [COLLECTOR_ENV.upstreamAuthorization]: authorization },
      ...(dir ? { dir } : {}),
    });
  const laptop: Stack = {
    stack,
    database,
    secrets,
    collector: await start(),
    async restart(options = {}) {
      laptop.collector = await start(laptop.collector.dir, options.caDir);
    },
  };
  return laptop;
}

/** Log records per event name, and metric points per metric name, as a stack stored them. */
async function stored(database: string): Promise<Record<string, number>> {
  const logs = await target.query<{ name: string; n: number }>(
    `SELECT concat('log/', LogAttributes['event.name']) AS name, count() AS n FROM ${database}.${RAW_TABLES.logs} GROUP BY name`,
  );
  const points = await target.query<{ name: string; n: number }>(
    `SELECT concat('sum/', MetricName) AS name, count() AS n FROM ${database}.${RAW_TABLES.metricsSum} GROUP BY name
     UNION ALL SELECT concat('gauge/', MetricName) AS name, count() AS n FROM ${database}.${RAW_TABLES.metricsGauge} GROUP BY name`,
  );
  return Object.fromEntries([...logs, ...points].map((row) => [row.name, Number(row.n)]).sort(([a], [b]) => String(a).localeCompare(String(b))));
}

/** The authenticated users a stack stored events and metric points under. */
async function storedUsers(database: string): Promise<string[]> {
  const rows = await target.query<{ user: string }>(
    `SELECT DISTINCT authenticated_user AS user FROM ${database}.${DERIVED.events}
     UNION DISTINCT SELECT DISTINCT authenticated_user AS user FROM ${database}.${DERIVED.metricIncrements}`,
  );
  return rows.map((row) => row.user).sort();
}

/** Every row of every table and view, as text. */
async function everything(database: string): Promise<string> {
  const tables = await target.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`);
  const out: string[] = [];
  for (const { name } of tables) out.push(JSON.stringify(await target.query(`SELECT * FROM ${database}.\`${name}\``)));
  return out.join('\n');
}

/** The laptop's upstream queue is empty: what it held has been sent and acknowledged. */
async function upstreamDrained(collector: RunningCollector): Promise<boolean> {
  const text = await fetch(`http://127.0.0.1:${collector.ports.metrics}/metrics`).then((r) => r.text(), () => '');
  const sizes = text.split('\n').filter((line) => line.startsWith('otelcol_exporter_queue_size{') && line.includes('/upstream"'));
  return sizes.length > 0 && sizes.every((line) => Number(line.split(' ').at(-1)) === 0);
}

/**
 * The tap saw the laptop's traffic: every connection TLS from its first byte, and neither the
 * Authorization value nor the password inside it anywhere in what was sent.
 */
function sentOnlyTls(tap: TcpTap, authorization: string): void {
  const password = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString('utf8').split(':').slice(1).join(':');
  expect(password.length).toBeGreaterThan(8);
  const streams = tap.connections.filter((c) => c.sent.length > 0).map((c) => Buffer.concat(c.sent));
  expect(streams.length).toBeGreaterThan(0);
  for (const stream of streams) {
    expect(notTlsRecords(stream)).toBeUndefined();
    for (const secret of [authorization, authorization.replace(/^Basic /, ''), password]) expect(stream.includes(secret)).toBe(false);
  }
}

/** OTLP/JSON tool_result records with what the levels and the two rules act on. */
function toolResults(sessions: string[]): string {
  const now = `${Date.now()}000000`;
  const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [kv('service.name', 'claude-code'), kv('service.version', '2.1.328')] },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events' },
            logRecords: sessions.map((session) => ({
              timeUnixNano: now,
              observedTimeUnixNano: now,
              body: { stringValue: 'claude_code.tool_result' },
              attributes: [
                kv('event.name', 'tool_result'),
                kv('session.id', session),
                kv('tool_name', 'Bash'),
                kv('success', 'true'),
                // Kept at every level: each rule shows on it.
                kv('terminal.type', 'xterm TEAMSECRET-4411 LAPTOPSECRET-5522'),
                // Free text: the laptop's level (full) keeps it, the team's (enhanced) removes it.
                kv('tool_parameters', JSON.stringify({ bash_command: 'printf command-marker-fwd-7731' })),
                // A client's claim; the laptop stamps its own user over it.
                kv(IDENTITY_ATTRIBUTE, 'carol'),
              ],
            })),
          },
        ],
      },
    ],
  });
}

async function send(laptop: Stack, sessions: string[]): Promise<void> {
  const response = await fetch(`${laptop.collector.httpEndpoint}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: laptop.secrets.authorization[LAPTOP_USER]! },
    body: toolResults(sessions),
  });
  expect(response.status, await response.text()).toBe(200);
}

/** Stored tool_result records per session in a database (each must be 1). */
async function perSession(database: string, prefix: string): Promise<Record<string, number>> {
  const rows = await target.query<{ session: string; n: number }>(
    `SELECT LogAttributes['session.id'] AS session, count() AS n FROM ${database}.${RAW_TABLES.logs} WHERE startsWith(session, '${prefix}') GROUP BY session ORDER BY session`,
  );
  return Object.fromEntries(rows.map((row) => [row.session, Number(row.n)]));
}

const once = (sessions: string[]) => Object.fromEntries([...sessions].sort().map((session) => [session, 1]));

const USAGE_BASH: Usage = { input_tokens: 1234, output_tokens: 56, cache_read_input_tokens: 7890, cache_creation_input_tokens: 321 };
const USAGE_WRITE: Usage = { input_tokens: 2111, output_tokens: 67, cache_read_input_tokens: 8123, cache_creation_input_tokens: 45 };
const USAGE_TEXT: Usage = { input_tokens: 2345, output_tokens: 78, cache_read_input_tokens: 9012, cache_creation_input_tokens: 43 };
const TOKENS = [USAGE_BASH, USAGE_WRITE, USAGE_TEXT].reduce(
  (sum, u) => sum + u.input_tokens + u.output_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens,
  0,
);

describe('forwarding, laptop stack to team stack (spec.upstream)', () => {
  it('the real client on a laptop at level full forwards over TLS gRPC: the team stores each record once, as the forwarder\'s user, at its own level', async () => {
    const team = await teamStack('fwd_team_client');
    const tap = await tapTo(() => team.collector.ports.grpc);
    const forwarderAuthorization = team.secrets.authorization[FORWARDER]!;
    const laptop = await laptopStack('fwd_laptop_client', { endpoint: `127.0.0.1:${tap.port}`, protocol: 'grpc' }, forwarderAuthorization);
    // The credential reaches the collector as an environment variable, never in its configuration.
    expect(laptop.collector.config.exporters['otlp_grpc/upstream'].headers).toEqual({ authorization: `\${env:${COLLECTOR_ENV.upstreamAuthorization}}` });
    expect(readFileSync(join(laptop.collector.dir, 'config.yaml'), 'utf8')).not.toContain(forwarderAuthorization);

    const recorder = await path.recorder(laptop.collector.httpEndpoint);
    const telemetryEnv = (await telemetryEnvFromCli({ stack: laptop.stack, secrets: laptop.secrets, user: LAPTOP_USER, endpoint: recorder.endpoint })).env;
    const cwd = path.tempDir();
    const markers = { prompt: 'prompt-marker-fwd-4402', command: 'command-marker-fwd-8817', content: 'content-marker-fwd-6630' };
    api.setScript([
      toolUse('Bash', { command: `printf ${markers.command} > bash-out.txt`, description: 'Write a file' }, USAGE_BASH),
      toolUse('Write', { file_path: join(cwd, 'notes.txt'), content: markers.content }, USAGE_WRITE),
      text('All done.', USAGE_TEXT),
    ]);
    const run = await runClaude({
      prompt: `Please note ${markers.prompt} for project LAPTOPSECRET-1234 and write the files`,
      apiUrl: api.url,
      telemetryEnv,
      cwd,
      allowedTools: ['Bash', 'Write'],
    });
    expect(run.timedOut, describeRun(run)).toBe(false);
    expect(run.code, describeRun(run)).toBe(0);
    expect(api.unscripted, api.describe()).toEqual([]);
    for (const e of recorder.exports) expect(e.status, `the laptop collector answered ${e.status} to ${e.path}`).toBe(200);
    const apiRequests = recorder.acceptedLogs.filter((log) => log.attributes['event.name'] === 'api_request');
    expect(apiRequests.length).toBe(3);
    expect(JSON.stringify(recorder.allLogs), 'the client did not send the prompt').toContain('LAPTOPSECRET-1234');

    // Both stacks hold the session: three requests, two tools, every token; then the team holds
    // exactly what the laptop holds, record for record, and the laptop has nothing left to send.
    const sessionComplete = async (database: string) =>
      (await count(`SELECT count() AS n FROM ${database}.${DERIVED.apiRequests}`)) === 3 &&
      (await count(`SELECT count() AS n FROM ${database}.${DERIVED.toolResults}`)) === 2 &&
      (await count(`SELECT sum(increment) AS n FROM ${database}.${DERIVED.metricIncrements} WHERE metric = 'claude_code.token.usage'`)) === TOKENS;
    const same = async () => JSON.stringify(await stored(team.database)) === JSON.stringify(await stored(laptop.database));
    const arrived = await waitFor(
      async () => (await sessionComplete(laptop.database)) && (await sessionComplete(team.database)) && (await same()) && (await upstreamDrained(laptop.collector)),
      ARRIVAL_MS,
    );
    expect(arrived, `laptop ${JSON.stringify(await stored(laptop.database))}\nteam ${JSON.stringify(await stored(team.database))}\n${laptop.collector.log().slice(-4000)}\n${team.collector.log().slice(-4000)}`).toBe(true);
    const teamCounts = await stored(team.database);
    expect(teamCounts['log/api_request']).toBe(3);
    expect(teamCounts['log/user_prompt']).toBeGreaterThan(0);
    expect(teamCounts).toEqual(await stored(laptop.database));

    // Identity: the team authenticated alice's credential; the laptop's bob is gone, as is any claim.
    expect(await storedUsers(laptop.database)).toEqual([LAPTOP_USER]);
    expect(await storedUsers(team.database)).toEqual([FORWARDER]);
    const byUser = await path.report<{ user: string; cost_usd: number; requests: number }>(team.database, 'cost-by-user');
    const sentCost = apiRequests.reduce((sum, log) => sum + Number(log.attributes.cost_usd), 0);
    expect(byUser.map(({ user, cost_usd, requests }) => ({ user, cost_usd, requests: Number(requests) }))).toEqual([
      { user: FORWARDER, cost_usd: expect.closeTo(sentCost, 6), requests: 3 },
    ]);

    // Levels: the laptop (full) keeps the prompt and the command, with its rule's replacement; the
    // team (enhanced) keeps neither; the marker the laptop's rule replaced reaches neither.
    const laptopRows = await everything(laptop.database);
    for (const marker of [markers.prompt, markers.command]) expect(laptopRows, `${marker} not stored on the laptop at level full`).toContain(marker);
    expect(laptopRows).toContain(`[REDACTED:${LAPTOP_RULE.name}]`);
    const teamRows = await everything(team.database);
    for (const marker of [...Object.values(markers), 'LAPTOPSECRET-1234']) expect(teamRows, `${marker} reached the team`).not.toContain(marker);
    expect(laptopRows).not.toContain('LAPTOPSECRET-1234');

    // The credential went upstream inside TLS only.
    expect(tap.connections.some((c) => c.reached)).toBe(true);
    sentOnlyTls(tap, forwarderAuthorization);
  }, 420_000);

  it('an outage of the team stack, with a laptop restart in it, loses nothing and duplicates nothing (OTLP/HTTP over TLS); each rule and level on top of the other', async () => {
    const team = await teamStack('fwd_team_outage');
    const tap = await tapTo(() => team.collector.ports.http);
    const forwarderAuthorization = team.secrets.authorization[FORWARDER]!;
    const laptop = await laptopStack('fwd_laptop_outage', { endpoint: `https://127.0.0.1:${tap.port}`, protocol: 'http' }, forwarderAuthorization);
    const upstreamQueue = laptop.collector.config.exporters['otlp_http/upstream'].sending_queue;
    expect(upstreamQueue.storage, 'the upstream queue is not persistent').toBe('file_storage/queue');
    const sessions = (batch: string) => Array.from({ length: 4 }, (_, i) => `fwd-outage-${batch}-${i}`);
    const [before, during, afterRestart] = [sessions('a'), sessions('b'), sessions('c')];
    const all = [...before, ...during, ...afterRestart];

    await send(laptop, before);
    expect(await waitFor(async () => Object.keys(await perSession(team.database, 'fwd-outage-')).length === before.length, ARRIVAL_MS), team.collector.log()).toBe(true);

    // The team goes away; the laptop keeps receiving and storing, and tries to forward.
    await team.collector.stop();
    const attemptsBefore = tap.connections.length;
    await send(laptop, during);
    expect(await waitFor(async () => Object.keys(await perSession(laptop.database, 'fwd-outage-b-')).length === during.length, ARRIVAL_MS)).toBe(true);
    expect(await waitFor(() => tap.connections.slice(attemptsBefore).some((c) => c.refused), ARRIVAL_MS), 'the laptop did not try to forward during the outage').toBe(true);
    // The laptop restarts during the outage: what it had not forwarded is in its queue on disk.
    await laptop.collector.stop();
    await laptop.restart();
    await send(laptop, afterRestart);
    expect(await waitFor(async () => Object.keys(await perSession(laptop.database, 'fwd-outage-c-')).length === afterRestart.length, ARRIVAL_MS)).toBe(true);
    expect(Object.keys(await perSession(team.database, 'fwd-outage-')).sort()).toEqual([...before].sort());

    await team.restart();
    const complete = async () => JSON.stringify(await perSession(team.database, 'fwd-outage-')) === JSON.stringify(once(all)) && (await upstreamDrained(laptop.collector));
    expect(await waitFor(complete, ARRIVAL_MS), `team ${JSON.stringify(await perSession(team.database, 'fwd-outage-'))}\n${laptop.collector.log().slice(-4000)}`).toBe(true);
    expect(await perSession(team.database, 'fwd-outage-')).toEqual(once(all));
    expect(await perSession(laptop.database, 'fwd-outage-')).toEqual(once(all));

    // Identity: the client's claim (carol) and the laptop's user (bob) are replaced by what the team authenticated.
    const users = async (database: string) =>
      (await target.query<{ user: string }>(`SELECT DISTINCT LogAttributes['${IDENTITY_ATTRIBUTE}'] AS user FROM ${database}.${RAW_TABLES.logs}`)).map((r) => r.user);
    expect(await users(team.database)).toEqual([FORWARDER]);
    expect(await users(laptop.database)).toEqual([LAPTOP_USER]);

    // Rules and levels: the laptop's rule first, the team's on top; the team's level removes free
    // text the laptop's level (full) kept.
    const attributes = async (database: string) =>
      target.query<{ terminal: string; parameters: number }>(
        `SELECT DISTINCT LogAttributes['terminal.type'] AS terminal, mapContains(LogAttributes, 'tool_parameters') AS parameters FROM ${database}.${RAW_TABLES.logs}`,
      );
    expect(await attributes(laptop.database)).toEqual([{ terminal: `xterm TEAMSECRET-4411 [REDACTED:${LAPTOP_RULE.name}]`, parameters: 1 }]);
    expect(await attributes(team.database)).toEqual([{ terminal: `xterm [REDACTED:${TEAM_RULE.name}] [REDACTED:${LAPTOP_RULE.name}]`, parameters: 0 }]);
    const teamRows = await everything(team.database);
    for (const marker of ['command-marker-fwd-7731', 'LAPTOPSECRET-5522', 'TEAMSECRET-4411', 'carol']) expect(teamRows, `${marker} reached the team`).not.toContain(marker);

    sentOnlyTls(tap, forwarderAuthorization);
  }, 420_000);

  it('the laptop trusts only upstream.caSecret: a team certificate from another CA gets nothing until the right CA is mounted, then the queue drains once', async () => {
    const team = await teamStack('fwd_team_wrong_ca');
    const tap = await tapTo(() => team.collector.ports.grpc);
    const forwarderAuthorization = team.secrets.authorization[FORWARDER]!;
    const laptop = await laptopStack('fwd_laptop_wrong_ca', { endpoint: `127.0.0.1:${tap.port}`, protocol: 'grpc' }, forwarderAuthorization, pki.otherCaDir);
    await send(laptop, ['fwd-wrongca-0']);
    expect(await waitFor(() => /certificate signed by unknown authority/.test(laptop.collector.log()), ARRIVAL_MS), laptop.collector.log().slice(-4000)).toBe(true);
    expect(await waitFor(async () => (await perSession(laptop.database, 'fwd-wrongca-')).hasOwnProperty('fwd-wrongca-0'), ARRIVAL_MS)).toBe(true);
    expect(await perSession(team.database, 'fwd-wrongca-')).toEqual({});
    sentOnlyTls(tap, forwarderAuthorization);
    // A refused certificate is retried, not dropped: with the team's CA mounted, what waited arrives, once.
    expect(laptop.collector.log()).not.toContain('Dropping data');
    await laptop.collector.stop();
    await laptop.restart({ caDir: pki.caDir });
    const arrived = async () => JSON.stringify(await perSession(team.database, 'fwd-wrongca-')) === JSON.stringify(once(['fwd-wrongca-0'])) && (await upstreamDrained(laptop.collector));
    expect(await waitFor(arrived, ARRIVAL_MS), laptop.collector.log().slice(-4000)).toBe(true);
    expect(await perSession(team.database, 'fwd-wrongca-')).toEqual(once(['fwd-wrongca-0']));
  }, 240_000);

  it('the tap\'s check tells plain text from TLS records (so an empty finding above means something)', () => {
    expect(notTlsRecords(Buffer.from('POST /v1/logs HTTP/1.1\r\nAuthorization: Basic YWxpY2U6eA==\r\n\r\n'))).toMatch(/not a TLS handshake record/);
    expect(notTlsRecords(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))).toMatch(/not a TLS handshake record/);
    // A handshake record followed by bytes that are not a record header.
    expect(notTlsRecords(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x02, 0x01, 0x00]), Buffer.from('GET / HTTP/1.1\r\n')]))).toMatch(/is not a TLS record/);
    expect(notTlsRecords(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x02, 0x01, 0x00, 0x17, 0x03, 0x03, 0x00, 0x01, 0xff]))).toBeUndefined();
  });

  it('validation refuses a plain-text http:// upstream, in one line naming the field and the fix', () => {
    const result = validateStack({
      upstream: { endpoint: 'http://telemetry.example.com:4318', protocol: 'http', headersSecret: { name: 'upstream-auth' } },
    });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual([{ path: 'spec.upstream.endpoint', message: expect.stringMatching(/Authorization header in plain text: use https:\/\//) }]);
    expect(`${problems[0]!.path}: ${problems[0]!.message}`).not.toContain('\n');
  });

  it('validation refuses host:port with protocol http, which the OTLP/HTTP exporter cannot use (it took the host for a URL scheme)', () => {
    // Once accepted: with an IP address the laptop's collector did not start ("endpoint must be a
    // valid URL"), taking local collection down too; with a host name it retried for ever,
    // "unsupported protocol scheme", and forwarded nothing.
    for (const endpoint of ['central.example.internal:4318', '10.0.0.7:4318', 'localhost:4318/otlp']) {
      const result = validateStack({ upstream: { endpoint, protocol: 'http', headersSecret: { name: 'upstream-auth' } } });
      expect(result.ok ? [] : result.problems, endpoint).toEqual([
        { path: 'spec.upstream.endpoint', message: expect.stringMatching(/^endpoint must be a URL with its scheme when protocol is http, e\.g\. "https:\/\/[^"]+"/) },
      ]);
    }
    // host:port stays the gRPC form; a URL stays valid for both.
    expect(validateStack({ upstream: { endpoint: 'central.example.internal:4317' } }).ok).toBe(true);
    expect(validateStack({ upstream: { endpoint: 'https://central.example.internal:4318', protocol: 'http' } }).ok).toBe(true);
    expect(validateStack({ upstream: { endpoint: 'http://central.example.internal:4318', protocol: 'http', insecure: true } }).ok).toBe(true);
  });
});
