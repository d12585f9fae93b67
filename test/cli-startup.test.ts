/**
 * Start-up (issue 15, item 4): each command loads only what it uses. Checked by what the real
 * process loads, not by time (the figures are in docs/BENCHMARKS.md, scripts/bench/cli-startup.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../harness/stacks.ts';

// Records every module the process loads and prints the list on exit (stderr, one per line).
const HOOK = `
import { registerHooks } from 'node:module';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
process.on('exit', () => process.stderr.write('\\n--loaded--\\n' + [...loaded].join('\\n') + '\\n'));
`;

function loadedBy(args: string[]): { status: number | null; modules: string[] } {
  const hook = join(mkdtempSync(join(tmpdir(), 'cli-startup-')), 'hook.mjs');
  writeFileSync(hook, HOOK);
  const result = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  const list = result.stderr.split('\n--loaded--\n')[1] ?? '';
  return { status: result.status, modules: list.split('\n').filter((line) => line !== '').map((url) => url.replace(pathToFileURL(ROOT).href + '/', '')) };
}

const HEAVY = /node_modules\/(zod|cdk8s|cdk8s-plus-28|constructs|yaml|re2js|@kubernetes\/client-node|@clickhouse\/client|chdb)\//;

describe('start-up loads only what the command uses', () => {
  it('--help, --version and help CMD load no command module and no dependency', () => {
    for (const args of [['--help'], ['--version'], ['help']]) {
      const { status, modules } = loadedBy(args);
      expect(status).toBe(0);
      expect(modules.filter((url) => url.startsWith('src/')).sort()).toEqual(['src/cli/framework/io.ts', 'src/cli/framework/suggest.ts', 'src/cli/main.ts']);
      expect(modules.filter((url) => url.includes('node_modules/'))).toEqual([]);
    }
  }, 240_000);

  it('synth loads the chart, not the cluster client, the SQL engine or the operator install', () => {
    const { status, modules } = loadedBy(['synth', '-f', 'examples/local.yaml']);
    expect(status).toBe(0);
    expect(modules.some((url) => /node_modules\/cdk8s\//.test(url))).toBe(true);
    const unwanted = modules.filter((url) => /node_modules\/(@kubernetes\/client-node|@clickhouse\/client|chdb)\/|src\/(kube|operator|cli\/(cluster|local|doctor))\/|install-chart|report-command|up-command/.test(url));
    expect(unwanted).toEqual([]);
  }, 120_000);

  it('sanitize does not load the chart', () => {
    const { status, modules } = loadedBy(['sanitize', '--help']);
    expect(status).toBe(0);
    expect(modules.filter((url) => /src\/charts\/|node_modules\/(cdk8s|cdk8s-plus-28)\//.test(url))).toEqual([]);
    expect(modules.filter((url) => HEAVY.test(url) && !/zod|re2js|yaml/.test(url))).toEqual([]);
  }, 120_000);
});
