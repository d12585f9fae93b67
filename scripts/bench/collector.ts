/**
 * Records per second through the rendered collector pipeline on one core, with no sanitizer
 * rules, with every preset on, and with every preset on without the prefilter's guards (the
 * statements of the rules alone, as before the guards: compile.ts `prefilter: false`), and the
 * ratios, measured in one run (rounds alternate between the variants so machine noise hits all
 * alike):
 *
 *   node scripts/bench/collector.ts [--records 100000] [--rounds 3] [--core 1] [--drop-rules 25] [--no-unguarded]
 *
 * The collector (the test binary, scripts/test-binaries/collector.ts) runs pinned to one core
 * (taskset, GOMAXPROCS=1) with the configuration the chart renders at level `full` (every
 * attribute reaches the sanitizer), persistent queue included, its ClickHouse exporter swapped
 * for OTLP/HTTP to a counting sink. The client posts pre-encoded OTLP/protobuf requests of
 * Claude-Code-shaped events, so neither the client nor the sink is the bottleneck.
 *
 * The figure is records per CPU second of the collector process (user + system time from
 * /proc): on a machine shared with other work, wall-clock rates swing several-fold between runs
 * while CPU time barely moves. Wall-clock rates are printed too. The ratio is the median of
 * the per-round ratios.
 */
import { readFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { parseArgs } from 'node:util';
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { PRESET_NAMES } from '../../src/api/presets.ts';
import { PROCESSOR_IDS } from '../../src/charts/collector/config.ts';
import { sanitizerProcessor } from '../../src/sanitizer/compile.ts';
import { toConfmap } from '../../src/sanitizer/confmap.ts';
import { eventRecords, type ClaudeCodeEvent } from '../../harness/claude-code-client.ts';
import { benignEvents, secretEvents } from '../../harness/claude-code-corpus.ts';
import { removeDir, startCollector, type RunningCollector } from '../../harness/collector.ts';
import { OtlpSink, waitFor } from '../../harness/otlp-sink.ts';
import { stackFrom } from '../../harness/stacks.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    core: { type: 'string', default: '1' },
    // Instead of the presets, measure N custom drop rules (each checked under every known attribute key).
    'drop-rules': { type: 'string', default: '0' },
    // Leave out the unguarded variant (it is the slow one).
    'no-unguarded': { type: 'boolean', default: false },
  },
});
const DROP_RULES = Number(values['drop-rules']);
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);
const BATCH = 1_000;
const CONCURRENCY = 4;
/** Linux USER_HZ: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

const VARIANTS = {
  'no sanitizer rules': { disabledPresets: [...PRESET_NAMES] },
  'all presets':
    DROP_RULES > 0
      ? {
          disabledPresets: [...PRESET_NAMES],
          rules: Array.from({ length: DROP_RULES }, (_, i) => ({ name: `drop-${i}`, pattern: `project-${i}-[a-z]+`, action: 'drop' as const })),
        }
      : {},
} as const;
/** What the second variant is called in the output. */
const RULES_LABEL = DROP_RULES > 0 ? `${DROP_RULES} drop rules` : 'all presets';
const UNGUARDED = `${RULES_LABEL}, no guards`;
type Variant = 'no sanitizer rules' | 'all presets' | 'unguarded';
const VARIANT_NAMES: Variant[] = values['no-unguarded'] ? ['no sanitizer rules', 'all presets'] : ['no sanitizer rules', 'all presets', 'unguarded'];
const label = (variant: Variant) => (variant === 'all presets' ? RULES_LABEL : variant === 'unguarded' ? UNGUARDED : variant);

/** One request body of BATCH events: mostly benign, one in five with secrets, as a real mix. */
async function requestBody(): Promise<Uint8Array> {
  const corpus: ClaudeCodeEvent[] = [];
  const benign = benignEvents();
  const secret = secretEvents();
  for (let i = 0; corpus.length < BATCH; i++) corpus.push(i % 5 === 4 ? secret[i % secret.length]! : benign[i % benign.length]!);
  const body = ProtobufLogsSerializer.serializeRequest(await eventRecords(corpus));
  if (!body) throw new Error('serializer returned nothing');
  return body;
}

function post(agent: Agent, collector: RunningCollector, body: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${collector.httpEndpoint}/v1/logs`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-protobuf', authorization: collector.secrets.authorization.bench! },
      },
      (response) => {
        response.resume();
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${response.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU seconds (user + system) the process has used: immune to other load on a shared machine, unlike wall time. */
function cpuSeconds(pid: number): number {
  // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

interface Rate {
  /** Records per second of wall time. */
  wall: number;
  /** Records per CPU second of the collector. */
  cpu: number;
}

async function measure(variant: Variant, body: Uint8Array): Promise<Rate> {
  const sink = await new OtlpSink().start();
  sink.countOnly = true;
  const stack = stackFrom({ level: 'full', access: { users: [{ name: 'bench' }] }, sanitizer: VARIANTS[variant === 'unguarded' ? 'all presets' : variant] });
  const collector = await startCollector({
    stack,
    sinkEndpoint: sink.endpoint,
    env: { GOMAXPROCS: '1' },
    prefix: ['taskset', '-c', values.core!],
    // The same rules compiled without guards, in place of the rendered (guarded) processor.
    ...(variant === 'unguarded' ? { configure: (config: Record<string, any>) => (config.processors[PROCESSOR_IDS.sanitizer] = toConfmap(sanitizerProcessor(stack.spec, { prefilter: false }))) } : {}),
  });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const requests = Math.ceil(RECORDS / BATCH);
    let next = 0;
    const cpuBefore = cpuSeconds(collector.pid);
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < requests) {
          next++;
          // The queue refuses when full (503): the client backs off and resends, as an SDK would.
          for (let attempt = 1; ; attempt++) {
            try {
              await post(agent, collector, body);
              break;
            } catch (error) {
              if (attempt > 200 || !/HTTP (429|503)/.test(String(error))) throw error;
              await new Promise((resolve) => setTimeout(resolve, 50));
            }
          }
        }
      }),
    );
    const total = requests * BATCH;
    if (!(await waitFor(() => sink.countedLogs >= total, 300_000, 20))) {
      throw new Error(`${variant}: ${sink.countedLogs} of ${total} records arrived\n${collector.log().slice(-3000)}`);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { wall: total / seconds, cpu: total / (cpuSeconds(collector.pid) - cpuBefore) };
  } finally {
    agent.destroy();
    await collector.stop();
    await sink.stop();
    removeDir(collector.dir);
  }
}

const body = await requestBody();
const results = Object.fromEntries(VARIANT_NAMES.map((variant) => [variant, [] as Rate[]])) as Record<Variant, Rate[]>;
const ratios: Record<Variant, number[]> = { 'no sanitizer rules': [], 'all presets': [], unguarded: [] };
for (let round = 1; round <= ROUNDS; round++) {
  for (const variant of VARIANT_NAMES) {
    const rate = await measure(variant, body);
    results[variant].push(rate);
    process.stderr.write(`round ${round} ${label(variant)}: ${Math.round(rate.cpu)} records/CPU-s, ${Math.round(rate.wall)} records/s wall\n`);
  }
  for (const variant of VARIANT_NAMES) ratios[variant].push(results[variant][round - 1]!.cpu / results['no sanitizer rules'][round - 1]!.cpu);
}
const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
const line = (variant: Variant) => {
  const rates = results[variant];
  return `${label(variant)}: ${Math.round(median(rates.map((r) => r.cpu)))} records per CPU second (runs ${rates.map((r) => Math.round(r.cpu)).join(', ')}); wall ${Math.round(median(rates.map((r) => r.wall)))} records/s`;
};
const ratioLine = (variant: Variant) =>
  `ratio ${label(variant)} / no rules (median of per-round CPU ratios): ${median(ratios[variant]).toFixed(3)} (rounds ${ratios[variant].map((r) => r.toFixed(3)).join(', ')})`;
process.stdout.write(
  [
    `records per run: ${Math.ceil(RECORDS / BATCH) * BATCH} (requests of ${BATCH}, ${CONCURRENCY} in flight), rounds: ${ROUNDS}, collector on core ${values.core} with GOMAXPROCS=1, level full, ${PRESET_NAMES.length} presets`,
    ...VARIANT_NAMES.map(line),
    ...VARIANT_NAMES.filter((variant) => variant !== 'no sanitizer rules').map(ratioLine),
    '',
  ].join('\n'),
);
