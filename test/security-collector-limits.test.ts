/**
 * Security hardening of the collector (issue 11, items 4-6), each against the real collector:
 *  4. the persistent queue is sized in bytes within its volume, so a full queue refuses new data
 *     instead of filling the volume and jamming (bbolt could then not even delete sent items);
 *  5. request sizes and attribute lengths are bounded and memory stays under the container limit;
 *  6. TLS on the receivers from a Secret, TLS to the upstream stack by default.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, statfsSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata } from '@grpc/grpc-js';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REQUEST_BYTES, queueBudget } from '../src/api/collector-limits.ts';
import { MiB } from '../src/api/quantity.ts';
import { validateStack } from '../src/api/validate.ts';
import { COLLECTOR_PATHS, IDENTITY_ATTRIBUTE, MAX_ATTRIBUTE_BYTES, TRUNCATION_MARKER } from '../src/charts/collector/config.ts';
import { render } from '../src/charts/render.ts';
import { stackNames } from '../src/stack/naming.ts';
import { generateSecrets } from '../src/stack/secrets.ts';
import { run } from '../src/cli/main.ts';
import { HASH_KEY_ENV } from '../src/sanitizer/compile.ts';
import { SanitizerPreview } from '../src/sanitizer/preview.ts';
import { plainTextWarning } from '../src/cli/env-command.ts';
import { eventRecords } from '../harness/claude-code-client.ts';
import { type RunningCollector, startCollector, stackSecrets, stopAllCollectors } from '../harness/collector.ts';
import { startFakeApiServer, type FakeApiServer } from './support/fake-apiserver.ts';
import { OtlpSink, waitFor } from '../harness/otlp-sink.ts';
import { stackFrom } from '../harness/stacks.ts';

type Config = Record<string, any>;
const configFor = (spec: unknown) => render(stackFrom(spec)).collectorConfig as Config;

const sinks: OtlpSink[] = [];
const mounts: string[] = [];
afterAll(async () => {
  await stopAllCollectors();
  await Promise.all(sinks.map((sink) => sink.stop()));
  for (const dir of mounts) {
    privileged(['umount', dir]);
    rmdirSync(dir);
  }
});

/** Runs a command as root: directly when the tests run as root, else through passwordless sudo. */
function privileged(command: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [file, ...args] = asRoot ? command : ['sudo', '-n', ...command];
  try {
    execFileSync(file!, args, { stdio: 'pipe' });
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim() || String(error);
    throw new Error(
      `this test mounts a small tmpfs and needs root or passwordless sudo for "${command.join(' ')}" (run the tests as root, or allow sudo -n mount/umount): ${detail}`,
    );
  }
}

/** A filesystem of exactly `mib` MiB, owned by the user running the tests (the collector runs as it). */
function smallFilesystem(mib: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'tstack-queue-fs-'));
  privileged(['mount', '-t', 'tmpfs', '-o', `size=${mib}m,mode=0700,uid=${process.getuid!()},gid=${process.getgid!()}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue: string } | { intValue: string } | { bytesValue: string };
}

/**
 * One OTLP/JSON logs request: records `first`..`first + count - 1`, each with a `size`-byte
 * payload. The payload is a bytes value: it takes the same room in the queue as text, but the
 * sanitizer's regular expressions (about 2.5 s of CPU per MiB of text) only read strings, so
 * filling a volume takes seconds, not minutes.
 */
function logsRequest(run: string, first: number, count: number, size: number): string {
  const logRecords = Array.from({ length: count }, (_, index) => {
    const sequence = first + index;
    const attributes: OtlpAttribute[] = [
      { key: 'event.name', value: { stringValue: 'tool_result' } },
      { key: 'session.id', value: { stringValue: `session-${run}` } },
      { key: 'test.seq', value: { intValue: String(sequence) } },
      { key: 'payload', value: { bytesValue: Buffer.alloc(size, sequence % 251).toString('base64') } },
    ];
    return { timeUnixNano: String(Date.now() * 1e6), body: { stringValue: 'claude_code.tool_result' }, attributes };
  });
  return JSON.stringify({
    resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] }, scopeLogs: [{ scope: { name: 'com.anthropic.claude_code' }, logRecords }] }],
  });
}

/** POSTs an OTLP/JSON body; the HTTP status is the collector's answer (200: accepted, the records are its responsibility). */
async function postLogs(collector: RunningCollector, user: string, body: string): Promise<number> {
  const response = await fetch(`${collector.httpEndpoint}/v1/logs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: collector.secrets.authorization[user]! },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

const sequencesIn = (sink: OtlpSink, run: string) =>
  new Set(sink.logs.filter((log) => log.attributes['session.id'] === `session-${run}`).map((log) => Number(log.attributes['test.seq'])));

describe('4. a full queue volume does not jam the queue', () => {
  it('sizes the queue in bytes within its volume: file_storage files are capped, room is left for compaction', () => {
    for (const [size, upstream] of [['2Gi', false], ['2Gi', true], ['66Mi', false], ['109Mi', true]] as const) {
      const spec = {
        collector: { persistentQueue: { size } },
        ...(upstream ? { upstream: { endpoint: 'central.example.internal:4317' } } : {}),
      };
      const config = configFor(spec);
      const volume = Number.parseInt(size) * (size.endsWith('Gi') ? 1024 * MiB : MiB);
      const files = upstream ? 4 : 2;
      const storage = config.extensions['file_storage/queue'];
      const queues = Object.values(config.exporters).map((exporter: any) => exporter.sending_queue);
      expect(queues).toHaveLength(files / 2);
      for (const queue of queues) {
        expect(queue.sizer).toBe('bytes');
        // Half of what a capped bbolt file can hold (its last 16 MiB growth step, or a power of two below 32 MiB).
        expect(queue.queue_size).toBeLessThanOrEqual(storage.max_size / 2);
        expect(queue.queue_size).toBeGreaterThanOrEqual(2 * MAX_REQUEST_BYTES);
      }
      // Every file at its cap, plus one more for compaction on start, plus rebound compactions, fit in 85 % of the volume.
      expect(files * storage.max_size + storage.max_size + files * 2 * storage.compaction.rebound_trigger_threshold_mib * MiB).toBeLessThanOrEqual(volume * 0.85);
      expect(storage.compaction.rebound_needed_threshold_mib * MiB).toBeLessThanOrEqual(storage.max_size);
      expect(storage.compaction.cleanup_on_start).toBe(true);
      expect(queueBudget(volume, files / 2).maxFileBytes).toBe(storage.max_size);
    }
    // Batches are still counted in records.
    expect(configFor({}).exporters.clickhouse.sending_queue.batch).toMatchObject({ sizer: 'items', min_size: 5_000, max_size: 20_000 });
    // Without the persistent queue the in-memory queue is in bytes too, from the memory limit.
    const memory = configFor({ collector: { persistentQueue: { enabled: false }, resources: { limits: { memory: '1Gi' } } } }).exporters.clickhouse.sending_queue;
    expect(memory).toMatchObject({ sizer: 'bytes', queue_size: 64 * MiB });
    expect(memory.storage).toBeUndefined();
  });

  it('refuses a queue volume too small for the queue, naming the field and the smallest size that fits', () => {
    const problems = (spec: unknown) => {
      const result = validateStack(spec);
      return result.ok ? [] : result.problems;
    };
    expect(problems({ collector: { persistentQueue: { size: '64Mi' } } })).toEqual([
      {
        path: 'spec.collector.persistentQueue.size',
        message: expect.stringMatching(/too small.*set it to at least 66Mi \(109Mi with upstream\)$/),
      },
    ]);
    expect(problems({ collector: { persistentQueue: { size: '66Mi' } } })).toEqual([]);
    expect(problems({ collector: { persistentQueue: { size: '66Mi' } }, upstream: { endpoint: 'central.example.internal:4317' } })).toEqual([
      { path: 'spec.collector.persistentQueue.size', message: expect.stringMatching(/at least 66Mi \(109Mi with upstream\)$/) },
    ]);
    // The size does not matter without the persistent queue.
    expect(problems({ collector: { persistentQueue: { enabled: false, size: '1Mi' } } })).toEqual([]);
  });

  it('on a small filesystem, large records fill the queue, the collector refuses more, and every acknowledged record arrives after the outage', async () => {
    const size = 66;
    const stack = stackFrom({ level: 'full', access: { users: [{ name: 'dave' }] }, collector: { persistentQueue: { size: `${size}Mi` } } });
    const queueDir = smallFilesystem(size);
    const sink = await new OtlpSink().start();
    sinks.push(sink);
    await sink.stop(); // keeps its port: the backend is down
    const secrets = stackSecrets(stack);
    let collector = await startCollector({ stack, sinkEndpoint: sink.endpoint, secrets, queueDir });

    // 1 MiB requests (16 records of 64 KiB) until well past the volume's size.
    const run = 'fill';
    const perRequest = 16;
    const requests = Math.ceil(size * 1.5);
    const acknowledged: number[] = [];
    let refused = 0;
    for (let request = 0; request < requests; request++) {
      const status = await postLogs(collector, 'dave', logsRequest(run, request * perRequest, perRequest, 64 * 1024));
      if (status === 200) for (let n = 0; n < perRequest; n++) acknowledged.push(request * perRequest + n);
      else refused++;
    }
    const filesystem = statfsSync(queueDir);
    const freeMiB = (filesystem.bavail * filesystem.bsize) / MiB;
    console.info(`full queue: ${acknowledged.length} records acknowledged, ${refused} of ${requests} requests refused, ${freeMiB.toFixed(1)} MiB free on the ${size} MiB volume`);
    expect(refused, 'the queue never filled: the test did not exercise a full queue').toBeGreaterThan(0);
    expect(acknowledged.length).toBeGreaterThan(0);
    // The cap keeps the volume from filling: bbolt can always write the pages that mark items sent.
    expect(freeMiB).toBeGreaterThan(size * 0.15);

    // Let the exporter fail on the closed port, then restart on the full queue (compaction on start runs).
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await collector.stop();
    collector = await startCollector({ stack, sinkEndpoint: sink.endpoint, secrets, dir: collector.dir, queueDir });
    await sink.start();
    const expected = new Set(acknowledged);
    const arrived = await waitFor(() => [...expected].every((sequence) => sequencesIn(sink, run).has(sequence)), 120_000, 500);
    const got = sequencesIn(sink, run);
    const missing = acknowledged.filter((sequence) => !got.has(sequence));
    expect(arrived, `${missing.length} of ${acknowledged.length} acknowledged records did not arrive (first: ${missing.slice(0, 10).join(', ')})\n${collector.log().slice(-3000)}`).toBe(true);
    // Identity stamped as for any record.
    const one = sink.logs.find((log) => log.attributes['test.seq'] === acknowledged.at(-1));
    expect(one?.attributes[IDENTITY_ATTRIBUTE]).toBe('dave');

    // Drained, the queue takes new data again.
    const after = 'after';
    expect(await postLogs(collector, 'dave', logsRequest(after, 0, perRequest, 64 * 1024))).toBe(200);
    expect(await waitFor(() => sequencesIn(sink, after).size === perRequest, 30_000, 250)).toBe(true);
    await collector.stop();
  }, 300_000);
});

/** Peak and current resident memory of a process, from /proc (MiB). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
}

/**
 * An OTLP/JSON logs request of about `bytes`, made of records with many small attributes: the
 * shape that costs the collector most memory per byte (every value becomes objects when decoded).
 */
function manyAttributesRequest(run: string, bytes: number): { body: string; records: number } {
  const now = String(Date.now() * 1e6);
  const record = (sequence: number) => ({
    timeUnixNano: now,
    observedTimeUnixNano: now,
    body: { stringValue: 'claude_code.tool_result' },
    attributes: [
      { key: 'session.id', value: { stringValue: `session-${run}` } },
      { key: 'test.seq', value: { intValue: String(sequence) } },
      ...Array.from({ length: 64 }, (_, n) => ({ key: `k${n}`, value: { intValue: String(n) } })),
    ],
  });
  const one = JSON.stringify(record(0)).length + 1;
  const records = Math.floor((bytes - 300) / one);
  const logRecords = Array.from({ length: records }, (_, sequence) => record(sequence));
  return { body: JSON.stringify({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ scope: { name: 'com.anthropic.claude_code' }, logRecords }] }] }), records };
}

/** The collector container of a rendered stack. */
function collectorContainer(spec: unknown): any {
  const workload = render(stackFrom(spec)).objects.find((object: any) => object.kind === 'StatefulSet' && object.metadata.name.endsWith('-collector')) as any;
  return { pod: workload.spec.template.spec, container: workload.spec.template.spec.containers[0] };
}

describe('5. request size, attribute length and memory are bounded', () => {
  it('renders the limits: 4 MiB requests on both protocols, truncation before the level filter and the sanitizer, GOMEMLIMIT from the container limit', () => {
    const config = configFor({ level: 'enhanced' });
    expect(config.receivers.otlp.protocols.grpc.max_recv_msg_size_mib).toBe(4);
    expect(config.receivers.otlp.protocols.http.max_request_body_size).toBe(4 * MiB);
    for (const pipeline of Object.values(config.service.pipelines) as { processors: string[] }[]) {
      expect(pipeline.processors.slice(0, 2)).toEqual(['memory_limiter', 'transform/truncate']);
      expect(pipeline.processors.indexOf('transform/truncate')).toBeLessThan(pipeline.processors.indexOf('transform/sanitize'));
    }
    expect(config.service.pipelines.logs.processors.indexOf('transform/truncate')).toBeLessThan(config.service.pipelines.logs.processors.indexOf('transform/level'));
    expect(config.processors.memory_limiter).toMatchObject({ limit_mib: 409, spike_limit_mib: 102 });
    const env = (spec: unknown) => Object.fromEntries(collectorContainer(spec).container.env.filter((e: any) => e.value).map((e: any) => [e.name, e.value]));
    // At the limiter's soft limit (hard 80 % minus spike 20 %).
    expect(env({}).GOMEMLIMIT).toBe('307MiB');
    expect(env({ collector: { resources: { limits: { memory: '2Gi' } } } }).GOMEMLIMIT).toBe('1228MiB');
    expect(env({ collector: { resources: { limits: {} } } }).GOMEMLIMIT).toBeUndefined();
  });

  it('8 concurrent 17 MB requests are refused, and 8 concurrent requests at the limit keep the collector under its 512 MiB container limit', async () => {
    const spec = { level: 'full', access: { users: [{ name: 'dave' }] } };
    const stack = stackFrom(spec);
    const limitMiB = 512;
    expect(stack.spec.collector.resources.limits.memory).toBe(`${limitMiB}Mi`);
    const gomemlimit = collectorContainer(spec).container.env.find((e: any) => e.name === 'GOMEMLIMIT')?.value;
    const sink = await new OtlpSink().start();
    sinks.push(sink);
    sink.countOnly = true;
    const collector = await startCollector({ stack, sinkEndpoint: sink.endpoint, env: gomemlimit ? { GOMEMLIMIT: gomemlimit } : {} });
    let sampled = 0;
    const sampler = setInterval(() => (sampled = Math.max(sampled, memory(collector.pid).rss)), 50);
    const post = async (body: string) => {
      try {
        const response = await fetch(`${collector.httpEndpoint}/v1/logs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: collector.secrets.authorization.dave! },
          body,
        });
        await response.arrayBuffer();
        return response.status;
      } catch {
        return 0; // the collector closed the connection on an oversized body
      }
    };
    try {
      const oversized = manyAttributesRequest('oversized', 17_000_000);
      const refused = await Promise.all(Array.from({ length: 8 }, () => post(oversized.body)));
      const atLimit = manyAttributesRequest('at-limit', MAX_REQUEST_BYTES - 64 * 1024);
      const accepted = await Promise.all(Array.from({ length: 8 }, () => post(atLimit.body)));
      const delivered = await waitFor(() => sink.countedLogs >= 8 * atLimit.records, 60_000, 100);
      clearInterval(sampler);
      const peak = Math.max(sampled, memory(collector.pid).peak);
      console.info(`memory: 8 x ${(oversized.body.length / 1e6).toFixed(1)} MB -> ${refused.join(',')}; 8 x ${(atLimit.body.length / MiB).toFixed(2)} MiB -> ${accepted.join(',')}; peak RSS ${peak.toFixed(0)} MiB of ${limitMiB}`);
      expect(refused.every((status) => status !== 200)).toBe(true);
      expect(accepted).toEqual(Array(8).fill(200));
      expect(delivered, `${sink.countedLogs} of ${8 * atLimit.records} records delivered`).toBe(true);
      expect(peak).toBeLessThan(limitMiB);
    } finally {
      clearInterval(sampler);
      await collector.stop();
    }
  }, 180_000);

  it('a megabyte attribute and body are cut to 16 KiB (UTF-8 safe, marked) before the sanitizer, which still redacts what is left and costs little CPU', async () => {
    const stack = stackFrom({ level: 'full', access: { users: [{ name: 'dave' }] } });
    const sink = await new OtlpSink().start();
    sinks.push(sink);
    const collector = await startCollector({ stack, sinkEndpoint: sink.endpoint });
    const token = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
    // Two-byte characters, so a cut at a byte count would split one.
    const prompt = `please use ${token} here: ${'é'.repeat(1_000_000)}`;
    const body = `claude_code.user_prompt ${'ü'.repeat(1_000_000)}`;
    const request = JSON.stringify({
      resourceLogs: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
        scopeLogs: [{ scope: { name: 'com.anthropic.claude_code' }, logRecords: [{
          body: { stringValue: body },
          attributes: [
            { key: 'event.name', value: { stringValue: 'user_prompt' } },
            { key: 'session.id', value: { stringValue: 'session-truncate' } },
            { key: 'prompt', value: { stringValue: prompt } },
          ],
        }, {
          // A short record after it: nothing of the first one's cut reaches it.
          body: { stringValue: 'claude_code.tool_result' },
          attributes: [{ key: 'session.id', value: { stringValue: 'session-short' } }],
        }] }],
      }],
    });
    expect(Buffer.byteLength(request)).toBeLessThan(MAX_REQUEST_BYTES);
    const cpuBefore = cpuSeconds(collector.pid);
    expect(await postLogs(collector, 'dave', request)).toBe(200);
    expect(await waitFor(() => sink.logs.length === 2, 60_000, 100), collector.log().slice(-2000)).toBe(true);
    const cpu = cpuSeconds(collector.pid) - cpuBefore;
    const stored = sink.logs.find((log) => log.attributes['session.id'] === 'session-truncate')!;
    expect(sink.logs.find((log) => log.attributes['session.id'] === 'session-short')?.body).toBe('claude_code.tool_result');
    const storedPrompt = String(stored.attributes.prompt);
    const storedBody = String(stored.body);
    console.info(`truncation: prompt ${Buffer.byteLength(prompt)} -> ${Buffer.byteLength(storedPrompt)} bytes, body ${Buffer.byteLength(body)} -> ${Buffer.byteLength(storedBody)} bytes, ${cpu.toFixed(2)} s of collector CPU`);
    // Cut at a character boundary just below the limit (the redaction then shortens the prompt further).
    expect(Buffer.byteLength(storedBody)).toBeGreaterThan(MAX_ATTRIBUTE_BYTES - 4);
    for (const value of [storedPrompt, storedBody]) {
      expect(Buffer.byteLength(value)).toBeLessThanOrEqual(MAX_ATTRIBUTE_BYTES);
      expect(value.endsWith(TRUNCATION_MARKER)).toBe(true);
      expect(value).not.toContain('\uFFFD');
    }
    expect(storedPrompt).not.toContain(token);
    expect(storedPrompt).toMatch(/^please use \[REDACTED:github-tokens\] here: é+\.\.\.\[TRUNCATED\]$/);
    expect(storedBody).toMatch(/^claude_code\.user_prompt ü+\.\.\.\[TRUNCATED\]$/);
    // `telemetry-stack sanitize` (the preview) cuts and redacts the same way: it shows what is stored.
    const preview = new SanitizerPreview(stack.spec, { hashKey: collector.secrets.env[HASH_KEY_ENV]! }).apply({ body, attributes: { prompt } });
    expect(preview.record).toEqual({ body: storedBody, attributes: { prompt: storedPrompt } });
    expect(preview.firings).toContainEqual({ field: 'attributes.prompt', rule: 'truncate', effect: 'truncated' });
    // About 2.5 s per MiB of text without the cut; a resource bound, not a timing: a 50x margin.
    expect(cpu).toBeLessThan(2);
    await collector.stop();
  }, 120_000);
});

/** A self-signed certificate for localhost and 127.0.0.1, made at test time, as the files of a kubernetes.io/tls Secret. */
function selfSignedCertificate(): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tstack-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'),
  ], { stdio: 'pipe' });
  const cert = readFileSync(join(dir, 'tls.crt'), 'utf8');
  // cert-manager writes the issuing CA as ca.crt; for a self-signed certificate that is itself.
  writeFileSync(join(dir, 'ca.crt'), cert);
  return { dir, cert, key: readFileSync(join(dir, 'tls.key'), 'utf8') };
}

/** POSTs OTLP/JSON over HTTPS trusting only `ca`. */
function postHttps(url: string, body: string, authorization: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { method: 'POST', ca, headers: { 'content-type': 'application/json', authorization } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('6. TLS on the receivers and to the upstream stack', () => {
  const problems = (spec: unknown) => {
    const result = validateStack(spec);
    return result.ok ? [] : result.problems;
  };

  it('upstream: TLS unless insecure is set; http:// needs insecure; an https:// gRPC endpoint is accepted', () => {
    expect(problems({ upstream: { endpoint: 'https://central.example.internal:4317' } })).toEqual([]);
    expect(problems({ upstream: { endpoint: 'https://central.example.internal:4317/otlp' } })).toEqual([
      { path: 'spec.upstream.endpoint', message: expect.stringContaining('without a path when protocol is grpc') },
    ]);
    expect(problems({ upstream: { endpoint: 'central.example.internal:4317/x' } })).toHaveLength(1);
    expect(problems({ upstream: { endpoint: 'http://central.example.internal:4318', protocol: 'http' } })).toEqual([
      { path: 'spec.upstream.endpoint', message: expect.stringMatching(/plain text.*use https:\/\/, or set upstream\.insecure: true/) },
    ]);
    expect(problems({ upstream: { endpoint: 'http://central.example.internal:4318', protocol: 'http', insecure: true } })).toEqual([]);
    expect(problems({ upstream: { endpoint: 'https://central.example.internal:4318', protocol: 'http', insecure: true } })).toEqual([
      { path: 'spec.upstream.insecure', message: expect.stringContaining('contradicts an https:// endpoint') },
    ]);
    expect(problems({ upstream: { endpoint: 'central:4317', insecure: true, caSecret: { name: 'ca' } } })).toEqual([
      { path: 'spec.upstream.caSecret', message: expect.stringContaining('only used with TLS') },
    ]);

    // Plain host:port gRPC is TLS unless insecure: true says otherwise.
    expect(configFor({ upstream: { endpoint: 'central:4317' } }).exporters['otlp_grpc/upstream'].tls).toEqual({ insecure: false, min_version: '1.2' });
    expect(configFor({ upstream: { endpoint: 'central:4317', insecure: true } }).exporters['otlp_grpc/upstream'].tls).toEqual({ insecure: true });
    const spec = { upstream: { endpoint: 'https://central:4318', protocol: 'http', caSecret: { name: 'central-ca' } } };
    expect(configFor(spec).exporters['otlp_http/upstream'].tls).toEqual({ insecure: false, min_version: '1.2', ca_file: COLLECTOR_PATHS.upstreamCaFile });
    const { pod, container } = collectorContainer(spec);
    expect(pod.volumes).toContainEqual({ name: 'upstream-ca', secret: { secretName: 'central-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
    expect(container.volumeMounts).toContainEqual({ name: 'upstream-ca', mountPath: COLLECTOR_PATHS.upstreamCaDir, readOnly: true });
  });

  it('receivers: TLS from a cert-manager Secret, mounted whole, on both protocols', () => {
    const spec = { collector: { tls: { secretName: 'otlp-tls' } } };
    const config = configFor(spec);
    for (const protocol of ['grpc', 'http']) {
      expect(config.receivers.otlp.protocols[protocol].tls).toEqual({
        cert_file: '/etc/otelcol/tls/tls.crt',
        key_file: '/etc/otelcol/tls/tls.key',
        min_version: '1.2',
        reload_interval: '1h',
      });
    }
    const { pod, container } = collectorContainer(spec);
    expect(pod.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'otlp-tls' } });
    expect(container.volumeMounts).toContainEqual({ name: 'tls', mountPath: '/etc/otelcol/tls', readOnly: true });
    expect(configFor({}).receivers.otlp.protocols.http.tls).toBeUndefined();
    expect(problems({ collector: { tls: { secretName: 'Not A Name' } } })[0]?.path).toBe('spec.collector.tls.secretName');
  });

  it('the real collector serves OTLP/HTTP and OTLP/gRPC over TLS, refuses plain text, and forwards upstream over TLS with the Authorization header', async () => {
    const tls = selfSignedCertificate();
    const upstreamSink = await new OtlpSink({ cert: tls.cert, key: tls.key }).start();
    const local = await new OtlpSink().start();
    sinks.push(upstreamSink, local);
    const caDir = join(tls.dir, 'upstream-ca');
    mkdirSync(caDir);
    writeFileSync(join(caDir, 'ca.crt'), tls.cert);
    const stack = stackFrom({
      level: 'enhanced',
      access: { users: [{ name: 'dave' }] },
      collector: { tls: { secretName: 'otlp-tls' } },
      upstream: { endpoint: upstreamSink.endpoint, protocol: 'http', caSecret: { name: 'central-ca' }, headersSecret: { name: 'central-auth' } },
    });
    const collector = await startCollector({
      stack,
      sinkEndpoint: local.endpoint,
      mounts: { [COLLECTOR_PATHS.tlsDir]: tls.dir, [COLLECTOR_PATHS.upstreamCaDir]: caDir },
      env: { UPSTREAM_AUTHORIZATION: 'Bearer central-token' },
      // The test's sink reads OTLP/JSON; the exporter's TLS settings stay as rendered.
      configure: (config) => Object.assign(config.exporters['otlp_http/upstream'], { encoding: 'json', compression: 'none' }),
    });
    const https = `https://127.0.0.1:${collector.ports.http}`;
    const authorization = collector.secrets.authorization.dave!;

    expect(await postHttps(`${https}/v1/logs`, logsRequest('tls-http', 0, 1, 16), authorization, tls.cert)).toBe(200);
    // The same request in plain text is refused (Go answers 400 to HTTP on a TLS port).
    const plain = await fetch(`http://127.0.0.1:${collector.ports.http}/v1/logs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: logsRequest('plain', 0, 1, 16),
    }).then((response) => response.status, () => 0);
    expect(plain).not.toBe(200);

    const metadata = new Metadata();
    metadata.set('authorization', authorization);
    const grpc = new GrpcLogExporter({ url: `https://127.0.0.1:${collector.ports.grpc}`, credentials: credentials.createSsl(Buffer.from(tls.cert)), metadata });
    const records = await eventRecords([{ name: 'tool_result', attributes: { 'session.id': 'session-tls-grpc', tool_name: 'Bash', success: 'true' } }]);
    const result = await new Promise<{ code: number; error?: Error }>((resolve) => grpc.export(records, resolve));
    await grpc.shutdown();
    expect(result.error?.message).toBeUndefined();
    expect(result.code).toBe(ExportResultCode.SUCCESS);

    const sessions = (sink: OtlpSink) => new Set(sink.logs.map((log) => String(log.attributes['session.id'])));
    const arrived = await waitFor(() => ['session-tls-http', 'session-tls-grpc'].every((s) => sessions(local).has(s) && sessions(upstreamSink).has(s)), 30_000, 100);
    expect(arrived, collector.log().slice(-3000)).toBe(true);
    expect(sessions(local).has('session-plain')).toBe(false);
    // Upstream: over TLS (the sink only speaks HTTPS) with the header from the Secret.
    expect(upstreamSink.authorizations.length).toBeGreaterThan(0);
    expect(upstreamSink.authorizations.every((value) => value === 'Bearer central-token')).toBe(true);
    expect(upstreamSink.logs.every((log) => log.attributes[IDENTITY_ATTRIBUTE] === 'dave')).toBe(true);
    await collector.stop();
  }, 120_000);
});

describe('6. telemetry-stack env warns about a plain-HTTP endpoint that is not loopback', () => {
  let api: FakeApiServer;
  const STACKS = '/apis/telemetrystack.io/v1alpha1/namespaces/obs/telemetrystacks';
  const spec = { access: { users: [{ name: 'me' }] } };
  const secretName = stackNames('team').userSecret('me');
  const secret = generateSecrets(stackFrom(spec, 'team', 'obs')).find((s) => s.metadata.name === secretName)!;
  const apiSecret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: secret.metadata,
    data: Object.fromEntries(Object.entries(secret.stringData).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
  const rawStack = (stackSpec: unknown) => ({ apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', metadata: { name: 'team', namespace: 'obs', generation: 1 }, spec: stackSpec });
  beforeAll(async () => {
    api = await startFakeApiServer({
      [`GET ${STACKS}`]: { body: { items: [rawStack(spec)] } },
      [`GET /api/v1/namespaces/obs/secrets/${secretName}`]: { body: apiSecret },
    });
  });
  afterAll(() => api.close());
  const env = () => ({ KUBECONFIG: api.kubeconfig, HOME: mkdtempSync(join(tmpdir(), 'home-')) });

  it('decides by scheme and host', () => {
    for (const endpoint of ['http://otel.example.com:4318', 'http://10.0.0.5:4318', 'http://team-collector.obs.svc.cluster.local:4318']) {
      expect(plainTextWarning(endpoint), endpoint).toMatch(/plain HTTP.*spec\.collector\.tls/);
    }
    for (const endpoint of ['https://otel.example.com', 'http://localhost:30318', 'http://127.0.0.1:4318', 'http://[::1]:4318', 'http://a.localhost:4318']) {
      expect(plainTextWarning(endpoint), endpoint).toBeUndefined();
    }
  });

  it('on stderr, never on stdout; a stack with collector.tls gets an https:// endpoint and no warning', async () => {
    const remote = await run(['env', '--user', 'me', '-n', 'obs', '--endpoint', 'http://otel.example.com:4318'], { env: env() });
    expect(remote.code).toBe(0);
    expect(remote.stderr).toContain('warning: http://otel.example.com:4318 is plain HTTP');
    expect(remote.stdout).not.toContain('warning');
    const local = await run(['env', '--user', 'me', '-n', 'obs', '--endpoint', 'http://localhost:4318'], { env: env() });
    expect(local.stderr).toBe('');

    api.routes.set(`GET ${STACKS}`, { body: { items: [rawStack({ ...spec, collector: { tls: { secretName: 'otlp-tls' } } })] } });
    const withTls = await run(['env', '--user', 'me', '-n', 'obs'], { env: env() });
    expect(withTls.stdout).toContain(`OTEL_EXPORTER_OTLP_ENDPOINT='https://team-collector.obs.svc.cluster.local:4318'`);
    expect(withTls.stderr).not.toContain('plain HTTP');
  });
});
