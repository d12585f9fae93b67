/**
 * Honest output (issue 15, item 5) and the help a newcomer reaches for (item 2): each mistake is
 * one message naming the fix, exit 1 or 2, no stack trace, no hang; near-misses get a suggestion.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, run } from '../src/cli/main.ts';
import { didYouMean, nearest } from '../src/cli/framework/suggest.ts';
import { ROOT } from '../harness/stacks.ts';

const SAMPLE = join(ROOT, 'examples/sample-export');
const tmp = () => mkdtempSync(join(tmpdir(), 'cli-honest-'));

/** One line (or a YAML code frame), no stack trace, the given exit code. */
function expectUserError(result: { code: number; stdout: string; stderr: string }, code: 1 | 2, pattern: RegExp) {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).toMatch(/^telemetry-stack: /);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at |internal error/);
}

describe('file mistakes end in one line, fast', () => {
  it('synth --output-dir an existing file, or a path through a file', async () => {
    const dir = tmp();
    const file = join(dir, 'existing');
    writeFileSync(file, 'keep me');
    const onFile = await run(['synth', '--output-dir', file]);
    expectUserError(onFile, 1, /--output-dir .*existing: is a file; --output-dir takes a folder .*redirect stdout: > /);
    expect(onFile.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    expectUserError(await run(['synth', '--output-dir', join(file, 'sub')]), 1, /existing is a file, not a folder/);
  });

  it('synth --output-dir /proc/x fails at once instead of hanging (the real process)', () => {
    const started = Date.now();
    const result = spawnSync(process.execPath, [join(ROOT, 'src/cli/main.ts'), 'synth', '--output-dir', '/proc/telemetry-stack-x'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^telemetry-stack: --output-dir \/proc\/telemetry-stack-x: cannot create the folder \/proc\/telemetry-stack-x \(ENOENT\); pass a folder you can write to\n$/);
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 90_000);

  it('synth --output-dir creates missing folders level by level', async () => {
    const out = join(tmp(), 'a', 'b');
    expect((await run(['synth', '--output-dir', out])).code).toBe(0);
    expect(existsSync(join(out, 'configmap-telemetry-collector-config.yaml'))).toBe(true);
  });

  it('report --html into a missing folder or onto a folder is refused before any data loads', async () => {
    const missing = join(tmp(), 'missing-dir', 'x.html');
    expectUserError(await run(['report', '--html', missing, '--data', SAMPLE]), 2, /the folder .*missing-dir does not exist; create it first/);
    const dir = tmp();
    expectUserError(await run(['report', '--html', dir, '--data', SAMPLE]), 2, /is a folder; give a file path/);
  });

  it('report --html where the system refuses the file is one line, not an internal error', async () => {
    expectUserError(await run(['report', '--html', '/proc/telemetry-stack.html', '--data', SAMPLE]), 1, /--html \/proc\/telemetry-stack.html: cannot write \(ENOENT\); pick a path you can write to\n$/);
  }, 120_000);

  it('report --html - writes the page to stdout, not to a file named "-"', async () => {
    const cwd = process.cwd();
    const dir = tmp();
    process.chdir(dir);
    try {
      const result = await run(['report', '--html', '-', '--data', SAMPLE]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^<!DOCTYPE html>/i);
      expect(existsSync(join(dir, '-'))).toBe(false);
    } finally {
      process.chdir(cwd);
    }
  }, 120_000);
});

describe('no silent wrong answers', () => {
  it('report --data on an empty folder, or on files without telemetry, is an error naming the folder', async () => {
    const empty = tmp();
    expectUserError(await run(['report', 'cost-by-user', '--data', empty]), 1, new RegExp(`--data ${empty}: no \\*\\.json or \\*\\.jsonl files in this folder`));
    const blank = tmp();
    writeFileSync(join(blank, 'a.jsonl'), '\n\n');
    expectUserError(await run(['report', 'cost-by-user', '--data', blank]), 1, /1 file but no log record or metric point in them/);
  }, 120_000);

  it('dates are calendar dates and from is not after to', async () => {
    expectUserError(await run(['report', 'cost-by-user', '--data', SAMPLE, '--param', 'from=2026-13-01']), 2, /--param from=2026-13-01 is not a calendar date; write YYYY-MM-DD/);
    expectUserError(await run(['report', 'cost-by-user', '--data', SAMPLE, '--param', 'to=2026-02-30']), 2, /to=2026-02-30 is not a calendar date/);
    expectUserError(await run(['report', 'cost-by-user', '--data', SAMPLE, '--param', 'from=2026-10-02', '--param', 'to=2026-10-01']), 2, /from=2026-10-02 is after --param to=2026-10-01; swap them/);
    expectUserError(await run(['report', '--html', '-', '--data', SAMPLE, '--param', 'from=2026-00-10']), 2, /from=2026-00-10 is not a calendar date/);
  });

  it('synth --set says on stderr when the value changes no manifest, and only then', async () => {
    const retention = await run(['synth', '--set', 'retention.eventsDays=14']);
    expect(retention.code).toBe(0);
    expect(retention.stdout).toContain('kind: StatefulSet');
    expect(retention.stderr).toBe(
      'telemetry-stack: note: --set retention.eventsDays=14 changes no rendered manifest: the operator applies it inside ClickHouse (schema, retention, users) when it reconciles the TelemetryStack; set it in the resource you apply, with the operator installed (synth --install)\n',
    );
    // The note is true: the manifests are the same with and without it.
    expect(retention.stdout).toBe((await run(['synth'])).stdout);
    expect((await run(['synth', '--set', 'level=enhanced'])).stderr).toContain('--set level=enhanced changes nothing: it is already the value');
    const replicas = await run(['synth', '--set', 'collector.replicas=2']);
    expect(replicas.stderr).toBe('');
    expect(replicas.stdout).not.toBe((await run(['synth'])).stdout);
  });

  it('a YAML syntax error keeps its code frame: file:line:col, the line and a caret', async () => {
    const file = join(tmp(), 'stack.yaml');
    writeFileSync(file, 'level: full\ncollector:\n  replicas: 2\n    extra: 1\n');
    const result = await run(['synth', '-f', file]);
    expect(result.code).toBe(1);
    const [first, ...frame] = result.stderr.trimEnd().split('\n');
    expect(first).toMatch(new RegExp(`^telemetry-stack: ${file}:3:13: not valid YAML: \\S`));
    expect(frame.join('\n')).toContain('  replicas: 2');
    expect(frame.at(-1)).toMatch(/^\s+\^$/);
  });
});

describe('did you mean', () => {
  it('the distance and the pick', () => {
    expect(didYouMean('sytnh', ['synth', 'sanitize', 'status'])).toBe('synth');
    expect(didYouMean('retension', ['retention', 'sanitizer'])).toBe('retention');
    expect(didYouMean('xyz', ['synth', 'status'])).toBeUndefined();
    expect(nearest('aws-keys', ['aws-access-key-ids', 'aws-secret-keys', 'jwts'])).toEqual(['aws-access-key-ids', 'aws-secret-keys']);
  });

  it('a mistyped command, flag, report name and preset name', async () => {
    expectUserError(await run(['sytnh']), 2, /^telemetry-stack: unknown command "sytnh"; did you mean "synth"\? \(telemetry-stack --help lists the commands\)\n$/);
    expectUserError(await run(['synth', '--namspace', 'x']), 2, /^telemetry-stack: synth: unknown option --namspace; did you mean --namespace\? \(telemetry-stack synth --help lists the options\)\n$/);
    expectUserError(await run(['report', 'cost-per-user', '--data', SAMPLE]), 2, /no report named "cost-per-user"; did you mean "cost-by-user"\? \(telemetry-stack report --list shows them\)/);
    const preset = await run(['synth', '--set', 'sanitizer.disabledPresets=[aws-keys, jwt]']);
    expectUserError(preset, 1, /disabledPresets\[0\]: "aws-keys" is not one of the choices; did you mean "aws-access-key-ids" or "aws-secret-keys"\?/);
    expect(preset.stderr).toMatch(/disabledPresets\[1\]: "jwt" is not one of the choices; did you mean "jwts"\?/);
    expectUserError(await run(['synth', '--set', 'level=ful']), 1, /spec.level: "ful" is not one of the choices; did you mean "full"\?/);
  });

  it('an unknown option is one line, not the whole usage', async () => {
    const result = await run(['status', '--bogus']);
    expectUserError(result, 2, /status: unknown option --bogus \(telemetry-stack status --help lists the options\)/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    for (const args of [['report', '--data', SAMPLE], ['report', 'cost-by-user'], ['synth', '-f']]) {
      const mistake = await run(args);
      expect(mistake.code, args.join(' ')).toBe(2);
      expect(mistake.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('--version and help CMD', () => {
  it('--version prints package.json\'s version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V', 'version']) expect(await run([flag])).toEqual({ code: 0, stdout: `telemetry-stack ${version}\n`, stderr: '' });
  });

  it('help CMD prints that command\'s usage, the same as CMD --help', async () => {
    for (const entry of COMMANDS) {
      const help = await run(['help', entry.name]);
      expect(help.code).toBe(0);
      expect(help.stdout).toBe((await run([entry.name, '--help'])).stdout);
      expect(help.stdout).toMatch(new RegExp(`^Usage: telemetry-stack ${entry.name}\\b`));
    }
    expectUserError(await run(['help', 'sytnh']), 2, /did you mean "synth"/);
    expect((await run(['help'])).stdout).toMatch(/^Usage: telemetry-stack <command>/);
  });

  it('each command\'s summary in the list is its module\'s own', async () => {
    for (const entry of COMMANDS) expect((await entry.load()).summary).toBe(entry.summary);
  });
});

describe('the package bin', () => {
  it('bin/telemetry-stack.js runs the sources in a clone', () => {
    const { bin } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(bin['telemetry-stack']).toBe('bin/telemetry-stack.js');
    const result = spawnSync(process.execPath, [join(ROOT, bin['telemetry-stack']!), 'synth', '-f', join(ROOT, 'examples/local.yaml')], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^apiVersion: /);
    const bad = spawnSync(process.execPath, [join(ROOT, bin['telemetry-stack']!), 'sytnh'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('did you mean "synth"');
  });
});

describe('a closed pipe', () => {
  it('synth | head ends quietly, without an EPIPE stack trace (the real process)', () => {
    const result = spawnSync('sh', ['-c', `"${process.execPath}" "${join(ROOT, 'src/cli/main.ts')}" synth --with-secrets | head -1`], { encoding: 'utf8', timeout: 120_000 });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^apiVersion: /);
    expect(result.stderr).toBe('');
  }, 150_000);
});
