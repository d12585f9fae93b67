/**
 * The same records through the real collector (rendered configuration, the user's credential)
 * and through `telemetry-stack sanitize` (the preview), keyed by an id attribute, so that a test
 * can compare what is stored with what the preview says would be.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { run } from '../../src/cli/main.ts';
import { HASH_KEY_ENV } from '../../src/sanitizer/compile.ts';
import { logRecords, type PlainRecord, sendEventRecords } from '../../harness/claude-code-client.ts';
import { startCollector } from '../../harness/collector.ts';
import { OtlpSink, waitFor } from '../../harness/otlp-sink.ts';
import { stackFrom } from '../../harness/stacks.ts';

export interface ParityRun {
  /** What the collector stored, by id (the identity attribute included). */
  readonly stored: Record<string, PlainRecord>;
  /** What `sanitize --user USER` printed, by id. */
  readonly previewed: Record<string, PlainRecord>;
  readonly previewStderr: string;
}

/** Sends `records` as `user` through a collector for `spec` and previews them with the same hash key; `sinks` collects the sink to stop. */
export async function storedAndPreviewed(spec: object, records: readonly PlainRecord[], user: string, idAttribute: string, sinks: OtlpSink[]): Promise<ParityRun> {
  const sink = await new OtlpSink().start();
  sinks.push(sink);
  const collector = await startCollector({ stack: stackFrom(spec), sinkEndpoint: sink.endpoint });
  const target = { protocol: 'http' as const, endpoint: collector.httpEndpoint, authorization: collector.secrets.authorization[user] };
  expect((await sendEventRecords(target, await logRecords([...records]))).error?.message).toBeUndefined();
  expect(await waitFor(() => sink.logs.length >= records.length, 30_000), collector.log()).toBe(true);
  await collector.stop();

  const dir = mkdtempSync(join(tmpdir(), 'tstack-parity-'));
  const stackFile = join(dir, 'stack.yaml');
  writeFileSync(stackFile, stringify(spec));
  const preview = await run(['sanitize', '-f', stackFile, '--user', user], {
    stdin: `${records.map((record) => JSON.stringify(record)).join('\n')}\n`,
    env: { ...process.env, [HASH_KEY_ENV]: collector.secrets.env[HASH_KEY_ENV] },
  });
  rmSync(dir, { recursive: true, force: true });
  expect(preview.code, preview.stderr).toBe(0);
  const byId = (list: PlainRecord[]) => Object.fromEntries(list.map((record) => [String(record.attributes[idAttribute]), record]));
  return {
    previewed: byId(preview.stdout.trim().split('\n').map((line) => JSON.parse(line) as PlainRecord)),
    stored: byId(sink.logs.map((log) => ({ body: String(log.body), attributes: log.attributes as Record<string, string> }))),
    previewStderr: preview.stderr,
  };
}
