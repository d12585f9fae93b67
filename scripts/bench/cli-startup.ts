/**
 * How fast `telemetry-stack` starts, against `node -e 0` on the same machine in the same run:
 * `--help` and `synth -f examples/local.yaml`, from the sources (the clone: Node strips the types
 * of every .ts module it loads) and, when build/ exists (`npm run build`), from the compiled
 * JavaScript the published package runs. Rounds interleave the cases so that a burst of load on
 * a shared machine falls on all of them; each figure is the median. The CLI turns on Node's
 * compile cache, so the sources are measured warm (the cache filled by a first run) and cold
 * (NODE_DISABLE_COMPILE_CACHE=1). Peak memory (max RSS) comes from /usr/bin/time when the machine has it.
 *
 *   node scripts/bench/cli-startup.ts [--rounds 15]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = join(import.meta.dirname, '..', '..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const rounds = Number(values.rounds);
const node = process.execPath;
const TIME = '/usr/bin/time';
const withRss = existsSync(TIME);

interface Case {
  readonly label: string;
  readonly argv: readonly string[];
  /** Run with NODE_DISABLE_COMPILE_CACHE=1: the first run on a machine, or after an edit. */
  readonly cold?: boolean;
}

const cases: Case[] = [
  { label: 'node -e 0', argv: ['-e', '0'] },
  { label: 'telemetry-stack --help (sources)', argv: ['src/cli/main.ts', '--help'] },
  { label: 'telemetry-stack synth -f examples/local.yaml (sources)', argv: ['src/cli/main.ts', 'synth', '-f', 'examples/local.yaml'] },
  { label: 'telemetry-stack --help (sources, no compile cache)', argv: ['src/cli/main.ts', '--help'], cold: true },
  { label: 'telemetry-stack synth -f examples/local.yaml (sources, no compile cache)', argv: ['src/cli/main.ts', 'synth', '-f', 'examples/local.yaml'], cold: true },
];
if (existsSync(join(ROOT, 'build/cli/main.js'))) {
  cases.push(
    { label: 'telemetry-stack --help (build/)', argv: ['build/cli/main.js', '--help'] },
    { label: 'telemetry-stack synth -f examples/local.yaml (build/)', argv: ['build/cli/main.js', 'synth', '-f', 'examples/local.yaml'] },
  );
}

const scratch = mkdtempSync(join(tmpdir(), 'cli-startup-'));
const rssFile = join(scratch, 'rss');

function once(entry: Case): { seconds: number; rssMiB?: number } {
  const env = entry.cold ? { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' } : process.env;
  const started = process.hrtime.bigint();
  const result = withRss
    ? spawnSync(TIME, ['-f', '%M', '-o', rssFile, node, ...entry.argv], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawnSync(node, entry.argv, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${entry.label} exited ${result.status}: ${String(result.stderr)}`);
  return withRss ? { seconds, rssMiB: Number(readFileSync(rssFile, 'utf8').trim()) / 1024 } : { seconds };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const times = new Map(cases.map((entry) => [entry.label, [] as number[]]));
const rss = new Map(cases.map((entry) => [entry.label, [] as number[]]));
for (const entry of cases) once(entry); // warm the file cache once
for (let round = 0; round < rounds; round++) {
  for (const entry of cases) {
    const { seconds, rssMiB } = once(entry);
    times.get(entry.label)!.push(seconds);
    if (rssMiB !== undefined) rss.get(entry.label)!.push(rssMiB);
  }
}
rmSync(scratch, { recursive: true, force: true });

const baseline = median(times.get('node -e 0')!);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.versions.node}, ${rounds} rounds, load average ${load}`);
console.log('| command | median | × node -e 0 | min–max | max RSS (median) |');
console.log('|---|---|---|---|---|');
for (const entry of cases) {
  const list = times.get(entry.label)!;
  const memory = rss.get(entry.label)!;
  console.log(
    `| ${entry.label} | ${median(list).toFixed(3)} s | ${(median(list) / baseline).toFixed(1)}× | ${Math.min(...list).toFixed(3)}–${Math.max(...list).toFixed(3)} s | ${memory.length ? `${median(memory).toFixed(0)} MiB` : 'n/a'} |`,
  );
}
