/**
 * Preview throughput: records per second through the sanitizer preview with every preset on,
 * against the same engine with no rules, on a realistic mix of Claude Code events. Both run
 * in one process, interleaved round by round, so the ratio holds on a noisy shared machine.
 *
 *   node scripts/bench/sanitize.ts [--records 4000] [--rounds 7] [--before DIR]
 *
 * --before DIR also measures the engine of another checkout (e.g. `git archive HEAD` unpacked
 * into DIR, with the presets of this tree linked in so that both run the same patterns), in the
 * same rounds. Rates are records per CPU second of this process (process.cpuUsage), which a
 * shared machine disturbs far less than wall time; wall-clock rates are printed too.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PRESET_NAMES } from '../../src/api/presets.ts';
import { validateStack } from '../../src/api/validate.ts';
import { SanitizerPreview, type PreviewRecord } from '../../src/sanitizer/preview.ts';
import { asToolParameters, BENIGN, SAMPLES } from '../../harness/sanitizer-corpus.ts';

const { values } = parseArgs({ options: { records: { type: 'string', default: '4000' }, rounds: { type: 'string', default: '7' }, before: { type: 'string' } } });
const RECORDS = Number(values.records);
const ROUNDS = Number(values.rounds);

const secrets = Object.values(SAMPLES).flat().map((sample) => sample.text);
const commands = [
  'npm test',
  'git status && git diff --stat',
  'ls -la src/components',
  'npx tsc --noEmit -p tsconfig.json',
  'cat package.json | jq .dependencies',
  'docker compose up -d postgres redis',
  'rg -n "TODO" src/ --glob "*.ts"',
  'kubectl get pods -n team -o wide',
];
const prose = [
  'Refactor the token refresh logic in src/auth so it retries once on 401, and add a test.',
  'Why is the build failing on CI but not locally? Here is the log:\nError: Cannot find module ./dist/index.js',
  'Summarise the changes in the last five commits and draft release notes.',
];

/** Deterministic mix: 45% api_request, 25% tool_result, 10% tool_decision, 10% user_prompt, 10% api_error; one in ten free-text values holds a secret. */
function recordMix(count: number): PreviewRecord[] {
  const records: PreviewRecord[] = [];
  for (let i = 0; i < count; i++) {
    const common = {
      'session.id': `6f1c2b9e-3a4d-4e5f-8a7b-${String(i % 997).padStart(12, '0')}`,
      'prompt.id': `b7e1d2c3-4f5a-4b6c-9d8e-${String(i % 89).padStart(12, '0')}`,
      'user.email': `dev${i % 17}@example.com`,
      'organization.id': 'a1b2c3d4-0000-4000-8000-123456789abc',
      'terminal.type': 'vscode',
      'event.timestamp': '2026-01-15T09:30:12.345Z',
      'event.sequence': String(i),
    };
    const withSecret = i % 10 === 0;
    const freeText = (pool: readonly string[]) => (withSecret ? secrets[i % secrets.length]! : pool[i % pool.length]!);
    const kind = i % 20;
    if (kind < 9) {
      records.push({
        body: 'claude_code.api_request',
        attributes: { ...common, 'event.name': 'api_request', model: 'claude-sonnet-4-5-20250929', cost_usd: '0.0123', input_tokens: '1500', output_tokens: '320', cache_read_tokens: '88000', duration_ms: '1534', request_id: `req_011CUa1b2c3d4e5f${i}` },
      });
    } else if (kind < 14) {
      records.push({
        body: 'claude_code.tool_result',
        attributes: { ...common, 'event.name': 'tool_result', tool_name: 'Bash', success: 'true', duration_ms: '812', tool_parameters: asToolParameters(`cd /work\n${freeText(commands)}`) },
      });
    } else if (kind < 16) {
      records.push({ body: 'claude_code.tool_decision', attributes: { ...common, 'event.name': 'tool_decision', tool_name: 'Edit', decision: 'accept', tool_parameters: asToolParameters(freeText(commands)) } });
    } else if (kind < 18) {
      records.push({ body: 'claude_code.user_prompt', attributes: { ...common, 'event.name': 'user_prompt', prompt_length: '96', prompt: freeText(prose) } });
    } else {
      records.push({ body: 'claude_code.api_error', attributes: { ...common, 'event.name': 'api_error', status_code: '401', error: `Request failed: ${freeText(BENIGN)}` } });
    }
  }
  return records;
}

function spec(disabledPresets: readonly string[]) {
  const result = validateStack({ level: 'full', sanitizer: { disabledPresets } }, { name: 'bench', namespace: 'bench' });
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.stack.spec;
}

interface Engine {
  apply(record: PreviewRecord): unknown;
}

/** Records per CPU second and per wall second. */
function rates(preview: Engine, records: readonly PreviewRecord[]): { cpu: number; wall: number } {
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (const record of records) preview.apply(record);
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  return { cpu: records.length / ((used.user + used.system) / 1e6), wall: records.length / wall };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const records = recordMix(RECORDS);
const engines: Record<string, Engine> = {
  'all presets': new SanitizerPreview(spec([]), { hashKey: 'bench-key' }),
  'no rules': new SanitizerPreview(spec(PRESET_NAMES), { hashKey: 'bench-key' }),
  // Every value as if never seen: the prefilter alone, without the engine's memory of outcomes.
  'all presets, no memo': new SanitizerPreview(spec([]), { hashKey: 'bench-key', rememberValues: false }),
};
if (values.before) {
  const before = (await import(resolve(values.before, 'src/sanitizer/preview.ts'))) as { SanitizerPreview: new (spec: unknown, options: { hashKey: string }) => Engine };
  engines['all presets, before'] = new before.SanitizerPreview(spec([]), { hashKey: 'bench-key' });
}
// Warm-up: JIT and the regexp engines' lazily built state.
for (const engine of Object.values(engines)) rates(engine, records.slice(0, 500));

const results: Record<string, { cpu: number; wall: number }[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, engine] of Object.entries(engines)) (results[name] ??= []).push(rates(engine, records));
}
const line = (name: string) => {
  const list = results[name]!;
  const cpu = list.map((r) => r.cpu);
  return `${name.padEnd(20)} ${Math.round(median(cpu))} records/CPU-s (median; min ${Math.round(Math.min(...cpu))}, max ${Math.round(Math.max(...cpu))}); wall ${Math.round(median(list.map((r) => r.wall)))} records/s`;
};
console.log(`records per round: ${RECORDS} (api_request 45%, tool_result 25%, tool_decision 10%, user_prompt 10%, api_error 10%; 1 in 10 free-text values holds a secret)`);
console.log(`rounds: ${ROUNDS}, node ${process.versions.node}, ${PRESET_NAMES.length} presets`);
for (const name of Object.keys(engines)) console.log(line(name));
const perRound = (name: string) => results[name]!.map((r, i) => results['no rules']![i]!.cpu / r.cpu);
console.log(`cost of the presets: ${median(perRound('all presets')).toFixed(1)}x the CPU of no rules (median of rounds)`);
if (values.before) {
  const speedup = results['all presets']!.map((r, i) => r.cpu / results['all presets, before']![i]!.cpu);
  console.log(`before: ${median(perRound('all presets, before')).toFixed(1)}x the CPU of no rules; after/before: ${median(speedup).toFixed(2)}x the records per CPU second (median of rounds)`);
}
