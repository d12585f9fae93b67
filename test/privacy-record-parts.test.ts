/**
 * At `full` the sanitizer covers every part of a record that can carry text, on the real
 * collector: besides record and resource attributes (tested elsewhere), a map or array body,
 * severity text, event name, scope name, version and attributes, and metric descriptions. A raw
 * OTLP/JSON downstream keeps what the collector sends whole, so parts the flattening sinks
 * drop are checked too.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCollector, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { closeServer, listenOnLoopback } from '../harness/local-server.ts';
import { waitFor } from '../harness/otlp-sink.ts';
import { stackFrom } from '../harness/stacks.ts';

/** A token the github-tokens preset redacts, and what it leaves. */
const TOKEN = 'ghp_16C7e42F292c6912E7710c838347Ae178B4a';
const REDACTED = '[REDACTED:github-tokens]';
const ARRIVAL_MS = 45_000;

const received: { path: string; payload: any }[] = [];
let server: Server;
let endpoint: string;
let collector: RunningCollector;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  endpoint = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  collector = await startCollector({ stack: stackFrom({ level: 'full', access: { users: [{ name: 'lee' }] } }), sinkEndpoint: endpoint });
}, 120_000);

afterAll(async () => {
  await stopAllCollectors();
  await closeServer(server);
});

const str = (value: string) => ({ stringValue: value });
const kv = (key: string, value: unknown) => ({ key, value });
const nanos = () => `${Date.now()}000000`;

async function post(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${collector.httpEndpoint}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: collector.secrets.authorization.lee! },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  expect(response.status).toBe(200);
}

const scope = (tag: string) => ({ name: `scope ${TOKEN}`, version: `v1 ${TOKEN}`, attributes: [kv('scope.note', str(`token ${TOKEN}`)), kv('tag', str(tag))] });

describe('every part of a record is sanitized at full', () => {
  it('logs: map and array bodies, severity text, event name, scope name, version and attributes', async () => {
    const record = (body: unknown) => ({
      timeUnixNano: nanos(),
      severityText: `WARN ${TOKEN}`,
      eventName: `claude_code.custom ${TOKEN}`,
      body,
      attributes: [kv('event.name', str('brand_new_event')), kv('session.id', str('s-parts'))],
    });
    await post('/v1/logs', {
      resourceLogs: [
        {
          resource: { attributes: [kv('service.name', str('claude-code'))] },
          scopeLogs: [
            {
              scope: scope('logs'),
              logRecords: [
                record({ kvlistValue: { values: [kv('command', str(`curl -H "Authorization: token ${TOKEN}"`)), kv('nested', { kvlistValue: { values: [kv('deep', str(TOKEN))] } })] } }),
                record({ arrayValue: { values: [str('first'), str(TOKEN)] } }),
              ],
            },
          ],
        },
      ],
    });
    const logs = () => received.filter((r) => r.path === '/v1/logs').flatMap((r) => r.payload.resourceLogs.flatMap((rl: any) => rl.scopeLogs));
    expect(await waitFor(() => logs().flatMap((sl: any) => sl.logRecords).length >= 2, ARRIVAL_MS), collector.log()).toBe(true);
    const text = JSON.stringify(logs());
    expect(text).not.toContain(TOKEN);
    const [scopeLogs] = logs();
    expect(scopeLogs.scope.name).toBe(`scope ${REDACTED}`);
    expect(scopeLogs.scope.version).toBe(`v1 ${REDACTED}`);
    expect(scopeLogs.scope.attributes).toEqual([kv('scope.note', str(`token ${REDACTED}`)), kv('tag', str('logs'))]);
    const [mapRecord, arrayRecord] = scopeLogs.logRecords;
    expect(mapRecord.severityText).toBe(`WARN ${REDACTED}`);
    expect(mapRecord.eventName).toBe(`claude_code.custom ${REDACTED}`);
    // The body as the exporter would store it (its JSON text), the token gone, the rest kept.
    expect(JSON.parse(mapRecord.body.stringValue)).toEqual({ command: `curl -H "Authorization: token ${REDACTED}"`, nested: { deep: REDACTED } });
    expect(JSON.parse(arrayRecord.body.stringValue)).toEqual(['first', REDACTED]);
    // The temporary keys the parts travel under are gone.
    expect(mapRecord.attributes.map((a: any) => a.key).sort()).toEqual(['enduser.id', 'event.name', 'session.id']);
  }, 120_000);

  it('metrics: the description, the scope and an array data-point attribute', async () => {
    await post('/v1/metrics', {
      resourceMetrics: [
        {
          resource: { attributes: [kv('service.name', str('claude-code'))] },
          scopeMetrics: [
            {
              scope: scope('metrics'),
              metrics: [
                {
                  name: 'claude_code.cost.usage',
                  unit: 'USD',
                  description: `Cost, see ${TOKEN}`,
                  sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ startTimeUnixNano: nanos(), timeUnixNano: nanos(), asDouble: 0.5, attributes: [kv('session.id', str('s-parts')), kv('point.list', { arrayValue: { values: [str(TOKEN)] } })] }] },
                },
              ],
            },
          ],
        },
      ],
    });
    const scopes = () => received.filter((r) => r.path === '/v1/metrics').flatMap((r) => r.payload.resourceMetrics.flatMap((rm: any) => rm.scopeMetrics));
    expect(await waitFor(() => scopes().length >= 1, ARRIVAL_MS), collector.log()).toBe(true);
    expect(JSON.stringify(scopes())).not.toContain(TOKEN);
    const [scopeMetrics] = scopes();
    expect(scopeMetrics.scope.name).toBe(`scope ${REDACTED}`);
    expect(scopeMetrics.metrics[0].description).toBe(`Cost, see ${REDACTED}`);
    const [point] = scopeMetrics.metrics[0].sum.dataPoints;
    expect(point.asDouble).toBe(0.5);
    expect(JSON.parse(point.attributes.find((a: any) => a.key === 'point.list').value.stringValue)).toEqual([REDACTED]);
  }, 120_000);

  it('array and map attribute values: written as the text the exporter stores, the token gone; a record without them keeps its types', async () => {
    const attributes = (tag: string, extra: unknown[]) => [kv('event.name', str('brand_new_event')), kv('tag', str(tag)), kv('prompt_length', { intValue: '7' }), ...extra];
    await post('/v1/logs', {
      resourceLogs: [
        {
          resource: { attributes: [kv('service.name', str('claude-code')), kv('resource.list', { arrayValue: { values: [str(TOKEN)] } })] },
          scopeLogs: [
            {
              scope: { name: 'com.anthropic.claude_code.events' },
              logRecords: [
                {
                  timeUnixNano: nanos(),
                  body: str('claude_code.brand_new_event'),
                  attributes: attributes('nested', [
                    kv('list', { arrayValue: { values: [str('ok'), str(`x ${TOKEN}`)] } }),
                    kv('map', { kvlistValue: { values: [kv('inner', str(TOKEN)), kv('quote', str('say ":[ here'))] } }),
                  ]),
                },
                { timeUnixNano: nanos(), body: str('claude_code.brand_new_event'), attributes: attributes('flat', [kv('quote', str('say ":[ here'))]) },
              ],
            },
          ],
        },
      ],
    });
    const records = () =>
      received
        .filter((r) => r.path === '/v1/logs')
        .flatMap((r) => r.payload.resourceLogs.flatMap((rl: any) => rl.scopeLogs.flatMap((sl: any) => sl.logRecords.map((record: any) => ({ record, resource: rl.resource })))));
    const tagged = (tag: string) => records().find(({ record }) => record.attributes.some((a: any) => a.key === 'tag' && a.value.stringValue === tag));
    expect(await waitFor(() => tagged('nested') !== undefined && tagged('flat') !== undefined, ARRIVAL_MS), collector.log()).toBe(true);
    const nested = tagged('nested')!;
    const value = (record: any, key: string) => record.attributes.find((a: any) => a.key === key)?.value;
    expect(JSON.stringify(nested)).not.toContain(TOKEN);
    expect(JSON.parse(value(nested.record, 'list').stringValue)).toEqual(['ok', `x ${REDACTED}`]);
    expect(JSON.parse(value(nested.record, 'map').stringValue)).toEqual({ inner: REDACTED, quote: 'say ":[ here' });
    // Every value of that map became its text, as the exporter would store it.
    expect(value(nested.record, 'prompt_length')).toEqual(str('7'));
    expect(JSON.parse(nested.resource.attributes.find((a: any) => a.key === 'resource.list').value.stringValue)).toEqual([REDACTED]);
    // A string that merely looks like JSON does not make a flat map's values strings.
    expect(value(tagged('flat')!.record, 'prompt_length')).toEqual({ intValue: '7' });
  }, 120_000);

  it('the collector ran these statements without complaint', () => {
    expect(collector.log().split('\n').filter((line) => /"level":"(warn|error)"/.test(line))).toEqual([]);
  });
});
