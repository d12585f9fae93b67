/**
 * The command framework (src/cli/framework/): each command declared once, its --help, parsing
 * and shell completion derived from that; the kubectl habits every cluster command shares
 * (--kubeconfig, --context, -n, --stack, -o, durations); and the ordinary mistakes of a new
 * user, each a one-line message that names the fix.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defineCommand, parseCommandLine, usageText } from '../src/cli/framework/command.ts';
import { completionScript, flagsFromUsage } from '../src/cli/framework/completion.ts';
import { durationWords, parseDuration } from '../src/cli/framework/duration.ts';
import { useColour } from '../src/cli/framework/io.ts';
import { formatResults } from '../src/cli/doctor/checks.ts';
import { COMMANDS, run } from '../src/cli/main.ts';
import { ROOT } from '../harness/stacks.ts';

const SAMPLE = join(ROOT, 'examples/sample-export');

/** One line on stderr, prefixed, no stack trace, with the given exit code. */
function oneLine(result: { code: number; stdout: string; stderr: string }, code: number, pattern: RegExp) {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stderr).toMatch(/^telemetry-stack: /);
  expect(result.stderr.trimEnd().split('\n'), result.stderr).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at |internal error/);
}

describe('a command declared once', () => {
  const command = defineCommand({
    name: 'demo',
    summary: 'A demo',
    synopsis: ['[NAME] [options]'],
    description: 'Does nothing.',
    flags: {
      file: { type: 'string', short: 'f', value: 'FILE', help: 'A file', complete: 'file' },
      output: { type: 'string', short: 'o', value: 'FORMAT', choices: ['table', 'json'], default: 'table', help: 'Output format' },
      since: { type: 'duration', value: 'DURATION', default: '15m', help: 'How far back' },
      set: { type: 'list', value: 'K=V', help: 'Repeatable' },
      yes: { type: 'boolean', help: 'Really' },
      old: { type: 'string', value: 'X', help: '', moved: '--old is now --file' },
      alias: { type: 'string', value: 'X', hidden: true, help: 'Not listed' },
    },
    operands: { synopsis: '[NAME]', min: 0, max: 1, what: 'one NAME' },
    async run({ values, operands }, io) {
      io.stdout.write(JSON.stringify({ values, operands }));
      return 0;
    },
  });

  it('derives --help: usage line, options with their value names and defaults, nothing hidden or moved', () => {
    expect(command.usage).toBe(
      [
        'Usage: telemetry-stack demo [NAME] [options]',
        '',
        'Does nothing.',
        '',
        'Options:',
        '  -f, --file FILE       A file',
        '  -o, --output FORMAT   Output format (default table)',
        '      --since DURATION  How far back (default 15m)',
        '      --set K=V         Repeatable',
        '      --yes             Really',
        '',
      ].join('\n'),
    );
  });

  it('parses typed values: defaults, durations in milliseconds, lists, booleans', () => {
    const parsed = parseCommandLine({ name: 'demo', flags: command.flags!, operands: { synopsis: '', min: 0, max: 1, what: 'one NAME' } }, ['x', '--since', '1h30m', '--set', 'a=1', '--set', 'b=2', '-o', 'json']);
    expect(parsed).toEqual({ operands: ['x'], values: { file: undefined, output: 'json', since: 5_400_000, set: ['a=1', 'b=2'], yes: false, old: undefined, alias: undefined } });
  });

  it('each mistake is one line naming the fix', async () => {
    const io = { stdin: process.stdin, stdout: { write: () => true }, stderr: { write: () => true }, env: {} };
    const fails = (args: string[]) => command.run(args, io).then(() => 'no error', (error: Error) => error.message);
    expect(await fails(['-o', 'jsno'])).toBe('demo: --output jsno is not one of table, json; did you mean json?');
    expect(await fails(['--since', '15'])).toBe('demo: --since 15: a duration needs a unit: 15s, 15m, 15h or 15d');
    expect(await fails(['--since', 'soon'])).toBe('demo: --since soon: not a duration; write a number and a unit, e.g. 30s, 10m, 2h, 7d or 1h30m');
    expect(await fails(['--old', 'x'])).toBe('demo: --old is now --file');
    expect(await fails(['--fiel', 'x'])).toBe('demo: unknown option --fiel; did you mean --file? (telemetry-stack demo --help lists the options)');
    expect(await fails(['a', 'b'])).toBe('demo takes one NAME, got "a" "b" (telemetry-stack demo --help)');
  });

  it('durations as kubectl writes them', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('0s')).toEqual({ problem: 'a duration must be longer than zero, e.g. 30s' });
    expect(parseDuration('10 m')).toHaveProperty('problem');
    expect(durationWords(1_800_000)).toBe('30 minutes');
    expect(durationWords(86_400_000)).toBe('1 day');
  });

  it('reads the options of a command that writes its own usage text (for its completion)', () => {
    expect(flagsFromUsage('Options:\n      --since WHEN     Only what happened since WHEN\n      --dry-run        Count\n  -o, --output FMT     text or json\n')).toEqual({
      since: { type: 'string', value: 'WHEN', help: 'Only what happened since WHEN' },
      'dry-run': { type: 'boolean', help: 'Count' },
      output: { type: 'string', value: 'FMT', help: 'text or json', short: 'o' },
    });
  });
});

describe('every command of the CLI', () => {
  it('lists in --help exactly the options it parses', async () => {
    for (const entry of COMMANDS) {
      const command = await entry.load();
      if (!command.flags) continue;
      for (const [name, flag] of Object.entries(command.flags)) {
        const listed = new RegExp(`^\\s+(-\\w, )?--${name}\\b`, 'm').test(command.usage);
        expect(listed, `${entry.name} --${name}`).toBe(!flag.hidden && flag.moved === undefined);
      }
    }
  }, 240_000);

  it('cluster commands all take --kubeconfig, --context, -n/--namespace and name the stack with --stack', async () => {
    for (const name of ['status', 'doctor', 'env', 'query', 'report', 'erase']) {
      const command = await COMMANDS.find((entry) => entry.name === name)!.load();
      expect(Object.keys(command.flags!), name).toEqual(expect.arrayContaining(['kubeconfig', 'context', 'namespace', 'stack']));
      expect(command.flags!.namespace!.short, name).toBe('n');
    }
    for (const name of ['up', 'down', 'operator']) {
      const command = await COMMANDS.find((entry) => entry.name === name)!.load();
      expect(Object.keys(command.flags!), name).toEqual(expect.arrayContaining(['kubeconfig', 'context']));
    }
    for (const name of ['status', 'doctor', 'query', 'report', 'erase', 'synth']) {
      const command = await COMMANDS.find((entry) => entry.name === name)!.load();
      expect(command.flags!.output, name).toMatchObject({ short: 'o', value: 'FORMAT' });
    }
  }, 240_000);

  it('--kubeconfig names the file it could not read, on every cluster command, before anything else', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'cli-kubeconfig-')), 'nope');
    const lines = [
      ['status'],
      ['doctor'],
      ['env', '--user', 'me'],
      ['query', 'SELECT 1', '--user', 'me'],
      ['report', 'cost-by-user', '--user', 'me'],
      ['erase', 'bob', '--as', 'admin'],
      ['up', '--context', 'x'],
      ['down', '--context', 'x'],
    ];
    for (const args of lines) {
      const result = await run([...args, '--kubeconfig', missing], { env: {} });
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr, args.join(' ')).toContain(`kubeconfig file ${missing}`);
      expect(result.stderr).not.toMatch(/internal error/);
    }
    // With no kubeconfig anywhere, the way out is named: up, or --kubeconfig.
    const none = await run(['status'], { env: { HOME: mkdtempSync(join(tmpdir(), 'cli-home-')) } });
    expect(none.stderr).toContain('Fix: run "telemetry-stack up" to create a local kind cluster, or pass --kubeconfig FILE');
  }, 240_000);
});

describe('the mistakes a new user makes (issue #15), each one line with its fix', () => {
  it('commands, options, choices and durations', async () => {
    oneLine(await run(['sytnh']), 2, /unknown command "sytnh"; did you mean "synth"\?/);
    oneLine(await run(['completon', 'bash']), 2, /did you mean "completion"\?/);
    oneLine(await run(['synth', '--namspace', 'x']), 2, /unknown option --namspace; did you mean --namespace\?/);
    oneLine(await run(['status', '--bogus']), 2, /unknown option --bogus \(telemetry-stack status --help lists the options\)/);
    oneLine(await run(['report', 'cost-by-user', '--data', SAMPLE, '-o', 'jsno']), 2, /--output jsno is not one of table, json, yaml, csv; did you mean json\?/);
    oneLine(await run(['doctor', '--since', '30']), 2, /--since 30: a duration needs a unit: 30s, 30m/);
    oneLine(await run(['up', '--timeout', '600']), 2, /--timeout 600: a duration needs a unit/);
    oneLine(await run(['up', '--name', 'dev']), 2, /up: --name is now --cluster NAME/);
    oneLine(await run(['down', '--name', 'dev']), 2, /down: --name is now --cluster NAME/);
    oneLine(await run(['status', 'a', 'b']), 2, /status takes one stack NAME \(or --stack NAME\), got "a" "b"/);
    oneLine(await run(['status', 'a', '--stack', 'b', '--kubeconfig', '/nonexistent']), 2, /the stack is named twice \("a" and --stack b\); give it once/);
    oneLine(await run(['up', '--kubeconfig', '/tmp/k']), 2, /--kubeconfig goes with --context/);
    oneLine(await run(['completion', 'bsh']), 2, /completion takes one shell: bash, zsh, fish; did you mean "bash"\?/);
    oneLine(await run(['help', 'a', 'b']), 2, /help takes one command name/);
  }, 240_000);

  it('synth -o takes the format now (yaml, json); a folder gets the --output-dir migration message', async () => {
    const asJson = await run(['synth', '-o', 'json']);
    expect(asJson.code).toBe(0);
    const list = JSON.parse(asJson.stdout) as { apiVersion: string; kind: string; items: { kind: string }[] };
    expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    expect(list.items.map((item) => item.kind)).toContain('ConfigMap');
    expect((await run(['synth'])).stdout).toBe((await run(['synth', '-o', 'yaml'])).stdout);
    oneLine(await run(['synth', '-o', 'out/']), 2, /synth: -o\/--output is the output format \(yaml or json\); to write one file per object into a folder use --output-dir out\//);
    const install = JSON.parse((await run(['synth', '--install', '-o', 'json'])).stdout) as { items: { kind: string }[] };
    expect(install.items.map((item) => item.kind)).toContain('CustomResourceDefinition');
    // --stack names the stack in synth as everywhere; --name still works for a bare spec.
    const named = await run(['synth', '--stack', 'demo']);
    expect(named.stdout).toContain('name: demo-collector');
    expect((await run(['synth', '--name', 'demo'])).stdout).toBe(named.stdout);
  }, 240_000);

  it('report and query print -o yaml, and the old --format still works', async () => {
    const yaml = await run(['report', 'cost-by-user', '--data', SAMPLE, '-o', 'yaml']);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout).toMatch(/^- user: /);
    const json = JSON.parse((await run(['report', 'cost-by-user', '--data', SAMPLE, '--format', 'json'])).stdout) as unknown[];
    expect(json.length).toBeGreaterThan(0);
  }, 240_000);
});

describe('colour only on a terminal', () => {
  it('doctor marks verdicts in colour for a TTY without NO_COLOR, never in a pipe', () => {
    expect(useColour({ write: () => true, isTTY: true } as never, {})).toBe(true);
    expect(useColour({ write: () => true, isTTY: true } as never, { NO_COLOR: '1' })).toBe(false);
    expect(useColour({ write: () => true, isTTY: true } as never, { TERM: 'dumb' })).toBe(false);
    expect(useColour({ write: () => true }, {})).toBe(false);
    const results = [{ name: 'cluster', verdict: 'ok' as const, detail: 'fine' }, { name: 'operator', verdict: 'fail' as const, detail: 'gone', fix: 'install it' }];
    expect(formatResults(results, true)).toContain('\x1b[31m[FAIL]\x1b[0m');
    expect(formatResults(results, false)).not.toContain('\x1b');
  });
});

describe('shell completion from the declarations', () => {
  const script = async (shell: string) => {
    const result = await run(['completion', shell]);
    expect(result.code, result.stderr).toBe(0);
    return result.stdout;
  };

  it('bash: completes commands, options, choices and report names in a real bash', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cli-completion-')), 'telemetry-stack.bash');
    writeFileSync(file, await script('bash'));
    const complete = (...words: string[]) => {
      const array = words.map((word) => `'${word}'`).join(' ');
      const result = spawnSync('bash', ['-c', `source '${file}'; COMP_WORDS=(telemetry-stack ${array}); COMP_CWORD=${words.length}; _telemetry_stack; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
      expect(result.status, result.stderr).toBe(0);
      return result.stdout.split('\n').filter((line) => line !== '');
    };
    expect(complete('sy')).toEqual(['synth']);
    expect(complete('comp')).toEqual(['completion']);
    expect(complete('synth', '--output')).toEqual(['--output', '--output-dir']);
    expect(complete('synth', '-o', '')).toEqual(['yaml', 'json']);
    expect(complete('status', '--output', '')).toEqual(['table', 'json', 'yaml']);
    expect(complete('env', '--protocol', '')).toEqual(['http/protobuf', 'grpc']);
    expect(complete('report', 'cost-by')).toContain('cost-by-user');
    expect(complete('doctor', '--kube')).toEqual(['--kubeconfig']);
    expect(complete('help', 'sa')).toEqual(['sanitize']);
    expect(complete('completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(complete('import', '--dry')).toEqual(['--dry-run']);
    // Hidden and moved spellings are not offered.
    expect(complete('up', '--na')).toEqual([]);
  }, 240_000);

  it('zsh and fish: every command and every listed option of it', async () => {
    const zsh = await script('zsh');
    const fish = await script('fish');
    expect(zsh).toMatch(/^#compdef telemetry-stack\n/);
    for (const entry of COMMANDS) {
      const command = await entry.load();
      expect(zsh).toContain(`'${entry.name}:`);
      expect(fish).toContain(`-n __fish_use_subcommand -a ${entry.name} `);
      for (const [name, flag] of Object.entries(command.flags ?? flagsFromUsage(command.usage))) {
        if (flag.hidden || flag.moved) continue;
        expect(zsh, `${entry.name} --${name}`).toMatch(new RegExp(`--${name}[\\}']`));
        expect(fish, `${entry.name} --${name}`).toContain(`'__fish_seen_subcommand_from ${entry.name}'${flag.short ? ` -s ${flag.short}` : ''} -l ${name}`);
      }
    }
    expect(fish).toContain(`-l output -x -a 'table json yaml csv'`);
    expect(zsh).toContain(':FORMAT:(yaml json)');
  }, 240_000);

  it('is the same script the generator returns for the declarations (no hand-kept copy)', async () => {
    const commands = await Promise.all(COMMANDS.map(async (entry) => ({ entry, command: await entry.load() })));
    const declared = commands.map(({ entry, command }) => ({
      name: entry.name,
      summary: entry.summary,
      flags: command.flags ?? flagsFromUsage(command.usage),
      ...(command.operandValues ? { operands: command.operandValues() } : {}),
    }));
    expect(await script('fish')).toContain(completionScript('fish', declared).split('\n').slice(5).join('\n'));
  }, 240_000);
});

describe('usageText', () => {
  it('groups options under their heading', () => {
    const text = usageText({ name: 'x', summary: '', synopsis: [], description: 'D', flags: { a: { type: 'boolean', help: 'A', group: 'Where' }, b: { type: 'boolean', help: 'B' } } });
    expect(text).toBe('Usage: telemetry-stack x\n\nD\n\nWhere:\n      --a  A\n\nOptions:\n      --b  B\n');
  });
});
