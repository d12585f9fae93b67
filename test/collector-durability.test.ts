/**
 * No data loss through the rendered pipeline: the exporter's persistent sending queue
 * (file_storage) keeps what was accepted across a downstream outage and a collector restart,
 * and a burst far above the batch size arrives whole. Delivery is at-least-once: duplicates are
 * counted and reported, never missing records.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { IDENTITY_ATTRIBUTE } from '../src/charts/collector/config.ts';
import { eventRecords, sendEventRecords, sendMetrics, type ClaudeCodeEvent, type Target } from '../harness/claude-code-client.ts';
import { claudeCodeMetrics } from '../harness/claude-code-corpus.ts';
import { startCollector, stackSecrets, stopAllCollectors, type RunningCollector } from '../harness/collector.ts';
import { OtlpSink, type StoredLog, waitFor } from '../harness/otlp-sink.ts';
import { stackFrom } from '../harness/stacks.ts';

const sinks: OtlpSink[] = [];
afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(sinks.map((sink) => sink.stop()));
});

const stack = stackFrom({ level: 'enhanced', access: { users: [{ name: 'dave' }] } });

function toolResult(sequence: number, run: string): ClaudeCodeEvent {
  return {
    name: 'tool_result',
    attributes: {
      'session.id': `session-${run}`,
      tool_name: sequence % 3 === 0 ? 'Bash' : 'Edit',
      success: sequence % 7 === 0 ? 'false' : 'true',
      duration_ms: sequence % 1000,
      tool_use_id: `toolu_${run}_${sequence}`,
    },
  };
}

function http(collector: RunningCollector): Target {
  return { protocol: 'http', endpoint: collector.httpEndpoint, authorization: collector.secrets.authorization.dave };
}

interface Delivery {
  unique: number;
  duplicates: number;
  missing: number[];
  wrong: string[];
}

/** Checks every expected record arrived with its content; counts duplicates. */
function delivery(logs: StoredLog[], count: number, run: string): Delivery {
  const seen = new Map<number, number>();
  const wrong: string[] = [];
  for (const log of logs) {
    // The sequence travels in an attribute tool_result keeps at enhanced (an unlisted one is removed).
    const sequence = Number(String(log.attributes.tool_use_id).split('_').at(-1));
    seen.set(sequence, (seen.get(sequence) ?? 0) + 1);
    const sent = toolResult(sequence, run).attributes;
    const stored = log.attributes;
    const same =
      log.body === 'claude_code.tool_result' &&
      stored[IDENTITY_ATTRIBUTE] === 'dave' &&
      Object.entries(sent).every(([key, value]) => stored[key] === value);
    if (!same && wrong.length < 5) wrong.push(JSON.stringify(log));
  }
  const missing: number[] = [];
  for (let sequence = 0; sequence < count; sequence++) if (!seen.has(sequence)) missing.push(sequence);
  const total = [...seen.values()].reduce((sum, n) => sum + n, 0);
  return { unique: seen.size, duplicates: total - seen.size, missing: missing.slice(0, 20), wrong };
}

describe('no data loss', () => {
  it('records accepted while the downstream is down survive a collector restart and all arrive when it is back', async () => {
    const count = 5_000;
    const run = 'outage';
    const sink = await new OtlpSink().start();
    sinks.push(sink);
    await sink.stop(); // keeps its port: the collector exports to a closed port until it starts again
    const secrets = stackSecrets(stack);
    let collector = await startCollector({ stack, sinkEndpoint: sink.endpoint, secrets });

    const records = await eventRecords(Array.from({ length: count }, (_, sequence) => toolResult(sequence, run)));
    expect((await sendEventRecords(http(collector), records, 500)).error?.message).toBeUndefined();
    const points = claudeCodeMetrics();
    expect((await sendMetrics(http(collector), points)).error?.message).toBeUndefined();
    // Let the queue consumers take batches and fail on the closed port at least once.
    await new Promise((resolve) => setTimeout(resolve, 6_000));

    await collector.stop();
    collector = await startCollector({ stack, sinkEndpoint: sink.endpoint, secrets, dir: collector.dir });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(sink.logs.length).toBe(0);

    await sink.start();
    const arrived = await waitFor(() => delivery(sink.logs, count, run).missing.length === 0 && sink.points.length >= points.length, 90_000, 250);
    const result = delivery(sink.logs, count, run);
    console.info(`outage + restart: ${count} sent, ${result.unique} arrived, ${result.duplicates} duplicates (at-least-once), ${sink.points.length - points.length} duplicate metric points`);
    expect(arrived, `missing ${JSON.stringify(result.missing)}\n${collector.log().slice(-4000)}`).toBe(true);
    expect(result.wrong).toEqual([]);
    expect(result.unique).toBe(count);
    // At-least-once: a batch in flight at the stop may be sent again, never more than once per record.
    expect(result.duplicates).toBeLessThan(count);
    expect(new Set(sink.points.map((point) => `${point.metric}|${JSON.stringify(point.attributes)}`)).size).toBe(points.length);
    await collector.stop();
  }, 180_000);

  it('a burst of 100,000 events arrives whole', async () => {
    const count = 100_000;
    const run = 'burst';
    const sink = await new OtlpSink().start();
    sinks.push(sink);
    const collector = await startCollector({ stack, sinkEndpoint: sink.endpoint });
    const records = await eventRecords(Array.from({ length: count }, (_, sequence) => toolResult(sequence, run)));
    const started = Date.now();
    expect((await sendEventRecords(http(collector), records, 2_000)).error?.message).toBeUndefined();
    const arrived = await waitFor(() => sink.logs.length >= count, 120_000, 250);
    const result = delivery(sink.logs, count, run);
    console.info(`burst: ${count} sent, ${result.unique} arrived, ${result.duplicates} duplicates, ${Date.now() - started} ms`);
    expect(arrived, `${sink.logs.length} of ${count} arrived\n${collector.log().slice(-4000)}`).toBe(true);
    expect(result.missing).toEqual([]);
    expect(result.wrong).toEqual([]);
    expect(result.unique).toBe(count);
    await collector.stop();
  }, 240_000);
});
