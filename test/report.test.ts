/** `telemetry-stack report` end to end on the committed sample export (embedded engine; no server). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/cli/main.ts';
import { handMadeExport } from './fixtures/hand-made.ts';
import { ROOT } from '../harness/stacks.ts';

const SAMPLE = join(ROOT, 'examples', 'sample-export');
const scratch = mkdtempSync(join(tmpdir(), 'report-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const json = async (args: string[]) => {
  const result = await run(['report', ...args, '--format', 'json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>[];
};

/** Names and columns that docs and dashboards depend on. */
const FIXED: Record<string, { params?: string[]; columns: string[] }> = {
  'cost-by-user': { columns: ['user', 'cost_usd', 'requests', 'input_tokens', 'output_tokens'] },
  'tokens-by-model': { columns: ['model', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens'] },
  'api-errors': { columns: ['status_code', 'errors'] },
  'high-retry-sessions': { params: ['--param', 'min_attempt=1'], columns: ['session_id', 'api_errors', 'max_attempt'] },
  'tool-failures': { columns: ['tool', 'calls', 'failures', 'failure_rate'] },
  'session-trace': { params: ['--param', 'session=s-000001'], columns: ['timestamp', 'event'] },
};

// The first report of a process migrates a throwaway database in chdb: seconds on an idle machine, more under load.
describe('report --data on the sample export', { timeout: 180_000 }, () => {
  for (const [name, fixed] of Object.entries(FIXED)) {
    it(`${name}: JSON is an array of objects keyed by the fixed column names`, async () => {
      const rows = await json([name, '--data', SAMPLE, ...(fixed.params ?? [])]);
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) for (const column of fixed.columns) expect(row).toHaveProperty(column);
      if (name !== 'session-trace') expect(Object.keys(rows[0]!)).toEqual(fixed.columns);
    });
  }

  it('reads a single file as well as a folder, with the same answer', async () => {
    expect(await json(['cost-by-user', '--data', join(SAMPLE, 'claude-code.jsonl')])).toEqual(await json(['cost-by-user', '--data', SAMPLE]));
  });

  it('prints an aligned table by default and CSV on request', async () => {
    const table = await run(['report', 'api-errors', '--data', SAMPLE]);
    expect(table.code).toBe(0);
    const [header, rule] = table.stdout.split('\n');
    expect(header).toMatch(/^status_code\s+errors$/);
    expect(rule).toMatch(/^-+\s+-+$/);
    const csv = await run(['report', 'tool-failures', '--data', SAMPLE, '--format', 'csv']);
    expect(csv.stdout.split('\n')[0]).toBe('tool,calls,failures,failure_rate');
  });
});

describe('report --data on the hand-made fixture', { timeout: 180_000 }, () => {
  const file = join(scratch, 'hand-made.jsonl');
  writeFileSync(file, handMadeExport().map((line) => JSON.stringify(line)).join('\n') + '\n');

  it('cost-by-user gives the hand-computed answer through the CLI', async () => {
    expect(await json(['cost-by-user', '--data', file])).toEqual([
      { user: 'bob', cost_usd: 2, requests: 1, input_tokens: 100, output_tokens: 1000 },
      { user: 'alice', cost_usd: 0.75, requests: 2, input_tokens: 1500, output_tokens: 300 },
      { user: 'carol@example.com', cost_usd: 0.1, requests: 1, input_tokens: 10, output_tokens: 20 },
      { user: 'install-x', cost_usd: 0.05, requests: 1, input_tokens: 5, output_tokens: 5 },
    ]);
  });

  it('an empty result still prints the CSV header', async () => {
    const result = await run(['report', 'session-trace', '--data', file, '--param', 'session=none', '--format', 'csv']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(/^timestamp,event,/);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });
});

describe('report mistakes', () => {
  const fails = async (args: string[], message: RegExp, code = 2) => {
    const result = await run(['report', ...args]);
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  };
  it('names the report, the parameter or the file, and the fix', async () => {
    await fails(['no-such-report', '--data', SAMPLE], /no report named "no-such-report"; reports: .*cost-by-user/);
    await fails(['session-trace', '--data', SAMPLE], /needs --param session=<String>/);
    await fails(['cost-by-user', '--data', SAMPLE, '--param', 'from=last-week'], /--param from=last-week is not a date \(YYYY-MM-DD\)/);
    await fails(['cost-by-user', '--data', SAMPLE, '--param', 'colour=blue'], /has no parameter "colour" \(parameters: from, to\)/);
    await fails(['cost-by-user', '--data', SAMPLE, '--format', 'xml'], /--format xml is not one of table, json, yaml, csv/);
    await fails(['cost-by-user'], /--data PATH .* or --url URL/);
    await fails(['cost-by-user', '--url', 'http://localhost:8123'], /--url needs --user and --password-file/);
    await fails(['cost-by-user', '--data', join(scratch, 'missing')], /--data .*missing: no such file or folder/, 1);
    const bad = join(scratch, 'bad.jsonl');
    writeFileSync(bad, '{"resourceLogs": []}\nnot json\n');
    await fails(['cost-by-user', '--data', bad], /bad\.jsonl:2: not JSON .*one OTLP\/JSON object per line/, 1);
  });

  it('lists the reports with their parameters', async () => {
    const result = await run(['report', '--list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^session-trace: .*\n\s+--param session=<String> \(required\)/m);
  });
});
