/**
 * The rendered pipeline on the real collector, fed the way Claude Code feeds it (the JS SDK's
 * OTLP exporters over gRPC and HTTP, delta metrics): per-user basic auth decides the stored
 * identity, and each collection level drops exactly what src/sanitizer/levels.ts (the source of
 * docs/PRIVACY.md) says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEVELS } from '../src/api/spec.ts';
import { IDENTITY_ATTRIBUTE } from '../src/charts/collector/config.ts';
import { stackNames } from '../src/stack/naming.ts';
import { basicAuthorization, SECRET_KEYS } from '../src/stack/secrets.ts';
import { REMOVED_KEYS_ATTRIBUTE } from '../src/sanitizer/fields.ts';
import { eventAllowList, LEVEL_POLICIES, METRIC_ATTRIBUTES } from '../src/sanitizer/levels.ts';
import { type ClaudeCodeEvent, failureCode, type Protocol, sendEvents, sendMetrics, type Target } from '../harness/claude-code-client.ts';
import { benignEvents, claudeCodeMetrics } from '../harness/claude-code-corpus.ts';
import { type RunningCollector, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { OtlpSink, waitFor } from '../harness/otlp-sink.ts';
import { stackFrom } from '../harness/stacks.ts';

const PROTOCOLS: Protocol[] = ['grpc', 'http'];
/** The exporter's queue flushes a batch after 5 s; allow for a loaded machine. */
const ARRIVAL_MS = 30_000;
const GRPC_UNAUTHENTICATED = 16;

const sinks: OtlpSink[] = [];
async function newSink(): Promise<OtlpSink> {
  const sink = await new OtlpSink().start();
  sinks.push(sink);
  return sink;
}

afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(sinks.map((sink) => sink.stop()));
});

function target(collector: RunningCollector, protocol: Protocol, authorization?: string): Target {
  return { protocol, endpoint: protocol === 'grpc' ? collector.grpcEndpoint : collector.httpEndpoint, authorization };
}

/** Tags every event so a test finds exactly the records of one send. */
function tagged(events: ClaudeCodeEvent[], tag: string): ClaudeCodeEvent[] {
  return events.map((event) => ({ ...event, attributes: { ...event.attributes, 'test.send': tag } }));
}

describe('identity: per-user basic auth', () => {
  let sink: OtlpSink;
  let collector: RunningCollector;
  const stack = stackFrom({ level: 'full', access: { users: [{ name: 'alice' }, { name: 'bob', role: 'viewer' }] } });

  beforeAll(async () => {
    sink = await newSink();
    collector = await startCollector({ stack, sinkEndpoint: sink.endpoint });
  });

  it.each(PROTOCOLS)('%s: the stored enduser.id is the authenticated user, whatever the client claims', async (protocol) => {
    const { authorization } = collector.secrets;
    for (const user of ['alice', 'bob']) {
      const claim = { [IDENTITY_ATTRIBUTE]: 'mallory' };
      const events = tagged(benignEvents().slice(0, 2), `${protocol}-${user}`).map((event) => ({ ...event, attributes: { ...event.attributes, ...claim } }));
      const sent = await sendEvents(target(collector, protocol, authorization[user]), events, { [IDENTITY_ATTRIBUTE]: 'mallory-resource' });
      expect(sent.error?.message).toBeUndefined();
      const points = claudeCodeMetrics().map((point) => ({ ...point, attributes: { ...point.attributes, ...claim, 'test.send': `${protocol}-${user}` } }));
      expect((await sendMetrics(target(collector, protocol, authorization[user]), points)).error?.message).toBeUndefined();
    }
    for (const user of ['alice', 'bob']) {
      const tag = `${protocol}-${user}`;
      const logs = () => sink.logs.filter((log) => log.attributes['test.send'] === tag);
      const points = () => sink.points.filter((point) => point.attributes['test.send'] === tag);
      expect(await waitFor(() => logs().length === 2 && points().length === claudeCodeMetrics().length, ARRIVAL_MS), collector.log()).toBe(true);
      for (const record of [...logs(), ...points()]) expect(record.attributes[IDENTITY_ATTRIBUTE]).toBe(user);
      for (const point of points()) expect(point.temporality).toBe(1);
    }
  }, 60_000);

  it.each(PROTOCOLS)('%s: wrong, unknown or missing credentials are refused and nothing is stored', async (protocol) => {
    const refusedCode = protocol === 'grpc' ? GRPC_UNAUTHENTICATED : 401;
    const aliceWithBobsPassword = collector.secrets.authorization.bob!.replace(/^Basic /, '');
    const bobsPassword = Buffer.from(aliceWithBobsPassword, 'base64').toString().split(':')[1]!;
    // The ClickHouse query password is a separate credential: it does not open the collector (nor the token ClickHouse).
    const aliceSecret = collector.secrets.secrets.find((secret) => secret.metadata.name === stackNames(stack.metadata.name).userSecret('alice'))!.stringData;
    expect(aliceSecret[SECRET_KEYS.ingestToken]).not.toBe(aliceSecret[SECRET_KEYS.password]);
    const attempts: Record<string, string | undefined> = {
      'query password instead of the ingestion token': basicAuthorization('alice', aliceSecret[SECRET_KEYS.password]!),
      'wrong password': basicAuthorization('alice', bobsPassword),
      'unknown user': basicAuthorization('mallory', 'not-a-password'),
      'no credentials': undefined,
      'not basic auth': 'Bearer something',
    };
    for (const [label, authorization] of Object.entries(attempts)) {
      const tag = `refused-${protocol}-${label}`;
      const events = await sendEvents(target(collector, protocol, authorization), tagged(benignEvents().slice(0, 1), tag));
      expect(failureCode(events), `${label}: events`).toBe(refusedCode);
      const points = claudeCodeMetrics().map((point) => ({ ...point, attributes: { ...point.attributes, 'test.send': tag } }));
      expect(failureCode(await sendMetrics(target(collector, protocol, authorization), points)), `${label}: metrics`).toBe(refusedCode);
    }
    // An accepted send after the refused ones: once it has arrived, the refused ones would have too.
    const after = `accepted-after-${protocol}`;
    await sendEvents(target(collector, protocol, collector.secrets.authorization.alice), tagged(benignEvents().slice(0, 1), after));
    expect(await waitFor(() => sink.logs.some((log) => log.attributes['test.send'] === after), ARRIVAL_MS)).toBe(true);
    const refused = [...sink.logs, ...sink.points].filter((record) => String(record.attributes['test.send']).startsWith(`refused-${protocol}`));
    expect(refused).toEqual([]);
  }, 60_000);
});

describe('levels: each drops exactly what the level table says', () => {
  /** At the allow-list levels only listed keys survive, so sends are told apart by session id (listed everywhere). */
  const TAG = 'session.id';
  it.each(LEVELS)('%s, over gRPC and HTTP', async (level) => {
    const sink = await newSink();
    const stack = stackFrom({ level, access: { users: [{ name: 'carol' }] } });
    const collector = await startCollector({ stack, sinkEndpoint: sink.endpoint });
    const tag = (events: ClaudeCodeEvent[], protocol: string) => events.map((event) => ({ ...event, attributes: { ...event.attributes, [TAG]: protocol } }));
    for (const protocol of PROTOCOLS) {
      const auth = target(collector, protocol, collector.secrets.authorization.carol);
      expect((await sendEvents(auth, tag(benignEvents(), protocol))).error?.message).toBeUndefined();
      const points = claudeCodeMetrics().map((point) => ({ ...point, attributes: { ...point.attributes, [TAG]: protocol } }));
      expect((await sendMetrics(auth, points)).error?.message).toBeUndefined();
    }
    const policy = LEVEL_POLICIES[level];
    const perProtocol = benignEvents().length;
    const expectedLogs = policy.events ? perProtocol * PROTOCOLS.length : 0;
    const expectedPoints = claudeCodeMetrics().length * PROTOCOLS.length;
    // Events are sent before metrics and flush on the same timer: when the metrics are in, so are the events.
    expect(await waitFor(() => sink.points.length === expectedPoints && sink.logs.length >= expectedLogs, ARRIVAL_MS), collector.log()).toBe(true);
    await collector.stop();

    /** What the level keeps of `attributes` (identity stamped afterwards), with the names of what it removed. */
    const kept = (attributes: Record<string, unknown>, allowed: readonly string[]) => {
      if (!policy.allowList) return attributes;
      const removed = Object.keys(attributes).filter((key) => !allowed.includes(key)).sort();
      const out = Object.fromEntries(Object.entries(attributes).filter(([key]) => allowed.includes(key)));
      return removed.length > 0 ? { ...out, [REMOVED_KEYS_ATTRIBUTE]: removed.join(',') } : out;
    };
    let removedSomething = false;
    for (const protocol of PROTOCOLS) {
      const points = sink.points.filter((point) => point.attributes[TAG] === protocol);
      // Every data point arrives, with the dimensions the level lists.
      expect(points.map((point) => [point.metric, point.value]).sort(), protocol).toEqual(
        claudeCodeMetrics().map((point) => [point.metric, point.value]).sort(),
      );
      for (const point of points) {
        const { [IDENTITY_ATTRIBUTE]: identity, ...attributes } = point.attributes;
        expect(identity).toBe('carol');
        const sent = claudeCodeMetrics().find((p) => p.metric === point.metric && p.value === point.value)!;
        expect(attributes, point.metric).toEqual(kept({ ...sent.attributes, [TAG]: protocol }, METRIC_ATTRIBUTES));
      }
      const logs = sink.logs.filter((log) => log.attributes[TAG] === protocol);
      if (!policy.events) {
        expect(logs, protocol).toEqual([]);
        continue;
      }
      const stored = logs.map((log) => ({ body: log.body, attributes: log.attributes }));
      const expected = tag(benignEvents(), protocol).map((event, sequence) => {
        const sent = { 'event.name': event.name, 'event.sequence': sequence, ...event.attributes };
        const attributes = kept(sent, eventAllowList(event.name));
        if (REMOVED_KEYS_ATTRIBUTE in attributes) removedSomething = true;
        return { body: `claude_code.${event.name}`, attributes: { ...attributes, [IDENTITY_ATTRIBUTE]: 'carol' } };
      });
      expect(withoutTimestamps(stored), protocol).toEqual(withoutTimestamps(expected));
    }
    expect(sink.logs.length).toBe(expectedLogs);
    // The rendered configuration runs without the collector complaining (deprecations are warnings).
    const complaints = collector.log().split('\n').filter((line) => /"level":"(warn|error)"/.test(line));
    expect(complaints).toEqual([]);
    // What the level removes was really sent: the corpus carries attributes the allow-list leaves out.
    if (policy.allowList && policy.events) expect(removedSomething).toBe(true);
  }, 60_000);
});

function withoutTimestamps(list: { body: unknown; attributes: Record<string, unknown> }[]) {
  return list
    .map(({ body, attributes: { 'event.timestamp': _timestamp, ...rest } }) => ({ body, attributes: rest }))
    .sort((a, b) => Number(a.attributes['event.sequence']) - Number(b.attributes['event.sequence']));
}
